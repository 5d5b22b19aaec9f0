"""Plan a suite's jobs and run them with the local executor (in-process or a process pool).

``run_suite`` is what ``python -m benchmark run`` calls: it plans the jobs of a profile, skips those
whose records are already stored (so an interrupted run resumes and a finished one does nothing),
runs the rest, and returns their outcomes. With ``jobs > 1`` the jobs run in a pool of worker
processes (on the CPU every job trains with one torch thread, so its numbers do not depend on
``jobs``); records go to the same SQLite store, which is safe with several writing processes.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm.auto import tqdm

import datasets
from benchmark.jobs import Job, JobOutcome, hyperparameter_dataset, is_stored, run_job
from benchmark.suites import get_suite


def _identity_free_fields() -> tuple[str, ...]:
    """TrainConfig fields left out of a job's identity: the seed (a field of its own) and everything that
    cannot change the numbers (device, threads, checkpoint and evaluation cadence, logging); ``steps`` stays."""
    from benchmark.training.config import RESUME_FREE_FIELDS

    return ("seed",) + tuple(f for f in RESUME_FREE_FIELDS if f != "steps")


def plan_jobs(suite: str, profile: str, *, datasets_: tuple[str, ...] | None = None,
              models: tuple[str, ...] | None = None, seeds: int | None = None, precision: str = "auto") -> list[Job]:
    """The jobs of ``profile`` (optionally restricted to some datasets/models, or another seed count).

    ``precision`` ('auto', 'fp32', 'bf16' or 'fp16'; see ``TrainConfig``) is part of each job's identity, so a
    run in another precision is stored as other jobs. 'auto' leaves the identity as it always was; the
    precision it resolved to (bf16 on CUDA, fp32 elsewhere) is in each record's ``timing``."""
    from benchmark.models import reference_config
    from benchmark.models.config import GAN_MODELS
    from benchmark.training import TrainConfig

    module = get_suite(suite)
    if profile not in module.PROFILES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, module.PROFILES))}; got {profile!r}.")
    p = module.PROFILES[profile]
    names = tuple(dict.fromkeys(datasets_ or p.datasets))  # a name given twice is one set of jobs, not two
    model_names = tuple(dict.fromkeys(models or p.models))
    unknown = [m for m in model_names if m not in module.ALL_MODELS]
    if unknown:
        raise ValueError(f"models must be among {', '.join(module.ALL_MODELS)}; got {', '.join(unknown)}.")
    n_seeds = p.seeds if seeds is None else seeds
    if n_seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got {n_seeds}.")
    identity_free = _identity_free_fields()
    jobs = []
    for dataset_name in names:
        try:
            ds = datasets.load(dataset_name)
        except (datasets.DatasetNotFoundError, datasets.DatasetIntegrityError, datasets.DatasetDownloadError) as exc:
            raise ValueError(str(exc)) from None  # before any job runs: a one-line error, not a failed run
        for model in model_names:
            model_cfg = reference_config(model, hyperparameter_dataset(dataset_name), architecture=p.architecture,
                                         **dict(p.overrides))
            gan = model in GAN_MODELS
            cfg = TrainConfig(model=model_cfg, steps=p.steps,
                              batch_size=p.gan_batch_size if gan and p.gan_batch_size else p.batch_size,
                              checkpoint_every=p.checkpoint_every, precision=precision)
            train_config = {k: v for k, v in cfg.to_dict().items() if k not in identity_free}
            train_config["model"] = {k: (list(v) if isinstance(v, tuple) else v)
                                     for k, v in train_config["model"].items()}
            for seed in range(n_seeds):
                jobs.append(Job(
                    suite=suite, protocol_version=module.PROTOCOL_VERSION, profile=profile, dataset=dataset_name,
                    dataset_hash=ds.content_hash, model=model, seed=seed, train_config=train_config,
                    eval_samples=min(p.eval_samples, len(ds)), eval_settings=_settings_dict(p.eval),
                    discrete_latents=module.is_quantized(model), checkpoint_every=p.checkpoint_every,
                ))
    return jobs


def _settings_dict(settings) -> dict:
    d = dataclasses.asdict(settings)
    d["families"] = list(d["families"])
    return d


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


def _run_in_worker(job: Job, out: str, db: str, device: str, progress_queue=None) -> JobOutcome:
    report = None
    if progress_queue is not None:
        def report(done: int, total: int, rate: float) -> None:
            progress_queue.put((job.label, done, total, rate))
    return run_job(job, out=Path(out), db=Path(db), device=device, progress=False, on_progress=report)


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


def _outcome_of(fut, job: Job, out: Path) -> JobOutcome:
    """A finished future's outcome; a worker that died (killed, out of memory) fails its job, not the run."""
    try:
        return fut.result()
    except Exception as exc:  # BrokenProcessPool, or an error that escaped run_job
        return JobOutcome(job, "failed", 0.0, f"the worker process running it died or raised "
                          f"({type(exc).__name__}: {exc}); rerun the suite to retry this job",
                          str(job.run_dir(out)))


def auto_workers(n_jobs: int, device: str = "auto") -> int:
    """Workers for ``--jobs auto``: one per CPU core (at most one per job) when training runs on the CPU, where
    single-threaded workers side by side beat one multi-threaded process on small networks (on 2 cores: 1.7x-2.1x the
    steps per second at batch 32, ``benchmarks/worker_speed.py``); one on a GPU, which a second process would
    only share."""
    from benchmark.training.loop import resolve_device

    if resolve_device(device).type != "cpu":
        return 1
    return max(1, min(n_jobs, os.cpu_count() or 1))


def run_jobs(jobs: list[Job], *, out: Path, db: Path, device: str = "auto", n_workers: int = 1,
             progress: bool = True) -> list[JobOutcome]:
    """Run every job (skipping stored ones); returns the outcomes in the order the jobs finished."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[JobOutcome] = []
    bar = tqdm(total=len(jobs), desc="jobs", unit="job", disable=not progress)
    try:
        if n_workers <= 1:
            for job in jobs:
                bar.set_postfix_str(job.label)
                outcomes.append(run_job(job, out=out, db=db, device=device, progress=progress))
                bar.update()
        else:
            import multiprocessing as mp

            todo = []
            for job in jobs:  # stored jobs are skipped here, without starting a worker for them
                if is_stored(job, db):
                    outcomes.append(JobOutcome(job, "skipped", 0.0, run_dir=str(job.run_dir(out))))
                    bar.update()
                else:
                    todo.append(job)
            n_workers = min(n_workers, len(todo))
            threads = worker_threads(n_workers)
            if todo:
                ctx = mp.get_context("spawn")
                manager = _start_manager(ctx) if progress else None
                worker_bars = _WorkerBars(manager.Queue(), n_workers) if manager else None
                try:
                    with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init,
                                             initargs=(threads,)) as pool:
                        queue = worker_bars.queue if worker_bars else None
                        futures = {pool.submit(_run_in_worker, job, str(out), str(db), device, queue): job
                                   for job in todo}
                        pending = set(futures)
                        while pending:
                            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                            if worker_bars:
                                worker_bars.drain()
                            for fut in finished:
                                if worker_bars:
                                    worker_bars.finish(futures[fut].label)
                                outcomes.append(_outcome_of(fut, futures[fut], out))
                                bar.set_postfix_str(futures[fut].label)
                                bar.update()
                finally:
                    if worker_bars:
                        worker_bars.close()
                    if manager:
                        manager.shutdown()
    finally:
        bar.close()
    return outcomes
