"""Catalogue rows for deep linear networks: the exact reduced map (isometric init) vs full-width GD.

Theory: :mod:`catapult.theory.deep` (reduced map on alpha, M_l, beta for isometric hidden layers).
Numerics: :mod:`catapult.numerics.deep` (GD on the actual n x n matrices; isometric layers exactly orthogonal).

Domain: the rows (and the float64 helpers of :mod:`catapult.verify.deep_thresholds`: ``reduced_codes``,
``reduced_first_edge``, ``iso_threshold_pair``, ...) are for the squared loss f^2/2 with label 0 and say so
in their rows; the loss-aware entry point (used by ``catapult scan deep`` for any loss) is
:func:`reduced_threshold` with ``loss=``.
"""

from __future__ import annotations

import math
import time

import sympy as sp

from catapult.numerics.backends import get_backend
from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.stop import Stop
from catapult.theory import derive_map, mse, uv_model
from catapult.theory.deep import derive_deep_map
from catapult.theory.identity import vanishes
from catapult.theory.reduce import SLOPE
from catapult.theory.symbols import eta as ETA, f as F, lam as LAM, n as N

from ..table import EXACT_MAP, Row
from ..deep_thresholds import (full_width_scan_edge, iso_threshold_pair, map_digits, network_invariants, reduced_for,
                              reduced_first_edge, reduced_gap)


def compare_deep(L, n, seed, x, steps=50, dps=60, init="isometric"):
    """Minimum digits of agreement of (f, lam) between the reduced map and full-width GD, and the stop."""
    model = DeepLinearModel(n, L, seed=seed, init=init)
    tr = run_gd(model, squared(), eta_lam0=x, steps=steps, backend=get_backend("arb", dps), gtol=0)
    worst, per_step = map_digits(*reduced_for(model, dps), tr, dps)
    return worst, tr.steps, tr.stop, per_step


def rows_map(full=False):
    out = []
    cases = [(2, 64, 1.5), (3, 64, 1.5), (3, 64, 3.0), (3, 64, 7.0), (4, 64, 3.0)]
    if full:
        cases += [(3, 256, 3.0), (3, 1024, 3.0), (5, 64, 3.0), (6, 64, 2.5)]
    for i, (L, n, x) in enumerate(cases):
        t0 = time.perf_counter()
        dig, steps, stop, _ = compare_deep(L, n, i, x)
        need = 50 if stop is not Stop.RUNAWAY else 1
        out.append(Row(f"D-a{i + 1}", f"deep L={L}, isometric: reduced map = full-width GD (eta*lam0={x})",
                       "identical (exact reduction)", f"{float(dig):.1f} digits over {steps} steps (stop: {stop})",
                       ">= 40 digits, >= 50 steps (divergent: until the runaway verdict)", dig >= 40 and steps >= need,
                       f"measured: arb 60 digits, n={n}, seed={i}", time.perf_counter() - t0,
                       short=f"deep L={L}: reduced map = GD (eta*lam0={x})", quantity="digits", measured_value=dig,
                       tolerance_value=40, compare=">=", dps=60, width=n, seed=i, backend="arb", why=EXACT_MAP))
    return out


R = sp.Symbol("r", positive=True)  # sqrt(n): the identities become rational


def rows_exact(full=False):
    """L = 2 is the uv map; d f'/d s = -eta lam at s = 0 for every L (so eta_crit = 2/(lam0 l''(f*)))."""
    t0 = time.perf_counter()
    dm = derive_deep_map(2)
    reps = {dm.symbols[k]: v for k, v in dm.update.items()}
    uv = derive_map(uv_model(), mse())
    f_next = dm.f.subs(reps, simultaneous=True)
    l_next = dm.lam.subs(reps, simultaneous=True)
    ok2 = (vanishes((f_next - uv.update["f"].subs({F: dm.f, LAM: dm.lam}, simultaneous=True)).subs(N, R ** 2)) and
           vanishes((l_next - uv.update["lam"].subs({F: dm.f, LAM: dm.lam}, simultaneous=True)).subs(N, R ** 2)))
    rows = [Row("D-b1", "L = 2: the reduced map induces exactly the uv (f, lam) map", "uv map",
                "proved" if ok2 else "NOT proved", "exact zero (rational identity, sqrt(n) = r)", ok2, "exact (SymPy)",
                time.perf_counter() - t0,
                short="L = 2: the reduced map is the uv map")]
    t0 = time.perf_counter()
    oks = []
    depths = (2, 3, 4, 5) if full else (2, 3, 4)   # L = 5: ~1 s
    for L in depths:
        dm = derive_deep_map(L)
        reps = {dm.symbols[k]: v for k, v in dm.update_slope.items()}
        fs = dm.f.subs(reps, simultaneous=True)
        d = sp.diff(fs, SLOPE).subs(SLOPE, 0)
        oks.append(vanishes((d + ETA * dm.lam).subs(N, R ** 2)))
    rows.append(Row("D-b2", "every L: d f'/d l' = -eta lam at a minimum, so the multiplier is 1 - eta lam l''(f*) "
                    "and eta_crit = 2/(lam l''(f*)) exactly in lam (2/lam0 at leading order)",
                    "-eta lam", f"L={depths[0]}..{depths[-1]}: {['proved' if o else 'NOT' for o in oks]}", "exact zero",
                    all(oks), "exact (SymPy)", time.perf_counter() - t0,
                    short="every L: d f'/d l' = -eta lam at a minimum"))
    return rows


#: rows D-c (thresholds, isometric) and D-d (Gaussian): default cells, and the full table (studies/deep_tables/tables.py)
ISO_DEFAULT = [(3, 64), (4, 64)]
ISO_FULL = [(L, n) for n in (64, 256) for L in range(2, 9)] + [(L, 1024) for L in (2, 3, 4)]
GAUSS_DEFAULT = {(3, 64): (0, 1)}
GAUSS_FULL = {(L, n): (0, 1, 2, 3) for L in (3, 4) for n in (64, 256, 1024)}


def rows_thresholds(full=False):
    """The first divergent eta*lam0 above 2 at a given width: reduced map (the network's own A, C, rho) vs
    bisection on full-width isometric GD (same network, same n, seed 0)."""
    from catapult.numerics.search import diverges as gd_diverges
    out = []
    B = get_backend("float64")
    for L, n in (ISO_FULL if full else ISO_DEFAULT):
        t0 = time.perf_counter()
        model = DeepLinearModel(n, L, seed=0, init="isometric")
        rtol = 1e-7 if n <= 256 else 1e-6
        red, fw = iso_threshold_pair(model, rtol=rtol)
        a, b, mp_ok = fw.extra["mirror"]
        same = fw.lo <= b and a <= fw.hi and mp_ok
        below = gd_diverges(model, squared(), red.lo * (1 - 1e-8), B, 2000)
        above = gd_diverges(model, squared(), red.hi * (1 + 1e-8), B, 2000)
        w = red.hi - red.lo
        inside = fw.lo - w <= red.x <= fw.hi + w
        half = (fw.hi - fw.lo) / 2  # the brackets overlap iff full width's midpoint is within half its width of [a, b]
        out.append(Row(f"D-c-L{L}-n{n}", f"L={L}: first divergent eta*lam0 above 2, reduced map (own A, C, rho) = "
                       "bisection on full-width isometric GD (same net, same n)",
                       f"x* = {red.x:.10f} ({'+'.join(red.precisions)}); same bisection on the map: [{a:.8f}, {b:.8f}]",
                       f"full width [{fw.lo:.8f}, {fw.hi:.8f}] ({'+'.join(fw.precisions)}); at x*(1-/+1e-8): "
                       f"{'div' if below else 'conv'}/{'div' if above else 'conv'}; x* {'in' if inside else 'NOT in'} bracket",
                       f"same bisection bracket (rtol {rtol:g}), ends confirmed (arb30 / mp30); "
                       "(the verdicts at x*(1 -/+ 1e-8) are information: the edge has finer structure)",
                       same and bool(red.precisions),
                       f"measured: n={n}, seed=0, float64 + arb30 (full width), float64 + mp30 + mp60 (map), 2000 steps",
                       time.perf_counter() - t0, short=f"L={L}: first divergence, reduced map = full width",
                       quantity="eta*lam0 (first divergent above 2)", predicted_value=red.x,
                       measured_value=(fw.lo + fw.hi) / 2, compare="in", bounds=[a - half, b + half], dps=60, width=n,
                       seed=0, backend="float64+arb+mpmath",
                       why={"tolerance_value": "the two bisection brackets overlap: bounds = the map's bracket "
                                               "widened by half the full-width bracket"}))
    return out


def rows_gaussian(full=False):
    """Gaussian init: the isometric reduction is not exact; the gap to the reduced map (same A, C, rho, eta) after
    1 and 10 steps, and the two first-divergence thresholds, per width and seed."""
    out = []
    cells = GAUSS_FULL if full else GAUSS_DEFAULT
    for (L, n), seeds in cells.items():
        t0 = time.perf_counter()
        gaps, ths = [], []
        for seed in seeds:
            m = DeepLinearModel(n, L, seed=seed, init="gaussian")
            g = reduced_gap(m, 1.5)
            gaps.append((max(g[1]), max(g[10])))
            ge, _ = full_width_scan_edge(m, rtol=1e-5, confirm=True)
            red = reduced_first_edge(L, n, network_invariants(m))
            ths.append((ge, red))
        dig = [(-math.log10(a), -math.log10(b)) for a, b in gaps]
        out.append(Row(f"D-d1-L{L}-n{n}", f"L={L} Gaussian layers: W W^T/n != I, full-width GD departs from the "
                       "isometric reduced map (same A, C, rho, eta)", "not exact: relative gap O(n^-1/2)",
                       "digits after 1 / 10 steps: " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in dig)
                       + f"; mean gap(1 step) * sqrt(n) = {sum(a for a, _ in gaps) / len(gaps) * math.sqrt(n):.2f}",
                       "gap > 1e-6 (far above float64 rounding) at every seed", min(min(p) for p in gaps) > 1e-6,
                       f"measured: n={n}, seeds {list(seeds)}, eta*lam0=1.5, GD float64, map mp30", time.perf_counter() - t0,
                       short=f"L={L} Gaussian: GD departs from the reduced map", quantity="min relative gap",
                       measured_value=min(min(p) for p in gaps), tolerance_value=1e-6, compare=">=", dps=30, width=n,
                       backend="float64+mpmath", why={"predicted_value": "a bound (gap > 1e-6), not a value",
                                                      "seed": f"several seeds ({list(seeds)})"}))
        diffs = [ge.x - red.x for ge, red in ths]
        out.append(Row(f"D-d2-L{L}-n{n}", f"L={L}: the Gaussian network's first divergent eta*lam0 is not the reduced "
                       "map's (same A, C, rho)", "differ by more than the search tolerances",
                       "Gaussian " + ", ".join(f"{ge.x:.5f}" for ge, _ in ths) + " vs map "
                       + ", ".join(f"{red.x:.5f}" for _, red in ths),
                       "|difference| > 1e-3 at every seed", min(abs(d) for d in diffs) > 1e-3 and all(
                           ge.precisions and red.precisions for ge, red in ths),
                       f"measured: n={n}, seeds {list(seeds)}, full width float64 + arb30 (rtol 1e-5), "
                       "scan 2.5 + 0.1k then 0.01", 0.0, short=f"L={L} Gaussian: its threshold is not the map's",
                       quantity="min |x*(Gaussian) - x*(map)|", measured_value=min(abs(d) for d in diffs),
                       tolerance_value=1e-3, compare=">=", dps=30, width=n, backend="float64+arb",
                       why={"predicted_value": "a bound (they differ by > 1e-3), not a value",
                            "seed": f"several seeds ({list(seeds)})"}))
    return out


#: (L, n, m) of the lock-step row: m values of eta*lam0 over [2, 4L]
LOCKSTEP_DEFAULT = ((3, 64, 200),)
LOCKSTEP_FULL = ((3, 64, 1000), (4, 1024, 1000), (7, 256, 400))


def rows_lockstep(full=False):
    """The fixed-point lock-step engine (every orbit's polynomial step on 50-digit fixed-point vectors, constants
    in MPFR at 30 digits; :func:`catapult.verify.deep_thresholds.fixed_lockstep`) against one orbit at a time in
    MPFR at 30 digits (:func:`reduced_run`, an independent arithmetic): the verdicts of run_gd's stop rule (2000
    steps) on m values of eta*lam0, the isometric invariant init A = C = n.  Both arithmetics are deterministic
    (integers; correctly rounded MPFR), so the count is the same on every machine.

    >>> r = rows_lockstep()[0]
    >>> r.id, r.passed, r.measured_value == r.predicted_value
    ('D-lock-L3-n64', True, True)
    """
    import numpy as np
    from ..deep_thresholds import fixed_lockstep, reduced_run, squared_map
    code = {True: 1, False: 0, None: -1}
    out = []
    for L, n, m in (LOCKSTEP_FULL if full else LOCKSTEP_DEFAULT):
        t0 = time.perf_counter()
        dm = squared_map(L)
        xs = np.linspace(2.0, 4.0 * L, m)
        codes, _, alone = fixed_lockstep(dm, float(n), None, xs, dps=30)
        ref = np.array([code[reduced_run(dm, float(n), None, x, dps=30).stop.verdict] for x in xs])
        same = int((codes == ref).sum())
        div = int((ref == 1).sum())
        out.append(Row(f"D-lock-L{L}-n{n}", f"L={L}: reduced-map verdicts of {m} values of eta*lam0 in [2, {4 * L}] at "
                       "once on the fixed-point lock-step engine = one orbit at a time in MPFR (30 digits)",
                       f"{m}/{m} equal (same map, same stop rule)",
                       f"{same}/{m} equal ({div} divergent, {m - div} not; {len(alone)} orbits left the fixed range "
                       "and were continued in MPFR)",
                       "every verdict equal", same == m,
                       f"measured: fixed50 lock-step (constants mp30) vs MPFR 30 per orbit, n={n}, 2000 steps",
                       time.perf_counter() - t0, short=f"L={L}: lock-step fixed = MPFR per orbit",
                       quantity="verdicts equal", predicted_value=m, measured_value=same, compare="==", dps=30,
                       width=n, backend="fixed+mpfr",
                       why={"seed": "the invariant init A = C = n, rho = sqrt(n) (no random draw)"}))
    return out


def catalogue(full=False):
    return rows_map(full) + rows_exact(full) + rows_thresholds(full) + rows_gaussian(full) + rows_lockstep(full)
