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

__all__ = ["make_loader"]


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
