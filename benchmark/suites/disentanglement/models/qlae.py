"""QLAE: the quantized-latent autoencoder, and its latent-quantization layer.

Hsu, Dorrell, Whittington, Wu and Finn, *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378; reference ``kylehkhsu/latent_quantization`` (``disentangle/latents/quantized.py::QuantizedLatent``,
``global_quantized.py::GlobalQuantizedLatent``, ``disentangle/models/quantized_ae.py::QuantizedAE``).

Each of the L latent dimensions has its own learnable scalar codebook of V values (V = 10), initialised
linspace(-0.5, 0.5, V). A continuous encoder output x_l is replaced by its nearest codebook value q_l; the
decoder receives the straight-through value z_hat = x + sg(q - x) (computed exactly like that, in float32).

    loss = BCE + w_q * mean_l (sg(x_l) - q_l)^2 + w_c * mean_l (x_l - sg(q_l))^2,      w_q = w_c = 0.01

The quantization term moves the codebook towards the encoder outputs; the commitment term moves the
encoder towards its codes. The ablation ``global_codebook=True`` shares one codebook of V values across dimensions.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Autoencoder, bce_per_sample
from benchmark.suites.disentanglement.config import ModelConfig

__all__ = ["QuantizedLatent", "QLAE"]


class QuantizedLatent(nn.Module):
    """Per-dimension (or global) scalar codebooks with nearest-value quantization.

    Parameters
    ----------
    n_latents : int
        L, the number of latent dimensions.
    n_values : int, default=10
        V, codebook values per dimension.
    global_codebook : bool, default=False
        Share one codebook of V values across all L dimensions.
    """

    def __init__(self, n_latents: int, n_values: int = 10, global_codebook: bool = False) -> None:
        super().__init__()
        self.n_latents = n_latents
        self.n_values = n_values
        self.global_codebook = global_codebook
        init = torch.linspace(-0.5, 0.5, n_values)
        self.values = nn.Parameter(init.clone() if global_codebook else init.repeat(n_latents, 1))  # (V,) or (L, V)

    def codebook(self) -> torch.Tensor:
        """The codebook as (L, V), one row per dimension (rows are views of one row when global)."""
        if self.global_codebook:
            return self.values.expand(self.n_latents, self.n_values)
        return self.values

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Quantize x (B, L). Returns ``z_continuous`` (x), ``z_quantized`` (q), ``z_hat`` and ``indices`` (B, L)."""
        x = x.float()
        codebook = self.codebook()  # (L, V)
        distance = (x[:, :, None] - codebook[None, :, :]).abs()  # (B, L, 1) - (1, L, V) -> (B, L, V)
        indices = distance.argmin(dim=2)  # (B, L)
        q = torch.gather(codebook.expand(x.shape[0], -1, -1), 2, indices[:, :, None])[:, :, 0]  # (B, L), grad -> codebook
        z_hat = x + (q - x).detach()  # straight-through: value q, gradient identity to x
        return {"z_continuous": x, "z_quantized": q, "z_hat": z_hat, "indices": indices}

    @staticmethod
    def quantization_loss(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """mean_l (sg(x) - q)^2 per sample: (B, L) -> (B,)."""
        return (x.detach() - q).square().mean(1)

    @staticmethod
    def commitment_loss(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """mean_l (x - sg(q))^2 per sample: (B, L) -> (B,)."""
        return (x - q.detach()).square().mean(1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n latents, each dimension uniform over its codebook: (n, L); gradients reach the codebook."""
        device = self.values.device
        indices = torch.randint(self.n_values, (n, self.n_latents), generator=generator, device=device)
        return torch.gather(self.codebook().expand(n, -1, -1), 2, indices[:, :, None])[:, :, 0]


class QLAE(Autoencoder):
    """Quantized-latent autoencoder (the ablations ``qlae_global_codebook`` and ``qlae_no_weight_decay`` included)."""

    quantized = True

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int) -> None:
        super().__init__(cfg, image_shape, n_factors)
        self.latent = QuantizedLatent(self.n_latents, cfg.n_values, cfg.global_codebook)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.latent(self.encoder(x)["pre_z"])["z_quantized"]

    def loss(self, phase, x, generator):
        z = self.latent(self.encoder(x)["pre_z"])
        bce = bce_per_sample(self.decoder(z["z_hat"]), x)
        quantization = self.latent.quantization_loss(z["z_continuous"], z["z_quantized"])
        commitment = self.latent.commitment_loss(z["z_continuous"], z["z_quantized"])
        loss = (bce + self.cfg.quantization_weight * quantization + self.cfg.commitment_weight * commitment).mean()
        parts = {"loss": loss, "bce": bce.mean(), "quantization": quantization.mean(), "commitment": commitment.mean()}
        return loss, {k: v.detach() for k, v in parts.items()}

    def traversal_values(self, latents: torch.Tensor, n_steps: int) -> torch.Tensor:
        """The sorted codebook of each dimension (L, V); ``n_steps`` is ignored."""
        return self.latent.codebook().detach().sort(dim=1).values
