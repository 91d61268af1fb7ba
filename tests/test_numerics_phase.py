"""Phase verdicts against Theorem 1 of Lewkowycz et al. (2020) and what follows from the exact map.

Oracles typed in here:

* Theorem 1 (uv model, one sample, label 0): lazy for eta < 2/lam0 with |lam_inf - lam0| = O(1/n);
  catapult for 2/lam0 < eta < 4/lam0 (loss rises, then converges with eta*lam_inf <= 2);
  divergent for eta >= 4/lam0.  It is a large-n statement: the quantitative properties below use
  widths n >= 32 (at n = 1 the O(1/n) corrections are O(1)).
* Leading order of the lazy phase: lam_{t+1} - lam_t = (eta f_t^2/n)(eta lam_t - 4) with
  f_t ~ f0 (1 - x)^t, x = eta*lam0, sums to  n (lam0 - lam_inf) / f0^2 ~ (4 - x) / (lam0 (2 - x)).
* Exact finite-n onset: the first step multiplies f by 1 - x + eta^2 f0^2/n, so the loss rises at
  step 1 iff eta lies between the roots of (f0^2/n) eta^2 - lam0 eta + 2 = 0 (smaller root:
  eta_c = 4 / (lam0 + sqrt(lam0^2 - 8 f0^2/n)).
* Monotone lazy phase, any n: lam^2 >= 4 f^2/n (Q >= 0) gives 1 - eta lam <= f'/f <= (1 - eta lam/2)^2,
  and lam only decreases while eta lam < 4, so for x <= 1.9 every factor lies in (-1, 1).
* eta*lam0 = 4 exactly: lam' = lam (the bracket eta lam - 4 vanishes) and z = eta f / sqrt(n)
  follows z' = z^3 - 3z (Chebyshev: z = 2 cos(theta) -> 2 cos(3 theta)), bounded in [-2, 2] forever:
  neither convergence nor runaway.
* eta*lam0 = 2 exactly (derived here): with a = eta^2 f^2/n and D = 2 - eta lam, to leading order
  a' = a (1 - 2D - 2a), D' = D + 2a, whose solution ends at D_inf = sqrt(2 a0), i.e.
  2 - eta lam_inf ~ sqrt(2) eta |f0| / sqrt(n): |lam_inf - lam0| = O(1/sqrt(n)) at the boundary.
* Peak loss of the catapult: Omega(n / log n) (Lewkowycz et al.; Zhu et al.: Omega(n (x - 2)^2 / log n)).
"""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.models import UVModel
from catapult.numerics.phase import Phase, agreed_phase, classify, classify_run

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
F64 = get_backend("float64")
SEED = st.integers(0, 2**32 - 1)
LARGE_N = st.integers(32, 512)


def _f0_lam0(model):
    tr = run_gd(model, squared(), eta_lam0=1, steps=0, backend=get_backend("arb", 50))
    return tr.f[0], tr.lam0


def _onset_x(model):
    """eta_c * lam0 for the exact first-step onset (None if the loss can never rise at step 1)."""
    f0, lam0 = _f0_lam0(model)
    n = model.width
    with mpmath.workdps(50):
        disc = lam0**2 - 8 * f0**2 / n
        if disc < 0:
            return None
        return 4 * lam0 / (lam0 + mpmath.sqrt(disc))


# ---------------------------------------------------------------------------------------------
# lazy phase
# ---------------------------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(width=LARGE_N, seed=SEED, x=st.floats(0.1, 1.9))
@example(width=32, seed=0, x=1.9)
@example(width=512, seed=1, x=0.1)
def test_lazy_phase_lam_moves_by_order_one_over_n(width, seed, x):
    r = classify_run(UVModel(width, seed), squared(), eta_lam0=x, backend=F64)
    e = r.evidence
    assert r.phase is Phase.LAZY, r.reason
    assert e["loss_peak_ratio"] <= 1 and e["loss_final"] < e["loss0"]
    f0sq, lam0 = 2 * e["loss0"], e["lam0"]
    # lam only decreases while eta*lam < 4
    assert e["lam_final"] <= lam0
    q = width * (lam0 - e["lam_final"]) / f0sq
    assert q < 20
    assert q <= 1.5 * (4 - x) / (lam0 * (2 - x))


@settings(max_examples=60, **SETTINGS)
@given(width=st.integers(1, 512), seed=SEED, x=st.floats(0.1, 1.9))
@example(width=1, seed=0, x=1.9)
@example(width=100, seed=0, x=2.0)
@example(width=1, seed=3, x=2.0)
def test_lazy_loss_never_rises_at_any_width(width, seed, x):
    tr = run_gd(UVModel(width, seed), squared(), eta_lam0=x, steps=300, backend=get_backend("arb", 30))
    with mpmath.workdps(40):
        eta = tr.eta
        for t in range(len(tr.f) - 1):
            f, lam = tr.f[t], tr.lam[t]
            # the step factor f'/f = 1 - eta lam + eta^2 f^2/n is bounded using lam^2 >= 4 f^2 / n
            lower, upper = 1 - eta * lam, (1 - eta * lam / 2) ** 2
            assert lower >= -1 - mpmath.mpf("1e-25") and upper < 1
            assert tr.loss[t + 1] < tr.loss[t] or tr.loss[t] == 0, t
            # f' lies between lower*f and upper*f; a computed f carries an absolute error ~ 1e-30 lam sqrt(n)
            tol = mpmath.mpf("1e-26") * (lam + abs(f))
            sgn = 1 if f >= 0 else -1
            assert sgn * (tr.f[t + 1] - lower * f) >= -tol, t
            assert sgn * (upper * f - tr.f[t + 1]) >= -tol, t
    assert tr.loss_peak == tr.loss[0]


@pytest.mark.parametrize("width", [256, 1024])
def test_boundary_eta_lam0_2_lam_moves_by_order_one_over_sqrt_n(width):
    for seed in range(3):
        r = classify_run(UVModel(width, seed), squared(), eta_lam0=2.0, backend=F64, steps=30000)
        e = r.evidence
        assert r.phase is Phase.LAZY, r.reason
        f0 = math.sqrt(2 * float(e["loss0"]))
        pred = math.sqrt(2) * float(e["eta"]) * f0 / math.sqrt(width)
        got = 2 - float(e["eta_lam_final"])
        assert got == pytest.approx(pred, rel=0.1)


# ---------------------------------------------------------------------------------------------
# catapult phase
# ---------------------------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(width=LARGE_N, seed=SEED, x=st.floats(2.2, 3.9))
@example(width=256, seed=0, x=2.2)
@example(width=256, seed=0, x=3.9)
@example(width=64, seed=7, x=3.0)
def test_catapult_phase(width, seed, x):
    m = UVModel(width, seed)
    xc = _onset_x(m)
    assume(xc is not None and x > xc * (1 + 1e-9))  # above the exact finite-n onset
    r = classify_run(m, squared(), eta_lam0=x, backend=F64)
    e = r.evidence
    assert e["loss_peak_ratio"] > 1
    assert e["peak_step"] >= 1
    assert 0 < e["eta_lam_final"] <= 2
    assert e["lam_final"] < e["lam0"]
    if r.phase is Phase.UNDETERMINED:
        # the only acceptable alternative: the step budget ran out while GD still converges -- it
        # happens when the catapult throws lam close to 0, so the last rate 1 - eta*lam is close to 1
        assert e["stop"] == "budget"
        assert e["loss_final"] < e["loss0"]
        assert e["eta_lam_final"] < 0.05
    else:
        assert r.phase is Phase.CATAPULT, r.reason


@settings(max_examples=60, **SETTINGS)
@given(width=st.integers(1, 512), seed=SEED)
def test_loss_rises_at_step_one_exactly_above_the_finite_n_onset(width, seed):
    m = UVModel(width, seed)
    xc = _onset_x(m)
    assume(xc is not None)
    B = get_backend("arb", 40)
    for x, rises in [(xc * (1 - mpmath.mpf("1e-6")), False), (xc * (1 + mpmath.mpf("1e-6")), True)]:
        tr = run_gd(m, squared(), eta_lam0=x, steps=1, gtol=0, backend=B)
        assert (tr.loss[1] > tr.loss[0]) is rises


def test_catapult_peak_loss_grows_like_n():
    # Omega(n / log n): normalised by n / log n the peak must not shrink with n
    norm = {}
    for n in (64, 4096):
        logs = []
        for seed in range(4):
            r = classify_run(UVModel(n, seed), squared(), eta_lam0=3.0, backend=F64)
            assert r.phase is Phase.CATAPULT
            logs.append(math.log(float(r.evidence["loss_peak"]) * math.log(n) / n))
        norm[n] = math.exp(sum(logs) / len(logs))
    assert norm[4096] >= norm[64] / 2


# ---------------------------------------------------------------------------------------------
# divergent phase and the edge eta*lam0 = 4
# ---------------------------------------------------------------------------------------------

@settings(max_examples=150, **SETTINGS)
@given(width=st.integers(1, 512), seed=SEED, x=st.floats(4.1, 50.0))
@example(width=1, seed=0, x=4.1)
@example(width=512, seed=0, x=4.1)
def test_divergent_phase(width, seed, x):
    r = classify_run(UVModel(width, seed), squared(), eta_lam0=x, backend=F64)
    assert r.phase is Phase.DIVERGENT, r.reason
    assert r.evidence["stop"] in ("runaway", "nonfinite")
    # lam grows while eta*lam > 4
    assert r.evidence["lam_final"] > r.evidence["lam0"]


@pytest.mark.parametrize("width,seed", [(1, 0), (64, 1), (512, 2)])
def test_edge_eta_lam0_4_is_bounded_chaos(width, seed):
    tr = run_gd(UVModel(width, seed), squared(), eta_lam0=4, steps=100, gtol=0, backend=get_backend("arb", 100))
    assert tr.stop == "budget"
    with mpmath.workdps(110):
        eta = tr.eta
        zs = [eta * f / mpmath.sqrt(width) for f in tr.f]
        # delta = eta*lam - 4 obeys delta' = delta (1 + z^2) exactly: it starts at the rounding of
        # eta (~1e-100) and, with rounding ~1e-100 added per step, stays below
        # 1e-98 (t + 1) prod_{s<t} (1 + z_s^2)  (<= 1e-98 * 101 * 5^100 ~ 1e-26 for 100 steps)
        growth = mpmath.mpf(1)
        for t, lam in enumerate(tr.lam):
            assert abs(eta * lam - 4) <= mpmath.mpf("1e-98") * (t + 1) * growth, t
            assert abs(lam / tr.lam0 - 1) < mpmath.mpf("1e-20"), t
            growth *= 1 + zs[t] ** 2
        for t in range(len(zs) - 1):
            # |z0| = 4|f0| / (lam0 sqrt(n)) <= 2 since lam^2 >= 4 f^2/n; z -> z^3 - 3z keeps [-2, 2]
            assert abs(zs[t]) <= 2 + mpmath.mpf("1e-20"), t
            # chaotic (expansion by up to 3 per step): compare the one-step map, not the orbit
            assert abs(zs[t + 1] - (zs[t] ** 3 - 3 * zs[t])) < mpmath.mpf("1e-20"), t
    # the orbit neither converges nor runs away: no verdict
    assert classify(tr).phase is Phase.UNDETERMINED


# ---------------------------------------------------------------------------------------------
# arb spot checks and agreed_phase
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("x,phase", [(1.0, Phase.LAZY), (1.9, Phase.LAZY), (3.0, Phase.CATAPULT),
                                     (3.9, Phase.CATAPULT), (4.1, Phase.DIVERGENT), (8.0, Phase.DIVERGENT)])
def test_agreed_phase_spot_checks(x, phase):
    r = agreed_phase(UVModel(128, 5), squared(), eta_lam0=x, dps=30)
    assert r.phase is phase, r.reason
    assert r.evidence["agreed_dps"] == [30, 60]
    assert r.evidence["dps"] == 60 and r.evidence["backend"] == "arb"
    if phase is Phase.CATAPULT:
        assert r.evidence["eta_lam_final"] <= 2 and r.evidence["loss_peak_ratio"] > 1
    # the float64 verdict is the same
    assert classify_run(UVModel(128, 5), squared(), eta_lam0=x, backend=F64).phase is phase


def test_agreed_phase_with_a_short_budget_is_undetermined_at_both_precisions():
    r = agreed_phase(UVModel(64, 0), squared(), eta_lam0=3.0, dps=20, steps=3)
    assert r.phase is Phase.UNDETERMINED
    assert r.evidence["agreed_dps"] == [20, 40]


def test_classify_json_is_plain():
    r = classify_run(UVModel(64, 0), squared(), eta_lam0=3.0, backend=get_backend("arb", 30))
    j = r.to_json()
    assert j["phase"] == "catapult"
    assert isinstance(j["eta_lam0"], float) and abs(j["eta_lam0"] - 3) < 1e-12


# ---------------------------------------------------------------------------------------------
# the monotonicity statement checks every step (issue #9)
# ---------------------------------------------------------------------------------------------

def test_lazy_reason_does_not_claim_a_monotone_loss_that_rises_between_steps():
    # logistic p = 0.3, n = 1024, seed 2, eta*lam0 = 9.3 < 2/(p(1-p)) = 9.52: the minimum is stable and the loss
    # never exceeds its initial value, but it rises at steps 2, 4, 6, ... (the old reason said "monotonically")
    import sympy as sp
    from catapult.verify.degenerate import DegenerateData
    model, nl = DegenerateData.equal(sp.Rational(3, 10)).numeric(1024, 2)
    tr = run_gd(model, nl, eta_lam0=9.3, steps=6, gtol=0, backend=get_backend("arb", 60))  # recorded in full
    assert tr.loss[2] > tr.loss[1] and tr.loss[4] > tr.loss[3]  # independent: the loss itself, step by step
    r = agreed_phase(model, nl, eta_lam0=9.3, dps=30)
    assert r.phase == Phase.LAZY and r.evidence["loss_peak"] == r.evidence["loss0"]
    assert "monotonic" not in r.reason and "rose at" in r.reason
    assert r.evidence["loss_rises"] >= 2 and r.evidence["loss_rise_steps"][:2] == [2, 4]


def test_lazy_reason_says_monotone_when_every_step_decreases():
    # squared loss, y = 0, eta*lam0 = 1: |1 - eta lam + eta^2 f^2/n| < 1 and lam decreases, so |f| falls each step
    m = UVModel(64, 0)
    full = run_gd(m, squared(), eta_lam0=1.0, steps=5000, backend=get_backend("arb", 30))
    assert all(b < a for a, b in zip(full.loss, full.loss[1:]))
    r = classify_run(m, squared(), eta_lam0=1.0, backend=get_backend("arb", 30))
    assert r.phase == Phase.LAZY and "decreased monotonically" in r.reason and r.evidence["loss_rises"] == 0
    assert classify(full).reason == r.reason  # the recorded trajectory gives the same statement
