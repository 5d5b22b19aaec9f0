"""The equivariance suite's model names and run hyperparameters (no torch: ``python -m benchmark list`` reads them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["MODELS", "TrainSettings"]

# model -> (architecture mode, which candidate group it is built for: 'largest' or 'correct')
MODELS = {"mlp": ("mlp", None), "emlp": ("emlp", "largest"), "emlp_correct": ("emlp", "correct"),
          "rpp": ("rpp", "largest"), "per": ("per", "largest")}


@dataclass(frozen=True)
class TrainSettings:
    """The hyperparameters of one run (the reference's defaults per task are in the profiles)."""

    epochs: int = 8000
    batch_size: int = 500
    lr: float = 1e-3
    min_lr: float = 0.0
    ch: int = 128
    wd: float = 2e-4
    gated_wd: float = 1.0
    rpp_wd: float = 1e-2  # weight decay of RPP's unconstrained path
    t_adj: int = 2000
    power: float = 2.0
    window: int = 100
    warmup: int = 50
    select_after: int = 4000  # best-validation selection only after 2 * t_adj epochs, as the reference
    patience: int = 50  # epochs without a better validation MSE (after select_after) that stop the run; 0: never
    per_init: str = "plain"  # PER's initial weights: 'plain', or 'halfsoft' (W <- P0 W / 2 + W / 2, the reference's
    # rpp_init for motion: halfway into the largest group's subspace)
    eval_every: int = 1  # epochs between evaluations (the reference: every epoch)
    checkpoint_every: int = 50  # epochs between checkpoints

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
