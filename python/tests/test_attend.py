import math
import os

import numpy as np
import pytest

import longnet
from conftest import cli, random_qkv, same_bits


def run_cli(tmp_path, q, k, v, *flags):
    paths = []
    for name, x in zip("qkv", (q, k, v)):
        paths.append(str(tmp_path / (name + ".npy")))
        np.save(paths[-1], x)
    out = str(tmp_path / "out.npy")
    p = cli("attend", "--q", paths[0], "--k", paths[1], "--v", paths[2], "--out", out, "--quiet", *flags)
    assert p.returncode == 0, p.stderr
    return np.load(out), paths


def reference(q, k, v, segments, dilations, causal):
    """The exact operator of docs/SPEC.md in float64, torchscale's head-offset rule, one level and head at a time."""
    n, heads, d = q.shape
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    lses, outs = [], []
    for w, r in zip(segments, dilations):
        w = min(w, n)
        lse = np.full((n, heads), -np.inf)
        out = np.zeros((n, heads, d))
        for h in range(heads):
            phase = h // math.ceil(heads / r)
            for start in range(0, n, w):
                rows = np.arange(start, min(start + w, n))
                rows = rows[(rows - start) % r == phase]
                if rows.size == 0:
                    continue
                s = q[rows, h] @ k[rows, h].T / math.sqrt(d)
                if causal:
                    s = np.where(rows[None, :] <= rows[:, None], s, -np.inf)
                m = s.max(axis=1, keepdims=True)
                p = np.exp(s - m)
                lse[rows, h] = (m + np.log(p.sum(axis=1, keepdims=True)))[:, 0]
                out[rows, h] = (p / p.sum(axis=1, keepdims=True)) @ v[rows, h]
        lses.append(lse)
        outs.append(out)
    lses = np.stack(lses)
    weights = np.exp(lses - lses.max(axis=0))
    weights /= weights.sum(axis=0)
    return sum(wt[..., None] * o for wt, o in zip(weights, outs))


def test_f32_equals_the_cli_bit_for_bit(tmp_path):
    q, k, v = random_qkv((300, 4, 16))
    flags = ["--segments", "32,64,512", "--dilations", "1,2,4", "--causal"]
    expected, _ = run_cli(tmp_path, q, k, v, *flags)
    got = longnet.attend(q, k, v, segments=[32, 64, 512], dilations=[1, 2, 4], causal=True)
    assert same_bits(got, expected)
    assert got.dtype == np.float32 and got.shape == (300, 4, 16)


def test_f16_paper_offsets_equal_the_cli_bit_for_bit(tmp_path):
    q, k, v = random_qkv((257, 6, 8), np.float16, seed=1)
    flags = ["--segments", "16,100", "--dilations", "2,3", "--offsets", "paper", "--threads", "2"]
    expected, paths = run_cli(tmp_path, q, k, v, *flags)
    got = longnet.attend(q, k, v, [16, 100], [2, 3], offsets="paper", threads=2)
    assert same_bits(got, expected) and got.dtype == np.float16
    # .npy paths go to the engine as they are, and out= keeps the result in a file, memory-mapped
    on_disk = longnet.attend(*paths, [16, 100], [2, 3], offsets="paper", out=tmp_path / "kept.npy")
    assert isinstance(on_disk, np.memmap) and same_bits(np.asarray(on_disk), expected)


def test_attend_is_the_operator_of_the_spec():
    q, k, v = random_qkv((70, 3, 4), seed=2)
    for causal in (False, True):
        got = longnet.attend(q, k, v, [8, 24], [1, 2], causal=causal)
        assert np.abs(got - reference(q, k, v, [8, 24], [1, 2], causal)).max() < 1e-5


def test_batch_is_each_sequence_alone(tmp_path):
    q, k, v = random_qkv((2, 90, 2, 8), seed=3)
    batch = longnet.attend(q, k, v, [16, 64], [1, 4], causal=True, out=tmp_path / "batch.npy")
    assert isinstance(batch, np.memmap) and batch.shape == (2, 90, 2, 8)   # (the in-memory batch: test_torch)
    for b in range(2):
        alone, _ = run_cli(tmp_path, q[b], k[b], v[b], "--segments", "16,64", "--dilations", "1,4", "--causal",
                           "--force")
        assert same_bits(batch[b], alone)


def test_padded_batch_is_each_sequence_alone(tmp_path):
    q, k, v = random_qkv((3, 70, 2, 8), seed=6)
    lengths = [70, 23, 51]
    mask = np.arange(70)[None, :] >= np.array(lengths)[:, None]          # True = padding, as PyTorch's
    for x in (q, k, v):
        x[mask] = np.nan                                                  # never read
    by_lengths = longnet.attend(q, k, v, [16, 64], [1, 4], lengths=lengths)
    by_mask = longnet.attend(q, k, v, [16, 64], [1, 4], key_padding_mask=mask)
    assert same_bits(by_lengths, by_mask)
    for b, n in enumerate(lengths):
        alone = longnet.attend(q[b, :n], k[b, :n], v[b, :n], [16, 64], [1, 4])
        assert same_bits(by_lengths[b, :n], alone)
        assert not by_lengths[b, n:].any()
    with pytest.raises(longnet.LongNetError, match="sequence 1 has a real row"):
        holes = mask.copy()
        holes[1, 40] = False
        longnet.attend(q, k, v, [16], [1], key_padding_mask=holes)
    with pytest.raises(ValueError, match="for a batch"):
        longnet.attend(q[0], k[0], v[0], [16], [1], lengths=[5])


def test_engine_errors_are_exceptions_with_its_line(tmp_path):
    q, k, v = random_qkv((40, 2, 4))
    with pytest.raises(longnet.LongNetUsageError) as usage:
        longnet.attend(q, k, v, [16], [1, 2])
    assert isinstance(usage.value, ValueError) and usage.value.returncode == 2
    assert str(usage.value).startswith("longnet attend: segment lengths [16] and dilation rates [1, 2]")
    assert "\n" not in str(usage.value)

    q[7, 1, 2] = np.nan
    with pytest.raises(longnet.LongNetError) as failed:
        longnet.attend(q, k, v, [16], [1])
    assert not isinstance(failed.value, ValueError) and failed.value.returncode == 1
    assert str(failed.value).startswith("longnet attend: ") and "q.npy" in str(failed.value)

    with pytest.raises(TypeError, match="float64"):
        longnet.attend(q.astype(np.float64), k, v, [16], [1])
    with pytest.raises(ValueError, match="same shape"):
        longnet.attend(q, k[:20], v, [16], [1])


def test_no_engine_is_a_clear_exception(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGNET_HOME", str(tmp_path))
    with pytest.raises(longnet.EngineNotFoundError, match="LONGNET_HOME=.*no executable 'longnet'"):
        longnet.attend(*random_qkv((8, 1, 2)), [4], [1])
    monkeypatch.delenv("LONGNET_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(longnet.EngineNotFoundError, match="set LONGNET_HOME"):
        longnet.launcher()


def test_torchscale_semantics_is_passed_only_when_asked(attend_help, torchscale_fixtures):
    if "--semantics" not in attend_help:
        pytest.skip("this engine has no --semantics option")
    load = lambda name: np.load(os.path.join(torchscale_fixtures, name))
    # shift: 61 rows, 6 heads of 4, levels 7,16,10,100 / 1,3,4,4; out is torchscale's own output
    q, k, v, expected = (load("shift." + s + ".npy") for s in ("q", "k", "v", "out"))
    got = longnet.attend(q, k, v, [7, 16, 10, 100], [1, 3, 4, 4], semantics="torchscale")
    assert np.abs(got - expected).max() <= 1e-5
    exact = longnet.attend(q, k, v, [7, 16, 10, 100], [1, 3, 4, 4])
    assert np.abs(exact - expected).max() > 1e-3
