"""Writes engine/src/test/resources/encoder/: a tiny GigaPath slide encoder (LongNetViT, gigapath's own code) with
random weights, as safetensors, its inputs and its outputs, at a size where every level's segment divides the
sequence and every dilation divides its segment (there torchscale's dilated attention and the exact one agree).
Also rows of gigapath's 2-D sin-cos position embedding at dimension 768 for chosen grid cells.

    LONGNET_GIGAPATH=/path/to/prov-gigapath python3 make_encoder_fixture.py
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

peers.install()
sys.modules["timm.models.layers"].drop_path = lambda x, p=0.0, training=False: x
sys.path.insert(0, os.path.join(os.environ["LONGNET_GIGAPATH"], "gigapath"))   # gigapath imports 'torchscale'
from gigapath import slide_encoder, pos_embed  # noqa: E402
import torchscale.model.LongNetConfig as arch  # noqa: E402
import torchscale.component.multihead_attention as mha  # noqa: E402
import torchscale.component.dilated_attention as dil  # noqa: E402

peers.use_plain_attention(mha)
peers.use_plain_attention(dil)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "encoder")
DIM, DEPTH, IN = 32, 2, 48
SEGMENTS = "[16, 32, 64, 64, 64]"
N = 63                                               # 64 tokens with the CLS token


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.manual_seed(7)
    np.random.seed(7)
    setattr(arch, "LongNet_%d_layers_%d_dim" % (DEPTH, DIM), {
        "encoder_layers": DEPTH, "encoder_embed_dim": DIM, "encoder_ffn_embed_dim": 4 * DIM,
        "encoder_attention_heads": 16, "dilated_ratio": "[1, 2, 4, 8, 16]", "segment_length": SEGMENTS,
        "block_shift": True, "flash_attention": True, "use_xmoe": False, "moe_top1_expert": False,
        "moe_freq": 0, "moe_expert_count": 0})
    slide_encoder.LongNetViT.get_optimal_segment_length = lambda self, a=0, b=0: SEGMENTS
    model = slide_encoder.LongNetViT(in_chans=IN, embed_dim=DIM, depth=DEPTH, mlp_ratio=4,
                                     norm_layer=lambda d: torch.nn.LayerNorm(d, eps=1e-6), dropout=0.0,
                                     drop_path_rate=0.0).eval()
    with torch.no_grad():                            # randomise what initialisation leaves at 0 or 1
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * (0.2 if p.dim() == 1 else 0.05))
    state = {k: v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(OUT, "tiny.safetensors"), state)

    tiles = np.random.randn(N, IN).astype(np.float32)
    cells = np.random.choice(1000 * 1000, N, replace=False)
    gx, gy = cells // 1000, cells % 1000
    coords = np.stack([gx * 256 + np.random.randint(0, 256, N), gy * 256 + np.random.randint(0, 256, N)], 1)
    np.save(os.path.join(OUT, "tiles.npy"), tiles)
    np.save(os.path.join(OUT, "coords.npy"), coords.astype(np.float32))
    np.save(os.path.join(OUT, "coords_i64.npy"), coords.astype(np.int64))
    x = torch.from_numpy(tiles)[None]
    c = torch.from_numpy(coords.astype(np.float32))[None]
    with torch.no_grad():
        for pool in (False, True):
            model.global_pool = pool
            suffix = "_pool" if pool else ""
            cls = model(x, c)[0].numpy()
            layers = torch.cat(model(x, c, all_layer_embed=True), 0).numpy()
            np.save(os.path.join(OUT, "expected%s.npy" % suffix), cls.astype(np.float32))
            np.save(os.path.join(OUT, "expected_all_layers%s.npy" % suffix), layers.astype(np.float32))

        # The bare encoder: its input (the slide encoder's CLS + tiles rows) and its output (after layer_norm).
        h = model.patch_embed(x) + model.pos_embed[:, model.coords_to_pos(c, model.tile_size), :].squeeze(0)
        h = torch.cat((model.cls_token + model.pos_embed[:, :1, :], h), dim=1)
        enc = model.encoder(src_tokens=None, token_embeddings=h, return_all_hiddens=True)
        np.save(os.path.join(OUT, "encoder_in.npy"), h[0].numpy().astype(np.float32))
        np.save(os.path.join(OUT, "encoder_out.npy"), enc["encoder_out"][0].numpy().astype(np.float32))
        np.save(os.path.join(OUT, "encoder_states.npy"), torch.stack([s[0] for s in enc["encoder_states"]]).numpy())

    # Position embedding rows at dimension 768: (gx, gy) -> row of the table at 1 + gx*1000 + gy.
    pick = np.array([[0, 0], [0, 1], [1, 0], [3, 7], [999, 999], [123, 456], [500, 2]])
    grid = np.stack([pick[:, 1], pick[:, 0]], 0).astype(np.float32).reshape(2, 1, len(pick), 1)
    emb = pos_embed.get_2d_sincos_pos_embed_from_grid(768, grid).astype(np.float32)
    np.save(os.path.join(OUT, "posembed_cells.npy"), pick.astype(np.float32))
    np.save(os.path.join(OUT, "posembed_768.npy"), emb)
    # And the tiny model's table rows through the real function (grid 1000), for the same cells.
    table = pos_embed.get_2d_sincos_pos_embed(DIM, 1000, cls_token=True)
    np.save(os.path.join(OUT, "posembed_32.npy"), table[1 + pick[:, 0] * 1000 + pick[:, 1]].astype(np.float32))


if __name__ == "__main__":
    main()
