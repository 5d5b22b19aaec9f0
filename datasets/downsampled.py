"""A lower-resolution view of any factor dataset: ``datasets.load("shapes3d-procedural-32px")``.

Each image is the mean of ``f x f`` pixel blocks of the original (64 px -> 32 px for f = 2), rounded
to uint8, so the view is deterministic and has the same factor grid, indices and evaluation samples
as its base. Its name says which it is (``<base>-<size>px``) and its content hash covers the base's
hash and the size, so records of different resolutions are never mixed. CPU profiles use it to cut
the cost of a training step by about 4x.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from datasets._base import FactorDataset, _to_dtype
from datasets._registry import view_name

__all__ = ["Downsampled", "block_mean"]


class Downsampled(FactorDataset):
    """``base`` with images block-averaged to ``image_size`` pixels (a divisor of the base size)."""

    def __init__(self, base: FactorDataset, image_size: int) -> None:
        if not isinstance(base, FactorDataset):
            raise TypeError(f"base must be a FactorDataset; got {type(base).__name__}.")
        c, h, w = base.image_shape
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1 or h % image_size \
                or w % image_size:
            raise ValueError(f"image_size must be a positive divisor of the base size {h}x{w}; got {image_size!r}.")
        self.base = base
        self.block = h // image_size
        self.name = view_name(base.name, image_size)
        self.description = f"{base.name} block-averaged to {image_size}x{image_size}"
        self.factor_names = base.factor_names
        self.factor_sizes = base.factor_sizes
        self.image_shape = (c, image_size, image_size)
        self.adapter_version = f"{base.adapter_version}+downsampled1"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.base.content_hash}|block-mean|{self.image_shape}".encode()).hexdigest()

    def _pool(self, images_u8: np.ndarray) -> np.ndarray:
        return block_mean(images_u8, self.block)

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return self._pool(self.base.images_at(indices, dtype=np.uint8))

    def images_for_factors(self, classes: Any, dtype: Any = np.float32) -> np.ndarray:
        return _to_dtype(self._pool(self.base.images_for_factors(classes, dtype=np.uint8)), dtype)


def block_mean(images_u8: np.ndarray, f: int) -> np.ndarray:
    """The mean of every ``f x f`` pixel block of uint8 images (..., C, H, W), rounded half up, as uint8."""
    if f == 1:
        return images_u8
    lead, (c, h, w) = images_u8.shape[:-3], images_u8.shape[-3:]
    images_u8 = images_u8.reshape(-1, c, h, w)  # batched classes (B1, B2, K) give (B1, B2, C, H, W)
    b = images_u8.shape[0]
    # Sum of the f*f strided views: one vectorised add each (numpy's sum over axes (3, 5) of the
    # reshaped 6D view took 16x longer, more than rendering the batch). Exact integer arithmetic.
    acc = np.uint16 if f * f * 255 + (f * f) // 2 <= np.iinfo(np.uint16).max else np.uint32
    total = np.zeros((b, c, h // f, w // f), dtype=acc)
    for di in range(f):
        for dj in range(f):
            total += images_u8[:, :, di::f, dj::f]
    total += (f * f) // 2
    total //= f * f
    return total.astype(np.uint8).reshape(lead + total.shape[1:])  # mean, rounded half up
