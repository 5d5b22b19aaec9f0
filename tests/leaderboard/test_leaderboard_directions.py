"""Metric directions: the naming rule, the registry, and tables that rank lower-is-better metrics as such."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import leaderboard as lb
from leaderboard import directions as dmod


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(dmod._REGISTRY)
    dmod._REGISTRY.clear()
    yield
    dmod._REGISTRY.clear()
    dmod._REGISTRY.update(saved)


@pytest.mark.parametrize("name", ["mse", "MSE", "rmse", "mae", "nll", "NLL", "ece", "risk", "regret", "loss", "err",
                                  "error", "test_error", "recon_mse", "equivariance_error", "val_loss", "train_err",
                                  "Test_Error", "excess_risk"])
def test_lower_is_better_by_name(name):
    assert lb.direction_of(name) == lb.LOWER == "lower"


@pytest.mark.parametrize("name", ["mig", "infom", "infoc", "dci_disentanglement", "accuracy", "error_rate",
                                  "mserror", "loss-free", "nll-ratio", "recon.mse", "errors"])
def test_higher_is_better_by_default(name):
    assert lb.direction_of(name) == lb.HIGHER == "higher"


def test_registry_overrides_the_name_and_the_last_registration_wins():
    lb.register_direction("mig", lb.LOWER)
    assert lb.direction_of("mig") == "lower"
    lb.register_direction("mig", "higher")
    assert lb.direction_of("mig") == "higher"
    lb.register_direction("recon_mse", "higher")  # beats the naming rule
    assert lb.direction_of("recon_mse") == "higher"
    assert lb.direction_of("test_mse") == "lower"  # other names untouched


def test_bad_directions_are_rejected_with_the_allowed_values(rec):
    with pytest.raises(ValueError, match=r"direction must be one of 'higher', 'lower'; got 'up'\."):
        lb.register_direction("mig", "up")
    with pytest.raises(ValueError, match=r"direction must be one of 'higher', 'lower'; got 'Higher'\."):
        lb.register_direction("mig", "Higher")
    assert lb.direction_of("mig") == "higher"  # nothing registered by the failed calls
    with pytest.raises(TypeError, match=r"metric must be a metric name \(str\); got int\."):
        lb.register_direction(3, "lower")
    with pytest.raises(ValueError, match=r"metric must be a non-empty metric name; got ''\."):
        lb.direction_of("")
    recs = [rec(model="a", train_seed=i) for i in range(2)]
    with pytest.raises(ValueError, match=r"directions\['mig'\] must be one of 'higher', 'lower'; got 'down'\."):
        lb.summarize(recs, reps=10, directions={"mig": "down"})
    with pytest.raises(TypeError, match=r"directions must be a mapping of metric name to 'higher' or 'lower'; got list"):
        lb.aggregate_across_datasets(recs, reps=10, directions=["mig"])


def _three_models(rec, metric: str) -> list:
    """a < c < b on every dataset, 5 seeds each, clearly separated."""
    rng = np.random.default_rng(7)
    out = []
    for model, centre in (("a", 0.1), ("b", 0.5), ("c", 0.3)):
        for dataset in ("d1", "d2"):
            for s in range(5):
                out.append(rec(value=centre + rng.normal(0, 0.01), model=model, model_config_hash=f"cfg-{model}",
                                       dataset=dataset, metric=metric, metric_params={}, train_seed=s))
    return out


def test_aggregate_ranks_a_lower_is_better_metric_smallest_first(rec):
    agg = lb.aggregate_across_datasets(_three_models(rec, "mse"), reps=500)
    assert list(agg["model"]) == ["a", "c", "b"]
    assert list(agg["rank"]) == [1, 2, 3] and list(agg["rank_high"]) == [1, 2, 3]
    assert set(agg["direction"]) == {"lower"}
    # the same numbers under a higher-is-better name rank the other way
    high = lb.aggregate_across_datasets(_three_models(rec, "mig"), reps=500)
    assert list(high["model"]) == ["b", "c", "a"] and set(high["direction"]) == {"higher"}
    # directions= overrides the name for this call only
    flipped = lb.aggregate_across_datasets(_three_models(rec, "mse"), reps=500, directions={"mse": "higher"})
    assert list(flipped["model"]) == ["b", "c", "a"] and list(flipped["rank"]) == [1, 2, 3]
    # and so does the registry
    lb.register_direction("mig", "lower")
    assert list(lb.aggregate_across_datasets(_three_models(rec, "mig"), reps=500)["model"]) == ["a", "c", "b"]


def test_summarize_sorts_each_block_best_first(rec):
    recs = _three_models(rec, "mse") + [r.replace(metric="mig") for r in _three_models(rec, "mse")]
    df = lb.summarize(recs, reps=200)
    for (metric, dataset), block in df.groupby(["metric", "dataset"], sort=False):
        assert list(block["model"]) == (["a", "c", "b"] if metric == "mse" else ["b", "c", "a"]), (metric, dataset)
        assert set(block["direction"]) == {"lower" if metric == "mse" else "higher"}
    # with directions= the mse blocks flip
    flipped = lb.summarize(recs, reps=200, directions={"mse": "higher"})
    assert list(flipped[(flipped["metric"] == "mse") & (flipped["dataset"] == "d1")]["model"]) == ["b", "c", "a"]


def test_compare_p_improve_is_p_a_better_in_the_metric_direction(rec):
    rng = np.random.default_rng(1)
    a = [rec(model="A", metric="mse", train_seed=i, value=0.1 + rng.normal(0, 0.01)) for i in range(5)]
    b = [rec(model="B", metric="mse", train_seed=i, value=0.5 + rng.normal(0, 0.01)) for i in range(5)]
    row = lb.compare(a + b, "A", "B", reps=500).iloc[0]
    assert row["direction"] == "lower"
    assert row["p_improve"] == pytest.approx(1.0) and row["ci_low"] > 0.9
    assert lb.compare(a + b, "B", "A", reps=500).iloc[0]["p_improve"] == pytest.approx(0.0)
    # hand values (the 3-seed example of test_compare_known_probability_and_pvalue): P(A<B) = 1 - P(A>B)
    xa = [rec(model="A", metric="mse", train_seed=i, value=v) for i, v in enumerate([0.1, 0.2, 0.3])]
    yb = [rec(model="B", metric="mse", train_seed=i, value=v) for i, v in enumerate([0.2, 0.2, 0.1])]
    lower = lb.compare(xa + yb, "A", "B", reps=200).iloc[0]
    higher = lb.compare(xa + yb, "A", "B", reps=200, directions={"mse": "higher"}).iloc[0]
    assert lower["p_improve"] == pytest.approx(3.5 / 9) and higher["p_improve"] == pytest.approx(5.5 / 9)
    assert lower["p_value"] == higher["p_value"]  # the two-sided test does not depend on the direction
    assert lower["ci_low"] <= lower["p_improve"] <= lower["ci_high"]


def test_format_table_shows_the_direction_next_to_the_metric(rec):
    recs = _three_models(rec, "mse") + [r.replace(metric="mig") for r in _three_models(rec, "mse")]
    for df in (lb.summarize(recs, reps=50), lb.aggregate_across_datasets(recs, reps=50), lb.compare(recs, "a", "b", reps=50)):
        text, md = lb.format_table(df), lb.format_table(df, "markdown")
        assert "mse ↓" in text and "mig ↑" in text and "| mse ↓ |" in md and "| mig ↑ |" in md
        csv = lb.format_table(df, "csv")
        assert "↓" not in csv and "↑" not in csv and "direction" in csv.splitlines()[0].split(",")
    assert "P(A better)" in lb.format_table(lb.compare(recs, "a", "b", reps=50))
    plain = pd.DataFrame({"metric": ["mse"], "direction": ["lower"]})  # not a leaderboard kind: shown verbatim
    assert "↓" not in lb.format_table(plain)


def test_interval_figure_puts_the_best_at_the_top_in_the_metric_direction(rec):
    from leaderboard.plots import interval_figure

    for metric, best in (("mse", "a"), ("mig", "b")):
        agg = lb.aggregate_across_datasets(_three_models(rec, metric), reps=200)
        fig = interval_figure(agg.iloc[::-1], metric)  # the order of the table passed in does not matter
        labels = [t.get_text().split()[0] for t in fig.axes[0].get_yticklabels()]
        assert labels[-1] == best and labels[0] != best  # the top tick is the last one
        assert ("lower is better" if metric == "mse" else "higher is better") in fig.axes[0].get_xlabel()


def test_html_marks_the_direction_of_each_metric(rec):
    from leaderboard.html import render_html

    page = render_html(_three_models(rec, "mse") + [r.replace(metric="mig") for r in _three_models(rec, "mse")], reps=50,
                       figures=False)
    assert '<span class="dir" title="lower is better">↓</span>' in page
    assert '<span class="dir" title="higher is better">↑</span>' in page
