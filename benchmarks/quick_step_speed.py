"""Training steps per second of one `quick` worker, with this CPU's own kernels and with torch's AVX2 kernels.

A `quick` job trains one model (small architecture, batch 32) on a 32 px procedural twin with one CPU thread.
This script trains each of the profile's models for ``--steps`` steps that way, as the suite does (batches drawn
by the dataset, the engine's loop), once with the kernels torch picks for this CPU and once in a subprocess under
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``, torch's AVX2 kernels: on an AVX-512 machine, the closest
stand-in for an AVX2-only CPU (it does not capture clock speed, caches or memory). It prints the CPU (model,
vector instruction sets) and the ratio.

    python benchmarks/quick_step_speed.py [--steps 300] [--dataset shapes3d-procedural-32px]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
MODELS = ("qlae", "ae", "beta_vae")


def measure(dataset: str, steps: int) -> dict:
    """Steps per second of each model, one thread, and the kernel level torch used."""
    import torch

    import datasets
    from benchmark.suites.disentanglement.config import reference_config
    from benchmark.suites.disentanglement.training import TrainConfig, train

    ds = datasets.load(dataset)
    rates = {}
    for model in MODELS:
        cfg = TrainConfig(model=reference_config(model, dataset, architecture="small"), steps=steps, batch_size=32,
                          progress=False, cpu_threads=1, checkpoint_every=0)
        rates[model] = train(cfg, ds).steps_per_second
    return {"rates": rates, "capability": torch.backends.cpu.get_cpu_capability()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--dataset", default="shapes3d-procedural-32px")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.dataset, args.steps)))
        return
    from benchmark.environment import cpu_info

    cpu = cpu_info()
    print(f"CPU: {cpu['model']}; vector instruction sets: {', '.join(cpu['isa']) or 'none listed'}")
    native = measure(args.dataset, args.steps)
    child = subprocess.run([sys.executable, __file__, "--child", "--steps", str(args.steps), "--dataset", args.dataset],
                           env={**os.environ, **AVX2}, capture_output=True, text=True, check=True)
    avx2 = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"{args.dataset}, batch 32, one thread, {args.steps} steps per model")
    print(f"{'model':<10}{native['capability'] + ' kernels':>16}{avx2['capability'] + ' kernels':>16}{'ratio':>8}")
    for model in MODELS:
        a, b = native["rates"][model], avx2["rates"][model]
        print(f"{model:<10}{a:>12.1f} st/s{b:>12.1f} st/s{a / b:>7.2f}x")


if __name__ == "__main__":
    main()
