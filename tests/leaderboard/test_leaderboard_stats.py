"""Aggregates and bootstrap intervals: hand-computed values, invariants, determinism, ties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from leaderboard.aggregate import (Ragged, aggregate_iqm, aggregate_mean, check_scores, mann_whitney_pvalue,
                                   probability_of_improvement)
from leaderboard.bootstrap import (interval_estimates, performance_profile, probability_of_improvement_ci,
                                   rank_intervals, rng_for, stratified_bootstrap)

S = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.9]])  # (3 runs, 2 tasks)
T = np.array([[0.2, 0.5], [0.2, 0.7], [0.1, 0.4]])


def test_hand_computed_aggregates_on_3x2():
    assert aggregate_mean(S) == pytest.approx(2.6 / 6, abs=1e-12)
    # 6 values, floor(6/4) = 1 cut at each end: drops 0.1 and 0.9 -> (0.2 + 0.3 + 0.5 + 0.6) / 4
    assert aggregate_iqm(S) == pytest.approx(0.4, abs=1e-12)
    # per task: task 0 x=(.1,.2,.3) vs y=(.2,.2,.1): 0.5 + 2 + 3 = 5.5 of 9; task 1: 1.5 + 2 + 3 = 6.5 of 9
    assert probability_of_improvement(S, T) == pytest.approx((5.5 / 9 + 6.5 / 9) / 2, abs=1e-12)
    assert probability_of_improvement(T, S) == pytest.approx(1 - (5.5 / 9 + 6.5 / 9) / 2, abs=1e-12)


def test_iqm_cuts_a_quarter_from_each_end():
    x = np.array([100.0, 1, 2, 3, 4, 5, 6, -100])  # 8 values: 2 cut at each end
    assert aggregate_iqm(x) == pytest.approx(3.5)
    assert aggregate_iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)  # < 4 values: nothing cut


def test_ragged_tasks_pool_all_runs():
    r = Ragged([[0.1, 0.2], [0.5, 0.6, 0.7]])
    assert aggregate_mean(r) == pytest.approx(2.1 / 5)
    assert [t.size for t in check_scores(r)] == [2, 3]


def test_mann_whitney_known_values_and_ties():
    assert mann_whitney_pvalue([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)  # exact: 2 * 1/C(6,3)
    assert mann_whitney_pvalue([0.5] * 4, [0.5] * 3) == 1.0
    x, y = [0.1, 0.4, 0.4, 0.8], [0.2, 0.4, 0.9]
    assert mann_whitney_pvalue(x, y) == pytest.approx(st.mannwhitneyu(x, y, alternative="two-sided").pvalue)


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((2, 2, 2)), r"scores must be 2D with shape \(n_runs, n_tasks\); got shape \(2, 2, 2\)"),
    (np.array([[0.1, np.nan]]), r"scores contains NaN or infinity \(task 1, run 0\)"),
    (np.zeros((0, 2)), r"scores task 0 has no runs"),
    ([["a", "b"]], r"scores must be a numeric array"),
])
def test_bad_scores_are_refused(bad, msg):
    with pytest.raises(ValueError, match=msg):
        aggregate_mean(bad)


def test_rng_must_be_an_explicit_generator():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        stratified_bootstrap(S, rng=0)
    with pytest.raises(ValueError, match="reps must be an integer >= 1; got 0"):
        stratified_bootstrap(S, reps=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="confidence must be a number in \\(0, 1\\); got 95"):
        stratified_bootstrap(S, confidence=95, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="aggregate must be one of 'iqm', 'mean'"):
        stratified_bootstrap(S, "median", rng=np.random.default_rng(0))


@pytest.mark.parametrize("seed", range(8))
def test_lower_le_point_le_upper(seed):
    g = np.random.default_rng(100 + seed)
    scores = {f"m{k}": g.normal(k * 0.1, 0.2, size=(int(g.integers(1, 7)), int(g.integers(1, 4)))) for k in range(4)}
    for agg in ("iqm", "mean"):
        est = interval_estimates(scores, agg, reps=500, rng=np.random.default_rng(seed))
        for m in scores:
            assert est.lower[m] <= est.point[m] <= est.upper[m]
    p, lo, hi = probability_of_improvement_ci(scores["m0"][:, :1], scores["m3"][:, :1], reps=300,
                                              rng=np.random.default_rng(seed))
    assert 0.0 <= lo <= p <= hi <= 1.0


def test_same_seed_bit_identical_different_seed_differs_and_no_global_state():
    g = np.random.default_rng(5)
    scores = {"a": g.normal(size=(5, 3)), "b": g.normal(size=(4, 3))}
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    e1 = interval_estimates(scores, reps=1000, rng=np.random.default_rng(7))
    e2 = interval_estimates(scores, reps=1000, rng=np.random.default_rng(7))
    e3 = interval_estimates(scores, reps=1000, rng=np.random.default_rng(8))
    assert (e1.lower, e1.upper) == (e2.lower, e2.upper)
    assert (e1.lower, e1.upper) != (e3.lower, e3.upper)
    assert e1.point == e3.point
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global state untouched
    assert rng_for(0, "a").random() == rng_for(0, "a").random() != rng_for(0, "b").random()


def test_bootstrap_resamples_within_each_task():
    tasks = Ragged([[1.0, 2.0], [10.0, 20.0, 30.0]])
    seen = []

    def spy(x):
        seen.append(x.copy())
        return x.mean(axis=-1)

    stratified_bootstrap(tasks, spy, reps=200, rng=np.random.default_rng(0))
    boot = seen[1]
    assert boot.shape == (200, 5)
    assert set(np.unique(boot[:, :2])) <= {1.0, 2.0}
    assert set(np.unique(boot[:, 2:])) <= {10.0, 20.0, 30.0}


def test_known_percentile_interval_of_two_values():
    # mean of 2 draws from {0, 1}: 0 (p=1/4), 0.5 (1/2), 1 (1/4) -> 95% interval [0, 1]
    p, lo, hi = stratified_bootstrap([0.0, 1.0], "mean", reps=4000, rng=np.random.default_rng(1))
    assert (p, lo, hi) == (0.5, 0.0, 1.0)
    # one seed: nothing to resample, the interval collapses onto the value
    assert stratified_bootstrap([0.3], rng=np.random.default_rng(1), reps=50) == (0.3, 0.3, 0.3)


def test_ties_probability_and_ranks():
    x = np.array([[0.4, 0.6], [0.5, 0.7], [0.6, 0.8]])
    p, lo, hi = probability_of_improvement_ci(x, x.copy(), reps=2000, rng=np.random.default_rng(0))
    assert p == 0.5 and lo <= 0.5 <= hi
    scores = {"twin-a": x, "twin-b": x.copy(), "best": x + 1.0, "worst": x - 1.0}
    df = rank_intervals(scores, reps=2000, rng=np.random.default_rng(0)).set_index("model")
    assert df.loc["best", "rank"] == 1 and (df.loc["best", "rank_low"], df.loc["best", "rank_high"]) == (1, 1)
    assert df.loc["twin-a", "rank"] == df.loc["twin-b", "rank"] == 2
    assert df.loc["twin-a", "tied_with"] == ["twin-b"] and df.loc["twin-b", "tied_with"] == ["twin-a"]
    assert df.loc["twin-a", "point"] == df.loc["twin-b", "point"]
    # resampled independently, either twin can come out ahead: both span ranks 2 to 3
    for m in ("twin-a", "twin-b"):
        assert (df.loc[m, "rank_low"], df.loc[m, "rank_high"]) == (2, 3)
    assert df.loc["worst", "rank"] == 4


def test_overlapping_intervals_share_a_rank_separated_ones_do_not():
    g = np.random.default_rng(3)
    scores = {"a": 0.50 + 0.05 * g.standard_normal((6, 2)), "b": 0.51 + 0.05 * g.standard_normal((6, 2)),
              "c": 0.90 + 0.01 * g.standard_normal((6, 2))}
    df = rank_intervals(scores, reps=2000, rng=np.random.default_rng(0)).set_index("model")
    assert df.loc["c", "rank"] == 1
    assert df.loc["a", "rank"] == df.loc["b", "rank"] == 2
    assert df.loc["a", "rank_low"] == 2 and df.loc["a", "rank_high"] == 3
    assert list(df.index) == ["c", "b", "a"] or list(df.index) == ["c", "a", "b"]


def test_performance_profile_is_non_increasing_with_known_endpoints():
    taus = np.linspace(-0.5, 1.5, 41)
    prof, lo, hi = performance_profile(S, taus, reps=300, rng=np.random.default_rng(0))
    assert np.all(np.diff(prof) <= 0) and prof[0] == 1.0 and prof[-1] == 0.0
    assert np.all(lo <= prof) and np.all(prof <= hi)
    # at tau = 0.25: task 0 has 1 of 3 above, task 1 has 3 of 3 -> (1/3 + 1) / 2
    p, _, _ = performance_profile(S, [0.25], reps=10, rng=np.random.default_rng(0))
    assert p[0] == pytest.approx((1 / 3 + 1) / 2)
