"""benchmarks/eval_speed.py: its baselines are disentanglement_lib's recipes (the authors' for InfoMEC), so the
speed ratios it prints compare equal values."""

import warnings

import pytest


@pytest.fixture(scope="module")
def eval_speed(benchmark_script):
    return benchmark_script("eval_speed")


@pytest.mark.parametrize("family,tolerance", [("mig", 1e-12), ("sap", 1e-12), ("modularity_explicitness", 1e-5),
                                              ("infomec", 1e-3)])
def test_the_recipes_give_our_values(eval_speed, family, tolerance):
    s, z = eval_speed.make_data(900, 8, seed=1)
    s, z, s_te, z_te = s[:600], z[:600], s[600:], z[600:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = eval_speed.RECIPES[family](s, z, s_te, z_te)
    got = eval_speed.ours(family, s, z, s_te, z_te, sap_solver="liblinear")  # the recipe's solver: equal values
    assert set(got) == set(expected)
    # lbfgs stops within its tolerance (explicitness to 1e-5); the kNN estimator jitters ties (InfoMEC to 1e-3)
    for metric, value in expected.items():
        assert got[metric] == pytest.approx(value, abs=tolerance), metric
