"""The latent-semantics suite behind the suite contract: Householder-projected StyleGAN2 against SeFa and random
directions, scored against the ground-truth factors of dSprites, Shapes3D, MPI3D and their twins.

A job is one direction method (``householder``, ``sefa``, ``random``) on one dataset with one seed. What jobs
share is built once, under a lock, in the run's shared folder (:mod:`benchmark.shared`):

1. the factor probe of the dataset and the real images' feature statistics (per dataset);
2. the pretrained StyleGAN2 of the seed (an engine run, resumable), which SeFa and random directions edit;
3. ``householder`` alone fine-tunes a copy with projectors (its own engine run in the job folder).

Then the job finds its directions, traverses them (``evaluation.traverse``), and records the direction scores,
the fidelity and smoothness of the generator it edits, and the probe's accuracy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import leaderboard
from benchmark.environment import environment
from benchmark.jobs import CPU_THREADS, Job, PlannedMetric, config_hash
from benchmark.suites.base import Suite
from benchmark.suites.latent_semantics import profiles as _profiles
from benchmark.suites.latent_semantics.config import METHODS, WEIGHT_NAMES

__all__ = ["LatentSemanticsSuite"]

_COMMON = ("modularity", "compactness", "controlled_fraction", "fd_probe", "ppl_w", "pipl", "probe_accuracy")
_HOUSEHOLDER = ("fd_ratio", "fd_insert_ratio")
_WITH_WEIGHTS = {"inception": ("fid",), "lpips": ("ppl_w_lpips", "pipl_lpips")}  # metrics of supplied weights


def _metrics(model: str, weights: dict[str, str]) -> tuple[str, ...]:
    extra = tuple(m for name, ms in _WITH_WEIGHTS.items() if name in weights for m in ms)
    return _COMMON + (_HOUSEHOLDER if model == "householder" else ()) + extra


def weight_files(weights) -> dict[str, str]:
    """``{name: path}`` from ``--weights`` items ``inception=PATH``, ``vgg16=PATH``, ``lpips=PATH`` (LPIPS needs
    the VGG-16 ImageNet weights and the LPIPS linear layers both); a ValueError names what is wrong."""
    if not weights:
        return {}
    items = [weights] if isinstance(weights, (str, Path)) else list(weights)
    files = {}
    for item in map(str, items):
        name, sep, path = item.partition("=")
        if not sep or name not in WEIGHT_NAMES:
            names = ", ".join(n + "=PATH" for n in WEIGHT_NAMES)
            raise ValueError(f"--weights: the latent-semantics suite takes {names} (FID with Inception; LPIPS from "
                             f"VGG-16 and its linear layers); got {item!r}.")
        if not Path(path).is_file():
            raise ValueError(f"--weights {item}: no such file; pass the path of the downloaded state dict "
                             f"(docs/latent-semantics.md says where to get each).")
        files[name] = str(Path(path).resolve())
    if ("lpips" in files) != ("vgg16" in files):
        raise ValueError("--weights: LPIPS needs both vgg16=PATH (torchvision's ImageNet VGG-16 state dict) and "
                         "lpips=PATH (the LPIPS package's weights/v0.1/vgg.pth).")
    return files


class LatentSemanticsSuite(Suite):
    """Householder projector (Song et al., ICCV 2023) against SeFa (Shen & Zhou, CVPR 2021) and random directions."""

    name = _profiles.NAME
    protocol_version = _profiles.PROTOCOL_VERSION
    profiles = _profiles.PROFILES
    default_profile = _profiles.DEFAULT_PROFILE
    models = METHODS
    headline_metrics = {"modularity": "higher", "compactness": "higher", "controlled_fraction": "higher",
                        "fd_probe": "lower", "ppl_w": "lower", "pipl": "lower", "fd_ratio": "lower",
                        "fd_insert_ratio": "lower", "probe_accuracy": "higher", "fid": "lower",
                        "ppl_w_lpips": "lower", "pipl_lpips": "lower"}

    def model_note(self, model: str) -> str:
        return {"householder": "A = Q(U) S Q(V) projectors, fine-tuned; directions: rows of Q(V)",
                "sefa": "top eigenvectors of A^T A of the pretrained modulations",
                "random": "random orthonormal directions (control)"}.get(model, "")

    def report_metrics(self) -> tuple[str, ...]:
        return ("modularity", "compactness", "controlled_fraction", "fd_probe", "pipl", "fd_ratio")

    def metric_versions(self):
        return {m: "1" for m in (*_COMMON, *_HOUSEHOLDER, *(m for ms in _WITH_WEIGHTS.values() for m in ms))}

    def plan(self, profile: str, *, datasets: tuple[str, ...] = (), models: tuple[str, ...] = (),
             seeds: int | None = None, precision: str = "auto", weights=None) -> list[Job]:
        """The jobs of ``profile``. ``weights``: ``["inception=PATH", "vgg16=PATH", "lpips=PATH"]`` add FID and LPIPS
        path lengths to every job (:func:`weight_files`)."""
        import datasets as ds_module

        p = self.profile(profile)
        files = weight_files(weights)
        names, model_names, n_seeds = self.select(p, datasets=datasets, models=models, seeds=seeds)
        jobs = []
        for name in names:
            try:
                ds = ds_module.load(name)
            except (ds_module.DatasetNotFoundError, ds_module.DatasetIntegrityError) as exc:
                if name in _profiles.OPTIONAL_DATASETS and not datasets:
                    print(f"note: {name} is skipped, its files are absent ({str(exc).splitlines()[0]})")
                    continue
                raise ValueError(f"{name}: {exc}") from None
            except ValueError as exc:  # not a dataset name
                raise ValueError(f"{name}: {exc}") from None
            if not hasattr(ds, "factor_sizes"):
                raise ValueError(f"{name} has no ground-truth factors; the latent-semantics suite needs a factor "
                                 f"dataset (dsprites, shapes3d, mpi3d-* or their -procedural twins).")
            gan = p.gan_for(int(ds.image_shape[-1]))
            config = {"gan": gan.to_dict(), "probe": dataclasses.asdict(p.probe),
                      "evaluation": dataclasses.asdict(p.evaluation), "precision": precision}
            for model in model_names:
                metrics = tuple(PlannedMetric(m, "1", {}) for m in _metrics(model, files))
                model_hash = config_hash({"model": model, "profile": profile})
                for seed in range(n_seeds):
                    jobs.append(Job(suite=self.name, protocol_version=self.protocol_version, profile=profile,
                                    dataset=name, dataset_hash=ds.content_hash, model=model, seed=seed,
                                    config=config, model_config_hash=model_hash, metrics=metrics,
                                    run_options={"weights": files} if files else {}))
        return jobs

    def compute(self, job: Job, run_dir: Path, *, device: str = "auto", progress: bool = True,
                on_progress: Callable[[int, int, float], None] | None = None) -> list[leaderboard.Record]:
        from benchmark.suites.latent_semantics.workflow import run_job

        t0 = time.perf_counter()
        values, components, timing = run_job(job, Path(run_dir), device=device, progress=progress,
                                             on_progress=on_progress, cpu_threads=CPU_THREADS)
        timing["job_seconds"] = time.perf_counter() - t0
        env = environment()
        return [job.record(m, value=values[m], components=components.get(m, {}), environment=env, timing=timing)
                for m in job.metric_names]

    def claims(self, profile: str) -> list:
        self.profile(profile)
        return _profiles.claims(profile)

    def summary_plots(self, profile: str, records: list, out: Path) -> list[Path]:
        from benchmark.suites.latent_semantics.plots import run_figures

        return run_figures(records, Path(out) / "plots" / self.name / profile)

    def run_note(self, profile: str, out: Path) -> str:
        return (f"traversal grids and direction x factor heatmaps of every job: {Path(out)}/runs/{profile}/<dataset>/"
                f"<method>/<seed>/plots/; the run's figures: {Path(out)}/plots/{self.name}/{profile}/")

