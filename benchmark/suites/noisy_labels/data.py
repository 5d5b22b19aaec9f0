"""Data loading of the noisy-label suite: a ``DataLoader`` that keeps an accelerator busy on decoded JPEGs.

Clothing1M's images are JPEG files decoded on the fly, so the loader is where a GPU run waits. :func:`make_loader`
decodes in ``workers`` processes that stay alive across epochs (``persistent_workers``), each reading a few batches
ahead (``prefetch_factor``), copies batches into page-locked memory when the device is CUDA (``pin_memory``, so the
host-to-device copy can overlap compute), and shuffles with a seeded generator (the same order for the same seed,
whatever the number of workers). The decoding itself happens at the target size where Pillow's ``draft`` allows it
(``datasets.Clothing1M(image_size=..., draft=True)``). ``benchmarks/noisy_loader_speed.py`` measures both.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["make_loader", "step_loader", "EpochBatchSampler"]


def make_loader(dataset: Any, batch_size: int, *, shuffle: bool, seed: int = 0, workers: int = 0,
                device: str | torch.device = "cpu", drop_last: bool = False, prefetch_factor: int = 4,
                transform=None) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` over ``dataset.torch_dataset(transform=transform)``: items (image, label, index).

    ``workers`` decoding processes (0: in this process), persistent across epochs; pinned memory for a CUDA
    ``device``; the shuffle order drawn from ``seed``.
    """
    if batch_size < 1 or workers < 0:
        raise ValueError(f"need batch_size >= 1 and workers >= 0; got {batch_size} and {workers}.")
    generator = torch.Generator().manual_seed(int(seed))
    extra = {"persistent_workers": True, "prefetch_factor": prefetch_factor} if workers > 0 else {}
    return torch.utils.data.DataLoader(
        dataset.torch_dataset(transform=transform), batch_size=batch_size, shuffle=shuffle, generator=generator,
        num_workers=workers, pin_memory=torch.device(device).type == "cuda", drop_last=drop_last, **extra)


class EpochBatchSampler(torch.utils.data.Sampler):
    """The batches of engine steps ``start .. stop - 1`` under an :class:`~benchmark.training.EpochPlan`: a
    DataLoader's ``batch_sampler`` that decodes exactly what the in-memory path would index, from any step on (so a
    resumed run reads the same batches). ``index_map`` maps the plan's positions to dataset indices (a subset)."""

    def __init__(self, plan, seed: int, start: int, stop: int, index_map=None) -> None:
        self.plan, self.seed, self.start, self.stop = plan, int(seed), int(start), int(stop)
        self.index_map = index_map

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self):
        for step in range(self.start, self.stop):
            index = self.plan.batch_indices(step, self.seed)
            yield (index if self.index_map is None else self.index_map[index]).tolist()


def step_loader(dataset: Any, plan, seed: int, start: int, stop: int, *, index_map=None, workers: int = 0,
                device: str | torch.device = "cpu", prefetch_factor: int = 4) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of uint8 batches (images, labels, indices) for engine steps ``start .. stop - 1``, decoded in
    ``workers`` processes (pinned memory for CUDA)."""
    import numpy as np

    extra = {"prefetch_factor": prefetch_factor} if workers > 0 else {}
    return torch.utils.data.DataLoader(
        dataset.torch_dataset(dtype=np.uint8), batch_sampler=EpochBatchSampler(plan, seed, start, stop, index_map),
        num_workers=workers, pin_memory=torch.device(device).type == "cuda", **extra)
