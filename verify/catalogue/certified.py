"""Rows P: proven brackets and verdicts of the derived reduced maps (ball arithmetic, :mod:`catapult.verify.certified`).

P-a  uv, squared loss, n = 1024, seed 0: eta_max bracketed with relative width <= 1e-20, the lower end proven
     convergent (monotone trap), the upper end proven divergent (escape cone); catapult.theory's derived
     eta_max = 4/lam0 (leading order in 1/n) must lie inside.
P-b  deep, L = 3, n = 64, seed 0: the first divergence of the exact reduced map bracketed to 1e-12, the
     lower end proven convergent (residual contraction), the upper end proven to pass the runaway bound only
     (no escape lemma is derived for the 8-coordinate map); catapult.theory derives no eta_max for L = 3.
P-c  uv on m = 2 samples in d = 2 (seeded data 0), n = 256, seed 0, at eta*lam_max(Theta0) = 3 (above the linear
     stability bound 2: the top mode catapults): converged, proven by the vector residual contraction, to a limit
     whose box holds every label (the samples are interpolated, as a zero-residual minimum must).
"""

from __future__ import annotations

import time

from ..certified import certified_scan
from ..table import Row

#: the uv case of P-a: width, seed, relative width asked
UV_CASE = (1024, 0, 1e-20)
#: the deep case of P-b: depth, width, seed, relative width
DEEP_CASE = (3, 64, 0, 1e-12)


def _ends(d):
    return (f"lo: {d['proof_lo']['verdict']} ({d['proof_lo']['proof']}, step {d['proof_lo']['steps']}); "
            f"hi: {d['proof_hi']['verdict']} ({d['proof_hi']['proof']}, step {d['proof_hi']['steps']}, "
            f"{d['proof_hi']['dps']} digits)")


def row_uv():
    t0 = time.perf_counter()
    n, seed, rtol = UV_CASE
    s = certified_scan("uv", "mse", width=n, seed=seed, rtol=rtol)
    d = s.to_json()
    inside = d["predicted"].get("inside_bracket")
    ok = d["proven"] and d["rel_width"] <= rtol and inside is True
    x_lo, x_hi = d["eta_lam0_bracket"]
    return Row("P-a", f"certified eta_max bracket, uv, loss f**2/2, n={n}: lower end proven convergent, upper proven "
               "divergent, relative width <= 1e-20, containing catapult.theory's derived eta_max = 4/lam0",
               "eta_max = 4/lam0 (derived, leading order in 1/n) inside a proven bracket",
               f"eta*lam0 in [{x_lo}, {x_hi}], rel. width {d['rel_width']:.2g}; {_ends(d)}",
               f"rel. width <= {rtol:g}, both ends proven, prediction inside", ok,
               f"proven: arb balls from the exact init (n={n}, seed={seed}) and exact rational eta", 
               time.perf_counter() - t0, short="certified uv eta_max bracket, rel. width <= 1e-20",
               quantity="relative bracket width", measured_value=d["rel_width"], tolerance_value=rtol, compare="<=",
               dps=d["proof_hi"]["dps"], width=n, seed=seed, backend="arb",
               why={"predicted_value": "the prediction is a point (4/lam0) checked to lie inside the bracket"})


def row_deep():
    t0 = time.perf_counter()
    L, n, seed, rtol = DEEP_CASE
    s = certified_scan("deep", "mse", width=n, seed=seed, depth=L, rtol=rtol)
    d = s.to_json()
    ok = d["proven"] and d["rel_width"] <= rtol and d["proof_lo"]["verdict"] == "converged"
    x_lo, x_hi = d["eta_lam0_bracket"]
    return Row("P-b", f"certified first divergence, deep L={L}, n={n}: lower end proven convergent; upper end proven "
               "to pass the runaway bound |f| > 1e8 sqrt(n) (divergence itself not proven: no escape lemma for the "
               "8-coordinate map; nor that the divergent set is an interval)",
               f"not derived by catapult.theory ({d['predicted']['reason'][:60]}...)",
               f"eta*lam0 in [{x_lo[:16]}, {x_hi[:16]}], rel. width {d['rel_width']:.2g}; {_ends(d)}",
               f"rel. width <= {rtol:g}, lower end proven convergent", ok,
               f"proven at the lower end, runaway bound at the upper (arb balls, n={n}, seed={seed})",
               time.perf_counter() - t0, short=f"certified deep L={L} first-divergence bracket",
               quantity="relative bracket width", measured_value=d["rel_width"], tolerance_value=rtol, compare="<=",
               dps=d["proof_hi"]["dps"], width=n, seed=seed, backend="arb",
               why={"predicted_value": "catapult.theory derives no eta_max for L >= 3"})


#: the samples case of P-c: (m, d, data seed), width, seed, eta*lam_max(Theta0)
SAMPLES_CASE = ((2, 2, 0), 256, 0, 3)


def row_samples():
    from fractions import Fraction
    from ..certified import certified_run
    from ..data import random_data
    t0 = time.perf_counter()
    (m, d, ds), n, seed, x = SAMPLES_CASE
    X, Y = random_data(m, d, ds)
    r = certified_run("uv", "mse", width=n, seed=seed, eta_lam0=Fraction(x), samples=(X, Y), steps=3000)
    v = r.verdict
    gaps = [abs(v.limit[f"f{a + 1}"][0] - float(Y[a])) for a in range(m)] if v.limit else [float("inf")]
    rads = [v.limit[f"f{a + 1}"][1] for a in range(m)] if v.limit else [0.0]
    ok = v.verdict == "converged" and all(g <= rd for g, rd in zip(gaps, rads))
    return Row("P-c", f"certified convergence, uv on m={m} samples in d={d} (data seed {ds}), n={n}, "
               f"eta*lam_max(Theta0)={x} (above the linear bound 2: the top mode catapults): proven to converge to a "
               "limit interpolating the labels", "a zero-residual minimum: f_a = y_a for every sample (m <= d; derived vector residual "
               "lemma)", f"{v.verdict} ({v.proof}, step {v.steps}); limit |f_a - y_a| <= {max(gaps):.3g}, boxes of "
               f"radius {max(rads):.3g}", "converged proven, every label inside its limit box", ok,
               f"proven: arb balls from the exact init (n={n}, seed={seed}) and exact rational eta", 
               time.perf_counter() - t0, short=f"certified samples convergence m={m}, d={d}",
               quantity="largest |limit f_a - y_a|", measured_value=max(gaps), tolerance_value=max(rads),
               compare="<=", dps=v.dps, width=n, seed=seed, backend="arb",
               why={"predicted_value": "the prediction is the labels themselves (checked to lie in the boxes)"})


def catalogue(full=False):
    """The rows of section P: P-a, P-b, P-c (~5 s in all; ``full`` adds nothing).

    >>> [r.id for r in catalogue()]
    ['P-a', 'P-b', 'P-c']
    """
    return [row_uv(), row_deep(), row_samples()]
