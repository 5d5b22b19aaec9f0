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


# DCI agreement cases (tests/metrics/test_gbt.py, benchmarks/dci_agreement.py):
# name: (kind of latents, rows, factor sizes, latents, seed of the data)
DCI_CASES = {
    "450 rows, factors 3/4/5, 4 continuous latents": ("continuous", 450, (3, 4, 5), 4, 11),
    "900 rows, factors 2/16/20, 5 continuous latents": ("continuous", 900, (2, 16, 20), 5, 12),
    "600 rows, factors 3/6/10, 5 rounded latents": ("quantised", 600, (3, 6, 10), 5, 13),
    "600 rows, factors 4/8, 6 latents on a 0.25 grid": ("coarse", 600, (4, 8), 6, 14),
    "600 rows, factors 2/5/9, 3 rounded + 3 continuous latents": ("mixed", 600, (2, 5, 9), 6, 15),
    "500 rows, three binary factors, 4 continuous latents": ("continuous", 500, (2, 2, 2), 4, 16),
}


def dci_case(kind, n, sizes, n_latents, seed):
    """``mixed_recipe`` latents, continuous, rounded ("quantised"), on a 0.25 grid ("coarse": many ties) or half
    rounded ("mixed")."""
    s, z = mixed_recipe(n, sizes, n_latents, seed)
    if kind == "quantised":
        z = np.round(z)
    elif kind == "coarse":
        z = np.round(z * 4) / 4
    elif kind == "mixed":
        z[:, : n_latents // 2] = np.round(z[:, : n_latents // 2])
    return s, z
