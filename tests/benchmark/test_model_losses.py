"""Quantization invariants, loss formulas of every model, and that every model learns on tiny data."""

import contextlib
import math

import numpy as np
import pytest
import torch
from models_toy_data import BarDataset, single_torch_thread  # noqa: F401 (autouse fixture)
from scipy.special import logsumexp

from benchmark.suites.disentanglement.models import (
    MODEL_NAMES,
    QLAE,
    BetaTCVAE,
    ModelConfig,
    QuantizedLatent,
    make_optimizers,
    model_from_config,
    reference_config,
)
from benchmark.suites.disentanglement.training import train_step

SHAPE = (1, 32, 32)


def _model(name="qlae", **overrides):
    torch.manual_seed(0)
    cfg = reference_config(name, architecture="small", **overrides)
    return model_from_config(cfg, image_shape=SHAPE, n_factors=3, dataset_size=24)


def _batch(n=8, seed=0):
    ds = BarDataset()
    return torch.from_numpy(ds.images_for_factors(ds.sample_factors(n, np.random.default_rng(seed))))


# ---------------------------------------------------------------- quantization
def test_codebook_initialisation_and_quantized_values_are_codebook_values():
    latent = QuantizedLatent(5, 10)
    assert latent.values.shape == (5, 10)
    torch.testing.assert_close(latent.values.data, torch.linspace(-0.5, 0.5, 10).repeat(5, 1), rtol=0, atol=0)
    with torch.no_grad():
        latent.values.add_(torch.randn(5, 10, generator=torch.Generator().manual_seed(1)) * 0.1)  # per-dim codebooks differ
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(2))
    out = latent(x)
    q, codebook = out["z_quantized"], latent.values.data
    for d in range(5):
        assert torch.isin(q[:, d], codebook[d]).all()
    # nearest value, against a brute-force numpy search
    xn, cn = x.numpy(), codebook.numpy()
    expected = cn[np.arange(5)[None, :], np.abs(xn[:, :, None] - cn[None]).argmin(2)]
    np.testing.assert_array_equal(q.detach().numpy(), expected)
    torch.testing.assert_close(out["z_hat"], q, rtol=0, atol=1e-6)


def test_straight_through_gradient_is_identity_and_losses_route_gradients():
    latent = QuantizedLatent(3, 10)
    x = torch.randn(16, 3, requires_grad=True)
    out = latent(x)
    (grad_x,) = torch.autograd.grad(out["z_hat"].sum(), x)
    torch.testing.assert_close(grad_x, torch.ones_like(x))  # z_hat = x + (q - x).detach()
    q_loss = latent.quantization_loss(out["z_continuous"], out["z_quantized"]).mean()
    gx, gv = torch.autograd.grad(q_loss, [x, latent.values], allow_unused=True)
    assert gx is None and gv.abs().sum() > 0  # quantization loss: codebook only
    c_loss = latent.commitment_loss(latent(x)["z_continuous"], latent(x)["z_quantized"]).mean()
    gx, gv = torch.autograd.grad(c_loss, [x, latent.values], allow_unused=True)
    assert gx.abs().sum() > 0 and gv is None  # commitment loss: encoder only


def test_global_codebook_is_shared_and_stays_shared():
    model = _model("qlae_global_codebook")
    assert model.latent.values.shape == (10,)
    opt = make_optimizers(model)["model"]
    loss, _ = model.loss("model", _batch(), None)
    loss.backward()
    opt.step()
    codebook = model.latent.codebook()
    assert codebook.shape == (6, 10) and torch.all(codebook == codebook[0])
    assert torch.isin(model.encode(_batch()), model.latent.values).all()


def test_n_values_flag_sets_codebook_size_and_sample_is_uniform_over_codebook():
    model = _model("qlae", n_values=4)
    assert model.latent.values.shape == (6, 4)
    z = model.latent.sample(4000, torch.Generator().manual_seed(0))
    for d in range(6):
        values, counts = torch.unique(z[:, d], return_counts=True)
        torch.testing.assert_close(values, torch.linspace(-0.5, 0.5, 4))
        assert counts.min() > 850  # 1000 expected per value


def test_qlae_straight_through_reaches_encoder_and_codebook_learns_only_from_quantization_loss():
    x = _batch()
    model = _model("qlae", quantization_weight=0.0)
    loss, _ = model.loss("model", x, None)
    loss.backward()
    assert model.encoder.head.weight.grad.abs().sum() > 0  # BCE gradient passes the quantizer
    assert model.latent.values.grad is None or model.latent.values.grad.abs().sum() == 0
    model = _model("qlae")
    model.loss("model", x, None)[0].backward()
    assert model.latent.values.grad.abs().sum() > 0


# ---------------------------------------------------------------- loss formulas (every weight flag)
def test_qlae_loss_composition():
    x = _batch()
    parts = {}
    for wq, wc in [(0.01, 0.01), (0.5, 2.0)]:
        model = _model("qlae", quantization_weight=wq, commitment_weight=wc)
        loss, p = model.loss("model", x, None)
        torch.testing.assert_close(loss, p["bce"] + wq * p["quantization"] + wc * p["commitment"])
        parts[wq] = p
    torch.testing.assert_close(parts[0.01]["quantization"], parts[0.5]["quantization"])  # same init, same batch


@pytest.mark.parametrize("beta", [1.0, 7.0])
def test_beta_vae_loss_composition_and_encode_is_mean(beta):
    x = _batch()
    model = _model("beta_vae", beta=beta)
    loss, p = model.loss("model", x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss, p["bce"] + (6 / math.prod(SHAPE)) * beta * p["kl"])
    torch.testing.assert_close(model.encode(x), model.posterior(x)[0])
    torch.testing.assert_close(model.encode(x), model.encode(x), rtol=0, atol=0)  # no sampling at inference


def test_beta_tcvae_minibatch_weighted_sampling_against_numpy():
    model = _model("beta_tcvae")
    g = torch.Generator().manual_seed(0)
    mu, sigma = torch.randn(5, 3, generator=g), torch.rand(5, 3, generator=g) + 0.5
    z = mu + sigma * torch.randn(5, 3, generator=g)
    mi, tc, dim_kl = model.tc_terms(z, mu, sigma)
    zn, mn, sn = z.numpy().astype(np.float64), mu.numpy().astype(np.float64), sigma.numpy().astype(np.float64)
    log_q = -0.5 * np.log(2 * np.pi) - np.log(sn[None]) - 0.5 * ((zn[:, None] - mn[None]) / sn[None]) ** 2  # (i, j, l)
    norm = np.log(5 * 24)
    log_qz = logsumexp(log_q.sum(2), axis=1) - norm
    log_prod = (logsumexp(log_q, axis=1) - norm).sum(1)
    log_qzx = np.array([log_q[i, i].sum() for i in range(5)])
    log_pz = (-0.5 * np.log(2 * np.pi) - 0.5 * zn ** 2).sum(1)
    np.testing.assert_allclose(mi.numpy(), log_qzx - log_qz, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tc.numpy(), log_qz - log_prod, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dim_kl.numpy(), log_prod - log_pz, rtol=1e-5, atol=1e-5)


def test_beta_tcvae_loss_composition():
    x = _batch()
    alpha, beta, gamma = 0.5, 4.0, 2.0
    model = _model("beta_tcvae", tc_mi_weight=alpha, beta=beta, tc_dimkl_weight=gamma)
    loss, p = model.loss("model", x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss, p["bce"] + (alpha * p["mi"] + beta * p["tc"] + gamma * p["dim_kl"]) / math.prod(SHAPE))
    with pytest.raises(ValueError, match="dataset_size is required for 'beta_tcvae'"):
        model_from_config(reference_config("beta_tcvae"), image_shape=SHAPE, n_factors=3)
    with pytest.raises(ValueError, match="dataset_size must be an integer >= 1; got 0"):
        BetaTCVAE(reference_config("beta_tcvae", architecture="small"), SHAPE, 3, 0)


def test_bio_ae_loss_composition():
    x = _batch()
    model = _model("bio_ae", nonnegativity_weight=3.0, activity_weight=0.5)
    loss, p = model.loss("model", x, None)
    z = model.encode(x)
    torch.testing.assert_close(p["nonnegativity"], torch.relu(-z).mean())
    torch.testing.assert_close(p["activity"], z.square().mean())
    torch.testing.assert_close(loss, p["bce"] + 3.0 * p["nonnegativity"] + 0.5 * p["activity"])


@pytest.mark.parametrize("name", ["infowgan_gp", "ql_infowgan_gp"])
def test_gan_losses_and_phase_schedule(name):
    x = _batch()
    model = _model(name, gradient_penalty_weight=3.0, latent_weight=7.0, critic_steps_per_generator_step=3)
    # the reference: the generator steps when (step + 1) % period == 0, after the period's critic steps
    assert [model.phases(s) for s in range(6)] == [("critic",), ("critic",), ("critic", "generator")] * 2
    loss, p = model.loss("critic", x, torch.Generator().manual_seed(0))
    extra = loss - (-p["wasserstein"] + 3.0 * p["gradient_penalty"] + 7.0 * p["latent_critic"])
    if name == "infowgan_gp":
        torch.testing.assert_close(extra, torch.tensor(0.0), atol=1e-4, rtol=0)
    else:  # 0.01 quantization + 0.01 commitment, both >= 0
        assert 0 <= float(extra.detach()) < 1.0
    loss, p = model.loss("generator", x, torch.Generator().manual_seed(0))
    assert loss.requires_grad and p["latent_generator"] >= 0
    loss.backward()
    assert model.decoder.input_map.grad is not None
    if name == "ql_infowgan_gp":  # the codebook learns through the prior samples in the generator step
        assert model.latent.values.grad.abs().sum() > 0
        assert torch.isin(model.encode(x), model.latent.values).all()


def test_gradient_penalty_matches_autograd_norm():
    x = _batch(4)
    model = _model("infowgan_gp", gradient_penalty_weight=1.0, latent_weight=0.0)
    g = torch.Generator().manual_seed(5)
    _, p = model.loss("critic", x, g)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        x_fake = model.generate(model.sample_prior(4, g))
    eps = torch.rand((4, 1, 1, 1), generator=g)
    x_mix = (eps * x + (1 - eps) * x_fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(model.critic(x_mix)[0].sum(), x_mix)
    torch.testing.assert_close(p["gradient_penalty"], ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean())


def test_gradient_penalty_under_a_loss_scale_is_the_unscaled_one():
    """fp16 training sets inner_grad_scale to the GradScaler's scale (a power of two): exact in fp32."""
    x = _batch(4)
    results = []
    for scale in (1.0, 2.0**16):
        model = _model("ql_infowgan_gp")
        model.inner_grad_scale = scale
        loss, p = model.loss("critic", x, torch.Generator().manual_seed(5))
        loss.backward()
        results.append((p["gradient_penalty"], model.encoder.head.weight.grad.clone()))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


def test_train_step_hands_the_fp16_loss_scale_to_the_model():
    model = _model("infowgan_gp")
    optimizers = make_optimizers(model)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)  # what fp16 on CUDA uses, on the CPU here
    train_step(model, optimizers, _batch(4), 0, torch.Generator().manual_seed(0), contextlib.nullcontext, scaler)
    assert model.inner_grad_scale == 2.0**10
    train_step(model, optimizers, _batch(4), 1, torch.Generator().manual_seed(0), contextlib.nullcontext,
               torch.amp.GradScaler("cpu", enabled=False))
    assert model.inner_grad_scale == 1.0


def test_a_phase_the_grad_scaler_skips_is_left_out_of_the_logs():
    """At a loss scale so large that the penalty's inner gradient overflows, the step is skipped (as fp16 does
    at its first steps); its inf penalty must not reach the logs, where the loop would read it as divergence."""
    model = _model("infowgan_gp")
    optimizers = make_optimizers(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)
    logs = train_step(model, optimizers, _batch(4), 0, torch.Generator().manual_seed(0), contextlib.nullcontext, scaler)
    assert "gradient_penalty" not in logs and "critic_loss" not in logs, logs
    assert scaler.get_scale() == 2.0**126  # halved: the step was skipped
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing moved
    logs = train_step(model, optimizers, _batch(4), 1, torch.Generator().manual_seed(0), contextlib.nullcontext,
                      torch.amp.GradScaler("cpu", init_scale=2.0**10))
    assert np.isfinite(float(logs["gradient_penalty"]))  # an ordinary scale: logged


def test_n_latents_flag_and_default_twice_factors():
    assert _model("ae").encode(_batch()).shape == (8, 6)
    assert _model("ae", n_latents=5).encode(_batch()).shape == (8, 5)
    assert _model("beta_vae", n_latents=4).encoder.head.out_features == 8  # mean and scale


# ---------------------------------------------------------------- every model learns
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_loss_decreases_on_tiny_data(name):
    x = _batch(8)
    model = _model(name)
    optimizers = make_optimizers(model)
    noise = torch.Generator().manual_seed(0)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    key = "critic_loss" if "gan" in name else "bce"
    history = [float(train_step(model, optimizers, x, s, noise, contextlib.nullcontext, scaler)[key]) for s in range(20)]
    assert np.mean(history[-3:]) < 0.85 * np.mean(history[:3]), history


# ---------------------------------------------------------------- configs
def test_reference_table_values():
    assert reference_config("qlae", "shapes3d").weight_decay == 0.1
    assert reference_config("qlae", "mpi3d").weight_decay == 0.001
    assert reference_config("qlae", "shapes3d-procedural") == reference_config("qlae", "shapes3d")
    assert reference_config("qlae_no_weight_decay").weight_decay == 0.0
    assert reference_config("qlae_global_codebook").global_codebook
    cfg = reference_config("ql_infowgan_gp", "mpi3d")
    assert (cfg.lr, cfg.betas, cfg.weight_decay, cfg.gradient_penalty_weight, cfg.latent_weight) == (2e-4, (0.0, 0.9), 1e-3, 10.0, 200.0)
    assert reference_config("beta_vae", "mpi3d").beta == 0.1 and reference_config("beta_tcvae", "mpi3d").beta == 0.3
    default = ModelConfig()
    assert (default.lr, default.n_values, default.quantization_weight, default.commitment_weight, default.grad_clip) == (1e-3, 10, 0.01, 0.01, 1.0)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="model name must be one of 'ae', .*; got 'vae'"):
        ModelConfig(name="vae")
    with pytest.raises(ValueError, match="architecture must be one of 'reference', 'small'; got 'tiny'"):
        ModelConfig(architecture="tiny")
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0; got -1"):
        ModelConfig(weight_decay=-1)
    with pytest.raises(ValueError, match=r"model 'qlae_no_weight_decay' needs weight_decay=0.0; got 0.1"):
        ModelConfig(name="qlae_no_weight_decay")
    with pytest.raises(ValueError, match="model 'qlae_global_codebook' needs global_codebook=True"):
        ModelConfig(name="qlae_global_codebook")
    with pytest.raises(ValueError, match="dataset must be one of 'shapes3d', 'mpi3d', 'dsprites'.*; got 'cars3d'"):
        reference_config("qlae", "cars3d")
    with pytest.raises(ValueError, match="unknown ModelConfig field 'weightdecay'"):
        reference_config("qlae", weightdecay=0.1)
    with pytest.raises(TypeError, match="ModelConfig.global_codebook must be bool; got 1"):
        reference_config("qlae", global_codebook=1)
    assert reference_config("qlae", weight_decay=0).weight_decay == 0.0  # int -> float is fine
    with pytest.raises(ValueError, match="n_factors must be an integer >= 1; got 0"):
        model_from_config(ModelConfig(), image_shape=SHAPE, n_factors=0)


def test_qlae_is_used_for_all_quantized_ae_names():
    for name in ("qlae", "qlae_global_codebook", "qlae_no_weight_decay"):
        assert type(_model(name)) is QLAE
