#!/usr/bin/env python3
"""LongNet dilated attention in PyTorch on the GPU: the yardstick for longnet-java's CUDA backend.

It computes exactly the operator of shared/SPEC.md (real positions only, segments aligned at multiples of w, a
partial last segment, head offsets by the torchscale or paper rule, causal by absolute position) and reports
tokens/s and TFLOPS with SPEC.md's flop count (4·N·d·H·Σ min(w,N)/r², halved when causal), the same count the Java
CudaThroughput reports, so the two are directly comparable.

Per level (w, r) and head offset o, the rows s·w + o + j·r of every full segment are gathered into a batch
(segments × heads-with-offset-o × m × d) and attended in one call; a partial last segment is a second call. Each
call returns (out, lse); levels are merged by log-sum-exp into a running (out, lse), as the Java engine does.

Attention implementations (--impl):
  flash  PyTorch's fused kernels with their log-sum-exp: aten._scaled_dot_product_flash_attention for f16/bf16,
         aten._scaled_dot_product_efficient_attention for f32 (private ops: checked before use);
  sdpa   F.scaled_dot_product_attention for the output and an explicit logsumexp of Q·Kᵀ for lse (twice the QK work);
  math   matmul, logsumexp, softmax, matmul in f32 (materialises the m×m scores, in chunks).
  auto   (default) the first of flash, sdpa, math that passes the self-check.

Self-checks (skip with --no-check): the repository's test vectors (engine/src/test/resources/testvectors) through
the math path in float64 and float32; the math path against a line-by-line rendering of SPEC.md's definition on a
small configuration with a partial last segment, w > N, w % r != 0 and H % r != 0; then the chosen implementation
against math on a larger such configuration.

Examples:
  python3 bench/gpu/sdpa_dilated.py --n 65536,262144,1048576 --dtype f16 --preset bench --json out.jsonl
  python3 bench/gpu/sdpa_dilated.py --max-n 4194304 --causal          # N = 65536, 131072, ... up to 4M
"""
import argparse
import glob
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

PRESETS = {
    "paper": ([2048, 4096, 8192, 16384, 32768], [1, 2, 4, 6, 12]),
    "pow2": ([2048, 8192, 32768, 131072], [1, 4, 16, 64]),
    "bench": ([2048, 4096, 8192, 16384], [1, 2, 4, 8]),
}
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64}
NEG_INF = float("-inf")


def head_offsets(heads, r, rule):
    """SPEC.md "Head offsets": torchscale o_h = floor(h / ceil(H / r)); paper o_h = h mod r."""
    if rule == "paper":
        return [h % r for h in range(heads)]
    group = -(-heads // r)
    return [h // group for h in range(heads)]


def flops(n, heads, d, levels, causal):
    total = 4.0 * n * d * heads * sum(min(w, n) / (r * r) for w, r in levels)
    return total / 2 if causal else total


# ---------------------------------------------------------------- attention on a batch (B, Hg, m, d) -> f32 out, lse

def attend_math(q, k, v, causal, scale, score_bytes):
    b, hg, m, d = q.shape
    out = torch.empty(b, hg, m, d, dtype=torch.float32 if q.dtype != torch.float64 else torch.float64, device=q.device)
    lse = torch.empty(b, hg, m, dtype=out.dtype, device=q.device)
    work = out.dtype
    per_item = hg * m * m * (8 if work == torch.float64 else 4)
    chunk = max(1, score_bytes // max(1, per_item))
    mask = torch.ones(m, m, dtype=torch.bool, device=q.device).triu(1) if causal else None
    for i in range(0, b, chunk):
        s = torch.matmul(q[i:i + chunk].to(work), k[i:i + chunk].to(work).transpose(-1, -2)) * scale
        if mask is not None:
            s.masked_fill_(mask, NEG_INF)
        l = torch.logsumexp(s, dim=-1)
        p = torch.exp(s - l.unsqueeze(-1))
        out[i:i + chunk] = torch.matmul(p, v[i:i + chunk].to(work))
        lse[i:i + chunk] = l
    return out, lse


def attend_flash(q, k, v, causal, scale, score_bytes):
    m = q.shape[2]
    if q.dtype in (torch.float16, torch.bfloat16):
        r = torch.ops.aten._scaled_dot_product_flash_attention(q, k, v, 0.0, causal, False, scale=scale)
    else:
        r = torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, None, True, 0.0, causal, scale=scale)
    return r[0].float(), r[1][..., :m].float()


def attend_sdpa(q, k, v, causal, scale, score_bytes):
    b, hg, m, d = q.shape
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale).float()
    lse = torch.empty(b, hg, m, dtype=torch.float32, device=q.device)
    chunk = max(1, score_bytes // max(1, hg * m * m * 4))
    mask = torch.ones(m, m, dtype=torch.bool, device=q.device).triu(1) if causal else None
    for i in range(0, b, chunk):
        s = torch.matmul(q[i:i + chunk].float(), k[i:i + chunk].float().transpose(-1, -2)) * scale
        if mask is not None:
            s.masked_fill_(mask, NEG_INF)
        lse[i:i + chunk] = torch.logsumexp(s, dim=-1)
    return out, lse


IMPLS = {"flash": attend_flash, "sdpa": attend_sdpa, "math": attend_math}


# ---------------------------------------------------------------- dilated attention over (N, H, d)

def merge_(acc_o, acc_l, o, l):
    """acc <- logaddexp merge of acc and (o, l), both normalised; rows with l = -inf leave acc alone."""
    m = torch.maximum(acc_l, l)
    m0 = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    wa = torch.exp(acc_l - m0)
    wb = torch.exp(l - m0)
    z = wa + wb
    zs = torch.where(z > 0, z, torch.ones_like(z))
    acc_o.mul_((wa / zs).unsqueeze(-1)).add_(o * (wb / zs).unsqueeze(-1))
    acc_l.copy_(torch.where(z > 0, m0 + torch.log(zs), torch.full_like(m, NEG_INF)))


def dilated(q, k, v, levels, causal, scale, rule, impl, score_bytes=1 << 30, batch_rows=1 << 22):
    """out (N, H, d) in f32 (f64 for f64 input) for q, k, v of shape (N, H, d)."""
    attend = IMPLS[impl]
    n, heads, d = q.shape
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    acc_o = torch.zeros(n, heads, d, dtype=work, device=q.device)
    acc_l = torch.full((n, heads), NEG_INF, dtype=work, device=q.device)
    lvl_o = torch.empty_like(acc_o)
    lvl_l = torch.empty_like(acc_l)
    for w, r in levels:
        w = min(w, n)
        lvl_o.zero_()
        lvl_l.fill_(NEG_INF)
        offsets = head_offsets(heads, r, rule)
        full, tail = n // w, n % w
        for o in sorted(set(offsets)):
            hidx = torch.tensor([h for h in range(heads) if offsets[h] == o], device=q.device)
            blocks = []
            if full > 0 and o < w:
                rows = torch.arange(o, w, r, device=q.device)
                blocks.append(torch.arange(full, device=q.device).unsqueeze(1) * w + rows.unsqueeze(0))
            if tail > o:
                blocks.append((full * w + torch.arange(o, tail, r, device=q.device)).unsqueeze(0))
            for pos in blocks:                              # (segments, m) absolute positions
                m = pos.shape[1]
                step = max(1, batch_rows // max(1, m * len(hidx)))
                for i in range(0, pos.shape[0], step):
                    p = pos[i:i + step].unsqueeze(-1)       # (b, m, 1) with hidx (Hg,) -> (b, m, Hg)
                    qs = q[p, hidx].permute(0, 2, 1, 3).contiguous()
                    ks = k[p, hidx].permute(0, 2, 1, 3).contiguous()
                    vs = v[p, hidx].permute(0, 2, 1, 3).contiguous()
                    out, lse = attend(qs, ks, vs, causal, scale, score_bytes)
                    lvl_o[p, hidx] = out.permute(0, 2, 1, 3).to(work)
                    lvl_l[p, hidx] = lse.permute(0, 2, 1).to(work)
        merge_(acc_o, acc_l, lvl_o, lvl_l)
    return acc_o


# ---------------------------------------------------------------- self-checks

def check_test_vectors(root, device, log):
    files = sorted(glob.glob(os.path.join(root, "engine/src/test/resources/testvectors/*.json")))
    if not files:
        log("  test vectors: none found under engine/src/test/resources/testvectors (skipped)")
        return True
    ok = True
    for f in files:
        tv = json.load(open(f))
        c = tv["config"]
        levels = list(zip(c["segment_lengths"], c["dilation_rates"]))
        for rule, key in (("torchscale", "expected_clean_torchscale_head_groups"), ("paper", "expected_clean_paper_offsets")):
            for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
                q, k, v = (torch.tensor(tv[x][0], dtype=dtype, device=device) for x in ("q", "k", "v"))
                out = dilated(q, k, v, levels, c["causal"], c["softmax_scale"], rule, "math")
                expected = torch.tensor(tv[key][0], dtype=torch.float64, device=device)
                diff = (out.double() - expected).abs().max().item()
                good = diff <= tol
                ok &= good
                log(f"  {os.path.basename(f)} {rule} {str(dtype)[6:]}: max abs diff {diff:.2e} "
                    f"({'ok' if good else 'FAIL'}, tolerance {tol:g})")
    return ok


def reference_row(q, k, v, levels, causal, scale, rule, p, h):
    """SPEC.md's definition for one (position, head), line by line, in float64 on the CPU."""
    n, heads, d = q.shape
    outs, lses = [], []
    for w, r in levels:
        w = min(w, n)
        o = head_offsets(heads, r, rule)[h]
        seg = p // w
        if (p - seg * w) % r != o:
            continue
        end = min(p + 1, (seg + 1) * w) if causal else min(n, (seg + 1) * w)
        keys = list(range(seg * w + o, end, r))
        s = torch.stack([q[p, h] @ k[j, h] for j in keys]) * scale
        lse = torch.logsumexp(s, 0)
        outs.append(torch.exp(s - lse) @ v[keys, h])
        lses.append(lse)
    if not lses:
        return torch.zeros(d, dtype=torch.float64)
    l = torch.stack(lses)
    a = torch.exp(l - torch.logsumexp(l, 0))
    return (a.unsqueeze(1) * torch.stack(outs)).sum(0)


def check_definition(device, log):
    """The batched path against the line-by-line definition where the test vectors do not reach: a partial last
    segment, w > N, w not a multiple of r, H not a multiple of r, both rules, causal or not."""
    g = torch.Generator(device="cpu").manual_seed(3)
    n, heads, d = 37, 3, 4
    levels = [(8, 3), (20, 2), (64, 1), (5, 5)]
    q, k, v = (torch.randn(n, heads, d, generator=g, dtype=torch.float64) for _ in range(3))
    ok = True
    for rule in ("torchscale", "paper"):
        for causal in (False, True):
            want = torch.stack([torch.stack([reference_row(q, k, v, levels, causal, 0.7, rule, p, h)
                                             for h in range(heads)]) for p in range(n)])
            got = dilated(q.to(device), k.to(device), v.to(device), levels, causal, 0.7, rule, "math").cpu()
            diff = (got - want).abs().max().item()
            ok &= diff <= 1e-12
            log(f"  definition, N={n} H={heads} levels {levels} {rule} causal={causal}: max abs diff {diff:.2e} "
                f"({'ok' if diff <= 1e-12 else 'FAIL'})")
    return ok


def check_impl(impl, dtype, causal, device, log):
    """impl in dtype vs math in f32 on the same rounded inputs; partial segments, w > N, H % r != 0."""
    g = torch.Generator(device="cpu").manual_seed(1)
    n, heads, d = 5000, 6, 64
    levels = [(512, 1), (1000, 2), (2048, 4), (8192, 8)]
    q, k, v = (torch.randn(n, heads, d, generator=g).to(device=device, dtype=dtype) for _ in range(3))
    scale = 1 / math.sqrt(d)
    try:
        got = dilated(q, k, v, levels, causal, scale, "torchscale", impl)
    except Exception as e:  # a private op missing or refusing the shapes
        log(f"  {impl}: unavailable ({type(e).__name__}: {e})")
        return False
    want = dilated(q.float(), k.float(), v.float(), levels, causal, scale, "torchscale", "math")
    diff = (got - want).abs().max().item()
    tol = 1e-4 if dtype == torch.float32 else 2e-2
    log(f"  {impl} {str(dtype)[6:]} causal={causal} vs math f32: max abs diff {diff:.2e} "
        f"({'ok' if diff <= tol else 'FAIL'}, tolerance {tol:g})")
    return diff <= tol


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", help="comma-separated sequence lengths")
    ap.add_argument("--max-n", type=int, default=1 << 20, help="without --n: N = 65536, 131072, ... up to this")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--preset", default="bench", choices=sorted(PRESETS))
    ap.add_argument("--segments", help="comma-separated w (overrides --preset)")
    ap.add_argument("--dilations", help="comma-separated r (with --segments)")
    ap.add_argument("--dtype", default="f16", choices=["f32", "f16", "bf16"])
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--rule", default="torchscale", choices=["torchscale", "paper"])
    ap.add_argument("--impl", default="auto", choices=["auto", "flash", "sdpa", "math"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--json", help="append one JSON object per run to this file")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a smoke test of the logic, small N)")
    args = ap.parse_args()

    log = lambda s: print(s, flush=True)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        log("sdpa_dilated: no CUDA device visible to PyTorch")
        return 2
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dtype = DTYPES[args.dtype]
    if args.segments:
        levels = list(zip([int(x) for x in args.segments.split(",")], [int(x) for x in args.dilations.split(",")]))
    else:
        levels = list(zip(*PRESETS[args.preset]))
    sizes = [int(x) for x in args.n.split(",")] if args.n else \
        [1 << e for e in range(16, 40) if (1 << e) <= args.max_n]
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    log(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on "
        f"{torch.cuda.get_device_name(0) if cuda else 'cpu'}; "
        f"levels {levels}, H={args.heads}, d={args.dim}, {args.dtype}, causal={args.causal}, rule={args.rule}")

    impl = args.impl
    if not args.no_check:
        log("self-check: test vectors through the math path")
        vectors_ok = check_test_vectors(root, device, log)
        vectors_ok &= check_definition(device, log)
        log("self-check: implementations against math")
        candidates = ["flash", "sdpa", "math"] if impl == "auto" else [impl]
        chosen = None
        for c in candidates:
            if check_impl(c, dtype, args.causal, device, log):
                chosen = c
                break
        if chosen is None:
            log("no implementation passed its self-check")
            return 1
        impl = chosen
        if not vectors_ok:
            log("WARNING: the test vectors did not match: the numbers below are not of SPEC.md's operator")
    elif impl == "auto":
        impl = "flash"
    log(f"implementation: {impl}")

    scale = 1 / math.sqrt(args.dim)
    status = 0
    for n in sizes:
        try:
            g = torch.Generator(device=device).manual_seed(n)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            q, k, v = (torch.randn(n, args.heads, args.dim, device=device, dtype=dtype, generator=g) for _ in range(3))
            dilated(q, k, v, levels, args.causal, scale, args.rule, impl)          # warm-up
            sync()
            times = []
            for _ in range(max(1, args.repeats)):
                start = time.perf_counter()
                out = dilated(q, k, v, levels, args.causal, scale, args.rule, impl)
                sync()
                times.append(time.perf_counter() - start)
            best = min(times)
            median = sorted(times)[len(times) // 2]
            f = flops(n, args.heads, args.dim, levels, args.causal)
            rec = {"run": "sdpa-dilated", "impl": impl, "n": n, "heads": args.heads, "dim": args.dim,
                   "dtype": args.dtype, "causal": args.causal, "rule": args.rule,
                   "levels": [list(x) for x in levels], "seconds_best": round(best, 5),
                   "seconds_median": round(median, 5), "tokens_per_s": round(n / best, 1),
                   "tflops": round(f / best / 1e12, 4), "flops": f,
                   "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2) if cuda else None,
                   "finite": bool(torch.isfinite(out).all().item())}
            del q, k, v, out
            if cuda:
                torch.cuda.empty_cache()
        except RuntimeError as e:                      # torch.cuda.OutOfMemoryError is one
            if "out of memory" not in str(e):
                raise
            rec = {"run": "sdpa-dilated", "impl": impl, "n": n, "error": f"out of memory: {e}"}
            status = 1
            q = k = v = out = None                     # drop the references before freeing the cache
            if cuda:
                torch.cuda.empty_cache()
        log(json.dumps(rec))
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
