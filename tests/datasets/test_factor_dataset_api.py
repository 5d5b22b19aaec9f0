"""The FactorDataset contract: index arithmetic, errors, evaluation sample, torch view, registry."""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from datasets import load
from datasets._base import sample_hash
from datasets.procedural import ProceduralMPI3D


@pytest.fixture(scope="module")
def ds():
    return load("mpi3d-procedural")


def test_index_is_row_major_last_factor_fastest(ds):
    assert ds.index_to_factors(0).tolist() == [0] * 7
    assert ds.index_to_factors(1).tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert ds.index_to_factors(40).tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert ds.factors_to_index([1, 0, 0, 0, 0, 0, 0]) == 6 * 2 * 3 * 3 * 40 * 40
    assert ds.factors_to_index([5, 5, 1, 2, 2, 39, 39]) == len(ds) - 1
    idx = np.array([[3, 99], [len(ds) - 1, 12345]])
    f = ds.index_to_factors(idx)
    assert f.shape == (2, 2, 7) and f.dtype == np.int64
    np.testing.assert_array_equal(ds.factors_to_index(f), idx)


def test_index_errors(ds):
    with pytest.raises(IndexError, match=r"idx must lie in \[0, 1036799\]; got 1036800"):
        ds.index_to_factors(len(ds))
    with pytest.raises(ValueError, match=r"classes must have shape \(\.\.\., 7\) .*; got shape \(2, 6\)"):
        ds.factors_to_index(np.zeros((2, 6), int))
    with pytest.raises(ValueError, match=r"classes of factor 'object_size' must lie in \[0, 1\]; got 2"):
        ds.factors_to_index([0, 0, 2, 0, 0, 0, 0])
    with pytest.raises(TypeError, match=r"classes must hold integer factor classes; got dtype float64"):
        ds.factors_to_index(np.full(7, 0.5))
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 1036799\]; got -1"):
        ds.images_at([-1])
    with pytest.raises(TypeError, match=r"dtype must be numpy.uint8 or a numpy float dtype such as numpy.float32; got int32"):
        ds.images_at([0], dtype=np.int32)
    for bad in (None, "bogus"):  # None used to give float64 silently, "bogus" numpy's own TypeError
        with pytest.raises(TypeError, match=rf"dtype must be numpy.uint8 .*; got {bad!r}"):
            ds.images_at([0], dtype=bad)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator or a non-negative integer seed"):
        ds.sample_factors(3, None)


def test_getitem_and_uint8_fast_path(ds):
    img, classes = ds[-1]
    assert img.dtype == np.float32 and img.shape == (3, 64, 64)
    assert classes.tolist() == [5, 5, 1, 2, 2, 39, 39]
    f = ds.sample_factors(5, np.random.default_rng(0))
    assert f.shape == (5, 7) and f.dtype == np.int64 and (f < np.array(ds.factor_sizes)).all()
    np.testing.assert_array_equal(f, ds.sample_factors(5, 0))  # int seed == default_rng(seed)
    u8 = ds.images_for_factors(f, dtype=np.uint8)
    fl = ds.images_for_factors(f)
    assert u8.dtype == np.uint8 and fl.dtype == np.float32 and u8.shape == fl.shape == (5, 3, 64, 64)
    np.testing.assert_allclose(fl * 255.0, u8, atol=1e-3)


def test_evaluation_sample_is_deterministic_and_hashed(ds):
    a = ds.evaluation_sample(500, seed=3)
    b = ds.evaluation_sample(500, seed=3)
    c = ds.evaluation_sample(500, seed=4)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.sample_hash == b.sample_hash != c.sample_hash
    assert len(np.unique(a.indices)) == 500 and np.all(np.diff(a.indices) > 0)
    np.testing.assert_array_equal(a.factors, ds.index_to_factors(a.indices))
    assert a.sample_hash == sample_hash(ds.name, ds.content_hash, 500, 3, a.indices)
    assert sample_hash("other", ds.content_hash, 500, 3, a.indices) != a.sample_hash
    assert sample_hash(ds.name, "0" * 64, 500, 3, a.indices) != a.sample_hash
    assert ds.evaluation_sample(499, seed=3).sample_hash != a.sample_hash
    # pinned value: a change here silently invalidates every leaderboard submission
    first = ds.evaluation_sample(5, seed=0)
    assert first.indices.tolist() == np.sort(np.random.default_rng(0).choice(len(ds), 5, replace=False)).tolist()
    with pytest.raises(ValueError, match=r"n must be an integer >= 1 and <= 1036800; got 0"):
        ds.evaluation_sample(0)


def test_torch_view_and_dataloader(ds):
    torch = pytest.importorskip("torch")
    view = ds.torch_dataset()
    assert len(view) == len(ds)
    x, y = view[7]
    assert x.dtype == torch.float32 and tuple(x.shape) == (3, 64, 64) and y.tolist() == ds.index_to_factors(7).tolist()
    loader = torch.utils.data.DataLoader(view, batch_size=4, sampler=list(range(10, 18)))
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (4, 3, 64, 64) and yb.tolist() == ds.index_to_factors(np.arange(10, 14)).tolist()
    np.testing.assert_allclose(xb.numpy(), ds.images_at(np.arange(10, 14)), rtol=1e-6)
    u8 = ds.torch_dataset(dtype=np.uint8)[7][0]
    assert u8.dtype == torch.uint8


def test_registry_names_and_errors(tmp_path):
    names = list(datasets.available())
    for required in ("dsprites", "shapes3d", "mpi3d-toy", "mpi3d-realistic", "mpi3d-real", "mpi3d-complex",
                     "dsprites-procedural", "shapes3d-procedural", "mpi3d-procedural", "clothing1m", "animal10n",
                     "shapes3d-hue-noisy"):
        assert required in names and datasets.available()[required]
    with pytest.raises(ValueError, match=r"unknown dataset 'dsprite'; valid names: dsprites, shapes3d, .* \(a factor "
                                         r"dataset's name with -<size>px, e.g. shapes3d-procedural-32px, is a block"):
        load("dsprite")
    assert isinstance(load("mpi3d-procedural"), ProceduralMPI3D)
    assert isinstance(load("dsprites-procedural"), datasets.FactorDataset)
    assert isinstance(load("shapes3d-hue-noisy", n_train=20, n_test=5), datasets.LabelledDataset)


def test_datasets_import_does_not_import_torch_or_compile():
    import subprocess
    import sys

    code = ("import sys, datasets; datasets.available(); "
            "print('torch' in sys.modules, 'h5py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


class _Grid(datasets.FactorDataset):
    """A bare FactorDataset over arbitrary factor sizes (images are the index, for checking order)."""

    image_shape = (1, 1, 1)

    def __init__(self, sizes):
        self.factor_sizes = tuple(sizes)
        self.factor_names = tuple(f"f{k}" for k in range(len(sizes)))

    def _read_uint8(self, indices):
        return (indices % 256).astype(np.uint8).reshape(-1, 1, 1, 1)

    content_hash = "0" * 64


def test_index_round_trip_property():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(0, 2**31 - 1))
    def check(sizes, seed):
        grid = _Grid(sizes)
        rng = np.random.default_rng(seed)
        f = grid.sample_factors(20, rng)
        idx = grid.factors_to_index(f)
        np.testing.assert_array_equal(grid.index_to_factors(idx), f)
        # row-major: the index is the mixed-radix number of the classes, last factor fastest
        expected = np.zeros(20, dtype=np.int64)
        for k, s in enumerate(sizes):
            expected = expected * s + f[:, k]
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_array_equal(grid.images_for_factors(f, np.uint8)[:, 0, 0, 0], expected % 256)

    check()
