"""Iterate any reduced (function-space) map at high precision.

The map is a plain callable ``step(state) -> state`` on a dict of numbers; it
knows nothing about where it came from.  Iteration happens at ``dps`` digits
(mpmath, scoped with ``workdps``); the records are mpmath numbers.

Examples
========
The literature's uv map (typed in here only as an example of a callable):

>>> import mpmath
>>> def step(s, eta=mpmath.mpf(1), n=100):
...     f, lam = s["f"], s["lam"]
...     return {"f": (1 - eta * lam + eta**2 * f**2 / n) * f, "lam": lam + eta * f**2 / n * (eta * lam - 4)}
>>> states = iterate_map(step, {"f": 1, "lam": 2}, steps=3, dps=30)
>>> len(states), mpmath.nstr(states[1]["f"], 10)
(4, '-0.99')
"""

from __future__ import annotations

import mpmath


def iterate_map(step, state0: dict, steps: int, dps: int = 50, until=None) -> list:
    """Iterate ``step`` from ``state0`` for ``steps`` steps at ``dps`` digits.

    ``until(t, state) -> bool`` may stop early; non-finite values stop the
    iteration too (the last record then holds them).
    """
    with mpmath.workdps(dps):
        state = {k: mpmath.mpf(v) for k, v in state0.items()}
        out = [state]
        for t in range(1, int(steps) + 1):
            state = {k: mpmath.mpf(v) for k, v in step(state).items()}
            out.append(state)
            if not all(mpmath.isfinite(v) for v in state.values()):
                break
            if until is not None and until(t, state):
                break
    return out
