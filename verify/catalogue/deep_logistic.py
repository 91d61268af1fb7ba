"""Catalogue rows (section "DL"): depth-L linear networks under the logistic loss on degenerate data.

Theory: :func:`catapult.theory.deep.derive_deep_map` under L(F) = (1/m) sum log(1 + exp(-z_i r_i F)) (the exact
reduced map for isometric hidden layers) and :func:`catapult.theory.deep_logistic.deep_eta_crit` (eta_crit from
the map's Jacobian at a minimum).  Numerics: :class:`catapult.numerics.deep_data.DeepDataModel` -- GD on the
actual n x n matrices with the *points* x_i = s_i r_i, labels y_i = z_i s_i and the per-sample loss
log(1 + exp(-y f)); it never sees L(F).

Rows: DL-a map vs full-width GD (60 digits); DL-b eta_crit derived vs the measured onset of the loss
increase at the minimum GD reaches; DL-c flatness after the catapult (non-separable) and no catapult
(separable); DL-d the divergence-width law from the exact reduced map, confirmed on full-width GD.
"""

from __future__ import annotations

import math
import time

import mpmath
import sympy as sp

from catapult.numerics.backends import get_backend
from catapult.numerics.bracket import NoStraddle, agree, bisect_ladder
from catapult.numerics.deep_data import DeepDataModel, WarmStart
from catapult.numerics.gd import run_gd
from catapult.numerics.losses import DataLoss
from catapult.numerics.phase import Phase, agreed_phase, classify
from catapult.numerics.search import diverges, locate
from catapult.theory.deep import derive_deep_map
from catapult.theory.deep_logistic import deep_eta_crit
from catapult.theory.loss import logistic
from catapult.theory.symbols import f as F_SYM

from ..bridge import numeric_loss
from ..fit import fit as _fit
from ..deep_thresholds import map_digits, reduced_run
from ..degenerate import PER_SAMPLE, DegenerateData
from ..table import EXACT_MAP, Row, several

P = sp.Rational(7, 10)


def deep_numeric(d: DegenerateData, width, depth, seed, init="isometric"):
    """Full-width deep network on the data's points (sides from ``seed``) and the per-sample DataLoss.

    >>> m, nl = deep_numeric(DegenerateData.equal("1/2"), 16, 3, 0)
    >>> m.m, len(nl.losses), m.init_kind
    (2, 2, 'isometric')
    """
    x, y = d.points(seed)
    cache = {yi: numeric_loss(PER_SAMPLE, y=yi) for yi in set(y)}
    return DeepDataModel(width, depth, x, seed=seed, init=init), DataLoss([cache[yi] for yi in y])


def compare_map(d, L, n, seed, x, steps=60, dps=60):
    """Minimum digits of agreement of (F, lam) between the reduced map under L(F) and full-width GD.

    >>> dig, tr = compare_map(DegenerateData.equal("7/10"), 3, 16, 0, 3.0, steps=5, dps=30)
    >>> bool(dig > 25), tr.steps
    (True, 5)
    """
    model, nl = deep_numeric(d, n, L, seed)
    tr = run_gd(model, nl, eta_lam0=x, steps=steps, backend=get_backend("arb", dps), gtol=0)
    worst, _ = map_digits(derive_deep_map(L, d.loss(binary=True)), model.invariants(get_backend("arb", dps)), tr, dps)
    return worst, tr


def rows_map(full=False):
    q = float(P * (1 - P))
    eq, mixed = DegenerateData.equal(P), DegenerateData([1, 1, -1, 1], [1, 2, "1/2", "3/2"])
    cases = [(2, 64, eq, 3.0 / q, "p=7/10"), (3, 64, eq, 1.5 / q, "p=7/10"), (3, 64, eq, 3.0 / q, "p=7/10"),
             (4, 64, eq, 3.0 / q, "p=7/10")]
    if full:
        cases += [(3, 64, mixed, 6.0, "z=(1,1,-1,1), r=(1,2,1/2,3/2)"), (4, 64, eq, 1.5 / q, "p=7/10"),
                  (3, 256, eq, 3.0 / q, "p=7/10"), (3, 64, DegenerateData([1, 1, 1], [1, 2, 3]), 10.0, "separable")]
    out = []
    for i, (L, n, d, x, what) in enumerate(cases):
        t0 = time.perf_counter()
        dig, tr = compare_map(d, L, n, i, x)
        phase = "catapult (loss rose)" if tr.loss_peak > tr.loss[0] else "lazy (loss monotone)"
        out.append(Row(f"DL-a{i + 1}", f"deep L={L} logistic ({what}), eta*lam0={x:.3g}: reduced map under L(F) = "
                       f"full-width isometric GD on the points; {phase}", "identical (exact reduction)",
                       f"{float(dig):.1f} digits over {tr.steps} steps", ">= 40 digits, >= 50 steps",
                       dig >= 40 and tr.steps >= 50, f"measured: arb 60 digits, n={n}, seed={i}, m={d.m} points",
                       time.perf_counter() - t0, short=f"deep L={L} logistic ({what}): map = GD", quantity="digits",
                       measured_value=dig, tolerance_value=40, compare=">=", dps=60, width=n, seed=i, backend="arb",
                       why=EXACT_MAP))
    return out


def rows_eta_crit(full=False):
    """Derived eta_crit (Jacobian of the reduced map) vs the measured onset of the loss increase."""
    out = []
    t0 = time.perf_counter()
    depths = (2, 3, 4)
    res = {L: deep_eta_crit(L, logistic(P)) for L in depths}
    vals = {str(r.value) for r in res.values()}
    out.append(Row("DL-b1", "eta_crit of the depth-L reduced map under logistic(p=7/10): Jacobian at a minimum "
                   "= I + l''(F*) u grad f^T, eigenvalue 1 - eta lam l''(F*) (grad f.u = -eta lam proved)",
                   "2/(lam0 l''(F*)), the same for every L",
                   "; ".join(f"L={L}: {r.value} (F*={r.minimiser}, l''={r.curvature})" for L, r in res.items()),
                   "one value for all L", len(vals) == 1 and None not in [r.value for r in res.values()],
                   "exact (SymPy) at the lam of the minimum; lam -> lam0 leading order in 1/n", time.perf_counter() - t0,
                   short="eta_crit = 2/(lam0 l''(F*)) for every L"))
    cases = [("1/2", 3, 64, 0), ("1/2", 4, 64, 1)]
    if full:
        cases += [("1/2", 3, 64, 1), ("1/2", 2, 64, 0), ("1/2", 3, 256, 1), ("1/2", 4, 256, 1),
                  ("7/10", 3, 64, 0), ("7/10", 4, 64, 1), ("7/10", 3, 256, 1)]
    for p, L, n, seed in cases:
        out.append(_onset_row(p, L, n, seed))
    return out


def _onset_row(p, L, n, seed, rtol=1e-5, warm_gtol=1e-3):
    t0 = time.perf_counter()
    d = DegenerateData.equal(p)
    r = deep_eta_crit(L, d.loss())
    curv = float(r.curvature)
    fstar = float(r.minimiser)
    model, nl = deep_numeric(d, n, L, seed)
    warm = WarmStart(model, nl, eta_lam0=1.0, gtol=warm_gtol)
    k_lo, k_hi = 1.9, 2.1  # bracket in units of eta*lam*l''(F*)
    lam_w = warm.lam_warm
    est = locate("eta_crit", warm, nl, k_lo / curv, k_hi / curv, rtol=rtol, dps=30, steps=200)
    eta_m = float(est.eta)  # est.lam0 is the NTK at the warm start
    derived_lead = float(r.at(warm.lam_cold))
    derived_exact = float(r.exact_in_lam.subs({sp.Symbol("lam", positive=True): lam_w}))
    err_lead = eta_m / derived_lead - 1
    err_exact = eta_m / derived_exact - 1
    dist = abs(warm.f_warm - fstar)
    tol_exact = 4 * rtol + dist  # first order in the start's distance from the minimum (cubic term of L)
    ok = abs(err_exact) <= tol_exact and n * abs(err_lead) <= 2
    return Row(f"DL-b-p{p.replace('/', '')}-L{L}-n{n}-s{seed}",
               f"L={L}, p={p}: onset of the loss increase at the minimum GD reaches (warm start, eta*lam0=1 "
               "warm-up) = derived eta_crit", f"{derived_lead:.6g} (= {r.value} at measured lam0); exact in lam: "
               f"{derived_exact:.8g}",
               f"eta_onset = {eta_m:.8g}: vs exact-in-lam {err_exact:+.1e}, vs leading order {err_lead:+.2e} "
               f"(n*err = {n * err_lead:+.2f}); lam_warm/lam0 = {lam_w / warm.lam_cold:.5f}, |F_warm - F*| = {dist:.1e}",
               f"|err_exact| <= 4 rtol + |F_warm - F*| = {tol_exact:.1e}; n |err_lead| <= 2 (O(1/n))", ok,
               f"measured: bisection {'+'.join(est.precisions)}, rtol {rtol}, horizon 200 steps, n={n}, seed={seed}",
               time.perf_counter() - t0, short=f"L={L}, p={p}: loss-rise onset = eta_crit", quantity="eta",
               predicted_value=derived_lead, measured_value=eta_m, tolerance_value=2 / n, compare="rel", dps=30,
               width=n, seed=seed, backend="+".join(est.precisions))


def rows_flatness(full=False, dps=30):
    """Non-separable: catapult to a flatter minimum with eta*lam_inf*l''(F*) <= 2; separable: monotone loss."""
    out = []
    d = DegenerateData.equal(P)
    curv = float(deep_eta_crit(3, d.loss()).curvature)
    ks = (1.5, 2.5, 5.0, 10.0) if not full else (1.5, 1.9, 2.1, 2.5, 3.0, 5.0, 10.0)
    settings = [(3, 64), (4, 64)] + ([(3, 256), (4, 256), (2, 256)] if full else [])
    for L, n in settings:
        t0 = time.perf_counter()
        cells, ok, worst = [], True, 0.0
        for k in ks:
            model, nl = deep_numeric(d, n, L, 1)
            if n <= 64:
                r = agreed_phase(model, nl, eta_lam0=k / curv, steps=40000, gtol=1e-9,
                                 pair=(get_backend("float64"), get_backend("arb", dps)))
            else:
                r = classify(run_gd(model, nl, eta_lam0=k / curv, steps=40000, gtol=1e-9, record=False,
                                    backend=get_backend("float64")))
            ratio = float(r.evidence["lam_ratio"])
            flat = float(r.evidence["eta_lam_final"]) * curv
            cells.append(f"k={k}: {r.phase.value[:4]} lam_inf/lam0={ratio:.3f} eta*lam_inf*l''={flat:.3f}")
            conv = r.phase in (Phase.LAZY, Phase.CATAPULT)
            if k < 2:  # the minimum at lam0 is stable: lam moves by O(1/n) (a transient loss rise can still occur
                ok &= conv and abs(ratio - 1) <= 20 / n  # from F0 where l'' > l''(F*): not a catapult)
            else:
                ok &= conv and flat <= 2 and ratio < 1
                worst = max(worst, flat)
        out.append(Row(f"DL-c-L{L}-n{n}", f"L={L}, non-separable p=7/10: above eta_crit the catapult ends in a flatter "
                       "minimum, eta*lam_inf*l''(F*) <= 2 (k = eta*lam0*l''(F*), l'' derived)",
                       "k<2: |lam_inf/lam0 - 1| <= 20/n; k>2: lam_inf < lam0, eta*lam_inf*l'' <= 2", "; ".join(cells),
                       "as predicted", ok, f"measured: {'float64 + arb ' + str(dps) + ' agree' if n <= 64 else 'float64'}, "
                       f"n={n}, seed 1, m=10 points", time.perf_counter() - t0,
                       short=f"L={L}: catapult to a flatter minimum", quantity="max eta*lam_inf*l''(F*) at k > 2",
                       measured_value=worst, tolerance_value=2, compare="<=", dps=dps if n <= 64 else None, width=n,
                       seed=1, backend="float64+arb" if n <= 64 else "float64",
                       why={"predicted_value": "a bound (eta*lam_inf*l'' <= 2), not a value"}))
    t0 = time.perf_counter()
    sep = DegenerateData([1, 1, 1], [1, 2, 3])
    xs = (0.1, 10.0, 100.0) if not full else (0.1, 1.0, 10.0, 30.0, 100.0)
    widths = (64,) if not full else (64, 256)
    monotone, sharp = True, []
    for L in (3, 4):
        for n in widths:
            for x in xs:
                model, nl = deep_numeric(sep, n, L, 1)
                tr = run_gd(model, nl, eta_lam0=x, steps=1000, backend=get_backend("float64"), gtol=0)
                monotone &= all(b <= a for a, b in zip(tr.loss, tr.loss[1:]))
                sharp.append(float(tr.lam[-1] / tr.lam0))
    out.append(Row("DL-c-sep", "separable data (z=1; r=1,2,3), L=3,4: the loss decreases monotonically -- no catapult, "
                   f"no flattening (Huang et al. 2020); eta*lam0 in {xs}, no eta_crit ({deep_eta_crit(3, sep.loss()).reason[:40]}...)",
                   "monotone loss", f"monotone={monotone}; lam_T/lam0 in [{min(sharp):.3f}, {max(sharp):.3g}] (the curvature "
                   "grows: sharpening, not flattening)", "no step-to-step increase", monotone,
                   f"measured: float64, 1000 steps, n={widths}, seed 1", time.perf_counter() - t0,
                   short="separable, L=3,4: monotone loss, no catapult", backend="float64",
                   width=widths[0] if len(widths) == 1 else None, seed=1, why=several(f"n in {widths}")))
    return out


def reduced_divergence(dm, n, lo, hi, A=None, C=None, rho=None, rtol=1e-3, steps=300, dps=20):
    """Divergence threshold (eta*lam0) of the reduced map at width ``n`` by bisection on [lo, hi] at ``dps``
    digits (defaults A = C = n, rho = sqrt(n), i.e. f0 = 1); returns (lo, hi).  The verdict is run_gd's stop
    rule (:func:`catapult.verify.deep_thresholds.reduced_run`: runaway |F| > 1e8 sqrt(n) or lam > 1e4 lam0,
    converged once |l'(F)| sqrt(lam) < 1e-12, else not divergent after ``steps`` steps).

    >>> dm = derive_deep_map(2, logistic("7/10"))
    >>> lo, hi = reduced_divergence(dm, 64, 30, 90, rtol=1e-2)
    >>> 50 < lo < hi < 60
    True
    """
    n = mpmath.mpf(n)
    consts = (n if A is None else A, n if C is None else C, mpmath.sqrt(n) if rho is None else rho)
    try:
        b = bisect_ladder(lambda x, d: reduced_run(dm, n, consts, x, dps=d, steps=steps).stop.diverged,
                          mpmath.mpf(lo), mpmath.mpf(hi), rtol, [dps], confirm=0)
    except NoStraddle:
        raise ValueError(f"bracket [{lo}, {hi}] does not straddle the reduced map's divergence threshold "
                         f"at n={n}") from None
    return b.lo, b.hi


def rows_divergence(full=False):
    """eta_div vs n from the exact reduced map (A = C = n, f0 = 1), fitted; a full-width confirmation."""
    return _divergence_law(full) + _divergence_full_width(full)


def _divergence_law(full):
    """DL-d-L*: the divergence-width law of the exact reduced map, eta_div ~ n^a with a -> 1/2."""
    out = []
    loss = logistic(P)
    G = max(abs(float(sp.limit(loss.d1, F_SYM, s))) for s in (-sp.oo, sp.oo))  # sup |l'| (monotone l')
    depths = (3,) if not full else (2, 3, 4)
    ks = (5, 7, 9, 11) if not full else tuple(range(3, 16))
    rtol, horizon = (2e-3, 300) if not full else (1e-4, 1000)
    for L in depths:
        t0 = time.perf_counter()
        dm = derive_deep_map(L, loss)
        X, Y, cells, coefs = [], [], [], []
        for k in ks:
            n = 4 ** k
            lo, hi = reduced_divergence(dm, n, 2 * math.sqrt(n), 16 * math.sqrt(n), rtol=rtol, steps=horizon)
            x = float((lo + hi) / 2)
            c = x / L * G / math.sqrt(2 * n)  # lam0 = L at A = C = n: eta_div * G / sqrt(2n)
            X.append([1, math.log(n)])
            Y.append(math.log(x))
            coefs.append(c)
            cells.append(f"n=4^{k}: {x:.4g}")
        big = [i for i, k in enumerate(ks) if 4 ** k >= 1024]
        coef, se = _fit([X[i] for i in big], [Y[i] for i in big])
        out.append(Row(f"DL-d-L{L}", f"L={L}, logistic p=7/10: divergence-width law eta_div ~ n^a from the exact reduced "
                       "map (A=C=n, f0=1); bounded slope |l'| <= G: each step moves every layer by eta*G*O(n^-1/2) "
                       "relative, so a -> 1/2 as for uv", "a = 1/2",
                       f"eta*lam0 at divergence: {', '.join(cells)}; a = {coef[1]:.4f} +/- {se[1]:.4f} (n >= 1024); "
                       f"eta_div*G/sqrt(2n) = {coefs[-1]:.3f} at n=4^{ks[-1]} (uv, issue 3: ~1.19)",
                       "|a - 1/2| <= 0.02", abs(coef[1] - 0.5) <= 0.02,
                       f"measured on the exact reduced map: mpmath 20 digits, rtol {rtol}, horizon {horizon} steps, "
                       f"n=4^{ks[0]}..4^{ks[-1]}", time.perf_counter() - t0,
                       short=f"L={L} logistic: divergence law eta_div ~ n^a", quantity="exponent a", predicted_value=0.5,
                       measured_value=coef[1], tolerance_value=0.02, compare="abs", dps=20, backend="mpmath",
                       why={"seed": "the reduced map at A = C = n, f0 = 1 (no random init)",
                            **several(f"n = 4^{ks[0]}..4^{ks[-1]}")}))
    return out


def _divergence_full_width(full):
    """DL-d-full-*: full-width isometric GD diverges where the reduced map at its invariants does."""
    out = []
    cases = [(3, 64, 0)] if not full else [(3, 64, 0), (4, 64, 1), (2, 64, 2), (3, 256, 1)]
    d = DegenerateData.equal(P)
    for L, n, seed in cases:
        t0 = time.perf_counter()
        model, nl = deep_numeric(d, n, L, seed)
        B = get_backend("arb", 30)
        Av, Cv, rho = model.invariants(B)
        dm = derive_deep_map(L, d.loss(binary=True))
        rt, horizon = (1e-3, 120) if not full else (1e-4, 300)
        lo, hi = reduced_divergence(dm, n, 4 * math.sqrt(n), 16 * math.sqrt(n), Av, Cv, rho, rtol=rt, steps=horizon,
                                    dps=30)
        red = (lo + hi) / 2
        ag = agree(lambda B: (diverges(model, nl, float(lo) * (1 - 2 * rt), B, horizon),
                              diverges(model, nl, float(hi) * (1 + 2 * rt), B, horizon)),
                   [get_backend("float64"), get_backend("arb", 30)], tag=lambda B: B.tag)
        verdicts = dict(ag.results)
        ok = ag.agreed and ag.value == (False, True)
        out.append(Row(f"DL-d-full-L{L}-n{n}", f"L={L}, p=7/10: full-width isometric GD diverges exactly where the reduced "
                       "map at the same invariants (|w_1|^2, |w_L|^2, f0) does", f"threshold {float(red):.6g} (reduced map)",
                       "full width at (1 -/+ 2 rtol) x bracket: " + "; ".join(
                           f"{t}: {'div' if a else 'conv'}/{'div' if b else 'conv'}" for t, (a, b) in verdicts.items()),
                       "conv below, div above, both precisions", ok,
                       f"measured: n={n}, seed={seed}, eta*lam0, rtol {rt}, horizon {horizon} steps", time.perf_counter() - t0,
                       short=f"L={L}: full width diverges where the map does", quantity="eta*lam0 at divergence",
                       predicted_value=red, dps=30, width=n, seed=seed, backend="float64+arb",
                       why={"measured_value": "verdicts (conv/div) at the two ends of the map's bracket"}))
    return out


def catalogue(full=False):
    """All DL rows."""
    return rows_map(full) + rows_eta_crit(full) + rows_flatness(full) + rows_divergence(full)
