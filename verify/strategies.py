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
