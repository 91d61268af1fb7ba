"""Catalogue rows for networks (the bridge to the theory): linear nets on one input are the uv model (2 layers)
and the deep linear model (L layers).

Rows N-a, N-b.  Numerics: :mod:`catapult.numerics.nets` (JAX float64, GD on the weights W_1 (n x 1), W_2 (1 x n);
x = 1, y = 0, loss f^2/2, so f = W_2 W_1 x / sqrt(n) is the uv model).  Theory: the derived uv thresholds
(:func:`catapult.theory.thresholds.derive_thresholds`), eta_crit lam0 = 2 and eta_max lam0 = 4, leading order in 1/n.
Measured on a c grid (step 0.005): c_crit (criterion: the loss ever exceeds L0), c_max (the largest c that
converged), c_blowup (the smallest c that diverged); tolerance grid step + 10/n (the finite-width corrections are
O(1/n): c_crit = 2 + 4 f0^2/(n lam0) + ... from the first step of the map).

Rows N-c, N-d (issue 14: a deep linear net of depth L is the deep model).  The JAX linear net of depth L built
from an isometric :class:`catapult.numerics.deep.DeepLinearModel`'s own weights
(:func:`catapult.numerics.nets.from_deep_linear`: the same function, no rescaling).  Criterion, on both sides:
"first divergent c: the run's code is divergent within the horizon" (2000 steps; the reduced map's stop rule
:data:`catapult.verify.deep_thresholds.RULE`, run_gd's: divergent when |f| > 1e8 sqrt(n) or not finite --
the JAX runs do not track lam, so its extra bound lam > 1e4 lam0 is the map's alone -- converged when
|grad L| < 1e-12), taken from below because the divergent set of deep nets is not an interval: the 0.01 grid
from 2 scanned 64 points (one vmapped batch) at a time, then the first divergent cell refined 3 times by 65
(:func:`catapult.numerics.bracket.first_change_batched`; cell 0.01/65^3 = 3.6e-8).  Derived: the first edge of the
exact reduced map of :func:`catapult.theory.deep.derive_deep_map` iterated from the network's own invariants
(A, C, rho) at that width (:func:`catapult.verify.deep_thresholds.reduced_first_edge`: a *measured* first edge
of an exact map, float64 bisection with both ends confirmed at 30 and 60 digits); and, as the same-grid check,
the reduced map's float64 verdicts on the very points the JAX scan used.  Tolerance: the two bracket widths
(float64 GD and the exact map agree on every verdict not within rounding of an edge, so they agree to the
sectioning resolution; a chaotic edge would show as disagreeing brackets).  N-d: the catapult at c = 4 (between
2 and the first divergence) ends with eta lam_final <= 2.

The rows run under ``--full`` only (about 10 s per uv width with the JAX compilations, a few s per deep width),
and only when the nets extra is installed.
"""

from __future__ import annotations

import time

import numpy as np

from ..table import Row

WIDTHS = (64, 1024)
GRID = 0.005
#: rows N-c, N-d: (depth, width) of the isometric deep linear nets (seed 0); widths are powers of 4 (exact
#: orthogonal layers).  n = 256 is left out: about 8 s per vmapped batch of 64 runs there (measured), ~70 s a row
DEEP_CELLS = ((3, 16), (3, 64))
#: the first-divergence search of N-c: grid step, points per vmapped batch, refinement rounds, horizon
DEEP_GRID, DEEP_BATCH, DEEP_ROUNDS, DEEP_STEPS = 0.01, 64, 3, 2000
#: N-d: the c (between 2 and the first divergence) whose catapult must end with eta lam_final <= 2
C_FINAL = 4.0


def _derived():
    from catapult.theory import mse, uv_model
    from catapult.theory.symbols import lam0
    from catapult.theory.thresholds import derive_thresholds
    t = derive_thresholds(uv_model(), mse())
    return float(t.eta_crit.value * lam0), float(t.eta_max.value * lam0)


def measure_uv(n, seed=0, steps=3000):
    """(c_crit, c_max, c_blowup, eta*lam_final at c = 3, lam0) of the 2-layer linear net on x = 1, y = 0."""
    from catapult.numerics import nets as N
    X, y = np.ones((1, 1)), np.zeros(1)
    net = N.Net(2, n, "linear")
    p = N.init(net, 1, seed=seed)
    lam0 = N.ntk_top(net, p, X)
    cs = np.round(np.concatenate([np.arange(1.9, 2.1 + 1e-9, GRID), np.arange(3.8, 4.2 + 1e-9, GRID), [3.0]]), 6)
    r = N.run_gd(net, N.stack([p] * len(cs)), X, y, cs / lam0, steps=steps, chunk=500)
    rose = np.nanmax(r.loss, axis=1) > r.loss[:, 0]
    conv, div = r.code == 0, r.code == 1
    k3 = len(cs) - 1
    lam_f = N.ntk_top(net, N.unstack(r.params, k3), X) if conv[k3] else float("nan")
    pick = lambda mask, f: float(f(cs[mask])) if mask.any() else float("nan")  # noqa: E731
    return pick(rose, np.min), pick(conv & (cs > 3.5), np.max), pick(div, np.min), 3.0 * lam_f / lam0, lam0


def measure_deep(L, n, seed=0):
    """The JAX float64 first divergent c = eta lam0 of the depth-``L`` linear net with the weights of
    ``DeepLinearModel(n, L, seed, "isometric")`` (a :class:`catapult.numerics.bracket.Bracket`, criterion named;
    ``extra["points"]``: every c evaluated, in order) and eta lam_final at c = :data:`C_FINAL`:
    ``(bracket, C_FINAL * lam_final / lam0 (nan unless that run converged), lam0)``.

    >>> b, elf, lam0 = measure_deep(3, 16); round(b.x, 4), b.width < 1e-7, b.precisions, elf <= 2
    (5.5237, True, ['jax-float64'], True)
    """
    from catapult.numerics import nets as N
    from catapult.numerics.bracket import first_change_batched
    from catapult.numerics.deep import DeepLinearModel
    from catapult.numerics.stop import DIVERGED
    from ..deep_thresholds import RULE
    net, p = N.from_deep_linear(DeepLinearModel(n, L, seed=seed, init="isometric"))
    X, y = np.ones((1, 1)), np.zeros(1)
    lam0 = N.ntk_top(net, p, X)
    batch, points, final = N.stack([p] * DEEP_BATCH), [], [float("nan")]

    def divergent(cs):
        points.append(np.asarray(cs))
        pad = np.concatenate([cs, np.full(DEEP_BATCH - len(cs), cs[-1])])   # one batch shape: one compilation
        r = N.run_gd(net, batch, X, y, pad / lam0, steps=DEEP_STEPS, rule=RULE, ltol=0,
                     chunk=DEEP_STEPS + 1)   # one chunk: no compaction, so no recompilation (measured faster)
        k = np.flatnonzero(np.abs(cs - C_FINAL) < 1e-12)
        if k.size and r.code[k[0]] == 0:
            final[0] = C_FINAL * N.ntk_top(net, N.unstack(r.params, int(k[0])), X) / lam0
        return r.code[:len(cs)] == DIVERGED

    b = first_change_batched(divergent, 2.0, DEEP_GRID, 4.0 * L, batch=DEEP_BATCH, rounds=DEEP_ROUNDS,
                             criterion="first divergent c: the run's code is divergent within the horizon "
                                       f"({DEEP_STEPS} steps), jax float64", precision="jax-float64")
    b.extra["points"] = np.concatenate(points)
    return b, final[0], lam0


def derived_deep(L, n, seed=0):
    """The reduced map's first divergent c at width ``n`` from the network's own init: the mp-confirmed edge of
    :func:`catapult.verify.deep_thresholds.reduced_first_edge`, and the float64 map's first change on the
    :func:`measure_deep` search (same grid, same sectioning, the map's own verdicts).

    >>> red, same = derived_deep(3, 16); red.precisions, same.lo < red.x < same.hi
    (['float64', 'mp30', 'mp60'], True)
    """
    from catapult.numerics.bracket import first_change_batched
    from catapult.numerics.deep import DeepLinearModel
    from ..deep_thresholds import network_invariants, reduced_codes, reduced_first_edge
    inv = network_invariants(DeepLinearModel(n, L, seed=seed, init="isometric"))
    red = reduced_first_edge(L, n, inv, steps=DEEP_STEPS)
    same = first_change_batched(lambda xs: reduced_codes(L, n, inv, xs, DEEP_STEPS) == 1, 2.0, DEEP_GRID, 4.0 * L,
                                batch=DEEP_BATCH, rounds=DEEP_ROUNDS, precision="float64")
    return red, same


def rows_deep(cells=DEEP_CELLS):
    """Rows N-c (first divergent c: JAX net vs the derived reduced map) and N-d (eta lam_final <= 2 at c = 4) for
    the (depth, width) ``cells``.

    >>> [r.id for r in rows_deep(cells=[])]
    []
    """
    rows = []
    for L, n in cells:
        t0 = time.perf_counter()
        jx, elf, lam0 = measure_deep(L, n)
        red, same = derived_deep(L, n)
        dt = (time.perf_counter() - t0) / 2
        tol = jx.width + red.width
        meas = jx.x
        overlap = same.lo <= jx.hi and jx.lo <= same.hi
        lab = (f"measured: jax float64, n={n}, seed=0 (isometric DeepLinearModel weights), c grid {DEEP_GRID} from 2 "
               f"then {DEEP_ROUNDS} rounds of {DEEP_BATCH} (cell {jx.width:.2g}), {DEEP_STEPS} steps; derived: the "
               f"exact reduced map (catapult.theory.deep) from the same init, its first edge measured at that width "
               f"({'+'.join(red.precisions)})")
        rows.append(Row(f"N-c-L{L}-n{n}", f"deep linear net L={L} (isometric, the deep model's own weights): first "
                        "divergent c -> the derived reduced map's first edge at that width, same init",
                        f"{red.x:.9f} (map on the same points: [{same.lo:.9f}, {same.hi:.9f}])",
                        f"[{jx.lo:.9f}, {jx.hi:.9f}] (first divergent grid point {jx.extra['grid_first']:g})",
                        f"|measured - derived| <= {tol:.2g} (the two bracket widths) and the same-points brackets "
                        "overlap", abs(meas - red.x) <= tol and overlap and bool(red.precisions), lab, dt,
                        short=f"deep linear net L={L} n={n}: first divergence = map",
                        quantity="eta*lam0 (first divergent above 2)", predicted_value=red.x, measured_value=meas,
                        tolerance_value=tol, compare="abs", width=n, seed=0, backend="jax-float64", dps=60))
        ok = elf <= 2 and 2 < C_FINAL < jx.lo
        rows.append(Row(f"N-d-L{L}-n{n}", f"catapult of the deep linear net L={L} ends with eta*lam_final <= 2 "
                        f"(c = {C_FINAL:g}, between 2 and the first divergence)", "<= 2", f"{elf:.4g}",
                        "<= 2 (nan: not converged)", ok, lab, dt,
                        short=f"deep linear net L={L} n={n}: eta*lam_final <= 2", quantity="eta*lam_final",
                        measured_value=elf if np.isfinite(elf) else None, tolerance_value=2.0, compare="<=",
                        width=n, seed=0, backend="jax-float64", dps=15,
                        why={"measured_value": "the run at c = 4 did not converge within the horizon"}
                        if not np.isfinite(elf) else {}))
    return rows


def catalogue(full=False):
    if not full:
        return []
    import importlib.util
    if importlib.util.find_spec("jax") is None:   # the nets extra is not installed: the section has no rows
        return []
    return rows_uv() + rows_deep()


def rows_uv():
    """Rows N-a, N-b (the 2-layer linear net is the uv model)."""
    crit, top = _derived()
    rows = []
    for n in WIDTHS:
        t0 = time.perf_counter()
        cc, cm, cb, elf, lam0 = measure_uv(n)
        tol = GRID + 10 / n
        lab = f"measured: jax float64, n={n}, seed=0, c grid {GRID}; derived: catapult.theory (leading order in 1/n)"
        dt = (time.perf_counter() - t0) / 3
        for i, (what, meas, pred) in enumerate((("c_crit (loss exceeds L0)", cc, crit),
                                               ("c_max (last convergent c)", cm, top),
                                               ("c_blowup (first divergent c)", cb, top))):
            rows.append(Row(f"N-a{n}-{i + 1}", f"2-layer linear net on one input (the uv model): {what} -> derived",
                            f"{pred:g}", f"{meas:.4g}", f"|measured - derived| <= {tol:.3g} (grid + 10/n)",
                            abs(meas - pred) <= tol, lab, dt, short=f"linear net n={n}: {what.split()[0]}",
                            quantity="eta*lam0", predicted_value=pred, measured_value=meas, tolerance_value=tol,
                            compare="abs", width=n, seed=0, backend="jax-float64", dps=15))
        rows.append(Row(f"N-b{n}", "catapult of the linear net ends with eta*lam_final <= 2 (c = 3)", "<= 2",
                        f"{elf:.4g}", "<= 2", elf <= 2, lab, 0.0, short=f"linear net n={n}: eta*lam_final <= 2",
                        quantity="eta*lam_final", measured_value=elf, tolerance_value=2.0, compare="<=", width=n, seed=0,
                        backend="jax-float64", dps=15))
    return rows
