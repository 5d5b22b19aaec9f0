"""The training engine shared by every suite: device, precision, seeds and random streams, checkpoints with exact
resume, a divergence guard and progress; it knows no model family and no kind of data.

A suite gives :func:`train` an :class:`EngineConfig` (or a subclass with its own fields) and a
:class:`TrainingTask` (build the model and its optimizers; run one step). See ``docs/architecture.md``.
The engine's names are imported on first use, so that importing the config alone does not import torch.
"""

from benchmark.training.config import DEVICES, PRECISIONS, RESUME_FREE_FIELDS, EngineConfig
from benchmark.training.epochs import EpochPlan

_ENGINE = ("BEST_NAME", "CHECKPOINT_NAME", "CheckpointMismatchError", "StepState", "TrainResult", "TrainingTask",
           "load_best", "load_checkpoint", "resolve_device", "resolve_precision", "save_checkpoint", "torch_threads",
           "train")

__all__ = ["DEVICES", "EngineConfig", "EpochPlan", "PRECISIONS", "RESUME_FREE_FIELDS", *_ENGINE]


def __getattr__(name: str):
    if name in _ENGINE:
        from benchmark.training import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'benchmark.training' has no attribute {name!r}")
