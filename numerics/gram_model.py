"""A user model on its actual width-n parameters: vectors in R^n and scalars, output from inner products.

The oracle for user-defined models.  It is given a compiled output ``out(*gram, *scalars, n)`` -- the model's
output as a plain function of the inner products of its vector parameters, its scalars and the width -- and
nothing else from the derivation.  Each step it

1. computes every inner product a.b of the current vectors (at the backend's precision),
2. evaluates the output on dual numbers (:mod:`catapult.numerics.dual`), which gives f and its partials
   df/d(a.b), df/db by forward-mode differentiation,
3. forms the parameter gradients by the chain rule, df/da = sum_b df/d(a.b) (1 + [a = b]) b,
4. measures the NTK from its definition, lam = sum_a |df/da|^2 + sum_b (df/db)^2,

and GD moves every parameter by -eta l'(f) df/dparam.  No symbolic derivative and no reduced map enters, so
the derived map can be refuted.

Examples
========
>>> from catapult.numerics.backends import get_backend
>>> m = GramModel(4, ("u", "v"), (), lambda uu, uv, vv, n: uv / n ** 0.5, seed=0)
>>> B = get_backend("float64")
>>> th = m.init(B)
>>> f, grads = m.output_and_grads(th, B)
>>> bool(abs(f - th[0] @ th[1] / 2) < 1e-15), bool(abs(grads[0] - th[1] / 2).max() < 1e-15)
(True, True)
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np

from .dual import Dual
from .errors import NumericsInputError
from .models import Evaluation, check_width


class GramModel:
    """Vectors ``vectors`` (N(0,1) entries from ``seed``, float64 draws taken as exact binary numbers) and
    scalars ``scalars`` (initial values ``scalar_init``, rounded to float64), output ``output``.

    ``output`` is either a callable ``out(*args)`` on backend numbers or Duals, with the arguments in the order
    of :meth:`arguments` (the inner products a.b for a <= b in parameter order, then the scalars, then n), or a
    factory ``output(B) -> out`` when ``factory=True`` (compiled per backend, e.g. by ``catapult.verify.bridge``).
    """

    def __init__(self, width, vectors, scalars, output, seed=0, scalar_init=None, factory=False, name="user"):
        self.width = check_width(width)
        self.vectors, self.scalars = tuple(vectors), tuple(scalars)
        if not self.vectors:
            raise NumericsInputError("a GramModel needs at least one vector parameter")
        self.seed, self.name = seed, name
        self._output, self._factory = output, factory
        rng = np.random.default_rng(seed)
        self.v0 = {a: rng.standard_normal(self.width) for a in self.vectors}
        init = dict(scalar_init or {})
        self.s0 = {b: float(init.get(b, 0.0)) for b in self.scalars}
        self.pairs = list(combinations_with_replacement(range(len(self.vectors)), 2))
        self._compiled = {}

    def __repr__(self):
        return f"GramModel({self.name!r}, width={self.width}, seed={self.seed})"

    def arguments(self):
        """Names of the output's arguments, in order.

        >>> GramModel(2, ("u", "v"), ("b",), None).arguments()
        ['u.u', 'u.v', 'v.v', 'b', 'n']
        """
        return [f"{self.vectors[i]}.{self.vectors[j]}" for i, j in self.pairs] + list(self.scalars) + ["n"]

    def init(self, B):
        return [B.vector(self.v0[a]) for a in self.vectors] + [B.vector([self.s0[b]]) for b in self.scalars]

    def _out(self, B):
        if not self._factory:
            return self._output
        key = (B.name, B.dps)
        if key not in self._compiled:
            self._compiled[key] = self._output(B)
        return self._compiled[key]

    def state(self, theta, B):
        """The inner products and scalars at ``theta`` as backend numbers, by argument name (without n)."""
        k = len(self.vectors)
        vecs, scal = theta[:k], theta[k:]
        one = B.vector([1.0])
        vals = {f"{self.vectors[i]}.{self.vectors[j]}": B.dot(vecs[i], vecs[j]) for i, j in self.pairs}
        vals.update({b: B.dot(s, one) for b, s in zip(self.scalars, scal)})
        return vals

    def output_and_grads(self, theta, B):
        """f and the gradient of f with respect to each parameter (vectors, then scalars as 1-vectors)."""
        k = len(self.vectors)
        vecs, scal = theta[:k], theta[k:]
        st = self.state(theta, B)
        names = self.arguments()[:-1]
        args = Dual.inputs([st[a] for a in names])
        f = self._out(B)(*args, B.scalar(self.width))
        if not isinstance(f, Dual):  # a constant output (possibly a plain int, e.g. f = 3): a backend number
            f = Dual(B.scalar(f), (0,) * len(args))
        zero = B.scalar(0)
        coeff = [[zero] * k for _ in range(k)]
        for slot, (i, j) in enumerate(self.pairs):
            d = f.d[slot]
            if isinstance(d, int) and d == 0:
                continue
            if i == j:
                coeff[i][i] = coeff[i][i] + 2 * d
            else:
                coeff[i][j] = coeff[i][j] + d
                coeff[j][i] = coeff[j][i] + d
        grads = []
        for i in range(k):
            g = None
            for j in range(k):
                term = vecs[j] * B.scalar(coeff[i][j])
                g = term if g is None else g + term
            grads.append(g)
        for slot, s in enumerate(scal, start=len(self.pairs)):
            d = f.d[slot]
            grads.append(B.vector([1.0]) * B.scalar(d))  # d may be an exact int (e.g. 1 for f = ... + b)
        return f.v, grads

    def evaluate(self, theta, B, bound):
        """One-output loss l(f): grad_theta L = l'(f) grad_theta f; lam = |grad_theta f|^2 measured."""
        value, slope = bound
        f, grads = self.output_and_grads(theta, B)
        lam = None
        for g in grads:
            q = B.dot(g, g)
            lam = q if lam is None else lam + q
        s = slope(f)
        return Evaluation(f, lam, value(f), [(s, g) for g in grads], s * s * lam)
