"""Reading one array of an ``.npz`` file without loading it whole.

``np.load`` reads an ``.npz`` member completely into memory. The published dSprites (3 GB of
images when decompressed) and MPI3D (12.7 GB) files need better:

* :func:`member_header` parses the ``.npy`` header of a member (shape, dtype, order);
* :func:`memmap_member` memory-maps a member in place when it is stored uncompressed
  (``np.savez``), by locating its bytes inside the zip file;
* :func:`iter_member_rows` streams a (possibly compressed) member in blocks of rows, for a
  one-time conversion to a memory-mappable ``.npy`` cache.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
from numpy.lib import format as npformat

from datasets._errors import DatasetIntegrityError

__all__ = ["member_header", "memmap_member", "iter_member_rows", "open_zip", "unreadable"]


def unreadable(path: Path, dataset: str) -> PermissionError:
    """The error for a data file this user may not read (not a corrupted one: deleting it would not help)."""
    return PermissionError(
        f"{dataset}: {path} exists but this user may not read it (permission denied). Fix: ask its owner to "
        f"make it readable (chmod a+r), or pass a --root you can read."
    )


def open_zip(path: Path, dataset: str) -> zipfile.ZipFile:
    """Open an npz as a zip file; a corrupted or truncated file raises DatasetIntegrityError."""
    try:
        return zipfile.ZipFile(path)
    except PermissionError:
        raise unreadable(path, dataset) from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetIntegrityError(
            f"{dataset}: {path} is not a readable .npz (zip) file ({exc}); it is corrupted or truncated. "
            f"Fix: delete it and run `python -m benchmark data download {dataset}`."
        ) from None


def _info(zf: zipfile.ZipFile, path: Path, key: str, dataset: str) -> zipfile.ZipInfo:
    name = key + ".npy"
    try:
        return zf.getinfo(name)
    except KeyError:
        keys = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
        raise DatasetIntegrityError(
            f"{dataset}: {path} has no array '{key}' (found keys {keys}); it is not the published file."
        ) from None


def _read_header(fh, path: Path, key: str, dataset: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetIntegrityError(f"{dataset}: the array '{key}' in {path} has a corrupted header ({exc}).") from None
    return tuple(int(s) for s in shape), np.dtype(dtype), bool(fortran)


def member_header(path: Path, key: str, dataset: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran_order) of the member ``key`` of the npz at ``path``."""
    with open_zip(path, dataset) as zf:
        info = _info(zf, path, key, dataset)
        with zf.open(info) as fh:
            return _read_header(fh, path, key, dataset)


def memmap_member(path: Path, key: str, dataset: str) -> np.memmap | None:
    """Memory-map an uncompressed (``ZIP_STORED``) member in place; None if it is compressed."""
    with open_zip(path, dataset) as zf:
        info = _info(zf, path, key, dataset)
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with zf.open(info) as fh:
            shape, dtype, fortran = _read_header(fh, path, key, dataset)
            header_len = fh.tell()
    if fortran or dtype.hasobject:
        return None
    with open(path, "rb") as raw:  # the local file header may carry its own extra field
        raw.seek(info.header_offset)
        local = raw.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise DatasetIntegrityError(f"{dataset}: {path} has a corrupted zip entry for '{key}'.")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
    offset = info.header_offset + 30 + name_len + extra_len + header_len
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + nbytes > path.stat().st_size:
        raise DatasetIntegrityError(
            f"{dataset}: {path} is truncated: the array '{key}' of shape {shape} needs {nbytes:,} bytes from offset "
            f"{offset:,} but the file has {path.stat().st_size:,}. Fix: delete it and download it again."
        )
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def iter_member_rows(path: Path, key: str, dataset: str, rows: int = 4096) -> Iterator[np.ndarray]:
    """Yield the member ``key`` in blocks of ``rows`` rows (C order), decompressing as it goes."""
    with open_zip(path, dataset) as zf:
        info = _info(zf, path, key, dataset)
        with zf.open(info) as fh:
            shape, dtype, fortran = _read_header(fh, path, key, dataset)
            if fortran:
                raise DatasetIntegrityError(f"{dataset}: the array '{key}' in {path} is stored in Fortran order; "
                                            f"the published file is C order.")
            row_shape = shape[1:]
            row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
            done = 0
            while done < shape[0]:
                take = min(rows, shape[0] - done)
                try:
                    buf = fh.read(take * row_bytes)
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:  # CRC error, truncated or bad stream
                    raise DatasetIntegrityError(f"{dataset}: reading '{key}' from {path} failed at row {done} ({exc}); "
                                                f"the file is corrupted. Fix: delete it and download it again.") from None
                if len(buf) != take * row_bytes:
                    raise DatasetIntegrityError(f"{dataset}: the array '{key}' in {path} ends after {done} of "
                                                f"{shape[0]} rows; the file is truncated.")
                yield np.frombuffer(buf, dtype=dtype).reshape((take,) + row_shape)
                done += take
