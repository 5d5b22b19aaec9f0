"""Modularity and explicitness (Ridgeway & Mozer, 2018).

Follows disentanglement_lib's ``evaluation/metrics/modularity_explicitness.py``, with the crash on
a class missing from the test split fixed (see :func:`modularity_explicitness`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, ModularityExplicitnessResult
from metrics._split import DEFAULT_TEST_SIZE, random_state_param, train_test
from metrics._validation import check_int, check_mutual_info, check_random_state, pow2_rescaled

__all__ = ["modularity_explicitness"]


def modularity_explicitness(
    sources: Any,
    latents: Any,
    *,
    sources_test: Any = None,
    latents_test: Any = None,
    num_bins: int = 20,
    mutual_info: Any = None,
    test_size: float = DEFAULT_TEST_SIZE,
    random_state: Any = 0,
) -> ModularityExplicitnessResult:
    r"""Modularity (each latent informs about one factor) and explicitness (factors are linearly decodable).

    With :math:`m_{jk} = I(z_j; s_k)` (20 equal-width bins per latent, on the training data) and
    :math:`\theta_j = \max_k m_{jk}`:

    .. math::

        \mathrm{mod}_j = 1 - \frac{\sum_k m_{jk}^2 - \theta_j^2}{\theta_j^2 (K - 1)}, \qquad
        \mathrm{modularity} = \frac{1}{L} \sum_j \mathrm{mod}_j

    A latent with :math:`\theta_j = 0` scores 0 and counts in the mean (as disentanglement_lib).
    Explicitness of factor k is the macro-averaged one-vs-rest ROC-AUC of a
    ``LogisticRegression()`` (scikit-learn defaults) fitted on all latents, standardised with the
    training mean and standard deviation; ``explicitness`` is its mean over factors on the test set.

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer factor classes used for training (or for both sides when no test set is given).
    latents : array-like of shape (n_samples, n_latents)
        Representation, numpy array or torch tensor.
    sources_test, latents_test : array-like of shape (n_test, n_factors) and (n_test, n_latents), default=None
        Test set for explicitness. Give both or neither; when neither, ``test_size`` of the rows
        are split off at random and modularity uses the remaining training rows.
    num_bins : int >= 2, default=20
        Equal-width bins per latent (over the training sample's min..max) for the MI matrix,
        computed by ``metrics.mutual_info_matrix(sources_train, latents_train, bins=num_bins)``.
    mutual_info : array-like of shape (n_factors, n_latents), default=None
        A precomputed MI matrix in nats to use instead (``num_bins`` is then ignored).
    test_size : float in (0, 1), default=1/3
        Test fraction of the split (see :func:`metrics.dci`).
    random_state : int, numpy.random.Generator or None, default=0
        Seeds the split (the logistic regressions are deterministic).

    Returns
    -------
    ModularityExplicitnessResult
        ``modularity`` in [0, 1]; ``explicitness`` and ``explicitness_train`` (mean ROC-AUC, in
        [0, 1], 0.5 = chance); ``per_latent_modularity`` (L,); ``per_factor_explicitness`` (K,) test
        AUCs; ``mutual_info`` (K, L) nats.

    Raises
    ------
    ValueError
        Wrong shapes, mismatched sample counts, NaN/inf, non-integer sources, fewer than 2 samples
        to split, only one of the test arrays, a ``mutual_info`` of the wrong shape, and whatever
        ``mutual_info_matrix`` rejects (e.g. fewer training samples than bins).

    Notes
    -----
    Deviations from disentanglement_lib, which crashes or returns NaN on these inputs:

    - **Class missing from the test split** (disentanglement_lib raises ``IndexError`` because its
      ``MultiLabelBinarizer`` is fitted on the test labels only): the one-vs-rest targets are built
      against the classes the classifier was trained on, and the AUC is averaged over the classes
      that occur in the evaluated split with both positives and negatives. Test rows of a class
      unseen in training count as negatives for every class. If no class can be evaluated (the
      split holds a single class), that factor's AUC is 0.5.
    - A factor with a single class in the training set is trivially explicit: AUC 1.0 on both sets.
    - A constant latent is centred but not scaled (its standard deviation 0 is replaced by 1).
    - One factor (K = 1): a latent with nonzero MI has modularity 1.

    References
    ----------
    Ridgeway, K. & Mozer, M. C. (2018). Learning deep disentangled embeddings with the F-statistic
    loss. NeurIPS. arXiv:1802.05312.

    Locatello, F. et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML. arXiv:1811.12359 (google-research/disentanglement_lib,
    ``evaluation/metrics/modularity_explicitness.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import modularity_explicitness
    >>> sources = np.array([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
    >>> latents = np.array([[0.0, 0.1], [0.1, 1.0], [0.05, 2.1], [1.0, 0.0], [0.9, 1.1], [0.95, 2.0]])
    >>> r = modularity_explicitness(sources, latents, sources_test=sources, latents_test=latents, num_bins=3)
    >>> r.modularity, r.explicitness
    (1.0, 1.0)
    >>> r.mutual_info.round(4)  # nats: log 2 and log 3 on the diagonal
    array([[0.6931, 0.    ],
           [0.    , 1.0986]])
    """
    rng = check_random_state(random_state)
    data = train_test(sources, latents, sources_test, latents_test, test_size=test_size, rng=rng)
    s_tr, z_tr, s_te, z_te = data.sources_train, data.latents_train, data.sources_test, data.latents_test
    n_factors, n_latents = s_tr.shape[1], z_tr.shape[1]

    if mutual_info is None:
        num_bins = check_int(num_bins, "num_bins", min_value=2)
        from metrics.mutual_info import mutual_info_matrix

        mi = np.asarray(mutual_info_matrix(s_tr, z_tr, bins=num_bins), dtype=np.float64)
    else:
        mi = check_mutual_info(mutual_info, n_factors, n_latents)
    per_latent, modularity = _modularity_from_mutual_info(mi)

    # standardised with the training set's statistics; rescaled by powers of two first (exact), so that values
    # near the float maximum do not overflow the variance (which silently gave explicitness 0.5)
    x_tr, x_te = pow2_rescaled(z_tr), pow2_rescaled(z_te, like=z_tr)
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std

    auc_train = np.zeros(n_factors)
    auc_test = np.zeros(n_factors)
    for k in range(n_factors):
        auc_train[k], auc_test[k] = _explicitness_per_factor(x_tr, s_tr[:, k], x_te, s_te[:, k])

    import sklearn

    params = {
        "num_bins": None if mutual_info is not None else num_bins,
        "mutual_info_given": mutual_info is not None,
        "test_size": float(test_size) if data.split else None,
        "random_state": random_state_param(random_state),
        "n_train": data.n_train,
        "n_test": data.n_test,
        "sklearn_version": sklearn.__version__,
    }
    return ModularityExplicitnessResult(
        modularity=modularity,
        explicitness=float(np.mean(auc_test)),
        explicitness_train=float(np.mean(auc_train)),
        per_latent_modularity=per_latent,
        per_factor_explicitness=auc_test,
        mutual_info=mi,
        n_samples=data.n_train + data.n_test,
        params=params,
        metric_version=METRIC_VERSIONS["modularity_explicitness"],
    )


def _modularity_from_mutual_info(mutual_info: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-latent modularity (L,) and their mean from a (K, L) MI matrix (Ridgeway & Mozer, 2018).

    A latent with zero MI to every factor scores 0; with one factor, a latent with nonzero MI
    scores 1.
    """
    sq = np.square(np.asarray(mutual_info, dtype=np.float64).T)  # (L, K)
    n_factors = sq.shape[1]
    top = sq.max(axis=1)
    used = top > 0
    per_latent = np.zeros(sq.shape[0])
    if n_factors == 1:
        per_latent[used] = 1.0
    else:
        delta = (sq.sum(axis=1)[used] - top[used]) / (top[used] * (n_factors - 1))
        per_latent[used] = np.clip(1.0 - delta, 0.0, 1.0)
    return per_latent, float(np.mean(per_latent))


def _explicitness_per_factor(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray,
                             y_te: np.ndarray) -> tuple[float, float]:
    """(train, test) macro one-vs-rest ROC-AUC of a default LogisticRegression for one factor."""
    classes = np.unique(y_tr)
    if classes.size < 2:
        return 1.0, 1.0
    from metrics._logistic import fit_logistic, predict_proba

    # disentanglement_lib's LogisticRegression() (lbfgs, C=1, 100 iterations, tol 1e-4): the same objective and
    # scipy optimiser, its loss in numba (metrics._logistic); deterministic: no seed
    model = fit_logistic(y_tr, x=x_tr, C=1.0, max_iter=100, tol=1e-4)
    return (
        _ovr_auc(y_tr, predict_proba(model, x=x_tr), model.classes),
        _ovr_auc(y_te, predict_proba(model, x=x_te), model.classes),
    )


def _ovr_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean over the evaluable classes of the one-vs-rest ROC-AUC of ``proba[:, c]``; 0.5 if none."""
    aucs = []
    for c_index, c in enumerate(classes):
        positive = y == c
        if positive.all() or not positive.any():
            continue
        aucs.append(_binary_auc(positive, proba[:, c_index]))
    return float(np.mean(aucs)) if aucs else 0.5


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    r"""ROC-AUC by the rank-sum (Mann-Whitney) identity, equal to ``sklearn.metrics.roc_auc_score``:

    .. math:: \mathrm{AUC} = \frac{\sum_{i \in +} \mathrm{rank}_i - n_+ (n_+ + 1) / 2}{n_+ n_-}

    with tied scores given their average rank (``scipy.stats.rankdata``; a tie counts 1/2, as the trapezoids of
    the ROC curve do), instead of scikit-learn's curve construction and input checks (Hanley & McNeil, 1982,
    Radiology 143(1), doi:10.1148/radiology.143.1.7063747).
    """
    from scipy.stats import rankdata

    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.size - n_pos
    rank_sum = float(np.sum(rankdata(score)[positive]))  # average ranks for ties
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
