"""``python -m benchmark sweep-plan``: the scale of a cluster sweep, on paper, before anything runs.

For the jobs that ``suite.plan(profile, datasets=, models=, seeds=)`` plans (what ``run`` would run), it prints:

1. the job count, broken down (datasets x models x seeds, per dataset and per model);
2. the training steps per job, read from each job's config (``_STEP_FIELDS``: the disentanglement suite's
   ``TrainConfig.steps``, the latent-semantics suite's GAN iterations); suites whose configs hold epochs instead
   (noisy labels, equivariance) are reported as having no step count;
3. GPU-hours (CPU core-hours with ``--device cpu``) at a measured rate, taken from, in this order,
   ``--steps-per-second MODEL=RATE``, the store (the median ``timing["steps_per_second"]`` over the stored ``ok``
   jobs of the same suite, profile, model and device kind), or ``MEASURED_RATES`` (figures of the ``benchmarks/``
   scripts, each with its script and machine); plus a fixed per-job overhead where one was measured
   (``MEASURED_OVERHEADS``). The source of every rate is printed;
4. the Slurm array layout: how many arrays of how many tasks (``--max-array-size``, Slurm's ``MaxArraySize``),
   their ``#SBATCH --array=0-{n-1}%{P}`` lines and the wall-clock time at ``--array-parallelism P``.

``--json`` prints the same as one JSON object. Nothing is trained, written or downloaded. When a profile's data
files are not on this machine (``paper`` on a laptop), the jobs are planned without them: the dataset hashes of
those jobs are placeholders, which changes neither the job count nor the steps.

    python -m benchmark sweep-plan --suite disentanglement --profile paper --seeds 50
    python -m benchmark sweep-plan --profile paper --steps-per-second 25 --json
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli import UsageError

__all__ = ["register", "sweep_plan", "plan_jobs", "array_layout", "store_rates", "parse_rates", "MEASURED_RATES",
           "MEASURED_OVERHEADS", "DEFAULT_PARALLELISM", "DEFAULT_MAX_ARRAY_SIZE"]

DEFAULT_PARALLELISM = 32
DEFAULT_MAX_ARRAY_SIZE = 1001  # Slurm's MaxArraySize default: task indices 0..1000
DEFAULT_STORE = Path("results") / "leaderboard.sqlite"  # = leaderboard.DEFAULT_DB (not imported: keeps this light)

# Where a job's training steps live in each suite's job config (the first path present wins), and what they count.
_STEP_FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("train_config", "steps"), "optimizer steps, GANs' critic steps"),  # disentanglement: TrainConfig.steps (GANs: critic steps)
    (("gan", "iterations"), "GAN iterations"),  # latent-semantics: the StyleGAN2 pre-training (the probe apart)
)
# Configs that give the training length in epochs (steps = epochs x batches per epoch, known only with the data).
_EPOCH_FIELDS: tuple[tuple[str, ...], ...] = (("recipe", "epochs"), ("train", "epochs"))


@dataclass(frozen=True)
class MeasuredRate:
    """A training rate measured by one of the repo's ``benchmarks/`` scripts (``model='*'``: every model)."""

    suite: str
    profile: str
    device: str  # 'gpu' or 'cpu'
    model: str
    steps_per_second: float
    source: str


_DEV_MACHINE = "the 2-core development machine (AMD EPYC, AVX-512, torch CPU build), docs/performance.md"
_QUICK_SOURCE = f"benchmarks/quick_step_speed.py (one thread, batch 32, 32 px Shapes3D twin) on {_DEV_MACHINE}"
MEASURED_RATES: tuple[MeasuredRate, ...] = (
    MeasuredRate("disentanglement", "paper", "cpu", "*", 0.1,
                 f"benchmarks/paper_run.py --device cpu --steps 20 (qlae, batch 128, fp32, one thread) on "
                 f"{_DEV_MACHINE}; measured on qlae, assumed for every model"),
    *(MeasuredRate("disentanglement", profile, "cpu", model, rate, _QUICK_SOURCE)
      for profile in ("quick", "claim") for model, rate in (("qlae", 42.9), ("ae", 50.3), ("beta_vae", 45.7))),
    # No GPU rate has been measured yet (docs/performance.md, "GPU").
)


@dataclass(frozen=True)
class MeasuredOverhead:
    """Time a job spends outside its training loop (set-up, data, encoding, metrics, plots, store)."""

    suite: str
    profile: str
    minutes: float
    source: str


MEASURED_OVERHEADS: tuple[MeasuredOverhead, ...] = (
    MeasuredOverhead("disentanglement", "paper", 3.7,
                     "benchmarks/paper_run.py --device cpu: 3.7 min outside the training loop per paper job "
                     "(encoding and decoding the 10,000-image evaluation sample 181 s, the metrics 34 s), measured on "
                     "the CPU of the development machine (docs/performance.md); on a GPU the encoding is faster, so "
                     "this overestimates a GPU job's"),
)


def _gpu_rate_hint(suite: str, profile: str) -> str:
    script = "benchmarks/paper_run.py" if suite == "disentanglement" else "the suite's benchmarks/ speed script"
    return f"no measured GPU rate: pass --steps-per-second or run {script} on a GPU"


# ------------------------------------------------------------------------------------------------------ parser
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep-plan", help="the scale of a sweep on paper: jobs, steps, GPU-hours, Slurm arrays (runs nothing)",
        description="Plan a suite profile's jobs (as `run` would) and print the job count, the training steps per "
                    "job, GPU-hours (CPU core-hours with --device cpu) at a measured rate, and the Slurm array "
                    "layout with its wall-clock time. Trains, writes and downloads nothing.")
    p.add_argument("--suite", default="disentanglement", help="registered suite (default: disentanglement)")
    p.add_argument("--profile", default=None, help="profile of the suite (default: the suite's default)")
    p.add_argument("--datasets", nargs="+", help="restrict to these datasets (default: the profile's)")
    p.add_argument("--models", nargs="+", help="restrict to these models (default: the profile's)")
    p.add_argument("--seeds", type=int, help="number of training seeds (default: the profile's)")
    p.add_argument("--device", default="gpu", choices=("gpu", "cuda", "cpu"),
                   help="what the jobs run on: GPU-hours (gpu, the default; cuda is the same) or CPU core-hours (cpu)")
    p.add_argument("--steps-per-second", nargs="+", metavar="[MODEL=]RATE",
                   help="training rate(s) to use, e.g. qlae=25 infowgan_gp=40; a bare RATE applies to every model "
                        "without its own. Overrides the store and the measured table")
    p.add_argument("--db", help=f"leaderboard store to read measured rates from (default: {DEFAULT_STORE} if it "
                                f"exists)")
    p.add_argument("--overhead-minutes", type=float,
                   help="fixed minutes per job outside the training loop (default: the repo's measured figure for "
                        "the suite and profile, where there is one; else 0)")
    p.add_argument("--array-parallelism", type=int, default=DEFAULT_PARALLELISM,
                   help=f"tasks of an array running at once, the %%P of --array (default {DEFAULT_PARALLELISM})")
    p.add_argument("--max-array-size", type=int, default=DEFAULT_MAX_ARRAY_SIZE,
                   help=f"the cluster's MaxArraySize: tasks per array at most (default {DEFAULT_MAX_ARRAY_SIZE}, "
                        f"Slurm's default)")
    p.add_argument("--weights", nargs="+", metavar="[NAME=]PATH",
                   help="pretrained weights, as for `run` (the noisy-label paper recipes plan only with them)")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = sweep_plan(suite=args.suite, profile=args.profile, datasets=tuple(args.datasets or ()),
                      models=tuple(args.models or ()), seeds=args.seeds, device=args.device,
                      steps_per_second=args.steps_per_second, db=args.db, overhead_minutes=args.overhead_minutes,
                      parallelism=args.array_parallelism, max_array_size=args.max_array_size,
                      weights=getattr(args, "weights", None))
    print(json.dumps(plan, indent=2) if args.json else format_plan(plan))
    return 0


# ---------------------------------------------------------------------------------------------------- planning
class _AbsentDataset:
    """Stands in for a dataset whose files are not on this machine, while planning only (name, hash, size)."""

    def __init__(self, name: str):
        self.name = name
        self.content_hash = f"absent:{name}"

    def __len__(self) -> int:
        return 2**62  # larger than any evaluation sample: plans take min(eval_samples, len(ds))


def plan_jobs(suite, profile: str, *, datasets=(), models=(), seeds=None, **options) -> tuple[list, list[str]]:
    """``suite.plan(...)``, and the datasets planned without their files (empty when all were there).

    When planning fails and a dataset's files are missing (``datasets.DatasetNotFoundError``), the plan is made
    again with a stand-in for each missing dataset; if it still fails, the first error is raised. What a suite
    prints while planning (a skipped optional dataset) goes to stderr, so that ``--json`` stays one object."""
    with contextlib.redirect_stdout(sys.stderr):
        return _plan_jobs(suite, profile, datasets=datasets, models=models, seeds=seeds, **options)


def _plan_jobs(suite, profile: str, *, datasets, models, seeds, **options) -> tuple[list, list[str]]:
    try:
        return suite.plan(profile, datasets=datasets, models=models, seeds=seeds, **options), []
    except ValueError as exc:
        first = exc
    import datasets as data_module

    real_load, absent = data_module.load, []

    def load(name, *args, **kwargs):
        try:
            return real_load(name, *args, **kwargs)
        except data_module.DatasetNotFoundError:
            absent.append(name)
            return _AbsentDataset(name)

    data_module.load = load
    try:
        jobs = suite.plan(profile, datasets=datasets, models=models, seeds=seeds, **options)
    except Exception:  # noqa: BLE001 (the stand-in lacks what this suite needs: report the real error)
        raise first from None
    finally:
        data_module.load = real_load
    if not absent:
        raise first
    return jobs, list(dict.fromkeys(absent))


def _dig(config, path):
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return None
        config = config[key]
    return config


def job_steps(job) -> tuple[int | None, str]:
    """The training steps of ``job`` from its config, and what they count (or why there are none)."""
    if getattr(job, "provenance", "measured") == "reference":
        return 0, "no training (reference row)"
    for path, unit in _STEP_FIELDS:
        value = _dig(job.config, path)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, f"{unit} ({'.'.join(path)})"
    for path in _EPOCH_FIELDS:
        value = _dig(job.config, path)
        if isinstance(value, int) and not isinstance(value, bool):
            return None, (f"no step count in the job config: {value} epochs ({'.'.join(path)}); steps depend on "
                          f"the data size")
    return None, "no step count in the job config"


def parse_rates(values, models) -> dict[str, float]:
    """``["qlae=25", "3"]`` -> ``{"qlae": 25.0, "*": 3.0}``; UsageError for a malformed entry or unknown model."""
    out: dict[str, float] = {}
    for item in values or ():
        model, sep, text = str(item).rpartition("=")
        model = model.strip() if sep else "*"
        if sep and not model:
            raise UsageError(f"--steps-per-second {item!r}: expected MODEL=RATE (e.g. qlae=25) or a bare RATE.")
        try:
            rate = float(text)
        except ValueError:
            raise UsageError(f"--steps-per-second {item!r}: {text!r} is not a number; expected MODEL=RATE "
                             f"(e.g. qlae=25) or a bare RATE, in training steps per second.") from None
        if not math.isfinite(rate) or rate <= 0:
            raise UsageError(f"--steps-per-second {item!r}: the rate must be a positive number of steps per second.")
        if model != "*" and model not in models:
            raise UsageError(f"--steps-per-second {item!r}: {model!r} is not among the planned models "
                             f"({', '.join(models)}).")
        if model in out:
            raise UsageError(f"--steps-per-second gives {'a bare rate' if model == '*' else repr(model)} twice.")
        out[model] = rate
    return out


def _device_kind(record) -> str | None:
    """'gpu' or 'cpu': the record's ``timing["device"]`` ('cuda:0', 'cpu'), else whether its environment has a GPU."""
    device = str(record.timing.get("device") or "")
    if device.startswith("cuda"):
        return "gpu"
    if device.startswith("cpu"):
        return "cpu"
    if device:
        return None  # mps and others: neither
    return "gpu" if record.environment.get("gpu") else "cpu"


def store_rates(db, suite: str, profile: str, device: str) -> dict[str, dict]:
    """Per model: the median ``timing["steps_per_second"]`` over the stored ``ok`` jobs of ``suite`` and ``profile``
    run on ``device`` ('gpu' or 'cpu'), with the number of jobs and the machines (one value per job: every
    record of a job carries the same timing)."""
    import leaderboard

    try:
        with leaderboard.Store(db, readonly=True) as store:
            records = store.records(suite=suite, profile=profile, status="ok")
    except Exception as exc:  # noqa: BLE001 (a damaged or foreign store: say which and why)
        raise UsageError(f"--db {str(db)!r}: cannot read the store ({exc}).") from None
    per_job: dict[tuple, tuple[str, float, str]] = {}
    for r in records:
        rate = r.timing.get("steps_per_second")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            continue
        if _device_kind(r) != device:
            continue
        env = r.environment or {}
        machine = env.get("gpu") if device == "gpu" else (env.get("cpu") or {}).get("model")
        key = (r.protocol_version, r.dataset, r.dataset_hash, r.model, r.model_config_hash, r.train_seed)
        per_job[key] = (r.model, float(rate), machine or "unknown machine")
    out: dict[str, dict] = {}
    for model in dict.fromkeys(m for m, _, _ in per_job.values()):
        rows = [(rate, machine) for m, rate, machine in per_job.values() if m == model]
        out[model] = {"steps_per_second": statistics.median(r for r, _ in rows), "jobs": len(rows),
                      "machines": sorted({m for _, m in rows})}
    return out


def array_layout(n_jobs: int, parallelism: int, max_array_size: int) -> list[dict]:
    """Slurm arrays for ``n_jobs`` tasks: full arrays of ``max_array_size`` tasks, then the rest; each with the
    plan indices it covers and its ``#SBATCH --array`` line (job index = first + SLURM_ARRAY_TASK_ID)."""
    arrays = []
    for first in range(0, n_jobs, max_array_size):
        tasks = min(max_array_size, n_jobs - first)
        arrays.append({"first_job": first, "last_job": first + tasks - 1, "tasks": tasks,
                       "sbatch": f"#SBATCH --array=0-{tasks - 1}%{parallelism}"})
    return arrays


def _overhead(suite: str, profile: str, minutes: float | None) -> dict:
    if minutes is not None:
        return {"minutes": minutes, "source": "--overhead-minutes"}
    for o in MEASURED_OVERHEADS:
        if (o.suite, o.profile) == (suite, profile):
            return {"minutes": o.minutes, "source": o.source}
    return {"minutes": 0.0, "source": "none measured for this suite and profile (pass --overhead-minutes)"}


def _table_rate(suite: str, profile: str, device: str, model: str) -> MeasuredRate | None:
    rows = [r for r in MEASURED_RATES if (r.suite, r.profile, r.device) == (suite, profile, device)]
    return next((r for r in rows if r.model == model), None) or next((r for r in rows if r.model == "*"), None)


def sweep_plan(*, suite: str = "disentanglement", profile: str | None = None, datasets=(), models=(),
               seeds: int | None = None, device: str = "gpu", steps_per_second=None, db=None,
               overhead_minutes: float | None = None, parallelism: int = DEFAULT_PARALLELISM,
               max_array_size: int = DEFAULT_MAX_ARRAY_SIZE, weights=None) -> dict:
    """The sweep plan as JSON data (what ``--json`` prints); UsageError for anything the user must fix."""
    from benchmark.suites import get_suite

    device = "gpu" if device == "cuda" else device
    if device not in ("gpu", "cpu"):
        raise UsageError(f"--device must be 'gpu' or 'cpu'; got {device!r}.")
    for option, value in (("--seeds", seeds), ("--array-parallelism", parallelism),
                          ("--max-array-size", max_array_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UsageError(f"{option} must be a positive integer; got {value}.")
    if overhead_minutes is not None and not (math.isfinite(overhead_minutes) and overhead_minutes >= 0):
        raise UsageError(f"--overhead-minutes must be a number >= 0; got {overhead_minutes}.")
    try:
        s = get_suite(suite)
    except ValueError as exc:
        raise UsageError(f"--suite: {exc}") from None
    profile = profile or s.default_profile
    try:
        s.profile(profile)
    except ValueError as exc:
        raise UsageError(f"--profile: {exc} (suite {suite})") from None
    options = {}
    if weights:
        if "weights" not in inspect.signature(s.plan).parameters:
            raise UsageError(f"--weights: the {suite} suite takes no pretrained weights; drop the option.")
        options["weights"] = list(weights)
    try:
        jobs, absent = plan_jobs(s, profile, datasets=tuple(datasets), models=tuple(models), seeds=seeds, **options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not jobs:
        raise UsageError(f"{suite} / {profile}: nothing is planned for this selection.")
    model_names = list(dict.fromkeys(j.model for j in jobs))
    dataset_names = list(dict.fromkeys(j.dataset for j in jobs))
    given = parse_rates(steps_per_second, model_names)

    db_path, stored, db_note = None, {}, None
    if db is not None:
        db_path = Path(db)
        if not db_path.is_file():
            raise UsageError(f"--db {str(db)!r}: no such store file; pass an existing leaderboard .sqlite, or leave "
                             f"--db out.")
    elif DEFAULT_STORE.is_file():
        db_path = DEFAULT_STORE
    if db_path is not None:
        stored = store_rates(db_path, suite, profile, device)
    else:
        db_note = f"no store read ({DEFAULT_STORE} does not exist; pass --db)"
    overhead = _overhead(suite, profile, overhead_minutes)
    overhead_h = overhead["minutes"] / 60

    from benchmark.jobs import CPU_THREADS

    threads = CPU_THREADS if device == "cpu" else 1  # core-hours per job-hour on the CPU; GPU-hours = job-hours
    unit = "GPU-hours" if device == "gpu" else "CPU core-hours"
    rows, job_hours = [], []  # job_hours: per planned job, its hours (None without an estimate)
    for model in model_names:
        mine = [j for j in jobs if j.model == model]
        steps = [job_steps(j) for j in mine]
        counts = sorted({n for n, _ in steps if n is not None})
        note = steps[0][1]
        reference = note.startswith("no training")
        row = {"model": model, "jobs": len(mine), "steps_per_job": counts[0] if len(counts) == 1 else counts or None,
               "steps_note": note, "steps_total": None if any(n is None for n, _ in steps) else sum(n for n, _ in steps),
               "steps_per_second": None, "rate_source": None, "hours_per_job": None, "hours": None}
        if reference:
            row["rate_source"] = "no training: the per-job overhead only"
        elif not counts:
            row["rate_source"] = "no step count in the job config: hours not estimated"
        elif model in given or "*" in given:
            row["steps_per_second"] = given.get(model, given.get("*"))
            row["rate_source"] = "--steps-per-second"
        elif model in stored:
            st = stored[model]
            row["steps_per_second"] = st["steps_per_second"]
            row["rate_source"] = (f"store {db_path}: median of {st['jobs']} ok job(s) on "
                                  f"{', '.join(st['machines'])}")
        elif (measured := _table_rate(suite, profile, device, model)) is not None:
            row["steps_per_second"] = measured.steps_per_second
            row["rate_source"] = measured.source
        elif device == "gpu":
            row["rate_source"] = _gpu_rate_hint(suite, profile)
        else:
            row["rate_source"] = "no measured CPU rate: pass --steps-per-second"
        per_job = []
        for n, _ in steps:
            if reference:
                per_job.append(overhead_h * threads)
            elif n is None or row["steps_per_second"] is None:
                per_job.append(None)
            else:
                per_job.append((n / row["steps_per_second"] / 3600 + overhead_h) * threads)
        job_hours += per_job
        if all(h is not None for h in per_job):
            row["hours"] = sum(per_job)
            row["hours_per_job"] = max(per_job)
        rows.append(row)

    estimated = [h for h in job_hours if h is not None]
    complete = len(estimated) == len(jobs)
    total_hours = sum(estimated) if estimated else None
    arrays = array_layout(len(jobs), parallelism, max_array_size)
    waves = math.ceil(len(jobs) / parallelism)
    wall = {"parallel_jobs": parallelism, "waves": waves,
            "even_hours": None if total_hours is None or not complete else total_hours / threads / parallelism,
            "waves_hours": None if not complete else waves * max(job_hours) / threads}
    n_seeds = len({j.seed for j in jobs})
    per_dataset = dict(Counter(j.dataset for j in jobs))
    rectangular = len(jobs) == len(dataset_names) * len(model_names) * n_seeds
    notes = []
    if absent:
        notes.append(f"the data files of {', '.join(absent)} are not on this machine: planned without them "
                     f"(placeholder dataset hashes; the job count and steps do not depend on them)")
    if db_note:
        notes.append(db_note)
    if len(arrays) > 1:
        notes.append(f"each array runs up to {parallelism} tasks at once: submit them one after another "
                     f"(sbatch --dependency=afterany:<previous array>) to keep {parallelism} in all, or together for "
                     f"up to {len(arrays) * parallelism}")
    if device == "cpu":
        notes.append(f"each CPU job trains on {CPU_THREADS} thread(s) (benchmark.jobs.CPU_THREADS): core-hours = "
                     f"job-hours x {CPU_THREADS}")
    return {
        "suite": suite, "profile": profile, "description": s.profile(profile).description, "device": device,
        "unit": unit,
        "jobs": {"total": len(jobs), "datasets": dataset_names, "models": model_names, "seeds": n_seeds,
                 "rectangular": rectangular, "per_dataset": per_dataset,
                 "per_model": {r["model"]: r["jobs"] for r in rows},
                 "reference_models": [r["model"] for r in rows if r["steps_note"].startswith("no training")]},
        "models": rows,
        "overhead": {"minutes_per_job": overhead["minutes"], "source": overhead["source"]},
        "rates_given": given,
        "store": str(db_path) if db_path is not None else None,
        "totals": {"steps": sum(r["steps_total"] or 0 for r in rows) if all(
                       r["steps_total"] is not None for r in rows) else None, "hours": total_hours,
                   "complete": complete, "jobs_estimated": len(estimated),
                   "models_without_estimate": [r["model"] for r in rows if r["hours"] is None]},
        "slurm": {"parallelism": parallelism, "max_array_size": max_array_size, "arrays": arrays,
                  "wall_clock": wall},
        "notes": notes,
    }


# ------------------------------------------------------------------------------------------------------ output
def _hours(h: float | None) -> str:
    if h is None:
        return "-"
    if h >= 100:
        return f"{h:,.0f}"
    return f"{h:,.1f}" if h >= 10 else f"{h:.2f}"


def format_plan(plan: dict) -> str:
    """The plan as text (what the command prints without --json)."""
    j, unit = plan["jobs"], plan["unit"]
    lines = [f"{plan['suite']} / {plan['profile']}: {plan['description']}"]
    lines += [f"note: {n}" for n in plan["notes"][:1] if n.startswith("the data files")]
    refs = j["reference_models"]
    trained = len(j["models"]) - len(refs)
    models_text = f"{len(j['models'])} models" + (f" ({trained} trained + {len(refs)} reference rows: "
                                                   f"{', '.join(refs)})" if refs else "")
    if j["rectangular"]:
        lines.append(f"\nJobs: {j['total']:,} = {len(j['datasets'])} datasets x {models_text} x {j['seeds']} seeds")
    else:
        lines.append(f"\nJobs: {j['total']:,} over {len(j['datasets'])} datasets, {models_text}, {j['seeds']} seeds "
                     f"(not every pair is planned)")
    lines.append("  per dataset: " + ", ".join(f"{d} {n:,}" for d, n in j["per_dataset"].items()))

    lines.append(f"\nPer model ({'GPU' if plan['device'] == 'gpu' else 'CPU'}; hours = jobs x steps / rate / 3600 "
                 f"+ jobs x overhead):")
    width, hw = max(len(r["model"]) for r in plan["models"]), max(9, len(unit))
    sources = list(dict.fromkeys(r["rate_source"] for r in plan["models"]))
    lines.append(f"  {'model':<{width}}  {'jobs':>5}  {'steps/job':>9}  {'steps/s':>7}  {'h/job':>6}  {unit:>{hw}}  "
                 f"rate")
    for r in plan["models"]:
        steps = r["steps_per_job"]
        steps_text = (f"{steps:,}" if isinstance(steps, int) else
                      "-".join(f"{s:,}" for s in (steps[0], steps[-1])) if steps else "-")
        rate = r["steps_per_second"]
        lines.append(f"  {r['model']:<{width}}  {r['jobs']:>5,}  {steps_text:>9}  "
                     f"{('-' if rate is None else f'{rate:g}'):>7}  {_hours(r['hours_per_job']):>6}  "
                     f"{_hours(r['hours']):>{hw}}  [{sources.index(r['rate_source']) + 1}]")
    lines += [f"  [{k + 1}] {source}" for k, source in enumerate(sources)]
    notes = sorted({r["steps_note"] for r in plan["models"] if not r["steps_note"].startswith("no training")})
    lines.append("  steps: " + "; ".join(notes))
    o = plan["overhead"]
    lines.append(f"Per-job overhead: {o['minutes_per_job']:g} min added to every job ({o['source']})")

    t = plan["totals"]
    steps_text = (f"{t['steps']:,} training steps" if t["steps"] is not None else
                  "training steps unknown (no step count in the job config of "
                  + ", ".join(r["model"] for r in plan["models"] if r["steps_total"] is None) + ")")
    lines.append(f"\nTotal: {steps_text}; " + (
        f"{_hours(t['hours'])} {unit}" if t["complete"] else
        f"{_hours(t['hours'])} {unit} for the {t['jobs_estimated']:,} jobs with an estimate; none for "
        f"{', '.join(t['models_without_estimate'])}" if t["hours"] is not None else
        f"no {unit} estimate (none for {', '.join(t['models_without_estimate'])})"))

    sl = plan["slurm"]
    arrays = sl["arrays"]
    lines.append(f"\nSlurm: {len(arrays)} array{'s' if len(arrays) > 1 else ''} "
                 f"({' + '.join(str(a['tasks']) for a in arrays)} tasks; MaxArraySize {sl['max_array_size']}), "
                 f"{sl['parallelism']} tasks at once:")
    for k, a in enumerate(arrays):
        offset = f"job = {a['first_job']} + SLURM_ARRAY_TASK_ID" if a["first_job"] else "job = SLURM_ARRAY_TASK_ID"
        lines.append(f"  {a['sbatch']:<28}  # array {k + 1}: plan jobs {a['first_job']}-{a['last_job']} ({offset})")
    w = sl["wall_clock"]
    if w["waves_hours"] is None:
        lines.append(f"Wall clock at {w['parallel_jobs']} parallel jobs: {w['waves']} wave(s) of {w['parallel_jobs']}; "
                     f"no time estimate without a rate for every model")
    else:
        lines.append(f"Wall clock at {w['parallel_jobs']} parallel jobs: {w['waves']} wave(s) x longest job = "
                     f"{_hours(w['waves_hours'])} h ({_hours(w['waves_hours'] / 24)} days); total / "
                     f"{w['parallel_jobs']} = {_hours(w['even_hours'])} h if the jobs pack evenly")
    lines += [f"note: {n}" for n in plan["notes"] if not n.startswith("the data files")]
    return "\n".join(lines)
