"""Training of the suite's models: one readable loop, checkpoints with exact resume, inference helpers.

``train(cfg, dataset, run_dir=...)`` trains; ``encode`` / ``decode`` / ``reconstruct`` / ``traverse`` turn a trained model and
images into numpy arrays for the metrics and the plots. See ``docs/models.md``.
"""

from benchmark.training.config import TrainConfig
from benchmark.training.inference import decode, encode, reconstruct, traverse
from benchmark.training.loop import (
    CHECKPOINT_NAME,
    CheckpointMismatchError,
    TrainResult,
    resolve_device,
    resolve_precision,
    train,
    train_step,
)

__all__ = [
    "CHECKPOINT_NAME", "CheckpointMismatchError", "TrainConfig", "TrainResult", "decode", "encode", "reconstruct",
    "resolve_device", "resolve_precision", "train", "train_step", "traverse",
]
