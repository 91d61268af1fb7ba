"""Hypothesis strategies users reuse in their own property tests.

Each strategy draws one ingredient of a catapult experiment: a width, a seed,
a learning rate inside a phase (as a multiple of 1/lam0, phases of the
squared loss), or a smooth loss expression.  Boundaries are included as
explicit values so shrinking lands on them.

Examples
========
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, deadline=None)
... @given(eta_lam0_in("catapult"))
... def check(x):
...     assert 2 < x < 4
>>> check()
"""

from __future__ import annotations

from hypothesis import strategies as st

#: open intervals of eta*lam0 for the uv model with squared loss (derived: eta_crit = 2/lam0, eta_max = 4/lam0)
PHASES = {"lazy": (0.05, 2.0), "catapult": (2.0, 4.0), "divergent": (4.0, 12.0)}


def widths(min_value=1, max_value=2048):
    """Widths in [min_value, max_value], small ones drawn often (1/n effects live there).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(widths(4, 64))
    ... def check(n):
    ...     assert 4 <= n <= 64
    >>> check()
    """
    small = st.integers(min_value, max(min_value, min(max_value, 32)))
    return st.one_of(small, st.integers(min_value, max_value))


def seeds():
    """Seeds for numpy's Generator."""
    return st.integers(0, 2**32 - 1)


def eta_lam0_in(phase, margin=1e-3):
    """eta*lam0 strictly inside a phase, at relative distance >= ``margin`` from its ends."""
    lo, hi = PHASES[phase]
    return st.floats(lo * (1 + margin), hi * (1 - margin), allow_nan=False, allow_infinity=False)


def labels():
    """Exact rational regression labels in [-2, 2]."""
    return st.fractions(-2, 2, max_denominator=20)


_SMOOTH = ["(f - {a})**2/2", "log(cosh(f - {a}))", "(f - {a})**2/2 + (f - {a})**4/{b}",
           "{b}*(f - {a})**2/2", "sqrt(1 + (f - {a})**2) - 1"]


def smooth_losses():
    """Strings of twice-differentiable losses with a unique minimiser (for ``Loss.parse``).

    >>> from hypothesis import given, settings
    >>> from theory import Loss
    >>> @settings(max_examples=10, deadline=None)
    ... @given(smooth_losses())
    ... def check(text):
    ...     assert Loss.parse(text).d2 != 0
    >>> check()
    """
    return st.builds(lambda t, a, b: t.format(a=a, b=b), st.sampled_from(_SMOOTH),
                     st.fractions(-1, 1, max_denominator=5), st.integers(1, 9))


def degenerate_data(separable=None, max_m=8):
    """Degenerate data sets (:class:`verify.degenerate.DegenerateData`): margins z_i in {+1, -1} and
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
