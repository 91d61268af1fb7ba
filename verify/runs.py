"""Measured results with their reports: one GD run's phase verdict, and the threshold scan at a width.

:func:`run` and :func:`scan` are the API (``catapult.run``, ``catapult.scan``); ``catapult run`` and
``catapult scan`` call :func:`run_problem` / :func:`scan_problem` and print the result's ``to_json()`` or
``str()``.  Every number here is *measured* (parameter GD, its backend and digits named), each threshold under
the name of its criterion.

Examples
========
>>> r = run("uv", "mse", width=64, eta_lam0=3.0, seed=1)
>>> r.phase, r.to_json()["exactness"]
('catapult', 'measured')
>>> print(str(r).splitlines()[0])
phase: catapult   [measured: parameter GD, n=64, seed=1, 50 and 100 digits agree: True]
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .bridge import mp_function
from .problems import numeric_problem

#: the keys of a run's evidence printed in the text report, in order
TEXT_KEYS = ("eta", "lam0", "lam_max_theta0", "eta_lam0", "lam_final", "eta_lam_final", "sharpness_final", "loss0", "loss_peak",
             "loss_peak_ratio", "peak_step", "loss_rises", "steps", "ntk_eigs_initial", "ntk_eigs_final",
             "eta_times_eigs_initial", "mode_growth")


def _nonfinite(v):
    """True for nan/inf values (floats, mpf, or their printed forms) -- never printed as numbers."""
    if isinstance(v, (float, mpmath.mpf)):
        return not mpmath.isfinite(v)
    if isinstance(v, str):
        return v.strip().lower().lstrip("+-") in ("nan", "inf", "infinity", "zoo", "oo")
    return False


def null_nonfinite(ev, reasons):
    """Replace nan/inf evidence by None, recording why in ``reasons`` (the JSON contract: no NaN/Infinity).

    >>> reasons = {}; null_nonfinite({"loss_peak": mpmath.inf, "xs": [1.0, float("nan")]}, reasons)
    {'loss_peak': None, 'xs': [1.0, None]}
    """
    for k, v in list(ev.items()):
        if isinstance(v, list):
            bad = [i for i, x in enumerate(v) if _nonfinite(x) or x is None]
            if bad:
                ev[k] = [None if i in bad else x for i, x in enumerate(v)]
                reasons.setdefault(k, f"entries {bad} not finite (undefined or overflowed)")
        elif _nonfinite(v):
            ev[k] = None
            reasons.setdefault(k, "not finite (the run overflowed)" if k.startswith(("loss", "lam", "f"))
                               else "not finite")
    return ev


def _html_table(title: str, d: dict) -> str:
    """A two-column HTML table of a report's JSON (notebook display); nested values as JSON text."""
    import html
    import json as _json
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>"
                   f"{html.escape(v if isinstance(v, str) else _json.dumps(v, default=str))}</td></tr>"
                   for k, v in d.items())
    return f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>{rows}</table>"



@dataclass
class RunReport:
    """One run's phase verdict (two precisions agreeing), its evidence and the reasons for any null."""

    result: object           # numerics.phase.PhaseResult
    model: str
    loss: object
    width: int
    seed: int
    dps: int
    reasons: dict = field(default_factory=dict)
    trace: list = field(default_factory=list)   # (t, loss, f, lam) rows when asked
    problem: tuple | None = field(default=None, repr=False, compare=False)  # (model, nl, kw, sample labels)

    @property
    def phase(self) -> str:
        """The agreed phase's name."""
        return self.result.phase.value

    def trajectory(self, max_rows=None):
        """This run as tidy data (a pandas DataFrame: step, f, lam, loss, eta_lam and the metadata;
        :mod:`catapult.verify.trajectory`), re-run at ``dps`` digits with every step recorded, downsampled to at
        most ``max_rows`` rows (default 2000; 0 = all) keeping step 0, the loss peak, the lam minimum and the end.

        >>> df = run("uv", "mse", width=64, eta_lam0=3.0, seed=1).trajectory()
        >>> df.attrs["phase"], bool(df.loss.max() > 10 * df.loss.iloc[0])
        ('catapult', True)
        """
        from .trajectory import MAX_ROWS, problem_trajectory
        if self.problem is None:
            raise ValueError("this report was not made by run_problem: no problem to re-run for the trajectory")
        model, nl, kw, labels = self.problem
        return problem_trajectory(model, nl, self.loss, name=self.model, dps=self.dps, sample_labels=labels,
                                  max_rows=MAX_ROWS if max_rows is None else max_rows, phase=self.phase, **kw)

    def _repr_html_(self) -> str:
        """Notebook display: the verdict and its evidence as a table (measured, parameter GD)."""
        return _html_table(f"{self.model}: {self.phase} (measured: parameter GD, n={self.width}, seed={self.seed})",
                           self.to_json())

    def to_json(self) -> dict:
        """The JSON contract of ``catapult run --json``."""
        d = self.result.to_json()
        null_nonfinite(d, self.reasons)
        d.update({"model": self.model, "loss": str(self.loss.expr)})
        if self.reasons:
            d["null_reasons"] = self.reasons
        return d

    def __str__(self):
        ev = self.result.evidence
        lines = [f"phase: {self.phase}   [measured: parameter GD, n={self.width}, seed={self.seed}, "
                 f"{self.dps} and {2 * self.dps} digits agree: {'agreed_dps' in ev}]", f"  {self.result.reason}"]
        for k in TEXT_KEYS:
            if k not in ev:
                continue
            v = ev.get(k)
            if isinstance(v, list):
                v = "[" + ", ".join("n/a" if x is None else mpmath.nstr(x, 6) for x in v) + "]"
            elif v is None:
                v = "n/a"
            lines.append(f"  {k:16s} {mpmath.nstr(v, 12) if isinstance(v, mpmath.mpf) else v}"
                         + (f"   ({self.reasons[k]})" if k in self.reasons else ""))
        if "mode_growth" in ev:
            lines.append("  (modes: eigenvectors of the initial NTK matrix Theta = J J^T/m, largest first; growth = "
                         "max_t |e_i.(f_t - y)| / |e_i.(f_0 - y)|: > 1 means the mode catapulted)")
        if self.trace:
            lines.append("  step  loss  f  lam")
            lines += [f"  {t:5d} {mpmath.nstr(L, 10)} {mpmath.nstr(f, 10)} {mpmath.nstr(lam, 10)}"
                      for t, L, f, lam in self.trace]
        return "\n".join(lines)


def _sharpness(ev, reasons, loss, traj, dps):
    """eta lam l''(f) at the end of the run (when l'' is a function of f alone)."""
    fs = sp.Symbol("f", real=True)
    with mpmath.workdps(dps):
        if traj is None or not mpmath.isfinite(traj.f[-1]) or not loss.d2.free_symbols <= {fs}:
            return
        try:
            curv = mp_function(loss.d2, fs)
            ev["sharpness_final"] = ev["eta"] * ev["lam_final"] * curv(traj.f[-1])
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
            reasons["sharpness_final"] = f"l''(f) = {loss.d2} could not be evaluated at the final f"
            return
        if not isinstance(ev["sharpness_final"], mpmath.mpf):  # complex: l'' not real there
            ev["sharpness_final"] = None
            reasons["sharpness_final"] = "l''(f) is not real at the final f"


def mode_report(model, nl, kw, dps, Y, reasons):
    """Per-eigendirection evidence from a run that records all outputs and the NTK matrix (measured): the
    residuals l'_a(f_a) (squared loss: f_a - y_a) along the initial NTK's eigenvectors, their growth."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    tr = run_gd(model, nl, backend=get_backend("arb", dps), observe=True, **kw)
    with mpmath.workdps(dps):
        T0 = mpmath.matrix(tr.observed[0]["ntk"])
        E, Q = mpmath.eigsy(T0)
        order = sorted(range(len(E)), key=lambda i: -E[i])
        Ef = sorted(mpmath.eigsy(mpmath.matrix(tr.observed[-1]["ntk"]), eigvals_only=True), reverse=True)
        from .trajectory import sample_slopes
        slopes = sample_slopes(nl, Y, dps)     # the residuals GD moves, l'_a(f_a) (squared loss: f_a - y_a)
        comps = []
        for obs in tr.observed:
            r = mpmath.matrix([s(o) for s, o in zip(slopes, obs["outputs"])])
            comps.append([abs((Q[:, i].T * r)[0]) for i in order])
        tiny = mpmath.mpf(10) ** (-dps // 2) * max([mpmath.mpf(1)] + comps[0])
        growth = [max(c[j] for c in comps) / comps[0][j] if comps[0][j] > tiny else None
                  for j in range(len(order))]
        if None in growth:
            reasons["mode_growth"] = (f"modes {[j for j, g in enumerate(growth) if g is None]} start with a zero "
                                      "residual component: growth undefined")
        return {"ntk_eigs_initial": [E[i] for i in order], "ntk_eigs_final": list(Ef),
                "eta_times_eigs_initial": [tr.eta * E[i] for i in order], "mode_growth": growth}


def run_problem(model, nl, loss, *, name, eta=None, eta_lam0=None, steps=5000, dps=50, trace=0,
                sample_labels=None, watch=None, first=None) -> RunReport:
    """The agreed phase of one run on a built problem (``numeric_problem``), with its evidence.

    ``watch(t, f, lam, eta)`` is passed to every GD run (a progress bar: it must return False).  ``first``: the
    backend of the first precision (a :class:`catapult.numerics.backends.Backend`, e.g. ``get_backend("fixed",
    50)``; default arb at ``dps``), cross-checked against arb at 2 ``dps``."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.numerics.phase import agreed_phase
    kw = dict(eta=eta, eta_lam0=eta_lam0, steps=steps, **({} if watch is None else {"watch": watch}))
    if first is None:
        r = agreed_phase(model, nl, dps=dps, **kw)
    else:
        r = agreed_phase(model, nl, pair=(first, get_backend("arb", 2 * dps)), **kw)
    ev, reasons = r.evidence, {}
    if ev.get("loss0") == 0:
        ev["loss_peak_ratio"] = None
        reasons["loss_peak_ratio"] = "loss0 = 0 (the run starts at a minimum): the ratio loss_peak/loss0 is undefined"
    if ev.get("lam0") == 0:  # e.g. a model file with a constant output: the parameters do not move f
        ev["lam_ratio"] = None
        reasons["lam_ratio"] = "lam0 = 0 (the output does not depend on the parameters): lam_final/lam0 is undefined"
    _sharpness(ev, reasons, loss, r.trajectory, dps)
    if sample_labels is not None:
        ev.update(mode_report(model, nl, kw, dps, sample_labels, reasons))
        ev.pop("sharpness_final", None)
    null_nonfinite(ev, reasons)
    rows = []
    if trace:
        rows = run_gd(model, nl, backend=get_backend("arb", dps), **kw).rows()[::trace]
    return RunReport(r, name, loss, model.width, model.seed, dps, reasons, rows, (model, nl, kw, sample_labels))


def run(model="uv", loss="mse", *, width, eta=None, eta_lam0=None, steps=5000, dps=50, seed=0, depth=None,
        init="isometric", p=None, samples=None, trace=0, **label_values) -> RunReport:
    """Parameter GD at ``dps`` and ``2 dps`` digits from one init and its agreed phase (measured).

    ``model``: ``"uv"``, ``"deep"`` (``depth=``), a VectorModel, a ModelDefinition or a model file path;
    ``loss`` as in :func:`catapult.theory.loss.as_loss`; exactly one of ``eta`` and ``eta_lam0``;
    ``samples=(X, Y)``: the uv model on m samples (the report then has each NTK eigendirection's growth).

    >>> import numpy as np
    >>> r = run("uv", samples=(np.eye(2), np.array([1.0, -0.5])), width=32, eta_lam0=3, steps=400, dps=20)
    >>> r.phase, len(r.result.evidence["mode_growth"])
    ('catapult', 2)
    """
    m, nl, lo = numeric_problem(model, loss, width, seed, depth=depth, init=init, p=p, samples=samples,
                                steps=steps, dps=dps, **label_values)
    name = model if isinstance(model, str) and not model.endswith(".toml") else getattr(m, "name", "model")
    return run_problem(m, nl, lo, name=name, eta=eta, eta_lam0=eta_lam0, steps=steps, dps=dps, trace=trace,
                       sample_labels=None if samples is None else samples[1])


def scan(model="uv", loss="mse", *, width, seed=0, rtol=1e-6, dps=50, steps=2000, depth=None, init="isometric",
         p=None, widths=None, **label_values) -> "ScanReport":
    """The measured thresholds at one width, each under its criterion (:func:`catapult.numerics.search.scan`):
    loss-rise onset, linear stability threshold of the minimum GD reaches, divergence onset at width n (and
    over ``widths`` the fitted law eta_div lam0 ~ n^a).

    >>> s = scan("uv", "mse", width=64, rtol=1e-5)
    >>> abs(s.scan.divergence_onset_at_width.eta_lam0 - 4) < 0.2, s.to_json()["eta_max"]["exactness"]
    (True, 'measured')
    """
    build = functools.partial(_problem_at_width, model, loss, seed, depth, init, p, label_values)
    m, nl, lo = numeric_problem(model, loss, width, seed, depth=depth, init=init, p=p, **label_values)
    name = model if isinstance(model, str) and not model.endswith(".toml") else getattr(m, "name", "model")
    return scan_problem(m, nl, lo, name=name, width=width, seed=seed, rtol=rtol, dps=dps, steps=steps,
                        uv=(name == "uv"), widths=widths, build=build)


def _quadratic(loss):
    """True when l'' is a positive constant (squared loss, any label)."""
    d2 = sp.simplify(loss.d2)
    return not d2.free_symbols and bool(d2 > 0)


def reduced_onset(model, nl, loss, div, rtol, dps, steps):
    """The divergence onset of the exact reduced map (the loss asked, this network's invariants, the same horizon)
    next to full-width GD's; null with the reason when its verdict does not straddle full-width GD's bracket."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.search import diverges as gd_diverges
    from .deep_thresholds import reduced_threshold
    kw = dict(rtol=rtol, dps=max(30, dps // 2), loss=loss, steps=steps)
    note = "bisected from full-width GD's bracket widened by 1e-3 on each side"
    try:
        lo, hi, agree = reduced_threshold(model, div.lo * (1 - 1e-3), div.hi * (1 + 1e-3), **kw)
    except ValueError:
        # the widened ends can fall on a sliver or window (the divergent set is not an interval): decide the
        # reduced map at full-width GD's own bracket ends instead
        note = "the widened bracket does not straddle (slivers); decided at full-width GD's own bracket ends"
        try:
            lo, hi, agree = reduced_threshold(model, div.lo, div.hi, **kw)
        except ValueError as exc:
            return {"eta_lam0": None, "reason": f"{exc} (nor at full-width GD's bracket ends: the reduced map "
                                                "and full-width GD disagree there)"}
    # the divergent set need not be an interval: the two bisections may land on different edges, so the
    # full-width verdicts at the reduced map's bracket ends are checked pointwise (same horizon, two precisions)
    verdicts = [(not gd_diverges(model, nl, float(lo), B, steps)) and gd_diverges(model, nl, float(hi), B, steps)
                for B in (get_backend("float64"), get_backend("arb", max(30, dps // 2)))]
    pointwise = verdicts[0] if verdicts[0] == verdicts[1] else None
    return {"eta_lam0": float((lo + hi) / 2), "bracket": [float(lo), float(hi)], "precisions_agree": agree,
            "criterion": "divergence onset at width n (run_gd's runaway/nonfinite verdict), on the exact reduced "
                         f"map of {loss.expr} with this network's invariants",
            "full_width_agrees_at_ends": pointwise, "full_width_precisions": ["float64", f"arb{max(30, dps // 2)}"],
            "bracket_from": note, "exactness": "exact map, iterated numerically"}


def width_divergence(build, w, rtol, dps, steps):
    """One width's task of a width law: the divergence onset at width ``w`` (eta*lam0, the midpoint of its measured
    bracket).  ``build(w)`` gives ``(model, numeric loss)``; it must pickle (a module-level function or a
    ``functools.partial`` of one) when the task runs in another process.

    >>> build = functools.partial(_problem_at_width, "uv", "mse", 0, None, "isometric", None, {})
    >>> 3.5 < width_divergence(build, 64, 1e-4, 20, 2000) < 4.5
    True
    """
    from catapult.numerics.search import scan as _scan
    div = _scan(*build(w), rtol=rtol, dps=dps, steps=steps, stability=False).divergence_onset_at_width
    if getattr(div, "lo", None) is None:
        raise ValueError(f"no divergence onset found at width {w} on the scan grid ({div.reason})")
    return float(div.eta_lam0)


def _problem_at_width(model, loss, seed, depth, init, p, labels, w):
    """:func:`scan`'s problem at width ``w`` (module level: a width task must pickle)."""
    return numeric_problem(model, loss, w, seed, depth=depth, init=init, p=p, **labels)[:2]


def _journal_widths(path, key):
    """The widths a journal already holds for the problem ``key`` ({width: eta*lam0}); torn lines are dropped."""
    done = {}
    if path is not None and os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(r, dict) and r.get("key") == key and isinstance(r.get("eta_lam0"), float):
                    done[int(r["width"])] = r["eta_lam0"]
    return done


def divergence_law(widths, first, width, build, rtol, dps, steps, xs=None, on_width=None, *, jobs=None,
                   scheduler=None, journal=None, key=None):
    """Measured divergence thresholds over ``widths`` and the fitted power law eta_div lam0 = C n^a (least squares
    in log-log, with its standard error from the residuals).  ``build(w)`` gives ``(model, numeric loss)``.

    The widths other than ``width`` (whose scan ``first`` is given) are tasks of the sweep executor
    (:func:`catapult.verify.executor.open_executor`: ``jobs`` local processes, default all cores, or a Dask
    ``scheduler``; the same
    task gives the same number wherever it runs).  ``journal``: a JSON-lines file where each width's threshold is
    appended as it finishes (``key`` names the problem), so a rerun after a kill or Ctrl-C skips the widths done.
    The thresholds measured are kept in ``xs`` ({width: eta*lam0}; ``on_width(w)`` after each)."""
    import numpy as np
    xs = {} if xs is None else xs
    xs[width] = float(first.divergence_onset_at_width.eta_lam0) if width in widths else None
    if xs[width] is None:
        del xs[width]
    if getattr(first.divergence_onset_at_width, "lo", None) is None and width in widths:
        raise ValueError(f"no divergence onset found at width {width} on the scan grid "
                         f"({first.divergence_onset_at_width.reason})")
    xs.update({w: x for w, x in _journal_widths(journal, key).items() if w in widths})
    todo = [w for w in dict.fromkeys(widths) if w not in xs]
    log = open(journal, "a") if journal is not None else None

    def took(w, x):
        xs[w] = x
        if log is not None:
            log.write(json.dumps({"key": key, "width": w, "eta_lam0": x}) + "\n")
            log.flush()
        if on_width is not None:
            on_width(w)
    from .executor import each_result, open_executor
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    ex = open_executor(min(jobs, len(todo)), scheduler) if todo and (scheduler or jobs > 1) else None
    try:
        for i, x in each_result(ex, width_divergence, [(build, w, rtol, dps, steps) for w in todo]):
            took(todo[i], x)
    finally:
        if log is not None:
            log.close()
    ys = [xs[w] for w in widths]
    from .fit import fit
    coef, errs = fit(np.c_[np.ones(len(ys)), np.log(widths)], np.log(ys))
    se = float(errs[1]) if len(ys) > 2 else None
    law = {"widths": list(widths), "eta_lam0": ys, "exponent": float(coef[1]), "stderr": se, "exactness": "measured"}
    if se is None:
        law["reasons"] = {"stderr": "two widths determine the line exactly: no residual, no error estimate"}
    return law


@dataclass
class ScanReport:
    """The measured thresholds at one width (:class:`catapult.numerics.search` scan) with what the CLI adds:
    the reduced map's onset (deep, isometric), the eta_max estimate (uv, quadratic loss), a width law."""

    scan: object
    model: str
    loss: object
    width: int
    seed: int
    extra: dict = field(default_factory=dict)
    interrupted: bool = False

    def _repr_html_(self) -> str:
        """Notebook display: each measured threshold under its criterion, as a table."""
        return _html_table("measured thresholds (each under its criterion)", self.to_json())

    def to_json(self) -> dict:
        """The JSON contract of ``catapult scan --json`` (an interrupted scan adds ``interrupted: true`` and
        ``null_reasons``; its thresholds not measured are null with the reason ``interrupted ...``)."""
        d = self.scan.to_json()
        d.update(self.extra)
        d["loss"] = str(self.loss.expr)
        if self.interrupted:
            d["interrupted"] = True
            if d["lam0"] is None:
                d["null_reasons"] = {"lam0": INTERRUPTED}
        return d

    def to_frame(self):
        """The scan as tidy data: a pandas DataFrame, one row per measured threshold (``key``: the criterion's
        key -- and ``divergence_onset_reduced_map``, ``eta_max`` where the scan reports them -- with ``eta_lam0``,
        ``eta``, the bracket ``lo`` / ``hi`` in eta*lam0, ``exactness``, ``precisions``, ``reason`` when not
        measured, ``note``: what an estimate stands for) and the scan's ``model``, ``loss``, ``width``, ``seed``,
        ``lam0``, ``interrupted`` on every row; a width law adds
        one row per width (key ``divergence_law``; its lam0 is that width's, not given: null).  ``catapult scan --table FILE`` writes it.

        >>> df = scan("uv", "mse", width=32, rtol=1e-4, dps=20, steps=300).to_frame()
        >>> df.key.tolist()[:3], bool(3.9 < df.set_index("key").eta_lam0["divergence_onset_at_width"] < 4.1)
        (['divergence_onset_at_width', 'eta_max', 'loss_rise_onset'], True)
        >>> df.set_index("key").criterion["eta_max"]
        'divergence onset at width n (estimates eta_max)'
        """
        import pandas as pd
        d = self.to_json()
        meta = {"model": self.model, "loss": d["loss"], "width": self.width, "seed": self.seed, "lam0": d["lam0"],
                "interrupted": self.interrupted}
        recs = []
        for key in sorted(k for k, v in d.items() if isinstance(v, dict) and "eta_lam0" in v and k != "divergence_law"):
            v = d[key]
            lo, hi = (v.get("bracket") or [None, None])[:2]
            by = d.get(v.get("estimated_by"), {})
            criterion = v.get("criterion") or (f"{by.get('criterion', v['estimated_by'])} (estimates {key})"
                                               if v.get("estimated_by") else key.replace("_", " "))
            recs.append({"key": key, "criterion": criterion,
                         "eta_lam0": v.get("eta_lam0"), "eta": v.get("eta"), "lo": lo, "hi": hi,
                         "exactness": v.get("exactness", "measured"),
                         "precisions": "+".join(v.get("precisions") or []) or None,
                         "reason": v.get("reason"), "note": v.get("why"), **meta})
        law = d.get("divergence_law")
        if isinstance(law, dict):
            for w, x in zip(law.get("widths", []), law.get("eta_lam0", [])):
                recs.append({"key": "divergence_law", "criterion": "divergence onset at width n", "eta_lam0": x,
                             "exactness": "measured", **meta, "width": w, "lam0": None})
        return pd.DataFrame.from_records(recs)

    def __str__(self):
        s, d = self.scan, self.extra
        lines = [f"scan {self.model}, loss {self.loss.expr}, n={self.width}, seed={self.seed}   [measured"
                 + ("; INTERRUPTED: what was measured before Ctrl-C]" if self.interrupted else "]"),
                 f"  lam0 = {'n/a (' + INTERRUPTED + ')' if s.lam0 is None else mpmath.nstr(s.lam0, 15)}"]
        for key, e in s.estimates().items():
            lines.append(f"  {e!r}")
            if getattr(e, "lo", None) is None:
                continue
            line = f"    eta = {mpmath.nstr(e.eta, 12)}"
            if e.extra.get("eta_h_star") is not None:
                line += (f";  eta*lam* l''(f*) = {e.extra['eta_h_star']:.10g} at the minimum GD reaches "
                         f"(f* = {e.extra['f_star']:.10g}, lam*/lam0 = {e.extra['lam_star_over_lam0']:.8g})")
            lines.append(line)
            if key == "divergence_onset_at_width" and "eta_max" in d:
                lines.append(f"    (squared loss: estimates the width-independent eta_max; {d['eta_max']['why']})")
        lines += [f"  note: {note}" for note in s.notes]
        r = d.get("divergence_onset_reduced_map")
        if r is not None and r["eta_lam0"] is None:
            lines.append(f"  reduced map (exact, same network): divergence onset not located: {r['reason']}")
        elif r is not None:
            lines.append(f"  reduced map (exact, same network): divergence onset eta*lam0 in [{r['bracket'][0]:.10g}, "
                         f"{r['bracket'][1]:.10g}]; full-width GD has the same verdicts at both ends: "
                         f"{r['full_width_agrees_at_ends']}")
        law = d.get("divergence_law")
        if law and law["exponent"] is None:
            lines.append(f"  divergence law: {law['reasons']['exponent']} [measured]")
            lines += [f"    n={w}: eta_div*lam0 = {x:.6g}" for w, x in zip(law["widths"], law["eta_lam0"])]
        elif law:
            pm = "(no error estimate: 2 widths)" if law["stderr"] is None else f"+/- {law['stderr']:.4f}"
            lines.append(f"  divergence law (divergence onset at width n): eta_div*lam0 = C n^a with a = "
                         f"{law['exponent']:.4f} {pm} over n = {law['widths']} [measured]")
            lines += [f"    n={w}: eta_div*lam0 = {x:.6g}" for w, x in zip(law["widths"], law["eta_lam0"])]
        return "\n".join(lines)


#: the reason of a null value in an interrupted scan
INTERRUPTED = "interrupted (Ctrl-C) before it was measured"

class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`scan_problem`: ``report`` is the :class:`ScanReport` of what was measured so far
    (``interrupted=True``; the thresholds not measured are :class:`NotMeasured` with the reason)."""

    def __init__(self, report):
        super().__init__("scan interrupted")
        self.report = report


@dataclass
class _Stages:
    """What a scan has measured so far, and its progress (``progress(done, total, now)``)."""

    total: int
    progress: object = None
    done: dict = field(default_factory=dict)   # threshold name -> estimate
    law: dict = field(default_factory=dict)    # width -> eta_div*lam0 of the law, as measured
    count: int = 0

    def tell(self, now):
        if self.progress is not None:
            self.progress(self.count, self.total, now)

    def threshold(self, key, est):
        self.done[key] = est
        self.count += 1
        order = ("loss-rise onset", "divergence onset at width n", "linear stability threshold")
        self.tell(order[len(self.done)] if len(self.done) < 3 else "")

    def stage(self, now=""):
        self.count += 1
        self.tell(now)


def _partial_report(st, model, loss, name, width, seed, dps, extra, widths):
    from catapult.numerics.search import CRITERIA, NotMeasured, ScanResult
    est = {k: st.done.get(k) or NotMeasured(k, INTERRUPTED) for k in CRITERIA}
    lam0 = next((e.lam0 for e in est.values() if getattr(e, "lo", None) is not None), None)
    missing = [k for k in est if k not in st.done]
    s = ScanResult(est["loss_rise_onset"], est["stability_threshold"], est["divergence_onset_at_width"], lam0,
                   model.width, model.seed, dps, [f"{INTERRUPTED}: {', '.join(missing)}"] if missing else [])
    if widths and st.law:
        got = [w for w in widths if w in st.law]
        extra["divergence_law"] = {"widths": got, "eta_lam0": [st.law[w] for w in got], "exponent": None,
                                   "stderr": None, "exactness": "measured",
                                   "reasons": {"exponent": f"interrupted after {len(got)} of {len(widths)} widths",
                                               "stderr": INTERRUPTED}}
    return ScanReport(s, name, loss, width, seed, extra, interrupted=True)


def scan_problem(model, nl, loss, *, name, width, seed, rtol=1e-6, dps=50, steps=2000, uv=False, widths=None,
                 build=None, progress=None, jobs=None, scheduler=None, journal=None, key=None) -> ScanReport:
    """The scan at one width on a built problem, with the extras: the exact reduced map's onset for an isometric
    deep network, the eta_max estimate for the uv model under a quadratic loss (``uv=True``), and the law over
    ``widths`` (``build(w)`` gives the problem at width w; the widths run as tasks of the sweep executor, with
    ``jobs``, ``scheduler``, ``journal`` and ``key`` as in :func:`divergence_law`).

    ``progress(done, total, now)`` is told the stages done, their number and what runs now (a label).
    Ctrl-C raises :class:`ScanInterrupted` with the report of what was measured so far."""
    from catapult.numerics.deep import DeepLinearModel  # (a user model file named deep is a GramModel)
    from catapult.numerics.search import scan as _scan
    deep_iso = isinstance(model, DeepLinearModel) and model.init_kind == "isometric"
    st = _Stages(3 + deep_iso + len([w for w in (widths or ()) if w != width]), progress)
    extra = {}
    st.tell("loss-rise onset")
    try:
        s = _scan(model, nl, rtol=rtol, dps=dps, steps=steps, on_result=st.threshold)
        div = s.divergence_onset_at_width
        if deep_iso:
            st.tell("divergence onset of the reduced map")
            if getattr(div, "lo", None) is not None:
                extra["divergence_onset_reduced_map"] = reduced_onset(model, nl, loss, div, rtol, dps, steps)
            st.stage()
        if getattr(div, "lo", None) is not None and _quadratic(loss) and uv:
            extra["eta_max"] = {"estimated_by": "divergence_onset_at_width", "eta": float(div.eta),
                                "eta_lam0": float(div.eta_lam0), "exactness": "measured",
                                "why": "for a quadratic loss the derived eta_max (4/lam0 for the uv model) is a "
                                       "width-independent divergence bound, which the first divergence at width n "
                                       "measures"}
        if widths:
            extra["divergence_law"] = divergence_law(widths, s, width, build, rtol, dps, steps, st.law,
                                                     lambda w: st.stage(f"n={w} done"), jobs=jobs,
                                                     scheduler=scheduler, journal=journal, key=key)
    except KeyboardInterrupt:
        raise ScanInterrupted(_partial_report(st, model, loss, name, width, seed, dps, extra, widths)) from None
    return ScanReport(s, name, loss, width, seed, extra)
