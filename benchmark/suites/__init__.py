"""Benchmark suites: each module defines its profiles, its job list and how one job is evaluated."""

from __future__ import annotations

from benchmark.suites import disentanglement

SUITES = {"disentanglement": disentanglement}


def get_suite(name: str):
    """The suite module called ``name``; a ValueError lists the known suites."""
    if name not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(map(repr, SUITES))}; got {name!r}.")
    return SUITES[name]
