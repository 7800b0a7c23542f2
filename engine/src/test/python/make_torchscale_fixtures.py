"""Fixtures for the engine's torchscale semantics: outputs of torchscale's own DilatedAttention (its gathering,
attention_ops and scattering, on q, k, v given directly: no projections) on small cases that exercise its padding:
N % w != 0, w % r != 0 with several segments (later segments shift), H % r != 0, w > N, w < r, causal or not.

    LONGNET_TORCHSCALE=/path/to/torchscale /usr/bin/python3 make_torchscale_fixtures.py OUT_DIR

Writes per case CASE.q.npy, CASE.k.npy, CASE.v.npy (f32 or f16) and CASE.out.npy (f32, torchscale's output), plus
cases.txt (one line per case: name N H d causal segments dilations). The large case "issue" (N = 30001) is not
stored whole: its inputs come from a seeded generator that the Java test repeats (splitmix64, see inputs()), and
issue.rows.npy (f32 row numbers) / issue.out.npy hold torchscale's output at sampled rows.
"""
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

peers.install()
import torchscale.component.multihead_attention as mha  # noqa: E402
from torchscale.component.dilated_attention import DilatedAttention  # noqa: E402

peers.use_plain_attention(mha)

M64 = (1 << 64) - 1


def inputs(seed, count):
    """count floats in [-1, 1): splitmix64 of seed·2^32 + i, top 24 bits, exact in float32."""
    idx = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed << 32) + idx * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.float64)
    return (top / float(1 << 23) - 1.0).astype(np.float32)


def torchscale_attend(q, k, v, segments, dilations, causal):
    """torchscale's DilatedAttention.forward between the projections: q, k, v of shape (N, H, d), float32."""
    n, heads, d = q.shape
    args = types.SimpleNamespace(segment_length=list(segments), dilated_ratio=list(dilations), flash_attention=True,
                                 seq_parallel=False, multiway=False, xpos_rel_pos=False, layernorm_eps=1e-5)
    module = DilatedAttention(args, heads * d, heads, dropout=0.0, self_attention=True)
    qt, kt, vt = (torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(0) for x in (q, k, v))   # (1, N, H, d)
    outs, lses = [], []
    with torch.no_grad():
        for sl, dr in zip(segments, dilations):
            ki = module.gathering(kt, dr, sl, is_causal=causal, offset=0, is_kv=True, seq_parall=False)
            vi = module.gathering(vt, dr, sl, is_causal=causal, offset=0, is_kv=True, seq_parall=False)
            qi = module.gathering(qt, dr, sl, is_causal=causal, offset=0, is_kv=False, seq_parall=False)
            out, lse = module.attention_ops(qi, ki, vi, is_causal=causal)
            outs.append(out)
            lses.append(lse)
        attn = module.scattering(outs, lses, n, 1, offset=0)                                   # (1, N, H·d)
    return attn.reshape(n, heads, d).numpy().astype(np.float32)


CASES = [
    # name, N, H, d, causal, segments, dilations, dtype
    ("shift", 61, 6, 4, False, [7, 16, 10, 100], [1, 3, 4, 4], "f32"),
    ("shift_causal", 61, 6, 4, True, [7, 16, 10, 100], [1, 3, 4, 4], "f32"),
    ("small_segments", 20, 3, 4, False, [2, 5], [3, 2], "f32"),
    ("small_segments_causal", 20, 3, 4, True, [2, 5], [3, 2], "f32"),
    ("heads", 45, 5, 8, False, [9, 45, 64], [2, 3, 8], "f32"),
    ("f16", 50, 4, 8, False, [12, 20, 64], [1, 3, 5], "f16"),
]

ISSUE = ("issue", 30001, 6, 4, False, [1000, 4096, 12000], [1, 3, 8])


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for seed, (name, n, heads, d, causal, segments, dilations, dtype) in enumerate(CASES, start=1):
        q, k, v = (inputs(seed * 3 + i, n * heads * d).reshape(n, heads, d) for i in range(3))
        if dtype == "f16":
            q, k, v = (x.astype(np.float16) for x in (q, k, v))
        out = torchscale_attend(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32), segments,
                                dilations, causal)
        for tag, x in (("q", q), ("k", k), ("v", v), ("out", out)):
            np.save(os.path.join(out_dir, f"{name}.{tag}.npy"), x)
        lines.append(f"{name} {n} {heads} {d} {str(causal).lower()} {','.join(map(str, segments))} "
                     f"{','.join(map(str, dilations))}")
    name, n, heads, d, causal, segments, dilations = ISSUE
    q, k, v = (inputs(100 + i, n * heads * d).reshape(n, heads, d) for i in range(3))
    out = torchscale_attend(q, k, v, segments, dilations, causal)
    rows = sorted(set(range(0, n, 97)) | set(range(3990, 4110)) | set(range(8180, 8230)) | set(range(11990, 12010))
                  | set(range(24570, 24590)) | set(range(29980, n)))
    np.save(os.path.join(out_dir, "issue.rows.npy"), np.array(rows, dtype=np.float32))
    np.save(os.path.join(out_dir, "issue.out.npy"), out[rows])
    if len(sys.argv) > 2:                                # the whole output, for measuring (not committed)
        np.save(sys.argv[2], out)
    lines.append(f"issue {n} {heads} {d} {str(causal).lower()} {','.join(map(str, segments))} "
                 f"{','.join(map(str, dilations))}")
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
