"""Measured thresholds in eta, each under the name of its criterion (bisection, two precisions agree).

Three different measured quantities -- they coincide for some losses and not for others, so each carries
its own name (``CRITERIA``), never a derived one's:

* ``loss_rise_onset`` ("loss-rise onset", predicate :func:`rises`) -- from the cold init the loss
  increases from one step to the next within ``steps`` steps.  In the linearised (lazy) dynamics every
  residual mode contracts, so the loss can only fall; but a nonlinear first step can raise it below the
  linear-stability threshold (e.g. the logistic loss, whose minimiser f* != 0 is far from f0).
* ``stability_threshold`` ("linear stability threshold", :func:`stability_threshold`) -- the step at
  which the minimum GD reaches (warm-up at a small step) becomes linearly unstable: a small perturbation
  of it grows instead of decaying.  This is where the derived eta_crit = 2/(lam* l''(f*)) makes its
  claim; it is reported in units of 1/lam0 and of 1/(lam* l''(f*)) (measured at the minimum).
* ``divergence_onset_at_width`` ("divergence onset at width n", predicate :func:`diverges`) -- the run
  hits inf/nan or runs away (|f|/sqrt(n) or lam/lam0 past the escape bounds of
  :func:`catapult.numerics.gd.run_gd`) within ``steps`` steps.  For squared loss it estimates the derived
  width-independent eta_max; for losses with a bounded slope (logistic) there is no such eta_max and the
  divergence onset grows with n.

:func:`locate` bisects a bracket at the cheapest precision of a ladder
(float64, then ``dps``, 2*``dps``, 4*``dps`` digits), then re-evaluates both
ends of the final bracket at the next precision; if either verdict changes it
moves one rung up and bisects again (:func:`catapult.numerics.bracket.bisect_ladder`).
The estimate records the two precisions that agreed.  :func:`scan` finds the brackets on a geometric grid first.

Examples
========
>>> from catapult.numerics.models import UVModel
>>> from catapult.numerics.losses import squared
>>> s = scan(UVModel(64, seed=0), squared(), rtol=1e-6, dps=30)
>>> 1.99 < s.loss_rise_onset.eta_lam0 < 2.1 and 3.9 < s.divergence_onset_at_width.eta_lam0 < 4.1
True
>>> st = s.stability_threshold     # squared loss: l'' = 1, so eta * lam* = 2 at the threshold
>>> abs(st.extra["eta_h_star"] - 2) < 1e-5, st.precisions   # fixed30: the fixed-point engine (arb30 without numba)
(True, ['float64', 'fixed30'])
>>> s.loss_rise_onset.criterion
'loss-rise onset'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np

from .backends import engine_for, get_backend
from .bracket import Bracket, NoStraddle, bisect_ladder, first_change
from .errors import NumericsInputError
from .gd import gd_step, run_gd
from .models import StartedAt
from .stop import Stop, rounding_level

CRITERIA = {
    "loss_rise_onset": ("loss-rise onset",
                        "the first eta at which the loss, from the cold init, increases from one step to the next "
                        "(above the rounding level) within the horizon, or the run diverges"),
    "stability_threshold": ("linear stability threshold",
                            "the eta at which a small perturbation of the minimum reached by GD at a small step "
                            "grows instead of decaying: |grad L| after T steps exceeds its value two steps "
                            "earlier, or exceeds twice its initial value (or the run diverges)"),
    "divergence_onset_at_width": ("divergence onset at width n",
                                  "first divergent eta on the scan grid, bisected; criterion: |f|/sqrt(n) or "
                                  "lam/lam0 past the escape bound, or non-finite, within the horizon"),
}
#: old names, accepted by :func:`locate` for callers not yet renamed (they measured these criteria)
ALIASES = {"eta_crit": "loss_rise_onset", "eta_max": "divergence_onset_at_width"}


def _ladder(dps, model=None):
    """The precision ladder of a threshold search: float64, then ``dps``, 2 ``dps`` and 4 ``dps`` digits.

    The ``dps`` rung is :func:`catapult.numerics.backends.engine_for` (the fixed-point engine where it carries
    ``model``'s runs, else arb); the higher rungs are arb.

    >>> from catapult.numerics.deep import DeepLinearModel
    >>> [B.tag for B in _ladder(30, DeepLinearModel(4, 3, seed=0))]   # matrices too (needs the fast extra)
    ['float64', 'fixed30', 'arb60', 'arb120']
    >>> [B.tag for B in _ladder(60, DeepLinearModel(4, 3, seed=0))]   # more than 50 digits: arb
    ['float64', 'arb60', 'arb120', 'arb240']
    """
    return [get_backend("float64"), engine_for(dps, model), get_backend("arb", 2 * dps), get_backend("arb", 4 * dps)]


def rises(model, loss, x, backend, steps=2000) -> bool:
    """True when the loss increases at some step within ``steps`` steps (or the run diverges).

    An increase counts when it exceeds the rounding level of the backend (relative 10^(3 - dps)),
    so a loss that has settled on a positive floor does not "rise" by noise.
    """
    prev = {}
    tol = rounding_level(backend.dps)

    def up(t, L, L0):
        last = prev.get("L", L0)
        prev["L"] = L
        return L > last * (1 + tol)

    tr = run_gd(model, loss, eta_lam0=x, steps=steps, backend=backend, record=False, until=up)
    return tr.stop is Stop.UNTIL or tr.stop.diverged


def diverges(model, loss, x, backend, steps=2000) -> bool:
    """True when the run hits inf/nan or runs away within ``steps`` steps."""
    tr = run_gd(model, loss, eta_lam0=x, steps=steps, backend=backend, record=False)
    return tr.stop.diverged


PREDICATES = {"loss_rise_onset": rises, "divergence_onset_at_width": diverges}


@dataclass
class ThresholdEstimate:
    """A measured threshold: a :class:`catapult.numerics.bracket.Bracket` ``[lo, hi]`` in units of eta*lam0,
    the cold-init NTK ``lam0`` (at the higher precision that agreed), so eta itself, and the search's settings.

    ``name`` is the criterion's key in ``CRITERIA``; ``extra`` holds criterion-specific evidence.
    """

    name: str
    bracket: Bracket
    lam0: mpmath.mpf
    rtol: float
    steps: int
    width: int
    seed: int | None
    extra: dict = field(default_factory=dict)

    lo = property(lambda self: self.bracket.lo, doc="the bracket's lower end (no threshold below it, eta*lam0)")
    hi = property(lambda self: self.bracket.hi, doc="the bracket's upper end (eta*lam0)")
    precisions = property(lambda self: self.bracket.precisions, doc="the two precisions that agreed")
    evaluations = property(lambda self: self.bracket.iterations, doc="runs of the predicate")
    escalations = property(lambda self: self.bracket.escalations, doc="precision rungs climbed")

    @property
    def criterion(self):
        """The criterion's printed name, e.g. 'loss-rise onset'."""
        return CRITERIA[self.name][0]

    @property
    def eta_lam0(self):
        return (self.lo + self.hi) / 2

    @property
    def eta(self):
        return self.eta_lam0 / self.lam0

    def __repr__(self):
        return (f"{self.criterion}: eta*lam0 in [{mpmath.nstr(self.lo, 12)}, {mpmath.nstr(self.hi, 12)}] "
                f"(n={self.width}, seed={self.seed}, agreed at {'+'.join(self.precisions)}, "
                f"{self.evaluations} runs, horizon {self.steps} steps) [measured]")

    def to_json(self) -> dict:
        return {"criterion": self.criterion, "definition": CRITERIA[self.name][1],
                "eta": float(self.eta), "eta_lam0": float(self.eta_lam0), "bracket": [float(self.lo), float(self.hi)],
                "precisions": self.precisions, "evaluations": self.evaluations, "rtol": self.rtol,
                "steps": self.steps, "escalations": self.escalations, "exactness": "measured",
                **{k: (float(v) if isinstance(v, (mpmath.mpf, float)) else v) for k, v in self.extra.items()}}


@dataclass
class NotMeasured:
    """A threshold that was not measured, and why (the criterion's name is kept)."""

    name: str
    reason: str
    extra: dict = field(default_factory=dict)

    @property
    def criterion(self):
        return CRITERIA[self.name][0]

    def __repr__(self):
        return f"{self.criterion}: not measured -- {self.reason}"

    def to_json(self) -> dict:
        return {"criterion": self.criterion, "definition": CRITERIA[self.name][1], "eta": None, "eta_lam0": None,
                "reason": self.reason, "exactness": "measured",
                **{k: (float(v) if isinstance(v, (mpmath.mpf, float)) else v) for k, v in self.extra.items()}}


def _cold_lam0(model, loss, B):
    """What the search's eta*lam0 units multiply: lam0, or a data model's lam_max(Theta0) (``eta_unit``)."""
    with B.context():
        tr = run_gd(model, loss, eta_lam0=1, steps=0, backend=B)
        return tr.lam0 if tr.eta_unit is None else tr.eta_unit


def _ladder_bisect(name, pred, model, loss, lo, hi, rtol, dps, steps, extra=None) -> ThresholdEstimate:
    """Bisect ``pred(x, B)`` on [lo, hi] (units of eta*lam0) up the precision ladder until two rungs agree
    (:func:`catapult.numerics.bracket.bisect_ladder`: the caller's bracket must straddle at the first rung; after
    an escalation the threshold may sit on a bracket end, so the bracket may widen by 2^(1/4), twice)."""
    if not (0 < rtol < 1):
        raise NumericsInputError(f"rtol must be in (0, 1), got {rtol}")
    ladder = _ladder(dps, model)
    with mpmath.workdps(max(30, 4 * dps)):
        lo0, hi0 = mpmath.mpf(lo), mpmath.mpf(hi)
    try:
        br = bisect_ladder(pred, lo0, hi0, rtol, ladder, tag=lambda B: B.tag, criterion=CRITERIA[name][0],
                           tries=(0, 2), factor=2 ** 0.25)
    except NoStraddle as exc:
        raise NumericsInputError(f"{name}: the bracket {[lo, hi]} does not straddle a change of the predicate "
                                 f"({exc})") from None
    if not br.converged:
        raise RuntimeError(f"{name}: precisions never agreed up to {ladder[-1].tag}")
    C = ladder[br.escalations + 1]
    return ThresholdEstimate(name, br, _cold_lam0(model, loss, C), rtol, steps, model.width, model.seed,
                             dict(extra or {}))


def locate(name, model, loss, lo, hi, *, rtol=1e-6, dps=50, steps=2000) -> ThresholdEstimate:
    """Bisect the predicate ``name`` ('loss_rise_onset' | 'divergence_onset_at_width') on ``[lo, hi]``
    (units of eta*lam0).  The old names 'eta_crit', 'eta_max' are accepted (``ALIASES``).

    Requires the predicate False at ``lo`` and True at ``hi`` (checked at the first rung).

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> e = locate("divergence_onset_at_width", UVModel(64, 0), squared(), 3.5, 4.5, rtol=1e-4, dps=20)
    >>> e.criterion, e.lo <= 4 <= e.hi * (1 + 1e-12)
    ('divergence onset at width n', True)
    """
    name = ALIASES.get(name, name)
    if name not in PREDICATES:
        raise NumericsInputError(f"unknown threshold {name!r}; known: {', '.join(sorted(PREDICATES))}")
    pred = PREDICATES[name]
    return _ladder_bisect(name, lambda x, B: pred(model, loss, x, B, steps), model, loss, lo, hi, rtol, dps, steps)


# ---------------------------------------------------------------------------------------------
# the linear stability threshold of the minimum GD reaches
# ---------------------------------------------------------------------------------------------

def output_loss(model, loss, B):
    """``(value, slope)`` of the training loss as a function of the probe output F, or None.

    Defined when the training loss depends on the parameters only through F: a one-output loss
    (:class:`catapult.numerics.losses.NumericLoss`) on a one-input model, or per-sample losses on data on one line
    (inputs x_a, the model linear in x: f(x_a) = (x_a/probe) F).  Then the parameter Hessian at a minimum
    is L''(F*) grad F grad F^T: one nonzero mode, with eigenvalue lam* L''(F*).

    >>> from catapult.numerics.models import UVModel, UVDataModel
    >>> from catapult.numerics.losses import DataLoss, squared
    >>> value, slope = output_loss(UVDataModel(8, [[1.0], [-2.0]]), DataLoss([squared(1), squared(1)]), None)
    >>> slope(1.0)   # ((1 - 1) * 1 + (-2 - 1) * (-2)) / 2
    3.0
    >>> output_loss(UVDataModel(8, [[1.0, 0.0]]), DataLoss([squared(1)]), None) is None
    True
    """
    if getattr(model, "n_outputs", 1) > 1:  # L = sum_a l(f_a) over several outputs: not a function of one
        return None
    if hasattr(model, "_combined"):  # a deep network on scalar data: it builds L(F) itself
        return model._combined(B, loss.bind(B))
    X = getattr(model, "X", None)
    if X is None:
        bound = loss.bind(B)
        return bound if isinstance(bound, tuple) and len(bound) == 2 and callable(bound[1]) else None
    X = np.asarray(X, float)
    if X.ndim != 2 or X.shape[1] != 1:
        return None
    p0 = float(np.asarray(model.probe, float).reshape(-1)[0])
    scal = float if B is None else B.scalar
    ratios = [scal(float(x)) / scal(p0) for x in X[:, 0]]
    bound = loss.bind(B)
    m = len(bound)
    one_over_m = 1 / (B.scalar(m) if B is not None else float(m))

    def value(F):
        return sum((v(r * F) for r, (v, _) in zip(ratios, bound)), 0 * F) * one_over_m

    def slope(F):
        return sum((r * s(r * F) for r, (_, s) in zip(ratios, bound)), 0 * F) * one_over_m

    return value, slope


def _slope_minima(slope, R=1e8, per_decade=10):
    """Sampled sign changes of the slope from - to + (minima of L(F)) on +-[1e-8, R] and 0 (mpmath, 30 digits)."""
    with mpmath.workdps(30):
        mags = [mpmath.mpf(10) ** (mpmath.mpf(k) / per_decade) for k in range(-8 * per_decade, int(8 * per_decade) + 1)]
        xs = [-m for m in reversed(mags)] + [mpmath.mpf(0)] + mags
        xs = [x for x in xs if abs(x) <= R]
        vals = []
        for x in xs:
            try:
                v = slope(x)
                v = mpmath.mpf(v) if mpmath.isfinite(v) else None
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
                v = None
            vals.append(v)
        out = []
        for (a, va), (b, vb) in zip(zip(xs, vals), zip(xs[1:], vals[1:])):
            if va is not None and vb is not None and va < 0 <= vb:
                out.append((a, b))
        return out, len(xs), (float(xs[0]), float(xs[-1]))


@dataclass
class Minimum:
    """The end of a float64 GD warm-up at a small step: a point next to a minimum (measured).

    ``theta`` are float64 arrays, taken as exact binary numbers at every precision.
    """

    theta: list
    eta_lam0: float
    steps: int
    grad_norm: float
    grad_norm0: float
    f: float
    lam: float
    lam0: float


def warm_minimum(model, loss, *, eta_lam0=1.0, rel_gtol=1e-11, max_steps=20000, halvings=6):
    """GD in float64 at ``eta_lam0`` (halved while the loss ever rises above its initial value or the run
    blows up) until |grad L| < ``rel_gtol`` |grad L_0|.  Returns ``(Minimum, None)`` or ``(None, reason)``.

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> w, why = warm_minimum(UVModel(64, 0), squared())
    >>> why is None and abs(w.f) < 1e-10 and w.grad_norm < 1e-10
    True
    """
    B = get_backend("float64")
    g0 = float(run_gd(model, loss, eta_lam0=1, steps=0, backend=B, record=False).grad_norm)
    x = float(eta_lam0)
    last = None
    for _ in range(halvings + 1):
        tr = run_gd(model, loss, eta_lam0=x, steps=max_steps, backend=B, gtol=rel_gtol * g0, record=False,
                    until=lambda t, L, L0: L > L0)
        if tr.stop is Stop.UNTIL or tr.stop.diverged:
            last = f"GD at eta*lam0 = {x:g} raised the loss above its initial value or blew up"
            x /= 2
            continue
        g = float(tr.grad_norm)
        if tr.stop is not Stop.CONVERGED:
            return None, (f"no minimum reached: GD at eta*lam0 = {x:g} ran {tr.steps} steps with the loss falling, "
                          f"|grad L| fell only from {g0:.3g} to {g:.3g} (criterion: < {rel_gtol:g} x initial), "
                          f"|f| = {abs(float(tr.f[-1])):.4g}")
        return Minimum([np.array(th, dtype=float) for th in tr.theta], x, tr.steps, g, g0, float(tr.f[-1]),
                       float(tr.lam[-1]), float(tr.lam0)), None
    return None, f"no minimum reached: {last}, also after {halvings} halvings"


def _perturbed_start(w: Minimum, rel=1e-8, seed=12345):
    """theta_w + delta d, d a Gaussian direction from ``seed``, |delta d| = rel |theta_w| -- in float64, so the
    start is one exact binary point shared by every precision."""
    rng = np.random.default_rng(seed)
    ds = [rng.standard_normal(th.shape) for th in w.theta]
    norm_d = np.sqrt(sum(float(np.sum(d * d)) for d in ds))
    norm_t = np.sqrt(sum(float(np.sum(th * th)) for th in w.theta))
    return [th + (rel * norm_t / norm_d) * d for th, d in zip(w.theta, ds)]


#: below this fraction of its start |grad L| no longer counts as slowly growing: the start is a 1e-8 relative
#: perturbation, so in float64 this is ~1e3 above the gradient's rounding floor, where step-to-step changes are
#: noise (a fast-decaying run then looked "growing" at eta lam_1 = 1.48 with 3 samples); an unstable mode keeps at
#: least its overlap with the random perturbation, ~1/sqrt(#parameters), far above it
GROWTH_FLOOR = 1e-5


def perturbation_grows(model, loss, start, eta, B, T, factor=2) -> bool:
    """GD at ``eta`` for up to ``T`` steps from ``start`` (a :class:`_Start` next to a minimum): True when
    |grad L| exceeds ``factor`` x its initial value at some step (clear growth; the run stops there, before
    the perturbation can saturate and a catapult can carry GD to another, stable minimum), or when
    |grad L|_T > |grad L|_(T-2) (slow growth just above the threshold) while it is still above
    :data:`GROWTH_FLOOR` x its start, or when the run blows up.

    To linear order around the minimum every Hessian mode of the gradient is multiplied by 1 - eta h_i per
    step, so below the threshold (all |1 - eta h_i| < 1) |grad L| never increases.
    """
    g = []
    with B.context():
        bound = loss.bind(B)
        theta = start.init(B)
        eta_b = B.scalar(eta)
        try:
            ev = model.evaluate(theta, B, bound)
            for t in range(int(T) + 1):
                gn = B.to_mpf(ev.grad_norm2)
                if not mpmath.isfinite(gn):
                    return True
                g.append(gn)
                if gn > factor * factor * g[0]:  # squared norms
                    return True
                if t < T:
                    theta, ev = gd_step(model, B, bound, theta, ev, eta_b)
        except (OverflowError, FloatingPointError, ZeroDivisionError):  # float64 Python scalars overflow
            return True
    return g[-1] > g[-3] and g[-1] > GROWTH_FLOOR * GROWTH_FLOOR * g[0]  # squared norms


def stability_threshold(model, loss, *, rtol=1e-6, dps=50, steps=None, grid=None, warm_eta_lam0=1.0,
                        rel_perturbation=None):
    """The measured linear stability threshold of the minimum GD reaches (``CRITERIA['stability_threshold']``).

    1. Warm-up: float64 GD at ``warm_eta_lam0`` to |grad L| < 1e-11 |grad L_0| (:func:`warm_minimum`).
    2. Start: the warm-up end plus a Gaussian perturbation of relative size ``rel_perturbation``
       (default min(1e-8, rtol/100): small enough that the nonlinear terms shift the threshold far less
       than ``rtol``, large enough to dominate the warm-up's residual).
    3. Predicate at eta: :func:`perturbation_grows` over ``steps`` steps (default 4 when the loss is a
       function of one output -- the gradient is then one Hessian mode -- else 400, so slower modes decay);
       bracket from a float64 geometric grid, bisection up the precision ladder.

    Reported: eta, eta*lam0 (cold-init lam0), and -- when the loss is a function of the probe output F --
    eta*h* with h* = lam* L''(F*) measured at the warm minimum (lam* = its NTK, L''(F*) a central difference
    of the numeric slope at 2 x ``dps`` digits), which the derived claim eta_crit = 2/(lam* l''(f*)) says is 2.
    Returns :class:`NotMeasured` (with the reason) when there is no minimum to perturb.  (Over 60 lines with
    this docstring: the body is one sequential procedure -- warm-up, start, grid, ladder, curvature -- of ~45
    lines whose steps share the warm minimum and the ladder's state.)

    >>> import mpmath
    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import NumericLoss
    >>> r = stability_threshold(UVModel(64, 1), NumericLoss("exp(-f)", lambda x: mpmath.exp(-x),
    ...                         lambda x: -mpmath.exp(-x)), rtol=1e-4, dps=20)
    >>> r.reason.startswith("the loss has no minimiser (l' never 0)")
    True
    """
    name = "stability_threshold"
    if rel_perturbation is None:
        rel_perturbation = min(1e-8, rtol / 100)
    mp_backend = get_backend("mpmath", 30)
    with mp_backend.context():
        ol = output_loss(model, loss, mp_backend)
    if ol is not None:
        with mp_backend.context():
            mins, npts, (a, b) = _slope_minima(ol[1])
        if not mins:
            return NotMeasured(name, f"the loss has no minimiser (l' never 0): the slope of the loss in the output "
                                     f"has no sign change from - to + at {npts} sampled f in [{a:g}, {b:g}] "
                                     f"(measured); a perturbation has no minimum to grow from")
    w, why = warm_minimum(model, loss, eta_lam0=warm_eta_lam0)
    if w is None:
        return NotMeasured(name, why + ("" if ol is not None else
                                        " (the loss may have no minimiser (l' never 0), or a degenerate one)"))
    T = int(steps) if steps is not None else (4 if ol is not None else 400)
    if T < 2:
        raise NumericsInputError(f"the stability horizon needs at least 2 steps, got {T}")
    start = StartedAt(model, _perturbed_start(w, rel_perturbation))
    lam0s = {}

    def pred(x, B):
        key = B.tag
        if key not in lam0s:
            lam0s[key] = _cold_lam0(model, loss, B)
        with B.context():
            eta = mpmath.mpf(x) / lam0s[key]
        return perturbation_grows(model, loss, start, eta, B, T)

    grid = grid or default_grid()
    B64 = get_backend("float64")
    first, _ = first_change(lambda x: pred(x, B64), grid)
    extra = {"warmup_eta_lam0": w.eta_lam0, "warmup_steps": w.steps, "warmup_grad_norm": w.grad_norm,
             "perturbation": rel_perturbation, "f_star": w.f, "lam_star": w.lam,
             "lam_star_over_lam0": w.lam / w.lam0}
    if first is None or first == 0:
        where = "false on the whole grid" if first is None else "already true at the grid's start"
        return NotMeasured(name, f"perturbation growth {where} (eta*lam0 in [{float(grid[0]):g}, "
                                 f"{float(grid[-1]):g}])", extra)
    est = _ladder_bisect(name, pred, model, loss, grid[first - 1], grid[first], rtol, dps, T, extra)
    est.extra.update(_curvature_evidence(model, loss, w, est.eta, dps) if ol is not None else
                     {"h_star": None, "h_star_reason": "the training loss is not a function of one output: "
                                                       "lam* l''(f*) not defined"})
    return est


def _curvature_evidence(model, loss, w, eta, dps):
    """h* = lam* L''(F*) at the warm minimum ``w`` (L'' a central difference of the numeric slope at 2 x ``dps``
    digits) and eta*h*, eta*lam* for the measured threshold ``eta``."""
    C = get_backend("mpmath", 2 * dps)
    with C.context():
        slope = output_loss(model, loss, C)[1]
        fs, h = mpmath.mpf(w.f), mpmath.mpf(10) ** (-(2 * dps) // 3)
        curv = (slope(fs + h) - slope(fs - h)) / (2 * h)
        return {"slope_at_f_star": float(slope(fs)), "curvature_at_f_star": float(curv),
                "h_star": float(w.lam * curv), "eta_h_star": float(eta * mpmath.mpf(w.lam) * curv),
                "eta_lam_star": float(eta * mpmath.mpf(w.lam))}


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
    """The three measured thresholds of one (model, loss, width, seed): each a :class:`ThresholdEstimate`
    or a :class:`NotMeasured` with its reason."""

    loss_rise_onset: object
    stability_threshold: object
    divergence_onset_at_width: object
    lam0: mpmath.mpf
    width: int
    seed: int | None
    dps: int
    notes: list = field(default_factory=list)

    @property
    def eta_max(self):
        """Deprecated alias of ``divergence_onset_at_width`` (a :class:`ThresholdEstimate` or None)."""
        d = self.divergence_onset_at_width
        return d if isinstance(d, ThresholdEstimate) else None

    def estimates(self):
        return {k: getattr(self, k) for k in CRITERIA}

    def to_json(self) -> dict:
        return {**{k: v.to_json() for k, v in self.estimates().items()},
                "lam0": None if self.lam0 is None else float(self.lam0), "width": self.width, "seed": self.seed, "dps": self.dps,
                "notes": self.notes, "exactness": "measured"}


def scan(model, loss, *, grid=None, rtol=1e-6, dps=50, steps=2000, stability=True, on_result=None) -> ScanResult:
    """All three measured thresholds: coarse float64 grid for brackets, then bisection on each
    (``stability=False`` skips the stability threshold).  ``on_result(name, estimate)`` is called as each
    threshold is done (in the order loss_rise_onset, divergence_onset_at_width, stability_threshold), so a
    caller keeps what was measured when the scan is interrupted."""
    grid = grid or default_grid()
    B = get_backend("float64")
    notes = []
    found = {}
    for name in ("loss_rise_onset", "divergence_onset_at_width"):
        first, verdicts = first_change(lambda x: PREDICATES[name](model, loss, x, B, steps), grid)
        if first is None:
            found[name] = NotMeasured(name, f"predicate false on the whole grid up to eta*lam0 = {float(grid[-1]):g}")
        elif first == 0:
            found[name] = NotMeasured(name, f"predicate already true at the grid's start eta*lam0 = {float(grid[0]):g}")
        else:
            if not all(verdicts[first:]):
                back = [float(grid[i]) for i in range(first, len(grid)) if not verdicts[i]]
                notes.append(f"{name}: not monotone on the grid -- false again at eta*lam0 = {back[:5]} (windows)")
            found[name] = locate(name, model, loss, grid[first - 1], grid[first], rtol=rtol, dps=dps, steps=steps)
        if on_result is not None:
            on_result(name, found[name])
    found["stability_threshold"] = (stability_threshold(model, loss, rtol=rtol, dps=dps, grid=grid) if stability
                                    else NotMeasured("stability_threshold", "not requested"))
    if on_result is not None:
        on_result("stability_threshold", found["stability_threshold"])
    lam0 = _cold_lam0(model, loss, get_backend("arb", dps))
    return ScanResult(found["loss_rise_onset"], found["stability_threshold"], found["divergence_onset_at_width"],
                      lam0, model.width, model.seed, dps, notes)
