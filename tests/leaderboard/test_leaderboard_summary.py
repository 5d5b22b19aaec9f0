"""summarize / aggregate_across_datasets / compare / format_table on records."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import leaderboard as lb
from leaderboard import VersionMixError
from leaderboard.bootstrap import rank_intervals, rng_for


def test_summarize_hand_values_flags_and_failures(rec):
    vals = [0.1, 0.2, 0.3, 0.4, 0.9]
    recs = [rec(model="a", train_seed=i, value=v) for i, v in enumerate(vals)]
    recs += [rec(model="b", train_seed=i, value=0.5) for i in range(4)]
    recs += [rec(model="b", train_seed=9, status="failed", value=None)]
    recs += [rec(model="c", train_seed=0, eval_seed=e, value=v) for e, v in enumerate([0.2, 0.4])]  # eval seeds averaged
    df = lb.summarize(recs, seed=3, reps=500).set_index("model")
    assert df.loc["a", "mean"] == pytest.approx(0.38)
    assert df.loc["a", "iqm"] == pytest.approx(0.3)  # 5 values, 1 cut each end -> mean(0.2, 0.3, 0.4)
    assert df.loc["a", "n_seeds"] == 5 and not df.loc["a", "few_seeds"]
    assert df.loc["b", "n_seeds"] == 4 and df.loc["b", "few_seeds"] and df.loc["b", "n_failed"] == 1
    assert (df.loc["b", "ci_low"], df.loc["b", "iqm"], df.loc["b", "ci_high"]) == (0.5, 0.5, 0.5)
    assert df.loc["c", "n_seeds"] == 1 and df.loc["c", "mean"] == pytest.approx(0.3)
    assert (df["ci_low"] <= df["iqm"]).all() and (df["iqm"] <= df["ci_high"]).all()
    assert (df["mean_ci_low"] <= df["mean"]).all() and (df["mean"] <= df["mean_ci_high"]).all()
    assert set(df["bootstrap_seed"]) == {3} and df.attrs["seed"] == 3 and df.attrs["reps"] == 500


def test_every_failed_cell_is_shown_without_a_value(rec):
    df = lb.summarize([rec(model="a", status="failed", value=None), rec(model="b", value=0.2)], reps=10)
    row = df.set_index("model").loc["a"]
    assert row["n_seeds"] == 0 and row["n_failed"] == 1 and pd.isna(row["iqm"])


def test_seed_reproducibility_and_cell_independence(synth):
    recs = synth()
    a = lb.summarize(recs, seed=1, reps=300)
    b = lb.summarize(recs, seed=1, reps=300)
    c = lb.summarize(recs, seed=2, reps=300)
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["ci_low"].to_numpy(), c["ci_low"].to_numpy())
    without_ae = lb.summarize([r for r in recs if r.model != "ae"], seed=1, reps=300)
    keep = a[a["model"] != "ae"].reset_index(drop=True)
    pd.testing.assert_frame_equal(keep, without_ae.reset_index(drop=True), check_like=True)
    g1 = lb.summarize(recs, rng=np.random.default_rng(4), reps=300)
    g2 = lb.summarize(recs, rng=np.random.default_rng(4), reps=300)
    pd.testing.assert_frame_equal(g1, g2)
    assert g1["bootstrap_seed"].isna().all()


def test_versions_hashes_and_configs_are_never_mixed(rec):
    recs = [rec(train_seed=i, value=0.2) for i in range(3)]
    recs += [rec(train_seed=i, value=0.8, metric_version="2.0") for i in range(3)]
    recs += [rec(train_seed=i, value=0.6, dataset_hash="sha256:" + "ff" * 32) for i in range(3)]
    recs += [rec(train_seed=i, value=0.4, model_config_hash="cfg-2") for i in range(3)]
    df = lb.summarize(recs, reps=50)
    assert len(df) == 4 and set(df["n_seeds"]) == {3}
    by = {(r.model, r.dataset, r.metric): r.mean for r in df.itertuples()}
    assert by[("beta-vae #cfg-1", "dsprites-procedural #abababab", "mig@1.0")] == pytest.approx(0.2)
    assert by[("beta-vae #cfg-1", "dsprites-procedural #abababab", "mig@2.0")] == pytest.approx(0.8)
    assert by[("beta-vae #cfg-1", "dsprites-procedural #ffffffff", "mig@1.0")] == pytest.approx(0.6)
    assert by[("beta-vae #cfg-2", "dsprites-procedural #abababab", "mig@1.0")] == pytest.approx(0.4)
    with pytest.raises(VersionMixError, match="cannot be summarised together"):
        lb.summarize(recs + [rec(protocol_version="2027.1")])
    with pytest.raises(VersionMixError, match="profile='quick'"):
        lb.aggregate_across_datasets(recs + [rec(profile="quick")])


def test_aggregate_ranks_and_incomplete_models(synth):
    recs = synth()
    recs = [r for r in recs if not (r.model == "ae" and r.dataset == "shapes3d-procedural")]
    df = lb.aggregate_across_datasets(recs, reps=1000)
    mig = df[df["metric"] == "mig"].set_index("model")
    assert mig.loc["qlae", "rank"] == 1 and mig.loc["qlae", "n_datasets"] == 2 and mig.loc["qlae", "n_runs"] == 10
    assert mig.loc["beta-vae", "rank"] == mig.loc["beta-tcvae", "rank"] == 2
    assert "beta-tcvae" in mig.loc["beta-vae", "tied_with"]
    assert not mig.loc["ae", "complete"] and pd.isna(mig.loc["ae", "rank"]) and mig.loc["ae", "few_seeds"]
    assert list(df["metric"].unique()) == ["infoc", "infom", "mig"]
    assert (df["ci_low"] <= df["iqm"]).all() and (df["iqm"] <= df["ci_high"]).all()
    pd.testing.assert_frame_equal(lb.summarize(recs, reps=1000, across_datasets=True), df)


def test_compare_known_probability_and_pvalue(rec):
    a = [rec(model="A", train_seed=i, value=v) for i, v in enumerate([0.1, 0.2, 0.3])]
    b = [rec(model="B", train_seed=i, value=v) for i, v in enumerate([0.2, 0.2, 0.1])]
    a2 = [r.replace(dataset="d2", value=v) for r, v in zip(a, [0.5, 0.6, 0.9])]  # the 3x2 matrices of test_stats
    b2 = [r.replace(dataset="d2", value=v) for r, v in zip(b, [0.5, 0.7, 0.4])]
    df = lb.compare(a + b + a2 + b2, "A", "B", reps=1000)
    rows = df.set_index("dataset")
    assert rows.loc["dsprites-procedural", "p_improve"] == pytest.approx(5.5 / 9)
    assert rows.loc["d2", "p_improve"] == pytest.approx(6.5 / 9)
    assert rows.loc["(all datasets)", "p_improve"] == pytest.approx(12 / 18)
    assert pd.isna(rows.loc["(all datasets)", "p_value"])  # no Mann-Whitney test across datasets
    from scipy.stats import mannwhitneyu
    assert rows.loc["d2", "p_value"] == pytest.approx(mannwhitneyu([0.5, 0.6, 0.9], [0.5, 0.7, 0.4]).pvalue)
    assert (df["ci_low"] <= df["p_improve"]).all() and (df["p_improve"] <= df["ci_high"]).all()
    with pytest.raises(ValueError, match=r"model_b 'C' has no successful records in this table; models: \['A', 'B'\]"):
        lb.compare(a + b, "A", "C")
    with pytest.raises(ValueError, match="model_a and model_b must differ"):
        lb.compare(a + b, "A", "A")


def test_compare_identical_methods_is_a_tie(rec):
    a = [rec(model="A", train_seed=i, value=0.5) for i in range(5)]
    b = [r.replace(model="B") for r in a]
    row = lb.compare(a + b, "A", "B", reps=200).iloc[0]
    assert (row["p_improve"], row["ci_low"], row["ci_high"], row["p_value"]) == (0.5, 0.5, 0.5, 1.0)


def test_format_table_all_formats(synth, rec):
    hostile = "x|y \"q\" <b>"
    recs = synth() + [rec(model=hostile, dataset="shapes3d-procedural", dataset_hash="sha256:" + "cd" * 32,
                          metric="mig", metric_params={}, train_seed=i, value=0.3) for i in range(2)]
    df = lb.summarize(recs, reps=100)
    text = lb.format_table(df)
    assert text.splitlines()[0].split() == ["model", "dataset", "metric", "IQM", "95%", "CI", "mean", "seeds", "failed"]
    assert "3 (<5)" in text and hostile in text and "seed 0" in text
    md = lb.format_table(df, "markdown")
    assert "x\\|y \"q\" <b>" in md and md.splitlines()[1].startswith("|---|")
    back = pd.read_csv(io.StringIO(lb.format_table(df, "csv")))
    assert len(back) == len(df) and hostile in set(back["model"])
    assert back["iqm"].to_numpy() == pytest.approx(df["iqm"].to_numpy(dtype=float), abs=1e-12)
    js = json.loads(lb.format_table(df, "json"))
    assert js["attrs"]["seed"] == 0 and len(js["rows"]) == len(df) and hostile in {r["model"] for r in js["rows"]}
    agg_text = lb.format_table(lb.aggregate_across_datasets(recs, reps=100))
    assert "rank interval" in agg_text and "tied with" in agg_text
    with pytest.raises(ValueError, match="fmt must be one of 'table', 'markdown', 'csv', 'json'; got 'xml'"):
        lb.format_table(df, "xml")


def test_format_table_labels_intervals_with_their_confidence(synth):
    recs = synth()
    text = lb.format_table(lb.summarize(recs, reps=100, confidence=0.9))
    assert text.splitlines()[0].split()[4:6] == ["90%", "CI"] and "90% stratified bootstrap" in text
    agg = lb.format_table(lb.aggregate_across_datasets(recs, reps=100, confidence=0.995), "markdown")
    assert agg.splitlines()[0].split(" | ")[4] == "99.5% CI"
    assert "| 95% CI |" in lb.format_table(lb.compare(recs, *sorted({r.model for r in recs})[:2], reps=100), "markdown")


def test_summarize_accepts_a_store_table(tmp_path, synth):
    with lb.Store(tmp_path / "lb.sqlite") as s:
        s.write_job(synth())
        a = lb.summarize(s.table(), reps=100)
    b = lb.summarize(synth(), reps=100)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(TypeError, match="data must be a list of leaderboard.Record"):
        lb.summarize([1, 2, 3])


def test_ranking_intervals_do_not_move_when_a_model_is_added(synth):
    # the ranking table drew every model from one stream in name order: adding "ae" shifted the others
    recs = synth()
    full = lb.aggregate_across_datasets(recs, seed=0, reps=500)
    fewer = lb.aggregate_across_datasets([r for r in recs if r.model != "beta-tcvae"], seed=0, reps=500)
    cols = ["metric", "model", "iqm", "ci_low", "ci_high"]
    kept = full[full["model"] != "beta-tcvae"][cols].sort_values(["metric", "model"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, fewer[cols].sort_values(["metric", "model"]).reset_index(drop=True))
    # a single Generator still works (one stream, drawn in name order), and per-model streams are reproducible
    scores = {m: np.random.default_rng(i).random((2, 5)) for i, m in enumerate(("a", "b"))}
    one = rank_intervals(scores, reps=200, rng=np.random.default_rng(0))
    per = rank_intervals(scores, reps=200, rng=lambda name: rng_for(0, "t", name))
    again = rank_intervals(scores, reps=200, rng=lambda name: rng_for(0, "t", name))
    pd.testing.assert_frame_equal(per, again)
    assert list(one["model"]) == list(per["model"])


@pytest.mark.parametrize("metric", ["mig", "mse"])
def test_ranking_rows_read_by_iqm_best_first_led_by_the_rank_interval(overlap, metric):
    agg = lb.aggregate_across_datasets(overlap(metric), reps=1000)
    a = agg.set_index("model")
    # the case: beta_vae shares rank 1 with a worse IQM than ae (rank 2)
    assert a.loc["beta_vae", "rank"] == 1 and a.loc["ae", "rank"] == 2 and a.loc["top", "rank"] == 1
    better = (lambda x, y: x > y) if metric == "mig" else (lambda x, y: x < y)
    assert better(a.loc["ae", "iqm"], a.loc["beta_vae", "iqm"])
    assert list(agg["model"]) == ["top", "ae", "beta_vae"]  # IQM best first, not shared rank first
    md = lb.format_table(agg, "markdown").splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in md]
    assert cells[0] == ["metric", "rank interval", "model", "IQM", "95% CI", "tied with", "shared rank", "datasets",
                        "runs"]
    rows = {r[2]: r for r in cells[2:]}
    assert [r[2] for r in cells[2:]] == ["top", "ae", "beta_vae"]
    assert (rows["ae"][1], rows["ae"][6]) == (f"{a.loc['ae', 'rank_low']}–{a.loc['ae', 'rank_high']}", "2")
    assert (rows["beta_vae"][1], rows["beta_vae"][6]) == ("1–3", "1")
    text = lb.format_table(agg).splitlines()
    assert text[0].split()[:4] == ["metric", "rank", "interval", "model"]
    body = [line.split() for line in text[2:5]]  # "mig ↑  2–3  ae  0.498 ..."
    assert [r[3] for r in body] == ["top", "ae", "beta_vae"]
    assert body[1][2] == f"{a.loc['ae', 'rank_low']}–{a.loc['ae', 'rank_high']}" and body[2][2] == "1–3"


def test_unranked_models_stay_last_whatever_their_iqm(rec, overlap):
    other = {"dataset": "other", "dataset_hash": "sha256:" + "ef" * 32}
    recs = overlap() + [r.replace(**other) for r in overlap()]
    recs += [rec(value=0.99, model="partial", model_config_hash="cfg-p", metric="mig", metric_params={}, train_seed=i,
                 **other) for i in range(5)]  # the best IQM, on one dataset of two: not ranked
    agg = lb.aggregate_across_datasets(recs, reps=200)
    assert list(agg["model"]) == ["top", "ae", "beta_vae", "partial"] and pd.isna(agg["rank"].iloc[-1])
    assert lb.format_table(agg, "markdown").splitlines()[-1].startswith("| mig ↑ | — | partial |")
