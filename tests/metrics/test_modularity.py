"""Tests for metrics.modularity_explicitness (Ridgeway & Mozer, disentanglement_lib definition)."""

import doctest
import importlib
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score

import metrics
from tests.metrics._data import grid, mixed_recipe
from metrics import modularity_explicitness
from metrics.modularity import _modularity_from_mutual_info


# Measured by running disentanglement_lib's own functions (v1.5, sklearn 1.9.1) on the same arrays (first
# ceil(2n/3) rows train, the rest test): `utils._histogram_discretize(mus, 20)` + `utils.discrete_mutual_info`
# for the MI matrix (printed transposed to (K, L)), `modularity`, and `explicitness_per_factor` on data
# standardised by `utils.normalize_data` (per factor: (train AUC, test AUC)).
DLIB_ME = [
    (dict(n=300, sizes=(3, 4, 5), n_latents=4, seed=0), 0.6405759693678102,
     [[0.16602172, 0.2474921, 0.25285778, 0.59880828],
      [0.34809807, 0.50534941, 0.23718581, 0.14612761],
      [0.24167792, 0.18348703, 0.2067254, 0.2585157]],
     [(0.939366234686149, 0.8964329403451853), (0.9111739706190195, 0.8818662538471269),
      (0.7245277742784534, 0.6721264631574246)]),
    (dict(n=600, sizes=(2, 6), n_latents=3, seed=1), 0.9564453936298123,
     [[0.1875699, 0.03783392, 0.04162089],
      [0.55891425, 0.93465011, 0.32500496]],
     [(0.934108818011257, 0.9347739095638256), (0.9188332599558969, 0.9164618263456857)]),
]


@pytest.mark.parametrize("recipe,modularity,mi,explicitness", DLIB_ME)
def test_matches_disentanglement_lib(recipe, modularity, mi, explicitness):
    s, z = mixed_recipe(**recipe)
    nt = int(np.ceil(2 * recipe["n"] / 3))
    r = modularity_explicitness(s[:nt], z[:nt], sources_test=s[nt:], latents_test=z[nt:])
    assert r.modularity == pytest.approx(modularity, abs=1e-12)
    np.testing.assert_allclose(r.mutual_info, mi, atol=1e-8)
    expl = np.array(explicitness)
    np.testing.assert_allclose(r.per_factor_explicitness, expl[:, 1], atol=1e-9)
    assert r.explicitness == pytest.approx(expl[:, 1].mean(), abs=1e-9)
    assert r.explicitness_train == pytest.approx(expl[:, 0].mean(), abs=1e-9)


def test_mutual_info_equals_sklearn_on_20_bins():
    s, z = mixed_recipe(240, (3, 4), 3, seed=2)
    r = modularity_explicitness(s[:160], z[:160], sources_test=s[160:], latents_test=z[160:])
    expected = np.empty((2, 3))
    for j in range(3):
        col = z[:160, j]
        codes = np.digitize(col, np.histogram(col, 20)[1][:-1])  # disentanglement_lib's histogram_discretizer
        for k in range(2):
            expected[k, j] = mutual_info_score(s[:160, k], codes)
    np.testing.assert_allclose(r.mutual_info, expected, atol=1e-12)


def test_modularity_hand_values():
    # Latent 0 informs only factor 0 -> 1; latent 1 informs both equally -> 0; latent 2 nothing -> 0 (counts).
    per, score = _modularity_from_mutual_info(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    assert per.tolist() == [1.0, 0.0, 0.0] and score == pytest.approx(1 / 3)
    # MI (2, 1, 0) over three factors: 1 - (4 + 1 - 4) / (4 * 2) = 0.875.
    per, _ = _modularity_from_mutual_info(np.array([[2.0], [1.0], [0.0]]))
    assert per[0] == pytest.approx(0.875)
    # One factor: a latent with information is modular.
    per, score = _modularity_from_mutual_info(np.array([[0.3, 0.0]]))
    assert per.tolist() == [1.0, 0.0] and score == 0.5


def test_perfect_representation():
    s = grid((3, 4), repeats=10)
    z = s[:, ::-1] + np.random.default_rng(3).normal(scale=0.01, size=s.shape)
    r = modularity_explicitness(s, z, num_bins=12)
    assert r.modularity > 0.95
    assert r.explicitness > 0.95 and r.explicitness_train > 0.95


def test_noise_is_at_chance():
    rng = np.random.default_rng(4)
    s = rng.integers(0, 3, (900, 2))
    z = rng.normal(size=(900, 3))
    r = modularity_explicitness(s, z)
    assert abs(r.explicitness - 0.5) < 0.06
    assert r.mutual_info.max() < 0.05


def test_latent_permutation():
    s, z = mixed_recipe(240, (3, 4), 4, seed=5)
    perm = [2, 3, 0, 1]
    a = modularity_explicitness(s, z)
    b = modularity_explicitness(s, z[:, perm])
    np.testing.assert_allclose(b.mutual_info, a.mutual_info[:, perm], atol=1e-12)
    np.testing.assert_allclose(b.per_latent_modularity, a.per_latent_modularity[perm], atol=1e-12)
    assert b.modularity == pytest.approx(a.modularity, abs=1e-12)
    assert b.explicitness == pytest.approx(a.explicitness, abs=1e-4)


def test_class_missing_from_test_split_is_fixed():
    # disentanglement_lib raises IndexError here (its MultiLabelBinarizer is fitted on the test labels).
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, (40, 1))
    z = s + rng.normal(size=(40, 2))
    s_te = np.array([[0], [1], [0], [1]])
    z_te = s_te + rng.normal(size=(4, 2))
    r = modularity_explicitness(s, z, sources_test=s_te, latents_test=z_te, num_bins=4)
    mean, std = z.mean(axis=0), z.std(axis=0)
    clf = LogisticRegression().fit((z - mean) / std, s[:, 0])
    proba = clf.predict_proba((z_te - mean) / std)
    expected = np.mean([roc_auc_score(s_te[:, 0] == c, proba[:, c]) for c in (0, 1)])  # class 2 absent
    assert r.explicitness == pytest.approx(expected, abs=1e-12)
    # A test class unseen in training counts as a negative for every trained class.
    r = modularity_explicitness(s, z, sources_test=[[0], [5], [1]], latents_test=z_te[:3], num_bins=4)
    assert np.isfinite(r.explicitness)
    # A test split with a single class: no class can be evaluated -> 0.5.
    r = modularity_explicitness(s, z, sources_test=[[1], [1]], latents_test=z_te[:2], num_bins=4)
    assert r.explicitness == 0.5


def test_edge_cases_are_defined():
    rng = np.random.default_rng(6)
    s = np.stack([np.zeros(60, dtype=int), rng.integers(0, 2, 60)], axis=1)  # factor 0 constant
    z = np.stack([s[:, 1] + rng.normal(scale=0.1, size=60), np.full(60, 2.0)], axis=1)  # latent 1 constant
    r = modularity_explicitness(s, z, num_bins=5)
    assert r.per_factor_explicitness[0] == 1.0  # a constant factor is trivially explicit
    assert r.per_latent_modularity[1] == 0.0  # a constant latent carries no information
    assert r.per_latent_modularity[0] == pytest.approx(1.0)
    for v in (r.modularity, r.explicitness, r.explicitness_train):
        assert np.isfinite(v)
    # One latent, one factor.
    r = modularity_explicitness(s[:, 1:], z[:, :1], num_bins=5)
    assert r.modularity == 1.0 and r.explicitness > 0.9


def test_precomputed_mutual_info():
    s, z = mixed_recipe(150, (2, 3), 3, seed=7)
    a = modularity_explicitness(s, z)
    b = modularity_explicitness(s, z, mutual_info=a.mutual_info)
    assert b.modularity == a.modularity and b.explicitness == a.explicitness
    assert b.params["mutual_info_given"] and b.params["num_bins"] is None
    with pytest.raises(ValueError, match=r"mutual_info must have shape \(n_factors, n_latents\) = \(2, 3\); "
                                         r"got shape \(3, 2\)"):
        modularity_explicitness(s, z, mutual_info=a.mutual_info.T)
    with pytest.raises(ValueError, match=r"mutual_info must be non-negative \(nats\); got minimum -1.0"):
        modularity_explicitness(s, z, mutual_info=-np.ones((2, 3)))


def test_determinism_and_torch():
    torch = pytest.importorskip("torch")
    s, z = mixed_recipe(150, (2, 3), 3, seed=8)
    a = modularity_explicitness(s, z, random_state=1)
    assert a.to_dict() == modularity_explicitness(s, z, random_state=1).to_dict()
    assert a.to_dict() == modularity_explicitness(torch.from_numpy(s), torch.from_numpy(z), random_state=1).to_dict()
    assert a.params["n_train"] == 100 and a.params["n_test"] == 50


def test_result_contract():
    s, z = mixed_recipe(150, (2, 3), 3, seed=9)
    r = modularity_explicitness(s, z)
    assert isinstance(r, metrics.ModularityExplicitnessResult)
    for field in ("modularity", "explicitness", "explicitness_train"):
        assert type(getattr(r, field)) is float and 0.0 <= getattr(r, field) <= 1.0
    assert r.mutual_info.shape == (2, 3) and r.per_latent_modularity.shape == (3,)
    assert r.per_factor_explicitness.shape == (2,)
    assert r.metric_version == metrics.METRIC_VERSIONS["modularity_explicitness"]
    json.dumps(r.to_dict())


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(num_bins=1), ValueError, r"num_bins must be an integer >= 2; got 1"),
        (dict(num_bins=2.5), TypeError, r"num_bins must be an integer >= 2; got 2.5"),
        (dict(latents_test=np.zeros((4, 3))), ValueError, r"sources_test and latents_test must be given together"),
        (dict(test_size=-0.1), ValueError, r"test_size must be a finite number in \(0.0, 1.0\); got -0.1"),
    ],
)
def test_bad_options_raise(kwargs, exc, match):
    s, z = mixed_recipe(60, (2, 3), 3, seed=10)
    with pytest.raises(exc, match=match):
        modularity_explicitness(s, z, **kwargs)


@pytest.mark.parametrize(
    "sources,latents,match",
    [
        (np.zeros((10, 2)), np.zeros((10, 2, 1)), r"latents must be 2D with shape \(n_samples, n_latents\); "
                                                  r"got shape \(10, 2, 1\)"),
        (np.zeros((10, 2)), np.zeros((8, 2)),
         r"sources and latents must have the same number of samples; got 10 and 8"),
        (np.zeros((10, 0)), np.zeros((10, 2)), r"sources must have at least one column \(n_factors >= 1\)"),
        (np.zeros((10, 1)), np.full((10, 2), np.nan), r"latents contains NaN or infinity \(first at row 0\)"),
    ],
)
def test_bad_arrays_raise(sources, latents, match):
    with pytest.raises(ValueError, match=match):
        modularity_explicitness(sources, latents)


def test_docstring_examples():
    assert doctest.testmod(importlib.import_module("metrics.modularity"), raise_on_error=False).failed == 0


def test_rank_sum_auc_equals_roc_auc_score_with_ties():
    from metrics.modularity import _binary_auc

    rng = np.random.default_rng(7)
    for n, decimals in ((50, 1), (400, 0), (1000, 3)):
        positive = rng.random(n) < 0.3
        score = np.round(rng.normal(size=n) + positive * 0.7, decimals)  # rounded: many ties
        assert _binary_auc(positive, score) == pytest.approx(roc_auc_score(positive, score), abs=1e-12)
    assert _binary_auc(np.array([False, True]), np.array([0.2, 0.2])) == 0.5  # a tie counts one half
