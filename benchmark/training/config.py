"""Training configuration: a frozen dataclass with every default on one screen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from benchmark.models.config import ModelConfig

__all__ = ["TrainConfig", "RESUME_FREE_FIELDS"]

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Fields that may change between an interrupted run and its resumption (they do not change the numbers).
RESUME_FREE_FIELDS = ("steps", "device", "cpu_threads", "checkpoint_every", "eval_every", "log_every", "progress")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Reference protocol: 200 000 steps at batch 128 (64 for the GANs), eval/checkpoint every 5 000."""

    model: ModelConfig = field(default_factory=ModelConfig)  # architecture, losses, optimizer
    steps: int = 200_000  # optimizer steps (GANs: critic steps)
    batch_size: int = 128  # images per step
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
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a ModelConfig; got {type(self.model).__name__}.")
        for name, low in (("steps", 1), ("batch_size", 1), ("seed", 0), ("cpu_threads", 0), ("checkpoint_every", 0), ("eval_every", 0),
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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        model = dict(d.pop("model"))
        model["betas"] = tuple(model["betas"])
        return cls(model=ModelConfig(**model), **d)
