"""What several jobs of a run share: a folder beside the jobs' run folders, and a lock to build things in it once.

Some artifacts serve many jobs: the latent-semantics suite's pretrained generator is edited by every direction
method of a seed, its factor probe and real-data statistics serve every job of a dataset. A job finds them with
``shared_dir(run_dir, name)`` (``<out>/runs/_shared/<name>``, beside the ``<out>/runs/<profile>/...`` folders
of :meth:`benchmark.jobs.Job.run_dir`) and builds each one inside ``with exclusive(path):``, which holds an
advisory file lock (``fcntl.flock`` on ``path.lock``), so that two workers, or two cluster jobs on a shared file
system, never build the same artifact at once: the second waits, then finds it built.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["shared_dir", "exclusive", "SHARED_FOLDER"]

SHARED_FOLDER = "_shared"


def shared_dir(run_dir: str | os.PathLike, name: str) -> Path:
    """``<out>/runs/_shared/<name>`` for a job whose run folder is ``run_dir`` (``<out>/runs/<profile>/<dataset>/
    <model>/<seed folder>``); created if absent."""
    run_dir = Path(run_dir)
    if len(run_dir.parents) < 4 or run_dir.parents[3].name != "runs":
        raise ValueError(f"run_dir must be a job's run folder <out>/runs/<profile>/<dataset>/<model>/<seed>; "
                         f"got {run_dir}.")
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be one folder name; got {name!r}.")
    path = run_dir.parents[3] / SHARED_FOLDER / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def exclusive(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` for the block (blocking until it is free).

    On a system without ``fcntl`` (Windows) the block runs unlocked: jobs there run in one process pool on one
    machine, where the suites build each shared artifact before it is read by atomic renames anyway."""
    lock_path = Path(f"{os.fspath(path)}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
