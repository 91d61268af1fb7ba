"""Critical learning rates, derived from the function-space map.

* ``eta_crit`` -- linear stability of the manifold of minima {F(G) = f*}: the
  exact Gram step G' = Phi(G, l'(F(G))) linearised there is the identity plus
  rank one, with eigenvalues 1 (along the manifold) and
  d f'/d f = 1 - eta lam l''(f*) (derived, also when the map does not close on
  (f, lam)), so the minimum is stable iff 0 < eta < 2/(lam l''(f*)).  Exact when
  the NTK is one expression on the whole manifold (lam = that value); otherwise
  lam = lam0 and it is leading order in 1/n (in the lazy phase lam moves by O(1/n)).
* ``eta_max`` -- the sign of the lam-drift along a catapult excursion
  |f| -> oo: lim (lam' - lam) n / (eta f^2) is computed with SymPy on each
  side; where it changes sign at a finite eta, excursions stop raising the
  curvature below that eta.  Bounded or sublinear l' gives a drift that is
  negative for every eta (no width-independent bound: ``None``); superlinear
  l' gives a positive drift for every eta (no self-stabilising catapult).

Examples
========
>>> from catapult.theory.thresholds import derive_thresholds
>>> from catapult.theory.models import uv_model
>>> from catapult.theory.loss import mse, Loss
>>> t = derive_thresholds(uv_model(), mse())
>>> t.eta_crit.value, t.eta_max.value
(2/lam0, 4/lam0)
>>> derive_thresholds(uv_model(), Loss.parse("log(cosh(f-1))")).eta_max.value is None
True
>>> print(derive_thresholds(uv_model(), Loss.parse("exp(-f)")).eta_crit.reason)
l'(f) = -exp(-f) has no real zero: the loss has no minimiser (for logistic loss: the data are separable, the infimum is at |f| -> oo)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .errors import TheoryInputError
from .exactness import Exactness
from .gram import VectorModel
from .loss import Loss
from .maps import ReducedMap
from .parse import exact_params, exact_value
from .reduce import SLOPE, FunctionSpaceMap, derive_map
from .symbols import LATEX_NAMES, eta, f, lam, lam0, n, p

LEADING = Exactness.LEADING

#: the keys of one threshold in JSON (the same for every model)
THRESHOLD_KEYS = ("name", "value", "exactness", "derivation", "reason", "exact_in_lam", "minimiser", "curvature",
                  "multiplier")

#: the top-level keys of ``Thresholds.to_json()`` (the same for every model)
THRESHOLDS_KEYS = ("model", "loss", "eta_crit", "eta_max", "labels", "reasons", "minimisers", "assumptions",
                   "thresholds", "details", "values")


def _s(e):
    return None if e is None else str(e)


@dataclass
class Threshold:
    """One critical learning rate (or width scale): ``value`` (SymPy, in lam0 and loss parameters) labelled by
    ``exactness``, or ``None`` -- then ``exactness`` is "not derived" and ``reason`` says why.

    ``exact_in_lam`` is the value before lam -> lam0 (exact in the curvature lam of the minimum reached, where
    that applies); ``minimiser``, ``curvature`` (l''(f*)) and ``multiplier`` (the eigenvalue of the linearised
    step whose crossing of -1 defines eta_crit) record what it was derived from.  ``scale`` is what a number
    given to :meth:`at` stands for (lam0, or for many samples the top eigenvalue of Theta0 H).

    >>> t = Threshold("eta_max", 4 / lam0, Exactness.LEADING, "sign change of the lam-drift")
    >>> t.at(2), t.label
    (2, <Exactness.LEADING: 'leading order in 1/n'>)
    >>> Threshold("eta_max", None, Exactness.LEADING, "")
    Traceback (most recent call last):
    ...
    ValueError: eta_max: a missing value is labelled 'not derived' and carries a reason
    """

    name: str
    value: sp.Expr | None
    exactness: Exactness
    derivation: str = ""
    reason: str = ""
    exact_in_lam: sp.Expr | None = None
    minimiser: sp.Expr | None = None
    curvature: sp.Expr | None = None
    multiplier: sp.Expr | None = None
    loss: Loss | None = field(default=None, repr=False, compare=False)  #: the loss whose parameters at() takes
    scale: sp.Expr = field(default=lam0, repr=False)
    seconds: float = field(default=0.0, repr=False, compare=False)

    def __post_init__(self):
        self.exactness = Exactness(self.exactness)
        if self.value is None and (self.exactness != Exactness.NOT_DERIVED or not self.reason):
            raise ValueError(f"{self.name}: a missing value is labelled 'not derived' and carries a reason")
        if self.value is not None and self.exactness == Exactness.NOT_DERIVED:
            raise ValueError(f"{self.name}: a value labelled 'not derived'")

    @property
    def label(self) -> Exactness:
        """The exactness (the name used before the :class:`Exactness` enum)."""
        return self.exactness

    def __str__(self):
        v = "null" if self.value is None else str(self.value)
        return f"{self.name} = {v}   [{self.exactness}] {self.reason or self.derivation}"

    def latex(self) -> str:
        r"""``\eta_{name} = value`` with its exactness (or "not derived").

        >>> from catapult.theory import thresholds
        >>> thresholds("uv", "mse").eta_max.latex()
        '\\eta_{max} = \\frac{4}{\\lambda_0} \\quad \\text{(leading order in 1/n)}'
        """
        sub = self.name[4:] if self.name.startswith("eta_") else self.name.replace("_", r"\_")
        head = rf"\eta_{{{sub}}}" if self.name.startswith("eta_") else rf"\text{{{sub}}}"
        if self.value is None:
            return rf"{head} = \text{{not derived}}"
        return rf"{head} = {sp.latex(self.value, symbol_names=LATEX_NAMES)} \quad \text{{({self.exactness})}}"

    def _repr_latex_(self) -> str:
        """Notebook display: :meth:`latex`."""
        return "$" + self.latex() + "$"

    def at(self, lam0_value, **params):
        """The threshold as an exact SymPy number at a given lam0 and loss parameters (None when not derived).

        Parameters are matched to the value's symbols by name (``str(symbol)``), whatever assumptions those
        symbols carry; a parameter the value still needs raises, and so does one the loss does not have.

        >>> from catapult.theory import thresholds
        >>> thresholds("uv", "mse").eta_max.at(2)
        2
        >>> thresholds("deep", "y*(f - 1)**2/2", depth=2).eta_crit.at(2, y=2)
        1/2
        >>> thresholds("uv", "logistic").eta_crit.at(2)
        Traceback (most recent call last):
        ...
        catapult.theory.errors.TheoryInputError: eta_crit = -2/(lam0*p*(p - 1)) needs a value for p (a keyword argument)
        """
        if self.value is None:
            return None
        given = dict(params)
        loss_names = {str(s) for s in self.loss.expr.free_symbols} - {"f"} if self.loss is not None else set()
        known = (loss_names | {str(s) for s in self.value.free_symbols}) - {"lam0"}
        unknown = sorted(set(given) - known - {"lam0"})
        if unknown:
            what = f" of {self.loss.expr}" if self.loss is not None else ""
            raise TheoryInputError(f"unknown parameter(s) {', '.join(unknown)}: {self.name}{what} "
                                   f"takes lam0 and {', '.join(sorted(known)) or 'nothing else'}")
        reps = {self.scale: exact_value(lam0_value, "lam0", floats="decimal", number=False)}
        for s in self.value.free_symbols:
            if str(s) in given:
                reps[s] = exact_value(given[str(s)], str(s), floats="decimal", number=False)
        out = self.value.subs(reps)
        missing = sorted(str(s) for s in out.free_symbols)
        if missing:
            raise TheoryInputError(f"{self.name} = {self.value} needs a value for {', '.join(missing)} "
                                   "(a keyword argument)")
        return out

    def to_json(self) -> dict:
        """Plain-JSON form; the keys are :data:`THRESHOLD_KEYS` for every threshold of every model.

        >>> from catapult.theory import thresholds
        >>> d = thresholds("uv", "mse").eta_crit.to_json()
        >>> d["value"], d["exactness"], d["exact_in_lam"], d["minimiser"], d["curvature"]
        ('2/lam0', 'leading order in 1/n', '2/lam', '0', '1')
        >>> tuple(d) == THRESHOLD_KEYS
        True
        """
        return {"name": self.name, "value": _s(self.value), "exactness": self.exactness.value,
                "derivation": self.derivation, "reason": self.reason, "exact_in_lam": _s(self.exact_in_lam),
                "minimiser": _s(self.minimiser), "curvature": _s(self.curvature), "multiplier": _s(self.multiplier)}


@dataclass
class Thresholds:
    """The derived thresholds of a model under a loss, with their assumptions.

    ``eta_crit`` and ``eta_max`` always; ``extra`` holds further :class:`Threshold` entries by name (the
    divergence width scale of a bounded-slope loss; a caller may attach measured ones), ``details`` derived
    data that is not a threshold (many samples: the stability matrix) or data a caller attaches (the
    measured deep band), each labelled inside.  ``fmap`` is the :class:`~catapult.theory.maps.ReducedMap`
    it was derived from, when one was derived.

    >>> from catapult.theory import thresholds
    >>> t = thresholds("deep", "mse", depth=2)
    >>> t.eta_max.value, t.eta_max.exactness
    (4/lam0, <Exactness.LEADING: 'leading order in 1/n'>)
    >>> sorted(thresholds("uv", "log(cosh(f))").all)
    ['divergence_scale', 'eta_crit', 'eta_max']
    """

    model: str
    loss: Loss
    eta_crit: Threshold
    eta_max: Threshold
    minimisers: list
    assumptions: list = field(default_factory=list)
    fmap: ReducedMap | None = field(default=None, repr=False)
    extra: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict, repr=False)

    @property
    def all(self) -> dict:
        """Every threshold by name: eta_crit, eta_max, then the extra entries."""
        return {"eta_crit": self.eta_crit, "eta_max": self.eta_max, **self.extra}

    def __repr__(self):
        return "\n".join([f"Thresholds(model={self.model!r}, loss={self.loss.expr})"]
                         + [f"  {t}" for t in self.all.values()]
                         + [f"  assumptions: {'; '.join(self.assumptions)}"])

    def values(self, lam0_value, **params) -> dict:
        """Evaluate eta_crit and eta_max at a given lam0 (and loss parameters) as floats, exactly where possible
        (a string when a parameter is left symbolic, None when not derived).

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> derive_thresholds(uv_model(), mse()).values(2)
        {'eta_crit': 1.0, 'eta_max': 2.0}
        >>> derive_thresholds(uv_model(), mse()).values(1e-300)["eta_crit"]
        2e+300
        >>> derive_thresholds(uv_model(), mse()).values(-1)
        Traceback (most recent call last):
        ...
        catapult.theory.errors.TheoryInputError: lam0 must be a finite number > 0, got -1
        """
        lam0_exact = _exact_number(lam0_value, "lam0", positive=True)
        extra = exact_params(params)
        out = {}
        for t in (self.eta_crit, self.eta_max):
            if t.value is None:
                out[t.name] = None
                continue
            v = t.value.subs({t.scale: lam0_exact, **extra})
            if v.free_symbols:
                out[t.name] = str(v)
                continue
            x = complex(v) if v.is_finite else complex("nan")
            if x.imag != 0 or not (abs(x.real) < 1e308):
                raise TheoryInputError(f"{t.name} = {t.value} at lam0 = {lam0_value} is not a finite real float "
                                       f"({sp.N(v, 5) if v.is_finite is not None else 'undetermined'})")
            out[t.name] = x.real
        return out

    def _repr_latex_(self) -> str:
        r"""Notebook display: every threshold, one row each, with its exactness.

        >>> from catapult.theory import thresholds
        >>> print(thresholds("uv", "mse")._repr_latex_().splitlines()[2])
        \eta_{max} &= \frac{4}{\lambda_0} \quad \text{(leading order in 1/n)} \\
        """
        rows = [t.latex().replace(" = ", " &= ", 1) + r" \\" for t in self.all.values()]
        return "$$\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}$$"

    def latex(self) -> str:
        r"""LaTeX of both thresholds.

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> derive_thresholds(uv_model(), mse()).latex()
        '\\eta_{crit} = \\frac{2}{\\lambda_0},\\quad \\eta_{max} = \\frac{4}{\\lambda_0}'
        """
        def one(t):
            v = r"\text{none}" if t.value is None else sp.latex(t.value, symbol_names=LATEX_NAMES)
            return rf"\eta_{{{t.name[4:]}}} = {v}"
        return one(self.eta_crit) + r",\quad " + one(self.eta_max)

    def to_json(self, lam0_value=None, **params) -> dict:
        """The JSON contract of ``catapult thresholds``: the keys :data:`THRESHOLDS_KEYS` for every model.

        ``eta_crit``/``eta_max`` are the values as strings (null when not derived), ``labels`` and ``reasons``
        the exactness and the reason (or derivation) of every threshold, ``thresholds`` every threshold in full
        (keys :data:`THRESHOLD_KEYS`), ``details`` the non-threshold data, ``values`` the thresholds at
        ``lam0_value`` (null without it).

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> d = derive_thresholds(uv_model(), mse()).to_json(lam0_value=2)
        >>> d["eta_crit"], d["eta_max"], d["values"]
        ('2/lam0', '4/lam0', {'eta_crit': 1.0, 'eta_max': 2.0})
        >>> tuple(d) == THRESHOLDS_KEYS
        True
        """
        ts = self.all
        return {"model": self.model, "loss": str(self.loss.expr),
                "eta_crit": _s(self.eta_crit.value), "eta_max": _s(self.eta_max.value),
                "labels": {k: t.exactness.value for k, t in ts.items()},
                "reasons": {k: t.reason or t.derivation for k, t in ts.items()},
                "minimisers": [str(m) for m in self.minimisers],
                "assumptions": list(self.assumptions),
                "thresholds": {k: t.to_json() for k, t in ts.items()},
                "details": dict(self.details),
                "values": None if lam0_value is None else self.values(lam0_value, **params)}


def _exact_number(v, what, positive=False):
    """An exact finite real SymPy number (:func:`catapult.theory.parse.exact_value`: a float via its shortest decimal, so
    1e-300 stays 10**-300, not 0; a string through the safe parser), optionally > 0."""
    e = exact_value(v, what)
    if positive and not e.is_positive:
        raise TheoryInputError(f"{what} must be a finite number > 0, got {v!r}")
    return e


def real_zeros(expr: sp.Expr):
    """Real zeros of ``expr`` in f: a list, or None when SymPy cannot decide.

    >>> real_zeros(f**2 - 1)
    [-1, 1]
    >>> real_zeros(sp.exp(f))
    []
    """
    terms = sp.Add.make_args(sp.expand(expr))
    if all(t.is_negative for t in terms) or all(t.is_positive for t in terms):
        return []  # every term has the same strict sign (e.g. the slope of a separable logistic loss)
    rates = [sp.Poly(a.args[0], f).LC() for a in expr.atoms(sp.exp) if a.args[0].is_polynomial(f)
             and sp.degree(a.args[0], f) == 1]
    if any(not r.is_Rational for r in rates) or sp.ilcm(1, 1, *[r.q for r in rates]) > 24:
        return None  # a polynomial in exp(f/q) of huge degree: leave it to the numeric root finder
    sol = sp.solveset(expr, f, domain=sp.S.Reals)
    if isinstance(sol, sp.Intersection):  # e.g. {log(p/(1-p))} & Reals when p is free
        finite = [a for a in sol.args if isinstance(a, sp.FiniteSet)]
        sol = finite[0] if finite else sol
    if isinstance(sol, sp.FiniteSet):
        return sorted(sol, key=sp.default_sort_key)
    if sol is sp.S.EmptySet:
        return []
    return None


def numeric_zero(expr: sp.Expr, dps: int = 40):
    """A real zero of ``expr`` (in f, no other symbol) by bracketing and bisection, or None.

    Used when SymPy finds no closed form; the bracket comes from the signs of
    ``expr`` at f -> -oo and f -> +oo (limits), so a sign change is certain.

    >>> z = numeric_zero(sp.exp(f) + f)   # -W(1), the omega constant
    >>> round(float(z), 12)
    -0.56714329041
    """
    if expr.free_symbols - {f}:
        return None
    lo_sign, hi_sign = (_sign(sp.limit(expr, f, s)) for s in (-sp.oo, sp.oo))
    if lo_sign == 0 or hi_sign == 0 or lo_sign == hi_sign:
        return None
    import mpmath
    g = sp.lambdify(f, expr, modules="mpmath")
    with mpmath.workdps(dps + 10):
        a, b = mpmath.mpf(-1), mpmath.mpf(1)
        while mpmath.sign(g(a)) != lo_sign:
            a *= 2
        while mpmath.sign(g(b)) != hi_sign:
            b *= 2
        for _ in range(4 * dps + 60):  # plain bisection (mpmath 1.3's findroot bisect is unreliable)
            c = (a + b) / 2
            if mpmath.sign(g(c)) == lo_sign:
                a = c
            else:
                b = c
        return sp.Float((a + b) / 2, dps)


def _manifold_ntk(model: VectorModel, fs):
    """The NTK on the manifold of minima {F(G) = f*}, if it is one expression there (else None).

    F(G) = f* is solved for each Gram symbol in turn; when the NTK, written on the
    manifold, has no Gram symbol left, every minimum reached has that curvature.
    """
    F, K, gram = model.forward, model.ntk, set(model.G.state_symbols)
    for g in model.G.state_symbols:
        if not F.has(g):
            continue
        try:
            sols = sp.solve(sp.Eq(F, fs), g, dict=True)
        except NotImplementedError:
            continue
        if len(sols) != 1:
            continue
        val = sp.simplify(K.subs(sols[0]))
        if not (val.free_symbols & gram):
            return val
    return None


def _transversal_rate(model: VectorModel, fmap: FunctionSpaceMap):
    """d f'/d s at s = l'(f) = 0, from the exact Gram step, as a multiple of eta*lam (or None).

    One GD step is G' = Phi(G, s) with s = l'(F(G)); on the manifold of minima s = 0 and
    Phi(G, 0) = G.  The Jacobian there is I + (dPhi/ds) l''(f*) (grad_G F)^T: the identity plus
    rank one, so its eigenvalues are 1 (along the manifold) and
    1 + l''(f*) dF(Phi(G, s))/ds|_{s=0}.  Returns dF(Phi)/ds / (eta lam) when SymPy proves it a
    constant (for GD it is -1: dF/ds = -eta |grad f|^2).
    """
    gram_next = fmap.gram_update
    ident = all(sp.simplify(v.subs(SLOPE, 0) - g) == 0 for g, v in gram_next.items())
    if not ident:
        return None
    dFds = sp.diff(model.forward.subs(gram_next, simultaneous=True), SLOPE).subs(SLOPE, 0)
    ratio = sp.simplify(dFds / (eta * model.ntk))
    return ratio if not (ratio.free_symbols & set(model.G.state_symbols)) else None


#: why a loss has no minimiser, as :func:`loss_minimisers` reports it
UNSOLVED, NO_ZERO, NO_CURVATURE = "unsolved", "no real zero", "no positive curvature"


def loss_minimisers(loss: Loss):
    """The minimisers of ``loss``: ``(pairs, how, reason, kind)`` with ``pairs`` a list of (f*, l''(f*)) with
    l''(f*) not <= 0 (maxima and degenerate points dropped), ``how`` the method, ``reason`` why there is none and
    ``kind`` which case that is (:data:`UNSOLVED`, :data:`NO_ZERO`, :data:`NO_CURVATURE`; ``""`` when found).

    >>> from catapult.theory.loss import logistic
    >>> loss_minimisers(logistic("7/10"))[0]
    [(log(7/3), 21/100)]
    >>> print(loss_minimisers(Loss.parse("exp(-f)"))[2])
    l'(f) = -exp(-f) has no real zero: the loss has no minimiser (for logistic loss: the data are separable, the infimum is at |f| -> oo)
    """
    zeros, how = real_zeros(loss.d1), "SymPy solveset"
    if zeros is None:
        z = numeric_zero(loss.d1)
        if z is None:
            return [], "", ("SymPy could not solve l'(f) = 0, and l' does not change sign between f = -oo and +oo "
                            "(no minimiser can be bracketed)"), UNSOLVED
        zeros, how = [z], "numeric root (40 digits, bisection on a certain sign change)"
    if not zeros:
        return [], how, (f"l'(f) = {loss.d1} has no real zero: the loss has no minimiser "
                         "(for logistic loss: the data are separable, the infimum is at |f| -> oo)"), NO_ZERO
    pairs = []
    for z in zeros:
        c = sp.simplify(loss.d2.subs(f, z))
        if c.is_negative or c.is_zero:
            continue  # a maximum, or a degenerate point: no linear instability
        pairs.append((z, sp.factor(c) if p in c.free_symbols else c))
    if pairs:
        return pairs, how, "", ""
    return pairs, how, "no minimiser with l''(f*) > 0", NO_CURVATURE


def _eta_crit(fmap: FunctionSpaceMap, loss: Loss, model: VectorModel):
    pairs, how_min, why, _ = loss_minimisers(loss)
    mins = [z for z, _ in pairs]

    def none(reason):
        return Threshold("eta_crit", None, Exactness.NOT_DERIVED, "", reason, loss=loss), mins

    if not pairs:
        return none(why)
    rate = _transversal_rate(model, fmap)
    if rate is None:
        return none("the linearised Gram step at the minimum manifold could not be written as "
                    "1 + c eta lam l''(f*) with a constant c")
    found, exact = {}, []
    for fs, curv in pairs:
        jac = 1 + rate * eta * lam * curv  # the transversal eigenvalue d f'/d f at the minimum (derived)
        sols = [s for s in sp.solve(sp.Eq(jac, -1), eta, rational=False) if s != 0]  # keep a numeric f*'s digits
        lam_star = _manifold_ntk(model, fs)
        exact.append(lam_star is not None)
        lam_at = lam0 if lam_star is None else lam_star
        for s_ in sols:
            found.setdefault(sp.factor(s_.subs(lam, lam_at)), (fs, curv, jac, sp.factor(s_)))
    if len(found) != 1:
        return none(f"several minimisers with different curvature: {list(found)}" if found else why or
                    "mu = -1 has no solution in eta")
    (value, (fs, curv, jac, in_lam)), = found.items()
    how = (f"the Gram step linearised at the minimum manifold: eigenvalues 1 (along it) and "
           f"d f'/d f = {sp.factor(1 + rate * eta * lam * sp.Symbol('l2'))} (l2 = l''(f*)) = -1")
    if all(exact):
        how += f"; lam = {lam_at}, the NTK on the whole minimum manifold F = f*"
        label = Exactness.EXACT
    else:
        how += ", then lam -> lam0 (lam = lam0 + O(1/n) in the lazy phase)"
        label = LEADING
    if any(isinstance(m, sp.Float) for m in mins):
        how += f"; f* = {mins[0]} is a {how_min}"
    one = len(mins) == 1
    return Threshold("eta_crit", value, label, how, exact_in_lam=in_lam, minimiser=fs if one else None,
                     curvature=curv if one else None, multiplier=jac, loss=loss), mins


_Q = sp.Symbol("q", positive=True)


def _sign(expr):
    """+1, -1 or 0 (unknown), using the assumption 0 < p < 1 (p = 1/(1+q), q > 0)."""
    if expr in (sp.oo, -sp.oo):
        return 1 if expr == sp.oo else -1
    e = sp.simplify(expr.subs(p, 1 / (1 + _Q)))
    return 1 if e.is_positive else -1 if e.is_negative else 0


def _side(drift: sp.Expr, side):
    """Classify the lam-drift as f -> side: ('bound', eta*) | ('neg', why) | ('pos', why) | ('unknown', why)."""
    lead = sp.simplify(sp.limit(drift * n / (eta * f**2), f, side))
    if lead.is_finite and lead != 0 and lead.has(eta):
        sols = [s for s in sp.solve(lead, eta) if s.is_positive is not False]
        if len(sols) == 1:
            below = lead.subs(eta, sols[0] / 2)
            if _sign(below) < 0:
                return "bound", sols[0], f"lim n(lam'-lam)/(eta f^2) = {sp.factor(lead)}, negative below eta = {sols[0]}"
        return "unknown", None, f"lim n(lam'-lam)/(eta f^2) = {lead}"
    if lead == sp.oo:
        return "pos", None, ("lim n(lam'-lam)/(eta f^2) = oo (for the uv map: l' grows faster than linearly): the "
                             "lam-drift is positive along any large excursion for every eta, so no catapult can "
                             "stabilise one; divergence is then decided by the basin of the map, which depends on f0 "
                             "(no width-independent eta_max)")
    if lead != 0 and _sign(lead) < 0:
        return "neg", None, "the lam-drift is negative along any large excursion"
    if lead == 0:
        sub = sp.simplify(sp.limit(drift * n / (eta * f * sp.sign(side)), f, side))
        if _sign(sub) < 0:
            return "neg", None, "l' is bounded/sublinear: the lam-drift is negative along any large excursion for every eta"
        if _sign(sub) > 0:
            return "pos", None, "l' is bounded/sublinear but the lam-drift is positive along large excursions"
    return "unknown", None, f"lim n(lam'-lam)/(eta f^2) = {lead}"


def _eta_max(fmap: FunctionSpaceMap):
    """The excursion analysis: along |f| -> oo with lam held at lam0, where does the lam-drift change sign?

    Domain: maps that close on (f, lam) with lam an independent coordinate.  With extra state (e.g. a bias b,
    which moves by -eta l'(f) each step, i.e. as fast as f during the excursion) or with lam a function of f
    (a model with one Gram entry), holding everything but f fixed is not a valid limit: not derived, and why.
    """
    if not fmap.exact:
        extra = ", ".join(str(s) for s in fmap.state[2:])
        return Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                         f"not derived: the map carries extra state ({extra}) that moves during a large excursion "
                         "(not held fixed as |f| -> oo), so the (f, lam) excursion analysis does not apply; "
                         "measure it (catapult scan: divergence onset at width n)")
    if len(fmap.substitution) == 1:
        (g, val), = fmap.substitution.items()
        lam_f = sp.simplify(fmap.model_def.ntk.subs(g, val)) if fmap.model_def is not None else None
        return Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                         f"not derived: on this model lam = {lam_f} is a function of f, so lam cannot be held at "
                         "lam0 along a large excursion and the excursion analysis does not apply; measure it "
                         "(catapult scan: divergence onset at width n)")
    drift = fmap.drift("lam")
    sides = {str(s): _side(drift, s) for s in (sp.oo, -sp.oo)}
    kinds = {v[0] for v in sides.values()}
    vals = {v[1] for v in sides.values()}
    if kinds == {"bound"} and len(vals) == 1:
        bound = vals.pop()
        v = sp.simplify(bound.subs(lam, lam0))
        how = (f"sign change of the lam-drift along |f| -> oo ({sides['oo'][2]}); "
               "lam -> lam0 (the excursion starts at lam0 + O(1/n))")
        return Threshold("eta_max", v, LEADING, how, exact_in_lam=bound, loss=fmap.loss)
    if kinds == {"neg"}:
        return Threshold("eta_max", None, Exactness.NOT_DERIVED,
                         "leading order in 1/n: the sign of the lam-drift along |f| -> oo, on both sides",
                         "no width-independent bound: " + sides["oo"][2], loss=fmap.loss)
    why = "; ".join(f"f -> {k}: {v[2]}" for k, v in sides.items())
    return Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                     "no single width-independent bound derived (" + why + ")", loss=fmap.loss)


#: the assumptions every eta_crit / eta_max statement in lam0 rests on
BASE_ASSUMPTIONS = ("eta > 0", "n > 0", "lam0 > 0 (NTK at initialisation)",
                    "lam0 stands for the curvature at the start of the excursion / at the minimum: "
                    "equal to the initial NTK up to O(1/n)")


def loss_assumptions(loss: Loss, minimisers) -> list:
    """The assumptions a loss adds: 0 < p < 1, and l''(f*) > 0 where that is not automatic.

    >>> from catapult.theory.loss import logistic
    >>> loss_assumptions(logistic("p"), [])
    ['0 < p < 1']
    """
    out = ["0 < p < 1"] if p in loss.expr.free_symbols else []
    for m in minimisers:
        k = sp.simplify(loss.d2.subs(f, m))
        if k.free_symbols and not k.is_positive:
            out.append(f"l''(f*) = {k} > 0 at the minimiser f* = {m}")
    return out


def derive_thresholds(model: VectorModel, loss: Loss, fmap: FunctionSpaceMap | None = None, *,
                      divergence: bool = False) -> Thresholds:
    """Derive eta_crit and eta_max for ``model`` under ``loss``.

    With ``divergence=True`` (what :func:`catapult.theory.thresholds` asks) and no eta_max, the width scale
    of the divergence (:func:`divergence_scale`) is added as the extra entry ``divergence_scale``.

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import Loss, mse
    >>> t = derive_thresholds(uv_model(), Loss.parse("f**4/4"))
    >>> t.eta_crit.value is None, t.eta_max.value is None
    (True, True)
    >>> derive_thresholds(uv_model(), mse()).eta_max.value       # Lewkowycz et al. 2020
    4/lam0
    >>> derive_thresholds(uv_model(), Loss.parse("log(cosh(f))"), divergence=True).extra["divergence_scale"].value
    sqrt(2)*sqrt(n)
    """
    if len(model.outputs) > 1:  # several outputs: eta_crit from lam_max(Theta) (catapult.theory.multi_output)
        from .multi_output import derive_multi_thresholds
        return derive_multi_thresholds(model, loss)
    fmap = fmap or derive_map(model, loss)
    crit, mins = _eta_crit(fmap, loss, model)
    emax = _eta_max(fmap)
    out = Thresholds(model.name, loss, crit, emax, mins, list(BASE_ASSUMPTIONS) + loss_assumptions(loss, mins),
                     fmap)
    if divergence and emax.value is None:
        out.extra["divergence_scale"] = divergence_scale(fmap)
    return out


def _real_roots(P: sp.Poly) -> list:
    """The real roots of a polynomial over Q, exactly: factors of degree <= 2 by radicals (``sympy.roots``),
    others as ``RootOf`` (``real_roots``, whose integer-basis preprocessing factors the coefficients: ~0.3 s per call
    for the ~2^-52-denominator coefficients of float draws, which the factor-first route avoids).  A polynomial
    with Float coefficients (inexact input) gets its real roots numerically at the coefficients' precision.

    >>> _real_roots(sp.Poly((eta - 2) * (eta**2 - 2) * (eta**3 - eta - 1), eta))
    [2, -sqrt(2), sqrt(2), CRootOf(x**3 - x - 1, 0)]
    """
    if not P.domain.is_Exact:  # float coefficients (f0, lam0 given as Floats): roots at their precision
        digits = max(30, int(getattr(P.domain, "dps", 15)))
        return sorted((r for r in P.nroots(n=digits, maxsteps=200) if r.is_real), key=float)
    out = []
    for fac, _ in P.factor_list()[1]:
        if fac.degree() <= 2:
            out += sorted(sp.roots(fac, filter="R"), key=lambda r: float(r))
        else:
            out += fac.real_roots()
    return out


def first_step_onset(fmap: FunctionSpaceMap, f0, lam0_value, n_value, **params):
    """The smallest eta > 0 at which the loss *rises* in the first step, at finite width (exact).

    Solves l(f'(f0, lam0, eta)) = l(f0) for eta with the derived map, given the
    initial output ``f0``, NTK ``lam0_value`` and width ``n_value``; numbers
    may be exact (Rational) or floats.  Label: exact, given (f0, lam0, n).

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import mse
    >>> import sympy as sp
    >>> m = derive_map(uv_model(), mse())
    >>> first_step_onset(m, 1, 2, 100)  # root of eta**2/100 - 2*eta + 2 = 0
    100 - 70*sqrt(2)
    """
    reps = exact_params(params)
    f0, lam0_value, n_value = (exact_value(v, what) for v, what in ((f0, "f0"), (lam0_value, "lam0"), (n_value, "n")))
    loss = fmap.loss.expr.subs(reps)
    f1 = fmap.update["f"].subs(reps).subs({f: f0, lam: lam0_value, n: n_value})
    gap = sp.expand(loss.subs(f, f1) - loss.subs(f, f0))
    if gap.is_polynomial(eta):
        roots = [r for r in _real_roots(sp.Poly(gap, eta)) if r > 0]
        return min(roots) if roots else None
    crit = sp.N(2 / (lam0_value * fmap.loss.d2.subs(reps).subs(f, f0)), 30)
    try:
        return sp.nsolve(gap, eta, crit, prec=30)
    except (ValueError, ZeroDivisionError, TypeError):
        return None


def divergence_scale(fmap: FunctionSpaceMap) -> Threshold:
    """The width scale below which the curvature invariant cannot grow (derived; a necessary condition).

    The state invariant ``lam^2 - 4 f^2/n`` (see :mod:`catapult.theory.invariants`) is multiplied
    each step by a factor mu(eta l'(f)); mu > 1 requires eta |l'(f)| above the root
    of mu = 1.  With a bounded slope, sup |l'| = G, that is impossible below
    eta = root/G, which for the uv model is sqrt(2 n)/G: any growth of lam^2 - 4f^2/n
    (and so any runaway of the curvature with f/sqrt(n) bounded) needs eta >~ sqrt(n).

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import logistic, mse
    >>> divergence_scale(derive_map(uv_model(), logistic("7/10"))).value
    10*sqrt(2)*sqrt(n)/7
    >>> divergence_scale(derive_map(uv_model(), mse())).value is None
    True
    """
    from .invariants import derive_invariants
    s = sp.Symbol("s", positive=True)
    inv = [i for i in derive_invariants(fmap) if i.kind == "state" and i.expr.has(lam**2)]
    if not inv:
        return Threshold("divergence_scale", None, Exactness.NOT_DERIVED, "", "no quadratic state invariant")
    mu = inv[0].multiplier_slope.subs(SLOPE, s)
    roots = [r for r in sp.solve(sp.Eq(mu, 1), eta) if r.is_positive]
    if not roots:
        return Threshold("divergence_scale", None, Exactness.NOT_DERIVED, "", f"multiplier {mu} never exceeds 1")
    root = min(roots, key=lambda r: sp.default_sort_key(r))
    d1 = fmap.loss.d1
    ends = [sp.limit(d1, f, side) for side in (-sp.oo, sp.oo)]
    if any(not e.is_finite for e in ends):
        return Threshold("divergence_scale", None, Exactness.NOT_DERIVED, "",
                         "l' is unbounded: no width scale from the invariant")
    if sp.calculus.util.continuous_domain(d1, f, sp.S.Reals) != sp.S.Reals:
        return Threshold("divergence_scale", None, Exactness.NOT_DERIVED, "",
                         f"l'(f) = {d1} is not defined and continuous on the whole real line (pole, branch or "
                         "domain edge): no finite sup |l'|")
    crit = real_zeros(fmap.loss.d2)
    vals = ends + ([d1.subs(f, c) for c in crit] if crit else [])
    G = sp.Max(*[sp.Abs(sp.simplify(v)) for v in vals])
    how = (f"{inv[0].expr} is multiplied by {mu.subs(s, sp.Symbol('s'))} per step, s = l'(f); that exceeds 1 only when "
           f"eta |l'(f)| > {root.subs(s, 1)}; sup |l'| = {G}")
    value = sp.simplify(root.subs(s, G))
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) or not G.is_positive:
        return Threshold("divergence_scale", None, Exactness.NOT_DERIVED, "",
                         f"sup |l'| = {G} over the limits and critical points is not a positive finite number: "
                         "no width scale from the invariant")
    return Threshold("divergence_scale", value, Exactness.NECESSARY, how, loss=fmap.loss)
