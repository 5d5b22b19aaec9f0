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

import types

import numpy as np
from numba import njit, prange

_RANGE_ROWS = 16  # rows per vector step of the range kernel: a chunk of 16 * n_columns contiguous values


def _ranges_impl(x, start, stop):
    """Per-column min and max of rows [start, stop) of a C-contiguous 2D array, and whether all
    those values are finite.

    The rows are read as one flat run in chunks of ``_RANGE_ROWS`` whole rows; one accumulator per
    position in the chunk keeps the inner loop branch-free and contiguous, so that it vectorises.
    Position q of a chunk belongs to column ``q % n_columns``. Finiteness: ``v - v`` is 0 for a
    finite value and NaN for NaN and +-inf, and NaN stays NaN in a sum.
    """
    n, m = x.shape
    flat = x.reshape(-1)
    width = m * _RANGE_ROWS
    lo_acc = np.empty(width, dtype=x.dtype)
    hi_acc = np.empty(width, dtype=x.dtype)
    zero_acc = np.zeros(width, dtype=x.dtype)
    first = flat[start * m:(start + 1) * m]
    for q in range(width):
        lo_acc[q] = first[q % m]
        hi_acc[q] = first[q % m]
    full_stop = start + ((stop - start) // _RANGE_ROWS) * _RANGE_ROWS
    for r0 in range(start, full_stop, _RANGE_ROWS):
        chunk = flat[r0 * m:r0 * m + width]
        for q in range(width):
            v = chunk[q]
            lo_acc[q] = v if v < lo_acc[q] else lo_acc[q]
            hi_acc[q] = v if v > hi_acc[q] else hi_acc[q]
            zero_acc[q] += v - v
    lo = first.copy()
    hi = first.copy()
    finite = True
    for q in range(width):
        j = q % m
        lo[j] = min(lo[j], lo_acc[q])
        hi[j] = max(hi[j], hi_acc[q])
        finite &= zero_acc[q] == 0
    for i in range(full_stop, stop):
        for j in range(m):
            v = x[i, j]
            lo[j] = min(lo[j], v)
            hi[j] = max(hi[j], v)
            finite &= v - v == 0
    return lo, hi, finite


_ranges_rows = njit(cache=True)(_ranges_impl)


@njit(cache=True)
def column_ranges(x):
    """Per-column min and max of a C-contiguous 2D array (in its own dtype), and whether all values
    are finite, on one thread. (min/max are meaningless when ``finite`` is False.)"""
    return _ranges_rows(x, 0, x.shape[0])


@njit(cache=True, parallel=True)
def column_ranges_parallel(x, n_parts):
    """``column_ranges`` over ``n_parts`` contiguous row ranges, one per thread; same result."""
    n, m = x.shape
    los = np.empty((n_parts, m), dtype=x.dtype)
    his = np.empty((n_parts, m), dtype=x.dtype)
    oks = np.empty(n_parts, dtype=np.bool_)
    for p in prange(n_parts):
        lo, hi, ok = _ranges_rows(x, (n * p) // n_parts, (n * (p + 1)) // n_parts)
        los[p] = lo
        his[p] = hi
        oks[p] = ok
    lo = los[0].copy()
    hi = his[0].copy()
    for p in range(1, n_parts):
        for j in range(m):
            lo[j] = min(lo[j], los[p, j])
            hi[j] = max(hi[j], his[p, j])
    return lo, hi, oks.all()


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


BLOCK = 512  # samples per block: the block's bins and codes stay in L1 cache
_BIN_ROWS = 8  # rows per vector step of the binning loop
SMALL_COUNT_LIMIT = 65535  # samples per flush of 16-bit counters: no cell can overflow in between


def _count_samples_impl(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                        factor_group, factor_mult, group_base, n_codes, bin_proto, start, stop, table):
    """Add samples [start, stop) into the flat ``table`` (any integer dtype).

    Sample i adds one to cell ``latent_base[j] + bin_ij * n_codes + code_ig`` for every latent j
    and factor group g, where ``code_ig = group_base[g] + sum over the group's factors k of
    (s_ik - src_offset[k]) * factor_mult[k]`` < n_codes (see ``mutual_info._run_joint_kernel``).

    Per block of samples: (1) the group codes, factor by factor with unsigned indices; (2) the bin
    of every latent value by arithmetic, ``trunc((v - e0) * scale)``, over the block's values as one
    flat run (the ``*_p`` parameters repeat with period n_latents * _BIN_ROWS and are in the
    arithmetic dtype: float32 for float32 latents, else float64, so the loop is contiguous,
    branch-free and vectorises). A value whose fractional bin position lies within ``0.5 - lim``
    of a boundary (or outside [0, top]) flags its run of rows, which is then re-binned against the
    exact edges, so every bin equals ``np.digitize(v, edges[:-1]) - 1`` clipped to [0, top];
    (3) the increments, two factor groups per visit, latent by latent, with unsigned indices.
    """
    n_latents = latents.shape[1]
    n_factors = sources.shape[1]
    n_groups = group_base.shape[0]
    flat = latents.reshape(-1)
    src_flat = sources.reshape(-1)
    n_lat = np.uint64(n_latents)
    n_fac = np.uint64(n_factors)
    n_codes = np.uint64(n_codes)
    bins = np.empty_like(bin_proto)  # (sample, latent) row-major within the block; uint16 or uint32
    codes = np.empty((n_groups, BLOCK), dtype=np.uint64)
    for b0 in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - b0)
        unb = np.uint64(nb)
        first = np.uint64(b0)
        # (1) factor-group codes
        for g in range(n_groups):
            codes[g, :nb] = group_base[g]
        for k in range(n_factors):
            cg = codes[factor_group[k]]
            offset = src_offset[k]
            mult = factor_mult[k]
            at = first * n_fac + np.uint64(k)
            for t in range(unb):
                cg[t] += np.uint64((src_flat[at + t * n_fac] - offset) * mult)
        # (2) latent bins, a run of _BIN_ROWS rows at a time
        at = first * n_lat
        for r0 in range(0, nb, _BIN_ROWS):
            rows = min(_BIN_ROWS, nb - r0)
            width = np.uint64(rows * n_latents)
            out0 = np.uint64(r0 * n_latents)
            near = False
            for q in range(width):
                u = (flat[at + out0 + q] - e0_p[q]) * scale_p[q]
                whole = np.trunc(u)  # in u's dtype
                near |= abs(u - whole - half_p[q]) > lim_p[q]
                bins[out0 + q] = np.int32(whole)
            if near:  # rare: re-bin the run exactly, starting from the arithmetic guess
                for q in range(width):
                    j = q % n_latents
                    v = np.float64(flat[at + out0 + q])
                    b = min(np.int64(bins[out0 + q]), top[j])
                    while b < top[j] and v >= edges[j, b + 1]:
                        b += 1
                    while b > 0 and v < edges[j, b]:
                        b -= 1
                    bins[out0 + q] = b
        # (3) increments
        g = 0
        while g + 1 < n_groups:  # two groups per visit
            c0 = codes[g]
            c1 = codes[g + 1]
            for j in range(n_lat):
                base = np.uint64(latent_base[j])
                for t in range(unb):
                    cell = base + np.uint64(bins[t * n_lat + j]) * n_codes
                    table[cell + c0[t]] += 1
                    table[cell + c1[t]] += 1
            g += 2
        if g < n_groups:
            c0 = codes[g]
            for j in range(n_lat):
                base = np.uint64(latent_base[j])
                for t in range(unb):
                    table[base + np.uint64(bins[t * n_lat + j]) * n_codes + c0[t]] += 1


_count_samples = njit(cache=True)(_count_samples_impl)


def _joint_counts_impl(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                       factor_group, factor_mult, group_base, n_codes, bin_proto, start, stop, counts, small):
    """Add samples [start, stop) into ``counts``; with ``small``, through 16-bit counters.

    16-bit counters halve the table's cache footprint (the increments are the hot loop); they are
    added into ``counts`` and cleared every ``SMALL_COUNT_LIMIT`` samples, before any can overflow
    (a sample adds one to exactly one cell of each (latent, group) table).
    """
    if small:
        scratch = np.zeros(counts.shape[0], dtype=np.uint16)
        for s0 in range(start, stop, SMALL_COUNT_LIMIT):
            _count_samples(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                           factor_group, factor_mult, group_base, n_codes, bin_proto, s0, min(stop, s0 + SMALL_COUNT_LIMIT),
                           scratch)
            for c in range(counts.shape[0]):
                counts[c] += scratch[c]
                scratch[c] = 0
    else:
        _count_samples(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                       factor_group, factor_mult, group_base, n_codes, bin_proto, start, stop, counts)


_joint_counts_range = njit(cache=True)(_joint_counts_impl)


@njit(cache=True)
def joint_counts_serial(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                        factor_group, factor_mult, group_base, n_codes, bin_proto, counts, small):
    """Fill ``counts`` (zeros, flat) with all samples on one thread."""
    _joint_counts_range(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                        factor_group, factor_mult, group_base, n_codes, bin_proto, 0, latents.shape[0], counts, small)


@njit(cache=True, parallel=True)
def joint_counts_parallel(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                          factor_group, factor_mult, group_base, n_codes, bin_proto, counts, small, n_parts):
    """Same result as the serial kernel; ``n_parts`` contiguous sample ranges, one private table each."""
    n = latents.shape[0]
    size = counts.shape[0]
    partial = np.zeros((n_parts, size), dtype=counts.dtype)
    for p in prange(n_parts):
        _joint_counts_range(latents, e0_p, scale_p, half_p, lim_p, edges, top, latent_base, sources, src_offset,
                            factor_group, factor_mult, group_base, n_codes, bin_proto, (n * p) // n_parts,
                            (n * (p + 1)) // n_parts, partial[p], small)
    for p in range(n_parts):
        for c in range(size):
            counts[c] += partial[p, c]


@njit(cache=True)
def group_margins(table, target, n_columns):
    """Margins of a group table: ``out[r, target[p, c]] += table[r, c]`` for every factor p of the
    group, where ``target[p, c]`` is the output column of code c's digit for factor p."""
    rows, n_codes = table.shape
    out = np.zeros((rows, n_columns), dtype=np.int64)
    for r in range(rows):
        for p in range(target.shape[0]):
            for c in range(n_codes):
                out[r, target[p, c]] += table[r, c]
    return out


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


def _knn_matrix_impl(values_sorted, orders, codes, n_classes, n_neighbors, digamma_table):
    """``knn_mi_cd_terms`` for every (factor, latent) pair.

    ``values_sorted`` (L, N) holds each latent sorted ascending, ``orders`` (L, N) the sorting
    permutations, ``codes`` (N, K) the factor class codes in sample order. Returns (K, L, 4):
    n_used, sum psi(k_i), sum psi(N_x_i), sum psi(m_i). Every pair is computed by the same serial
    kernel, so the parallel variant (pairs spread over threads) gives the same numbers as the serial
    one.
    """
    n_latents, n = values_sorted.shape
    n_factors = codes.shape[1]
    out = np.zeros((n_factors, n_latents, 4), dtype=np.float64)
    for task in prange(n_factors * n_latents):
        k = task // n_latents
        j = task % n_latents
        labels = np.empty(n, dtype=codes.dtype)
        order = orders[j]
        for i in range(n):
            labels[i] = codes[order[i], k]
        used, sk, snx, sm = knn_mi_cd_terms(values_sorted[j], labels, n_classes[k], n_neighbors, digamma_table)
        out[k, j, 0] = used
        out[k, j, 1] = sk
        out[k, j, 2] = snx
        out[k, j, 3] = sm
    return out


def _named_copy(fn, name):
    """A copy of a plain function under another name.

    numba names a function's on-disk cache after its ``__qualname__`` and first line, and does not
    put the ``parallel`` flag in the cache key: two dispatchers over the *same* function object
    (one serial, one parallel) share one cache entry and load each other's machine code. Each
    compiled twin therefore gets its own copy.
    """
    copy = types.FunctionType(fn.__code__.replace(co_name=name, co_qualname=name), fn.__globals__, name,
                              fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    copy.__doc__ = fn.__doc__
    return copy


knn_mi_cd_matrix_serial = njit(cache=True)(_named_copy(_knn_matrix_impl, "knn_mi_cd_matrix_serial"))
knn_mi_cd_matrix_parallel = njit(cache=True, parallel=True)(_named_copy(_knn_matrix_impl, "knn_mi_cd_matrix_parallel"))
