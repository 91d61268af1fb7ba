"""The exact zero test (catapult.theory.identity) against SymPy's cancel on random rational expressions, and on
the identities the catalogue proves with it."""

import sympy as sp
from hypothesis import example, given, settings, strategies as st

from catapult.theory.identity import is_zero, vanishes

X, Y, Z = sp.symbols("x y z")
LEAVES = st.sampled_from([X, Y, Z, sp.Integer(1), sp.Integer(2), sp.Rational(-1, 3)])


def _combine(children):
    return st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children).map(_apply)


def _apply(t):
    op, a, b = t
    if op == "/":
        return a / b if b != 0 else a
    return {"+": a + b, "-": a - b, "*": a * b}[op]


EXPRS = st.recursive(LEAVES, _combine, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(EXPRS, EXPRS)
@example(1 / (1 + 1 / X), X / (X + 1))
@example(1 / (X - Y) - 1 / (X + Y), 2 * Y / (X**2 - Y**2))
@example(X / (X + 1), 1 - 1 / (X + 1))
def test_is_zero_agrees_with_cancel(a, b):
    e = a - b
    want = sp.cancel(sp.together(e)) == 0
    assert is_zero(e) is want


@settings(max_examples=60, deadline=None)
@given(EXPRS)
def test_an_expression_minus_its_cancelled_form_is_zero(a):
    # the same function written differently (one fraction, gcd cancelled) must be recognised as equal
    assert is_zero(a - sp.cancel(sp.together(a))) is True
    assert is_zero(a - sp.cancel(sp.together(a)) + sp.Rational(1, 10**12) * X) is False


def test_outside_the_class_falls_back_to_cancel():
    r = sp.Symbol("r", positive=True)
    assert is_zero(sp.sqrt(X) - X) is None and is_zero(sp.Float(0.5) * X) is None and is_zero(sp.exp(X)) is None
    assert vanishes(sp.sqrt(r) * sp.sqrt(r) / r - 1) and not vanishes(sp.sqrt(X) - X)


def test_deep_jacobian_identity_and_a_perturbed_one():
    """grad f . u = -eta lam on the depth-3 reduced map (the proof behind deep eta_crit), and the same identity
    with lam scaled by (1 + 1/n) is refuted -- by the new test and by cancel alike."""
    from catapult.theory.deep import derive_deep_map
    from catapult.theory.reduce import SLOPE
    from catapult.theory.symbols import eta, n
    dm = derive_deep_map(3)
    upd = sp.Matrix([dm.update_slope[str(v)] for v in dm.state])
    u = sp.Matrix([sp.diff(e, SLOPE) for e in upd])
    grad = sp.Matrix([sp.diff(dm.f, v) for v in dm.state])
    r = sp.Symbol("r", positive=True)
    e = ((grad.T * u)[0, 0] + eta * dm.lam).subs(n, r**2)
    assert is_zero(e) is True
    bad = ((grad.T * u)[0, 0] + eta * dm.lam * (1 + 1 / n)).subs(n, r**2)
    assert is_zero(bad) is False and sp.cancel(sp.together(bad)) != 0
