"""Scans and verify rows as tidy data: the DataFrame holds what the JSON contract holds, and the CLI writes it."""

import json

import pandas as pd
import pytest

from catapult.verify.cli import main
from catapult.verify.runs import scan
from catapult.verify.table import Row, frame


@pytest.fixture(scope="module")
def uv_scan():
    return scan("uv", "mse", width=32, rtol=1e-4, dps=20, steps=300, widths=[16, 32])


def test_scan_frame_is_its_json(uv_scan):
    d, df = uv_scan.to_json(), uv_scan.to_frame()
    by = df[df.key != "divergence_law"].set_index("key")
    for key in ("loss_rise_onset", "stability_threshold", "divergence_onset_at_width"):
        assert by.eta_lam0[key] == d[key]["eta_lam0"] and by.criterion[key] == d[key]["criterion"]
        assert [by.lo[key], by.hi[key]] == d[key]["bracket"][:2] and by.lo[key] <= by.eta_lam0[key] <= by.hi[key]
    assert 3.99 < by.eta_lam0["divergence_onset_at_width"] < 4.01          # eta_max = 4/lam0 (Lewkowycz et al.)
    law = df[df.key == "divergence_law"]
    assert law.width.tolist() == [16, 32] and law.eta_lam0.tolist() == d["divergence_law"]["eta_lam0"]
    assert law.lam0.isna().all() and (df[df.key != "divergence_law"].lam0 == d["lam0"]).all()


def test_verify_frame_keeps_prose_and_numbers():
    r = Row("x1", "claim", "4", "4.0001", "rel 1e-3", True, "measured: fixed50, n=8, seed=0", quantity="eta*lam0",
            predicted_value=4.0, measured_value=4.0001, tolerance_value=1e-3, compare="rel", dps=50, width=8, seed=0)
    q = Row("x2", "band", "in", "5.2", "[5, 6]", False, "measured", measured_value=5.2, compare="in", bounds=(5, 6))
    df = frame([r, q])
    assert df.id.tolist() == ["x1", "x2"] and df.status.tolist() == ["PASS", "FAIL"]
    assert df.rel_error[0] == pytest.approx(0.0001 / 4) and df.measured[0] == "4.0001"
    assert (df.bound_lo[1], df.bound_hi[1]) == (5, 6) and df.bound_lo[0] == pytest.approx(4 - 4e-3)  # |m - p| <= tol |p|
    assert json.loads(df.null_reasons[1]) == q.to_json()["null_reasons"]


def test_cli_tables(tmp_path, capsys):
    f = tmp_path / "s.csv"
    assert main(["scan", "uv", "--width", "16", "--rtol", "1e-3", "--dps", "20", "--steps", "300", "--quiet",
                 "--json", "--table", str(f)]) == 0
    d = json.loads(capsys.readouterr().out)
    back = pd.read_csv(f, dtype={"eta_lam0": str}).set_index("key")   # 17 digits written; float() reads them exactly
    assert float(back.eta_lam0["divergence_onset_at_width"]) == d["divergence_onset_at_width"]["eta_lam0"]
    g = tmp_path / "v.jsonl"
    assert main(["verify", "--only", "c", "-j", "1", "--quiet", "--json", "--table", str(g)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    back = pd.read_json(g, lines=True, precise_float=True)
    assert back.id.tolist() == [r["id"] for r in rows]
    assert back.measured_value.tolist() == pytest.approx([r["measured_value"] for r in rows], nan_ok=True)
    for bad in (["verify", "--table", str(tmp_path / "v.txt")],
                ["scan", "uv", "--width", "16", "--certified", "--table", str(f)]):
        assert main(bad) == 2
        assert capsys.readouterr().err.count("\n") == 1
