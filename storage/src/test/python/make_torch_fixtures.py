"""Writes the torch checkpoint fixtures of storage's tests under src/test/resources/torch.

Run with a Python that has torch (written with torch 1.13): python make_torch_fixtures.py
Well-formed checkpoints are written by torch.save itself; expected.json holds, for each of them, every tensor's
dtype, shape, and values as the bit patterns of their float32 widening (exact for f32, f16 and bf16). The hostile
checkpoints are written with pickle and zipfile directly and never loaded here.
"""
import argparse
import collections
import io
import json
import os
import pickle
import shutil
import struct
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "torch")
# the cli module's tests convert a few of them
CLI_OUT = os.path.join(HERE, "..", "..", "..", "..", "cli", "src", "test", "resources", "torch")
CLI_COPIES = ["fairseq.pt", "transposed.pt", "legacy.pt", "evil_global.pt"]
torch.manual_seed(1234)


def bits(t):
    return [int(x) for x in t.detach().to(torch.float32).contiguous().view(-1).numpy().view(np.uint32)]


def expected_of(sd):
    out = {}
    for name, t in sd.items():
        if isinstance(t, torch.Tensor) and t.dtype in (torch.float32, torch.float16, torch.bfloat16):
            out[name] = {"dtype": {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[t.dtype],
                         "shape": list(t.shape), "bits": bits(t)}
    return out


expected = {}


def save(name, obj, sd=None):
    torch.save(obj, os.path.join(OUT, name))
    expected[name] = expected_of(obj if sd is None else sd)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("f32.pt", {"a": torch.randn(3, 4), "b": torch.randn(5)})
    save("dtypes.pt", {"w32": torch.randn(2, 3), "w16": torch.randn(4, 2).half(),
                       "wbf": torch.randn(3, 3).bfloat16(), "inf": torch.tensor([float("inf"), -0.0, 65504.0]).half()})
    save("param.pt", {"p": torch.nn.Parameter(torch.randn(2, 2)), "t": torch.randn(3)})
    big = torch.arange(24, dtype=torch.float32).reshape(6, 4)
    # big and its rows 2..4 share one storage: the slice is saved as that storage at offset 8
    save("views.pt", {"whole": big, "slice": big[2:5], "row": big[5], "col0": big[:, :1][:1]})
    save("transposed.pt", {"ok": torch.ones(2), "t": big.t()})
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.BatchNorm1d(3))
    sd = net.state_dict()              # an OrderedDict with _metadata; BatchNorm's num_batches_tracked is int64
    save("model.pt", {"model": sd, "epoch": 3}, sd)
    save("state_dict.pt", {"state_dict": {"x.weight": torch.randn(2, 2)}, "step": 7},
         None)
    expected["state_dict.pt"] = expected_of(torch.load(os.path.join(OUT, "state_dict.pt"))["state_dict"])
    fairseq = {
        "args": argparse.Namespace(lr=[0.1], arch="longnet_small", seed=1),
        "cfg": {"model": {"_name": "longnet", "decoder_embed_dim": 8, "dropout": 0.1, "xpos": True,
                          "segment_length": [2048, 4096], "dilated_ratio": [1, 2], "checkpoint": None},
                "common": {"fp16": False, "log_interval": 100, "big": 2 ** 70}},
        "model": sd,
        "extra_state": {"epoch": 2, "best": np.float64(1.5), "train_iterator": {"epoch": 2, "shuffle": True}},
        "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "num_updates": 10}],
        "last_optimizer_state": {"state": {0: {"step": 10, "exp_avg": torch.zeros(3, 4)}}, "param_groups": [{"lr": 0.1}]},
    }
    save("fairseq.pt", fairseq, sd)
    save("empty.pt", {})
    save("scalar.pt", {"s": torch.tensor(3.5), "v": torch.tensor([1.0, 2.0])})
    torch.save({"a": torch.ones(2)}, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(OUT, "torchscript.pt"))
    hostile()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)
        f.write("\n")
    os.makedirs(CLI_OUT, exist_ok=True)
    for name in CLI_COPIES:
        shutil.copyfile(os.path.join(OUT, name), os.path.join(CLI_OUT, name))


class Storage:
    """Stands for a storage in a hand-written pickle: persistent_id gives torch's tuple for it."""
    def __init__(self, key, numel, type_name="FloatStorage"):
        self.key, self.numel, self.type_name = key, numel, type_name


class Global:
    """A reference to module.name in a hand-written pickle (written as GLOBAL, never imported here)."""
    def __init__(self, module, name):
        self.module, self.name = module, name


class Rebuild:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class ParameterWithState:
    """Pickles as torch 2's _rebuild_parameter_with_state (torch 1.13 never writes it)."""
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        if not hasattr(torch._utils, "_rebuild_parameter_with_state"):   # a stand-in, so that pickle can name it
            def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
                raise AssertionError("never called")
            _rebuild_parameter_with_state.__module__ = "torch._utils"
            _rebuild_parameter_with_state.__qualname__ = "_rebuild_parameter_with_state"
            torch._utils._rebuild_parameter_with_state = _rebuild_parameter_with_state
        return (torch._utils._rebuild_parameter_with_state, (self.tensor, True, collections.OrderedDict(), {"foo": 1}))


class System:
    """Pickles as os.system("echo pwned"): a loader that executed globals would run it."""
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/longnet-pwned",))


class Writer(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.type_name), obj.key, "cpu", obj.numel)
        return None


def pickled(obj):
    buffer = io.BytesIO()
    Writer(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def entry(name):
    return zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))       # fixed: the fixtures do not change on rerun


def write_zip(name, pkl, storages, byteorder="little"):
    with zipfile.ZipFile(os.path.join(OUT, name), "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(entry("archive/data.pkl"), pkl)
        z.writestr(entry("archive/byteorder"), byteorder)
        for key, data in storages.items():
            z.writestr(entry("archive/data/" + key), data)
        z.writestr(entry("archive/version"), "3\n")


def floats(n):
    return struct.pack("<%df" % n, *[float(i) for i in range(n)])


def hostile():
    write_zip("evil_global.pt", pickled({"a": System()}), {})
    write_zip("missing_storage.pt", pickled({"a": Rebuild(Storage("0", 4), 0, (4,), (1,))}), {})
    write_zip("offset_beyond.pt", pickled({"a": Rebuild(Storage("0", 8), 6, (4,), (1,))}), {"0": floats(8)})
    write_zip("short_storage.pt", pickled({"a": Rebuild(Storage("0", 8), 0, (8,), (1,))}), {"0": floats(4)})
    write_zip("int64.pt", pickled({"n": Rebuild(Storage("0", 2, "LongStorage"), 0, (2,), (1,)),
                                   "x": Rebuild(Storage("1", 2), 0, (2,), (1,))}),
              {"0": struct.pack("<2q", 1, 2), "1": floats(2)})
    write_zip("param_state.pt", pickled({"p": ParameterWithState(Rebuild(Storage("0", 4), 1, (3,), (1,)))}),
              {"0": floats(4)})
    write_zip("big_endian.pt", pickled({"a": Rebuild(Storage("0", 2), 0, (2,), (1,))}), {"0": floats(2)}, "big")
    write_zip("cycle.pt", b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.", {})   # d = {}; d["a"] = d
    # the whole storage deflated: a storage must be a slice of the file, so this is refused
    with zipfile.ZipFile(os.path.join(OUT, "deflated.pt"), "w") as z:
        z.writestr(entry("archive/data.pkl"), pickled({"a": Rebuild(Storage("0", 8), 0, (8,), (1,))}))
        z.writestr(entry("archive/data/0"), floats(8), compress_type=zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    main()
