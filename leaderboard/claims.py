"""Claims as data, and their verdicts: does a run of the suite support what the papers claim?

A suite declares its papers' claims as :class:`Claim` values, e.g. "QLAE is better than an AE on
InfoM, on dSprites and Shapes3D" (Hsu et al. 2023, arXiv:2305.18378). After a run,
:func:`check_claims` checks every claim against the records and returns one :class:`Verdict` per
claim, with one :class:`DatasetVerdict` per dataset. These rules are the project's definition of a
verdict.

Records
    Any iterable of :class:`leaderboard.Record`, a ``Store.table(...)`` frame or a Store, as
    :func:`leaderboard.summarize` accepts. Records of several (suite, protocol_version, profile)
    combinations raise :class:`leaderboard.VersionMixError`. Only records with status ``ok`` count.
    A *run* is one training seed; its value is the mean over its eval seeds
    (:func:`leaderboard.summary.run_scores`).

Names
    ``Claim.model``, ``Claim.baseline``, ``Claim.metric`` and each dataset are matched against the
    display labels of :func:`leaderboard.summarize` (``qlae``, ``qlae #1a2b3c4d``, ``mig@2``), or the
    plain name when it picks out one label. A plain name that stands for several labels (two model
    configs, metric versions or dataset hashes) raises ``ValueError`` listing them.

Direction
    "A better than B" is in the metric's direction: ``Claim.direction`` if set, else
    ``directions[metric]`` if passed to :func:`check_claims`, else
    :func:`leaderboard.direction_of` (higher is better unless the name says error/loss/...).

Per dataset (:class:`DatasetVerdict`)
    * ``not run``: A or B has no successful run on this dataset for this metric;
    * ``not shown``: A or B has fewer than ``min_seeds`` runs (default 2; the reason gives the
      counts); no bootstrap is drawn;
    * otherwise P(A better than B) (Mann-Whitney U / (n_A n_B), ties count one half; computed on
      negated values when lower is better) gets a percentile interval from a stratified independent
      bootstrap (each model's seeds resampled on their own), and so does IQM(A) - IQM(B) (raw, not
      signed by direction). The status is ``holds`` if the interval's lower bound is above 0.5,
      ``contradicted`` if its upper bound is below 0.5, ``not shown`` otherwise.

Per claim (:class:`Verdict`)
    ``not run`` if any dataset is not run, or the claim names no dataset; else ``contradicted`` if
    any dataset is contradicted; else ``holds`` if every dataset holds; else ``not shown``.

Randomness
    Every (claim, dataset) draws from its own generator, ``rng_for(seed, "claim", model, baseline,
    metric, dataset, direction)``: the same seed gives identical verdicts, and adding or removing
    other claims (or other records' models) never moves a claim's intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .aggregate import aggregate_iqm, probability_of_improvement
from .bootstrap import _check_common, difference_ci, probability_of_improvement_ci, rng_for
from .directions import HIGHER, _check_direction, check_directions, resolve_direction
from .summary import _percent, format_table, run_scores

__all__ = ["Claim", "DatasetVerdict", "Verdict", "STATUSES", "check_claims", "verdicts_frame", "format_verdicts"]

#: The verdict of a claim or of one dataset, best to worst evidence for the claim; "not run" last.
STATUSES: tuple[str, ...] = ("holds", "not shown", "contradicted", "not run")
HOLDS, NOT_SHOWN, CONTRADICTED, NOT_RUN = STATUSES

_LEGEND = ("holds: P(A better) interval above 0.5 on every dataset · contradicted: below 0.5 on some dataset · "
           "not shown: neither, or too few seeds · not run: A or B has no successful run on some dataset")


def _check_name(value, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a non-empty string; got {type(value).__name__} {value!r}.")
    if not value:
        raise ValueError(f"{where} must be a non-empty string; got ''.")
    return value


@dataclasses.dataclass(frozen=True)
class Claim:
    """"``model`` is better than ``baseline`` on ``metric``, on each of ``datasets``".

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

    Raises
    ------
    TypeError
        A name is not a string, or ``datasets`` is a single string.
    ValueError
        An empty name, a dataset listed twice, ``model == baseline``, or a bad ``direction``.
    """

    model: str
    baseline: str
    metric: str
    datasets: tuple[str, ...]
    source: str = ""
    direction: str | None = None

    def __post_init__(self):
        for name in ("model", "baseline", "metric"):
            _check_name(getattr(self, name), f"Claim.{name}")
        if isinstance(self.datasets, str):
            raise TypeError(f"Claim.datasets must be a sequence of dataset names; got the string {self.datasets!r} "
                            f"(write ({self.datasets!r},) for one dataset).")
        if not isinstance(self.datasets, Iterable):
            raise TypeError(f"Claim.datasets must be a sequence of dataset names; got {type(self.datasets).__name__}.")
        datasets = tuple(self.datasets)
        for d in datasets:
            _check_name(d, "every entry of Claim.datasets")
        twice = sorted({d for d in datasets if datasets.count(d) > 1})
        if twice:
            raise ValueError(f"Claim.datasets must list each dataset once; got {twice[0]!r} more than once.")
        object.__setattr__(self, "datasets", datasets)
        if not isinstance(self.source, str):
            raise TypeError(f"Claim.source must be a string; got {type(self.source).__name__}.")
        if self.direction is not None:
            _check_direction(self.direction, "Claim.direction")
        if self.model == self.baseline:
            raise ValueError(f"Claim.model and Claim.baseline must differ; got {self.model!r} twice.")

    def resolved_direction(self, directions: Mapping[str, str] | None = None) -> str:
        """``direction`` if set, else ``directions[metric]``, else :func:`leaderboard.direction_of`."""
        if self.direction is not None:
            return self.direction
        return resolve_direction(self.metric, check_directions(directions))

    def describe(self, direction: str | None = None) -> str:
        """One line, e.g. ``"qlae better than ae on mse (lower is better)"``.

        ``direction`` overrides the claim's own (a :class:`Verdict` passes the one it was checked with).
        """
        d = self.resolved_direction() if direction is None else _check_direction(direction, "direction")
        return f"{self.model} better than {self.baseline} on {self.metric} ({d} is better)"


@dataclasses.dataclass(frozen=True)
class DatasetVerdict:
    """The verdict of one claim on one dataset (see the module docstring for the rules).

    ``iqm_diff`` is IQM(A) - IQM(B) of the raw values (negative is better for a lower-is-better
    metric), ``diff_low``/``diff_high`` its interval; ``p_improve`` is P(A better than B) in the
    metric's direction, ``ci_low``/``ci_high`` its interval. Intervals are ``None`` when no bootstrap
    was drawn (too few seeds); values are ``None`` when a model has no runs.
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


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verdict of one claim: its status, one :class:`DatasetVerdict` per dataset, and why.

    ``direction`` is the direction the claim was checked in; ``bootstrap_seed``, ``reps``,
    ``confidence`` and ``min_seeds`` are the settings of :func:`check_claims`.
    """

    claim: Claim
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


def _select(runs: pd.DataFrame, name: str, label_col: str, name_col: str, what: str, claim: Claim) -> pd.Series:
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
    where = f"for {claim.metric} on {dataset}"
    if n_a == 0 or n_b == 0:
        if n_a == 0 and n_b == 0:
            reason = f"neither model {claim.model} nor baseline {claim.baseline} has successful records {where}"
        elif n_a == 0:
            reason = f"model {claim.model} has no successful records {where}"
        else:
            reason = f"baseline {claim.baseline} has no successful records {where}"
        empty.update(iqm_a=aggregate_iqm(x) if n_a else None, iqm_b=aggregate_iqm(y) if n_b else None)
        return DatasetVerdict(dataset, NOT_RUN, n_a, n_b, **{**empty, "reason": reason})
    iqm_a, iqm_b = aggregate_iqm(x), aggregate_iqm(y)
    sign = 1.0 if direction == HIGHER else -1.0  # P(A better) = P(sign*A > sign*B)
    if n_a < min_seeds or n_b < min_seeds:
        few = [f"{_seeds(n)} of {m}" for n, m in ((n_a, claim.model), (n_b, claim.baseline)) if n < min_seeds]
        reason = f"{' and '.join(few)}: at least {min_seeds} needed{' each' if len(few) > 1 else ''}"
        return DatasetVerdict(dataset, NOT_SHOWN, n_a, n_b, iqm_a, iqm_b, iqm_a - iqm_b, None, None,
                              probability_of_improvement(sign * x, sign * y), None, None, reason)
    g = rng_for(seed, "claim", claim.model, claim.baseline, claim.metric, dataset, direction)
    p, lo, hi = probability_of_improvement_ci(sign * x, sign * y, reps=reps, confidence=confidence, rng=g)
    diff, dlo, dhi = difference_ci(x, y, "iqm", reps=reps, confidence=confidence, rng=g)
    if lo > 0.5:
        status, reason = HOLDS, f"{_p_text(p, lo, hi)} > 0.5"
    elif hi < 0.5:
        status, reason = CONTRADICTED, f"{_p_text(p, lo, hi)} < 0.5"
    else:
        status, reason = NOT_SHOWN, f"{_p_text(p, lo, hi)} includes 0.5"
    return DatasetVerdict(dataset, status, n_a, n_b, iqm_a, iqm_b, diff, dlo, dhi, p, lo, hi, reason)


def _claim_status(claim: Claim, dvs: tuple[DatasetVerdict, ...]) -> tuple[str, str]:
    if not dvs:
        return NOT_RUN, "the claim names no datasets; list at least one in Claim.datasets"
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
    claims : iterable of Claim
    seed : int, default 0
        Bootstrap seed; each (claim, dataset) derives its own generator from it.
    reps : int, default 10000
        Bootstrap replicates (resampling seeds: "what if both methods were retrained").
    confidence : float, default 0.95
        Level of the intervals of P(A better) and of the IQM difference.
    min_seeds : int, default 2
        Fewer successful training seeds than this, for A or B on a dataset, is "not shown".
    directions : mapping of metric name to {"higher", "lower"}, optional
        For claims without their own ``direction``; else :func:`leaderboard.direction_of`.

    Returns
    -------
    list of Verdict

    Raises
    ------
    VersionMixError
        The records hold several (suite, protocol_version, profile) combinations.
    TypeError
        ``claims`` is not an iterable of Claim.
    ValueError
        A bad ``seed``, ``reps``, ``confidence`` or ``min_seeds``, or a claim name that stands for
        several labels.
    """
    if isinstance(claims, Claim) or not isinstance(claims, Iterable):
        raise TypeError(f"claims must be a list of leaderboard.Claim; got {type(claims).__name__}"
                        f"{' (wrap a single claim in a list)' if isinstance(claims, Claim) else ''}.")
    claims = list(claims)
    bad = [type(c).__name__ for c in claims if not isinstance(c, Claim)]
    if bad:
        raise TypeError(f"claims must be a list of leaderboard.Claim; got an entry of type {bad[0]}.")
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
        direction = claim.resolved_direction(dirs)
        in_m = _select(runs, claim.metric, "metric_label", "metric", "metric", claim)
        in_a = in_m & _select(runs, claim.model, "model_label", "model", "model", claim)
        in_b = in_m & _select(runs, claim.baseline, "model_label", "model", "baseline", claim)
        dvs = tuple(_check_dataset(runs, in_a, in_b, d, claim, direction, seed=int(seed), reps=reps,
                                   confidence=confidence, min_seeds=int(min_seeds)) for d in claim.datasets)
        status, reason = _claim_status(claim, dvs)
        out.append(Verdict(claim, status, dvs, reason, direction, int(seed), int(reps), float(confidence),
                           int(min_seeds)))
    return out


_FRAME_COLUMNS = ["claim", "claim_status", "claim_reason", "model", "baseline", "metric", "direction", "source",
                  "dataset", "status", "n_a", "n_b", "iqm_a", "iqm_b", "iqm_diff", "diff_low", "diff_high",
                  "p_improve", "ci_low", "ci_high", "reason", "bootstrap_seed", "reps", "confidence", "min_seeds"]


def verdicts_frame(verdicts) -> pd.DataFrame:
    """One row per (claim, dataset) of :func:`check_claims` output.

    Columns ``claim`` (its description), ``claim_status, claim_reason, model, baseline, metric,
    direction, source``, then per dataset ``dataset, status, n_a, n_b, iqm_a, iqm_b, iqm_diff,
    diff_low, diff_high, p_improve, ci_low, ci_high, reason``, and the settings ``bootstrap_seed,
    reps, confidence, min_seeds``. A claim without datasets has one row with no dataset.
    """
    verdicts = list(verdicts)
    bad = [type(v).__name__ for v in verdicts if not isinstance(v, Verdict)]
    if bad:
        raise TypeError(f"verdicts must be a list of leaderboard.Verdict (from check_claims); got an entry of "
                        f"type {bad[0]}.")
    rows = []
    for v in verdicts:
        c = v.claim
        head = {"claim": v.describe(), "claim_status": v.status, "claim_reason": v.reason, "model": c.model,
                "baseline": c.baseline, "metric": c.metric, "direction": v.direction, "source": c.source,
                "bootstrap_seed": v.bootstrap_seed, "reps": v.reps, "confidence": v.confidence,
                "min_seeds": v.min_seeds}
        if not v.datasets:
            rows.append({**head, "dataset": None, "status": v.status, "n_a": None, "n_b": None, "reason": v.reason})
        for d in v.datasets:
            rows.append({**head, **dataclasses.asdict(d)})
    df = pd.DataFrame(rows, columns=_FRAME_COLUMNS)
    for col in ("n_a", "n_b", "bootstrap_seed", "reps", "min_seeds"):
        df[col] = df[col].astype("Int64")
    for col in ("iqm_a", "iqm_b", "iqm_diff", "diff_low", "diff_high", "p_improve", "ci_low", "ci_high", "confidence"):
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
        interval), then a legend of the statuses. ``markdown``: one row per (claim, dataset).
        ``csv`` and ``json``: every column of :func:`verdicts_frame` at full precision.
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
            cells = [r.claim_status, r.claim, r.source or "—", r.dataset if isinstance(r.dataset, str) else "—",
                     r.status, _f(None if pd.isna(r.iqm_a) else r.iqm_a), _f(None if pd.isna(r.iqm_b) else r.iqm_b),
                     _f(None if pd.isna(r.p_improve) else r.p_improve, 2), ci,
                     "—" if pd.isna(r.n_a) else str(r.n_a), "—" if pd.isna(r.n_b) else str(r.n_b), r.reason]
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
            out.append(f"    {d.dataset:<{width}}  {d.status:<12}  IQM {_f(d.iqm_a)} vs {_f(d.iqm_b)}  "
                       f"seeds {d.n_a} vs {d.n_b}  {d.reason}")
    if not verdicts:
        out.append("(no claims)")
    else:
        v0 = verdicts[0]
        out += ["", f"A = model, B = baseline; P(A better) with its {conf}stratified bootstrap interval "
                    f"({v0.reps} reps, seed {v0.bootstrap_seed}, at least {v0.min_seeds} seeds each).", _LEGEND]
    return "\n".join(out) + "\n"
