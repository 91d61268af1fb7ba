"""Arithmetic backends: float64, mpmath and arb must compute the *same* GD trajectory.

Oracles used here (nothing is copied from an output of :mod:`numerics`):

* exact rational arithmetic (``fractions.Fraction``) on the float64 draws for the
  initial output f0 = u.v / sqrt(n) and NTK lam0 = (|u|^2 + |v|^2) / n;
* agreement across backends, with the problem's conditioning measured
  independently by a 50-digit and a 100-digit run (at eta*lam0 = 4 the
  dynamics are chaotic -- the map conjugates to z -> z^3 - 3z -- so a float64
  orbit over 50 steps is decided by the machine's rounding: float64 is compared
  only where unit roundoff times the amplification the two arb runs exhibit
  stays below 1e-8, and then for three IEEE summation orders of the dot products);
* ball arithmetic: a certified 50-digit run must *enclose* the 100-digit
  trajectory.
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import Float64, get_backend
from catapult.numerics.errors import NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import NumericLoss, squared
from catapult.numerics.models import UVModel
from catapult.numerics.phase import agreed_phase

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# eta*lam0 inside each phase of Theorem 1 (Lewkowycz et al. 2020): lazy, catapult, divergent
PHASE_X = st.one_of(st.floats(0.1, 1.9), st.floats(2.2, 3.9), st.floats(4.1, 8.0))
WIDTH = st.integers(1, 512)
SEED = st.integers(0, 2**32 - 1)

# unit roundoffs: float64 and a 50-digit mantissa (mpmath / arb both use dps_to_prec(50) bits)
U64 = mpmath.mpf(2) ** -53
U50 = mpmath.mpf(2) ** -mpmath.libmp.dps_to_prec(50)


def _arb_exact(x):
    """An exact arb copy of an mpmath number (sign, mantissa and exponent from ``_mpf_``)."""
    sign, man, exp, _ = x._mpf_
    return flint.arb((-int(man) if sign else int(man), int(exp)))


def _runmax(xs):
    out, m = [], mpmath.mpf(0)
    for x in xs:
        m = max(m, x)
        out.append(m)
    return out


# ---------------------------------------------------------------------------------------------
# starting point: every backend starts from the same exact binary numbers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width,seed", [(1, 0), (7, 3), (100, 1), (512, 9)])
def test_initial_f0_lam0_match_exact_rational_arithmetic(width, seed):
    m = UVModel(width, seed)
    u = [Fraction(float(x)) for x in m.u0]
    v = [Fraction(float(x)) for x in m.v0]
    lam0_exact = (sum(x * x for x in u) + sum(x * x for x in v)) / width
    uv_exact = sum(a * b for a, b in zip(u, v))
    with mpmath.workdps(130):
        lam0_ref = mpmath.mpf(lam0_exact.numerator) / lam0_exact.denominator
        f0_ref = (mpmath.mpf(uv_exact.numerator) / uv_exact.denominator) / mpmath.sqrt(width)
        scale = abs(f0_ref) + lam0_ref  # f is a dot product: its error scales with |u||v|/sqrt(n) ~ lam
        for B, tol in [(get_backend("float64"), 1e-13), (get_backend("mpmath", 50), 1e-47),
                       (get_backend("arb", 50), 1e-47), (get_backend("arb", 100), 1e-97)]:
            tr = run_gd(m, squared(), eta_lam0=1, steps=0, backend=B)
            assert abs(tr.lam0 - lam0_ref) <= tol * lam0_ref, B
            assert abs(tr.f[0] - f0_ref) <= tol * scale, B
            assert abs(tr.loss[0] - f0_ref**2 / 2) <= 2 * tol * scale * (abs(f0_ref) + 1), B


# ---------------------------------------------------------------------------------------------
# float64 / mpmath / arb give the same trajectory
# ---------------------------------------------------------------------------------------------

class _SequentialFloat64(Float64):
    """IEEE float64 with a left-to-right dot product (a machine without SIMD reductions)."""

    def dot(self, a, b):
        s = 0.0
        for p, q in zip(a.tolist(), b.tolist()):
            s += p * q
        return s


class _FsumFloat64(Float64):
    """IEEE float64 with a correctly rounded dot-product sum (``math.fsum`` of the rounded products)."""

    def dot(self, a, b):
        return math.fsum((a * b).tolist())


# Three IEEE-conforming float64 machines: numpy's reduction (SIMD, pairwise), sequential, correctly rounded sum.
# What the test asserts about float64 must hold for each of them.
FLOAT64_MACHINES = [get_backend("float64"), _SequentialFloat64(), _FsumFloat64()]

# float64 is compared with the 100-digit run only where a unit roundoff, amplified as the 50-digit run's rounding
# was, stays below 1e-8 relative over the whole horizon: then float64's own errors (a few ulps per operation, n
# terms per dot product) stay in the linear regime and the bound below holds whatever the summation order.
COND_MAX = mpmath.mpf("1e-8")


def _conditioning(r50, r100):
    """Amplification of rounding errors over the horizon, measured by the 50- vs 100-digit pair.

    Returns (T, fmax, amp_f, amp_l, cond): running maxima of |f|, of |f50 - f100| / U50 and |lam50 - lam100| / U50,
    and cond = the largest of amp_f / (fmax + lam) and amp_l / lam over the horizon (relative amplification).
    At eta*lam0 = 4 the map conjugates to z -> z^3 - 3z and cond ~ 3^t: ~1e22 within 50 steps.
    """
    with mpmath.workdps(110):
        T = min(len(r100.f), len(r50.f))
        fmax = _runmax([abs(f) for f in r100.f[:T]])
        amp_f = _runmax([abs(r50.f[t] - r100.f[t]) / U50 for t in range(T)])
        amp_l = _runmax([abs(r50.lam[t] - r100.lam[t]) / U50 for t in range(T)])
        cond = max(max(amp_f[t] / (fmax[t] + r100.lam[t]), amp_l[t] / r100.lam[t]) for t in range(T))
    return T, fmax, amp_f, amp_l, cond


def _stop_margin(r100, runaway=1e8, lam_runaway=1e4):
    """Smallest relative distance of the 100-digit orbit from the runaway thresholds of ``run_gd`` (the stop
    step of a run is decided by these comparisons)."""
    with mpmath.workdps(110):
        sq = mpmath.sqrt(r100.width)
        return min(min(abs(abs(f) / (runaway * sq) - 1), abs(lam / (lam_runaway * r100.lam0) - 1))
                   for f, lam in zip(r100.f, r100.lam))


def _check_against_reference(run, u, r50, r100, floor):
    """Assert that ``run`` (unit roundoff ``u``) tracks the 100-digit trajectory, if the horizon is well conditioned
    for that precision; return whether it was compared."""
    T, fmax, amp_f, amp_l, cond = _conditioning(r50, r100)
    if u * cond > COND_MAX:
        return False  # chaotic within the horizon: the orbit at this precision depends on the machine's rounding
    with mpmath.workdps(110):
        if _stop_margin(r100) > 1e3 * (floor + u * cond):
            assert (run.stop, run.steps) == (r100.stop, r100.steps), run.backend
        for t in range(min(T, len(run.f))):
            sf = fmax[t] + r100.lam[t]
            sl = r100.lam[t]
            assert abs(run.f[t] - r100.f[t]) <= floor * sf + 1e3 * u * amp_f[t], (run.backend, t)
            assert abs(run.lam[t] - r100.lam[t]) <= floor * sl + 1e3 * u * amp_l[t], (run.backend, t)
        # eta = x / lam0: its relative error is that of the computed lam0 plus one rounding
        rel_lam0 = abs(run.lam0 - r100.lam0) / r100.lam0
        assert abs(run.eta - r100.eta) <= (rel_lam0 + 2 * u) * r100.eta * (1 + 1e-6)
    return True


@settings(max_examples=30, **SETTINGS)
@given(width=WIDTH, seed=SEED, x=PHASE_X)
@example(width=100, seed=0, x=2.0)
@example(width=100, seed=0, x=3.0)
@example(width=512, seed=1, x=3.9)
@example(width=1, seed=2, x=2.0)
def test_backends_agree_over_50_steps(width, seed, x):
    m, L = UVModel(width, seed), squared()
    kw = dict(eta_lam0=x, steps=50, gtol=0)
    rmp = run_gd(m, L, backend=get_backend("mpmath", 50), **kw)
    r50 = run_gd(m, L, backend=get_backend("arb", 50), **kw)
    r100 = run_gd(m, L, backend=get_backend("arb", 100), **kw)
    # the two high-precision backends at the same precision end the same way
    assert _check_against_reference(rmp, U50, r50, r100, 1e-45)
    assert (rmp.stop, rmp.steps) == (r50.stop, r50.steps)
    for B in FLOAT64_MACHINES:
        _check_against_reference(run_gd(m, L, backend=B, **kw), U64, r50, r100, 1e-12)


@pytest.mark.parametrize("width,seed,x", [(100, 0, 2.0), (100, 0, 3.0), (512, 1, 3.9), (1, 5, 8.0)])
def test_float64_is_compared_away_from_the_knife_edges(width, seed, x):
    """Not vacuous: inside the phases (and at eta*lam0 = 2, where nothing is chaotic) the horizon is well
    conditioned, so every float64 machine is checked against the 100-digit orbit."""
    m, L = UVModel(width, seed), squared()
    kw = dict(eta_lam0=x, steps=50, gtol=0)
    r50 = run_gd(m, L, backend=get_backend("arb", 50), **kw)
    r100 = run_gd(m, L, backend=get_backend("arb", 100), **kw)
    for B in FLOAT64_MACHINES:
        assert _check_against_reference(run_gd(m, L, backend=B, **kw), U64, r50, r100, 1e-12), B


@pytest.mark.parametrize("width,seed", [(100, 0), (512, 1)])
def test_float64_is_not_asserted_on_the_chaotic_edge_eta_lam0_4(width, seed):
    """Issue #9: at eta*lam0 = 4 the map conjugates to z -> z^3 - 3z, so a float64 orbit over 50 steps is decided by
    the rounding of the machine's dot products (here: the IEEE summation orders disagree about whether lam runs
    away). The 50/100-digit pair measures the amplification (>= 3^40 relative) and float64 is not compared; the
    two high-precision runs still are, and stay bounded."""
    m, L = UVModel(width, seed), squared()
    kw = dict(eta_lam0=4.0, steps=50, gtol=0)
    r50 = run_gd(m, L, backend=get_backend("arb", 50), **kw)
    r100 = run_gd(m, L, backend=get_backend("arb", 100), **kw)
    assert _conditioning(r50, r100)[-1] > mpmath.mpf(3) ** 40
    assert r100.stop == "budget" and max(r100.lam) < 2 * r100.lam0
    runs = [run_gd(m, L, backend=B, **kw) for B in FLOAT64_MACHINES]
    # whether the summation orders disagree here is itself machine behaviour at the knife edge: not asserted;
    # what is asserted is that none of them is held to the 100-digit orbit
    for run in runs:
        assert not _check_against_reference(run, U64, r50, r100, 1e-12)
    assert _check_against_reference(run_gd(m, L, backend=get_backend("mpmath", 50), **kw), U50, r50, r100, 1e-45)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arb_50_and_100_digits_agree_to_45_digits_in_the_catapult(seed):
    m, L = UVModel(100, seed), squared()
    a = run_gd(m, L, eta_lam0=3, steps=100, gtol=0, backend=get_backend("arb", 50))
    b = run_gd(m, L, eta_lam0=3, steps=100, gtol=0, backend=get_backend("arb", 100))
    assert (a.stop, a.steps) == (b.stop, b.steps) == ("budget", 100)
    with mpmath.workdps(110):
        # it is a catapult: the loss rose and the curvature fell below 2/eta (so the test is not trivial)
        assert b.loss_peak > 10 * b.loss[0] and b.eta * b.lam[-1] < 2
        fmax = max(abs(f) for f in b.f)
        for t in range(len(b.f)):
            assert abs(a.f[t] - b.f[t]) <= mpmath.mpf("1e-45") * fmax, t
            assert abs(a.lam[t] - b.lam[t]) <= mpmath.mpf("1e-45") * b.lam[t], t
            assert abs(a.loss[t] - b.loss[t]) <= mpmath.mpf("1e-45") * fmax**2, t


# ---------------------------------------------------------------------------------------------
# certified balls enclose the (much more accurate) 100-digit trajectory
# ---------------------------------------------------------------------------------------------

def _certified_balls(model, x, steps, B):
    """GD written out with the backend's ball operations, keeping every ball of f and lam."""
    fs, lams = [], []
    theta = model.init(B)
    f, grads = model.output_and_grads(theta, B)
    lam = B.dot(grads[0], grads[0]) + B.dot(grads[1], grads[1])
    eta = B.scalar(x) / lam
    for _ in range(steps + 1):
        fs.append(f)
        lams.append(lam)
        step = eta * f  # squared loss, label 0: l'(f) = f
        theta = [B.lincomb(th, step, g) for th, g in zip(theta, grads)]
        f, grads = model.output_and_grads(theta, B)
        lam = B.dot(grads[0], grads[0]) + B.dot(grads[1], grads[1])
    return fs, lams


@pytest.mark.parametrize("width,seed,x", [(100, 0, 3.0), (64, 4, 2.5), (256, 2, 3.5)])
def test_certified_arb_encloses_the_100_digit_trajectory(width, seed, x):
    m, L, steps = UVModel(width, seed), squared(), 20
    ref = run_gd(m, L, eta_lam0=x, steps=steps, gtol=0, backend=get_backend("arb", 100))
    Bc = get_backend("arb", 50, certified=True)
    with Bc.context():
        fs, lams = _certified_balls(m, x, steps, Bc)
        for t in range(steps + 1):
            f_ref = _arb_exact(ref.f[t])  # exact copy of the 100-digit midpoint
            l_ref = _arb_exact(ref.lam[t])
            assert fs[t].contains(f_ref), t
            assert lams[t].contains(l_ref), t
            # same statement through the backend's radius: |mid100 - mid_cert| <= radius
            assert abs(ref.f[t] - Bc.to_mpf(fs[t])) <= Bc.radius(fs[t]), t
            # ...and the balls are tight, so the enclosure says something
            assert Bc.radius(fs[t]) <= mpmath.mpf("1e-30") * (abs(Bc.to_mpf(fs[t])) + 1), t
            assert Bc.radius(lams[t]) <= mpmath.mpf("1e-30") * Bc.to_mpf(lams[t]), t
    # run_gd with the certified backend tracks the same balls: its recorded midpoints lie within
    # the largest relative radius it reports of the 100-digit values
    tr = run_gd(m, L, eta_lam0=x, steps=steps, gtol=0, backend=Bc)
    assert tr.stop == "budget" and tr.max_rel_radius > 0
    with mpmath.workdps(110):
        for t in range(steps + 1):
            assert abs(tr.f[t] - ref.f[t]) <= tr.max_rel_radius * abs(tr.f[t]) * (1 + mpmath.mpf("1e-20")), t
            assert abs(tr.lam[t] - ref.lam[t]) <= tr.max_rel_radius * tr.lam[t] * (1 + mpmath.mpf("1e-20")), t


def test_certified_run_stops_when_the_balls_get_too_wide():
    # a low-precision certified run of a long catapult: the relative radius must exceed
    # max_radius at some point, and the run says so instead of returning wide balls as numbers
    tr = run_gd(UVModel(64, 0), squared(), eta_lam0=3.5, steps=3000, gtol=0,
                backend=get_backend("arb", 8, certified=True), max_radius=1e-6)
    assert tr.stop == "precision"
    assert tr.max_rel_radius > mpmath.mpf("1e-6")


# ---------------------------------------------------------------------------------------------
# global precision is scoped
# ---------------------------------------------------------------------------------------------

BACKENDS = [("float64", 15, False), ("mpmath", 40, False), ("arb", 40, False), ("arb", 40, True)]


@pytest.mark.parametrize("name,dps,cert", BACKENDS)
def test_global_precision_unchanged_after_a_run(name, dps, cert):
    mpmath.mp.dps = 23
    flint.ctx.prec = 77
    before = (mpmath.mp.dps, mpmath.mp.prec, flint.ctx.prec)
    run_gd(UVModel(32, 1), squared(), eta_lam0=3.0, steps=40, backend=get_backend(name, dps, cert))
    assert (mpmath.mp.dps, mpmath.mp.prec, flint.ctx.prec) == before


@pytest.mark.parametrize("name,dps,cert", BACKENDS)
def test_global_precision_unchanged_when_a_run_raises(name, dps, cert):
    mpmath.mp.dps = 19
    flint.ctx.prec = 101
    before = (mpmath.mp.dps, mpmath.mp.prec, flint.ctx.prec)
    calls = []

    def slope(x):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return x

    L = NumericLoss("boom", lambda x: x * x / 2, slope)
    with pytest.raises(RuntimeError, match="boom"):
        run_gd(UVModel(8, 0), L, eta_lam0=1.0, steps=10, backend=get_backend(name, dps, cert))
    assert (mpmath.mp.dps, mpmath.mp.prec, flint.ctx.prec) == before


def test_global_precision_unchanged_after_agreed_phase():
    mpmath.mp.dps = 17
    flint.ctx.prec = 64
    agreed_phase(UVModel(16, 0), squared(), eta_lam0=3.0, dps=20)
    assert (mpmath.mp.dps, flint.ctx.prec) == (17, 64)


def test_precision_inside_context():
    for dps in (5, 30, 120):
        for B in (get_backend("mpmath", dps), get_backend("arb", dps)):
            with B.context():
                assert mpmath.mp.prec >= mpmath.libmp.dps_to_prec(dps)
                if B.name == "arb":
                    assert flint.ctx.prec >= mpmath.libmp.dps_to_prec(dps)
                # sqrt(2) at the backend's precision is right to ~dps digits
                s = B.to_mpf(B.sqrt(B.scalar(2)))
            with mpmath.workdps(dps + 20):
                assert abs(s - mpmath.sqrt(2)) < mpmath.mpf(10) ** (-dps + 1)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["quad", "float32", "", "ARB"])
def test_unknown_backend_raises(name):
    with pytest.raises(NumericsInputError):
        get_backend(name)


@pytest.mark.parametrize("name", ["arb", "mpmath"])
@pytest.mark.parametrize("dps", [4, 1, 0, -10])
def test_too_few_digits_raise(name, dps):
    with pytest.raises(NumericsInputError):
        get_backend(name, dps)


@pytest.mark.parametrize("name", ["arb", "mpmath"])
def test_five_digits_is_allowed(name):
    assert get_backend(name, 5).dps == 5


def test_numerics_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        get_backend("quad")


def test_arb_scalar_from_positive_mpf_is_exact():
    B = get_backend("arb", 200)
    with mpmath.workdps(60):
        xs = [mpmath.mpf(1) / 3, mpmath.pi, mpmath.mpf("1e-300"), mpmath.mpf(0), mpmath.mpf(2) ** 1000 + 1]
    with B.context():
        for x in xs:
            assert B.to_mpf(B.scalar(x)) == x
            assert B.radius(B.scalar(x)) == 0


def test_arb_scalar_from_negative_mpf_keeps_its_sign():
    B = get_backend("arb", 50)
    with B.context():
        for x in (mpmath.mpf(-3) / 4, -mpmath.pi):
            assert B.to_mpf(B.scalar(x)) == x


def test_negative_mpf_label_gives_the_same_loss_on_every_backend():
    L = squared(mpmath.mpf(-1) / 2)
    runs = [run_gd(UVModel(8, 0), L, eta_lam0=1.0, steps=3, backend=B)
            for B in (get_backend("float64"), get_backend("mpmath", 30), get_backend("arb", 30))]
    f0 = runs[0].f[0]
    for tr in runs:
        assert abs(tr.loss[0] - (f0 + mpmath.mpf(1) / 2) ** 2 / 2) < 1e-12
        for t in range(4):
            assert abs(tr.f[t] - runs[0].f[t]) < 1e-12


def test_vectors_take_float64_draws_exactly():
    xs = np.random.default_rng(0).standard_normal(16)
    for B in (get_backend("mpmath", 30), get_backend("arb", 30)):
        with B.context():
            vec = B.vector(xs)
            exact = sum(Fraction(float(x)) ** 2 for x in xs)
            with mpmath.workdps(80):
                assert abs(B.to_mpf(B.dot(vec, vec)) - mpmath.mpf(exact.numerator) / exact.denominator) \
                    <= mpmath.mpf("1e-29") * float(exact)


@pytest.mark.parametrize("n", [4096, 10000, 10001, 32768])
def test_float64_dot_does_not_depend_on_the_blas_thread_count(n):
    """A float64 run must give the same numbers in a 1-thread Dask worker and in a 2-thread process: the dot is
    BLAS only where BLAS runs on one thread anyway (OpenBLAS ddot threads above n = 10000), numpy's loop above."""
    from threadpoolctl import threadpool_limits
    B = get_backend("float64")
    rng = np.random.default_rng(n)
    pairs = [(rng.standard_normal(n), rng.standard_normal(n)) for _ in range(20)]
    with threadpool_limits(1):
        one = [B.dot(a, b) for a, b in pairs]
    with threadpool_limits(2):
        two = [B.dot(a, b) for a, b in pairs]
    assert one == two
    exact = [math.fsum(a * b) for a, b in pairs[:3]]   # the products are not exact: a loose sanity bound
    assert all(abs(x - e) <= 1e-10 * n for x, e in zip(one, exact))
