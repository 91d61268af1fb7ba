"""Many samples in dimension d (uv model): the derived invariant map against parameter GD and the literature.

Model: f(x) = n^{-1/2} v.(u x), u in R^{n x d}, v in R^n, data X (m x d), labels Y, loss
(1/m) sum_a (f(x_a) - y_a)^2/2.  Oracles, all typed here (never imported from theory/ or numerics/):

* Explicit Jacobian (test-side): grad_{u_k} f_a = X_ak v/sqrt(n), grad_v f_a = u x_a/sqrt(n);
  Theta = J J^T/m, f_a = x_a^T u^T v/sqrt(n).
* One GD step on the parameters, by hand (r = f - y, zeta = X^T r/m):
      u_k' = u_k - eta zeta_k v/sqrt(n),   v' = v - eta (sum_k zeta_k u_k)/sqrt(n)
  so on V = |v|^2, G_kl = u_k.u_l, w_k = u_k.v:
      V'    = V - 2 eta zeta.w/sqrt(n) + eta^2 zeta^T G zeta/n
      G_kl' = G_kl - eta (zeta_k w_l + zeta_l w_k)/sqrt(n) + eta^2 zeta_k zeta_l V/n
      w_k'  = w_k - eta ((G zeta)_k + zeta_k V)/sqrt(n) + eta^2 zeta_k (zeta.w)/n
* Lewkowycz et al. (2020), many samples, exact residual update (science.md):
      f' - y = (I - eta Theta)(f - y) + (eta^2/(n m)) (X zeta)(f^T (f - y))
* Lewkowycz et al. (2020) / Zhu et al. (2022), one sample x = 1 with label y (g = f - y):
      f' = f - eta g lam + eta^2 g^2 f/n,   lam' = lam - 4 eta g f/n + eta^2 g^2 lam/n
* Linear stability at a minimum: d f'/d f = I - eta Theta H, H = diag(l''(f_a)).
* Per-eigendirection catapult (Zhu et al. 2022): only modes with eta lam_i > 2 grow (for eta lam_1 < 4).
"""

from __future__ import annotations

import io
import json
import re
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import DataLoss, squared
from catapult.numerics.models import UVDataModel
from catapult.theory.samples import derive_sample_map
from catapult.theory.symbols import eta, n
from catapult.verify.catalogue.samples import compare_samples, initial_invariants, problem
from catapult.verify.bridge import sample_step
from catapult.verify.data import random_data
from catapult.verify.cli import main
from catapult.verify.strategies_data import small_datasets

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
DPS = 60
DIGITS = 40
TOL = mpmath.mpf(10) ** -DIGITS
STEPS = 25

# pinned data for the @example rows (dyadic)
WELL_X = np.array([[1.0, 0.25], [-0.5, 0.75]])
WELL_Y = np.array([0.5, -0.25])
DEGEN_X = np.array([[1.0, 0.5], [0.5 + 2.0**-10, 0.25], [-1.0, -0.5 - 2.0**-9]])  # cond ~ 1.1e3
DEGEN_Y = np.array([0.25, 0.0, -0.5])


# ----------------------------------------------------------------- oracles (typed here)

def exact_dot(a, b):
    """Exact inner product of two float64 vectors (as a Fraction)."""
    return sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(a, b)), Fraction(0))


def theta_from_params(u, v, X):
    """Theta = (V X X^T + X G X^T)/(n m) in float64, from u (n x d), v (n,)."""
    nn, m = u.shape[0], X.shape[0]
    return (float(v @ v) * X @ X.T + X @ (u.T @ u) @ X.T) / (nn * m)


def jacobian_mp(u, v, X):
    """The explicit Jacobian J (m x (n d + n)) at mpmath precision: rows are the gradient vectors of f_a."""
    nn, d = u.shape
    rs = 1 / mpmath.sqrt(nn)
    rows = []
    for xa in X:
        g = []
        for k in range(d):
            g += [mpmath.mpf(float(xa[k])) * mpmath.mpf(float(v[i])) * rs for i in range(nn)]
        for i in range(nn):
            g.append(mpmath.fsum(mpmath.mpf(float(u[i, k])) * mpmath.mpf(float(xa[k])) for k in range(d)) * rs)
        rows.append(g)
    return rows


def outputs_mp(u, v, X):
    nn = u.shape[0]
    return [mpmath.fsum(mpmath.mpf(float(v[i])) * mpmath.fsum(mpmath.mpf(float(u[i, k])) * mpmath.mpf(float(xa[k]))
                                                              for k in range(u.shape[1])) for i in range(nn))
            / mpmath.sqrt(nn) for xa in X]


def theta_symbolic(X, Gm, V, m):
    """Theta_ab = (V x_a.x_b + x_a^T G x_b)/(n m) with sympy matrices."""
    return sp.Matrix(m, m, lambda a, b: (V * (X[a, :] * X[b, :].T)[0, 0] + (X[a, :] * Gm * X[b, :].T)[0, 0]) / (n * m))


def hand_invariant_step(V, Gm, w, X, Y, m, d):
    """One GD step on the invariants, by hand (module docstring)."""
    rn = sp.sqrt(n)
    f_ = [sum(X[a, k] * w[k] for k in range(d)) / rn for a in range(m)]
    r = [f_[a] - Y[a] for a in range(m)]
    z = [sum(r[a] * X[a, k] for a in range(m)) / m for k in range(d)]
    zw = sum(z[k] * w[k] for k in range(d))
    Gz = [sum(Gm[k, l] * z[l] for l in range(d)) for k in range(d)]
    zGz = sum(z[k] * Gz[k] for k in range(d))
    Vn = V - 2 * eta * zw / rn + eta**2 * zGz / n
    Gn = sp.Matrix(d, d, lambda k, l: Gm[k, l] - eta * (z[k] * w[l] + z[l] * w[k]) / rn + eta**2 * z[k] * z[l] * V / n)
    wn = [w[k] - eta * (Gz[k] + z[k] * V) / rn + eta**2 * z[k] * zw / n for k in range(d)]
    return Vn, Gn, wn


def symbols_md(m, d):
    X = sp.Matrix(m, d, lambda a, k: sp.Symbol(f"x{a + 1}{k + 1}", real=True))
    Y = [sp.Symbol(f"y{a + 1}", real=True) for a in range(m)]
    return X, Y


def invariant_symbols(sm, d):
    S = sm.symbols
    V = S["vv"]
    Gm = sp.Matrix(d, d, lambda k, l: S[f"u{min(k, l) + 1}u{max(k, l) + 1}"])
    w = [S[f"u{k + 1}v"] for k in range(d)]
    return V, Gm, w


def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------- derived map vs parameter GD

def _map_vs_gd(data, width, seed, x, steps=STEPS):
    """eta = x / lam_1(Theta_0) (Theta_0 test-side); the derived invariant map and arb-60 parameter GD
    must agree on every output and every Theta entry to >= 40 digits at every step."""
    X, Y = data
    m, d = X.shape
    model = UVDataModel(width, X, seed=seed)
    lam1 = float(np.linalg.eigvalsh(theta_from_params(model.u0, model.v0, X))[-1])
    eta_v = x / lam1
    loss = DataLoss([squared(float(yv)) if yv != 0 else squared() for yv in Y])
    tr = run_gd(model, loss, eta=eta_v, steps=steps, backend=get_backend("arb", DPS), observe=True, gtol=0)
    assert tr.stop in ("budget", "runaway"), tr.stop
    assert tr.stop == "runaway" or tr.steps == steps
    sm = derive_sample_map(m, d, X=X.tolist(), Y=[Fraction(float(v)) for v in Y], symbolic=False)
    names = [str(s) for s in sm.state]
    # initial invariants, exactly from the float64 draws (test-side)
    cols = {f"u{k + 1}": model.u0[:, k] for k in range(d)} | {"v": model.v0}
    with mpmath.workdps(DPS):
        state = {}
        for nm in names:
            a, b = re.findall(r"u\d+|v", nm)
            q = exact_dot(cols[a], cols[b])
            state[nm] = mpmath.mpf(q.numerator) / q.denominator
        step = sample_step(sm, tr.eta, width)
        fo = sp.lambdify([sm.state, n], sm.outputs, "mpmath")
        th = sp.lambdify([sm.state, n], sm.ntk, "mpmath")
        f0 = max(abs(v) for v in tr.observed[0]["outputs"])
        for t, obs in enumerate(tr.observed):
            args = [state[k] for k in names]
            pf, pt = fo(args, width), th(args, width)
            scale_f = max([f0] + [abs(v) for v in obs["outputs"]])
            scale_t = max(abs(v) for row in obs["ntk"] for v in row)
            for a in range(m):
                assert abs(pf[a] - obs["outputs"][a]) <= TOL * scale_f, (t, a, pf[a], obs["outputs"][a])
                for b in range(m):
                    assert abs(pt[a, b] - obs["ntk"][a][b]) <= TOL * scale_t, (t, a, b)
            state = step(state)
    return tr


@pytest.mark.slow
@settings(max_examples=20, **SETTINGS)
@given(data=small_datasets(3, 3, "well"), width=st.integers(4, 64), seed=st.integers(0, 2**32 - 1),
       x=st.floats(0.3, 3.8))
@example(data=(WELL_X, WELL_Y), width=16, seed=0, x=2.0)
@example(data=(WELL_X, WELL_Y), width=64, seed=1, x=4.0)
def test_invariant_map_equals_gd_well_conditioned(data, width, seed, x):
    _map_vs_gd(data, width, seed, x)


@pytest.mark.slow
@settings(max_examples=20, **SETTINGS)
@given(data=small_datasets(3, 3, "near_degenerate"), width=st.integers(4, 64), seed=st.integers(0, 2**32 - 1),
       x=st.floats(0.3, 3.8))
@example(data=(DEGEN_X, DEGEN_Y), width=16, seed=0, x=2.0)
@example(data=(DEGEN_X, DEGEN_Y), width=64, seed=2, x=4.0)
def test_invariant_map_equals_gd_near_degenerate(data, width, seed, x):
    assert np.linalg.cond(data[0]) > 100
    _map_vs_gd(data, width, seed, x)


def test_catapult_run_really_catapults_in_the_comparison():
    """The comparison above is not vacuous: at eta lam_1 = 3 the top-mode residual grows by > 2x."""
    tr = _map_vs_gd((WELL_X, np.zeros(2)), 64, 3, 3.0, steps=30)
    r0 = np.array([float(v) for v in tr.observed[0]["outputs"]])
    peak = max(np.abs([float(v) for v in o["outputs"]]).max() for o in tr.observed)
    assert peak > 2 * np.abs(r0).max()


def test_compare_samples_reports_agreement():
    X, Y = np.array([[1.0, -0.5], [0.25, 0.75]]), np.array([0.5, 0.0])
    dig, steps, stop = compare_samples(X, Y, 32, 5, 2.5, steps=25, dps=60)
    assert dig >= 40 and steps == 25 and stop == "budget"


def test_initial_invariants_are_exact():
    X = np.array([[1.0, 0.5]])
    model, _ = problem(X, np.array([0.0]), 16, 7)
    inv = initial_invariants(model, ["u1u1", "u1u2", "u2u2", "u1v", "u2v", "vv"], 50)
    q = exact_dot(model.u0[:, 0], model.u0[:, 1])
    with mpmath.workdps(80):
        assert abs(inv["u1u2"] - mpmath.mpf(q.numerator) / q.denominator) < mpmath.mpf(10) ** -65 * abs(inv["u1u2"])
    q = exact_dot(model.v0, model.v0)
    with mpmath.workdps(80):
        assert abs(inv["vv"] - mpmath.mpf(q.numerator) / q.denominator) < mpmath.mpf(10) ** -65 * inv["vv"]


@pytest.mark.parametrize("m,d,X,Y,needle", [
    (2, 2, [[1, 0.5]], None, "shape"),
    (2, 2, [[1, float("nan")], [0, 1]], None, "nan"),
    (1, 1, [[float("inf")]], None, "nan or inf"),
    (0, 2, None, None, "samples m and dimension d"),
    (2, 1, [[1], [2]], [0], "labels"),
])
def test_derive_sample_map_rejects_bad_input(m, d, X, Y, needle):
    from catapult.theory.errors import TheoryInputError
    with pytest.raises(TheoryInputError, match=needle):
        derive_sample_map(m, d, X=X, Y=Y)


# ----------------------------------------------------------------- observe(): Theta = J J^T / m

@settings(max_examples=40, **SETTINGS)
@given(data=small_datasets(3, 3, None), width=st.integers(1, 24), seed=st.integers(0, 2**32 - 1),
       backend=st.sampled_from([("arb", 60), ("mpmath", 40), ("float64", 15)]), perturb=st.booleans())
def test_observe_theta_equals_explicit_jacobian(data, width, seed, backend, perturb):
    X, _ = data
    m, d = X.shape
    model = UVDataModel(width, X, seed=seed)
    u, v = model.u0.copy(), model.v0.copy()
    if perturb:  # a generic point away from the init draw (dyadic, exact)
        rng = np.random.default_rng(seed % 1000)
        u = u + rng.integers(-8, 9, size=u.shape) / 16
        v = v * 0.75 - rng.integers(-8, 9, size=v.shape) / 32
    B = get_backend(*backend)
    with B.context():
        theta = [B.vector(u[:, k]) for k in range(d)] + [B.vector(v)]
        obs = model.observe(theta, B)
    tol = mpmath.mpf(10) ** -(backend[1] - 8 if backend[0] != "float64" else 12)
    with mpmath.workdps(100):
        J = jacobian_mp(u, v, X)
        Th = [[mpmath.fsum(p * q for p, q in zip(J[a], J[b])) / m for b in range(m)] for a in range(m)]
        fs = outputs_mp(u, v, X)
        scale_t = max(abs(e) for row in Th for e in row)
        scale_f = max([abs(e) for e in fs] + [mpmath.sqrt(Th[0][0] * m)])
        for a in range(m):
            assert abs(obs["outputs"][a] - fs[a]) <= tol * scale_f
            for b in range(m):
                assert abs(obs["ntk"][a][b] - Th[a][b]) <= tol * scale_t, (a, b, obs["ntk"][a][b], Th[a][b])
                assert obs["ntk"][a][b] == obs["ntk"][b][a]


@settings(max_examples=15, **SETTINGS)
@given(data=small_datasets(3, 3, None), width=st.integers(4, 48), seed=st.integers(0, 2**32 - 1),
       x=st.floats(0.5, 3.5))
@example(data=(WELL_X, WELL_Y), width=32, seed=0, x=2.0)
def test_gd_obeys_exact_residual_update(data, width, seed, x):
    """Lewkowycz et al.: f' - y = (I - eta Theta) r + eta^2/(n m) (X zeta)(f^T r), on observed GD (arb 60)."""
    X, Y = data
    m, d = X.shape
    model = UVDataModel(width, X, seed=seed)
    lam1 = float(np.linalg.eigvalsh(theta_from_params(model.u0, model.v0, X))[-1])
    loss = DataLoss([squared(float(yv)) if yv != 0 else squared() for yv in Y])
    tr = run_gd(model, loss, eta=x / lam1, steps=12, backend=get_backend("arb", DPS), observe=True, gtol=0)
    with mpmath.workdps(DPS):
        Xm = [[mpmath.mpf(float(e)) for e in row] for row in X]
        ys = [mpmath.mpf(float(e)) for e in Y]
        for t in range(len(tr.observed) - 1):
            f_, Th = tr.observed[t]["outputs"], tr.observed[t]["ntk"]
            r = [f_[a] - ys[a] for a in range(m)]
            zeta = [mpmath.fsum(r[a] * Xm[a][k] for a in range(m)) / m for k in range(d)]
            fr = mpmath.fsum(f_[a] * r[a] for a in range(m))
            nxt = tr.observed[t + 1]["outputs"]
            scale = max(abs(e) for e in list(f_) + list(nxt) + ys)
            for a in range(m):
                pred = (r[a] - tr.eta * mpmath.fsum(Th[a][b] * r[b] for b in range(m))
                        + tr.eta**2 / (width * m) * mpmath.fsum(Xm[a][k] * zeta[k] for k in range(d)) * fr)
                assert abs((nxt[a] - ys[a]) - pred) <= TOL * scale, (t, a)


def test_observe_theta_is_high_precision_for_non_dyadic_data():
    X = np.array([[0.1, 0.3], [0.7, -0.2]])
    model = UVDataModel(4, X, seed=0)
    B = get_backend("arb", 60)
    with B.context():
        obs = model.observe(model.init(B), B)
    with mpmath.workdps(100):
        J = jacobian_mp(model.u0, model.v0, X)  # exact: the float64 entries taken as binary numbers
        for a in range(2):
            for b in range(2):
                ex = mpmath.fsum(p * q for p, q in zip(J[a], J[b])) / 2
                assert abs(obs["ntk"][a][b] - ex) <= mpmath.mpf(10) ** -50 * abs(ex)


def test_probe_ntk_is_high_precision_for_inexact_probe_norm():
    X = np.array([[1.0, 1.0], [0.5, -0.25]])
    model = UVDataModel(4, X, seed=0)
    tr = run_gd(model, DataLoss([squared(), squared()]), eta=0.1, steps=0, backend=get_backend("arb", 60))
    p = model.probe
    with mpmath.workdps(100):
        J = jacobian_mp(model.u0, model.v0, p[None, :])[0]  # grad of F = f(probe), exactly
        ex = mpmath.fsum(g * g for g in J)
        assert abs(tr.lam0 - ex) <= mpmath.mpf(10) ** -50 * ex


# ----------------------------------------------------------------- symbolic statements

def test_single_sample_map_is_the_uv_map_with_label():
    yl = sp.Symbol("y", real=True)
    sm = derive_sample_map(1, 1, X=[[1]], Y=[yl])
    F, LAM = sm.outputs[0], sm.ntk[0, 0]
    S = sm.symbols
    # the outputs and NTK are the uv model's (one sample, Theta = J J^T/1 = lam)
    assert sp.expand(F - S["u1v"] / sp.sqrt(n)) == 0
    assert sp.expand(LAM - (S["u1u1"] + S["vv"]) / n) == 0
    reps = {S[k]: v for k, v in sm.update.items()}
    f_next, lam_next = F.subs(reps, simultaneous=True), LAM.subs(reps, simultaneous=True)
    g = F - yl
    lit_f = F - eta * g * LAM + eta**2 * g**2 * F / n
    lit_lam = LAM - 4 * eta * g * F / n + eta**2 * g**2 * LAM / n
    assert sp.expand(f_next - lit_f) == 0
    assert sp.expand(lam_next - lit_lam) == 0
    # label 0: the printed Lewkowycz map
    z = {yl: 0}
    assert sp.expand((f_next - (1 - eta * LAM + eta**2 * F**2 / n) * F).subs(z)) == 0
    assert sp.expand((lam_next - (LAM + eta * F**2 / n * (eta * LAM - 4))).subs(z)) == 0


@settings(max_examples=15, **SETTINGS)
@given(yv=st.fractions(-2, 2, max_denominator=8), uu=st.fractions(0, 9, max_denominator=4),
       vv=st.fractions(0, 9, max_denominator=4), uv=st.fractions(-3, 3, max_denominator=4),
       ev=st.fractions(1, 3, max_denominator=8), nv=st.integers(1, 200))
def test_single_sample_numeric_step_is_the_uv_map(yv, uu, vv, uv, ev, nv):
    """numeric_step (the numeric path of the derived map) iterates the typed uv map with a label."""
    sm = derive_sample_map(1, 1, X=[[1]], Y=[yv], symbolic=False)
    with mpmath.workdps(50):
        st_ = {"u1u1": mpmath.mpf(uu.numerator) / uu.denominator, "vv": mpmath.mpf(vv.numerator) / vv.denominator,
               "u1v": mpmath.mpf(uv.numerator) / uv.denominator}
        e, y_ = mpmath.mpf(ev.numerator) / ev.denominator, mpmath.mpf(yv.numerator) / yv.denominator
        step = sample_step(sm, e, nv)
        F, LAM = st_["u1v"] / mpmath.sqrt(nv), (st_["u1u1"] + st_["vv"]) / nv
        for _ in range(5):
            g = F - y_
            F, LAM = F - e * g * LAM + e**2 * g**2 * F / nv, LAM - 4 * e * g * F / nv + e**2 * g**2 * LAM / nv
            st_ = step(st_)
            Fm, Lm = st_["u1v"] / mpmath.sqrt(nv), (st_["u1u1"] + st_["vv"]) / nv
            assert abs(Fm - F) <= mpmath.mpf(10) ** -40 * (1 + abs(F))
            assert abs(Lm - LAM) <= mpmath.mpf(10) ** -40 * (1 + abs(LAM))


@pytest.mark.parametrize("m,d", [(1, 2), (2, 1), (2, 2), (3, 2)])
def test_ntk_matrix_formula(m, d):
    sm = derive_sample_map(m, d)
    X, _ = symbols_md(m, d)
    assert sm.X == X
    V, Gm, w = invariant_symbols(sm, d)
    T = theta_symbolic(X, Gm, V, m)
    assert (sm.ntk - T).expand() == sp.zeros(m, m)
    for a in range(m):
        assert sp.expand(sm.outputs[a] - sum(X[a, k] * w[k] for k in range(d)) / sp.sqrt(n)) == 0


@pytest.fixture(scope="module")
def sm22():
    return derive_sample_map(2, 2)


def test_invariant_update_is_one_gd_step_by_hand(sm22):
    m = d = 2
    X, Y = symbols_md(m, d)
    V, Gm, w = invariant_symbols(sm22, d)
    Vn, Gn, wn = hand_invariant_step(V, Gm, w, X, Y, m, d)
    U = sm22.update
    assert sp.expand(U["vv"] - Vn) == 0
    for k in range(d):
        assert sp.expand(U[f"u{k + 1}v"] - wn[k]) == 0
        for l in range(k, d):
            assert sp.expand(U[f"u{k + 1}u{l + 1}"] - Gn[k, l]) == 0


def test_output_update_is_the_exact_residual_update(sm22):
    m = d = 2
    X, Y = symbols_md(m, d)
    V, Gm, w = invariant_symbols(sm22, d)
    T = theta_symbolic(X, Gm, V, m)
    f_ = sp.Matrix([sum(X[a, k] * w[k] for k in range(d)) / sp.sqrt(n) for a in range(m)])
    r = f_ - sp.Matrix(Y)
    zeta = X.T * r / m
    lit = (sp.eye(m) - eta * T) * r + eta**2 / (n * m) * (X * zeta) * (f_.T * r)[0, 0]
    fn = sm22.output_update()
    for a in range(m):
        assert sp.expand(fn[a] - Y[a] - lit[a]) == 0


def test_stability_matrix_is_I_minus_eta_theta_H(sm22):
    m = d = 2
    X, _ = symbols_md(m, d)
    V, Gm, w = invariant_symbols(sm22, d)
    T = theta_symbolic(X, Gm, V, m)
    J, H = sm22.stability_matrix()
    h = [sp.Symbol(f"h{a + 1}", positive=True) for a in range(m)]
    assert H == sp.diag(*h)
    assert (J - (sp.eye(m) - eta * T * H)).expand() == sp.zeros(m, m)


def test_stability_matrix_numeric_data():
    """Same identity with numeric data X and a non-quadratic loss (H is left symbolic: diag(l''))."""
    from catapult.theory import Loss
    Xv = [[2, sp.Rational(1, 4)], [sp.Rational(-1, 4), 1]]
    sm = derive_sample_map(2, 2, loss=Loss.parse("log(cosh(f - y))"), X=Xv, Y=[0, sp.Rational(1, 2)])
    V, Gm, w = invariant_symbols(sm, 2)
    T = theta_symbolic(sp.Matrix(Xv), Gm, V, 2)
    J, H = sm.stability_matrix()
    assert sp.simplify(J - (sp.eye(2) - eta * T * H)) == sp.zeros(2, 2)


# ----------------------------------------------------------------- CLI: per-eigendirection catapult

MODE_X = np.array([[2.0, 0.25], [-0.25, 1.0]])


@pytest.fixture(scope="module")
def mode_data(tmp_path_factory):
    p = tmp_path_factory.mktemp("data") / "modes.csv"
    p.write_text("2,0.25,0\n-0.25,1,0\n")
    model = UVDataModel(1000, MODE_X, seed=0)  # the CLI's default seed
    lams = np.linalg.eigvalsh(theta_from_params(model.u0, model.v0, MODE_X))[::-1]
    return str(p), lams


@pytest.mark.parametrize("k", [3.0, 1.5])
def test_cli_per_eigendirection_catapult(mode_data, k):
    path, lams = mode_data
    eta_v = float(k / lams[0])
    code, out, err = cli(["run", "uv", "--samples", "2", "--dim", "2", "--data", path, "--eta", repr(eta_v),
                          "--width", "1000", "--json"])
    assert code == 0, err
    d = json.loads(out)
    eigs = [float(v) for v in d["ntk_eigs_initial"]]
    assert np.allclose(eigs, lams, rtol=1e-12)  # the JSON's Theta_0 spectrum = the test-side one
    assert abs(float(d["eta_times_eigs_initial"][0]) - k) < 1e-9
    assert k * lams[1] / lams[0] < 2  # the bottom mode is below the catapult threshold in both runs
    growth = [float(g) for g in d["mode_growth"]]
    assert d["stop"] == "converged"
    if k == 3.0:
        assert growth[0] > 2 and growth[1] <= 1
    else:
        assert all(g <= 1 for g in growth)


# ----------------------------------------------------------------- CLI: bad input

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    two = d / "two.csv"
    two.write_text("2,0.25,0\n-0.25,1,0\n")
    nan = d / "nan.csv"
    nan.write_text("1,0.5,0\nnan,1,0\n")
    three = d / "three.csv"  # m = 3 > d = 2: rank 2 < m
    three.write_text("1,0.5,0\n0.25,-1,0\n0.5,0.75,1\n")
    return {"two": str(two), "nan": str(nan), "three": str(three)}


@pytest.mark.parametrize("argv,needle", [
    (["run", "uv", "--samples", "3", "--data", "{two}", "--eta", "0.1", "--width", "16"], "match"),
    (["run", "uv", "--samples", "3", "--dim", "2", "--data", "{two}", "--eta", "0.1", "--width", "16"], "match"),
    (["run", "uv", "--data", "{nan}", "--samples", "2", "--dim", "2", "--eta", "0.1", "--width", "16"], "nan"),
    (["derive", "uv", "--data", "{nan}", "--samples", "2"], "nan"),
    (["run", "uv", "--samples", "0", "--dim", "2", "--eta", "0.1", "--width", "16"], "--samples"),
    (["derive", "uv", "--samples", "0", "--dim", "1"], "--samples"),
    (["thresholds", "uv", "--samples", "3", "--dim", "2", "--data", "{three}"], "rank"),
    (["thresholds", "uv", "--samples", "3", "--dim", "2", "--data-seed", "5"], "rank"),
])
def test_cli_bad_input_exits_2_with_one_line(bad_files, argv, needle):
    argv = [a.format(**bad_files) for a in argv]
    code, out, err = cli(argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("catapult: error:"), err
    assert needle in lines[0]


def test_cli_thresholds_full_rank_data(bad_files):
    """The well-posed counterpart of the rank check: m = d = 2 data give eta_crit = 2/lam_max(Theta H)."""
    code, out, err = cli(["thresholds", "uv", "--samples", "2", "--dim", "2", "--data", bad_files["two"], "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["eta_max"] is None
    loc = {str(s): s for s in derive_sample_map(2, 2).state} | {"n": n, "eta": eta}
    loc |= {f"h{a}": sp.Symbol(f"h{a}", positive=True) for a in (1, 2)}
    X = sp.Matrix([[2, sp.Rational(1, 4)], [sp.Rational(-1, 4), 1]])
    V = loc["vv"]
    Gm = sp.Matrix([[loc["u1u1"], loc["u1u2"]], [loc["u1u2"], loc["u2u2"]]])
    T = theta_symbolic(X, Gm, V, 2)
    H = sp.diag(loc["h1"], loc["h2"])
    J = sp.Matrix([[sp.sympify(e, locals=loc) for e in row] for row in d["details"]["stability_matrix"]])
    assert (J - (sp.eye(2) - eta * T * H)).expand() == sp.zeros(2, 2)


# ----------------------------------------------------------------- seeded data (bug report)

def test_cli_run_accepts_its_own_seeded_data():
    code, out, err = cli(["run", "uv", "--samples", "3", "--dim", "2", "--data-seed", "1", "--eta", "0.05",
                          "--width", "16", "--steps", "50", "--json"])
    assert code == 0, err


def test_compare_samples_on_seeded_random_data():
    X, Y = random_data(3, 2, 1)
    assert np.linalg.matrix_rank(X) == 2
    dig, steps, stop = compare_samples(X, Y, 16, 0, 1.0, steps=5, dps=40)
    assert dig >= 25
