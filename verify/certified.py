"""Certified verdicts and threshold brackets of the derived reduced maps, for a network of a given width and seed.

The map is derived by :mod:`catapult.theory` (uv, deep with isometric hidden layers, a user model file: one output
on (f, lam) and any extra state such as a trained bias, or several outputs on their Gram state; the uv model on
many samples), compiled to balls by :func:`catapult.verify.bridge.ball_map` (several outputs:
:func:`catapult.verify.bridge.sample_ball_map`), and iterated from the network's own init -- f0, lam0 and the extra
state (uv, user models), the Gram entries (several outputs, samples) or the invariants A, C, rho (deep) enclosed in
balls computed from the exact float64 draws -- with an exact rational eta, by
:func:`catapult.numerics.certify.certify`.  Every verdict says
which lemma proves it (:mod:`catapult.numerics.certify`).

Examples
========
>>> r = certified_run("uv", width=64, eta_lam0="3/2", seed=1, steps=2000)
>>> r.verdict.verdict, r.verdict.proof
('converged', 'monotone trap')
>>> certified_run("uv", width=64, eta_lam0=5, seed=1, steps=2000).verdict.proof
'escape cone'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath

from catapult.numerics.certify import certified_bracket, certify, mid_rad
from catapult.theory.multi_output import MultiOutputMap
from catapult.theory.symbols import SYMBOLS

from .bridge import ball_map
from .problems import model_definition, numeric_problem


class CertifiedInputError(ValueError):
    """A certified verdict was asked for a map or input the certified path does not handle."""


def exact(x, name="value") -> Fraction:
    """A number as an exact rational: ints, Fractions, decimal or p/q strings, floats as their short decimal.

    >>> exact("3/2"), exact(0.1), exact(2)
    (Fraction(3, 2), Fraction(1, 10), Fraction(2, 1))
    >>> exact("x")
    Traceback (most recent call last):
    ...
    catapult.verify.certified.CertifiedInputError: value must be a number (int, p/q or decimal), got 'x'
    """
    try:
        q = Fraction(repr(x)) if isinstance(x, float) else Fraction(x)
    except (TypeError, ValueError, ZeroDivisionError):
        raise CertifiedInputError(f"{name} must be a number (int, p/q or decimal), got {x!r}") from None
    return q


@dataclass
class Problem:
    """A derived map with its ball map, the network's init as a callable (evaluated at the current ball
    precision) and its constants but eta (``consts(eta)``)."""

    rmap: object
    bm: object
    init: object
    consts: object
    model: object
    width: int
    seed: int
    model_definition: object = None     #: a model file's definition (its Gram entries name the map's state)


def _arb_backend():
    import flint
    from catapult.numerics.backends import get_backend
    return get_backend("arb", max(5, mpmath.libmp.prec_to_dps(flint.ctx.prec) + 5), certified=True)


def _extra_state_names(rmap, definition, model, name):
    """The oracle's names (Gram entries 'u.v', scalars) of a one-output map's state beyond (f, lam)."""
    from .user_models import _state_name
    label = getattr(model, "name", name)
    if [str(s) for s in rmap.state[:2]] != ["f", "lam"]:
        raise CertifiedInputError(f"the map of {label} is not on (f, lam, ...): no certified lemma is derived for it")
    extra = rmap.state[2:]
    if extra and not hasattr(model, "state"):
        raise CertifiedInputError(f"the map of {label} has extra state ({', '.join(map(str, extra))}) that its "
                                  "network does not report")
    return [_state_name(definition.model, sym) for sym in extra]


def _deep_consts(model, width, e):
    """[eta, n, A, C, rho] of a deep network: the invariants as balls from the exact draws."""
    return [e, width, *_deep_invariants(model)]


def _eta_n(width, e):
    """[eta, n]: the constants of a map with no network invariants."""
    return [e, width]


def _one_output_init(model, nl, names, width):
    """(init, consts) of a one-output map: the network's [f0, lam0, named extra state] as balls; [eta, n]."""
    def init_fn():
        return _network_state_balls(model, nl, names)
    return init_fn, functools.partial(_eta_n, width)


def _network_state_balls(model, nl, names=()):
    """[f0, lam0, then the named Gram entries and scalars] of the network at init, as balls from the exact float64
    draws (certified arb backend): the initial state of a one-output map with extra state."""
    B = _arb_backend()
    with B.context():
        theta = model.init(B)
        ev = model.evaluate(theta, B, nl.bind(B))
        st = model.state(theta, B) if names else {}
        return [ev.f, ev.lam] + [st[k] for k in names]


def _deep_invariants(model):
    """|w_1|^2, |w_L|^2 and w_L . h_(L-1) (= sqrt(n) f0) as balls from the exact draws."""
    B = _arb_backend()
    with B.context():
        w1, *Ws, wL = model.init(B)
        inv = 1 / B.sqrt(B.scalar(model.width))
        h = w1
        for W in Ws:
            h = B.matvec(W, h) * inv
        return B.dot(w1, w1), B.dot(wL, wL), B.dot(wL, h)


def certified_problem(model="uv", loss="mse", *, width, seed=0, depth=None, samples=None, **label_values) -> Problem:
    """The :class:`Problem` of a model (``"uv"``, ``"deep"`` with ``depth``, a model file or definition; ``"uv"``
    with ``samples=(X, Y)``: m samples in dimension d, :func:`_samples_problem`) at a width.

    >>> Problem is type(certified_problem("uv", width=16))
    True
    >>> certified_problem("deep", width=16, depth=3, init="gaussian")
    Traceback (most recent call last):
    ...
    catapult.verify.certified.CertifiedInputError: certified verdicts need the exact reduced map: deep networks with --init isometric only
    """
    from catapult.theory import derive
    if samples is not None:
        return _samples_problem(model, loss, width, seed, samples)
    init_kind = label_values.pop("init", "isometric")
    if init_kind != "isometric":
        raise CertifiedInputError("certified verdicts need the exact reduced map: deep networks with --init "
                                  "isometric only")
    kind, obj = model_definition(model, depth=depth)
    m, nl, lo = numeric_problem(model, loss, width, seed, depth=depth, **label_values)
    if label_values:   # the labels given (y = ...) enter the derived map exactly, as they enter the numeric loss
        lo = lo.subs(label_values)
    eta, n = SYMBOLS["eta"], SYMBOLS["n"]
    if kind == "deep":
        from catapult.theory.deep import A, C, RHO, derive_deep_map
        rmap = derive_deep_map(obj[0], lo)
        consts = [eta, n, A, C, RHO]
        init_fn = _init_from([rmap.init[str(s)] for s in rmap.state], n, width)
        const_fn = functools.partial(_deep_consts, m, width)
    else:
        rmap = derive(obj if kind == "user" else "uv", lo)
        consts = [eta, n]
    free = set().union(*(v.free_symbols for v in rmap.update.values())) - set(rmap.state) - set(consts)
    if free:
        raise CertifiedInputError(f"the map has free parameters {sorted(map(str, free))}: give them values")
    if kind != "deep":
        if isinstance(rmap, MultiOutputMap):
            return _outputs_problem(rmap, obj, m, consts, width, seed)
        init_fn, const_fn = _one_output_init(m, nl, _extra_state_names(rmap, obj, m, model), width)
    return Problem(rmap, ball_map(rmap, consts), init_fn, const_fn, m, width, seed, obj if kind == "user" else None)


def _outputs_problem(rmap, definition, model, consts, width, seed):
    """The :class:`Problem` of a model with several outputs (one loss for each): its Gram-state map with the vector
    residual lemma (:func:`catapult.verify.bridge.sample_ball_map`), the init's Gram entries as balls from the exact
    draws."""
    from .bridge import sample_ball_map
    from .user_models import _state_name
    names = [_state_name(definition.model, sym) for sym in rmap.state]

    def init_fn():
        B = _arb_backend()
        with B.context():
            st = model.state(model.init(B), B)
            return [st[k] for k in names]
    return Problem(rmap, sample_ball_map(rmap, consts), init_fn, functools.partial(_eta_n, width), model, width,
                   seed, definition)


def _samples_problem(model, loss, width, seed, samples):
    """The :class:`Problem` of the uv model on samples (X, Y): the derived invariant map
    (:func:`catapult.theory.samples.derive_sample_map`, numeric data and labels), its vector residual lemma
    (:func:`catapult.verify.bridge.sample_ball_map`) and the init's Gram entries as balls from the exact draws.

    >>> import numpy as np
    >>> pb = _samples_problem("uv", "mse", 16, 0, (np.eye(2), np.array([1.0, -1.0])))
    >>> [str(s) for s in pb.rmap.state], len(pb.init())
    (['u1u1', 'u1u2', 'u1v', 'u2u2', 'u2v', 'vv'], 6)
    """
    import numpy as np
    from catapult.theory.samples import derive_sample_map, sample_model
    from .bridge import sample_ball_map
    if model != "uv":
        raise CertifiedInputError("samples (X, Y) go with the model uv")
    X, Y = (np.asarray(v, dtype=float) for v in samples)
    m, nl, lo = numeric_problem("uv", loss, width, seed, samples=(X, Y))
    rmap = derive_sample_map(X.shape[0], X.shape[1], lo, X=X.tolist(), Y=Y.tolist())
    eta, n = SYMBOLS["eta"], SYMBOLS["n"]
    pairs = {str(sym): ab for ab, sym in dict.items(sample_model(X.shape[1]).G)}
    names = [f"u{k + 1}" for k in range(X.shape[1])] + ["v"]

    def init_fn():
        B = _arb_backend()
        with B.context():
            vecs = dict(zip(names, m.init(B)))
            return [B.dot(vecs[pairs[str(s)][0]], vecs[pairs[str(s)][1]]) for s in rmap.state]
    return Problem(rmap, sample_ball_map(rmap, [eta, n]), init_fn, functools.partial(_eta_n, width), m, width, seed)


def _init_from(exprs, n_sym, width):
    from .bridge import _arb_fn
    fn = _arb_fn([n_sym], list(exprs), cse=False)

    def init():
        import flint
        return [x if isinstance(x, flint.arb) else flint.arb(x) for x in fn(flint.arb(width))]
    return init


def lam0_ball(pb: Problem, dps=40):
    """The initial NTK lam0 of the problem's network as a ball at ``dps`` digits.

    >>> float(lam0_ball(certified_problem("uv", width=64, seed=1)).mid()) > 1
    True
    """
    import flint
    from catapult.numerics.certify import ball
    old = flint.ctx.prec
    flint.ctx.prec = mpmath.libmp.dps_to_prec(dps)
    try:
        c = [ball(x) for x in pb.consts(1)]
        return pb.bm.observe([ball(x) for x in pb.init()], c)[1]
    finally:
        flint.ctx.prec = old


def eta_from(pb: Problem, eta=None, eta_lam0=None) -> Fraction:
    """The exact rational eta of a run: ``eta`` itself, or ``eta_lam0`` divided by lam0's midpoint (60 digits,
    rounded to a rational: eta*lam0 is then ``eta_lam0`` to ~60 digits, and its enclosure is reported).

    >>> pb = certified_problem("uv", width=16)
    >>> eta_from(pb, eta="1/2")
    Fraction(1, 2)
    """
    if (eta is None) == (eta_lam0 is None):
        raise CertifiedInputError("give exactly one of eta and eta_lam0")
    if eta is not None:
        e = exact(eta, "eta")
    else:
        lam0 = lam0_ball(pb, 60)
        man, ex = lam0.mid().man_exp()
        e = exact(eta_lam0, "eta_lam0") / (Fraction(int(man)) * Fraction(2) ** int(ex))
    if e <= 0:
        raise CertifiedInputError(f"eta must be > 0, got {e}")
    return e


def verdict_at(pb: Problem, eta: Fraction, *, steps=5000, dps=30, retries=3, refine=False):
    """The certified verdict of the problem's map at the exact ``eta`` (:func:`catapult.numerics.certify.certify`).

    >>> v = verdict_at(certified_problem("uv", width=64, seed=1), Fraction(1, 2))
    >>> v.verdict, v.proof
    ('converged', 'monotone trap')
    """
    return certify(pb.bm, pb.init, lambda: pb.consts(eta), steps=steps, dps=dps, retries=retries, refine=refine)


@dataclass
class CertifiedRun:
    """A certified verdict of one run, with the exact eta, the enclosure of eta*lam0 and (``gd``, when asked) the
    radius growth of certified parameter GD over a short horizon."""

    verdict: object
    model: str
    width: int
    seed: int
    eta: Fraction
    eta_lam0: tuple
    lemmas: dict = field(default_factory=dict)
    gd: dict | None = None

    def to_json(self) -> dict:
        """The JSON of ``catapult run --certified --json``."""
        d = {"model": self.model, "width": self.width, "seed": self.seed, "eta": str(self.eta),
             "eta_lam0": {"mid": self.eta_lam0[0], "rad": self.eta_lam0[1]}, **self.verdict.to_json(),
             "lemmas_not_derived": dict(self.lemmas)}
        if self.gd is not None:
            d["parameter_gd"] = self.gd
        return d

    def __str__(self):
        v = self.verdict
        lines = [f"certified verdict: {v.verdict}   [{v.proof or 'no proof'}; {v.reason}]",
                 f"  eta = {self.eta}, eta*lam0 in {self.eta_lam0[0]:.17g} +/- {self.eta_lam0[1]:.2g}, "
                 f"{v.dps} digits, step {v.steps}"]
        if v.statement:
            lines.append(f"  theorem: {v.statement}")
        shown = [k for k in v.enclosures if k in ("f", "lam") or (k[0] == "f" and k[1:].isdigit())]
        lines += [f"  {k} = {v.enclosures[k][0]!r} +/- {v.enclosures[k][1]:.3g}" for k in shown]
        lines += [f"  limit {k} = {v.limit[k][0]!r} +/- {v.limit[k][1]:.3g}" for k in shown if k in v.limit]
        if self.gd is not None:
            lines.append(f"  certified parameter GD: {self.gd['steps']} steps, relative radius "
                         f"{self.gd['max_rel_radius']:.3g}, growth x{self.gd['growth_per_step']:.3g} per step")
        return "\n".join(lines)


def gd_radius_growth(model, nl, eta, *, steps=20, dps=50) -> dict:
    """Certified parameter GD (arb balls kept, :mod:`catapult.numerics.backends`) for a short horizon: the largest
    relative radius reached and its mean growth factor per step (the dependency problem of componentwise balls).

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> g = gd_radius_growth(UVModel(32, seed=0), squared(), Fraction(1, 2), steps=5)
    >>> g["steps"], g["growth_per_step"] > 1
    (5, True)
    """
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    B = get_backend("arb", dps, certified=True)
    with mpmath.workdps(2 * dps):
        e = mpmath.mpf(eta.numerator) / eta.denominator   # eta to 2*dps digits (an exact binary number)
    tr = run_gd(model, nl, eta=e, steps=steps, backend=B, gtol=0, max_radius=1e-3)
    r = float(tr.max_rel_radius)
    start = 10.0 ** (-dps)
    return {"steps": tr.steps, "max_rel_radius": r, "stop": str(tr.stop), "dps": dps,
            "growth_per_step": (max(r, start) / start) ** (1 / max(1, tr.steps)),
            "exactness": "proven enclosure of parameter GD (balls kept), short horizon, eta rounded to 2*dps digits"}


def certified_run(model="uv", loss="mse", *, width, eta=None, eta_lam0=None, seed=0, depth=None, steps=5000,
                  dps=30, gd_steps=0, **label_values) -> CertifiedRun:
    """The certified verdict of the derived map of ``model`` at ``width`` and ``seed`` (exact rational eta, or
    ``eta_lam0`` over lam0's midpoint); ``gd_steps > 0`` adds certified parameter GD over that horizon."""
    pb = certified_problem(model, loss, width=width, seed=seed, depth=depth, **label_values)
    e = eta_from(pb, eta, eta_lam0)
    # the limit is refined where the balls allow it (one output); a vector map's balls widen faster than its
    # residuals shrink, so its limit is the first proof's box
    v = verdict_at(pb, e, steps=steps, dps=dps, refine=pb.bm.vector is None)
    x = _times(lam0_ball(pb, 60), e)
    gd = None
    if gd_steps:
        m, nl, _ = numeric_problem(model, loss, width, seed, depth=depth, **label_values)
        gd = gd_radius_growth(m, nl, e, steps=gd_steps)
    name = model if isinstance(model, str) else getattr(pb.model, "name", "model")
    return CertifiedRun(v, name, width, seed, e, mid_rad(x), dict(pb.bm.reasons), gd)


def _times(b, q: Fraction, dps=60):
    """The ball ``b`` times the exact rational ``q`` at ``dps`` digits.

    >>> import flint
    >>> float(_times(flint.arb(3), Fraction(1, 4)).mid())
    0.75
    """
    import flint
    from catapult.numerics.certify import ball
    old = flint.ctx.prec
    flint.ctx.prec = mpmath.libmp.dps_to_prec(dps)
    try:
        return b * ball(q)
    finally:
        flint.ctx.prec = old


def _digits(q: Fraction, digits=30) -> str:
    """An exact rational as a decimal string of ``digits`` significant digits.

    >>> _digits(Fraction(4, 3), 5)
    '1.3333'
    """
    with mpmath.workdps(digits + 5):
        return mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, digits)


@dataclass
class CertifiedScan:
    """A proven threshold bracket in eta (exact rationals), what each end proves, the prediction it is compared
    with (derived by catapult.theory, or why there is none) and what is not proven."""

    bracket: object
    model: str
    width: int
    seed: int
    lam0: tuple
    predicted: dict
    not_proven: str
    lam0_q: Fraction = Fraction(0)

    @property
    def rel_width(self):
        return float((self.bracket.hi - self.bracket.lo) / self.bracket.hi)

    def to_json(self) -> dict:
        """The JSON of ``catapult scan --certified --json``."""
        b = self.bracket
        pl, ph = b.extra.get("proof_lo", {}), b.extra.get("proof_hi", {})
        ok = b.verdict_lo is False and b.verdict_hi is True

        def summary(p):
            return {k: p.get(k) for k in ("verdict", "proof", "theorem", "reason", "steps", "dps")}
        return {"model": self.model, "width": self.width, "seed": self.seed, "criterion": b.criterion,
                "eta_bracket": [str(b.lo), str(b.hi)], "eta_bracket_float": [float(b.lo), float(b.hi)],
                "rel_width": self.rel_width, "proven": ok, "lam0": {"mid": self.lam0[0], "rad": self.lam0[1]},
                "eta_lam0_bracket": [_digits(b.lo * self.lam0_q), _digits(b.hi * self.lam0_q)],
                "proof_lo": summary(pl), "proof_hi": summary(ph), "hi_proves": b.extra.get("hi_proves"),
                "iterations": b.iterations, "notes": list(b.notes), "predicted": self.predicted,
                "not_proven": self.not_proven,
                "exactness": _bracket_exactness(ok, b.extra.get("hi_proves"))}

    def __str__(self):
        d = self.to_json()
        return "\n".join([f"certified bracket ({d['criterion']}), {self.model}, n={self.width}, seed={self.seed}",
                          f"  eta*lam0(mid) in [{d['eta_lam0_bracket'][0]}, {d['eta_lam0_bracket'][1]}] "
                          f"(relative width {d['rel_width']:.3g}; proven: {d['proven']})",
                          f"  lo: {d['proof_lo']['verdict']} by {d['proof_lo']['proof']} ({d['proof_lo']['reason']})",
                          f"  hi: {d['proof_hi']['verdict']} by {d['proof_hi']['proof']} ({d['proof_hi']['reason']})",
                          f"  predicted: {self.predicted}", f"  not proven: {self.not_proven}"])


def _bracket_exactness(ok, hi_proves):
    """What a certified bracket proves, in one label.

    >>> _bracket_exactness(True, "escape cone")
    'proven (ball arithmetic) at both ends'
    >>> _bracket_exactness(True, "runaway bound only")[:68]
    'proven (ball arithmetic): convergence at the lower end; at the upper'
    >>> _bracket_exactness(False, None)[:12]
    'not proven: '
    """
    from catapult.numerics.certify import RUNAWAY
    if not ok:
        return "not proven: the ends' verdicts are not convergent and divergent (see proof_lo, proof_hi)"
    if hi_proves == RUNAWAY:
        return ("proven (ball arithmetic): convergence at the lower end; at the upper end the runaway bound "
                "|f| > 1e8 sqrt(n) only (no escape lemma)")
    return "proven (ball arithmetic) at both ends"


def _predicted_eta_max(model, loss, lam0, depth=None, samples=None):
    """catapult.theory's eta_max of this model (uv, deep, a model file or definition; the uv model on m samples)
    at this lam0 (a SymPy number), or None with the reason."""
    from catapult.theory import thresholds
    kind, obj = model_definition(model, depth=depth)
    if samples is not None:
        t = thresholds("samples", loss, m=len(samples[0]), d=len(samples[0][0]))
    elif kind == "deep":
        t = thresholds("deep", loss, depth=obj[0])
    else:
        t = thresholds(obj if kind == "user" else "uv", loss)
    if t.eta_max.value is None:
        return None, t.eta_max.reason, t.eta_max
    return t.eta_max.at(lam0), "", t.eta_max


def _measured_deep_edge(pb, rtol):
    """The measured first divergent eta*lam0 of the deep reduced map (:func:`catapult.verify.deep_thresholds.
    reduced_first_edge`, floats), widened by 1e-6 relative on each side: where the certified bisection starts."""
    from .deep_thresholds import network_invariants, reduced_first_edge
    e = reduced_first_edge(pb.model.depth, pb.width, network_invariants(pb.model), rtol=min(1e-9, rtol))
    return repr(float(e.lo) * (1 - 1e-6)), repr(float(e.hi) * (1 + 1e-6))


def _measured_edge(model, loss, width, seed, rtol, label_values, why, samples=None):
    """The divergence onset at width n of parameter GD (catapult.numerics.search, float64 then the ladder) as an
    eta bracket (exact rationals) widened by 1e-6 relative on each side: where the certified bisection starts
    (``why``: why not from the derived eta_max, for the error when nothing is measured either).  In eta, not
    eta*lam0: the scan's lam0 (for m samples, the NTK at its probe input) need not be the certified map's
    (lam_max of Theta_0)."""
    from catapult.numerics.search import scan as _scan
    m, nl, _ = numeric_problem(model, loss, width, seed, samples=samples, **label_values)
    div = _scan(m, nl, rtol=min(1e-9, max(rtol, 1e-12)), dps=30, steps=2000, stability=False) \
        .divergence_onset_at_width
    if getattr(div, "lo", None) is None:
        raise CertifiedInputError(f"no start for the certified bracket: {why}, and no divergence onset is measured "
                                  f"({div.reason})")
    lam0 = exact(repr(float(div.lam0)))
    return (exact(repr(float(div.lo))) / lam0 * (1 - Fraction(1, 10 ** 6)),
            exact(repr(float(div.hi))) / lam0 * (1 + Fraction(1, 10 ** 6)))


def _measured_start(predicted, lo, hi, lam0_q, because):
    """Record the measured start (in the certified map's eta*lam0) under ``predicted['start']``."""
    predicted["start"] = {"from": "divergence onset at width n of parameter GD (measured, float64 and the precision "
                                  f"ladder), widened by 1e-6 relative: {because}",
                          "eta_lam0": [_digits(lo * lam0_q, 17), _digits(hi * lam0_q, 17)]}
    return lo, hi


def certified_scan(model="uv", loss="mse", *, width, seed=0, depth=None, rtol=1e-21, start=None, steps=20000,
                   dps=40, samples=None, **label_values) -> CertifiedScan:
    """A proven divergence-threshold bracket of the derived map at ``width``, ``seed``: [eta_lo, eta_hi] with eta_lo
    proven convergent and eta_hi proven divergent (:func:`catapult.numerics.certify.certified_bracket`), bisected
    to relative width ``rtol``.  Start: ``start = (x_lo, x_hi)`` in eta*lam0, else catapult.theory's eta_max
    (-1e-6, +1.3e-6 relative, widened until it straddles); where none is derived (deep: the reduced map's measured
    first edge; other models: parameter GD's measured divergence onset at width n), or where the derived one
    (leading order in 1/n) does not straddle the edge at this width (then the bisection starts again from the
    measured onset), ``predicted['start']`` says where it started and why.  For maps with no escape lemma (deep,
    extra state, several outputs) the upper end proves the runaway bound only (the stop rule's criterion), and the
    bracket and its ``exactness`` say so."""
    pb = certified_problem(model, loss, width=width, seed=seed, depth=depth, samples=samples, **label_values)
    deep = model_definition(model, depth=depth)[0] == "deep"
    lam0 = lam0_ball(pb, 60)
    man, ex = lam0.mid().man_exp()
    lam0_q = Fraction(int(man)) * Fraction(2) ** int(ex)
    pred, why, thr = _predicted_eta_max(model, loss, lam0_q, depth, samples)
    predicted = {"eta_max": None if pred is None else float(pred), "exactness": str(thr.exactness.value)
                 if hasattr(thr.exactness, "value") else str(thr.exactness), "derivation": thr.derivation,
                 "reason": why, "source": "catapult.theory.thresholds (derived)"}
    if start is None and pred is None and deep:
        start = _measured_deep_edge(pb, rtol=max(rtol, 1e-12))
        predicted["start"] = {"from": "reduced_first_edge (measured: float64 and mpmath ladder)",
                              "eta_lam0": list(start)}
    if start is not None:
        lo, hi = exact(start[0]) / lam0_q, exact(start[1]) / lam0_q
    elif pred is not None:
        p = Fraction(str(pred.p)) / Fraction(str(pred.q)) if pred.is_Rational else exact(float(pred))
        # asymmetric, so that no bisection midpoint is the prediction itself (a knife edge of the map)
        lo, hi = p * (1 - Fraction(1, 10 ** 6)), p * (1 + Fraction(13, 10 ** 7))
    elif not deep:
        lo, hi = _measured_start(predicted, *_measured_edge(model, loss, width, seed, rtol, label_values,
                                                            f"no eta_max is derived ({why})", samples),
                                 lam0_q, "no eta_max is derived")
    else:
        raise CertifiedInputError(f"no derived eta_max to start from ({why}); give start=(x_lo, x_hi)")
    runaway = "escape" in pb.bm.reasons

    def bracket(lo, hi):
        return certified_bracket(lambda e: verdict_at(pb, e, steps=steps, dps=dps), lo, hi, rtol,
                                 criterion="certified divergence threshold of the exact reduced map"
                                 + (" (upper end: runaway bound proven, no escape lemma)" if runaway else ""),
                                 accept_runaway=runaway)
    b = bracket(lo, hi)
    if not (b.verdict_lo is False and b.verdict_hi is True) and start is None and not deep \
            and "start" not in predicted:
        # the derived eta_max (leading order in 1/n) need not straddle the edge at this width: start again from
        # the divergence onset measured by parameter GD on the network (the exact map's own orbit)
        b = bracket(*_measured_start(predicted, *_measured_edge(
            model, loss, width, seed, rtol, label_values, "the derived eta_max does not straddle the edge at this "
            "width", samples), lam0_q, "the derived eta_max did not straddle"))
    if pred is not None:
        predicted["inside_bracket"] = bool(b.lo <= (Fraction(str(pred.p)) / Fraction(str(pred.q))
                                                    if pred.is_Rational else exact(float(pred))) <= b.hi)
    not_proven = ("the verdict at each eta strictly inside the bracket; that the divergent set above eta_hi is an "
                  "interval" + (" (deep nets: it is not, in general)" if deep else "")
                  + ("; divergence at eta_hi (only the runaway bound |f| > 1e8 sqrt(n) is proven: no escape lemma "
                     f"for this map: {pb.bm.reasons['escape']})" if runaway else ""))
    name = model if isinstance(model, str) else getattr(pb.model, "name", "model")
    return CertifiedScan(b, name, width, seed, mid_rad(lam0), predicted, not_proven, lam0_q)
