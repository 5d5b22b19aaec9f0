"""Standalone disentanglement and representation metrics on plain arrays.

``sources`` are ground-truth factors of shape (n_samples, n_factors) holding integer classes;
``latents`` are representations of shape (n_samples, n_latents). Arrays may be numpy arrays or
torch tensors (converted without importing torch). Every function validates its input through
``metrics._validation`` and returns a frozen dataclass (see ``metrics._results``).

Importing this package compiles nothing: numba kernels compile on first use and are cached on
disk (``cache=True``), so the cost is paid once per machine.
"""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes

from metrics._results import (  # noqa: E402
    METRIC_VERSIONS,
    BetaVAEResult,
    DCIResult,
    FactorVAEResult,
    InfoMECResult,
    MetricResult,
    MIGResult,
    ModularityExplicitnessResult,
    PSNRResult,
    SAPResult,
    SparsityResult,
    EquivarianceErrorResult,
    DirectionScoresResult,
    FrechetResult,
)

__all__ = [
    "METRIC_VERSIONS",
    "MetricResult",
    "InfoMECResult",
    "MIGResult",
    "DCIResult",
    "SAPResult",
    "ModularityExplicitnessResult",
    "FactorVAEResult",
    "BetaVAEResult",
    "SparsityResult",
    "PSNRResult",
    "EquivarianceErrorResult",
    "DirectionScoresResult",
    "FrechetResult",
]

from metrics.mutual_info import bin_edges, encode_sources, entropy, mutual_info_matrix  # noqa: E402

__all__ += ["mutual_info_matrix", "entropy", "encode_sources", "bin_edges"]
from metrics.infomec import infomec, normalized_mutual_info  # noqa: E402
from metrics.mig import mig  # noqa: E402

__all__ += ["infomec", "normalized_mutual_info", "mig"]
from metrics.dci import dci  # noqa: E402
from metrics.factor_vae import beta_vae_score, factor_vae_score  # noqa: E402
from metrics.modularity import modularity_explicitness  # noqa: E402
from metrics.reconstruction import psnr  # noqa: E402
from metrics.sap import sap  # noqa: E402
from metrics.sparsity import sparsity  # noqa: E402

__all__ += ["dci", "sap", "modularity_explicitness", "factor_vae_score", "beta_vae_score", "sparsity", "psnr"]
from metrics.equivariance import equivariance_error  # noqa: E402

__all__ += ["equivariance_error"]
from metrics.directions import direction_factor_scores  # noqa: E402
from metrics.frechet import feature_statistics, frechet_distance, frechet_distance_from_stats  # noqa: E402

__all__ += ["direction_factor_scores", "frechet_distance", "frechet_distance_from_stats", "feature_statistics"]
