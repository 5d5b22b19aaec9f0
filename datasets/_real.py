"""Shared constructor logic of the adapters that read a published data file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from datasets._base import FactorDataset
from datasets._errors import DatasetIntegrityError
from datasets._resources import Resource, ensure_file, publish, resolve_root, update_marker

__all__ = ["FileFactorDataset", "NpyCache"]


class NpyCache:
    """Uint8 ``.npy`` caches derived from a published file (``self.path``), written atomically and memory-mapped,
    and pickling without them; for adapters with ``name``, ``path`` and ``progress``, which reopen their memory maps
    and handles (the ``_transient`` attributes) in ``_reopen``."""

    name: str
    path: Path
    progress: bool
    _transient: tuple[str, ...] = ()  # open handles / memory maps: dropped when pickled, reopened after

    def __getstate__(self):
        # DataLoader workers started with "spawn" pickle the dataset: never ship a memory map's
        # contents (np.memmap pickles as a full copy) or an open HDF5 handle.
        state = dict(self.__dict__)
        for key in self._transient:
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reopen()

    def _reopen(self) -> None:
        raise NotImplementedError

    def _check_free_space(self, folder: Path, nbytes: int, what: str) -> None:
        """Refuse a one-time conversion that cannot fit, before writing anything."""
        free = shutil.disk_usage(folder).free
        if free < nbytes * 1.02:
            raise OSError(f"{self.name}: {what} needs {nbytes / 2**30:.1f} GiB free in {folder}, only "
                          f"{free / 2**30:.1f} GiB are free. Free some space or move the data to a larger --root.")

    def _write_npy_cache(self, cache: Path, shape: tuple[int, ...], blocks, *, what: str, desc: str) -> None:
        """Write the uint8 array ``shape`` whose consecutive rows ``blocks`` yields to the ``.npy`` file ``cache``.

        Written to a temporary file next to it and renamed only when complete, so an interruption (or an error
        raised by ``blocks``) never leaves a partial cache behind. ``what`` names the file in the free-space
        error, ``desc`` labels the progress bar.
        """
        self._check_free_space(cache.parent, int(np.prod(shape, dtype=np.int64)), what)
        fd, tmp = tempfile.mkstemp(prefix=f".{cache.stem}.", suffix=".npy", dir=cache.parent)
        os.close(fd)
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            done = 0
            with tqdm(total=shape[0], desc=f"{self.name}: {desc}", unit="img", disable=not self.progress,
                      leave=False) as bar:
                for block in blocks:
                    out[done:done + len(block)] = block
                    done += len(block)
                    bar.update(len(block))
            out.flush()
            del out
            publish(tmp, cache)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _open_npy_cache(self, cache: Path, shape: tuple[int, ...], build, *, what: str) -> np.ndarray:
        """Memory-map the uint8 cache ``cache`` of ``shape``, building it with ``build()`` if it is missing.

        A cache is derived data: one that cannot be read or has another shape or dtype (a truncated copy,
        an interrupted sync of the data folder) is deleted and built again once; if that is not possible
        a :class:`DatasetIntegrityError` names it.
        """
        def load() -> tuple[np.ndarray | None, str]:
            try:
                arr = np.load(cache, mmap_mode="r")
            except (OSError, ValueError, EOFError) as exc:
                return None, f"it cannot be read: {exc}"
            if arr.shape == shape and arr.dtype == np.uint8:
                return arr, ""
            return None, f"it holds {arr.dtype} {arr.shape}, expected uint8 {shape}"

        if not cache.exists():
            build()
        arr, problem = load()
        if arr is None and cache.is_file():  # damaged: rebuild it once
            try:
                cache.unlink()
            except OSError:
                pass
            else:
                build()
                arr, problem = load()
        if arr is not None:
            return arr
        raise DatasetIntegrityError(
            f"{self.name}: {what} {cache} is not usable ({problem}). It is derived from {self.path}: delete it "
            f"and load the dataset again to rebuild it."
        )


class FileFactorDataset(NpyCache, FactorDataset):
    """A :class:`FactorDataset` backed by one published file ``<root>/<folder_name>/<resource.filename>``.

    Construction: download if asked and missing; check existence and size; verify the checksums
    the first time (or when ``verify=True``) and then run the adapter's one-time format check
    (``_deep_check``, e.g. that the labels stored in the file agree with the index order); record
    both in the marker file; finally open the file (``_open``), which checks the cheap header facts
    (keys, shapes, dtypes, image count) on every load. Nothing half-built is returned.
    """

    resource: Resource
    folder_name: str = ""

    def _reopen(self) -> None:
        self._open(self.path)

    def __init__(self, root: str | os.PathLike | None = None, *, download: bool = False, verify: bool = False,
                 base_url: str | None = None, progress: bool = True):
        self.root = resolve_root(root)
        self.folder = self.root / self.folder_name
        self.progress = progress
        self.path, marker = ensure_file(self.resource, self.folder, dataset=self.name, download=download,
                                        verify=verify, base_url=base_url, progress=progress)
        self._sha256 = marker["sha256"]
        self._open(self.path)
        check_key = f"format_check_{self.name}_v{self.adapter_version}"
        if not marker.get(check_key):
            self._deep_check(self.path)
            update_marker(self.path, {check_key: True})

    @property
    def content_hash(self) -> str:
        return self._sha256

    # ---- to implement -------------------------------------------------------------------------
    def _open(self, path: Path) -> None:
        raise NotImplementedError

    def _deep_check(self, path: Path) -> None:
        """One-time content check after a successful checksum (may read the label arrays)."""

    # ---- helpers ------------------------------------------------------------------------------
    def _expect(self, what: str, found: Any, expected: Any) -> None:
        if found != expected:
            raise DatasetIntegrityError(
                f"{self.name}: {what} in {self.path} is {found}, expected {expected}; this is not the "
                f"published {self.resource.filename}. Fix: delete it and run "
                f"`python -m benchmark data download {self.name} --root {self.root}`."
            )
