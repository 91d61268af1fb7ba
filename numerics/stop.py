"""Why a run stopped, and the one rule that decides it.

Every iteration in :mod:`catapult.numerics` -- parameter GD (:func:`catapult.numerics.gd.run_gd`), a
compiled reduced map (:func:`catapult.numerics.reduced.run_map`), many reduced maps in lock-step
(:func:`catapult.numerics.reduced.run_map_lockstep`) -- stops by the same :class:`StopRule`:

* ``nonfinite`` -- f or lam (or the loss, or the gradient norm) is inf/nan;
* ``precision`` -- a certified (ball) run's relative radius exceeds ``max_radius``;
* ``runaway``   -- |f| > ``runaway`` x scale (scale = sqrt(n), the nonlinear scale of f) or
  lam > ``lam_runaway`` x lam0 (arbitrary-precision numbers never overflow, so divergence needs a bound);
* ``converged`` -- the parameter-gradient norm |grad_theta L| < ``gtol``.  For a loss of one output this
  is |l'(f)| sqrt(lam), so a minimiser away from f = 0 (a label, the logistic loss) converges too.
  Optional (off by default), for orbits that start at very different scales: ``rel`` (the gradient norm or
  |f| fallen by that factor from the start) and ``floor`` (|f| at float64's rounding floor with a stable step);
* ``settled``   -- optional (:class:`Settle`): a long monotone descent with a stable step, far below the
  nonlinear scale (an orbit that converges too slowly, ~1/t, for any gradient tolerance).

The caller adds its own reasons: ``until`` / ``watch`` (a predicate said stop) and ``budget`` (the step
budget ran out).  :class:`Stop` is a ``str`` enum: its members compare equal to the old strings and print
(and serialise to JSON) as them.

Which criteria each caller uses, and why
----------------------------------------
* Parameter GD (:func:`catapult.numerics.gd.run_gd`) and the reduced maps compared with it
  (:mod:`catapult.verify.deep_thresholds`): the defaults -- absolute ``gtol``, no ``rel`` / ``floor`` /
  ``settle``; the verdict is two-valued (:attr:`Stop.diverged`: a run out of budget counts as not divergent),
  so the map and full-width GD are decided by the same predicate.
* The divergence band of the deep map (:mod:`catapult.verify.deep_band`, :mod:`catapult.verify.deep_limit`):
  ``gtol = 0``, ``rel = 1e-15``, ``floor = 1e3 eps`` in float64 (0 in arbitrary precision) and
  ``settle = Settle()`` (``strict`` runs switch it off to test it); the verdict is three-valued
  (:attr:`Stop.verdict`: a run out of budget is *undecided*, None -- lock-step code ``UNDECIDED``).  Why not the
  defaults: the limit map starts at |g0| ~ 1e-30 (an absolute gtol would call it converged at t = 0), the
  orbits whose lam collapses after the catapult (eta lam ~ 1/t, f ~ 1/t) never reach a relative tolerance,
  and in float64 f jitters at ~eps sqrt(n) instead of shrinking; an undecided orbit is retried with a longer
  budget rather than counted as convergent.

Examples
========
>>> rule = StopRule()
>>> rule.check(0.5, 2.0, 1e-3, lam0=2.0, scale=8.0) is None
True
>>> rule.check(1e9, 2.0, 1.0, lam0=2.0, scale=8.0), rule.check(0.5, 2.0, 1e-13, lam0=2.0, scale=8.0)
(<Stop.RUNAWAY: 'runaway'>, <Stop.CONVERGED: 'converged'>)
>>> Stop.RUNAWAY.diverged, Stop.CONVERGED == "converged", f"{Stop.BUDGET}"
(True, True, 'budget')

The band's rule: relative convergence, and a slow descent counted as settled after ``Settle.steps`` calm steps.

>>> band = StopRule(gtol=0, rel=1e-15, settle=Settle())
>>> band.check(1e-16, 2.0, 1e-16, lam0=2.0, scale=1.0, start=(1.0, 1.0), stiffness=0.5)
<Stop.CONVERGED: 'converged'>
>>> band.check(1e-3, 2.0, 1e-3, lam0=2.0, scale=1.0, start=(1.0, 1.0), stiffness=0.5, calm=100)
<Stop.SETTLED: 'settled'>
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import mpmath
import numpy as np


class Stop(str, enum.Enum):
    """Why a run stopped (a ``str``: ``Stop.CONVERGED == "converged"``; it prints as its value)."""

    CONVERGED = "converged"
    SETTLED = "settled"
    RUNAWAY = "runaway"
    NONFINITE = "nonfinite"
    PRECISION = "precision"
    UNTIL = "until"
    WATCH = "watch"
    BUDGET = "budget"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def diverged(self) -> bool:
        """True for the divergence verdicts (runaway, nonfinite).

        >>> [s.value for s in Stop if s.diverged]
        ['runaway', 'nonfinite']
        """
        return self in _DIVERGED

    @property
    def verdict(self):
        """The three-valued divergence verdict: True (diverged), False (converged or settled), None (undecided:
        the budget ran out, or a caller's or the precision's stop).

        >>> Stop.RUNAWAY.verdict, Stop.SETTLED.verdict, Stop.BUDGET.verdict
        (True, False, None)
        """
        return True if self in _DIVERGED else False if self in _CONVERGED else None


_DIVERGED = frozenset({Stop.RUNAWAY, Stop.NONFINITE})
_CONVERGED = frozenset({Stop.CONVERGED, Stop.SETTLED})

#: codes of :meth:`StopRule.check_many` (converged includes settled); a run still ``GOING`` when its budget ran
#: out is ``UNDECIDED`` (the same code, -1)
GOING, CONVERGED, DIVERGED = -1, 0, 1
UNDECIDED = GOING


#: mpmath's non-finite values (inf, -inf, nan) as raw mpf tuples
_MPF_SPECIAL = (mpmath.libmp.finf, mpmath.libmp.fninf, mpmath.libmp.fnan)


def finite(*values) -> bool:
    """True when every value (python float, numpy float or mpmath number) is finite.

    >>> import mpmath
    >>> finite(1.0, mpmath.mpf(2)), finite(1.0, mpmath.inf), finite(float("nan")), finite(-mpmath.inf, 1.0)
    (True, False, False, False)
    >>> import numpy as np, flint, gmpy2
    >>> finite(mpmath.mpf("1e400"), np.float64(1), flint.arb(2)), finite(np.nan), finite(mpmath.nan)
    (True, False, False)
    >>> finite(gmpy2.mpfr(2)), finite(gmpy2.mpfr("nan")), finite(gmpy2.mpfr("-inf"))
    (True, False, False)
    """
    for v in values:  # the common types first (7x faster than abs(v) < inf on mpmath numbers: every step asks)
        if type(v) is float:
            if not math.isfinite(v):
                return False
        elif isinstance(v, mpmath.mpf):   # (gmpy2's mpfr has an _mpf_ too, with other special values)
            if v._mpf_ in _MPF_SPECIAL:
                return False
        elif not abs(v) < math.inf:
            return False
    return True


def rounding_level(dps):
    """The relative step-to-step increase a loss must exceed to count as a rise (not rounding noise) at ``dps``
    digits: 10^(3 - dps).  The loss-rise criterion of :func:`catapult.numerics.search.rises` and of the phase
    evidence (:func:`catapult.numerics.phase.loss_rises`).

    >>> float(rounding_level(15))
    1e-12
    """
    return mpmath.mpf(10) ** (3 - int(dps))


@dataclass(frozen=True)
class Settle:
    """The *settled* criterion: ``steps`` consecutive calm steps.  A step is calm when |f| <= ``f_max`` x scale
    and |f| did not grow, the step is stable (stiffness x lam < 2, stiffness = eta l''(f*)) and lam did not grow
    by more than ``drift`` x (2 - stiffness x lam) (in units of the stiffness): a monotone descent with a stable
    step far below the nonlinear scale.  It catches (i) the orbits whose lam collapses after the catapult
    (eta lam ~ 1/t, f ~ 1/t: algebraic convergence, no relative tolerance is reached in any budget) and (ii) the
    float64 rounding floor of f.

    >>> Settle().count(5, 0.001, 1.0, (0.002, 1.0), 1.0, 1.0), Settle().count(5, 0.003, 1.0, (0.002, 1.0), 1.0, 1.0)
    (6, 0)
    """

    steps: int = 100
    f_max: float = 0.01
    drift: float = 1e-6

    def calm(self, f, lam, prev, stiffness, scale):
        """Whether this step is calm (``prev`` = (|f|, lam) of the previous step; None at the first step: not
        calm).  Elementwise on numpy arrays."""
        if prev is None:
            return False
        af, hl = abs(f), stiffness * lam
        return (af <= self.f_max * scale) & (hl < 2) & (af <= prev[0]) \
            & (stiffness * (lam - prev[1]) <= self.drift * (2 - hl))

    def count(self, calm, f, lam, prev, stiffness, scale):
        """The number of consecutive calm steps after this one (``calm`` before it); elementwise on arrays."""
        ok = self.calm(f, lam, prev, stiffness, scale)
        if isinstance(ok, np.ndarray):
            return np.where(ok, calm + 1, 0)
        return calm + 1 if ok else 0


@dataclass(frozen=True)
class StopRule:
    """The stop thresholds of a run (defaults: those of :func:`catapult.numerics.gd.run_gd`).

    ``gtol`` bounds the parameter-gradient norm |grad_theta L| (``converged`` below it; 0 never converges);
    ``runaway`` bounds |f| in units of the scale sqrt(n); ``lam_runaway`` bounds lam in units of lam0;
    ``max_radius`` bounds the relative ball radius of a certified run.  Off by default (see the module
    docstring for who uses them): ``rel`` -- converged when |grad| <= rel |grad0| or |f| <= rel |f0|;
    ``floor`` -- converged when |f| <= floor x scale with a stable step (the float64 rounding floor, 1e3 eps;
    0 in arbitrary precision); ``settle`` -- a :class:`Settle` criterion (``settled``).

    >>> StopRule(gtol=0).check(0.0, 1.0, 0.0, lam0=1.0, scale=1.0) is None   # gtol = 0: never converged
    True
    """

    gtol: float = 1e-12
    runaway: float = 1e8
    lam_runaway: float = 1e4
    max_radius: float = 1e-6
    rel: float = 0.0
    floor: float = 0.0
    settle: Settle | None = None

    def check(self, f, lam, grad_norm, *, lam0, scale, loss=0.0, radius=None, start=None, stiffness=None,
              calm=0) -> Stop | None:
        """The verdict on one state (None: go on).  Order: nonfinite, precision, runaway, converged, settled.

        ``grad_norm`` is |grad_theta L| (|l'(f)| sqrt(lam) for a one-output loss); ``loss`` must be finite
        too when given; ``radius`` is a certified run's largest relative radius so far (None: not certified).
        For the optional criteria: ``start`` = (f0, |grad0|) (``rel``), ``stiffness`` = eta l''(f*) (``floor``,
        ``settle``: the step is stable when stiffness x lam < 2), ``calm`` = :meth:`Settle.count` so far.

        >>> StopRule().check(1.0, float("inf"), 1.0, lam0=1.0, scale=1.0)
        <Stop.NONFINITE: 'nonfinite'>
        >>> StopRule(max_radius=1e-6).check(1.0, 1.0, 1.0, lam0=1.0, scale=1.0, radius=1e-3)
        <Stop.PRECISION: 'precision'>
        >>> StopRule().check(1.0, 2e4, 1.0, lam0=1.0, scale=1.0)     # lam > 1e4 lam0
        <Stop.RUNAWAY: 'runaway'>
        """
        if not finite(f, lam, loss):
            return Stop.NONFINITE
        if radius is not None and radius > self.max_radius:
            return Stop.PRECISION
        if abs(f) > self.runaway * scale or lam > self.lam_runaway * lam0:
            return Stop.RUNAWAY
        if not finite(grad_norm):
            return Stop.NONFINITE
        if grad_norm < self.gtol:
            return Stop.CONVERGED
        if self.rel and (abs(f) <= self.rel * abs(start[0]) or grad_norm <= self.rel * start[1]):
            return Stop.CONVERGED
        if self.floor and abs(f) <= self.floor * scale and stiffness * lam < 2:
            return Stop.CONVERGED
        if self.settle is not None and calm >= self.settle.steps:
            return Stop.SETTLED
        return None

    def check_many(self, f, lam, grad_norm, *, lam0, scale, start=None, stiffness=None, calm=None) -> np.ndarray:
        """:meth:`check` on numpy arrays of states (many runs in lock-step), as int8 codes:
        ``DIVERGED`` (1: nonfinite or runaway), ``CONVERGED`` (0) or ``GOING`` (-1).

        >>> StopRule().check_many(np.array([1.0, 1e9, 1e-14, np.nan]), np.ones(4), np.array([1.0, 1.0, 1e-14, 1.0]),
        ...                       lam0=1.0, scale=1.0).tolist()
        [-1, 1, 0, 1]
        """
        with np.errstate(invalid="ignore"):
            div = ~(np.isfinite(f) & np.isfinite(lam)) | (np.abs(f) > self.runaway * scale) \
                | (lam > self.lam_runaway * lam0) | ~np.isfinite(grad_norm)
            conv = grad_norm < self.gtol
            if self.rel:
                conv |= (np.abs(f) <= self.rel * np.abs(start[0])) | (grad_norm <= self.rel * start[1])
            if self.floor:
                conv |= (np.abs(f) <= self.floor * scale) & (stiffness * lam < 2)
            if self.settle is not None:
                conv |= calm >= self.settle.steps
            conv &= ~div
        code = np.full(np.shape(div), GOING, dtype=np.int8)
        code[conv] = CONVERGED
        code[div] = DIVERGED
        return code
