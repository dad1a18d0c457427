"""The PyTorch side of the three-way comparison (compare.py): the same workloads, one JSON line each.

Run with Debian's python3-torch (/usr/bin/python3). Threads: torch.set_num_threads(T) for the OpenMP
pool and OPENBLAS_NUM_THREADS=T (set by compare.py before the process starts: torch.set_num_threads does
not set OpenBLAS's count); OMP_WAIT_POLICY=PASSIVE so idle OpenMP threads do not spin on the cores
OpenBLAS needs.
"""
import json
import random
import sys
import time

import torch

WORKLOADS = [
    # name, widths, dropout, batch, train, all threads
    ("iris-step", [4, 10, 3], True, 32, True, False),
    ("iris-step-112", [4, 10, 3], True, 112, True, False),
    ("digits-step", [64, 128, 64, 10], False, 64, True, False),
    ("mlp-large-1t", [784, 1024, 1024, 10], False, 256, True, False),
    ("mlp-large", [784, 1024, 1024, 10], False, 256, True, True),
    ("infer-large", [784, 1024, 1024, 10], False, 256, False, True),
    ("infer-1", [4, 10, 3], True, 1, False, False),
]


def build(widths, dropout, batch, train):
    torch.manual_seed(42)
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
            if dropout and i == 0:
                layers.append(torch.nn.Dropout(0.2))
    model = torch.nn.Sequential(*layers)
    rng = random.Random(1234)
    x = torch.tensor([rng.random() * 2 - 1 for _ in range(batch * widths[0])], dtype=torch.float32).reshape(batch, widths[0])
    y = torch.tensor([rng.randrange(widths[-1]) for _ in range(batch)], dtype=torch.long)
    if not train:
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)
        return infer
    opt = torch.optim.Adam(model.parameters(), lr=0.0)
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step


def measure(step, seconds):
    """Median over blocks of the time per call (µs), as CompiledNetsWorkloads.Measure does."""
    w0 = time.perf_counter()
    i = 0
    while i < 3 or time.perf_counter() - w0 < min(0.25, seconds):
        step()
        i += 1
    t0 = time.perf_counter()
    calls = 0
    while time.perf_counter() - t0 < seconds / 20 or calls < 1:
        step()
        calls += 1
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        s = time.perf_counter()
        for _ in range(calls):
            step()
        times.append((time.perf_counter() - s) * 1e6 / calls)
    times.sort()
    return times[len(times) // 2]


def main(argv):
    seconds, threads, names = 1.0, torch.get_num_threads(), []
    i = 0
    while i < len(argv):
        if argv[i] == "--seconds":
            seconds = float(argv[i + 1]); i += 2
        elif argv[i] == "--threads":
            threads = int(argv[i + 1]); i += 2
        else:
            names.append(argv[i]); i += 1
    for name, widths, dropout, batch, train, all_threads in WORKLOADS:
        if names and name not in names:
            continue
        t = threads if all_threads else 1
        torch.set_num_threads(t)
        us = measure(build(widths, dropout, batch, train), seconds)
        print(json.dumps({"fw": "PyTorch", "workload": name, "threads": t, "us": us}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
