"""Pure-numpy twins of the numba kernels, written for clarity rather than speed.

Tests assert that every kernel in ``metrics/_kernels.py`` agrees with its twin here on random and
corner-case inputs. Nothing in the public API calls these functions.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma


def joint_counts(source_codes: np.ndarray, latent_bins: np.ndarray, n_classes: int, n_bins: int) -> np.ndarray:
    """Contingency table (n_classes, n_bins) of one factor's codes and one latent's bin indices."""
    table = np.zeros((n_classes, n_bins), dtype=np.int64)
    np.add.at(table, (source_codes, latent_bins), 1)
    return table


def digitize_like_dlib(column: np.ndarray, bins: int) -> np.ndarray:
    """disentanglement_lib's histogram_discretizer for one column, as 0-based bin indices."""
    return np.digitize(column, np.histogram(column, bins)[1][:-1]) - 1


def plugin_mi(table: np.ndarray) -> float:
    """Plug-in mutual information (nats) of a contingency table."""
    p = table / table.sum()
    pa = p.sum(axis=1, keepdims=True)
    pb = p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(max(0.0, (p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum()))


def knn_mi_cd(values: np.ndarray, labels: np.ndarray, n_neighbors: int) -> float:
    """Ross (2014) continuous-discrete MI by brute-force distances (no jitter, no scaling).

    Samples whose class occurs once are dropped; for each remaining sample, r = distance to its
    k-th nearest neighbour of the same class (k = min(n_neighbors, class size - 1)), m = number of
    samples strictly closer than r (itself included).
    MI = psi(N) + <psi(k)> - <psi(N_x)> - <psi(m)>, clipped at 0.
    """
    classes, counts = np.unique(labels, return_counts=True)
    size = dict(zip(classes.tolist(), counts.tolist()))
    keep = np.array([size[c] > 1 for c in labels.tolist()])
    v, y = values[keep], labels[keep]
    n = v.size
    if n == 0:
        return 0.0
    ks, nxs, ms = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        same = np.abs(v[y == y[i]] - v[i])
        nx = same.size
        k = min(n_neighbors, nx - 1)
        r = np.sort(same)[k]  # same[0] is the point itself at distance 0
        ms[i] = np.sum(np.abs(v - v[i]) <= np.nextafter(r, 0.0))
        ks[i], nxs[i] = k, nx
    return float(max(0.0, digamma(n) + digamma(ks).mean() - digamma(nxs).mean() - digamma(ms).mean()))
