"""Mutual information gap (MIG).

Chen, Li, Grosse, Duvenaud (2018), *Isolating Sources of Disentanglement in Variational
Autoencoders*, NeurIPS 2018, arXiv:1802.04942. Matches disentanglement_lib
``evaluation/metrics/mig.py::_compute_mig`` (20 equal-width bins per latent, plug-in MI in nats,
normalised by the factor entropy).
"""

from __future__ import annotations

import numpy as np

from metrics._results import METRIC_VERSIONS, MIGResult
from metrics._validation import check_consistent_samples, check_int, check_latents, check_mutual_info, check_sources
from metrics.mutual_info import entropy, mutual_info_matrix

__all__ = ["mig"]


def mig(sources, latents, *, num_bins: int = 20, mutual_info: np.ndarray | None = None) -> MIGResult:
    """Mean over factors of the normalised gap between the two most informative latents.

    .. math:: \\mathrm{MIG} = \\frac1K \\sum_k \\frac{I(z_{j^{(1)}}; v_k) - I(z_{j^{(2)}}; v_k)}{H(v_k)}

    where j^(1), j^(2) are the latents with the largest and second-largest MI with factor k.

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer factor classes.
    latents : array-like of shape (n_samples, n_latents)
        The representation.
    num_bins : int >= 2, default=20
        Equal-width bins per latent (disentanglement_lib's ``discretizer.num_bins``).
    mutual_info : ndarray of shape (n_factors, n_latents), optional
        A precomputed ``mutual_info_matrix(sources, latents, bins=num_bins)`` to reuse.

    Returns
    -------
    MIGResult
        ``score`` in [0, 1], ``per_factor`` (K,), ``mutual_info`` (K, L) nats, ``entropy`` (K,) nats.

    Notes
    -----
    A constant factor (H = 0; disentanglement_lib returns NaN) gets ``per_factor`` 0 and is left
    out of the mean; if every factor is constant a ``ValueError`` is raised. With one latent the
    second-largest MI is taken as 0 (disentanglement_lib fails with an IndexError).

    References
    ----------
    Chen et al. (2018), arXiv:1802.04942; Locatello et al. (2019), disentanglement_lib,
    ``evaluation/metrics/mig.py``.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> s = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]])
    >>> z = s.astype(float)
    >>> round(metrics.mig(s, z, num_bins=3).score, 6)
    1.0
    """
    s = check_sources(sources)
    z = check_latents(latents)
    n = check_consistent_samples(sources=s, latents=z)
    num_bins = check_int(num_bins, "num_bins", min_value=2)
    if mutual_info is None:
        mi, h = mutual_info_matrix(s, z, bins=num_bins, return_entropy=True)
    else:
        mi = check_mutual_info(mutual_info, s.shape[1], z.shape[1])
        h = entropy(s)
    varying = h > 0
    if not varying.any():
        raise ValueError(f"sources must have at least one non-constant factor; all {s.shape[1]} factors are constant.")
    top = np.sort(mi, axis=1)[:, ::-1]
    second = top[:, 1] if mi.shape[1] > 1 else np.zeros(mi.shape[0])
    per_factor = np.zeros(mi.shape[0])
    per_factor[varying] = (top[varying, 0] - second[varying]) / h[varying]
    return MIGResult(
        score=float(per_factor[varying].mean()), per_factor=per_factor, mutual_info=mi, entropy=h,
        n_samples=n, params={"num_bins": num_bins}, metric_version=METRIC_VERSIONS["mig"],
    )
