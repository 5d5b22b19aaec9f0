"""``python -m benchmark eval-sample NAME --out FILE.npz [--n N] [--seed S]``.

Writes the deterministic evaluation sample of a dataset: ``images`` uint8 (N, C, H, W),
``factors`` int64 (N, K), ``indices`` int64 (N,), and the strings ``sample_hash``, ``dataset``,
``content_hash`` and ``factor_names`` (plain ``np.savez``: loadable with ``allow_pickle=False``).
Leaderboard submissions quote ``sample_hash``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmark.cli import UsageError, check_seed, writable_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-sample", help="write a dataset's deterministic evaluation sample to an .npz file")
    p.add_argument("name", help="dataset name (see `data list`)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--n", type=int, default=None, help="number of images (default: the profile's, else 10000)")
    p.add_argument("--profile", default=None, help="use this profile's sample size (what `submit --profile` expects)")
    p.add_argument("--suite", default="disentanglement", help="suite of --profile (default disentanglement)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--root", default=None, help="data root (default $BENCHMARK_DATA or ~/.cache/benchmark/data)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import datasets

    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out must name a .npz file; got {str(out)!r}.")
    if args.n is not None and args.profile is not None:
        raise UsageError("give either --n or --profile, not both.")
    from benchmark.suites import get_suite

    suite = None
    if args.profile is not None:
        try:
            suite = get_suite(args.suite)
            suite.profile(args.profile)
        except ValueError as exc:
            raise UsageError(f"--suite/--profile: {exc}") from None
        if not hasattr(suite, "evaluation_sample"):
            raise UsageError(f"the {suite.name} suite has no evaluation sample of a factor dataset.")
    writable_file(out, "--out")  # before the rendering work
    check_seed(args.seed, "--seed")  # stored as an int64 in the .npz
    try:
        ds = datasets.load(args.name, root=args.root)
        if not isinstance(ds, datasets.FactorDataset):
            raise UsageError(f"{args.name} has class labels, not ground-truth factors; eval-sample needs a factor dataset.")
        if suite is not None:
            args.n = suite.evaluation_sample(args.profile, ds).n
        elif args.n is None:
            args.n = 10_000
        sample = ds.evaluation_sample(args.n, args.seed)
        images = ds.images_at(sample.indices, dtype=np.uint8)
    except (datasets.DatasetNotFoundError, datasets.DatasetIntegrityError, datasets.DatasetDownloadError,
            ValueError, TypeError, OSError) as exc:
        raise UsageError(str(exc)) from None
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, images=images, factors=sample.factors, indices=sample.indices,
             sample_hash=np.array(sample.sample_hash), dataset=np.array(ds.name),
             content_hash=np.array(ds.content_hash), factor_names=np.array(ds.factor_names),
             n=np.array(sample.n), seed=np.array(sample.seed))
    os.replace(tmp, out)
    print(f"{ds.name}: wrote {sample.n} images {tuple(images.shape[1:])} to {out}; sample_hash {sample.sample_hash}")
    return 0
