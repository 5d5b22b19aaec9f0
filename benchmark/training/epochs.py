"""Epochs on top of the step-based engine: which examples step ``s`` trains on, and which epoch it belongs to.

Methods written in epochs (co-teaching's forget-rate schedule, ELR's per-example targets, learning-rate steps at
epoch 40 and 80) see every training example once per epoch, in a shuffled order. :class:`EpochPlan` maps an
engine step to (epoch, position in the epoch) and to the indices of its batch. The order of epoch ``e`` is the
permutation drawn by ``numpy.random.default_rng([seed, 2, e])``: a function of (seed, epoch) alone, so a run
resumed at any step draws the same batches as an uninterrupted one without saving a sampler state, and the
engine's own ``data_rng`` stays free for everything else (augmentation, mixup).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["EpochPlan"]


@dataclass(frozen=True)
class EpochPlan:
    """``n_examples`` shuffled into batches of ``batch_size`` every epoch.

    ``drop_last=True`` (the default, as the reference trainers' loaders) drops the last incomplete batch of each
    epoch; otherwise it is a smaller batch. ``epoch_size``, if given, caps the batches per epoch (ELR+ on
    Clothing1M trains 3000 batches per epoch of a larger set).
    """

    n_examples: int
    batch_size: int
    drop_last: bool = True
    epoch_size: int | None = None  # batches per epoch, at most the full pass
    _orders: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("n_examples", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
        if self.drop_last and self.batch_size > self.n_examples:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {self.n_examples} examples: with drop_last "
                             f"an epoch would have no batch. Use a smaller batch.")
        if self.epoch_size is not None and (isinstance(self.epoch_size, bool) or self.epoch_size < 1):
            raise ValueError(f"epoch_size must be None or an integer >= 1; got {self.epoch_size!r}.")

    @property
    def steps_per_epoch(self) -> int:
        """Batches (engine steps) per epoch."""
        full = self.n_examples // self.batch_size if self.drop_last else -(-self.n_examples // self.batch_size)
        return full if self.epoch_size is None else min(full, int(self.epoch_size))

    def steps(self, epochs: int) -> int:
        """Engine steps of ``epochs`` epochs."""
        return int(epochs) * self.steps_per_epoch

    def epoch(self, step: int) -> int:
        """The 0-based epoch of engine step ``step``."""
        return int(step) // self.steps_per_epoch

    def is_epoch_end(self, step: int) -> bool:
        """Whether step ``step`` (0-based) is the last of its epoch."""
        return (int(step) + 1) % self.steps_per_epoch == 0

    def order(self, epoch: int, seed: int) -> np.ndarray:
        """The shuffled example order of ``epoch`` (int64); the latest two epochs are cached."""
        key = (int(seed), int(epoch))
        if key not in self._orders:
            if len(self._orders) >= 2:
                self._orders.pop(next(iter(self._orders)))
            self._orders[key] = np.random.default_rng([int(seed), 2, int(epoch)]).permutation(self.n_examples)
        return self._orders[key]

    def batch_indices(self, step: int, seed: int) -> np.ndarray:
        """The example indices of engine step ``step``'s batch."""
        position = int(step) % self.steps_per_epoch
        start = position * self.batch_size
        return self.order(self.epoch(step), seed)[start:start + self.batch_size]
