"""Private numba kernels for the mutual-information metrics.

Every kernel takes plain C-contiguous arrays prepared by a public wrapper in
``metrics/mutual_info.py``; none holds Python objects, global random state or ``inf`` sentinels,
and none uses ``fastmath``. Each has a pure-numpy twin in ``metrics/_reference.py`` that the tests
compare it against.

Kernels are compiled lazily on first call and cached on disk (``cache=True``): importing
``metrics`` compiles nothing, and the compile cost is paid once per machine and dtype.

Joint histograms (plug-in MI)
-----------------------------
One pass over the samples bins every latent and increments, for every latent ``j`` and every
*group* of factors ``m``, one cell of a table indexed by (latent bin, combined class code of the
factors in the group). Packing several factors into one group (product of their sizes up to a cap)
cuts the scattered increments per sample from ``L * K`` to ``L * n_groups``; the (K, L) joint
tables are recovered afterwards by summing the group tables over the other factors of the group,
which costs nothing next to the pass over the data. Counts are integers, so the parallel variant
(private tables per chunk, summed at the end) gives bit-identical results.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Samples per chunk of the parallel histogram kernel; each chunk owns a private table.
PARALLEL_CHUNK = 1 << 16


@njit(cache=True)
def column_ranges(x):
    """Per-column min and max of a 2D array (as float64) and the first row holding NaN/inf (or -1)."""
    n, m = x.shape
    lo = np.empty(m, dtype=np.float64)
    hi = np.empty(m, dtype=np.float64)
    bad = -1
    for j in range(m):
        lo[j] = x[0, j]
        hi[j] = x[0, j]
    for i in range(n):
        for j in range(m):
            v = np.float64(x[i, j])
            if v < lo[j]:
                lo[j] = v
            elif v > hi[j]:
                hi[j] = v
            if bad < 0 and not np.isfinite(v):
                bad = i
    return lo, hi, bad


@njit(cache=True)
def _bin_of(v, e, nb, scale):
    """Equal-width bin of ``v`` in 0..nb-1, identical to ``np.digitize(v, e[:-1]) - 1``.

    The arithmetic guess is corrected against the exact edges, so rounding in ``scale`` can never
    move a value into a neighbouring bin.
    """
    b = int((v - e[0]) * scale)
    if b < 0:
        b = 0
    elif b > nb - 1:
        b = nb - 1
    while b + 1 < nb and v >= e[b + 1]:
        b += 1
    while b > 0 and v < e[b]:
        b -= 1
    return b


def _joint_counts_impl(latents, edges, nbins, scale, sources, src_offset, group_of, src_stride,
                       n_groups, group_offset, total_groups, max_bins, start, stop, counts):
    """Add the samples [start, stop) into ``counts`` (flat: latent, group code, bin)."""
    n_latents = latents.shape[1]
    n_factors = sources.shape[1]
    codes = np.zeros(n_groups, dtype=np.int64)
    bins = np.empty(n_latents, dtype=np.int64)
    for i in range(start, stop):
        for m in range(n_groups):
            codes[m] = group_offset[m]
        for k in range(n_factors):
            codes[group_of[k]] += (np.int64(sources[i, k]) - src_offset[k]) * src_stride[k]
        for j in range(n_latents):
            bins[j] = _bin_of(np.float64(latents[i, j]), edges[j], nbins[j], scale[j])
        for j in range(n_latents):
            base = j * total_groups
            b = bins[j]
            for m in range(n_groups):
                counts[(base + codes[m]) * max_bins + b] += 1


_joint_counts_serial_body = njit(cache=True)(_joint_counts_impl)


@njit(cache=True)
def joint_counts_serial(latents, edges, nbins, scale, sources, src_offset, group_of, src_stride,
                        n_groups, group_offset, total_groups, max_bins):
    counts = np.zeros(latents.shape[1] * total_groups * max_bins, dtype=np.int64)
    _joint_counts_serial_body(latents, edges, nbins, scale, sources, src_offset, group_of, src_stride,
                              n_groups, group_offset, total_groups, max_bins, 0, latents.shape[0], counts)
    return counts


@njit(cache=True, parallel=True)
def joint_counts_parallel(latents, edges, nbins, scale, sources, src_offset, group_of, src_stride,
                          n_groups, group_offset, total_groups, max_bins):
    n = latents.shape[0]
    size = latents.shape[1] * total_groups * max_bins
    n_chunks = (n + PARALLEL_CHUNK - 1) // PARALLEL_CHUNK
    partial = np.zeros((n_chunks, size), dtype=np.int64)
    for c in prange(n_chunks):
        start = c * PARALLEL_CHUNK
        stop = min(n, start + PARALLEL_CHUNK)
        _joint_counts_serial_body(latents, edges, nbins, scale, sources, src_offset, group_of, src_stride,
                                  n_groups, group_offset, total_groups, max_bins, start, stop, partial[c])
    counts = np.zeros(size, dtype=np.int64)
    for c in range(n_chunks):
        counts += partial[c]
    return counts


# ---------------------------------------------------------------------------------------------
# Continuous-vs-discrete kNN mutual information (Ross 2014), using the 1D structure
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _kth_neighbour_distance(x, p, n, k):
    """Distance from x[p] to its k-th nearest neighbour among x[0..n) (sorted, self excluded).

    The k nearest neighbours of a point in sorted 1D data, together with the point itself, form a
    contiguous window of k+1 points; the k-th distance is the smallest window reach.
    """
    best = -1.0
    for a in range(k + 1):  # a points taken on the left, k - a on the right
        lo = p - a
        hi = p + (k - a)
        if lo < 0 or hi >= n:
            continue
        reach = max(x[p] - x[lo], x[hi] - x[p])
        if best < 0.0 or reach < best:
            best = reach
    return best


@njit(cache=True)
def _count_within(sorted_all, p, radius):
    """Number of values v in sorted_all with |v - sorted_all[p]| <= radius (self included).

    Exponential then binary search outwards from position p; the predicate is evaluated as
    ``abs(v - c) <= radius`` exactly as a radius query would, never as ``c + radius``.
    """
    n = sorted_all.shape[0]
    c = sorted_all[p]
    # right end: last index r with sorted_all[r] - c <= radius
    step = 1
    hi = p
    while hi + step < n and sorted_all[hi + step] - c <= radius:
        hi += step
        step *= 2
    top = min(n - 1, hi + step)
    while hi < top:  # invariant: sorted_all[hi] ok; answer in [hi, top]
        mid = (hi + top + 1) // 2
        if sorted_all[mid] - c <= radius:
            hi = mid
        else:
            top = mid - 1
    # left end: first index l with c - sorted_all[l] <= radius
    step = 1
    lo = p
    while lo - step >= 0 and c - sorted_all[lo - step] <= radius:
        lo -= step
        step *= 2
    bottom = max(0, lo - step)
    while bottom < lo:
        mid = (bottom + lo) // 2
        if c - sorted_all[mid] <= radius:
            lo = mid
        else:
            bottom = mid + 1
    return hi - lo + 1


@njit(cache=True)
def knn_mi_cd_terms(values_sorted, labels_sorted, n_classes, n_neighbors, digamma_table):
    """Sums of the Ross (2014) estimator terms for one (continuous, discrete) pair.

    ``values_sorted`` is the continuous variable sorted ascending, ``labels_sorted`` the class codes
    (0..n_classes-1) in the same order. Samples whose class occurs once are ignored, as in
    scikit-learn's ``_compute_mi_cd``. Returns (n_used, sum psi(k_i), sum psi(N_x_i), sum psi(m_i)),
    where m_i counts samples within the (open) k-th-neighbour radius of sample i, itself included.
    """
    n = values_sorted.shape[0]
    counts = np.zeros(n_classes, dtype=np.int64)
    for i in range(n):
        counts[labels_sorted[i]] += 1
    # class-wise sorted values: stable counting sort of the already sorted values
    starts = np.zeros(n_classes + 1, dtype=np.int64)
    for c in range(n_classes):
        starts[c + 1] = starts[c] + counts[c]
    fill = starts[:-1].copy()
    by_class = np.empty(n, dtype=np.float64)
    pos_in_class = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = labels_sorted[i]
        by_class[fill[c]] = values_sorted[i]
        pos_in_class[i] = fill[c] - starts[c]
        fill[c] += 1
    # keep only samples of classes with > 1 member
    keep = np.empty(n, dtype=np.bool_)
    n_used = 0
    for i in range(n):
        keep[i] = counts[labels_sorted[i]] > 1
        if keep[i]:
            n_used += 1
    used_values = np.empty(n_used, dtype=np.float64)
    u = 0
    for i in range(n):
        if keep[i]:
            used_values[u] = values_sorted[i]
            u += 1
    sum_k = 0.0
    sum_nx = 0.0
    sum_m = 0.0
    u = 0
    for i in range(n):
        if not keep[i]:
            continue
        c = labels_sorted[i]
        nc = counts[c]
        k = min(n_neighbors, nc - 1)
        seg = by_class[starts[c]:starts[c + 1]]
        r = _kth_neighbour_distance(seg, pos_in_class[i], nc, k)
        radius = np.nextafter(r, 0.0)  # points strictly closer than the k-th neighbour, as sklearn
        m = _count_within(used_values, u, radius)
        sum_k += digamma_table[k]
        sum_nx += digamma_table[nc]
        sum_m += digamma_table[m]
        u += 1
    return n_used, sum_k, sum_nx, sum_m
