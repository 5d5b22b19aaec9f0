"""Metric directions: whether a higher or a lower value of a metric is better.

Every ranking, sort and comparison of the leaderboard (:func:`leaderboard.summarize`,
:func:`leaderboard.aggregate_across_datasets`, :func:`leaderboard.compare`,
:func:`leaderboard.check_claims`, the figures and the page) asks :func:`direction_of` for the
direction of a metric *name* (``Record.metric``, not its display label), unless the caller passes
``directions={name: "lower", ...}``, which wins for those names.

The rule of :func:`direction_of`, in order:

1. a direction registered with :func:`register_direction` (the last registration wins);
2. :data:`LOWER` when the name, lower-cased, *is* one of the tokens ``error, err, mse, mae, rmse,
   loss, nll, ece, risk, regret`` or *ends* in one of them after an underscore: ``mse``,
   ``test_error``, ``recon_mse``, ``equivariance_error``, ``NLL`` are lower-is-better; ``error_rate``,
   ``mserror`` and ``loss-free`` are not (only ``_`` separates tokens);
3. :data:`HIGHER` otherwise (``mig``, ``infom``, ``dci_disentanglement``, ``accuracy``, ...).

The registry is module-level state of this process: register a suite's directions when the suite
is imported, or pass ``directions=`` explicitly for one call.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["HIGHER", "LOWER", "DIRECTIONS", "LOWER_IS_BETTER_TOKENS", "register_direction", "direction_of",
           "check_directions", "resolve_direction", "arrow"]

#: A higher value of the metric is better (the default).
HIGHER = "higher"
#: A lower value of the metric is better (errors, losses, risks).
LOWER = "lower"
#: The allowed directions.
DIRECTIONS: tuple[str, ...] = (HIGHER, LOWER)
#: Last ``_``-separated tokens (or whole names) that make a metric lower-is-better by default.
LOWER_IS_BETTER_TOKENS: frozenset[str] = frozenset(
    {"error", "err", "mse", "mae", "rmse", "loss", "nll", "ece", "risk", "regret"})

_REGISTRY: dict[str, str] = {}


def _check_direction(direction, name: str = "direction") -> str:
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise ValueError(f"{name} must be one of {HIGHER!r}, {LOWER!r}; got {direction!r}.")
    return direction


def _check_metric(metric, name: str = "metric") -> str:
    if not isinstance(metric, str):
        raise TypeError(f"{name} must be a metric name (str); got {type(metric).__name__}.")
    if not metric:
        raise ValueError(f"{name} must be a non-empty metric name; got ''.")
    return metric


def register_direction(metric: str, direction: str) -> None:
    """Declare whether a higher or a lower value of ``metric`` is better.

    Parameters
    ----------
    metric : str
        The metric name as stored in records (``Record.metric``).
    direction : {"higher", "lower"}
        Registering a metric again with another direction overrides the first registration.

    Raises
    ------
    TypeError
        ``metric`` is not a string.
    ValueError
        ``metric`` is empty, or ``direction`` is neither ``"higher"`` nor ``"lower"``.

    Examples
    --------
    >>> register_direction("reconstruction", LOWER)
    >>> direction_of("reconstruction")
    'lower'
    >>> register_direction("reconstruction", HIGHER)  # overrides
    >>> direction_of("reconstruction")
    'higher'
    """
    _check_metric(metric)
    _REGISTRY[metric] = _check_direction(direction)


def direction_of(metric: str) -> str:
    """``"higher"`` or ``"lower"``: the registered direction of ``metric``, else the default by name.

    See the module docstring for the naming rule.

    Examples
    --------
    >>> direction_of("mig"), direction_of("recon_mse"), direction_of("Test_Error"), direction_of("error_rate")
    ('higher', 'lower', 'lower', 'higher')
    """
    _check_metric(metric)
    if metric in _REGISTRY:
        return _REGISTRY[metric]
    name = metric.lower()
    if name in LOWER_IS_BETTER_TOKENS or name.rsplit("_", 1)[-1] in LOWER_IS_BETTER_TOKENS:
        return LOWER
    return HIGHER


def check_directions(directions) -> dict[str, str]:
    """Validate a ``directions=`` argument (metric name -> direction); ``None`` gives ``{}``."""
    if directions is None:
        return {}
    if not isinstance(directions, Mapping):
        raise TypeError(f"directions must be a mapping of metric name to {HIGHER!r} or {LOWER!r}; "
                        f"got {type(directions).__name__}.")
    for metric, direction in directions.items():
        _check_metric(metric, "directions key")
        _check_direction(direction, f"directions[{metric!r}]")
    return dict(directions)


def resolve_direction(metric: str, directions: Mapping[str, str] | None = None) -> str:
    """``directions[metric]`` when given there (already validated by :func:`check_directions`), else
    :func:`direction_of`."""
    if directions and metric in directions:
        return directions[metric]
    return direction_of(metric)


def arrow(direction: str) -> str:
    """``↑`` for higher-is-better, ``↓`` for lower-is-better."""
    return "↑" if direction == HIGHER else "↓"
