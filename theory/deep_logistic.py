"""eta_crit of a depth-L isometric linear network under any loss with a minimiser, from the reduced map.

Derivation (SymPy, on :func:`catapult.theory.deep.derive_deep_map`).  The reduced map is x' = x + s u(x)
with s = l'(f(x)) (the slope kept opaque in ``update_slope``: every coordinate update is linear in
s).  On the manifold of minima {f(x) = f*} the slope vanishes, so its Jacobian there is

    J = d x'/d x |_{s=0} + u (l''(f*) grad f)^T = I + l''(f*) u grad f^T,

the identity plus a rank-one matrix (both facts are checked symbolically, not assumed).  Its
eigenvalues are 1 (tangent to the manifold of minima: neutral) and

    mu = 1 + l''(f*) grad f . u = 1 - eta lam l''(f*),

where grad f . u = d f'/d s at s = 0 = -eta lam is *proved* by simplification for the given L.
The minimum is linearly stable iff |mu| < 1, i.e. eta lam l''(f*) < 2: eta_crit = 2/(lam l''(f*)),
exact in the curvature lam of the minimum reached; lam -> lam0 gives the leading order in 1/n (lazy
phase: lam moves by O(1/n)).  The same inequality, read at the end of a catapult, is the flatness
statement: a minimum GD converges to has eta lam_inf l''(f*) <= 2.

Examples
========
>>> from catapult.theory.loss import logistic
>>> r = deep_eta_crit(3, logistic("7/10"))
>>> r.value, r.minimiser, r.curvature
(200/(21*lam0), log(7/3), 21/100)
>>> r.multiplier
-21*eta*lam/100 + 1
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import sympy as sp

from .deep import DeepReducedMap, derive_deep_map
from .errors import TheoryInputError
from .loss import Loss
from .parse import exact_value
from .reduce import SLOPE
from .symbols import eta, f as F, lam, lam0, n, p
from .thresholds import numeric_zero, real_zeros

LEADING = "leading order in 1/n"


@dataclass
class DeepEtaCrit:
    """eta_crit of the depth-L reduced map under a loss: ``value`` (in lam0), or None with ``reason``."""

    L: int
    loss: Loss
    value: sp.Expr | None
    exact_in_lam: sp.Expr | None
    minimiser: sp.Expr | None
    curvature: sp.Expr | None
    multiplier: sp.Expr | None
    label: str
    derivation: str
    reason: str = ""
    seconds: float = 0.0

    def at(self, lam0_value, **params):
        """eta_crit as a number (mpmath-ready SymPy Float) at a given lam0 and loss parameters.

        Parameters are matched to the value's symbols by name (``str(symbol)``), whatever
        assumptions those symbols carry; a parameter the value still needs raises.

        >>> from catapult.theory.loss import Loss, logistic
        >>> float(deep_eta_crit(2, logistic("1/2")).at(2))
        4.0
        >>> deep_eta_crit(2, Loss.parse("y*(f - 1)**2/2")).at(2, y=2)
        1/2
        >>> deep_eta_crit(2, logistic("p")).at(2)
        Traceback (most recent call last):
        ...
        catapult.theory.errors.TheoryInputError: eta_crit = -2/(lam0*p*(p - 1)) needs a value for p (a keyword argument)
        """
        if self.value is None:
            return None
        given = {"lam0": lam0_value, **params}
        known = {str(s) for s in self.loss.expr.free_symbols} | {"lam0", "lam"}
        unknown = sorted(set(given) - known)
        if unknown:
            raise TheoryInputError(f"unknown parameter(s) {', '.join(unknown)}: eta_crit of {self.loss.expr} "
                                   f"takes lam0 and {', '.join(sorted(known - {'lam0', 'lam', 'f'})) or 'nothing else'}")
        reps = {}
        for s in self.value.free_symbols:
            if str(s) in given:
                v = given[str(s)]
                reps[s] = exact_value(v, str(s), floats="decimal", number=False)
        out = self.value.subs(reps)
        missing = sorted(str(s) for s in out.free_symbols)
        if missing:
            raise TheoryInputError(f"eta_crit = {self.value} needs a value for {', '.join(missing)} "
                                   "(a keyword argument)")
        return out

    def to_json(self) -> dict:
        """Plain-JSON form.

        >>> from catapult.theory.loss import logistic
        >>> deep_eta_crit(2, logistic(1)).to_json()["eta_crit"] is None
        True
        """
        s = (lambda e: None if e is None else str(e))
        return {"model": f"deep(L={self.L}, isometric)", "loss": str(self.loss.expr), "eta_crit": s(self.value),
                "eta_crit_exact_in_lam": s(self.exact_in_lam), "minimiser": s(self.minimiser),
                "curvature": s(self.curvature), "multiplier": s(self.multiplier), "label": self.label,
                "derivation": self.derivation, "reason": self.reason}


def _minimiser(loss: Loss):
    zeros = real_zeros(loss.d1)
    if zeros is None:
        z = numeric_zero(loss.d1)
        return ([z], "numeric root (40 digits, bisection on a certain sign change)") if z is not None else (None, "")
    return zeros, "SymPy solveset"


def stability_multiplier(dm: DeepReducedMap, curvature) -> sp.Expr:
    """The non-trivial eigenvalue of the reduced map's Jacobian at a minimum with l''(f*) = ``curvature``.

    Checks that x' = x + s u(x) exactly (so d x'/d x = I at s = 0) and proves grad f . u = -eta lam
    (raises otherwise); the proof depends only on L (the slope is opaque), so it is cached per depth.

    >>> from catapult.theory.loss import mse
    >>> stability_multiplier(derive_deep_map(3, mse()), 1)
    -eta*lam + 1
    """
    if not _identity_proved(dm.L):
        raise AssertionError(f"depth {dm.L}: the reduced map's Jacobian at s = 0 is not I + u grad s^T "
                             "with grad f . u = -eta lam")
    return 1 - eta * lam * sp.sympify(curvature, strict=True)


@functools.lru_cache(maxsize=None)
def _identity_proved(L: int) -> bool:
    dm = derive_deep_map(L)
    state = dm.state
    x = sp.Matrix(state)
    upd = sp.Matrix([dm.update_slope[str(v)] for v in state])
    u = sp.Matrix([sp.diff(e, SLOPE) for e in upd])
    if u.has(SLOPE) or sp.expand(upd - x - SLOPE * u) != sp.zeros(len(state), 1):
        return False  # not of the form x + s u(x)
    grad = sp.Matrix([sp.diff(dm.f, v) for v in state])
    r = sp.Symbol("r", positive=True)  # sqrt(n): the expression becomes rational, cancel() decides it
    return sp.cancel(sp.together(((grad.T * u)[0, 0] + eta * dm.lam).subs(n, r**2))) == 0


def deep_eta_crit(L: int, loss: Loss, dm: DeepReducedMap | None = None) -> DeepEtaCrit:
    """Derive eta_crit for depth ``L`` under ``loss`` from the Jacobian of the reduced map at a minimum.

    >>> from catapult.theory.loss import logistic, degenerate_logistic
    >>> deep_eta_crit(4, logistic("p")).value
    -2/(lam0*p*(p - 1))
    >>> print(deep_eta_crit(3, degenerate_logistic([1, 1], [1, 2])).reason)
    l'(f) has no real zero: the loss has no minimiser (separable data: the infimum is at |f| -> oo)
    """
    t0 = time.perf_counter()
    dm = dm or derive_deep_map(L, loss)
    zeros, how_min = _minimiser(loss)

    def none(reason):
        return DeepEtaCrit(dm.L, loss, None, None, None, None, None, LEADING, "", reason, time.perf_counter() - t0)

    if zeros is None:
        return none("no minimiser found: SymPy cannot solve l'(f) = 0 and no sign change brackets one")
    if not zeros:
        return none("l'(f) has no real zero: the loss has no minimiser (separable data: the infimum is at |f| -> oo)")
    mins = []
    for z in zeros:
        c = sp.simplify(loss.d2.subs(F, z))
        if c.is_negative or c.is_zero:
            continue
        if p in c.free_symbols:
            c = sp.factor(c)
        mins.append((z, c))
    if len(mins) != 1:
        return none(f"need exactly one minimiser with l''(f*) > 0, found {len(mins)}")
    fstar, curv = mins[0]
    mu = stability_multiplier(dm, curv)
    sols = [s for s in sp.solve(sp.Eq(mu, -1), eta, rational=False) if s != 0]
    if len(sols) != 1:
        return none(f"mu = -1 has {len(sols)} solutions in eta")
    exact = sols[0]
    value = sp.factor(exact.subs(lam, lam0))
    how = (f"Jacobian of the depth-{dm.L} reduced map at a point of {{f = f*}}: I + l''(f*) u grad f^T "
           f"(checked), non-trivial eigenvalue {mu} (grad f . u = -eta lam proved); mu = -1 at eta = {exact}; "
           f"lam -> lam0 ({LEADING}); f* by {how_min}")
    return DeepEtaCrit(dm.L, loss, value, exact, fstar, curv, mu, LEADING, how, "", time.perf_counter() - t0)
