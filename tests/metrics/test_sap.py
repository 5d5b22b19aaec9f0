"""Tests for metrics.sap (SAP, disentanglement_lib definition)."""

import doctest
import importlib
import json

import numpy as np
import pytest

import metrics
from tests.metrics._data import grid, mixed_recipe
from metrics import sap


# Measured by running disentanglement_lib's own `sap_score._compute_sap` / `compute_score_matrix` (v1.5,
# sklearn 1.9.1) on the same arrays: first ceil(2n/3) rows train, the rest test.
DLIB_SAP = [
    (dict(n=300, sizes=(3, 4, 5), n_latents=4, seed=0), 0.03666666666666666, 0.15939439936041208,
     [[0.47, 0.43, 0.25], [0.54, 0.43, 0.22], [0.54, 0.29, 0.24], [0.65, 0.22, 0.25]]),
    (dict(n=600, sizes=(2, 6), n_latents=3, seed=1), 0.14250000000000002, 0.24601569072269744,
     [[0.675, 0.31], [0.505, 0.435], [0.495, 0.32]]),
]


@pytest.mark.parametrize("recipe,discrete,continuous,matrix", DLIB_SAP)
def test_matches_disentanglement_lib(recipe, discrete, continuous, matrix):
    s, z = mixed_recipe(**recipe)
    nt = int(np.ceil(2 * recipe["n"] / 3))
    kw = dict(sources_test=s[nt:], latents_test=z[nt:])
    r = sap(s[:nt], z[:nt], **kw)
    assert r.score == pytest.approx(discrete, abs=1e-12)
    np.testing.assert_allclose(r.matrix, matrix, atol=1e-12)
    # Continuous mode scores the training rows only (the test set is not used).
    assert sap(s[:nt], z[:nt], continuous_factors=True, **kw).score == pytest.approx(continuous, abs=1e-12)
    assert sap(s[:nt], z[:nt], continuous_factors=True).score == pytest.approx(continuous, abs=1e-12)


def test_continuous_matrix_is_squared_pearson():
    s, z = mixed_recipe(200, (3, 5), 4, seed=2)
    r = sap(s, z, continuous_factors=True)
    expected = np.array([[np.corrcoef(z[:, j], s[:, k])[0, 1] ** 2 for k in range(2)] for j in range(4)])
    np.testing.assert_allclose(r.matrix, expected, atol=1e-12)
    top2 = np.sort(expected, axis=0)[-2:]
    assert r.score == pytest.approx(float(np.mean(top2[1] - top2[0])), abs=1e-12)
    assert r.n_samples == 200 and r.params["n_test"] == 0


def test_discrete_entry_is_one_latent_linear_svc_accuracy():
    from sklearn.svm import LinearSVC

    s, z = mixed_recipe(150, (2, 3), 2, seed=3)
    r = sap(s[:100], z[:100], sources_test=s[100:], latents_test=z[100:], solver="liblinear")
    for j in range(2):
        for k in range(2):
            clf = LinearSVC(C=0.01, class_weight="balanced").fit(z[:100, j:j + 1], s[:100, k])
            assert r.matrix[j, k] == pytest.approx(np.mean(clf.predict(z[100:, j:j + 1]) == s[100:, k]), abs=1e-12)


def test_perfect_continuous_representation_scores_one():
    s = grid((3, 4), repeats=2)  # factors exactly uncorrelated in-sample
    r = sap(s, 2.0 * s[:, ::-1] + 1.0, continuous_factors=True)
    np.testing.assert_allclose(r.matrix, [[0.0, 1.0], [1.0, 0.0]], atol=1e-12)
    assert r.score == pytest.approx(1.0, abs=1e-12)


def test_perfect_binary_discrete_gap():
    # Latent j = factor j for binary factors: the matching latent is exact (accuracy 1) and the
    # other is at chance on a balanced grid (accuracy 1/2), so every gap is 1/2.
    s = grid((2, 2), repeats=30)
    r = sap(s, s.astype(float), sources_test=s, latents_test=s.astype(float))
    np.testing.assert_allclose(np.diag(r.matrix), [1.0, 1.0])
    assert r.score == pytest.approx(0.5)


def test_noise_scores_low():
    rng = np.random.default_rng(4)
    s = np.stack([rng.integers(0, 3, 600), rng.integers(0, 2, 600)], axis=1)
    z = rng.normal(size=(600, 4))
    assert sap(s, z).score < 0.1
    assert sap(s, z, continuous_factors=True).score < 0.05


def test_latent_permutation():
    s, z = mixed_recipe(200, (2, 3), 4, seed=5)
    perm = [3, 1, 0, 2]
    a, b = sap(s, z, continuous_factors=True), sap(s, z[:, perm], continuous_factors=True)
    np.testing.assert_allclose(b.matrix, a.matrix[perm], atol=1e-12)
    assert b.score == pytest.approx(a.score, abs=1e-12)
    a, b = sap(s, z), sap(s, z[:, perm])
    np.testing.assert_allclose(b.matrix, a.matrix[perm], atol=1e-12)
    assert b.score == pytest.approx(a.score, abs=1e-12)


def test_edge_cases_are_defined():
    rng = np.random.default_rng(6)
    # One latent: the runner-up counts as 0, so the gap is the top entry.
    s = rng.integers(0, 2, (60, 2))
    z = s[:, :1] + rng.normal(scale=0.1, size=(60, 1))
    r = sap(s, z, continuous_factors=True)
    np.testing.assert_allclose(r.per_factor, r.matrix[0])
    r = sap(s, z)
    np.testing.assert_allclose(r.per_factor, r.matrix[0])
    # Constant factor: every latent predicts it equally, gap 0 (discrete); correlation 0 (continuous).
    s = np.stack([np.full(60, 3), rng.integers(0, 2, 60)], axis=1)
    z = rng.normal(size=(60, 2))
    r = sap(s, z)
    np.testing.assert_allclose(r.matrix[:, 0], [1.0, 1.0])
    assert r.per_factor[0] == 0.0
    r = sap(s, z, continuous_factors=True)
    assert r.matrix[:, 0].tolist() == [0.0, 0.0] and np.isfinite(r.score)
    # Constant latent: squared correlation 0 (variance below 1e-12), finite discrete accuracy.
    z[:, 1] = 5.0
    r = sap(s, z, continuous_factors=True)
    assert r.matrix[1].tolist() == [0.0, 0.0]
    assert np.isfinite(sap(s, z).score)


def test_continuous_extreme_scales():
    s, z = mixed_recipe(100, (3, 4), 3, seed=10)
    a = sap(s, z, continuous_factors=True)
    b = sap(s, 1e200 * z, continuous_factors=True)
    np.testing.assert_allclose(b.matrix, a.matrix, atol=1e-12)
    # Variance at most 1e-12 counts as constant, as in disentanglement_lib.
    c = sap(s, 1e-7 * z, continuous_factors=True)
    assert c.matrix.tolist() == np.zeros((3, 2)).tolist()


def test_continuous_factors_accept_real_values():
    rng = np.random.default_rng(7)
    s = rng.normal(size=(50, 2))
    z = np.stack([s[:, 1], s[:, 0]], axis=1)
    r = sap(s, z, continuous_factors=True)
    assert r.matrix[0, 1] == pytest.approx(1.0) and r.matrix[1, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"sources must hold integer class labels; got non-integer value"):
        sap(s, z)


def test_determinism_and_torch():
    torch = pytest.importorskip("torch")
    s, z = mixed_recipe(120, (2, 3), 3, seed=8)
    a = sap(s, z, random_state=3)
    assert a.to_dict() == sap(s, z, random_state=3).to_dict()
    assert a.to_dict() == sap(torch.from_numpy(s), torch.from_numpy(z), random_state=3).to_dict()
    assert a.params["n_test"] == 40 and a.params["n_train"] == 80


def test_result_contract():
    s, z = mixed_recipe(60, (2, 2), 3, seed=9)
    r = sap(s, z)
    assert isinstance(r, metrics.SAPResult)
    assert type(r.score) is float and 0.0 <= r.score <= 1.0
    assert r.matrix.shape == (3, 2) and r.per_factor.shape == (2,)
    assert ((r.matrix >= 0) & (r.matrix <= 1)).all()
    assert r.metric_version == metrics.METRIC_VERSIONS["sap"]
    json.dumps(r.to_dict())


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: sap(np.zeros((10, 2)), np.zeros(10)), ValueError,
         r"latents must be 2D with shape \(n_samples, n_latents\); got shape \(10,\)"),
        (lambda: sap(np.zeros((10, 2)), np.zeros((11, 2))), ValueError,
         r"sources and latents must have the same number of samples; got 10 and 11"),
        (lambda: sap(np.zeros((10, 2)), np.zeros((10, 2)), sources_test=np.zeros((3, 2))), ValueError,
         r"sources_test and latents_test must be given together"),
        (lambda: sap(np.zeros((10, 2)), np.zeros((10, 2)), sources_test=np.zeros((3, 2)),
                     latents_test=np.zeros((3, 5))), ValueError,
         r"latents_test must have as many columns \(n_latents\) as latents"),
        (lambda: sap(np.zeros((10, 2)), np.full((10, 2), np.nan), continuous_factors=True), ValueError,
         r"latents contains NaN or infinity \(first at row 0\)"),
        (lambda: sap(np.zeros((1, 2)), np.zeros((1, 2))), ValueError,
         r"sources must have at least 2 samples; got shape \(1, 2\)"),
        (lambda: sap(np.zeros((10, 2)), np.zeros((10, 2)), continuous_factors=1), TypeError,
         r"continuous_factors must be True or False; got 1"),
        (lambda: sap(np.zeros((10, 2), dtype=object), np.zeros((10, 2))), TypeError,
         r"sources must hold integer class labels; got dtype object"),
    ],
)
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_docstring_examples():
    assert doctest.testmod(importlib.import_module("metrics.sap"), raise_on_error=False).failed == 0
