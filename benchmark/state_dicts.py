"""Reading and checking user-supplied PyTorch state dicts (pretrained backbones, metric networks, external
generator checkpoints), with one-line errors that say what was expected and how to get it.

Files are read with ``torch.load(weights_only=True)``: nothing beyond tensors and plain containers is unpickled.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

__all__ = ["first_keys", "mismatches", "read_state_dict", "as_state_dict"]


def first_keys(keys: Iterable[str], n: int = 3) -> str:
    """The first ``n`` of ``keys`` in sorted order, then how many more: ``"a, b, c (and 4 more)"``."""
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (f" (and {len(keys) - n} more)" if len(keys) > n else "")


def mismatches(given: Mapping[str, object], expected: Mapping[str, tuple[int, ...] | torch.Size], *,
               ignore_prefixes: tuple[str, ...] = (), optional_suffixes: tuple[str, ...] = ()) -> list[str]:
    """Everything that keeps ``given`` from loading strictly into a module whose state has the shapes
    ``expected`` (name -> shape), each kind as one phrase: missing keys (except those ending in
    ``optional_suffixes``), unexpected keys (except those starting with ``ignore_prefixes``), non-tensor entries,
    shape mismatches (given != expected). An empty list when it fits."""
    missing = [k for k in expected if k not in given and not k.endswith(optional_suffixes)]
    unexpected = [k for k in given if k not in expected and not k.startswith(ignore_prefixes)]
    non_tensor = [k for k in expected if k in given and not isinstance(given[k], torch.Tensor)]
    shapes = [f"{k} {tuple(given[k].shape)} != {tuple(shape)}" for k, shape in expected.items()
              if isinstance(given.get(k), torch.Tensor) and tuple(given[k].shape) != tuple(shape)]
    return [f"{label}: {first_keys(keys)}" for label, keys in
            (("missing keys", missing), ("unexpected keys", unexpected), ("non-tensor entries", non_tensor),
             ("shape mismatches", shapes)) if keys]


def as_state_dict(obj: object, where: str, hint: str) -> dict[str, torch.Tensor]:
    """``obj`` as a state dict (str -> tensor); a ValueError naming ``where`` and ``hint`` for anything else."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where} holds a {type(obj).__name__}, not a state dict; {hint}")
    bad = [repr(k) for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise ValueError(f"{where} is not a state dict: entries {first_keys(bad)} are not tensors with str keys "
                         f"(a training checkpoint wrapping the weights?); {hint}")
    return dict(obj)


def read_state_dict(path: str | os.PathLike, hint: str) -> dict[str, torch.Tensor]:
    """The plain state dict saved at ``path``; a ValueError ending in ``hint`` (how to make or get the right file)
    for a missing file, a file ``torch.load(weights_only=True)`` refuses (a pickled model, garbage bytes) or an
    object that is not a dict of tensors."""
    p = Path(os.fspath(path)).expanduser()
    if not p.is_file():
        raise ValueError(f"no such file {str(p)!r}; {hint}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - garbage bytes and refused pickles raise many types
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        raise ValueError(f"cannot read {p} with torch.load(weights_only=True) ({type(error).__name__}: {first}); "
                         f"a whole pickled model or a non-PyTorch file is not accepted; {hint}") from None
    return as_state_dict(obj, str(p), hint)
