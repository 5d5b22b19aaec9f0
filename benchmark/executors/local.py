"""The local executor: jobs one after the other in this process, or side by side in a local process pool.

In a pool every worker gets an equal share of the cores (torch and numba threads) and dies with the run that
started it; each job running in a worker shows a progress bar of its own, fed through a manager queue.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from tqdm.auto import tqdm

from benchmark.executors import Executor, JobFunction, StateCallback
from benchmark.jobs import Job, JobOutcome

__all__ = ["LocalExecutor", "auto_workers", "worker_threads"]


def worker_threads(n_workers: int) -> int:
    """CPU threads (torch and numba) of each of ``n_workers`` worker processes: an equal share of the cores."""
    return max(1, (os.cpu_count() or 1) // max(n_workers, 1))


PARENT_POLL_SECONDS = 1.0  # how often a helper process checks that the run that started it is alive


def _exit_with_parent(poll: float = PARENT_POLL_SECONDS) -> None:
    """Make this helper process (pool worker, progress manager) exit soon after its parent dies.

    Without it, killing the ``run`` process with SIGKILL (or the OOM killer) leaves the workers
    training and the manager idling, orphaned, until killed by hand. A daemon thread polls the parent
    pid (portable, unlike Linux's PR_SET_PDEATHSIG); the worker's job resumes from its last
    checkpoint on the next run, and a store write in flight is rolled back by SQLite.
    """
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_init(threads: int) -> None:
    """Give each worker its share of the cores, for torch and for the numba metric kernels alike, and
    tie its life to the run's."""
    import numba
    import torch

    _exit_with_parent()
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


@contextlib.contextmanager
def _cpu_threads(threads: int | None):
    """Run the block with ``threads`` numba threads (None: as they are), then restore them."""
    import numba

    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _run_in_worker(fn: JobFunction, job: Job, progress_queue=None) -> JobOutcome:
    def report(done: int, total: int, rate: float) -> None:
        progress_queue.put((job.label, done, total, rate))

    return fn(job, progress=False, on_progress=report if progress_queue is not None else None)


def _start_manager(ctx):
    """A manager process for the progress queue, or None where one cannot start (then only the jobs bar shows)."""
    from multiprocessing.managers import SyncManager

    manager = SyncManager(ctx=ctx)
    try:
        manager.start(_exit_with_parent)
        return manager
    except (OSError, EOFError):  # e.g. a main module that spawn cannot re-import (a script read from stdin)
        return None


class _WorkerBars:
    """One progress bar per job running in a worker, fed by (label, done, total, steps/s) messages."""

    def __init__(self, queue, n_slots: int) -> None:
        self.queue = queue
        self.free = list(range(n_slots, 0, -1))  # tqdm positions below the jobs bar
        self.bars: dict[str, tuple[tqdm, int]] = {}

    def drain(self) -> None:
        import queue as queue_module

        while True:
            try:
                label, done, total, rate = self.queue.get_nowait()
            except queue_module.Empty:
                return
            if label not in self.bars:
                if not self.free:
                    continue
                slot = self.free.pop()
                bar = tqdm(total=total, desc=f"  {label}", unit="step", leave=False, position=slot, dynamic_ncols=True,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
                self.bars[label] = (bar, slot)
            bar, _ = self.bars[label]
            bar.n = done
            bar.set_postfix_str(f"{rate:.1f} steps/s", refresh=True)

    def finish(self, label: str) -> None:
        if label in self.bars:
            bar, slot = self.bars.pop(label)
            bar.close()
            self.free.append(slot)

    def close(self) -> None:
        for label in list(self.bars):
            self.finish(label)


def _outcome_of(fut, job: Job) -> JobOutcome:
    """A finished future's outcome; a worker that died (killed, out of memory) fails its job, not the run."""
    try:
        return fut.result()
    except Exception as exc:  # BrokenProcessPool, or an error that escaped run_job
        return JobOutcome(job, "failed", 0.0, f"the worker process running it died or raised "
                          f"({type(exc).__name__}: {exc}); rerun the suite to retry this job")


def auto_workers(n_jobs: int, device: str = "auto") -> int:
    """Workers for ``--jobs auto``: one per CPU core (at most one per job) when training runs on the CPU, where
    single-threaded workers side by side beat one multi-threaded process on small networks (on 2 cores: 1.7x-2.1x the
    steps per second at batch 32, ``benchmarks/worker_speed.py``); one on a GPU, which a second process would
    only share."""
    from benchmark.training import resolve_device

    if resolve_device(device).type != "cpu":
        return 1
    return max(1, min(n_jobs, os.cpu_count() or 1))


class LocalExecutor(Executor):
    """``n_workers`` <= 1: every job in this process, one after the other (with its own training progress bar);
    more: a pool of ``n_workers`` spawned processes, each with ``worker_threads(n_workers)`` CPU threads."""

    def __init__(self, n_workers: int = 1) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be an integer >= 1; got {n_workers!r}.")
        self.n_workers = n_workers

    def job_threads(self, n_jobs: int) -> int | None:
        """CPU threads each of ``n_jobs`` jobs runs with: a worker's share of the cores in a pool, None (this
        process's setting) when they run here."""
        return worker_threads(min(self.n_workers, n_jobs)) if self.n_workers > 1 and n_jobs > 1 else None

    def describe(self) -> str:
        if self.n_workers <= 1:
            return ""
        return (f"{self.n_workers} worker processes, {worker_threads(self.n_workers)} CPU thread(s) each "
                f"(--jobs 1: one process)")

    def map(self, fn: JobFunction, jobs: Sequence[Job], *, progress: bool = True,
            warm_up: Callable[[], None] | None = None,
            on_state: StateCallback | None = None) -> Iterator[JobOutcome]:
        pooled = self.n_workers > 1 and len(jobs) > 1
        if warm_up is not None and jobs:
            # here, once, with the threads each job will have: numba's cache then holds the kernels every worker
            # loads (the parallel kernels too), instead of each worker compiling the same ones at the same time
            with _cpu_threads(self.job_threads(len(jobs))):
                warm_up()
        if not pooled:
            for job in jobs:
                yield fn(job, progress=progress, on_progress=None)
            return
        yield from self._pool(fn, list(jobs), progress)

    def _pool(self, fn: JobFunction, jobs: list[Job], progress: bool) -> Iterator[JobOutcome]:
        import multiprocessing as mp

        n_workers = min(self.n_workers, len(jobs))
        ctx = mp.get_context("spawn")
        manager = _start_manager(ctx) if progress else None
        worker_bars = _WorkerBars(manager.Queue(), n_workers) if manager else None
        try:
            with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init,
                                     initargs=(worker_threads(n_workers),)) as pool:
                queue = worker_bars.queue if worker_bars else None
                futures = {pool.submit(_run_in_worker, fn, job, queue): job for job in jobs}
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    if worker_bars:
                        worker_bars.drain()
                    for fut in finished:
                        if worker_bars:
                            worker_bars.finish(futures[fut].label)
                        yield _outcome_of(fut, futures[fut])
        finally:
            if worker_bars:
                worker_bars.close()
            if manager:
                manager.shutdown()
