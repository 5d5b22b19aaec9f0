"""Executors: how a list of jobs is run. The runner plans, skips and reports; an executor only runs.

An :class:`Executor` calls ``fn(job, progress=..., on_progress=...)`` for every job (``fn`` is the runner's
``run_job`` bound to the output folder, record sink and device: a picklable ``functools.partial``) and yields
each :class:`~benchmark.jobs.JobOutcome` as it finishes. :class:`~benchmark.executors.local.LocalExecutor`
runs them in this process or in a local process pool; executors for Slurm (submitit) and Dask implement the
same method and pair with a :class:`~benchmark.sinks.JsonlSink`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

from benchmark.jobs import Job, JobOutcome

__all__ = ["Executor", "JobFunction"]

JobFunction = Callable[..., JobOutcome]  # fn(job, *, progress: bool, on_progress) -> JobOutcome, never raises


class Executor(ABC):
    """Runs jobs and yields their outcomes in the order they finish."""

    @abstractmethod
    def map(self, fn: JobFunction, jobs: Sequence[Job], *, progress: bool = True,
            warm_up: Callable[[], None] | None = None) -> Iterator[JobOutcome]:
        """Run ``fn`` on every job; a job whose worker dies yields a ``failed`` outcome, never stops the others.

        ``warm_up()``, when given, prepares what the jobs share (the suites' ``warm_up``); an executor calls it
        once where it helps the workers (the local one: in this process, before the first job)."""

    def describe(self) -> str:
        """One line on how the jobs run (printed before a run); empty when there is nothing to say."""
        return ""
