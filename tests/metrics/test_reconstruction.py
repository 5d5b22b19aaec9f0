"""Tests for metrics.psnr."""

import doctest
import importlib
import json

import numpy as np
import pytest

import metrics
from metrics import psnr
from metrics.reconstruction import PSNR_CAP_DB


def test_hand_values():
    images = np.zeros((3, 1, 2, 2))
    recon = images.copy()
    recon[0] += 0.1  # MSE 0.01 -> 20 dB
    recon[1, 0, 0, 0] = 0.2  # MSE 0.04 / 4 = 0.01 -> 20 dB
    recon[2] += 0.001  # MSE 1e-6 -> 60 dB
    r = psnr(recon, images)
    np.testing.assert_allclose(r.per_image, [20.0, 20.0, 60.0], atol=1e-9)
    assert r.score == pytest.approx(100.0 / 3, abs=1e-9)


def test_against_independent_formula_and_max_value():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 3, 8, 8)).astype(np.uint8)
    recon = np.clip(images + rng.normal(scale=4.0, size=images.shape), 0, 255)
    r = psnr(recon, images, max_value=255)
    mse = ((recon - images.astype(float)) ** 2).reshape(5, -1).mean(axis=1)
    np.testing.assert_allclose(r.per_image, 20 * np.log10(255.0) - 10 * np.log10(mse), atol=1e-9)
    # Rescaling both images and max_value together changes nothing.
    r01 = psnr(recon / 255.0, images / 255.0)
    np.testing.assert_allclose(r01.per_image, r.per_image, atol=1e-9)
    # Symmetric in its two arguments, invariant to image order (up to the same permutation).
    assert psnr(images, recon, max_value=255).score == pytest.approx(r.score, abs=1e-12)
    np.testing.assert_allclose(psnr(recon[::-1], images[::-1], max_value=255).per_image, r.per_image[::-1])


def test_identical_images_are_capped_not_inf():
    x = np.random.default_rng(1).random((4, 3, 5, 5))
    r = psnr(x, x)
    assert r.per_image.tolist() == [PSNR_CAP_DB] * 4 and r.score == 100.0
    # Tiny errors are capped as well, so the cap is an upper bound.
    r = psnr(x + 1e-9, x)
    assert r.score == PSNR_CAP_DB and r.params["cap_db"] == 100.0


def test_extreme_values_stay_finite():
    x = np.zeros((2, 3))
    y = np.array([[1e300, -1e300, 0.0], [1e-300, 0.0, 0.0]])
    r = psnr(y, x)
    assert np.isfinite(r.per_image).all()
    assert r.per_image[0] == pytest.approx(-10 * (2 * 300 + np.log10(2 / 3)), abs=1e-9)
    assert r.per_image[1] == PSNR_CAP_DB
    assert np.isfinite(psnr(np.full((1, 2), 1.7e308), np.full((1, 2), -1.7e308)).score)


def test_torch_and_contract():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).random((6, 4, 4)).astype(np.float32)
    y = np.clip(x + 0.05, 0, 1)
    r = psnr(y, x)
    assert r.to_dict() == psnr(torch.from_numpy(y), torch.from_numpy(x)).to_dict()
    assert isinstance(r, metrics.PSNRResult) and type(r.score) is float
    assert r.n_samples == 6 and r.per_image.shape == (6,)
    assert r.metric_version == metrics.METRIC_VERSIONS["psnr"]
    json.dumps(r.to_dict())
    # A (N, D) matrix of flattened images works too.
    assert psnr(y.reshape(6, -1), x.reshape(6, -1)).score == pytest.approx(r.score, abs=1e-12)


@pytest.mark.parametrize(
    "recon,images,kwargs,exc,match",
    [
        (np.zeros(4), np.zeros(4), {}, ValueError,
         r"reconstructions must have shape \(n_images, ...\) with at least 2 dimensions; got shape \(4,\)"),
        (np.zeros((2, 3)), np.zeros((2, 4)), {}, ValueError,
         r"reconstructions and images must have the same shape; got \(2, 3\) and \(2, 4\)"),
        (np.zeros((0, 3, 2)), np.zeros((0, 3, 2)), {}, ValueError,
         r"reconstructions must have at least 1 sample; got shape \(0, 6\)"),
        (np.full((2, 3), np.nan), np.zeros((2, 3)), {}, ValueError,
         r"reconstructions contains NaN or infinity \(first at row 0\)"),
        (np.zeros((2, 3)), np.array([[0, 0, 0], [0, 0, np.inf]]), {}, ValueError,
         r"images contains NaN or infinity \(first at row 1\)"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"max_value": 0}, ValueError,
         r"max_value must be a finite number in \(0.0, inf\); got 0.0"),
        (None, np.zeros((2, 3)), {}, TypeError, r"reconstructions must be an array of numbers; got None"),
    ],
)
def test_bad_input_raises(recon, images, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        psnr(recon, images, **kwargs)


def test_docstring_examples():
    assert doctest.testmod(importlib.import_module("metrics.reconstruction"), raise_on_error=False).failed == 0


def test_many_images_are_scored_one_by_one_across_chunks():
    # More images than one vectorised chunk, with an exact reconstruction in a later chunk.
    rng = np.random.default_rng(9)
    images = rng.random((700, 3, 8, 8))
    recon = np.clip(images + rng.normal(0, rng.uniform(0.01, 0.2, (700, 1, 1, 1)), images.shape), 0, 1)
    recon[613] = images[613]
    expected = [min(100.0, -10 * np.log10(np.mean((r - x) ** 2))) if not np.array_equal(r, x) else 100.0
                for r, x in zip(recon, images)]
    r = metrics.psnr(recon, images)
    np.testing.assert_allclose(r.per_image, expected, rtol=1e-12)
    assert r.per_image[613] == 100.0 and r.score == pytest.approx(np.mean(expected), rel=1e-12)
