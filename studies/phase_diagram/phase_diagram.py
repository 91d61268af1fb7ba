"""The uv phase diagram from sweeps (issue 12): >= 2000 float64 runs on eta*lam0 x n, and the finite-width error of
the lazy/catapult boundary from bisected loss-rise onsets over widths and seeds.

Usage (from the repository root, package installed):
    python studies/phase_diagram/phase_diagram.py [-j 2] [--scheduler ADDRESS]
writes phase.csv, onsets.csv (resumable tables), phase.png, error.png and results.md beside this file.
"""

import argparse
import math
import subprocess
import time
from pathlib import Path

import numpy as np

from catapult.verify import plots
from catapult.verify.sweep import load_sweep_file, sweep

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=None)
    ap.add_argument("--scheduler", default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    grid = sweep(load_sweep_file(HERE / "sweep.toml"), HERE / "phase.csv", jobs=a.j, scheduler=a.scheduler,
                 progress=True)
    t_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    ons = sweep(load_sweep_file(HERE / "onsets.toml"), HERE / "onsets.csv", jobs=a.j, scheduler=a.scheduler,
                progress=True)
    t_ons = time.perf_counter() - t0

    lines = {w: plots.threshold_lines(plots.Problem.named("uv", "mse"), 1.0) for w in grid["width"].unique()}
    fig = plots.draw_phase(grid[["width", "eta_lam0", "verdict"]], lines=lines,
                           title=("uv model, squared loss: phase of float64 parameter GD (measured, one run per cell, "
                                  "seed 0)", "lines: derived (theory)"))
    plots.save(fig, HERE / "phase.png")

    # boundaries read off the grid, per width: last lazy cell / first catapult, last converging / first divergent
    rows = []
    for w, g in grid.groupby("width"):
        g = g.sort_values("eta_lam0")
        first_cat = g[g["verdict"] == "catapult"]["eta_lam0"].min()
        last_conv = g[g["verdict"].isin(["lazy", "catapult"])]["eta_lam0"].max()
        first_div = g[g["verdict"] == "divergent"]["eta_lam0"].min()
        rows.append((int(w), first_cat, last_conv, first_div, (g["verdict"] == "undetermined").sum()))

    err = ons.assign(err=ons["loss_rise_onset"] - 2)
    per_n = err.groupby("width")["err"].agg(["mean", "min", "max"])
    slope, icpt = np.polyfit(np.log(per_n.index.values), np.log(per_n["mean"].values), 1)

    from matplotlib.figure import Figure
    f2 = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = f2.subplots()
    ax.loglog(err["width"], err["err"], "o", color=plots.OKABE_ITO["blue"], alpha=0.6, ms=4,
              label="loss-rise onset - 2, one seed (measured: bisection, float64 and arb30 agree)")
    ax.loglog(per_n.index, per_n["mean"], "D-", color=plots.OKABE_ITO["vermillion"], label="mean over 16 seeds")
    ns = np.array(sorted(per_n.index), dtype=float)
    ax.loglog(ns, np.exp(icpt) * ns ** slope, ":", color="k", label=f"fit: n^{slope:.3f}")
    ax.set_xlabel("width $n$")
    ax.set_ylabel(r"$\eta\lambda_0$ at the loss-rise onset $- 2$")
    ax.set_title("finite-width error of the lazy/catapult boundary (derived: 2 as $n\\to\\infty$)", fontsize=9)
    ax.legend(fontsize=7)
    plots.save(f2, HERE / "error.png")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    counts = grid["verdict"].value_counts().to_dict()
    md = [f"> Produced by `python studies/phase_diagram/phase_diagram.py{' -j ' + str(a.j) if a.j else ''}` at commit "
          f"{commit} ({time.strftime('%Y-%m-%d')}); phase sweep {len(grid)} runs in {t_grid:.1f} s, onset sweep "
          f"{len(ons)} scans in {t_ons:.1f} s (0 s when resumed from the tables).",
          "", "# uv phase diagram (squared loss, label 0)", "",
          f"Phase sweep: {len(grid)} float64 runs (11 widths x 200 values of eta*lam0, cells 0.025 wide, "
          f"seed 0, <= 2000 steps): {counts}.  Figure: `phase.png`.", "",
          "| n | first catapult cell | last converging cell | first divergent cell | undetermined cells |",
          "|---|---|---|---|---|"]
    md += [f"| {w} | {c:.4f} | {lc:.4f} | {d:.4f} | {u} |" for w, c, lc, d, u in rows]
    md += ["", "Derived (theory, `catapult thresholds uv`): eta_crit lam0 = 2, eta_max lam0 = 4 (leading order in 1/n).",
           "", f"Onset sweep: {len(ons)} bisected loss-rise onsets (8 widths x 16 seeds); error = onset - 2.", "",
           "| n | mean error | min | max | n x mean |", "|---|---|---|---|---|"]
    md += [f"| {int(w)} | {r['mean']:.3e} | {r['min']:.3e} | {r['max']:.3e} | {w * r['mean']:.3f} |"
           for w, r in per_n.iterrows()]
    md += ["", f"Least-squares fit of log(mean error) on log n: slope {slope:.3f} (1/n would be -1).  "
           "Figure: `error.png`."]
    (HERE / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
