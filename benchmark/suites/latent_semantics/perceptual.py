"""Pretrained perceptual networks for the latent-semantics suite: Inception-v3 pool features (for FID) and LPIPS.

By default the suite measures fidelity and smoothness in the factor probe's feature space. When the user supplies
pretrained weights (``--weights inception=PATH vgg16=PATH lpips=PATH``, names in :data:`WEIGHT_NAMES`), it also
computes the customary image-space metrics with the networks defined here. Nothing is downloaded: every file is
read from a path the user gives, with ``torch.load(path, map_location="cpu", weights_only=True)``, and checked
key by key before use.

FID (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS
2017) is the Fréchet distance between Gaussians fitted to the Inception-v3 pool features (2048-d) of real and
generated images::

    FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

:class:`InceptionFeatures` supplies the features; the distance itself is computed where the suite computes its
probe-space Fréchet distance. The network is torchvision's Inception-v3 with torchvision's ImageNet weights
(``inception_v3_google-0cc3c7bd.pth``), *not* the TensorFlow FID Inception that pytorch-fid and the original TF
code use, so FIDs from this module are comparable between runs of this suite but not to published FIDs.

LPIPS (Zhang, Isola, Efros, Shechtman, Wang, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", CVPR 2018), VGG-16 variant, version 0.1 (as in the ``lpips`` package, richzhang/PerceptualSimilarity)::

    x' = (2 x - 1 - shift) / scale            shift = (-.030, -.088, -.188), scale = (.458, .448, .450) per RGB
    f_l = VGG-16 activations after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3   (l = 1..5)
    f^_l = f_l / (sqrt(sum_c f_l,c^2) + 1e-10)                                  (unit length over channels)
    d(x, y) = sum_l mean_{h,w} sum_c w_l,c (f^_l,c(x) - f^_l,c(y))^2

with the learned non-negative channel weights ``w_l`` of the ``lpips`` package (``lpips/weights/v0.1/vgg.pth``).
The suite uses it for the perceptual path length (PPL, Karras et al. 2019) and its interpolation variant (PIPL).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from benchmark.state_dicts import as_state_dict, mismatches, read_state_dict
from benchmark.suites.latent_semantics.config import WEIGHT_NAMES

__all__ = [
    "WEIGHT_NAMES",
    "INCEPTION_HINT",
    "VGG16_HINT",
    "LPIPS_HINT",
    "InceptionFeatures",
    "LPIPS",
    "load_inception",
    "load_lpips",
]


INCEPTION_HINT = (
    "expected torchvision's ImageNet Inception-v3 state dict, the file torchvision itself publishes: "
    "inception_v3_google-0cc3c7bd.pth from https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth "
    "(torchvision.models.Inception_V3_Weights.IMAGENET1K_V1; it is also what torchvision caches under "
    "~/.cache/torch/hub/checkpoints/); pass it as --weights inception=PATH"
)
VGG16_HINT = (
    "expected torchvision's ImageNet VGG-16 state dict, the file torchvision itself publishes: "
    "vgg16-397923af.pth from https://download.pytorch.org/models/vgg16-397923af.pth "
    "(torchvision.models.VGG16_Weights.IMAGENET1K_V1; keys features.N.weight/bias, classifier keys are ignored); "
    "pass it as --weights vgg16=PATH"
)
LPIPS_HINT = (
    "expected the LPIPS v0.1 VGG linear-layer weights of the lpips package (richzhang/PerceptualSimilarity): "
    "the file lpips/weights/v0.1/vgg.pth in https://github.com/richzhang/PerceptualSimilarity (also installed "
    "with `pip install lpips` as site-packages/lpips/weights/v0.1/vgg.pth), a state dict with keys "
    "lin0.model.1.weight .. lin4.model.1.weight of shapes (1, C, 1, 1), C = 64, 128, 256, 512, 512; "
    "pass it as --weights lpips=PATH"
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION_SIZE = 299

LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
LPIPS_CHANNELS = (64, 128, 256, 512, 512)
# torchvision vgg16.features: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 are the modules at 3, 8, 15, 22, 29
VGG_TAPS = (3, 8, 15, 22, 29)
LPIPS_EPS = 1e-10


# ---------------------------------------------------------------------------------------------------- file checks


def _read(path, what: str, hint: str) -> dict[str, torch.Tensor]:
    try:
        return read_state_dict(path, hint)
    except ValueError as error:
        raise ValueError(f"{what} weights: {error}") from None


def _check_keys(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Size], where: str, hint: str,
                **skip) -> None:
    """Missing, unexpected and wrongly shaped keys against ``expected`` (name -> shape), all reported at once."""
    problems = mismatches(state, expected, **skip)
    if problems:
        raise ValueError(f"{where} does not match: {'; '.join(problems)}; {hint}")


def _freeze(module: nn.Module) -> None:
    for p in module.parameters():
        p.requires_grad_(False)
    module.eval()


def _to_rgb(images: torch.Tensor, name: str) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected images of shape (N, C, H, W) with C in {{1, 3}}, got {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


# ------------------------------------------------------------------------------------------------------ Inception


class InceptionFeatures(nn.Module):
    """Inception-v3 2048-d pool features of images in [0, 1], for FID.

    These are torchvision's Inception-v3 ImageNet weights (``inception_v3_google-0cc3c7bd.pth``), not the
    TensorFlow FID Inception of pytorch-fid: FIDs computed with them are comparable between runs of this suite, not
    to published FIDs.

    ``forward(images01)``: (N, C, H, W) in [0, 1], C in {1, 3} (grey repeated to RGB), resized to 299 x 299
    (bilinear, ``align_corners=False``, no antialiasing), normalised with the ImageNet mean/std (the network is
    built with ``transform_input=True``, which maps that to the [-1, 1] range the Google weights expect), and
    returns the (N, 2048) float features after global average pooling (``fc`` is the identity). Always in eval
    mode with frozen parameters.
    """

    def __init__(
        self, state_dict: Mapping[str, torch.Tensor] | None = None, *, source: str = "Inception-v3 state dict"
    ):
        super().__init__()
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
        if state_dict is not None:
            state = as_state_dict(state_dict, source, INCEPTION_HINT)
            expected = {k: v.shape for k, v in net.state_dict().items()}
            _check_keys(state, expected, source, INCEPTION_HINT, optional_suffixes=("num_batches_tracked",))
            net.load_state_dict(state, strict=False)  # strictness checked above; only num_batches_tracked may miss
        net.fc = nn.Identity()
        self.net = net
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        _freeze(self)

    def train(self, mode: bool = True):  # a metric network: batch norm always uses its running statistics
        return super().train(False)

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        x = _to_rgb(images01, "InceptionFeatures").to(self.mean.dtype)
        size = (INCEPTION_SIZE, INCEPTION_SIZE)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
        x = (x - self.mean) / self.std
        return self.net(x).float()


def load_inception(path) -> InceptionFeatures:
    """:class:`InceptionFeatures` with the torchvision Inception-v3 state dict at ``path`` (see :data:`INCEPTION_HINT`);
    a ValueError for a missing file, a file that is not a state dict, or missing/unexpected/wrongly shaped keys."""
    state = _read(path, "inception", INCEPTION_HINT)
    return InceptionFeatures(state, source=f"inception weights: {str(path)!r}")


# ---------------------------------------------------------------------------------------------------------- LPIPS


class LPIPS(nn.Module):
    """LPIPS v0.1 distance with VGG-16 features (Zhang et al., CVPR 2018); see the module docstring for the formula.

    ``forward(x01, y01)``: two batches (N, C, H, W) in [0, 1] of the same shape, C in {1, 3} (grey repeated to RGB);
    returns the (N,) distances. The spatial size must survive four 2x poolings (16 px or more). Always in eval mode
    with frozen parameters; gradients flow to the inputs if the caller asks for them.
    """

    def __init__(
        self,
        vgg_state_dict: Mapping[str, torch.Tensor] | None = None,
        lin_state_dict: Mapping[str, torch.Tensor] | None = None,
        *,
        vgg_source: str = "VGG-16 state dict",
        lin_source: str = "LPIPS linear-layer state dict",
    ):
        super().__init__()
        features = torchvision.models.vgg16(weights=None).features
        if vgg_state_dict is not None:
            state = as_state_dict(vgg_state_dict, vgg_source, VGG16_HINT)
            expected = {f"features.{k}": v.shape for k, v in features.state_dict().items()}
            _check_keys(state, expected, vgg_source, VGG16_HINT, ignore_prefixes=("classifier.",))
            features.load_state_dict({k[len("features."):]: state[k] for k in expected})
        self.features = features[: VGG_TAPS[-1] + 1]  # up to relu5_3; the last max-pool is not used
        self.lins = nn.ParameterList([nn.Parameter(torch.zeros(1, c, 1, 1)) for c in LPIPS_CHANNELS])
        if lin_state_dict is not None:
            state = as_state_dict(lin_state_dict, lin_source, LPIPS_HINT)
            expected = {f"lin{i}.model.1.weight": torch.Size((1, c, 1, 1)) for i, c in enumerate(LPIPS_CHANNELS)}
            _check_keys(state, expected, lin_source, LPIPS_HINT)
            with torch.no_grad():
                for i, lin in enumerate(self.lins):
                    lin.copy_(state[f"lin{i}.model.1.weight"])
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)
        _freeze(self)

    def train(self, mode: bool = True):
        return super().train(False)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG_TAPS:
                out.append(x / (torch.sqrt((x * x).sum(dim=1, keepdim=True)) + LPIPS_EPS))
        return out

    def forward(self, x01: torch.Tensor, y01: torch.Tensor) -> torch.Tensor:
        x, y = _to_rgb(x01, "LPIPS"), _to_rgb(y01, "LPIPS")
        if x.shape != y.shape:
            raise ValueError(f"LPIPS: the two batches differ in shape, {tuple(x.shape)} vs {tuple(y.shape)}")
        n = x.shape[0]
        both = torch.cat([x, y]).to(self.shift.dtype)
        both = (both * 2 - 1 - self.shift) / self.scale
        total = torch.zeros(n, dtype=both.dtype, device=both.device)
        for feats, w in zip(self._taps(both), self.lins):
            diff = (feats[:n] - feats[n:]) ** 2
            total = total + (diff * w).sum(dim=1).mean(dim=(1, 2))
        return total


def load_lpips(vgg_path, lin_path) -> LPIPS:
    """:class:`LPIPS` from torchvision's VGG-16 state dict (:data:`VGG16_HINT`) and the lpips package's VGG linear
    layers (:data:`LPIPS_HINT`); a ValueError for a missing file, a file that is not a state dict, or
    missing/unexpected/wrongly shaped keys."""
    vgg = _read(vgg_path, "vgg16", VGG16_HINT)
    lin = _read(lin_path, "lpips", LPIPS_HINT)
    return LPIPS(
        vgg, lin, vgg_source=f"vgg16 weights: {str(vgg_path)!r}", lin_source=f"lpips weights: {str(lin_path)!r}"
    )
