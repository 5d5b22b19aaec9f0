"""What every model of the suite offers the training loop, the evaluation and the plots.

A model trains in one or more *phases* per step (autoencoders: ``('model',)``; GANs: ``('critic',)`` and,
every few steps, ``('critic', 'generator')``). Each phase has its own optimizer over
:meth:`DisentanglementModel.phase_parameters` and its own loss from :meth:`DisentanglementModel.loss`.

Parameter split for the optimizer (reference: ``disentangle/models/ae.py::AE.param_labels``): parameters
named ``*.bias`` and everything under ``latent.`` (the codebooks) are *unregularized* (plain Adam);
all others (conv/linear weights, GroupNorm scales, the decoder's ``input_map``) are *regularized*
(element-wise gradient clip, then AdamW with decoupled weight decay).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from benchmark.suites.disentanglement.config import ModelConfig
from .nets import ARCHITECTURES, Encoder, StyleDecoder, init_like_equinox

__all__ = ["DisentanglementModel", "Autoencoder", "is_regularized", "bce_per_sample"]


def is_regularized(name: str) -> bool:
    """True for parameters that get weight decay and gradient clipping: not a bias, not in the latent."""
    return not (name.endswith("bias") or name.startswith("latent.") or ".latent." in name)


def bce_per_sample(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sigmoid binary cross-entropy averaged over pixels: (B, C, H, W) -> (B,)."""
    return F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none").flatten(1).mean(1)


class DisentanglementModel(nn.Module):
    """Base class. Subclasses set ``self.cfg``, ``self.n_latents`` and implement the methods below."""

    cfg: ModelConfig
    n_latents: int
    quantized: bool = False  # True when encode() returns codebook values
    all_phases: tuple[str, ...] = ("model",)  # every phase name phases() can return, one optimizer each
    # The loss scale of fp16 mixed precision, set by the training loop before each loss (1.0 otherwise). A loss
    # that differentiates inside itself (the GANs' gradient penalty) scales that inner gradient by it, so it does
    # not underflow in fp16 either (torch.amp's recipe for gradient penalties).
    inner_grad_scale: float = 1.0

    def phases(self, step: int) -> tuple[str, ...]:
        """Names of the optimizer phases run at training step ``step`` (0-based), in order."""
        return ("model",)

    def phase_parameters(self, phase: str) -> Iterator[tuple[str, nn.Parameter]]:
        """(name, parameter) pairs updated by the optimizer of ``phase``."""
        if phase != "model":
            raise ValueError(f"phase must be 'model'; got {phase!r}.")
        return self.named_parameters()

    def loss(self, phase: str, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss of ``phase`` on the batch ``x`` (B, C, H, W) in [0, 1], and its named parts (detached)."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Representation scored by the metrics: (B, C, H, W) -> (B, L). Quantized models: codebook values; VAEs: mean."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] from representations: (B, L) -> (B, C, H, W)."""
        return torch.sigmoid(self.decoder(z).float())

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(encode(x)): (B, C, H, W) -> (B, C, H, W) in [0, 1]."""
        return self.decode(self.encode(x))

    def traversal_values(self, latents: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Values to sweep per latent dimension for a traversal plot: (L, n_steps).

        Continuous latents: evenly spaced between the 2nd and 98th percentiles of ``latents`` (N, L).
        Quantized models override this with their sorted codebooks.
        """
        q = torch.linspace(0.02, 0.98, n_steps, device=latents.device)
        return torch.quantile(latents.float(), q, dim=0).T  # (n_steps, L) -> (L, n_steps)


class Autoencoder(DisentanglementModel):
    """Encoder + style decoder built from the config; single phase ``'model'``.

    Parameters
    ----------
    cfg : ModelConfig
    image_shape : tuple of int
        (C, H, W) of the dataset's images; H == W.
    n_factors : int
        Number of ground-truth factors (sets L = 2 x n_factors unless ``cfg.n_latents`` is set).
    encoder_outputs_per_latent : int
        1, or 2 for Gaussian latents (mean and scale).
    """

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int,
                 encoder_outputs_per_latent: int = 1) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"image_shape must be square (C, H, H); got {tuple(image_shape)}.")
        self.cfg = cfg
        self.image_shape = tuple(image_shape)
        self.n_latents = cfg.latent_size(n_factors)
        net = ARCHITECTURES[cfg.architecture]
        self.encoder = Encoder(channels, height, encoder_outputs_per_latent * self.n_latents, net)
        self.decoder = StyleDecoder(self.n_latents, channels, height, net)
        init_like_equinox(self)
