"""Deep linear networks under the logistic loss on degenerate data (issue 4, logistic part).

Oracles, all typed here (never imported from theory/ or numerics/):

* The uv map of Lewkowycz et al. (2020) with a slope s = l'(f) (any loss; it is the GD map of the uv model):
      f' = f - eta s lam + eta^2 s^2 f/n,   lam' = lam - 4 eta s f/n + eta^2 s^2 lam/n;
  the depth-2 reduced map must induce exactly this.
* Logistic loss with a fraction p of margins +1: l'(F) = -p/(1+e^F) + (1-p)/(1+e^-F), minimiser
  F* = log(p/(1-p)), curvature l''(F*) = p(1-p) (Meng et al. 2025: lam_H = lam0 p(1-p)), so
  eta_crit = 2/(lam0 p(1-p)) for every depth (the Jacobian at a minimum only sees l''(F*) and lam).
* Explicit data (z, r): l''(F*) = (1/m) sum r_i^2 sigma(r_i F*) sigma(-r_i F*), F* by bisection.
* A depth-L linear net without bias is linear in x: f(x) = x f(1); GD on (1/m) sum l(y_i x_i F) by definition.
* Separable data (Huang et al. 2020; Wu, Braverman & Lee 2023): no minimiser, no catapult -- the loss
  decreases monotonically.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction as Fr

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.deep_data import DeepDataModel, WarmStart
from catapult.numerics.errors import NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import DataLoss, NumericLoss
from catapult.theory.deep import A, C, RHO, derive_deep_map
from catapult.theory.deep_logistic import deep_eta_crit
from catapult.theory.loss import degenerate_logistic, logistic
from catapult.theory.reduce import SLOPE
from catapult.theory.symbols import eta, f, lam, lam0, n
from catapult.verify.catalogue.deep_logistic import compare_map, reduced_divergence
from catapult.verify.degenerate import DegenerateData

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


def typed_logistic_numeric(y):
    """log(1 + exp(-y f)) and its slope, plain float / mpmath arithmetic (typed here)."""
    def value(x):
        return math.log1p(math.exp(-y * x)) if isinstance(x, float) else mpmath.log(1 + mpmath.exp(-y * x))

    def slope(x):
        return -y / (1 + math.exp(y * x)) if isinstance(x, float) else -y / (1 + mpmath.exp(y * x))
    return NumericLoss(f"typed logistic y={y}", value, slope)


@functools.lru_cache(maxsize=None)
def deep_map(L, p):
    return derive_deep_map(L, logistic(p))


# ----------------------------------------------------------------- derived facts

def test_depth2_map_under_any_slope_is_the_uv_map():
    dm = derive_deep_map(2, logistic("7/10"))
    reps = {dm.symbols[k]: v for k, v in dm.update_slope.items()}
    f1, l1 = dm.f.subs(reps, simultaneous=True), dm.lam.subs(reps, simultaneous=True)
    s = SLOPE
    f_or = dm.f - eta * s * dm.lam + eta**2 * s**2 * dm.f / n
    l_or = dm.lam - 4 * eta * s * dm.f / n + eta**2 * s**2 * dm.lam / n
    assert sp.simplify(f1 - f_or) == 0 and sp.simplify(l1 - l_or) == 0
    # and the slope substituted is the logistic l'(f) at the map's own output
    assert sp.simplify(dm.update["a1"] - dm.update_slope["a1"].subs(s, logistic("7/10").d1.subs(f, dm.f))) == 0


@settings(max_examples=3, **SETTINGS)
@given(st.fractions(min_value=Fr(1, 20), max_value=Fr(19, 20)).filter(lambda q: q.denominator <= 40))
@example(Fr(7, 10))
@example(Fr(1, 2))
def test_eta_crit_is_two_over_lam0_p_one_minus_p(p):
    P = sp.Rational(p.numerator, p.denominator)
    for L in (2, 3):
        r = deep_eta_crit(L, logistic(P))
        assert sp.simplify(r.value - 2 / (lam0 * P * (1 - P))) == 0
        assert sp.simplify(r.minimiser - sp.log(P / (1 - P))) == 0
        assert sp.simplify(r.exact_in_lam - 2 / (lam * P * (1 - P))) == 0


def test_eta_crit_depth4_symbolic_p():
    r = deep_eta_crit(4, logistic("p"))
    p = sp.Symbol("p", positive=True)
    assert sp.simplify(r.value - 2 / (lam0 * p * (1 - p))) == 0


def test_at_substitutes_parameters_by_name_whatever_their_assumptions():
    """Issue #9: the loss's y is real (not positive), and at(2, y=2) returned 1/y. For l = y (f - 1)^2/2,
    l''(f*) = y, so eta_crit = 2/(lam0 y) (linear stability, typed here) = 1/2 at lam0 = y = 2."""
    from catapult.theory.loss import Loss
    r = deep_eta_crit(2, Loss.parse("y*(f - 1)**2/2"))
    assert r.at(2, y=2) == sp.Rational(1, 2)
    assert r.at(2, y=0.5) == 2  # a float is taken exactly
    q = deep_eta_crit(2, logistic("p"))
    assert q.at(2, p="1/2") == 4  # 2 / (2 * 1/4)


def test_at_names_a_missing_or_unknown_parameter():
    from catapult.theory.errors import TheoryInputError
    q = deep_eta_crit(2, logistic("p"))
    with pytest.raises(TheoryInputError, match="needs a value for p"):
        q.at(2)
    with pytest.raises(TheoryInputError, match="unknown parameter"):
        q.at(2, p="1/2", q=1)


@pytest.mark.parametrize("z,r", [((1, 1, -1, 1), ("1", "2", "1/2", "3/2")), ((1, -1, -1), ("1", "3", "1/3"))])
def test_eta_crit_explicit_data_matches_the_typed_curvature(z, r):
    def sig(t):
        return 1 / (1 + mpmath.exp(-t))

    with mpmath.workdps(50):
        rs = [mpmath.mpf(Fr(v).numerator) / Fr(v).denominator for v in r]

        def dL(F):  # (1/m) sum -z_i r_i sigma(-z_i r_i F)
            return mpmath.fsum(-zi * ri * sig(-zi * ri * F) for zi, ri in zip(z, rs)) / len(z)
        a, b = mpmath.mpf(-64), mpmath.mpf(64)
        for _ in range(250):
            c = (a + b) / 2
            a, b = (c, b) if dL(c) < 0 else (a, c)
        Fs = (a + b) / 2
        curv = mpmath.fsum(ri**2 * sig(ri * Fs) * sig(-ri * Fs) for ri in rs) / len(z)
        res = deep_eta_crit(3, degenerate_logistic(list(z), [sp.Rational(v) for v in r]))
        assert abs(mpmath.mpf(str(sp.N(res.minimiser, 45))) - Fs) < mpmath.mpf(10) ** -30
        assert abs(mpmath.mpf(str(sp.N(res.at(1), 45))) - 2 / curv) / (2 / curv) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize("z,r", [([1, 1, 1], [1, 2, 3]), ([-1, -1], [1, 1])])
def test_separable_data_have_no_eta_crit(z, r):
    res = deep_eta_crit(3, degenerate_logistic(z, r))
    assert res.value is None and "no minimiser" in res.reason


def test_jacobian_at_a_minimum_has_eigenvalues_one_and_one_minus_eta_lam_curvature():
    """Full Jacobian of the depth-3 map (real logistic slope) at a point with f = F*, numerically."""
    dm = deep_map(3, "7/10")
    Fs = sp.log(sp.Rational(7, 3))
    vals = {eta: sp.Rational(3, 2), n: 16, A: 17, C: 13}
    vals[RHO] = 4 * Fs  # f0 = rho/sqrt(n) = F* at the initial state
    point = {dm.symbols[k]: v.subs(n, 16) for k, v in dm.init.items()}
    Jm = sp.Matrix([dm.update[str(x)] for x in dm.state]).jacobian(dm.state)
    with mpmath.workdps(40):
        J = mpmath.matrix([[mpmath.mpf(str(sp.N(e.subs(vals).subs(point), 45))) for e in row] for row in Jm.tolist()])
        lamv = mpmath.mpf(str(sp.N(dm.lam.subs(vals).subs(point), 45)))
        ev = sorted(mpmath.eig(J)[0], key=lambda z: mpmath.re(z))
        mu = 1 - mpmath.mpf(3) / 2 * lamv * mpmath.mpf(21) / 100
        assert abs(ev[0] - mu) < mpmath.mpf(10) ** -25
        assert all(abs(e - 1) < mpmath.mpf(10) ** -12 for e in ev[1:])  # defective block: ~sqrt(eps) spread
        assert abs(sp.N(dm.f.subs(vals).subs(point), 40) - sp.N(Fs, 40)) < 1e-35


# ----------------------------------------------------------------- numerics: the data model

def test_deep_data_model_one_step_is_gd_by_definition():
    x = np.array([1.0, -2.0, 0.5])
    y = [1, 1, -1]
    m = DeepDataModel(8, 3, x, seed=4)
    loss = DataLoss([typed_logistic_numeric(v) for v in y])
    eta_v = 0.3
    tr = run_gd(m, loss, eta=eta_v, steps=1, backend=get_backend("float64"), gtol=0)
    w1, W, wL = m.net.w1, m.net.W0[0], m.net.wL
    s = 8 ** -1.0  # n^{-(L-1)/2}
    F = s * wL @ W @ w1
    slope = np.mean([xi * (-yi / (1 + math.exp(yi * xi * F))) for xi, yi in zip(x, y)])
    g1, gW, gL = s * W.T @ wL, s * np.outer(wL, w1), s * W @ w1
    w1n, Wn, wLn = w1 - eta_v * slope * g1, W - eta_v * slope * gW, wL - eta_v * slope * gL
    F1 = s * wLn @ Wn @ w1n
    assert abs(float(tr.f[0]) - F) < 1e-12 and abs(float(tr.f[1]) - F1) < 1e-12
    lam0_or = g1 @ g1 + np.sum(gW * gW) + gL @ gL
    assert abs(float(tr.lam0) - lam0_or) < 1e-12 * lam0_or
    assert abs(float(tr.loss[0]) - np.mean([math.log1p(math.exp(-yi * xi * F)) for xi, yi in zip(x, y)])) < 1e-13


def test_deep_data_model_rejects_bad_data():
    with pytest.raises(NumericsInputError):
        DeepDataModel(8, 3, [1.0, float("nan")])
    with pytest.raises(NumericsInputError):
        DeepDataModel(8, 3, [])


@settings(max_examples=2, **SETTINGS)
@given(st.sampled_from(["1/2", "7/10", "3/10"]), st.integers(0, 50), st.sampled_from([1.5, 3.0, 6.0]))
@example("7/10", 1, 3.0)
def test_reduced_map_equals_full_width_gd_under_logistic(p, seed, k):
    d = DegenerateData.equal(p)
    q = float(d.p * (1 - d.p))
    dig, tr = compare_map(d, 3, 16, seed, k / q, steps=20, dps=40)
    assert dig >= 30 and tr.steps == 20


def test_separable_data_loss_is_monotone_on_full_width_gd():
    d = DegenerateData([1, 1, 1], [1, 2, 3])
    for L in (3, 4):
        for xv in (0.5, 5.0, 50.0):
            x, y = d.points(2)
            m = DeepDataModel(16, L, x, seed=2, init="isometric")
            tr = run_gd(m, DataLoss([typed_logistic_numeric(v) for v in y]), eta_lam0=xv, steps=300,
                        backend=get_backend("float64"), gtol=0)
            assert all(b <= a for a, b in zip(tr.loss, tr.loss[1:]))


def test_warm_start_is_near_the_minimum_and_lazy():
    d = DegenerateData.equal("7/10")
    x, y = d.points(0)
    m = DeepDataModel(64, 3, x, seed=0, init="isometric")
    w = WarmStart(m, DataLoss([typed_logistic_numeric(v) for v in y]), eta_lam0=1.0, gtol=1e-8)
    assert abs(w.f_warm - math.log(7 / 3)) < 1e-6  # F* = log(p/(1-p))
    assert w.grad_norm < 1e-8 and abs(w.lam_warm / w.lam_cold - 1) < 0.1


# ----------------------------------------------------------------- the divergence threshold

def test_depth2_divergence_threshold_matches_the_typed_uv_map():
    """The reduced map at L = 2 and the typed uv map (slope l'(f)) diverge at the same eta*lam0."""
    P = mpmath.mpf(7) / 10
    N = 64

    def typed_diverges(x, steps=300):
        with mpmath.workdps(20):
            fv, lv = mpmath.mpf(1), mpmath.mpf(2)  # A = C = n, f0 = 1: lam0 = (A + C)/n = 2
            e = mpmath.mpf(x) / 2
            for _ in range(steps + 1):
                if abs(fv) > 1e8 * mpmath.sqrt(N) or lv > 2e4:
                    return True
                s = -P / (1 + mpmath.exp(fv)) + (1 - P) / (1 + mpmath.exp(-fv))
                fv, lv = fv - e * s * lv + e**2 * s**2 * fv / N, lv - 4 * e * s * fv / N + e**2 * s**2 * lv / N
        return False
    lo, hi = 30.0, 90.0
    assert not typed_diverges(lo) and typed_diverges(hi)
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if typed_diverges(mid) else (mid, hi)
    rlo, rhi = reduced_divergence(derive_deep_map(2, logistic("7/10")), N, 30, 90, rtol=1e-3)
    assert max(lo, float(rlo)) <= min(hi, float(rhi)) * (1 + 2e-3)  # brackets overlap
