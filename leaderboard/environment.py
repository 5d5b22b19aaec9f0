"""The ``environment`` block of a record: package versions, git commit, interpreter and hardware.

Collected without importing the packages (``importlib.metadata``), so it never imports torch; the
caller adds accelerator details (e.g. ``torch.cuda.get_device_name()``) itself.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

__all__ = ["collect_environment", "DEFAULT_PACKAGES"]

DEFAULT_PACKAGES = ("numpy", "scipy", "scikit-learn", "numba", "torch", "pandas", "h5py", "matplotlib",
                    "disentanglement-benchmark")


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def collect_environment(packages=DEFAULT_PACKAGES, *, repo: str | os.PathLike[str] | None = None) -> dict:
    """``{python, implementation, platform, machine, processor, cpu_count, packages, git_commit, git_dirty}``.

    Parameters
    ----------
    packages : iterable of str
        Distribution names; a missing one is recorded as None.
    repo : path, optional
        Git working tree whose commit is recorded (default: the folder holding this package).
        ``git_commit``/``git_dirty`` are None outside a git checkout or without git.
    """
    versions = {}
    for name in packages:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    root = Path(repo) if repo is not None else Path(__file__).resolve().parent.parent
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "packages": versions, "git_commit": commit,
            "git_dirty": None if status is None else bool(status)}
