"""The CLI contract under hostile input (issue #9): a fixed list of known-bad invocations plus a Hypothesis fuzz.

Contract: every invocation either exits 0 printing finite numbers where numbers are promised (JSON valid for strict
parsers: no NaN/Infinity tokens, null + a reason where a value is not derived), or exits 2 with exactly one line
``catapult: error: ...`` on stderr.  Never a traceback, never nan/inf/zoo as a value, never an ``internal error``
(the last-resort handler exists, but reaching it is a bug), never executing a user string.  Ctrl-C gives one line
``catapult: interrupted`` and exit status 130.

Runs in-process (``catapult.verify.cli.main(argv, out, err)``) for speed; a few tests use a subprocess for exit codes/SIGINT.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catapult.verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

#: a number printed as a value that is not a finite number (prose such as "overflow to inf/nan" is allowed)
_BAD_TOKEN = re.compile(r"(?<![\w/.])[+-]?(nan|inf|infinity|zoo)(?![\w/])", re.IGNORECASE)


def call(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def strict_json(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


def _walk(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def assert_contract(argv, code, out, err):
    """The contract above; returns the parsed JSON (or None)."""
    where = f"catapult {' '.join(map(str, argv))}\n--- stdout ---\n{out[:2000]}\n--- stderr ---\n{err[:2000]}"
    assert "Traceback" not in out + err, where
    assert "internal error" not in err, where
    assert code in (0, 2), where
    if code == 2:
        lines = err.strip("\n").splitlines()
        assert len(lines) == 1 and lines[0].startswith("catapult: error: "), where
        return None
    if "--json" in argv:
        d = strict_json(out)
        for path, v in _walk(d):
            if isinstance(v, float):
                assert math.isfinite(v), f"{path} = {v}\n{where}"
            if isinstance(v, str) and not path.split(".")[-1].startswith(("reason", "note")) and "reason" not in path:
                assert not re.fullmatch(r"\s*[+-]?(nan|inf|infinity|zoo|oo)\s*", v, re.I), f"{path} = {v!r}\n{where}"
        return d
    assert not _BAD_TOKEN.search(out), where
    return None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


def make_data(d):
    """Hostile data files in the directory ``d``."""
    d = Path(d)
    np.save(d / "str.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(d / "cplx.npy", np.array([[1 + 1j, 1], [-1, 2 + 0j]]))
    np.save(d / "cplx3.npy", np.array([[1 + 1j, 1, 0.5], [-1, 2 + 0j, 0.25]]))
    np.save(d / "str3.npy", np.array([["a", "b", "c"], ["d", "e", "f"]]))
    np.save(d / "obj.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    (d / "big.csv").write_text("1e300,1\n0.5,0.25\n")
    (d / "r300.csv").write_text("1,1e300\n-1,1\n")
    (d / "sym.csv").write_text("1,0\n-1,0\n")
    (d / "nan.csv").write_text("1,nan\n-1,1\n")
    (d / "ragged.csv").write_text("1,1\n-1\n")
    (d / "words.csv").write_text("one,two\n")
    (d / "empty.csv").write_text("")
    (d / "rows.csv").write_text("1,1\n" * 5000)
    (d / "huge.csv").write_bytes(b"1,1\n" * 3_000_000)
    (d / "zero.csv").write_text("0,0,1\n0,0,-1\n")
    # user model files (issue 10)
    uv = '[parameters]\nu = "vector"\nv = "vector"\n'
    (d / "m_ok.toml").write_text('output = "dot(u, v)/sqrt(n)"\n' + uv)
    (d / "m_bad.toml").write_text('output = "dot(u, v)\n' + uv)
    (d / "m_big.toml").write_text('output = "dot(u, v)/sqrt(n)"\n' + uv + "#" * 70000 + "\n")
    (d / "m_reserved.toml").write_text('output = "dot(u, eta)"\n[parameters]\nu = "vector"\neta = "vector"\n')
    (d / "m_deep.toml").write_text('name = "deep"\noutput = "dot(u, v)/sqrt(n)"\n' + uv)
    (d / "m_const.toml").write_text('output = "1 + 0*dot(u, u)"\n[parameters]\nu = "vector"\n')
    (d / "m_rpow.toml").write_text('output = "2**(dot(u, v)/sqrt(n))"\n' + uv)
    (d / "m_shadow.toml").write_text('output = "dot(e, xp)/sqrt(n) + exp(dot(e, e)/n)"\n'
                                     '[parameters]\ne = "vector"\nxp = "vector"\n')
    (d / "m_sqrt.toml").write_text('output = "sqrt(dot(u, v))"\n' + uv)
    (d / "m_chain.toml").write_text('output = "dot(w, V, u)/sqrt(n)"\n[parameters]\nw = "vector"\nV = "matrix"\n'
                                    'u = "vector"\n[init]\nV = "isometric"\n')
    return d


FAST = ["--width", "4", "--steps", "10", "--dps", "10"]
RUN = ["run", "uv", "--eta-lam0", "1", *FAST]
SCAN = ["scan", "uv", "--width", "4", "--steps", "20", "--dps", "10", "--rtol", "1e-2"]

#: (id, argv, expected exit status or None for "either, within the contract")
HOSTILE = [
    # numbers that are not numbers (ZeroDivisionError / OverflowError before)
    ("p-1/0", ["derive", "uv", "--loss", "logistic", "--p", "1/0"], 2),
    ("label-1/0", ["derive", "uv", "--label", "1/0"], 2),
    ("r-1/0", ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "1/0", "1"], 2),
    ("r-1e400", ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "1e400", "1"], 2),
    ("r-tiny", ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "1e-400", "1"], 2),
    ("z-half", ["derive", "uv", "--loss", "logistic", "--z", "1/2", "-1", "--r", "1", "1"], 2),
    ("depth-inf", ["derive", "deep", "--depth", "inf"], 2),
    ("depth-1e400", ["derive", "deep", "--depth", "1e400"], 2),
    ("depth-nan", ["derive", "deep", "--depth", "nan"], 2),
    ("depth-2.5", ["derive", "deep", "--depth", "2.5"], 2),
    ("lam0-1e-300", ["thresholds", "uv", "--lam0", "1e-300", "--json"], 0),
    ("lam0-denormal", ["thresholds", "uv", "--lam0", "5e-324", "--json"], 2),
    ("lam0-nan", ["thresholds", "uv", "--lam0", "nan"], 2),
    ("label-inf", [*RUN, "--label", "inf"], 2),
    ("label-1e400", [*RUN, "--label", "1e400"], 2),
    ("width-1e3", ["run", "uv", "--eta-lam0", "1", "--width", "1e3"], 2),
    ("seed-negative", [*RUN, "--seed", "-1"], 2),
    ("trace-negative", [*RUN, "--trace", "-1"], 2),
    ("trace-bare-suffix", [*RUN, "--trace", "{d}/.jsonl"], 2),         # a name, not a suffix: refused up front
    ("table-bare-suffix", ["scan", "uv", "--width", "16", "--table", "{d}/.csv"], 2),
    ("table-txt", ["verify", "--only", "a", "--table", "{d}/rows.txt"], 2),
    ("table-missing-dir", ["scan", "uv", "--width", "16", "--table", "{d}/no/such/dir/t.csv"], 2),
    ("eta-both", [*RUN, "--eta", "1"], 2),
    # data files
    ("data-str-npy", ["derive", "uv", "--loss", "logistic", "--data", "{d}/str.npy"], 2),
    ("data-complex-npy", ["derive", "uv", "--loss", "logistic", "--data", "{d}/cplx.npy"], 2),
    ("samples-complex-npy", ["derive", "uv", "--samples", "2", "--dim", "2", "--data", "{d}/cplx3.npy"], 2),
    ("samples-str-npy", ["derive", "uv", "--samples", "2", "--dim", "2", "--data", "{d}/str3.npy"], 2),
    ("samples-object-npy", ["derive", "uv", "--samples", "1", "--dim", "1", "--data", "{d}/obj.npy"], 2),
    ("data-dev-zero", ["derive", "uv", "--loss", "logistic", "--data", "/dev/zero"], 2),
    ("data-dev-zero-npy", ["derive", "uv", "--samples", "1", "--dim", "1", "--data", "/dev/zero.npy"], 2),
    ("data-missing", ["derive", "uv", "--loss", "logistic", "--data", "{d}/nope.csv"], 2),
    ("data-directory", ["derive", "uv", "--loss", "logistic", "--data", "{d}"], 2),
    ("data-nan", ["derive", "uv", "--loss", "logistic", "--data", "{d}/nan.csv"], 2),
    ("data-ragged", ["derive", "uv", "--loss", "logistic", "--data", "{d}/ragged.csv"], 2),
    ("data-words", ["derive", "uv", "--loss", "logistic", "--data", "{d}/words.csv"], 2),
    ("data-empty", ["derive", "uv", "--loss", "logistic", "--data", "{d}/empty.csv"], 2),
    ("data-too-many-rows", ["derive", "uv", "--loss", "logistic", "--data", "{d}/rows.csv"], 2),
    ("data-too-large", ["derive", "uv", "--loss", "logistic", "--data", "{d}/huge.csv"], 2),
    ("samples-x-1e300", ["run", "uv", "--samples", "2", "--dim", "1", "--data", "{d}/big.csv", "--eta-lam0", "1",
                         *FAST, "--json"], 2),
    ("logistic-r-1e300", ["run", "uv", "--loss", "logistic", "--data", "{d}/r300.csv", "--eta-lam0", "1",
                          *FAST, "--json"], 2),
    ("samples-zero-ntk", ["run", "uv", "--samples", "2", "--dim", "2", "--data", "{d}/zero.csv", "--eta-lam0", "1",
                          *FAST], 2),
    # losses run/scan cannot evaluate, or not defined on all of R
    ("run-log", [*RUN, "--loss-expr", "log(f)", "--json"], 2),
    ("run-cbrt", [*RUN, "--loss-expr", "f**(1/3)", "--json"], 2),
    ("run-sqrt", [*RUN, "--loss-expr", "sqrt(f)", "--json"], 2),
    ("run-inverse", [*RUN, "--loss-expr", "1/f", "--json"], 2),
    ("run-besselj", [*RUN, "--loss-expr", "besselj(0, f)"], 2),
    ("run-lambertw", [*RUN, "--loss-expr", "LambertW(f)"], 2),
    ("run-zeta", [*RUN, "--loss-expr", "zeta(f)"], 2),
    ("run-mod", [*RUN, "--loss-expr", "Mod(f, 1)"], 2),
    ("scan-cbrt", [*SCAN, "--loss-expr", "f**(1/3)"], 2),
    ("scan-exp-f2", [*SCAN, "--width", "16", "--loss-expr", "exp(f**2)", "--json"], 0),
    ("thresholds-1e308", ["thresholds", "uv", "--loss-expr", "1e308*f**2"], 2),
    ("thresholds-1e-400", ["thresholds", "uv", "--loss-expr", "f**2/1e-400"], 2),
    ("tower", ["derive", "uv", "--loss-expr", "f**2 + 10**10**10"], 2),
    ("big-power", ["derive", "uv", "--loss-expr", "(f + 1)**5000"], 2),
    ("power-in-exponent", ["derive", "uv", "--loss-expr", "f**2 + (9**99)**(9**99)"], 2),
    ("factorial", ["derive", "uv", "--loss-expr", "factorial(10**9)*f**2"], 2),
    ("empty-loss", ["derive", "uv", "--loss-expr", ""], 2),
    ("blank-loss", ["derive", "uv", "--loss-expr", "   "], 2),
    # nan / inf where a number is promised
    ("thresholds-cbrt", ["thresholds", "uv", "--loss-expr", "f**(1/3)", "--json"], 0),
    ("thresholds-log", ["thresholds", "uv", "--loss-expr", "log(f)", "--json"], 0),
    ("thresholds-inverse", ["thresholds", "uv", "--loss-expr", "1/f", "--json"], 0),
    ("thresholds-sqrt", ["thresholds", "uv", "--loss-expr", "sqrt(f)", "--json"], 0),
    ("samples-symmetric", ["run", "uv", "--samples", "2", "--dim", "1", "--data", "{d}/sym.csv", "--eta-lam0", "1",
                           *FAST, "--json"], 0),
    ("samples-symmetric-text", ["run", "uv", "--samples", "2", "--dim", "1", "--data", "{d}/sym.csv",
                                "--eta-lam0", "1", *FAST], 0),
    ("widths-one", [*SCAN, "--widths", "1"], 2),
    ("widths-same", [*SCAN, "--widths", "4", "4"], 2),
    # hangs: refused up front with the limit named
    ("dps-huge", [*RUN[:4], "--width", "4", "--dps", "1000000"], 2),
    ("scan-dps-5", [*SCAN[:-4], "--dps", "5"], 2),
    ("rtol-1e-20", [*SCAN[:-2], "--rtol", "1e-20"], 2),
    ("rtol-vs-dps", [*SCAN[:-2], "--rtol", "1e-9"], 2),
    ("rtol-2", [*SCAN[:-2], "--rtol", "2"], 2),
    ("derive-deep-10", ["derive", "deep", "--depth", "10"], 2),
    ("derive-deep-100", ["derive", "deep", "--depth", "100"], 2),
    ("thresholds-deep-100", ["thresholds", "deep", "--depth", "100"], 2),
    ("symbolic-8x8", ["derive", "uv", "--samples", "8", "--dim", "8"], 2),
    ("samples-1e6", ["run", "uv", "--samples", "1000000", "--dim", "2", "--eta-lam0", "1", "--width", "4"], 2),
    ("dim-1e6", ["run", "uv", "--samples", "2", "--dim", "1000000", "--eta-lam0", "1", "--width", "4"], 2),
    ("width-1e7", ["run", "uv", "--eta-lam0", "1", "--width", "10000000"], 2),
    ("work-budget", ["run", "uv", "--eta-lam0", "1", "--width", "100000", "--steps", "100000"], 2),
    ("scan-work-budget", ["scan", "uv", "--width", "100000"], 2),
    ("band-restarts-1e6", ["thresholds", "deep", "--depth", "3", "--band-restarts", "1000000"], 2),
    ("band-restarts-7", ["thresholds", "deep", "--depth", "3", "--band-restarts", "7"], 2),
    ("z-many", ["derive", "uv", "--loss", "logistic", "--z", *(["1"] * 2001), "--r", *(["1"] * 2001)], 2),
    # accepted silently before
    ("label-without-y", ["derive", "uv", "--loss-expr", "f**2", "--label", "3"], 2),
    ("label-with-samples", ["run", "uv", "--samples", "2", "--dim", "2", "--data-seed", "1", "--label", "3",
                            "--eta-lam0", "1", *FAST], 2),
    ("p-with-samples", ["derive", "uv", "--samples", "2", "--dim", "2", "--p", "0.5"], 2),
    ("samples-with-deep", ["derive", "deep", "--depth", "2", "--samples", "2", "--dim", "2"], 2),
    ("data-seed-with-deep", ["derive", "deep", "--depth", "2", "--data-seed", "1"], 2),
    ("data-seed-alone", ["derive", "uv", "--data-seed", "1"], 2),
    ("init-without-deep", ["derive", "uv", "--init", "gaussian"], 2),
    ("band-restarts-without-deep", ["thresholds", "uv", "--band-restarts", "1"], 2),
    ("gaussian-derive", ["derive", "deep", "--depth", "2", "--init", "gaussian"], 2),
    ("lam0-with-samples", ["thresholds", "uv", "--samples", "2", "--dim", "2", "--lam0", "2"], 2),
    ("latex-with-samples-thresholds", ["thresholds", "uv", "--samples", "2", "--dim", "2", "--latex"], 2),
    ("latex-deep-thresholds", ["thresholds", "deep", "--depth", "2", "--latex"], 2),
    ("latex-deep-derive", ["derive", "deep", "--depth", "2", "--latex"], 0),
    ("p-0.9999", ["derive", "uv", "--loss", "logistic", "--p", "0.9999"], 2),
    ("p-0.0001", ["derive", "uv", "--loss", "logistic", "--p", "0.0001"], 2),
    ("unknown-model", ["derive", "mlp"], 2),
    ("no-args", [], 2),
    # user model files (issue 10)
    ("model-file-missing", ["derive", "--model-file", "{d}/nope.toml"], 2),
    ("model-file-directory", ["derive", "--model-file", "{d}"], 2),
    ("model-file-dev-zero", ["derive", "--model-file", "/dev/zero"], 2),
    ("model-file-not-toml", ["derive", "--model-file", "{d}/m_bad.toml"], 2),
    ("model-file-too-large", ["thresholds", "--model-file", "{d}/m_big.toml", "--json"], 2),
    ("model-file-reserved-name", ["derive", "--model-file", "{d}/m_reserved.toml"], 2),
    ("model-file-chain-scaling", ["derive", "--model-file", "{d}/m_chain.toml"], 2),
    ("model-file-and-model", ["derive", "uv", "--model-file", "{d}/m_ok.toml"], 2),
    ("model-file-with-only", ["verify", "--model-file", "{d}/m_ok.toml", "--only", "a"], 2),
    ("model-file-with-samples", ["run", "--model-file", "{d}/m_ok.toml", "--samples", "2", "--dim", "2",
                                 "--eta-lam0", "1", *FAST], 2),
    ("model-file-with-depth", ["derive", "--model-file", "{d}/m_ok.toml", "--depth", "2"], 2),
    ("model-file-with-init", ["run", "--model-file", "{d}/m_ok.toml", "--init", "gaussian", "--eta-lam0", "1",
                              *FAST], 2),
    ("model-file-named-deep", ["derive", "--model-file", "{d}/m_deep.toml", "--json"], 0),
    ("model-file-named-deep-run", ["run", "--model-file", "{d}/m_deep.toml", "--eta-lam0", "1", *FAST, "--json"], 0),
    ("model-file-constant-run", ["run", "--model-file", "{d}/m_const.toml", "--eta", "1", *FAST, "--json"], 0),
    ("model-file-constant-eta-lam0", ["run", "--model-file", "{d}/m_const.toml", "--eta-lam0", "1", *FAST], 2),
    ("model-file-constant-thresholds", ["thresholds", "--model-file", "{d}/m_const.toml", "--json"], 0),
    ("model-file-2-to-the-x", ["run", "--model-file", "{d}/m_rpow.toml", "--eta-lam0", "1", *FAST, "--json"], 0),
    ("model-file-gram-named-exp", ["run", "--model-file", "{d}/m_shadow.toml", "--eta-lam0", "1", *FAST, "--json"],
     0),
    # f = sqrt(u.v): u.v < 0 at init (exit 2) or after some step (nan: reported as divergent) -- within the contract
    ("model-file-sqrt-negative", ["run", "--model-file", "{d}/m_sqrt.toml", "--eta-lam0", "1", *FAST, "--json"], None),
    ("model-file-work-budget", ["run", "--model-file", "{d}/m_ok.toml", "--eta-lam0", "1", "--width", "100000",
                                "--steps", "100000"], 2),
]

INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w').write('x')",
    "exec(\"open('pwned','w')\")",
    "eval(\"__import__('os').system('touch pwned')\")",
    "getattr(__import__('os'), 'system')('touch pwned')",
    "f + __builtins__.__import__('os').system('touch pwned')",
    "(lambda: __import__('os').system('touch pwned'))()",
    "f.__class__.__mro__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "f**2; __import__('os').system('touch pwned')",
]


@pytest.mark.parametrize("name,argv,expect", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_invocation_keeps_the_contract(name, argv, expect, data_dir):
    argv = [a.replace("{d}", str(data_dir)) for a in argv]
    code, out, err = call(argv)
    assert_contract(argv, code, out, err)
    if expect is not None:
        assert code == expect, f"{name}: exit {code}\n{out[:500]}\n{err}"


@pytest.mark.parametrize("option", ["--loss-expr", "--label", "--p", "--depth"])
@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
def test_no_user_string_is_executed(option, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = {"--loss-expr": ["derive", "uv", "--loss-expr", text],
            "--label": ["derive", "uv", "--label", text],
            "--p": ["derive", "uv", "--loss", "logistic", "--p", text],
            "--depth": ["derive", "deep", "--depth", text]}[option]
    code, out, err = call(argv)
    assert_contract(argv, code, out, err)
    assert code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
def test_no_model_file_output_is_executed(text, tmp_path_factory, monkeypatch):
    src = tmp_path_factory.mktemp("inject")
    path = src / "m.toml"
    path.write_text(f"output = {json.dumps(text)}\n[parameters]\nu = \"vector\"\n")  # a JSON string is TOML
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    for argv in (["derive", "--model-file", str(path)], ["run", "--model-file", str(path), "--eta", "1", *FAST]):
        code, out, err = call(argv)
        assert_contract(argv, code, out, err)
        assert code == 2
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in src.iterdir()) == ["m.toml"]


# ---- regressions with a specific fact to check -------------------------------------------------------------

def test_divergence_scale_of_a_singular_loss_is_null_with_a_reason():
    # 1/f: l' = -1/f**2 is unbounded near 0, so there is no finite sup |l'| (was "zoo")
    d = assert_contract(["thresholds", "uv", "--loss-expr", "1/f", "--json"],
                        *call(["thresholds", "uv", "--loss-expr", "1/f", "--json"]))
    assert d["thresholds"]["divergence_scale"]["value"] is None and d["reasons"]["divergence_scale"]
    assert d["labels"]["divergence_scale"] == "not derived"


def test_tiny_lam0_gives_the_exact_thresholds():
    # eta_crit = 2/lam0 and eta_max = 4/lam0 (Lewkowycz et al.) at lam0 = 1e-300 (was a TypeError: 1e-300 -> 0)
    argv = ["thresholds", "uv", "--lam0", "1e-300", "--json"]
    d = assert_contract(argv, *call(argv))
    assert d["values"] == {"eta_crit": 2e300, "eta_max": 4e300}


def test_p_close_to_0_and_to_1_are_treated_alike():
    # 0.9999 was rounded to 1 (separable data, silently) while 0.0001 was refused
    a, b = call(["derive", "uv", "--loss", "logistic", "--p", "0.9999"]), call(
        ["derive", "uv", "--loss", "logistic", "--p", "0.0001"])
    assert a[0] == b[0] == 2 and "10000 points" in a[2] and "10000 points" in b[2]


def test_label_equal_to_f0_gives_a_null_ratio_with_a_reason():
    from catapult.numerics.backends import get_backend
    from catapult.numerics.losses import squared
    from catapult.numerics.models import UVModel
    B = get_backend("arb", 200)
    with B.context():
        m = UVModel(4, seed=0)
        man, exp = B.to_mpf(m.evaluate(m.init(B), B, squared().bind(B)).f).man_exp  # dyadic init, sqrt(4) = 2
    f0 = Fraction(int(man)) * Fraction(2) ** int(exp)
    argv = ["run", "uv", "--eta-lam0", "1", *FAST[:-1], "50", "--label", f"{f0.numerator}/{f0.denominator}", "--json"]
    d = assert_contract(argv, *call(argv))
    assert d["loss0"] == 0.0            # the run starts at the minimum (f0 = y)
    assert d["loss_peak_ratio"] is None and "loss0 = 0" in d["null_reasons"]["loss_peak_ratio"]


def test_symmetric_samples_give_a_null_mode_growth(data_dir):
    # rows x = 1 and x = -1 with labels 0: Theta = [[a, -a], [-a, a]] has the eigenvector (1, 1)/sqrt2 with
    # eigenvalue 0, and f_a = c x_a keeps the residual orthogonal to it: its growth 0/0 is undefined (was +inf)
    argv = ["run", "uv", "--samples", "2", "--dim", "1", "--data", f"{data_dir}/sym.csv", "--eta-lam0", "1",
            *FAST, "--json"]
    d = assert_contract(argv, *call(argv))
    assert d["ntk_eigs_initial"][1] == pytest.approx(0, abs=1e-8)
    assert d["mode_growth"][1] is None and d["mode_growth"][0] is not None
    assert "mode_growth" in d["null_reasons"]


def test_divergence_law_over_two_widths_is_strict_json_with_a_null_stderr():
    argv = [*SCAN[:3], "8", *SCAN[4:], "--widths", "8", "16", "--json"]
    d = assert_contract(argv, *call(argv))
    law = d["divergence_law"]
    assert law["stderr"] is None and law["reasons"]["stderr"] and law["widths"] == [8, 16]
    code, out, err = call(argv[:-1])
    assert_contract(argv[:-1], code, out, err)
    assert code == 0 and "no error estimate" in out


def test_float64_overflow_is_a_divergence_verdict_not_a_crash():
    # exp(f**2) in float64: (1e200)**2 raises OverflowError in Python arithmetic; GD diverged, which is a verdict
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.numerics.models import UVModel
    from catapult.theory import Loss
    from catapult.verify.bridge import numeric_loss
    tr = run_gd(UVModel(16, 0), numeric_loss(Loss.parse("exp(f**2)")), eta_lam0=50.0, steps=200,
                backend=get_backend("float64"), record=False)
    assert tr.stop in ("nonfinite", "runaway")


def test_derive_deep_latex_is_latex_of_the_map():
    code, out, err = call(["derive", "deep", "--depth", "2", "--latex"])
    assert code == 0 and out.startswith("\\begin{aligned}") and "\\eta" in out and "&=" in out


# ---- fuzz ------------------------------------------------------------------------------------------------

_BAD_NUM = st.one_of(st.sampled_from(["1/0", "inf", "-inf", "nan", "1e400", "1e-400", "abc", "", "0x10", "1_000",
                                      "True", "-0", "1e-300", "__import__('os')"]),
                     st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr))
_GOOD_NUM = st.one_of(st.sampled_from(["0", "1", "-1", "1/2", "1/3", "0.7", "2", "-3/4"]),
                      st.fractions(min_value=-4, max_value=4, max_denominator=8).map(str))
_GOOD_EXPR = ["(f-1)**2/2", "f**2/2", "f**4/4 + f**2/2", "(f - y)**2/2", "cosh(f)", "log(1 + exp(-f))", "exp(-f)",
              "f**2/2 + f**3/3", "(f - y)**2/2 + (f - y)**4"]
_BAD_EXPR = ["exp(f**2)", "log(f)", "1/f", "f**(1/3)", "sqrt(f)", "f", "2", "", "f**2 + q", "f**", "besselj(0, f)",
             "f**2 + 10**10**10", "abs(f)", "f*sin(f)", "I*f**2", "oo*f", "zoo", "f**2/1e-400", "f**2 + p",
             "__import__('os').system('touch pwned')"]


def pick(draw, good, bad):
    """Mostly a sane value (so that exit-0 paths are exercised too), sometimes a hostile one."""
    as_st = (lambda v: v if isinstance(v, st.SearchStrategy) else st.sampled_from(v))
    return draw(as_st(bad)) if draw(st.integers(0, 7)) == 0 else draw(as_st(good))


@st.composite
def invocations(draw):
    cmd = draw(st.sampled_from(["derive", "thresholds", "run", "scan"]))
    model = pick(draw, ["uv", "uv", "deep"], ["mlp", "UV", ""])
    argv = [cmd, model]
    if model == "deep" or draw(st.integers(0, 9)) == 0:
        argv += ["--depth", pick(draw, ["2", "3"] if cmd != "thresholds" else ["2"],
                                 ["1", "2.5", "inf", "x", "13", "-2", "1e400"])]
    if cmd == "thresholds" and model == "deep":
        argv += ["--band-restarts", "0"]
    if model == "deep" and draw(st.integers(0, 5)) == 0:
        argv += ["--init", draw(st.sampled_from(["gaussian", "isometric", "orthogonal"]))]
    kind = draw(st.sampled_from(["none", "mse", "label", "expr", "expr+label", "logistic-p", "logistic-sep",
                                 "logistic-zr", "samples"]))
    if kind == "mse":
        argv += ["--loss", "mse"]
    elif kind == "label":
        argv += ["--label", pick(draw, _GOOD_NUM, _BAD_NUM)]
    elif kind in ("expr", "expr+label"):
        argv += ["--loss-expr", pick(draw, _GOOD_EXPR, _BAD_EXPR)]
        if kind == "expr+label":
            argv += ["--label", pick(draw, _GOOD_NUM, _BAD_NUM)]
    elif kind == "logistic-p":
        argv += ["--loss", "logistic", "--p", pick(draw, ["1/2", "0.7", "1/3", "3/4"], _BAD_NUM)]
    elif kind == "logistic-sep":
        argv += ["--loss", "logistic", "--separable"]
    elif kind == "logistic-zr":
        k = draw(st.integers(1, 3))
        argv += ["--loss", "logistic", "--z", *[pick(draw, ["1", "-1"], ["0", "2", "1/2"]) for _ in range(k)],
                 "--r", *[pick(draw, ["1", "2", "1/2"], _BAD_NUM) for _ in range(k + (draw(st.integers(0, 5)) == 0))]]
    elif kind == "samples":
        m, d = draw(st.integers(1, 2)), draw(st.integers(1, 3))
        argv += ["--samples", pick(draw, [str(m)], ["0", "-1", "x", "100000"]), "--dim", str(d)]
        if cmd in ("run", "scan") or draw(st.booleans()):
            argv += ["--data-seed", pick(draw, ["0", "1", "2"], ["-1", "x"])]
    if cmd in ("run", "scan"):
        argv += ["--width", pick(draw, ["1", "2", "4"], ["0", "-3", "1e3", "x", "10000000"])]
        argv += ["--steps", pick(draw, ["5", "20"] if cmd == "run" else ["5", "10"], ["0", "-1", "x"])]
        argv += ["--dps", pick(draw, ["10", "15"], ["5", "3000", "x"])]
        argv += ["--seed", pick(draw, ["0", "1"], ["-1", "x"])]
        if cmd == "run":
            which = pick(draw, ["--eta-lam0", "--eta-lam0", "--eta"], ["both", "neither"])
            if which in ("--eta-lam0", "both"):
                argv += ["--eta-lam0", pick(draw, ["1", "2.5", "5", "1/2"], ["0", "-1", "nan", "1e400", "1e-320"])]
            if which in ("--eta", "both"):
                argv += ["--eta", pick(draw, ["1", "0.5"], ["0", "inf"])]
            if draw(st.integers(0, 5)) == 0:
                argv += ["--trace", pick(draw, ["1", "3"], ["-1", "x"])]
        else:
            argv += ["--rtol", pick(draw, ["1e-2"], ["1e-20", "2", "0", "nan"])]
            if draw(st.integers(0, 5)) == 0:
                argv += ["--widths", *pick(draw, [["2", "4"]], [["2"], ["2", "2"], ["0", "2"]])]
    if cmd == "thresholds" and draw(st.booleans()):
        argv += ["--lam0", pick(draw, ["2", "1/2", "1e-300"], ["0", "-1", "nan", "inf", "5e-324", "x"])]
    if cmd in ("derive", "thresholds"):
        argv += pick(draw, [[], ["--json"], ["--latex"]], [["--json", "--latex"], ["--jsn"]])
    else:
        argv += pick(draw, [[], ["--json"]], [["--latex"]])
    return argv


@settings(max_examples=40, **SETTINGS)
@given(argv=invocations())
def test_fuzzed_invocations_keep_the_contract(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = call(argv)
    assert_contract(argv, code, out, err)


# ---- subprocess: real exit statuses and Ctrl-C -----------------------------------------------------------

_ENTRY = "import sys; from catapult.verify.cli import main; print('ready', flush=True); sys.exit(main(sys.argv[1:]))"


def _spawn(argv):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", _ENTRY, *argv], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_bad_input_exit_status_2_and_one_line_in_a_real_process():
    p = _spawn(["derive", "uv", "--loss", "logistic", "--p", "1/0"])
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2 and err.strip().splitlines() == ["catapult: error: --p: division by zero in '1/0'"]


def _wait_for_cpu(pid, seconds):
    """Wait until process ``pid`` has used ``seconds`` more CPU time (or, without /proc, that much wall time)."""
    import time
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        time.sleep(seconds)
        return

    def cpu():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    start = cpu()
    for _ in range(6000):  # at most ~10 minutes of wall time
        if cpu() - start >= seconds:
            return
        time.sleep(0.1)


def test_ctrl_c_gives_one_line_and_exit_130():
    # a slow lazy run (~16 s unloaded: 5000 arb steps at 100 and 200 digits), so the signal lands inside main
    p = _spawn(["run", "uv", "--width", "1024", "--steps", "5000", "--dps", "100", "--eta-lam0", "0.001"])
    try:
        assert p.stdout.readline().strip() == "ready"
        _wait_for_cpu(p.pid, 1.0)  # well inside main (CPU time, so a loaded machine does not make this racy)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, (p.returncode, err[-3000:])
    assert err.strip().splitlines() == ["catapult: interrupted"], err[-3000:]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_is_one_line_and_exit_2():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    entry = "import sys; from catapult.verify.cli import main; sys.exit(main(sys.argv[1:]))"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-c", entry, "derive", "uv", "--json"], cwd=ROOT, env=env, text=True,
                           stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert p.stderr.startswith("catapult: error: ")
