"""The noisy-label suite behind the suite contract: plan a profile's jobs, compute one job, declare the claims.

A job trains one method on one setting with one seed through the shared engine (every stage in its own folder
of the run folder, resumable), reads the per-epoch evaluations back, and returns one record per planned metric:
clean test accuracy at the epoch selected on the selection set (the default) and at the last epoch, the gap of
the last to the best epoch, memorisation, co-teaching's label precision, ELR's mislabel detection, and the
penultimate features' sparsity, participation ratio and (nested methods) best width.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import leaderboard
from datasets import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError
from benchmark.environment import environment
from benchmark.jobs import CPU_THREADS, Job, PlannedMetric, config_hash
from benchmark.suites.base import Suite
from benchmark.suites.noisy_labels import profiles as _profiles
from benchmark.suites.noisy_labels.recipes import BACKBONES, METHODS, NESTED, SETTINGS, Recipe, setting

__all__ = ["NoisyLabelSuite", "METRICS", "metric_names"]

# metric -> (version, direction)
METRICS: dict[str, tuple[str, str]] = {
    "test_acc": ("1", "higher"),  # clean test accuracy (%) at the epoch selected on the selection set
    "test_acc_last": ("1", "higher"),  # ... at the last epoch
    "accuracy_drop": ("1", "lower"),  # best epoch's test accuracy minus the last epoch's (points)
    "memorised": ("1", "lower"),  # fraction of flipped training labels predicted as the noisy label, last epoch
    "selection_precision": ("1", "higher"),  # co-teaching: fraction of selected samples with a clean label
    "mislabel_auc": ("1", "higher"),  # ELR: AUC of argmax t != y against the true flips
    "feature_hoyer": ("1", "higher"),  # Hoyer sparsity of the penultimate features (metrics.sparsity)
    "participation_ratio": ("1", "lower"),  # effective number of feature units in use
    "best_width": ("1", "lower"),  # nested: the width K selected on the selection set
}
WEIGHTS_FLAG = "weights"  # run option: path of the ImageNet state dict of the pretrained recipes


def metric_names(method: str, noise_known: bool) -> tuple[str, ...]:
    """The records a job of ``method`` writes (the noise-dependent ones where the flips are known)."""
    names = ["test_acc", "test_acc_last", "accuracy_drop"]
    if noise_known:
        names.append("memorised")
        if method in ("coteaching", "nested_coteaching"):
            names.append("selection_precision")
        if method in ("elr", "elr_plus"):
            names.append("mislabel_auc")
    names += ["feature_hoyer", "participation_ratio"]
    if method in NESTED:
        names.append("best_width")
    return tuple(names)


class NoisyLabelSuite(Suite):
    """CE, Dropout, Nested Dropout, Co-teaching, Nested + Co-teaching, ELR and ELR+ under label noise."""

    name = _profiles.NAME
    protocol_version = _profiles.PROTOCOL_VERSION
    profiles = _profiles.PROFILES
    default_profile = _profiles.DEFAULT_PROFILE
    models = METHODS
    headline_metrics = {m: d for m, (_, d) in METRICS.items()}

    def report_metrics(self) -> tuple[str, ...]:
        return ("test_acc", "test_acc_last", "memorised")

    def metric_versions(self) -> dict[str, str]:
        return {m: v for m, (v, _) in METRICS.items()}

    def model_note(self, model: str) -> str:
        notes = {"ce": "cross-entropy", "dropout": "dropout on the penultimate features",
                 "nested": "nested dropout, read out at the best width K", "coteaching": "two networks, Han et al.",
                 "nested_coteaching": "two nested networks, then co-teaching fine-tuning",
                 "elr": "early-learning regularisation", "elr_plus": "ELR with two networks, mean teachers, mixup"}
        return notes.get(model, "")

    # -------------------------------------------------------------------------------------------------- plan
    def plan(self, profile: str, *, datasets: tuple[str, ...] = (), models: tuple[str, ...] = (),
             seeds: int | None = None, precision: str = "auto", weights=None) -> list[Job]:
        """The jobs of ``profile`` (its settings are the records' datasets). ``weights``: the ImageNet state dicts of
        the recipes that start from pretrained weights, ``["resnet18=PATH", ...]`` or one path when one backbone is
        needed; without them those jobs are refused, with how to get the files. The path is a run option, not part
        of the identity."""
        from benchmark.suites.noisy_labels.backbones import weights_hint
        from benchmark.suites.noisy_labels.splits import setting_hash

        p = self.profile(profile)
        names, methods, n_seeds = self.select(p, datasets=datasets, models=models, seeds=seeds,
                                             known_datasets=tuple(SETTINGS))
        jobs = []
        for name in names:
            pairs = [(m, p.recipe_for(name, m)) for m in methods]
            pairs = [(m, r) for m, r in pairs if r is not None]
            if not pairs:
                continue
            needs = sorted({r.backbone for _, r in pairs if r.pretrained})
            files = _weight_files(weights, needs)
            for backbone in needs:
                if backbone not in files:
                    raise ValueError(f"{name}: the {profile} recipes start from ImageNet weights of {backbone}, which "
                                     f"this suite cannot download; pass --weights {backbone}=PATH. "
                                     f"{weights_hint(backbone)}")
                if not Path(files[backbone]).is_file():
                    raise ValueError(f"--weights {backbone}={files[backbone]}: no such file. {weights_hint(backbone)}")
            try:
                data_hash = setting_hash(setting(name))
            except (DatasetNotFoundError, DatasetIntegrityError, DatasetDownloadError, FileNotFoundError) as exc:
                raise ValueError(f"{name}: {exc}") from None
            noise_known = setting(name).noise is not None or setting(name).dataset == "shapes3d-hue-noisy"
            for method, recipe in pairs:
                recipe_dict = recipe.to_dict()
                workers = recipe_dict.pop("workers")  # how images are decoded, not what is computed
                config = {"method": method, "recipe": recipe_dict, "setting": name, "precision": precision}
                # the leaderboard's model row: the method under this profile's recipes (the recipe of each setting
                # is in the job's config and identity), so one method is one row across a profile's settings
                model_hash = config_hash({"method": method, "profile": profile, "precision": precision})
                metrics = tuple(PlannedMetric(m, METRICS[m][0], {"selection": _selection(name)})
                                for m in metric_names(method, noise_known))
                run_options = {"workers": workers}
                if recipe.pretrained:
                    run_options[WEIGHTS_FLAG] = str(files[recipe.backbone])
                for seed in range(n_seeds):
                    jobs.append(Job(suite=self.name, protocol_version=self.protocol_version, profile=profile,
                                    dataset=name, dataset_hash=data_hash, model=method, seed=seed, config=config,
                                    model_config_hash=model_hash, metrics=metrics, run_options=run_options))
        if not jobs:
            raise ValueError(f"profile {profile!r} has no recipe for {', '.join(methods)} on {', '.join(names)}.")
        return jobs

    # ----------------------------------------------------------------------------------------------- compute
    def compute(self, job: Job, run_dir: Path, *, device: str = "auto", progress: bool = True,
                on_progress: Callable[[int, int, float], None] | None = None) -> list[leaderboard.Record]:
        from benchmark.suites.noisy_labels.run import run_method
        from benchmark.suites.noisy_labels.splits import load_splits

        t0 = time.perf_counter()
        data = load_splits(setting(job.dataset))
        recipe = Recipe.from_dict({**job.config["recipe"], "workers": job.run_options.get("workers", 0)})
        outcome = run_method(job.model, recipe, data, Path(run_dir), seed=job.seed,
                             device=device, progress=progress, on_progress=on_progress,
                             precision=job.config.get("precision", "auto"), cpu_threads=CPU_THREADS,
                             weights=job.run_options.get(WEIGHTS_FLAG))
        from benchmark.suites.noisy_labels.plots import job_figure

        job_figure(outcome.curves, outcome.components, Path(run_dir) / "plots" / "curves.png",
                   title=f"{job.dataset} / {job.model} / seed {job.seed}")
        timing = {**outcome.timing, "job_seconds": time.perf_counter() - t0}
        env = environment()
        return [job.record(m, value=outcome.values[m], components=outcome.components.get(m, {}),
                           environment=env, timing=timing) for m in job.metric_names]

    def claims(self, profile: str) -> list:
        self.profile(profile)
        return _profiles.claims(profile)

    def summary_plots(self, profile: str, records: list, out: Path) -> list[Path]:
        from benchmark.suites.noisy_labels.plots import run_figures

        return run_figures(records, Path(out) / "plots" / self.name / profile)

    def run_note(self, profile: str, out: Path) -> str:
        return (f"Curves (accuracy and memorisation per epoch, accuracy against the width K): "
                f"{Path(out) / 'runs' / profile}/<setting>/<method>/seed<seed>-<job id>/plots/")


def _weight_files(weights, needs: list[str]) -> dict[str, str]:
    """``{backbone: path}`` from ``--weights`` items ``backbone=PATH`` (or one bare PATH for the one backbone
    needed)."""
    if not weights:
        return {}
    items = [weights] if isinstance(weights, (str, Path)) else list(weights)
    files, bare = {}, []
    for item in map(str, items):
        name, sep, path = item.partition("=")
        if sep and name in BACKBONES:
            files[name] = path
        else:
            bare.append(item)
    if bare:
        if len(bare) > 1 or len(needs) > 1:
            raise ValueError(f"--weights: name the backbone of each file (resnet18=PATH resnet50=PATH) when the run "
                             f"needs {', '.join(needs) or 'no pretrained backbone'}; got {' '.join(map(str, items))}.")
        if needs:
            files[needs[0]] = bare[0]
    return files


def _selection(name: str) -> str:
    from benchmark.suites.noisy_labels.splits import SELECTIONS

    return SELECTIONS[setting(name).val]

