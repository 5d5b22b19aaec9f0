"""Versioned leaderboard of the benchmark suite: records, the SQLite store, statistics, renderers.

Public API (see docs/leaderboard.md):

* :class:`Record` -- one result of one metric; ``record_id`` = sha256 of its identity.
* :class:`Store` -- the SQLite store (WAL, one transaction per job, releases, JSON Lines).
* :func:`summarize`, :func:`aggregate_across_datasets`, :func:`compare` -- honest comparisons
  (IQM, stratified bootstrap intervals, rank intervals, probability of improvement).
* :func:`register_direction`, :func:`direction_of` -- whether higher or lower is better, per metric.
* :class:`Claim`, :class:`ValueClaim`, :func:`check_claims` -- papers' claims as data ("A better than
  B", "A's metric within [low, high]"); :class:`Verdict` per claim
  (``CLAIM_STATUSES``: holds, not shown, contradicted, not run), :func:`format_verdicts`.
* :func:`format_table` -- text/markdown/csv/json output; :func:`write_html` -- the static page.
* :func:`ingest_submission`, :func:`load_submitted_latents` -- validated storage of submissions.
* :func:`collect_environment` -- the ``environment`` block (versions, git commit, hardware).

Never imports torch or ``benchmark``.
"""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes

# Every public name, with the module that defines it. They are imported on first use (PEP 562), so that
# ``import leaderboard`` costs nothing until a name is used: the statistics pull in scipy and pandas, the figures
# matplotlib, and the command line's help must not wait for them.
_NAMES = {
    "records": ("IDENTITY_FIELDS", "PROVENANCES", "STATUSES", "Record", "RecordError", "compute_record_id"),
    "errors": ("SchemaVersionError", "StoreError", "VersionMixError"),
    "store": ("DEFAULT_DB", "SCHEMA_VERSION", "JobResult", "Store"),
    "directions": ("HIGHER", "LOWER", "direction_of", "register_direction"),
    "environment": ("collect_environment",),
    "submission": ("SubmissionError", "ingest_submission", "load_submitted_latents"),
    "summary": ("MIN_SEEDS", "aggregate_across_datasets", "compare", "format_table", "summarize"),
    "claims": ("Claim", "ValueClaim", "DatasetVerdict", "Verdict", "check_claims", "format_verdicts", "verdicts_frame"),
    "html": ("write_html", "render_html"),
    "plots": ("write_plots",),
}
_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}
_RENAMED = {"CLAIM_STATUSES": ("claims", "STATUSES")}


def __getattr__(name: str):
    import importlib

    if name in _MODULE_OF:
        module, attr = _MODULE_OF[name], name
    elif name in _RENAMED:
        module, attr = _RENAMED[name]
    else:
        raise AttributeError(f"module 'leaderboard' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF) | set(_RENAMED))


__all__ = [
    "Record", "RecordError", "IDENTITY_FIELDS", "STATUSES", "PROVENANCES", "compute_record_id",
    "Store", "StoreError", "SchemaVersionError", "VersionMixError", "JobResult", "SCHEMA_VERSION", "DEFAULT_DB",
    "summarize", "aggregate_across_datasets", "compare", "format_table", "MIN_SEEDS",
    "register_direction", "direction_of", "HIGHER", "LOWER",
    "Claim", "ValueClaim", "Verdict", "DatasetVerdict", "check_claims", "format_verdicts", "verdicts_frame",
    "CLAIM_STATUSES",
    "SubmissionError", "ingest_submission", "load_submitted_latents", "collect_environment",
    "write_html", "render_html", "write_plots",
]
