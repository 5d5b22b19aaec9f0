"""``python -m benchmark list``: suites, profiles, datasets, models and metrics, read from the suite registry."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list suites, profiles, datasets, models and metrics")
    p.add_argument("what", nargs="?", default="all", choices=("all", "suites", "profiles", "datasets", "models", "metrics"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datasets
    from benchmark.suites import all_suites

    suites = all_suites()
    show = lambda part: args.what in ("all", part)  # noqa: E731
    if show("suites") or show("profiles"):
        for name, suite in suites.items():
            print(f"suite {name} (protocol {suite.protocol_version})")
            for pname, p in suite.profiles.items():
                default = " [default]" if pname == suite.default_profile else ""
                print(f"  profile {pname}{default}: {p.description}")
                print(f"    {p.summary()}")
    if show("datasets"):
        print("datasets:")
        for name, description in datasets.available().items():
            print(f"  {name:<22} {description}")
        print("  <name>-<size>px        a block-averaged size x size view of a factor dataset (e.g. shapes3d-procedural-32px)")
    if show("models"):
        print("models:")
        for name, suite in suites.items():
            for m in suite.models:
                note = suite.model_note(m)
                print(f"  {m}{f' ({note})' if note else ''}")
    if show("metrics"):
        print("metrics:")
        for name, suite in suites.items():
            for m, version in suite.metric_versions().items():
                print(f"  {m} (version {version})")
    return 0
