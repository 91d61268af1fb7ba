"""Iterate any reduced (function-space) map: one loop, with or without the stop rule.

A map is a plain callable; it knows nothing about where it came from.  Two forms:

* :func:`iterate_map` -- ``step(state) -> state`` on a dict of numbers, iterated at ``dps`` digits
  (mpmath, scoped with ``workdps``); every state is recorded.
* :func:`run_map` -- a *compiled* map ``step(state, consts) -> (next_state, f, lam)`` (``f``, ``lam`` those of
  the input state, as ``sympy.lambdify(..., cse=True)`` gives them), iterated in the caller's arithmetic
  (python floats, or mpmath at the caller's precision) and stopped by
  :class:`catapult.numerics.stop.StopRule` -- the same rule as parameter GD, with the gradient norm
  |l'(f)| sqrt(lam) -- so its verdict is run_gd's; :func:`run_map_lockstep` runs many such orbits (numpy
  arrays, e.g. one per eta) in lock-step and drops each once it is decided.

All three share :func:`_orbit`, the one iteration loop.

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

The same map compiled (constants ``[eta, n]``): at eta*lam0 = 4.5 it runs away, at 1.5 it converges.

>>> def fused(s, c):
...     (f, lam), (eta, n) = s, c
...     return [(1 - eta * lam + eta**2 * f**2 / n) * f, lam + eta * f**2 / n * (eta * lam - 4)], f, lam
>>> [run_map(fused, [1.0, 2.0], [x / 2, 100.0], steps=2000, slope=lambda f: f, scale=10.0).stop.value
...  for x in (1.5, 4.5)]
['converged', 'runaway']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .stop import GOING, Stop, StopRule, finite

#: arithmetic errors of python floats (and of mpmath on bad input) that mean "not finite"
ARITHMETIC_ERRORS = (OverflowError, ZeroDivisionError, ValueError)


def _orbit(state, steps, observe, advance, decide, record=None, errors=ARITHMETIC_ERRORS):
    """The one iteration loop.  At t = 0, 1, ..., ``steps``: ``obs = observe(state)``, ``stop = decide(t, state,
    obs)`` (``budget`` at t = ``steps``), ``record(t, state, obs)``; stop, or ``state = advance(state, obs)``.
    An arithmetic error in ``observe`` is ``nonfinite`` (``errors=()`` lets it propagate).
    Returns ``(stop, t)``.

    >>> _orbit(1, 10, lambda s: s, lambda s, o: 2 * s, lambda t, s, o: Stop.UNTIL if s > 100 else None)
    (<Stop.UNTIL: 'until'>, 7)
    """
    for t in range(int(steps) + 1):
        try:
            obs = observe(state)
        except errors:
            return Stop.NONFINITE, t
        stop = decide(t, state, obs)
        if stop is None and t == int(steps):
            stop = Stop.BUDGET
        if record is not None:
            record(t, state, obs)
        if stop is not None:
            return stop, t
        state = advance(state, obs)


def iterate_map(step, state0: dict, steps: int, dps: int = 50, until=None) -> list:
    """Iterate ``step`` from ``state0`` for ``steps`` steps at ``dps`` digits; returns every state.

    ``until(t, state) -> bool`` may stop early; non-finite values stop the
    iteration too (the last record then holds them).
    """
    def decide(t, state, _):
        if t == 0:
            return None
        if not all(mpmath.isfinite(v) for v in state.values()):
            return Stop.NONFINITE
        return Stop.UNTIL if until is not None and until(t, state) else None

    out = []
    with mpmath.workdps(dps):
        _orbit({k: mpmath.mpf(v) for k, v in state0.items()}, steps, lambda s: None,
               lambda s, _: {k: mpmath.mpf(v) for k, v in step(s).items()}, decide,
               record=lambda t, s, _: out.append(s), errors=())
    return out


@dataclass
class MapRun:
    """A compiled map's run: why it stopped, after how many steps, and (if recorded) ``(f, lam)`` per step."""

    stop: Stop
    steps: int
    history: list | None = None
    lam0: object = None


def _sqrt(x):
    """sqrt in x's own arithmetic: python float, mpmath, or gmpy2 (MPFR) at its context's precision."""
    if isinstance(x, float):
        return math.sqrt(x)
    if isinstance(x, mpmath.mpf):
        return mpmath.sqrt(x)
    return x.sqrt() if hasattr(x, "sqrt") else _gmpy2_sqrt(x)


def _gmpy2_sqrt(x):
    import gmpy2
    return gmpy2.sqrt(x) if isinstance(x, type(gmpy2.mpfr(0))) else math.sqrt(x)


def _grad_norm(slope, f, lam):
    """|slope(f)| sqrt(|lam|), inf when f or lam is not finite or the slope overflows (python floats)."""
    if not finite(f, lam):
        return math.inf
    try:
        return abs(slope(f)) * _sqrt(abs(lam))
    except ARITHMETIC_ERRORS:
        return math.inf


def run_map(step, state, consts, *, steps, slope=None, scale=1, rule=StopRule(), lam0=None, stiffness=None,
            record=False, start=None, settle=(0, None)) -> MapRun:
    """Iterate a compiled map ``step(state, consts) -> (next_state, f, lam)`` from ``state``.

    Every step is decided by ``rule`` (:meth:`catapult.numerics.stop.StopRule.check`) with the gradient norm
    |``slope``(f)| sqrt(|lam|) (``slope`` = l' of the map's loss), runaway scale ``scale`` (sqrt(n)), ``lam0``
    (default: the initial state's lam), the start (f0, |grad0|) of the run and, for a rule with a ``floor`` or
    ``settle`` criterion, ``stiffness`` = eta l''(f*); ``rule=None`` runs the whole budget (arithmetic errors
    still stop it).  Arithmetic happens in the caller's numbers and precision.  ``record`` keeps ``(f, lam)``
    of every step.  ``start`` = (f0, |grad0|) and ``settle`` = (calm steps so far, previous (|f|, lam)) continue a
    run begun elsewhere (its relative and settle criteria keep their state; the default is a fresh run).

    >>> r = run_map(lambda s, c: ([s[0] * c[0]], s[0], 1.0), [1.0], [0.5], steps=5, rule=None, record=True)
    >>> r.stop.value, [f for f, _ in r.history]
    ('budget', [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])

    A slow descent (f_{t+1} = f_t (1 - 1/(t + 2)) ~ 1/t) is never within a relative tolerance of 1e-15 in 2000
    steps; the settle criterion decides it:

    >>> from catapult.numerics.stop import Settle
    >>> slow = lambda s, c: ([s[0] * (1 - 1 / (s[1] + 2)), s[1] + 1], s[0], 1.0)
    >>> [run_map(slow, [1.0, 0.0], [], steps=2000, slope=lambda f: f, stiffness=1.0,
    ...          rule=StopRule(gtol=0, rel=1e-15, settle=s)).stop.value for s in (None, Settle())]
    ['budget', 'settled']
    """
    if lam0 is None and rule is not None:
        lam0 = step(state, consts)[2]
    hist = [] if record else None
    run = {"calm": settle[0], "prev": settle[1]}
    if start is not None:
        run["start"] = start

    def decide(t, s, obs):
        if rule is None:
            return None
        _, f, lam = obs
        g = _grad_norm(slope, f, lam)
        if t == 0 and start is None:
            run["start"] = (f, g)
        if rule.settle is not None:
            run["calm"] = rule.settle.count(run["calm"], f, lam, run["prev"], stiffness, scale)
            run["prev"] = (abs(f), lam)
        return rule.check(f, lam, g, lam0=lam0, scale=scale, start=run["start"], stiffness=stiffness,
                          calm=run["calm"])

    stop, t = _orbit(state, steps, lambda s: step(s, consts), lambda s, obs: obs[0], decide,
                     record=(lambda t, s, obs: hist.append(obs[1:])) if record else None)
    return MapRun(stop, t, hist, lam0)


#: the lock-step code of an orbit whose arithmetic left its range (e.g. the fixed-point engine's 2^30): undecided
#: by the batch; :func:`run_map_lockstep` returns its state for the caller to continue in other numbers
OUT_OF_RANGE = 2


def _is_batch(v):
    """A batch of numbers that is not a numpy array (e.g. a fixed-point vector): kept as it is, not made float."""
    return not isinstance(v, (np.ndarray, list, tuple, int, float)) and hasattr(v, "__getitem__") \
        and hasattr(v, "__len__")


def _concat(parts):
    return type(parts[0]).concat(parts) if _is_batch(parts[0]) else np.concatenate(parts)


def _guarded_step(step, S, c):
    """``step(S, c)`` on a batch, with the orbits whose arithmetic overflowed: the mask the step returns as a
    fourth value, or else (``OverflowError``) found by halving the batch.  ``(S2, f, lam, bad)``, ``bad`` a boolean
    mask or None (the bad orbits' entries are placeholders)."""
    try:
        S2, fv, lv, *bad = step(S, c)   # a step may return the mask of its orbits that overflowed
        bad = bad[0] if bad and bad[0].any() else None
        return S2, np.asarray(fv, float), np.asarray(lv, float), bad
    except OverflowError:
        m = len(S[0])
        if m == 1:
            return [v * 0 for v in S], np.zeros(1), np.zeros(1), np.ones(1, bool)
        parts = [_guarded_step(step, [v[sl] for v in S], [v[sl] for v in c])
                 for sl in (slice(0, m // 2), slice(m // 2, m))]
        bad = np.concatenate([np.zeros(len(p[1]), bool) if p[3] is None else p[3] for p in parts])
        S2 = [_concat([p[0][k] for p in parts]) for k in range(len(S))]
        return S2, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), bad


def run_map_lockstep(step, states, consts, *, steps, slope, scale, lam0, rule=StopRule(), stiffness=None,
                     handoff=None):
    """:func:`run_map` for many orbits at once: ``states`` and ``consts`` are lists of batches, one entry per
    orbit -- numpy arrays (float64; scalars are broadcast) or batch objects of another arithmetic (e.g. the
    fixed-point engine's vectors: ``len``, boolean-mask indexing, ``concat``) -- and ``lam0`` (and ``scale``
    and ``stiffness`` if arrays) float arrays.  Every step is decided on the float64 values of f and lam.
    Decided orbits leave the batch (once a quarter of it is decided; until then their values are ignored).  Returns ``(codes, when)``: per orbit ``DIVERGED`` (1), ``CONVERGED`` (0),
    ``GOING`` (-1: the budget ran out, ``UNDECIDED``) or :data:`OUT_OF_RANGE` (2: a step overflowed the batch's
    arithmetic, found by halving the batch), and the deciding step.  For an orbit out of range,
    ``handoff(i, t, state, carry)`` (if given) is called with its state before the failing step (its
    components, batches of length 1), the step t and ``carry`` = {"start": (f0, |grad0|) or None at t = 0,
    "settle": (calm steps, previous (|f|, lam)) of the rule's settle criterion}, and returns its code and step
    (e.g. continuing in other numbers: :func:`run_map` with ``start`` and ``settle``).
    (Over 60 lines: one loop decides, hands off and compacts the batch on the same per-orbit arrays.)

    >>> def fused(s, c):
    ...     (f, lam), (eta, n) = s, c
    ...     return [(1 - eta * lam + eta**2 * f**2 / n) * f, lam + eta * f**2 / n * (eta * lam - 4)], f, lam
    >>> xs = np.array([1.5, 3.9, 4.1, 6.0]); one = np.ones(4)
    >>> run_map_lockstep(fused, [one, 2 * one], [xs / 2, 100 * one], steps=2000, slope=lambda f: f, scale=10.0,
    ...                  lam0=2 * one)[0].tolist()
    [0, 0, 1, 1]
    """
    m = len(lam0)

    def full(v):
        return v if _is_batch(v) else np.broadcast_to(np.asarray(v, float), (m,)).copy()

    def take(v, keep):
        return v[keep] if _is_batch(v) else np.broadcast_to(v, keep.shape)[keep]
    S, c = [full(v) for v in states], [full(v) for v in consts]
    lam0, scale = np.asarray(lam0, float).copy(), full(scale)
    per = {"lam0": lam0, "scale": scale}     # per-orbit arrays, dropped with their orbits
    if stiffness is not None:
        per["stiffness"] = full(stiffness)
    code = np.full(m, GOING, dtype=np.int8)
    when = np.full(m, int(steps), dtype=np.int64)
    idx, prev = np.arange(m), None
    live = np.ones(m, bool)   # the batch's orbits not decided yet
    with np.errstate(all="ignore"):
        for t in range(int(steps) + 1):
            S2, fv, lv, bad = _guarded_step(step, S, c)
            fv, lv = np.broadcast_to(fv, idx.shape), np.broadcast_to(lv, idx.shape)
            g = np.abs(slope(fv)) * np.sqrt(np.abs(lv))
            if t == 0:
                per["f0"], per["g0"] = fv.copy(), g.copy()
            prev_in, calm_in = prev, per.get("calm", 0)    # the settle state before step t (for a handoff)
            if rule.settle is not None:
                per["calm"] = rule.settle.count(calm_in, fv, lv, prev, per.get("stiffness"), per["scale"])
                prev = (np.abs(fv), lv)
            k = rule.check_many(fv, lv, g, lam0=per["lam0"], scale=per["scale"], start=(per["f0"], per["g0"]),
                                stiffness=per.get("stiffness"), calm=per.get("calm"))
            k[~live] = GOING          # decided orbits still in the batch (not yet compacted) are ignored
            if bad is not None:
                for j in np.flatnonzero(bad & live):
                    k[j] = OUT_OF_RANGE
                    code[idx[j]], when[idx[j]] = OUT_OF_RANGE, t
                    if handoff is not None:
                        calm = calm_in[j] if np.ndim(calm_in) else calm_in
                        carry = {"start": (per["f0"][j], per["g0"][j]) if t else None,
                                 "settle": (int(calm), None if prev_in is None else (prev_in[0][j], prev_in[1][j]))}
                        code[idx[j]], when[idx[j]] = handoff(int(idx[j]), t, [v[j:j + 1] for v in S], carry)
            done = k != GOING
            if done.any():
                fresh = done & (k != OUT_OF_RANGE)
                code[idx[fresh]], when[idx[fresh]] = k[fresh], t
                live &= ~done
                if not live.any():
                    break
                if (~live).sum() * 4 >= live.size:   # compact once a quarter of the batch is decided
                    keep = live
                    idx, live = idx[keep], live[keep]
                    S2 = [take(v, keep) for v in S2]
                    c = [take(v, keep) for v in c]
                    per = {key: v[keep] for key, v in per.items()}
                    prev = None if prev is None else tuple(np.broadcast_to(v, keep.shape)[keep] for v in prev)
            S = S2
    return code, when
