"""CUDA-only paths: training in fp32, bf16 and fp16 (GradScaler), the fp16 gradient penalty, a CUDA checkpoint
resumed on the CPU, and encoding on the GPU against the CPU.

Skipped where torch sees no CUDA GPU (CI has none, and no package can add one); run them on a GPU machine
with ``pytest tests/benchmark/test_cuda.py``. The CPU tests cover the same code with CPU stand-ins (a CPU
GradScaler, a planted CUDA generator state); these check the real thing.
"""

import contextlib
import dataclasses
import warnings

import numpy as np
import pytest
import torch
from models_toy_data import BarDataset

from benchmark.suites.disentanglement.models import make_optimizers, model_from_config, reference_config
from benchmark.training import CHECKPOINT_NAME
from benchmark.suites.disentanglement.inference import encode
from benchmark.suites.disentanglement.training import TrainConfig, train
from benchmark.suites.disentanglement.training import train_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")


def _cfg(name: str, precision: str, steps: int = 6, device: str = "cuda") -> TrainConfig:
    return TrainConfig(model=reference_config(name, architecture="small"), steps=steps, batch_size=8, seed=3,
                       checkpoint_every=3, log_every=1, progress=False, device=device, precision=precision)


def _batch(n: int = 8, device: str = "cuda") -> torch.Tensor:
    ds = BarDataset()
    return torch.from_numpy(ds.images_for_factors(ds.sample_factors(n, np.random.default_rng(0)))).to(device)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("name", ["qlae", "beta_vae", "ql_infowgan_gp"])
def test_training_on_cuda_in_every_precision(name, precision):
    result = train(_cfg(name, precision, steps=30), BarDataset())  # fp16 may skip its first steps (overflow)
    assert result.device.startswith("cuda") and result.precision == precision
    assert result.final_losses and all(np.isfinite(v) for v in result.final_losses.values()), result.final_losses
    images = BarDataset().images_for_factors(BarDataset().index_to_factors(np.arange(24)))
    z = encode(result.model, images)
    assert z.shape == (24, result.model.n_latents) and np.isfinite(z).all()
    if name != "beta_vae":  # quantised: every latent is a value of its dimension's codebook, exactly
        codebook = result.model.latent.codebook().detach().float().cpu().numpy()
        assert all(np.isin(z[:, j], codebook[j]).all() for j in range(z.shape[1]))


def test_auto_precision_is_bf16_on_a_gpu_that_has_it():
    result = train(_cfg("qlae", "auto", steps=2), BarDataset())
    assert result.precision == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")


def test_fp16_gradient_penalty_does_not_depend_on_the_loss_scale(monkeypatch):
    """Under fp16 the penalty's inner gradient is taken of the loss-scaled critic value and unscaled in fp32: the
    penalty does not depend on the scale (exactly so, short of fp16 overflow or subnormals), and is near fp32's."""
    torch.manual_seed(0)
    model = model_from_config(reference_config("ql_infowgan_gp", architecture="small"), image_shape=(1, 32, 32),
                              n_factors=3).cuda()
    x = _batch()
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # one summation order for both scales
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    results = {}
    for precision, scale in (("fp32", 1.0), ("fp16", 2.0**6), ("fp16", 2.0**10)):
        model.zero_grad(set_to_none=True)
        model.inner_grad_scale = scale
        autocast = torch.autocast("cuda", dtype=torch.float16) if precision == "fp16" else contextlib.nullcontext()
        with autocast:
            loss, parts = model.loss("critic", x, torch.Generator(device="cuda").manual_seed(5))
        (loss * scale).backward()
        grad = torch.cat([p.grad.flatten().float() / scale for p in model.encoder.parameters() if p.grad is not None])
        results[scale] = (parts["gradient_penalty"].detach(), grad)
    torch.testing.assert_close(results[2.0**6][0], results[2.0**10][0], rtol=1e-3, atol=0)  # unscaled right
    (gp32, g32), (gp16, g16) = results[1.0], results[2.0**10]
    assert torch.isfinite(gp16) and float(gp16) == pytest.approx(float(gp32), rel=0.5)
    assert torch.nn.functional.cosine_similarity(g32, g16, dim=0) > 0.9


def test_fp16_gan_steps_back_off_from_overflow_and_train():
    """From the GradScaler's 2**16 the penalty's inner gradient may overflow: such steps are skipped (not logged),
    the scale halves, and training goes on with finite losses."""
    torch.manual_seed(0)
    model = model_from_config(reference_config("infowgan_gp", architecture="small"), image_shape=(1, 32, 32),
                              n_factors=3).cuda()
    optimizers = make_optimizers(model, fused=True)
    scaler = torch.amp.GradScaler("cuda")  # init_scale 2**16
    autocast = lambda: torch.autocast("cuda", dtype=torch.float16)  # noqa: E731
    noise = torch.Generator(device="cuda").manual_seed(0)
    train_step(model, optimizers, _batch(), 0, noise, autocast, scaler)
    assert model.inner_grad_scale == 2.0**16
    logs = {}
    for step in range(1, 30):
        logs.update(train_step(model, optimizers, _batch(), step, noise, autocast, scaler))
    assert 1.0 <= scaler.get_scale() <= 2.0**16
    assert logs and all(torch.isfinite(v) for v in logs.values()), logs


class NaNBars(BarDataset):
    def images_for_factors(self, classes, dtype=np.float32):
        return np.full_like(super().images_for_factors(classes, dtype), np.nan)


def test_fp16_run_that_skips_every_step_is_reported_as_diverged():
    cfg = dataclasses.replace(_cfg("qlae", "fp16", steps=40), checkpoint_every=0)
    with pytest.raises(FloatingPointError, match=r"under fp16 the gradients overflow even at loss scale 0\.5"):
        train(cfg, NaNBars())


def test_resume_on_cuda_continues_the_run(tmp_path):
    """Stopped after the step-3 checkpoint and rerun: the same model as one uninterrupted run, up to the GPU's
    non-deterministic reductions (cuDNN's autotuned kernels), which stay far below what steps 4-6 change."""
    cfg = _cfg("qlae", "fp32")
    straight = train(cfg, BarDataset(), run_dir=tmp_path / "a").model.state_dict()
    at_3 = train(dataclasses.replace(cfg, steps=3), BarDataset(), run_dir=tmp_path / "b").model.state_dict()
    at_3 = {k: v.clone() for k, v in at_3.items()}
    resumed = train(cfg, BarDataset(), run_dir=tmp_path / "b")
    assert resumed.start_step == 3 and resumed.steps == 6

    def mean_abs(a, b):
        return float(torch.cat([(a[k].float() - b[k].float()).abs().flatten() for k in a]).mean())

    moved = mean_abs(straight, at_3)
    assert moved > 1e-4  # steps 4-6 changed the weights
    assert mean_abs(straight, resumed.model.state_dict()) < 0.05 * moved


def test_a_cuda_checkpoint_resumes_on_the_cpu(tmp_path):
    cfg = _cfg("beta_vae", "fp32")  # draws model noise every step
    train(dataclasses.replace(cfg, steps=3), BarDataset(), run_dir=tmp_path)
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["rng"]["noise_device"] == "cuda"
    with pytest.warns(UserWarning, match=r"saved on cuda and this run resumes on cpu: the noise stream restarts"):
        resumed = train(dataclasses.replace(cfg, device="cpu"), BarDataset(), run_dir=tmp_path)
    assert resumed.device == "cpu" and resumed.start_step == 3 and resumed.steps == 6
    assert next(resumed.model.parameters()).device.type == "cpu"
    assert all(np.isfinite(v) for v in resumed.final_losses.values())


def test_encoding_on_the_gpu_matches_the_cpu(monkeypatch):
    """Same latents on either device. cuDNN's default TF32 convolutions (10-bit mantissa) would differ from the
    CPU by ~1e-3 per layer, which is the GPU's arithmetic, not the device handling this checks: TF32 is off."""
    result = train(_cfg("ae", "fp32", steps=3), BarDataset())
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    images = BarDataset().images_for_factors(BarDataset().index_to_factors(np.arange(24)))
    z_gpu = encode(result.model, images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z_cpu = encode(result.model.cpu(), images)
    np.testing.assert_allclose(z_gpu, z_cpu, rtol=1e-3, atol=1e-4)
