"""The fixed-point backend (numba, grid 2^-180): exactness of its kernels and agreement with mpmath.

Oracles: exact rational arithmetic (mpmath at 2000 bits on the float64 inputs, which are exact binary numbers),
the error bounds stated in :mod:`catapult.numerics.fixed`, and the mpmath reference backend at 60 digits for
whole GD runs (uv, uv on samples, a user Gram model).
"""

from __future__ import annotations

import sys

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.errors import FixedRangeError, MissingExtraError, NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.gram_model import GramModel
from catapult.numerics.losses import DataLoss, squared
from catapult.numerics.models import UVDataModel, UVModel
from catapult.numerics.stop import Stop

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
ENTRY = st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-30)
VECS = st.integers(1, 40).flatmap(lambda n: st.tuples(st.lists(ENTRY, min_size=n, max_size=n),
                                                       st.lists(ENTRY, min_size=n, max_size=n)))
GRID = mpmath.mpf(2) ** -180


def _exact(xs):
    return [mpmath.mpf(float(x)) for x in xs]


@settings(max_examples=60, **SETTINGS)
@given(VECS)
@example(([-0.16290994799305278, 1.0], [0.48, -3.0]))   # negative entries in (-1, 0): x - floor(x) is not exact
@example(([2.0 ** 29 + 0.5, -2.0 ** 30], [-(2.0 ** 30), 2.0 ** -120]))   # the range ends, tiny entries
def test_vectors_are_exact_and_dot_is_exact_then_rounded_once(pair):
    x, y = pair
    B = get_backend("fixed", 50)
    with B.context():
        a, b = B.vector(x), B.vector(y)
        assert a.to_mpf() == _exact(x) and np.asarray(a).tolist() == [float(v) for v in x]
        got = B.dot(a, b)
    with mpmath.workprec(2000):
        exact = mpmath.fsum(p * q for p, q in zip(_exact(x), _exact(y)))
    with mpmath.workprec(B.bits):
        assert got == +exact   # the exact sum, rounded once at the backend's precision
    with B.context():
        square = B.dot(a, a)    # a vector with itself (the uv model's |u|^2)
    with mpmath.workprec(2000):
        exact_square = mpmath.fsum(p * p for p in _exact(x))
    with mpmath.workprec(B.bits):
        assert square == +exact_square


@settings(max_examples=60, **SETTINGS)
@given(VECS, st.floats(-1e4, 1e4, allow_nan=False), st.integers(1, 60))
@example(([1.0, -1.0], [3.0, -0.25]), 1.0, 3)
@example(([0.0], [2.0 ** 29]), -1.0, 1)
def test_axpy_rounds_within_the_stated_bound(pair, s_num, s_den):
    x, y = pair
    B = get_backend("fixed", 50)
    with B.context():
        s = mpmath.mpf(s_num) / s_den
        a, b = B.vector(x), B.vector(y)
        try:
            out = B.lincomb(a, -s, b)   # a + s b
        except FixedRangeError:
            with mpmath.workprec(2000):
                assert any(abs(p + s * q) >= 2 ** 30 - 1 for p, q in zip(_exact(x), _exact(y)))
            return
        got = out.to_mpf()
    with mpmath.workprec(2000):
        for g, p, q in zip(got, _exact(x), _exact(y)):
            assert abs(g - (p + s * q)) <= GRID / 2 * (1 + abs(q)) * (1 + mpmath.mpf(2) ** -27)
            assert g == mpmath.floor(g / GRID) * GRID   # on the grid


MATS = st.tuples(st.integers(1, 9), st.integers(1, 70)).flatmap(
    lambda nm: st.tuples(st.lists(st.lists(ENTRY, min_size=nm[1], max_size=nm[1]), min_size=nm[0], max_size=nm[0]),
                         st.lists(ENTRY, min_size=nm[0], max_size=nm[0]), st.lists(ENTRY, min_size=nm[1],
                                                                                   max_size=nm[1])))


def _on_grid_within(got, exact, bound):
    return abs(got - exact) <= bound and got == mpmath.floor(got / GRID) * GRID


@settings(max_examples=40, **SETTINGS)
@given(MATS)
@example(([[1e-30, 2.0 ** 29], [1.0, -1e-30]], [1e-30, 1.5], [-1e-30, 1.0]))   # products below the grid
@example(([[1.0] * 65], [3.0], [1.0] * 65))   # more columns than one block of matvec_t
def test_matvec_and_its_transpose_are_exact_sums_rounded_once_to_the_grid(case):
    rows, y, x = case
    B = get_backend("fixed", 50)
    with B.context():
        W = B.matrix(rows)
        assert np.asarray(W).tolist() == [[float(v) for v in r] for r in rows]
        try:
            Wx, Wty = B.matvec(W, B.vector(x)), B.matvec(W, B.vector(y), transpose=True)
        except FixedRangeError:
            with mpmath.workprec(2000):
                sums = [mpmath.fsum(p * q for p, q in zip(_exact(r), _exact(x))) for r in rows]
                sums += [mpmath.fsum(r[j] * q for r, q in zip([_exact(r) for r in rows], _exact(y)))
                         for j in range(len(x))]
                assert any(abs(v) >= 2 ** 30 - GRID for v in sums)
            return
        got, got_t = Wx.to_mpf(), Wty.to_mpf()
    with mpmath.workprec(2000):
        R = [_exact(r) for r in rows]
        for g, r in zip(got, R):
            assert _on_grid_within(g, mpmath.fsum(p * q for p, q in zip(r, _exact(x))), GRID / 2)
        for j, g in enumerate(got_t):
            assert _on_grid_within(g, mpmath.fsum(r[j] * q for r, q in zip(R, _exact(y))), GRID / 2)


@settings(max_examples=40, **SETTINGS)
@given(MATS, st.floats(-1e3, 1e3, allow_nan=False), st.integers(1, 60))
@example(([[0.0, 1.0]], [1.0], [2.0 ** 29, -1.0]), 1.0, 1)
def test_rank_one_update_rounds_within_the_stated_bound(case, s_num, s_den):
    rows, a, b = case
    B = get_backend("fixed", 50)
    with B.context():
        s = mpmath.mpf(s_num) / s_den
        try:
            out = B.lincomb(B.matrix(rows), s, B.outer(B.vector(a), B.vector(b))).to_mpf()   # W - s a b^T
        except FixedRangeError:
            with mpmath.workprec(2000):
                assert any(abs(w - s * p * q) >= 2 ** 30 - 2 * (1 + abs(p)) * (1 + abs(q)) * GRID
                           for r, p in zip(rows, _exact(a)) for w, q in zip(_exact(r), _exact(b)))
            return
    with mpmath.workprec(2000):
        tol = mpmath.mpf(1) + mpmath.mpf(2) ** -27
        for r, o, p in zip(rows, out, _exact(a)):
            for w, g, q in zip(_exact(r), o, _exact(b)):
                # s a_i rounded to the grid (s itself on it): <= G/2 (1 + |a_i|); times b_j, then the row's axpy
                bound = GRID / 2 * tol * ((1 + abs(p)) * abs(q) + 1 + abs(q))
                assert _on_grid_within(g, w - s * p * q, bound)


def test_range_is_refused_or_reported_never_wrapped():
    B = get_backend("fixed", 50)
    with B.context():
        with pytest.raises(NumericsInputError, match=r"\[-2\^30, 2\^30\)"):
            B.vector([2.0 ** 30])
        with pytest.raises(NumericsInputError):
            B.vector([float("nan")])
        v = B.vector([2.0 ** 29, -(2.0 ** 29)])
        assert np.asarray(v * 1.5).tolist() == [1.5 * 2 ** 29, -1.5 * 2 ** 29]
        with pytest.raises(FixedRangeError):
            v * 2
        with pytest.raises(FixedRangeError):
            v + v
        with pytest.raises(FixedRangeError):
            B.vector([1e-6]) * 2.0 ** 31   # a scalar factor outside the range
        assert np.asarray(B.vector([-(2.0 ** 29)]) * 2).tolist() == [-(2.0 ** 30)]   # the lower end is in range


def test_overflow_in_a_run_is_a_nonfinite_verdict():
    m = UVModel(4, u0=np.array([3e4, 1.0, 1.0, 1.0]), v0=np.array([3e4, 1.0, -1.0, 1.0]))
    tr = run_gd(m, squared(), eta=1.0, steps=50, backend=get_backend("fixed", 50), runaway=1e300, lam_runaway=1e300)
    assert tr.stop is Stop.NONFINITE and tr.steps < 50


def test_refusals_are_typed():
    with pytest.raises(NumericsInputError, match="dps <= 50"):
        get_backend("fixed", 60)
    with pytest.raises(NumericsInputError, match="must be 2-D"):
        get_backend("fixed", 50).matrix([1.0])
    with pytest.raises(NumericsInputError, match="2-by-3|2 x 3"):
        B = get_backend("fixed", 50)
        B.matvec(B.matrix(np.ones((2, 3))), B.vector([1.0, 2.0]))
    with pytest.raises(NumericsInputError, match="no error balls"):
        get_backend("fixed", 50, certified=True)


def test_missing_numba_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "catapult.numerics.fixed_kernels", None)   # as if numba were absent
    with pytest.raises(MissingExtraError, match=r"catapult\[fast\]"):
        get_backend("fixed", 50)
    assert get_backend("mpmath", 30).dps == 30   # the reference backends stay


def _digits(a, b, scale):
    """Agreeing decimal digits of a and b relative to ``scale``."""
    d = abs(a - b) / scale
    return mpmath.inf if d == 0 else -mpmath.log10(d)


def _agreement(model, loss, steps=100, **kw):
    """Digits of agreement after ``steps`` of the fixed backend with the 60-digit mpmath reference: the parameters
    (relative to their largest entry), lam (relative) and f (relative to max(|f|, lam), the dot's scale)."""
    fx = run_gd(model, loss, steps=steps, backend=get_backend("fixed", 50), gtol=0, **kw)
    ref = run_gd(model, loss, steps=steps, backend=get_backend("mpmath", 60), gtol=0, **kw)
    assert fx.steps == ref.steps and fx.stop == ref.stop
    with mpmath.workdps(60):
        th_f = [v for th in fx.theta for v in np.ravel(np.array(th.to_mpf(), dtype=object))]
        th_r = [v for th in ref.theta for v in np.ravel(th)]
        top = max(abs(v) for v in th_r)
        dig_theta = min(_digits(p, q, top) for p, q in zip(th_f, th_r))
        lam, f = ref.lam[-1], ref.f[-1]
        return min(dig_theta, _digits(fx.lam[-1], lam, lam), _digits(fx.f[-1], f, max(abs(f), lam)))


@settings(max_examples=12, **SETTINGS)
@given(st.integers(2, 96), st.integers(0, 2 ** 32 - 1), st.floats(0.05, 3.8))
@example(256, 1, 3.0)    # catapult phase
@example(64, 1, 2.5)
@example(96, 7, 1.0)     # lazy phase
def test_uv_run_agrees_with_mpmath_to_45_digits(n, seed, x):
    assert _agreement(UVModel(n, seed=seed), squared(), eta_lam0=x) >= 45


def test_samples_and_user_models_agree_with_mpmath_to_45_digits():
    data = UVDataModel(16, [[1.0, 0.5], [-2.0, 1.0]], seed=3)
    assert _agreement(data, DataLoss([squared(1), squared(-1)]), eta_lam0=2.5) >= 45
    gram = GramModel(12, ("u", "v"), ("c",), lambda uu, uv, vv, c, n: uv * c / n + uu * uu / n ** 2, seed=3,
                     scalar_init={"c": 1.5})
    assert _agreement(gram, squared(1), eta_lam0=1.5) >= 45


@settings(max_examples=8, **SETTINGS)
@given(st.sampled_from([(4, "isometric"), (16, "isometric"), (5, "gaussian"), (12, "gaussian")]),
       st.integers(2, 5), st.integers(0, 2 ** 32 - 1), st.floats(0.05, 3.8))
@example((16, "isometric"), 3, 0, 3.0)     # catapult phase of the deep linear map
@example((16, "gaussian"), 5, 2, 1.5)
def test_deep_run_agrees_with_mpmath_to_45_digits(shape, depth, seed, x):
    from catapult.numerics.deep import DeepLinearModel
    n, init = shape
    assert _agreement(DeepLinearModel(n, depth, seed=seed, init=init), squared(), eta_lam0=x) >= 45


def test_cli_run_and_sweep_choose_the_fixed_backend(tmp_path, capsys):
    import json
    from catapult.verify.cli import main
    assert main(["run", "uv", "--width", "64", "--eta-lam0", "3", "--steps", "200", "--backend", "fixed",
                 "--dps", "30", "--json", "--quiet"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["phase"] == "catapult" and r["agreed_dps"] == [30, 60]
    assert main(["run", "uv", "--width", "8", "--eta-lam0", "1", "--backend", "fixed", "--dps", "60"]) == 2
    assert "dps <= 50" in capsys.readouterr().err
    from catapult.verify.sweep import _backends
    assert [B.tag for B in _backends("fixed50+arb100")] == ["fixed50", "arb100"]


def test_tape_refuses_malformed_programs():
    from catapult.numerics.fixed import FixedTape
    for code in ([[0, 1, 1, 0]], [[0, 0, 1, 1]], [[1, 2, 0, 4]], [[7, 2, 0, 1]], [[0, 3, 0, 1]]):
        with pytest.raises(NumericsInputError, match="tape instruction"):
            FixedTape(code, 4, 2, {3: 5}, [2])     # own operand, an input, unknown reg, operation, a literal
    tape = FixedTape([[1, 2, 0, 1]], 3, 2, {}, [2])
    B = get_backend("fixed", 50)
    with B.context(), pytest.raises(NumericsInputError, match="different lengths"):
        tape([B.vector([1.0]), B.vector([1.0, 2.0])])

