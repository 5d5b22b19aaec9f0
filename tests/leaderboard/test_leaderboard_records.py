"""Record: identity hashing, validation messages, (de)serialisation."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from leaderboard import IDENTITY_FIELDS, Record, RecordError, compute_record_id


def test_record_id_is_sha256_of_handwritten_canonical_identity(rec):
    r = rec(value=0.25)
    text = ('{"dataset":"dsprites-procedural","dataset_hash":"sha256:' + "ab" * 32 + '","eval_seed":0,'
            '"metric":"mig","metric_params":{"n_bins":20},"metric_version":"1.0","model":"beta-vae",'
            '"model_config_hash":"cfg-1","profile":"smoke","protocol_version":"2026.1","suite":"disentanglement",'
            '"train_seed":0}')
    assert r.record_id == hashlib.sha256(text.encode()).hexdigest()
    assert r.record_id == compute_record_id(r.identity)
    assert tuple(r.identity) == IDENTITY_FIELDS


def test_payload_does_not_change_the_id_but_every_identity_field_does(rec):
    a = rec(value=0.1)
    assert rec(value=0.9, provenance="submitted-latents", timing={"s": 1}).record_id == a.record_id
    changed = {"suite": "x", "protocol_version": "2", "profile": "quick", "dataset": "d2", "dataset_hash": "h2",
               "model": "m2", "model_config_hash": "c2", "train_seed": 1, "metric": "dci", "metric_version": "2",
               "metric_params": {"n_bins": 21}, "eval_seed": 3}
    assert set(changed) == set(IDENTITY_FIELDS)
    ids = {rec(**{k: v}).record_id for k, v in changed.items()}
    assert len(ids) == len(changed) and a.record_id not in ids


def test_numpy_values_are_converted_to_json(rec):
    r = rec(value=np.float32(0.5), train_seed=np.int64(3),
            components={"per_factor": np.array([0.25, 0.5]), "matrix": np.eye(2, dtype=np.float32), "n": np.int32(4)})
    assert type(r.value) is float and type(r.train_seed) is int
    assert r.components == {"per_factor": [0.25, 0.5], "matrix": [[1.0, 0.0], [0.0, 1.0]], "n": 4}
    json.loads(r.to_json())


def test_round_trip_through_dict_and_json(rec):
    r = rec(value=0.3, components={"a": [1.0, None]}, environment={"git_commit": "abc"}, timing={"eval_s": 0.2},
            provenance="submitted-encoder")
    assert Record.from_dict(r.to_dict()) == r
    assert Record.from_json(r.to_json()) == r
    flat = {**r.identity, "value": 0.3}
    assert Record.from_dict(flat).record_id == r.record_id


@pytest.mark.parametrize("kw, msg", [
    (dict(value=float("nan")), r"Record.value must be finite; got nan"),
    (dict(value=None), r"Record.value is required when status is 'ok'"),
    (dict(status="failed", value=None, error=""), r"Record.error must summarise what went wrong"),
    (dict(status="done"), r"Record.status must be one of 'ok', 'failed', 'invalid'; got 'done'"),
    (dict(provenance="self-reported"), r"Record.provenance must be one of 'measured'"),
    (dict(model=""), r"Record.model must be a non-empty string; got ''"),
    (dict(train_seed=1.5), r"Record.train_seed must be an integer; got 1.5"),
    (dict(train_seed=True), r"Record.train_seed must be an integer; got True"),
    (dict(components={"x": [0.1, float("inf")]}), r"Record.components\['x'\]\[1\] must be finite; got inf"),
    (dict(metric_params={1: 2}), r"Record.metric_params must have string keys"),
    (dict(components={"f": object()}), r"Record.components\['f'\] must be JSON data"),
])
def test_invalid_records_are_refused_with_clear_messages(rec, kw, msg):
    with pytest.raises(RecordError, match=msg):
        rec(**kw)


def test_failed_record_keeps_its_error(rec):
    r = rec(status="failed", value=None, error="CUDA out of memory")
    assert Record.from_json(r.to_json()).error == "CUDA out of memory"


def test_tampered_identity_is_detected(rec):
    d = rec().to_dict()
    d["identity"]["train_seed"] = 7
    with pytest.raises(RecordError, match="does not match the hash of its identity"):
        Record.from_dict(d)


def test_unknown_and_missing_fields(rec):
    d = rec().to_dict()
    d["colour"] = "red"
    with pytest.raises(RecordError, match=r"unknown field\(s\) \['colour'\]"):
        Record.from_dict(d)
    d = rec().to_dict()
    del d["identity"]["dataset"], d["record_id"]
    with pytest.raises(RecordError, match=r"missing identity field\(s\) \['dataset'\]"):
        Record.from_dict(d)
    with pytest.raises(RecordError, match="not valid JSON"):
        Record.from_json("{nope")


def test_records_are_frozen_and_hashable(rec):
    r = rec()
    with pytest.raises(Exception):
        r.value = 1.0  # type: ignore[misc]
    assert len({r, Record.from_dict(r.to_dict()), rec(train_seed=1)}) == 2
    assert hash(r) == hash(rec(value=0.9))  # same identity, same hash


def test_collect_environment_reads_versions_and_git(tmp_path, rec):
    import subprocess

    from leaderboard import collect_environment

    env = collect_environment(("numpy", "no-such-distribution-xyz"))
    assert env["packages"]["numpy"] == np.__version__ and env["packages"]["no-such-distribution-xyz"] is None
    assert env["cpu_count"] >= 1 and env["python"].count(".") == 2
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "m"],
                   check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    env = collect_environment((), repo=tmp_path)
    assert env["git_commit"] == head.strip() and env["git_dirty"] is False
    (tmp_path / "f").write_text("changed")
    assert collect_environment((), repo=tmp_path)["git_dirty"] is True
    assert collect_environment((), repo=tmp_path / "missing")["git_commit"] is None
    json.loads(rec(environment=env).to_json())


def test_lazy_renderers_are_reachable_from_the_package():
    import leaderboard as lb

    from leaderboard.html import write_html
    assert lb.write_html is write_html
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        lb.nope  # noqa: B018
