"""Reference outputs of Prov-GigaPath's slide encoder (LongNetViT), computed by prov-gigapath's own code, for a
tiny seeded random model: the engine's GigaPath tests compare against these files.

    LONGNET_GIGAPATH=/path/to/prov-gigapath /usr/bin/python3 engine/src/test/python/make_gigapath_fixtures.py \
        [--out engine/src/test/resources/gigapath]

The model is gigapath's LongNetViT(in_chans=48, embed_dim=32, depth=2, mlp_ratio=4, LayerNorm eps 1e-6) over
gigapath's vendored torchscale LongNetEncoder (16 heads, ffn 128, dilated ratios [1, 2, 4, 8, 16]) with segment
lengths shrunk to [16, 45, 128, 362, 1024] so that a few hundred tiles exercise torchscale's padding paths
(a segment length not divisible by its ratio, N not divisible by a segment length, levels clamped to N).
flash-attn is replaced by a plain attention returning the same (out, lse). Every parameter is random (biases and
LayerNorm affines included) so that a wrong eps, bias or order shows.

Files: see README.md beside the outputs.
"""
import argparse
import json
import os
import sys
import types
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

ARCH = "LongNet_2_layers_32_dim"
IN_CHANS, DIM, DEPTH, HEADS, FFN = 48, 32, 2, 16, 128
SEGMENTS = "[16, 45, 128, 362, 1024]"
RATIOS = "[1, 2, 4, 8, 16]"
TILE, NGRIDS = 256, 1000


def load_gigapath():
    """Imports gigapath.slide_encoder with the stand-ins; returns (slide_encoder module, the torchscale
    multihead_attention module gigapath's DilatedAttention calls, gigapath's LongNetConfig module)."""
    os.environ.pop("LONGNET_TORCHSCALE", None)      # gigapath's vendored torchscale, not microsoft/torchscale
    if not os.environ.get("LONGNET_GIGAPATH"):
        sys.exit("make_gigapath_fixtures: set LONGNET_GIGAPATH to a prov-gigapath checkout")
    peers.install()
    layers = sys.modules["timm.models.layers"]
    if not hasattr(layers, "drop_path"):               # torchscale's DropPath imports it; never called in eval
        layers.drop_path = lambda x, drop_prob=0.0, training=False: x
    import gigapath.slide_encoder as se
    longnet = sys.modules["gigapath.torchscale.model.LongNet"]
    dilated = longnet.DilatedAttention
    mha = sys.modules[dilated.__mro__[1].__module__]
    root = os.path.realpath(os.environ["LONGNET_GIGAPATH"])
    for m in (mha, longnet.longnet_arch):
        assert os.path.realpath(m.__file__).startswith(root), (m.__name__, m.__file__)
    peers.use_plain_attention(mha)
    return se, mha, longnet.longnet_arch


def attention_keeping_dtype(q, k, v, dropout=0.0, bias=None, softmax_scale=None, is_causal=False):
    """peers.plain_flash_attn_func without the cast to float32 (for the float64 run)."""
    assert bias is None and not is_causal
    scale = softmax_scale if softmax_scale is not None else q.size(-1) ** -0.5
    qf, kf, vf = (t.transpose(1, 2) for t in (q, k, v))
    s = torch.matmul(qf, kf.transpose(-1, -2)) * scale
    lse = torch.logsumexp(s, dim=-1)
    out = torch.matmul(torch.softmax(s, dim=-1), vf).transpose(1, 2)
    return out, lse


def ffn_forward_keeping_dtype(self, x):
    """torchscale's FeedForwardNetwork.forward without `x.float()` around the activation (for the float64 run)."""
    x_shape = x.shape
    x = x.reshape(-1, x.size(-1))
    x = self.activation_fn(self.fc1(x))
    if self.ffn_layernorm is not None:
        x = self.ffn_layernorm(x)
    return self.fc2(x).view(x_shape)


def build(se, config_module, seed):
    config_module.__dict__[ARCH] = {
        'encoder_layers': DEPTH,
        'encoder_embed_dim': DIM,
        'encoder_ffn_embed_dim': FFN,
        'encoder_attention_heads': HEADS,
        'dilated_ratio': RATIOS,
        'segment_length': SEGMENTS,
        'flash_attention': True,
        'block_shift': True,
        'use_xmoe': False,
        'moe_top1_expert': False,
        'moe_freq': 0,
        'moe_expert_count': 0,
    }
    se.LongNetViT.get_optimal_segment_length = lambda self, *a, **kw: SEGMENTS
    torch.manual_seed(seed)
    model = se.LongNetViT(in_chans=IN_CHANS, embed_dim=DIM, depth=DEPTH, mlp_ratio=4,
                          norm_layer=partial(nn.LayerNorm, eps=1e-6), dropout=0, drop_path_rate=0)
    assert model.encoder_name == ARCH, model.encoder_name
    assert model.encoder.args.segment_length == eval(SEGMENTS)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "cls_token":
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
            elif p.dim() == 1:                                         # LayerNorm weights
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.3)
            else:                                                      # Linear weights: spread beyond xavier
                p.mul_(1.0 + 0.5 * torch.rand(p.shape, generator=g))
    return model.eval()


def norms_of(model, eps_encoder=1e-5, eps_final=1e-6):
    for name, m in model.named_modules():
        if isinstance(m, nn.LayerNorm):
            want = eps_final if name == "norm" else eps_encoder
            assert m.eps == want, (name, m.eps)


def forward_all(model, mha, tiles, coords, f64=False):
    """The four outputs: cls, pool (global_pool), all_layers (CLS of each state), all_layers_pool."""
    ffn_class = type(model.encoder.layers[0].ffn)
    saved_attn, saved_ffn = mha.flash_attn_func, ffn_class.forward
    if f64:
        model = model.double()
        mha.flash_attn_func = attention_keeping_dtype
        ffn_class.forward = ffn_forward_keeping_dtype
    dtype = torch.float64 if f64 else torch.float32
    x = torch.from_numpy(tiles).to(dtype).unsqueeze(0)
    c = torch.from_numpy(coords).unsqueeze(0)
    out = {}
    try:
        with torch.no_grad():
            for pool in (False, True):
                model.global_pool = pool
                suffix = "_pool" if pool else ""
                one = model(x, c)
                assert len(one) == 1
                out["cls" + suffix] = one[0].numpy()                          # (1, dim)
                states = model(x, c, all_layer_embed=True)
                assert len(states) == DEPTH + 1
                out["all_layers" + suffix] = torch.cat(states, 0).numpy()      # (depth+1, dim)
    finally:
        model.global_pool = False
        mha.flash_attn_func, ffn_class.forward = saved_attn, saved_ffn
        model.float()
    return out


def make_inputs(n, seed):
    rng = np.random.default_rng(seed)
    tiles = rng.standard_normal((n, IN_CHANS)).astype(np.float32)
    cells = rng.integers(0, NGRIDS, size=(n, 2))
    cells[:4] = [[0, 0], [NGRIDS - 1, NGRIDS - 1], [0, NGRIDS - 1], [NGRIDS - 1, 0]]   # the table's corners
    rest = rng.integers(0, TILE, size=(n, 2))
    rest[:2] = [[0, 0], [TILE - 1, TILE - 1]]
    coords = (cells * TILE + rest).astype(np.int64)
    perm = rng.permutation(n)
    return tiles[perm], coords[perm]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "resources", "gigapath"))
    ap.add_argument("--seed", type=int, default=20241203)
    ap.add_argument("--tiles", type=int, default=500)
    ap.add_argument("--small-tiles", type=int, default=12)
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    se, mha, config_module = load_gigapath()
    model = build(se, config_module, args.seed)
    norms_of(model)
    sd = model.state_dict()
    assert "pos_embed" not in sd                       # gigapath's buffer is persistent=False
    torch.save({"model": sd}, os.path.join(out, "tiny.pth"))
    casts = {"f16": torch.float16, "bf16": torch.bfloat16}
    for tag, dt in casts.items():
        torch.save({"model": {k: v.to(dt) for k, v in sd.items()}}, os.path.join(out, f"tiny-{tag}.pth"))

    with open(os.path.join(out, "tiny.json"), "w") as f:
        json.dump({
            "model": "gigapath LongNetViT (tiny, random)",
            "in_chans": IN_CHANS, "embed_dim": DIM, "depth": DEPTH, "heads": HEADS, "ffn_dim": FFN,
            "segment_length": eval(SEGMENTS), "dilated_ratio": eval(RATIOS),
            "encoder_layernorm_eps": 1e-5, "norm_eps": 1e-6,
            "tile_size": TILE, "slide_ngrids": NGRIDS,
            "subln": True, "encoder_normalize_before": True, "normalize_output": True, "activation": "gelu",
        }, f, indent=2)
        f.write("\n")

    report = {}
    for prefix, n in (("", args.tiles), ("small_", args.small_tiles)):
        tiles, coords = make_inputs(n, args.seed + (7 if prefix else 3))
        np.save(os.path.join(out, f"tiles{'_small' if prefix else ''}.npy"), tiles)
        np.save(os.path.join(out, f"coords{'_small' if prefix else ''}.npy"), coords.astype(np.float32))
        np.save(os.path.join(out, f"coords{'_small' if prefix else ''}_i64.npy"), coords)
        runs = {"": (model, False), "_f64": (model, True)}
        for tag, dt in casts.items():
            rounded = build(se, config_module, args.seed)
            rounded.load_state_dict({k: v.to(dt).float() for k, v in sd.items()})
            runs["_" + tag] = (rounded, False)
        for tag, (m, f64) in runs.items():
            res = forward_all(m, mha, tiles, coords.astype(np.float32), f64=f64)
            for key, arr in res.items():
                np.save(os.path.join(out, f"expected_{prefix}{key}{tag}.npy"), arr)
                report[f"{prefix}{key}{tag}"] = arr
        # integer coords: same outputs as float coords
        res_i = forward_all(model, mha, tiles, coords)
        for key, arr in res_i.items():
            assert np.array_equal(arr, report[f"{prefix}{key}"]), ("int64 coords differ", prefix, key)

    for key in sorted(report):
        arr = report[key]
        line = f"{key:32s} shape {arr.shape} norm {np.linalg.norm(arr.astype(np.float64)):.6f}"
        if not key.endswith(("_f64", "_f16", "_bf16")):
            d = np.abs(arr.astype(np.float64) - report[key + "_f64"]).max()
            line += f"  max|f32-f64| {d:.3e}"
        print(line)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"wrote {out} ({total} bytes)")


if __name__ == "__main__":
    main()
