"""Clothing1M (Xiao, Xia, Yang, Huang & Wang, CVPR 2015): clothing images with noisy web labels.

Distributed on request only (see ``MANUAL``). The release, unpacked under ``<root>/clothing1m/``::

    category_names_chn.txt  category_names_eng.txt           14 class names, one per line
    noisy_label_kv.txt      clean_label_kv.txt                "images/x/yy/name.jpg <label>" per line
    noisy_train_key_list.txt  clean_train_key_list.txt  clean_val_key_list.txt  clean_test_key_list.txt
                                                              "images/x/yy/name.jpg" per line
    images/0 ... images/9/                                    JPEG files, two-level hashed folders

Splits: ``noisy_train`` (labels from ``noisy_label_kv.txt``; ``clean_labels`` holds the clean
label where the image also appears in ``clean_label_kv.txt``, else -1), ``clean_train``,
``clean_val`` (model selection) and ``clean_test`` (report), labelled from ``clean_label_kv.txt``.
Images have various sizes: pass ``image_size=(H, W)`` to resize on decoding (the published
recipes use Resize 256 and a 224 crop, done in the trainer); JPEGs then decode at a reduced DCT scale first
(``draft``, default on).

``content_hash`` is the SHA-256 of the annotation files (class names, both label files and the
split's key list); image bytes are not hashed (a million files), but ``verify_layout`` checks
that every listed image exists.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from datasets._base import LabelledDataset
from datasets._errors import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError
from datasets._images import check_image_size, decode_batch
from datasets._resources import resolve_root

__all__ = ["Clothing1M", "CLOTHING1M_CLASSES"]

CLOTHING1M_CLASSES = ("T-Shirt", "Shirt", "Knitwear", "Chiffon", "Sweater", "Hoodie", "Windbreaker", "Jacket",
                      "Downcoat", "Suit", "Shawl", "Dress", "Vest", "Underwear")
ANNOTATION_FILES = ("category_names_chn.txt", "category_names_eng.txt", "noisy_label_kv.txt", "clean_label_kv.txt",
                    "noisy_train_key_list.txt", "clean_train_key_list.txt", "clean_val_key_list.txt",
                    "clean_test_key_list.txt")
SPLITS = {"noisy_train": ("noisy_train_key_list.txt", "noisy_label_kv.txt"),
          "clean_train": ("clean_train_key_list.txt", "clean_label_kv.txt"),
          "clean_val": ("clean_val_key_list.txt", "clean_label_kv.txt"),
          "clean_test": ("clean_test_key_list.txt", "clean_label_kv.txt")}
MANUAL = ("Clothing1M is distributed on request only: ask the authors (Tong Xiao et al., see "
          "https://github.com/Cysu/noisy_label) for access, download the annotation files and the images/ archives, "
          "and unpack them so that {folder} holds category_names_eng.txt, the *_kv.txt and *_key_list.txt files and "
          "images/0 ... images/9; then run `python -m benchmark data verify clothing1m --root {root}`.")


def _read_lines(path: Path, dataset: str) -> list[str]:
    if not path.is_file():
        raise DatasetNotFoundError(f"{dataset}: annotation file {path} not found. " + MANUAL.format(
            folder=path.parent, root=path.parent.parent))
    raw = path.read_bytes()
    for encoding in ("utf-8", "gb18030"):  # category_names_chn.txt may be GBK-encoded
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            error = exc
    else:
        raise DatasetIntegrityError(f"{dataset}: annotation file {path} is neither UTF-8 nor GB18030 text ({error}); "
                                    f"it is corrupted. Replace it from the original archive.")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_kv(path: Path, dataset: str, num_classes: int) -> dict[str, int]:
    table: dict[str, int] = {}
    for lineno, line in enumerate(_read_lines(path, dataset), start=1):
        parts = line.split()
        # isdecimal, not isdigit: '1²' is a digit string that int() refuses
        label = int(parts[1]) if len(parts) == 2 and parts[1].lstrip("-").isdecimal() else None
        if label is None:
            raise DatasetIntegrityError(f"{dataset}: {path} line {lineno} is {line!r}; expected '<image key> <label>'.")
        if not 0 <= label < num_classes:
            raise DatasetIntegrityError(f"{dataset}: {path} line {lineno} has label {label}; expected 0..{num_classes - 1}.")
        table[parts[0]] = label
    return table


class Clothing1M(LabelledDataset):
    """One split of Clothing1M read from the published annotation files and image tree."""

    name = "clothing1m"
    description = "Clothing1M (Xiao et al. 2015): ~1M clothing images with noisy web labels, 14 classes (on request only)"
    classes = CLOTHING1M_CLASSES
    folder_name = "clothing1m"
    adapter_version = "1"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "noisy_train", *,
                 image_size: int | tuple[int, int] | None = None, draft: bool = True, download: bool = False,
                 verify: bool = False, progress: bool = True):
        """``verify=True`` runs :meth:`verify_layout` first (every annotation file, every listed image);
        ``progress=False`` hides its progress bars. With ``image_size``, ``draft=True`` decodes each JPEG at the
        smallest DCT scale still at least that size before resizing (``datasets._images.decode_image``); ``False``
        decodes in full."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(repr(s) for s in SPLITS)}; got {split!r}.")
        self.root = resolve_root(root)
        self.folder = self.root / self.folder_name
        self.split = split
        self.image_size = check_image_size(image_size)
        self.draft = bool(draft)
        if download and not (self.folder / "noisy_label_kv.txt").exists():
            raise DatasetDownloadError("clothing1m: not downloadable automatically. "
                                       + MANUAL.format(folder=self.folder, root=self.root))
        if verify:
            self.verify_layout(self.root, progress=progress)
        self._load()

    def _load(self) -> None:
        names = _read_lines(self.folder / "category_names_eng.txt", self.name)
        if len(names) != len(self.classes):
            raise DatasetIntegrityError(f"clothing1m: {self.folder / 'category_names_eng.txt'} lists {len(names)} "
                                        f"classes, expected {len(self.classes)}.")
        key_file, kv_file = SPLITS[self.split]
        keys = _read_lines(self.folder / key_file, self.name)
        if not keys:
            raise DatasetIntegrityError(f"clothing1m: {self.folder / key_file} lists no images; the file is truncated. "
                                        f"Replace it from the original archive.")
        table = _read_kv(self.folder / kv_file, self.name, len(self.classes))
        missing = [k for k in keys if k not in table]
        if missing:
            raise DatasetIntegrityError(f"clothing1m: {len(missing)} keys of {self.folder / key_file} have no label in "
                                        f"{self.folder / kv_file} (first: {missing[0]!r}).")
        self.keys = keys
        self.labels = np.array([table[k] for k in keys], dtype=np.int64)
        if self.split == "noisy_train":
            clean = _read_kv(self.folder / "clean_label_kv.txt", self.name, len(self.classes))
            self.clean_labels = np.array([clean.get(k, -1) for k in keys], dtype=np.int64)
        else:
            self.clean_labels = self.labels.copy()
        h = hashlib.sha256()
        for fname in ("category_names_eng.txt", "noisy_label_kv.txt", "clean_label_kv.txt", key_file):
            h.update(fname.encode() + b"\0" + (self.folder / fname).read_bytes() + b"\0")
        self._hash = h.hexdigest()

    @property
    def content_hash(self) -> str:
        return self._hash

    def image_path(self, i: int) -> Path:
        return self.folder / self.keys[i]

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return decode_batch([self.folder / self.keys[int(i)] for i in indices], self.name, self.image_size,
                            draft=self.draft)

    @classmethod
    def verify_layout(cls, root: str | os.PathLike | None = None, *, check_images: bool = True,
                      progress: bool = True) -> dict[str, int]:
        """Check the release layout under ``<root>/clothing1m``; returns the number of keys per split.

        Every annotation file must exist and parse, there must be 14 class names, every key of a
        split must have a label, and (``check_images``) every listed image must exist.
        ``progress=False`` hides the per-split progress bars of the image check.
        """
        folder = resolve_root(root) / cls.folder_name
        if not folder.is_dir():
            raise DatasetNotFoundError(f"clothing1m: folder {folder} not found. "
                                       + MANUAL.format(folder=folder, root=folder.parent))
        for fname in ANNOTATION_FILES:
            if not (folder / fname).is_file():
                raise DatasetNotFoundError(f"clothing1m: annotation file {folder / fname} not found. "
                                           + MANUAL.format(folder=folder, root=folder.parent))
        if not (folder / "images").is_dir():
            raise DatasetNotFoundError(f"clothing1m: image folder {folder / 'images'} not found. "
                                       + MANUAL.format(folder=folder, root=folder.parent))
        counts = {}
        for split in SPLITS:
            ds = cls(folder.parent, split)
            counts[split] = len(ds)
            if check_images:
                for key in tqdm(ds.keys, desc=f"clothing1m: checking {split} images", disable=not progress, leave=False):
                    if not (folder / key).is_file():
                        raise DatasetNotFoundError(f"clothing1m: image {folder / key} (listed in "
                                                   f"{SPLITS[split][0]}) not found; the images/ tree is incomplete.")
        return counts
