"""Deep linear networks at full width: GD on the actual vectors w_1, w_L and matrices W_l.

h_1 = w_1, h_l = W_l h_{l-1}/sqrt(n) (2 <= l <= L-1), f = w_L.h_{L-1}/sqrt(n).  The NTK is measured
from the gradients' definition: lam = |df/dw_1|^2 + sum_l |df/dW_l|_F^2 + |df/dw_L|^2.

Inits: ``gaussian`` (all entries N(0,1)) or ``isometric`` (W_l = sqrt(n) Q_l with Q_l exactly
orthogonal in binary: a random signed permutation times three Householder reflections
I - 2 v v^T/n with v in {+1,-1}^n; n must be a power of 4 so that sqrt(n) and every entry are
exact dyadic numbers).  Vectors w_1, w_L are N(0,1).

Examples
========
>>> from catapult.numerics.backends import get_backend
>>> m = DeepLinearModel(16, 3, seed=0, init="isometric")
>>> Q = m.W0[0] / 4
>>> bool(abs(Q @ Q.T - np.eye(16)).max() == 0)   # exactly orthogonal in float64
True
"""

from __future__ import annotations

import numpy as np

from .errors import NumericsInputError
from .models import Evaluation, check_width


def exact_orthogonal(n, rng, reflections=3):
    """An exactly orthogonal n x n matrix with dyadic entries (n a power of 2)."""
    if n & (n - 1):
        raise NumericsInputError(f"isometric init needs a power-of-2 width for exact orthogonality, got {n}")
    Q = np.eye(n)[rng.permutation(n)] * rng.choice([-1.0, 1.0], size=n)[:, None]
    for _ in range(reflections):
        v = rng.choice([-1.0, 1.0], size=n)
        Q = Q - np.outer(Q @ v, v) * (2.0 / n)
    return Q


class DeepLinearModel:
    """Depth-``depth`` linear network of width ``width`` (square hidden layers)."""

    name = "deep"

    def __init__(self, width, depth, seed=0, init="gaussian"):
        self.width = check_width(width)
        if int(depth) != depth or depth < 2:
            raise NumericsInputError(f"depth must be an integer >= 2, got {depth}")
        if init not in ("gaussian", "isometric"):
            raise NumericsInputError(f"init must be 'gaussian' or 'isometric', got {init!r}")
        self.depth, self.seed, self.init_kind = int(depth), seed, init
        n = self.width
        rng = np.random.default_rng(seed)
        self.w1 = rng.standard_normal(n)
        self.wL = rng.standard_normal(n)
        if init == "gaussian":
            self.W0 = [rng.standard_normal((n, n)) for _ in range(self.depth - 2)]
        else:
            root = int(round(np.sqrt(n)))
            if root * root != n or n & (n - 1):
                raise NumericsInputError(f"isometric init needs a width that is a power of 4, got {n}")
            self.W0 = [root * exact_orthogonal(n, rng) for _ in range(self.depth - 2)]

    def __repr__(self):
        return f"DeepLinearModel(width={self.width}, depth={self.depth}, seed={self.seed}, init={self.init_kind!r})"

    def init(self, B):
        return [B.vector(self.w1)] + [B.matrix(W) for W in self.W0] + [B.vector(self.wL)]

    def evaluate(self, theta, B, bound):
        value, slope = bound
        w1, *Ws, wL = theta
        inv = 1 / B.sqrt(B.scalar(self.width))
        hs = [w1]
        for W in Ws:
            hs.append(B.matvec(W, hs[-1]) * inv)
        f = B.dot(wL, hs[-1]) * inv
        bs = [wL * inv]  # b_{L-1}, then backwards
        for W in reversed(Ws):
            bs.append(B.matvec(W, bs[-1], transpose=True) * inv)
        bs = bs[::-1]  # bs[i] = df/dh_{i+1}
        s = slope(f)
        moves = [(s, bs[0])]
        lam = B.dot(bs[0], bs[0])
        for l, W in enumerate(Ws):  # layer l+2: df/dW = b_{l+2} h_{l+1}^T / sqrt(n), its 1/sqrt(n) in the scalar
            b, h = bs[l + 1], hs[l]
            moves.append((s * inv, B.outer(b, h)))   # (no scaled copy of the n x n outer product)
            lam = lam + B.dot(b, b) * B.dot(h, h) * inv * inv
        gL = hs[-1] * inv
        moves.append((s, gL))
        lam = lam + B.dot(gL, gL)
        return Evaluation(f, lam, value(f), moves, s * s * lam)

    def invariants(self, B):
        """|w_1|^2, |w_L|^2 and sqrt(n) f0 at initialisation, at the backend's precision (for reduced maps)."""
        with B.context():
            th = self.init(B)
            w1, *Ws, wL = th
            inv = 1 / B.sqrt(B.scalar(self.width))
            h = w1
            for W in Ws:
                h = B.matvec(W, h) * inv
            return B.to_mpf(B.dot(w1, w1)), B.to_mpf(B.dot(wL, wL)), B.to_mpf(B.dot(wL, h))
