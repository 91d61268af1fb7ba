"""The research scripts in studies/ still run against the installed package (smallest arguments, seconds each).

Each is started as ``python studies/<study>/<script>.py ...`` in a subprocess (nothing here imports studies/);
a study's own checks (its docstring examples) run with ``python -m pytest studies/<study>``.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, *args):
    path = os.path.join(ROOT, "studies", script)
    assert os.path.isfile(path), path
    p = subprocess.run([sys.executable, path, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_deep_band(tmp_path):
    out = tmp_path / "band.json"
    md = _run("deep_band/band.py", "3", "--per-decade", "1", "--lo", "2", "--hi", "3", "--no-refine",
              "--no-asymptotic", "--json", str(out))
    assert "### L = 3" in md and "| 100 | 5.19276" in md
    rows = json.loads(out.read_text())["rows"]
    assert [r["n"] for r in rows] == [100.0, 1000.0] and rows[0]["first"]["precisions"] == ["float64", "mp30", "mp60"]


def test_deep_limit():
    md = _run("deep_limit/limit.py", "3", "--restarts", "1", "--levels", "0")
    row = [line for line in md.splitlines() if line.startswith("| 3 |")]
    assert len(row) == 1 and "float64+mp30" in row[0]


def test_deep_limit_random_restarts():
    assert _run("deep_limit/limit.py", "2", "--random", "1", "--which", "hi").startswith("L=2: best x_hi >= 4.0000000")


def test_deep_tables(tmp_path):
    out = tmp_path / "tables.md"
    md = _run("deep_tables/tables.py", "--quick", "--only", "iso", "--depths", "2", "--out", str(out))
    assert out.read_text().strip() == md.strip()
    assert "Produced by `python studies/deep_tables/tables.py --quick" in md
    assert any(line.startswith("| 2 | 64 | 3.99999") for line in md.splitlines())
