"""Hypothesis strategies users reuse in their own property tests.

Each strategy draws one ingredient of a catapult experiment: a width, a seed,
a learning rate inside a phase (as a multiple of 1/lam0, phases of the
squared loss), or a smooth loss expression.  Boundaries are included as
explicit values so shrinking lands on them.

Phase-interior learning rates depend on the width: at finite n the loss first rises at
eta*lam0 = x_c = 4 / (1 + sqrt(1 - 8a)) > 2 with a = f0^2 / (n lam0^2) (exact, first step of the
uv map: f1/f0 = 1 - x + a x^2 = -1).  :func:`uv_phase_points` draws (width, seed, x) with x inside the
exact phase of that very draw; :func:`eta_lam0_in` with a ``width`` uses a width-only bound on a.

A settings profile ``"catapult"`` (no deadline: a high-precision run takes longer than 200 ms; the
too_slow and filter_too_much health checks off) is registered on import; the repository's
``conftest.py`` loads it, your own tests can with ``settings.load_profile("catapult")``.

Examples
========
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, deadline=None)
... @given(eta_lam0_in("catapult"))
... def check(x):
...     assert 2 < x < 4
>>> check()
>>> settings.get_profile("catapult").deadline is None
True
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: open intervals of eta*lam0 for the uv model with squared loss (derived: eta_crit = 2/lam0, eta_max = 4/lam0)
PHASES = {"lazy": (0.05, 2.0), "catapult": (2.0, 4.0), "divergent": (4.0, 12.0)}

#: Theorem 1 (Lewkowycz et al. 2020) is a large-n statement; below this width the O(1/n) corrections are O(1)
#: (measured, float64, default 5000-step budget: at n = 1, x = 0.05, 5 of 60 seeds end undetermined)
MIN_PHASE_WIDTH = 16

#: the width-only catapult margin covers draws with 4 f0^2 / lam0^2 <= C_ONSET (= 4 a n).  Not a proof (the
#: ratio is unbounded over seeds): for a Gaussian init f0 -> N(0, 1), lam0 -> 2, so 4 a n -> f0^2 and
#: P(f0^2 > 25) = 5.7e-7; measured maximum over seeds 0-1999: 10.2 (n = 16), 17.0 (n = 64), 14.1 (n = 512).
C_ONSET = 25

settings.register_profile("catapult", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("catapult-ci", settings.get_profile("catapult"), derandomize=True, database=None)


def widths(min_value=MIN_PHASE_WIDTH, max_value=2048):
    """Widths in [min_value, max_value], small ones (up to 4 min_value) drawn often (1/n effects live there).

    The default starts at :data:`MIN_PHASE_WIDTH`, where the phases of Theorem 1 are what GD shows
    within the default budget; pass ``min_value=1`` for the extreme finite-width regime.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(widths(4, 64))
    ... def check(n):
    ...     assert 4 <= n <= 64
    >>> check()
    """
    if not 1 <= min_value <= max_value:
        raise ValueError(f"need 1 <= min_value <= max_value, got {min_value}, {max_value}")
    small = st.integers(min_value, min(max_value, 4 * min_value))
    return st.one_of(small, st.integers(min_value, max_value))


def seeds():
    """Seeds for numpy's Generator."""
    return st.integers(0, 2**32 - 1)


def catapult_onset(a):
    """The exact first-step onset x_c = 4 / (1 + sqrt(1 - 8a)) of a loss rise, a = f0^2 / (n lam0^2); None if the
    loss cannot rise at the first step (8a >= 1).

    From f1/f0 = 1 - x + a x^2 (the uv map, x = eta lam0): it is < -1 exactly between the roots of
    a x^2 - x + 2 = 0.

    >>> catapult_onset(0)
    2.0
    >>> round(catapult_onset(Fraction(1, 16)), 12)   # roots of x^2/16 - x + 2: 8 -+ 4 sqrt(2)
    2.343145750508
    >>> catapult_onset(Fraction(1, 8)) is None
    True
    """
    if 8 * a >= 1:
        return None
    return 4 / (1 + math.sqrt(1 - 8 * a))


def eta_lam0_in(phase, margin=1e-3, width=None, c_onset=C_ONSET):
    """eta*lam0 strictly inside a phase, at relative distance >= ``margin`` from its ends.

    Without ``width`` the ends are those of the n -> oo phases.  With ``width=n`` (n >=
    :data:`MIN_PHASE_WIDTH` for lazy and catapult) the catapult starts at the first-step onset
    x_c(a) for a = ``c_onset`` / (4 n) (see :data:`C_ONSET` for what that covers); a width where no
    width-uniform catapult interior exists raises ``ValueError``.  For a draw-exact interior use
    :func:`uv_phase_points`.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, deadline=None)
    ... @given(eta_lam0_in("catapult", width=1024))
    ... def check(x):
    ...     assert 2.0245 < x < 4
    >>> check()
    >>> eta_lam0_in("catapult", width=32)
    Traceback (most recent call last):
    ...
    ValueError: no width-uniform catapult interior at width 32: the onset bound needs width > 2 c_onset = 50
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")
    lo, hi = PHASES[phase]
    if width is not None:
        if phase != "divergent" and width < MIN_PHASE_WIDTH:
            raise ValueError(f"width {width} < {MIN_PHASE_WIDTH}: the {phase} phase of Theorem 1 is not "
                             "width-uniform there (use uv_phase_points for draw-exact phases)")
        if phase == "catapult":
            xc = catapult_onset(Fraction(c_onset) / (4 * width))
            if xc is None:
                raise ValueError(f"no width-uniform catapult interior at width {width}: the onset bound needs "
                                 f"width > 2 c_onset = {2 * c_onset}")
            lo = xc
    return st.floats(lo * (1 + margin), hi * (1 - margin), allow_nan=False, allow_infinity=False)


def _onset_of_draw(width, seed):
    """a = f0^2 / (n lam0^2) of the uv model's own draw, exactly (Fractions of the float64 draws)."""
    from catapult.numerics.models import UVModel
    m = UVModel(width, seed)
    u = [Fraction(float(x)) for x in m.u0]
    v = [Fraction(float(x)) for x in m.v0]
    uv = sum(p * q for p, q in zip(u, v))
    lam0 = (sum(p * p for p in u) + sum(q * q for q in v)) / width
    return uv * uv / width / width / (lam0 * lam0)


def uv_phase_points(phase, widths_=None, seeds_=None, margin=1e-3):
    """(width, seed, x) with x = eta*lam0 inside the exact finite-width phase of that draw (uv model, squared loss).

    * lazy: x in (0.05, 2): |f'/f| < 1 at every step for x < 2 at any width (lam^2 >= 4 f^2/n gives
      1 - x <= f'/f <= (1 - eta lam/2)^2), so the loss never rises;
    * catapult: x in (x_c, 4) with x_c the draw's exact first-step onset (:func:`catapult_onset`): the loss
      rises at the first step, and for x < 4 the orbit stays bounded (eta lam only decreases); draws whose
      loss cannot rise at step 1 are filtered out;
    * divergent: x in (4, 12).

    ``margin`` is relative to the ends.  Widths default to :func:`widths`; the GD step budget needed to
    *see* convergence is the caller's (a catapult can throw lam close to 0, where convergence is slow).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(uv_phase_points("catapult", widths_=widths(16, 64)))
    ... def check(p):
    ...     n, seed, x = p
    ...     assert 16 <= n <= 64 and catapult_onset(_onset_of_draw(n, seed)) < x < 4
    >>> check()
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")
    ws = widths() if widths_ is None else widths_
    ss = seeds() if seeds_ is None else seeds_
    if phase != "catapult":
        lo, hi = PHASES[phase]
        return st.tuples(ws, ss, st.floats(lo * (1 + margin), hi * (1 - margin)))

    @st.composite
    def draw(dr):
        n, seed = dr(ws), dr(ss)
        xc = catapult_onset(_onset_of_draw(n, seed))
        if xc is None or xc * (1 + margin) >= 4 * (1 - margin):
            from hypothesis import reject
            reject()
        return n, seed, dr(st.floats(xc * (1 + margin), 4 * (1 - margin)))

    return draw()


def labels():
    """Exact rational regression labels in [-2, 2]."""
    return st.fractions(-2, 2, max_denominator=20)


_SMOOTH = ["(f - {a})**2/2", "log(cosh(f - {a}))", "(f - {a})**2/2 + (f - {a})**4/{b}",
           "{b}*(f - {a})**2/2", "sqrt(1 + (f - {a})**2) - 1"]


def smooth_losses():
    """Strings of twice-differentiable losses with a unique minimiser (for ``Loss.parse``).

    >>> from hypothesis import given, settings
    >>> from catapult.theory import Loss
    >>> @settings(max_examples=10, deadline=None)
    ... @given(smooth_losses())
    ... def check(text):
    ...     assert Loss.parse(text).d2 != 0
    >>> check()
    """
    return st.builds(lambda t, a, b: t.format(a=a, b=b), st.sampled_from(_SMOOTH),
                     st.fractions(-1, 1, max_denominator=5), st.integers(1, 9))


def degenerate_data(separable=None, max_m=8):
    """Degenerate data sets (:class:`catapult.verify.degenerate.DegenerateData`): margins z_i in {+1, -1} and
    magnitudes r_i = k/4 (k = 1..16, dyadic: exact in float64, so theory and numerics see the same numbers).

    ``separable=True`` forces all z_i equal (either sign), ``False`` forces both signs (then m >= 2),
    ``None`` allows either; m = len(z) is at most ``max_m``.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=25, deadline=None)
    ... @given(degenerate_data(separable=False, max_m=5))
    ... def check(d):
    ...     assert 2 <= d.m <= 5 and not d.separable and set(d.z) == {1, -1}
    ...     assert all(0 < r <= 4 and (4 * r).denominator == 1 and float(r) == r for r in d.r)
    >>> check()
    >>> @settings(max_examples=10, deadline=None)
    ... @given(degenerate_data(separable=True))
    ... def check_separable(d):
    ...     assert d.separable and len(set(d.z)) == 1 and 1 <= d.m <= 8
    >>> check_separable()
    """
    from fractions import Fraction

    from .degenerate import DegenerateData

    if separable is not None and not isinstance(separable, bool):
        raise ValueError(f"separable must be True, False or None, got {separable!r}")
    low = 2 if separable is False else 1
    if max_m < low:
        raise ValueError(f"max_m must be >= {low}, got {max_m}")
    sign = st.sampled_from([1, -1])
    mags = st.integers(1, 16).map(lambda k: Fraction(k, 4))

    @st.composite
    def draw(dr):
        m = dr(st.integers(low, max_m))
        if separable is True:
            z = [dr(sign)] * m
        elif separable is False:
            k = dr(st.integers(1, m - 1))  # how many margins are +1
            z = dr(st.permutations([1] * k + [-1] * (m - k)))
        else:
            z = dr(st.lists(sign, min_size=m, max_size=m))
        r = dr(st.lists(mags, min_size=m, max_size=m))
        return DegenerateData(z, r)

    return draw()


def logistic_p(max_denominator=12):
    """Class fractions p strictly inside (0, 1): exact ``Fraction`` a/b with 2 <= b <= ``max_denominator``.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=25, deadline=None)
    ... @given(logistic_p())
    ... def check(p):
    ...     assert 0 < p < 1 and p.denominator <= 12
    >>> check()
    """
    from fractions import Fraction

    return st.integers(2, max_denominator).flatmap(
        lambda b: st.integers(1, b - 1).map(lambda a: Fraction(a, b)))
