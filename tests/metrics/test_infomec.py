"""Tests of metrics.infomec against an independent re-derivation and the paper's properties."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, mutual_info_score
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

import metrics
from tests.metrics._data import grid


def reference_infomec(sources, latents, discrete, *, n_neighbors=10, threshold=1 / 20):
    """compute_infomec (Hsu et al. 2023, standalone) re-derived from its description, with sklearn."""
    s = np.column_stack([LabelEncoder().fit_transform(c) for c in sources.T])
    k, n_lat = s.shape[1], latents.shape[1]
    nmi = np.zeros((k, n_lat))
    if discrete:
        z = np.column_stack([LabelEncoder().fit_transform(c) for c in latents.T])
        for i in range(k):
            for j in range(n_lat):
                nmi[i, j] = mutual_info_score(s[:, i], z[:, j]) / mutual_info_score(s[:, i], s[:, i])
    else:
        z = StandardScaler().fit_transform(latents)
        for i in range(k):
            h = mutual_info_score(s[:, i], s[:, i])
            for j in range(n_lat):
                nmi[i, j] = mutual_info_classif(z[:, [j]], s[:, i], n_neighbors=n_neighbors, random_state=0)[0] / h
    ranges = latents.max(0) - latents.min(0)
    active = ranges > 0 if discrete else ranges > ranges.max() * threshold
    p = nmi[:, active]
    infom = ((p.max(0) / p.sum(0)).mean() - 1 / k) / (1 - 1 / k)
    infoc = ((p.max(1) / p.sum(1)).mean() - 1 / p.shape[1]) / (1 - 1 / p.shape[1])
    x = OneHotEncoder().fit_transform(latents) if discrete else StandardScaler().fit_transform(latents)
    gains = []
    for i in range(k):
        model = LogisticRegression(C=np.inf, class_weight="balanced", max_iter=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, s[:, i])
        ce = log_loss(s[:, i], model.predict_proba(x))
        gains.append((np.log(len(np.unique(s[:, i]))) - ce) / np.log(len(np.unique(s[:, i]))))
    return infom, float(np.mean(gains)), infoc, nmi, active


def mixed_representation(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, [4, 5, 3], size=(n, 3))
    z = np.column_stack([
        s[:, 0] + 0.3 * rng.normal(size=n),
        s[:, 1] + 0.5 * s[:, 2] + 0.3 * rng.normal(size=n),
        s[:, 2] + 0.2 * s[:, 0] + 0.4 * rng.normal(size=n),
        0.5 * s[:, 1] + rng.normal(size=n),
        0.001 * rng.normal(size=n),  # inactive: range far below max range / 20
    ])
    return s, z


def test_continuous_matches_reference():
    s, z = mixed_representation()
    r = metrics.infomec(s, z, discrete_latents=False)
    infom, infoe, infoc, nmi, active = reference_infomec(s, z, discrete=False)
    np.testing.assert_array_equal(r.active, active)
    np.testing.assert_allclose(r.nmi, nmi, atol=1e-6)  # the kNN jitter differs (1e-10 scale)
    assert r.infom == pytest.approx(infom, abs=1e-6)
    assert r.infoc == pytest.approx(infoc, abs=1e-6)
    assert r.infoe == pytest.approx(infoe, abs=1e-9)


def test_discrete_matches_reference():
    s, z = mixed_representation(seed=1)
    q = np.round(z[:, :4] * 2) / 2  # quantised values as floats, as a QLAE gives them
    q = np.column_stack([q, np.full(len(q), 0.25)])  # a constant (inactive) discrete latent
    r = metrics.infomec(s, q, discrete_latents=True)
    infom, infoe, infoc, nmi, active = reference_infomec(s, q, discrete=True)
    np.testing.assert_array_equal(r.active, active)
    np.testing.assert_allclose(r.nmi, nmi, rtol=1e-12, atol=1e-14)
    assert r.infom == pytest.approx(infom, abs=1e-12)
    assert r.infoc == pytest.approx(infoc, abs=1e-12)
    # one factor's probe stops at max_iter=100 unconverged in both (the constant latent's one-hot column duplicates
    # the intercept); rounding of the sums moves that stopping point, and InfoE, by 1e-6
    assert r.infoe == pytest.approx(infoe, abs=1e-6)


def test_per_latent_and_per_factor_terms():
    # The terms InfoM and InfoC average, against the reference formulas applied term by term
    s, z = mixed_representation(seed=1)
    q = np.column_stack([np.round(z[:, :4] * 2) / 2, np.full(len(z), 0.25)])  # last latent inactive
    r = metrics.infomec(s, q, discrete_latents=True)
    _, _, _, nmi, active = reference_infomec(s, q, discrete=True)
    p, k, n_active = nmi[:, active], nmi.shape[0], int(active.sum())
    np.testing.assert_allclose(r.infom_per_latent[active], ((p.max(0) / p.sum(0)) - 1 / k) / (1 - 1 / k), rtol=1e-12)
    np.testing.assert_allclose(r.infoc_per_factor, ((p.max(1) / p.sum(1)) - 1 / n_active) / (1 - 1 / n_active),
                               rtol=1e-12)
    assert r.infom_per_latent[~active].tolist() == [0.0]  # not counted: inactive
    assert r.infom == pytest.approx(r.infom_per_latent[active].mean(), abs=1e-15)
    assert r.infoc == pytest.approx(r.infoc_per_factor.mean(), abs=1e-15)
    # a constant factor holds 0 and is left out of the InfoC mean; an uninformative active latent too
    i = np.arange(600)
    s2 = np.column_stack([i % 3, np.zeros(600, int), (i // 3) % 2])
    z2 = np.column_stack([s2[:, 0], s2[:, 2], (i // 6) % 5]).astype(float)  # z2[:, 2] independent of both
    r2 = metrics.infomec(s2, z2, discrete_latents=True)
    assert r2.infoc_per_factor[1] == 0.0 and r2.infom_per_latent[2] == 0.0
    assert r2.infoc == pytest.approx(r2.infoc_per_factor[[0, 2]].mean(), abs=1e-15)
    assert r2.infom == pytest.approx(r2.infom_per_latent[:2].mean(), abs=1e-15) == pytest.approx(1.0)


def test_one_to_one_representation_is_perfectly_modular_and_compact():
    # full factorial grid, as the ground-truth datasets are: factors are exactly independent
    s = grid((5, 4, 6), repeats=10)
    r = metrics.infomec(s, s[:, [2, 0, 1]].astype(np.float32), discrete_latents=True)
    assert r.infom == pytest.approx(1.0, abs=1e-12)
    assert r.infoc == pytest.approx(1.0, abs=1e-12)
    assert r.infoe > 0.99


def test_independent_noise_scores_near_zero():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, size=(20000, 3))
    noise = rng.integers(0, 10, size=(20000, 6))
    r = metrics.infomec(s, noise, discrete_latents=True)
    assert r.infom < 0.15 and r.infoc < 0.15 and r.infoe < 0.01


@settings(max_examples=15, deadline=None)
@given(st.permutations(list(range(5))))
def test_permuting_latents_permutes_nmi_and_keeps_scores(perm):
    s, z = mixed_representation(n=600, seed=4)
    q = np.round(z * 2)
    base = metrics.infomec(s, q, discrete_latents=True)
    r = metrics.infomec(s, q[:, perm], discrete_latents=True)
    np.testing.assert_allclose(r.nmi, base.nmi[:, perm], rtol=1e-12, atol=1e-15)
    assert r.infom == pytest.approx(base.infom, abs=1e-12)
    assert r.infoc == pytest.approx(base.infoc, abs=1e-12)
    assert r.infoe == pytest.approx(base.infoe, abs=1e-4)  # L-BFGS stops at max_iter along another path


def test_rescaling_a_continuous_latent_changes_nothing():
    s, z = mixed_representation(seed=5)
    # NMI is invariant to any per-latent affine map ...
    per_latent = z * np.array([100.0, 0.01, 3.0, 1.0, 2.0]) - 7.0
    np.testing.assert_allclose(
        metrics.infomec(s, per_latent).nmi, metrics.infomec(s, z).nmi, atol=1e-9
    )
    # ... and the scores to a common rescaling plus per-latent shifts. (The reference's activity
    # rule compares raw ranges, range_j > max range / 20, so it is deliberately not invariant to
    # rescaling one latent alone.)
    scaled = z * 250.0 + np.array([1.0, -2.0, 3.0, 0.0, 5.0])
    a = metrics.infomec(s, z, discrete_latents=False)
    b = metrics.infomec(s, scaled, discrete_latents=False)
    np.testing.assert_allclose(b.nmi, a.nmi, atol=1e-9)
    np.testing.assert_array_equal(b.active, a.active)
    assert (b.infom, b.infoc) == pytest.approx((a.infom, a.infoc), abs=1e-9)
    assert b.infoe == pytest.approx(a.infoe, abs=1e-6)


def test_training_variant_settings():
    s, z = mixed_representation(seed=6)
    r = metrics.infomec(s, z, variant="training")
    assert r.params["n_neighbors"] == 3 and r.params["activity_threshold"] == 1 / 8
    ranges = z.max(0) - z.min(0)
    np.testing.assert_array_equal(r.active, ranges > ranges.max() / 8)
    q = np.round(z)
    rt = metrics.infomec(s, q, discrete_latents=True, variant="training")
    assert rt.params["infoe_features_resolved"] == "standardize"
    assert metrics.infomec(s, q, discrete_latents=True).params["infoe_features_resolved"] == "onehot"


def test_edge_cases_are_defined_never_nan():
    rng = np.random.default_rng(7)
    i = np.arange(600)
    s = np.column_stack([i % 3, np.zeros(600, int), (i // 3) % 2])  # factorial: independent factors
    z = np.column_stack([s[:, 0], s[:, 2], np.zeros(600)]).astype(float)
    r = metrics.infomec(s, z, discrete_latents=True)
    assert r.infoe_per_factor[1] == 0.0 and np.all(r.nmi[1] == 0.0)  # constant factor left out
    assert r.infom == pytest.approx(1.0) and r.infoc == pytest.approx(1.0)
    one = metrics.infomec(s, z[:, :1], discrete_latents=True)  # a single active latent
    assert one.infoc == pytest.approx(0.5)  # factor 0 captured, factor 2 not
    none = metrics.infomec(s, np.zeros((600, 2)), discrete_latents=True)  # no active latent
    assert (none.infom, none.infoc) == (0.0, 0.0)
    for res in (r, one, none):
        assert all(np.isfinite([res.infom, res.infoe, res.infoc]))
    with pytest.raises(ValueError, match="sources must have at least one non-constant factor; all 2 factors are constant"):
        metrics.infomec(np.zeros((50, 2), int), rng.normal(size=(50, 2)))


def test_result_contract_and_dtype_default():
    s, z = mixed_representation(n=300, seed=8)
    r = metrics.infomec(s, z)
    assert type(r.infom) is float and type(r.infoe) is float and type(r.infoc) is float
    assert r.nmi.shape == (3, 5) and r.active.shape == (5,) and r.active.dtype == bool
    assert r.params["discrete_latents"] is False
    assert metrics.infomec(s, np.round(z).astype(int)).params["discrete_latents"] is True
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        r.nmi[0, 0] = 1.0
    d = r.to_dict()
    assert isinstance(d["nmi"], list) and d["metric_version"] == metrics.METRIC_VERSIONS["infomec"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"variant": "paper"}, ValueError, r"variant must be one of 'standalone', 'training'; got 'paper'"),
        ({"discrete_latents": "yes"}, TypeError, r"discrete_latents must be True or False; got 'yes'"),
        ({"activity_threshold": 2.0}, ValueError, r"activity_threshold must be a finite number in \[0.0, 1.0\]; got 2.0"),
        ({"infoe_features": "pca"}, ValueError, r"infoe_features must be one of 'auto', 'onehot', 'standardize'; got 'pca'"),
        ({"n_neighbors": 0}, ValueError, r"n_neighbors must be an integer >= 1; got 0"),
    ],
)
def test_bad_parameters(kwargs, error, message):
    s, z = mixed_representation(n=100, seed=9)
    with pytest.raises(error, match=message):
        metrics.infomec(s, z, **kwargs)


def test_narrow_integer_and_bool_latents_score_as_their_values():
    # Latent ranges are taken in float64: int8 codes spanning -128..127 once wrapped to a range of
    # -1 (every latent inactive), and bool latents could not be subtracted at all.
    rng = np.random.default_rng(21)
    s = rng.integers(0, 4, size=(800, 2))
    wide = np.column_stack([s[:, 0] * 85 - 128, s[:, 1] * 60 - 100 + rng.integers(0, 2, 800)])
    for discrete in (True, False):
        a = metrics.infomec(s, wide.astype(np.int8), discrete_latents=discrete)
        b = metrics.infomec(s, wide.astype(np.int64), discrete_latents=discrete)
        assert a.active.all() and (a.infom, a.infoe, a.infoc) == (b.infom, b.infoe, b.infoc)
    flags = np.column_stack([s[:, 0] > 1, s[:, 1] == 0])
    for discrete in (True, False):
        a = metrics.infomec(s, flags, discrete_latents=discrete)
        b = metrics.infomec(s, flags.astype(np.uint8), discrete_latents=discrete)
        assert a.active.all() and (a.infom, a.infoe, a.infoc) == (b.infom, b.infoe, b.infoc)
