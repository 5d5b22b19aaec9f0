"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images"), read from
the published **binary** archives, never from the pickled Python version.

https://www.cs.toronto.edu/~kriz/cifar.html publishes ``cifar-10-binary.tar.gz`` (``cifar-10-batches-bin/``:
``data_batch_1.bin`` ... ``data_batch_5.bin``, ``test_batch.bin``, 10,000 records each) and ``cifar-100-binary.tar.gz``
(``cifar-100-binary/``: ``train.bin`` with 50,000 records, ``test.bin`` with 10,000). A record is the label byte
(CIFAR-100: the coarse label byte, then the fine one) followed by 3,072 bytes of pixels: the 32 x 32 red plane,
then green, then blue, each row-major. The archive's size and MD5 are pinned; its SHA-256 is computed on the first
load and recorded. The split's images and labels are decoded once into uint8 ``.npy`` caches beside the archive,
named after its SHA-256, and memory-mapped afterwards.

The images are clean-labelled; the noisy-label protocols apply ``datasets.noise`` to the training labels
(``CIFAR10_ASYMMETRIC``, :func:`datasets.noise.cifar100_asymmetric_mapping`, symmetric noise in both conventions).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from datasets._base import LabelledDataset
from datasets._errors import DatasetIntegrityError
from datasets._real import NpyCache
from datasets._resources import Resource, ensure_file, publish, resolve_root

__all__ = ["CIFAR10", "CIFAR100", "CIFAR10_CLASSES", "CIFAR100_CLASSES", "CIFAR100_SUPERCLASSES"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy",
    "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish",
    "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange",
    "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
    "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
    "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm")
CIFAR100_SUPERCLASSES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
    "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
    "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2")

_PIXELS = 3 * 32 * 32


class _CIFARBinary(NpyCache, LabelledDataset):
    """One split of a CIFAR binary archive (see the module doc)."""

    resource: Resource
    folder_name: str = ""
    split_members: dict[str, tuple[str, ...]] = {}  # the archive members of each split, in order
    expected_counts: dict[str, int] = {}
    label_bytes: int = 1  # label bytes before each record's pixels
    label_kinds: dict[str, tuple[int, tuple[str, ...]]] = {}  # label kind -> (its byte in the record, class names)
    image_shape = (3, 32, 32)
    adapter_version = "1"
    _transient = ("_images",)

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", *, labels: str | None = None,
                 download: bool = False, verify: bool = False, base_url: str | None = None, progress: bool = True):
        if split not in self.split_members:
            raise ValueError(f"split must be one of {', '.join(repr(s) for s in self.split_members)}; got {split!r}.")
        labels = labels or next(iter(self.label_kinds))
        if labels not in self.label_kinds:
            raise ValueError(f"labels must be one of {', '.join(repr(k) for k in self.label_kinds)}; got {labels!r}.")
        self.split, self.label_kind, self.progress = split, labels, progress
        self.root = resolve_root(root)
        self.folder = self.root / self.folder_name
        self.path, marker = ensure_file(self.resource, self.folder, dataset=self.name, download=download,
                                        verify=verify, base_url=base_url, progress=progress)
        self._archive_sha256 = marker["sha256"]
        byte, self.classes = self.label_kinds[labels]
        self.labels = self._label_cache()[:, byte].astype(np.int64)
        if self.labels.size and self.labels.max() >= len(self.classes):
            raise DatasetIntegrityError(f"{self.name}: a {labels} label of {self.path} is {int(self.labels.max())}, "
                                        f"above the {len(self.classes)} classes; this is not the published archive.")
        self.clean_labels = self.labels.copy()
        self._open_images()

    def _reopen(self) -> None:
        self._open_images()

    @property
    def content_hash(self) -> str:
        """SHA-256 of (the archive's SHA-256, split, label kind)."""
        return hashlib.sha256(f"{self._archive_sha256}:{self.split}:{self.label_kind}".encode()).hexdigest()

    def _cache(self, what: str) -> Path:
        return self.folder / f"{self.name}_{self.split}_{what}_{self._archive_sha256[:16]}.npy"

    def _label_cache(self) -> np.ndarray:
        n = self.expected_counts[self.split]
        path = self._cache("labels")
        try:
            labels = np.load(path)
            if labels.shape == (n, self.label_bytes) and labels.dtype == np.uint8:
                return labels
        except (OSError, ValueError, EOFError):
            pass
        self._decode(write_images=not self._cache("images").exists())
        return np.load(path)

    def _open_images(self) -> None:
        shape = (self.expected_counts[self.split],) + self.image_shape
        self._images = self._open_npy_cache(self._cache("images"), shape, lambda: self._decode(write_images=True),
                                            what="the decoded image cache")

    def _records(self):
        """(labels (m, label_bytes), images (m, 3, 32, 32)) per archive member of the split, in order. The members'
        presence, sizes and record count are checked from the archive's index before anything is decoded."""
        record = self.label_bytes + _PIXELS
        n = self.expected_counts[self.split]
        with tarfile.open(self.path, "r:gz") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            split = []
            for name in self.split_members[self.split]:
                if name not in members:
                    raise DatasetIntegrityError(f"{self.name}: {self.path} has no member {name}; this is not the "
                                                f"published {self.resource.filename}.")
                if members[name].size % record:
                    raise DatasetIntegrityError(f"{self.name}: member {name} of {self.path} holds "
                                                f"{members[name].size:,} bytes, not a whole number of {record}-byte "
                                                f"records.")
                split.append(members[name])
            found = sum(m.size for m in split) // record
            if found != n:
                raise DatasetIntegrityError(f"{self.name}: the {self.split} split of {self.path} holds {found:,} "
                                            f"records, expected {n:,}; this is not the published archive.")
            for member in split:
                rows = np.frombuffer(archive.extractfile(member).read(), dtype=np.uint8).reshape(-1, record)
                yield rows[:, :self.label_bytes], rows[:, self.label_bytes:].reshape(-1, *self.image_shape)

    def _decode(self, *, write_images: bool) -> None:
        """Decode the split from the archive: the label cache always, the image cache if asked (one pass)."""
        n = self.expected_counts[self.split]
        labels = []

        def image_blocks():
            for block_labels, block_images in self._records():
                labels.append(block_labels)
                yield block_images

        if write_images:
            self._write_npy_cache(self._cache("images"), (n,) + self.image_shape, image_blocks(),
                                  what="the decoded image cache", desc="decoding the binary archive")
        else:
            for _ in image_blocks():
                pass
        fd, tmp = tempfile.mkstemp(prefix=".labels.", suffix=".npy", dir=self.folder)
        os.close(fd)
        try:
            np.save(tmp, np.concatenate(labels))
            publish(tmp, self._cache("labels"))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self._images[indices])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(split={self.split!r}, labels={self.label_kind!r}, {len(self):,} images, "
                f"{self.num_classes} classes, {self.path})")


class CIFAR10(_CIFARBinary):
    """One split (``train``: 50,000 images, ``test``: 10,000) of CIFAR-10, 10 classes."""

    name = "cifar10"
    description = "CIFAR-10 (Krizhevsky 2009): 50,000 + 10,000 32x32 images, 10 classes (binary archive)"
    classes = CIFAR10_CLASSES
    folder_name = "cifar10"
    resource = Resource(
        filename="cifar-10-binary.tar.gz",
        urls=("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
        size_bytes=170_052_171,
        md5="c32a1d4ab5d03f1284b67883e8d87530",
    )
    split_members = {"train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
                     "test": ("cifar-10-batches-bin/test_batch.bin",)}
    expected_counts = {"train": 50_000, "test": 10_000}
    label_bytes = 1
    label_kinds = {"class": (0, CIFAR10_CLASSES)}


class CIFAR100(_CIFARBinary):
    """One split (``train``: 50,000 images, ``test``: 10,000) of CIFAR-100: ``labels="fine"`` (100 classes, the
    default) or ``"coarse"`` (20 superclasses)."""

    name = "cifar100"
    description = "CIFAR-100 (Krizhevsky 2009): 50,000 + 10,000 32x32 images, 100 classes (binary archive)"
    classes = CIFAR100_CLASSES
    folder_name = "cifar100"
    resource = Resource(
        filename="cifar-100-binary.tar.gz",
        urls=("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",),
        size_bytes=168_513_733,
        md5="03b5dce01913d631647c71ecec9e9cb8",
    )
    split_members = {"train": ("cifar-100-binary/train.bin",), "test": ("cifar-100-binary/test.bin",)}
    expected_counts = {"train": 50_000, "test": 10_000}
    label_bytes = 2
    label_kinds = {"fine": (1, CIFAR100_CLASSES), "coarse": (0, CIFAR100_SUPERCLASSES)}
