"""Cost of one parameter-GD step at high precision, relative to float64 (measured in the same run).

Times ``catapult.numerics.gd.run_gd(..., steps=K, record=False, gtol=0)`` for the uv model with the squared
loss, minus a ``steps=0`` run (initialisation), divided by K; the median over repeats is reported.
eta*lam0 = 0.01 so the run neither converges nor runs away and every step costs the same.

    python benchmarks/bench_step.py [--repeats 7]

Prints medians (seconds per step) and ratios only.
"""

from __future__ import annotations

import argparse
import statistics
import time

from catapult.numerics.backends import get_backend
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.models import UVModel

X = 0.01


def seconds_per_step(width, backend, steps, repeats):
    model, loss = UVModel(width, seed=0), squared()
    run_gd(model, loss, eta_lam0=X, steps=min(steps, 3), backend=backend, record=False, gtol=0)  # warm-up
    per_step = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_gd(model, loss, eta_lam0=X, steps=0, backend=backend, record=False, gtol=0)
        t1 = time.perf_counter()
        tr = run_gd(model, loss, eta_lam0=X, steps=steps, backend=backend, record=False, gtol=0)
        t2 = time.perf_counter()
        if tr.steps != steps:
            raise RuntimeError(f"run stopped early ({tr.stop}) at step {tr.steps}")
        per_step.append(((t2 - t1) - (t1 - t0)) / steps)
    return statistics.median(per_step)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    r = args.repeats
    cases = [
        # label, width, backend, steps per timed run
        ("float64", 4096, get_backend("float64"), 400),
        ("arb 50 digits", 4096, get_backend("arb", 50), 40),
        ("arb 50 digits certified", 4096, get_backend("arb", 50, certified=True), 40),
        ("float64", 1024, get_backend("float64"), 400),
        ("mpmath 50 digits", 1024, get_backend("mpmath", 50), 8),
    ]
    med = {}
    for label, width, B, steps in cases:
        med[(label, width)] = seconds_per_step(width, B, steps, r)
        print(f"median step  n={width:5d}  {label:26s} {med[(label, width)]:.3e} s")
    print()
    for label, width in [("arb 50 digits", 4096), ("arb 50 digits certified", 4096), ("mpmath 50 digits", 1024)]:
        ratio = med[(label, width)] / med[("float64", width)]
        print(f"ratio  n={width:5d}  {label:26s} / float64 = {ratio:8.1f}")


if __name__ == "__main__":
    main()
