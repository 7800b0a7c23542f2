"""Wrappers of the engine's model commands: slide embeddings and language-model scores."""

import os
import tempfile

import numpy as np

from . import _arrays, _engine

__all__ = ["slide_embed", "score"]


def _input(tmp, name, x):
    if _arrays.is_path(x):
        return os.fspath(x)
    return _arrays.save(tmp, name, np.asarray(x))


def slide_embed(tiles, coords, model, global_pool=False, all_layers=False, threads=None, heads=None,
                segments=None, dilations=None):
    """A whole-slide embedding by a GigaPath slide encoder, computed by ``longnet slide embed``.

    tiles : (N, in_chans) tile embeddings (array or .npy path); coords : (N, 2) tile coordinates in pixels
    (x, y), as the command takes them; model : the slide encoder checkpoint's path.
    global_pool : the mean of the tile rows instead of the CLS token (gigapath's global_pool).
    all_layers : also return every layer's embedding.
    heads, segments, dilations : the encoder's attention when it is not GigaPath's (the command's defaults).

    Returns the embedding as the command writes it (1, dim), or (embedding, layers) when all_layers. Needs an
    engine with the ``slide embed`` command; raises LongNetError with the engine's message otherwise.
    """
    with tempfile.TemporaryDirectory(prefix="longnet-") as tmp:
        out = os.path.join(tmp, "embedding.npy")
        command = ["slide", "embed", "--model", os.fspath(model), "--tiles", _input(tmp, "tiles", tiles),
                   "--coords", _input(tmp, "coords", coords), "--out", out, "--quiet"]
        if global_pool:
            command.append("--global-pool")
        layers = os.path.join(tmp, "layers.npy")
        if all_layers:
            command += ["--all-layers-out", layers]
        if threads is not None:
            command += ["--threads", int(threads)]
        if heads is not None:
            command += ["--heads", int(heads)]
        if segments is not None:
            command += ["--segments", ",".join(str(int(w)) for w in segments)]
        if dilations is not None:
            command += ["--dilations", ",".join(str(int(r)) for r in dilations)]
        _engine.run(command)
        embedding = np.load(out)
        return (embedding, np.load(layers)) if all_layers else embedding


def score(tokens, model, limit=None, hidden=False, threads=None):
    """Next-token negative log-likelihoods of a token sequence under a LongNet language model, computed by
    ``longnet score``.

    tokens : a 1-D integer array (written as an int32 .npy) or the path of a token file the command reads
        (bytes, .u16, .i32, .npy, .lzt); model : the model's .safetensors path; limit : score only the first
        tokens.
    Returns the N-1 NLLs in nats (float32), or (nll, hidden_states (N, dim)) when hidden.
    """
    with tempfile.TemporaryDirectory(prefix="longnet-") as tmp:
        if _arrays.is_path(tokens):
            source = os.fspath(tokens)
        else:
            t = np.asarray(tokens)
            if t.ndim != 1 or t.dtype.kind not in "iu":
                raise TypeError("tokens: expected a 1-D integer array, got %s %s" % (t.dtype, t.shape))
            source = _arrays.save(tmp, "tokens", t.astype("<i4"))
        nll = os.path.join(tmp, "nll.npy")
        command = ["score", "--model", os.fspath(model), "--tokens", source, "--nll-out", nll,
                   "--state", os.path.join(tmp, "state"), "--restart", "--quiet"]
        hidden_path = os.path.join(tmp, "hidden.npy")
        if hidden:
            command += ["--hidden-out", hidden_path]
        if limit is not None:
            command += ["--limit", int(limit)]
        if threads is not None:
            command += ["--threads", int(threads)]
        _engine.run(command)
        return (np.load(nll), np.load(hidden_path)) if hidden else np.load(nll)
