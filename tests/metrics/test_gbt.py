"""Tests for metrics._gbt (numba gradient boosting faithful to GradientBoostingClassifier()).

Reference: ``sklearn.ensemble.GradientBoostingClassifier(n_estimators=N_EST, random_state=0)``, the
same number of stages for both. Tolerances were measured on these recipes (seeds 0-3, sklearn 1.9.1)
and set 1.5-2x above the largest difference seen (for the ``dci()`` test: above its own seed's):

- quantised latents (<= 12 distinct values, exact splits): trees are identical until the first tie
  between equally good splits (sklearn breaks it by a random feature order); importances differ by
  <= 0.0024, held-out accuracy by <= 0.0013.
- continuous latents (800 training rows > 256 bins: quantile-binned splits): importances <= 0.017,
  held-out accuracy <= 0.0125; DCI on ``mixed_recipe`` (25 stages): |dD| <= 0.013, |dC| <= 0.017,
  |dI| <= 0.008.
- ``dci(estimator="gbt_numba")`` vs ``dci(estimator="gbt")`` (100 stages, 400 training rows, seeds 0-3):
  importances <= 0.030, |dD| <= 0.028, |dC| <= 0.027, |dI| <= 0.025 (the test's seed 2: 0.015, 0.0001,
  0.018, 0.0075). With 10 000 rows the binned splits are finer relative to the data and the gaps shrink.
- With ``max_bins >= n_samples`` every split is exact and the ensembles agree up to ties.
"""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from metrics._gbt import _bin_features, feature_importances, fit_gbt, predict, predict_raw
from metrics.dci import _disentanglement_completeness
from tests.metrics._data import mixed_recipe

N_EST = 25


def _data(seed, n, n_features, n_classes, quantised):
    """Target uniform over classes; every latent = noise + a random multiple of the class code."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_classes, n)
    z = rng.normal(size=(n, n_features)) + rng.normal(size=(1, n_features)) * s[:, None]
    if quantised:
        z = np.round(z)
    return z, s


def _both(x, y, n_estimators=N_EST):
    model = fit_gbt(x, y, n_estimators=n_estimators)
    ref = GradientBoostingClassifier(n_estimators=n_estimators, random_state=0).fit(x, y)
    return model, ref


def _sklearn_nodes(tree):
    """sklearn's tree as {position in a complete binary tree: (node id, feature, threshold or leaf value)}."""
    out = {}

    def walk(node, pos):
        if tree.children_left[node] == -1:
            out[pos] = (node, -1, tree.value[node, 0, 0])
            return
        out[pos] = (node, tree.feature[node], tree.threshold[node])
        walk(tree.children_left[node], 2 * pos + 1)
        walk(tree.children_right[node], 2 * pos + 2)

    walk(0, 0)
    return out


def _proxy(r, x, threshold):
    left = x <= threshold
    return r[left].sum() ** 2 / left.sum() + r[~left].sum() ** 2 / (~left).sum()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_trees_identical_to_sklearn_until_a_tie(n_classes):
    # Exact splits: every split (feature, midpoint threshold) and every Newton leaf value agrees with sklearn
    # until the first node where two different splits are equally good (sklearn picks by a random feature order).
    z, s = _data(0, 600, 4, n_classes, quantised=True)
    n_est = 8
    model, ref = _both(z, s, n_estimators=n_est)
    n_trees = 1 if n_classes == 2 else n_classes
    assert model.feature.shape[1] == n_trees
    raw = [np.broadcast_to(model.init_raw, (len(z), n_trees))]
    raw += [d.reshape(len(z), -1) for d in ref.staged_decision_function(z)]
    np.testing.assert_allclose(raw[0], ref._raw_predict_init(z), rtol=1e-12, atol=1e-12)
    n_checked = 0
    for stage in range(n_est):
        if n_trees == 1:
            prob = 1.0 / (1.0 + np.exp(-raw[stage]))
            resid = (s == 1)[:, None] - prob
        else:
            e = np.exp(raw[stage] - raw[stage].max(axis=1, keepdims=True))
            resid = (s[:, None] == np.arange(n_classes)) - e / e.sum(axis=1, keepdims=True)
        for k in range(n_trees):
            tree = ref.estimators_[stage, k]
            in_node = tree.decision_path(z.astype(np.float32)).toarray().astype(bool)
            for pos, (node, f, v) in sorted(_sklearn_nodes(tree.tree_).items()):
                got_f = model.feature[stage, k, pos]
                if got_f != f:  # must be a tie; the rest of the ensemble then legitimately differs
                    assert f >= 0 and got_f >= 0, (stage, k, pos)
                    r, x = resid[in_node[:, node], k], z[in_node[:, node]]
                    assert _proxy(r, x[:, got_f], model.threshold[stage, k, pos]) == pytest.approx(
                        _proxy(r, x[:, f], v), rel=1e-12)
                    assert n_checked >= 20  # the comparison covered a good part of the ensemble
                    return
                got_v = model.threshold[stage, k, pos] if f >= 0 else model.value[stage, k, pos]
                assert got_v == pytest.approx(v, rel=1e-9, abs=1e-12), (stage, k, pos)
                n_checked += 1
    np.testing.assert_allclose(predict_raw(model, z), raw[-1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_quantised_latents_agree_with_sklearn(n_classes):
    z, s = _data(1, 1600, 5, n_classes, quantised=True)
    model, ref = _both(z[:800], s[:800])
    fi_diff = np.abs(feature_importances(model) - ref.feature_importances_).max()
    assert fi_diff <= 0.005
    acc = np.mean(predict(model, z[800:]) == s[800:])
    assert acc == pytest.approx(ref.score(z[800:], s[800:]), abs=0.005)
    assert np.mean(predict(model, z[800:]) == ref.predict(z[800:])) >= 0.98


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_continuous_latents_agree_with_sklearn(n_classes):
    z, s = _data(2, 1600, 5, n_classes, quantised=False)
    model, ref = _both(z[:800], s[:800])
    fi_diff = np.abs(feature_importances(model) - ref.feature_importances_).max()
    assert fi_diff <= 0.035
    acc = np.mean(predict(model, z[800:]) == s[800:])
    assert acc == pytest.approx(ref.score(z[800:], s[800:]), abs=0.02)


def test_dci_scores_agree_with_sklearn():
    s, z = mixed_recipe(n=900, sizes=(3, 4, 5), n_latents=4, seed=1)
    ntr = 600
    imp_ours, imp_ref, acc_ours, acc_ref = [], [], [], []
    for k in range(s.shape[1]):
        model, ref = _both(z[:ntr], s[:ntr, k])
        imp_ours.append(feature_importances(model))
        imp_ref.append(ref.feature_importances_)
        acc_ours.append(np.mean(predict(model, z[ntr:]) == s[ntr:, k]))
        acc_ref.append(ref.score(z[ntr:], s[ntr:, k]))
    _, _, d_ours, c_ours = _disentanglement_completeness(np.array(imp_ours).T)
    _, _, d_ref, c_ref = _disentanglement_completeness(np.array(imp_ref).T)
    assert d_ours == pytest.approx(d_ref, abs=0.03)
    assert c_ours == pytest.approx(c_ref, abs=0.03)
    assert np.mean(acc_ours) == pytest.approx(np.mean(acc_ref), abs=0.02)


def test_exact_splits_when_max_bins_covers_all_values():
    # 300 distinct values per latent: with max_bins >= 300 the splits are sklearn's exact ones.
    z, s = _data(3, 300, 3, 2, quantised=False)
    model = fit_gbt(z, s, n_estimators=3, max_bins=512)
    ref = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(z, s)
    np.testing.assert_allclose(predict_raw(model, z)[:, 0], ref.decision_function(z), rtol=1e-9, atol=1e-12)


def test_deterministic_and_parallel_identical():
    z, s = _data(4, 700, 4, 6, quantised=False)
    a = fit_gbt(z, s, n_estimators=10, parallel=False)
    b = fit_gbt(z, s, n_estimators=10, parallel=False)
    c = fit_gbt(z, s, n_estimators=10, parallel=True)
    for field in ("init_raw", "feature", "threshold", "value", "importances"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        np.testing.assert_array_equal(getattr(a, field), getattr(c, field))


def test_constant_feature_never_chosen():
    z, s = _data(5, 600, 3, 4, quantised=False)
    z = np.concatenate([z[:, :1], np.full((600, 1), 3.25), z[:, 1:]], axis=1)
    model = fit_gbt(z, s, n_estimators=10)
    assert not np.any(model.feature == 1)
    assert feature_importances(model)[1] == 0.0
    assert feature_importances(model).sum() == pytest.approx(1.0)


def test_labels_are_returned_as_given():
    z, s = _data(6, 400, 3, 3, quantised=True)
    labels = np.array([7, -2, 11])[s]
    model = fit_gbt(z, labels, n_estimators=5)
    np.testing.assert_array_equal(model.classes, [-2, 7, 11])
    assert set(np.unique(predict(model, z))) <= {-2, 7, 11}


def test_single_class_raises():
    with pytest.raises(ValueError, match="at least two classes"):
        fit_gbt(np.ones((10, 2)), np.zeros(10, dtype=int))


def test_all_constant_features_give_zero_importances():
    model = fit_gbt(np.ones((20, 2)), np.arange(20) % 2, n_estimators=3)
    np.testing.assert_array_equal(feature_importances(model), [0.0, 0.0])
    np.testing.assert_array_equal(predict(model, np.ones((3, 2))), [0, 0, 0])  # prior 0.5: tie -> first class


def test_quantile_bins_cover_values():
    rng = np.random.default_rng(7)
    x = np.ascontiguousarray(np.concatenate([rng.normal(size=(1000, 1)), rng.integers(0, 5, (1000, 1))], axis=1),
                             dtype=np.float64)
    codes, n_bins, lo, hi = _bin_features(x, 16)
    assert n_bins.tolist() == [16, 5]
    for f in range(2):
        assert np.all(lo[f, codes[:, f]] <= x[:, f]) and np.all(x[:, f] <= hi[f, codes[:, f]])
        assert np.all(hi[f, : n_bins[f] - 1] < lo[f, 1 : n_bins[f]])
    counts = np.bincount(codes[:, 0], minlength=16)
    assert counts.min() >= 1000 // 16 - 1 and counts.max() <= 1000 // 16 + 2


def test_dci_gbt_numba_estimator_matches_gbt():
    from metrics import dci

    s, z = mixed_recipe(n=600, sizes=(3, 4), n_latents=3, seed=2)
    fast = dci(s, z, estimator="gbt_numba", random_state=0, progress=False)
    slow = dci(s, z, estimator="gbt", random_state=0, progress=False)
    assert fast.params["estimator"] == "gbt_numba"
    assert fast.params["estimator_params"] == {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3,
                                               "max_bins": 256}
    assert fast.params["n_train"] == slow.params["n_train"]
    assert np.abs(fast.importance - slow.importance).max() <= 0.05
    assert fast.disentanglement == pytest.approx(slow.disentanglement, abs=0.03)
    assert fast.completeness == pytest.approx(slow.completeness, abs=0.03)
    assert fast.informativeness == pytest.approx(slow.informativeness, abs=0.03)
    again = dci(s, z, estimator="gbt_numba", random_state=0, progress=False)
    np.testing.assert_array_equal(again.importance, fast.importance)
