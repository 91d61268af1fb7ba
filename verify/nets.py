"""Networks on real data: one run (``catapult net``) and a sweep with its measured thresholds (``catapult net-sweep``).

Everything here is **measured** (JAX float64 on CPU, one precision: not cross-checked, ``agreed`` = None as in
:mod:`catapult.verify.sweep`).  GD runs at eta = c / lam0, lam0 = lam_max(Theta0), Theta = J J^T / m
(:mod:`catapult.numerics.nets` for the conventions).  Thresholds of a sweep, per (activation, depth, width, seed),
each under its named criterion on the c grid:

* ``c_crit``  -- the smallest c whose training loss ever exceeded L0 (criterion "loss exceeds L0");
* ``c_max``   -- the largest c whose run converged (lazy or catapult);
* ``c_blowup`` -- the smallest c whose run diverged (runaway or overflow).

The sweep is vmapped over (c, seed) in one batch per architecture: the engine of :mod:`catapult.verify.sweep`
runs one point per task, which would forgo the batching, so the table is written here (same CSV / Parquet
choice by suffix) and carries the preprocessing and the split in its columns.

>>> r = run_net(task="0,1", activation="relu", depth=2, width=64, c=1.0, m=32, steps=200)
>>> r.verdict, r.meta["normalise"]
('lazy', '|x| = sqrt(d)')
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .net_data import load_task
from .problems import ProblemError

#: floating-point operations of one net step per sample and parameter (forward and backward)
_FLOPS = 6
#: largest predicted float64 work of one command (6 m x parameters x steps x runs; ~10 min at ~15 GFLOP/s here)
MAX_NET_FLOPS = 10 ** 13


def check_net_cost(per_step, steps, runs=1):
    """Refuse, before any run, more than :data:`MAX_NET_FLOPS` predicted operations.

    >>> check_net_cost(10 ** 9, 2000, runs=10)
    Traceback (most recent call last):
    ...
    catapult.verify.problems.ProblemError: estimated work 2e+13 flops > 1e+13 (limit MAX_NET_FLOPS, ~10 min): reduce --width, --m, --steps or the grid
    """
    work = per_step * steps * runs
    if work > MAX_NET_FLOPS:
        raise ProblemError(f"estimated work {work:.2g} flops > {MAX_NET_FLOPS:.0e} (limit MAX_NET_FLOPS, ~10 min): "
                           "reduce --width, --m, --steps or the grid")


def _nets():
    try:
        from catapult.numerics import nets
    except ImportError as exc:
        raise ProblemError(f"networks need the nets extra (pip install 'catapult[nets]'): {exc}") from None
    return nets


@dataclass
class NetResult:
    """One run: lam0, the verdict, eta*lam_final, train/test loss and accuracy, the losses, the preprocessing."""

    net: dict
    c: float
    lam0: float
    lam0_method: str
    verdict: str
    reason: str
    stop: str
    steps: int
    eta_lam_final: float | None
    loss0: float
    loss_peak: float
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    hessian_top0: float | None
    meta: dict
    losses: list = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        """Plain JSON (non-finite numbers as strings); ``losses`` are left out."""
        d = {k: v for k, v in self.__dict__.items() if k != "losses"}
        return {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()} | {
            "exactness": "measured (jax float64, cpu; one precision)"}

    def __str__(self):
        n = self.net
        lines = [f"net: {n['activation']} depth {n['depth']} width {n['width']}, {n['loss']} loss, seed {n['seed']}; "
                 f"{self.meta['data']} task {self.meta['task']} ({self.meta['labels']})",
                 f"  data: m = {self.meta['m_train']} train / {self.meta['m_test']} test, d = {self.meta['d']}; "
                 f"{self.meta['standardise']}; {self.meta['normalise']}; split seed {self.meta['split_seed']}",
                 f"  lam0 = {self.lam0:.10g} (top eigenvalue of Theta0 = J J^T/m, {self.lam0_method}); "
                 f"eta = c/lam0 with c = {self.c:g}",
                 f"  verdict: {self.verdict} -- {self.reason} (stop: {self.stop}, {self.steps} steps)",
                 f"  eta*lam_final = {_fmt(self.eta_lam_final)}; loss L0 = {self.loss0:.4g}, peak {self.loss_peak:.4g}",
                 f"  train loss {_fmt(self.train_loss)}, accuracy {self.train_accuracy:.4f}; "
                 f"test loss {_fmt(self.test_loss)}, accuracy {self.test_accuracy:.4f}"]
        if self.hessian_top0 is not None:
            lines.append(f"  top Hessian eigenvalue of the loss at init: {self.hessian_top0:.6g}")
        return "\n".join(lines) + "\n  (measured: jax float64 on cpu, one precision)"


def _fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


def _method(nets, net, m, d):
    return "exact eigvalsh" if m * net.size(d) <= nets.EXACT_LIMIT else "Lanczos (eigsh) on JVP/VJP products"


def evaluate_runs(nets, net, ds, lam0s, cs, batch, final_params, hessian=False):
    """Verdicts and metrics of a finished batch (lists in batch order): eigsh for lam_final of every finite run
    (and, with ``hessian``, ``hessian_top_final``: the top eigenvalue of the training loss's Hessian at the end,
    Lanczos on Hessian-vector products; None for a divergent run)."""
    from catapult.numerics.phase import net_phase
    from catapult.numerics.stop import CONVERGED, DIVERGED, Stop
    out = []
    for i, c in enumerate(cs):
        L = batch.loss[i, :batch.steps[i] + 1]
        code = int(batch.code[i])
        stop = Stop.CONVERGED if code == CONVERGED else Stop.BUDGET
        if code == DIVERGED:
            stop = Stop.NONFINITE if not np.all(np.isfinite(L)) else Stop.RUNAWAY
        p = nets.unstack(final_params, i)
        lam_f = None
        if not stop.diverged:
            lam_f = nets.ntk_top(net, p, ds.X)
        ratio = None if lam_f is None else lam_f / lam0s[i]
        phase, reason = net_phase(stop, L, ratio)
        row = {"c": float(c), "lam0": float(lam0s[i]), "verdict": phase.value, "reason": reason, "stop": stop.value,
               "steps": int(batch.steps[i]), "loss0": float(L[0]), "loss_peak": float(np.nanmax(L)),
               "eta_lam_final": None if lam_f is None else float(c * ratio)}
        if hessian:
            row["hessian_top_final"] = None if stop.diverged else float(nets.hessian_top(net, p, ds.X, ds.y))
        row.update(_metrics(nets, net, p, ds) if not stop.diverged else
                   {"train_loss": float("inf"), "train_accuracy": float("nan"), "test_loss": float("inf"),
                    "test_accuracy": float("nan")})
        out.append(row)
    return out


def _metrics(nets, net, p, ds):
    Ltr, ftr = nets.loss(net, p, ds.X, ds.y)
    Lte, fte = nets.loss(net, p, ds.X_test, ds.y_test)
    return {"train_loss": float(Ltr), "train_accuracy": nets.accuracy(ftr, ds.y), "test_loss": float(Lte),
            "test_accuracy": nets.accuracy(fte, ds.y_test)}


def run_net(data="digits", task="even-odd", *, activation="relu", depth=2, width=512, c=3.0, loss="mse", seed=0,
            steps=2000, m=256, test=None, split_seed=0, norm="sqrt-d", bias=False, hessian=False) -> NetResult:
    """One full-batch GD run of a net on a task at eta = c / lam0 (see the module docstring)."""
    nets = _nets()
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise ProblemError(f"--c must be a finite number > 0, got {c!r}")
    net = nets.Net(int(depth), int(width), activation, bias, loss)
    ds = load_task(data, task, m=m, test=test, split_seed=split_seed, norm=norm)
    d = ds.X.shape[1]
    check_net_cost(_FLOPS * m * net.size(d), int(steps))
    p = nets.init(net, d, seed)
    lam0 = nets.ntk_top(net, p, ds.X)
    H = nets.hessian_top(net, p, ds.X, ds.y) if hessian else None
    batch = nets.run_gd(net, nets.stack([p]), ds.X, ds.y, np.array([c / lam0]), steps=steps)
    row = evaluate_runs(nets, net, ds, [lam0], [c], batch, batch.params)[0]
    spec = {"activation": activation, "depth": int(depth), "width": int(width), "loss": loss, "bias": bool(bias),
            "seed": int(seed), "parametrisation": "NTK: f = W_L phi(... phi(W_1 x/sqrt(d)) ...)/sqrt(n)",
            "loss_convention": "mse: 1/(2m) sum (f-y)^2; logistic: (1/m) sum log(1+exp(-y f))"}
    return NetResult(spec, float(c), lam0, _method(nets, net, m, d), row["verdict"], row["reason"], row["stop"],
                     row["steps"], row["eta_lam_final"], row["loss0"], row["loss_peak"], row["train_loss"],
                     row["train_accuracy"], row["test_loss"], row["test_accuracy"], H, ds.meta,
                     [float(v) for v in batch.loss[0, :batch.steps[0] + 1]])


def thresholds(df):
    """c_crit, c_max, c_blowup and the best-test-accuracy c per (activation, depth, width, seed) of a sweep table.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"activation": "relu", "depth": 2, "width": 8, "seed": 0, "c": [1.0, 3.0, 5.0],
    ...                    "verdict": ["lazy", "catapult", "divergent"], "loss_peak_ratio": [1.0, 9.0, 1e9],
    ...                    "test_accuracy": [0.8, 0.9, float("nan")]})
    >>> thresholds(df)[["c_crit", "c_max", "c_blowup", "c_best_test"]].values.tolist()
    [[3.0, 3.0, 5.0, 3.0]]
    """
    import pandas as pd
    rows = []
    for key, g in df.groupby(["activation", "depth", "width", "seed"], sort=True):
        g = g.sort_values("c")
        rose = g[g["loss_peak_ratio"] > 1]
        conv = g[g["verdict"].isin(["lazy", "catapult"])]
        div = g[g["verdict"] == "divergent"]
        acc = g[np.isfinite(g["test_accuracy"])]
        rows.append(dict(zip(["activation", "depth", "width", "seed"], key),
                         c_crit=float(rose["c"].min()) if len(rose) else None,
                         c_max=float(conv["c"].max()) if len(conv) else None,
                         c_blowup=float(div["c"].min()) if len(div) else None,
                         c_best_test=float(acc.loc[acc["test_accuracy"].idxmax(), "c"]) if len(acc) else None,
                         best_test_accuracy=float(acc["test_accuracy"].max()) if len(acc) else None))
    return pd.DataFrame(rows)


@dataclass
class NetSweep:
    """A sweep's tidy table (one row per run) and its thresholds table."""

    table: object
    thresholds: object
    meta: dict

    def to_json(self) -> dict:
        """The thresholds and the run rows as plain JSON."""
        clean = lambda df: json.loads(df.to_json(orient="records"))  # noqa: E731 (NaN -> null)
        return {"criteria": CRITERIA, "meta": self.meta, "thresholds": clean(self.thresholds),
                "runs": clean(self.table), "exactness": "measured (jax float64, cpu; one precision)"}

    def __str__(self):
        head = [f"net-sweep: {len(self.table)} runs on {self.meta['data']} task {self.meta['task']} "
                f"(m = {self.meta['m_train']}, {self.meta['normalise']}, split seed {self.meta['split_seed']})",
                "criteria: " + "; ".join(f"{k} = {v}" for k, v in CRITERIA.items())]
        return "\n".join(head + [self.thresholds.to_string(index=False)])


CRITERIA = {"c_crit": "smallest c whose loss ever exceeded L0", "c_max": "largest c that converged (lazy/catapult)",
            "c_blowup": "smallest c that diverged", "c_best_test": "c of the best test accuracy"}


def net_sweep(data="digits", task="even-odd", *, activations=("relu",), depths=(2,), widths=(512,), seeds=(0,),
              c_grid=(1.0, 2.0, 3.0, 4.0), loss="mse", steps=1000, m=256, test=None, split_seed=0, norm="sqrt-d",
              bias=False, out=None, label_noise=0.0, noise_seed=0, hessian=False) -> NetSweep:
    """Runs of every (activation, depth, width) over the c grid x seeds (one vmapped batch each), their tidy table
    (written to ``out``: .csv or .parquet) and the thresholds of :func:`thresholds`.  ``label_noise``,
    ``noise_seed``: :func:`catapult.verify.net_data.load_task`'s; ``hessian``: a ``hessian_top_final`` column
    (:func:`evaluate_runs`)."""
    import pandas as pd
    nets = _nets()
    cs = [float(c) for c in c_grid]
    if not cs or not all(math.isfinite(c) and c > 0 for c in cs):
        raise ProblemError("--c-grid: give finite numbers > 0")
    if out is not None and not str(out).endswith((".csv", ".parquet")):
        raise ProblemError(f"-o {out}: the table must be .csv or .parquet")
    ds = load_task(data, task, m=m, test=test, split_seed=split_seed, norm=norm, label_noise=label_noise,
                   noise_seed=noise_seed)
    d = ds.X.shape[1]
    archs = [nets.Net(int(L), int(n), a, bias, loss) for a in activations for L in depths for n in widths]
    check_net_cost(sum(_FLOPS * m * a.size(d) for a in archs), int(steps), runs=len(cs) * len(seeds))
    rows = []
    for net in archs:
        ps = [nets.init(net, d, s) for s in seeds]
        lam0 = [nets.ntk_top(net, p, ds.X) for p in ps]
        lam_b = [lam0[j] for j in range(len(seeds)) for _ in cs]
        c_b = [c for _ in seeds for c in cs]
        batch = nets.run_gd(net, nets.stack([p for p in ps for _ in cs]), ds.X, ds.y,
                            np.array(c_b) / np.array(lam_b), steps=steps)
        for k, r in enumerate(evaluate_runs(nets, net, ds, lam_b, c_b, batch, batch.params, hessian)):
            rows.append({"activation": net.activation, "depth": net.depth, "width": net.width, "loss": loss,
                         "bias": bias, "seed": int(seeds[k // len(cs)]), **r,
                         "loss_peak_ratio": r["loss_peak"] / r["loss0"], **ds.meta})
    df = pd.DataFrame(rows)
    if out is not None:
        df.to_parquet(out, index=False) if str(out).endswith(".parquet") else df.to_csv(out, index=False)
    return NetSweep(df, thresholds(df), ds.meta)
