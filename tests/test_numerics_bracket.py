"""The one stop rule (scalar and lock-step agree), the one bisection and the one precision ladder.

Oracles typed in here: sqrt(2) as the change of x^2 > 2; the uv map's divergence onset eta*lam0 = 4 (Lewkowycz et
al. 2020: at eta*lam0 = 4 lam is frozen, above it lam grows), iterated as a compiled map.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catapult.numerics.bracket import Bracket, NoStraddle, agree, bisect, bisect_ladder, first_change, straddle
from catapult.numerics.reduced import run_map, run_map_lockstep
from catapult.numerics.stop import CONVERGED, DIVERGED, GOING, Settle, Stop, StopRule

SETTINGS = dict(deadline=None, derandomize=True, database=None)

finite_or_not = st.one_of(st.floats(-1e12, 1e12), st.sampled_from([math.inf, -math.inf, math.nan]))


@settings(max_examples=300, **SETTINGS)
@given(f=finite_or_not, lam=finite_or_not, g=st.one_of(st.floats(0, 1e3), st.sampled_from([1e-13, math.nan])),
       lam0=st.floats(1e-3, 1e3), scale=st.floats(1e-3, 1e3))
def test_lockstep_check_is_the_scalar_check(f, lam, g, lam0, scale):
    rule = StopRule()
    one = rule.check(f, lam, g, lam0=lam0, scale=scale)
    many = rule.check_many(np.array([f]), np.array([lam]), np.array([g]), lam0=lam0, scale=scale)[0]
    want = GOING if one is None else CONVERGED if one is Stop.CONVERGED else DIVERGED
    assert many == want and (one is None or one in (Stop.CONVERGED,) or one.diverged)


BAND = StopRule(gtol=0, rel=1e-15, floor=1e-13, settle=Settle())


@settings(max_examples=300, **SETTINGS)
@given(f=finite_or_not, lam=st.floats(0, 10), g=st.floats(0, 1e3), f0=st.floats(1e-30, 10), g0=st.floats(1e-30, 10),
       h=st.floats(0, 2), calm=st.integers(0, 200), scale=st.floats(1e-3, 1e3))
def test_lockstep_check_is_the_scalar_check_with_the_optional_criteria(f, lam, g, f0, g0, h, calm, scale):
    one = BAND.check(f, lam, g, lam0=1.0, scale=scale, start=(f0, g0), stiffness=h, calm=calm)
    many = BAND.check_many(np.array([f]), np.array([lam]), np.array([g]), lam0=1.0, scale=scale,
                           start=(np.array([f0]), np.array([g0])), stiffness=np.array([h]), calm=np.array([calm]))[0]
    want = GOING if one is None else CONVERGED if one.verdict is False else DIVERGED
    assert many == want


def test_settle_counts_calm_steps_and_restarts_on_a_rise():
    s, prev, calm = Settle(steps=3), None, 0
    for f in (1e-3, 9e-4, 8e-4, 7e-4):
        calm = s.count(calm, f, 1.0, prev, 1.0, 1.0)
        prev = (f, 1.0)
    assert calm == 3                                    # the first step has no previous one: not calm
    assert s.count(calm, 8e-4, 1.0, prev, 1.0, 1.0) == 0   # |f| grew
    assert s.count(calm, 6e-4, 2.5, prev, 1.0, 1.0) == 0   # unstable step (stiffness x lam >= 2)
    arr = s.count(np.array([2, 2]), np.array([6e-4, 8e-4]), np.ones(2), (np.full(2, 7e-4), np.ones(2)), 1.0, 1.0)
    assert arr.tolist() == [3, 0]


def test_run_map_lockstep_is_run_map_under_the_band_rule():
    # f' = f (1 - eta lam), lam' = lam (1 - eta f^2): contracting for 0 < eta lam < 2 -- the settle rule decides the
    # slow ones (eta lam near 0 or 2), the relative rule the others; eta = 2.5 catapults (lam falls as f grows)
    # and converges; eta = 4 runs away
    def fused(s, c):
        (f, lam), (eta,) = s, c
        return [f * (1 - eta * lam), lam * (1 - eta * f * f)], f, lam
    etas = np.array([1e-3, 0.3, 1.0, 1.999, 2.5, 4.0])
    codes, when = run_map_lockstep(fused, [0.01 * np.ones(6), np.ones(6)], [etas], steps=3000, slope=lambda f: f,
                                   scale=1.0, lam0=np.ones(6), rule=BAND, stiffness=etas)
    for k, e in enumerate(etas):
        r = run_map(fused, [0.01, 1.0], [float(e)], steps=3000, slope=lambda f: f, scale=1.0, rule=BAND,
                    stiffness=float(e))
        assert (codes[k], when[k]) == ({True: DIVERGED, False: CONVERGED, None: GOING}[r.stop.verdict], r.steps)
    assert codes.tolist() == [0, 0, 0, 0, 0, 1]
    assert run_map(fused, [0.01, 1.0], [1e-3], steps=3000, slope=lambda f: f, rule=BAND, stiffness=1e-3).stop \
        is Stop.SETTLED


def test_stop_is_a_string_that_prints_and_serialises_as_its_value():
    assert Stop.CONVERGED == "converged" and Stop.RUNAWAY in ("runaway", "nonfinite")
    assert f"{Stop.BUDGET}" == str(Stop.BUDGET) == "budget"
    assert json.dumps({"stop": Stop.UNTIL}) == '{"stop": "until"}'
    assert [s for s in Stop if s.diverged] == [Stop.RUNAWAY, Stop.NONFINITE]


def test_stop_rule_order_nonfinite_before_runaway_before_converged():
    rule = StopRule(gtol=1e-12)
    assert rule.check(math.nan, 1e9, 0.0, lam0=1, scale=1) is Stop.NONFINITE
    assert rule.check(1e9, 1.0, 0.0, lam0=1, scale=1) is Stop.RUNAWAY       # runaway even with a zero gradient
    assert rule.check(1.0, 1.0, 0.0, lam0=1, scale=1, radius=1.0) is Stop.PRECISION
    assert rule.check(1.0, 1.0, 0.0, lam0=1, scale=1) is Stop.CONVERGED


@settings(max_examples=50, **SETTINGS)
@given(c=st.floats(1.01, 1e6), rtol=st.sampled_from([1e-3, 1e-6, 1e-10]))
def test_bisect_brackets_the_root_to_rtol(c, rtol):
    b = bisect(lambda x: x * x > c, 0.0, c + 1, rtol)
    assert b.lo * b.lo <= c < b.hi * b.hi
    assert b.hi - b.lo <= rtol * b.hi and b.converged
    assert b.iterations <= math.ceil(math.log2((c + 1) / (rtol * math.sqrt(c)))) + 1


def test_bisect_stops_on_an_undecided_verdict():
    b = bisect(lambda x: None if x == 0.75 else x > 0.9, 0.0, 1.0, 1e-6)
    assert not b.converged and b.iterations == 2 and (b.lo, b.hi) == (0.5, 1.0)


def test_straddle_widens_only_the_failing_end():
    lo, hi, evals, v = straddle(lambda x: x >= 2, 2.0, 3.0, tries=3, factor=2)
    assert (lo, hi, v) == (1.0, 3.0, (False, True)) and evals == 4


def test_bisect_ladder_escalates_when_the_next_precision_disagrees():
    # a verdict whose edge moves with precision until 'mp60': the float64 bracket is re-decided, one rung up
    edge = {None: 1.5, 30: 1.25, 60: 1.2, 120: 1.2}
    b = bisect_ladder(lambda x, d: x > edge[d], 1.0, 2.0, 1e-9, [None, 30, 60, 120], tag=str)
    assert b.converged and b.precisions == ["60", "120"] and b.escalations == 2
    assert b.lo <= 1.2 <= b.hi


def test_bisect_ladder_reports_disagreement_and_refuses_a_non_straddling_bracket():
    b = bisect_ladder(lambda x, d: x > d, 0.0, 10.0, 1e-6, [1, 2, 3])
    assert not b.converged and b.notes[-1].startswith("precisions never agreed")
    with pytest.raises(NoStraddle):
        bisect_ladder(lambda x, d: x > 5, 6.0, 10.0, 1e-6, [1, 2])
    assert not bisect_ladder(lambda x, d: x > 5, 6.0, 10.0, 1e-6, [1, 2], strict=False).converged


def test_bisect_ladder_edge_slack_accepts_an_edge_on_a_bracket_end():
    # the verdict at exactly x = 4 flips with the rung (a threshold sitting on a grid point)
    b = bisect_ladder(lambda x, d: x > 4 if d == "a" else x >= 4, 4.0, 5.0, 0.5, ["a", "b"], edge_slack=True,
                      tries=(0, 0))
    assert b.converged and b.lo < 4 < b.hi


def test_agree_climbs_until_two_consecutive_precisions_agree():
    a = agree(lambda d: round(math.pi, d // 10), [10, 20, 30, 30])
    assert a.agreed and a.precisions == ["30", "30"] and a.value == round(math.pi, 3)
    d = agree(lambda d: d, [1, 2])
    assert not d.agreed and d.value is None and [r for _, r in d.results] == [1, 2]


def test_first_change_and_bracket_json():
    i, v = first_change(lambda x: x > 2, [1, 2, 3, 4])
    assert (i, v) == (2, [False, False, True, True])
    assert first_change(lambda x: False, [1, 2])[0] is None
    j = Bracket(mpmath.mpf(1), mpmath.mpf(2), criterion="c", precisions=["float64"], extra={"w": mpmath.mpf(3)}).to_json()
    assert j["bracket"] == [1.0, 2.0] and j["x"] == 1.5 and j["w"] == 3.0 and json.dumps(j)


def _uv(s, c):
    (f, lam), (eta, n) = s, c
    return [(1 - eta * lam + eta ** 2 * f ** 2 / n) * f, lam + eta * f ** 2 / n * (eta * lam - 4)], f, lam


@pytest.mark.parametrize("n", [64, 1024])
def test_compiled_uv_map_diverges_exactly_above_four_in_every_arithmetic(n):
    lam0 = 2.0
    xs = np.array([3.9, 3.99, 4.01, 4.5])
    one = np.ones(xs.size)
    codes, _ = run_map_lockstep(_uv, [one, lam0 * one], [xs / lam0, n * one], steps=5000, slope=lambda f: f,
                                scale=math.sqrt(n), lam0=lam0 * one)
    floats = [run_map(_uv, [1.0, lam0], [x / lam0, float(n)], steps=5000, slope=lambda f: f,
                      scale=math.sqrt(n)).stop for x in xs]
    with mpmath.workdps(40):
        mps = [run_map(_uv, [mpmath.mpf(1), mpmath.mpf(lam0)], [mpmath.mpf(x) / lam0, mpmath.mpf(n)], steps=5000,
                       slope=lambda f: f, scale=mpmath.sqrt(n)).stop for x in xs]
    assert codes.tolist() == [CONVERGED, CONVERGED, DIVERGED, DIVERGED]
    assert [s.diverged for s in floats] == [s.diverged for s in mps] == [False, False, True, True]
    assert floats[0] is Stop.CONVERGED


def test_run_map_counts_an_arithmetic_error_as_nonfinite():
    r = run_map(lambda s, c: ([s[0] ** 2], s[0], 1.0), [10.0], [], steps=100, slope=lambda f: f, scale=1e300)
    # f_t = 10^(2^t): the step from f_8 = 10^256 overflows a float's ** (OverflowError), decided at t = 8
    assert r.stop is Stop.NONFINITE and r.steps == 8


def test_bisection_with_mpmath_ends_goes_below_float64_resolution():
    """A 30-digit threshold: mpmath ends are halved exactly whatever the global context's precision (15 digits
    here), so the bracket reaches rtol 1e-30 and holds sqrt(2) (it stalled at ~1e-16 when the midpoints were
    rounded to the global context)."""
    with mpmath.workdps(60):
        root = mpmath.sqrt(2)
    b = bisect(lambda x: x > root, mpmath.mpf(1), mpmath.mpf(2), 1e-30)
    assert b.converged and not b.notes
    assert b.lo < root < b.hi and (b.hi - b.lo) / b.hi <= 1e-30
    with mpmath.workdps(60):   # an edge-slack widening keeps sub-ulp widths too
        r = bisect_ladder(lambda x, d: x >= root, mpmath.mpf(1), mpmath.mpf(2), 1e-30, ["a", "b"], edge_slack=True)
    assert r.converged and r.lo < root <= r.hi and r.hi - r.lo < 1e-29
