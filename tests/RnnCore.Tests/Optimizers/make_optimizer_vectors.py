#!/usr/bin/python3
"""Writes optimizer-vectors.json: optimizer trajectories and clipping results computed by real PyTorch in float64.

Run from anywhere with the system PyTorch (Debian bookworm: `apt-get install python3-torch`, PyTorch 1.13.1):

    /usr/bin/python3 tests/RnnCore.Tests/Optimizers/make_optimizer_vectors.py

Every trajectory has three tensors of different lengths and six steps. The gradients are given explicitly per step
(seeded random values, with a per-step scale so that the squared-gradient averages also shrink, which is what makes
amsgrad's running maximum matter, and with one exact zero). `learning_rates[k]` is the learning rate in force for
step k: the test sets it on the optimizer before step k, as a scheduler would set `param_groups[0]['lr']`.
The expected values are the parameters after each step, as PyTorch's own torch.optim computes them.
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)

NAMES = ["Wx", "Wh", "bh"]
LENGTHS = [7, 4, 3]
STEPS = 6
# Gradient scale per step: grows, then shrinks a lot (amsgrad keeps the old maximum, plain Adam does not).
SCALES = [1.0, 2.0, 0.3, 0.1, 1.5, 0.05]


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    initial = [torch.randn(n, generator=g) for n in LENGTHS]
    gradients = []
    for k in range(STEPS):
        step = [SCALES[k] * torch.randn(n, generator=g) for n in LENGTHS]
        step[1][2] = 0.0  # an exact zero gradient element (Adagrad/RMSprop divide by sqrt(state) + eps)
        gradients.append(step)
    return initial, gradients


def run(name, optimizer, options, seed, lr_changes=None):
    initial, gradients = make_inputs(seed)
    params = [torch.nn.Parameter(t.clone()) for t in initial]
    constructor = {
        "sgd": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
    }[optimizer]
    opt = constructor(params, **options)
    learning_rates = []
    expected = []
    for k in range(STEPS):
        if lr_changes and k in lr_changes:
            opt.param_groups[0]["lr"] = lr_changes[k]
        learning_rates.append(opt.param_groups[0]["lr"])
        for p, grad in zip(params, gradients[k]):
            p.grad = grad.clone()
        opt.step()
        expected.append([p.detach().tolist() for p in params])
    return {
        "name": name,
        "optimizer": optimizer,
        "options": options,
        "names": NAMES,
        "initial": [t.tolist() for t in initial],
        "gradients": [[t.tolist() for t in step] for step in gradients],
        "learning_rates": learning_rates,
        "expected": expected,
    }


def optimizer_cases():
    lr_schedule = {2: 0.05, 4: 0.02}
    return [
        run("sgd-plain", "sgd", {"lr": 0.1}, 1),
        run("sgd-momentum", "sgd", {"lr": 0.1, "momentum": 0.9}, 2),
        run("sgd-momentum-dampening", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}, 3),
        run("sgd-nesterov", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, 4),
        run("sgd-weight-decay", "sgd", {"lr": 0.1, "weight_decay": 0.01}, 5),
        run("sgd-all", "sgd", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}, 6),
        run("sgd-lr-schedule", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}, 7, lr_schedule),
        run("adagrad-default", "adagrad", {"lr": 0.01}, 11),
        run("adagrad-lr-decay", "adagrad", {"lr": 0.1, "lr_decay": 0.25}, 12),
        run("adagrad-weight-decay", "adagrad", {"lr": 0.1, "weight_decay": 0.1}, 13),
        run("adagrad-initial-accumulator", "adagrad", {"lr": 0.1, "initial_accumulator_value": 0.3}, 14),
        run("adagrad-all", "adagrad",
            {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6},
            15, lr_schedule),
        run("rmsprop-default", "rmsprop", {"lr": 0.01}, 21),
        run("rmsprop-alpha", "rmsprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}, 22),
        run("rmsprop-weight-decay", "rmsprop", {"lr": 0.01, "weight_decay": 0.1}, 23),
        run("rmsprop-momentum", "rmsprop", {"lr": 0.01, "momentum": 0.9}, 24),
        run("rmsprop-centered", "rmsprop", {"lr": 0.01, "centered": True}, 25),
        run("rmsprop-all", "rmsprop",
            {"lr": 0.01, "alpha": 0.95, "weight_decay": 0.05, "momentum": 0.5, "centered": True}, 26, lr_schedule),
        run("adam-default", "adam", {"lr": 0.001}, 31),
        run("adam-betas", "adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, 32),
        run("adam-weight-decay", "adam", {"lr": 0.01, "weight_decay": 0.1}, 33),
        run("adam-amsgrad", "adam", {"lr": 0.01, "amsgrad": True}, 34),
        run("adam-all", "adam",
            {"lr": 0.01, "betas": (0.85, 0.995), "weight_decay": 0.05, "amsgrad": True}, 35, lr_schedule),
    ]


def clipping_cases():
    cases = []
    for name, seed, scale, mode, threshold in [
        ("norm-clipped", 41, 3.0, "norm", 1.0),
        ("norm-not-clipped", 42, 0.1, "norm", 5.0),
        ("norm-just-above", 43, 1.0, "norm", 2.5),
        ("value-clipped", 44, 3.0, "value", 0.5),
        ("value-not-clipped", 45, 0.1, "value", 5.0),
    ]:
        g = torch.Generator().manual_seed(seed)
        grads = [scale * torch.randn(n, generator=g) for n in LENGTHS]
        params = [torch.nn.Parameter(torch.zeros(n)) for n in LENGTHS]
        for p, grad in zip(params, grads):
            p.grad = grad.clone()
        total = torch.sqrt(sum((grad * grad).sum() for grad in grads)).item()
        if mode == "norm":
            total = torch.nn.utils.clip_grad_norm_(params, threshold).item()
        else:
            torch.nn.utils.clip_grad_value_(params, threshold)
        cases.append({
            "name": name,
            "mode": mode,
            "threshold": threshold,
            "names": NAMES,
            "gradients": [t.tolist() for t in grads],
            "expected_norm": total,
            "expected": [p.grad.tolist() for p in params],
        })
    return cases


def main():
    document = {
        "generator": "tests/RnnCore.Tests/Optimizers/make_optimizer_vectors.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "optimizers": optimizer_cases(),
        "clipping": clipping_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizer-vectors.json")
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(document['optimizers'])} optimizer cases, {len(document['clipping'])} clipping cases")


if __name__ == "__main__":
    main()
