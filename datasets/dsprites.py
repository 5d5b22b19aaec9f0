"""dSprites (Matthey, Higgins, Hassabis & Lerchner, 2017; https://github.com/deepmind/dsprites-dataset).

The published file ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` holds

* ``imgs``: (737280, 64, 64) uint8 with values {0, 1};
* ``latents_classes``, ``latents_values``: (737280, 6) for color, shape, scale, orientation, posX, posY;
* ``metadata``: a Python-2 pickle, read with ``np.load(..., allow_pickle=True, encoding="latin1")``.

Images are in row-major factor order (posY fastest). Colour has one value, so the benchmark
factors are shape 3, scale 6, orientation 40, posX 32, posY 32 and the dataset index equals the
file's row. Orientation values are ``linspace(0, 2 pi, 40)``: classes 0 and 39 are both the
unrotated sprite, so their images are identical (a known property of the release, kept as is).

Images are decompressed once into a bit-packed, memory-mapped cache
(``dsprites_imgs_packbits_<sha256 prefix>.npy``, 377 MB instead of 3 GB) and unpacked per batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets._errors import DatasetIntegrityError
from datasets._npz import iter_member_rows, member_header
from datasets._real import FileFactorDataset
from datasets._resources import Resource

__all__ = ["DSprites"]

DSPRITES_URL = "https://github.com/deepmind/dsprites-dataset/raw/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


class DSprites(FileFactorDataset):
    """The published dSprites file (factors shape, scale, orientation, posX, posY)."""

    name = "dsprites"
    description = "dSprites (Matthey et al. 2017): 737,280 64x64 binary sprites; shape 3, scale 6, orientation 40, posX 32, posY 32"
    folder_name = "dsprites"
    resource = Resource(
        filename="dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        urls=(DSPRITES_URL,),
        md5="7da33b31b13a06f4b04a70402ce90c2e",  # only MD5 is published; the size is not pinned
    )
    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    file_latent_names = ("color", "shape", "scale", "orientation", "posX", "posY")
    image_shape = (1, 64, 64)
    adapter_version = "1"
    _transient = ("_packed",)

    def _open(self, path: Path) -> None:
        n = len(self)
        shape, dtype, _ = member_header(path, "imgs", self.name)
        self._expect("the shape of 'imgs'", shape, (n, 64, 64))
        self._expect("the dtype of 'imgs'", str(dtype), "uint8")
        for key in ("latents_classes", "latents_values"):
            self._expect(f"the shape of '{key}'", member_header(path, key, self.name)[0], (n, 6))
        member_header(path, "metadata", self.name)
        cache = self.folder / f"dsprites_imgs_packbits_{self.content_hash[:16]}.npy"
        self._packed = self._open_npy_cache(cache, (n, 64, 8), lambda: self._build_cache(path, cache, n),
                                            what="the bit-packed image cache")

    def _build_cache(self, path: Path, cache: Path, n: int) -> None:
        def packed_blocks():
            done = 0
            for block in iter_member_rows(path, "imgs", self.name, rows=8192):
                if block.max(initial=0) > 1:
                    raise DatasetIntegrityError(
                        f"dsprites: 'imgs' in {path} holds values above 1 (first block at row {done}); the published "
                        f"images are binary {{0, 1}}. This is not the published file.")
                done += len(block)
                yield np.packbits(block, axis=-1)

        self._write_npy_cache(cache, (n, 64, 8), packed_blocks(), what="the bit-packed image cache",
                              desc="unpacking images")

    def _deep_check(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=True, encoding="latin1") as data:
                metadata = data["metadata"][()]
                classes = data["latents_classes"]
        except Exception as exc:  # unpickling errors come in many types
            raise DatasetIntegrityError(f"dsprites: could not read 'metadata'/'latents_classes' from {path} ({exc}).") from None
        if not isinstance(metadata, dict) or "latents_sizes" not in metadata:
            raise DatasetIntegrityError(f"dsprites: 'metadata' in {path} is not the published dictionary "
                                        f"(no 'latents_sizes'); got {type(metadata).__name__}.")
        sizes = tuple(int(s) for s in np.asarray(metadata["latents_sizes"]).ravel())
        self._expect("metadata['latents_sizes']", sizes, (1,) + tuple(self.factor_sizes))
        names = metadata.get("latents_names")
        if names is not None:
            self._expect("metadata['latents_names']", tuple(str(x) for x in names), self.file_latent_names)
        expected = self.index_to_factors(np.arange(len(self)))
        if classes[:, 0].any() or not np.array_equal(classes[:, 1:], expected):
            bad = int(np.flatnonzero((classes[:, 1:] != expected).any(axis=1) | (classes[:, 0] != 0))[0])
            raise DatasetIntegrityError(
                f"dsprites: 'latents_classes' row {bad} of {path} is {classes[bad].tolist()}, expected "
                f"{[0] + expected[bad].tolist()} (row-major order, posY fastest); the file is not the published ordering.")

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(self._packed[indices], axis=-1)  # (B, 64, 64) in {0, 1}
        bits *= 255
        return bits[:, None, :, :]
