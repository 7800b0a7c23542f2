"""An independent statement of what gigapath's vendored torchscale DilatedAttention computes, checked against the
committed fixtures (resources/gigapath/expected_*_f64.npy, made by gigapath's own code):

    LONGNET_GIGAPATH=/path/to/prov-gigapath /usr/bin/python3 engine/src/test/python/check_gigapath_semantics.py

For each level (w, r) over N tokens, H heads (H a multiple of r here):
  w' = min(w, N); the sequence is cut into ceil(N / w') segments of w' rows, the last one padded with zero rows;
  each segment is padded with zero rows to g = ceil(w' / r) * r; head group j (heads j*H/r .. (j+1)*H/r - 1) of a
  segment attends among the rows at positions j, j + r, j + 2r, ... < g of that padded segment. Zero rows take part
  as keys (score 0, value 0) and as queries (a zero query attends uniformly). The outputs and log-sum-exps are laid
  out at flat index s*g + p (segment s, position p) and the first N flat indices are kept, so when g > w' the
  rows of segment s >= 1 receive the output of flat index t, i.e. shifted by s*(g - w'). A log-sum-exp exactly 0
  counts as "not attended" (-1e8). Levels combine per row and head with weights softmax(lse over levels).

With --exact it also reports how far that is from the plain operator (no zero rows, no shift).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_gigapath_fixtures as fixtures  # noqa: E402


def dilated(q, k, v, segments, ratios, torchscale_layout=True):
    """q, k, v: (N, H, d) -> (N, H, d)."""
    n, h, d = q.shape
    outs, lses = [], []
    for w, r in zip(segments, ratios):
        assert h % r == 0
        wp = min(w, n)
        nseg = -(-n // wp)
        g = -(-wp // r) * r if torchscale_layout else wp
        out = torch.zeros(nseg * g, h, d, dtype=q.dtype)
        lse_all = torch.full((nseg * g, h), -1e8, dtype=q.dtype)
        hg = h // r
        for s in range(nseg):
            for j in range(r):
                pos = list(range(j, g, r))
                tok = [s * wp + p if p < wp and s * wp + p < n else -1 for p in pos]
                if not torchscale_layout:
                    pos = [p for p, t in zip(pos, tok) if t >= 0]
                    tok = [t for t in tok if t >= 0]
                    if not tok:
                        continue
                idx = torch.tensor([max(t, 0) for t in tok])
                real = torch.tensor([t >= 0 for t in tok], dtype=q.dtype)[:, None, None]
                heads = slice(j * hg, (j + 1) * hg)
                qs, ks, vs = (x[idx][:, heads] * real for x in (q, k, v))
                scores = torch.einsum("ihd,jhd->hij", qs, ks) * d ** -0.5
                flat = torch.tensor([s * g + p for p in pos] if torchscale_layout else tok)
                out[flat, heads] = torch.einsum("hij,jhd->ihd", torch.softmax(scores, -1), vs)
                lse_all[flat, heads] = torch.logsumexp(scores, -1).T
        if torchscale_layout:
            lse_all = lse_all.masked_fill(lse_all == 0, -1e8)
        outs.append(out[:n])
        lses.append(lse_all[:n])
    weights = torch.softmax(torch.stack(lses), 0)
    return sum(o * wt[..., None] for o, wt in zip(outs, weights))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "resources", "gigapath"))
    ap.add_argument("--seed", type=int, default=20241203)
    ap.add_argument("--exact", action="store_true")
    args = ap.parse_args()
    root = os.path.normpath(args.fixtures) + os.sep
    se, mha, config_module = fixtures.load_gigapath()
    model = fixtures.build(se, config_module, args.seed)
    model.load_state_dict(torch.load(root + "tiny.pth")["model"])
    attention = type(model.encoder.layers[0].self_attn)
    layout = {"torchscale": True}

    def forward(self, query, key, value, **kw):
        b, n, e = query.shape
        q, k, v = (p(x)[0].view(n, self.num_heads, -1) for p, x in
                   ((self.q_proj, query), (self.k_proj, key), (self.v_proj, value)))
        a = dilated(q, k, v, self.args.segment_length, self.args.dilated_ratio, layout["torchscale"])
        a = a.reshape(1, n, e)
        if self.inner_attn_ln is not None:
            a = self.inner_attn_ln(a)
        return self.out_proj(a), None

    attention.forward = forward
    worst = 0.0
    for prefix, suffix in (("", ""), ("small_", "_small")):
        tiles, coords = np.load(f"{root}tiles{suffix}.npy"), np.load(f"{root}coords{suffix}.npy")
        for torchscale_layout in ((True, False) if args.exact else (True,)):
            layout["torchscale"] = torchscale_layout
            got = fixtures.forward_all(model, mha, tiles, coords, f64=True)
            for key, arr in got.items():
                diff = np.abs(arr - np.load(f"{root}expected_{prefix}{key}_f64.npy")).max()
                print(f"{prefix or 'main_'}{key:18s} {'torchscale' if torchscale_layout else 'exact':10s} "
                      f"max|diff| vs gigapath {diff:.3e}")
                if torchscale_layout:
                    worst = max(worst, diff)
    if worst > 1e-12:
        sys.exit(f"check_gigapath_semantics: the statement above differs from gigapath by {worst:.3e}")


if __name__ == "__main__":
    main()
