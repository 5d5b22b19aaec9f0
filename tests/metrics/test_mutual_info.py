"""Tests of metrics.mutual_info: plug-in kernel, kNN estimator, entropy, validation."""

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_classif
from sklearn.metrics import mutual_info_score

import metrics
from metrics import _kernels, _reference
from metrics import mutual_info as mi_module

SIZES = (10, 10, 10, 8, 4, 15)


def shapes3d_like(n, seed=0, dtype=np.float32, n_latents=8):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, SIZES, size=(n, len(SIZES)))
    z = rng.normal(size=(n, n_latents)) * 2
    m = min(6, n_latents)
    z[:, :m] += s[:, :m] * 0.5
    return s, z.astype(dtype)


def dlib_mi(s, z, bins=20):
    """disentanglement_lib: digitize each latent into 20 equal-width bins, then sklearn's MI."""
    out = np.zeros((s.shape[1], z.shape[1]))
    for j in range(z.shape[1]):
        codes = np.digitize(z[:, j], np.histogram(z[:, j], bins)[1][:-1])
        for k in range(s.shape[1]):
            out[k, j] = mutual_info_score(s[:, k], codes)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("parallel", [False, True])
def test_plugin_matches_disentanglement_lib_recipe(dtype, parallel):
    s, z = shapes3d_like(3001, dtype=dtype)
    got = metrics.mutual_info_matrix(s, z, parallel=parallel)
    np.testing.assert_allclose(got, dlib_mi(s, z), rtol=1e-12, atol=1e-14)


def test_plugin_serial_and_parallel_are_bit_identical():
    s, z = shapes3d_like(20000, seed=3)
    a = metrics.mutual_info_matrix(s, z, parallel=False)
    b = metrics.mutual_info_matrix(s, z, parallel=True)
    assert np.array_equal(a, b)


def test_values_exactly_on_bin_edges_follow_np_digitize():
    # Every value is one of the bin edges (and the max), the hardest case for arithmetic binning.
    edges = np.histogram_bin_edges(np.array([0.0, 1.0], dtype=np.float32), 20)
    rng = np.random.default_rng(1)
    z = rng.choice(edges, size=(2000, 3)).astype(np.float32)
    z[0], z[1] = 0.0, 1.0
    s = rng.integers(0, 7, size=(2000, 2))
    s[:, 1] = np.digitize(z[:, 0], np.histogram(z[:, 0], 20)[1][:-1]) % 7
    np.testing.assert_allclose(metrics.mutual_info_matrix(s, z), dlib_mi(s, z), rtol=1e-12, atol=1e-14)


def test_large_offset_small_range_float32():
    # float32 values near 1e4 with a range of a few ulps-per-bin: exact-edge fallback path.
    rng = np.random.default_rng(2)
    z = (np.float32(1e4) + rng.integers(0, 40, size=(3000, 2)).astype(np.float32) * np.float32(1e-3))
    s = rng.integers(0, 5, size=(3000, 3))
    np.testing.assert_allclose(metrics.mutual_info_matrix(s, z), dlib_mi(s, z), rtol=1e-12, atol=1e-14)


def test_kernel_counts_match_reference_twin():
    s, z = shapes3d_like(4000, seed=4)
    codes_s, sizes = mi_module.encode_sources(s)
    lo, hi, finite = _kernels.column_ranges(z)
    assert finite
    joint = mi_module._run_joint_kernel(
        (codes_s, np.zeros(6, np.int64)), sizes, z,
        *_binning(z, lo, hi), parallel=False,
    )
    for k in range(6):
        for j in range(z.shape[1]):
            ref = _reference.joint_counts(codes_s[:, k], _reference.digitize_like_dlib(z[:, j], 20), sizes[k], 20)
            assert np.array_equal(joint[k][j], ref)
            assert _reference.plugin_mi(ref) == pytest.approx(mi_module._mi_from_joint(joint[k][j][None])[0], rel=1e-12)


def _binning(z, lo, hi):
    edges = np.stack([np.histogram_bin_edges(np.array([lo[j], hi[j]], dtype=z.dtype), 20) for j in range(z.shape[1])])
    nbins = np.full(z.shape[1], 20, dtype=np.int64)
    tol = np.full(z.shape[1], 1e-6)
    return edges.astype(np.float64), nbins, tol


def test_bins_none_treats_values_as_categories():
    rng = np.random.default_rng(5)
    s = rng.integers(0, 4, size=(1500, 3))
    z = (s[:, [0, 1]] * 0.25 + rng.integers(0, 3, size=(1500, 2))).astype(np.float32)
    codes = np.stack([np.unique(z[:, j], return_inverse=True)[1] for j in range(2)], axis=1)  # each value a class
    expected = np.array([[mutual_info_score(s[:, k], codes[:, j]) for j in range(2)] for k in range(3)])
    np.testing.assert_allclose(metrics.mutual_info_matrix(s, z, bins=None), expected, rtol=1e-12, atol=1e-14)


def test_bins_auto_uses_numpy_rule():
    s, z = shapes3d_like(2500, seed=6, n_latents=3)
    expected = np.zeros((6, 3))
    for j in range(3):
        codes = np.digitize(z[:, j], np.histogram(z[:, j], "auto")[1][:-1])
        expected[:, j] = [mutual_info_score(s[:, k], codes) for k in range(6)]
    np.testing.assert_allclose(metrics.mutual_info_matrix(s, z, bins="auto"), expected, rtol=1e-12, atol=1e-14)


def test_source_labels_are_categories_whatever_their_values():
    s, z = shapes3d_like(2000, seed=7, n_latents=3)
    relabelled = s * 1_000_003 - 5  # huge range: label-encoded instead of offset
    np.testing.assert_allclose(metrics.mutual_info_matrix(relabelled, z), metrics.mutual_info_matrix(s, z), rtol=1e-12)
    negative = s - 7
    np.testing.assert_allclose(metrics.mutual_info_matrix(negative, z), metrics.mutual_info_matrix(s, z), rtol=1e-12)


def test_constant_latent_and_constant_factor_give_zero():
    rng = np.random.default_rng(8)
    s = np.column_stack([rng.integers(0, 3, 500), np.full(500, 4)])
    z = np.column_stack([s[:, 0] + 0.1 * rng.normal(size=500), np.full(500, 2.5)])
    mi = metrics.mutual_info_matrix(s, z)
    assert mi[0, 0] > 0.5
    assert mi[0, 1] == 0.0 and mi[1, 0] == 0.0 and mi[1, 1] == 0.0


def test_entropy_matches_sklearn():
    s, _ = shapes3d_like(1000, seed=9)
    expected = [mutual_info_score(col, col) for col in s.T]
    np.testing.assert_allclose(metrics.entropy(s), expected, rtol=1e-12)
    np.testing.assert_allclose(metrics.entropy(s * 1_000_003 - 9), expected, rtol=1e-12)  # label-encoded path
    assert metrics.entropy(np.zeros((5, 1), dtype=int))[0] == 0.0


# ------------------------------------------------------------------ kNN estimator


def test_knn_matches_sklearn_mutual_info_classif():
    rng = np.random.default_rng(10)
    s = rng.integers(0, 6, size=(3000, 3))
    z = rng.normal(size=(3000, 2)) + s[:, :2] * 0.4
    got = metrics.mutual_info_matrix(s, z, estimator="knn", n_neighbors=3)
    expected = np.array([mutual_info_classif(z, col, n_neighbors=3, random_state=0) for col in s.T])
    np.testing.assert_allclose(got, expected, atol=1e-9)


@pytest.mark.parametrize("n_neighbors", [1, 3, 10])
def test_knn_matches_bruteforce_reference_with_ties_and_singletons(n_neighbors):
    rng = np.random.default_rng(11)
    n = 300
    s = rng.integers(0, 9, size=(n, 2))
    s[0, 0] = 99  # a class with a single member is ignored
    z = np.column_stack([rng.normal(size=n) + s[:, 1], np.round(rng.normal(size=n) * 2)])  # second has ties
    got = metrics.mutual_info_matrix(s, z, estimator="knn", n_neighbors=n_neighbors, random_state=3)
    # the reference gets the same scaled and jittered values the estimator saw
    x = z / z.std(axis=0)
    x = x + 1e-10 * np.maximum(1.0, np.abs(x).mean(axis=0)) * np.random.default_rng(3).standard_normal(size=x.shape)
    expected = np.array([[_reference.knn_mi_cd(x[:, j], s[:, k], n_neighbors) for j in range(2)] for k in range(2)])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_knn_is_invariant_to_rescaling_a_latent():
    rng = np.random.default_rng(12)
    s = rng.integers(0, 5, size=(2000, 2))
    z = rng.normal(size=(2000, 2)) + s * 0.5
    scaled = z * np.array([1000.0, 0.001]) + np.array([5.0, -3.0])
    np.testing.assert_allclose(
        metrics.mutual_info_matrix(s, scaled, estimator="knn"), metrics.mutual_info_matrix(s, z, estimator="knn"),
        atol=1e-9,
    )


def test_knn_same_seed_same_numbers():
    rng = np.random.default_rng(13)
    s = rng.integers(0, 5, size=(500, 2))
    z = np.round(rng.normal(size=(500, 2)), 1)  # many ties: the jitter decides
    a = metrics.mutual_info_matrix(s, z, estimator="knn", random_state=1)
    b = metrics.mutual_info_matrix(s, z, estimator="knn", random_state=1)
    assert np.array_equal(a, b)


# ------------------------------------------------------------------ input validation


def test_torch_input_gives_the_same_result():
    torch = pytest.importorskip("torch")
    s, z = shapes3d_like(800, seed=14, n_latents=3)
    np.testing.assert_array_equal(
        metrics.mutual_info_matrix(torch.from_numpy(s), torch.from_numpy(z)), metrics.mutual_info_matrix(s, z)
    )


@pytest.mark.parametrize(
    "sources, latents, kwargs, error, message",
    [
        (np.zeros((10, 2), int), np.zeros(10), {}, ValueError, r"latents must be 2D with shape \(n_samples, n_latents\); got shape \(10,\)"),
        (np.zeros(10, int), np.zeros((10, 2)), {}, ValueError, r"sources must be 2D with shape \(n_samples, n_factors\); got shape \(10,\)"),
        (np.zeros((10, 2), int), np.zeros((9, 2)), {}, ValueError, r"sources and latents must have the same number of samples; got 10 and 9"),
        (np.zeros((0, 2), int), np.zeros((0, 2)), {}, ValueError, r"sources must have at least 1 sample; got shape \(0, 2\)"),
        (np.zeros((10, 0), int), np.zeros((10, 2)), {}, ValueError, r"sources must have at least one column"),
        (np.full((30, 1), 0.5), np.zeros((30, 2)), {}, ValueError, r"sources must hold integer class labels; got non-integer value 0.5 at row 0, column 0"),
        (np.array([["a"]] * 30), np.zeros((30, 2)), {}, TypeError, r"sources must hold integer class labels; got dtype <U1"),
        (np.zeros((10, 2), int), np.zeros((10, 2)), {}, ValueError, r"bins must not exceed the number of samples; got bins=20 with 10 samples"),
        (np.zeros((30, 2), int), np.zeros((30, 2)), {"bins": 1}, ValueError, r"bins must be an integer >= 2; got 1"),
        (np.zeros((30, 2), int), np.zeros((30, 2)), {"bins": "fd"}, ValueError, r"bins must be an integer >= 2, 'auto' or None; got 'fd'"),
        (np.zeros((30, 2), int), np.zeros((30, 2)), {"estimator": "ksg"}, ValueError, r"estimator must be one of 'plugin', 'knn'; got 'ksg'"),
        (np.zeros((30, 2), int), np.zeros((30, 2)), {"estimator": "knn", "n_neighbors": 0}, ValueError, r"n_neighbors must be an integer >= 1; got 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(sources, latents, kwargs, error, message):
    with pytest.raises(error, match=message):
        metrics.mutual_info_matrix(sources, latents, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_name_the_first_bad_row(bad):
    z = np.zeros((50, 3), dtype=np.float32)
    z[17, 2] = bad
    z[30, 0] = bad
    with pytest.raises(ValueError, match=r"latents contains NaN or infinity \(first at row 17\)"):
        metrics.mutual_info_matrix(np.zeros((50, 1), int), z)


def test_huge_category_tables_are_refused_before_allocating():
    rng = np.random.default_rng(15)
    z = rng.normal(size=(60_000, 10))  # 60,000 distinct values per latent as categories
    s = rng.integers(0, 1000, size=(60_000, 1))
    with pytest.raises(ValueError, match=r"With bins=None every distinct latent value is a category"):
        metrics.mutual_info_matrix(s, z, bins=None)


def test_knn_serial_and_parallel_kernels_agree_exactly():
    from scipy.special import digamma

    rng = np.random.default_rng(16)
    x = rng.normal(size=(3000, 2))
    orders = np.argsort(x, axis=0).T.copy()
    values = np.take_along_axis(x, orders.T, axis=0).T.copy()
    codes = np.ascontiguousarray(rng.integers(0, 6, size=(3000, 3)))
    table = digamma(np.arange(3001.0))
    table[0] = 0.0
    a = _kernels.knn_mi_cd_matrix_serial(values, orders, codes, np.array([6, 6, 6]), 3, table)
    b = _kernels.knn_mi_cd_matrix_parallel(values, orders, codes, np.array([6, 6, 6]), 3, table)
    assert a.shape == (3, 2, 4) and np.array_equal(a, b)
    for k in range(3):  # each pair equals the single-pair kernel on that latent's order
        for j in range(2):
            single = _kernels.knn_mi_cd_terms(values[j], np.ascontiguousarray(codes[orders[j], k]), 6, 3, table)
            assert tuple(a[k, j]) == single


def test_serial_and_parallel_twins_have_their_own_disk_cache():
    # numba keys its on-disk cache by qualname and line, not by the parallel flag: twins built from
    # one function object would load each other's machine code.
    serial, parallel = _kernels.knn_mi_cd_matrix_serial, _kernels.knn_mi_cd_matrix_parallel
    assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
    assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")


@pytest.mark.parametrize("bins", [20, 7, "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_bin_edges_equal_np_histogram(bins, dtype):
    column = (np.random.default_rng(17).normal(size=999) * 40).astype(dtype)
    np.testing.assert_array_equal(metrics.bin_edges(column, bins), np.histogram(column, bins)[1].astype(np.float64))
    if not isinstance(bins, str):  # the min/max shortcut gives the same edges
        np.testing.assert_array_equal(metrics.bin_edges(column, bins, lo=column.min(), hi=column.max()),
                                      metrics.bin_edges(column, bins))


@pytest.mark.parametrize("kwargs", [dict(bins=20), dict(bins=None), dict(estimator="knn")])
def test_return_entropy_gives_the_entropies_of_the_sources(kwargs):
    s, z = shapes3d_like(1500, seed=11, n_latents=3)
    if kwargs.get("bins", 20) is None:
        z = np.round(z)
    mi, h = metrics.mutual_info_matrix(s - 3, z, return_entropy=True, **kwargs)
    np.testing.assert_array_equal(mi, metrics.mutual_info_matrix(s - 3, z, **kwargs))
    np.testing.assert_allclose(h, [mutual_info_score(col, col) for col in s.T], rtol=1e-12)


def test_column_ranges_serial_and_parallel_agree_and_flag_nonfinite():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(1001, 7)).astype(np.float32)  # 1001 rows: a partial vector chunk at the end
    for kernel in (_kernels.column_ranges, lambda a: _kernels.column_ranges_parallel(a, 3)):
        lo, hi, finite = kernel(x)
        assert finite and np.array_equal(lo, x.min(axis=0)) and np.array_equal(hi, x.max(axis=0))
        for row in (0, 500, 1000):  # first chunk, a middle chunk, the scalar tail
            for bad in (np.nan, np.inf, -np.inf):
                y = x.copy()
                y[row, 3] = bad
                assert not kernel(y)[2]
    ints = rng.integers(-50, 50, size=(333, 4))
    lo, hi, finite = _kernels.column_ranges_parallel(ints, 2)
    assert finite and np.array_equal(lo, ints.min(axis=0)) and np.array_equal(hi, ints.max(axis=0))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint32, np.uint64])
def test_any_integer_dtype_of_sources_gives_the_same_values(dtype):
    s, z = shapes3d_like(1500, seed=13, n_latents=2)
    s = s[:, :3]
    for kwargs in (dict(bins=20), dict(estimator="knn")):
        mi, h = metrics.mutual_info_matrix(s.astype(dtype), z, return_entropy=True, **kwargs)
        ref, ref_h = metrics.mutual_info_matrix(s, z, return_entropy=True, **kwargs)
        np.testing.assert_array_equal(mi, ref)
        np.testing.assert_array_equal(h, ref_h)


def test_labels_at_the_ends_of_the_integer_range_are_categories_too():
    s, z = shapes3d_like(1500, seed=14, n_latents=2)
    s = s[:, :2]
    ref = metrics.mutual_info_matrix(s, z)
    extremes = np.where(s % 2 == 0, np.iinfo(np.int64).min, np.iinfo(np.int64).max) + (s // 2) * np.where(s % 2 == 0, 1, -1)
    np.testing.assert_allclose(metrics.mutual_info_matrix(extremes, z), ref, rtol=1e-12)
    above_int64 = s.astype(np.uint64) + np.uint64(2**63 - 3)  # straddles 2**63
    np.testing.assert_allclose(metrics.mutual_info_matrix(above_int64, z), ref, rtol=1e-12)
    np.testing.assert_allclose(metrics.mutual_info_matrix(above_int64, z, estimator="knn"),
                               metrics.mutual_info_matrix(s, z, estimator="knn"), rtol=1e-12)


def test_knn_estimator_is_identical_serial_and_parallel():
    s, z = shapes3d_like(2500, seed=15, n_latents=3)
    a = metrics.mutual_info_matrix(s, z, estimator="knn", parallel=False)
    b = metrics.mutual_info_matrix(s, z, estimator="knn", parallel=True)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("parallel", [False, True])
def test_sixteen_bit_counters_flush_before_overflow(monkeypatch, parallel):
    # More samples per thread than a 16-bit counter holds: the kernel must add its 16-bit scratch
    # table into the int32 counts and clear it every SMALL_COUNT_LIMIT samples. One factor is
    # constant, the other 0 in 95% of the samples, and the latent takes one value in 90% of them,
    # so single cells receive more than 65535 counts even per thread (the two factors share one
    # group code, so it is their joint class that must be frequent).
    n = 3 * _kernels.SMALL_COUNT_LIMIT + 123
    rng = np.random.default_rng(11)
    z = np.where(rng.random((n, 2)) < 0.9, 0.0, rng.normal(size=(n, 2))).astype(np.float32)
    s = np.stack([np.zeros(n, dtype=np.int64), (rng.random(n) < 0.05).astype(np.int64)], axis=1)
    expected = dlib_mi(s, z)
    ent = np.array([0.0, mutual_info_score(s[:, 1], s[:, 1])])
    for small_cells in (0, 1 << 19):  # 0: int32 counters only
        monkeypatch.setattr(mi_module, "_SMALL_TABLE_CELLS", small_cells)
        mi, h = metrics.mutual_info_matrix(s, z, parallel=parallel, return_entropy=True)
        np.testing.assert_allclose(mi, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h, ent, rtol=1e-12, atol=1e-14)


def test_float32_arithmetic_binning_matches_exact_edges_near_boundaries():
    # Values placed on and one ulp either side of every float32 bin edge: the float32 arithmetic
    # guess is flagged there and re-binned against the exact edges.
    rng = np.random.default_rng(12)
    lo, hi = np.float32(-3.7), np.float32(5.3)
    edges = np.histogram_bin_edges(np.array([lo, hi], dtype=np.float32), 20)
    on = np.concatenate([edges, np.nextafter(edges, np.float32(-np.inf)), np.nextafter(edges, np.float32(np.inf))])
    on = np.clip(on, lo, hi).astype(np.float32)
    col = np.concatenate([on, rng.uniform(lo, hi, 5000).astype(np.float32)])
    z = np.stack([col, col[::-1]], axis=1)
    s = rng.integers(0, 4, size=(col.size, 2))
    s[:, 1] = np.digitize(z[:, 0], np.histogram(z[:, 0], 20)[1][:-1]) % 4
    np.testing.assert_allclose(metrics.mutual_info_matrix(s, z), dlib_mi(s, z), rtol=1e-12, atol=1e-14)
