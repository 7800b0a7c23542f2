"""Passing arrays to the engine: .npy files in a private temporary directory, or the caller's own files."""

import os

import numpy as np

_FLOAT_TYPES = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16"}


def is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def float_array(name, x):
    """x as a C-ordered little-endian float32 or float16 array; anything else is a TypeError naming it."""
    a = np.asarray(x)
    if a.dtype.newbyteorder("=") not in _FLOAT_TYPES:
        raise TypeError("%s: dtype %s; the engine takes float32 or float16 (convert with .astype(numpy.float32))"
                        % (name, a.dtype))
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))


def save(directory, name, array):
    """Writes array to DIRECTORY/NAME.npy (C order, little endian) and returns the path."""
    path = os.path.join(directory, name + ".npy")
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)
    return path


def shape_of(x):
    """The shape of an array, or of the .npy file at path x (read from its header only)."""
    if is_path(x):
        return np.load(x, mmap_mode="r").shape
    return np.shape(x)
