"""Command-line interface of the benchmark suite.

Each sub-command lives in its own module under ``benchmark/commands/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed args,
returning an exit code). Keep this file to the dispatch only.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Sub-command modules, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "benchmark.commands.run",
    "benchmark.commands.listing",
    "benchmark.commands.leaderboard",
    "benchmark.commands.submit",
    "benchmark.commands.data",
    "benchmark.commands.eval_sample",
    "benchmark.commands.info",
)


class UsageError(Exception):
    """A user error that the CLI reports as one line (no traceback), exit status 2."""


def writable_folder(path, option: str):
    """Create folder ``path`` (with its parents) and check that it is writable, or raise UsageError naming ``option``."""
    import os
    from pathlib import Path

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder '{path}' ({option}): {exc.strerror or exc}. "
                         f"Pass {option} a folder you can write to.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"the folder '{path}' ({option}) is not writable. Pass {option} a folder you can write to.")
    return path


def check_import_names() -> None:
    """Check that ``datasets``, ``metrics`` and ``leaderboard`` resolve to this project.

    Hugging Face ``datasets`` (and other packages) use the same top-level names; in one environment
    the first on ``sys.path`` wins, and a wrong one fails later with confusing errors.
    """
    root = Path(__file__).resolve().parent.parent
    for name in ("datasets", "metrics", "leaderboard"):
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise UsageError(f"cannot import the project package '{name}': {exc}. Reinstall with `pip install -e .`.")
        origin = Path(getattr(module, "__file__", "") or "").resolve()
        if root not in origin.parents or not getattr(module, "__benchmark_suite__", False):
            raise UsageError(
                f"the import name '{name}' resolves to {origin}, not to this project ({root / name}). Another installed "
                f"package uses the same name (Hugging Face 'datasets' is a common one). Install this suite in a dedicated "
                f"virtual environment: python -m venv .venv && . .venv/bin/activate && pip install -e ."
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Disentanglement and representation-evaluation benchmark suite.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        check_import_names()
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; completed jobs are stored, rerun the same command to resume.", file=sys.stderr)
        return 130
