"""The lower-resolution view ``<name>-<size>px``."""

import numpy as np
import pytest

import datasets


def test_block_mean_view_keeps_the_factor_grid_and_says_what_it_is():
    base = datasets.load("shapes3d-procedural")
    ds = datasets.load("shapes3d-procedural-32px")
    assert ds.name == "shapes3d-procedural-32px" and ds.image_shape == (3, 32, 32)
    assert ds.factor_sizes == base.factor_sizes and len(ds) == len(base)
    assert ds.content_hash != base.content_hash
    classes = base.sample_factors(5, np.random.default_rng(0))
    big = base.images_for_factors(classes, dtype=np.uint8).astype(np.float64)
    small = ds.images_for_factors(classes, dtype=np.uint8)
    expected = np.floor(big.reshape(5, 3, 32, 2, 32, 2).mean(axis=(3, 5)) + 0.5)
    np.testing.assert_array_equal(small, expected)
    np.testing.assert_allclose(ds.images_for_factors(classes), small / 255.0, rtol=1e-6)
    idx = base.factors_to_index(classes)
    np.testing.assert_array_equal(ds.images_at(idx, dtype=np.uint8), small)
    a, b = ds.evaluation_sample(50, seed=1), base.evaluation_sample(50, seed=1)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.sample_hash != b.sample_hash


def test_bad_sizes_and_label_datasets_are_refused():
    with pytest.raises(ValueError, match="image_size must be a positive divisor of the base size 64x64; got 48"):
        datasets.load("dsprites-procedural-48px")
    with pytest.raises(ValueError, match="only ground-truth-factor datasets have lower-resolution views"):
        datasets.load("shapes3d-hue-noisy-32px")
    with pytest.raises(ValueError, match="unknown dataset 'nothing-32px'"):
        datasets.load("nothing-32px")


@pytest.mark.parametrize("size", [32, 16, 8, 4, 2, 1])
def test_block_mean_is_exact_for_every_block_size(size):
    # rounded half up, no overflow: blocks of up to 64 x 64 pixels of 255 (uint32 accumulation past 16 x 16)
    from datasets.downsampled import Downsampled

    view = Downsampled(datasets.load("dsprites-procedural"), size)
    rng = np.random.default_rng(size)
    images = rng.integers(0, 256, size=(3, 2, 64, 64), dtype=np.uint8)
    images[0] = 255
    images[1, :, :, ::2] = 1  # block sums ending in exactly half: 1s and 0s alternate
    images[1, :, :, 1::2] = 0
    f = 64 // size
    expected = np.floor(images.astype(np.float64).reshape(3, 2, size, f, size, f).mean(axis=(3, 5)) + 0.5)
    pooled = view._pool(images)
    assert pooled.dtype == np.uint8
    np.testing.assert_array_equal(pooled, expected)
    assert pooled[0].min() == 255


def test_batched_factor_classes_keep_their_leading_axes():
    base, view = datasets.load("dsprites-procedural"), datasets.load("dsprites-procedural-32px")
    classes = base.sample_factors(6, np.random.default_rng(2)).reshape(2, 3, -1)
    small = view.images_for_factors(classes, dtype=np.uint8)
    assert small.shape == (2, 3, 1, 32, 32)
    np.testing.assert_array_equal(small.reshape(6, 1, 32, 32), view.images_for_factors(classes.reshape(6, -1), dtype=np.uint8))


def test_the_name_rules_of_views_and_families_are_one_pair():
    import datasets

    assert datasets.split_resolution("shapes3d-procedural-32px") == ("shapes3d-procedural", 32)
    assert datasets.split_resolution("dsprites") == ("dsprites", None)
    assert datasets.split_resolution("notadataset-32px") == ("notadataset-32px", None)  # only known bases
    for base, size in (("dsprites-procedural", 16), ("mpi3d-complex", 32)):
        assert datasets.split_resolution(datasets.view_name(base, size)) == (base, size)
    assert datasets.load("dsprites-procedural-32px").name == datasets.view_name("dsprites-procedural", 32)
    assert [datasets.family(n) for n in ("shapes3d-procedural-32px", "mpi3d-toy", "mpi3d-procedural", "dsprites")] \
        == ["shapes3d", "mpi3d", "mpi3d", "dsprites"]
