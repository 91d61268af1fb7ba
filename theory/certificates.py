"""The symbolic half of the certified verdicts: lemma ingredients derived from a reduced map (no numbers here).

A certified verdict (:mod:`catapult.numerics.certify`) iterates the map in ball arithmetic and stops when the
enclosure enters a region where a lemma proves the rest of the orbit.  Each lemma needs expressions derived from the
map; :mod:`catapult.verify.bridge` compiles them to balls.  Four lemmas:

* **residual contraction** (:func:`residual_lemma`; any map with one output f and a twice-differentiable loss;
  :func:`vector_residual_lemma` for many samples, with one slope s_a per sample):
  with s = l'(f) kept opaque, every coordinate moves by s times a polynomial, F_i(z) - z_i = s D_i(z, s), and
  f(F(z)) - f(z) = s E(z, s).  By the mean value theorem l'(f(F z)) = s (1 + l''(xi) E) for some xi between
  f(z) and f(F z).  The numeric side bounds q = sup |1 + l''(H) E| and K_i = sup |D_i| over a box.
* **escape cone** (:func:`escape_lemma`; maps of (f, lam) alone under a loss with l'(f) = c f): in u = eta lam,
  w = eta^2 f^2/n the map is f' = f m(u, w), u' = u + w h(u, w).  The region E = {u >= U, w >= k u} is proven
  invariant with |m| >= Q > 1 on it by a positive-coefficient certificate: with u = U + a, w = k u + b
  (a, b >= 0) the polynomials u' - U, w' - k u' and +-m - Q have no negative coefficient in (a, b).
* **escape interval** (:func:`escape_interval_lemma`; maps in which f moves alone, f' = P(f) a polynomial, e.g. a
  model whose NTK is a function of f): {|f| >= X} with |P(f)| >= 2 |f| on it, proven per run by the numeric side
  from the nonnegative coefficients in a of P(+-(X + a))^2 - 4 (X + a)^2 at X = |f_T|.
* **monotone trap** (:func:`trap_lemma`; the maps of the escape cone): if h depends on u alone, h < 0 on [0, U*) (U* its
  smallest positive root), a derived invariant I(u, w) >= 0 (its multiplier a square) confines w <= phi(u), and
  P(u) = u + phi(u) h(u) >= 0 on [0, U*], then every state with 0 <= u0 < U*, I >= 0 stays in
  T = {0 <= u <= u0, I >= 0}, u decreases, sum_t w_t <= u0 / min_{[0, u0]} (-h) < oo, hence f -> 0, lam
  converges.

Examples
========
>>> from catapult.theory import derive
>>> r = residual_lemma(derive("uv", "mse"))
>>> r.reason, r.E
('', eta**2*f*s/n - eta*lam)
>>> e = escape_lemma(derive("uv", "mse"))
>>> e.U, e.k, e.Q
(4, 2, 5)
>>> t = trap_lemma(derive("uv", "mse"))
>>> t.U_star, t.invariant
(4, u**2 - 4*w)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .errors import TheoryInputError
from .maps import ReducedMap
from .reduce import SLOPE, FunctionSpaceMap
from .symbols import eta, f, lam, n

#: the dimensionless variables of the (f, lam) lemmas: u = eta lam, w = eta^2 f^2 / n
U_SYM, W_SYM = sp.symbols("u w", nonnegative=True)
_A, _B = sp.symbols("a b", nonnegative=True)


@dataclass
class ResidualLemma:
    """Ingredients of the residual-contraction lemma for a map with one output (``reason`` non-empty: not
    derived).  ``f`` is the output in the state, ``slope`` l'(f) and ``curvature`` l''(f) (in the symbol f),
    ``E`` with f(F z) - f(z) = s E, ``drift[name]`` = D_i with F_i(z) - z_i = s D_i (s = SLOPE)."""

    state: list
    f: sp.Expr = None
    slope: sp.Expr = None
    curvature: sp.Expr = None
    E: sp.Expr = None
    drift: dict = field(default_factory=dict)
    reason: str = ""
    #: coordinates that do not move by s times a polynomial but are slaved to the others: their update depends on
    #: the moving coordinates and s only, and nothing depends on them (e.g. lam = 1 + 2 f/sqrt(n) of a model whose
    #: NTK is a function of f); they converge with the rest, by continuity (no drift for them)
    slaved: list = field(default_factory=list)


def _quotient(expr):
    """expr / SLOPE as a polynomial in SLOPE (None when expr has a term free of SLOPE).

    >>> _quotient(SLOPE**2 * f + SLOPE), _quotient(SLOPE + 1)
    (f*s + 1, None)
    """
    e = sp.expand(expr)
    if sp.expand(e.subs(SLOPE, 0)) != 0:
        return None
    return sp.Add(*[t / SLOPE for t in sp.Add.make_args(e)])   # termwise: every term has a factor SLOPE


def residual_lemma(rmap: ReducedMap) -> ResidualLemma:
    """The residual-contraction ingredients of ``rmap`` (see the module docstring), or the reason they are not
    derived (several outputs; no update with the slope kept opaque; a coordinate that moves when l'(f) = 0 and
    that another coordinate or f depends on -- one that nothing depends on is ``slaved``).

    >>> from catapult.theory import derive
    >>> derive_deep = derive("deep", depth=2)
    >>> sorted(residual_lemma(derive_deep).drift)
    ['a1', 'a2', 'b1', 'b2']
    >>> residual_lemma(derive("samples", m=2, d=1, X=[[1], [2]])).reason[:30]
    'several outputs (f1, f2): the '
    """
    state = list(rmap.state)
    outs = [k for k in rmap.observables if k != "lam" and k != "Theta"]
    if outs != ["f"]:
        return ResidualLemma(state, reason=f"several outputs ({', '.join(outs)}): the residual is a vector and "
                                           "the scalar contraction lemma is not derived for it")
    if not rmap.update_slope:
        return ResidualLemma(state, reason="the map has no update with the loss slope kept opaque")
    drift, slaved = {}, []
    for k, v in rmap.update_slope.items():
        d = _quotient(v - rmap.symbols[k])
        if d is None:
            slaved.append(k)
        else:
            drift[k] = d
    fx = rmap.observables["f"]
    if slaved:   # allowed when they feed back into nothing (then the lemma is about the other coordinates)
        syms = {rmap.symbols[k] for k in slaved}
        users = [k for k, v in rmap.update_slope.items() if v.free_symbols & syms] + (["f"] if fx.free_symbols & syms
                                                                                       else [])
        if users:
            return ResidualLemma(state, reason=f"coordinate {slaved[0]} moves when l'(f) = 0 and "
                                               f"{users[0]} depends on it: not a GD map of its output")
    nxt = fx.xreplace({rmap.symbols[k]: v for k, v in rmap.update_slope.items()})
    E = _quotient(nxt - fx)
    if E is None:
        return ResidualLemma(state, reason="f moves when l'(f) = 0")
    return ResidualLemma(state, fx, rmap.loss.d1, rmap.loss.d2, E, drift, slaved=slaved)


@dataclass
class VectorResidualLemma:
    """Ingredients of the residual-contraction lemma for a map of several outputs f_a with their own slopes
    s_a = l'_a(f_a) (many samples): f_a(F z) - f_a(z) = sum_b s_b E[a][b] and F_i(z) - z_i = sum_a s_a
    drift[name][a] (``reason`` non-empty: not derived).  ``slopes`` / ``curvatures``: l'_a and l''_a in the
    symbol f (each sample's label substituted)."""

    state: list
    outputs: list = field(default_factory=list)
    slope_symbols: list = field(default_factory=list)
    slopes: list = field(default_factory=list)
    curvatures: list = field(default_factory=list)
    E: list = field(default_factory=list)
    drift: dict = field(default_factory=dict)
    reason: str = ""


def _by_slopes(expr, slopes):
    """``expr`` = sum_a s_a c_a with every term given to the first slope it contains: [c_a], or None when a term
    contains no slope.

    >>> s1, s2 = sp.symbols("s1 s2")
    >>> _by_slopes(s1 * f + s1 * s2 + 3 * s2, [s1, s2]), _by_slopes(s1 + 1, [s1, s2])
    ([f + s2, 3], None)
    """
    out = [sp.S.Zero] * len(slopes)
    for t in sp.Add.make_args(sp.expand(expr)):
        if t == 0:
            continue
        a = next((i for i, sa in enumerate(slopes) if t.has(sa)), None)
        if a is None:
            return None
        out[a] += sp.cancel(t / slopes[a])
    return [sp.expand(c) for c in out]


def output_system(rmap):
    """``(outputs, ntk, labels)`` of a map of several outputs: a many-sample map
    (:class:`catapult.theory.samples.SampleMap`: f_1..f_m, Theta, the labels Y) or a model of several outputs
    (:class:`catapult.theory.multi_output.MultiOutputMap`: f_1..f_k, Theta_ab from its observables, one loss for
    every output: labels ``None``).

    >>> from catapult.theory.model_file import parse_model_text
    >>> two = parse_model_text('outputs = ["dot(u, v1)/sqrt(n)", "dot(u, v2)/sqrt(n)"]\\n[parameters]\\n'
    ...                        'u = "vector"\\nv1 = "vector"\\nv2 = "vector"')
    >>> from catapult.theory import derive
    >>> outs, T, Y = output_system(derive(two, "mse"))
    >>> outs, T[0, 1], Y
    ([uv1/sqrt(n), uv2/sqrt(n)], v1v2/n, None)
    >>> from catapult.theory.samples import derive_sample_map
    >>> outs, T, Y = output_system(derive_sample_map(2, 1, X=[[1], [2]], Y=[0, 1]))
    >>> len(outs), T.shape, Y
    (2, (2, 2), [0, 1])
    >>> output_system(derive("uv", "mse"))
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: not a map of several outputs (uv: one output f)
    """
    if hasattr(rmap, "ntk") and hasattr(rmap, "outputs"):
        return list(rmap.outputs), rmap.ntk, list(rmap.Y)
    obs = getattr(rmap, "output_observables", None) or {}
    k = sum(1 for key in obs if key.startswith("f"))
    if k < 2:
        raise TheoryInputError(f"not a map of several outputs ({getattr(rmap, 'model', 'this map')}: one output f)")
    T = sp.Matrix(k, k, lambda a, b: obs[f"Theta{min(a, b) + 1}{max(a, b) + 1}"])
    return [obs[f"f{a + 1}"] for a in range(k)], T, None


def vector_residual_lemma(smap) -> VectorResidualLemma:
    """The vector residual-contraction ingredients of a map of several outputs -- a many-sample map
    (:class:`catapult.theory.samples.SampleMap`, numeric labels) or a model of several outputs
    (:class:`catapult.theory.multi_output.MultiOutputMap`, one loss for every output) -- or the reason they are not
    derived (see :func:`output_system`).

    >>> from catapult.theory.samples import derive_sample_map
    >>> r = vector_residual_lemma(derive_sample_map(2, 1, X=[[1], [2]], Y=[0, 1]))
    >>> r.reason, len(r.E), r.slopes
    ('', 2, [f, f - 1])
    >>> from catapult.theory import derive, mse
    >>> from catapult.theory.model_file import parse_model_text
    >>> two = parse_model_text('outputs = ["dot(u, v1)/sqrt(n)", "dot(u, v2)/sqrt(n)"]\\n[parameters]\\n'
    ...                        'u = "vector"\\nv1 = "vector"\\nv2 = "vector"')
    >>> vector_residual_lemma(derive(two, "mse")).slopes, vector_residual_lemma(derive(two, mse("y"))).reason
    ([f, f], 'the loss has free symbols (a label?): give them values')
    """
    from .symbols import y
    state = list(smap.state)
    slopes = list(getattr(smap, "slopes", []))
    if not slopes or not smap.update_slope:
        return VectorResidualLemma(state, reason="the map has no update with the samples' slopes kept opaque")
    outputs, _, Y = output_system(smap)
    if Y is not None and any(not sp.sympify(v).is_number for v in Y):
        return VectorResidualLemma(state, reason="the labels are symbolic: give them values")
    if smap.loss.expr.free_symbols - {f} - ({y} if Y is not None else set()):
        return VectorResidualLemma(state, reason="the loss has free symbols (a label?): give them values")
    drift = {}
    for k, v in smap.update_slope.items():
        d = _by_slopes(v - smap.symbols[k], slopes)
        if d is None:
            return VectorResidualLemma(state, reason=f"coordinate {k} moves when every slope is 0")
        drift[k] = d
    reps = {smap.symbols[k]: v for k, v in smap.update_slope.items()}
    E = []
    for fa in outputs:
        row = _by_slopes(fa.xreplace(reps) - fa, slopes)
        if row is None:
            return VectorResidualLemma(state, reason="an output moves when every slope is 0")
        E.append(row)
    labels = Y if Y is not None else [y] * len(outputs)     # one loss for every output: its label as it is
    d1 = [smap.loss.d1.subs(y, ya) for ya in labels]
    d2 = [smap.loss.d2.subs(y, ya) for ya in labels]
    return VectorResidualLemma(state, outputs, slopes, d1, d2, E, drift)


def uw_form(rmap: ReducedMap):
    """The map in u = eta lam, w = eta^2 f^2/n as ``(m, h)`` with f' = f m(u, w) and u' = u + w h(u, w), for a
    map of exactly (f, lam) under a loss with l'(f) = c f (c > 0 a constant); else ``(None, reason)``.

    >>> from catapult.theory import derive
    >>> uw_form(derive("uv", "mse"))
    (-u + w + 1, u - 4)
    >>> uw_form(derive("uv", "logistic"))[1][:36]
    "needs l'(f) = c f (a quadratic loss "
    """
    if not isinstance(rmap, FunctionSpaceMap) or [str(s) for s in rmap.state] != ["f", "lam"]:
        return None, "needs a map of exactly (f, lam) (no extra state)"
    c = sp.cancel(rmap.loss.d1 / f)
    if c.free_symbols or not c.is_positive:
        return None, "needs l'(f) = c f (a quadratic loss with its minimum at f = 0, c > 0)"
    m = sp.cancel(rmap.update["f"] / f)
    dl = rmap.update["lam"] - lam
    if sp.denom(m).has(f):
        return None, "f' is not a multiple of f"
    reps = {lam: U_SYM / eta}
    m_uw = sp.expand(m.subs(reps).subs(f, sp.sqrt(W_SYM * n) / eta))
    h = sp.expand(sp.cancel(sp.expand(eta * dl.subs(reps).subs(f, sp.sqrt(W_SYM * n) / eta)) / W_SYM))
    if (m_uw.free_symbols | h.free_symbols) - {U_SYM, W_SYM}:
        return None, "the map does not close on u = eta lam, w = eta^2 f^2/n"
    return m_uw, h


def _nonneg_coeffs(expr) -> bool:
    """True when ``expr`` is a polynomial in a, b with no negative coefficient (so >= 0 for a, b >= 0).

    >>> _nonneg_coeffs((_A + 1) ** 2 + _B), _nonneg_coeffs(_A - _B)
    (True, False)
    """
    e = sp.expand(expr)
    if e.free_symbols - {_A, _B}:
        return False
    return all(c >= 0 for c in sp.Poly(e, _A, _B).coeffs()) if e != 0 else True


@dataclass
class EscapeLemma:
    """The proven escape cone {u >= U, w >= k u} with growth |f'| >= Q |f| (``reason``: why not derived)."""

    U: object = None
    k: object = None
    Q: object = None
    u: sp.Expr = None       # u and w in the state
    w: sp.Expr = None
    reason: str = ""

    @property
    def statement(self) -> str:
        return (f"escape cone: on E = {{eta*lam >= {self.U}, eta^2 f^2/n >= {self.k} eta*lam}} the map stays in E "
                f"and |f'| >= {self.Q} |f| (positive-coefficient certificate of the derived map), so |f_t| -> oo")


def escape_lemma(rmap: ReducedMap, ks=(1, 2, 4, 8, 16)) -> EscapeLemma:
    """The escape cone of :func:`uw_form`'s map: U = the largest real root of h(u, 0) (the sign change of the
    lam-drift), the smallest k of ``ks`` with a certificate (see the module docstring).

    >>> from catapult.theory import derive
    >>> print(escape_lemma(derive("uv", "mse")).statement[:47])
    escape cone: on E = {eta*lam >= 4, eta^2 f^2/n
    """
    m, h = uw_form(rmap)
    if m is None:
        return EscapeLemma(reason=h)
    roots = [r for r in sp.real_roots(sp.Poly(h.subs(W_SYM, 0), U_SYM))] if h.subs(W_SYM, 0).has(U_SYM) else []
    if not roots:
        return EscapeLemma(reason="the lam-drift h(u, 0) has no real root")
    U = sp.nsimplify(max(roots))
    if not (U.is_Rational and U > 0):
        return EscapeLemma(reason=f"the sign change U = {U} of the lam-drift is not a positive rational")
    u_next = U_SYM + W_SYM * h
    w_next = W_SYM * m ** 2
    for k in ks:
        reps = {W_SYM: k * (U + _A) + _B, U_SYM: U + _A}
        un, wn, mm = (sp.expand(e.subs(reps, simultaneous=True)) for e in (u_next, w_next, m))
        Q = mm.subs({_A: 0, _B: 0})
        sign = 1 if Q > 0 else -1
        Q = abs(Q)
        if Q > 1 and _nonneg_coeffs(un - U) and _nonneg_coeffs(wn - k * un) and _nonneg_coeffs(sign * mm - Q):
            return EscapeLemma(U, sp.Integer(k), Q, eta * lam, eta ** 2 * f ** 2 / n)
    return EscapeLemma(reason=f"no positive-coefficient certificate for the cone {{u >= {U}, w >= k u}}, k in {ks}")


#: the threshold X of the escape interval {|f| >= X} (a number chosen by the numeric side) and its growth factor
X_SYM = sp.Symbol("X", positive=True)
ESCAPE_GROWTH = 2


@dataclass
class EscapeInterval:
    """The escape interval {|f| >= X} of a map whose output moves alone, f' = P(f) a polynomial: ``plus`` and
    ``minus`` are the coefficients in a of P(+-(X + a))^2 - Q^2 (X + a)^2 (Q = :data:`ESCAPE_GROWTH`, in X and
    the map's constants); ``reason``: why not derived."""

    P: sp.Expr = None
    plus: list = field(default_factory=list)
    minus: list = field(default_factory=list)
    reason: str = ""

    @property
    def statement(self) -> str:
        return (f"escape interval: f' = P(f) = {self.P} depends on f alone; when every coefficient in a >= 0 of "
                f"P(+-(X + a))^2 - {ESCAPE_GROWTH}^2 (X + a)^2 is proven >= 0 at X = |f_T| (lower bound), then "
                f"|f'| >= {ESCAPE_GROWTH} |f| on {{|f| >= X}}, which is therefore invariant, and |f_t| -> oo")


def escape_interval_lemma(rmap: ReducedMap) -> EscapeInterval:
    """The escape interval of a map in which f moves alone (its update depends on f and the constants only; other
    coordinates may follow it) under a loss with a polynomial slope: the certificate's coefficients (see
    :class:`EscapeInterval`), checked in ball arithmetic by the numeric side; or the reason it is not derived.

    >>> from catapult.theory import derive
    >>> from catapult.theory.model_file import parse_model_text
    >>> quadratic = parse_model_text('output = "(dot(u, u) - n)/(2*sqrt(n))"\\n[parameters]\\nu = "vector"')
    >>> e = escape_interval_lemma(derive(quadratic, "mse"))
    >>> e.reason, len(e.plus), sp.factor(e.P.coeff(f, 3))
    ('', 7, eta**2/n)
    >>> escape_interval_lemma(derive("uv", "mse")).reason
    'f moves with the other coordinates (lam), not alone'
    """
    if "f" not in rmap.symbols or rmap.observables.get("f") != rmap.symbols["f"] or not rmap.update_slope:
        return EscapeInterval(reason="the output f is not a coordinate of the map")
    fs = rmap.symbols["f"]
    Pf = sp.expand(rmap.update_slope["f"].xreplace({SLOPE: rmap.loss.d1}))
    others = (Pf.free_symbols & set(rmap.state)) - {fs}
    if others:
        return EscapeInterval(reason=f"f moves with the other coordinates ({', '.join(sorted(map(str, others)))}), "
                                     "not alone")
    if not Pf.is_polynomial(fs):
        return EscapeInterval(reason="f' is not a polynomial in f (the loss's slope is not)")
    a = _A
    coeffs = []
    for sign in (1, -1):
        g = sp.expand(Pf.subs(fs, sign * (X_SYM + a)) ** 2 - ESCAPE_GROWTH ** 2 * (X_SYM + a) ** 2)
        coeffs.append([sp.factor(c) for c in sp.Poly(g, a).all_coeffs()[::-1]])
    return EscapeInterval(Pf, *coeffs)


def _nonneg_on(P, top) -> bool:
    """True when the polynomial P(u) (rational coefficients) is >= 0 on [0, top] (``top`` rational): its sign at a
    rational point of every gap between its isolated real roots in [0, top], and at both ends.

    >>> u = U_SYM
    >>> _nonneg_on(u * (u - 2) ** 2 / 4, 4), _nonneg_on(u * (u - 2), 4)
    (True, False)
    """
    poly = sp.Poly(P, U_SYM)
    if poly.is_zero:
        return True
    ivs = [(a, b) for a, b in (iv for iv, _ in poly.intervals(eps=sp.Rational(1, 10 ** 6))) if b >= 0 and a <= top]
    cuts = sorted({sp.Integer(0), sp.nsimplify(top)} | {x for iv in ivs for x in iv if 0 <= x <= top})
    points = list(cuts) + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])]
    # a point inside an isolating interval may be off the root: only points outside every interval are sign tests
    tests = [x for x in points if not any(a < x < b for a, b in ivs)] + [sp.Integer(0), sp.nsimplify(top)]
    return all(poly.eval(x) >= 0 for x in tests)


@dataclass
class TrapLemma:
    """The proven monotone trap T = {0 <= u <= u0 < U_star, invariant(u, w) >= 0} (``reason``: why not)."""

    U_star: object = None
    invariant: sp.Expr = None      # I(u, w), its sign kept by every step
    u: sp.Expr = None
    w: sp.Expr = None
    reason: str = ""

    @property
    def statement(self) -> str:
        return (f"monotone trap: while 0 <= eta*lam < {self.U_star} and I = {self.invariant} >= 0 (a derived "
                f"invariant, multiplier a square), eta*lam decreases by w*(-h) per step with -h >= c > 0, so "
                f"sum w_t < oo: f -> 0 and lam converges")


def trap_lemma(rmap: ReducedMap) -> TrapLemma:
    """The monotone trap of :func:`uw_form`'s map (see the module docstring), with the invariant taken from
    :func:`catapult.theory.invariants.derive_invariants` (a state invariant with a nonnegative multiplier).

    >>> from catapult.theory import derive
    >>> trap_lemma(derive("deep", depth=3)).reason
    'needs a map of exactly (f, lam) (no extra state)'
    """
    from .invariants import derive_invariants
    m, h = uw_form(rmap)
    if m is None:
        return TrapLemma(reason=h)
    if h.has(W_SYM):
        return TrapLemma(reason="the lam-drift is not affine in w (h depends on w)")
    pos = [r for r in sp.real_roots(sp.Poly(h, U_SYM)) if r > 0] if h.has(U_SYM) else []
    if not pos:
        return TrapLemma(reason="the lam-drift h(u) has no positive root")
    Us = sp.nsimplify(min(pos))
    if not (Us.is_Rational and h.subs(U_SYM, 0) < 0):   # no root in (0, U*) and h(0) < 0: h < 0 on [0, U*)
        return TrapLemma(reason=f"h(u) is not negative on [0, {Us}) (or U* is not rational)")
    for inv in derive_invariants(rmap):
        if inv.kind != "state" or not inv.proved or not inv.multiplier.is_nonnegative:
            continue
        I = sp.expand(inv.expr.subs(lam, U_SYM / eta).subs(f, sp.sqrt(W_SYM * n) / eta))
        if any(p.is_Pow and p.base == W_SYM and not p.exp.is_Integer for p in sp.preorder_traversal(I)):
            continue  # odd in f: not a function of w
        I = sp.factor(I)
        const, core = sp.S.One, sp.S.One
        for fac in sp.Mul.make_args(I):
            if fac.free_symbols & {U_SYM, W_SYM}:
                core *= fac
            else:
                const *= fac
        core = sp.expand(core)
        if not const.is_positive or core.free_symbols - {U_SYM, W_SYM} or sp.degree(core, W_SYM) != 1:
            continue
        cw = core.coeff(W_SYM, 1)
        if cw.free_symbols or not cw < 0:
            continue
        phi = sp.expand(-core.subs(W_SYM, 0) / cw)
        P = sp.expand(U_SYM + phi * h)
        if _nonneg_on(P, Us):
            return TrapLemma(Us, core, eta * lam, eta ** 2 * f ** 2 / n)
    return TrapLemma(reason="no derived invariant confines w <= phi(u) with u + phi(u) h(u) >= 0 on [0, U*]")
