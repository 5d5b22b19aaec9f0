"""Tests for metrics.factor_vae_score and metrics.beta_vae_score."""

import doctest
import json

import numpy as np
import pytest

import metrics
import metrics.factor_vae as fv
from metrics import beta_vae_score, factor_vae_score


class Grid:
    """A tiny fake FactorDataset whose "images" are the factor classes themselves (float rows)."""

    def __init__(self, sizes=(3, 4, 5)):
        self.factor_sizes = tuple(sizes)

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def images_for_factors(self, classes):
        return np.asarray(classes, dtype=np.float64)


W = np.random.default_rng(123).normal(size=(3, 4))


def entangled(x):
    """A deterministic, per-image encoder mixing all factors into 4 latents."""
    x = np.asarray(x, dtype=np.float64)
    return np.tanh(x @ W / 3) + 0.3 * np.sin(7.0 * x @ W)


def axis_aligned(x):
    """Latent j = scaled factor perm[j], plus a constant unit."""
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([3.0 * x[:, [2, 0, 1]] - 1.0, np.ones((x.shape[0], 1))], axis=1)


class NoiseEncoder:
    """Ignores the images: independent N(0, 1) latents."""

    def __init__(self, seed, n_latents=3):
        self.rng = np.random.default_rng(seed)
        self.n_latents = n_latents

    def __call__(self, x):
        return self.rng.normal(size=(len(x), self.n_latents))


# Measured by running disentanglement_lib's own compute_factor_vae / compute_beta_vae_sklearn (v1.5,
# sklearn 1.9.1) on the same dataset and encoder, with an adapter that hands dlib's `random_state.randint`
# and `sample_factors` calls to one numpy Generator (seed 0): dlib then draws the same factors in the same
# order as our implementation. FactorVAE with `_prune_dims(threshold=0.05)`; BetaVAE with LogisticRegression().
def test_factor_vae_matches_disentanglement_lib():
    r = factor_vae_score(Grid(), entangled, n_variance=500, n_train=60, n_eval=40, batch_size=16, random_state=0,
                         progress=False)
    assert r.train_accuracy == pytest.approx(0.8, abs=1e-12)
    assert r.eval_accuracy == pytest.approx(0.8, abs=1e-12) and r.score == r.eval_accuracy
    assert r.n_active == 4
    assert r.votes.tolist() == [[5, 0, 17, 1], [12, 4, 5, 0], [1, 0, 0, 15]]
    assert r.votes.sum() == 60


def test_beta_vae_matches_disentanglement_lib():
    r = beta_vae_score(Grid(), entangled, n_train=60, n_eval=40, batch_size=16, random_state=0, progress=False)
    assert r.train_accuracy == pytest.approx(0.6833333333333333, abs=1e-12)
    assert r.eval_accuracy == pytest.approx(0.625, abs=1e-12) and r.score == r.eval_accuracy


def test_axis_aligned_encoder_scores_one():
    r = factor_vae_score(Grid(), axis_aligned, n_variance=300, n_train=40, n_eval=30, batch_size=16, progress=False)
    assert r.score == 1.0 and r.train_accuracy == 1.0
    assert r.n_active == 3  # the constant unit is pruned
    assert r.votes[:, 3].sum() == 0
    assert np.argmax(r.votes[:, :3], axis=0).tolist() == [2, 0, 1]  # votes use the real latent index
    r = beta_vae_score(Grid(), axis_aligned, n_train=60, n_eval=30, batch_size=16, progress=False)
    assert r.score == 1.0 and r.train_accuracy == 1.0


def test_noise_encoder_is_near_chance():
    r = factor_vae_score(Grid(), NoiseEncoder(0), n_variance=300, n_train=200, n_eval=300, batch_size=16,
                         progress=False)
    assert r.score < 0.5  # chance is 1/3; the majority vote adds a little
    r = beta_vae_score(Grid(), NoiseEncoder(1), n_train=200, n_eval=300, batch_size=16, progress=False)
    assert r.score < 0.5


def test_chunked_encoding_equals_one_call_per_batch(monkeypatch):
    calls = []

    def spy(x):
        calls.append(len(x))
        return entangled(x)

    kw = dict(n_variance=200, n_train=30, n_eval=20, batch_size=8, random_state=3, progress=False)
    a = factor_vae_score(Grid(), spy, **kw)
    assert max(calls) <= fv._IMAGES_PER_CALL and calls[0] == 200
    monkeypatch.setattr(fv, "_IMAGES_PER_CALL", 8)  # one voting batch per encode call
    calls.clear()
    b = factor_vae_score(Grid(), spy, **kw)
    assert set(calls[1:]) == {8}
    assert a.to_dict() == b.to_dict()
    assert a.params["images_encoded"] == b.params["images_encoded"] == 200 + 50 * 8
    monkeypatch.setattr(fv, "_IMAGES_PER_CALL", 16)
    c = beta_vae_score(Grid(), entangled, n_train=20, n_eval=10, batch_size=8, progress=False)
    monkeypatch.undo()
    d = beta_vae_score(Grid(), entangled, n_train=20, n_eval=10, batch_size=8, progress=False)
    assert (c.train_accuracy, c.eval_accuracy) == (d.train_accuracy, d.eval_accuracy)


def test_pruning_and_no_active_latent():
    def half_constant(x):
        z = axis_aligned(x)
        z[:, 0] = 0.01 * z[:, 0]  # std about 0.04 < 0.05: pruned
        return z

    r = factor_vae_score(Grid(), half_constant, n_variance=300, n_train=30, n_eval=20, batch_size=16, progress=False)
    assert r.n_active == 2 and r.votes[:, [0, 3]].sum() == 0
    assert r.score < 0.9  # the factor held by the pruned unit can no longer be identified
    r0 = factor_vae_score(Grid(), half_constant, n_variance=300, n_train=30, n_eval=20, batch_size=16,
                          prune_threshold=0.0, progress=False)
    assert r0.n_active == 3  # the constant unit has zero variance and stays out even at threshold 0
    r = factor_vae_score(Grid(), lambda x: np.zeros((len(x), 2)), n_variance=50, n_train=5, n_eval=5,
                         batch_size=4, progress=False)
    assert (r.score, r.train_accuracy, r.n_active) == (0.0, 0.0, 0)
    assert r.votes.shape == (3, 2) and r.votes.sum() == 0


def test_single_factor_and_single_latent():
    r = beta_vae_score(Grid((4,)), lambda x: x, n_train=5, n_eval=5, batch_size=4, progress=False)
    assert (r.train_accuracy, r.score) == (1.0, 1.0)
    r = factor_vae_score(Grid((4,)), lambda x: x, n_variance=50, n_train=5, n_eval=5, batch_size=4, progress=False)
    assert r.score == 1.0
    r = factor_vae_score(Grid((3, 4)), lambda x: x[:, :1], n_variance=100, n_train=40, n_eval=40, batch_size=8,
                         progress=False)
    assert 0.0 < r.score < 1.0 and r.votes.shape == (2, 1)


def test_determinism_and_torch_encoder():
    torch = pytest.importorskip("torch")
    kw = dict(n_variance=200, n_train=20, n_eval=20, batch_size=8, random_state=7, progress=False)
    a = factor_vae_score(Grid(), entangled, **kw)
    assert a.to_dict() == factor_vae_score(Grid(), entangled, **kw).to_dict()
    b = factor_vae_score(Grid(), lambda x: torch.from_numpy(entangled(x)), **kw)
    assert a.to_dict() == b.to_dict()
    kw.pop("n_variance")
    a = beta_vae_score(Grid(), entangled, **kw)
    assert a.to_dict() == beta_vae_score(Grid(), lambda x: torch.from_numpy(entangled(x)), **kw).to_dict()
    gen = np.random.default_rng(7)
    assert a.to_dict()["score"] == beta_vae_score(Grid(), entangled, **(kw | {"random_state": gen})).score


def test_result_contract():
    r = factor_vae_score(Grid(), entangled, n_variance=100, n_train=10, n_eval=10, batch_size=8, progress=False)
    assert isinstance(r, metrics.FactorVAEResult)
    assert type(r.score) is float and type(r.train_accuracy) is float and type(r.n_active) is int
    assert r.n_samples == 20 and r.metric_version == metrics.METRIC_VERSIONS["factor_vae_score"]
    json.dumps(r.to_dict())
    r = beta_vae_score(Grid(), entangled, n_train=10, n_eval=10, batch_size=8, progress=False)
    assert isinstance(r, metrics.BetaVAEResult) and type(r.score) is float and 0.0 <= r.score <= 1.0
    assert r.params["images_encoded"] == 20 * 2 * 8
    json.dumps(r.to_dict())


class NoSampler:
    factor_sizes = (2,)

    def images_for_factors(self, classes):
        return classes


class WrongShape(Grid):
    def sample_factors(self, n, rng):
        return super().sample_factors(n, rng)[:, :2]


@pytest.mark.parametrize("score", [factor_vae_score, beta_vae_score])
@pytest.mark.parametrize(
    "dataset,encode,kwargs,exc,match",
    [
        (NoSampler(), entangled, {}, TypeError,
         r"dataset must provide factor_sizes, sample_factors\(n, rng\) and images_for_factors\(classes\) "
         r"\(the FactorDataset contract\); got NoSampler without sample_factors"),
        (Grid(), "encoder", {}, TypeError, r"encode must be a callable images -> \(n, n_latents\) array; got str"),
        (Grid(), lambda x: entangled(x)[:-1], {}, ValueError,
         r"encode\(images\) and factors must have the same number of samples; got \d+ and \d+"),
        (Grid(), lambda x: entangled(x)[:, 0], {}, ValueError,
         r"encode\(images\) must be 2D with shape \(n_samples, n_latents\); got shape \(\d+,\)"),
        (Grid(), lambda x: np.full((len(x), 2), np.nan), {}, ValueError,
         r"encode\(images\) contains NaN or infinity \(first at row 0\)"),
        (WrongShape(), entangled, {}, ValueError,
         r"dataset.sample_factors\(n, rng\) must return shape \(n, n_factors\) = \(\d+, 3\); got shape \(\d+, 2\)"),
        (Grid(), entangled, {"n_train": 0}, ValueError, r"n_train must be an integer >= 1; got 0"),
        (Grid(), entangled, {"n_eval": 1.5}, TypeError, r"n_eval must be an integer >= 1; got 1.5"),
        (Grid(), entangled, {"random_state": -1}, TypeError, r"random_state must be a non-negative integer seed"),
    ],
)
def test_bad_input_raises(score, dataset, encode, kwargs, exc, match):
    small = dict(n_train=3, n_eval=3, batch_size=4, progress=False)
    if score is factor_vae_score:
        small["n_variance"] = 20
    with pytest.raises(exc, match=match):
        score(dataset, encode, **(small | kwargs))


def test_bad_factor_sizes_raise():
    bad = Grid()
    bad.factor_sizes = ()
    with pytest.raises(ValueError, match=r"dataset.factor_sizes must be a non-empty 1D sequence of class counts; "
                                         r"got \[\]\."):
        beta_vae_score(bad, entangled, n_train=2, n_eval=2, progress=False)


def test_factor_vae_specific_options_raise():
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 2; got 1"):
        factor_vae_score(Grid(), entangled, batch_size=1, progress=False)
    with pytest.raises(ValueError, match=r"prune_threshold must be a finite number in \[0.0, inf\); got -0.1"):
        factor_vae_score(Grid(), entangled, prune_threshold=-0.1, progress=False)
    with pytest.raises(ValueError, match=r"n_variance must be an integer >= 2; got 1"):
        factor_vae_score(Grid(), entangled, n_variance=1, progress=False)

    calls = iter([3, 2])

    def changing(x):
        return np.zeros((len(x), next(calls, 2))) + np.arange(len(x))[:, None]

    with pytest.raises(ValueError, match=r"encode\(images\) must return the same number of latents on every call; "
                                         r"got 2 after 3"):
        factor_vae_score(Grid(), changing, n_variance=20, n_train=3, n_eval=3, batch_size=4, progress=False)


def test_docstring_examples():
    assert doctest.testmod(fv, raise_on_error=False).failed == 0
