"""``python -m benchmark run --suite NAME [--profile ...]``: plan, train, evaluate, store, report, check claims."""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

from benchmark.cli import UsageError, check_store, writable_folder


def _profiles_help() -> str:
    """Each suite's profiles, from the registry (the default marked)."""
    from benchmark.suites import all_suites

    parts = [f"{name}: " + ", ".join(p + (" (default)" if p == s.default_profile else "") for p in s.profiles)
             for name, s in all_suites().items()]
    return "profile of the suite (" + "; ".join(parts) + ")"


def register(sub: argparse._SubParsersAction) -> None:
    from benchmark.suites import suite_names

    p = sub.add_parser("run", help="run a benchmark suite (default: disentanglement, its default offline profile)",
                       description="Train every (dataset, model, seed) of a suite profile, evaluate it, store one record "
                                   "per metric in the leaderboard store, print this run's leaderboard and whether the "
                                   "suite's claims hold. Jobs whose records are stored are skipped: rerun the same "
                                   "command to resume.")
    p.add_argument("--suite", default="disentanglement", choices=suite_names())
    p.add_argument("--profile", default=None, help=_profiles_help())
    p.add_argument("--datasets", nargs="+", help="restrict to these datasets (default: the profile's)")
    p.add_argument("--models", nargs="+", help="restrict to these models (default: the profile's)")
    p.add_argument("--seeds", type=int, help="number of training seeds (default: the profile's)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="training precision: 'auto' (default) is bf16 autocast on CUDA (fp16 on GPUs without bf16) "
                        "and fp32 elsewhere; bf16 and fp16 need CUDA. A precision other than auto makes other jobs "
                        "(it is part of their identity)")
    p.add_argument("--out", default="results", help="results folder: leaderboard.sqlite, runs/, plots (default ./results)")
    p.add_argument("--db", help="leaderboard store (default OUT/leaderboard.sqlite)")
    p.add_argument("--jobs", default="auto",
                   help="jobs run at once in a local process pool: an integer, or 'auto' (default): one per CPU core "
                        "when training on the CPU, 1 on a GPU")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--weights", nargs="+", metavar="[NAME=]PATH",
                   help="pretrained weights a suite cannot download: torchvision ImageNet state dicts for the "
                        "noisy-label recipes that start from them (paper profile: resnet18=PATH resnet50=PATH, or one "
                        "PATH when the run needs one backbone); for latent-semantics, inception=PATH (FID) and "
                        "vgg16=PATH lpips=PATH (LPIPS path lengths)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import leaderboard
    from benchmark.executors.local import LocalExecutor, auto_workers
    from benchmark.runner import check_claims, run_jobs, run_records
    from benchmark.suites import get_suite

    suite = get_suite(args.suite)
    profile = args.profile or suite.default_profile
    if args.jobs != "auto" and not (str(args.jobs).isdigit() and int(args.jobs) >= 1):
        raise UsageError(f"--jobs must be 'auto' or an integer >= 1; got {args.jobs!r}.")
    _check_device_and_precision(args.device, args.precision)
    try:
        options = {}
        if args.weights:
            if "weights" not in inspect.signature(suite.plan).parameters:
                raise UsageError(f"--weights: the {args.suite} suite takes no pretrained weights; drop the option.")
            options["weights"] = args.weights
        jobs = suite.plan(profile, datasets=tuple(args.datasets or ()), models=tuple(args.models or ()),
                          seeds=args.seeds, precision=args.precision, **options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = writable_folder(args.out, "--out")  # only once the arguments are valid: a typo creates no folder
    db = Path(args.db) if args.db else out / leaderboard.DEFAULT_DB.name
    check_store(db)  # a damaged, foreign or newer store is refused before any training
    print(f"{args.suite} / {profile}: {suite.profile(profile).description}")
    print(f"{len(jobs)} jobs ({len({j.dataset for j in jobs})} datasets x {len({j.model for j in jobs})} models x "
          f"{len({j.seed for j in jobs})} seeds), results in {out}/, store {db}")
    try:
        n_workers = auto_workers(len(jobs), args.device) if args.jobs == "auto" else int(args.jobs)
    except (RuntimeError, ValueError) as exc:  # e.g. --device cuda on a machine without CUDA
        raise UsageError(str(exc)) from None
    executor = LocalExecutor(n_workers)
    if executor.describe():
        print(executor.describe())
    start = time.perf_counter()
    outcomes = run_jobs(jobs, out=out, db=db, device=args.device, executor=executor, progress=not args.no_progress)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "failed")}
    print(f"\ndone in {time.perf_counter() - start:.0f} s: {counts['ok']} trained, {counts['skipped']} already stored, "
          f"{counts['failed']} failed")
    for o in outcomes:
        if o.status == "failed":
            print(f"  FAILED {o.job.label}: {o.error}")

    records = run_records(jobs, db)
    if records:
        summary = leaderboard.summarize(records, seed=0, reps=2000)
        shown = summary[summary["metric"].isin(suite.report_metrics())]
        print("\nLeaderboard of this run (IQM over seeds, 95% stratified-bootstrap interval):")
        print(leaderboard.format_table(shown if len(shown) else summary))
        print(f"\nAll metrics: python -m benchmark leaderboard show --db {db} --profile {profile}")
        try:
            verdicts = check_claims(args.suite, profile, records, seed=0, reps=2000)
        except ValueError as exc:  # e.g. the store mixes configurations a claim cannot tell apart
            verdicts = []
            print(f"\nThe claims could not be checked on these records: {exc}")
        if verdicts:
            print(f"\nClaims of the {args.suite} suite at this budget (python -m benchmark claims --suite "
                  f"{args.suite} --profile {profile} --db {db}):")
            print(leaderboard.format_verdicts(verdicts))
        figures = suite.summary_plots(profile, records, out)
        if figures:
            print("\nFigures of this run: " + ", ".join(str(f) for f in figures))
    note = suite.run_note(profile, out)
    if note:
        print(note)
    return 1 if counts["failed"] else 0


def _check_device_and_precision(device: str, precision: str) -> None:
    """Refuse a device this machine lacks, or autocast off CUDA, before any job runs (not as failed records of
    every job): the training engine's own resolution, run once up front."""
    from benchmark.training import resolve_device, resolve_precision

    try:
        resolve_precision(precision, resolve_device(device))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
