"""The Slurm executor: a sweep's jobs as one Slurm job array, through submitit (or submitit's local processes).

:class:`SlurmExecutor` submits every job of a sweep as one task of a Slurm job array (``submitit.SlurmExecutor``,
``#SBATCH --array=0-{n-1}%{array_parallelism}``), polls the jobs, and yields each job's
:class:`~benchmark.jobs.JobOutcome` as it finishes. The workers write their records through the runner's
:class:`~benchmark.sinks.JsonlSink`, never into the SQLite store. With ``local=True`` the same code runs on
submitit's ``LocalExecutor`` (one process per job, at most ``array_parallelism`` at once), which is how the
tests exercise it without a cluster.

**Preemption and timeouts.** Every job is submitted as a :class:`_SweepTask`, a ``submitit.helpers.Checkpointable``.
When Slurm preempts a job, or its time limit is near, it sends the job ``USR2`` (``--signal=USR2@90``); submitit's
handler in the worker pickles the same call again and requeues the job (``scontrol requeue``; locally: the task
exits with code 144 and submitit's controller starts it again), up to 3 time-outs. The requeued call runs the
same job, whose training resumes from the checkpoint in its run folder, so a preempted job is neither reported
failed nor restarted from step zero; the driver keeps waiting for it under the same Slurm id. A job whose process
dies without a result (out of memory, a lost node, an exception outside ``run_job``) is submitted again, up to
``max_attempts`` attempts; then it is yielded as ``failed``, naming the error and its log file.

**Folders.** ``folder`` is the sweep folder and must be on a file system the driver and every node share (the
workers read their pickled call from it and write their result and records into it; a node-local ``/tmp`` fails
silently). submitit's own files (the sbatch file, the pickled call and result, stdout and stderr of each job)
go to ``folder/logs/%j``, which for the tasks of an array is ``folder/logs/%A_%a`` (a resubmitted single job gets
``folder/logs/<id>``; the local backend ``folder/logs/<pid>-<token>``, so that a reused pid never meets an old
result).

**Re-attach.** ``folder/handles.json`` maps each job's ``job_id`` to its submitit id, attempt, label and backend;
it is rewritten atomically after every submission. A new ``map`` on the same folder reads it first: a job whose
handle is still live (Slurm: ``PENDING``, ``RUNNING``, ``REQUEUED``, ``CONFIGURING``, ``COMPLETING`` or ``SUSPENDED``
in ``sacct``; local: its controller process is alive and it left no result) is attached and waited for, not
submitted again, when ``resume=True``; with ``resume=False`` ``map`` refuses to start (a ValueError naming the ids
to cancel), since a second copy of a running job would race it for its checkpoint. Jobs whose handle is finished,
dead or absent are submitted. Attempts are counted per ``map``: a job submitted again in a later run starts at 1.

**The local backend.** submitit's local controller process (the job's pid) starts the task process and restarts
it when it exits for a requeue; the task dies with its controller (``PR_SET_PDEATHSIG``), so a controller killed
by hand or by submitit's ``LocalJob._interrupt()`` (in submitit 1.5 it sends ``USR2`` to the controller, which
dies of it) is a dead job, submitted again, never two copies of one job side by side. Locally only
``gpus_per_job`` GPUs are visible to a job (submitit sets ``CUDA_VISIBLE_DEVICES``; 0: none). :meth:`preempt`
sends ``USR2`` to a live job's task, as Slurm does. Workers get this driver's copy of the code first on their
``PYTHONPATH``, on both backends.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.executors import Executor, JobFunction, StateCallback
from benchmark.jobs import Job, JobOutcome

__all__ = ["SlurmExecutor", "LIVE_SLURM_STATES"]

#: Slurm states of a job that is still going to run (or running): its handle is attached, not resubmitted.
LIVE_SLURM_STATES = frozenset({"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED"})
_RUNNING_SLURM_STATES = frozenset({"RUNNING", "COMPLETING", "CONFIGURING"})
# states sacct shows before it knows a job, or between a preemption and the requeue: not ended
_NOT_ENDED_SLURM_STATES = LIVE_SLURM_STATES | {"UNKNOWN", "READY", "PREEMPTED", ""}
SLURM_POLL_SECONDS = 10.0
LOCAL_POLL_SECONDS = 0.5
RESULT_GRACE_SECONDS = 60.0  # Slurm: how long an ended job's result pickle may take to show up on a shared FS
HANDLES = "handles.json"
MAX_ARRAY_SIZE = 1001  # Slurm's default MaxArraySize: a larger sweep is submitted as several arrays


try:  # submitit is the cluster extra: without it this module imports, and SlurmExecutor() says what to install
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover
    _Checkpointable = object  # type: ignore[assignment,misc]


class _SweepTask(_Checkpointable):  # type: ignore[misc,valid-type]
    """What a worker runs: ``fn(job, progress=False)``. A ``Checkpointable``: on preemption or timeout submitit
    pickles this same call again and requeues it; the job then resumes from its training checkpoint."""

    def __init__(self, fn: JobFunction, job: Job, threads: int | None = None) -> None:
        self.fn = fn
        self.job = job
        self.threads = threads

    def __call__(self) -> JobOutcome:
        if os.environ.get("SUBMITIT_EXECUTOR") == "local":
            _die_with_parent()
        if self.threads:  # the job's share of the cores, for torch and the numba metric kernels alike
            import numba
            import torch

            torch.set_num_threads(self.threads)
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
        return self.fn(self.job, progress=False)


def _die_with_parent() -> None:
    """In a local worker: die when submitit's controller process (our parent, the job's pid) dies, so that a
    killed job never leaves its task running beside the attempt that replaces it (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    controller = os.environ.get("SUBMITIT_LOCAL_JOB_ID")
    if controller and controller.isdigit() and os.getppid() != int(controller):  # it died before the call above
        os._exit(1)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a Linux process, None when it does not exist; raises OSError without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1])


def _pid_alive(pid: int) -> bool:
    """Whether the submitit controller with this pid still runs (not a zombie, not a reused pid)."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    stat = _proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X", "x"):
        return False
    try:
        return b"submitit" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _child_pids(pid: int) -> list[int]:
    """The pids of the processes whose parent is ``pid`` (Linux)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] == pid:
                out.append(int(entry.name))
    return out


def _run_dir(fn: JobFunction, job: Job) -> str | None:
    """The job's run folder, when ``fn`` is the runner's ``run_job`` bound to an output folder."""
    out = getattr(fn, "keywords", {}).get("out")
    return str(job.run_dir(Path(out))) if out is not None else None


def _first_word(state: str) -> str:
    return (state or "").split(" ")[0].strip().upper()


@dataclass
class _Running:
    """One submitted attempt of a job that the driver waits for."""

    job: Job
    attempt: int
    handle: Any  # submitit Job (LocalJob or SlurmJob)
    backend: str
    first_submitted: float
    ended_at: float | None = None

    @property
    def submitit_id(self) -> str:
        return str(self.handle.job_id)


class SlurmExecutor(Executor):
    """Runs a sweep's jobs as one Slurm job array through submitit (``local=True``: submitit's local processes).

    ``folder``: the sweep folder, on a file system shared by the driver and the nodes. ``partition``,
    ``gpus_per_job`` (``--gpus-per-node``), ``cpus_per_job`` (``--cpus-per-task``), ``mem_gb`` (``--mem``),
    ``time_min`` (``--time``; also the local backend's timeout), ``array_parallelism`` (``%N`` of ``--array``: how
    many jobs run at once; locally: how many processes), ``slurm_extra`` (``{"account": "proj"}`` ->
    ``#SBATCH --account=proj``). ``resume``: attach to the live jobs recorded in ``folder/handles.json`` instead of
    refusing to start. ``max_attempts``: submissions of a job whose process dies before it is reported failed.
    ``poll_seconds``: how often the jobs are polled (default 10 s on Slurm, 0.5 s locally). ``max_array_size``:
    the most tasks of one array (Slurm's ``MaxArraySize``, 1001 by default); a larger sweep is submitted as several
    arrays, each running ``array_parallelism`` tasks at once.
    """

    remote = True

    def __init__(self, folder: str | os.PathLike[str], *, partition: str | None = None, gpus_per_job: int = 0,
                 cpus_per_job: int | None = None, mem_gb: float | None = None, time_min: int = 240,
                 array_parallelism: int = 32, slurm_extra: dict[str, str] | None = None, local: bool = False,
                 resume: bool = False, max_attempts: int = 3, poll_seconds: float | None = None,
                 max_array_size: int = MAX_ARRAY_SIZE) -> None:
        def positive_int(name: str, value: Any, minimum: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")

        if _Checkpointable is object:  # pragma: no cover
            raise ImportError("SlurmExecutor needs submitit: pip install 'disentanglement-benchmark[cluster]'.")
        positive_int("gpus_per_job", gpus_per_job, 0)
        positive_int("time_min", time_min)
        positive_int("array_parallelism", array_parallelism)
        positive_int("max_attempts", max_attempts)
        positive_int("max_array_size", max_array_size)
        if cpus_per_job is not None:
            positive_int("cpus_per_job", cpus_per_job)
        if mem_gb is not None and not mem_gb > 0:
            raise ValueError(f"mem_gb must be > 0; got {mem_gb!r}.")
        if poll_seconds is not None and not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be > 0; got {poll_seconds!r}.")
        extra = dict(slurm_extra or {})
        for key, value in extra.items():
            if not isinstance(key, str) or not key or key.startswith("-") or "=" in key:
                raise ValueError(f"slurm_extra keys are sbatch option names without dashes (account, qos, ...); "
                                 f"got {key!r}.")
            if not isinstance(value, str):
                raise ValueError(f"slurm_extra values must be strings; got {key}={value!r}.")
        self.folder = Path(folder).expanduser().absolute()
        self.partition = partition
        self.gpus_per_job = gpus_per_job
        self.cpus_per_job = cpus_per_job
        self.mem_gb = mem_gb
        self.time_min = time_min
        self.array_parallelism = array_parallelism
        self.slurm_extra = extra
        self.local = local
        self.resume = resume
        self.max_attempts = max_attempts
        self.max_array_size = max_array_size
        self.poll_seconds = float(poll_seconds) if poll_seconds is not None else (
            LOCAL_POLL_SECONDS if local else SLURM_POLL_SECONDS)
        #: job_id -> the submitit job of every job this executor waits for now (attached or submitted); tests
        #: reach a live job through it (``preempt``)
        self.live: dict[str, Any] = {}
        self._handles: dict[str, dict] = {}

    # ----------------------------------------------------------------------------------------------- describe

    @property
    def backend(self) -> str:
        return "local" if self.local else "slurm"

    @property
    def handles_path(self) -> Path:
        return self.folder / HANDLES

    @property
    def logs_folder(self) -> Path:
        return self.folder / "logs"

    def describe(self) -> str:
        if self.local:
            return (f"submitit local processes, at most {self.array_parallelism} at once, {self.time_min} min each "
                    f"(GPUs visible: {self.gpus_per_job}); logs in {self.logs_folder}")
        parts = [f"partition {self.partition}" if self.partition else "the default partition",
                 f"{self.gpus_per_job} GPU(s)"]
        if self.cpus_per_job:
            parts.append(f"{self.cpus_per_job} CPU(s)")
        if self.mem_gb:
            parts.append(f"{self.mem_gb:g} GB")
        parts.append(f"{self.time_min} min")
        extra = "".join(f", --{k.replace('_', '-')}={v}" for k, v in sorted(self.slurm_extra.items()))
        return (f"Slurm job array on {', '.join(parts)} per job, at most {self.array_parallelism} at once{extra}; "
                f"logs in {self.logs_folder}")

    # ----------------------------------------------------------------------------------------------- sbatch

    def _slurm_parameters(self) -> dict[str, Any]:
        from submitit.slurm.slurm import _convert_mem

        params: dict[str, Any] = {"job_name": "benchmark", "time": self.time_min,
                                  "array_parallelism": self.array_parallelism}
        if self.partition:
            params["partition"] = self.partition
        if self.gpus_per_job:
            params["gpus_per_node"] = self.gpus_per_job
        if self.cpus_per_job:
            params["cpus_per_task"] = self.cpus_per_job
        if self.mem_gb:
            params["mem"] = _convert_mem(self.mem_gb)
        if self.slurm_extra:
            params["additional_parameters"] = dict(self.slurm_extra)
        return params

    def sbatch_script(self, n_jobs: int) -> str:
        """The sbatch file submitit would write to submit ``n_jobs`` jobs (an array when ``n_jobs`` > 1, as
        submitit submits a single call as a plain job; the first of several arrays when ``n_jobs`` exceeds
        ``max_array_size``); needs no Slurm."""
        from submitit.slurm.slurm import _make_sbatch_string

        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be an integer >= 1; got {n_jobs!r}.")
        folder = self.logs_folder / "%j"
        command = " ".join([shlex.quote(sys.executable), "-u -m submitit.core._submit", shlex.quote(str(folder))])
        n_jobs = min(n_jobs, self.max_array_size)  # the first array of a sweep larger than MaxArraySize
        return _make_sbatch_string(command=command, folder=folder, map_count=n_jobs if n_jobs > 1 else None,
                                   **self._slurm_parameters())

    # ----------------------------------------------------------------------------------------------- handles

    def _read_handles(self) -> dict[str, dict]:
        try:
            data = json.loads(self.handles_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.handles_path} cannot be read ({type(exc).__name__}: {exc}); move it away to "
                             f"submit every job again.") from exc
        return data if isinstance(data, dict) else {}

    def _write_handles(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.handles_path.with_name(f".{HANDLES}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(self._handles, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.handles_path)

    def _record(self, run: _Running) -> None:
        self._handles[run.job.job_id] = {"submitit_id": run.submitit_id, "attempt": run.attempt,
                                         "label": run.job.label, "backend": run.backend,
                                         "folder": str(run.handle.paths.folder if run.backend == "local"
                                                       else self.logs_folder / "%j"),
                                         "submitted": time.time()}

    def _handle_job(self, entry: dict) -> Any:
        """The submitit job of a recorded handle (rebuilt: a local one has no process object)."""
        folder = entry.get("folder") or str(self.logs_folder / "%j")
        if entry.get("backend") == "local":
            from submitit.local.local import LocalJob

            return LocalJob(folder=folder, job_id=str(entry["submitit_id"]))
        from submitit.slurm.slurm import SlurmJob

        return SlurmJob(folder=folder, job_id=str(entry["submitit_id"]))

    def _live_handles(self, jobs: Sequence[Job]) -> dict[str, Any]:
        """job_id -> submitit job, of the jobs whose recorded handle (this backend's) is still live."""
        candidates = {}
        for job in jobs:
            entry = self._handles.get(job.job_id)
            if entry and entry.get("backend") == self.backend and entry.get("submitit_id"):
                try:
                    candidates[job.job_id] = self._handle_job(entry)
                except (ValueError, OSError):
                    continue
        if not candidates:
            return {}
        live = {}
        if self.local:
            for job_id, handle in candidates.items():
                if not handle.paths.result_pickle.exists() and _pid_alive(int(handle.job_id)):
                    live[job_id] = handle
            return live
        self._refresh_slurm()
        for job_id, handle in candidates.items():
            state = _first_word(handle.watcher.get_state(handle.job_id, mode="cache"))
            if state in LIVE_SLURM_STATES and not handle.paths.result_pickle.exists():
                live[job_id] = handle
        return live

    @staticmethod
    def _refresh_slurm() -> None:
        from submitit.slurm.slurm import SlurmJob

        SlurmJob.watcher.update()  # one sacct call for every registered job

    # ----------------------------------------------------------------------------------------------- submit

    def _worker_env(self) -> dict[str, str]:
        """PYTHONPATH for the workers: this driver's copy of the code first (so they unpickle the same modules)."""
        import benchmark

        root = str(Path(benchmark.__file__).resolve().parents[1])
        paths = [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
        return {"PYTHONPATH": os.pathsep.join(paths)}

    def _threads(self) -> int | None:
        """CPU threads of each job: locally an equal share of this machine's cores among the jobs running at once
        (as the local pool gives its workers); on Slurm ``cpus_per_job`` when given, else torch's default."""
        if self.local:
            from benchmark.executors.local import worker_threads

            return worker_threads(self.array_parallelism)
        return self.cpus_per_job

    def _submit(self, fn: JobFunction, jobs: list[tuple[Job, int, float]]) -> list[_Running]:
        """Submit ``(job, attempt, first_submitted)``s (Slurm: as one array); records their handles."""
        if not jobs:
            return []
        import submitit
        from submitit.helpers import environment_variables

        tasks = [_SweepTask(fn, job, self._threads()) for job, _, _ in jobs]
        with environment_variables(**self._worker_env()):
            if self.local:
                handles = []
                for task in tasks:
                    template = self.logs_folder / f"%j-{uuid.uuid4().hex[:8]}"
                    ex = submitit.LocalExecutor(folder=str(template))
                    params: dict[str, Any] = {"timeout_min": self.time_min}
                    if self.gpus_per_job:
                        params["gpus_per_node"] = self.gpus_per_job
                    ex.update_parameters(**params)
                    handles.append(ex.submit(task))
            else:
                ex = submitit.SlurmExecutor(folder=str(self.logs_folder / "%j"))
                ex.update_parameters(**self._slurm_parameters())
                handles = []
                for start in range(0, len(tasks), self.max_array_size):  # one array per MaxArraySize jobs
                    with ex.batch():
                        delayed = [ex.submit(task) for task in tasks[start:start + self.max_array_size]]
                    handles += delayed
        runs = [_Running(job, attempt, handle, self.backend, first)
                for (job, attempt, first), handle in zip(jobs, handles)]
        for run in runs:
            self._record(run)
            self.live[run.job.job_id] = run.handle
        self._write_handles()
        return runs

    # ----------------------------------------------------------------------------------------------- poll

    def _status(self, run: _Running) -> str:
        """'running', 'queued' or 'ended' (its result, if any, is in its result pickle)."""
        handle = run.handle
        if self.local:
            process = getattr(handle, "_process", None)
            if process is not None:
                return "running" if process.poll() is None else "ended"
            return "running" if _pid_alive(int(handle.job_id)) else "ended"
        if handle.paths.result_pickle.exists():
            return "ended"
        state = self._slurm_state(run)
        if state in _RUNNING_SLURM_STATES:
            return "running"
        if state in _NOT_ENDED_SLURM_STATES:
            return "queued"
        return "ended"

    @staticmethod
    def _slurm_state(run: _Running) -> str:
        """The job's state in the last sacct answer (``CANCELLED by 123`` -> ``CANCELLED``)."""
        return _first_word(run.handle.watcher.get_state(run.handle.job_id, mode="cache"))

    def _result(self, run: _Running) -> tuple[JobOutcome | None, str | None]:
        """The outcome of an ended attempt, or (None, why it has none): read from its result pickle, which works
        in any process (a job rebuilt from handles.json has no process object to wait on)."""
        from submitit.core.utils import pickle_load

        path = run.handle.paths.result_pickle
        if not path.exists():
            state = self._final_state(run)
            return None, f"the job's process ended without a result ({state})"
        try:
            kind, value = pickle_load(path)
        except Exception as exc:  # a truncated or unreadable pickle: the attempt is lost, not the sweep
            return None, f"its result could not be read ({type(exc).__name__}: {exc})"
        if kind == "success" and isinstance(value, JobOutcome):
            return value, None
        if kind == "success":
            return None, f"the job returned {type(value).__name__}, not a JobOutcome"
        lines = [line for line in str(value).strip().splitlines() if line.strip()]
        return None, f"the job raised: {lines[-1].strip() if lines else value}"

    def _final_state(self, run: _Running) -> str:
        if self.local:
            process = getattr(run.handle, "_process", None)
            code = process.poll() if process is not None else None
            if code is None:
                return "controller process gone"
            return f"killed by signal {-code}" if code < 0 else f"controller exit code {code}"
        return f"Slurm state {self._slurm_state(run) or '?'}"

    def _logs(self, run: _Running) -> str:
        paths = run.handle.paths
        return f"log: {paths.stderr} (stdout: {paths.stdout})"

    def preempt(self, job_id: str) -> None:
        """Preempt a live job the way Slurm does (for tests and drills): Slurm: ``scancel --signal`` (submitit's
        ``SlurmJob._interrupt``); local: ``USR2`` to the job's task processes, which checkpoint and requeue."""
        handle = self.live[job_id]
        if not self.local:
            handle._interrupt()
            return
        from submitit.core.job_environment import JobEnvironment

        for pid in _child_pids(int(handle.job_id)):
            try:
                os.kill(pid, JobEnvironment._usr_sig())
            except ProcessLookupError:
                pass

    # ----------------------------------------------------------------------------------------------- map

    def map(self, fn: JobFunction, jobs: Sequence[Job], *, progress: bool = True,
            warm_up: Callable[[], None] | None = None,
            on_state: StateCallback | None = None) -> Iterator[JobOutcome]:
        jobs = list(jobs)
        if not jobs:
            return
        if not self.local and shutil.which("sbatch") is None:
            raise ValueError("there is no Slurm here (sbatch is not on PATH): run the sweep where Slurm is, use "
                             "dry-run to see the sbatch file it would submit, or the local backend (local=True).")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._handles = self._read_handles()
        live = self._live_handles(jobs)
        if live and not self.resume:
            ids = " ".join(sorted(str(h.job_id) for h in live.values()))
            cancel = f"scancel {ids}" if not self.local else f"kill -INT {ids}"
            raise ValueError(f"{len(live)} of these {len(jobs)} jobs are still running or queued from an earlier "
                             f"run of this sweep (recorded in {self.handles_path}): pass --resume to attach to "
                             f"them, or cancel them ({cancel}).")
        if warm_up is not None:
            warm_up()

        now = time.time()
        self.live = {}
        active: list[_Running] = []
        for job in jobs:
            if job.job_id in live:
                entry = self._handles[job.job_id]
                run = _Running(job, int(entry.get("attempt", 1)), live[job.job_id], self.backend, now)
                if self.local:  # a controller this process started (an earlier map here): poll its process
                    run.handle._process = _LOCAL_PROCESSES.get(run.submitit_id)
                active.append(run)
                self.live[job.job_id] = run.handle
        waiting: deque[tuple[Job, int, float]] = deque((j, 1, now) for j in jobs if j.job_id not in live)
        yield from self._wait(fn, active, waiting, on_state)
        for empty in self.logs_folder.glob("%j-*"):  # submitit also makes the unexpanded local folders, empty
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()

    def _submit_waiting(self, fn: JobFunction, active: list[_Running], waiting: deque[tuple[Job, int, float]],
                        failed: list[JobOutcome] | None = None) -> list[_Running]:
        """Submit what waits (locally: as far as free slots go); returns the new attempts. A submission that fails
        raises when ``failed`` is None (the sweep's first: a wrong partition, no account), else fails its jobs."""
        n = min(len(waiting), max(0, self.array_parallelism - len(active)) if self.local else len(waiting))
        batch = [waiting.popleft() for _ in range(n)]
        try:
            runs = self._submit(fn, batch)
        except Exception as exc:
            if failed is None:
                raise
            for job, attempt, first in batch:
                failed.append(JobOutcome(job, "failed", time.time() - first,
                                         f"{job.label}: attempt {attempt} could not be submitted "
                                         f"({type(exc).__name__}: {exc})", _run_dir(fn, job)))
            return []
        if self.local:
            for run in runs:
                _LOCAL_PROCESSES[run.submitit_id] = run.handle._process
        active.extend(runs)
        return runs

    def _wait(self, fn: JobFunction, active: list[_Running], waiting: deque[tuple[Job, int, float]],
              on_state: StateCallback | None) -> Iterator[JobOutcome]:
        self._submit_waiting(fn, active, waiting)
        while active or waiting:
            if not self.local:
                self._refresh_slurm()
            finished: list[JobOutcome] = []
            running = queued = 0
            for run in list(active):
                status = self._status(run)
                if (status == "ended" and not self.local and not run.handle.paths.result_pickle.exists()
                        and self._slurm_state(run) == "COMPLETED"):
                    # sacct says it completed: give the shared file system a moment to show the result
                    run.ended_at = run.ended_at or time.time()
                    if time.time() - run.ended_at < RESULT_GRACE_SECONDS:
                        status = "running"
                if status == "running":
                    running += 1
                elif status == "queued":
                    queued += 1
                else:
                    active.remove(run)
                    self.live.pop(run.job.job_id, None)
                    _LOCAL_PROCESSES.pop(run.submitit_id, None)
                    outcome, why = self._result(run)
                    if outcome is not None:
                        finished.append(outcome)
                    elif run.attempt < self.max_attempts:
                        waiting.append((run.job, run.attempt + 1, run.first_submitted))
                    else:
                        error = (f"{run.job.label}: its process died in each of {run.attempt} attempt(s); the last "
                                 f"one ({self.backend} job {run.submitit_id}): {why}; {self._logs(run)}")
                        finished.append(JobOutcome(run.job, "failed", time.time() - run.first_submitted, error,
                                                   _run_dir(fn, run.job)))
            new = self._submit_waiting(fn, active, waiting, finished) if waiting else []
            if self.local:
                running += len(new)
            else:
                queued += len(new)
            if on_state is not None:
                on_state(running, queued + len(waiting))
            yield from finished
            if (active or waiting) and not finished:
                time.sleep(self.poll_seconds)


# local controllers started by this process, by pid: a later map here (a resumed sweep in the same process) polls
# their processes instead of guessing from the pid
_LOCAL_PROCESSES: dict[str, Any] = {}
