"""Agreement of DCI's default estimator (numba trees, ``estimator="gbt"``) with scikit-learn's (``"gbt_sklearn"``).

Both break ties between equally good splits in a seeded random order, so neither is "the" value: the question is
whether ``gbt`` is as close to ``gbt_sklearn`` as ``gbt_sklearn`` is to itself under another seed. For each case it
fits both with ``random_state`` 0..``--seeds``-1 on the same train/test split (the first 2/3 of the rows train) and
prints the largest |gbt - gbt_sklearn| at the same seed, the difference of their means over the seeds, and the
spread (max - min over seeds) of each, for D, C and I.

    python benchmarks/dci_agreement.py                # the six cases of docs/metrics-predictive.md (about 1 min)
    python benchmarks/dci_agreement.py --full-size    # and eval_speed.py's 15,000 rows (scikit-learn: ~10 min)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' data recipes

from metrics import dci  # noqa: E402
from tests.metrics._data import DCI_CASES, dci_case  # noqa: E402

def scores(s: np.ndarray, z: np.ndarray, estimator: str, seeds: int) -> tuple[np.ndarray, float]:
    """(seeds, 3) D, C, I on the fixed split, and the mean seconds per fit."""
    n_tr = int(len(s) * 2 / 3)
    out, start = [], time.perf_counter()
    for seed in range(seeds):
        r = dci(s[:n_tr], z[:n_tr], sources_test=s[n_tr:], latents_test=z[n_tr:], estimator=estimator,
                random_state=seed, progress=False)
        out.append((r.disentanglement, r.completeness, r.informativeness))
    return np.array(out), (time.perf_counter() - start) / seeds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--full-size", action="store_true", help="add eval_speed.py's 10,000 + 5,000 rows")
    args = p.parse_args()
    cases = {name: dci_case(*spec) for name, spec in DCI_CASES.items()}
    if args.full_size:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from eval_speed import make_data

        cases["15,000 rows, 12 latents, Shapes3D's factor sizes"] = make_data(15_000, 12, seed=0)
    dci(*dci_case(*next(iter(DCI_CASES.values()))), progress=False)  # compile (or load) the kernels first
    fmt = lambda a: " / ".join(f"{v:.4f}" for v in a)  # noqa: E731
    print(f"D / C / I over random_state 0..{args.seeds - 1}")
    for name, (s, z) in cases.items():
        ours, t_ours = scores(s, z, "gbt", args.seeds)
        ref, t_ref = scores(s, z, "gbt_sklearn", args.seeds)
        print(f"\n{name}  (gbt {t_ours:.2f} s, gbt_sklearn {t_ref:.1f} s per fit)")
        print(f"  largest |gbt - gbt_sklearn|, same seed  {fmt(np.abs(ours - ref).max(axis=0))}")
        print(f"  mean gbt - mean gbt_sklearn            {fmt(ours.mean(axis=0) - ref.mean(axis=0))}")
        print(f"  spread of gbt_sklearn                  {fmt(ref.max(axis=0) - ref.min(axis=0))}")
        print(f"  spread of gbt                          {fmt(ours.max(axis=0) - ours.min(axis=0))}", flush=True)


if __name__ == "__main__":
    main()
