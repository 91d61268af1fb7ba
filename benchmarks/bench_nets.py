"""Benchmark: a c-sweep x seeds of a 2-layer ReLU net on digits (m = 256): wall time vmapped vs a per-run loop, and
the per-step cost of the JAX step vs a numpy float64 implementation of the same step (ratios within one run).

    python benchmarks/bench_nets.py            # 34 c values x 3 seeds, n = 2048, <= 2000 steps (long: ~1 h here)
    python benchmarks/bench_nets.py --quick    # 6 c values x 1 seed, n = 256, <= 200 steps
    python benchmarks/bench_nets.py --steps 200             # the full 34 c x 3 seeds, n = 2048, a smaller budget
    python benchmarks/bench_nets.py --steps 200 --width 512  # ... and a narrower net

``--steps`` / ``--width`` override the step budget and the width of either configuration (the printed header says
which were used).  The per-step ratio is measured on 100 steps whatever the budget.
"""

import argparse
import statistics
import time

import numpy as np

from catapult.numerics import nets as N
from catapult.verify.net_data import load_task


def numpy_step(W1, W2, X, y, eta):
    """One GD step of f = W2 relu(W1 x/sqrt(d))/sqrt(n) under 1/(2m) sum (f - y)^2, by hand in numpy float64."""
    m, d = X.shape
    n = W1.shape[0]
    z = X @ W1.T / np.sqrt(d)
    h = np.maximum(z, 0)
    f = h @ W2[0] / np.sqrt(n)
    r = (f - y) / m
    gW2 = (r @ h)[None, :] / np.sqrt(n)
    gz = np.outer(r, W2[0] / np.sqrt(n)) * (z > 0)
    gW1 = gz.T @ X / np.sqrt(d)
    return W1 - eta * gW1, W2 - eta * gW2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--steps", type=int, default=None, help="step budget of the sweep (default 2000; 200 quick)")
    ap.add_argument("--width", type=int, default=None, help="hidden width n (default 2048; 256 quick)")
    a = ap.parse_args()
    n, ncs, seeds, steps = (256, 6, [0], 200) if a.quick else (2048, 34, [0, 1, 2], 2000)
    if a.steps is not None:
        if a.steps < 1:
            ap.error("--steps must be >= 1")
        steps = a.steps
    if a.width is not None:
        if a.width < 1:
            ap.error("--width must be >= 1")
        n = a.width
    ds = load_task("digits", "even-odd", m=256)
    net = N.Net(2, n, "relu")
    cs = np.linspace(0.5, 17.0, ncs)
    ps = [N.init(net, 64, s) for s in seeds]
    lam0 = [N.ntk_top(net, p, ds.X) for p in ps]
    batch = N.stack([p for p in ps for _ in cs])
    etas = np.array([c / l for l in lam0 for c in cs])
    N.run_gd(net, N.stack([ps[0]]), ds.X, ds.y, etas[:1], steps=1)  # compile the batch-1 step once
    t0 = time.perf_counter()
    N.run_gd(net, batch, ds.X, ds.y, etas, steps=steps)
    t_vmap = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, e in enumerate(etas):
        N.run_gd(net, N.stack([ps[i // len(cs)]]), ds.X, ds.y, np.array([e]), steps=steps)
    t_loop = time.perf_counter() - t0
    # per-step cost: 100 steps of one run that neither converges nor diverges (ltol = 0, small eta)
    W1, W2 = np.asarray(ps[0][0]["W"]), np.asarray(ps[0][1]["W"])
    eta = 0.5 / lam0[0]
    jx, npy = [], []
    rule = N.StopRule(gtol=0, rel=0, runaway=1e8)
    for _ in range(3):
        t0 = time.perf_counter()
        N.run_gd(net, N.stack([ps[0]]), ds.X, ds.y, np.array([eta]), steps=100, ltol=0, rule=rule)
        jx.append((time.perf_counter() - t0) / 100)
        A, B = W1, W2
        t0 = time.perf_counter()
        for _ in range(100):
            A, B = numpy_step(A, B, ds.X, ds.y, eta)
        npy.append((time.perf_counter() - t0) / 100)
    full = "" if a.quick or (steps, n) == (2000, 2048) else " (reduced from the full n = 2048, <= 2000 steps)"
    print(f"2-layer ReLU, n = {n}, m = 256 digits, {ncs} c x {len(seeds)} seeds, <= {steps} steps{full}")
    print(f"sweep wall time: vmapped {t_vmap:.2f} s, per-run loop {t_loop:.2f} s, ratio loop/vmap "
          f"{t_loop / t_vmap:.2f}")
    print(f"per step (median of 3 x 100 steps): jax {statistics.median(jx) * 1e3:.3f} ms, numpy float64 "
          f"{statistics.median(npy) * 1e3:.3f} ms, ratio jax/numpy {statistics.median(jx) / statistics.median(npy):.2f}")


if __name__ == "__main__":
    main()
