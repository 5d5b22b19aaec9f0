"""Figures of the equivariance suite, from a run's records: PER's lambda per group over training, and the
equivariance error of every model under every candidate group."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from leaderboard.plots import save_png

__all__ = ["run_figures"]


def run_figures(records, out: Path) -> list[Path]:
    """One PNG per setting in ``out``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lambdas: dict[str, list] = defaultdict(list)
    errors: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    groups_of: dict[str, list[str]] = {}
    for r in records:
        if r.status != "ok":
            continue
        if r.metric == "lambda_contrast" and r.components.get("lambdas"):
            lambdas[r.dataset].append(np.asarray(r.components["lambdas"], dtype=float))
            groups_of[r.dataset] = list(r.components["groups"])
        elif r.metric.startswith("equiv_error:"):
            errors[r.dataset][r.model][r.metric.split(":", 1)[1]].append(r.value)
    paths = []
    for setting in sorted(set(lambdas) | set(errors)):
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
        if lambdas.get(setting):
            n = min(len(t) for t in lambdas[setting])
            mean = np.mean([t[:n] for t in lambdas[setting]], axis=0)
            for j, name in enumerate(groups_of[setting]):
                if np.any(mean[:, j] > 0):
                    axes[0].plot(np.arange(1, n + 1), mean[:, j], label=name)
            axes[0].set(yscale="log", xlabel="epoch", ylabel="lambda", title="PER: lambda per group (mean over seeds)")
            axes[0].legend(fontsize=7)
        models = sorted(errors.get(setting, {}))
        group_names = sorted({g for m in models for g in errors[setting][m]})
        width = 0.8 / max(len(models), 1)
        for i, model in enumerate(models):
            heights = [np.mean(errors[setting][model].get(g, [np.nan])) for g in group_names]
            axes[1].bar(np.arange(len(group_names)) + i * width, heights, width, label=model)
        axes[1].set_xticks(np.arange(len(group_names)) + 0.4 - width / 2, group_names, fontsize=7)
        axes[1].set(ylabel="relative equivariance error", title="equivariance error on the test set")
        if models:
            axes[1].legend(fontsize=7)
        fig.suptitle(setting, fontsize=10)
        paths.append(save_png(fig, Path(out) / f"{setting}.png"))
    return paths
