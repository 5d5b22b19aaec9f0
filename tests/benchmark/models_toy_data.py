"""A tiny FactorDataset-like dataset for the model and training tests: a bright bar on a dark background.

Factors: horizontal position (4 values), bar width (3 values), brightness (2 values). Images (1, 32, 32) by
default, or (3, S, S) when ``channels=3``. Meets the interface the training loop uses: ``factor_sizes``,
``factor_names``, ``__len__``, ``index_to_factors``, ``sample_factors(n, rng)``, ``images_for_factors(classes, dtype)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch


class BarDataset:
    factor_names = ("position", "width", "brightness")
    factor_sizes = (4, 3, 2)
    name = "bars-test"

    def __init__(self, size: int = 32, channels: int = 1) -> None:
        self.size = size
        self.channels = channels

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    def index_to_factors(self, index) -> np.ndarray:
        return np.stack(np.unravel_index(np.asarray(index), self.factor_sizes), axis=-1).astype(np.int64)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, s, size=n) for s in self.factor_sizes], axis=1).astype(np.int64)

    def images_for_factors(self, classes, dtype=np.float32) -> np.ndarray:
        classes = np.asarray(classes)
        n, s = len(classes), self.size
        images = np.zeros((n, self.channels, s, s), dtype=np.float32)
        step = s // 8
        for i, (pos, width, bright) in enumerate(classes):
            x0 = step * (1 + pos)
            images[i, :, step:-step, x0:x0 + step * (1 + width)] = 0.6 + 0.4 * bright
        if dtype == np.uint8:
            return np.round(images * 255).astype(np.uint8)
        return images.astype(dtype)


@pytest.fixture(autouse=True, scope="module")
def single_torch_thread():
    """Run a module's tiny models on one thread: on a shared 2-core machine OpenMP threads spin-wait for each
    other and small steps get 10x slower; restored afterwards so other modules keep their setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
