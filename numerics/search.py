"""Locate phase thresholds in eta by bisection, escalating precision until two agree.

Two finite-horizon predicates of a parameter-GD run (``x = eta * lam0``,
lam0 the measured initial NTK):

* ``rises(x)``    -- the loss increases from one step to the next within ``steps`` steps
  (before convergence): the onset of the catapult -- in the linearised (lazy) dynamics every
  residual mode contracts, so the loss can only fall.  Its threshold is the numerical eta_crit.
* ``diverges(x)`` -- the run hits inf/nan or runs away within ``steps`` steps.
  Its threshold is the numerical eta_max.

:func:`locate` bisects a bracket at the cheapest precision of a ladder
(float64, then ``dps``, 2*``dps``, 4*``dps`` digits), then re-evaluates both
ends of the final bracket at the next precision; if either verdict changes it
moves one rung up and bisects again.  The estimate records the two precisions
that agreed.  :func:`scan` finds the brackets on a geometric grid first.

Examples
========
>>> from numerics.models import UVModel
>>> from numerics.losses import squared
>>> s = scan(UVModel(64, seed=0), squared(), rtol=1e-6, dps=30)
>>> 1.99 < s.eta_crit.eta_lam0 < 2.1 and 3.9 < s.eta_max.eta_lam0 < 4.1
True
>>> s.eta_crit.precisions
['float64', 'arb30']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath

from .backends import get_backend
from .errors import NumericsInputError
from .gd import run_gd


def _ladder(dps):
    return [get_backend("float64"), get_backend("arb", dps), get_backend("arb", 2 * dps),
            get_backend("arb", 4 * dps)]


def _tag(B):
    return B.name if B.name == "float64" else f"{B.name}{B.dps}"


def rises(model, loss, x, backend, steps=2000) -> bool:
    """True when the loss increases at some step within ``steps`` steps (or the run diverges).

    An increase counts when it exceeds the rounding level of the backend (relative 10^(3 - dps)),
    so a loss that has settled on a positive floor does not "rise" by noise.
    """
    prev = {}
    tol = mpmath.mpf(10) ** (3 - backend.dps)

    def up(t, L, L0):
        last = prev.get("L", L0)
        prev["L"] = L
        return L > last * (1 + tol)

    tr = run_gd(model, loss, eta_lam0=x, steps=steps, backend=backend, record=False, until=up)
    return tr.stop in ("until", "runaway", "nonfinite")


def diverges(model, loss, x, backend, steps=2000) -> bool:
    """True when the run hits inf/nan or runs away within ``steps`` steps."""
    tr = run_gd(model, loss, eta_lam0=x, steps=steps, backend=backend, record=False)
    return tr.stop in ("runaway", "nonfinite")


PREDICATES = {"eta_crit": rises, "eta_max": diverges}


@dataclass
class ThresholdEstimate:
    """A measured threshold: bracket ``[lo, hi]`` in units of eta*lam0, and eta itself."""

    name: str
    lo: mpmath.mpf
    hi: mpmath.mpf
    lam0: mpmath.mpf
    precisions: list
    evaluations: int
    rtol: float
    steps: int
    width: int
    seed: int | None
    escalations: int = 0

    @property
    def eta_lam0(self):
        return (self.lo + self.hi) / 2

    @property
    def eta(self):
        return self.eta_lam0 / self.lam0

    def __repr__(self):
        return (f"{self.name}: eta*lam0 in [{mpmath.nstr(self.lo, 12)}, {mpmath.nstr(self.hi, 12)}] "
                f"(n={self.width}, seed={self.seed}, agreed at {'+'.join(self.precisions)}, "
                f"{self.evaluations} runs, horizon {self.steps} steps) [measured]")

    def to_json(self) -> dict:
        return {"eta": float(self.eta), "eta_lam0": float(self.eta_lam0), "bracket": [float(self.lo), float(self.hi)],
                "precisions": self.precisions, "evaluations": self.evaluations, "rtol": self.rtol,
                "steps": self.steps, "escalations": self.escalations, "exactness": "measured"}


def _straddle(p, lo, hi, name, B, given, factor=2 ** 0.25, tries=8):
    """Widen [lo, hi] geometrically until p(lo) is False and p(hi) is True (a threshold can sit on a
    bracket end, where the verdict depends on rounding); raise if it never does."""
    for _ in range(tries + 1):
        if p(lo):
            lo = lo / factor
        elif not p(hi):
            hi = hi * factor
        else:
            return lo, hi
    raise NumericsInputError(f"{name}: the bracket {list(given)} does not straddle a change of the predicate "
                             f"at {_tag(B)} (widened {tries} times)")


def _bisect(pred, lo, hi, rtol):
    evals = 0
    while (hi - lo) > rtol * hi:
        mid = (lo + hi) / 2
        evals += 1
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi, evals


def locate(name, model, loss, lo, hi, *, rtol=1e-6, dps=50, steps=2000) -> ThresholdEstimate:
    """Bisect the predicate ``name`` ('eta_crit' | 'eta_max') on ``[lo, hi]`` (units of eta*lam0).

    Requires the predicate False at ``lo`` and True at ``hi`` (checked at the first rung).
    """
    if name not in PREDICATES:
        raise NumericsInputError(f"unknown threshold {name!r}")
    if not (0 < rtol < 1):
        raise NumericsInputError(f"rtol must be in (0, 1), got {rtol}")
    pred = PREDICATES[name]
    ladder = _ladder(dps)
    with mpmath.workdps(max(30, 4 * dps)):
        lo0, hi0 = mpmath.mpf(lo), mpmath.mpf(hi)
    evals = 0
    for rung in range(len(ladder) - 1):
        B, C = ladder[rung], ladder[rung + 1]
        # the caller's bracket must straddle at the first rung; after an escalation the threshold may sit
        # on a bracket end (its verdict then depends on rounding), so the bracket may widen a little
        lo0, hi0 = _straddle(lambda x: pred(model, loss, x, B, steps), lo0, hi0, name, B, (lo, hi),
                             tries=0 if rung == 0 else 2)
        a, b, k = _bisect(lambda x: pred(model, loss, x, B, steps), lo0, hi0, rtol)
        evals += k + 2
        ok = (not pred(model, loss, a, C, steps)) and pred(model, loss, b, C, steps)
        evals += 2
        if ok:
            with C.context():
                lam0 = run_gd(model, loss, eta_lam0=1, steps=0, backend=C).lam0
            return ThresholdEstimate(name, a, b, lam0, [_tag(B), _tag(C)], evals, rtol, steps,
                                     model.width, model.seed, rung)
    raise RuntimeError(f"{name}: precisions never agreed up to {_tag(ladder[-1])}")


def default_grid(lo=0.25, hi=256.0, per_octave=4):
    """Geometric grid of eta*lam0 values.

    >>> g = default_grid(1, 4, 2); [round(float(x), 3) for x in g]
    [1.0, 1.414, 2.0, 2.828, 4.0]
    """
    out, x, r = [], mpmath.mpf(lo), mpmath.mpf(2) ** (mpmath.mpf(1) / per_octave)
    while x <= hi * (1 + 1e-12):
        out.append(x)
        x *= r
    return out


@dataclass
class ScanResult:
    """Both measured thresholds of one (model, loss, width, seed); either may be None with a note."""

    eta_crit: ThresholdEstimate | None
    eta_max: ThresholdEstimate | None
    lam0: mpmath.mpf
    width: int
    seed: int | None
    dps: int
    notes: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"eta_crit": None if self.eta_crit is None else float(self.eta_crit.eta),
                "eta_max": None if self.eta_max is None else float(self.eta_max.eta),
                "eta_crit_lam0": None if self.eta_crit is None else float(self.eta_crit.eta_lam0),
                "eta_max_lam0": None if self.eta_max is None else float(self.eta_max.eta_lam0),
                "lam0": float(self.lam0), "width": self.width, "seed": self.seed, "dps": self.dps,
                "details": {k: (None if v is None else v.to_json())
                            for k, v in (("eta_crit", self.eta_crit), ("eta_max", self.eta_max))},
                "notes": self.notes, "exactness": "measured"}


def scan(model, loss, *, grid=None, rtol=1e-6, dps=50, steps=2000) -> ScanResult:
    """Find both thresholds: coarse float64 grid for brackets, then :func:`locate` on each."""
    grid = grid or default_grid()
    B = get_backend("float64")
    notes = []
    found = {}
    for name in ("eta_crit", "eta_max"):
        verdicts = [PREDICATES[name](model, loss, x, B, steps) for x in grid]
        first = next((i for i, v in enumerate(verdicts) if v), None)
        if first is None:
            notes.append(f"{name}: predicate false on the whole grid up to eta*lam0 = {float(grid[-1]):g}")
            found[name] = None
            continue
        if first == 0:
            notes.append(f"{name}: predicate already true at the grid's start eta*lam0 = {float(grid[0]):g}")
            found[name] = None
            continue
        if not all(verdicts[first:]):
            back = [float(grid[i]) for i in range(first, len(grid)) if not verdicts[i]]
            notes.append(f"{name}: not monotone on the grid -- false again at eta*lam0 = {back[:5]} (windows)")
        found[name] = locate(name, model, loss, grid[first - 1], grid[first], rtol=rtol, dps=dps, steps=steps)
    with get_backend("arb", dps).context():
        lam0 = run_gd(model, loss, eta_lam0=1, steps=0, backend=get_backend("arb", dps)).lam0
    return ScanResult(found["eta_crit"], found["eta_max"], lam0, model.width, model.seed, dps, notes)
