"""StyleGAN2 training and Householder fine-tuning as tasks of the shared training engine.

One engine step is one iteration of rosinality/stylegan2-pytorch's ``train.py`` (Karras et al., CVPR 2020):

1. discriminator: :math:`\\mathcal L_D = \\mathbb E[\\operatorname{softplus}(D(G(z)))] +
   \\mathbb E[\\operatorname{softplus}(-D(x))]` on a real batch and a fake one;
2. lazy R1 every ``d_reg_every`` steps: :math:`\\tfrac{\\gamma}{2} \\cdot d_{reg} \\cdot
   \\mathbb E\\lVert \\nabla_x D(x) \\rVert^2` (plus :math:`0 \\cdot D(x)_0`, as the reference);
3. generator: :math:`\\mathcal L_G = \\mathbb E[\\operatorname{softplus}(-D(G(z)))]`, with style mixing
   (two codes, a random crossover row) at probability ``mixing``;
4. lazy path-length regularisation every ``g_reg_every`` steps on ``batch // path_batch_shrink`` samples,
   weight :math:`w_{pl} \\cdot g_{reg}`;
5. the generator EMA, :math:`\\theta_{ema} \\leftarrow \\beta \\theta_{ema} + (1 - \\beta) \\theta`,
   :math:`\\beta = 0.5^{B / n}` for a half-life of :math:`n` images (10k in the reference; with StyleGAN2-ADA's
   ramp-up, at most a fraction of the images seen so far, which short runs need).

Both Adam optimisers take the lazy-regularisation correction: learning rate :math:`\\eta\\, r` and betas
:math:`(0^r, 0.99^r)` with :math:`r = n / (n + 1)` for a regulariser every :math:`n` steps. The running mean of
the path lengths is task state (saved in every checkpoint), so that a resumed run continues exactly.

Fine-tuning (Song et al., ICCV 2023): the same step, started from a pretrained checkpoint whose upsampling
styled convolutions of every block from 8 px up have their modulation replaced by a
:class:`~benchmark.suites.latent_semantics.householder.HouseholderModulation` initialised from the pretrained
weight; no extra loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.suites.latent_semantics import stylegan2 as sg
from benchmark.suites.latent_semantics.config import GanSettings
from benchmark.suites.latent_semantics.householder import HouseholderModulation

__all__ = ["GanSettings", "StyleGANTask", "build_generator", "build_discriminator", "projector_layers",
           "insert_projectors", "load_generator", "ImageBatches"]


def build_generator(s: GanSettings) -> sg.Generator:
    return sg.Generator(s.size, s.style_dim, s.n_mlp, channels=s.channel_map(), lr_mlp=s.lr_mlp)


def build_discriminator(s: GanSettings) -> sg.Discriminator:
    return sg.Discriminator(s.size, channels=s.channel_map())


def projector_layers(g: sg.Generator) -> list[tuple[int, int, int]]:
    """The layers that get a projector: ``(block, resolution, W+ row)`` of the first (upsampling) styled
    convolution of every block from 8 px up (``g.convs[2 * block]`` reads row ``2 * block + 1``)."""
    return [(j, 2 ** (j + 3), 2 * j + 1) for j in range(len(g.convs) // 2)]


def insert_projectors(g: sg.Generator, k: int) -> None:
    """Replace the modulation of every projector layer by a Householder projector initialised exactly from the
    layer's effective pretrained weight and bias (:meth:`HouseholderModulation.init_from_weight`)."""
    for block, _, _ in projector_layers(g):
        conv = g.convs[2 * block].conv
        old = conv.modulation
        if isinstance(old, HouseholderModulation):
            continue
        proj = HouseholderModulation(old.weight.shape[1], old.weight.shape[0], k=k)
        proj.init_from_weight(old.effective_weight.detach(), old.effective_bias.detach())
        conv.modulation = proj.to(old.weight.device)


class ImageBatches:
    """Real training images: random indices of a factor dataset, drawn with the engine's numpy stream, as
    float tensors in [-1, 1]."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.n = len(dataset)

    def batch(self, rng: np.random.Generator, size: int, device: torch.device) -> torch.Tensor:
        idx = np.sort(rng.integers(0, self.n, size=size))
        x = torch.from_numpy(np.ascontiguousarray(self.dataset.images_at(idx, np.float32)))
        if x.shape[1] == 1:  # binary dSprites: three equal channels, as the generator draws RGB
            x = x.expand(-1, 3, -1, -1)
        return (x * 2.0 - 1.0).to(device)


def _lazy_adam(params, lr: float, every: int) -> torch.optim.Adam:
    ratio = every / (every + 1)
    return torch.optim.Adam(params, lr=lr * ratio, betas=(0.0 ** ratio, 0.99 ** ratio))


def _models(s: GanSettings, householder: bool) -> nn.ModuleDict:
    g, d, g_ema = build_generator(s), build_discriminator(s), build_generator(s)
    g_ema.load_state_dict(g.state_dict())
    if householder:  # only the shapes: the weights come from the pretrained checkpoint
        for gen in (g, g_ema):
            insert_projectors(gen, s.k)
    return nn.ModuleDict({"g": g, "d": d, "g_ema": g_ema.eval().requires_grad_(False)})


def load_generator(path: str | Path, s: GanSettings, *, householder: bool = False, which: str = "g_ema"
                   ) -> sg.Generator:
    """The generator ``which`` (``g_ema`` by default) of an engine checkpoint or ``best.pt`` of this module's
    tasks; ``householder`` for a fine-tuned one."""
    from benchmark.training import load_checkpoint

    state = load_checkpoint(Path(path))["model"]
    models = _models(s, householder)
    models.load_state_dict(state)
    return models[which].eval()


class StyleGANTask:
    """One StyleGAN2 run on the engine: pre-training from scratch, or Householder fine-tuning from
    ``init_from`` (an engine checkpoint of a pre-training run)."""

    divergence_hint = "lower the learning rate or raise the R1 weight (gamma)"

    def __init__(self, settings: GanSettings, images: ImageBatches, *, label: str, data_hash: str,
                 init_from: str | Path | None = None):
        self.s = settings
        self.images = images
        self.label = label
        self.data_hash = data_hash
        self.init_from = None if init_from is None else Path(init_from)
        self.householder = init_from is not None
        self.mean_path_length = 0.0
        self.steps = settings.finetune_iterations if self.householder else settings.iterations
        # fine-tuning continues the pretrained run: its EMA ramp-up counts the pre-training's images
        self.images_before = settings.iterations * settings.batch if self.householder else 0

    def data_identity(self) -> dict[str, Any]:
        return {"dataset": self.data_hash, "gan": self.s.to_dict(), "householder": self.householder}

    def build_model(self) -> nn.ModuleDict:
        if not self.householder:
            return _models(self.s, householder=False)
        from benchmark.training import load_checkpoint

        pretrained = _models(self.s, householder=False)
        pretrained.load_state_dict(load_checkpoint(self.init_from)["model"])
        for name in ("g", "g_ema"):  # each generator's projectors from its own pretrained weights
            insert_projectors(pretrained[name], self.s.k)
        pretrained["g_ema"].requires_grad_(False)
        return pretrained

    def make_optimizers(self, model: nn.ModuleDict, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return {"g": _lazy_adam(model["g"].parameters(), self.s.lr, self.s.g_reg_every),
                "d": _lazy_adam(model["d"].parameters(), self.s.lr, self.s.d_reg_every)}

    def task_state(self) -> dict[str, Any]:
        return {"mean_path_length": float(self.mean_path_length)}

    def load_task_state(self, state: dict[str, Any]) -> None:
        self.mean_path_length = float(state["mean_path_length"])

    def _latents(self, state, n: int) -> list[torch.Tensor]:
        """One code, or two for style mixing at probability ``mixing`` (drawn from the engine's noise stream)."""
        g = state.noise
        mix = float(torch.rand((), generator=g, device=state.device)) < self.s.mixing
        return [torch.randn(n, self.s.style_dim, generator=g, device=state.device) for _ in range(2 if mix else 1)]

    def step(self, state, step: int) -> dict[str, torch.Tensor]:
        s, models, opt = self.s, state.model, state.optimizers
        g, d, g_ema = models["g"], models["d"], models["g_ema"]
        noise = state.noise
        real = self.images.batch(state.data_rng, s.batch, state.device)

        # discriminator
        g.requires_grad_(False)
        d.requires_grad_(True)
        fake, _ = g(self._latents(state, s.batch), generator=noise)
        d_loss = sg.d_logistic_loss(d(real), d(fake))
        opt["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opt["d"].step()
        out = {"d": d_loss.detach()}
        if step % s.d_reg_every == 0:
            real.requires_grad_(True)
            real_pred = d(real)
            r1 = sg.d_r1_loss(real_pred, real)
            opt["d"].zero_grad(set_to_none=True)
            (s.r1 / 2 * r1 * s.d_reg_every + 0 * real_pred[0]).sum().backward()
            opt["d"].step()
            out["r1"] = r1.detach()

        # generator
        g.requires_grad_(True)
        d.requires_grad_(False)
        fake, _ = g(self._latents(state, s.batch), generator=noise)
        g_loss = sg.g_nonsaturating_loss(d(fake))
        opt["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opt["g"].step()
        out["g"] = g_loss.detach()
        if s.path_regularize and step % s.g_reg_every == 0:
            n = max(1, s.batch // s.path_batch_shrink)
            fake, latents = g(self._latents(state, n), return_latents=True, generator=noise)
            penalty, self.mean_path_length, _ = sg.g_path_regularize(fake, latents, self.mean_path_length,
                                                                     generator=noise)
            self.mean_path_length = float(self.mean_path_length)
            opt["g"].zero_grad(set_to_none=True)
            weighted = s.path_regularize * s.g_reg_every * penalty
            if s.path_batch_shrink:
                weighted = weighted + 0 * fake[0, 0, 0, 0]
            weighted.backward()
            opt["g"].step()
            out["path"] = penalty.detach()
        sg.accumulate(g_ema, g, s.ema_decay(step + self.images_before // s.batch))
        d.requires_grad_(True)
        return out
