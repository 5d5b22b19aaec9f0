"""Networks of the noisy-label suite's offline profiles, and the nested classifier's read-out at every width.

* :class:`SmallCNN`: the offline backbone (32 x 32 images): three blocks of two 3x3 convolutions with batch norm
  and ReLU, then 2x2 max pooling; global average pooling gives the penultimate features.
* :class:`FeatureClassifier`: backbone -> features z (D) -> [dropout or nested truncation] -> linear classifier.
  Nested dropout's classifier has no bias (Chen et al., TNNLS 2022, code ``NetClassifier``: logits = z W), so the
  logits of the first k units are a partial sum, and :func:`accuracy_per_width` scores every k = 1..D from one
  forward pass.
* :func:`best_width`: the width K chosen on validation as the authors' code chooses it: the largest
  ``accuracy - 1e-5 * index`` (ties, and near-ties, go to the smaller K).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.suites.noisy_labels.losses import nested_truncate

__all__ = ["SmallCNN", "FeatureClassifier", "accuracy_per_width", "best_width", "WIDTH_TIE_BREAK"]

WIDTH_TIE_BREAK = 1e-5  # the authors' code selects argmax(accuracy - 1e-5 * index)


class SmallCNN(nn.Module):
    """Conv(3x3)-BN-ReLU x2 + max-pool, three times (widths ``width``, 2x, 4x), then global average pooling: a
    ``4 * width``-dimensional feature vector per image."""

    def __init__(self, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for out in (width, 2 * width, 4 * width):
            for _ in range(2):
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU(inplace=True)]
                channels = out
            layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.feature_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


class FeatureClassifier(nn.Module):
    """``backbone`` (images -> features of size ``feature_dim``) and a linear classifier on the features.

    ``forward(x, width=k)`` keeps the first k features (nested dropout; no rescaling); ``forward(x, dropout=p)``
    applies ``F.dropout`` to the features in training mode. ``bias=False`` for the nested methods.
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, *, bias: bool = True) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = nn.Linear(feature_dim, num_classes, bias=bias)

    def features(self, x: torch.Tensor, *, hidden_width: int | None = None) -> torch.Tensor:
        """The penultimate features; ``hidden_width`` truncates a trunk's hidden layer (VGG's first mask)."""
        return self.backbone(x) if hidden_width is None else self.backbone(x, hidden_width=hidden_width)

    def forward(self, x: torch.Tensor, *, width: int | None = None, dropout: float = 0.0,
                hidden_width: int | None = None) -> torch.Tensor:
        z = self.features(x, hidden_width=hidden_width)
        if width is not None:
            z = nested_truncate(z, width)
        if dropout:
            z = F.dropout(z, p=dropout, training=self.training)
        return self.classifier(z)


def accuracy_per_width(features, weight, labels: torch.Tensor, *, chunk: int = 512) -> torch.Tensor:
    """Accuracy of a bias-free linear read-out of the first k features, for every k = 1..D: (D,) float64.

    ``features`` (n, D), ``weight`` (C, D); or lists of them, one per network, for the read-out of their summed
    (equivalently averaged) logits. The logits at width k are the partial sums ``sum_{j <= k} z_j W[:, j]``,
    computed as a cumulative sum over j, ``chunk`` rows at a time.
    """
    features = list(features) if isinstance(features, (list, tuple)) else [features]
    weight = list(weight) if isinstance(weight, (list, tuple)) else [weight]
    n, dim = features[0].shape
    correct = torch.zeros(dim, dtype=torch.float64)
    for start in range(0, n, chunk):
        partial = 0
        for f, w in zip(features, weight):
            z = f[start:start + chunk].to(torch.float64)
            partial = partial + torch.cumsum(z[:, :, None] * w.T.to(torch.float64)[None, :, :], dim=1)  # (m, D, C)
        correct += (partial.argmax(dim=2) == labels[start:start + chunk, None]).sum(dim=0)
    return correct / n


def best_width(accuracy: torch.Tensor) -> int:
    """The width K (1-based) with the largest ``accuracy - 1e-5 * (K - 1)``: ties go to the smaller K."""
    if accuracy.ndim != 1 or accuracy.numel() == 0:
        raise ValueError(f"accuracy must hold one value per width, shape (D,) with D >= 1; "
                         f"got {tuple(accuracy.shape)}.")
    index = torch.arange(accuracy.shape[0], dtype=torch.float64)
    return int(torch.argmax(accuracy.to(torch.float64) - WIDTH_TIE_BREAK * index)) + 1
