"""StyleGAN2 training and Householder fine-tuning on the engine, the directions of each method, and the
evaluation's edits and path lengths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import datasets
from benchmark.suites.latent_semantics import evaluation as ev
from benchmark.suites.latent_semantics.config import EvalSettings, GanSettings
from benchmark.suites.latent_semantics.gan import (ImageBatches, StyleGANTask, insert_projectors, load_generator,
                                                   projector_layers)
from benchmark.suites.latent_semantics.householder import HouseholderModulation
from benchmark.suites.latent_semantics.probe import FactorProbe
from benchmark.training import EngineConfig, train

TINY = GanSettings(size=32, style_dim=16, n_mlp=2, channels=((4, 16), (8, 16), (16, 16), (32, 16)), batch=4,
                   iterations=6, checkpoint_every=3, finetune_fraction=0.5, d_reg_every=2, g_reg_every=2)


@pytest.fixture(scope="module")
def shapes():
    return datasets.load("shapes3d-procedural-32px")


def _task(shapes, init_from=None, s=TINY):
    return StyleGANTask(s, ImageBatches(shapes), label="test", data_hash=shapes.content_hash, init_from=init_from)


def _cfg(steps, checkpoint_every=3):
    return EngineConfig(steps=steps, seed=0, device="cpu", cpu_threads=1, precision="fp32",
                        checkpoint_every=checkpoint_every, log_every=1, progress=False)


@pytest.fixture(scope="module")
def pretrained(shapes, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrained")
    train(_cfg(TINY.iterations), _task(shapes), run_dir=folder)
    return folder


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_an_interrupted_gan_run_resumes_bit_for_bit(shapes, pretrained, tmp_path):
    """Lazy R1 and path-length steps (every 2nd step), style mixing and the path-length mean (task state) all
    continue exactly after a resume."""
    train(_cfg(3), _task(shapes), run_dir=tmp_path)  # stopped at step 3 ...
    task = _task(shapes)
    resumed = train(_cfg(TINY.iterations), task, run_dir=tmp_path)  # ... and resumed to 6
    assert resumed.start_step == 3
    whole = load_generator(pretrained / "checkpoint.pt", TINY, which="g")
    for k, v in whole.state_dict().items():
        torch.testing.assert_close(resumed.model["g"].state_dict()[k], v, rtol=0, atol=0)
    assert task.mean_path_length != 0.0  # the path-length regulariser ran and its running mean is kept
    ema = load_generator(pretrained / "checkpoint.pt", TINY)
    assert not torch.equal(ema.style[1].weight, whole.style[1].weight)  # the EMA is its own copy


def test_fine_tuning_starts_from_the_pretrained_weights_with_projectors(shapes, pretrained, tmp_path):
    g_pre = load_generator(pretrained / "checkpoint.pt", TINY)
    task = _task(shapes, init_from=pretrained / "checkpoint.pt")
    models = task.build_model()
    layers = projector_layers(models["g_ema"])
    assert [res for _, res, _ in layers] == [8, 16, 32] and [row for _, _, row in layers] == [1, 3, 5]
    for block, _, _ in layers:  # the first (upsampling) conv of every block from 8 px: projectors; the rest not
        assert isinstance(models["g_ema"].convs[2 * block].conv.modulation, HouseholderModulation)
        assert not isinstance(models["g_ema"].convs[2 * block + 1].conv.modulation, HouseholderModulation)
    assert not isinstance(models["g_ema"].conv1.conv.modulation, HouseholderModulation)
    # everything else is the pretrained generator's
    torch.testing.assert_close(models["g_ema"].convs[0].conv.weight, g_pre.convs[0].conv.weight)
    # at insertion the projector's directions are the top-k right singular vectors of the pretrained weight:
    # SeFa's directions up to sign
    house = ev.method_directions("householder", models["g_ema"], g_pre, TINY.k, seed=0)
    sefa = ev.method_directions("sefa", models["g_ema"], g_pre, TINY.k, seed=0)
    for h, s in zip(house, sefa):
        np.testing.assert_allclose(np.abs(h.vectors @ s.vectors.T), np.eye(TINY.k), atol=1e-4)
    # fine-tuning moves the projector's parameters (the gradient reaches U_p and V_p)
    before = {k: v.clone() for k, v in models["g"].named_parameters() if k.endswith(("U_p", "V_p"))}
    assert len(before) == 2 * len(layers)
    result = train(_cfg(task.steps), task, run_dir=tmp_path)
    assert result.steps == TINY.finetune_iterations == 3
    after = dict(result.model["g"].named_parameters())
    assert all(not torch.equal(after[k], v) for k, v in before.items())
    tuned = load_generator(tmp_path / "checkpoint.pt", TINY, householder=True)
    for layer in ev.method_directions("householder", tuned, g_pre, TINY.k, seed=0):
        np.testing.assert_allclose(layer.vectors @ layer.vectors.T, np.eye(TINY.k), atol=1e-5)


def test_random_directions_are_seeded_and_differ_by_layer(pretrained):
    g = load_generator(pretrained / "checkpoint.pt", TINY)
    a = ev.method_directions("random", g, g, TINY.k, seed=3)
    b = ev.method_directions("random", g, g, TINY.k, seed=3)
    assert all(np.array_equal(x.vectors, y.vectors) for x, y in zip(a, b))
    assert not np.allclose(a[0].vectors, a[1].vectors)
    with pytest.raises(ValueError, match="with projectors"):
        ev.method_directions("householder", g, g, TINY.k, seed=0)
    with pytest.raises(ValueError, match="method must be one of"):
        ev.method_directions("pca", g, g, TINY.k, seed=0)


SMALL_EVAL = EvalSettings(n_latents=3, n_alpha=5, n_mean_latent=64, n_fid=16, n_real=16, n_ppl=24, batch=32)


@pytest.fixture(scope="module")
def projected(pretrained):
    g = load_generator(pretrained / "checkpoint.pt", TINY)
    insert_projectors(g, TINY.k)
    return g.eval()


def test_an_edit_moves_one_layer_and_alpha_zero_is_the_unedited_image(projected, shapes):
    torch.manual_seed(0)
    probe = FactorProbe(shapes.factor_sizes, width=8, image_size=32).eval()
    layers = ev.method_directions("householder", projected, projected, TINY.k, seed=0)[:1]
    layers[0].vectors = layers[0].vectors[:2]
    alphas, preds, examples, grid = ev.traverse(projected, layers, probe, SMALL_EVAL, seed=5)
    assert alphas.shape == (2, 3 * 5) and preds.shape == (2, 15, len(shapes.factor_sizes))
    assert examples.shape == (2, 5, 3, 32, 32) and examples.dtype == np.uint8
    np.testing.assert_allclose(grid, -grid[::-1])
    assert grid[-1] > 0 and grid[2] == 0
    np.testing.assert_array_equal(alphas[0, :5], np.arange(5))
    np.testing.assert_array_equal(examples[0, 2], examples[1, 2])  # alpha 0: the same image for every direction
    assert not np.array_equal(examples[0, 0], examples[0, 4])  # the edit changes the image
    again = ev.traverse(projected, layers, probe, SMALL_EVAL, seed=5)
    np.testing.assert_array_equal(again[2], examples)


def test_pipl_is_zero_along_directions_outside_the_projector_rank(projected, shapes):
    """A = Q(U) S Q(V) has rank k: a direction among the last rows of Q(V) does not change the style, so edits
    along it leave the image as it is, while the discovered directions do change it. (The edited W+ row also
    feeds the previous block's ToRGB, as in the reference's layout; its modulation is zeroed here.)"""
    import copy

    torch.manual_seed(0)
    probe = FactorProbe(shapes.factor_sizes, width=8, image_size=32).eval()
    projected = copy.deepcopy(projected)
    with torch.no_grad():
        projected.to_rgbs[0].conv.modulation.weight.zero_()
    layer = ev.method_directions("householder", projected, projected, TINY.k, seed=0)[1]
    full_q = projected.convs[2 * layer.block].conv.modulation._q(
        projected.convs[2 * layer.block].conv.modulation.V_p).detach().double().numpy()
    outside = dataclasses.replace(layer, vectors=full_q[TINY.k:])
    assert ev.path_length(projected, probe, SMALL_EVAL, seed=1, layers=[outside], eps=1.0) < 1e-6
    assert ev.path_length(projected, probe, SMALL_EVAL, seed=1, layers=[layer], eps=1.0) > 1e-4
    ppl = ev.path_length(projected, probe, SMALL_EVAL, seed=1)
    assert np.isfinite(ppl) and ppl > 0
    assert ev.path_length(projected, probe, SMALL_EVAL, seed=1) == ppl  # seeded


def test_settings_reject_what_cannot_be_built():
    with pytest.raises(ValueError, match="size must be 32 or 64"):
        GanSettings(size=128)
    with pytest.raises(ValueError, match="missing"):
        GanSettings(size=64)  # the default channels stop at 32 px
    with pytest.raises(ValueError, match="k = 10 exceeds"):
        GanSettings(style_dim=8)
    assert GanSettings.from_dict(TINY.to_dict()) == TINY
    assert TINY.ema_decay(100) == pytest.approx(0.5 ** (4 / 10_000))
    ramped = dataclasses.replace(TINY, ema_rampup=0.05)
    assert ramped.ema_decay(100) == pytest.approx(0.5 ** (4 / (100 * 4 * 0.05)))  # 20 images of half-life
    assert ramped.ema_decay(10**6) == TINY.ema_decay(100)
    assert ramped.ema_decay(0) == 0.0  # the first step copies the generator
