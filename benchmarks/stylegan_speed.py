"""StyleGAN2 training speed (images per second) of the latent-semantics suite's generator against a straightforward one.

One training iteration is rosinality/stylegan2-pytorch's ``train.py`` loop body: a discriminator step (non-saturating
logistic loss on a real and a fake batch), R1 on the real batch every 16 discriminator steps (weight
gamma/2 * 16, gamma = 10), a generator step (non-saturating loss), the path-length penalty every 4 generator steps
(weight 2 * 4, at half batch), style mixing with probability 0.9, Adam (lr 0.002, betas (0, 0.99), both adjusted for
the lazy regularisation as that script does: lr * c, betas ** c, c = k / (k + 1)) and the generator's EMA update
(``accumulate``, decay 0.5 ** (32 / 10,000)). Images/s = batch * timed iterations / seconds, after warm-up iterations
(the first of which runs both regularisers); 16 timed iterations hold one R1 and four path-length steps, the lazy
regularisers' share of a long run. The real batch is random images held on the device.

Ours is ``Generator`` and ``Discriminator`` of ``benchmark/suites/latent_semantics/stylegan2.py`` (one grouped
convolution per modulated convolution, FIR up-sampling, equalised learning rate). The baseline is the
``Baseline*`` classes below: a generator of the same shapes (channels, style_dim, n_mlp, layers, W+ rows) written
without those tricks: the modulated convolution loops over the batch (one modulated, demodulated weight and one
``F.conv2d`` per sample), up-sampling is ``F.interpolate(bilinear)``, the mapping is plain ``nn.Linear`` with no
learning-rate equalisation, bias, leaky ReLU and gain are separate operations. Both runs train the same
``Discriminator`` class (same channels), so the ratio ours / baseline isolates the generator, mostly its modulated
convolution. Every random draw is seeded (models, real batch, latents, mixing choices, noise).

    python benchmarks/stylegan_speed.py                          # CPU, 2 threads: 32 px and 64 px, small widths
    python benchmarks/stylegan_speed.py --device cuda --paper    # and full width (style_dim 512, 8 mapping layers)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.environment import cpu_info
from benchmark.suites.latent_semantics.stylegan2 import (Discriminator, Generator, accumulate, d_logistic_loss,
                                                         d_r1_loss, default_channels, g_nonsaturating_loss,
                                                         g_path_regularize)
from benchmark.training import resolve_device

PROFILES = {  # name: (size, style_dim, n_mlp, channels, batch)
    "32 px": (32, 64, 4, {4: 128, 8: 128, 16: 64, 32: 32}, 16),
    "64 px": (64, 128, 4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32}, 16),
}
PAPER = {
    "32 px paper": (32, 512, 8, {r: c for r, c in default_channels(1).items() if r <= 32}, 32),
    "64 px paper": (64, 512, 8, {r: c for r, c in default_channels(1).items() if r <= 64}, 32),
}
LR, BETAS, MIXING, R1_GAMMA, D_REG_EVERY, PATH_WEIGHT, G_REG_EVERY, PATH_SHRINK = 0.002, (0.0, 0.99), 0.9, 10.0, 16, \
    2.0, 4, 2
EMA_DECAY = 0.5 ** (32 / (10 * 1000))


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
    """Modulated 3x3 convolution, + noise * scalar, + bias, leaky ReLU 0.2, * sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = BaselineModConv(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise_weight = nn.Parameter(torch.zeros(1))
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        out = self.conv(x, style)
        out = out + self.noise_weight * torch.randn(out.shape[0], 1, *out.shape[2:], device=out.device)
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
    """The skip generator of ``Generator``'s shapes (same layers, channels, ``n_latent`` style rows, call signature
    ``(styles, return_latents, inject_index)``) made of the plain blocks above."""

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

    def forward(self, styles: list[torch.Tensor], return_latents: bool = False, inject_index: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        ws = [self.mapping(z / torch.sqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)) for z in styles]
        n = self.n_latent
        if len(ws) == 1:
            latent = ws[0].unsqueeze(1).repeat(1, n, 1)
        else:
            latent = torch.cat([ws[0].unsqueeze(1).repeat(1, inject_index, 1),
                                ws[1].unsqueeze(1).repeat(1, n - inject_index, 1)], dim=1)
        out = self.conv1(self.input.repeat(latent.shape[0], 1, 1, 1), latent[:, 0])
        skip = self.to_rgb1(out, latent[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * j](out, latent[:, 2 * j + 1])
            out = self.convs[2 * j + 1](out, latent[:, 2 * j + 2])
            skip = to_rgb(out, latent[:, 2 * j + 3], skip)
        return skip, (latent if return_latents else None)


# ---------------------------------------------------------------------------------------------------------------------
# The training iteration (rosinality's train.py) and its timing.
# ---------------------------------------------------------------------------------------------------------------------


def _requires_grad(model: nn.Module, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


def make_iteration(generator: nn.Module, discriminator: nn.Module, batch: int, device: torch.device, seed: int = 0):
    """``iteration(i)``: training iteration ``i`` (R1 when ``i % 16 == 0``, path length when ``i % 4 == 0``)."""
    style_dim, n_latent = generator.style_dim, generator.n_latent
    g_ema = copy.deepcopy(generator).eval()
    _requires_grad(g_ema, False)
    gc, dc = G_REG_EVERY / (G_REG_EVERY + 1), D_REG_EVERY / (D_REG_EVERY + 1)
    g_optim = torch.optim.Adam(generator.parameters(), lr=LR * gc, betas=(BETAS[0] ** gc, BETAS[1] ** gc))
    d_optim = torch.optim.Adam(discriminator.parameters(), lr=LR * dc, betas=(BETAS[0] ** dc, BETAS[1] ** dc))
    gen = torch.Generator().manual_seed(seed)
    real = (torch.rand(batch, 3, generator.size, generator.size, generator=gen) * 2 - 1).to(device)
    rng = random.Random(seed)  # mixing choices and crossover rows
    state = {"mean_path_length": 0.0}

    def mixing_noise(n: int) -> tuple[list[torch.Tensor], int | None]:
        if rng.random() < MIXING:
            return [torch.randn(n, style_dim, device=device), torch.randn(n, style_dim, device=device)], \
                rng.randrange(1, n_latent)
        return [torch.randn(n, style_dim, device=device)], None

    def iteration(i: int) -> None:
        _requires_grad(generator, False)
        _requires_grad(discriminator, True)
        z, inject = mixing_noise(batch)
        fake, _ = generator(z, inject_index=inject)
        d_loss = d_logistic_loss(discriminator(real), discriminator(fake))
        discriminator.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optim.step()
        if i % D_REG_EVERY == 0:
            real_in = real.detach().requires_grad_(True)
            real_pred = discriminator(real_in)
            r1 = d_r1_loss(real_pred, real_in)
            discriminator.zero_grad(set_to_none=True)
            (R1_GAMMA / 2 * r1 * D_REG_EVERY + 0 * real_pred[0]).sum().backward()
            d_optim.step()

        _requires_grad(generator, True)
        _requires_grad(discriminator, False)
        z, inject = mixing_noise(batch)
        fake, _ = generator(z, inject_index=inject)
        g_loss = g_nonsaturating_loss(discriminator(fake))
        generator.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optim.step()
        if i % G_REG_EVERY == 0:
            z, inject = mixing_noise(max(1, batch // PATH_SHRINK))
            fake, latents = generator(z, return_latents=True, inject_index=inject)
            path_loss, state["mean_path_length"], _ = g_path_regularize(fake, latents, state["mean_path_length"])
            generator.zero_grad(set_to_none=True)
            (PATH_WEIGHT * G_REG_EVERY * path_loss + 0 * fake[0, 0, 0, 0]).backward()
            g_optim.step()
        accumulate(g_ema, generator, EMA_DECAY)

    return iteration


def images_per_second(generator: nn.Module, discriminator: nn.Module, batch: int, device: torch.device, iters: int,
                      warmup: int, seed: int = 0) -> float:
    """Training images per second over ``iters`` iterations after ``warmup`` untimed ones (iteration indices
    continue, so the regularisers fall where they would in a run)."""
    torch.manual_seed(seed)
    generator, discriminator = generator.to(device).train(), discriminator.to(device).train()
    iteration = make_iteration(generator, discriminator, batch, device, seed)
    for i in range(warmup):
        iteration(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(warmup, warmup + iters):
        iteration(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * iters / (time.perf_counter() - start)


def measure(size: int, style_dim: int, n_mlp: int, channels: dict[int, int], batch: int, device: torch.device,
            iters: int, warmup: int, seed: int = 0) -> tuple[float, float]:
    """(ours, baseline) training images per second; each with a fresh ``Discriminator(size, channels)``."""
    torch.manual_seed(seed)
    ours = images_per_second(Generator(size, style_dim, n_mlp, channels=channels),
                             Discriminator(size, channels=channels), batch, device, iters, warmup, seed)
    torch.manual_seed(seed)
    base = images_per_second(BaselineGenerator(size, style_dim, n_mlp, channels),
                             Discriminator(size, channels=channels), batch, device, iters, warmup, seed)
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
