"""Tests of the derived one-step function-space map (catapult.theory.derive / catapult.theory.derive_map).

Oracles, all typed here (never imported from theory/):

* Lewkowycz et al. (2020), uv model, squared loss, label 0 (science.md):
      f'   = (1 - eta*lam + eta**2*f**2/n) * f
      lam' = lam + (eta*f**2/n) * (eta*lam - 4)
* The same map for a general loss, derived by hand from one GD step on the
  parameters u, v in R^n with f = u.v/sqrt(n), lam = (|u|^2 + |v|^2)/n and
  g = l'(f) (dL/du = g v/sqrt(n), dL/dv = g u/sqrt(n)):
      u' = u - eta*g*v/sqrt(n),  v' = v - eta*g*u/sqrt(n)
      f'   = u'.v'/sqrt(n) = f - eta*g*lam + eta**2*g**2*f/n
      lam' = (|u'|^2 + |v'|^2)/n = lam - 4*eta*g*f/n + eta**2*g**2*lam/n
* An explicit, exact GD step on concrete small vectors of sympy Rationals.
"""

import json

import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import catapult.theory
from catapult.theory.symbols import SYMBOLS, eta, f, lam, n, p, y

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------- oracles (typed here)

def lit_map_mse0():
    """Lewkowycz et al. (2020), eq. for the uv model, label 0."""
    return {"f": (1 - eta * lam + eta**2 * f**2 / n) * f,
            "lam": lam + (eta * f**2 / n) * (eta * lam - 4)}


def hand_map(g):
    """The uv map for loss slope g = l'(f), derived by hand (see module docstring)."""
    return {"f": f - eta * g * lam + eta**2 * g**2 * f / n,
            "lam": lam - 4 * eta * g * f / n + eta**2 * g**2 * lam / n}


def is_zero(expr):
    """simplify(a - b) == 0, after writing hyperbolic functions through exp (fast, canonical)."""
    return sp.simplify(sp.sympify(expr).rewrite(sp.exp)) == 0


LOGISTIC = "p*log(1+exp(-f))+(1-p)*log(1+exp(f))"
GENERIC_LOSSES = {
    "log(cosh(f-1))": sp.log(sp.cosh(f - 1)),
    "exp(-f)": sp.exp(-f),
    LOGISTIC: p * sp.log(1 + sp.exp(-f)) + (1 - p) * sp.log(1 + sp.exp(f)),
}


# ----------------------------------------------------------------- mse, label 0

def test_mse_label0_is_lewkowycz_map_exactly():
    m = catapult.theory.derive("uv", "mse")
    assert m.exact is True
    assert m.state == [f, lam]
    assert set(m.update) == {"f", "lam"}
    lit = lit_map_mse0()
    for k in ("f", "lam"):
        assert is_zero(m.update[k] - lit[k]), k
        # the same symbols (with their assumptions), nothing else
        assert m.update[k].free_symbols <= {f, lam, eta, n}


def test_derive_map_matches_derive():
    m1 = catapult.theory.derive("uv", "mse")
    m2 = catapult.theory.derive_map(catapult.theory.uv_model(), catapult.theory.mse())
    for k in ("f", "lam"):
        assert is_zero(m1.update[k] - m2.update[k])


def test_mse_label0_drift_factorises_as_literature():
    # lam' - lam = (eta f^2 / n)(eta lam - 4): the sign of the drift flips at eta*lam = 4
    m = catapult.theory.derive("uv", "mse")
    assert is_zero(m.drift("lam") - (eta * f**2 / n) * (eta * lam - 4))
    assert is_zero(m.drift("f") - (-eta * lam + eta**2 * f**2 / n) * f)


def test_mse_label0_fixed_points_and_lam_sign_change():
    # independent facts of the literature map: f = 0 is a fixed line; at eta*lam = 4 lam is frozen
    m = catapult.theory.derive("uv", "mse")
    assert m.update["f"].subs(f, 0) == 0
    assert is_zero(m.update["lam"].subs(f, 0) - lam)
    assert is_zero(m.update["lam"].subs(lam, 4 / eta) - 4 / eta)


# ----------------------------------------------------------------- mse, symbolic label

def test_mse_symbolic_label_map():
    m = catapult.theory.derive("uv", catapult.theory.mse("y"))
    assert m.exact is True
    assert m.state == [f, lam]
    want_f = f - eta * (f - y) * lam + eta**2 * (f - y) ** 2 * f / n
    want_lam = lam - 4 * eta * (f - y) * f / n + eta**2 * (f - y) ** 2 * lam / n
    assert is_zero(m.update["f"] - want_f)
    assert is_zero(m.update["lam"] - want_lam)
    # and it reduces to Lewkowycz at y = 0
    lit = lit_map_mse0()
    for k in ("f", "lam"):
        assert is_zero(m.update[k].subs(y, 0) - lit[k])


def test_mse_numeric_label_map():
    m = catapult.theory.derive("uv", catapult.theory.mse(sp.Rational(3, 2)))
    h = hand_map(f - sp.Rational(3, 2))
    for k in ("f", "lam"):
        assert is_zero(m.update[k] - h[k])


# ----------------------------------------------------------------- generic losses

@pytest.mark.parametrize("text", sorted(GENERIC_LOSSES))
def test_generic_loss_map_is_hand_formula(text):
    m = catapult.theory.derive("uv", text)
    assert m.exact is True
    assert m.state == [f, lam]
    g = sp.diff(GENERIC_LOSSES[text], f)  # slope computed here, independently of catapult.theory.loss
    h = hand_map(g)
    for k in ("f", "lam"):
        assert is_zero(m.update[k] - h[k]), (text, k)


polys = st.lists(st.integers(-4, 4), min_size=1, max_size=5).filter(lambda cs: any(cs))


@SETTINGS
@given(polys)
@example([0, 1])          # f**2  (mse up to a factor 2)
@example([-1, 0, 0, 1])   # -f + f**4
def test_random_polynomial_loss_map(coeffs):
    loss = sum(c * f ** (k + 1) for k, c in enumerate(coeffs))
    m = catapult.theory.derive("uv", str(loss))
    assert m.exact is True
    h = hand_map(sp.diff(loss, f))
    for k in ("f", "lam"):
        assert sp.expand(m.update[k] - h[k]) == 0


# ----------------------------------------------------------------- independent check: explicit vectors

def explicit_step(u, v, eta_val, loss_expr):
    """One exact GD step on explicit vectors u, v in Q^n for L = loss(f), f = u.v/sqrt(n)."""
    nn = len(u)
    u, v = sp.Matrix([sp.Rational(x) for x in u]), sp.Matrix([sp.Rational(x) for x in v])
    eta_val = sp.Rational(eta_val)
    fval = (u.T * v)[0, 0] / sp.sqrt(nn)
    lamval = ((u.T * u)[0, 0] + (v.T * v)[0, 0]) / nn
    # dL/du = l'(f) * df/du = l'(f) v/sqrt(n);  dL/dv = l'(f) u/sqrt(n)
    g = sp.diff(loss_expr, f).subs(f, fval)
    u2 = u - eta_val * g * v / sp.sqrt(nn)
    v2 = v - eta_val * g * u / sp.sqrt(nn)
    f2 = (u2.T * v2)[0, 0] / sp.sqrt(nn)
    lam2 = ((u2.T * u2)[0, 0] + (v2.T * v2)[0, 0]) / nn
    return fval, lamval, f2, lam2


rationals = st.fractions(min_value=-3, max_value=3, max_denominator=7).map(sp.Rational)
vec4 = st.lists(rationals, min_size=4, max_size=4)
eta_lam = st.fractions(min_value=sp.Rational(1, 10), max_value=5, max_denominator=10).map(sp.Rational)


@SETTINGS
@given(vec4, vec4, eta_lam)
@example([1, 2, 0, -1], [sp.Rational(1, 2), 1, 3, 1], sp.Integer(2))
@example([1, 2, 0, -1], [sp.Rational(1, 2), 1, 3, 1], sp.Integer(4))
def test_explicit_vectors_mse_rational_exact(u, v, el):
    u, v, el = [sp.Rational(x) for x in u], [sp.Rational(x) for x in v], sp.Rational(el)
    if all(x == 0 for x in u + v):
        return
    m = catapult.theory.derive("uv", "mse")
    loss = f**2 / 2
    lam_val = (sum(x * x for x in u) + sum(x * x for x in v)) / 4
    eta_val = el / lam_val  # eta*lam0 = el, pinned at 2 and 4
    fval, lamval, f2, lam2 = explicit_step(u, v, eta_val, loss)
    assert fval.is_Rational and f2.is_Rational and lam2.is_Rational  # n = 4: sqrt(n) = 2
    assert lam_val == lamval and fval.is_Rational and lam2.is_Rational
    reps = {f: fval, lam: lamval, eta: eta_val, n: 4}
    assert m.update["f"].subs(reps) == f2
    assert m.update["lam"].subs(reps) == lam2


@SETTINGS
@given(vec4, vec4, eta_lam, st.lists(st.integers(-3, 3), min_size=2, max_size=4).filter(any))
@example([1, 0, 0, 1], [1, 1, 0, 0], sp.Integer(2), [0, 1])
@example([1, 0, 0, 1], [1, 1, 0, 0], sp.Integer(4), [1, 0, 1])
def test_explicit_vectors_polynomial_loss_rational_exact(u, v, el, coeffs):
    u, v, el = [sp.Rational(x) for x in u], [sp.Rational(x) for x in v], sp.Rational(el)
    if all(x == 0 for x in u + v):
        return
    loss = sum(c * f ** (k + 1) for k, c in enumerate(coeffs))
    m = catapult.theory.derive("uv", str(loss))
    lam_val = (sum(x * x for x in u) + sum(x * x for x in v)) / 4
    eta_val = el / lam_val
    fval, lamval, f2, lam2 = explicit_step(u, v, eta_val, loss)
    assert lam_val == lamval and fval.is_Rational and lam2.is_Rational
    reps = {f: fval, lam: lamval, eta: eta_val, n: 4}
    assert m.update["f"].subs(reps) == f2
    assert m.update["lam"].subs(reps) == lam2


def test_explicit_vectors_symbolic_label_n3():
    # n = 3: f is irrational (sqrt(3)); the equality is still exact in Q(sqrt(3), y)
    u, v = [1, 2, sp.Rational(-1, 2)], [sp.Rational(1, 3), 1, 2]
    loss = (f - y) ** 2 / 2
    eta_val = sp.Rational(7, 5)
    fval, lamval, f2, lam2 = explicit_step(u, v, eta_val, loss)
    m = catapult.theory.derive("uv", catapult.theory.mse("y"))
    reps = {f: fval, lam: lamval, eta: eta_val, n: 3}
    assert sp.expand(m.update["f"].subs(reps) - f2) == 0
    assert sp.expand(m.update["lam"].subs(reps) - lam2) == 0


@pytest.mark.parametrize("text", sorted(GENERIC_LOSSES))
def test_explicit_vectors_transcendental_losses(text):
    u, v = [1, sp.Rational(1, 2), 0, 2], [sp.Rational(3, 2), -1, 1, 1]
    eta_val = sp.Rational(5, 7)
    expr = GENERIC_LOSSES[text].subs(p, sp.Rational(7, 10))
    fval, lamval, f2, lam2 = explicit_step(u, v, eta_val, expr)
    m = catapult.theory.derive("uv", text)
    reps = {f: fval, lam: lamval, eta: eta_val, n: 4, p: sp.Rational(7, 10)}
    for got, want in ((m.update["f"].subs(reps), f2), (m.update["lam"].subs(reps), lam2)):
        assert is_zero(got - want)
        assert abs(sp.N(got - want, 60)) < sp.Float("1e-55")


# ----------------------------------------------------------------- JSON / LaTeX

@pytest.mark.parametrize("loss", ["mse", "log(cosh(f-1))", "exp(-f)", LOGISTIC, "(f - y)**2/2", "f**4/4 - f"])
def test_json_round_trip(loss):
    m = catapult.theory.derive("uv", loss)
    d = m.to_json()
    json.loads(json.dumps(d))  # serialisable
    assert d["exact"] is True
    assert d["state"] == ["f", "lam"]
    assert d["model"] == "uv"
    assert set(d["update"]) == {"f", "lam"}
    for k, s in d["update"].items():
        back = sp.sympify(s, locals=SYMBOLS)
        assert back == m.update[k] or is_zero(back - m.update[k]), (loss, k)
        # parses back in the engine's symbols (with assumptions), not fresh ones
        assert back.free_symbols <= set(SYMBOLS.values())
    assert is_zero(sp.sympify(d["loss"], locals=SYMBOLS) - m.loss.expr)


def test_latex_contains_lambda_and_eta():
    tex = catapult.theory.derive("uv", "mse").latex()
    assert r"\lambda" in tex
    assert r"\eta" in tex
    assert tex.startswith(r"\begin{aligned}") and tex.rstrip().endswith(r"\end{aligned}")
    assert "lam" not in tex.replace(r"\lambda", "")


# ----------------------------------------------------------------- the API takes what the CLI offers (issue #9)

@pytest.mark.parametrize("pv", [None, "7/10"])
def test_derive_accepts_the_logistic_name(pv):
    """derive("uv", "logistic") failed in the API while `catapult derive uv --loss logistic` worked. The map is the
    hand formula with the slope of p log(1 + e^-f) + (1 - p) log(1 + e^f) typed here (p symbolic or 7/10)."""
    P = p if pv is None else sp.Rational(7, 10)
    m = catapult.theory.derive("uv", "logistic") if pv is None else catapult.theory.derive("uv", "logistic", p=pv)
    g = sp.diff(P * sp.log(1 + sp.exp(-f)) + (1 - P) * sp.log(1 + sp.exp(f)), f)
    h = hand_map(g)
    for k in ("f", "lam"):
        assert is_zero(m.update[k] - h[k]), k


def test_derive_deep_needs_and_takes_a_depth():
    with pytest.raises(catapult.theory.TheoryInputError, match="depth"):
        catapult.theory.derive("deep")
    with pytest.raises(catapult.theory.TheoryInputError, match="depth"):
        catapult.theory.derive("uv", depth=3)
    dm = catapult.theory.derive("deep", "mse", depth=3)
    # depth 3: (a1, a2, b1, b2) and one hidden layer's 2x2 block; squared loss
    assert dm.L == 3 and len(dm.state) == 8 and dm.loss.expr == f**2 / 2
