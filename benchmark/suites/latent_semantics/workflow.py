"""One latent-semantics job from start to records: shared artifacts, fine-tuning, directions and scores.

``run_job(job, run_dir)`` returns ``(values, components, timing)`` for :meth:`LatentSemanticsSuite.compute`.
Shared folders (``benchmark.shared``), each built once under a lock:

* ``latent-semantics-probes``: ``probe-<key>.pt`` per dataset and probe settings, and ``real-<key>-<n>.npz``,
  the real images' feature statistics in that probe's space;
* ``latent-semantics-gan-<dataset>-seed<s>-<hash>``: the pretrained StyleGAN2's engine run (``checkpoint.pt``).

The job folder holds the fine-tuning run (``finetune/``, householder only), ``directions.npz`` (the directions,
the NMI matrix, the traversal examples) and ``plots/``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmark.jobs import Job, config_hash
from benchmark.shared import exclusive, shared_dir
from benchmark.suites.latent_semantics.config import EvalSettings, GanSettings, ProbeSettings

__all__ = ["run_job", "pretrained_run", "probe_and_real_stats"]


def probe_and_real_stats(dataset, run_dir: Path, probe_settings: ProbeSettings, n_real: int, *, device: str,
                         progress: bool):
    """The dataset's factor probe and the real images' feature statistics, from the shared cache."""
    from benchmark.suites.latent_semantics.evaluation import real_statistics
    from benchmark.suites.latent_semantics.probe import load_or_train_probe, probe_key

    folder = shared_dir(run_dir, "latent-semantics-probes")
    key = probe_key(dataset, probe_settings)
    with exclusive(folder / f"probe-{key}"):
        result = load_or_train_probe(dataset, folder, probe_settings, device=device, progress=progress)
        stats_path = folder / f"real-{key}-{n_real}.npz"
        if stats_path.exists():
            try:
                with np.load(stats_path) as f:
                    return result, (f["mu"], f["sigma"])
            except (OSError, ValueError, KeyError):  # damaged: computed again below
                pass
        mu, sigma = real_statistics(dataset, result.probe, n_real)
        tmp = stats_path.with_suffix(".tmp.npz")
        np.savez(tmp, mu=mu, sigma=sigma)
        tmp.replace(stats_path)
    return result, (mu, sigma)


def pretrained_run(job: Job, run_dir: Path, gan: GanSettings, dataset, *, device: str, cpu_threads: int,
                   progress: bool, on_progress) -> Path:
    """Train (or resume, or find finished) the seed's pretrained StyleGAN2 in the shared folder; its run folder."""
    from benchmark.suites.latent_semantics.gan import ImageBatches, StyleGANTask
    from benchmark.training import EngineConfig, train

    key = config_hash({"gan": gan.to_dict(), "dataset": dataset.content_hash, "seed": job.seed,
                       "precision": job.config.get("precision", "auto")})[:10]
    folder = shared_dir(run_dir, f"latent-semantics-gan-{job.dataset}-seed{job.seed}-{key}")
    task = StyleGANTask(gan, ImageBatches(dataset), label=f"StyleGAN2 {job.dataset} seed {job.seed}",
                        data_hash=dataset.content_hash)
    cfg = EngineConfig(steps=gan.iterations, seed=job.seed, device=device, cpu_threads=cpu_threads,
                       precision="fp32", checkpoint_every=gan.checkpoint_every, log_every=50, progress=progress)
    with exclusive(folder):
        train(cfg, task, run_dir=folder, on_progress=on_progress)
    return folder


def _finetune(job: Job, run_dir: Path, gan: GanSettings, dataset, pretrained: Path, *, device: str, cpu_threads: int,
              progress: bool, on_progress):
    from benchmark.suites.latent_semantics.gan import ImageBatches, StyleGANTask
    from benchmark.training import EngineConfig, train

    task = StyleGANTask(gan, ImageBatches(dataset), label=f"Householder fine-tuning {job.dataset} seed {job.seed}",
                        data_hash=dataset.content_hash, init_from=pretrained / "checkpoint.pt")
    inserted = task.build_model()["g_ema"].eval()  # right after the swap, before any fine-tuning step
    cfg = EngineConfig(steps=task.steps, seed=job.seed, device=device, cpu_threads=cpu_threads, precision="fp32",
                       checkpoint_every=max(1, min(gan.checkpoint_every, task.steps // 2)), log_every=10,
                       progress=progress)
    result = train(cfg, task, run_dir=run_dir / "finetune", on_progress=on_progress)
    return result.model["g_ema"].eval(), inserted, result


def run_job(job: Job, run_dir: Path, *, device: str = "auto", progress: bool = True,
            on_progress: Callable[[int, int, float], None] | None = None, cpu_threads: int = 1):
    """Run ``job`` in ``run_dir``: ``(values, components, timing)`` of its planned metrics."""
    import datasets
    import metrics
    from benchmark.suites.latent_semantics import evaluation as ev
    from benchmark.suites.latent_semantics.gan import load_generator
    from benchmark.suites.latent_semantics.plots import job_figures
    from benchmark.training import CHECKPOINT_NAME, resolve_device, torch_threads

    dataset = datasets.load(job.dataset)
    gan = GanSettings.from_dict(job.config["gan"])
    probe_settings = ProbeSettings(**job.config["probe"])
    s = EvalSettings(**job.config["evaluation"])
    dev = resolve_device(device)
    timing: dict[str, float] = {}
    t = time.perf_counter()
    with torch_threads(cpu_threads) if cpu_threads else contextlib.nullcontext():
        probe_result, (real_mu, real_sigma) = probe_and_real_stats(dataset, run_dir, probe_settings, s.n_real,
                                                                   device=str(dev), progress=progress)
    timing["probe_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    pretrained = pretrained_run(job, run_dir, gan, dataset, device=device, cpu_threads=cpu_threads,
                                progress=progress, on_progress=on_progress)
    timing["pretrain_seconds"] = time.perf_counter() - t
    g_pre = load_generator(pretrained / CHECKPOINT_NAME, gan)
    values: dict[str, float] = {}
    components: dict[str, dict] = {}
    t = time.perf_counter()
    with torch_threads(cpu_threads) if cpu_threads else contextlib.nullcontext():
        if job.model == "householder":
            g_edit, g_inserted, ft = _finetune(job, run_dir, gan, dataset, pretrained, device=device,
                                               cpu_threads=cpu_threads, progress=progress, on_progress=on_progress)
            timing["finetune_seconds"] = ft.train_seconds
        else:
            g_edit, g_inserted = g_pre, None
        g_edit, g_pre = g_edit.to(dev), g_pre.to(dev)
        g_inserted = None if g_inserted is None else g_inserted.to(dev)
        probe = probe_result.probe.to(dev).eval()
        fid_seed = 1000 * job.seed + 3

        def fd(g) -> float:
            mu, sigma = ev.generated_statistics(g, probe, s.n_fid, seed=fid_seed, batch=s.batch)
            return metrics.frechet_distance_from_stats(real_mu, real_sigma, mu, sigma)

        values["fd_probe"] = fd(g_edit)
        if job.model == "householder":
            fd_pre = fd(g_pre)
            values["fd_ratio"] = values["fd_probe"] / max(fd_pre, 1e-12)
            values["fd_insert_ratio"] = fd(g_inserted) / max(fd_pre, 1e-12)
            components["fd_ratio"] = {"fd_pretrained": fd_pre, "fd_finetuned": values["fd_probe"],
                                      "finetune_iterations": gan.finetune_iterations,
                                      "pretrain_iterations": gan.iterations}
            components["fd_insert_ratio"] = {"fd_inserted": values["fd_insert_ratio"] * max(fd_pre, 1e-12)}
        layers = ev.method_directions(job.model, g_edit, g_pre, gan.k, seed=job.seed)
        alphas, preds, examples, grid = ev.traverse(g_edit, layers, probe, s, seed=job.eval_seed)
        scores = metrics.direction_factor_scores(alphas, preds, factor_sizes=dataset.factor_sizes)
        eps = float(grid[-1]) / 20.0
        values["ppl_w"] = ev.path_length(g_edit, probe, s, seed=fid_seed + 1)
        values["pipl"] = ev.path_length(g_edit, probe, s, seed=fid_seed + 2, layers=layers, eps=eps)
        weights = job.run_options.get("weights") or {}
        if weights:
            values.update(_with_weights(weights, dataset, run_dir, g_edit, probe, layers, s, fid_seed, eps, dev))
    timing["evaluation_seconds"] = time.perf_counter() - t
    values.update(modularity=scores.modularity, compactness=scores.compactness,
                  controlled_fraction=scores.controlled_fraction,
                  probe_accuracy=float(np.mean(probe_result.accuracy)))
    labels = [lab for layer in layers for lab in layer.labels()]
    factor_names = list(dataset.factor_names)
    moved = [factor_names[i] if i >= 0 else "-" for i in scores.factor_of_direction]
    components["modularity"] = {"nmi": scores.nmi.round(5).tolist(), "directions": labels, "factors": factor_names,
                                "factor_of_direction": moved, "n_active": int(scores.active_directions.sum()),
                                "per_direction": scores.modularity_per_direction.round(5).tolist()}
    components["compactness"] = {"per_factor": dict(zip(factor_names, scores.compactness_per_factor.round(5).tolist()))}
    components["probe_accuracy"] = {"per_factor": dict(zip(factor_names, probe_result.accuracy)),
                                    "probe_key": probe_result.key}
    components["pipl"] = {"eps": eps, "alpha_max": float(grid[-1])}
    run_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(run_dir / "directions.npz", nmi=scores.nmi, examples=examples, alphas=grid,
                        directions=np.concatenate([layer.vectors for layer in layers]), labels=np.array(labels),
                        moved=np.array(moved), factors=np.array(factor_names))
    figures = job_figures(run_dir / "plots", title=f"{job.model} on {job.dataset}, seed {job.seed}",
                          examples=examples, alphas=grid, labels=labels, moved=moved, nmi=scores.nmi,
                          factor_names=factor_names)
    components["modularity"]["figures"] = [str(f) for f in figures]
    timing["device"] = str(dev)
    return values, components, timing


def _with_weights(weights: dict[str, str], dataset, run_dir: Path, g, probe, layers, s: EvalSettings, seed: int,
                  eps: float, dev) -> dict[str, float]:
    """FID with the user's Inception weights (real statistics cached per weights file), and PPL / PIPL with LPIPS
    (same samples as the probe's)."""
    import hashlib

    import metrics
    from benchmark.suites.latent_semantics import evaluation as ev
    from benchmark.suites.latent_semantics.perceptual import load_inception, load_lpips

    out = {}
    if "inception" in weights:
        net = load_inception(weights["inception"]).to(dev)

        def features(x01):
            with torch.no_grad():
                return torch.cat([net(x01[i:i + 64].to(dev)).double().cpu()
                                  for i in range(0, x01.shape[0], 64)]).numpy()

        folder = shared_dir(run_dir, "latent-semantics-probes")
        digest = hashlib.sha256()
        with open(weights["inception"], "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        key = digest.hexdigest()[:16]
        path = folder / f"inception-{key}-{dataset.content_hash[:16]}-{s.n_real}.npz"
        with exclusive(path):
            if path.exists():
                with np.load(path) as f:
                    mu, sigma = f["mu"], f["sigma"]
            else:
                mu, sigma = ev.real_statistics(dataset, None, s.n_real, features=features, batch=128)
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, mu=mu, sigma=sigma)
                tmp.replace(path)
        gen_mu, gen_sigma = ev.generated_statistics(g, probe, s.n_fid, seed=seed, batch=s.batch, features=features)
        out["fid"] = metrics.frechet_distance_from_stats(mu, sigma, gen_mu, gen_sigma)
    if "lpips" in weights:
        lp = load_lpips(weights["vgg16"], weights["lpips"]).to(dev)

        def distance(a01, b01):
            with torch.no_grad():
                return lp(a01.to(dev), b01.to(dev)).double().cpu()

        out["ppl_w_lpips"] = ev.path_length(g, probe, s, seed=seed + 1, distance=distance)
        out["pipl_lpips"] = ev.path_length(g, probe, s, seed=seed + 2, layers=layers, eps=eps, distance=distance)
    return out
