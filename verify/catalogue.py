"""The main job's catalogue: every cross-validation row, in order, one section per model family.

``full=True`` adds the heavier cases (more widths, seeds and losses).  The section modules are imported when
their rows run, so reading :data:`KEYS` (the CLI's ``--only`` choices) is cheap.

>>> KEYS[:3], "U" in KEYS
(['a', 'b', 'c'], True)
"""

from __future__ import annotations

import importlib


def _rows(module, function, takes_full=True):
    def run(full):
        fn = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return fn(full=full) if takes_full else fn()
    return run


#: (key, title, rows(full)) per section
SECTIONS = [
    ("a", "derived uv map vs parameter GD", _rows("checks", "check_map_vs_gd")),
    ("b", "thresholds per width", _rows("checks", "check_thresholds", takes_full=False)),
    ("c", "Lewkowycz et al. Theorem 1", _rows("checks", "check_theorem1")),
    ("L", "logistic loss on degenerate data", _rows("checks_logistic", "catalogue")),
    ("S", "many samples, dimension d", _rows("checks_samples", "catalogue")),
    ("D", "deep linear networks", _rows("checks_deep", "catalogue")),
    ("DL", "deep linear networks, logistic loss on degenerate data", _rows("checks_deep_logistic", "catalogue")),
    ("DB", "deep linear networks: width dependence of the divergence threshold",
     _rows("checks_deep_limit", "catalogue")),
    ("U", "user-defined models (the shipped model files)", _rows("checks_user", "catalogue")),
]

#: the section keys, in order (``catapult verify --only KEY ...``)
KEYS = [key for key, _, _ in SECTIONS]


#: measured cost order of the default sections (seconds on 2 cores, most first): the order the workers take them
COST_ORDER = ["L", "c", "S", "DL", "DB", "D", "b", "U", "a"]


def _section_rows(key, full):
    """The rows of one section (a process worker's task: looked up by key, so it pickles)."""
    return next(fn for k, _, fn in SECTIONS if k == key)(full)


def catalogue(full=False, only=None, jobs=1):
    """All rows, in catalogue order (``only``: a set of section keys to run).

    ``jobs > 1`` runs whole sections in that many worker processes (``concurrent.futures``; every section is
    deterministic -- fixed seeds, exact inits -- so the rows are the same whichever process ran them), the
    costliest first.
    """
    keys = [k for k in KEYS if only is None or k in only]
    if jobs <= 1 or len(keys) < 2:
        return [row for k in keys for row in _section_rows(k, full)]
    from concurrent.futures import ProcessPoolExecutor
    order = sorted(keys, key=lambda k: COST_ORDER.index(k) if k in COST_ORDER else len(COST_ORDER))
    with ProcessPoolExecutor(max_workers=min(jobs, len(keys))) as pool:
        futures = {k: pool.submit(_section_rows, k, full) for k in order}
        done = {k: fut.result() for k, fut in futures.items()}
    return [row for k in keys for row in done[k]]


def model_file_rows(path, full=True):
    """The rows for one user model file (``catapult verify --model-file FILE``)."""
    from catapult.theory.model_file import load_model_file
    from .checks_user import rows_for
    return rows_for(load_model_file(path), full=full)
