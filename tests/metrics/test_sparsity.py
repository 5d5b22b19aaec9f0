"""Tests for metrics.sparsity."""

import doctest
import importlib
import json

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import metrics
from metrics import sparsity


def hoyer_reference(v):
    """Hoyer (2004), written per vector from the definition."""
    n = len(v)
    return (np.sqrt(n) - np.sum(np.abs(v)) / np.sqrt(np.sum(v**2))) / (np.sqrt(n) - 1)


def gini_reference(v):
    """Gini coefficient from the mean absolute difference: sum_ij |c_i - c_j| / (2 n sum c).

    Algebraically equal to Hurley & Rickard's sorted-weights form used by the implementation.
    """
    c = np.abs(v)
    return np.abs(c[:, None] - c[None, :]).sum() / (2 * len(c) * c.sum())


def test_hand_values():
    one_hot = np.eye(4)
    r = sparsity(one_hot)
    assert r.hoyer == 1.0 and r.gini == pytest.approx(0.75) and r.l0_fraction == 0.25
    dense = np.full((3, 4), -2.0)
    r = sparsity(dense)
    assert r.hoyer == pytest.approx(0.0, abs=1e-12) and r.gini == pytest.approx(0.0, abs=1e-12)
    assert r.l0_fraction == 1.0
    # (3, 4): L1 = 7, L2 = 5, Hoyer = (sqrt 2 - 7/5) / (sqrt 2 - 1); Gini = 1 - 2 (3/7 * 3/4 + 4/7 * 1/4) = 1/14.
    r = sparsity(np.array([[3.0, -4.0]]))
    assert r.hoyer == pytest.approx((np.sqrt(2) - 1.4) / (np.sqrt(2) - 1), abs=1e-12)
    assert r.gini == pytest.approx(1 / 14, abs=1e-12)


def test_against_independent_formulas():
    rng = np.random.default_rng(0)
    z = rng.laplace(size=(50, 7)) * (rng.random((50, 7)) < 0.6)
    z[0] = 0.0
    z[1, :] = 0.0
    z[1, 3] = 2.0
    r = sparsity(z, threshold=0.1)
    nz = np.abs(z).sum(axis=1) > 0
    hoyer = np.array([hoyer_reference(v) if any(v) else 1.0 for v in z])
    gini = np.array([gini_reference(v) if any(v) else 1 - 1 / 7 for v in z])
    np.testing.assert_allclose(r.per_sample_hoyer, hoyer, atol=1e-12)
    assert r.hoyer == pytest.approx(hoyer.mean(), abs=1e-12)
    assert r.gini == pytest.approx(gini.mean(), abs=1e-12)
    assert nz.sum() == 49
    assert r.l0_fraction == pytest.approx(np.mean(np.abs(z) > 0.1), abs=1e-12)
    np.testing.assert_allclose(r.per_unit_kurtosis, scipy.stats.kurtosis(z, axis=0, fisher=True, bias=True),
                               atol=1e-10)
    var = z.var(axis=0)
    assert r.participation_ratio == pytest.approx(var.sum() ** 2 / (var**2).sum(), abs=1e-12)
    assert r.dead_units == 0


def test_gaussian_kurtosis_near_zero_and_laplace_positive():
    rng = np.random.default_rng(1)
    assert abs(sparsity(rng.normal(size=(20000, 3))).kurtosis) < 0.1
    assert sparsity(rng.laplace(size=(20000, 3))).kurtosis == pytest.approx(3.0, abs=0.3)


def test_edge_cases_are_defined():
    # All-zero sample: Hoyer 1, Gini 1 - 1/L, L0 0.
    r = sparsity(np.zeros((2, 4)))
    assert r.per_sample_hoyer.tolist() == [1.0, 1.0] and r.gini == 0.75 and r.l0_fraction == 0.0
    assert r.participation_ratio == 0.0 and r.dead_units == 4 and r.kurtosis == 0.0
    # Constant unit: dead, kurtosis 0 and left out of the mean.
    rng = np.random.default_rng(2)
    z = np.stack([rng.laplace(size=500), np.full(500, 7.0)], axis=1)
    r = sparsity(z)
    assert r.dead_units == 1 and r.per_unit_kurtosis[1] == 0.0
    assert r.kurtosis == pytest.approx(r.per_unit_kurtosis[0])
    # A unit varying by less than the threshold is dead too.
    z[:, 1] += rng.uniform(0, 0.005, 500)
    assert sparsity(z).dead_units == 1 and sparsity(z, threshold=0.001).dead_units == 0
    # One latent: Hoyer 1, Gini 0, participation ratio 1.
    r = sparsity(np.array([[1.0], [2.0], [0.0]]))
    assert (r.hoyer, r.gini, r.participation_ratio) == (1.0, 0.0, 1.0)
    # One sample: every unit is dead, nothing is NaN.
    r = sparsity(np.array([[1.0, 0.0, 2.0]]))
    assert r.dead_units == 3 and r.kurtosis == 0.0 and r.participation_ratio == 0.0
    assert all(np.isfinite(v) for v in (r.hoyer, r.gini, r.l0_fraction))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(2, 6)),
              elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)))
def test_bounds_and_invariances(z):
    r = sparsity(z)
    n_latents = z.shape[1]
    assert 0.0 <= r.hoyer <= 1.0
    assert 0.0 <= r.gini <= 1.0 - 1.0 / n_latents + 1e-12
    assert 0.0 <= r.l0_fraction <= 1.0
    assert r.participation_ratio == 0.0 or 1.0 - 1e-9 <= r.participation_ratio <= n_latents + 1e-9
    assert 0 <= r.dead_units <= n_latents and r.kurtosis >= -2.0 - 1e-9
    # Permuting units changes nothing per sample; flipping signs changes nothing (up to rounding).
    perm = np.arange(n_latents)[::-1]
    p = sparsity(z[:, perm])
    np.testing.assert_allclose(p.per_sample_hoyer, r.per_sample_hoyer, atol=1e-9)
    assert p.gini == pytest.approx(r.gini, abs=1e-9)
    f = sparsity(-z)
    assert (f.hoyer, f.gini, f.l0_fraction, f.dead_units) == (r.hoyer, r.gini, r.l0_fraction, r.dead_units)
    assert f.participation_ratio == r.participation_ratio
    np.testing.assert_allclose(f.per_unit_kurtosis, r.per_unit_kurtosis, atol=1e-9)


def test_scale_invariance_of_hoyer_and_gini():
    z = np.random.default_rng(3).normal(size=(30, 5))
    a, b = sparsity(z), sparsity(1000.0 * z)
    assert b.hoyer == pytest.approx(a.hoyer, abs=1e-12) and b.gini == pytest.approx(a.gini, abs=1e-12)
    assert b.participation_ratio == pytest.approx(a.participation_ratio, abs=1e-9)


def test_extreme_scales_stay_finite():
    # Found by hypothesis: squares of 1e-116 values underflowed and made the participation ratio NaN.
    z = np.random.default_rng(5).normal(size=(30, 4))
    a = sparsity(z)
    for scale in (1e-200, 1e-116, 1e150):
        b = sparsity(scale * z, threshold=0.0)
        assert b.hoyer == pytest.approx(a.hoyer, abs=1e-12) and b.gini == pytest.approx(a.gini, abs=1e-12)
        assert b.participation_ratio == pytest.approx(a.participation_ratio, abs=1e-9)
        np.testing.assert_allclose(b.per_unit_kurtosis, a.per_unit_kurtosis, atol=1e-9)
    r = sparsity(np.full((3, 2), 3.44565923e-116))
    assert r.hoyer == pytest.approx(0.0, abs=1e-12) and (r.participation_ratio, r.dead_units) == (0.0, 2)


def test_torch_and_contract():
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(4).normal(size=(20, 3))
    r = sparsity(z)
    assert r.to_dict() == sparsity(torch.from_numpy(z)).to_dict()
    assert sparsity(z.astype(np.float32)).hoyer == pytest.approx(r.hoyer, abs=1e-6)
    assert isinstance(r, metrics.SparsityResult)
    for field in ("hoyer", "gini", "l0_fraction", "threshold", "participation_ratio", "kurtosis"):
        assert type(getattr(r, field)) is float
    assert type(r.dead_units) is int and r.per_sample_hoyer.shape == (20,) and r.per_unit_kurtosis.shape == (3,)
    assert r.metric_version == metrics.METRIC_VERSIONS["sparsity"] and r.n_samples == 20
    json.dumps(r.to_dict())


@pytest.mark.parametrize(
    "latents,kwargs,exc,match",
    [
        (np.zeros(5), {}, ValueError, r"latents must be 2D with shape \(n_samples, n_latents\); got shape \(5,\)"),
        (np.zeros((0, 3)), {}, ValueError, r"latents must have at least 1 sample; got shape \(0, 3\)"),
        (np.array([[0.0, np.nan]]), {}, ValueError, r"latents contains NaN or infinity \(first at row 0\)"),
        (np.zeros((2, 2)), {"threshold": -1e-3}, ValueError, r"threshold must be a finite number in \[0.0, inf\); "
                                                             r"got -0.001"),
        (np.zeros((2, 2)), {"threshold": "0.1"}, TypeError, r"threshold must be a real number >= 0.0; got '0.1'"),
        (np.array([["a"]]), {}, TypeError, r"latents must hold real numbers; got dtype <U1"),
    ],
)
def test_bad_input_raises(latents, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sparsity(latents, **kwargs)


def test_docstring_examples():
    assert doctest.testmod(importlib.import_module("metrics.sparsity"), raise_on_error=False).failed == 0
