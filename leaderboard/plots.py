"""Figures for the leaderboard (matplotlib, object-oriented API; no pyplot global state, PNG output).

* :func:`interval_figure`: per metric, the IQM of every method across datasets with its 95 %
  interval, ranked, ties marked, best at the top in the metric's direction (higher or lower is
  better, :mod:`leaderboard.directions`) (Agarwal et al. 2021, Fig. "aggregate metrics").
* :func:`profile_figure`: performance profiles (fraction of runs above a threshold) with bands.
* :func:`info_plane_figure`: the InfoM-vs-InfoC plane (Hsu et al. 2023, arXiv:2305.18378), one
  point per method with intervals on both axes.

File names never come from record names: :func:`write_plots` uses a sanitised slug plus a hash.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from collections.abc import Mapping

from .bootstrap import performance_profile, rng_for
from .directions import HIGHER, LOWER, arrow, direction_of
from .summary import aggregate_across_datasets, run_scores

__all__ = ["interval_figure", "profile_figure", "info_plane_figure", "figure_png", "save_png", "write_plots",
           "safe_filename",
           "find_info_metrics", "model_colors", "all_figures"]

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22"]


def safe_filename(prefix: str, name: str) -> str:
    """``prefix-<ascii slug of name>-<8 hex of sha256(name)>.png``: no separators, no dots from the name."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "x"
    return f"{prefix}-{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}.png"


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def save_png(fig: Figure, path, dpi: int = 110):
    """Write ``fig`` to ``path`` as a PNG (creating its folder), close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def model_colors(models) -> dict[str, str]:
    """One colour per model (sorted names), the same in every figure."""
    return {m: _PALETTE[k % len(_PALETTE)] for k, m in enumerate(sorted(set(models)))}


def interval_figure(agg: pd.DataFrame, metric: str, colors: dict[str, str] | None = None) -> Figure:
    """Horizontal interval plot of one metric from :func:`leaderboard.aggregate_across_datasets`.

    Methods are ordered as in the table: IQM best first in the table's ``direction`` (its
    ``direction`` column; :func:`leaderboard.direction_of` of ``metric`` if the table has none), the
    best at the top, unranked (incomplete) methods at the bottom. Each label gives the rank interval
    and the shared rank (``qlae  (ranks 1–2, shared #1)``, ``ae  (rank 4, shared #4)``). The x axis
    spans the intervals, not 0-1.
    """
    df = agg[agg["metric"] == metric]
    if df.empty:
        raise ValueError(f"metric {metric!r} is not in the aggregate table; metrics: {sorted(set(agg['metric']))}.")
    direction = df["direction"].iloc[0] if "direction" in df.columns else direction_of(metric)
    iqm = pd.to_numeric(df["iqm"], errors="coerce").astype("float64")
    df = df.assign(_u=pd.to_numeric(df["rank"], errors="coerce").isna(), _k=iqm if direction == LOWER else -iqm)
    df = df.sort_values(["_u", "_k", "model"], kind="mergesort").iloc[::-1]  # best at the top
    fig = Figure(figsize=(6.4, 0.55 * len(df) + 1.3))
    ax = fig.add_subplot()
    y = np.arange(len(df))
    cmap = colors or model_colors(agg["model"])
    colors = [cmap.get(m, "#999999") for m in df["model"]]
    lo, hi, pt = (df[c].astype(float).to_numpy() for c in ("ci_low", "ci_high", "iqm"))
    ax.barh(y, hi - lo, left=lo, height=0.55, color=colors, alpha=0.35, edgecolor="none")
    ax.scatter(pt, y, color=colors, zorder=3, s=160, marker="|", linewidths=2.5)
    ax.use_sticky_edges = False  # bars would otherwise pin the axis to the lowest interval end
    ax.margins(x=0.04)
    labels = []
    for r in df.itertuples():
        ranked = r.rank is not pd.NA and r.rank is not None and not pd.isna(r.rank)
        if ranked:
            span = f"rank {r.rank_low}" if r.rank_low == r.rank_high else f"ranks {r.rank_low}–{r.rank_high}"
            tag = f"{span}, shared #{r.rank}"
        else:
            tag = "not ranked"
        labels.append(f"{r.model}  ({tag}{', <5 seeds' if r.few_seeds else ''})")
    ax.set_yticks(y, labels, fontsize=9)
    better = "higher" if direction == HIGHER else "lower"
    ax.set_xlabel(f"{metric} ({arrow(direction)} {better} is better): IQM over seeds × datasets, "
                  f"95% stratified bootstrap CI")
    _style(ax)
    ax.set_title(f"{metric}", loc="left", fontsize=11, fontweight="bold")
    return fig


def _padded_range(values, pad: float = 0.05) -> tuple[float, float]:
    """From a little below the smallest to a little above the largest value (``pad`` of the range each side).

    The thresholds of a performance profile span the scores that occur, so that a metric whose runs
    score between 0.02 and 0.12 (MIG, SAP, DCI) is not squashed into the left edge of a 0-1 axis. All
    equal values get a band of +-0.05 (or 5 % of their magnitude, whichever is larger) around them.
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64")
    lo, hi = float(v.min()), float(v.max())
    width = hi - lo
    if width <= 0:
        width = 2 * max(0.05, 0.05 * abs(lo))
        return lo - width / 2, hi + width / 2
    return lo - pad * width, hi + pad * width


def profile_figure(runs: pd.DataFrame, metric: str, *, seed: int = 0, reps: int = 2000, n_tau: int = 101,
                   colors: dict[str, str] | None = None) -> Figure:
    """Performance profiles of one metric from :func:`leaderboard.summary.run_scores` output.

    The thresholds τ (x axis) run from a little below the lowest to a little above the highest run
    score of the metric over all models (:func:`_padded_range`), so every curve falls from 1 to 0
    across the whole axis whatever the metric's range; the legend sits right of the axes.
    """
    df = runs[runs["metric_label"] == metric]
    if df.empty:
        raise ValueError(f"metric {metric!r} has no successful runs; metrics: {sorted(set(runs['metric_label']))}.")
    taus = np.linspace(*_padded_range(df["value"]), n_tau)
    fig = Figure(figsize=(7.4, 3.8))  # the extra width holds the legend, right of the axes
    ax = fig.add_subplot()
    from .aggregate import Ragged

    cmap = colors or model_colors(runs["model_label"])
    for k, (label, g) in enumerate(df.groupby("model_label", sort=True)):
        tasks = Ragged([gg["value"].to_numpy() for _, gg in g.groupby(["dataset", "dataset_hash"], sort=True)])
        prof, plo, phi = performance_profile(tasks, taus, reps=reps, rng=rng_for(seed, "profile", metric, label))
        c = cmap.get(label, _PALETTE[k % len(_PALETTE)])
        ax.plot(taus, prof, color=c, label=label, linewidth=1.8)
        ax.fill_between(taus, plo, phi, color=c, alpha=0.15, linewidth=0)
    ax.set_xlabel(f"{metric} threshold τ")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    _style(ax)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.8)
    ax.set_xlim(taus[0], taus[-1])
    # outside the axes, right of them: the curves run from the top left to the bottom right, so any
    # corner inside would cover one of them (figure_png's bbox_inches="tight" keeps it in the image)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_title(f"Performance profile: {metric}", loc="left", fontsize=11, fontweight="bold")
    return fig


def _norm_metric(name: str) -> str:
    return re.sub(r"[_\-\s]", "", re.split(r"[./:]", name.lower())[-1])


def find_info_metrics(metrics) -> tuple[str | None, str | None]:
    """The metric labels for InfoM and InfoC among ``metrics`` (``infom``, ``InfoM``, ``infomec.infom``, ...)."""
    infom = next((m for m in sorted(metrics) if _norm_metric(m) == "infom"), None)
    infoc = next((m for m in sorted(metrics) if _norm_metric(m) == "infoc"), None)
    return infom, infoc


def info_plane_figure(agg: pd.DataFrame, colors: dict[str, str] | None = None) -> Figure | None:
    """InfoM (modularity, x) against InfoC (compactness, y) per method, IQM with 95 % intervals.

    Returns None when the table lacks either metric.
    """
    xm, ym = find_info_metrics(set(agg["metric"]))
    if xm is None or ym is None:
        return None
    x = agg[agg["metric"] == xm].set_index("model")
    y = agg[agg["metric"] == ym].set_index("model")
    models = sorted(set(x.index) & set(y.index))
    if not models:
        return None
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    cmap = colors or model_colors(agg["model"])
    for k, m in enumerate(models):
        c = cmap.get(m, _PALETTE[k % len(_PALETTE)])
        xv, yv = float(x.at[m, "iqm"]), float(y.at[m, "iqm"])
        ax.errorbar(xv, yv, xerr=[[xv - float(x.at[m, "ci_low"])], [float(x.at[m, "ci_high"]) - xv]],
                    yerr=[[yv - float(y.at[m, "ci_low"])], [float(y.at[m, "ci_high"]) - yv]],
                    fmt="o", color=c, ecolor=c, elinewidth=1.2, capsize=3, markersize=6, label=m)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.plot([0, 1], [0, 1], color="#cccccc", linewidth=0.8, linestyle="--", zorder=0)
    ax.set_xlabel(f"InfoM ({xm}): modularity")
    ax.set_ylabel(f"InfoC ({ym}): compactness")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="#eeeeee")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title("InfoM vs InfoC (ideal: top right)", loc="left", fontsize=11, fontweight="bold")
    return fig


def all_figures(data, *, seed: int = 0, reps: int = 2000, agg: pd.DataFrame | None = None,
                directions: Mapping[str, str] | None = None) -> list[tuple[str, str, Figure]]:
    """``(kind, metric label, figure)`` for every metric: intervals, profiles, then the info plane.

    ``directions`` (metric name -> "higher"/"lower") is passed to
    :func:`leaderboard.aggregate_across_datasets` when ``agg`` is not given.
    """
    runs = run_scores(data)
    if runs.empty:
        return []
    if agg is None:
        agg = aggregate_across_datasets(data, seed=seed, reps=reps, directions=directions)
    out = []
    colors = model_colors(runs["model_label"])
    for metric in sorted(set(agg["metric"])):
        out.append(("intervals", metric, interval_figure(agg, metric, colors)))
    for metric in sorted(set(runs["metric_label"])):
        out.append(("profile", metric, profile_figure(runs, metric, seed=seed, reps=reps, colors=colors)))
    plane = info_plane_figure(agg, colors)
    if plane is not None:
        out.append(("info-plane", "InfoM vs InfoC", plane))
    return out


def write_plots(data, out_dir: str | Path, *, seed: int = 0, reps: int = 2000,
                directions: Mapping[str, str] | None = None) -> list[Path]:
    """Write every figure of :func:`all_figures` as PNG into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, metric, fig in all_figures(data, seed=seed, reps=reps, directions=directions):
        p = out / safe_filename(kind, metric)
        p.write_bytes(figure_png(fig))
        paths.append(p)
    return paths
