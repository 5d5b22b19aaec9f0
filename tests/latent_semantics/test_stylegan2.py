"""Tests for the compact StyleGAN2 (tiny sizes, CPU)."""

from __future__ import annotations

import argparse
import copy
import math

import pytest
import torch
from torch import nn

from benchmark.suites.latent_semantics.stylegan2 import (
    CheckpointError,
    Discriminator,
    EqualLinear,
    Generator,
    ModulatedConv2d,
    accumulate,
    d_logistic_loss,
    d_r1_loss,
    g_nonsaturating_loss,
    g_path_regularize,
    load_rosinality,
)

STYLE = 16
CH16 = {4: 16, 8: 12, 16: 8}
CH32 = {4: 16, 8: 12, 16: 8, 32: 8}


def _gen(size: int = 16, seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    return Generator(size, style_dim=STYLE, n_mlp=2, channels=CH32 if size == 32 else CH16)


def _randomize_zero_init(g: nn.Module, seed: int = 1) -> None:
    """Make the zero-initialised noise weights and biases non-trivial so they are exercised."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise.weight") or name.endswith("activate.bias") or name.endswith("rgb1.bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))


@pytest.mark.parametrize("size,channels", [(16, CH16), (32, CH32)])
def test_output_shapes(size, channels):
    torch.manual_seed(0)
    g = Generator(size, style_dim=STYLE, n_mlp=2, channels=channels)
    d = Discriminator(size, channels=channels)
    z = torch.randn(3, STYLE)
    img, lat = g([z], return_latents=True)
    n_latent = int(math.log2(size)) * 2 - 2
    assert img.shape == (3, 3, size, size)
    assert lat.shape == (3, n_latent, STYLE) and g.n_latent == n_latent
    assert g([z])[1] is None
    assert d(img).shape == (3, 1)
    assert d(torch.randn(4, 3, size, size)).shape == (4, 1)
    assert torch.isfinite(img).all()
    assert g.mean_latent(64).shape == (1, STYLE)


def test_equal_linear_effective_weight_and_unit_variance():
    torch.manual_seed(0)
    for lr_mul in (1.0, 0.01):
        lin = EqualLinear(512, 256, lr_mul=lr_mul)
        assert torch.allclose(lin.effective_weight, lin.weight * lin.scale)
        assert lin.scale == pytest.approx(lr_mul / math.sqrt(512))
        x = torch.randn(4096, 512)
        y = lin(x)
        assert torch.allclose(y, x @ (lin.weight * lin.scale).T + lin.bias * lr_mul, atol=1e-5)
        assert 0.85 < y.var().item() < 1.15, y.var().item()
    act = EqualLinear(8, 4, activation="lrelu", bias_init=0.5)
    x = torch.randn(10, 8)
    pre = x @ act.effective_weight.T + 0.5
    assert torch.allclose(act(x), torch.nn.functional.leaky_relu(pre, 0.2) * math.sqrt(2), atol=1e-6)


def test_demodulated_weight_has_unit_norm_per_sample():
    torch.manual_seed(0)
    conv = ModulatedConv2d(6, 5, 3, STYLE)
    style = torch.randn(4, STYLE) * 3
    w = conv.modulated_weight(style)
    assert w.shape == (4, 5, 6, 3, 3)
    norms = w.pow(2).sum(dim=(2, 3, 4)).sqrt()
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-4)
    # grouped convolution equals the per-sample convolution with the modulated weight
    x = torch.randn(4, 6, 8, 8)
    out = conv(x, style)
    for b in range(4):
        ref = torch.nn.functional.conv2d(x[b : b + 1], w[b], padding=1)
        assert torch.allclose(out[b : b + 1], ref, atol=1e-5)
    nodemod = ModulatedConv2d(6, 5, 1, STYLE, demodulate=False)
    s = nodemod.modulation(style)
    assert torch.allclose(nodemod.modulated_weight(style), nodemod.scale * nodemod.weight * s.view(4, 1, 6, 1, 1))
    up = ModulatedConv2d(6, 5, 3, STYLE, upsample=True)
    assert up(x, style).shape == (4, 5, 16, 16)


def test_modulation_is_swappable():
    torch.manual_seed(0)
    conv = ModulatedConv2d(6, 5, 3, STYLE)
    conv.modulation = nn.Linear(STYLE, 6)
    assert conv(torch.randn(2, 6, 4, 4), torch.randn(2, STYLE)).shape == (2, 5, 4, 4)


def test_style_mixing_latents():
    g = _gen(32)
    z1, z2 = torch.randn(2, STYLE), torch.randn(2, STYLE)
    w1, w2 = g.style(z1), g.style(z2)
    for inject in (1, 3, 6):
        _, lat = g([z1, z2], inject_index=inject, return_latents=True, randomize_noise=False)
        assert torch.allclose(lat[:, :inject], w1.unsqueeze(1).expand(-1, inject, -1))
        assert torch.allclose(lat[:, inject:], w2.unsqueeze(1).expand(-1, g.n_latent - inject, -1))
    # truncation pulls towards the given mean
    mean = g.mean_latent(32)
    _, lat = g([z1], truncation=0.5, truncation_latent=mean, return_latents=True)
    assert torch.allclose(lat[:, 0], mean + 0.5 * (w1 - mean), atol=1e-6)


def test_per_layer_latents_match_mapping_path():
    g = _gen(16)
    _randomize_zero_init(g)
    z = torch.randn(3, STYLE)
    with torch.no_grad():
        img_z, lat = g([z], randomize_noise=False, return_latents=True)
        w_plus = g.style(z).unsqueeze(1).repeat(1, g.n_latent, 1)
        img_w, _ = g([w_plus], input_is_latent=True, randomize_noise=False)
        img_w2, _ = g(w_plus, input_is_latent=True, randomize_noise=False)
        assert torch.allclose(img_z, img_w, atol=1e-5) and torch.allclose(img_z, img_w2, atol=1e-5)
        assert torch.allclose(lat, w_plus, atol=1e-6)
        # editing one layer's style changes the image
        edited = w_plus.clone()
        edited[:, 2] += 3.0 * torch.randn(STYLE)
        img_e, _ = g([edited], input_is_latent=True, randomize_noise=False)
        assert (img_e - img_z).abs().max() > 1e-3
        # explicit noise reproduces and differs from stored noise
        noise = g.make_noise(3, generator=torch.Generator().manual_seed(5))
        a, _ = g([z], noise=noise)
        b, _ = g([z], noise=noise)
        assert torch.equal(a, b) and (a - img_z).abs().max() > 1e-4


def test_r1_of_linear_discriminator_is_squared_norm():
    torch.manual_seed(0)
    a = torch.randn(3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    pred = (x * a).flatten(1).sum(1, keepdim=True)
    r1 = d_r1_loss(pred, x)
    assert r1.item() == pytest.approx(a.pow(2).sum().item(), rel=1e-5)


def test_logistic_losses():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = torch.nn.functional.softplus
    assert d_logistic_loss(real, fake).item() == pytest.approx((sp(-real).mean() + sp(fake).mean()).item())
    assert g_nonsaturating_loss(fake).item() == pytest.approx(sp(-fake).mean().item())


def test_path_length_regulariser():
    g = _gen(16)
    z = torch.randn(4, STYLE)
    img, lat = g([z], return_latents=True, randomize_noise=False)
    penalty, new_mean, lengths = g_path_regularize(img, lat, 0.0, decay=0.01,
                                                   generator=torch.Generator().manual_seed(0))
    assert lengths.shape == (4,)
    assert torch.isfinite(penalty) and torch.isfinite(new_mean) and torch.isfinite(lengths).all()
    assert (lengths > 0).all()
    assert new_mean.item() == pytest.approx(0.01 * lengths.mean().item(), rel=1e-5)
    assert not new_mean.requires_grad and penalty.requires_grad
    penalty2, mean2, lengths2 = g_path_regularize(img, lat, 2.0, decay=0.1)
    assert mean2.item() == pytest.approx(2.0 + 0.1 * (lengths2.mean().item() - 2.0), rel=1e-5)
    assert penalty2.item() == pytest.approx((lengths2 - mean2).pow(2).mean().item(), rel=1e-4)
    penalty2.backward()
    assert g.convs[0].conv.weight.grad is not None


def test_accumulate():
    g = _gen(16, seed=0)
    ema = _gen(16, seed=1)
    before = copy.deepcopy(ema.state_dict())
    accumulate(ema, g, decay=1.0)
    assert all(torch.equal(before[k], v) for k, v in ema.state_dict().items())
    accumulate(ema, g, decay=0.0)
    for (n, p), (_, q) in zip(ema.named_parameters(), g.named_parameters()):
        assert torch.allclose(p, q), n
    ema2 = _gen(16, seed=1)
    accumulate(ema2, g, decay=0.5)
    assert torch.allclose(ema2.style[1].weight, 0.5 * (before["style.1.weight"] + g.style[1].weight))


def _save_ckpt(tmp_path, size=32):
    g = _gen(size, seed=3)
    _randomize_zero_init(g)
    d = Discriminator(size, channels=CH32 if size == 32 else CH16)
    path = tmp_path / f"ckpt{size}.pt"
    latent_avg = g.mean_latent(16)[0]
    args = argparse.Namespace(size=size, channel_multiplier=2)  # training checkpoints carry their args
    torch.save({"g_ema": g.state_dict(), "g": g.state_dict(), "d": d.state_dict(), "latent_avg": latent_avg,
                "args": args}, path)
    return g, d, path, latent_avg


def test_loader_reproduces_images(tmp_path):
    g, d, path, latent_avg = _save_ckpt(tmp_path)
    g2, d2, meta = load_rosinality(path, 32)
    assert meta["style_dim"] == STYLE and meta["n_mlp"] == 2 and meta["channels"] == CH32
    assert "args" in meta["entries"] and "g" in meta["entries"]
    assert meta["n_latent"] == 8 and torch.allclose(meta["latent_avg"], latent_avg[None])
    z = torch.randn(2, STYLE)
    noise = g.make_noise(2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, _ = g([z], noise=noise)
        b, _ = g2([z], noise=noise)
        assert torch.equal(a, b)
        a, _ = g([z], randomize_noise=False)
        b, _ = g2([z], randomize_noise=False)
        assert torch.equal(a, b)
        x = torch.randn(4, 3, 32, 32)
        assert d2 is not None and torch.equal(d(x), d2(x))
    # key names follow the reference layout
    sd = g2.state_dict()
    for k in ("style.1.weight", "conv1.conv.modulation.weight", "convs.0.conv.blur.kernel", "noises.noise_0",
              "to_rgbs.0.upsample.kernel", "input.input", "to_rgb1.conv.weight", "conv1.activate.bias"):
        assert k in sd, k
    # a standard channel table is recognised as a channel multiplier
    torch.save({"g_ema": Generator(8, style_dim=8, n_mlp=1, channel_multiplier=1).state_dict()}, tmp_path / "s.pt")
    g3, d3, meta3 = load_rosinality(tmp_path / "s.pt", 8)
    assert d3 is None and meta3["channel_multiplier"] == 1 and meta3["latent_avg"] is None


def test_loader_refusals(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_rosinality(tmp_path / "missing.pt", 32)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a weights-only torch checkpoint") as e:
        load_rosinality(bad, 32)
    assert "\n" not in str(e.value)
    _, _, path, _ = _save_ckpt(tmp_path, size=16)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="not a weights-only torch checkpoint"):
        load_rosinality(truncated, 16)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a dict"):
        load_rosinality(tmp_path / "list.pt", 16)
    nog = tmp_path / "nog.pt"
    torch.save({"d": {}, "latent_avg": torch.zeros(3)}, nog)
    with pytest.raises(CheckpointError, match="no 'g_ema'"):
        load_rosinality(nog, 32)
    _, _, path, _ = _save_ckpt(tmp_path, size=32)
    with pytest.raises(CheckpointError, match="32 px, not 16 px"):
        load_rosinality(path, 16)
    with pytest.raises(CheckpointError, match="shape mismatches") as e:
        load_rosinality(path, 32, channel_multiplier=2)
    assert "\n" not in str(e.value)
    sd = _gen(32).state_dict()
    del sd["conv1.noise.weight"]
    sd["extra.weight"] = torch.zeros(1)
    torch.save({"g_ema": sd}, tmp_path / "keys.pt")
    with pytest.raises(CheckpointError, match=r"missing keys: conv1\.noise\.weight; unexpected keys: extra\.weight"):
        load_rosinality(tmp_path / "keys.pt", 32)


UNPICKLED: list[str] = []


def _record(tag):
    UNPICKLED.append(tag)
    return {"g_ema": {}}


class _Evil:
    def __reduce__(self):
        return (_record, ("executed",))


def test_loader_refuses_pickled_object_without_unpickling(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save(_Evil(), path)
    UNPICKLED.clear()
    with pytest.raises(CheckpointError, match="not a weights-only torch checkpoint"):
        load_rosinality(path, 32)
    assert UNPICKLED == []
    torch.load(path, weights_only=False)  # the payload is live: loading unsafely would run it
    assert UNPICKLED == ["executed"]
