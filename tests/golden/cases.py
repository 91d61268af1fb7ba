"""The CLI contract captured as golden JSON files (issue 10: capture before moving code).

Each case is the argument list of one ``catapult ... --json`` command.  Regenerate (only when a change of the
contract is intended, and say so in the commit message) with ``python tests/golden/cases.py``.
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = {
    "derive_uv_mse": ["derive", "uv", "--loss", "mse"],
    "derive_uv_logistic": ["derive", "uv", "--loss", "logistic", "--p", "7/10"],
    "derive_uv_expr": ["derive", "uv", "--loss-expr", "log(cosh(f-1))"],
    "derive_deep2": ["derive", "deep", "--depth", "2"],
    "derive_deep3": ["derive", "deep", "--depth", "3"],
    "derive_deep4": ["derive", "deep", "--depth", "4"],
    "derive_samples": ["derive", "uv", "--samples", "2", "--dim", "2", "--data-seed", "0"],
    "thresholds_uv_mse": ["thresholds", "uv", "--loss", "mse"],
    "thresholds_uv_logistic": ["thresholds", "uv", "--loss", "logistic", "--p", "7/10"],
    "thresholds_uv_expr": ["thresholds", "uv", "--loss-expr", "log(cosh(f-1))"],
    "thresholds_deep2": ["thresholds", "deep", "--depth", "2"],
    "thresholds_deep3": ["thresholds", "deep", "--depth", "3"],
    "thresholds_deep4": ["thresholds", "deep", "--depth", "4"],
    "thresholds_samples": ["thresholds", "uv", "--samples", "2", "--dim", "2", "--data-seed", "0"],
    "run_uv_mse": ["run", "uv", "--eta-lam0", "3", "--width", "256", "--dps", "50", "--seed", "1"],
    "run_uv_logistic": ["run", "uv", "--loss", "logistic", "--p", "7/10", "--eta-lam0", "3", "--width", "256",
                        "--seed", "1"],
    "scan_uv": ["scan", "uv", "--width", "256"],
    "scan_deep3": ["scan", "deep", "--depth", "3", "--width", "16"],
    "verify": ["verify"],
}

# wall-clock fields: never compared
VOLATILE = {"seconds", "wall_seconds", "elapsed"}


def catapult_command():
    """The installed console script next to this interpreter (namespace-independent)."""
    exe = os.path.join(os.path.dirname(sys.executable), "catapult")
    return [exe] if os.path.exists(exe) else [shutil.which("catapult")]


def run_case(name):
    out = subprocess.run(catapult_command() + CASES[name] + ["--json"], capture_output=True, text=True,
                         timeout=600)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"{name}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def path(name):
    return os.path.join(HERE, name + ".json")


if __name__ == "__main__":
    for name in sys.argv[1:] or CASES:
        with open(path(name), "w") as fh:
            json.dump(run_case(name), fh, indent=1, sort_keys=True)
            fh.write("\n")
        print("wrote", path(name))
