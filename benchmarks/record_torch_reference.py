"""Record torch.optim's trajectories for optviz's methods to be checked against.

Run once, with torch installed (it is not an optviz dependency):

    pip install torch==2.13.0   # the CPU wheel
    python benchmarks/record_torch_reference.py

It writes ``tests/data/torch_reference.npz``, which ``tests/test_torch_reference.py``
reads without torch. Each case is one optimizer of ``torch.optim`` (float64,
non-default hyperparameters, maybe a ``torch.optim.lr_scheduler``) stepped
from two starts on one surface for 300 updates, each start one parameter
tensor whose ``.grad`` is set to optviz's own gradient of the surface (so
that the update rules alone are compared, not two ways of differentiating).
The file holds, per case, θ after every update and the learning rate torch
used for it, and the cases themselves as JSON: the optviz method, its
hyperparameters in optviz's keys (``lr`` maybe a schedule, as a config writes
it), the surface and the starts.

torch is run with ``ATEN_CPU_CAPABILITY=default``: its baseline kernels,
which round every multiplication and addition as NumPy does. Its AVX2 and
AVX-512 kernels fuse some multiply-adds, which changes the last bits from
one machine to another; ``--native`` records with them instead, and
``--compare`` prints how far such a recording is from the stored file (it
does not write it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "torch_reference.npz"
ITERATIONS = 300
STARTS = {"beale": [[2.0, -2.0], [-3.0, 3.0]], "rosenbrock": [[-1.2, 1.0], [1.5, -0.5]]}

# (case, optviz method, its hyperparameters as a config gives them; a value
# {surface: value} is per surface: Beale's gradient is 14,000 long at
# (−3, 3), so plain steps there must be short)
METHOD_CASES = [
    ("sgd-momentum", "sgd",
     {"lr": {"beale": 1e-5, "rosenbrock": 2e-4}, "momentum": 0.8, "dampening": 0.1,
      "weight_decay": 0.01}),
    ("sgd-nesterov", "sgd",
     {"lr": {"beale": 1e-5, "rosenbrock": 1e-4}, "momentum": 0.9, "nesterov": True}),
    ("sgd-plain", "sgd",
     {"lr": {"beale": 1e-4, "rosenbrock": 5e-4}, "weight_decay": 0.02}),
    ("adam_torch", "adam_torch",
     {"lr": {"beale": 0.05, "rosenbrock": 0.02}, "beta1": 0.8, "beta2": 0.99,
      "eps": 1e-6, "weight_decay": 1e-3}),
    ("adam_torch-amsgrad", "adam_torch",
     {"lr": 0.05, "beta1": 0.85, "beta2": 0.98, "eps": 1e-7, "amsgrad": True}),
    ("adamw", "adamw",
     {"lr": {"beale": 0.05, "rosenbrock": 0.03}, "beta1": 0.85, "beta2": 0.995,
      "eps": 1e-7, "weight_decay": 0.05}),
    ("adamw-amsgrad", "adamw",
     {"lr": 0.04, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1, "amsgrad": True}),
    ("nadam", "nadam",
     {"lr": 0.02, "beta1": 0.85, "beta2": 0.99, "eps": 1e-6, "weight_decay": 1e-3,
      "momentum_decay": 0.01}),
    ("nadam-decoupled", "nadam",
     {"lr": 0.03, "beta1": 0.9, "beta2": 0.995, "weight_decay": 0.05,
      "decoupled_weight_decay": True}),
    # RAdam's first updates (ρ_t ≤ 5) are plain momentum steps, ε·m̂
    ("radam", "radam",
     {"lr": {"beale": 2e-5, "rosenbrock": 1e-4}, "beta1": 0.8, "beta2": 0.9,
      "eps": 1e-6, "weight_decay": 1e-3}),
    ("radam-decoupled", "radam",
     {"lr": {"beale": 2e-5, "rosenbrock": 1e-4}, "beta1": 0.85, "beta2": 0.95,
      "weight_decay": 0.05, "decoupled_weight_decay": True}),
    ("adamax", "adamax",
     {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 1e-3}),
    ("adadelta", "adadelta",
     {"lr": {"beale": 0.5, "rosenbrock": 0.2},
      "rho": {"beale": 0.8, "rosenbrock": 0.95}, "eps": 1e-5, "weight_decay": 1e-3}),
]  # fmt: skip

# Learning-rate schedules, on the lecture's gd (torch.optim.SGD's plain step
# is gd's, operation for operation) and on function pairs.
SCHEDULE_CASES = [
    ("gd-linear", "gd",
     {"schedule": "linear", "from": 2e-4, "to": 5e-5, "steps": 200}),
    ("gd-step", "gd", {"schedule": "step", "from": 2e-4, "gamma": 0.5, "every": 70}),
    ("gd-exponential", "gd", {"schedule": "exponential", "from": 2e-4, "gamma": 0.99}),
    ("gd-cosine", "gd",
     {"schedule": "cosine", "from": 2e-4, "to": 2e-5, "steps": ITERATIONS}),
    ("gd-warmup", "gd", {"schedule": "warmup", "from": 1e-5, "to": 2e-4, "steps": 60}),
    ("gd-cyclic", "gd",
     {"schedule": "cyclic", "from": 5e-5, "to": 2e-4, "up": 40, "down": 60}),
    ("gd-linear-warmup", "gd",
     {"schedule": "linear", "from": 2e-4, "to": 2e-5, "steps": 250, "warmup": 50,
      "warmup_from": 4e-5}),
    ("gd-step-warmup", "gd",
     {"schedule": "step", "from": 2e-4, "gamma": 0.7, "every": 50, "warmup": 30,
      "warmup_from": 1e-5}),
    ("adamw-cosine-warmup", "adamw",
     {"schedule": "cosine", "from": 0.08, "to": 1e-3, "steps": ITERATIONS,
      "warmup": 40, "warmup_from": 4e-3}),
    ("sgd-nesterov-exponential", "sgd",
     {"schedule": "exponential", "from": 1e-5, "gamma": 0.995}),
    ("nadam-cyclic", "nadam",
     {"schedule": "cyclic", "from": 5e-3, "to": 0.05, "up": 50}),
]  # fmt: skip
SCHEDULED_PARAMS = {
    "adamw": {"beta1": 0.85, "beta2": 0.99, "weight_decay": 0.02},
    "sgd": {"momentum": 0.9, "nesterov": True},
    "nadam": {"beta1": 0.85, "beta2": 0.99},
}


def cases() -> list[dict]:
    out = []
    for surface, starts in STARTS.items():
        for name, method, given in METHOD_CASES:
            params = {k: v[surface] if isinstance(v, dict) else v
                      for k, v in given.items()}  # fmt: skip
            out.append(dict(name=f"{name}/{surface}", method=method, params=params,
                            surface=surface, starts=starts))  # fmt: skip
        for name, method, schedule in SCHEDULE_CASES:
            params = {**SCHEDULED_PARAMS.get(method, {}), "lr": schedule}
            out.append(dict(name=f"{name}/{surface}", method=method, params=params,
                            surface=surface, starts=starts))  # fmt: skip
    return out


TORCH_CLASSES = {
    "sgd": "SGD", "adam_torch": "Adam", "adamw": "AdamW", "nadam": "NAdam",
    "radam": "RAdam", "adamax": "Adamax", "adadelta": "Adadelta",
}  # fmt: skip


def torch_defaults(torch) -> dict[str, dict]:
    """Each class's defaults in optviz's keys (betas → beta1, beta2), from
    its signature: what the registry's defaults are checked against."""
    import inspect

    out = {}
    for method, name in TORCH_CLASSES.items():
        signature = inspect.signature(getattr(torch.optim, name).__init__)
        found = {}
        for key, p in signature.parameters.items():
            if p.default is inspect.Parameter.empty or key in ("params", "self"):
                continue
            if key == "betas":
                found["beta1"], found["beta2"] = map(float, p.default)
            elif isinstance(p.default, bool | int | float) or p.default is None:
                found[key] = p.default
        out[method] = found
    return out


def optimizer(torch, method: str, params: dict, tensors, lr: float):
    """The torch.optim optimizer of an optviz method with these hyperparameters."""
    p = {k: v for k, v in params.items() if k != "lr"}
    betas = (p.pop("beta1", None), p.pop("beta2", None))
    kw = dict(lr=lr, foreach=False, maximize=False)
    if betas != (None, None):
        # optviz's defaults for a beta not given are torch's
        kw["betas"] = (0.9 if betas[0] is None else betas[0],
                       0.999 if betas[1] is None else betas[1])  # fmt: skip
    make = {
        "gd": torch.optim.SGD,
        **{m: getattr(torch.optim, name) for m, name in TORCH_CLASSES.items()},
    }[method]
    return make(tensors, **kw, **p)


def scheduler(torch, opt, s: dict):
    """The torch.optim.lr_scheduler that gives the optviz schedule ``s``."""
    sched = torch.optim.lr_scheduler
    kind, warmup = s["schedule"], s.get("warmup", 0)
    main_steps = s.get("steps", 0) - warmup
    if kind == "linear":
        main = sched.LinearLR(opt, start_factor=1.0, end_factor=s["to"] / s["from"],
                              total_iters=main_steps)  # fmt: skip
    elif kind == "step":
        main = sched.StepLR(opt, step_size=s["every"], gamma=s.get("gamma", 0.1))
    elif kind == "exponential":
        main = sched.ExponentialLR(opt, gamma=s["gamma"])
    elif kind == "cosine":
        main = sched.CosineAnnealingLR(opt, T_max=main_steps, eta_min=s.get("to", 0))
    elif kind == "warmup":
        return sched.LinearLR(opt, start_factor=s["from"] / s["to"], end_factor=1.0,
                              total_iters=s["steps"])  # fmt: skip
    elif kind == "cyclic":
        return sched.CyclicLR(opt, base_lr=s["from"], max_lr=s["to"],
                              step_size_up=s["up"], step_size_down=s.get("down"),
                              mode="triangular", cycle_momentum=False)  # fmt: skip
    else:
        raise ValueError(kind)
    if not warmup:
        return main
    ramp = sched.LinearLR(opt, start_factor=s["warmup_from"] / s["from"],
                          end_factor=1.0, total_iters=warmup)  # fmt: skip
    return sched.SequentialLR(opt, [ramp, main], milestones=[warmup])


def first_lr(s) -> float:
    """The lr the optimizer is made with: the schedule's base."""
    if not isinstance(s, dict):
        return float(s)
    return s["to"] if s["schedule"] == "warmup" else s["from"]


def record(case: dict) -> tuple[np.ndarray, np.ndarray]:
    import torch

    from optviz.surfaces import SURFACES

    grad = SURFACES[case["surface"]].grad
    lr = case["params"]["lr"]
    tensors = [torch.tensor(s, dtype=torch.float64, requires_grad=True)
               for s in case["starts"]]  # fmt: skip
    opt = optimizer(torch, case["method"], case["params"], tensors, first_lr(lr))
    sched = scheduler(torch, opt, lr) if isinstance(lr, dict) else None
    theta = np.empty((ITERATIONS + 1, len(tensors), 2))
    rates = np.empty(ITERATIONS)
    theta[0] = case["starts"]
    for k in range(ITERATIONS):
        g = grad(theta[k])  # all rows at once, as optviz's block takes it
        for tensor, row in zip(tensors, g):
            tensor.grad = torch.tensor(row, dtype=torch.float64)
        rates[k] = opt.param_groups[0]["lr"]
        opt.step()
        if sched is not None:
            sched.step()
        theta[k + 1] = [t.detach().numpy() for t in tensors]
    return theta, rates


def conditioning(case: dict) -> float:
    """How far optviz's own run of ``case`` moves, relative to ‖θ‖, when every
    gradient is off by one rounding (× (1 ± 2⁻⁵²)): a case that amplifies
    rounding would test luck, not the update rule, and is refused."""
    from optviz.optim import lr_schedules
    from optviz.optim.methods import METHODS
    from optviz.optim.runner import step_all
    from optviz.surfaces import SURFACES

    params = dict(case["params"])
    if isinstance(params["lr"], dict):
        settings = dict(params["lr"])
        params["lr"] = lr_schedules.make(settings.pop("schedule"), settings)
    hp = METHODS[case["method"]].build(params)
    grad, starts = SURFACES[case["surface"]].grad, np.array(case["starts"])
    exact = step_all(grad, [hp], starts, ITERATIONS)[:, 0]
    worst = 0.0
    for off in (2.0**-52, -(2.0**-52)):
        moved = step_all(lambda p, o=off: grad(p) * (1 + o), [hp], starts, ITERATIONS)
        gap = np.linalg.norm(moved[:, 0] - exact, axis=-1)
        worst = max(worst, float(np.max(gap / np.linalg.norm(exact, axis=-1))))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--native",
        action="store_true",
        help="torch's kernels for this CPU (fused multiply-adds)",
    )
    parser.add_argument("--compare", action="store_true",
                        help="print the largest relative difference from the "
                        "stored file instead of writing it")  # fmt: skip
    args = parser.parse_args()
    if not args.native and os.environ.get("ATEN_CPU_CAPABILITY") != "default":
        # must be set before torch is imported: run again with it
        env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    import warnings

    import torch

    warnings.filterwarnings("ignore", category=UserWarning)  # SequentialLR's
    torch.set_default_dtype(torch.float64)  # the step counters, NAdam's μ product
    print(f"torch {torch.__version__}, kernels "
          f"{torch.backends.cpu.get_cpu_capability()}")  # fmt: skip
    all_cases = cases()
    data = {}
    worst = 0.0
    for case in all_cases:
        theta, rates = record(case)
        assert np.all(np.isfinite(theta)), case["name"]
        spread = conditioning(case)
        assert spread < 1e-13, f"{case['name']} amplifies rounding: {spread:.2g}"
        worst = max(worst, spread)
        data[f"{case['name']}:theta"] = theta
        data[f"{case['name']}:lr"] = rates
    if args.compare:
        stored = np.load(OUT)
        worst = 0.0
        for key, value in data.items():
            ref = stored[key]
            rel = np.max(np.abs(value - ref) / np.maximum(np.abs(ref), 1e-300))
            worst = max(worst, rel)
            print(f"  {key:<44} {rel:.3g}")
        print(f"largest relative difference: {worst:.3g}")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "iterations": ITERATIONS, "cases": all_cases,
            "defaults": torch_defaults(torch)}  # fmt: skip
    np.savez_compressed(OUT, cases=np.array(json.dumps(meta)), **data)
    print(f"wrote {len(all_cases)} cases to {OUT.relative_to(ROOT)} "
          f"({OUT.stat().st_size / 1024:.0f} KiB); one rounding in every gradient "
          f"moves a path by at most {worst:.2g} of |θ|")  # fmt: skip


if __name__ == "__main__":
    main()
