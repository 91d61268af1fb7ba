"""The CLI's JSON contract and exit codes (the literature values are the oracles)."""

import io
import json

import pytest
import sympy as sp

from catapult.theory.symbols import SYMBOLS
from catapult.verify.cli import main


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_derive_json_contract_gives_the_literature_map():
    code, out, _ = run(["derive", "uv", "--loss", "mse", "--json"])
    d = json.loads(out)
    assert code == 0 and {"model", "loss", "state", "update", "exact"} <= set(d)
    assert d["state"] == ["f", "lam"] and d["exact"] is True
    f, lam, eta, n = (SYMBOLS[k] for k in ("f", "lam", "eta", "n"))
    fp = sp.sympify(d["update"]["f"], locals=SYMBOLS)
    lp = sp.sympify(d["update"]["lam"], locals=SYMBOLS)
    assert sp.simplify(fp - (1 - eta * lam + eta**2 * f**2 / n) * f) == 0  # Lewkowycz et al. 2020
    assert sp.simplify(lp - (lam + eta * f**2 / n * (eta * lam - 4))) == 0


def test_thresholds_json_contract():
    code, out, _ = run(["thresholds", "uv", "--loss", "mse", "--json", "--lam0", "2"])
    d = json.loads(out)
    lam0 = SYMBOLS["lam0"]
    assert code == 0
    assert sp.simplify(sp.sympify(d["eta_crit"], locals=SYMBOLS) - 2 / lam0) == 0
    assert sp.simplify(sp.sympify(d["eta_max"], locals=SYMBOLS) - 4 / lam0) == 0
    assert d["values"] == {"eta_crit": 1.0, "eta_max": 2.0} and isinstance(d["assumptions"], list)


def test_thresholds_json_has_one_schema_for_uv_deep_and_samples():
    """Issue 10: the same top-level keys and the same keys for every threshold, whatever the model."""
    from catapult.theory.thresholds import THRESHOLD_KEYS, THRESHOLDS_KEYS
    for argv in (["thresholds", "uv"], ["thresholds", "deep", "--depth", "3", "--band-restarts", "0"],
                 ["thresholds", "uv", "--samples", "2", "--dim", "2", "--data-seed", "0"]):
        code, out, err = run(argv + ["--json"])
        assert code == 0, err
        d = json.loads(out)
        assert sorted(d) == sorted(THRESHOLDS_KEYS), argv
        assert all(sorted(t) == sorted(THRESHOLD_KEYS) for t in d["thresholds"].values()), argv


def test_run_and_scan_json_contract():
    code, out, _ = run(["run", "uv", "--eta-lam0", "3", "--width", "64", "--steps", "3000", "--dps", "20", "--json"])
    d = json.loads(out)
    assert code == 0 and {"phase", "lam0", "lam_final", "loss_peak", "steps"} <= set(d)
    assert d["phase"] == "catapult" and d["eta_lam_final"] <= 2  # Theorem 1: lam_inf <= 2/eta
    code, out, _ = run(["scan", "uv", "--width", "64", "--dps", "20", "--rtol", "1e-4", "--json"])
    d = json.loads(out)
    names = {"loss_rise_onset": "loss-rise onset", "stability_threshold": "linear stability threshold",
             "divergence_onset_at_width": "divergence onset at width n"}
    assert code == 0 and {*names, "eta_max", "lam0", "width", "dps"} <= set(d)
    assert "eta_crit" not in d  # no measured quantity carries the derived threshold's name
    for key, criterion in names.items():
        assert d[key]["criterion"] == criterion and len(d[key]["bracket"]) == 2 and len(d[key]["precisions"]) == 2
    # squared loss: the divergence onset at width n estimates the width-independent eta_max = 4/lam0
    assert d["eta_max"]["estimated_by"] == "divergence_onset_at_width"
    assert abs(d["eta_max"]["eta"] * d["lam0"] - 4) < 4e-3  # the drift sign flips at eta lam = 4 exactly (y = 0)
    # l'' = 1: the minimum is linearly unstable above eta = 2/lam* (lam* its NTK)
    assert abs(d["stability_threshold"]["eta_lam_star"] - 2) < 4e-4


def test_scan_without_a_minimiser_names_the_reason_and_keeps_the_loss_rise_onset():
    code, out, _ = run(["scan", "uv", "--width", "64", "--loss-expr", "exp(-f)", "--dps", "20", "--rtol", "1e-3",
                        "--steps", "300", "--json"])
    d = json.loads(out)
    st = d["stability_threshold"]
    assert code == 0 and st["eta"] is None and st["criterion"] == "linear stability threshold"
    assert st["reason"].startswith("the loss has no minimiser (l' never 0)")
    assert d["loss_rise_onset"]["criterion"] == "loss-rise onset"
    assert "eta_max" not in d  # not a quadratic loss: no width-independent eta_max is claimed


def test_verify_json_runs_a_section():
    code, out, _ = run(["verify", "--json", "--only", "a"])
    d = json.loads(out)
    assert code == 0 and d["passed"] and all(r["status"] == "PASS" for r in d["rows"])


def test_bad_input_is_one_line_and_exit_2():
    for argv in (["run", "uv", "--eta", "0", "--width", "8"], ["run", "uv", "--eta", "1", "--width", "0"],
                 ["derive", "uv", "--loss-expr", "f + q"], ["derive", "uv", "--loss-expr", "abs(f)"],
                 ["derive", "mlp"], ["thresholds", "uv", "--loss", "logistic", "--p", "1.5"], ["nonsense"]):
        code, out, err = run(argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, argv


def test_data_labels_are_taken_as_given_not_recognised_as_constants(tmp_path):
    """A label 1.4142135623730951 in a data file is that binary number, not sqrt(2) (review of issue 9)."""
    import io
    f = tmp_path / "xy.csv"
    f.write_text("1.0,1.4142135623730951\n")
    out = io.StringIO()
    assert main(["derive", "uv", "--samples", "1", "--dim", "1", "--data", str(f), "--json"], out=out) == 0
    text = out.getvalue()
    assert "sqrt(2)" not in text and "6369051672525773/4503599627370496" in text   # 1.4142135623730951 = m/2^52


def test_version_is_the_installed_distribution_version(capsys):
    """``catapult --version`` prints the version the package reports (exit 0)."""
    import catapult
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"catapult {catapult.__version__}"
