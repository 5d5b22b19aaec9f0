"""InfoMEC: information-based modularity (InfoM), explicitness (InfoE) and compactness (InfoC).

Hsu, Dorrell, Whittington, Wu, Finn (2023), *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378. Reference implementation: ``kylehkhsu/latent_quantization``,
``disentangle/metrics/infomec.py::compute_infomec`` (standalone, the default here) and the
training-time variant in ``scripts/train_ae.py`` / ``disentangle/metrics/mutual_information.py``
(``variant="training"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, InfoMECResult
from metrics._validation import (
    check_bool,
    check_choice,
    check_consistent_samples,
    check_float,
    check_int,
    check_latents,
    check_random_state,
    check_sources,
    pow2_rescaled,
)
from metrics._split import random_state_param
from metrics.mutual_info import TableTooLargeError, encode_sources, mutual_info_matrix

__all__ = ["infomec", "normalized_mutual_info"]

# Settings of the two reference variants (qlae_infomec.md §1.3).
VARIANTS = {
    "standalone": {"n_neighbors": 10, "activity_threshold": 1 / 20, "discrete_activity": "range",
                   "infoe_features": "auto", "standardize_for_mi": True},
    "training": {"n_neighbors": 3, "activity_threshold": 1 / 8, "discrete_activity": "threshold",
                 "infoe_features": "standardize", "standardize_for_mi": False},
}


def normalized_mutual_info(sources, latents, *, discrete_latents: bool, n_neighbors: int = 10,
                           random_state=0, standardize: bool = True) -> np.ndarray:
    """NMI[i, j] = I(s_i; z_j) / H(s_i), shape (K, L), as InfoMEC computes it.

    Discrete latents: each distinct value is a category, plug-in MI. Continuous latents: kNN
    estimator (Ross 2014) with ``n_neighbors``, on latents centred and scaled to unit variance first
    (``standardize``, the standalone reference's StandardScaler: the estimator's tie-breaking jitter,
    1e-10 * max(1, mean|z| / std), would otherwise grow with a latent's offset). Rows of constant
    factors (H = 0) are 0.
    """
    s_codes, _ = encode_sources(sources)
    if discrete_latents:
        try:
            mi, h = mutual_info_matrix(s_codes, latents, bins=None, return_entropy=True)
        except TableTooLargeError as exc:
            raise TableTooLargeError(exc.detail, "Integer latents are scored as discrete codes by default: pass "
                                     "discrete_latents=False to score them as continuous values.") from None
    else:
        z = _standard_scaled(latents) if standardize else latents
        mi, h = mutual_info_matrix(s_codes, z, estimator="knn", n_neighbors=n_neighbors,
                                   random_state=random_state, return_entropy=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        nmi = np.where(h[:, None] > 0, mi / h[:, None], 0.0)
    return nmi


def infomec(
    sources,
    latents,
    *,
    discrete_latents: bool | None = None,
    variant: str = "standalone",
    n_neighbors: int | None = None,
    activity_threshold: float | None = None,
    infoe_features: str | None = None,
    max_iter: int = 100,
    random_state=0,
) -> InfoMECResult:
    """InfoM, InfoE and InfoC of a representation against ground-truth factors.

    With NMI[i, j] = I(s_i; z_j) / H(s_i) over the K non-constant factors and A the set of active
    latents,

    .. math::
        \\mathrm{InfoM} = \\frac{\\frac{1}{|A|}\\sum_{j \\in A} \\frac{\\max_i NMI_{ij}}{\\sum_i NMI_{ij}} - \\frac1K}{1 - \\frac1K},
        \\qquad
        \\mathrm{InfoC} = \\frac{\\frac{1}{K}\\sum_i \\frac{\\max_{j\\in A} NMI_{ij}}{\\sum_{j\\in A} NMI_{ij}} - \\frac{1}{|A|}}{1 - \\frac{1}{|A|}},

    and InfoE = (1/K) sum_i (CE_null,i - CE_i) / CE_null,i, where CE_i is the in-sample
    cross-entropy of an unregularised multinomial logistic regression (balanced class weights)
    predicting s_i from all latents and CE_null,i = log(n_classes_i) (balanced weights make the
    null model uniform).

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer factor classes (label-encoded per column internally).
    latents : array-like of shape (n_samples, n_latents)
        The representation.
    discrete_latents : bool or None, default=None
        True: each distinct latent value is a category (plug-in MI, one-hot features for InfoE);
        use it for quantised models (QLAE). False: continuous (kNN MI, standardised features).
        None: True for integer/bool dtypes, False for floats.
    variant : {"standalone", "training"}, default="standalone"
        "standalone" matches ``compute_infomec`` (kNN with 10 neighbours on standardised latents;
        active if range > max range / 20, discrete latents active if range > 0; InfoE on one-hot
        codes for discrete latents). "training" matches the authors' training-time logging
        (kNN with 3 neighbours; active if range > max range / 8 for both kinds; InfoE on
        standardised values even for discrete latents).
    n_neighbors, activity_threshold, infoe_features : optional
        Override the variant's setting. ``infoe_features`` is "auto" (one-hot if discrete else
        standardise), "onehot" or "standardize".
    max_iter : int, default=100
        L-BFGS iterations of the InfoE regressions (the reference uses 100 and often stops before
        convergence; values then depend on the scikit-learn version at the 1e-4 level).
    random_state : int, Generator or None, default=0
        Seed of the kNN tie-breaking jitter.

    Returns
    -------
    InfoMECResult
        ``infom``, ``infoe``, ``infoc`` in [0, 1] (up to estimator noise), ``nmi`` (K, L) with
        zero rows for constant factors, ``active`` (L,) bool, and the terms the three scores average:
        ``infoe_per_factor`` (K,), ``infoc_per_factor`` (K,) (the rescaled ratio
        (max_j/sum_j - 1/|A|)/(1 - 1/|A|) of each factor; InfoC is their mean over the non-constant
        factors) and ``infom_per_latent`` (L,) (the rescaled ratio of each latent; InfoM is their mean
        over the active latents with some information, the others hold 0). They show which factors
        and latents drive a score: a factor that no latent captures has an NMI row of estimator noise,
        and its compactness term is decided by that noise (see docs/models.md).

    Raises
    ------
    ValueError
        Bad input (see ``mutual_info_matrix``), or every factor constant.

    Notes
    -----
    Where the reference divides by zero or returns NaN we define the value:

    * constant factors (H = 0) carry nothing to capture: they are left out of all three scores
      (their NMI row is 0, their ``infoe_per_factor`` is 0); if all factors are constant a
      ``ValueError`` is raised;
    * an active latent with zero NMI to every factor is left out of the InfoM mean, as the
      training-time variant does (the standalone code returns NaN); if no active latent carries
      information, InfoM = 0;
    * a factor with zero NMI to every active latent contributes the uniform ratio 1/|A|, i.e. 0
      after rescaling (the standalone code returns NaN);
    * one non-constant factor: InfoM = 1 if any active latent is informative, else 0;
      one active latent: InfoC = 1 for every informative factor (0 for the others);
      no active latent: InfoM = InfoC = 0.

    References
    ----------
    Hsu et al. (2023), arXiv:2305.18378; reference code ``kylehkhsu/latent_quantization``
    (``disentangle/metrics/infomec.py``).

    Examples
    --------
    >>> import numpy as np, metrics
    >>> s = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]])
    >>> r = metrics.infomec(s, s, discrete_latents=True)
    >>> round(r.infom, 6), round(r.infoc, 6)
    (1.0, 1.0)
    """
    s = check_sources(sources)
    z = check_latents(latents)
    n = check_consistent_samples(sources=s, latents=z)
    variant = check_choice(variant, "variant", tuple(VARIANTS))
    settings = dict(VARIANTS[variant])
    if discrete_latents is None:
        discrete_latents = z.dtype.kind in "biu"
    discrete_latents = check_bool(discrete_latents, "discrete_latents")
    if n_neighbors is not None:
        settings["n_neighbors"] = check_int(n_neighbors, "n_neighbors", min_value=1)
    if activity_threshold is not None:
        settings["activity_threshold"] = check_float(activity_threshold, "activity_threshold",
                                                     min_value=0.0, max_value=1.0)
    if infoe_features is not None:
        settings["infoe_features"] = check_choice(infoe_features, "infoe_features",
                                                  ("auto", "onehot", "standardize"))
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    rng = check_random_state(random_state)

    codes, n_classes = encode_sources(s)
    varying = n_classes > 1
    if not varying.any():
        raise ValueError(
            f"sources must have at least one non-constant factor; all {s.shape[1]} factors are constant."
        )
    nmi = normalized_mutual_info(codes, z, discrete_latents=discrete_latents, n_neighbors=settings["n_neighbors"],
                                 random_state=rng, standardize=settings["standardize_for_mi"])
    active = _active_latents(z, discrete_latents, settings)
    infom_per_latent, counted, infoc_terms = _modularity_compactness(nmi[varying], active)
    infom = float(infom_per_latent[counted].mean()) if counted.any() else 0.0
    infoc_per_factor = np.zeros(s.shape[1])
    infoc_per_factor[varying] = infoc_terms
    infoc = float(infoc_terms.mean())

    features = settings["infoe_features"]
    if features == "auto":
        features = "onehot" if discrete_latents else "standardize"
    infoe_per_factor = np.zeros(s.shape[1])
    probe_features = _probe_features(z, features)
    for k in np.flatnonzero(varying):
        infoe_per_factor[k] = _explicitness(probe_features, codes[:, k], int(n_classes[k]), max_iter)
    infoe = float(infoe_per_factor[varying].mean())

    params = {"discrete_latents": discrete_latents, "variant": variant, **settings,
              "infoe_features_resolved": features, "max_iter": max_iter,
              "random_state": random_state_param(random_state)}
    return InfoMECResult(
        infom=infom, infoe=infoe, infoc=infoc, nmi=nmi, active=active, infoe_per_factor=infoe_per_factor,
        infom_per_latent=infom_per_latent, infoc_per_factor=infoc_per_factor,
        n_samples=n, params=params, metric_version=METRIC_VERSIONS["infomec"],
    )


def _active_latents(z: np.ndarray, discrete: bool, settings: dict) -> np.ndarray:
    # in float64: a bool latent has no subtraction, and int8 -128..127 would wrap to a range of -1
    ranges = z.max(axis=0).astype(np.float64) - z.min(axis=0).astype(np.float64)
    if discrete and settings["discrete_activity"] == "range":
        return ranges > 0
    return ranges > ranges.max() * settings["activity_threshold"]


def _modularity_compactness(nmi: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-latent modularity and per-factor compactness from the NMI rows of non-constant factors (K', L).

    Returns ``(infom_terms, counted_latents, infoc_terms)``: the rescaled ratio of every
    latent (L,) and a mask of the latents InfoM averages over (active and informative), and the
    rescaled ratio of every factor (K',), all of which InfoC averages over.
    """
    k, n_latents = nmi.shape
    p = nmi[:, active]
    n_active = p.shape[1]
    infom_terms = np.zeros(n_latents)
    counted = np.zeros(n_latents, dtype=bool)
    if n_active == 0:
        return infom_terms, counted, np.zeros(k)
    col_sum = p.sum(axis=0)
    informative = col_sum > 0
    counted[np.flatnonzero(active)[informative]] = True
    if k == 1:
        infom_terms[counted] = 1.0
    elif informative.any():
        ratio = p[:, informative].max(axis=0) / col_sum[informative]
        infom_terms[counted] = (ratio - 1.0 / k) / (1.0 - 1.0 / k)
    row_sum = p.sum(axis=1)
    if n_active == 1:
        infoc_terms = (row_sum > 0).astype(np.float64)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(row_sum > 0, p.max(axis=1) / row_sum, 1.0 / n_active)
        infoc_terms = (ratio - 1.0 / n_active) / (1.0 - 1.0 / n_active)
    return infom_terms, counted, infoc_terms


def _standard_scaled(z: np.ndarray) -> np.ndarray:
    """Latents through scikit-learn's StandardScaler, as the reference does before the kNN MI and InfoE, after
    exact power-of-two rescaling (the same values, but no overflow of the variance near the float maximum)."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(pow2_rescaled(z))


def _probe_features(z: np.ndarray, features: str) -> dict[str, Any]:
    """The InfoE probe's input, as ``fit_logistic`` takes it: standardised latents, or the columns of
    ``OneHotEncoder().fit_transform(z)`` (per latent, its sorted distinct values) as one-hot codes."""
    if features != "onehot":
        return {"x": _standard_scaled(z)}
    columns, offset = [], 0
    for j in range(z.shape[1]):
        values, index = np.unique(z[:, j], return_inverse=True)
        columns.append(index.reshape(-1) + offset)
        offset += values.size
    return {"codes": np.stack(columns, axis=1), "n_columns": offset}


def _explicitness(probe_features: dict[str, Any], y: np.ndarray, n_classes: int, max_iter: int) -> float:
    """(CE_null - CE) / CE_null of an unregularised balanced multinomial logistic regression: the reference's
    ``LogisticRegression(C=inf, class_weight="balanced", max_iter=max_iter)``, fitted by ``metrics._logistic``
    (the same objective and scipy optimiser, the loss in numba)."""
    from sklearn.metrics import log_loss

    from metrics._logistic import fit_logistic, predict_proba

    model = fit_logistic(y, C=np.inf, balanced=True, max_iter=max_iter, tol=1e-4, **probe_features)
    proba = predict_proba(model, x=probe_features.get("x"), codes=probe_features.get("codes"))
    ce = log_loss(y, proba, labels=np.arange(n_classes))
    ce_null = np.log(n_classes)
    return float((ce_null - ce) / ce_null)
