import os

import numpy as np
import pytest

import longnet
from longnet import _engine
from conftest import cli, same_bits

# The tiny random GigaPath slide encoder of engine/src/test/resources/gigapath (see its README): its levels are
# not GigaPath's, so they are given.
GIGAPATH_LEVELS = dict(heads=16, segments=[16, 45, 128, 362, 1024], dilations=[1, 2, 4, 8, 16])
LEVEL_FLAGS = ["--heads", "16", "--segments", "16,45,128,362,1024", "--dilations", "1,2,4,8,16"]


def test_slide_embed_is_the_command(tmp_path, gigapath_fixtures):
    if not _engine.has_command("slide", "embed"):
        pytest.skip("this engine has no 'slide embed' command ('longnet slide embed --help' is not its help)")
    f = lambda name: os.path.join(gigapath_fixtures, name)
    tiles, coords = np.load(f("tiles_small.npy")), np.load(f("coords_small_i64.npy"))
    out, layers = str(tmp_path / "e.npy"), str(tmp_path / "l.npy")
    p = cli("slide", "embed", "--model", f("tiny.pth"), "--tiles", f("tiles_small.npy"), "--coords",
            f("coords_small_i64.npy"), "--out", out, "--all-layers-out", layers, "--quiet", *LEVEL_FLAGS)
    assert p.returncode == 0, p.stderr
    embedding, all_layers = longnet.slide_embed(tiles, coords, model=f("tiny.pth"), all_layers=True,
                                                **GIGAPATH_LEVELS)
    assert same_bits(embedding, np.load(out)) and same_bits(all_layers, np.load(layers))
    assert np.abs(embedding - np.load(f("expected_small_cls.npy"))).max() < 1e-4
    pooled = longnet.slide_embed(f("tiles_small.npy"), f("coords_small_i64.npy"), model=f("tiny.pth"),
                                 global_pool=True, **GIGAPATH_LEVELS)
    assert np.abs(pooled - np.load(f("expected_small_cls_pool.npy"))).max() < 1e-4


def test_score_is_the_command(tmp_path):
    model = str(tmp_path / "m.safetensors")
    p = cli("model", "init", "--vocab", "16", "--dim", "16", "--heads", "2", "--layers", "1", "--ffn", "32",
            "--segments", "8,16", "--dilations", "1,2", "--seed", "1", "--out", model, "--quiet")
    assert p.returncode == 0, p.stderr
    tokens = np.random.default_rng(6).integers(0, 16, 100).astype(np.int32)
    np.save(tmp_path / "t.npy", tokens)
    nll_path = str(tmp_path / "nll.npy")
    p = cli("score", "--model", model, "--tokens", tmp_path / "t.npy", "--nll-out", nll_path, "--quiet")
    assert p.returncode == 0, p.stderr
    nll, hidden = longnet.score(tokens, model, hidden=True)
    assert same_bits(nll, np.load(nll_path)) and nll.shape == (99,) and hidden.shape == (100, 16)
    with pytest.raises(longnet.LongNetError, match="^longnet score: "):
        longnet.score(tokens + 100, model)
