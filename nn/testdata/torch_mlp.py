"""Safetensors files between PyTorch and nn's tests, both ways.

Run with /usr/bin/python3 (PyTorch 1.13, numpy; no safetensors package
needed) from this directory, after `go test ./nn -run TestSafetensors -update`
has written go_mlp.safetensors:

    /usr/bin/python3 torch_mlp.py

It writes torch_mlp.safetensors (a torch.nn.Sequential's state_dict, float64)
and torch_mlp_f32.safetensors (the same in float32), loads go_mlp.safetensors
(written by nn.MLP.Save) into a Sequential with load_state_dict, and writes
torch_io.json: inputs x and both models' outputs, as PyTorch computes them.
The reader and writer below are the format's specification in a few lines.
"""
import json
import struct

import numpy as np
import torch

DTYPES = {"F64": np.float64, "F32": np.float32}


def save(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        a = t.detach().numpy()
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        dtype = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        lo, hi = e["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")).reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out, meta


def sequential(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers).double()


torch.manual_seed(0)
model = sequential([2, 5, 3, 1])
save("torch_mlp.safetensors", model.state_dict(), {"format": "pt"})
save("torch_mlp_f32.safetensors", {k: v.float() for k, v in model.state_dict().items()}, {"format": "pt"})

state, meta = load("go_mlp.safetensors")
assert meta["activation"] == "tanh", meta
go_model = sequential([2, 5, 3, 1])
go_model.load_state_dict(state)  # strict: every name and shape must match

x = torch.linspace(-1, 1, 14, dtype=torch.float64).reshape(7, 2)
with torch.no_grad():
    io = {"x": x.flatten().tolist(), "torch_model": model(x).flatten().tolist(),
          "go_model": go_model(x).flatten().tolist()}
with open("torch_io.json", "w") as f:
    json.dump(io, f)
print("ok: go_mlp.safetensors loads into torch.nn.Sequential; outputs written to torch_io.json")
