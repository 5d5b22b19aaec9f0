"""Executors: how a list of jobs is run. The runner plans, skips and reports; an executor only runs.

An :class:`Executor` calls ``fn(job, progress=..., on_progress=...)`` for every job (``fn`` is the runner's
``run_job`` bound to the output folder, record sink and device: a picklable ``functools.partial``) and yields
each :class:`~benchmark.jobs.JobOutcome` as it finishes. :class:`~benchmark.executors.local.LocalExecutor`
runs them in this process or in a local process pool; :class:`~benchmark.executors.slurm.SlurmExecutor`
(submitit) and :class:`~benchmark.executors.dask.DaskExecutor` (``distributed``) run them on a cluster. Those are
``remote``: their workers never open the SQLite store but write through a :class:`~benchmark.sinks.JsonlSink`
into the sweep folder, and the runner imports the files into the store as jobs finish.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

from benchmark.jobs import Job, JobOutcome

__all__ = ["Executor", "JobFunction", "StateCallback"]

JobFunction = Callable[..., JobOutcome]  # fn(job, *, progress: bool, on_progress) -> JobOutcome, never raises
StateCallback = Callable[[int, int], None]  # on_state(running, queued): jobs on a worker now, jobs waiting for one


class Executor(ABC):
    """Runs jobs and yields their outcomes in the order they finish."""

    #: True when the jobs run in processes that must not write the SQLite store (other machines, a network file
    #: system): the runner then gives ``fn`` a :class:`~benchmark.sinks.JsonlSink` and imports what it writes.
    remote: bool = False

    @abstractmethod
    def map(self, fn: JobFunction, jobs: Sequence[Job], *, progress: bool = True,
            warm_up: Callable[[], None] | None = None,
            on_state: StateCallback | None = None) -> Iterator[JobOutcome]:
        """Run ``fn`` on every job; a job whose worker dies yields a ``failed`` outcome, never stops the others.

        ``warm_up()``, when given, prepares what the jobs share (the suites' ``warm_up``); an executor calls it
        once where it helps the workers (the local one: in this process, before the first job).
        ``on_state(running, queued)``, when given, is called whenever the executor learns how many of the jobs
        not yet finished are running and how many wait (the sweep's progress line)."""

    def describe(self) -> str:
        """One line on how the jobs run (printed before a run); empty when there is nothing to say."""
        return ""
