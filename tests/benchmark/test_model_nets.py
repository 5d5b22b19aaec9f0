"""Encoder/decoder shapes and the reference's architectural details."""

import math

import pytest
import torch
from models_toy_data import single_torch_thread  # noqa: F401 (autouse fixture)
from torch import nn

from benchmark.suites.disentanglement.models import ARCHITECTURES, ModelConfig, model_from_config
from benchmark.suites.disentanglement.models.nets import Encoder, StyleBlock, StyleDecoder, init_like_equinox


@pytest.mark.parametrize("channels", [3, 1])
def test_reference_architecture_shapes_64(channels):
    torch.manual_seed(0)
    net = ARCHITECTURES["reference"]
    enc = Encoder(channels, 64, 12, net)
    x = torch.rand(2, channels, 64, 64)
    assert enc.convs(x).shape == (2, 256, 4, 4)  # 64 -> 4x4x256
    assert enc.transition_shape == (256, 4, 4)
    out = enc(x)
    assert out["features"].shape == (2, 256) and out["pre_z"].shape == (2, 12)
    dec = StyleDecoder(12, channels, 64, net)
    assert dec.input_map.shape == (256, 4, 4)
    assert dec(out["pre_z"]).shape == (2, channels, 64, 64)
    convs = [m for m in enc.convs if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 32, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    assert len(dec.blocks) == 12 and [b.conv.out_channels for b in dec.blocks] == [256] * 3 + [128] * 3 + [64] * 3 + [32] * 3


def test_small_architecture_shapes_64():
    enc = Encoder(3, 64, 12, ARCHITECTURES["small"])
    x = torch.rand(2, 3, 64, 64)
    assert enc.convs(x).shape == (2, 64, 4, 4)
    assert StyleDecoder(12, 3, 64, ARCHITECTURES["small"])(enc(x)["pre_z"]).shape == (2, 3, 64, 64)


def test_norms_are_per_channel_groupnorm_with_reference_eps():
    model = model_from_config(ModelConfig(architecture="small"), image_shape=(3, 64, 64), n_factors=3)
    enc_norms = [m for m in model.encoder.modules() if isinstance(m, nn.GroupNorm)]
    dec_norms = [m for m in model.decoder.modules() if isinstance(m, nn.GroupNorm)]
    assert enc_norms and dec_norms
    for m in enc_norms + dec_norms:
        assert m.num_groups == m.num_channels and m.eps == 1e-6
    assert all(m.affine for m in enc_norms) and not any(m.affine for m in dec_norms)
    assert all(m.bias is None for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_decoder_input_map_is_learned_constant_point_one():
    dec = StyleDecoder(4, 3, 64, ARCHITECTURES["small"])
    assert isinstance(dec.input_map, nn.Parameter) and torch.all(dec.input_map == 0.1)


def test_style_scale_and_bias_are_non_negative():
    torch.manual_seed(0)
    block = StyleBlock(4, 4, 4, 2, style_features=3)
    with torch.no_grad():
        block.style.weight.zero_()
        block.style.bias.fill_(-1.0)  # without the ReLU, scale = bias = -1
    out = block(torch.rand(2, 4, 4, 4), torch.rand(2, 3))
    assert torch.all(out == 0)
    with torch.no_grad():
        block.style.bias.fill_(2.0)  # scale = bias = 2: out = 2 * norm(h) + 2, whose per-channel mean is 2
    out = block(torch.rand(2, 4, 4, 4), torch.rand(2, 3))
    torch.testing.assert_close(out.mean(dim=(2, 3)), torch.full((2, 4), 2.0), atol=1e-5, rtol=0)


def test_equinox_initialisation_bounds():
    torch.manual_seed(0)
    conv_t = nn.ConvTranspose2d(64, 8, 4, 2, 1)
    init_like_equinox(conv_t)
    bound = 1 / math.sqrt(64 * 16)  # fan_in from the input channels, not PyTorch's output channels
    assert conv_t.weight.abs().max() <= bound and conv_t.weight.abs().max() > 0.95 * bound
    assert conv_t.bias.abs().max() <= bound


def test_encoder_rejects_wrong_input_shape_and_tiny_images():
    enc = Encoder(3, 64, 4, ARCHITECTURES["small"])
    with pytest.raises(ValueError, match=r"encoder input must have shape \(batch, 3, 64, 64\); got \(2, 1, 64, 64\)"):
        enc(torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match="image_size must be at least 32 for this architecture"):
        Encoder(3, 16, 4, ARCHITECTURES["small"])
    with pytest.raises(ValueError, match="image_size must be divisible by 16"):
        Encoder(3, 40, 4, ARCHITECTURES["small"])


def test_reference_qlae_from_config_forward_and_loss():
    torch.manual_seed(0)
    model = model_from_config(ModelConfig(architecture="reference"), image_shape=(3, 64, 64), n_factors=6)
    x = torch.rand(2, 3, 64, 64)
    assert model.encode(x).shape == (2, 12) and model.reconstruct(x).shape == (2, 3, 64, 64)
    loss, parts = model.loss("model", x, None)
    assert loss.ndim == 0 and 0.5 < float(parts["bce"]) < 1.0  # near log(2) at initialisation
