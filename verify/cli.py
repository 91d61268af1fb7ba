"""The ``catapult`` command line: derive, thresholds, run, scan, plot, verify.

Every printed statement is labelled exact, leading order in 1/n, or measured.
Bad input gives one line on stderr and exit status 2; ``verify`` exits 1 on any FAIL.

Examples
========
>>> import sys
>>> main(["thresholds", "uv", "--loss", "mse", "--json"])  # doctest: +ELLIPSIS
{"assumptions": [...], "details": {}, "eta_crit": "2/lam0", "eta_max": "4/lam0", ...}
0
>>> main(["run", "uv", "--eta", "-1", "--width", "8"], err=sys.stdout)
catapult: error: argument --eta: --eta must be a finite number > 0, got -1
2
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import sys
import time
from fractions import Fraction

import mpmath
import sympy as sp

from catapult.numerics.errors import NumericsInputError
from catapult.theory.errors import TheoryInputError
from .executor import SchedulerError


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


# Limits on the work a command line may ask for: refused up front, with the limit named in the message.
#: most digits of a high-precision run (cost and memory grow like dps^1.6 per operation)
MAX_DPS = 2000
#: fewest digits for ``scan`` (its rise test needs a rounding level 10^(3 - dps) well below the loss changes)
MIN_SCAN_DPS = 10
#: smallest --rtol: the first rung of the bisection runs in float64 (53 bits)
MIN_RTOL = 1e-12
#: deepest network whose reduced map ``derive``/``thresholds`` derive symbolically (L = 6: ~4 s, cost x3 per layer)
MAX_SYMBOLIC_DEPTH = 8
#: largest m*d for a symbolic many-sample map (m = d = 4: ~7 s; 5 x 5 does not finish in minutes)
MAX_SYMBOLIC_SAMPLES = 16
#: widest network a numeric run may build
MAX_WIDTH = 10 ** 6
#: most samples m times input dimension d for numeric runs
MAX_SAMPLE_ENTRIES = 10 ** 4
# The budget of one command (MAX_WORK: size * steps * (dps + 50) units, ~6e-8 s each on one core: about 10
# minutes) is catapult.verify.problems'; the data limits (MAX_DATA_BYTES, MAX_DATA_ROWS, and MAX_ABS_VALUE, the
# largest magnitude of a label, a magnitude r_i or a data entry) are catapult.verify.data's.
from .data import MAX_ABS_VALUE, MAX_DATA_ROWS, read_table  # noqa: E402


def _number(text, name, *, positive=False, integer=False, low=None, max_abs=MAX_ABS_VALUE):
    """An exact rational from a command-line number ('3', '-0.25', '1/3', '1e-3'); UsageError otherwise.

    >>> _number("1/3", "--label")
    Fraction(1, 3)
    >>> _number("1/0", "--label")
    Traceback (most recent call last):
    ...
    catapult.verify.cli.UsageError: --label: division by zero in '1/0'
    >>> _number("1e7", "--r")
    Traceback (most recent call last):
    ...
    catapult.verify.cli.UsageError: --r must have magnitude <= 1000000 (limit MAX_ABS_VALUE for labels and data), got 1e7
    """
    from catapult.theory.parse import parse_number
    try:
        r = parse_number(str(text).strip(), name)   # decimal or a/b, exact; never executed
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    q = Fraction(int(r.p), int(r.q))
    if max_abs is not None and abs(q) > max_abs:
        why = " (limit MAX_ABS_VALUE for labels and data)" if max_abs == MAX_ABS_VALUE else ""
        raise UsageError(f"{name} must have magnitude <= {max_abs}{why}, got {text}")
    if integer and q.denominator != 1:
        raise UsageError(f"{name} must be an integer, got {text}")
    if positive and not q > 0:
        raise UsageError(f"{name} must be > 0, got {text}")
    if low is not None and q < low:
        raise UsageError(f"{name} must be >= {low}, got {text}")
    return q


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive_float(name):
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not (v > 0 and math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text}")
        return v
    return conv


def _int_at_least(name, low, high=None, why=""):
    def conv(text):
        try:
            v = int(text) if len(text) <= 30 else None
        except ValueError:
            v = None
        if v is None:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text}")
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(f"{name} must be <= {high}{why}, got {text}")
        return v
    return conv


def _trace_arg(text):
    """``--trace``: an integer K >= 0 (print every K-th step) or a file ending in .csv / .jsonl."""
    if text.lstrip("+-").isdigit():
        return _int_at_least("--trace", 0)(text)
    from .trajectory import suffix
    try:
        suffix(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--trace takes an integer K or a FILE ending in .csv or .jsonl, got "
                                         f"{text!r}") from None
    return text


def _table_arg(text):
    """``--table FILE``: tidy data written to a file ending in .csv or .jsonl."""
    from .trajectory import suffix
    try:
        suffix(text)   # the writer's own test (a bare '.csv' is a name without a suffix)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--table takes a FILE ending in .csv or .jsonl, got {text!r}") from None
    return text


def _write_table(df, path):
    """Write a tidy table to ``path`` (CSV or JSON lines by its suffix); an OSError is bad input."""
    from .trajectory import write
    try:
        write(df, path)
    except OSError as exc:
        raise UsageError(f"cannot write --table {path}: {exc.strerror or exc}") from None


def _check_writable(path, name):
    """Refuse, before any run, an output path whose directory is missing or not writable, or that is a directory."""
    import os
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{name} {path} is a directory")
    if not os.path.isdir(parent):
        raise UsageError(f"cannot write {name} {path}: no directory {parent}")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {name} {path}: permission denied")


def _band_restarts_max():
    from .deep_limit import RESTARTS
    return len(RESTARTS)


def _add_loss(p, numeric=False):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--loss", choices=["mse", "logistic"], default=None, help="named loss (default mse)")
    g.add_argument("--loss-expr", metavar="EXPR", help="any twice-differentiable loss in the symbol f, e.g. 'log(cosh(f-1))'")
    p.add_argument("--label", default=None, metavar="Y",
                   help="regression label for mse (a number; 'y' keeps it symbolic%s)" %
                        ("" if not numeric else "; numeric runs need a number"))
    lg = p.add_argument_group("logistic loss on degenerate data (with --loss logistic)")
    src = lg.add_mutually_exclusive_group()
    src.add_argument("--p", metavar="P", help="equal magnitudes, a fraction P in (0, 1) of margins +1"
                     + ("" if numeric else "; 'p' keeps it symbolic"))
    src.add_argument("--separable", action="store_true", help="separable data (all margins +1, equal magnitudes)")
    src.add_argument("--z", nargs="+", metavar="Z", help="margins z_i = y_i s_i in {+1, -1} (with --r)")
    src.add_argument("--data", metavar="FILE", help="degenerate data: two columns z r (CSV/whitespace or .npy)")
    lg.add_argument("--r", nargs="+", metavar="R", help="magnitudes r_i > 0 (with --z)")
    dg = p.add_argument_group("deep linear networks (model 'deep')")
    dg.add_argument("--depth", metavar="L", help="depth L >= 2 (L = 2 is the uv model)")
    dg.add_argument("--init", choices=["isometric", "gaussian"], default=None,
                    help="hidden-layer init (default isometric: exact reduced map)")
    sg = p.add_argument_group("many samples in dimension d (squared loss unless --loss-expr in f and y)")
    sg.add_argument("--samples", type=_int_at_least("--samples", 1, MAX_SAMPLE_ENTRIES, " (limit MAX_SAMPLE_ENTRIES)"),
                    metavar="M", help="number of samples m")
    sg.add_argument("--dim", type=_int_at_least("--dim", 1, MAX_SAMPLE_ENTRIES, " (limit MAX_SAMPLE_ENTRIES)"),
                    metavar="D", help="input dimension d")
    sg.add_argument("--data-seed", type=_int_at_least("--data-seed", 0, 2 ** 63), default=None, metavar="S",
                    help="seeded random dyadic data X (m x d), labels Y" + ("" if numeric else " (default: symbolic data)"))


def _scan_parser(sub):
    """``catapult scan``: the measured thresholds of one problem (and --widths, --certified)."""
    s = sub.add_parser("scan", help="measured thresholds, each under its criterion: loss-rise onset, linear stability "
                                          "threshold of the minimum, divergence onset at width n")
    s.add_argument("model", nargs="?", default=None, help="uv or deep (or give --model-file)")
    _add_model_file(s)
    s.add_argument("--width", type=_int_at_least("--width", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), required=True)
    s.add_argument("--dps", type=_int_at_least("--dps", MIN_SCAN_DPS, MAX_DPS // 4,
                                               " (limit MAX_DPS/4: the ladder goes up to 4*dps)"), default=50)
    s.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 63), default=0)
    s.add_argument("--rtol", type=_positive_float("--rtol"), default=1e-6)
    s.add_argument("--steps", type=_int_at_least("--steps", 1), default=2000, help="horizon of each run")
    s.add_argument("--widths", type=_int_at_least("--widths", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), nargs="+",
                   help="also locate the divergence threshold at these widths and fit eta_div ~ n^a")
    s.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 256), default=None, metavar="N",
                   help="--widths: local processes (default: the machine's cores)")
    s.add_argument("--scheduler", metavar="ADDRESS", help="--widths: run the widths on this Dask scheduler")
    s.add_argument("--journal", metavar="FILE",
                   help="--widths: append each width's threshold to FILE (JSON lines); a rerun skips those done")
    s.add_argument("--table", type=_table_arg, metavar="FILE",
                   help="also write the thresholds as tidy data (.csv or .jsonl: one row per criterion and width)")
    _add_json_certified_quiet_loss(s, "a proven divergence-threshold bracket of the derived reduced map: the lower end "
                                      "proven convergent, the upper proven divergent (deep: the runaway bound), each "
                                      "with its lemma")


def build_parser():
    from importlib.metadata import version
    p = _Parser(prog="catapult", description="Derive and verify the catapult phase of gradient descent.")
    p.add_argument("--version", action="version", version=f"catapult {version('catapult')}")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    _symbolic_command(sub, "derive", "derive the exact one-step function-space map (exact)")
    t = _symbolic_command(sub, "thresholds", "derive eta_crit and eta_max (leading order in 1/n)")
    t.add_argument("--lam0", type=_positive_float("--lam0"), help="evaluate at this initial NTK")
    t.add_argument("--band-restarts", type=_int_at_least("--band-restarts", 0), default=None, metavar="R",
                   help="deep, L >= 3: grid restarts for the divergence band of the n -> oo limit (default 2; 0: skip)")

    r = sub.add_parser("run", help="parameter GD at high precision and its phase verdict (measured)")
    r.add_argument("model", nargs="?", default=None, help="uv or deep (or give --model-file)")
    _add_model_file(r)
    r.add_argument("--eta", type=_positive_float("--eta"), help="learning rate")
    r.add_argument("--eta-lam0", type=_positive_float("--eta-lam0"), 
                   help="learning rate as a multiple of 1/lam0 (with --samples: of 1/lam_max(Theta0), "
                        "Theta = J J^T/m)")
    r.add_argument("--width", type=_int_at_least("--width", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), required=True)
    r.add_argument("--steps", type=_int_at_least("--steps", 1), default=5000)
    r.add_argument("--dps", type=_int_at_least("--dps", 5, MAX_DPS, " (limit MAX_DPS)"), default=50)
    r.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 63), default=0)
    r.add_argument("--backend", choices=["arb", "fixed"], default="arb",
                   help="the first precision's engine: arb (default) or fixed (50-digit fixed point, numba: the fast "
                        "extra; --dps <= 50); cross-checked against arb at 2*dps")
    r.add_argument("--trace", type=_trace_arg, default=0, metavar="FILE|K",
                   help="write the trajectory as tidy data to FILE (.csv or .jsonl: step, f, lam, loss, eta_lam and "
                        "the run's metadata); or, an integer K, print every K-th step in the text report (0: none)")
    r.add_argument("--trace-rows", type=_int_at_least("--trace-rows", 0), default=2000, metavar="N",
                   help="--trace FILE: downsample to at most N rows, keeping step 0, the loss peak, the lam minimum "
                        "and the end (0: every step; default 2000)")
    _add_json_certified_quiet_loss(r, "a proven verdict of the derived reduced map (ball arithmetic from the exact eta "
                                      "and init; the lemma that proves it), plus certified parameter GD over a short "
                                      "horizon (radius growth)")

    _scan_parser(sub)

    _sweep_parser(sub)
    _plot_parser(sub)
    _report_parser(sub)
    _net_parsers(sub)

    v = sub.add_parser("verify", help="the main job: the cross-validation catalogue")
    v.add_argument("--json", action="store_true")
    v.add_argument("--full", action="store_true", help="heavier rows too")
    from .catalogue import KEYS
    v.add_argument("--only", nargs="+", choices=KEYS, help="run only these sections")
    v.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 64), default=None, metavar="N",
                   help="run sections in N processes (default: the machine's cores)")
    v.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786): run the sections there (the executor of sweep)")
    v.add_argument("--table", type=_table_arg, metavar="FILE",
                   help="also write the rows as tidy data (.csv or .jsonl: prose and numbers, one row per check)")
    v.add_argument("--verbose", "-v", action="store_true",
                   help="each row's details: the full claim, criterion, backend, digits, width")
    _add_quiet(v)
    _add_model_file(v, " (its rows only: the map vs parameter GD, and the thresholds)")
    return p


def _sweep_parser(sub):
    w = sub.add_parser("sweep", help="many parameter-GD runs over a grid -> a tidy table (CSV/Parquet), resumable, "
                                     "on local cores or a Dask cluster (measured)")
    w.add_argument("model", nargs="?", default=None, help="uv or deep (or give --model-file or --file)")
    _add_model_file(w)
    w.add_argument("--file", metavar="SWEEP.toml", help="the sweep as a file: [sweep] with inputs, lists as axes")
    w.add_argument("--width", type=_int_at_least("--width", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), nargs="+")
    x = w.add_mutually_exclusive_group()
    x.add_argument("--eta-lam0", type=_positive_float("--eta-lam0"), nargs="+", metavar="X")
    x.add_argument("--eta-lam0-range", type=_positive_float("--eta-lam0-range"), nargs=3, metavar=("START", "STOP", "NUM"),
                   help="NUM values from START to STOP, linearly")
    x.add_argument("--eta-lam0-ratio", type=_positive_float("--eta-lam0-ratio"), nargs=3,
                   metavar=("START", "STOP", "RATIO"), help="START, START*RATIO, ... up to STOP (e.g. ratio 1.0718 = 2^0.1)")
    w.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 63), nargs="+", default=[0])
    w.add_argument("--depth", type=_int_at_least("--depth", 2, 1000), nargs="+", help="model deep: its depths")
    w.add_argument("--init", choices=["isometric", "gaussian"], default=None)
    w.add_argument("--steps", type=_int_at_least("--steps", 1), default=1000)
    w.add_argument("--precision", nargs="+", default=["float64"], metavar="P",
                   help="float64, arbD, fixedD (50-digit fixed point, D <= 50: the fast extra), or two joined by '+' "
                        "to cross-check (float64+arb30, fixed50+arb100); default float64")
    g = w.add_mutually_exclusive_group()
    g.add_argument("--loss", choices=["mse", "logistic"], default=None, help="named loss (default mse)")
    g.add_argument("--loss-expr", metavar="EXPR", help="any twice-differentiable loss in f")
    w.add_argument("--p", metavar="P", nargs="+", help="logistic loss of degenerate data: the fractions P in (0, 1)")
    w.add_argument("-o", "--out", required=True, metavar="TABLE", help="the table: .csv or .parquet (resumed if it exists)")
    w.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 256), default=None, metavar="N",
                   help="local processes (default: the machine's cores)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786): run the tasks there")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.add_argument("--json", action="store_true", help="the summary as JSON")


def _net_parsers(sub):
    n = sub.add_parser("net", help="a fully connected net on real data (digits or your arrays): lam0, the verdict, "
                                   "eta*lam_final, train/test loss and accuracy (measured; needs catapult[nets])")
    s = sub.add_parser("net-sweep", help="nets over a c grid x widths x depths x activations x seeds: c_crit, c_max, "
                                         "c_blowup per architecture and seed, and a tidy table (measured)")
    for p in (n, s):
        p.add_argument("--data", default="digits", metavar="DATA", help="digits (sklearn's bundled) or a .npz/CSV file")
        p.add_argument("--task", default="even-odd", help="digits: even-odd or a pair A,B (e.g. 3,5)")
        p.add_argument("--loss", choices=["mse", "logistic"], default="mse")
        p.add_argument("--steps", type=_int_at_least("--steps", 1, 10 ** 6), default=2000)
        p.add_argument("--m", type=_int_at_least("--m", 1, 2000), default=256, help="training samples (default 256)")
        p.add_argument("--split-seed", type=_int_at_least("--split-seed", 0, 2 ** 32), default=0)
        p.add_argument("--norm", choices=["sqrt-d", "unit"], default="sqrt-d", help="each input to |x| = sqrt(d) or 1")
        p.add_argument("--bias", action="store_true", help="biases in every layer (start at 0)")
        p.add_argument("--label-noise", type=float, default=0.0, metavar="Q",
                       help="flip this fraction of the training labels (seeded by --noise-seed; test labels clean)")
        p.add_argument("--noise-seed", type=_int_at_least("--noise-seed", 0, 2 ** 32), default=0)
        p.add_argument("--json", action="store_true")
        p.add_argument("--one-precision", action="store_true",
                       help="skip the float32 rerun that checks each float64 verdict (then agreed = null)")
    n.add_argument("--activation", default="relu")
    n.add_argument("--depth", type=_int_at_least("--depth", 1, 16), default=2)
    n.add_argument("--width", type=_int_at_least("--width", 1, 65536), default=512)
    n.add_argument("--c", type=_positive_float("--c"), default=3.0, help="eta = c / lam0")
    n.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 32), default=0)
    n.add_argument("--hessian", action="store_true", help="also the top Hessian eigenvalue of the loss at init")
    n.add_argument("--plot", metavar="FILE", help="the trajectory figure (.png or .svg)")
    s.add_argument("--c-grid", type=_positive_float("--c-grid"), nargs="+", required=True, metavar="C")
    s.add_argument("--widths", type=_int_at_least("--widths", 1, 65536), nargs="+", default=[512])
    s.add_argument("--depths", type=_int_at_least("--depths", 1, 16), nargs="+", default=[2])
    s.add_argument("--activations", nargs="+", default=["relu"])
    s.add_argument("--seeds", type=_int_at_least("--seeds", 0, 2 ** 32), nargs="+", default=[0])
    s.add_argument("-o", "--out", metavar="TABLE", help="the tidy table: .csv or .parquet")
    s.add_argument("--plot", metavar="FILE", help="the sweep figure (.png or .svg): loss peak, eta*lam_final and "
                                                  "test accuracy against c, coloured by verdict")
    s.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 256), default=1, metavar="N",
                   help="run the architectures in N local processes (default 1: here, XLA uses every core)")
    s.add_argument("--vmap", action="store_true",
                   help="one vmapped batch per architecture instead of one run at a time (slower on CPU)")
    s.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786): run the architectures there")


def cmd_net(args, out):
    from .nets import run_net
    if args.plot is not None and not str(args.plot).lower().endswith((".png", ".svg")):
        raise UsageError(f"--plot {args.plot}: the suffix must be .png or .svg")
    r = run_net(args.data, args.task, activation=args.activation, depth=args.depth, width=args.width, c=args.c,
                loss=args.loss, seed=args.seed, steps=args.steps, m=args.m, split_seed=args.split_seed,
                norm=args.norm, bias=args.bias, hessian=args.hessian, check=None if args.one_precision else "float32",
                label_noise=args.label_noise, noise_seed=args.noise_seed)
    if args.plot is not None:
        from .plots import net_figure
        net_figure(r, args.plot)
    print(_dumps(r.to_json(), sort_keys=False) if args.json else str(r), file=out)
    return 0


def cmd_net_sweep(args, out):
    from .nets import net_sweep
    if args.plot is not None and not str(args.plot).lower().endswith((".png", ".svg")):
        raise UsageError(f"--plot {args.plot}: the suffix must be .png or .svg")
    r = net_sweep(args.data, args.task, activations=args.activations, depths=args.depths, widths=args.widths,
                  seeds=args.seeds, c_grid=args.c_grid, loss=args.loss, steps=args.steps, m=args.m,
                  split_seed=args.split_seed, norm=args.norm, bias=args.bias, out=args.out,
                  check=None if args.one_precision else "float32", jobs=args.jobs, scheduler=args.scheduler,
                  label_noise=args.label_noise, noise_seed=args.noise_seed, vmap=args.vmap)
    if args.plot is not None:
        from .plots import net_sweep_figure
        net_sweep_figure(r, args.plot)
    print(_dumps(r.to_json(), sort_keys=False) if args.json else str(r), file=out)
    return 0


def _report_parser(sub):
    from .catalogue import KEYS
    c = sub.add_parser("report", help="a self-contained HTML page and Markdown: derived map, thresholds, "
                                      "verification table, figures")
    c.add_argument("model", nargs="?", default=None, choices=["uv"], help="uv (default), or give --model-file")
    _add_model_file(c, " (its map, thresholds, rows and figures)")
    c.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write index.html, report.md")
    c.add_argument("--loss", choices=["mse", "logistic"], default="mse")
    c.add_argument("--p", metavar="P", default="7/10", help="with --loss logistic: the fraction of margins +1")
    c.add_argument("--only", nargs="+", choices=KEYS, help="catalogue sections of the verification table")
    c.add_argument("--no-figures", action="store_true")
    c.add_argument("--nets", metavar="TABLE", help="a net-sweep table (.csv or .parquet, from catapult net-sweep -o): "
                                                   "its thresholds table and sweep figure in the report")
    c.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 64), default=None, metavar="N")


def cmd_report(args, out):
    import os
    from catapult.theory.loss import as_loss
    from .report import report
    if args.model_file is not None and args.only:
        raise UsageError("--model-file and --only do not go together (the file's rows are its own section)")
    loss = as_loss(args.loss, args.p if args.loss == "logistic" else None)
    try:
        path = report(args.output, loss=loss, model_file=args.model_file, only=set(args.only) if args.only else None,
                      figures=not args.no_figures, jobs=args.jobs or os.cpu_count() or 1, nets=args.nets)
    except OSError as exc:
        raise UsageError(f"cannot write -o {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {path / 'index.html'} and {path / 'report.md'}", file=out)
    return 0


def _plot_parser(sub):
    """``catapult plot KIND [model] -o FILE``: the figures of catapult.verify.plots."""
    from .plots import KINDS
    c = sub.add_parser("plot", help="figures (matplotlib): " + ", ".join(KINDS) + "; PNG or SVG by the suffix of -o")
    c.add_argument("kind", choices=KINDS, help="trajectory | phase | flatness | deep | modes")
    c.add_argument("model", nargs="?", default=None, help="uv (default; deep for the kind deep) or deep (or --model-file)")
    _add_model_file(c)
    c.add_argument("-o", "--output", required=True, metavar="FILE", help="the figure file: .png or .svg")
    c.add_argument("--width", type=_int_at_least("--width", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), default=None,
                   help="width n (default 256; deep 64; phase --depths 16)")
    c.add_argument("--widths", type=_int_at_least("--widths", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), nargs="+",
                   help="phase: the rows (default 16 64 256; deep 4 16 64); deep: the widths of x*(n)")
    c.add_argument("--depths", type=_int_at_least("--depths", 2, 8), nargs="+", metavar="L",
                   help="phase, model deep: depths L as the rows, at --width")
    c.add_argument("--eta-lam0", type=_positive_float("--eta-lam0"), nargs="+", metavar="X",
                   help="trajectory: three values (default: from the derived thresholds); phase, flatness: the grid; "
                        "modes: one value, in units of the top eigenvalue of Theta_0 (default 3)")
    c.add_argument("--points", type=_int_at_least("--points", 2, 200), default=20,
                   help="phase, flatness: size of the default grid of eta*lam0 (default 20)")
    c.add_argument("--steps", type=_int_at_least("--steps", 1), default=5000)
    c.add_argument("--dps", type=_int_at_least("--dps", 10, MAX_DPS // 4, " (limit MAX_DPS/4)"), default=None,
                   help="digits of the runs (default: 50 for trajectory and modes, 30 for phase and flatness)")
    c.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 63), default=0)
    _add_loss(c, numeric=True)


def _add_json_certified_quiet_loss(p, certified_help):
    """The options ``run`` and ``scan`` end with: --json, --certified (its help), --quiet and the loss options."""
    p.add_argument("--json", action="store_true")
    p.add_argument("--certified", action="store_true", help=certified_help)
    _add_quiet(p)
    _add_loss(p, numeric=True)


def _add_quiet(p):
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (drawn only when stderr is a terminal)")


def _symbolic_command(sub, name, help_text):
    """A derive-like subcommand: the model (or --model-file), the loss, and --json | --latex."""
    c = sub.add_parser(name, help=help_text)
    c.add_argument("model", nargs="?", default=None, help="uv or deep (or give --model-file)")
    _add_model_file(c)
    _add_loss(c)
    fmt = c.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--latex", action="store_true")
    return c


def _add_model_file(p, extra=""):
    p.add_argument("--model-file", metavar="FILE", default=None,
                   help="a user model (TOML: [parameters], output, [init]; see catapult.theory.model_file)" + extra)


def _resolve_model(args):
    """Fill ``args.model`` (and ``args.model_spec``) from the positional name or ``--model-file``."""
    args.model_spec = None
    path = getattr(args, "model_file", None)
    if args.cmd in ("sweep", "report", "net", "net-sweep"):  # sweep points name the model themselves; report takes uv or the file
        return
    if args.cmd == "verify":
        if path is not None and args.only:
            raise UsageError("--model-file and --only do not go together (the file's rows are its own section)")
        if path is not None and args.scheduler is not None:
            raise UsageError("--model-file and --scheduler do not go together (a file's rows run in this process)")
        return
    if path is None:
        if args.model is None and args.cmd == "plot":
            args.model = "deep" if args.kind == "deep" else "uv"
        if args.model is None:
            raise UsageError("give a model (uv, deep) or --model-file FILE")
        return
    if args.model is not None:
        raise UsageError(f"give either the model {args.model!r} or --model-file, not both")
    from catapult.theory.model_file import load_model_file
    spec = load_model_file(path)
    if getattr(args, "samples", None) is not None or getattr(args, "dim", None) is not None:
        raise UsageError("--samples/--dim go with the model uv, not with --model-file")
    if spec.deep_depth is not None:  # the deep linear chain: the model 'deep' of that depth, isometric layers
        if args.depth is not None:
            raise UsageError(f"the model file fixes the depth ({spec.deep_depth}); drop --depth")
        args.model, args.depth, args.init = "deep", str(spec.deep_depth), "isometric"
        return
    args.model, args.model_spec = spec.name, spec


def _sample_data(args, numeric):
    """(m, d, X, Y) for the many-sample options, or None.  X, Y are None for symbolic data."""
    if args.samples is None and args.dim is None:
        return None
    if args.loss == "logistic":
        raise UsageError("--samples/--dim go with squared loss or --loss-expr, not --loss logistic")
    for opt, val in (("--p", args.p), ("--label", args.label), ("--z", args.z), ("--r", args.r)):
        if val is not None:
            raise UsageError(f"{opt} does not go with --samples/--dim (labels are the last column of --data, "
                             "or seeded by --data-seed)")
    if args.separable:
        raise UsageError("--separable does not go with --samples/--dim")
    if args.data:
        a = read_table(args.data)
        if a.shape[1] < 2:
            raise UsageError(f"--data {args.data}: need rows x_1..x_d, y (at least 2 columns)")
        X, Y = a[:, :-1], a[:, -1]
        m, d = X.shape
        if (args.samples not in (None, m)) or (args.dim not in (None, d)):
            raise UsageError(f"--data has m={m}, d={d}, which does not match --samples/--dim")
        if args.data_seed is not None:
            raise UsageError("give --data or --data-seed, not both")
    else:
        if args.samples is None or args.dim is None:
            raise UsageError("give both --samples and --dim (or --data)")
        m, d = args.samples, args.dim
        X = Y = None
    if not numeric and X is None and args.data_seed is None and m * d > MAX_SYMBOLIC_SAMPLES:
        raise UsageError(f"symbolic data with m*d = {m * d} > {MAX_SYMBOLIC_SAMPLES} (limit MAX_SYMBOLIC_SAMPLES: "
                         "4 x 4 takes ~7 s, the cost grows steeply); give --data-seed S for numeric data")
    if not numeric and m * d > 4 * MAX_SYMBOLIC_SAMPLES:
        raise UsageError(f"m*d = {m * d} > {4 * MAX_SYMBOLIC_SAMPLES} for a symbolic map "
                         "(limit 4*MAX_SYMBOLIC_SAMPLES)")
    if m * d > MAX_SAMPLE_ENTRIES:
        raise UsageError(f"m*d = {m * d} > {MAX_SAMPLE_ENTRIES} (limit MAX_SAMPLE_ENTRIES)")
    if X is not None:
        return m, d, X, Y
    if args.data_seed is None and not numeric:
        return m, d, None, None
    from .data import random_data
    X, Y = random_data(m, d, 0 if args.data_seed is None else args.data_seed)
    return m, d, X, Y


class OutputError(RuntimeError):
    """A result that cannot be written as strict JSON (a NaN or inf where a number is promised): a defect of the
    tool, reported as an internal error -- never disguised as bad input."""


def _dumps(d, default=None, sort_keys=True):
    """Strict JSON (no NaN / Infinity tokens, which non-Python readers reject)."""
    try:
        return json.dumps(d, sort_keys=sort_keys, default=default, allow_nan=False)
    except ValueError as exc:
        raise OutputError(f"non-finite number in the output ({exc})") from None


def _data_label(v):
    """A label read from a data file, exactly as the float it is (never 'recognised': nsimplify turned
    1.4142135623730951 into sqrt(2)); the same value the numeric runs use (mpf(float(v)))."""
    from catapult.theory.parse import exact_value
    return exact_value(float(v), "label", floats="binary")


def _sample_loss(args):
    from catapult.theory import Loss, mse
    return _checked_loss(Loss.parse(args.loss_expr)) if args.loss_expr is not None else mse("y")


def _data(args):
    """The degenerate data set named by the logistic options, or None."""
    from .degenerate import DegenerateData
    if getattr(args, "samples", None) is not None or getattr(args, "dim", None) is not None:
        return None
    if args.loss != "logistic":
        if args.p is not None or args.separable or args.z or args.data or args.r:
            raise UsageError("--p/--separable/--z/--r/--data go with --loss logistic (or --data with --samples)")
        if args.data_seed is not None:
            raise UsageError("--data-seed goes with --samples/--dim")
        return None
    if args.label is not None:
        raise UsageError("--label goes with mse or --loss-expr, not with --loss logistic")
    if args.data_seed is not None:
        raise UsageError("--data-seed goes with --samples/--dim")
    if args.r and not args.z:
        raise UsageError("--z and --r go together")
    if args.separable:
        return DegenerateData.equal(1)
    if args.z or args.r:
        if not (args.z and args.r):
            raise UsageError("--z and --r go together")
        if len(args.z) > MAX_DATA_ROWS:
            raise UsageError(f"more than {MAX_DATA_ROWS} points (limit MAX_DATA_ROWS)")
        z = [_number(v, "--z", integer=True) for v in args.z]
        r = [_number(v, "--r", positive=True) for v in args.r]
        return _degenerate(z, r)
    if args.data:
        a = read_table(args.data)
        if a.shape[1] != 2:
            raise UsageError(f"--data {args.data} must have two columns z, r; got {a.shape[1]}")
        return _degenerate([Fraction(float(v)) for v in a[:, 0]], [Fraction(float(v)) for v in a[:, 1]])
    if args.p is None:
        raise UsageError("--loss logistic needs --p P, --separable, --z/--r or --data")
    if args.p == "p":
        return "p"
    pv = _number(args.p, "--p")
    if not 0 < pv < 1:
        raise UsageError(f"--p must be in (0, 1) (use --separable for separable data), got {args.p}")
    try:
        return DegenerateData.equal(pv)
    except ValueError as exc:
        raise UsageError(f"--p {args.p}: {exc}") from None


def _degenerate(z, r):
    from .degenerate import DegenerateData
    for v in r:
        if v < Fraction(1, MAX_ABS_VALUE):
            raise UsageError(f"every r_i must be >= 1/{MAX_ABS_VALUE} (limit MAX_ABS_VALUE), got {float(v):g}")
    try:
        return DegenerateData(z, r)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


#: largest / smallest magnitude of a number written in a loss (SymPy stalls on 1e308*f**2; limit named in the message)
MAX_LOSS_NUMBER = 10 ** 30


def _checked_loss(loss):
    """Refuse a loss whose written numbers are astronomically large or small (named limit)."""
    for a in loss.expr.atoms(sp.Number):
        if a != 0 and not (sp.Rational(1, MAX_LOSS_NUMBER) <= abs(a) <= MAX_LOSS_NUMBER):
            raise UsageError(f"the loss contains the number {sp.N(a, 5)}, outside [1e-30, 1e30] in magnitude "
                             "(limit MAX_LOSS_NUMBER)")
    return loss


def _loss(args):
    from catapult.theory import Loss, mse
    from catapult.theory.loss import logistic
    data = _data(args)
    if data == "p":
        return logistic("p")
    if data is not None:
        return data.loss()
    if args.loss_expr is not None:  # "" is an error, not mse
        loss = _checked_loss(Loss.parse(args.loss_expr))
        if args.label is not None:
            if not loss.expr.has(sp.Symbol("y", real=True)):
                raise UsageError(f"--label {args.label} given but the loss {loss.expr} has no label y")
            if args.label != "y":
                loss = loss.subs({"y": _label_value(args.label)})
        return loss
    return mse(0 if args.label is None else ("y" if args.label == "y" else _label_value(args.label)))


def _label_value(text):
    q = _number(text, "--label")
    return sp.Rational(q.numerator, q.denominator)


def _model(args):
    """The theory model: the user's model file, or a catalogue name."""
    if args.model_spec is not None:
        return args.model_spec.model
    from catapult.theory.models import get_model
    return get_model(args.model)


def _numeric_problem(args, width, seed):
    """(numerics model, numeric loss, theory loss) for run/scan: the options as inputs of
    :func:`catapult.verify.problems.numeric_problem` (which builds the problem and refuses its cost or loss)."""
    from .problems import SCAN, numeric_problem
    budget = dict(steps=args.steps, dps=args.dps, **({"runs": 1} if args.cmd == "run" else SCAN))
    L = _depth(args)
    if L is not None:
        if args.cmd == "scan" and args.init == "isometric" and width < 2:
            raise UsageError("scan deep needs --width >= 2: at width 1 the reduced map's coordinates are degenerate "
                             "(A C = rho^2), so its divergence check cannot run")
        return numeric_problem("deep", _loss(args), width, seed, depth=L, init=args.init, **budget)
    if args.model_spec is not None:
        if _sample_data(args, numeric=True) is not None or _data(args) is not None:
            raise UsageError("a model file runs on one input: no --samples/--dim or degenerate data")
        return numeric_problem(args.model_spec, _loss(args), width, seed, **budget)
    if args.model != "uv":
        raise UsageError(f"unknown model {args.model!r}; known: uv, deep")
    sd = _sample_data(args, numeric=True)
    if sd is not None:
        return numeric_problem("uv", _sample_loss(args), width, seed, samples=sd[2:], **budget)
    data = _data(args)
    if data == "p":
        raise UsageError("numeric runs need a number for --p")
    return numeric_problem("uv", _loss(args) if data is None else None, width, seed, data=data, **budget)


def _depth(args, symbolic=False):
    if args.model != "deep" or args.model_spec is not None:  # a model file named deep is not the model 'deep'
        if args.depth is not None:
            raise UsageError("--depth goes with the model 'deep'")
        if args.init is not None:
            raise UsageError("--init goes with the model 'deep'")
        return None
    if args.depth is None:
        raise UsageError("model 'deep' needs --depth L")
    for opt, val in (("--samples", args.samples), ("--dim", args.dim), ("--data-seed", args.data_seed)):
        if val is not None:
            raise UsageError(f"{opt} does not go with the model 'deep' (single input x = 1)")
    if args.init is None:
        args.init = "isometric"
    L = int(_number(args.depth, "--depth", integer=True, low=2, max_abs=None if not symbolic else 10 ** 6))
    if symbolic and L > MAX_SYMBOLIC_DEPTH:
        raise UsageError(f"--depth {L} > {MAX_SYMBOLIC_DEPTH} (limit MAX_SYMBOLIC_DEPTH: the symbolic reduced map "
                         "costs ~x3 per layer, 21 s at L = 8)")
    if not symbolic and L > 1000:
        raise UsageError(f"--depth {L} > 1000 (limit for numeric runs)")
    return L


def _spec_and_loss(args):
    """The registry model named by the command line (uv, deep --depth L, uv --samples/--dim) and its loss."""
    from catapult.theory.models import get_model
    L = _depth(args, symbolic=True)
    if L is not None:
        return get_model("deep", depth=L, init=args.init), _loss(args)
    sd = _sample_data(args, numeric=False)
    if sd is not None:
        m_, d_, X, Y = sd
        spec = get_model("samples", m=m_, d=d_, X=None if X is None else X.tolist(),
                         Y=None if Y is None else [_data_label(v) for v in Y])
        return spec, _sample_loss(args)
    return _model(args), _loss(args)


def _print_derived_map(fm, invs, out):
    """The text form of ``catapult derive``: the map's own text, then its invariants."""
    print(fm, file=out)
    for i in invs:
        print(f"  invariant: {i}", file=out)


def cmd_derive(args, out):
    from catapult.theory import FunctionSpaceMap, derive, derive_invariants
    spec, loss = _spec_and_loss(args)
    fm = derive(spec, loss)
    invs = derive_invariants(fm) if isinstance(fm, FunctionSpaceMap) else []
    if args.json:
        d = fm.to_json()
        if isinstance(fm, FunctionSpaceMap):
            d["invariants"] = [i.to_json() for i in invs]
        print(_dumps(d), file=out)
    elif args.latex:
        print(fm.latex(), file=out)
    else:
        _print_derived_map(fm, invs, out)
    return 0


def _check_sample_thresholds(args, sd):
    """Refuse what the many-sample eta_crit statement cannot take (--lam0, --latex, no interpolating minimum)."""
    import numpy as np
    m_, d_, X, _ = sd
    if args.lam0 is not None or args.latex:
        raise UsageError("--lam0 and --latex are not available with --samples/--dim (eta_crit is 2/lam_max(Theta0 H))")
    if X is None and m_ > d_:
        raise UsageError(f"m = {m_} samples in d = {d_} dimensions: Theta has rank <= d < m, no interpolating "
                         "minimum, so the eta_crit statement (all slopes zero at the minimum) does not apply")
    if X is not None and np.linalg.matrix_rank(X) < m_:
        raise UsageError(f"rank-deficient data (rank {np.linalg.matrix_rank(X)} < m = {m_}): no interpolating "
                         "minimum, so the eta_crit statement (all slopes zero at the minimum) does not apply")


#: detail fields printed by the text form of ``catapult thresholds``, in this order
_TEXT_DETAILS = ("band", "band_bounds", "band_reason", "band_spread", "band_init", "lam_drift", "stability_matrix", "H")


def cmd_thresholds(args, out):
    from catapult.theory import thresholds
    L = _depth(args, symbolic=True)
    if L is not None and args.latex:
        raise UsageError("--latex is not available for the model 'deep' in thresholds (use --json)")
    if L is None and args.band_restarts is not None:
        raise UsageError("--band-restarts goes with the model 'deep'")
    if args.band_restarts is None:
        args.band_restarts = 2
    if L is not None and args.band_restarts > _band_restarts_max():
        raise UsageError(f"--band-restarts must be <= {_band_restarts_max()} (the number of grids in "
                         f"catapult.verify.deep_limit.RESTARTS), got {args.band_restarts}")
    sd = _sample_data(args, numeric=False) if L is None else None
    if sd is not None:
        _check_sample_thresholds(args, sd)
    spec, loss = _spec_and_loss(args)
    t = thresholds(spec, loss)          # derived (theory)
    if L is not None:
        from .deep_limit import attach_band
        attach_band(t, spec, loss, args.band_restarts)  # measured, on the n -> oo limit map
    if args.json:
        print(_dumps(t.to_json(lam0_value=args.lam0), default=str), file=out)
    elif args.latex:
        print(t.latex(), file=out)
    else:
        print(repr(t), file=out)
        if args.lam0 is not None:
            print(f"  values: {t.values(args.lam0)}   (at lam0 = {args.lam0})", file=out)
        for k in _TEXT_DETAILS:
            if k in t.details:
                print(f"  {k}: {t.details[k]}", file=out)
    return 0


def _json_number(o):
    """JSON for mpmath numbers: a float when finite and in range, else its decimal string."""
    if isinstance(o, mpmath.mpf) and mpmath.isfinite(o) and abs(o) < 1e300:
        return float(o)
    return str(o)


def _certified_model(args):
    """(model, depth, loss, extra keywords) for the certified path: the derived reduced maps (uv, deep, model files;
    uv on --samples/--dim with numeric data, by the vector residual lemma)."""
    if args.model_spec is None and args.model not in ("uv", "deep"):
        raise UsageError(f"unknown model {args.model!r}; known: uv, deep")
    if getattr(args, "trace", 0):
        raise UsageError("--certified has no --trace")
    sd = None if args.model_spec is not None or _depth(args) is not None else _sample_data(args, numeric=True)
    if sd is not None:
        if sd[0] * sd[1] > 4 * MAX_SYMBOLIC_SAMPLES:
            raise UsageError(f"--certified with m*d = {sd[0] * sd[1]} > {4 * MAX_SYMBOLIC_SAMPLES}: the derived map "
                             "is needed (limit 4*MAX_SYMBOLIC_SAMPLES)")
        return "uv", None, _sample_loss(args), {"samples": sd[2:]}
    if _data(args) is not None:
        raise UsageError("--certified takes the derived reduced maps (uv, deep, model files, uv on --samples): not "
                         "degenerate data")
    return (args.model_spec if args.model_spec is not None else args.model), _depth(args), _loss(args), {}


#: certified parameter GD horizon of ``run --certified`` (componentwise balls widen ~4x a step)
CERTIFIED_GD_STEPS = 20


def cmd_run_certified(args, out):
    from .certified import certified_run
    model, depth, loss, extra = _certified_model(args)
    gd_steps = min(args.steps, CERTIFIED_GD_STEPS)   # validates the loss, the model and the GD cost up front:
    _numeric_problem(_copy_args(args, steps=gd_steps), args.width, args.seed)
    r = certified_run(model, loss, width=args.width, eta=args.eta, eta_lam0=args.eta_lam0, seed=args.seed,
                      depth=depth, steps=args.steps, dps=args.dps, gd_steps=gd_steps,
                      **({"init": args.init} if args.init else {}), **extra)
    print(_dumps(r.to_json()) if args.json else str(r), file=out)
    return 0


def _check_certified_scan_args(args):
    """The up-front checks of ``scan --certified`` (its rtol range, the model and the loss); (model, depth)."""
    if not 1e-60 <= args.rtol < 1:
        raise UsageError(f"--rtol must be in [1e-60, 1) with --certified, got {args.rtol}")
    model, depth, loss, extra = _certified_model(args)
    _numeric_problem(_copy_args(args, steps=1, cmd="run"), args.width, args.seed)  # the loss and model, up front
    return model, depth, loss, extra


def cmd_scan_certified(args, out):
    from .certified import certified_scan
    model, depth, loss, extra = _check_certified_scan_args(args)
    r = certified_scan(model, loss, width=args.width, seed=args.seed, depth=depth, rtol=args.rtol, **extra,
                       dps=args.dps, steps=max(args.steps, 5000), **({"init": args.init} if args.init else {}))
    print(_dumps(r.to_json()) if args.json else str(r), file=out)
    return 0


def _first_backend(args):
    """The Backend value ``--backend`` names (None: the default arb ladder); bad combinations are a UsageError."""
    if args.backend == "arb":
        return None
    from catapult.numerics.backends import get_backend
    from catapult.numerics.errors import NumericsInputError
    try:
        return get_backend(args.backend, args.dps)
    except NumericsInputError as exc:
        raise UsageError(f"--backend {args.backend}: {exc}") from None


def cmd_run(args, out):
    from .runs import run_problem
    if (args.eta is None) == (args.eta_lam0 is None):
        raise UsageError("give exactly one of --eta and --eta-lam0")
    if args.certified:
        if args.backend != "arb":
            raise UsageError("--certified runs in ball arithmetic (arb): --backend does not apply")
        return cmd_run_certified(args, out)
    from .progress import StepWatch, bar
    trace_file = args.trace if isinstance(args.trace, str) else None
    if trace_file is not None:
        _check_writable(trace_file, "--trace")
    model, nl, loss = _numeric_problem(args, args.width, args.seed)
    sd = _sample_data(args, numeric=True)
    trace = 0 if (args.json or trace_file) else args.trace
    runs = 2 + bool(trace) + (sd is not None)  # two precisions, the trace's run, the samples' mode run
    with bar(runs * args.steps, "run", "step", quiet=args.quiet) as progress:
        watch = StepWatch(progress, args.steps) if progress.total else None
        r = run_problem(model, nl, loss, name=args.model, eta=args.eta, eta_lam0=args.eta_lam0, steps=args.steps,
                        dps=args.dps, trace=trace, sample_labels=None if sd is None else sd[3], watch=watch,
                        first=_first_backend(args))
    if trace_file is not None:
        from .trajectory import write
        try:
            write(r.trajectory(max_rows=args.trace_rows), trace_file)
        except OSError as exc:
            raise UsageError(f"cannot write --trace {trace_file}: {exc.strerror or exc}") from None
    print(_dumps(r.to_json(), default=_json_number) if args.json else str(r), file=out)
    return 0


def _check_scan_args(args):
    if not args.rtol < 1:
        raise UsageError(f"--rtol must be < 1, got {args.rtol}")
    floor = max(MIN_RTOL, 10.0 ** (5 - args.dps))
    if args.rtol < floor:
        raise UsageError(f"--rtol {args.rtol:g} < {floor:g}: the bisection cannot resolve it (limit MIN_RTOL = "
                         f"{MIN_RTOL:g}, float64 first rung, and 10^(5 - dps) at dps = {args.dps})")
    if not args.widths and (args.jobs or args.scheduler or args.journal):
        raise UsageError("--jobs/--scheduler/--journal go with --widths (the widths are the tasks)")
    if args.journal is not None:
        _check_writable(args.journal, "--journal")
    if args.widths:
        if len(set(args.widths)) < 2:
            raise UsageError("--widths needs at least two distinct widths to fit eta_div ~ n^a")
        if len(args.widths) > 12:
            raise UsageError("--widths takes at most 12 widths")
        from .problems import SCAN, check_cost, predicted_work, step_size
        L = _depth(args)
        model = args.model_spec if args.model_spec is not None else "deep" if L is not None else "uv"
        work = sum(predicted_work(step_size(model, w, L), args.steps, args.dps, **SCAN) for w in set(args.widths))
        check_cost(None, args.steps, args.dps, **SCAN, work=work)   # the whole law: one scan per width


def _width_problem(args, w):
    """The scan's problem at width ``w`` (a width task of ``--widths``: module level, so it pickles)."""
    return _numeric_problem(args, w, args.seed)[:2]


def _problem_key(args):
    """A hash of the options that define the scanned problem (not the widths or where they run): the key of its
    ``--journal`` lines."""
    import hashlib
    skip = {"widths", "jobs", "scheduler", "journal", "json", "quiet", "model_spec"}
    items = sorted((k, str(v)) for k, v in vars(args).items() if k not in skip)
    if getattr(args, "model_file", None) is not None:   # the file's content, not only its name
        with open(args.model_file, "rb") as fh:
            items.append(("model_file_sha256", hashlib.sha256(fh.read()).hexdigest()))
    text = json.dumps(items)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cmd_scan(args, out):
    """A bar of the scan's stages on stderr; Ctrl-C prints what was measured so far and exits 130."""
    from .progress import bar
    from .runs import ScanInterrupted, scan_problem
    if args.certified:
        if args.table is not None:
            raise UsageError("--table writes the measured thresholds; with --certified use --json (the brackets "
                             "and their proofs)")
        return cmd_scan_certified(args, out)
    _check_scan_args(args)
    if args.table is not None:
        _check_writable(args.table, "--table")
    model, nl, loss = _numeric_problem(args, args.width, args.seed)
    code = 0
    with bar(None, "scan", "stage", quiet=args.quiet) as progress:
        try:
            r = scan_problem(model, nl, loss, name=args.model, width=args.width, seed=args.seed, rtol=args.rtol,
                             dps=args.dps, steps=args.steps, uv=args.model == "uv" and args.model_spec is None,
                             widths=args.widths, build=functools.partial(_width_problem, args),
                             progress=progress.stages, jobs=args.jobs, scheduler=args.scheduler,
                             journal=args.journal, key=_problem_key(args))
        except ScanInterrupted as exc:
            r, code = exc.report, 130
    print(_dumps(r.to_json()) if args.json else str(r), file=out)
    if args.table is not None:
        _write_table(r.to_frame(), args.table)
    if code:
        print("catapult: interrupted (what the scan had measured is above)", file=sys.stderr)
    return code


#: most points of one sweep (a typo in a range is refused up front)
MAX_SWEEP_POINTS = 10 ** 6


def _sweep_points(args):
    """The points the command line (or --file) names."""
    from .sweep import axis, grid, load_sweep_file
    if args.file is not None:
        given = [o for o, v in (("a model", args.model), ("--model-file", args.model_file), ("--width", args.width),
                                ("--eta-lam0", args.eta_lam0 or args.eta_lam0_range or args.eta_lam0_ratio),
                                ("--depth", args.depth), ("--p", args.p), ("--loss", args.loss),
                                ("--loss-expr", args.loss_expr)) if v]
        if given:
            raise UsageError(f"--file names the whole sweep: drop {given[0]}")
        return load_sweep_file(args.file)
    if (args.model is None) == (args.model_file is None):
        raise UsageError("give a model (uv, deep), --model-file FILE or --file SWEEP.toml")
    if not args.width:
        raise UsageError("give --width W [W ...]")
    if args.eta_lam0:
        xs = args.eta_lam0
    elif args.eta_lam0_range:
        a, b, num = args.eta_lam0_range
        if num != int(num) or not 1 <= num <= MAX_SWEEP_POINTS:
            raise UsageError(f"--eta-lam0-range NUM must be an integer in [1, {MAX_SWEEP_POINTS}], got {num:g}")
        xs = axis({"start": a, "stop": b, "num": int(num)}, "--eta-lam0-range")
    elif args.eta_lam0_ratio:
        a, b, r = args.eta_lam0_ratio
        xs = axis({"start": a, "stop": b, "ratio": r}, "--eta-lam0-ratio")
    else:
        raise UsageError("give --eta-lam0 X [X ...], --eta-lam0-range START STOP NUM or --eta-lam0-ratio START STOP RATIO")
    model = args.model if args.model_file is None else args.model_file
    if model == "deep" and not args.depth:
        raise UsageError("model 'deep' needs --depth L [L ...]")
    if model != "deep" and (args.depth or args.init):
        raise UsageError("--depth/--init go with the model 'deep'")
    if args.p and args.loss != "logistic":
        raise UsageError("--p goes with --loss logistic")
    if args.loss == "logistic" and not args.p:
        raise UsageError("--loss logistic needs --p P [P ...] (the fraction of margins +1)")
    n = len(args.width) * len(xs) * len(args.seed) * len(args.precision) * len(args.depth or [1]) * len(args.p or [1])
    if n > MAX_SWEEP_POINTS:
        raise UsageError(f"{n} points > {MAX_SWEEP_POINTS} (limit MAX_SWEEP_POINTS)")
    axes = dict(model=str(model), loss=args.loss_expr or args.loss or "mse", width=args.width, eta_lam0=xs,
                seed=args.seed, steps=args.steps, precision=args.precision)
    if args.depth:
        axes.update(depth=args.depth, init=args.init or "isometric")
    if args.p:
        axes["p"] = args.p
    return grid(**axes)


def _sweep_summary(df, points, skipped, wall, out_path, executor, interrupted=False) -> dict:
    counts = df["verdict"].value_counts().to_dict() if len(df) else {}
    single = [p for p in sorted(set(df["precision"])) if "+" not in str(p)] if len(df) else []
    return {"points": points, "done": len(df), "skipped": skipped, "run": len(df) - skipped,
            "verdicts": {str(k): int(v) for k, v in counts.items()}, "seconds": wall, "executor": executor,
            "table": str(out_path), "interrupted": interrupted,
            "not_cross_checked": single}


def cmd_sweep(args, out):
    import os
    from .sweep import SweepError, read_rows, sweep
    if args.out is not None and not str(args.out).endswith((".csv", ".parquet")):
        raise UsageError(f"-o {args.out}: the table must be .csv or .parquet")
    points = _sweep_points(args)
    had = read_rows(args.out)
    skipped = len({p["key"] for p in points} & set(had))
    executor = (f"dask {args.scheduler}" if args.scheduler else
                f"{args.jobs or os.cpu_count() or 1} local process(es)")
    progress = not args.quiet and sys.stderr.isatty()
    t0 = time.perf_counter()
    interrupted = False
    try:
        df = sweep(points, args.out, jobs=args.jobs, scheduler=args.scheduler, progress=progress)
    except KeyboardInterrupt:
        interrupted = True
        from .sweep import frame
        rows = read_rows(args.out)
        df = frame(rows[p["key"]] for p in points if p["key"] in rows)
    except SweepError:
        raise
    summary = _sweep_summary(df, len(points), skipped, time.perf_counter() - t0, args.out, executor, interrupted)
    if args.json:
        print(_dumps(summary, sort_keys=False), file=out)
    else:
        v = ", ".join(f"{k} {n}" for k, n in summary["verdicts"].items())
        print(f"sweep: {summary['done']}/{len(points)} points ({summary['run']} run now, {skipped} already in the "
              f"table), {summary['seconds']:.1f} s on {executor}{'  [interrupted]' if interrupted else ''}", file=out)
        print(f"  verdicts (measured, parameter GD): {v or 'none'}", file=out)
        if summary["not_cross_checked"]:
            print(f"  precision {', '.join(summary['not_cross_checked'])} alone: verdicts not cross-checked "
                  "(--precision float64+arb30 runs two precisions and says undetermined unless they agree)", file=out)
        reader = "read_parquet" if str(args.out).endswith(".parquet") else "read_csv"
        print(f"  table: {args.out}   (pandas.{reader}({str(args.out)!r}))", file=out)
    return 130 if interrupted else 0


@contextlib.contextmanager
def _sigint_deferred():
    """Ctrl-C held back while the block runs (delivered, as KeyboardInterrupt, right after it): POSIX signal mask
    in the main thread; elsewhere the block runs unprotected."""
    import signal
    import threading
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def cmd_verify(args, out):
    """The table streams (rows in catalogue order as soon as they and the rows before them are done), a bar on
    stderr; Ctrl-C prints the rows done so far and exits 130."""
    from .catalogue import SECTIONS, Interrupted, catalogue, model_file_rows, parts
    from .progress import bar
    from .table import TablePrinter
    t0 = time.perf_counter()
    if args.table is not None:
        _check_writable(args.table, "--table")
    only = set(args.only) if args.only else None
    progress = bar(2 if args.model_file else len(parts(only)), "verify", "part", quiet=args.quiet)
    table = TablePrinter(out, verbose=args.verbose, titles={k: title for k, title, _ in SECTIONS},
                         write=lambda text: progress.write(text, out))
    shown = set()

    def show(key, rows):   # a row counts as shown once printed: a Ctrl-C mid-group leaves the rest to print
        for r in rows:
            with _sigint_deferred():   # printed and marked shown together: never twice, never dropped
                if not args.json:
                    table.rows([r], key)
                shown.add(id(r))

    if not args.json:
        table.start()
    not_run = []
    try:
        if args.model_file is not None:
            rows = model_file_rows(args.model_file, on_rows=lambda key, rows: (show(key, rows), progress.update(1)))
        else:
            import os
            jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
            rows = catalogue(full=args.full, only=only, jobs=jobs, on_rows=show, scheduler=args.scheduler,
                             on_part=lambda done, total: progress.update(1))
    except Interrupted as exc:
        rows, not_run = exc.rows, exc.not_run
        for key, group in exc.groups:  # parts that finished out of order (or cut mid-print), not yet printed
            rest = [r for r in group if id(r) not in shown]
            if not args.json and rest:
                table.rows(rest, key)
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    failed = [r for r in rows if not r.passed]
    if args.json:
        d = {"rows": [r.to_json() for r in rows], "passed": not failed and not not_run, "seconds": wall}
        if not_run:
            d.update(interrupted=True, not_run=not_run)
        print(_dumps(d, sort_keys=False), file=out)
    else:
        table.finish(rows, wall, not_run=len(not_run))
    if args.table is not None:
        from .table import frame
        _write_table(frame(rows), args.table)
    if not_run:
        print(f"catapult: interrupted ({len(not_run)} part(s) not run)", file=sys.stderr)
        return 130
    if args.full and args.model_file is None and (only is None or "N" in only):
        import importlib.util
        if importlib.util.find_spec("jax") is None:   # section N has no rows then: say so, not silently
            print("catapult: section N (networks) not run: jax is not installed (pip install 'catapult[nets]')",
                  file=sys.stderr)
    return 1 if failed else 0


def _plot_problem(args, **loss_options):
    """The figure's problem (catapult.verify.plots.Problem) from the run options: the theory model and loss (for
    the derived lines) and the numeric problem exactly as ``catapult run`` builds it, checked per run."""
    from .plots import Problem
    ns = _copy_args(args, cmd="run", **loss_options)   # the cost limit of one run applies to each of the figure
    spec, loss = _spec_and_loss(ns)
    L = _depth(ns)
    name = f"deep L={L}" if L is not None else args.model
    _numeric_problem(ns, ns.width, ns.seed)   # refuse bad input before any run
    return Problem(spec, loss, lambda w, s: _numeric_problem(ns, w, s)[:3], name, L)


def _check_plot_args(args):
    from .plots import FORMATS
    import os
    if os.path.splitext(args.output)[1].lower() not in FORMATS:
        raise UsageError(f"-o {args.output}: the suffix must be .png or .svg")
    _check_writable(args.output, "-o")
    k, x = args.kind, args.eta_lam0
    if k == "trajectory" and x is not None and len(x) != 3:
        raise UsageError(f"plot trajectory: --eta-lam0 takes three values (lazy, catapult, divergent), got {len(x)}")
    if k == "modes" and x is not None and len(x) != 1:
        raise UsageError(f"plot modes: --eta-lam0 takes one value (units of lam_1(Theta_0)), got {len(x)}")
    if k == "deep" and x is not None:
        raise UsageError("plot deep: --eta-lam0 does not apply (the grid follows the measured band)")
    if args.depths is not None and (k != "phase" or args.model != "deep"):
        raise UsageError("--depths goes with plot phase deep")
    if args.depths is not None and args.widths is not None:
        raise UsageError("plot phase deep: give --widths (width rows) or --depths (depth rows), not both")
    if args.widths is not None and k not in ("phase", "deep"):
        raise UsageError(f"--widths goes with plot phase or plot deep, not plot {k}")
    if k != "modes" and (args.samples is not None or args.dim is not None):
        raise UsageError(f"--samples/--dim go with plot modes, not plot {k}")
    if k in ("deep", "modes") and args.model_spec is not None and args.model != "deep":
        raise UsageError(f"plot {k} does not take a model file (deep: a deep linear chain file only)")


def cmd_plot(args, out):
    from . import plots
    _check_plot_args(args)
    k = args.kind
    deep = args.model == "deep" and args.model_spec is None
    if deep and args.depth is None and k == "deep":
        args.depth = "3"
    args.dps = args.dps or (50 if k in ("trajectory", "modes") else 30)
    args.width = args.width or (16 if args.depths else 64 if deep else 256)
    kw = dict(seed=args.seed, dps=args.dps, steps=args.steps)
    if k == "trajectory":
        fig = plots.trajectory_figure(_plot_problem(args), width=args.width, eta_lam0s=args.eta_lam0, **kw)
    elif k == "phase":
        if args.depths is not None:
            if args.model != "deep":
                raise UsageError("--depths goes with the model deep")
            probs = {L: _plot_problem(args, depth=str(L)) for L in args.depths}
            fig = plots.phase_figure(lambda L: probs[L], depths=args.depths, width=args.width,
                                     eta_lam0s=args.eta_lam0, points=args.points, **kw)
        else:
            args.width = max(args.widths or [args.width])
            fig = plots.phase_figure(_plot_problem(args), widths=args.widths, eta_lam0s=args.eta_lam0,
                                     points=args.points, **kw)
    elif k == "flatness":
        fig = plots.flatness_figure(losses=_flatness_losses(args), width=args.width, points=args.points,
                                    eta_lam0s=None if args.eta_lam0 is None else _EveryLoss(args.eta_lam0), **kw)
    elif k == "deep":
        if not deep:
            raise UsageError("plot deep needs the model deep (--depth L, default 3)")
        L = _depth(args)
        if args.init != "isometric":
            raise UsageError("plot deep: the width scan is of the isometric reduced map (--init isometric)")
        fig = plots.deep_figure(L, args.widths, loss=_loss(args))
    else:
        if args.model != "uv" or args.model_spec is not None:
            raise UsageError("plot modes is for the uv model on m samples (--samples M --dim D, --data or --data-seed)")
        sd = _sample_data(args, numeric=True)
        X, Y = (sd[2], sd[3]) if sd is not None else plots.default_samples()
        pr = plots.Problem.samples(X, Y, _sample_loss(args))
        ns = _copy_args(args, cmd="run", samples=len(X), dim=X.shape[1])
        from .problems import check_cost
        check_cost(args.width * (len(X) * (X.shape[1] + 1) + 1), ns.steps, ns.dps)
        fig = plots.modes_figure(pr, width=args.width, eta_lam0=(args.eta_lam0 or [3.0])[0], **kw)
    try:
        plots.save(fig, args.output)
    except OSError as exc:
        raise UsageError(f"cannot write -o {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output} ({k} figure)", file=out)
    return 0


def _copy_args(args, **changes):
    import copy
    ns = copy.copy(args)
    for key, v in changes.items():
        setattr(ns, key, v)
    return ns


class _EveryLoss(dict):
    """The same grid for every loss of the flatness figure."""

    def __init__(self, xs):
        super().__init__()
        self.xs = list(xs)

    def get(self, key, default=None):
        return self.xs


_NO_DATA = dict(p=None, separable=False, z=None, r=None, data=None)


def _flatness_losses(args):
    """The losses of ``plot flatness``: squared and logistic (--p, default 7/10, or the given degenerate data);
    --loss picks one; --loss-expr E gives squared and E."""
    out = {}
    sq = "squared" + (f" y={args.label}" if args.label not in (None, "0") else "")
    if args.loss_expr is not None:
        out[sq] = _plot_problem(args, loss="mse", loss_expr=None, **_NO_DATA)
        out[args.loss_expr] = _plot_problem(args, **_NO_DATA)
        return out
    if args.loss in (None, "mse"):
        out[sq] = _plot_problem(args, loss="mse", **_NO_DATA)
    if args.loss in (None, "logistic"):
        given = args.p is not None or args.separable or args.z or args.data
        name = f"logistic p={args.p or '7/10'}" if not given or args.p is not None else "logistic (data)"
        if args.model_spec is not None:
            if given and args.p is None:
                raise UsageError("a model file runs on one input: plot flatness takes --p for its logistic loss")
            # a model file runs on one input: the logistic loss of the degenerate data as a loss in f
            ps = args.p or "7/10"
            loss = _loss(_copy_args(args, loss="logistic", label=None, loss_expr=None, **dict(_NO_DATA, p=ps)))
            out[name] = _plot_problem(args, loss=None, loss_expr=str(loss.expr), label=None, **_NO_DATA)
        else:
            out[name] = _plot_problem(args, loss="logistic", label=None, p=args.p if given else "7/10")
    return out


COMMANDS = {"derive": cmd_derive, "thresholds": cmd_thresholds, "run": cmd_run, "scan": cmd_scan, "plot": cmd_plot,
            "sweep": cmd_sweep, "report": cmd_report, "net": cmd_net, "net-sweep": cmd_net_sweep,
            "verify": cmd_verify}


def main(argv=None, out=None, err=None):
    """Entry point of the ``catapult`` console script; returns the exit status.

    Bad input: one line ``catapult: error: ...`` on ``err`` and status 2; Ctrl-C: ``catapult: interrupted``
    and status 130; an unexpected exception: one line ``catapult: internal error: ...`` and status 2.
    """
    import warnings
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # float64 overflow is a verdict, not a message
            args = build_parser().parse_args(argv)
            _resolve_model(args)
            code = COMMANDS[args.cmd](args, out)
            out.flush()  # a full disk shows up here, as one line, not as an error at interpreter exit
            return code
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("catapult: interrupted", file=err)
        return 130
    except (UsageError, TheoryInputError, NumericsInputError, ValueError, SchedulerError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"catapult: error: {msg}", file=err)
        return 2
    except MemoryError:
        print("catapult: error: out of memory (reduce --width, --samples/--dim or --dps)", file=err)
        return 2
    except OSError as exc:  # e.g. writing the output to a full disk
        print(f"catapult: error: {exc.strerror or type(exc).__name__}", file=err)
        return 2
    except Exception as exc:  # last resort: one line, never a traceback (the fuzz test counts these as failures)
        msg = str(exc).splitlines()[0][:200] if str(exc) else ""
        print(f"catapult: internal error: {type(exc).__name__}: {msg}", file=err)
        return 2
