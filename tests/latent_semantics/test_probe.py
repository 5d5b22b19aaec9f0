"""The factor probe: it learns the factors, is cached by the dataset's content and settings, and survives a
damaged cache file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import datasets
from benchmark.suites.latent_semantics.probe import FactorProbe, ProbeSettings, load_or_train_probe, probe_key

SETTINGS = ProbeSettings(steps=200, batch_size=64, width=16, lr=3e-3, n_heldout=300, seed=0)


@pytest.fixture(scope="module")
def shapes():
    return datasets.load("shapes3d-procedural-32px")


def test_the_probe_reads_the_hues_and_is_cached(shapes, tmp_path):
    first = load_or_train_probe(shapes, tmp_path, SETTINGS)
    names = list(shapes.factor_names)
    assert not first.cached and len(first.accuracy) == len(names)
    for hue in ("floor_hue", "wall_hue"):  # whole-image colours: learned in 200 steps (chance 0.1)
        assert first.accuracy[names.index(hue)] > 0.8
    again = load_or_train_probe(shapes, tmp_path, SETTINGS)
    assert again.cached and again.accuracy == first.accuracy and again.key == first.key
    x = torch.from_numpy(shapes.images_at(np.arange(20), np.float32))
    np.testing.assert_array_equal(again.probe.predict(x), first.probe.predict(x))
    assert (tmp_path / f"probe-{first.key}.pt").is_file()


def test_the_cache_key_follows_the_data_and_the_settings(shapes):
    dsprites = datasets.load("dsprites-procedural-32px")
    assert probe_key(shapes, SETTINGS) != probe_key(dsprites, SETTINGS)
    assert probe_key(shapes, SETTINGS) != probe_key(shapes, dataclasses.replace(SETTINGS, steps=151))
    assert probe_key(shapes, SETTINGS) == probe_key(datasets.load("shapes3d-procedural-32px"), SETTINGS)


def test_a_damaged_cache_file_is_trained_over(shapes, tmp_path):
    settings = dataclasses.replace(SETTINGS, steps=5)
    (tmp_path / f"probe-{probe_key(shapes, settings)}.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="cannot be read"):
        result = load_or_train_probe(shapes, tmp_path, settings)
    assert not result.cached and load_or_train_probe(shapes, tmp_path, settings).cached


def test_probe_shapes_and_refusals():
    probe = FactorProbe([3, 6, 40], width=8, image_size=64)
    logits = probe(torch.zeros(2, 3, 64, 64))
    assert [tuple(t.shape) for t in logits] == [(2, 3), (2, 6), (2, 40)] and probe.feature_dim == 32
    assert probe.predict(torch.zeros(5, 3, 64, 64)).shape == (5, 3)
    with pytest.raises(ValueError, match="32 or 64 px"):
        FactorProbe([3], image_size=48)
