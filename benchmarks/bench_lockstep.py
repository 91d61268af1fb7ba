"""Reduced-map verdicts for many eta at once at high precision: the fixed-point lock-step against one orbit at a
time in MPFR at 30 digits (the toolkit's mp rung), and the float64 numpy lock-step, measured in one run.

For the isometric deep linear map (squared loss) at depth L and width n, the verdicts (run_gd's stop rule, 2000
steps) of m values of x = eta*lam0 evenly spaced over [2, 4L]: the time of each method and how many of the m
verdicts equal the per-orbit MPFR ones.

    python benchmarks/bench_lockstep.py [--m 400] [--repeats 3]

Prints medians and ratios only; the machine may be shared, so only ratios within a run mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from catapult.verify.deep_thresholds import fixed_lockstep, reduced_lockstep, reduced_run, squared_map

CODE = {True: 1, False: 0, None: -1}


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=400, help="orbits (values of eta*lam0)")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    for L, n in ((3, 64.0), (4, 1024.0), (7, 256.0)):
        dm = squared_map(L)
        xs = np.linspace(2.0, 4.0 * L, a.m)
        fixed_lockstep(dm, n, None, xs[:2])   # compile the tape and the kernels
        t_fx, (codes, when, alone) = median_time(lambda: fixed_lockstep(dm, n, None, xs), a.repeats)
        t_mp, ref = median_time(lambda: np.array([CODE[reduced_run(dm, n, None, x, dps=30).stop.verdict]
                                                  for x in xs]), 1)
        t_64, c64 = median_time(lambda: reduced_lockstep(dm, n, None, xs)[0], a.repeats)
        print(f"L={L} n={int(n):5d} m={a.m}: fixed lock-step {t_fx:.3f} s, per-orbit MPFR-30 {t_mp:.3f} s, "
              f"float64 lock-step {t_64:.3f} s;  {int(when.sum())} orbit-steps, {len(alone)} orbits continued in MPFR")
        print(f"   ratio  per-orbit MPFR / fixed lock-step = {t_mp / t_fx:5.1f}   fixed lock-step / float64 lock-step "
              f"= {t_fx / t_64:4.1f}   verdicts equal to MPFR: fixed {int((codes == ref).sum())}/{a.m}, float64 "
              f"{int((c64 == ref).sum())}/{a.m}")


if __name__ == "__main__":
    main()
