"""Frechet distance between Gaussians fitted to two feature sets.

This is FID's formula (Heusel et al. 2017, *GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium*, arXiv:1706.08500):

.. math:: FD = \\lVert \\mu_1 - \\mu_2 \\rVert^2 + \\mathrm{Tr}(\\Sigma_1 + \\Sigma_2 - 2 (\\Sigma_1 \\Sigma_2)^{1/2}).

The suite computes it in a probe's feature space, and with Inception features (i.e. FID proper) when a
user supplies the Inception weights; this module only sees the feature arrays.
"""

from __future__ import annotations

import numpy as np

from metrics._results import METRIC_VERSIONS, FrechetResult
from metrics._validation import as_numpy, check_latents

__all__ = ["frechet_distance", "frechet_distance_from_stats", "feature_statistics"]


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) (``np.cov(features, rowvar=False)``, as pytorch-fid) of
    features of shape (n_samples, d), n_samples >= 2, as float64."""
    x = check_latents(features, name="features", min_samples=2).astype(np.float64)
    mu = x.mean(axis=0)
    sigma = np.atleast_2d(np.cov(x, rowvar=False))
    return mu, sigma


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    The trace of the matrix square root is computed in a symmetric form,
    Tr((S1 S2)^{1/2}) = sum_k sqrt(lambda_k(S1^{1/2} S2 S1^{1/2})), with S1^{1/2} and the eigenvalues
    from ``eigh`` (negative eigenvalues of rounding clipped to 0). S1 S2 is similar to the symmetric
    positive semi-definite S1^{1/2} S2 S1^{1/2}, so the two traces agree, but this form needs no
    non-symmetric ``sqrtm``, no eps * I regulariser for singular covariances (e.g. fewer samples than
    dimensions) and has no imaginary part to discard. The result is clipped at 0 (a squared distance;
    identical statistics give rounding noise of either sign otherwise).

    Raises ValueError for mismatched shapes, NaN/inf, or non-symmetric covariances.
    """
    m1 = _vector(mu1, "mu1")
    m2 = _vector(mu2, "mu2")
    if m1.shape != m2.shape:
        raise ValueError(f"mu1 and mu2 must have the same dimension; got shapes {m1.shape} and {m2.shape}.")
    d = m1.shape[0]
    s1 = _covariance(sigma1, "sigma1", d)
    s2 = _covariance(sigma2, "sigma2", d)
    diff = m1 - m2
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root1 @ s2 @ root1
    inner = (inner + inner.T) / 2.0
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)).sum())
    fd = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_covmean
    return max(fd, 0.0)


def frechet_distance(features_a, features_b) -> FrechetResult:
    """Frechet distance between Gaussians fitted (``feature_statistics``) to two feature sets.

    Parameters
    ----------
    features_a : array-like of shape (n, d), n >= 2
    features_b : array-like of shape (m, d), m >= 2

    Returns
    -------
    FrechetResult
        ``score`` (>= 0, 0 for identical sets), ``n_a``, ``n_b``, ``dim``; ``n_samples`` = n + m.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> round(metrics.frechet_distance(x, x + [3.0, 4.0]).score, 9)
    25.0
    """
    a = check_latents(features_a, name="features_a", min_samples=2)
    b = check_latents(features_b, name="features_b", min_samples=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same feature dimension; got shapes "
                         f"{a.shape} and {b.shape}.")
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    score = frechet_distance_from_stats(mu1, s1, mu2, s2)
    return FrechetResult(score=score, n_a=int(a.shape[0]), n_b=int(b.shape[0]), dim=int(a.shape[1]),
                         n_samples=int(a.shape[0] + b.shape[0]), params={},
                         metric_version=METRIC_VERSIONS["frechet_distance"])


def _vector(x, name: str) -> np.ndarray:
    arr = np.asarray(as_numpy(x, name), dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be 1D with shape (d,), d >= 1; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _covariance(x, name: str, d: int) -> np.ndarray:
    arr = np.atleast_2d(np.asarray(as_numpy(x, name), dtype=np.float64))
    if arr.shape != (d, d):
        raise ValueError(f"{name} must have shape (d, d) = ({d}, {d}) to match the means; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    scale = max(float(np.abs(arr).max()), np.finfo(np.float64).tiny)
    if np.abs(arr - arr.T).max() > 1e-8 * scale:
        raise ValueError(f"{name} must be a symmetric covariance matrix; got max |S - S^T| = "
                         f"{float(np.abs(arr - arr.T).max()):.3g}.")
    return (arr + arr.T) / 2.0
