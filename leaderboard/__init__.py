"""Versioned leaderboard of the benchmark suite: records, the SQLite store, statistics, renderers.

Public API (see docs/leaderboard.md):

* :class:`Record` -- one result of one metric; ``record_id`` = sha256 of its identity.
* :class:`Store` -- the SQLite store (WAL, one transaction per job, releases, JSON Lines).
* :func:`summarize`, :func:`aggregate_across_datasets`, :func:`compare` -- honest comparisons
  (IQM, stratified bootstrap intervals, rank intervals, probability of improvement).
* :func:`format_table` -- text/markdown/csv/json output; :func:`write_html` -- the static page.
* :func:`ingest_submission`, :func:`load_submitted_latents` -- validated storage of submissions.

Never imports torch or ``benchmark``.
"""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes

from .records import IDENTITY_FIELDS, PROVENANCES, STATUSES, Record, RecordError, compute_record_id
from .store import DEFAULT_DB, SCHEMA_VERSION, JobResult, SchemaVersionError, Store, StoreError, VersionMixError
from .summary import MIN_SEEDS, aggregate_across_datasets, compare, format_table, summarize

__all__ = [
    "Record", "RecordError", "IDENTITY_FIELDS", "STATUSES", "PROVENANCES", "compute_record_id",
    "Store", "StoreError", "SchemaVersionError", "VersionMixError", "JobResult", "SCHEMA_VERSION", "DEFAULT_DB",
    "summarize", "aggregate_across_datasets", "compare", "format_table", "MIN_SEEDS",
]
