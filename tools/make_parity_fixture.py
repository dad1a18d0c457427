#!/usr/bin/python3
"""Writes tests/CompiledNets.Tests/Fixtures/parity_iris_net.json: what PyTorch computes for the
tutorial's net, which tests/CompiledNets.Tests/Parity/PyTorchParityTests.cs matches.

Run once, from anywhere, with Debian's python3-torch (1.13):

    /usr/bin/python3 tools/make_parity_fixture.py

The net is the tutorial's: Linear(4, 10), ReLU, Dropout(0.2), Linear(10, 3), in eval mode (the
dropout masks of two frameworks cannot agree; in eval mode dropout is the identity). With weights
from torch.manual_seed(0) and 24 rows of the Iris data bundled with the sample, it records:
the logits, the CrossEntropyLoss, the gradients of the four parameters and of the logits, and, for
Adam(lr=0.01), SGD(lr=0.05, momentum=0.9, weight_decay=1e-4) and AdamW(lr=0.01, weight_decay=0.01),
the loss before each of 20 steps and the parameters after them. Everything is float32, as in
CompiledNets; floats are written with repr(), which round-trips float32 values exactly. CI only
reads the JSON: it never needs PyTorch.
"""
import csv
import json
import os
import re

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = os.path.join(ROOT, "samples", "Iris", "iris.csv")
OUT = os.path.join(ROOT, "tests", "CompiledNets.Tests", "Fixtures", "parity_iris_net.json")
SPECIES = ["setosa", "versicolor", "virginica"]
STEPS = 20


class IrisNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 10)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(10, 3)

    def forward(self, x):
        return self.out(self.drop(self.relu(self.hidden(x))))


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def load_rows():
    with open(CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor([[float(r[k]) for k in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for r in rows])
    y = torch.tensor([SPECIES.index(r["species"].strip()) for r in rows])
    g = torch.Generator().manual_seed(1)
    pick = torch.randperm(len(rows), generator=g)[:24]
    return x[pick].contiguous(), y[pick].contiguous()


def train(initial, x, y, make_optimizer):
    net = IrisNet()
    net.load_state_dict(initial)
    net.eval()
    loss_fn = nn.CrossEntropyLoss()
    opt = make_optimizer(net.parameters())
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        losses.append(float(loss.item()))
        loss.backward()
        opt.step()
    return losses, {k: tensor_json(v) for k, v in net.state_dict().items()}


def main():
    torch.set_num_threads(1)
    x, y = load_rows()
    torch.manual_seed(0)
    net = IrisNet()
    net.eval()
    initial = {k: v.clone() for k, v in net.state_dict().items()}

    logits = net(x)
    logits.retain_grad()
    loss = nn.CrossEntropyLoss()(logits, y)
    loss.backward()

    optimizers = [
        ("Adam", {"lr": 0.01}, lambda p: torch.optim.Adam(p, lr=0.01)),
        ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4)),
        ("AdamW", {"lr": 0.01, "weight_decay": 0.01}, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.01)),
    ]
    runs = []
    for name, hyper, make in optimizers:
        losses, final = train(initial, x, y, make)
        runs.append({"optimizer": name, "hyperparameters": hyper, "steps": STEPS, "losses": losses, "final_state_dict": final})

    fixture = {
        "generated_by": "tools/make_parity_fixture.py",
        "torch_version": torch.__version__,
        "model": "Linear(4, 10), ReLU, Dropout(0.2), Linear(10, 3); eval mode",
        "input": tensor_json(x),
        "labels": y.tolist(),
        "state_dict": {k: tensor_json(v) for k, v in initial.items()},
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "logits_grad": tensor_json(logits.grad),
        "grads": {name: tensor_json(p.grad) for name, p in net.named_parameters()},
        "training": runs,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(fixture, indent=1)
    # One line per list of numbers: a readable, diffable file.
    text = re.sub(r"\[\s*([-0-9.e,\s]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {OUT}: loss {fixture['loss']:.6f}, " + ", ".join(f"{r['optimizer']} {r['losses'][0]:.4f} -> {r['losses'][-1]:.4f}" for r in runs))


if __name__ == "__main__":
    main()
