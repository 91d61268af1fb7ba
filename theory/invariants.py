"""Multiplicative invariants of the GD step, derived and proved symbolically.

For a model whose output is bilinear in its vector parameters the gradient
coefficient matrix C is constant and symmetric, so the GD step is
theta' = M theta with M = I - eta l'(f) C.  If C e_i = c_i e_i then
Q_ij = e_i^T G e_j obeys Q_ij' = (1 - eta l' c_i)(1 - eta l' c_j) Q_ij exactly.
Each Q_ij (and each product of two of them) that can be written in the state
(f, lam) is a multiplicative invariant of the function-space map; the others
are invariants of the extra (Gram) state.  Every invariant returned here is
*proved*: ``I(next) - multiplier * I`` simplifies to 0 with the derived map.

Examples
========
>>> from catapult.theory.models import uv_model
>>> from catapult.theory.loss import mse
>>> from catapult.theory.reduce import derive_map
>>> for inv in derive_invariants(derive_map(uv_model(), mse())):
...     print(inv)
2*f/sqrt(n) + lam  ->  (-eta*f/sqrt(n) + 1)**2 * (.)   [state, proved]
-uu + vv  ->  ((-eta*f/sqrt(n) + 1)*(eta*f/sqrt(n) + 1)) * (.)   [gram, proved]
-2*f/sqrt(n) + lam  ->  (eta*f/sqrt(n) + 1)**2 * (.)   [state, proved]
-4*f**2/n + lam**2  ->  (-eta*f/sqrt(n) + 1)**2*(eta*f/sqrt(n) + 1)**2 * (.)   [state, proved]
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import sympy as sp

from .exactness import Exactness
from .maps import ReducedMap
from .reduce import SLOPE, FunctionSpaceMap
from .identity import vanishes
from .symbols import eta, f, lam, n


@dataclass(frozen=True)
class Invariant:
    """``expr`` is multiplied by ``multiplier`` at every GD step (exact).

    ``kind`` is ``"state"`` when ``expr`` is written in (f, lam), ``"gram"`` when
    it needs the Gram (extra) state; ``proved`` records the symbolic check.
    """

    expr: sp.Expr
    multiplier: sp.Expr
    kind: str
    proved: bool
    multiplier_slope: sp.Expr = None  #: the multiplier with l'(f) kept as the symbol ``catapult.theory.reduce.SLOPE``

    def __str__(self):
        m = str(self.multiplier)
        m = m if isinstance(self.multiplier, sp.Pow) or "*" in m and m.endswith("**2") else f"({m})"
        return f"{self.expr}  ->  {m} * (.)   [{self.kind}, {'proved' if self.proved else 'unproved'}]"

    def to_json(self) -> dict:
        """JSON form.

        >>> Invariant(lam, sp.Integer(1), "state", True).to_json()
        {'expr': 'lam', 'multiplier': '1', 'kind': 'state', 'proved': True, 'exactness': 'exact'}
        """
        return {"expr": str(self.expr), "multiplier": str(self.multiplier), "kind": self.kind,
                "proved": self.proved, "exactness": Exactness.EXACT.value}


class Invariants(list):
    """A list of :class:`Invariant`, with ``reason`` saying why it is empty (``""`` when some were derived).

    >>> Invariants([], "no linear structure").reason
    'no linear structure'
    """

    def __init__(self, items=(), reason: str = ""):
        super().__init__(items)
        self.reason = reason


def _normalise(expr: sp.Expr) -> sp.Expr:
    """Scale so that the coefficient of the highest power of lam is 1."""
    expr = sp.expand(expr)
    if expr.has(lam):
        lead = sp.Poly(expr, lam).LC()
        if lead != 0:
            expr = sp.expand(expr / lead)
    return expr


def _candidates(model, C):
    """The quadratic forms Q_ij = e_i^T G e_j on the eigenvectors of C with their multipliers
    (1 - eta s c_i)(1 - eta s c_j), s = SLOPE, and the products of two of them."""
    k = len(model.params)
    Gm = sp.Matrix(k, k, lambda i, j: model.G[model.params[i], model.params[j]])
    eig = []
    for val, _, vecs in sorted(C.eigenvects(), key=lambda t: -t[0]):
        eig.extend((val, v) for v in vecs)

    def factor(c):
        return 1 - eta * SLOPE * c

    quads = []
    for (ci, ei), (cj, ej) in [(a, b) for idx, a in enumerate(eig) for b in eig[idx:]]:
        Q = sp.expand((ei.T * Gm * ej)[0, 0])
        quads.append((Q, factor(ci) * factor(cj)))
    products = [(sp.expand(Qa * Qb), ma * mb) for (Qa, ma), (Qb, mb) in combinations(quads, 2)]
    return quads, products


_R = sp.Symbol("r", positive=True)


def _proved(expr, mult, opaque_next, next_, slope) -> bool:
    """True when ``expr`` maps to ``mult * expr`` under one step: first with the slope l'(f) an opaque symbol
    (``opaque_next``: a rational identity in s, cancelled; true for every value of s, so for every loss), else
    with the loss's own slope substituted (``next_``; transcendental gaps, e.g. logistic, go to simplify)."""
    if opaque_next:
        gap = sp.expand(expr.subs(opaque_next, simultaneous=True) - mult * expr)
        if gap == 0 or vanishes(gap.subs(n, _R ** 2)):  # rational in s, f, lam, eta and sqrt(n) = r
            return True
    gap = expr.subs(next_, simultaneous=True).subs(SLOPE, slope) - mult.subs(SLOPE, slope) * expr
    return bool((gap.is_rational_function() and sp.cancel(sp.expand(gap)) == 0) or sp.simplify(gap) == 0)


def derive_invariants(fmap: ReducedMap) -> Invariants:
    """Derive and prove the multiplicative invariants of a derived map.

    Takes any :class:`~catapult.theory.maps.ReducedMap` and returns :class:`Invariants` (a list of
    :class:`Invariant`).  They are derived for the function-space map of a
    :class:`~catapult.theory.gram.VectorModel` whose gradient coefficients are constant; otherwise the list
    is empty and ``.reason`` says why (never an exception).  The model is the map's own
    (``fmap.model_def``), so a model outside the catalogue works:

    >>> import sympy as sp
    >>> from catapult.theory.gram import VectorModel
    >>> from catapult.theory.loss import mse
    >>> from catapult.theory.reduce import derive_map
    >>> from catapult.theory.symbols import n
    >>> ab = VectorModel("ab", ("a", "b"), lambda G: 3 * G["a", "b"] / sp.sqrt(n))
    >>> [str(i.expr) for i in derive_invariants(derive_map(ab, mse()))][:1]
    ['6*f/sqrt(n) + lam']
    >>> from catapult.theory import derive
    >>> inv = derive_invariants(derive("deep", depth=3))
    >>> inv, inv.reason[:36]
    ([], 'not derived for deep(L=3, isometric)')
    """
    if not isinstance(fmap, FunctionSpaceMap):
        return Invariants([], f"not derived for {fmap.model}: the multiplicative invariants are derived for the "
                              "function-space map of a VectorModel (one output, theta' = (I - eta l'(f) C) theta "
                              "with a constant C); this map is a different reduction")
    if fmap.model_def is not None:
        model = fmap.model_def
    else:  # a map built by hand: look its model up by name
        from .models import get_model
        model = get_model(fmap.model)
    if len(model.outputs) > 1:
        return Invariants([], f"not derived for {model.name}: several outputs (the step mixes the slopes of "
                              "different outputs)")
    C = model.coeff_matrix()
    if any(c.free_symbols & set(model.G.state_symbols) for c in C) or C != C.T:
        return Invariants([], f"the gradient coefficients of {model.name} are not constant and symmetric "
                              "(f is not bilinear in its vector parameters): no linear structure to exploit")
    quads, products = _candidates(model, C)
    slope, sub, gram_next = fmap.loss.d1, fmap.substitution, fmap.gram_update
    state_next = {fmap.symbols[k_]: v for k_, v in fmap.update.items()}
    opaque_next = {fmap.symbols[k_]: v for k_, v in (fmap.update_slope or {}).items()}
    found, seen = [], set()
    for Q, mult in quads + products:
        in_state = sp.expand(Q.subs(sub, simultaneous=True))
        is_state = not (in_state.free_symbols & set(model.G.state_symbols))
        if not is_state and (Q, mult) in products:
            continue  # products are only of interest when they close on the state
        expr = _normalise(in_state if is_state else Q)
        if expr == 0 or expr in seen or -expr in seen:
            continue
        proved = _proved(expr, mult, opaque_next if is_state else gram_next,
                         state_next if is_state else gram_next, slope if is_state else slope.subs(f, model.forward))
        seen.add(expr)
        found.append(Invariant(expr, mult.subs(SLOPE, slope), "state" if is_state else "gram", proved, mult))
    return Invariants(found)
