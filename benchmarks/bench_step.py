"""Cost of one parameter-GD step at high precision, relative to float64 (measured in the same run, medians).

Times ``catapult.numerics.gd.run_gd(..., steps=K, record=False, gtol=0)`` for the uv model with the squared
loss, minus a ``steps=0`` run (initialisation), divided by K; the median over repeats is reported.
eta*lam0 = 0.01 so the run neither converges nor runs away and every step costs the same.  Also a *bare* numpy
float64 step (the same arithmetic without the toolkit: one dot, two scalings, two norms, two axpy's) and the
peak memory (tracemalloc) of a 50-digit fixed-point run.

    python benchmarks/bench_step.py [--repeats 7] [--quick]

Prints medians (seconds per step) and ratios only; the machine may be shared, so only ratios within a run mean
anything.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc

import numpy as np

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


def bare_numpy_step(width, steps, repeats):
    """The uv step in plain numpy float64 (what the toolkit's float64 step should cost)."""
    m = UVModel(width, seed=0)
    inv = 1 / math.sqrt(width)
    per_step = []
    for _ in range(repeats):
        u, v = m.u0.copy(), m.v0.copy()
        eta = X / ((u @ u + v @ v) / width)
        t0 = time.perf_counter()
        for _ in range(steps):
            f = float(u @ v) * inv
            gu, gv = v * inv, u * inv
            lam = float(gu @ gu) + float(gv @ gv)
            c = eta * f
            u, v = u - c * gu, v - c * gv
        per_step.append((time.perf_counter() - t0) / steps)
    assert math.isfinite(lam)
    return statistics.median(per_step)


def peak_memory(width, backend, steps=5):
    tracemalloc.start()
    run_gd(UVModel(width, seed=0), squared(), eta_lam0=X, steps=steps, backend=backend, record=False, gtol=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="skip the slow arb/mpmath rows")
    args = ap.parse_args(argv)
    r = args.repeats
    f64, fixed = get_backend("float64"), get_backend("fixed", 50)
    med = {}
    for width, k64, kfx in [(256, 2000, 400), (4096, 400, 100), (65536, 40, 10)]:
        med["bare", width] = bare_numpy_step(width, k64, r)
        med["float64", width] = seconds_per_step(width, f64, k64, r)
        med["fixed50", width] = seconds_per_step(width, fixed, kfx, r)
    if not args.quick:
        med["arb50", 4096] = seconds_per_step(4096, get_backend("arb", 50), 40, r)
        med["mpmath50", 4096] = seconds_per_step(4096, get_backend("mpmath", 50), 4, max(3, r // 2))
    for (label, width), sec in med.items():
        print(f"median step  n={width:6d}  {label:10s} {sec:.3e} s")
    print()
    for width in (256, 4096, 65536):
        print(f"ratio  n={width:6d}  fixed50 / bare numpy = {med['fixed50', width] / med['bare', width]:7.1f}   "
              f"fixed50 / toolkit float64 = {med['fixed50', width] / med['float64', width]:6.1f}")
    print(f"ratio  n=  4096  toolkit float64 / bare numpy = {med['float64', 4096] / med['bare', 4096]:.2f}")
    for label in ("arb50", "mpmath50"):
        if (label, 4096) in med:
            print(f"ratio  n=  4096  {label} / bare numpy = {med[label, 4096] / med['bare', 4096]:.1f}")
    for width in (4096, 65536):
        mib = [peak_memory(width, B) / 2 ** 20 for B in (f64, fixed)]
        print(f"peak memory  n={width:6d}  float64 {mib[0]:.2f} MiB  fixed50 {mib[1]:.2f} MiB (tracemalloc)")


if __name__ == "__main__":
    main()
