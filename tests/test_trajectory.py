"""Trajectories as tidy data (catapult.verify.trajectory): columns, metadata, agreement with the run's own evidence,
downsampling that keeps the landmarks, CSV / JSON lines read back by pandas, and ``catapult run --trace FILE``."""

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from catapult.verify.cli import main
from catapult.verify.runs import run, run_problem
from catapult.verify.trajectory import META, keep_rows, read, trajectory, write

RUN = ["run", "uv", "--eta-lam0", "3", "--width", "32", "--dps", "20"]


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_columns_metadata_and_the_run_evidence():
    """The table carries the run's own numbers: the loss peak, the final lam and eta*lam of the RunReport."""
    r = run("uv", "mse", width=64, eta_lam0=3.0, seed=1, dps=30)
    df = r.trajectory()
    assert list(df.columns) == ["step", "f", "lam", "loss", "eta_lam", *META]
    assert df.attrs["phase"] == r.phase == "catapult" and df.attrs["exactness"] == "measured"
    ev = r.result.evidence
    assert df.step.tolist() == list(range(int(ev["steps"]) + 1))
    assert df.loss.max() == pytest.approx(float(ev["loss_peak"]), rel=1e-15)
    assert int(df.step[df.loss.idxmax()]) == ev["peak_step"]
    assert df.lam.iloc[-1] == pytest.approx(float(ev["lam_final"]), rel=1e-15)
    assert df.eta_lam.iloc[-1] == pytest.approx(float(ev["eta_lam_final"]), rel=1e-15)
    assert df.eta_lam.iloc[0] == pytest.approx(3.0, rel=1e-15) and df.eta_lam.iloc[-1] < 2
    assert np.allclose(df.eta_lam, df.eta * df.lam, rtol=1e-15)
    row = df.iloc[0]
    assert (row.model, row.loss_expr, row.width, row.seed, row.dps, row.backend) == ("uv", "f**2/2", 64, 1, 30, "arb")
    assert all(isinstance(v, float) for v in df.f)


def test_trajectory_of_a_report_is_its_method():
    r = run("uv", "mse", width=16, eta_lam0=1.5, dps=20)
    assert trajectory(r).equals(r.trajectory())


def test_keep_rows_keeps_step0_peak_lam_minimum_and_end():
    loss = list(np.linspace(1, 0, 50000))
    loss[31337] = 7.0
    lam = list(np.linspace(3, 2, 50000))
    lam[22222] = 0.5
    rows = keep_rows(loss, lam, max_rows=300)
    assert len(rows) <= 300 and rows == sorted(set(rows))
    assert {0, 31337, 22222, 49999} <= set(rows)
    assert keep_rows(loss[:10], lam[:10], max_rows=300) == list(range(10))
    assert len(keep_rows(loss, lam, max_rows=0)) == 50000


def test_downsampled_long_run_keeps_the_landmarks_with_their_values():
    """A 724-step logistic catapult cut to 100 rows: the kept rows are rows of the full table (same values)."""
    full = trajectory("uv", "logistic", p="7/10", width=256, eta_lam0=15, dps=20, max_rows=0)
    small = trajectory("uv", "logistic", p="7/10", width=256, eta_lam0=15, dps=20, max_rows=100)
    assert len(full) == full.attrs["steps"] + 1 > 700 and len(small) <= 100 and small.attrs["downsampled"]
    keep = set(small.step)
    assert {0, int(full.step.iloc[-1]), int(full.step[full.loss.idxmax()]), int(full.step[full.lam.idxmin()])} <= keep
    merged = small.merge(full, on="step", suffixes=("", "_full"))
    for c in ("f", "lam", "loss", "eta_lam"):
        assert (merged[c] == merged[c + "_full"]).all()


def test_csv_and_jsonl_read_back_with_pandas(tmp_path):
    df = trajectory("uv", "mse", width=32, eta_lam0=3.0, dps=20)
    back_csv = pd.read_csv(write(df, tmp_path / "t.csv"))
    back_jsonl = pd.read_json(write(df, tmp_path / "t.jsonl"), lines=True, precise_float=True)
    for back in (back_csv, back_jsonl, read(tmp_path / "t.csv"), read(tmp_path / "t.jsonl")):
        assert list(back.columns) == list(df.columns)
        for c in ("step", "f", "lam", "loss", "eta_lam", "eta", "width"):
            assert (back[c] == df[c]).all(), c
    with open(tmp_path / "t.jsonl") as fh:
        assert all(json.loads(line)["model"] == "uv" for line in fh)


def test_nonfinite_values_are_null_in_json_lines(tmp_path):
    df = pd.DataFrame({"step": [0, 1], "loss": [1.0, math.inf], "lam": [1.0, math.nan]})
    write(df, tmp_path / "x.jsonl")
    rows = [json.loads(line) for line in open(tmp_path / "x.jsonl")]
    assert rows[1] == {"step": 1, "loss": None, "lam": None}


def test_samples_residuals_agree_with_the_mode_report():
    """res_i = |e_i.(f_t - y)| in the initial NTK eigenbasis: its growth is the run report's mode_growth."""
    from catapult.numerics.models import UVDataModel
    from catapult.numerics.losses import DataLoss
    from catapult.theory import mse
    from catapult.verify.bridge import numeric_loss
    X, Y = np.array([[1.0, 0.0], [0.0, 0.75]]), np.array([0.5, -0.25])
    model = UVDataModel(64, X, seed=0)
    nl = DataLoss([numeric_loss(mse("y"), y=float(v)) for v in Y])
    r = run_problem(model, nl, mse("y"), name="uv", eta_lam0=3.0, dps=20, steps=3000, sample_labels=Y)
    df = r.trajectory()
    for i, g in enumerate(r.result.evidence["mode_growth"], start=1):
        assert df[f"res{i}"].max() / df[f"res{i}"].iloc[0] == pytest.approx(float(g), rel=1e-9)
        assert df[f"eta_lam{i}"].iloc[0] == pytest.approx(float(r.result.evidence["eta_times_eigs_initial"][i - 1]),
                                                          rel=1e-12)
    assert df.eta_lam0.iloc[0] == df.eta_lam1.iloc[0] and "probe_lam0" in df.attrs
    assert (df.lam1 >= df.lam2).all()


def test_cli_trace_file_csv_and_jsonl(tmp_path):
    for name in ("t.csv", "t.jsonl"):
        code, out, err = _cli(RUN + ["--trace", str(tmp_path / name), "--trace-rows", "50"])
        assert code == 0 and err == "" and out.startswith("phase: catapult")
        df = read(tmp_path / name)
        assert len(df) <= 50 and df.step.iloc[0] == 0 and df.eta_lam.iloc[0] == pytest.approx(3.0)
        assert set(META) <= set(df.columns)


def test_cli_trace_with_json_keeps_the_json_contract(tmp_path):
    plain = json.loads(_cli(RUN + ["--json"])[1])
    code, out, _ = _cli(RUN + ["--json", "--trace", str(tmp_path / "t.csv")])
    assert code == 0 and json.loads(out).keys() == plain.keys() and (tmp_path / "t.csv").exists()


def test_cli_trace_every_k_steps_still_prints_text():
    code, out, _ = _cli(RUN + ["--trace", "20"])
    assert code == 0 and "  step  loss  f  lam" in out


@pytest.mark.parametrize("value", ["t.txt", "-1", "x", "/nonexistent-dir/t.csv", "/"])
def test_cli_bad_trace_is_one_line_and_exit_2(value):
    code, out, err = _cli(RUN + ["--trace", value])
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("catapult: error:")


def test_samples_residuals_of_a_non_squared_loss_are_its_slopes():
    """Under the logistic loss log(1 + exp(-y f)) the residual GD moves is l'_a(f_a) = -y_a/(1 + exp(y_a f_a)),
    not f_a - y_a: res_i = |e_i . l'(f_t)| with e_i the initial NTK's eigenvectors, recomputed here in numpy from the
    table's own outputs and NTK eigenvectors (an independent evaluation of the slope)."""
    from catapult.numerics.models import UVDataModel
    from catapult.numerics.losses import DataLoss
    from catapult.theory.loss import Loss
    from catapult.verify.bridge import numeric_loss
    X, Y = np.array([[1.0, 0.0], [0.0, 0.75]]), np.array([1.0, -1.0])
    lo = Loss.parse("log(1 + exp(-y*f))")
    model = UVDataModel(64, X, seed=0)
    nl = DataLoss([numeric_loss(lo, y=float(v)) for v in Y])
    r = run_problem(model, nl, lo, name="uv", eta_lam0=1.0, dps=30, steps=200, sample_labels=Y)
    df = r.trajectory()
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    tr0 = run_gd(model, nl, eta=1, steps=0, backend=get_backend("arb", 30), observe=True)
    T0 = np.array([[float(v) for v in row] for row in tr0.observed[0]["ntk"]])
    E0, Q0 = np.linalg.eigh(T0)
    Q0 = Q0[:, np.argsort(-E0)]
    F = df[["f1", "f2"]].to_numpy()
    slopes = -Y / (1 + np.exp(Y * F))
    want = np.abs(slopes @ Q0)
    assert np.allclose(df[["res1", "res2"]].to_numpy(), want, rtol=1e-9, atol=1e-15)
    assert not np.allclose(df[["res1", "res2"]].to_numpy(), np.abs((F - Y) @ Q0))   # not the squared loss's
    for i, g in enumerate(r.result.evidence["mode_growth"], start=1):
        assert df[f"res{i}"].max() / df[f"res{i}"].iloc[0] == pytest.approx(float(g), rel=1e-9)
