"""The logistic loss on degenerate data (Huang et al. 2020 setting): theory, data, parameter GD and the CLI.

Oracles typed here (derived by hand, independent of the code under test):

* Data: m points x_i = s_i r_i on a line, labels y_i, margins z_i = y_i s_i.  For the uv model
  f(x) = n^{-1/2} v.(u x) the output is f(x_i) = x_i F with F = f(1), so the per-sample loss
  log(1 + exp(-y_i f(x_i))) = log(1 + exp(-z_i r_i F)) and the training loss is
      L(F) = (1/m) sum_i log(1 + exp(-z_i r_i F)),
      L'(F) = (1/m) sum_i -z_i r_i / (1 + exp(z_i r_i F)),
      L''(F) = (1/m) sum_i r_i^2 sigma(r_i F) sigma(-r_i F)        (sigma the logistic function).
  L' is increasing; it tends to -(1/m) sum_{z=+1} r_i at F -> -oo and to (1/m) sum_{z=-1} r_i at F -> +oo:
  a finite minimiser exists iff both signs of z occur (non-separable data).
* Equal unit magnitudes with a fraction p of z = +1:  L = p log(1+e^{-F}) + (1-p) log(1+e^{F}),
  F* = log(p/(1-p)), L''(F*) = p(1-p), eta_crit = 2/(lam0 p(1-p)) (Meng et al. 2024/2025: period
  doubling of the infinite-width map F' = F - eta lam0 L'(F) at eta lam0 L''(F*) = 2, global
  convergence below it), sup |L'| = max(p, 1-p).
* GD on u, v with g = L'(F) (u' = u - eta g v/sqrt(n), v' = v - eta g u/sqrt(n)) gives exactly
      f'   = f - eta lam g + eta^2 g^2 f / n,
      lam' = lam - 4 eta g f / n + eta^2 g^2 lam / n,
  and lam^2 - 4 f^2/n is multiplied by (1 - eta^2 g^2/n)^2, which exceeds 1 only if eta |g| > sqrt(2n):
  with sup|g| = G no growth is possible below eta = sqrt(2n)/G (the divergence width scale).
* Bounded L' (logistic) => no width-independent eta_max.
"""

from __future__ import annotations

import functools
import io
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.gd import run_gd
from catapult.numerics.reduced import iterate_map
from catapult.theory import derive_map, derive_thresholds, mse, uv_model
from catapult.theory.errors import TheoryInputError
from catapult.theory.infinite_width import infinite_width
from catapult.theory.loss import degenerate_logistic, logistic
from catapult.theory.symbols import SYMBOLS, eta, f, lam, lam0, n
from catapult.theory.symbols import p as P_SYM
from catapult.theory.thresholds import divergence_scale
from catapult.verify.bridge import map_step
from catapult.verify.cli import main
from catapult.verify.degenerate import DegenerateData
from catapult.verify.strategies import degenerate_data, logistic_p, seeds

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

Fr = Fraction


# ----------------------------------------------------------------- test-side oracles

def logistic_expr(P):
    """The typed-in equal-magnitude logistic loss (sympy), P symbolic or rational."""
    return P * sp.log(1 + sp.exp(-f)) + (1 - P) * sp.log(1 + sp.exp(f))


def mp(q):
    """An exact rational (Fraction / sympy Rational / int) as an mpf at the current precision."""
    q = Fraction(str(q))
    return mpmath.mpf(q.numerator) / q.denominator


def L_data(z, r, F):
    return mpmath.fsum(mpmath.log(1 + mpmath.exp(-zi * mp(ri) * F)) for zi, ri in zip(z, r)) / len(z)


def dL_data(z, r, F):
    return mpmath.fsum(-zi * mp(ri) / (1 + mpmath.exp(zi * mp(ri) * F)) for zi, ri in zip(z, r)) / len(z)


def d2L_data(z, r, F):
    def sig(t):
        return 1 / (1 + mpmath.exp(-t))
    return mpmath.fsum(mp(ri) ** 2 * sig(mp(ri) * F) * sig(-mp(ri) * F) for ri in r) / len(z)


def minimiser_data(z, r, dps=60):
    """F* with L'(F*) = 0 by plain bisection (L' increasing, bracket grown from [-1, 1])."""
    with mpmath.workdps(dps + 10):
        a, b = mpmath.mpf(-1), mpmath.mpf(1)
        while dL_data(z, r, a) > 0:
            a *= 2
        while dL_data(z, r, b) < 0:
            b *= 2
        for _ in range(4 * dps + 40):
            c = (a + b) / 2
            if dL_data(z, r, c) < 0:
                a = c
            else:
                b = c
        return (a + b) / 2


def as_rational(q):
    q = Fraction(str(q))
    return sp.Rational(q.numerator, q.denominator)


@functools.lru_cache(maxsize=None)
def fmap_of(p):
    """The derived map under logistic(p), p a string ("p" or "a/b"); cached across tests."""
    return derive_map(uv_model(), logistic(p))


@functools.lru_cache(maxsize=None)
def thresholds_of(p):
    return derive_thresholds(uv_model(), logistic(p), fmap_of(p))


@functools.lru_cache(maxsize=None)
def scale_of(p):
    return divergence_scale(fmap_of(p))


@functools.lru_cache(maxsize=None)
def width_of(p):
    return infinite_width(fmap_of(p))


@functools.lru_cache(maxsize=None)
def derived_data(z, r):
    return derive_thresholds(uv_model(), degenerate_logistic(list(z), [as_rational(v) for v in r]))


def is_zero(expr):
    return sp.simplify(expr) == 0


PINNED_P = [Fr(1, 2), Fr(7, 10), Fr(1, 12), Fr(11, 12)]


# ----------------------------------------------------------------- theory: the derived map

def test_map_under_symbolic_logistic_is_the_generic_gd_map():
    fm = fmap_of("p")
    g = sp.diff(logistic_expr(P_SYM), f)  # dL/dF, computed here
    f_next = f - eta * lam * g + eta**2 * g**2 * f / n
    lam_next = lam - 4 * eta * g * f / n + eta**2 * g**2 * lam / n
    assert fm.exact
    assert is_zero(fm.update["f"] - f_next)
    assert is_zero(fm.update["lam"] - lam_next)


@settings(max_examples=3, **SETTINGS)
@given(p=logistic_p())
@example(p=Fr(7, 10))
def test_map_under_rational_logistic_is_the_generic_gd_map(p):
    fm = fmap_of(str(p))
    g = sp.diff(logistic_expr(as_rational(p)), f)
    f_next = f - eta * lam * g + eta**2 * g**2 * f / n
    lam_next = lam - 4 * eta * g * f / n + eta**2 * g**2 * lam / n
    # compare at random points at 40 digits (the expressions are large; simplify is not needed for a check)
    rng = np.random.default_rng(0)
    for _ in range(4):
        pt = {f: sp.Rational(int(rng.integers(-40, 40)), 7), lam: sp.Rational(int(rng.integers(1, 50)), 9),
              eta: sp.Rational(int(rng.integers(1, 90)), 5), n: int(rng.integers(1, 500))}
        for got, want in ((fm.update["f"], f_next), (fm.update["lam"], lam_next)):
            a, b = sp.N(got.subs(pt), 40), sp.N(want.subs(pt), 40)
            assert abs(a - b) <= sp.Float("1e-35", 40) * (1 + abs(b))


# ----------------------------------------------------------------- theory: thresholds

def test_symbolic_p_thresholds():
    th, w = thresholds_of("p"), width_of("p")
    p = P_SYM
    assert is_zero(th.eta_crit.value - 2 / (lam0 * p * (1 - p)))
    assert len(th.minimisers) == 1
    assert is_zero(th.minimisers[0] - sp.log(p / (1 - p)))
    # the minimiser is a zero of the test-side slope
    assert is_zero(sp.diff(logistic_expr(p), f).subs(f, th.minimisers[0]))
    assert th.eta_max.value is None  # bounded L': no width-independent eta_max
    assert len(w.flip) == 1 and is_zero(w.flip[0] - th.eta_crit.value)


@settings(max_examples=3, **SETTINGS)
@given(p=logistic_p())
@example(p=Fr(1, 2))
@example(p=Fr(7, 10))
@example(p=Fr(1, 12))
@example(p=Fr(11, 12))
def test_rational_p_thresholds(p):
    th, w = thresholds_of(str(p)), width_of(str(p))
    P = as_rational(p)
    assert th.eta_crit.value == 2 / (lam0 * P * (1 - P))
    assert len(th.minimisers) == 1 and is_zero(th.minimisers[0] - sp.log(P / (1 - P)))
    assert th.eta_max.value is None
    assert w.flip == [th.eta_crit.value]
    # JSON values at lam0 = 1 agree with the formula (through the public to_json contract)
    d = th.to_json(lam0_value=1)
    assert sp.sympify(d["eta_crit"], locals=SYMBOLS) == 2 / (lam0 * P * (1 - P))
    assert d["eta_max"] is None
    assert d["values"]["eta_crit"] == pytest.approx(float(2 / (P * (1 - P))), rel=1e-15)


def test_separable_logistic_has_no_eta_crit():
    th = derive_thresholds(uv_model(), logistic(1))
    assert th.eta_crit.value is None and th.minimisers == []
    assert th.eta_max.value is None
    assert th.eta_crit.reason  # explained, not silently empty
    assert DegenerateData.equal(1).loss().expr == logistic(1).expr


@settings(max_examples=2, **SETTINGS)
@given(d=degenerate_data(separable=True, max_m=2))
@example(d=DegenerateData([1, 1, 1], [1, 2, 3]))
@example(d=DegenerateData([-1, -1], ["1/4", "7/4"]))
@example(d=DegenerateData([-1], ["3/4"]))
def test_separable_degenerate_data_has_no_eta_crit(d):
    th = derived_data(tuple(d.z), tuple(map(str, d.r)))
    assert th.eta_crit.value is None and th.minimisers == []
    assert th.eta_max.value is None


MIXED_PINS = [DegenerateData([1, -1], [1, 2]), DegenerateData([1, -1, -1], ["1/4", "1/2", "3/4"])]


@settings(max_examples=2, **SETTINGS)
@given(d=degenerate_data(separable=False, max_m=2))
@example(d=MIXED_PINS[0])
@example(d=MIXED_PINS[1])
def test_mixed_degenerate_data_minimiser_and_eta_crit(d):
    th = derived_data(tuple(d.z), tuple(map(str, d.r)))
    assert len(th.minimisers) == 1 and th.eta_crit.value is not None and th.eta_max.value is None
    fs = th.minimisers[0]
    fstar = minimiser_data(d.z, d.r)
    with mpmath.workdps(50):
        F = mpmath.mpf(sp.N(fs, 50))
        assert abs(dL_data(d.z, d.r, F)) < mpmath.mpf("1e-30")
        assert abs(F - fstar) < mpmath.mpf("1e-30")
        # eta_crit * lam0 = 2 / L''(F*): the formula (full precision is tested separately below)
        got = mpmath.mpf(sp.N(th.eta_crit.value * lam0, 50))
        want = 2 / d2L_data(d.z, d.r, fstar)
        assert abs(got / want - 1) < mpmath.mpf("1e-14")


@pytest.mark.parametrize("d", MIXED_PINS, ids=["z=(1,-1),r=(1,2)", "z=(1,-1,-1),r=(1/4,1/2,3/4)"])
def test_mixed_degenerate_eta_crit_carries_the_minimisers_precision(d):
    th = derived_data(tuple(d.z), tuple(map(str, d.r)))
    with mpmath.workdps(50):
        got = mpmath.mpf(sp.N(th.eta_crit.value * lam0, 50))
        want = 2 / d2L_data(d.z, d.r, minimiser_data(d.z, d.r))
        assert abs(got / want - 1) < mpmath.mpf("1e-30")


@pytest.mark.parametrize("d", [DegenerateData([1, -1], ["13/4", "15/4"])], ids=["z=(1,-1),r=(13/4,15/4)"])
def test_divergence_scale_of_degenerate_data(d):
    th = derived_data(tuple(d.z), tuple(map(str, d.r)))
    G = max(sum(as_rational(r) for z, r in zip(d.z, d.r) if z == 1),
            sum(as_rational(r) for z, r in zip(d.z, d.r) if z == -1)) / d.m
    assert is_zero(divergence_scale(th.fmap).value - sp.sqrt(2 * n) / G)


@settings(max_examples=3, **SETTINGS)
@given(p=logistic_p())
@example(p=Fr(1, 2))
@example(p=Fr(7, 10))
@example(p=Fr(1, 12))
@example(p=Fr(11, 12))
def test_divergence_scale_equal_magnitudes(p):
    P = as_rational(p)
    got = scale_of(str(p)).value
    assert is_zero(got - sp.sqrt(2 * n) / max(P, 1 - P))


def test_divergence_scale_symbolic_p_and_mse():
    got = scale_of("p").value
    for P in (Fr(1, 2), Fr(1, 3), Fr(4, 5), Fr(99, 100)):
        q = as_rational(P)
        assert is_zero(got.subs(P_SYM, q) - sp.sqrt(2 * n) / max(q, 1 - q))
    assert divergence_scale(derive_map(uv_model(), mse())).value is None


# ----------------------------------------------------------------- theory: infinite width, 2-cycles

def _g(P, x):
    """The infinite-width map F -> F - eta lam0 L'(F) with eta lam0 = x (mpmath, current precision)."""
    Pm, xm = mp(P), mp(x)
    return lambda F: F - xm * (-Pm / (1 + mpmath.exp(F)) + (1 - Pm) / (1 + mpmath.exp(-F)))


def check_two_cycle(p, k):
    """k = eta lam0 p(1-p) > 2: a 2-cycle exists (supercritical period doubling); check it with g typed here."""
    w = width_of(str(p))
    x = k / (p * (1 - p))  # eta * lam0, at lam0 = 1 (exact rational)
    tc = w.two_cycle(eta_value=as_rational(x), lam0_value=1)
    assert tc is not None
    with mpmath.workdps(50):
        a, b = (mpmath.mpf(sp.N(v, 50)) for v in tc)
        g = _g(p, x)
        fstar = mpmath.log(mp(p) / (1 - mp(p)))
        assert abs(g(a) - b) < mpmath.mpf("1e-20")
        assert abs(g(b) - a) < mpmath.mpf("1e-20")
        assert abs(a - b) > mpmath.mpf("1e-6") and abs(a - fstar) > mpmath.mpf("1e-6")  # a genuine 2-cycle


@pytest.mark.parametrize("p", [Fr(1, 2), Fr(7, 10), Fr(1, 3), Fr(1, 12), Fr(11, 12)])
@pytest.mark.parametrize("k", [Fr(201, 100), Fr(3), Fr(6)])
def test_two_cycle_above_the_flip(p, k):
    check_two_cycle(p, k)


@settings(max_examples=8, **SETTINGS)
@given(p=logistic_p(), k=st.fractions(Fr(201, 100), 6, max_denominator=100))
@example(p=Fr(1, 11), k=Fr(243, 46))   # eta lam0 = 29403/460
@example(p=Fr(3, 11), k=Fr(201, 100))  # eta lam0 = 8107/800
def test_two_cycle_above_the_flip_for_any_rational_step(p, k):
    check_two_cycle(p, k)


@settings(max_examples=6, **SETTINGS)
@given(p=logistic_p(), k=st.fractions(Fr(1, 10), 2, max_denominator=100))
@example(p=Fr(1, 2), k=Fr(2))
@example(p=Fr(7, 10), k=Fr(2))
@example(p=Fr(1, 12), k=Fr(199, 100))
def test_no_two_cycle_at_or_below_the_flip(p, k):
    """Meng et al.: global convergence below eta lam0 p(1-p) = 2 (no 2-cycle); at 2 the supercritical
    flip has a cycle of zero amplitude.  A returned pair must be a genuine cycle -- there is none."""
    w = width_of(str(p))
    x = k / (p * (1 - p))
    assert w.two_cycle(eta_value=as_rational(x), lam0_value=1) is None


# ----------------------------------------------------------------- catapult.verify.degenerate

@pytest.mark.parametrize("z, r", [([], []), ([1, 0], [1, 1]), ([1], [0]), ([1, -1], [1, "-1/4"]), ([1, -1], [1])])
def test_degenerate_logistic_rejects_bad_data(z, r):
    with pytest.raises(TheoryInputError):
        degenerate_logistic(z, r)


@pytest.mark.parametrize("p", [0, -1, "6/5"])
def test_logistic_rejects_p_outside_unit_interval(p):
    with pytest.raises(TheoryInputError):
        logistic(p)


@pytest.mark.parametrize("z, r, match", [
    ([], [], "empty"),
    ([1, 0], [1, 1], r"z_i must be \+1 or -1"),
    ([2], [1], r"z_i must be \+1 or -1"),
    (["1/2"], [1], r"z_i must be \+1 or -1"),
    ([1], [0], r"r_i must be > 0"),
    ([1, -1], [1, -1], r"r_i must be > 0"),
    ([1, -1], [1], "same length"),
    ([1], [1, 2], "same length"),
])
def test_degenerate_data_validation(z, r, match):
    with pytest.raises(ValueError, match=match):
        DegenerateData(z, r)


@pytest.mark.parametrize("p", [0, "0", -0.5, 1.2, "3/2", 2])
def test_equal_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match="p must be in"):
        DegenerateData.equal(p)


@pytest.mark.parametrize("p", [1, "1/3", 0.7, Fr(1, 12)])
def test_equal_accepts_p_in_unit_interval(p):
    d = DegenerateData.equal(p)
    q = Fraction(str(p))
    assert d.p == as_rational(q) and d.equal_magnitudes and d.separable == (q == 1)


@settings(max_examples=40, **SETTINGS)
@given(d=degenerate_data(), seed=seeds())
@example(d=DegenerateData([1], [1]), seed=0)
@example(d=DegenerateData([-1, 1], ["1/4", 4]), seed=2**32 - 1)
def test_points_have_the_margins_and_magnitudes(d, seed):
    x, y = d.points(seed)
    assert len(x) == len(y) == d.m
    for xi, yi, zi, ri in zip(x, y, d.z, d.r):
        assert yi in (1, -1)
        assert np.sign(yi * xi) == zi
        assert abs(xi) == ri  # dyadic magnitudes are exact in float64


@settings(max_examples=15, **SETTINGS)
@given(d=degenerate_data(), width=st.integers(1, 64), seed=seeds(), backend=st.sampled_from(["arb", "float64"]))
@example(d=DegenerateData.equal("7/10"), width=64, seed=0, backend="arb")
@example(d=DegenerateData([1, 1, 1], [1, 2, 3]), width=1, seed=0, backend="float64")
@example(d=DegenerateData([1, -1, 1], ["1/4", 4, "3/2"]), width=8, seed=5, backend="arb")
def test_mean_per_sample_loss_is_L_of_the_probe_output(d, width, seed, backend):
    """Numerics trains on points with per-sample losses; the mean at init must be L(F0), F0 = f(1)."""
    model, nl = d.numeric(width, seed)
    B = get_backend(backend, 50) if backend == "arb" else get_backend("float64")
    tr = run_gd(model, nl, eta_lam0=1.0, steps=0, backend=B)
    assert tr.steps == 0 and len(tr.f) == 1
    with mpmath.workdps(60):
        u = [mpmath.mpf(float(a)) for a in model.u0[:, 0]]
        v = [mpmath.mpf(float(a)) for a in model.v0]
        F0 = mpmath.fdot(u, v) / mpmath.sqrt(width)
        lam_0 = (mpmath.fdot(u, u) + mpmath.fdot(v, v)) / width
        want = L_data(d.z, d.r, tr.f[0])
        if backend == "arb":
            assert abs(tr.f[0] - F0) <= mpmath.mpf("1e-45") * (1 + abs(F0))
            assert abs(tr.lam0 - lam_0) <= mpmath.mpf("1e-45") * lam_0
            assert abs(tr.loss[0] - want) <= mpmath.mpf("1e-45")
        else:
            # float64: a few ulps per term; f_a = x_a F0 is rounded (relative 2^-53), so the loss error is
            # bounded by ~1e-15 (1 + max |r_i F0|)
            scale = 1 + max(abs(mp(ri) * tr.f[0]) for ri in d.r)
            assert abs(tr.f[0] - F0) <= mpmath.mpf("1e-14") * (1 + abs(F0)) * mpmath.sqrt(width)
            assert abs(tr.loss[0] - want) <= mpmath.mpf("1e-14") * scale


# ----------------------------------------------------------------- derived map vs parameter GD

def _sup_curvature(d):
    """sup_F L''(F) = L''(0) = (1/m) sum r_i^2 / 4 (exact)."""
    return sum(Fraction(r) ** 2 for r in d.r) / (4 * d.m)


@settings(max_examples=10, **SETTINGS)
@given(d=degenerate_data(), width=st.integers(8, 64), seed=seeds(), k=st.fractions(Fr(1, 4), 3, max_denominator=64))
# eta lam0 p(1-p) = 2 (k = 2 * (1/4) / p(1-p)) and = 3, at the width boundaries
@example(d=DegenerateData.equal("7/10"), width=64, seed=0, k=Fr(2) * Fr(1, 4) / Fr(21, 100))
@example(d=DegenerateData.equal("1/2"), width=8, seed=1, k=Fr(2))
@example(d=DegenerateData.equal("1/2"), width=64, seed=2, k=Fr(3))
@example(d=DegenerateData.equal(1), width=8, seed=3, k=Fr(3))
@example(d=DegenerateData([1, 1, -1, 1], [1, 2, "1/2", "3/2"]), width=64, seed=4, k=Fr(1, 4))
def test_derived_map_matches_parameter_gd(d, width, seed, k):
    model, nl = d.numeric(width, seed)
    x = float(k / _sup_curvature(d))  # eta * lam0
    tr = run_gd(model, nl, eta_lam0=x, steps=30, backend=get_backend("arb", 60), gtol=0)
    assert tr.steps == 30, tr.stop
    fm = derive_map(uv_model(), d.loss(binary=True))
    states = iterate_map(map_step(fm, tr.eta, width), {"f": tr.f[0], "lam": tr.lam[0]}, steps=tr.steps, dps=60)
    assert len(states) == len(tr.f)
    tol = mpmath.mpf(10) ** -40
    with mpmath.workdps(80):
        for t, (s, ft, lt) in enumerate(zip(states, tr.f, tr.lam)):
            assert abs(s["f"] - ft) <= tol * max(abs(ft), abs(tr.f[0])), t
            assert abs(s["lam"] - lt) <= tol * lt, t


# ----------------------------------------------------------------- CLI

def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def test_cli_thresholds_logistic_p():
    rc, out, err = run_cli("thresholds", "uv", "--loss", "logistic", "--p", "0.7", "--json")
    assert rc == 0 and err == ""
    d = json.loads(out)
    assert sp.sympify(d["eta_crit"], locals=SYMBOLS) == sp.Rational(200, 21) / lam0  # 2/(lam0 * 0.7 * 0.3)
    assert d["eta_max"] is None
    assert is_zero(sp.sympify(d["thresholds"]["divergence_scale"]["value"], locals=SYMBOLS) - sp.sqrt(2 * n) / sp.Rational(7, 10))


def test_cli_thresholds_symbolic_p():
    rc, out, err = run_cli("thresholds", "uv", "--loss", "logistic", "--p", "p", "--json")
    assert rc == 0 and err == ""
    d = json.loads(out)
    p = SYMBOLS["p"]
    assert is_zero(sp.sympify(d["eta_crit"], locals=SYMBOLS) - 2 / (lam0 * p * (1 - p)))
    assert d["eta_max"] is None


def test_cli_thresholds_separable():
    rc, out, err = run_cli("thresholds", "uv", "--loss", "logistic", "--separable", "--json")
    assert rc == 0 and err == ""
    d = json.loads(out)
    assert d["eta_crit"] is None and d["eta_max"] is None


@pytest.mark.parametrize("argv", [
    ["--loss", "logistic", "--p", "1.2"],
    ["--loss", "logistic", "--p", "0"],
    ["--loss", "logistic", "--p", "1"],
    ["--loss", "logistic", "--p", "abc"],
    ["--loss", "logistic", "--z", "2", "--r", "1"],
    ["--loss", "logistic", "--z", "1", "--r", "-1"],
    ["--loss", "logistic", "--z", "1", "-1", "--r", "1", "0"],
    ["--loss", "logistic", "--z", "1", "-1", "--r", "1"],
    ["--loss", "logistic", "--z", "1", "-1"],
    ["--loss", "logistic", "--r", "1"],
    ["--loss", "logistic"],
    ["--p", "0.5"],
    ["--loss", "mse", "--p", "0.5"],
    ["--loss", "logistic", "--p", "0.5", "--label", "1"],
], ids=lambda a: " ".join(a))
def test_cli_bad_logistic_input_exits_2_with_one_line(argv):
    rc, out, err = run_cli("thresholds", "uv", *argv, "--json")
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("catapult: error: ")


def test_cli_run_logistic_lazy_below_eta_crit():
    # p = 1/2: eta lam0 p(1-p) = 1.5 < 2
    rc, out, err = run_cli("run", "uv", "--loss", "logistic", "--p", "0.5", "--eta-lam0", "6", "--width", "64",
                           "--json")
    assert rc == 0 and err == ""
    d = json.loads(out)
    assert d["phase"] == "lazy"


def test_cli_run_logistic_catapult_ends_flatter():
    # p = 1/2: eta lam0 p(1-p) = 3 > 2: the end state has eta lam_inf L''(F_inf) <= 2
    rc, out, err = run_cli("run", "uv", "--loss", "logistic", "--p", "0.5", "--eta-lam0", "12", "--width", "64",
                           "--json")
    assert rc == 0 and err == ""
    d = json.loads(out)
    assert float(d["sharpness_final"]) <= 2
    assert d["phase"] == "catapult"
    # the reported sharpness is eta * lam_final * L''(F_final) with L'' = sigma(F) sigma(-F) at p = 1/2: <= 1/4
    assert float(d["sharpness_final"]) <= float(d["eta"]) * float(d["lam_final"]) / 4 * (1 + 1e-12)
