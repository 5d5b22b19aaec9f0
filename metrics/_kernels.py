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

@njit(cache=True)
def column_ranges(x):
    """Per-column min and max of a 2D array (in its own dtype) and whether all values are finite.

    One pass, in row blocks with the column loop outside so that each column's running min, max
    and finiteness flag stay in registers. ``abs(v) <= largest`` is False for NaN and +-inf.
    """
    n, m = x.shape
    lo = x[0].copy()
    hi = x[0].copy()
    finite = True
    for b0 in range(0, n, 256):
        b1 = min(n, b0 + 256)
        for j in range(m):
            low = lo[j]
            high = hi[j]
            ok = True
            for i in range(b0, b1):
                v = x[i, j]
                low = min(low, v)
                high = max(high, v)
                ok &= abs(v) <= _LARGEST
            lo[j] = low
            hi[j] = high
            finite &= ok
    return lo, hi, finite


_LARGEST = np.finfo(np.float64).max


@njit(cache=True)
def class_counts(sources, offset, table_start):
    """Counts of every class of every column in one pass: column k's class c (value - offset[k])
    is counted at ``table_start[k] + c`` of the returned flat int64 array."""
    n, m = sources.shape
    counts = np.zeros(table_start[m], dtype=np.int64)
    for i in range(n):
        for k in range(m):
            counts[table_start[k] + sources[i, k] - offset[k]] += 1
    return counts


BLOCK = 1024  # samples per block: the block's bins and codes stay in L1/L2 cache


def _joint_counts_impl(latents, e0, scale, tol, edges, nbins, sources, src_offset, members, member_start,
                       src_stride, group_offset, total_groups, max_bins, start, stop, counts):
    """Add samples [start, stop) into ``counts`` (flat index: (latent, group code, bin)).

    Per block of samples: (1) the combined class code of each factor group; (2) the bin of each
    latent value, by arithmetic ``floor((v - e0) * scale)``, checked against the exact edges only
    when the value lies within ``tol`` of a bin boundary (so the result always equals
    ``np.digitize(v, edges[:-1]) - 1``); (3) one increment per (latent, group).
    """
    n_latents = latents.shape[1]
    n_factors = sources.shape[1]
    n_groups = group_offset.shape[0]
    bins = np.empty((n_latents, BLOCK), dtype=np.int32)
    codes = np.empty((n_groups, BLOCK), dtype=np.int32)
    shifted = np.empty((n_factors, BLOCK), dtype=np.int32)
    near = np.empty(BLOCK, dtype=np.bool_)
    for b0 in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - b0)
        # (1) factor codes
        for t in range(nb):
            for k in range(n_factors):
                shifted[k, t] = sources[b0 + t, k] - src_offset[k]
        for g in range(n_groups):
            cg = codes[g]
            g0 = np.int32(group_offset[g])
            for t in range(nb):
                cg[t] = g0
            for q in range(member_start[g], member_start[g + 1]):
                k = members[q]
                st = np.int32(src_stride[k])
                sk = shifted[k]
                for t in range(nb):
                    cg[t] += sk[t] * st
        # (2) latent bins
        for j in range(n_latents):
            bj = bins[j]
            e0j = e0[j]
            sj = scale[j]
            tj = tol[j]
            top = np.int32(nbins[j] - 1)
            any_near = False
            for t in range(nb):
                u = (np.float64(latents[b0 + t, j]) - e0j) * sj
                b = np.int32(u)
                f = u - b
                flag = (f < tj) | (f > 1.0 - tj)
                near[t] = flag
                any_near |= flag
                bj[t] = min(max(b, np.int32(0)), top)
            if any_near:
                ej = edges[j]
                for t in range(nb):
                    if near[t]:
                        v = np.float64(latents[b0 + t, j])
                        b = bj[t]
                        while b < top and v >= ej[b + 1]:
                            b += 1
                        while b > 0 and v < ej[b]:
                            b -= 1
                        bj[t] = b
        # (3) increments
        for j in range(n_latents):
            bj = bins[j]
            base = j * total_groups * max_bins
            for g in range(n_groups):
                cg = codes[g]
                for t in range(nb):
                    counts[base + cg[t] * max_bins + bj[t]] += 1


_joint_counts_block = njit(cache=True)(_joint_counts_impl)


@njit(cache=True)
def joint_counts_serial(latents, e0, scale, tol, edges, nbins, sources, src_offset, members, member_start,
                        src_stride, group_offset, total_groups, max_bins, counts):
    """Fill ``counts`` (zeros, flat) with all samples on one thread."""
    _joint_counts_block(latents, e0, scale, tol, edges, nbins, sources, src_offset, members, member_start,
                        src_stride, group_offset, total_groups, max_bins, 0, latents.shape[0], counts)


@njit(cache=True, parallel=True)
def joint_counts_parallel(latents, e0, scale, tol, edges, nbins, sources, src_offset, members, member_start,
                          src_stride, group_offset, total_groups, max_bins, counts, n_parts):
    """Same result as the serial kernel; ``n_parts`` contiguous sample ranges, one private table each."""
    n = latents.shape[0]
    size = counts.shape[0]
    partial = np.zeros((n_parts, size), dtype=counts.dtype)
    for p in prange(n_parts):
        start = (n * p) // n_parts
        stop = (n * (p + 1)) // n_parts
        _joint_counts_block(latents, e0, scale, tol, edges, nbins, sources, src_offset, members, member_start,
                            src_stride, group_offset, total_groups, max_bins, start, stop, partial[p])
    for p in range(n_parts):
        for c in range(size):
            counts[c] += partial[p, c]


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
    # Radius counts by walking the window boundaries from the previous sample's: samples come in
    # sorted order, so the boundaries move little from one sample to the next (amortised O(1)).
    # The predicate is evaluated as |v - c| <= radius, exactly as a radius query would.
    lo = 0
    hi = 0
    for i in range(n):
        if not keep[i]:
            continue
        c = labels_sorted[i]
        nc = counts[c]
        k = min(n_neighbors, nc - 1)
        seg = by_class[starts[c]:starts[c + 1]]
        r = _kth_neighbour_distance(seg, pos_in_class[i], nc, k)
        radius = np.nextafter(r, 0.0)  # points strictly closer than the k-th neighbour, as sklearn
        c = used_values[u]
        if hi < u:
            hi = u
        while hi + 1 < n_used and used_values[hi + 1] - c <= radius:
            hi += 1
        while hi > u and used_values[hi] - c > radius:
            hi -= 1
        if lo > u:
            lo = u
        while lo > 0 and c - used_values[lo - 1] <= radius:
            lo -= 1
        while lo < u and c - used_values[lo] > radius:
            lo += 1
        m = hi - lo + 1
        sum_k += digamma_table[k]
        sum_nx += digamma_table[nc]
        sum_m += digamma_table[m]
        u += 1
    return n_used, sum_k, sum_nx, sum_m


def _knn_factors_impl(values_sorted, labels_sorted, n_classes, n_neighbors, digamma_table):
    """``knn_mi_cd_terms`` for every factor column of ``labels_sorted`` (N, K).

    Returns an array (K, 4): n_used, sum psi(k_i), sum psi(N_x_i), sum psi(m_i). Each factor is
    computed by the serial kernel, so the parallel variant (one thread per factor) gives the same
    numbers as the serial one.
    """
    n_factors = labels_sorted.shape[1]
    out = np.zeros((n_factors, 4), dtype=np.float64)
    for k in prange(n_factors):
        used, sk, snx, sm = knn_mi_cd_terms(values_sorted, np.ascontiguousarray(labels_sorted[:, k]),
                                            n_classes[k], n_neighbors, digamma_table)
        out[k, 0] = used
        out[k, 1] = sk
        out[k, 2] = snx
        out[k, 3] = sm
    return out


knn_mi_cd_factors_serial = njit(cache=True)(_knn_factors_impl)
knn_mi_cd_factors_parallel = njit(cache=True, parallel=True)(_knn_factors_impl)
