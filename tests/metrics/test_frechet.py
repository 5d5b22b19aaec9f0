"""Tests of metrics.frechet_distance (FID's formula on arbitrary features)."""

import json

import numpy as np
import pytest
from scipy import linalg

import metrics


def sqrtm_reference(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all() or np.abs(covmean.imag).max(initial=0.0) > 1e-3:
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_features(rng, n, d, shift=0.0):
    mix = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ mix + shift


def test_identical_sets_give_zero():
    rng = np.random.default_rng(0)
    x = random_features(rng, 200, 6)
    r = metrics.frechet_distance(x, x)
    assert r.score == pytest.approx(0.0, abs=1e-8)
    assert (r.n_a, r.n_b, r.dim, r.n_samples) == (200, 200, 6, 400)
    assert r.metric_version == metrics.METRIC_VERSIONS["frechet_distance"] == "1.0"
    assert type(r.score) is float
    json.dumps(r.to_dict())


def test_diagonal_gaussians_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.5, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = metrics.frechet_distance_from_stats(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx((2.25 + 0.0 + 6.25) + (4.0 + 1.0 + 0.0))


def test_one_dimensional():
    got = metrics.frechet_distance_from_stats([0.0], [[4.0]], [3.0], [[1.0]])
    assert got == pytest.approx(9.0 + 1.0, abs=1e-12)


def test_symmetric_and_translation_invariant():
    rng = np.random.default_rng(1)
    a = random_features(rng, 300, 5)
    b = random_features(rng, 250, 5, shift=0.7)
    ab = metrics.frechet_distance(a, b).score
    assert ab > 0.1
    assert metrics.frechet_distance(b, a).score == pytest.approx(ab, rel=1e-9)
    t = rng.normal(size=5) * 10
    assert metrics.frechet_distance(a + t, b + t).score == pytest.approx(ab, rel=1e-9)


@pytest.mark.parametrize("seed, d, n", [(0, 4, 100), (1, 16, 500), (2, 32, 200)])
def test_agrees_with_sqrtm_reference(seed, d, n):
    rng = np.random.default_rng(seed)
    a = random_features(rng, n, d)
    b = random_features(rng, n + 17, d, shift=rng.normal(size=d))
    mu1, s1 = metrics.feature_statistics(a)
    mu2, s2 = metrics.feature_statistics(b)
    assert np.allclose(s1, np.cov(a, rowvar=False)) and np.allclose(mu1, a.mean(axis=0))
    ref = sqrtm_reference(mu1, s1, mu2, s2)
    assert metrics.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(ref, abs=1e-6)
    assert metrics.frechet_distance(a, b).score == pytest.approx(ref, abs=1e-6)


def test_singular_covariances_fewer_samples_than_dims():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 20)), rng.normal(size=(6, 20)) + 0.5
    score = metrics.frechet_distance(a, b).score
    mu1, s1 = metrics.feature_statistics(a)
    mu2, s2 = metrics.feature_statistics(b)
    assert np.isfinite(score) and score > 0
    assert score == pytest.approx(sqrtm_reference(mu1, s1, mu2, s2), rel=1e-4)


def test_errors():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="same feature dimension"):
        metrics.frechet_distance(a, rng.normal(size=(10, 4)))
    bad = a.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(bad, a)
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.frechet_distance(a[:1], a)
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.feature_statistics(a[:1])
    with pytest.raises(ValueError, match="2D"):
        metrics.frechet_distance(a[:, 0], a)
    with pytest.raises(ValueError, match="same dimension"):
        metrics.frechet_distance_from_stats(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"shape \(d, d\)"):
        metrics.frechet_distance_from_stats(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance_from_stats(np.zeros(2), np.array([[1.0, np.nan], [np.nan, 1.0]]),
                                            np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        metrics.frechet_distance_from_stats(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]),
                                            np.zeros(2), np.eye(2))
