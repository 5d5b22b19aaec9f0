"""The environment block of the suite's records: ``leaderboard.collect_environment`` plus the GPU."""

from __future__ import annotations

import functools

from leaderboard.environment import collect_environment


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """Package versions, git commit and dirty flag, interpreter, hardware, and the CUDA device if any."""
    env = collect_environment()
    try:
        import torch

        env["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        env["gpu"] = None
    return env
