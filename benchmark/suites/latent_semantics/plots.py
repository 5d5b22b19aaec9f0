"""Figures of the latent-semantics suite.

Per job (``job_figures``): the traversal grid (one row per direction, one column per alpha, from the first
traversal latent; each row labelled with the factor the probe sees it move most, by NMI) and the directions x
factors NMI heatmap. Per run (``run_figures``): the heatmaps of every method side by side (seed 0) and the
direction scores of every method over the seeds.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from leaderboard.plots import save_png

__all__ = ["traversal_grid", "nmi_heatmap", "job_figures", "run_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def traversal_grid(examples: np.ndarray, alphas, labels, moved, title: str, path: Path) -> Path:
    """``examples`` (J, A, C, H, W) uint8: J directions x A alphas, one image each; a PNG at ``path``."""
    plt = _plt()
    examples = np.asarray(examples)
    n_dir, n_alpha, channels, h, w = examples.shape
    tiles = examples.transpose(0, 3, 1, 4, 2).reshape(n_dir * h, n_alpha * w, channels)  # rows of directions
    fig_h = max(2.0, 0.42 * n_dir + 0.8)
    fig, ax = plt.subplots(figsize=(1.0 + 0.42 * n_alpha + 2.2, fig_h), constrained_layout=True)
    ax.imshow(tiles[..., 0] if channels == 1 else tiles, cmap="gray" if channels == 1 else None,
              interpolation="nearest", vmin=0, vmax=255)
    ax.set_yticks(np.arange(n_dir) * h + h / 2, [f"{lab} -> {m}" for lab, m in zip(labels, moved)], fontsize=6)
    ax.set_xticks(np.arange(n_alpha) * w + w / 2, [f"{a:.2g}" for a in alphas], fontsize=6)
    ax.set_xlabel("alpha (edit along the direction)")
    ax.set_title(title, fontsize=9)
    return save_png(fig, path)


def nmi_heatmap(nmi: np.ndarray, labels, factor_names, title: str, path: Path | None = None, ax=None):
    """The directions x factors NMI matrix as a heatmap (its own PNG at ``path``, or drawn into ``ax``)."""
    plt = _plt()
    nmi = np.asarray(nmi, dtype=float)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(1.5 + 0.6 * nmi.shape[1], 1.0 + 0.2 * nmi.shape[0]), constrained_layout=True)
    image = ax.imshow(nmi, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks(np.arange(len(factor_names)), factor_names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(np.arange(len(labels)), labels, fontsize=5)
    ax.set_title(title, fontsize=8)
    if own:
        fig.colorbar(image, ax=ax, label="NMI(alpha; predicted factor)")
        return save_png(fig, path)
    return image


def job_figures(folder: Path, *, title: str, examples, alphas, labels, moved, nmi, factor_names) -> list[Path]:
    folder = Path(folder)
    return [traversal_grid(examples, alphas, labels, moved, f"traversals: {title}", folder / "traversals.png"),
            nmi_heatmap(nmi, labels, factor_names, f"directions x factors: {title}", folder / "nmi.png")]


def run_figures(records, out: Path) -> list[Path]:
    """Per dataset: the NMI heatmaps of every method (seed 0), and modularity, compactness and controlled fraction
    of every method (mean and seeds); one PNG each in ``out``."""
    plt = _plt()
    heat: dict[str, dict[str, dict]] = defaultdict(dict)
    scores: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in records:
        if r.status != "ok":
            continue
        if r.metric == "modularity" and r.train_seed == 0 and r.components.get("nmi"):
            heat[r.dataset][r.model] = r.components
        if r.metric in ("modularity", "compactness", "controlled_fraction"):
            scores[r.dataset][r.model][r.metric].append(r.value)
    paths = []
    for dataset in sorted(set(heat) | set(scores)):
        methods = sorted(heat.get(dataset, {}))
        if methods:
            fig, axes = plt.subplots(1, len(methods), figsize=(3.4 * len(methods), 6.0), constrained_layout=True,
                                     squeeze=False)
            image = None
            for ax, method in zip(axes[0], methods):
                c = heat[dataset][method]
                image = nmi_heatmap(np.asarray(c["nmi"]), c["directions"], c["factors"],
                                    f"{method}: modularity {np.mean(scores[dataset][method]['modularity']):.2f}",
                                    ax=ax)
            fig.colorbar(image, ax=axes[0].tolist(), label="NMI(alpha; predicted factor)")
            fig.suptitle(f"{dataset}: directions x factors (seed 0)", fontsize=10)
            paths.append(save_png(fig, Path(out) / f"{dataset}-nmi.png"))
        fig, ax = plt.subplots(figsize=(7, 3.4), constrained_layout=True)
        names = ("modularity", "compactness", "controlled_fraction")
        models = sorted(scores[dataset])
        width = 0.8 / max(len(models), 1)
        for i, model in enumerate(models):
            x = np.arange(len(names)) + i * width
            ax.bar(x, [np.mean(scores[dataset][model][n]) for n in names], width, label=model, alpha=0.8)
            for xi, n in zip(x, names):
                ax.plot([xi] * len(scores[dataset][model][n]), scores[dataset][model][n], "k.", markersize=4)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names)
        ax.set(ylim=(0, 1), ylabel="score (dots: seeds)", title=f"{dataset}: direction scores against the factors")
        ax.legend(fontsize=7)
        paths.append(save_png(fig, Path(out) / f"{dataset}-scores.png"))
    return paths
