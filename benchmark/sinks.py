"""Record sinks: where a job's records go, so that a worker need not open the SQLite store itself.

* :class:`StoreSink` writes each job's records to the leaderboard store in one transaction (the local
  process pool: SQLite in WAL mode is safe with several writing processes on one machine).
* :class:`JsonlSink` writes each job's records to a JSON Lines file of its own in a folder (cluster workers:
  SQLite is never written over a network file system); :func:`import_results` then brings the files into the
  store, on the machine that holds it. The files have the format of ``leaderboard export``.

Both are small, picklable objects (a path), so they travel to worker processes.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import leaderboard
from benchmark.jobs import Job

__all__ = ["RecordSink", "StoreSink", "JsonlSink", "ImportReport", "import_results", "read_job_file"]


class RecordSink(ABC):
    """Where the records of finished jobs go."""

    @abstractmethod
    def stored(self, job: Job) -> bool:
        """Whether every record of ``job`` is held, all ``ok`` (then the job has nothing to do).

        A job held as failed is run again (its failure may have been transient: a full disk, a bad checkpoint)."""

    @abstractmethod
    def write(self, job: Job, records: Sequence[leaderboard.Record]) -> None:
        """Keep ``records`` of ``job``: all of them or none; a rerun's records replace the earlier ones."""


@dataclass(frozen=True)
class StoreSink(RecordSink):
    """The leaderboard store at ``db`` (SQLite)."""

    db: Path

    def stored(self, job: Job) -> bool:
        if not Path(self.db).exists():
            return False
        ids = job.record_ids()
        with leaderboard.Store(self.db) as store:
            return store.count(record_id=ids, status="ok") == len(ids)

    def write(self, job: Job, records: Sequence[leaderboard.Record]) -> None:
        with leaderboard.Store(self.db) as store:  # one write id per attempt: a job may be written again (a rerun)
            store.write_job(records, replace=True, job_id=f"{job.job_id}-{uuid.uuid4().hex[:12]}")


@dataclass(frozen=True)
class JsonlSink(RecordSink):
    """One ``<job id>-<attempt>.jsonl`` file per job attempt in ``folder``, written atomically.

    A file is written as ``.<name>.<pid>.tmp`` and renamed into place, so a reader never sees half of it; a writer
    that dies leaves only its ``.tmp`` file, which nothing reads. Several writers (a job retried while its first
    attempt still ran) each write a file of their own."""

    folder: Path

    def _files(self, job: Job) -> list[Path]:
        return _oldest_first(Path(self.folder).glob(f"{job.job_id}-*.jsonl"))

    def stored(self, job: Job) -> bool:
        planned = set(job.record_ids())
        for path in reversed(self._files(job)):  # the newest whole file of the job decides
            records, problem = read_job_file(path, job)
            if problem is None:
                return all(r.status == "ok" for r in records) and {r.record_id for r in records} == planned
        return False

    def write(self, job: Job, records: Sequence[leaderboard.Record]) -> None:
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job.job_id}-{uuid.uuid4().hex[:12]}.jsonl"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("".join(r.to_json() + "\n" for r in records))
            fh.flush()
            os.fsync(fh.fileno())  # on a network file system: the bytes are there before the name is
        os.replace(tmp, path)  # a reader (the importing driver) never sees half a file


def _oldest_first(paths) -> list[Path]:
    """``paths`` by modification time, oldest first; a file renamed meanwhile (imported by the driver) left out."""
    dated = []
    for path in paths:
        try:
            dated.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            continue
    return [path for *_, path in sorted(dated)]


def read_job_file(path: Path, job: Job | None = None) -> tuple[list[leaderboard.Record], str | None]:
    """The records of one job file and ``None``, or what is wrong with it (then the file is refused whole): a line
    that is not a valid record (a cut or corrupted file), no records, or, when ``job`` is given, records that are
    not exactly the job's planned ones."""
    records = []
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        records.append(leaderboard.Record.from_json(line))
                    except (leaderboard.RecordError, ValueError) as exc:
                        return [], f"line {lineno} is not a whole record ({str(exc).splitlines()[0][:120]})"
    except FileNotFoundError:
        return [], "was renamed while being read (imported meanwhile)"
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"cannot be read ({type(exc).__name__}: {exc})"
    if not records:
        return [], "holds no records"
    if job is not None:
        got, planned = sorted(r.record_id for r in records), sorted(job.record_ids())
        if got != planned:
            return [], (f"holds {len(got)} records, not the {len(planned)} planned for job {job.label} "
                        f"({len(set(planned) - set(got))} missing, {len(set(got) - set(planned))} foreign)")
    return records, None


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_results` did: records written (``inserted + replaced + skipped == n_records``) from
    ``n_files`` files, and the files refused whole, each with why (renamed ``*.jsonl.rejected``)."""

    n_files: int
    n_records: int
    inserted: int
    replaced: int
    skipped: int
    rejected: tuple[tuple[str, str], ...] = ()


def import_results(folder: str | os.PathLike[str], db: str | os.PathLike[str],
                   jobs: Sequence[Job] | None = None) -> ImportReport:
    """Import every job file a :class:`JsonlSink` wrote in ``folder`` into the store ``db``, oldest first.

    Each file is stored as one job in one transaction, or refused whole: a file with a line that is not a
    record (a writer cut off, a copy truncated by the network file system), or, for a job of ``jobs`` (the
    sweep's plan, matched by the file name's job id), a file without exactly its planned records. A refused
    file is renamed ``*.jsonl.rejected`` and listed in the report; its job counts as not stored and runs again.
    A later attempt of a job replaces an earlier one's records (as :class:`StoreSink` does), so a job that ran
    twice leaves each record once. Each imported file is renamed ``*.jsonl.imported``, so importing again does
    nothing; the import holds a lock on the folder, so two drivers never import the same file twice."""
    from benchmark.shared import exclusive

    folder = Path(folder)
    by_id = {j.job_id: j for j in jobs or ()}
    totals = dict(n_files=0, n_records=0, inserted=0, replaced=0, skipped=0)
    rejected: list[tuple[str, str]] = []
    if not folder.is_dir():
        return ImportReport(**totals)
    with exclusive(folder / ".import"):
        files = _oldest_first(folder.glob("*.jsonl"))
        if not files:
            return ImportReport(**totals)
        with leaderboard.Store(db) as store:
            for path in files:
                records, problem = read_job_file(path, by_id.get(path.name.split("-")[0]))
                if problem is not None:
                    rejected.append((str(path), problem))
                    os.replace(path, path.with_name(path.name + ".rejected"))
                    continue
                res = store.write_job(records, replace=True, job_id=path.stem)
                totals["n_files"] += 1
                for key in ("n_records", "inserted", "replaced", "skipped"):
                    totals[key] += getattr(res, key)
                os.replace(path, path.with_name(path.name + ".imported"))
    return ImportReport(**totals, rejected=tuple(rejected))
