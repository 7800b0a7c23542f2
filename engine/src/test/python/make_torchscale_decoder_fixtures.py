"""Fixtures for the LongNet decoder from torchscale's own LongNetDecoder (torchscale/model/LongNet.py), run on the
CPU with a plain attention in place of flash-attn (peers.py):

    LONGNET_TORCHSCALE=/path/to/torchscale /usr/bin/python3 engine/src/test/python/make_torchscale_decoder_fixtures.py

Writes engine/src/test/resources/torchscale-decoder/NAME.{pt,json,tokens.npy,logits.npy} for two small random
decoders: 'learned' (fairseq's learned positional embedding, as torchscale's fairseq language model builds it) and
'xpos' (xPos, no position table). NAME.pt is torch.save({"model": state_dict}); NAME.json holds DecoderConfig's
fields plus the engine's own (decoder_learned_pos, max_target_positions, padding_idx, semantics); NAME.logits.npy is
the decoder's output for NAME.tokens.npy (token ids as float32, no padding token), float32.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402

peers.install()
from torchscale.architecture.config import DecoderConfig  # noqa: E402
from torchscale.component import multihead_attention  # noqa: E402
from torchscale.model.LongNet import LongNetDecoder  # noqa: E402

peers.use_plain_attention(multihead_attention)
OUT = os.path.join(HERE, "..", "resources", "torchscale-decoder")
PAD = 1


class LearnedPositions(torch.nn.Embedding):
    """fairseq's LearnedPositionalEmbedding at inference without padding tokens: position i is row PAD + 1 + i."""

    def forward(self, tokens, incremental_state=None):
        mask = tokens.ne(PAD).int()
        positions = (torch.cumsum(mask, dim=1) * mask).long() + PAD
        return torch.nn.functional.embedding(positions, self.weight, self.padding_idx)


def build(name, fields, learned, n, seed):
    torch.manual_seed(seed)
    cfg = DecoderConfig(flash_attention=True, dropout=0.0, **fields)
    embed = torch.nn.Embedding(cfg.vocab_size, cfg.decoder_embed_dim)
    positions = LearnedPositions(learned + PAD + 1, cfg.decoder_embed_dim, PAD) if learned else None
    model = LongNetDecoder(cfg, embed_tokens=embed, embed_positions=positions).eval()
    with torch.no_grad():                                # every weight random, biases and norms included
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.5))
    tokens = torch.randint(2, cfg.vocab_size, (1, n))    # no padding token (id 1) and no 0
    with torch.no_grad():
        logits = model(tokens)[0][0].float().numpy()
    sd = {k: v for k, v in model.state_dict().items()}
    torch.save({"model": sd}, os.path.join(OUT, name + ".pt"))
    config = dict(fields)
    if learned:
        config.update(decoder_learned_pos=True, max_target_positions=learned, padding_idx=PAD)
    config["semantics"] = "torchscale"
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(config, f, indent=1)
    np.save(os.path.join(OUT, name + ".tokens.npy"), tokens[0].numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + ".logits.npy"), logits.astype(np.float32))
    print(name, "tensors", len(sd), "logits norm", float(np.linalg.norm(logits)))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = dict(vocab_size=29, decoder_embed_dim=16, decoder_attention_heads=4, decoder_layers=2,
                decoder_ffn_embed_dim=24, segment_length="[8, 16]", dilated_ratio="[1, 2]")
    build("learned", base, learned=64, n=45, seed=1)
    build("xpos", dict(base, xpos_rel_pos=True, xpos_scale_base=64), learned=0, n=45, seed=2)


if __name__ == "__main__":
    main()
