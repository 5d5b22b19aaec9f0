"""``torch.utils.data.Dataset`` views of the adapters (the only module that imports torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["FactorTorchDataset", "LabelledTorchDataset"]


class FactorTorchDataset(Dataset):
    """Items: (image tensor (C, H, W) of ``dtype``, factor classes int64 (K,)).

    ``__getitems__`` (used by ``DataLoader`` for map-style datasets) reads a whole batch with one
    ``images_at`` call, which is much faster than one call per item for renderers and HDF5 files.
    """

    def __init__(self, base: Any, dtype: Any = np.float32):
        self.base = base
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        img = self.base.images_at(np.array([int(i)]), dtype=self.dtype)[0]
        return torch.from_numpy(img), torch.from_numpy(self.base.index_to_factors(int(i)))

    def __getitems__(self, indices: list[int]):
        idx = np.asarray(indices, dtype=np.int64)
        imgs = torch.from_numpy(self.base.images_at(idx, dtype=self.dtype))
        classes = torch.from_numpy(self.base.index_to_factors(idx))
        return [(imgs[j], classes[j]) for j in range(len(idx))]


class LabelledTorchDataset(Dataset):
    """Items: (image tensor (C, H, W), label int64, index int64); ``transform`` applies to the image tensor."""

    def __init__(self, base: Any, dtype: Any = np.float32, transform=None):
        self.base = base
        self.dtype = np.dtype(dtype)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        img = torch.from_numpy(self.base.images_at(np.array([int(i)]), dtype=self.dtype)[0])
        if self.transform is not None:
            img = self.transform(img)
        return img, torch.tensor(int(self.base.labels[int(i)]), dtype=torch.int64), torch.tensor(int(i))
