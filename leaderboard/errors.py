"""Exceptions of the leaderboard store and tables, in a module that imports nothing else.

Both :mod:`leaderboard.store` and :mod:`leaderboard.summary` raise these; keeping them here lets
``summary`` stay independent of ``store`` (no import circle). ``leaderboard.store.StoreError`` and
``leaderboard.StoreError`` are the same classes, re-exported.
"""

from __future__ import annotations

__all__ = ["StoreError", "SchemaVersionError", "VersionMixError"]


class StoreError(RuntimeError):
    """The store file cannot be used as asked; the message says why and what to do."""


class SchemaVersionError(StoreError):
    """The store file has a schema version this code cannot read."""


class VersionMixError(StoreError):
    """A table was asked for across several protocol versions (or suites/profiles)."""
