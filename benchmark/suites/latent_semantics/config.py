"""Settings of the latent-semantics suite, torch-free (listing the suites imports them): the StyleGAN2 and its
schedule, the factor probe's training, the evaluation's sample sizes, and the direction methods."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["GanSettings", "ProbeSettings", "EvalSettings", "METHODS"]
WEIGHT_NAMES = ("inception", "vgg16", "lpips")  # --weights inception=PATH vgg16=PATH lpips=PATH

METHODS = ("householder", "sefa", "random")


@dataclass(frozen=True)
class GanSettings:
    """A StyleGAN2 configuration and its training schedule (rosinality's defaults where not stated)."""

    size: int = 32
    style_dim: int = 64
    n_mlp: int = 4
    channels: tuple[tuple[int, int], ...] = ((4, 64), (8, 64), (16, 64), (32, 32))
    batch: int = 16
    iterations: int = 1500  # pre-training iterations (one D and one G step each)
    lr: float = 0.002
    r1: float = 10.0
    d_reg_every: int = 16
    g_reg_every: int = 4
    path_regularize: float = 2.0
    path_batch_shrink: int = 2
    mixing: float = 0.9
    ema_kimg: float = 10.0  # EMA half-life in thousands of images
    ema_rampup: float | None = None  # StyleGAN2-ADA: half-life at most this fraction of the images seen so far
    lr_mlp: float = 0.01
    checkpoint_every: int = 500
    k: int = 10  # Householder projector rank (directions per layer)
    finetune_fraction: float = 0.05  # fine-tuning iterations as a fraction of ``iterations``

    def __post_init__(self) -> None:
        if self.size not in (32, 64):
            raise ValueError(f"size must be 32 or 64; got {self.size}.")
        if not 0.0 < self.finetune_fraction <= 1.0:
            raise ValueError(f"finetune_fraction must be in (0, 1]; got {self.finetune_fraction}.")
        sizes = dict(self.channels)
        missing = [2 ** i for i in range(2, int(math.log2(self.size)) + 1) if 2 ** i not in sizes]
        if missing:
            raise ValueError(f"channels must give every resolution 4..{self.size}; missing {missing}.")
        if self.k > min(self.style_dim, *sizes.values()):
            raise ValueError(f"k = {self.k} exceeds the style dimension or a channel count.")

    @property
    def finetune_iterations(self) -> int:
        return max(1, round(self.iterations * self.finetune_fraction))

    def ema_decay(self, step: int = 10**12) -> float:
        """:math:`\\beta = 0.5^{B / n}`, :math:`n` the half-life in images: ``ema_kimg`` thousand, or with
        ``ema_rampup`` at most that fraction of the images seen before ``step`` (Karras et al. 2020, ADA)."""
        half_life = self.ema_kimg * 1000.0
        if self.ema_rampup is not None:
            half_life = min(half_life, step * self.batch * self.ema_rampup)
        return 0.5 ** (self.batch / max(half_life, 1e-8))

    def channel_map(self) -> dict[int, int]:
        return {int(r): int(c) for r, c in self.channels}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = [list(p) for p in self.channels]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GanSettings:
        d = dict(d)
        d["channels"] = tuple((int(r), int(c)) for r, c in d["channels"])
        return cls(**d)


@dataclass(frozen=True)
class ProbeSettings:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    width: int = 32
    n_heldout: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class EvalSettings:
    n_latents: int = 32  # traversal starting points per direction
    n_alpha: int = 7
    alpha_scale: float = 1.0
    truncation: float = 0.7
    n_mean_latent: int = 4096
    n_fid: int = 2000  # generated images for the Fréchet distance
    n_real: int = 5000  # real images of the cached statistics
    n_ppl: int = 500  # pairs of PPL and of PIPL
    ppl_eps: float = 1e-4
    batch: int = 128
