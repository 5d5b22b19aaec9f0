"""ANIMAL-10N (Song, Kim & Lee, ICML 2019, "SELFIE"): 64x64 animal photos with real label noise.

Five pairs of look-alike animals (cat/lynx, jaguar/cheetah, wolf/coyote, chimpanzee/orangutan,
hamster/guinea pig) labelled by crowd workers (noise about 8 %). Distributed on request from
https://dm.kaist.ac.kr/datasets/animal-10n/. Unpacked under ``<root>/animal10n/``::

    training/<label>_<id>.jpg    50,000 images
    testing/<label>_<id>.jpg      5,000 images

The label is the integer before the first underscore. Files are read in sorted name order.
``content_hash`` is the SHA-256 over the sorted (file name, size) list; ``verify=True``
additionally decodes every image.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from tqdm.auto import tqdm

from datasets._base import LabelledDataset
from datasets._errors import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError
from datasets._images import check_image_size, decode_batch
from datasets._resources import resolve_root

__all__ = ["Animal10N", "ANIMAL10N_CLASSES"]

ANIMAL10N_CLASSES = ("cat", "lynx", "wolf", "coyote", "cheetah", "jaguar", "chimpanzee", "orangutan", "hamster",
                     "guinea pig")
MANUAL = ("ANIMAL-10N is distributed on request: fill in the form at https://dm.kaist.ac.kr/datasets/animal-10n/, "
          "download the archive and unpack it so that {folder} holds training/ and testing/ with files named "
          "<label>_<id>.jpg; then run `python -m benchmark data verify animal10n --root {root}`.")


class Animal10N(LabelledDataset):
    """One split (``train`` or ``test``) of ANIMAL-10N."""

    name = "animal10n"
    description = "ANIMAL-10N (Song et al. 2019): 50,000 + 5,000 64x64 animal photos, 10 classes, real label noise (on request)"
    classes = ANIMAL10N_CLASSES
    folder_name = "animal10n"
    split_folders = {"train": "training", "test": "testing"}
    expected_counts = {"train": 50_000, "test": 5_000}
    image_shape = (3, 64, 64)
    adapter_version = "1"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", *,
                 image_size: int | tuple[int, int] | None = None, download: bool = False, verify: bool = False,
                 progress: bool = True):
        if split not in self.split_folders:
            raise ValueError(f"split must be one of {', '.join(repr(s) for s in self.split_folders)}; got {split!r}.")
        self.image_size = check_image_size(image_size)  # None: the published 64 x 64, checked per image
        if self.image_size is not None:
            self.image_shape = (3,) + self.image_size
        self.root = resolve_root(root)
        self.folder = self.root / self.folder_name
        self.split = split
        directory = self.folder / self.split_folders[split]
        if not directory.is_dir():
            cls = DatasetDownloadError if download else DatasetNotFoundError
            raise cls(f"animal10n: folder {directory} not found. " + MANUAL.format(folder=self.folder, root=self.root))
        files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        labels = []
        for p in files:
            head = p.name.split("_", 1)[0]
            if "_" not in p.name or not head.isdigit() or not 0 <= int(head) < len(self.classes):
                raise DatasetIntegrityError(f"animal10n: file {p} is not named <label>_<id>.jpg with a label in "
                                            f"0..{len(self.classes) - 1}.")
            labels.append(int(head))
        expected = self.expected_counts[split]
        if len(files) != expected:
            raise DatasetIntegrityError(f"animal10n: {directory} holds {len(files)} images, expected {expected} "
                                        f"(the published {split} split); the folder is incomplete or mixed up.")
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int64)
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.name}\0{p.stat().st_size}\n".encode())
        self._hash = h.hexdigest()
        if verify:
            for p in tqdm(files, desc=f"animal10n: decoding {split}", disable=not progress, leave=False):
                decode_batch([p], self.name, expected_shape=type(self).image_shape)  # the published size

    @property
    def content_hash(self) -> str:
        return self._hash

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return decode_batch([self.files[int(i)] for i in indices], self.name, self.image_size,
                            expected_shape=self.image_shape)

    @classmethod
    def verify_layout(cls, root: str | os.PathLike | None = None, *, progress: bool = True) -> dict[str, int]:
        """Load both splits with full decoding; returns the image count per split."""
        return {split: len(cls(root, split, verify=True, progress=progress)) for split in cls.split_folders}

