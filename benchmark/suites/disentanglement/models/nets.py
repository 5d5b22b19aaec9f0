"""Image encoder and style decoder shared by every model of the disentanglement suite.

Re-implemented in PyTorch from the description of the reference code of
Hsu, Dorrell, Whittington, Wu and Finn, *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378 (``kylehkhsu/latent_quantization``: ``disentangle/encoders/image.py::ImageEncoder``,
``disentangle/decoders/style_image.py::StyleImageDecoder``, ``disentangle/blocks/{conv,style}.py``,
``configs/{encoder,decoder}_partial/{image,style_image}.yaml``); see ``docs/models.md``.

Encoder: ``len(widths)`` blocks of Conv2d (no bias) -> GroupNorm(groups = channels, eps 1e-6, affine)
-> LeakyReLU(0.2); flatten; dense blocks (Linear + ReLU) -> ``features``; Linear -> ``pre_z``.

Decoder: a learned constant input map 0.1 * ones(C0, h0, w0); a style MLP (dense blocks) maps the latent
to ``w``; each block is ConvTranspose2d (no bias) -> LeakyReLU(0.2) -> GroupNorm(groups = channels,
eps 1e-6, no affine) -> ``x * scale + bias`` with ``(scale, bias) = split(ReLU(Linear(w)))`` (so both are
non-negative); a final 3x3 Conv2d (no bias) gives logits.

Two presets (:data:`ARCHITECTURES`): ``reference`` (the paper's 12-block 64x64 networks) and ``small``
(four stride-2 blocks, the shape of the reference's ``*_small.yaml`` configs, with widths cut for 2-core CPUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["NetConfig", "ARCHITECTURES", "Encoder", "StyleDecoder", "init_like_equinox"]


@dataclass(frozen=True)
class NetConfig:
    """Shapes of the encoder and the decoder (all widths in channels or units, kernels and strides in pixels)."""

    encoder_widths: tuple[int, ...]  # conv channels per block
    encoder_kernels: tuple[int, ...]
    encoder_strides: tuple[int, ...]
    encoder_dense: tuple[int, ...]  # dense widths after the flatten; the last one is the `features` size
    decoder_input_channels: int  # channels of the learned constant input map
    decoder_style: tuple[int, ...]  # style MLP widths (latent -> w)
    decoder_widths: tuple[int, ...]  # transposed-conv channels per block
    decoder_kernels: tuple[int, ...]
    decoder_strides: tuple[int, ...]

    @property
    def downsampling(self) -> int:
        """Factor by which the encoder shrinks the image side (product of the strides)."""
        return math.prod(self.encoder_strides)


ARCHITECTURES: dict[str, NetConfig] = {
    # configs/encoder_partial/image.yaml and configs/decoder_partial/style_image.yaml: 64 -> 4x4x256 -> 64
    "reference": NetConfig(
        encoder_widths=(32, 32, 32, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        encoder_kernels=(3, 3, 4) * 4,
        encoder_strides=(1, 1, 2) * 4,
        encoder_dense=(256, 256),
        decoder_input_channels=256,
        decoder_style=(256, 256),
        decoder_widths=(256, 256, 256, 128, 128, 128, 64, 64, 64, 32, 32, 32),
        decoder_kernels=(3, 3, 4) * 4,
        decoder_strides=(1, 1, 2) * 4,
    ),
    # four stride-2 blocks like configs/*_partial/*_small.yaml, narrower for CPU profiles: 64 -> 4x4x64 -> 64
    "small": NetConfig(
        encoder_widths=(16, 32, 32, 64),
        encoder_kernels=(4, 4, 4, 4),
        encoder_strides=(2, 2, 2, 2),
        encoder_dense=(128,),
        decoder_input_channels=64,
        decoder_style=(128,),
        decoder_widths=(64, 32, 16, 8),  # few channels at high resolution: the 64x64 blocks dominate CPU time
        decoder_kernels=(4, 4, 4, 4),
        decoder_strides=(2, 2, 2, 2),
    ),
}


def _padding(kernel: int, stride: int) -> int:
    # The reference uses padding 1 everywhere: k3/s1 keeps the size, k4/s2 halves (or doubles) it.
    return 1


def _dense_blocks(in_features: int, widths: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        in_features = width
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Convolutional image encoder: (B, C, H, W) in [0, 1] -> ``features`` (B, F) and ``pre_z`` (B, out_features).

    Parameters
    ----------
    in_channels : int
        Image channels (3 for Shapes3D/MPI3D, 1 for dSprites).
    image_size : int
        Image side in pixels; a multiple of the product of the strides (16 for both presets), at least twice it.
    out_features : int
        Size of the ``pre_z`` head (L for AE/QLAE/BioAE, 2L for VAEs: mean and pre-softplus scale).
    net : NetConfig
        Widths, kernels and strides.
    """

    def __init__(self, in_channels: int, image_size: int, out_features: int, net: NetConfig) -> None:
        super().__init__()
        if image_size % net.downsampling:
            raise ValueError(
                f"image_size must be divisible by {net.downsampling} (the encoder's total stride); got {image_size}."
            )
        if image_size // net.downsampling < 2:
            raise ValueError(
                f"image_size must be at least {2 * net.downsampling} for this architecture (the last feature map "
                f"must be at least 2x2: a per-channel GroupNorm maps a 1x1 map to zeros); got {image_size}."
            )
        self.in_channels = in_channels
        self.image_size = image_size
        blocks: list[nn.Module] = []
        channels = in_channels
        for width, kernel, stride in zip(net.encoder_widths, net.encoder_kernels, net.encoder_strides):
            blocks += [
                nn.Conv2d(channels, width, kernel, stride, _padding(kernel, stride), bias=False),
                nn.GroupNorm(width, width, eps=1e-6, affine=True),
                nn.LeakyReLU(0.2),
            ]
            channels = width
        self.convs = nn.Sequential(*blocks)
        self.transition_shape = (channels, image_size // net.downsampling, image_size // net.downsampling)
        self.dense = _dense_blocks(math.prod(self.transition_shape), net.encoder_dense)
        self.n_features = net.encoder_dense[-1]
        self.head = nn.Linear(self.n_features, out_features)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"encoder input must have shape (batch, {', '.join(map(str, expected))}); got {tuple(x.shape)}.")
        h = self.convs(x)  # (B, C, H, W) -> (B, C_T, H_T, W_T), e.g. (B, 256, 4, 4)
        features = self.dense(h.flatten(1))  # (B, C_T * H_T * W_T) -> (B, F)
        return {"features": features, "pre_z": self.head(features)}  # pre_z: (B, out_features)


class StyleBlock(nn.Module):
    """ConvTranspose2d -> LeakyReLU(0.2) -> GroupNorm(no affine) -> x * scale + bias, (scale, bias) >= 0 from the style."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, style_features: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, _padding(kernel, stride), bias=False)
        self.norm = nn.GroupNorm(out_channels, out_channels, eps=1e-6, affine=False)
        self.style = nn.Linear(style_features, 2 * out_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = self.norm(F.leaky_relu(self.conv(x), 0.2))  # (B, C_in, H, W) -> (B, C_out, H', W')
        scale, bias = F.relu(self.style(w)).chunk(2, dim=1)  # (B, 2 C_out) -> 2 x (B, C_out), both >= 0
        return h * scale[:, :, None, None] + bias[:, :, None, None]


class StyleDecoder(nn.Module):
    """Style decoder: latent (B, L) -> image logits (B, C, H, W).

    Parameters
    ----------
    n_latents : int
        Latent size L.
    out_channels, image_size : int
        Shape of the generated image.
    net : NetConfig
        Widths, kernels and strides; the input map has side ``image_size / net.downsampling``.
    """

    def __init__(self, n_latents: int, out_channels: int, image_size: int, net: NetConfig) -> None:
        super().__init__()
        side = image_size // net.downsampling
        if side * math.prod(net.decoder_strides) != image_size:
            raise ValueError(f"image_size must be divisible by {net.downsampling}; got {image_size}.")
        self.input_map = nn.Parameter(torch.full((net.decoder_input_channels, side, side), 0.1))
        self.style = _dense_blocks(n_latents, net.decoder_style)
        style_features = net.decoder_style[-1]
        channels = net.decoder_input_channels
        blocks = []
        for width, kernel, stride in zip(net.decoder_widths, net.decoder_kernels, net.decoder_strides):
            blocks.append(StyleBlock(channels, width, kernel, stride, style_features))
            channels = width
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(channels, out_channels, 3, 1, 1, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.style(z)  # (B, L) -> (B, S)
        h = self.input_map.expand(z.shape[0], *self.input_map.shape)  # (C0, h0, w0) -> (B, C0, h0, w0)
        for block in self.blocks:
            h = block(h, w)  # (B, C, H, W) -> (B, C', H * stride, W * stride)
        return self.out(h)  # (B, C_last, H, W) -> (B, C_img, H, W) logits


@torch.no_grad()
def init_like_equinox(module: nn.Module) -> None:
    """Initialise every Conv2d, ConvTranspose2d and Linear as Equinox (2023) does.

    Weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * k^2 for both
    convolutions and in_features for Linear. PyTorch's default already matches for Conv2d and Linear,
    but computes a transposed convolution's fan_in from its *output* channels; this fixes that.
    GroupNorm keeps scale 1 and shift 0.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan_in = m.in_channels * math.prod(m.kernel_size)
        elif isinstance(m, nn.Linear):
            fan_in = m.in_features
        else:
            continue
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(m.weight, -bound, bound)
        if m.bias is not None:
            nn.init.uniform_(m.bias, -bound, bound)
