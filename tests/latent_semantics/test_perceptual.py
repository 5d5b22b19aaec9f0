"""Inception features and LPIPS from user-supplied weights: files in the published formats (random weights here,
since nothing can be downloaded) load, the features and distances follow the formulas, and bad files are refused
with messages that say what to get."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision

from benchmark.suites.latent_semantics.perceptual import (
    LPIPS,
    WEIGHT_NAMES,
    InceptionFeatures,
    load_inception,
    load_lpips,
)

CHANNELS = (64, 128, 256, 512, 512)


def _lin_state(seed: int = 0, only: int | None = None, factor: float = 1.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) + 0.01 for i, c in enumerate(CHANNELS)}
    if only is not None:
        for i in range(len(CHANNELS)):
            state[f"lin{i}.model.1.weight"] = state[f"lin{i}.model.1.weight"] * (factor if i == only else 0.0)
    return state


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """State dicts of randomly initialised torchvision models, saved exactly as torchvision publishes them."""
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    inception = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict()
    vgg = torchvision.models.vgg16(weights=None).state_dict()
    paths = {"inception": root / "inception_v3_google-0cc3c7bd.pth", "vgg16": root / "vgg16-397923af.pth",
             "lpips": root / "vgg.pth"}
    torch.save(inception, paths["inception"])
    torch.save(vgg, paths["vgg16"])
    torch.save(_lin_state(), paths["lpips"])
    return {"paths": paths, "inception": inception, "vgg16": vgg}


@pytest.fixture(scope="module")
def inception(files):
    return load_inception(files["paths"]["inception"])


@pytest.fixture(scope="module")
def lpips(files):
    return load_lpips(files["paths"]["vgg16"], files["paths"]["lpips"])


def _images(n=2, c=3, size=32, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def test_weight_names():
    assert WEIGHT_NAMES == ("inception", "vgg16", "lpips")


# ------------------------------------------------------------------------------------------------------ Inception


def test_inception_features_shape_determinism_and_reference(files, inception):
    x = _images()
    with torch.no_grad():
        f1, f2 = inception(x), inception(x)
    assert f1.shape == (2, 2048) and f1.dtype == torch.float32
    assert torch.equal(f1, f2)
    assert not torch.allclose(f1[0], f1[1])  # two different images: different features
    assert not inception.training and not any(p.requires_grad for p in inception.parameters())
    inception.train()
    assert not inception.training  # a metric network stays in eval mode

    # independent reference: torchvision's own network with the same weights, input prepared by hand
    ref = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    ref.load_state_dict(files["inception"])
    ref.fc = torch.nn.Identity()
    ref.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    big = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        expected = ref((big - mean) / std)
    torch.testing.assert_close(f1, expected, rtol=1e-5, atol=1e-5)


def test_inception_grey_equals_repeated_rgb(inception):
    grey = _images(c=1, seed=1)
    with torch.no_grad():
        a, b = inception(grey), inception(grey.repeat(1, 3, 1, 1))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_inception_accepts_a_file_without_num_batches_tracked(files):
    state = {k: v for k, v in files["inception"].items() if not k.endswith("num_batches_tracked")}
    net = InceptionFeatures(state)
    key = "Conv2d_1a_3x3.bn.running_var"
    assert torch.equal(net.net.state_dict()[key], files["inception"][key])


# ---------------------------------------------------------------------------------------------------------- LPIPS


def _reference_lpips(vgg_state, lin_state, x01, y01):
    """The LPIPS formula written out again with torchvision's VGG-16 and its slices."""
    vgg = torchvision.models.vgg16(weights=None)
    vgg.load_state_dict(vgg_state)
    feats = vgg.features.eval()
    slices = [feats[0:4], feats[4:9], feats[9:16], feats[16:23], feats[23:30]]  # relu1_2 .. relu5_3
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    a, b = (2 * x01 - 1 - shift) / scale, (2 * y01 - 1 - shift) / scale
    total = torch.zeros(x01.shape[0], dtype=torch.float64)
    with torch.no_grad():
        for i, block in enumerate(slices):
            a, b = block(a), block(b)
            na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            w = lin_state[f"lin{i}.model.1.weight"]
            total += F.conv2d((na - nb) ** 2, w).mean(dim=(1, 2, 3)).double()
    return total


def test_lpips_identity_symmetry_positivity(lpips):
    x, y = _images(seed=2), _images(seed=3)
    with torch.no_grad():
        d_xx, d_xy, d_yx = lpips(x, x), lpips(x, y), lpips(y, x)
    assert d_xx.shape == (2,) and d_xy.shape == (2,)
    assert d_xx.abs().max() < 1e-8
    torch.testing.assert_close(d_xy, d_yx, rtol=1e-6, atol=1e-7)
    assert (d_xy > 0).all()
    assert not lpips.training and not any(p.requires_grad for p in lpips.parameters())


def test_lpips_matches_the_formula(files, lpips):
    x, y = _images(seed=4), _images(seed=5)
    with torch.no_grad():
        d = lpips(x, y).double()
    ref = _reference_lpips(files["vgg16"], _lin_state(), x, y)
    assert (d - ref).abs().max() < 1e-5 * max(1.0, ref.abs().max().item()), (d, ref)


def test_lpips_grey_equals_repeated_rgb(lpips):
    x, y = _images(c=1, seed=6), _images(c=1, seed=7)
    with torch.no_grad():
        a, b = lpips(x, y), lpips(x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


def test_lpips_lin_weight_scales_its_layer(files):
    x, y = _images(seed=8), _images(seed=9)
    layer = 2
    once = LPIPS(files["vgg16"], _lin_state(only=layer, factor=1.0))
    twice = LPIPS(files["vgg16"], _lin_state(only=layer, factor=2.0))
    with torch.no_grad():
        d1, d2 = once(x, y), twice(x, y)
    assert (d1 > 0).all()
    torch.testing.assert_close(d2, 2 * d1, rtol=1e-6, atol=1e-8)
    ref = _reference_lpips(files["vgg16"], _lin_state(only=layer, factor=1.0), x, y)  # that layer alone
    assert (d1.double() - ref).abs().max() < 1e-5 * max(1.0, ref.abs().max().item())


# --------------------------------------------------------------------------------------------------------- errors


def test_missing_files_are_refused_with_where_to_get_them(tmp_path, files):
    with pytest.raises(ValueError, match=r"no such file .*inception_v3_google-0cc3c7bd\.pth"):
        load_inception(tmp_path / "absent.pth")
    with pytest.raises(ValueError, match=r"no such file .*vgg16-397923af\.pth"):
        load_lpips(tmp_path / "absent.pth", files["paths"]["lpips"])
    with pytest.raises(ValueError, match=r"no such file .*lpips/weights/v0\.1/vgg\.pth"):
        load_lpips(files["paths"]["vgg16"], tmp_path / "absent.pth")


def test_files_that_are_not_state_dicts_are_refused(tmp_path, files):
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(ValueError, match=r"not a state dict.*inception_v3_google-0cc3c7bd\.pth"):
        load_inception(tensor)
    text = tmp_path / "notes.txt"
    text.write_text("not weights")
    with pytest.raises(ValueError, match=r"cannot read .*torch.load\(weights_only=True\).*inception_v3_google"):
        load_inception(text)
    wrapped = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "epoch": 3}, wrapped)
    with pytest.raises(ValueError, match=r"not a state dict.*'state_dict'.*lpips/weights/v0\.1/vgg\.pth"):
        load_lpips(files["paths"]["vgg16"], wrapped)


def test_wrong_keys_are_refused_naming_them(tmp_path, files):
    lin = _lin_state()
    del lin["lin3.model.1.weight"]
    lin["lin2.model.1.weight"] = torch.rand(1, 128, 1, 1)
    lin["lin5.model.1.weight"] = torch.rand(1, 8, 1, 1)
    bad_lin = tmp_path / "vgg.pth"
    torch.save(lin, bad_lin)
    vgg_features = {k: v for k, v in files["vgg16"].items() if k.startswith("features.")}
    small_vgg = tmp_path / "vgg16-features.pth"
    torch.save(vgg_features, small_vgg)
    # the features alone are enough (classifier keys are ignored), so the lin file is what fails
    with pytest.raises(ValueError, match=r"missing keys: lin3\.model\.1\.weight") as info:
        load_lpips(small_vgg, bad_lin)
    message = str(info.value)
    assert "unexpected keys: lin5.model.1.weight" in message
    assert "shape mismatches: lin2.model.1.weight (1, 128, 1, 1) != (1, 256, 1, 1)" in message
    assert "PerceptualSimilarity" in message

    del vgg_features["features.0.weight"]
    vgg_features["features.28.bias"] = torch.zeros(3)
    broken_vgg = tmp_path / "vgg16-broken.pth"
    torch.save(vgg_features, broken_vgg)
    pattern = r"missing keys: features\.0\.weight.*shape mismatches: features\.28\.bias.*vgg16-397923af\.pth"
    with pytest.raises(ValueError, match=pattern):
        load_lpips(broken_vgg, files["paths"]["lpips"])

    inc = dict(files["inception"])
    del inc["Conv2d_1a_3x3.conv.weight"]
    inc["Mixed_7c.branch_pool.conv.weight"] = torch.zeros(1)
    broken_inc = tmp_path / "inception-broken.pth"
    torch.save(inc, broken_inc)
    pattern = (
        r"missing keys: Conv2d_1a_3x3\.conv\.weight.*"
        r"shape mismatches: Mixed_7c\.branch_pool\.conv\.weight.*inception_v3_google"
    )
    with pytest.raises(ValueError, match=pattern):
        load_inception(broken_inc)


# ------------------------------------------------------------------------------------------------------ end to end


def test_the_smoke_run_with_weights_records_fid_and_lpips(files, tmp_path):
    """`--weights` reaches the jobs: FID and the LPIPS path lengths are recorded beside the probe's metrics, the real
    Inception statistics are cached once per weights file, and the unedited generator's FID is one number."""
    import numpy as np

    import leaderboard
    from benchmark.cli import main

    paths = files["paths"]
    args = ["run", "--suite", "latent-semantics", "--profile", "smoke", "--out", str(tmp_path), "--jobs", "1",
            "--device", "cpu", "--no-progress", "--weights", f"inception={paths['inception']}",
            f"vgg16={paths['vgg16']}", f"lpips={paths['lpips']}"]
    assert main(args) == 0
    with leaderboard.Store(tmp_path / "leaderboard.sqlite") as store:
        records = store.records(suite="latent-semantics", profile="smoke")
    by = {(r.model, r.metric): r for r in records}
    for model in ("householder", "sefa", "random"):
        for metric in ("fid", "ppl_w_lpips", "pipl_lpips"):
            assert by[(model, metric)].status == "ok", (model, metric)
            assert np.isfinite(by[(model, metric)].value) and by[(model, metric)].value >= 0
        assert by[(model, "fid")].value > 0
    # SeFa and random directions edit the same pretrained generator with the same seeds
    assert by[("sefa", "fid")].value == pytest.approx(by[("random", "fid")].value, rel=1e-9)
    assert by[("sefa", "ppl_w_lpips")].value == pytest.approx(by[("random", "ppl_w_lpips")].value, rel=1e-9)
    cached = list((tmp_path / "runs" / "_shared" / "latent-semantics-probes").glob("inception-*.npz"))
    assert len(cached) == 1
