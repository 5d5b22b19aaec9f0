"""benchmarks/stylegan_speed.py: its baseline generator has our generator's shapes, computes the same modulated
convolution and takes the suite's step (``StyleGANTask.step``) as ours does, so the images/s ratio it prints compares
the same work, timed through the suite's own step."""

import json
import math

import pytest
import torch

from benchmark.suites.latent_semantics.gan import StyleGANTask
from benchmark.suites.latent_semantics.stylegan2 import Discriminator, Generator, ModulatedConv2d


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


def _crossover(latents):
    rows = [r for r in range(1, latents.shape[1]) if not torch.equal(latents[:, r], latents[:, r - 1])]
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_baseline_generator_takes_the_steps_calls(stylegan_speed):
    """``g(z_list, generator=noise)`` and ``g(z_list, return_latents=True, generator=noise)``, as the step calls it:
    the crossover row drawn with ``generator`` as ours draws it, noise from ``generator``, latents in the graph."""
    torch.manual_seed(0)
    size, style_dim, channels = 32, 12, {4: 10, 8: 10, 16: 10, 32: 10}
    ours = Generator(size, style_dim, 2, channels=channels)
    base = stylegan_speed.BaselineGenerator(size, style_dim, 2, channels)
    z = [torch.randn(2, style_dim), torch.randn(2, style_dim)]
    for seed in range(4):
        _, lat_o = ours(z, return_latents=True, generator=torch.Generator().manual_seed(seed))
        _, lat_b = base(z, return_latents=True, generator=torch.Generator().manual_seed(seed))
        assert _crossover(lat_b) == _crossover(lat_o) is not None
    img1, none = base(z[:1], generator=torch.Generator().manual_seed(1))
    img2, _ = base(z[:1], generator=torch.Generator().manual_seed(1))
    img3, _ = base(z[:1], generator=torch.Generator().manual_seed(2))
    assert none is None and torch.equal(img1, img2)
    with torch.no_grad():
        for m in base.modules():
            if isinstance(m, stylegan_speed.BaselineStyledConv):
                m.noise_weight.fill_(1.0)
    img3, _ = base(z[:1], generator=torch.Generator().manual_seed(2))
    img4, _ = base(z[:1], generator=torch.Generator().manual_seed(3))
    assert not torch.equal(img3, img4)  # the noise is drawn from ``generator``
    img, lat = base(z[:1], return_latents=True, generator=torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(img.sum(), lat)
    assert grad.shape == lat.shape and grad.abs().sum() > 0


def _settings(stylegan_speed, size=32):
    return stylegan_speed.settings(size, 12, 2, {r: 10 for r in (4, 8, 16, 32, 64) if r <= size}, 2)


def test_settings_are_the_rows_shapes_with_default_training(stylegan_speed):
    s = stylegan_speed.settings(64, 128, 4, stylegan_speed.PROFILES["64 px"][3], 16)
    assert (s.size, s.style_dim, s.n_mlp, s.batch) == (64, 128, 4, 16)
    assert s.channel_map() == stylegan_speed.PROFILES["64 px"][3]
    assert (s.d_reg_every, s.g_reg_every, s.mixing, s.lr, s.r1, s.path_regularize) == (16, 4, 0.9, 0.002, 10.0, 2.0)
    assert stylegan_speed.settings(32, 64, 4, {4: 8, 8: 8, 16: 8, 32: 8}, 4).k == 8  # narrow rows stay valid


@pytest.mark.parametrize("baseline", [False, True])
def test_the_suites_step_trains_both(stylegan_speed, baseline):
    """``make_task``: the suite's task (ours: its own models; baseline: its discriminator, baseline generators), and
    ``task.step`` runs on it with both regularisers (step 0) and the EMA."""
    s = _settings(stylegan_speed)
    task, state = stylegan_speed.make_task(s, torch.device("cpu"), baseline=baseline)
    assert isinstance(task, StyleGANTask)
    g, d, g_ema = state.model["g"], state.model["d"], state.model["g_ema"]
    kind = stylegan_speed.BaselineGenerator if baseline else Generator
    assert isinstance(g, kind) and isinstance(g_ema, kind) and isinstance(d, Discriminator)
    # the same discriminator start for both
    other, other_state = stylegan_speed.make_task(s, torch.device("cpu"), baseline=not baseline)
    for (n1, p1), (n2, p2) in zip(d.state_dict().items(), other_state.model["d"].state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    before = {n: p.detach().clone() for n, p in g_ema.named_parameters()}
    out = task.step(state, 0)
    assert set(out) == {"d", "r1", "g", "path"} and all(torch.isfinite(v) for v in out.values())
    assert task.mean_path_length > 0
    assert any(not torch.equal(p, before[n]) for n, p in g_ema.named_parameters())


def test_timing_calls_the_suites_step(stylegan_speed, monkeypatch):
    calls = []
    step = StyleGANTask.step

    def counted(self, state, i):
        calls.append((type(self).__name__, i))
        return step(self, state, i)

    monkeypatch.setattr(StyleGANTask, "step", counted)
    s = _settings(stylegan_speed)
    rate = stylegan_speed.images_per_second(*stylegan_speed.make_task(s, torch.device("cpu")), iters=2, warmup=1)
    assert math.isfinite(rate) and rate > 0
    assert calls == [("StyleGANTask", 0), ("StyleGANTask", 1), ("StyleGANTask", 2)]


def test_main_writes_positive_rates_and_their_ratio(stylegan_speed, tmp_path, capsys):
    path = tmp_path / "rows.json"
    returned = stylegan_speed.main(["--sizes", "32", "--iters", "1", "--warmup", "1", "--batch", "2",
                                    "--max-channels", "8", "--device", "cpu", "--json", str(path)])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "torch " in out and "device cpu" in out
    data = json.loads(path.read_text())
    rows = data["rows"]
    assert [r["profile"] for r in rows] == ["32 px"] and rows == json.loads(json.dumps(returned))
    row = rows[0]
    assert (row["size"], row["batch"], row["iters"], row["warmup"]) == (32, 2, 1, 1)
    assert set(row["channels"].values()) == {8}
    ours, base = row["ours_images_per_second"], row["baseline_images_per_second"]
    assert all(math.isfinite(v) and v > 0 for v in (ours, base))
    assert row["ratio"] == pytest.approx(ours / base, rel=1e-12)
    assert f"{ours:.1f}" in out and f"{base:.1f}" in out and f"{ours / base:.2f}" in out
    assert data["machine"]["torch"] == torch.__version__
