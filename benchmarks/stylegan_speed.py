"""StyleGAN2 training speed (images per second) of the latent-semantics suite's generator against a straightforward one.

The timed iteration is the suite's own training step, ``StyleGANTask.step`` of
``benchmark/suites/latent_semantics/gan.py`` (rosinality/stylegan2-pytorch's ``train.py`` loop body), for both
generators: a ``StyleGANTask(GanSettings(size, style_dim, n_mlp, channels, batch))`` with every other setting at its
default (lazy R1 every 16 discriminator steps, path length every 4 generator steps, style mixing 0.9, lazy-corrected
Adam at lr 0.002, the generator EMA at ``GanSettings.ema_decay``), its ``build_model()`` and ``make_optimizers()``,
called as the engine calls it with a ``benchmark.training.StepState`` in fp32 (no autocast, disabled GradScaler).
Images/s = batch * timed steps / seconds, after warm-up steps (the first, step 0, runs both regularisers); step
indices continue, so 16 timed steps hold one R1 and four path-length steps, the lazy regularisers' share of a long
run. The real batch is drawn (with the engine's numpy stream) from seeded random images held on the device.

Ours is the task's own models: ``Generator`` and ``Discriminator`` of ``benchmark/suites/latent_semantics/stylegan2.py``
(one grouped convolution per modulated convolution, FIR up-sampling, equalised learning rate). The baseline is the
same task and step with the model's ``g`` and ``g_ema`` replaced by ``BaselineGenerator`` below: a generator of the
same shapes (channels, style_dim, n_mlp, layers, W+ rows) and call signature written without those tricks: the
modulated convolution loops over the batch (one modulated, demodulated weight and one ``F.conv2d`` per sample),
up-sampling is ``F.interpolate(bilinear)``, the mapping is plain ``nn.Linear`` with no learning-rate equalisation,
bias, leaky ReLU and gain are separate operations. Both runs train the same ``Discriminator`` (same channels, same
initial weights), so the ratio ours / baseline isolates the generator, mostly its modulated convolution. Every random
draw is seeded (models, real images, the step's latents, mixing choices, crossover rows and noise).

    python benchmarks/stylegan_speed.py                          # CPU, 2 threads: 32 px and 64 px, small widths
    python benchmarks/stylegan_speed.py --device cuda --paper    # and full width (style_dim 512, 8 mapping layers)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.environment import cpu_info
from benchmark.suites.latent_semantics.config import GanSettings
from benchmark.suites.latent_semantics.gan import StyleGANTask
from benchmark.suites.latent_semantics.stylegan2 import default_channels
from benchmark.training import StepState, resolve_device

PROFILES = {  # name: (size, style_dim, n_mlp, channels, batch)
    "32 px": (32, 64, 4, {4: 128, 8: 128, 16: 64, 32: 32}, 16),
    "64 px": (64, 128, 4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32}, 16),
}
PAPER = {
    "32 px paper": (32, 512, 8, {r: c for r, c in default_channels(1).items() if r <= 32}, 32),
    "64 px paper": (64, 512, 8, {r: c for r, c in default_channels(1).items() if r <= 64}, 32),
}


# ---------------------------------------------------------------------------------------------------------------------
# The baseline: a straightforward StyleGAN2 generator (per-sample convolutions, bilinear up-sampling, plain layers).
# ---------------------------------------------------------------------------------------------------------------------


class BaselineModConv(nn.Module):
    """Modulated convolution one sample at a time: s = A(w), W_b = W * s_b, W_b / ||W_b|| per output channel
    (``demodulate``), ``F.conv2d`` per sample; ``upsample`` first doubles the input with bilinear interpolation."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel) / math.sqrt(in_ch * kernel * kernel))
        self.modulation = nn.Linear(style_dim, in_ch)
        nn.init.ones_(self.modulation.bias)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel // 2

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        s = self.modulation(style)
        out = []
        for b in range(x.shape[0]):
            w = self.weight * s[b].view(1, -1, 1, 1)
            if self.demodulate:
                w = w * torch.rsqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
            out.append(F.conv2d(x[b:b + 1], w, padding=self.padding))
        return torch.cat(out)


class BaselineStyledConv(nn.Module):
    """Modulated 3x3 convolution, + noise (one map per sample, drawn with ``generator``) * scalar, + bias, leaky
    ReLU 0.2, * sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = BaselineModConv(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise_weight = nn.Parameter(torch.zeros(1))
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, generator: torch.Generator | None = None
                ) -> torch.Tensor:
        out = self.conv(x, style)
        out = out + self.noise_weight * torch.randn(out.shape[0], 1, *out.shape[2:], generator=generator,
                                                    device=out.device, dtype=out.dtype)
        out = out + self.bias
        return F.leaky_relu(out, 0.2) * math.sqrt(2)


class BaselineToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB (no demodulation) + bias + the bilinearly up-sampled previous RGB."""

    def __init__(self, in_ch: int, style_dim: int):
        super().__init__()
        self.conv = BaselineModConv(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


class BaselineGenerator(nn.Module):
    """The skip generator of ``Generator``'s shapes (same layers, channels, ``n_latent`` style rows) made of the plain
    blocks above, called as ``StyleGANTask.step`` calls ``Generator``: ``g(styles, return_latents=False,
    inject_index=None, generator=None) -> (images, latents or None)`` with ``styles`` a list of one or two z codes.
    Two codes mix as ``Generator.latents_from_styles`` does: W+ rows before the crossover ``inject_index`` (drawn
    uniformly from ``1..n_latent-1`` with ``generator`` when None) from the first, the rest from the second; the
    returned latents are the ones the layers read (in the graph, for the path-length gradient)."""

    def __init__(self, size: int, style_dim: int, n_mlp: int, channels: dict[int, int]):
        super().__init__()
        log_size = int(round(math.log2(size)))
        self.size, self.style_dim, self.n_latent = size, style_dim, 2 * log_size - 2
        layers: list[nn.Module] = []
        for _ in range(n_mlp):
            layers += [nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*layers)
        self.input = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.conv1 = BaselineStyledConv(channels[4], channels[4], style_dim)
        self.to_rgb1 = BaselineToRGB(channels[4], style_dim)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = channels[4]
        for i in range(3, log_size + 1):
            out_ch = channels[2**i]
            self.convs.append(BaselineStyledConv(in_ch, out_ch, style_dim, upsample=True))
            self.convs.append(BaselineStyledConv(out_ch, out_ch, style_dim))
            self.to_rgbs.append(BaselineToRGB(out_ch, style_dim))
            in_ch = out_ch

    def forward(self, styles: torch.Tensor | Sequence[torch.Tensor], return_latents: bool = False,
                inject_index: int | None = None, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        styles = [styles] if isinstance(styles, torch.Tensor) else list(styles)
        if not 1 <= len(styles) <= 2:
            raise ValueError(f"expected one or two styles, got {len(styles)}")
        ws = [self.mapping(z / torch.sqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)) for z in styles]
        n = self.n_latent
        if len(ws) == 1:
            latent = ws[0].unsqueeze(1).repeat(1, n, 1)
        else:
            if inject_index is None:
                inject_index = int(torch.randint(1, n, (1,), generator=generator,
                                                 device=None if generator is None else generator.device).item())
            latent = torch.cat([ws[0].unsqueeze(1).repeat(1, inject_index, 1),
                                ws[1].unsqueeze(1).repeat(1, n - inject_index, 1)], dim=1)
        out = self.conv1(self.input.repeat(latent.shape[0], 1, 1, 1), latent[:, 0], generator)
        skip = self.to_rgb1(out, latent[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * j](out, latent[:, 2 * j + 1], generator)
            out = self.convs[2 * j + 1](out, latent[:, 2 * j + 2], generator)
            skip = to_rgb(out, latent[:, 2 * j + 3], skip)
        return skip, (latent if return_latents else None)


# ---------------------------------------------------------------------------------------------------------------------
# The suite's task (ours, and with the baseline generator) and the timing of its step.
# ---------------------------------------------------------------------------------------------------------------------


class RandomImages:
    """``ImageBatches``-like real images: ``n`` seeded random images in [-1, 1] held on ``device``; ``batch`` draws
    random indices with the engine's numpy stream (a new tensor each call, as the step may set requires_grad)."""

    def __init__(self, n: int, size: int, device: torch.device, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.images = (torch.rand(n, 3, size, size, generator=gen) * 2 - 1).to(device)
        self.n = n

    def batch(self, rng: np.random.Generator, size: int, device: torch.device) -> torch.Tensor:
        idx = torch.from_numpy(np.sort(rng.integers(0, self.n, size=size))).to(self.images.device)
        return self.images[idx].to(device)


class BaselineTask(StyleGANTask):
    """``StyleGANTask`` (same settings, optimizers and ``step``) whose ``g`` and ``g_ema`` are ``BaselineGenerator``;
    the discriminator is the task's own (built first, so from the same seed it starts as ours does)."""

    def build_model(self) -> nn.ModuleDict:
        models = super().build_model()
        s = self.s
        g = BaselineGenerator(s.size, s.style_dim, s.n_mlp, s.channel_map())
        g_ema = BaselineGenerator(s.size, s.style_dim, s.n_mlp, s.channel_map())
        g_ema.load_state_dict(g.state_dict())
        return nn.ModuleDict({"g": g, "d": models["d"], "g_ema": g_ema.eval().requires_grad_(False)})


def settings(size: int, style_dim: int, n_mlp: int, channels: dict[int, int], batch: int) -> GanSettings:
    """A row's ``GanSettings``: its shapes and batch, every training setting at its default (``k``, the Householder
    rank, unused in pre-training, capped by the widths so that narrow test rows are valid)."""
    return GanSettings(size=size, style_dim=style_dim, n_mlp=n_mlp,
                       channels=tuple((int(r), int(c)) for r, c in sorted(channels.items())), batch=batch,
                       k=min(GanSettings.k, style_dim, *channels.values()))


def make_task(s: GanSettings, device: torch.device, baseline: bool = False, seed: int = 0
              ) -> tuple[StyleGANTask, StepState]:
    """The task (``BaselineTask`` if ``baseline``) and the ``StepState`` the engine would give its ``step`` in fp32:
    models built right after ``torch.manual_seed(seed)``, on ``device``, in train mode (``g_ema`` in eval)."""
    images = RandomImages(max(64, 2 * s.batch), s.size, device, seed)
    task = (BaselineTask if baseline else StyleGANTask)(s, images, label="speed", data_hash="speed")
    torch.manual_seed(seed)
    model = task.build_model().to(device)
    model["g"].train()
    model["d"].train()
    state = StepState(model, task.make_optimizers(model, device), np.random.default_rng(seed),
                      torch.Generator(device=device).manual_seed(seed), device, torch.contiguous_format,
                      contextlib.nullcontext, torch.amp.GradScaler("cuda", enabled=False))
    return task, state


def images_per_second(task: StyleGANTask, state: StepState, iters: int, warmup: int) -> float:
    """Training images per second over ``iters`` calls of ``task.step`` after ``warmup`` untimed ones (step indices
    continue, so the regularisers fall where they would in a run)."""
    device = state.device
    for i in range(warmup):
        task.step(state, i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(warmup, warmup + iters):
        task.step(state, i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return task.s.batch * iters / (time.perf_counter() - start)


def measure(size: int, style_dim: int, n_mlp: int, channels: dict[int, int], batch: int, device: torch.device,
            iters: int, warmup: int, seed: int = 0) -> tuple[float, float]:
    """(ours, baseline) training images per second of ``StyleGANTask.step``; each with a fresh task and models."""
    s = settings(size, style_dim, n_mlp, channels, batch)
    ours = images_per_second(*make_task(s, device, baseline=False, seed=seed), iters, warmup)
    base = images_per_second(*make_task(s, device, baseline=True, seed=seed), iters, warmup)
    return ours, base


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--paper", action="store_true", help="add full-width rows (style_dim 512, 8 mapping layers, "
                                                             "channel multiplier 1, batch 32): a GPU")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help="image sizes to run (32, 64)")
    parser.add_argument("--iters", type=int, default=16, help="timed iterations (16 holds the lazy regularisers "
                                                              "in proportion)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=0, help="override every row's batch (0: the profile's)")
    parser.add_argument("--max-channels", type=int, default=0, help="cap every resolution's channels (0: none)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="write the rows (and the machine) to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cpu = cpu_info()
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else None
    print(f"machine: {cpu['model']} ({' '.join(cpu['isa'])}; torch kernels {cpu['cpu_capability']}); device {device}"
          f"{' ' + gpu if gpu else ''}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    profiles = {**PROFILES, **(PAPER if args.paper else {})}
    print(f"{'size':<12} {'batch':>5} {'ours img/s':>11} {'baseline img/s':>15} {'ours/baseline':>13}")
    rows = []
    for name, (size, style_dim, n_mlp, channels, batch) in profiles.items():
        if size not in args.sizes:
            continue
        if args.max_channels:
            channels = {r: min(c, args.max_channels) for r, c in channels.items()}
        batch = args.batch or batch
        ours, base = measure(size, style_dim, n_mlp, channels, batch, device, args.iters, args.warmup)
        print(f"{name:<12} {batch:>5} {ours:>11.1f} {base:>15.1f} {ours / base:>13.2f}", flush=True)
        rows.append({"profile": name, "size": size, "batch": batch, "style_dim": style_dim, "n_mlp": n_mlp,
                     "channels": {str(r): c for r, c in channels.items()}, "iters": args.iters, "warmup": args.warmup,
                     "device": str(device), "ours_images_per_second": ours, "baseline_images_per_second": base,
                     "ratio": ours / base})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": {"cpu": cpu, "gpu": gpu, "torch": torch.__version__,
                                   "threads": torch.get_num_threads()}, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
