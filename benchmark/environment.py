"""The environment block of the suite's records: ``leaderboard.collect_environment`` plus the CPU and the GPU.

Training and metric values are deterministic for one CPU kind and library build, not across them (other
instruction sets take other kernels and round differently), so every record says which CPU computed it: its
model name, the vector instruction sets it has, and the kernels torch chose (``cpu_capability``).
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

from leaderboard.environment import collect_environment

__all__ = ["environment", "cpu_info"]

# instruction-set flags that change which kernels torch, oneDNN, OpenBLAS and numba run
_ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
              "avx512_bf16", "avx_vnni", "amx_bf16", "amx_tile", "neon", "asimd", "sve")


def cpu_info(cpuinfo: str | None = None) -> dict:
    """``{"model": ..., "isa": [...], "cpu_capability": ...}``: the CPU's name, which of ``_ISA_FLAGS`` it has
    (from ``/proc/cpuinfo`` on Linux; ``cpuinfo`` overrides it, for tests) and torch's chosen kernel level."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.exists() else ""
    model, flags = platform.processor() or None, set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model") and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    capability = None
    try:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        pass
    return {"model": model, "isa": [f for f in _ISA_FLAGS if f in flags], "cpu_capability": capability}


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """Package versions, git commit and dirty flag, interpreter, hardware, the CPU and the CUDA device if any."""
    env = collect_environment()
    env["cpu"] = cpu_info()
    try:
        import torch

        env["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        env["gpu"] = None
    return env
