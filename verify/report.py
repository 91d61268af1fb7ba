"""A self-contained report: one HTML page (figures embedded as PNG data, maps and thresholds as LaTeX source, no
network needed to view it) and the same sections in Markdown (figures as files beside it).

Sections: the derived map (exact), the thresholds with their exactness, the verification table (the catalogue
sections asked for, or a user model file's rows), and the figures (trajectory, phase diagram and flatness of the model).

>>> import tempfile, os
>>> out = report(tempfile.mkdtemp(), only={"a"}, figures=False)
>>> sorted(os.listdir(out))
['index.html', 'report.md']
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

#: the sections of every report, in order (their HTML ids)
SECTIONS = ("map", "thresholds", "verification", "figures")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def report(out, *, model="uv", loss="mse", model_file=None, only=None, figures=True, jobs=1, nets=None) -> Path:
    """Write ``index.html`` and ``report.md`` (and the figures' PNGs) into the folder ``out``; returns it.

    ``model``/``loss`` name the derived objects and figures (``model_file``: a user model file, whose rows are the
    verification table); ``only``: catalogue section keys (default: every default section); ``figures=False``
    skips the figures (their section then says so); ``nets``: a net-sweep table (a path to the CSV / Parquet of
    ``catapult net-sweep -o``, or a DataFrame): a "networks" section with its thresholds, and its sweep figure.
    """
    from catapult.theory import derive, thresholds
    from .catalogue import catalogue, model_file_rows
    net_table = None if nets is None else _net_thresholds(nets)   # a bad table is refused before any work
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    spec = model if model_file is None else str(model_file)
    if model_file is not None:
        from catapult.theory.model_file import load_model_file
        spec = load_model_file(model_file)
    fmap, th = derive(spec, loss), thresholds(spec, loss)
    rows = model_file_rows(model_file) if model_file is not None else catalogue(only=only, jobs=jobs)
    figs = {}
    if figures:
        from . import plots
        problem = plots.Problem.named(spec, loss)
        figs["trajectory"] = (_png(plots.trajectory_figure(problem, steps=2000, dps=30)),
                              "loss and eta*lam vs step: lazy, catapult, divergent (measured), derived lines")
        figs["phase"] = (_png(plots.phase_figure(problem, points=16, steps=2000)),
                         "phase diagram: verdicts of parameter GD (measured) with the derived boundaries")
        losses = {"squared": plots.Problem.named(spec, "mse"),
                  "logistic p=7/10": plots.Problem.named(spec, "logistic", p="7/10")}
        if str(problem.loss.expr) not in {str(v.loss.expr) for v in losses.values()}:
            losses = {f"this report's loss {problem.loss.expr}": problem, **losses}
        figs["flatness"] = (_png(plots.flatness_figure(spec, losses, points=12, steps=2000)),
                            "flatness: eta*lam at the end vs eta*lam0 (measured) under "
                            + ", ".join(losses) + " on this model, with the derived eta*lam = 2/l''(f*)")
    if nets is not None and figures:
        from . import plots
        figs["nets"] = (_png(plots.net_sweep_figure(net_table[0])),
                        "networks (measured): loss peak, eta*lam_final and test accuracy against c = eta*lam0")
    name = getattr(spec, "name", spec)
    passed = sum(r.passed for r in rows)
    head = (f"catapult report: model {name}, loss {fmap.loss.expr}; {passed}/{len(rows)} checks pass; "
            f"written in {time.perf_counter() - t0:.0f} s")
    _write_html(out, head, fmap, th, rows, figs, net_table)
    _write_md(out, head, fmap, th, rows, figs, net_table)
    return out


def _net_thresholds(nets):
    """(the run table, its thresholds table) of a net sweep given as a DataFrame or a .csv / .parquet path; a
    table that is not one (columns, numbers, c > 0, the verdicts) is refused with the reason."""
    import numpy as np
    import pandas as pd
    from .nets import thresholds
    from .problems import ProblemError
    if isinstance(nets, pd.DataFrame):
        df = nets
    else:
        path = Path(nets)
        if path.suffix not in (".csv", ".parquet"):
            raise ProblemError(f"--nets {nets}: a net-sweep table must be .csv or .parquet")
        try:
            df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise ProblemError(f"--nets {nets}: cannot read the table ({exc})") from None
    need = {"activation", "depth", "width", "seed", "c", "verdict", "loss_peak_ratio", "test_accuracy",
            "eta_lam_final"}
    if not need <= set(df.columns):
        raise ProblemError(f"--nets {nets}: not a net-sweep table (missing {', '.join(sorted(need - set(df.columns)))})")
    from catapult.numerics.phase import Phase
    known = [p.value for p in Phase]
    for col in ("c", "loss_peak_ratio", "test_accuracy", "eta_lam_final"):
        if not pd.api.types.is_numeric_dtype(df[col]) and not df[col].isna().all():
            raise ProblemError(f"--nets {nets}: column {col} is not numeric")
    if not (np.isfinite(df["c"].to_numpy(float)).all() and (df["c"] > 0).all()):
        raise ProblemError(f"--nets {nets}: every c must be a finite number > 0")
    unknown = set(df["verdict"]) - set(known)
    if unknown:
        raise ProblemError(f"--nets {nets}: unknown verdicts {sorted(map(str, unknown))} (known: {', '.join(known)})")
    return df, thresholds(df)


def _net_section_html(net_table):
    if net_table is None:
        return ""
    e = html.escape
    t = net_table[1]
    head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in t.itertuples(index=False))
    return (f"<section id='networks'><h2>Networks (measured)</h2><p>{e(_net_caption(net_table[0]))}</p>"
            f"<table><tr>{head}</tr>{body}</table></section>")


def _net_caption(df):
    """What the networks table is: runs, the criterion of each threshold, the precisions of the verdicts."""
    from .nets import CRITERIA
    if "agreed" in df and df["agreed"].notna().any():
        ok = int(df["agreed"].fillna(False).astype(bool).sum())
        checked = f"verdicts at float64, each checked by a float32 rerun: {ok} of {len(df)} agreed"
    else:
        checked = "verdicts at float64, one precision (not cross-checked)"
    return (f"{len(df)} runs, measured (jax on cpu); {checked}; criteria: "
            + "; ".join(f"{k} = {v}" for k, v in CRITERIA.items()) + "; best_test_accuracy at c_best_test")


def _write_html(out, head, fmap, th, rows, figs, net_table=None):
    e = html.escape
    trs = "".join(f"<tr><td>{e(r.id)}</td><td class='{r.status}'>{r.status}</td><td>{e(r.claim)}</td>"
                  f"<td>{e(r.predicted)}</td><td>{e(r.measured)}</td><td>{e(r.label)}</td></tr>" for r in rows)
    ths = "".join(f"<tr><td>{e(t.name)}</td><td>{e('null' if t.value is None else str(t.value))}</td>"
                  f"<td>{e(str(t.exactness))}</td><td>{e(t.reason or t.derivation)}</td></tr>"
                  for t in th.all.values())
    imgs = "".join(f"<figure><img alt='{k}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                   f"<figcaption>{e(cap)}</figcaption></figure>" for k, (png, cap) in figs.items()) or \
        "<p>figures not requested</p>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>catapult report</title>
<style>body{{font-family:sans-serif;max-width:72em;margin:auto}} td,th{{border:1px solid #ccc;padding:2px 6px;
font-size:0.85em;vertical-align:top}} table{{border-collapse:collapse}} .PASS{{color:#009E73}} .FAIL{{color:#D55E00}}
pre{{background:#f6f6f6;padding:6px;overflow-x:auto}} img{{max-width:100%}}</style></head><body>
<h1>{e(head)}</h1>
<section id="map"><h2>Derived map ({e(str(fmap.exactness))})</h2><pre>{e(str(fmap))}</pre>
<p>LaTeX:</p><pre>{e(fmap.latex())}</pre></section>
<section id="thresholds"><h2>Thresholds</h2><table><tr><th>name</th><th>value</th><th>exactness</th>
<th>reason / derivation</th></tr>{ths}</table><p>assumptions: {e('; '.join(th.assumptions))}</p></section>
<section id="verification"><h2>Verification</h2><table><tr><th>id</th><th>ok</th><th>claim</th><th>predicted</th>
<th>measured</th><th>label</th></tr>{trs}</table></section>
{_net_section_html(net_table)}
<section id="figures"><h2>Figures</h2>{imgs}</section>
</body></html>
"""
    (out / "index.html").write_text(page)


def _write_md(out, head, fmap, th, rows, figs, net_table=None):
    def cell(s):
        return str(s).replace("|", "\\|").replace("\n", " ")
    md = [f"# {head}", "", f"## Derived map ({fmap.exactness})", "", "```", str(fmap), "```", "", "## Thresholds", "",
          "| name | value | exactness | reason / derivation |", "|---|---|---|---|"]
    md += [f"| {t.name} | {cell('null' if t.value is None else t.value)} | {t.exactness} | "
           f"{cell(t.reason or t.derivation)} |" for t in th.all.values()]
    md += ["", "## Verification", "", "| id | ok | claim | predicted | measured | label |", "|---|---|---|---|---|---|"]
    md += [f"| {r.id} | {r.status} | {cell(r.claim)} | {cell(r.predicted)} | {cell(r.measured)} | {cell(r.label)} |"
           for r in rows]
    if net_table is not None:
        t = net_table[1]
        md += ["", "## Networks (measured)", "", _net_caption(net_table[0]), "",
               "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
        md += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.itertuples(index=False)]
    md += ["", "## Figures", ""]
    for k, (png, cap) in figs.items():
        (out / f"{k}.png").write_bytes(png)
        md += [f"![{cap}]({k}.png)", ""]
    if not figs:
        md.append("figures not requested")
    (out / "report.md").write_text("\n".join(md) + "\n")
