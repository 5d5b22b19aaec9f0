"""The sweep driver's bookkeeping, with an in-process stand-in for a cluster (the real Slurm and Dask executors
run the same driver in test_sweep_cli.py): only the jobs the store lacks are submitted, files a stopped sweep
left behind are imported first, a refused file and a dead worker make failed jobs that run again, and the
progress counts follow the executor."""

from __future__ import annotations

from collections.abc import Iterator

import leaderboard
from benchmark.executors import Executor
from benchmark.jobs import JobOutcome
from benchmark.runner import run_jobs, run_records
from benchmark.sinks import JsonlSink, StoreSink
from benchmark.suites import get_suite

JOBS = get_suite("disentanglement").plan("smoke", seeds=3)  # 6 jobs


class Cluster(Executor):
    """Writes each job's records as a worker would (without training), or plays a worker that dies (``dead``)
    or one whose file is cut short (``cut``)."""

    remote = True

    def __init__(self, dead=(), cut=()):
        self.dead, self.cut, self.submitted, self.states = set(dead), set(cut), [], []

    def map(self, fn, jobs, *, progress=True, warm_up=None, on_state=None) -> Iterator[JobOutcome]:
        sink: JsonlSink = fn.keywords["sink"]
        self.submitted += [j.job_id for j in jobs]
        for i, job in enumerate(jobs):
            on_state(1, len(jobs) - i - 1)
            self.states.append((1, len(jobs) - i - 1))
            if job.job_id in self.dead:
                yield JobOutcome(job, "failed", 1.0, "KilledWorker: the worker died 3 times")
                continue
            records = [job.record(m, value=0.25, status="ok") for m in job.metric_names]
            sink.write(job, records[:-1] if job.job_id in self.cut else records)
            yield JobOutcome(job, "ok", 1.0)


def _sweep(tmp_path, executor):
    return run_jobs(JOBS, out=tmp_path / "out", db=tmp_path / "lb.sqlite", executor=executor, progress=False,
                    sweep_dir=tmp_path / "sweep")


def test_only_the_jobs_the_store_lacks_are_submitted(tmp_path):
    db = tmp_path / "lb.sqlite"
    StoreSink(db).write(JOBS[0], [JOBS[0].record(m, value=0.5, status="ok") for m in JOBS[0].metric_names])
    leftover = JsonlSink(tmp_path / "sweep" / "records")  # a stopped sweep's file, not yet imported
    leftover.write(JOBS[1], [JOBS[1].record(m, value=0.75, status="ok") for m in JOBS[1].metric_names])
    cluster = Cluster()
    outcomes = _sweep(tmp_path, cluster)
    assert cluster.submitted == [j.job_id for j in JOBS[2:]]
    assert sorted(o.status for o in outcomes) == ["ok"] * 4 + ["skipped"] * 2
    records = run_records(JOBS, db)
    assert len(records) == 6 * len(JOBS[0].metric_names) and all(r.status == "ok" for r in records)
    assert {r.value for r in records if r.record_id in JOBS[1].record_ids()} == {0.75}
    assert cluster.states[0] == (1, 3) and cluster.states[-1] == (1, 0)
    again = Cluster()
    assert {o.status for o in _sweep(tmp_path, again)} == {"skipped"} and again.submitted == []


def test_a_dead_worker_and_a_cut_file_make_failed_jobs_that_run_again(tmp_path):
    dead, cut = JOBS[2], JOBS[3]
    outcomes = {o.job.job_id: o for o in _sweep(tmp_path, Cluster(dead=[dead.job_id], cut=[cut.job_id]))}
    assert outcomes[dead.job_id].status == "failed" and outcomes[cut.job_id].status == "failed"
    assert "its file holds 10 records, not the 11 planned" in outcomes[cut.job_id].error
    with leaderboard.Store(tmp_path / "lb.sqlite") as store:
        died = store.records(record_id=dead.record_ids())
        assert len(died) == 11 and {r.error for r in died} == {"KilledWorker: the worker died 3 times"}
        # refused whole: none of its records, only failed ones saying why
        assert store.count(record_id=cut.record_ids(), status="ok") == 0
        assert {r.error for r in store.records(record_id=cut.record_ids())} == {outcomes[cut.job_id].error}
    assert len(list((tmp_path / "sweep" / "records").glob("*.jsonl.rejected"))) == 1
    retry = Cluster()
    assert {o.status for o in _sweep(tmp_path, retry) if o.job.job_id in (dead.job_id, cut.job_id)} == {"ok"}
    assert sorted(retry.submitted) == sorted([dead.job_id, cut.job_id])
    assert all(r.status == "ok" for r in run_records(JOBS, tmp_path / "lb.sqlite"))
