"""Image grids of a dataset (random samples, or one factor traversal per row), saved with Pillow."""

from __future__ import annotations

import os

import numpy as np

from datasets._base import FactorDataset, _as_rng, _check_int

__all__ = ["sample_grid", "traversal_grid", "save_png"]


def _tile(images: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
    """(rows*cols, C, H, W) uint8 -> one (H', W', 3) uint8 picture with grey gutters."""
    n, c, h, w = images.shape
    if c == 1:
        images = np.repeat(images, 3, axis=1)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 128, dtype=np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = \
            images[k].transpose(1, 2, 0)
    return out


def sample_grid(ds: FactorDataset, rows: int = 8, cols: int = 8, seed: int = 0) -> np.ndarray:
    """A rows x cols grid of uniformly drawn images (seeded); uint8 (H, W, 3)."""
    rows = _check_int(rows, "rows", min_value=1)
    cols = _check_int(cols, "cols", min_value=1)
    classes = ds.sample_factors(rows * cols, _as_rng(seed))
    return _tile(ds.images_for_factors(classes, dtype=np.uint8), rows, cols)


def traversal_grid(ds: FactorDataset, cols: int = 10, seed: int = 0) -> np.ndarray:
    """One row per factor: that factor swept over ``cols`` evenly spaced classes, the others fixed."""
    cols = _check_int(cols, "cols", min_value=1)
    base = ds.sample_factors(1, _as_rng(seed))[0]
    rows = []
    for k, size in enumerate(ds.factor_sizes):
        values = np.unique(np.round(np.linspace(0, size - 1, min(cols, size))).astype(np.int64))
        classes = np.tile(base, (cols, 1))
        classes[: len(values), k] = values
        imgs = ds.images_for_factors(classes, dtype=np.uint8)
        imgs[len(values):] = 0  # factors with fewer classes than columns: blank cells
        rows.append(imgs)
    return _tile(np.concatenate(rows), len(rows), cols)


def save_png(picture: np.ndarray, path: str | os.PathLike, scale: int = 2) -> None:
    from PIL import Image

    im = Image.fromarray(picture)
    if scale != 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    im.save(path)
