"""Training speed of the noisy-label suite's steps against a bare PyTorch loop on the same network and batch.

For each backbone of the paper recipes (or the small CNN), the suite's ``NoisyLabelTask.step`` for CE (one
network) and Co-teaching (two networks) is timed on random uint8 images held in memory, beside a bare loop:
``x.float() / 255 -> network -> cross-entropy -> SGD step`` per network. The ratio (bare / ours) is the cost of the
suite's batch preparation, schedules and bookkeeping. It prints the machine (CPU model and flags, GPU).

    python benchmarks/noisy_train_speed.py                     # CPU: small CNN and CIFAR ResNet-34, small batches
    python benchmarks/noisy_train_speed.py --device cuda --paper  # GPU: ResNet-18 at 224 (batch 448), VGG-19-BN...
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.environment import cpu_info
from benchmark.suites.noisy_labels.recipes import Recipe
from benchmark.suites.noisy_labels.splits import Splits
from benchmark.suites.noisy_labels.training import NoisyLabelTask, build_network
from benchmark.training import StepState, resolve_device, resolve_precision

CASES = {  # name: (backbone, image size, batch, classes, precision)
    "small_cnn": ("small_cnn", 32, 64, 10),
    "cifar_resnet34": ("cifar_resnet34", 32, 32, 10),
}
PAPER = {
    "resnet18@224": ("resnet18", 224, 448, 14),
    "vgg19_bn@64": ("vgg19_bn", 64, 128, 10),
    "cifar_resnet34": ("cifar_resnet34", 32, 128, 10),
}


def _data(size: int, n: int, classes: int) -> Splits:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    return Splits(name="speed", num_classes=classes, train_images=images, train_labels=labels, val_images=images[:8],
                  val_labels=labels[:8], test_images=images[:8], test_labels=labels[:8], selection="clean_val",
                  train_hash="speed")


def _time(fn, steps: int, device: torch.device) -> float:
    fn(0)  # warm-up: cuDNN autotuning, allocator
    fn(1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for s in range(2, steps + 2):
        fn(s)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def measure(backbone: str, size: int, batch: int, classes: int, method: str, device: torch.device, steps: int,
            precision: str) -> tuple[float, float]:
    """(ours, bare) steps per second."""
    recipe = Recipe(backbone=backbone, width=16, batch_size=batch, lr=0.01, forget_rate=0.2, n_gradual=0)
    data = _data(size, batch * 4, classes)
    task = NoisyLabelTask(method, recipe, data, seed=0)
    torch.manual_seed(0)
    model = task.build_model().to(device).train()
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast("cuda", dtype=amp)) if amp else (lambda: torch.autocast("cpu", enabled=False))
    state = StepState(model, task.make_optimizers(model, device), np.random.default_rng(0),
                      torch.Generator(device=device).manual_seed(0), device, torch.contiguous_format, autocast,
                      torch.amp.GradScaler("cuda", enabled=False))
    ours = _time(lambda s: task.step(state, s), steps, device)

    nets = [build_network(recipe, classes, "ce").to(device).train() for _ in range(1 if method == "ce" else 2)]
    opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9) for n in nets]
    images, labels = data.train_images, data.train_labels

    def bare(s: int) -> None:
        lo = (s * batch) % images.shape[0]
        x = images[lo:lo + batch].to(device).float() / 255
        y = labels[lo:lo + batch].to(device)
        for net, opt in zip(nets, opts):
            with autocast():
                loss = F.cross_entropy(net(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return ours, _time(bare, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--paper", action="store_true", help="the paper recipes' backbones and batches (a GPU)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision("auto", device)
    cpu = cpu_info()
    print(f"machine: {cpu['model']} ({' '.join(cpu['isa'])}; torch kernels {cpu['cpu_capability']}); device {device} "
          f"{torch.cuda.get_device_name() if device.type == 'cuda' else ''}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, precision {precision}")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(f"{'backbone':<16} {'method':<11} {'batch':>5} {'ours steps/s':>13} {'bare steps/s':>13} {'bare/ours':>9}")
    for name, (backbone, size, batch, classes) in (PAPER if args.paper else CASES).items():
        for method in ("ce", "coteaching"):
            ours, bare = measure(backbone, size, batch, classes, method, device, args.steps, precision)
            print(f"{name:<16} {method:<11} {batch:>5} {ours:>13.2f} {bare:>13.2f} {bare / ours:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
