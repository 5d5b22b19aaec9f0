"""InfoWGAN-GP and QL-InfoWGAN-GP: Wasserstein GANs with gradient penalty and an InfoGAN latent regressor.

Hsu et al., *Disentanglement via Latent Quantization*, NeurIPS 2023, arXiv:2305.18378; reference
``kylehkhsu/latent_quantization`` (``disentangle/models/info_gan.py::InfoGAN``,
``quantized_info_gan.py::QuantizedInfoGAN``, ``configs/train_gan.yaml``). WGAN-GP: Gulrajani et al., NeurIPS 2017,
arXiv:1704.00028; InfoGAN: Chen et al., NeurIPS 2016, arXiv:1606.03657.

The critic and the latent regressor share the encoder: D(x) = Linear(features(x)) and z_hat(x) from ``pre_z``
(through the quantizer for QL-InfoWGAN-GP). The generator is the style decoder, G(z) = sigmoid(logits).
Prior: QL: each dimension uniform over its codebook; Info: U[0, 1]^L.

    critic:    D(G(z)) - D(x) + 10 * (||grad_x~ D(x~)||_2 - 1)^2 + 200 * mean_l (z_hat(G(z)) - z)^2 [+ 0.01 quant + 0.01 commit]
               x~ = eps x + (1 - eps) G(z), eps ~ U(0, 1) per sample
    generator: -D(G(z)) + 200 * mean_l (z_hat(G(z)) - z)^2 [+ 0.01 quant + 0.01 commit]

Phases: the critic every step, the generator when ``(step + 1) % 5 == 0`` (the reference's schedule). The critic optimizer owns the encoder and
the critic head; the generator optimizer owns the decoder and the codebooks (as in the reference), which
learn through the prior samples z.
"""

from __future__ import annotations


from collections.abc import Iterator

import torch
from torch import nn

from .base import Autoencoder
from benchmark.suites.disentanglement.config import ModelConfig
from .nets import init_like_equinox
from .qlae import QuantizedLatent

__all__ = ["InfoWGANGP", "QLInfoWGANGP"]


class InfoWGANGP(Autoencoder):
    """InfoWGAN-GP with a continuous U[0, 1]^L prior."""

    all_phases = ("critic", "generator")

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int) -> None:
        super().__init__(cfg, image_shape, n_factors)
        self.critic_head = nn.Linear(self.encoder.n_features, 1)
        init_like_equinox(self.critic_head)

    # --- latent handling (overridden by the quantized variant) ---
    def sample_prior(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand((n, self.n_latents), generator=generator, device=self.decoder.input_map.device)

    def infer(self, pre_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_hat used by the latent loss, extra loss per sample (B,))."""
        return pre_z.float(), torch.zeros(pre_z.shape[0], device=pre_z.device)

    # --- phases ---
    def phases(self, step: int) -> tuple[str, ...]:
        """The critic steps every step; the generator after every n-th critic step (steps n-1, 2n-1, ...), as the
        reference's ``(step + 1) % generator_step_period == 0``."""
        if (step + 1) % self.cfg.critic_steps_per_generator_step == 0:
            return ("critic", "generator")
        return ("critic",)

    def phase_parameters(self, phase: str) -> Iterator[tuple[str, nn.Parameter]]:
        if phase == "critic":
            prefixes = ("encoder.", "critic_head.")
        elif phase == "generator":
            prefixes = ("decoder.", "latent.")
        else:
            raise ValueError(f"phase must be one of 'critic', 'generator'; got {phase!r}.")
        return ((n, p) for n, p in self.named_parameters() if n.startswith(prefixes))

    def critic(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(value D(x) (B,), pre_z (B, L))."""
        out = self.encoder(x)
        return self.critic_head(out["features"])[:, 0].float(), out["pre_z"]

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z).float())  # (B, L) -> (B, C, H, W) in [0, 1]

    def loss(self, phase, x, generator):
        cfg = self.cfg
        batch = x.shape[0]
        if phase == "critic":
            with torch.no_grad():
                z_fake = self.sample_prior(batch, generator)
                x_fake = self.generate(z_fake)
            eps = torch.rand((batch, 1, 1, 1), generator=generator, device=x.device)
            x_mix = (eps * x + (1 - eps) * x_fake).requires_grad_(True)
            value_mix, _ = self.critic(x_mix)
            # under fp16 the inner gradient is taken of the loss-scaled value and unscaled in fp32 (exact: the
            # scale is a power of two); an overflow gives an inf penalty, and the GradScaler skips that step
            scale = float(self.inner_grad_scale)
            (grad,) = torch.autograd.grad(value_mix.sum() * scale, x_mix, create_graph=True)
            gradient_penalty = (grad.float().flatten(1).norm(dim=1) / scale - 1).square()  # (B,)
            value_real, _ = self.critic(x)
            value_fake, pre_z_fake = self.critic(x_fake)
            z_hat, extra = self.infer(pre_z_fake)
            latent = (z_hat - z_fake).square().mean(1)  # (B,)
            value = value_fake - value_real
            total = value + cfg.gradient_penalty_weight * gradient_penalty + cfg.latent_weight * latent + extra
            parts = {"critic_loss": total.mean(), "wasserstein": -value.mean(),
                     "gradient_penalty": gradient_penalty.mean(), "latent_critic": latent.mean()}
        elif phase == "generator":
            z_fake = self.sample_prior(batch, generator)
            value_fake, pre_z_fake = self.critic(self.generate(z_fake))
            z_hat, extra = self.infer(pre_z_fake)
            latent = (z_hat - z_fake).square().mean(1)
            total = -value_fake + cfg.latent_weight * latent + extra
            parts = {"generator_loss": total.mean(), "latent_generator": latent.mean()}
        else:
            raise ValueError(f"phase must be one of 'critic', 'generator'; got {phase!r}.")
        loss = total.mean()
        return loss, {k: v.detach() for k, v in parts.items()}

    # --- evaluation ---
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)["pre_z"].float()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generate(z)


class QLInfoWGANGP(InfoWGANGP):
    """QL-InfoWGAN-GP: the latent regressor's output is quantized; the prior is uniform over the codebooks."""

    quantized = True

    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int, int], n_factors: int) -> None:
        super().__init__(cfg, image_shape, n_factors)
        self.latent = QuantizedLatent(self.n_latents, cfg.n_values, cfg.global_codebook)

    def sample_prior(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.latent.sample(n, generator)

    def infer(self, pre_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.latent(pre_z)
        x, q = z["z_continuous"], z["z_quantized"]
        extra = (self.cfg.quantization_weight * self.latent.quantization_loss(x, q)
                 + self.cfg.commitment_weight * self.latent.commitment_loss(x, q))
        return z["z_hat"], extra

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.latent(self.encoder(x)["pre_z"])["z_quantized"]

    def traversal_values(self, latents: torch.Tensor, n_steps: int) -> torch.Tensor:
        return self.latent.codebook().detach().sort(dim=1).values


