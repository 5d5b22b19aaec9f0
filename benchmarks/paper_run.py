"""Time of one `paper` job on this machine, measured on a shortened run and projected to the full one.

Runs a profile's job (default `paper`) for one (dataset, model, seed 0) through the suite's own code
(``benchmark.runner.run_job``: the training engine with its batch sampling, mixed precision, checkpoints and
progress, then encoding of the evaluation sample, every metric, the plots and the store), with ``--steps``
instead of the profile's (200 000 in `paper`). It prints:

* the training rate over the second half of the run (steady state: cuDNN's kernel search and the first
  steps' warm-up excluded), and over the whole run;
* the seconds spent outside the training loop (set-up, encoding, each metric family, plots and store);
* the projected time of the full job: profile steps / steady rate + its checkpoint writes + the time outside
  the loop, which does not depend on the number of steps.

The scores printed are those of the shortened run (not the paper's), for a sanity look only. `paper` uses the
real datasets; offline, the procedural twins stand in (``dsprites-procedural`` draws a batch in ~0.3 ms on one
core, like an in-memory gather of the real files; ``shapes3d-procedural`` renders its batches, ~20 ms each).
The first run on a machine also pays the numba kernels' one-time compilation in the metrics' time.

    python benchmarks/paper_run.py --device cuda                        # QLAE, dsprites-procedural, 3000 steps
    python benchmarks/paper_run.py --device cuda --model ql_infowgan_gp --steps 600 --precision fp32
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import leaderboard
from benchmark.runner import run_job
from benchmark.sinks import StoreSink
from benchmark.suites import get_suite
from benchmark.suites.disentanglement.evaluation import metric_family

SUITE = "disentanglement"
SHOWN = ("infom", "infoc", "infoe", "psnr", "mig", "dci_disentanglement")


def _checkpoint_write_seconds(run_dir: Path) -> float:
    """Seconds to write the run's last checkpoint again, as the loop writes each one."""
    from benchmark.training import CHECKPOINT_NAME, load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME)
    t0 = time.perf_counter()
    save_checkpoint(run_dir / "checkpoint-timing.pt", **ckpt)
    return time.perf_counter() - t0


def measure(*, profile: str = "paper", dataset: str = "dsprites-procedural", model: str = "qlae", steps: int = 3000,
            device: str = "auto", precision: str = "auto") -> dict:
    """Run the shortened job and return its timings, the projection and the scores (see the module docstring)."""
    if steps < 20:
        raise ValueError(f"steps must be at least 20 (two progress points); got {steps}.")
    (job,) = get_suite(SUITE).plan(profile, datasets=(dataset,), models=(model,), seeds=1, precision=precision)
    train_config = job.config["train_config"]
    full_steps = int(train_config["steps"])
    every = job.run_options.get("checkpoint_every", 0)
    full_checkpoints = full_steps // every if every else 1
    job = dataclasses.replace(job, config={**job.config, "train_config": {**train_config, "steps": steps}},
                              run_options={"checkpoint_every": max(steps // 2, 1)})

    progress: list[tuple[float, int]] = []  # (time, steps done) at each progress update (every 100 steps)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "leaderboard.sqlite"
        outcome = run_job(job, out=Path(tmp), sink=StoreSink(db), device=device, progress=False,
                          on_progress=lambda done, total, rate: progress.append((time.perf_counter(), done)))
        if outcome.status != "ok":
            raise RuntimeError(f"the job failed: {outcome.error}")
        checkpoint_seconds = _checkpoint_write_seconds(Path(outcome.run_dir))
        with leaderboard.Store(db) as store:
            records = store.records(model=job.model)
        timing = records[0].timing  # the job's timing rides on each of its records

    half = [(t, d) for t, d in progress if d >= steps // 2]
    steady = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) if len(half) >= 2 else timing["steps_per_second"]
    # a family's metrics are computed together and each records the family's time: count it once
    family_seconds = {metric_family(r.metric): float(r.timing.get("metric_seconds", 0.0)) for r in records}
    outside_loop = outcome.seconds - timing["train_seconds"]
    training = full_steps / steady + full_checkpoints * checkpoint_seconds
    return {
        "job": job, "steps": steps, "full_steps": full_steps, "full_checkpoints": full_checkpoints,
        "device": timing["device"], "precision": timing["precision"], "batch_size": int(train_config["batch_size"]),
        "steps_per_second": timing["steps_per_second"], "steady_steps_per_second": steady,
        "outside_loop_seconds": outside_loop, "encode_seconds": timing["encode_seconds"],
        "family_seconds": family_seconds, "checkpoint_seconds": checkpoint_seconds,
        "projected_training_seconds": training, "projected_seconds": training + outside_loop,
        "scores": {r.metric: r.value for r in records if r.value is not None},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="paper", help="the profile whose job is timed (default: paper)")
    p.add_argument("--dataset", default="dsprites-procedural", help="a dataset name (default: dsprites-procedural)")
    p.add_argument("--model", default="qlae", help="a model of the suite (default: qlae)")
    p.add_argument("--steps", type=int, default=3000, help="training steps of the shortened run (default 3000)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="training precision (default 'auto': bf16 autocast on CUDA, else fp32)")
    args = p.parse_args()
    if args.profile not in get_suite(SUITE).profiles:
        raise SystemExit(f"error: --profile must be one of {', '.join(get_suite(SUITE).profiles)}; got {args.profile!r}.")
    try:
        m = measure(profile=args.profile, dataset=args.dataset, model=args.model, steps=args.steps, device=args.device,
                    precision=args.precision)
    except (RuntimeError, ValueError) as exc:  # a failed job or a refused argument: one line, not a traceback
        raise SystemExit(f"error: {exc}") from None
    job = m["job"]
    print(f"{args.profile} job, shortened: {job.dataset}/{job.model}, {m['steps']} of {m['full_steps']} steps at "
          f"batch {m['batch_size']}, {job.config['eval_samples']} evaluation images, "
          f"DCI: {job.config['eval_settings']['dci_estimator']}")
    print(f"device {m['device']}, precision {m['precision']}")
    print(f"training: {m['steps_per_second']:.1f} steps/s over the whole run, {m['steady_steps_per_second']:.1f} "
          f"steps/s over the second half ({m['steady_steps_per_second'] * m['batch_size']:.0f} images/s)")
    print(f"outside the training loop: {m['outside_loop_seconds']:.1f} s (encode + decode {m['encode_seconds']:.1f} s, "
          f"metrics {sum(m['family_seconds'].values()):.1f} s, set-up, plots and store the rest)")
    for family, secs in m["family_seconds"].items():
        print(f"  {family:<25}{secs:7.1f} s")
    print(f"one checkpoint write: {m['checkpoint_seconds']:.2f} s")
    print(f"projected {args.profile} job ({m['full_steps']} steps, {m['full_checkpoints']} checkpoints): "
          f"{m['projected_seconds'] / 60:.1f} min = {m['projected_training_seconds'] / 60:.1f} min training + "
          f"{m['outside_loop_seconds'] / 60:.1f} min set-up and evaluation")
    print("scores of the shortened run: " + ", ".join(f"{k} {m['scores'][k]:.3f}" for k in SHOWN if k in m["scores"]))


if __name__ == "__main__":
    main()
