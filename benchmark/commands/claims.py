"""``python -m benchmark claims --suite NAME --profile P [--db PATH]``: the verdicts of a suite's claims from a store.

The same verdicts the end of a run prints (holds / not shown / contradicted / not run), computed from every
record of that suite, protocol and profile in the store.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from benchmark.suites import suite_names

    import leaderboard

    p = sub.add_parser("claims", help="check a suite's claims against the records in a store")
    p.add_argument("--suite", default="disentanglement", choices=suite_names())
    p.add_argument("--profile", default=None, help="profile (default: the suite's default)")
    p.add_argument("--db", default=str(leaderboard.DEFAULT_DB), help=f"leaderboard store (default {leaderboard.DEFAULT_DB})")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--reps", type=int, default=10_000, help="bootstrap replicates (default 10000)")
    p.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import leaderboard
    from benchmark.cli import UsageError
    from benchmark.suites import get_suite

    suite = get_suite(args.suite)
    profile = args.profile or suite.default_profile
    try:
        suite.profile(profile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not Path(args.db).is_file():
        raise UsageError(f"no leaderboard store at {args.db!r}; run the suite first or pass --db PATH.")
    try:
        with leaderboard.Store(args.db) as store:
            records = store.records(suite=suite.name, protocol_version=suite.protocol_version, profile=profile)
    except leaderboard.StoreError as exc:
        raise UsageError(str(exc)) from None
    claims = suite.claims(profile)
    if not claims:
        print(f"the {suite.name} suite declares no claims for profile {profile!r}.")
        return 0
    verdicts = leaderboard.check_claims(records, claims, seed=args.seed, reps=args.reps)
    if args.format in ("table", "markdown"):
        print(f"{suite.name} · protocol {suite.protocol_version} · profile {profile} · {len(records)} records\n")
    print(leaderboard.format_verdicts(verdicts, args.format), end="")
    return 0
