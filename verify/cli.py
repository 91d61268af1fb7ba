"""The ``catapult`` command line: derive, thresholds, run, scan, verify.

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
import json
import math
import sys
import time
from fractions import Fraction

import mpmath
import sympy as sp

from catapult.numerics.errors import NumericsInputError
from catapult.theory.errors import TheoryInputError


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
#: budget of one command: size * steps * (dps + 50) units (~6e-8 s each on one core: about 10 minutes)
MAX_WORK = 10 ** 10
#: largest data file read by --data, and most rows
MAX_DATA_BYTES = 10 ** 7
MAX_DATA_ROWS = 2000
#: largest magnitude of a label, a magnitude r_i or a data entry (beyond it float64 losses overflow)
MAX_ABS_VALUE = 10 ** 6


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
    r.add_argument("--eta-lam0", type=_positive_float("--eta-lam0"), help="learning rate as a multiple of 1/lam0")
    r.add_argument("--width", type=_int_at_least("--width", 1, MAX_WIDTH, " (limit MAX_WIDTH)"), required=True)
    r.add_argument("--steps", type=_int_at_least("--steps", 1), default=5000)
    r.add_argument("--dps", type=_int_at_least("--dps", 5, MAX_DPS, " (limit MAX_DPS)"), default=50)
    r.add_argument("--seed", type=_int_at_least("--seed", 0, 2 ** 63), default=0)
    r.add_argument("--trace", type=_int_at_least("--trace", 0), default=0, metavar="K",
                   help="print every K-th step (0: none)")
    r.add_argument("--json", action="store_true")
    _add_quiet(r)
    _add_loss(r, numeric=True)

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
    s.add_argument("--json", action="store_true")
    _add_quiet(s)
    _add_loss(s, numeric=True)

    v = sub.add_parser("verify", help="the main job: the cross-validation catalogue")
    v.add_argument("--json", action="store_true")
    v.add_argument("--full", action="store_true", help="heavier rows too")
    from .catalogue import KEYS
    v.add_argument("--only", nargs="+", choices=KEYS, help="run only these sections")
    v.add_argument("--jobs", "-j", type=_int_at_least("--jobs", 1, 64), default=None, metavar="N",
                   help="run sections in N processes (default: the machine's cores)")
    v.add_argument("--verbose", "-v", action="store_true",
                   help="each row's details: the full claim, criterion, backend, digits, width")
    _add_quiet(v)
    _add_model_file(v, " (its rows only: the map vs parameter GD, and the thresholds)")
    return p


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
    if args.cmd == "verify":
        if path is not None and args.only:
            raise UsageError("--model-file and --only do not go together (the file's rows are its own section)")
        return
    if path is None:
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


def _read_table(path, name="--data"):
    """A real, finite float64 table (rows x columns) from a CSV/whitespace text file or a .npy array.

    Reads at most MAX_DATA_BYTES bytes and MAX_DATA_ROWS rows (a device such as /dev/zero is refused,
    not read to exhaustion); complex, string or object entries are refused, never coerced.
    """
    import io
    import numpy as np
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DATA_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {name} {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_DATA_BYTES:
        raise UsageError(f"{name} {path} is larger than {MAX_DATA_BYTES} bytes (limit MAX_DATA_BYTES)")
    if str(path).endswith(".npy"):
        try:
            a = np.load(io.BytesIO(raw), allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise UsageError(f"cannot read {name} {path}: {str(exc).splitlines()[0] if str(exc) else 'not a .npy'}") from None
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf":
            kind = {"c": "complex", "U": "string", "S": "string", "O": "object", "b": "boolean"}.get(
                getattr(getattr(a, "dtype", None), "kind", "?"), str(getattr(a, "dtype", type(a).__name__)))
            raise UsageError(f"{name} {path}: entries must be real numbers, got {kind} entries")
        a = a.astype(float)
        if a.ndim == 1:
            a = a[None, :]
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{name} {path}: not a text table (CSV/whitespace) or a .npy file") from None
        rows = []
        for k, line in enumerate(text.splitlines()):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                rows.append([float(x) for x in line.replace(",", " ").split()])
            except ValueError:
                raise UsageError(f"{name} {path}, line {k + 1}: entries must be real numbers, got {line.strip()[:40]!r}") from None
            if len(rows) > MAX_DATA_ROWS:
                break
        if not rows:
            raise UsageError(f"{name} {path} has no rows")
        if len({len(r) for r in rows}) != 1:
            raise UsageError(f"{name} {path}: rows have different numbers of columns")
        a = np.array(rows, dtype=float)
    if a.ndim != 2 or a.size == 0:
        raise UsageError(f"{name} {path} must be a table (rows x columns), got shape {a.shape}")
    if a.shape[0] > MAX_DATA_ROWS:
        raise UsageError(f"{name} {path} has more than {MAX_DATA_ROWS} rows (limit MAX_DATA_ROWS)")
    if not np.all(np.isfinite(a)):
        raise UsageError(f"{name} {path} contains nan or inf")
    if np.max(np.abs(a)) > MAX_ABS_VALUE:
        raise UsageError(f"{name} {path}: entries must have magnitude <= {MAX_ABS_VALUE} "
                         f"(limit MAX_ABS_VALUE), got {np.max(np.abs(a)):g}")
    return a


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
        a = _read_table(args.data)
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
        a = _read_table(args.data)
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
    """(numerics model, numeric loss, theory loss) for run/scan."""
    L = _depth(args)
    if L is not None:
        from catapult.numerics.deep import DeepLinearModel
        if args.cmd == "scan" and args.init == "isometric" and width < 2:
            raise UsageError("scan deep needs --width >= 2: at width 1 the reduced map's coordinates are degenerate "
                             "(A C = rho^2), so its divergence check cannot run")
        from .bridge import numeric_loss
        _check_cost(args, width * width * L // 10 + width)  # n x n hidden layers: ~7e-9 s per entry-digit
        loss = _loss(args)
        nl = numeric_loss(loss)
        _check_evaluable(nl, loss, args.dps)
        return DeepLinearModel(width, L, seed=seed, init=args.init), nl, loss
    if args.model_spec is not None:
        from .user_models import numeric_model
        from .bridge import numeric_loss
        if _sample_data(args, numeric=True) is not None or _data(args) is not None:
            raise UsageError("a model file runs on one input: no --samples/--dim or degenerate data")
        _check_cost(args, width * (len(args.model_spec.vectors) + 1))
        loss = _loss(args)
        nl = numeric_loss(loss)
        _check_evaluable(nl, loss, args.dps)
        return numeric_model(args.model_spec, width, seed), nl, loss
    if args.model != "uv":
        raise UsageError(f"unknown model {args.model!r}; known: uv, deep")
    from catapult.numerics.losses import DataLoss
    from catapult.numerics.models import UVDataModel, UVModel
    from .bridge import numeric_loss
    sd = _sample_data(args, numeric=True)
    if sd is not None:
        m, d, X, Y = sd
        _check_cost(args, width * (m * (d + 1) + 1))
        model = UVDataModel(width, X, seed=seed)
        L = _sample_loss(args)
        nl = DataLoss([numeric_loss(L, y=_data_label(v)) for v in Y])
        _check_evaluable(nl, L, args.dps)
        return model, nl, L
    data = _data(args)
    if data == "p":
        raise UsageError("numeric runs need a number for --p")
    if data is not None:
        _check_cost(args, width * (2 * data.m + 1))
        model, nl = data.numeric(width, seed)
        return model, nl, data.loss()
    _check_cost(args, width)
    loss = _loss(args)
    nl = numeric_loss(loss)
    _check_evaluable(nl, loss, args.dps)
    return UVModel(width, seed), nl, loss


#: outputs f at which a run's loss must be real, finite and computable (float64 and arb)
_PROBE = ("-3", "-1", "-1/2", "-1/1024", "0", "1/1024", "1/2", "1", "3")


def _check_evaluable(nl, loss, dps):
    """Refuse, before any run, a loss that the numeric backends cannot evaluate or that is not real and
    finite on the real line (log(f), sqrt(f), 1/f, f**(1/3) at f < 0 ...): GD on it has no verdict."""
    from catapult.numerics.backends import get_backend
    parts = getattr(nl, "losses", [nl])
    uniq = list({p.name: p for p in parts}.values())[:4]
    for B in (get_backend("float64"), get_backend("arb", min(dps, 60))):
        with B.context():
            for part in uniq:
                try:
                    value, slope = part.bind(B)
                except Exception as exc:  # a user expression that cannot be compiled for this backend
                    raise UsageError(f"cannot compile the loss {loss.expr} for {B!r}: {type(exc).__name__}") from None
                for t in _PROBE:
                    x = float(Fraction(t)) if B.name == "float64" else B.scalar(mpmath.mpf(Fraction(t).numerator) /
                                                                                Fraction(t).denominator)
                    try:
                        vals = (value(x), slope(x))
                    except (OverflowError, FloatingPointError):
                        continue
                    except ZeroDivisionError:
                        vals = (float("nan"),)
                    except Exception as exc:  # e.g. a special function the backend lacks
                        raise UsageError(f"cannot evaluate the loss {loss.expr} numerically ({B!r}: "
                                         f"{type(exc).__name__}: {str(exc)[:80]})") from None
                    for v in vals:
                        ok = _finite_real(v, B.name)
                        if not ok:
                            raise UsageError(f"the loss {loss.expr} is not real and finite at f = {t}: run/scan need "
                                             "a loss defined on the whole real line")


def _finite_real(v, backend_name):
    """A real, non-nan value (float64 may overflow to inf: a divergence, not an undefined loss)."""
    if backend_name != "float64":
        return hasattr(v, "is_finite") and v.is_finite()
    if isinstance(v, complex) or getattr(getattr(v, "dtype", None), "kind", "f") == "c":
        return False
    try:
        return not math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _check_cost(args, per_step):
    """Refuse a run whose cost (per_step * steps * (dps + 50) digit-operations) exceeds MAX_WORK."""
    runs = 1 if args.cmd == "run" else 60  # scan: grid + bisections + re-checks
    work = per_step * args.steps * (args.dps + 50) * runs
    if work > MAX_WORK:
        raise UsageError(f"estimated work {work:.2g} > {MAX_WORK:.0e} (limit MAX_WORK: size x steps x (dps + 50)"
                         f"{' x 60 runs' if runs > 1 else ''}, ~10 min): reduce --width, --steps or --dps")


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
    """The text form of ``catapult derive`` (one layout per kind of map)."""
    from catapult.theory.deep import DeepReducedMap
    from catapult.theory.samples import SampleMap
    if isinstance(fm, DeepReducedMap):
        print(f"deep linear network L={fm.L}, isometric hidden layers, loss {fm.loss.expr}   [{fm.exactness} reduced "
              f"map, {len(fm.state)} coordinates, independent of n; derived in {fm.seconds:.2f} s]", file=out)
        print(f"  f = {fm.f}", file=out)
        print(f"  lam = {fm.lam}", file=out)
    elif isinstance(fm, SampleMap):
        print(f"uv model, m={fm.m} samples, d={fm.d}, loss {fm.loss.expr}   [{fm.exactness}: map on the invariants]",
              file=out)
    else:
        print(f"model {fm.model}, loss l(f) = {fm.loss.expr}   [{fm.exactness}: derived by SymPy from parameter-space "
              "GD]", file=out)
    for k, e in fm.update.items():
        print(f"  {k}' = {e}", file=out)
    if not isinstance(fm, (DeepReducedMap, SampleMap)) and set(fm.observables) != {"f", "lam"}:
        for k, e in fm.observables.items():  # a map on the Gram state (several outputs): f_a and Theta
            print(f"  observable {k} = {e}", file=out)
    if isinstance(fm, DeepReducedMap):
        print(f"  init: {fm.init}   (A = |w_1|^2, C = |w_L|^2, rho = sqrt(n) f0)", file=out)
    elif isinstance(fm, SampleMap):
        for a, o in enumerate(fm.outputs):
            print(f"  f{a + 1} = {o}", file=out)
        print(f"  Theta (= J J^T/m) = {fm.ntk.tolist()}", file=out)
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


def _attach_band(t, spec, loss, restarts):
    """The deep band (measured on the n -> oo limit map, catapult.verify.deep_limit) into ``t.details``."""
    if spec.init != "isometric":
        t.details.update({"band": None, "band_exactness": None,
                          "band_reason": "the band is a statement about the n -> oo limit of the isometric reduced "
                                         "map: not derived or measured for --init gaussian"})
        return
    from .deep_limit import band_summary
    t.details.update(band_summary(spec.depth, loss, restarts=restarts))
    if t.details.get("band") is not None:
        t.details["band_init"] = {"A": "n (|w_1|^2)", "C": "n (|w_L|^2)", "f0": 1}


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
    t = thresholds(spec, loss)          # derived (theory); the CLI only attaches the measured band and formats
    if L is not None:
        _attach_band(t, spec, loss, args.band_restarts)
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


def cmd_run(args, out):
    from .runs import run_problem
    if (args.eta is None) == (args.eta_lam0 is None):
        raise UsageError("give exactly one of --eta and --eta-lam0")
    from .progress import StepWatch, bar
    model, nl, loss = _numeric_problem(args, args.width, args.seed)
    sd = _sample_data(args, numeric=True)
    trace = 0 if args.json else args.trace
    runs = 2 + bool(trace) + (sd is not None)  # two precisions, the trace's run, the samples' mode run
    with bar(runs * args.steps, "run", "step", quiet=args.quiet) as progress:
        watch = StepWatch(progress, args.steps) if progress.total else None
        r = run_problem(model, nl, loss, name=args.model, eta=args.eta, eta_lam0=args.eta_lam0, steps=args.steps,
                        dps=args.dps, trace=trace, sample_labels=None if sd is None else sd[3], watch=watch)
    print(_dumps(r.to_json(), default=_json_number) if args.json else str(r), file=out)
    return 0


def _check_scan_args(args):
    if not args.rtol < 1:
        raise UsageError(f"--rtol must be < 1, got {args.rtol}")
    floor = max(MIN_RTOL, 10.0 ** (5 - args.dps))
    if args.rtol < floor:
        raise UsageError(f"--rtol {args.rtol:g} < {floor:g}: the bisection cannot resolve it (limit MIN_RTOL = "
                         f"{MIN_RTOL:g}, float64 first rung, and 10^(5 - dps) at dps = {args.dps})")
    if args.widths:
        if len(set(args.widths)) < 2:
            raise UsageError("--widths needs at least two distinct widths to fit eta_div ~ n^a")
        if len(args.widths) > 12:
            raise UsageError("--widths takes at most 12 widths")
        for w in set(args.widths):
            _check_cost(args, w)


def cmd_scan(args, out):
    """A bar of the scan's stages on stderr; Ctrl-C prints what was measured so far and exits 130."""
    from .progress import bar
    from .runs import ScanInterrupted, scan_problem
    _check_scan_args(args)
    model, nl, loss = _numeric_problem(args, args.width, args.seed)
    code = 0
    with bar(None, "scan", "stage", quiet=args.quiet) as progress:
        try:
            r = scan_problem(model, nl, loss, name=args.model, width=args.width, seed=args.seed, rtol=args.rtol,
                             dps=args.dps, steps=args.steps, uv=args.model == "uv" and args.model_spec is None,
                             widths=args.widths, build=lambda w: _numeric_problem(args, w, args.seed)[:2],
                             progress=progress.stages)
        except ScanInterrupted as exc:
            r, code = exc.report, 130
    print(_dumps(r.to_json()) if args.json else str(r), file=out)
    if code:
        print("catapult: interrupted (what the scan had measured is above)", file=sys.stderr)
    return code


def cmd_verify(args, out):
    """The table streams (rows in catalogue order as soon as they and the rows before them are done), a bar on
    stderr; Ctrl-C prints the rows done so far and exits 130."""
    from .catalogue import SECTIONS, Interrupted, catalogue, model_file_rows, parts
    from .progress import bar
    from .table import TablePrinter
    t0 = time.perf_counter()
    only = set(args.only) if args.only else None
    progress = bar(2 if args.model_file else len(parts(only)), "verify", "part", quiet=args.quiet)
    table = TablePrinter(out, verbose=args.verbose, titles={k: title for k, title, _ in SECTIONS},
                         write=lambda text: progress.write(text, out))
    shown = set()

    def show(key, rows):
        shown.update(map(id, rows))
        if not args.json:
            table.rows(rows, key)

    if not args.json:
        table.start()
    not_run = []
    try:
        if args.model_file is not None:
            rows = model_file_rows(args.model_file, on_rows=lambda key, rows: (show(key, rows), progress.update(1)))
        else:
            import os
            jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
            rows = catalogue(full=args.full, only=only, jobs=jobs, on_rows=show,
                             on_part=lambda done, total: progress.update(1))
    except Interrupted as exc:
        rows, not_run = exc.rows, exc.not_run
        for key, group in exc.groups:  # parts that finished out of order, held back for catalogue order
            if not args.json and not shown.issuperset(map(id, group)):
                table.rows(group, key)
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
    if not_run:
        print(f"catapult: interrupted ({len(not_run)} part(s) not run)", file=sys.stderr)
        return 130
    return 1 if failed else 0


COMMANDS = {"derive": cmd_derive, "thresholds": cmd_thresholds, "run": cmd_run, "scan": cmd_scan, "verify": cmd_verify}


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
    except (UsageError, TheoryInputError, NumericsInputError, ValueError) as exc:
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
