"""benchmarks/stylegan_speed.py: its baseline generator has our generator's shapes and computes the same modulated
convolution, so the images/s ratio it prints compares the same work."""

import json
import math

import pytest
import torch

from benchmark.suites.latent_semantics.stylegan2 import Generator, ModulatedConv2d


@pytest.fixture(scope="module")
def stylegan_speed(benchmark_script):
    return benchmark_script("stylegan_speed")


def _copy_into_baseline(ours: ModulatedConv2d, base) -> None:
    """The baseline's plain parameters set to our equalised-lr conv's effective ones."""
    with torch.no_grad():
        base.weight.copy_(ours.weight[0] * ours.scale)
        base.modulation.weight.copy_(ours.modulation.effective_weight)
        base.modulation.bias.copy_(ours.modulation.effective_bias)


@pytest.mark.parametrize("kernel,demodulate", [(3, True), (1, False)])
def test_baseline_modulated_conv_equals_ours(stylegan_speed, kernel, demodulate):
    torch.manual_seed(0)
    ours = ModulatedConv2d(8, 6, kernel, 10, demodulate=demodulate)
    base = stylegan_speed.BaselineModConv(8, 6, kernel, 10, demodulate=demodulate)
    _copy_into_baseline(ours, base)
    x, style = torch.randn(5, 8, 7, 7), torch.randn(5, 10)
    expected = ours(x, style)
    got = base(x, style)
    assert got.shape == expected.shape == (5, 6, 7, 7)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0), (got - expected).abs().max()
    # one sample's kernel is its own: changing sample 0's style leaves sample 1 alone, and changes sample 0
    style2 = style.clone()
    style2[0] += 1
    got2 = base(x, style2)
    assert torch.equal(got2[1:], got[1:]) and not torch.allclose(got2[0], got[0])


def _modconv_shapes(model, kind):
    return [(m.weight.shape[-3], m.weight.shape[-4], m.weight.shape[-1], getattr(m, "demodulate"))
            for m in model.modules() if isinstance(m, kind)]


@pytest.mark.parametrize("size", [32, 64])
def test_baseline_generator_has_our_shapes(stylegan_speed, size):
    _, style_dim, n_mlp, channels, _ = stylegan_speed.PROFILES[f"{size} px"]
    channels = {r: min(c, 16) for r, c in channels.items()}
    torch.manual_seed(0)
    ours = Generator(size, style_dim, n_mlp, channels=channels)
    base = stylegan_speed.BaselineGenerator(size, style_dim, n_mlp, channels)
    assert base.n_latent == ours.n_latent == 2 * int(math.log2(size)) - 2
    # the same modulated convolutions in the same order: (in, out, kernel, demodulated)
    assert _modconv_shapes(base, stylegan_speed.BaselineModConv) == _modconv_shapes(ours, ModulatedConv2d)
    assert sum(isinstance(m, torch.nn.Linear) for m in base.mapping) == n_mlp == ours.n_mlp
    z = [torch.randn(3, style_dim), torch.randn(3, style_dim)]
    img_o, lat_o = ours(z, return_latents=True, inject_index=2)
    img_b, lat_b = base(z, return_latents=True, inject_index=2)
    assert img_b.shape == img_o.shape == (3, 3, size, size)
    assert lat_b.shape == lat_o.shape == (3, ours.n_latent, style_dim)
    # style mixing: rows before the crossover come from the first code, the rest from the second
    assert torch.equal(lat_b[:, 0], lat_b[:, 1]) and torch.equal(lat_b[:, 2], lat_b[:, -1])
    assert not torch.equal(lat_b[:, 1], lat_b[:, 2])


def test_main_writes_positive_rates_and_their_ratio(stylegan_speed, tmp_path, capsys):
    path = tmp_path / "rows.json"
    returned = stylegan_speed.main(["--sizes", "32", "--iters", "4", "--warmup", "1", "--batch", "4",
                                    "--max-channels", "8", "--device", "cpu", "--json", str(path)])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "torch " in out and "device cpu" in out
    data = json.loads(path.read_text())
    rows = data["rows"]
    assert [r["profile"] for r in rows] == ["32 px"] and rows == json.loads(json.dumps(returned))
    row = rows[0]
    assert (row["size"], row["batch"], row["iters"], row["warmup"]) == (32, 4, 4, 1)
    assert set(row["channels"].values()) == {8}
    ours, base = row["ours_images_per_second"], row["baseline_images_per_second"]
    assert all(math.isfinite(v) and v > 0 for v in (ours, base))
    assert row["ratio"] == pytest.approx(ours / base, rel=1e-12)
    assert f"{ours:.1f}" in out and f"{base:.1f}" in out and f"{ours / base:.2f}" in out
    assert data["machine"]["torch"] == torch.__version__
