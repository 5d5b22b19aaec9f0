"""Decoding image files with Pillow into uint8 (C, H, W) arrays, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets._errors import DatasetIntegrityError, DatasetNotFoundError

__all__ = ["decode_image", "decode_batch", "check_image_size"]


def check_image_size(image_size) -> tuple[int, int] | None:
    """``image_size`` as an (H, W) pair of positive ints: an int n means (n, n); None stays None."""
    def positive(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 1

    if image_size is None:
        return None
    if positive(image_size):
        return (int(image_size), int(image_size))
    if isinstance(image_size, (tuple, list)) and len(image_size) == 2 and all(positive(v) for v in image_size):
        return (int(image_size[0]), int(image_size[1]))
    raise ValueError(f"image_size must be a positive int or an (H, W) pair of positive ints; got {image_size!r}.")


def decode_image(path: Path, dataset: str, size: tuple[int, int] | None = None, *, draft: bool = False) -> np.ndarray:
    """RGB uint8 (3, H, W) of the image at ``path``, resized (bilinear) to ``size`` = (H, W) if given.

    ``draft=True`` lets a JPEG decode at a reduced DCT scale (1/2, 1/4 or 1/8: Pillow's ``Image.draft``, the
    smallest scale still at least ``size``) before the resize: several times faster on large photos, with pixels
    that differ slightly from a full decode. Other formats decode in full either way."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if draft and size is not None and im.format == "JPEG":
                im.draft("RGB", (size[1], size[0]))
            im = im.convert("RGB")
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{dataset}: image file {path} not found; the dataset folder is incomplete.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DatasetIntegrityError(f"{dataset}: cannot decode image {path} ({exc}); the file is broken or truncated. "
                                    f"Replace it from the original archive.") from None
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def decode_batch(paths: list[Path], dataset: str, size: tuple[int, int] | None = None,
                 expected_shape: tuple[int, int, int] | None = None, *, draft: bool = False) -> np.ndarray:
    """uint8 (B, 3, H, W); all images must share a size unless ``size`` resizes them (``draft``: see
    :func:`decode_image`).

    With ``expected_shape`` (C, H, W), an image of another shape raises DatasetIntegrityError naming it."""
    imgs = [decode_image(p, dataset, size, draft=draft) for p in paths]
    if expected_shape is not None:
        for p, im in zip(paths, imgs):
            if im.shape != tuple(expected_shape):
                raise DatasetIntegrityError(
                    f"{dataset}: image {p} has shape {im.shape} (C, H, W), expected {tuple(expected_shape)}; it is not "
                    f"from the published archive. Replace it, or pass image_size=(H, W) to resize every image.")
    if not imgs:
        return np.empty((0, 3) + (tuple(size) if size else (0, 0)), dtype=np.uint8)
    shapes = {im.shape for im in imgs}
    if len(shapes) > 1:
        raise ValueError(f"{dataset}: the requested images have different sizes {sorted(shapes)}; pass image_size=(H, W) "
                         f"to resize them, or read them one at a time.")
    return np.stack(imgs)
