"""Study: catapult thresholds of ReLU / tanh nets on digits (Lewkowycz et al. 2020's ~12 and ~4), test accuracy vs
c, and Huang et al. 2020's separable vs non-separable claim with the logistic loss.

Run:  python studies/nets/nets_study.py   (writes runs.csv, thresholds.csv, logistic.csv here;
      results.md is written by hand from them)
"""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from catapult.verify.net_data import load_task
from catapult.verify.nets import net_sweep

HERE = Path(__file__).parent
C_GRID = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 12, 16]
STEPS, M, SEEDS = 500, 256, [0, 1]
ARCHS = [(2, [256, 512]), (3, [256]), (4, [128])]


def linearly_separable(task):
    from sklearn.svm import LinearSVC
    ds = load_task("digits", task, m=M)
    clf = LinearSVC(C=1e6, max_iter=200000).fit(ds.X, ds.y)
    return float(np.mean(clf.predict(ds.X) == ds.y))


def main():
    t0 = time.time()
    tabs, runs = [], []
    for act in ("relu", "tanh"):
        for depth, widths in ARCHS:
            r = net_sweep("digits", "even-odd", activations=[act], depths=[depth], widths=widths, seeds=SEEDS,
                          c_grid=C_GRID, steps=STEPS, m=M)
            tabs.append(r.thresholds)
            runs.append(r.table)
            print(r.thresholds.to_string(index=False), f"[{time.time() - t0:.0f} s]", flush=True)
    th, df = pd.concat(tabs), pd.concat(runs)
    th.to_csv(HERE / "thresholds.csv", index=False)
    df.to_csv(HERE / "runs.csv", index=False)
    logi = []
    for task in ("0,1", "even-odd"):
        sep = linearly_separable(task)
        r = net_sweep("digits", task, activations=["relu"], depths=[2], widths=[256], seeds=[0],
                      c_grid=[0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24], loss="logistic", steps=STEPS, m=M)
        t = r.table.assign(task=task, linear_train_accuracy=sep)
        logi.append(t)
        print(t[["task", "c", "verdict", "loss_peak_ratio", "eta_lam_final", "test_accuracy"]].to_string(index=False),
              flush=True)
    pd.concat(logi).to_csv(HERE / "logistic.csv", index=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    print(f"done in {time.time() - t0:.0f} s at commit {commit}", file=sys.stderr)


if __name__ == "__main__":
    main()
