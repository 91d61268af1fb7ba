"""Threshold search against the literature and the exact finite-n onset; and reduced-map iteration.

Oracles typed in here:

* eta_max = 4 / lam0 (Lewkowycz et al. 2020, uv model), measured as the divergence onset at width n.  At eta*lam0 = 4 exactly lam is frozen
  (lam' - lam = (eta f^2/n)(eta lam - 4) = 0) and the orbit stays bounded, for eta*lam0 > 4 lam grows
  and the run diverges: the numerical threshold is 4 at every width.
* loss-rise onset (squared loss): the loss rises at step 1 iff |1 - eta lam0 + eta^2 f0^2 / n| > 1, i.e. (below the far root
  n lam0 / f0^2) iff eta exceeds the smaller root of (f0^2/n) eta^2 - lam0 eta + 2 = 0,
  eta_c = 4 / (lam0 + sqrt(lam0^2 - 8 f0^2/n)).  Below it |f| and lam only decrease, so the loss
  never rises later either: the finite-horizon onset is exactly eta_c.
"""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import example, HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.errors import NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.models import UVModel
from catapult.numerics.reduced import iterate_map
from catapult.numerics.search import (ALIASES, NotMeasured, default_grid, diverges, locate, output_loss, rises, scan,
                             stability_threshold)

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _exact_onset_x(model):
    """lam0 * eta_c from f0, lam0 measured by a zero-step run (None if there is no real root)."""
    tr = run_gd(model, squared(), eta_lam0=1, steps=0, backend=get_backend("arb", 60))
    f0, lam0, n = tr.f[0], tr.lam0, model.width
    with mpmath.workdps(60):
        disc = lam0**2 - 8 * f0**2 / n
        if disc < 0:
            return None
        eta_c = 4 / (lam0 + mpmath.sqrt(disc))  # = (lam0 - sqrt(disc)) / (2 f0^2/n), without cancellation
        # it is a root of the quadratic
        assert abs((f0**2 / n) * eta_c**2 - lam0 * eta_c + 2) < mpmath.mpf("1e-50")
        return eta_c * lam0


def _check_scan(width, seed):
    s = scan(UVModel(width, seed), squared(), rtol=1e-6, dps=30, stability=False)
    rise, div = s.loss_rise_onset, s.divergence_onset_at_width
    assert not isinstance(rise, NotMeasured) and not isinstance(div, NotMeasured), s.notes
    x_max = div.eta_lam0
    # the bracket straddles the exact threshold 4 (up to its width) and is rtol-narrow; its midpoint may lie on
    # either side of 4 (a float64 rung that sees 4 - 2e-15 diverge -- rounding at the knife edge -- is overruled
    # by the 30- and 60-digit rungs, whose bracket then straddles 4 from below: n = 370, seed 0)
    assert div.lo <= 4 <= div.hi * (1 + mpmath.mpf("1e-12"))
    assert abs(x_max - 4) <= div.hi - div.lo
    xc = _exact_onset_x(UVModel(width, seed))
    assert xc is not None
    with mpmath.workdps(40):
        assert abs(rise.eta_lam0 / xc - 1) <= mpmath.mpf("1e-5")
        assert rise.lo <= xc * (1 + mpmath.mpf("1e-12")) and xc <= rise.hi * (1 + mpmath.mpf("1e-12"))
        for est in (rise, div):
            assert est.hi - est.lo <= mpmath.mpf(1e-6) * est.hi * (1 + mpmath.mpf("1e-9"))
            assert len(est.precisions) == 2 and est.precisions[0] != est.precisions[1]
            # eta and eta*lam0 are consistent with the measured lam0
            assert abs(est.eta * s.lam0 - est.eta_lam0) <= mpmath.mpf("1e-25") * est.eta_lam0
    return s


@pytest.mark.parametrize("width", [64, 256])
@pytest.mark.parametrize("seed", [0, 1])
def test_scan_thresholds_match_literature_and_exact_onset(width, seed):
    _check_scan(width, seed)


@settings(max_examples=12, **SETTINGS)
@given(width=st.integers(16, 512), seed=st.integers(0, 2**32 - 1))
@example(width=370, seed=0)   # float64 may see 4 - 2e-15 diverge: the higher rungs' bracket holds 4
def test_scan_thresholds_property(width, seed):
    assume(_exact_onset_x(UVModel(width, seed)) is not None)
    _check_scan(width, seed)


@pytest.mark.parametrize("global_dps", [15, 17, 30])
def test_scan_does_not_depend_on_the_global_mpmath_precision(global_dps):
    # the true eta_max*lam0 = 4 sits on a grid point, where float64 and arb disagree by rounding:
    # the search must escalate and still bracket 4, whatever the caller's global precision
    mpmath.mp.dps = global_dps  # restored by the root conftest fixture
    div = scan(UVModel(256, 0), squared(), rtol=1e-6, dps=30, stability=False).divergence_onset_at_width
    assert div.lo <= 4 <= div.hi
    assert div.hi - div.lo <= 1e-6 * div.hi


def test_predicates_on_either_side_of_the_exact_thresholds():
    m = UVModel(128, 3)
    xc = _exact_onset_x(m)
    for B in (get_backend("float64"), get_backend("arb", 30)):
        assert not rises(m, squared(), xc * (1 - mpmath.mpf("1e-7")), B)
        assert rises(m, squared(), xc * (1 + mpmath.mpf("1e-7")), B)
        assert not diverges(m, squared(), 3.999, B)
        assert diverges(m, squared(), 4.001, B)


@pytest.mark.parametrize("name,lo,hi", [("loss_rise_onset", 1.0, 1.5),            # no rise anywhere
                                        ("loss_rise_onset", 2.5, 3.0),            # rises everywhere
                                        ("divergence_onset_at_width", 2.5, 3.5),  # no divergence anywhere
                                        ("divergence_onset_at_width", 4.5, 6.0),  # diverges everywhere
                                        ("eta_max", 5.0, 3.0)])                   # reversed (old name)
def test_locate_on_a_bracket_that_does_not_straddle_raises(name, lo, hi):
    with pytest.raises(NumericsInputError):
        locate(name, UVModel(64, 0), squared(), lo, hi, rtol=1e-3, dps=20)


@pytest.mark.parametrize("kw", [dict(name="eta_min"), dict(name="stability_threshold"), dict(rtol=0), dict(rtol=1),
                                dict(rtol=-1e-3)])
def test_locate_bad_arguments_raise(kw):
    args = dict(name="divergence_onset_at_width", rtol=1e-3)
    args.update(kw)
    name = args.pop("name")
    with pytest.raises(NumericsInputError):
        locate(name, UVModel(64, 0), squared(), 3.5, 4.5, dps=20, **args)


@pytest.mark.parametrize("name", ["divergence_onset_at_width", "eta_max"])
def test_locate_divergence_onset_on_a_straddling_bracket(name):
    est = locate(name, UVModel(100, 2), squared(), 3.5, 4.5, rtol=1e-8, dps=20)
    assert est.name == "divergence_onset_at_width" == ALIASES["eta_max"]  # an old name measures the same criterion
    assert est.lo <= 4 <= est.hi * (1 + 1e-12)
    assert est.hi - est.lo <= 1e-8 * est.hi * (1 + 1e-9)


@settings(max_examples=40, **SETTINGS)
@given(lo=st.floats(0.01, 10.0), span=st.floats(1.0, 5000.0), per_octave=st.integers(1, 8))
def test_default_grid_is_geometric(lo, span, per_octave):
    hi = lo * span
    g = default_grid(lo, hi, per_octave)
    r = mpmath.mpf(2) ** (mpmath.mpf(1) / per_octave)
    assert g[0] == lo
    for a, b in zip(g, g[1:]):
        assert abs(b / a - r) <= 1e-12 * r
    assert g[-1] <= hi * (1 + 1e-12)
    assert g[-1] * r > hi * (1 + 1e-12) * (1 - 1e-12)


def test_default_grid_default_contains_the_literature_thresholds():
    g = default_grid()
    for target in (2, 4):
        assert min(abs(x - target) for x in g) < 1e-12


# ---------------------------------------------------------------------------------------------
# reduced-map iteration
# ---------------------------------------------------------------------------------------------

def test_iterate_map_stops_on_inf():
    # x -> x^2 in float64 from 10: 10^(2^t) overflows to inf at t = 9 (10^512 > 1.8e308 > 10^256)
    out = iterate_map(lambda s: {"x": float(s["x"]) * float(s["x"])}, {"x": 10}, steps=100)
    assert len(out) == 10
    assert all(mpmath.isfinite(s["x"]) for s in out[:-1])
    assert out[-1]["x"] == mpmath.inf
    assert abs(out[8]["x"] / mpmath.mpf(10) ** 256 - 1) < 1e-13


def test_iterate_map_stops_on_nan_in_any_component():
    def step(s):
        return {"a": s["a"] + 1, "b": float("nan") if s["a"] >= 4 else s["b"]}
    out = iterate_map(step, {"a": 0, "b": 1}, steps=50)
    assert len(out) == 6 and mpmath.isnan(out[-1]["b"]) and out[-1]["a"] == 5


def test_iterate_map_respects_until():
    seen = []

    def until(t, s):
        seen.append((t, s["x"]))
        return s["x"] > 1000

    out = iterate_map(lambda s: {"x": 2 * s["x"]}, {"x": 1}, steps=100, until=until)
    # 2^t > 1000 first at t = 10
    assert len(out) == 11 and out[-1]["x"] == 1024
    assert [t for t, _ in seen] == list(range(1, 11))
    assert all(x == out[t]["x"] for t, x in seen)


def test_iterate_map_budget_and_precision():
    mpmath.mp.dps = 15
    # Newton for sqrt(2) at 60 digits: quadratic convergence, 8 steps from 1 suffice
    out = iterate_map(lambda s: {"x": (s["x"] + 2 / s["x"]) / 2}, {"x": 1}, steps=8, dps=60)
    assert len(out) == 9
    with mpmath.workdps(80):
        assert abs(out[-1]["x"] - mpmath.sqrt(2)) < mpmath.mpf("1e-58")
    assert mpmath.mp.dps == 15


def test_iterate_map_reproduces_parameter_gd():
    # the literature's (f, lam) map iterated from the measured (f0, lam0) follows parameter GD
    n, x = 256, 3.0
    tr = run_gd(UVModel(n, 1), squared(), eta_lam0=x, steps=40, gtol=0, backend=get_backend("arb", 60))
    eta = tr.eta

    def step(s):
        f, lam = s["f"], s["lam"]
        return {"f": (1 - eta * lam + eta**2 * f**2 / n) * f, "lam": lam + eta * f**2 / n * (eta * lam - 4)}

    out = iterate_map(step, {"f": tr.f[0], "lam": tr.lam0}, steps=40, dps=80)
    assert len(out) == 41
    with mpmath.workdps(80):
        fmax = max(abs(f) for f in tr.f)
        for t in range(41):
            assert abs(out[t]["f"] - tr.f[t]) <= mpmath.mpf("1e-35") * fmax, t
            assert abs(out[t]["lam"] - tr.lam[t]) <= mpmath.mpf("1e-35") * tr.lam[t], t


# ---------------------------------------------------------------------------------------------
# the linear stability threshold of the minimum (issue #9): a different criterion from the loss-rise onset
# ---------------------------------------------------------------------------------------------

def _logistic(p, n, seed):
    import sympy as sp
    from catapult.verify.degenerate import DegenerateData
    return DegenerateData.equal(sp.Rational(p)).numeric(n, seed)


@pytest.mark.parametrize("p,seed", [("3/10", 1), ("7/10", 0)])
def test_logistic_stability_threshold_is_two_over_the_curvature_at_the_minimiser(p, seed):
    # Meng et al.: for 1-D data of equal magnitudes GD on the logistic loss is stable below 2/lam_H, lam_H the
    # curvature at the minimiser; F* = log(p/(1-p)) and L''(F*) = p(1-p) (mean of the per-sample losses)
    n, rtol = 256, 1e-6
    model, nl = _logistic(p, n, seed)
    est = stability_threshold(model, nl, rtol=rtol, dps=30)
    q = mpmath.mpf(eval(p))
    e = est.extra
    assert abs(e["f_star"] - mpmath.log(q / (1 - q))) < 1e-9
    assert abs(e["curvature_at_f_star"] - q * (1 - q)) < 1e-9
    assert abs(e["eta_h_star"] - 2) <= 2 * rtol * 2          # eta lam* l''(f*) = 2 to the bracket's width
    assert len(est.precisions) == 2 and est.precisions[0] != est.precisions[1]
    assert est.hi - est.lo <= rtol * est.hi * (1 + 1e-9)
    # leading order in 1/n: lam* = lam0 + O(1/n), so eta lam0 -> 2/(p(1-p)) = 200/21
    assert abs(est.eta_lam0 / (2 / (q * (1 - q))) - 1) <= 8 / n


def test_logistic_loss_rises_below_the_stability_threshold():
    # issue #9: the first steps from f0 (far from f* != 0) are nonlinear, so the loss can rise although the
    # minimum is linearly stable -- the loss-rise onset is not the linear stability threshold
    model, nl = _logistic("3/10", 256, 1)
    for B in (get_backend("float64"), get_backend("arb", 30)):
        assert rises(model, nl, 9.3, B)
    est = stability_threshold(model, nl, rtol=1e-5, dps=30)
    assert est.lo > 9.3


@pytest.mark.parametrize("width,seed", [(64, 0), (256, 3)])
def test_squared_loss_stability_threshold_is_two_over_the_ntk_at_the_minimum(width, seed):
    # Lewkowycz et al.: eta_crit = 2/lam for the squared loss (l'' = 1), at the minimum's own lam*
    est = stability_threshold(UVModel(width, seed), squared(), rtol=1e-6, dps=30)
    assert abs(est.extra["eta_lam_star"] - 2) <= 4e-6
    assert est.extra["curvature_at_f_star"] == pytest.approx(1, abs=1e-12)
    assert abs(est.extra["f_star"]) < 1e-9                   # the minimiser of f^2/2


def test_stability_threshold_without_a_minimiser_says_so():
    from catapult.numerics.losses import NumericLoss
    loss = NumericLoss("exp(-f)", lambda x: mpmath.exp(-x), lambda x: -mpmath.exp(-x))
    r = stability_threshold(UVModel(64, 1), loss, rtol=1e-4, dps=20)
    assert isinstance(r, NotMeasured) and r.criterion == "linear stability threshold"
    assert r.reason.startswith("the loss has no minimiser (l' never 0)")
    assert r.to_json()["eta"] is None


def test_output_loss_of_data_on_a_line_matches_the_per_sample_mean():
    # f(x_a) = x_a F for the uv model on 1-D inputs (probe x = 1): L(F) = mean_a l_a(x_a F)
    from catapult.numerics.losses import DataLoss
    from catapult.numerics.models import UVDataModel
    model = UVDataModel(8, [[1.0], [-1.0], [1.0]], seed=0, probe=[1.0])
    loss = DataLoss([squared(1), squared(-1), squared(0)])
    value, slope = output_loss(model, loss, None)
    F = 0.75
    assert value(F) == pytest.approx(((F - 1) ** 2 + (-F + 1) ** 2 + F**2) / 6, rel=1e-15)
    assert slope(F) == pytest.approx(((F - 1) + (-1) * (-F + 1) + F) / 3, rel=1e-15)


def test_stability_threshold_of_several_samples_is_two_over_the_top_ntk_eigenvalue_at_the_minimum():
    # m = 3 samples in d = 2, squared loss: the parameter Hessian at a minimum is J^T J / m, whose top eigenvalue
    # is that of the NTK matrix Theta* = J J^T / m (measured independently by model.observe + numpy).  Several
    # modes: a perturbation just above the threshold grows, saturates and catapults to a flatter minimum within
    # the horizon, so growth must be caught before that (a verdict on the end state alone gave eta lam_1 = 4).
    import numpy as np
    from catapult.numerics.models import StartedAt
    from catapult.numerics.search import warm_minimum
    from catapult.verify.catalogue.samples import problem
    X, Y = np.array([[1.0, 0.5], [0.25, -1.0], [0.5, 0.75]]), np.zeros(3)
    model, L = problem(X, Y, 64, 0)
    est = stability_threshold(model, L, rtol=1e-6, dps=30)
    w, _ = warm_minimum(model, L)
    B = get_backend("float64")
    lam_1 = max(np.linalg.eigvalsh(np.array(model.observe(StartedAt(model, w.theta).init(B), B)["ntk"], float)))
    assert abs(float(est.eta) * lam_1 - 2) <= 4e-6
    assert est.extra["h_star"] is None  # not a loss of one output: lam* l''(f*) is not defined
