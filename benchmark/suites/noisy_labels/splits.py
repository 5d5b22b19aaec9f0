"""A setting's data as the trainers use it: the noisy training set, the selection set and the clean test set.

:func:`load_splits` reads the setting's dataset (``datasets.load``), adds its synthetic noise (seeded with 0, the
same for every training seed, as both reference repositories fix it), carves out the selection set, and returns
:class:`Splits`: images as uint8 tensors in memory (the twin, CIFAR and ANIMAL-10N fit), labels as int64, and
what is known of the noise (clean labels and the flip mask) for the memorisation and detection records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import torch

import datasets
from benchmark.suites.noisy_labels.recipes import Setting

__all__ = ["Splits", "load_splits", "setting_hash", "SELECTIONS", "holdout_indices", "NOISE_SEED", "read_images",
           "n_images", "balanced_subset"]

NOISE_SEED = 0  # the synthetic noise of a setting is the same for every training seed
# what selects the model, per setting.val: stored in every record's params
SELECTIONS = {"clean": "clean_val", "holdout": "clean_holdout", "noisy_holdout": "noisy_holdout", "test": "test_set"}


@dataclass
class Splits:
    """One setting's data: images as uint8 tensors (N, C, H, W) in memory, or (streamed settings) the datasets
    themselves, decoded batch by batch (:func:`read_images`); labels as int64 tensors."""

    name: str
    num_classes: int
    train_images: torch.Tensor
    train_labels: torch.Tensor  # the labels the learner sees
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    selection: str  # 'clean_val', 'clean_holdout' or 'test_set'
    train_hash: str  # content hash of the noisy training set (the record's dataset_hash)
    clean_labels: torch.Tensor | None = None  # true training labels where known
    flipped: torch.Tensor | None = None  # which training labels the noise changed, where known
    identity: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def streamed(self) -> bool:
        return not isinstance(self.train_images, torch.Tensor)


def holdout_indices(n: int, fraction: float = 0.1) -> np.ndarray:
    """Evenly spaced indices of ``round(fraction * n)`` examples (Nested's CIFAR convention for a held-out set)."""
    m = max(1, int(round(fraction * n)))
    return np.unique(np.linspace(0, n - 1, m).round().astype(np.int64))


def read_images(source, index: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 images (B, C, H, W) at ``index`` of ``source``: a tensor held in memory, or a dataset decoded now."""
    if isinstance(source, torch.Tensor):
        return source[torch.as_tensor(index)]
    return torch.from_numpy(np.ascontiguousarray(source.images_at(np.asarray(index), np.uint8)))


def n_images(source) -> int:
    return int(source.shape[0]) if isinstance(source, torch.Tensor) else len(source)


def _u8(ds, indices=None) -> torch.Tensor:
    indices = np.arange(len(ds)) if indices is None else indices
    out = []
    for start in range(0, len(indices), 4096):
        out.append(torch.from_numpy(np.ascontiguousarray(ds.images_at(indices[start:start + 4096], np.uint8))))
    return torch.cat(out)


def _noise(ds, setting: Setting):
    if setting.noise is None:
        return ds
    kind, rate, convention = setting.noise
    if kind == "sym":
        return datasets.add_label_noise(ds, "symmetric", rate, rng=NOISE_SEED, convention=convention)
    mapping = (datasets.noise.cifar10_asymmetric_mapping() if setting.num_classes == 10
               else datasets.noise.cifar100_asymmetric_mapping())
    return datasets.add_label_noise(ds, "asymmetric", rate, rng=NOISE_SEED, mapping=mapping)


def _open(setting: Setting, **load_options):
    """The setting's datasets (train with its noise, test, and the clean validation split if it has one); nothing
    is decoded yet."""
    options = dict(setting.options)
    train_split, val_split, test_split = setting.splits
    train = _noise(datasets.load(setting.dataset, split=train_split, **options, **load_options), setting)
    test = datasets.load(setting.dataset, split=test_split, **options, **load_options)
    val = (datasets.load(setting.dataset, split=val_split, **options, **load_options) if setting.val == "clean"
           else None)
    return train, val, test


def _hash(setting: Setting, train, test) -> tuple[str, dict]:
    identity = {"setting": setting.name, "train": train.content_hash, "test": test.content_hash, "val": setting.val}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest(), identity


def setting_hash(setting: Setting, **load_options) -> str:
    """The content hash of the setting's data (noisy training set, selection, test set), without decoding them:
    a job's ``dataset_hash``. Missing files raise the dataset's own errors."""
    train, _, test = _open(setting, **load_options)
    return _hash(setting, train, test)[0]


def load_splits(setting: Setting, **load_options) -> Splits:
    """The setting's splits; ``load_options`` (root, download) go to ``datasets.load``. Missing files raise the
    dataset's own errors (``datasets.DatasetNotFoundError``...)."""
    train, val, test = _open(setting, **load_options)
    labels = np.asarray(train.labels, dtype=np.int64)
    clean = None if train.clean_labels is None else np.asarray(train.clean_labels, dtype=np.int64)
    flipped = None if train.flipped is None else np.asarray(train.flipped, dtype=bool)
    if clean is not None and (clean < 0).any():  # true labels known for some examples only (Clothing1M)
        clean, flipped = None, None
    if setting.stream:  # decoded batch by batch, by the trainer's loader and the evaluation
        if setting.val != "clean":
            raise ValueError(f"{setting.name}: a streamed setting selects on a clean split of its own.")
        return Splits(name=setting.name, num_classes=setting.num_classes, train_images=train,
                      train_labels=torch.from_numpy(labels), val_images=val,
                      val_labels=torch.from_numpy(np.asarray(val.labels, dtype=np.int64)), test_images=test,
                      test_labels=torch.from_numpy(np.asarray(test.labels, dtype=np.int64)),
                      selection=SELECTIONS[setting.val], train_hash=_hash(setting, train, test)[0],
                      identity=_hash(setting, train, test)[1])
    images = _u8(train)
    test_images, test_labels = _u8(test), np.asarray(test.labels, dtype=np.int64)
    if setting.val == "clean":
        val_images, val_labels = _u8(val), np.asarray(val.labels, dtype=np.int64)
    elif setting.val in ("holdout", "noisy_holdout"):  # held out of the training set; trained on the rest
        held = holdout_indices(len(labels))
        keep = np.setdiff1d(np.arange(len(labels)), held)
        val_labels = clean[held] if setting.val == "holdout" else labels[held]
        val_images = images[torch.from_numpy(held)]
        images, labels = images[torch.from_numpy(keep)], labels[keep]
        clean = None if clean is None else clean[keep]
        flipped = None if flipped is None else flipped[keep]
    else:  # 'test': the authors' selection on the test set (ANIMAL-10N)
        val_images, val_labels = test_images, test_labels
    train_hash, identity = _hash(setting, train, test)
    t = torch.from_numpy
    return Splits(name=setting.name, num_classes=setting.num_classes, train_images=images, train_labels=t(labels),
                  val_images=val_images, val_labels=t(np.asarray(val_labels)), test_images=test_images,
                  test_labels=t(test_labels), selection=SELECTIONS[setting.val], train_hash=train_hash,
                  clean_labels=None if clean is None else t(clean),
                  flipped=None if flipped is None else t(flipped), identity=identity)


def balanced_subset(labels: np.ndarray, num_classes: int, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced random subset: ``per_class`` examples of every class (0: the smallest
    class count; a class with fewer gives all it has), drawn with ``default_rng([seed, 4])`` (Nested's
    ``clothing1M_rand_subset.py``; ELR+'s Clothing1M sampler)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=num_classes)
    n = int(counts.min()) if per_class == 0 else int(per_class)
    rng = np.random.default_rng([int(seed), 4])
    picked = [rng.choice(np.flatnonzero(labels == c), size=min(n, int(counts[c])), replace=False)
              for c in range(num_classes) if counts[c]]
    return np.sort(np.concatenate(picked)).astype(np.int64)
