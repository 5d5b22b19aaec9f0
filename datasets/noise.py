"""Synthetic label noise, with the transition matrix and the per-sample "was flipped" mask kept.

Three noise models over C classes, each with an explicit seed (``rng``: an int or a
``numpy.random.Generator``). ``T[i, j] = P(noisy label = j | clean label = i)`` is the model's
transition matrix.

* **Symmetric**, two conventions (they differ, so the convention is part of every result):

  - ``convention="all"`` (ELR, Liu et al. 2020; DivideMix): exactly ``round(rate * N)`` samples,
    chosen by a random permutation, get a label drawn uniformly from **all** C classes, so some keep
    their label and the realised flip rate is ``rate * (C - 1) / C``.
    :math:`T = (1 - r) I + (r / C) \\mathbf{1}\\mathbf{1}^\\top`.
  - ``convention="other"`` (Co-teaching, Han et al. 2018; Nested Co-teaching, Chen et al. 2022):
    in every class exactly ``round(rate * n_c)`` samples get a label drawn uniformly from the
    **other** C - 1 classes: :math:`T_{ii} = 1 - r`, :math:`T_{ij} = r / (C - 1)`.

* **Asymmetric** with a class mapping (Patrini et al., CVPR 2017): in every mapped class ``c``
  exactly ``round(rate * n_c)`` samples get the label ``mapping[c]``; unmapped classes are untouched.
  ``CIFAR10_ASYMMETRIC`` (truck->automobile, bird->airplane, deer->horse, cat<->dog) and
  :func:`cifar100_asymmetric_mapping` (next class within consecutive blocks of five) are the
  published mappings.
* **Pair flip** (Han et al., NeurIPS 2018): the asymmetric model with ``c -> (c + 1) mod C`` for
  every class, :math:`T_{ii} = 1 - r`, :math:`T_{i, i+1} = r`.

``method="exact"`` (default) flips exact per-class counts as above; ``method="transition"`` draws
each sample's noisy label independently from row ``T[y]`` (the stochastic variant ELR uses for
asymmetric CIFAR-100), so the realised rate only approaches ``rate``.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from datasets._base import LabelledDataset, _as_rng

__all__ = [
    "LabelNoise",
    "symmetric_noise",
    "asymmetric_noise",
    "pair_flip_noise",
    "apply_transition",
    "add_label_noise",
    "NoisyLabelDataset",
    "CIFAR10_ASYMMETRIC",
    "cifar100_asymmetric_mapping",
]

# Patrini et al. (2017): truck->automobile, bird->airplane, deer->horse, cat->dog, dog->cat.
CIFAR10_ASYMMETRIC: dict[int, int] = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def cifar100_asymmetric_mapping() -> dict[int, int]:
    """CIFAR-100 asymmetric mapping: next class, cyclically, within consecutive index blocks of five.

    As in Patrini et al.'s ``build_for_cifar100`` and the ELR / Nested code: the blocks are index
    ranges 0-4, 5-9, ..., not the dataset's true coarse labels.
    """
    return {c: 5 * (c // 5) + (c % 5 + 1) % 5 for c in range(100)}


@dataclass(frozen=True)
class LabelNoise:
    """The result of a noise model applied to a label vector.

    Attributes
    ----------
    kind : str
        ``"symmetric"``, ``"asymmetric"`` or ``"pair"``.
    rate : float
        The requested noise rate r.
    convention : str
        ``"all"`` or ``"other"`` for symmetric noise, ``"mapping"`` otherwise.
    method : str
        ``"exact"`` or ``"transition"``.
    clean_labels, noisy_labels : ndarray of int64, shape (N,)
    flipped : ndarray of bool, shape (N,)
        ``noisy_labels != clean_labels``: the samples a network can only fit by memorising.
    transition : ndarray of float64, shape (C, C)
        The model's ``T[i, j] = P(noisy = j | clean = i)``; rows sum to 1.
    """

    kind: str
    rate: float
    convention: str
    method: str
    clean_labels: np.ndarray = field(repr=False)
    noisy_labels: np.ndarray = field(repr=False)
    flipped: np.ndarray = field(repr=False)
    transition: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return int(self.transition.shape[0])

    @property
    def flip_rate(self) -> float:
        """Realised fraction of samples whose label changed."""
        return float(self.flipped.mean()) if self.flipped.size else 0.0

    def empirical_transition(self) -> np.ndarray:
        """Row-normalised counts of (clean, noisy) pairs; rows of absent classes are zero."""
        c = self.num_classes
        counts = np.zeros((c, c), dtype=np.float64)
        np.add.at(counts, (self.clean_labels, self.noisy_labels), 1.0)
        totals = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)

    def identity(self) -> dict:
        """JSON-able description (kind, rate, convention, method, params), for records and hashes."""
        return {"kind": self.kind, "rate": self.rate, "convention": self.convention, "method": self.method,
                **self.params}


def _check_labels(labels: Any, num_classes: int | None) -> tuple[np.ndarray, int]:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1D with shape (n_samples,); got shape {arr.shape}.")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer class labels; got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if num_classes is None:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}.")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}; got {int(bad)}.")
    return arr, int(num_classes)


def _check_rate(rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not (0.0 <= float(rate) <= 1.0):
        raise ValueError(f"rate must be a number in [0, 1]; got {rate!r}.")
    return float(rate)


def _check_method(method: str) -> str:
    if method not in ("exact", "transition"):
        raise ValueError(f"method must be one of 'exact', 'transition'; got {method!r}.")
    return method


def apply_transition(labels: Any, transition: Any, rng: Any) -> np.ndarray:
    """Draw each noisy label independently from row ``transition[labels[i]]`` (inverse-CDF sampling)."""
    t = np.asarray(transition, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"transition must be a square (C, C) matrix; got shape {t.shape}.")
    if np.any(t < 0) or not np.allclose(t.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError("transition must have non-negative rows that sum to 1; "
                         f"got row sums {np.round(t.sum(axis=1), 6).tolist()}.")
    y, _ = _check_labels(labels, t.shape[0])
    rng = _as_rng(rng)
    cdf = np.cumsum(t, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(y.shape[0])
    return (u[:, None] >= cdf[y]).sum(axis=1).astype(np.int64)


def symmetric_noise(labels: Any, rate: float, *, num_classes: int | None = None, convention: str = "other",
                    method: str = "exact", rng: Any = 0) -> LabelNoise:
    """Symmetric label noise; see the module docstring for the two conventions.

    Parameters
    ----------
    labels : array of int, shape (N,)
    rate : float in [0, 1]
        r: the fraction of samples relabelled (``"all"``) or flipped per class (``"other"``).
    num_classes : int, default=max(labels) + 1
    convention : {'other', 'all'}, default='other'
    method : {'exact', 'transition'}, default='exact'
    rng : int or numpy.random.Generator, default=0

    Examples
    --------
    >>> noise = symmetric_noise([0, 0, 1, 1, 2, 2, 0, 1, 2, 0], 0.5, rng=0)
    >>> noise.transition[0].tolist()
    [0.5, 0.25, 0.25]
    """
    y, c = _check_labels(labels, num_classes)
    r = _check_rate(rate)
    method = _check_method(method)
    if convention not in ("other", "all"):
        raise ValueError(f"convention must be one of 'other', 'all'; got {convention!r}.")
    rng = _as_rng(rng)
    if convention == "all":
        t = np.full((c, c), r / c) + (1.0 - r) * np.eye(c)
    else:
        t = np.full((c, c), r / (c - 1)) + (1.0 - r - r / (c - 1)) * np.eye(c)
    if method == "transition":
        noisy = apply_transition(y, t, rng)
    elif convention == "all":
        noisy = y.copy()
        chosen = rng.permutation(y.shape[0])[: int(round(r * y.shape[0]))]
        noisy[chosen] = rng.integers(0, c, size=chosen.shape[0])
    else:
        noisy = y.copy()
        for k in range(c):
            members = np.flatnonzero(y == k)
            chosen = rng.permutation(members)[: int(round(r * members.shape[0]))]
            offset = rng.integers(1, c, size=chosen.shape[0])  # uniform over the other C - 1 classes
            noisy[chosen] = (k + offset) % c
    return LabelNoise("symmetric", r, convention, method, y, noisy, noisy != y, t, {"num_classes": c})


def asymmetric_noise(labels: Any, rate: float, mapping: Mapping[int, int], *, num_classes: int | None = None,
                     method: str = "exact", rng: Any = 0) -> LabelNoise:
    """Class-dependent noise: a fraction ``rate`` of each mapped class ``c`` gets label ``mapping[c]``.

    Parameters
    ----------
    labels : array of int, shape (N,)
    rate : float in [0, 1]
    mapping : dict {clean class: noisy class}
        e.g. :data:`CIFAR10_ASYMMETRIC`; classes not in it keep their labels.
    num_classes : int, default=max(labels, mapping) + 1
    method : {'exact', 'transition'}, default='exact'
    rng : int or numpy.random.Generator, default=0
    """
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError(f"mapping must be a non-empty dict {{clean class: noisy class}}; got {mapping!r}.")
    pairs = {}
    for a, b in mapping.items():
        if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) for v in (a, b)):
            raise TypeError(f"mapping entries must be integer classes {{clean class: noisy class}}; got {a!r} -> {b!r}.")
        pairs[int(a)] = int(b)
    if num_classes is None:
        y_arr = np.asarray(labels)
        top = max(max(pairs), max(pairs.values()), int(y_arr.max()) if y_arr.size else 0)
        num_classes = top + 1
    y, c = _check_labels(labels, num_classes)
    for a, b in pairs.items():
        if not (0 <= a < c and 0 <= b < c):
            raise ValueError(f"mapping entries must be classes in [0, {c - 1}]; got {a} -> {b}.")
    r = _check_rate(rate)
    method = _check_method(method)
    rng = _as_rng(rng)
    t = np.eye(c)
    for a, b in pairs.items():
        if a != b:
            t[a, a] = 1.0 - r
            t[a, b] = r
    if method == "transition":
        noisy = apply_transition(y, t, rng)
    else:
        noisy = y.copy()
        for a in sorted(pairs):
            b = pairs[a]
            if a == b:
                continue
            members = np.flatnonzero(y == a)
            chosen = rng.permutation(members)[: int(round(r * members.shape[0]))]
            noisy[chosen] = b
    return LabelNoise("asymmetric", r, "mapping", method, y, noisy, noisy != y, t,
                      {"num_classes": c, "mapping": {str(a): b for a, b in sorted(pairs.items())}})


def pair_flip_noise(labels: Any, rate: float, *, num_classes: int | None = None, method: str = "exact",
                    rng: Any = 0) -> LabelNoise:
    """Pair flip (Han et al., 2018): ``T[i, i] = 1 - rate``, ``T[i, (i + 1) mod C] = rate``."""
    y, c = _check_labels(labels, num_classes)
    noise = asymmetric_noise(y, rate, {k: (k + 1) % c for k in range(c)}, num_classes=c, method=method, rng=rng)
    return LabelNoise("pair", noise.rate, "mapping", noise.method, noise.clean_labels, noise.noisy_labels,
                      noise.flipped, noise.transition, {"num_classes": c})


_KINDS = {"symmetric": symmetric_noise, "asymmetric": asymmetric_noise, "pair": pair_flip_noise}


class NoisyLabelDataset(LabelledDataset):
    """A labelled dataset whose labels were corrupted by a :class:`LabelNoise` (images unchanged)."""

    def __init__(self, base: LabelledDataset, noise: LabelNoise):
        if noise.clean_labels.shape[0] != len(base):
            raise ValueError(f"noise covers {noise.clean_labels.shape[0]} labels but the dataset has {len(base)} samples.")
        self.base = base
        self.noise = noise
        self.name = f"{base.name}+{noise.kind}-noise"
        self.description = f"{base.description} with synthetic {noise.kind} label noise (rate {noise.rate})"
        self.classes = base.classes
        self.split = base.split
        self.adapter_version = base.adapter_version
        self.labels = noise.noisy_labels
        self.clean_labels = noise.clean_labels
        self.flipped = noise.flipped
        base_clean = getattr(base, "clean_labels", None)
        if base_clean is not None and not np.array_equal(base_clean, base.labels):
            # noise on top of noisy labels: the true labels stay the reference (-1: unknown, as in Clothing1M)
            self.clean_labels = np.asarray(base_clean)
            self.flipped = (self.clean_labels >= 0) & (self.labels != self.clean_labels)
        self.transition = noise.transition
        self.image_shape = getattr(base, "image_shape", None)

    @property
    def content_hash(self) -> str:
        blob = json.dumps({"base": self.base.content_hash, "noise": self.noise.identity(),
                           "labels": hashlib.sha256(self.labels.astype("<i8").tobytes()).hexdigest()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return self.base._read_uint8(indices)


def add_label_noise(dataset: LabelledDataset, kind: str, rate: float, *, rng: Any = 0, **options) -> NoisyLabelDataset:
    """Corrupt the labels of ``dataset`` with the noise model ``kind`` ('symmetric', 'asymmetric', 'pair').

    ``options`` go to the noise function (``convention``, ``mapping``, ``method``). The returned
    dataset keeps ``clean_labels``, ``flipped`` and ``transition``. When ``dataset`` is already noisy
    (its ``clean_labels`` differ from its ``labels``), ``clean_labels`` stay its true labels and
    ``flipped`` compares against them; ``transition`` and ``.noise`` describe the added noise only.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of 'symmetric', 'asymmetric', 'pair'; got {kind!r}.")
    fn = _KINDS[kind]
    if kind == "asymmetric":
        if "mapping" not in options:
            raise ValueError("asymmetric noise needs mapping={clean class: noisy class}.")
        noise = fn(dataset.labels, rate, options.pop("mapping"), num_classes=dataset.num_classes, rng=rng, **options)
    else:
        noise = fn(dataset.labels, rate, num_classes=dataset.num_classes, rng=rng, **options)
    return NoisyLabelDataset(dataset, noise)
