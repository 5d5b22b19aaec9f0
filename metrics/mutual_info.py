"""Mutual information between ground-truth factors and latents, and factor entropies.

Two estimators:

* ``"plugin"``: the plug-in (maximum-likelihood) estimate on a contingency table,
  :math:`I(s; z) = \\sum_{a,b} p_{ab} \\log \\frac{p_{ab}}{p_a p_b}` in nats, with latents
  discretised into equal-width bins over the sample's [min, max] (``bins=20`` is
  disentanglement_lib's ``histogram_discretizer``: ``np.digitize(z, np.histogram(z, 20)[1][:-1])``),
  numpy's ``"auto"`` rule, or taken as categories (``bins=None``: every distinct value is one
  class, as InfoMEC does for discrete latents). All K x L tables are filled in one pass over the
  samples by a numba kernel; values equal ``sklearn.metrics.mutual_info_score`` on the same codes.
* ``"knn"``: the nearest-neighbour estimator for a continuous variable and a discrete one (Ross,
  2014, PLoS ONE 9(2): e87357), as ``sklearn.feature_selection.mutual_info_classif`` computes it,
  but using the one-dimensional structure (one sort per latent, neighbour windows and boundary walks)
  instead of k-d trees.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import digamma

from metrics import _kernels
from metrics._validation import (
    check_choice,
    check_consistent_samples,
    check_int,
    check_latents,
    check_random_state,
    check_sources,
    first_nonfinite_row,
    pow2_rescaled,
)

__all__ = ["mutual_info_matrix", "entropy", "encode_sources", "bin_edges"]

# From this many samples on, the histogram and range kernels run on all cores (the histogram with
# private tables per thread). Measured on 2 cores
# (10 latents x 6 factors): parallel and serial are level at ~1e4 samples, parallel is 1.35x
# faster at 5e4 and 1.4-1.9x at 1e5-1e6. (The suite's worker processes set numba's thread count to
# their share of the cores, so metric kernels never oversubscribe a core next to a training loop.)
PARALLEL_MIN_SAMPLES = 50_000
# The kNN estimator does far more work per sample; its parallel kernel (one (factor, latent) pair
# per task) is faster than the serial one from ~1e3 samples on (1.5x at 1e3, 1.6x at 1e4).
KNN_PARALLEL_MIN_SAMPLES = 1_000
# Factors are packed into groups whose combined class count stays below this cap (see _kernels).
GROUP_CAP = 1024
# Source ranges wider than this (max - min + 1) are label-encoded with np.unique instead of offset.
_MAX_OFFSET_RANGE = 1 << 20
# Refuse contingency tables larger than this many cells (about 200 MB of int32 counters).
_MAX_TABLE_CELLS = 50_000_000
# Tables up to this many cells are counted in 16-bit counters (1 MiB: one core's L2 cache here).
_SMALL_TABLE_CELLS = 1 << 19


class TableTooLargeError(ValueError):
    """The plug-in estimator's contingency tables would be too large; ``detail`` says by how much, the message
    adds ``advice`` (callers with other options, such as ``infomec``, give their own)."""

    def __init__(self, detail: str, advice: str) -> None:
        super().__init__(f"{detail} {advice}")
        self.detail = detail


def encode_sources(sources) -> tuple[np.ndarray, np.ndarray]:
    """Map each factor column to class codes 0..n_k-1 and return (codes, n_classes).

    Equivalent to ``sklearn.preprocessing.LabelEncoder`` per column (order-preserving). Classes
    that never occur get no code, so ``n_classes[k]`` is the number of distinct values of column k.
    """
    return _label_encode(check_sources(sources))


def _label_encode(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n_j-1 of the distinct values of each column (floats included), and n_j."""
    codes = np.empty(x.shape, dtype=np.int64)
    n_classes = np.empty(x.shape[1], dtype=np.int64)
    for k in range(x.shape[1]):
        uniq, inv = np.unique(x[:, k], return_inverse=True)
        codes[:, k] = inv.reshape(-1)
        n_classes[k] = uniq.size
    return codes, n_classes


def entropy(sources) -> np.ndarray:
    """Plug-in entropy of each factor, in nats.

    .. math:: H(s_k) = -\\sum_a p_a \\log p_a

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer class labels.

    Returns
    -------
    ndarray of shape (n_factors,)
        Entropies in nats; 0 for a constant factor. Equals
        ``sklearn.metrics.mutual_info_score(s, s)`` per column.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> metrics.entropy(np.array([[0, 1], [1, 1], [0, 1], [1, 1], [0, 1], [1, 1]])).round(6)
    array([0.693147, 0.      ])
    """
    s = check_sources(sources)
    (src, offset), widths = _source_codes(s)
    start = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    counts = _kernels.class_counts(np.ascontiguousarray(src), offset, start)
    return np.array([_entropy_from_counts(counts[start[k]:start[k + 1]]) for k in range(s.shape[1])])


def bin_edges(column: np.ndarray, bins, *, lo=None, hi=None) -> np.ndarray:
    """Bin edges of one latent column, exactly as ``np.histogram(column, bins)[1]``, as float64.

    For an integer ``bins`` only the column's min and max matter: pass them as ``lo``/``hi`` (from
    a pass already made) and the edges come from a two-element array of the column's dtype, with
    no further pass over the data. ``bins="auto"`` needs the whole column.
    """
    column = np.asarray(column)
    if isinstance(bins, str):
        return np.histogram_bin_edges(column, bins=bins).astype(np.float64)
    lo = column.min() if lo is None else lo
    hi = column.max() if hi is None else hi
    return np.histogram_bin_edges(np.array([lo, hi], dtype=column.dtype), bins=bins).astype(np.float64)


def mutual_info_matrix(
    sources,
    latents,
    *,
    bins=20,
    estimator: str = "plugin",
    n_neighbors: int = 3,
    random_state=0,
    parallel: bool | None = None,
    return_entropy: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mutual information I(s_k; z_j) between every factor and every latent, in nats.

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer class labels of the ground-truth factors (any integer values; they are treated as
        categories).
    latents : array-like of shape (n_samples, n_latents)
        The representation (numpy array or torch tensor; float or integer).
    bins : int >= 2, "auto" or None, default=20
        Plug-in estimator only. An integer gives that many equal-width bins per latent over the
        sample's [min, max] (disentanglement_lib: 20); "auto" uses numpy's rule (max of Sturges and
        Freedman-Diaconis) per latent; None treats each distinct latent value as one category.
    estimator : {"plugin", "knn"}, default="plugin"
        "knn" is the continuous-discrete nearest-neighbour estimator (Ross 2014), equal to
        ``sklearn.feature_selection.mutual_info_classif(z_j[:, None], s_k, n_neighbors=...)`` up
        to its random tie-breaking jitter; ``bins`` is then ignored. Two documented differences:
        a constant latent gets 0 (scikit-learn returns the jitter's noise), and neighbour counts
        are exact where scikit-learn's brute-force distances round (about 1e-15), which shifts
        its estimate for classes of about 2 * n_neighbors members or fewer.
    n_neighbors : int >= 1, default=3
        Neighbours for ``estimator="knn"`` (scikit-learn's default is 3; InfoMEC uses 10).
    random_state : int, Generator or None, default=0
        Seed of the 1e-10 tie-breaking jitter of the kNN estimator (as scikit-learn adds).
    parallel : bool or None, default=None
        Use the multi-threaded kernels; None chooses them from ``PARALLEL_MIN_SAMPLES`` samples on
        (``KNN_PARALLEL_MIN_SAMPLES`` for the kNN estimator). Results are identical either way
        (integer counts; every kNN pair is computed by the same serial code).
    return_entropy : bool, default=False
        Also return ``entropy(sources)``. The plug-in estimator reads the factor class counts off
        the margins of the contingency tables it has built anyway, so this costs no extra pass.

    Returns
    -------
    ndarray of shape (n_factors, n_latents)
        Mutual information in nats, >= 0. With ``return_entropy=True``, the pair
        ``(mutual_info, entropy)``, the latter of shape (n_factors,).

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, mismatched sample counts, non-integer sources, or fewer samples than
        bins.

    References
    ----------
    Chen et al. (2018), Isolating Sources of Disentanglement in VAEs, arXiv:1802.04942 (MIG);
    Locatello et al. (2019), disentanglement_lib ``utils.histogram_discretize``;
    Ross (2014), Mutual Information between Discrete and Continuous Data Sets, PLoS ONE 9(2).

    Examples
    --------
    >>> import numpy as np, metrics
    >>> s = np.array([[0], [0], [1], [1], [2], [2]])
    >>> z = np.array([[0.0], [0.1], [1.0], [1.1], [2.0], [2.1]])
    >>> metrics.mutual_info_matrix(s, z, bins=3).round(6)
    array([[1.098612]])
    """
    s = check_sources(sources)
    # The NaN/inf scan of the latents is folded into the min/max pass below (one read, not two).
    z = check_latents(latents, check_finite=False)
    n = check_consistent_samples(sources=s, latents=z)
    estimator = check_choice(estimator, "estimator", ("plugin", "knn"))
    lo, hi, finite = _column_ranges(z, parallel)
    if not finite:
        raise ValueError(f"latents contains NaN or infinity (first at row {first_nonfinite_row(z)}).")
    if estimator == "knn":
        n_neighbors = check_int(n_neighbors, "n_neighbors", min_value=1)
        mi = _knn_matrix(s, z, n_neighbors, check_random_state(random_state), parallel)
        return (mi, entropy(s)) if return_entropy else mi
    bins = _check_bins(bins, n)
    if bins is not None:
        _check_spans(z, lo, hi)
    source_pair, sizes = _source_codes(s, parallel)
    if bins is None:
        lat_codes, lat_sizes = _label_encode(z)
        joint = _joint_from_codes(source_pair, sizes, lat_codes, lat_sizes, parallel)
    else:
        joint = _joint_binned(source_pair, sizes, z, lo, hi, bins, parallel)
    mi = np.stack([_mi_from_joint(table) for table in joint])
    if not return_entropy:
        return mi
    # class counts of factor k: any latent's table summed over its bins
    return mi, np.array([_entropy_from_counts(table[0].sum(axis=1)) for table in joint])


# ---------------------------------------------------------------------------------------------
# plug-in estimator
# ---------------------------------------------------------------------------------------------


def _check_bins(bins, n: int):
    if bins is None or (isinstance(bins, str) and bins == "auto"):
        return bins
    if isinstance(bins, str):
        raise ValueError(f"bins must be an integer >= 2, 'auto' or None; got {bins!r}.")
    bins = check_int(bins, "bins", min_value=2)
    if n < bins:
        raise ValueError(
            f"bins must not exceed the number of samples; got bins={bins} with {n} samples. "
            f"Pass more samples or fewer bins."
        )
    return bins


def _check_spans(z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Equal-width bins need max - min of every latent column to be finite in the column's dtype."""
    if z.dtype.kind != "f":
        return
    with np.errstate(over="ignore"):
        span = hi - lo
    wide = np.flatnonzero(~np.isfinite(span))
    if wide.size:
        j = int(wide[0])
        wider = " or pass float64 latents" if z.dtype != np.float64 else ""
        raise ValueError(
            f"latents column {j} spans [{lo[j]:.6g}, {hi[j]:.6g}], a range that overflows {z.dtype}, so no equal-width "
            f"bins can be formed; rescale the latents (e.g. divide each column by its largest |value|){wider}.")


def _entropy_from_counts(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(np.float64)
    total = counts.sum()
    p = counts / total
    return float(max(0.0, -(p * np.log(p)).sum()))


def _threads_for(n: int, parallel, min_samples: int = PARALLEL_MIN_SAMPLES) -> int:
    """Threads for a kernel over n samples: all numba threads if ``parallel`` (None: n >= min_samples), else 1."""
    use = n >= min_samples if parallel is None else bool(parallel)
    return max(1, min(numba.get_num_threads(), n)) if use else 1


def _column_ranges(x: np.ndarray, parallel=None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-column (min, max, all finite) of a 2D array, in one pass (multi-threaded when large)."""
    x = np.ascontiguousarray(x)
    threads = _threads_for(x.shape[0], parallel)
    if threads > 1:
        return _kernels.column_ranges_parallel(x, threads)
    return _kernels.column_ranges(x)


def _source_codes(s: np.ndarray, parallel=None) -> tuple[np.ndarray, np.ndarray]:
    """Class codes for the kernel without a sort: ``((array, offset), sizes)``.

    The kernel reads ``array[i, k] - offset[k]``. When a column's range is small the original
    array is used with its minimum as offset (no copy; unused values inside the range are empty
    rows of the contingency table and change nothing); otherwise the column is label-encoded.
    """
    lo, hi, _ = _column_ranges(s, parallel)
    # range widths in Python integers: hi - lo + 1 overflows int64 for labels near both ends of it
    widths = [int(h) - int(l) + 1 for l, h in zip(lo.tolist(), hi.tolist())]
    if max(widths) <= _MAX_OFFSET_RANGE and int(hi.max()) <= np.iinfo(np.int64).max:
        # (uint64 labels become int64 here: numpy and numba compute uint64 - int64 in float64)
        src = s if s.dtype != np.uint64 else s.astype(np.int64)
        return (src, lo.astype(np.int64)), np.array(widths, dtype=np.int64)
    codes, sizes = encode_sources(s)
    return (codes, np.zeros(s.shape[1], dtype=np.int64)), sizes


def _groups(sizes: np.ndarray) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    """Pack factors (in order) into groups whose combined size stays <= GROUP_CAP.

    Returns (members of each group, stride of each factor inside its group's combined code,
    combined size of each group).
    """
    stride = np.empty(sizes.size, dtype=np.int64)
    members: list[list[int]] = []
    product = 0
    for k, size in enumerate(sizes.tolist()):
        if not members or product * size > GROUP_CAP:
            members.append([])
            product = 1
        stride[k] = product
        product *= size
        members[-1].append(k)
    group_sizes = np.array([int(np.prod(sizes[m])) for m in members], dtype=np.int64)
    return members, stride, group_sizes


def _run_joint_kernel(source_pair, sizes, latents, edges, nbins, tol, parallel):
    """Joint counts for every (factor, latent): list over k of arrays (L, size_k, max_bins) of whole numbers.

    ``tol`` (per latent, in bin units) is the band around each bin boundary in which rounding of
    the edges may make arithmetic binning disagree with them (negative: integer codes, exact); the
    band of the kernel's own arithmetic is added here.
    """
    src, offset = source_pair
    n, n_latents = latents.shape
    max_bins = int(nbins.max())
    members, stride, group_sizes = _groups(sizes)
    total = int(group_sizes.sum())
    cells = n_latents * total * max_bins
    if cells > _MAX_TABLE_CELLS:
        raise TableTooLargeError(
            f"the contingency tables would need {cells:,} cells (latents with up to {max_bins} categories or bins "
            f"times factors with up to {int(sizes.max())} classes); expected at most {_MAX_TABLE_CELLS:,}.",
            "With bins=None every distinct latent value is a category: use bins=20 or estimator='knn' for continuous "
            "latents.")
    group_offset = np.concatenate([[0], np.cumsum(group_sizes)[:-1]]).astype(np.int64)
    # flat cell of (latent j, bin b, group code c) = (j * max_bins + b) * total + c, with the
    # group code c = group_offset[g] + sum_k (s_k - offset_k) * stride_k
    factor_group = np.empty(sizes.size, dtype=np.int64)
    for g, ks in enumerate(members):
        factor_group[ks] = g
    latent_base = np.arange(n_latents, dtype=np.int64) * max_bins * total
    e0 = edges[:, 0]
    scale = nbins / (edges[np.arange(n_latents), nbins] - e0)
    # Arithmetic in float32 for float32 latents (twice the vector width), else float64; its own
    # rounding (a few ulps of a bin position <= nbins) widens the band.
    arith = np.float32 if latents.dtype == np.float32 else np.float64
    band = np.where(tol < 0, -1.0, tol + 4.0 * np.finfo(arith).eps * nbins)
    lim = np.where(band < 0, 1.5, 0.5 - band)  # flag |frac - 1/2| > lim; 1.5: never
    rows = _kernels._BIN_ROWS
    e0_p, scale_p, lim_p = (np.tile(a, rows).astype(arith) for a in (e0, scale, lim))
    half_p = np.full(n_latents * rows, 0.5, dtype=arith)
    bin_proto = np.empty(_kernels.BLOCK * n_latents, dtype=np.uint16 if max_bins <= 65535 else np.uint32)
    counts = np.zeros(cells, dtype=np.int32 if n < 2**31 else np.int64)
    threads = _threads_for(n, parallel)
    # 16-bit counters (flushed every SMALL_COUNT_LIMIT samples) pay off when the table then fits
    # in a core's L2 cache and each thread sees enough samples to amortise the flushes.
    small = cells <= _SMALL_TABLE_CELLS and n // threads >= _kernels.SMALL_COUNT_LIMIT
    args = (np.ascontiguousarray(latents), e0_p, scale_p, half_p, lim_p, edges, nbins - 1, latent_base,
            np.ascontiguousarray(src), offset, factor_group, stride, group_offset, total, bin_proto, counts, small)
    if threads > 1:
        _kernels.joint_counts_parallel(*args, threads)
    else:
        _kernels.joint_counts_serial(*args)
    counts = counts.reshape(n_latents * max_bins, total)
    joint = [None] * sizes.size
    for m, ks in enumerate(members):
        block = counts[:, group_offset[m]:group_offset[m] + group_sizes[m]]
        if len(ks) == 1:
            margins = [block]
        else:
            # every factor's margin in one pass over the group's table: code c adds to the column of
            # its digit for each factor of the group
            code = np.arange(group_sizes[m])
            columns = np.concatenate([[0], np.cumsum(sizes[ks])])
            target = np.stack([columns[pos] + (code // stride[k]) % sizes[k] for pos, k in enumerate(ks)])
            summed = _kernels.group_margins(np.ascontiguousarray(block), target, int(columns[-1]))
            margins = [summed[:, columns[pos]:columns[pos + 1]] for pos in range(len(ks))]
        for k, margin in zip(ks, margins):
            joint[k] = margin.reshape(n_latents, max_bins, int(sizes[k])).transpose(0, 2, 1)
    return joint


def _mi_from_joint(joint: np.ndarray) -> np.ndarray:
    """MI (nats) for each table in a stack (L, A, B) of contingency tables."""
    joint = joint.astype(np.float64)
    n = joint.sum(axis=(1, 2), keepdims=True)
    pa = joint.sum(axis=2, keepdims=True)
    pb = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint / n * np.log(joint * n / (pa * pb)), 0.0)
    return np.clip(terms.sum(axis=(1, 2)), 0.0, None)


def _joint_binned(source_pair, sizes, z: np.ndarray, lo, hi, bins, parallel) -> list[np.ndarray]:
    """Contingency tables (see ``_run_joint_kernel``) of the factors and the binned latents."""
    per_latent = [bin_edges(z[:, j], bins, lo=lo[j], hi=hi[j]) for j in range(z.shape[1])]
    nbins = np.array([e.size - 1 for e in per_latent], dtype=np.int64)
    edges = np.zeros((z.shape[1], int(nbins.max()) + 1))
    for j, e in enumerate(per_latent):
        edges[j, : e.size] = e
        edges[j, e.size:] = e[-1]
    # Width (in bin units) of the band around each boundary where arithmetic binning may disagree
    # with the exact edges: edges are rounded to the data's dtype, arithmetic is float64.
    eps = np.finfo(z.dtype).eps if z.dtype.kind == "f" else np.finfo(np.float64).eps
    reach = np.maximum(np.abs(edges[:, 0]), np.abs(edges[np.arange(z.shape[1]), nbins]))
    scale = nbins / (edges[np.arange(z.shape[1]), nbins] - edges[:, 0])
    tol = 4.0 * eps * reach * scale + 64.0 * np.finfo(np.float64).eps * nbins
    return _run_joint_kernel(source_pair, sizes, z, edges, nbins, tol, parallel)


def _joint_from_codes(source_pair, sizes, lat_codes, lat_sizes, parallel) -> list[np.ndarray]:
    """Contingency tables of the factors and latents given as category codes 0..n_j-1 (bins=None)."""
    n_latents = lat_codes.shape[1]
    nbins = lat_sizes.astype(np.int64)
    edges = np.zeros((n_latents, int(nbins.max()) + 1))
    for j in range(n_latents):  # unit-width bins [c, c+1): code c lands in bin c exactly
        edges[j, : nbins[j] + 1] = np.arange(nbins[j] + 1)
        edges[j, nbins[j] + 1:] = nbins[j]
    tol = np.full(n_latents, -1.0)  # integer codes: arithmetic binning is exact, never re-check
    return _run_joint_kernel(source_pair, sizes, lat_codes, edges, nbins, tol, parallel)


# ---------------------------------------------------------------------------------------------
# kNN estimator (continuous latent, discrete factor)
# ---------------------------------------------------------------------------------------------


def _knn_matrix(s: np.ndarray, z: np.ndarray, n_neighbors: int, rng: np.random.Generator, parallel=None) -> np.ndarray:
    n, n_latents = z.shape
    (src, offset), n_classes = _source_codes(s)
    codes = src - offset  # int64; classes in the range that never occur are empty and change nothing
    # Powers of two first (exact: the same values as without, but no overflow of the variance of values near
    # the float maximum, nor underflow of tiny ones). Then, as scikit-learn's mutual_info_classif: scale each
    # continuous column to unit variance (without centring) and add 1e-10 * max(1, mean|x|) Gaussian jitter
    # to break ties.
    x = pow2_rescaled(z)
    constant = (x == x[:1]).all(axis=0)
    std = x.std(axis=0)
    x = x / np.where(std == 0, 1.0, std)
    x += 1e-10 * np.maximum(1.0, np.mean(np.abs(x), axis=0)) * rng.standard_normal(size=x.shape)
    table = digamma(np.arange(n + 1, dtype=np.float64))
    table[0] = 0.0
    orders = np.argsort(x, axis=0).T.copy()  # ties are already broken by the jitter
    values = np.take_along_axis(x, orders.T, axis=0).T.copy()
    use_parallel = _threads_for(n, parallel, KNN_PARALLEL_MIN_SAMPLES) > 1
    kernel = _kernels.knn_mi_cd_matrix_parallel if use_parallel else _kernels.knn_mi_cd_matrix_serial
    terms = kernel(values, orders, np.ascontiguousarray(codes), n_classes, n_neighbors, table)
    out = np.zeros((s.shape[1], n_latents))
    used = terms[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = table[used.astype(np.int64)] + (terms[..., 1] - terms[..., 2] - terms[..., 3]) / used
    out[used > 0] = np.maximum(0.0, mi[used > 0])
    out[:, constant] = 0.0  # a constant latent carries no information (the estimate is jitter noise)
    return out
