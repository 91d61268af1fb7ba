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
from functools import lru_cache

import sympy as sp

from .errors import TheoryInputError
from .loss import Loss, mse
from .maps import ReducedMap
from .models import ModelSpec
from .identity import vanishes
from .reduce import SLOPE
from .symbols import eta, f as F, n

A, C = sp.symbols("A C", positive=True)
RHO = sp.Symbol("rho", real=True)

#: the constants of the reduced map and what they are at the isometric init
CONSTANTS = {A: "|w_1|^2", C: "|w_L|^2", RHO: "sqrt(n) f0"}


def check_depth(L) -> int:
    """Depth must be an integer >= 2.

    >>> check_depth(2.5)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: depth must be an integer >= 2, got 2.5
    """
    try:
        ok = int(L) == L and int(L) >= 2
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TheoryInputError(f"depth must be an integer >= 2, got {L}")
    return int(L)


@dataclass(repr=False)
class DeepReducedMap(ReducedMap):
    """The exact reduced map of a depth-L linear network with isometric hidden layers (a
    :class:`~catapult.theory.maps.ReducedMap`: observables f and lam, constants A, C, rho, the isometric init).

    >>> dm = derive_deep_map(2)
    >>> dm.model, dm.exactness, sorted(dm.observables), dm.init["b2"]
    ('deep(L=2, isometric)', <Exactness.EXACT: 'exact'>, ['f', 'lam'], 1)
    """

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

    def _header(self) -> str:
        return (f"deep linear network L={self.L}, isometric hidden layers, loss {self.loss.expr}   [{self.exactness} "
                f"reduced map, {len(self.state)} coordinates, independent of n; derived in {self.seconds:.2f} s]\n"
                f"  f = {self.f}\n  lam = {self.lam}")

    def _details(self) -> list:
        return [f"  init: {self.init}   (A = |w_1|^2, C = |w_L|^2, rho = sqrt(n) f0)"]

    @property
    def model(self) -> str:
        return f"deep(L={self.L}, isometric)"

    @property
    def observables(self) -> dict:
        return {"f": self.f, "lam": self.lam}

    @property
    def constants(self) -> dict:
        """The Gram constants of the isometric init: A = |w_1|^2, C = |w_L|^2, rho = sqrt(n) f0."""
        return dict(CONSTANTS)

    def _json_extra(self) -> dict:
        return {"f": str(self.f), "lam": str(self.lam), "init": {k: str(v) for k, v in self.init.items()},
                "constants": {str(k): v for k, v in self.constants.items()}}


@dataclass
class DeepModel(ModelSpec):
    """The registry's ``"deep"`` model: a depth-L linear network with ``init`` hidden layers.

    ``derive(loss)`` is the exact reduced map (isometric hidden layers only: with Gaussian ones W W^T/n is not
    I and the orbit leaves the 2-dimensional subspaces); ``thresholds(loss)`` is
    :func:`catapult.theory.deep_logistic.deep_thresholds`.

    >>> DeepModel(3).derive(mse()).model
    'deep(L=3, isometric)'
    >>> DeepModel(3, "gaussian").derive(mse())
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: no exact map for --init gaussian: with Gaussian hidden layers W W^T/n is not I (Marchenko-Pastur), so the orbit does not stay in 2-dimensional subspaces; use --init isometric
    """

    depth: int
    init: str = "isometric"
    name = "deep"

    def __post_init__(self):
        self.depth = check_depth(self.depth)
        if self.init not in ("isometric", "gaussian"):
            raise TheoryInputError(f"init must be 'isometric' or 'gaussian', got {self.init!r}")

    def derive(self, loss=None) -> DeepReducedMap:
        if self.init != "isometric":
            raise TheoryInputError("no exact map for --init gaussian: with Gaussian hidden layers W W^T/n is not I "
                                   "(Marchenko-Pastur), so the orbit does not stay in 2-dimensional subspaces; "
                                   "use --init isometric")
        return derive_deep_map(self.depth, loss)

    def thresholds(self, loss=None):
        from .deep_logistic import deep_thresholds
        return deep_thresholds(self.depth, loss or mse(), self.init)


def _mat(sym, l):
    return sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"m{l}_{i + 1}{j + 1}", real=True))


def derive_deep_map(L: int, loss: Loss | None = None) -> DeepReducedMap:
    """Derive the reduced map for depth ``L`` under ``loss`` (default squared loss f^2/2).

    >>> dm = derive_deep_map(3)
    >>> [str(s) for s in dm.state], dm.exact  # (a, b) coordinates and the one hidden layer's 2x2 block
    (['a1', 'a2', 'b1', 'b2', 'm2_11', 'm2_12', 'm2_21', 'm2_22'], True)
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


def width_scaling(L: int, points: int = 3, seed: int = 0, symbolic: bool | None = None):
    """The width enters the squared-loss (label 0) map only through eps = f0/sqrt(n).

    Claim: with A = C = n and rho = sqrt(n) f0, the substitution M_l = sqrt(n) m_l (alpha, beta kept)
    conjugates the depth-L map at width n to the same map at width 1 with A = C = 1 and
    rho = eps = f0/sqrt(n), with f = sqrt(n) g and lam unchanged.  So the orbit at width n is the
    width-1 orbit started from g0 = eps and the verdict depends on n only through eps; as n -> oo the
    map tends to its eps = 0 form, whose fixed point g = 0 has one multiplier 1 - eta*lam0
    (:func:`limit_multipliers`): |g| grows like eps |1 - x|^t, x = eta*lam0, and meets the
    nonlinearity (g ~ 1) after ln(1/eps)/ln|1 - x| steps, so the verdict returns when n grows by
    (x - 1)^2 (two steps, for the sign): period 2 ln|1 - x| in ln n.

    Checked exactly: every coordinate update, f and lam of both sides, as rational functions, are
    compared at ``points`` random rational points (state, f0, sqrt(n)) in exact arithmetic (a nonzero
    rational function vanishes there with probability 0); with ``symbolic=True`` (default for L <= 4)
    the differences are also proved zero (:func:`catapult.theory.identity.vanishes`).  Returns the list of the residuals (all 0).

    >>> width_scaling(3)
    [0, 0, 0]
    >>> width_scaling(6, points=1)
    [0]
    """
    import random
    dm = derive_deep_map(L)
    t, f0 = sp.Symbol("t", positive=True), sp.Symbol("f0", real=True)
    scale = {s: (t * s if str(s).startswith("m") else s) for s in dm.state}
    big = {A: t ** 2, C: t ** 2, RHO: t * f0, n: t ** 2}
    small = {A: 1, C: 1, RHO: f0 / t, n: 1}
    pairs = []
    for s in dm.state:
        k = str(s)
        lhs = dm.update[k].xreplace(scale).xreplace(big)
        pairs.append((lhs / t if k.startswith("m") else lhs, dm.update[k].xreplace(small)))
    pairs.append((dm.f.xreplace(scale).xreplace(big) / t, dm.f.xreplace(small)))
    pairs.append((dm.lam.xreplace(scale).xreplace(big), dm.lam.xreplace(small)))
    if symbolic if symbolic is not None else L <= 4:
        for a, b in pairs:
            if not vanishes(a - b):
                raise AssertionError(f"width scaling fails symbolically at L={L}")
    rng = random.Random(seed)
    out = []
    for _ in range(points):
        val = {s: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)) for s in dm.state}
        val.update({f0: sp.Rational(rng.randint(1, 9), rng.randint(1, 5)), t: sp.Rational(rng.randint(6, 20), 5),
                    eta: sp.Rational(rng.randint(1, 9), 7)})
        out.append(max(abs((a - b).xreplace(val)) for a, b in pairs))
    return out


def _init_at_width_one(dm):
    """The initial state of ``dm`` at n = 1 (the fixed point P0 of the eps -> 0 map)."""
    return {s: dm.init[str(s)].xreplace({n: 1}) for s in dm.state}


def limit_multipliers(L: int):
    """Multipliers of the eps -> 0 (n -> oo) form of the squared-loss map at its fixed point
    g = 0 (alpha = (1, 0), m_l = I, beta = (0, 1); lam0 = L there): one is 1 - eta*L = 1 - x, all others 1.

    The Jacobian of the width-1, rho = 0 map is computed symbolically and its characteristic
    polynomial factored.  Returns {eigenvalue: multiplicity}.

    >>> limit_multipliers(3)
    {1: 7, 1 - 3*eta: 1}
    """
    dm = derive_deep_map(L)
    sub = {A: 1, C: 1, RHO: 0, n: 1}
    point = _init_at_width_one(dm)
    J = sp.Matrix([[sp.diff(dm.update[str(a)].xreplace(sub), b) for b in dm.state] for a in dm.state]).xreplace(point)
    return {sp.factor(k): v for k, v in J.eigenvals().items()}


@lru_cache(maxsize=None)
def _drift_coefficient(L: int):
    """n (lam_1 - lam_0) at leading order in 1/n for one GD step from the isometric init
    (A = C = n, rho = sqrt(n) f0) with the slope l'(f0) kept as the symbol ``s0``: an exact
    polynomial in eta, s0, f0 (the orders n^0 and n^-1/2 are checked to vanish).  Returns
    (coefficient, lam0)."""
    dm = derive_deep_map(L)
    e = sp.Symbol("e", positive=True)
    sub = {A: e ** -2, C: e ** -2, RHO: F0 / e, n: e ** -2}
    P0 = {s: dm.init[str(s)].xreplace({n: e ** -2}) for s in dm.state}
    new = {s: sp.expand(dm.update_slope[str(s)].xreplace({SLOPE: S0}).xreplace(sub).xreplace(P0)) for s in dm.state}
    lam = dm.lam.xreplace(sub)
    lam0 = sp.cancel(lam.xreplace(P0))
    ser = sp.series(sp.expand(sp.cancel(sp.together(lam.xreplace(new) - lam.xreplace(P0)))), e, 0, 3).removeO()
    if ser.coeff(e, 0) != 0 or ser.coeff(e, 1) != 0:
        raise AssertionError(f"L={L}: the first-step lam-drift is not O(1/n)")
    return sp.factor(ser.coeff(e, 2)), lam0


#: the slope l'(f0) of the first step and the initial output, as symbols of :func:`lambda_drift`
S0, F0 = sp.Symbol("s0", real=True), sp.Symbol("f0", real=True)


def lambda_drift(L: int, loss: Loss | None = None, f0=1):
    """The first-order lam-drift of one GD step from the isometric init (A = C = n, rho = sqrt(n) f0),
    for any differentiable loss (default f^2/2):

        lam_1 - lam_0 = (eta / n) * D(x) + O(n^-2),    x = eta*lam0,  lam0 = L (exact at this init).

    Derived by a series in 1/sqrt(n) of the exact depth-L step with the first slope s0 = l'(f0) kept
    as a symbol (exact coefficients), then s0 = l'(f0) of ``loss`` substituted: the drift depends on the
    loss only through s0 and f0.  Returns (D as an expression in ``x``, its zero in x > 0, or None when
    D has none -- e.g. s0 = 0, f0 at a minimiser).  For f^2/2 at f0 = 1, L = 2 gives x - 4 (Lewkowycz
    et al.: (eta f^2/n)(eta lam - 4), exact at every order); for L >= 3 the zero is *below* 4 -- it is
    6L/(2L - 1) for L = 2..8 (measured with this function: D_L = (L - 1)((2L - 1) x/3 - 2L)) -- yet the
    orbit still converges up to the band (x_lo ~ 5.15 for L = 3): the first-order drift does not decide
    divergence for L >= 3, because it depends on the state beyond lam (balancedness, |alpha|, |beta|).
    Under c f^2/2 the first slope is c f0, so the zero moves to 1/c of the f^2/2 one.
    Cost grows quickly with L (about 1 s for L = 3, 3 s for L = 4, 11 s for L = 5).

    >>> lambda_drift(2)
    (x - 4, 4)
    >>> lambda_drift(3)
    (10*x/3 - 12, 18/5)
    >>> lambda_drift(3, Loss.parse("2*f**2"))[1]
    9/10
    >>> lambda_drift(2, mse(1))          # f0 = 1 is the minimiser of (f - 1)^2/2: s0 = 0, no drift
    (0, None)
    """
    coef, lam0 = _drift_coefficient(check_depth(L))
    loss = loss or mse()
    x = sp.Symbol("x")
    from .parse import exact_value
    f0v = exact_value(f0, "f0")
    s0v = loss.d1.subs(F, f0v)
    D = sp.expand(coef.subs({S0: s0v, F0: f0v}) / eta)
    D = sp.expand(sp.nsimplify(D) if D.has(sp.Float) else D).subs(eta, x / lam0)
    D = sp.expand(D)
    if D == 0 or D.free_symbols - {x}:
        return D, None
    zeros = [z for z in sp.solve(D, x) if z.is_real and z.is_positive]
    zero = None if not zeros else (zeros[0] if len(zeros) == 1 else zeros)
    return D, zero


@dataclass(frozen=True)
class LimitLoss:
    """The loss of the n -> oo limit map of the deep band (:mod:`catapult.verify.deep_limit`), or why there is none.

    In the width-1 form f = sqrt(n) g the loss enters as l(sqrt(n) g)/n; the band of eta*lam0 is a
    statement about the limit l_inf(g) = lim_n l(sqrt(n) g)/n.  ``loss`` is l_inf as a :class:`Loss`
    (None outside the domain), ``c`` its curvature (= l''(f*): the lazy bound is eta*lam0 < 2/c),
    ``fstar`` the minimiser of l, ``reason`` why no band is derived, ``derivation`` how ``loss`` was
    obtained.
    """

    loss: Loss | None
    c: sp.Expr | None = None
    fstar: sp.Expr | None = None
    reason: str = ""
    derivation: str = ""


def band_limit_loss(loss: Loss) -> LimitLoss:
    """The domain of the deep divergence band: the loss's n -> oo limit l_inf(g) = lim l(sqrt(n) g)/n.

    * l(f) = c (f - f*)^2/2 + k with a number c > 0 (any label f* = y): l_inf(g) = c g^2/2 exactly --
      the minimiser enters the width-1 form as f*/sqrt(n) -> 0, and the curvature at the minimum is the
      same c, so the lazy stage, the catapult and the final convergence are all those of c g^2/2
      (GD at eta on c g^2/2 is GD at c*eta on g^2/2: the band of l is the f^2/2 band divided by c).
    * l' bounded (logistic, log-cosh, ...): l_inf = 0 -- at fixed eta*lam0 the output never reaches the
      sqrt(n) scale where the lam-drift acts; divergence needs eta growing like sqrt(n): no band.
    * otherwise (degree > 2, non-polynomial with unbounded slope, no minimiser, symbolic coefficients):
      not derived, with the reason.

    >>> band_limit_loss(Loss.parse("2*f**2")).loss.expr, band_limit_loss(mse(1)).fstar
    (2*f**2, 1)
    >>> print(band_limit_loss(Loss.parse("log(cosh(f))")).reason)   # doctest: +ELLIPSIS
    l' is bounded (l' -> 1 as f -> +oo, -1 as f -> -oo): ...
    >>> band_limit_loss(Loss.parse("f**4")).loss is None
    True
    """
    expr = sp.expand(loss.expr)
    if expr.is_polynomial(F):
        P = sp.Poly(expr, F)
        deg = P.degree()
        if deg == 2:
            a, b = P.all_coeffs()[:2]
            if not (a.is_number and a.is_positive):
                return LimitLoss(None, reason=f"l(f) = {loss.expr} is quadratic with leading coefficient {a}, "
                                              "not a positive number: no minimiser for every parameter value")
            c, fstar = 2 * a, sp.simplify(-b / (2 * a))
            return LimitLoss(Loss(c * F ** 2 / 2, f"limit of {loss.name}"), c, fstar,
                             derivation=f"l(f) = {c * (F - fstar) ** 2 / 2} + k: with f = sqrt(n) g, "
                                        f"l(sqrt(n) g)/n -> {c * F ** 2 / 2} in g (the minimiser enters as f*/sqrt(n) -> 0); "
                                        f"curvature at the minimum l''(f*) = {c} = that of the limit loss")
        if deg > 2:
            return LimitLoss(None, reason=f"l(f) = {loss.expr} has degree {deg} > 2: l(sqrt(n) g)/n diverges as "
                                          "n -> oo, so the band's sqrt(n)-scale limit map does not exist")
        return LimitLoss(None, reason=f"l(f) = {loss.expr} has no minimiser (degree {deg})")
    if loss.params:
        return LimitLoss(None, reason=f"not derived for a non-polynomial loss with symbolic parameters "
                                      f"{', '.join(map(str, loss.params))}: give them values")
    try:
        hi, lo = sp.limit(loss.d1, F, sp.oo), sp.limit(loss.d1, F, -sp.oo)
    except (NotImplementedError, ValueError, TypeError):
        hi = lo = None
    if hi is not None and lo is not None and hi.is_finite and lo.is_finite:
        return LimitLoss(None, reason=f"l' is bounded (l' -> {hi} as f -> +oo, {lo} as f -> -oo): "
                                      "l(sqrt(n) g)/n -> 0, so at fixed eta*lam0 the output never reaches the "
                                      "sqrt(n) scale where the lam-drift acts; divergence needs eta growing "
                                      "like sqrt(n) (the divergence-width law): no band of eta*lam0")
    return LimitLoss(None, reason=f"not derived: the band's n -> oo limit map is derived for quadratic losses "
                                  f"c (f - f*)^2/2 + k (exact); l(f) = {loss.expr} is not quadratic "
                                  "and its slope is unbounded")
