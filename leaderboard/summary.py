"""Leaderboard tables built from records: per-cell summaries, cross-dataset ranks, pairwise comparisons.

Grouping rules (the *versioned table*):

* a table is for one (suite, protocol_version, profile); mixing raises :class:`VersionMixError`;
* a **metric** is (name, version, parameters), a **dataset** is (name, content hash), a **model** is
  (name, config hash): different versions/hashes are separate rows, never averaged together (their
  labels then carry the version or a hash prefix, e.g. ``mig@2`` or ``dsprites#1a2b3c4d``);
* only records with status ``ok`` contribute values; failed/invalid ones are counted in ``n_failed``;
* several eval seeds of one training run are averaged first: a *run* (seed) is one training seed;
* every metric has a direction (:mod:`leaderboard.directions`): higher or lower is better. Tables
  are sorted best first and "better" means better in that direction; ``directions={name: "lower"}``
  overrides the registry for one call. Each table carries a ``direction`` column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .aggregate import Ragged, mann_whitney_pvalue
from .bootstrap import probability_of_improvement_ci, rank_intervals, rng_for, stratified_bootstrap
from .directions import HIGHER, LOWER, arrow, check_directions, resolve_direction
from .errors import VersionMixError
from .frame import FRAME_COLUMNS, records_to_frame
from .records import Record
from .versions import AGGREGATION_VERSION  # the version of the statistics below

__all__ = ["AGGREGATION_VERSION", "summarize", "aggregate_across_datasets", "compare", "format_table", "MIN_SEEDS", "run_scores"]


#: Cells with fewer training seeds than this are flagged (``few_seeds``); Agarwal et al. (2021)
#: and the design notes ask for at least 5.
MIN_SEEDS = 5


def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        missing = [c for c in FRAME_COLUMNS if c not in data.columns and c not in ("error", "created_at", "record_id")]
        if missing:
            raise ValueError(f"data is a DataFrame without the record column(s) {missing}; pass Store.table(...) "
                             f"output or a list of leaderboard.Record.")
        return data.copy()
    if hasattr(data, "table") and callable(data.table):
        return data.table()
    recs = list(data) if isinstance(data, Iterable) else None
    if recs is None or not all(isinstance(r, Record) for r in recs):
        raise TypeError(f"data must be a list of leaderboard.Record, a DataFrame from Store.table, or a Store; "
                        f"got {type(data).__name__}.")
    return records_to_frame(recs)


def _check_one_version(df: pd.DataFrame) -> None:
    combos = sorted(set(zip(df["suite"], df["protocol_version"], df["profile"])))
    if len(combos) > 1:
        listed = "; ".join(f"suite={s!r} protocol={p!r} profile={q!r}" for s, p, q in combos)
        raise VersionMixError(f"records of {len(combos)} (suite, protocol version, profile) combinations ({listed}) "
                              f"cannot be summarised together; select one (Store.table(protocol_version=...), "
                              f"--suite/--protocol/--profile).")


def _short(h: str, n: int = 8) -> str:
    return h.split(":")[-1][:n]


def _add_labels(df: pd.DataFrame) -> pd.DataFrame:
    """``model_label``, ``dataset_label``, ``metric_label``: the name, disambiguated when needed."""
    df = df.copy()
    n_cfg = df.groupby("model")["model_config_hash"].transform("nunique")
    df["model_label"] = np.where(n_cfg > 1, df["model"] + " #" + df["model_config_hash"].map(_short), df["model"])
    n_hash = df.groupby("dataset")["dataset_hash"].transform("nunique")
    df["dataset_label"] = np.where(n_hash > 1, df["dataset"] + " #" + df["dataset_hash"].map(_short), df["dataset"])
    n_ver = df.groupby("metric")["metric_version"].transform("nunique")
    n_par = df.groupby(["metric", "metric_version"])["metric_params"].transform("nunique")
    label = np.where(n_ver > 1, df["metric"] + "@" + df["metric_version"], df["metric"])
    params_tag = df["metric_params"].map(lambda s: " " + s if s != "{}" else "")
    df["metric_label"] = np.where(n_par > 1, pd.Series(label, index=df.index) + params_tag, label)
    return df


_MODEL = ["model", "model_config_hash"]
_DATASET = ["dataset", "dataset_hash"]
_METRIC = ["metric", "metric_version", "metric_params"]
_CELL = [*_MODEL, *_DATASET, *_METRIC]


def run_scores(data) -> pd.DataFrame:
    """One row per (model, dataset, metric, train seed): the value averaged over eval seeds (status ok)."""
    df = _as_frame(data)
    if df.empty:
        return df.assign(model_label=[], dataset_label=[], metric_label=[])
    _check_one_version(df)
    df = _add_labels(df)
    ok = df[df["status"] == "ok"]
    keys = ["suite", "protocol_version", "profile", *_CELL, "model_label", "dataset_label", "metric_label", "train_seed"]
    return ok.groupby(keys, sort=True, dropna=False)["value"].mean().reset_index()


def _resolve_seed(seed, rng) -> tuple[int | None, np.random.Generator | None]:
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
        return None, rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    return int(seed), None


def _best_first_key(iqm: pd.Series, direction: pd.Series) -> pd.Series:
    """A sort key, ascending = best first: ``-iqm`` where higher is better, ``iqm`` where lower is."""
    v = pd.to_numeric(iqm, errors="coerce").astype("float64")
    return v.where(direction == LOWER, -v)


def summarize(data, *, seed: int = 0, rng: np.random.Generator | None = None, reps: int = 10_000,
              confidence: float = 0.95, across_datasets: bool = False,
              directions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per (model, dataset, metric): mean, IQM and a stratified-bootstrap interval over training seeds.

    With ``across_datasets=True`` this returns :func:`aggregate_across_datasets` instead (per
    (metric, model): IQM over all datasets, interval, rank interval, ties).

    Parameters
    ----------
    data : list of Record, ``Store.table(...)`` DataFrame, or Store
        One (suite, protocol_version, profile) only.
    seed : int, default 0
        Bootstrap seed, recorded in the ``bootstrap_seed`` column and ``df.attrs``. Each cell draws
        from its own generator derived from ``(seed, cell key)``, so a cell's interval does not
        change when other models are added.
    rng : numpy.random.Generator, optional
        Use this generator instead (cells drawn in table order); ``bootstrap_seed`` is then empty.
    reps : int, default 10000
        Bootstrap replicates (resampling seeds with replacement: "what if we retrained").
    confidence : float, default 0.95
    directions : mapping of metric name to {"higher", "lower"}, optional
        Which way is better, per metric name; names not given use
        :func:`leaderboard.direction_of` (the registry, else the naming rule).

    Returns
    -------
    pandas.DataFrame
        Columns ``model, dataset, metric, mean, iqm, ci_low, ci_high`` (interval of the IQM),
        ``mean_ci_low, mean_ci_high, n_seeds, few_seeds`` (``n_seeds < 5``), ``n_failed``, the
        versions/hashes (``metric_version, metric_params, dataset_hash, model_config_hash``),
        ``direction`` (``"higher"`` or ``"lower"`` is better), ``suite, protocol_version, profile,
        bootstrap_seed, reps, confidence``. ``model``, ``dataset`` and ``metric`` are display
        labels (disambiguated when versions differ). Each (metric, dataset) block is sorted best
        first (IQM descending, or ascending for lower-is-better metrics); cells without a value last.
    """
    if across_datasets:
        return aggregate_across_datasets(data, seed=seed, rng=rng, reps=reps, confidence=confidence,
                                         directions=directions)
    seed, rng = _resolve_seed(seed, rng)
    dirs = check_directions(directions)
    df = _as_frame(data)
    cols = ["suite", "protocol_version", "profile", "model", "dataset", "metric", "mean", "iqm", "ci_low", "ci_high",
            "mean_ci_low", "mean_ci_high", "n_seeds", "few_seeds", "n_failed", "metric_version", "metric_params",
            "dataset_hash", "model_config_hash", "direction", "bootstrap_seed", "reps", "confidence"]
    if df.empty:
        out = pd.DataFrame(columns=cols)
        out.attrs.update(kind="summary", seed=seed, reps=reps, confidence=confidence)
        return out
    _check_one_version(df)
    df = _add_labels(df)
    runs = run_scores(df)
    failed = df[df["status"] != "ok"].groupby(_CELL).size()
    labels = df.drop_duplicates(_CELL).set_index(_CELL)[["model_label", "dataset_label", "metric_label"]]
    s, p, q = df["suite"].iloc[0], df["protocol_version"].iloc[0], df["profile"].iloc[0]
    groups = {k: g["value"].to_numpy() for k, g in runs.groupby(_CELL, sort=False)}
    rows = []
    cells = labels.sort_index()
    for key, lab in tqdm(cells.iterrows(), total=len(cells), desc="bootstrap intervals", unit="cell",
                         disable=True if len(cells) < 100 else None, leave=False):
        vals = groups.get(key, np.empty(0))
        n_failed = int(failed.get(key, 0))
        row = {"suite": s, "protocol_version": p, "profile": q, "model": lab["model_label"],
               "dataset": lab["dataset_label"], "metric": lab["metric_label"], "n_seeds": int(vals.size),
               "few_seeds": bool(vals.size < MIN_SEEDS), "n_failed": n_failed,
               "model_config_hash": key[1], "dataset_hash": key[3], "metric_version": key[5],
               "metric_params": key[6], "direction": resolve_direction(key[4], dirs), "bootstrap_seed": seed,
               "reps": reps, "confidence": confidence}
        if vals.size:
            g = rng if rng is not None else rng_for(seed, "cell", *map(str, key))
            iqm, lo, hi = stratified_bootstrap(vals, "iqm", reps=reps, confidence=confidence, rng=g)
            mean, mlo, mhi = stratified_bootstrap(vals, "mean", reps=reps, confidence=confidence, rng=g)
            row.update(mean=mean, iqm=iqm, ci_low=lo, ci_high=hi, mean_ci_low=mlo, mean_ci_high=mhi)
        else:  # every run of the cell failed: no value, and the row says so
            row.update(mean=None, iqm=None, ci_low=None, ci_high=None, mean_ci_low=None, mean_ci_high=None)
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    out["_k"] = _best_first_key(out["iqm"], out["direction"])
    out = out.sort_values(["metric", "dataset", "_k", "model"], na_position="last",
                          kind="mergesort").drop(columns="_k").reset_index(drop=True)
    out.attrs.update(kind="summary", seed=seed, reps=reps, confidence=confidence,
                     method="stratified percentile bootstrap over training seeds")
    return out


def aggregate_across_datasets(data, *, seed: int = 0, rng: np.random.Generator | None = None, reps: int = 10_000,
                              confidence: float = 0.95, directions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per (metric, model): IQM over all seeds of all datasets, its interval, and rank intervals.

    Seeds are resampled within each dataset (stratified bootstrap). Models are ranked per metric,
    only among models with results on every dataset of that metric (others get ``complete=False``
    and no rank, since an aggregate over fewer datasets is not comparable). ``rank`` is the shared
    rank (1 + the number of models whose interval lies entirely on the better side: above, or below
    for a lower-is-better metric), ``rank_low``/``rank_high`` the 95 % bootstrap rank interval,
    ``tied_with`` the models it cannot be separated from. ``direction`` says which way is better
    (``directions`` per metric name, else :func:`leaderboard.direction_of`).

    Rows are sorted per metric by IQM, best first in the metric's direction, unranked (incomplete)
    models last. They are not sorted by ``rank``: the shared rank depends on the intervals' ends,
    so a model with a wide interval can share rank 1 while its IQM is below that of a rank-2 model
    with a narrow one, and a rank-sorted table would list the lower IQM first. :func:`format_table`
    shows the rank interval first and the shared rank as its own column.
    """
    seed, rng = _resolve_seed(seed, rng)
    dirs = check_directions(directions)
    runs = run_scores(data)
    cols = ["metric", "model", "iqm", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "tied_with",
            "n_datasets", "n_runs", "min_seeds", "few_seeds", "complete", "direction", "bootstrap_seed", "reps",
            "confidence"]
    out_rows = []
    groups = runs.groupby(_METRIC, sort=True)
    for metric_key, mdf in tqdm(groups, total=groups.ngroups, desc="rank intervals", unit="metric",
                                disable=True if len(runs) < 1000 else None, leave=False):
        metric_label = mdf["metric_label"].iloc[0]
        direction = resolve_direction(metric_key[0], dirs)
        all_tasks = sorted(set(map(tuple, mdf[_DATASET].to_numpy())))
        per_model: dict[str, Ragged] = {}
        info: dict[str, dict[str, Any]] = {}
        for _, gdf in mdf.groupby(_MODEL, sort=True):
            label = gdf["model_label"].iloc[0]
            tasks = sorted(set(map(tuple, gdf[_DATASET].to_numpy())))
            arrays = [gdf.loc[(gdf["dataset"] == d) & (gdf["dataset_hash"] == h), "value"].to_numpy() for d, h in tasks]
            counts = [a.size for a in arrays]
            info[label] = {"n_datasets": len(tasks), "n_runs": int(sum(counts)), "min_seeds": int(min(counts)),
                           "few_seeds": bool(min(counts) < MIN_SEEDS), "complete": tasks == all_tasks,
                           "scores": Ragged(arrays)}
            if tasks == all_tasks:
                per_model[label] = Ragged(arrays)
        # one stream per model: adding a model moves no other model's interval
        g = rng if rng is not None else (lambda name, key=metric_key: rng_for(seed, "ranks", *map(str, key), name))
        ranked = rank_intervals(per_model, "iqm", reps=reps, confidence=confidence, rng=g,
                                higher_is_better=direction == HIGHER) if per_model else None
        for label in sorted(info):
            row = {"metric": metric_label, "model": label, "direction": direction, "bootstrap_seed": seed, "reps": reps,
                   "confidence": confidence, **{k: v for k, v in info[label].items() if k != "scores"}}
            if ranked is not None and label in set(ranked["model"]):
                r = ranked[ranked["model"] == label].iloc[0]
                row.update(iqm=r["point"], ci_low=r["lower"], ci_high=r["upper"], rank=int(r["rank"]),
                           rank_low=int(r["rank_low"]), rank_high=int(r["rank_high"]), tied_with=list(r["tied_with"]))
            else:
                gi = rng if rng is not None else rng_for(seed, "incomplete", label, *map(str, metric_key))
                p, lo, hi = stratified_bootstrap(info[label]["scores"], "iqm", reps=reps, confidence=confidence, rng=gi)
                row.update(iqm=p, ci_low=lo, ci_high=hi, rank=None, rank_low=None, rank_high=None, tied_with=[])
            out_rows.append(row)
    out = pd.DataFrame(out_rows, columns=cols)
    if not out.empty:
        out["_u"] = out["rank"].isna()  # unranked (incomplete) models last
        out["_k"] = _best_first_key(out["iqm"], out["direction"])
        out = out.sort_values(["metric", "_u", "_k", "model"], kind="mergesort").drop(
            columns=["_u", "_k"]).reset_index(drop=True)
        for c in ("rank", "rank_low", "rank_high"):
            out[c] = out[c].astype("Int64")
    out.attrs.update(kind="aggregate", seed=seed, reps=reps, confidence=confidence,
                     method="IQM over seeds x datasets; stratified percentile bootstrap (seeds within dataset)")
    return out


def compare(data, model_a: str, model_b: str, *, seed: int = 0, rng: np.random.Generator | None = None,
            reps: int = 10_000, confidence: float = 0.95,
            directions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Probability that A is better than B per metric and dataset, with interval and Mann-Whitney p-value.

    ``p_improve`` is P(A better than B) in the metric's direction: P(A > B) for a
    higher-is-better metric, P(A < B) for a lower-is-better one (computed on negated values), ties
    counting one half, so 0.5 means no difference either way. The ``direction`` column says which
    (``directions`` per metric name, else :func:`leaderboard.direction_of`).

    One row per (metric, dataset) both models have, plus one row per metric with dataset
    ``"(all datasets)"`` averaging P(A better) over those datasets (its p-value is missing, NaN in the
    frame: a Mann-Whitney test across datasets is not meaningful). The two-sided Mann-Whitney p-value
    does not depend on the direction. ``model_a``/``model_b`` are model names (or the disambiguated
    labels shown by :func:`summarize`).
    """
    seed, rng = _resolve_seed(seed, rng)
    dirs = check_directions(directions)
    runs = run_scores(data)
    known = sorted(set(runs["model_label"])) if not runs.empty else []
    for arg, name in (("model_a", model_a), ("model_b", model_b)):
        if name not in known:
            raise ValueError(f"{arg} {name!r} has no successful records in this table; models: {known}.")
    if model_a == model_b:
        raise ValueError(f"model_a and model_b must differ; got {model_a!r} twice.")
    cols = ["metric", "dataset", "model_a", "model_b", "n_a", "n_b", "p_improve", "ci_low", "ci_high", "p_value",
            "direction", "bootstrap_seed", "reps", "confidence"]
    rows = []
    for metric_key, mdf in runs.groupby(_METRIC, sort=True):
        a = mdf[mdf["model_label"] == model_a]
        b = mdf[mdf["model_label"] == model_b]
        tasks = sorted(set(map(tuple, a[_DATASET].to_numpy())) & set(map(tuple, b[_DATASET].to_numpy())))
        if not tasks:
            continue
        metric_label = mdf["metric_label"].iloc[0]
        direction = resolve_direction(metric_key[0], dirs)
        sign = 1.0 if direction == HIGHER else -1.0  # P(A better) = P(sign*A > sign*B)
        xa, yb = [], []
        for d, h in tasks:
            x = a.loc[(a["dataset"] == d) & (a["dataset_hash"] == h), "value"].to_numpy()
            y = b.loc[(b["dataset"] == d) & (b["dataset_hash"] == h), "value"].to_numpy()
            xa.append(x)
            yb.append(y)
            g = rng if rng is not None else rng_for(seed, "compare", model_a, model_b, d, h, *map(str, metric_key))
            p, lo, hi = probability_of_improvement_ci(sign * x, sign * y, reps=reps, confidence=confidence, rng=g)
            label = mdf.loc[(mdf["dataset"] == d) & (mdf["dataset_hash"] == h), "dataset_label"].iloc[0]
            rows.append({"metric": metric_label, "dataset": label, "model_a": model_a, "model_b": model_b,
                         "n_a": x.size, "n_b": y.size, "p_improve": p, "ci_low": lo, "ci_high": hi,
                         "p_value": mann_whitney_pvalue(x, y), "direction": direction})
        if len(tasks) > 1:
            g = rng if rng is not None else rng_for(seed, "compare-all", model_a, model_b, *map(str, metric_key))
            p, lo, hi = probability_of_improvement_ci(Ragged(sign * x for x in xa), Ragged(sign * y for y in yb),
                                                      reps=reps, confidence=confidence, rng=g)
            rows.append({"metric": metric_label, "dataset": "(all datasets)", "model_a": model_a, "model_b": model_b,
                         "n_a": int(sum(x.size for x in xa)), "n_b": int(sum(y.size for y in yb)),
                         "p_improve": p, "ci_low": lo, "ci_high": hi, "p_value": None, "direction": direction})
    out = pd.DataFrame(rows, columns=cols)
    out["bootstrap_seed"], out["reps"], out["confidence"] = seed, reps, confidence
    out.attrs.update(kind="compare", seed=seed, reps=reps, confidence=confidence,
                     method="P(A better than B) in the metric's direction = Mann-Whitney U/(n_a n_b) per dataset "
                            "(on negated values when lower is better); stratified independent bootstrap")
    return out


# -- formatting --------------------------------------------------------------------------------
def _fmt(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) if v else "—"
    return str(v)


def _percent(confidence) -> str:
    """``0.95`` -> ``95%``, ``0.995`` -> ``99.5%`` (the intervals' column title and footnote)."""
    return f"{float(confidence) * 100:g}%"


def _display(df: pd.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    kind = df.attrs.get("kind")
    f = lambda v: _fmt(v, digits)  # noqa: E731
    iv = lambda lo, hi: "—" if _fmt(lo, digits) == "—" else f"[{f(lo)}, {f(hi)}]"  # noqa: E731
    ci = f"{_percent(df.attrs.get('confidence', 0.95))} CI"

    def m(r) -> str:  # the metric with its direction: "infom ↑", "mse ↓"
        d = getattr(r, "direction", None)
        return f"{r.metric} {arrow(d)}" if d in (HIGHER, LOWER) else str(r.metric)

    if kind == "summary":
        head = ["model", "dataset", "metric", "IQM", ci, "mean", "seeds", "failed"]
        rows = [[r.model, r.dataset, m(r), f(r.iqm), iv(r.ci_low, r.ci_high), f(r.mean),
                 f"{r.n_seeds}{' (<5)' if r.few_seeds else ''}", str(r.n_failed)] for r in df.itertuples()]
    elif kind == "aggregate":  # rows by IQM best first; the rank interval leads, the shared rank is kept
        head = ["metric", "rank interval", "model", "IQM", ci, "tied with", "shared rank", "datasets", "runs"]
        rows = [[m(r), "—" if r.rank_low is pd.NA or r.rank_low is None else f"{r.rank_low}–{r.rank_high}",
                 r.model, f(r.iqm), iv(r.ci_low, r.ci_high), f(r.tied_with), f(r.rank),
                 str(r.n_datasets) + ("" if r.complete else " (incomplete)"),
                 f"{r.n_runs}{' (<5 seeds)' if r.few_seeds else ''}"] for r in df.itertuples()]
    elif kind == "compare":
        head = ["metric", "dataset", "P(A better)", ci, "Mann-Whitney p", "n_A", "n_B"]
        rows = [[m(r), r.dataset, f(r.p_improve), iv(r.ci_low, r.ci_high), f(r.p_value), str(r.n_a), str(r.n_b)]
                for r in df.itertuples()]
    else:
        head = [str(c) for c in df.columns]
        rows = [[f(v) for v in rec] for rec in df.itertuples(index=False)]
    return head, rows


def format_table(df: pd.DataFrame, fmt: str = "table", *, digits: int = 3) -> str:
    """Render a table from :func:`summarize`, :func:`aggregate_across_datasets`, :func:`compare` (or any frame).

    Parameters
    ----------
    df : pandas.DataFrame
    fmt : {"table", "markdown", "csv", "json"}, default "table"
        ``table`` and ``markdown`` show the readable columns (intervals as ``[low, high]``,
        seed counts flagged ``(<5)``, the metric followed by ``↑`` when higher is better or ``↓``
        when lower is better); ``csv`` and ``json`` hold every column at full precision. The
        aggregate view lists the rank interval first (``1–2``), then model, IQM, its interval,
        the models it is tied with and the shared rank, in the frame's order (IQM best first).
        Names are shown verbatim (markdown escapes ``|``).
    digits : int, default 3
    """
    if fmt not in ("table", "markdown", "csv", "json"):
        raise ValueError(f"fmt must be one of 'table', 'markdown', 'csv', 'json'; got {fmt!r}.")
    if fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        return buf.getvalue()
    if fmt == "json":
        recs = json.loads(df.to_json(orient="records", force_ascii=False, double_precision=15))
        return json.dumps({"attrs": {k: v for k, v in df.attrs.items()}, "rows": recs}, ensure_ascii=False, indent=1)
    head, rows = _display(df, digits)
    if fmt == "markdown":
        esc = lambda s: s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    if not rows:
        out.append("(no records match)")
    note = []
    if "seed" in df.attrs and df.attrs.get("kind"):
        note.append(f"{_percent(df.attrs['confidence'])} stratified bootstrap, {df.attrs['reps']} reps, "
                    f"seed {df.attrs['seed'] if df.attrs['seed'] is not None else '(caller generator)'}")
    return "\n".join(out + ([""] + note if note else [])) + "\n"
