"""The registry of benchmark suites: name -> the :class:`~benchmark.suites.base.Suite` object in its own folder.

Suites are imported when first asked for, so that ``python -m benchmark --help`` stays light. To add a suite,
write ``benchmark/suites/<name>/`` with a ``SUITE`` object and add one line to ``_REGISTERED`` (see
``docs/architecture.md``); tests may ``register`` a suite object directly.
"""

from __future__ import annotations

import importlib

from benchmark.suites.base import Profile, Suite

__all__ = ["Suite", "Profile", "get_suite", "suite_names", "all_suites", "register"]

# name -> module holding its SUITE object
_REGISTERED: dict[str, str] = {
    "disentanglement": "benchmark.suites.disentanglement",
    "noisy-labels": "benchmark.suites.noisy_labels",
    "equivariance": "benchmark.suites.equivariance",
    "latent-semantics": "benchmark.suites.latent_semantics",
}
_LOADED: dict[str, Suite] = {}


def suite_names() -> tuple[str, ...]:
    """The registered suite names, in registration order."""
    return tuple(dict.fromkeys([*_REGISTERED, *_LOADED]))


def register(suite: Suite) -> None:
    """Register a suite object under ``suite.name`` (and its headline metrics' directions with the leaderboard)."""
    import leaderboard

    if not isinstance(suite, Suite):
        raise TypeError(f"suite must be a benchmark.suites.Suite; got {type(suite).__name__}.")
    for metric, direction in suite.headline_metrics.items():
        leaderboard.register_direction(metric, direction)
    _LOADED[suite.name] = suite


def get_suite(name: str) -> Suite:
    """The suite called ``name``; a ValueError lists the known suites."""
    if name not in _LOADED:
        if name not in _REGISTERED:
            raise ValueError(f"suite must be one of {', '.join(map(repr, suite_names()))}; got {name!r}.")
        register(importlib.import_module(_REGISTERED[name]).SUITE)
    return _LOADED[name]


def all_suites() -> dict[str, Suite]:
    """Every registered suite, loaded."""
    return {name: get_suite(name) for name in suite_names()}
