"""The claims of a profile at another training budget: chosen on some seeds, confirmed on held-out ones.

Runs the suite's own jobs of ``--profile`` (default ``quick``) with only the number of training steps changed
(``--steps``), stored under the profile name ``<profile><steps>`` so they never mix with the profile's own
records, for seeds ``0 .. --seeds - 1``; then prints the claims' verdicts on the seeds that choose (``--choose``,
default 0,1) and, separately, on the held-out rest, and the time the run took. A budget keeps a profile's claims
only if the held-out seeds give the verdicts the chosen ones do.

    python benchmarks/budget_study.py --steps 1000 --seeds 5 --out results/budget1000
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import leaderboard
from benchmark.runner import run_jobs, run_records
from benchmark.suites import get_suite
from benchmark.suites.disentanglement import profiles


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--choose", default="0,1", help="seeds that choose (comma-separated); the others are held out")
    p.add_argument("--out", required=True, help="results folder (its leaderboard.sqlite keeps the records)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = p.parse_args()
    base = profiles.PROFILES[args.profile]
    name = f"{args.profile}{args.steps}"
    profiles.PROFILES[name] = dataclasses.replace(base, name=name, steps=args.steps,
                                                  checkpoint_every=min(base.checkpoint_every, args.steps))
    suite = get_suite("disentanglement")
    jobs = suite.plan(name, seeds=args.seeds)
    out = Path(args.out)
    start = time.perf_counter()
    outcomes = run_jobs(jobs, out=out, db=out / "leaderboard.sqlite", device="cpu", n_workers=args.jobs, progress=False)
    print(f"{name}: {len(jobs)} jobs ({sum(o.status == 'ok' for o in outcomes)} run, "
          f"{sum(o.status == 'skipped' for o in outcomes)} stored) in {time.perf_counter() - start:.0f} s")
    records = run_records(jobs, out / "leaderboard.sqlite")
    chosen = {int(s) for s in args.choose.split(",")}
    for what, seeds in (("choosing seeds", chosen), ("held-out seeds", set(range(args.seeds)) - chosen)):
        if not seeds:
            continue
        selected = [r for r in records if r.train_seed in seeds]
        verdicts = leaderboard.check_claims(selected, suite.claims(args.profile), seed=0, reps=10_000)
        print(f"\n{what} {sorted(seeds)}:\n{leaderboard.format_verdicts(verdicts)}")


if __name__ == "__main__":
    main()
