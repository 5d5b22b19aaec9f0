"""Frozen result dataclasses returned by the public metric functions.

Every result carries its scores as Python floats, its per-factor / per-latent arrays, the number of
samples it was computed on, the resolved options (``params``) and ``metric_version``. ``to_dict()``
turns it into plain JSON-ready Python types for run records (arrays become nested lists).

Bump a metric's version (``METRIC_VERSIONS``) whenever a change can alter its numbers: records of
different metric versions are never compared on the leaderboard.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

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

METRIC_VERSIONS: dict[str, str] = {
    "infomec": "1.2",  # 1.1: continuous latents standardised (centred) before the kNN estimate, as the reference;
    # 1.2: InfoE's probes fitted by metrics._logistic (scikit-learn's iterates; sums rounded otherwise: InfoE moves
    # by up to 1e-6 where a probe stops at max_iter unconverged)
    "mig": "1.0",
    "equivariance_error": "1.0",
    "dci": "1.1",  # 1.1: the default estimator 'gbt' is metrics._gbt (exact splits, sklearn's ties at random)
    "sap": "1.1",  # 1.1: the default solver is 'exact' (metrics._svc), not liblinear stopped at tol=1e-4
    "modularity_explicitness": "1.1",  # 1.1: explicitness' regressions fitted by metrics._logistic (as 1.2 of infomec)
    "factor_vae_score": "1.0",
    "beta_vae_score": "1.0",
    "sparsity": "1.0",
    "psnr": "1.0",
    "direction_factor_scores": "1.0",
    "frechet_distance": "1.0",
}


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) into JSON-ready Python objects."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _frozen_copy(arr: np.ndarray) -> np.ndarray:
    """A read-only copy: a result never aliases (nor freezes) an array its caller still holds."""
    out = arr.copy()
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class MetricResult:
    """Fields shared by every metric result (declared last in each subclass via kw_only)."""

    n_samples: int = field(kw_only=True)
    params: Mapping[str, Any] = field(kw_only=True, default_factory=dict)
    metric_version: str = field(kw_only=True, default="1.0")

    def __post_init__(self) -> None:
        # Arrays in a frozen result must not be mutable through the back door.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, _frozen_copy(value))

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python types (floats, ints, nested lists, dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class InfoMECResult(MetricResult):
    """InfoM (modularity), InfoE (explicitness), InfoC (compactness); Hsu et al. 2023."""

    infom: float
    infoe: float
    infoc: float
    nmi: np.ndarray  # (K, L) normalised mutual information I(s_i; z_j) / H(s_i)
    active: np.ndarray  # (L,) bool, latents counted as active
    infoe_per_factor: np.ndarray  # (K,) normalised cross-entropy gain per factor
    infom_per_latent: np.ndarray  # (L,) rescaled modularity of each latent; 0 where not counted (see infomec)
    infoc_per_factor: np.ndarray  # (K,) rescaled compactness of each factor; 0 for constant factors


@dataclass(frozen=True)
class MIGResult(MetricResult):
    """Mutual information gap; Chen et al. 2018."""

    score: float
    per_factor: np.ndarray  # (K,) (I_(1) - I_(2)) / H(v_k)
    mutual_info: np.ndarray  # (K, L) nats
    entropy: np.ndarray  # (K,) nats


@dataclass(frozen=True)
class DCIResult(MetricResult):
    """Disentanglement, completeness, informativeness; Eastwood & Williams 2018 (disentanglement_lib form)."""

    disentanglement: float
    completeness: float
    informativeness: float  # mean test accuracy over factors
    informativeness_train: float  # mean train accuracy over factors
    importance: np.ndarray  # (L, K) absolute feature importances
    per_latent_disentanglement: np.ndarray  # (L,)
    per_factor_completeness: np.ndarray  # (K,)
    per_factor_informativeness: np.ndarray  # (K,) test accuracy


@dataclass(frozen=True)
class SAPResult(MetricResult):
    """Separated attribute predictability; Kumar et al. 2018."""

    score: float
    matrix: np.ndarray  # (L, K) predictability of factor k from latent j
    per_factor: np.ndarray  # (K,) top-1 minus top-2 gap


@dataclass(frozen=True)
class ModularityExplicitnessResult(MetricResult):
    """Modularity and explicitness; Ridgeway & Mozer 2018 (disentanglement_lib form)."""

    modularity: float
    explicitness: float  # mean test ROC-AUC over factors
    explicitness_train: float
    per_latent_modularity: np.ndarray  # (L,)
    per_factor_explicitness: np.ndarray  # (K,) test ROC-AUC
    mutual_info: np.ndarray  # (K, L) nats, 20-bin estimate


@dataclass(frozen=True)
class FactorVAEResult(MetricResult):
    """FactorVAE majority-vote score; Kim & Mnih 2018."""

    score: float  # eval accuracy
    train_accuracy: float
    eval_accuracy: float
    n_active: int
    votes: np.ndarray  # (K, L) training vote counts


@dataclass(frozen=True)
class BetaVAEResult(MetricResult):
    """BetaVAE score; Higgins et al. 2017."""

    score: float  # eval accuracy
    train_accuracy: float
    eval_accuracy: float


@dataclass(frozen=True)
class SparsityResult(MetricResult):
    """Sparsity measures of a representation (per sample averaged, plus per-unit statistics)."""

    hoyer: float  # mean over samples of Hoyer's measure, in [0, 1]
    gini: float  # mean over samples of the Gini index, in [0, 1]
    l0_fraction: float  # mean fraction of |z| > threshold per sample
    threshold: float
    participation_ratio: float  # (sum_j var_j)^2 / sum_j var_j^2, effective number of used units
    dead_units: int  # units whose range over the sample is <= threshold
    kurtosis: float  # mean excess kurtosis over non-dead units
    per_unit_kurtosis: np.ndarray  # (L,), 0 for dead units
    per_sample_hoyer: np.ndarray  # (N,)


@dataclass(frozen=True)
class PSNRResult(MetricResult):
    """Peak signal-to-noise ratio in dB (max value 1), mean over images."""

    score: float
    per_image: np.ndarray  # (N,) dB


@dataclass(frozen=True)
class EquivarianceErrorResult(MetricResult):
    """Relative equivariance error of a map under a group (PER's ``equiv_error``; Kim et al. 2023)."""

    score: float  # mean over samples and group elements, in [0, 1]
    per_transform: np.ndarray  # (n_transforms,) mean over samples for each sampled group element
    per_sample: np.ndarray  # (N,) mean over group elements for each sample


@dataclass(frozen=True)
class DirectionScoresResult(MetricResult):
    """InfoMEC-style modularity/compactness of discovered latent directions against factors read by a probe."""

    modularity: float  # mean rescaled ratio over active directions, in [0, 1]
    compactness: float  # mean rescaled ratio over factors some direction moves, in [0, 1]
    controlled_fraction: float  # fraction of factors with max_j NMI[j, i] > control_threshold
    nmi: np.ndarray  # (J, K) I(alpha_j; predicted factor i) / H(alpha_j)
    factor_of_direction: np.ndarray  # (J,) int, argmax_i NMI[j, i]; -1 for inactive directions
    active_directions: np.ndarray  # (J,) bool, max_i NMI[j, i] > active_threshold
    modularity_per_direction: np.ndarray  # (J,) rescaled ratio of each direction; 0 for inactive ones
    compactness_per_factor: np.ndarray  # (K,) rescaled ratio of each factor; 0 for factors no direction moves


@dataclass(frozen=True)
class FrechetResult(MetricResult):
    """Frechet distance between Gaussians fitted to two feature sets (FID's formula; Heusel et al. 2017)."""

    score: float
    n_a: int
    n_b: int
    dim: int
