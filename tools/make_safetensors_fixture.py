#!/usr/bin/python3
"""Makes the PyTorch fixtures of the safetensors interchange tests, and checks files written by CompiledNets.

Debian 12 has python3-torch but no `safetensors` package, so this script reads and writes the format
by hand from its spec (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
header length N, N bytes of JSON (padded with spaces to a multiple of 8, as the reference writer does),
then the raw little-endian tensor data, each tensor at [begin, end) of that data, in the order of the
reference writer (sorted by name).

Usage (run with Debian's interpreter, /usr/bin/python3, which has torch):
  tools/make_safetensors_fixture.py [OUT_DIR]      writes irisnet_pytorch.safetensors (the state_dict)
                                                   and irisnet_pytorch_io.safetensors (inputs "x" and
                                                   eval-mode logits "logits") to OUT_DIR
                                                   (default tests/CompiledNets.Tests/Fixtures)
  tools/make_safetensors_fixture.py --check FILE   reads FILE (e.g. one saved by CompiledNets), prints
                                                   every tensor and the metadata, loads the state dict
                                                   into the PyTorch net and prints its eval logits on the
                                                   fixture's inputs, and compares them with the fixture's.
"""
import json
import os
import struct
import sys

import torch
from torch import nn

SEED = 0


class IrisNet(nn.Module):
    """The tutorial's net, with the field names CompiledNets' IrisNet has (keys hidden.weight, ...)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 10)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(10, 3)

    def forward(self, x):
        return self.out(self.drop(self.relu(self.hidden(x))))


def save_safetensors(path, tensors, metadata=None):
    """Writes a dict of float32 tensors as safetensors."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a safetensors file of F32 tensors; returns (dict name -> tensor, metadata)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert 8 + n <= len(buf), "header length beyond the file"
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = buf[8 + n:]
    tensors = {}
    end_max = 0
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        begin, end = info["data_offsets"]
        shape = info["shape"]
        numel = 1
        for d in shape:
            numel *= d
        assert end - begin == 4 * numel, f"{name}: {end - begin} bytes for shape {shape}"
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32) if numel else torch.zeros(0)
        tensors[name] = t.reshape(shape).clone()
        end_max = max(end_max, end)
    assert end_max == len(data), "data section has trailing or missing bytes"
    return tensors, metadata


def fixture_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "CompiledNets.Tests", "Fixtures")


def make(out_dir):
    torch.manual_seed(SEED)
    net = IrisNet()
    x = torch.randn(16, 4) * 2.0 + torch.tensor([5.8, 3.0, 3.8, 1.2])  # iris-like scale
    net.eval()
    with torch.no_grad():
        logits = net(x)
    os.makedirs(out_dir, exist_ok=True)
    meta = {"torch_version": torch.__version__, "seed": str(SEED), "made_by": "tools/make_safetensors_fixture.py"}
    save_safetensors(os.path.join(out_dir, "irisnet_pytorch.safetensors"), net.state_dict(), meta)
    save_safetensors(os.path.join(out_dir, "irisnet_pytorch_io.safetensors"), {"x": x, "logits": logits}, meta)
    # Self-check: the hand-written files read back to the same tensors.
    back, _ = load_safetensors(os.path.join(out_dir, "irisnet_pytorch.safetensors"))
    for k, v in net.state_dict().items():
        assert torch.equal(back[k], v), k
    print(f"wrote fixtures to {out_dir}: {[(k, list(v.shape)) for k, v in net.state_dict().items()]}")
    print("logits[0] =", logits[0].tolist())


def check(path):
    tensors, metadata = load_safetensors(path)
    print("metadata:", json.dumps(metadata, indent=1))
    for k, v in tensors.items():
        print(f"{k}: shape {list(v.shape)}, sum {v.double().sum().item():.9g}")
    state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in tensors.items()}
    state = {k: v for k, v in state.items() if k in IrisNet().state_dict()}
    net = IrisNet()
    net.load_state_dict(state, strict=True)
    net.eval()
    io, _ = load_safetensors(os.path.join(fixture_dir(), "irisnet_pytorch_io.safetensors"))
    with torch.no_grad():
        logits = net(io["x"])
    print("logits[0] =", logits[0].tolist())
    ref, _ = load_safetensors(os.path.join(fixture_dir(), "irisnet_pytorch.safetensors"))
    same = all(torch.equal(state[k], ref[k]) for k in ref)
    print("(for a file made from the fixture's weights) tensors equal to the PyTorch fixture's:", same,
          "| max |logits - fixture logits|:", (logits - io["logits"]).abs().max().item())


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        make(sys.argv[1] if len(sys.argv) >= 2 else fixture_dir())
