"""The static leaderboard page: one self-contained HTML file (inline CSS, JS and PNG data URIs).

Sections per (suite, protocol version, profile), never mixed: the papers' claims and their
verdicts (when given, see :func:`leaderboard.check_claims`), ranking across datasets (IQM best
first, led by the rank interval; interval, ties, shared rank), per-dataset table, figures, and every record with its provenance,
environment and timing on demand (``<details>``). Metric names carry ``↑`` (higher is better) or
``↓`` (lower is better). Every table sorts by any column (click or
Enter on a header). Every name is HTML-escaped; a Content-Security-Policy forbids loading anything
from outside the file.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .claims import ValueClaim, Verdict, _mean_text
from .directions import arrow
from .frame import records_to_frame
from .plots import all_figures, figure_png
from .records import Record
from .summary import MIN_SEEDS, _add_labels, _percent, aggregate_across_datasets, summarize

__all__ = ["render_html", "write_html"]

_CSS = """
:root { --fg:#1d2330; --muted:#5f6b7a; --line:#e3e7ee; --bg:#ffffff; --band:#f6f8fb; --accent:#2457c5;
        --warn:#a15c00; --warnbg:#fff4e0; --ok:#1b7f3b; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
header { padding: 22px 32px 14px; border-bottom: 1px solid var(--line); background: var(--band); }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; }
.meta { color: var(--muted); margin: 0; font-size: 13px; }
main { padding: 8px 32px 40px; max-width: 1280px; }
nav { margin: 10px 0 0; font-size: 13px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
section.version { margin-top: 26px; }
h2 { font-size: 18px; margin: 18px 0 6px; }
h2 .tag { font-weight: 500; color: var(--muted); font-size: 14px; }
h3 { font-size: 15px; margin: 26px 0 8px; }
p.howto { color: var(--muted); max-width: 920px; margin: 4px 0 10px; font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; font-size: 12.5px; white-space: nowrap; position: sticky; top: 0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover { background: #e9eef7; }
table.sortable th::after { content: " \\2195"; color: #b5bdc9; font-size: 11px; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--accent); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--accent); }
td.num { text-align: right; white-space: nowrap; }
tr.group-start td { border-top: 2px solid #cfd6e2; }
tbody tr:hover td { background: #fafbfd; }
.ci { position: relative; display: inline-block; width: 140px; height: 10px; background: #eef1f6;
      border-radius: 5px; vertical-align: middle; margin-left: 8px; }
.ci .bar { position: absolute; top: 0; height: 10px; background: #9db6e8; border-radius: 5px; }
.ci .pt { position: absolute; top: -2px; width: 3px; height: 14px; background: #1d3f8f; border-radius: 1px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11.5px; line-height: 18px; }
.badge.warn { background: var(--warnbg); color: var(--warn); }
.badge.sub { background: #e8f0fe; color: #1a4fb0; }
.badge.failed, .badge.invalid { background: #fde8e7; color: var(--bad); }
.badge.ok { background: #e6f4ea; color: var(--ok); }
.badge.claim-holds { background: #e6f4ea; color: var(--ok); font-weight: 600; }
.badge.claim-contradicted { background: #fde8e7; color: var(--bad); font-weight: 600; }
.badge.claim-not-shown { background: #eef1f6; color: var(--muted); }
.badge.claim-not-run { background: transparent; color: var(--muted); border: 1px solid #cfd6e2; line-height: 16px; }
.dir { color: var(--muted); }
table.claims ul { margin: 0; padding: 0; list-style: none; }
table.claims li { margin: 0 0 2px; }
.rank { font-weight: 650; }
.muted { color: var(--muted); }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(430px, 1fr)); gap: 14px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
details summary { cursor: pointer; color: var(--accent); font-size: 12.5px; }
details pre { max-width: 760px; max-height: 360px; overflow: auto; background: var(--band); padding: 8px;
              border-radius: 4px; font-size: 11.5px; white-space: pre-wrap; word-break: break-word; }
input.filter { padding: 5px 8px; border: 1px solid #cfd6e2; border-radius: 4px; width: 320px; margin: 4px 0; }
footer { color: var(--muted); font-size: 12px; padding: 16px 32px 28px; border-top: 1px solid var(--line); }
code { font-size: 12.5px; }
table.records td { white-space: nowrap; }
table.records td:last-child { white-space: normal; }
"""

_JS = """
(function () {
  'use strict';
  function cellKey(td, type) {
    var raw = td.hasAttribute('data-sort') ? td.getAttribute('data-sort') : td.textContent;
    if (type === 'num') {
      if (raw === '' || raw === null) { return null; }
      var f = parseFloat(raw);
      return isNaN(f) ? null : f;
    }
    return raw.trim().toLowerCase();
  }
  function sortTable(table, idx, th) {
    var type = th.getAttribute('data-type') || 'text';
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r.classList.remove('group-start'); r._pos = i; });
    rows.sort(function (a, b) {
      var x = cellKey(a.cells[idx], type), y = cellKey(b.cells[idx], type);
      if (x === null && y === null) { return a._pos - b._pos; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = (type === 'num') ? (x - y) : x.localeCompare(y);
      if (c === 0) { return a._pos - b._pos; }
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, idx) {
      th.tabIndex = 0;
      th.setAttribute('role', 'columnheader');
      th.addEventListener('click', function () { sortTable(table, idx, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortTable(table, idx, th); }
      });
    });
  });
  var filters = document.querySelectorAll('input.filter');
  Array.prototype.forEach.call(filters, function (input) {
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      var table = document.getElementById(input.getAttribute('data-table'));
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.style.display = (!q || r.getAttribute('data-text').indexOf(q) !== -1) ? '' : 'none';
      });
    });
  });
})();
"""

_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'")


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def _num(v, digits: int = 3) -> tuple[str, str]:
    """(display text, data-sort value) of a number that may be missing."""
    if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
        return "—", ""
    if isinstance(v, (int, np.integer)):
        return str(int(v)), str(int(v))
    return f"{float(v):.{digits}f}", repr(float(v))


def _td_num(v, digits: int = 3, extra: str = "") -> str:
    text, key = _num(v, digits)
    return f'<td class="num" data-sort="{_e(key)}">{_e(text)}{extra}</td>'


def _ci_widget(lo, hi, pt, scale: tuple[float, float]) -> str:
    if any(v is None or v is pd.NA or not np.isfinite(float(v)) for v in (lo, hi, pt)):
        return ""
    a, b = scale
    span = (b - a) or 1.0
    pos = lambda v: 100.0 * min(max((float(v) - a) / span, 0.0), 1.0)  # noqa: E731
    return (f'<span class="ci" title="[{float(lo):.3f}, {float(hi):.3f}]">'
            f'<span class="bar" style="left:{pos(lo):.1f}%;width:{max(pos(hi) - pos(lo), 0.8):.1f}%"></span>'
            f'<span class="pt" style="left:calc({pos(pt):.1f}% - 1px)"></span></span>')


def _scale(df: pd.DataFrame) -> tuple[float, float]:
    lo = pd.to_numeric(df["ci_low"], errors="coerce").min()
    hi = pd.to_numeric(df["ci_high"], errors="coerce").max()
    if not np.isfinite(lo) or not np.isfinite(hi):
        return 0.0, 1.0
    pad = 0.05 * ((hi - lo) or 1.0)
    return float(lo - pad), float(hi + pad)


def _model_cell(name: str, provenances: dict[str, set[str]]) -> str:
    prov = provenances.get(name, set())
    badge = ""
    if prov - {"measured"}:
        badge = ' <span class="badge sub" title="representation submitted; metrics recomputed by the suite">' \
                + _e("/".join(sorted(p.replace("submitted-", "submitted ") for p in prov - {"measured"}))) + "</span>"
    return f'<td data-sort="{_e(name)}">{_e(name)}{badge}</td>'


def _metric_td(metric: str, direction) -> str:
    """The metric name with ``↑``/``↓`` (sorting on the name alone)."""
    if direction not in ("higher", "lower"):
        return f"<td>{_e(metric)}</td>"
    return (f'<td data-sort="{_e(metric)}">{_e(metric)} <span class="dir" title="{_e(direction)} is better">'
            f"{arrow(direction)}</span></td>")


def _aggregate_table(agg: pd.DataFrame, tid: str, provenances) -> str:
    """Rows in the frame's order (per metric, IQM best first); the rank interval leads, the shared rank is kept."""
    head = ('<tr><th data-type="text">metric</th><th data-type="num">rank interval</th><th data-type="text">model</th>'
            '<th data-type="num">IQM</th><th data-type="num">95% CI</th><th data-type="text">tied with</th>'
            '<th data-type="num">shared rank</th><th data-type="num">datasets</th><th data-type="num">runs</th></tr>')
    rows = []
    prev = None
    for metric, mdf in agg.groupby("metric", sort=True):
        scale = _scale(mdf)
        for r in mdf.itertuples():
            cls = ' class="group-start"' if prev is not None and prev != metric else ""
            prev = metric
            rank_txt, rank_key = _num(r.rank)
            if r.rank_low is None or r.rank_low is pd.NA:
                rint = '<td class="num rank" data-sort="">—</td>'
            else:  # sorts by the best rank, then the worst (1–2 before 1–3)
                rint = (f'<td class="num rank" data-sort="{int(r.rank_low) + int(r.rank_high) / 1000:.3f}">'
                        f"{int(r.rank_low)}–{int(r.rank_high)}</td>")
            ci_txt = "—" if _num(r.ci_low)[0] == "—" else f"[{_num(r.ci_low)[0]}, {_num(r.ci_high)[0]}]"
            runs_badge = (f' <span class="badge warn" title="fewer than {MIN_SEEDS} seeds on some dataset">'
                          f'min {r.min_seeds} seeds</span>') if r.few_seeds else ""
            ds_badge = "" if r.complete else ' <span class="badge warn" title="not on every dataset: not ranked">incomplete</span>'
            rows.append(
                f"<tr{cls}>{_metric_td(metric, getattr(r, 'direction', None))}{rint}"
                f"{_model_cell(r.model, provenances)}{_td_num(r.iqm)}"
                f'<td class="num" data-sort="{_e(_num(r.ci_low)[1])}">{_e(ci_txt)}'
                f"{_ci_widget(r.ci_low, r.ci_high, r.iqm, scale)}</td>"
                f"<td>{_e(', '.join(r.tied_with) if r.tied_with else '—')}</td>"
                f'<td class="num" data-sort="{_e(rank_key)}">{_e(rank_txt)}</td>'
                f'<td class="num" data-sort="{int(r.n_datasets)}">{int(r.n_datasets)}{ds_badge}</td>'
                f'<td class="num" data-sort="{int(r.n_runs)}">{int(r.n_runs)}{runs_badge}</td></tr>')
    return f'<table class="sortable" id="{tid}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _summary_table(summ: pd.DataFrame, tid: str, provenances) -> str:
    head = ('<tr><th data-type="text">metric</th><th data-type="text">dataset</th><th data-type="text">model</th>'
            '<th data-type="num">IQM</th><th data-type="num">95% CI</th><th data-type="num">mean</th>'
            '<th data-type="num">seeds</th><th data-type="num">failed</th><th data-type="text">version</th></tr>')
    rows = []
    prev = None
    for (metric, dataset), cdf in summ.groupby(["metric", "dataset"], sort=True):
        scale = _scale(cdf)
        for r in cdf.itertuples():
            cls = ' class="group-start"' if prev is not None and prev != (metric, dataset) else ""
            prev = (metric, dataset)
            ci_txt = "—" if _num(r.ci_low)[0] == "—" else f"[{_num(r.ci_low)[0]}, {_num(r.ci_high)[0]}]"
            seeds_badge = (f' <span class="badge warn" title="fewer than {MIN_SEEDS} seeds: the interval is not '
                           f'reliable">&lt;{MIN_SEEDS}</span>') if r.few_seeds else ""
            failed = (f'<span class="badge failed">{int(r.n_failed)}</span>' if r.n_failed else "0")
            version = f"metric v{r.metric_version} · data {str(r.dataset_hash).split(':')[-1][:10]}"
            rows.append(
                f"<tr{cls}>{_metric_td(metric, getattr(r, 'direction', None))}<td>{_e(dataset)}</td>"
                f"{_model_cell(r.model, provenances)}"
                f"{_td_num(r.iqm)}"
                f'<td class="num" data-sort="{_e(_num(r.ci_low)[1])}">{_e(ci_txt)}'
                f"{_ci_widget(r.ci_low, r.ci_high, r.iqm, scale)}</td>"
                f"{_td_num(r.mean)}"
                f'<td class="num" data-sort="{int(r.n_seeds)}">{int(r.n_seeds)}{seeds_badge}</td>'
                f'<td class="num" data-sort="{int(r.n_failed)}">{failed}</td>'
                f'<td class="muted" title="{_e(r.metric_params)}">{_e(version)}</td></tr>')
    return f'<table class="sortable" id="{tid}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _records_table(records: list[Record], labels: dict[str, str], tid: str) -> str:
    head = ('<tr><th data-type="text">model</th><th data-type="text">dataset</th><th data-type="text">metric</th>'
            '<th data-type="num">train seed</th><th data-type="num">eval seed</th><th data-type="num">value</th>'
            '<th data-type="text">status</th><th data-type="text">provenance</th><th data-type="text">created</th>'
            '<th data-type="text">details</th></tr>')
    rows = []
    order = lambda r: (r.metric, r.dataset, labels.get(r.record_id, r.model), r.train_seed, r.eval_seed)  # noqa: E731
    for r in sorted(records, key=order):
        d = r.to_dict()
        detail = json.dumps({"record_id": d["record_id"], "identity": d["identity"], "provenance": r.provenance,
                             "status": r.status, "error": r.error, "environment": r.environment,
                             "timing": r.timing, "components": r.components}, indent=1, ensure_ascii=False)
        text = " ".join([r.model, r.dataset, r.metric, r.status, r.provenance, r.record_id]).lower()
        status = f'<span class="badge {_e(r.status)}">{_e(r.status)}</span>'
        if r.error:
            status += f' <span class="muted" title="{_e(r.error)}">{_e(r.error[:60])}</span>'
        rows.append(
            f'<tr data-text="{_e(text)}"><td>{_e(labels.get(r.record_id, r.model))}</td><td>{_e(r.dataset)}</td>'
            f"<td>{_e(r.metric)}</td>{_td_num(r.train_seed)}{_td_num(r.eval_seed)}{_td_num(r.value, 4)}"
            f'<td data-sort="{_e(r.status)}">{status}</td><td>{_e(r.provenance)}</td>'
            f'<td class="muted" data-sort="{_e(r.created_at)}">{_e(r.created_at[:19].replace("T", " "))}</td>'
            f"<td><details><summary>provenance</summary><pre>{_e(detail)}</pre></details></td></tr>")
    return f'<table class="sortable records" id="{tid}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _claim_badge(status: str) -> str:
    return f'<span class="badge claim-{_e(status.replace(" ", "-"))}">{_e(status)}</span>'


def _claims_table(verdicts: Sequence[Verdict], tid: str) -> str:
    """One row per claim: status badge, description (and why), source, per-dataset P(A better) and seeds
    (for a value claim: the mean of the runs with its interval, and seeds)."""
    conf = _percent(verdicts[0].confidence) if verdicts[0].confidence else "95%"
    what = "P(A better)"
    if any(isinstance(v.claim, ValueClaim) for v in verdicts):
        what = "P(A better) or, for a value claim, the mean" if any(
            not isinstance(v.claim, ValueClaim) for v in verdicts) else "mean"
    head = ('<tr><th>status</th><th>claim</th><th>source</th>'
            f"<th>per dataset: {_e(what)} [{_e(conf)} CI], seeds{'' if what == 'mean' else ' A vs B'}</th></tr>")
    rows = []
    for v in verdicts:
        items = []
        for d in v.datasets:
            if isinstance(v.claim, ValueClaim):
                stat = "" if d.n_a == 0 else f" {_mean_text(d.mean, d.ci_low, d.ci_high)}, seeds {d.n_a}"
            elif d.p_improve is None:
                stat = ""
            elif d.ci_low is None:
                stat = f" P(A better) {d.p_improve:.2f} (no interval), seeds {d.n_a} vs {d.n_b}"
            else:
                stat = f" P(A better) {d.p_improve:.2f} [{d.ci_low:.2f}, {d.ci_high:.2f}], seeds {d.n_a} vs {d.n_b}"
            note = "" if d.ci_low is not None else f' <span class="muted">{_e(d.reason)}</span>'
            items.append(f"<li>{_claim_badge(d.status)} {_e(d.dataset)}:{_e(stat)}{note}</li>")
        per_ds = f'<ul>{"".join(items)}</ul>' if items else f'<span class="muted">{_e(v.reason)}</span>'
        rows.append(f"<tr><td>{_claim_badge(v.status)}</td><td>{_e(v.describe())}"
                    f'<div class="muted">{_e(v.reason)}</div></td>'
                    f"<td>{_e(v.claim.source) if v.claim.source else '—'}</td><td>{per_ds}</td></tr>")
    return f'<table class="claims" id="{tid}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _check_verdicts(verdicts, keys) -> dict[tuple[str, str, str], list[Verdict]]:
    if verdicts is None:
        return {}
    if not isinstance(verdicts, Mapping):
        raise TypeError(f"verdicts must be a mapping of (suite, protocol_version, profile) to a list of "
                        f"leaderboard.Verdict; got {type(verdicts).__name__}.")
    out = {}
    for key, vs in verdicts.items():
        if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key)):
            raise TypeError(f"verdicts keys must be (suite, protocol_version, profile) tuples of str; got {key!r}.")
        if key not in keys:
            raise ValueError(f"verdicts key {key!r} matches no section of the page; sections: {sorted(keys)}.")
        if isinstance(vs, Verdict) or not isinstance(vs, Iterable) or not all(isinstance(v, Verdict) for v in vs):
            raise TypeError(f"verdicts[{key!r}] must be a list of leaderboard.Verdict (from check_claims); "
                            f"got {type(vs).__name__}.")
        out[key] = list(vs)
    return out


def render_html(records: Iterable[Record], *, title: str = "Disentanglement benchmark leaderboard",
                seed: int = 0, reps: int = 10_000, plot_reps: int = 2_000, release: dict | None = None,
                source: str | None = None, figures: bool = True,
                directions: Mapping[str, str] | None = None,
                verdicts: Mapping[tuple[str, str, str], Sequence[Verdict]] | None = None) -> str:
    """The page as a string. ``records`` may span several protocol versions: one section each.

    Parameters
    ----------
    records : iterable of Record
    title : str
    seed, reps : bootstrap seed and replicates for the tables (recorded on the page).
    plot_reps : bootstrap replicates for the performance-profile bands.
    release : dict, optional
        ``Store.release`` info shown in the header when the page shows a release.
    source : str, optional
        Where the records came from (store path), shown in the header.
    figures : bool, default True
    directions : mapping of metric name to {"higher", "lower"}, optional
        Which way is better, for the tables' order and the figures (default:
        :func:`leaderboard.direction_of`).
    verdicts : mapping of (suite, protocol_version, profile) to list of Verdict, optional
        :func:`leaderboard.check_claims` output per section; a section whose key has verdicts
        shows a "Claims" table right after its heading. Every key must name a section.
    """
    recs = list(records)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in recs:
        groups.setdefault((r.suite, r.protocol_version, r.profile), []).append(r)
    claims = _check_verdicts(verdicts, set(groups))
    meta = [f"{len(recs)} records", f"generated {now}",
            f"95% stratified bootstrap intervals, {reps} replicates, seed {seed}"]
    if release:
        meta.insert(0, f"release <b>{_e(release['name'])}</b> (created {_e(release['created_at'][:19])}, "
                       f"record-id hash {_e(release['record_ids_sha256'][:12])})")
    if source:
        meta.append(f"store <code>{_e(source)}</code>")
    nav, sections = [], []
    for k, key in enumerate(sorted(groups)):
        suite, proto, profile = key
        grp = groups[key]
        frame = _add_labels(records_to_frame(grp))
        labels = dict(zip(frame["record_id"], frame["model_label"]))
        provenances: dict[str, set[str]] = {}
        for lab, prov in zip(frame["model_label"], frame["provenance"]):
            provenances.setdefault(lab, set()).add(prov)
        summ = summarize(grp, seed=seed, reps=reps, directions=directions)
        agg = aggregate_across_datasets(grp, seed=seed, reps=reps, directions=directions)
        sid = f"v{k}"
        nav.append(f'<a href="#{sid}">{_e(suite)} · protocol {_e(proto)} · {_e(profile)}</a>')
        figs_html = ""
        if figures:
            items = []
            for kind, metric, fig in all_figures(grp, seed=seed, reps=plot_reps, agg=agg, directions=directions):
                b64 = base64.b64encode(figure_png(fig)).decode("ascii")
                cap = {"intervals": f"{metric}: IQM with 95% interval per method, best first (labels: rank interval, "
                                    f"shared rank)",
                       "profile": f"{metric}: performance profile with 95% bands",
                       "info-plane": "InfoM vs InfoC per method (IQM, 95% intervals)"}[kind]
                items.append(f'<figure><img alt="{_e(cap)}" src="data:image/png;base64,{b64}">'
                             f"<figcaption>{_e(cap)}</figcaption></figure>")
            figs_html = f'<h3>Figures</h3><div class="figs">{"".join(items)}</div>' if items else ""
        claims_html = ""
        if claims.get(key):
            claims_html = (
                '<h3>Claims</h3><p class="howto">What the papers claim, checked against these records. On each '
                "dataset, a claim <b>holds</b> when the bootstrap interval of P(A better than B) (in the metric's "
                "direction) lies above 0.5, is <b>contradicted</b> when it lies below 0.5, and is <b>not shown</b> "
                "otherwise or with too few seeds; <b>not run</b>: A or B has no successful run there. A claim holds "
                "only if it holds on every dataset."
                + (" A value claim (a model's metric within bounds) holds when the bootstrap interval of the mean "
                   "of its runs lies inside the bounds, and is contradicted when it lies entirely outside them."
                   if any(isinstance(v.claim, ValueClaim) for v in claims[key]) else "")
                + "</p>" + _claims_table(claims[key], f"claims-{sid}"))
        n_models = len(set(frame["model_label"]))
        n_data = len(set(frame["dataset_label"]))
        sections.append(
            f'<section class="version" id="{sid}"><h2>{_e(suite)} <span class="tag">protocol {_e(proto)} · profile '
            f"{_e(profile)} · {n_models} methods · {n_data} datasets · {len(grp)} records</span></h2>"
            + claims_html
            + '<h3>Ranking across datasets</h3><p class="howto">Per metric, the interquartile mean (IQM) over all '
            "training seeds of all datasets, with a 95% stratified bootstrap interval (seeds resampled within each "
            "dataset). A method's rank is one plus the number of methods whose interval lies entirely on the "
            "better side of its own (above it; below it for metrics marked ↓, where lower is better), so methods "
            "whose intervals overlap share a rank; the rank interval is the 95% bootstrap interval "
            "of its rank. Rows are sorted by IQM, best first, and lead with the rank interval: overlapping rank "
            "intervals (1–2 above 1–3) mark methods that cannot be told apart. The shared rank is its own column; "
            "it follows the intervals' ends, not the IQM, so a method with a wide interval can share rank 1 below "
            "a rank-2 method with a higher IQM. Methods not run on every dataset are not ranked and come last. "
            f"Fewer than {MIN_SEEDS} seeds are flagged. Metrics are never averaged together.</p>"
            + _aggregate_table(agg, f"agg-{sid}", provenances)
            + '<h3>Per dataset</h3><p class="howto">Per method, dataset and metric: IQM and mean over training '
            "seeds (eval seeds of one run averaged first), 95% bootstrap interval of the IQM, failed runs "
            "counted.</p>"
            + _summary_table(summ, f"cells-{sid}", provenances)
            + figs_html
            + f'<h3>Records</h3><p class="howto">Every stored result; open "provenance" for its identity, '
            f"environment (package versions, git commit, hardware), timing and components.</p>"
            f'<input class="filter" type="search" placeholder="filter records (model, dataset, metric, id)" '
            f'data-table="records-{sid}">'
            + _records_table(grp, labels, f"records-{sid}") + "</section>")
    body = "".join(sections) if sections else '<p class="howto">No records yet.</p>'
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<header><h1>{_e(title)}</h1><p class="meta">{" · ".join(meta)}</p>'
        f'<nav>{"".join(nav)}</nav></header><main>{body}</main>'
        "<footer>Built by <code>python -m benchmark leaderboard html</code>. Statistics after Agarwal et al. (2021), "
        "Deep RL at the Edge of the Statistical Precipice, NeurIPS (arXiv:2108.13264). Tables are regenerated from "
        "the records; nothing here is edited by hand.</footer>"
        f"<script>{_JS}</script></body></html>\n")


def write_html(path: str | os.PathLike[str], records: Iterable[Record], **kwargs) -> Path:
    """Write :func:`render_html` to ``path`` (folders created; written to a temporary file, then renamed)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--out {str(p)!r} is a folder; expected a file name such as {str(p / 'leaderboard.html')!r}.")
    p.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(records, **kwargs)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p
