"""Sweeps: many parameter-GD runs over a grid, one tidy row per run, resumable, on local cores or a Dask cluster.

A sweep is a list of *points* (plain dicts of inputs: model, loss, width, eta_lam0 or eta, seed, depth, steps,
precision, ...; :func:`grid` builds them as a product of axes) and one pure function per point,
:func:`run_point`, which builds the problem (:func:`catapult.verify.problems.numeric_problem`), runs it and returns
its row (:data:`COLUMNS`): the inputs, a ``key`` (a hash of the inputs), the verdict and its reason, lam0,
lam_final, eta*lam_final, the loss peak and its step, the steps run, the precision, wall time and the code
version.  Bad input in one point is a row with verdict ``error`` and the reason, never a crashed sweep.

Execution (:func:`sweep`): in this process (``jobs=1``), in local processes (``concurrent.futures``, all cores by
default), or on a Dask cluster (``scheduler=`` an address or a ``distributed.Client``: the same tasks through
``Client.get_executor()``; no scheduler of our own).  Every executor runs the same function on the same inputs, so
the rows are identical bit for bit apart from ``wall_s``.  Rows are appended to a journal as they finish; the table
(CSV or Parquet) is written at the end and on Ctrl-C, and a rerun skips every key already written, so a crash loses
at most the runs in flight.

Precision (rule: two precisions agree before a verdict is believed): ``"float64"``, ``"arbD"`` or ``"fixedD"``
(:mod:`catapult.numerics.fixed`) is one run (the
row says ``agreed`` = None: not cross-checked); ``"float64+arbD"`` or ``"arbD+arbE"`` runs both and the verdict is
``undetermined`` unless they agree (``agreed`` True/False).

>>> pts = grid(model="uv", loss="mse", width=[64], eta_lam0=[1.0, 3.0, 5.0], seed=[0], steps=500)
>>> [r["verdict"] for r in map(run_point, pts)]
['lazy', 'catapult', 'divergent']
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
import time
from pathlib import Path

from .executor import each_result, open_executor

#: the inputs of a point, in column order (what the key hashes)
INPUTS = ("kind", "model", "loss", "p", "labels", "depth", "init", "width", "seed", "eta_lam0", "eta", "steps",
          "precision", "rtol")
#: what a run measures, in column order
OUTPUTS = ("verdict", "reason", "agreed", "lam0", "lam_final", "eta_lam_final", "eta_used", "loss0", "loss_peak",
           "peak_step", "loss_final", "steps_run", "stop", "loss_rise_onset", "stability_threshold",
           "divergence_onset", "backend", "wall_s", "version")
#: what a ``kind = "scan"`` point measures (eta*lam0 of each threshold, each under its criterion)
SCAN_OUTPUTS = ("loss_rise_onset", "stability_threshold", "divergence_onset")
#: every column of a sweep table
COLUMNS = ("key",) + INPUTS + OUTPUTS
#: defaults of the inputs a point may leave out
DEFAULTS = {"kind": "run", "loss": "mse", "p": None, "labels": None, "depth": None, "init": None,
            "seed": 0, "eta_lam0": None, "eta": None, "steps": 1000, "precision": "float64", "rtol": None}
#: columns that differ between two runs of the same point (the rest are equal bit for bit)
VOLATILE = ("wall_s",)


class SweepError(ValueError):
    """A sweep that cannot start: an unknown axis, an empty grid, an unreadable or foreign table."""


def point(**inputs) -> dict:
    """One point with its defaults filled in and its ``key``.

    >>> p = point(model="uv", width=64, eta_lam0=3)
    >>> p["precision"], p["steps"], len(p["key"])
    ('float64', 1000, 16)
    >>> point(model="uv", width=64, eta_lam0=3, colour="red")
    Traceback (most recent call last):
    ...
    catapult.verify.sweep.SweepError: unknown sweep input(s): colour (known: kind, model, loss, p, labels, depth, init, width, seed, eta_lam0, eta, steps, precision, rtol)
    """
    unknown = sorted(set(inputs) - set(INPUTS))
    if unknown:
        raise SweepError(f"unknown sweep input(s): {', '.join(unknown)} (known: {', '.join(INPUTS)})")
    p = {**DEFAULTS, **inputs}
    if isinstance(p["labels"], dict):
        p["labels"] = json.dumps(p["labels"], sort_keys=True)
    p = {k: p.get(k) for k in INPUTS}
    p["key"] = key_of(p)
    return p


def key_of(p: dict) -> str:
    """A stable hash of a point's inputs (JSON of the inputs in :data:`INPUTS` order; numbers as written)."""
    text = json.dumps([_canon(p.get(k)) for k in INPUTS])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _canon(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)  # 3 and 3.0 are the same point
    return v


def grid(**axes) -> list:
    """The product of the axes given as lists (scalars are fixed inputs), in row-major order.

    >>> [(p["width"], p["eta_lam0"]) for p in grid(model="uv", width=[16, 32], eta_lam0=[1, 2])]
    [(16, 1), (16, 2), (32, 1), (32, 2)]
    """
    names = [k for k, v in axes.items() if isinstance(v, (list, tuple))]
    fixed = {k: v for k, v in axes.items() if k not in names}
    if any(len(axes[k]) == 0 for k in names):
        raise SweepError(f"empty axis: {', '.join(k for k in names if len(axes[k]) == 0)}")
    return [point(**fixed, **dict(zip(names, combo))) for combo in itertools.product(*(axes[k] for k in names))]


def _backends(precision: str):
    """The backend (or the pair) a precision names: float64, arbD, fixedD (the 50-digit fixed-point engine, D <= 50,
    the ``fast`` extra), or two of them joined by '+'.

    >>> [B.tag for B in _backends("fixed50+arb100")]
    ['fixed50', 'arb100']
    """
    from catapult.numerics.backends import get_backend

    def one(tag):
        if tag == "float64":
            return get_backend("float64")
        if tag.startswith("arb") and tag[3:].isdigit() and 10 <= int(tag[3:]) <= 2000:
            return get_backend("arb", int(tag[3:]))
        if tag.startswith("fixed") and tag[5:].isdigit() and 10 <= int(tag[5:]) <= 50:
            return get_backend("fixed", int(tag[5:]))
        raise SweepError(f"unknown precision {tag!r}: float64, arbD (10 <= D <= 2000), fixedD (10 <= D <= 50), "
                         "or two joined by '+'")
    parts = str(precision).split("+")
    if len(parts) > 2:
        raise SweepError(f"precision {precision!r}: at most two backends")
    return [one(t) for t in parts]


def _num(v):
    """A float for the table (mpmath and numpy numbers; inf and nan kept)."""
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return None


def _version() -> str:
    from catapult import __version__
    return __version__


def run_point(p: dict) -> dict:
    """Run one point and return its row (every column of :data:`COLUMNS`); errors become a row.

    >>> r = run_point(point(model="uv", width=32, eta_lam0=-1))
    >>> r["verdict"], r["reason"]
    ('error', 'learning rate must be a finite number > 0, got -1')
    """
    import warnings
    p = point(**{k: p[k] for k in INPUTS if k in p})
    row = {k: p.get(k) for k in ("key",) + INPUTS}
    row.update({k: None for k in OUTPUTS})
    row["version"] = _version()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # float64 overflow is a verdict
            row.update(_run(p))
    except Exception as exc:  # noqa: BLE001 -- one bad point is an error row, never a crashed sweep
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row.update({"verdict": "error", "reason": msg[:300]})
    row["wall_s"] = time.perf_counter() - t0
    return row


def _run(p: dict) -> dict:
    from catapult.numerics.phase import agreed_phase, classify_run
    from .problems import SCAN, numeric_problem
    if p["kind"] not in ("run", "scan"):
        raise SweepError(f"unknown kind {p['kind']!r} (known: run, scan)")
    backends = _backends(p["precision"])
    labels = json.loads(p["labels"]) if p["labels"] else {}
    dps = max(getattr(B, "dps", 15) for B in backends)
    model, nl, _ = numeric_problem(p["model"], p["loss"], p["width"], p["seed"], depth=p["depth"],
                                   init=p["init"] or "isometric", p=p["p"], steps=p["steps"], dps=dps,
                                   **(SCAN if p["kind"] == "scan" else {"runs": 1}), **labels)
    if p["kind"] == "scan":
        return _scan(p, model, nl, dps)
    if (p["eta"] is None) == (p["eta_lam0"] is None):
        raise SweepError("give exactly one of eta and eta_lam0")
    kw = dict(eta=p["eta"], eta_lam0=p["eta_lam0"], steps=int(p["steps"]))
    if len(backends) == 1:
        r, agreed = classify_run(model, nl, backend=backends[0], **kw), None
    else:
        r = agreed_phase(model, nl, pair=tuple(backends), **kw)
        agreed = "agreed_dps" in r.evidence
    ev = r.evidence
    return {"verdict": r.phase.value, "reason": r.reason, "agreed": agreed, "lam0": _num(ev.get("lam0")),
            "lam_final": _num(ev.get("lam_final")), "eta_lam_final": _num(ev.get("eta_lam_final")),
            "eta_used": _num(ev.get("eta")), "loss0": _num(ev.get("loss0")), "loss_peak": _num(ev.get("loss_peak")),
            "peak_step": ev.get("peak_step"), "loss_final": _num(r.trajectory.loss[-1]) if r.trajectory else None,
            "steps_run": ev.get("steps"), "stop": getattr(ev.get("stop"), "value", ev.get("stop")),
            "backend": "+".join(B.tag for B in backends)}


def _scan(p, model, nl, dps):
    """A threshold search as a row: the three measured thresholds (eta*lam0 midpoints of their brackets)."""
    from catapult.numerics.search import scan
    if p["eta"] is not None or p["eta_lam0"] is not None:
        raise SweepError("a scan point searches eta: give no eta or eta_lam0")
    if dps < 10:
        raise SweepError("a scan point needs precision arbD with D >= 10 (its ladder starts in float64)")
    r = scan(model, nl, rtol=p["rtol"] or 1e-6, dps=dps, steps=int(p["steps"]))
    row, why = {"verdict": "measured", "lam0": _num(r.lam0), "backend": f"float64+arb{dps}"}, []
    for col, est in zip(SCAN_OUTPUTS, (r.loss_rise_onset, r.stability_threshold, r.divergence_onset_at_width)):
        x = getattr(est, "eta_lam0", None)
        row[col] = _num(x)
        if x is None:
            why.append(f"{col}: {getattr(est, 'reason', 'not measured')}")
    row["reason"] = "; ".join(why) or "three thresholds, each under its criterion (catapult.numerics.search)"
    return row


def run_chunk(points: list) -> list:
    """Rows of several points (one task: amortises the executor's per-task overhead)."""
    return [run_point(p) for p in points]


# -- the table on disk: a journal of finished rows, and the CSV / Parquet table ---------------------------------

def journal_path(out) -> Path:
    """Where rows are appended as they finish (JSON lines beside the table)."""
    out = Path(out)
    return out.with_name(out.name + ".journal.jsonl")


def read_rows(out) -> dict:
    """The rows already written for ``out`` (its table and its journal), by key; a torn last line is dropped."""
    out = Path(out)
    rows = {}
    if out.exists():
        df = _read_table(out)
        missing = set(COLUMNS) - set(df.columns)
        if missing:
            raise SweepError(f"{out} is not a sweep table (no column {sorted(missing)[0]})")
        for r in df.to_dict("records"):
            rows[r["key"]] = {k: _from_table(r[k]) for k in COLUMNS}
    j = journal_path(out)
    if j.exists():
        for line in j.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # torn by a crash mid-write
            if isinstance(r, dict) and "key" in r:
                rows[r["key"]] = r
    return rows


def _from_table(v):
    """A cell read back from CSV / Parquet as the Python value it was written from (NaN: a missing value)."""
    if hasattr(v, "item"):
        v = v.item()
    return None if (isinstance(v, float) and math.isnan(v)) else v


def _read_table(out: Path):
    import pandas as pd
    try:
        return pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out, keep_default_na=True)
    except Exception as exc:  # noqa: BLE001 -- a foreign or corrupt file: one line
        raise SweepError(f"cannot read the sweep table {out}: {type(exc).__name__}") from None


def frame(rows):
    """The rows as a pandas DataFrame with every column of :data:`COLUMNS`, in that order."""
    import pandas as pd
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def write_table(out, rows) -> Path:
    """Write ``rows`` to ``out`` (.parquet via pyarrow, else CSV), atomically (a temporary file, then rename)."""
    out = Path(out)
    df = frame(rows)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix == ".parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, out)
    return out


# -- running ------------------------------------------------------------------------------------------------------

def sweep(points, out=None, *, jobs=None, scheduler=None, chunk=None, progress=False, on_row=None):
    """Run every point not already in ``out`` and return the whole table (a pandas DataFrame, input order).
    (Over 60 lines only with this docstring and its examples: the body is 50 lines.)

    ``jobs``: local processes (default all cores; 1 = this process); ``scheduler``: a Dask scheduler address or a
    ``distributed.Client`` (then ``jobs`` is ignored); ``chunk``: points per task (default: ~8 tasks per worker, at
    most 64 points); ``progress``: a tqdm bar on stderr; ``on_row(row)`` is called as each row finishes.
    A KeyboardInterrupt writes what has finished, then propagates (the rerun resumes).

    >>> df = sweep(grid(model="uv", width=[32], eta_lam0=[1.0, 3.0], steps=300), jobs=1)
    >>> df["verdict"].tolist()
    ['lazy', 'catapult']
    """
    points = [point(**{k: p[k] for k in INPUTS if k in p}) for p in points]
    if not points:
        raise SweepError("the sweep has no points")
    done = read_rows(out) if out is not None else {}
    todo = [p for p in points if p["key"] not in done]
    todo = list({p["key"]: p for p in todo}.values())  # a point listed twice runs once
    journal = open(journal_path(out), "a") if out is not None else None
    bar = _bar(len(points), len(points) - len(todo), progress)
    ex = open_executor(jobs, scheduler) if todo else None
    workers = ex.workers if ex is not None else 1
    size = chunk or max(1, min(64, math.ceil(len(todo) / (8 * workers)))) if todo else 1
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]

    def take(rows):
        for r in rows:
            done[r["key"]] = r
            if journal is not None:
                journal.write(json.dumps(r) + "\n")
            if on_row is not None:
                on_row(r)
        if journal is not None:
            journal.flush()
        if bar is not None:
            bar.update(len(rows))
    try:
        for _, rows in each_result(ex, run_chunk, [(c,) for c in chunks]):
            take(rows)
    finally:
        if bar is not None:
            bar.close()
        if journal is not None:
            journal.close()
            keys = dict.fromkeys(p["key"] for p in points)  # this sweep's keys in input order, then other rows
            write_table(out, [done[k] for k in keys if k in done] + [r for k, r in done.items() if k not in keys])
            if all(k in done for k in keys):
                journal_path(out).unlink(missing_ok=True)
    return frame(done[p["key"]] for p in points if p["key"] in done)


def _bar(total, initial, progress):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="run", file=sys.stderr, leave=False)


# -- sweep files --------------------------------------------------------------------------------------------------

def load_sweep_file(path) -> list:
    """The points of a sweep file (TOML): ``[sweep]`` with inputs as scalars (fixed) or lists (axes), and
    ``eta_lam0 = {start, stop, num}`` (linear) or ``{start, stop, ratio}`` (geometric, e.g. ratio 2^0.1).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "s.toml")
    >>> _ = open(path, "w").write('[sweep]\\nmodel = "uv"\\nwidth = [64, 256]\\neta_lam0 = {start = 1, stop = 5, num = 5}\\n')
    >>> [(p["width"], p["eta_lam0"]) for p in load_sweep_file(path)][:3]
    [(64, 1.0), (64, 2.0), (64, 3.0)]
    """
    import tomllib
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SweepError(f"cannot read the sweep file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"sweep file {path}: {exc}") from None
    spec = data.get("sweep")
    if not isinstance(spec, dict):
        raise SweepError(f"sweep file {path}: no [sweep] table")
    return grid(**{k: axis(v, k) for k, v in spec.items()})


#: most values one axis may take (a typo such as num = 1e9 is refused up front)
MAX_AXIS = 100_000


def axis(v, name="axis"):
    """An axis from a list, a scalar, or a range ``{start, stop, num}`` / ``{start, stop, ratio}``.

    >>> axis({"start": 1, "stop": 4, "ratio": 2})
    [1.0, 2.0, 4.0]
    """
    if not isinstance(v, dict):
        return v
    try:
        a, b = float(v["start"]), float(v["stop"])
        if "num" in v:
            n = int(v["num"])
            if not 1 <= n <= MAX_AXIS:
                raise SweepError(f"{name}: num must be in [1, {MAX_AXIS}]")
            return [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
        r = float(v["ratio"])
    except (KeyError, TypeError, ValueError):
        raise SweepError(f"{name}: a range is {{start, stop, num}} or {{start, stop, ratio}}") from None
    if not (a > 0 and b >= a and r > 1) or math.log(b / a) / math.log(r) > MAX_AXIS:
        raise SweepError(f"{name}: a geometric range needs 0 < start <= stop, ratio > 1 and at most {MAX_AXIS} values")
    k = int(math.floor(math.log(b / a) / math.log(r) + 1e-9))
    return [a * r ** i for i in range(k + 1)]
