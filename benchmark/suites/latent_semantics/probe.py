"""The factor probe: a small CNN that reads every ground-truth factor off an image, trained once per dataset.

The latent-semantics suite judges a discovered direction by what it changes in the generated images; the probe is
how it reads those changes: one classification head per factor of the dataset (dSprites, Shapes3D, MPI3D and their
twins), on a shared convolutional trunk whose penultimate features also serve as the space of the Fréchet distance
between real and generated images. Its held-out accuracy per factor is reported beside every score it enables.

A trained probe is cached by the dataset's content hash and the training settings
(``<cache>/probe-<hash>.pt``, written atomically, read with ``torch.load(weights_only=True)``), so each dataset
pays for it once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.suites.latent_semantics.config import ProbeSettings

__all__ = ["FactorProbe", "ProbeSettings", "ProbeResult", "train_probe", "load_or_train_probe", "probe_key"]

PROBE_VERSION = "1"  # bump when the architecture or training changes: a new cache key


class FactorProbe(nn.Module):
    """Conv(3x3, stride 2)-BN-ReLU blocks of ``width``, 2x, 4x, 4x channels down to 4 x 4 for 32 or 64 px inputs,
    global average pooling to ``4 * width`` features, and one linear head per factor."""

    def __init__(self, factor_sizes, in_channels: int = 3, width: int = 32, image_size: int = 64):
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError(f"the probe reads 32 or 64 px images; got {image_size}.")
        widths = [width, 2 * width, 4 * width] + ([4 * width] if image_size == 64 else [])
        layers, channels = [], in_channels
        for out in widths:
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            channels = out
        self.trunk = nn.Sequential(*layers)
        self.feature_dim = channels
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.heads = nn.ModuleList(nn.Linear(channels, s) for s in self.factor_sizes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        z = self.features(x)
        return [head(z) for head in self.heads]

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 512) -> np.ndarray:
        """Predicted class of every factor: (N, n_factors) int64."""
        self.eval()
        out = []
        for s in range(0, x.shape[0], batch):
            out.append(torch.stack([h.argmax(dim=1) for h in self(x[s:s + batch])], dim=1).cpu())
        return torch.cat(out).numpy()


@dataclass
class ProbeResult:
    probe: FactorProbe
    accuracy: list[float]  # held-out accuracy per factor
    settings: ProbeSettings
    key: str
    cached: bool = False


def probe_key(dataset, settings: ProbeSettings) -> str:
    """The cache key: the dataset's content hash, the settings and the probe's version."""
    blob = json.dumps({"dataset": dataset.content_hash, "settings": dataclasses.asdict(settings),
                       "version": PROBE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _images(dataset, indices: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(dataset.images_at(indices, np.float32)))


def train_probe(dataset, settings: ProbeSettings = ProbeSettings(), *, device: str = "cpu",
                progress: bool = False) -> ProbeResult:
    """Train a probe on ``dataset`` (a FactorDataset): Adam, cross-entropy summed over factors, batches of random
    indices drawn with ``default_rng([seed, 0])``; accuracy on ``n_heldout`` indices drawn apart
    (``default_rng([seed, 1])``, excluded from training when the dataset is small enough to tell)."""
    from tqdm.auto import tqdm

    torch.manual_seed(settings.seed)
    n = len(dataset)
    image_size = int(dataset.images_at(np.array([0])).shape[-1])
    sizes = list(dataset.factor_sizes)
    probe = FactorProbe(sizes, width=settings.width, image_size=image_size).to(device)
    heldout = np.sort(np.random.default_rng([settings.seed, 1]).choice(n, size=min(settings.n_heldout, n // 5),
                                                                      replace=False))
    excluded = np.zeros(n, dtype=bool) if n <= 50_000_000 else None  # a mask of held-out indices, where it fits
    if excluded is not None:
        excluded[heldout] = True
    rng = np.random.default_rng([settings.seed, 0])
    opt = torch.optim.Adam(probe.parameters(), lr=settings.lr)
    probe.train()
    for _ in tqdm(range(settings.steps), disable=not progress, desc="factor probe", unit="step"):
        idx = rng.integers(0, n, size=settings.batch_size * 2)
        if excluded is not None:
            idx = idx[~excluded[idx]]
        idx = np.sort(idx[:settings.batch_size])
        x = _images(dataset, idx).to(device)
        y = torch.from_numpy(dataset.index_to_factors(idx).astype(np.int64)).to(device)
        loss = sum(F.cross_entropy(logits, y[:, i]) for i, logits in enumerate(probe(x)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    pred = probe.predict(_images(dataset, heldout).to(device))
    truth = dataset.index_to_factors(heldout)
    accuracy = [float(np.mean(pred[:, i] == truth[:, i])) for i in range(len(sizes))]
    return ProbeResult(probe.cpu(), accuracy, settings, probe_key(dataset, settings))


def load_or_train_probe(dataset, cache_dir: str | os.PathLike, settings: ProbeSettings = ProbeSettings(), *,
                        device: str = "cpu", progress: bool = False) -> ProbeResult:
    """The cached probe of ``dataset`` under ``settings``, trained and cached first if absent. A damaged cache file
    is retrained over (and says so)."""
    import warnings

    key = probe_key(dataset, settings)
    path = Path(cache_dir) / f"probe-{key}.pt"
    if path.exists():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            probe = FactorProbe(saved["factor_sizes"], width=settings.width, image_size=int(saved["image_size"]))
            probe.load_state_dict(saved["state"])
            return ProbeResult(probe, [float(a) for a in saved["accuracy"]], settings, key, cached=True)
        except Exception as exc:  # noqa: BLE001 - any damage: retrain
            warnings.warn(f"the cached probe {path} cannot be read ({type(exc).__name__}); training it again.",
                          stacklevel=2)
    result = train_probe(dataset, settings, device=device, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save({"state": result.probe.state_dict(), "accuracy": result.accuracy,
                "factor_sizes": list(result.probe.factor_sizes),
                "image_size": int(dataset.images_at(np.array([0])).shape[-1])}, tmp)
    os.replace(tmp, path)
    return result
