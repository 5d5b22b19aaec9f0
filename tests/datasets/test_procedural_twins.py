"""Procedural twins: grid, determinism, one-factor changes, geometry of the dSprites twin."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import load
from datasets.dsprites import DSprites
from datasets.mpi3d import MPI3DToy
from datasets.procedural import ProceduralDSprites, ProceduralMPI3D, ProceduralShapes3D
from datasets.shapes3d import Shapes3D

TWINS = [(ProceduralDSprites, DSprites), (ProceduralShapes3D, Shapes3D), (ProceduralMPI3D, MPI3DToy)]


@pytest.mark.parametrize("twin,real", TWINS)
def test_same_factor_grid_as_the_real_dataset(twin, real):
    assert twin.factor_names == real.factor_names
    assert twin.factor_sizes == real.factor_sizes
    assert twin.image_shape == real.image_shape
    assert len(twin()) == int(np.prod(real.factor_sizes))


@pytest.mark.parametrize("twin", [t for t, _ in TWINS])
def test_deterministic_and_hash_stable(twin):
    a, b = twin(), twin(batch_size=7)
    idx = np.random.default_rng(0).integers(0, len(a), 40)
    x = a.images_at(idx, dtype=np.uint8)
    np.testing.assert_array_equal(x, b.images_at(idx, dtype=np.uint8))  # batching does not matter
    np.testing.assert_array_equal(x[5], a.images_at([idx[5]], dtype=np.uint8)[0])
    assert x.dtype == np.uint8 and x.shape == (40,) + twin.image_shape
    f = a.images_at(idx[:3])
    assert f.dtype == np.float32 and f.min() >= 0.0 and f.max() <= 1.0
    np.testing.assert_allclose(f, x[:3] / 255.0, rtol=1e-6)
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64
    assert load(twin.name).content_hash == a.content_hash


def test_content_hashes_differ_between_twins():
    hashes = {t().content_hash for t, _ in TWINS}
    assert len(hashes) == 3


@pytest.mark.parametrize("twin", [t for t, _ in TWINS])
def test_each_factor_changes_the_image(twin):
    """Changing one factor to its neighbouring class changes the image; the other classes stay equal."""
    ds = twin()
    rng = np.random.default_rng(1)
    base = ds.sample_factors(12, rng)
    for k, size in enumerate(ds.factor_sizes):
        moved = base.copy()
        moved[:, k] = np.where(base[:, k] + 1 < size, base[:, k] + 1, base[:, k] - 1)
        if twin is ProceduralDSprites and k == 2:  # orientation classes 0 and 39 are the same angle
            moved[:, k] = np.where(np.isin(base[:, k], (0, 39)), 20, moved[:, k])
        a = ds.images_for_factors(base, dtype=np.uint8)
        b = ds.images_for_factors(moved, dtype=np.uint8)
        changed = (a != b).reshape(len(base), -1).any(axis=1)
        assert changed.all(), f"factor {ds.factor_names[k]} did not change images {np.flatnonzero(~changed)}"
        back = ds.index_to_factors(ds.factors_to_index(moved))
        others = [j for j in range(ds.num_factors) if j != k]
        np.testing.assert_array_equal(back[:, others], base[:, others])


def test_dsprites_twin_orientation_0_and_39_are_identical():
    ds = ProceduralDSprites()
    f = np.array([[s, 5, 0, 10, 20] for s in range(3)])
    g = f.copy()
    g[:, 2] = 39
    np.testing.assert_array_equal(ds.images_for_factors(f, np.uint8), ds.images_for_factors(g, np.uint8))


def test_dsprites_twin_grid_coverage_is_complete():
    """Every index renders a non-empty sprite, and every factor grid point is reachable (index round trip)."""
    ds = ProceduralDSprites()
    all_idx = np.arange(len(ds))
    classes = ds.index_to_factors(all_idx)
    for k, size in enumerate(ds.factor_sizes):
        assert np.array_equal(np.unique(classes[:, k]), np.arange(size))
    np.testing.assert_array_equal(ds.factors_to_index(classes), all_idx)
    sample = np.random.default_rng(2).choice(len(ds), 20_000, replace=False)
    imgs = ds.images_at(sample, dtype=np.uint8)
    area = (imgs > 0).reshape(len(sample), -1).sum(axis=1)
    assert area.min() >= 10  # no empty or clipped-away sprite
    assert set(np.unique(imgs)) == {0, 255}  # binary, as the original


def test_dsprites_twin_sprites_centred_on_position_grid_and_scaled():
    ds = ProceduralDSprites()
    centres = ds._centres()
    for shape in (0, 1):  # point-symmetric shapes: the centroid is the centre
        for px, py in [(0, 0), (31, 5), (13, 31), (20, 20)]:
            img = ds.images_for_factors(np.array([[shape, 3, 7, px, py]]), np.uint8)[0, 0] > 0
            rows, cols = np.nonzero(img)
            assert abs(cols.mean() + 0.5 - centres[px]) < 0.35 and abs(rows.mean() + 0.5 - centres[py]) < 0.35
    areas = [(ds.images_for_factors(np.array([[0, s, 0, 16, 16]]), np.uint8) > 0).sum() for s in range(6)]
    assert all(np.diff(areas) > 0)
    # square area ~ (1.5 * 9 * scale)^2
    assert abs(areas[-1] - (1.5 * 9.0) ** 2) < 0.1 * (1.5 * 9.0) ** 2


def test_dsprites_twin_ellipse_axis_follows_orientation():
    ds = ProceduralDSprites()
    for o in (0, 5, 9, 13, 30):
        img = ds.images_for_factors(np.array([[1, 5, o, 16, 16]]), np.uint8)[0, 0] > 0
        rows, cols = np.nonzero(img)
        cov = np.cov(np.stack([cols, rows]))
        w, v = np.linalg.eigh(cov)
        major = v[:, 1]
        angle = np.arctan2(major[1], major[0]) % np.pi
        expected = ds.orientations[o] % np.pi  # from +x towards +y (y points down: clockwise on screen)
        diff = min(abs(angle - expected), np.pi - abs(angle - expected))
        assert diff < 0.12, (o, angle, expected)


def test_shapes3d_twin_hues_are_distinct():
    ds = ProceduralShapes3D()
    f = np.array([[h, (h + 5) % 10, h, 7, 2, 7] for h in range(10)])
    imgs = ds.images_for_factors(f).astype(np.float64)
    floor = imgs[:, :, 62, 2]          # a floor pixel away from the object
    obj = imgs[:, :, 44, 32]           # inside the sphere (scale class 7)
    for patch in (floor, obj):
        d = np.linalg.norm(patch[:, None] - patch[None], axis=-1) + np.eye(10)
        assert d.min() > 0.1


@pytest.mark.parametrize("twin", [t for t, _ in TWINS])
def test_numba_kernel_matches_its_python_interpretation(twin):
    """The compiled kernel and the same source run as plain Python (``py_func``) give the same pixels."""
    ds = twin()
    classes = ds.sample_factors(4 if twin is not ProceduralDSprites else 16, np.random.default_rng(7))
    compiled = ds.render(classes)
    kernel = {ProceduralDSprites: "dsprites_kernel", ProceduralShapes3D: "shapes3d_kernel",
              ProceduralMPI3D: "mpi3d_kernel"}[twin]
    from datasets import _render

    original = getattr(_render, kernel)
    try:
        setattr(_render, kernel, original.py_func)
        interpreted = ds.render(classes)
    finally:
        setattr(_render, kernel, original)
    diff = np.abs(compiled.astype(int) - interpreted.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # at most rounding of the last uint8 step


def test_render_and_batch_size_refuse_what_would_come_back_wrong():
    # the kernels index their colour and angle tables unchecked; a batch size <= 0 skipped the
    # render loop and returned black images under the same content hash
    s = load("shapes3d-procedural")
    with pytest.raises(ValueError, match=r"classes of factor 'floor_hue' must lie in \[0, 9\]; got 12"):
        s.render(np.array([[12, 0, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"classes must have shape \(\.\.\., 6\)"):
        s.render(np.array([[0, 0, 0]]))
    with pytest.raises(TypeError, match="classes must hold integer factor classes; got dtype float64"):
        s.render(np.array([[0.7, 0, 0, 0, 0, 0]]))
    for bad, error in ((0, ValueError), (-1, ValueError), ("8", TypeError), (None, TypeError)):
        with pytest.raises(error, match="batch_size must be an integer"):
            load("dsprites-procedural", batch_size=bad)


def test_traversal_grid_sweeps_one_factor_per_row_and_refuses_no_columns():
    from datasets.grid import traversal_grid

    ds = ProceduralShapes3D()
    picture = traversal_grid(ds, cols=4, seed=1)
    assert picture.shape == (len(ds.factor_sizes) * 66 + 2, 4 * 66 + 2, 3)
    # row k, column c is the image of the base classes with factor k set to c's evenly spaced class
    base = ds.sample_factors(1, np.random.default_rng(1))[0]
    classes = base.copy()
    classes[0] = ds.factor_sizes[0] - 1
    last = ds.images_for_factors(classes[None], dtype=np.uint8)[0].transpose(1, 2, 0)
    assert np.array_equal(picture[2:66, 2 + 3 * 66:66 + 3 * 66], last)
    with pytest.raises(ValueError, match=r"cols must be an integer >= 1; got 0"):
        traversal_grid(ds, cols=0)
