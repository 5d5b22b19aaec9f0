"""Aggregate scores and pairwise comparisons: pure functions, no randomness.

One data convention (as in rliable, Agarwal et al. 2021): the scores of one method form a matrix of
shape ``(n_runs, n_tasks)`` (runs = independent training seeds, tasks = datasets). Because seed
counts may differ between datasets, every function here also accepts a *ragged* sequence of
``n_tasks`` one-dimensional arrays, one per task. Different metrics are never pooled.

References
----------
Agarwal, Schwarzer, Castro, Courville, Bellemare (2021). Deep Reinforcement Learning at the Edge of
the Statistical Precipice. NeurIPS. arXiv:2108.13264.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

__all__ = [
    "Ragged",
    "check_scores",
    "aggregate_mean",
    "aggregate_iqm",
    "iqm_rows",
    "mean_rows",
    "probability_of_improvement",
    "mann_whitney_pvalue",
]


class Ragged(tuple):
    """Scores of one method as one 1-D array of runs per task, for unequal seed counts.

    ``Ragged([np.array([0.1, 0.2]), np.array([0.5, 0.6, 0.7])])`` is two tasks with 2 and 3 runs.
    A plain 2-D array always means ``(n_runs, n_tasks)``.
    """

    def __new__(cls, tasks):
        return super().__new__(cls, (np.asarray(t, dtype=np.float64).reshape(-1) for t in tasks))


def check_scores(scores, name: str = "scores") -> list[np.ndarray]:
    """Validate ``scores`` and return one float64 array of runs per task.

    Parameters
    ----------
    scores : array-like of shape (n_runs, n_tasks), or :class:`Ragged`
        A 1-D array is one task.
    name : str
        Argument name used in error messages.

    Raises
    ------
    ValueError
        Empty input, a task without runs, a wrong rank, or NaN/infinity.
    """
    if isinstance(scores, Ragged):
        tasks = list(scores)
    else:
        try:
            arr = np.asarray(scores, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array of shape (n_runs, n_tasks) (use "
                             f"leaderboard.aggregate.Ragged for unequal run counts); {exc}.") from None
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2D with shape (n_runs, n_tasks); got shape {arr.shape}.")
        tasks = [arr[:, j] for j in range(arr.shape[1])]
    if not tasks:
        raise ValueError(f"{name} must hold at least one task; got none.")
    for j, t in enumerate(tasks):
        if t.size == 0:
            raise ValueError(f"{name} task {j} has no runs; every task needs at least one score.")
        bad = np.flatnonzero(~np.isfinite(t))
        if bad.size:
            raise ValueError(f"{name} contains NaN or infinity (task {j}, run {int(bad[0])}).")
    return tasks


def mean_rows(x: np.ndarray) -> np.ndarray:
    """Mean of each row of ``x`` (shape (reps, n)) -> (reps,)."""
    return np.mean(x, axis=-1)


def iqm_rows(x: np.ndarray) -> np.ndarray:
    """Interquartile mean of each row: 25 % trimmed mean, ``floor(0.25 n)`` values cut at each end.

    .. math:: \\mathrm{IQM}(x) = \\frac{1}{n - 2g} \\sum_{i=g+1}^{n-g} x_{(i)}, \\quad g = \\lfloor n/4 \\rfloor

    (``scipy.stats.trim_mean(x, 0.25)``, as rliable's ``aggregate_iqm``). With fewer than 4 values
    nothing is cut and the IQM equals the mean.
    """
    return np.asarray(_st.trim_mean(x, 0.25, axis=-1), dtype=np.float64)


def aggregate_mean(scores) -> float:
    """Mean over all runs of all tasks (pooled; tasks with more runs weigh more)."""
    return float(mean_rows(np.concatenate(check_scores(scores))))


def aggregate_iqm(scores) -> float:
    """Interquartile mean over all runs of all tasks pooled (see :func:`iqm_rows`).

    Examples
    --------
    >>> aggregate_iqm([[0.1, 0.5], [0.2, 0.6], [0.3, 0.9]])  # drops 0.1 and 0.9
    0.4
    """
    return float(iqm_rows(np.concatenate(check_scores(scores))))


def _pairwise_prob(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + 0.5 P(X = Y) over all pairs, along the last two axes of x[..., :, None], y[..., None, :]."""
    gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return gt + 0.5 * eq


def probability_of_improvement(x, y) -> float:
    """Probability that a run of X scores higher than a run of Y, averaged over tasks.

    .. math:: P(X > Y) = \\frac{1}{T} \\sum_t \\frac{1}{n_t m_t} \\sum_{i,j}
              \\left( [x_{it} > y_{jt}] + \\tfrac12 [x_{it} = y_{jt}] \\right)

    Per task this is the Mann-Whitney U statistic divided by :math:`n_t m_t`; ties count one half,
    so identical score sets give exactly 0.5 (as rliable's ``probability_of_improvement``).

    Parameters
    ----------
    x, y : array-like of shape (n_runs, n_tasks) or :class:`Ragged`
        Scores of the two methods on the same tasks (run counts may differ).
    """
    xt, yt = check_scores(x, "x"), check_scores(y, "y")
    if len(xt) != len(yt):
        raise ValueError(f"x and y must have the same number of tasks; got {len(xt)} and {len(yt)}.")
    return float(np.mean([_pairwise_prob(a, b) for a, b in zip(xt, yt)]))


def mann_whitney_pvalue(x, y) -> float:
    """Two-sided Mann-Whitney U test p-value for one task (``scipy.stats.mannwhitneyu``).

    When all values of ``x`` and ``y`` are equal the test statistic is undefined; the p-value is
    then 1.0 (no evidence of a difference), never NaN.
    """
    a = check_scores(np.asarray(x, dtype=np.float64).reshape(-1), "x")[0]
    b = check_scores(np.asarray(y, dtype=np.float64).reshape(-1), "y")[0]
    if np.all(np.concatenate([a, b]) == a[0]):
        return 1.0
    p = float(_st.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return 1.0 if math.isnan(p) else p
