"""The noisy-label suite's trunks: images -> penultimate features, built by name (:func:`build_trunk`).

Each trunk is an ``nn.Module`` with ``feature_dim`` (the size D of its features), ``hidden_dim`` (VGG's 4096
hidden units, ``None`` otherwise) and ``forward(x, hidden_width=None) -> (B, D)``. The linear classifier on the
features is :class:`~benchmark.suites.noisy_labels.models.FeatureClassifier`'s (bias-free for the nested methods),
never the torchvision model's last layer, which the trunks drop.

* ``resnet18``, ``resnet50`` (Clothing1M; Chen et al., "Compressing Features for Learning with Noisy Labels",
  TNNLS 2022, code yingyichen-cyy/Nested-Co-teaching): torchvision's ResNet without ``fc``; the features are the
  512 (2048) outputs of global average pooling. The authors pool with ``AvgPool2d(7)`` on 224 px input; ours is
  torchvision's adaptive average pooling, the same at 224 px and defined at any input size. The recipe loads
  ImageNet weights (``weights=``) and freezes batch norm (``freeze_bn=True``).
* ``vgg19_bn`` (ANIMAL-10N, the same paper; trained from scratch at 64 x 64): torchvision's ``features`` ->
  ``AdaptiveAvgPool2d(7)`` -> flatten (25088) -> Linear(25088, 4096) + ReLU -> Dropout(p) -> [nested mask 1:
  ``hidden_width``] -> Linear(4096, 4096) + ReLU -> Dropout(p): 4096 features, on which the classifier applies
  mask 2. torchvision's ``classifier.6`` (Linear(4096, 1000)) is dropped; the other layers keep torchvision's
  names (``classifier.0``, ``classifier.3``), so a torchvision state dict loads as it is.
* ``cifar_resnet18``, ``cifar_resnet34`` (CIFAR; Liu et al., "Early-Learning Regularization Prevents Memorization
  of Noisy Labels", NeurIPS 2020: ResNet-34 for ELR, PreActResNet-18 for ELR+): torchvision's ResNet with the CIFAR
  stem, a 3x3 stride-1 convolution (64 channels, no bias) and no max-pooling; 512 features. This deviates from the
  authors, who use their own CIFAR ResNet-34 and a pre-activation ResNet-18: ours has torchvision's post-activation
  basic block for both.
* ``small_cnn``: :class:`~benchmark.suites.noisy_labels.models.SmallCNN` (``4 * width`` features), for the offline
  profiles.

torchvision is imported only when a torchvision trunk is built, so ``small_cnn`` needs torch alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from benchmark.state_dicts import mismatches, read_state_dict
from benchmark.suites.noisy_labels.losses import nested_truncate
from benchmark.suites.noisy_labels.recipes import BACKBONES
from benchmark.suites.noisy_labels.models import SmallCNN

__all__ = ["BACKBONES", "build_trunk", "weights_hint", "ResNetTrunk", "VGGTrunk", "SmallCNNTrunk"]


# torchvision constructor of each torchvision trunk, and the keys of the layers the trunk drops.
_TORCHVISION_ARCH = {"resnet18": "resnet18", "resnet50": "resnet50", "vgg19_bn": "vgg19_bn",
                     "cifar_resnet18": "resnet18", "cifar_resnet34": "resnet34"}
_DROPPED_KEYS = {"resnet18": ("fc.weight", "fc.bias"), "resnet50": ("fc.weight", "fc.bias"),
                 "cifar_resnet18": ("fc.weight", "fc.bias"), "cifar_resnet34": ("fc.weight", "fc.bias"),
                 "vgg19_bn": ("classifier.6.weight", "classifier.6.bias")}
_IMAGENET_WEIGHTS = ("resnet18", "resnet50", "vgg19_bn")  # the trunks whose recipe starts from ImageNet weights


def _torchvision():
    try:
        import torchvision
    except Exception as error:  # noqa: BLE001 - a broken install raises more than ImportError
        raise ImportError(f"the torchvision trunks need a working torchvision ({type(error).__name__}: {error}); "
                          f"install the torchvision matching your torch, or use the small_cnn backbone.") from error
    return torchvision


class _Trunk(nn.Module):
    """Common behaviour: ``feature_dim``, ``hidden_dim``, the refusal of ``hidden_width`` where it means nothing,
    and frozen batch norm.

    Parameters
    ----------
    name : str
        The backbone's name in :data:`BACKBONES`.
    """

    hidden_dim: int | None = None

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.freeze_bn = False

    def _check_hidden_width(self, hidden_width: int | None) -> None:
        if hidden_width is not None:
            raise ValueError(f"hidden_width applies to vgg19_bn's {VGGTrunk.HIDDEN} hidden units only; {self.name} "
                             f"has no hidden layer: pass hidden_width=None (truncate its features with the "
                             f"classifier's width instead).")

    def set_freeze_bn(self, freeze: bool = True) -> _Trunk:
        """Keep every batch norm in eval mode (running statistics used, never updated) and stop training its
        affine parameters; ``freeze=False`` undoes both."""
        self.freeze_bn = bool(freeze)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                for param in (module.weight, module.bias):
                    if param is not None:
                        param.requires_grad_(not self.freeze_bn)
        return self.train(self.training)

    def train(self, mode: bool = True) -> _Trunk:
        """``nn.Module.train``, after which the batch norms are put back in eval mode when ``freeze_bn`` is set
        (a module containing the trunk reaches this method through its own ``train``)."""
        super().train(mode)
        if self.freeze_bn:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


class SmallCNNTrunk(_Trunk):
    """:class:`~benchmark.suites.noisy_labels.models.SmallCNN` as a trunk: ``4 * width`` features.

    Parameters
    ----------
    width : int
        The first block's channels (then ``2 * width``, ``4 * width``).
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__("small_cnn")
        self.net = SmallCNN(in_channels=3, width=width)
        self.feature_dim = self.net.feature_dim

    def forward(self, x: torch.Tensor, hidden_width: int | None = None) -> torch.Tensor:
        self._check_hidden_width(hidden_width)
        return self.net(x)


class ResNetTrunk(_Trunk):
    """torchvision's ResNet without ``fc``: stem -> layer1..layer4 -> global average pooling -> flatten.

    The modules keep torchvision's names (``conv1``, ``bn1``, ``layer1``, ...), so a torchvision state dict less
    ``fc.*`` is this trunk's state dict.

    Parameters
    ----------
    name : str
        ``"resnet18"`` or ``"resnet50"`` (ImageNet stem: 7x7 stride-2 convolution and 3x3 stride-2 max-pooling,
        Chen et al., TNNLS 2022, Clothing1M), or ``"cifar_resnet18"`` / ``"cifar_resnet34"`` (CIFAR stem: 3x3
        stride-1 convolution, no max-pooling; the backbones of Liu et al., NeurIPS 2020, ELR / ELR+, built from
        torchvision's post-activation blocks rather than the authors' own CIFAR ResNet-34 and PreActResNet-18).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        net = getattr(_torchvision().models, _TORCHVISION_ARCH[name])()
        if name.startswith("cifar_"):
            net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")  # torchvision's init
            net.maxpool = nn.Identity()
        for part in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            setattr(self, part, getattr(net, part))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = net.fc.in_features

    def forward(self, x: torch.Tensor, hidden_width: int | None = None) -> torch.Tensor:
        self._check_hidden_width(hidden_width)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


class VGGTrunk(_Trunk):
    """torchvision's VGG-19-BN without ``classifier.6``: ``features`` -> AdaptiveAvgPool2d(7) -> flatten ->
    Linear(25088, 4096) + ReLU -> Dropout(p) -> [keep the first ``hidden_width`` units] -> Linear(4096, 4096) +
    ReLU -> Dropout(p), the ANIMAL-10N network of Chen et al., TNNLS 2022 (nested mask 1 on the first hidden
    layer; the suite's classifier applies mask 2 on the 4096 features).

    Parameters
    ----------
    dropout : float
        Both dropout layers' probability (torchvision's default is 0.5; the suite's default 0).
    """

    HIDDEN = 4096
    hidden_dim = HIDDEN

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__("vgg19_bn")
        net = _torchvision().models.vgg19_bn(dropout=dropout)
        self.features = net.features
        self.avgpool = net.avgpool
        # classifier.0..5 keep torchvision's initialisation and names; classifier.6 (the 1000 classes) is dropped.
        self.classifier = nn.Sequential(*list(net.classifier.children())[:6])
        self.feature_dim = self.HIDDEN

    def forward(self, x: torch.Tensor, hidden_width: int | None = None) -> torch.Tensor:
        h = self.classifier[:3](torch.flatten(self.avgpool(self.features(x)), 1))
        if hidden_width is not None:
            h = nested_truncate(h, hidden_width)
        return self.classifier[3:](h)


def weights_hint(name: str) -> str:
    """The command that writes ``name``'s ImageNet weights as the state dict :func:`build_trunk` loads.

    Parameters
    ----------
    name : str
        ``"resnet18"``, ``"resnet50"`` or ``"vgg19_bn"`` (the trunks whose recipe starts from ImageNet weights).

    Returns
    -------
    str
        A one-line instruction, e.g. ``python -c "import torch, torchvision; torch.save(torchvision.models.
        resnet18(weights='IMAGENET1K_V1').state_dict(), 'resnet18-imagenet.pth')"`` and the ``--weights`` flag.
    """
    if name not in _IMAGENET_WEIGHTS:
        raise ValueError(f"no ImageNet weights for {name!r}: only {', '.join(_IMAGENET_WEIGHTS)} start from "
                         f"ImageNet weights; the other backbones train from scratch.")
    file = f"{name}-imagenet.pth"
    return (f"on a machine with internet run: python -c \"import torch, torchvision; torch.save(torchvision.models."
            f"{name}(weights='IMAGENET1K_V1').state_dict(), '{file}')\" and pass --weights {file}")


_STATE_DICT_HINT = ("the weights file must be a torchvision state dict saved with torch.save(model.state_dict()) "
                    "(a dict of tensors), not a pickled model or checkpoint.")


def _load_weights(trunk: _Trunk, name: str, path: Path) -> None:
    arch = f"torchvision.models.{_TORCHVISION_ARCH[name]}()"
    if name.startswith("cifar_"):
        arch += " with the CIFAR stem (conv1 3x3 stride 1, no max-pool)"
    if not path.is_file():
        how = (weights_hint(name) if name in _IMAGENET_WEIGHTS else
               f"{name} trains from scratch in its recipe (no ImageNet weights): pass no weights")
        raise FileNotFoundError(f"no weights file at {path}. ImageNet weights cannot be downloaded by this suite; "
                                f"{how}")
    given = read_state_dict(path, _STATE_DICT_HINT)
    for key in _DROPPED_KEYS[name]:
        given.pop(key, None)
    own = trunk.state_dict()
    stem = given.get("conv1.weight")
    if name.startswith("cifar_") and stem is not None and stem.shape != own["conv1.weight"].shape:
        raise ValueError(f"{path} has conv1.weight of shape {tuple(stem.shape)} (an ImageNet stem) "
                         f"but {name} has the CIFAR stem {tuple(own['conv1.weight'].shape)}: pretrained weights are "
                         f"not part of the CIFAR recipe (ELR trains from scratch); pass no weights.")
    # Files written before batch norm counted its batches (torchvision's own old .pth) lack num_batches_tracked.
    problems = mismatches(given, {key: value.shape for key, value in own.items()},
                          optional_suffixes=("num_batches_tracked",))
    if problems:
        raise ValueError(f"{path} does not fit {name} ({arch} without {', '.join(_DROPPED_KEYS[name])}): "
                         f"{'; '.join(problems)}. Pass a state dict of {arch}, saved with "
                         f"torch.save(model.state_dict()).")
    for key in own:
        given.setdefault(key, own[key])
    trunk.load_state_dict(given, strict=True)


def build_trunk(name: str, *, width: int = 16, dropout: float = 0.0, freeze_bn: bool = False,
                weights: str | os.PathLike | None = None) -> nn.Module:
    """Build a trunk by name: an ``nn.Module`` with ``feature_dim``, ``hidden_dim`` and
    ``forward(x, hidden_width=None) -> (B, feature_dim)``.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONES`: ``small_cnn`` (offline profiles), ``resnet18`` / ``resnet50`` (Clothing1M, Chen et
        al., TNNLS 2022), ``vgg19_bn`` (ANIMAL-10N, the same paper), ``cifar_resnet18`` / ``cifar_resnet34``
        (CIFAR, Liu et al., NeurIPS 2020, ELR+ / ELR).
    width : int
        ``small_cnn``'s first block's channels (its features are ``4 * width``); ignored by the other trunks.
    dropout : float
        The dropout probability of ``vgg19_bn``'s two hidden layers, in [0, 1). Other trunks have no dropout of
        their own (the classifier's dropout acts on the features) and refuse a non-zero value.
    freeze_bn : bool
        Keep every batch norm in eval mode, whatever ``.train()`` is called on, and its affine parameters
        untrained (``requires_grad=False``): the Clothing1M recipe on ImageNet weights.
    weights : str or os.PathLike, optional
        A torchvision state dict of the full torchvision model (``torch.save(model.state_dict())``), read with
        ``torch.load(weights_only=True)``. The keys of the dropped last layer (``fc.*``, ``classifier.6.*``) are
        ignored; everything else must match. Loaded before ``freeze_bn`` applies. Refused for ``small_cnn``.

    Returns
    -------
    nn.Module
        The trunk (:class:`SmallCNNTrunk`, :class:`ResNetTrunk` or :class:`VGGTrunk`), in training mode.

    Raises
    ------
    ValueError
        An unknown name, a misplaced argument, or a weights file that is not a fitting state dict.
    FileNotFoundError
        No file at ``weights`` (the message gives :func:`weights_hint`'s command).
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
    if dropout and name != "vgg19_bn":
        raise ValueError(f"dropout={dropout} is vgg19_bn's hidden-layer dropout; {name} has no hidden layer: pass "
                         f"dropout=0 (the classifier's dropout acts on the features).")
    if weights is not None and name == "small_cnn":
        raise ValueError("small_cnn has no pretrained weights (it trains from scratch in the offline profiles); "
                         "pass weights=None.")
    if name == "small_cnn":
        trunk: _Trunk = SmallCNNTrunk(width)
    elif name == "vgg19_bn":
        trunk = VGGTrunk(dropout)
    else:
        trunk = ResNetTrunk(name)
    if weights is not None:
        _load_weights(trunk, name, Path(os.fspath(weights)).expanduser())
    if freeze_bn:
        trunk.set_freeze_bn(True)
    return trunk
