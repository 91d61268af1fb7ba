"""Tests of the derived critical learning rates (catapult.theory.thresholds / catapult.theory.derive_thresholds).

Oracles typed here:
* Lewkowycz et al. (2020): mse, uv model: eta_crit = 2/lam0, eta_max = 4/lam0.
* Linear stability at a minimum f* of l: the infinite-width map f' = f - eta*lam0*l'(f)
  has multiplier 1 - eta*lam0*l''(f*), so eta_crit = 2/(lam0*l''(f*)).  Hence
  c*(f-1)**2/2 -> 2/(c*lam0);  logistic with class fraction p -> minimiser log(p/(1-p)),
  l''(f*) = p*(1-p), eta_crit = 2/(lam0*p*(1-p)) (Meng et al.: period doubling above it).
* eta_max of c*(f-1)**2/2: the lam-drift is (eta*g/n)(eta*g*lam - 4 f) with g = c(f-1); for
  |f| -> oo its sign is that of eta*c*lam - 4: eta_max = 4/(c*lam0).
* Independent numerics: iterating the linearised (infinite-width) map and the exact finite-width
  literature map on either side of the derived thresholds (Theorem 1 of Lewkowycz et al.).
"""

import functools
import json
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import catapult.theory
from catapult.theory.symbols import SYMBOLS, lam0, p

LOGISTIC = "p*log(1+exp(-f))+(1-p)*log(1+exp(f))"


@functools.lru_cache(maxsize=None)
def thr(loss):
    return catapult.theory.thresholds("uv", loss)


def is_zero(expr):
    return sp.simplify(expr) == 0


# ----------------------------------------------------------------- symbolic values

def test_mse_thresholds_are_lewkowycz():
    t = thr("mse")
    assert sp.simplify(t.eta_crit.value - 2 / lam0) == 0
    assert sp.simplify(t.eta_max.value - 4 / lam0) == 0
    assert t.eta_crit.value == 2 / lam0 and t.eta_max.value == 4 / lam0
    assert t.minimisers == [0]


def test_derive_thresholds_function_agrees():
    t = catapult.theory.derive_thresholds(catapult.theory.uv_model(), catapult.theory.mse())
    assert t.eta_crit.value == 2 / lam0 and t.eta_max.value == 4 / lam0


def test_mse_symbolic_label_same_thresholds():
    t = catapult.theory.thresholds("uv", catapult.theory.mse("y"))
    assert is_zero(t.eta_crit.value - 2 / lam0)
    assert is_zero(t.eta_max.value - 4 / lam0)
    assert t.minimisers == [SYMBOLS["y"]]


def test_logcosh_eta_crit_only():
    t = thr("log(cosh(f-1))")
    assert is_zero(t.eta_crit.value - 2 / lam0)  # l''(1) = 1/cosh(0)**2 = 1
    assert t.eta_max.value is None
    assert t.eta_max.reason  # a None comes with a reason
    assert t.minimisers == [1]


def test_logistic_symbolic_p():
    t = thr(LOGISTIC)
    assert is_zero(t.eta_crit.value - 2 / (lam0 * p * (1 - p)))
    assert len(t.minimisers) == 1
    assert is_zero(t.minimisers[0] - sp.log(p / (1 - p)))
    assert t.eta_max.value is None
    assert any("p" in a and "1" in a for a in t.assumptions)  # 0 < p < 1 is stated


def test_logistic_minimiser_and_curvature_independently():
    # the oracle itself: l'(log(p/(1-p))) = 0, l'' there = p(1-p)
    f = SYMBOLS["f"]
    L = p * sp.log(1 + sp.exp(-f)) + (1 - p) * sp.log(1 + sp.exp(f))
    fs = sp.log(p / (1 - p))
    assert is_zero(sp.diff(L, f).subs(f, fs))
    assert is_zero(sp.diff(L, f, 2).subs(f, fs) - p * (1 - p))


def test_exp_has_no_minimiser():
    t = thr("exp(-f)")
    assert t.eta_crit.value is None
    assert "minimiser" in t.eta_crit.reason or "minimizer" in t.eta_crit.reason
    assert "no" in t.eta_crit.reason
    assert t.minimisers == []


def test_quartic_degenerate_minimum():
    t = thr("f**4/4")
    assert t.eta_crit.value is None
    assert t.eta_crit.reason
    assert t.minimisers == []  # f = 0 has l'' = 0: not a non-degenerate minimiser


def test_double_well_curvature():
    # (f^2-1)^2/4: minima at +-1 with l'' = 3f^2 - 1 = 2 -> eta_crit = 1/lam0
    t = thr("(f**2-1)**2/4")
    assert is_zero(t.eta_crit.value - 1 / lam0)
    assert sorted(t.minimisers) == [-1, 1]


def test_maximum_is_not_a_minimiser():
    t = thr("-(f-1)**2/2")
    assert t.eta_crit.value is None
    assert t.minimisers == []


pos_rationals = st.fractions(min_value=Fraction(1, 9), max_value=9, max_denominator=9).filter(lambda c: c > 0)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(pos_rationals)
@example(Fraction(1))
@example(Fraction(3))
@example(Fraction(2, 7))
def test_scaled_squared_loss(c):
    c = sp.Rational(c.numerator, c.denominator)
    t = thr(f"{c}*(f-1)**2/2")
    assert is_zero(t.eta_crit.value - 2 / (c * lam0))
    assert is_zero(t.eta_max.value - 4 / (c * lam0))
    assert t.minimisers == [1]


# ----------------------------------------------------------------- values / JSON

def test_values_evaluate():
    v = thr("mse").values(lam0_value=2)
    assert v["eta_crit"] == pytest.approx(1.0, rel=1e-15)
    assert v["eta_max"] == pytest.approx(2.0, rel=1e-15)
    v = thr("log(cosh(f-1))").values(lam0_value=sp.Rational(1, 2))
    assert v["eta_crit"] == pytest.approx(4.0, rel=1e-15) and v["eta_max"] is None


def test_values_with_loss_parameter():
    v = thr(LOGISTIC).values(lam0_value=2, p=sp.Rational(7, 10))
    assert float(v["eta_crit"]) == pytest.approx(2 / (2 * 0.7 * 0.3), rel=1e-12)
    assert v["eta_max"] is None


def test_to_json_keys():
    t = thr("mse")
    d = t.to_json()
    assert {"eta_crit", "eta_max", "assumptions"} <= set(d)
    assert d["values"] is None  # one schema: the key is always there, null without lam0
    json.loads(json.dumps(d))
    assert sp.sympify(d["eta_crit"], locals=SYMBOLS) == 2 / lam0
    assert sp.sympify(d["eta_max"], locals=SYMBOLS) == 4 / lam0
    assert isinstance(d["assumptions"], list) and d["assumptions"]
    d2 = t.to_json(lam0_value=2)
    assert d2["values"] is not None
    assert d2["values"]["eta_crit"] == pytest.approx(1.0) and d2["values"]["eta_max"] == pytest.approx(2.0)
    json.loads(json.dumps(d2))


def test_to_json_none_thresholds():
    d = thr("exp(-f)").to_json(lam0_value=3)
    assert d["eta_crit"] is None and d["eta_max"] is None
    assert d["values"] == {"eta_crit": None, "eta_max": None}
    json.loads(json.dumps(d))


def test_latex():
    assert r"\lambda_0" in thr("mse").latex()


# ----------------------------------------------------------------- independent numerics: eta_crit

def _linear_iterate(c, eta_lam0, f0=Fraction(3, 2), steps=40):
    """Infinite-width map of c*(f-1)^2/2: f' = f - eta*lam0*c*(f-1), in exact rationals."""
    fv = f0
    for _ in range(steps):
        fv = fv - eta_lam0 * c * (fv - 1)
    return fv


@settings(max_examples=20, deadline=None, derandomize=True)
@given(pos_rationals, st.fractions(min_value=Fraction(1, 2), max_value=Fraction(5, 2), max_denominator=20))
@example(Fraction(1), Fraction(1))       # eta*lam0 = 2: neutral
@example(Fraction(1), Fraction(2))       # eta*lam0 = 4
@example(Fraction(1), Fraction(19, 20))
@example(Fraction(1), Fraction(21, 20))
def test_eta_crit_is_linear_stability_boundary(c, ratio):
    """eta = ratio * eta_crit (derived): contraction of |f - f*| iff ratio < 1, neutral at 1."""
    csp = sp.Rational(c.numerator, c.denominator)
    t = thr(f"{csp}*(f-1)**2/2")
    lam0_val = Fraction(2)
    ec = t.eta_crit.value.subs(lam0, 2)
    eta_lam0 = ratio * Fraction(int(sp.numer(ec)), int(sp.denom(ec))) * lam0_val
    d0 = abs(Fraction(3, 2) - 1)
    dT = abs(_linear_iterate(c, eta_lam0) - 1)
    if ratio < 1:
        assert dT < d0
    elif ratio == 1:
        assert dT == d0
    else:
        assert dT > d0


@pytest.mark.parametrize("ratio, converges", [(0.95, True), (0.8, True), (1.05, False), (1.3, False)])
def test_logistic_eta_crit_period_doubling(ratio, converges):
    """Meng et al.: f' = f - eta*lam0*l'(f) converges to f* below 2/(lam0 l''(f*)); period doubling above."""
    mpmath.mp.dps = 30
    pv = mpmath.mpf(7) / 10
    lam0v = mpmath.mpf(2)
    ec = thr(LOGISTIC).eta_crit.value.subs({lam0: 2, p: sp.Rational(7, 10)})
    et = mpmath.mpf(str(sp.N(ec, 30))) * ratio
    fstar = mpmath.log(pv / (1 - pv))

    def slope(x):
        return -pv / (1 + mpmath.exp(x)) + (1 - pv) / (1 + mpmath.exp(-x))

    fv = fstar + mpmath.mpf("0.05")
    for _ in range(3000):
        fv = fv - et * lam0v * slope(fv)
    if converges:
        assert abs(fv - fstar) < mpmath.mpf("1e-20")
    else:
        assert abs(fv - fstar) > mpmath.mpf("1e-3")


# ----------------------------------------------------------------- independent numerics: finite-width map

def _run_literature(eta_lam0, nn, label=0, c=1, f0=1.0, lam0v=2, steps=4000):
    """Exact uv map for c*(f-label)^2/2 (typed here), mpmath; returns ('conv', lam) or ('div', t)."""
    mpmath.mp.dps = 30
    et = mpmath.mpf(eta_lam0) / lam0v
    fv, lv = mpmath.mpf(f0), mpmath.mpf(lam0v)
    for t in range(steps):
        g = c * (fv - label)
        fv, lv = fv - et * g * lv + et**2 * g**2 * fv / nn, lv - 4 * et * g * fv / nn + et**2 * g**2 * lv / nn
        if abs(fv) > 1e40:
            return "div", t
        if abs(fv - label) < 1e-18:
            return "conv", lv
    return "undecided", lv


@pytest.mark.parametrize("nn", [1000, 10000])
def test_mse_phases_around_derived_thresholds(nn):
    """Theorem 1 (Lewkowycz et al.): lazy below eta_crit, catapult (lam_inf <= 2/eta) between, divergence above eta_max."""
    t = thr("mse")
    lam0v = 2
    ec = float(t.eta_crit.value.subs(lam0, lam0v))
    em = float(t.eta_max.value.subs(lam0, lam0v))
    # lazy: lam barely moves (O(1/n))
    kind, lam_inf = _run_literature(0.9 * ec * lam0v, nn)
    assert kind == "conv" and abs(lam_inf - lam0v) < 20.0 / nn
    # catapult: converges, with the curvature pushed below 2/eta
    for r in (1.1, 1.5, 0.95 * em / ec):
        eta_v = r * ec
        kind, lam_inf = _run_literature(eta_v * lam0v, nn)
        assert kind == "conv", r
        assert lam_inf <= 2 / eta_v, r
        assert lam_inf < lam0v - 0.05
    # divergent above eta_max
    kind, _ = _run_literature(1.05 * em * lam0v, nn)
    assert kind == "div"


def test_scaled_loss_finite_width_eta_max():
    c = sp.Rational(3)
    t = thr(f"{c}*(f-1)**2/2")
    em = float(t.eta_max.value.subs(lam0, 2))
    assert _run_literature(0.9 * em * 2, 4000, label=1, c=3, f0=1.5)[0] == "conv"
    assert _run_literature(1.1 * em * 2, 4000, label=1, c=3, f0=1.5)[0] == "div"


def test_logistic_float_coefficients():
    t = catapult.theory.thresholds("uv", "0.7*log(1+exp(-f))+0.3*log(1+exp(f))")
    val = float(t.eta_crit.value.subs(lam0, 2))
    assert val == pytest.approx(2 / (2 * 0.7 * 0.3), rel=1e-9)


# ----------------------------------------------------------------- a model whose map does not close on (f, lam)

def _q_model():
    """f = (|u|^2 - n) / (2 sqrt(n)), u in R^n: the map needs |u|^2 as state (it does not close on (f, lam))."""
    from catapult.theory.gram import VectorModel
    from catapult.theory.symbols import n
    return VectorModel("q", ("u",), lambda G: (G["u", "u"] - n) / (2 * sp.sqrt(n)))


def _q_gd_loss(eta_v, nn, steps=3000, eps=1e-3, seed=0):
    """Plain GD on u in R^n for l = f^2/2, written here: grad_u l = f grad f = f u / sqrt(n).

    Warm start near the minimum |u|^2 = n: a Gaussian direction scaled to |u|^2 = n (1 + eps).
    Returns (first loss, last loss) at 30 digits.
    """
    import numpy as np
    with mpmath.workdps(30):
        z = np.random.default_rng(seed).standard_normal(nn)
        u = [mpmath.mpf(float(x)) for x in z]
        scale = mpmath.sqrt(nn * (1 + mpmath.mpf(eps)) / mpmath.fsum(x * x for x in u))
        u = [x * scale for x in u]
        sq = mpmath.sqrt(nn)
        losses = []
        for _ in range(steps):
            fv = (mpmath.fsum(x * x for x in u) - nn) / (2 * sq)
            losses.append(fv**2 / 2)
            if losses[-1] > 1e10:
                break
            u = [x - eta_v * fv * x / sq for x in u]
        return losses[0], losses[-1]


def test_eta_crit_of_a_model_not_closing_on_f_lam_is_two_over_the_ntk_at_the_minimum():
    """Issue #9: the derivation gave n/uu (~1); linear stability needs 2/lam*, with lam* = |grad f|^2 = |u|^2/n = 1 on
    the whole minimum manifold |u|^2 = n (by hand: grad_u f = u/sqrt(n))."""
    from catapult.theory.loss import mse
    t = catapult.theory.derive_thresholds(_q_model(), mse())
    lam_star = 1  # |u|^2 / n at |u|^2 = n
    assert t.eta_crit.value == sp.Integer(2) / lam_star
    assert t.eta_crit.label == "exact"
    assert t.minimisers == [0]


@pytest.mark.parametrize("nn", [16, 64])
def test_q_model_gd_converges_below_and_not_above_the_derived_eta_crit(nn):
    from catapult.theory.loss import mse
    ec = float(catapult.theory.derive_thresholds(_q_model(), mse()).eta_crit.value)
    first, last = _q_gd_loss(0.95 * ec, nn)
    assert last < mpmath.mpf("1e-40") * first or last == 0  # contraction by |1 - 0.95 * 2| = 0.9 per step
    first, last = _q_gd_loss(1.05 * ec, nn)
    assert last > first  # the minimum repels (|1 - 2.1| = 1.1): GD leaves the neighbourhood and does not return


def test_q_model_labelled_eta_crit_uses_the_ntk_on_the_shifted_manifold():
    """With a label y the minimum manifold is |u|^2 = n + 2 y sqrt(n), where lam* = 1 + 2y/sqrt(n)."""
    from catapult.theory.loss import mse
    from catapult.theory.symbols import n
    y = SYMBOLS["y"]
    t = catapult.theory.derive_thresholds(_q_model(), mse("y"))
    assert is_zero(t.eta_crit.value - 2 / (1 + 2 * y / sp.sqrt(n)))


def test_thresholds_api_takes_logistic_and_deep():
    """Issue #9: the API refused "logistic" and "deep". Linear stability (typed above): 2/(lam0 p (1 - p)), for the
    uv model and for every depth (the deep reduced map's multiplier is 1 - eta lam l''(f*))."""
    t = catapult.theory.thresholds("uv", "logistic")
    assert is_zero(t.eta_crit.value - 2 / (lam0 * p * (1 - p)))
    P = sp.Rational(7, 10)
    assert is_zero(catapult.theory.thresholds("uv", "logistic", p="7/10").eta_crit.value - 2 / (lam0 * P * (1 - P)))
    td = catapult.theory.thresholds("deep", "logistic", p="7/10", depth=3)
    assert is_zero(td.eta_crit.value - 2 / (lam0 * P * (1 - P)))
    assert td.eta_max.value is None and td.eta_max.reason
    with pytest.raises(catapult.theory.TheoryInputError, match="depth=L"):
        catapult.theory.thresholds("deep")
    with pytest.raises(catapult.theory.TheoryInputError, match="no parameter p"):
        catapult.theory.thresholds("uv", "mse", p="1/2")
