"""Reduced maps in lock-step on the fixed-point engine (:mod:`catapult.verify.lockstep`).

Oracles: exact evaluation (mpmath at 2000 bits) of polynomials on the stored inputs; the per-orbit verdicts of the
same derived map in MPFR at 30 digits (:func:`catapult.verify.deep_thresholds.reduced_run`, an independent loop
and arithmetic); the float64 lock-step.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.backends import get_backend
from catapult.verify.deep_thresholds import fixed_lockstep, reduced_lockstep, reduced_run, squared_map
from catapult.verify.lockstep import NotPolynomial, _tape, fixed_program

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
X, Y, Z = sp.symbols("x y z")
CODE = {True: 1, False: 0, None: -1}


def _poly(draw_terms):
    return sum(c * X ** i * Y ** j * Z ** k for c, i, j, k in draw_terms)


TERMS = st.lists(st.tuples(st.integers(-7, 7), st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)),
                 min_size=1, max_size=8)
VALUES = st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=40, **SETTINGS)
@given(TERMS, TERMS, st.lists(VALUES, min_size=1, max_size=5))
@example([(1, 2, 0, 0), (-1, 0, 1, 0), (3, 0, 0, 0)], [(-2, 1, 1, 1)], [[1.5, 0.25, -1.0]])
def test_tape_evaluates_polynomials_to_45_digits(t1, t2, points):
    exprs = [sp.expand(_poly(t1)), sp.expand(_poly(t2))]
    B = get_backend("fixed", 50)
    with B.context():
        third = mpmath.mpf(1) / 3    # inputs off the float64 grid: every product rounds
        cols = [B.vector_exact([mpmath.mpf(p[k]) * third for p in points]) for k in range(3)]
        outs, bad = _tape(exprs, [X, Y, Z])(cols)
        ins = [c.to_mpf() for c in cols]
    assert not bad.any()
    with mpmath.workprec(2000):
        for e, out in zip(exprs, outs):
            absolute = sum(abs(c) for c in sp.Poly(e, X, Y, Z).coeffs()) if e != 0 else 0
            for j, got in enumerate(out.to_mpf()):
                x, y, z = (ins[k][j] for k in range(3))
                exact = sp.lambdify([X, Y, Z], e, "mpmath")(x, y, z)
                assert abs(got - exact) <= mpmath.mpf(10) ** -45 * max(1, absolute)   # |inputs| <= 1


def test_maps_not_polynomial_in_the_state_are_refused_and_run_per_orbit():
    f, lam, eta, n = sp.symbols("f lam eta n", positive=True)
    with pytest.raises(NotPolynomial, match="1/lam"):
        fixed_program({"f": f / lam, "lam": lam}, f, lam, [f, lam], [eta, n])
    with pytest.raises(NotPolynomial, match="exp"):
        fixed_program({"f": f * sp.exp(f), "lam": lam}, f, lam, [f, lam], [eta, n])
    prog = fixed_program({"f": f * (1 - eta * lam / n), "lam": lam}, f, lam, [f, lam], [eta, n])
    assert prog.constants == [-eta / n]    # the state-free part, one number per orbit
    from catapult.theory import Loss
    from catapult.theory.deep import derive_deep_map
    dm = derive_deep_map(2, Loss.parse("log(1+exp(-f))"))   # logistic: l'(f) has exp(f)
    xs = [1.0, 3.0]
    got = reduced_lockstep(dm, 16.0, None, xs, dps=30, steps=300)[0].tolist()
    assert got == [CODE[reduced_run(dm, 16.0, None, x, dps=30, steps=300).stop.verdict] for x in xs]


@settings(max_examples=10, **SETTINGS)
@given(st.integers(2, 5), st.sampled_from([16.0, 64.0, 1024.0]),
       st.lists(st.floats(2.0, 20.0, allow_nan=False), min_size=1, max_size=12), st.booleans())
@example(3, 64.0, [5.0, 6.0, 5.3526213], False)       # one orbit leaves the fixed range and is continued alone
@example(4, 1024.0, [2.5, 7.9, 8.0, 12.0], True)
def test_lockstep_verdicts_are_the_per_orbit_mpfr_verdicts(L, n, xs, own):
    dm = squared_map(L)
    consts = (n * 1.25, n * 0.75, np.sqrt(n) * 0.5) if own else None
    codes, when, alone = fixed_lockstep(dm, n, consts, xs, steps=1000)
    runs = [reduced_run(dm, n, consts, x, dps=30, steps=1000) for x in xs]
    assert codes.tolist() == [CODE[r.stop.verdict] for r in runs]
    assert when.tolist() == [r.steps for r in runs]


def test_lockstep_under_the_band_rule_keeps_the_settle_state_across_a_handoff():
    """The band rule (relative convergence and the settle criterion) on orbits that settle slowly and orbits that
    leave the fixed range: the same verdicts and steps as one MPFR orbit at a time."""
    from catapult.verify.deep_band import band_rule
    rule = band_rule(30)
    xs = [2.2, 3.5, 5.0, 5.3, 5.36, 6.0, 9.0]
    codes, when, alone = fixed_lockstep(squared_map(3), 1024.0, None, xs, steps=3000, rule=rule)
    runs = [reduced_run(squared_map(3), 1024.0, None, x, dps=30, steps=3000, rule=rule) for x in xs]
    assert alone and codes.tolist() == [CODE[r.stop.verdict] for r in runs]
    assert when.tolist() == [r.steps for r in runs]


def test_more_digits_than_the_grid_run_orbit_by_orbit():
    xs = [3.9, 4.1]
    assert reduced_lockstep(squared_map(2), 64.0, None, xs, dps=60)[0].tolist() == [
        CODE[reduced_run(squared_map(2), 64.0, None, x, dps=60).stop.verdict] for x in xs]


def test_an_orbit_out_of_range_is_continued_alone():
    codes, when, alone = fixed_lockstep(squared_map(3), 64.0, None, [5.0, 6.0])
    assert codes.tolist() == [0, 1] and alone == [1]
    assert when[1] == reduced_run(squared_map(3), 64.0, None, 6.0, dps=30).steps
