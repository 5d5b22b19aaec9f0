"""Tests for metrics._svc: exact one-feature LinearSVC fits (discrete SAP's score matrix).

Reference: sklearn.svm.LinearSVC(C=0.01, class_weight="balanced") itself, once with a tight tol
(liblinear then reaches the optimum) and once with its default tol=1e-4 (what discrete SAP uses).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from metrics._svc import (
    _accuracy,
    _accuracy_par,
    _encode,
    _fit_coefficients,
    _objective,
    svc_accuracy_matrix,
)

C = 0.01
NEAR = 1e-6  # a test point this close to a decision boundary may fall either way
# Largest |accuracy difference| against the DEFAULT LinearSVC (tol=1e-4), in test points: measured 2 on
# 540 cells (these fixtures + 40 random ones, latent std 0.05-3; 6 cells differ at all). It grows with
# the latents' scale (liblinear's stopping rule is looser): 6 at std ~10, 9 of 5,000 at std ~100.
DEFAULT_TOL_MAX_POINTS = 2


def _sklearn(x, s, **kw):
    clf = LinearSVC(C=C, class_weight="balanced", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x[:, None], s)
    return clf


def _problems(s):
    """(y, cost) of every binary problem liblinear solves for labels s (sklearn's conventions)."""
    classes, counts = np.unique(s, return_counts=True)
    n, nc = s.size, classes.size
    if nc == 2:  # one problem: classes_[1] is +1; both sides carry their balanced weight
        y = np.where(s == classes[1], 1.0, -1.0)
        return [(y, np.where(s == classes[1], C * n / (2 * counts[1]), C * n / (2 * counts[0])))]
    # one-vs-rest: positives weighted, negatives get plain C (liblinear train_one(.., weighted_C[i], C))
    return [(np.where(s == c, 1.0, -1.0), np.where(s == c, C * n / (nc * counts[i]), C))
            for i, c in enumerate(classes)]


def _total_objective(x, s, coef, intercept):
    return sum(_objective(x, y, cost, float(w), float(b))
               for (y, cost), w, b in zip(_problems(s), coef, intercept))


def _fixture(seed, n, sizes, n_latents=4):
    """Factors of the given sizes; latents 0.. carry signal of decreasing strength, the last is pure noise."""
    rng = np.random.default_rng(seed)
    s = np.stack([rng.integers(0, k, n) for k in sizes], axis=1)
    z = rng.normal(size=(n, n_latents)) * rng.uniform(0.05, 3.0, n_latents)
    for j in range(n_latents - 1):
        z[:, j] += (2.0 / (j + 1)) * s[:, j % len(sizes)]
    return s, z


CASES = [(0, 300, (2, 3, 10)), (1, 1000, (10, 2, 3)), (2, 3000, (3, 10, 2)), (3, 600, (2, 2, 10)),
         (4, 2000, (10, 3, 3))]


def _split(s, z):
    nt = int(np.ceil(2 * s.shape[0] / 3))
    return z[:nt], s[:nt], z[nt:], s[nt:]


def _near_boundary(clf, x):
    """Test points within NEAR of a decision boundary of a fitted sklearn model."""
    d = clf.decision_function(x[:, None])
    if d.ndim == 1:
        return np.abs(d) <= NEAR
    top2 = np.sort(d, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0] <= NEAR


@pytest.mark.parametrize("seed,n,sizes", CASES)
def test_optimum_not_worse_than_tight_liblinear(seed, n, sizes):
    s, z = _fixture(seed, n, sizes)
    for j in range(z.shape[1]):
        for k in range(s.shape[1]):
            clf = _sklearn(z[:, j], s[:, k], tol=1e-8, max_iter=100_000)
            coef, intercept = _fit_coefficients(z[:, j], s[:, k], C=C)
            assert coef.shape == (clf.coef_.shape[0],)
            ours = _total_objective(z[:, j], s[:, k], coef, intercept)
            theirs = _total_objective(z[:, j], s[:, k], clf.coef_[:, 0], clf.intercept_)
            assert ours <= theirs + 1e-9


@pytest.mark.parametrize("seed,n,sizes", CASES)
def test_accuracy_matches_tight_liblinear(seed, n, sizes):
    """Rule: every test point predicted differently lies within NEAR of one of sklearn's decision
    boundaries, so each entry differs by at most (number of such points) / n_test (mostly 0)."""
    z_tr, s_tr, z_te, s_te = _split(*_fixture(seed, n, sizes))
    ours = svc_accuracy_matrix(z_tr, s_tr, z_te, s_te, C=C)
    n_exact = 0
    for j in range(z_tr.shape[1]):
        for k in range(s_tr.shape[1]):
            clf = _sklearn(z_tr[:, j], s_tr[:, k], tol=1e-8, max_iter=100_000)
            theirs = np.mean(clf.predict(z_te[:, j:j + 1]) == s_te[:, k])
            near = _near_boundary(clf, z_te[:, j]).sum()
            assert abs(ours[j, k] - theirs) <= near / s_te.shape[0] + 1e-15
            n_exact += ours[j, k] == theirs
    assert n_exact >= ours.size - 1


@pytest.mark.parametrize("seed,n,sizes", CASES)
def test_accuracy_close_to_default_liblinear(seed, n, sizes):
    """Against what SAP runs today (tol=1e-4): measured bound, DEFAULT_TOL_MAX_POINTS test points."""
    z_tr, s_tr, z_te, s_te = _split(*_fixture(seed, n, sizes))
    ours = svc_accuracy_matrix(z_tr, s_tr, z_te, s_te, C=C)
    theirs = np.array([[np.mean(_sklearn(z_tr[:, j], s_tr[:, k]).predict(z_te[:, j:j + 1]) == s_te[:, k])
                        for k in range(s_tr.shape[1])] for j in range(z_tr.shape[1])])
    assert np.abs(ours - theirs).max() <= DEFAULT_TOL_MAX_POINTS / s_te.shape[0] + 1e-15


def test_serial_and_parallel_are_identical():
    z_tr, s_tr, z_te, s_te = _split(*_fixture(7, 1500, (2, 3, 10, 4), n_latents=5))
    x_tr, x_te = np.ascontiguousarray(z_tr.T), np.ascontiguousarray(z_te.T)
    codes_tr, codes_te, n_classes = _encode(s_tr, s_te)
    a = np.zeros((5, 4))
    b = np.zeros((5, 4))
    _accuracy(x_tr, codes_tr, x_te, codes_te, n_classes, C, a)
    _accuracy_par(x_tr, codes_tr, x_te, codes_te, n_classes, C, b)
    np.testing.assert_array_equal(a, b)


def test_label_values_and_order_do_not_matter_beyond_sorting():
    """Arbitrary integer labels: only their sorted order matters (sklearn's classes_)."""
    z_tr, s_tr, z_te, s_te = _split(*_fixture(8, 900, (2, 3, 10)))
    relabel = lambda s: s * 7 - 30  # increasing map
    np.testing.assert_array_equal(svc_accuracy_matrix(z_tr, s_tr, z_te, s_te),
                                  svc_accuracy_matrix(z_tr, relabel(s_tr), z_te, relabel(s_te)))


def test_one_class_and_unseen_test_labels():
    rng = np.random.default_rng(9)
    z_tr, z_te = rng.normal(size=(50, 2)), rng.normal(size=(20, 2))
    s_tr = np.stack([np.full(50, 3), rng.integers(0, 2, 50)], axis=1)
    s_te = np.stack([np.r_[np.full(15, 3), np.full(5, 4)], np.full(20, 5)], axis=1)
    m = svc_accuracy_matrix(z_tr, s_tr, z_te, s_te)
    np.testing.assert_array_equal(m[:, 0], 0.75)  # one training class: always predicted
    np.testing.assert_array_equal(m[:, 1], 0.0)  # label 5 never seen in training


def test_separable_binary_known_solution():
    """Symmetric separable data x = +-1 (balanced): by symmetry b = 0 and
    w minimises 0.5 w^2 + n C max(0, 1 - w)^2, i.e. w = 2nC / (1 + 2nC)."""
    n = 40
    x = np.r_[-np.ones(n // 2), np.ones(n // 2)]
    s = np.r_[np.zeros(n // 2, dtype=np.int64), np.ones(n // 2, dtype=np.int64)]
    coef, intercept = _fit_coefficients(x, s, C=C)
    assert coef[0] == pytest.approx(2 * n * C / (1 + 2 * n * C), rel=1e-14)
    assert intercept[0] == pytest.approx(0.0, abs=1e-15)


def test_sap_exact_solver_is_the_default():
    """sap() uses this kernel unless solver="liblinear" asks for disentanglement_lib's fits; params say which."""
    from metrics import sap
    from tests.metrics._data import mixed_recipe

    s, z = mixed_recipe(600, (2, 6, 10), 4, seed=3)
    default = sap(s, z)
    liblinear = sap(s, z, solver="liblinear")
    assert default.params["svc_solver"] == "exact" and liblinear.params["svc_solver"] == "liblinear"
    assert {k: v for k, v in default.params.items() if k != "svc_solver"} == \
        {k: v for k, v in liblinear.params.items() if k != "svc_solver"}
    assert np.abs(default.matrix - liblinear.matrix).max() <= DEFAULT_TOL_MAX_POINTS / default.params["n_test"] + 1e-15
    assert isinstance(default.score, float)
    with pytest.raises(ValueError, match="solver must be one of 'exact', 'liblinear'; got 'tron'."):
        sap(s, z, solver="tron")


@pytest.mark.parametrize("scale", [1e-6, 1e-2, 1e2, 1e4, 1e8])
def test_optimum_at_extreme_scales(scale):
    s, z = _fixture(11, 800, (2, 3, 10))
    z = z * scale
    for j in range(z.shape[1]):
        for k in range(s.shape[1]):
            clf = _sklearn(z[:, j], s[:, k], tol=1e-10, max_iter=1_000_000)
            coef, intercept = _fit_coefficients(z[:, j], s[:, k], C=C)
            ours = _total_objective(z[:, j], s[:, k], coef, intercept)
            assert ours <= _total_objective(z[:, j], s[:, k], clf.coef_[:, 0], clf.intercept_) + 1e-9
