"""The Dask executor: every job one task on a Dask cluster (``distributed``), outcomes yielded as they finish.

:class:`DaskExecutor` runs jobs on the workers of a Dask scheduler: a ``LocalCluster`` of worker processes that
it starts on this machine for the run (``scheduler=None``), or a running cluster (``scheduler="tcp://host:port"``,
started with ``dask scheduler`` and ``dask worker tcp://host:port --nworkers N --nthreads 1`` on the nodes).
It is ``remote``: the workers never open the SQLite store, they write every job's records through a
:class:`~benchmark.sinks.JsonlSink` (one atomically written JSON Lines file per attempt) into the sweep folder,
and the runner imports those files. So the workers need the ``--out`` folder on a file system they share with
the driver (the same path on every node), and an environment where ``benchmark`` imports.

**At least once.** Dask may run a task more than once: it reruns the tasks of a worker that died, and a worker
may die after its job wrote its records but before the scheduler heard of the result (the job runs again). That is safe here: a record's id is the hash of its identity (the job and the
metric, never the attempt), an attempt writes a file of its own, and ``import_results`` replaces a job's
records with a later attempt's, so the store holds each planned record once, never a duplicate.

**Failures.** ``run_job`` never raises for a failing job (it writes ``failed`` records); what can still fail is
the worker process (out of memory, a lost node). The scheduler retries such a task on another worker until it
has seen ``distributed.scheduler.allowed-failures`` of them die (3 by default), then gives up with a
``KilledWorker`` error; ``retries`` retries a task that raised. Either way the job yields a ``failed`` outcome
and the other jobs go on. Since a dying worker counts against every task the scheduler had sent it, the
executor keeps only as many jobs on the cluster as its workers have free slots (threads, or GPUs with
``gpus_per_job``); the others wait in the driver, so a job that kills its workers takes no innocent one with it (only jobs running beside it on a worker of
several threads share its fate).
(An adaptive cluster therefore sees only the jobs in flight: start its workers with ``scale``, not ``adapt``.)

**Stopping and resuming.** Dask cannot stop a task that runs: when the driver stops (Ctrl-C, a lost login
node), the scheduler forgets the sweep's tasks but the workers finish the ones they are running, which write their
records as usual. A task's key is the same in every run (:func:`_key`), so a later run on the same scheduler finds
them: with ``resume=True`` it waits for them instead of submitting them again (two copies would race for one
training checkpoint), and without it refuses to start. A ``LocalCluster`` ends with its driver: nothing is left.

Each worker gets ``threads_per_worker`` CPU threads for torch, BLAS and the numba metric kernels (a worker
plugin, like the local pool's ``_worker_init``). Jobs run without progress bars (``progress=False``);
``on_state(running, queued)`` follows them, read from the scheduler every ``poll_seconds``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from distributed.diagnostics.plugin import WorkerPlugin

from benchmark.executors import Executor, JobFunction, StateCallback
from benchmark.jobs import Job, JobOutcome

__all__ = ["DaskExecutor"]

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
_PLUGIN_NAME = "benchmark-worker-threads"


class _WorkerThreads(WorkerPlugin):
    """Gives each worker ``threads`` CPU threads and, on a local cluster with GPUs, its own share of the visible
    GPUs (``gpus``: worker name -> ``CUDA_VISIBLE_DEVICES``); set up on every worker, restarted ones too."""

    def __init__(self, threads: int, gpus: dict | None = None) -> None:
        self.threads = threads
        self.gpus = dict(gpus or {})

    def setup(self, worker) -> None:
        # the environment, read when torch (OpenMP) and numba first load in this fresh worker process, and by the
        # numba threads of every task thread (numba.set_num_threads would only set the calling thread's)
        for var in _THREAD_VARS:
            os.environ[var] = str(self.threads)
        torch = sys.modules.get("torch")
        if torch is not None:  # already loaded (a preload): set it directly
            torch.set_num_threads(self.threads)
        if worker.name in self.gpus:
            os.environ["CUDA_VISIBLE_DEVICES"] = self.gpus[worker.name]


def _visible_gpus() -> list[str]:
    """The CUDA devices this process sees, as ``CUDA_VISIBLE_DEVICES`` entries."""
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return listed[:n] if len(listed) >= n else [str(i) for i in range(n)]


def _local_gpus(n_workers: int, gpus_per_job: int) -> tuple[int, dict[int, str]]:
    """GPUs per local worker and each worker's ``CUDA_VISIBLE_DEVICES``: the visible GPUs shared out evenly."""
    devices = _visible_gpus()
    if not devices:
        raise ValueError(f"gpus_per_job={gpus_per_job} but this machine has no visible CUDA GPU; run with "
                         f"gpus_per_job=0 (CPU), or give a scheduler whose workers have GPUs (--resources GPU=1).")
    per_worker = len(devices) // n_workers
    if per_worker < gpus_per_job:
        raise ValueError(f"gpus_per_job={gpus_per_job} with {n_workers} local workers needs "
                         f"{gpus_per_job * n_workers} GPUs; this machine has {len(devices)} visible "
                         f"({','.join(devices)}); use n_workers <= {len(devices) // gpus_per_job}.")
    return per_worker, {i: ",".join(devices[i * per_worker:(i + 1) * per_worker]) for i in range(n_workers)}


def _key(job: Job) -> str:
    """The task key of a job: the same in every run, so a later run finds the task a stopped one left executing
    (and two drivers submitting one job at once share its task)."""
    return f"benchmark-{job.label}-{job.job_id[:16]}"


def _executing_keys(dask_worker) -> list[str]:
    """On a worker: the keys of the tasks its threads are running, those whose client went away included (the
    scheduler forgets them, the worker cannot stop them: state ``cancelled`` after ``executing``)."""
    running = ("executing", "long-running")
    return [str(ts.key) for ts in dask_worker.state.tasks.values()
            if ts.state in running or (ts.state in ("cancelled", "resumed") and ts.previous in running)]


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class DaskExecutor(Executor):
    """Jobs as tasks on a Dask cluster: a ``LocalCluster`` of ``n_workers`` processes with
    ``threads_per_worker`` threads started for the run (``scheduler=None``), or the cluster at ``scheduler``.

    ``retries``: times a task that raised is rerun (a worker's death is retried by the scheduler, up to its
    ``distributed.scheduler.allowed-failures``). ``gpus_per_job``: the task needs that many units of the workers'
    ``GPU`` resource (``dask worker ... --resources GPU=1``; a local cluster shares out the visible GPUs).
    ``poll_seconds``: how often the cluster's state is read for ``on_state``. ``connect_timeout``: seconds to
    reach ``scheduler``. ``resume``: wait for the jobs an earlier, stopped run left executing on the workers of
    ``scheduler`` instead of refusing to start."""

    remote = True

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
                 retries: int = 2, gpus_per_job: int = 0, poll_seconds: float = 1.0,
                 connect_timeout: float = 30.0, resume: bool = False) -> None:
        for name, value, least in (("n_workers", n_workers, 1), ("threads_per_worker", threads_per_worker, 1),
                                   ("retries", retries, 0), ("gpus_per_job", gpus_per_job, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}; got {value!r}.")
        if not poll_seconds > 0 or not connect_timeout > 0:
            raise ValueError(f"poll_seconds and connect_timeout must be > 0; got {poll_seconds!r}, "
                             f"{connect_timeout!r}.")
        if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
            raise ValueError(f"scheduler must be an address like tcp://host:8786 (or None for a local cluster); "
                             f"got {scheduler!r}.")
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.retries = retries
        self.gpus_per_job = gpus_per_job
        self.poll_seconds = float(poll_seconds)
        self.connect_timeout = float(connect_timeout)
        self.resume = resume

    def describe(self) -> str:
        where = (f"LocalCluster of {self.n_workers} worker{'s' if self.n_workers != 1 else ''} x "
                 f"{self.threads_per_worker} thread{'s' if self.threads_per_worker != 1 else ''}"
                 if self.scheduler is None else f"scheduler {self.scheduler}")
        gpus = f", {self.gpus_per_job} GPU{'s' if self.gpus_per_job != 1 else ''} per job" if self.gpus_per_job else ""
        return f"dask: {where}, {self.retries} retries{gpus}"

    # -- the cluster ---------------------------------------------------------------------------
    def _connect(self, stack: contextlib.ExitStack):
        """A client of the run's cluster; the cluster (when started here) and the client close with ``stack``."""
        from distributed import Client, LocalCluster

        gpus = None
        if self.scheduler is None:
            resources = None
            if self.gpus_per_job:
                per_worker, gpus = _local_gpus(self.n_workers, self.gpus_per_job)
                resources = {"GPU": per_worker}
            cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                                   processes=True, dashboard_address=None, host="127.0.0.1", resources=resources)
            stack.callback(cluster.close)
            client = Client(cluster)
        else:
            try:
                client = Client(self.scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise ValueError(
                    f"could not reach the Dask scheduler at {self.scheduler} within {self.connect_timeout:g} s "
                    f"({_error(exc)}); start one with `dask scheduler`, then its workers with `dask worker "
                    f"{self.scheduler} --nworkers N --nthreads 1"
                    f"{f' --resources GPU={self.gpus_per_job}' if self.gpus_per_job else ''}` "
                    f"(with --out on a file system they share), and pass its address.") from None
        stack.callback(client.close)
        client.register_plugin(_WorkerThreads(self.threads_per_worker, gpus), name=_PLUGIN_NAME)
        return client

    def _slots(self, client) -> dict[str, int]:
        """Jobs each worker can run at once: its threads, or with ``gpus_per_job`` its GPUs' worth (at most its
        threads)."""
        slots = {}
        for address, info in client.scheduler_info(n_workers=-1).get("workers", {}).items():
            n = int(info.get("nthreads", 1))
            if self.gpus_per_job:
                n = min(n, int(float((info.get("resources") or {}).get("GPU", 0)) // self.gpus_per_job))
            slots[address] = n
        return slots

    # -- running -------------------------------------------------------------------------------
    def map(self, fn: JobFunction, jobs: Sequence[Job], *, progress: bool = True,
            warm_up: Callable[[], None] | None = None,
            on_state: StateCallback | None = None) -> Iterator[JobOutcome]:
        jobs = list(jobs)
        if not jobs:
            return
        with contextlib.ExitStack() as stack:  # closes the client, then the cluster: also on an early stop
            client = self._connect(stack)
            left = self._left_executing(client, jobs)
            if left and not self.resume:
                raise ValueError(
                    f"{len(left)} of these {len(jobs)} jobs are still executing on the workers of {self.scheduler} "
                    f"from an earlier run of this sweep ({', '.join(sorted(j.label for j in left.values())[:3])}"
                    f"{' ...' if len(left) > 3 else ''}): pass --resume to wait for them, or restart the workers.")
            if warm_up is not None:
                warm_up()  # here, once, before the first job is sent
            if left:
                yield from self._wait_for(client, list(left.values()), on_state)
                jobs = [j for j in jobs if j.job_id not in left]
            yield from self._run(client, fn, jobs, on_state)

    def _left_executing(self, client, jobs: list[Job]) -> dict[str, Job]:
        """The jobs whose task an earlier run left executing on a worker (by task key): its driver stopped, and
        Dask cannot stop a running task, so it still runs and will write its records. Empty for a local cluster."""
        if self.scheduler is None:
            return {}
        keys = {_key(j): j for j in jobs}
        executing = set().union(*client.run(_executing_keys).values()) if keys else set()
        return {keys[k].job_id: keys[k] for k in executing if k in keys}

    def _wait_for(self, client, jobs: list[Job], on_state: StateCallback | None) -> Iterator[JobOutcome]:
        """Wait until the tasks of ``jobs`` (left by a stopped run) stop executing; each job then yields ``ok``:
        the runner checks that its records arrived (and counts it failed if not)."""
        start = time.perf_counter()
        pending = {_key(j): j for j in jobs}
        while pending:
            executing = set().union(*client.run(_executing_keys).values())
            for key in [k for k in pending if k not in executing]:
                yield JobOutcome(pending.pop(key), "ok", time.perf_counter() - start)
            if on_state is not None:
                on_state(len(pending), 0)
            if pending:
                time.sleep(self.poll_seconds)

    def _run(self, client, fn: JobFunction, jobs: list[Job], on_state: StateCallback | None) -> Iterator[JobOutcome]:
        from distributed import as_completed

        waiting = deque(jobs)  # not sent yet
        sent: dict = {}  # future -> (job, time sent)
        done = as_completed()
        last_state: tuple[int, int] | None = None
        slots: dict[str, int] = {}
        next_poll = 0.0
        try:
            while waiting or sent:
                now = time.monotonic()
                if now >= next_poll:
                    slots = self._slots(client)
                    if on_state is not None:
                        state = self._state(client, sent, slots, len(waiting))
                        if state != last_state:
                            on_state(*state)
                            last_state = state
                    next_poll = now + self.poll_seconds
                while waiting and len(sent) < max(sum(slots.values()), 1):
                    job = waiting.popleft()
                    future = client.submit(fn, job, progress=False, key=_key(job),
                                           pure=False, retries=self.retries,
                                           resources={"GPU": self.gpus_per_job} if self.gpus_per_job else None)
                    sent[future] = (job, time.perf_counter())
                    done.add(future)
                if not done.has_ready():
                    with done.thread_condition:
                        done.thread_condition.wait(timeout=min(0.1, self.poll_seconds))
                    continue
                for future in done.next_batch(block=False):
                    job, start = sent.pop(future)
                    yield self._outcome(future, job, start)
                    future.release()
            if on_state is not None and last_state != (0, 0):
                on_state(0, 0)
        finally:
            if sent:  # stopped early: take the unfinished jobs off the cluster
                with contextlib.suppress(Exception):
                    client.cancel(list(sent), force=True)

    @staticmethod
    def _outcome(future, job: Job, start: float) -> JobOutcome:
        """The job's outcome; a task that raised or whose workers died (``KilledWorker``) fails its job only."""
        seconds = time.perf_counter() - start
        try:
            if future.status == "finished":
                return future.result()
            exc = future.exception() if future.status == "error" else None
            error = _error(exc) if exc is not None else f"the task was {future.status}"
        except Exception as exc:  # noqa: BLE001 (a lost scheduler, a result that cannot be unpickled)
            error = _error(exc)
        return JobOutcome(job, "failed", seconds, error)

    @staticmethod
    def _state(client, sent: dict, slots: dict[str, int], n_waiting: int) -> tuple[int, int]:
        """(running, queued): this run's unfinished jobs executing on a worker, and the others."""
        keys = {f.key for f in sent}
        running = 0
        for address, processing in client.processing().items():
            mine = sum(1 for k in processing if k in keys)
            running += min(mine, slots.get(address, mine))
        return running, len(sent) + n_waiting - running
