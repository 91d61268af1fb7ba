"""Models as parameter vectors and a forward pass: the objects parameter GD acts on.

A model gives ``init(backend)`` (its parameters, Gaussian from a seed, drawn in
float64 and taken as exact binary numbers) and ``output_and_grads(theta, B)``
(the output f and the gradient vectors d f/d theta, one per parameter).  The
NTK is *measured* from the gradients; nothing here knows any derived formula.

Examples
========
>>> from numerics.backends import get_backend
>>> m = UVModel(4, seed=0)
>>> B = get_backend("float64")
>>> theta = m.init(B)
>>> f, grads = m.output_and_grads(theta, B)
>>> bool(abs(f - theta[0] @ theta[1] / 2) < 1e-15)
True
"""

from __future__ import annotations

import numpy as np

from .errors import NumericsInputError


def check_width(width) -> int:
    """Validate a width (an integer >= 1).

    >>> check_width(0)
    Traceback (most recent call last):
    ...
    numerics.errors.NumericsInputError: width must be an integer >= 1, got 0
    """
    try:
        w = int(width)
    except (TypeError, ValueError):
        w = None
    if w is None or w != width or w < 1:
        raise NumericsInputError(f"width must be an integer >= 1, got {width!r}")
    return w


class UVModel:
    """f = n^{-1/2} v.(u x) on a single input with |x| = 1; u, v in R^n, N(0,1) entries.

    ``u0``, ``v0`` may be given (float64 arrays) instead of a seed.
    """

    name = "uv"

    def __init__(self, width, seed=0, u0=None, v0=None):
        self.width = check_width(width)
        self.seed = seed
        if u0 is None:
            rng = np.random.default_rng(seed)
            u0 = rng.standard_normal(self.width)
            v0 = rng.standard_normal(self.width)
        self.u0, self.v0 = np.asarray(u0, float), np.asarray(v0, float)
        if self.u0.shape != (self.width,) or self.v0.shape != (self.width,):
            raise NumericsInputError("u0 and v0 must have shape (width,)")

    def __repr__(self):
        return f"UVModel(width={self.width}, seed={self.seed})"

    def init(self, B):
        return [B.vector(self.u0), B.vector(self.v0)]

    def output_and_grads(self, theta, B):
        u, v = theta
        inv = 1 / B.sqrt(B.scalar(self.width))
        f = B.dot(u, v) * inv
        return f, [v * inv, u * inv]
