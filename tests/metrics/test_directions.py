"""Tests of metrics.direction_factor_scores (InfoMEC-style scores of discovered directions)."""

import json

import numpy as np
import pytest

import metrics


def grid_alphas(n_dir, n_per_value=20, n_values=5):
    return np.tile(np.repeat(np.arange(n_values), n_per_value), (n_dir, 1))


def test_disentangled_directions_score_one():
    a = grid_alphas(3)
    n = a.shape[1]
    y = np.zeros((3, n, 2), dtype=np.int64)
    y[0, :, 0] = a[0]  # direction 0 sets factor 0
    y[1, :, 1] = a[1]  # direction 1 sets factor 1
    y[2] = 3  # direction 2 changes nothing
    r = metrics.direction_factor_scores(a, y)
    assert r.nmi.shape == (3, 2)
    assert r.nmi[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert r.nmi[0, 1] == 0.0
    assert r.nmi[1, 1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(r.nmi[2] == 0.0)
    assert r.modularity == pytest.approx(1.0)
    assert r.compactness == pytest.approx(1.0)
    assert r.controlled_fraction == 1.0
    assert r.factor_of_direction.tolist() == [0, 1, -1]
    assert r.active_directions.tolist() == [True, True, False]
    assert r.n_samples == n
    assert r.metric_version == metrics.METRIC_VERSIONS["direction_factor_scores"] == "1.0"
    json.dumps(r.to_dict())
    assert type(r.modularity) is float
    with pytest.raises(Exception):
        r.nmi[0, 0] = 0.5  # frozen


def test_direction_changing_two_factors_equally_has_zero_modularity():
    a = grid_alphas(1, n_values=4)
    y = np.stack([a[0], 3 - a[0]], axis=-1)[None]  # both factors a deterministic function of alpha
    r = metrics.direction_factor_scores(a, y)
    assert r.nmi[0] == pytest.approx([1.0, 1.0])
    assert r.modularity_per_direction[0] == pytest.approx(0.0, abs=1e-12)
    assert r.modularity == pytest.approx(0.0, abs=1e-12)
    assert r.factor_of_direction[0] in (0, 1)


def test_entangled_direction_lowers_modularity_and_compactness():
    a = grid_alphas(2, n_values=4)
    y = np.zeros((2, a.shape[1], 2), dtype=np.int64)
    y[0, :, 0] = a[0]
    y[0, :, 1] = a[0]  # direction 0 moves both factors
    y[1, :, 1] = a[1]  # direction 1 moves factor 1
    r = metrics.direction_factor_scores(a, y)
    assert r.modularity_per_direction.tolist() == pytest.approx([0.0, 1.0])
    assert r.modularity == pytest.approx(0.5)
    assert r.compactness_per_factor.tolist() == pytest.approx([1.0, 0.0])
    assert r.compactness == pytest.approx(0.5)


def test_random_case_in_unit_interval():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 7, size=(5, 300))
    y = rng.integers(0, [3, 4, 2, 6], size=(5, 300, 4))
    y[1, :, 2] = (a[1] > 3)  # some real dependence
    y[3, :, 0] = np.where(rng.random(300) < 0.5, a[3] % 3, y[3, :, 0])
    r = metrics.direction_factor_scores(a, y, factor_sizes=[3, 4, 2, 6])
    for v in (r.modularity, r.compactness, r.controlled_fraction):
        assert 0.0 <= v <= 1.0
    assert np.all((r.nmi >= 0) & (r.nmi <= 1))
    assert r.active_directions[1] and r.factor_of_direction[1] == 2


def test_hand_computed_nmi_on_tiny_table():
    # alpha in {0, 1}, 4 samples each; y = alpha on 3 of 4 samples per alpha value.
    # p(a, y) = [[3/8, 1/8], [1/8, 3/8]]; I = 2*(3/8) log(3/2) + 2*(1/8) log(1/2); H(alpha) = log 2.
    a = np.array([[0, 0, 0, 0, 1, 1, 1, 1]])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])[None, :, None]
    mi = 0.75 * np.log(1.5) + 0.25 * np.log(0.5)
    r = metrics.direction_factor_scores(a, y, active_threshold=0.0)
    assert r.nmi[0, 0] == pytest.approx(mi / np.log(2), abs=1e-12)
    # independent of how alpha is coded: float grid values give the same NMI
    r2 = metrics.direction_factor_scores(a * 0.25 - 1.0, y, active_threshold=0.0)
    assert r2.nmi[0, 0] == pytest.approx(r.nmi[0, 0], abs=1e-15)


def test_thresholds():
    a = np.array([[0, 0, 0, 0, 1, 1, 1, 1]])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])[None, :, None]  # NMI ~ 0.189
    r = metrics.direction_factor_scores(a, y)
    assert r.active_directions[0] and r.controlled_fraction == 0.0
    r = metrics.direction_factor_scores(a, y, active_threshold=0.5)
    assert not r.active_directions[0] and r.modularity == 0.0 and r.compactness == 0.0
    assert r.factor_of_direction.tolist() == [-1]
    r = metrics.direction_factor_scores(a, y, control_threshold=0.1)
    assert r.controlled_fraction == 1.0


@pytest.mark.parametrize("alphas, preds, match", [
    (np.zeros(10), np.zeros((1, 10, 2)), "alphas must be 2D"),
    (np.zeros((2, 10)), np.zeros((2, 10)), "predictions must be 3D"),
    (np.zeros((2, 10)), np.zeros((2, 9, 2)), r"match alphas"),
    (np.zeros((2, 10)), np.zeros((3, 10, 2)), r"match alphas"),
    (np.zeros((2, 1)), np.zeros((2, 1, 2)), "two samples"),
    (np.zeros((2, 10)), np.zeros((2, 10, 0)), "at least one factor"),
    (np.array([[0.0, np.nan, 1.0]]), np.zeros((1, 3, 1)), "alphas contains NaN"),
    (np.zeros((1, 3)), np.array([[[0.0], [np.nan], [1.0]]]), "predictions contains NaN"),
    (np.zeros((1, 3)), np.array([[[0.0], [0.5], [1.0]]]), "integer classes"),
])
def test_shape_and_nan_errors(alphas, preds, match):
    with pytest.raises(ValueError, match=match):
        metrics.direction_factor_scores(alphas, preds)


def test_factor_sizes_and_threshold_errors():
    a = grid_alphas(1, n_values=4)
    y = np.stack([a[0], a[0]], axis=-1)[None]
    with pytest.raises(ValueError, match="one entry per factor"):
        metrics.direction_factor_scores(a, y, factor_sizes=[4])
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        metrics.direction_factor_scores(a, y, factor_sizes=[4, 3])
    with pytest.raises(ValueError, match="active_threshold"):
        metrics.direction_factor_scores(a, y, active_threshold=1.5)
    with pytest.raises(ValueError, match="control_threshold"):
        metrics.direction_factor_scores(a, y, control_threshold=np.nan)


def test_ratio_uses_squared_nmi():
    # factor 0 = alpha (NMI 1), factor 1 = alpha // 2 (I = log 2, H(alpha) = log 4: NMI 1/2)
    a = grid_alphas(1, n_values=4)
    y = np.stack([a[0], a[0] // 2], axis=-1)[None]
    r = metrics.direction_factor_scores(a, y)
    assert r.nmi[0] == pytest.approx([1.0, 0.5], abs=1e-12)
    # (1 / (1 + 1/4) - 1/2) / (1 - 1/2) = 0.6 (the unsquared ratio would give 1/3)
    assert r.modularity == pytest.approx(0.6, abs=1e-12)
    assert r.factor_of_direction.tolist() == [0]
