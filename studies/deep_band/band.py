"""Study: how does the divergence threshold x* = eta*lam0 of the reduced deep-linear map depend on the
width n, and what are its limits as n -> infinity?  (Squared loss, invariant init A = C = n,
rho = sqrt(n), f0 = 1; L = 2..8.)

Run (from the repository root, with the package installed)::

    python studies/deep_band/band.py L [--per-decade 40 --lo 2 --hi 9 --json out.json]

one run per L; the measured tables are ``studies/deep_band/results.md``.  The library it uses
(compiled map, verdicts, :func:`catapult.verify.deep_band.threshold` at one width) is
:mod:`catapult.verify.deep_band`; this script is not part of the installed package.

What the study computes
    Band (:func:`band`): thresholds over log-spaced n; min / max over the last two decades vs the
    two before them (golden-section refined in ln n, :func:`extremes`); autocorrelation period and
    the spacing of the sawtooth drops (:func:`drops`) against P(x) = 2 ln|1 - x|, ln|1 - x|,
    4 ln|1 - x|; the invariance tests; the limits from the phase cylinder.

    The invariance (:func:`invariance_test`, :func:`edge_shift`): the verdict set is invariant under
    n -> n (x - 1)^2 (one more catapult growth step before |f| reaches ~sqrt(n)), up to corrections
    that shrink with n.  So at each x the verdict is periodic in ln n with the x-dependent period
    P(x) (:func:`catapult.verify.deep_band.growth_period`), the whole picture is one (x, psi)
    cylinder (:func:`phase_codes`), and its extreme points give the n -> infinity limits x_lo, x_hi
    (:func:`phase_limits`); :func:`asymptotic_window` evaluates x*(n) up to n = 1e300.

    Validation: :func:`check_settled` re-runs the orbits the *settled* verdict rule decided with
    the rule off; :func:`uv_drift_identity` checks, for L = 2, lam' - lam = (eta f^2/n)(eta lam - 4).

What the results say (``results.md``)
    L = 2: x* = 4 at every n.  L >= 3: x*(n) is a sawtooth in ln n with divergent islands below and
    convergent windows above it; the verdict set is invariant under n -> n (x - 1)^2 (no single
    period in ln n), so the windows shrink like 1/ln n and lim inf = lim sup of x*(n) = x_lo
    (5.15086 for L = 3 ... 8.46577 for L = 8), x_last(n) -> x_hi.

The docstring examples run with ``python -m pytest -q studies/deep_band`` (not in the default test run).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from catapult.numerics.bracket import bisect
from catapult.theory.symbols import eta, n as N_SYM
from catapult.verify.deep_band import (T_BISECT, T_SCAN, deep_map, diverges, grid, growth_period, orbit, threshold,
                                       verdicts)


# ---------------------------------------------------------------- inspection and validation of the verdict rule


def trajectory(L: int, n, x, dps=None, T: int = 200):
    """(f_t, lam_t) for t = 0..(stop) of the orbit from the invariant init -- for inspection.

    >>> [round(f, 6) for f, _ in trajectory(2, 1e6, 3.0, T=3)]   # f_t ~ (1 - x)^t while |f| << sqrt(n)
    [1.0, -1.999998, 3.999973, -7.999757]
    """
    return orbit(L, n, x, dps, T, record=True).history[:T + 1]


def check_settled(L: int, n, xs, T_long: int = 200000):
    """Test the *settled* rule: re-run every orbit it called convergent with the rule switched off for
    ``T_long`` steps.  Returns (how many the rule decided, how many of those then diverged).

    >>> check_settled(3, 1e8, [5.2, 5.3, 5.55], T_long=20000)
    (3, 0)
    """
    xs = np.asarray(xs, dtype=float)
    code, _ = verdicts(L, n, xs)
    strict, _ = verdicts(L, n, xs, T=T_long, strict=True)
    dec = code == 0
    return int(dec.sum()), int((dec & (strict == 1)).sum())


# ---------------------------------------------------------------- the n -> n |1 - x|^2 invariance


def invariance_test(L: int, n_values=(1e8, 3e8, 1e9, 3e9, 1e10), step=0.01, extra=(), T=T_SCAN):
    """Test D(x, n) = D(x, n |1 - x|^2) (D = the divergence verdict) where it is hardest: at every grid
    point x (spacing ``step``) adjacent to a verdict change at width n, for each n in ``n_values``.
    Candidates: n |1 - x|^p for p = 1, 2, 4, n |1 - x|^2 times 1.02 and 1/1.02 (controls), and n e^P for
    each constant period P in ``extra``.  Returns {label: (agree, total)}.

    >>> r = invariance_test(3, n_values=(1e5,)); r['|1-x|^2'][0] == r['|1-x|^2'][1] > r['|1-x|^1'][0]
    True
    """
    xs = grid(L, step)
    X, Nn, base = [], [], []
    for n in n_values:
        code, _ = verdicts(L, n, xs, T=T)
        near = np.zeros(len(xs), dtype=bool)
        ch = (code[1:] != code[:-1])
        near[1:] |= ch
        near[:-1] |= ch
        X.append(xs[near])
        Nn.append(np.full(int(near.sum()), float(n)))
        base.append(code[near])
    X, Nn, base = np.concatenate(X), np.concatenate(Nn), np.concatenate(base)
    cands = [(f"|1-x|^{p}", np.abs(1 - X) ** p) for p in (1, 2, 4)]
    cands += [("|1-x|^2 * 1.02", 1.02 * np.abs(1 - X) ** 2), ("|1-x|^2 / 1.02", np.abs(1 - X) ** 2 / 1.02)]
    cands += [(f"e^{P:.4f} (constant)", np.full(len(X), math.exp(P))) for P in extra]
    out = {}
    for label, fac in cands:
        v, _ = verdicts(L, Nn * fac, X, T=T)
        out[label] = (int((v == base).sum()), len(X))
    return out


def edge_shift(L: int, n, k: int = 1, power: float = 2.0, h: float = 0.01, rtol=1e-12, T=T_BISECT,
               factor=None):
    """Locate the first edge x* at width n (float64), then the edge nearest to x* at width
    n |1 - x*|^(power k) (or n factor^k); returns (x*, x*', x*' - x*) (None when no edge lies within
    h).  For the invariance (power 2) the shift should vanish as n grows; for a wrong factor it
    stays O(step) or no edge is found.

    >>> xs, xs2, d = edge_shift(3, 1e10); abs(d) < 1e-5
    True
    """
    e = threshold(L, n, rtol=rtol, confirm=False, T=T).first
    x0 = e.x
    n2 = n * abs(1 - x0) ** (power * k) if factor is None else n * factor ** k
    loc = np.linspace(x0 - h, x0 + h, 201)
    code, _ = verdicts(L, n2, loc, T=T)
    ch = [i for i in range(200) if code[i] != code[i + 1] and -1 not in (code[i], code[i + 1])]
    if not ch:
        return x0, None, None
    i = min(ch, key=lambda j: abs(loc[j] - x0))
    va = code[i] == 1

    def changed(m):     # the verdict differs from the one at the bracket's left end (None: undecided)
        v = diverges(L, n2, m, T=T)
        return None if v is None else v != va
    x1 = bisect(changed, float(loc[i]), float(loc[i + 1]), rtol).x
    return x0, x1, x1 - x0


def phase_codes(L: int, xs, psis, n_ref=1e9, T=T_SCAN):
    """Verdicts on the (x, psi) cylinder: at (x, n_ref e^{psi P(x)}).  If the verdict set is invariant
    under n -> n |1 - x|^2, this picture (psi in [0, 1)) holds every width: n is in it at
    psi = frac(ln(n/n_ref)/P(x)).  Returns an array of codes, shape (len(psis), len(xs)).

    >>> c = phase_codes(3, [5.0, 6.3], [0.0, 0.5]); c.tolist()
    [[0, 1], [0, 1]]
    """
    X, Ps = np.meshgrid(np.asarray(xs, float), np.asarray(psis, float))
    code, _ = verdicts(L, (n_ref * np.exp(Ps * growth_period(X))).ravel(), X.ravel(), T=T)
    return code.reshape(X.shape)


def phase_limits(L: int, x_a, x_b, nx=241, npsi=240, zooms=5, n_ref=1e9, T=T_SCAN):
    """The n -> infinity limits implied by the invariance: x_lo = the smallest x at which *some* width
    diverges (some psi), x_hi = the largest x at which some width converges.  For x < x_lo every width
    converges, for x > x_hi every width diverges; in between the phase psi(x) = ln(n/n_ref)/P(x) winds
    ever faster in x as n grows (d psi/dx ~ ln n P'(x)/P(x)^2), so the convergent/divergent windows
    shrink like 1/ln n and x*(n) -> x_lo, x_last(n) -> x_hi.

    Located on a (x, psi) grid over [x_a, x_b] x [0, 1), then ``zooms`` times on 41 x 41 grids around
    the extreme cells.  Returns {'x_lo': (value, previous-zoom value, psi), 'x_hi': (...), 'fraction': ...}.

    >>> r = phase_limits(3, 5.0, 5.4, nx=41, npsi=60, zooms=2); abs(r['x_lo'][0] - 5.1509) < 2e-3
    True
    """
    xs = np.linspace(x_a, x_b, nx)
    ps = np.arange(npsi) / npsi
    code = phase_codes(L, xs, ps, n_ref, T)
    out = {"fraction": {float(x): float(f) for x, f in zip(xs[::max(1, nx // 24)], (code == 1).mean(0)[::max(1, nx // 24)])},
           "grid": (nx, npsi)}
    for key, target, pick in (("x_lo", 1, "min"), ("x_hi", 0, "max")):
        cols = np.where((code == target).any(0))[0]
        if len(cols) == 0:
            out[key] = (None, None)
            continue
        j = cols[0] if pick == "min" else cols[-1]
        x0, dx = xs[j], xs[1] - xs[0]
        pr = ps[code[:, j] == target]
        p0, p1, dp = pr.min(), pr.max(), ps[1] - ps[0]
        hist = [float(x0)]
        for _ in range(zooms):
            zx = np.linspace(x0 - 2 * dx, x0 + 2 * dx, 41) if pick == "min" else np.linspace(x0 - 2 * dx, x0 + 2 * dx, 41)
            zp = np.linspace(p0 - 2 * dp, p1 + 2 * dp, 41)
            c = phase_codes(L, zx, zp, n_ref, T)
            cols = np.where((c == target).any(0))[0]
            if len(cols) == 0:
                break
            j = cols[0] if pick == "min" else cols[-1]
            x0, dx = zx[j], zx[1] - zx[0]
            pr = zp[c[:, j] == target]
            p0, p1, dp = pr.min(), pr.max(), zp[1] - zp[0]
            hist.append(float(x0))
        out[key] = (hist[-1], hist[-2] if len(hist) > 1 else None, float((p0 + p1) / 2))
    return out


def asymptotic_window(L: int, N, n_ref=1e9, samples=21, x_from=None, span=None, res=0.003):
    """x*(n) and x_last(n) for n through one growth period above N (ln n in [ln N, ln N + span]),
    from the invariance (verdicts at :func:`equivalent_width`), on an x grid fine enough for the phase
    winding: spacing min(0.001, res/r), r = ln(N/n_ref) P'(x)/P(x)^2 windings per unit x.
    Returns {'x_min', 'x_max', 'x_last_min', 'x_last_max', 'step'} (float64, grid-level brackets).

    >>> r = asymptotic_window(3, 1e100, samples=2, x_from=5.1, span=1.0); 5.15 < r['x_min'] <= r['x_max'] < 5.3
    True
    """
    x_from = x_from if x_from is not None else 3.0
    xm = x_from + 1.0
    r = abs(math.log(N / n_ref)) * (2 / (xm - 1)) / growth_period(xm) ** 2
    step = min(0.001, res / max(r, 1e-9))
    span = span if span is not None else growth_period(4 * L)
    xs_, xl_ = [], []
    for t in np.linspace(math.log(N), math.log(N) + span, samples):
        r_ = threshold(L, math.exp(t), rtol=1e-7, step=step, fine=step, confirm=False, n_ref=n_ref,
                       start=x_from)
        xs_.append(r_.x)
        xl_.append(r_.x_last)
    xl_ = np.array(xl_)
    return {"x_min": min(xs_), "x_max": max(xs_), "x_last_min": float(np.nanmin(xl_)) if np.isfinite(xl_).any() else None,
            "x_last_max": float(np.nanmax(xl_)) if np.isfinite(xl_).any() else None, "x_last_open": int(np.isnan(xl_).sum()),
            "step": step, "samples": samples}


# ---------------------------------------------------------------- band over n


def log_grid(per_decade=40, lo_exp=2, hi_exp=9):
    """n = 10^(k/per_decade) for lo_exp <= k/per_decade <= hi_exp (floats; the map takes real n).

    >>> g = log_grid(2, 2, 3); [round(v, 3) for v in g]
    [100.0, 316.228, 1000.0]
    """
    return [10.0 ** (k / per_decade) for k in range(int(round(lo_exp * per_decade)), int(round(hi_exp * per_decade)) + 1)]


def golden(fun, a, b, maximize=True, iters=14):
    """Golden-section search of ``fun`` on [a, b]; returns (argbest, best) over all points evaluated.

    >>> t, v = golden(lambda t: -(t - 0.3) ** 2, 0.0, 1.0, iters=30); round(t, 6), round(v, 9)
    (0.3, -0.0)
    """
    g = (math.sqrt(5) - 1) / 2
    sgn = 1 if maximize else -1
    seen = {}

    def F(t):
        if t not in seen:
            seen[t] = fun(t)
        v = seen[t]
        return -math.inf if v != v else sgn * v
    c, d = b - g * (b - a), a + g * (b - a)
    for _ in range(iters):
        if F(c) > F(d):
            b, d = d, c
            c = b - g * (b - a)
        else:
            a, c = c, d
            d = a + g * (b - a)
    t = max(seen, key=F)
    return t, seen[t]


def _q(L, which, n_ref=None, confirm=False):
    def q(lnn):
        r = threshold(L, math.exp(lnn), confirm=confirm, n_ref=n_ref)
        return r.x if which == "x" else r.x_last
    return q


def extremes(L, ns, vals, which="x", lo_exp=None, hi_exp=None, refine=True, iters=12):
    """Min and max of the sampled thresholds ``vals`` over n in [10^lo_exp, 10^hi_exp], each refined by
    golden-section search in ln n between the sample's neighbours (float64 thresholds).

    Returns {'min': (n, value, sampled value), 'max': (...)}.

    >>> e = extremes(3, [1e2, 1e3, 1e4], [5.19, 5.22, 5.78], refine=False); e['max'][1], round(e['min'][0], 6)
    (5.78, 100.0)
    """
    ln = np.log(ns)
    v = np.asarray(vals)
    sel = np.ones(len(ns), dtype=bool)
    if lo_exp is not None:
        sel &= ln >= lo_exp * math.log(10) - 1e-9
    if hi_exp is not None:
        sel &= ln <= hi_exp * math.log(10) + 1e-9
    idx = np.where(sel)[0]
    out = {}
    for kind, pick in (("min", np.nanargmin), ("max", np.nanargmax)):
        i = int(idx[pick(v[idx])])
        best_t, best = ln[i], float(v[i])
        if refine:
            a, b = ln[max(i - 1, 0)], ln[min(i + 1, len(ln) - 1)]
            t, val = golden(_q(L, which), a, b, maximize=(kind == "max"), iters=iters)
            if (kind == "max" and val > best) or (kind == "min" and val < best):
                best_t, best = t, val
        out[kind] = (math.exp(best_t), best, float(v[i]))
    return out


def autocorr_period(ln_n, vals):
    """The first autocorrelation maximum (after the first zero crossing) of ``vals`` sampled on a uniform
    grid in ln n, parabolically refined; in units of ln n.

    >>> t = np.linspace(0, 30, 600); round(float(autocorr_period(t, np.sin(2 * np.pi * t / 3.1))), 2)
    3.1
    """
    y = np.asarray(vals, float) - np.mean(vals)
    h = float(ln_n[1] - ln_n[0])
    m = len(y)
    r = np.array([np.dot(y[:m - j], y[j:]) / (m - j) for j in range(m // 2)])
    r /= r[0]
    z = np.argmax(r < 0)
    if z == 0:
        return None
    j = z + int(np.argmax(r[z:]))
    if 0 < j < len(r) - 1:
        d = (r[j - 1] - r[j + 1]) / (2 * (r[j - 1] - 2 * r[j] + r[j + 1]))
    else:
        d = 0.0
    return (j + d) * h


def drops(L, ns, vals, which="x", frac=0.3, iters=14, n_ref=None):
    """The sawtooth drops of the threshold curve: sample pairs where the value falls by more than
    ``frac`` of the total range, each located by bisection in ln n.  Returns a list of
    (ln n at the drop, value just before, value just after).

    >>> drops(3, [1e2, 1e3, 1e4], [5.19, 5.22, 5.78])   # no fall: no drop
    []
    """
    ln = np.log(ns)
    v = np.asarray(vals)
    thr = frac * (v.max() - v.min())
    q = _q(L, which, n_ref=n_ref)
    out = []
    for i in range(len(v) - 1):
        if v[i] - v[i + 1] > thr:
            a, b, va, vb = ln[i], ln[i + 1], float(v[i]), float(v[i + 1])
            mid = (va + vb) / 2
            for _ in range(iters):
                t = (a + b) / 2
                w = q(t)
                if w > mid:
                    a, va = t, w
                else:
                    b, vb = t, w
            out.append(((a + b) / 2, va, vb))
    return out


@dataclass
class Band:
    """Thresholds over n and their analysis (see :func:`band`)."""

    L: int
    rows: list
    ext: dict = field(default_factory=dict)
    period: dict = field(default_factory=dict)
    asym: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def band(L: int, n_values=None, per_decade=40, lo_exp=2, hi_exp=9, confirm=True, refine=True,
         asymptotic=True, n_ref=1e9, progress=None) -> Band:
    """Thresholds x*(n) (and x_last(n)) over log-spaced n, with

    * ``ext``: min / max of x* and x_last over the last two decades and over the two before them
      (golden-refined in ln n); their difference is the error estimate of lim inf / lim sup;
    * ``period``: autocorrelation period of x*(ln n), the located sawtooth drops and their spacings
      against P(x) = 2 ln|1 - x| at the values just after / before each drop, and against the other
      candidates ln|1 - x| and 4 ln|1 - x|; plus :func:`invariance_test`;
    * ``asym`` (if ``asymptotic``): the limits x_lo, x_hi from :func:`phase_limits`; min / max of x*
      and x_last over one growth period above n = 1e12 ... 1e300 (:func:`asymptotic_window`, using
      the invariance, reference ``n_ref``); direct vs invariance thresholds at 1e12 and 1e15.

    A small doctest (L = 2, three widths):

    >>> b = band(2, [1e2, 1e5, 1e9], refine=False, asymptotic=False)
    >>> all(abs(r.x - 4) < 1e-9 and r.windows == [] for r in b.rows)
    True
    """
    t0 = time.perf_counter()
    ns = list(n_values) if n_values is not None else log_grid(per_decade, lo_exp, hi_exp)
    rows = []
    for n in ns:
        r = threshold(L, n, confirm=confirm)
        rows.append(r)
        if progress:
            progress(r)
    B = Band(L, rows)
    B.seconds["thresholds"] = time.perf_counter() - t0
    ns = np.array([r.n for r in rows])
    x = np.array([r.x for r in rows])
    xl = np.array([r.x_last for r in rows])
    if len(ns) < 8 or x.max() - x.min() < 1e-8:
        B.ext = {"x": {"all": {"min": float(x.min()), "max": float(x.max())}}}
        B.seconds["total"] = time.perf_counter() - t0
        return B
    t1 = time.perf_counter()
    top = math.log10(ns[-1])
    for which, vals in (("x", x), ("x_last", xl)):
        if not np.isfinite(vals).all():
            continue
        B.ext[which] = {
            "last2": extremes(L, ns, vals, which, top - 2, top, refine),
            "prev2": extremes(L, ns, vals, which, top - 4, top - 2, refine),
        }
    B.seconds["extremes"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    ln = np.log(ns)
    per = {"autocorr_x": autocorr_period(ln, x),
           "autocorr_x_last": autocorr_period(ln, xl) if np.isfinite(xl).all() else None,
           "x_last_open": int(np.isnan(xl).sum())}
    dr = drops(L, ns, x, "x")
    per["drops_x"] = dr
    per["drop_spacings"] = [
        {"from": math.exp(a[0]), "to": math.exp(b[0]), "spacing": b[0] - a[0],
         "P_after_prev": growth_period(a[2]), "P_after_next": growth_period(b[2]),
         "P_before_next": growth_period(b[1]),
         "ln|1-x| (after)": math.log(abs(1 - b[2])), "4ln|1-x| (after)": 2 * growth_period(b[2])}
        for a, b in zip(dr, dr[1:])]
    per["invariance"] = invariance_test(L, extra=tuple(v for v in (per["autocorr_x"],) if v))
    per["edge_shift"] = []
    for n in (1e3, 1e5, 1e7, 1e9, 1e11):
        row = {"n": n}
        for k in (1, -1):
            row[f"k={k}"] = edge_shift(L, n, k=k)[2]
        row["power 1"] = edge_shift(L, n, k=1, power=1.0)[2]
        if per["autocorr_x"]:
            row["constant"] = edge_shift(L, n, k=1, factor=math.exp(per["autocorr_x"]))[2]
        per["edge_shift"].append(row)
    B.period = per
    B.seconds["period"] = time.perf_counter() - t2
    if asymptotic:
        t3 = time.perf_counter()
        lo_x, hi_x = float(np.nanmin(np.r_[x, xl])), float(np.nanmax(np.r_[x, xl]))
        asym = {"phase": phase_limits(L, lo_x - 0.3, hi_x + 0.3, n_ref=n_ref)}
        x_lo = asym["phase"]["x_lo"][0]
        start = (x_lo - 0.05) if x_lo else lo_x - 0.3
        for N in (1e12, 1e20, 1e50, 1e100, 1e300):
            asym[N] = asymptotic_window(L, N, n_ref, x_from=start, span=growth_period(hi_x + 0.3))
        checks = []
        for N in (1e12, 1e15):
            for t in np.linspace(math.log(N), math.log(N) + growth_period(hi_x), 7)[:-1]:
                d = threshold(L, math.exp(t), confirm=False)
                p = threshold(L, math.exp(t), confirm=False, n_ref=n_ref)
                checks.append((math.exp(t), d.x, p.x, d.x_last, p.x_last))
        asym["checks"] = checks
        B.asym = asym
        B.seconds["asymptotic"] = time.perf_counter() - t3
    B.seconds["total"] = time.perf_counter() - t0
    return B


def uv_drift_identity():
    """L = 2 (the uv model): lam' - lam - (eta f^2/n)(eta lam - 4), simplified from the derived map --
    zero for every state and every A, C, rho.  With eta*lam0 < 4 the drift is negative while f grows, so
    lam falls until eta*lam < 2 and the orbit converges; with eta*lam0 > 4 lam only grows: x* = 4 at
    every n.

    >>> uv_drift_identity()
    0
    """
    dm = deep_map(2)
    sub = {s: dm.update[str(s)] for s in dm.state}
    lam1 = dm.lam.xreplace(sub)
    return sp.simplify(sp.expand(lam1 - dm.lam - eta * dm.f ** 2 / N_SYM * (eta * dm.lam - 4)))


# ---------------------------------------------------------------- reporting


def to_json(B: Band) -> dict:
    """A JSON-ready dict of a :class:`Band`."""
    def edge(e):
        if e is None:
            return None
        return {"lo": e.lo, "hi": e.hi, "precisions": e.precisions, "escalations": e.escalations,
                "notes": e.notes}
    rows = [{"n": r.n, "x": r.x, "first": edge(r.first), "x_last": r.x_last, "last": edge(r.last),
             "windows": r.windows, "undecided": r.undecided, "seconds": r.seconds} for r in B.rows]

    def conv(o):
        if isinstance(o, dict):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        return o
    return conv({"L": B.L, "rows": rows, "ext": B.ext, "period": B.period, "asym": B.asym,
                 "seconds": B.seconds})


def markdown(B: Band, every=1) -> str:
    """The measured tables of a :class:`Band` as markdown (``every``: print every k-th row)."""
    L = B.L
    out = [f"### L = {L}", "", f"thresholds: {len(B.rows)} widths, {B.seconds.get('thresholds', 0):.0f} s; "
           f"total {B.seconds.get('total', 0):.0f} s", ""]
    out += ["| n | x* | bracket width | precisions | x_last | width | windows above x*: count, measure, largest |",
            "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(B.rows):
        if i % every and i != len(B.rows) - 1:
            continue
        if r.windows:
            big = max(r.windows, key=lambda w: w[1] - w[0])
            w = f"{len(r.windows)}, {r.window_measure:.3f}, [{big[0]:.3f}, {big[1]:.3f}]"
        else:
            w = "-"
        lw = "open (4L converges)" if r.last is None else f"{r.last.width:.1e}"
        out.append(f"| {r.n:.4g} | {r.x:.10f} | {r.first.width:.1e} | {'+'.join(r.first.precisions)} | "
                   f"{r.x_last:.10f} | {lw} | {w} |")
    und = sum(len(r.undecided) for r in B.rows)
    esc = sum(r.first.escalations + (r.last.escalations if r.last not in (None, r.first) else 0) for r in B.rows)
    out += ["", f"undecided grid points: {und}; escalations beyond float64: {esc}; "
            f"widths with windows: {sum(1 for r in B.rows if r.windows)}/{len(B.rows)}", ""]
    for which in B.ext:
        for win, d in B.ext[which].items():
            if win == "all":
                out.append(f"- {which}: min {d['min']:.10f}, max {d['max']:.10f}")
                continue
            out.append(f"- {which} {win}: min {d['min'][1]:.8f} at n = {d['min'][0]:.4g} (sampled {d['min'][2]:.8f}), "
                       f"max {d['max'][1]:.8f} at n = {d['max'][0]:.4g} (sampled {d['max'][2]:.8f})")
    return "\n".join(out)


def _main(argv):
    import argparse
    import json
    ap = argparse.ArgumentParser(prog="python studies/deep_band/band.py",
                                 description="x*(n) of the depth-L reduced map over log-spaced widths")
    ap.add_argument("L", type=int)
    ap.add_argument("--per-decade", type=int, default=40)
    ap.add_argument("--lo", type=float, default=2)
    ap.add_argument("--hi", type=float, default=9)
    ap.add_argument("--no-confirm", action="store_true")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--no-asymptotic", action="store_true")
    ap.add_argument("--json", default=None, help="write the raw results here")
    a = ap.parse_args(argv)

    def prog(r):
        print(f"  n={r.n:.4g} x*={r.x:.10f} ({'+'.join(r.first.precisions)}) x_last={r.x_last:.10f} "
              f"windows={len(r.windows)} {r.seconds:.1f}s", file=sys.stderr, flush=True)
    B = band(a.L, per_decade=a.per_decade, lo_exp=a.lo, hi_exp=a.hi, confirm=not a.no_confirm,
             refine=not a.no_refine, asymptotic=not a.no_asymptotic, progress=prog)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(to_json(B), fh, indent=1)
    print(markdown(B))
    print()
    print(json.dumps(to_json(B)["period"], indent=1, default=str))
    print(json.dumps(to_json(B)["asym"], indent=1, default=str))
    print(json.dumps(B.seconds))


if __name__ == "__main__":
    _main(sys.argv[1:])
