"""Every run's trajectory as tidy data: one row per recorded GD step, a pandas DataFrame.

Columns (all numbers are Python floats: the run itself is parameter GD at ``dps`` digits on arb balls -- their
midpoints are converted to float64 here, for tables and figures; the run's own verdicts never see these floats):

* ``step``, ``loss``;
* one output: ``f``, ``lam`` (the NTK |grad_theta f|^2 at the probe input), ``eta_lam`` (eta*lam);
* several outputs (m samples, or a model file with ``outputs = [...]``): ``f1..fm`` (the outputs), ``lam1..lamm``
  (the eigenvalues of the measured NTK matrix Theta_t, largest first), ``eta_lam1..eta_lamm``, and ``lam`` /
  ``eta_lam`` = the largest (``lam1``); for m samples with labels also ``res1..resm`` = |e_i.(f_t - y)|, the
  residual along the i-th eigenvector e_i of the *initial* Theta_0 (largest eigenvalue first), as in
  :func:`catapult.verify.runs.mode_report`; there ``eta_lam0`` is eta*lam1 at step 0;
* the run's metadata, repeated on every row (tidy: runs concatenate and group): ``model``, ``loss_expr`` (the
  loss function l(f); the column ``loss`` is its value), ``width``,
  ``seed``, ``dps``, ``backend``, ``eta``, ``eta_lam0``.

``df.attrs`` holds the same metadata plus ``lam0``, ``stop``, ``phase`` (the verdict of this recorded run at ``dps``
digits, :func:`catapult.numerics.phase.classify`), ``steps`` (steps taken), ``rows`` / ``downsampled``,
``exactness`` ('measured') and ``floats`` (the conversion note).  Long runs are downsampled to at most
``max_rows`` rows (:func:`keep_rows`), always keeping step 0, the loss peak, the lam minimum and the last step.

Examples
========
>>> df = trajectory("uv", "mse", width=64, eta_lam0=3.0, seed=1)
>>> list(df.columns[:5]), df.attrs["phase"], int(df.step.iloc[0])
(['step', 'f', 'lam', 'loss', 'eta_lam'], 'catapult', 0)
>>> bool(df.eta_lam.iloc[-1] < 2 < 3 - 1e-9 < df.eta_lam.iloc[0])     # the catapult: eta*lam ends below 2
True
"""

from __future__ import annotations

import json
import math
import os

import mpmath
import numpy as np

#: default most rows of a trajectory table (long runs are downsampled, landmarks kept)
MAX_ROWS = 2000

#: the metadata columns, in order (repeated on every row)
META = ("model", "loss_expr", "width", "seed", "dps", "backend", "eta", "eta_lam0")

#: suffixes :func:`write` understands
SUFFIXES = (".csv", ".jsonl")

FLOATS_NOTE = ("parameter GD at {dps} digits (arb balls); their midpoints converted to float64 for this table "
               "(non-finite values stay inf/nan in the DataFrame and CSV, null in JSON lines)")


def _float(x):
    """An mpmath number (or anything float() takes) as a float; inf/nan survive, overflow gives +-inf."""
    try:
        return float(x)
    except (OverflowError, TypeError, ValueError):
        return float("nan")


def keep_rows(loss, lam, max_rows=MAX_ROWS):
    """Indices (sorted, unique) of the rows kept from a run of ``len(loss)`` recorded steps: all of them when
    there are at most ``max_rows``, else step 0, the loss peak, the lam minimum, the last step, and the rest of
    the budget split between evenly spaced steps and geometrically spaced ones (dense early, where the
    catapult happens).  ``max_rows <= 0`` keeps every row.

    >>> loss = [1.0] * 10000; loss[4321] = 5.0
    >>> rows = keep_rows(loss, [2.0] * 9000 + [1.0] * 1000, max_rows=50)
    >>> len(rows) <= 50, rows[0], rows[-1], 4321 in rows, 9000 in rows
    (True, 0, 9999, True, True)
    >>> keep_rows([3.0, 2.0, 1.0], [1, 1, 1])
    [0, 1, 2]
    """
    n = len(loss)
    if max_rows <= 0 or n <= max_rows:
        return list(range(n))
    loss_a = np.asarray([_float(v) for v in loss], float)
    lam_a = np.asarray([_float(v) for v in lam], float)
    marks = {0, n - 1}
    if np.isfinite(loss_a).any():
        marks.add(int(np.nanargmax(np.where(np.isfinite(loss_a), loss_a, np.nan))))
    if np.isfinite(lam_a).any():
        marks.add(int(np.nanargmin(np.where(np.isfinite(lam_a), lam_a, np.nan))))
    budget = max(max_rows - len(marks), 2)
    geo = np.unique(np.geomspace(1, n - 1, budget // 2).astype(int))
    even = np.unique(np.linspace(0, n - 1, budget - len(geo)).round().astype(int))
    rows = sorted(marks | set(geo.tolist()) | set(even.tolist()))
    while len(rows) > max_rows:  # (rounding collisions never add rows; this only guards the invariant)
        drop = next(i for i in rows[1:-1] if i not in marks)
        rows.remove(drop)
    return rows


def downsample(df, max_rows=MAX_ROWS):
    """The rows of a trajectory DataFrame that :func:`keep_rows` keeps (by its ``loss`` and ``lam`` columns);
    ``attrs`` are carried over, with ``downsampled`` set.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"step": range(5000), "loss": np.r_[np.ones(4000), np.zeros(1000)],
    ...                    "lam": np.linspace(2, 1, 5000)})
    >>> small = downsample(df, 100); len(small) <= 100, int(small.step.iloc[-1]), int(small.step.iloc[0])
    (True, 4999, 0)
    """
    idx = keep_rows(df["loss"].tolist(), df["lam"].tolist(), max_rows)
    out = df.iloc[idx].reset_index(drop=True)
    out.attrs = dict(df.attrs, rows=len(out), downsampled=len(out) < len(df))
    return out


def sample_slopes(nl, labels, dps):
    """Per-sample l'_a(f) on mpmath numbers at ``dps`` digits: the residuals GD moves (``nl`` a
    :class:`catapult.numerics.losses.DataLoss`, one loss per sample; else f - y_a from ``labels``).  For the
    squared loss l'_a(f) = f - y_a.

    >>> from catapult.numerics.losses import DataLoss, squared
    >>> [float(s(mpmath.mpf(2))) for s in sample_slopes(DataLoss([squared(1), squared(-1)]), [1, -1], 30)]
    [1.0, 3.0]
    """
    from catapult.numerics.backends import get_backend
    losses = getattr(nl, "losses", None)
    if losses is not None and labels is not None and len(losses) == len(labels):
        B = get_backend("mpmath", dps)
        with B.context():
            return [slope for _, slope in nl.bind(B)]
    ys = [mpmath.mpf(float(v)) for v in labels]
    return [lambda f, y=y: f - y for y in ys]


def _modes(tr, labels, slopes=None):
    """Per-step outputs, NTK eigenvalues (largest first) and, with labels, the residual l'_a(f_a) (``slopes``; by
    default f_a - y_a, the squared loss's) along the initial NTK's eigenvectors, from a run recorded with
    ``observe=True`` (the residuals at the run's precision, float64 linear algebra on the converted values)."""
    obs = tr.observed
    m = len(obs[0]["outputs"])
    T0 = np.array([[_float(v) for v in row] for row in obs[0]["ntk"]], float)
    E0, Q0 = np.linalg.eigh(T0)
    Q0 = Q0[:, np.argsort(-E0)]
    y = None if labels is None else np.asarray([float(v) for v in labels], float)
    cols = {f"f{a + 1}": [] for a in range(m)}
    cols.update({f"lam{a + 1}": [] for a in range(m)})
    if y is not None:
        cols.update({f"res{a + 1}": [] for a in range(m)})
    for k in range(len(tr.t)):
        if k >= len(obs):  # an overflow recorded after the last observation
            for c in cols.values():
                c.append(float("nan"))
            continue
        fs = np.array([_float(v) for v in obs[k]["outputs"]])
        T = np.array([[_float(v) for v in row] for row in obs[k]["ntk"]], float)
        ev = np.sort(np.linalg.eigvalsh(T))[::-1] if np.isfinite(T).all() else np.full(m, np.nan)
        for a in range(m):
            cols[f"f{a + 1}"].append(float(fs[a]))
            cols[f"lam{a + 1}"].append(float(ev[a]))
        if y is not None:
            if slopes is None:
                r = fs - y
            else:
                with mpmath.workdps(tr.dps):
                    r = np.array([_float(s(v)) for s, v in zip(slopes, obs[k]["outputs"])])
            res = np.abs(Q0.T @ r)
            for a in range(m):
                cols[f"res{a + 1}"].append(float(res[a]))
    return m, cols


def frame(tr, *, model, loss, labels=None, phase=None, max_rows=MAX_ROWS, loss_min=None, slopes=None):
    """The tidy DataFrame of a recorded :class:`catapult.numerics.gd.Trajectory` (``record=True``; with
    ``observe=True`` and several outputs, the per-output columns).  ``model`` and ``loss`` are the names put in
    the metadata; ``labels`` the per-sample labels of m samples (for the ``res`` columns); ``loss_min`` (a number
    or a SymPy value: the derived minimum of the loss) adds the column ``loss_excess`` = loss - loss_min, computed
    at the run's precision before the conversion to float.

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.losses import squared
    >>> from catapult.numerics.gd import run_gd
    >>> from catapult.numerics.backends import get_backend
    >>> tr = run_gd(UVModel(16, seed=0), squared(), eta_lam0=1.5, steps=50, backend=get_backend("arb", 30))
    >>> df = frame(tr, model="uv", loss="f**2/2"); df.attrs["phase"], len(df) == tr.steps + 1
    ('lazy', True)
    """
    import pandas as pd
    from catapult.numerics.phase import classify
    if phase is None:
        phase = classify(tr).phase.value
    eta = _float(tr.eta)
    data = {"step": [int(t) for t in tr.t]}
    multi = bool(tr.observed) and len(tr.observed[0]["outputs"]) > 1
    if multi:
        m, cols = _modes(tr, labels, slopes)
        data.update({k: v for k, v in cols.items() if k.startswith("f")})
        data.update({k: v for k, v in cols.items() if k.startswith("lam")})
        data["lam"] = list(cols["lam1"])
        data["loss"] = [_float(v) for v in tr.loss]
        data["eta_lam"] = [eta * v for v in cols["lam1"]]
        data.update({f"eta_lam{a + 1}": [eta * v for v in cols[f"lam{a + 1}"]] for a in range(m)})
        data.update({k: v for k, v in cols.items() if k.startswith("res")})
    else:
        data["f"] = [_float(v) for v in tr.f]
        data["lam"] = [_float(v) for v in tr.lam]
        data["loss"] = [_float(v) for v in tr.loss]
        with mpmath.workdps(tr.dps):
            data["eta_lam"] = [_float(tr.eta * v) for v in tr.lam]
    if loss_min is not None:
        with mpmath.workdps(tr.dps + 10):
            lmin = mpmath.mpf(str(loss_min.evalf(tr.dps + 10)) if hasattr(loss_min, "evalf") else loss_min)
            data["loss_excess"] = [_float(v - lmin) for v in tr.loss]
    df = pd.DataFrame(data)
    lam0 = data["lam"][0] if multi else _float(tr.lam0)   # several outputs: the top eigenvalue of Theta_0
    meta = {"model": str(model), "loss_expr": str(loss), "width": int(tr.width),
            "seed": None if tr.seed is None else int(tr.seed), "dps": int(tr.dps), "backend": tr.backend,
            "eta": eta, "eta_lam0": data["eta_lam"][0] if multi else _float(tr.eta_lam0)}
    for k in META:
        df[k] = meta[k]
    df.attrs = dict(meta, lam0=lam0, stop=tr.stop.value, phase=phase, steps=int(tr.steps),
                    exactness="measured", floats=FLOATS_NOTE.format(dps=tr.dps), outputs=m if multi else 1)
    if multi and getattr(tr, "model", "") == "uv-data":
        df.attrs["probe_lam0"] = _float(tr.lam0)
        df.attrs["note"] = ("eta_lam0 = eta*lam1(Theta_0) (the top eigenvalue of the NTK matrix); the run's own "
                            "eta_lam0 option is in units of the NTK at the probe input, probe_lam0")
    return downsample(df, max_rows)


def _observes(model, sample_labels):
    return sample_labels is not None or getattr(model, "n_outputs", 1) > 1


def problem_trajectory(model, nl, loss, *, name, eta=None, eta_lam0=None, steps=5000, dps=50, sample_labels=None,
                       max_rows=MAX_ROWS, phase=None, loss_min=None):
    """The tidy trajectory of one run on a built problem (``numeric_problem``, or the CLI's): parameter GD on arb
    balls at ``dps`` digits (the first of the two precisions a run's verdict is taken at), recorded every step.

    >>> from catapult.verify.problems import numeric_problem
    >>> m, nl, lo = numeric_problem("uv", "mse", width=16, seed=0)
    >>> problem_trajectory(m, nl, lo, name="uv", eta_lam0=5.0, dps=20).attrs["phase"]
    'divergent'
    """
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    tr = run_gd(model, nl, eta=eta, eta_lam0=eta_lam0, steps=steps, backend=get_backend("arb", dps),
                observe=_observes(model, sample_labels))
    slopes = None if sample_labels is None else sample_slopes(nl, sample_labels, dps)
    return frame(tr, model=name, loss=getattr(loss, "expr", loss), labels=sample_labels, phase=phase,
                 max_rows=max_rows, loss_min=loss_min, slopes=slopes)


def trajectory(model="uv", loss="mse", *, width=None, eta=None, eta_lam0=None, steps=5000, dps=50, seed=0,
               depth=None, init="isometric", p=None, max_rows=MAX_ROWS, **label_values):
    """The tidy trajectory (a pandas DataFrame, see the module docstring) of one parameter-GD run, named as for
    :func:`catapult.verify.runs.run`; or of a :class:`catapult.verify.runs.RunReport` given as ``model``
    (``trajectory(report)`` is ``report.trajectory()``).

    >>> trajectory("deep", "mse", width=16, depth=3, eta_lam0=1.5, steps=200).attrs["phase"]
    'lazy'
    >>> from catapult.verify.runs import run
    >>> r = run("uv", "mse", width=32, eta_lam0=3.0)
    >>> df = trajectory(r); df.attrs["phase"] == r.phase, int(df.width.iloc[0])
    (True, 32)
    """
    from .runs import RunReport
    if isinstance(model, RunReport):
        return model.trajectory(max_rows=max_rows)
    from .problems import numeric_problem
    m, nl, lo = numeric_problem(model, loss, width, seed, depth=depth, init=init, p=p, **label_values)
    name = model if isinstance(model, str) and not model.endswith(".toml") else getattr(m, "name", "model")
    return problem_trajectory(m, nl, lo, name=name, eta=eta, eta_lam0=eta_lam0, steps=steps, dps=dps,
                              max_rows=max_rows)


def suffix(path, what="trajectory file"):
    """The table format of ``path`` by its suffix ('.csv' or '.jsonl'); ValueError otherwise (``what``: the
    file's role in the message).

    >>> suffix("run.CSV"), suffix("out/run.jsonl")
    ('.csv', '.jsonl')
    >>> suffix("run.txt")
    Traceback (most recent call last):
    ...
    ValueError: trajectory file run.txt: the suffix must be .csv or .jsonl
    """
    s = os.path.splitext(str(path))[1].lower()
    if s not in SUFFIXES:
        raise ValueError(f"{what} {path}: the suffix must be .csv or .jsonl")
    return s


def _json_value(v):
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def write(df, path):
    """Write a trajectory table as CSV (``.csv``) or JSON lines (``.jsonl``: one strict-JSON object per row,
    non-finite numbers as null; floats to 17 significant digits, so they read back bit for bit -- with pandas,
    ``read_json(path, lines=True, precise_float=True)`` or :func:`read`).  Returns ``path``.

    >>> import tempfile, pandas as pd
    >>> df = trajectory("uv", "mse", width=16, eta_lam0=3.0, steps=300)
    >>> d = tempfile.mkdtemp()
    >>> back = pd.read_json(write(df, os.path.join(d, "t.jsonl")), lines=True, precise_float=True)
    >>> back.columns.tolist() == df.columns.tolist(), bool((back.loss == df.loss).all())
    (True, True)
    >>> bool((pd.read_csv(write(df, os.path.join(d, "t.csv"))).eta_lam == df.eta_lam).all())
    True
    """
    kind = suffix(path)
    if kind == ".csv":
        df.to_csv(path, index=False, float_format="%.17g")
        return path
    cols = list(df.columns)
    with open(path, "w") as fh:
        for row in df.itertuples(index=False, name=None):
            fh.write(json.dumps({c: _json_value(v) for c, v in zip(cols, row)}, allow_nan=False) + "\n")
    return path


def read(path):
    """A trajectory table written by :func:`write` (or ``catapult run --trace FILE``), as a DataFrame.

    >>> import tempfile
    >>> p = write(trajectory("uv", "mse", width=16, eta_lam0=1.0, steps=50), os.path.join(tempfile.mkdtemp(), "a.csv"))
    >>> read(p).attrs == {}, read(p).model.iloc[0]
    (True, 'uv')
    """
    import pandas as pd
    return pd.read_csv(path) if suffix(path) == ".csv" else pd.read_json(path, lines=True, precise_float=True)
