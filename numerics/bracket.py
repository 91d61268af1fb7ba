"""One bracket type, one bisection, one precision ladder.

A threshold in a parameter x (e.g. eta*lam0) is where a *verdict* ``pred(x)`` -- True, False, or None for
undecided -- changes from False (at ``lo``) to True (at ``hi``).  Every threshold search of the toolkit
returns a :class:`Bracket`:

* :func:`first_change` -- the first change of the verdict on a grid;
* :func:`first_change_batched` -- the same for a vectorised verdict (batches of points), refined by sectioning;
* :func:`straddle` -- widen [lo, hi] until it straddles the change (a threshold on a bracket end has a
  rounding-dependent verdict there);
* :func:`bisect` -- halve it to a relative width ``rtol`` at one precision;
* :func:`bisect_ladder` -- bisect at the cheapest precision of a ladder, re-decide both ends at the next
  precision(s), and move one rung up when a verdict changes: the bracket records the precisions that agreed;
* :func:`redecide` -- the ends of a bracket (or one end: a witness) re-decided at each precision of a ladder;
* :func:`agree` -- one verdict (not a bracket) at increasing precisions until two consecutive ones agree.

Examples
========
>>> b = bisect_ladder(lambda x, dps: x * x > 2, 1, 2, 1e-9, [15, 30])
>>> abs(b.x - 2 ** 0.5) < 1e-8, b.precisions, b.converged
(True, ['15', '30'], True)
>>> a = agree(lambda dps: round(1 / 3, dps), [2, 3, 3])
>>> a.agreed, a.value, a.precisions
(True, 0.333, ['3', '3'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import math

import mpmath
import numpy as np


def _exact(op, rtol, *xs):
    """``op(*xs)`` for bracket arithmetic: with mpmath ends, at enough digits that a bracket of relative width
    ``rtol`` keeps its ends distinct (mpmath numbers keep their mantissa; only the operation is rounded), so a
    search to 30 digits is not cut at the global 15-digit context; floats as they are."""
    if any(isinstance(x, mpmath.mpf) for x in xs):
        with mpmath.workdps(max(mpmath.mp.dps, int(-math.log10(max(rtol, 1e-300))) + 10)):
            return op(*(mpmath.mpf(x) for x in xs))
    return op(*xs)


class NoStraddle(ValueError):
    """The verdict is not False at ``lo`` and True at ``hi`` (after the widenings allowed)."""

    def __init__(self, message, lo, hi, verdicts):
        super().__init__(message)
        self.lo, self.hi, self.verdicts = lo, hi, verdicts


def _float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


@dataclass
class Bracket:
    """A located change of a verdict: ``verdict_lo`` at ``lo``, ``verdict_hi`` at ``hi``.

    ``criterion`` names the verdict; ``precisions`` are the tags of the precisions that agreed on both ends
    (the first one bisected); ``iterations`` counts verdict evaluations; ``converged`` says the bisection
    reached its width and the precisions agreed; ``escalations`` counts the rungs climbed; ``notes`` say what
    happened on the way; ``extra`` holds a caller's evidence (merged into :meth:`to_json`).

    >>> Bracket(1.0, 1.5, criterion="demo", precisions=["float64"]).to_json()["bracket"]
    [1.0, 1.5]
    """

    lo: object
    hi: object
    verdict_lo: object = False
    verdict_hi: object = True
    criterion: str = ""
    precisions: list = field(default_factory=list)
    iterations: int = 0
    converged: bool = True
    escalations: int = 0
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def x(self):
        """The bracket's midpoint."""
        return (self.lo + self.hi) / 2

    @property
    def width(self):
        return self.hi - self.lo

    def to_json(self) -> dict:
        """Plain JSON (numbers as floats)."""
        return {"criterion": self.criterion, "bracket": [_float(self.lo), _float(self.hi)], "x": _float(self.x),
                "verdicts": [self.verdict_lo, self.verdict_hi], "precisions": list(self.precisions),
                "iterations": self.iterations, "converged": self.converged, "escalations": self.escalations,
                "notes": list(self.notes), **{k: _float(v) if hasattr(v, "__float__") else v
                                              for k, v in self.extra.items()}}


def _is(v, want: bool) -> bool:
    return v is not None and bool(v) == want


def straddle(pred, lo, hi, *, tries=0, factor=None, step=None):
    """Make ``pred`` False at ``lo`` and True at ``hi``: evaluate both ends, move each failing end outwards
    (by ``step``, or by the factor ``factor``, or else by the bracket's width) and retry, at most ``tries``
    times.  Returns ``(lo, hi, evaluations, (pred(lo), pred(hi)))``; it straddles iff those are (False, True).

    >>> straddle(lambda x: x >= 4, 4.0, 5.0, tries=2, step=0.5)[:3]    # a threshold on the end: widened once
    (3.5, 5.0, 4)
    >>> straddle(lambda x: x > 4, 5.0, 6.0)[3]
    (True, True)
    """
    evals = 0
    for k in range(int(tries) + 1):
        va, vb = pred(lo), pred(hi)
        evals += 2
        if (_is(va, False) and _is(vb, True)) or k == tries:
            return lo, hi, evals, (va, vb)
        w = hi - lo
        if not _is(va, False):
            lo = lo - step if step is not None else lo / factor if factor is not None else lo - w
        if not _is(vb, True):
            hi = hi + step if step is not None else hi * factor if factor is not None else hi + w


def first_change(pred, grid):
    """``pred`` on every point of ``grid``: ``(i, verdicts)`` with ``i`` the index of the first True verdict
    (None if there is none), so ``[grid[i - 1], grid[i]]`` brackets the first change when ``i > 0``.

    >>> first_change(lambda x: x * x > 2, [1.0, 1.25, 1.5, 1.75])
    (2, [False, False, True, True])
    """
    verdicts = [pred(x) for x in grid]
    return next((i for i, v in enumerate(verdicts) if v), None), verdicts


def first_change_batched(verdicts, start, step, stop, *, batch=64, rounds=3, criterion="",
                         precision=None) -> Bracket:
    """The first True from below of a *vectorised* verdict ``verdicts(xs) -> bool array`` (one batch of points
    per call, e.g. vmapped GD runs): the grid ``start + step k`` (up to ``stop``) scanned ``batch`` points at a
    time until a batch holds a True, then ``rounds`` times the bracket [last False, first True] cut into
    ``batch + 1`` equal cells and replaced by the cell of the first True among its ``batch`` interior points
    (the bracket's width falls by ``batch + 1`` per round).  Every verdict is taken from below, so on a verdict
    whose True set is not an interval it is the first change on these points, not an arbitrary one.  Raises
    ValueError when the grid has no True or starts with one.  ``extra``: ``grid_first`` (the first True grid
    point), ``calls`` (batches evaluated).

    >>> b = first_change_batched(lambda xs: xs * xs > 2, 1.0, 0.1, 2.0, batch=4, rounds=3)
    >>> b.lo < 2 ** 0.5 <= b.hi, round(b.width, 12) == round(0.1 / 5 ** 3, 12), b.extra["grid_first"]
    (True, True, 1.5)
    >>> first_change_batched(lambda xs: (xs > 1.2) & (xs < 1.21) | (xs > 1.5), 1.0, 0.05, 2.0).extra["grid_first"]
    1.55
    """
    calls, k0, n_pts = 0, 0, int(np.floor((stop - start) / step + 1e-9)) + 1
    while True:
        if k0 >= n_pts:
            raise ValueError(f"no True verdict on the grid {start} + {step} k up to {stop}")
        xs = np.round(start + step * np.arange(k0, min(k0 + batch, n_pts)), 12)
        v = np.asarray(verdicts(xs), dtype=bool)
        calls += 1
        if v.any():
            i = int(np.argmax(v))
            if k0 + i == 0:
                raise ValueError(f"the verdict is already True at the grid's start {start}")
            lo = float(xs[i - 1]) if i else float(np.round(start + step * (k0 - 1), 12))
            hi = first = float(xs[i])
            break
        k0 += batch
    for _ in range(int(rounds)):
        xs = lo + (hi - lo) * np.arange(1, batch + 1) / (batch + 1)
        v = np.asarray(verdicts(xs), dtype=bool)
        calls += 1
        i = int(np.argmax(v)) if v.any() else batch
        lo, hi = (float(xs[i - 1]) if i else lo), (float(xs[i]) if i < batch else hi)
    return Bracket(lo, hi, False, True, criterion, [precision] if precision is not None else [], calls * batch,
                   extra={"grid_first": first, "calls": calls})


def bisect(pred, lo, hi, rtol, *, criterion="", precision=None) -> Bracket:
    """Halve [lo, hi] -- ``pred`` False at ``lo`` and True at ``hi``, not re-checked -- until
    hi - lo <= ``rtol`` |hi|.  An undecided verdict (None) at a midpoint stops it (``converged=False``);
    so does a midpoint equal to an end (the bracket is as narrow as the numbers allow; converged).

    >>> b = bisect(lambda x: x ** 3 > 10, 2.0, 3.0, 1e-6, precision="float64")
    >>> b.lo < 10 ** (1 / 3) < b.hi, b.hi - b.lo <= 1e-6 * b.hi, b.iterations, b.precisions
    (True, True, 19, ['float64'])
    """
    evals, notes, converged = 0, [], True
    while hi - lo > rtol * abs(hi):
        mid = _exact(lambda a, b: (a + b) / 2, rtol, lo, hi)
        if mid == lo or mid == hi:
            notes.append(f"bracket [{lo!r}, {hi!r}] cannot be halved at this precision")
            break
        v = pred(mid)
        evals += 1
        if v is None:
            notes.append(f"undecided at x={mid!r}; bisection stopped")
            converged = False
            break
        if v:
            hi = mid
        else:
            lo = mid
    return Bracket(lo, hi, False, True, criterion, [precision] if precision is not None else [], evals,
                   converged, notes=notes)


def redecide(pred, lo, hi, rungs, *, want=(False, True)):
    """Re-decide the ends of [lo, hi] at each rung: yields ``(rung, pred(lo, rung), pred(hi, rung), ok)``, ``ok``
    when each end has its wanted verdict (``want``; an end whose want is None is not evaluated, its verdict
    None).  A witness (one end) or a bracket (both) re-decided up a ladder.

    >>> [ok for _, _, _, ok in redecide(lambda x, d: x > 1 / d, 0.3, 0.6, [2, 3, 4])]   # 0.3 > 1/4
    [True, True, False]
    >>> [v for _, _, v, _ in redecide(lambda x, d: x > 1 / d, 0.3, 0.6, [2, 3], want=(None, True))]
    [True, True]
    """
    for d in rungs:
        va = pred(lo, d) if want[0] is not None else None
        vb = pred(hi, d) if want[1] is not None else None
        yield d, va, vb, all(w is None or _is(v, w) for v, w in zip((va, vb), want))


def _confirmed(pred, lo, hi, rungs, tag, notes):
    """Both ends re-decided (False at lo, True at hi) at every rung of ``rungs``; (ok, evaluations)."""
    evals = 0
    for d, va, vb, ok in redecide(pred, lo, hi, rungs):
        evals += 2
        if not ok:
            notes.append(f"bracket [{lo!r}, {hi!r}] re-decided at {tag(d)}: {va}, {vb}")
            return False, evals
    return True, evals


def bisect_ladder(pred, lo, hi, rtol, rungs, *, tag=str, confirm=1, criterion="", tries=(0, 2), factor=None,
                  step=None, edge_slack=False, strict=True) -> Bracket:
    """Locate the change False -> True of ``pred(x, rung)`` on [lo, hi] up the precision ladder ``rungs``.

    At rung r: :func:`straddle` (``tries[0]`` widenings at the first rung, ``tries[1]`` after; ``factor`` or
    ``step`` as there), :func:`bisect` to ``rtol``, then re-decide both ends at the ``confirm`` rungs above.
    Agreement returns the bracket with ``precisions`` = the tags of rung r and those above.  Otherwise, with
    ``edge_slack``, the bracket widened by its width on both sides is tried (a threshold exactly on an end);
    then one rung up, from the (possibly widened) bracket.  A bracket that does not straddle raises
    :class:`NoStraddle` when ``strict`` (else a note, and the next rung).  When the precisions never agree:
    the last bisection's bracket, ``converged=False``, the reasons in ``notes``.

    >>> b = bisect_ladder(lambda x, d: x > 0.1 if d == "low" else x > 0.3, 0, 1, 1e-3, ["low", "high", "top"])
    >>> b.converged, b.precisions, b.escalations, round(b.x, 2)
    (True, ['high', 'top'], 1, 0.3)
    """
    evals, notes, last = 0, [], None
    for r in range(len(rungs) - confirm):
        rung = rungs[r]
        lo, hi, k, (va, vb) = straddle(lambda x: pred(x, rung), lo, hi, tries=tries[0] if r == 0 else tries[1],
                                       factor=factor, step=step)
        evals += k
        if not (_is(va, False) and _is(vb, True)):
            msg = f"bracket [{lo!r}, {hi!r}] does not straddle at {tag(rung)}: {va}, {vb}"
            if strict:
                raise NoStraddle(msg, lo, hi, (va, vb))
            notes.append(msg)
            continue
        b = bisect(lambda x: pred(x, rung), lo, hi, rtol, criterion=criterion, precision=tag(rung))
        evals += b.iterations
        notes += b.notes
        last = b
        above = rungs[r + 1:r + 1 + confirm]
        ends = [(b.lo, b.hi)] + ([_exact(lambda a, c: (2 * a - c, 2 * c - a), rtol, b.lo, b.hi)] if edge_slack else [])
        for a2, b2 in ends:
            ok, k = _confirmed(pred, a2, b2, above, tag, notes)
            evals += k
            if ok:
                return Bracket(a2, b2, False, True, criterion, [tag(x) for x in rungs[r:r + 1 + confirm]], evals,
                               b.converged, r, notes)
    notes.append(f"precisions never agreed up to {tag(rungs[-1])}")
    if last is None:
        return Bracket(lo, hi, None, None, criterion, [], evals, False, len(rungs), notes)
    return Bracket(last.lo, last.hi, False, True, criterion, list(last.precisions), evals, False, len(rungs), notes)


@dataclass
class Agreement:
    """One verdict evaluated up a precision ladder: ``value`` is the result at the higher of the two
    consecutive precisions that agreed (None when none did), ``precisions`` their tags (or every tag tried),
    ``results`` every ``(tag, result)`` evaluated."""

    value: object
    agreed: bool
    precisions: list
    results: list


def agree(evaluate, rungs, *, key=None, tag=str) -> Agreement:
    """Evaluate ``evaluate(rung)`` at ``rungs[0]``, ``rungs[1]``, ... until two consecutive rungs give the same
    ``key(result)`` (default: the result itself); an explicit disagreement when they never do.

    >>> d = agree(lambda dps: dps > 20, [15, 30])
    >>> d.agreed, d.value, d.results
    (False, None, [('15', False), ('30', True)])
    """
    key = key or (lambda v: v)
    results = []
    for r in rungs:
        results.append((tag(r), evaluate(r)))
        if len(results) >= 2 and key(results[-1][1]) == key(results[-2][1]):
            return Agreement(results[-1][1], True, [results[-2][0], results[-1][0]], results)
    return Agreement(None, False, [t for t, _ in results], results)
