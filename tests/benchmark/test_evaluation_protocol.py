"""The evaluation protocol's options: what they change in the numbers and in the record identity."""

import numpy as np
import pytest

import metrics
from benchmark.suites.disentanglement.evaluation import EvalSettings, evaluate_representation, metric_params


def _sample(n=600, seed=0):
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, 4, size=(n, 3))
    latents = sources + 0.4 * rng.normal(size=(n, 3))
    return sources, latents


def test_dci_samples_scores_dci_on_a_seeded_random_subset_and_says_so_in_its_params():
    s, z = _sample()
    order = np.lexsort(s.T[::-1])  # dataset order, as evaluation samples list their images
    s, z = s[order], z[order]
    settings = EvalSettings(families=("dci", "mig"), dci_estimator="random_forest", dci_samples=200)
    out = {o.metric: o for o in evaluate_representation(s, z, discrete=False, settings=settings, seed=0)}
    rows = np.sort(np.random.default_rng(0).choice(600, 200, replace=False))
    assert set(s[rows, 0]) == {0, 1, 2, 3}  # the first 200 rows hold classes 0 and 1 of factor 0 only
    expected = metrics.dci(s[rows], z[rows], estimator="random_forest", test_size=1 / 3, random_state=0)
    assert out["dci_disentanglement"].value == pytest.approx(expected.disentanglement, abs=1e-12)
    assert out["dci_informativeness"].value == pytest.approx(expected.informativeness, abs=1e-12)
    prefix = metrics.dci(s[:200], z[:200], estimator="random_forest", test_size=1 / 3, random_state=0)
    assert out["dci_disentanglement"].value != pytest.approx(prefix.disentanglement, abs=1e-3)
    assert out["dci_disentanglement"].params["n_samples"] == 200
    assert out["dci_disentanglement"].params["subset"] == "seeded random"
    assert out["mig"].params["n_samples"] == 600  # the other metrics use the whole sample
    assert out["mig"].value == pytest.approx(metrics.mig(s, z).score, abs=1e-12)
    # a sample smaller than dci_samples is used whole, and its params name no subset
    whole = metric_params("dci_completeness", settings=settings, n_samples=150, seed=0)
    assert whole["n_samples"] == 150 and "subset" not in whole


@pytest.mark.parametrize("bad", [0, 9, 2.5, "200"])
def test_dci_samples_is_validated(bad):
    with pytest.raises(ValueError, match="dci_samples must be None or an integer >= 10"):
        EvalSettings(dci_samples=bad)
