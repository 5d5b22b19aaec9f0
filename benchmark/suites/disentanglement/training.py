"""Training of the disentanglement suite's models on the shared engine (``benchmark.training``).

:class:`TrainConfig` is the engine's config plus what defines a run of this suite (``model``, ``batch_size``);
:class:`FactorTask` is the :class:`~benchmark.training.TrainingTask` the engine runs: batches of images of
factor combinations drawn with the engine's data generator, and one optimizer step per model phase
(forward, backward, element-wise clip, step). ``train(cfg, dataset, run_dir=...)`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.suites.disentanglement.models import (
    DisentanglementModel,
    ModelConfig,
    clip_gradients_,
    make_optimizers,
    model_from_config,
)
from benchmark.training import EngineConfig, StepState, TrainResult
from benchmark.training import train as train_engine

__all__ = ["TrainConfig", "FactorTask", "train", "train_step", "get_batch", "dataset_identity"]


@dataclass(frozen=True)
class TrainConfig(EngineConfig):
    """One training run. Reference protocol: 200 000 steps at batch 128 (64 for the GANs), eval/checkpoint every 5 000."""

    model: ModelConfig = field(default_factory=ModelConfig)  # architecture, losses, optimizer
    batch_size: int = 128  # images per step

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a ModelConfig; got {type(self.model).__name__}.")
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {self.batch_size!r}.")
        super().__post_init__()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        model = dict(d.pop("model"))
        model["betas"] = tuple(model["betas"])
        return cls(model=ModelConfig(**model), **d)


def dataset_identity(dataset) -> dict[str, Any]:
    """What a checkpoint records about its data: type, name, factor sizes and length."""
    return {
        "type": type(dataset).__name__,
        "name": getattr(dataset, "name", None),
        "factor_sizes": [int(s) for s in dataset.factor_sizes],
        "len": int(len(dataset)),
    }


def get_batch(dataset, batch_size: int, rng: np.random.Generator, device: torch.device,
              memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """Images of ``batch_size`` factor combinations drawn with ``rng``: (B, C, H, W) float32 in [0, 1] on ``device``."""
    classes = dataset.sample_factors(batch_size, rng)  # (B, K) int64
    images = dataset.images_for_factors(classes, dtype=np.float32)  # (B, C, H, W)
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device, non_blocking=True)
    return x.contiguous(memory_format=memory_format)


def train_step(model: DisentanglementModel, optimizers: dict[str, torch.optim.Optimizer], x: torch.Tensor, step: int,
               noise: torch.Generator, autocast, scaler: torch.amp.GradScaler) -> dict[str, torch.Tensor]:
    """One training step: for each phase of the model, forward, backward, element-wise clip, optimizer step.

    Under fp16 the GradScaler skips a phase whose gradients overflowed (and halves its scale); that phase's loss
    parts are left out of the returned logs, since a GAN's gradient penalty is inf there by design (its inner
    gradient is taken at the loss scale) and would read as divergence."""
    logs: dict[str, torch.Tensor] = {}
    scale = float(scaler.get_scale()) if scaler.is_enabled() else 1.0  # reading it syncs the device: once a phase
    for phase in model.phases(step):
        optimizer = optimizers[phase]
        model.zero_grad(set_to_none=True)  # also drops gradients another phase left on shared modules
        model.inner_grad_scale = scale
        with autocast():
            loss, parts = model.loss(phase, x, noise)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        clip_gradients_(optimizer)
        scaler.step(optimizer)
        scaler.update()
        if scaler.is_enabled():
            new_scale = float(scaler.get_scale())
            skipped, scale = new_scale < scale, new_scale
            if skipped:  # overflow: the GradScaler skipped this phase's step and lowered its scale
                continue
        logs.update(parts)
    return logs


class FactorTask:
    """The engine's task for one model of ``cfg.model`` on a factor dataset (see ``benchmark.training.TrainingTask``).

    ``dataset`` needs ``factor_sizes``, ``__len__``, ``sample_factors(n, rng)`` and
    ``images_for_factors(classes, dtype)``.
    """

    def __init__(self, cfg: TrainConfig, dataset) -> None:
        self.cfg, self.dataset = cfg, dataset
        self.label = cfg.model.name
        self.divergence_hint = f"lower lr (now {cfg.model.lr}) or check the data"

    def data_identity(self) -> dict[str, Any]:
        return dataset_identity(self.dataset)

    def build_model(self) -> DisentanglementModel:
        # data shape from one image drawn with a throwaway generator (the batch stream stays untouched)
        probe = self.dataset.images_for_factors(self.dataset.sample_factors(1, np.random.default_rng(0)),
                                                dtype=np.float32)
        image_shape = tuple(int(s) for s in probe.shape[1:])
        return model_from_config(self.cfg.model, image_shape=image_shape, n_factors=len(self.dataset.factor_sizes),
                                 dataset_size=len(self.dataset))

    def make_optimizers(self, model: DisentanglementModel, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return make_optimizers(model, fused=device.type == "cuda")

    def step(self, state: StepState, step: int) -> dict[str, torch.Tensor]:
        x = get_batch(self.dataset, self.cfg.batch_size, state.data_rng, state.device, state.memory_format)
        return train_step(state.model, state.optimizers, x, step, state.noise, state.autocast, state.scaler)


def train(cfg: TrainConfig, dataset, *, run_dir: str | Path | None = None,
          evaluate: Callable[[DisentanglementModel], dict[str, float]] | None = None,
          on_progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Train ``cfg.model`` on ``dataset`` for ``cfg.steps`` steps with the engine; resume from ``run_dir``.

    See :func:`benchmark.training.train` for ``run_dir``, ``evaluate``, ``on_progress``, the result and the errors.
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a TrainConfig; got {type(cfg).__name__}.")
    return train_engine(cfg, FactorTask(cfg, dataset), run_dir=run_dir, evaluate=evaluate, on_progress=on_progress)
