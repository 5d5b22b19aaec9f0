"""Command-line interface of the benchmark suite.

Each sub-command lives in its own module under ``benchmark/commands/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed args,
returning an exit code). Keep this file to the dispatch only.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

# Sub-command modules, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "benchmark.commands.run",
    "benchmark.commands.sweep_plan",
    "benchmark.commands.claims",
    "benchmark.commands.listing",
    "benchmark.commands.leaderboard",
    "benchmark.commands.submit",
    "benchmark.commands.data",
    "benchmark.commands.eval_sample",
    "benchmark.commands.info",
)


class UsageError(Exception):
    """A user error that the CLI reports as one line (no traceback), exit status 2."""


def check_seed(value: int, option: str) -> int:
    """A seed stored as an int64 (records, .npz files): in [0, 2**63), or UsageError naming ``option``."""
    if not 0 <= value < 2**63:
        raise UsageError(f"{option} must be an integer in [0, 2**63); got {value}.")
    return value


def writable_file(path, option: str, *, db=None):
    """Check that file ``path`` can be written (creating its folder) and is not the store ``db``; UsageError if not."""
    path = Path(path)
    writable_folder(path.parent, option)
    if path.is_dir():
        raise UsageError(f"{option} '{path}' is a folder; pass the path of a file to write.")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} '{path}' exists and is not writable; pass another file.")
    if db is not None:
        store = Path(db).resolve()
        if path.resolve() in {store} | {store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal")}:
            raise UsageError(f"{option} '{path}' is the leaderboard store itself (--db); writing there would destroy "
                             f"it. Pass another file.")
    return path


def writable_folder(path, option: str):
    """Create folder ``path`` (with its parents) and check that it is writable, or raise UsageError naming ``option``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder '{path}' ({option}): {exc.strerror or exc}. "
                         f"Pass {option} a folder you can write to.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"the folder '{path}' ({option}) is not writable. Pass {option} a folder you can write to.")
    return path


def check_store(db) -> None:
    """Open (or create) the leaderboard store at ``db`` now, so that a bad ``--db`` fails before any work."""
    import sqlite3

    import leaderboard

    writable_folder(Path(db).parent, "--db")
    try:
        with leaderboard.Store(db):
            pass
    except (leaderboard.StoreError, sqlite3.Error) as exc:
        raise UsageError(f"--db {str(db)!r}: {store_error_text(exc)}") from None


def store_error_text(exc: Exception) -> str:
    """What a StoreError or an SQLite error on the store means, with the fix."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return (f"SQLite refused the leaderboard store ({exc}). If the file is read-only, work on a copy you can "
                f"write; if it is damaged, restore it from a release export (`leaderboard export`) or a backup.")
    return str(exc)


def check_import_names() -> None:
    """Check that ``datasets``, ``metrics`` and ``leaderboard`` resolve to this project.

    Hugging Face ``datasets`` (and other packages) use the same top-level names; in one environment
    the first on ``sys.path`` wins, and a wrong one fails later with confusing errors.
    """
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    for name in ("datasets", "metrics", "leaderboard"):
        try:  # where the name resolves, without running the package (importing metrics compiles nothing, but costs)
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"cannot import the project package '{name}': {exc}. Reinstall with `pip install -e .`.")
        if spec is None:
            raise UsageError(f"cannot import the project package '{name}'. Reinstall with `pip install -e .`.")
        origin = Path(spec.origin or "").resolve()
        if root not in origin.parents:
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
