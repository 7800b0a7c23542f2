import os

import numpy as np
import pytest

import longnet
from conftest import random_qkv, same_bits

torch = pytest.importorskip("torch", reason="torch is not installed: longnet.DilatedAttention is not tested")


def test_module_is_attend_bit_for_bit():
    q, k, v = random_qkv((2, 50, 4, 8), seed=4)
    module = longnet.DilatedAttention([8, 32], [1, 2], semantics="exact")
    assert isinstance(module, torch.nn.Module) and not list(module.parameters())
    out = module(*(torch.from_numpy(x) for x in (q, k, v)), is_causal=True)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and tuple(out.shape) == (2, 50, 4, 8)
    # each sequence of the batch is that sequence alone
    assert same_bits(out[1].numpy(), longnet.attend(q[1], k[1], v[1], [8, 32], [1, 2], causal=True))


def test_module_takes_torchs_key_padding_mask():
    q, k, v = random_qkv((2, 40, 2, 8), seed=8)
    mask = torch.zeros(2, 40, dtype=torch.bool)
    mask[1, 31:] = True
    module = longnet.DilatedAttention([8, 32], [1, 2], semantics="exact")
    out = module(*(torch.from_numpy(x) for x in (q, k, v)), key_padding_mask=mask)
    assert same_bits(out[1, :31].numpy(), longnet.attend(q[1, :31], k[1, :31], v[1, :31], [8, 32], [1, 2]))
    assert not out[1, 31:].any()
    assert same_bits(out[0].numpy(), longnet.attend(q[0], k[0], v[0], [8, 32], [1, 2]))


def test_module_in_half_precision_keeps_its_type():
    q, k, v = random_qkv((1, 40, 2, 8), np.float16, seed=5)
    out = longnet.DilatedAttention("[16, 40]", "[1, 2]", semantics="exact")(*(torch.from_numpy(x) for x in (q, k, v)))
    assert out.dtype == torch.float16
    assert same_bits(out.numpy(), longnet.attend(q, k, v, [16, 40], [1, 2]))
    with pytest.raises(TypeError, match="bfloat16"):
        longnet.DilatedAttention([16], [1])(*(torch.zeros(1, 4, 1, 2, dtype=torch.bfloat16),) * 3)


def test_module_reproduces_torchscale(attend_help, torchscale_fixtures):
    """torchscale's own outputs for these inputs (engine/src/test/resources/torchscale, made by its code)."""
    if "--semantics" not in attend_help:
        pytest.skip("this engine has no --semantics option")
    cases = {"shift_causal": ([7, 16, 10, 100], [1, 3, 4, 4], True)}     # (test_attend has shift, not causal)
    for name, (segments, dilations, causal) in cases.items():
        q, k, v, expected = (np.load(os.path.join(torchscale_fixtures, "%s.%s.npy" % (name, s)))
                             for s in ("q", "k", "v", "out"))
        module = longnet.DilatedAttention(segments, dilations, causal=causal)     # semantics="torchscale"
        out = module(*(torch.from_numpy(x)[None] for x in (q, k, v)))
        assert tuple(out.shape) == (1,) + q.shape
        assert np.abs(out[0].numpy() - expected).max() <= 1e-5, name
