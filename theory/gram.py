"""Models whose parameters are vectors in R^n (and scalars), and the exact GD step on their inner products.

A :class:`VectorModel` is a list of vector parameters (each in R^n, n symbolic), optionally scalar parameters,
and a forward function written in the vectors' inner products (the Gram matrix) and the scalars.
Because the gradient of such an output with respect to a vector parameter is a
linear combination of the parameter vectors, one GD step is a linear map
``theta' = M theta`` on the span of the parameters, and the new Gram matrix
``M G M^T`` is an exact expression in the old one; a scalar moves by its own
derivative.  No width-dependent approximation enters: n stays a symbol.

**The class the engine reduces exactly**: every output that is a function of the Gram matrix of the vector
parameters, the scalar parameters and n (any function the expression grammar allows).  The Gram-level step is then
exact with no condition; whether it closes on (f, lam) is decided by :func:`catapult.theory.reduce.derive_map`
(otherwise the leftover Gram entries and scalars are kept as extra state, still exact).  Outside this class --
an output that is not a function of inner products, e.g. one reading single coordinates, or an elementwise
nonlinearity -- there is no finite Gram state and no model is built (the expression grammar has no way to write it).

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
from .symbols import eta, n


#: names a parameter (or a Gram symbol built from two names) may not take: the engine's own symbols
RESERVED = frozenset({"f", "lam", "lam0", "eta", "n", "y", "p", "s", "pi", "E", "dot"})


class Gram(dict):
    """Gram-matrix symbols, indexed symmetrically: ``G["u", "v"] is G["v", "u"]``; scalars by name: ``G["b"]``.

    >>> G = Gram(("u", "v"), scalars=("b",))
    >>> G["v", "u"], G["u", "u"].is_nonnegative, G["b"]
    (uv, True, b)
    >>> Gram(("u", "vw", "uv", "w"))
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: Gram symbol uvw would stand for two inner products (u.vw and uv.w): rename a parameter
    """

    def __init__(self, names, scalars=()):
        super().__init__()
        self.names = tuple(names)
        self.scalar_names = tuple(scalars)
        seen = {}
        for a, b in combinations_with_replacement(self.names, 2):
            sym = sp.Symbol(a + b, nonnegative=True) if a == b else sp.Symbol(a + b, real=True)
            if sym.name in seen or sym.name in RESERVED or sym.name in self.scalar_names:
                other = seen.get(sym.name, sym.name)
                raise TheoryInputError(f"Gram symbol {sym.name} would stand for two inner products "
                                       f"({other} and {a}.{b}): rename a parameter")
            seen[sym.name] = f"{a}.{b}"
            dict.__setitem__(self, (a, b), sym)
        self.scalars = {b: sp.Symbol(b, real=True) for b in self.scalar_names}

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.scalars[key]
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

    @property
    def state_symbols(self) -> tuple:
        """The Gram symbols and then the scalars: what one GD step updates.

        >>> Gram(("u",), scalars=("b",)).state_symbols
        (uu, b)
        """
        return self.symbols + tuple(self.scalars.values())


class VectorModel:
    """A model with vector parameters in R^n and an output written in their inner products.

    Parameters
    ==========
    name : str
    params : tuple of str
        Names of the vector parameters.
    forward : callable
        ``forward(G) -> sympy.Expr``: the output as an expression in the Gram
        symbols ``G[a, b]``, the scalars ``G[b]`` (and the width ``n``).
    scalars : tuple of str
        Names of scalar parameters (e.g. a bias), trained by GD like the vectors.
    init : dict, optional
        How the numeric oracle draws each parameter at initialisation (see :mod:`catapult.theory.model_file`);
        the derivation does not use it.

    >>> m = VectorModel("uv+b", ("u", "v"), lambda G: G["u", "v"] / sp.sqrt(n) + G["b"], scalars=("b",))
    >>> m.ntk
    1 + uu/n + vv/n
    """

    def __init__(self, name: str, params, forward, scalars=(), init=None):
        params, scalars = tuple(params), tuple(scalars)
        names = params + scalars
        if len(set(names)) != len(names) or not params:
            raise TheoryInputError(f"model {name}: parameter names must be distinct, with at least one vector")
        bad = sorted(set(names) & RESERVED)
        if bad:
            raise TheoryInputError(f"model {name}: parameter name {bad[0]} is reserved "
                                   f"(reserved: {', '.join(sorted(RESERVED))})")
        self.name = name
        self.params = params
        self.scalars = scalars
        self.init = dict(init or {})
        self.G = Gram(self.params, self.scalars)
        out = forward(self.G)
        outs = tuple(out) if isinstance(out, (list, tuple)) else (out,)
        if not outs:
            raise TheoryInputError(f"model {name}: no output")
        #: every output (one for most models; a multi-output model is derived by catapult.theory.multi_output)
        self.outputs = tuple(sp.sympify(o, strict=True) for o in outs)  # strict: a returned string is not parsed
        self.forward = self.outputs[0]
        for o in self.outputs:
            extra = o.free_symbols - set(self.G.state_symbols) - {n}
            if extra:
                raise TheoryInputError(f"model {name}: the output {o} uses {', '.join(sorted(map(str, extra)))}"
                                       ", which is neither a parameter inner product, a scalar parameter nor n")

    def __repr__(self):
        sc = f", scalars={self.scalars}" if self.scalars else ""
        k = f", outputs={len(self.outputs)}" if len(self.outputs) > 1 else ""
        return f"VectorModel({self.name!r}, params={self.params}{sc}, f={self.forward}{k})"

    def scalar_grads(self, expr=None) -> dict:
        """d(expr)/d(b) for each scalar parameter b.

        >>> m = VectorModel("m", ("u",), lambda G: G["b"] ** 2 * G["u", "u"], scalars=("b",))
        >>> m.scalar_grads()
        {'b': 2*b*uu}
        """
        expr = self.forward if expr is None else expr
        return {b: sp.expand(sp.diff(expr, sym)) for b, sym in self.G.scalars.items()}

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
        """The NTK sum_p |d f/d p|^2 (vectors) + sum_b (d f/d b)^2 (scalars) in Gram symbols and scalars."""
        return sp.expand(sum(self._quad(c) for c in self.grad_coeffs().values())
                         + sum(g ** 2 for g in self.scalar_grads().values()))

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
        out = {self.G[a, b]: sp.expand(Gn[self.params.index(a), self.params.index(b)])
               for (a, b) in dict.keys(self.G)}
        grads = [self.scalar_grads(o) for o in outputs]
        for b, sym in self.G.scalars.items():
            out[sym] = sp.expand(sym - eta * weight * sum(s_ * g[b] for s_, g in zip(slopes, grads)))
        return out
