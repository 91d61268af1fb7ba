"""Sweep throughput: N float64 uv runs (n = 1024, <= 1000 steps) serially, on `-j 2` local processes and on a
Dask LocalCluster with 2 workers, as ratios measured in one run (targets: -j 2 >= 1.8x serial; LocalCluster
within 20 % of -j 2); then 200 runs at 50 digits; and the per-task overhead of each executor (empty tasks).

Nothing is asserted (these machines are noisy; compare ratios within one run).
Usage: python benchmarks/bench_sweep.py [--runs 10000] [--mp-runs 200]
"""

import argparse
import statistics
import time

from catapult.verify.sweep import VOLATILE, grid, run_chunk, sweep


def points(runs, precision="float64", width=1024):
    # eta*lam0 across lazy, catapult and divergent (as a phase diagram would), seeds to make up the count
    xs = [0.25 + 4.75 * i / 99 for i in range(100)]
    seeds = list(range(max(1, runs // len(xs))))
    return grid(model="uv", width=[width], eta_lam0=xs, seed=seeds, steps=1000, precision=precision)[:runs]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def overhead(submit_many, tasks=400):
    """Seconds per empty task through an executor (submit, run nothing, return)."""
    t, _ = timed(lambda: submit_many([[]] * tasks))
    return t / tasks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--mp-runs", type=int, default=200)
    a = ap.parse_args()
    from distributed import Client, LocalCluster

    pts = points(a.runs)
    t_serial, df1 = timed(lambda: sweep(pts, jobs=1))
    t_j2, df2 = timed(lambda: sweep(pts, jobs=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as client:
        sweep(pts[:50], scheduler=client)  # warm the workers' imports
        t_dask, df3 = timed(lambda: sweep(pts, scheduler=client))
        ex = client.get_executor(pure=False)
        ov_dask = overhead(lambda cs: [f.result() for f in [ex.submit(run_chunk, c) for c in cs]])
    same = all(df1.drop(columns=list(VOLATILE)).equals(d.drop(columns=list(VOLATILE))) for d in (df2, df3))
    print(f"{a.runs} float64 uv runs, n = 1024, <= 1000 steps "
          f"(verdicts {df1['verdict'].value_counts().to_dict()}; tables identical: {same})")
    print(f"  serial        {t_serial:8.2f} s   {a.runs / t_serial:8.1f} runs/s")
    print(f"  -j 2          {t_j2:8.2f} s   speed-up vs serial {t_serial / t_j2:5.2f}  (target >= 1.8)")
    print(f"  LocalCluster  {t_dask:8.2f} s   speed-up vs serial {t_serial / t_dask:5.2f}; "
          f"time / (-j 2) {t_dask / t_j2:5.2f}  (target <= 1.2)")

    import concurrent.futures as cf
    with cf.ProcessPoolExecutor(2) as pool:
        list(pool.map(run_chunk, [[]] * 4))
        ov_pool = overhead(lambda cs: list(pool.map(run_chunk, cs)))
    print(f"  per-task overhead (empty task): local processes {1e3 * ov_pool:.2f} ms, Dask {1e3 * ov_dask:.2f} ms; "
          f"a task holds up to 64 runs (median run {1e3 * statistics.median(df1['wall_s']):.2f} ms)")

    mp = points(a.mp_runs, precision="arb50")
    t_mp1, m1 = timed(lambda: sweep(mp, jobs=1))
    t_mp2, m2 = timed(lambda: sweep(mp, jobs=2))
    f64 = sweep(points(a.mp_runs), jobs=1)   # the same points in float64 (the big table's first rows are others)
    print(f"{a.mp_runs} runs at 50 digits (arb50): serial {t_mp1:.2f} s, -j 2 {t_mp2:.2f} s, speed-up "
          f"{t_mp1 / t_mp2:.2f}; float64 verdicts equal the 50-digit ones on "
          f"{int((m1['verdict'].values == f64['verdict'].values).sum())}/{len(m1)} points")


if __name__ == "__main__":
    main()
