"""Render speed of the procedural twins on one core, against their goals.

Goals: >= 10,000 images/s for ``dsprites-procedural``, >= 2,000 for ``shapes3d-procedural`` and
``mpi3d-procedural``. Measured in the same run, for each twin:

* ``batched``: the numba kernel over a batch (how trainers call it: ``images_at(idx, np.uint8)``);
* ``per-image``: the same kernel called once per image (batch of one: dispatch overhead);
* ``pure Python``: the same algorithm with numba disabled (``NUMBA_DISABLE_JIT=1``, in a
  subprocess), i.e. naive per-pixel Python rendering - the baseline the ratio is taken against.

The process pins itself to one CPU (``os.sched_setaffinity``) before timing.

Usage: ``python benchmarks/render_speed.py [--quick]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOALS = {"dsprites-procedural": 10_000, "shapes3d-procedural": 2_000, "mpi3d-procedural": 2_000}


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def _indices(n_total: int, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_total, size=n)


def _best_rate(fn, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def pure_python_rate(name: str, n: int) -> float:
    """Images/s with numba disabled, measured in a subprocess (the flag must be set before import)."""
    code = ("import sys, time, numpy as np; sys.path.insert(0, %r); import datasets; "
            "ds = datasets.load(%r); idx = np.random.default_rng(0).integers(0, len(ds), %d); "
            "t = time.perf_counter(); ds.images_at(idx, dtype=np.uint8); print(%d / (time.perf_counter() - t))"
            % (str(REPO), name, n, n))
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images (smoke run)")
    args = parser.parse_args()
    pinned = _pin_one_core()

    import datasets

    print(f"render speed, one core ({pinned}), numpy {np.__version__}")
    print(f"{'dataset':<22}{'goal':>8}{'batched':>11}{'per-image':>11}{'pure Python':>13}{'vs Python':>11}{'vs per-image':>14}  status")
    ok = True
    for name, goal in GOALS.items():
        ds = datasets.load(name)
        ds.images_at(np.arange(4), dtype=np.uint8)  # compile / load the numba cache outside the timing
        n_batch = (20_000 if name.startswith("dsprites") else 4_000) // (10 if args.quick else 1)
        idx = _indices(len(ds), n_batch)
        batched = _best_rate(lambda: ds.images_at(idx, dtype=np.uint8), n_batch, 3)
        n_single = 2_000 // (10 if args.quick else 1)
        single_idx = _indices(len(ds), n_single, 1)
        per_image = _best_rate(lambda: [ds.images_at(single_idx[i:i + 1], dtype=np.uint8) for i in range(n_single)],
                               n_single, 2)
        python = pure_python_rate(name, 20 if name.startswith("dsprites") else 4)
        status = "PASS" if batched >= goal else "FAIL"
        ok &= batched >= goal
        print(f"{name:<22}{goal:>8,}{batched:>11,.0f}{per_image:>11,.0f}{python:>13,.1f}{batched / python:>10,.0f}x"
              f"{batched / per_image:>13,.1f}x  {status}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
