"""Claims as data and their verdicts (leaderboard.claims): the rules of the module docstring, one by one."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import leaderboard as lb
from leaderboard import Claim, VersionMixError, check_claims, format_verdicts, verdicts_frame
from leaderboard.aggregate import aggregate_iqm
from leaderboard.claims import DatasetVerdict, _claim_status

SRC = "Hsu et al. 2023, abstract (modularity)"


GOOD = [0.80, 0.82, 0.85, 0.79, 0.83]
POOR = [0.50, 0.55, 0.52, 0.49, 0.53]
NOISE_A = [0.1, 0.3, 0.5, 0.7, 0.9]
NOISE_B = [0.2, 0.4, 0.6, 0.8, 0.45]


def one(records, claim, **kw):
    kw.setdefault("reps", 2000)
    [v] = check_claims(records, [claim], **kw)
    return v


def test_a_clearly_better_model_holds(runs):
    v = one(runs("qlae", GOOD) + runs("ae", POOR), Claim("qlae", "ae", "infom", ("d1",), SRC))
    assert v.status == "holds" and len(v.datasets) == 1
    d = v.datasets[0]
    assert (d.dataset, d.status, d.n_a, d.n_b) == ("d1", "holds", 5, 5)
    assert d.p_improve == pytest.approx(1.0) and d.ci_low == pytest.approx(1.0) and d.ci_high == pytest.approx(1.0)
    assert d.iqm_a == pytest.approx(aggregate_iqm(GOOD)) and d.iqm_b == pytest.approx(aggregate_iqm(POOR))
    assert d.iqm_diff == pytest.approx(aggregate_iqm(GOOD) - aggregate_iqm(POOR))
    assert 0 < d.diff_low <= d.iqm_diff <= d.diff_high
    assert d.reason == "P(A better) 1.00 [1.00, 1.00] > 0.5"


def test_the_reverse_is_contradicted(runs):
    v = one(runs("qlae", POOR) + runs("ae", GOOD), Claim("qlae", "ae", "infom", ("d1",)))
    d = v.datasets[0]
    assert v.status == d.status == "contradicted"
    assert d.p_improve == pytest.approx(0.0) and d.ci_high < 0.5
    assert d.diff_low <= d.iqm_diff <= d.diff_high < 0
    assert d.reason.endswith("< 0.5")


def test_overlapping_noise_is_not_shown(runs):
    v = one(runs("qlae", NOISE_A) + runs("ae", NOISE_B), Claim("qlae", "ae", "infom", ("d1",)))
    d = v.datasets[0]
    assert v.status == d.status == "not shown"
    assert d.ci_low <= 0.5 <= d.ci_high and d.ci_low <= d.p_improve <= d.ci_high
    assert d.p_improve == pytest.approx(13 / 25)  # hand count of pairs with A > B
    assert d.reason.endswith("includes 0.5")


def test_a_missing_or_failed_baseline_is_not_run(runs):
    c = Claim("qlae", "ae", "infom", ("d1",))
    v = one(runs("qlae", GOOD), c)
    d = v.datasets[0]
    assert v.status == d.status == "not run" and (d.n_a, d.n_b) == (5, 0)
    assert d.reason == "baseline ae has no successful records for infom on d1"
    assert d.p_improve is None and d.ci_low is None and d.iqm_b is None
    failed = [r.replace(status="failed", value=None, error="RuntimeError: boom") for r in runs("ae", POOR)]
    assert one(runs("qlae", GOOD) + failed, c).status == "not run"  # only ok records count
    assert one(runs("ae", POOR), c).datasets[0].reason == "model qlae has no successful records for infom on d1"
    assert one(runs("qlae", GOOD, dataset="d2") + runs("ae", POOR, dataset="d2"), c).status == "not run"


def test_one_seed_is_not_shown_and_says_how_many(runs):
    v = one(runs("qlae", GOOD[:1]) + runs("ae", POOR), Claim("qlae", "ae", "infom", ("d1",)))
    d = v.datasets[0]
    assert v.status == d.status == "not shown"
    assert d.reason == "1 seed of qlae: at least 2 needed"
    assert d.ci_low is None and d.diff_low is None and d.p_improve == pytest.approx(1.0)
    both = one(runs("qlae", GOOD[:2]) + runs("ae", POOR[:2]), Claim("qlae", "ae", "infom", ("d1",)), min_seeds=3)
    assert both.datasets[0].reason == "2 seeds of qlae and 2 seeds of ae: at least 3 needed each"
    assert one(runs("qlae", GOOD[:2]) + runs("ae", POOR[:2]), Claim("qlae", "ae", "infom", ("d1",))).status == "holds"


def test_a_claim_holds_only_if_it_holds_on_every_dataset(runs):
    recs = runs("qlae", GOOD) + runs("ae", POOR) + runs("qlae", NOISE_A, dataset="d2") + runs("ae", NOISE_B, dataset="d2")
    v = one(recs, Claim("qlae", "ae", "infom", ("d1", "d2")))
    assert [d.status for d in v.datasets] == ["holds", "not shown"]
    assert v.status == "not shown" and v.reason == "not shown on d2; holds on d1"
    both = runs("qlae", GOOD, dataset="d2") + runs("ae", POOR, dataset="d2")
    assert one(runs("qlae", GOOD) + runs("ae", POOR) + both, Claim("qlae", "ae", "infom", ("d1", "d2"))).status == "holds"


@pytest.mark.parametrize("statuses, expected", [
    (("holds", "holds"), "holds"),
    (("holds", "not shown"), "not shown"),
    (("not shown", "contradicted"), "contradicted"),
    (("contradicted", "not run"), "not run"),
    (("holds", "not run"), "not run"),
])
def test_claim_status_rule(statuses, expected):
    dvs = tuple(DatasetVerdict(f"d{i}", s, 5, 5, *[None] * 8, "") for i, s in enumerate(statuses))
    assert _claim_status(Claim("a", "b", "m", ("d0", "d1")), dvs)[0] == expected


def test_a_claim_without_datasets_is_not_run_with_a_reason(runs):
    v = one(runs("qlae", GOOD) + runs("ae", POOR), Claim("qlae", "ae", "infom", ()))
    assert v.status == "not run" and v.datasets == () and "names no datasets" in v.reason
    df = verdicts_frame([v])
    assert len(df) == 1 and df.loc[0, "status"] == "not run" and pd.isna(df.loc[0, "dataset"])


def test_lower_is_better_metric_holds_when_a_is_smaller(runs):
    recs = runs("qlae", POOR, metric="mse") + runs("ae", GOOD, metric="mse")
    v = one(recs, Claim("qlae", "ae", "mse", ("d1",)))
    assert v.status == "holds" and v.direction == "lower" and v.datasets[0].p_improve == pytest.approx(1.0)
    assert v.datasets[0].iqm_diff < 0  # raw IQM(A) - IQM(B)
    assert v.describe() == "qlae better than ae on mse (lower is better)"
    assert one(recs, Claim("qlae", "ae", "mse", ("d1",), direction="higher")).status == "contradicted"
    assert one(recs, Claim("qlae", "ae", "mse", ("d1",)), directions={"mse": "higher"}).status == "contradicted"


def test_same_seed_same_verdicts_and_claims_are_independent(runs):
    recs = (runs("qlae", NOISE_A) + runs("ae", NOISE_B) + runs("qlae", NOISE_A, metric="mig")
            + runs("ae", NOISE_B, metric="mig") + runs("vae", POOR))
    c1 = Claim("qlae", "ae", "infom", ("d1",), SRC)
    others = [Claim("qlae", "ae", "mig", ("d1",)), Claim("qlae", "vae", "infom", ("d1",))]
    first = check_claims(recs, [c1], seed=3, reps=500)
    assert check_claims(recs, [c1], seed=3, reps=500) == first
    assert check_claims(recs, [*others, c1], seed=3, reps=500)[-1] == first[0]  # unrelated claims move nothing
    d, d4 = first[0].datasets[0], one(recs, c1, seed=4, reps=500).datasets[0]
    assert (d.ci_low, d.ci_high, d.diff_low, d.diff_high) != (d4.ci_low, d4.ci_high, d4.diff_low, d4.diff_high)
    assert d.p_improve == d4.p_improve  # the point estimate does not depend on the seed


def test_format_verdicts_all_formats(runs):
    recs = runs("qlae", GOOD) + runs("ae", POOR) + runs("vae", NOISE_A)
    claims = [Claim("qlae", "ae", "infom", ("d1",), SRC), Claim("ae", "qlae", "infom", ("d1",)),
              Claim("qlae", "vae", "infom", ("d1", "d2"))]
    verdicts = check_claims(recs, claims, reps=500)
    assert [v.status for v in verdicts] == ["holds", "contradicted", "not run"]
    text = format_verdicts(verdicts)
    lines = text.splitlines()
    assert lines[0].startswith("holds ") and lines[0].endswith(f"qlae better than ae on infom (higher is better)  ({SRC})")
    assert lines[1].startswith("    d1") and "IQM 0.817 vs 0.517" in lines[1] and "P(A better) 1.00 [1.00, 1.00]" in lines[1]
    assert "seeds 5 vs 5" in lines[1]
    assert any(ln.startswith("contradicted  ae better than qlae on infom") for ln in lines)
    assert "model qlae has no successful records" not in text and "not run on d2" not in text
    assert "d2  not run" in text and "vae" in text
    assert lines[-1].startswith("holds: ") and all(s in lines[-1] for s in lb.CLAIM_STATUSES)
    md = format_verdicts(verdicts, "markdown")
    assert md.splitlines()[1].startswith("|---|") and len(md.splitlines()) == 2 + 4
    frame = verdicts_frame(verdicts)
    back = pd.read_csv(io.StringIO(format_verdicts(verdicts, "csv")))
    assert list(back.columns) == list(frame.columns) and len(back) == 4
    assert back["p_improve"].to_numpy() == pytest.approx(frame["p_improve"].to_numpy(dtype=float), nan_ok=True)
    js = json.loads(format_verdicts(verdicts, "json"))
    assert js["rows"][0]["iqm_diff"] == pytest.approx(frame.loc[0, "iqm_diff"], abs=1e-12)
    assert js["rows"][0]["claim_status"] == "holds" and js["rows"][0]["source"] == SRC
    assert format_verdicts([]).strip() == "(no claims)"
    with pytest.raises(ValueError, match="fmt must be one of 'table', 'markdown', 'csv', 'json'; got 'html'"):
        format_verdicts(verdicts, "html")


def test_mixed_protocols_raise(runs, rec):
    recs = runs("qlae", GOOD) + runs("ae", POOR) + [rec(protocol_version="2027.1")]
    with pytest.raises(VersionMixError, match="cannot be summarised together"):
        check_claims(recs, [Claim("qlae", "ae", "infom", ("d1",))], reps=10)


def test_names_match_labels_and_ambiguous_names_are_refused(runs):
    recs = runs("qlae", GOOD) + runs("ae", POOR) + [r.replace(model_config_hash="cfg-other") for r in runs("ae", GOOD)]
    with pytest.raises(ValueError, match=r"baseline 'ae' of the claim .* stands for 2 entries .*'ae #cfg-ae'"):
        check_claims(recs, [Claim("qlae", "ae", "infom", ("d1",))], reps=10)
    v = one(recs, Claim("qlae", "ae #cfg-ae", "infom", ("d1",)))
    assert v.status == "holds" and v.datasets[0].n_b == 5


def test_claim_and_argument_validation(runs):
    with pytest.raises(TypeError, match=r"Claim.datasets must be a sequence of dataset names; got the string 'd1'"):
        Claim("qlae", "ae", "infom", "d1")
    with pytest.raises(ValueError, match="Claim.model and Claim.baseline must differ; got 'qlae' twice"):
        Claim("qlae", "qlae", "infom", ("d1",))
    with pytest.raises(ValueError, match=r"Claim.direction must be one of 'higher', 'lower'; got 'up'"):
        Claim("qlae", "ae", "infom", ("d1",), direction="up")
    with pytest.raises(ValueError, match=r"Claim.datasets must list each dataset once; got 'd1' more than once"):
        Claim("qlae", "ae", "infom", ["d1", "d1"])
    with pytest.raises(ValueError, match=r"Claim.metric must be a non-empty string; got ''"):
        Claim("qlae", "ae", "", ("d1",))
    assert Claim("qlae", "ae", "infom", ["d1", "d2"]).datasets == ("d1", "d2")
    recs = runs("qlae", GOOD) + runs("ae", POOR)
    c = Claim("qlae", "ae", "infom", ("d1",))
    with pytest.raises(TypeError, match=r"claims must be a list of leaderboard.Claim; got Claim \(wrap a single"):
        check_claims(recs, c)
    with pytest.raises(TypeError, match="got an entry of type str"):
        check_claims(recs, [c, "qlae > ae"])
    with pytest.raises(ValueError, match=r"min_seeds must be an integer >= 2 .*; got 1\."):
        check_claims(recs, [c], min_seeds=1)
    with pytest.raises(ValueError, match=r"reps must be an integer >= 1; got 0\."):
        check_claims(recs, [c], reps=0)
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer; got -1\."):
        check_claims(recs, [c], seed=-1)


def test_check_claims_reads_a_store(tmp_path, runs):
    recs = runs("qlae", GOOD) + runs("ae", POOR)
    with lb.Store(tmp_path / "lb.sqlite") as s:
        s.write_job(recs)
        from_store = check_claims(s, [Claim("qlae", "ae", "infom", ("d1",))], reps=300)
        from_table = check_claims(s.table(), [Claim("qlae", "ae", "infom", ("d1",))], reps=300)
    assert from_store == from_table == check_claims(recs, [Claim("qlae", "ae", "infom", ("d1",))], reps=300)
    assert np.isfinite(from_store[0].datasets[0].iqm_diff)
