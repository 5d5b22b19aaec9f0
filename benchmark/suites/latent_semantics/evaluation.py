"""Directions of each method, traversals read by the factor probe, fidelity and smoothness of a generator.

* **Directions** per projector layer (the first styled convolution of every block from 8 px up, W+ row
  ``2 * block + 1``): ``householder``, the ``k`` rows of :math:`Q(V_p)` of the fine-tuned projector;
  ``sefa``, the top-``k`` eigenvectors of :math:`A^\\top A` of the pretrained modulation (Shen & Zhou, CVPR
  2021); ``random``, ``k`` random orthonormal vectors (a control).
* **Edit** (Song et al., ICCV 2023, ``apply_factor.py``): from :math:`w = \\bar w + \\psi (f(z) - \\bar w)`,
  :math:`\\psi = 0.7`, add :math:`\\alpha v_j` to that layer's W+ row only (in rosinality's layout, which the reference edits,
  that row also feeds the previous block's ToRGB), :math:`\\alpha` on
  ``linspace(-a, a, n_alpha)``. The reference's :math:`a = 20` is for 512-dimensional latents; here
  :math:`a = ` ``alpha_scale`` :math:`\\cdot \\mathbb E \\lVert f(z) - \\bar w \\rVert` of the edited generator,
  so that edits are as large relative to the latents' spread whatever the style dimension. Noise inputs are
  the generator's fixed buffers, so that only the edit changes an image.
* **Scores**: the probe predicts every factor of every traversed image; :func:`metrics.direction_factor_scores`
  turns the (direction, alpha, prediction) samples into the directions x factors NMI matrix and its
  modularity, compactness and controlled fraction.
* **Fidelity**: the Fréchet distance between real and generated images (:math:`\\psi = 1`) in the probe's
  feature space (:func:`metrics.frechet_distance_from_stats`); the real statistics are cached per probe.
* **PPL** in W (Karras et al., CVPR 2020, Sec. 3.2, ``sampling full``): :math:`\\mathbb E\\big[\\lVert
  \\phi(G(\\operatorname{lerp}(w_a, w_b, t))) - \\phi(G(\\operatorname{lerp}(w_a, w_b, t + \\epsilon)))
  \\rVert^2\\big] / \\epsilon^2`, :math:`\\epsilon = 10^{-4}`, :math:`t \\sim U(0, 1)`, mean of the values between
  the 1st and 99th percentiles; :math:`\\phi` the probe's unit-normalised features (LPIPS-VGG in the paper,
  whose weights cannot be downloaded here).
* **PIPL** (Song et al., ``ppl_sefa.py``): as PPL, but the second point is :math:`w_t + \\epsilon v_j` on the
  W+ row of a random projector layer, with a random direction :math:`v_j` of the method;
  :math:`\\epsilon = a / 20` (the reference's :math:`\\epsilon = 1` against its :math:`a = 20`). Lower is
  smoother.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.suites.latent_semantics.config import METHODS, EvalSettings
from benchmark.suites.latent_semantics.gan import projector_layers
from benchmark.suites.latent_semantics.householder import HouseholderModulation, random_directions, sefa_directions

__all__ = ["EvalSettings", "LayerDirections", "method_directions", "latent_spread", "traverse", "probe_features",
           "real_statistics", "generated_statistics", "path_length", "probe_distance", "METHODS"]

@dataclass
class LayerDirections:
    block: int
    resolution: int
    row: int  # the W+ row the layer reads
    vectors: np.ndarray  # (k, style_dim), orthonormal rows

    def labels(self) -> list[str]:
        return [f"{self.resolution}px d{i}" for i in range(self.vectors.shape[0])]


def method_directions(method: str, g_edited, g_pretrained, k: int, seed: int) -> list[LayerDirections]:
    """The ``k`` directions of ``method`` for every projector layer (``g_edited`` holds the projectors for
    ``householder``; SeFa reads ``g_pretrained``'s modulation weights)."""
    out = []
    for block, res, row in projector_layers(g_pretrained):
        if method == "householder":
            mod = g_edited.convs[2 * block].conv.modulation
            if not isinstance(mod, HouseholderModulation):
                raise ValueError("householder directions need a generator with projectors (a fine-tuned one).")
            v = mod.directions()
        elif method == "sefa":
            v = sefa_directions(g_pretrained.convs[2 * block].conv.modulation.effective_weight.detach(), k)
        elif method == "random":
            v = random_directions(g_pretrained.style_dim, k, seed=seed * 1000 + block)
        else:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
        out.append(LayerDirections(block, res, row, v.detach().to(torch.float64).cpu().numpy()))
    return out


@torch.no_grad()
def mean_and_spread(g, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """:math:`\\bar w` over ``n`` samples and :math:`\\mathbb E\\lVert f(z) - \\bar w \\rVert` of the same samples."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.style_dim, generator=gen).to(_device(g))
    w = g.style(z)
    mean = w.mean(0, keepdim=True)
    return mean, float((w - mean).norm(dim=1).mean())


def latent_spread(g, n: int = 4096, seed: int = 0) -> float:
    return mean_and_spread(g, n, seed)[1]


def _to_probe(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Generated images in [-1, 1] -> the probe's [0, 1] input with the dataset's channel count."""
    x = ((images + 1.0) / 2.0).clamp(0.0, 1.0)
    return x.mean(dim=1, keepdim=True) if channels == 1 else x


def _device(module) -> torch.device:
    return next(module.parameters()).device


def _in_channels(probe) -> int:
    return int(probe.trunk[0].weight.shape[1])


@torch.no_grad()
def traverse(g, layers: list[LayerDirections], probe, s: EvalSettings, *, seed: int):
    """Traverse every direction from ``n_latents`` seeded latents over the alpha grid.

    Returns ``(alphas (J, n * A) grid indices, predictions (J, n * A, K), examples (J, A, C, H, W) uint8 of the
    first latent, alpha grid (A,))``."""
    w_mean, spread = mean_and_spread(g, s.n_mean_latent, seed=0)
    grid = np.linspace(-s.alpha_scale * spread, s.alpha_scale * spread, s.n_alpha)
    gen = torch.Generator().manual_seed(seed)
    dev = _device(g)
    z = torch.randn(s.n_latents, g.style_dim, generator=gen).to(dev)
    w = w_mean + s.truncation * (g.style(z) - w_mean)
    base = w.unsqueeze(1).expand(-1, g.n_latent, -1)
    channels = _in_channels(probe)
    preds, examples, codes = [], [], np.tile(np.arange(s.n_alpha), s.n_latents)
    noise = g.stored_noise()
    probe.eval()
    alpha_grid = torch.from_numpy(grid).float().to(dev)
    for layer in layers:
        for v in torch.from_numpy(layer.vectors).float().to(dev):
            edited = base.unsqueeze(1).repeat(1, s.n_alpha, 1, 1)  # (n, A, n_latent, D)
            edited[:, :, layer.row] += alpha_grid[None, :, None] * v
            flat = edited.reshape(-1, g.n_latent, g.style_dim)
            images = torch.cat([g([flat[i:i + s.batch]], input_is_latent=True, noise=noise)[0]
                                for i in range(0, flat.shape[0], s.batch)])
            x = _to_probe(images, channels)
            preds.append(probe.predict(x, batch=s.batch))
            examples.append((x[:s.n_alpha] * 255).round().to(torch.uint8).cpu().numpy())
    alphas = np.tile(codes, (len(preds), 1))
    return alphas, np.stack(preds), np.stack(examples), grid


@torch.no_grad()
def probe_features(probe, images01: torch.Tensor, batch: int = 256) -> np.ndarray:
    probe.eval()
    dev = _device(probe)
    return torch.cat([probe.features(images01[i:i + batch].to(dev)).cpu()
                      for i in range(0, images01.shape[0], batch)]).double().numpy()


def real_statistics(dataset, probe, n: int, seed: int = 0, *, features=None, batch: int = 512
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the features of ``n`` real images (indices drawn with ``default_rng([seed, 7])``):
    the probe's, or ``features(images01) -> (n, d) array``."""
    import metrics

    features = (lambda x: probe_features(probe, x)) if features is None else features
    idx = np.sort(np.random.default_rng([seed, 7]).choice(len(dataset), size=min(n, len(dataset)), replace=False))
    feats = []
    for i in range(0, len(idx), batch):
        x = torch.from_numpy(np.ascontiguousarray(dataset.images_at(idx[i:i + batch], np.float32)))
        feats.append(np.asarray(features(x), dtype=np.float64))
    return metrics.feature_statistics(np.concatenate(feats))


@torch.no_grad()
def generated_statistics(g, probe, n: int, seed: int, batch: int = 128, *, features=None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the features (the probe's, or ``features(images01)``) of ``n`` images of ``g`` (no
    truncation, fresh noise)."""
    import metrics

    features = (lambda x: probe_features(probe, x)) if features is None else features
    gen = torch.Generator().manual_seed(seed)
    channels = _in_channels(probe)
    feats = []
    for i in range(0, n, batch):
        z = torch.randn(min(batch, n - i), g.style_dim, generator=gen)
        images, _ = g([z.to(_device(g))], noise=[torch.randn(z.shape[0], *b.shape[1:], generator=gen).to(b.device)
                                                for b in g.stored_noise()])
        feats.append(np.asarray(features(_to_probe(images, channels)), dtype=np.float64))
    return metrics.feature_statistics(np.concatenate(feats))


def probe_distance(probe, channels: int | None = None):
    """The squared Euclidean distance between the probe's unit-normalised features of two image batches in [0, 1]
    (the probe's stand-in for LPIPS, which is a weighted squared distance of unit-normalised VGG features)."""

    def distance(a01: torch.Tensor, b01: torch.Tensor) -> torch.Tensor:
        f = torch.from_numpy(probe_features(probe, torch.cat([a01, b01])))
        f = f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
        n = a01.shape[0]
        return ((f[:n] - f[n:]) ** 2).sum(1)

    return distance


@torch.no_grad()
def path_length(g, probe, s: EvalSettings, *, seed: int, layers: list[LayerDirections] | None = None,
                eps: float | None = None, distance=None) -> float:
    """PPL in W (``layers`` None) or PIPL along the directions of ``layers`` (see the module docstring), with
    ``distance(images_a, images_b) -> (n,)`` on images in [0, 1] (default: :func:`probe_distance`)."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng([seed, 11])
    channels = _in_channels(probe)
    distance = probe_distance(probe) if distance is None else distance
    noise = g.stored_noise()
    eps = s.ppl_eps if eps is None else eps
    dists = []
    for i in range(0, s.n_ppl, s.batch):
        n = min(s.batch, s.n_ppl - i)
        dev = _device(g)
        w = g.style(torch.randn(2 * n, g.style_dim, generator=gen).to(dev))
        t = torch.rand(n, 1, generator=gen).to(dev)
        w_t = torch.lerp(w[:n], w[n:], t)
        a = w_t.unsqueeze(1).expand(-1, g.n_latent, -1).clone()
        if layers is None:
            b = torch.lerp(w[:n], w[n:], t + eps).unsqueeze(1).expand(-1, g.n_latent, -1)
        else:
            b = a.clone()
            which = rng.integers(0, len(layers), size=n)
            j = rng.integers(0, layers[0].vectors.shape[0], size=n)
            for m in range(n):
                layer = layers[which[m]]
                b[m, layer.row] += eps * torch.from_numpy(layer.vectors[j[m]]).float().to(dev)
        images = _to_probe(g([torch.cat([a, b])], input_is_latent=True, noise=noise)[0], channels)
        dists.append(distance(images[:n], images[n:]).double().numpy() / eps ** 2)
    d = np.concatenate(dists)
    lo, hi = np.percentile(d, [1, 99])
    kept = d[(d >= lo) & (d <= hi)]
    return float(kept.mean())
