"""The optimizer split of the reference: clipped AdamW on weights, plain Adam on biases and codebooks."""

import pytest
import torch
from models_toy_data import single_torch_thread  # noqa: F401 (autouse fixture)

from benchmark.suites.disentanglement.models import clip_gradients_, make_optimizers, model_from_config, reference_config


def _model(name, **overrides):
    torch.manual_seed(0)
    return model_from_config(reference_config(name, architecture="small", **overrides), image_shape=(1, 32, 32),
                             n_factors=3, dataset_size=10)


def _groups(opt):
    return {g["group"]: g for g in opt.param_groups}


def test_qlae_split_puts_exactly_the_right_parameters_in_each_group():
    model = _model("qlae")
    (opt,) = make_optimizers(model).values()
    groups = _groups(opt)
    reg, unreg = set(groups["regularized"]["names"]), set(groups["unregularized"]["names"])
    all_names = {n for n, _ in model.named_parameters()}
    assert reg | unreg == all_names and not reg & unreg
    assert unreg == {n for n in all_names if n.endswith(".bias")} | {"latent.values"}
    for name in ["decoder.input_map", "encoder.convs.0.weight", "encoder.convs.1.weight",  # conv kernel, GroupNorm scale
                 "encoder.head.weight", "decoder.blocks.0.conv.weight", "decoder.blocks.0.style.weight", "decoder.out.weight"]:
        assert name in reg
    for name in ["encoder.convs.1.bias", "encoder.head.bias", "decoder.blocks.0.style.bias", "latent.values"]:
        assert name in unreg
    assert (groups["regularized"]["weight_decay"], groups["regularized"]["clip"]) == (0.1, 1.0)
    assert (groups["unregularized"]["weight_decay"], groups["unregularized"]["clip"]) == (0.0, 0.0)
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("name", ["infowgan_gp", "ql_infowgan_gp"])
def test_gan_optimizers_split_critic_and_generator(name):
    model = _model(name)
    optimizers = make_optimizers(model)
    assert set(optimizers) == {"critic", "generator"}
    names = {phase: {n for g in opt.param_groups for n in g["names"]} for phase, opt in optimizers.items()}
    assert all(n.startswith(("encoder.", "critic_head.")) for n in names["critic"])
    assert all(n.startswith(("decoder.", "latent.")) for n in names["generator"])
    assert names["critic"] | names["generator"] == {n for n, _ in model.named_parameters()}
    assert not names["critic"] & names["generator"]
    for opt in optimizers.values():
        assert opt.defaults["lr"] == 2e-4 and opt.defaults["betas"] == (0.0, 0.9)
    if name == "ql_infowgan_gp":
        assert "latent.values" in _groups(optimizers["generator"])["unregularized"]["names"]


def test_clip_is_element_wise_and_only_on_regularized_groups():
    model = _model("qlae", grad_clip=0.5)
    (opt,) = make_optimizers(model).values()
    for p in model.parameters():
        p.grad = torch.linspace(-3, 3, p.numel()).reshape(p.shape)
    clip_gradients_(opt)
    groups = _groups(opt)
    for p in groups["regularized"]["params"]:
        assert p.grad.max() <= 0.5 and p.grad.min() >= -0.5
        expected = torch.linspace(-3, 3, p.numel()).reshape(p.shape).clamp(-0.5, 0.5)
        torch.testing.assert_close(p.grad, expected)  # element-wise, not a norm rescale
    for p in groups["unregularized"]["params"]:
        torch.testing.assert_close(p.grad, torch.linspace(-3, 3, p.numel()).reshape(p.shape))


def test_first_step_matches_the_reference_update_rule():
    """optax chain(clip(1), adamw(lr, wd)) vs adam(lr): first step p1 = p0 - lr (g/(|g| + eps) + wd p0) resp. without wd."""
    lr, wd = 1e-3, 0.1
    model = _model("qlae")
    (opt,) = make_optimizers(model).values()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {}
    for n, p in model.named_parameters():
        p.grad = torch.randn(p.shape, generator=torch.Generator().manual_seed(len(n))) * 3
        grads[n] = p.grad.clone()
    clip_gradients_(opt)
    opt.step()
    regularized = set(_groups(opt)["regularized"]["names"])
    for n, p in model.named_parameters():
        g = grads[n].clamp(-1, 1) if n in regularized else grads[n]
        adam = g / (g.abs() + 1e-8)  # bias-corrected first Adam step: m_hat / (sqrt(v_hat) + eps)
        decay = wd * before[n] if n in regularized else 0.0
        torch.testing.assert_close(p.detach(), before[n] - lr * (adam + decay), rtol=1e-5, atol=1e-7)


def test_no_weight_decay_ablation_and_grad_clip_off():
    (opt,) = make_optimizers(_model("qlae_no_weight_decay", grad_clip=0.0)).values()
    groups = _groups(opt)
    assert groups["regularized"]["weight_decay"] == 0.0 and groups["regularized"]["clip"] == 0.0
    p = groups["regularized"]["params"][0]
    p.grad = torch.full_like(p, 5.0)
    clip_gradients_(opt)
    assert torch.all(p.grad == 5.0)
