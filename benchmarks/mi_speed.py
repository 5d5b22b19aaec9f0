"""Speed of the mutual-information matrix against the disentanglement_lib recipe and a memory floor.

Measures in one run, on the same data:

* plug-in MI (20 equal-width bins per latent, all K x L pairs plus the K factor entropies):
  - ``sklearn``: disentanglement_lib's recipe, ``np.digitize(z, np.histogram(z, 20)[1][:-1])`` per
    latent, then ``sklearn.metrics.mutual_info_score`` for every (factor, latent) pair and every
    factor entropy;
  - ``ours``: ``metrics.mutual_info_matrix(s, z, bins=20, return_entropy=True)`` (the entropies
    come from the margins of the same tables);
  - ``floor``: one plain numpy pass over the same bytes (``np.add.reduce`` over latents and
    sources), the memory-bandwidth floor of any method that reads the data once;
* kNN MI (continuous latent vs discrete factor): ``sklearn.feature_selection.mutual_info_classif``
  per factor against ``metrics.mutual_info_matrix(..., estimator="knn")``, with the largest
  absolute difference of the values (float64 latents, so that no ties make the result depend on
  the tie-breaking jitter).

Data: latents float32 (N, 10), the first 6 informative about one factor each; factors int64 with
Shapes3D's sizes (10, 10, 10, 8, 4, 15). Our times are the median of ``--repeats`` runs, the
baselines' the median of 3 (the sklearn recipe runs once at N = 1e7, where one run takes minutes).

Run: ``python benchmarks/mi_speed.py`` (add ``--sizes 1e5 1e6`` for a shorter run).
"""

from __future__ import annotations

import argparse
import platform
import time

import numba
import numpy as np
from sklearn.feature_selection import mutual_info_classif
from sklearn.metrics import mutual_info_score

import metrics

FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
N_LATENTS = 10


def make_data(n: int, seed: int = 0, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, FACTOR_SIZES, size=(n, len(FACTOR_SIZES)))
    latents = rng.normal(size=(n, N_LATENTS))
    latents[:, : len(FACTOR_SIZES)] += sources / np.asarray(FACTOR_SIZES) * 4
    return sources, latents.astype(dtype)


def sklearn_recipe(sources: np.ndarray, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = np.stack([np.digitize(z, np.histogram(z, 20)[1][:-1]) for z in latents.T], axis=1)
    mi = np.array([[mutual_info_score(s, c) for c in codes.T] for s in sources.T])
    h = np.array([mutual_info_score(s, s) for s in sources.T])
    return mi, h


def ours(sources: np.ndarray, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return metrics.mutual_info_matrix(sources, latents, bins=20, return_entropy=True)


def floor(sources: np.ndarray, latents: np.ndarray) -> None:
    np.add.reduce(latents.reshape(-1))
    np.add.reduce(sources.reshape(-1))


def timed(fn, *args, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    parser.add_argument("--knn-sizes", nargs="+", type=float, default=[1e4, 1e5])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"# {platform.processor() or platform.machine()}, numba threads {numba.get_num_threads()}, "
          f"numpy {np.__version__}")
    s, z = make_data(2000)
    ours(s, z)  # compile (or load from the on-disk cache) outside the timings
    metrics.mutual_info_matrix(s, z[:, :2], estimator="knn")

    print("\n## plug-in MI, 20 bins, 10 latents x 6 factors + 6 entropies (median seconds)")
    print(f"{'N':>10} {'sklearn':>10} {'ours':>10} {'floor':>10} {'sklearn/ours':>13} {'ours/floor':>11} {'max|diff|':>10}")
    for n in (int(x) for x in args.sizes):
        s, z = make_data(n)
        t_ours, (mi, h) = timed(ours, s, z, repeats=args.repeats)
        t_floor, _ = timed(floor, s, z, repeats=max(args.repeats, 7))
        t_sk, (mi_ref, h_ref) = timed(sklearn_recipe, s, z, repeats=1 if n >= 5_000_000 else min(3, args.repeats))
        diff = max(np.abs(mi - mi_ref).max(), np.abs(h - h_ref).max())
        print(f"{n:>10.0e} {t_sk:>10.4f} {t_ours:>10.4f} {t_floor:>10.4f} {t_sk / t_ours:>12.1f}x "
              f"{t_ours / t_floor:>10.1f}x {diff:>10.1e}", flush=True)

    print("\n## kNN MI (Ross 2014, n_neighbors=3), 2 latents x 6 factors (median seconds)")
    print(f"{'N':>10} {'sklearn':>10} {'ours':>10} {'sklearn/ours':>13} {'max|diff|':>10}")
    for n in (int(x) for x in args.knn_sizes):
        s, z = make_data(n, dtype=np.float64)  # float64: no ties, so no dependence on the jitter
        z2 = np.ascontiguousarray(z[:, :2])
        t_ours, mi = timed(lambda: metrics.mutual_info_matrix(s, z2, estimator="knn"), repeats=args.repeats)
        t_sk, mi_ref = timed(
            lambda: np.array([mutual_info_classif(z2, col, n_neighbors=3, random_state=0) for col in s.T]),
            repeats=3,  # one run of it varies by +-30% on a shared machine
        )
        print(f"{n:>10.0e} {t_sk:>10.4f} {t_ours:>10.4f} {t_sk / t_ours:>12.1f}x {np.abs(mi - mi_ref).max():>10.1e}",
              flush=True)


if __name__ == "__main__":
    main()
