"""Tests of loss parsing and validation (catapult.theory.loss, catapult.theory.as_loss).

Every bad input must raise catapult.theory.TheoryInputError (a ValueError); every
good input must carry l', l'' equal to derivatives computed here with sympy.diff.
"""

import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import catapult.theory
from catapult.theory import Loss, TheoryInputError, as_loss, mse
from catapult.theory.symbols import f, p, y


def test_error_type_is_value_error():
    assert issubclass(TheoryInputError, ValueError)


@pytest.mark.parametrize("text", ["f + q", "f**2 + q", "x*f", "lam*f**2", "n*f**2", "eta*f", "(f - z)**2/2"])
def test_unknown_symbols_raise(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)
    with pytest.raises(ValueError):  # catchable as ValueError too
        as_loss(text)


@pytest.mark.parametrize("text", ["foo(f)", "g(f)**2", "f**2 + h(f, y)", "F(f)"])
def test_unknown_functions_raise(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)


@pytest.mark.parametrize("text", [
    "abs(f)",
    "Abs(f - 1)**1",
    "Max(f, 0)**2",          # once differentiable only: l'' = 2*Heaviside(f)
    "Max(f, 0)",
    "Min(f, 1)**2",
    "f*abs(f)",              # C^1, not C^2
    "sign(f)*f**2",
    "sqrt(f**2)",            # = Abs(f) for real f
    "Heaviside(f)*f**2",     # C^1, not C^2
    "floor(f)",
    "Piecewise((f**2, f > 0), (0, True))",
])
def test_non_twice_differentiable_raise(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)


def test_max_squared_really_is_only_once_differentiable():
    # the oracle of the previous test: Max(f,0)**2 has a jump in its second derivative at 0
    e = sp.Max(f, 0) ** 2
    d2 = sp.diff(e, f, 2)
    eps = sp.Rational(1, 10**6)
    assert d2.subs(f, eps) != d2.subs(f, -eps)


@pytest.mark.parametrize("text", ["3", "0", "y**2", "p*(1-p)", "log(2)", "y - p"])
def test_loss_without_f_raises(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)


def test_loss_expression_without_f_direct_constructor():
    with pytest.raises(TheoryInputError):
        Loss(y**2)
    with pytest.raises(TheoryInputError):
        Loss(sp.Integer(1))


@pytest.mark.parametrize("text", ["f +* 2", "(f", "f**", "log(f", "f = 2", "", "f > 0", "(f, f)", "1/", "[f]"])
def test_unparseable_or_non_expression_raises(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)


def test_lambda_text_is_not_a_loss():
    with pytest.raises(TheoryInputError):
        Loss.parse("lambda: f")


def test_arg_loss_is_not_twice_differentiable():
    with pytest.raises(TheoryInputError):
        Loss.parse("f*arg(f)")


@pytest.mark.parametrize("text", ["I*f**2", "oo*f**2", "zoo*f"])
def test_non_real_or_infinite_loss_raises(text):
    with pytest.raises(TheoryInputError):
        Loss.parse(text)


def test_bad_label_raises():
    with pytest.raises(TheoryInputError):
        mse("z")


@pytest.mark.parametrize("text, expr", [
    ("f**2/2", f**2 / 2),
    ("(f - y)**2/2", (f - y) ** 2 / 2),
    ("log(cosh(f-1))", sp.log(sp.cosh(f - 1))),
    ("exp(-f)", sp.exp(-f)),
    ("p*log(1+exp(-f))+(1-p)*log(1+exp(f))", p * sp.log(1 + sp.exp(-f)) + (1 - p) * sp.log(1 + sp.exp(f))),
    ("f**4/4", f**4 / 4),
    ("sqrt(1 + f**2)", sp.sqrt(1 + f**2)),  # pseudo-Huber: smooth
])
def test_good_losses_and_derivatives(text, expr):
    L = Loss.parse(text)
    assert sp.simplify(L.expr - expr) == 0
    assert sp.simplify((L.d1 - sp.diff(expr, f)).rewrite(sp.exp)) == 0
    assert sp.simplify((L.d2 - sp.diff(expr, f, 2)).rewrite(sp.exp)) == 0
    assert L.expr.free_symbols <= {f, y, p}
    # the parsed f is the engine's real symbol, not a fresh one
    assert f in L.expr.free_symbols


def test_params():
    assert mse("y").params == (y,)
    assert mse().params == ()
    assert Loss.parse("p*log(1+exp(-f))+(1-p)*log(1+exp(f))").params == (p,)
    assert set(Loss.parse("(f-y)**2*p").params) == {p, y}


def test_mse_forms():
    assert sp.simplify(mse().expr - f**2 / 2) == 0
    assert sp.simplify(mse(1).expr - (f - 1) ** 2 / 2) == 0
    assert sp.simplify(mse(0.5).expr - (f - sp.Rational(1, 2)) ** 2 / 2) == 0  # floats kept exact
    assert sp.simplify(mse("y").d1 - (f - y)) == 0
    assert mse("y").d2 == 1


def test_as_loss_dispatch():
    L = mse()
    assert as_loss(L) is L
    assert sp.simplify(as_loss("mse").expr - f**2 / 2) == 0
    assert sp.simplify(as_loss("exp(-f)").d1 + sp.exp(-f)) == 0


def test_subs_exact():
    L = mse("y").subs({"y": 0.25})
    assert sp.simplify(L.expr - (f - sp.Rational(1, 4)) ** 2 / 2) == 0
    L2 = Loss.parse("p*log(1+exp(-f))+(1-p)*log(1+exp(f))").subs({p: sp.Rational(7, 10)})
    assert L2.params == ()


def test_latex_of_loss():
    tex = mse().latex()
    assert "f" in tex and r"\frac" in tex


def test_derive_rejects_bad_loss_through_top_level_api():
    for bad in ("f + q", "foo(f)", "abs(f)", "3", "f +* 2"):
        with pytest.raises(TheoryInputError):
            catapult.theory.derive("uv", bad)
        with pytest.raises(TheoryInputError):
            catapult.theory.thresholds("uv", bad)


def test_unknown_model_raises():
    with pytest.raises(TheoryInputError):
        catapult.theory.derive("mlp", "mse")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=6).filter(any))
@example([0, 1])
@example([1])           # linear loss: l'' = 0 but smooth: accepted
def test_random_polynomial_loss_parses_with_exact_derivatives(coeffs):
    expr = sum(c * f ** (k + 1) for k, c in enumerate(coeffs))
    L = Loss.parse(str(expr))
    assert sp.expand(L.expr - expr) == 0
    assert sp.expand(L.d1 - sp.diff(expr, f)) == 0
    assert sp.expand(L.d2 - sp.diff(expr, f, 2)) == 0
