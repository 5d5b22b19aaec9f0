"""Figures of the noisy-label suite: accuracy and memorisation per epoch, and accuracy against the width K.

* :func:`job_figure` -- one job: selection and test accuracy per epoch (the selected epoch marked), memorisation
  and the fraction of flipped labels predicted as the clean label, and for nested methods the accuracy of the
  read-out at every width K.
* :func:`run_figures` -- one figure per setting of a run, from the stored records (their components hold the
  curves): every method's test accuracy and memorisation per epoch (mean over seeds) and the nested methods'
  test accuracy against K.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from leaderboard.plots import save_png

__all__ = ["job_figure", "run_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def job_figure(curves: dict[str, dict[str, list]], components: dict[str, dict], path: Path, *, title: str) -> Path:
    """Save one job's curves (``run.MethodOutcome.curves``/``components``) to ``path`` (PNG)."""
    plt = _plt()
    by_width = components.get("best_width")
    fig, axes = plt.subplots(1, 3 if by_width else 2, figsize=(13 if by_width else 9, 3.4), constrained_layout=True)
    offset = 0  # the stage-1 networks of Nested + Co-teaching train side by side; fine-tuning follows them
    for stage, c in curves.items():
        offset = max((len(v["step"]) for k, v in curves.items() if k.startswith("stage1")), default=0) \
            if stage == "finetune" else 0
        epochs = np.arange(offset + 1, offset + len(c["step"]) + 1)
        axes[0].plot(epochs, c["test_acc"], label=f"test ({stage})")
        axes[0].plot(epochs, c["val_acc"], ls="--", label=f"selection ({stage})")
        if "memorised" in c:
            axes[1].plot(epochs, c["memorised"], label=f"noisy label ({stage})")
            axes[1].plot(epochs, c["fit_clean"], ls="--", label=f"clean label ({stage})")
    selected = components.get("test_acc", {}).get("selected_epoch")
    if selected:  # an epoch of the last stage
        axes[0].axvline(offset + selected, color="grey", lw=0.8)
    axes[0].set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    axes[1].set(xlabel="epoch", ylabel="fraction of flipped examples", title="predicted label of flipped examples",
                ylim=(0, 1))
    if by_width:
        k = np.arange(1, len(by_width["test_acc_by_width"]) + 1)
        axes[2].plot(k, by_width["test_acc_by_width"], label="test")
        axes[2].plot(k, by_width["val_acc_by_width"], ls="--", label="selection")
        axes[2].set(xlabel="width K", ylabel="accuracy (%)", title="read-out at width K", xscale="log")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_png(fig, path)


def _mean_curve(curves: list[list[float]]) -> np.ndarray:
    n = min(len(c) for c in curves)
    return np.mean([np.asarray(c[:n], dtype=float) for c in curves], axis=0)


def run_figures(records, out: Path) -> list[Path]:
    """One PNG per setting in ``out`` from a run's ``ok`` records; returns the paths."""
    plt = _plt()
    curves: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in records:
        if r.status != "ok":
            continue
        c = r.components or {}
        if r.metric == "test_acc" and "test_acc" in c:
            curves[r.dataset][r.model]["test"].append(c["test_acc"])
        elif r.metric == "memorised" and "per_epoch" in c:
            curves[r.dataset][r.model]["memorised"].append(c["per_epoch"])
        elif r.metric == "best_width" and "test_acc_by_width" in c:
            curves[r.dataset][r.model]["by_width"].append(c["test_acc_by_width"])
    paths = []
    for setting, methods in sorted(curves.items()):
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), constrained_layout=True)
        for method, c in sorted(methods.items()):
            if c["test"]:
                y = _mean_curve(c["test"])
                axes[0].plot(np.arange(1, len(y) + 1), y, label=method)
            if c["memorised"]:
                y = _mean_curve(c["memorised"])
                axes[1].plot(np.arange(1, len(y) + 1), y, label=method)
            if c["by_width"]:
                y = _mean_curve(c["by_width"])
                axes[2].plot(np.arange(1, len(y) + 1), y, label=method)
        axes[0].set(xlabel="epoch (last stage)", ylabel="clean test accuracy (%)", title="accuracy per epoch")
        axes[1].set(xlabel="epoch (last stage)", ylabel="flipped labels fitted", title="memorisation", ylim=(0, 1))
        axes[2].set(xlabel="width K", ylabel="clean test accuracy (%)", title="nested read-out at width K",
                    xscale="log")
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        fig.suptitle(f"{setting}: mean over seeds", fontsize=10)
        paths.append(save_png(fig, Path(out) / f"{setting}.png"))
    return paths
