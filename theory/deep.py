"""Deep linear networks of depth L with isometric hidden layers: the exact finite-dimensional reduced map.

Model (NTK parametrisation, scalar input x = 1): h_1 = w_1 in R^n, h_l = W_l h_{l-1}/sqrt(n)
(W_l in R^{n x n}, 2 <= l <= L-1), f = w_L . h_{L-1}/sqrt(n).  L = 2 is the uv model.

Derivation.  Let a_1 = w_1, a_l = W_l a_{l-1}/sqrt(n) (forward) and c_{L-1} = w_L,
c_{l-1} = W_l^T c_l/sqrt(n) (backward) at initialisation, and S_l = span(a_l, c_l).  If every
W_l is isometric and square (W_l^T W_l = W_l W_l^T = n I) then W_l a_{l-1} = sqrt(n) a_l,
W_l c_{l-1} = W_l W_l^T c_l/sqrt(n) = sqrt(n) c_l, and likewise W_l^T maps S_l onto S_{l-1}:
in the bases (a, c) every W_l is sqrt(n) I_2, and every S_l has the same Gram matrix
Gamma = [[A, rho], [rho, C]] with A = |w_1|^2, C = |w_L|^2, rho = a_l.c_l = sqrt(n) f0.
GD changes W_l by the rank-one term -eta l'(f) b_l h_{l-1}^T/sqrt(n) with b_l in S_l,
h_{l-1} in S_{l-1}, so the spans are kept and the whole orbit is the map on

    alpha in R^2 (w_1),  M_l in R^{2x2} (W_l restricted, 2 <= l <= L-1),  beta in R^2 (w_L)

with x_1 = alpha, x_l = M_l x_{l-1}/sqrt(n), f = beta^T Gamma x_{L-1}/sqrt(n),
y_{L-1} = beta/sqrt(n), y_{l-1} = Gamma^{-1} M_l^T Gamma y_l/sqrt(n) (coordinates of W_l^T),
lam = |y_1|^2 + sum_l |y_l|^2 |x_{l-1}|^2/n + |x_{L-1}|^2/n  (|z|^2 = z^T Gamma z), and

    alpha' = alpha - eta s y_1,   M_l' = M_l - (eta s/sqrt(n)) y_l x_{l-1}^T Gamma,
    beta' = beta - eta s x_{L-1}/sqrt(n),   s = l'(f).

Its size does not depend on n; the initial state is alpha = (1, 0), M_l = sqrt(n) I, beta = (0, 1).
With Gaussian W_l, W_l W_l^T/n is far from I and this reduction is not exact.

Examples
========
>>> dm = derive_deep_map(2)
>>> dm.state
[a1, a2, b1, b2]
>>> sp.expand(dm.f * sp.sqrt(n))
A*a1*b1 + C*a2*b2 + a1*b2*rho + a2*b1*rho
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy as sp

from .errors import TheoryInputError
from .loss import Loss, mse
from .reduce import SLOPE
from .symbols import eta, f as F, n

A, C = sp.symbols("A C", positive=True)
RHO = sp.Symbol("rho", real=True)


def check_depth(L) -> int:
    """Depth must be an integer >= 2.

    >>> check_depth(2.5)
    Traceback (most recent call last):
    ...
    theory.errors.TheoryInputError: depth must be an integer >= 2, got 2.5
    """
    try:
        ok = int(L) == L and int(L) >= 2
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TheoryInputError(f"depth must be an integer >= 2, got {L}")
    return int(L)


@dataclass
class DeepReducedMap:
    """The exact reduced map of a depth-L linear network with isometric hidden layers."""

    L: int
    loss: Loss
    state: list
    update: dict
    update_slope: dict = field(repr=False)
    f: sp.Expr = None
    lam: sp.Expr = None
    init: dict = field(default_factory=dict)
    seconds: float = 0.0
    exact: bool = True

    def __repr__(self):
        return (f"DeepReducedMap(L={self.L}, loss={self.loss.expr}, {len(self.state)} coordinates, exact, "
                f"derived in {self.seconds:.2f} s)")

    @property
    def symbols(self):
        return {str(s): s for s in self.state}

    def to_json(self) -> dict:
        return {"model": f"deep(L={self.L}, isometric)", "loss": str(self.loss.expr),
                "state": [str(s) for s in self.state],
                "update": {k: str(v) for k, v in self.update.items()},
                "f": str(self.f), "lam": str(self.lam),
                "init": {k: str(v) for k, v in self.init.items()},
                "constants": {"A": "|w_1|^2", "C": "|w_L|^2", "rho": "sqrt(n) f0"},
                "exact": True, "exactness": "exact"}

    def numeric(self, eta_value, n_value, A_value, C_value, rho_value, loss_params=None):
        """An mpmath step callable and the initial state, for given numbers (exact map, no truncation)."""
        import mpmath
        consts = [eta, n, A, C, RHO]
        names = [str(s) for s in self.state]
        fn = sp.lambdify([self.state, consts], [self.update[k] for k in names], modules="mpmath", cse=True)
        fx = sp.lambdify([self.state, consts], [self.f, self.lam], modules="mpmath", cse=True)
        vals = [eta_value, n_value, A_value, C_value, rho_value]

        def conv(v):
            return v if isinstance(v, mpmath.mpf) else mpmath.mpf(v)

        def step(state):
            out = fn([state[k] for k in names], [conv(v) for v in vals])
            return dict(zip(names, out))

        def observe(state):
            fv, lv = fx([state[k] for k in names], [conv(v) for v in vals])
            return fv, lv

        def init():
            return {k: conv(sp.N(v.subs({n: n_value}), mpmath.mp.dps + 10)) for k, v in self.init.items()}
        return step, observe, init


def _mat(sym, l):
    return sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"m{l}_{i + 1}{j + 1}", real=True))


def derive_deep_map(L: int, loss: Loss | None = None) -> DeepReducedMap:
    """Derive the reduced map for depth ``L`` under ``loss`` (default squared loss f^2/2).

    >>> dm = derive_deep_map(3)
    >>> len(dm.state), dm.seconds < 2
    (8, True)
    """
    t0 = time.perf_counter()
    L = check_depth(L)
    loss = loss or mse()
    G = sp.Matrix([[A, RHO], [RHO, C]])
    Ginv = G.inv()
    alpha = sp.Matrix(sp.symbols("a1 a2", real=True))
    beta = sp.Matrix(sp.symbols("b1 b2", real=True))
    Ms = {l: _mat("m", l) for l in range(2, L)}
    rn = sp.sqrt(n)
    xs = {1: alpha}
    for l in range(2, L):
        xs[l] = Ms[l] * xs[l - 1] / rn
    f_expr = (beta.T * G * xs[L - 1])[0, 0] / rn
    ys = {L - 1: beta / rn}
    for l in range(L - 1, 1, -1):
        ys[l - 1] = Ginv * Ms[l].T * G * ys[l] / rn

    def sq(z):
        return (z.T * G * z)[0, 0]

    lam_expr = sq(ys[1]) + sum((sq(ys[l]) * sq(xs[l - 1]) / n for l in range(2, L)), sp.Integer(0)) + sq(xs[L - 1]) / n
    s = SLOPE
    new = {}
    a_new = alpha - eta * s * ys[1]
    b_new = beta - eta * s * xs[L - 1] / rn
    new.update({"a1": a_new[0], "a2": a_new[1], "b1": b_new[0], "b2": b_new[1]})
    for l in range(2, L):
        Mn = Ms[l] - (eta * s / rn) * ys[l] * xs[l - 1].T * G
        for i in range(2):
            for j in range(2):
                new[f"m{l}_{i + 1}{j + 1}"] = Mn[i, j]
    state = list(alpha) + list(beta) + [Ms[l][i, j] for l in range(2, L) for i in range(2) for j in range(2)]
    order = [str(x) for x in state]
    slope = loss.d1.subs(F, f_expr)
    update = {k: new[k].subs(s, slope) for k in order}
    init = {"a1": sp.Integer(1), "a2": sp.Integer(0), "b1": sp.Integer(0), "b2": sp.Integer(1)}
    for l in range(2, L):
        init.update({f"m{l}_11": rn, f"m{l}_12": sp.Integer(0), f"m{l}_21": sp.Integer(0), f"m{l}_22": rn})
    return DeepReducedMap(L, loss, state, update, {k: new[k] for k in order}, f_expr, lam_expr, init,
                          time.perf_counter() - t0)
