"""Extreme but valid inputs: values near the float limits, offsets, huge labels, precomputed matrices.

Each metric either gives the value it gives at an ordinary scale (the scale-invariant ones, through exact
power-of-two rescaling) or refuses with a ValueError naming the argument; never a silent wrong number or a hang.
"""

import numpy as np
import pytest

import metrics
from metrics._validation import pow2_rescaled

from ._data import mixed_recipe


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, size=(300, 2))
    z = np.concatenate([rng.normal(size=(300, 2)) * 0.5 + s, rng.normal(size=(300, 1))], axis=1)
    return s, z


def test_pow2_rescaling_is_exact():
    s, z = mixed_recipe(500, (3, 4), 3, seed=1)
    peaks = np.abs(pow2_rescaled(z * 1e200)).max(axis=0)
    assert ((0.5 <= peaks) & (peaks < 1)).all()
    e = np.frexp(np.abs(z).max(axis=0))[1]
    assert np.array_equal(pow2_rescaled(z), np.ldexp(z, -e)) and np.array_equal(np.ldexp(pow2_rescaled(z), e), z)


def test_whole_number_float_sources_beyond_int64_are_refused():
    z = np.array([[0.0], [1.0]] * 20)
    with pytest.raises(ValueError, match=r"sources holds whole numbers as floats, .*got 9\.22\d*e\+18 at row 1, column 0, "
                                         r"outside the int64 range"):
        metrics.entropy(np.array([[-(2.0**63)], [2.0**63]] * 20))  # 2**63 used to wrap to -2**63: one class
    with pytest.raises(ValueError, match="outside the int64 range"):
        metrics.mutual_info_matrix(np.array([[1e19], [2e19]] * 20), z, bins=2)
    assert metrics.entropy(np.array([[-(2.0**62)], [2.0**62]] * 20))[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize("scale", [1e160, 1e-170])
def test_knn_mutual_information_does_not_depend_on_the_scale(data, scale):
    s, z = data
    base = metrics.mutual_info_matrix(s, z, estimator="knn")
    assert base[0, 0] > 0.5
    np.testing.assert_array_equal(metrics.mutual_info_matrix(s, z * scale, estimator="knn"), base)


def test_knn_mutual_information_of_a_constant_latent_is_zero(data):
    s, z = data
    mi = metrics.mutual_info_matrix(s, np.column_stack([z[:, 0], np.full(len(z), 7.5)]), estimator="knn", n_neighbors=10)
    assert mi[0, 0] > 0.5 and (mi[:, 1] == 0).all()  # scikit-learn returns the tie-breaking jitter's noise


@pytest.mark.parametrize("offset", [1e10, 1e12])
def test_standalone_infomec_standardises_continuous_latents_as_the_reference(data, offset):
    s, z = data
    base = metrics.infomec(s, z)
    shifted = metrics.infomec(s, z + offset)  # the jitter was 1e-10 * mean|z| / std: 1 std at offset 1e10
    np.testing.assert_allclose(shifted.nmi, base.nmi, atol=1e-3)
    assert shifted.infoc == pytest.approx(base.infoc, abs=1e-3) and base.nmi[0, 0] > 0.5
    assert base.params["standardize_for_mi"] is True
    assert metrics.infomec(s, z, variant="training").params["standardize_for_mi"] is False


@pytest.mark.parametrize("scale", [1e200, 1e307])
def test_classifier_metrics_give_their_ordinary_values_near_the_float_maximum(data, scale):
    s, z = data
    big = z * scale
    a, b = metrics.modularity_explicitness(s, z), metrics.modularity_explicitness(s, big)
    assert b.explicitness == pytest.approx(a.explicitness, abs=1e-9) and a.explicitness > 0.6  # was 0.5 or a NaN error
    a, b = metrics.infomec(s, z), metrics.infomec(s, big)
    assert b.infoe == pytest.approx(a.infoe, abs=1e-9)
    for estimator in ("random_forest", "gbt", "gbt_sklearn"):  # trees split on float32 copies: 1e200 overflowed them
        a = metrics.dci(s, z, estimator=estimator, progress=False)
        b = metrics.dci(s, big, estimator=estimator, progress=False)
        assert (b.informativeness, b.disentanglement) == (a.informativeness, a.disentanglement)
    a, b = metrics.sap(s, z, continuous_factors=True), metrics.sap(s, big, continuous_factors=True)
    np.testing.assert_allclose(b.matrix, a.matrix, atol=1e-12)  # the mean overflowed before the rescaling
    kurt = metrics.sparsity(z).per_unit_kurtosis
    np.testing.assert_allclose(metrics.sparsity(big).per_unit_kurtosis, kurt, atol=1e-9)


def test_discrete_sap_refuses_latents_its_solver_cannot_fit(data):
    s, z = data
    with pytest.raises(ValueError, match=r"latents holds values up to .*e\+100 in absolute value; discrete SAP fits "
                                         r"LinearSVC\(C=0.01\) .* Rescale the latents to at most 1e\+60"):
        metrics.sap(s, z * 1e100)  # liblinear never returned
    assert 0 < metrics.sap(s, z * 1e50).score <= 1  # below the bound it is scored, not refused


def test_latent_ranges_that_overflow_their_dtype_are_named(data):
    s, _ = data
    with pytest.raises(ValueError, match=r"latents column 0 spans \[-3e\+38, 3e\+38\], a range that overflows float32, "
                                         r".* or pass float64 latents"):
        metrics.mig(s, np.where(s == 0, np.float32(-3e38), np.float32(3e38)))
    wide = np.where(s == 0, -1e308, 1e308)
    with pytest.raises(ValueError, match=r"spans \[-1e\+308, 1e\+308\], a range that overflows float64"):
        metrics.mutual_info_matrix(s, wide)
    assert metrics.mutual_info_matrix(s, wide, estimator="knn")[0, 0] > 0.5  # no bins: no range needed


def test_precomputed_mutual_information_is_checked_and_not_frozen(data):
    s, z = data
    mi = metrics.mutual_info_matrix(s, z)
    for bad, message in ((np.where(mi == mi[0, 0], np.nan, mi), "mutual_info contains NaN or infinity"),
                         (-mi, "mutual_info must be non-negative"), (mi[:, :2], r"must have shape \(n_factors, n_latents\) "
                                                                              r"= \(2, 3\); got shape \(2, 2\)"),
                         (mi[0], r"must have shape \(n_factors, n_latents\) = \(2, 3\); got shape \(3,\)")):
        with pytest.raises(ValueError, match=message):
            metrics.mig(s, z, mutual_info=bad)
        with pytest.raises(ValueError, match=message):
            metrics.modularity_explicitness(s, z, mutual_info=bad)
    r = metrics.mig(s, z, mutual_info=mi)
    assert r.score == pytest.approx(metrics.mig(s, z).score)
    assert mi.flags.writeable  # the result froze the caller's own array
    mi[0, 0] = 0.0
    assert r.mutual_info[0, 0] != 0.0 and not r.mutual_info.flags.writeable


def test_infomec_params_and_table_size_advice():
    s, z = mixed_recipe(400, (3, 4), 3, seed=2)
    assert metrics.infomec(s, z, random_state=np.int64(0)).params["random_state"] == 0  # was 'generator'
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"contingency tables would need .* Integer latents are scored as discrete codes "
                                         r"by default: pass discrete_latents=False"):
        metrics.infomec(rng.integers(0, 1000, size=(60_000, 1)), rng.integers(0, 10**6, size=(60_000, 10)))
