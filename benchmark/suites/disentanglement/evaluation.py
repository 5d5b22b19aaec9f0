"""Metrics of one representation on one evaluation sample: the disentanglement suite's evaluation protocol.

Used by every job of the suite and by submissions (``python -m benchmark submit``), so that the
leaderboard's numbers always come from this one function. A metric family that fails (for example
on a degenerate representation) is reported as failed and the others still run.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# metric family -> the leaderboard metric names it produces
FAMILIES: dict[str, tuple[str, ...]] = {
    "infomec": ("infom", "infoe", "infoc"),
    "mig": ("mig",),
    "dci": ("dci_disentanglement", "dci_completeness", "dci_informativeness"),
    "sap": ("sap",),
    "modularity_explicitness": ("modularity", "explicitness"),
}
RECONSTRUCTION_METRICS = ("psnr",)
ALL_METRICS: tuple[str, ...] = tuple(m for names in FAMILIES.values() for m in names) + RECONSTRUCTION_METRICS
_FAMILY_OF = {m: fam for fam, names in FAMILIES.items() for m in names}
_VERSION_KEY = {"infom": "infomec", "infoe": "infomec", "infoc": "infomec", "mig": "mig",
                "dci_disentanglement": "dci", "dci_completeness": "dci", "dci_informativeness": "dci",
                "sap": "sap", "modularity": "modularity_explicitness", "explicitness": "modularity_explicitness",
                "psnr": "psnr"}


@dataclass(frozen=True)
class EvalSettings:
    """Options of the evaluation protocol (part of every record's identity through metric_params)."""

    families: tuple[str, ...] = tuple(FAMILIES)  # metric families to compute
    # metrics.dci's estimator: 'gbt' (disentanglement_lib's gradient-boosted trees, in numba), 'gbt_sklearn'
    # (scikit-learn's own, minutes per model) or 'random_forest'
    dci_estimator: str = "gbt"
    test_size: float = 1 / 3  # held-out fraction for DCI, SAP and explicitness
    # score DCI on a seeded random subset of dci_samples images of the sample (None: all of them), for the slow
    # estimators; the other metrics always use the whole sample
    dci_samples: int | None = None

    def __post_init__(self) -> None:
        if self.dci_samples is not None and (not isinstance(self.dci_samples, int) or self.dci_samples < 10):
            raise ValueError(f"dci_samples must be None or an integer >= 10; got {self.dci_samples!r}.")


@dataclass(frozen=True)
class MetricOutcome:
    """One leaderboard metric: its value, components, identity params, version, status and time."""

    metric: str
    value: float | None
    components: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    version: str = ""
    status: str = "ok"
    error: str | None = None
    seconds: float = 0.0


def metric_family(metric: str) -> str:
    """The family that computes ``metric`` (one call, one time for all its metrics); psnr is its own."""
    return _FAMILY_OF.get(metric, metric)


def metric_version(metric: str) -> str:
    import metrics  # here, not at import: the suite's profiles and the CLI's help stay light

    return metrics.METRIC_VERSIONS[_VERSION_KEY[metric]]


def _dci_samples(settings: EvalSettings, n_samples: int) -> int:
    """How many of the evaluation images DCI is fitted and scored on."""
    return n_samples if settings.dci_samples is None else min(n_samples, settings.dci_samples)


def _dci_rows(settings: EvalSettings, n_samples: int, seed: int) -> np.ndarray | slice:
    """The rows of the evaluation sample DCI uses: all, or a seeded random subset of ``dci_samples``.

    Not the first rows: evaluation samples list their images in dataset order, so a prefix holds only the
    first classes of the slowest-varying factors (dSprites' first 2,000 of 10,000: one shape of three).
    """
    n_dci = _dci_samples(settings, n_samples)
    if n_dci == n_samples:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n_samples, n_dci, replace=False))


def metric_params(metric: str, *, settings: EvalSettings, n_samples: int, seed: int) -> dict:
    """The options a metric is computed with; known before computing, so records can be looked up."""
    family = metric_family(metric)
    base = {"n_samples": int(n_samples)}
    if family == "infomec":
        # Whether latents are scored as codes is a property of the model (quantised or not), recorded
        # in the components, not part of the protocol: QLAE and AE rows must share one table row.
        return {**base, "variant": "standalone", "random_state": seed}
    if family == "mig":
        return {**base, "num_bins": 20}
    if family == "dci":
        n_dci = _dci_samples(settings, int(n_samples))
        # a subset is a seeded random one (see _dci_rows), and its params say so: records without the
        # "subset" key are never taken for these
        subset = {} if n_dci == n_samples else {"subset": "seeded random"}
        return {"n_samples": n_dci, **subset, "estimator": settings.dci_estimator, "test_size": settings.test_size,
                "random_state": seed}
    if family == "sap":
        return {**base, "continuous_factors": False, "test_size": settings.test_size, "random_state": seed,
                "svc_solver": "exact"}
    if family == "modularity_explicitness":
        return {**base, "num_bins": 20, "test_size": settings.test_size, "random_state": seed}
    if family == "psnr":
        return {**base, "max_value": 1.0}
    raise ValueError(f"metric must be one of {', '.join(ALL_METRICS)}; got {metric!r}.")


def planned_metrics(settings: EvalSettings, *, with_reconstruction: bool) -> tuple[str, ...]:
    names = tuple(m for fam in settings.families for m in FAMILIES[fam])
    return names + (RECONSTRUCTION_METRICS if with_reconstruction else ())


def evaluate_representation(sources: np.ndarray, latents: np.ndarray, *, discrete: bool, settings: EvalSettings,
                            seed: int) -> list[MetricOutcome]:
    """Every metric family of ``settings`` on (sources (N, K), latents (N, L))."""
    n = int(sources.shape[0])
    outcomes: list[MetricOutcome] = []
    for family in settings.families:
        names = FAMILIES[family]
        start = time.perf_counter()
        try:
            values = _compute_family(family, sources, latents, discrete=discrete, settings=settings, seed=seed)
        except Exception as exc:  # a failing metric is recorded, never drops the others
            summary = f"{type(exc).__name__}: {exc}"
            detail = traceback.format_exc(limit=3)
            for name in names:
                outcomes.append(MetricOutcome(
                    name, None, {"traceback": detail}, metric_params(name, settings=settings, n_samples=n, seed=seed),
                    metric_version(name), "failed", summary, time.perf_counter() - start))
            continue
        seconds = time.perf_counter() - start
        for name in names:
            value, components = values[name]
            outcomes.append(MetricOutcome(
                name, float(value), components,
                metric_params(name, settings=settings, n_samples=n, seed=seed),
                metric_version(name), seconds=seconds))
    return outcomes


def evaluate_reconstruction(reconstructions: np.ndarray, images: np.ndarray) -> MetricOutcome:
    """PSNR (dB, max value 1) of reconstructions against the images, mean over images."""
    import metrics

    start = time.perf_counter()
    n = int(images.shape[0])
    params = metric_params("psnr", settings=EvalSettings(), n_samples=n, seed=0)
    try:
        r = metrics.psnr(reconstructions, images)
    except Exception as exc:
        return MetricOutcome("psnr", None, {}, params, metric_version("psnr"), "failed",
                             f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    return MetricOutcome("psnr", r.score, {"per_image_mean": float(np.mean(r.per_image))}, params,
                         metric_version("psnr"), seconds=time.perf_counter() - start)


def _compute_family(family: str, s: np.ndarray, z: np.ndarray, *, discrete: bool, settings: EvalSettings,
                    seed: int) -> dict[str, tuple[float, dict[str, Any]]]:
    import numba

    import metrics

    if family == "infomec":
        r = metrics.infomec(s, z, discrete_latents=discrete, random_state=seed)
        comp = {"nmi": r.nmi.tolist(), "active": r.active.tolist(), "infoe_per_factor": r.infoe_per_factor.tolist(),
                "infoc_per_factor": r.infoc_per_factor.tolist(), "infom_per_latent": r.infom_per_latent.tolist(),
                "discrete_latents": bool(discrete)}
        return {"infom": (r.infom, comp), "infoe": (r.infoe, comp), "infoc": (r.infoc, comp)}
    if family == "mig":
        r = metrics.mig(s, z, num_bins=20)
        return {"mig": (r.score, {"per_factor": r.per_factor.tolist(), "mutual_info": r.mutual_info.tolist()})}
    if family == "dci":
        rows = _dci_rows(settings, s.shape[0], seed)
        # all the cores this process may use (numba's count: the suite's workers set it to their share);
        # the fitted trees do not depend on n_jobs
        r = metrics.dci(s[rows], z[rows], estimator=settings.dci_estimator, test_size=settings.test_size,
                        random_state=seed, n_jobs=numba.get_num_threads(), progress=False)
        comp = {"importance": r.importance.tolist(), "informativeness_train": r.informativeness_train,
                "per_factor_informativeness": r.per_factor_informativeness.tolist()}
        return {"dci_disentanglement": (r.disentanglement, comp), "dci_completeness": (r.completeness, comp),
                "dci_informativeness": (r.informativeness, comp)}
    if family == "sap":
        r = metrics.sap(s, z, test_size=settings.test_size, random_state=seed, solver="exact")
        return {"sap": (r.score, {"matrix": r.matrix.tolist()})}
    if family == "modularity_explicitness":
        r = metrics.modularity_explicitness(s, z, num_bins=20, test_size=settings.test_size, random_state=seed)
        return {"modularity": (r.modularity, {"per_latent": r.per_latent_modularity.tolist()}),
                "explicitness": (r.explicitness, {"per_factor": r.per_factor_explicitness.tolist(),
                                                  "train": r.explicitness_train})}
    raise ValueError(f"unknown metric family {family!r}")


def warm_up(settings: EvalSettings, *, discrete: bool, n_samples: int = 1_000, seed: int = 0) -> None:
    """Run the numba-backed metric families once on a small seeded sample, so that their kernels are compiled
    (or loaded from numba's cache) now. ``n_samples`` reaches the kNN estimator's parallel threshold, so the
    kernels a job uses at the current thread count are the ones compiled; DCI's trees compile both of theirs.
    DCI by scikit-learn's estimators has nothing to compile and is skipped."""
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, 4, size=(n_samples, 3))
    latents = rng.normal(size=(n_samples, 6)).astype(np.float32)
    if discrete:
        latents = np.round(latents).astype(np.float32)
    families = tuple(f for f in settings.families if f != "dci")
    evaluate_representation(sources, latents, discrete=discrete, settings=dataclasses.replace(settings, families=families),
                            seed=seed)
    if "dci" in settings.families and settings.dci_estimator == "gbt":
        from metrics._gbt import warm_up as warm_up_trees

        warm_up_trees()
