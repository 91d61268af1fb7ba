"""Hypothesis strategies for small data sets (X, Y) of the many-sample uv model.

Every entry is a dyadic rational (an integer over a power of two, few significant bits), so
float64 holds it exactly and theory (SymPy rationals) and numerics (binary floats at any
precision) see the same numbers.

Two families, chosen by ``conditioning``:

* ``"well"``: X has full rank min(m, d) and condition number s_max/s_min < 10;
* ``"near_degenerate"``: the rows of X are nearly parallel (X = c r^T + eps E with a dyadic
  eps = 2^-k): still full rank min(m, d), but condition number > 100.  Needs m, d >= 2
  (a single row or column has condition number 1);
* ``None``: either family (near-degenerate only where m, d >= 2 allow it).

The condition number is taken over the min(m, d) singular values (``numpy.linalg.cond``).
No row of X is zero (a zero input carries no data, and ``UVDataModel`` probes the first row).
Labels Y are dyadic, k/4 in [-1, 1].

Examples
========
>>> from hypothesis import given, settings
>>> @settings(max_examples=20, deadline=None, database=None)
... @given(small_datasets(conditioning=None))
... def check(data):
...     X, Y = data
...     assert X.shape[0] == Y.shape[0] and np.linalg.matrix_rank(X) == min(X.shape)
>>> check()
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

CONDITIONINGS = ("well", "near_degenerate", None)
WELL_COND = 10.0
DEGENERATE_COND = 100.0


def is_dyadic(x, max_bits=40) -> bool:
    """True if float ``x`` is k/2^j with j <= ``max_bits`` (so sums and products of a few stay exact).

    >>> is_dyadic(0.375), is_dyadic(0.1)
    (True, False)
    """
    den = Fraction(float(x)).denominator
    return den & (den - 1) == 0 and den.bit_length() - 1 <= max_bits


def dyadics(lo=-1, hi=1, denominator=8):
    """Dyadic numbers k/``denominator`` in [lo, hi] (``denominator`` a power of two), as floats.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None, database=None)
    ... @given(dyadics(-2, 2, 16))
    ... def check(x):
    ...     assert -2 <= x <= 2 and (16 * x) == int(16 * x) and is_dyadic(x)
    >>> check()
    """
    if denominator < 1 or denominator & (denominator - 1):
        raise ValueError(f"denominator must be a power of two, got {denominator}")
    return st.integers(int(np.ceil(lo * denominator)), int(np.floor(hi * denominator))).map(
        lambda k: k / denominator)


def _nonzero_rows(d, denominator=8):
    """Rows of d dyadics k/denominator in [-1, 1], not all zero (repaired, not filtered: no rejections)."""
    nonzero = st.integers(1, denominator).flatmap(lambda k: st.sampled_from([k, -k])).map(lambda k: k / denominator)

    def fix(args):
        row, j, z = args
        row = list(row)
        if not any(row):
            row[j] = z
        return row

    return st.tuples(st.lists(dyadics(-1, 1, denominator), min_size=d, max_size=d), st.integers(0, d - 1),
                     nonzero).map(fix)


def _labels(m):
    return st.lists(dyadics(-1, 1, 4), min_size=m, max_size=m).map(lambda ys: np.array(ys, dtype=float))


def _diag_pattern(m, d):
    E = np.zeros((m, d))
    for i in range(min(m, d)):
        E[i, i] = 1.0
    return E


@st.composite
def _well(draw, max_m, max_d):
    m = draw(st.integers(1, max_m))
    d = draw(st.integers(1, max_d))
    rows = _nonzero_rows(d)  # no zero input
    X = np.array(draw(st.lists(rows, min_size=m, max_size=m)), dtype=float).reshape(m, d)
    # repair (no filtering): add t E with t a signed power of two until full rank and cond < 10;
    # as t grows the min(m, d) singular values of X + t E all approach |t|, so this terminates
    sign = draw(st.sampled_from([1.0, -1.0]))
    E = _diag_pattern(m, d)
    t = 0.0
    k = draw(st.integers(-2, 1))
    while (np.linalg.matrix_rank(X + t * E) < min(m, d) or np.linalg.cond(X + t * E) >= WELL_COND
           or not np.all(np.any(X + t * E, axis=1))):
        t = sign * 2.0 ** k
        k += 1
    X = X + t * E
    return X, draw(_labels(m))


@st.composite
def _near_degenerate(draw, max_m, max_d):
    m = draw(st.integers(2, max_m))
    d = draw(st.integers(2, max_d))
    # a common direction r (nonzero), nonzero row scales c, and a tiny dyadic perturbation eps E:
    # X = c r^T + eps E.  Full rank: X z = 0 would need a dyadic combination of c and r (granularity
    # 1/16) to equal -eps (a much finer power of two), impossible; checked below anyway.
    r = draw(_nonzero_rows(d))
    c = draw(st.lists(st.sampled_from([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0]), min_size=m, max_size=m))
    base = np.outer(c, r)
    E = _diag_pattern(m, d)
    signs = np.array(draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=m, max_size=m)))[:, None]
    E = E * signs
    k = draw(st.integers(8, 14))
    X = base + 2.0 ** -k * E
    while np.linalg.cond(X) <= DEGENERATE_COND:
        k += 1
        X = base + 2.0 ** -k * E
    if np.linalg.matrix_rank(X, tol=0.0) < min(m, d) or not np.isfinite(np.linalg.cond(X)):
        raise AssertionError(f"near-degenerate construction lost rank: {X!r}")  # impossible (see above)
    return X, draw(_labels(m))


def small_datasets(max_m=3, max_d=3, conditioning="well"):
    """Data sets (X, Y): X an (m, d) float64 array, 1 <= m <= max_m, 1 <= d <= max_d, Y an (m,) array.

    Entries are dyadic (exact in float64).  ``conditioning``: ``"well"`` (full rank min(m, d),
    condition number < 10), ``"near_degenerate"`` (rows nearly parallel: full rank, condition
    number > 100; m, d >= 2), or ``None`` (either).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=25, deadline=None, database=None)
    ... @given(small_datasets(3, 3, "well"))
    ... def check_well(data):
    ...     X, Y = data
    ...     m, d = X.shape
    ...     assert 1 <= m <= 3 and 1 <= d <= 3 and Y.shape == (m,)
    ...     assert np.linalg.matrix_rank(X) == min(m, d) and np.linalg.cond(X) < 10
    ...     assert np.all(np.any(X != 0, axis=1))  # no zero input
    ...     assert all(is_dyadic(x) for x in X.ravel()) and all(is_dyadic(y) for y in Y)
    >>> check_well()
    >>> @settings(max_examples=25, deadline=None, database=None)
    ... @given(small_datasets(3, 3, "near_degenerate"))
    ... def check_degenerate(data):
    ...     X, Y = data
    ...     m, d = X.shape
    ...     assert 2 <= m <= 3 and 2 <= d <= 3
    ...     assert np.linalg.matrix_rank(X) == min(m, d) and np.linalg.cond(X) > 100
    ...     assert all(is_dyadic(x) for x in X.ravel())
    ...     # rows nearly parallel: |cos| of the angle between any two rows is close to 1
    ...     U = X / np.linalg.norm(X, axis=1)[:, None]
    ...     assert np.all(np.abs(U @ U.T) > 0.99)
    >>> check_degenerate()
    >>> small_datasets(1, 3, "near_degenerate")
    Traceback (most recent call last):
    ...
    ValueError: near-degenerate data need max_m >= 2 and max_d >= 2, got max_m=1, max_d=3
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
    if int(max_m) != max_m or int(max_d) != max_d or max_m < 1 or max_d < 1:
        raise ValueError(f"max_m and max_d must be integers >= 1, got max_m={max_m}, max_d={max_d}")
    can_degenerate = max_m >= 2 and max_d >= 2
    if conditioning == "near_degenerate" and not can_degenerate:
        raise ValueError(f"near-degenerate data need max_m >= 2 and max_d >= 2, got max_m={max_m}, max_d={max_d}")
    if conditioning == "well":
        return _well(max_m, max_d)
    if conditioning == "near_degenerate":
        return _near_degenerate(max_m, max_d)
    if not can_degenerate:
        return _well(max_m, max_d)
    return st.one_of(_well(max_m, max_d), _near_degenerate(max_m, max_d))
