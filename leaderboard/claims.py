"""Claims as data, and their verdicts: does a run of the suite support what the papers claim?

A suite declares its papers' claims as :class:`Claim` values, e.g. "QLAE is better than an AE on
InfoM, on dSprites and Shapes3D" (Hsu et al. 2023, arXiv:2305.18378), and as :class:`ValueClaim`
values, e.g. "nested co-teaching reaches 74.7-75.1 % test accuracy on Clothing1M" or "CE's accuracy
drop is above 0". After a run, :func:`check_claims` checks every claim against the records and
returns one :class:`Verdict` per claim, with one :class:`DatasetVerdict` per dataset. These rules
are the project's definition of a verdict.

Records
    Any iterable of :class:`leaderboard.Record`, a ``Store.table(...)`` frame or a Store, as
    :func:`leaderboard.summarize` accepts. Records of several (suite, protocol_version, profile)
    combinations raise :class:`leaderboard.VersionMixError`. Only records with status ``ok`` count.
    A *run* is one training seed; its value is the mean over its eval seeds
    (:func:`leaderboard.summary.run_scores`).

Names
    ``Claim.model``, ``Claim.baseline``, ``Claim.metric``, ``Claim.baseline_metric``,
    ``ValueClaim.model``, ``ValueClaim.metric`` and each dataset are matched against the
    display labels of :func:`leaderboard.summarize` (``qlae``, ``qlae #1a2b3c4d``, ``mig@2``), or the
    plain name when it picks out one label. A plain name that stands for several labels (two model
    configs, metric versions or dataset hashes) raises ``ValueError`` listing them.

Direction
    "A better than B" is in the metric's direction: ``Claim.direction`` if set, else
    ``directions[metric]`` if passed to :func:`check_claims`, else
    :func:`leaderboard.direction_of` (higher is better unless the name says error/loss/...).

Two metrics (``Claim.baseline_metric``)
    When set, the claim reads "A's ``metric`` better than B's ``baseline_metric``" (e.g. co-teaching's
    ``test_acc`` better than CE's ``test_acc_last``): B's values are its ``baseline_metric`` runs, and
    the direction is that of ``metric``. ``model == baseline`` is then allowed (one model's two
    metrics, e.g. best-epoch vs last-epoch accuracy). The rules below are unchanged, so even then
    the two samples are treated as **unpaired**: each metric's seeds are resampled on their own, and
    the pairing of the two values of one training seed is not used.

Per dataset (:class:`DatasetVerdict`)
    * ``not run``: A or B has no successful run on this dataset for this metric;
    * ``not shown``: A or B has fewer than ``min_seeds`` runs (default 2; the reason gives the
      counts); no bootstrap is drawn;
    * otherwise P(A better than B) (Mann-Whitney U / (n_A n_B), ties count one half; computed on
      negated values when lower is better) gets a percentile interval from a stratified independent
      bootstrap (each model's seeds resampled on their own), and so does IQM(A) - IQM(B) (raw, not
      signed by direction). The status is ``holds`` if the interval's lower bound is above 0.5,
      ``contradicted`` if its upper bound is below 0.5, ``not shown`` otherwise.

Per dataset, value claims (:class:`ValueClaim`: the model's metric lies in [low, high])
    * ``not run``: the model has no successful run on this dataset for this metric;
    * ``not shown``: fewer than ``min_seeds`` runs (the reason gives the count); no bootstrap is drawn;
    * otherwise the mean of the runs' values gets a percentile bootstrap interval (the seeds
      resampled with replacement). The status is ``holds`` if the interval lies inside
      [low, high] (bounds included; a missing bound is no limit), ``contradicted`` if it lies
      entirely outside (its upper end below ``low``, or its lower end above ``high``), ``not
      shown`` otherwise (it crosses a bound).

Per claim (:class:`Verdict`), both kinds
    ``not run`` if any dataset is not run, or the claim names no dataset; else ``contradicted`` if
    any dataset is contradicted; else ``holds`` if every dataset holds; else ``not shown``.

Randomness
    Every (claim, dataset) draws from its own generator, ``rng_for(seed, "claim", model, baseline,
    metric, dataset, direction)`` (with ``baseline_metric`` appended when it is set and differs from
    ``metric``), or ``rng_for(seed, "value-claim", model, metric, dataset, str(low), str(high))``
    for a value claim: the same seed gives identical verdicts, and adding or removing other claims
    (or other records' models) never moves a claim's intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .aggregate import aggregate_iqm, probability_of_improvement
from .bootstrap import _check_common, difference_ci, probability_of_improvement_ci, rng_for, stratified_bootstrap
from .directions import HIGHER, _check_direction, check_directions, resolve_direction
from .summary import _percent, format_table, run_scores

__all__ = ["Claim", "ValueClaim", "DatasetVerdict", "Verdict", "STATUSES", "check_claims", "verdicts_frame",
           "format_verdicts"]

#: The verdict of a claim or of one dataset, best to worst evidence for the claim; "not run" last.
STATUSES: tuple[str, ...] = ("holds", "not shown", "contradicted", "not run")
HOLDS, NOT_SHOWN, CONTRADICTED, NOT_RUN = STATUSES

_LEGEND = ("holds: P(A better) interval above 0.5 on every dataset · contradicted: below 0.5 on some dataset · "
           "not shown: neither, or too few seeds · not run: A or B has no successful run on some dataset")
_VALUE_LEGEND = ("value claims: holds: the interval of the mean lies inside the bounds on every dataset · "
                 "contradicted: entirely outside them on some dataset · not shown: neither, or too few seeds · "
                 "not run: the model has no successful run on some dataset")


def _check_name(value, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a non-empty string; got {type(value).__name__} {value!r}.")
    if not value:
        raise ValueError(f"{where} must be a non-empty string; got ''.")
    return value


def _check_datasets(datasets, cls: str) -> tuple[str, ...]:
    if isinstance(datasets, str):
        raise TypeError(f"{cls}.datasets must be a sequence of dataset names; got the string {datasets!r} "
                        f"(write ({datasets!r},) for one dataset).")
    if not isinstance(datasets, Iterable):
        raise TypeError(f"{cls}.datasets must be a sequence of dataset names; got {type(datasets).__name__}.")
    datasets = tuple(datasets)
    for d in datasets:
        _check_name(d, f"every entry of {cls}.datasets")
    twice = sorted({d for d in datasets if datasets.count(d) > 1})
    if twice:
        raise ValueError(f"{cls}.datasets must list each dataset once; got {twice[0]!r} more than once.")
    return datasets


def _check_source(source, cls: str) -> None:
    if not isinstance(source, str):
        raise TypeError(f"{cls}.source must be a string; got {type(source).__name__}.")


def _num(x: float) -> str:
    """A bound as written: ``0``, ``74.7``, ``1e-05`` (the shortest text that reads back as ``x``)."""
    s = f"{x:g}"
    return s if float(s) == x else repr(x)


@dataclasses.dataclass(frozen=True)
class Claim:
    """"``model`` is better than ``baseline`` on ``metric``, on each of ``datasets``".

    With ``baseline_metric`` set: "``model``'s ``metric`` is better than ``baseline``'s
    ``baseline_metric``" (unpaired, see the module docstring).

    Parameters
    ----------
    model : str
        A, the method the claim is about (e.g. ``"qlae"``).
    baseline : str
        B, the method it is compared with (e.g. ``"ae"``).
    metric : str
        Metric name (e.g. ``"infom"``).
    datasets : tuple of str
        The claim must hold on each of these (a list is accepted and stored as a tuple).
    source : str, default ""
        Where it is claimed, e.g. ``"Hsu et al. 2023, abstract (modularity)"``.
    direction : {"higher", "lower"} or None, default None
        Which way is better; ``None``: :func:`leaderboard.direction_of` of ``metric`` when checked.
    baseline_metric : str or None, default None
        The metric whose values stand for the baseline (e.g. ``"test_acc_last"``); ``None``: ``metric``.
        The direction stays that of ``metric``.

    Raises
    ------
    TypeError
        A name is not a string, or ``datasets`` is a single string.
    ValueError
        An empty name, a dataset listed twice, ``model == baseline`` on one metric, or a bad
        ``direction``.
    """

    model: str
    baseline: str
    metric: str
    datasets: tuple[str, ...]
    source: str = ""
    direction: str | None = None
    baseline_metric: str | None = None

    def __post_init__(self):
        for name in ("model", "baseline", "metric"):
            _check_name(getattr(self, name), f"Claim.{name}")
        object.__setattr__(self, "datasets", _check_datasets(self.datasets, "Claim"))
        _check_source(self.source, "Claim")
        if self.direction is not None:
            _check_direction(self.direction, "Claim.direction")
        if self.baseline_metric is not None:
            _check_name(self.baseline_metric, "Claim.baseline_metric")
        if self.model == self.baseline and self._baseline_metric == self.metric:
            raise ValueError(f"Claim.model and Claim.baseline must differ; got {self.model!r} twice (to compare two "
                             f"metrics of one model, set Claim.baseline_metric to a metric other than "
                             f"{self.metric!r}).")

    @property
    def _baseline_metric(self) -> str:
        """The metric of the baseline's values: ``baseline_metric``, else ``metric``."""
        return self.metric if self.baseline_metric is None else self.baseline_metric

    def resolved_direction(self, directions: Mapping[str, str] | None = None) -> str:
        """``direction`` if set, else ``directions[metric]``, else :func:`leaderboard.direction_of`."""
        if self.direction is not None:
            return self.direction
        return resolve_direction(self.metric, check_directions(directions))

    def describe(self, direction: str | None = None) -> str:
        """One line, e.g. ``"qlae better than ae on mse (lower is better)"``, or with ``baseline_metric``
        ``"coteaching test_acc better than ce test_acc_last (higher is better)"``.

        ``direction`` overrides the claim's own (a :class:`Verdict` passes the one it was checked with).
        """
        d = self.resolved_direction() if direction is None else _check_direction(direction, "direction")
        if self.baseline_metric is not None:
            return f"{self.model} {self.metric} better than {self.baseline} {self.baseline_metric} ({d} is better)"
        return f"{self.model} better than {self.baseline} on {self.metric} ({d} is better)"


def _bound(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where} must be a number or None; got {type(value).__name__} {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{where} must be a finite number; got {value!r}.")
    return float(value)


@dataclasses.dataclass(frozen=True)
class ValueClaim:
    """"``model``'s ``metric`` lies in [``low``, ``high``], on each of ``datasets``".

    A published number within its spread (``low=74.7, high=75.1``), or one side only ("above 0":
    ``low=0.0``). The rules are in the module docstring: the bootstrap interval of the mean of the
    runs must lie inside the bounds.

    Parameters
    ----------
    model : str
        The method the claim is about (e.g. ``"nested_coteaching"``).
    metric : str
        Metric name (e.g. ``"test_acc"``).
    datasets : tuple of str
        The claim must hold on each of these (a list is accepted and stored as a tuple).
    low, high : float or None, default None
        The bounds (included); at least one is required, ``low <= high``. Stored as float.
    source : str, default ""
        Where it is claimed, e.g. ``"Chen et al. 2021, Table 4"``.

    Raises
    ------
    TypeError
        A name is not a string, ``datasets`` is a single string, or a bound is not a number.
    ValueError
        An empty name, a dataset listed twice, no bound, a bound that is not finite, or ``low > high``.
    """

    model: str
    metric: str
    datasets: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    source: str = ""

    def __post_init__(self):
        for name in ("model", "metric"):
            _check_name(getattr(self, name), f"ValueClaim.{name}")
        object.__setattr__(self, "datasets", _check_datasets(self.datasets, "ValueClaim"))
        _check_source(self.source, "ValueClaim")
        low, high = _bound(self.low, "ValueClaim.low"), _bound(self.high, "ValueClaim.high")
        if low is None and high is None:
            raise ValueError("ValueClaim needs at least one bound; got low=None and high=None (write low=0.0 for "
                             "'above 0').")
        if low is not None and high is not None and low > high:
            raise ValueError(f"ValueClaim.low must be <= ValueClaim.high; got low={low!r}, high={high!r}.")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def bounds_text(self) -> str:
        """``"above 0"``, ``"below 3"`` or ``"within [74.7, 75.1]"``."""
        if self.high is None:
            return f"above {_num(self.low)}"
        if self.low is None:
            return f"below {_num(self.high)}"
        return f"within [{_num(self.low)}, {_num(self.high)}]"

    def describe(self, direction: str | None = None) -> str:
        """One line, e.g. ``"ce accuracy_drop above 0"`` or ``"nested_coteaching test_acc within [74.7, 75.1]"``.

        ``direction`` is accepted for symmetry with :meth:`Claim.describe` and ignored.
        """
        return f"{self.model} {self.metric} {self.bounds_text()}"


@dataclasses.dataclass(frozen=True)
class DatasetVerdict:
    """The verdict of one claim on one dataset (see the module docstring for the rules).

    ``iqm_diff`` is IQM(A) - IQM(B) of the raw values (negative is better for a lower-is-better
    metric), ``diff_low``/``diff_high`` its interval; ``p_improve`` is P(A better than B) in the
    metric's direction, ``ci_low``/``ci_high`` its interval. Intervals are ``None`` when no bootstrap
    was drawn (too few seeds); values are ``None`` when a model has no runs.

    For a :class:`ValueClaim`: ``n_a`` is the number of runs, ``n_b`` 0, ``iqm_a`` their IQM,
    ``mean`` their mean and ``ci_low``/``ci_high`` the interval of the mean; ``iqm_b``,
    ``iqm_diff``, ``diff_low``, ``diff_high`` and ``p_improve`` are ``None``. ``mean`` is ``None``
    for a :class:`Claim`.
    """

    dataset: str
    status: str
    n_a: int
    n_b: int
    iqm_a: float | None
    iqm_b: float | None
    iqm_diff: float | None
    diff_low: float | None
    diff_high: float | None
    p_improve: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str
    mean: float | None = None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verdict of one claim: its status, one :class:`DatasetVerdict` per dataset, and why.

    ``direction`` is the direction the claim was checked in (``None`` for a :class:`ValueClaim`);
    ``bootstrap_seed``, ``reps``, ``confidence`` and ``min_seeds`` are the settings of
    :func:`check_claims`.
    """

    claim: Claim | ValueClaim
    status: str
    datasets: tuple[DatasetVerdict, ...]
    reason: str = ""
    direction: str | None = None
    bootstrap_seed: int | None = None
    reps: int | None = None
    confidence: float | None = None
    min_seeds: int | None = None

    def describe(self) -> str:
        """The claim's description in the direction it was checked in."""
        return self.claim.describe(self.direction)


def _select(runs: pd.DataFrame, name: str, label_col: str, name_col: str, what: str, claim) -> pd.Series:
    """Rows whose display label is ``name``, else whose plain name is (if that is one label)."""
    mask = runs[label_col] == name
    if mask.any():
        return mask
    mask = runs[name_col] == name
    labels = sorted(set(runs.loc[mask, label_col]))
    if len(labels) > 1:
        raise ValueError(f"{what} {name!r} of the claim '{claim.describe()}' stands for {len(labels)} entries in "
                         f"these records ({', '.join(map(repr, labels))}); name one of these labels in the Claim.")
    return mask


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def _p_text(p: float, lo: float, hi: float) -> str:
    return f"P(A better) {p:.2f} [{lo:.2f}, {hi:.2f}]"


def _check_dataset(runs, in_a, in_b, dataset: str, claim: Claim, direction: str, *, seed: int, reps: int,
                   confidence: float, min_seeds: int) -> DatasetVerdict:
    in_d = _select(runs, dataset, "dataset_label", "dataset", "dataset", claim)
    x = runs.loc[in_a & in_d, "value"].to_numpy(dtype=np.float64)
    y = runs.loc[in_b & in_d, "value"].to_numpy(dtype=np.float64)
    n_a, n_b = int(x.size), int(y.size)
    empty = dict(iqm_a=None, iqm_b=None, iqm_diff=None, diff_low=None, diff_high=None, p_improve=None,
                 ci_low=None, ci_high=None)
    two = claim.baseline_metric is not None  # "A's metric vs B's baseline_metric": name the metrics
    where = f"for {claim.metric} on {dataset}"
    if n_a == 0 or n_b == 0:
        if n_a == 0 and n_b == 0:
            reason = (f"neither model {claim.model} ({claim.metric}) nor baseline {claim.baseline} "
                      f"({claim.baseline_metric}) has successful records on {dataset}" if two else
                      f"neither model {claim.model} nor baseline {claim.baseline} has successful records {where}")
        elif n_a == 0:
            reason = f"model {claim.model} has no successful records {where}"
        else:
            reason = f"baseline {claim.baseline} has no successful records for {claim._baseline_metric} on {dataset}"
        empty.update(iqm_a=aggregate_iqm(x) if n_a else None, iqm_b=aggregate_iqm(y) if n_b else None)
        return DatasetVerdict(dataset, NOT_RUN, n_a, n_b, **{**empty, "reason": reason})
    iqm_a, iqm_b = aggregate_iqm(x), aggregate_iqm(y)
    sign = 1.0 if direction == HIGHER else -1.0  # P(A better) = P(sign*A > sign*B)
    if n_a < min_seeds or n_b < min_seeds:
        names = ((f"{claim.model} {claim.metric}", f"{claim.baseline} {claim.baseline_metric}") if two
                 else (claim.model, claim.baseline))
        few = [f"{_seeds(n)} of {m}" for n, m in zip((n_a, n_b), names) if n < min_seeds]
        reason = f"{' and '.join(few)}: at least {min_seeds} needed{' each' if len(few) > 1 else ''}"
        return DatasetVerdict(dataset, NOT_SHOWN, n_a, n_b, iqm_a, iqm_b, iqm_a - iqm_b, None, None,
                              probability_of_improvement(sign * x, sign * y), None, None, reason)
    key = ("claim", claim.model, claim.baseline, claim.metric, dataset, direction)
    if claim._baseline_metric != claim.metric:
        key += (claim.baseline_metric,)
    g = rng_for(seed, *key)
    p, lo, hi = probability_of_improvement_ci(sign * x, sign * y, reps=reps, confidence=confidence, rng=g)
    diff, dlo, dhi = difference_ci(x, y, "iqm", reps=reps, confidence=confidence, rng=g)
    if lo > 0.5:
        status, reason = HOLDS, f"{_p_text(p, lo, hi)} > 0.5"
    elif hi < 0.5:
        status, reason = CONTRADICTED, f"{_p_text(p, lo, hi)} < 0.5"
    else:
        status, reason = NOT_SHOWN, f"{_p_text(p, lo, hi)} includes 0.5"
    return DatasetVerdict(dataset, status, n_a, n_b, iqm_a, iqm_b, diff, dlo, dhi, p, lo, hi, reason)


def _digits(lo: float, hi: float) -> int:
    """Decimals that show an interval of this width with about two significant digits (3 if it is 0)."""
    width = abs(hi - lo)
    if not np.isfinite(width) or width == 0:
        return 3
    return int(min(6, max(0, 1 - np.floor(np.log10(width)))))


def _interval_text(lo: float, hi: float) -> str:
    """``"[0.012, 0.050]"``, ``"[73.90, 74.50]"``: decimals from the interval's width."""
    k = _digits(lo, hi)
    return f"[{lo:.{k}f}, {hi:.{k}f}]"


def _mean_text(mean: float | None, lo: float | None = None, hi: float | None = None) -> str:
    """``"mean 0.031 [0.012, 0.050]"``; ``"mean 0.031"`` without an interval; ``"mean —"`` without runs."""
    if mean is None:
        return "mean —"
    if lo is None or hi is None:
        return f"mean {mean:.3f}"
    return f"mean {mean:.{_digits(lo, hi)}f} {_interval_text(lo, hi)}"


def _value_status(claim: ValueClaim, lo: float, hi: float) -> tuple[str, str]:
    """Status of an interval [lo, hi] of the mean against the claim's bounds, and the comparison's text."""
    low, high = claim.low, claim.high
    inside = (low is None or lo >= low) and (high is None or hi <= high)
    outside = (low is not None and hi < low) or (high is not None and lo > high)
    both = f"[{_num(low)}, {_num(high)}]" if low is not None and high is not None else None
    if inside:
        return HOLDS, (f"within {both}" if both else f"> {_num(low)}" if low is not None else f"< {_num(high)}")
    if outside:
        return CONTRADICTED, (f"outside {both}" if both else f"< {_num(low)}" if low is not None else f"> {_num(high)}")
    return NOT_SHOWN, (f"partly outside {both}" if both else f"includes {_num(low if low is not None else high)}")


def _check_value_dataset(runs, in_a, dataset: str, claim: ValueClaim, *, seed: int, reps: int, confidence: float,
                         min_seeds: int) -> DatasetVerdict:
    in_d = _select(runs, dataset, "dataset_label", "dataset", "dataset", claim)
    x = runs.loc[in_a & in_d, "value"].to_numpy(dtype=np.float64)
    n = int(x.size)
    none = dict(iqm_b=None, iqm_diff=None, diff_low=None, diff_high=None, p_improve=None)
    if n == 0:
        return DatasetVerdict(dataset, NOT_RUN, 0, 0, iqm_a=None, ci_low=None, ci_high=None, **none,
                              reason=f"model {claim.model} has no successful records for {claim.metric} on {dataset}")
    iqm, mean = aggregate_iqm(x), float(np.mean(x))
    if n < min_seeds:
        return DatasetVerdict(dataset, NOT_SHOWN, n, 0, iqm_a=iqm, ci_low=None, ci_high=None, **none, mean=mean,
                              reason=f"{_seeds(n)} of {claim.model}: at least {min_seeds} needed")
    g = rng_for(seed, "value-claim", claim.model, claim.metric, dataset, str(claim.low), str(claim.high))
    mean, lo, hi = stratified_bootstrap(x[:, None], "mean", reps=reps, confidence=confidence, rng=g)
    status, comparison = _value_status(claim, lo, hi)
    return DatasetVerdict(dataset, status, n, 0, iqm_a=iqm, ci_low=lo, ci_high=hi, **none, mean=mean,
                          reason=f"{_mean_text(mean, lo, hi)} {comparison}")


def _claim_status(claim, dvs: tuple[DatasetVerdict, ...]) -> tuple[str, str]:
    if not dvs:
        return NOT_RUN, f"the claim names no datasets; list at least one in {type(claim).__name__}.datasets"
    by = {s: [d.dataset for d in dvs if d.status == s] for s in STATUSES}
    if by[NOT_RUN]:
        return NOT_RUN, f"not run on {', '.join(by[NOT_RUN])}"
    if by[CONTRADICTED]:
        return CONTRADICTED, f"contradicted on {', '.join(by[CONTRADICTED])}"
    if len(by[HOLDS]) == len(dvs):
        return HOLDS, f"holds on {'every dataset (' + str(len(dvs)) + ')' if len(dvs) > 1 else dvs[0].dataset}"
    reason = f"not shown on {', '.join(by[NOT_SHOWN])}"
    return NOT_SHOWN, reason + (f"; holds on {', '.join(by[HOLDS])}" if by[HOLDS] else "")


def check_claims(records, claims, *, seed: int = 0, reps: int = 10_000, confidence: float = 0.95,
                 min_seeds: int = 2, directions: Mapping[str, str] | None = None) -> list[Verdict]:
    """Check every claim against the records; one :class:`Verdict` per claim, in order.

    The rules are in the module docstring.

    Parameters
    ----------
    records : list of Record, ``Store.table(...)`` DataFrame, or Store
        One (suite, protocol_version, profile) only.
    claims : iterable of Claim or ValueClaim
    seed : int, default 0
        Bootstrap seed; each (claim, dataset) derives its own generator from it.
    reps : int, default 10000
        Bootstrap replicates (resampling seeds: "what if both methods were retrained").
    confidence : float, default 0.95
        Level of the intervals of P(A better), of the IQM difference and of a value claim's mean.
    min_seeds : int, default 2
        Fewer successful training seeds than this, for A or B on a dataset, is "not shown".
    directions : mapping of metric name to {"higher", "lower"}, optional
        For claims without their own ``direction``; else :func:`leaderboard.direction_of`. Value
        claims have no direction.

    Returns
    -------
    list of Verdict

    Raises
    ------
    VersionMixError
        The records hold several (suite, protocol_version, profile) combinations.
    TypeError
        ``claims`` is not an iterable of Claim and ValueClaim.
    ValueError
        A bad ``seed``, ``reps``, ``confidence`` or ``min_seeds``, or a claim name that stands for
        several labels.
    """
    kinds = (Claim, ValueClaim)
    also = " Entries may be leaderboard.Claim or leaderboard.ValueClaim."
    if isinstance(claims, kinds) or not isinstance(claims, Iterable):
        raise TypeError(f"claims must be a list of leaderboard.Claim; got {type(claims).__name__}"
                        f"{' (wrap a single claim in a list)' if isinstance(claims, kinds) else ''}.{also}")
    claims = list(claims)
    bad = [type(c).__name__ for c in claims if not isinstance(c, kinds)]
    if bad:
        raise TypeError(f"claims must be a list of leaderboard.Claim; got an entry of type {bad[0]}.{also}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    _check_common(reps, confidence)
    if isinstance(min_seeds, bool) or not isinstance(min_seeds, (int, np.integer)) or min_seeds < 2:
        raise ValueError(f"min_seeds must be an integer >= 2 (a bootstrap over one seed says nothing); "
                         f"got {min_seeds!r}.")
    dirs = check_directions(directions)
    runs = run_scores(records)  # VersionMixError for mixed protocols; ok records only
    out = []
    for claim in claims:
        in_m = _select(runs, claim.metric, "metric_label", "metric", "metric", claim)
        in_a = in_m & _select(runs, claim.model, "model_label", "model", "model", claim)
        if isinstance(claim, ValueClaim):
            direction = None
            dvs = tuple(_check_value_dataset(runs, in_a, d, claim, seed=int(seed), reps=reps, confidence=confidence,
                                             min_seeds=int(min_seeds)) for d in claim.datasets)
        else:
            direction = claim.resolved_direction(dirs)
            in_mb = in_m if claim.baseline_metric is None else _select(
                runs, claim.baseline_metric, "metric_label", "metric", "baseline metric", claim)
            in_b = in_mb & _select(runs, claim.baseline, "model_label", "model", "baseline", claim)
            dvs = tuple(_check_dataset(runs, in_a, in_b, d, claim, direction, seed=int(seed), reps=reps,
                                       confidence=confidence, min_seeds=int(min_seeds)) for d in claim.datasets)
        status, reason = _claim_status(claim, dvs)
        out.append(Verdict(claim, status, dvs, reason, direction, int(seed), int(reps), float(confidence),
                           int(min_seeds)))
    return out


_FRAME_COLUMNS = ["claim", "claim_status", "claim_reason", "model", "baseline", "metric", "direction", "source",
                  "dataset", "status", "n_a", "n_b", "iqm_a", "iqm_b", "iqm_diff", "diff_low", "diff_high",
                  "p_improve", "ci_low", "ci_high", "reason", "bootstrap_seed", "reps", "confidence", "min_seeds",
                  "low", "high", "baseline_metric", "mean"]


def verdicts_frame(verdicts) -> pd.DataFrame:
    """One row per (claim, dataset) of :func:`check_claims` output.

    Columns ``claim`` (its description), ``claim_status, claim_reason, model, baseline, metric,
    direction, source``, then per dataset ``dataset, status, n_a, n_b, iqm_a, iqm_b, iqm_diff,
    diff_low, diff_high, p_improve, ci_low, ci_high, reason``, the settings ``bootstrap_seed,
    reps, confidence, min_seeds``, then ``low, high`` (a :class:`ValueClaim`'s bounds, else
    missing), ``baseline_metric`` (a :class:`Claim`'s, else missing) and ``mean`` (a value claim's
    mean of the runs; ``ci_low``/``ci_high`` are then its interval). A value claim has no
    ``baseline`` and no ``direction``, and ``n_b`` 0. A claim without datasets has one row with no
    dataset.
    """
    verdicts = list(verdicts)
    bad = [type(v).__name__ for v in verdicts if not isinstance(v, Verdict)]
    if bad:
        raise TypeError(f"verdicts must be a list of leaderboard.Verdict (from check_claims); got an entry of "
                        f"type {bad[0]}.")
    rows = []
    for v in verdicts:
        c = v.claim
        value = isinstance(c, ValueClaim)
        head = {"claim": v.describe(), "claim_status": v.status, "claim_reason": v.reason, "model": c.model,
                "baseline": None if value else c.baseline, "metric": c.metric, "direction": v.direction,
                "source": c.source, "bootstrap_seed": v.bootstrap_seed, "reps": v.reps, "confidence": v.confidence,
                "min_seeds": v.min_seeds, "low": c.low if value else None, "high": c.high if value else None,
                "baseline_metric": None if value else c.baseline_metric}
        if not v.datasets:
            rows.append({**head, "dataset": None, "status": v.status, "n_a": None, "n_b": None, "reason": v.reason})
        for d in v.datasets:
            rows.append({**head, **dataclasses.asdict(d)})
    df = pd.DataFrame(rows, columns=_FRAME_COLUMNS)
    for col in ("n_a", "n_b", "bootstrap_seed", "reps", "min_seeds"):
        df[col] = df[col].astype("Int64")
    for col in ("iqm_a", "iqm_b", "iqm_diff", "diff_low", "diff_high", "p_improve", "ci_low", "ci_high", "confidence",
                "low", "high", "mean"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    first = verdicts[0] if verdicts else None
    df.attrs.update(kind="claims", seed=getattr(first, "bootstrap_seed", None), reps=getattr(first, "reps", None),
                    confidence=getattr(first, "confidence", None), min_seeds=getattr(first, "min_seeds", None))
    return df


def _f(v, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def format_verdicts(verdicts, fmt: str = "table") -> str:
    """Render :func:`check_claims` output.

    Parameters
    ----------
    verdicts : list of Verdict
    fmt : {"table", "markdown", "csv", "json"}, default "table"
        ``table``: one block per claim, a line ``<status>  <claim>  (<source>)`` followed by one
        indented line per dataset (status, IQM of A vs B, seeds, reason with P(A better) and its
        interval; for a value claim: status, the mean with its interval, seeds, and how the interval
        lies against the bounds), then a legend of the statuses. ``markdown``: one row per (claim,
        dataset); a value claim's ``CI`` column is the interval of its mean. ``csv`` and ``json``:
        every column of :func:`verdicts_frame` at full precision.
    """
    if fmt not in ("table", "markdown", "csv", "json"):
        raise ValueError(f"fmt must be one of 'table', 'markdown', 'csv', 'json'; got {fmt!r}.")
    df = verdicts_frame(verdicts)
    verdicts = list(verdicts)
    if fmt in ("csv", "json"):
        return format_table(df, fmt)
    conf = f"{_percent(verdicts[0].confidence)} " if verdicts and verdicts[0].confidence else ""
    if fmt == "markdown":
        esc = lambda s: str(s).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")  # noqa: E731
        head = ["claim status", "claim", "source", "dataset", "status", "IQM A", "IQM B", "P(A better)",
                f"{conf}CI", "seeds A", "seeds B", "reason"]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in df.itertuples():
            ci = "—" if pd.isna(r.ci_low) else f"[{r.ci_low:.2f}, {r.ci_high:.2f}]"
            value = not isinstance(r.baseline, str)  # a ValueClaim's row: no baseline
            if value and not pd.isna(r.ci_low):
                ci = _interval_text(r.ci_low, r.ci_high)
            cells = [r.claim_status, r.claim, r.source or "—", r.dataset if isinstance(r.dataset, str) else "—",
                     r.status, _f(None if pd.isna(r.iqm_a) else r.iqm_a), _f(None if pd.isna(r.iqm_b) else r.iqm_b),
                     _f(None if pd.isna(r.p_improve) else r.p_improve, 2), ci,
                     "—" if pd.isna(r.n_a) else str(r.n_a), "—" if pd.isna(r.n_b) or value else str(r.n_b),
                     r.reason]
            lines.append("| " + " | ".join(esc(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"
    out = []
    for v in verdicts:
        src = f"  ({v.claim.source})" if v.claim.source else ""
        out.append(f"{v.status:<12}  {v.describe()}{src}")
        if not v.datasets:
            out.append(f"    {v.reason}")
        width = max((len(d.dataset) for d in v.datasets), default=0)
        for d in v.datasets:
            if isinstance(v.claim, ValueClaim):
                tail = d.reason if d.ci_low is None else _value_status(v.claim, d.ci_low, d.ci_high)[1]
                out.append(f"    {d.dataset:<{width}}  {d.status:<12}  {_mean_text(d.mean, d.ci_low, d.ci_high)}  "
                           f"seeds {d.n_a}  {tail}")
            else:
                out.append(f"    {d.dataset:<{width}}  {d.status:<12}  IQM {_f(d.iqm_a)} vs {_f(d.iqm_b)}  "
                           f"seeds {d.n_a} vs {d.n_b}  {d.reason}")
    if not verdicts:
        out.append("(no claims)")
    else:
        v0 = verdicts[0]
        out.append("")
        if any(isinstance(v.claim, ValueClaim) for v in verdicts):
            out += [f"Value claims: the mean of the runs with its {conf}bootstrap interval ({v0.reps} reps, seed "
                    f"{v0.bootstrap_seed}, at least {v0.min_seeds} seeds), against the claim's bounds.", _VALUE_LEGEND]
        if any(isinstance(v.claim, Claim) for v in verdicts):
            out += [f"A = model, B = baseline; P(A better) with its {conf}stratified bootstrap interval "
                    f"({v0.reps} reps, seed {v0.bootstrap_seed}, at least {v0.min_seeds} seeds each).", _LEGEND]
    return "\n".join(out) + "\n"
