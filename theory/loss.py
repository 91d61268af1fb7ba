"""Losses of the network output: any twice-differentiable SymPy expression l(f).

A :class:`Loss` holds the expression, its first two derivatives and the
parameters it depends on (``y`` for a regression label, ``p`` for a class
fraction, ...).  Nothing downstream knows which loss it is handed: the map,
the invariants and the thresholds are all derived from ``expr``.

Examples
========
>>> from catapult.theory.loss import Loss, mse
>>> mse().expr
f**2/2
>>> mse(label="y").d1
f - y
>>> Loss.parse("log(cosh(f - 1))").d2
-sinh(f - 1)**2/cosh(f - 1)**2 + 1
>>> Loss.parse("sqrt(f**2)")  # = Abs(f) for real f
Traceback (most recent call last):
...
catapult.theory.errors.TheoryInputError: loss Abs(f) is not twice differentiable (its derivatives contain Abs/sign/DiracDelta/Heaviside/Piecewise)
>>> Loss.parse("f**2 + 0*__import__('os').system('touch pwned')")  # parsed, never executed
Traceback (most recent call last):
...
catapult.theory.errors.TheoryInputError: loss expression "f**2 + 0*__import__('os').system('touch pwned')": attribute access (.system) is not allowed
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from .errors import TheoryInputError
from .parse import FUNCTIONS, exact_value, parse_expression
from .symbols import SYMBOLS, f, p, y

#: parameter names a loss expression may use besides ``f``
LOSS_PARAMETERS = {"y": y, "p": p}

#: the SymPy function classes a loss may contain (the parser's whitelist: every numeric backend evaluates them)
_SUPPORTED = tuple(FUNCTIONS[k] for k in FUNCTIONS if k != "sqrt")  # sqrt is a Pow

_NONSMOOTH = (sp.Abs, sp.sign, sp.DiracDelta, sp.Heaviside, sp.Piecewise, sp.Max, sp.Min,
              sp.floor, sp.ceiling, sp.frac, sp.arg, sp.re, sp.im, sp.conjugate)


def _unsupported(expr):
    """Names of the node types in ``expr`` outside the parser's grammar (non-smooth ones are reported later)."""
    out, walk = set(), sp.preorder_traversal(expr)
    for node in walk:
        if isinstance(node, _NONSMOOTH):
            walk.skip()
        elif not (isinstance(node, (sp.Symbol, sp.Number, sp.Add, sp.Mul, sp.Pow) + _SUPPORTED)
                  or node in (sp.pi, sp.E)):
            out.add(type(node).__name__)
            walk.skip()
    return sorted(out)


@dataclass(frozen=True)
class Loss:
    """A loss l(f) of the scalar output ``f`` (symbol :data:`catapult.theory.symbols.f`).

    Parameters
    ==========
    expr : sympy.Expr
        The loss as an expression in ``f`` and the parameters listed in
        :data:`LOSS_PARAMETERS`.
    name : str
        A short label used in reports.

    Examples
    ========
    >>> import sympy as sp
    >>> from catapult.theory.symbols import f
    >>> L = Loss(sp.exp(-f), "exp")
    >>> L.d1, L.params
    (-exp(-f), ())
    """

    expr: sp.Expr
    name: str = ""
    d1: sp.Expr = field(init=False, repr=False)
    d2: sp.Expr = field(init=False, repr=False)

    def __post_init__(self):
        if isinstance(self.expr, str):
            raise TheoryInputError("Loss(expr) takes a SymPy expression; parse a string with Loss.parse")
        try:
            expr = sp.sympify(self.expr, strict=True)  # strict: numbers and SymPy objects only, never a string
        except (sp.SympifyError, TypeError, ValueError):
            raise TheoryInputError(f"loss {self.expr!r} is not a SymPy expression") from None
        if not isinstance(expr, sp.Expr) or isinstance(expr, sp.Lambda):
            raise TheoryInputError(f"loss {expr} is not an expression in f")
        if expr.has(sp.I, sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise TheoryInputError(f"loss {expr} is not real and finite (contains I, oo, zoo or nan)")
        if expr.atoms(AppliedUndef):
            bad = sorted(str(a.func) for a in expr.atoms(AppliedUndef))
            raise TheoryInputError(f"unknown function(s) {', '.join(bad)} in loss {expr}")
        allowed = {f, *LOSS_PARAMETERS.values()}
        unknown = expr.free_symbols - allowed
        if unknown:
            raise TheoryInputError(
                f"unknown symbol(s) {', '.join(sorted(map(str, unknown)))} in loss {expr}; "
                f"a loss may use f and {', '.join(sorted(LOSS_PARAMETERS))}")
        if f not in expr.free_symbols:
            raise TheoryInputError(f"loss {expr} does not depend on the output f")
        other = _unsupported(expr)
        if other:
            raise TheoryInputError(
                f"loss {expr} uses {', '.join(other)}, which the numeric backends do not evaluate; "
                f"supported: numbers, pi, E, + - * / ** and {', '.join(FUNCTIONS)}")
        d1 = sp.diff(expr, f)
        d2 = sp.diff(d1, f)
        if any(e.has(*_NONSMOOTH) for e in (expr, d1, d2)):
            raise TheoryInputError(
                f"loss {expr} is not twice differentiable (its derivatives contain "
                "Abs/sign/DiracDelta/Heaviside/Piecewise)")
        object.__setattr__(self, "expr", expr)
        # d1 is kept as differentiated (a sum of well-conditioned terms): simplify() can merge
        # terms into forms that cancel catastrophically at large |f| (e.g. sums of logistic terms)
        object.__setattr__(self, "d1", d1)
        object.__setattr__(self, "d2", d2)  # not simplified either: see d1 (and simplify can blow up)
        if not self.name:
            object.__setattr__(self, "name", str(expr))

    @property
    def params(self) -> tuple:
        """The loss's own parameters (symbols other than ``f``), sorted by name.

        >>> mse(label="y").params
        (y,)
        """
        return tuple(sorted(self.expr.free_symbols - {f}, key=str))

    @classmethod
    def parse(cls, text: str, name: str = "") -> "Loss":
        """Parse a loss from a string in the symbol ``f`` (and ``y``, ``p``) with :mod:`catapult.theory.parse`.

        The text is never executed: only numbers, f/y/p, pi, E, + - * / ** and the functions of
        :data:`catapult.theory.parse.FUNCTIONS` are accepted, within size caps.

        >>> Loss.parse("(f - y)**2/2").d1
        f - y
        >>> Loss.parse("f**2 + q")
        Traceback (most recent call last):
        ...
        catapult.theory.errors.TheoryInputError: loss expression 'f**2 + q': unknown name q (allowed: f, p, y, and the constants E, pi)
        """
        expr = parse_expression(text, {"f": f, **LOSS_PARAMETERS}, "loss expression")
        return cls(expr, name or text)

    def subs(self, values: dict) -> "Loss":
        """The loss with some parameters replaced by values (kept exact).

        >>> mse(label="y").subs({"y": "3/2"}).expr
        (f - 3/2)**2/2
        """
        reps = {}
        for k, v in values.items():
            if isinstance(k, str) and k not in SYMBOLS:
                raise TheoryInputError(f"unknown parameter {k!r}; known: {', '.join(sorted(SYMBOLS))}")
            reps[SYMBOLS[k] if isinstance(k, str) else k] = exact_value(
                v, f"value of {k}", symbols={"f": f, **LOSS_PARAMETERS}, number=False)
        return Loss(self.expr.subs(reps), self.name)

    def latex(self) -> str:
        """LaTeX of ``l(f)``.

        >>> mse().latex()
        '\\\\frac{f^{2}}{2}'
        """
        return sp.latex(self.expr)


def mse(label=0) -> Loss:
    """Squared loss ``(f - y)**2/2``; ``label`` is a number, or ``"y"`` to keep it symbolic.

    >>> mse(1).expr
    (f - 1)**2/2
    """
    lab = y if (isinstance(label, str) and label.strip() == "y") or (isinstance(label, sp.Basic) and label == y) else \
        exact_value(label, "label", symbols={"y": y}, number=False)
    if not isinstance(lab, sp.Expr) or lab.free_symbols - {y}:
        raise TheoryInputError(f"label {label!r} must be a number or the symbol y")
    return Loss((f - lab) ** 2 / 2, "mse")


def _exact(v, what):
    return exact_value(v, what)  # strings parsed safely; a finite real number


def logistic(p="p") -> Loss:
    """Logistic loss on equal-magnitude degenerate data: a fraction p of margins z = +1.

    L(F) = p log(1 + e^{-F}) + (1 - p) log(1 + e^{F}); ``p="p"`` keeps it symbolic
    (assumption 0 < p < 1), p = 1 is the separable case.

    >>> logistic("1/2").expr
    log(1 + exp(-f))/2 + log(exp(f) + 1)/2
    >>> logistic(1).expr
    log(1 + exp(-f))
    >>> logistic(0)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: p must be in (0, 1] (p = 1: separable data), got 0
    """
    pv = "p" if isinstance(p, str) and p.strip() == "p" else _exact(p, "p")
    if pv != "p" and not (0 < pv <= 1):
        raise TheoryInputError(f"p must be in (0, 1] (p = 1: separable data), got {p}")
    P = globals()["p"] if pv == "p" else pv
    expr = P * sp.log(1 + sp.exp(-f)) + (1 - P) * sp.log(1 + sp.exp(f))
    return Loss(expr, f"logistic(p={pv})")


def degenerate_logistic(z, r) -> Loss:
    """Logistic loss of degenerate data: L(F) = (1/m) sum_i log(1 + exp(-z_i r_i F)).

    ``z_i = y_i s_i`` in {+1, -1} (label times side), ``r_i > 0`` the magnitudes.
    Separable iff all z_i are equal.

    >>> degenerate_logistic([1, 1, -1], [1, 2, 1]).expr
    log(1 + exp(-2*f))/3 + log(1 + exp(-f))/3 + log(exp(f) + 1)/3
    >>> degenerate_logistic([1, 0], [1, 1])
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: every z_i must be +1 or -1, got 0
    """
    z, r = list(z), list(r)
    if not z:
        raise TheoryInputError("degenerate data are empty")
    if len(z) != len(r):
        raise TheoryInputError(f"z and r must have the same length, got {len(z)} and {len(r)}")
    zs = [_exact(v, "z_i") for v in z]
    rs = [_exact(v, "r_i") for v in r]
    for v in zs:
        if v not in (1, -1):
            raise TheoryInputError(f"every z_i must be +1 or -1, got {v}")
    for v in rs:
        if not v > 0:
            raise TheoryInputError(f"every r_i must be > 0, got {v}")
    m = len(zs)
    expr = sum(sp.log(1 + sp.exp(-zi * ri * f)) for zi, ri in zip(zs, rs)) / m
    return Loss(expr, f"logistic(data, m={m}, {'separable' if len(set(zs)) == 1 else 'non-separable'})")


def as_loss(loss, p=None) -> Loss:
    """A :class:`Loss` from a Loss, the names ``"mse"`` / ``"logistic"``, or an expression string in f.

    ``"logistic"`` is the degenerate-data logistic loss with class fraction ``p``
    (symbolic unless ``p`` is given, see :func:`logistic`); ``p`` given
    with another loss replaces that loss's symbol p.

    >>> as_loss("mse").expr
    f**2/2
    >>> as_loss("exp(-f)").d1
    -exp(-f)
    >>> as_loss("logistic", p="7/10").expr
    7*log(1 + exp(-f))/10 + 3*log(exp(f) + 1)/10
    >>> as_loss("mse", p=0.5)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: p = 0.5 given, but the loss f**2/2 has no parameter p
    """
    if isinstance(loss, Loss):
        out = loss
    elif loss == "mse":
        out = mse()
    elif loss == "logistic":
        return logistic("p" if p is None else p)
    else:
        out = Loss.parse(loss)
    if p is None:
        return out
    if not any(str(s) == "p" for s in out.params):
        raise TheoryInputError(f"p = {p} given, but the loss {out.expr} has no parameter p")
    return out.subs({"p": p})
