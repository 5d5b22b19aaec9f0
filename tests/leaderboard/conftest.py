"""Shared helpers for the leaderboard tests: a record factory and a small synthetic leaderboard."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard import Record

BASE = dict(suite="disentanglement", protocol_version="2026.1", profile="smoke", dataset="dsprites-procedural",
            dataset_hash="sha256:" + "ab" * 32, model="beta-vae", model_config_hash="cfg-1", train_seed=0,
            metric="mig", metric_version="1.0", metric_params={"n_bins": 20}, eval_seed=0)


def make_record(value=0.5, **kw) -> Record:
    fields = {**BASE, "value": value, **kw}
    if fields.get("status", "ok") != "ok":
        fields.setdefault("error", "RuntimeError: boom")
    return Record(**fields)


@pytest.fixture
def rec():
    return make_record


@pytest.fixture
def runs(rec):
    """``runs(model, values, dataset=..., metric=...)``: one ok record per training seed."""
    def make(model, values, dataset="d1", metric="infom", **kw):
        return [rec(model=model, model_config_hash=f"cfg-{model}", dataset=dataset, metric=metric, metric_params={},
                    train_seed=i, value=float(v), **kw) for i, v in enumerate(values)]
    return make


def synthetic_records(n_seeds: int = 5, seed: int = 0) -> list[Record]:
    """4 methods x 2 datasets x 3 metrics; qlae clearly best, beta-vae and beta-tcvae indistinguishable."""
    rng = np.random.default_rng(seed)
    out = []
    for model, delta, seeds in (("qlae", 0.25, n_seeds), ("beta-vae", 0.05, n_seeds), ("beta-tcvae", 0.05, n_seeds),
                                ("ae", 0.0, 3)):
        for dataset, h in (("shapes3d-procedural", "cd"), ("dsprites-procedural", "ab")):
            for metric, base in (("mig", 0.3), ("infom", 0.55), ("infoc", 0.5)):
                for s in range(seeds):
                    out.append(make_record(value=float(np.clip(base + delta + rng.normal(0, 0.03), 0, 1)),
                                           model=model, model_config_hash=f"cfg-{model}", dataset=dataset,
                                           dataset_hash="sha256:" + h * 32, metric=metric, train_seed=s,
                                           metric_params={}, environment={"git_commit": "abc123"},
                                           timing={"eval_s": 0.25}))
    return out


@pytest.fixture
def synthetic():
    return synthetic_records()


@pytest.fixture
def synth():
    return synthetic_records


# A wide interval shares rank 1 with the leader while its IQM is below that of a narrow rank-2 model: ranked by
# shared rank, "beta_vae rank 1 at 0.488" was listed above "ae rank 2 at 0.498" and read as an error.
OVERLAP = {"top": [0.60, 0.61, 0.60, 0.62, 0.61],
           "ae": [0.497, 0.498, 0.499, 0.498, 0.497, 0.499],
           "beta_vae": [0.05, 0.10, 0.30, 0.42, 0.45, 0.47, 0.80, 0.90, 0.95]}


def overlap_records(metric: str = "mig") -> list:
    """``OVERLAP`` (mirrored, 1 - v, for a lower-is-better metric, so that the same model is best)."""
    flip = metric == "mse"
    return [make_record(value=(1 - v) if flip else v, model=m, model_config_hash=f"cfg-{m}", metric=metric,
                        metric_params={}, train_seed=i) for m, vs in OVERLAP.items() for i, v in enumerate(vs)]


@pytest.fixture
def overlap():
    return overlap_records
