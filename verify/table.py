"""Rows of a cross-validation table: claim, predicted, measured, tolerance, PASS/FAIL.

Examples
========
>>> r = Row("a1", "map = GD", "exact", "45.2 digits", ">= 40 digits", True, "measured: arb60, n=100, seed=1")
>>> print(render([r]).splitlines()[2])
a1  PASS  map = GD  exact  45.2 digits  >= 40 digits  measured: arb60, n=100, seed=1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Row:
    """One check.  ``label`` says what is exact, leading order, or measured (with precision, width, seed)."""

    id: str
    claim: str
    predicted: str
    measured: str
    tolerance: str
    passed: bool
    label: str
    seconds: float = 0.0

    def __post_init__(self):
        self.passed = bool(self.passed)  # numpy / mpmath booleans are not JSON
        self.seconds = float(self.seconds)

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status
        return d


def render(rows) -> str:
    """A plain-text table, columns padded to their widest cell."""
    head = ("id", "ok", "claim", "predicted", "measured", "tolerance", "label")
    cells = [head] + [(r.id, r.status, r.claim, r.predicted, r.measured, r.tolerance, r.label) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
