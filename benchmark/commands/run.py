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
    c = p.add_argument_group("sweeps on a cluster (docs/cluster.md)")
    c.add_argument("--executor", default="local", choices=("local", "slurm", "dask"),
                   help="where the jobs run: 'local' (default) a process pool on this machine; 'slurm' a job array "
                        "through submitit; 'dask' the tasks of a Dask cluster. The jobs are the same whichever runs "
                        "them; cluster jobs write JSON Lines files into the sweep folder, imported into the store")
    c.add_argument("--sweep-dir", help="the sweep folder: job record files, logs, Slurm handles "
                                       "(default OUT/sweeps/SUITE-PROFILE); on a file system the workers share")
    c.add_argument("--resume", action="store_true",
                   help="attach to the jobs a stopped sweep left running (Slurm; Dask with --scheduler) instead of "
                        "refusing to start")
    c.add_argument("--dry-run", action="store_true",
                   help="with --executor slurm: print the jobs to submit and the sbatch script; submit nothing")
    c.add_argument("--partition", help="Slurm partition")
    c.add_argument("--gpus-per-job", type=int, default=0, help="GPUs each job asks for (Slurm; Dask resources)")
    c.add_argument("--cpus-per-job", type=int, help="CPUs each Slurm job asks for")
    c.add_argument("--mem-gb", type=float, help="memory each Slurm job asks for, in GB")
    c.add_argument("--time", default="240", help="Slurm time limit per job: minutes, or H:MM:SS (default 240)")
    c.add_argument("--array-parallelism", type=int, default=32,
                   help="Slurm jobs of the array running at once (default 32)")
    c.add_argument("--max-array-size", type=int, default=1001,
                   help="most tasks in one Slurm array (the cluster's MaxArraySize, default 1001); a larger sweep is "
                        "submitted as several arrays")
    c.add_argument("--slurm-extra", nargs="+", default=[], metavar="KEY=VALUE",
                   help="more #SBATCH options, e.g. account=proj qos=high constraint=a100")
    c.add_argument("--slurm-local", action="store_true",
                   help="run the Slurm submission with submitit's local executor on this machine (no cluster needed)")
    c.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (default: a LocalCluster here)")
    c.add_argument("--dask-workers", type=int, help="worker processes of the LocalCluster (default: --jobs)")
    c.add_argument("--retries", type=int, default=2, help="Dask: retries of a task whose worker died (default 2); "
                                                         "Slurm: attempts after the first (default 2)")
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
    if args.executor == "local":  # a cluster's driver (a login node) need not have the GPUs its jobs will use
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
        n_workers = (int(args.jobs) if args.jobs != "auto" else
                     auto_workers(len(jobs), args.device if args.executor == "local" else "cpu"))
    except (RuntimeError, ValueError) as exc:  # e.g. --device cuda on a machine without CUDA
        raise UsageError(str(exc)) from None
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else out / "sweeps" / f"{args.suite}-{profile}"
    executor = _executor(args, n_workers, sweep_dir) if args.executor != "local" else LocalExecutor(n_workers)
    if args.dry_run:
        return _dry_run(executor, jobs, db, sweep_dir)
    if executor.describe():
        print(executor.describe())
    start = time.perf_counter()
    try:
        outcomes = run_jobs(jobs, out=out, db=db, device=args.device, executor=executor,
                            progress=not args.no_progress, sweep_dir=sweep_dir)
    except ValueError as exc:  # e.g. a Slurm sweep still running without --resume, an unreachable scheduler
        if executor.remote:
            raise UsageError(str(exc)) from None
        raise
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


def parse_time(text: str) -> int:
    """Minutes from ``90``, ``1:30:00`` or ``2-00:00:00`` (Slurm's forms for days-hours:minutes:seconds)."""
    try:
        days, _, clock = text.rpartition("-")
        parts = [int(x) for x in clock.split(":")]
        if len(parts) == 1:
            minutes = parts[0]
        elif len(parts) == 3:
            minutes = parts[0] * 60 + parts[1] + (parts[2] > 0)
        else:
            raise ValueError
        minutes += int(days or 0) * 24 * 60
    except ValueError:
        raise UsageError(f"--time: expected minutes (90) or H:MM:SS (1:30:00) or D-HH:MM:SS; got {text!r}.") from None
    if minutes < 1:
        raise UsageError(f"--time must be at least one minute; got {text!r}.")
    return minutes


def parse_extra(items: list[str]) -> dict[str, str]:
    """``["account=proj", "qos=high"]`` as a dict of #SBATCH options."""
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--slurm-extra: expected KEY=VALUE (e.g. account=proj); got {item!r}.")
        extra[key.strip().lstrip("-").replace("-", "_")] = value.strip()
    return extra


def _executor(args: argparse.Namespace, n_workers: int, sweep_dir: Path):
    """The Slurm or Dask executor the options describe; their options checked before anything is submitted."""
    for name, least in (("gpus_per_job", 0), ("array_parallelism", 1), ("max_array_size", 1), ("retries", 0)):
        if getattr(args, name) < least:
            raise UsageError(f"--{name.replace('_', '-')} must be >= {least}; got {getattr(args, name)}.")
    if args.executor == "slurm":
        try:
            from benchmark.executors.slurm import SlurmExecutor
        except ImportError as exc:
            raise UsageError(f"--executor slurm needs submitit ({exc}): pip install -e '.[cluster]'.") from None
        return SlurmExecutor(sweep_dir, partition=args.partition, gpus_per_job=args.gpus_per_job,
                             cpus_per_job=args.cpus_per_job, mem_gb=args.mem_gb, time_min=parse_time(args.time),
                             array_parallelism=args.array_parallelism, slurm_extra=parse_extra(args.slurm_extra),
                             local=args.slurm_local, resume=args.resume, max_attempts=1 + args.retries,
                             max_array_size=args.max_array_size)
    if args.dry_run:
        raise UsageError("--dry-run shows the sbatch script of --executor slurm; drop it for --executor dask.")
    try:
        from benchmark.executors.dask import DaskExecutor
    except ImportError as exc:
        raise UsageError(f"--executor dask needs distributed ({exc}): pip install -e '.[cluster]'.") from None
    if args.dask_workers is not None and args.dask_workers < 1:
        raise UsageError(f"--dask-workers must be >= 1; got {args.dask_workers}.")
    return DaskExecutor(args.scheduler, n_workers=args.dask_workers or n_workers, retries=args.retries,
                        gpus_per_job=args.gpus_per_job, connect_timeout=10.0, resume=args.resume)


def _dry_run(executor, jobs, db: Path, sweep_dir: Path) -> int:
    """Print what a Slurm sweep would submit: the jobs not stored yet and the sbatch script of their array."""
    from benchmark.sinks import StoreSink

    if not hasattr(executor, "sbatch_script"):
        raise UsageError("--dry-run shows the sbatch script of --executor slurm; add --executor slurm.")
    store = StoreSink(db)
    todo = [j for j in jobs if not store.stored(j)]
    print(f"dry run: {len(todo)} of {len(jobs)} jobs would be submitted ({len(jobs) - len(todo)} stored), "
          f"sweep folder {sweep_dir}")
    for job in todo[:20]:
        print(f"  {job.label}  {job.job_id}")
    if len(todo) > 20:
        print(f"  ... and {len(todo) - 20} more")
    if todo:
        n_arrays = -(-len(todo) // executor.max_array_size)
        which = (f"the first of {n_arrays} job arrays (at most {executor.max_array_size} tasks each)" if n_arrays > 1
                 else "the job array" if len(todo) > 1 else "the job")
        print(f"\nsbatch script of {which}:\n")
        print(executor.sbatch_script(len(todo)))
    return 0


def _check_device_and_precision(device: str, precision: str) -> None:
    """Refuse a device this machine lacks, or autocast off CUDA, before any job runs (not as failed records of
    every job): the training engine's own resolution, run once up front."""
    from benchmark.training import resolve_device, resolve_precision

    try:
        resolve_precision(precision, resolve_device(device))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
