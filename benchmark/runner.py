"""The runner: run a suite's jobs, skipping those already stored, and store every outcome.

``run_jobs`` is what ``python -m benchmark run`` calls after the suite planned the jobs: jobs whose records
the sink holds are skipped (so an interrupted run resumes and a finished one does nothing), the rest run on the
executor (the local process pool by default), and each job's records go to the record sink in one piece. A job
that raises is stored as ``failed`` records of every planned metric, carrying the error, never dropped.
``check_claims`` compares a run's records with the suite's claims.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

import leaderboard
from benchmark.environment import environment
from benchmark.executors import Executor
from benchmark.jobs import Job, JobOutcome
from benchmark.sinks import JsonlSink, RecordSink, StoreSink, import_results
from benchmark.suites import get_suite

__all__ = ["run_job", "run_jobs", "run_sweep", "run_records", "check_claims"]


def run_job(job: Job, *, out: Path, sink: RecordSink, device: str = "auto", progress: bool = True,
            on_progress: Callable[[int, int, float], None] | None = None) -> JobOutcome:
    """Compute one job with its suite and hand its records to ``sink``; returns its outcome (never raises for a
    failing job). ``on_progress(steps_done, steps_total, steps_per_second)`` is passed on to the suite."""
    start = time.perf_counter()
    run_dir = job.run_dir(out)
    if sink.stored(job):
        return JobOutcome(job, "skipped", 0.0, run_dir=str(run_dir))
    try:
        records = get_suite(job.suite).compute(job, run_dir, device=device, progress=progress,
                                               on_progress=on_progress)
        got, planned = sorted(r.record_id for r in records), sorted(job.record_ids())
        if got != planned:
            raise RuntimeError(f"suite {job.suite!r} returned {len(got)} records for job {job.label}, not the "
                               f"{len(planned)} it planned ({', '.join(job.metric_names)}); build them with "
                               f"job.record(metric, ...).")
        status, error = "ok", None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the job failed: store why, and let the other jobs go on
        error = f"{type(exc).__name__}: {exc}"
        records = job.failed_records(error, traceback.format_exc(limit=5), environment=environment())
        status = "failed"
    sink.write(job, records)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "job.json").write_text(json.dumps({"job": job.to_dict(), "job_id": job.job_id, "status": status,
                                                      "error": error}, indent=2))
    except OSError:  # the records are stored; the summary file is a convenience
        pass
    return JobOutcome(job, status, time.perf_counter() - start, error, str(run_dir))


def run_jobs(jobs: list[Job], *, out: Path, db: Path | None = None, sink: RecordSink | None = None,
             device: str = "auto", n_workers: int = 1, executor: Executor | None = None,
             progress: bool = True, sweep_dir: Path | None = None) -> list[JobOutcome]:
    """Run every job not stored yet; returns the outcomes in the order the jobs finished.

    Records go to ``sink`` (default: the store at ``db``); jobs run on ``executor`` (default: the local
    executor with ``n_workers`` processes). A ``remote`` executor (Slurm, Dask) is a sweep: see :func:`run_sweep`,
    which needs ``db`` and ``sweep_dir``."""
    from benchmark.executors.local import LocalExecutor

    if (db is None) == (sink is None):
        raise ValueError("give either db (the store) or sink, not both or neither.")
    if executor is not None and executor.remote:
        if db is None or sweep_dir is None:
            raise ValueError("a remote executor runs a sweep: give db (the store it imports into) and sweep_dir "
                             "(where its jobs write their records), not a sink.")
        return run_sweep(jobs, out=out, db=db, sweep_dir=sweep_dir, executor=executor, device=device,
                         progress=progress)
    sink = sink if sink is not None else StoreSink(Path(db))
    executor = executor if executor is not None else LocalExecutor(n_workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[JobOutcome] = []
    bar = tqdm(total=len(jobs), desc="jobs", unit="job", disable=not progress)
    try:
        todo = []
        for job in jobs:  # stored jobs are skipped here, without starting a worker for them
            if sink.stored(job):
                outcomes.append(JobOutcome(job, "skipped", 0.0, run_dir=str(job.run_dir(out))))
                bar.update()
            else:
                todo.append(job)
        fn = functools.partial(run_job, out=out, sink=sink, device=device)
        for outcome in executor.map(fn, todo, progress=progress, warm_up=functools.partial(_warm_up, todo)):
            outcomes.append(outcome)
            bar.set_postfix_str(outcome.job.label)
            bar.update()
    finally:
        bar.close()
    return outcomes


def run_sweep(jobs: list[Job], *, out: Path, db: Path, sweep_dir: Path, executor: Executor, device: str = "auto",
              progress: bool = True) -> list[JobOutcome]:
    """Run the jobs not stored in ``db`` on a remote executor, importing their records as they finish.

    The workers write one JSON Lines file per job attempt into ``sweep_dir/records`` (never the SQLite store,
    which is unsafe over a network file system); this process imports them into ``db`` (first whatever a
    stopped sweep left there, then after every finished job), so the store ends as a local run leaves it. Only
    jobs without all their records ``ok`` in the store are submitted. A job whose file is refused (cut off, or
    not its planned records) counts as failed and runs again next time. The progress bar shows done, running,
    queued and failed jobs."""
    out, db, sweep_dir = Path(out), Path(db), Path(sweep_dir)
    out.mkdir(parents=True, exist_ok=True)
    records_dir = sweep_dir / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    store = StoreSink(db)
    _import(records_dir, db, jobs)
    outcomes: list[JobOutcome] = []
    todo = []
    for job in jobs:
        if store.stored(job):
            outcomes.append(JobOutcome(job, "skipped", 0.0, run_dir=str(job.run_dir(out))))
        else:
            todo.append(job)
    state = {"running": 0, "queued": len(todo), "failed": 0}
    bar = tqdm(total=len(jobs), initial=len(outcomes), desc="sweep", unit="job", disable=not progress)

    def show() -> None:
        bar.set_postfix_str(f"running {state['running']}, queued {state['queued']}, failed {state['failed']}")

    def on_state(running: int, queued: int) -> None:
        state.update(running=running, queued=queued)
        show()

    show()
    fn = functools.partial(run_job, out=out, sink=JsonlSink(records_dir), device=device)
    try:
        for outcome in executor.map(fn, todo, progress=False, warm_up=functools.partial(_warm_up, todo),
                                    on_state=on_state):
            rejected = _import(records_dir, db, jobs)
            if outcome.status in ("ok", "skipped") and not store.stored(outcome.job):
                why = [reason for path, reason in rejected if Path(path).name.startswith(outcome.job.job_id)]
                outcome = dataclasses.replace(
                    outcome, status="failed",
                    error="its records did not reach the store" + (f": its file {why[-1]}" if why else
                                                                   f" (no whole file in {records_dir})"))
            if outcome.status == "failed" and not _has_records(db, outcome.job):
                # the worker died (out of memory, a lost node) before writing anything: keep why, as a failed job
                StoreSink(db).write(outcome.job, outcome.job.failed_records(
                    outcome.error or "the job's worker died", "", environment=environment()))
            state["failed"] += outcome.status == "failed"
            outcomes.append(outcome)
            show()
            bar.update()
    finally:
        bar.close()
        _import(records_dir, db, jobs)
    return outcomes


def _has_records(db: Path, job: Job) -> bool:
    with leaderboard.Store(db) as store:
        return store.count(record_id=job.record_ids()) > 0


def _import(records_dir: Path, db: Path, jobs: list[Job]) -> tuple[tuple[str, str], ...]:
    """Import the sweep's record files; warn about each file refused whole. Returns the refused files."""
    report = import_results(records_dir, db, jobs)
    for path, reason in report.rejected:
        tqdm.write(f"refused {path}: {reason} (renamed .rejected; the job runs again)")
    return report.rejected


def _warm_up(jobs: list[Job]) -> None:
    """Each suite's ``warm_up`` with its jobs."""
    by_suite: dict[str, list[Job]] = {}
    for job in jobs:
        by_suite.setdefault(job.suite, []).append(job)
    for name, suite_jobs in by_suite.items():
        get_suite(name).warm_up(suite_jobs)


def run_records(jobs: list[Job], db: Path) -> list[leaderboard.Record]:
    """The stored records of ``jobs`` (this run's only: not other precisions or seeds stored beside them).

    Selected in Python, not as one SQL IN list of every record id, which would pass SQLite's limit on bound
    variables for a large run."""
    if not jobs:
        return []
    ids = {i for j in jobs for i in j.record_ids()}
    j0 = jobs[0]
    with leaderboard.Store(db) as store:
        return [r for r in store.records(suite=j0.suite, protocol_version=j0.protocol_version, profile=j0.profile,
                                         dataset=sorted({j.dataset for j in jobs}),
                                         model=sorted({j.model for j in jobs}))
                if r.record_id in ids]


def check_claims(suite_name: str, profile: str, records: list[leaderboard.Record], *, seed: int = 0,
                 reps: int = 10_000) -> list:
    """The verdicts of suite ``suite_name``'s claims for ``profile`` on ``records`` (``leaderboard.check_claims``)."""
    suite = get_suite(suite_name)
    return leaderboard.check_claims(records, suite.claims(profile), seed=seed, reps=reps)
