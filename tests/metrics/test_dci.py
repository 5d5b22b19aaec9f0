"""Tests for metrics.dci (DCI, disentanglement_lib definition)."""

import doctest
import importlib
import json

import numpy as np
import pytest
import scipy.stats

import metrics
from tests.metrics._data import grid, mixed_recipe
from metrics import dci
from metrics._split import split_indices
from metrics.dci import _disentanglement_completeness


# Values measured by running disentanglement_lib's own `dci._compute_dci` (v1.5, sklearn 1.9.1) on the
# same arrays (first ceil(2n/3) rows train, the rest test), with its GradientBoostingClassifier given the
# random_state our dci draws for each factor (dlib leaves it unseeded; GBT breaks ties at random).
DLIB_DCI = [
    (dict(n=300, sizes=(3, 4, 5), n_latents=4, seed=0),
     dict(informativeness_train=1.0, informativeness=0.5299999999999999,
          disentanglement=0.11244434243402754, completeness=0.10857893624532584)),
    (dict(n=600, sizes=(2, 6), n_latents=3, seed=1),
     dict(informativeness_train=0.9875, informativeness=0.6875,
          disentanglement=0.1578477313980411, completeness=0.27183247007122346)),
]


@pytest.mark.parametrize("recipe,expected", DLIB_DCI)
def test_matches_disentanglement_lib(recipe, expected):
    s, z = mixed_recipe(**recipe)
    nt = int(np.ceil(2 * recipe["n"] / 3))
    r = dci(s[:nt], z[:nt], sources_test=s[nt:], latents_test=z[nt:], estimator="gbt_sklearn", random_state=0,
            progress=False)
    for field, value in expected.items():
        assert getattr(r, field) == pytest.approx(value, abs=1e-12), field


def reference_dc(importance):
    """disentanglement_lib's formulas written with scipy.stats.entropy (independent of our helper)."""
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    d = np.sum(per_code * importance.sum(axis=1) / importance.sum())
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    c = np.sum(per_factor * importance.sum(axis=0) / importance.sum())
    return per_code, per_factor, d, c


@pytest.mark.parametrize("shape", [(4, 3), (10, 5), (2, 2), (3, 7)])
def test_disentanglement_completeness_against_scipy(shape):
    importance = np.random.default_rng(sum(shape)).random(shape) ** 3
    per_latent, per_factor, d, c = _disentanglement_completeness(importance)
    ref_latent, ref_factor, ref_d, ref_c = reference_dc(importance)
    np.testing.assert_allclose(per_latent, ref_latent, atol=1e-12)
    np.testing.assert_allclose(per_factor, ref_factor, atol=1e-12)
    assert d == pytest.approx(ref_d, abs=1e-12)
    assert c == pytest.approx(ref_c, abs=1e-12)


def test_disentanglement_completeness_hand_values():
    # One-to-one importances: D = C = 1 (up to the 1e-11 smoothing).
    _, _, d, c = _disentanglement_completeness(np.eye(3))
    assert d == pytest.approx(1.0, abs=1e-8) and c == pytest.approx(1.0, abs=1e-8)
    # Both latents used only for factor 0: each latent is disentangled (D = 1), but factor 0 is split
    # evenly over two latents (H_2 = 1, so C = 0).
    _, per_factor, d, c = _disentanglement_completeness(np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert d == pytest.approx(1.0, abs=1e-8)
    assert c == pytest.approx(0.0, abs=1e-8)
    assert per_factor[0] == pytest.approx(0.0, abs=1e-8)
    # Uniform importances: nothing is disentangled or complete.
    _, _, d, c = _disentanglement_completeness(np.ones((4, 4)))
    assert d == pytest.approx(0.0, abs=1e-12) and c == pytest.approx(0.0, abs=1e-12)
    # Unequal weights: latent 0 (weight 2/3) is pure, latent 1 (weight 1/3) is split evenly.
    _, _, d, _ = _disentanglement_completeness(np.array([[2.0, 0.0], [0.5, 0.5]]))
    assert d == pytest.approx(2 / 3, abs=1e-8)


def test_degenerate_importances_are_defined():
    per_latent, per_factor, d, c = _disentanglement_completeness(np.zeros((3, 2)))
    assert (d, c) == (0.0, 0.0)
    assert per_latent.tolist() == [0.0] * 3 and per_factor.tolist() == [0.0] * 2
    # K = 1: a used latent is fully disentangled; L = 1: a used factor is fully complete.
    _, _, d, c = _disentanglement_completeness(np.array([[0.7], [0.3]]))
    assert d == 1.0 and 0.0 < c < 1.0
    _, _, d, c = _disentanglement_completeness(np.array([[0.7, 0.3]]))
    assert c == 1.0 and 0.0 < d < 1.0


def test_perfect_representation_scores_high():
    s = grid((3, 4), repeats=20)  # 240 rows
    z = s + np.random.default_rng(0).normal(scale=0.05, size=s.shape)
    r = dci(s, z, progress=False)
    assert r.informativeness == 1.0 and r.informativeness_train == 1.0
    assert r.disentanglement > 0.9 and r.completeness > 0.9
    assert np.argmax(r.importance, axis=0).tolist() == [0, 1]


def test_noise_scores_low():
    rng = np.random.default_rng(1)
    s = np.stack([rng.integers(0, 3, 300), rng.integers(0, 4, 300)], axis=1)
    z = rng.normal(size=(300, 3))
    r = dci(s, z, progress=False)
    assert r.disentanglement < 0.2 and r.completeness < 0.2
    assert r.informativeness < 0.5  # chance is (1/3 + 1/4) / 2 = 0.29
    assert r.informativeness_train > 0.9  # the trees overfit: train accuracy is not informativeness


def test_latent_permutation_permutes_importance():
    s = grid((3, 4), repeats=20)
    z = np.concatenate([s + np.random.default_rng(0).normal(scale=0.05, size=s.shape),
                        np.random.default_rng(1).normal(size=(s.shape[0], 1))], axis=1)
    perm = [2, 0, 1]
    a = dci(s, z, progress=False)
    b = dci(s, z[:, perm], progress=False)
    # GBT breaks split ties at random, so importances agree closely but not bit for bit.
    np.testing.assert_allclose(b.importance, a.importance[perm], atol=0.02)
    assert b.disentanglement == pytest.approx(a.disentanglement, abs=0.02)
    assert b.completeness == pytest.approx(a.completeness, abs=0.02)
    assert b.informativeness == a.informativeness


def test_split_is_deterministic_and_documented_size():
    s, z = mixed_recipe(150, (2, 3), 3, seed=2)
    a = dci(s, z, random_state=5, progress=False)
    b = dci(s, z, random_state=5, progress=False)
    assert a.to_dict() == b.to_dict()
    assert a.params["n_test"] == 50 and a.params["n_train"] == 100 and a.n_samples == 150
    assert a.params["test_size"] == pytest.approx(1 / 3)
    c = dci(s, z, random_state=6, progress=False)
    assert c.importance.tolist() != a.importance.tolist()
    # The split itself: ceil(test_size * n) test rows, disjoint, sorted, covering all rows.
    train, test = split_indices(10, 0.25, np.random.default_rng(0))
    assert test.size == 3 and train.size == 7
    assert sorted(train.tolist() + test.tolist()) == list(range(10))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert split_indices(2, 0.9, np.random.default_rng(0))[0].size == 1  # at least one train row


def test_explicit_test_set_is_used_as_given():
    s, z = mixed_recipe(90, (2, 3), 2, seed=3)
    r = dci(s[:60], z[:60], sources_test=s[60:], latents_test=z[60:], progress=False)
    assert r.params["n_train"] == 60 and r.params["n_test"] == 30 and r.params["test_size"] is None
    assert r.per_factor_informativeness.shape == (2,)
    assert r.informativeness == pytest.approx(float(np.mean(r.per_factor_informativeness)))


def test_torch_input_equals_numpy():
    torch = pytest.importorskip("torch")
    s, z = mixed_recipe(120, (2, 3), 3, seed=4)
    a = dci(s, z, progress=False)
    b = dci(torch.from_numpy(s), torch.from_numpy(z), progress=False)
    assert a.to_dict() == b.to_dict()


def test_constant_factor_one_latent_and_constant_latents():
    rng = np.random.default_rng(5)
    s = np.stack([np.zeros(90, dtype=int), rng.integers(0, 3, 90)], axis=1)
    z = np.stack([s[:, 1] + rng.normal(scale=0.1, size=90)], axis=1)  # one latent
    r = dci(s, z, progress=False)
    assert r.importance[:, 0].tolist() == [0.0]  # constant factor: no classifier, no importance
    assert r.per_factor_informativeness[0] == 1.0
    assert r.completeness == 1.0  # one latent, and it is used
    assert r.disentanglement == pytest.approx(1.0, abs=1e-8)  # it only informs about factor 1
    # All latents constant: no importance anywhere; D = C = 0, accuracy of the trees is still defined.
    r = dci(s, np.ones((90, 2)), progress=False)
    assert (r.disentanglement, r.completeness) == (0.0, 0.0)
    assert all(np.isfinite(v) for v in (r.informativeness, r.informativeness_train))


def test_tiny_n_and_class_missing_from_training():
    # Two rows: one for training, one for testing; every factor is constant in training.
    r = dci([[0, 1], [1, 1]], [[0.0], [1.0]], progress=False)
    assert r.n_samples == 2 and r.importance.sum() == 0.0
    assert (r.disentanglement, r.completeness) == (0.0, 0.0)
    # A test class never seen in training is simply predicted wrong.
    s_tr = np.array([[0], [1]] * 20)
    z_tr = s_tr.astype(float)
    r = dci(s_tr, z_tr, sources_test=[[2], [0]], latents_test=[[2.0], [0.0]], progress=False)
    assert r.informativeness == 0.5


def test_random_forest_matches_sklearn():
    from sklearn.ensemble import RandomForestClassifier

    s, z = mixed_recipe(120, (2, 3), 3, seed=6)
    r = dci(s[:80], z[:80], sources_test=s[80:], latents_test=z[80:], estimator="random_forest", progress=False)
    rng = np.random.default_rng(0)
    x = (z - z[:80].mean(axis=0)) / z[:80].std(axis=0)
    for k in range(2):
        clf = RandomForestClassifier(n_estimators=100, criterion="entropy", max_depth=10, min_samples_split=2,
                                     random_state=int(rng.integers(0, 2**31 - 1))).fit(x[:80], s[:80, k])
        np.testing.assert_allclose(r.importance[:, k], clf.feature_importances_, atol=1e-12)
        assert r.per_factor_informativeness[k] == np.mean(clf.predict(x[80:]) == s[80:, k])
    assert r.params["estimator"] == "random_forest"
    assert r.params["estimator_params"]["criterion"] == "entropy"


def test_result_contract():
    s, z = mixed_recipe(60, (2, 2), 2, seed=7)
    r = dci(s, z, progress=False)
    assert isinstance(r, metrics.DCIResult)
    for field in ("disentanglement", "completeness", "informativeness", "informativeness_train"):
        assert type(getattr(r, field)) is float
        assert 0.0 <= getattr(r, field) <= 1.0
    assert r.importance.shape == (2, 2) and (r.importance >= 0).all()
    assert r.per_latent_disentanglement.shape == (2,) and r.per_factor_completeness.shape == (2,)
    assert r.metric_version == metrics.METRIC_VERSIONS["dci"]
    json.dumps(r.to_dict())
    with pytest.raises(ValueError):
        r.importance[0, 0] = 1.0  # frozen


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(sources_test=np.zeros((5, 2), dtype=int)), r"sources_test and latents_test must be given together; "
                                                         r"got sources_test but latents_test is None"),
        (dict(latents_test=np.zeros((5, 3))), r"got latents_test but sources_test is None"),
        (dict(sources_test=np.zeros((5, 2), dtype=int), latents_test=np.zeros((5, 2))),
         r"latents_test must have as many columns \(n_latents\) as latents; got shape \(5, 2\) and latents shape "
         r"\(20, 3\)"),
        (dict(sources_test=np.zeros((5, 1), dtype=int), latents_test=np.zeros((5, 3))),
         r"sources_test must have as many columns \(n_factors\) as sources"),
        (dict(sources_test=np.zeros((5, 2), dtype=int), latents_test=np.zeros((4, 3))),
         r"sources_test and latents_test must have the same number of samples; got 5 and 4"),
        (dict(sources_test=np.zeros((5, 2), dtype=int), latents_test=np.full((5, 3), np.nan)),
         r"latents_test contains NaN or infinity \(first at row 0\)"),
        (dict(estimator="xgboost"), r"estimator must be one of 'gbt', 'gbt_sklearn', 'random_forest'; got 'xgboost'"),
        (dict(test_size=1.0), r"test_size must be a finite number in \(0.0, 1.0\); got 1.0"),
        (dict(test_size=0), r"test_size must be a finite number in \(0.0, 1.0\); got 0.0"),
    ],
)
def test_bad_options_raise(kwargs, match):
    s = np.zeros((20, 2), dtype=int)
    z = np.zeros((20, 3))
    with pytest.raises(ValueError, match=match):
        dci(s, z, progress=False, **kwargs)


@pytest.mark.parametrize(
    "sources,latents,match",
    [
        (np.zeros((10, 2)), np.zeros(10),
         r"latents must be 2D with shape \(n_samples, n_latents\); got shape \(10,\)"),
        (np.zeros((10, 2)), np.zeros((9, 2)),
         r"sources and latents must have the same number of samples; got 10 and 9"),
        (np.full((10, 1), 0.5), np.zeros((10, 2)),
         r"sources must hold integer class labels; got non-integer value .*0.5.* at row 0, column 0"),
        (np.zeros((1, 1)), np.zeros((1, 1)), r"sources must have at least 2 samples; got shape \(1, 1\)"),
        (np.zeros((0, 1)), np.zeros((0, 1)), r"sources must have at least 2 samples; got shape \(0, 1\)"),
        (np.zeros((10, 1)), np.full((10, 1), np.inf), r"latents contains NaN or infinity \(first at row 0\)"),
    ],
)
def test_bad_arrays_raise(sources, latents, match):
    with pytest.raises(ValueError, match=match):
        dci(sources, latents, progress=False)


def test_bad_random_state_type():
    with pytest.raises(TypeError, match=r"random_state must be a non-negative integer seed"):
        dci(np.zeros((4, 1), dtype=int), np.zeros((4, 1)), random_state="a", progress=False)


def test_docstring_examples():
    assert doctest.testmod(importlib.import_module("metrics.dci"), raise_on_error=False).failed == 0
