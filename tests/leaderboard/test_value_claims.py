"""Value claims ("A's metric lies in [low, high]") and claims across two metrics (Claim.baseline_metric)."""

from __future__ import annotations

import functools
import html as _html
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

import leaderboard as lb
from leaderboard import Claim, ValueClaim, check_claims, format_verdicts, verdicts_frame
from leaderboard.aggregate import aggregate_iqm
from leaderboard.bootstrap import rng_for, stratified_bootstrap
from leaderboard.claims import _claim_status
from leaderboard.html import render_html

SRC = "Chen et al. 2021, Table 4"
SMALL = [0.02, 0.03, 0.04, 0.025, 0.035]      # all inside [0.02, 0.04]: "above 0" holds
NEAR_80 = [80.1, 79.8, 80.4, 79.9, 80.2]       # far above [74.7, 75.1]
STRADDLE = [-0.02, -0.01, 0.0, 0.01, 0.02, 0.03]  # around 0
OLD_OUT = ["claim", "claim_status", "claim_reason", "model", "baseline", "metric", "direction", "source", "dataset",
           "status", "n_a", "n_b", "iqm_a", "iqm_b", "iqm_diff", "diff_low", "diff_high", "p_improve", "ci_low",
           "ci_high", "reason", "bootstrap_seed", "reps", "confidence", "min_seeds"]


@pytest.fixture
def runs(runs):
    """conftest's ``runs`` with this file's defaults: dataset 'twin', metric 'accuracy_drop'."""
    return functools.partial(runs, dataset="twin", metric="accuracy_drop")


def one(records, claim, **kw):
    kw.setdefault("reps", 2000)
    [v] = check_claims(records, [claim], **kw)
    return v


# --- ValueClaim: the four statuses ---------------------------------------------------------------------------------

def test_values_clearly_above_a_lower_bound_hold(runs):
    v = one(runs("ce", SMALL), ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0, source=SRC))
    d = v.datasets[0]
    assert v.status == d.status == "holds" and v.direction is None and v.reason == "holds on twin"
    assert (d.dataset, d.n_a, d.n_b) == ("twin", 5, 0)
    assert d.mean == pytest.approx(np.mean(SMALL)) and d.iqm_a == pytest.approx(aggregate_iqm(SMALL))
    assert (d.iqm_b, d.iqm_diff, d.diff_low, d.diff_high, d.p_improve) == (None,) * 5
    # a bootstrap mean never leaves the range of the data, and the interval holds its point
    assert min(SMALL) <= d.ci_low <= d.mean <= d.ci_high <= max(SMALL) and d.ci_low > 0
    assert d.reason.startswith("mean 0.030 [") and d.reason.endswith("] > 0")


def test_identical_values_give_a_point_interval_and_bounds_are_inclusive(runs):
    v = one(runs("nc", [75.0] * 3, metric="test_acc"), ValueClaim("nc", "test_acc", ("twin",), low=74.7, high=75.1))
    d = v.datasets[0]
    assert (d.status, d.ci_low, d.ci_high) == ("holds", 75.0, 75.0)
    assert d.reason == "mean 75.000 [75.000, 75.000] within [74.7, 75.1]"
    assert one(runs("m", [0.5] * 4), ValueClaim("m", "accuracy_drop", ("twin",), low=0.5)).status == "holds"
    assert one(runs("m", [0.5] * 4), ValueClaim("m", "accuracy_drop", ("twin",), high=0.5)).status == "holds"
    assert one(runs("m", [0.5] * 4), ValueClaim("m", "accuracy_drop", ("twin",), low=0.5, high=0.5)).status == "holds"


def test_values_far_from_a_published_spread_are_contradicted(runs):
    v = one(runs("nc", NEAR_80, metric="test_acc"), ValueClaim("nc", "test_acc", ("twin",), low=74.7, high=75.1))
    d = v.datasets[0]
    assert v.status == d.status == "contradicted" and v.reason == "contradicted on twin"
    assert d.ci_low > 75.1 and d.reason.startswith("mean 80.08 [") and d.reason.endswith("] outside [74.7, 75.1]")
    below = one(runs("nc", [v - 10 for v in NEAR_80], metric="test_acc"),
                ValueClaim("nc", "test_acc", ("twin",), low=74.7, high=75.1))
    assert below.status == "contradicted" and below.datasets[0].ci_high < 74.7
    neg = one(runs("ce", [-x for x in SMALL]), ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0)).datasets[0]
    assert neg.status == "contradicted" and neg.ci_high < 0 and neg.reason.endswith("] < 0")
    over = one(runs("x", [4.0, 4.2, 4.1]), ValueClaim("x", "accuracy_drop", ("twin",), high=3)).datasets[0]
    assert over.status == "contradicted" and over.reason.endswith("] > 3")


def test_an_interval_across_a_bound_is_not_shown(runs):
    d = one(runs("ce", STRADDLE), ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0)).datasets[0]
    assert d.status == "not shown" and d.ci_low < 0 < d.ci_high and d.reason.endswith("] includes 0")
    near = [74.2, 74.6, 75.0, 75.4, 75.3]
    c2 = ValueClaim("nc", "test_acc", ("twin",), low=74.7, high=75.1)
    d2 = one(runs("nc", near, metric="test_acc"), c2).datasets[0]
    assert d2.status == "not shown" and d2.reason.endswith("] partly outside [74.7, 75.1]")
    # two seeds 0 and 1: the bootstrap means are 0, 0.5, 1 (1/4, 1/2, 1/4), so the 95 % interval is [0, 1]
    d3 = one(runs("m", [0.0, 1.0]), ValueClaim("m", "accuracy_drop", ("twin",), low=0.2)).datasets[0]
    assert (d3.status, d3.ci_low, d3.ci_high, d3.mean) == ("not shown", 0.0, 1.0, 0.5)
    assert d3.reason == "mean 0.5 [0.0, 1.0] includes 0.2"


def test_too_few_seeds_is_not_shown_with_the_count(runs):
    v = one(runs("ce", SMALL[:1]), ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0))
    d = v.datasets[0]
    assert v.status == d.status == "not shown" and d.reason == "1 seed of ce: at least 2 needed"
    assert d.ci_low is None and d.ci_high is None and d.n_a == 1 and d.mean == pytest.approx(SMALL[0])
    two = one(runs("ce", SMALL[:2]), ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0), min_seeds=3)
    assert two.datasets[0].reason == "2 seeds of ce: at least 3 needed"


def test_no_successful_run_is_not_run(runs):
    c = ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0)
    v = one(runs("other", SMALL), c)
    d = v.datasets[0]
    assert v.status == d.status == "not run" and v.reason == "not run on twin"
    assert d.reason == "model ce has no successful records for accuracy_drop on twin"
    assert (d.n_a, d.n_b, d.iqm_a, d.mean, d.ci_low) == (0, 0, None, None, None)
    failed = [r.replace(status="failed", value=None, error="RuntimeError: boom") for r in runs("ce", SMALL)]
    assert one(runs("other", SMALL) + failed, c).status == "not run"  # only ok records count
    assert one(runs("ce", SMALL, metric="test_acc"), c).status == "not run"  # another metric
    assert one(runs("ce", SMALL, dataset="cifar10"), c).status == "not run"  # another dataset


def test_datasets_combine_like_claims(runs):
    recs = runs("ce", SMALL) + runs("ce", STRADDLE, dataset="sym")
    v = one(recs, ValueClaim("ce", "accuracy_drop", ("twin", "sym"), low=0.0))
    assert [d.status for d in v.datasets] == ["holds", "not shown"]
    assert (v.status, v.reason) == ("not shown", "not shown on sym; holds on twin")
    assert one(recs, ValueClaim("ce", "accuracy_drop", ("twin", "sym", "asym"), low=0.0)).status == "not run"
    none = one(recs, ValueClaim("ce", "accuracy_drop", (), low=0.0))
    assert none.status == "not run" and "list at least one in ValueClaim.datasets" in none.reason
    assert _claim_status(ValueClaim("a", "m", (), low=0), ())[1].endswith("ValueClaim.datasets")


# --- randomness ----------------------------------------------------------------------------------------------------

def test_same_seed_same_interval_and_other_claims_move_nothing(runs):
    recs = runs("ce", STRADDLE) + runs("nc", NEAR_80, metric="test_acc") + runs("ce", SMALL, metric="test_acc")
    c = ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0)
    first = check_claims(recs, [c], seed=3, reps=500)
    assert check_claims(recs, [c], seed=3, reps=500) == first
    others = [ValueClaim("nc", "test_acc", ("twin",), low=74.7, high=75.1), Claim("nc", "ce", "test_acc", ("twin",)),
              ValueClaim("ce", "accuracy_drop", ("twin",), low=-1.0)]
    assert check_claims(recs, [*others, c], seed=3, reps=500)[-1] == first[0]
    d, d4 = first[0].datasets[0], one(recs, c, seed=4, reps=500).datasets[0]
    assert (d.ci_low, d.ci_high) != (d4.ci_low, d4.ci_high) and d.mean == d4.mean
    # the documented generator: rng_for(seed, "value-claim", model, metric, dataset, str(low), str(high))
    g = rng_for(3, "value-claim", "ce", "accuracy_drop", "twin", "0.0", "None")
    expected = stratified_bootstrap(np.array(STRADDLE)[:, None], "mean", reps=500, confidence=0.95, rng=g)
    assert (d.mean, d.ci_low, d.ci_high) == pytest.approx(expected, abs=0)


# --- Claim.baseline_metric -----------------------------------------------------------------------------------------

BEST = [80.1, 80.5, 79.9, 80.3, 80.2]
LAST = [60.2, 61.0, 59.8, 60.5, 60.1]


def test_a_claim_across_two_metrics_reads_the_baseline_metric(runs):
    recs = (runs("coteaching", BEST, metric="test_acc") + runs("ce", LAST, metric="test_acc_last")
            + runs("ce", [90.0, 91.0, 92.0], metric="test_acc"))  # CE's best-epoch accuracy is higher still
    c = Claim("coteaching", "ce", "test_acc", ("twin",), baseline_metric="test_acc_last")
    v = one(recs, c)
    d = v.datasets[0]
    assert v.status == "holds" and v.direction == "higher" and (d.n_a, d.n_b) == (5, 5)
    assert d.iqm_b == pytest.approx(aggregate_iqm(LAST)) and d.p_improve == pytest.approx(1.0)
    assert v.describe() == "coteaching test_acc better than ce test_acc_last (higher is better)"
    assert one(recs, Claim("coteaching", "ce", "test_acc", ("twin",))).status == "contradicted"  # same metric
    reverse = Claim("ce", "coteaching", "test_acc_last", ("twin",), baseline_metric="test_acc")
    assert one(recs, reverse).status == "contradicted"


def test_one_models_two_metrics(runs):
    recs = runs("ce", BEST, metric="test_acc") + runs("ce", LAST, metric="test_acc_last")
    v = one(recs, Claim("ce", "ce", "test_acc", ("twin",), baseline_metric="test_acc_last"))
    d = v.datasets[0]
    assert v.status == d.status == "holds" and (d.n_a, d.n_b) == (5, 5)
    assert d.iqm_a == pytest.approx(aggregate_iqm(BEST)) and d.iqm_b == pytest.approx(aggregate_iqm(LAST))
    assert one(recs, Claim("ce", "ce", "test_acc_last", ("twin",), baseline_metric="test_acc")).status == "contradicted"
    few = one(runs("ce", BEST, metric="test_acc") + runs("ce", LAST[:1], metric="test_acc_last"),
              Claim("ce", "ce", "test_acc", ("twin",), baseline_metric="test_acc_last")).datasets[0]
    assert few.status == "not shown" and few.reason == "1 seed of ce test_acc_last: at least 2 needed"
    missing = one(runs("ce", BEST, metric="test_acc"),
                  Claim("ce", "ce", "test_acc", ("twin",), baseline_metric="test_acc_last")).datasets[0]
    assert missing.status == "not run"
    assert missing.reason == "baseline ce has no successful records for test_acc_last on twin"


def test_the_direction_is_that_of_metric(runs):
    # "loss" is lower-is-better by name, "score" higher: A's loss below B's score holds in the lower direction
    recs = runs("a", [0.1, 0.2, 0.15], metric="loss") + runs("b", [0.8, 0.9, 0.85], metric="score")
    v = one(recs, Claim("a", "b", "loss", ("twin",), baseline_metric="score"))
    assert v.status == "holds" and v.direction == "lower"
    assert v.describe() == "a loss better than b score (lower is better)"


def test_baseline_metric_validation_and_position():
    assert Claim("a", "b", "m", ("d",), "src", "higher", "m2").baseline_metric == "m2"
    assert Claim("a", "b", "m", ("d",)).baseline_metric is None
    with pytest.raises(ValueError, match="Claim.model and Claim.baseline must differ; got 'ce' twice"):
        Claim("ce", "ce", "test_acc", ("twin",))
    with pytest.raises(ValueError, match="must differ; got 'ce' twice .*set Claim.baseline_metric"):
        Claim("ce", "ce", "test_acc", ("twin",), baseline_metric="test_acc")
    with pytest.raises(ValueError, match=r"Claim.baseline_metric must be a non-empty string; got ''"):
        Claim("a", "b", "m", ("d",), baseline_metric="")
    with pytest.raises(TypeError, match=r"Claim.baseline_metric must be a non-empty string; got int 3"):
        Claim("a", "b", "m", ("d",), baseline_metric=3)


# --- ValueClaim: description and validation ------------------------------------------------------------------------

def test_describe():
    assert ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0).describe() == "ce accuracy_drop above 0"
    assert (ValueClaim("nested_coteaching", "test_acc", ("clothing1m",), low=74.7, high=75.1).describe()
            == "nested_coteaching test_acc within [74.7, 75.1]")
    assert ValueClaim("x", "metric", ("d",), high=3).describe() == "x metric below 3"
    assert ValueClaim("x", "metric", ("d",), high=1e-5).describe("higher") == "x metric below 1e-05"
    assert ValueClaim("x", "metric", ("d",), low=0.1 + 0.2).describe() == "x metric above 0.30000000000000004"


def test_value_claim_validation():
    with pytest.raises(ValueError, match=r"ValueClaim needs at least one bound; got low=None and high=None"):
        ValueClaim("ce", "accuracy_drop", ("twin",))
    with pytest.raises(ValueError, match=r"ValueClaim.low must be <= ValueClaim.high; got low=75.1, high=74.7\."):
        ValueClaim("nc", "test_acc", ("c1m",), low=75.1, high=74.7)
    with pytest.raises(ValueError, match=r"ValueClaim.low must be a finite number; got nan\."):
        ValueClaim("nc", "test_acc", ("c1m",), low=math.nan)
    with pytest.raises(ValueError, match=r"ValueClaim.high must be a finite number; got inf\."):
        ValueClaim("nc", "test_acc", ("c1m",), high=math.inf)
    with pytest.raises(TypeError, match=r"ValueClaim.low must be a number or None; got str '0'"):
        ValueClaim("nc", "test_acc", ("c1m",), low="0")
    with pytest.raises(TypeError, match=r"ValueClaim.high must be a number or None; got bool True"):
        ValueClaim("nc", "test_acc", ("c1m",), high=True)
    with pytest.raises(TypeError, match=r"ValueClaim.datasets must be a sequence of dataset names; got the string "
                                        r"'twin' \(write \('twin',\) for one dataset\)"):
        ValueClaim("ce", "accuracy_drop", "twin", low=0.0)
    with pytest.raises(ValueError, match=r"ValueClaim.datasets must list each dataset once; got 'twin'"):
        ValueClaim("ce", "accuracy_drop", ["twin", "twin"], low=0.0)
    with pytest.raises(ValueError, match=r"ValueClaim.metric must be a non-empty string; got ''"):
        ValueClaim("ce", "", ("twin",), low=0.0)
    with pytest.raises(TypeError, match=r"ValueClaim.source must be a string; got int"):
        ValueClaim("ce", "m", ("twin",), low=0.0, source=1)
    c = ValueClaim("ce", "m", ["a", "b"], low=0, high=np.float32(2))
    assert c.datasets == ("a", "b") and (c.low, c.high) == (0.0, 2.0) and type(c.low) is float
    assert ValueClaim("ce", "m", ("a",), low=1.5, high=1.5).low == 1.5  # a point is allowed


def test_check_claims_type_errors_name_both_kinds(runs):
    recs = runs("ce", SMALL)
    c = ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0)
    with pytest.raises(TypeError, match=r"claims must be a list of leaderboard.Claim; got ValueClaim \(wrap a "
                                        r"single claim in a list\)\. Entries may be leaderboard.Claim or "
                                        r"leaderboard.ValueClaim"):
        check_claims(recs, c)
    with pytest.raises(TypeError, match=r"got an entry of type str\. Entries may be .*leaderboard.ValueClaim"):
        check_claims(recs, [c, "ce > 0"])


# --- frame, text, page ---------------------------------------------------------------------------------------------

def _mixed(runs):
    recs = (runs("ce", SMALL) + runs("coteaching", BEST, metric="test_acc") + runs("ce", LAST, metric="test_acc_last")
            + runs("ce", LAST, metric="test_acc"))
    claims = [ValueClaim("ce", "accuracy_drop", ("twin",), low=0.0, source=SRC),
              Claim("coteaching", "ce", "test_acc", ("twin",), baseline_metric="test_acc_last"),
              ValueClaim("coteaching", "test_acc", ("twin", "sym"), low=74.7, high=75.1),
              Claim("coteaching", "ce", "test_acc", ("twin",), SRC)]
    return check_claims(recs, claims, reps=500)


def test_verdicts_frame_columns(runs):
    verdicts = _mixed(runs)
    assert [v.status for v in verdicts] == ["holds", "holds", "not run", "holds"]
    df = verdicts_frame(verdicts)
    assert list(df.columns) == OLD_OUT + ["low", "high", "baseline_metric", "mean"]
    assert len(df) == 5
    r0, r1, r2, r4 = df.loc[0], df.loc[1], df.loc[2], df.loc[4]
    assert (r0["model"], r0["metric"], r0["n_b"]) == ("ce", "accuracy_drop", 0)
    assert r0["claim"] == "ce accuracy_drop above 0"
    assert pd.isna(r0["baseline"]) and pd.isna(r0["direction"]) and pd.isna(r0["p_improve"]) and pd.isna(r0["iqm_b"])
    assert r0["low"] == 0.0 and pd.isna(r0["high"]) and pd.isna(r0["baseline_metric"])
    assert r0["mean"] == pytest.approx(np.mean(SMALL)) and r0["ci_low"] <= r0["mean"] <= r0["ci_high"]
    assert r1["baseline"] == "ce" and r1["baseline_metric"] == "test_acc_last" and r1["direction"] == "higher"
    assert pd.isna(r1["low"]) and pd.isna(r1["high"]) and pd.isna(r1["mean"])
    assert (r2["low"], r2["high"], r2["dataset"]) == (74.7, 75.1, "twin")
    assert pd.isna(r4["baseline_metric"]) and r4["baseline"] == "ce"
    assert df["low"].dtype == df["high"].dtype == df["mean"].dtype == np.float64


def test_format_verdicts_renders_a_mix_in_every_format(runs):
    verdicts = _mixed(runs)
    d = verdicts[0].datasets[0]
    text = format_verdicts(verdicts)
    lines = text.splitlines()
    assert lines[0].startswith("holds ") and lines[0].endswith(f"ce accuracy_drop above 0  ({SRC})")
    interval = f"[{d.ci_low:.3f}, {d.ci_high:.3f}]"
    assert lines[1] == f"    twin  holds         mean {d.mean:.3f} {interval}  seeds 5  > 0"
    assert "coteaching test_acc better than ce test_acc_last (higher is better)" in text
    e = verdicts[2].datasets[0]
    assert f"    twin  contradicted  mean {e.mean:.2f} [{e.ci_low:.2f}, {e.ci_high:.2f}]  seeds 5  outside [74.7, 75.1]" \
        in lines
    assert "sym   not run       mean —  seeds 0  model coteaching has no successful records for test_acc on sym" \
        in text
    assert "Value claims: the mean of the runs" in text and lines[-1].startswith("holds: P(A better)")
    only_values = format_verdicts(verdicts[:1]).splitlines()
    assert only_values[-1].startswith("value claims: holds:") and "P(A better)" not in "\n".join(only_values)
    md = format_verdicts(verdicts, "markdown").splitlines()
    assert len(md) == 2 + 5 and md[2].startswith("| holds | ce accuracy_drop above 0 | " + SRC + " | twin | holds |")
    assert f"| — | — | {interval} | 5 | — | mean {d.mean:.3f} {interval} > 0 |" in md[2]
    frame = verdicts_frame(verdicts)
    back = pd.read_csv(io.StringIO(format_verdicts(verdicts, "csv")))
    assert list(back.columns) == list(frame.columns) and len(back) == 5
    assert back["low"].to_numpy() == pytest.approx(frame["low"].to_numpy(), nan_ok=True)
    js = json.loads(format_verdicts(verdicts, "json"))
    assert js["rows"][0]["low"] == 0.0 and js["rows"][0]["high"] is None and js["rows"][0]["baseline"] is None
    assert js["rows"][0]["ci_low"] == pytest.approx(d.ci_low) and js["rows"][1]["baseline_metric"] == "test_acc_last"


def test_html_page_shows_value_claims(synth):
    recs = synth()
    key = ("disentanglement", "2026.1", "smoke")
    claims = [lb.ValueClaim("qlae", "mig", ("dsprites-procedural",), low=0.4, source="<b>paper</b>"),
              lb.ValueClaim("qlae", "mig", ("dsprites-procedural",), high=0.5),
              lb.ValueClaim("nobody", "mig", ("dsprites-procedural",), low=0.0),
              lb.Claim("qlae", "beta-vae", "mig", ("dsprites-procedural",))]
    verdicts = lb.check_claims(recs, claims, reps=300)
    assert [v.status for v in verdicts] == ["holds", "contradicted", "not run", "holds"]
    page = render_html(recs, reps=100, figures=False, verdicts={key: verdicts})
    start = page.index('<table class="claims"')
    table = page[start:page.index("</table>", start)]
    assert table.count("<tr>") == 1 + len(claims)
    assert "P(A better) or, for a value claim, the mean" in table
    for v in verdicts:
        assert f'<span class="badge claim-{v.status.replace(" ", "-")}">{v.status}</span>' in table
        assert _html.escape(v.describe()) in table
    d = verdicts[0].datasets[0]
    assert f"dsprites-procedural: mean {d.mean:.3f} [" in table and "seeds 5</li>" in table
    assert "model nobody has no successful records for mig on dsprites-procedural" in table
    assert _html.escape("<b>paper</b>") in table and "<b>paper</b>" not in table
    assert "A value claim (a model" in page and "mean of its runs lies inside the bounds" in page
    assert "A value claim" not in render_html(recs, reps=100, figures=False, verdicts={key: verdicts[3:]})
