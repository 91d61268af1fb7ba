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

The caller adds its own reasons: ``until`` / ``watch`` (a predicate said stop) and ``budget`` (the step
budget ran out).  :class:`Stop` is a ``str`` enum: its members compare equal to the old strings and print
(and serialise to JSON) as them.

Examples
========
>>> rule = StopRule()
>>> rule.check(0.5, 2.0, 1e-3, lam0=2.0, scale=8.0) is None
True
>>> rule.check(1e9, 2.0, 1.0, lam0=2.0, scale=8.0), rule.check(0.5, 2.0, 1e-13, lam0=2.0, scale=8.0)
(<Stop.RUNAWAY: 'runaway'>, <Stop.CONVERGED: 'converged'>)
>>> Stop.RUNAWAY.diverged, Stop.CONVERGED == "converged", f"{Stop.BUDGET}"
(True, True, 'budget')
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


_DIVERGED = frozenset({Stop.RUNAWAY, Stop.NONFINITE})

#: codes of :meth:`StopRule.check_many`
GOING, CONVERGED, DIVERGED = -1, 0, 1


def finite(*values) -> bool:
    """True when every value (python float, numpy float or mpmath number) is finite.

    >>> import mpmath
    >>> finite(1.0, mpmath.mpf(2)), finite(1.0, mpmath.inf), finite(float("nan"))
    (True, False, False)
    """
    return all(abs(v) < math.inf for v in values)


def rounding_level(dps):
    """The relative step-to-step increase a loss must exceed to count as a rise (not rounding noise) at ``dps``
    digits: 10^(3 - dps).  The loss-rise criterion of :func:`catapult.numerics.search.rises` and of the phase
    evidence (:func:`catapult.numerics.phase.loss_rises`).

    >>> float(rounding_level(15))
    1e-12
    """
    return mpmath.mpf(10) ** (3 - int(dps))


@dataclass(frozen=True)
class StopRule:
    """The stop thresholds of a run (defaults: those of :func:`catapult.numerics.gd.run_gd`).

    ``gtol`` bounds the parameter-gradient norm |grad_theta L| (``converged`` below it; 0 never converges);
    ``runaway`` bounds |f| in units of the scale sqrt(n); ``lam_runaway`` bounds lam in units of lam0;
    ``max_radius`` bounds the relative ball radius of a certified run.

    >>> StopRule(gtol=0).check(0.0, 1.0, 0.0, lam0=1.0, scale=1.0) is None   # gtol = 0: never converged
    True
    """

    gtol: float = 1e-12
    runaway: float = 1e8
    lam_runaway: float = 1e4
    max_radius: float = 1e-6

    def check(self, f, lam, grad_norm, *, lam0, scale, loss=0.0, radius=None) -> Stop | None:
        """The verdict on one state (None: go on).  Order: nonfinite, precision, runaway, converged.

        ``grad_norm`` is |grad_theta L| (|l'(f)| sqrt(lam) for a one-output loss); ``loss`` must be finite
        too when given; ``radius`` is a certified run's largest relative radius so far (None: not certified).

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
        return None

    def check_many(self, f, lam, grad_norm, *, lam0, scale) -> np.ndarray:
        """:meth:`check` on numpy arrays of states (many runs in lock-step), as int8 codes:
        ``DIVERGED`` (1: nonfinite or runaway), ``CONVERGED`` (0) or ``GOING`` (-1).

        >>> StopRule().check_many(np.array([1.0, 1e9, 1e-14, np.nan]), np.ones(4), np.array([1.0, 1.0, 1e-14, 1.0]),
        ...                       lam0=1.0, scale=1.0).tolist()
        [-1, 1, 0, 1]
        """
        with np.errstate(invalid="ignore"):
            div = ~(np.isfinite(f) & np.isfinite(lam)) | (np.abs(f) > self.runaway * scale) \
                | (lam > self.lam_runaway * lam0) | ~np.isfinite(grad_norm)
            conv = ~div & (grad_norm < self.gtol)
        code = np.full(np.shape(div), GOING, dtype=np.int8)
        code[conv] = CONVERGED
        code[div] = DIVERGED
        return code
