"""The main job's catalogue: every cross-validation row, in order.

``full=True`` adds the heavier cases (more widths, seeds and losses).
"""

from __future__ import annotations

from . import checks, checks_deep, checks_deep_limit, checks_deep_logistic, checks_logistic, checks_samples

SECTIONS = [
    ("a", "derived uv map vs parameter GD", lambda full: checks.check_map_vs_gd(full=full)),
    ("b", "thresholds per width", lambda full: checks.check_thresholds()),
    ("c", "Lewkowycz et al. Theorem 1", lambda full: checks.check_theorem1(full=full)),
    ("L", "logistic loss on degenerate data", lambda full: checks_logistic.catalogue(full=full)),
    ("S", "many samples, dimension d", lambda full: checks_samples.catalogue(full=full)),
    ("D", "deep linear networks", lambda full: checks_deep.catalogue(full=full)),
    ("DL", "deep linear networks, logistic loss on degenerate data", lambda full: checks_deep_logistic.catalogue(full=full)),
    ("DB", "deep linear networks: width dependence of the divergence threshold", lambda full: checks_deep_limit.catalogue(full=full)),
]


def catalogue(full=False, only=None):
    """All rows (``only``: a set of section keys to run)."""
    rows = []
    for key, _, fn in SECTIONS:
        if only is None or key in only:
            rows.extend(fn(full))
    return rows
