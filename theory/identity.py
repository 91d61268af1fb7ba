"""Exact zero tests for rational expressions: the proofs behind "identity checked symbolically".

A derived map's identities (a Jacobian identity, a conjugacy, an invariant's multiplier) are rational functions
of the state; SymPy's ``cancel(together(e)) == 0`` decides them but spends its time on polynomial gcds (2.7 s for
the depth-4 Jacobian identity, 33 s at depth 5).  :func:`is_zero` decides the same question without a gcd:

1. every inverse ``b**-k`` of the expression (``b`` free of inverses itself) is replaced by ``w_b**k``, a new
   variable, and the tree is evaluated in the polynomial ring Q[symbols, w] (sparse, exact: SymPy's
   ``PolyRing``); the result is a polynomial P(x, w);
2. each ``w_b`` is eliminated by clearing its denominator: with K the largest power of w_b in P,
   b^K P(x, 1/b) = sum_k P_k(x) b^(K-k) is again a polynomial (outermost inverses first: a base such as
   ``1 + 1/x`` is a polynomial in x and w_x, so clearing it leaves a polynomial in which w_x is cleared next).

Multiplying by b^K (a function not identically zero) does not change whether the function vanishes on the dense
set where b != 0, so the final polynomial is zero exactly when the expression is identically zero there.  The
test is exact (no sampling) and as strong as ``cancel``.  Expressions outside its class (non-integer powers,
functions such as exp, floats, complex numbers) give ``None``: :func:`vanishes` then falls back to ``cancel``.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> is_zero(1 / (x - y) - 1 / (x + y) - 2 * y / (x**2 - y**2))
True
>>> is_zero(1 / (x - y) - 1 / (x + y)), is_zero(sp.exp(x) - sp.exp(x)), is_zero(sp.sqrt(x) - x)
(False, True, None)
>>> is_zero(1 / (1 + 1 / x) - x / (x + 1)), is_zero(1 / (1 + 1 / x) - 1 / (x + 1))
(True, False)
"""

from __future__ import annotations

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

__all__ = ["is_zero", "vanishes"]


class _Outside(Exception):
    """The expression is not a rational function of the kind :func:`is_zero` decides."""


def _inverse_bases(expr):
    """The bases b of the negative integer powers in ``expr``, outermost first: a base that holds the inverse of
    another base comes before it (so clearing it leaves a polynomial in the inner inverses, cleared later)."""
    bases = set()
    for p in expr.atoms(sp.Pow):
        if not p.exp.is_Integer:
            raise _Outside(f"non-integer power {p}")
        if p.exp < 0:
            bases.add(p.base)
    depth = {}

    def nesting(b):
        if b not in depth:
            inner = [q.base for q in b.atoms(sp.Pow) if q.exp.is_negative]
            depth[b] = 1 + max((nesting(c) for c in inner), default=0)
        return depth[b]

    return sorted(bases, key=lambda b: (-nesting(b), sp.default_sort_key(b)))


def _to_ring(expr, R, gens, inverse):
    memo = {}

    def ev(x):
        if x in memo:
            return memo[x]
        if x.is_Symbol:
            v = gens[x]
        elif x.is_Rational:
            v = R(QQ(int(x.p), int(x.q)))
        elif x.is_Add or x.is_Mul:
            parts = [ev(a) for a in x.args]
            v = parts[0]
            for q in parts[1:]:
                v = v + q if x.is_Add else v * q
        elif x.is_Pow and x.exp.is_Integer:
            v = ev(x.base) ** int(x.exp) if x.exp >= 0 else inverse[x.base] ** int(-x.exp)
        else:
            raise _Outside(f"not a rational operation: {type(x).__name__}")
        memo[x] = v
        return v

    return ev(expr)


def _clear(P, R, w, b):
    """b^K P(x, 1/b) for the ring element P in which the variable ``w`` stands for 1/b (K: P's degree in w)."""
    i = R.gens.index(w)
    by_power = {}
    for mon, c in P.terms():
        low = mon[:i] + (0,) + mon[i + 1:]
        by_power[mon[i]] = by_power.get(mon[i], R.zero) + R({low: c})
    K = max(by_power, default=0)
    out = R.zero
    for k, Pk in by_power.items():
        out += Pk * b ** (K - k)
    return out


def is_zero(expr) -> bool | None:
    """True when ``expr`` (a rational function of its symbols with rational coefficients) is identically zero,
    False when it is not, None when it is outside that class (see the module docstring for the method).

    >>> import sympy as sp
    >>> a, c, r = sp.symbols("a c r", positive=True)
    >>> is_zero(a / (a * c - r**2) * c - a * c / (a * c - r**2))
    True
    >>> is_zero(1 / (a * (a + 1) - a**2 - a)) is None   # the denominator is 0
    True
    """
    expr = sp.sympify(expr)
    try:
        bases = _inverse_bases(expr)
        syms = sorted(expr.free_symbols, key=sp.default_sort_key)
        ws = [sp.Dummy(f"w{i}") for i in range(len(bases))]
        R, *gens = ring(syms + ws, QQ) if syms or ws else ring([sp.Dummy()], QQ)
        gmap = dict(zip(syms + ws, gens))
        inverse = {b: gmap[w] for b, w in zip(bases, ws)}
        P = _to_ring(expr, R, gmap, inverse)
        dens = [_to_ring(b, R, gmap, inverse) for b in bases]
        if any(d == 0 for d in dens):  # a denominator that vanishes identically (x*(x + 1) - x**2 - x): undefined
            return None
        for d, w in zip(dens, ws):
            if P == 0:
                break
            P = _clear(P, R, gmap[w], d)
    except _Outside:
        return None
    return P == 0


def vanishes(expr) -> bool:
    """``expr`` is identically zero: :func:`is_zero` when it decides, else SymPy's ``cancel(together(expr))``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> vanishes(sp.sqrt(x) ** 2 / x - 1), vanishes(x / (x + 1))
    (True, False)
    """
    got = is_zero(expr)
    return got if got is not None else sp.cancel(sp.together(expr)) == 0
