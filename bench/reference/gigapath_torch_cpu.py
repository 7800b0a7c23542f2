"""Same-machine baseline: Prov-GigaPath's slide encoder (gigapath_slide_enc12l768d) run by prov-gigapath's own
PyTorch code on the CPU, flash-attn replaced by a plain attention returning the same (out, lse).

    LONGNET_GIGAPATH=/path/to/prov-gigapath python3 bench/reference/gigapath_torch_cpu.py --tiles 10000 \
        [--model slide_encoder.pth | --save-model weights.pth] [--threads 2] [--out embedding.npy]

Prints one JSON object: tiles, seconds (the forward alone), tiles_per_second, construct_seconds (building the model,
gigapath's 1,000,001 x dim position table included, and loading weights), peak_rss_bytes (the process's peak,
construction included), forward_peak_rss_bytes (peak resident memory sampled during the forward), threads, arch,
segment_length.
"""
import argparse
import contextlib
import json
import os
import resource
import sys
import threading
import time
from functools import partial

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "engine", "src", "test", "python"))

TINY = {"name": "LongNet_2_layers_32_dim", "embed_dim": 32, "depth": 2, "in_chans": 48,
        "config": {'encoder_layers': 2, 'encoder_embed_dim': 32, 'encoder_ffn_embed_dim': 128,
                   'encoder_attention_heads': 16, 'dilated_ratio': '[1, 2, 4, 8, 16]',
                   'segment_length': '[1024, 2048, 4096, 8192, 16384]', 'flash_attention': True,
                   'block_shift': True, 'use_xmoe': False, 'moe_top1_expert': False, 'moe_freq': 0,
                   'moe_expert_count': 0}}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler(threading.Thread):
    """Peak resident memory over an interval, sampled every 5 ms (Linux)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.done = 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_bytes())
            self.done.wait(0.005)

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


def fail(msg):
    sys.exit("gigapath_torch_cpu: " + msg)


def load_gigapath(path):
    os.environ["LONGNET_GIGAPATH"] = path
    os.environ.pop("LONGNET_TORCHSCALE", None)
    import peers
    peers.install()
    import gigapath.slide_encoder as se
    longnet = sys.modules["gigapath.torchscale.model.LongNet"]
    mha = sys.modules[longnet.DilatedAttention.__mro__[1].__module__]
    peers.use_plain_attention(mha)
    return se, longnet.longnet_arch


def inputs(args, in_chans):
    if args.tiles_npy or args.coords_npy:
        if not (args.tiles_npy and args.coords_npy):
            fail("--tiles-npy and --coords-npy go together")
        tiles, coords = np.load(args.tiles_npy), np.load(args.coords_npy)
        if tiles.ndim != 2 or tiles.shape[1] != in_chans:
            fail(f"{args.tiles_npy}: shape {tiles.shape}, expected (N, {in_chans})")
        if coords.shape != (tiles.shape[0], 2):
            fail(f"{args.coords_npy}: shape {coords.shape}, expected ({tiles.shape[0]}, 2)")
        return tiles.astype(np.float32), coords
    if args.tiles is None or args.tiles < 1 or args.tiles > 1_000_000:
        fail("--tiles N (1 to 1,000,000) or --tiles-npy/--coords-npy is required")
    rng = np.random.default_rng(args.seed)
    tiles = rng.standard_normal((args.tiles, in_chans), dtype=np.float32)
    cells = rng.choice(1000 * 1000, size=args.tiles, replace=False)      # distinct tiles of a 1000 x 1000 grid
    coords = np.stack([cells // 1000, cells % 1000], axis=1).astype(np.float32) * 256
    return tiles, coords


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gigapath", default=os.environ.get("LONGNET_GIGAPATH"),
                    help="prov-gigapath checkout (default: $LONGNET_GIGAPATH)")
    ap.add_argument("--arch", choices=("gigapath", "tiny"), default="gigapath",
                    help="gigapath: gigapath_slide_enc12l768d; tiny: 2 layers, dim 32, 48 input channels (smoke test)")
    ap.add_argument("--model", help="slide encoder weights, torch.save({'model': state_dict}) (gigapath's own loader)")
    ap.add_argument("--save-model", help="write the (seeded random) weights used, as {'model': state_dict}")
    ap.add_argument("--segment-length", help="override gigapath's segment lengths, e.g. '[16, 45, 128, 362, 1024]'")
    ap.add_argument("--tiles", type=int, help="number of random tiles")
    ap.add_argument("--tiles-npy", help="(N, in_chans) tile embeddings")
    ap.add_argument("--coords-npy", help="(N, 2) pixel coordinates (x, y)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--global-pool", action="store_true")
    ap.add_argument("--out", help="write the slide embedding (1, dim) float32 .npy")
    args = ap.parse_args()
    if not args.gigapath or not os.path.isdir(os.path.join(args.gigapath, "gigapath")):
        fail("--gigapath (or LONGNET_GIGAPATH) must name a prov-gigapath checkout")
    if args.model and not os.path.isfile(args.model):
        fail(f"{args.model}: no such file")

    with contextlib.redirect_stdout(sys.stderr):            # gigapath prints while building; stdout is the JSON
        result = run(args)
    print(json.dumps(result))


def run(args):
    import torch
    torch.set_num_threads(args.threads)
    se, config_module = load_gigapath(args.gigapath)
    if args.segment_length:
        se.LongNetViT.get_optimal_segment_length = lambda self, *a, **kw: args.segment_length

    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    if args.arch == "tiny":
        config_module.__dict__[TINY["name"]] = dict(TINY["config"])
        build = partial(se.LongNetViT, embed_dim=TINY["embed_dim"], depth=TINY["depth"], mlp_ratio=4,
                        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
        in_chans = TINY["in_chans"]
    else:
        build = se.gigapath_slide_enc12l768d
        in_chans = 1536
    model = build(in_chans=in_chans, global_pool=args.global_pool)
    if args.model:
        state = torch.load(args.model, map_location="cpu")
        if not isinstance(state, dict) or "model" not in state:
            fail(f"{args.model}: not a {{'model': state_dict}} checkpoint")
        missing, unexpected = model.load_state_dict(state["model"], strict=False)
        if missing or unexpected:
            fail(f"{args.model}: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}")
    model.eval()
    construct_seconds = time.perf_counter() - t0
    if args.save_model:
        torch.save({"model": model.state_dict()}, args.save_model)

    tiles, coords = inputs(args, in_chans)
    x = torch.from_numpy(tiles).unsqueeze(0)
    c = torch.from_numpy(coords).unsqueeze(0)
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    with torch.no_grad():
        emb = model(x, c)[0]
    seconds = time.perf_counter() - t0
    forward_peak = sampler.stop()
    if args.out:
        np.save(args.out, emb.numpy().astype(np.float32))
    n = tiles.shape[0]
    return {
        "tiles": n, "seconds": seconds, "tiles_per_second": n / seconds,
        "construct_seconds": construct_seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "forward_peak_rss_bytes": forward_peak,
        "threads": args.threads, "arch": args.arch, "global_pool": args.global_pool,
        "segment_length": model.encoder.args.segment_length,
        "embedding_norm": float(emb.norm()),
    }


if __name__ == "__main__":
    main()
