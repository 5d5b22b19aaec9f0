"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams, 2018).

Follows disentanglement_lib's ``evaluation/metrics/dci.py`` (Locatello et al., 2019): one
gradient-boosted tree classifier per factor, absolute feature importances as the importance matrix,
and informativeness as classification *accuracy* (not Eastwood & Williams' error).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, DCIResult
from metrics._split import DEFAULT_TEST_SIZE, random_state_param, seed_from, train_test
from metrics._validation import check_choice, check_int, check_random_state, pow2_rescaled

__all__ = ["dci"]

_EPS = 1e-11  # added to every importance before the entropies, as disentanglement_lib does
_ESTIMATORS = ("gbt", "gbt_sklearn", "random_forest")


def dci(
    sources: Any,
    latents: Any,
    *,
    sources_test: Any = None,
    latents_test: Any = None,
    estimator: str = "gbt",
    test_size: float = DEFAULT_TEST_SIZE,
    random_state: Any = 0,
    n_jobs: int | None = None,
    progress: bool = True,
) -> DCIResult:
    r"""Disentanglement, completeness and informativeness of a representation.

    For every factor k a classifier predicts :math:`s_k` from all latents; its feature importances
    form the column :math:`R_{\cdot k}` of the importance matrix :math:`R` (L x K). With
    :math:`P_{jk} = R_{jk} / \sum_{k'} R_{jk'}` and :math:`\tilde P_{jk} = R_{jk} / \sum_{j'} R_{j'k}`:

    .. math::

        D = \sum_j \rho_j \left(1 - H_K(P_{j\cdot})\right), \quad
        C = \sum_k \omega_k \left(1 - H_L(\tilde P_{\cdot k})\right), \quad
        I = \frac{1}{K} \sum_k \mathrm{acc}_k^{\mathrm{test}}

    where :math:`\rho_j = \sum_k R_{jk} / \sum R`, :math:`\omega_k = \sum_j R_{jk} / \sum R`, and
    :math:`H_K` is the entropy in base K of the distribution after adding :math:`10^{-11}` to every
    entry (as disentanglement_lib does).

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer factor classes used for training (or for both sides when no test set is given).
    latents : array-like of shape (n_samples, n_latents)
        Representation, numpy array or torch tensor.
    sources_test, latents_test : array-like of shape (n_test, n_factors) and (n_test, n_latents), default=None
        Test set. Give both or neither; when neither, ``test_size`` of the rows of ``sources`` and
        ``latents`` are split off at random (``random_state``) as the test set.
    estimator : {"gbt", "gbt_sklearn", "random_forest"}, default="gbt"
        ``"gbt"``: gradient-boosted trees as ``sklearn.ensemble.GradientBoostingClassifier()`` at its
        defaults (100 stages, learning rate 0.1, depth 3, multinomial deviance, impurity importances), as
        disentanglement_lib uses them, re-implemented in numba (``metrics._gbt``): exact splits, ties between
        equally good splits broken in a seeded random order of the latents as scikit-learn does, every factor
        fitted at once, on numba's threads. It differs from scikit-learn's in the random draws and in the last
        bits of sums: D, C and I agree with ``"gbt_sklearn"`` to within the spread of ``"gbt_sklearn"`` itself
        over ``random_state`` (docs/metrics-predictive.md gives the figures).
        ``"gbt_sklearn"``: scikit-learn's ``GradientBoostingClassifier`` itself, with ``random_state`` set,
        for exact replication of disentanglement_lib (minutes per model on 10,000 samples).
        ``"random_forest"``: the settings of kylehkhsu/tripod ``compute_dci``:
        ``RandomForestClassifier(n_estimators=100, criterion="entropy", max_depth=10,
        min_samples_split=2)`` on latents standardised with the training mean and std.
    test_size : float in (0, 1), default=1/3
        Fraction of rows used as test set when no test arrays are given (disentanglement_lib uses
        10 000 train and 5 000 test points). ``ceil(test_size * n)`` rows, at least 1, at most n - 1.
    random_state : int, numpy.random.Generator or None, default=0
        Seeds the split and, through seeds drawn from it, every classifier.
    n_jobs : int or None, default=None
        Parallel jobs of the random forest (no effect on the numbers; ignored for the other estimators:
        ``"gbt"`` uses numba's threads, ``numba.set_num_threads``).
    progress : bool, default=True
        Show a tqdm bar over the factors (on a terminal only; ``"gbt"`` fits all factors in one call).

    Returns
    -------
    DCIResult
        ``disentanglement`` and ``completeness`` in [0, 1]; ``informativeness`` (mean test accuracy,
        [0, 1]) and ``informativeness_train``; ``importance`` (L, K), non-negative;
        ``per_latent_disentanglement`` (L,), ``per_factor_completeness`` (K,),
        ``per_factor_informativeness`` (K,) test accuracies; ``n_samples`` = n_train + n_test;
        ``params`` with the estimator settings, ``n_train``, ``n_test`` and the scikit-learn version.

    Raises
    ------
    ValueError
        Wrong shapes, mismatched sample counts, NaN/inf, non-integer sources, fewer than 2 samples
        to split, only one of the test arrays, an unknown ``estimator``.

    Notes
    -----
    Edge cases (disentanglement_lib divides by zero or fails on these):

    - A factor with a single class in the training set gets no classifier: its importances are 0,
      it is predicted as that class (train accuracy 1, test accuracy = fraction of test rows in it).
    - One factor (K = 1): every latent with importance has :math:`1 - H_1 := 1`, so D = 1 if any
      latent is used. One latent (L = 1): likewise C = 1 if the latent is used.
    - All importances 0 (e.g. constant latents): D = C = 0 (disentanglement_lib replaces R by ones,
      which gives 0 up to 1e-11 as well).

    Trees break ties between equally good splits at random, and with 100 boosting stages one
    different split changes all later ones. D and C therefore depend on ``random_state`` (on a few
    hundred samples they move by about 0.01 between seeds), and permuting the latents or relabelling
    factor classes, which reorders those random draws, changes them at the same level. Fix
    ``random_state`` to compare representations; invariances hold up to this spread.

    References
    ----------
    Eastwood, C. & Williams, C. K. I. (2018). A framework for the quantitative evaluation of
    disentangled representations. ICLR. https://openreview.net/forum?id=By-7dz-AZ

    Locatello, F. et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML. arXiv:1811.12359 (google-research/disentanglement_lib,
    ``evaluation/metrics/dci.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import dci
    >>> sources = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [1, 1]])
    >>> latents = sources + np.array([[0.1, -0.2]]) * np.arange(6)[:, None] / 10
    >>> r = dci(sources, latents, sources_test=sources, latents_test=latents)
    >>> round(r.disentanglement, 6), round(r.completeness, 6), r.informativeness
    (1.0, 1.0, 1.0)
    """
    estimator = check_choice(estimator, "estimator", _ESTIMATORS)
    rng = check_random_state(random_state)
    if n_jobs is not None:
        n_jobs = check_int(n_jobs, "n_jobs")
    data = train_test(sources, latents, sources_test, latents_test, test_size=test_size, rng=rng)
    s_tr, z_tr, s_te, z_te = data.sources_train, data.latents_train, data.sources_test, data.latents_test
    n_factors, n_latents = s_tr.shape[1], z_tr.shape[1]

    # Powers of two per latent (the training set's), exact: trees split the same, but values near the float
    # maximum no longer overflow the standardisation below or scikit-learn's float32 copy of X.
    x_tr, x_te = pow2_rescaled(z_tr), pow2_rescaled(z_te, like=z_tr)
    if estimator == "random_forest":
        mean = x_tr.mean(axis=0)
        std = x_tr.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # constant latent: centred only
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std

    importance = np.zeros((n_latents, n_factors), dtype=np.float64)
    acc_train = np.zeros(n_factors, dtype=np.float64)
    acc_test = np.zeros(n_factors, dtype=np.float64)
    seeds = [seed_from(rng) for _ in range(n_factors)]  # drawn for every estimator: the split is the same
    learnable = []
    for k in range(n_factors):
        classes = np.unique(s_tr[:, k])
        if classes.size < 2:  # nothing to learn: constant predictor, no importance
            acc_train[k] = 1.0
            acc_test[k] = float(np.mean(s_te[:, k] == classes[0]))
        else:
            learnable.append(k)
    if estimator == "gbt" and learnable:
        from metrics._gbt import feature_importances, fit_gbt_many, labels_from_raw, predict

        fitted = fit_gbt_many(x_tr, s_tr[:, learnable], random_state=[seeds[k] for k in learnable])
        for k, model in zip(learnable, fitted):
            importance[:, k] = feature_importances(model)
            acc_train[k] = float(np.mean(labels_from_raw(model, model.train_raw) == s_tr[:, k]))
            acc_test[k] = float(np.mean(predict(model, x_te) == s_te[:, k]))
    elif learnable:
        from tqdm.auto import tqdm

        for k in tqdm(learnable, desc=f"DCI ({estimator})", disable=None if progress else True, leave=False):
            clf = _make_estimator(estimator, seeds[k], n_jobs)
            clf.fit(x_tr, s_tr[:, k])
            importance[:, k] = np.abs(clf.feature_importances_)
            acc_train[k] = float(np.mean(clf.predict(x_tr) == s_tr[:, k]))
            acc_test[k] = float(np.mean(clf.predict(x_te) == s_te[:, k]))

    per_latent_d, per_factor_c, d, c = _disentanglement_completeness(importance)
    import sklearn

    params = {
        "estimator": estimator,
        "estimator_params": _estimator_params(estimator),
        "test_size": float(test_size) if data.split else None,
        "random_state": random_state_param(random_state),
        "n_train": data.n_train,
        "n_test": data.n_test,
        "sklearn_version": sklearn.__version__,
    }
    return DCIResult(
        disentanglement=d,
        completeness=c,
        informativeness=float(np.mean(acc_test)),
        informativeness_train=float(np.mean(acc_train)),
        importance=importance,
        per_latent_disentanglement=per_latent_d,
        per_factor_completeness=per_factor_c,
        per_factor_informativeness=acc_test,
        n_samples=data.n_train + data.n_test,
        params=params,
        metric_version=METRIC_VERSIONS["dci"],
    )


def _estimator_params(estimator: str) -> dict[str, Any]:
    if estimator == "gbt":
        return {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "implementation": "metrics._gbt"}
    if estimator == "gbt_sklearn":
        return {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3}
    return {"n_estimators": 100, "criterion": "entropy", "max_depth": 10, "min_samples_split": 2, "standardize": True}


def _make_estimator(estimator: str, seed: int, n_jobs: int | None) -> Any:
    if estimator == "gbt_sklearn":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(random_state=seed)
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=100, criterion="entropy", max_depth=10, min_samples_split=2, n_jobs=n_jobs, random_state=seed
    )


def _normalized_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (base ``base``) of each column of ``p`` after adding 1e-11 and renormalising.

    Equals ``scipy.stats.entropy(p + 1e-11, base=base)`` (axis 0).
    """
    q = p + _EPS
    q = q / q.sum(axis=0, keepdims=True)
    return -(q * np.log(q)).sum(axis=0) / np.log(base)


def _disentanglement_completeness(importance: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Per-latent D, per-factor C and the weighted scores from an (L, K) importance matrix."""
    n_latents, n_factors = importance.shape
    total = float(importance.sum())
    if total <= 0.0:
        return np.zeros(n_latents), np.zeros(n_factors), 0.0, 0.0
    if n_factors > 1:
        per_latent = 1.0 - _normalized_entropy(importance.T, n_factors)
    else:
        per_latent = np.ones(n_latents)
    if n_latents > 1:
        per_factor = 1.0 - _normalized_entropy(importance, n_latents)
    else:
        per_factor = np.ones(n_factors)
    per_latent = np.clip(per_latent, 0.0, 1.0)
    per_factor = np.clip(per_factor, 0.0, 1.0)
    d = float(np.clip(np.sum(per_latent * importance.sum(axis=1) / total), 0.0, 1.0))
    c = float(np.clip(np.sum(per_factor * importance.sum(axis=0) / total), 0.0, 1.0))
    return per_latent, per_factor, d, c
