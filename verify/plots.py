"""Figures of the catapult: matplotlib Figures built from tidy data, every line labelled measured or derived.

Five kinds (``catapult plot KIND ... -o FILE.png|.svg``; each has a function returning a
:class:`matplotlib.figure.Figure` and a drawing function that takes the data as tidy DataFrames):

* :func:`trajectory_figure` -- loss and eta*lam vs step for a lazy, a catapult and a divergent run side by side,
  with the derived lines eta*lam = 2/l''(f*) (eta_crit) and eta*lam0 = eta_max*lam0, each with its exactness;
* :func:`phase_figure` -- measured verdicts on a grid of eta*lam0 against width n (or depth L), the derived
  boundaries on top, the measured divergence onset at each width (:func:`draw_phase` takes a DataFrame of
  (width, eta_lam0, verdict) rows, so a sweep table can feed it);
* :func:`flatness_figure` -- eta*lam at the end of the run against eta*lam0, squared and logistic loss, with each
  loss's derived 2/l''(f*) line: the catapult saturates there (a flatter minimum);
* :func:`deep_figure` -- the deep linear network's reduced map: its verdicts over (n, eta*lam0), the first
  divergent x*(n) (log-periodic in ln n), the start x_last(n) of the final divergent stretch and the band
  [x_lo, x_hi] of the n -> oo limit;
* :func:`modes_figure` -- m samples: the residual along each eigenvector of the initial NTK matrix and
  eta*lam_i(Theta_t) vs step, with the derived eta*lam_i = 2/l'' line.

Figures are made without pyplot (``matplotlib.figure.Figure``: no GUI backend, nothing is shown); :func:`save`
writes PNG or SVG by the suffix.  Colours: the Okabe-Ito palette (colour-blind safe).  Every Figure carries what
it drew in ``fig.catapult`` (the DataFrames and the derived lines), and the plotted artists carry a ``gid``
(e.g. ``"eta_lam:1"``, ``"eta_crit"``) so that tests read the plotted arrays back.  Measured numbers are floats
converted from the high-precision runs (:mod:`catapult.verify.trajectory`).

Examples
========
>>> fig = trajectory_figure("uv", "mse", width=64, seed=1, dps=30)
>>> [ln.eta_lam for ln in fig.catapult["lines"] if ln.value is not None]     # derived: 2/l''(0) and eta_max*lam0
[2.0, 4.0]
>>> [df.attrs["phase"] for df in fig.catapult["frames"]]
['lazy', 'catapult', 'divergent']
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: the Okabe-Ito palette (Wong 2011), colour-blind safe
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
#: colours of the measured verdicts
VERDICT_COLOURS = {"lazy": OKABE_ITO["sky"], "catapult": OKABE_ITO["orange"], "divergent": OKABE_ITO["vermillion"],
                   "undetermined": "#DDDDDD", "stalled": OKABE_ITO["yellow"]}
#: colours of a run's curves by its verdict (darker than the cell colours, visible as thin lines)
LINE_COLOURS = {"lazy": OKABE_ITO["blue"], "catapult": OKABE_ITO["orange"], "divergent": OKABE_ITO["vermillion"],
                "undetermined": "#666666", "stalled": "#8A7A00"}
#: the verdicts in the order of their codes in phase grids (0, 1, 2, 3, 4; stalled: networks on data only)
VERDICTS = ("lazy", "catapult", "divergent", "undetermined", "stalled")
#: colours of a run's series (lazy, catapult, divergent, more)
SERIES = [OKABE_ITO[c] for c in ("blue", "orange", "vermillion", "green", "purple", "sky", "yellow", "black")]
#: the figure kinds of ``catapult plot``
KINDS = ("trajectory", "phase", "flatness", "deep", "modes")
#: the file formats :func:`save` writes
FORMATS = (".png", ".svg")


def _figure(figsize):
    from matplotlib.figure import Figure
    return Figure(figsize=figsize, layout="constrained")


def save(fig, path, dpi=130):
    """Write ``fig`` to ``path`` as PNG or SVG (by the suffix); ValueError for any other suffix.

    >>> save(_figure((2, 2)), "a.gif")
    Traceback (most recent call last):
    ...
    ValueError: figure file a.gif: the suffix must be .png or .svg
    """
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"figure file {path}: the suffix must be .png or .svg")
    fig.savefig(path, format=suffix[1:], dpi=dpi, bbox_inches="tight", pad_inches=0.08)  # never clip a legend
    return path


# ------------------------------------------------------------------------------------------ problems and lines


@dataclass
class Problem:
    """What a figure runs: the theory model and loss (for the derived lines) and ``build(width, seed)`` ->
    ``(numerics model, numeric loss, theory loss)`` (for parameter GD).  ``labels`` are loss parameter values
    (e.g. ``y=1``), ``sample_labels`` the per-sample labels of m samples, ``name`` what titles call it.

    >>> pr = Problem.named("uv", "logistic", p="7/10"); pr.name, str(pr.loss.expr)
    ('uv', '7*log(1 + exp(-f))/10 + 3*log(exp(f) + 1)/10')
    >>> pr.build(8, 0)[0]
    UVModel(width=8, seed=0)
    """

    spec: object
    loss: object
    build: Callable
    name: str
    depth: int | None = None
    labels: dict = field(default_factory=dict)
    sample_labels: object = None
    _thresholds: object = field(default=None, repr=False)

    @classmethod
    def named(cls, model="uv", loss="mse", *, depth=None, init="isometric", p=None, **labels):
        """A problem from the names :func:`catapult.verify.runs.run` takes (uv, deep with ``depth``, a
        ModelDefinition, a model file path; a loss name, expression or Loss)."""
        from catapult.theory.loss import as_loss
        from catapult.theory.models import get_model
        from .problems import model_definition, numeric_problem
        if isinstance(model, cls):
            return model
        kind, obj = model_definition(model, depth, init)
        lo = as_loss(loss, p)
        if kind == "uv":
            spec, name = "uv", "uv"
        elif kind == "deep":
            spec, name, depth = get_model("deep", depth=obj[0], init=obj[1]), f"deep L={obj[0]}", obj[0]
            model, init = "deep", obj[1]
        else:
            spec, name = obj, obj.name

        def build(width, seed):
            return numeric_problem(model, lo, width, seed, depth=depth, init=init, **labels)
        return cls(spec, lo, build, name, depth, dict(labels))

    @classmethod
    def samples(cls, X, Y, loss=None):
        """The uv model on m samples X (m x d, float64 data) with labels Y, per-sample loss ``loss`` in f and y
        (default (f - y)^2/2).

        >>> pr = Problem.samples([[1.0, 0.0], [0.0, 0.5]], [0.5, -0.25]); pr.name, pr.build(8, 0)[0]
        ('uv, m=2 samples in d=2', UVDataModel(width=8, m=2, d=2, seed=0))
        """
        from catapult.numerics.losses import DataLoss
        from catapult.numerics.models import UVDataModel
        from catapult.theory import mse
        from catapult.theory.models import get_model
        from catapult.theory.parse import exact_value
        from .bridge import numeric_loss
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        lo = mse("y") if loss is None else loss
        ys = [exact_value(float(v), "label", floats="binary") for v in Y]
        spec = get_model("samples", m=X.shape[0], d=X.shape[1], X=X.tolist(), Y=ys)

        def build(width, seed):
            return UVDataModel(width, X, seed=seed), DataLoss([numeric_loss(lo, y=y) for y in ys]), lo
        return cls(spec, lo, build, f"uv, m={X.shape[0]} samples in d={X.shape[1]}", None, {}, Y)

    def thresholds(self):
        """The derived thresholds (:func:`catapult.theory.thresholds`), once."""
        if self._thresholds is None:
            from catapult.theory import thresholds
            self._thresholds = thresholds(self.spec, self.loss)
        return self._thresholds


@dataclass
class Line:
    """A derived threshold as a line: ``eta_lam`` its value of eta*lam at the minimum (2/l''(f*) for eta_crit),
    ``eta_lam0`` in units of the measured initial NTK lam0 (None until a lam0 is given), ``exactness`` the
    theory's label; ``value`` None (and ``reason``) when not derived."""

    name: str
    value: object
    exactness: str
    eta_lam: float | None = None
    eta_lam0: float | None = None
    reason: str = ""

    @property
    def symbol(self):
        return {"eta_crit": r"\eta_{\rm crit}", "eta_max": r"\eta_{\max}"}.get(self.name, self.name)

    def label(self, units="eta_lam"):
        """The legend text, e.g. ``$\\eta_{\\rm crit}$: $\\eta\\lambda = 2$ (derived, leading order in 1/n)``."""
        v = self.eta_lam if units == "eta_lam" else self.eta_lam0
        what = r"\eta\lambda" if units == "eta_lam" else r"\eta\lambda_0"
        return f"${self.symbol}$: ${what} = {_num(v)}$ (derived, {self.exactness})"


def _num(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _subs_by_name(expr, values):
    reps = {s: values[str(s)] for s in expr.free_symbols if str(s) in values}
    return expr.subs(reps)


def _as_float(expr):
    try:
        v = complex(expr)
    except (TypeError, ValueError):
        return None
    return v.real if abs(v.imag) < 1e-12 * max(1.0, abs(v.real)) and math.isfinite(v.real) else None


def threshold_lines(problem, lam0=None, width=None):
    """The derived eta_crit and eta_max of ``problem`` as :class:`Line` s: eta*lam at the minimum (from the value
    exact in lam, ``2/lam`` -> 2; else value x scale) and, with ``lam0`` (the measured initial NTK), eta*lam0;
    ``width`` sets n in a value that depends on it (e.g. an exact eta_crit with lam* = 1 + c/sqrt(n)).

    >>> [(ln.name, ln.eta_lam, ln.eta_lam0, ln.exactness) for ln in threshold_lines(Problem.named("uv", "mse"), 2.0)]
    [('eta_crit', 2.0, 2.0, 'leading order in 1/n'), ('eta_max', 4.0, 4.0, 'leading order in 1/n')]
    >>> threshold_lines(Problem.named("uv", "logistic", p="7/10"))[0].eta_lam      # 2/(p(1-p)) = 200/21
    9.523809523809524
    >>> threshold_lines(Problem.named("uv", "logistic", p="7/10"))[1].reason[:38]
    "no width-independent bound: l' is boun"
    """
    import sympy as sp
    from catapult.theory.symbols import lam
    try:
        t = problem.thresholds()
    except (ValueError, NotImplementedError) as exc:  # TheoryInputError is a ValueError
        return [Line(name, None, "not derived", reason=f"thresholds not derived: {exc}") for name in
                ("eta_crit", "eta_max")]
    out = []
    for name in ("eta_crit", "eta_max"):
        th = getattr(t, name)
        if th.value is None:
            out.append(Line(name, None, str(th.exactness), reason=th.reason))
            continue
        if th.exact_in_lam is not None and lam in th.exact_in_lam.free_symbols:
            in_lam = sp.simplify(th.exact_in_lam * lam)
        else:
            in_lam = sp.simplify(th.value * th.scale)
        values = dict(problem.labels, **({} if width is None else {"n": width}))
        x_lam = _as_float(_subs_by_name(in_lam, values))
        x_lam0 = None
        if lam0 is not None:
            x_lam0 = _as_float(_subs_by_name(th.value.subs(th.scale, sp.Float(lam0, 30)) * sp.Float(lam0, 30),
                                             values))
        if x_lam is None:
            out.append(Line(name, None, "not derived", reason=f"{name} = {th.value} is not a number here "
                                                                  f"(needs values for its symbols)"))
            continue
        out.append(Line(name, th.value, str(th.exactness), x_lam, x_lam0))
    return out


def _derived(lines, name):
    ln = next((x for x in lines if x.name == name), None)
    return ln if ln is not None and ln.value is not None else None


def _cut_reason(lines, name, width=70):
    """Why the line ``name`` is not derived, cut to ``width`` characters (for a figure's title).

    >>> _cut_reason([Line("eta_crit", None, "not derived", reason="no minimum: the loss has no stationary point")],
    ...             "eta_crit", 20)
    'no minimum: the l...'
    """
    ln = next((x for x in lines if x.name == name), None)
    text = " ".join(((ln.reason if ln is not None else "") or "not derived").split())
    return text if len(text) <= width else text[:width - 3] + "..."


def measured_onset(problem, width, seed=0, lo=1.0, steps=2000, dps=30, rtol=1e-4, factor=1.1, hi=1e4):
    """The divergence onset at width n of ``problem``, measured: the first divergent eta*lam0 on the geometric grid
    lo, lo*factor, ... (float64 runs), then bisected up the precision ladder
    (:func:`catapult.numerics.search.locate`: float64, dps, 2 dps digits until two agree).  None when no grid
    point below ``hi`` diverges.

    >>> e = measured_onset(Problem.named("uv", "mse"), 64, lo=2.0); 3.9 < e.eta_lam0 < 4.1, e.precisions
    (True, ['float64', 'fixed30'])
    """
    from catapult.numerics.backends import get_backend
    from catapult.numerics.search import diverges, locate
    model, nl, _ = problem.build(width, seed)
    B = get_backend("float64")
    prev, x = None, float(lo)
    while x <= hi:
        if diverges(model, nl, x, B, steps):
            break
        prev, x = x, x * factor
    else:
        return None
    if prev is None:
        prev = x / factor
        while diverges(model, nl, prev, B, steps):
            prev /= factor
            if prev < 1e-6:
                return None
    return locate("divergence_onset_at_width", model, nl, prev, x, rtol=rtol, dps=dps, steps=steps)


def _titles(problem, width, seed, dps):
    loss = problem.thresholds().loss.expr if problem._thresholds is not None else problem.loss.expr
    labels = "".join(f", {k} = {v}" for k, v in problem.labels.items())
    return (f"{problem.name}, loss $\\ell(f) = {_latex(loss)}${labels}, width n = {width}, seed {seed}",
            f"measured: parameter GD at {dps} digits (arb balls; verdicts: {dps} and {2 * dps} digits agree, else "
            "undetermined); lines: derived (exactness in the legend) or measured as labelled")


def _latex(expr):
    import sympy as sp
    return sp.latex(expr)


# ------------------------------------------------------------------------------------------ 1. trajectory


def default_eta_lam0s(lines, onset=None):
    """Three eta*lam0 values (lazy, catapult, divergent) from the derived thresholds: 0.75 eta_crit, the midpoint
    of eta_crit and eta_max, and eta_max + (eta_max - eta_crit)/8; without a derived eta_max, the measured
    divergence onset ``onset`` stands in for it (midpoint, and 1.125 x onset).

    >>> default_eta_lam0s(threshold_lines(Problem.named("uv", "mse"), 1.0))
    [1.5, 3.0, 4.25]
    """
    crit = _derived(lines, "eta_crit")
    top = _derived(lines, "eta_max")
    c = crit.eta_lam0 if crit is not None and crit.eta_lam0 is not None else 2.0
    if top is not None and top.eta_lam0 is not None:
        t = top.eta_lam0
        return [0.75 * c, (c + t) / 2, t + (t - c) / 8]
    if onset is None:
        raise ValueError("no derived eta_max and no measured divergence onset: give the three eta*lam0 values")
    return [0.75 * c, (c + onset) / 2, 1.125 * onset]


def trajectory_figure(model="uv", loss="mse", *, width=256, seed=0, dps=50, steps=5000, eta_lam0s=None, depth=None,
                      p=None, max_rows=2000, **labels):
    """Loss and eta*lam vs step for three runs (default: lazy, catapult, divergent by :func:`default_eta_lam0s`)
    with the derived lines; ``model`` may be a :class:`Problem`.  ``fig.catapult``: ``frames`` (the tidy
    trajectories), ``lines``, ``onset`` (the measured divergence onset, when eta_max is not derived and the values
    were not given), ``lstar`` (the derived minimum value of the loss, subtracted on the loss panel)."""
    from .trajectory import problem_trajectory
    pr = Problem.named(model, loss, depth=depth, p=p, **labels)
    m0, nl0, lo0 = pr.build(width, seed)
    lam0 = _lam0(m0, nl0)
    lines = threshold_lines(pr, lam0, width)
    onset = None
    if eta_lam0s is None:
        if _derived(lines, "eta_max") is None:
            crit = _derived(lines, "eta_crit")
            onset = measured_onset(pr, width, seed, lo=crit.eta_lam0 if crit and crit.eta_lam0 else 1.0,
                                   steps=min(steps, 2000), dps=min(dps, 30))
            if onset is None:
                raise ValueError("no divergence found up to eta*lam0 = 1e4: give --eta-lam0 a b c")
        eta_lam0s = default_eta_lam0s(lines, None if onset is None else float(onset.eta_lam0))
    from catapult.numerics.phase import agreed_phase
    lstar = _lstar(pr)
    frames = [problem_trajectory(m0, nl0, lo0, name=pr.name, eta_lam0=x, steps=steps, dps=dps,
                                 sample_labels=pr.sample_labels, max_rows=max_rows, loss_min=lstar,
                                 phase=agreed_phase(m0, nl0, eta_lam0=x, steps=steps, dps=dps).phase.value)
              for x in eta_lam0s]
    fig = draw_trajectories(frames, lines, title=_titles(pr, width, seed, dps), onset=onset)
    fig.catapult["lstar"] = lstar
    fig.catapult["problem"] = pr
    return fig


def _lam0(model, nl):
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    return float(run_gd(model, nl, eta_lam0=1, steps=0, backend=get_backend("arb", 30)).lam0)


def _lstar(problem):
    """The loss at its derived minimiser (a SymPy number) when there is one and the loss is a function of f alone
    and not 0 there, else None.

    >>> _lstar(Problem.named("uv", "logistic", p="1/2")), _lstar(Problem.named("uv", "mse"))
    (log(2), None)
    """
    from catapult.theory.symbols import f
    try:
        mins = problem.thresholds().eta_crit.minimiser
    except (ValueError, NotImplementedError):
        return None
    expr = _subs_by_name(problem.loss.expr, problem.labels)
    if mins is None or not expr.free_symbols <= {f}:
        return None
    v = expr.subs(f, mins)
    if not v.is_number or _as_float(v) is None:
        return None
    import sympy as sp
    v = sp.simplify(v)
    return None if v == 0 else v


def draw_trajectories(frames, lines, *, title=("", ""), onset=None):
    """The trajectory figure from tidy trajectories (:mod:`catapult.verify.trajectory`) and derived
    :class:`Line` s: one column per run, the loss above (log scale; the column ``loss_excess`` = L - L(f*) when the
    frames have it), eta*lam below with the lines eta*lam = 2/l''(f*) and eta*lam0 = eta_max lam0 (and the
    measured ``onset``).  The step axis is linear up to 10 and logarithmic beyond when a run is longer than
    200 steps, per column (the catapult happens in the first steps, convergence can take thousands).
    (Over 60 lines only with this docstring and its examples: the body is 55 lines.)

    >>> import pandas as pd
    >>> df = pd.DataFrame({"step": [0, 1, 2], "loss": [1.0, 0.5, 0.25], "eta_lam": [1.0, 1.0, 1.0]})
    >>> df.attrs = {"eta_lam0": 1.0, "phase": "lazy", "steps": 2, "downsampled": False}
    >>> fig = draw_trajectories([df], threshold_lines(Problem.named("uv", "mse"), 1.0))
    >>> [ln.get_gid() for ln in fig.axes[1].lines]
    ['eta_lam:0', 'eta_crit', 'eta_max']
    """
    k = len(frames)
    fig = _figure((4.2 * k + 0.8, 7.0))
    axes = fig.subplots(2, k, sharex="col", squeeze=False)
    crit, top = _derived(lines, "eta_crit"), _derived(lines, "eta_max")
    for j, df in enumerate(frames):
        a_loss, a_lam = axes[0, j], axes[1, j]
        colour = LINE_COLOURS.get(df.attrs.get("phase"), SERIES[j % len(SERIES)])
        excess = "loss_excess" in df.columns
        y = np.asarray(df["loss_excess" if excess else "loss"], float)
        mask = y > 0
        a_loss.plot(np.asarray(df["step"])[mask], y[mask], color=colour, lw=1.6, gid=f"loss:{j}",
                    label="measured")
        a_loss.set_yscale("log")
        a_lam.plot(df["step"], df["eta_lam"], color=colour, lw=1.6, gid=f"eta_lam:{j}",
                   label=r"measured $\eta\lambda_t$")
        if crit is not None:
            a_lam.axhline(crit.eta_lam, color=OKABE_ITO["black"], ls="--", lw=1.1, gid="eta_crit",
                          label=crit.label("eta_lam"))
        if top is not None and top.eta_lam0 is not None:
            a_lam.axhline(top.eta_lam0, color=OKABE_ITO["purple"], ls="-.", lw=1.1, gid="eta_max",
                          label=top.label("eta_lam0"))
        if onset is not None:
            a_lam.axhline(float(onset.eta_lam0), color=OKABE_ITO["green"], ls=":", lw=1.4, gid="onset",
                          label=rf"$\eta\lambda_0 = {float(onset.eta_lam0):.4g}$: divergence onset at width n "
                                f"(measured, {'+'.join(onset.precisions)})")
        phase = df.attrs.get("phase", "?")
        x0 = df.attrs.get("eta_lam0", float(df["eta_lam"].iloc[0]))
        a_loss.set_title(rf"$\eta\lambda_0 = {x0:.4g}$: {phase} (measured)", fontsize=10)
        a_loss.set_ylabel(r"loss $L - L(f^*)$ ($L(f^*)$ derived)" if excess else r"loss $L$")
        a_lam.set_ylabel(r"$\eta\lambda_t$")
        a_lam.set_xlabel(r"GD step $t$")
        ref = max([x0] + [v for v in (top.eta_lam0 if top is not None else None, crit.eta_lam if crit else None,
                                      float(onset.eta_lam0) if onset is not None else None) if v])
        seen = float(np.nanmax(np.where(np.isfinite(df["eta_lam"]), df["eta_lam"], np.nan)))
        low = min([v for v in (crit.eta_lam if crit else None, x0) if v])
        if ref / low > 8:   # lines an order of magnitude apart (e.g. logistic: 2/l'' and a far divergence onset)
            finite = df["eta_lam"][np.isfinite(df["eta_lam"]) & (df["eta_lam"] > 0)]
            a_lam.set_yscale("log")
            a_lam.set_ylim(bottom=0.7 * min(low, float(finite.min()) if len(finite) else low),
                           top=1.5 * max(ref, min(seen, 3 * ref)))
        else:
            a_lam.set_ylim(bottom=0, top=1.2 * max(ref, min(seen, 2.5 * ref)))
        last = int(df["step"].iloc[-1])
        if last > 200:
            a_lam.set_xscale("symlog", linthresh=10, linscale=0.8)
        a_lam.set_xlim(0, max(last, 1) * (1.05 if last > 200 else 1.02))
        if df.attrs.get("downsampled"):
            a_loss.text(0.98, 0.02, f"{len(df)} of {df.attrs.get('steps', 0) + 1} steps shown", ha="right",
                        va="bottom", transform=a_loss.transAxes, fontsize=7)
    fig.legend(handles=axes[1, 0].get_legend_handles_labels()[0], fontsize=7, loc="outside lower center", ncols=3,
               frameon=False)
    missing = [f"${x.symbol}$ not derived: {_short(_strip_not_derived(x.reason))}" for x in lines if x.value is None]
    fig.suptitle("\n".join([t for t in title if t] + missing[:2]), fontsize=9)
    fig.catapult = {"frames": frames, "lines": lines, "onset": onset}
    return fig


def _strip_not_derived(text):
    """A reason without its own leading 'not derived' (the caller says it).

    >>> _strip_not_derived("not derived: on this model ..."), _strip_not_derived("no bound")
    ('on this model ...', 'no bound')
    """
    return text[len("not derived"):].lstrip(" :") if text.startswith("not derived") else text


def _short(text, n=110):
    """``text`` cut at a word boundary before ``n`` characters (with an ellipsis).

    >>> _short("one two three", 8)
    'one two...'
    """
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0].rstrip(",;:") + "..."


# ------------------------------------------------------------------------------------------ 2. phase diagram


def phase_grid(problem, widths, eta_lam0s, *, seed=0, dps=30, steps=5000, axis="width", width=None):
    """Measured verdicts (:func:`catapult.numerics.phase.agreed_phase`: ``dps`` and ``2 dps`` digits agree, else
    undetermined) on the grid widths x eta_lam0s, as a tidy DataFrame with columns ``width`` (or ``depth``),
    ``eta_lam0``, ``verdict``, ``lam0``, ``eta_lam_final``, ``loss_peak_ratio``, ``seed``, ``dps``.
    ``axis="depth"``: ``widths`` are depths L of the deep network at width ``width`` (``problem`` a
    callable L -> :class:`Problem`).

    >>> g = phase_grid(Problem.named("uv", "mse"), [16], [1.0, 3.0, 5.0], dps=15)
    >>> g.verdict.tolist(), g.columns.tolist()[:3]
    (['lazy', 'catapult', 'divergent'], ['width', 'eta_lam0', 'verdict'])
    """
    import pandas as pd
    from catapult.numerics.phase import agreed_phase
    rows = []
    for w in widths:
        pr = problem(w) if axis == "depth" else problem
        model, nl, _ = pr.build(width if axis == "depth" else w, seed)
        for x in eta_lam0s:
            r = agreed_phase(model, nl, eta_lam0=float(x), steps=steps, dps=dps)
            ev = r.evidence
            rows.append({axis: int(w), "eta_lam0": float(x), "verdict": r.phase.value,
                         "lam0": float(ev.get("lam0", math.nan)),
                         "eta_lam_final": _finite(ev.get("eta_lam_final")),
                         "loss_peak_ratio": _finite(ev.get("loss_peak_ratio")), "seed": seed, "dps": dps})
    return pd.DataFrame(rows)


def _finite(v):
    try:
        v = float(v)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def onsets_from_grid(problem, grid, *, seed=0, dps=30, steps=2000, rtol=1e-4, axis="width", width=None):
    """The divergence onset at each width of a phase grid, bisected (:func:`catapult.numerics.search.locate`)
    between the last non-divergent and the first divergent grid value: a DataFrame with ``width`` (or
    ``depth``), ``eta_lam0``, ``lo``, ``hi``, ``precisions`` and ``reason`` (why none, e.g. no divergent cell).

    >>> g = phase_grid(Problem.named("uv", "mse"), [16], [3.5, 4.5], dps=15)
    >>> o = onsets_from_grid(Problem.named("uv", "mse"), g, dps=15); bool(abs(o.eta_lam0.iloc[0] - 4) < 0.1)
    True
    """
    import pandas as pd
    from catapult.numerics.search import locate
    rows = []
    for w, g in grid.groupby(axis, sort=True):
        g = g.sort_values("eta_lam0")
        xs, div = g["eta_lam0"].to_numpy(), (g["verdict"] == "divergent").to_numpy()
        row = {axis: int(w), "eta_lam0": math.nan, "lo": math.nan, "hi": math.nan, "precisions": "", "reason": ""}
        if not div.any() or div[0]:
            row["reason"] = "no divergent grid value" if not div.any() else "divergent at the first grid value"
            rows.append(row)
            continue
        j = int(np.argmax(div))
        pr = problem(int(w)) if axis == "depth" else problem
        model, nl, _ = pr.build(width if axis == "depth" else int(w), seed)
        try:
            e = locate("divergence_onset_at_width", model, nl, float(xs[j - 1]), float(xs[j]), rtol=rtol, dps=dps,
                       steps=steps)
        except (ValueError, RuntimeError) as exc:  # no straddle in float64 / precisions never agreed
            row["reason"] = str(exc).splitlines()[0][:200]
        else:
            row.update(eta_lam0=float(e.eta_lam0), lo=float(e.lo), hi=float(e.hi), precisions="+".join(e.precisions))
        rows.append(row)
    return pd.DataFrame(rows)


def _edges(values, log):
    v = np.asarray(sorted(values), float)
    if len(v) == 1:
        return np.array([v[0] / 1.5, v[0] * 1.5]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    if log:
        lv = np.log(v)
        mid = (lv[1:] + lv[:-1]) / 2
        return np.exp(np.r_[lv[0] - (mid[0] - lv[0]), mid, lv[-1] + (lv[-1] - mid[-1])])
    mid = (v[1:] + v[:-1]) / 2
    return np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]


def _draw_onsets(ax, onsets, axis, tops):
    """The measured divergence onsets on the phase diagram (gid ``onset``), annotated with their distance from
    the derived eta_max lam0 of the row (``tops``); returns the legend handle."""
    from matplotlib.patheffects import withStroke
    o = onsets[onsets["eta_lam0"].notna()]
    err = np.vstack([o["eta_lam0"] - o["lo"], o["hi"] - o["eta_lam0"]])
    precs = sorted({q for v in o["precisions"] for q in str(v).split("+") if q})
    h = ax.errorbar(o["eta_lam0"], o[axis], xerr=err, fmt="D", color=OKABE_ITO["black"], mfc=OKABE_ITO["yellow"],
                    ms=6, capsize=3, label="divergence onset at width n (measured: bisection, two of "
                                           f"{', '.join(precs)} agree)")
    h.lines[0].set_gid("onset")
    for r in o.itertuples(index=False):
        y, x = getattr(r, axis), r.eta_lam0
        text = f"{x:.6g} $\\pm$ {(r.hi - r.lo) / 2:.0e}" + (
            f"\n$\\Delta = {x - tops[y]:+.1e}$ from $\\eta_{{\\max}}\\lambda_0$" if y in tops else "")
        ax.annotate(text, (x, y), xytext=(7, 4), textcoords="offset points", fontsize=7,
                    path_effects=[withStroke(linewidth=2.5, foreground="white")])
    return h


def draw_phase(grid, *, onsets=None, lines=None, axis="width", title=("", ""), xscale="linear"):
    """The phase diagram from a tidy DataFrame of (``width`` or ``depth``, ``eta_lam0``, ``verdict``) rows: cells
    coloured by verdict (a QuadMesh, gid ``verdicts``, its array the codes of :data:`VERDICTS`), the derived
    boundaries per row (``lines``: a dict row value -> list of :class:`Line` s; gids ``eta_crit`` / ``eta_max``),
    and the measured onsets (gid ``onset``).
    (Over 60 lines only with this docstring and its examples: the body is 54 lines.)

    >>> import pandas as pd
    >>> g = pd.DataFrame({"width": [8, 8, 32, 32], "eta_lam0": [1.0, 3.0, 1.0, 3.0],
    ...                   "verdict": ["lazy", "catapult", "lazy", "divergent"]})
    >>> fig = draw_phase(g); fig.axes[0].collections[0].get_array().tolist()     # rows: widths 8, 32
    [[0, 1], [0, 2]]
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    fig = _figure((8.4, 5.6))
    ax = fig.subplots()
    ys = sorted(grid[axis].unique())
    xs = sorted(grid["eta_lam0"].unique())
    code = {v: i for i, v in enumerate(VERDICTS)}
    C = np.full((len(ys), len(xs)), code["undetermined"], dtype=int)
    for r in grid.itertuples(index=False):
        C[ys.index(getattr(r, axis)), xs.index(r.eta_lam0)] = code.get(r.verdict, code["undetermined"])
    ylog = axis == "width"
    cmap = ListedColormap([VERDICT_COLOURS[v] for v in VERDICTS])
    ax.pcolormesh(_edges(xs, xscale == "log"), _edges(ys, ylog), C, cmap=cmap,
                  norm=BoundaryNorm(np.arange(len(VERDICTS) + 1) - 0.5, len(VERDICTS)), edgecolors="white",
                  linewidth=0.4, gid="verdicts")
    yedges = _edges(ys, ylog)
    handles = [Patch(color=VERDICT_COLOURS[v], label=f"{v} (measured)") for v in VERDICTS
               if (C == code[v]).any()]
    from matplotlib.patheffects import withStroke
    halo = [withStroke(linewidth=4, foreground="white")]
    styles = {"eta_crit": dict(color=OKABE_ITO["black"], ls="--"), "eta_max": dict(color=OKABE_ITO["black"], ls="-.")}
    tops = {}
    for name, st in styles.items():
        px, py, vals, ln0 = [], [], [], None
        for i, y in enumerate(ys):
            ln = _derived((lines or {}).get(y, []), name)
            if ln is None or ln.eta_lam0 is None:
                continue
            px += [ln.eta_lam0, ln.eta_lam0, math.nan]
            py += [yedges[i], yedges[i + 1], math.nan]
            vals.append(ln.eta_lam0)
            ln0 = ln0 or ln
            if name == "eta_max":
                tops[y] = ln.eta_lam0
        if px:
            v = f" = {_num(vals[0])}" if max(vals) - min(vals) <= 1e-9 * abs(vals[0]) else " (per row)"
            lab = f"${ln0.symbol}\\,\\lambda_0${v} (derived, {ln0.exactness})"
            handles.append(ax.plot(px, py, lw=1.8, gid=name, label=lab, path_effects=halo, **st)[0])
    if onsets is not None and len(onsets) and onsets["eta_lam0"].notna().any():
        handles.append(_draw_onsets(ax, onsets, axis, tops))
    ax.set_xscale(xscale)
    if ylog:
        ax.set_yscale("log")
        ax.set_yticks(ys, [str(int(y)) for y in ys])
        ax.minorticks_off()
        ax.set_ylabel("width $n$")
    else:
        ax.set_yticks(ys, [str(int(y)) for y in ys])
        ax.set_ylabel("depth $L$")
    ax.set_xlabel(r"$\eta\lambda_0$")
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle("\n".join(t for t in title if t), fontsize=9)
    fig.catapult = {"grid": grid, "onsets": onsets, "lines": lines, "codes": C, "axis": axis}
    return fig


def default_phase_grid(lines, onset=None, points=20):
    """Cell centres for the phase diagram: (k + 1/2) x step up to 1.25 eta_max lam0, the step a round number near
    1/``points`` of that (cell edges on the derived lines when they are multiples of the step), or geometric up to
    1.25 x the measured onset when eta_max is not
    derived; and the x scale.

    >>> xs, scale = default_phase_grid(threshold_lines(Problem.named("uv", "mse"), 1.0)); xs[:3], xs[-1], scale
    ([0.125, 0.375, 0.625], 4.875, 'linear')
    """
    crit, top = _derived(lines, "eta_crit"), _derived(lines, "eta_max")
    c = crit.eta_lam0 if crit is not None and crit.eta_lam0 else 2.0
    hi = 1.25 * (top.eta_lam0 if top is not None and top.eta_lam0 else onset if onset else 2.5 * c)
    if hi / c <= 6:
        raw = hi / points   # a round step (1, 1.25, 2, 2.5, 5 x 10^k): cell edges on round values such as 2 and 4
        k = math.floor(math.log10(raw))
        step = min(m * 10 ** k for m in (1, 1.25, 2, 2.5, 5, 10) if m * 10 ** k >= raw * (1 - 1e-12))
        count = math.ceil(hi / step - 1e-9)
        return [round((j + 0.5) * step, 12) for j in range(count)], "linear"
    return [float(v) for v in np.geomspace(c / 4, hi, points)], "log"


def phase_figure(model="uv", loss="mse", *, widths=None, eta_lam0s=None, depths=None, width=16, seed=0,
                 dps=30, steps=5000, points=20, depth=None, p=None, onsets=True, **labels):
    """The phase diagram of ``model`` under ``loss`` (see :func:`draw_phase`): parameter-GD verdicts on
    ``widths`` (default 16, 64, 256; deep 4, 16, 64) x ``eta_lam0s`` (default :func:`default_phase_grid`), or with
    ``depths`` the deep network's depths
    L at ``width``; the derived eta_crit and eta_max per row; the measured divergence onset per row.
    ``fig.catapult``: ``grid``, ``onsets`` (DataFrames), ``lines``."""
    if depths is not None:
        def prob(L):
            return Problem.named("deep", loss, depth=L, p=p, **labels)
        rows, axis, make = list(depths), "depth", prob
        widths_for_lam0 = {L: (prob(L), width) for L in rows}
    else:
        pr = Problem.named(model, loss, depth=depth, p=p, **labels)
        if widths is None:  # deep: n x n hidden layers, isometric widths are powers of 4
            widths = (4, 16, 64) if pr.depth is not None else (16, 64, 256)
        rows, axis, make = list(widths), "width", pr
        widths_for_lam0 = {w: (pr, w) for w in rows}
    lines = {}
    for y, (pr_y, w_y) in widths_for_lam0.items():
        m, nl, _ = pr_y.build(w_y, seed)
        lines[y] = threshold_lines(pr_y, _lam0(m, nl), w_y)
    xscale = "linear"
    if eta_lam0s is None:
        ref = lines[rows[-1]]
        onset = None
        if _derived(ref, "eta_max") is None:
            pr_ref, w_ref = widths_for_lam0[rows[-1]]
            crit = _derived(ref, "eta_crit")
            e = measured_onset(pr_ref, w_ref, seed, lo=crit.eta_lam0 if crit and crit.eta_lam0 else 1.0,
                               dps=min(dps, 30))
            onset = None if e is None else float(e.eta_lam0)
        eta_lam0s, xscale = default_phase_grid(ref, onset, points)
    elif max(eta_lam0s) / min(eta_lam0s) > 20:
        xscale = "log"
    grid = phase_grid(make, rows, eta_lam0s, seed=seed, dps=dps, steps=steps, axis=axis, width=width)
    ons = onsets_from_grid(make, grid, seed=seed, dps=dps, axis=axis, width=width) if onsets else None
    first = widths_for_lam0[rows[0]][0]
    what = f"deep, depths L = {rows}, width n = {width}" if axis == "depth" else f"{first.name}, widths n = {rows}"
    labels_txt = "".join(f", {k} = {v}" for k, v in first.labels.items())
    title = (f"phase diagram: {what}, loss $\\ell(f) = {_latex(first.loss.expr)}${labels_txt}, seed {seed}",
             f"cells measured: parameter GD, {dps} and {2 * dps} digits agree (else undetermined); lines: derived")
    fig = draw_phase(grid, onsets=ons, lines=lines, axis=axis, title=title, xscale=xscale)
    return fig


# ------------------------------------------------------------------------------------------ 3. flatness


def flatness_data(problems, eta_lam0s=None, *, width=256, seed=0, dps=30, steps=5000, points=20):
    """eta*lam at the end of each run against eta*lam0, for each problem (a dict name -> :class:`Problem`): a tidy
    DataFrame with ``loss``, ``eta_lam0``, ``eta_lam_final``, ``verdict``, ``lam0``, ``width``, ``seed``, ``dps``
    (verdicts: two precisions agree).  Default values: geometric from eta_crit/4 to 1.15 x eta_max (or x the
    measured divergence onset) per loss; ``eta_lam0s`` a dict name -> values overrides.

    >>> d = flatness_data({"mse": Problem.named("uv", "mse")}, {"mse": [1.0, 3.0]}, width=64, dps=15)
    >>> d.verdict.tolist(), bool(d.eta_lam_final.iloc[1] < 2)
    (['lazy', 'catapult'], True)
    """
    import pandas as pd
    frames = []
    for name, pr in problems.items():
        xs = (eta_lam0s or {}).get(name)
        if xs is None:
            lines = threshold_lines(pr, _lam0(*pr.build(width, seed)[:2]), width)
            crit, top = _derived(lines, "eta_crit"), _derived(lines, "eta_max")
            c = crit.eta_lam0 if crit is not None and crit.eta_lam0 else 1.0
            if top is not None and top.eta_lam0:
                hi = top.eta_lam0
            else:
                e = measured_onset(pr, width, seed, lo=c, dps=min(dps, 30))
                hi = 4 * c if e is None else float(e.eta_lam0)
            xs = [float(v) for v in np.geomspace(c / 4, 1.15 * hi, points)]
        g = phase_grid(pr, [width], xs, seed=seed, dps=dps, steps=steps)
        g.insert(0, "loss", name)
        frames.append(g)
    return pd.concat(frames, ignore_index=True)


def draw_flatness(data, lines, *, title=("", "")):
    """The flatness figure from :func:`flatness_data`'s DataFrame and ``lines`` (a dict loss name -> list of
    :class:`Line` s): eta*lam_final vs eta*lam0 per loss (gid ``final:NAME``; lazy circles, catapult triangles,
    undetermined runs hollow squares at their last step, not joined (gid ``undetermined:NAME``), divergent runs as
    crosses on the top edge), each loss's derived eta*lam = 2/l''(f*) (gid ``eta_crit:NAME``),
    the diagonal eta*lam_final = eta*lam0 (lam unchanged), log-log axes.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"loss": ["mse"] * 3, "eta_lam0": [1.0, 3.0, 5.0], "eta_lam_final": [1.0, 1.9, float("nan")],
    ...                   "verdict": ["lazy", "catapult", "divergent"]})
    >>> fig = draw_flatness(d, {"mse": threshold_lines(Problem.named("uv", "mse"), 1.0)})
    >>> sorted(ln.get_gid() for ln in fig.axes[0].lines if ln.get_gid())
    ['diagonal', 'divergent:mse', 'eta_crit:mse', 'eta_max:mse', 'final:mse']
    """
    fig = _figure((8.0, 7.0))
    ax = fig.subplots()
    lo, hi = data["eta_lam0"].min(), data["eta_lam0"].max()
    ax.plot([lo, hi], [lo, hi], color=OKABE_ITO["grey"], ls=":", lw=1.2, gid="diagonal",
            label=r"$\eta\lambda_\infty = \eta\lambda_0$ ($\lambda$ unchanged)")
    marks = {"lazy": "o", "catapult": "^"}
    for k, (name, d) in enumerate(data.groupby("loss", sort=False)):
        colour = [OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], OKABE_ITO["purple"]][k % 4]
        ok = d[d["verdict"].isin(list(marks))].sort_values("eta_lam0")
        ax.plot(ok["eta_lam0"], ok["eta_lam_final"], color=colour, lw=1.2, gid=f"final:{name}",
                label=f"{name}: measured $\\eta\\lambda_\\infty$ (converged runs)")
        for v, mk in marks.items():
            s = ok[ok["verdict"] == v]
            if len(s):
                ax.scatter(s["eta_lam0"], s["eta_lam_final"], marker=mk, color=colour, s=28, zorder=3)
        un = d[d["verdict"] == "undetermined"]
        if len(un):
            ax.plot(un["eta_lam0"], un["eta_lam_final"], "s", mfc="none", color=colour, ms=6,
                    gid=f"undetermined:{name}",
                    label=f"{name}: undetermined (not converged): $\\eta\\lambda$ at the last step")
        dv = d[d["verdict"] == "divergent"]
        if len(dv):
            ax.plot(dv["eta_lam0"], np.full(len(dv), 0.97), "x", color=colour, transform=ax.get_xaxis_transform(),
                    gid=f"divergent:{name}", label=f"{name}: divergent (measured)")
        crit = _derived(lines.get(name, []), "eta_crit")
        if crit is not None:
            ax.axhline(crit.eta_lam, color=colour, ls="--", lw=1.1, gid=f"eta_crit:{name}",
                       label=f"{name}: $\\eta\\lambda = 2/\\ell''(f^*) = {crit.eta_lam:.4g}$ "
                             f"(derived, {crit.exactness})")
        top = _derived(lines.get(name, []), "eta_max")
        if top is not None and top.eta_lam0 is not None:
            ax.axvline(top.eta_lam0, color=colour, ls="-.", lw=1.0, gid=f"eta_max:{name}",
                       label=f"{name}: $\\eta_{{\\max}}\\lambda_0 = {top.eta_lam0:.4g}$ (derived, {top.exactness})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\eta\lambda_0$ (initial NTK)")
    ax.set_ylabel(r"$\eta\lambda_\infty$ (NTK at the end of the run)")
    for v, mk in marks.items():  # the marker key, for the verdicts on the figure only
        if (data["verdict"] == v).any():
            ax.scatter([], [], marker=mk, color="k", label=v)
    fig.legend(fontsize=7, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle("\n".join(t for t in title if t), fontsize=9)
    fig.catapult = {"data": data, "lines": lines}
    return fig


def flatness_figure(model="uv", losses=None, *, width=256, seed=0, dps=30, steps=5000, eta_lam0s=None, points=20):
    """The flatness figure for ``losses`` (a dict name -> :class:`Problem` or loss; default squared loss and the
    logistic loss of degenerate data with p = 7/10) on ``model``; see :func:`draw_flatness`."""
    if losses is None:
        losses = {"squared": Problem.named(model, "mse"), "logistic p=7/10": Problem.named(model, "logistic", p="7/10")}
    problems = {k: v if isinstance(v, Problem) else Problem.named(model, v) for k, v in losses.items()}
    data = flatness_data(problems, eta_lam0s, width=width, seed=seed, dps=dps, steps=steps, points=points)
    lines = {}
    for name, pr in problems.items():
        lam0 = float(data[data["loss"] == name]["lam0"].iloc[0])
        lines[name] = threshold_lines(pr, lam0, width)
    first = next(iter(problems.values()))
    loss_txt = "; ".join(f"{k}: $\\ell(f) = {_latex(v.loss.expr)}$" for k, v in problems.items())
    title = (f"flatness: {first.name}, width n = {width}, seed {seed}; {loss_txt}",
             f"measured: parameter GD, {dps} and {2 * dps} digits agree; lines: derived")
    return draw_flatness(data, lines, title=title)


# ------------------------------------------------------------------------------------------ 4. deep


def deep_data(L=3, widths=None, *, x_range=None, nx=160, nn=90, n_range=(10.0, 1e5), band_restarts=1, band_levels=4,
              confirm=True):
    """The measured pictures of the depth-L isometric reduced map (squared loss, A = C = n, f0 = 1; exact map,
    iterated numerically): ``verdicts`` (a DataFrame n, x, verdict: float64 lock-step verdicts on an
    nn x nx grid over n_range x x_range, default x_range 0.5 beyond the measured edges and band),
    ``first`` (n, x_star, lo, hi, x_last, precisions:
    :func:`catapult.verify.deep_band.threshold` at ``widths``, bisected and confirmed at 30 and 60 digits) and
    ``band`` (:func:`catapult.verify.deep_limit.band_summary` of the n -> oo limit map; L = 2 exact).

    >>> d = deep_data(2, [100.0], nx=8, nn=3, band_restarts=0)
    >>> round(float(d["first"].x_star.iloc[0]), 6), d["band"]["band"], sorted(set(d["verdicts"].verdict))
    (4.0, [4, 4], ['converges', 'diverges'])
    """
    import pandas as pd
    from .deep_band import threshold, verdicts
    from .deep_limit import band_summary
    widths = list(widths) if widths is not None else [float(v) for v in np.geomspace(10, 1e5, 13)]
    rows = []
    for n in widths:
        r = threshold(L, n, confirm=confirm)
        rows.append({"n": float(n), "x_star": float(r.x), "lo": float(r.first.lo), "hi": float(r.first.hi),
                     "x_last": float(r.x_last), "precisions": "+".join(r.first.precisions)})
    first = pd.DataFrame(rows)
    band = band_summary(L, restarts=band_restarts, levels=band_levels) if (band_restarts or L == 2) else {
        "band": None, "band_reason": "not computed (band_restarts = 0)"}
    if x_range is None:  # around what was measured: the band and the edges
        vals = [v for v in list(first["x_star"]) + list(first["x_last"]) + list(band.get("band") or [])
                if v is not None and math.isfinite(v)]
        x_range = (min(vals) - 0.5, max(vals) + 0.5) if vals else (2.0, 2.0 * L + 1.5)
    ns = np.geomspace(*n_range, nn)
    xs = np.linspace(*x_range, nx)
    N, X = np.meshgrid(ns, xs, indexing="ij")
    codes, _ = verdicts(L, N.ravel(), X.ravel())
    names = {1: "diverges", 0: "converges", -1: "undecided"}
    grid = pd.DataFrame({"n": N.ravel(), "x": X.ravel(), "verdict": [names[int(c)] for c in codes]})
    return {"verdicts": grid, "first": first, "band": band, "L": L}


def draw_deep(data, *, lines=None, title=("", "")):
    """The deep figure from :func:`deep_data`: the reduced map's verdicts over (n, eta*lam0) (gid ``verdicts``),
    x*(n) (gid ``x_star``) and x_last(n) (gid ``x_last``) against n on a log axis, the band ends x_lo, x_hi
    (gids ``band_lo``, ``band_hi``) and the derived eta_crit lam0 (gid ``eta_crit``).

    >>> fig = draw_deep(deep_data(2, [100.0, 1000.0], nx=6, nn=3, band_restarts=0))
    >>> fig.axes[0].get_lines()[0].get_gid(), fig.axes[0].get_lines()[0].get_ydata().round(6).tolist()
    ('x_star', [4.0, 4.0])
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    fig = _figure((9.0, 6.4))
    ax = fig.subplots()
    g = data["verdicts"]
    ns, xs = np.sort(g["n"].unique()), np.sort(g["x"].unique())
    code = {"converges": 0, "diverges": 1, "undecided": 2}
    C = np.full((len(xs), len(ns)), 2, dtype=int)
    iN = {v: i for i, v in enumerate(ns)}
    iX = {v: i for i, v in enumerate(xs)}
    for r in g.itertuples(index=False):
        C[iX[r.x], iN[r.n]] = code[r.verdict]
    cmap = ListedColormap(["#CFE6F5", "#F3C9A9", "#DDDDDD"])
    ax.pcolormesh(_edges(ns, True), _edges(xs, False), C, cmap=cmap, norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5], 3),
                  gid="verdicts", rasterized=True)
    first = data["first"]
    h = [Patch(color="#CFE6F5", label="converges (reduced map, measured)"),
         Patch(color="#F3C9A9", label="diverges (reduced map, measured)")]
    h.append(ax.plot(first["n"], first["x_star"], "o", color=OKABE_ITO["black"], ms=5, gid="x_star",
                     label=r"$x^*(n)$: first divergent $\eta\lambda_0$ (measured, "
                           f"{first['precisions'].iloc[0] if len(first) else ''})")[0])
    ok = first[np.isfinite(first["x_last"])]
    h.append(ax.plot(ok["n"], ok["x_last"], "s", color=OKABE_ITO["blue"], ms=4, mfc="none", gid="x_last",
                     label=r"$x_{\rm last}(n)$: start of the final divergent stretch (measured)")[0])
    band = data["band"].get("band")
    if band is not None:
        what = "exact" if data["band"].get("band_exactness") == "exact" else "measured on the limit map"
        for k, (v, gid) in enumerate(zip(band, ("band_lo", "band_hi"))):
            if v is not None:
                h.append(ax.axhline(float(v), color=OKABE_ITO["vermillion"], ls="--" if k == 0 else "-.", lw=1.2,
                                    gid=gid, label=f"$x_{{\\rm {'lo' if k == 0 else 'hi'}}} = {float(v):.6g}$: band of "
                                                   f"the $n\\to\\infty$ limit ({what})"))
    crit = _derived(lines or [], "eta_crit")
    if crit is not None and crit.eta_lam0 is not None:
        inside = xs[0] <= crit.eta_lam0 <= xs[-1]
        h.append(ax.axhline(crit.eta_lam0, color=OKABE_ITO["black"], ls=":", lw=1.2, gid="eta_crit",
                            label=crit.label("eta_lam0") + ("" if inside else ": below the range shown")))
    ax.set_xscale("log")
    ax.set_xlabel(r"width $n$ (log scale: $x^*$ is log-periodic in $\ln n$, period $2\ln|1-x|$)")
    ax.set_ylabel(r"$x = \eta\lambda_0$")
    ax.set_ylim(xs[0], xs[-1])
    fig.legend(handles=h, fontsize=7, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle("\n".join(t for t in title if t), fontsize=9)
    fig.catapult = {**data, "lines": lines, "codes": C}
    return fig


def deep_figure(L=3, widths=None, *, nx=160, nn=90, n_range=(10.0, 1e5), band_restarts=1, band_levels=4,
                loss="mse"):
    """The deep figure (:func:`deep_data`, :func:`draw_deep`) for depth ``L``, squared loss f^2/2 (label 0) only:
    the width scan of :mod:`catapult.verify.deep_band` is for that loss."""
    from catapult.theory.loss import as_loss
    from catapult.theory.symbols import f
    lo = as_loss(loss)
    if lo.expr != f ** 2 / 2:
        raise ValueError(f"the deep figure is for the squared loss f**2/2 (label 0), got {lo.expr}: "
                         "the width scan (catapult.verify.deep_band) iterates the map of that loss")
    data = deep_data(L, widths, nx=nx, nn=nn, n_range=n_range, band_restarts=band_restarts, band_levels=band_levels)
    lines = threshold_lines(Problem.named("deep", "mse", depth=L), float(L))  # lam0 = L at this init (the map's)
    title = (f"deep linear network L = {L}, isometric hidden layers, loss $f^2/2$, init A = C = n, $f_0 = 1$ "
             f"($\\lambda_0 = L$)",
             "measured: the exact reduced map iterated numerically (float64 lock-step grid;",
             "edges bisected in float64, confirmed at 30 and 60 digits); lines: derived or measured as labelled")
    return draw_deep(data, lines=lines, title=title)


# ------------------------------------------------------------------------------------------ 5. modes


def modes_data(problem, *, width=256, seed=0, eta_lam0=3.0, dps=50, steps=5000, max_rows=2000):
    """The tidy trajectory of m samples at eta = ``eta_lam0`` / lam_1(Theta_0) (the top eigenvalue of the initial
    NTK matrix Theta = J J^T/m), with the per-mode columns res_i, eta_lam_i (:mod:`catapult.verify.trajectory`).

    >>> df = modes_data(Problem.samples([[1.0, 0.0], [0.0, 0.75]], [0.5, -0.25]), width=64, eta_lam0=3.0, dps=20)
    >>> round(float(df.eta_lam1.iloc[0]), 12), df.attrs["phase"]
    (3.0, 'catapult')
    """
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from .trajectory import problem_trajectory
    model, nl, lo = problem.build(width, seed)
    import mpmath
    tr0 = run_gd(model, nl, eta=1, steps=0, backend=get_backend("arb", dps), observe=True)
    with mpmath.workdps(dps):
        top = max(mpmath.eigsy(mpmath.matrix(tr0.observed[0]["ntk"]), eigvals_only=True))
        eta = mpmath.mpf(eta_lam0) / top
    return problem_trajectory(model, nl, lo, name=problem.name, eta=eta, steps=steps, dps=dps,
                              sample_labels=problem.sample_labels, max_rows=max_rows)


def draw_modes(df, lines=None, *, title=("", "")):
    """The per-mode figure from a tidy many-sample trajectory: |e_i.l'(f_t)| (gid ``res:i``, log scale) and
    eta*lam_i(Theta_t) (gid ``eta_lam:i``) vs step, with the derived eta*lam_i = 2/l''(f*) line (gid
    ``eta_crit``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"step": [0, 1], "res1": [1.0, 2.0], "eta_lam1": [3.0, 2.5], "res2": [1.0, 0.5],
    ...                    "eta_lam2": [1.0, 1.0]})
    >>> [ln.get_gid() for ln in draw_modes(df).axes[1].lines]
    ['eta_lam:1', 'eta_lam:2']
    """
    m = len([c for c in df.columns if c.startswith("res") and c[3:].isdigit()])
    fig = _figure((8.4, 6.4))
    a_res, a_lam = fig.subplots(2, 1, sharex=True)
    for i in range(1, m + 1):
        c = SERIES[(i - 1) % len(SERIES)]
        x0 = float(df[f"eta_lam{i}"].iloc[0])
        r = np.asarray(df[f"res{i}"], float)
        mask = r > 0
        growth = float(np.nanmax(r) / r[0]) if r[0] > 0 else math.nan
        a_res.plot(np.asarray(df["step"])[mask], r[mask], color=c, lw=1.5, gid=f"res:{i}",
                   label=f"mode {i}: $\\eta\\lambda_{i}(0) = {x0:.3g}$, growth max$_t$/initial = {growth:.3g}")
        a_lam.plot(df["step"], df[f"eta_lam{i}"], color=c, lw=1.5, gid=f"eta_lam:{i}", label=f"mode {i}")
    crit = _derived(lines or [], "eta_crit")
    if crit is not None:
        a_lam.axhline(crit.eta_lam, color=OKABE_ITO["black"], ls="--", lw=1.1, gid="eta_crit",
                      label=f"$\\eta\\lambda_i = {crit.eta_lam:.4g}$: $2/\\ell''$, "
                            f"$\\eta_{{\\rm crit}} = 2/\\lambda_{{\\max}}(\\Theta_0 H)$ (derived, {crit.exactness})")
    a_res.set_yscale("log")
    a_res.set_ylabel(r"residual $|e_i\cdot\ell'(f_t)|$" + "\n" + r"(squared loss: $|e_i\cdot(f_t - y)|$)")
    a_lam.set_ylabel(r"$\eta\lambda_i(\Theta_t)$")
    a_lam.set_xlabel(r"GD step $t$")
    a_res.legend(fontsize=7, loc="best")
    a_lam.legend(fontsize=7, loc="best")
    a_res.set_title(f"{df.attrs.get('phase', '')} (measured); $e_i$: eigenvectors of $\\Theta_0$, largest "
                    "eigenvalue first; $\\lambda_i(\\Theta_t)$: i-th largest eigenvalue at step t", fontsize=8)
    fig.suptitle("\n".join(t for t in title if t), fontsize=9)
    fig.catapult = {"frame": df, "lines": lines}
    return fig


def default_samples(m=3, d=3):
    """Default data for the modes figure: X = diag(1, 0.85, 0.55, ...) padded (m x d; distinct NTK eigenvalues
    ~ 2 x_a^2/m, so at eta*lam_1 = 3 two modes lie above 2 and one below), labels y_a = 1/2 (exact in float64).

    >>> X, Y = default_samples(); X.tolist(), Y.tolist()
    ([[1.0, 0.0, 0.0], [0.0, 0.875, 0.0], [0.0, 0.0, 0.5]], [0.5, 0.5, 0.5])
    """
    scales = [1.0, 0.875, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625]
    X = np.zeros((m, d))
    for a in range(m):
        X[a, a % d] = scales[a % len(scales)]
    return X, np.full(m, 0.5)


def modes_figure(problem=None, *, width=256, seed=0, eta_lam0=3.0, dps=50, steps=5000, max_rows=2000):
    """The per-eigendirection catapult (:func:`modes_data`, :func:`draw_modes`) for ``problem`` (a
    :class:`Problem` of m samples; default :func:`default_samples`), at eta*lam_1(Theta_0) = ``eta_lam0``."""
    pr = problem if problem is not None else Problem.samples(*default_samples())
    df = modes_data(pr, width=width, seed=seed, eta_lam0=eta_lam0, dps=dps, steps=steps, max_rows=max_rows)
    lines = threshold_lines(pr, float(df["lam1"].iloc[0]), width)
    title = (f"{pr.name}, loss $\\ell(f, y) = {_latex(pr.loss.expr)}$, width n = {width}, seed {seed}, "
             f"$\\eta\\lambda_1(\\Theta_0) = {eta_lam0:g}$",
             f"measured: parameter GD at {dps} digits (outputs and $\\Theta_t = JJ^T/m$ every step); "
             + ("line: derived" if _derived(lines, "eta_crit") is not None else
                "no derived line (" + _cut_reason(lines, "eta_crit") + ")"))
    return draw_modes(df, lines, title=title)


def net_figure(result, path=None):
    """The trajectory figure of a net run (:class:`catapult.verify.nets.NetResult`): the training loss per step
    (log scale) in the verdict's colour, with L0; written to ``path`` (PNG or SVG) when given.

    >>> from types import SimpleNamespace as NS
    >>> r = NS(losses=[1.0, 3.0, 0.1], verdict="catapult", c=3.0, lam0=0.2, eta_lam_final=1.5,
    ...        net={"activation": "relu", "depth": 2, "width": 8}, meta={"task": "even-odd"})
    >>> [ln.get_gid() for ln in net_figure(r).axes[0].lines]
    ['loss', 'L0']
    """
    fig = _figure((6.4, 4.2))
    ax = fig.subplots()
    L = np.asarray(result.losses, float)
    ax.plot(np.arange(len(L)), L, color=LINE_COLOURS.get(result.verdict, SERIES[0]), lw=1.6, gid="loss",
            label=f"training loss ({result.verdict}, measured)")
    ax.axhline(L[0], color=OKABE_ITO["black"], ls="--", lw=1.0, gid="L0", label="$L_0$")
    ax.set_yscale("log")
    ax.set_xlabel(r"GD step $t$")
    ax.set_ylabel(r"loss $L$")
    n = result.net
    lf = "n/a" if result.eta_lam_final is None else f"{result.eta_lam_final:.3g}"
    ax.set_title(f"{n['activation']} depth {n['depth']} width {n['width']}, task {result.meta['task']}: "
                 f"$c = \\eta\\lambda_0$ = {result.c:g}, $\\lambda_0$ = {result.lam0:.4g}, "
                 f"$\\eta\\lambda_{{final}}$ = {lf}", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    if path is not None:
        save(fig, path)
    return fig


def net_sweep_figure(sweep, path=None):
    """The figure of a net sweep (:class:`catapult.verify.nets.NetSweep`, or its table as a DataFrame): against
    c = eta lam0, per architecture and seed, the loss peak over L0 (log; a divergent run's peak, astronomically
    large, and any non-finite one are drawn at the top of the axis: 10 x the largest finite run's), eta lam_final (the catapult's flatness)
    and the test accuracy; markers coloured by the verdict.  Grey lines at c = 2 and 4 and at eta lam = 2 are the
    derived thresholds of the linear uv model (a 2-layer linear net on one input), for reference only: these nets
    are not that model.  Written to ``path`` (PNG or SVG) when given.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"activation": "relu", "depth": 2, "width": 8, "seed": 0, "c": [1.0, 3.0, 5.0],
    ...                   "verdict": ["lazy", "catapult", "divergent"], "loss_peak_ratio": [1.0, 9.0, 1e9],
    ...                   "eta_lam_final": [0.9, 1.8, None], "test_accuracy": [0.8, 0.9, float("nan")]})
    >>> ax = net_sweep_figure(t).axes[0]
    >>> [ln.get_gid() for ln in ax.lines][0], ax.lines[0].get_ydata().tolist()     # the divergent peak at the top
    ('relu-L2-n8-s0', [1.0, 9.0, 100.0])
    """
    df = getattr(sweep, "table", sweep)
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
    fig = _figure((12.0, 3.9))
    axes = fig.subplots(1, 3, sharex=True)
    cs = df["c"].astype(float)
    ticks = [2.0 ** k for k in range(int(np.floor(np.log2(cs.min()))), int(np.ceil(np.log2(cs.max()))) + 1)]
    panels = (("loss_peak_ratio", r"loss peak / $L_0$", True), ("eta_lam_final", r"$\eta\lambda_{final}$", False),
              ("test_accuracy", "test accuracy", False))
    groups = list(df.groupby(["activation", "depth", "width", "seed"], sort=True))
    peaks = df.loc[df["verdict"] != "divergent", "loss_peak_ratio"].to_numpy(float)
    peaks = peaks[np.isfinite(peaks)]
    top = 10 * max(10.0, float(peaks.max()) if peaks.size else 10.0)
    for ax, (col, label, log) in zip(axes, panels):
        for k, ((act, L, n, s), g) in enumerate(groups):
            g = g.sort_values("c")
            y = np.asarray([np.nan if v is None else float(v) for v in g[col]], float)
            if col == "loss_peak_ratio":   # a divergent run's peak, or any non-finite one, at the top
                y = np.where((g["verdict"].to_numpy() == "divergent") | ~np.isfinite(y), top, y)
            ax.plot(g["c"].to_numpy(float), y, color=SERIES[k % len(SERIES)], lw=1.0, alpha=0.8,
                    gid=f"{act}-L{L}-n{n}-s{s}", label=f"{act} L={L} n={n} seed {s}")
            ax.scatter(g["c"].to_numpy(float), y, c=[VERDICT_COLOURS.get(v, "grey") for v in g["verdict"]], s=18,
                       zorder=3, edgecolors="none")
        for c in (2, 4):
            ax.axvline(c, color="0.6", ls=":", lw=0.9, gid=f"uv-c{c}")
        if col == "eta_lam_final":
            ax.axhline(2, color="0.6", ls="--", lw=0.9, gid="uv-eta-lam-2")
        if log:
            ax.set_yscale("log")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(r"$c = \eta\lambda_0$")
        ax.set_ylabel(label)
    axes[0].set_ylim(top=top * 3)
    handles = [axes[0].scatter([], [], c=VERDICT_COLOURS[v], s=18, label=v) for v in VERDICTS if v in set(df["verdict"])]
    axes[0].legend(handles=handles, fontsize=7, frameon=False, title="verdict (measured)", title_fontsize=7)
    axes[2].legend(fontsize=6, frameon=False)
    fig.suptitle("net sweep (measured); dotted: c = 2, 4 and dashed: eta lam = 2, derived for the linear uv model "
                 "(reference only)", fontsize=8)
    if path is not None:
        save(fig, path)
    return fig
