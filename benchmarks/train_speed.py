"""QLAE training speed: optimizer steps per second for the reference and small architectures.

Measures the training step alone (forward, backward, element-wise clip, AdamW) on batches that already sit on
the device (channels-last on CUDA, as in the training engine): 4 batches from the procedural Shapes3D twin (``datasets.load('shapes3d-procedural')``), or, if the
datasets package is missing, uniform noise images of the same shape (stated in the output). Prints steps/s,
images/s, the projected time of a 200 000-step `paper` run, and each figure's ratio to the CPU fp32 figure
of the same architecture measured in this run (on CPU only: 1.00).

    python benchmarks/train_speed.py                       # CPU: small at batch 128, reference at batch 32
    python benchmarks/train_speed.py --device cuda         # GPU: both at batch 128, fp32 and bf16 (+ CPU baseline)
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from benchmark.suites.disentanglement.models import make_optimizers, model_from_config, reference_config
from benchmark.suites.disentanglement.training import train_step


def load_batches(n_batches: int, batch_size: int, device: torch.device) -> tuple[list[torch.Tensor], str, int]:
    rng = np.random.default_rng(0)
    try:
        import datasets

        ds = datasets.load("shapes3d-procedural")
        batches = [ds.images_for_factors(ds.sample_factors(batch_size, rng), dtype=np.float32) for _ in range(n_batches)]
        source, n_factors = "shapes3d-procedural", len(ds.factor_sizes)
    except Exception as exc:  # the datasets package is built in parallel; fall back to noise of the same shape
        batches = [rng.random((batch_size, 3, 64, 64), dtype=np.float32) for _ in range(n_batches)]
        source, n_factors = f"uniform noise 3x64x64 (datasets.load unavailable: {type(exc).__name__})", 6
    layout = torch.channels_last if device.type == "cuda" else torch.contiguous_format  # as the training engine
    return [torch.from_numpy(b).to(device).contiguous(memory_format=layout) for b in batches], source, n_factors


def steps_per_second(architecture: str, device: torch.device, precision: str, batch_size: int, steps: int,
                     warmup: int) -> tuple[float, str]:
    torch.manual_seed(0)
    batches, source, n_factors = load_batches(4, batch_size, device)
    cfg = reference_config("qlae", "shapes3d", architecture=architecture)
    model = model_from_config(cfg, image_shape=(3, 64, 64), n_factors=n_factors)
    layout = torch.channels_last if device.type == "cuda" else torch.contiguous_format  # as the training engine
    model = model.to(device=device, memory_format=layout).train()
    optimizers = make_optimizers(model, fused=device.type == "cuda")
    noise = torch.Generator(device=device).manual_seed(0)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast("cuda", dtype=dtype)) if dtype else contextlib.nullcontext

    def run(n: int) -> None:
        for step in range(n):
            logs = train_step(model, optimizers, batches[step % len(batches)], step, noise, autocast, scaler)
        float(logs["loss"])  # wait for the device

    run(warmup)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    run(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0), source


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=128, help="batch for 'small' (and for 'reference' on GPU)")
    p.add_argument("--cpu-reference-batch-size", type=int, default=32, help="batch for 'reference' on CPU")
    p.add_argument("--steps", type=int, default=0, help="timed steps (default: 20 on CPU, 200 on GPU)")
    p.add_argument("--warmup", type=int, default=0, help="untimed steps first (default: 3 on CPU, 30 on GPU)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda was requested but torch sees no CUDA GPU.")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", GPU: {torch.cuda.get_device_name()}" if use_cuda else ", no GPU used"))
    rows = []
    for arch in ("small", "reference"):
        cpu_batch = args.batch_size if arch == "small" else args.cpu_reference_batch_size
        cpu_steps = args.steps or (20 if arch == "small" else 5)
        cpu, source = steps_per_second(arch, torch.device("cpu"), "fp32", cpu_batch, cpu_steps, args.warmup or 2)
        rows.append((arch, "cpu", "fp32", cpu_batch, cpu, cpu * cpu_batch, 1.0))
        if use_cuda:
            torch.backends.cudnn.benchmark = True
            for precision in ("fp32", "bf16"):
                sps, _ = steps_per_second(arch, torch.device("cuda"), precision, args.batch_size, args.steps or 200,
                                          args.warmup or 30)
                rows.append((arch, "cuda", precision, args.batch_size, sps, sps * args.batch_size,
                             (sps * args.batch_size) / (cpu * cpu_batch)))
    print(f"data: {source}, already on the device; QLAE, reference hyperparameters (shapes3d)")
    print(f"{'arch':<10}{'device':<7}{'prec':<6}{'batch':>6}{'steps/s':>10}{'images/s':>11}{'200k steps':>12}"
          f"{'x CPU img/s':>13}")
    for arch, dev, prec, batch, sps, ips, ratio in rows:
        hours = 200_000 / sps / 3600
        print(f"{arch:<10}{dev:<7}{prec:<6}{batch:>6}{sps:>10.2f}{ips:>11.1f}{hours:>10.1f} h{ratio:>13.1f}")


if __name__ == "__main__":
    main()
