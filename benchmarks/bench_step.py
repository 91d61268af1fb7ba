"""Cost of one parameter-GD step at high precision, relative to float64 (measured in the same run, medians).

Times ``catapult.numerics.gd.run_gd(..., steps=K, record=False, gtol=0)`` for the uv model with the squared
loss, minus a ``steps=0`` run (initialisation), divided by K; the median over repeats is reported.
eta*lam0 = 0.01 so the run neither converges nor runs away and every step costs the same.  Also a *bare* numpy
float64 step (the same arithmetic without the toolkit: one dot, two scalings, two norms, two axpy's) and the
peak memory (tracemalloc) of a 50-digit fixed-point run.  The same for deep linear networks at full width
(isometric init, depth L = 4 and 7, n = 64, 256, 1024: n x n matrices, O(L n^2) work a step), against a bare
numpy deep step (matrix-vector products forward and back, outer-product updates).

    python benchmarks/bench_step.py [--repeats 7] [--quick] [--no-deep]

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
from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.models import UVModel

X = 0.01


def seconds_per_step(width, backend, steps, repeats, model=None):
    model, loss = model or UVModel(width, seed=0), squared()
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


def bare_deep_step(model, steps, repeats):
    """The deep linear step in plain numpy float64: h_l = W_l h_(l-1)/sqrt(n) forward, b_l = W^T b_(l+1)/sqrt(n)
    back, lam from the norms, every matrix moved by its outer product (what the toolkit's float64 step does)."""
    n, inv = model.width, 1 / math.sqrt(model.width)
    per_step = []
    for _ in range(repeats):
        w1, Ws, wL = model.w1.copy(), [W.copy() for W in model.W0], model.wL.copy()
        eta = None
        t0 = time.perf_counter()
        for _ in range(steps):
            hs = [w1]
            for W in Ws:
                hs.append((W @ hs[-1]) * inv)
            f = float(wL @ hs[-1]) * inv
            bs = [wL * inv]
            for W in reversed(Ws):
                bs.append((W.T @ bs[-1]) * inv)
            bs = bs[::-1]
            lam = float(bs[0] @ bs[0]) + sum(float(b @ b) * float(h @ h) for b, h in zip(bs[1:], hs)) / n
            gL = hs[-1] * inv
            lam += float(gL @ gL)
            if eta is None:
                eta = X / lam
            c = eta * f
            w1 = w1 - c * bs[0]
            Ws = [W - (c * inv) * np.outer(b, h) for W, b, h in zip(Ws, bs[1:], hs)]
            wL = wL - c * gL
        per_step.append((time.perf_counter() - t0) / steps)
    assert math.isfinite(lam)
    return statistics.median(per_step)


def deep_rows(r, quick):
    """Medians of a deep step (float64, fixed50, arb50 at n <= 256 unless quick) and the bare numpy step."""
    f64, fixed, arb = get_backend("float64"), get_backend("fixed", 50), get_backend("arb", 50)
    med = {}
    for width, k64, kfx in [(64, 400, 100), (256, 100, 20), (1024, 10, 3)]:
        for depth in (4, 7):
            m = DeepLinearModel(width, depth, seed=0, init="isometric")
            med["bare", width, depth] = bare_deep_step(m, k64, r)
            med["float64", width, depth] = seconds_per_step(width, f64, k64, r, m)
            med["fixed50", width, depth] = seconds_per_step(width, fixed, kfx, r, m)
            if not quick and width <= 256:
                med["arb50", width, depth] = seconds_per_step(width, arb, max(2, kfx // 10), max(3, r // 2), m)
    for (label, width, depth), sec in med.items():
        print(f"median deep step  L={depth}  n={width:5d}  {label:10s} {sec:.3e} s")
    print()
    for (label, width, depth), sec in med.items():
        if label in ("fixed50", "arb50"):
            print(f"ratio  deep L={depth}  n={width:5d}  {label} / bare numpy = {sec / med['bare', width, depth]:6.1f}"
                  f"   {label} / toolkit float64 = {sec / med['float64', width, depth]:6.1f}")
    print()


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
    ap.add_argument("--no-deep", action="store_true", help="skip the deep linear rows")
    args = ap.parse_args(argv)
    r = args.repeats
    if not args.no_deep:
        deep_rows(r, args.quick)
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
