"""longnet.DilatedAttention: a torch.nn.Module over the engine, for inference (imported only when used)."""

import ast

import numpy as np
import torch

from .attention import attend

__all__ = ["DilatedAttention"]

_NUMPY_TYPES = {torch.float32: np.float32, torch.float16: np.float16}


def _int_list(name, value):
    if isinstance(value, str):              # torchscale's configs give the levels as strings: "[2048, 4096]"
        value = ast.literal_eval(value)
    if isinstance(value, int):
        value = [value]
    values = [int(x) for x in value]
    if not values:
        raise ValueError("%s: at least one level is needed" % name)
    return values


class DilatedAttention(torch.nn.Module):
    """The attention core of torchscale's ``DilatedAttention``, for inference, computed by the longnet engine.

    torchscale's module projects its input with q_proj, k_proj and v_proj, runs one attention per
    (segment_length, dilated_ratio) level and merges them by their softmax denominators, then applies
    inner_attn_ln and out_proj. This module is the middle step: it takes q, k and v already projected, shaped
    (b, n, h, d) as torchscale arranges them before its levels, and returns (b, n, h, d); ``out.flatten(2)``
    is torchscale's (b, n, h·d) attention before inner_attn_ln. It has no parameters.

    segment_length, dilated_ratio : torchscale's lists (or their string form, "[2048, 4096]").
    causal : the default of forward's is_causal, as torchscale's decoder passes it.
    semantics : "torchscale" (default: torchscale's padded and shifted segments, what its trained weights
        expect) or "exact" (the operator of longnet-java's SPEC.md).
    offsets : the head-offset rule, "torchscale" (default) or "paper". scale : default 1/sqrt(d).

    Inference only: the result carries no gradient (the engine computes no backward pass). Inputs on another
    device are copied to the CPU and the result copied back; float32 and float16 are taken as they are
    (bfloat16 is refused: numpy has no such type). A batch runs in one engine command, each sequence as it
    runs alone; forward's key_padding_mask (b, n), True where a row is padding (at the end of each sequence),
    cuts each sequence to its real rows, whose outputs are then those of the sequence alone, padding rows zero.
    (torchscale's own flash-attention path ignores key_padding_mask: its padded rows enter the softmax.)
    """

    def __init__(self, segment_length, dilated_ratio, causal=False, semantics="torchscale", offsets="torchscale",
                 scale=None, threads=None):
        super().__init__()
        self.segment_length = _int_list("segment_length", segment_length)
        self.dilated_ratio = _int_list("dilated_ratio", dilated_ratio)
        if len(self.segment_length) != len(self.dilated_ratio):
            raise ValueError("segment_length %s and dilated_ratio %s must have the same number of entries"
                             % (self.segment_length, self.dilated_ratio))
        self.causal = bool(causal)
        self.semantics = semantics
        self.offsets = offsets
        self.scale = scale
        self.threads = threads

    def extra_repr(self):
        return "segment_length=%s, dilated_ratio=%s, causal=%s, semantics=%s, offsets=%s" % (
            self.segment_length, self.dilated_ratio, self.causal, self.semantics, self.offsets)

    def forward(self, q, k, v, is_causal=None, key_padding_mask=None):
        causal = self.causal if is_causal is None else bool(is_causal)
        for name, t in zip("qkv", (q, k, v)):
            if t.dtype not in _NUMPY_TYPES:
                raise TypeError("%s: dtype %s; longnet.DilatedAttention takes float32 or float16" % (name, t.dtype))
            if t.dim() not in (3, 4):
                raise ValueError("%s has shape %s; expected (b, n, h, d) or (n, h, d)" % (name, tuple(t.shape)))
        arrays = [t.detach().to("cpu").contiguous().numpy() for t in (q, k, v)]
        mask = None
        if key_padding_mask is not None:
            mask = key_padding_mask.detach().to("cpu").numpy() if isinstance(key_padding_mask, torch.Tensor) \
                else np.asarray(key_padding_mask)
        out = attend(arrays[0], arrays[1], arrays[2], self.segment_length, self.dilated_ratio, causal=causal,
                     offsets=self.offsets, semantics=self.semantics, threads=self.threads, scale=self.scale,
                     key_padding_mask=mask)
        return torch.from_numpy(np.ascontiguousarray(out)).to(q.device)
