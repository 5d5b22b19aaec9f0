"""encode / reconstruct / traverse and the PNG plots."""

import numpy as np
import pytest
import torch
from models_toy_data import BarDataset, single_torch_thread  # noqa: F401 (autouse fixture)
from PIL import Image

from benchmark.suites.disentanglement.models import model_from_config, reference_config
from benchmark.suites.disentanglement.inference import decode, encode, reconstruct, traverse
from benchmark.suites.disentanglement.plots import (
    image_mosaic,
    save_nmi_heatmap,
    save_reconstruction_grid,
    save_traversal_grid,
)


def _model(name):
    torch.manual_seed(0)
    return model_from_config(reference_config(name, architecture="small"), image_shape=(1, 32, 32), n_factors=3,
                             dataset_size=24)


def _images(n=10, dtype=np.float32):
    ds = BarDataset()
    return ds.images_for_factors(ds.sample_factors(n, np.random.default_rng(0)), dtype=dtype)


@pytest.mark.parametrize("name", ["qlae", "qlae_global_codebook", "ql_infowgan_gp"])
def test_encode_quantized_models_give_codebook_values(name):
    model = _model(name)
    with torch.no_grad():
        model.encoder.head.weight.mul_(50)  # spread the codes over the codebook
    z = encode(model, _images(40), batch_size=7)
    assert z.shape == (40, 6) and z.dtype == np.float32
    codebook = model.latent.codebook().detach().numpy()
    for d in range(6):
        assert np.isin(z[:, d], codebook[d]).all()
    assert len(np.unique(z)) > 2


def test_encode_vae_gives_mean_and_is_batch_and_dtype_invariant():
    model = _model("beta_vae")
    images = _images(10)
    z = encode(model, images, batch_size=3)
    with torch.no_grad():
        mu = model.posterior(torch.from_numpy(images))[0].numpy()
    np.testing.assert_allclose(z, mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(encode(model, images, batch_size=100), z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(encode(model, _images(10, np.uint8)), z, rtol=1e-4, atol=1e-5)  # uint8 / 255
    assert model.training  # mode restored


def test_encode_and_reconstruct_errors():
    model = _model("ae")
    with pytest.raises(ValueError, match=r"images must be 4D with shape \(n_images, channels, height, width\); got shape \(32, 32\)"):
        encode(model, np.zeros((32, 32), np.float32))
    with pytest.raises(TypeError, match="images must be uint8 .* or float .*; got dtype int64"):
        encode(model, np.zeros((2, 1, 32, 32), np.int64))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        reconstruct(model, _images(2), batch_size=0)


def test_reconstruct_shape_and_range():
    out = reconstruct(_model("ae"), _images(5))
    assert out.shape == (5, 1, 32, 32) and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ["ae", "beta_vae", "qlae", "ql_infowgan_gp"])
def test_decode_of_encode_equals_reconstruct(name):
    # the evaluation decodes the latents it has already encoded instead of encoding twice
    model = _model(name)
    images = _images(12)
    # (equal up to float32 rounding: a VAE's mean is a strided view inside reconstruct, a copy here)
    np.testing.assert_allclose(decode(model, encode(model, images, batch_size=5), batch_size=5),
                               reconstruct(model, images, batch_size=5), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"latents must be a float array of shape \(n_samples, n_latents\); got int64 \(3,\)"):
        decode(model, np.zeros(3, np.int64))


def test_traverse_quantized_sweeps_codebook_and_changes_one_dimension():
    model = _model("qlae")
    images = _images(20)
    grid, values = traverse(model, images[0], images)
    assert grid.shape == (6, 10, 1, 32, 32)
    np.testing.assert_allclose(values, np.sort(model.latent.codebook().detach().numpy(), axis=1))
    base = encode(model, images[:1])[0]
    z = torch.from_numpy(np.repeat(base[None], 10, 0))
    z[:, 2] = torch.from_numpy(values[2])
    with torch.no_grad():
        np.testing.assert_allclose(grid[2], model.decode(z).numpy(), rtol=1e-5, atol=1e-6)


def test_traverse_continuous_uses_percentile_range():
    model = _model("ae")
    images = _images(30)
    grid, values = traverse(model, images[0], images, n_steps=5)
    z = encode(model, images)
    assert grid.shape == (6, 5, 1, 32, 32)
    np.testing.assert_allclose(values[:, 0], np.quantile(z, 0.02, axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(values[:, -1], np.quantile(z, 0.98, axis=0), rtol=1e-4, atol=1e-5)


def test_image_mosaic_layout():
    images = np.zeros((2, 3, 1, 4, 5), np.float32)
    images[1, 2] = 0.5
    mosaic = image_mosaic(images, pad=1, pad_value=1.0)
    assert mosaic.shape == (2 * 5 - 1, 3 * 6 - 1, 1)
    assert np.all(mosaic[5:9, 12:17] == 0.5) and np.all(mosaic[:4, :5] == 0) and np.all(mosaic[4, :] == 1.0)
    with pytest.raises(ValueError, match="images must be 5D"):
        image_mosaic(np.zeros((3, 1, 4, 4)))


def test_plots_write_pngs(tmp_path):
    model = _model("qlae")
    images = _images(12)
    paths = [
        save_traversal_grid(model, images[0], images, tmp_path / "traversal.png"),
        save_reconstruction_grid(model, images, tmp_path / "recon.png", n=6),
        save_nmi_heatmap(np.random.default_rng(0).random((3, 6)), ["position", "width", "brightness"], tmp_path / "nmi.png"),
    ]
    for path in paths:
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100
    with pytest.raises(ValueError, match=r"factor_names must have one name per row of nmi \(3\); got 2"):
        save_nmi_heatmap(np.zeros((3, 6)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="nmi contains NaN or infinity"):
        save_nmi_heatmap(np.full((1, 2), np.nan), ["a"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"infom_per_latent must have one value per column of nmi \(6\); got shape \(5,\)"):
        save_nmi_heatmap(np.zeros((3, 6)), ["a", "b", "c"], tmp_path / "x.png", infom_per_latent=np.zeros(5))


def test_nmi_heatmap_labels_carry_the_infomec_terms(tmp_path):
    from benchmark.suites.disentanglement.plots import _nmi_axis_labels

    rows, cols = _nmi_axis_labels(["shape", "scale"], ["z0", "z1", "z2"], [0.714, 0.0], [0.5, 0.25, 0.0],
                                  [True, True, False])
    assert rows == ["shape  C 0.71", "scale  C 0.00"]
    assert cols == ["z0  M 0.50", "z1  M 0.25", "z2  inactive"]
    assert _nmi_axis_labels(["a"], ["z0"], None, None, None) == (["a"], ["z0"])
    path = save_nmi_heatmap(np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.0]]), ["shape", "scale"], tmp_path / "nmi.png",
                            infoc_per_factor=[0.714, 0.0], infom_per_latent=[0.5, 0.25, 0.0], active=[True, True, False])
    with Image.open(path) as im:
        assert im.format == "PNG"


def test_a_wide_image_grid_leaves_no_blank_band_below_it(tmp_path):
    from PIL import Image

    from benchmark.suites.disentanglement.plots import save_image_grid

    images = np.zeros((2, 8, 1, 32, 32), np.float32)  # black cells: the mosaic is whatever is not white
    path = save_image_grid(images, tmp_path / "grid.png", row_labels=["input", "reconstruction"], title="t")
    png = np.asarray(Image.open(path).convert("L"))
    dark_rows = np.flatnonzero((png < 64).sum(axis=1) > png.shape[1] // 4)
    assert png.shape[0] - dark_rows.max() <= 0.05 * png.shape[0]  # the mosaic reaches the bottom edge
