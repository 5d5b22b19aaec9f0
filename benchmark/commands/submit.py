"""``python -m benchmark submit``: score a method's latents (or encoder) on a dataset's evaluation sample.

The suite recomputes every metric itself on the submitted representation of the fixed, hashed
evaluation sample and stores the records with provenance ``submitted-latents`` (or
``submitted-encoder``). Anything wrong (shape, NaN, a sample-hash mismatch, a pickled object)
is refused with a one-line message and nothing is stored.

    python -m benchmark eval-sample shapes3d-procedural --profile quick --out sample.npz
    # ... encode sample.npz's images with your method, save latents + sample_hash ...
    python -m benchmark submit --dataset shapes3d-procedural --latents mine.npz --name MyMethod --seed 0
"""

from __future__ import annotations

import argparse
import importlib

import numpy as np

from benchmark.cli import UsageError, check_seed, check_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="score submitted latents (or an encoder) and store them on the leaderboard")
    p.add_argument("--suite", default="disentanglement")
    p.add_argument("--profile", default=None, help="profile whose evaluation sample was encoded (default: the suite's "
                                                   "default)")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. shapes3d-procedural")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--latents", help=".npz with 'latents' (n_samples, n_latents) and 'sample_hash'")
    source.add_argument("--encoder", help="module:function mapping float32 images (B, C, H, W) in [0, 1] to (B, L)")
    p.add_argument("--name", required=True, help="method name shown on the leaderboard")
    p.add_argument("--seed", type=int, default=0, help="training seed of the submitted model (default 0)")
    p.add_argument("--discrete-latents", action="store_true", help="score latents as discrete codes (quantised models)")
    from leaderboard import DEFAULT_DB

    p.add_argument("--db", default=None, help=f"leaderboard store (default {DEFAULT_DB})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datasets
    import leaderboard
    from leaderboard import submission
    from benchmark.suites import get_suite

    try:
        suite = get_suite(args.suite)
        profile = args.profile or suite.default_profile
        suite.profile(profile)
    except ValueError as exc:
        raise UsageError(f"--suite/--profile: {exc}") from None
    if not hasattr(suite, "submission_records"):
        raise UsageError(f"the {suite.name} suite takes no submitted representations.")
    args.db = args.db or str(leaderboard.DEFAULT_DB)
    check_seed(args.seed, "--seed")
    if not args.name.strip():
        raise UsageError("--name must not be empty.")
    check_store(args.db)  # before the encoding work, not after it
    try:
        ds = datasets.load(args.dataset)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if not isinstance(ds, datasets.FactorDataset):
        raise UsageError(f"--dataset {args.dataset!r} has class labels, not ground-truth factors; the disentanglement "
                         f"metrics need a factor dataset (see `python -m benchmark list`).")
    sample = suite.evaluation_sample(profile, ds)
    n = sample.n
    provenance = "submitted-latents" if args.latents else "submitted-encoder"
    try:
        if args.latents:
            sub = submission.load_submitted_latents(args.latents, n_samples=n, expected_sample_hash=sample.sample_hash)
            latents, file_sha = sub.latents, sub.file_sha256
        else:
            latents = _encode_with(args.encoder, ds.images_at(sample.indices))
            file_sha = None
    except submission.SubmissionError as exc:
        raise UsageError(f"{exc} (profile {profile!r} uses the sample of {n} images written by `python -m benchmark "
                         f"eval-sample {args.dataset} --profile {profile} --out FILE.npz`)") from None

    records = suite.submission_records(profile, ds, latents, name=args.name, seed=args.seed, provenance=provenance,
                                       discrete=args.discrete_latents)
    with leaderboard.Store(args.db) as store:
        try:
            result = submission.ingest_submission(store, records, sample_hash=sample.sample_hash,
                                                   expected_sample_hash=sample.sample_hash, file_sha256=file_sha)
        except submission.SubmissionError as exc:
            raise UsageError(str(exc)) from None
    print(f"{args.name} on {ds.name} (seed {args.seed}, profile {profile}): {result.inserted} records stored, "
          f"{result.skipped} already present")
    for r in records:
        shown = "failed: " + str(r.error) if r.status != "ok" else f"{r.value:.4f}"
        print(f"  {r.metric:<22} {shown}")
    return 0


def _encode_with(spec: str, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Import ``module:function`` and encode the images in batches; validate what it returns."""
    from leaderboard import submission

    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        raise UsageError(f"--encoder must look like 'package.module:function'; got {spec!r}.")
    try:
        fn = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:  # the user's module may raise anything while it is imported
        raise UsageError(f"--encoder {spec!r} cannot be imported: {type(exc).__name__}: {exc}.") from None
    if not callable(fn):
        raise UsageError(f"--encoder {spec!r} is a {type(fn).__name__}, not a function.")
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        try:
            out = fn(batch)
            if all(hasattr(out, a) for a in ("detach", "cpu", "numpy")):
                out = out.detach().cpu().numpy()
            out = np.asarray(out)
        except Exception as exc:
            raise UsageError(f"--encoder {spec!r} raised {type(exc).__name__}: {exc} (on images {start} to "
                             f"{start + len(batch) - 1}); nothing is stored.") from None
        # the checks a submitted file passes, per batch, so that an error names the batch
        what = f"the output of encoder {spec!r} for images {start} to {start + len(batch) - 1}"
        latents = submission.check_latent_array(out, what, n_samples=len(batch))
        if chunks and latents.shape[1] != chunks[0].shape[1]:
            raise submission.SubmissionError(
                f"{what} has {latents.shape[1]} latents, but {chunks[0].shape[1]} for images 0 to {batch_size - 1}; "
                f"the encoder must give every image the same number of latents.")
        chunks.append(latents)
    return np.concatenate(chunks)
