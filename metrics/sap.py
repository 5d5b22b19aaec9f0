"""SAP: separated attribute predictability (Kumar, Sattigeri & Balakrishnan, 2018).

Follows disentanglement_lib's ``evaluation/metrics/sap_score.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, SAPResult
from metrics._split import DEFAULT_TEST_SIZE, random_state_param, seed_from, train_test
from metrics._validation import (
    check_bool,
    check_choice,
    check_consistent_samples,
    check_latents,
    check_random_state,
    check_sources,
    pow2_rescaled,
)

__all__ = ["sap"]

_VAR_EPS = 1e-12  # a latent with variance below this predicts nothing (disentanglement_lib's guard)
_SVC_C = 0.01
_SVC_MAX_ABS = 1e60  # liblinear spins without end from ~1e80 (measured); far below, it finishes in ms


def sap(
    sources: Any,
    latents: Any,
    *,
    sources_test: Any = None,
    latents_test: Any = None,
    continuous_factors: bool = False,
    test_size: float = DEFAULT_TEST_SIZE,
    random_state: Any = 0,
    solver: str = "exact",
) -> SAPResult:
    r"""Separated attribute predictability: the gap between the two latents best predicting each factor.

    A score matrix :math:`S` (L x K) holds how well factor k is predicted from latent j alone;

    .. math::

        \mathrm{SAP} = \frac{1}{K} \sum_k \left(S_{(1)k} - S_{(2)k}\right)

    with :math:`S_{(1)k} \ge S_{(2)k}` the two largest entries of column k. Discrete factors:
    :math:`S_{jk}` is the test accuracy of ``LinearSVC(C=0.01, class_weight="balanced")`` fitted
    on latent j alone. Continuous factors: :math:`S_{jk} = \mathrm{cov}(z_j, s_k)^2 /
    (\mathrm{var}(z_j)\,\mathrm{var}(s_k))`, the squared Pearson correlation on the training data,
    0 when :math:`\mathrm{var}(z_j) \le 10^{-12}`.

    Parameters
    ----------
    sources : array-like of shape (n_samples, n_factors)
        Integer factor classes (any real values when ``continuous_factors=True``).
    latents : array-like of shape (n_samples, n_latents)
        Representation, numpy array or torch tensor.
    sources_test, latents_test : array-like of shape (n_test, n_factors) and (n_test, n_latents), default=None
        Test set for the discrete score. Give both or neither; when neither, ``test_size`` of the
        rows are split off at random. With ``continuous_factors=True`` the score uses the training
        data only: all given rows when no test set is given (no split), and the test set is
        validated but not used.
    continuous_factors : bool, default=False
        Score factors as continuous values (squared correlation) instead of classes.
    test_size : float in (0, 1), default=1/3
        Test fraction of the split (see :func:`metrics.dci`).
    random_state : int, numpy.random.Generator or None, default=0
        Seeds the split and the LinearSVC solvers.
    solver : {"exact", "liblinear"}, default="exact"
        How the discrete score's one-feature LinearSVC problems (``C=0.01``, balanced class weights,
        squared hinge, one-vs-rest) are solved. ``"exact"``: to machine precision by a numba kernel
        (``metrics/_svc.py``), 4-13x faster than liblinear at 10,000 x 12 latents. ``"liblinear"``:
        ``sklearn.svm.LinearSVC`` as disentanglement_lib calls it, stopping at its ``tol=1e-4``, for
        exact replication. The exact fits' accuracies equal liblinear's at a tight tol (up to test
        points within 1e-6 of a decision boundary) and differ from liblinear's default fits by a few test
        points per entry (measured: up to 2 of 5,000 at unit-scale latents, up to 9 at scale 100,
        where tol=1e-4 stops further from the optimum). Recorded in ``params["svc_solver"]``. Ignored
        when ``continuous_factors=True``.
    Returns
    -------
    SAPResult
        ``score`` in [0, 1]; ``matrix`` (L, K) with entries in [0, 1]; ``per_factor`` (K,) gaps;
        ``params`` with ``n_train`` and ``n_test``.

    Raises
    ------
    ValueError
        Wrong shapes, mismatched sample counts, NaN/inf, non-integer sources in discrete mode,
        fewer than 2 samples to split, only one of the test arrays.

    Notes
    -----
    - One latent: there is no runner-up, so it counts as 0 and the gap is :math:`S_{(1)k}`
      (disentanglement_lib raises an IndexError).
    - A factor with one class in the training set: every latent predicts that class, so all
      entries of its column are equal (the fraction of test rows in that class) and its gap is 0
      (disentanglement_lib's LinearSVC raises). A continuous factor with zero variance scores 0
      everywhere (disentanglement_lib returns NaN).
    - With one-dimensional linear classifiers, discrete SAP cannot reach 1 for factors with more
      than two classes: the middle classes cannot be isolated.

    References
    ----------
    Kumar, A., Sattigeri, P. & Balakrishnan, A. (2018). Variational inference of disentangled latent
    concepts from unlabeled observations. ICLR. arXiv:1711.00848.

    Locatello, F. et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML. arXiv:1811.12359 (google-research/disentanglement_lib,
    ``evaluation/metrics/sap_score.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import sap
    >>> sources = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0, 2], [1, 2]])
    >>> latents = np.array([[0.0, 0.1], [0.1, 1.0], [1.0, 0.0], [0.9, 1.1], [0.2, 2.0], [1.1, 1.9]])
    >>> r = sap(sources, latents, continuous_factors=True)
    >>> r.matrix.round(3)
    array([[0.968, 0.018],
           [0.   , 0.995]])
    >>> round(r.score, 4)
    0.9723
    """
    continuous_factors = check_bool(continuous_factors, "continuous_factors")
    solver = check_choice(solver, "solver", ("exact", "liblinear"))
    rng = check_random_state(random_state)
    if continuous_factors:
        if sources_test is None and latents_test is None:
            s = check_latents(sources, name="sources")
            z = check_latents(latents, name="latents")
            n = check_consistent_samples(sources=s, latents=z)
            s_tr, z_tr, n_train, n_test = s, z, n, 0
        else:
            data = train_test(sources, latents, sources_test, latents_test, test_size=test_size, rng=rng,
                              check_targets=check_latents)
            s_tr, z_tr, n_train, n_test = data.sources_train, data.latents_train, data.n_train, 0
        matrix = _continuous_matrix(np.asarray(s_tr, dtype=np.float64), np.asarray(z_tr, dtype=np.float64))
        split = False
    else:
        data = train_test(sources, latents, sources_test, latents_test, test_size=test_size, rng=rng,
                          check_targets=check_sources)
        matrix = _discrete_matrix(data.sources_train, data.latents_train, data.sources_test, data.latents_test, rng,
                                  solver=solver)
        n_train, n_test, split = data.n_train, data.n_test, data.split

    per_factor = _top_two_gap(matrix)
    params = {
        "continuous_factors": continuous_factors,
        "svc_C": _SVC_C,
        "test_size": float(test_size) if split else None,
        "random_state": random_state_param(random_state),
        "n_train": n_train,
        "n_test": n_test,
        "svc_solver": solver,
    }
    return SAPResult(
        score=float(np.mean(per_factor)),
        matrix=matrix,
        per_factor=per_factor,
        n_samples=n_train + n_test,
        params=params,
        metric_version=METRIC_VERSIONS["sap"],
    )


def _continuous_matrix(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation of every (latent, factor) pair, (L, K); 0 for a constant side.

    A latent counts as constant when its sample variance (ddof=1) is at most 1e-12, as in
    disentanglement_lib. The correlation itself is computed on max-abs-rescaled columns, so that
    very large or very small values neither overflow nor underflow.
    """
    n = s.shape[0]
    if n < 2:
        return np.zeros((z.shape[1], s.shape[1]))
    zc, exponent = pow2_rescaled(z, return_exponent=True)  # exact; the mean of values near the float max would overflow
    zc = zc - zc.mean(axis=0)
    sc = s - s.mean(axis=0)
    z_peak = np.abs(zc).max(axis=0)
    s_peak = np.abs(sc).max(axis=0)
    zc = zc / np.where(z_peak > 0, z_peak, 1.0)
    sc = sc / np.where(s_peak > 0, s_peak, 1.0)
    with np.errstate(over="ignore"):
        var_z_raw = np.ldexp((zc**2).sum(axis=0) / (n - 1) * z_peak**2, 2 * exponent)  # the guard: unscaled variance
    norm_z = np.sqrt((zc**2).sum(axis=0))
    norm_s = np.sqrt((sc**2).sum(axis=0))
    denom = norm_z[:, None] * norm_s[None, :]
    ok = (var_z_raw[:, None] > _VAR_EPS) & (denom > 0)
    corr = np.zeros((z.shape[1], s.shape[1]))
    np.divide(zc.T @ sc, denom, out=corr, where=ok)
    return np.clip(corr**2, 0.0, 1.0)


def _discrete_matrix(s_tr: np.ndarray, z_tr: np.ndarray, s_te: np.ndarray, z_te: np.ndarray,
                     rng: np.random.Generator, *, solver: str = "exact") -> np.ndarray:
    """Test accuracy of a one-latent balanced LinearSVC for every (latent, factor) pair, (L, K)."""
    n_latents, n_factors = z_tr.shape[1], s_tr.shape[1]
    out = np.zeros((n_latents, n_factors))
    x_tr = np.asarray(z_tr, dtype=np.float64)
    x_te = np.asarray(z_te, dtype=np.float64)
    peak = float(np.abs(x_tr).max(initial=0.0))
    if peak > _SVC_MAX_ABS:
        raise ValueError(
            f"latents holds values up to {peak:.3g} in absolute value; discrete SAP fits LinearSVC(C={_SVC_C}) on the raw "
            f"latents (as disentanglement_lib), whose solver does not finish beyond about 1e80 and whose score depends on "
            f"the scale. Rescale the latents to at most {_SVC_MAX_ABS:.0e} (e.g. divide each by its largest |value|).")
    if solver == "exact":
        from metrics._svc import svc_accuracy_matrix

        return svc_accuracy_matrix(x_tr, s_tr, x_te, s_te, C=_SVC_C)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    for j in range(n_latents):
        for k in range(n_factors):
            seed = seed_from(rng)
            classes = np.unique(s_tr[:, k])
            if classes.size < 2:
                out[j, k] = np.mean(s_te[:, k] == classes[0])
                continue
            clf = LinearSVC(C=_SVC_C, class_weight="balanced", random_state=seed)
            with warnings.catch_warnings():
                # A constant latent or tiny C can stop liblinear early; the accuracy is still defined.
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(x_tr[:, j:j + 1], s_tr[:, k])
            out[j, k] = np.mean(clf.predict(x_te[:, j:j + 1]) == s_te[:, k])
    return out


def _top_two_gap(matrix: np.ndarray) -> np.ndarray:
    """Per column: largest minus second-largest entry (second = 0 when there is one row)."""
    if matrix.shape[0] == 1:
        return matrix[0].copy()
    ordered = np.sort(matrix, axis=0)
    return ordered[-1] - ordered[-2]
