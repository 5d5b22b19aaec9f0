"""Deterministic train/test handling shared by the metrics that fit a predictor.

DCI, SAP and modularity/explicitness fit classifiers on a training set and score them on a test
set. The caller either passes both sets (``sources``/``latents`` for training and
``sources_test``/``latents_test`` for testing), or passes one set that is split here by a random
permutation drawn from ``random_state``. disentanglement_lib draws 10 000 training and 5 000 test
points, so the default test fraction is one third.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from metrics._validation import (
    check_consistent_samples,
    check_float,
    check_latents,
    check_sources,
)

__all__ = ["DEFAULT_TEST_SIZE", "TrainTest", "split_indices", "train_test", "seed_from", "random_state_param"]

DEFAULT_TEST_SIZE = 1.0 / 3.0  # disentanglement_lib's 10 000 train / 5 000 test ratio


@dataclass(frozen=True)
class TrainTest:
    """Validated training and test arrays (numpy) plus how they were obtained."""

    sources_train: np.ndarray  # (n_train, K)
    latents_train: np.ndarray  # (n_train, L)
    sources_test: np.ndarray  # (n_test, K)
    latents_test: np.ndarray  # (n_test, L)
    split: bool  # True when the test set was split off the given arrays

    @property
    def n_train(self) -> int:
        return int(self.sources_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.sources_test.shape[0])


def split_indices(n_samples: int, test_size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices of a random split of ``n_samples`` rows.

    ``n_test = ceil(test_size * n_samples)``, clipped to ``[1, n_samples - 1]`` so that both sides
    hold at least one row. The rows are chosen by ``rng.permutation``; each side keeps the original
    row order. Needs ``n_samples >= 2``.
    """
    if n_samples < 2:
        raise ValueError(f"a train/test split needs at least 2 samples; got {n_samples}.")
    n_test = min(max(int(math.ceil(test_size * n_samples)), 1), n_samples - 1)
    perm = rng.permutation(n_samples)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def train_test(
    sources: Any,
    latents: Any,
    sources_test: Any,
    latents_test: Any,
    *,
    test_size: float,
    rng: np.random.Generator,
    check_targets: Callable[..., np.ndarray] = check_sources,
) -> TrainTest:
    """Validate the four arrays and return the training and test sets.

    ``check_targets`` validates ``sources`` and ``sources_test`` (``check_sources`` for integer
    classes; SAP with continuous factors passes ``check_latents``). When the test arrays are
    ``None`` the given arrays are split with :func:`split_indices` (``test_size`` of the rows go to
    the test set); ``rng`` is consumed only in that case.
    """
    test_size = check_float(test_size, "test_size", min_value=0.0, max_value=1.0, min_inclusive=False,
                            max_inclusive=False)
    if (sources_test is None) != (latents_test is None):
        given, missing = ("sources_test", "latents_test") if latents_test is None else ("latents_test", "sources_test")
        raise ValueError(
            f"sources_test and latents_test must be given together; got {given} but {missing} is None. "
            "Pass both, or neither to split the given samples."
        )
    split = sources_test is None
    min_samples = 2 if split else 1
    s = check_targets(sources, name="sources", min_samples=min_samples)
    z = check_latents(latents, name="latents", min_samples=min_samples)
    n = check_consistent_samples(sources=s, latents=z)
    if split:
        train, test = split_indices(n, test_size, rng)
        return TrainTest(s[train], z[train], s[test], z[test], True)
    s_te = check_targets(sources_test, name="sources_test")
    z_te = check_latents(latents_test, name="latents_test")
    check_consistent_samples(sources_test=s_te, latents_test=z_te)
    for name, train_arr, test_arr, what in (
        ("sources_test", s, s_te, "n_factors"),
        ("latents_test", z, z_te, "n_latents"),
    ):
        if test_arr.shape[1] != train_arr.shape[1]:
            base = name[: -len("_test")]
            raise ValueError(
                f"{name} must have as many columns ({what}) as {base}; got shape {test_arr.shape} "
                f"and {base} shape {train_arr.shape}."
            )
    return TrainTest(s, z, s_te, z_te, False)


def seed_from(rng: np.random.Generator) -> int:
    """An integer seed for a scikit-learn estimator, drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))


def random_state_param(random_state: Any) -> Any:
    """``random_state`` as a JSON-ready value for a result's ``params``."""
    if random_state is None or isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__
