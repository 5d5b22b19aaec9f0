"""3D Shapes (Burgess & Kim, 2018; https://github.com/deepmind/3d-shapes).

The published ``3dshapes.h5`` (267,573,662 bytes) holds ``images`` (480000, 64, 64, 3) uint8 and
``labels`` (480000, 6) float64, in row-major factor order (orientation fastest): floor_hue 10,
wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15.

Factor classes are derived from the row index, never by float arithmetic on ``labels`` (the
published label values are not all evenly spaced). The one-time format check confirms that,
column by column, the rank of each label value (``np.unique(..., return_inverse=True)``) equals
the class derived from the index.

The file is read lazily with h5py: only the requested rows are read and decompressed, never the
whole 5.9 GB of images (and never as float32). ``in_memory=True`` loads the uint8 images once
(5.9 GB of RAM) for fast random access in long training runs.

Because reads are lazy, a chunk damaged after the file was verified (bit rot, a bad sync) is
only found when it is read: h5py then raises a bare ``OSError`` ("Can't read data (filter
returned failure during read)"), which every read here turns into a
:class:`DatasetIntegrityError` naming the file and the fix.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from datasets._errors import DatasetIntegrityError
from datasets._npz import unreadable
from datasets._real import FileFactorDataset
from datasets._resources import Resource

__all__ = ["Shapes3D"]


def _read_rows(ds, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, unique) of an HDF5 dataset, decompressing each chunk once.

    h5py's point selection decompresses a chunk for every row it touches (the default chunk cache
    is 1 MiB); reading each touched chunk once as a slice and picking rows from it is ~2.5x faster
    for random batches. A dense request is one contiguous read.
    """
    if rows.size == 0:
        return np.empty((0,) + ds.shape[1:], dtype=ds.dtype)
    if rows[-1] - rows[0] < 4 * rows.size:  # dense request: one contiguous read
        return ds[int(rows[0]):int(rows[-1]) + 1][rows - rows[0]]
    if ds.chunks is None:  # contiguous storage: point selection reads only those rows
        return ds[rows]
    c = ds.chunks[0]
    out = np.empty((rows.size,) + ds.shape[1:], dtype=ds.dtype)
    chunk_ids = rows // c
    starts = np.flatnonzero(np.r_[True, chunk_ids[1:] != chunk_ids[:-1]])
    ends = np.r_[starts[1:], rows.size]
    for s, e in zip(starts, ends):
        base = int(chunk_ids[s]) * c
        block = ds[base:min(base + c, ds.shape[0])]
        out[s:e] = block[rows[s:e] - base]
    return out


class Shapes3D(FileFactorDataset):
    """The published 3D Shapes HDF5 file."""

    name = "shapes3d"
    description = "3D Shapes (Burgess & Kim 2018): 480,000 64x64 RGB scenes; floor/wall/object hue 10, scale 8, shape 4, orientation 15"
    folder_name = "shapes3d"
    resource = Resource(
        filename="3dshapes.h5",
        urls=("https://storage.googleapis.com/3d-shapes/3dshapes.h5",),
        size_bytes=267_573_662,
        sha256="0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
        md5="099a2078d58cec4daad0702c55d06868",
    )
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    image_shape = (3, 64, 64)
    adapter_version = "1"
    _transient = ("_file", "_pid", "_memory")
    _file = None    # class-level defaults: what an unpickled copy starts from
    _pid = None
    _memory = None

    def __init__(self, root=None, *, download: bool = False, verify: bool = False, base_url: str | None = None,
                 progress: bool = True, in_memory: bool = False):
        self._in_memory = bool(in_memory)
        self._file = None
        self._pid = None
        self._memory = None
        super().__init__(root, download=download, verify=verify, base_url=base_url, progress=progress)

    def _h5(self):
        """The open HDF5 file; reopened after a fork (DataLoader workers must not share a handle)."""
        if self._file is None or self._pid != os.getpid():
            import h5py

            try:
                self._file = h5py.File(self.path, "r", rdcc_nbytes=64 * 2**20)  # 64 MiB chunk cache
            except OSError as exc:
                if not os.access(self.path, os.R_OK):  # h5py reports "permission denied" as a plain OSError
                    raise unreadable(self.path, "shapes3d") from None
                raise DatasetIntegrityError(
                    f"shapes3d: {self.path} is not a readable HDF5 file ({exc}); it is corrupted or truncated. "
                    f"Fix: delete it and run `python -m benchmark data download shapes3d --root {self.root}`."
                ) from None
            self._pid = os.getpid()
        return self._file

    @contextmanager
    def _reading(self, what: str):
        """Turn an h5py read failure (a chunk that no longer decompresses, a damaged index) into a
        :class:`DatasetIntegrityError`; h5py reports both as a plain ``OSError``."""
        try:
            yield
        except PermissionError:  # from _h5 reopening after a fork: unreadable, not corrupted
            raise
        except OSError as exc:
            raise DatasetIntegrityError(
                f"shapes3d: reading {what} from {self.path} failed ({exc}); the file is corrupted (it changed "
                f"after it was verified). Fix: run `python -m benchmark data verify shapes3d --root {self.root}`, "
                f"and if that fails delete it and run `python -m benchmark data download shapes3d --root {self.root}`."
            ) from None

    def _open(self, path: Path) -> None:
        f = self._h5()
        for key in ("images", "labels"):
            if key not in f:
                raise DatasetIntegrityError(f"shapes3d: {path} has no dataset '{key}' (found {sorted(f.keys())}); "
                                            f"it is not the published 3dshapes.h5.")
        n = len(self)
        self._expect("the shape of 'images'", tuple(f["images"].shape), (n, 64, 64, 3))
        self._expect("the dtype of 'images'", str(f["images"].dtype), "uint8")
        self._expect("the shape of 'labels'", tuple(f["labels"].shape), (n, 6))
        if self._in_memory:
            with self._reading("'images'"):
                self._memory = f["images"][...]

    def _deep_check(self, path: Path) -> None:
        with self._reading("'labels'"):
            labels = self._h5()["labels"][...]
        expected = self.index_to_factors(np.arange(len(self)))
        for k, name in enumerate(self.factor_names):
            # rounded: a class must not split over float round-off of the stored values
            values, ranks = np.unique(np.round(labels[:, k], 6), return_inverse=True)
            if len(values) != self.factor_sizes[k] or not np.array_equal(ranks.ravel(), expected[:, k]):
                raise DatasetIntegrityError(
                    f"shapes3d: the '{name}' labels (column {k}) in {path} do not follow the row-major factor order "
                    f"({len(values)} distinct values, expected {self.factor_sizes[k]}); this is not the published ordering.")

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        if self._memory is not None:
            imgs = self._memory[indices]
        else:
            uniq, inverse = np.unique(indices, return_inverse=True)
            with self._reading(f"'images' rows {uniq[0]}..{uniq[-1]}" if uniq.size else "'images'"):
                imgs = _read_rows(self._h5()["images"], uniq)[inverse.ravel()]
        return np.ascontiguousarray(imgs.transpose(0, 3, 1, 2))
