"""``python -m benchmark data list|download NAME|verify NAME``: the dataset files.

``download`` fetches a publicly downloadable dataset into the data root (``--root``, else
``$BENCHMARK_DATA``, else ``~/.cache/benchmark/data``) atomically and verifies its checksum;
for datasets distributed on request (Clothing1M, ANIMAL-10N) it explains how to obtain them.
``verify`` re-hashes the file(s) and checks the format. ``grid`` saves a PNG of samples or of
factor traversals. Errors print one line and exit with 2.
"""

from __future__ import annotations

import argparse

from benchmark.cli import UsageError, writable_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, download and verify the datasets")
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p_list = data_sub.add_parser("list", help="list the datasets and whether their files are present")
    p_list.add_argument("--root", default=None, help="data root (default $BENCHMARK_DATA or ~/.cache/benchmark/data)")
    p_list.set_defaults(func=run_list)

    p_dl = data_sub.add_parser("download", help="download and verify one dataset")
    p_dl.add_argument("name", help="dataset name (see `data list`)")
    p_dl.add_argument("--root", default=None, help="data root (default $BENCHMARK_DATA or ~/.cache/benchmark/data)")
    p_dl.add_argument("--base-url", default=None,
                      help="fetch <base-url>/<filename> instead of the published URLs (a mirror; also $BENCHMARK_DATA_BASE_URL)")
    p_dl.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_dl.set_defaults(func=run_download)

    p_ver = data_sub.add_parser("verify", help="check the checksum and format of one dataset")
    p_ver.add_argument("name", help="dataset name (see `data list`)")
    p_ver.add_argument("--root", default=None, help="data root (default $BENCHMARK_DATA or ~/.cache/benchmark/data)")
    p_ver.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_ver.set_defaults(func=run_verify)

    p_grid = data_sub.add_parser("grid", help="save a PNG grid of samples (or factor traversals) of a factor dataset")
    p_grid.add_argument("name", help="dataset name (see `data list`)")
    p_grid.add_argument("--out", required=True, help="output .png file")
    p_grid.add_argument("--root", default=None, help="data root (default $BENCHMARK_DATA or ~/.cache/benchmark/data)")
    p_grid.add_argument("--traversal", action="store_true", help="one row per factor, that factor swept, others fixed")
    p_grid.add_argument("--seed", type=int, default=0, help="seed of the drawn samples (default 0)")
    p_grid.set_defaults(func=run_grid)


def _errors():
    from datasets import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError

    # OSError last: disk full, permission denied on the data root (their messages name the path)
    return (DatasetNotFoundError, DatasetIntegrityError, DatasetDownloadError, ValueError, OSError)


def run_list(args: argparse.Namespace) -> int:
    import datasets

    root = datasets.resolve_root(args.root)
    print(f"data root: {root}")
    for name, description in datasets.available().items():
        cls = datasets.dataset_class(name)
        if name in datasets.PROCEDURAL:
            status = "procedural"
        elif name in datasets.ON_REQUEST:
            status = "present" if (root / cls.folder_name).is_dir() else "missing (on request)"
        else:
            status = "present" if (root / cls.folder_name / cls.resource.filename).is_file() else "missing"
        print(f"  {name:<20} {status:<21} {description}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    import datasets

    try:
        print(datasets.download(args.name, root=args.root, base_url=args.base_url, progress=not args.no_progress))
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    return 0


def run_verify(args: argparse.Namespace) -> int:
    import datasets

    try:
        print(datasets.verify(args.name, root=args.root, progress=not args.no_progress))
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    return 0


def run_grid(args: argparse.Namespace) -> int:
    import datasets
    from datasets.grid import sample_grid, save_png, traversal_grid

    if not args.out.endswith(".png"):
        raise UsageError(f"--out must name a .png file; got {args.out!r}.")
    writable_file(args.out, "--out")
    try:
        ds = datasets.load(args.name, root=args.root)
        if not isinstance(ds, datasets.FactorDataset):
            raise UsageError(f"{args.name} has class labels, not ground-truth factors; grid needs a factor dataset.")
        picture = traversal_grid(ds, seed=args.seed) if args.traversal else sample_grid(ds, seed=args.seed)
        save_png(picture, args.out)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    print(f"{ds.name}: wrote {args.out}")
    return 0
