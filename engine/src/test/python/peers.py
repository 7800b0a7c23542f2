"""Imports the peers' own PyTorch code (microsoft/torchscale, prov-gigapath/prov-gigapath) on a machine that has
only Debian's python3-torch and python3-numpy: small stand-ins for the packages they import but never need at
inference (einops, fairscale, timm, huggingface_hub), and a plain attention returning (out, lse) in place of
flash-attn. Point LONGNET_TORCHSCALE at a torchscale checkout and LONGNET_GIGAPATH at a prov-gigapath checkout.

Used by the fixture generators beside this file; the engine's tests never need it (they read committed fixtures).
"""
import math
import os
import re
import sys
import types

import torch


def _axes(side):
    """'b (l r1) (r2 h) d' -> [['b'], ['l', 'r1'], ['r2', 'h'], ['d']]"""
    groups = []
    for m in re.finditer(r"\(([^)]*)\)|(\S+)", side):
        groups.append(m.group(1).split() if m.group(1) is not None else [m.group(2)])
    return groups


def rearrange(x, pattern, **sizes):
    """einops.rearrange for the patterns torchscale uses: named axes, groups in parentheses, axes of size 1 written
    as 1, no ellipsis."""
    left, right = (s.strip() for s in pattern.split("->"))
    lg, rg = _axes(left), _axes(right)
    assert len(lg) == x.dim(), (pattern, x.shape)
    known = dict(sizes)
    for group, size in zip(lg, x.shape):
        names = [a for a in group if not a.isdigit()]
        prod = 1
        for a in group:
            prod *= int(a) if a.isdigit() else known.get(a, 1)
        unknown = [a for a in names if a not in known]
        if unknown:
            assert len(unknown) == 1 and size % prod == 0, (pattern, x.shape, sizes)
            known[unknown[0]] = size // prod
        else:
            assert prod == size, (pattern, x.shape, sizes)
    flat_left = [a for g in lg for a in g if not a.isdigit()]
    x = x.reshape([known[a] for a in flat_left])
    flat_right = [a for g in rg for a in g if not a.isdigit()]
    assert sorted(flat_left) == sorted(flat_right), pattern
    x = x.permute([flat_left.index(a) for a in flat_right])
    shape = []
    for g in rg:
        p = 1
        for a in g:
            p *= int(a) if a.isdigit() else known[a]
        shape.append(p)
    return x.reshape(shape)


def plain_flash_attn_func(q, k, v, dropout=0.0, bias=None, softmax_scale=None, is_causal=False):
    """flash-attn's (out, lse) from q, k, v of shape (b, l, h, d): out (b, l, h, d), lse (b, h, l), in float32."""
    assert bias is None
    scale = softmax_scale if softmax_scale is not None else q.size(-1) ** -0.5
    qf, kf, vf = (t.float().transpose(1, 2) for t in (q, k, v))           # (b, h, l, d)
    s = torch.matmul(qf, kf.transpose(-1, -2)) * scale
    if is_causal:
        mask = torch.ones(s.size(-2), s.size(-1), dtype=torch.bool).triu(1)
        s = s.masked_fill(mask, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)                                       # (b, h, l)
    out = torch.matmul(torch.softmax(s, dim=-1), vf).transpose(1, 2)
    return out.to(q.dtype), lse


def _stub(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def install():
    """Installs the stand-ins, then puts the peers' checkouts on sys.path."""
    _stub("einops", rearrange=rearrange)
    fairscale = _stub("fairscale")
    fairscale.nn = _stub("fairscale.nn", checkpoint_wrapper=lambda m, **kw: m, wrap=lambda m, **kw: m)
    registry = {}

    def register_model(fn):
        registry[fn.__name__] = fn
        return fn

    def create_model(name, pretrained=False, **kwargs):
        return registry[name](**kwargs)

    timm = _stub("timm", create_model=create_model)
    timm.models = _stub("timm.models")
    timm.models.registry = _stub("timm.models.registry", register_model=register_model)
    timm.models.layers = _stub("timm.models.layers",                 # torchscale's DropPath: identity at inference
                               drop_path=lambda x, drop_prob=0.0, training=False: x)
    _stub("huggingface_hub", hf_hub_download=lambda *a, **kw: None)
    _stub("apex")                                      # no FusedLayerNorm: torch's LayerNorm is used
    for var in ("LONGNET_TORCHSCALE", "LONGNET_GIGAPATH"):
        path = os.environ.get(var)
        if path and path not in sys.path:
            sys.path.insert(0, path)


def use_plain_attention(multihead_attention_module):
    """torchscale binds flash_attn_func at import; replace it in the module that calls it."""
    multihead_attention_module.flash_attn_func = plain_flash_attn_func
