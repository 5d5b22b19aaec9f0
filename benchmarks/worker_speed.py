"""Why ``--jobs auto`` runs one single-threaded worker per core on the CPU: total training throughput.

Measures, in one run, QLAE (small architecture, 32 px shapes3d twin, the quick profile's batch) trained for
``--steps`` steps:

* ``one process``: a single process using all cores for torch's intra-op threads (the alternative to pinning
  every CPU job to one thread, ``benchmark.jobs.CPU_THREADS``);
* ``workers``: one single-threaded process per core, all training at the same time (``--jobs auto``);

and prints the total steps per second of each and their ratio.

Run: ``python benchmarks/worker_speed.py`` (about two minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time


def _train(threads: int, steps: int, batch_size: int, seed: int) -> float:
    """Steps per second of one QLAE training run with ``threads`` torch threads (data rendering included)."""
    import torch

    torch.set_num_threads(threads)
    import datasets
    from benchmark.suites.disentanglement.models import reference_config
    from benchmark.suites.disentanglement.training import TrainConfig, train

    cfg = TrainConfig(model=reference_config("qlae", "shapes3d", architecture="small"), steps=steps,
                      batch_size=batch_size, seed=seed, progress=False, checkpoint_every=0, device="cpu")
    return train(cfg, datasets.load("shapes3d-procedural-32px")).steps_per_second


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    cores = os.cpu_count() or 1
    ctx = mp.get_context("spawn")

    with ctx.Pool(1) as pool:  # a fresh process, like a worker, so both cases pay the same start-up
        single = pool.apply(_train, (cores, args.steps, args.batch_size, 0))
    start = time.perf_counter()
    with ctx.Pool(cores) as pool:
        rates = pool.starmap(_train, [(1, args.steps, args.batch_size, seed) for seed in range(cores)])
    wall = time.perf_counter() - start
    print(f"# {cores} cores, QLAE small, shapes3d-procedural-32px, batch {args.batch_size}, {args.steps} steps")
    print(f"one process, {cores} threads: {single:6.1f} steps/s")
    print(f"{cores} workers, 1 thread each: {sum(rates):6.1f} steps/s in total "
          f"({', '.join(f'{r:.1f}' for r in rates)}; {cores * args.steps / wall:.1f} counting start-up)")
    print(f"workers / one process: {sum(rates) / single:.2f}x")


if __name__ == "__main__":
    main()
