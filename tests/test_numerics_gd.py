"""Parameter-space GD against the literature's exact (f, lam) map.

Oracle (Lewkowycz et al. 2020, uv model, one sample x = 1, label 0, loss f^2/2, NTK
lam = (|u|^2 + |v|^2)/n), typed in here:

    f'   = (1 - eta*lam + eta^2 f^2 / n) f
    lam' = lam + (eta f^2 / n)(eta*lam - 4)

With a label y and g = f - y, derived by hand here (GD: u' = u - eta g v/sqrt(n),
v' = v - eta g u/sqrt(n)):

    u'.v'         = u.v - eta g (|u|^2 + |v|^2)/sqrt(n) + eta^2 g^2 u.v / n
    |u'|^2+|v'|^2 = |u|^2 + |v|^2 - 4 eta g u.v / sqrt(n) + eta^2 g^2 (|u|^2 + |v|^2) / n
    =>  f'   = f - eta g lam + eta^2 g^2 f / n
        lam' = lam - 4 eta g f / n + eta^2 g^2 lam / n

Invariant: with a = u + v, b = u - v one has a' = (1 - eta g/sqrt(n)) a, b' = (1 + eta g/sqrt(n)) b,
and lam^2 - 4 f^2/n = |a|^2 |b|^2 / n^2, so

    Q = lam^2 - 4 f^2/n   obeys   Q' = Q (1 - eta^2 g^2 / n)^2.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.errors import NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import NumericLoss, squared
from catapult.numerics.models import UVModel
from catapult.numerics.phase import Phase, classify

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
PHASE_X = st.one_of(st.floats(0.1, 1.9), st.floats(2.2, 3.9), st.floats(4.1, 8.0))
WIDTH = st.integers(1, 512)
SEED = st.integers(0, 2**32 - 1)

TOL = mpmath.mpf("1e-40")  # at 60 digits each step must obey the map to >= 40 digits


def _run60(width, seed, x, label=0, steps=60):
    L = squared() if label == 0 else squared(label)
    return run_gd(UVModel(width, seed), L, eta_lam0=x, steps=steps, backend=get_backend("arb", 60))


@settings(max_examples=80, **SETTINGS)
@given(width=WIDTH, seed=SEED, x=PHASE_X)
@example(width=100, seed=0, x=2.0)
@example(width=100, seed=0, x=4.0)
@example(width=1, seed=5, x=4.0)
@example(width=512, seed=3, x=2.0)
def test_each_step_obeys_the_lewkowycz_map(width, seed, x):
    tr = _run60(width, seed, x)
    assert len(tr.f) >= 2
    with mpmath.workdps(80):
        n, eta = mpmath.mpf(width), tr.eta
        for t in range(len(tr.f) - 1):
            f, lam = tr.f[t], tr.lam[t]
            f_next = (1 - eta * lam + eta**2 * f**2 / n) * f
            lam_next = lam + (eta * f**2 / n) * (eta * lam - 4)
            # a computed f = u.v/sqrt(n) carries an absolute error ~ eps |u||v|/sqrt(n) <= eps sqrt(n) lam
            assert abs(tr.f[t + 1] - f_next) <= TOL * (abs(f_next) + lam), t
            assert abs(tr.lam[t + 1] - lam_next) <= TOL * abs(lam_next), t
            assert abs(tr.loss[t] - f**2 / 2) <= TOL * (f**2 + lam**2), t


@settings(max_examples=40, **SETTINGS)
@given(width=WIDTH, seed=SEED, x=PHASE_X)
@example(width=100, seed=0, x=2.0)
@example(width=100, seed=0, x=4.0)
def test_each_step_obeys_the_labelled_map(width, seed, x):
    y = mpmath.mpf(1) / 2
    tr = _run60(width, seed, x, label=0.5)
    with mpmath.workdps(80):
        n, eta = mpmath.mpf(width), tr.eta
        for t in range(len(tr.f) - 1):
            f, lam = tr.f[t], tr.lam[t]
            g = f - y
            f_next = f - eta * g * lam + eta**2 * g**2 * f / n
            lam_next = lam - 4 * eta * g * f / n + eta**2 * g**2 * lam / n
            assert abs(tr.f[t + 1] - f_next) <= TOL * (abs(f_next) + lam), t
            assert abs(tr.lam[t + 1] - lam_next) <= TOL * abs(lam_next), t
            assert abs(tr.loss[t] - g**2 / 2) <= TOL * (g**2 + lam**2), t


@settings(max_examples=40, **SETTINGS)
@given(width=WIDTH, seed=SEED, x=PHASE_X, label=st.sampled_from([0, 0.5]))
@example(width=100, seed=0, x=2.0, label=0)
@example(width=100, seed=0, x=4.0, label=0.5)
def test_multiplicative_invariant(width, seed, x, label):
    tr = _run60(width, seed, x, label=label)
    with mpmath.workdps(80):
        n, eta, y = mpmath.mpf(width), tr.eta, mpmath.mpf(label)
        Q = [lam**2 - 4 * f**2 / n for f, lam in zip(tr.f, tr.lam)]
        scale = [lam**2 + 4 * f**2 / n for f, lam in zip(tr.f, tr.lam)]
        prod = mpmath.mpf(1)
        for t in range(len(tr.f) - 1):
            factor = (1 - eta**2 * (tr.f[t] - y) ** 2 / n) ** 2
            prod *= factor
            assert abs(Q[t + 1] - Q[t] * factor) <= TOL * (scale[t + 1] + scale[t] * factor), t
        # and over the whole run: Q_T = Q_0 prod_t (1 - eta^2 g_t^2/n)^2
        assert abs(Q[-1] - Q[0] * prod) <= mpmath.mpf("1e-30") * (scale[-1] + scale[0] * prod)
        # Q = |u+v|^2 |u-v|^2 / n^2 >= 0 (lam^2 >= 4 f^2 / n)
        assert all(q >= -TOL * s for q, s in zip(Q, scale))


def test_eta_is_eta_lam0_over_measured_lam0_and_given_eta_is_kept():
    m = UVModel(64, 2)
    a = run_gd(m, squared(), eta_lam0=3, steps=5, backend=get_backend("arb", 60))
    with mpmath.workdps(80):
        assert abs(a.eta * a.lam0 - 3) <= mpmath.mpf("1e-55")
        assert abs(a.eta_lam0 - 3) <= mpmath.mpf("1e-55")
    b = run_gd(m, squared(), eta=0.75, steps=5, backend=get_backend("arb", 60))
    assert b.eta == mpmath.mpf(0.75)
    assert b.lam0 == a.lam0


def test_record_false_keeps_first_and_last_and_peak():
    m = UVModel(64, 0)
    full = run_gd(m, squared(), eta_lam0=3, steps=300, backend=get_backend("arb", 30))
    short = run_gd(m, squared(), eta_lam0=3, steps=300, backend=get_backend("arb", 30), record=False)
    assert short.t == [0, full.steps]
    assert short.f == [full.f[0], full.f[-1]]
    assert short.stop == full.stop
    assert full.loss_peak == max(full.loss) == short.loss_peak
    assert full.peak_step == full.loss.index(max(full.loss)) == short.peak_step


def test_converged_means_small_gradient():
    tr = run_gd(UVModel(64, 1), squared(), eta_lam0=1.0, steps=1000, gtol=1e-20, backend=get_backend("arb", 50))
    assert tr.stop == "converged"
    # parameter gradient = l'(f) grad f, its norm |f| sqrt(lam) for the squared loss
    assert abs(tr.f[-1]) * mpmath.sqrt(tr.lam[-1]) < 1e-20
    assert abs(tr.f[-2]) * mpmath.sqrt(tr.lam[-2]) >= 1e-20


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(eta=0), dict(eta=-0.1), dict(eta=float("nan")), dict(eta=float("inf")),
                                dict(eta_lam0=0), dict(eta_lam0=-2.0), dict(eta_lam0=float("nan")),
                                dict(eta="abc"), dict(), dict(eta=0.1, eta_lam0=1.0)])
def test_bad_learning_rate_raises(kw):
    with pytest.raises(NumericsInputError):
        run_gd(UVModel(8, 0), squared(), steps=3, backend=get_backend("float64"), **kw)


def test_negative_steps_raise():
    with pytest.raises(NumericsInputError):
        run_gd(UVModel(8, 0), squared(), eta_lam0=1.0, steps=-1, backend=get_backend("float64"))


@pytest.mark.parametrize("width", [0, 1.5, -3, "x", None])
def test_bad_width_raises(width):
    with pytest.raises(NumericsInputError):
        UVModel(width, 0)


def test_wrong_shape_initialisation_raises():
    with pytest.raises(NumericsInputError):
        UVModel(3, u0=np.ones(3), v0=np.ones(4))


# ---------------------------------------------------------------------------------------------
# divergence is a result, not an exception
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [1, 64, 512])
def test_divergent_float64_run_ends_with_runaway_or_nonfinite(width):
    tr = run_gd(UVModel(width, 0), squared(), eta_lam0=6.0, steps=1000, backend=get_backend("float64"))
    assert tr.stop in ("runaway", "nonfinite")
    assert tr.steps < 1000
    assert classify(tr).phase is Phase.DIVERGENT


@pytest.mark.parametrize("width", [1, 64, 512])
def test_divergent_float64_run_without_bounds_overflows(width):
    tr = run_gd(UVModel(width, 0), squared(), eta_lam0=6.0, steps=1000, backend=get_backend("float64"),
                runaway=math.inf, lam_runaway=math.inf)
    assert tr.stop == "nonfinite"
    assert not (mpmath.isfinite(tr.f[-1]) and mpmath.isfinite(tr.lam[-1]) and mpmath.isfinite(tr.loss[-1]))
    assert classify(tr).phase is Phase.DIVERGENT


def test_loss_with_overflowing_exponential_ends_nonfinite():
    # l(f) = exp(-f) written with numpy; u0 = 1, v0 = -1 (n = 4): f0 = -2, lam0 = 2, and with
    # eta*lam0 = 50 one step gives u1 = (1 - c) 1, v1 = (c - 1) 1 with c = eta exp(2) / sqrt(n),
    # so f1 = -n (c - 1)^2 / sqrt(n) = -2 (c - 1)^2 ~ -1.7e4 and exp(-f1) overflows.
    L = NumericLoss("exp(-f)", lambda x: np.exp(-x), lambda x: -np.exp(-x))
    n = 4
    m = UVModel(n, u0=np.ones(n), v0=-np.ones(n))
    tr = run_gd(m, L, eta_lam0=50.0, steps=100, backend=get_backend("float64"),
                runaway=math.inf, lam_runaway=math.inf)
    assert tr.stop == "nonfinite" and tr.steps == 1
    c = 25 * math.exp(2) / 2
    assert tr.f[1] == pytest.approx(-2 * (c - 1) ** 2, rel=1e-12)
    assert tr.loss[1] == mpmath.inf
    assert classify(tr).phase is Phase.DIVERGENT


def test_loss_with_overflowing_exponential_default_bounds():
    L = NumericLoss("exp(-f)", lambda x: np.exp(-x), lambda x: -np.exp(-x))
    m = UVModel(4, u0=np.ones(4), v0=-np.ones(4))
    tr = run_gd(m, L, eta_lam0=50.0, steps=100, backend=get_backend("float64"))
    assert tr.stop in ("runaway", "nonfinite")


@pytest.mark.parametrize("backend", [("float64",), ("mpmath", 40), ("arb", 60), ("fixed", 50)])
@pytest.mark.parametrize("width,seed,y", [(16, 0, 0.0), (257, 3, 0.5)])
def test_uv_moves_are_the_loss_gradient(backend, width, seed, y):
    """The uv model's moves (c, g) have c g = grad L = l'(f) (v, u)/sqrt(n), and lam = (|u|^2 + |v|^2)/n: against
    a 60-digit computation from the float64 draws (taken as exact), entry by entry."""
    if backend[0] == "fixed":
        pytest.importorskip("numba")
    m = UVModel(width, seed=seed)
    B = get_backend(*backend)
    with mpmath.workdps(60):
        u, v = [mpmath.mpf(float(x)) for x in m.u0], [mpmath.mpf(float(x)) for x in m.v0]
        rn = mpmath.sqrt(width)
        f = mpmath.fsum(a * b for a, b in zip(u, v)) / rn
        lam = (mpmath.fsum(a * a for a in u) + mpmath.fsum(b * b for b in v)) / width
        grads = [[(f - y) * b / rn for b in v], [(f - y) * a / rn for a in u]]
    tol = mpmath.mpf(10) ** -(12 if backend[0] == "float64" else 35)
    with B.context():
        ev = m.evaluate(m.init(B), B, squared(y).bind(B))
        with mpmath.workdps(60):
            assert abs(B.to_mpf(ev.lam) - lam) <= tol * lam
            scale = mpmath.sqrt(lam) * max(abs(f - y), 1)
            for (c, g), want in zip(ev.moves, grads):
                cm = B.to_mpf(c)
                got = [cm * mpmath.mpf(x) for x in _entries(B, g)]
                assert max(abs(a - b) for a, b in zip(got, want)) <= tol * scale


def _entries(B, g):
    """A backend vector's entries as exact mpmath numbers (midpoints for balls)."""
    if hasattr(g, "to_mpf"):
        return g.to_mpf()
    if B.name == "arb":
        return [B.to_mpf(g[i, 0]) for i in range(g.nrows())]
    return [mpmath.mpf(x) if not isinstance(x, mpmath.mpf) else x for x in (g.tolist() if hasattr(g, "tolist") else g)]
