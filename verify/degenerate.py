"""Degenerate data sets (all inputs on one line) for the logistic-loss experiments.

A data set is margins ``z_i = y_i s_i`` in {+1, -1} and magnitudes ``r_i > 0``.
Theory sees it as the one-variable loss L(F) = (1/m) sum log(1 + exp(-z_i r_i F));
numerics sees *points* x_i = s_i r_i with labels y_i = z_i s_i (the sides s_i drawn
from a seed) and the per-sample loss log(1 + exp(-y f)) -- it never sees L(F).

Examples
========
>>> d = DegenerateData.equal(0.7)
>>> d.m, d.p, d.separable
(10, 7/10, False)
>>> DegenerateData.equal(1).separable
True
>>> DegenerateData([1, -1], [1, 0])
Traceback (most recent call last):
...
ValueError: every r_i must be > 0, got 0
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from catapult.numerics.losses import DataLoss
from catapult.numerics.models import UVDataModel
from catapult.theory.loss import Loss, degenerate_logistic, logistic
from catapult.theory.parse import parse_number

from .bridge import numeric_loss

#: the per-sample logistic loss, written in the output f and the label y
PER_SAMPLE = Loss.parse("log(1 + exp(-y*f))", "logistic")


def _fraction(v, what):
    """An exact Fraction from a number or a decimal/fraction string (catapult.theory.parse.parse_number: 1/0, inf, 1e400
    and non-numbers are a TheoryInputError, a ValueError)."""
    if isinstance(v, Fraction):
        return v
    q = parse_number(v if isinstance(v, str) else str(v), what)
    return Fraction(int(q.p), int(q.q))


@dataclass
class DegenerateData:
    """Margins ``z`` and magnitudes ``r`` (exact rationals)."""

    z: list
    r: list

    def __post_init__(self):
        if len(self.z) == 0:
            raise ValueError("degenerate data are empty")
        if len(self.z) != len(self.r):
            raise ValueError(f"z and r must have the same length, got {len(self.z)} and {len(self.r)}")
        zs, rs = [], []
        for v in self.z:
            q = _fraction(v, "z_i")
            if q not in (1, -1):
                raise ValueError(f"every z_i must be +1 or -1, got {v}")
            zs.append(int(q))
        for v in self.r:
            q = _fraction(v, "r_i")
            if not q > 0:
                raise ValueError(f"every r_i must be > 0, got {v}")
            rs.append(q)
        self.z, self.r = zs, rs

    @classmethod
    def equal(cls, p, max_denominator=1000):
        """Equal magnitudes with a fraction p of z = +1 (p = a/b gives b points).

        p is taken exactly (0.7 is 7/10); a p whose denominator exceeds ``max_denominator`` is refused,
        never rounded (rounding turned 0.9999 into separable data and 0.0001 into p = 0).

        >>> DegenerateData.equal("1/3").z
        [1, -1, -1]
        >>> DegenerateData.equal("0.9999")
        Traceback (most recent call last):
        ...
        ValueError: p = 9999/10000 needs 10000 points, more than max_denominator = 1000
        """
        q = _fraction(p, "p")
        if not 0 < q <= 1:
            raise ValueError(f"p must be in (0, 1] (1 = separable), got {p}")
        if q.denominator > max_denominator:
            raise ValueError(f"p = {q} needs {q.denominator} points, more than max_denominator = {max_denominator}")
        return cls([1] * q.numerator + [-1] * (q.denominator - q.numerator), [1] * q.denominator)

    @classmethod
    def from_file(cls, path):
        """Two columns ``z r`` per line (CSV or whitespace), or a .npy array of shape (m, 2)."""
        if str(path).endswith(".npy"):
            a = np.load(path)
        else:
            text = open(path).read().replace(",", " ")
            a = np.array([[float(x) for x in line.split()] for line in text.splitlines() if line.strip()])
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"data file {path} must have two columns z, r")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"data file {path} contains nan or inf")
        return cls(list(a[:, 0]), list(a[:, 1]))

    @property
    def m(self):
        return len(self.z)

    @property
    def separable(self):
        return len(set(self.z)) == 1

    @property
    def equal_magnitudes(self):
        return len(set(self.r)) == 1

    @property
    def p(self):
        return sp.Rational(sum(1 for v in self.z if v == 1), self.m)

    def loss(self, binary=False) -> Loss:
        """L(F) for theory: symbolic-p form for equal magnitudes, the explicit sum otherwise.

        ``binary=True`` uses the exact values of the float64 magnitudes that numerics
        trains on (1/3 becomes 6004799503160661/18014398509481984), for digit-level comparisons.
        """
        if self.equal_magnitudes and self.r[0] == 1:
            return logistic(self.p)
        rs = [Fraction(float(v)) if binary else v for v in self.r]
        return degenerate_logistic(self.z, [sp.Rational(v.numerator, v.denominator) for v in rs])

    def curvature_at_min(self):
        """p(1-p) for equal unit magnitudes (the flatness unit eta*lam*p(1-p)); None otherwise."""
        return self.p * (1 - self.p) if self.equal_magnitudes and self.r[0] == 1 and not self.separable else None

    def points(self, seed=0):
        """Inputs x_i = s_i r_i and labels y_i = z_i s_i, sides s_i = +-1 from ``seed``."""
        s = np.random.default_rng(seed).choice([-1, 1], size=self.m)
        x = np.array([float(si * ri) for si, ri in zip(s, self.r)])
        y = [int(zi * si) for zi, si in zip(self.z, s)]
        return x, y

    def numeric(self, width, seed=0, data_seed=None):
        """The numerics model (points, probe x = 1) and the per-sample DataLoss."""
        x, y = self.points(seed if data_seed is None else data_seed)
        model = UVDataModel(width, x[:, None], seed=seed, probe=[1.0], eta_lam0_of="probe")  # the theory is at x = 1
        cache = {}
        for yi in set(y):
            cache[yi] = numeric_loss(PER_SAMPLE, y=yi)
        return model, DataLoss([cache[yi] for yi in y])
