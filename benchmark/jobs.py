"""Jobs: one (dataset, model, seed) of a suite profile, keyed by identity, and how one runs.

A job trains (or resumes) its model in its own run folder, encodes the dataset's fixed evaluation
sample, computes the suite's metrics, saves its plots and writes all its records to the
leaderboard store in one transaction. Rerunning a job whose records are stored does nothing; a job
that raises is stored as ``failed`` records carrying the error, never dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import datasets
import leaderboard
from benchmark import evaluation
from benchmark.environment import environment

EVAL_SEED = 0  # the evaluation sample and every metric's randomness are seeded with this
CPU_THREADS = 1  # torch threads of a job on the CPU, whatever the pool size: the numbers must not depend on --jobs
_RUN_ONLY_FIELDS = ("checkpoint_every",)


def hyperparameter_dataset(name: str) -> str:
    """The dataset whose reference hyperparameters apply: a ``-<size>px`` view uses its base's."""
    return re.sub(r"-\d+px$", "", name)


def _sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Job:
    """Identity of one training-and-evaluation run."""

    suite: str
    protocol_version: str
    profile: str
    dataset: str
    dataset_hash: str
    model: str
    seed: int
    train_config: dict  # TrainConfig.to_dict() without the seed and the resume-free fields
    eval_samples: int
    eval_settings: dict  # EvalSettings as a dict
    discrete_latents: bool
    # how the job runs, not what it computes: outside the identity (job_id, records)
    checkpoint_every: int = dataclasses.field(default=0, compare=False)  # the profile's cadence; 0: at the end only

    @property
    def model_config_hash(self) -> str:
        return _sha256(self.train_config)

    @property
    def job_id(self) -> str:
        return _sha256({k: v for k, v in dataclasses.asdict(self).items() if k not in _RUN_ONLY_FIELDS})

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.model}/seed{self.seed}"

    def settings(self) -> evaluation.EvalSettings:
        d = dict(self.eval_settings)
        d["families"] = tuple(d["families"])
        return evaluation.EvalSettings(**d)

    def planned_metrics(self) -> tuple[str, ...]:
        return evaluation.planned_metrics(self.settings(), with_reconstruction=True)

    def identity(self, metric: str) -> dict:
        """The identity block of this job's record for ``metric`` (see ``leaderboard.Record``)."""
        params = evaluation.metric_params(metric, settings=self.settings(), n_samples=self.eval_samples,
                                          seed=EVAL_SEED)
        return {
            "suite": self.suite, "protocol_version": self.protocol_version, "profile": self.profile,
            "dataset": self.dataset, "dataset_hash": self.dataset_hash, "model": self.model,
            "model_config_hash": self.model_config_hash, "train_seed": self.seed, "metric": metric,
            "metric_version": evaluation.metric_version(metric), "metric_params": params, "eval_seed": EVAL_SEED,
        }

    def record_ids(self) -> list[str]:
        return [leaderboard.compute_record_id(self.identity(m)) for m in self.planned_metrics()]

    def run_dir(self, out: Path) -> Path:
        return Path(out) / "runs" / self.profile / self.dataset / self.model / f"seed{self.seed}-{self.job_id[:10]}"


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    status: str  # 'ok', 'failed' or 'skipped' (records already stored)
    seconds: float
    error: str | None = None
    run_dir: str | None = None


def is_stored(job: Job, db: Path) -> bool:
    """Whether the store at ``db`` holds every record of ``job``, all ``ok`` (then the job has nothing to do).

    A job stored as failed is run again (its failure may have been transient: a full disk, a bad checkpoint)."""
    if not Path(db).exists():
        return False
    ids = job.record_ids()
    with leaderboard.Store(db) as store:
        return store.count(record_id=ids, status="ok") == len(ids)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_job(job: Job, *, out: Path, db: Path, device: str = "auto", progress: bool = True,
            on_progress=None) -> JobOutcome:
    """Train, evaluate and store one job; returns its outcome (never raises for a failing job).

    ``on_progress(steps_done, steps_total, steps_per_second)`` is passed on to the training loop."""
    from benchmark.training import TrainConfig, decode, encode, train  # torch only where training happens
    from benchmark import visualize

    start = time.perf_counter()
    run_dir = job.run_dir(out)
    if is_stored(job, db):
        return JobOutcome(job, "skipped", 0.0, run_dir=str(run_dir))
    timing: dict = {}
    try:
        dataset = datasets.load(job.dataset)
        cfg = TrainConfig.from_dict({**job.train_config, "seed": job.seed, "device": device, "progress": progress,
                                     "checkpoint_every": job.checkpoint_every, "cpu_threads": CPU_THREADS})
        result = train(cfg, dataset, run_dir=run_dir, on_progress=on_progress)
        timing.update(train_seconds=result.train_seconds, steps_per_second=result.steps_per_second,
                      device=result.device, precision=result.precision)

        t0 = time.perf_counter()
        sample = dataset.evaluation_sample(job.eval_samples, seed=EVAL_SEED)
        images = dataset.images_at(sample.indices)
        with torch_threads(CPU_THREADS):
            latents = encode(result.model, images)
            recon = decode(result.model, latents)  # = reconstruct(model, images), one encoder pass fewer
        timing["encode_seconds"] = time.perf_counter() - t0
        outcomes = evaluation.evaluate_representation(sample.factors, latents, discrete=job.discrete_latents,
                                                      settings=job.settings(), seed=EVAL_SEED)
        outcomes.append(evaluation.evaluate_reconstruction(recon, images))
        _save_plots(visualize, result.model, dataset, images, latents, sample, outcomes, run_dir)
        records = [_record(job, o, timing) for o in outcomes]
        status, error = "ok", None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the job failed: store why, and let the other jobs go on
        error = f"{type(exc).__name__}: {exc}"
        detail = traceback.format_exc(limit=5)
        records = [_failed_record(job, m, error, detail, timing) for m in job.planned_metrics()]
        status = "failed"
    with leaderboard.Store(db) as store:  # one write id per attempt: a job may be written again (a rerun)
        store.write_job(records, replace=True, job_id=f"{job.job_id}-{uuid.uuid4().hex[:12]}")
    try:
        (run_dir / "job.json").parent.mkdir(parents=True, exist_ok=True)
        (run_dir / "job.json").write_text(json.dumps({"job": dataclasses.asdict(job), "job_id": job.job_id,
                                                      "status": status, "error": error, "timing": timing}, indent=2))
    except OSError:  # the records are stored; the summary file is a convenience
        pass
    return JobOutcome(job, status, time.perf_counter() - start, error, str(run_dir))


def _record(job: Job, o: evaluation.MetricOutcome, timing: dict) -> "leaderboard.Record":
    identity = job.identity(o.metric)
    assert identity["metric_params"] == o.params, (identity["metric_params"], o.params)
    return leaderboard.Record(**identity, value=o.value, components=o.components, status=o.status, error=o.error,
                              environment=environment(), timing={**timing, "metric_seconds": o.seconds},
                              provenance="measured")


def _failed_record(job: Job, metric: str, error: str, detail: str, timing: dict) -> "leaderboard.Record":
    return leaderboard.Record(**job.identity(metric), value=None, components={"traceback": detail},
                              status="failed", error=error, environment=environment(), timing=timing,
                              provenance="measured")


def plotted_images(n_images: int, n: int = 500) -> np.ndarray:
    """Indices of the evaluation images the plots show (the first 8 reconstructed, the first one traversed,
    all ``n`` setting the traversal ranges): drawn across the sample, seeded. The sample is in dataset order,
    so its first images share the classes of the slowest-varying factors (dSprites' first 500: one shape, one
    scale)."""
    return np.random.default_rng(EVAL_SEED).permutation(n_images)[:n]


def _save_plots(visualize, model, dataset, images, latents, sample, outcomes, run_dir: Path) -> None:
    plots = run_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    shown = plotted_images(len(images))
    visualize.save_reconstruction_grid(model, images[shown[:8]], plots / "reconstructions.png",
                                       title=f"{dataset.name}: top originals, bottom reconstructions")
    visualize.save_traversal_grid(model, images[shown[0]], images[shown], plots / "traversals.png",
                                  title=f"{dataset.name}: latent traversals")
    scores = {o.metric: o for o in outcomes if o.metric in ("infom", "infoc") and o.status == "ok"}
    if len(scores) == 2:
        infomec = scores["infom"].components
        visualize.save_nmi_heatmap(np.asarray(infomec["nmi"]), dataset.factor_names, plots / "nmi.png",
                                   infoc_per_factor=infomec["infoc_per_factor"],
                                   infom_per_latent=infomec["infom_per_latent"], active=infomec["active"],
                                   title=f"{dataset.name}: NMI (InfoM {scores['infom'].value:.3f}, "
                                         f"InfoC {scores['infoc'].value:.3f})")
