"""Base classes: ``FactorDataset`` (ground-truth factors) and ``LabelledDataset`` (class labels).

A :class:`FactorDataset` holds one image for every combination of its factor classes, stored in
row-major order (the last factor varies fastest), so that

.. math:: \\text{index} = \\sum_k c_k \\prod_{j>k} s_j

for factor classes :math:`c_k` and factor sizes :math:`s_k`. Subclasses declare ``name``,
``factor_names``, ``factor_sizes``, ``image_shape`` and ``adapter_version`` as class data and
implement one method, ``_read_uint8(indices) -> (B, C, H, W) uint8``; everything else (index
arithmetic, sampling, float conversion, the torch view, the evaluation sample) lives here.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FactorDataset", "LabelledDataset", "EvaluationSample", "EVALUATION_SAMPLE_VERSION"]

EVALUATION_SAMPLE_VERSION = 1  # bump when the sampling algorithm changes (changes every sample_hash)


def _check_int(value: Any, name: str, *, min_value: int | None = None, max_value: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        lo = "" if min_value is None else f">= {min_value}"
        hi = "" if max_value is None else f"<= {max_value}"
        raise ValueError(f"{name} must be an integer {' and '.join(x for x in (lo, hi) if x)}; got {value}.")
    return value


def _as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or a non-negative integer seed; got {rng!r}.")


def _as_index_array(indices: Any, n: int, name: str = "indices") -> np.ndarray:
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integers; got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)].flat[0]
        raise IndexError(f"{name} must lie in [0, {n - 1}]; got {int(bad)}.")
    return arr


def _to_dtype(images_u8: np.ndarray, dtype: Any) -> np.ndarray:
    requested = dtype
    try:
        dtype = None if dtype is None else np.dtype(dtype)  # np.dtype(None) would be float64
    except TypeError:
        dtype = None
    if dtype is None:
        raise TypeError(f"dtype must be numpy.uint8 or a numpy float dtype such as numpy.float32; got {requested!r}.")
    if dtype == np.uint8:
        return images_u8
    if dtype.kind != "f":
        raise TypeError(f"dtype must be numpy.uint8 or a numpy float dtype such as numpy.float32; got {dtype}.")
    out = images_u8.astype(dtype)
    out *= dtype.type(1.0 / 255.0)
    return out


@dataclass(frozen=True, eq=False)
class EvaluationSample:
    """A deterministic evaluation sample of a :class:`FactorDataset`.

    Attributes
    ----------
    dataset : str
        Dataset name.
    content_hash : str
        The dataset's content hash.
    n, seed : int
        Sample size and seed.
    indices : ndarray of int64, shape (n,)
        Dataset indices, sorted ascending, without repeats.
    factors : ndarray of int64, shape (n, K)
        Factor classes of those indices.
    sample_hash : str
        SHA-256 over (sampling version, dataset name, content hash, n, seed, indices); leaderboard
        submissions quote it to prove they were evaluated on the same images. Compare samples by
        this hash (the dataclass does not define ``==`` over its arrays).
    """

    dataset: str
    content_hash: str
    n: int
    seed: int
    indices: np.ndarray = field(repr=False)
    factors: np.ndarray = field(repr=False)
    sample_hash: str = ""


def sample_hash(dataset: str, content_hash: str, n: int, seed: int, indices: np.ndarray) -> str:
    """SHA-256 of the evaluation-sample identity (JSON header + little-endian int64 indices)."""
    header = json.dumps({"version": EVALUATION_SAMPLE_VERSION, "dataset": dataset, "content_hash": content_hash,
                         "n": int(n), "seed": int(seed)}, sort_keys=True).encode()
    h = hashlib.sha256(header)
    h.update(b"\0")
    h.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    return h.hexdigest()


class FactorDataset:
    """Images with ground-truth factors of variation, one image per factor combination.

    ``ds[i]`` returns ``(image, classes)``: a float32 array of shape ``image_shape`` (C, H, W) in
    [0, 1] and the int64 factor classes of shape (K,).
    """

    name: str = ""
    description: str = ""
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    image_shape: tuple[int, int, int] = (1, 64, 64)  # (C, H, W)
    adapter_version: str = "1"

    # ---- to implement -------------------------------------------------------------------------
    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        """Images at ``indices`` (int64, shape (B,)) as uint8 of shape (B, C, H, W), 0..255."""
        raise NotImplementedError

    @property
    def content_hash(self) -> str:
        """SHA-256 of the data file (real sets) or of renderer version + parameters (procedural)."""
        raise NotImplementedError

    # ---- index arithmetic ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes, dtype=np.int64))

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def index_to_factors(self, idx: Any) -> np.ndarray:
        """Factor classes of dataset indices: int or array of shape S -> int64 array of shape S + (K,)."""
        arr = _as_index_array(idx, len(self), "idx")
        classes = np.unravel_index(arr, self.factor_sizes)
        return np.stack(classes, axis=-1).astype(np.int64, copy=False)

    def factors_to_index(self, classes: Any) -> np.ndarray | int:
        """Dataset indices of factor classes: array of shape S + (K,) -> int64 array of shape S."""
        arr = np.asarray(classes)
        if arr.dtype.kind not in "iub" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise TypeError(f"classes must hold integer factor classes; got dtype {arr.dtype}.")
        arr = arr.astype(np.int64, copy=False)
        k = self.num_factors
        if arr.ndim == 0 or arr.shape[-1] != k:
            raise ValueError(f"classes must have shape (..., {k}) for the factors {self.factor_names}; got shape {arr.shape}.")
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        bad = (arr < 0) | (arr >= sizes)
        if bad.any():
            pos = np.argwhere(bad)[0]
            j = int(pos[-1])
            raise ValueError(f"classes of factor '{self.factor_names[j]}' must lie in [0, {sizes[j] - 1}]; "
                             f"got {int(arr[tuple(pos)])}.")
        out = np.ravel_multi_index(tuple(np.moveaxis(arr, -1, 0)), self.factor_sizes).astype(np.int64)
        return int(out) if out.ndim == 0 else out

    def sample_factors(self, n: int, rng: Any) -> np.ndarray:
        """``n`` factor-class vectors drawn uniformly and independently; int64 (n, K)."""
        n = _check_int(n, "n", min_value=0)
        rng = _as_rng(rng)
        return rng.integers(0, np.asarray(self.factor_sizes), size=(n, self.num_factors), dtype=np.int64)

    # ---- images -------------------------------------------------------------------------------
    def images_at(self, indices: Any, dtype: Any = np.float32) -> np.ndarray:
        """Images at dataset indices as (B, C, H, W): float in [0, 1] (default) or uint8 0..255."""
        arr = _as_index_array(indices, len(self))
        flat = arr.reshape(-1)
        imgs = self._read_uint8(flat)
        imgs = imgs.reshape(arr.shape + tuple(self.image_shape))
        return _to_dtype(imgs, dtype)

    def images_for_factors(self, classes: Any, dtype: Any = np.float32) -> np.ndarray:
        """Images for factor classes (B, K) -> (B, C, H, W); ``dtype=np.uint8`` is the trainers' fast path."""
        idx = np.atleast_1d(self.factors_to_index(classes))
        return self.images_at(idx, dtype=dtype)

    def __getitem__(self, i: Any) -> tuple[np.ndarray, np.ndarray]:
        i = _check_int(i, "index", min_value=-len(self), max_value=len(self) - 1) % len(self)
        img = self.images_at(np.array([i]))[0]
        return img, self.index_to_factors(i)

    def __iter__(self):  # explicit: avoids the legacy __getitem__ iteration protocol
        for i in range(len(self)):
            yield self[i]

    # ---- evaluation sample and torch view --------------------------------------------------------
    def evaluation_sample(self, n: int, seed: int = 0) -> EvaluationSample:
        """Deterministic evaluation sample: ``n`` distinct indices drawn with ``default_rng(seed)``.

        The same (dataset, content hash, n, seed) always gives the same indices and ``sample_hash``,
        on every machine (numpy's PCG64 generator and ``Generator.choice`` without replacement).
        """
        n = _check_int(n, "n", min_value=1, max_value=len(self))
        seed = _check_int(seed, "seed", min_value=0)
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(len(self), size=n, replace=False)).astype(np.int64)
        return EvaluationSample(self.name, self.content_hash, n, seed, indices, self.index_to_factors(indices),
                                sample_hash(self.name, self.content_hash, n, seed, indices))

    def torch_dataset(self, dtype: Any = np.float32):
        """A ``torch.utils.data.Dataset`` view: items are (image tensor (C, H, W), classes int64 (K,)).

        Supports batched fetching (``__getitems__``) so a ``DataLoader`` reads a whole batch at once.
        """
        from datasets._torch import FactorTorchDataset  # torch is imported only here

        return FactorTorchDataset(self, dtype)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={s}" for n, s in zip(self.factor_names, self.factor_sizes))
        return f"<{type(self).__name__} {self.name!r}: {len(self)} images {tuple(self.image_shape)}, factors {sizes}>"


class LabelledDataset:
    """Images with one class label each (the noisy-label datasets).

    Attributes
    ----------
    labels : ndarray of int64, shape (N,)
        The labels a learner sees (noisy labels for noisy splits).
    clean_labels : ndarray of int64, shape (N,) or None
        True labels where known, -1 where unknown; None when nothing is known.
    flipped : ndarray of bool, shape (N,) or None
        For synthetic noise: which samples had their label changed.
    transition : ndarray of float64, shape (C, C) or None
        For synthetic noise: ``transition[i, j] = P(noisy = j | clean = i)``.
    """

    name: str = ""
    description: str = ""
    classes: tuple[str, ...] = ()
    adapter_version: str = "1"
    split: str = ""
    labels: np.ndarray
    clean_labels: np.ndarray | None = None
    flipped: np.ndarray | None = None
    transition: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        """Images at ``indices`` as uint8 (B, C, H, W); all images of one call share a size."""
        raise NotImplementedError

    @property
    def content_hash(self) -> str:
        raise NotImplementedError

    def images_at(self, indices: Any, dtype: Any = np.float32) -> np.ndarray:
        arr = _as_index_array(indices, len(self)).reshape(-1)
        return _to_dtype(self._read_uint8(arr), dtype)

    def __getitem__(self, i: Any) -> tuple[np.ndarray, np.int64]:
        i = _check_int(i, "index", min_value=-len(self), max_value=len(self) - 1) % len(self)
        return self.images_at(np.array([i]))[0], np.int64(self.labels[i])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def torch_dataset(self, dtype: Any = np.float32, transform=None):
        """A ``torch.utils.data.Dataset`` view: items are (image tensor (C, H, W), label int64, index).

        The index lets noisy-label methods (ELR, Co-teaching) keep per-sample state.
        """
        from datasets._torch import LabelledTorchDataset

        return LabelledTorchDataset(self, dtype, transform)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} split={self.split!r}: {len(self)} images, {self.num_classes} classes>"
