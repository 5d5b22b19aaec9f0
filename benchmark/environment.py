"""What a result record says about where it was measured: package versions, git commit, hardware."""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("numpy", "scipy", "scikit-learn", "numba", "torch", "pandas", "h5py")


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """Package versions, the suite's git commit (and whether the tree was dirty), OS and hardware."""
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    return {
        "packages": versions,
        "python": platform.python_version(),
        "git": _git_state(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu_name(),
    }


def _git_state() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _gpu_name() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return None
