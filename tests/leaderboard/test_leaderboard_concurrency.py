"""Several processes writing at once, and a process killed in the middle of a job."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time


from leaderboard import Record, Store

N_PROCS, PER_PROC, JOB_SIZE = 8, 500, 10


def _record(worker: int, i: int) -> Record:
    return Record(suite="disentanglement", protocol_version="2026.1", profile="smoke", dataset="dsprites-procedural",
                  dataset_hash="h", model=f"model-{worker}", model_config_hash="c", train_seed=i, metric="mig",
                  metric_version="1.0", value=worker + i / 1000.0,
                  components={"per_factor": [worker, i, worker * i]}, environment={"pid": worker})


def _writer(path: str, worker: int, start, errors) -> None:
    try:
        with Store(path) as s:
            start.wait(30)
            mine = [_record(worker, i) for i in range(PER_PROC)]
            for j in range(0, PER_PROC, JOB_SIZE):
                s.write_job(mine[j:j + JOB_SIZE])
                if j == 0:  # the neighbour's first job too: the same ids must never be duplicated
                    s.write_job([_record((worker + 1) % N_PROCS, i) for i in range(JOB_SIZE)])
    except BaseException as exc:  # reported to the parent
        errors.put(f"worker {worker}: {type(exc).__name__}: {exc}")
        raise


def test_eight_processes_write_4000_records_without_loss_or_duplicates(tmp_path):
    path = str(tmp_path / "lb.sqlite")
    Store(path).close()  # schema created once, as a suite run does before starting its workers
    ctx = mp.get_context("fork")
    start, errors = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, w, start, errors)) for w in range(N_PROCS)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    elapsed = time.perf_counter() - t0
    errs = []
    while not errors.empty():
        errs.append(errors.get())
    assert errs == [] and [p.exitcode for p in procs] == [0] * N_PROCS
    with Store(path) as s:
        assert s.count() == N_PROCS * PER_PROC
        assert s.verify() == []
        ids = [r[0] for r in s.conn.execute("SELECT record_id FROM records")]
        assert len(ids) == len(set(ids)) == 4000
        for r in s.records():
            w, i = int(r.model.split("-")[1]), r.train_seed
            assert r == _record(w, i).replace(created_at=r.created_at)
        n_jobs = s.conn.execute("SELECT COUNT(*), SUM(n_inserted), SUM(n_records) FROM jobs").fetchone()
        assert n_jobs == (N_PROCS * (PER_PROC // JOB_SIZE + 1), 4000, 4000 + N_PROCS * JOB_SIZE)
    assert elapsed < 60, f"8 x 500 concurrent records took {elapsed:.1f} s"


def _killed_writer(path: str, ready, n_before_pause: int) -> None:
    s = Store(path)
    s.write_job([_record(99, i) for i in range(5)])  # one complete job first
    orig = Store._write_one
    count = {"n": 0}

    def slow(self, r, job_id, replace):
        out = orig(self, r, job_id, replace)
        count["n"] += 1
        if count["n"] == n_before_pause:
            ready.set()
            time.sleep(600)  # killed here, in the middle of the job's transaction
        return out

    Store._write_one = slow
    big = {"blob": [float(k) for k in range(300)]}
    s.write_job([_record(7, i).replace(components=big) for i in range(4000)])


def test_a_process_killed_in_the_middle_of_a_job_leaves_no_partial_job(tmp_path):
    path = str(tmp_path / "lb.sqlite")
    Store(path).close()
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    p = ctx.Process(target=_killed_writer, args=(path, ready, 2000))
    p.start()
    assert ready.wait(60), "the writer never reached the middle of its job"
    wal = tmp_path / "lb.sqlite-wal"
    wal_size = wal.stat().st_size
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    assert p.exitcode == -signal.SIGKILL
    assert wal_size > 1_000_000, "the uncommitted job should have spilled pages into the WAL file"
    with Store(path) as s:
        assert s.count() == 5  # the completed job, nothing of the killed one
        assert s.count(model="model-7") == 0
        assert s.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1
        assert s.verify() == []
        r = s.write_job([_record(7, i) for i in range(3)])
        assert r.inserted == 3 and s.count() == 8


def _fresh_writer(path: str, worker: int, start) -> None:
    start.wait(30)
    with Store(path) as s:  # all processes create the schema of the same new file at once
        s.write_job([_record(worker, i) for i in range(20)])


def test_processes_creating_the_same_new_store_at_once(tmp_path):
    path = str(tmp_path / "new.sqlite")
    ctx = mp.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_fresh_writer, args=(path, w, start)) for w in range(N_PROCS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * N_PROCS
    with Store(path) as s:
        assert s.count() == 20 * N_PROCS and s.verify() == []
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
