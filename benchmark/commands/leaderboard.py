"""``python -m benchmark leaderboard show|compare|release|export|import|html|plots [--db PATH]``.

Argument parsing only; every sub-command calls one function of the ``leaderboard`` package.
"""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import sys
from pathlib import Path

from benchmark.cli import store_error_text, writable_file, writable_folder


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    from leaderboard import DEFAULT_DB

    p.add_argument("--db", default=None, help=f"leaderboard store (SQLite file; default: {DEFAULT_DB})")
    return p


def _filters() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--suite", help="benchmark suite, e.g. disentanglement")
    p.add_argument("--protocol", help="protocol version (a table is always for one)")
    p.add_argument("--profile", help="profile (each suite's: python -m benchmark list profiles)")
    # nargs="+" with action="append": "--metric infom infoc" and "--metric infom --metric infoc" both work
    # (a list of lists, flattened by _filter_kwargs)
    p.add_argument("--metric", nargs="+", action="append", metavar="M",
                   help="metric name(s): --metric infom infoc, or the flag repeated")
    p.add_argument("--dataset", nargs="+", action="append", metavar="D",
                   help="dataset name(s): --dataset a b, or the flag repeated")
    p.add_argument("--model", nargs="+", action="append", metavar="X",
                   help="model/method name(s): --model a b, or the flag repeated")
    p.add_argument("--release", help="use the frozen records of this release")
    return p


def _stats() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (recorded in the output; default 0)")
    p.add_argument("--reps", type=int, default=10_000, help="bootstrap replicates (default 10000)")
    return p


def register(sub: argparse._SubParsersAction) -> None:
    lb = sub.add_parser("leaderboard", help="show, compare, release, export, import and render leaderboard results")
    lsub = lb.add_subparsers(dest="lb_command", metavar="ACTION")
    lsub.required = True
    fmt = dict(choices=("table", "markdown", "csv", "json"), default="table")

    p = lsub.add_parser("show", parents=[_common(), _filters(), _stats()],
                        help="per-dataset table (IQM, intervals, seeds) and ranking across datasets")
    p.add_argument("--format", **fmt)
    p.add_argument("--view", choices=("summary", "aggregate", "both"),
                   help="which table (default: both for table/markdown, summary for csv/json)")
    p.set_defaults(func=run_show)

    p = lsub.add_parser("compare", parents=[_common(), _filters(), _stats()],
                        help="P(A > B) with interval and Mann-Whitney p-value per metric and dataset")
    p.add_argument("model_a")
    p.add_argument("model_b")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=run_compare)

    p = lsub.add_parser("release", parents=[_common()], help="freeze the current records as an immutable release")
    p.add_argument("name")
    p.add_argument("--suite")
    p.add_argument("--protocol")
    p.add_argument("--profile")
    p.add_argument("--manifest", help="also write the release manifest (JSON: record ids, versions) to this file")
    p.set_defaults(func=run_release)

    p = lsub.add_parser("export", parents=[_common(), _filters()], help="write records as JSON Lines")
    p.add_argument("path")
    p.set_defaults(func=run_export)

    p = lsub.add_parser("import", parents=[_common()], help="read records from JSON Lines (idempotent)")
    p.add_argument("path")
    p.add_argument("--replace", action="store_true", help="overwrite stored records with the same id")
    p.set_defaults(func=run_import)

    p = lsub.add_parser("html", parents=[_common(), _filters(), _stats()], help="write the static HTML page")
    p.add_argument("--out", default=str(Path("results") / "leaderboard.html"), help="default results/leaderboard.html")
    p.add_argument("--title", default="Disentanglement benchmark leaderboard")
    p.set_defaults(func=run_html)

    p = lsub.add_parser("plots", parents=[_common(), _filters(), _stats()], help="write the figures as PNG files")
    p.add_argument("--out", default=str(Path("results") / "plots"), help="folder (default results/plots)")
    p.set_defaults(func=run_plots)


def _usage_error(exc: Exception):
    from benchmark.cli import UsageError

    return UsageError(str(exc))


def _open(args: argparse.Namespace, *, must_exist: bool = True):
    import leaderboard as lb

    if must_exist and not Path(args.db).is_file():
        raise _usage_error(FileNotFoundError(
            f"no leaderboard store at {args.db!r}; run a suite first (it writes {lb.DEFAULT_DB}) "
            f"or pass --db PATH."))
    try:
        return lb.Store(args.db)
    except lb.StoreError as exc:
        raise _usage_error(exc) from None


def _flat(values: list | None) -> list | None:
    """``--metric a b --metric c`` arrives as ``[["a", "b"], ["c"]]``: ``["a", "b", "c"]`` (first occurrence kept)."""
    if values is None:
        return None
    out: list = []
    for v in values:
        for x in (v if isinstance(v, list) else [v]):
            if x not in out:
                out.append(x)
    return out


def _filter_kwargs(args: argparse.Namespace) -> dict:
    return {"suite": args.suite, "protocol_version": args.protocol, "profile": args.profile,
            "metric": _flat(args.metric), "dataset": _flat(args.dataset), "model": _flat(args.model)}


def _option(key: str) -> str:
    return "--protocol" if key == "protocol_version" else f"--{key}"


def _unknown_values(store, args: argparse.Namespace) -> str:
    """For each filter value the store does not hold at all: what it does hold (a typo shows at once).

    Empty when every named value is stored; otherwise one ``--option 'value': not in the store; stored
    values: ...`` clause per option, joined by " | "."""
    notes = []
    for key, wanted in _filter_kwargs(args).items():
        if wanted is None:
            continue
        stored = store.values(key)
        missing = [v for v in (wanted if isinstance(wanted, list) else [wanted]) if v not in stored]
        if missing:
            notes.append(f"{_option(key)} {', '.join(map(repr, missing))}: not in the store; stored values: "
                         f"{', '.join(map(repr, stored)) or 'none'}")
    return " | ".join(notes)


def _select(store, args: argparse.Namespace, *, one_protocol: bool = True) -> list:
    """The records the filters select, or a usage error (exit status 2) when a filter cannot match.

    A filter value the store does not hold at all (a typo) is refused even when the other values of
    that option match something, and so is a combination of stored values that no record has: a
    filter never silently gives an empty result. ``one_protocol`` asks for the records of one
    leaderboard table (``Store.protocol_records``: mixed protocols are refused)."""
    unknown = _unknown_values(store, args)
    if unknown:
        raise ValueError(f"{unknown}. Expected filter values that the store holds (a misspelt value matches "
                         f"nothing); correct the spelling or drop the value.")
    get = store.protocol_records if one_protocol else store.records
    recs = get(release=args.release, **_filter_kwargs(args))
    named = {k: v for k, v in _filter_kwargs(args).items() if v is not None}
    if not recs and (named or args.release):
        combo = " ".join(f"{_option(k)} {' '.join(map(repr, v)) if isinstance(v, list) else repr(v)}"
                         for k, v in named.items())
        where = f" of release {args.release!r}" if args.release else ""
        raise ValueError(
            f"no records match these filters: every value named is stored, but no record{where} has the "
            f"combination {combo or '(no filters)'}. Expected a combination that was run; drop or change one of "
            f"the options (`python -m benchmark leaderboard show` without filters lists what is stored).")
    return recs


def _guard(fn):
    """Turn the package's documented user errors into one-line CLI errors (exit status 2)."""
    def wrapper(args: argparse.Namespace) -> int:
        import leaderboard as lb
        from leaderboard.submission import SubmissionError

        from benchmark.suites import all_suites

        args.db = args.db or str(lb.DEFAULT_DB)
        all_suites()  # registers each suite's metric directions, by which the tables rank
        try:
            return fn(args)
        except (lb.StoreError, lb.RecordError, SubmissionError, ValueError) as exc:
            raise _usage_error(exc) from None
        except sqlite3.Error as exc:  # a damaged or read-only store file
            raise _usage_error(f"--db {args.db!r}: {store_error_text(exc)}") from None
        except OSError as exc:  # output folders are checked up front; this is for what remains (disk full, ...)
            where = f" '{exc.filename}'" if exc.filename else ""
            raise _usage_error(f"file system error on{where}: {exc.strerror or exc}. Expected a path that can be "
                               f"read and written, on a disk with free space.") from None
    wrapper.__name__ = fn.__name__
    return wrapper


@_guard
def run_show(args: argparse.Namespace) -> int:
    import leaderboard as lb

    view = args.view or ("both" if args.format in ("table", "markdown") else "summary")
    if view == "both" and args.format in ("csv", "json"):
        raise ValueError(f"--view both cannot be written as {args.format}; choose --view summary or --view aggregate.")
    with _open(args) as store:
        recs = _select(store, args)  # refuses typos, empty combinations and mixed protocols
    if not recs:  # no filter named and nothing stored
        print(f"the store {args.db} holds no records yet; run a suite or import records.")
        return 0
    r0 = recs[0]
    header = f"suite {r0.suite} · protocol {r0.protocol_version} · profile {r0.profile}" + \
        (f" · release {args.release}" if args.release else "")
    out = []
    if view in ("summary", "both"):
        df = lb.summarize(recs, seed=args.seed, reps=args.reps)
        out.append(lb.format_table(df, args.format))
    if view in ("aggregate", "both"):
        df = lb.aggregate_across_datasets(recs, seed=args.seed, reps=args.reps)
        out.append(lb.format_table(df, args.format))
    if args.format in ("table", "markdown"):
        print(("# " if args.format == "markdown" else "") + header + "\n")
    print("\n".join(out), end="")
    return 0


@_guard
def run_compare(args: argparse.Namespace) -> int:
    import leaderboard as lb

    with _open(args) as store:
        recs = _select(store, args)  # refuses typos, empty combinations and mixed protocols
    df = lb.compare(recs, args.model_a, args.model_b, seed=args.seed, reps=args.reps)
    if args.format in ("table", "markdown"):
        print(f"A = {args.model_a}, B = {args.model_b}\n")
    print(lb.format_table(df, args.format), end="")
    return 0


@_guard
def run_release(args: argparse.Namespace) -> int:
    if args.manifest:  # checked before the release is frozen, so that a bad path loses nothing
        writable_file(args.manifest, "--manifest", db=args.db)
    with _open(args) as store:
        info = store.release(args.name, suite=args.suite, protocol_version=args.protocol, profile=args.profile)
        if args.manifest:
            import json

            Path(args.manifest).write_text(json.dumps(store.release_manifest(args.name), indent=1,
                                                      ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"release {info['name']!r}: {info['n_records']} records frozen at {info['created_at']} "
          f"(record-id hash {info['record_ids_sha256'][:16]}); show it with "
          f"`python -m benchmark leaderboard show --db {shlex.quote(str(args.db))} --release {shlex.quote(info['name'])}`.")
    return 0


@_guard
def run_export(args: argparse.Namespace) -> int:
    writable_file(args.path, "export PATH", db=args.db)
    with _open(args) as store:
        _select(store, args, one_protocol=False)  # refuses typos and empty combinations before writing
        n = store.export_jsonl(args.path, release=args.release, **_filter_kwargs(args))
    print(f"wrote {n} records to {args.path}")
    return 0


@_guard
def run_import(args: argparse.Namespace) -> int:
    from leaderboard.store import check_import_file

    check_import_file(args.path)  # before the store (and its folder) is created
    with _open(args, must_exist=False) as store:
        res = store.import_jsonl(args.path, replace=args.replace)
    print(f"imported {args.path}: {res.inserted} new, {res.replaced} replaced, {res.skipped} already stored")
    return 0


@_guard
def run_html(args: argparse.Namespace) -> int:
    from leaderboard.html import write_html

    writable_file(args.out, "--out", db=args.db)
    with _open(args) as store:
        recs = _select(store, args, one_protocol=False)  # refuses typos and empty combinations
        rel = next((r for r in store.releases() if r["name"] == args.release), None) if args.release else None
    path = write_html(args.out, recs, title=args.title, seed=args.seed, reps=args.reps, release=rel, source=args.db,
                      verdicts=_verdicts(recs, seed=args.seed, reps=args.reps))
    print(f"wrote {path} ({len(recs)} records)")
    return 0


def _verdicts(records, *, seed: int, reps: int) -> dict:
    """The claims verdicts of every (suite, protocol, profile) section of ``records`` whose suite is registered and
    current (a section of another protocol version is not checked against today's claims)."""
    import leaderboard as lb

    from benchmark.suites import get_suite, suite_names

    groups: dict = {}
    for r in records:
        groups.setdefault((r.suite, r.protocol_version, r.profile), []).append(r)
    out = {}
    for (suite_name, protocol, profile), recs in groups.items():
        if suite_name not in suite_names():
            continue
        suite = get_suite(suite_name)
        if protocol != suite.protocol_version or profile not in suite.profiles:
            continue
        claims = suite.claims(profile)
        if claims:
            out[(suite_name, protocol, profile)] = lb.check_claims(recs, claims, seed=seed, reps=reps)
    return out


@_guard
def run_plots(args: argparse.Namespace) -> int:
    from leaderboard.plots import write_plots

    writable_folder(args.out, "--out")
    with _open(args) as store:
        recs = _select(store, args)  # refuses typos, empty combinations and mixed protocols
    paths = write_plots(recs, args.out, seed=args.seed, reps=min(args.reps, 2000))
    for p in paths:
        print(p)
    if not paths:
        print("no successful records: no figures written.", file=sys.stderr)
    return 0
