"""Full-batch gradient descent on the actual parameter vectors, at any precision.

:func:`run_gd` steps ``theta <- theta - eta * l'(f) * grad_theta f`` for a
model from :mod:`catapult.numerics.models`, records (step, loss, f, lam) with
lam = |grad_theta f|^2 (the NTK, from its definition), and stops (``tr.stop``, a
:class:`catapult.numerics.stop.Stop`) by the one :class:`catapult.numerics.stop.StopRule` on

* ``nonfinite`` -- inf/nan appeared (float64 overflow);
* ``runaway``   -- |f|/sqrt(n) > ``runaway`` or lam/lam0 > ``lam_runaway``
  (arbitrary-precision numbers never overflow, so divergence needs a bound);
* ``precision`` -- a certified (ball) run's relative radius exceeded ``max_radius``;
* ``converged`` -- the parameter-gradient norm |grad_theta L| < ``gtol`` (|l'(f)| sqrt(lam) for one output);

or on the caller's reasons:

* ``until`` / ``watch`` -- a caller's predicate said stop (threshold searches);
* ``budget``    -- ``steps`` steps were taken.

Examples
========
>>> from catapult.numerics.models import UVModel
>>> from catapult.numerics.losses import squared
>>> from catapult.numerics.backends import get_backend
>>> tr = run_gd(UVModel(64, seed=1), squared(), eta_lam0=1.0, steps=200, backend=get_backend("arb", 50))
>>> tr.stop, tr.steps < 200
(<Stop.CONVERGED: 'converged'>, True)
>>> abs(tr.lam[-1] / tr.lam0 - 1) < 0.1
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath

from .backends import get_backend
from .errors import NumericsInputError
from .stop import Stop, StopRule


@dataclass
class Trajectory:
    """A recorded GD run.  Numbers are mpmath ``mpf`` (exact copies of the backend's values)."""

    model: str
    width: int
    seed: int | None
    backend: str
    dps: int
    eta: mpmath.mpf
    lam0: mpmath.mpf
    t: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    f: list = field(default_factory=list)
    lam: list = field(default_factory=list)
    stop: Stop = Stop.BUDGET
    max_rel_radius: mpmath.mpf = mpmath.mpf(0)
    observed: list = field(default_factory=list)
    grad_norm: mpmath.mpf | None = None
    loss_peak: mpmath.mpf | None = None
    peak_step: int = 0
    certified: bool = False
    theta: list | None = field(default=None, repr=False)
    #: what ``eta_lam0`` multiplies when it is not ``lam0``: lam_max(Theta0) of a data model (its ``curvature``)
    eta_unit: mpmath.mpf | None = None

    @property
    def steps(self) -> int:
        """Number of GD steps taken."""
        return self.t[-1]

    def _record(self, t, loss, f, lam, keep_all):
        if not keep_all and len(self.t) > 1:
            self.t.pop(); self.loss.pop(); self.f.pop(); self.lam.pop()
        self.t.append(t); self.loss.append(loss); self.f.append(f); self.lam.append(lam)

    @property
    def eta_lam0(self):
        """eta times the initial curvature: the model's ``curvature`` (data models: lam_max(Theta0)), else lam0."""
        return self.eta * (self.lam0 if self.eta_unit is None else self.eta_unit)

    def rows(self):
        """``(t, loss, f, lam)`` tuples."""
        return list(zip(self.t, self.loss, self.f, self.lam))

    def __repr__(self):
        return (f"Trajectory({self.model}, n={self.width}, seed={self.seed}, {self.backend}/{self.dps}, "
                f"eta*lam0={mpmath.nstr(self.eta_lam0, 8)}, steps={self.steps}, stop={self.stop.value!r})")


def _check_eta(eta, eta_lam0):
    if (eta is None) == (eta_lam0 is None):
        raise NumericsInputError("give exactly one of eta and eta_lam0")
    val = eta if eta is not None else eta_lam0
    try:
        ok = mpmath.mpf(val) > 0 and mpmath.isfinite(mpmath.mpf(val))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise NumericsInputError(f"learning rate must be a finite number > 0, got {val!r}")


def gd_step(model, B, bound, theta, ev, eta):
    """One GD step ``theta <- theta - eta * grad_theta L`` from ``(theta, ev)``; returns the new
    ``(theta, ev)``.  The only place in :mod:`catapult.numerics` where parameters move.

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> B, m = get_backend("float64"), UVModel(16, seed=0)
    >>> with B.context():
    ...     bound = squared().bind(B); theta = m.init(B); ev = m.evaluate(theta, B, bound)
    ...     theta1, ev1 = gd_step(m, B, bound, theta, ev, 0.5 / ev.lam)
    >>> bool(ev1.loss < ev.loss)     # a small step lowers the loss
    True
    """
    theta = [B.lincomb(th, eta * c, g) for th, (c, g) in zip(theta, ev.moves)]
    return theta, model.evaluate(theta, B, bound)


def run_gd(model, loss, *, eta=None, eta_lam0=None, steps=1000, backend=None, gtol=1e-12,
           runaway=1e8, lam_runaway=1e4, until=None, record=True, max_radius=1e-6, watch=None,
           observe=False) -> Trajectory:
    """Run GD on ``model``'s parameters under ``loss``; it stops by :class:`catapult.numerics.stop.StopRule`
    ``(gtol, runaway, lam_runaway, max_radius)`` (convergence: the parameter-gradient norm below ``gtol``).
    (Over 60 lines only with this docstring and its examples: the body is 37 lines.)

    ``loss`` is a :class:`catapult.numerics.losses.NumericLoss` of the output for single-input
    models, or a :class:`catapult.numerics.losses.DataLoss` (one loss per sample) for data models.
    The recorded f and lam are the output and the NTK |grad_theta f|^2 at the model's
    probe input (the input itself for single-input models); ``tr.theta`` holds the final parameters.

    Parameters
    ==========
    eta, eta_lam0 : the step, given directly or as a multiple of the measured initial curvature
        (``eta = eta_lam0 / lam0``, computed at the run's precision; for a model with a ``curvature(theta, B)``
        method -- data models: lam_max of Theta0 = J J^T / m, whose eta lam_max < 2 is the residuals' linear
        stability -- ``eta = eta_lam0 / curvature``, kept in ``tr.eta_unit``).
    steps : the step budget.
    until : optional ``until(t, loss_t, loss_0) -> bool``; True stops the run (``stop='until'``).
    watch : optional ``watch(t, f_t, lam_t, eta) -> bool`` on the recorded values; True stops the run
        (``stop='watch'``).
    observe : also record ``model.observe(theta)`` every step in ``tr.observed`` (e.g. all outputs and
        the NTK matrix of a data model).
    record : keep the whole trajectory (else only the first and the last record, and the peak loss).
    """
    _check_eta(eta, eta_lam0)
    if int(steps) < 0:
        raise NumericsInputError(f"steps must be >= 0, got {steps}")
    B = backend or get_backend("arb", 50)
    rule = StopRule(gtol=gtol, runaway=runaway, lam_runaway=lam_runaway, max_radius=max_radius)
    with B.context():
        bound = loss.bind(B)
        theta = model.init(B)
        ev = model.evaluate(theta, B, bound)
        lam0 = B.to_mpf(ev.lam)
        if eta_lam0 is not None and not (lam0 > 0 and mpmath.isfinite(lam0)):
            raise NumericsInputError(f"the initial NTK is {mpmath.nstr(lam0, 5)}: eta_lam0 (a multiple of 1/lam0) "
                                     "is undefined; give eta")
        unit = model.curvature(theta, B) if hasattr(model, "curvature") else None
        if eta is not None:
            eta_b = B.scalar(eta)
        else:
            eta_b = B.scalar(eta_lam0) / (ev.lam if unit is None else B.scalar(unit))
        tr = Trajectory(model.name, model.width, model.seed, B.name + ("-certified" if B.certified else ""),
                        B.dps, B.to_mpf(eta_b), lam0, certified=B.certified, eta_unit=unit)
        verdict = _Floats(tr, model.width) if B.native and mpmath.mp.prec == 53 else _Mpf(model.width)
        for t in range(int(steps) + 1):
            tr.theta = theta
            stop = verdict(tr, t, ev, B, rule, record)
            if observe:
                tr.observed.append(model.observe(theta, B))
            stop = stop or _caller_stop(tr, t, until, watch, int(steps))
            if stop is not None:
                tr.stop = stop
                break
            try:
                theta, ev = gd_step(model, B, bound, theta, ev, eta_b)
            except (OverflowError, ZeroDivisionError):  # float64 arithmetic raising instead of giving inf
                tr._record(t + 1, mpmath.inf, mpmath.inf, mpmath.inf, record)
                tr.stop = Stop.NONFINITE
                break
        verdict.finish(tr)
    return tr


def _caller_stop(tr, t, until, watch, steps):
    """The caller's reasons to stop at step t (until, watch, budget), in that order, or None (the callbacks see
    mpmath numbers, also during a float64 run)."""
    mpf = mpmath.mpf
    if until is not None and t > 0 and until(t, mpf(tr.loss[-1]), mpf(tr.loss[0])):
        return Stop.UNTIL
    if watch is not None and watch(t, mpf(tr.f[-1]), mpf(tr.lam[-1]), tr.eta):
        return Stop.WATCH
    return Stop.BUDGET if t == steps else None


class _Mpf:
    """Record step t of a run in ``tr`` (loss peak, certified radius, gradient norm) as mpmath numbers and return
    the stop rule's verdict on it."""

    def __init__(self, width):
        self.sqrt_n = mpmath.sqrt(width)

    def __call__(self, tr, t, ev, B, rule, record):
        fm, lm, Lm = B.to_mpf(ev.f), B.to_mpf(ev.lam), B.to_mpf(ev.loss)
        tr._record(t, Lm, fm, lm, record)
        if t == 0:
            tr.loss_peak = Lm
        if not (B.is_finite(ev.f) and B.is_finite(ev.lam) and B.is_finite(ev.loss)):
            return Stop.NONFINITE
        if Lm > tr.loss_peak:
            tr.loss_peak, tr.peak_step = Lm, t
        if B.certified and fm != 0:
            tr.max_rel_radius = max(tr.max_rel_radius, B.radius(ev.f) / abs(fm), B.radius(ev.lam) / abs(lm))
        gn = mpmath.sqrt(abs(B.to_mpf(ev.grad_norm2)))
        stop = rule.check(fm, lm, gn, lam0=tr.lam0, scale=self.sqrt_n,
                          radius=tr.max_rel_radius if B.certified else None)
        if stop not in (Stop.PRECISION, Stop.RUNAWAY):
            tr.grad_norm = gn
        return stop

    def finish(self, tr):
        pass


class _Floats:
    """:class:`_Mpf` for a float64 run, on Python floats (no mpmath number per step): the same decisions, since
    mpmath at its default 53 bits rounds every operation of the rule as IEEE doubles do; ``finish`` turns the
    records into mpmath numbers (exact copies), so the trajectory is the same bit for bit."""

    def __init__(self, tr, width):
        self.sqrt_n, self.lam0 = math.sqrt(width), float(tr.lam0)

    def __call__(self, tr, t, ev, B, rule, record):
        f, lam, L = float(ev.f), float(ev.lam), float(ev.loss)
        tr._record(t, L, f, lam, record)
        if t == 0:
            tr.loss_peak = L
        if not (math.isfinite(f) and math.isfinite(lam) and math.isfinite(L)):
            return Stop.NONFINITE
        if L > tr.loss_peak:
            tr.loss_peak, tr.peak_step = L, t
        gn = math.sqrt(abs(float(ev.grad_norm2)))
        stop = rule.check(f, lam, gn, lam0=self.lam0, scale=self.sqrt_n)
        if stop not in (Stop.PRECISION, Stop.RUNAWAY):
            tr.grad_norm = gn
        return stop

    def finish(self, tr):
        mpf = mpmath.mpf
        tr.loss, tr.f, tr.lam = ([mpf(v) for v in xs] for xs in (tr.loss, tr.f, tr.lam))
        tr.loss_peak = mpf(tr.loss_peak)
        if tr.grad_norm is not None:
            tr.grad_norm = mpf(tr.grad_norm)
