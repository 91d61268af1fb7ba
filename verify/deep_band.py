"""The reduced deep-linear map compiled for fast orbits, its divergence verdict, and the divergence
threshold x* = eta*lam0 at one width n (squared loss, invariant init A = C = n, rho = sqrt(n), f0 = 1).

Everything numeric here is compiled from :func:`catapult.theory.deep.derive_deep_map` (``dm.update``,
``dm.f``, ``dm.lam`` lambdified with common-subexpression elimination); nothing is retyped.

Evaluators (:func:`fast_step`)
    ``backend='math'`` (plain python floats, one trajectory), ``'numpy'`` (float64 arrays: many
    (x, n) trajectories in lock-step) and ``'mpmath'`` (arbitrary precision, for confirmation).
    Each is ``step(state, consts) -> (new_state, f, lam)`` with ``f, lam`` those of the *input*
    state and ``consts = [eta, n, A, C, rho]``.

Verdicts (:func:`diverges`, :func:`verdicts`; the loops :func:`run_orbit`, :func:`run_lockstep`)
    True  -- non-finite, |f| > 1e8 sqrt(n) or lam > 1e4 lam0 within T steps;
    False -- converged: loss <= 1e-30 loss0, or |grad|^2 = f^2 lam <= 1e-30 f0^2 lam0, or
             *settled*: for ``SETTLE`` consecutive steps |f| <= 0.01 sqrt(n) and non-increasing,
             eta*lam < 2 and lam non-increasing or creeping up by at most ``SETTLE_DRIFT`` (2 - eta*lam)
             per step (a monotone descent with a stable step, far below the nonlinear scale
             |f| ~ sqrt(n).  This catches (i) the orbits whose lam collapses after the catapult
             (eta*lam ~ 1/t, f ~ 1/t: they converge only algebraically and would never reach 1e-30)
             and (ii) the float64 rounding floor of f (~ eps sqrt(n), far above 1e-30 loss).
             ``strict=True`` switches this rule off; ``studies/deep_band/band.py: check_settled`` tests
             it); or, in float64 only, |f| <= 1e3 eps sqrt(n) with eta*lam < 2 (the rounding floor,
             where f jitters);
    None  -- undecided within T steps.

Threshold (:func:`threshold`)
    Scan x = 2, 2.01, ..., 4L (float64, vectorised) for the first divergent point, rescan the unit
    below it at spacing 1e-4 (thin divergent slivers), scan above it at 1e-3 for the convergent
    windows and x_last (start of the final all-divergent stretch below 4L); bisect both edges in
    float64 to ``rtol``, then re-decide both bracket ends at 30 and 60 digits (mpmath); if a verdict
    differs, bisect again at 30 digits and confirm at 60 and 120, and so on (:func:`locate_edge`).
    With ``n_ref`` the verdicts are taken at an :func:`equivalent_width` (the n -> n (x - 1)^2
    invariance, period :func:`growth_period` in ln n), which reaches widths far beyond direct runs.

The study of x*(n) over many widths (sawtooth, invariance tests, n -> infinity limits) is
``studies/deep_band/`` (not part of the package); the n -> infinity band of the limit map is
:mod:`catapult.verify.deep_limit`.

Examples
========
>>> r = threshold(2, 100)
>>> abs(r.x - 4) < 1e-9, r.first.precisions
(True, ['float64', 'mp30', 'mp60'])
"""

from __future__ import annotations

import math
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
    squared loss f^2/2, label 0), cached.  :func:`diverges`, :func:`verdicts` and :func:`threshold` are for
    f^2/2 only; the loss-aware entry points are :func:`fast_step`, :func:`run_orbit`, :func:`run_lockstep`
    and :mod:`catapult.verify.deep_limit`.

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

    If the verdict set is invariant under n -> n |1 - x|^2 (tested by ``invariance_test`` and
    ``edge_shift`` of ``studies/deep_band/band.py``), the verdict at (x, n) equals the verdict at
    (x, equivalent_width(x, n, n_ref)), which reaches n = 1e300 at the cost of n ~ n_ref.

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

