"""The leaderboard store: one SQLite file, safe with several writing processes.

* **WAL journal**, ``synchronous=FULL``, a busy timeout: readers never block writers, writers queue.
* **One transaction per job** (:meth:`Store.write_job`, opened with ``BEGIN IMMEDIATE``): a job's
  records are stored all together or not at all, also when the writing process is killed.
* **Same ``record_id`` = same measurement**: a second write of an id is skipped unless
  ``replace=True``.
* **Schema version** in ``PRAGMA user_version``; older files are migrated (after a backup copy is
  written beside them), newer ones are refused.
* **Releases**: a named, immutable snapshot of record ids *and* their stored contents, so
  ``show --release NAME`` reproduces the table exactly even after later replacements.

All SQL is parameterised; column names come from fixed lists in this module, never from input.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import SchemaVersionError, StoreError, VersionMixError
from .records import IDENTITY_FIELDS, PROVENANCES, STATUSES, Record, RecordError, canonical_json
from .versions import AGGREGATION_VERSION

__all__ = ["Store", "StoreError", "SchemaVersionError", "VersionMixError", "JobResult", "SCHEMA_VERSION",
           "DEFAULT_DB"]

#: Version of the on-disk schema written by this code (``PRAGMA user_version``).
SCHEMA_VERSION = 2
#: Default store location, relative to the working directory (the CLI's ``--db`` default).
DEFAULT_DB = Path("results") / "leaderboard.sqlite"

_SQLITE_MAGIC = b"SQLite format 3\x00"

# Version 1: the first layout (schema v1 of the record design notes): one JSON identity and one
# JSON payload per row; the payload's "source" field said "measured" or "submitted". Kept here so
# the migration can be tested from version 1 onwards.
_SCHEMA_V1 = """
CREATE TABLE records (
    record_id  TEXT PRIMARY KEY,
    identity   TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
PRAGMA user_version = 1;
"""

_SCHEMA_V2 = """
CREATE TABLE records (
    record_id         TEXT PRIMARY KEY,
    suite             TEXT NOT NULL,
    protocol_version  TEXT NOT NULL,
    profile           TEXT NOT NULL,
    dataset           TEXT NOT NULL,
    dataset_hash      TEXT NOT NULL,
    model             TEXT NOT NULL,
    model_config_hash TEXT NOT NULL,
    train_seed        INTEGER NOT NULL,
    metric            TEXT NOT NULL,
    metric_version    TEXT NOT NULL,
    metric_params     TEXT NOT NULL,
    eval_seed         INTEGER NOT NULL,
    value             REAL,
    status            TEXT NOT NULL,
    provenance        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    job_id            TEXT NOT NULL,
    body              TEXT NOT NULL,
    body_sha256       TEXT NOT NULL
);
CREATE INDEX records_view ON records (suite, protocol_version, profile, metric, dataset, model);
CREATE INDEX records_job ON records (job_id);
CREATE TABLE jobs (
    job_id     TEXT PRIMARY KEY,
    written_at TEXT NOT NULL,
    n_records  INTEGER NOT NULL,
    n_inserted INTEGER NOT NULL,
    n_replaced INTEGER NOT NULL,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL
);
CREATE TABLE releases (
    name            TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    n_records       INTEGER NOT NULL,
    record_ids_sha256 TEXT NOT NULL,
    filters         TEXT NOT NULL
);
CREATE TABLE release_records (
    release   TEXT NOT NULL REFERENCES releases (name),
    record_id TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (release, record_id)
);
CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases
    BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
    BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
CREATE TRIGGER release_records_no_update BEFORE UPDATE ON release_records
    BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
CREATE TRIGGER release_records_no_delete BEFORE DELETE ON release_records
    BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
"""

_RECORD_COLUMNS = (*IDENTITY_FIELDS, "value", "status", "provenance", "created_at", "job_id", "body", "body_sha256")
_FILTER_COLUMNS = (*(f for f in IDENTITY_FIELDS if f != "metric_params"), "status", "provenance", "record_id")


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What one :meth:`Store.write_job` did: ``inserted + replaced + skipped == n_records``."""

    job_id: str
    n_records: int
    inserted: int
    replaced: int
    skipped: int


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _as_records(records: Iterable[Record | Mapping[str, Any]], where: str) -> list[Record]:
    if isinstance(records, (Record, Mapping)):
        raise StoreError(f"{where} takes a list of records; got a single {type(records).__name__}. Wrap it in a list.")
    out = []
    for i, r in enumerate(records):
        if isinstance(r, Record):
            out.append(r)
        elif isinstance(r, Mapping):
            try:
                out.append(Record.from_dict(r))
            except RecordError as exc:
                raise RecordError(f"{where}: record {i}: {exc}") from None
        else:
            raise StoreError(f"{where}: record {i} must be a leaderboard.Record or a dict; got {type(r).__name__}.")
    return out


def check_import_file(path) -> Path:
    """``path`` as a Path if it is a file to import from; StoreError saying what was expected if not."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"import file {str(path)!r} does not exist (or is not a file); expected a JSON Lines "
                         f"file written by `python -m benchmark leaderboard export`.")
    return path


class Store:
    """The SQLite leaderboard store (one file). Use as a context manager or call :meth:`close`.

    Parameters
    ----------
    path : str or Path, default ``results/leaderboard.sqlite``
        The store file; created (with its folder) if missing.
    timeout : float, default 120
        Seconds a writer waits for another writer's transaction before giving up.
    readonly : bool or None, default None
        Open for reading only. ``None``: read-only when the file exists in a folder this user may not
        write (a published store on a read-only mount): SQLite's WAL mode needs the folder for its
        ``-wal``/``-shm`` files, so such a store is opened as immutable (no writer can exist there). Writing
        methods of a read-only store raise :class:`StoreError`.

    Raises
    ------
    SchemaVersionError
        The file was written by a newer version of the suite (never modified then).
    StoreError
        The file is not an SQLite database, or not a leaderboard store.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_DB, *, timeout: float = 120.0,
                 readonly: bool | None = None) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        folder_writable = os.access(self.path.parent, os.W_OK | os.X_OK) or not self.path.parent.exists()
        self.readonly = (self.path.exists() and not folder_writable) if readonly is None else bool(readonly)
        if self.readonly and not self.path.is_file():
            raise StoreError(f"no leaderboard store at {str(self.path)!r} to open read-only; pass an existing .sqlite file.")
        self.backup_path: Path | None = None  # set when opening migrated an older schema
        if self.path.is_dir():
            raise StoreError(f"store path {str(self.path)!r} is a folder; expected an SQLite file such as "
                             f"{str(self.path / 'leaderboard.sqlite')!r}.")
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            if head != _SQLITE_MAGIC:
                raise StoreError(f"{str(self.path)!r} is not an SQLite database (its first bytes are {head[:16]!r}); "
                                 f"pass the leaderboard .sqlite file with --db, or a new path to create one.")
        elif not self.readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target, uri = str(self.path), False
        if self.readonly:
            # immutable where no writer can exist (folder not writable) and no WAL holds un-checkpointed commits
            wal = self.path.with_name(self.path.name + "-wal")
            immutable = not folder_writable and not wal.exists()
            target = f"{self.path.resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}"
            uri = True
        self._conn: sqlite3.Connection | None = sqlite3.connect(target, timeout=self.timeout, isolation_level=None,
                                                                uri=uri)
        try:
            self._open()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # -- opening, schema, migrations ---------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {str(self.path)!r} is closed.")
        return self._conn

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the store {str(self.path)!r} has schema version {version}, written by a newer version of the "
                f"benchmark suite; this version reads schema versions 1 to {SCHEMA_VERSION}. Upgrade the suite "
                f"(pip install -U -e .) or pass another file with --db. The file was not modified.")

    def _open(self) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        self._refuse_newer(self._version())
        if self._version() == 0:
            self._refuse_foreign()
        if self.readonly:
            version = self._version()
            if version != SCHEMA_VERSION:
                what = "is empty" if version == 0 else f"has schema version {version}, which needs migrating to {SCHEMA_VERSION}"
                raise StoreError(f"the read-only store {str(self.path)!r} {what}; copy it to a folder you can write "
                                 f"and open the copy (a migration writes).")
            return
        self._retry_locked(lambda: c.execute("PRAGMA journal_mode = WAL").fetchone())
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")
        version = self._version()
        if version == SCHEMA_VERSION:
            return
        backup = self._write_backup(version) if 0 < version < SCHEMA_VERSION else None
        self._begin()
        try:
            version = self._version()  # re-read under the write lock: another process may have set it up
            self._refuse_newer(version)
            if backup is not None and version == SCHEMA_VERSION:  # migrated meanwhile by another process
                backup.unlink()
                backup = None
            if version == 0:
                self._refuse_foreign()
                _create_v2(c)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version < SCHEMA_VERSION:
                self.backup_path = backup if backup is not None else self._write_backup(version)
                for v in range(version, SCHEMA_VERSION):
                    _MIGRATIONS[v](c)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            # the file is rolled back unchanged: a copy per failed attempt would pile up on every open
            for copy in {backup, self.backup_path} - {None}:
                copy.unlink(missing_ok=True)
            self.backup_path = None
            raise

    def _refuse_foreign(self) -> None:
        """A version-0 file with tables belongs to something else: refuse it before changing anything.

        The version and the table list are read in one read transaction (one snapshot): read
        separately, another process creating the same new store could commit its tables and its
        version between the two reads, and this file would be refused as foreign.
        """
        c = self.conn
        own = not c.in_transaction
        if own:
            c.execute("BEGIN")
        try:
            version = self._version()
            tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            if own:
                c.execute("COMMIT")
        if version == 0 and tables:
            raise StoreError(f"{str(self.path)!r} is an SQLite database but not a leaderboard store "
                             f"(schema version 0, tables {tables}); pass another file with --db.")

    def _write_backup(self, version: int) -> Path:
        """Copy the whole database (consistent, via SQLite's backup API) before a migration."""
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        dst = self.path.with_name(f"{self.path.name}.schema-v{version}.{stamp}.backup")
        n = 1
        while dst.exists():
            dst = self.path.with_name(f"{self.path.name}.schema-v{version}.{stamp}-{n}.backup")
            n += 1
        out = sqlite3.connect(str(dst))
        try:
            self.conn.backup(out)
        finally:
            out.close()
        return dst

    def _retry_locked(self, fn, what: str = "open"):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreError(f"the store {str(self.path)!r} stayed locked by another process for "
                                     f"{self.timeout:.0f} s ({what}); retry when the other writer is done.") from None
                time.sleep(0.05)

    def _check_writable(self, action: str) -> None:
        if self.readonly:
            raise StoreError(f"cannot {action}: the store {str(self.path)!r} is open read-only (its folder is not "
                             f"writable, or readonly=True). Copy it to a folder you can write and use the copy.")

    def _begin(self) -> None:
        """Start a write transaction (waits for other writers up to ``timeout``)."""
        self._retry_locked(lambda: self.conn.execute("BEGIN IMMEDIATE"), "waiting for the write lock")

    # -- writing -----------------------------------------------------------------------------
    def write_job(self, records: Iterable[Record | Mapping[str, Any]], *, replace: bool = False,
                  job_id: str | None = None) -> JobResult:
        """Store the records of one job in one transaction: all of them, or none.

        Parameters
        ----------
        records : iterable of Record (or dicts as written by ``Record.to_dict``)
        replace : bool, default False
            A record whose ``record_id`` is stored already is skipped (the same measurement), unless
            ``replace=True``, which overwrites its payload. Released snapshots never change.
        job_id : str, optional
            Recorded with every row; a fresh UUID by default.

        Returns
        -------
        JobResult
            Counts of inserted, replaced and skipped records.
        """
        self._check_writable("write records")
        recs = _as_records(records, "write_job")
        seen: dict[str, Record] = {}
        for r in recs:
            rid = r.record_id
            if rid in seen and seen[rid] != r:
                raise StoreError(f"write_job: record_id {rid} appears twice in one job with different payloads "
                                 f"(model {r.model!r}, metric {r.metric!r}, train_seed {r.train_seed}); "
                                 f"each measurement may appear once per job.")
            seen[rid] = r
        job_id = job_id or uuid.uuid4().hex
        inserted = replaced = skipped = 0
        c = self.conn
        self._begin()
        try:
            for r in seen.values():
                outcome = self._write_one(r, job_id, replace)
                inserted += outcome == "inserted"
                replaced += outcome == "replaced"
                skipped += outcome == "skipped"
            c.execute("INSERT INTO jobs (job_id, written_at, n_records, n_inserted, n_replaced, host, pid) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (job_id, _now(), len(seen), inserted, replaced, socket.gethostname(), os.getpid()))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        return JobResult(job_id, len(seen), inserted, replaced, skipped + (len(recs) - len(seen)))

    def _write_one(self, r: Record, job_id: str, replace: bool) -> str:
        body = r.to_json()
        row = (*(canonical_json(r.metric_params) if f == "metric_params" else getattr(r, f) for f in IDENTITY_FIELDS),
               r.value, r.status, r.provenance, r.created_at, job_id, body, _sha256(body))
        rid = r.record_id
        c = self.conn
        exists = c.execute("SELECT 1 FROM records WHERE record_id = ?", (rid,)).fetchone() is not None
        if exists and not replace:
            return "skipped"
        if exists:
            c.execute("DELETE FROM records WHERE record_id = ?", (rid,))
        cols = ", ".join(("record_id", *_RECORD_COLUMNS))
        c.execute(f"INSERT INTO records ({cols}) VALUES ({', '.join('?' * (len(_RECORD_COLUMNS) + 1))})", (rid, *row))
        return "replaced" if exists else "inserted"

    # -- reading -----------------------------------------------------------------------------
    def has(self, record_id: str) -> bool:
        """Whether a record with this id is stored."""
        return self.conn.execute("SELECT 1 FROM records WHERE record_id = ?", (record_id,)).fetchone() is not None

    def _where(self, filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for key, val in filters.items():
            if key not in _FILTER_COLUMNS:
                raise StoreError(f"unknown record filter {key!r}; expected one of {', '.join(_FILTER_COLUMNS)}.")
            if val is None:
                continue
            vals = list(val) if isinstance(val, (list, tuple, set, frozenset)) else [val]
            if key == "status":
                bad = [v for v in vals if v not in STATUSES]
                if bad:
                    raise StoreError(f"status filter must be among {STATUSES}; got {bad}.")
            if key == "provenance":
                bad = [v for v in vals if v not in PROVENANCES]
                if bad:
                    raise StoreError(f"provenance filter must be among {PROVENANCES}; got {bad}.")
            clauses.append(f"{key} IN ({', '.join('?' * len(vals))})")
            params.extend(vals)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    _ORDER = " ORDER BY suite, protocol_version, profile, metric, dataset, model, train_seed, eval_seed, record_id"

    def records(self, *, release: str | None = None, **filters: Any) -> list[Record]:
        """Stored records, optionally filtered by identity fields, ``status``, ``provenance``, ``record_id``.

        A filter value may be one value or a list of values. With ``release=NAME`` the records come
        from that release's frozen snapshot.
        """
        if release is not None:
            self._where(filters)  # validates the filter names and values
            out = []
            for r in self.release_records(release):
                keep = True
                for key, val in filters.items():
                    if val is None:
                        continue
                    vals = list(val) if isinstance(val, (list, tuple, set, frozenset)) else [val]
                    keep &= (r.record_id if key == "record_id" else getattr(r, key)) in vals
                if keep:
                    out.append(r)
            return out
        where, params = self._where(filters)
        rows = self.conn.execute("SELECT body FROM records" + where + self._ORDER, params).fetchall()
        return [Record.from_json(b) for (b,) in rows]

    def values(self, column: str) -> list[Any]:
        """The distinct stored values of one filter column (e.g. ``"dataset"``), sorted."""
        if column not in _FILTER_COLUMNS:
            raise StoreError(f"unknown record filter {column!r}; expected one of {', '.join(_FILTER_COLUMNS)}.")
        return sorted(r[0] for r in self.conn.execute(f"SELECT DISTINCT {column} FROM records"))

    def count(self, **filters: Any) -> int:
        """Number of stored records matching ``filters`` (see :meth:`records`)."""
        where, params = self._where(filters)
        return int(self.conn.execute("SELECT COUNT(*) FROM records" + where, params).fetchone()[0])

    def table(self, *, release: str | None = None, **filters: Any):
        """One versioned leaderboard view as a ``pandas.DataFrame`` (one row per record).

        The selection (after ``filters`` such as ``suite=``, ``protocol_version=``, ``profile=``,
        ``metric=``, ``dataset=``) must hold records of **one** (suite, protocol_version, profile);
        otherwise :class:`VersionMixError` lists what was found and how to choose. Different metric
        versions, metric parameters, dataset hashes and model config hashes stay apart as
        separate columns (:func:`leaderboard.summarize` groups by them; they are never averaged).
        """
        from .frame import records_to_frame

        return records_to_frame(self.protocol_records(release=release, **filters))

    def protocol_records(self, *, release: str | None = None, **filters: Any) -> list[Record]:
        """``records(...)`` of a selection that must hold **one** (suite, protocol_version, profile), the
        records of one leaderboard table; otherwise :class:`VersionMixError` lists what was found."""
        recs = self.records(release=release, **filters)
        combos = sorted({(r.suite, r.protocol_version, r.profile) for r in recs})
        if len(combos) > 1:
            listed = "; ".join(f"suite={s!r} protocol={p!r} profile={q!r}" for s, p, q in combos)
            raise VersionMixError(
                f"the selection holds records of {len(combos)} (suite, protocol version, profile) combinations "
                f"({listed}); a leaderboard table is always for one of them. Choose one with "
                f"--suite/--protocol/--profile (table(suite=..., protocol_version=..., profile=...)).")
        return recs

    def verify(self) -> list[str]:
        """Check the file (``PRAGMA integrity_check``) and every record (checksum, id, parse).

        Returns a list of problems; empty when the store is sound.
        """
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        for rid, body, digest in self.conn.execute("SELECT record_id, body, body_sha256 FROM records"):
            if _sha256(body) != digest:
                problems.append(f"record {rid}: body checksum mismatch")
                continue
            try:
                rec = Record.from_json(body)
            except RecordError as exc:
                problems.append(f"record {rid}: {exc}")
                continue
            if rec.record_id != rid:
                problems.append(f"record {rid}: stored under a different id than its identity hash {rec.record_id}")
        return problems

    # -- releases ----------------------------------------------------------------------------
    def release(self, name: str, **filters: Any) -> dict[str, Any]:
        """Freeze the current records (optionally filtered) as the immutable release ``name``.

        The release keeps each record's id and its stored JSON, so :meth:`release_records` returns
        exactly the same records later, whatever is written or replaced afterwards.

        Returns
        -------
        dict
            ``name, created_at, n_records, record_ids_sha256, filters``.
        """
        self._check_writable(f"freeze release {name!r}")
        if not isinstance(name, str) or not name.strip():
            raise StoreError(f"release name must be a non-empty string; got {name!r}.")
        where, params = self._where(filters)
        c = self.conn
        self._begin()
        try:
            if c.execute("SELECT 1 FROM releases WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"release {name!r} exists already and releases are immutable; choose a new name.")
            rows = c.execute("SELECT record_id, body FROM records" + where + " ORDER BY record_id", params).fetchall()
            if not rows:
                raise StoreError(f"release {name!r} would be empty: no stored record matches {dict(filters) or 'the store'}.")
            ids_sha = _sha256("\n".join(r[0] for r in rows))
            info = {"name": name, "created_at": _now(), "n_records": len(rows), "record_ids_sha256": ids_sha,
                    "filters": canonical_json({k: v for k, v in filters.items() if v is not None})}
            c.execute("INSERT INTO releases (name, created_at, n_records, record_ids_sha256, filters) "
                      "VALUES (:name, :created_at, :n_records, :record_ids_sha256, :filters)", info)
            c.executemany("INSERT INTO release_records (release, record_id, body) VALUES (?, ?, ?)",
                          [(name, rid, body) for rid, body in rows])
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        return info

    def releases(self) -> list[dict[str, Any]]:
        """All releases, oldest first."""
        cur = self.conn.execute("SELECT name, created_at, n_records, record_ids_sha256, filters FROM releases "
                                "ORDER BY created_at, name")
        return [dict(zip(("name", "created_at", "n_records", "record_ids_sha256", "filters"), r)) for r in cur]

    def release_manifest(self, name: str) -> dict[str, Any]:
        """The release as a shareable manifest: info, protocol versions, aggregation version, record ids.

        ``aggregation_version`` names the version of the statistics code (tables are derived from
        the records and regenerated; a change of that code is visible in the manifest).
        """
        recs = self.release_records(name)
        info = next(r for r in self.releases() if r["name"] == name)
        return {"release": name, "created_at": info["created_at"], "n_records": info["n_records"],
                "record_ids_sha256": info["record_ids_sha256"], "filters": json.loads(info["filters"]),
                "aggregation_version": AGGREGATION_VERSION, "schema_version": SCHEMA_VERSION,
                "protocols": sorted({f"{r.suite} {r.protocol_version} {r.profile}" for r in recs}),
                "record_ids": sorted(r.record_id for r in recs)}

    def release_records(self, name: str) -> list[Record]:
        """The records frozen in release ``name``, exactly as they were when it was made."""
        if not self.conn.execute("SELECT 1 FROM releases WHERE name = ?", (name,)).fetchone():
            known = [r["name"] for r in self.releases()]
            raise StoreError(f"no release named {name!r} in {str(self.path)!r}; releases: {known or 'none yet'}. "
                             f"Make one with `python -m benchmark leaderboard release NAME`.")
        rows = self.conn.execute("SELECT body FROM release_records WHERE release = ? ORDER BY record_id", (name,))
        recs = [Record.from_json(b) for (b,) in rows]
        key = lambda r: (r.suite, r.protocol_version, r.profile, r.metric, r.dataset, r.model,  # noqa: E731
                         r.train_seed, r.eval_seed, r.record_id)
        return sorted(recs, key=key)

    # -- JSON Lines --------------------------------------------------------------------------
    def export_jsonl(self, path: str | os.PathLike[str], *, release: str | None = None, **filters: Any) -> int:
        """Write records (one canonical JSON object per line, sorted by id) to ``path``; returns the count.

        The file is written to a temporary name and renamed, so a reader never sees half of it.
        """
        recs = sorted(self.records(release=release, **filters), key=lambda r: r.record_id)
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"export path {str(path)!r} is a folder; expected a file name such as "
                             f"{str(path / 'leaderboard.jsonl')!r}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for r in recs:
                fh.write(r.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return len(recs)

    def import_jsonl(self, path: str | os.PathLike[str], *, replace: bool = False) -> JobResult:
        """Read a JSON Lines file written by :meth:`export_jsonl` and store it as one job.

        Every line is parsed and validated (its ``record_id`` must match its identity) before
        anything is written; importing the same file twice changes nothing.
        """
        path = check_import_file(path)
        recs = []
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RecordError(f"{str(path)!r} line {lineno}: not UTF-8 text ({exc}).") from None
                if not line.strip():
                    continue
                try:
                    recs.append(Record.from_json(line))
                except RecordError as exc:
                    raise RecordError(f"{str(path)!r} line {lineno}: {exc}") from None
        return self.write_job(recs, replace=replace)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def _create_v2(c: sqlite3.Connection) -> None:
    """Create the v2 tables statement by statement (``executescript`` would commit the transaction)."""
    for stmt in _SCHEMA_V2.split(";\n"):
        if stmt.strip():
            c.execute(stmt)


# -- migrations: _MIGRATIONS[v] upgrades schema v to v + 1 inside the caller's transaction ----------
def _migrate_1_to_2(c: sqlite3.Connection) -> None:
    """v1 rows (identity JSON + payload JSON with ``source``) -> v2 columns; ids are re-verified."""
    rows = c.execute("SELECT record_id, identity, payload, created_at FROM records").fetchall()
    c.execute("ALTER TABLE records RENAME TO records_v1")
    _create_v2(c)
    job_id = f"migration-v1-v2-{uuid.uuid4().hex}"
    source_map = {"measured": "measured", "submitted": "submitted-latents", "self-reported": "submitted-latents"}
    for rid, identity, payload, created_at in rows:
        ident = json.loads(identity)
        pay = json.loads(payload)
        source = pay.pop("source", "measured")
        if source not in source_map:
            raise StoreError(f"migration v1->v2: record {rid} has unknown source {source!r}; expected one of "
                             f"{sorted(source_map)}. The store file is unchanged.")
        pay["provenance"] = source_map[source]
        pay.setdefault("created_at", created_at)
        try:
            rec = Record.from_dict({"record_id": rid, "identity": ident, **pay})
        except RecordError as exc:
            raise StoreError(f"migration v1->v2: record {rid} cannot be read: {exc} The store file is unchanged.") from None
        body = rec.to_json()
        cols = ", ".join(("record_id", *_RECORD_COLUMNS))
        vals = (rid, *(canonical_json(rec.metric_params) if f == "metric_params" else getattr(rec, f)
                       for f in IDENTITY_FIELDS),
                rec.value, rec.status, rec.provenance, rec.created_at, job_id, body, _sha256(body))
        c.execute(f"INSERT INTO records ({cols}) VALUES ({', '.join('?' * len(vals))})", vals)
    c.execute("INSERT INTO jobs (job_id, written_at, n_records, n_inserted, n_replaced, host, pid) "
              "VALUES (?, ?, ?, ?, 0, ?, ?)", (job_id, _now(), len(rows), len(rows), socket.gethostname(), os.getpid()))
    c.execute("DROP TABLE records_v1")


_MIGRATIONS = {1: _migrate_1_to_2}
