"""Models as parameter vectors and a forward pass: the objects parameter GD acts on.

A model gives ``init(backend)`` (its parameters, Gaussian from a seed, drawn in
float64 and taken as exact binary numbers) and ``output_and_grads(theta, B)``
(the output f and the gradient vectors d f/d theta, one per parameter).  The
NTK is *measured* from the gradients; nothing here knows any derived formula.

Examples
========
>>> from catapult.numerics.backends import get_backend
>>> m = UVModel(4, seed=0)
>>> B = get_backend("float64")
>>> theta = m.init(B)
>>> f, grads = m.output_and_grads(theta, B)
>>> bool(abs(f - theta[0] @ theta[1] / 2) < 1e-15)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .errors import NumericsInputError


@dataclass
class Evaluation:
    """What one GD step needs, measured at the current parameters.

    ``f``, ``lam``: output and NTK |grad f|^2 at the probe input; ``loss``: the training
    loss; ``moves``: per parameter, ``(c, g)`` with grad_theta L = c * g;
    ``grad_norm2``: |grad_theta L|^2.
    """

    f: object
    lam: object
    loss: object
    moves: list
    grad_norm2: object


def check_width(width) -> int:
    """Validate a width (an integer >= 1).

    >>> check_width(0)
    Traceback (most recent call last):
    ...
    catapult.numerics.errors.NumericsInputError: width must be an integer >= 1, got 0
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

    def evaluate(self, theta, B, bound):
        """One-sample loss l(f): grad_u L = (l'(f)/sqrt(n)) v, grad_v L = (l'(f)/sqrt(n)) u, lam = (|u|^2 + |v|^2)/n.

        The moves are the parameter vectors themselves with the scalar l'(f)/sqrt(n) (no scaled copy of u and v:
        two vector operations less a step, and lam from the exact squared norms of the fixed backend)."""
        value, slope = bound
        u, v = theta
        inv = 1 / B.sqrt(B.scalar(self.width))
        f = B.dot(u, v) * inv
        lam = (B.dot(u, u) + B.dot(v, v)) / B.scalar(self.width)
        s = slope(f)
        c = s * inv
        return Evaluation(f, lam, value(f), [(c, v), (c, u)], s * s * lam)


class UVDataModel:
    """f(x) = n^{-1/2} v.(u x) with u in R^{n x d}, v in R^n, trained on data X (m x d) with per-sample losses.

    The training loss is L = (1/m) sum_a l_a(f(x_a)) (a :class:`catapult.numerics.losses.DataLoss`).
    What is recorded is the output and the NTK at the ``probe`` input (default: the
    unit vector of the first data point): F = f(probe), lam = |grad_theta F|^2.  ``eta_lam0`` multiplies
    lam_max(Theta0), Theta = J J^T / m (``eta_lam0_of="theta"``, the default: see :meth:`curvature`), or the
    probe's lam0 (``eta_lam0_of="probe"``).

    >>> from catapult.numerics.backends import get_backend
    >>> m = UVDataModel(8, [[1.0], [-2.0]], seed=0)
    >>> m.d, m.m, m.probe.tolist()
    (1, 2, [1.0])
    """

    name = "uv-data"

    def __init__(self, width, X, seed=0, probe=None, eta_lam0_of="theta"):
        if eta_lam0_of not in ("theta", "probe"):
            raise NumericsInputError(f"eta_lam0_of must be 'theta' or 'probe', got {eta_lam0_of!r}")
        self.eta_lam0_of = eta_lam0_of
        self.width = check_width(width)
        self.seed = seed
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
            raise NumericsInputError(f"data must be an (m, d) array with m, d >= 1, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise NumericsInputError("data contain nan or inf")
        self.X = X
        self.m, self.d = X.shape
        if probe is None:
            norm = np.linalg.norm(X[0])
            if norm == 0:
                raise NumericsInputError("the first data point is 0: give a probe input")
            probe = X[0] / norm
        self.probe = np.asarray(probe, dtype=float).reshape(self.d)
        rng = np.random.default_rng(seed)
        self.u0 = rng.standard_normal((self.width, self.d))
        self.v0 = rng.standard_normal(self.width)

    def __repr__(self):
        return f"UVDataModel(width={self.width}, m={self.m}, d={self.d}, seed={self.seed})"

    def initial_output(self) -> float:
        """f(probe) at initialisation, in float64 (cheap; for choosing seeds by a measured init).

        >>> m = UVDataModel(16, [[1.0]], seed=3)
        >>> abs(m.initial_output() - float(m.u0[:, 0] @ m.v0) / 4) < 1e-15
        True
        """
        return float((self.u0 @ self.probe) @ self.v0) / float(np.sqrt(self.width))

    def init(self, B):
        return [B.vector(self.u0[:, k]) for k in range(self.d)] + [B.vector(self.v0)]

    def _combine(self, B, cols, coeffs):
        out = None
        for c, col in zip(coeffs, cols):
            if c == 0:
                continue
            term = col * B.scalar(float(c))
            out = term if out is None else out + term
        return out if out is not None else cols[0] * B.scalar(0)

    def evaluate(self, theta, B, bound):
        """f_a = sum_k X_ak (u_k.v)/sqrt(n);  grad_{u_k} L = C_k v/sqrt(n),  grad_v L = sum_k C_k u_k/sqrt(n),
        with C_k = (1/m) sum_a l_a'(f_a) X_ak  (matrix algebra of X u^T v: O(d n) per step)."""
        *us, v = theta
        inv = 1 / B.sqrt(B.scalar(self.width))
        pk = [B.dot(uk, v) * inv for uk in us]
        X = [[B.scalar(float(x)) for x in row] for row in self.X]
        total, C = None, [None] * self.d
        for a in range(self.m):
            fa = sum((X[a][k] * pk[k] for k in range(1, self.d)), X[a][0] * pk[0])
            value, slope = bound[a]
            la = value(fa)
            total = la if total is None else total + la
            c = slope(fa) / self.m
            for k in range(self.d):
                if self.X[a, k] != 0:
                    t = c * X[a][k]
                    C[k] = t if C[k] is None else C[k] + t
        C = [c if c is not None else B.scalar(0) for c in C]
        loss = total / self.m
        grad_v = self._combine_b(B, us, [c * inv for c in C])
        moves = [(c * inv, v) for c in C] + [(B.scalar(1), grad_v)]
        h = self._combine(B, us, self.probe)
        F = B.dot(h, v) * inv
        vv = B.dot(v, v)
        pp = sum((B.scalar(float(x)) * B.scalar(float(x)) for x in self.probe[1:]),
                 B.scalar(float(self.probe[0])) * B.scalar(float(self.probe[0])))  # |probe|^2 at full precision
        lam = (B.dot(h, h) + pp * vv) * inv * inv
        gn2 = B.dot(grad_v, grad_v) + sum((c * c * inv * inv * vv for c in C), B.scalar(0))
        return Evaluation(F, lam, loss, moves, gn2)

    def observe(self, theta, B):
        """Measured outputs on every sample and the NTK matrix Theta = J J^T / m from the gradients.

        grad f_a = (X_ak v / sqrt(n) for each u_k;  h_a / sqrt(n) for v),  h_a = sum_k X_ak u_k, so
        Theta_ab = (X_a.X_b |v|^2 + h_a.h_b) / (n m).
        """
        *us, v = theta
        inv = 1 / B.sqrt(B.scalar(self.width))
        hs = [self._combine(B, us, self.X[a]) for a in range(self.m)]
        vv = B.dot(v, v)
        outs = [B.dot(h, v) * inv for h in hs]
        theta_m = [[None] * self.m for _ in range(self.m)]
        scale = inv * inv / B.scalar(self.m)
        Xb = [[B.scalar(float(x)) for x in row] for row in self.X]
        for a in range(self.m):
            for b in range(a, self.m):
                xx = sum((Xb[a][k] * Xb[b][k] for k in range(1, self.d)), Xb[a][0] * Xb[b][0])  # at full precision
                val = (xx * vv + B.dot(hs[a], hs[b])) * scale
                theta_m[a][b] = theta_m[b][a] = B.to_mpf(val)
        return {"outputs": [B.to_mpf(o) for o in outs], "ntk": theta_m}

    #: above this many samples lam_max(Theta0) is computed in float64 (numpy) instead of at the run's precision
    CURVATURE_EXACT_MAX_M = 60

    def curvature(self, theta, B):
        """lam_max(Theta), Theta = J J^T / m on the samples: the curvature a data model's ``eta_lam0``
        multiplies (GD on the residuals is r' = r - eta Theta r + O(eta^2): linearly stable for eta lam_max < 2),
        or None when the model was built with ``eta_lam0_of="probe"`` (eta_lam0 is then eta times the NTK at the
        probe, as for degenerate data, whose theory is written at the probe x = 1).  At the backend's precision for m <= :attr:`CURVATURE_EXACT_MAX_M`, else float64 (numpy ``eigvalsh``).

        >>> from catapult.numerics.backends import get_backend
        >>> B = get_backend("mpmath", 30); m = UVDataModel(16, np.eye(2), seed=0)
        >>> T = np.array(m.observe(m.init(B), B)["ntk"], dtype=float)
        >>> bool(abs(float(m.curvature(m.init(B), B)) - np.linalg.eigvalsh(T)[-1]) < 1e-12)
        True
        """
        if self.eta_lam0_of == "probe":
            return None
        T = self.observe(theta, B)["ntk"]
        if self.m > self.CURVATURE_EXACT_MAX_M or B.native:
            return mpmath.mpf(float(np.linalg.eigvalsh(np.array(T, dtype=float))[-1]))
        with mpmath.workdps(B.dps + 5):
            return +max(mpmath.eigsy(mpmath.matrix(T), eigvals_only=True))

    @staticmethod
    def _combine_b(B, cols, coeffs):
        out = None
        for c, col in zip(coeffs, cols):
            term = col * c
            out = term if out is None else out + term
        return out


class StartedAt:
    """``model`` started at given float64 parameters ``theta`` (taken as exact binary numbers at every
    precision, so all precisions start from the same point), e.g. next to a minimum GD reached.

    >>> from catapult.numerics.backends import get_backend
    >>> m = UVModel(4, seed=0)
    >>> s = StartedAt(m, [2 * m.u0, m.v0]); s.name, float(s.init(get_backend("mpmath", 30))[0][0]) == float(2 * m.u0[0])
    ('uv-warm', True)
    """

    def __init__(self, model, theta):
        self.model, self.theta = model, [np.array(th, dtype=float) for th in theta]
        self.width, self.seed, self.name = model.width, model.seed, getattr(model, "name", "model") + "-warm"

    def init(self, B):
        return [B.vector(th) if th.ndim == 1 else B.matrix(th) for th in self.theta]

    def evaluate(self, theta, B, bound):
        return self.model.evaluate(theta, B, bound)
