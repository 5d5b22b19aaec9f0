"""Plots of trained models: latent-traversal grids, reconstruction grids and NMI heatmaps (PNG, matplotlib Agg).

Image grids are first assembled into one array by :func:`image_mosaic` (pure numpy, exact), then drawn with
axis labels. Every function returns the path it wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["image_mosaic", "save_image_grid", "save_traversal_grid", "save_reconstruction_grid", "save_nmi_heatmap",
           "plotted_images", "save_job_plots"]


def image_mosaic(images: np.ndarray, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile images (R, S, C, H, W) with values in [0, 1] into one (R*(H+pad)-pad, S*(W+pad)-pad, C') array.

    C' is 3 for colour images and 1-channel images are returned as (..., 1). Cell (r, s) starts at row
    r*(H+pad) and column s*(W+pad); the gaps hold ``pad_value``.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 5:
        raise ValueError(f"images must be 5D with shape (rows, cols, channels, height, width); got shape {images.shape}.")
    rows, cols, channels, height, width = images.shape
    out = np.full((rows * (height + pad) - pad, cols * (width + pad) - pad, channels), pad_value, dtype=np.float32)
    for r in range(rows):
        for s in range(cols):
            y, x = r * (height + pad), s * (width + pad)
            out[y:y + height, x:x + width] = images[r, s].transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    return np.clip(out, 0.0, 1.0)


def save_image_grid(images: np.ndarray, path: str | Path, *, row_labels: Sequence[str] | None = None,
                    col_labels: Sequence[str] | None = None, title: str | None = None, pad: int = 1) -> Path:
    """Save images (R, S, C, H, W) in [0, 1] as one labelled PNG grid."""
    mosaic = image_mosaic(images, pad=pad)
    rows, cols, _, height, width = np.asarray(images).shape
    fig_w = max(3.0, 0.6 * cols + 1.5)
    fig_h = max(2.0, 0.6 * rows + (0.8 if title else 0.4))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=100)
    if mosaic.shape[2] == 1:
        ax.imshow(mosaic[:, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_yticks([r * (height + pad) + height / 2 for r in range(rows)])
    ax.set_yticklabels(list(row_labels) if row_labels is not None else [""] * rows, fontsize=7)
    ax.set_xticks([s * (width + pad) + width / 2 for s in range(cols)])
    ax.set_xticklabels(list(col_labels) if col_labels is not None else [""] * cols, fontsize=6, rotation=90)
    ax.tick_params(length=0)
    return _save(fig, ax, path, title)


def _save(fig, ax, path: str | Path, title: str | None) -> Path:
    """Title the axes, write the figure as a PNG (creating its folder) and close it."""
    if title:
        ax.set_title(title, fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight", pad_inches=0.05)  # no blank band where the mosaic is wider than the figure
    plt.close(fig)
    return path


def save_traversal_grid(model, image: np.ndarray, sample: np.ndarray, path: str | Path, *, n_steps: int = 10,
                        title: str | None = None) -> Path:
    """Latent traversal of ``image``: row l sweeps latent l (codebook values for quantized models)."""
    from benchmark.suites.disentanglement.inference import traverse

    grid, values = traverse(model, image, sample, n_steps=n_steps)  # (L, S, C, H, W), (L, S)
    labels = [f"z{l} [{values[l].min():.2f}, {values[l].max():.2f}]" for l in range(len(values))]
    return save_image_grid(grid, path, row_labels=labels, title=title or "latent traversal")


def save_reconstruction_grid(model, images: np.ndarray, path: str | Path, *, n: int = 8, title: str | None = None) -> Path:
    """First row: ``n`` input images; second row: their reconstructions."""
    from benchmark.suites.disentanglement.inference import reconstruct

    images = np.asarray(images)[:n]
    originals = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    grid = np.stack([originals, reconstruct(model, images)])  # (2, n, C, H, W)
    return save_image_grid(grid, path, row_labels=["input", "reconstruction"], title=title or "reconstructions")


def _per_axis(values, n: int, name: str, axis: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one value per {axis} of nmi ({n}); got shape {arr.shape}.")
    return arr


def _nmi_axis_labels(factor_names, latent_names, infoc_per_factor, infom_per_latent, active) -> tuple[list, list]:
    """Row and column labels of the NMI heatmap, with each factor's C and each latent's M term when given."""
    factor_labels, latent_labels = list(factor_names), list(latent_names)
    if infoc_per_factor is not None:
        c = _per_axis(infoc_per_factor, len(factor_labels), "infoc_per_factor", "row")
        factor_labels = [f"{name}  C {v:.2f}" for name, v in zip(factor_labels, c)]
    if infom_per_latent is not None:
        n = len(latent_labels)
        m = _per_axis(infom_per_latent, n, "infom_per_latent", "column")
        on = np.ones(n, bool) if active is None else _per_axis(active, n, "active", "column").astype(bool)
        latent_labels = [f"{name}  M {v:.2f}" if a else f"{name}  inactive" for name, v, a in zip(latent_labels, m, on)]
    return factor_labels, latent_labels


def save_nmi_heatmap(nmi: np.ndarray, factor_names: Sequence[str], path: str | Path, *,
                     latent_names: Sequence[str] | None = None, title: str | None = None,
                     infoc_per_factor: Sequence[float] | None = None, infom_per_latent: Sequence[float] | None = None,
                     active: Sequence[bool] | None = None) -> Path:
    """Heatmap of the normalised mutual information matrix (K factors x L latents), values annotated.

    With the InfoMEC terms given (``metrics.infomec(...).infoc_per_factor``, ``.infom_per_latent``,
    ``.active``), each factor's label carries its compactness term (C) and each latent's its
    modularity term (M), or "inactive": the plot then shows which rows and columns make the scores.
    """
    nmi = np.asarray(nmi, dtype=np.float64)
    if nmi.ndim != 2:
        raise ValueError(f"nmi must be 2D with shape (n_factors, n_latents); got shape {nmi.shape}.")
    n_factors, n_latents = nmi.shape
    if len(factor_names) != n_factors:
        raise ValueError(f"factor_names must have one name per row of nmi ({n_factors}); got {len(factor_names)}.")
    latent_names = list(latent_names) if latent_names is not None else [f"z{j}" for j in range(n_latents)]
    if len(latent_names) != n_latents:
        raise ValueError(f"latent_names must have one name per column of nmi ({n_latents}); got {len(latent_names)}.")
    if not np.all(np.isfinite(nmi)):
        raise ValueError("nmi contains NaN or infinity.")
    factor_labels, latent_names = _nmi_axis_labels(factor_names, latent_names, infoc_per_factor, infom_per_latent, active)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * n_latents + 2.5), max(2.5, 0.45 * n_factors + 1.2)), dpi=100)
    im = ax.imshow(nmi, cmap="viridis", vmin=0.0, vmax=max(1.0, float(nmi.max())), aspect="auto")
    ax.set_xticks(range(n_latents), latent_names, fontsize=7, rotation=90)
    ax.set_yticks(range(n_factors), factor_labels, fontsize=7)
    for i in range(n_factors):
        for j in range(n_latents):
            ax.text(j, i, f"{nmi[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="black" if nmi[i, j] > 0.5 else "white")
    ax.set_xlabel("latent" + ("  (M: its InfoM term)" if infom_per_latent is not None else ""))
    ax.set_ylabel("factor" + ("  (C: its InfoC term)" if infoc_per_factor is not None else ""))
    fig.colorbar(im, ax=ax, label="NMI")
    return _save(fig, ax, path, title)


def plotted_images(n_images: int, n: int = 500, seed: int = 0) -> np.ndarray:
    """Indices of the evaluation images the plots show (the first 8 reconstructed, the first one traversed,
    all ``n`` setting the traversal ranges): drawn across the sample, seeded. The sample is in dataset order,
    so its first images share the classes of the slowest-varying factors (dSprites' first 500: one shape, one
    scale)."""
    return np.random.default_rng(seed).permutation(n_images)[:n]


def save_job_plots(model, dataset, images, latents, outcomes, folder: Path, *, title: str, seed: int = 0) -> None:
    """The plots of one trained model: reconstructions, latent traversals and the NMI heatmap with InfoMEC terms.

    ``images`` and ``latents`` are the evaluation sample and its encoding, ``outcomes`` the evaluation's
    ``MetricOutcome`` list; ``title`` names what was trained (dataset, model, seed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shown = plotted_images(len(images), seed=seed)
    save_reconstruction_grid(model, images[shown[:8]], folder / "reconstructions.png",
                             title=f"{title}: reconstructions")
    save_traversal_grid(model, images[shown[0]], images[shown], folder / "traversals.png",
                        title=f"{title}: latent traversals")
    scores = {o.metric: o for o in outcomes if o.metric in ("infom", "infoc") and o.status == "ok"}
    if len(scores) == 2:
        infomec = scores["infom"].components
        save_nmi_heatmap(np.asarray(infomec["nmi"]), dataset.factor_names, folder / "nmi.png",
                         infoc_per_factor=infomec["infoc_per_factor"], infom_per_latent=infomec["infom_per_latent"],
                         active=infomec["active"], title=f"{title}: NMI (InfoM {scores['infom'].value:.3f}, "
                                                          f"InfoC {scores['infoc'].value:.3f})")
