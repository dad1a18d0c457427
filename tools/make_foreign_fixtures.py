#!/usr/bin/python3
"""Writes the files of other kinds that StateDict.Load must recognise and explain (tests/CompiledNets.Tests/Fixtures):
  torch_save_zip.pt       torch.save(state_dict) in PyTorch's default zip format (since 1.6)
  torch_save_legacy.pt    the same with _use_new_zipfile_serialization=False (a raw pickle stream)
Usage: /usr/bin/python3 tools/make_foreign_fixtures.py [OUT_DIR]
"""
import os
import sys

import torch
from torch import nn

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "CompiledNets.Tests", "Fixtures")
torch.manual_seed(0)
net = nn.Sequential()
net.add_module("hidden", nn.Linear(4, 10))
net.add_module("out", nn.Linear(10, 3))
torch.save(net.state_dict(), os.path.join(out, "torch_save_zip.pt"))
torch.save(net.state_dict(), os.path.join(out, "torch_save_legacy.pt"), _use_new_zipfile_serialization=False)
for name in ("torch_save_zip.pt", "torch_save_legacy.pt"):
    path = os.path.join(out, name)
    with open(path, "rb") as f:
        print(name, os.path.getsize(path), "bytes, starts with", f.read(8))
