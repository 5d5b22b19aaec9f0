"""Scores of discovered latent directions against ground-truth factors ("InfoMEC over directions").

Setting (Song et al., ICCV 2023, latent-semantics discovery on StyleGAN): each discovered direction j is
traversed from many seeded latents with an edit coordinate alpha on a fixed grid, and a probe network
reads the factors of the generated images. That gives, for every direction j, paired samples
(alpha, predicted class of factor i) for every factor i. The scores ask whether each direction moves
one factor (modularity), whether each factor is moved by one direction (compactness) and how many
factors some direction controls.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from metrics._results import METRIC_VERSIONS, DirectionScoresResult
from metrics._validation import as_numpy, check_float, check_int
from metrics.mutual_info import _label_encode, mutual_info_matrix

__all__ = ["direction_factor_scores"]


def direction_factor_scores(
    alphas,
    predictions,
    *,
    factor_sizes: Sequence[int] | None = None,
    active_threshold: float = 0.05,
    control_threshold: float = 0.3,
) -> DirectionScoresResult:
    """Modularity, compactness and controlled fraction of J directions against K probed factors.

    With alpha_j the edit coordinate along direction j (each distinct grid value one category) and
    y_i the probe's predicted class of factor i, the normalised mutual information is

    .. math:: NMI_{ji} = I(\\alpha_j; y_i) / H(\\alpha_j)

    (plug-in estimates from the contingency table, in nats; 1 means the factor is a deterministic
    function of alpha along that direction, 0 that it does not depend on alpha). A row whose alpha
    is constant (H = 0) is 0. Then, as the rescaled ratios of InfoM / InfoC (Hsu et al. 2023,
    *Disentanglement via Latent Quantization*, arXiv:2305.18378), with squared NMI:

    * direction j is *active* if max_i NMI_ji > ``active_threshold``; its modularity term is
      m_j = (max_i NMI_ji^2 / sum_i NMI_ji^2 - 1/K) / (1 - 1/K) (1: it moves one factor; 0: it
      moves all K equally; m_j = 1 when K = 1). ``modularity`` is the mean of m_j over active
      directions (0 if none).
    * factor i is *moved* if max_j NMI_ji > ``active_threshold``; its compactness term is
      c_i = (max_j NMI_ji^2 / sum_j NMI_ji^2 - 1/J) / (1 - 1/J), summing over all J directions
      (c_i = 1 when J = 1). ``compactness`` is the mean of c_i over moved factors (0 if none).
    * ``controlled_fraction`` is the fraction of all K factors with max_j NMI_ji > ``control_threshold``.

    (``metrics.infomec`` follows the reference code's unsquared max/sum ratio; the squared form here
    weighs a small second factor less. Both are 1 for one factor and 0 for an equal spread.)

    Parameters
    ----------
    alphas : array-like of shape (n_directions, n_samples)
        The edit coordinate of each sample: integer codes (index on the alpha grid) or the float grid
        values themselves; each distinct value of a row is one category.
    predictions : array-like of shape (n_directions, n_samples, n_factors)
        Integer classes the probe predicts for each factor of each generated image.
    factor_sizes : sequence of int, optional
        Number of classes of each factor; if given, predictions must lie in [0, factor_sizes[i]).
    active_threshold : float in [0, 1], default=0.05
        NMI above which a direction counts as active and a factor as moved.
    control_threshold : float in [0, 1], default=0.3
        NMI above which a factor counts as controlled by a direction.

    Returns
    -------
    DirectionScoresResult
        ``modularity``, ``compactness``, ``controlled_fraction`` in [0, 1], ``nmi`` (J, K),
        ``factor_of_direction`` (J,) (argmax_i NMI_ji, -1 for inactive directions),
        ``active_directions`` (J,) bool, and the per-direction / per-factor terms. ``n_samples`` is
        the number of samples per direction.

    References
    ----------
    Hsu et al. (2023), arXiv:2305.18378 (InfoMEC); Song et al. (2023), ICCV (the direction-discovery
    setting with a Householder projector).

    Examples
    --------
    >>> import numpy as np, metrics
    >>> a = np.tile(np.arange(4), (2, 5))              # 2 directions, 20 samples on a 4-point grid
    >>> y = np.zeros((2, 20, 2), dtype=int)
    >>> y[0, :, 0] = a[0]; y[1, :, 1] = a[1] % 2       # direction 0 sets factor 0, direction 1 factor 1
    >>> r = metrics.direction_factor_scores(a, y)
    >>> r.modularity, r.compactness, r.factor_of_direction.tolist()
    (1.0, 1.0, [0, 1])
    """
    a, y = _check_inputs(alphas, predictions)
    n_dir, n, n_fac = y.shape
    sizes = _check_factor_sizes(factor_sizes, y)
    active_threshold = check_float(active_threshold, "active_threshold", min_value=0.0, max_value=1.0)
    control_threshold = check_float(control_threshold, "control_threshold", min_value=0.0, max_value=1.0)

    nmi = np.zeros((n_dir, n_fac))
    for j in range(n_dir):
        codes, _ = _label_encode(a[j][:, None])
        mi, h = mutual_info_matrix(codes, y[j], bins=None, return_entropy=True)
        if h[0] > 0:
            # MI <= H(alpha) holds exactly; clip the last-bit rounding of the two sums
            nmi[j] = np.clip(mi[0] / h[0], 0.0, 1.0)

    row_max = nmi.max(axis=1)
    active = row_max > active_threshold
    factor_of_direction = np.where(active, nmi.argmax(axis=1), -1).astype(np.int64)
    mod_terms = np.zeros(n_dir)
    if active.any():
        mod_terms[active] = _rescaled_ratio(nmi[active], axis=1)
    modularity = float(mod_terms[active].mean()) if active.any() else 0.0

    col_max = nmi.max(axis=0)
    moved = col_max > active_threshold
    comp_terms = np.zeros(n_fac)
    if moved.any():
        comp_terms[moved] = _rescaled_ratio(nmi[:, moved], axis=0)
    compactness = float(comp_terms[moved].mean()) if moved.any() else 0.0
    controlled_fraction = float(np.mean(col_max > control_threshold))

    params = {"active_threshold": active_threshold, "control_threshold": control_threshold,
              "factor_sizes": None if sizes is None else [int(v) for v in sizes],
              "n_directions": n_dir, "n_factors": n_fac}
    return DirectionScoresResult(
        modularity=modularity, compactness=compactness, controlled_fraction=controlled_fraction, nmi=nmi,
        factor_of_direction=factor_of_direction, active_directions=active,
        modularity_per_direction=mod_terms, compactness_per_factor=comp_terms,
        n_samples=n, params=params, metric_version=METRIC_VERSIONS["direction_factor_scores"],
    )


def _rescaled_ratio(nmi: np.ndarray, axis: int) -> np.ndarray:
    """(max NMI^2 / sum NMI^2 - 1/n) / (1 - 1/n) along ``axis`` (n its length; 1 when n == 1).

    Callers pass only lines whose max exceeds a non-negative threshold, so every sum is positive.
    """
    n = nmi.shape[axis]
    sq = nmi ** 2
    if n == 1:
        return np.ones(sq.shape[1 - axis])
    ratio = sq.max(axis=axis) / sq.sum(axis=axis)
    return np.clip((ratio - 1.0 / n) / (1.0 - 1.0 / n), 0.0, 1.0)


def _check_inputs(alphas, predictions) -> tuple[np.ndarray, np.ndarray]:
    a = as_numpy(alphas, "alphas")
    y = as_numpy(predictions, "predictions")
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"alphas must hold numbers (grid indices or values); got dtype {a.dtype}.")
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise TypeError(f"predictions must hold integer classes; got dtype {y.dtype}.")
    if a.ndim != 2:
        raise ValueError(f"alphas must be 2D with shape (n_directions, n_samples); got shape {a.shape}.")
    if y.ndim != 3:
        raise ValueError(
            f"predictions must be 3D with shape (n_directions, n_samples, n_factors); got shape {y.shape}.")
    if a.shape[0] < 1 or a.shape[1] < 2:
        raise ValueError(f"alphas must have at least one direction and two samples per direction; "
                         f"got shape {a.shape}.")
    if y.shape[:2] != a.shape:
        raise ValueError(f"predictions must have shape (n_directions, n_samples, n_factors) = "
                         f"({a.shape[0]}, {a.shape[1]}, n_factors) to match alphas {a.shape}; got shape {y.shape}.")
    if y.shape[2] < 1:
        raise ValueError(f"predictions must have at least one factor (n_factors >= 1); got shape {y.shape}.")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        j, i = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"alphas contains NaN or infinity (first at direction {j}, sample {i}).")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            j, i, k = np.argwhere(~np.isfinite(y))[0]
            raise ValueError(
                f"predictions contains NaN or infinity (first at direction {j}, sample {i}, factor {k}).")
        frac = y != np.round(y)
        if frac.any():
            j, i, k = np.argwhere(frac)[0]
            raise ValueError(f"predictions must hold integer classes; got {y[j, i, k].item()!r} at direction {j}, "
                             f"sample {i}, factor {k}.")
        y = y.astype(np.int64)
    elif y.dtype.kind in "bu":
        y = y.astype(np.int64)
    return a, y


def _check_factor_sizes(factor_sizes, y: np.ndarray):
    if factor_sizes is None:
        return None
    sizes = [check_int(v, f"factor_sizes[{k}]", min_value=1) for k, v in enumerate(factor_sizes)]
    if len(sizes) != y.shape[2]:
        raise ValueError(f"factor_sizes must have one entry per factor ({y.shape[2]}); got {len(sizes)}.")
    for k, size in enumerate(sizes):
        col = y[:, :, k]
        lo, hi = int(col.min()), int(col.max())
        if lo < 0 or hi >= size:
            raise ValueError(f"predictions of factor {k} must lie in [0, {size}) (factor_sizes[{k}] = {size}); "
                             f"got values in [{lo}, {hi}].")
    return sizes
