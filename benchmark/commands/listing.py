"""``python -m benchmark list``: suites, profiles, datasets, models and metrics."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list suites, profiles, datasets, models and metrics")
    p.add_argument("what", nargs="?", default="all", choices=("all", "suites", "profiles", "datasets", "models", "metrics"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datasets
    from benchmark.evaluation import ALL_METRICS, metric_version
    from benchmark.suites import SUITES

    show = lambda part: args.what in ("all", part)  # noqa: E731
    if show("suites") or show("profiles"):
        for name, module in SUITES.items():
            print(f"suite {name} (protocol {module.PROTOCOL_VERSION})")
            for pname, p in module.PROFILES.items():
                default = " [default]" if pname == module.DEFAULT_PROFILE else ""
                print(f"  profile {pname}{default}: {p.description}")
                print(f"    datasets: {', '.join(p.datasets)}; models: {', '.join(p.models)}; seeds: {p.seeds}; "
                      f"steps: {p.steps}; batch: {p.batch_size}; architecture: {p.architecture}")
    if show("datasets"):
        print("datasets:")
        for name, description in datasets.available().items():
            print(f"  {name:<22} {description}")
        print("  <name>-<size>px        a block-averaged size x size view of a factor dataset (e.g. shapes3d-procedural-32px)")
    if show("models"):
        print("models:")
        for name, module in SUITES.items():
            for m in module.ALL_MODELS:
                print(f"  {m}{' (quantised latents)' if module.is_quantized(m) else ''}")
    if show("metrics"):
        print("metrics:")
        for m in ALL_METRICS:
            print(f"  {m} (version {metric_version(m)})")
    return 0
