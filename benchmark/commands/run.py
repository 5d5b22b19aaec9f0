"""``python -m benchmark run --suite disentanglement [--profile ...]``: train, evaluate, store, report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmark.cli import UsageError, check_store, writable_folder


def register(sub: argparse._SubParsersAction) -> None:
    from benchmark.suites import SUITES

    p = sub.add_parser("run", help="run a benchmark suite (default profile: quick, offline)",
                       description="Train every (dataset, model, seed) of a suite profile, evaluate it, store one record "
                                   "per metric in the leaderboard store and print this run's leaderboard. Jobs whose "
                                   "records are stored are skipped: rerun the same command to resume.")
    p.add_argument("--suite", default="disentanglement", choices=sorted(SUITES))
    p.add_argument("--profile", default=None, help="smoke, quick (default) or paper")
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import leaderboard
    from benchmark.runner import auto_workers, plan_jobs, run_jobs, worker_threads
    from benchmark.suites import get_suite

    module = get_suite(args.suite)
    profile = args.profile or module.DEFAULT_PROFILE
    if args.jobs != "auto" and not (str(args.jobs).isdigit() and int(args.jobs) >= 1):
        raise UsageError(f"--jobs must be 'auto' or an integer >= 1; got {args.jobs!r}.")
    _check_device_and_precision(args.device, args.precision)
    try:
        jobs = plan_jobs(args.suite, profile, datasets_=tuple(args.datasets or ()), models=tuple(args.models or ()),
                         seeds=args.seeds, precision=args.precision)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = writable_folder(args.out, "--out")  # only once the arguments are valid: a typo creates no folder
    db = Path(args.db) if args.db else out / "leaderboard.sqlite"
    check_store(db)  # a damaged, foreign or newer store is refused before any training
    p = module.PROFILES[profile]
    print(f"{args.suite} / {profile}: {p.description}")
    print(f"{len(jobs)} jobs ({len({j.dataset for j in jobs})} datasets x {len({j.model for j in jobs})} models x "
          f"{len({j.seed for j in jobs})} seeds), results in {out}/, store {db}")
    try:
        n_workers = auto_workers(len(jobs), args.device) if args.jobs == "auto" else int(args.jobs)
    except (RuntimeError, ValueError) as exc:  # e.g. --device cuda on a machine without CUDA
        raise UsageError(str(exc)) from None
    if n_workers > 1:
        print(f"{n_workers} worker processes, {worker_threads(n_workers)} CPU thread(s) each "
              f"(--jobs 1: one process)")
    start = time.perf_counter()
    outcomes = run_jobs(jobs, out=out, db=db, device=args.device, n_workers=n_workers, progress=not args.no_progress)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "failed")}
    print(f"\ndone in {time.perf_counter() - start:.0f} s: {counts['ok']} trained, {counts['skipped']} already stored, "
          f"{counts['failed']} failed")
    for o in outcomes:
        if o.status == "failed":
            print(f"  FAILED {o.job.label}: {o.error}")

    # this run's jobs only (not other precisions or seeds stored beside them); selected here, not as one SQL IN list
    # of every record id, which would pass SQLite's limit on bound variables for a large run
    ids = {i for j in jobs for i in j.record_ids()}
    with leaderboard.Store(db) as store:
        records = [r for r in store.records(suite=args.suite, protocol_version=module.PROTOCOL_VERSION, profile=profile,
                                            dataset=sorted({j.dataset for j in jobs}), model=sorted({j.model for j in jobs}))
                   if r.record_id in ids]
    if records:
        summary = leaderboard.summarize(records, seed=0, reps=2000)
        key = ("infom", "infoc", "infoe", "psnr")
        shown = summary[summary["metric"].isin(key)]
        print("\nLeaderboard of this run (IQM over seeds, 95% stratified-bootstrap interval):")
        print(leaderboard.format_table(shown if len(shown) else summary))
        print(f"\nAll metrics: python -m benchmark leaderboard show --db {db} --profile {profile}")
    print(f"Plots (traversals, NMI heatmaps, reconstructions): {out / 'runs' / profile}/<dataset>/<model>/seed<seed>-<job id>/plots/")
    return 1 if counts["failed"] else 0



def _check_device_and_precision(device: str, precision: str) -> None:
    """Refuse a device this machine lacks, or autocast off CUDA, before any job runs (not as failed records of
    every job): the training loop's own resolution, run once up front."""
    from benchmark.training.loop import resolve_device, resolve_precision

    try:
        resolve_precision(precision, resolve_device(device))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
