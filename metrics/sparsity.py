"""Sparsity measures of a representation: Hoyer, Gini, L0, participation ratio, dead units, kurtosis."""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, SparsityResult
from metrics._validation import check_float, check_latents, pow2_rescaled

__all__ = ["sparsity"]


def sparsity(latents: Any, *, threshold: float = 1e-2) -> SparsityResult:
    r"""How sparse a representation is, per sample (population sparseness) and per unit.

    For a sample :math:`z \in \mathbb{R}^L` with magnitudes :math:`c = |z|`, sorted ascending as
    :math:`c_{(1)} \le \dots \le c_{(L)}`:

    .. math::

        \mathrm{Hoyer}(z) = \frac{\sqrt{L} - \|c\|_1 / \|c\|_2}{\sqrt{L} - 1}, \qquad
        \mathrm{Gini}(z) = 1 - 2 \sum_{i=1}^{L} \frac{c_{(i)}}{\|c\|_1} \cdot \frac{L - i + 1/2}{L},

    :math:`L_0(z) = \#\{j : c_j > \tau\} / L`, each averaged over samples. Per unit j over the
    sample: the participation ratio :math:`(\sum_j \sigma_j^2)^2 / \sum_j \sigma_j^4` (effective
    number of units in use, in [1, L]), dead units (range :math:`\max z_j - \min z_j \le \tau`) and
    the excess kurtosis :math:`m_4 / m_2^2 - 3` (biased moments, Fisher's definition) of each unit,
    averaged over the units that are not dead.

    Parameters
    ----------
    latents : array-like of shape (n_samples, n_latents)
        Representation, numpy array or torch tensor.
    threshold : float >= 0, default=1e-2
        :math:`\tau`: a magnitude above it counts as active (L0), a unit whose range does not
        exceed it is dead.

    Returns
    -------
    SparsityResult
        ``hoyer`` in [0, 1] (1 = one active unit, 0 = all equal magnitudes); ``gini`` in
        [0, 1 - 1/L] (same ordering); ``l0_fraction`` in [0, 1]; ``threshold``;
        ``participation_ratio`` in {0} or [1, L]; ``dead_units`` in [0, L]; ``kurtosis`` (>= -2, 0
        for a Gaussian unit); ``per_unit_kurtosis`` (L,); ``per_sample_hoyer`` (N,).

    Raises
    ------
    ValueError
        Wrong shape, no samples, NaN/inf, a negative or non-finite ``threshold``.

    Notes
    -----
    Defined values where the formulas divide by zero:

    - All-zero sample: as sparse as possible, Hoyer 1 and Gini :math:`1 - 1/L` (their values for a
      one-hot vector), L0 fraction 0.
    - One latent (L = 1): Hoyer 1 for every sample (a single unit is one active unit), Gini 0 (its
      formula), participation ratio 1 unless the unit is constant.
    - Constant unit: it is dead, its kurtosis is reported as 0 and left out of the mean; all units
      dead gives kurtosis 0 and, if all variances are 0, participation ratio 0.

    References
    ----------
    Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints. JMLR 5,
    1457-1469.

    Hurley, N. & Rickard, S. (2009). Comparing measures of sparsity. IEEE Trans. Inf. Theory
    55(10), 4723-4741. doi:10.1109/TIT.2009.2027527 (Gini index).

    Gao, P., Trautmann, E., Yu, B. et al. (2017). A theory of multineuronal dimensionality,
    dynamics and measurement. bioRxiv 214262 (participation ratio).

    Olshausen, B. A. & Field, D. J. (1996). Emergence of simple-cell receptive field properties by
    learning a sparse code for natural images. Nature 381, 607-609 (kurtosis as sparseness).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import sparsity
    >>> z = np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0], [1.0, 1.0, 1.0], [0, 0, 0], [1.0, 0, 0]])
    >>> r = sparsity(z)
    >>> round(r.hoyer, 6), round(r.gini, 6), round(r.l0_fraction, 6), r.dead_units
    (0.833333, 0.555556, 0.388889, 0)
    """
    threshold = check_float(threshold, "threshold", min_value=0.0)
    z = np.asarray(check_latents(latents, name="latents"), dtype=np.float64)
    n, n_latents = z.shape
    c = np.abs(z)
    # Hoyer and Gini are scale invariant per sample: dividing each row by its largest magnitude keeps
    # squares of tiny or huge values from underflowing or overflowing.
    row_max = c.max(axis=1)
    zero = row_max == 0  # all-zero samples
    c = c / np.where(zero, 1.0, row_max)[:, None]

    l1 = c.sum(axis=1)
    l2 = np.sqrt((c**2).sum(axis=1))
    if n_latents == 1:
        hoyer = np.ones(n)
    else:
        sqrt_l = np.sqrt(n_latents)
        ratio = np.divide(l1, l2, out=np.full(n, 1.0), where=~zero)  # all-zero -> ratio 1 -> Hoyer 1
        hoyer = np.clip((sqrt_l - ratio) / (sqrt_l - 1.0), 0.0, 1.0)

    weights = (n_latents - np.arange(1, n_latents + 1) + 0.5) / n_latents  # (L,)
    sorted_c = np.sort(c, axis=1)
    gini = np.full(n, 1.0 - 1.0 / n_latents)  # all-zero samples: the one-hot value
    nz = ~zero
    gini[nz] = 1.0 - 2.0 * (sorted_c[nz] / l1[nz, None] * weights).sum(axis=1)
    gini = np.clip(gini, 0.0, 1.0)

    l0 = (np.abs(z) > threshold).mean(axis=1)

    value_range = z.max(axis=0) - z.min(axis=0)
    # Ratios of variances and standardised moments are scale invariant: compute them on rescaled
    # values so that squares of tiny (or huge) latents neither underflow nor overflow.
    peak = float(np.abs(z).max())
    var = (z / peak).var(axis=0) if peak > 0 else np.zeros(n_latents)
    var = np.where(value_range > 0, var, 0.0)  # a constant unit has variance 0, not rounding noise
    top_var = var.max()
    if top_var > 0:
        v = var / top_var
        participation = float(np.clip(v.sum() ** 2 / np.sum(v**2), 1.0, n_latents))
    else:
        participation = 0.0

    dead = value_range <= threshold
    kurt = np.zeros(n_latents)
    varying = value_range > 0
    if varying.any():
        centred = pow2_rescaled(z[:, varying])  # exact; the mean of values near the float maximum would overflow
        centred = centred - centred.mean(axis=0)
        centred = centred / np.abs(centred).max(axis=0)
        m2 = (centred**2).mean(axis=0)
        kurt[varying] = np.where(m2 > 0, (centred**4).mean(axis=0) / np.where(m2 > 0, m2, 1.0) ** 2 - 3.0, 0.0)
    alive = ~dead & varying
    kurt[~alive] = 0.0

    return SparsityResult(
        hoyer=float(hoyer.mean()),
        gini=float(gini.mean()),
        l0_fraction=float(l0.mean()),
        threshold=threshold,
        participation_ratio=participation,
        dead_units=int(dead.sum()),
        kurtosis=float(kurt[alive].mean()) if alive.any() else 0.0,
        per_unit_kurtosis=kurt,
        per_sample_hoyer=hoyer,
        n_samples=n,
        params={"threshold": threshold},
        metric_version=METRIC_VERSIONS["sparsity"],
    )
