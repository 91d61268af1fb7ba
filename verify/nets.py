"""Networks on real data: one run (``catapult net``) and a sweep with its measured thresholds (``catapult net-sweep``).

Everything here is **measured** (JAX on CPU): each run at float64, and its verdict checked by the same run at
float32 (:func:`cross_check`; a verdict the two precisions do not share is ``undetermined``, ``agreed`` False, as
in :mod:`catapult.verify.sweep`; ``check=None``: one precision, ``agreed`` None).  GD runs at eta = c / lam0,
lam0 = lam_max(Theta0), Theta = J J^T / m (:mod:`catapult.numerics.nets` for the conventions).  Thresholds of a
sweep, per (activation, depth, width, seed), each under its named criterion on the c grid:

* ``c_crit``  -- the smallest c whose training loss ever exceeded L0 (criterion "loss exceeds L0");
* ``c_max``   -- the largest c whose run converged (lazy or catapult);
* ``c_blowup`` -- the smallest c whose run diverged (runaway or overflow).

The runs of an architecture go one at a time (or vmapped over (c, seed) in one batch: ``vmap=True``, slower on
CPU, see :func:`catapult.numerics.nets.run_many`), and the architectures are the tasks of the
sweep engine's executor (:mod:`catapult.verify.executor`: local processes or a Dask cluster); the table is
written here (the same CSV / Parquet choice by suffix as :mod:`catapult.verify.sweep`) and carries the
preprocessing and the split in its columns.

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
    agreed: bool | None = None
    verdict_check: str | None = None
    check: str | None = None

    def to_json(self) -> dict:
        """Plain JSON (non-finite numbers as strings); ``losses`` are left out."""
        d = {k: v for k, v in self.__dict__.items() if k != "losses"}
        return {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()} | {
            "exactness": _exactness(self.check, self.agreed)}

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
        return "\n".join(lines) + f"\n  ({_exactness(self.check, self.agreed)})"


def _exactness(check, agreed):
    """The label of a net result: measured, at which precisions, and whether the verdicts agreed.

    >>> _exactness("float32", False)
    'measured: jax float64 on cpu; verdict checked at float32: the precisions disagree (undetermined)'
    """
    if check is None:
        return "measured: jax float64 on cpu, one precision (verdict not cross-checked)"
    said = {True: "agreed", False: "the precisions disagree (undetermined)"}.get(agreed, "see the count")
    return f"measured: jax float64 on cpu; verdict checked at {check}: {said}"


def _fmt(v):
    return "n/a" if v is None else f"{v:.4g}"


def _lam0(nets, net, p, X):
    """lam0 = lam_max(Theta0), refused when it is not a positive number (then eta = c / lam0 is undefined)."""
    lam0 = nets.ntk_top(net, p, X)
    if not (math.isfinite(lam0) and lam0 > 0):
        raise ProblemError(f"the initial NTK's top eigenvalue is {lam0:.3g}, so eta = c / lam0 is undefined "
                           "(e.g. with m = 1 every standardised feature is 0: give --m >= 2)")
    return lam0


def _method(nets, net, m, d):
    return "exact eigvalsh" if m * net.size(d) <= nets.EXACT_LIMIT else "Lanczos (eigsh) on JVP/VJP products"


def _verdicts(nets, net, ds, lam0s, batch, final_params):
    """``(Phase, reason, Stop, lam_final)`` of every run of a finished batch (eigsh for lam_final of a finite run)."""
    from catapult.numerics.phase import net_phase
    from catapult.numerics.stop import CONVERGED, DIVERGED, Stop
    out = []
    for i in range(len(lam0s)):
        L = batch.loss[i, :batch.steps[i] + 1]
        code = int(batch.code[i])
        stop = Stop.CONVERGED if code == CONVERGED else Stop.BUDGET
        if code == DIVERGED:
            stop = Stop.NONFINITE if not np.all(np.isfinite(L)) else Stop.RUNAWAY
        lam_f = None if stop.diverged else nets.ntk_top(net, nets.unstack(final_params, i), ds.X)
        phase, reason = net_phase(stop, L, None if lam_f is None else lam_f / lam0s[i])
        out.append((phase, reason, stop, lam_f))
    return out


def evaluate_runs(nets, net, ds, lam0s, cs, batch, final_params, hessian=False):
    """Verdicts and metrics of a finished batch (lists in batch order): eigsh for lam_final of every finite run
    (and, with ``hessian``, ``hessian_top_final``: the top eigenvalue of the training loss's Hessian at the end,
    Lanczos on Hessian-vector products; None for a divergent run)."""
    out = []
    for i, (c, (phase, reason, stop, lam_f)) in enumerate(zip(cs, _verdicts(nets, net, ds, lam0s, batch,
                                                                             final_params))):
        L = batch.loss[i, :batch.steps[i] + 1]
        p = nets.unstack(final_params, i)
        row = {"c": float(c), "lam0": float(lam0s[i]), "verdict": phase.value, "reason": reason, "stop": stop.value,
               "steps": int(batch.steps[i]), "loss0": float(L[0]), "loss_peak": float(np.nanmax(L)),
               "eta_lam_final": None if lam_f is None else float(c * lam_f / lam0s[i])}
        if hessian:
            row["hessian_top_final"] = None if stop.diverged else float(nets.hessian_top(net, p, ds.X, ds.y))
        row.update(_metrics(nets, net, p, ds) if not stop.diverged else
                   {"train_loss": float("inf"), "train_accuracy": float("nan"), "test_loss": float("inf"),
                    "test_accuracy": float("nan")})
        out.append(row)
    return out


#: the precisions of a net verdict: the run at float64, and the same runs again at CHECK_DTYPE (None: not checked)
CHECK_DTYPE = "float32"


def cross_check(nets, net, ds, params_batch, etas, lam0s, steps, rows, check=CHECK_DTYPE, vmap=False):
    """Run the batch again at ``check`` precision and compare verdicts, in place on ``rows`` (those of
    :func:`evaluate_runs`): ``verdict_<check>`` and ``agreed``; a verdict the two precisions do not share becomes
    ``undetermined`` (the reason names both), as in :mod:`catapult.verify.sweep`.  ``check=None``: ``agreed`` is
    None (one precision, not cross-checked)."""
    if check is None:
        for r in rows:
            r.update(agreed=None)
        return rows
    batch = nets.run_many(net, params_batch, ds.X, ds.y, etas, steps=steps, dtype=check, vmap=vmap)
    for r, (phase, reason, _, _) in zip(rows, _verdicts(nets, net, ds, lam0s, batch, batch.params)):
        agreed = phase.value == r["verdict"]
        r[f"verdict_{check}"] = phase.value
        if not agreed:
            r["reason"] = (f"precisions disagree: float64 {r['verdict']} ({r['reason']}); "
                           f"{check} {phase.value} ({reason})")
            r["verdict"] = "undetermined"
        r["agreed"] = agreed
    return rows


def _metrics(nets, net, p, ds):
    Ltr, ftr = nets.loss(net, p, ds.X, ds.y)
    Lte, fte = nets.loss(net, p, ds.X_test, ds.y_test)
    return {"train_loss": float(Ltr), "train_accuracy": nets.accuracy(ftr, ds.y), "test_loss": float(Lte),
            "test_accuracy": nets.accuracy(fte, ds.y_test)}


def run_net(data="digits", task="even-odd", *, activation="relu", depth=2, width=512, c=3.0, loss="mse", seed=0,
            steps=2000, m=256, test=None, split_seed=0, norm="sqrt-d", bias=False, hessian=False,
            check=CHECK_DTYPE, label_noise=0.0, noise_seed=0) -> NetResult:
    """One full-batch GD run of a net on a task at eta = c / lam0 (see the module docstring; ``check``: the
    second precision of the verdict, None for none; ``label_noise``, ``noise_seed``: those of
    :func:`catapult.verify.net_data.load_task`)."""
    nets = _nets()
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise ProblemError(f"--c must be a finite number > 0, got {c!r}")
    net = nets.Net(int(depth), int(width), activation, bias, loss)
    ds = load_task(data, task, m=m, test=test, split_seed=split_seed, norm=norm, label_noise=label_noise,
                   noise_seed=noise_seed)
    d = ds.X.shape[1]
    check_net_cost(_FLOPS * m * net.size(d), int(steps), runs=1 if check is None else 2)
    p = nets.init(net, d, seed)
    lam0 = _lam0(nets, net, p, ds.X)
    H = nets.hessian_top(net, p, ds.X, ds.y) if hessian else None
    batch = nets.run_gd(net, nets.stack([p]), ds.X, ds.y, np.array([c / lam0]), steps=steps)
    row = evaluate_runs(nets, net, ds, [lam0], [c], batch, batch.params)[0]
    cross_check(nets, net, ds, nets.stack([p]), np.array([c / lam0]), [lam0], steps, [row], check)
    spec = {"activation": activation, "depth": int(depth), "width": int(width), "loss": loss, "bias": bool(bias),
            "seed": int(seed), "parametrisation": "NTK: f = W_L phi(... phi(W_1 x/sqrt(d)) ...)/sqrt(n)",
            "loss_convention": "mse: 1/(2m) sum (f-y)^2; logistic: (1/m) sum log(1+exp(-y f))"}
    return NetResult(spec, float(c), lam0, _method(nets, net, m, d), row["verdict"], row["reason"], row["stop"],
                     row["steps"], row["eta_lam_final"], row["loss0"], row["loss_peak"], row["train_loss"],
                     row["train_accuracy"], row["test_loss"], row["test_accuracy"], H, ds.meta,
                     [float(v) for v in batch.loss[0, :batch.steps[0] + 1]], row["agreed"],
                     row.get(f"verdict_{check}"), check)


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
                "runs": clean(self.table), "exactness": self.exactness}

    @property
    def exactness(self):
        """measured, the precisions, and how many verdicts the two precisions shared."""
        check = self.meta.get("check")
        if check is None or "agreed" not in self.table:
            return _exactness(None, None)
        n, ok = len(self.table), int(self.table["agreed"].sum())
        return (f"measured: jax float64 on cpu; verdicts checked at {check}: {ok} of {n} agreed (the others are "
                "undetermined)" if ok < n else _exactness(check, True) + f" ({n} of {n} verdicts)")

    def __str__(self):
        head = [f"net-sweep: {len(self.table)} runs on {self.meta['data']} task {self.meta['task']} "
                f"(m = {self.meta['m_train']}, {self.meta['normalise']}, split seed {self.meta['split_seed']})",
                "criteria: " + "; ".join(f"{k} = {v}" for k, v in CRITERIA.items()), self.exactness]
        return "\n".join(head + [self.thresholds.to_string(index=False)])


CRITERIA = {"c_crit": "smallest c whose loss ever exceeded L0", "c_max": "largest c that converged (lazy/catapult)",
            "c_blowup": "smallest c that diverged", "c_best_test": "c of the best test accuracy"}


def net_sweep(data="digits", task="even-odd", *, activations=("relu",), depths=(2,), widths=(512,), seeds=(0,),
              c_grid=(1.0, 2.0, 3.0, 4.0), loss="mse", steps=1000, m=256, test=None, split_seed=0, norm="sqrt-d",
              bias=False, out=None, label_noise=0.0, noise_seed=0, hessian=False, check=CHECK_DTYPE, jobs=1,
              scheduler=None, vmap=False) -> NetSweep:
    """Runs of every (activation, depth, width) over the c grid x seeds (one at a time, or one vmapped batch per
    architecture with ``vmap``; ``check``: the verdicts' second precision, :func:`cross_check`), their tidy table (written to ``out``: .csv or .parquet) and
    the thresholds of :func:`thresholds`.  ``label_noise``, ``noise_seed``:
    :func:`catapult.verify.net_data.load_task`'s; ``hessian``: a ``hessian_top_final`` column
    (:func:`evaluate_runs`).

    Each architecture is one task of the sweep engine's executor (:func:`catapult.verify.executor.open_executor`):
    ``jobs`` local processes (started fresh, not forked: JAX is multithreaded) or the Dask ``scheduler``; the
    default ``jobs=1`` runs them here, where XLA already uses every core for a batch.  ``vmap``: one vmapped batch
    per architecture instead of one run at a time (:func:`catapult.numerics.nets.run_many`: on CPU the loop is
    the faster).
    """
    import pandas as pd
    nets = _nets()
    cs = [float(c) for c in c_grid]
    if not cs or not all(math.isfinite(c) and c > 0 for c in cs):
        raise ProblemError("--c-grid: give finite numbers > 0")
    if out is not None and not str(out).endswith((".csv", ".parquet")):
        raise ProblemError(f"-o {out}: the table must be .csv or .parquet")
    task_args = dict(data=data, task=task, m=m, test=test, split_seed=split_seed, norm=norm, label_noise=label_noise,
                     noise_seed=noise_seed)
    ds = load_task(**task_args)
    d = ds.X.shape[1]
    archs = [(a, int(L), int(n)) for a in activations for L in depths for n in widths]
    built = [nets.Net(L, n, a, bias, loss) for a, L, n in archs]   # a bad activation or size: refused up front
    check_net_cost(sum(_FLOPS * m * net.size(d) for net in built), int(steps),
                   runs=len(cs) * len(seeds) * (1 if check is None else 2))   # the rerun at `check` counts too
    from .executor import each_result, open_executor
    ex = open_executor(jobs, scheduler, context="spawn") if scheduler is not None or (jobs or 1) > 1 else None
    tasks = [(task_args, arch, bias, loss, tuple(int(s) for s in seeds), tuple(cs), int(steps), check, hessian,
              bool(vmap)) for arch in archs]
    done = dict(each_result(ex, architecture_rows, tasks))
    df = pd.DataFrame([r for i in range(len(tasks)) for r in done[i]])
    if out is not None:
        df.to_parquet(out, index=False) if str(out).endswith(".parquet") else df.to_csv(out, index=False)
    return NetSweep(df, thresholds(df), ds.meta | {"check": check})


def architecture_rows(task_args, arch, bias, loss, seeds, cs, steps, check, hessian=False, vmap=False):
    """The table rows of one architecture ``(activation, depth, width)`` over the c grid x seeds: the runs at
    float64 (one vmapped batch with ``vmap``, else one at a time), their verdicts cross-checked at ``check`` (a
    task of :func:`net_sweep`; plain arguments, so it pickles)."""
    nets = _nets()
    ds = load_task(**task_args)
    activation, depth, width = arch
    net = nets.Net(depth, width, activation, bias, loss)
    d = ds.X.shape[1]
    ps = [nets.init(net, d, s) for s in seeds]
    lam0 = [_lam0(nets, net, p, ds.X) for p in ps]
    lam_b = [lam0[j] for j in range(len(seeds)) for _ in cs]
    c_b = [c for _ in seeds for c in cs]
    start, etas = nets.stack([p for p in ps for _ in cs]), np.array(c_b) / np.array(lam_b)
    batch = nets.run_many(net, start, ds.X, ds.y, etas, steps=steps, vmap=vmap)
    runs = cross_check(nets, net, ds, start, etas, lam_b, steps,
                       evaluate_runs(nets, net, ds, lam_b, c_b, batch, batch.params, hessian), check, vmap)
    return [{"activation": activation, "depth": depth, "width": width, "loss": loss, "bias": bias,
             "seed": int(seeds[k // len(cs)]), **r, "loss_peak_ratio": r["loss_peak"] / r["loss0"], **ds.meta}
            for k, r in enumerate(runs)]
