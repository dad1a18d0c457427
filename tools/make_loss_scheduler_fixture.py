#!/usr/bin/python3
"""Writes the PyTorch parity fixtures for losses, gradient clipping, the LogSoftmax layer and learning-rate
schedulers, which tests/CompiledNets.Tests/Parity/LossParityTests.cs and SchedulerParityTests.cs match:

    tests/CompiledNets.Tests/Fixtures/parity_losses.json      losses (values and input gradients), clipping, LogSoftmax + NLLLoss net
    tests/CompiledNets.Tests/Fixtures/parity_schedulers.json  100 steps of learning rates (and OneCycleLR's momentum)

Run once, from anywhere, with Debian's python3-torch (1.13):

    /usr/bin/python3 tools/make_loss_scheduler_fixture.py

Losses: every case in every reduction ('mean', 'sum', 'none'); the gradient of the input is that of the loss itself
for 'mean'/'sum' and of sum(upstream * loss) for 'none' (upstream: recorded random weights, loss.backward(upstream)).
Everything is float32 except the learning rates (python floats, float64). Floats are written with repr(), which
round-trips exactly. CI only reads the JSON: it never needs PyTorch.
"""
import json
import math
import os

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "CompiledNets.Tests", "Fixtures")


def tj(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def loss_case(name, make, x, target, args, int_target=False):
    out = []
    for reduction in ("mean", "sum", "none"):
        xi = x.clone().requires_grad_(True)
        loss = make(reduction)(xi, target)
        case = {"name": name, "reduction": reduction, "input": tj(x), **args}
        case["target"] = target.tolist() if int_target else tj(target)
        if reduction == "none":
            upstream = torch.rand(loss.shape, generator=G) * 2 - 0.5
            loss.backward(upstream)
            case["upstream"] = tj(upstream)
            case["value"] = tj(loss)
        else:
            loss.backward()
            case["value"] = float(loss.item())
        case["grad"] = tj(xi.grad)
        out.append(case)
    return out


def losses():
    cases = []
    b, c = 7, 4
    logits = torch.randn(b, c, generator=G) * 2
    labels = torch.randint(0, c, (b,), generator=G)
    labels_ignored = labels.clone()
    labels_ignored[2] = -100
    labels_ignored[5] = -100
    labels_custom = labels.clone()
    labels_custom[1] = 1
    labels_custom[4] = 1
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0])

    def ce(**kw):
        return lambda r: nn.CrossEntropyLoss(reduction=r, **kw)

    for name, kw, y in [
        ("ce_plain", {}, labels),
        ("ce_weight", {"weight": weight}, labels),
        ("ce_ignore", {}, labels_ignored),
        ("ce_ignore_custom", {"ignore_index": 1}, labels_custom),
        ("ce_smoothing", {"label_smoothing": 0.2}, labels),
        ("ce_all", {"weight": weight, "label_smoothing": 0.15}, labels_ignored),
    ]:
        args = {"loss": "CrossEntropyLoss", "weight": kw["weight"].tolist() if "weight" in kw else None,
                "ignore_index": kw.get("ignore_index", -100), "label_smoothing": kw.get("label_smoothing", 0.0)}
        cases += loss_case(name, ce(**kw), logits, y, args, int_target=True)

    log_probs = torch.log_softmax(logits, dim=1)
    for name, kw, y in [
        ("nll_plain", {}, labels),
        ("nll_weight_ignore", {"weight": weight}, labels_ignored),
    ]:
        args = {"loss": "NLLLoss", "weight": kw["weight"].tolist() if "weight" in kw else None, "ignore_index": -100}
        cases += loss_case(name, lambda r, kw=kw: nn.NLLLoss(reduction=r, **kw), log_probs, y, args, int_target=True)

    k = 3
    z = torch.randn(b, k, generator=G) * 3
    z[0, 0] = 25.0   # large logits: the stable form
    z[1, 1] = -30.0
    t_bin = (torch.rand(b, k, generator=G) > 0.5).float()
    t_bin[0, 0] = 1.0
    t_bin[1, 1] = 1.0
    t_bin[2, 2] = 0.3  # soft target
    w_col = torch.tensor([1.0, 0.5, 2.0])
    w_full = torch.rand(b, k, generator=G) + 0.5
    pos = torch.tensor([3.0, 0.5, 1.5])
    for name, kw in [
        ("bcelogits_plain", {}),
        ("bcelogits_weight", {"weight": w_col}),
        ("bcelogits_weight_full", {"weight": w_full}),
        ("bcelogits_pos_weight", {"pos_weight": pos}),
        ("bcelogits_both", {"weight": w_col, "pos_weight": pos}),
    ]:
        args = {"loss": "BCEWithLogitsLoss", "weight": tj(kw["weight"]) if "weight" in kw else None,
                "pos_weight": kw["pos_weight"].tolist() if "pos_weight" in kw else None}
        cases += loss_case(name, lambda r, kw=kw: nn.BCEWithLogitsLoss(reduction=r, **kw), z, t_bin, args)

    p = torch.sigmoid(torch.randn(b, k, generator=G) * 2)
    p[0, 0] = 0.0   # log clamped at -100
    p[1, 1] = 1.0
    for name, kw in [("bce_plain", {}), ("bce_weight", {"weight": w_col})]:
        args = {"loss": "BCELoss", "weight": tj(kw["weight"]) if "weight" in kw else None}
        cases += loss_case(name, lambda r, kw=kw: nn.BCELoss(reduction=r, **kw), p, t_bin, args)

    x = torch.randn(b, k, generator=G) * 2
    t = torch.randn(b, k, generator=G) * 2
    t[0, 0] = x[0, 0]  # a tie: the L1 gradient is sign(0) = 0
    for name, make, args in [
        ("mse", lambda r: nn.MSELoss(reduction=r), {"loss": "MSELoss"}),
        ("l1", lambda r: nn.L1Loss(reduction=r), {"loss": "L1Loss"}),
        ("huber", lambda r: nn.HuberLoss(reduction=r), {"loss": "HuberLoss", "delta": 1.0}),
        ("huber_delta", lambda r: nn.HuberLoss(reduction=r, delta=0.5), {"loss": "HuberLoss", "delta": 0.5}),
        ("smoothl1", lambda r: nn.SmoothL1Loss(reduction=r), {"loss": "SmoothL1Loss", "beta": 1.0}),
        ("smoothl1_beta", lambda r: nn.SmoothL1Loss(reduction=r, beta=2.0), {"loss": "SmoothL1Loss", "beta": 2.0}),
        ("smoothl1_beta0", lambda r: nn.SmoothL1Loss(reduction=r, beta=0.0), {"loss": "SmoothL1Loss", "beta": 0.0}),
    ]:
        cases += loss_case(name, make, x, t, args)
    # A regression column: input [batch] against target [batch].
    cases += loss_case("mse_vector", lambda r: nn.MSELoss(reduction=r), x[:, 0].contiguous(), t[:, 0].contiguous(), {"loss": "MSELoss"})
    return cases


class LogSoftmaxNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        return self.logsoftmax(self.fc2(self.relu(self.fc1(x))))


def logsoftmax_net():
    torch.manual_seed(3)
    net = LogSoftmaxNet()
    x = torch.randn(9, 4, generator=G) * 2
    y = torch.randint(0, 3, (9,), generator=G)
    y[4] = -100
    loss_fn = nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 0.5]))
    out = net(x)
    loss = loss_fn(out, y)
    loss.backward()
    return {
        "state_dict": {k: tj(v) for k, v in net.state_dict().items()},
        "input": tj(x), "labels": y.tolist(), "weight": [1.0, 2.0, 0.5],
        "output": tj(out), "loss": float(loss.item()),
        "grads": {k: tj(p.grad) for k, p in net.named_parameters()},
    }


def clipping():
    shapes = [(3, 4), (4,), (2, 3)]
    grads = [torch.randn(*s, generator=G) * 3 for s in shapes]
    cases = []
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        for max_norm in (1.0, 1000.0):
            params = [torch.zeros(*s, requires_grad=True) for s in shapes]
            for p, g in zip(params, grads):
                p.grad = g.clone()
            total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
            cases.append({"norm_type": "inf" if math.isinf(norm_type) else norm_type, "max_norm": max_norm,
                          "total_norm": float(total), "grads": [tj(p.grad) for p in params]})
    params = [torch.zeros(*s, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(params, 0.5)
    return {"shapes": [list(s) for s in shapes], "grads": [tj(g) for g in grads], "norm": cases,
            "value": {"clip_value": 0.5, "grads": [tj(p.grad) for p in params]}}


def schedulers():
    steps = 100
    out = []

    def run(name, make_opt, make_sched, args, metrics=None):
        param = torch.zeros(2, requires_grad=True)
        opt = make_opt([param])
        sched = make_sched(opt)
        lrs = [sched.get_last_lr()[0] if hasattr(sched, "get_last_lr") and metrics is None else opt.param_groups[0]["lr"]]
        momenta = [momentum_of(opt)]
        for k in range(1, steps):
            param.grad = torch.zeros(2)
            opt.step()
            if metrics is None:
                sched.step()
                lrs.append(sched.get_last_lr()[0])
            else:
                sched.step(metrics[k - 1])
                lrs.append(opt.param_groups[0]["lr"])
            momenta.append(momentum_of(opt))
        case = {"name": name, **args, "lrs": lrs, "momenta": momenta}
        if metrics is not None:
            case["metrics"] = metrics[: steps - 1]
        out.append(case)

    def momentum_of(opt):
        g = opt.param_groups[0]
        return g["betas"][0] if "betas" in g else g["momentum"]

    sgd = lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)
    adam = lambda ps: torch.optim.Adam(ps, lr=0.01)
    sgd_args = {"optimizer": "SGD", "lr": 0.1, "momentum": 0.9}
    adam_args = {"optimizer": "Adam", "lr": 0.01}
    S = torch.optim.lr_scheduler
    run("StepLR", sgd, lambda o: S.StepLR(o, step_size=7, gamma=0.5), {**sgd_args, "step_size": 7, "gamma": 0.5})
    run("MultiStepLR", sgd, lambda o: S.MultiStepLR(o, milestones=[10, 30, 30, 75], gamma=0.3),
        {**sgd_args, "milestones": [10, 30, 30, 75], "gamma": 0.3})
    run("ExponentialLR", adam, lambda o: S.ExponentialLR(o, gamma=0.96), {**adam_args, "gamma": 0.96})
    run("CosineAnnealingLR", sgd, lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
        {**sgd_args, "T_max": 30, "eta_min": 0.001})
    run("LinearLR", adam, lambda o: S.LinearLR(o, start_factor=0.05, end_factor=1.0, total_iters=20),
        {**adam_args, "start_factor": 0.05, "end_factor": 1.0, "total_iters": 20})
    run("LinearLR_decay", sgd, lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=60),
        {**sgd_args, "start_factor": 1.0, "end_factor": 0.2, "total_iters": 60})
    run("OneCycleLR", adam, lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=100), {**adam_args, "max_lr": 0.1, "total_steps": 100})
    run("OneCycleLR_sgd_linear_three_phase", sgd,
        lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=100, pct_start=0.25, anneal_strategy="linear", three_phase=True),
        {**sgd_args, "max_lr": 0.5, "total_steps": 100, "pct_start": 0.25, "anneal_strategy": "linear", "three_phase": True})
    metrics = [max(1.0 - 0.04 * k, 0.4) + 0.001 * ((k * 7) % 5) for k in range(steps)]
    run("ReduceLROnPlateau", sgd,
        lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=3, threshold=1e-3, cooldown=2, min_lr=0.004),
        {**sgd_args, "mode": "min", "factor": 0.5, "patience": 3, "threshold": 1e-3, "cooldown": 2, "min_lr": 0.004}, metrics)

    def warmup_cosine(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(o, T_max=90, eta_min=1e-4)],
                              milestones=[10])
    run("SequentialLR", sgd, warmup_cosine, {**sgd_args, "description": "LinearLR(0.1, 10) then CosineAnnealingLR(90, 1e-4) at 10"})

    # SGD created without momentum: OneCycleLR switches it on (0.95 at once); the parameters after each step show that
    # the momentum buffer starts at the first step (buf = grad), as PyTorch's momentum_buffer is None until then.
    param = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.2, total_steps=20)
    lrs, momenta, params = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]], []
    for k in range(1, 20):
        param.grad = torch.tensor([1.0, -2.0]) * (1 + 0.1 * k)
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
        params.append([float(v) for v in param.detach().tolist()])
    out.append({"name": "OneCycleLR_sgd_without_momentum", "optimizer": "SGD", "lr": 0.1, "momentum": 0.0, "max_lr": 0.2,
                "total_steps": 20, "lrs": lrs, "momenta": momenta, "params": params})

    def exp_step(o):
        return S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.9), S.StepLR(o, step_size=10, gamma=0.5)], milestones=[30])
    run("SequentialLR_exp_step", adam, exp_step, {**adam_args, "description": "ExponentialLR(0.9) then StepLR(10, 0.5) at 30"})
    return out


def main():
    global G
    torch.set_num_threads(1)
    G = torch.Generator().manual_seed(10)
    data = {"torch": torch.__version__, "losses": losses(), "logsoftmax_net": logsoftmax_net(), "clipping": clipping()}
    with open(os.path.join(FIXTURES, "parity_losses.json"), "w") as f:
        json.dump(data, f, indent=1)
    with open(os.path.join(FIXTURES, "parity_schedulers.json"), "w") as f:
        json.dump({"torch": torch.__version__, "schedulers": schedulers()}, f, indent=1)
    print("wrote", FIXTURES)


if __name__ == "__main__":
    main()
