"""Deep linear networks: exact orthogonality, the measured NTK, and the exact reduced map of isometric nets.

Model (NTK parametrisation, input x = 1): h_1 = w_1, h_l = W_l h_{l-1}/sqrt(n), f = w_L.h_{L-1}/sqrt(n).
Oracles, all typed here (never imported from theory/ or numerics/):

* Product formula (exact, no finite differences): with s = n^{-(L-1)/2},
      f = s wL^T W_{L-1} ... W_2 w_1,
      df/dw_1 = s (wL^T W_{L-1} ... W_2)^T,   df/dw_L = s W_{L-1} ... W_2 w_1,
      df/dW_l = s (wL^T W_{L-1} ... W_{l+1})^T (W_{l-1} ... W_2 w_1)^T,
      lam = |df/dw_1|^2 + sum_l |df/dW_l|_F^2 + |df/dw_L|^2   (exact rationals for dyadic weights).
* GD by definition: theta' = theta - eta f grad f (loss f^2/2).
* L = 2 is the uv model: Lewkowycz et al. (2020) map, with a label y (g = f - y):
      f' = f - eta g lam + eta^2 g^2 f/n,   lam' = lam - 4 eta g f/n + eta^2 g^2 lam/n,
  so eta_max = 4/lam0 (science.md) -- the reduced map must diverge just above 4 and converge below.
* Gaussian hidden layers: W W^T/n != I, so the isometric reduction is NOT exact.
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
from catapult.numerics.deep import DeepLinearModel, exact_orthogonal
from catapult.numerics.errors import NumericsInputError
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.theory import mse
from catapult.theory.deep import derive_deep_map
from catapult.theory.symbols import eta, n
from catapult.verify.bridge import deep_numeric
from catapult.verify.catalogue.deep import compare_deep
from catapult.verify.deep_thresholds import (iso_threshold_pair, network_invariants, reduced_codes, reduced_diverges64,
                                             reduced_first_edge, reduced_threshold)
from catapult.verify.cli import main

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
DPS = 60
TOL = mpmath.mpf(10) ** -40


# ----------------------------------------------------------------- helpers and oracles (typed here)

def frac_array(a):
    return np.array([Fraction(float(x)) for x in np.ravel(a)], dtype=object).reshape(np.shape(a))


def to_mpf(q: Fraction):
    return mpmath.mpf(q.numerator) / q.denominator


def mpf_to_frac(x):
    man, exp = x.man_exp  # no mpf(x): that would round to the current (default 53-bit) precision
    return Fraction(int(man)) * (Fraction(2) ** int(exp))


def exact_sqrt(n_):
    r = int(round(n_ ** 0.5))
    assert r * r == n_, "product-formula checks use perfect-square widths"
    return r


def product_formula(w1, Ws, wL, n_):
    """f, lam and the gradients (df/dw1, [df/dW_l], df/dwL), exactly (Fractions), for perfect-square n."""
    L = len(Ws) + 2
    s = Fraction(1, exact_sqrt(n_) ** (L - 1))
    rights = [w1]  # rights[i] = W_{i+1} ... W_2 w1 (i hidden layers applied)
    for W in Ws:
        rights.append(W.dot(rights[-1]))
    lefts = [wL]  # lefts[i] = (wL^T W_{L-1} ... )^T after i layers from the top
    for W in reversed(Ws):
        lefts.append(W.T.dot(lefts[-1]))
    f = s * wL.dot(rights[-1])
    g1 = s * lefts[-1]
    gL = s * rights[-1]
    gW = []
    for i in range(len(Ws)):  # layer l = i + 2: left = lefts[len(Ws) - 1 - i], right = rights[i]
        gW.append(s * np.outer(lefts[len(Ws) - 1 - i], rights[i]))
    lam = g1.dot(g1) + gL.dot(gL) + sum((np.sum(g * g) for g in gW), Fraction(0))
    return f, lam, (g1, gW, gL)


def model_arrays(model):
    return frac_array(model.w1), [frac_array(W) for W in model.W0], frac_array(model.wL)


def entry(B, g, i, j=None):
    if B.name == "arb":
        return B.to_mpf(g[i, 0] if j is None else g[i, j])
    return mpmath.mpf(g[i] if j is None else g[i, j])


@functools.lru_cache(maxsize=None)
def deep_map(L, label=None):
    return derive_deep_map(L) if label is None else derive_deep_map(L, mse("y"))


def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------- exact orthogonality

@settings(max_examples=30, **SETTINGS)
@given(k=st.integers(0, 7), seed=st.integers(0, 2**32 - 1), reflections=st.integers(0, 5))
def test_exact_orthogonal_float64(k, seed, reflections):
    nn = 2**k
    Q = exact_orthogonal(nn, np.random.default_rng(seed), reflections=reflections)
    assert Q.shape == (nn, nn)
    assert np.array_equal(Q @ Q.T, np.eye(nn))
    assert np.array_equal(Q.T @ Q, np.eye(nn))


@pytest.mark.parametrize("seed", [0, 1, 2, 12345])
def test_exact_orthogonal_fractions_n16(seed):
    Q = frac_array(exact_orthogonal(16, np.random.default_rng(seed)))
    I = np.array([[Fraction(int(i == j)) for j in range(16)] for i in range(16)], dtype=object)
    assert (Q.dot(Q.T) == I).all()
    assert (Q.T.dot(Q) == I).all()
    # not a trivial signed permutation: the Householder reflections mix the coordinates
    assert sum(1 for q in Q.ravel() if q != 0) > 16


@pytest.mark.parametrize("bad", [3, 6, 12, 50, 100])
def test_exact_orthogonal_rejects_non_power_of_two(bad):
    with pytest.raises(NumericsInputError):
        exact_orthogonal(bad, np.random.default_rng(0))


@pytest.mark.parametrize("nn", [4, 16, 64])
def test_isometric_layers_are_exact_isometries(nn):
    model = DeepLinearModel(nn, 4, seed=3, init="isometric")
    for W in model.W0:
        assert np.array_equal(W @ W.T, nn * np.eye(nn)) and np.array_equal(W.T @ W, nn * np.eye(nn))


@pytest.mark.parametrize("nn", [2, 8, 32, 50])
def test_isometric_init_rejects_widths_that_are_not_powers_of_four(nn):
    with pytest.raises(NumericsInputError):
        DeepLinearModel(nn, 3, seed=0, init="isometric")


# ----------------------------------------------------------------- NTK and gradients vs the product formula

@settings(max_examples=40, **SETTINGS)
@given(L=st.sampled_from([2, 3, 4]), nn=st.sampled_from([1, 4, 9, 16]), seed=st.integers(0, 2**32 - 1),
       init=st.sampled_from(["gaussian", "isometric"]),
       backend=st.sampled_from([("arb", 60), ("mpmath", 40), ("float64", 15)]))
@example(L=3, nn=4, seed=0, init="gaussian", backend=("arb", 60))
@example(L=3, nn=16, seed=1, init="isometric", backend=("float64", 15))
def test_ntk_and_gradients_equal_product_formula(L, nn, seed, init, backend):
    if init == "isometric" and nn not in (1, 4, 16):
        init = "gaussian"
    model = DeepLinearModel(nn, L, seed=seed, init=init)
    w1, Ws, wL = model_arrays(model)
    f, lam, (g1, gW, gL) = product_formula(w1, Ws, wL, nn)
    B = get_backend(*backend)
    tol = mpmath.mpf(10) ** -(backend[1] - 6 if backend[0] != "float64" else 12)
    with B.context():
        theta = model.init(B)
        ev = model.evaluate(theta, B, squared().bind(B))
        fm, lm = B.to_mpf(ev.f), B.to_mpf(ev.lam)
        with mpmath.workdps(80):
            assert abs(lm - to_mpf(lam)) <= tol * to_mpf(lam)
            fscale = mpmath.sqrt(to_mpf(lam)) * max(mpmath.sqrt(to_mpf(w1.dot(w1))), 1)
            assert abs(fm - to_mpf(f)) <= tol * fscale
        # the moves are (c, G) with c G = l'(f) grad f, l'(f) = f (vectors: c = l'(f); matrices: c = l'(f)/sqrt(n),
        # G the outer product): check every gradient entry
        (c1, G1), *mids, (cL, GL) = ev.moves
        gscale = mpmath.sqrt(to_mpf(lam))
        with mpmath.workdps(80):
            assert abs(B.to_mpf(c1) - fm) == 0
            for i in range(nn):
                assert abs(entry(B, G1, i) - to_mpf(g1[i])) <= tol * gscale
                assert abs(entry(B, GL, i) - to_mpf(gL[i])) <= tol * gscale
            for (c, G), gw in zip(mids, gW):
                cm = B.to_mpf(c)
                for i in range(nn):
                    for j in range(nn):
                        assert abs(cm * entry(B, G, i, j) - fm * to_mpf(gw[i, j])) <= tol * gscale * abs(fm)


@pytest.mark.parametrize("L,nn,init", [(3, 4, "gaussian"), (3, 16, "isometric"), (4, 16, "isometric"), (2, 9, "gaussian")])
def test_one_gd_step_is_gd_by_definition(L, nn, init):
    """run_gd's first step = theta - eta f grad f, computed exactly here; f and lam after it to >= 50 digits."""
    model = DeepLinearModel(nn, L, seed=7, init=init)
    w1, Ws, wL = model_arrays(model)
    f, lam, (g1, gW, gL) = product_formula(w1, Ws, wL, nn)
    tr = run_gd(model, squared(), eta_lam0=2.5, steps=1, backend=get_backend("arb", DPS), gtol=0)
    with mpmath.workdps(80):
        assert abs(tr.lam0 - to_mpf(lam)) <= mpmath.mpf(10) ** -55 * to_mpf(lam)
    e = mpf_to_frac(tr.eta)
    w1n = w1 - e * f * g1
    Wn = [W - e * f * g for W, g in zip(Ws, gW)]
    wLn = wL - e * f * gL
    f1, lam1, _ = product_formula(w1n, Wn, wLn, nn)
    with mpmath.workdps(80):
        assert abs(tr.f[1] - to_mpf(f1)) <= mpmath.mpf(10) ** -50 * max(abs(to_mpf(f1)), abs(to_mpf(f)))
        assert abs(tr.lam[1] - to_mpf(lam1)) <= mpmath.mpf(10) ** -50 * to_mpf(lam1)


# ----------------------------------------------------------------- reduced map vs full-width isometric GD

def invariants_exact(model):
    """A = |w_1|^2, C = |w_L|^2, rho = w_L . a_{L-1} (a_l = W_l a_{l-1}/sqrt(n)) = sqrt(n) f0, exactly."""
    w1, Ws, wL = model_arrays(model)
    r = exact_sqrt(model.width)
    a = w1
    for W in Ws:
        a = W.dot(a) / r
    return w1.dot(w1), wL.dot(wL), wL.dot(a)


def reduced_vs_gd(L, nn, seed, x, steps=30, init="isometric", dps=DPS):
    """Per-step (f, lam) from full-width GD (arb) and from the reduced map with the net's own (A, C, rho)."""
    model = DeepLinearModel(nn, L, seed=seed, init=init)
    tr = run_gd(model, squared(), eta_lam0=x, steps=steps, backend=get_backend("arb", dps), gtol=0)
    A_, C_, rho = invariants_exact(model)
    pairs = []
    with mpmath.workdps(dps):
        step, obs, init0 = deep_numeric(deep_map(L), tr.eta, nn, to_mpf(A_), to_mpf(C_), to_mpf(rho))
        s = init0()
        for t in range(tr.steps + 1):
            fv, lv = obs(s)
            pairs.append((fv, lv, tr.f[t], tr.lam[t]))
            s = step(s)
    return tr, pairs


@pytest.mark.parametrize("L,nn", [(L, nn) for L in (2, 3, 4) for nn in (16, 64)])
@settings(max_examples=8, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), x=st.floats(0.5, 7.0, exclude_min=True, exclude_max=True))
@example(seed=0, x=2.0)
@example(seed=1, x=4.0)
def test_reduced_map_equals_isometric_gd(L, nn, seed, x):
    tr, pairs = reduced_vs_gd(L, nn, seed, x)
    assert tr.stop in ("budget", "runaway"), tr.stop
    assert tr.stop == "runaway" or tr.steps == 30
    f0 = abs(pairs[0][2])
    for t, (fv, lv, fg, lg) in enumerate(pairs):
        assert abs(fv - fg) <= TOL * max(abs(fg), f0), (t, fv, fg)
        assert abs(lv - lg) <= TOL * abs(lg), (t, lv, lg)


def test_reduced_map_comparison_covers_a_catapult():
    """Not vacuous: at eta*lam0 = 3 (L = 3, n = 64) the loss rises and lam drops, and the two still agree."""
    tr, pairs = reduced_vs_gd(3, 64, 5, 3.0, steps=60)
    assert max(abs(p[2]) for p in pairs) > 3 * abs(pairs[0][2])
    assert pairs[-1][3] < pairs[0][3] * (1 - 1e-3)
    for fv, lv, fg, lg in pairs:
        assert abs(fv - fg) <= TOL * max(abs(fg), abs(pairs[0][2])) and abs(lv - lg) <= TOL * lg


@pytest.mark.parametrize("L,x", [(2, 1.5), (3, 3.0), (4, 5.0)])
def test_compare_deep_reports_agreement(L, x):
    dig, steps, stop, per_step = compare_deep(L, 64, 11, x, steps=30)
    assert dig >= 40 and len(per_step) == steps + 1
    assert stop == "runaway" or steps == 30


# ----------------------------------------------------------------- L = 2: the Lewkowycz map, symbolically

@pytest.mark.parametrize("label", [None, "y"])
def test_L2_reduced_map_is_the_lewkowycz_map(label):
    dm = deep_map(2, label)
    reps = {dm.symbols[k]: v for k, v in dm.update.items()}
    F, LAM = dm.f, dm.lam
    f_next, lam_next = F.subs(reps, simultaneous=True), LAM.subs(reps, simultaneous=True)
    yl = sp.Symbol("y", real=True) if label else 0
    g = F - yl
    lit_f = F - eta * g * LAM + eta**2 * g**2 * F / n
    lit_lam = LAM - 4 * eta * g * F / n + eta**2 * g**2 * LAM / n
    assert sp.expand(f_next - lit_f) == 0
    assert sp.expand(lam_next - lit_lam) == 0
    if label is None:
        assert sp.expand(f_next - (1 - eta * LAM + eta**2 * F**2 / n) * F) == 0
        assert sp.expand(lam_next - (LAM + eta * F**2 / n * (eta * LAM - 4))) == 0


@pytest.mark.parametrize("L", [2, 3, 4])
def test_reduced_map_initial_state_is_the_network(L):
    """At init f = rho/sqrt(n) and lam = C/n + (L-2) A C/n^2 + A/n  (isometric layers keep every norm)."""
    dm = deep_map(L)
    from catapult.theory.deep import A, C, RHO
    s0 = {dm.symbols[k]: v for k, v in dm.init.items()}
    f0 = sp.simplify(dm.f.subs(s0))
    lam0 = sp.simplify(dm.lam.subs(s0))
    assert sp.simplify(f0 - RHO / sp.sqrt(n)) == 0
    assert sp.simplify(lam0 - (C / n + (L - 2) * A * C / n**2 + A / n)) == 0


def _verdict(L, nn, x, dps=40, steps=20000):
    """Iterate the reduced map with A = C = n, rho = sqrt(n) (so f0 = 1, lam0 = 2 for L = 2) at eta = x/lam0."""
    with mpmath.workdps(dps):
        nv = mpmath.mpf(nn)
        step1, obs1, init1 = deep_numeric(deep_map(L), 1, nv, nv, nv, mpmath.sqrt(nv))
        f0, l0 = obs1(init1())
        e = mpmath.mpf(x) / l0
        step, obs, init = deep_numeric(deep_map(L), e, nv, nv, nv, mpmath.sqrt(nv))
        s = init()
        for _ in range(steps):
            fv, lv = obs(s)
            if not (mpmath.isfinite(fv) and mpmath.isfinite(lv)) or abs(fv) > 1e8 * mpmath.sqrt(nv) or lv > 1e4 * l0:
                return "diverges", (f0, l0)
            # f' = (1 - eta lam + eta^2 f^2/n) f with 0 < eta lam < 2 and negligible f: a geometric contraction
            if abs(fv) < mpmath.mpf(10) ** -12 and 0 < e * lv < 2 - mpmath.mpf(10) ** -6:
                return "converges", (f0, l0)
            s = step(s)
    return "undecided", (f0, l0)


@pytest.mark.parametrize("nn", [16, 64, 100, 1024])
def test_L2_divergence_threshold_is_four(nn):
    v_hi, (f0, l0) = _verdict(2, nn, 4 * (1 + 1e-6))
    assert abs(f0 - 1) < 1e-30 and abs(l0 - 2) < 1e-30
    v_lo, _ = _verdict(2, nn, 4 * (1 - 1e-3))
    assert (v_lo, v_hi) == ("converges", "diverges")


def test_L2_threshold_by_bisection_on_a_network():
    """reduced_threshold (bisection on the reduced map with a real net's A, C, rho) brackets eta*lam0 = 4:
    above 4 the uv map's lam can only grow (lam' - lam = (eta f^2/n)(eta lam - 4) > 0), so it diverges."""
    model = DeepLinearModel(64, 2, seed=1, init="isometric")
    lo, hi, agree = reduced_threshold(model, 3.0, 5.0, rtol=1e-7)
    assert agree
    assert hi > lo and hi >= 4 * (1 - 1e-3)
    assert lo <= 4 * (1 + 1e-7)


# ----------------------------------------------------------------- Gaussian init: the reduction is not exact

@pytest.mark.parametrize("L", [3, 4])
def test_gaussian_init_does_not_match_reduced_map(L):
    tr, pairs = reduced_vs_gd(L, 64, 0, 1.5, steps=5, init="gaussian", dps=30)
    rel = max(max(abs(fv - fg) / max(abs(fg), abs(pairs[0][2])), abs(lv - lg) / abs(lg)) for fv, lv, fg, lg in pairs)
    assert rel > 1e-3
    # the same comparison with isometric layers agrees to >= 25 digits at this precision
    tr_i, pairs_i = reduced_vs_gd(L, 64, 0, 1.5, steps=5, init="isometric", dps=30)
    rel_i = max(max(abs(fv - fg) / max(abs(fg), abs(pairs_i[0][2])), abs(lv - lg) / abs(lg))
                for fv, lv, fg, lg in pairs_i)
    assert rel_i < 1e-25


# ----------------------------------------------------------------- CLI

@pytest.mark.parametrize("argv,needle", [
    (["thresholds", "deep", "--depth", "1"], "depth"),
    (["derive", "deep", "--depth", "1"], "depth"),
    (["thresholds", "deep", "--depth", "2.5"], "depth"),
    (["run", "deep", "--depth", "2.5", "--width", "16", "--eta", "1"], "depth"),
    (["thresholds", "deep"], "--depth"),
    (["run", "deep", "--width", "16", "--eta", "1"], "--depth"),
    (["run", "deep", "--depth", "3", "--width", "50", "--eta-lam0", "1"], "power of 4"),
    (["run", "deep", "--depth", "3", "--width", "50", "--eta-lam0", "1", "--init", "isometric"], "power of 4"),
    (["scan", "deep", "--depth", "3", "--width", "50"], "power of 4"),
])
def test_cli_deep_bad_input_exits_2_with_one_line(argv, needle):
    code, out, err = cli(argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("catapult: error:"), err
    assert needle in lines[0]


def test_cli_thresholds_deep_L3():
    code, out, err = cli(["thresholds", "deep", "--depth", "3", "--json"])
    assert code == 0, err
    d = json.loads(out)
    lam0 = sp.Symbol("lam0")
    assert sp.simplify(sp.sympify(d["eta_crit"]) - 2 / lam0) == 0
    assert d["eta_max"] is None


def test_cli_thresholds_deep_L2_is_the_uv_model():
    """L = 2 is the uv model: eta_crit = 2/lam0 and eta_max = 4/lam0 (Lewkowycz et al.)."""
    code, out, err = cli(["thresholds", "deep", "--depth", "2", "--json"])
    assert code == 0, err
    d = json.loads(out)
    lam0 = sp.Symbol("lam0")
    assert sp.simplify(sp.sympify(d["eta_crit"]) - 2 / lam0) == 0
    assert sp.simplify(sp.sympify(d["eta_max"]) - 4 / lam0) == 0


def test_cli_run_deep_isometric_width_16():
    """A valid deep run: the reported lam0 is the product-formula NTK of the CLI's seed-0 network."""
    code, out, err = cli(["run", "deep", "--depth", "3", "--width", "16", "--eta-lam0", "1", "--steps", "200", "--json"])
    assert code == 0, err
    d = json.loads(out)
    model = DeepLinearModel(16, 3, seed=0, init="isometric")
    _, lam, _ = product_formula(*model_arrays(model), 16)
    assert abs(float(d["lam0"]) - float(lam)) <= 1e-12 * float(lam)


# ----------------------------------------------------------------- the first divergent eta*lam0: reduced map vs full width

def gd_diverges(model, x, steps=2000):
    """Full-width GD's own verdict (float64): runaway / non-finite within ``steps`` steps."""
    tr = run_gd(model, squared(), eta_lam0=x, steps=steps, backend=get_backend("float64"), record=False)
    return tr.stop in ("runaway", "nonfinite")


@pytest.mark.parametrize("L", [2, 3, 4])
def test_first_divergent_threshold_reduced_map_equals_full_width_isometric(L):
    """The reduction is exact, so the first divergent x above 2 is the same number for both: the full-width
    bisection (float64, ends confirmed in arb at 30 digits) lands in the same bracket as the same bisection on the
    map (ends confirmed at 30 digits), within 2e-6 of the map's first edge."""
    model = DeepLinearModel(16, L, seed=2, init="isometric")
    red, full = iso_threshold_pair(model, rtol=1e-6, below=None)
    a, b, mp_ok = full.extra["mirror"]
    assert mp_ok and red.precisions
    assert full.lo <= b and a <= full.hi
    assert abs(full.x - red.x) <= 2e-6 * red.x


@pytest.mark.parametrize("seed,init", [(0, "isometric"), (5, "isometric"), (3, "gaussian")])
def test_L2_first_divergent_threshold_is_four_with_the_networks_own_invariants(seed, init):
    """L = 2 is the uv model: lam' - lam = (eta f^2/n)(eta lam - 4), whatever |w_1|^2, |w_2|^2 and f0 are, so the
    first divergent eta*lam0 is 4 for the map with the network's own invariants, and full-width GD agrees."""
    model = DeepLinearModel(64, 2, seed=seed, init=init)
    e = reduced_first_edge(2, 64, network_invariants(model))
    assert e.lo <= 4 * (1 + 1e-12) and e.hi >= 4 * (1 - 1e-12) and e.hi - e.lo < 1e-8
    assert not gd_diverges(model, 4 * (1 - 1e-6)) and gd_diverges(model, 4 * (1 + 1e-6))


@settings(max_examples=12, **SETTINGS)
@given(L=st.sampled_from([3, 4]), seed=st.integers(0, 2**16), x=st.floats(2.5, 14.0))
def test_reduced_verdict_equals_full_width_verdict(L, seed, x):
    """Away from an edge (the verdict is unchanged at x(1 -/+ 1e-6)), the map's float64 verdict is GD's."""
    model = DeepLinearModel(16, L, seed=seed, init="isometric")
    inv = network_invariants(model)
    v = [reduced_diverges64(L, 16, inv, y) for y in (x * (1 - 1e-6), x, x * (1 + 1e-6))]
    if len(set(v)) > 1:
        return
    assert gd_diverges(model, x) == v[1]
    assert bool(reduced_codes(L, 16, inv, [x])[0]) == v[1]


def test_divergent_set_is_not_an_interval_at_full_width():
    """L = 7, n = 64: within 4e-6 above the first divergent x* there is a divergent point followed by a convergent
    one (found on the map, each with the same float64 verdict at both 1e-8-grid neighbours and re-decided at 30
    digits), and full-width isometric GD has the same verdicts there."""
    model = DeepLinearModel(64, 7, seed=0, init="isometric")
    inv = network_invariants(model)
    e = reduced_first_edge(7, 64, inv)
    xs = e.x + np.linspace(1e-8, 4e-6, 400)
    c = reduced_codes(7, 64, inv, xs)
    robust = [k for k in range(1, len(xs) - 1) if c[k - 1] == c[k] == c[k + 1]]
    j = next(k for k in robust if c[k] == 1)
    k = next(k for k in robust if k > j and c[k] == 0)
    from catapult.verify.deep_thresholds import reduced_diverges_mp
    assert reduced_diverges_mp(7, 64, inv, float(xs[j]), 30) and not reduced_diverges_mp(7, 64, inv, float(xs[k]), 30)
    assert gd_diverges(model, float(xs[j])) and not gd_diverges(model, float(xs[k]))


@pytest.mark.parametrize("width", [100, 8, 32])
def test_isometric_width_must_be_a_power_of_four(width):
    # sqrt(n) must be an integer (scaled orthogonal layers W = sqrt(n) Q) and n a power of 2 (dyadic Q)
    from catapult.numerics.errors import NumericsInputError
    with pytest.raises(NumericsInputError, match="power of 4"):
        DeepLinearModel(width, 3, init="isometric")


# ----------------------------------------------------------------- the gmpy2 (MPFR) arithmetic of reduced runs

@pytest.mark.parametrize("loss_text,L,n,x", [(None, 2, 64, 3.7), (None, 3, 1024, 5.2), ("pi*f**2/2", 2, 64, 1.0)])
def test_reduced_runs_in_mpfr_equal_mpmath_bit_for_bit(loss_text, L, n, x):
    """reduced_run at D digits runs in gmpy2: for maps of + - x / and sqrt (and the constant pi, built at each
    precision) its history is mpmath's, bit for bit, at 30 and then 80 digits (a compile at one precision must not
    leak its constants into the other)."""
    import mpmath
    from catapult.numerics.reduced import run_map
    from catapult.theory import Loss
    from catapult.theory.deep import derive_deep_map
    from catapult.verify.bridge import compile_deep_map
    from catapult.verify.deep_thresholds import reduced_run
    dm = derive_deep_map(L, None if loss_text is None else Loss.parse(loss_text))
    for dps in (30, 80):
        got = reduced_run(dm, n, None, x, dps=dps, steps=60, record=True, rule=None)
        with mpmath.workdps(dps):
            cm = compile_deep_map(dm, "mpmath")
            nn = mpmath.mpf(n)
            c = [mpmath.mpf(1), nn, nn, nn, mpmath.sqrt(nn)]
            s = cm.init(nn)
            c[0] = mpmath.mpf(x) / cm.step(s, c)[2]
            want = run_map(cm.step, s, c, steps=60, rule=None, record=True).history
        assert got.history == want, dps


def test_a_nonfinite_mpfr_state_is_a_nonfinite_verdict():
    import gmpy2
    from catapult.numerics.stop import Stop, StopRule
    nan, inf = gmpy2.mpfr("nan"), gmpy2.mpfr("inf")
    assert StopRule().check(nan, gmpy2.mpfr(1), nan, lam0=1.0, scale=1.0) is Stop.NONFINITE
    assert StopRule().check(gmpy2.mpfr(1), inf, gmpy2.mpfr(1), lam0=1.0, scale=1.0) is Stop.NONFINITE
