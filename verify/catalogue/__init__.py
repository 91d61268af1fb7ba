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
    ("D", "deep linear networks",
     [("deep", f, True) for f in ("rows_map", "rows_exact", "rows_thresholds", "rows_gaussian", "rows_lockstep")]),
    ("DL", "deep linear networks, logistic loss on degenerate data",
     [("deep_logistic", f, True) for f in ("rows_map", "rows_eta_crit", "rows_flatness", "rows_divergence")]),
    ("DB", "deep linear networks: width dependence of the divergence threshold",
     [("deep_limit", f, True) for f in ("rows_exact", "rows_drift", "rows_phase", "rows_band", "rows_losses")]),
    ("U", "user-defined models (the shipped model files)", [("user", "catalogue", True)]),
    ("P", "proven threshold brackets and verdicts (ball arithmetic)", [("certified", "catalogue", True)]),
    ("N", "networks: linear nets on one input are the uv model (2 layers) and the deep model (L layers) "
           "(--full; needs catapult[nets])",
     [("nets", "catalogue", True)]),
]

#: the section keys, in order (``catapult verify --only KEY ...``)
KEYS = [key for key, _, _ in SECTIONS]


def _part_rows(part, full):
    """The rows of one part (a worker's task; a tuple of names, so it pickles)."""
    module, function, takes_full = part
    fn = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return fn(full=full) if takes_full else fn()


def _ignore_sigint():
    """Worker initializer: Ctrl-C is the parent's to handle (it stops the workers and keeps the rows done)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the catalogue: ``groups``, the (section key, rows) of the parts that finished, in catalogue
    order; ``rows``, those rows; ``not_run``, the parts that did not finish, as ``"module.function"`` names."""

    def __init__(self, groups, not_run):
        super().__init__(f"interrupted: {len(not_run)} part(s) not run")
        self.groups, self.not_run = groups, not_run
        self.rows = [r for _, rows in groups for r in rows]


def parts(only=None):
    """The (section key, part) pairs to run, in catalogue order (``only``: a set of section keys)."""
    return [(key, part) for key, _, ps in SECTIONS if only is None or key in only for part in ps]


def schedule(costs, jobs):
    """The order in which ``jobs`` workers start parts of the given costs: a part costing at least an eighth of
    one worker's mean load starts first (longest first: it would otherwise set the wall time), the others in
    catalogue order, so that rows can be printed in catalogue order soon after they finish.

    >>> schedule([1, 1, 9, 1, 1, 1], jobs=2)
    [2, 0, 1, 3, 4, 5]
    """
    big = sum(costs) / (8 * max(1, jobs))
    first = sorted((i for i, c in enumerate(costs) if c >= big), key=lambda i: -costs[i])
    return first + [i for i in range(len(costs)) if i not in first]


def catalogue(full=False, only=None, jobs=1, on_rows=None, on_part=None, scheduler=None):
    """All rows, in catalogue order (``only``: a set of section keys to run).

    ``jobs > 1`` runs the parts of the sections in that many worker processes, and ``scheduler`` (a Dask address
    or Client) on a Dask cluster (:func:`catapult.verify.executor.open_executor`, the executor of ``catapult
    sweep``; every part is deterministic -- fixed seeds, exact inits -- so the rows are the same whichever process
    ran them), in the order of :func:`schedule`, and reassembles them in catalogue order.

    Streaming: ``on_rows(key, rows)`` gets each part's rows (``key``: its section) in catalogue order as soon as
    that part and every part before it have finished; ``on_part(done, total)`` is called as each part finishes
    (in any order: a progress bar).  Ctrl-C raises :class:`Interrupted` with the rows of the finished parts
    (the workers are stopped).
    """
    todo = parts(only)
    done, shown = {}, 0

    def finished(i, rows):
        nonlocal shown
        done[i] = rows
        if on_part is not None:
            on_part(len(done), len(todo))
        while shown in done:
            if on_rows is not None:
                on_rows(todo[shown][0], done[shown])
            shown += 1

    def interrupted():
        return Interrupted([(todo[i][0], done[i]) for i in sorted(done)],
                           [".".join(todo[i][1][:2]) for i in range(len(todo)) if i not in done])

    from ..executor import open_executor
    pool = open_executor(min(jobs, len(todo)), scheduler, initializer=_ignore_sigint) if scheduler or len(todo) > 1 \
        else None
    if pool is None:
        try:
            for i, (_, part) in enumerate(todo):
                finished(i, _part_rows(part, full))
        except KeyboardInterrupt:
            raise interrupted() from None
        return [row for i in range(len(todo)) for row in done[i]]
    from concurrent.futures import FIRST_COMPLETED, wait
    order = schedule([COST.get(part[:2], 1.0) for _, part in todo], pool.workers)
    futures = {}
    try:
        futures = {pool.submit(_part_rows, todo[i][1], full): i for i in order}
        pending = set(futures)
        while pending:
            ready, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(ready, key=futures.get):
                finished(futures[fut], fut.result())
    except KeyboardInterrupt:
        pool.stop(futures)
        raise interrupted() from None
    except BaseException:
        pool.stop(futures)
        raise
    pool.close()
    return [row for i in range(len(todo)) for row in done[i]]


#: measured seconds of the default parts (each alone in a fresh process, imports and derivations included, 2 cores,
#: quiet machine, 2026-12-02; only their order and relative size matter: see :func:`schedule`)
COST = {("uv", "check_map_vs_gd"): 1.2, ("uv", "thresholds_label_0"): 2.1, ("uv", "thresholds_label_half"): 2.4,
        ("uv", "theorem1_lazy"): 1.2, ("uv", "theorem1_catapult"): 2.5, ("uv", "theorem1_peak"): 0.9,
        ("uv", "theorem1_divergence"): 0.6, ("logistic", "rows_map"): 0.9, ("logistic", "rows_phases"): 4.6,
        ("logistic", "rows_separable"): 3.9, ("logistic", "rows_meng"): 2.3, ("logistic", "rows_stability"): 1.7,
        ("logistic", "rows_divergence"): 3.3, ("samples", "rows_map"): 3.1, ("samples", "rows_symbolic"): 1.1,
        ("samples", "rows_modes"): 0.7, ("samples", "rows_thresholds"): 3.7, ("deep", "rows_map"): 0.9,
        ("deep", "rows_exact"): 0.9, ("deep", "rows_thresholds"): 3.8, ("deep", "rows_gaussian"): 2.4,
        ("deep", "rows_lockstep"): 1.6,
        ("deep_logistic", "rows_map"): 1.2, ("deep_logistic", "rows_eta_crit"): 2.7,
        ("deep_logistic", "rows_flatness"): 1.7, ("deep_logistic", "rows_divergence"): 1.3,
        ("deep_limit", "rows_exact"): 1.5, ("deep_limit", "rows_drift"): 0.6, ("deep_limit", "rows_phase"): 0.5,
        ("deep_limit", "rows_band"): 2.9, ("deep_limit", "rows_losses"): 3.0, ("user", "catalogue"): 4.2,
        ("certified", "catalogue"): 2.7}


def model_file_rows(path, full=True, on_rows=None):
    """The rows for one user model file (``catapult verify --model-file FILE``): the map rows, then the threshold
    rows (each group to ``on_rows("U", rows)`` as it finishes; Ctrl-C raises :class:`Interrupted`)."""
    from catapult.theory.model_file import load_model_file
    from .user import map_rows, threshold_rows
    spec = load_model_file(path)
    prefix = f"U-{spec.name}"
    groups = [("user.map_rows", lambda: map_rows(spec, prefix, full=full, width=64)),
              ("user.threshold_rows", lambda: threshold_rows(spec, prefix))]
    rows = []
    for i, (name, group) in enumerate(groups):
        try:
            got = group()
        except KeyboardInterrupt:
            raise Interrupted([("U", rows)] if rows else [], [g for g, _ in groups[i:]]) from None
        rows += got
        if on_rows is not None:
            on_rows("U", got)
    return rows
