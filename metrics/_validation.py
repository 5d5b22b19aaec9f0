"""Shared input validation for every public metric.

Every metric calls these helpers first, so all of them reject bad input the same way and with the
same wording: the message names the argument, states what was expected and shows what was found,
e.g. ``latents must be 2D with shape (n_samples, n_latents); got shape (500,).``

``TypeError`` is raised for a wrong type, ``ValueError`` for a wrong value, shape or count.
Torch tensors are recognised by duck typing (``detach``/``cpu``/``numpy``) so that this package
never imports torch.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

__all__ = [
    "as_numpy",
    "check_latents",
    "check_sources",
    "check_consistent_samples",
    "check_int",
    "check_float",
    "check_probability",
    "check_choice",
    "check_bool",
    "check_random_state",
    "check_mutual_info",
    "first_nonfinite_row",
    "pow2_rescaled",
]

_FINITE_CHUNK_ROWS = 1 << 16  # rows per chunk of the NaN/inf scan: bounded temporary memory


def as_numpy(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a numpy array; torch tensors are converted without importing torch."""
    if isinstance(x, np.ndarray):
        return x
    if all(hasattr(x, attr) for attr in ("detach", "cpu", "numpy")):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":  # numpy has no bfloat16; float32 holds it exactly
            x = x.float()
        return x.numpy()
    if x is None:
        raise TypeError(f"{name} must be an array of numbers; got None.")
    if isinstance(x, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of numbers; got {type(x).__name__}.")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers; could not convert it: {exc}") from None
    return arr


def first_nonfinite_row(x: np.ndarray) -> int:
    """Index of the first row of a 2D float array holding NaN or +-inf, or -1.

    Scans in row chunks so that the temporary boolean mask stays small for 1e7-row inputs.
    """
    if x.dtype.kind not in "fc":
        return -1
    for start in range(0, x.shape[0], _FINITE_CHUNK_ROWS):
        block = x[start:start + _FINITE_CHUNK_ROWS]
        ok = np.isfinite(block)
        if not ok.all():
            bad_rows = np.flatnonzero(~ok.reshape(block.shape[0], -1).all(axis=1))
            return int(start + bad_rows[0])
    return -1


def _check_2d(arr: np.ndarray, name: str, columns: str, min_samples: int) -> None:
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2D with shape (n_samples, {columns}); got shape {arr.shape}.")
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} must have at least {min_samples} sample{'s' if min_samples != 1 else ''}; "
            f"got shape {arr.shape}."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column ({columns} >= 1); got shape {arr.shape}.")


def check_latents(latents: Any, *, name: str = "latents", min_samples: int = 1, check_finite: bool = True) -> np.ndarray:
    """Validate a representation matrix of shape (n_samples, n_latents).

    Accepts any real numeric dtype (bool and integers included: discrete codes are latents too).
    Returns the array without copying when it is already a numpy array of a numeric dtype, except
    that float16 becomes float32 (exactly; the compiled kernels have no half-precision type).
    ``check_finite=False`` skips the NaN/inf scan for callers that fold it into their own pass
    over the data (they must then raise the same message).
    """
    arr = as_numpy(latents, name)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
    _check_2d(arr, name, "n_latents", min_samples)
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    bad = first_nonfinite_row(arr) if check_finite else -1
    if bad >= 0:
        raise ValueError(f"{name} contains NaN or infinity (first at row {bad}).")
    return arr


def check_sources(sources: Any, *, name: str = "sources", min_samples: int = 1) -> np.ndarray:
    """Validate ground-truth factors of shape (n_samples, n_factors) holding integer class labels.

    Integer and bool dtypes pass unchanged. A float array passes only if every value is a whole
    number (it is then converted to int64); fractional values raise, because the metrics treat
    each factor as a categorical variable. Label-encode continuous factors first, for example with
    ``np.unique(column, return_inverse=True)[1]``.
    """
    arr = as_numpy(sources, name)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold integer class labels; got dtype {arr.dtype}.")
    _check_2d(arr, name, "n_factors", min_samples)
    if arr.dtype.kind == "f":
        bad = first_nonfinite_row(arr)
        if bad >= 0:
            raise ValueError(f"{name} contains NaN or infinity (first at row {bad}).")
        frac = np.flatnonzero((arr != np.round(arr)).any(axis=1))
        if frac.size:
            row = int(frac[0])
            col = int(np.flatnonzero(arr[row] != np.round(arr[row]))[0])
            raise ValueError(
                f"{name} must hold integer class labels; got non-integer value {arr[row, col].item()!r} at row {row}, "
                f"column {col}. Label-encode each factor first, e.g. np.unique(col, return_inverse=True)[1]."
            )
        # whole-number floats outside int64 would wrap on conversion and merge classes (2**63 -> -2**63)
        outside = np.flatnonzero(((arr < -(2.0**63)) | (arr >= 2.0**63)).any(axis=1))
        if outside.size:
            row = int(outside[0])
            col = int(np.flatnonzero((arr[row] < -(2.0**63)) | (arr[row] >= 2.0**63))[0])
            raise ValueError(
                f"{name} holds whole numbers as floats, converted to int64 labels; got {arr[row, col].item()!r} at row "
                f"{row}, column {col}, outside the int64 range. Label-encode each factor first, e.g. "
                f"np.unique(col, return_inverse=True)[1]."
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    return arr


def pow2_rescaled(x: np.ndarray, like: np.ndarray | None = None, *, return_exponent: bool = False):
    """``x`` as float64 with each column multiplied by a power of two that brings the largest |value| of that
    column of ``like`` (default: ``x``; pass the training set to rescale a test set alike) into [0.5, 1).

    Exact (barring results below the normal range), so scale-invariant statistics (standardised values,
    correlations, kurtosis, tree splits) come out bit for bit the same, while moments of values near the float
    maximum no longer overflow (1e200 ** 2) and those of tiny values no longer underflow. With
    ``return_exponent``, also the per-column exponents e (the result is ``x * 2**-e``), to undo the scaling.
    """
    x = np.asarray(x, dtype=np.float64)
    ref = x if like is None else np.asarray(like, dtype=np.float64)
    if ref.size == 0:
        exponent = np.zeros(x.shape[1:], dtype=np.int32)
    else:
        _, exponent = np.frexp(np.abs(ref).max(axis=0))  # max = m * 2**exponent, m in [0.5, 1); 0 for a zero column
    out = np.ldexp(x, -exponent)
    return (out, exponent) if return_exponent else out


def check_mutual_info(mutual_info: Any, n_factors: int, n_latents: int) -> np.ndarray:
    """A precomputed (n_factors, n_latents) mutual-information matrix in nats: finite, non-negative; a float64 copy."""
    mi = np.array(as_numpy(mutual_info, "mutual_info"), dtype=np.float64)  # a copy: never the caller's array
    if mi.shape != (n_factors, n_latents):
        raise ValueError(f"mutual_info must have shape (n_factors, n_latents) = ({n_factors}, {n_latents}); "
                         f"got shape {mi.shape}.")
    if not np.isfinite(mi).all():
        raise ValueError(f"mutual_info contains NaN or infinity (first at row {first_nonfinite_row(mi)}).")
    if (mi < 0).any():
        raise ValueError(f"mutual_info must be non-negative (nats); got minimum {float(mi.min())}.")
    return mi


def check_consistent_samples(**arrays: np.ndarray | None) -> int:
    """Check that all given arrays share their first dimension; returns n_samples.

    ``check_consistent_samples(latents=z, sources=s)`` raises
    ``latents and sources must have the same number of samples; got 500 and 499.``
    """
    named = [(k, v) for k, v in arrays.items() if v is not None]
    counts = [int(v.shape[0]) for _, v in named]
    if len(set(counts)) > 1:
        names = [k for k, _ in named]
        who = " and ".join(names) if len(names) == 2 else ", ".join(names[:-1]) + " and " + names[-1]
        got = " and ".join(str(c) for c in counts) if len(counts) == 2 else ", ".join(str(c) for c in counts)
        raise ValueError(f"{who} must have the same number of samples; got {got}.")
    return counts[0] if counts else 0


def check_int(value: Any, name: str, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """An integer (not bool) within optional bounds, returned as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer{_bounds_text(min_value, max_value)}; got {value!r}.")
    value = int(value)
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        raise ValueError(f"{name} must be an integer{_bounds_text(min_value, max_value)}; got {value}.")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """A finite real number within optional bounds, returned as a Python float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number{_bounds_text(min_value, max_value)}; got {value!r}.")
    value = float(value)
    ok = np.isfinite(value)
    if min_value is not None:
        ok &= value >= min_value if min_inclusive else value > min_value
    if max_value is not None:
        ok &= value <= max_value if max_inclusive else value < max_value
    if not ok:
        lo = "" if min_value is None else ("[" if min_inclusive else "(") + f"{min_value}"
        hi = "" if max_value is None else f"{max_value}" + ("]" if max_inclusive else ")")
        rng = f" in {lo or '(-inf'}, {hi or 'inf)'}" if (lo or hi) else ""
        raise ValueError(f"{name} must be a finite number{rng}; got {value}.")
    return value


def check_probability(value: Any, name: str) -> float:
    """A number in [0, 1]."""
    return check_float(value, name, min_value=0.0, max_value=1.0)


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """One of a fixed set of options (strings or None)."""
    choices = tuple(choices)
    if not any(value is c or (isinstance(value, str) and isinstance(c, str) and value == c) for c in choices):
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """An int seed, ``None`` (fresh entropy) or a ``np.random.Generator``; returns a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, numbers.Integral) or random_state < 0:
        raise TypeError(
            f"{name} must be a non-negative integer seed, None or a numpy.random.Generator; got {random_state!r}."
        )
    return np.random.default_rng(int(random_state))


def _bounds_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""
