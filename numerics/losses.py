"""Numeric losses: plain callables for the value and the slope of l(f).

A :class:`NumericLoss` is what parameter GD needs: ``value(x)`` and
``slope(x)`` (= l'(x)), evaluated on a backend's scalars.  ``bind(backend)``
returns the pair specialised to a backend (a loss built from expressions
compiles one pair per backend; a hand-written one ignores the backend).

Examples
========
>>> L = squared(label=1)
>>> value, slope = L.bind(None)
>>> value(3.0), slope(3.0)
(2.0, 2.0)
>>> custom = NumericLoss("quartic", lambda x: x**4 / 4, lambda x: x**3)
>>> custom.bind(None)[1](2.0)
8.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class NumericLoss:
    """A loss given by callables; ``factory(backend) -> (value, slope)`` when they depend on the backend."""

    name: str
    value: Callable | None = None
    slope: Callable | None = None
    factory: Callable | None = field(default=None, repr=False)

    def bind(self, backend):
        """``(value, slope)`` callables for ``backend``."""
        if self.factory is not None:
            return self.factory(backend)
        return self.value, self.slope


def squared(label=0) -> NumericLoss:
    """(f - label)^2 / 2 written with plain arithmetic (works on every backend).

    >>> squared().bind(None)[0](2.0)
    2.0
    """
    if label == 0:
        return NumericLoss("squared", lambda x: x * x / 2, lambda x: x)

    def factory(backend):
        y = backend.scalar(label) if backend is not None else float(label)
        return (lambda x: (x - y) * (x - y) / 2), (lambda x: x - y)

    return NumericLoss(f"squared(label={label})", factory=factory)


@dataclass
class DataLoss:
    """One loss per sample (labels baked into each); the training loss is their mean.

    >>> L = DataLoss([squared(1), squared(-1)])
    >>> [v(0.0) for v, s in L.bind(None)]
    [0.5, 0.5]
    """

    losses: list

    @property
    def name(self):
        return "mean of " + ", ".join(l.name for l in self.losses)

    def bind(self, backend):
        return [l.bind(backend) for l in self.losses]
