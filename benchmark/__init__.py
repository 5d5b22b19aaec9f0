"""Orchestration of the benchmark suite: CLI, suites, models, training loop, jobs and executors.

Entry point: ``python -m benchmark --help``.
"""

__version__ = "0.1.0"
