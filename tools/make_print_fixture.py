#!/usr/bin/python3
"""Makes tests/CompiledNets.Tests/Fixtures/tensor_print.json: what PyTorch's print(tensor) writes for float32
tensors of many shapes and magnitudes, so Tensor.ToString() can be checked against it character for character.

Each case stores the shape, the float32 values as their IEEE bit patterns (exact, and NaN/inf need no JSON
extension) and str(tensor) under PyTorch's default print options (precision 4, threshold 1000, edgeitems 3,
linewidth 80). Integer cases (int64 tensors, what IntTensor stands for) store the values themselves.

Usage (Debian's interpreter has torch): /usr/bin/python3 tools/make_print_fixture.py [OUT_FILE]
"""
import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(0)


def bits(t):
    return [struct.unpack('<I', struct.pack('<f', v))[0] for v in t.reshape(-1).tolist()]


cases = []


def add(name, t):
    t = t.to(torch.float32)
    cases.append({"name": name, "shape": list(t.shape), "bits": bits(t), "expected": str(t)})


def add_int(name, t):
    t = t.to(torch.int64)
    cases.append({"name": name, "shape": list(t.shape), "ints": t.reshape(-1).tolist(), "expected": str(t)})


nan, inf = float('nan'), float('inf')
add("scalar", torch.tensor(1.5))
add("scalar_big", torch.tensor(-1.0438e8))
add("scalar_int", torch.tensor(3.0))
add("vector", torch.tensor([0.1, 0.2, 0.3]))
add("integers", torch.tensor([1.0, 2.0, 3.0]))
add("zeros", torch.zeros(3))
add("negative_zero", torch.tensor([-0.0, 0.0, 1.0]))
add("negatives_aligned", torch.tensor([-1.5, 22.25, 3.0]))
add("wide_range_sci", torch.tensor([1e-5, 1.0, -1.0438e8]))
add("big_sci", torch.tensor([-1.0438e8, 2.5e8]))
add("small_sci", torch.tensor([1e-5, 2e-5, -3.5e-6]))
add("ratio_over_1000", torch.tensor([12345.678, 1.5]))
add("ratio_under_1000", torch.tensor([123.456, 1.5]))
add("int_mode_sci", torch.tensor([1.0, 1e9]))
add("int_mode_ratio", torch.tensor([1.0, 5000.0, -3.0]))
add("nonfinite", torch.tensor([nan, inf, -inf, 1.5]))
add("nonfinite_int", torch.tensor([nan, inf, -inf, 2.0]))
add("nonfinite_sci", torch.tensor([nan, -inf, 1e-7, 3.0]))
add("only_nan", torch.tensor([nan]))
add("ties_half_even", torch.tensor([0.03125, 0.15625, 0.40625, -0.03125, 2.5]))
add("sci_ties", torch.tensor([1.03125e-5, 1.0]))
add("randn_100", torch.randn(100))
add("randn_1000", torch.randn(1000))
add("randn_1001", torch.randn(1001))
add("arange_1500", torch.arange(1500.0))
add("matrix_3x4", torch.randn(3, 4))
add("matrix_10x100", torch.randn(10, 100))
add("matrix_50x30", torch.randn(50, 30))
add("matrix_2000x2", torch.randn(2000, 2) * 1000)
add("matrix_1x2000", torch.randn(1, 2000))
add("matrix_sci", torch.randn(4, 5) * torch.tensor([1e-6, 1.0, 1e3, 1e6, 1e9]))
add("tensor_2x3x4", torch.randn(2, 3, 4))
add("tensor_20x20x5", torch.randn(20, 20, 5))
add("tensor_2x2x2x2", torch.randn(2, 2, 2, 2))
add("tensor_8x8x8x8", torch.randn(8, 8, 8, 8))
add("empty", torch.zeros(0))
add("empty_0x3", torch.zeros(0, 3))
add("empty_2x0", torch.zeros(2, 0))
add("weights_like", torch.empty(10, 4).uniform_(-0.5, 0.5))
add("logits_like", torch.randn(38, 3) * 5)
add_int("labels", torch.tensor([0, 1, 2, 1]))
add_int("labels_wide", torch.tensor([-5, 10, 200, 3]))
add_int("labels_2000", torch.randint(0, 10, (2000,)))
add_int("int_matrix", torch.randint(-100, 100, (4, 5)))
add_int("int_empty", torch.zeros(0, dtype=torch.int64))

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "CompiledNets.Tests", "Fixtures", "tensor_print.json")
with open(out, "w") as f:
    json.dump({"torch_version": torch.__version__, "print_options": "precision=4, threshold=1000, edgeitems=3, linewidth=80",
               "cases": cases}, f)
    f.write("\n")
print(f"{len(cases)} cases -> {out}")
