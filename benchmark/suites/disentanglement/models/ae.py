"""Deterministic autoencoders: AE and BioAE.

- AE: binary cross-entropy reconstruction only (``disentangle/models/ae.py``).
- BioAE (Whittington et al., *Disentanglement with biological constraints*, ICLR 2023, arXiv:2210.01768;
  reference ``disentangle/models/bio_ae.py``): loss = BCE + w_nonneg * mean(relu(-z)) + w_act * mean(z^2),
  pushing latents to be non-negative and sparse in activity.

Both follow Hsu et al., NeurIPS 2023, arXiv:2305.18378 (``kylehkhsu/latent_quantization``).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .base import Autoencoder, bce_per_sample
from benchmark.suites.disentanglement.config import ModelConfig

__all__ = ["AE", "BioAE"]


class AE(Autoencoder):
    """Plain autoencoder; the latent is the encoder's ``pre_z`` (B, L)."""

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int) -> None:
        super().__init__(cfg, image_shape, n_factors)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)["pre_z"].float()

    def loss(self, phase, x, generator):
        z = self.encoder(x)["pre_z"]  # (B, L)
        bce = bce_per_sample(self.decoder(z), x)  # (B,)
        loss = bce.mean()
        return loss, {"loss": loss.detach(), "bce": bce.mean().detach()}


class BioAE(AE):
    """Autoencoder with the non-negativity and activity penalties of BioAE."""

    def loss(self, phase, x, generator):
        z = self.encoder(x)["pre_z"].float()  # (B, L)
        bce = bce_per_sample(self.decoder(z), x).mean()
        nonnegativity = F.relu(-z).mean()
        activity = z.square().mean()
        loss = bce + self.cfg.nonnegativity_weight * nonnegativity + self.cfg.activity_weight * activity
        parts = {"loss": loss, "bce": bce, "nonnegativity": nonnegativity, "activity": activity}
        return loss, {k: v.detach() for k, v in parts.items()}
