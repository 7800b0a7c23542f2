"""Python front end of longnet-java, LongNet's dilated attention on the CPU, out of core.

Every function here runs the ``longnet`` command (found through ``LONGNET_HOME``, a checkout of longnet-java,
or on PATH) on ``.npy`` files in a private temporary directory, so its results are the command's, bit for bit.
numpy is the only requirement; ``longnet.DilatedAttention`` (a torch.nn.Module) imports torch when first used.
"""

from ._engine import EngineNotFoundError, LongNetError, LongNetUsageError, launcher
from .attention import attend
from .models import score, slide_embed

__version__ = "0.1.0"
__all__ = ["attend", "slide_embed", "score", "DilatedAttention", "launcher",
           "LongNetError", "LongNetUsageError", "EngineNotFoundError"]


def __getattr__(name):
    if name == "DilatedAttention":          # torch is imported only by those who use it
        from .torch_module import DilatedAttention
        return DilatedAttention
    raise AttributeError("module 'longnet' has no attribute %r" % name)
