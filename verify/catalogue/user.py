"""Catalogue rows for user-defined models (model files): the derived map vs parameter GD, and the thresholds.

For any :class:`~catapult.theory.model_file.ModelDefinition` -- the shipped examples (``verify/models/*.toml``) and
whatever a user passes to ``catapult verify --model-file FILE``:

* ``...-a*`` -- the derived map (started from the oracle's own initial state) vs GD on the actual parameters
  (:mod:`catapult.numerics.gram_model`, gradients by dual numbers) at 60 digits: >= 40 digits over 100 steps;
  deep chains use the deep rows' comparison (:func:`catapult.verify.catalogue.deep.compare_deep`);
* ``...-crit`` -- the derived eta_crit (exact where the NTK is one expression on the minimum manifold, e.g.
  2/lam* for the quadratic model, whose map does not close on an independent lam) vs the measured linear
  stability threshold of the minimum GD reaches;
* ``...-max`` -- the derived eta_max (or its "not derived" reason) beside the measured divergence onset at width n.
"""

from __future__ import annotations

import time

import sympy as sp

from catapult.numerics.backends import engine_for, get_backend
from catapult.numerics.gd import run_gd
from catapult.numerics.search import scan
from catapult.theory import Loss, derive_thresholds, mse
from catapult.theory.model_file import load_model_file
from catapult.theory.symbols import lam0 as LAM0

from ..bridge import numeric_loss
from ..model_files import EXAMPLES
from ..table import EXACT_MAP, SHORT, Row, confirmed_at, engines
from ..user_models import compare_map_gd, numeric_model

#: (loss, eta*lam0, phase) cases of the map rows; the default runs the first two
MAP_CASES = [(mse(), 3.0, "catapult"), (Loss.parse("log(cosh(f - 1/3))"), 1.5, "lazy"),
             (mse(), 1.5, "lazy"), (Loss.parse("log(cosh(f - 1/3))"), 3.0, "catapult")]

#: the cases for a model whose lam is a function of f (one Gram entry, e.g. the quadratic model): every minimum
#: has the same lam* (lam* = 1 for the quadratic model and the squared loss), so for eta > 2/lam* there is no
#: stable minimum at all -- no catapult, and the orbit is chaotic within 100 steps (60-digit GD then agrees with
#: 120-digit GD to only ~36-53 digits, seed-dependent: a test of the arithmetic, not of the map).  Lazy only.
LAZY_CASES = [(mse(), 1.5, "lazy"), (Loss.parse("log(cosh(f - 1/3))"), 1.5, "lazy"),
              (mse(), 1.0, "lazy"), (Loss.parse("log(cosh(f - 1/3))"), 1.0, "lazy")]


def _cases(spec):
    """MAP_CASES, or LAZY_CASES when the derived map has no independent lam (lam a function of f)."""
    if spec.deep_depth is None:
        from catapult.theory.reduce import derive_map
        if len(derive_map(spec.model, mse()).substitution) == 1:
            return LAZY_CASES
    return MAP_CASES


def _map_row(spec, key, loss, x, phase, width, seed):
    t0 = time.perf_counter()
    if spec.deep_depth is not None:
        from .deep import compare_deep
        if loss.expr != mse().expr:
            return None
        digits, steps, stop, _ = compare_deep(spec.deep_depth, width, seed, x, steps=100, dps=60)
        extra, state = "", "reduced deep state"
    else:
        r = compare_map_gd(spec, loss, width, seed, x, steps=100, dps=60)
        digits, steps, stop = r.digits, r.steps, r.stop
        extra, state = f"; plain rel. {float(r.plain_digits):.1f}", "state (" + ", ".join(r.state) + ")"
    ok = digits >= 40 and steps >= 100
    return Row(key, f"{spec.name}: map = parameter GD, loss {loss.expr}, {phase} (eta*lam0={x})",
               f"identical (exact map on {state})", f"{float(digits):.1f} digits over {steps} steps{extra}; stop: {stop}",
               ">= 40 digits, >= 100 steps", ok, f"measured: arb 60 digits, n={width}, seed={seed}",
               time.perf_counter() - t0, short=f"{spec.name}: map = GD, {loss.expr}, {phase}", quantity="digits",
               measured_value=digits, tolerance_value=40, compare=">=", dps=60, width=width, seed=seed, backend="arb",
               why=EXACT_MAP)


def map_rows(spec, prefix, full=False, width=64, seed=3):
    """Map-vs-GD rows for ``spec`` (deep chains: squared loss only, width a power of 4)."""
    rows = []
    cases = _cases(spec)
    for i, (loss, x, phase) in enumerate(cases if full else cases[:2]):
        row = _map_row(spec, f"{prefix}-a{i + 1}", loss, x, phase, width, seed)
        if row is not None:
            rows.append(row)
    return rows


def threshold_rows(spec, prefix, width=256, seed=0, rtol=1e-7, dps=50):
    """eta_crit and eta_max of ``spec`` under the squared loss: derived vs measured at one width."""
    if spec.deep_depth is not None:
        return []  # deep chains: the D-c rows (first divergence of the reduced map vs full-width GD)
    t0 = time.perf_counter()
    loss = mse()
    th = derive_thresholds(spec.model, loss)
    model = numeric_model(spec, width, seed)
    nl = numeric_loss(loss)
    s = scan(model, nl, rtol=rtol, dps=dps, steps=200)
    tr0 = run_gd(model, nl, eta_lam0=1, steps=0, backend=get_backend("arb", dps))
    lam0, f0 = tr0.lam0, tr0.f[0]
    at = f"measured: bisection up the precision ladder, agreeing: {{}}; n={width}, seed={seed}, rtol={rtol:g}"
    dt = (time.perf_counter() - t0) / 2
    tol = 4 * max(1.0, float(f0) ** 2) / width
    rows = []
    for name, thr, est in (("crit", th.eta_crit, s.stability_threshold),
                           ("max", th.eta_max, s.divergence_onset_at_width)):
        meas = None if getattr(est, "lo", None) is None else float(est.eta)
        shown = "not measured: " + est.reason if meas is None else f"{meas:.8g} (eta*lam0 = {meas * float(lam0):.6g})"
        what = f"{spec.name}: eta_{name} vs the measured {est.criterion}"
        nums = dict(short=f"{spec.name}: eta_{name} vs {SHORT[est.criterion]}", quantity="eta", measured_value=meas,
                    dps=dps, width=width, seed=seed, backend=confirmed_at(est)[1])
        where = at.format(confirmed_at(est)[0])
        not_measured = {"measured_value": "not measured: " + getattr(est, "reason", "")}
        if thr.value is None:   # nothing to compare: the onset for information, to 4 digits, and the ladder's engines
            # (which rungs agreed, and the last digits, follow the bisection's path: on the quadratic model the
            # first divergence has convergent windows within 1e-4 of it, so different ladders land ~1e-4 apart)
            if meas is not None:
                shown = f"{meas:.4g} (eta*lam0 = {meas * float(lam0):.4g}; for information)"
                nums.update(backend=engines([engine_for(dps, model).tag, "arb"]))   # the ladder's: float64, dps, arb
            info = f"measured: bisection up the precision ladder (for information, nothing compared); n={width}, seed={seed}"
            rows.append(Row(f"{prefix}-{name}", what, thr.reason[:100] if thr.reason.startswith("not derived") else f"not derived: {thr.reason[:90]}", shown,
                            "a reason is given (nothing is claimed)", bool(thr.reason), info, dt,
                            why={"predicted_value": f"not derived: {thr.reason}", **not_measured}, **nums))
            continue
        pred = float(sp.sympify(thr.value).subs({LAM0: sp.Float(lam0, 30), sp.Symbol("n", positive=True): width}))
        if meas is None:
            rows.append(Row(f"{prefix}-{name}", what, f"{pred:.8g}", shown, "measured", False, where, dt,
                            predicted_value=pred, why=not_measured, **nums))
            continue
        err = (meas - pred) / pred
        exact = str(thr.label) == "exact"
        bound = 4 * rtol if exact else tol
        ok = abs(err) <= bound
        k = None
        if name == "crit":  # at the minimum GD reaches: eta lam* l''(f*) = 2 to the search's tolerance
            k = est.extra.get("eta_h_star")
            if k is None and est.extra.get("lam_star") is not None:  # several outputs, squared loss: l'' = 1
                k = float(est.eta) * est.extra["lam_star"]          # (lam* = lam_max of the measured Theta*)
            ok = ok and k is not None and abs(k - 2) <= 4 * rtol
        rows.append(Row(f"{prefix}-{name}", f"{what}: {thr.value} [{thr.label}]", f"{pred:.8g}",
                        f"{meas:.8g} (rel err {err:+.2e})" + ("" if k is None else f"; eta lam* l''(f*) = {k:.9f}"),
                        f"|rel err| <= {bound:.1e}"
                        + (" (exact: the search's tolerance)" if exact else " [4 max(1, f0^2)/n]"), ok, where, dt,
                        predicted_value=pred, tolerance_value=bound, compare="rel", **nums))
    return rows


def rows_for(spec, prefix=None, full=True):
    """Every row for one model (what ``catapult verify --model-file FILE`` prints)."""
    prefix = prefix or f"U-{spec.name}"
    return map_rows(spec, prefix, full=full, width=64) + threshold_rows(spec, prefix)


#: which example models get threshold rows in the default run (the quadratic model: eta_crit = 2/lam*, exact,
#: where the map does not close on an independent lam; muP: eta_max derived from the excursion analysis)
DEFAULT_THRESHOLDS = ("quadratic", "mup")


def catalogue(full=False):
    """Rows for the shipped example model files (``verify/models``)."""
    rows = []
    for name, path in EXAMPLES.items():
        spec = load_model_file(path)
        prefix = f"U-{name}"
        rows += map_rows(spec, prefix, full=full, width=64)
        if full or name in DEFAULT_THRESHOLDS:
            rows += threshold_rows(spec, prefix)
    return rows
