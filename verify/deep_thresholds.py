"""Deep linear networks: divergence verdicts and thresholds of the reduced map and of full-width GD.

Library code for the deep catalogue rows (:mod:`catapult.verify.catalogue.deep`) and for ``catapult scan deep``.
Domain: the float64 helpers (``reduced_codes``, ``reduced_diverges64/_mp``, ``reduced_first_edge``,
``iso_threshold_pair``, ...) are for the squared loss f^2/2 with label 0; the loss-aware entry points are
:func:`reduced_run` and :func:`reduced_threshold` with ``loss=``.

Every verdict on the reduced map is :func:`catapult.numerics.reduced.run_map` (or its lock-step form) of the map
compiled once (:func:`catapult.verify.bridge.compile_deep_map`), stopped by run_gd's own
:class:`catapult.numerics.stop.StopRule`: diverges if f or lam is not finite, |f| > 1e8 sqrt(n) or lam > 1e4 lam0;
converged once the gradient norm |l'(f)| sqrt(lam) < 1e-12; otherwise (budget) not divergent.  Every threshold
is a :class:`catapult.numerics.bracket.Bracket` from :func:`catapult.numerics.bracket.bisect_ladder`.
"""


from __future__ import annotations

import math
import time
from functools import lru_cache

import mpmath
import numpy as np

from catapult.numerics.backends import get_backend
from catapult.numerics.bracket import Bracket, NoStraddle, bisect, bisect_ladder
from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.fixed import MAX_DPS as FIXED_MAX_DPS
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import squared
from catapult.numerics.reduced import run_map, run_map_lockstep
from catapult.numerics.search import diverges as gd_diverges, locate
from catapult.numerics.stop import CONVERGED, DIVERGED, GOING, StopRule

from catapult.theory.deep import derive_deep_map

from .bridge import compile_deep_map, to_mpmath
from .lockstep import NotPolynomial, fixed_program, lockstep_verdicts

#: the stop rule of the reduced-map verdicts: run_gd's defaults (catapult.numerics.gd.run_gd)
RULE = StopRule()


@lru_cache(maxsize=None)
def squared_map(L):
    """The derived depth-``L`` reduced map under f^2/2 (label 0), derived once.

    >>> squared_map(3).L, str(squared_map(3).loss.expr)
    (3, 'f**2/2')
    """
    return derive_deep_map(L)



def reduced_for(model: DeepLinearModel, dps, loss=None):
    """The reduced map under ``loss`` (default f^2/2) and this network's own init invariants (A, C, rho)."""
    B = get_backend("arb", dps)
    Av, Cv, rho = model.invariants(B)
    return (squared_map(model.depth) if loss is None else derive_deep_map(model.depth, loss)), (Av, Cv, rho)


def map_digits(dm, consts, tr, dps=60):
    """Digits of agreement of (f, lam) between the reduced map ``dm`` (invariants ``consts = (A, C, rho)``, the
    run's eta and width) iterated at ``dps`` digits and the GD trajectory ``tr``, per step: the smaller of
    -log10 of the f gap relative to max(|f_t|, |f_0|) and of the relative lam gap.  Returns (worst, per_step).

    >>> m = DeepLinearModel(16, 3, seed=0, init="isometric")
    >>> tr = run_gd(m, squared(), eta_lam0=1.5, steps=5, backend=get_backend("arb", 40), gtol=0)
    >>> worst, per = map_digits(*reduced_for(m, 40), tr, dps=40); bool(worst > 35), len(per)
    (True, 6)
    """
    cm = compile_deep_map(dm, "mpmath")
    with mpmath.workdps(dps):
        n = mpmath.mpf(tr.width)
        c = [tr.eta, n] + [mpmath.mpf(v) for v in consts]
        hist = run_map(cm.step, cm.init(n), c, steps=tr.steps, rule=None, record=True).history
        tiny = mpmath.mpf(10) ** -99
        per = [min(-mpmath.log10(abs(fv - tr.f[t]) / max(abs(tr.f[t]), abs(tr.f[0])) + tiny),
                   -mpmath.log10(abs(lv - tr.lam[t]) / abs(lv) + tiny)) for t, (fv, lv) in enumerate(hist)]
    return min([mpmath.mpf(99)] + per), per


def reduced_run(dm, n, consts, x, *, dps=None, steps=2000, rule=RULE, curv=1, record=False):
    """``rule`` (default: run_gd's stop rule) on the compiled reduced map ``dm`` (its own loss) from the init with
    invariants ``consts = (A, C, rho)`` (None: the invariant init A = C = n, rho = sqrt(n), computed in the run's
    arithmetic) at width ``n`` and eta = x/lam0: python floats (``dps=None``) or mpmath at ``dps`` digits.
    ``curv`` = l''(f*) of the map's loss gives the stiffness eta l''(f*) of a rule with a ``floor`` or ``settle``
    criterion; ``record`` keeps (f, lam) per step.  Returns a :class:`catapult.numerics.reduced.MapRun`
    (``.stop.diverged`` is the verdict).

    >>> reduced_run(squared_map(2), 64, (64, 64, 8), 4.01, dps=30).stop.value
    'runaway'
    """
    if dps is None:
        return _run(dm, n, consts, x, "math", math.sqrt, steps, rule, curv, record)
    import gmpy2   # MPFR at mpmath's precision for dps digits (see catapult.verify.bridge._gmpy2_namespace)
    with mpmath.workdps(dps), gmpy2.context(gmpy2.get_context(), precision=mpmath.mp.prec,
                                            emax=gmpy2.get_emax_max(), emin=gmpy2.get_emin_min()):
        r = _run(dm, n, consts, x, "gmpy2", gmpy2.sqrt, steps, rule, curv, record)
        r.lam0 = to_mpmath(r.lam0)
        if r.history is not None:
            r.history = [(to_mpmath(fv), to_mpmath(lv)) for fv, lv in r.history]
        return r


def _run(dm, n, consts, x, modules, sqrt, steps, rule, curv, record):
    cm = compile_deep_map(dm, modules)
    num = cm._num
    n = num(n)
    c = [num(1), n] + ([n, n, sqrt(n)] if consts is None else [num(v) for v in consts])
    s = cm.init(n)
    lam0 = cm.step(s, c)[2]
    c[0] = num(x) / lam0
    return run_map(cm.step, s, c, steps=steps, slope=cm.slope, scale=sqrt(n), lam0=lam0, rule=rule,
                   stiffness=curv * c[0], record=record)


def precision_tag(d):
    """The label of a reduced-map precision: float64 (None) or mp<digits>.

    >>> precision_tag(None), precision_tag(30)
    ('float64', 'mp30')
    """
    return "float64" if d is None else f"mp{d}"


def reduced_threshold(model, lo, hi, rtol=1e-6, dps=30, loss=None, steps=2000):
    """Divergence threshold (eta*lam0) of the reduced map under ``loss`` (default f^2/2) with this network's
    invariants, by bisection at ``dps`` digits; both bracket ends are confirmed at 2*dps digits.  Returns
    ``(lo, hi, confirmed)``; raises ValueError when ``[lo, hi]`` does not straddle the reduced map's verdict.

    >>> from catapult.theory import Loss
    >>> m = DeepLinearModel(16, 2, seed=0, init="isometric")
    >>> lo, hi, ok = reduced_threshold(m, 0.9, 1.1, rtol=1e-8, loss=Loss.parse("2*f**2")); ok, abs(hi - 1) < 1e-7
    (True, True)
    """
    dm, consts = reduced_for(model, 2 * dps, loss)
    n = model.width
    try:
        b = bisect_ladder(lambda x, d: reduced_run(dm, n, consts, x, dps=d, steps=steps).stop.diverged,
                          mpmath.mpf(lo), mpmath.mpf(hi), rtol, [dps, 2 * dps], tag=precision_tag)
    except NoStraddle:
        raise ValueError(f"bracket [{float(lo):.6g}, {float(hi):.6g}] of eta*lam0 does not straddle the reduced "
                         f"map's divergence threshold under {dm.loss.expr}") from None
    return b.lo, b.hi, b.converged


# ---------------------------------------------------------------------------------------------------------------
# The first divergent eta*lam0 above 2 (issue 4): reduced map (this network's own A, C, rho) vs bisection on
# full-width GD, and Gaussian networks beside them.
#
# Both sides decide divergence with the SAME predicate, run_gd's: within ``steps`` steps, diverges if f or lam
# is not finite, |f| > 1e8 sqrt(n) or lam > 1e4 lam0; stops as converged if |l'(f)| sqrt(lam) = |f| sqrt(lam)
# < 1e-12; otherwise (budget) not divergent.  The divergent set of x = eta*lam0 is NOT an interval (convergent
# windows, thin divergent slivers), so the edge targeted is the first one: the reduced map is scanned on a grid
# (0.01 from 2 to 4L, then the unit below the first divergent point at 1e-4), and both bisections work inside
# the first transition's bracket.

def reduced_codes(L, n, consts, xs, steps=2000):
    """Vectorised float64 verdicts of the reduced map with invariants ``consts = (A, C, rho)`` at
    x = eta*lam0 in ``xs``, with run_gd's stop rule (1 = diverges within ``steps`` steps, 0 = not).

    >>> reduced_codes(2, 64, (64.0, 64.0, 8.0), [3.9, 3.99, 4.01, 4.5]).tolist()   # the uv model: 4
    [0, 0, 1, 1]
    """
    return (reduced_lockstep(squared_map(L), n, consts, xs, steps=steps)[0] == DIVERGED).astype(np.int8)


def reduced_lockstep(dm, n, consts, xs, *, steps=2000, rule=RULE, curv=1, dps=None):
    """:func:`reduced_run` for every x = eta*lam0 in ``xs`` at once: width ``n`` a number or an array like ``xs``,
    ``consts = (A, C, rho)`` (None: the invariant init A = C = n, rho = sqrt(n) per orbit).  In float64 (numpy
    lock-step), or with ``dps`` on the fixed-point engine (:func:`fixed_lockstep`: constants at ``dps`` digits,
    states on the grid 2^-180; a map not polynomial in its state, e.g. under the logistic loss, or ``dps`` > 50
    runs orbit by orbit in MPFR at ``dps`` digits instead, :func:`reduced_run`).  Returns ``(codes, when)`` of :func:`catapult.numerics.reduced.run_map_lockstep`
    (1 diverged, 0 converged, -1 undecided: still going when the budget ran out).

    >>> reduced_lockstep(squared_map(2), [64.0, 1e6], None, [3.9, 4.1])[0].tolist()
    [0, 1]
    >>> reduced_lockstep(squared_map(2), 64.0, None, [3.9, 3.99, 4.01, 4.1], dps=30)[0].tolist()
    [0, 0, 1, 1]
    """
    if dps is not None:
        try:
            if dps > FIXED_MAX_DPS:
                raise NotPolynomial(f"{dps} digits: more than the fixed-point grid carries ({FIXED_MAX_DPS})")
            return fixed_lockstep(dm, n, consts, xs, steps=steps, rule=rule, curv=curv, dps=dps)[:2]
        except NotPolynomial:   # e.g. the logistic loss, or > 50 digits: every orbit alone in MPFR (same verdicts)
            runs = [reduced_run(dm, nv, consts, x, dps=dps, steps=steps, rule=rule, curv=curv)
                    for x, nv in zip(np.ravel(xs), np.broadcast_to(n, np.shape(xs)).ravel())]
            return (np.array([{True: DIVERGED, False: CONVERGED, None: GOING}[r.stop.verdict] for r in runs], np.int8),
                    np.array([r.steps for r in runs], np.int64))
    xs = np.asarray(xs, dtype=float)
    one = np.ones(xs.size)
    ns = np.asarray(n, dtype=float) * one
    cm = compile_deep_map(dm, "numpy")
    c = [one, ns] + ([ns, ns, np.sqrt(ns)] if consts is None else [float(v) * one for v in consts])
    S = [v * one for v in cm.init(ns)]
    lam0 = np.broadcast_to(cm.step(S, c)[2], one.shape).copy()
    c[0] = xs / lam0
    return run_map_lockstep(cm.step, S, c, steps=steps, slope=cm.slope, scale=np.sqrt(ns), lam0=lam0, rule=rule,
                            stiffness=curv * c[0])


_PROGRAMS = {}


def _program(dm):
    """The fixed-point lock-step program of a deep map, split once per map and MPFR precision (its constants'
    namespace holds pi and e at the context's precision, as :func:`catapult.verify.bridge.compile_deep_map`'s)."""
    import gmpy2
    from catapult.theory.deep import A, C, RHO
    from catapult.theory.symbols import eta, n
    key = (id(dm), gmpy2.get_context().precision)
    hit = _PROGRAMS.get(key)
    if hit is None or hit[0] is not dm:
        if len(_PROGRAMS) >= 32:
            del _PROGRAMS[next(iter(_PROGRAMS))]
        hit = _PROGRAMS[key] = (dm, fixed_program(dm.update, dm.f, dm.lam, dm.state, [eta, n, A, C, RHO]))
    return hit[1]


def fixed_lockstep(dm, n, consts, xs, *, steps=2000, rule=RULE, curv=1, dps=30):
    """:func:`reduced_lockstep` on the fixed-point engine (:mod:`catapult.verify.lockstep`): each orbit's init,
    lam0, eta = x/lam0 and constants in MPFR at ``dps`` digits (as :func:`reduced_run` computes them), then every
    orbit's polynomial step on fixed-point vectors; an orbit leaving the fixed range is continued alone in MPFR
    (:func:`reduced_run`'s arithmetic) from its state there.  The map must be polynomial in its state
    (:class:`catapult.verify.lockstep.NotPolynomial` otherwise).  Returns ``(codes, when, continued)``.

    >>> codes, when, alone = fixed_lockstep(squared_map(3), 64.0, None, [5.0, 6.0])
    >>> codes.tolist(), alone
    ([0, 1], [1])
    """
    import gmpy2
    xs = np.asarray(xs, dtype=float)
    ns = np.asarray(n, dtype=float) * np.ones(xs.size)
    with mpmath.workdps(dps), gmpy2.context(gmpy2.get_context(), precision=mpmath.mp.prec,
                                            emax=gmpy2.get_emax_max(), emin=gmpy2.get_emin_min()):
        prog = _program(dm)
        cm = compile_deep_map(dm, "gmpy2")
        num = cm._num
        inits, cs, lam0s = [], [], []
        for x, nv in zip(xs, ns):
            nn = num(float(nv))
            c = [num(1), nn] + ([nn, nn, gmpy2.sqrt(nn)] if consts is None else [num(v) for v in consts])
            s = cm.init(nn)
            lam0 = cm.step(s, c)[2]
            c[0] = num(float(x)) / lam0
            inits.append(s), cs.append(c), lam0s.append(lam0)

        def alone(i, t, state, carry):
            carry = carry or {"start": None, "settle": (0, None)}
            r = run_map(cm.step, [num(v) for v in state], cs[i], steps=steps - t, slope=cm.slope,
                        scale=gmpy2.sqrt(num(float(ns[i]))), lam0=lam0s[i], rule=rule, stiffness=curv * cs[i][0],
                        start=carry["start"], settle=carry["settle"])
            return {True: DIVERGED, False: CONVERGED, None: GOING}[r.stop.verdict], t + r.steps
        return lockstep_verdicts(prog, inits, cs, steps=steps, rule=rule, slope=compile_deep_map(dm, "numpy").slope,
                                 scale=np.sqrt(ns), lam0=np.array([float(v) for v in lam0s]),
                                 stiffness=curv * np.array([float(c[0]) for c in cs]), alone=alone)


def reduced_diverges64(L, n, consts, x, steps=2000):
    """The verdict of :func:`reduced_codes` for one x, in python floats (fast for bisection).

    >>> reduced_diverges64(3, 64, (64.0, 64.0, 8.0), 5.0), reduced_diverges64(3, 64, (64.0, 64.0, 8.0), 6.0)
    (False, True)
    """
    return reduced_run(squared_map(L), n, consts, x, steps=steps).stop.diverged


def reduced_diverges_mp(L, n, consts, x, dps, steps=2000):
    """The same verdict for one x in mpmath at ``dps`` digits (True = diverges within ``steps`` steps).

    >>> reduced_diverges_mp(2, 64, (64, 64, 8), 3.99, 30), reduced_diverges_mp(2, 64, (64, 64, 8), 4.01, 30)
    (False, True)
    """
    return reduced_run(squared_map(L), n, consts, x, dps=dps, steps=steps).stop.diverged


def _reduced_pred(L, n, consts, steps):
    """``pred(x, dps)``: the reduced map's verdict in float64 (dps None) or at dps digits."""
    return lambda x, d: reduced_run(squared_map(L), n, consts, x, dps=d, steps=steps).stop.diverged


def reduced_first_edge(L, n, consts, steps=2000, rtol=1e-9, grid_step=0.01, sliver=1e-4, ladder=(30, 60, 120)):
    """The reduced map's first divergent x above 2 for invariants ``consts = (A, C, rho)`` at width ``n``:
    0.01 grid from 2 to 4L, the unit below its first divergent point rescanned at ``sliver``, then
    :func:`catapult.numerics.bracket.bisect_ladder` on float64, ``ladder[0]``, ... digits (bisect to ``rtol``, both
    ends re-decided at the next two rungs, the bracket widened by ``sliver`` when a threshold sits on an end).
    A :class:`catapult.numerics.bracket.Bracket`; ``extra``: ``grid_first`` (first divergent 0.01-grid point),
    ``windows`` (convergent grid points above it, up to 4L), ``start`` (the sliver bracket), ``seconds``.

    >>> e = reduced_first_edge(2, 64, (64.0, 64.0, 8.0)); abs(e.x - 4) < 1e-8, e.precisions
    (True, ['float64', 'mp30', 'mp60'])
    """
    t0 = time.perf_counter()
    xs = np.round(2.0 + grid_step * np.arange(int(round((4 * L - 2) / grid_step)) + 1), 10)
    code = reduced_codes(L, n, consts, xs, steps)
    if not code.any():
        raise RuntimeError(f"L={L}, n={n}: reduced map not divergent on the grid up to {xs[-1]}")
    i1 = int(np.argmax(code == 1))
    if i1 == 0:
        raise RuntimeError(f"L={L}, n={n}: reduced map divergent at x = 2")
    a0 = max(2.0, float(xs[i1]) - 1.0)
    xsl = np.round(a0 + sliver * np.arange(int(round((xs[i1] - a0) / sliver)) + 1), 12)
    csl = reduced_codes(L, n, consts, xsl, steps)
    k = int(np.argmax(csl == 1))
    if csl[k] != 1 or k == 0:
        raise RuntimeError(f"L={L}, n={n}: sliver scan found no convergent-to-divergent transition")
    start = (float(xsl[k - 1]), float(xsl[k]))
    # mpmath ends: the bisection's midpoints are exact below float64's resolution (rtol < 1e-16 at the mp rungs)
    e = bisect_ladder(_reduced_pred(L, n, consts, steps), mpmath.mpf(start[0]), mpmath.mpf(start[1]), rtol, [None] + list(ladder), tag=precision_tag, confirm=2,
                      criterion="first divergent eta*lam0 above 2 (run_gd's stop rule), reduced map",
                      tries=(2, 2), step=sliver, edge_slack=True, strict=False)
    if not e.converged:
        e = Bracket(*start, criterion=e.criterion, iterations=e.iterations, converged=False, notes=e.notes)
    elif rtol >= 1e-15:   # the ends are exact in float64 (a float bracket halved ~50 times at most): floats, as before
        e.lo, e.hi = float(e.lo), float(e.hi)
    e.extra.update(grid_first=float(xs[i1]), windows=int((code[i1:] == 0).sum()), start=start,
                   seconds=time.perf_counter() - t0)
    return e


def network_invariants(model):
    """(A, C, rho) = (|w_1|^2, |w_L|^2, sqrt(n) f0) of a network, as floats (from arb at 60 digits).

    >>> A_, C_, rho = network_invariants(DeepLinearModel(16, 3, seed=0, init="isometric")); A_ > 0 and C_ > 0
    True
    """
    return tuple(float(v) for v in model.invariants(get_backend("arb", 60)))


def full_width_first_edge(model, bracket, rtol=1e-6, dps=30, steps=2000, below=0.5, confirm=True):
    """Bisection of full-width GD's divergence verdict (catapult.numerics.search.locate: float64, both ends confirmed
    in arb at ``dps`` digits; ``confirm=False``: float64 only) inside ``bracket`` (the first transition), after
    checking in float64 that full-width GD does not diverge at the points 2.5, 2.5 + ``below``, ... below it.
    Returns (Bracket, lam0).

    >>> from catapult.numerics.deep import DeepLinearModel
    >>> m = DeepLinearModel(16, 2, seed=0, init="isometric")
    >>> e, lam0 = full_width_first_edge(m, (3.9, 4.1), rtol=1e-6); abs(e.x - 4) < 1e-5, len(e.precisions)
    (True, 2)
    """
    t0 = time.perf_counter()
    B = get_backend("float64")
    lo, hi = bracket
    checks = list(np.arange(2.5, lo, below)) if below else []
    bad = [float(x) for x in checks if gd_diverges(model, squared(), float(x), B, steps)]
    notes = [f"full-width GD diverges below the bracket at x = {bad}"] if bad else []
    criterion = "first divergent eta*lam0 (run_gd's stop rule), full-width GD"
    if confirm:
        est = locate("eta_max", model, squared(), lo, hi, rtol=rtol, dps=dps, steps=steps)
        e = Bracket(float(est.lo), float(est.hi), criterion=criterion, precisions=est.precisions,
                    iterations=est.evaluations, escalations=est.escalations, notes=notes)
        lam0 = est.lam0
    else:
        if gd_diverges(model, squared(), lo, B, steps) or not gd_diverges(model, squared(), hi, B, steps):
            raise RuntimeError(f"bracket {bracket} does not straddle for full-width GD in float64")
        e = bisect(lambda x: gd_diverges(model, squared(), x, B, steps), lo, hi, rtol, criterion=criterion,
                   precision="float64")
        e.notes = notes + e.notes
        lam0 = run_gd(model, squared(), eta_lam0=1, steps=0, backend=B).lam0
    e.extra["seconds"] = time.perf_counter() - t0
    return e, lam0


def full_width_scan_edge(model, start=2.5, step=0.1, fine=0.01, stop=None, rtol=1e-5, dps=30, steps=2000,
                         confirm=True):
    """The first divergent x of full-width GD with no reduced map to guide it (Gaussian layers): float64
    verdicts at x = start, start + step, ... up to the first divergent point (or ``stop``, default 4L), the
    last interval rescanned at ``fine``, then bisected to ``rtol`` (:func:`full_width_first_edge`: arb at
    ``dps`` digits confirms both ends).  Divergent slivers narrower than ``fine`` can be missed.

    >>> e, lam0 = full_width_scan_edge(DeepLinearModel(16, 2, seed=3), start=3.5, step=0.25, fine=0.05)
    >>> abs(e.x - 4) < 1e-4, e.extra["start"][1] - e.extra["start"][0] <= 0.05 + 1e-12   # L = 2: the uv model, 4
    (True, True)
    """
    t0 = time.perf_counter()
    B = get_backend("float64")
    stop = 4 * model.depth if stop is None else stop
    x, prev = start, None
    while x <= stop + 1e-12:
        if gd_diverges(model, squared(), x, B, steps):
            break
        prev, x = x, round(x + step, 10)
    else:
        raise RuntimeError(f"{model}: full-width GD not divergent on the grid up to {stop}")
    if prev is None:
        raise RuntimeError(f"{model}: full-width GD divergent at the scan's start x = {start}")
    first = x
    pts = [prev] + [round(prev + fine * k, 10) for k in range(1, int(round((x - prev) / fine)))] + [x]
    k = next(k for k in range(1, len(pts)) if k == len(pts) - 1 or gd_diverges(model, squared(), pts[k], B, steps))
    lo, hi = pts[k - 1], pts[k]
    e, lam0 = full_width_first_edge(model, (lo, hi), rtol=rtol, dps=dps, steps=steps, below=None, confirm=confirm)
    e.extra.update(grid_first=first, start=(lo, hi), seconds=time.perf_counter() - t0)
    return e, lam0


def reduced_gap(model, x, checkpoints=(1, 10), dps=30):
    """Relative differences of f and lam between full-width GD (float64: the gaps are far above its rounding) and
    the isometric reduced map with this network's own (A, C, rho) and the same eta, at the given steps.
    Returns {t: (rel f gap, rel lam gap)}; the f gap is relative to max(|f_t|, |f_0|).

    >>> g = reduced_gap(DeepLinearModel(16, 3, seed=0, init="isometric"), 1.5); max(max(v) for v in g.values()) < 1e-12
    True
    """
    T = max(checkpoints)
    tr = run_gd(model, squared(), eta_lam0=x, steps=T, backend=get_backend("float64"), gtol=0)
    n = model.width
    with mpmath.workdps(dps):
        cm = compile_deep_map(squared_map(model.depth), "mpmath")
        c = [mpmath.mpf(float(tr.eta)), mpmath.mpf(n)] + [mpmath.mpf(v) for v in network_invariants(model)]
        hist = run_map(cm.step, cm.init(mpmath.mpf(n)), c, steps=min(T, tr.steps), rule=None, record=True).history
    return {t: (float(abs(hist[t][0] - tr.f[t]) / max(abs(tr.f[t]), abs(tr.f[0]))),
                float(abs(hist[t][1] - tr.lam[t]) / abs(tr.lam[t]))) for t in checkpoints if t < len(hist)}


def iso_threshold_pair(model, rtol=1e-7, dps=30, confirm=True, below=0.5):
    """(reduced-map Bracket with the network's own invariants, full-width Bracket) for one isometric network.

    The full-width bisection starts from [reduced sliver bracket - 0.05, its divergent end] (the reduced map
    converges on the whole 1e-4 grid there); an edge sitting exactly on that end (x = 4 for L = 2, a
    rounding-dependent verdict) moves the end up by one sliver step.  The full-width bracket's
    ``extra["mirror"]`` is ``(lo, hi, confirmed)`` of the same bisection on the reduced map.

    >>> red, full = iso_threshold_pair(DeepLinearModel(16, 3, seed=1, init="isometric"), rtol=1e-6)
    >>> full.lo - (red.hi - red.lo) <= red.x <= full.hi + (red.hi - red.lo)
    True
    """
    L, n, inv = model.depth, model.width, network_invariants(model)
    red = reduced_first_edge(L, n, inv)
    lo0, hi0 = red.extra["start"]
    if not gd_diverges(model, squared(), hi0, get_backend("float64"), 2000):
        hi0 = round(hi0 + 1e-4, 12)
    bracket = (max(2.0, lo0 - 0.05), hi0)
    full, _ = full_width_first_edge(model, bracket, rtol=rtol, dps=dps, confirm=confirm, below=below)
    # the same bisection (same bracket, same midpoints, same rtol) on the reduced map's float64 verdicts, ends
    # re-decided at 30 digits: the divergent set has structure finer than 1e-6 near x* (e.g. L = 7, n = 64: a
    # convergent window of width ~2e-7 at x* + 1e-6, and slivers at the 1e-9 scale), so a bisection need not land
    # on the first edge, and "the first edge" is only defined at a resolution -- but both bisections must land on
    # the SAME edge (an edge exactly on an end, x = 4 for L = 2: the bracket widened by its width)
    m = bisect_ladder(_reduced_pred(L, n, inv, 2000), *bracket, rtol, [None, 30], tag=precision_tag, edge_slack=True,
                      strict=False)
    full.extra["mirror"] = (m.lo, m.hi, m.converged)
    return red, full
