"""Relative equivariance error of any map under a matrix group (Kim et al., ICML 2023, PER's ``equiv_error``)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from metrics._results import METRIC_VERSIONS, EquivarianceErrorResult

__all__ = ["equivariance_error"]


def _as_numpy(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values; equivariance_error needs finite numbers.")
    return arr


def _matrix_fn(rho: Any, what: str) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(rho, "rho") and callable(rho.rho):  # a representation object (benchmark.suites.equivariance.reps)
        return lambda g: np.asarray(rho.rho(g), dtype=np.float64)
    if callable(rho):
        return lambda g: np.asarray(rho(g), dtype=np.float64)
    raise TypeError(f"{what} must be a representation with .rho(g) or a callable g -> matrix; got {type(rho).__name__}.")


def _apply(f: Any, x: np.ndarray) -> np.ndarray:
    """``f`` on a float batch: torch modules get a float32 tensor (on their parameters' device), anything else the
    numpy array."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the suites, not of this function
        torch = None
    if torch is not None and isinstance(f, torch.nn.Module):
        param = next(f.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        with torch.no_grad():
            out = f(torch.as_tensor(x, dtype=dtype, device=device))
        return _as_numpy(out, "f(x)")
    return _as_numpy(f(x), "f(x)")


def equivariance_error(f: Any, x: Any, group: Any, rho_in: Any, rho_out: Any, *, n_transforms: int = 10,
                       seed: int = 0) -> EquivarianceErrorResult:
    r"""How far ``f`` is from equivariance under ``group``: the mean relative error

    .. math::

        e(x, g) = \frac{\lVert f(\rho_{in}(g)x) - \rho_{out}(g)f(x) \rVert}
                       {\lVert f(\rho_{in}(g)x) \rVert + \lVert \rho_{out}(g)f(x) \rVert}

    over the samples x and ``n_transforms`` group elements g (Kim, Lee, Yang, Lee, *Regularizing Towards Soft
    Equivariance Under Mixed Symmetries*, ICML 2023, code ``SoftEquivNet.equiv_error``). It is 0 for an exactly
    equivariant map, at most 1, and unchanged when f is multiplied by a non-zero constant. Where both norms are 0
    the error is 0.

    Parameters
    ----------
    f : torch.nn.Module or callable
        Maps a batch (N, n_in) to (N, n_out); a module is run under ``no_grad`` on its parameters' device and dtype.
    x : array-like of shape (N, n_in)
        The samples (numpy array or torch tensor).
    group : object with ``samples(n, rng)``, or array-like of shape (n, d, d)
        Where the group elements come from: a group of ``benchmark.suites.equivariance.groups`` (random elements
        drawn with ``numpy.random.default_rng(seed)``), or the elements themselves.
    rho_in, rho_out : representation with ``.rho(g)``, or callable g -> matrix
        The actions on inputs (n_in x n_in) and outputs (n_out x n_out).
    n_transforms : int, default=10
        Group elements to draw (ignored when ``group`` is an array of elements).
    seed : int, default=0

    Returns
    -------
    EquivarianceErrorResult
        ``score``; ``per_transform`` (n,), ``per_sample`` (N,).
    """
    xs = _as_numpy(x, "x")
    if xs.ndim != 2 or xs.shape[0] == 0:
        raise ValueError(f"x must have shape (n_samples, n_in) with n_samples >= 1; got {xs.shape}.")
    if isinstance(n_transforms, bool) or not isinstance(n_transforms, (int, np.integer)) or n_transforms < 1:
        raise ValueError(f"n_transforms must be an integer >= 1; got {n_transforms!r}.")
    if hasattr(group, "samples") and callable(group.samples):
        elements = np.asarray(group.samples(int(n_transforms), np.random.default_rng(seed)), dtype=np.float64)
    else:
        elements = _as_numpy(group, "group")
    if elements.ndim != 3 or elements.shape[1] != elements.shape[2] or elements.shape[0] == 0:
        raise ValueError(f"group elements must have shape (n, d, d); got {elements.shape}.")
    rin, rout = _matrix_fn(rho_in, "rho_in"), _matrix_fn(rho_out, "rho_out")
    fx = _apply(f, xs)
    errors = np.empty((elements.shape[0], xs.shape[0]))
    for t, g in enumerate(elements):
        a_in, a_out = rin(g), rout(g)
        if a_in.shape != (xs.shape[1], xs.shape[1]) or a_out.shape != (fx.shape[1], fx.shape[1]):
            raise ValueError(f"rho_in(g) must be {xs.shape[1]} x {xs.shape[1]} and rho_out(g) {fx.shape[1]} x "
                             f"{fx.shape[1]} for inputs of {xs.shape[1]} and outputs of {fx.shape[1]} values; got "
                             f"{a_in.shape} and {a_out.shape}.")
        f_gx = _apply(f, xs @ a_in.T)
        g_fx = fx @ a_out.T
        num = np.linalg.norm(f_gx - g_fx, axis=1)
        den = np.linalg.norm(f_gx, axis=1) + np.linalg.norm(g_fx, axis=1)
        errors[t] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return EquivarianceErrorResult(score=float(errors.mean()), per_transform=errors.mean(axis=1),
                                   per_sample=errors.mean(axis=0), n_samples=int(xs.shape[0]),
                                   params={"n_transforms": int(elements.shape[0]), "seed": int(seed)},
                                   metric_version=METRIC_VERSIONS["equivariance_error"])
