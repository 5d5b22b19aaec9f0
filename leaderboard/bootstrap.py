"""Stratified bootstrap confidence intervals, rank intervals and performance profiles.

Every draw comes from an explicit ``numpy.random.Generator`` passed by the caller (``rng``); no
numpy global state is touched (rliable's ``StratifiedBootstrap`` draws with the global
``np.random.choice``, so its ``random_state`` does not govern the resampling). Same generator state,
same numbers, bit for bit.

*Stratified* means runs are resampled with replacement **within each task**: the interval
answers "what if every method were retrained with new seeds on the same datasets". Tasks themselves
are not resampled, so the intervals say nothing about how the ranking would change with a
different choice of datasets.

Intervals are percentile intervals. When resampling skews a tiny sample so much that the point
estimate falls outside the percentile interval, the interval is widened to include it, so that
``lower <= point <= upper`` always holds.

References
----------
Agarwal et al. (2021), NeurIPS, arXiv:2108.13264 (stratified bootstrap, IQM, probability of
improvement, performance profiles). Efron & Tibshirani (1993), An Introduction to the Bootstrap.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import stats as _st

from .aggregate import _pairwise_prob, check_scores, iqm_rows, mean_rows

__all__ = [
    "IntervalEstimates",
    "interval_estimates",
    "stratified_bootstrap",
    "difference_ci",
    "probability_of_improvement_ci",
    "rank_intervals",
    "performance_profile",
    "rng_for",
    "AGGREGATES",
]

#: Row-wise aggregates usable by name: each maps an array (reps, n) to (reps,).
AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {"iqm": iqm_rows, "mean": mean_rows}


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); got "
                        f"{type(rng).__name__}. Global numpy random state is never used.")
    return rng


def _check_common(reps: int, confidence: float) -> None:
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1; got {reps!r}.")
    if not (isinstance(confidence, (float, int)) and 0.0 < float(confidence) < 1.0):
        raise ValueError(f"confidence must be a number in (0, 1); got {confidence!r}.")


def _aggregate_fn(aggregate) -> Callable[[np.ndarray], np.ndarray]:
    if isinstance(aggregate, str):
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(map(repr, AGGREGATES))} or a callable; "
                             f"got {aggregate!r}.")
        return AGGREGATES[aggregate]
    if not callable(aggregate):
        raise TypeError(f"aggregate must be a name or a callable mapping (reps, n) -> (reps,); got {aggregate!r}.")
    return aggregate


def rng_for(seed: int, *key: str) -> np.random.Generator:
    """A generator for one cell of a table, derived from ``seed`` and the cell's key strings.

    Deriving per cell (instead of drawing from one stream in table order) keeps every interval
    the same when other models or datasets are added to the store.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    digest = hashlib.sha256("\x1f".join(key).encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def _resample(tasks: Sequence[np.ndarray], reps: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified resample: (reps, sum of run counts), runs drawn with replacement within each task."""
    parts = []
    for t in tasks:
        idx = rng.integers(0, t.size, size=(reps, t.size))
        parts.append(t[idx])
    return np.concatenate(parts, axis=1)


def _percentile_interval(samples: np.ndarray, point: np.ndarray, confidence: float):
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(samples, [100.0 * alpha, 100.0 * (1.0 - alpha)], axis=-1)
    return np.minimum(lo, point), np.maximum(hi, point)


def stratified_bootstrap(scores, aggregate="iqm", *, reps: int = 10_000, confidence: float = 0.95,
                         rng: np.random.Generator) -> tuple[float, float, float]:
    """Point estimate and percentile interval of ``aggregate`` for one method.

    Parameters
    ----------
    scores : array-like of shape (n_runs, n_tasks) or :class:`leaderboard.aggregate.Ragged`
    aggregate : {"iqm", "mean"} or callable (reps, n) -> (reps,), default "iqm"
        Applied to all runs of all tasks pooled.
    reps : int, default 10000
        Bootstrap replicates.
    confidence : float, default 0.95
    rng : numpy.random.Generator
        Source of every draw.

    Returns
    -------
    (point, lower, upper) : tuple of float
    """
    _check_common(reps, confidence)
    rng = _check_rng(rng)
    fn = _aggregate_fn(aggregate)
    tasks = check_scores(scores)
    point = float(fn(np.concatenate(tasks)[None, :])[0])
    samples = fn(_resample(tasks, reps, rng))
    lo, hi = _percentile_interval(samples, np.float64(point), confidence)
    return point, float(lo), float(hi)


@dataclasses.dataclass(frozen=True)
class IntervalEstimates:
    """Point estimates and interval bounds keyed by method name (``lower <= point <= upper``)."""

    point: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]
    reps: int
    confidence: float


def interval_estimates(scores_by_model: Mapping[str, object], aggregate="iqm", *, reps: int = 10_000,
                       confidence: float = 0.95, rng: np.random.Generator) -> IntervalEstimates:
    """:func:`stratified_bootstrap` for every method, drawing from ``rng`` in sorted name order."""
    point, lower, upper = {}, {}, {}
    for name in sorted(scores_by_model):
        p, lo, hi = stratified_bootstrap(scores_by_model[name], aggregate, reps=reps, confidence=confidence, rng=rng)
        point[name], lower[name], upper[name] = p, lo, hi
    return IntervalEstimates(point, lower, upper, reps, float(confidence))


def difference_ci(x, y, aggregate="iqm", *, reps: int = 10_000, confidence: float = 0.95,
                  rng: np.random.Generator) -> tuple[float, float, float]:
    """``aggregate(X) - aggregate(Y)`` with a percentile interval (stratified independent bootstrap).

    Runs of X and of Y are resampled independently, within each task ("what if both methods were
    retrained with new seeds"); the aggregate pools all runs of all tasks, as in
    :func:`stratified_bootstrap`. X is drawn first, then Y, from ``rng``.

    Parameters
    ----------
    x, y : array-like of shape (n_runs, n_tasks) or :class:`leaderboard.aggregate.Ragged`
        Scores of the two methods on the same tasks (run counts may differ).
    aggregate : {"iqm", "mean"} or callable (reps, n) -> (reps,), default "iqm"
    reps : int, default 10000
    confidence : float, default 0.95
    rng : numpy.random.Generator

    Returns
    -------
    (point, lower, upper) : tuple of float
        ``lower <= point <= upper``.
    """
    _check_common(reps, confidence)
    rng = _check_rng(rng)
    fn = _aggregate_fn(aggregate)
    xt, yt = check_scores(x, "x"), check_scores(y, "y")
    if len(xt) != len(yt):
        raise ValueError(f"x and y must have the same number of tasks; got {len(xt)} and {len(yt)}.")
    point = float(fn(np.concatenate(xt)[None, :])[0] - fn(np.concatenate(yt)[None, :])[0])
    samples = fn(_resample(xt, reps, rng)) - fn(_resample(yt, reps, rng))
    lo, hi = _percentile_interval(samples, np.float64(point), confidence)
    return point, float(lo), float(hi)


def probability_of_improvement_ci(x, y, *, reps: int = 10_000, confidence: float = 0.95,
                                  rng: np.random.Generator) -> tuple[float, float, float]:
    """P(X > Y) (see :func:`leaderboard.aggregate.probability_of_improvement`) with a percentile interval.

    Runs of X and of Y are resampled independently within each task (stratified independent
    bootstrap), so unequal seed counts are fine. Returns ``(point, lower, upper)``.
    """
    _check_common(reps, confidence)
    rng = _check_rng(rng)
    xt, yt = check_scores(x, "x"), check_scores(y, "y")
    if len(xt) != len(yt):
        raise ValueError(f"x and y must have the same number of tasks; got {len(xt)} and {len(yt)}.")
    point = float(np.mean([_pairwise_prob(a, b) for a, b in zip(xt, yt)]))
    acc = np.zeros(reps)
    for a, b in zip(xt, yt):
        xa = a[rng.integers(0, a.size, size=(reps, a.size))]
        yb = b[rng.integers(0, b.size, size=(reps, b.size))]
        acc += _pairwise_prob(xa, yb)
    acc /= len(xt)
    lo, hi = _percentile_interval(acc, np.float64(point), confidence)
    return point, float(lo), float(hi)


def rank_intervals(scores_by_model: Mapping[str, object], aggregate="iqm", *, reps: int = 10_000,
                   confidence: float = 0.95, rng, higher_is_better: bool = True):
    """Ranks with bootstrap rank intervals and tie groups (rank 1 = best).

    ``rng`` is one Generator for all methods (drawn in sorted name order), or a function
    ``rng(name) -> Generator`` giving each method its own stream: then a method's interval does
    not move when another method is added (the leaderboard tables use ``rng_for(seed, ..., name)``).

    For each replicate every method is resampled (stratified) and the methods are ranked by the
    aggregate (equal values share the best rank, ``method="min"``). The rank interval is the
    percentile interval of those ranks. The reported **shared rank** is one plus the number of
    methods that are *separably* better, i.e. whose aggregate interval lies entirely above this
    method's interval: methods whose intervals overlap are never ranked apart.

    Returns
    -------
    pandas.DataFrame
        One row per method, sorted by shared rank then point estimate: ``model, point, lower,
        upper, rank, rank_low, rank_high, tied_with`` (names of methods sharing the shared rank).
    """
    import pandas as pd

    _check_common(reps, confidence)
    stream = rng if callable(rng) else (lambda name, g=_check_rng(rng): g)
    fn = _aggregate_fn(aggregate)
    names = sorted(scores_by_model)
    if not names:
        raise ValueError("scores_by_model must hold at least one method; got none.")
    points, samples = [], []
    for name in names:
        tasks = check_scores(scores_by_model[name], f"scores of {name!r}")
        points.append(float(fn(np.concatenate(tasks)[None, :])[0]))
        samples.append(fn(_resample(tasks, reps, _check_rng(stream(name)))))
    pts = np.asarray(points)
    smp = np.vstack(samples)  # (n_models, reps)
    sign = -1.0 if higher_is_better else 1.0
    boot_ranks = _st.rankdata(sign * smp, method="min", axis=0)
    alpha = (1.0 - confidence) / 2.0
    r_lo = np.floor(np.percentile(boot_ranks, 100 * alpha, axis=1)).astype(int)
    r_hi = np.ceil(np.percentile(boot_ranks, 100 * (1 - alpha), axis=1)).astype(int)
    lo, hi = _percentile_interval(smp, pts, confidence)
    if not higher_is_better:
        better = lambda i, j: hi[j] < lo[i]  # noqa: E731
    else:
        better = lambda i, j: lo[j] > hi[i]  # noqa: E731
    shared = np.array([1 + sum(better(i, j) for j in range(len(names)) if j != i) for i in range(len(names))])
    point_rank = _st.rankdata(sign * pts, method="min").astype(int)
    r_lo = np.minimum(r_lo, point_rank)
    r_hi = np.maximum(r_hi, point_rank)
    rows = []
    for i, name in enumerate(names):
        tied = [names[j] for j in range(len(names)) if j != i and shared[j] == shared[i]
                and not better(i, j) and not better(j, i)]
        rows.append({"model": name, "point": pts[i], "lower": float(lo[i]), "upper": float(hi[i]),
                     "rank": int(shared[i]), "rank_low": int(r_lo[i]), "rank_high": int(r_hi[i]),
                     "tied_with": tied})
    df = pd.DataFrame(rows)
    order = np.lexsort((df["model"].to_numpy(), sign * df["point"].to_numpy(), df["rank"].to_numpy()))
    return df.iloc[order].reset_index(drop=True)


def performance_profile(scores, taus, *, reps: int = 2_000, confidence: float = 0.95,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-score distribution: fraction of runs scoring above each threshold, with bootstrap bands.

    .. math:: \\hat F(\\tau) = \\frac{1}{T} \\sum_t \\frac{1}{n_t} \\sum_i [x_{it} > \\tau]

    (tasks weigh equally). A correct profile is non-increasing in ``tau``.

    Returns
    -------
    (profile, lower, upper) : arrays of shape (len(taus),)
    """
    _check_common(reps, confidence)
    rng = _check_rng(rng)
    tasks = check_scores(scores)
    taus = np.asarray(taus, dtype=np.float64).reshape(-1)
    prof = np.mean([(t[:, None] > taus[None, :]).mean(axis=0) for t in tasks], axis=0)
    boot = np.zeros((reps, taus.size))
    for t in tasks:
        res = t[rng.integers(0, t.size, size=(reps, t.size))]  # (reps, n_t)
        boot += (res[:, :, None] > taus[None, None, :]).mean(axis=1)
    boot /= len(tasks)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(boot, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return prof, np.minimum(lo, prof), np.maximum(hi, prof)
