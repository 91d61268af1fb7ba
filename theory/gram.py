"""Models whose parameters are vectors in R^n, and the exact GD step on their inner products.

A :class:`VectorModel` is a list of vector parameters (each in R^n, n symbolic)
and a forward function written in their inner products (the Gram matrix).
Because the gradient of such an output with respect to a vector parameter is a
linear combination of the parameter vectors, one GD step is a linear map
``theta' = M theta`` on the span of the parameters, and the new Gram matrix
``M G M^T`` is an exact expression in the old one.  No width-dependent
approximation enters: n stays a symbol.

Examples
========
>>> import sympy as sp
>>> from catapult.theory.gram import VectorModel
>>> from catapult.theory.symbols import n
>>> m = VectorModel("uv", ("u", "v"), lambda G: G["u", "v"] / sp.sqrt(n))
>>> m.forward
uv/sqrt(n)
>>> m.ntk
uu/n + vv/n
>>> m.grad_coeffs()["u"]
{'v': 1/sqrt(n)}
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import sympy as sp

from .errors import TheoryInputError
from .symbols import eta


class Gram(dict):
    """Gram-matrix symbols, indexed symmetrically: ``G["u", "v"] is G["v", "u"]``.

    >>> G = Gram(("u", "v"))
    >>> G["v", "u"], G["u", "u"].is_nonnegative
    (uv, True)
    """

    def __init__(self, names):
        super().__init__()
        self.names = tuple(names)
        for a, b in combinations_with_replacement(self.names, 2):
            sym = sp.Symbol(a + b, nonnegative=True) if a == b else sp.Symbol(a + b, real=True)
            dict.__setitem__(self, (a, b), sym)

    def __getitem__(self, key):
        a, b = key
        i, j = self.names.index(a), self.names.index(b)
        return dict.__getitem__(self, (a, b) if i <= j else (b, a))

    @property
    def symbols(self) -> tuple:
        """All distinct Gram symbols, in a fixed order.

        >>> Gram(("u", "v")).symbols
        (uu, uv, vv)
        """
        return tuple(dict.values(self))


class VectorModel:
    """A model with vector parameters in R^n and an output written in their inner products.

    Parameters
    ==========
    name : str
    params : tuple of str
        Names of the vector parameters.
    forward : callable
        ``forward(G) -> sympy.Expr``: the output as an expression in the Gram
        symbols ``G[a, b]`` (and the width ``n``).
    """

    def __init__(self, name: str, params, forward):
        if len(set(params)) != len(params) or not params:
            raise TheoryInputError(f"model {name}: parameter names must be distinct and non-empty")
        self.name = name
        self.params = tuple(params)
        self.G = Gram(self.params)
        self.forward = sp.sympify(forward(self.G), strict=True)  # strict: a returned string is not parsed

    def __repr__(self):
        return f"VectorModel({self.name!r}, params={self.params}, f={self.forward})"

    def grad_coeffs(self, expr=None) -> dict:
        """d(expr)/d(param) as linear combinations of the parameters: ``{p: {q: coeff}}``.

        Uses d(a.b)/da = b, d(a.b)/db = a, d(a.a)/da = 2a.

        >>> from catapult.theory.models import uv_model
        >>> uv_model().grad_coeffs()["v"]
        {'u': 1/sqrt(n)}
        """
        expr = self.forward if expr is None else expr
        out = {p: {} for p in self.params}
        for (a, b), sym in dict.items(self.G):
            d = sp.diff(expr, sym)
            if d == 0:
                continue
            if a == b:
                out[a][a] = out[a].get(a, 0) + 2 * d
            else:
                out[a][b] = out[a].get(b, 0) + d
                out[b][a] = out[b].get(a, 0) + d
        out = {p: {q: sp.expand(c) for q, c in cs.items()} for p, cs in out.items()}
        return {p: {q: c for q, c in cs.items() if c != 0} for p, cs in out.items()}

    def coeff_matrix(self, expr=None) -> sp.Matrix:
        """The matrix C with d f/d p = sum_q C[p, q] q (``expr`` defaults to the output f).

        >>> from catapult.theory.models import uv_model
        >>> uv_model().coeff_matrix()
        Matrix([
        [        0, 1/sqrt(n)],
        [1/sqrt(n),         0]])
        """
        k = len(self.params)
        C = sp.zeros(k, k)
        coeffs = self.grad_coeffs(expr)
        for i, p in enumerate(self.params):
            for q, c in coeffs[p].items():
                C[i, self.params.index(q)] = c
        return C

    def _quad(self, coeffs: dict) -> sp.Expr:
        """|sum_q c_q q|^2 in Gram symbols."""
        return sp.expand(sum(coeffs[q] * coeffs[r] * self.G[q, r] for q in coeffs for r in coeffs))

    @property
    def ntk(self) -> sp.Expr:
        """The NTK sum_p |d f/d p|^2 in Gram symbols."""
        return sp.expand(sum(self._quad(c) for c in self.grad_coeffs().values()))

    def gd_step(self, slope: sp.Expr) -> dict:
        """The Gram matrix after one GD step with loss slope ``slope`` = l'(f), exactly.

        theta' = theta - eta * slope * grad f, i.e. theta' = M theta with
        M = I - eta * slope * C; then G' = M G M^T entry by entry.

        Returns ``{gram_symbol: new_value}``.

        >>> from catapult.theory.models import uv_model
        >>> import sympy as sp
        >>> s = sp.Symbol("s")
        >>> m = uv_model()
        >>> sp.expand(m.gd_step(s)[m.G["u", "v"]])
        eta**2*s**2*uv/n - eta*s*uu/sqrt(n) - eta*s*vv/sqrt(n) + uv
        """
        return self.gd_step_samples([self.forward], [slope], 1)

    def gd_step_samples(self, outputs, slopes, weight) -> dict:
        """The exact Gram step for the loss weight * sum_a l_a(f_a): M = I - eta * weight * sum_a s_a C_a.

        >>> from catapult.theory.models import uv_model
        >>> import sympy as sp
        >>> m = uv_model(); s = sp.Symbol("s")
        >>> m.gd_step_samples([m.forward], [s], 1) == m.gd_step(s)
        True
        """
        k = len(self.params)
        M = sp.eye(k) - eta * weight * sum((s_ * self.coeff_matrix(o) for o, s_ in zip(outputs, slopes)),
                                           sp.zeros(k, k))
        Gm = sp.Matrix(k, k, lambda i, j: self.G[self.params[i], self.params[j]])
        Gn = M * Gm * M.T
        return {self.G[a, b]: sp.expand(Gn[self.params.index(a), self.params.index(b)])
                for (a, b) in dict.keys(self.G)}
