"""Phase verdicts from measured trajectories.

Criteria (applied to a :class:`catapult.numerics.gd.Trajectory`; nothing derived is used):

* ``divergent``    -- the run hit inf/nan, or ran away (|f|/sqrt(n) or lam/lam0
  beyond the run's bounds).
* ``lazy``         -- converged (parameter-gradient norm below ``gtol``) and the
  loss never rose above its initial value.  Whether it also fell at *every* step is a separate
  measured statement: every step-to-step change is compared at the run's full precision
  (evidence ``loss_rises``: rises above the rounding level 10^(3 - dps); the reason says
  "decreased monotonically" only when there are none).  Near the logistic loss's threshold the loss
  can rise and fall step by step and still stay below its initial value.
* ``catapult``     -- converged after the loss rose above its initial value
  (the defining signature: loss up, curvature down, then convergence).
* ``undetermined`` -- the step budget ran out first, or a certified run lost
  its precision; the evidence says which.
* ``stalled``      -- (networks on data, :func:`net_phase`) finite, but not at a minimum: the NTK collapsed
  (lam_final < 1e-6 lam0 while the loss is above 1e-6 L0: dead ReLU units, a constant output; the gradient vanishes
  there, so a gradient criterion alone would call it converged) or the loss stopped improving (its minimum over the
  last quarter of the budget is not 0.1% below its minimum before).

A verdict is only *believed* when two precisions agree: :func:`agreed_phase`
runs both (:func:`catapult.numerics.bracket.agree`) and returns ``undetermined`` when they do not.

Examples
========
>>> from catapult.numerics.models import UVModel
>>> from catapult.numerics.losses import squared
>>> r = classify_run(UVModel(256, seed=0), squared(), eta_lam0=3.0)
>>> r.phase, r.evidence["lam_ratio"] < 2 / 3.0
(<Phase.CATAPULT: 'catapult'>, True)
>>> classify_run(UVModel(256, seed=0), squared(), eta_lam0=1.0).phase.value
'lazy'
>>> classify_run(UVModel(256, seed=0), squared(), eta_lam0=5.0).phase.value
'divergent'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import mpmath

from .backends import get_backend
from .bracket import agree
from .gd import Trajectory, run_gd
from .stop import Stop, rounding_level


class Phase(enum.Enum):
    """Outcome of a GD run."""

    LAZY = "lazy"
    CATAPULT = "catapult"
    DIVERGENT = "divergent"
    UNDETERMINED = "undetermined"
    STALLED = "stalled"


@dataclass
class PhaseResult:
    """A verdict with its evidence (all measured)."""

    phase: Phase
    reason: str
    evidence: dict = field(default_factory=dict)
    trajectory: Trajectory | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        """Plain-JSON form (numbers as floats or strings)."""
        ev = {k: (float(v) if isinstance(v, mpmath.mpf) and abs(v) < 1e300 else
                  mpmath.nstr(v, 17) if isinstance(v, mpmath.mpf) else v) for k, v in self.evidence.items()}
        return {"phase": self.phase.value, "reason": self.reason, **ev, "exactness": "measured"}


def _new_rise_log(dps):
    return {"prev": None, "tol": rounding_level(dps), "steps": [], "count": 0, "rounding": 0,
            "max_ratio": mpmath.mpf(1)}


def _log_step(log, t, L):
    """Compare the loss at step t with the previous one (exact comparison of the backend's values)."""
    prev, log["prev"] = log["prev"], L
    if prev is None or not (L > prev):
        return
    if L > prev * (1 + log["tol"]):
        log["count"] += 1
        if len(log["steps"]) < 10:
            log["steps"].append(t)
        log["max_ratio"] = max(log["max_ratio"], L / prev if prev > 0 else mpmath.inf)
    else:
        log["rounding"] += 1


def loss_rises(losses, dps) -> dict:
    """Step-to-step rises of a loss sequence: ``count`` above relative 10^(3 - dps), their first ``steps``
    (up to 10), the largest ratio, and the number of ``rounding``-level rises.

    >>> r = loss_rises([4, 3, 3.5, 2, 2.5, 1], 15)
    >>> r["count"], r["steps"], float(r["max_ratio"])
    (2, [2, 4], 1.25)
    >>> loss_rises([3, 2, 1], 15)["count"]
    0
    """
    log = _new_rise_log(dps)
    for t, L in enumerate(losses):
        _log_step(log, t, mpmath.mpf(L))
    return {k: log[k] for k in ("count", "steps", "rounding", "max_ratio")}


def _monotone_text(rises, dps):
    if rises is None:
        return "loss never rose above its initial value (step-to-step changes not checked)"
    if rises["count"]:
        steps = ", ".join(map(str, rises["steps"])) + (", ..." if rises["count"] > len(rises["steps"]) else "")
        return (f"loss rose at {rises['count']} steps (at steps {steps}; largest step-to-step rise "
                f"x{mpmath.nstr(rises['max_ratio'], 6)}) but never above its initial value")
    if rises["rounding"]:
        return (f"loss decreased at every step up to rounding ({rises['rounding']} rises below relative "
                f"1e{3 - int(dps)}; every step checked at {dps} digits)")
    return f"loss decreased monotonically (every step checked at {dps} digits)"


def classify(tr: Trajectory, rises: dict | None = None) -> PhaseResult:
    """Classify a finished trajectory (see the module docstring for the criteria).

    ``rises`` is the step-to-step record of :func:`loss_rises` (taken from ``tr.loss`` when the trajectory
    was recorded in full; :func:`classify_run` logs it during the run).
    """
    loss0 = tr.loss[0]
    if rises is None and len(tr.loss) == tr.steps + 1:
        rises = loss_rises(tr.loss, tr.dps)
    ev = {"lam0": tr.lam0, "lam_final": tr.lam[-1],
          "lam_ratio": tr.lam[-1] / tr.lam0 if tr.lam0 != 0 else mpmath.nan,  # lam0 = 0: a constant output
          "eta": tr.eta, "eta_lam0": tr.eta_lam0, "eta_lam_final": tr.eta * tr.lam[-1],
          "loss0": loss0, "loss_peak": tr.loss_peak, "peak_step": tr.peak_step,
          "loss_peak_ratio": tr.loss_peak / loss0 if loss0 != 0 else mpmath.inf,
          "loss_final": tr.loss[-1], "steps": tr.steps, "stop": tr.stop,
          "width": tr.width, "seed": tr.seed, "backend": tr.backend, "dps": tr.dps}
    if tr.eta_unit is not None:  # a data model: eta_lam0 is eta lam_max(Theta0); lam0, lam_final are at the probe
        ev["lam_max_theta0"] = tr.eta_unit
    if rises is not None:
        ev.update({"loss_rises": rises["count"], "loss_rise_steps": rises["steps"],
                   "loss_rise_max_ratio": rises["max_ratio"], "loss_rises_rounding": rises["rounding"]})
    if tr.certified:
        ev["max_rel_radius"] = tr.max_rel_radius
    if tr.stop.diverged:
        why = "overflow to inf/nan" if tr.stop is Stop.NONFINITE else "iterates ran away"
        return PhaseResult(Phase.DIVERGENT, f"{why} at step {tr.steps}", ev, tr)
    if tr.stop is Stop.CONVERGED:
        if tr.loss_peak > loss0:
            return PhaseResult(Phase.CATAPULT, f"loss rose x{mpmath.nstr(ev['loss_peak_ratio'], 4)} "
                               f"(peak at step {tr.peak_step}), then converged at step {tr.steps}", ev, tr)
        return PhaseResult(Phase.LAZY, f"{_monotone_text(rises, tr.dps)}, converged at step {tr.steps}", ev, tr)
    if tr.stop is Stop.PRECISION:
        return PhaseResult(Phase.UNDETERMINED, f"certified balls lost their precision at step {tr.steps}", ev, tr)
    return PhaseResult(Phase.UNDETERMINED, f"no convergence within {tr.steps} steps "
                       f"(gradient norm {mpmath.nstr(tr.grad_norm or 0, 3)})", ev, tr)


def classify_run(model, loss, *, eta=None, eta_lam0=None, steps=5000, backend=None, until=None,
                 **kw) -> PhaseResult:
    """Run GD (without keeping the whole trajectory, but comparing every step's loss with the previous
    one at full precision) and classify it."""
    B = backend or get_backend("arb", 50)
    log = _new_rise_log(B.dps)

    def watch_loss(t, L, L0):
        if log["prev"] is None:
            _log_step(log, 0, L0)
        _log_step(log, t, L)
        return until(t, L, L0) if until is not None else False

    tr = run_gd(model, loss, eta=eta, eta_lam0=eta_lam0, steps=steps, backend=B, record=False,
                until=watch_loss, **kw)
    # run_gd stops on convergence / divergence before calling ``until``: compare the last recorded step too
    if log["prev"] is None:
        _log_step(log, 0, tr.loss[0])
    if tr.steps > 0 and len(tr.t) > 1 and log["prev"] is not tr.loss[-1]:
        _log_step(log, tr.steps, tr.loss[-1])
    return classify(tr, {k: log[k] for k in ("count", "steps", "rounding", "max_ratio")})


def agreed_phase(model, loss, *, eta=None, eta_lam0=None, steps=5000, dps=50, pair=None, **kw) -> PhaseResult:
    """Classify at ``dps`` digits and at 2*``dps`` digits; ``undetermined`` unless they agree.

    ``pair`` may name the two backends instead, e.g. ``(get_backend("float64"), get_backend("arb", 50))``.

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> r = agreed_phase(UVModel(64, seed=2), squared(), eta_lam0=2.5, dps=30)
    >>> r.phase.value, r.evidence["agreed_dps"]
    ('catapult', [30, 60])
    """
    A, C = pair or (get_backend("arb", dps), get_backend("arb", 2 * dps))
    ag = agree(lambda B: classify_run(model, loss, eta=eta, eta_lam0=eta_lam0, steps=steps, backend=B, **kw),
               [A, C], key=lambda r: r.phase, tag=repr)
    if not ag.agreed:
        (_, a), (_, b) = ag.results
        return PhaseResult(Phase.UNDETERMINED, f"precisions disagree: {A!r} says {a.phase.value}, "
                           f"{C!r} says {b.phase.value}", b.evidence, b.trajectory)
    ag.value.evidence["agreed_dps"] = [A.dps, C.dps]
    return ag.value


#: a collapsed NTK (lam_final / lam0 below this, with the loss above LOSS_FLOOR x L0) is a stalled run
COLLAPSE = 1e-6
LOSS_FLOOR = 1e-6


def net_phase(stop: Stop, loss, lam_ratio=None):
    """The verdict on one net run (:mod:`catapult.numerics.nets`) from its stop, its recorded losses (step 0 to
    the last, finite) and lam_final / lam0 (None: not measured), as ``(Phase, reason)``.  Criteria: the module
    docstring (divergent, then stalled, then catapult / lazy by the loss-rise criterion "loss ever exceeds L0",
    else undetermined).

    >>> net_phase(Stop.CONVERGED, [1.0, 0.5, 1e-3], 0.99)[0].value
    'lazy'
    >>> net_phase(Stop.CONVERGED, [1.0, 3.0, 1e-3], 0.4)[0].value
    'catapult'
    >>> net_phase(Stop.CONVERGED, [1.0, 3.0, 0.5], 0.0)[1]      # dead units: gradient zero, loss not small
    'stalled: the NTK collapsed (lam_final/lam0 = 0) at loss 0.5 = 0.5 L0 (dead units: a constant output)'
    >>> net_phase(Stop.BUDGET, [1.0] * 10, 1.0)[0].value, net_phase(Stop.RUNAWAY, [1.0, 1e30])[0].value
    ('stalled', 'divergent')
    """
    import numpy as np
    L = np.asarray(loss, dtype=float)
    L0, Lf, t = L[0], L[-1], len(L) - 1
    if stop.diverged:
        why = "overflow to inf/nan" if stop is Stop.NONFINITE else "outputs ran away (|f| > 1e8 sqrt(n))"
        return Phase.DIVERGENT, f"{why} at step {t}"
    peak, at = float(L.max()), int(L.argmax())
    rose = f"loss rose x{peak / L0:.4g} (peak at step {at})" if peak > L0 else "loss never exceeded L0"
    if lam_ratio is not None and lam_ratio < COLLAPSE and Lf > LOSS_FLOOR * L0:
        return Phase.STALLED, (f"stalled: the NTK collapsed (lam_final/lam0 = {lam_ratio:.3g}) at loss {Lf:.3g} = "
                               f"{Lf / L0:.3g} L0 (dead units: a constant output)")
    if stop is Stop.CONVERGED:
        return (Phase.CATAPULT if peak > L0 else Phase.LAZY), f"{rose}, converged at step {t}"
    q = max(1, (3 * t) // 4)
    if t >= 8 and L[q:].min() >= (1 - 1e-3) * L[:q].min():
        return Phase.STALLED, (f"stalled: finite, but the loss stopped improving (min over steps {q}-{t}: "
                               f"{L[q:].min():.4g}, before: {L[:q].min():.4g}); {rose}")
    return Phase.UNDETERMINED, f"no convergence within {t} steps, loss still falling ({Lf:.3g} = {Lf / L0:.3g} L0); {rose}"
