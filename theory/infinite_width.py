"""The infinite-width limit of a derived map: F' = F - eta lam0 l'(F), its fixed points, period doubling, 2-cycles.

The limit n -> oo of the derived f-update at lam = lam0 (SymPy ``limit``) is the
1-D map g(F).  Its fixed points are the minimisers F* of l, with multiplier
g'(F*) = 1 - eta lam0 l''(F*); the multiplier crosses -1 (period doubling) at
eta = 2/(lam0 l''(F*)) = eta_crit.  A 2-cycle solves g(g(F)) = F with F != F*:
symbolically when SymPy can, else numerically (``nsolve`` from both sides of F*).

Examples
========
>>> from catapult.theory.loss import mse, logistic
>>> from catapult.theory.reduce import derive_map
>>> from catapult.theory.models import uv_model
>>> w = infinite_width(derive_map(uv_model(), mse()))
>>> w.g
-eta*f*lam0 + f
>>> w.flip
[2/lam0]
>>> w2 = infinite_width(derive_map(uv_model(), logistic("1/2")))
>>> w2.flip
[8/lam0]
>>> a, b = w2.two_cycle(eta_value=8.8, lam0_value=1)   # 10% above the flip
>>> round(abs(float(a) + float(b)), 12), round(abs(float(a)), 6)   # symmetric 2-cycle +-A
(0.0, 1.106469)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .exactness import Exactness
from .parse import exact_params, exact_value
from .reduce import SLOPE, FunctionSpaceMap
from .symbols import eta, f, lam, lam0, n
from .thresholds import numeric_zero, real_zeros


def _exact(v):
    """An exact SymPy number: ints/Rationals as given, strings parsed safely, floats by their exact binary value."""
    return exact_value(v, floats="binary")


@dataclass
class InfiniteWidth:
    """g(F) = lim_{n->oo} f'(F, lam0); fixed points, multipliers and flip (period-doubling) learning rates."""

    g: sp.Expr
    fixed_points: list
    multipliers: list
    flip: list
    loss_d1: sp.Expr
    #: the n -> oo limit of the finite-width map (exact for the limit map): leading order in 1/n
    exactness: Exactness = Exactness.LEADING

    def __repr__(self):
        return (f"InfiniteWidth(g(f) = {self.g}; fixed points {self.fixed_points}, multipliers {self.multipliers}, "
                f"period doubling at eta = {self.flip})  [{self.exactness}: the n -> oo limit map, exact there]")

    def iterate(self, f0, eta_value, lam0_value, steps, dps=30, **params):
        """Iterate g numerically (mpmath) from f0; returns the list of iterates."""
        import mpmath
        reps = {eta: _exact(eta_value), lam0: _exact(lam0_value)}
        reps.update(exact_params(params, floats="binary"))
        gn = sp.lambdify(f, self.g.subs(reps), modules="mpmath", cse=True)
        with mpmath.workdps(dps):
            x, out = mpmath.mpf(f0), []
            out.append(x)
            for _ in range(steps):
                x = gn(x)
                out.append(x)
        return out

    def two_cycle(self, eta_value, lam0_value, **params):
        """A 2-cycle (a, b) of g at the given eta, lam0 (numeric, 30 digits), or None."""
        reps = {eta: _exact(eta_value), lam0: _exact(lam0_value)}
        reps.update(exact_params(params, floats="binary"))
        g = self.g.subs(reps)
        fps = [sp.N(fp.subs(reps), 30) for fp in self.fixed_points]
        center = fps[0] if fps else sp.Integer(0)
        gg = g.subs(f, g) - f
        for offset in (sp.Float("0.5"), sp.Float(2), sp.Float(8), sp.Float("0.1")):
            for sgn in (1, -1):
                try:
                    a = sp.nsolve(gg, f, center + sgn * offset, prec=30)
                except (ValueError, ZeroDivisionError, TypeError):
                    continue
                if all(abs(a - fp) > 1e-12 for fp in fps):
                    b = sp.N(g.subs(f, a), 30)
                    return a, b
        return None


def infinite_width(fmap: FunctionSpaceMap) -> InfiniteWidth:
    """Derive the infinite-width map and its period-doubling learning rates from ``fmap``."""
    loss = fmap.loss
    g = sp.limit(fmap.update_slope["f"].subs(lam, lam0), n, sp.oo).subs(SLOPE, loss.d1)
    zeros = real_zeros(loss.d1)
    if zeros is None:
        z = numeric_zero(loss.d1)
        zeros = [] if z is None else [z]
    dg = sp.diff(g, f)
    fps, mults, flips = [], [], []
    for z in zeros:
        k = sp.simplify(loss.d2.subs(f, z))
        if k.is_negative or k.is_zero:
            continue
        fps.append(z)
        m = sp.simplify(dg.subs(f, z))
        mults.append(m)
        flips.extend(s for s in sp.solve(sp.Eq(m, -1), eta) if s != 0)
    return InfiniteWidth(g, fps, mults, [sp.factor(x) for x in dict.fromkeys(flips)], loss.d1)
