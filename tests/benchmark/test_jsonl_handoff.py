"""The JSON Lines hand-off of cluster sweeps: job files written by several writers at once, a writer that dies
mid-file, and files cut short are imported whole or refused whole; importing twice changes nothing."""

from __future__ import annotations

import multiprocessing

import pytest

import leaderboard
from benchmark.runner import run_records
from benchmark.sinks import JsonlSink, StoreSink, import_results, read_job_file
from benchmark.suites import get_suite

JOBS = get_suite("disentanglement").plan("smoke", seeds=3)  # 6 jobs of 11 metrics
N = len(JOBS[0].metric_names)


def _records(job, value=1.0, status="ok"):
    error = None if status == "ok" else "RuntimeError: out of memory"
    return [job.record(m, value=value, status=status, error=error) for m in job.metric_names]


def _write(folder, index, value):
    JsonlSink(folder).write(JOBS[index], _records(JOBS[index], value))


def test_two_writers_of_one_job_leave_each_record_once(tmp_path):
    folder, db = tmp_path / "records", tmp_path / "lb.sqlite"
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_write, args=(folder, 0, v)) for v in (1.0, 2.0)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    assert len(list(folder.glob(f"{JOBS[0].job_id}-*.jsonl"))) == 2  # one file per writer, none overwritten
    report = import_results(folder, db, JOBS)
    assert (report.n_files, report.n_records, report.rejected) == (2, 2 * N, ())
    with leaderboard.Store(db) as store:
        assert store.count() == N  # the job's records, once each
        assert sorted(r.record_id for r in store.records()) == sorted(JOBS[0].record_ids())
        assert {r.value for r in store.records()} <= {1.0, 2.0}
    assert StoreSink(db).stored(JOBS[0])


def test_a_crashed_writers_files_are_refused_whole(tmp_path):
    folder, db = tmp_path / "records", tmp_path / "lb.sqlite"
    sink = JsonlSink(folder)
    sink.write(JOBS[1], _records(JOBS[1]))  # a whole file: imported
    whole = "".join(r.to_json() + "\n" for r in _records(JOBS[2]))
    # a writer killed mid-write leaves only its temporary file, which nothing reads
    (folder / f".{JOBS[2].job_id}-dead.jsonl.123.tmp").write_text(whole[: len(whole) // 2])
    # a file cut mid-line (a copy truncated by a network file system): refused whole
    cut = folder / f"{JOBS[3].job_id}-cut.jsonl"
    cut.write_text(whole.replace(JOBS[2].job_id, JOBS[3].job_id)[: len(whole) - 40])
    # a file cut at a line boundary: one whole record of the job's N, refused whole for a planned job
    short = folder / f"{JOBS[4].job_id}-short.jsonl"
    short.write_text(_records(JOBS[4])[0].to_json() + "\n")
    assert not sink.stored(JOBS[2]) and not sink.stored(JOBS[4]) and sink.stored(JOBS[1])
    assert read_job_file(short)[1] is None  # without the plan it cannot be told from a whole file ...
    assert f"holds 1 records, not the {N} planned" in read_job_file(short, JOBS[4])[1]  # ... with it, it can

    report = import_results(folder, db, JOBS)
    assert report.n_files == 1 and report.n_records == N
    reasons = dict(report.rejected)
    assert set(reasons) == {str(cut), str(short)}
    assert reasons[str(cut)].startswith("line ") and "is not a whole record" in reasons[str(cut)]
    assert f"{N - 1} missing, 0 foreign" in reasons[str(short)]
    assert (folder / (cut.name + ".rejected")).is_file() and not cut.exists()
    with leaderboard.Store(db) as store:
        assert sorted(r.record_id for r in store.records()) == sorted(JOBS[1].record_ids())
    assert [StoreSink(db).stored(j) for j in JOBS[1:5]] == [True, False, False, False]
    again = import_results(folder, db, JOBS)  # nothing left to import; the .tmp file is still ignored
    assert (again.n_files, again.n_records, again.rejected) == (0, 0, ())


def test_a_later_attempt_replaces_a_failed_one(tmp_path):
    folder, db = tmp_path / "records", tmp_path / "lb.sqlite"
    sink = JsonlSink(folder)
    sink.write(JOBS[0], _records(JOBS[0], value=None, status="failed"))
    assert not sink.stored(JOBS[0])  # a failed job runs again
    import_results(folder, db, JOBS)
    sink.write(JOBS[0], _records(JOBS[0], value=3.0))
    assert sink.stored(JOBS[0])
    import_results(folder, db, JOBS)
    records = run_records(JOBS[:1], db)
    assert [r.status for r in records] == ["ok"] * N and {r.value for r in records} == {3.0}


def test_records_of_the_wrong_job_are_refused(tmp_path):
    folder, db = tmp_path / "records", tmp_path / "lb.sqlite"
    folder.mkdir()
    path = folder / f"{JOBS[0].job_id}-swapped.jsonl"
    path.write_text("".join(r.to_json() + "\n" for r in _records(JOBS[5])))
    report = import_results(folder, db, JOBS)
    assert report.n_records == 0
    assert f"{N} missing, {N} foreign" in report.rejected[0][1]


@pytest.mark.parametrize("content", ["", "\n\n", "not json\n"])
def test_empty_and_garbage_files_are_refused(tmp_path, content):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / f"{JOBS[0].job_id}-x.jsonl").write_text(content)
    report = import_results(folder, tmp_path / "lb.sqlite", JOBS)
    assert report.n_records == 0 and len(report.rejected) == 1
    assert not JsonlSink(folder).stored(JOBS[0])
