"""Versions of the leaderboard's own code that results depend on, in a module that imports nothing.

``AGGREGATION_VERSION`` is the version of the statistics in :mod:`leaderboard.summary`: bump it when a table
would change for the same records. A release manifest (:meth:`leaderboard.Store.release_manifest`) records it.
"""

__all__ = ["AGGREGATION_VERSION"]

#: "2": metric directions (lower-is-better metrics ranked and compared as such; ``direction`` column).
AGGREGATION_VERSION = "2"
