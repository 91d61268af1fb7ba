"""Deep linear networks trained on actual one-dimensional data points with per-sample losses.

A depth-L linear network without biases is linear in its input: f(x) = x F with F = f(1).  On data
points x_a (scalars, all on one line: "degenerate" data) with per-sample losses l_a, the training
loss is L = (1/m) sum_a l_a(x_a F) and its parameter gradient is

    grad_theta L = [(1/m) sum_a x_a l_a'(x_a F)] grad_theta F,

so one GD step is the network's own step with the combined slope.  :class:`DeepDataModel` wraps
:class:`catapult.numerics.deep.DeepLinearModel` (same init, same seed) and evaluates exactly that; what is
recorded is F = f(1) and the NTK lam = |grad_theta F|^2 at the probe x = 1.  Nothing here knows a
derived formula: the per-sample losses come in as a :class:`catapult.numerics.losses.DataLoss`.

Examples
========
>>> from catapult.numerics.backends import get_backend
>>> from catapult.numerics.losses import DataLoss, squared
>>> m = DeepDataModel(16, 3, [1.0, -2.0], seed=0, init="isometric")
>>> B = get_backend("float64")
>>> ev = m.evaluate(m.init(B), B, DataLoss([squared(1), squared(-1)]).bind(B))
>>> F = m.initial_output()
>>> bool(abs(ev.loss - ((F - 1) ** 2 + (-2 * F + 1) ** 2) / 4) < 1e-12)
True
"""

from __future__ import annotations

import numpy as np

from .backends import get_backend
from .deep import DeepLinearModel
from .errors import NumericsInputError
from .gd import run_gd
from .models import StartedAt


class DeepDataModel:
    """A :class:`DeepLinearModel` of ``width``/``depth`` trained on scalar inputs ``X`` (m points).

    >>> DeepDataModel(16, 2, [1.0, 0.5], seed=1)
    DeepDataModel(width=16, depth=2, m=2, seed=1, init='gaussian')
    >>> DeepDataModel(16, 2, [[1.0, 2.0]])
    Traceback (most recent call last):
    ...
    catapult.numerics.errors.NumericsInputError: data must be m >= 1 finite scalars (degenerate data on one line), got shape (1, 2)
    """

    name = "deep-data"

    def __init__(self, width, depth, X, seed=0, init="gaussian"):
        X = np.asarray(X, dtype=float)
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1 or X.shape[0] < 1 or not np.all(np.isfinite(X)):
            raise NumericsInputError(f"data must be m >= 1 finite scalars (degenerate data on one line), "
                                     f"got shape {X.shape}")
        self.net = DeepLinearModel(width, depth, seed=seed, init=init)
        self.X = X
        self.m = X.shape[0]
        self.width, self.depth, self.seed, self.init_kind = self.net.width, self.net.depth, seed, init

    def __repr__(self):
        return (f"DeepDataModel(width={self.width}, depth={self.depth}, m={self.m}, seed={self.seed}, "
                f"init={self.init_kind!r})")

    def init(self, B):
        return self.net.init(B)

    def initial_output(self) -> float:
        """F = f(1) at initialisation, in float64 (cheap; for choosing seeds by a measured init).

        >>> m = DeepDataModel(16, 2, [1.0], seed=3)
        >>> abs(m.initial_output() - float(m.net.w1 @ m.net.wL) / 4) < 1e-15
        True
        """
        h = self.net.w1
        for W in self.net.W0:
            h = W @ h / np.sqrt(self.width)
        return float(self.net.wL @ h) / float(np.sqrt(self.width))

    def invariants(self, B):
        """|w_1|^2, |w_L|^2 and sqrt(n) F0 at initialisation (see :meth:`DeepLinearModel.invariants`).

        >>> from catapult.numerics.backends import get_backend
        >>> A, C, rho = DeepDataModel(16, 3, [1.0], seed=0, init="isometric").invariants(get_backend("float64"))
        >>> A > 0 and C > 0
        True
        """
        return self.net.invariants(B)

    def _combined(self, B, bound):
        if len(bound) != self.m:
            raise NumericsInputError(f"the data loss has {len(bound)} per-sample losses for {self.m} points")
        xs = [B.scalar(float(x)) for x in self.X]
        inv_m = 1 / B.scalar(self.m)

        def value(F):
            total = None
            for x, (v, _) in zip(xs, bound):
                t = v(x * F)
                total = t if total is None else total + t
            return total * inv_m

        def slope(F):
            total = None
            for x, (_, s) in zip(xs, bound):
                t = x * s(x * F)
                total = t if total is None else total + t
            return total * inv_m

        return value, slope

    def evaluate(self, theta, B, bound):
        """The network's evaluation at the probe x = 1 with the data loss's combined slope (see module doc)."""
        return self.net.evaluate(theta, B, self._combined(B, bound))


class WarmStart(StartedAt):
    """A model started at the end of a small-step GD run of another model (a point near a minimum).

    The warm-up is :func:`catapult.numerics.gd.run_gd` in float64 with ``eta = eta_lam0 / lam0`` until the
    parameter-gradient norm is below ``gtol`` (or ``max_steps``); its parameters are stored as float64
    arrays and taken as exact binary numbers at every precision (:class:`catapult.numerics.models.StartedAt`),
    so all precisions start from the same point.  Used to measure the onset of the catapult at the minimum GD
    actually reaches: from there the loss can only rise if the minimum is linearly unstable at the new step
    size.  ``lam_cold`` is the NTK at the cold init, ``lam_warm`` at the warm start, ``warm_steps`` the
    warm-up length.

    >>> from catapult.numerics.losses import DataLoss, squared
    >>> m = DeepDataModel(16, 3, [1.0, -1.0], seed=0, init="isometric")
    >>> w = WarmStart(m, DataLoss([squared(1), squared(1)]), gtol=1e-8)
    >>> w.warm_steps > 0 and w.grad_norm < 1e-8 and abs(w.lam_warm / w.lam_cold - 1) < 0.2
    True
    """

    def __init__(self, model, loss, eta_lam0=1.0, gtol=1e-6, max_steps=100000):
        if not (eta_lam0 > 0 and gtol > 0):
            raise NumericsInputError(f"warm-up needs eta_lam0 > 0 and gtol > 0, got {eta_lam0}, {gtol}")
        tr = run_gd(model, loss, eta_lam0=eta_lam0, steps=max_steps, backend=get_backend("float64"), gtol=gtol,
                    record=False)
        if tr.stop.diverged:
            raise NumericsInputError("the warm-up diverged: use a smaller eta_lam0")
        super().__init__(model, tr.theta)
        self.lam_cold, self.warm_steps, self.grad_norm = float(tr.lam0), tr.steps, float(tr.grad_norm)
        self.lam_warm, self.f_warm = float(tr.lam[-1]), float(tr.f[-1])

    def __repr__(self):
        return f"WarmStart({self.model!r}, {self.warm_steps} warm-up steps, |grad| = {self.grad_norm:.1e})"
