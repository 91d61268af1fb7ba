"""Phase verdicts from measured trajectories.

Criteria (applied to a :class:`numerics.gd.Trajectory`; nothing derived is used):

* ``divergent``    -- the run hit inf/nan, or ran away (|f|/sqrt(n) or lam/lam0
  beyond the run's bounds).
* ``lazy``         -- converged (parameter-gradient norm below ``gtol``) and the
  loss never rose above its initial value: the linearised dynamics held.
* ``catapult``     -- converged after the loss rose above its initial value
  (the defining signature: loss up, curvature down, then convergence).
* ``undetermined`` -- the step budget ran out first, or a certified run lost
  its precision; the evidence says which.

A verdict is only *believed* when two precisions agree: :func:`agreed_phase`
runs both and returns ``undetermined`` when they do not.

Examples
========
>>> from numerics.models import UVModel
>>> from numerics.losses import squared
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
from .gd import Trajectory, run_gd


class Phase(enum.Enum):
    """Outcome of a GD run."""

    LAZY = "lazy"
    CATAPULT = "catapult"
    DIVERGENT = "divergent"
    UNDETERMINED = "undetermined"


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


def classify(tr: Trajectory) -> PhaseResult:
    """Classify a finished trajectory (see the module docstring for the criteria)."""
    loss0 = tr.loss[0]
    ev = {"lam0": tr.lam0, "lam_final": tr.lam[-1], "lam_ratio": tr.lam[-1] / tr.lam0,
          "eta": tr.eta, "eta_lam0": tr.eta_lam0, "eta_lam_final": tr.eta * tr.lam[-1],
          "loss0": loss0, "loss_peak": tr.loss_peak, "peak_step": tr.peak_step,
          "loss_peak_ratio": tr.loss_peak / loss0 if loss0 != 0 else mpmath.inf,
          "loss_final": tr.loss[-1], "steps": tr.steps, "stop": tr.stop,
          "width": tr.width, "seed": tr.seed, "backend": tr.backend, "dps": tr.dps}
    if tr.backend == "arb-certified":
        ev["max_rel_radius"] = tr.max_rel_radius
    if tr.stop in ("nonfinite", "runaway"):
        why = "overflow to inf/nan" if tr.stop == "nonfinite" else "iterates ran away"
        return PhaseResult(Phase.DIVERGENT, f"{why} at step {tr.steps}", ev, tr)
    if tr.stop == "converged":
        if tr.loss_peak > loss0:
            return PhaseResult(Phase.CATAPULT, f"loss rose x{mpmath.nstr(ev['loss_peak_ratio'], 4)} "
                               f"(peak at step {tr.peak_step}), then converged at step {tr.steps}", ev, tr)
        return PhaseResult(Phase.LAZY, f"loss decreased monotonically, converged at step {tr.steps}", ev, tr)
    if tr.stop == "precision":
        return PhaseResult(Phase.UNDETERMINED, f"certified balls lost their precision at step {tr.steps}", ev, tr)
    return PhaseResult(Phase.UNDETERMINED, f"no convergence within {tr.steps} steps "
                       f"(gradient norm {mpmath.nstr(tr.grad_norm or 0, 3)})", ev, tr)


def classify_run(model, loss, *, eta=None, eta_lam0=None, steps=5000, backend=None, **kw) -> PhaseResult:
    """Run GD (without keeping the whole trajectory) and classify it."""
    tr = run_gd(model, loss, eta=eta, eta_lam0=eta_lam0, steps=steps,
                backend=backend or get_backend("arb", 50), record=False, **kw)
    return classify(tr)


def agreed_phase(model, loss, *, eta=None, eta_lam0=None, steps=5000, dps=50, pair=None, **kw) -> PhaseResult:
    """Classify at ``dps`` digits and at 2*``dps`` digits; ``undetermined`` unless they agree.

    ``pair`` may name the two backends instead, e.g. ``(get_backend("float64"), get_backend("arb", 50))``.

    >>> from numerics.models import UVModel
    >>> from numerics.losses import squared
    >>> r = agreed_phase(UVModel(64, seed=2), squared(), eta_lam0=2.5, dps=30)
    >>> r.phase.value, r.evidence["agreed_dps"]
    ('catapult', [30, 60])
    """
    A, C = pair or (get_backend("arb", dps), get_backend("arb", 2 * dps))
    a = classify_run(model, loss, eta=eta, eta_lam0=eta_lam0, steps=steps, backend=A, **kw)
    b = classify_run(model, loss, eta=eta, eta_lam0=eta_lam0, steps=steps, backend=C, **kw)
    if a.phase != b.phase:
        return PhaseResult(Phase.UNDETERMINED, f"precisions disagree: {A!r} says {a.phase.value}, "
                           f"{C!r} says {b.phase.value}", b.evidence, b.trajectory)
    b.evidence["agreed_dps"] = [A.dps, C.dps]
    return b
