"""The training engine shared by every suite: device, precision, seeds and random streams, checkpoints with exact
resume, a divergence guard and progress; it knows no model family and no kind of data.

A suite gives :func:`train` an :class:`EngineConfig` (or a subclass with its own fields) and a
:class:`TrainingTask` (build the model and its optimizers; run one step). See ``docs/architecture.md``.
"""

from benchmark.training.config import DEVICES, PRECISIONS, RESUME_FREE_FIELDS, EngineConfig
from benchmark.training.loop import (
    CHECKPOINT_NAME,
    CheckpointMismatchError,
    StepState,
    TrainingTask,
    TrainResult,
    load_checkpoint,
    resolve_device,
    resolve_precision,
    save_checkpoint,
    torch_threads,
    train,
)

__all__ = [
    "CHECKPOINT_NAME", "CheckpointMismatchError", "DEVICES", "EngineConfig", "PRECISIONS", "RESUME_FREE_FIELDS",
    "StepState", "TrainResult", "TrainingTask", "load_checkpoint", "resolve_device", "resolve_precision",
    "save_checkpoint", "torch_threads", "train",
]
