"""Tests of metrics.mig against disentanglement_lib's definition."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

import metrics
from tests.metrics._data import grid


def dlib_mig(s, z, bins=20):
    m = np.zeros((z.shape[1], s.shape[1]))
    for j in range(z.shape[1]):
        codes = np.digitize(z[:, j], np.histogram(z[:, j], bins)[1][:-1])
        for k in range(s.shape[1]):
            m[j, k] = mutual_info_score(s[:, k], codes)
    h = np.array([mutual_info_score(c, c) for c in s.T])
    top = np.sort(m, axis=0)[::-1]
    return np.mean((top[0] - top[1]) / h)


def test_matches_disentanglement_lib():
    rng = np.random.default_rng(0)
    s = rng.integers(0, [3, 6, 10, 8], size=(3000, 4))
    z = rng.normal(size=(3000, 6))
    z[:, :4] += s * np.array([1.0, 0.5, 0.3, 0.2])
    assert metrics.mig(s, z).score == pytest.approx(dlib_mig(s, z), abs=1e-12)


def test_hand_computed_value():
    # factor 0 captured by latent 0 only; factor 1 split evenly over latents 1 and 2 (gap 0)
    s = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3)
    z = np.column_stack([s[:, 0], s[:, 1], s[:, 1]]).astype(float)
    r = metrics.mig(s, z, num_bins=2)
    np.testing.assert_allclose(r.per_factor, [1.0, 0.0], atol=1e-12)
    assert r.score == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(r.entropy, [np.log(2), np.log(2)], rtol=1e-12)


def test_perfect_and_noise():
    rng = np.random.default_rng(1)
    g = grid((5, 5, 5))
    assert metrics.mig(g, g.astype(float), num_bins=5).score == pytest.approx(1.0, abs=1e-12)
    s = rng.integers(0, 5, size=(5000, 3))
    assert metrics.mig(s, rng.normal(size=(5000, 6))).score < 0.02


def test_edge_cases():
    rng = np.random.default_rng(2)
    s = np.column_stack([rng.integers(0, 4, 200), np.zeros(200, int)])
    r = metrics.mig(s, s[:, :1].astype(float), num_bins=4)  # one latent; a constant factor
    assert r.score == pytest.approx(1.0) and r.per_factor[1] == 0.0
    with pytest.raises(ValueError, match="all 1 factors are constant"):
        metrics.mig(np.zeros((100, 1), int), rng.normal(size=(100, 2)))
    with pytest.raises(ValueError, match=r"mutual_info must have shape \(n_factors, n_latents\) = \(2, 1\); got shape \(3, 3\)"):
        metrics.mig(s, s[:, :1].astype(float), mutual_info=np.zeros((3, 3)))


def test_precomputed_mutual_info_is_reused():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, size=(500, 2))
    z = rng.normal(size=(500, 3)) + s[:, [0, 1, 0]]
    mi = metrics.mutual_info_matrix(s, z, bins=20)
    assert metrics.mig(s, z, mutual_info=mi).score == metrics.mig(s, z).score
