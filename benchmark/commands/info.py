"""``python -m benchmark version``: versions of the suite and its main dependencies."""

from __future__ import annotations

import argparse
import importlib.metadata as md
import platform


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("version", help="print the versions of the suite, Python and the main dependencies")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import benchmark

    print(f"benchmark suite {benchmark.__version__}, Python {platform.python_version()}")
    for dist in ("numpy", "scipy", "scikit-learn", "numba", "torch", "pandas", "h5py", "matplotlib"):
        try:
            print(f"  {dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"  {dist} (not installed)")
    return 0
