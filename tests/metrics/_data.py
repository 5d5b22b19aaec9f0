"""Data recipes shared by the metric tests (the reference values pinned in them depend on these exact recipes)."""

import numpy as np


def mixed_recipe(n, sizes, n_latents, seed):
    """Factors uniform over their classes; latents a random linear mix of the factors plus N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    s = np.stack([rng.integers(0, k, n) for k in sizes], axis=1)
    mix = rng.normal(size=(len(sizes), n_latents))
    z = s @ mix + rng.normal(size=(n, n_latents))
    return s, z


def grid(sizes, repeats=1):
    """Every combination of factor classes, `repeats` times: factors exactly independent in-sample."""
    g = np.stack(np.meshgrid(*[np.arange(k) for k in sizes], indexing="ij"), axis=-1).reshape(-1, len(sizes))
    return np.tile(g, (repeats, 1))
