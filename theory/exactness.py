"""How exact a result is: the one label every map, invariant and threshold of :mod:`catapult.theory` carries.

The members are ``str`` subclasses whose value is the label printed in JSON and text, so a result's
``exactness`` compares equal to (and serialises as) the plain string:

* ``exact`` -- no term dropped, at every width n;
* ``exact (with extra state)`` -- an exact map that does not close on (f, lam): extra Gram coordinates kept;
* ``leading order in 1/n`` -- a lam that moves by O(1/n) replaced by lam0 (the lazy phase), or a limit n -> oo;
* ``derived necessary condition`` -- a derived bound that is necessary, not sufficient (the divergence width scale);
* ``measured`` -- a number read off numerical runs (the oracle), not derived;
* ``not derived`` -- no result: the value is None and a reason says why (outside the routine's domain).

Examples
========
>>> from catapult.theory.exactness import Exactness
>>> Exactness.LEADING == "leading order in 1/n"
True
>>> f"[{Exactness.EXACT_EXTRA}]"
'[exact (with extra state)]'
>>> import json; json.dumps({"exactness": Exactness.MEASURED})
'{"exactness": "measured"}'
>>> Exactness("exact") is Exactness.EXACT
True
"""

from __future__ import annotations

from enum import Enum


class Exactness(str, Enum):
    """The exactness label of a result (a ``str``: JSON and comparisons see the label itself).

    >>> Exactness.NOT_DERIVED.value
    'not derived'
    >>> sorted(e.value for e in Exactness)[:2]
    ['derived necessary condition', 'exact']
    """

    EXACT = "exact"
    EXACT_EXTRA = "exact (with extra state)"
    LEADING = "leading order in 1/n"
    NECESSARY = "derived necessary condition"
    MEASURED = "measured"
    NOT_DERIVED = "not derived"

    def __str__(self):
        return self.value

    def __format__(self, spec):
        return format(self.value, spec)

    @property
    def derived(self) -> bool:
        """True for the labels of a derived statement (not measured, not missing).

        >>> Exactness.LEADING.derived, Exactness.MEASURED.derived, Exactness.NOT_DERIVED.derived
        (True, False, False)
        """
        return self not in (Exactness.MEASURED, Exactness.NOT_DERIVED)
