"""The main job's catalogue: every cross-validation row, in order, one section per model family.

``full=True`` adds the heavier cases (more widths, seeds and losses).  The section modules are imported when
their rows run, so reading :data:`KEYS` (the CLI's ``--only`` choices) is cheap.

>>> KEYS[:3], "U" in KEYS
(['a', 'b', 'c'], True)
"""

from __future__ import annotations

import importlib


#: (key, title, parts): each part is (module, function, takes_full); a section's rows are its parts' rows in order
SECTIONS = [
    ("a", "derived uv map vs parameter GD", [("uv", "check_map_vs_gd", True)]),
    ("b", "thresholds per width", [("uv", "thresholds_label_0", False), ("uv", "thresholds_label_half", False)]),
    ("c", "Lewkowycz et al. Theorem 1", [("uv", "theorem1_lazy", True), ("uv", "theorem1_catapult", True),
                                         ("uv", "theorem1_peak", True), ("uv", "theorem1_divergence", True)]),
    ("L", "logistic loss on degenerate data",
     [("logistic", "rows_map", False)] + [("logistic", f, True) for f in (
         "rows_phases", "rows_separable", "rows_meng", "rows_stability", "rows_divergence")]),
    ("S", "many samples, dimension d", [("samples", "rows_map", True), ("samples", "rows_symbolic", False),
                                        ("samples", "rows_modes", False),
                                        ("samples", "rows_thresholds", False)]),
    ("D", "deep linear networks", [("deep", "catalogue", True)]),
    ("DL", "deep linear networks, logistic loss on degenerate data", [("deep_logistic", "catalogue", True)]),
    ("DB", "deep linear networks: width dependence of the divergence threshold",
     [("deep_limit", "catalogue", True)]),
    ("U", "user-defined models (the shipped model files)", [("user", "catalogue", True)]),
]

#: the section keys, in order (``catapult verify --only KEY ...``)
KEYS = [key for key, _, _ in SECTIONS]


def _part_rows(part, full):
    """The rows of one part (a worker's task; a tuple of names, so it pickles)."""
    module, function, takes_full = part
    fn = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return fn(full=full) if takes_full else fn()


def catalogue(full=False, only=None, jobs=1):
    """All rows, in catalogue order (``only``: a set of section keys to run).

    ``jobs > 1`` runs the parts of the sections in that many worker processes (``concurrent.futures``; every
    part is deterministic -- fixed seeds, exact inits -- so the rows are the same whichever process ran them),
    the longest parts first, and reassembles them in catalogue order.
    """
    parts = [part for key, _, ps in SECTIONS if only is None or key in only for part in ps]
    if jobs <= 1 or len(parts) < 2:
        return [row for part in parts for row in _part_rows(part, full)]
    from concurrent.futures import ProcessPoolExecutor
    order = sorted(range(len(parts)), key=lambda i: -COST.get(parts[i][:2], 1.0))
    with ProcessPoolExecutor(max_workers=min(jobs, len(parts))) as pool:
        futures = {i: pool.submit(_part_rows, parts[i], full) for i in order}
        done = {i: fut.result() for i, fut in futures.items()}
    return [row for i in range(len(parts)) for row in done[i]]


#: measured seconds of the default parts (one run on 2 cores; only their order matters: longest first)
COST = {("uv", "thresholds_label_0"): 2.6, ("uv", "thresholds_label_half"): 2.5,
        ("samples", "rows_map"): 3.2, ("samples", "rows_symbolic"): 1.0,
        ("samples", "rows_modes"): 0.7, ("samples", "rows_thresholds"): 3.5,
        ("logistic", "rows_separable"): 5.3, ("deep_logistic", "catalogue"): 5.0,
        ("deep_limit", "catalogue"): 4.4, ("deep", "catalogue"): 4.2,
        ("logistic", "rows_divergence"): 3.3, ("logistic", "rows_phases"): 3.2,
        ("user", "catalogue"): 3.1, ("logistic", "rows_meng"): 2.4, ("uv", "theorem1_catapult"): 2.0,
        ("logistic", "rows_stability"): 1.3, ("uv", "theorem1_lazy"): 1.0,
        ("uv", "check_map_vs_gd"): 0.9}


def model_file_rows(path, full=True):
    """The rows for one user model file (``catapult verify --model-file FILE``)."""
    from catapult.theory.model_file import load_model_file
    from .user import rows_for
    return rows_for(load_model_file(path), full=full)
