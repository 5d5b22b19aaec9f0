"""Private numba gradient-boosted trees, faithful to ``sklearn.ensemble.GradientBoostingClassifier()``.

This is the classifier disentanglement_lib uses for DCI (Locatello et al., 2019, arXiv:1811.12359),
re-implemented from the formulas of scikit-learn 1.9 (``ensemble/_gb.py``, ``tree/_splitter.pyx``,
``tree/_tree.pyx``; Friedman, 2001, "Greedy function approximation", Ann. Statist. 29(5),
doi:10.1214/aos/1013203451) so that DCI's importance matrix comes out (nearly) equal, much faster.

What is matched (sklearn's defaults):

- log loss: binomial deviance with ONE tree per stage for 2 classes; multinomial with one tree per
  class per stage for K > 2, all trees of a stage fitted to the negative gradient at the stage start.
- init: the class prior, ``log(p / (1 - p))`` (binary) or ``log(p_k) - mean_k log(p_k)`` (K > 2).
- regression trees on the negative gradient ``r = y - p``: squared-error splits (same argmax as
  friedman_mse), depth <= ``max_depth``, min_samples_split 2, min_samples_leaf 1, no subsampling, all
  features at every node; a node is a leaf when its impurity is <= double eps or no split exists.
- thresholds: midpoints ``a / 2 + b / 2`` between the largest value going left and the smallest going
  right (of X cast to float32, as sklearn); a split between values closer than 1e-7 is not allowed
  (sklearn's FEATURE_THRESHOLD).
- leaves: one Newton step, ``mean(r) / mean(p (1 - p))`` (binary) or
  ``(K - 1) / K * mean(r) / mean(p (1 - p))`` (K > 2), 0 when ``|denominator| < 1e-150``;
  predictions add ``learning_rate * leaf``.
- feature importances: per tree the impurity decrease ``N_t i_t - N_l i_l - N_r i_r`` summed per
  feature and divided by n (``compute_feature_importances(normalize=False)``), averaged over all
  trees with more than one node, then normalised to sum 1 (zeros if no tree split).

Where it differs:

- Ties between equally good splits: sklearn's splitter visits the features in a random order at every node
  and keeps the first of equal splits. Here every node draws its own random order of the features from a
  counter-based hash of (seed, class, stage, node), so a tie goes to a random feature as in sklearn, but by
  other draws. Within a feature the lowest threshold wins, as in sklearn. Proxies within a relative 1e-9 count
  as tied: sums are accumulated in another order than sklearn's, and ``S_r = S - S_l`` moves the last bits.
  One different split changes every later stage a little, so results agree with sklearn's as closely as
  sklearn's runs with different seeds agree with each other.

How it is fast (the splits are still exact):

- Every target (DCI's factors) is fitted in one call. Per stage one pass over the rows builds the root
  histograms of all trees of all targets (each row's residuals are added as one vector), then the trees are
  grown in parallel on numba's threads, ``w, w + n_workers, ...`` per worker.
- A node's split comes from its histogram over at most ``max_bins`` bins per feature: one bin per distinct
  value where a feature has few (every quantised representation), quantile bins otherwise. Only the smaller
  child of a split is scattered; the larger child's histogram is the parent's minus it.
- Splits inside a quantile bin are found exactly: a bin is scanned row by row in the feature's sorted order
  only when a bound on the gain any split inside it can reach (from the bin's sums of positive and negative
  residuals; the gain is convex in both the left sum and the left count) is not below the best gain found so
  far; most bins never are.
- The deepest split level goes straight into the two leaves' Newton steps, without a partition.
- The row blocks of the root pass depend on the problem's size only, so the trees are the same for any number of
  threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from metrics._kernels import _named_copy
from metrics._validation import check_int

__all__: list[str] = []  # private module

_EPSILON = np.finfo(np.float64).eps  # sklearn tree: impurity <= EPSILON makes a leaf
_FEATURE_THRESHOLD = 1e-7  # sklearn tree: values closer than this are not split apart
_TIE_TOLERANCE = 1e-9  # relative gap of gain proxies below which splits tie (sums round: S_r = S - S_l)
_TINY_DENOMINATOR = 1e-150  # sklearn _safe_divide: Newton step 0 below this hessian
_PARALLEL_MIN_WORK = 200_000  # n_samples * n_features * n_trees above which numba's threads are used
_ROWS_PER_BLOCK = 2_000  # at least this many rows per block of the root-histogram pass
_MAX_BLOCKS = 8  # at most this many blocks (each holds its own histograms of every tree)
_BLOCK_MEMORY = 256 * 2**20  # and at most this many bytes of them


@dataclass(frozen=True)
class GBTModel:
    """A fitted ensemble. Trees are complete binary trees in flat arrays: node ``m`` has children
    ``2m + 1`` (left, ``x <= threshold``) and ``2m + 2``; ``feature == -1`` marks a leaf.

    Arrays of shape (n_estimators, n_trees_per_stage, n_nodes) with n_nodes = 2**(max_depth+1) - 1,
    and ``importances`` (n_estimators, n_trees_per_stage, n_features): each tree's unnormalised
    impurity-decrease importances (sklearn's ``compute_feature_importances(normalize=False)``).
    """

    classes: np.ndarray  # (n_classes,) the sorted labels
    init_raw: np.ndarray  # (n_trees_per_stage,) raw prediction before any tree
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    value: np.ndarray  # float64, Newton step without the learning rate
    importances: np.ndarray  # float64
    learning_rate: float
    max_bins: int
    train_raw: np.ndarray | None = None  # (n_train, n_trees_per_stage) raw scores of the training rows after fitting


# ---------------------------------------------------------------------------------------------------
# kernels


@njit(cache=True)
def _scatter(idx, a, b, r, xb, hist):
    """Add rows ``idx[a:b]`` to a zeroed histogram ``hist`` (F, B, 3): per bin the residual sum, the count and
    the sum of the positive residuals (for the bound of :func:`_best_split`)."""
    n_features = xb.shape[1]
    for p in range(a, b):
        i = idx[p]
        v = r[i]
        v_pos = v if v > 0.0 else 0.0
        for f in range(n_features):
            c = xb[i, f]
            hist[f, c, 0] += v
            hist[f, c, 1] += 1.0
            hist[f, c, 2] += v_pos


@njit(cache=True)
def _may_beat(sp, np_, pos, neg, nc, s, cnt, target):
    """Whether a split inside a bin can reach the gain proxy ``target``. The bin has prefix sums ``sp``, ``np_``
    before it and ``nc`` node rows whose positive residuals sum to ``pos``, the negative to ``neg``; a split inside
    it has ``S_l = sp + sigma`` with ``neg <= sigma <= pos`` and ``N_l = np_ + k``, ``1 <= k <= nc - 1``. The proxy
    ``S_l^2 / N_l + (S - S_l)^2 / (N - N_l)`` is convex in each, so its maximum over that box is at a corner;
    each corner is compared without division: ``S_l^2 N_r + S_r^2 N_l >= target N_l N_r``."""
    for sl in (sp + pos, sp + neg):
        sr = s - sl
        for nl in (np_ + 1.0, np_ + nc - 1.0):
            nr = cnt - nl
            if sl * sl * nr + sr * sr * nl >= target * nl * nr:
                return True
    return False


@njit(cache=True)
def _mix(z):
    """splitmix64's finaliser: a well-mixed uint64 from a uint64 (wrapping arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _better(num, den, f, pos, best_num, best_den, best_f, best_pos, rank):
    """Whether split (f, pos) with gain proxy ``num / den`` beats the best so far. Proxies within a relative
    ``_TIE_TOLERANCE`` are ties (summation order moves the last bits). A tie goes to the feature of lower
    ``rank`` (the node's random order of the features, as sklearn's splitter visits them in a random order and
    keeps the first of equal splits), then to the lower position in the feature's sorted order (the lower
    threshold, as sklearn scans them)."""
    if best_f < 0:
        return True
    lhs = num * best_den
    rhs = best_num * den
    tol = _TIE_TOLERANCE * rhs
    if lhs > rhs + tol:
        return True
    if lhs < rhs - tol:
        return False
    return rank[f] < rank[best_f] or (f == best_f and pos < best_pos)


@njit(cache=True)
def _best_split(hist, n_bins, bin_lo, bin_hi, cnt, s, refinable, order, bin_start, x, r, node_of, m, rank):
    """The best exact split of node ``m``: (feature, value), rows with ``x[:, feature] <= value`` going left; -1
    if none. The squared-error gain proxy ``S_l^2 / N_l + S_r^2 / N_r`` over every split between consecutive
    distinct values of the node further apart than sklearn's FEATURE_THRESHOLD, compared by cross-multiplying;
    ties (:func:`_better`) go by ``rank`` (F,), the node's random order of the features, then to the lowest
    threshold.

    First the splits between occupied bins, from the histogram ``hist`` (F, B, 3). Then, on ``refinable``
    features (bins holding several distinct values), the splits inside a bin: a bin is scanned row by row, in
    the feature's sorted order ``order[f, bin_start[f, c]:bin_start[f, c + 1]]`` restricted to the node
    (``node_of == m``), only when :func:`_may_beat` says it can reach the best proxy found so far.
    """
    best_f = -1
    best_pos = -1
    best_v = 0.0
    best_num = 0.0
    best_den = 1.0
    n_features = hist.shape[0]
    for f in range(n_features):
        sl = 0.0
        nl = 0.0
        lo = -1
        for c in range(n_bins[f]):
            nc = hist[f, c, 1]
            if nc == 0.0:
                continue
            if lo >= 0 and bin_lo[f, c] > bin_hi[f, lo] + _FEATURE_THRESHOLD:
                sr = s - sl
                nr = cnt - nl
                num = sl * sl * nr + sr * sr * nl
                den = nl * nr
                if _better(num, den, f, bin_start[f, c], best_num, best_den, best_f, best_pos, rank):
                    best_f = f
                    best_pos = bin_start[f, c]
                    best_v = bin_hi[f, lo]
                    best_num = num
                    best_den = den
            sl += hist[f, c, 0]
            nl += nc
            lo = c
    for f in range(n_features):
        if not refinable[f]:
            continue
        sp = 0.0
        np_ = 0.0
        for c in range(n_bins[f]):
            nc = hist[f, c, 1]
            sc = hist[f, c, 0]
            if nc >= 2.0 and bin_lo[f, c] < bin_hi[f, c]:
                pos = hist[f, c, 2]
                target = best_num / best_den * (1.0 - 4.0 * _TIE_TOLERANCE) if best_f >= 0 else 0.0
                if best_f < 0 or _may_beat(sp, np_, pos, sc - pos, nc, s, cnt, target):
                    sl = sp
                    nl = np_
                    last = 0.0
                    seen = False
                    for q in range(bin_start[f, c], bin_start[f, c + 1]):
                        i = order[f, q]
                        if node_of[i] != m:
                            continue
                        xv = x[i, f]
                        if seen and xv > last + _FEATURE_THRESHOLD:
                            sr = s - sl
                            nr = cnt - nl
                            num = sl * sl * nr + sr * sr * nl
                            den = nl * nr
                            if _better(num, den, f, q, best_num, best_den, best_f, best_pos, rank):
                                best_f = f
                                best_pos = q
                                best_v = last
                                best_num = num
                                best_den = den
                        sl += r[i]
                        nl += 1.0
                        last = xv
                        seen = True
            sp += sc
            np_ += nc
    return best_f, best_v


@njit(cache=True)
def _newton_step(num, den, cnt, k_factor):
    """Leaf value: one Newton step ``k_factor * mean(r) / mean(p (1 - p))``, 0 where the hessian vanishes."""
    num = num / cnt * k_factor
    den = den / cnt
    return 0.0 if abs(den) < _TINY_DENOMINATOR else num / den


@njit(cache=True)
def _split_into_leaves(x, f, v_left, r, yk, k_factor, idx, a, b, s, n, m, left, right, feature, threshold, value,
                       importances, leaf_of):
    """Split node ``m`` (rows ``idx[a:b]``, residual sum ``s``) on feature ``f`` (``x <= v_left`` going left) into
    two leaves, in one branch-free pass: the threshold, the importance, both Newton steps and ``leaf_of``.
    The sums run over the same rows in the same order as a partition followed by two leaf passes would."""
    n_left = 0
    sl = 0.0
    sr = 0.0
    hl = 0.0
    hr = 0.0
    max_left = -np.inf
    min_right = np.inf
    for p in range(a, b):
        i = idx[p]
        v = r[i]
        xv = x[i, f]
        go_left = xv <= v_left
        prob = yk[i] - v
        h = prob * (1.0 - prob)
        n_left += go_left
        vl = v if go_left else 0.0
        g = h if go_left else 0.0
        sl += vl
        sr += v - vl
        hl += g
        hr += h - g
        leaf_of[i] = left if go_left else right
        max_left = max(max_left, xv if go_left else max_left)
        min_right = min(min_right, min_right if go_left else xv)
    n_right = b - a - n_left
    thr = max_left / 2.0 + min_right / 2.0
    if thr == min_right:
        thr = max_left
    feature[m] = f
    threshold[m] = thr
    importances[f] += (sl * sl / n_left + sr * sr / n_right - s * s / (b - a)) / n
    value[left] = _newton_step(sl, hl, n_left, k_factor)
    value[right] = _newton_step(sr, hr, n_right, k_factor)


@njit(cache=True)
def _grow_tree(x, xb, n_bins, bin_lo, bin_hi, refinable, order, bin_start, root_hist, root_count, task, tree_key,
               r, yk, k_factor, max_depth, idx, buf, node_of, hist, feature, threshold, value, importances, leaf_of):
    """One regression tree on residuals ``r`` (n,), leaf values by one Newton step.

    x (n, F) float64 values (through float32); xb (n, F) bin codes; n_bins (F,); bin_lo/bin_hi (F, B) smallest and
    largest training value in each bin; refinable, order, bin_start: see :func:`_best_split`; root_hist (2, F, B, T)
    the root's residual sums and positive residual sums per bin of every tree (this one's is ``task``), root_count
    (F, B) its counts (the same for every tree); yk (n,) 0/1 target of
    this tree; tree_key (uint64) seeds the random order of the features at each node (ties);
    k_factor (K-1)/K or 1. idx, buf (n,) int64 and node_of (n,) int64 work arrays; hist (n_inner, F, B,
    3) work array for the histograms of the nodes that may split. Writes feature, threshold, value (n_nodes,),
    importances (F,) and leaf_of (n,) the leaf of every sample.

    Breadth first; a node's histogram is scattered only for the smaller child of a split, the larger child's is
    the parent's minus it (histogram subtraction). Node sums are summed directly over the node's rows.
    """
    n, n_features = xb.shape
    n_nodes = feature.shape[0]
    start = np.zeros(n_nodes, dtype=np.int64)
    stop = np.zeros(n_nodes, dtype=np.int64)
    node_s = np.zeros(n_nodes)
    node_ss = np.zeros(n_nodes)
    s = 0.0
    ss = 0.0
    for i in range(n):
        idx[i] = i
        node_of[i] = 0
        v = r[i]
        s += v
        ss += v * v
    start[0] = 0
    stop[0] = n
    node_s[0] = s
    node_ss[0] = ss
    for f in range(n_features):
        importances[f] = 0.0
        for c in range(n_bins[f]):
            hist[0, f, c, 0] = root_hist[0, f, c, task]
            hist[0, f, c, 1] = root_count[f, c]
            hist[0, f, c, 2] = root_hist[1, f, c, task]
    for m in range(n_nodes):
        feature[m] = -1
        threshold[m] = 0.0
        value[m] = 0.0
    rank = np.empty(n_features, dtype=np.uint64)
    depth = 0
    level_end = 1
    for m in range(n_nodes):
        if m == level_end:
            depth += 1
            level_end = 2 * level_end + 1
        a, b = start[m], stop[m]
        cnt = b - a
        if cnt <= 0:
            continue  # node does not exist
        s = node_s[m]
        impurity = node_ss[m] / cnt - (s / cnt) * (s / cnt)
        best_f = -1
        v_left = 0.0
        if depth < max_depth and cnt >= 2 and impurity > _EPSILON:
            node_key = _mix(tree_key + np.uint64(m))
            for f in range(n_features):
                rank[f] = _mix(node_key + np.uint64(f))
            best_f, v_left = _best_split(hist[m], n_bins, bin_lo, bin_hi, float(cnt), s, refinable, order, bin_start,
                                         x, r, node_of, m, rank)
        if best_f < 0:
            # leaf: one Newton step
            num = 0.0
            den = 0.0
            for p in range(a, b):
                i = idx[p]
                prob = yk[i] - r[i]
                num += r[i]
                den += prob * (1.0 - prob)
                leaf_of[i] = m
            value[m] = _newton_step(num, den, cnt, k_factor)
            continue
        left = 2 * m + 1
        right = left + 1
        if depth + 1 == max_depth:  # both children are leaves: no partition, their Newton steps in one pass
            _split_into_leaves(x, best_f, v_left, r, yk, k_factor, idx, a, b, s, n, m, left, right, feature,
                               threshold, value, importances, leaf_of)
            continue
        # split: stable partition of idx[a:b], noting the largest value going left and the smallest going
        # right in this node (sklearn's threshold is their midpoint)
        nl_i = 0
        nr_i = 0
        sl = 0.0
        ssl = 0.0
        sr = 0.0
        ssr = 0.0
        max_left = -np.inf
        min_right = np.inf
        for p in range(a, b):  # branch-free: each row is written to both sides, the counters decide
            i = idx[p]
            v = r[i]
            xv = x[i, best_f]
            go_left = xv <= v_left
            idx[a + nl_i] = i
            buf[nr_i] = i
            node_of[i] = left if go_left else right
            nl_i += go_left
            nr_i += 1 - go_left
            vl = v if go_left else 0.0
            vr = v - vl
            sl += vl
            ssl += vl * vl
            sr += vr
            ssr += vr * vr
            max_left = max(max_left, xv if go_left else max_left)
            min_right = min(min_right, min_right if go_left else xv)
        thr = max_left / 2.0 + min_right / 2.0
        if thr == min_right:
            thr = max_left
        feature[m] = best_f
        threshold[m] = thr
        for q in range(nr_i):
            idx[a + nl_i + q] = buf[q]
        # N i_N - N_l i_l - N_r i_r = S_l^2/N_l + S_r^2/N_r - S^2/N, divided by n as sklearn
        importances[best_f] += (sl * sl / nl_i + sr * sr / nr_i - s * s / cnt) / n
        start[left] = a
        stop[left] = a + nl_i
        start[right] = a + nl_i
        stop[right] = b
        node_s[left] = sl
        node_ss[left] = ssl
        node_s[right] = sr
        node_ss[right] = ssr
        if depth + 1 < max_depth:  # the children may split: their histograms
            small, large = (left, right) if nl_i <= nr_i else (right, left)
            hist[small] = 0.0
            _scatter(idx, start[small], stop[small], r, xb, hist[small])
            for f in range(n_features):
                for c in range(n_bins[f]):
                    for ch in range(3):
                        hist[large, f, c, ch] = hist[m, f, c, ch] - hist[small, f, c, ch]


def _fit_stages_impl(x, xb, n_bins, bin_lo, bin_hi, refinable, order, bin_start, root_count, task_start, targets,
                     k_factor, init_raw, task_seed, n_estimators, learning_rate, max_depth, n_chunks, n_workers,
                     feature, threshold, value, importances, raw):
    """All boosting stages of several targets at once (one "task" per tree of a stage).

    Target j owns tasks ``task_start[j]:task_start[j + 1]``: one (binary) or one per class (K > 2).
    targets (T, n) 0/1; k_factor (T,); init_raw (T,). Outputs (n_estimators, T, ...) and raw (T, n), the raw
    predictions of the training rows, are written in place. Per stage: the negative gradients (per target), the
    root histograms of all T trees in one pass over the rows (``n_chunks`` row blocks, each into its own copy),
    then the T trees: worker w grows trees w, w + n_workers, ... with its own work arrays.
    """
    n, n_features = xb.shape
    n_targets = task_start.shape[0] - 1
    n_tasks = init_raw.shape[0]
    n_b = bin_lo.shape[1]
    for t in range(n_tasks):
        for i in range(n):
            raw[t, i] = init_raw[t]
    resid = np.empty((n_tasks, n))
    resid_rows = np.empty((n, n_tasks))
    row_max = np.empty((n_targets, n))
    row_sum = np.empty((n_targets, n))
    block_hist = np.empty((n_chunks, 2, n_features, n_b, n_tasks))
    root_hist = np.empty((2, n_features, n_b, n_tasks))  # residual sums, positive residual sums (counts: root_count)
    n_inner = (feature.shape[2] - 1) // 2  # nodes above the deepest level: the ones that may split
    idx = np.empty((n_workers, n), dtype=np.int64)
    buf = np.empty((n_workers, n), dtype=np.int64)
    node_of = np.empty((n_workers, n), dtype=np.int64)
    leaf_of = np.empty((n_workers, n), dtype=np.int64)
    hist = np.empty((n_workers, n_inner, n_features, n_b, 3))
    for stage in range(n_estimators):
        # negative gradient at the start of the stage
        for j in prange(n_targets):
            t0 = task_start[j]
            t1 = task_start[j + 1]
            if t1 - t0 == 1:
                for i in range(n):
                    z = raw[t0, i]
                    if z >= 0.0:
                        p = 1.0 / (1.0 + np.exp(-z))
                    else:
                        e = np.exp(z)
                        p = e / (1.0 + e)
                    resid[t0, i] = targets[t0, i] - p
            else:  # softmax, class by class over contiguous rows: the same operations in the same order per row
                mx = row_max[j]
                tot = row_sum[j]
                for i in range(n):
                    mx[i] = raw[t0, i]
                for t in range(t0 + 1, t1):
                    for i in range(n):
                        mx[i] = max(mx[i], raw[t, i])
                tot[:] = 0.0
                for t in range(t0, t1):
                    for i in range(n):
                        e = np.exp(raw[t, i] - mx[i])
                        resid[t, i] = e
                        tot[i] += e
                for t in range(t0, t1):
                    for i in range(n):
                        resid[t, i] = targets[t, i] - resid[t, i] / tot[i]
        for blk in prange((n + 63) // 64):  # transpose in blocks of 64 rows
            for t in range(n_tasks):
                for i in range(blk * 64, min(n, blk * 64 + 64)):
                    resid_rows[i, t] = resid[t, i]
        # root histograms of every tree: one pass, row blocks in parallel
        for ch in prange(n_chunks):
            h = block_hist[ch]
            h[:, :, :, :] = 0.0
            for i in range(ch * n // n_chunks, (ch + 1) * n // n_chunks):
                for f in range(n_features):
                    c = xb[i, f]
                    for t in range(n_tasks):
                        h[0, f, c, t] += resid_rows[i, t]
                    if refinable[f]:
                        for t in range(n_tasks):
                            h[1, f, c, t] += max(resid_rows[i, t], 0.0)
        for f in prange(n_features):
            for c in range(n_bins[f]):
                for t in range(n_tasks):
                    acc = 0.0
                    acc_pos = 0.0
                    for ch in range(n_chunks):
                        acc += block_hist[ch, 0, f, c, t]
                        acc_pos += block_hist[ch, 1, f, c, t]
                    root_hist[0, f, c, t] = acc
                    root_hist[1, f, c, t] = acc_pos
        for w in prange(n_workers):
            for t in range(w, n_tasks, n_workers):
                tree_key = _mix(_mix(task_seed[t]) + np.uint64(stage))
                _grow_tree(x, xb, n_bins, bin_lo, bin_hi, refinable, order, bin_start, root_hist, root_count, t,
                           tree_key, resid[t], targets[t], k_factor[t], max_depth, idx[w], buf[w], node_of[w],
                           hist[w], feature[stage, t],
                           threshold[stage, t], value[stage, t], importances[stage, t], leaf_of[w])
                for i in range(n):
                    raw[t, i] += learning_rate * value[stage, t, leaf_of[w, i]]


# One copy per twin: numba's cache key ignores the parallel flag (see metrics._kernels._named_copy).
_fit_stages = njit(cache=True)(_named_copy(_fit_stages_impl, "_fit_stages"))
_fit_stages_par = njit(cache=True, parallel=True)(_named_copy(_fit_stages_impl, "_fit_stages_par"))


def _predict_raw_impl(x, init_raw, feature, threshold, value, learning_rate):
    """Raw predictions (n, T) of float64 data x (n, F) (already cast through float32).

    Tree by tree over blocks of rows (a tree's nodes stay in cache); the descent is branch-free
    (``m = 2m + 1 + (x > threshold)``) down to the first leaf."""
    n = x.shape[0]
    n_est, n_trees, _ = feature.shape
    out = np.empty((n, n_trees))
    n_blocks = (n + 255) // 256
    for blk in prange(n_blocks):
        lo = blk * 256
        hi = min(n, lo + 256)
        for k in range(n_trees):
            for i in range(lo, hi):
                out[i, k] = init_raw[k]
            for s in range(n_est):
                f_s = feature[s, k]
                t_s = threshold[s, k]
                v_s = value[s, k]
                for i in range(lo, hi):
                    m = 0
                    f = f_s[0]
                    while f >= 0:
                        m = 2 * m + 1 + (x[i, f] > t_s[m])
                        f = f_s[m]
                    out[i, k] += learning_rate * v_s[m]
    return out


_predict_raw = njit(cache=True)(_named_copy(_predict_raw_impl, "_predict_raw"))
_predict_raw_par = njit(cache=True, parallel=True)(_named_copy(_predict_raw_impl, "_predict_raw_par"))


# ---------------------------------------------------------------------------------------------------
# Python API


def _as_features(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"X must be 2D with shape (n_samples, n_features); got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("X contains NaN or infinity.")
    # sklearn trees work on float32 copies; thresholds are float64 midpoints of float32 values
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    if not np.all(np.isfinite(x32)):
        raise ValueError("X has values too large for float32 (rescale it, e.g. with pow2_rescaled).")
    return np.ascontiguousarray(x32, dtype=np.float64)


def _bin_features(x: np.ndarray, max_bins: int):
    """Bin codes (n, F), bins per feature (F,), smallest and largest value of each bin (F, B).

    Up to ``max_bins`` distinct values: one bin per value (exact splits). Otherwise bins start at the
    distinct values ``sorted_x[(n * j) // max_bins]``, j = 0..max_bins-1 (quantile bins), except where such a value
    is within sklearn's FEATURE_THRESHOLD of the value below it (the two then share a bin). Codes are uint8
    when ``max_bins <= 256`` (a row of 12 latents is 12 bytes), else int64.
    """
    n, n_features = x.shape
    codes = np.empty((n, n_features), dtype=np.uint8 if max_bins <= 256 else np.int64)
    n_bins = np.empty(n_features, dtype=np.int64)
    lo = np.zeros((n_features, max_bins))
    hi = np.zeros((n_features, max_bins))
    for f in range(n_features):
        col = x[:, f]
        u = np.unique(col)
        if u.size <= max_bins:
            starts = u
            ends = u
        else:
            s = np.sort(col)
            starts = np.unique(s[(n * np.arange(max_bins)) // max_bins])
            # a bin never starts within FEATURE_THRESHOLD of the value below it: every boundary between bins is
            # then a valid split wherever both sides are occupied, and the closer values share a bin
            below = u[np.searchsorted(u, starts[1:]) - 1]
            starts = np.concatenate([starts[:1], starts[1:][starts[1:] > below + _FEATURE_THRESHOLD]])
            nxt = np.searchsorted(u, starts[1:])  # index in u of the next bin's first value
            ends = np.concatenate([u[nxt - 1], u[-1:]])
        nb = starts.size
        codes[:, f] = np.searchsorted(starts, col, side="right") - 1
        n_bins[f] = nb
        lo[f, :nb] = starts
        hi[f, :nb] = ends
    return codes, n_bins, lo, hi


def _class_codes(y: np.ndarray, n: int, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted classes, int64 codes and the initial raw predictions (the log prior) of one target."""
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"{column} must contain at least two classes to fit a classifier; got only "
                         f"{classes.tolist()}.")
    codes = np.ascontiguousarray(codes.reshape(-1), dtype=np.int64)
    prior = np.bincount(codes, minlength=classes.size) / n
    eps = np.finfo(np.float64).eps
    prior = np.clip(prior, eps, 1 - eps)
    if classes.size == 2:
        return classes, codes, np.array([np.log(prior[1] / (1 - prior[1]))])
    logp = np.log(prior)
    return classes, codes, logp - logp.mean()


def fit_gbt_many(X, Y, *, n_estimators: int = 100, learning_rate: float = 0.1, max_depth: int = 3,
                 max_bins: int = 256, random_state=0, parallel: bool | None = None) -> list[GBTModel]:
    """One ensemble per column of ``Y``, all on the same features, fitted together (see module doc).

    Every column gets exactly the ensemble :func:`fit_gbt` would fit for it alone with its seed. Fitting them
    together shares one pass over the rows per stage for the root histograms of all trees, and lets the trees of
    every target and class run in parallel.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    Y : array-like of shape (n_samples, n_targets), class labels; every column with at least two classes.
    n_estimators, learning_rate, max_depth : as sklearn (defaults 100, 0.1, 3); max_depth at most 8.
    max_bins : int in [2, 65536], default=256
        Histogram bins per feature (speed only: splits inside a bin are found exactly).
    random_state : int >= 0 or sequence of them (one per column), default=0
        Seeds the order in which ties between equally good splits are broken.
    parallel : bool or None, default=None
        Use numba's threads (``numba.set_num_threads``); None chooses by size. Same results for any number
        of threads.

    Raises
    ------
    ValueError
        Shapes, non-finite X, a column of ``Y`` with fewer than two classes, parameters out of range.
    """
    n_estimators = check_int(n_estimators, "n_estimators", min_value=1)
    max_depth = check_int(max_depth, "max_depth", min_value=1, max_value=8)
    max_bins = check_int(max_bins, "max_bins", min_value=2, max_value=65536)
    learning_rate = float(learning_rate)
    if not learning_rate > 0.0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate}.")
    x = _as_features(X)
    n, n_features = x.shape
    y = np.asarray(Y)
    if y.ndim != 2 or y.shape[0] != n or y.shape[1] < 1:
        raise ValueError(f"Y must have shape ({n}, n_targets) with n_targets >= 1; got shape {y.shape}.")
    seeds = np.asarray(random_state)
    if seeds.ndim == 0:
        seeds = np.full(y.shape[1], seeds)
    if seeds.shape != (y.shape[1],) or seeds.dtype.kind not in "iu" or np.any(seeds < 0):
        raise ValueError(f"random_state must be a non-negative integer or one per column of Y; got {random_state!r}.")
    per_target = [_class_codes(y[:, j], n, f"Y[:, {j}]") for j in range(y.shape[1])]
    task_start = np.cumsum([0] + [init.size for _, _, init in per_target]).astype(np.int64)
    n_tasks = int(task_start[-1])
    targets = np.zeros((n_tasks, n))
    k_factor = np.ones(n_tasks)
    for j, (classes, codes, init) in enumerate(per_target):
        t0 = task_start[j]
        if classes.size == 2:
            targets[t0] = codes == 1
        else:
            targets[t0:t0 + classes.size] = codes[None, :] == np.arange(classes.size)[:, None]
            k_factor[t0:t0 + classes.size] = (classes.size - 1.0) / classes.size
    init_raw = np.concatenate([init for _, _, init in per_target])
    # one seed per tree of a stage: the target's seed and the class
    task_seed = np.concatenate([np.full(init.size, seeds[j], dtype=np.uint64) * np.uint64(0x100000001B3)
                                + np.arange(init.size, dtype=np.uint64) for j, (_, _, init) in enumerate(per_target)])
    xb, n_bins, bin_lo, bin_hi = _bin_features(x, max_bins)
    root_count = np.zeros((n_features, bin_lo.shape[1]))
    for f in range(n_features):
        root_count[f, :n_bins[f]] = np.bincount(xb[:, f], minlength=n_bins[f])
    refinable = np.any(bin_lo < bin_hi, axis=1)  # some bin holds several distinct values
    order = np.ascontiguousarray(np.argsort(x, axis=0, kind="stable").T, dtype=np.int64)  # (F, n) rows by value
    bin_start = np.zeros((n_features, bin_lo.shape[1] + 1), dtype=np.int64)
    for f in range(n_features):
        bin_start[f, :n_bins[f] + 1] = np.concatenate([[0], np.cumsum(root_count[f, :n_bins[f]])]).astype(np.int64)
    n_nodes = 2 ** (max_depth + 1) - 1
    shape = (n_estimators, n_tasks, n_nodes)
    feature = np.empty(shape, dtype=np.int64)
    threshold = np.empty(shape)
    value = np.empty(shape)
    importances = np.empty((n_estimators, n_tasks, n_features))
    raw = np.empty((n_tasks, n))
    if parallel is None:
        parallel = n * n_features * n_tasks >= _PARALLEL_MIN_WORK
    kernel = _fit_stages_par if parallel else _fit_stages
    n_threads = numba.get_num_threads() if parallel else 1
    # the blocks depend on the problem only, so that the sums, and the trees, are the same for any number of threads
    block_bytes = 2 * n_features * bin_lo.shape[1] * n_tasks * 8
    n_chunks = max(1, min(_MAX_BLOCKS, n // _ROWS_PER_BLOCK, _BLOCK_MEMORY // block_bytes))
    n_workers = min(n_threads, n_tasks)
    kernel(x, xb, n_bins, bin_lo, bin_hi, refinable, order, bin_start, root_count, task_start, targets, k_factor,
           init_raw, task_seed, n_estimators, learning_rate, max_depth, n_chunks, n_workers, feature, threshold, value,
           importances, raw)
    models = []
    for j, (classes, _, init) in enumerate(per_target):
        tasks = slice(task_start[j], task_start[j + 1])
        models.append(GBTModel(classes=classes, init_raw=init, feature=feature[:, tasks].copy(),
                               threshold=threshold[:, tasks].copy(), value=value[:, tasks].copy(),
                               importances=importances[:, tasks].copy(), learning_rate=learning_rate,
                               max_bins=max_bins, train_raw=raw[tasks].T.copy()))
    return models


def fit_gbt(X, y, *, n_estimators: int = 100, learning_rate: float = 0.1, max_depth: int = 3,
            max_bins: int = 256, random_state: int = 0, parallel: bool | None = None) -> GBTModel:
    """Fit gradient-boosted trees as ``GradientBoostingClassifier()`` at its defaults (see module doc).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), class labels (at least two distinct).
    n_estimators, learning_rate, max_depth, max_bins, random_state, parallel : as :func:`fit_gbt_many`.

    Raises
    ------
    ValueError
        Shapes, non-finite X, or fewer than two classes in ``y``.
    """
    x = _as_features(X)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},); got shape {y.shape}.")
    _class_codes(y, x.shape[0], "y")  # the error names y, not Y[:, 0]
    return fit_gbt_many(x, y[:, None], n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth,
                        max_bins=max_bins, random_state=random_state, parallel=parallel)[0]


def feature_importances(model: GBTModel) -> np.ndarray:
    """Impurity-based importances (n_features,), summing to 1 (zeros when no tree has a split),
    as sklearn's ``feature_importances_``: the mean over trees with more than one node of each
    tree's unnormalised importances, normalised."""
    n_features = model.importances.shape[2]
    relevant = model.feature[:, :, 0] >= 0
    if not relevant.any():
        return np.zeros(n_features)
    avg = model.importances[relevant].mean(axis=0)
    return avg / avg.sum()


def predict_raw(model: GBTModel, X) -> np.ndarray:
    """Raw scores (n_samples, n_trees_per_stage): log-odds (binary) or multinomial logits."""
    x = _as_features(X)
    if x.shape[1] != model.importances.shape[2]:
        raise ValueError(f"X must have {model.importances.shape[2]} features; got {x.shape[1]}.")
    n_est, n_trees, _ = model.feature.shape
    kernel = _predict_raw_par if x.shape[0] * n_trees * n_est >= _PARALLEL_MIN_WORK else _predict_raw
    return kernel(x, model.init_raw, model.feature, model.threshold, model.value, model.learning_rate)


def labels_from_raw(model: GBTModel, raw: np.ndarray) -> np.ndarray:
    """Class labels (n_samples,) from raw scores; ties go to the first class, as sklearn's argmax."""
    if raw.shape[1] == 1:
        return model.classes[(raw[:, 0] > 0).astype(np.int64)]
    return model.classes[np.argmax(raw, axis=1)]


def predict(model: GBTModel, X) -> np.ndarray:
    """Predicted class labels (n_samples,); ties go to the first class, as sklearn's argmax."""
    return labels_from_raw(model, predict_raw(model, X))


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel of this module, serial and parallel, on a tiny problem."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    x[:, 0] = np.round(x[:, 0])  # one feature with few values, two with quantile bins searched inside
    y = rng.integers(0, 3, size=(64, 2))
    y[:, 1] = y[:, 1] > 0  # one multinomial target, one binary
    for parallel in (False, True):
        for model in fit_gbt_many(x, y, n_estimators=2, max_bins=8, parallel=parallel):
            xf = _as_features(x)
            kernel = _predict_raw_par if parallel else _predict_raw
            kernel(xf, model.init_raw, model.feature, model.threshold, model.value, model.learning_rate)
