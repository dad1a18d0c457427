#!/usr/bin/python3
"""Writes tests/CompiledNets.Tests/Fixtures/parity_residual_mlp.json: what PyTorch computes for a residual MLP with a
ModuleList and a hand-written forward, which tests/CompiledNets.Tests/Parity/ResidualParityTests.cs matches (its C#
twin has a [Forward] method).

Run once, from anywhere, with Debian's python3-torch (1.13):

    /usr/bin/python3 tools/make_residual_parity_fixture.py

The net: inp = Linear(8, 16); blocks = ModuleList of 3 × Linear(16, 16); drop = Dropout(0.1); head = Linear(16, 3);
forward: h = relu(inp(x)); for each block: h = h + relu(block(h)); return head(drop(h)) -- in eval mode (dropout
masks of two frameworks cannot agree). With weights from torch.manual_seed(0) and 24 rows of standard-normal input
(torch.manual_seed(1)), it records print(net), the logits, the CrossEntropyLoss, the gradients of every parameter
and of the logits, and the loss before each of 20 Adam(lr=0.01) steps and the parameters after them. float32;
floats are written with repr(). CI only reads the JSON: it never needs PyTorch.
"""
import json
import os
import re

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "CompiledNets.Tests", "Fixtures", "parity_residual_mlp.json")
STEPS = 20


class ResidualMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 16)
        self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(3)])
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        for block in self.blocks:
            h = h + torch.relu(block(h))
        return self.head(self.drop(h))


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.randn(24, 8)
    y = torch.randint(0, 3, (24,))
    torch.manual_seed(0)
    net = ResidualMlp()
    net.eval()
    initial = {k: v.clone() for k, v in net.state_dict().items()}

    logits = net(x)
    logits.retain_grad()
    loss = nn.CrossEntropyLoss()(logits, y)
    loss.backward()
    grads = {name: tensor_json(p.grad) for name, p in net.named_parameters()}

    train = ResidualMlp()
    train.load_state_dict(initial)
    train.eval()
    opt = torch.optim.Adam(train.parameters(), lr=0.01)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        step_loss = nn.CrossEntropyLoss()(train(x), y)
        losses.append(float(step_loss.item()))
        step_loss.backward()
        opt.step()

    fixture = {
        "generated_by": "tools/make_residual_parity_fixture.py",
        "torch_version": torch.__version__,
        "print": str(net),
        "input": tensor_json(x),
        "labels": y.tolist(),
        "state_dict": {k: tensor_json(v) for k, v in initial.items()},
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "logits_grad": tensor_json(logits.grad),
        "grads": grads,
        "adam": {"lr": 0.01, "steps": STEPS, "losses": losses, "final_state_dict": {k: tensor_json(v) for k, v in train.state_dict().items()}},
    }
    text = json.dumps(fixture, indent=1)
    text = re.sub(r"\[\s*([-0-9.e,\s]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {OUT}: loss {fixture['loss']:.6f}, Adam {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(fixture["print"])


if __name__ == "__main__":
    main()
