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

from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .problems import numeric_problem

#: the keys of a run's evidence printed in the text report, in order
TEXT_KEYS = ("eta", "lam0", "eta_lam0", "lam_final", "eta_lam_final", "sharpness_final", "loss0", "loss_peak",
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

    @property
    def phase(self) -> str:
        """The agreed phase's name."""
        return self.result.phase.value

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
            curv = sp.lambdify(fs, loss.d2, "mpmath")
            ev["sharpness_final"] = ev["eta"] * ev["lam_final"] * curv(traj.f[-1])
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, NameError):
            reasons["sharpness_final"] = f"l''(f) = {loss.d2} could not be evaluated at the final f"
            return
        if not isinstance(ev["sharpness_final"], mpmath.mpf):  # complex: l'' not real there
            ev["sharpness_final"] = None
            reasons["sharpness_final"] = "l''(f) is not real at the final f"


def mode_report(model, nl, kw, dps, Y, reasons):
    """Per-eigendirection evidence from a run that records all outputs and the NTK matrix (measured)."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    tr = run_gd(model, nl, backend=get_backend("arb", dps), observe=True, **kw)
    with mpmath.workdps(dps):
        T0 = mpmath.matrix(tr.observed[0]["ntk"])
        E, Q = mpmath.eigsy(T0)
        order = sorted(range(len(E)), key=lambda i: -E[i])
        Ef = sorted(mpmath.eigsy(mpmath.matrix(tr.observed[-1]["ntk"]), eigvals_only=True), reverse=True)
        ys = [mpmath.mpf(float(v)) for v in Y]
        comps = []
        for obs in tr.observed:
            r = mpmath.matrix([o - y for o, y in zip(obs["outputs"], ys)])
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
                sample_labels=None) -> RunReport:
    """The agreed phase of one run on a built problem (``numeric_problem``), with its evidence."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.numerics.phase import agreed_phase
    kw = dict(eta=eta, eta_lam0=eta_lam0, steps=steps)
    r = agreed_phase(model, nl, dps=dps, **kw)
    ev, reasons = r.evidence, {}
    if ev.get("loss0") == 0:
        ev["loss_peak_ratio"] = None
        reasons["loss_peak_ratio"] = "loss0 = 0 (the run starts at a minimum): the ratio loss_peak/loss0 is undefined"
    _sharpness(ev, reasons, loss, r.trajectory, dps)
    if sample_labels is not None:
        ev.update(mode_report(model, nl, kw, dps, sample_labels, reasons))
        ev.pop("sharpness_final", None)
    null_nonfinite(ev, reasons)
    rows = []
    if trace:
        rows = run_gd(model, nl, backend=get_backend("arb", dps), **kw).rows()[::trace]
    return RunReport(r, name, loss, model.width, model.seed, dps, reasons, rows)


def run(model="uv", loss="mse", *, width, eta=None, eta_lam0=None, steps=5000, dps=50, seed=0, depth=None,
        init="isometric", p=None, trace=0, **label_values) -> RunReport:
    """Parameter GD at ``dps`` and ``2 dps`` digits from one init and its agreed phase (measured).

    ``model``: ``"uv"``, ``"deep"`` (``depth=``), a VectorModel, a ModelDefinition or a model file path;
    ``loss`` as in :func:`catapult.theory.loss.as_loss`; exactly one of ``eta`` and ``eta_lam0``.
    """
    m, nl, lo = numeric_problem(model, loss, width, seed, depth=depth, init=init, p=p, **label_values)
    name = model if isinstance(model, str) and not model.endswith(".toml") else getattr(m, "name", "model")
    return run_problem(m, nl, lo, name=name, eta=eta, eta_lam0=eta_lam0, steps=steps, dps=dps, trace=trace)


def scan(model="uv", loss="mse", *, width, seed=0, rtol=1e-6, dps=50, steps=2000, depth=None, init="isometric",
         p=None, **label_values):
    """The measured thresholds at one width, each under its criterion (:func:`catapult.numerics.search.scan`):
    loss-rise onset, linear stability threshold of the minimum GD reaches, divergence onset at width n.

    >>> s = scan("uv", "mse", width=64, rtol=1e-5)
    >>> abs(s.divergence_onset_at_width.eta_lam0 - 4) < 0.2
    True
    """
    from catapult.numerics.search import scan as _scan
    m, nl, _ = numeric_problem(model, loss, width, seed, depth=depth, init=init, p=p, **label_values)
    return _scan(m, nl, rtol=rtol, dps=dps, steps=steps)
