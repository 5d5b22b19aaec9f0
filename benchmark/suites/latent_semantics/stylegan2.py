"""A compact StyleGAN2 generator and discriminator for small images (32 and 64 px).

Karras, Laine, Aittala, Hellsten, Lehtinen, Aila, *Analyzing and Improving the Image Quality of
StyleGAN*, CVPR 2020, arXiv:1912.04958.

Architecture (config F, skip generator, residual discriminator):

* Mapping network :math:`f: z \\mapsto w`: pixel norm
  :math:`z / \\sqrt{\\operatorname{mean}(z^2) + 10^{-8}}` followed by ``n_mlp`` equalised linear
  layers with leaky ReLU and learning-rate multiplier ``lr_mlp``.
* Synthesis network: a learned constant :math:`4 \\times 4` input, then per resolution
  :math:`8, 16, \\dots, \\text{size}` an upsampling modulated convolution, a modulated convolution
  and a ``ToRGB`` layer whose output is added to the upsampled RGB skip of the previous
  resolution. Every modulated convolution and every ``ToRGB`` reads its own style vector; the
  :math:`W^+` code has ``n_latent = 2 * log2(size) - 2`` rows.
* Discriminator: a :math:`1 \\times 1` ``FromRGB`` convolution, residual downsampling blocks
  (:math:`(\\text{main} + \\text{skip}) / \\sqrt 2`), minibatch standard deviation (group 4, one
  feature), a :math:`3 \\times 3` convolution and two equalised linear layers giving one logit.

Parameter and buffer names follow the layout of the widely used PyTorch port
rosinality/stylegan2-pytorch (``style.1.weight``, ``conv1.conv.modulation.weight``,
``convs.0.conv.blur.kernel``, ``noises.noise_0``, ...), so that :func:`load_rosinality` maps
its checkpoints by identity. The implementation is pure PyTorch (no custom CUDA ops): the
``upfirdn2d`` FIR resampling is written with zero insertion, padding and a depthwise
convolution.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import autograd, nn

from benchmark.state_dicts import first_keys, mismatches

__all__ = [
    "CheckpointError",
    "ConstantInput",
    "ConvLayer",
    "Discriminator",
    "EqualConv2d",
    "EqualLinear",
    "Generator",
    "MappingNetwork",
    "ModulatedConv2d",
    "NoiseInjection",
    "PixelNorm",
    "ResBlock",
    "StyledConv",
    "ToRGB",
    "accumulate",
    "d_logistic_loss",
    "d_r1_loss",
    "default_channels",
    "fused_leaky_relu",
    "g_nonsaturating_loss",
    "g_path_regularize",
    "load_rosinality",
]

BLUR_KERNEL = (1, 3, 3, 1)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


# ----------------------------------------------------------------------------------------------
# primitives
# ----------------------------------------------------------------------------------------------


def default_channels(channel_multiplier: int = 2) -> dict[int, int]:
    """Feature maps per resolution of config F: 512 up to 32 px, then :math:`256 c, 128 c, \\dots`."""
    c = channel_multiplier
    return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * c, 128: 128 * c, 256: 64 * c, 512: 32 * c, 1024: 16 * c}


def _log2_size(size: int) -> int:
    log_size = int(round(math.log2(size))) if size > 0 else 0
    if size < 4 or 2**log_size != size:
        raise ValueError(f"size must be a power of two >= 4, got {size}")
    return log_size


def _check_channels(channels: dict[int, int], size: int) -> dict[int, int]:
    needed = [2**i for i in range(2, _log2_size(size) + 1)]
    missing = [r for r in needed if r not in channels]
    if missing:
        raise ValueError(f"channels dict lacks resolutions {missing}")
    return {int(k): int(v) for k, v in channels.items()}


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float = LRELU_SLOPE,
                     scale: float = LRELU_GAIN) -> torch.Tensor:
    """Bias add then scaled leaky ReLU: :math:`\\sqrt 2 \\cdot \\operatorname{lrelu}_{0.2}(x + b)`.

    ``bias`` has one entry per channel (dimension 1 of ``x``). The gain :math:`\\sqrt 2` keeps the
    second moment of unit-variance pre-activations roughly unchanged.
    """
    if bias is not None:
        shape = [1, -1] + [1] * (x.ndim - 2)
        x = x + bias.view(*shape)
    return F.leaky_relu(x, negative_slope) * scale


class FusedLeakyReLU(nn.Module):
    """Learned per-channel bias followed by :func:`fused_leaky_relu` (parameter ``bias``)."""

    def __init__(self, channel: int, bias: bool = True, negative_slope: float = LRELU_SLOPE,
                 scale: float = LRELU_GAIN):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


def make_kernel(k: Sequence[float]) -> torch.Tensor:
    """2-D separable FIR kernel :math:`K = k k^\\top / (\\sum k)^2` from a 1-D tap list."""
    k1 = torch.tensor(k, dtype=torch.float32)
    k2 = k1[None, :] * k1[:, None] if k1.ndim == 1 else k1
    return k2 / k2.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, FIR-filter (true convolution), then subsample.

    For an input of size :math:`H` the output has size
    :math:`\\lfloor (H \\cdot up + p_0 + p_1 - k_h) / down \\rfloor + 1`. Pads are non-negative.
    """
    b, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros(b, c, h * up, w * up)
        z[:, :, ::up, ::up] = x
        x = z
    p0, p1 = pad
    x = F.pad(x, (p0, p1, p0, p1))
    weight = kernel.flip(0, 1).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, weight, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


class Blur(nn.Module):
    """FIR low-pass (the ``[1, 3, 3, 1]`` binomial filter), buffer ``kernel`` scaled by ``up**2``."""

    def __init__(self, kernel: Sequence[float], pad: tuple[int, int], upsample_factor: int = 1):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x FIR upsampling (zero insertion + blur with gain 4) used on the RGB skip path."""

    def __init__(self, kernel: Sequence[float] = BLUR_KERNEL, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor**2)
        p = len(kernel) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class PixelNorm(nn.Module):
    """:math:`x / \\sqrt{\\operatorname{mean}_{\\text{last dim}}(x^2) + 10^{-8}}`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate.

    Stored weight :math:`W \\sim \\mathcal N(0, 1) / \\lambda` (``lr_mul`` :math:`= \\lambda`), stored
    bias :math:`b` = ``bias_init``. At run time

    .. math::  y = x (c W)^\\top + \\lambda b, \\qquad c = \\lambda / \\sqrt{\\text{in\\_dim}},

    so the effective weight :math:`cW` has unit-variance outputs for unit-variance inputs at
    initialisation, and the optimiser's step on :math:`W` is scaled by :math:`c` (He-constant
    run-time scaling instead of He initialisation). With ``activation="lrelu"`` (or
    ``"fused_lrelu"``) the output is :math:`\\sqrt 2\\,\\operatorname{lrelu}_{0.2}(x (cW)^\\top + \\lambda b)`.
    """

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: str | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        if activation not in (None, "lrelu", "fused_lrelu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.activation = activation
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    @property
    def effective_weight(self) -> torch.Tensor:
        """The weight actually applied, :math:`c W`."""
        return self.weight * self.scale

    @property
    def effective_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias * self.lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.effective_weight), self.effective_bias)
        return F.linear(x, self.effective_weight, self.effective_bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}, activation={self.activation}"


class EqualConv2d(nn.Module):
    """Conv layer with equalised learning rate: weight :math:`\\mathcal N(0,1)`, run-time scale
    :math:`1/\\sqrt{\\text{in\\_ch}\\, k^2}`."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class MappingNetwork(nn.Sequential):
    """:math:`f(z) = (\\text{EqualLinear}_{\\text{lrelu}, \\lambda})^{\\circ n}(\\text{PixelNorm}(z))`.

    Index 0 is the :class:`PixelNorm`, indices ``1..n_mlp`` the linear layers (learning-rate
    multiplier ``lr_mlp``, 0.01 in the paper), matching the ``style.<i>.weight`` keys.
    """

    def __init__(self, style_dim: int = 512, n_mlp: int = 8, lr_mlp: float = 0.01):
        layers: list[nn.Module] = [PixelNorm()]
        layers += [EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="lrelu") for _ in range(n_mlp)]
        super().__init__(*layers)
        self.style_dim = style_dim
        self.n_mlp = n_mlp


# ----------------------------------------------------------------------------------------------
# generator blocks
# ----------------------------------------------------------------------------------------------


class ModulatedConv2d(nn.Module):
    """Weight-modulated convolution with optional demodulation (StyleGAN2, Sec. 2.2).

    With style :math:`s = A(w)` (``self.modulation``, an affine :class:`EqualLinear` initialised to
    bias 1 and replaceable by any module mapping ``(B, style_dim) -> (B, in_ch)``):

    .. math::
        w'_{b,o,i,k} = c\\, w_{o,i,k}\\, s_{b,i}, \\qquad c = 1/\\sqrt{\\text{in\\_ch}\\, k^2},

        w''_{b,o,i,k} = w'_{b,o,i,k} \\Big/ \\sqrt{\\textstyle\\sum_{i,k} (w'_{b,o,i,k})^2 + 10^{-8}}
        \\quad (\\text{if demodulate}).

    The per-sample weights are applied as one grouped convolution (``groups = B``).

    Upsampling (``upsample=True``) follows the paper's implementation: a stride-2 transposed
    convolution with the modulated kernel (size :math:`2H + k - 2`) followed by the
    ``[1, 3, 3, 1]`` FIR blur with gain 4 and padding chosen so the output is exactly :math:`2H`.
    This is the variant whose weights are interchangeable with the reference checkpoints.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.eps = 1e-8
        self.kernel_size = kernel
        self.in_channel = in_ch
        self.out_channel = out_ch
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.padding = kernel // 2
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.modulation: nn.Module = EqualLinear(style_dim, in_ch, bias_init=1)

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """Per-sample effective kernel ``(B, out_ch, in_ch, k, k)`` for styles ``(B, style_dim)``."""
        s = self.modulation(style).view(style.shape[0], 1, self.in_channel, 1, 1)
        weight = self.scale * self.weight * s
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + self.eps)
            weight = weight * demod
        return weight

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        weight = self.modulated_weight(style)
        k = self.kernel_size
        x = x.reshape(1, b * c, h, w)
        if self.upsample:
            # transposed conv weight layout: (in, out / groups, k, k) per group
            wt = weight.transpose(1, 2).reshape(b * c, self.out_channel, k, k)
            out = F.conv_transpose2d(x, wt, stride=2, padding=0, groups=b)
            out = out.view(b, self.out_channel, out.shape[-2], out.shape[-1])
            return self.blur(out)
        out = F.conv2d(x, weight.reshape(b * self.out_channel, c, k, k), padding=self.padding, groups=b)
        return out.view(b, self.out_channel, out.shape[-2], out.shape[-1])

    def extra_repr(self) -> str:
        return (f"{self.in_channel}, {self.out_channel}, {self.kernel_size}, demodulate={self.demodulate}, "
                f"upsample={self.upsample}")


class NoiseInjection(nn.Module):
    """:math:`x + \\phi \\cdot n`, :math:`n \\sim \\mathcal N(0, 1)` of shape ``(B, 1, H, W)``.

    ``weight`` (:math:`\\phi`, one scalar shared by all channels as in the reference layout) starts
    at zero. ``noise`` may be given explicitly (e.g. the generator's stored per-resolution
    buffers); otherwise it is drawn with the optional ``generator``.
    """

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if noise is None:
            b, _, h, w = image.shape
            noise = torch.randn(b, 1, h, w, generator=generator, device=image.device, dtype=image.dtype)
        return image + self.weight * noise


class ConstantInput(nn.Module):
    """Learned constant ``input`` of shape ``(1, C, 4, 4)`` repeated over the batch."""

    def __init__(self, channel: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """:math:`\\sqrt2\\,\\operatorname{lrelu}(\\text{ModConv}(x, w) + \\phi n + b)`
    (``conv``, ``noise``, ``activate.bias``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, upsample: bool = False,
                 demodulate: bool = True, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel, style_dim, demodulate=demodulate, upsample=upsample,
                                    blur_kernel=blur_kernel)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.conv(x, style)
        out = self.noise(out, noise=noise, generator=generator)
        return self.activate(out)


class ToRGB(nn.Module):
    """:math:`\\text{rgb} = \\text{ModConv}_{1\\times1}(x, w)\\ (\\text{no demod}) + b + \\operatorname{up}(\\text{skip})`.

    ``up`` is the 2x FIR upsampling (:class:`Upsample`, buffer ``upsample.kernel``); absent when
    ``upsample=False`` (the 4x4 layer).
    """

    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class Generator(nn.Module):
    """StyleGAN2 skip generator.

    Parameters
    ----------
    size : int
        Output resolution, a power of two :math:`\\ge 4` (e.g. 32 or 64).
    style_dim : int
        Dimension of :math:`z` and :math:`w`.
    n_mlp : int
        Number of mapping layers.
    channel_multiplier : int
        Used by :func:`default_channels` when ``channels`` is None.
    channels : dict[int, int] | None
        Feature maps per resolution ``{4: c4, 8: c8, ..., size: c}``; overrides the defaults.
    lr_mlp : float
        Learning-rate multiplier of the mapping network.

    Layer / latent indexing (``n_latent = 2 log2(size) - 2``): ``conv1`` reads row 0, ``to_rgb1``
    row 1; resolution block ``j`` (``j = 0, 1, ...`` for 8 px, 16 px, ...) has ``convs[2j]``
    (upsampling) reading row ``2j + 1``, ``convs[2j + 1]`` row ``2j + 2`` and ``to_rgbs[j]`` row
    ``2j + 3``. Noise inputs: ``num_layers = 2 (log2(size) - 2) + 1``; noise 0 feeds ``conv1``,
    noise ``2j + 1`` and ``2j + 2`` feed ``convs[2j]`` and ``convs[2j + 1]``.
    """

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 channels: dict[int, int] | None = None, lr_mlp: float = 0.01,
                 blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.size = size
        self.style_dim = style_dim
        self.n_mlp = n_mlp
        self.channel_multiplier = channel_multiplier
        self.log_size = _log2_size(size)
        self.channels = _check_channels(channels if channels is not None else default_channels(channel_multiplier),
                                        size)
        ch = self.channels
        self.style = MappingNetwork(style_dim, n_mlp, lr_mlp)
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(ch[4], style_dim, upsample=False)
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.log_size * 2 - 2
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for layer_idx in range(self.num_layers):
            res = 2 ** ((layer_idx + 5) // 2)
            self.noises.register_buffer(f"noise_{layer_idx}", torch.randn(1, 1, res, res))
        in_ch = ch[4]
        for i in range(3, self.log_size + 1):
            out_ch = ch[2**i]
            self.convs.append(StyledConv(in_ch, out_ch, 3, style_dim, upsample=True, blur_kernel=blur_kernel))
            self.convs.append(StyledConv(out_ch, out_ch, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_ch, style_dim, blur_kernel=blur_kernel))
            in_ch = out_ch

    # -- helpers ---------------------------------------------------------------------------------
    def stored_noise(self) -> list[torch.Tensor]:
        """The fixed per-layer noise buffers ``noises.noise_<i>`` (broadcast over the batch)."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    def make_noise(self, batch: int = 1, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh noise tensors ``(batch, 1, r, r)`` for every layer."""
        dev = self.input.input.device
        return [torch.randn(batch, 1, n.shape[-2], n.shape[-1], generator=generator, device=dev)
                for n in self.stored_noise()]

    @torch.no_grad()
    def mean_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """:math:`\\bar w = \\operatorname{mean}_{i \\le n} f(z_i)`, shape ``(1, style_dim)``."""
        z = torch.randn(n, self.style_dim, generator=generator, device=self.input.input.device)
        return self.style(z).mean(0, keepdim=True)

    def get_latent(self, z: torch.Tensor) -> torch.Tensor:
        """:math:`w = f(z)` (works on ``(B, D)`` and per-layer ``(B, n_latent, D)``)."""
        return self.style(z)

    def latents_from_styles(self, styles: torch.Tensor | Sequence[torch.Tensor], input_is_latent: bool = False,
                            truncation: float = 1.0, truncation_latent: torch.Tensor | None = None,
                            inject_index: int | None = None,
                            generator: torch.Generator | None = None) -> torch.Tensor:
        """Build the :math:`W^+` code ``(B, n_latent, style_dim)``.

        ``styles`` is one tensor or a list of one or two. 2-D entries are single codes (broadcast
        to every layer), a 3-D entry is a per-layer code used as is. Unless ``input_is_latent``,
        entries are :math:`z` and go through the mapping network first. Truncation:
        :math:`w \\leftarrow \\bar w + \\psi (w - \\bar w)` when ``truncation < 1`` and
        ``truncation_latent`` is given. With two 2-D styles, rows ``< inject_index`` come from
        the first and the rest from the second (``inject_index`` drawn uniformly from
        ``1..n_latent-1`` if None).
        """
        if isinstance(styles, torch.Tensor):
            styles = [styles]
        styles = list(styles)
        if not 1 <= len(styles) <= 2:
            raise ValueError(f"expected one or two styles, got {len(styles)}")
        if not input_is_latent:
            styles = [self.style(s) for s in styles]
        if truncation < 1 and truncation_latent is not None:
            styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]
        n = self.n_latent
        for s in styles:
            if s.ndim == 3 and s.shape[1] != n:
                raise ValueError(f"per-layer latents need shape (B, {n}, {self.style_dim}), got {tuple(s.shape)}")
        if len(styles) == 1:
            s = styles[0]
            return s if s.ndim == 3 else s.unsqueeze(1).expand(-1, n, -1)
        if inject_index is None:
            device = generator.device if generator is not None else None  # a CUDA generator draws on CUDA
            inject_index = int(torch.randint(1, n, (1,), generator=generator, device=device).item())
        if not 0 <= inject_index <= n:
            raise ValueError(f"inject_index must be in [0, {n}], got {inject_index}")
        a, b = (s if s.ndim == 3 else s.unsqueeze(1).expand(-1, n, -1) for s in styles)
        return torch.cat([a[:, :inject_index], b[:, inject_index:]], dim=1)

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, styles: torch.Tensor | Sequence[torch.Tensor], return_latents: bool = False,
                inject_index: int | None = None, truncation: float = 1.0,
                truncation_latent: torch.Tensor | None = None, input_is_latent: bool = False,
                noise: Sequence[torch.Tensor | None] | None = None, randomize_noise: bool = True,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Synthesize images.

        Returns ``(images (B, 3, size, size), latents (B, n_latent, style_dim) or None)``; the
        latents are returned when ``return_latents``. Noise: an explicit list of ``num_layers``
        tensors (entries may be None), otherwise fresh noise (drawn with ``generator``) when
        ``randomize_noise`` and the stored buffers when not. To edit one layer, pass
        ``input_is_latent=True`` with a ``(B, n_latent, style_dim)`` tensor whose row ``l`` has
        ``alpha * v`` added.
        """
        latent = self.latents_from_styles(styles, input_is_latent, truncation, truncation_latent, inject_index,
                                          generator)
        if noise is None:
            noise = [None] * self.num_layers if randomize_noise else self.stored_noise()
        noise = list(noise)
        if len(noise) != self.num_layers:
            raise ValueError(f"expected {self.num_layers} noise tensors, got {len(noise)}")
        out = self.input(latent.shape[0])
        out = self.conv1(out, latent[:, 0], noise=noise[0], generator=generator)
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv_up, conv, n1, n2, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2], noise[2::2],
                                                  self.to_rgbs):
            out = conv_up(out, latent[:, i], noise=n1, generator=generator)
            out = conv(out, latent[:, i + 1], noise=n2, generator=generator)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip, (latent if return_latents else None)


# ----------------------------------------------------------------------------------------------
# discriminator
# ----------------------------------------------------------------------------------------------


class ConvLayer(nn.Sequential):
    """[Blur (if downsample)] -> EqualConv2d (stride 2 if downsample) -> [bias + lrelu].

    Downsampling blurs with padding :math:`((p+1)//2, p//2)`, :math:`p = (4 - 2) + (k - 1)`, then a
    stride-2 unpadded convolution, giving exactly :math:`H/2`.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, downsample: bool = False,
                 blur_kernel: Sequence[float] = BLUR_KERNEL, bias: bool = True, activate: bool = True):
        layers: list[nn.Module] = []
        if downsample:
            p = (len(blur_kernel) - 2) + (kernel - 1)
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel // 2
        layers.append(EqualConv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_ch, bias=bias))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """:math:`(\\text{conv2}_{\\downarrow}(\\text{conv1}(x)) + \\text{skip}_{\\downarrow, 1\\times1}(x)) / \\sqrt 2`."""

    def __init__(self, in_ch: int, out_ch: int, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3, blur_kernel=blur_kernel)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False, blur_kernel=blur_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator returning one logit per image ``(B, 1)``.

    Minibatch standard deviation: the batch is split into groups of :math:`G = \\min(4, B)`
    samples (the largest divisor of :math:`B` not above 4 when 4 does not divide :math:`B`); per
    group the feature-wise std :math:`\\sqrt{\\operatorname{Var}_g + 10^{-8}}` is averaged over
    channels and pixels and appended as one extra feature map.
    """

    def __init__(self, size: int, channel_multiplier: int = 2, channels: dict[int, int] | None = None,
                 blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.size = size
        self.log_size = _log2_size(size)
        self.channels = _check_channels(channels if channels is not None else default_channels(channel_multiplier),
                                        size)
        ch = self.channels
        convs: list[nn.Module] = [ConvLayer(3, ch[size], 1)]
        in_ch = ch[size]
        for i in range(self.log_size, 2, -1):
            out_ch = ch[2 ** (i - 1)]
            convs.append(ResBlock(in_ch, out_ch, blur_kernel))
            in_ch = out_ch
        self.convs = nn.Sequential(*convs)
        self.stddev_group = 4
        self.stddev_feat = 1
        self.final_conv = ConvLayer(in_ch + 1, ch[4], 3)
        self.final_linear = nn.Sequential(
            EqualLinear(ch[4] * 4 * 4, ch[4], activation="lrelu"),
            EqualLinear(ch[4], 1),
        )

    def minibatch_stddev(self, out: torch.Tensor) -> torch.Tensor:
        b, c, h, w = out.shape
        group = min(b, self.stddev_group)
        while b % group:
            group -= 1
        f = self.stddev_feat
        y = out.view(group, -1, f, c // f, h, w)
        y = torch.sqrt(y.var(0, unbiased=False) + 1e-8)  # (B/G, F, C/F, H, W)
        y = y.mean(dim=(2, 3, 4)).view(-1, f, 1, 1)  # (B/G, F, 1, 1)
        y = y.repeat(group, 1, h, w)
        return torch.cat([out, y], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.convs(x)
        out = self.minibatch_stddev(out)
        out = self.final_conv(out)
        return self.final_linear(out.flatten(1))


# ----------------------------------------------------------------------------------------------
# losses and EMA
# ----------------------------------------------------------------------------------------------


def d_logistic_loss(real_pred: torch.Tensor, fake_pred: torch.Tensor) -> torch.Tensor:
    """:math:`\\mathbb E[\\operatorname{softplus}(-D(x))] + \\mathbb E[\\operatorname{softplus}(D(G(z)))]`."""
    return F.softplus(-real_pred).mean() + F.softplus(fake_pred).mean()


def g_nonsaturating_loss(fake_pred: torch.Tensor) -> torch.Tensor:
    """:math:`\\mathbb E[\\operatorname{softplus}(-D(G(z)))]`."""
    return F.softplus(-fake_pred).mean()


def d_r1_loss(real_pred: torch.Tensor, real_img: torch.Tensor) -> torch.Tensor:
    """R1 penalty :math:`\\mathbb E_x \\lVert \\nabla_x D(x) \\rVert^2` (without the :math:`\\gamma/2`).

    ``real_img`` must require grad; the graph is kept (``create_graph``) so the penalty can be
    back-propagated into the discriminator.
    """
    (grad,) = autograd.grad(real_pred.sum(), real_img, create_graph=True)
    return grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()


def g_path_regularize(fake_img: torch.Tensor, latents: torch.Tensor, mean_path_length: float | torch.Tensor,
                      decay: float = 0.01, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Path-length regulariser (StyleGAN2, Sec. 3.2).

    With :math:`y \\sim \\mathcal N(0, I) / \\sqrt{HW}` and :math:`J_w = \\partial G / \\partial w`,

    .. math::
        \\ell_b = \\sqrt{\\operatorname{mean}_{l} \\lVert (J_w^\\top y)_{b,l} \\rVert^2}, \\qquad
        a' = a + \\beta (\\bar\\ell - a), \\qquad
        \\text{penalty} = \\operatorname{mean}_b (\\ell_b - a')^2,

    where :math:`a` is ``mean_path_length`` and :math:`\\beta` the ``decay``. ``latents`` is the
    ``(B, n_latent, style_dim)`` code the images were generated from (in the graph). Returns
    ``(penalty, a' detached, path lengths (B,))``.
    """
    h, w = fake_img.shape[-2:]
    noise = torch.randn(fake_img.shape, generator=generator, device=fake_img.device,
                        dtype=fake_img.dtype) / math.sqrt(h * w)
    (grad,) = autograd.grad((fake_img * noise).sum(), latents, create_graph=True)
    if grad.ndim == 2:
        grad = grad.unsqueeze(1)
    path_lengths = torch.sqrt(grad.pow(2).sum(2).mean(1))
    path_mean = mean_path_length + decay * (path_lengths.mean() - mean_path_length)
    penalty = (path_lengths - path_mean).pow(2).mean()
    return penalty, path_mean.detach(), path_lengths


@torch.no_grad()
def accumulate(ema_model: nn.Module, model: nn.Module, decay: float = 0.999) -> None:
    """EMA of parameters: :math:`\\theta_{ema} \\leftarrow d\\, \\theta_{ema} + (1 - d)\\, \\theta`.

    Only parameters are averaged (buffers such as the stored noise are left alone); both models
    must have the same parameter names.
    """
    ema_params = dict(ema_model.named_parameters())
    for name, p in model.named_parameters():
        ema_params[name].mul_(decay).add_(p.detach(), alpha=1 - decay)


# ----------------------------------------------------------------------------------------------
# rosinality checkpoint loading
# ----------------------------------------------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into these modules (message is one line)."""


def _infer_g_channels(sd: dict[str, torch.Tensor], size: int) -> dict[int, int] | None:
    try:
        ch = {4: int(sd["input.input"].shape[1])}
        for j, i in enumerate(range(3, _log2_size(size) + 1)):
            ch[2**i] = int(sd[f"convs.{2 * j}.conv.weight"].shape[1])
        return ch
    except (KeyError, IndexError):
        return None


def _infer_d_channels(sd: dict[str, torch.Tensor], size: int) -> dict[int, int] | None:
    try:
        log_size = _log2_size(size)
        ch = {size: int(sd["convs.0.0.weight"].shape[0]), 4: int(sd["final_conv.0.weight"].shape[0])}
        for k, i in enumerate(range(log_size, 2, -1), start=1):
            ch[2 ** (i - 1)] = int(sd[f"convs.{k}.conv2.1.weight"].shape[0])
        return ch
    except (KeyError, IndexError):
        return None


def _multiplier_for(ch: dict[int, int]) -> int | None:
    """The channel multiplier whose :func:`default_channels` equals ``ch`` (None if none does)."""
    for cm in (1, 2, 4, 8):
        dc = default_channels(cm)
        if all(dc.get(r) == c for r, c in ch.items()):
            return cm
    return None


def _match_state(module: nn.Module, sd: dict[str, Any], what: str) -> None:
    problems = mismatches(sd, {k: v.shape for k, v in module.state_dict().items()})
    if problems:
        raise CheckpointError(f"{what} does not match: " + "; ".join(problems))
    module.load_state_dict(sd, strict=True)


def load_rosinality(path: str | os.PathLike, size: int, channel_multiplier: int | None = None,
                    style_dim: int | None = None, n_mlp: int | None = None, lr_mlp: float = 0.01,
                    key: str = "g_ema", load_discriminator: bool = True
                    ) -> tuple[Generator, Discriminator | None, dict[str, Any]]:
    """Load a rosinality/stylegan2-pytorch checkpoint.

    The file is read with ``torch.load(path, map_location="cpu", weights_only=True)`` (no
    arbitrary unpickling; the only class allowed beyond tensors and containers is
    ``argparse.Namespace``, which training checkpoints store under ``"args"``) and must be a dict holding ``key`` (default ``"g_ema"``, the EMA
    generator) and optionally ``"g"``, ``"d"``, ``"latent_avg"``. Module and buffer names here
    are the reference's, so the state-dict mapping is the identity; it is checked strictly
    (missing / unexpected keys, shapes). ``style_dim`` and ``n_mlp`` are read from ``style.*``
    weights and the channel counts from ``input.input`` and ``convs.<2j>.conv.weight`` when not
    given; ``channel_multiplier`` is inferred from them (``meta["channel_multiplier"]`` is None
    for a non-standard channel table, which is then used as is).

    Returns
    -------
    (Generator in eval mode, Discriminator or None, meta)
        ``meta`` has ``size, style_dim, n_mlp, channel_multiplier, channels, n_latent, key,
        latent_avg`` (a ``(1, style_dim)`` tensor or None) and ``entries`` (the checkpoint's keys).

    Raises
    ------
    CheckpointError
        One line naming the problem: missing file, unreadable or non-weights-only file (e.g. a
        pickled custom object, refused before anything is executed), a dict without ``key``,
        or keys/shapes that do not match a ``size``-px generator (up to three keys named).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        # training checkpoints store their argparse.Namespace under "args": allow only that class
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt files raise anything from the unpickler/zip reader
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(f"not a weights-only torch checkpoint: {path} ({type(e).__name__}: {first[:160]})") \
            from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(ckpt).__name__}, not a dict with {key!r}")
    if key not in ckpt or not isinstance(ckpt[key], dict):
        raise CheckpointError(f"checkpoint {path} has no {key!r} state dict "
                              f"(entries: {first_keys([str(k) for k in ckpt])})")
    sd: dict[str, Any] = ckpt[key]
    try:
        log_size = _log2_size(size)
    except ValueError as e:
        raise CheckpointError(str(e)) from None

    style_keys = [k for k in sd if re.fullmatch(r"style\.\d+\.weight", k)]
    if style_dim is None:
        style_dim = int(sd["style.1.weight"].shape[1]) if "style.1.weight" in sd else 512
    if n_mlp is None:
        n_mlp = len(style_keys) if style_keys else 8
    n_rgb = len({k.split(".")[1] for k in sd if k.startswith("to_rgbs.")})
    if n_rgb and n_rgb != log_size - 2:
        raise CheckpointError(f"checkpoint {key!r} is for {4 * 2**n_rgb} px, not {size} px "
                              f"({n_rgb} to_rgbs layers, expected {log_size - 2})")
    given_cm = channel_multiplier is not None
    if given_cm:
        channels = default_channels(channel_multiplier)
    else:
        channels = _infer_g_channels(sd, size) or default_channels(2)
        channel_multiplier = _multiplier_for(channels)
    channels = {r: c for r, c in channels.items() if r <= size}
    g = Generator(size, style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=channel_multiplier or 2,
                  channels=channels, lr_mlp=lr_mlp)
    _match_state(g, sd, f"checkpoint {key!r} vs Generator(size={size}, style_dim={style_dim}, n_mlp={n_mlp})")
    g.eval()

    d = None
    if load_discriminator and isinstance(ckpt.get("d"), dict):
        dsd = ckpt["d"]
        d_channels = channels if given_cm else (_infer_d_channels(dsd, size) or channels)
        d = Discriminator(size, channels=d_channels)
        _match_state(d, dsd, f"checkpoint 'd' vs Discriminator(size={size})")
        d.eval()

    latent_avg = ckpt.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor):
        latent_avg = latent_avg.reshape(1, -1)
        if latent_avg.shape[1] != style_dim:
            raise CheckpointError(f"latent_avg has {latent_avg.shape[1]} entries, expected style_dim={style_dim}")
    else:
        latent_avg = None
    meta = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "channel_multiplier": channel_multiplier,
            "channels": dict(channels), "n_latent": g.n_latent, "key": key, "latent_avg": latent_avg,
            "entries": sorted(str(k) for k in ckpt)}
    return g, d, meta
