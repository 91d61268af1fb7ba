"""Rows of a cross-validation table: claim, predicted, measured, tolerance, PASS/FAIL -- as prose and as numbers.

A :class:`Row` carries the prose of its check (what ``--verbose`` prints) and, beside it, the numbers: the
predicted and measured values in the units named by ``quantity``, the tolerance and how it is applied
(``compare``), the relative error, and the working precision, width and seed where the row has one.  Each is a
number or ``None``; ``to_json()`` gives every null its reason (``null_reasons``).  :func:`line` is the compact
terminal line of a row (at most :data:`LINE_WIDTH` columns), :func:`details` the ``--verbose`` lines.

Examples
========
>>> r = Row("a1", "map = GD", "exact", "45.2 digits", ">= 40 digits", True, "measured: arb60, n=100, seed=1",
...         quantity="digits", measured_value=45.2, tolerance_value=40, compare=">=", dps=60, width=100, seed=1,
...         backend="arb")
>>> print(render([r]).splitlines()[2])
a1  PASS  map = GD  exact  45.2 digits  >= 40 digits  measured: arb60, n=100, seed=1
>>> print(line(r))
a1                     PASS  map = GD                                 45.2 digits (>= 40)
>>> d = r.to_json(); d["measured_value"], d["bounds"], d["null_reasons"]["predicted_value"]
(45.2, [40.0, None], "the prediction is not one number ('exact')")
>>> frame([r])[["id", "status", "measured_value", "bound_lo", "bound_hi", "dps"]].to_dict("records")
[{'id': 'a1', 'status': 'PASS', 'measured_value': 45.2, 'bound_lo': 40.0, 'bound_hi': None, 'dps': 60}]
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import KW_ONLY, asdict, dataclass, field

#: the numeric fields of a row's JSON (a number or null; a null one has its reason in ``null_reasons``)
NUMBER_FIELDS = ("predicted_value", "measured_value", "tolerance_value", "rel_error", "bounds", "dps", "width",
                 "seed")

#: how ``tolerance_value`` applies (``compare``); ``bounds`` is the range of ``measured_value`` it accepts
COMPARE = {"rel": "|measured - predicted| <= tolerance |predicted|",
           "abs": "|measured - predicted| <= tolerance",
           ">=": "measured >= tolerance",
           "<=": "measured <= tolerance",
           "==": "measured == predicted",
           "in": "bounds[0] <= measured <= bounds[1]"}

#: the reason given for a null number nobody explained (a test keeps it out of the catalogue)
UNEXPLAINED = "not given at the row's construction"


#: the null predicted value of a map-vs-GD row, and its reason
EXACT_MAP = {"predicted_value": "identical (an exact map): the agreement is limited only by the working precision"}

#: the measured criteria in a few words (the terminal table)
SHORT = {"linear stability threshold": "stability", "divergence onset at width n": "div. onset",
         "loss-rise onset": "loss-rise onset"}


def several(widths=None, seeds=None):
    """The null width/seed of a row measured over several of them, and why."""
    why = {}
    if widths:
        why["width"] = f"several widths ({widths})"
    if seeds:
        why["seed"] = f"several seeds ({seeds})"
    return why


def confirmed_at(*estimates) -> tuple:
    """(the pairs of precisions that agreed, the row's ``backend``) of measured thresholds: which engines the
    precision ladder used (its 50-digit rung is fixed50 where the fixed-point engine carries the model, else arb;
    a threshold float64 cannot resolve is bisected at that rung and confirmed one rung up).

    >>> from types import SimpleNamespace as E
    >>> confirmed_at(E(precisions=["float64", "fixed50"]), E(reason="not measured"),
    ...              E(precisions=["fixed50", "arb100"]))
    ('float64+fixed50, fixed50+arb100', 'float64+fixed/arb')
    """
    pairs = list(dict.fromkeys("+".join(e.precisions) for e in estimates if getattr(e, "precisions", None)))
    return ", ".join(pairs) or "none", engines(t for p in pairs for t in p.split("+"))


def engines(tags) -> str:
    """A row's ``backend``: float64 and the engines of the precision tags ``tags`` beside it.

    >>> engines(["fixed50", "arb100", "float64"]), engines([])
    ('float64+fixed/arb', 'float64')
    """
    names = list(dict.fromkeys(t.rstrip("0123456789") for t in tags if t != "float64"))
    return "float64+" + "/".join(names) if names else "float64"


def _num(x):
    """A finite float (or None): mpmath, numpy and SymPy numbers become JSON numbers."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _int(x):
    return None if x is None else int(x)


@dataclass
class Row:
    """One check.  ``label`` says what is exact, leading order, or measured (with precision, width, seed).

    The keyword fields are the numbers beside the prose (all optional):

    * ``short`` -- the claim in a few words, for the terminal table (default: the claim, truncated);
    * ``quantity`` -- what ``predicted_value`` and ``measured_value`` are (``"eta*lam0"``, ``"digits"``, ...);
    * ``tolerance_value`` and ``compare`` (a key of :data:`COMPARE`); ``bounds`` for ``compare="in"``;
    * ``rel_error`` -- (measured - predicted)/|predicted| unless given;
    * ``dps`` (decimal digits of the highest precision used), ``width`` (n), ``seed``, ``backend``;
    * ``why`` -- ``{field: reason}`` for a number that is null (else a reason is derived from the prose).
    """

    id: str
    claim: str
    predicted: str
    measured: str
    tolerance: str
    passed: bool
    label: str
    seconds: float = 0.0
    _: KW_ONLY
    short: str = ""
    quantity: str | None = None
    predicted_value: float | None = None
    measured_value: float | None = None
    tolerance_value: float | None = None
    compare: str | None = None
    bounds: list | None = None
    rel_error: float | None = None
    dps: int | None = None
    width: int | None = None
    seed: int | None = None
    backend: str | None = None
    why: dict = field(default_factory=dict)

    def __post_init__(self):
        self.passed = bool(self.passed)  # numpy / mpmath booleans are not JSON
        self.seconds = float(self.seconds)
        if self.compare is not None and self.compare not in COMPARE:
            raise ValueError(f"{self.id}: compare must be one of {list(COMPARE)}, got {self.compare!r}")
        for k in ("predicted_value", "measured_value", "tolerance_value", "rel_error"):
            setattr(self, k, _num(getattr(self, k)))
        self.dps, self.width, self.seed = _int(self.dps), _int(self.width), _int(self.seed)
        if self.bounds is not None:
            self.bounds = [_num(b) for b in self.bounds]
        if self.rel_error is None and self.measured_value is not None and self.predicted_value:
            self.rel_error = (self.measured_value - self.predicted_value) / abs(self.predicted_value)
        if self.bounds is None:
            self.bounds = self._bounds()

    def _bounds(self):
        p, t = self.predicted_value, self.tolerance_value
        if self.compare in (">=", "<=") and t is not None:
            return [t, None] if self.compare == ">=" else [None, t]
        if p is None:
            return None
        if self.compare == "==":
            return [p, p]
        if t is None:
            return None
        if self.compare == "rel":
            return [p - t * abs(p), p + t * abs(p)]
        if self.compare == "abs":
            return [p - t, p + t]
        return None

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def null_reasons(self) -> dict:
        """Why each null number is null: the row's own ``why``, else a reason derived from its prose."""
        out = {}
        exact = self.label.startswith(("exact", "derived"))
        for k in NUMBER_FIELDS:
            if getattr(self, k) is not None:
                continue
            if k in self.why:
                out[k] = self.why[k]
            elif k == "predicted_value":
                out[k] = f"the prediction is not one number ({_cut(self.predicted, 70)!r})"
            elif k == "measured_value":
                out[k] = f"the measurement is not one number ({_cut(self.measured, 70)!r})"
            elif k == "tolerance_value":
                out[k] = ("the criterion is a range (see bounds)" if self.compare == "in" else
                          f"the criterion is not one number ({_cut(self.tolerance, 70)!r})")
            elif k == "rel_error":
                out[k] = ("the predicted value is 0" if self.predicted_value == 0 else
                          "needs a numeric predicted and measured value")
            elif k == "bounds":
                out[k] = "no numeric criterion on measured_value"
            elif exact:
                out[k] = f"{self.label.split(' (')[0].split(':')[0]}: no {_WHAT[k]}"
            elif k == "dps" and self.backend == "float64":
                out[k] = "float64 arithmetic only (53-bit binary, not a decimal precision)"
            else:
                out[k] = UNEXPLAINED
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        del d["why"]
        d["status"] = self.status
        d["null_reasons"] = self.null_reasons()
        return d


_WHAT = {"dps": "working precision", "width": "width", "seed": "seed"}


def frame(rows):
    """The rows as tidy data: a pandas DataFrame, one row per check, the prose and the numbers of
    :meth:`Row.to_json` side by side (``bounds`` as ``bound_lo`` / ``bound_hi``; ``null_reasons`` as one JSON
    string per row).  ``catapult verify --table FILE`` writes it as CSV or JSON lines.

    >>> r = Row("x1", "band", "in [5, 6]", "5.2", "[5, 6]", True, "measured", measured_value=5.2, compare="in",
    ...         bounds=(5, 6))
    >>> d = frame([r]).iloc[0]
    >>> d.status, d.measured_value, (d.bound_lo, d.bound_hi), sorted(__import__("json").loads(d.null_reasons))[:2]
    ('PASS', 5.2, (5.0, 6.0), ['dps', 'predicted_value'])
    """
    import json

    import pandas as pd
    recs = []
    for r in rows:
        d = r.to_json()
        lo, hi = d.pop("bounds") or (None, None)
        d["bound_lo"], d["bound_hi"] = lo, hi
        d["null_reasons"] = json.dumps(d["null_reasons"], sort_keys=True)
        recs.append(d)
    df = pd.DataFrame.from_records(recs)
    return df.astype(object).where(df.notna(), None) if len(df) else df


def render(rows) -> str:
    """A plain-text table with every field in full, columns padded to their widest cell (wide: see :func:`line`)."""
    head = ("id", "ok", "claim", "predicted", "measured", "tolerance", "label")
    cells = [head] + [(r.id, r.status, r.claim, r.predicted, r.measured, r.tolerance, r.label) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- the compact terminal table (``catapult verify``): every line at most LINE_WIDTH columns -------------------

#: the widest line the terminal table prints
LINE_WIDTH = 100
ID_W, OK_W, RESULT_W = 21, 4, 30
CLAIM_W = LINE_WIDTH - ID_W - OK_W - RESULT_W - 3 * 2


def _cut(text, width):
    """``text`` in at most ``width`` columns (one line; '...' where cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:max(0, width - 3)].rstrip() + "..."


def _cut_middle(text, width):
    """``text`` in at most ``width`` columns, keeping both ends (ids: the prefix names the model, the end the row)."""
    if len(text) <= width:
        return text
    head = (width - 2) // 2
    return text[:head] + ".." + text[len(text) - (width - 2 - head):]


def short_number(x, digits=5) -> str:
    """A number in a few characters (``digits`` significant digits).

    >>> [short_number(v) for v in (4.0, 0.031234567, 58.93, -1.00005, 123456.7, 2e-9)]
    ['4', '0.031235', '58.93', '-1.0001', '1.2346e+05', '2e-09']
    """
    if x is None:
        return "n/a"
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.{digits}g}"


def result_cell(r: Row) -> str:
    """Measured vs predicted in short numbers (or the measured prose, cut, when the row has no number)."""
    m, p, t, c = r.measured_value, r.predicted_value, r.tolerance_value, r.compare
    unit = f" {r.quantity}" if r.quantity in UNITS else ""
    if m is None:
        return _cut(r.measured, RESULT_W)
    if c in (">=", "<=") and t is not None:
        shown = f"{m:.1f}" if r.quantity == "digits" else short_number(m)
        text = f"{shown}{unit} ({c} {short_number(t)})"
    elif c == "in" and r.bounds and not _narrow(r):
        lo, hi = r.bounds
        text = f"{short_number(m)}{unit} in [{short_number(lo)}, {short_number(hi)}]"
    elif p is not None:
        text = f"{short_number(m)} vs {short_number(p)}{unit}"
        if r.rel_error is not None and (c == "rel" or (c == "in" and _narrow(r))):
            text += f" ({r.rel_error:+.1e})"
    else:
        text = f"{short_number(m)}{unit}"
    return _cut(text, RESULT_W)


#: quantities printed as the unit of their number
UNITS = ("digits", "divergent runs")


def _narrow(r):
    """True for a range too narrow to show in short numbers (then measured vs predicted, with the rel. error)."""
    lo, hi = r.bounds or (None, None)
    p = r.predicted_value
    return p is not None and lo is not None and hi is not None and hi - lo <= 1e-3 * abs(p)


def header() -> list:
    """The table's two header lines."""
    cells = ("id".ljust(ID_W), "ok".ljust(OK_W), "claim".ljust(CLAIM_W), "measured vs predicted")
    return ["  ".join(cells).rstrip(), "  ".join("-" * w for w in (ID_W, OK_W, CLAIM_W, RESULT_W))]


def line(r: Row) -> str:
    """One row in at most :data:`LINE_WIDTH` columns: id, PASS/FAIL, the claim shortened, measured vs predicted."""
    cells = (_cut_middle(r.id, ID_W).ljust(ID_W), r.status.ljust(OK_W), _cut(r.short or r.claim, CLAIM_W).ljust(CLAIM_W),
             result_cell(r))
    return "  ".join(cells).rstrip()


def section_line(key, title) -> str:
    """The line that opens a section of the table."""
    return _cut(f"[{key}] {title}", LINE_WIDTH)


def details(r: Row, indent=4) -> list:
    """The ``--verbose`` lines of a row: the full claim, predicted, measured, tolerance, label and the numbers,
    wrapped to :data:`LINE_WIDTH` columns."""
    nums = [f"{k}={_show(getattr(r, k), k)}" for k in ("quantity", "predicted_value", "measured_value",
                                                     "tolerance_value", "compare", "rel_error", "dps", "width",
                                                     "seed", "backend") if getattr(r, k) is not None]
    fields = [("claim", r.claim), ("predicted", r.predicted), ("measured", r.measured), ("tolerance", r.tolerance),
              ("label", r.label), ("numbers", ", ".join(nums) or "none"), ("seconds", f"{r.seconds:.2f}")]
    out = []
    for name, text in fields:
        lead = " " * indent + f"{name:<11}"
        out += textwrap.wrap(" ".join(str(text).split()) or "-", LINE_WIDTH, initial_indent=lead,
                             subsequent_indent=" " * len(lead), break_on_hyphens=False)
    return out


def _show(v, k):
    return f"{v:.6g}" if isinstance(v, float) else repr(v) if k == "compare" else str(v)


def summary(rows, seconds, *, not_run=0) -> str:
    """The closing line: N/N PASS (the failures by id), the wall time, and what an interruption left out."""
    failed = [r.id for r in rows if not r.passed]
    text = f"{len(rows) - len(failed)}/{len(rows)} PASS"
    if failed:
        text += f", {len(failed)} FAIL"
    text += f"  ({seconds:.1f} s)"
    if not_run:
        text += f"  INTERRUPTED: {not_run} part(s) not run"
    if failed:
        text += "  failed: " + ", ".join(failed)
    return _cut(text, LINE_WIDTH)


class TablePrinter:
    """Prints the terminal table as rows arrive (``catapult verify``): section lines, one line per row (plus
    :func:`details` when ``verbose``), and the summary.  ``write(text)`` puts one line out (default: ``print``
    to ``out``; a progress bar passes its own, so the bar is redrawn below the table)."""

    def __init__(self, out, *, verbose=False, titles=None, write=None):
        self.out, self.verbose, self.titles = out, verbose, titles or {}
        self._write = write or (lambda text: (self.out.write(text + "\n"), self.out.flush()))
        self.section = None
        self._open = False   # a line whose write a Ctrl-C may have cut before its newline

    def write(self, text):
        """Put one line out; remember it until written, so :meth:`finish` starts on a fresh line after a Ctrl-C
        that landed inside a write (print writes the text and the newline separately)."""
        self._open = True
        self._write(text)
        self._open = False

    def start(self):
        for text in header():
            self.write(text)

    def rows(self, rows, key=None):
        for r in rows:
            if key is not None and key != self.section and key in self.titles:
                self.section = key
                self.write(section_line(key, self.titles[key]))
            self.write(line(r))
            if self.verbose:
                for text in details(r):
                    self.write(text)

    def finish(self, rows, seconds, *, not_run=0):
        if self._open:   # interrupted inside a write: end that line (at worst an empty line), not glue onto it
            self._write("")
        self.write(summary(rows, seconds, not_run=not_run))
