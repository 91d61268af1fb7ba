"""One executor for sweeps and the main job: ``catapult verify`` on a real Dask LocalCluster gives the rows it
gives in this process (every part is deterministic), and an unreachable scheduler is one line and exit 2."""

import sys

import pytest

from catapult.verify.cli import main
from catapult.verify.executor import open_executor

catalogue_module = sys.modules["catapult.verify.catalogue"]

ONLY = {"a", "c"}   # 5 parts, a few seconds


def _rows(rows):
    return [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in rows]


def test_verify_rows_on_a_dask_local_cluster_equal_the_rows_run_here():
    distributed = pytest.importorskip("distributed")
    here = catalogue_module.catalogue(only=ONLY, jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            seen = []
            there = catalogue_module.catalogue(only=ONLY, scheduler=client, on_rows=lambda key, rows: seen.append(key))
    assert _rows(there) == _rows(here) and all(r.passed for r in there)
    assert seen == ["a"] + ["c"] * 4   # streamed in catalogue order, whichever worker finished first


def test_local_processes_run_the_task_and_one_job_means_this_process():
    assert open_executor(jobs=1) is None
    ex = open_executor(jobs=2)
    try:
        assert ex.kind == "processes" and ex.workers == 2 and ex.submit(divmod, 7, 2).result() == (3, 1)
    finally:
        ex.close()


def _blas_threads():
    from threadpoolctl import threadpool_info
    return [d["num_threads"] for d in threadpool_info()]


def test_local_workers_share_the_cores_with_their_blas_threads():
    """jobs workers x BLAS threads <= cores: a worker's own BLAS threads would compete with the other workers."""
    import os
    ex = open_executor(jobs=2)
    try:
        threads = ex.submit(_blas_threads).result()
    finally:
        ex.close()
    assert threads and all(1 <= t <= max(1, (os.cpu_count() or 1) // 2) for t in threads)


def test_an_unreachable_scheduler_is_one_line_and_exit_2(capsys):
    pytest.importorskip("distributed")
    assert main(["verify", "--only", "a", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("catapult: ") and "cannot reach the Dask scheduler" in err[0], err


def test_a_model_file_runs_here_not_on_a_scheduler(capsys):
    assert main(["verify", "--model-file", "verify/models/uv_bias.toml", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--model-file and --scheduler" in capsys.readouterr().err


SCAN = ["scan", "uv", "--loss-expr", "log(cosh(f - 1/2))", "--width", "16", "--widths", "16", "32", "64",
        "--rtol", "1e-3", "--dps", "15", "--steps", "400", "--json", "--quiet"]


def _law(capsys, argv):
    assert main(argv) == 0
    import json
    return json.loads(capsys.readouterr().out)["divergence_law"]


def test_scan_widths_run_as_executor_tasks_and_give_the_same_law_as_this_process(capsys):
    here = _law(capsys, SCAN + ["-j", "1"])
    procs = _law(capsys, SCAN + ["-j", "2"])
    assert procs == here and len(set(here["eta_lam0"])) == 3   # bit for bit; the onset moves with n


def test_a_scan_journal_keeps_finished_widths_for_the_rerun(tmp_path, capsys, monkeypatch):
    journal = tmp_path / "law.jsonl"
    first = _law(capsys, SCAN + ["-j", "1", "--journal", str(journal)])
    assert len(journal.read_text().splitlines()) == 2   # the widths other than --width, one line each
    runs = sys.modules["catapult.verify.runs"]
    monkeypatch.setattr(runs, "width_divergence", lambda *a: pytest.fail("a journaled width ran again"))
    assert _law(capsys, SCAN + ["-j", "1", "--journal", str(journal)]) == first
    other = SCAN[:3] + ["log(cosh(f - 1/3))"] + SCAN[4:]   # another problem: its key differs, nothing is reused
    monkeypatch.undo()
    assert _law(capsys, other + ["-j", "1", "--journal", str(journal)])["eta_lam0"] != first["eta_lam0"]
    assert len(journal.read_text().splitlines()) == 4


def test_executor_options_go_with_widths(capsys):
    assert main(["scan", "uv", "--width", "16", "-j", "2"]) == 2
    assert "go with --widths" in capsys.readouterr().err
