"""The engine's run configuration: a frozen dataclass with every default on one screen.

A suite subclasses :class:`EngineConfig` with the fields that define its own runs (the disentanglement
suite adds ``model`` and ``batch_size``); the engine saves ``cfg.to_dict()`` in every checkpoint and refuses
to resume from a checkpoint whose config differs outside :data:`RESUME_FREE_FIELDS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["EngineConfig", "RESUME_FREE_FIELDS", "DEVICES", "PRECISIONS"]

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Fields that may change between an interrupted run and its resumption (they do not change the numbers).
RESUME_FREE_FIELDS = ("steps", "device", "cpu_threads", "checkpoint_every", "eval_every", "log_every", "progress")


@dataclass(frozen=True)
class EngineConfig:
    """How one training run executes: length, seed, device, precision, checkpoints and logging."""

    steps: int = 200_000  # optimizer steps (GANs: critic steps)
    seed: int = 0  # seeds model init, batch sampling and model noise
    device: str = "auto"  # 'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'mps'
    precision: str = "auto"  # 'auto' (bf16 on CUDA, else fp32), 'fp32', 'bf16' or 'fp16' (autocast, CUDA only)
    cpu_threads: int = 0  # torch CPU threads during training (0: leave torch's setting); 1 per job on shared cores
    channels_last: bool | None = None  # NHWC layout for convolutions; None: on CUDA only (tensor cores)
    checkpoint_every: int = 5_000  # steps between checkpoints (0: only at the end); needs a run folder
    eval_every: int = 0  # steps between calls of train(..., evaluate=f) (0: only after the last step)
    log_every: int = 100  # steps between progress-bar loss updates (each one syncs the device)
    progress: bool = True  # show the tqdm bar

    def __post_init__(self) -> None:
        for name, low in (("steps", 1), ("seed", 0), ("cpu_threads", 0), ("checkpoint_every", 0), ("eval_every", 0),
                          ("log_every", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
        if self.channels_last not in (None, True, False):
            raise ValueError(f"channels_last must be None, True or False; got {self.channels_last!r}.")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(map(repr, DEVICES))}; got {self.device!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {self.precision!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
