"""Versioned leaderboard of the benchmark suite: records, the SQLite store, statistics, renderers.

Public API (see docs/leaderboard.md):

* :class:`Record` -- one result of one metric; ``record_id`` = sha256 of its identity.
* :class:`Store` -- the SQLite store (WAL, one transaction per job, releases, JSON Lines).
* :func:`summarize`, :func:`aggregate_across_datasets`, :func:`compare` -- honest comparisons
  (IQM, stratified bootstrap intervals, rank intervals, probability of improvement).
* :func:`register_direction`, :func:`direction_of` -- whether higher or lower is better, per metric.
* :class:`Claim`, :func:`check_claims` -- papers' claims as data; :class:`Verdict` per claim
  (``CLAIM_STATUSES``: holds, not shown, contradicted, not run), :func:`format_verdicts`.
* :func:`format_table` -- text/markdown/csv/json output; :func:`write_html` -- the static page.
* :func:`ingest_submission`, :func:`load_submitted_latents` -- validated storage of submissions.
* :func:`collect_environment` -- the ``environment`` block (versions, git commit, hardware).

Never imports torch or ``benchmark``.
"""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes

from .records import IDENTITY_FIELDS, PROVENANCES, STATUSES, Record, RecordError, compute_record_id
from .errors import SchemaVersionError, StoreError, VersionMixError
from .store import DEFAULT_DB, SCHEMA_VERSION, JobResult, Store
from .directions import HIGHER, LOWER, direction_of, register_direction
from .environment import collect_environment
from .submission import SubmissionError, ingest_submission, load_submitted_latents
from .summary import MIN_SEEDS, aggregate_across_datasets, compare, format_table, summarize
from .claims import STATUSES as CLAIM_STATUSES
from .claims import Claim, DatasetVerdict, Verdict, check_claims, format_verdicts, verdicts_frame

_LAZY = {"write_html": "html", "render_html": "html", "write_plots": "plots"}  # matplotlib only when used


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'leaderboard' has no attribute {name!r}")


__all__ = [
    "Record", "RecordError", "IDENTITY_FIELDS", "STATUSES", "PROVENANCES", "compute_record_id",
    "Store", "StoreError", "SchemaVersionError", "VersionMixError", "JobResult", "SCHEMA_VERSION", "DEFAULT_DB",
    "summarize", "aggregate_across_datasets", "compare", "format_table", "MIN_SEEDS",
    "register_direction", "direction_of", "HIGHER", "LOWER",
    "Claim", "Verdict", "DatasetVerdict", "check_claims", "format_verdicts", "verdicts_frame", "CLAIM_STATUSES",
    "SubmissionError", "ingest_submission", "load_submitted_latents", "collect_environment",
    "write_html", "render_html", "write_plots",
]
