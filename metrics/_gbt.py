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

- Features with more than ``max_bins`` distinct values are cut into at most ``max_bins`` quantile bins
  (boundaries at distinct values), and splits are searched between bins only; the threshold is the
  midpoint between the largest value going left and the smallest going right among the node's
  training rows, as sklearn would set it for the same partition. Features with at most ``max_bins``
  distinct values get sklearn's exact splits; ``max_bins >= n_samples`` makes every split exact.
- Ties between equally good splits: sklearn takes the first in a random feature order. Here, among
  bitwise-equal scores, the lowest feature index wins, then the lowest threshold (strict ``>``), so
  ``random_state`` has no effect (it is kept for signature compatibility). Sums are accumulated in
  a different order than sklearn's, so near-ties (differences in the last bits) can also resolve
  differently. One different split changes every later stage a little.

The per-class trees of a stage are independent, so above a size the stage is fitted with a
``parallel=True`` variant of the same kernel (``prange`` over classes, each class writing its own
slices): the results are bit-identical to the serial kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from metrics._kernels import _named_copy
from metrics._validation import check_int

__all__: list[str] = []  # private module

_EPSILON = np.finfo(np.float64).eps  # sklearn tree: impurity <= EPSILON makes a leaf
_FEATURE_THRESHOLD = 1e-7  # sklearn tree: values closer than this are not split apart
_TINY_DENOMINATOR = 1e-150  # sklearn _safe_divide: Newton step 0 below this hessian
_PARALLEL_MIN_WORK = 200_000  # n_samples * n_features * n_trees_per_stage above which classes run in parallel


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


# ---------------------------------------------------------------------------------------------------
# kernels


@njit(cache=True)
def _fit_tree(x, xb, n_bins, bin_lo, bin_hi, r, yk, k_factor, max_depth, idx, buf, hist_s, hist_c,
              feature, threshold, value, importances, leaf_of):
    """One regression tree on residuals ``r`` (n,), with leaf values by one Newton step.

    x (n, F) float64 values (through float32); xb (n, F) int64 bin codes; n_bins (F,);
    bin_lo/bin_hi (F, B) smallest/largest training value in each bin; yk (n,) 0/1 target of this tree; k_factor (K-1)/K or 1. idx, buf (n,) int64 work arrays;
    hist_s, hist_c (F, B) work arrays. Writes feature, threshold, value (n_nodes,), importances (F,)
    and leaf_of (n,) the leaf of every sample.
    """
    n, n_features = xb.shape
    n_nodes = feature.shape[0]
    start = np.zeros(n_nodes, dtype=np.int64)
    stop = np.zeros(n_nodes, dtype=np.int64)
    for i in range(n):
        idx[i] = i
    start[0] = 0
    stop[0] = n
    for f in range(n_features):
        importances[f] = 0.0
    for m in range(n_nodes):
        feature[m] = -1
        threshold[m] = 0.0
        value[m] = 0.0
    # nodes in breadth-first order; node m has depth floor(log2(m + 1))
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
        s = 0.0
        ss = 0.0
        for p in range(a, b):
            v = r[idx[p]]
            s += v
            ss += v * v
        impurity = ss / cnt - (s / cnt) * (s / cnt)
        best_f = -1
        best_lo = -1
        best_hi = -1
        best_proxy = 0.0
        if depth < max_depth and cnt >= 2 and impurity > _EPSILON:
            hist_s[:, :] = 0.0
            hist_c[:, :] = 0.0
            for p in range(a, b):
                i = idx[p]
                v = r[i]
                for f in range(n_features):
                    c = xb[i, f]
                    hist_s[f, c] += v
                    hist_c[f, c] += 1.0
            for f in range(n_features):
                nb = n_bins[f]
                sl = 0.0
                nl = 0.0
                lo = -1
                for c in range(nb):
                    if hist_c[f, c] == 0.0:
                        continue
                    if lo >= 0:
                        # candidate: bins <= lo left, bins >= c right
                        if bin_lo[f, c] > bin_hi[f, lo] + _FEATURE_THRESHOLD:
                            nr = cnt - nl
                            sr = s - sl
                            proxy = sl * sl / nl + sr * sr / nr
                            if best_f < 0 or proxy > best_proxy:
                                best_f = f
                                best_lo = lo
                                best_hi = c
                                best_proxy = proxy
                    sl += hist_s[f, c]
                    nl += hist_c[f, c]
                    lo = c
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
            num = num / cnt * k_factor
            den = den / cnt
            value[m] = 0.0 if abs(den) < _TINY_DENOMINATOR else num / den
            continue
        # split: stable partition of idx[a:b], noting the largest value going left and the smallest going
        # right in this node (sklearn's threshold is their midpoint; with binning they need not be bin edges)
        nl_i = 0
        nr_i = 0
        sl = 0.0
        max_left = bin_lo[best_f, best_lo]
        min_right = bin_hi[best_f, best_hi]
        for p in range(a, b):
            i = idx[p]
            if xb[i, best_f] <= best_lo:
                idx[a + nl_i] = i
                nl_i += 1
                sl += r[i]
                max_left = max(max_left, x[i, best_f])
            else:
                buf[nr_i] = i
                nr_i += 1
                min_right = min(min_right, x[i, best_f])
        thr = max_left / 2.0 + min_right / 2.0
        if thr == min_right:
            thr = max_left
        feature[m] = best_f
        threshold[m] = thr
        for q in range(nr_i):
            idx[a + nl_i + q] = buf[q]
        sr = s - sl
        # N i_N - N_l i_l - N_r i_r = S_l^2/N_l + S_r^2/N_r - S^2/N, divided by n as sklearn
        importances[best_f] += (sl * sl / nl_i + sr * sr / nr_i - s * s / cnt) / n
        left = 2 * m + 1
        start[left] = a
        stop[left] = a + nl_i
        start[left + 1] = a + nl_i
        stop[left + 1] = b


def _fit_stages_impl(x, xb, n_bins, bin_lo, bin_hi, y, n_classes, init_raw, n_estimators, learning_rate,
                     max_depth, feature, threshold, value, importances):
    """All boosting stages. y (n,) int64 class codes; init_raw (T,), T = 1 (binary) or n_classes.
    Outputs (n_estimators, T, ...) are written in place."""
    n, n_features = xb.shape
    n_trees = init_raw.shape[0]
    n_b = bin_lo.shape[1]
    raw = np.empty((n_trees, n))
    targets = np.zeros((n_trees, n))
    for k in range(n_trees):
        for i in range(n):
            raw[k, i] = init_raw[k]
            if n_trees == 1:
                targets[k, i] = 1.0 if y[i] == 1 else 0.0
            else:
                targets[k, i] = 1.0 if y[i] == k else 0.0
    k_factor = 1.0 if n_trees == 1 else (n_classes - 1.0) / n_classes
    resid = np.empty((n_trees, n))
    idx = np.empty((n_trees, n), dtype=np.int64)
    buf = np.empty((n_trees, n), dtype=np.int64)
    leaf_of = np.empty((n_trees, n), dtype=np.int64)
    hist_s = np.empty((n_trees, n_features, n_b))
    hist_c = np.empty((n_trees, n_features, n_b))
    for stage in range(n_estimators):
        # negative gradient at the start of the stage
        if n_trees == 1:
            for i in range(n):
                z = raw[0, i]
                if z >= 0.0:
                    p = 1.0 / (1.0 + np.exp(-z))
                else:
                    e = np.exp(z)
                    p = e / (1.0 + e)
                resid[0, i] = targets[0, i] - p
        else:
            for i in range(n):
                mx = raw[0, i]
                for k in range(1, n_trees):
                    mx = max(mx, raw[k, i])
                tot = 0.0
                for k in range(n_trees):
                    e = np.exp(raw[k, i] - mx)
                    resid[k, i] = e
                    tot += e
                for k in range(n_trees):
                    resid[k, i] = targets[k, i] - resid[k, i] / tot
        for k in prange(n_trees):
            _fit_tree(x, xb, n_bins, bin_lo, bin_hi, resid[k], targets[k], k_factor, max_depth, idx[k], buf[k],
                      hist_s[k], hist_c[k], feature[stage, k], threshold[stage, k], value[stage, k],
                      importances[stage, k], leaf_of[k])
            for i in range(n):
                raw[k, i] += learning_rate * value[stage, k, leaf_of[k, i]]


# One copy per twin: numba's cache key ignores the parallel flag (see metrics._kernels._named_copy).
_fit_stages = njit(cache=True)(_named_copy(_fit_stages_impl, "_fit_stages"))
_fit_stages_par = njit(cache=True, parallel=True)(_named_copy(_fit_stages_impl, "_fit_stages_par"))


@njit(cache=True)
def _predict_raw(x, init_raw, feature, threshold, value, learning_rate):
    """Raw predictions (n, T) of float64 data x (n, F) (already cast through float32)."""
    n = x.shape[0]
    n_est, n_trees, _ = feature.shape
    out = np.empty((n, n_trees))
    for i in range(n):
        for k in range(n_trees):
            acc = init_raw[k]
            for s in range(n_est):
                m = 0
                while feature[s, k, m] >= 0:
                    if x[i, feature[s, k, m]] <= threshold[s, k, m]:
                        m = 2 * m + 1
                    else:
                        m = 2 * m + 2
                acc += learning_rate * value[s, k, m]
            out[i, k] = acc
    return out


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
    """Bin codes (n, F) int64, bins per feature (F,), smallest and largest value of each bin (F, B).

    Up to ``max_bins`` distinct values: one bin per value (exact splits). Otherwise bins start at the
    distinct values ``sorted_x[(n * j) // max_bins]``, j = 0..max_bins-1 (quantile bins).
    """
    n, n_features = x.shape
    codes = np.empty((n, n_features), dtype=np.int64)
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
            nxt = np.searchsorted(u, starts[1:])  # index in u of the next bin's first value
            ends = np.concatenate([u[nxt - 1], u[-1:]])
        nb = starts.size
        codes[:, f] = np.searchsorted(starts, col, side="right") - 1
        n_bins[f] = nb
        lo[f, :nb] = starts
        hi[f, :nb] = ends
    return codes, n_bins, lo, hi


def fit_gbt(X, y, *, n_estimators: int = 100, learning_rate: float = 0.1, max_depth: int = 3,
            max_bins: int = 256, random_state: int = 0, parallel: bool | None = None) -> GBTModel:
    """Fit gradient-boosted trees as ``GradientBoostingClassifier()`` at its defaults (see module doc).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), class labels (at least two distinct).
    n_estimators, learning_rate, max_depth : as sklearn (defaults 100, 0.1, 3).
    max_bins : int >= 2, default=256
        Features with more distinct values are split between quantile bins only.
    random_state : int, default=0
        Unused (ties are broken deterministically); kept for signature compatibility.
    parallel : bool or None, default=None
        Fit the trees of a stage in parallel (K > 2 only); None chooses by size. Same results.

    Raises
    ------
    ValueError
        Shapes, non-finite X, or fewer than two classes in ``y``.
    """
    n_estimators = check_int(n_estimators, "n_estimators", min_value=1)
    max_depth = check_int(max_depth, "max_depth", min_value=1, max_value=20)
    max_bins = check_int(max_bins, "max_bins", min_value=2)
    learning_rate = float(learning_rate)
    if not learning_rate > 0.0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate}.")
    x = _as_features(X)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},); got shape {y.shape}.")
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"y must contain at least two classes to fit a classifier; got only {classes.tolist()}.")
    codes = np.ascontiguousarray(codes.reshape(-1), dtype=np.int64)
    n_classes = classes.size
    prior = np.bincount(codes, minlength=n_classes) / codes.size
    eps = np.finfo(np.float64).eps
    prior = np.clip(prior, eps, 1 - eps)
    if n_classes == 2:
        init_raw = np.array([np.log(prior[1] / (1 - prior[1]))])
    else:
        logp = np.log(prior)
        init_raw = logp - logp.mean()
    xb, n_bins, bin_lo, bin_hi = _bin_features(x, max_bins)
    n_trees = init_raw.size
    n_nodes = 2 ** (max_depth + 1) - 1
    shape = (n_estimators, n_trees, n_nodes)
    feature = np.empty(shape, dtype=np.int64)
    threshold = np.empty(shape)
    value = np.empty(shape)
    importances = np.empty((n_estimators, n_trees, x.shape[1]))
    if parallel is None:
        parallel = n_trees > 2 and x.shape[0] * x.shape[1] * n_trees >= _PARALLEL_MIN_WORK
    kernel = _fit_stages_par if parallel else _fit_stages
    kernel(x, xb, n_bins, bin_lo, bin_hi, codes, n_classes, init_raw, n_estimators, learning_rate, max_depth,
           feature, threshold, value, importances)
    return GBTModel(classes=classes, init_raw=init_raw, feature=feature, threshold=threshold, value=value,
                    importances=importances, learning_rate=learning_rate, max_bins=max_bins)


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
    return _predict_raw(x, model.init_raw, model.feature, model.threshold, model.value, model.learning_rate)


def predict(model: GBTModel, X) -> np.ndarray:
    """Predicted class labels (n_samples,); ties go to the first class, as sklearn's argmax."""
    raw = predict_raw(model, X)
    if raw.shape[1] == 1:
        return model.classes[(raw[:, 0] > 0).astype(np.int64)]
    return model.classes[np.argmax(raw, axis=1)]
