"""Offline noisy-label twin: object-hue classes of the procedural Shapes3D, with label noise.

``shapes3d-hue-noisy`` needs no files, so the noisy-label suite (nested dropout, Co-teaching,
ELR) runs anywhere. A seeded draw of distinct scenes of ``shapes3d-procedural`` is split into a
training set and a test set, and a clean validation set (for model selection) is drawn from the scenes
left over; the class is the object hue (10 classes, hues 0.0..0.9, so that
neighbouring classes look alike and hue 0.9 neighbours hue 0.0 on the colour circle). Training
labels get pair-flip noise between neighbouring hues (``c -> (c + 1) mod 10``, Han et al. 2018)
by default, or any other model of :mod:`datasets.noise`; validation and test labels stay clean.
``image_size=32`` gives each image as the mean of its 2 x 2 pixel blocks. ``factors``
keeps every sample's six factor classes, and ``clean_labels``/``flipped``/``transition`` let
the trainers measure memorisation.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from datasets._base import LabelledDataset, _check_int
from datasets.downsampled import block_mean
from datasets.noise import asymmetric_noise, pair_flip_noise, symmetric_noise
from datasets.procedural import ProceduralShapes3D

__all__ = ["Shapes3DHueNoisy"]


class Shapes3DHueNoisy(LabelledDataset):
    """Procedural Shapes3D images labelled by object hue, with synthetic noise on the training split.

    Parameters
    ----------
    split : {'train', 'val', 'test'}, default='train'
    n_train, n_test : int, default=10000, 2000
        Sizes of the training and test splits (disjoint scenes of the 480,000-scene grid).
    n_val : int, default=1000
        Size of the clean validation split: scenes outside both, drawn with ``default_rng([seed, 3])``.
    image_size : {64, 32, 16, 8}, default=64
        Side of the images: 64 as rendered, smaller sizes as means of pixel blocks.
    noise : {'pair', 'symmetric', 'asymmetric'}, default='pair'
        Noise model of the training labels ('asymmetric' uses ``mapping``).
    noise_rate : float, default=0.3
    convention : {'other', 'all'}, default='other'
        Convention of symmetric noise (see :mod:`datasets.noise`).
    mapping : dict, optional
        Class mapping of asymmetric noise; default: neighbouring hues, c -> c + 1 for even c.
    seed : int, default=0
        Seeds the scene draw (``default_rng(seed)``) and the noise (``default_rng(seed + 1)``).
    """

    name = "shapes3d-hue-noisy"
    description = ("offline noisy-label twin: procedural Shapes3D scenes labelled by object hue (10 classes), "
                   "pair-flip noise between neighbouring hues on the training split")
    classes = tuple(f"hue {h / 10:.1f}" for h in range(10))
    image_shape = (3, 64, 64)
    adapter_version = "1"

    def __init__(self, split: str = "train", *, n_train: int = 10_000, n_test: int = 2_000, n_val: int = 1_000,
                 noise: str = "pair", noise_rate: float = 0.3, convention: str = "other", mapping: dict | None = None,
                 seed: int = 0, image_size: int = 64, root=None, download: bool = False, verify: bool = False):
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be one of 'train', 'val', 'test'; got {split!r}.")
        if image_size not in (64, 32, 16, 8):
            raise ValueError(f"image_size must be one of 64, 32, 16, 8 (the 64-pixel rendering or a block mean of "
                             f"it); got {image_size!r}.")
        if noise not in ("pair", "symmetric", "asymmetric"):
            raise ValueError(f"noise must be one of 'pair', 'symmetric', 'asymmetric'; got {noise!r}.")
        self.scenes = ProceduralShapes3D()
        n_train = _check_int(n_train, "n_train", min_value=1, max_value=len(self.scenes) - 1)
        n_test = _check_int(n_test, "n_test", min_value=1, max_value=len(self.scenes) - n_train)
        n_val = _check_int(n_val, "n_val", min_value=1, max_value=len(self.scenes) - n_train - n_test)
        seed = _check_int(seed, "seed", min_value=0)
        self.split = split
        self.image_size = int(image_size)
        self.image_shape = (3, self.image_size, self.image_size)
        rng = np.random.default_rng(seed)
        indices = rng.choice(len(self.scenes), size=n_train + n_test, replace=False).astype(np.int64)
        if split == "val":  # scenes in neither split; its own stream, so train and test stay as they were
            rest = np.setdiff1d(np.arange(len(self.scenes), dtype=np.int64), indices)
            self.indices = np.sort(np.random.default_rng([seed, 3]).choice(rest, size=n_val, replace=False))
        else:
            self.indices = indices[:n_train] if split == "train" else indices[n_train:]
        self.factors = self.scenes.index_to_factors(self.indices)
        clean = self.factors[:, self.scenes.factor_names.index("object_hue")].copy()
        self._identity = {"scenes": self.scenes.content_hash, "split": split, "n_train": n_train, "n_test": n_test,
                          "seed": seed}
        if split == "val":
            self._identity["n_val"] = n_val
        if self.image_size != 64:  # identities of the 64-pixel splits stay as they were
            self._identity["image_size"] = self.image_size
        if split == "train":
            noise_rng = np.random.default_rng(seed + 1)
            if noise == "pair":
                result = pair_flip_noise(clean, noise_rate, num_classes=10, rng=noise_rng)
            elif noise == "symmetric":
                result = symmetric_noise(clean, noise_rate, num_classes=10, convention=convention, rng=noise_rng)
            else:
                mapping = mapping if mapping is not None else {c: c + 1 for c in range(0, 10, 2)}
                result = asymmetric_noise(clean, noise_rate, mapping, num_classes=10, rng=noise_rng)
            self.noise = result
            self.labels = result.noisy_labels
            self.flipped = result.flipped
            self.transition = result.transition
            self._identity["noise"] = result.identity()
        else:
            self.noise = None
            self.labels = clean
            self.flipped = np.zeros(clean.shape[0], dtype=bool)
            self.transition = np.eye(10)
        self.clean_labels = clean

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self._identity, sort_keys=True).encode()).hexdigest()

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return block_mean(self.scenes.render(self.factors[indices]), 64 // self.image_size)


