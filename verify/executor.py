"""Where tasks run: local processes (``concurrent.futures``, all cores by default) or a Dask cluster (the tasks
sent through ``distributed.Client.get_executor()``: no scheduler of our own).  ``catapult sweep``, ``scan
--widths`` and ``catapult verify`` (default and ``--full``) all go through :func:`open_executor`, so the same
task runs the same way wherever it runs; ``None`` means "in this process".

>>> open_executor(jobs=1) is None
True
>>> ex = open_executor(jobs=2)
>>> ex.kind, ex.workers, ex.submit(pow, 2, 10).result()
('processes', 2, 1024)
>>> ex.close()
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
import os
import sys
from dataclasses import dataclass


class SchedulerError(RuntimeError):
    """A Dask scheduler that cannot be reached (or the ``distributed`` package is missing)."""


@dataclass
class Executor:
    """A ``concurrent.futures``-style executor with its kind (``"processes"`` or ``"dask"``), its number of
    workers, and what to release when done (a pool this module made, or a Client it opened)."""

    ex: object
    kind: str
    workers: int
    client: object = None   # a Client opened here (closed with the executor), else None

    def submit(self, fn, *args):
        """Run ``fn(*args)`` on a worker; a ``concurrent.futures.Future``."""
        return self.ex.submit(fn, *args)

    def close(self):
        """Release the workers after the tasks done (the normal end)."""
        if self.kind == "processes":
            self.ex.shutdown()
        elif self.client is not None:
            self.client.close()

    def stop(self, futures=()):
        """Cancel the tasks not started and end the running ones now (Ctrl-C, an error): local workers are
        terminated, Dask futures cancelled."""
        for f in futures:
            f.cancel()
        if self.kind == "processes":
            _terminate(self.ex)
        elif self.client is not None:
            self.client.close()


def open_executor(jobs=None, scheduler=None, *, initializer=None, context=None):
    """The executor for ``jobs`` local processes (default: all cores; ``jobs <= 1``: ``None``, run in this
    process) or for the Dask scheduler ``scheduler`` (an address, or a ``distributed.Client``, which then stays
    the caller's to close).  ``initializer`` runs in each local worker (e.g. to leave Ctrl-C to the parent);
    ``context``: how local workers start (``"spawn"`` for a parent running threads, e.g. JAX's; default: the
    platform's, or ``"forkserver"`` once JAX has been imported here)."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise SchedulerError("--scheduler needs the 'distributed' package: pip install 'catapult[scale]'") from None
        try:
            client = scheduler if isinstance(scheduler, Client) else Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        workers = max(1, sum(client.nthreads().values()))
        return Executor(client.get_executor(pure=False), "dask", workers, None if client is scheduler else client)
    jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs <= 1:
        return None
    threads = max(1, (os.cpu_count() or 1) // jobs)
    init = functools.partial(_worker_init, threads, initializer)
    if context is None and "jax" in sys.modules:   # JAX runs threads here: a forked worker may deadlock
        context = "forkserver"
    ctx = None if context is None else multiprocessing.get_context(context)
    return Executor(cf.ProcessPoolExecutor(max_workers=jobs, initializer=init, mp_context=ctx), "processes", jobs)


def _worker_init(threads, initializer):
    """A local worker's start: at most ``threads`` BLAS/OpenMP threads (the cores divided among the workers;
    with one worker per core, OpenBLAS's own threads fight the other workers for the cores: a 65536-long float64
    dot took 7.8 ms instead of 19 us with the other core busy, measured 2026-12-03), then the caller's
    ``initializer``."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=threads)
    if initializer is not None:
        initializer()


def each_result(ex, fn, tasks):
    """Yield ``(i, fn(*tasks[i]))`` for every task, in this process in order when ``ex`` is None, else on ``ex``
    as the tasks finish; ``ex`` is closed when all are done, and stopped (tasks cancelled, workers ended) on an
    error or Ctrl-C, which then propagates.

    >>> sorted(each_result(None, pow, [(2, 3), (3, 2)]))
    [(0, 8), (1, 9)]
    """
    if ex is None:
        for i, args in enumerate(tasks):
            yield i, fn(*args)
        return
    futures = {ex.submit(fn, *args): i for i, args in enumerate(tasks)}
    try:
        for f in cf.as_completed(futures):
            yield futures[f], f.result()
    except BaseException:
        ex.stop(futures)
        raise
    ex.close()


def _terminate(pool):
    """Cancel the tasks of a process pool not started and end its running workers now (not when they finish)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())  # (shutdown drops this mapping)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(5)
