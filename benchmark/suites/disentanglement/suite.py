"""The disentanglement suite behind the suite contract: plan the jobs of a profile, compute one job.

``plan`` turns a profile into jobs whose config holds the training config (model hyperparameters at the
reference values for the dataset, steps, batch size, precision) and the evaluation settings; ``compute`` trains
the model on the engine (resuming from the run folder), encodes the dataset's fixed evaluation sample, scores it
with the metric panel, saves the plots and returns one record per metric. ``submission_records`` scores a
submitted representation with the same panel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import datasets
import leaderboard
from benchmark.environment import environment
from benchmark.jobs import CPU_THREADS, Job, PlannedMetric, config_hash
from benchmark.suites.base import Suite
from benchmark.suites.disentanglement import evaluation
from benchmark.suites.disentanglement import profiles as _profiles
from benchmark.suites.disentanglement.config import MODELS, ModelConfig, reference_config
from benchmark.training.config import RESUME_FREE_FIELDS

__all__ = ["DisentanglementSuite", "EVAL_SEED"]

EVAL_SEED = 0  # the evaluation sample and every metric's randomness are seeded with this
# TrainConfig fields left out of a job's identity: the seed (a field of its own) and everything that cannot
# change the numbers (device, threads, checkpoint and evaluation cadence, logging); ``steps`` stays.
_IDENTITY_FREE = ("seed",) + tuple(f for f in RESUME_FREE_FIELDS if f != "steps")


def _settings_dict(settings: evaluation.EvalSettings) -> dict:
    d = dataclasses.asdict(settings)
    d["families"] = list(d["families"])
    return d


def _settings(d: dict) -> evaluation.EvalSettings:
    return evaluation.EvalSettings(**{**d, "families": tuple(d["families"])})


def _planned(settings: evaluation.EvalSettings, n_samples: int, *, reconstruction: bool) -> tuple[PlannedMetric, ...]:
    return tuple(PlannedMetric(m, evaluation.metric_version(m),
                               evaluation.metric_params(m, settings=settings, n_samples=n_samples, seed=EVAL_SEED))
                 for m in evaluation.planned_metrics(settings, with_reconstruction=reconstruction))


def _records(job: Job, outcomes: list[evaluation.MetricOutcome], timing: dict) -> list[leaderboard.Record]:
    """The job's records of the evaluation's outcomes, each with the environment and its metric's time."""
    return [job.record(o.metric, params=o.params, value=o.value, components=o.components, status=o.status,
                       error=o.error, environment=environment(), timing={**timing, "metric_seconds": o.seconds})
            for o in outcomes]


def _load(name: str):
    """The dataset ``name``; missing or damaged files are a ValueError for the user (before any job runs)."""
    try:
        return datasets.load(name)
    except (datasets.DatasetNotFoundError, datasets.DatasetIntegrityError, datasets.DatasetDownloadError) as exc:
        raise ValueError(str(exc)) from None


class DisentanglementSuite(Suite):
    """QLAE and QL-InfoWGAN-GP against their baselines on ground-truth-factor datasets (Hsu et al. 2023)."""

    name = _profiles.NAME
    protocol_version = _profiles.PROTOCOL_VERSION
    profiles = _profiles.PROFILES
    default_profile = _profiles.DEFAULT_PROFILE
    models = tuple(MODELS)
    reference_models = _profiles.REFERENCE_MODELS
    headline_metrics = {"infom": "higher", "infoc": "higher", "infoe": "higher", "psnr": "higher"}

    def is_quantized(self, model: str) -> bool:
        """Quantised models are scored with discrete latents (InfoMEC's discrete mode)."""
        return MODELS[model].quantized

    def model_note(self, model: str) -> str:
        if model == "noise":
            return "reference row: seeded N(0, 1) latents of the models' width"
        if model == "untrained":
            return "reference row: the AE's encoder at initialisation"
        return "quantised latents" if self.is_quantized(model) else ""

    def metric_versions(self) -> dict[str, str]:
        return {m: evaluation.metric_version(m) for m in evaluation.ALL_METRICS}

    def plan(self, profile: str, *, datasets: tuple[str, ...] = (), models: tuple[str, ...] = (),
             seeds: int | None = None, precision: str = "auto") -> list[Job]:
        """The jobs of ``profile``. ``precision`` ('auto', 'fp32', 'bf16' or 'fp16'; see ``TrainConfig``) is part of
        each job's identity, so a run in another precision is stored as other jobs; 'auto' leaves the identity as
        it always was, and the precision it resolved to is in each record's ``timing``."""
        from benchmark.suites.disentanglement.training import TrainConfig

        p = self.profile(profile)
        dataset_names, model_names, n_seeds = self.select(p, datasets=datasets, models=models, seeds=seeds)
        # the calibration rows come with the profile's models, or when named
        references = tuple(m for m in model_names if m in self.reference_models) if models else (
            self.reference_models if p.references else ())
        model_names = tuple(m for m in model_names if m not in self.reference_models)
        jobs = []
        for dataset_name in dataset_names:
            ds = _load(dataset_name)
            n_eval = min(p.eval_samples, len(ds))
            for model in model_names:
                model_cfg = reference_config(model, dataset_name, architecture=p.architecture, **dict(p.overrides))
                batch = p.gan_batch_size if MODELS[model].gan and p.gan_batch_size else p.batch_size
                cfg = TrainConfig(model=model_cfg, steps=p.steps, batch_size=batch,
                                  checkpoint_every=p.checkpoint_every, precision=precision)
                train_config = {k: v for k, v in cfg.to_dict().items() if k not in _IDENTITY_FREE}
                train_config["model"] = {k: (list(v) if isinstance(v, tuple) else v)
                                         for k, v in train_config["model"].items()}
                config = {"train_config": train_config, "eval_samples": n_eval,
                          "eval_settings": _settings_dict(p.eval), "discrete_latents": self.is_quantized(model)}
                metrics = _planned(p.eval, n_eval, reconstruction=True)
                for seed in range(n_seeds):
                    jobs.append(Job(
                        suite=self.name, protocol_version=self.protocol_version, profile=profile,
                        dataset=dataset_name, dataset_hash=ds.content_hash, model=model, seed=seed, config=config,
                        model_config_hash=config_hash(train_config), metrics=metrics, eval_seed=EVAL_SEED,
                        run_options={"checkpoint_every": p.checkpoint_every},
                    ))
            for reference in references:
                jobs += self._plan_reference(p, profile, ds, dataset_name, reference, n_eval, n_seeds)
        return jobs

    def _plan_reference(self, p, profile: str, ds, dataset_name: str, reference: str, n_eval: int,
                        n_seeds: int) -> list[Job]:
        """The jobs of one calibration row: no training; scored like the models, without reconstruction."""
        # the width rule, not its number (2 x the factors, as the models' n_latents=None): one config per row on
        # every dataset, so the tables show one 'noise' row, not one per dataset
        model = {"reference": reference, "n_latents": None}
        if reference == "untrained":
            ae = reference_config("ae", dataset_name, architecture=p.architecture).to_dict()
            model["encoder"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in ae.items()}
        config = {**model, "eval_samples": n_eval, "eval_settings": _settings_dict(p.eval), "discrete_latents": False}
        metrics = _planned(p.eval, n_eval, reconstruction=False)
        return [Job(suite=self.name, protocol_version=self.protocol_version, profile=profile, dataset=dataset_name,
                    dataset_hash=ds.content_hash, model=reference, seed=seed, config=config,
                    model_config_hash=config_hash(model), metrics=metrics, eval_seed=EVAL_SEED,
                    provenance="reference")
                for seed in range(n_seeds)]

    def warm_up(self, jobs: list[Job]) -> None:
        """Compile the metric kernels the jobs will use (continuous and, for quantised models, discrete latents)."""
        for key in sorted({(json.dumps(j.config["eval_settings"], sort_keys=True), j.config["discrete_latents"])
                           for j in jobs}):
            evaluation.warm_up(_settings(json.loads(key[0])), discrete=key[1])

    def compute(self, job: Job, run_dir: Path, *, device: str = "auto", progress: bool = True,
                on_progress: Callable[[int, int, float], None] | None = None) -> list[leaderboard.Record]:
        """Train (or resume) the job's model in ``run_dir``, encode the evaluation sample, score it, plot it."""
        if "reference" in job.config:
            return self._compute_reference(job)
        from benchmark.suites.disentanglement import plots
        from benchmark.suites.disentanglement.inference import decode, encode
        from benchmark.suites.disentanglement.training import TrainConfig, train
        from benchmark.training import torch_threads

        dataset = datasets.load(job.dataset)
        cfg = TrainConfig.from_dict({**job.config["train_config"], "seed": job.seed, "device": device,
                                     "progress": progress, "cpu_threads": CPU_THREADS,
                                     "checkpoint_every": job.run_options.get("checkpoint_every", 0)})
        result = train(cfg, dataset, run_dir=run_dir, on_progress=on_progress)
        timing = {"train_seconds": result.train_seconds, "steps_per_second": result.steps_per_second,
                  "device": result.device, "precision": result.precision}

        t0 = time.perf_counter()
        sample = dataset.evaluation_sample(job.config["eval_samples"], seed=job.eval_seed)
        images = dataset.images_at(sample.indices)
        with torch_threads(CPU_THREADS):
            latents = encode(result.model, images)
            recon = decode(result.model, latents)  # = reconstruct(model, images), one encoder pass fewer
        timing["encode_seconds"] = time.perf_counter() - t0
        outcomes = evaluation.evaluate_representation(sample.factors, latents,
                                                      discrete=job.config["discrete_latents"],
                                                      settings=_settings(job.config["eval_settings"]),
                                                      seed=job.eval_seed)
        outcomes.append(evaluation.evaluate_reconstruction(recon, images))
        plots.save_job_plots(result.model, dataset, images, latents, outcomes, Path(run_dir) / "plots",
                             title=f"{dataset.name} / {job.model} / seed {job.seed}", seed=job.eval_seed)
        return _records(job, outcomes, timing)

    def _compute_reference(self, job: Job) -> list[leaderboard.Record]:
        """Score a calibration row: 'noise' draws N(0, 1) latents with the job's seed; 'untrained' encodes the
        evaluation sample with the AE's encoder as initialised with the job's seed."""
        dataset = datasets.load(job.dataset)
        sample = dataset.evaluation_sample(job.config["eval_samples"], seed=job.eval_seed)
        t0 = time.perf_counter()
        if job.config["reference"] == "noise":
            rng = np.random.default_rng([job.seed, 1])
            width = ModelConfig(n_latents=job.config["n_latents"]).latent_size(len(dataset.factor_sizes))
            latents = rng.standard_normal((sample.n, width)).astype(np.float32)
        else:
            import torch

            from benchmark.suites.disentanglement.inference import encode
            from benchmark.suites.disentanglement.models import model_from_config
            from benchmark.training import torch_threads

            encoder = dict(job.config["encoder"])
            cfg = ModelConfig(**{**encoder, "betas": tuple(encoder["betas"])})
            images = dataset.images_at(sample.indices)
            with torch_threads(CPU_THREADS):
                torch.manual_seed(job.seed)
                model = model_from_config(cfg, image_shape=tuple(images.shape[1:]),
                                          n_factors=len(dataset.factor_sizes), dataset_size=len(dataset))
                latents = encode(model, images)
        timing = {"encode_seconds": time.perf_counter() - t0}
        outcomes = evaluation.evaluate_representation(sample.factors, latents, discrete=False,
                                                      settings=_settings(job.config["eval_settings"]),
                                                      seed=job.eval_seed)
        return _records(job, outcomes, timing)

    def claims(self, profile: str) -> list[leaderboard.Claim]:
        self.profile(profile)
        return _profiles.claims(profile)

    def run_note(self, profile: str, out: Path) -> str:
        return (f"Plots (traversals, NMI heatmaps, reconstructions): "
                f"{Path(out) / 'runs' / profile}/<dataset>/<model>/seed<seed>-<job id>/plots/")

    # -- submissions ---------------------------------------------------------------------------
    def evaluation_sample(self, profile: str, dataset):
        """The fixed evaluation sample of ``dataset`` (a FactorDataset) that ``profile`` scores."""
        return dataset.evaluation_sample(min(self.profile(profile).eval_samples, len(dataset)), seed=EVAL_SEED)

    def submission_records(self, profile: str, dataset, latents: np.ndarray, *, name: str, seed: int,
                           provenance: str, discrete: bool = False) -> list[leaderboard.Record]:
        """Records of a submitted representation ``latents`` of ``evaluation_sample(profile, dataset)``: every
        metric of the profile's panel (no reconstruction), recomputed here, with provenance ``provenance``."""
        p = self.profile(profile)
        sample = self.evaluation_sample(profile, dataset)
        # the submitted model's identity: who submitted it, and how (its own hash rule, kept for stored records)
        model_hash = hashlib.sha256(json.dumps({"provenance": provenance, "name": name}, sort_keys=True)
                                    .encode()).hexdigest()
        job = Job(suite=self.name, protocol_version=self.protocol_version, profile=profile, dataset=dataset.name,
                  dataset_hash=dataset.content_hash, model=name, seed=seed, config={"provenance": provenance},
                  model_config_hash=model_hash, metrics=_planned(p.eval, sample.n, reconstruction=False),
                  eval_seed=EVAL_SEED, provenance=provenance)
        outcomes = evaluation.evaluate_representation(sample.factors, latents, discrete=discrete, settings=p.eval,
                                                      seed=EVAL_SEED)
        return _records(job, outcomes, {})
