"""Where the reduced deep-linear map stops converging: the divergence threshold x* = eta*lam0 as a
function of width n, for squared loss and the invariant init A = C = n, rho = sqrt(n) (f0 = 1).

Everything numeric here is compiled from :func:`catapult.theory.deep.derive_deep_map` (``dm.update``,
``dm.f``, ``dm.lam`` lambdified with common-subexpression elimination); nothing is retyped.

Evaluators (:func:`fast_step`)
    ``backend='math'`` (plain python floats, one trajectory), ``'numpy'`` (float64 arrays: many
    (x, n) trajectories in lock-step) and ``'mpmath'`` (arbitrary precision, for confirmation).
    Each is ``step(state, consts) -> (new_state, f, lam)`` with ``f, lam`` those of the *input*
    state and ``consts = [eta, n, A, C, rho]``.

Verdicts (:func:`diverges`, :func:`verdicts`)
    True  -- non-finite, |f| > 1e8 sqrt(n) or lam > 1e4 lam0 within T steps;
    False -- converged: loss <= 1e-30 loss0, or |grad|^2 = f^2 lam <= 1e-30 f0^2 lam0, or
             *settled*: for ``SETTLE`` consecutive steps |f| <= 0.01 sqrt(n) and non-increasing,
             eta*lam < 2 and lam non-increasing or creeping up by at most ``SETTLE_DRIFT`` (2 - eta*lam)
             per step (a monotone descent with a stable step, far below the nonlinear scale
             |f| ~ sqrt(n).  This catches (i) the orbits whose lam collapses after the catapult
             (eta*lam ~ 1/t, f ~ 1/t: they converge only algebraically and would never reach 1e-30)
             and (ii) the float64 rounding floor of f (~ eps sqrt(n), far above 1e-30 loss).
             ``strict=True`` switches this rule off; :func:`check_settled` tests it); or, in float64
             only, |f| <= 1e3 eps sqrt(n) with eta*lam < 2 (the rounding floor, where f jitters);
    None  -- undecided within T steps.

Threshold (:func:`threshold`)
    Scan x = 2, 2.01, ..., 4L (float64, vectorised) for the first divergent point, rescan the unit
    below it at spacing 1e-4 (thin divergent slivers), scan above it at 1e-3 for the convergent
    windows and x_last (start of the final all-divergent stretch below 4L); bisect both edges in
    float64 to ``rtol``, then re-decide both bracket ends at 30 and 60 digits (mpmath); if a verdict
    differs, bisect again at 30 digits and confirm at 60 and 120, and so on (:func:`locate_edge`).

The invariance (:func:`invariance_test`, :func:`edge_shift`, :func:`equivalent_width`)
    The verdict set is invariant under n -> n (x - 1)^2 (one more catapult growth step before |f|
    reaches ~sqrt(n)), up to corrections that shrink with n.  So at each x the verdict is periodic in
    ln n with the x-dependent period P(x) = 2 ln|1 - x| (:func:`growth_period`), the whole picture is
    one (x, psi) cylinder (:func:`phase_codes`), and its extreme points give the n -> infinity limits
    x_lo, x_hi (:func:`phase_limits`); :func:`asymptotic_window` evaluates x*(n) up to n = 1e300.

Band (:func:`band`)
    Thresholds over log-spaced n; min / max over the last two decades vs the two before them
    (golden-section refined in ln n, :func:`extremes`); autocorrelation period and the spacing of the
    sawtooth drops (:func:`drops`) against P(x), ln|1 - x|, 4 ln|1 - x|; the invariance tests; the
    limits from the phase cylinder.

``L = 2`` (the uv model): :func:`uv_drift_identity` checks lam' - lam = (eta f^2/n)(eta lam - 4).

Run ``python -m catapult.verify.deep_band L [--per-decade 40 --lo 2 --hi 9 --json out.json]`` for the long
tables (measured numbers: ``verify/deep_band_results.md``).

Examples
========
>>> r = threshold(2, 100)
>>> abs(r.x - 4) < 1e-9, r.first.precisions
(True, ['float64', 'mp30', 'mp60'])
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from catapult.theory.deep import A, C, RHO, derive_deep_map
from catapult.theory.symbols import eta, n as N_SYM

#: divergence: |f| > F_CAP sqrt(n) or lam > LAM_CAP lam0
F_CAP, LAM_CAP = 1e8, 1e4
#: convergence: loss/loss0 or |grad|^2/|grad0|^2 below this
CONV_REL = 1e-30
#: settled: this many consecutive monotone, stable, small-|f| steps
SETTLE = 100
SETTLE_F = 0.01
SETTLE_DRIFT = 1e-6
#: float64 rounding floor of f, in units of sqrt(n)
FLOOR64 = 1e3 * np.finfo(float).eps
#: default horizons
T_SCAN, T_BISECT = 20000, 20000

BACKENDS = ("math", "numpy", "mpmath")


@lru_cache(maxsize=None)
def deep_map(L: int, loss=None):
    """The derived reduced map of depth ``L`` under ``loss`` (a :class:`catapult.theory.loss.Loss`; default the
    squared loss f^2/2, label 0), cached.  The study functions of this module (:func:`threshold`,
    :func:`band`, ...) are for f^2/2 only; the loss-aware entry points are :func:`fast_step`,
    :func:`run_orbit`, :func:`run_lockstep` and :mod:`catapult.verify.deep_limit`.

    >>> deep_map(3).L, len(deep_map(3).state)
    (3, 8)
    """
    return derive_deep_map(L, loss)


@lru_cache(maxsize=None)
def _lambdified(L: int, backend: str, loss=None):
    dm = deep_map(L, loss)
    names = [str(s) for s in dm.state]
    exprs = [dm.update[k] for k in names] + [dm.f, dm.lam]
    return sp.lambdify([dm.state, [eta, N_SYM, A, C, RHO]], exprs, modules=backend, cse=True)


def fast_step(L: int, backend: str = "math", loss=None):
    """A compiled step of the derived depth-``L`` map under ``loss`` (default f^2/2):
    ``step(state, consts) -> (new_state, f, lam)``.

    ``state`` is a list in ``deep_map(L).state`` order, ``consts = [eta, n, A, C, rho]``; ``f`` and
    ``lam`` belong to the input state.  ``backend``: 'math' (python floats), 'numpy' (float64 arrays,
    broadcast) or 'mpmath' (mpf at the current ``mpmath.mp.dps``).  The code is generated by
    ``sympy.lambdify(..., cse=True)`` from ``dm.update``, ``dm.f`` and ``dm.lam``.

    >>> step = fast_step(3)
    >>> s, f, lam = step(init_state(3, 100.0), [0.5, 100.0, 100.0, 100.0, 10.0])
    >>> f, lam                     # f0 = 1, lam0 = L at the invariant init
    (1.0, 3.0)
    >>> with mpmath.workdps(40):   # one step agrees with theory's own mpmath lambdification
    ...     st, ob, ini = deep_map(3).numeric(0.5, 100, 100, 100, 10)
    ...     s2 = st(ini())
    ...     ref = [s2[k] for k in map(str, deep_map(3).state)]
    ...     mine = fast_step(3, 'mpmath')(list(ini().values()), [mpmath.mpf(v) for v in (0.5, 100, 100, 100, 10)])[0]
    ...     max(abs(a - b) for a, b in zip(ref, mine)) < mpmath.mpf(10) ** -35
    True
    >>> max(abs(float(a) - b) for a, b in zip(ref, s)) < 1e-13
    True
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    fn = _lambdified(int(L), backend, loss)
    k = len(deep_map(L).state)

    def step(state, consts):
        out = fn(state, consts)
        return out[:k], out[k], out[k + 1]
    step.__doc__ = f"depth-{L} reduced map ({backend})"
    return step


def init_state(L: int, n, backend: str = "math"):
    """The initial state (alpha = (1, 0), M_l = sqrt(n) I, beta = (0, 1)) from ``deep_map(L).init``.

    >>> init_state(3, 100.0)
    [1.0, 0.0, 0.0, 1.0, 10.0, 0.0, 0.0, 10.0]
    """
    dm = deep_map(L)
    out = []
    for s in dm.state:
        v = dm.init[str(s)].subs(N_SYM, sp.Float(n, 60) if backend != "mpmath" else sp.Symbol("_n"))
        if backend == "mpmath":
            out.append(sp.lambdify(sp.Symbol("_n"), v, modules="mpmath")(mpmath.mpf(n)))
        else:
            out.append(float(v))
    return out


def consts_for(n, x, L, backend="math"):
    """``[eta, n, A, C, rho]`` for the invariant init (A = C = n, rho = sqrt(n)) and eta = x/lam0.

    lam0 is measured from the compiled map at the initial state (it equals L here).

    >>> consts_for(100.0, 6.0, 3)
    [2.0, 100.0, 100.0, 100.0, 10.0]
    """
    if backend == "mpmath":
        nn = mpmath.mpf(n)
        c = [mpmath.mpf(1), nn, nn, nn, mpmath.sqrt(nn)]
        x = mpmath.mpf(x)
    else:
        nn = float(n)
        c = [1.0, nn, nn, nn, math.sqrt(nn)]
    _, f0, lam0 = fast_step(L, backend)(init_state(L, n, backend), c)
    c[0] = x / lam0
    return c


# ---------------------------------------------------------------- verdicts


def _run_scalar(L, n, x, backend, T, record=False, strict=False):
    sq = mpmath.sqrt(n) if backend == "mpmath" else math.sqrt(n)
    return run_orbit(fast_step(L, backend), init_state(L, n, backend), consts_for(n, x, L, backend), sq,
                     backend, T, record, strict)


def run_orbit(step, s, c, sq, backend, T, record=False, strict=False, curv=1):
    """The verdict loop of :func:`diverges` for any initial state ``s`` and constants ``c`` of a compiled
    step; ``sq`` is the nonlinear scale of f (sqrt(n); 1 for the width-1 form); ``curv`` = l''(f*) of the
    step's loss at its minimiser f* = 0 (the stability bound is eta*lam*curv < 2).  Returns
    (verdict, steps, history)."""
    etav = c[0] * curv
    _, f0, lam0 = step(s, c)
    fcap, lcap, fset = F_CAP * sq, LAM_CAP * lam0, SETTLE_F * sq
    ffloor = -1 if backend == "mpmath" else FLOOR64 * sq
    g0 = f0 * f0 * lam0
    fprev, lprev, run = None, None, 0
    hist = [] if record else None
    isfin = mpmath.isfinite if backend == "mpmath" else math.isfinite
    for t in range(T + 1):
        try:
            s2, fv, lv = step(s, c)
        except (OverflowError, ZeroDivisionError, ValueError):
            return True, t, hist
        if record:
            hist.append((fv, lv))
        if not (isfin(fv) and isfin(lv)) or abs(fv) > fcap or lv > lcap:
            return True, t, hist
        if fv * fv <= CONV_REL * f0 * f0 or fv * fv * lv <= CONV_REL * g0 or (abs(fv) <= ffloor and etav * lv < 2):
            return False, t, hist
        ok = (not strict and fprev is not None and abs(fv) <= fset and etav * lv < 2
              and abs(fv) <= fprev and etav * (lv - lprev) <= SETTLE_DRIFT * (2 - etav * lv))
        run = run + 1 if ok else 0
        if run >= SETTLE:
            return False, t, hist
        fprev, lprev, s = abs(fv), lv, s2
    return None, T, hist


def diverges(L: int, n, x, dps=None, T: int = T_BISECT, strict=False):
    """Verdict of the orbit from the invariant init at eta = x/lam0: True (diverges), False (converges)
    or None (undecided in ``T`` steps); ``dps=None`` runs in float64, else mpmath at ``dps`` digits.

    >>> diverges(2, 1e4, 3.99), diverges(2, 1e4, 4.01), diverges(3, 1e4, 5.0, dps=30)
    (False, True, False)
    """
    if dps is None:
        return _run_scalar(L, float(n), float(x), "math", T, strict=strict)[0]
    with mpmath.workdps(dps):
        return _run_scalar(L, n, mpmath.mpf(x), "mpmath", T, strict=strict)[0]


def trajectory(L: int, n, x, dps=None, T: int = 200):
    """(f_t, lam_t) for t = 0..(stop) -- for inspection.

    >>> [round(f, 6) for f, _ in trajectory(2, 1e6, 3.0, T=3)]   # f_t ~ (1 - x)^t while |f| << sqrt(n)
    [1.0, -1.999998, 3.999973, -7.999757]
    """
    if dps is None:
        return _run_scalar(L, float(n), float(x), "math", T, record=True)[2][:T + 1]
    with mpmath.workdps(dps):
        return _run_scalar(L, n, mpmath.mpf(x), "mpmath", T, record=True)[2][:T + 1]


def verdicts(L: int, n, xs, T: int = T_SCAN, strict=False):
    """Vectorised float64 verdicts for many (n, x) pairs at once (``n`` scalar or array like ``xs``).

    Returns (codes, steps): code 1 = diverges, 0 = converges, -1 = undecided (as :func:`diverges`,
    decided by the same rules, on numpy arrays; decided orbits are dropped from the batch).

    >>> codes, _ = verdicts(2, 1e4, [3.9, 3.99, 4.01, 4.5]); codes.tolist()
    [0, 0, 1, 1]
    """
    xs = np.asarray(xs, dtype=float)
    ns = np.broadcast_to(np.asarray(n, dtype=float), xs.shape).copy()
    m = xs.size
    step = fast_step(L, "numpy")
    one = np.ones(m)
    sqn = np.sqrt(ns)
    c = [one, ns, ns, ns, sqn]
    # the initial state depends on n only through sqrt(n) * identity blocks: rebuild it per element
    names = [str(v) for v in deep_map(L).state]
    init = deep_map(L).init
    S = []
    for nm in names:
        e = init[nm]
        if e.has(N_SYM):
            S.append(np.asarray(sp.lambdify(N_SYM, e, "numpy")(ns), dtype=float) * one)
        else:
            S.append(float(e) * one)
    _, f0, lam0 = step(S, c)
    lam0 = np.broadcast_to(lam0, (m,)).copy()
    return run_lockstep(step, S, [xs / lam0, ns, ns, ns, sqn], sqn, T, strict)


def run_lockstep(step, S, c, sqn, T=T_SCAN, strict=False, curv=1.0):
    """The verdict loop of :func:`verdicts` on float64 arrays, for any initial states ``S`` (list of
    arrays, one per coordinate) and constants ``c`` (list of arrays; ``c[0]`` is eta); ``sqn`` the
    nonlinear scale of f per orbit (sqrt(n); 1 for the width-1 form); ``curv`` = l''(f*) of the step's
    loss at its minimiser f* = 0 (stability: eta*lam*curv < 2).  Returns (codes, steps)."""
    m = np.broadcast_shapes(*[np.shape(v) for v in list(S) + list(c)] + [np.shape(sqn)])[0]
    S = [np.broadcast_to(np.asarray(v, float), (m,)).copy() for v in S]
    c = [np.broadcast_to(np.asarray(v, float), (m,)).copy() for v in c]
    sqn = np.broadcast_to(np.asarray(sqn, float), (m,)).copy()
    _, f0, lam0 = step(S, c)
    f0, lam0 = np.broadcast_to(f0, (m,)).copy(), np.broadcast_to(lam0, (m,)).copy()
    fcap, lcap, g0, fset = F_CAP * sqn, LAM_CAP * lam0, f0 * f0 * lam0, SETTLE_F * sqn
    code = np.full(m, -1, dtype=np.int8)
    when = np.full(m, T, dtype=np.int64)
    idx = np.arange(m)
    fprev = np.full(m, np.inf)
    lprev = np.full(m, np.inf)
    run = np.zeros(m, dtype=np.int64)
    with np.errstate(all="ignore"):
        for t in range(T + 1):
            S2, fv, lv = step(S, c)
            fv = np.broadcast_to(fv, idx.shape)
            lv = np.broadcast_to(lv, idx.shape)
            af = np.abs(fv)
            div = ~(np.isfinite(fv) & np.isfinite(lv)) | (af > fcap) | (lv > lcap)
            conv = ~div & ((fv * fv <= CONV_REL * f0 * f0) | (fv * fv * lv <= CONV_REL * g0)
                           | ((af <= FLOOR64 * fcap / F_CAP) & (curv * c[0] * lv < 2)))
            ok = ((af <= fset) & (curv * c[0] * lv < 2) & (af <= fprev)
                  & (curv * c[0] * (lv - lprev) <= SETTLE_DRIFT * (2 - curv * c[0] * lv)) & (not strict))
            run = np.where(ok, run + 1, 0)
            conv |= ~div & (run >= SETTLE)
            done = div | conv
            if done.any():
                code[idx[div]] = 1
                code[idx[conv]] = 0
                when[idx[done]] = t
                keep = ~done
                idx = idx[keep]
                if idx.size == 0:
                    break
                S2 = [np.broadcast_to(v, keep.shape)[keep] for v in S2]
                c = [v[keep] for v in c]
                f0, g0, fcap, lcap, fset = f0[keep], g0[keep], fcap[keep], lcap[keep], fset[keep]
                af, lv, run = af[keep], lv[keep], run[keep]
            S, fprev, lprev = S2, af, lv
    return code, when


def check_settled(L: int, n, xs, T_long: int = 200000):
    """Test the *settled* rule: re-run every orbit it called convergent with the rule switched off for
    ``T_long`` steps.  Returns (how many the rule decided, how many of those then diverged).

    >>> check_settled(3, 1e8, [5.2, 5.3, 5.55], T_long=20000)
    (3, 0)
    """
    xs = np.asarray(xs, dtype=float)
    code, _ = verdicts(L, n, xs)
    strict, _ = verdicts(L, n, xs, T=T_long, strict=True)
    dec = code == 0
    return int(dec.sum()), int((dec & (strict == 1)).sum())


# ---------------------------------------------------------------- threshold

#: precision ladder: float64, then mpmath digits
LADDER = (None, 30, 60, 120, 240)


def _tag(dps):
    return "float64" if dps is None else f"mp{dps}"


def grid(L: int, step: float = 0.01, start: float = 2.0, stop=None):
    """The scan grid x = start, start + step, ..., stop (default 4L; rounded decimal values).

    >>> g = grid(2); float(g[0]), float(g[-1]), len(g)
    (2.0, 8.0, 601)
    """
    stop = 4 * L if stop is None else stop
    k = int(round((stop - start) / step))
    return np.round(start + step * np.arange(k + 1), 10)


def _runs(mask):
    """Maximal runs of True in a boolean array, as (first, last) index pairs."""
    out, i, m = [], 0, len(mask)
    while i < m:
        if mask[i]:
            j = i
            while j + 1 < m and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


@dataclass
class Edge:
    """A located edge: the verdict is False (converges) at ``lo`` and True (diverges) at ``hi``."""

    lo: float
    hi: float
    precisions: list
    evaluations: int = 0
    escalations: int = 0
    notes: list = field(default_factory=list)

    @property
    def x(self):
        return (self.lo + self.hi) / 2

    @property
    def width(self):
        return self.hi - self.lo


def growth_period(x):
    """P(x) = 2 ln|1 - x|: the growth of ln n that adds one catapult growth step (|f| ~ |1 - x|^t
    must reach ~ sqrt(n)).

    >>> round(growth_period(5.0), 6), round(growth_period(-1.0), 6)
    (2.772589, 1.386294)
    """
    return 2 * np.log(np.abs(1 - np.asarray(x, dtype=float))) if np.ndim(x) else 2 * math.log(abs(1 - x))


def equivalent_width(x, n, n_ref):
    """The width n e^{-k P(x)} (k an integer, possibly negative) in [n_ref, n_ref e^{P(x)}).

    If the verdict set is invariant under n -> n |1 - x|^2 (tested by :func:`invariance_test` and
    :func:`edge_shift`), the verdict at (x, n) equals the verdict at (x, equivalent_width(x, n, n_ref)),
    which reaches n = 1e300 at the cost of n ~ n_ref.

    >>> w = equivalent_width(5.0, 1e100, 1e6); 1e6 <= w < 1e6 * 16, round(math.log(1e100 / w) / growth_period(5.0), 9) % 1
    (True, 0.0)
    """
    P = growth_period(x)
    d = np.mod(np.log(n) - np.log(n_ref), P)
    out = np.exp(np.log(n_ref) + d)
    return float(out) if np.ndim(out) == 0 else out


def _pred(L, n, x, dps, T, n_ref=None):
    if n_ref is not None:
        n = equivalent_width(x, n, n_ref)
    v = diverges(L, n, x, dps=dps, T=T)
    if v is None:                          # one retry with a longer horizon
        v = diverges(L, n, x, dps=dps, T=5 * T)
    return v


def locate_edge(L: int, n, lo, hi, rtol=1e-10, T=T_BISECT, confirm=True, ladder=LADDER, n_ref=None):
    """Bisect the divergence verdict between ``lo`` (convergent) and ``hi`` (divergent) to relative
    width ``rtol``, starting in float64; then re-decide both ends at the next two rungs of ``ladder``
    (30 and 60 digits).  If any verdict differs (or is undecided), bisect again one rung up (from the
    original bracket, which must straddle there) and confirm at the two rungs above, and so on.

    >>> e = locate_edge(2, 1e3, 3.99, 4.01); abs(e.x - 4) < 1e-9, e.precisions
    (True, ['float64', 'mp30', 'mp60'])
    """
    evals = 0
    notes = []
    for r in range(len(ladder) - 2 if confirm else 1):
        dps = ladder[r]
        a, b = lo, hi
        # the bracket must straddle at this precision; an edge sitting on a bracket end (x = 4 for L = 2)
        # has a rounding-dependent verdict there, so widen by one bracket width, at most twice
        for k in range(3):
            va, vb = _pred(L, n, a, dps, T, n_ref), _pred(L, n, b, dps, T, n_ref)
            evals += 2
            if va is False and vb is True:
                break
            if k == 2:
                notes.append(f"bracket [{a}, {b}] does not straddle at {_tag(dps)}: {va}, {vb}")
                return Edge(a, b, [_tag(dps)], evals, r, notes)
            w = b - a
            if va is not False:
                a -= w
            if vb is not True:
                b += w
            notes.append(f"widened to [{a}, {b}] at {_tag(dps)}")
        while (b - a) > rtol * abs(b):
            mid = (a + b) / 2
            if mid == a or mid == b:
                break
            v = _pred(L, n, mid, dps, T, n_ref)
            evals += 1
            if v is None:
                notes.append(f"undecided at x={mid!r} ({_tag(dps)}); bisection stopped")
                break
            if v:
                b = mid
            else:
                a = mid
        if not confirm:
            return Edge(a, b, [_tag(dps)], evals, 0, notes)
        # confirm both ends at the two rungs above; if that fails, the edge may sit exactly on a bracket
        # end (a rounding-dependent verdict): accept the bracket widened by its width on both sides if
        # that one is confirmed, before escalating
        for a2, b2 in ((a, b), (a - (b - a), b + (b - a))):
            ok = True
            for d in ladder[r + 1:r + 3]:
                va, vb = _pred(L, n, a2, d, T, n_ref), _pred(L, n, b2, d, T, n_ref)
                evals += 2
                if va is not False or vb is not True:
                    ok = False
                    notes.append(f"{_tag(dps)} bracket [{a2!r}, {b2!r}] re-decided at {_tag(d)}: {va}, {vb}")
                    break
            if ok:
                return Edge(a2, b2, [_tag(x) for x in ladder[r:r + 3]], evals, r, notes)
    notes.append("precisions never agreed")
    return Edge(a, b, [_tag(dps)], evals, len(ladder), notes)


@dataclass
class Threshold:
    """The divergence threshold of the depth-L map at width n (units x = eta*lam0).

    ``first``     -- the edge below the first divergent grid point: the threshold x*;
    ``last``      -- the edge below the final all-divergent stretch of the fine grid (x_last = x* when
                     there are no convergent windows);
    ``windows``   -- maximal runs of convergent fine-grid points above x*, as (first x, last x);
    ``undecided`` -- grid points with no verdict (coarse and fine grids).
    """

    L: int
    n: float
    first: Edge
    last: Edge
    windows: list
    undecided: list
    step: float
    fine: float
    seconds: float

    @property
    def x(self):
        return self.first.x

    @property
    def x_last(self):
        return float("nan") if self.last is None else self.last.x

    @property
    def window_measure(self):
        """Total length of the convergent windows above x* (at the fine resolution)."""
        return sum(b - a + self.fine for a, b in self.windows)


def threshold(L: int, n, rtol=1e-10, step=0.01, fine=0.001, sliver=1e-4, below=1.0, T=T_SCAN,
              confirm=True, n_ref=None, start=None) -> Threshold:
    """Locate x* (smallest divergent x on the grids, then bisected and confirmed) and x_last.

    1. coarse scan x = start, start + step, ..., 4L: first divergent point x_c;
    2. sliver scan of [x_c - below, x_c] with spacing ``sliver``: the divergent set has thin slivers
       (width << 0.01) below x_c at ~10-25 % of widths, which the coarse grid steps over;
    3. fine scan (spacing ``fine``) from the first divergent point up to 4L: convergent windows above
       x* and x_last (the start of the final all-divergent stretch below 4L; ``last`` is None and
       x_last nan when x = 4L itself converges -- it happens for L = 8, whose convergent windows
       reach x ~ 70);
    4. both edges bisected by :func:`locate_edge` (``confirm=False``: float64 only).

    With ``n_ref`` every verdict at (x, n) is taken at (x, :func:`equivalent_width` (x, n, n_ref))
    instead (n beyond the direct runs, or to test the invariance); the scan then starts at x = 3 (the
    growth period P(x) = 2 ln|1 - x| vanishes at x = 2).  ``sliver=None`` skips step 2.

    >>> r = threshold(3, 100)
    >>> round(r.x, 6), r.first.width < 1e-9 * r.x, r.windows
    (5.192769, True, [])
    """
    t0 = time.perf_counter()
    start = start if start is not None else (2.0 if n_ref is None else 3.0)

    def codes(xs):
        return verdicts(L, n if n_ref is None else equivalent_width(xs, n, n_ref), xs, T=T)[0]
    xs = grid(L, step, start)
    code = codes(xs)
    div = code == 1
    if not div.any():
        raise RuntimeError(f"L={L}, n={n}: no divergent grid point up to x = {xs[-1]}")
    i1 = int(np.argmax(div))
    if i1 == 0:
        raise RuntimeError(f"L={L}, n={n}: already divergent at x = {xs[0]}")
    undecided = [float(v) for v in xs[:i1][code[:i1] == -1]]
    x_c = float(xs[i1])
    if sliver:
        a = max(start, x_c - below)
        xsl = np.round(a + sliver * np.arange(int(round((x_c - a) / sliver)) + 1), 12)
        csl = codes(xsl)
        undecided += [float(v) for v in xsl[csl == -1]]
        if (csl == 1).any():
            k = int(np.argmax(csl == 1))
            if k == 0:
                raise RuntimeError(f"L={L}, n={n}: divergent at the sliver scan's start x = {xsl[0]}")
            x_c = float(xsl[k])
        lo_start = float(xsl[max(int(np.argmax(csl == 1)) - 1, 0)]) if (csl == 1).any() else float(xs[i1 - 1])
    else:
        lo_start = float(xs[i1 - 1])
    xf = np.concatenate([[lo_start], grid(L, fine, x_c)])
    cf = codes(xf)
    undecided += [float(v) for v in xf[cf == -1]]
    df = cf == 1
    j1 = int(np.argmax(df))
    nd = np.where(~df)[0]
    j2 = int(nd[-1]) + 1
    windows = [(float(xf[a + j1]), float(xf[b + j1])) for a, b in _runs(cf[j1:] == 0)]
    first = locate_edge(L, n, float(xf[j1 - 1]), float(xf[j1]), rtol, T, confirm, n_ref=n_ref)
    if j2 == j1:
        last = first
    elif j2 == len(xf):
        last = None
    else:
        last = locate_edge(L, n, float(xf[j2 - 1]), float(xf[j2]), rtol, T, confirm, n_ref=n_ref)
    return Threshold(L, float(n), first, last, windows, undecided, step, fine, time.perf_counter() - t0)


# ---------------------------------------------------------------- the n -> n |1 - x|^2 invariance


def invariance_test(L: int, n_values=(1e8, 3e8, 1e9, 3e9, 1e10), step=0.01, extra=(), T=T_SCAN):
    """Test D(x, n) = D(x, n |1 - x|^2) (D = the divergence verdict) where it is hardest: at every grid
    point x (spacing ``step``) adjacent to a verdict change at width n, for each n in ``n_values``.
    Candidates: n |1 - x|^p for p = 1, 2, 4, n |1 - x|^2 times 1.02 and 1/1.02 (controls), and n e^P for
    each constant period P in ``extra``.  Returns {label: (agree, total)}.

    >>> r = invariance_test(3, n_values=(1e5,)); r['|1-x|^2'][0] == r['|1-x|^2'][1] > r['|1-x|^1'][0]
    True
    """
    xs = grid(L, step)
    X, Nn, base = [], [], []
    for n in n_values:
        code, _ = verdicts(L, n, xs, T=T)
        near = np.zeros(len(xs), dtype=bool)
        ch = (code[1:] != code[:-1])
        near[1:] |= ch
        near[:-1] |= ch
        X.append(xs[near])
        Nn.append(np.full(int(near.sum()), float(n)))
        base.append(code[near])
    X, Nn, base = np.concatenate(X), np.concatenate(Nn), np.concatenate(base)
    cands = [(f"|1-x|^{p}", np.abs(1 - X) ** p) for p in (1, 2, 4)]
    cands += [("|1-x|^2 * 1.02", 1.02 * np.abs(1 - X) ** 2), ("|1-x|^2 / 1.02", np.abs(1 - X) ** 2 / 1.02)]
    cands += [(f"e^{P:.4f} (constant)", np.full(len(X), math.exp(P))) for P in extra]
    out = {}
    for label, fac in cands:
        v, _ = verdicts(L, Nn * fac, X, T=T)
        out[label] = (int((v == base).sum()), len(X))
    return out


def edge_shift(L: int, n, k: int = 1, power: float = 2.0, h: float = 0.01, rtol=1e-12, T=T_BISECT,
               factor=None):
    """Locate the first edge x* at width n (float64), then the edge nearest to x* at width
    n |1 - x*|^(power k) (or n factor^k); returns (x*, x*', x*' - x*) (None when no edge lies within
    h).  For the invariance (power 2) the shift should vanish as n grows; for a wrong factor it
    stays O(step) or no edge is found.

    >>> xs, xs2, d = edge_shift(3, 1e10); abs(d) < 1e-5
    True
    """
    e = threshold(L, n, rtol=rtol, confirm=False, T=T).first
    x0 = e.x
    n2 = n * abs(1 - x0) ** (power * k) if factor is None else n * factor ** k
    loc = np.linspace(x0 - h, x0 + h, 201)
    code, _ = verdicts(L, n2, loc, T=T)
    ch = [i for i in range(200) if code[i] != code[i + 1] and -1 not in (code[i], code[i + 1])]
    if not ch:
        return x0, None, None
    i = min(ch, key=lambda j: abs(loc[j] - x0))
    a, b = float(loc[i]), float(loc[i + 1])
    va = code[i] == 1
    while b - a > rtol * b:
        m = (a + b) / 2
        if m in (a, b):
            break
        v = diverges(L, n2, m, T=T)
        if v is None:
            break
        if v == va:
            a = m
        else:
            b = m
    x1 = (a + b) / 2
    return x0, x1, x1 - x0


def phase_codes(L: int, xs, psis, n_ref=1e9, T=T_SCAN):
    """Verdicts on the (x, psi) cylinder: at (x, n_ref e^{psi P(x)}).  If the verdict set is invariant
    under n -> n |1 - x|^2, this picture (psi in [0, 1)) holds every width: n is in it at
    psi = frac(ln(n/n_ref)/P(x)).  Returns an array of codes, shape (len(psis), len(xs)).

    >>> c = phase_codes(3, [5.0, 6.3], [0.0, 0.5]); c.tolist()
    [[0, 1], [0, 1]]
    """
    X, Ps = np.meshgrid(np.asarray(xs, float), np.asarray(psis, float))
    code, _ = verdicts(L, (n_ref * np.exp(Ps * growth_period(X))).ravel(), X.ravel(), T=T)
    return code.reshape(X.shape)


def phase_limits(L: int, x_a, x_b, nx=241, npsi=240, zooms=5, n_ref=1e9, T=T_SCAN):
    """The n -> infinity limits implied by the invariance: x_lo = the smallest x at which *some* width
    diverges (some psi), x_hi = the largest x at which some width converges.  For x < x_lo every width
    converges, for x > x_hi every width diverges; in between the phase psi(x) = ln(n/n_ref)/P(x) winds
    ever faster in x as n grows (d psi/dx ~ ln n P'(x)/P(x)^2), so the convergent/divergent windows
    shrink like 1/ln n and x*(n) -> x_lo, x_last(n) -> x_hi.

    Located on a (x, psi) grid over [x_a, x_b] x [0, 1), then ``zooms`` times on 41 x 41 grids around
    the extreme cells.  Returns {'x_lo': (value, previous-zoom value, psi), 'x_hi': (...), 'fraction': ...}.

    >>> r = phase_limits(3, 5.0, 5.4, nx=41, npsi=60, zooms=2); abs(r['x_lo'][0] - 5.1509) < 2e-3
    True
    """
    xs = np.linspace(x_a, x_b, nx)
    ps = np.arange(npsi) / npsi
    code = phase_codes(L, xs, ps, n_ref, T)
    out = {"fraction": {float(x): float(f) for x, f in zip(xs[::max(1, nx // 24)], (code == 1).mean(0)[::max(1, nx // 24)])},
           "grid": (nx, npsi)}
    for key, target, pick in (("x_lo", 1, "min"), ("x_hi", 0, "max")):
        cols = np.where((code == target).any(0))[0]
        if len(cols) == 0:
            out[key] = (None, None)
            continue
        j = cols[0] if pick == "min" else cols[-1]
        x0, dx = xs[j], xs[1] - xs[0]
        pr = ps[code[:, j] == target]
        p0, p1, dp = pr.min(), pr.max(), ps[1] - ps[0]
        hist = [float(x0)]
        for _ in range(zooms):
            zx = np.linspace(x0 - 2 * dx, x0 + 2 * dx, 41) if pick == "min" else np.linspace(x0 - 2 * dx, x0 + 2 * dx, 41)
            zp = np.linspace(p0 - 2 * dp, p1 + 2 * dp, 41)
            c = phase_codes(L, zx, zp, n_ref, T)
            cols = np.where((c == target).any(0))[0]
            if len(cols) == 0:
                break
            j = cols[0] if pick == "min" else cols[-1]
            x0, dx = zx[j], zx[1] - zx[0]
            pr = zp[c[:, j] == target]
            p0, p1, dp = pr.min(), pr.max(), zp[1] - zp[0]
            hist.append(float(x0))
        out[key] = (hist[-1], hist[-2] if len(hist) > 1 else None, float((p0 + p1) / 2))
    return out


def asymptotic_window(L: int, N, n_ref=1e9, samples=21, x_from=None, span=None, res=0.003):
    """x*(n) and x_last(n) for n through one growth period above N (ln n in [ln N, ln N + span]),
    from the invariance (verdicts at :func:`equivalent_width`), on an x grid fine enough for the phase
    winding: spacing min(0.001, res/r), r = ln(N/n_ref) P'(x)/P(x)^2 windings per unit x.
    Returns {'x_min', 'x_max', 'x_last_min', 'x_last_max', 'step'} (float64, grid-level brackets).

    >>> r = asymptotic_window(3, 1e100, samples=2, x_from=5.1, span=1.0); 5.15 < r['x_min'] <= r['x_max'] < 5.3
    True
    """
    x_from = x_from if x_from is not None else 3.0
    xm = x_from + 1.0
    r = abs(math.log(N / n_ref)) * (2 / (xm - 1)) / growth_period(xm) ** 2
    step = min(0.001, res / max(r, 1e-9))
    span = span if span is not None else growth_period(4 * L)
    xs_, xl_ = [], []
    for t in np.linspace(math.log(N), math.log(N) + span, samples):
        r_ = threshold(L, math.exp(t), rtol=1e-7, step=step, fine=step, confirm=False, n_ref=n_ref,
                       start=x_from)
        xs_.append(r_.x)
        xl_.append(r_.x_last)
    xl_ = np.array(xl_)
    return {"x_min": min(xs_), "x_max": max(xs_), "x_last_min": float(np.nanmin(xl_)) if np.isfinite(xl_).any() else None,
            "x_last_max": float(np.nanmax(xl_)) if np.isfinite(xl_).any() else None, "x_last_open": int(np.isnan(xl_).sum()),
            "step": step, "samples": samples}


# ---------------------------------------------------------------- band over n


def log_grid(per_decade=40, lo_exp=2, hi_exp=9):
    """n = 10^(k/per_decade) for lo_exp <= k/per_decade <= hi_exp (floats; the map takes real n).

    >>> g = log_grid(2, 2, 3); [round(v, 3) for v in g]
    [100.0, 316.228, 1000.0]
    """
    return [10.0 ** (k / per_decade) for k in range(int(round(lo_exp * per_decade)), int(round(hi_exp * per_decade)) + 1)]


def golden(fun, a, b, maximize=True, iters=14):
    """Golden-section search of ``fun`` on [a, b]; returns (argbest, best) over all points evaluated.

    >>> t, v = golden(lambda t: -(t - 0.3) ** 2, 0.0, 1.0, iters=30); round(t, 6), round(v, 9)
    (0.3, -0.0)
    """
    g = (math.sqrt(5) - 1) / 2
    sgn = 1 if maximize else -1
    seen = {}

    def F(t):
        if t not in seen:
            seen[t] = fun(t)
        v = seen[t]
        return -math.inf if v != v else sgn * v
    c, d = b - g * (b - a), a + g * (b - a)
    for _ in range(iters):
        if F(c) > F(d):
            b, d = d, c
            c = b - g * (b - a)
        else:
            a, c = c, d
            d = a + g * (b - a)
    t = max(seen, key=F)
    return t, seen[t]


def _q(L, which, n_ref=None, confirm=False):
    def q(lnn):
        r = threshold(L, math.exp(lnn), confirm=confirm, n_ref=n_ref)
        return r.x if which == "x" else r.x_last
    return q


def extremes(L, ns, vals, which="x", lo_exp=None, hi_exp=None, refine=True, iters=12):
    """Min and max of the sampled thresholds ``vals`` over n in [10^lo_exp, 10^hi_exp], each refined by
    golden-section search in ln n between the sample's neighbours (float64 thresholds).

    Returns {'min': (n, value, sampled value), 'max': (...)}.

    >>> e = extremes(3, [1e2, 1e3, 1e4], [5.19, 5.22, 5.78], refine=False); e['max'][1], round(e['min'][0], 6)
    (5.78, 100.0)
    """
    ln = np.log(ns)
    v = np.asarray(vals)
    sel = np.ones(len(ns), dtype=bool)
    if lo_exp is not None:
        sel &= ln >= lo_exp * math.log(10) - 1e-9
    if hi_exp is not None:
        sel &= ln <= hi_exp * math.log(10) + 1e-9
    idx = np.where(sel)[0]
    out = {}
    for kind, pick in (("min", np.nanargmin), ("max", np.nanargmax)):
        i = int(idx[pick(v[idx])])
        best_t, best = ln[i], float(v[i])
        if refine:
            a, b = ln[max(i - 1, 0)], ln[min(i + 1, len(ln) - 1)]
            t, val = golden(_q(L, which), a, b, maximize=(kind == "max"), iters=iters)
            if (kind == "max" and val > best) or (kind == "min" and val < best):
                best_t, best = t, val
        out[kind] = (math.exp(best_t), best, float(v[i]))
    return out


def autocorr_period(ln_n, vals):
    """The first autocorrelation maximum (after the first zero crossing) of ``vals`` sampled on a uniform
    grid in ln n, parabolically refined; in units of ln n.

    >>> t = np.linspace(0, 30, 600); round(float(autocorr_period(t, np.sin(2 * np.pi * t / 3.1))), 2)
    3.1
    """
    y = np.asarray(vals, float) - np.mean(vals)
    h = float(ln_n[1] - ln_n[0])
    m = len(y)
    r = np.array([np.dot(y[:m - j], y[j:]) / (m - j) for j in range(m // 2)])
    r /= r[0]
    z = np.argmax(r < 0)
    if z == 0:
        return None
    j = z + int(np.argmax(r[z:]))
    if 0 < j < len(r) - 1:
        d = (r[j - 1] - r[j + 1]) / (2 * (r[j - 1] - 2 * r[j] + r[j + 1]))
    else:
        d = 0.0
    return (j + d) * h


def drops(L, ns, vals, which="x", frac=0.3, iters=14, n_ref=None):
    """The sawtooth drops of the threshold curve: sample pairs where the value falls by more than
    ``frac`` of the total range, each located by bisection in ln n.  Returns a list of
    (ln n at the drop, value just before, value just after).

    >>> drops(3, [1e2, 1e3, 1e4], [5.19, 5.22, 5.78])   # no fall: no drop
    []
    """
    ln = np.log(ns)
    v = np.asarray(vals)
    thr = frac * (v.max() - v.min())
    q = _q(L, which, n_ref=n_ref)
    out = []
    for i in range(len(v) - 1):
        if v[i] - v[i + 1] > thr:
            a, b, va, vb = ln[i], ln[i + 1], float(v[i]), float(v[i + 1])
            mid = (va + vb) / 2
            for _ in range(iters):
                t = (a + b) / 2
                w = q(t)
                if w > mid:
                    a, va = t, w
                else:
                    b, vb = t, w
            out.append(((a + b) / 2, va, vb))
    return out


@dataclass
class Band:
    """Thresholds over n and their analysis (see :func:`band`)."""

    L: int
    rows: list
    ext: dict = field(default_factory=dict)
    period: dict = field(default_factory=dict)
    asym: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def band(L: int, n_values=None, per_decade=40, lo_exp=2, hi_exp=9, confirm=True, refine=True,
         asymptotic=True, n_ref=1e9, progress=None) -> Band:
    """Thresholds x*(n) (and x_last(n)) over log-spaced n, with

    * ``ext``: min / max of x* and x_last over the last two decades and over the two before them
      (golden-refined in ln n); their difference is the error estimate of lim inf / lim sup;
    * ``period``: autocorrelation period of x*(ln n), the located sawtooth drops and their spacings
      against P(x) = 2 ln|1 - x| at the values just after / before each drop, and against the other
      candidates ln|1 - x| and 4 ln|1 - x|; plus :func:`invariance_test`;
    * ``asym`` (if ``asymptotic``): the limits x_lo, x_hi from :func:`phase_limits`; min / max of x*
      and x_last over one growth period above n = 1e12 ... 1e300 (:func:`asymptotic_window`, using
      the invariance, reference ``n_ref``); direct vs invariance thresholds at 1e12 and 1e15.

    A small doctest (L = 2, three widths):

    >>> b = band(2, [1e2, 1e5, 1e9], refine=False, asymptotic=False)
    >>> all(abs(r.x - 4) < 1e-9 and r.windows == [] for r in b.rows)
    True
    """
    t0 = time.perf_counter()
    ns = list(n_values) if n_values is not None else log_grid(per_decade, lo_exp, hi_exp)
    rows = []
    for n in ns:
        r = threshold(L, n, confirm=confirm)
        rows.append(r)
        if progress:
            progress(r)
    B = Band(L, rows)
    B.seconds["thresholds"] = time.perf_counter() - t0
    ns = np.array([r.n for r in rows])
    x = np.array([r.x for r in rows])
    xl = np.array([r.x_last for r in rows])
    if len(ns) < 8 or x.max() - x.min() < 1e-8:
        B.ext = {"x": {"all": {"min": float(x.min()), "max": float(x.max())}}}
        B.seconds["total"] = time.perf_counter() - t0
        return B
    t1 = time.perf_counter()
    top = math.log10(ns[-1])
    for which, vals in (("x", x), ("x_last", xl)):
        if not np.isfinite(vals).all():
            continue
        B.ext[which] = {
            "last2": extremes(L, ns, vals, which, top - 2, top, refine),
            "prev2": extremes(L, ns, vals, which, top - 4, top - 2, refine),
        }
    B.seconds["extremes"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    ln = np.log(ns)
    per = {"autocorr_x": autocorr_period(ln, x),
           "autocorr_x_last": autocorr_period(ln, xl) if np.isfinite(xl).all() else None,
           "x_last_open": int(np.isnan(xl).sum())}
    dr = drops(L, ns, x, "x")
    per["drops_x"] = dr
    per["drop_spacings"] = [
        {"from": math.exp(a[0]), "to": math.exp(b[0]), "spacing": b[0] - a[0],
         "P_after_prev": growth_period(a[2]), "P_after_next": growth_period(b[2]),
         "P_before_next": growth_period(b[1]),
         "ln|1-x| (after)": math.log(abs(1 - b[2])), "4ln|1-x| (after)": 2 * growth_period(b[2])}
        for a, b in zip(dr, dr[1:])]
    per["invariance"] = invariance_test(L, extra=tuple(v for v in (per["autocorr_x"],) if v))
    per["edge_shift"] = []
    for n in (1e3, 1e5, 1e7, 1e9, 1e11):
        row = {"n": n}
        for k in (1, -1):
            row[f"k={k}"] = edge_shift(L, n, k=k)[2]
        row["power 1"] = edge_shift(L, n, k=1, power=1.0)[2]
        if per["autocorr_x"]:
            row["constant"] = edge_shift(L, n, k=1, factor=math.exp(per["autocorr_x"]))[2]
        per["edge_shift"].append(row)
    B.period = per
    B.seconds["period"] = time.perf_counter() - t2
    if asymptotic:
        t3 = time.perf_counter()
        lo_x, hi_x = float(np.nanmin(np.r_[x, xl])), float(np.nanmax(np.r_[x, xl]))
        asym = {"phase": phase_limits(L, lo_x - 0.3, hi_x + 0.3, n_ref=n_ref)}
        x_lo = asym["phase"]["x_lo"][0]
        start = (x_lo - 0.05) if x_lo else lo_x - 0.3
        for N in (1e12, 1e20, 1e50, 1e100, 1e300):
            asym[N] = asymptotic_window(L, N, n_ref, x_from=start, span=growth_period(hi_x + 0.3))
        checks = []
        for N in (1e12, 1e15):
            for t in np.linspace(math.log(N), math.log(N) + growth_period(hi_x), 7)[:-1]:
                d = threshold(L, math.exp(t), confirm=False)
                p = threshold(L, math.exp(t), confirm=False, n_ref=n_ref)
                checks.append((math.exp(t), d.x, p.x, d.x_last, p.x_last))
        asym["checks"] = checks
        B.asym = asym
        B.seconds["asymptotic"] = time.perf_counter() - t3
    B.seconds["total"] = time.perf_counter() - t0
    return B


def uv_drift_identity():
    """L = 2 (the uv model): lam' - lam - (eta f^2/n)(eta lam - 4), simplified from the derived map --
    zero for every state and every A, C, rho.  With eta*lam0 < 4 the drift is negative while f grows, so
    lam falls until eta*lam < 2 and the orbit converges; with eta*lam0 > 4 lam only grows: x* = 4 at
    every n.

    >>> uv_drift_identity()
    0
    """
    dm = deep_map(2)
    sub = {s: dm.update[str(s)] for s in dm.state}
    lam1 = dm.lam.xreplace(sub)
    return sp.simplify(sp.expand(lam1 - dm.lam - eta * dm.f ** 2 / N_SYM * (eta * dm.lam - 4)))


# ---------------------------------------------------------------- reporting


def to_json(B: Band) -> dict:
    """A JSON-ready dict of a :class:`Band`."""
    def edge(e):
        if e is None:
            return None
        return {"lo": e.lo, "hi": e.hi, "precisions": e.precisions, "escalations": e.escalations,
                "notes": e.notes}
    rows = [{"n": r.n, "x": r.x, "first": edge(r.first), "x_last": r.x_last, "last": edge(r.last),
             "windows": r.windows, "undecided": r.undecided, "seconds": r.seconds} for r in B.rows]

    def conv(o):
        if isinstance(o, dict):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        return o
    return conv({"L": B.L, "rows": rows, "ext": B.ext, "period": B.period, "asym": B.asym,
                 "seconds": B.seconds})


def markdown(B: Band, every=1) -> str:
    """The measured tables of a :class:`Band` as markdown (``every``: print every k-th row)."""
    L = B.L
    out = [f"### L = {L}", "", f"thresholds: {len(B.rows)} widths, {B.seconds.get('thresholds', 0):.0f} s; "
           f"total {B.seconds.get('total', 0):.0f} s", ""]
    out += ["| n | x* | bracket width | precisions | x_last | width | windows above x*: count, measure, largest |",
            "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(B.rows):
        if i % every and i != len(B.rows) - 1:
            continue
        if r.windows:
            big = max(r.windows, key=lambda w: w[1] - w[0])
            w = f"{len(r.windows)}, {r.window_measure:.3f}, [{big[0]:.3f}, {big[1]:.3f}]"
        else:
            w = "-"
        lw = "open (4L converges)" if r.last is None else f"{r.last.width:.1e}"
        out.append(f"| {r.n:.4g} | {r.x:.10f} | {r.first.width:.1e} | {'+'.join(r.first.precisions)} | "
                   f"{r.x_last:.10f} | {lw} | {w} |")
    und = sum(len(r.undecided) for r in B.rows)
    esc = sum(r.first.escalations + (r.last.escalations if r.last not in (None, r.first) else 0) for r in B.rows)
    out += ["", f"undecided grid points: {und}; escalations beyond float64: {esc}; "
            f"widths with windows: {sum(1 for r in B.rows if r.windows)}/{len(B.rows)}", ""]
    for which in B.ext:
        for win, d in B.ext[which].items():
            if win == "all":
                out.append(f"- {which}: min {d['min']:.10f}, max {d['max']:.10f}")
                continue
            out.append(f"- {which} {win}: min {d['min'][1]:.8f} at n = {d['min'][0]:.4g} (sampled {d['min'][2]:.8f}), "
                       f"max {d['max'][1]:.8f} at n = {d['max'][0]:.4g} (sampled {d['max'][2]:.8f})")
    return "\n".join(out)


def _main(argv):
    import argparse
    import json
    ap = argparse.ArgumentParser(prog="python -m catapult.verify.deep_band")
    ap.add_argument("L", type=int)
    ap.add_argument("--per-decade", type=int, default=40)
    ap.add_argument("--lo", type=float, default=2)
    ap.add_argument("--hi", type=float, default=9)
    ap.add_argument("--no-confirm", action="store_true")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--no-asymptotic", action="store_true")
    ap.add_argument("--json", default=None, help="write the raw results here")
    a = ap.parse_args(argv)

    def prog(r):
        print(f"  n={r.n:.4g} x*={r.x:.10f} ({'+'.join(r.first.precisions)}) x_last={r.x_last:.10f} "
              f"windows={len(r.windows)} {r.seconds:.1f}s", file=sys.stderr, flush=True)
    B = band(a.L, per_decade=a.per_decade, lo_exp=a.lo, hi_exp=a.hi, confirm=not a.no_confirm,
             refine=not a.no_refine, asymptotic=not a.no_asymptotic, progress=prog)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(to_json(B), fh, indent=1)
    print(markdown(B))
    print()
    print(json.dumps(to_json(B)["period"], indent=1, default=str))
    print(json.dumps(to_json(B)["asym"], indent=1, default=str))
    print(json.dumps(B.seconds))


if __name__ == "__main__":
    _main(sys.argv[1:])
