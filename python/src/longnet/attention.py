"""longnet.attend: dilated attention on numpy arrays, computed by the longnet engine."""

import os
import tempfile

import numpy as np

from . import _arrays, _engine

__all__ = ["attend"]

_OFFSETS = ("torchscale", "paper")
_SEMANTICS = ("exact", "torchscale")


def _levels(name, values):
    if isinstance(values, (int, np.integer)):
        values = [values]
    values = [int(v) for v in values]
    if not values:
        raise ValueError("%s: at least one level is needed" % name)
    return ",".join(str(v) for v in values)


def attend(q, k, v, segments, dilations, causal=False, offsets="torchscale", semantics="exact", threads=None,
           scale=None, out_dtype=None, backend=None, out=None, lengths=None, key_padding_mask=None):
    """LongNet's dilated attention of q, k, v, computed by the ``longnet attend`` command.

    The result is the command's output file, bit for bit: the arrays are written with ``numpy.save`` into a
    private temporary directory, ``longnet attend`` runs on them, and its output is read back (no Python loop
    over rows). The operator is the one docs/SPEC.md of longnet-java defines.

    Parameters
    ----------
    q, k, v : arrays of shape (N, H, d) or (B, N, H, d), float32 or float16, all the same shape; or paths of
        ``.npy`` files of such shapes, passed to the engine as they are (no copy: the way for inputs larger
        than memory).
    segments, dilations : the levels, one dilation rate per segment length (e.g. [2048, 4096], [1, 2]).
    causal : each position attends only to itself and earlier ones.
    offsets : the head-offset rule, "torchscale" (contiguous head groups share a phase) or "paper" (h mod r).
    semantics : "exact" (the operator of SPEC.md: no padding rows) or "torchscale" (torchscale's padded and
        shifted segments, as trained torchscale and GigaPath weights expect; needs an engine with the
        ``--semantics`` option). Passed as ``--semantics`` only when it is not "exact".
    threads : worker threads (default: the engine's, all cores).
    scale : the softmax scale (default 1/sqrt(d)).
    out_dtype : "f32" or "f16" (default: q's dtype).
    backend : "auto", "cpu" or "cuda" (default: the engine's, auto).
    out : a path: the output is written there (replacing a file there) and returned memory-mapped read-only;
        otherwise the result is an in-memory array.
    lengths : for a padded batch (B, N, H, d), each sequence's length (its rows after that are padding).
    key_padding_mask : for a padded batch, PyTorch's key_padding_mask instead: a (B, N) bool array, True where
        a row is padding, which must come at the end of each sequence.

    A batch (B, N, H, d) runs in one ``longnet attend``: each sequence's result is exactly that of the sequence
    alone (its first ``lengths[b]`` rows); padding rows are never read and are zero in the result.

    Raises
    ------
    LongNetUsageError (a ValueError) when the engine refuses the arguments (exit status 2), LongNetError when
    the run fails (exit status 1), each with the engine's one-line message; EngineNotFoundError when no engine is
    found (see longnet.launcher); TypeError for an array that is not float32 or float16.
    """
    if offsets not in _OFFSETS:
        raise ValueError("offsets=%r: expected one of %s" % (offsets, ", ".join(_OFFSETS)))
    if semantics not in _SEMANTICS:
        raise ValueError("semantics=%r: expected one of %s" % (semantics, ", ".join(_SEMANTICS)))
    args = ["--segments", _levels("segments", segments), "--dilations", _levels("dilations", dilations),
            "--offsets", offsets]
    if semantics != "exact":
        args += ["--semantics", semantics]
    if causal:
        args.append("--causal")
    if threads is not None:
        args += ["--threads", int(threads)]
    if scale is not None:
        args += ["--scale", str(np.float32(scale))]   # the shortest digits giving this float32
    if out_dtype is not None:
        args += ["--out-dtype", out_dtype]
    if backend is not None:
        args += ["--backend", backend]

    paths = [_arrays.is_path(x) for x in (q, k, v)]
    if any(paths) and not all(paths):
        raise TypeError("q, k and v must be all arrays or all .npy paths")
    shapes = [_arrays.shape_of(x) for x in (q, k, v)]
    if shapes[0] != shapes[1] or shapes[0] != shapes[2]:
        raise ValueError("q, k and v must have the same shape; got %s, %s and %s" % tuple(shapes))
    if len(shapes[0]) not in (3, 4):
        raise ValueError("q has shape %s; expected (N, heads, headDim) or (batch, N, heads, headDim)"
                         % (shapes[0],))
    if lengths is not None and key_padding_mask is not None:
        raise ValueError("give lengths or key_padding_mask, not both")
    if (lengths is not None or key_padding_mask is not None) and len(shapes[0]) != 4:
        raise ValueError("lengths and key_padding_mask are for a batch (batch, N, heads, headDim); q has shape %s"
                         % (shapes[0],))
    if lengths is not None:
        args += ["--lengths", ",".join(str(int(n)) for n in np.atleast_1d(lengths))]
    if not paths[0]:
        q, k, v = (_arrays.float_array(n, x) for n, x in zip("qkv", (q, k, v)))
    with tempfile.TemporaryDirectory(prefix="longnet-") as tmp:
        if paths[0]:
            inputs = [os.fspath(x) for x in (q, k, v)]
        else:
            inputs = [_arrays.save(tmp, n, x) for n, x in zip("qkv", (q, k, v))]
        if key_padding_mask is not None:
            mask = os.path.join(tmp, "key_padding_mask.npy")
            np.save(mask, np.ascontiguousarray(np.asarray(key_padding_mask), dtype=np.bool_))
            args += ["--key-padding-mask", mask]
        target = os.fspath(out) if out is not None else os.path.join(tmp, "out.npy")
        command = ["attend", "--q", inputs[0], "--k", inputs[1], "--v", inputs[2], "--out", target, "--quiet"]
        if out is not None:
            command.append("--force")
        _engine.run(command + args)
        if out is not None:
            return np.load(target, mmap_mode="r")
        return np.load(target)
