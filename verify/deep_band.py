"""The divergence verdict of the reduced deep-linear map, and the divergence threshold x* = eta*lam0 at one
width n (squared loss, invariant init A = C = n, rho = sqrt(n), f0 = 1).

Everything numeric here is the derived map (:func:`catapult.theory.deep.derive_deep_map`) compiled once per
arithmetic (:func:`catapult.verify.bridge.compile_deep_map`) and iterated by the one loop of
:mod:`catapult.numerics.reduced` (:func:`catapult.verify.deep_thresholds.reduced_run`: python floats or mpmath;
:func:`catapult.verify.deep_thresholds.reduced_lockstep`: many (x, n) orbits in numpy lock-step); nothing is
retyped.

Verdicts (:func:`orbit`, :func:`diverges`, :func:`verdicts`), under the band's stop rule :func:`band_rule`
(the one :class:`catapult.numerics.stop.StopRule`, with its optional criteria on):
    True  -- non-finite, |f| > 1e8 sqrt(n) or lam > 1e4 lam0 within T steps;
    False -- converged: |f| <= 1e-15 |f0| (loss <= 1e-30 loss0) or |grad| <= 1e-15 |grad0|, or
             *settled* (:class:`catapult.numerics.stop.Settle`): for 100 consecutive steps |f| <= 0.01 sqrt(n)
             and non-increasing, eta*lam < 2 and lam non-increasing or creeping up by at most 1e-6 (2 - eta*lam)
             per step (a monotone descent with a stable step, far below the nonlinear scale |f| ~ sqrt(n).
             This catches (i) the orbits whose lam collapses after the catapult (eta*lam ~ 1/t, f ~ 1/t: they
             converge only algebraically and would never reach 1e-15) and (ii) the float64 rounding floor of f
             (~ eps sqrt(n)).  ``strict=True`` switches this rule off; ``studies/deep_band/band.py:
             check_settled`` tests it); or, in float64 only, |f| <= 1e3 eps sqrt(n) with eta*lam < 2 (the
             rounding floor, where f jitters);
    None  -- undecided within T steps.

Threshold (:func:`threshold`)
    Scan x = 2, 2.01, ..., 4L (float64, vectorised) for the first divergent point, rescan the unit
    below it at spacing 1e-4 (thin divergent slivers), scan above it at 1e-3 for the convergent
    windows and x_last (start of the final all-divergent stretch below 4L); locate both edges with
    :func:`catapult.numerics.bracket.bisect_ladder` (:func:`locate_edge`): bisect in float64 to ``rtol``,
    re-decide both bracket ends at 30 and 60 digits (mpmath); if a verdict differs, bisect again at 30 digits
    and confirm at 60 and 120, and so on.  With ``n_ref`` the verdicts are taken at an
    :func:`equivalent_width` (the n -> n (x - 1)^2 invariance, period :func:`growth_period` in ln n), which
    reaches widths far beyond direct runs.

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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from catapult.numerics.bracket import Bracket, bisect_ladder
from catapult.numerics.stop import Settle, StopRule
from catapult.theory.deep import derive_deep_map

from .deep_thresholds import precision_tag, reduced_lockstep, reduced_run, squared_map

#: convergence: |f|/|f0| or |grad|/|grad0| below this (loss/loss0 below 1e-30)
REL = 1e-15
#: settled: 100 consecutive monotone, stable steps with |f| <= 0.01 sqrt(n)
SETTLE = Settle(steps=100, f_max=0.01, drift=1e-6)
#: float64 rounding floor of f, in units of sqrt(n)
FLOOR64 = 1e3 * np.finfo(float).eps
#: default horizons
T_SCAN, T_BISECT = 20000, 20000


def band_rule(dps=None, strict=False) -> StopRule:
    """The stop rule of the band's verdicts at ``dps`` digits (None: float64): run_gd's divergence bounds, no
    absolute gradient tolerance, relative convergence :data:`REL`, the float64 rounding floor :data:`FLOOR64`
    (float64 only) and the :data:`SETTLE` criterion (off with ``strict``).  Why these differ from run_gd's
    defaults: :mod:`catapult.numerics.stop`.

    >>> band_rule(30).floor, band_rule(strict=True).settle is None, band_rule().gtol
    (0.0, True, 0)
    """
    return StopRule(gtol=0, rel=REL, floor=FLOOR64 if dps is None else 0.0, settle=None if strict else SETTLE)


@lru_cache(maxsize=None)
def deep_map(L: int, loss=None):
    """The derived reduced map of depth ``L`` under ``loss`` (a :class:`catapult.theory.loss.Loss`; default the
    squared loss f^2/2, label 0 -- the same object as :func:`catapult.verify.deep_thresholds.squared_map`),
    cached.  :func:`diverges`, :func:`verdicts` and :func:`threshold` are for f^2/2 only; the loss-aware
    entry points are :mod:`catapult.verify.deep_limit`'s.

    >>> deep_map(3).L, len(deep_map(3).state), deep_map(3) is squared_map(3)
    (3, 8, True)
    """
    return squared_map(L) if loss is None else derive_deep_map(L, loss)


# ---------------------------------------------------------------- verdicts


def orbit(L: int, n, x, dps=None, T: int = T_BISECT, strict=False, record=False):
    """The run of the depth-``L`` map from the invariant init at eta = x/lam0 under :func:`band_rule`: a
    :class:`catapult.numerics.reduced.MapRun` (``.stop.verdict`` is the verdict; ``record``: ``.history`` holds
    (f, lam) per step).  ``dps=None`` runs in python floats, else mpmath at ``dps`` digits.

    >>> r = orbit(2, 1e6, 3.0, T=3, record=True); r.stop.value, [round(f, 6) for f, _ in r.history]
    ('budget', [1.0, -1.999998, 3.999973, -7.999757])
    """
    return reduced_run(deep_map(L), n, None, x, dps=dps, steps=T, rule=band_rule(dps, strict), record=record)


def diverges(L: int, n, x, dps=None, T: int = T_BISECT, strict=False):
    """Verdict of the orbit from the invariant init at eta = x/lam0: True (diverges), False (converges)
    or None (undecided in ``T`` steps); ``dps=None`` runs in float64, else mpmath at ``dps`` digits.

    >>> diverges(2, 1e4, 3.99), diverges(2, 1e4, 4.01), diverges(3, 1e4, 5.0, dps=30)
    (False, True, False)
    """
    return orbit(L, n, x, dps, T, strict).stop.verdict


def verdicts(L: int, n, xs, T: int = T_SCAN, strict=False):
    """Vectorised float64 verdicts for many (n, x) pairs at once (``n`` scalar or array like ``xs``).

    Returns (codes, steps): code 1 = diverges, 0 = converges, -1 = undecided (as :func:`diverges`,
    decided by the same rule, on numpy arrays; decided orbits are dropped from the batch).

    >>> codes, _ = verdicts(2, 1e4, [3.9, 3.99, 4.01, 4.5]); codes.tolist()
    [0, 0, 1, 1]
    """
    return reduced_lockstep(deep_map(L), n, None, xs, steps=T, rule=band_rule(None, strict))


# ---------------------------------------------------------------- threshold

#: precision ladder: float64, then mpmath digits
LADDER = (None, 30, 60, 120, 240)


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


def locate_edge(L: int, n, lo, hi, rtol=1e-10, T=T_BISECT, confirm=True, ladder=LADDER, n_ref=None) -> Bracket:
    """The divergence edge between ``lo`` (convergent) and ``hi`` (divergent) by
    :func:`catapult.numerics.bracket.bisect_ladder` up ``ladder``: bisect to relative width ``rtol``, starting in
    float64, then re-decide both ends at the next two rungs (30 and 60 digits); if a verdict differs (or is
    undecided), bisect again one rung up and confirm at the two rungs above, and so on (``confirm=False``:
    float64 only).  An edge sitting on a bracket end (x = 4 for L = 2) has a rounding-dependent verdict there:
    a bracket that does not straddle is widened by its width, at most twice, and a confirmation that fails is
    retried on the bracket widened by its width on both sides before escalating.  Verdicts are
    :func:`diverges` (at an :func:`equivalent_width` with ``n_ref``), retried once with a 5x longer horizon
    when undecided.

    >>> e = locate_edge(2, 1e3, 3.99, 4.01); abs(e.x - 4) < 1e-9, e.precisions
    (True, ['float64', 'mp30', 'mp60'])
    """
    return bisect_ladder(lambda x, d: _pred(L, n, x, d, T, n_ref), lo, hi, rtol,
                         list(ladder) if confirm else [ladder[0]], tag=precision_tag, confirm=2 if confirm else 0,
                         criterion="first divergent eta*lam0 (band rule), reduced deep map", tries=(2, 2),
                         edge_slack=True, strict=False)


@dataclass
class Threshold:
    """The divergence threshold of the depth-L map at width n (units x = eta*lam0).

    ``first``     -- the edge (a :class:`catapult.numerics.bracket.Bracket`) below the first divergent grid
                     point: the threshold x*;
    ``last``      -- the edge below the final all-divergent stretch of the fine grid (x_last = x* when
                     there are no convergent windows; None when x = 4L converges);
    ``windows``   -- maximal runs of convergent fine-grid points above x*, as (first x, last x);
    ``undecided`` -- grid points with no verdict (coarse and fine grids).
    """

    L: int
    n: float
    first: Bracket
    last: Bracket | None
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
    4. both edges located by :func:`locate_edge` (``confirm=False``: float64 only).

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
    xf, cf, undecided = _scan(L, n, codes, start, step, fine, sliver, below)
    df = cf == 1
    j1 = int(np.argmax(df))
    j2 = int(np.where(~df)[0][-1]) + 1
    windows = [(float(xf[a + j1]), float(xf[b + j1])) for a, b in _runs(cf[j1:] == 0)]

    def edge(j):
        return locate_edge(L, n, float(xf[j - 1]), float(xf[j]), rtol, T, confirm, n_ref=n_ref)
    first = edge(j1)
    last = first if j2 == j1 else None if j2 == len(xf) else edge(j2)
    return Threshold(L, float(n), first, last, windows, undecided, step, fine, time.perf_counter() - t0)


def _scan(L, n, codes, start, step, fine, sliver, below):
    """Steps 1-3 of :func:`threshold` with the vectorised verdicts ``codes(xs)``: the fine grid (from the last
    convergent point below the first divergent one up to 4L), its codes, and the undecided points of all grids."""
    xs = grid(L, step, start)
    code = codes(xs)
    div = code == 1
    if not div.any():
        raise RuntimeError(f"L={L}, n={n}: no divergent grid point up to x = {xs[-1]}")
    i1 = int(np.argmax(div))
    if i1 == 0:
        raise RuntimeError(f"L={L}, n={n}: already divergent at x = {xs[0]}")
    undecided = [float(v) for v in xs[:i1][code[:i1] == -1]]
    x_c, lo_start = float(xs[i1]), float(xs[i1 - 1])
    if sliver:
        a = max(start, x_c - below)
        xsl = np.round(a + sliver * np.arange(int(round((x_c - a) / sliver)) + 1), 12)
        csl = codes(xsl)
        undecided += [float(v) for v in xsl[csl == -1]]
        if (csl == 1).any():
            k = int(np.argmax(csl == 1))
            if k == 0:
                raise RuntimeError(f"L={L}, n={n}: divergent at the sliver scan's start x = {xsl[0]}")
            x_c, lo_start = float(xsl[k]), float(xsl[k - 1])
    xf = np.concatenate([[lo_start], grid(L, fine, x_c)])
    cf = codes(xf)
    undecided += [float(v) for v in xf[cf == -1]]
    return xf, cf, undecided
