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

    def __init__(self, width, vectors, scalars, output, seed=0, scalar_init=None, factory=False, name="user",
                 n_outputs=1):
        self.width = check_width(width)
        #: how many outputs ``output`` returns (> 1: the loss is sum_a l(f_a), not a function of one output)
        self.n_outputs = int(n_outputs)
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

    def outputs_and_grads(self, theta, B):
        """Every output and, per output, its gradient with respect to each parameter."""
        st = self.state(theta, B)
        names = self.arguments()[:-1]
        args = Dual.inputs([st[a] for a in names])
        out = self._out(B)(*args, B.scalar(self.width))
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        res = [self._grads(theta, B, o if isinstance(o, Dual) else Dual(B.scalar(o), (0,) * len(args)))
               for o in outs]  # a constant output (possibly a plain int): a backend number
        return [r[0] for r in res], [r[1] for r in res]

    def output_and_grads(self, theta, B):
        """f (the first output) and its gradient with respect to each parameter (vectors, then scalars as
        1-vectors)."""
        fs, gs = self.outputs_and_grads(theta, B)
        return fs[0], gs[0]

    def _grads(self, theta, B, f):
        """The chain rule from the partials df/d(a.b), df/db of the dual number ``f`` to the parameters."""
        k = len(self.vectors)
        vecs, scal = theta[:k], theta[k:]
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
        """Loss L = sum_a l(f_a) (one output: l(f)); grad_theta L = sum_a l'(f_a) grad_theta f_a.

        Recorded: f = the first output; lam = the top eigenvalue of the measured NTK matrix
        Theta_ab = grad f_a . grad f_b (one output: |grad_theta f|^2).
        """
        value, slope = bound
        fs, gs = self.outputs_and_grads(theta, B)
        if len(fs) == 1:
            f, grads = fs[0], gs[0]
            lam = _sum(B.dot(g, g) for g in grads)
            s = slope(f)
            return Evaluation(f, lam, value(f), [(s, g) for g in grads], s * s * lam)
        T = [[_sum(B.dot(ga, gb) for ga, gb in zip(gs[a], gs[b])) for b in range(len(fs))] for a in range(len(fs))]
        lam = _top_eigenvalue(T, B)
        ss = [slope(f) for f in fs]
        moves = []
        for p in range(len(gs[0])):
            g = _sum(gs[a][p] * ss[a] for a in range(len(fs)))
            moves.append((B.scalar(1), g))
        gn2 = _sum(B.dot(g, g) for _, g in moves)
        return Evaluation(fs[0], lam, _sum(value(f) for f in fs), moves, gn2)

    def observe(self, theta, B):
        """Every output, the NTK matrix and the Gram state (inner products, scalars) as mpmath numbers."""
        fs, gs = self.outputs_and_grads(theta, B)
        T = [[B.to_mpf(_sum(B.dot(ga, gb) for ga, gb in zip(gs[a], gs[b]))) for b in range(len(fs))]
             for a in range(len(fs))]
        return {"outputs": [B.to_mpf(f) for f in fs], "ntk": T,
                "state": {k: B.to_mpf(v) for k, v in self.state(theta, B).items()}}


def _sum(items):
    out = None
    for x in items:
        out = x if out is None else out + x
    return out


def _top_eigenvalue(T, B):
    """lam_max of a small symmetric matrix of backend numbers (closed form for 2 x 2, else mpmath.eigsy)."""
    if len(T) == 2:
        a, b, c = T[0][0], T[0][1], T[1][1]
        h = (a - c) / 2
        return (a + c) / 2 + B.sqrt(h * h + b * b)
    import mpmath
    with mpmath.workdps(B.dps + 10):
        vals = mpmath.eigsy(mpmath.matrix([[B.to_mpf(x) for x in row] for row in T]), eigvals_only=True)
        return B.scalar(max(vals))
