"""Tests for metrics._gbt (numba gradient boosting faithful to GradientBoostingClassifier()).

Reference: ``sklearn.ensemble.GradientBoostingClassifier(n_estimators=N_EST, random_state=0)``. Splits are exact
(sklearn's candidates), so the two differ only where sklearn breaks a tie between equally good splits by its
random feature order and this one by its own random order (and in the last bits of sums): trees are identical
until the first tie, and after it the ensembles drift as two sklearn runs with different seeds do. The DCI
tolerances below were set 1.5-2x above the largest difference measured on these cases (sklearn 1.9.1, seeds
0-3); sklearn's own spread over those seeds is of the same size (docs/metrics-predictive.md).
"""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from metrics._gbt import _bin_features, feature_importances, fit_gbt, fit_gbt_many, predict, predict_raw
from tests.metrics._data import DCI_CASES, dci_case, mixed_recipe

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


@pytest.mark.parametrize("quantised", [True, False])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_trees_identical_to_sklearn_until_a_tie(n_classes, quantised):
    # Every split (feature, midpoint threshold) and every Newton leaf value agrees with sklearn until the first
    # node where two different splits are equally good (each side then picks by its own random feature order).
    z, s = _data(0, 600, 4, n_classes, quantised=quantised)
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
                got_t = model.threshold[stage, k, pos]
                if got_f != f or (f >= 0 and got_t != pytest.approx(v, rel=1e-9, abs=1e-12)):
                    # must be a tie; the rest of the ensemble then legitimately differs
                    assert f >= 0 and got_f >= 0, (stage, k, pos)
                    r, x = resid[in_node[:, node], k], z[in_node[:, node]]
                    assert _proxy(r, x[:, got_f], got_t) == pytest.approx(_proxy(r, x[:, f], v), rel=1e-9)
                    assert n_checked >= 10  # the comparison covered a good part of the ensemble
                    return
                if f < 0:
                    assert model.value[stage, k, pos] == pytest.approx(v, rel=1e-9, abs=1e-12), (stage, k, pos)
                n_checked += 1
    np.testing.assert_allclose(predict_raw(model, z), raw[-1], rtol=1e-9, atol=1e-12)


def _awkward_latents(seed, n):
    """Continuous latents with repeated values and pairs of values closer than sklearn's 1e-7 split threshold."""
    rng = np.random.default_rng(seed)
    s = np.stack([rng.integers(0, 2, n), rng.integers(0, 5, n), rng.integers(0, 9, n)], axis=1)
    z = rng.normal(size=(n, 4)) + 0.3 * s[:, [2, 1, 0, 2]]
    z[:, 1] = np.round(z[:, 1] * 40) / 40  # ~200 distinct values, many repeats
    z[:, 3] = np.where(rng.random(n) < 0.3, 0.5, z[:, 3])  # one value held by 30% of the rows
    # small values (float32 keeps a 4e-8 gap there): a third of the rows 4e-8 above another third
    z[:, 2] = 1e-3 * (s[:, 2] + rng.random(n))
    z[: n // 3, 2] = z[n // 3 : 2 * (n // 3), 2] + 4e-8
    return z, s


def test_splits_inside_bins_are_exact():
    # 16 quantile bins force the in-bin search almost everywhere; one bin per value (max_bins >= n) needs none.
    # The ensembles are the same: same trees, same leaves, same training-row scores.
    z, s = _awkward_latents(8, 900)
    coarse = fit_gbt_many(z, s, n_estimators=30, max_bins=16, random_state=[1, 2, 3])
    exact = fit_gbt_many(z, s, n_estimators=30, max_bins=4096, random_state=[1, 2, 3])
    for a, b in zip(coarse, exact):
        np.testing.assert_array_equal(a.feature, b.feature)
        np.testing.assert_array_equal(a.threshold, b.threshold)
        np.testing.assert_array_equal(a.train_raw, b.train_raw)
        np.testing.assert_allclose(a.importances, b.importances, rtol=1e-9, atol=1e-15)
    # latent 2 is used, but never split between two values 4e-8 apart
    lower = z[300:600, 2].astype(np.float32).astype(np.float64)
    upper = z[:300, 2].astype(np.float32).astype(np.float64)
    assert np.all(upper - lower < 1e-7) and np.all(upper > lower)
    for model in exact:
        t2 = model.threshold[model.feature == 2]
        assert t2.size > 0
        assert not np.any((t2[:, None] > lower[None, :]) & (t2[:, None] < upper[None, :]))


def test_several_targets_equal_one_at_a_time():
    z, s = _awkward_latents(9, 700)
    together = fit_gbt_many(z, s, n_estimators=12, random_state=[5, 6, 7])
    for j, seed in enumerate([5, 6, 7]):
        alone = fit_gbt(z, s[:, j], n_estimators=12, random_state=seed)
        for field in ("classes", "init_raw", "feature", "threshold", "value", "importances", "train_raw"):
            np.testing.assert_array_equal(getattr(together[j], field), getattr(alone, field))


def test_same_trees_for_any_number_of_threads():
    import numba

    z, s = _data(4, 4500, 4, 6, quantised=False)  # two row blocks in the root pass
    before = numba.get_num_threads()
    try:
        serial = fit_gbt(z, s, n_estimators=6, parallel=False)
        numba.set_num_threads(1)
        one = fit_gbt(z, s, n_estimators=6, parallel=True)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fit_gbt(z, s, n_estimators=6, parallel=True)
    finally:
        numba.set_num_threads(before)
    for field in ("init_raw", "feature", "threshold", "value", "importances", "train_raw"):
        np.testing.assert_array_equal(getattr(serial, field), getattr(one, field))
        np.testing.assert_array_equal(getattr(serial, field), getattr(two, field))


def test_random_state_breaks_ties_at_random():
    # Latents 0 and 1 are the same column: every split on one ties with the same split on the other. The seed
    # decides which is taken (in sklearn, its random feature order); the partitions, and so the fit, are equal.
    z, s = _data(10, 500, 2, 4, quantised=False)
    z = np.concatenate([z[:, :1], z], axis=1)
    a, again = fit_gbt(z, s, n_estimators=20, random_state=3), fit_gbt(z, s, n_estimators=20, random_state=3)
    b = fit_gbt(z, s, n_estimators=20, random_state=4)
    np.testing.assert_array_equal(a.feature, again.feature)
    assert not np.array_equal(a.feature, b.feature)
    np.testing.assert_array_equal(a.train_raw, b.train_raw)
    # unbiased: the twins share their importance about evenly (always latent 0 if ties went to the lowest index)
    imp = feature_importances(a)
    assert imp[0] > 0.2 * (imp[0] + imp[1]) and imp[1] > 0.2 * (imp[0] + imp[1])


def test_training_scores_equal_predictions():
    z, s = _awkward_latents(11, 600)
    for model in fit_gbt_many(z, s, n_estimators=15):
        np.testing.assert_allclose(model.train_raw, predict_raw(model, z), rtol=1e-12, atol=1e-12)


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


def test_bad_input_raises():
    z, s = _data(12, 50, 2, 3, quantised=True)
    with pytest.raises(ValueError, match=r"Y must have shape \(50, n_targets\)"):
        fit_gbt_many(z, s)
    with pytest.raises(ValueError, match=r"Y\[:, 1\] must contain at least two classes"):
        fit_gbt_many(z, np.stack([s, np.zeros(50, dtype=int)], axis=1))
    with pytest.raises(ValueError, match="random_state must be a non-negative integer or one per column"):
        fit_gbt_many(z, s[:, None], random_state=-1)
    with pytest.raises(ValueError, match=r"one per column of Y; got \[1, 2\]"):
        fit_gbt_many(z, s[:, None], random_state=[1, 2])
    with pytest.raises(ValueError, match="max_depth must be"):
        fit_gbt(z, s, max_depth=9)
    with pytest.raises(ValueError, match="X contains NaN"):
        fit_gbt(np.where(z > 0, np.nan, z), s)


# four of the agreement cases (docs/metrics-predictive.md); n is split 2/3 train, 1/3 test
AGREEMENT_CASES = [name for name in DCI_CASES if "rows, factors 3/4/5" not in name and "binary" not in name]
DCI_TOLERANCE = {"disentanglement": 0.01, "completeness": 0.005, "informativeness": 0.015}


@pytest.mark.parametrize("case", AGREEMENT_CASES)
def test_dci_agrees_with_sklearn(case):
    from metrics import dci

    s, z = dci_case(*DCI_CASES[case])
    n_tr = int(len(s) * 2 / 3)
    args = (s[:n_tr], z[:n_tr])
    kwargs = dict(sources_test=s[n_tr:], latents_test=z[n_tr:], random_state=0, progress=False)
    fast, ref = dci(*args, estimator="gbt", **kwargs), dci(*args, estimator="gbt_sklearn", **kwargs)
    for field, tol in DCI_TOLERANCE.items():
        assert getattr(fast, field) == pytest.approx(getattr(ref, field), abs=tol), field
    assert np.abs(fast.importance - ref.importance).max() <= 0.05


def test_dci_gbt_is_the_default_and_says_so():
    from metrics import dci

    s, z = mixed_recipe(n=300, sizes=(3, 4), n_latents=3, seed=2)
    r = dci(s, z, random_state=0, progress=False)
    assert r.params["estimator"] == "gbt"
    assert r.params["estimator_params"] == {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3,
                                            "implementation": "metrics._gbt"}
    again = dci(s, z, random_state=0, progress=False)
    assert again.to_dict() == r.to_dict()
