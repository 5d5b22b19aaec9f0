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

__all__ = ["RecordSink", "StoreSink", "JsonlSink", "import_results"]


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
    """One ``<job id>-<attempt>.jsonl`` file per job attempt in ``folder``, written atomically."""

    folder: Path

    def _files(self, job: Job) -> list[Path]:
        return sorted(Path(self.folder).glob(f"{job.job_id}-*.jsonl"), key=lambda p: p.stat().st_mtime)

    def stored(self, job: Job) -> bool:
        ok: set[str] = set()
        for path in self._files(job):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    r = leaderboard.Record.from_json(line)
                    (ok.add if r.status == "ok" else ok.discard)(r.record_id)
        return set(job.record_ids()) <= ok

    def write(self, job: Job, records: Sequence[leaderboard.Record]) -> None:
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job.job_id}-{uuid.uuid4().hex[:12]}.jsonl"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
        os.replace(tmp, path)  # a reader (the importing driver) never sees half a file


def import_results(folder: str | os.PathLike[str], db: str | os.PathLike[str]) -> leaderboard.JobResult:
    """Import every job file a :class:`JsonlSink` wrote in ``folder`` into the store ``db``, oldest first.

    A later attempt of a job replaces an earlier one's records (as :class:`StoreSink` does); each imported file
    is renamed to ``*.jsonl.imported``, so importing again does nothing. Returns the summed counts."""
    totals = dict(n_records=0, inserted=0, replaced=0, skipped=0)
    files = sorted(Path(folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    with leaderboard.Store(db) as store:
        for path in files:
            res = store.import_jsonl(path, replace=True)
            for key in totals:
                totals[key] += getattr(res, key)
            os.replace(path, path.with_name(path.name + ".imported"))
    return leaderboard.JobResult(job_id=f"import-{Path(folder).name}", **totals)
