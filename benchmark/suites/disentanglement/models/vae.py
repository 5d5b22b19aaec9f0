"""Gaussian-latent autoencoders: beta-VAE and beta-TCVAE.

- beta-VAE (Higgins et al., ICLR 2017): per sample, loss = BCE + (L / D) * beta * mean_l KL(q(z_l|x) || N(0, 1)),
  with BCE averaged over the D = C*H*W pixels, so the total equals (sum BCE + beta * sum KL) / D
  (reference ``disentangle/models/vae.py``).
- beta-TCVAE (Chen et al., NeurIPS 2018, arXiv:1802.04942; reference ``disentangle/models/tcvae.py``):
  loss = BCE + (alpha * MI + beta * TC + gamma * dimKL) / D, where log q(z) and log prod_l q(z_l) are estimated
  by minibatch-weighted sampling, log q(z_i) ~= logsumexp_j log q(z_i | x_j) - log(B * N), N the dataset size.

The encoder outputs (mu, s) per latent; sigma = softplus(s). Training decodes a reparameterised sample drawn
with the loop's ``torch.Generator``; :meth:`encode` (used by the metrics) and reconstructions use the mean.
Following Hsu et al., NeurIPS 2023, arXiv:2305.18378 (``kylehkhsu/latent_quantization``).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .base import Autoencoder, bce_per_sample
from benchmark.suites.disentanglement.config import ModelConfig

__all__ = ["BetaVAE", "BetaTCVAE", "gaussian_log_density"]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Element-wise log N(z; mu, sigma^2) (broadcasting)."""
    return -0.5 * (_LOG_2PI + ((z - mu) / sigma).square()) - torch.log(sigma)


class BetaVAE(Autoencoder):
    """beta-VAE with a diagonal Gaussian posterior and a standard normal prior."""

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int) -> None:
        super().__init__(cfg, image_shape, n_factors, encoder_outputs_per_latent=2)
        self.x_dim = math.prod(image_shape)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, sigma), each (B, L)."""
        mu, s = self.encoder(x)["pre_z"].float().chunk(2, dim=1)  # (B, 2L) -> 2 x (B, L)
        return mu, F.softplus(s)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def _sample(self, x, generator):
        mu, sigma = self.posterior(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + sigma * eps  # (B, L)
        return mu, sigma, z, bce_per_sample(self.decoder(z), x)

    def loss(self, phase, x, generator):
        mu, sigma, _, bce = self._sample(x, generator)
        kl = (-torch.log(sigma) + 0.5 * (mu.square() + sigma.square() - 1)).mean(1)  # (B,), mean over latents
        loss = (bce + (self.n_latents / self.x_dim) * self.cfg.beta * kl).mean()
        return loss, {"loss": loss.detach(), "bce": bce.mean().detach(), "kl": kl.mean().detach()}


class BetaTCVAE(BetaVAE):
    """beta-TCVAE with minibatch-weighted sampling.

    Parameters
    ----------
    dataset_size : int
        N in the minibatch-weighted-sampling estimate log q(z) ~= logsumexp_j log q(z|x_j) - log(B N).
    """

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int, dataset_size: int) -> None:
        super().__init__(cfg, image_shape, n_factors)
        if not isinstance(dataset_size, int) or dataset_size < 1:
            raise ValueError(f"dataset_size must be an integer >= 1; got {dataset_size!r}.")
        self.dataset_size = dataset_size

    def tc_terms(self, z, mu, sigma) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample (MI, TC, dimension-wise KL) estimates, each (B,)."""
        batch = z.shape[0]
        log_norm = math.log(batch) + math.log(self.dataset_size)
        log_q_z_given_x = gaussian_log_density(z, mu, sigma).sum(1)  # (B,)
        log_p_z = gaussian_log_density(z, torch.zeros_like(z), torch.ones_like(z)).sum(1)  # (B,)
        # (B_i, 1, L) vs (1, B_j, L) -> (B_i, B_j, L): log q(z_i,l | x_j)
        log_q_ijl = gaussian_log_density(z[:, None, :], mu[None, :, :], sigma[None, :, :])
        log_q_z = torch.logsumexp(log_q_ijl.sum(2), dim=1) - log_norm  # (B,)
        log_prod_q_zl = (torch.logsumexp(log_q_ijl, dim=1) - log_norm).sum(1)  # (B, L) -> (B,)
        return log_q_z_given_x - log_q_z, log_q_z - log_prod_q_zl, log_prod_q_zl - log_p_z

    def loss(self, phase, x, generator):
        mu, sigma, z, bce = self._sample(x, generator)
        mi, tc, dim_kl = self.tc_terms(z, mu, sigma)
        cfg = self.cfg
        loss = (bce + (cfg.tc_mi_weight * mi + cfg.beta * tc + cfg.tc_dimkl_weight * dim_kl) / self.x_dim).mean()
        parts = {"loss": loss, "bce": bce.mean(), "mi": mi.mean(), "tc": tc.mean(), "dim_kl": dim_kl.mean()}
        return loss, {k: v.detach() for k, v in parts.items()}
