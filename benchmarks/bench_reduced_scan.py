"""Benchmark: eta_max of the uv reduced map to 30 digits -- the toolkit's search vs a plain bisection (issue 13:
"scan must be within 10x of a plain bisection at 40 digits for reduced maps"); times in one run, medians.

    python benchmarks/bench_reduced_scan.py [--repeats 3]

Problem: the derived uv (f, lam) map (catapult.theory) at width n = 1024 from A = C = n, f0 = 0.7 (lam0 = 2), horizon
2000 steps, run_gd's stop rule (divergent: |f| > 1e8 sqrt(n) or lam > 1e4 lam0; converged: |f| sqrt(lam) < 1e-12).
* plain: a hand-written loop -- the map lambdified to mpmath at 40 digits, bisection of [3, 5] to rtol 1e-30, no
  grid, no confirmation (a lucky bracket: its first midpoint is the threshold 4, so all later midpoints are on the
  fast divergent side), and the same loop on the toolkit's own start bracket (the same midpoints as its search);
* toolkit: :func:`catapult.verify.deep_thresholds.reduced_first_edge` (what ``catapult scan deep`` runs), rtol
  1e-30, ladder float64 -> 40 -> 80 -> 160 digits: the 0.01 grid from 2 and the 1e-4 sliver scan (float64,
  lock-step over all points), bisection at 40 digits, both ends re-decided at 80 and 160 digits.
"""

import argparse
import math
import statistics
import time

import mpmath
import sympy as sp

from catapult.theory import derive_map, mse, uv_model
from catapult.theory.symbols import eta, f, lam, n
from catapult.verify.deep_thresholds import reduced_first_edge

N, F0 = 1024, 0.7


def plain(rtol=1e-30, steps=2000, bracket=(3, 5)):
    fmap = derive_map(uv_model(), mse())
    upd = sp.lambdify([f, lam, eta, n], [fmap.update["f"], fmap.update["lam"]], "mpmath")
    with mpmath.workdps(40):
        lam0, f0, big, tiny = mpmath.mpf(2), mpmath.mpf(F0), 1e8 * math.sqrt(N), mpmath.mpf(10) ** -12

        def diverges(x):
            F, L, e = f0, lam0, x / lam0
            for _ in range(steps):
                F, L = upd(F, L, e, N)
                if not mpmath.isfinite(F) or abs(F) > big or L > 1e4 * lam0:
                    return True
                if abs(F) * mpmath.sqrt(L) < tiny:
                    return False
            return False

        lo, hi = (mpmath.mpf(v) for v in bracket)
        while hi - lo > rtol * hi:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if diverges(mid) else (mid, hi)
        return lo, hi


def toolkit(rtol=1e-30):
    e = reduced_first_edge(2, N, (float(N), float(N), math.sqrt(N) * F0), rtol=rtol, ladder=(40, 80, 160))
    return e.lo, e.hi, e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    plain(1e-3), toolkit(1e-3)   # warm: imports, derivation and lambdify caches
    start = toolkit(1e-3)[2].extra["start"]   # the toolkit's own float64 sliver bracket, where its bisection starts
    tp, ts, tt = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter(); lo, hi = plain(); tp.append(time.perf_counter() - t)
        t = time.perf_counter(); plain(bracket=start); ts.append(time.perf_counter() - t)
        t = time.perf_counter(); a, b, e = toolkit(); tt.append(time.perf_counter() - t)
    print(f"plain bisection of [3, 5] (40 digits, rtol 1e-30): median {statistics.median(tp):.3f} s; "
          f"eta*lam0 in [{mpmath.nstr(lo, 33)}, {mpmath.nstr(hi, 33)}]")
    print(f"  (its first midpoint is the threshold 4 itself, so every later midpoint lies on the divergent side, "
          f"where a run ends in ~50 steps; a convergent run near 4 takes ~660)")
    print(f"plain bisection of the toolkit's start bracket {start} (the same work as the toolkit's 40-digit "
          f"bisection, whose midpoints here all lie below 4: convergent runs): median {statistics.median(ts):.3f} s")
    print(f"toolkit reduced_first_edge (rtol 1e-30): median {statistics.median(tt):.3f} s; "
          f"eta*lam0 in [{mpmath.nstr(a, 33)}, {mpmath.nstr(b, 33)}], precisions {e.precisions}, "
          f"{e.iterations} runs, converged {e.converged}")
    print(f"ratio toolkit / plain [3, 5]: {statistics.median(tt) / statistics.median(tp):.1f} (target <= 10)")
    print(f"ratio toolkit / plain on the same start bracket: {statistics.median(tt) / statistics.median(ts):.1f}")
    print(f"brackets overlap: {max(lo, a) <= min(hi, b)}")


if __name__ == "__main__":
    main()
