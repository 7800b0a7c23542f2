"""The tests run the engine through the launcher of this checkout (LONGNET_HOME = the repository root unless set),
importing the package from python/src, so they need no install."""

import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python", "src"))
os.environ.setdefault("LONGNET_HOME", REPO)

import longnet  # noqa: E402
from longnet import _engine  # noqa: E402


def cli(*args):
    """Runs the launcher directly, as a user would; returns the completed process (no check)."""
    return subprocess.run([_engine.launcher()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def random_qkv(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape).astype(dtype) for _ in range(3))


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(scope="session")
def attend_help():
    return _engine.help_text("attend")


@pytest.fixture(scope="session")
def torchscale_fixtures():
    return os.path.join(REPO, "engine", "src", "test", "resources", "torchscale")


@pytest.fixture(scope="session")
def gigapath_fixtures():
    return os.path.join(REPO, "engine", "src", "test", "resources", "gigapath")
