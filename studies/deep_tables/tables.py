"""Study: deep linear networks (issue 4) -- how well does the exact reduced map predict the divergence threshold of
full-width GD, and how far is a Gaussian-init network from the isometric reduced map?

Table 1 -- per depth L and width n: the first divergent x = eta*lam0 above 2 of the exact reduced map with the
network's own invariants (A = |w_1|^2, C = |w_L|^2, rho = sqrt(n) f0), against bisection on full-width GD of
the same isometric network (seed 0); and the Gaussian-init network's full-width threshold (seed 0) beside them.
Table 2 -- Gaussian init, L = 3, 4, seeds 0..3: the relative gap between full-width GD and the reduced map
(same A, C, rho, same eta) after 1 and 10 steps, and the two thresholds.

Everything is measured here; the functions are those of ``catapult.verify.deep_thresholds`` (rows D-c, D-d of
``catapult verify``).  Usage (from the repository root, package installed)::

    python studies/deep_tables/tables.py [--quick] [--depths L ...] [--cache deep_tables.jsonl] [--out studies/deep_tables/results.md]

``--cache`` keeps finished cells (JSON lines) so an interrupted run resumes; ``--quick`` does n = 64 only;
``--depths`` keeps only those L.  The measured tables are ``studies/deep_tables/results.md``: for isometric
networks full-width bisection and the same bisection on the reduced map give the same bracket in 15/15 cells
(Table 1); Gaussian-init networks diverge 0.8-1.0 below the reduced map with their own invariants (L = 3, no
clear drift with n beyond the seed spread), and their one-step gap to it falls with n, about n^-0.43 for L = 3
(Table 2).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

from catapult.numerics.backends import get_backend
from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.losses import squared
from catapult.numerics.search import diverges as gd_diverges
from catapult.verify.deep_thresholds import (full_width_scan_edge, iso_threshold_pair,
                                             network_invariants, reduced_first_edge, reduced_gap)

ISO_CELLS = [(L, n) for n in (64, 256) for L in range(2, 9)] + [(L, 1024) for L in (2, 3, 4)]
GAUSS_CELLS = [(L, n, s) for L in (3, 4) for n in (64, 256, 1024) for s in range(4)] + [(3, 4096, s) for s in range(4)]
GAP_X = (1.5, 3.0)


def iso_cell(L, n, seed=0):
    t0 = time.perf_counter()
    m = DeepLinearModel(n, L, seed=seed, init="isometric")
    inv = network_invariants(m)
    # full width: GD checked non-divergent at 2.5, 3.0, ... below, then bisected from 0.05 below the reduced
    # map's first transition (all of that unit converges for the reduced map at 1e-4 spacing)
    red, full = iso_threshold_pair(m, rtol=1e-7 if n <= 256 else 1e-6)
    # full-width GD directly at the reduced map's first edge, 1e-8 (relative) either side (float64)
    B = get_backend("float64")
    at_first = [gd_diverges(m, squared(), red.lo * (1 - 1e-8), B, 2000), gd_diverges(m, squared(), red.hi * (1 + 1e-8), B, 2000)]
    g = DeepLinearModel(n, L, seed=seed, init="gaussian")
    ge, _ = full_width_scan_edge(g, rtol=1e-5, confirm=n <= 1024)
    gred = reduced_first_edge(L, n, network_invariants(g))
    return {"kind": "iso", "L": L, "n": n, "seed": seed, "A": inv[0], "C": inv[1], "rho": inv[2],
            "red": [red.lo, red.hi], "red_prec": red.precisions, "red_windows": red.extra["windows"], "red_s": red.extra["seconds"],
            "full": [full.lo, full.hi], "full_prec": full.precisions, "mirror": list(full.extra["mirror"]), "at_first": at_first, "full_notes": full.notes, "full_s": full.extra["seconds"],
            "gauss": [ge.lo, ge.hi], "gauss_prec": ge.precisions, "gauss_s": ge.extra["seconds"],
            "gauss_red": [gred.lo, gred.hi], "seconds": time.perf_counter() - t0}


def gauss_cell(L, n, seed):
    t0 = time.perf_counter()
    m = DeepLinearModel(n, L, seed=seed, init="gaussian")
    inv = network_invariants(m)
    gaps = {str(x): reduced_gap(m, x) for x in GAP_X}
    ge, lam0 = full_width_scan_edge(m, rtol=1e-5, confirm=n <= 1024)
    red = reduced_first_edge(L, n, inv)
    return {"kind": "gauss", "L": L, "n": n, "seed": seed, "A": inv[0], "C": inv[1], "rho": inv[2],
            "gaps": {x: {str(t): v for t, v in g.items()} for x, g in gaps.items()},
            "gauss": [ge.lo, ge.hi], "gauss_prec": ge.precisions, "gauss_s": ge.extra["seconds"],
            "red": [red.lo, red.hi], "red_prec": red.precisions, "seconds": time.perf_counter() - t0}


def digits(rel):
    return -math.log10(max(rel, 1e-300))


def mid(b):
    return (b[0] + b[1]) / 2


def markdown(results, command="python studies/deep_tables/tables.py") -> str:
    iso = sorted((r for r in results if r["kind"] == "iso"), key=lambda r: (r["n"], r["L"]))
    gs = sorted((r for r in results if r["kind"] == "gauss"), key=lambda r: (r["L"], r["n"], r["seed"]))
    out = ["# Deep linear networks: divergence thresholds, reduced map vs full width, Gaussian vs isometric", "",
           f"Produced by `{command}` (python {platform.python_version()}, numpy float64, "
           "python-flint arb, mpmath).  All numbers measured.  x = eta*lam0 with each network's own measured lam0; "
           "squared loss, input 1.", "",
           "Divergence verdict (the same on both sides, run_gd's): within 2000 steps f or lam not finite, "
           "|f| > 1e8 sqrt(n) or lam > 1e4 lam0; converged when |f| sqrt(lam) < 1e-12.  Threshold = the FIRST "
           "divergent x above 2 (the divergent set is not an interval).", "",
           "## Table 1: isometric hidden layers, reduced map vs full-width GD (seed 0); Gaussian beside", "",
           "Reduced map: the exact map of `catapult.theory.deep` with the network's own (A, C, rho); 0.01 grid 2..4L, the "
           "unit below the first divergent point at 1e-4, float64 bisection to 1e-9, both ends re-decided at 30 "
           "and 60 digits.  Full width: `catapult.numerics.search.locate` on the n x n matrices (float64 bisection, "
           "both ends confirmed in arb at 30 digits), bracket = [reduced grid bracket - 0.05, reduced grid "
           "point above], after float64 GD was checked non-divergent at x = 2.5, 3.0, ... below it.  "
           "Gaussian: full-width GD of the Gaussian network with the same seed, scan 2.5 + 0.1k to the first "
           "divergent point, last interval at 0.01, bisected to 1e-5 (arb-30 confirmation for n <= 1024, "
           "float64 only above).  windows = convergent 0.01-grid points above x* (reduced map, up to 4L).  "
           "'same edge' = the full-width bisection bracket overlaps the same bisection (same bracket, midpoints, "
           "rtol) run on the map, ends re-decided at 30 digits on both sides.  The verdicts 1e-8 from x* are "
           "information only: the divergent set has structure at the 1e-7..1e-9 scale next to the edge, where "
           "float64 verdicts are not reliable.", "",
           "| L | n | reduced map: first edge x* | precisions | full-width bisection bracket | precisions | "
           "reduced map, same bisection | same edge | x* in full bracket | full-width float64 verdict at x*(1 -/+ 1e-8) (info) | windows | Gaussian x* (seed 0) | s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in iso:
        red, full, mir = r["red"], r["full"], r["mirror"]
        w = red[1] - red[0]
        same = full[0] <= mir[1] and mir[0] <= full[1] and mir[2]
        first = full[0] - w <= mid(red) <= full[1] + w
        af = r["at_first"]
        out.append(f"| {r['L']} | {r['n']} | {mid(red):.10f} | {'+'.join(r['red_prec'])} | [{full[0]:.8f}, {full[1]:.8f}] | "
                   f"{'+'.join(r['full_prec'])} | [{mir[0]:.8f}, {mir[1]:.8f}]{'' if mir[2] else ' (mp30 differs)'} | "
                   f"{'yes' if same else 'NO'} | {'yes' if first else 'no (%.1e above)' % ((mid(full) - mid(red)) / mid(red))} | "
                   f"{'div' if af[0] else 'conv'}/{'div' if af[1] else 'conv'} | {r['red_windows']} | {mid(r['gauss']):.5f} | {r['seconds']:.0f} |")
    out += ["", "## Table 2: Gaussian init -- full-width GD vs the isometric reduced map (same A, C, rho, eta)", "",
            "gap = relative difference, max over f (relative to max(|f_t|, |f_0|)) and lam, as digits "
            "-log10(gap); full-width GD in float64 (gaps far above rounding), reduced map in mpmath at 30 digits.  "
            "Thresholds: Gaussian full width (scan as in Table 1, bisected to 1e-5) and the reduced map with that "
            "network's invariants.", "",
            "| L | n | seed | digits x=1.5 (t=1, t=10) | digits x=3 (t=1, t=10) | Gaussian full-width x* | precisions | reduced map x* (same A,C,rho) | difference | s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in gs:
        g = r["gaps"]
        cell = lambda x: f"{digits(max(g[x]['1'])):.2f}, {digits(max(g[x]['10'])):.2f}"  # noqa: E731
        out.append(f"| {r['L']} | {r['n']} | {r['seed']} | {cell('1.5')} | {cell('3.0')} | {mid(r['gauss']):.5f} | "
                   f"{'+'.join(r['gauss_prec'])} | {mid(r['red']):.6f} | {mid(r['gauss']) - mid(r['red']):+.4f} | "
                   f"{r['seconds']:.0f} |")
    out += ["", "### Per (L, n) over the seeds", "",
            "| L | n | seeds | Gaussian x* mean | sd | sd * sqrt(n) | reduced x* mean | mean gap after 1 step (x=1.5) | gap * sqrt(n) |",
            "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["L"], r["n"]) for r in gs})
    for L, n in keys:
        rs = [r for r in gs if (r["L"], r["n"]) == (L, n)]
        xs = [mid(r["gauss"]) for r in rs]
        sd = statistics.stdev(xs) if len(xs) > 1 else float("nan")
        gap1 = statistics.mean(max(r["gaps"]["1.5"]["1"]) for r in rs)
        out.append(f"| {L} | {n} | {len(rs)} | {statistics.mean(xs):.4f} | {sd:.4f} | {sd * math.sqrt(n):.3f} | "
                   f"{statistics.mean(mid(r['red']) for r in rs):.4f} | {gap1:.2e} | {gap1 * math.sqrt(n):.3f} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="n = 64 only")
    p.add_argument("--cache", default=None, help="JSON-lines file of finished cells (resume)")
    p.add_argument("--out", default=None, help="also write the markdown here")
    p.add_argument("--only", choices=("iso", "gauss"), default=None)
    p.add_argument("--depths", type=int, nargs="+", default=None, metavar="L", help="only these depths")
    p.add_argument("--cached-only", action="store_true", help="print the cells in --cache, compute nothing")
    a = p.parse_args(argv)
    done = {}
    if a.cache and os.path.exists(a.cache):
        with open(a.cache) as fh:
            for line in fh:
                r = json.loads(line)
                done[(r["kind"], r["L"], r["n"], r["seed"])] = r
    jobs = []
    if a.only in (None, "iso"):
        jobs += [("iso", L, n, 0) for L, n in ISO_CELLS if not a.quick or n == 64]
    if a.only in (None, "gauss"):
        jobs += [("gauss", L, n, s) for L, n, s in GAUSS_CELLS if not a.quick or n == 64]
    if a.depths:
        jobs = [k for k in jobs if k[1] in a.depths]
    jobs.sort(key=lambda k: (k[2], k[0] != "iso"))   # cheap widths first
    results = []
    for key in jobs:
        if key not in done and a.cached_only:
            continue
        if key not in done:
            kind, L, n, s = key
            r = iso_cell(L, n, s) if kind == "iso" else gauss_cell(L, n, s)
            print(f"# {kind} L={L} n={n} seed={s}: {r['seconds']:.1f} s", file=sys.stderr, flush=True)
            done[key] = r
            if a.cache:
                with open(a.cache, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
        results.append(done[key])
    md = markdown(results, " ".join(["python studies/deep_tables/tables.py"] + list(sys.argv[1:] if argv is None else argv)))
    print(md)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(md)


if __name__ == "__main__":
    main()
