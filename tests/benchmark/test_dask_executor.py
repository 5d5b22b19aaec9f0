"""DaskExecutor on a LocalCluster over loopback with 2 worker processes: retries after a worker's death, failed
outcomes (a raising job, a job that kills every worker it runs on), on_state, the worker threads, an unreachable
scheduler.

The jobs are real ``smoke`` jobs of the disentanglement suite; the job function is a fake (:class:`FakeRun`: it
writes ``ok`` records through a ``JsonlSink`` in milliseconds, and dies or raises where a test asks it to),
pickled by value into the worker processes.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import pytest

import leaderboard
from benchmark.jobs import Job, JobOutcome
from benchmark.sinks import JsonlSink, import_results

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from benchmark.executors.dask import DaskExecutor  # noqa: E402 (after the skip)

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # FakeRun travels to the workers by value


@dataclass(frozen=True)
class FakeRun:
    """``fn(job, progress=False)``: writes an ``ok`` record of every planned metric of ``job`` to ``folder`` and
    returns an ``ok`` outcome. Jobs in ``die_once`` kill their worker on their first attempt (a marker file in
    ``markers`` remembers it), jobs in ``die_always`` on every attempt; jobs in ``raises`` raise."""

    folder: str
    markers: str
    die_once: frozenset = frozenset()
    die_always: frozenset = frozenset()
    raises: frozenset = frozenset()
    sleep: float = 0.0

    def __call__(self, job: Job, *, progress: bool = True, on_progress=None) -> JobOutcome:
        start = time.perf_counter()
        marker = Path(self.markers) / f"{job.job_id}.attempt"
        if job.job_id in self.die_once and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker process dies, as with the OOM killer
        if job.job_id in self.die_always:
            os._exit(1)
        if job.job_id in self.raises:
            raise RuntimeError(f"fake failure of {job.label}")
        time.sleep(self.sleep)
        threads = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
        JsonlSink(Path(self.folder)).write(job, [
            job.record(m, value=0.5, status="ok", components={"pid": os.getpid(), "threads": threads})
            for m in job.metric_names])
        return JobOutcome(job, "ok", time.perf_counter() - start)


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    from benchmark.suites import get_suite

    planned = get_suite("disentanglement").plan("smoke", seeds=2)  # 4 jobs
    assert len(planned) == 4 and len({j.job_id for j in planned}) == 4
    return planned


@pytest.fixture
def few_failures():
    """A worker's death is retried once, the second one fails the task (KilledWorker): fast tests."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        yield


def _fake(tmp_path: Path, **kw) -> tuple[FakeRun, Path]:
    folder, markers = tmp_path / "results", tmp_path / "markers"
    folder.mkdir()
    markers.mkdir()
    return FakeRun(str(folder), str(markers), **kw), folder


def _by_label(outcomes: list[JobOutcome]) -> dict[str, JobOutcome]:
    assert len({o.job.job_id for o in outcomes}) == len(outcomes), "a job yielded twice"
    return {o.job.label: o for o in outcomes}


def test_a_worker_death_is_retried_and_stores_each_record_once(tmp_path, jobs, few_failures):
    victim = jobs[1]
    fn, folder = _fake(tmp_path, die_once=frozenset({victim.job_id}))
    warmed: list[int] = []
    ex = DaskExecutor(n_workers=2, threads_per_worker=1, poll_seconds=0.1)
    outcomes = list(ex.map(fn, jobs, warm_up=lambda: warmed.append(os.getpid())))

    assert warmed == [os.getpid()]  # once, in this process
    assert (tmp_path / "markers" / f"{victim.job_id}.attempt").exists()  # its first worker did die
    by_label = _by_label(outcomes)
    assert sorted(by_label) == sorted(j.label for j in jobs)
    assert all(o.status == "ok" for o in outcomes), [(o.job.label, o.status, o.error) for o in outcomes]

    db = tmp_path / "store.db"
    import_results(folder, db)
    with leaderboard.Store(db) as store:
        records = store.records()
    ids = [r.record_id for r in records]
    planned = [i for j in jobs for i in j.record_ids()]
    assert sorted(ids) == sorted(planned)  # every planned record, each once
    assert all(r.status == "ok" for r in records)
    # each worker ran with threads_per_worker threads (the worker plugin), not the nanny's or the machine's
    assert {(r.components["threads"]["OMP_NUM_THREADS"], r.components["threads"]["NUMBA_NUM_THREADS"])
            for r in records} == {("1", "1")}
    assert os.getpid() not in {r.components["pid"] for r in records}  # the jobs ran in worker processes


def test_a_job_that_raises_fails_alone(tmp_path, jobs, few_failures):
    bad = jobs[2]
    fn, folder = _fake(tmp_path, raises=frozenset({bad.job_id}))
    outcomes = _by_label(list(DaskExecutor(n_workers=1, threads_per_worker=2, retries=1,
                                           poll_seconds=0.1).map(fn, jobs)))

    assert outcomes[bad.label].status == "failed"
    assert outcomes[bad.label].error.startswith("RuntimeError: fake failure of " + bad.label)
    assert outcomes[bad.label].seconds > 0
    assert {label: o.status for label, o in outcomes.items() if label != bad.label} == {
        j.label: "ok" for j in jobs if j is not bad}
    files = list(folder.glob("*.jsonl"))
    assert len(files) == 3  # the others wrote their records
    # in a worker with threads_per_worker threads (the worker plugin), not the nanny's default of 1
    records = [leaderboard.Record.from_json(line) for f in files for line in f.read_text().splitlines()]
    assert {tuple(r.components["threads"].values()) for r in records} == {("2", "2")}


def test_a_job_that_kills_every_worker_fails_with_killed_worker(tmp_path, jobs, few_failures):
    bad = jobs[0]
    fn, folder = _fake(tmp_path, die_always=frozenset({bad.job_id}), sleep=0.3)
    states: list[tuple[int, int]] = []
    start = time.perf_counter()
    ex = DaskExecutor(n_workers=2, poll_seconds=0.1)
    outcomes = list(ex.map(fn, jobs, on_state=lambda running, queued: states.append((running, queued))))
    by_label = _by_label(outcomes)

    assert by_label[bad.label].status == "failed"
    assert by_label[bad.label].error.startswith("KilledWorker:"), by_label[bad.label].error
    assert {label: o.status for label, o in by_label.items() if label != bad.label} == {
        j.label: "ok" for j in jobs if j is not bad}
    assert time.perf_counter() - start < 60
    _check_states(states, n_workers=2, n_jobs=len(jobs))


def _check_states(states: list[tuple[int, int]], *, n_workers: int, n_jobs: int) -> None:
    assert states, "on_state was never called"
    assert all(0 <= r <= n_workers and q >= 0 and r + q <= n_jobs for r, q in states), states
    assert all(a != b for a, b in zip(states, states[1:])), f"called without a change: {states}"
    assert any(r >= 1 for r, _ in states), states  # it saw jobs running
    assert states[-1] == (0, 0), states  # and, at the end, none left


def test_on_state_counts_running_and_queued(tmp_path, jobs):
    fn, _ = _fake(tmp_path, sleep=1.0)
    states: list[tuple[int, int]] = []
    ex = DaskExecutor(n_workers=2, threads_per_worker=1, poll_seconds=0.1)
    outcomes = list(ex.map(fn, jobs, on_state=lambda running, queued: states.append((running, queued))))

    assert [o.status for o in outcomes] == ["ok"] * 4
    _check_states(states, n_workers=2, n_jobs=4)
    assert (2, 2) in states  # both workers busy while two jobs wait: 4 jobs, 2 slots, 1 s each
    assert any(r + q == 4 for r, q in states[:2])  # early on, every job is unfinished


def test_stopping_early_closes_the_cluster(tmp_path, jobs):
    fn, _ = _fake(tmp_path, sleep=0.2)
    gen = DaskExecutor(n_workers=2, poll_seconds=0.1).map(fn, jobs)
    assert next(gen).status == "ok"
    client = distributed.default_client()  # the run's client, of the LocalCluster it started
    cluster = client.cluster
    assert client.status == "running" and len(cluster.workers) == 2
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in the runner's loop, while jobs are still unfinished
        gen.throw(KeyboardInterrupt)
    assert client.status == "closed"
    assert cluster.status.name == "closed" and not cluster.workers


def test_a_running_scheduler_is_used_and_left_running(tmp_path, jobs):
    fn, folder = _fake(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        ex = DaskExecutor(cluster.scheduler_address, threads_per_worker=1, connect_timeout=10)
        assert ex.describe() == f"dask: scheduler {cluster.scheduler_address}, 2 retries"
        outcomes = _by_label(list(ex.map(fn, jobs)))
        assert {label: o.status for label, o in outcomes.items()} == {j.label: "ok" for j in jobs}
        assert len(list(folder.glob("*.jsonl"))) == 4
        assert cluster.status.name == "running" and len(cluster.workers) == 2  # not ours to close
        with distributed.Client(cluster) as client:  # and the run left no task behind (released as they finished)
            deadline = time.monotonic() + 10
            while (left := client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            assert left == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, jobs):
    address = f"tcp://127.0.0.1:{_free_port()}"
    fn, _ = _fake(tmp_path)
    ex = DaskExecutor(address, connect_timeout=1.0, gpus_per_job=1)
    assert ex.describe() == f"dask: scheduler {address}, 2 retries, 1 GPU per job"
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        list(ex.map(fn, jobs))
    message = str(info.value)
    assert time.perf_counter() - start < 15
    assert address in message and "\n" not in message
    assert "dask scheduler" in message and f"dask worker {address} --nworkers N --nthreads 1" in message
    assert "--resources GPU=1" in message


def test_describe_and_arguments(monkeypatch):
    assert DaskExecutor().describe() == "dask: LocalCluster of 2 workers x 1 thread, 2 retries"
    assert DaskExecutor(n_workers=1, threads_per_worker=2, retries=0).describe() == \
        "dask: LocalCluster of 1 worker x 2 threads, 0 retries"
    assert DaskExecutor.remote is True
    for bad in (dict(n_workers=0), dict(threads_per_worker=True), dict(retries=-1), dict(poll_seconds=0)):
        with pytest.raises(ValueError):
            DaskExecutor(**bad)
    with pytest.raises(ValueError, match="tcp://"):
        DaskExecutor("localhost")


def test_local_gpus_are_shared_out_or_refused(monkeypatch):
    import torch

    from benchmark.executors import dask as dask_executor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no visible CUDA GPU"):
        dask_executor._local_gpus(2, 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,4,5,6")
    assert dask_executor._local_gpus(2, 1) == (2, {0: "3,4", 1: "5,6"})
    with pytest.raises(ValueError, match="n_workers <= 1"):
        dask_executor._local_gpus(2, 3)


class _DriverDied(Exception):
    pass


def _die_when_running(running: int, queued: int) -> None:
    if running:
        raise _DriverDied


def test_a_resumed_run_waits_for_the_jobs_a_stopped_one_left_executing(tmp_path, jobs):
    fn, folder = _fake(tmp_path, sleep=3.0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        with pytest.raises(_DriverDied):  # the driver stops while two jobs execute; Dask cannot stop them
            list(DaskExecutor(address, poll_seconds=0.1).map(fn, jobs, on_state=_die_when_running))
        with pytest.raises(ValueError, match=r"2 of these 4 jobs are still executing on the workers of .*--resume"):
            list(DaskExecutor(address, poll_seconds=0.1).map(fn, jobs))
        outcomes = _by_label(list(DaskExecutor(address, poll_seconds=0.1, resume=True).map(fn, jobs)))
        assert {o.status for o in outcomes.values()} == {"ok"} and len(outcomes) == 4
    files = sorted(p.name.split("-")[0] for p in folder.glob("*.jsonl"))
    assert files == sorted(j.job_id for j in jobs)  # every job ran once: the two left executing were not resubmitted
