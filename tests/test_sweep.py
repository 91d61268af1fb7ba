"""Sweeps: one tidy row per run, identical on every executor (this process, local processes, a real Dask
LocalCluster), resumable after a kill with no duplicates, bad points as error rows."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from catapult.verify.cli import main
from catapult.verify.sweep import COLUMNS, VOLATILE, grid, journal_path, point, run_point, sweep

POINTS = grid(model="uv", width=[64, 256], eta_lam0=[0.5, 1.5, 2.5, 3.5, 4.5], seed=[0, 1], steps=600)


def _stable(df):
    return df.drop(columns=list(VOLATILE)).reset_index(drop=True)


@pytest.fixture(scope="module")
def serial():
    return sweep(POINTS, jobs=1)


def test_rows_are_tidy_and_carry_inputs_verdicts_and_the_version(serial):
    assert list(serial.columns) == list(COLUMNS) and len(serial) == len(POINTS)
    assert serial["key"].is_unique
    from catapult import __version__
    assert set(serial["version"]) == {__version__}
    # the uv phases of the literature, measured per row (n >= 64, away from the edges 2 and 4)
    want = {0.5: "lazy", 1.5: "lazy", 2.5: "catapult", 3.5: "catapult", 4.5: "divergent"}
    assert all(serial["verdict"] == serial["eta_lam0"].map(want))
    cat = serial[serial["verdict"] == "catapult"]
    assert (cat["eta_lam_final"] < 2).all() and (cat["loss_peak"] > cat["loss0"]).all()
    assert (abs(serial["eta_used"] * serial["lam0"] - serial["eta_lam0"]) < 1e-12 * serial["eta_lam0"]).all()


def test_local_processes_give_the_same_table_bit_for_bit(serial):
    assert _stable(sweep(POINTS, jobs=2, chunk=3)).equals(_stable(serial))


def test_a_dask_local_cluster_gives_the_same_table_bit_for_bit(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            via_client = sweep(POINTS, scheduler=client)
        via_address = sweep(POINTS[:6], scheduler=c.scheduler_address)
    assert _stable(via_client).equals(_stable(serial))
    assert _stable(via_address).equals(_stable(serial.iloc[:6]))


def test_bad_points_are_error_rows_not_a_crashed_sweep():
    pts = [point(model="uv", width=32, eta_lam0=-1), point(model="mlp", width=32, eta_lam0=1),
           point(model="uv", width=32, eta_lam0=1, precision="float32"), point(model="uv", width=32, eta_lam0=1)]
    df = sweep(pts, jobs=1)
    assert df["verdict"].tolist() == ["error", "error", "error", "lazy"]
    assert df["reason"].iloc[1].startswith("unknown model 'mlp'")
    assert "unknown precision 'float32'" in df["reason"].iloc[2]


def test_cross_checked_rows_say_whether_two_precisions_agreed():
    df = sweep(grid(model="uv", width=[64], eta_lam0=[1.0, 3.0], steps=400, precision="float64+arb30"), jobs=1)
    assert df["agreed"].tolist() == [True, True] and df["verdict"].tolist() == ["lazy", "catapult"]
    assert set(df["backend"]) == {"float64+arb30"}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_rerun_skips_what_is_written_and_the_table_reads_in_one_line(tmp_path, suffix, serial):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"t{suffix}"
    sweep(POINTS[:7], out, jobs=1)
    seen = []
    df = sweep(POINTS, out, jobs=1, on_row=seen.append)
    assert len(seen) == len(POINTS) - 7                      # the first 7 were not run again
    back = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert len(back) == len(POINTS) and back["key"].is_unique and not journal_path(out).exists()
    assert back["verdict"].tolist() == serial["verdict"].tolist() == df["verdict"].tolist()
    assert list(back["lam0"]) == list(serial["lam0"])        # floats round-trip exactly


SCRIPT = """
import sys
from catapult.verify.sweep import grid, sweep
pts = grid(model="uv", width=[128], eta_lam0=[0.5 + 0.01 * i for i in range(400)], steps=800,
           precision="arb20")
print("ready", flush=True)
sweep(pts, sys.argv[1], jobs=1)
"""


def test_a_killed_sweep_resumes_to_a_complete_table_without_duplicates(tmp_path):
    out = tmp_path / "k.csv"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    j = journal_path(out)
    deadline = time.time() + 120
    while time.time() < deadline and (not j.exists() or j.read_text().count("\n") < 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)                         # no chance to clean up: only the journal survives
    proc.wait()
    done_before = j.read_text().count("\n")
    assert 5 <= done_before < 400
    pts = grid(model="uv", width=[128], eta_lam0=[0.5 + 0.01 * i for i in range(400)], steps=800, precision="arb20")
    ran = []
    df = sweep(pts, out, jobs=1, on_row=ran.append)
    assert len(df) == 400 and df["key"].is_unique and len(ran) <= 400 - done_before
    back = pd.read_csv(out)
    assert len(back) == 400 and back["key"].is_unique and set(back["key"]) == {p["key"] for p in pts}


def test_the_cli_writes_the_table_resumes_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "c.csv"
    argv = ["sweep", "uv", "--width", "64", "--eta-lam0-range", "1", "4.5", "8", "--steps", "500", "-o", str(out),
            "-j", "1"]
    assert main(argv) == 0
    assert "8/8 points (8 run now, 0 already in the table)" in capsys.readouterr().out
    assert main(argv + ["--json"]) == 0
    import json
    s = json.loads(capsys.readouterr().out)
    assert (s["skipped"], s["run"], sum(s["verdicts"].values())) == (8, 0, 8)
    assert len(pd.read_csv(out)) == 8
    for bad, msg in ((["-o", str(tmp_path / "x.txt")], "must be .csv or .parquet"),
                     (["--eta-lam0-range", "1", "2", "2.5"], "must be an integer"),
                     (["--depth", "3"], "--depth/--init go with the model 'deep'")):
        a = [x for x in argv if x not in ("-o", str(out))] + (["-o", str(out)] if "-o" not in bad else [])
        if bad[0] == "--eta-lam0-range":
            i = a.index("--eta-lam0-range")
            a = a[:i] + a[i + 4:]
        assert main(a + bad) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and msg in err, err


def test_a_sweep_file_describes_the_same_sweep(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nmodel = "uv"\nwidth = [64, 256]\neta_lam0 = [0.5, 1.5, 2.5, 3.5, 4.5]\n'
                 'seed = [0, 1]\nsteps = 600\n')
    from catapult.verify.sweep import load_sweep_file
    assert sorted(p["key"] for p in load_sweep_file(f)) == sorted(p["key"] for p in POINTS)


def test_deep_and_model_file_points_run(tmp_path):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pts = [point(model="deep", depth=3, width=16, eta_lam0=1.0, steps=300),
           point(model=os.path.join(here, "verify", "models", "quadratic.toml"), width=32, eta_lam0=1.0, steps=300)]
    rows = [run_point(p) for p in pts]
    assert [r["verdict"] for r in rows] == ["lazy", "lazy"], [r["reason"] for r in rows]


def test_ctrl_c_keeps_what_was_measured_prints_it_and_exits_130(tmp_path):
    out = tmp_path / "i.csv"
    entry = "import sys; from catapult.verify.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", entry, "sweep", "uv", "--width", "128", "--eta-lam0-range", "0.5",
                             "4.5", "400", "--precision", "arb20", "--steps", "800", "-o", str(out), "-j", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    j = journal_path(out)
    deadline = time.time() + 120
    while time.time() < deadline and (not j.exists() or j.read_text().count("\n") < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "[interrupted]" in stdout and "Traceback" not in stderr
    back = pd.read_csv(out)
    assert 3 <= len(back) < 400 and back["key"].is_unique


def test_threshold_searches_run_as_sweep_rows():
    # uv, squared loss: lam' - lam = eta f^2 (eta lam - 4)/n, so the divergence onset is eta lam0 = 4 at every
    # width; the loss-rise onset sits above 2 by a finite-width amount (Lewkowycz et al.: 2/lam0 as n -> oo)
    df = sweep(grid(kind="scan", model="uv", width=[64, 256], seed=0, steps=2000, precision="arb30"), jobs=1)
    assert df["verdict"].tolist() == ["measured", "measured"] and df["stability_threshold"].notna().all()
    assert (abs(df["divergence_onset"] - 4) < 1e-5).all()
    assert ((df["loss_rise_onset"] > 2 - 1e-6) & (df["loss_rise_onset"] < 2.2)).all()
    bad = run_point(point(kind="scan", model="uv", width=64, eta_lam0=1.0, precision="arb30"))
    assert bad["verdict"] == "error" and "searches eta" in bad["reason"]
