"""The ``catapult`` command line: derive, thresholds, run, scan, verify.

Every printed statement is labelled exact, leading order in 1/n, or measured.
Bad input gives one line on stderr and exit status 2; ``verify`` exits 1 on any FAIL.

Examples
========
>>> import sys
>>> main(["thresholds", "uv", "--loss", "mse", "--json"])  # doctest: +ELLIPSIS
{"assumptions": [...], "eta_crit": "2/lam0", "eta_max": "4/lam0", ...}
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

import mpmath
import sympy as sp

from numerics.errors import NumericsInputError
from theory.errors import TheoryInputError


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


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


def _int_at_least(name, low):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text}")
        return v
    return conv


def _add_loss(p, numeric=False):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--loss", choices=["mse"], default=None, help="named loss (default mse)")
    g.add_argument("--loss-expr", metavar="EXPR", help="any twice-differentiable loss in the symbol f, e.g. 'log(cosh(f-1))'")
    p.add_argument("--label", default=None, metavar="Y",
                   help="regression label for mse (a number; 'y' keeps it symbolic%s)" %
                        ("" if not numeric else "; numeric runs need a number"))


def build_parser():
    p = _Parser(prog="catapult", description="Derive and verify the catapult phase of gradient descent.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    d = sub.add_parser("derive", help="derive the exact one-step function-space map (exact)")
    d.add_argument("model")
    _add_loss(d)
    fmt = d.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--latex", action="store_true")

    t = sub.add_parser("thresholds", help="derive eta_crit and eta_max (leading order in 1/n)")
    t.add_argument("model")
    _add_loss(t)
    t.add_argument("--lam0", type=_positive_float("--lam0"), help="evaluate at this initial NTK")
    fmt = t.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--latex", action="store_true")

    r = sub.add_parser("run", help="parameter GD at high precision and its phase verdict (measured)")
    r.add_argument("model")
    r.add_argument("--eta", type=_positive_float("--eta"), help="learning rate")
    r.add_argument("--eta-lam0", type=_positive_float("--eta-lam0"), help="learning rate as a multiple of 1/lam0")
    r.add_argument("--width", type=_int_at_least("--width", 1), required=True)
    r.add_argument("--steps", type=_int_at_least("--steps", 1), default=5000)
    r.add_argument("--dps", type=_int_at_least("--dps", 5), default=50)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--trace", type=int, default=0, metavar="K", help="print every K-th step")
    r.add_argument("--json", action="store_true")
    _add_loss(r, numeric=True)

    s = sub.add_parser("scan", help="locate eta_crit and eta_max numerically (measured)")
    s.add_argument("model")
    s.add_argument("--width", type=_int_at_least("--width", 1), required=True)
    s.add_argument("--dps", type=_int_at_least("--dps", 5), default=50)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--rtol", type=_positive_float("--rtol"), default=1e-6)
    s.add_argument("--steps", type=_int_at_least("--steps", 1), default=2000, help="horizon of each run")
    s.add_argument("--json", action="store_true")
    _add_loss(s, numeric=True)

    v = sub.add_parser("verify", help="the main job: the cross-validation catalogue")
    v.add_argument("--json", action="store_true")
    v.add_argument("--full", action="store_true", help="heavier rows too")
    return p


def _loss(args):
    from theory import Loss, mse
    if args.loss_expr:
        loss = Loss.parse(args.loss_expr)
        if args.label is not None:
            loss = loss.subs({"y": _label_value(args.label)}) if loss.expr.has(sp.Symbol("y", real=True)) else loss
        return loss
    return mse(0 if args.label is None else ("y" if args.label == "y" else _label_value(args.label)))


def _label_value(text):
    try:
        return sp.Rational(text)
    except (TypeError, ValueError):
        raise UsageError(f"--label must be a number or 'y', got {text!r}") from None


def _model(name):
    from theory.models import get_model
    return get_model(name)


def _numeric_model(name, width, seed):
    if name != "uv":
        raise UsageError(f"unknown model {name!r}; known: uv")
    from numerics.models import UVModel
    return UVModel(width, seed)


def cmd_derive(args, out):
    from theory import derive_invariants, derive_map
    m = derive_map(_model(args.model), _loss(args))
    invs = derive_invariants(m)
    if args.json:
        d = m.to_json()
        d["invariants"] = [i.to_json() for i in invs]
        print(json.dumps(d, sort_keys=True), file=out)
    elif args.latex:
        print(m.latex(), file=out)
    else:
        print(f"model {m.model}, loss l(f) = {m.loss.expr}   [{m.label}: derived by SymPy from parameter-space GD]", file=out)
        for k, e in m.update.items():
            print(f"  {k}' = {e}", file=out)
        for i in invs:
            print(f"  invariant: {i}", file=out)
    return 0


def cmd_thresholds(args, out):
    from theory import derive_thresholds
    t = derive_thresholds(_model(args.model), _loss(args))
    if args.json:
        print(json.dumps(t.to_json(lam0_value=args.lam0), sort_keys=True), file=out)
    elif args.latex:
        print(t.latex(), file=out)
    else:
        print(repr(t), file=out)
        if args.lam0 is not None:
            print(f"  at lam0 = {args.lam0}: {t.values(args.lam0)}", file=out)
    return 0


def cmd_run(args, out):
    from numerics.backends import get_backend
    from numerics.gd import run_gd
    from numerics.phase import agreed_phase
    from .bridge import numeric_loss
    if (args.eta is None) == (args.eta_lam0 is None):
        raise UsageError("give exactly one of --eta and --eta-lam0")
    loss = _loss(args)
    model = _numeric_model(args.model, args.width, args.seed)
    nl = numeric_loss(loss)
    kw = dict(eta=args.eta, eta_lam0=args.eta_lam0, steps=args.steps)
    r = agreed_phase(model, nl, dps=args.dps, **kw)
    d = r.to_json()
    d.update({"model": args.model, "loss": str(loss.expr)})
    if args.json:
        print(json.dumps(d, sort_keys=True, default=str), file=out)
    else:
        ev = r.evidence
        print(f"phase: {r.phase.value}   [measured: parameter GD, n={args.width}, seed={args.seed}, "
              f"{args.dps} and {2 * args.dps} digits agree: {'agreed_dps' in ev}]", file=out)
        print(f"  {r.reason}", file=out)
        for k in ("eta", "lam0", "eta_lam0", "lam_final", "eta_lam_final", "loss0", "loss_peak", "loss_peak_ratio",
                  "peak_step", "steps"):
            v = ev.get(k)
            print(f"  {k:16s} {mpmath.nstr(v, 12) if isinstance(v, mpmath.mpf) else v}", file=out)
        if args.trace:
            tr = run_gd(model, nl, backend=get_backend("arb", args.dps), **kw)
            print("  step  loss  f  lam", file=out)
            for t, L, f, lam in tr.rows()[::args.trace]:
                print(f"  {t:5d} {mpmath.nstr(L, 10)} {mpmath.nstr(f, 10)} {mpmath.nstr(lam, 10)}", file=out)
    return 0


def cmd_scan(args, out):
    from numerics.search import scan
    from .bridge import numeric_loss
    loss = _loss(args)
    model = _numeric_model(args.model, args.width, args.seed)
    s = scan(model, numeric_loss(loss), rtol=args.rtol, dps=args.dps, steps=args.steps)
    d = s.to_json()
    d["loss"] = str(loss.expr)
    if args.json:
        print(json.dumps(d, sort_keys=True), file=out)
    else:
        print(f"scan {args.model}, loss {loss.expr}, n={args.width}, seed={args.seed}   [measured]", file=out)
        print(f"  lam0 = {mpmath.nstr(s.lam0, 15)}", file=out)
        for e in (s.eta_crit, s.eta_max):
            if e is not None:
                print(f"  {e!r}", file=out)
                print(f"    eta = {mpmath.nstr(e.eta, 12)}", file=out)
        for note in s.notes:
            print(f"  note: {note}", file=out)
    return 0


def cmd_verify(args, out):
    from .checks import catalogue
    from .table import render
    t0 = time.perf_counter()
    rows = catalogue(full=args.full)
    wall = time.perf_counter() - t0
    failed = [r for r in rows if not r.passed]
    if args.json:
        print(json.dumps({"rows": [r.to_json() for r in rows], "passed": not failed, "seconds": wall}), file=out)
    else:
        print(render(rows), file=out)
        print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed  ({wall:.1f} s)", file=out)
    return 1 if failed else 0


COMMANDS = {"derive": cmd_derive, "thresholds": cmd_thresholds, "run": cmd_run, "scan": cmd_scan, "verify": cmd_verify}


def main(argv=None, out=None, err=None):
    """Entry point of the ``catapult`` console script; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.cmd](args, out)
    except (UsageError, TheoryInputError, NumericsInputError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"catapult: error: {msg}", file=err)
        return 2
