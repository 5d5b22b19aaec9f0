"""Orchestration of the benchmark suites: the CLI, the suite contract and registry, jobs, the runner, record sinks,
executors and the training engine; each suite's own code lives in ``benchmark/suites/<name>/``.

Entry point: ``python -m benchmark --help``; see ``docs/architecture.md``.
"""

__version__ = "0.1.0"
