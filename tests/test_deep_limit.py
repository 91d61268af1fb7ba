"""The width dependence of the deep-linear divergence threshold (catapult.theory.deep width_scaling,
limit_multipliers, lambda_drift; catapult.verify.deep_limit)."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings, strategies as st

from catapult.theory.deep import lambda_drift, limit_multipliers, width_scaling
from catapult.theory.symbols import eta
from catapult.verify.catalogue.deep_limit import _gd_drift
from catapult.verify.deep_band import verdicts
from catapult.verify.deep_limit import band_limit, confirm_witness, limit_verdict, phase_picture

X = sp.Symbol("x")


@pytest.mark.parametrize("L", [2, 3, 4])
def test_width_enters_only_through_f0_over_sqrt_n(L):
    assert width_scaling(L, points=2, seed=L) == [0, 0]


@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_limit_fixed_point_has_one_unstable_multiplier(L):
    # GD at a zero-residual point: Jacobian I - eta grad f grad f^T has eigenvalues 1 and 1 - eta |grad f|^2
    ev = limit_multipliers(L)
    assert ev == {sp.Integer(1): 4 * (L - 1) - 1, 1 - L * eta: 1}


def test_uv_drift_is_lewkowycz():
    # Lewkowycz et al. (2020): lam_{t+1} - lam_t = (eta f_t^2 / n)(eta lam_t - 4)
    D, zero = lambda_drift(2)
    assert sp.expand(D - (X - 4)) == 0 and zero == 4


@pytest.mark.parametrize("L", [3, 4])
def test_deep_drift_zero_below_four_and_matches_full_width_gd(L):
    D, zero = lambda_drift(L)
    assert zero < 4
    n = 1024
    for x in (zero - sp.Rational(1, 20), zero + sp.Rational(1, 20)):
        f0, lam0, dl = _gd_drift(L, n, float(x), seed=2)
        assert abs(lam0 - L) < 1e-12
        pred = float(x) / lam0 * f0 ** 2 / n * float(D.subs(X, x))
        assert np.sign(dl) == np.sign(pred)
        # next order: O((1 + f0^2)/n) relative to the size of the two terms of D (not to their near-cancelling sum)
        c1, c0 = sp.Poly(D, X).all_coeffs()
        scale = float(x) / lam0 * f0 ** 2 / n * float(abs(c1) * x + abs(c0))
        assert abs(dl - pred) <= 5.0 * (1 + f0 ** 2) / n * scale


@settings(max_examples=15, deadline=None)
@given(x=st.floats(2.3, 12.0), psi=st.floats(0.0, 1.0, exclude_max=True))
@example(x=4.0 - 1e-6, psi=0.3)
@example(x=4.0 + 1e-6, psi=0.7)
def test_uv_limit_verdict_is_the_sign_of_eta_lam_minus_4(x, psi):
    # x = 4 itself is the knife edge: the exact lam-drift eta g^2 (eta lam - 4) vanishes there (divergent in exact
    # arithmetic, eta >= 4/lam0), and the float64 verdict depends on how eta*lam rounds -- not asserted
    assume(abs(x - 4) > 1e-9)
    assert limit_verdict(2, x, psi) is (x > 4)


def test_one_step_is_a_symmetry_of_the_phase():
    # psi -> psi + 1 is one growth step (g -> (1 - x) g, sign flip): same verdicts away from edges
    xs, ps = np.linspace(4.6, 9.0, 45), np.arange(12) / 12
    a = phase_picture(3, xs, ps, K=40)
    b = phase_picture(3, xs, ps, K=41)
    assert np.mean(a == b) >= 0.98


def test_limit_map_decides_wide_networks():
    L = 4
    xs, ps = np.linspace(4.5, 12.0, 30), np.arange(8) / 8
    code = phase_picture(L, xs, ps)
    X_, P = np.meshgrid(xs, ps)
    k = np.round(14 * np.log(10) / (2 * np.log(X_ - 1)))
    v, _ = verdicts(L, ((X_ - 1) ** (2 * (k - P))).ravel(), X_.ravel())
    assert np.mean(v.reshape(X_.shape) == code) >= 0.99


def test_band_ends_for_depth_three_are_witnessed_and_inside_finite_width_data():
    lo = band_limit(3, "lo", levels=4, confirm=(30,))
    hi = band_limit(3, "hi", levels=4, confirm=(30,))
    assert lo.precisions == ["float64", "mp30"] and hi.precisions == ["float64", "mp30"]
    assert 4 < lo.x < hi.x
    # the finite-width probes (isometric, n = 200..800): divergence starts between 5.19 and 5.6
    assert lo.x < 5.19 and hi.x > 5.6
    # the witnesses themselves: divergent at lo.x, convergent at hi.x, at another precision
    assert confirm_witness(3, "lo", (lo.x, lo.x), lo.witness[1], 40, (60,)) == ["mp60"]
    assert confirm_witness(3, "hi", (hi.x, hi.x), hi.witness[1], 40, (60,)) == ["mp60"]


def test_band_verdicts_in_lockstep_are_the_scalar_verdicts_settled_orbits_included():
    # one stop rule (catapult.verify.deep_band.band_rule) for both loops: same verdict, same deciding step
    from catapult.numerics.stop import Stop
    from catapult.verify.deep_band import orbit
    xs = [1.5, 4.2, 5.2, 5.3, 5.55, 6.5, 7.0]
    codes, when = verdicts(3, 1e8, xs)
    runs = [orbit(3, 1e8, x) for x in xs]
    assert [(int(c), int(t)) for c, t in zip(codes, when)] == [({True: 1, False: 0, None: -1}[r.stop.verdict], r.steps)
                                                              for r in runs]
    assert [r.stop for r in runs].count(Stop.SETTLED) == 3
