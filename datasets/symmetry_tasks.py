"""Regression tasks of the equivariance suite: generated tasks with controlled symmetry breaking, and Waymo motion.

The tasks follow the soft-equivariance benchmarks of Finzi et al. (2021, EMLP) and Kim et al.
(ICML 2023, "Regularizing Towards Soft Equivariance Under Mixed Symmetries", PER). They are not
image datasets: each is a :class:`RegressionTask` holding float32 inputs ``x`` (N, n_in) and targets
``y`` (N, n_out), index splits ``'train'``, ``'val'``, ``'test'`` (and, for the inertia task, a
separate out-of-distribution set ``'ood'``), and the input and output representations as strings
(``"5*Scalar+5*Vector"``, ``"T(2)"``); the group library that turns them into matrices lives with
the models.

=====================  ==========================  =========================================================
name                   class                       target
=====================  ==========================  =========================================================
``inertia``            :class:`ModifiedInertia`    inertia tensor of 5 point masses, plus ``epsilon`` times
                                                   its projection on one axis (exact O(2) about that axis)
``cossim``             :class:`CosineSimilarity`   mean cosine of consecutive vectors, minus terms breaking
                                                   rotation and/or scale invariance
``se3dist``            :class:`SE3Distance`        mean cyclic distance of 3 points, minus a term breaking
                                                   translation or rotation invariance
``motion-synthetic``   :class:`SyntheticMotion`    6 future points of a simulated 3-D track with gravity,
                                                   drag and a bouncing ground plane, from its 6 past points
``waymo-motion``       :class:`WaymoMotion`        the same from Waymo Open Motion v1.1 agent tracks (files
                                                   on request from Waymo, read without TensorFlow)
=====================  ==========================  =========================================================

Every generated task is a pure function of its options: the inputs are drawn with
``np.random.default_rng(seed)``, the split permutation with ``default_rng([seed, 1])`` and the
out-of-distribution set with ``default_rng([seed, 2])``, so the same options give the same arrays
and the same ``content_hash`` on any machine. The target functions (:func:`inertia_target`,
:func:`cossim_target`, :func:`se3dist_target`) and the simulator (:func:`simulate_motion`) are public
so that equivariance can be checked on any input; :func:`ade` is the motion tasks' error measure.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import numbers
import os
import struct
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from datasets._base import _check_int
from datasets._errors import DatasetIntegrityError, DatasetNotFoundError
from datasets._resources import resolve_root

__all__ = [
    "RegressionTask",
    "ModifiedInertia",
    "CosineSimilarity",
    "SE3Distance",
    "SyntheticMotion",
    "WaymoMotion",
    "inertia_target",
    "cossim_target",
    "se3dist_target",
    "simulate_motion",
    "ade",
    "crc32c",
    "masked_crc32c",
    "iter_tfrecord",
    "parse_example",
    "waymo_tracks",
]

SPLITS = ("train", "val", "test")


# ---- shared helpers ------------------------------------------------------------------------------
def _check_float(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}.")
    return float(value)


def _check_choice(value: Any, name: str, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def _split_indices(n: int, n_val: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """A seeded permutation (``default_rng([seed, 1])``) of ``range(n)``: the first ``n_val`` indices
    validate, the next ``n_test`` test, the rest train; each split sorted ascending."""
    perm = np.random.default_rng([seed, 1]).permutation(n).astype(np.int64)
    return {"train": np.sort(perm[n_val + n_test:]), "val": np.sort(perm[:n_val]),
            "test": np.sort(perm[n_val:n_val + n_test])}


def _check_split_sizes(n: int, n_val: Any, n_test: Any) -> tuple[int, int, int]:
    n = _check_int(n, "n", min_value=3)
    n_val = _check_int(n_val, "n_val", min_value=1, max_value=n - 2)
    n_test = _check_int(n_test, "n_test", min_value=1, max_value=n - n_val - 1)
    return n, n_val, n_test


class RegressionTask:
    """Inputs, targets and splits of one regression task.

    Attributes
    ----------
    name, description : str
        Registry name and one-line description.
    x : ndarray, float32, shape (N, n_in)
    y : ndarray, float32, shape (N, n_out)
    splits : dict of str to ndarray
        Sorted int64 row indices of ``x``/``y`` for ``'train'``, ``'val'`` and ``'test'`` (disjoint,
        covering all rows).
    ood : tuple of ndarray or None
        ``(x_ood, y_ood)``: a separate out-of-distribution set (not rows of ``x``), or None.
    rep_in, rep_out : str
        The input and output representations in the EMLP notation (``"5*Scalar+5*Vector"``, ``"T(2)"``).
    symmetry : str
        The group the reference models are built for (``"O(3)"``, ``"SE(3)"``...); the class
        docstring says which subgroup the target respects exactly.
    adapter_version : str
        Bumped whenever the generated data change; part of the identity.
    """

    name = ""
    description = ""
    rep_in = ""
    rep_out = ""
    symmetry = ""
    adapter_version = "1"

    x: np.ndarray
    y: np.ndarray
    splits: dict[str, np.ndarray]
    ood: tuple[np.ndarray, np.ndarray] | None = None
    _options: dict[str, Any]

    def _finish(self, x: np.ndarray, y: np.ndarray, splits: dict[str, np.ndarray],
                ood: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.y = np.ascontiguousarray(y, dtype=np.float32)
        self.splits = {k: np.asarray(splits[k], dtype=np.int64) for k in SPLITS}
        if ood is not None:
            ood = (np.ascontiguousarray(ood[0], dtype=np.float32), np.ascontiguousarray(ood[1], dtype=np.float32))
        self.ood = ood

    @property
    def n_in(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.y.shape[1])

    @property
    def split_names(self) -> tuple[str, ...]:
        """``('train', 'val', 'test')``, with ``'ood'`` where the task has an out-of-distribution set."""
        return SPLITS + (("ood",) if self.ood is not None else ())

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of split ``name`` (``'train'``, ``'val'``, ``'test'``, or ``'ood'`` where there is one)."""
        if name == "ood" and self.ood is not None:
            return self.ood
        if name not in SPLITS:
            raise ValueError(f"{self.name}: split must be one of {', '.join(map(repr, self.split_names))}; "
                             f"got {name!r}.")
        idx = self.splits[name]
        return self.x[idx], self.y[idx]

    def identity(self) -> dict[str, Any]:
        """Everything the data depend on: class, adapter version and every option (seed included)."""
        return {"class": type(self).__name__, "name": self.name, "adapter_version": self.adapter_version,
                "options": dict(self._options)}

    @property
    def content_hash(self) -> str:
        """SHA-256 of :meth:`identity` as sorted-key JSON."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(self.splits[k])}" for k in SPLITS)
        ood = f", ood={len(self.ood[0])}" if self.ood is not None else ""
        return (f"{type(self).__name__}({self.name!r}, x {tuple(self.x.shape)}, y {tuple(self.y.shape)}, "
                f"{sizes}{ood})")


# ---- modified inertia ----------------------------------------------------------------------------
def inertia_target(x: np.ndarray, epsilon: float = 0.3, axis: int = 2) -> np.ndarray:
    """Modified inertia tensor of point masses, flattened row-major.

    Parameters
    ----------
    x : array, shape (..., 4k)
        ``k`` masses, then ``k`` positions ``[m_1..m_k, r_1x, r_1y, r_1z, r_2x, ...]``.
    epsilon : float
    axis : {0, 1, 2, -1}

    Returns
    -------
    ndarray, float64, shape (..., 9)
        ``I + epsilon * I e_a e_a^T`` with ``I = sum_i m_i (|r_i|^2 I_3 - r_i r_i^T)``; for
        ``axis=-1``, ``I - epsilon * I e_0 e_0^T + epsilon * I e_1 e_1^T``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] % 4:
        raise ValueError(f"x must hold k masses and k 3-vectors (4k values per row); got {x.shape[-1]} values.")
    k = x.shape[-1] // 4
    m = x[..., :k]
    r = x[..., k:].reshape(*x.shape[:-1], k, 3)
    r2 = np.einsum("...i,...ij,...ij->...", m, r, r)
    inertia = r2[..., None, None] * np.eye(3) - np.einsum("...i,...ia,...ib->...ab", m, r, r)
    proj = np.zeros((3, 3))  # I @ proj keeps the chosen columns of I
    if axis == -1:
        proj[0, 0], proj[1, 1] = -1.0, 1.0
    else:
        proj[axis, axis] = 1.0
    y = inertia + epsilon * (inertia @ proj)
    return y.reshape(*x.shape[:-1], 9)


class ModifiedInertia(RegressionTask):
    """Inertia tensor of 5 point masses with an axis-aligned symmetry-breaking term (EMLP, PER).

    Masses ``m_i = softplus(z_i)``, ``z_i ~ N(0, 1)``; positions ``r_i ~ N(0, I_3)``. ``x`` (20 values):
    the 5 masses, then the 5 positions (``[m_1..m_5, r_1x, r_1y, r_1z, r_2x, ...]``). ``y`` (9 values,
    row-major): ``I + epsilon * I e_a e_a^T`` (:func:`inertia_target`). The target is exactly
    equivariant, ``y(Rx) = R y(x) R^T``, under every orthogonal R that maps ``e_a`` to ``±e_a``
    (rotations about ``e_a``, reflections): O(2) about axis ``a``; ``epsilon=0`` gives the O(3)-equivariant
    inertia tensor, small ``epsilon`` an approximately O(3)-equivariant target. ``axis=-1`` breaks
    symmetry along two axes (``-epsilon`` on ``e_0``, ``+epsilon`` on ``e_1``).

    Parameters
    ----------
    n : int, default=3000
        Samples; ``n_val`` and ``n_test`` of them (seeded permutation) validate and test, the rest train.
    epsilon : float, default=0.3
        Strength of the symmetry breaking (the reference uses 0, 0.3, 0.6, 0.9 and -1; any finite float).
    axis : {2, 0, 1, -1}, default=2
    seed : int, default=0
    ood_n : int, default=1000
        Size of the out-of-distribution set (0: none).
    ood : {'shift', 'scale'}, default='shift'
        The out-of-distribution set is ``ood_n`` fresh samples (``default_rng([seed, 2])``, drawn as the
        others) whose positions are shifted by +1 along every axis (``'shift'``) or scaled by 2
        (``'scale'``); masses unchanged; targets from the same function. (A sign flip of masses' logits
        or of positions is not offered: both distributions are symmetric about 0, so flipped samples are
        in distribution.)
    n_val, n_test : int, default=1000, 1000
    """

    name = "inertia"
    description = ("modified inertia of 5 point masses: I + eps * I e_a e_a^T, exactly O(2)-equivariant about "
                   "axis a (EMLP/PER)")
    rep_in = "5*Scalar+5*Vector"
    rep_out = "T(2)"
    symmetry = "O(3)"
    k = 5

    def __init__(self, n: int = 3000, epsilon: float = 0.3, axis: int = 2, seed: int = 0, ood_n: int = 1000, *,
                 ood: str = "shift", n_val: int = 1000, n_test: int = 1000, root=None, download: bool = False,
                 verify: bool = False):
        n, n_val, n_test = _check_split_sizes(n, n_val, n_test)
        epsilon = _check_float(epsilon, "epsilon")
        if isinstance(axis, (bool, np.bool_)) or axis not in (0, 1, 2, -1):
            raise ValueError(f"axis must be 0, 1 or 2 (the axis of the symmetry-breaking term) or -1 (terms on "
                             f"axes 0 and 1); got {axis!r}.")
        axis = int(axis)
        seed = _check_int(seed, "seed", min_value=0)
        ood_n = _check_int(ood_n, "ood_n", min_value=0)
        _check_choice(ood, "ood", ("shift", "scale"))
        self.epsilon, self.axis, self.seed = epsilon, axis, seed
        self._options = {"n": n, "epsilon": epsilon, "axis": axis, "seed": seed, "ood_n": ood_n, "ood": ood,
                         "n_val": n_val, "n_test": n_test}
        x = self._draw(np.random.default_rng(seed), n)
        y = self.target(x)
        ood_set = None
        if ood_n:
            x_ood = self._draw(np.random.default_rng([seed, 2]), ood_n)
            pos = x_ood[:, self.k:]
            x_ood[:, self.k:] = pos + 1.0 if ood == "shift" else pos * 2.0
            x_ood = x_ood.astype(np.float32)
            ood_set = (x_ood, self.target(x_ood))
        self._finish(x, y, _split_indices(n, n_val, n_test, seed), ood_set)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = rng.standard_normal((n, self.k))
        r = rng.standard_normal((n, self.k * 3))
        return np.concatenate([np.logaddexp(0.0, z), r], axis=1).astype(np.float32)  # softplus(z) = log(1 + e^z)

    def target(self, x: np.ndarray) -> np.ndarray:
        """Targets of inputs ``x`` (float32, from the float64 value of each float32 input)."""
        return inertia_target(np.asarray(x, dtype=np.float32).astype(np.float64), self.epsilon,
                              self.axis).astype(np.float32)


# ---- cosine similarity ---------------------------------------------------------------------------
COSSIM_SYMMETRIES = ("so3-scale", "so3", "scale", "none")


def cossim_target(x: np.ndarray, symmetry: str = "so3-scale", epsilon: float = 1.0) -> np.ndarray:
    """Mean cosine similarity of consecutive 3-vectors, with symmetry-breaking terms.

    Parameters
    ----------
    x : array, shape (..., 3k)
        ``k >= 2`` vectors ``[x_1x, x_1y, x_1z, x_2x, ...]``.
    symmetry : {'so3-scale', 'so3', 'scale', 'none'}
        The symmetry kept exactly: ``'so3-scale'``, ``y = (1/k) sum_i cos(x_i, x_{i+1 mod k})``;
        ``'so3'``, ``y - epsilon * mean_i |x_i|`` (breaks scale); ``'scale'``,
        ``y - epsilon * sum_{i<k//2} |x_i|_1 / sum_{i>=k//2} |x_i|_1`` (breaks rotation); ``'none'``,
        both terms.
    epsilon : float

    Returns
    -------
    ndarray, float64, shape (..., 1)
    """
    _check_choice(symmetry, "symmetry", COSSIM_SYMMETRIES)
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] % 3 or x.shape[-1] < 6:
        raise ValueError(f"x must hold k >= 2 3-vectors (3k values per row); got {x.shape[-1]} values.")
    k = x.shape[-1] // 3
    v = x.reshape(*x.shape[:-1], k, 3)
    norm = np.linalg.norm(v, axis=-1)
    nxt = np.roll(v, -1, axis=-2)
    y = ((v * nxt).sum(-1) / (norm * np.roll(norm, -1, axis=-1))).mean(-1)
    if symmetry in ("so3", "none"):
        y = y - epsilon * norm.mean(-1)
    if symmetry in ("scale", "none"):
        l1 = np.abs(v).sum(-1)
        y = y - epsilon * l1[..., :k // 2].sum(-1) / l1[..., k // 2:].sum(-1)
    return y[..., None]


class CosineSimilarity(RegressionTask):
    """Mean cosine similarity of ``k`` random 3-vectors, with rotation- and scale-breaking terms (PER).

    ``x_i ~ N(0, I_3)``, ``x`` = the ``k`` vectors (3k values); ``y`` (1 value) =
    :func:`cossim_target`. ``'so3-scale'`` is exactly invariant under SO(3) (indeed O(3)) and positive
    scaling of all vectors; ``'so3'`` only under rotations; ``'scale'`` only under scaling; ``'none'``
    under neither.

    Parameters
    ----------
    n : int, default=3000
    k : int, default=3
        Vectors per sample (at least 2).
    symmetry : {'so3-scale', 'so3', 'scale', 'none'}, default='so3-scale'
    epsilon : float, default=1.0
    seed : int, default=0
    n_val, n_test : int, default=1000, 1000
    """

    name = "cossim"
    description = "mean cosine similarity of k 3-vectors; rotation- and/or scale-breaking terms (PER)"
    rep_out = "Scalar"
    symmetry = "SO(3) x scaling"

    def __init__(self, n: int = 3000, k: int = 3, symmetry: str = "so3-scale", epsilon: float = 1.0, seed: int = 0,
                 *, n_val: int = 1000, n_test: int = 1000, root=None, download: bool = False, verify: bool = False):
        n, n_val, n_test = _check_split_sizes(n, n_val, n_test)
        k = _check_int(k, "k", min_value=2)
        _check_choice(symmetry, "symmetry", COSSIM_SYMMETRIES)
        epsilon = _check_float(epsilon, "epsilon")
        seed = _check_int(seed, "seed", min_value=0)
        self.k, self.kept_symmetry, self.epsilon, self.seed = k, symmetry, epsilon, seed
        self.rep_in = f"{k}*Vector"
        self._options = {"n": n, "k": k, "symmetry": symmetry, "epsilon": epsilon, "seed": seed, "n_val": n_val,
                         "n_test": n_test}
        x = np.random.default_rng(seed).standard_normal((n, 3 * k)).astype(np.float32)
        self._finish(x, self.target(x), _split_indices(n, n_val, n_test, seed))

    def target(self, x: np.ndarray) -> np.ndarray:
        return cossim_target(np.asarray(x, dtype=np.float32).astype(np.float64), self.kept_symmetry,
                             self.epsilon).astype(np.float32)


# ---- SE(3) distance ------------------------------------------------------------------------------
SE3_VARIANTS = ("distance", "ball", "l1distance")


def se3dist_target(x: np.ndarray, variant: str = "distance", epsilon: float = -0.5) -> np.ndarray:
    """Mean cyclic distance of 3 points in homogeneous coordinates, minus ``epsilon * err``.

    Parameters
    ----------
    x : array, shape (..., 12)
        Points ``p_0, p_1, p_2`` as ``[x, y, z, 1]`` each (the fourth coordinate is not read).
    variant : {'distance', 'ball', 'l1distance'}
        ``err``: 0 (``'distance'``, exactly SE(3)-invariant), ``|p_0|`` (``'ball'``, breaks translations;
        rotations about the origin kept), ``|p_0x - p_1x|`` (``'l1distance'``, breaks rotations;
        translations kept).
    epsilon : float

    Returns
    -------
    ndarray, float64, shape (..., 1)
        ``(|p_0 - p_1| + |p_1 - p_2| + |p_2 - p_0|) / 3 - epsilon * err``.
    """
    _check_choice(variant, "variant", SE3_VARIANTS)
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] != 12:
        raise ValueError(f"x must hold 3 points in homogeneous coordinates (12 values per row); got "
                         f"{x.shape[-1]} values.")
    p = x.reshape(*x.shape[:-1], 3, 4)[..., :3]
    y = np.linalg.norm(p - np.roll(p, -1, axis=-2), axis=-1).mean(-1)
    if variant == "ball":
        y = y - epsilon * np.linalg.norm(p[..., 0, :], axis=-1)
    elif variant == "l1distance":
        y = y - epsilon * np.abs(p[..., 0, 0] - p[..., 1, 0])
    return y[..., None]


class SE3Distance(RegressionTask):
    """Mean cyclic Euclidean distance of 3 points, with a translation- or rotation-breaking term (PER).

    Points ``p_j ~ N(0, I_3)``; ``x`` (12 values) = the points in homogeneous coordinates
    ``[x, y, z, 1]``; ``y`` (1 value) = :func:`se3dist_target`. ``'distance'`` is exactly invariant
    under rigid motions (SE(3), reflections too); ``'ball'`` under rotations about the origin only;
    ``'l1distance'`` under translations only. ``rep_in`` is ``"3*Vector"``: the Vector of SE(3)
    (EMLP's convention) is the homogeneous 4-vector.

    Parameters
    ----------
    n : int, default=3000
    variant : {'distance', 'ball', 'l1distance'}, default='distance'
    epsilon : float, default=-0.5
    seed : int, default=0
    n_val, n_test : int, default=1000, 1000
    """

    name = "se3dist"
    description = "mean cyclic distance of 3 points (homogeneous coordinates); translation- or rotation-breaking term"
    rep_in = "3*Vector"  # under SE(3), a Vector is the homogeneous 4-vector [x, y, z, 1]
    rep_out = "Scalar"
    symmetry = "SE(3)"

    def __init__(self, n: int = 3000, variant: str = "distance", epsilon: float = -0.5, seed: int = 0, *,
                 n_val: int = 1000, n_test: int = 1000, root=None, download: bool = False, verify: bool = False):
        n, n_val, n_test = _check_split_sizes(n, n_val, n_test)
        _check_choice(variant, "variant", SE3_VARIANTS)
        epsilon = _check_float(epsilon, "epsilon")
        seed = _check_int(seed, "seed", min_value=0)
        self.variant, self.epsilon, self.seed = variant, epsilon, seed
        self._options = {"n": n, "variant": variant, "epsilon": epsilon, "seed": seed, "n_val": n_val,
                         "n_test": n_test}
        p = np.random.default_rng(seed).standard_normal((n, 3, 3))
        x = np.concatenate([p, np.ones((n, 3, 1))], axis=2).reshape(n, 12).astype(np.float32)
        self._finish(x, self.target(x), _split_indices(n, n_val, n_test, seed))

    def target(self, x: np.ndarray) -> np.ndarray:
        return se3dist_target(np.asarray(x, dtype=np.float32).astype(np.float64), self.variant,
                              self.epsilon).astype(np.float32)


# ---- motion: shared track handling -----------------------------------------------------------------
N_POINTS = 12          # points per track: 24 steps, every 2nd
N_PAST = 6             # input points; the other 6 are the target
CENTRES = ("past", "all")


def _track_arrays(points: np.ndarray, centre: str, scale: np.ndarray | float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, offset)`` of tracks ``points`` (N, 12, 3): centred by the mean of the past 6 points
    (``centre='past'``) or of all 12 (``'all'``), divided by ``scale``; x the first 6 points and y the
    last 6, each flattened (N, 18). ``offset`` is the subtracted mean (N, 3), before scaling."""
    offset = points[:, :N_PAST].mean(1) if centre == "past" else points.mean(1)
    pts = (points - offset[:, None, :]) / scale
    n = pts.shape[0]
    return pts[:, :N_PAST].reshape(n, 3 * N_PAST), pts[:, N_PAST:].reshape(n, 3 * (N_POINTS - N_PAST)), offset


def ade(pred: Any, y: Any) -> float:
    """Average displacement error: the mean Euclidean distance between predicted and true points.

    Parameters
    ----------
    pred, y : array-like, shape (N, 18) or (N, 6, 3)
        The 6 predicted and true future points (flattened ``[x, y, z]`` triples or not), in the
        task's units (the Waymo task's are metres divided by its ``scale``).

    Returns
    -------
    float
        Mean over samples and points of ``|pred_t - y_t|``.
    """
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if pred.shape != y.shape:
        raise ValueError(f"pred and y must have the same shape; got {pred.shape} and {y.shape}.")
    if pred.ndim == 0 or (pred.shape[-1] != 3 and pred.shape[-1] % 3) or pred.size == 0:
        raise ValueError(f"pred and y must hold 3-D points, shape (N, 3*T) or (N, T, 3); got {pred.shape}.")
    return float(np.linalg.norm((pred - y).reshape(-1, 3), axis=1).mean())


# ---- synthetic motion ----------------------------------------------------------------------------
def simulate_motion(position: np.ndarray, velocity: np.ndarray, *, gravity: float = 1.0, drag: float = 0.05,
                    restitution: float = 0.8, ground: float = -2.0, dt: float = 0.1, substeps: int = 10,
                    steps: int = 24) -> np.ndarray:
    """Positions of projectiles with gravity, linear drag and a bouncing ground plane.

    Each substep ``h = dt / substeps`` (semi-implicit Euler): ``v += h * (-gravity e_z - drag v)``,
    ``p += h v``; a point below the ground plane ``z = ground`` is put back above it,
    ``z = ground + restitution * (ground - z)``, and its vertical velocity becomes
    ``-restitution * v_z``. Linear drag is rotation-equivariant, so with ``gravity=0`` and no ground
    contact the dynamics commute with every rotation; gravity and the ground plane keep the
    rotations about ``e_z`` only.

    Parameters
    ----------
    position, velocity : array, shape (N, 3)
        Initial states.
    gravity, drag, restitution, ground, dt : float
    substeps, steps : int
        Integration substeps per step; recorded steps (the initial position included).

    Returns
    -------
    ndarray, float64, shape (N, steps, 3)
        Positions at times ``0, dt, ..., (steps - 1) dt``.
    """
    p = np.array(position, dtype=np.float64, copy=True)
    v = np.array(velocity, dtype=np.float64, copy=True)
    if p.ndim != 2 or p.shape[1] != 3 or v.shape != p.shape:
        raise ValueError(f"position and velocity must both have shape (N, 3); got {p.shape} and {v.shape}.")
    substeps = _check_int(substeps, "substeps", min_value=1)
    steps = _check_int(steps, "steps", min_value=1)
    h = float(dt) / substeps
    accel = np.array([0.0, 0.0, -float(gravity)])
    out = np.empty((p.shape[0], steps, 3))
    out[:, 0] = p
    for step in range(1, steps):
        for _ in range(substeps):
            v += h * (accel - drag * v)
            p += h * v
            below = p[:, 2] < ground
            if below.any():
                p[below, 2] = ground + restitution * (ground - p[below, 2])
                v[below, 2] = -restitution * v[below, 2]
        out[:, step] = p
    return out


class SyntheticMotion(RegressionTask):
    """Simulated 3-D tracks whose dynamics break rotation symmetry in a controlled way.

    Each track starts at ``p ~ N(0, I_3)`` (a start below the ground plane is mirrored above it) with
    velocity ``v ~ N(0, I_3)`` and follows :func:`simulate_motion` (gravity ``gravity`` along ``-e_z``,
    linear drag 0.05, ground plane ``z = -2`` with restitution 0.8, ``dt = 0.1``, 10 substeps) for
    24 steps; every 2nd step is kept (12 points, as the reference subsamples its 24-step tracks).
    ``x`` = the first 6 points, ``y`` = the last 6 (18 values each, ``[x, y, z]`` per point).
    ``gravity=0`` makes the dynamics rotation-equivariant away from the ground plane; with gravity
    only rotations about ``e_z`` (and reflections fixing ``e_z``) commute with them.

    Parameters
    ----------
    n_tracks : int, default=4000
        Tracks; a seeded permutation gives 1/6 (``n_tracks // 6``) to validation, 1/6 to test and
        the rest (4/6) to training.
    gravity : float, default=1.0
    seed : int, default=0
    centre : {'past', 'all'}, default='past'
        Every track is centred by subtracting the mean of its 6 past points (inputs only: no future
        information in ``x``). ``'all'`` subtracts the mean of all 12 points, as the reference code
        does: the future then leaks into the inputs (off by default; for reproducing reported
        numbers only).
    drag, restitution : float, default=0.05, 0.8

    Attributes
    ----------
    offset : ndarray, float64, shape (N, 3)
        The subtracted mean of each track (add it back to get the simulated positions).
    """

    name = "motion-synthetic"
    description = ("simulated 3-D tracks (gravity along -z, drag, bouncing ground): 6 future points from 6 past "
                   "points; gravity breaks rotations about x and y")
    rep_in = "6*Vector"
    rep_out = "6*Vector"
    symmetry = "O(3)"
    dt, substeps, steps, ground = 0.1, 10, 24, -2.0

    def __init__(self, n_tracks: int = 4000, gravity: float = 1.0, seed: int = 0, *, centre: str = "past",
                 drag: float = 0.05, restitution: float = 0.8, root=None, download: bool = False,
                 verify: bool = False):
        n_tracks = _check_int(n_tracks, "n_tracks", min_value=6)
        gravity = _check_float(gravity, "gravity")
        seed = _check_int(seed, "seed", min_value=0)
        _check_choice(centre, "centre", CENTRES)
        drag = _check_float(drag, "drag")
        restitution = _check_float(restitution, "restitution")
        if not 0.0 <= restitution <= 1.0:
            raise ValueError(f"restitution must lie in [0, 1]; got {restitution}.")
        self.gravity, self.seed, self.centre, self.drag, self.restitution = gravity, seed, centre, drag, restitution
        self._options = {"n_tracks": n_tracks, "gravity": gravity, "seed": seed, "centre": centre, "drag": drag,
                         "restitution": restitution}
        rng = np.random.default_rng(seed)
        p0 = rng.standard_normal((n_tracks, 3))
        v0 = rng.standard_normal((n_tracks, 3))
        p0[:, 2] = np.where(p0[:, 2] < self.ground, 2 * self.ground - p0[:, 2], p0[:, 2])
        self.tracks = self.simulate(p0, v0)[:, ::2]
        x, y, self.offset = _track_arrays(self.tracks, centre)
        n_eval = n_tracks // 6
        self._finish(x, y, _split_indices(n_tracks, n_eval, n_eval, seed))

    def simulate(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray:
        """All 24 steps (N, 24, 3) of :func:`simulate_motion` under this task's physics."""
        return simulate_motion(position, velocity, gravity=self.gravity, drag=self.drag,
                               restitution=self.restitution, ground=self.ground, dt=self.dt,
                               substeps=self.substeps, steps=self.steps)


# ---- TFRecord and tf.Example without TensorFlow --------------------------------------------------
_CRC32C_POLY = 0x82F63B78  # Castagnoli, bit-reversed
_MASK_DELTA = 0xA282EAD8


@functools.lru_cache(maxsize=1)
def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_CRC32C_POLY), table >> 1).astype(np.uint32)
    return table


@functools.lru_cache(maxsize=32)
def _zero_shift_tables(n: int) -> tuple[np.ndarray, ...]:
    """The linear map 'feed n zero bytes' on a CRC register, as 4 byte-indexed tables."""
    table = _crc_table()
    cols = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)
    for _ in range(n):
        cols = table[cols & 0xFF] ^ (cols >> 8)
    v = np.arange(256)
    tabs = []
    for byte in range(4):
        t = np.zeros(256, dtype=np.uint32)
        for bit in range(8):
            t ^= np.where((v >> bit) & 1, cols[8 * byte + bit], 0).astype(np.uint32)
        tabs.append(t)
    return tuple(tabs)


def _crc_update(state: int, data: bytes | memoryview) -> int:
    """The reflected CRC-32C register after feeding ``data`` (no final inversion)."""
    n = len(data)
    if n < 4096:
        table = _crc_table().tolist()
        for b in bytes(data):
            state = table[(state ^ b) & 0xFF] ^ (state >> 8)
        return state
    # Long input: L lanes of c bytes each run side by side in numpy (lane 0 from `state`, the others from 0);
    # the CRC is linear, so the lanes combine as state = shift_c(state) ^ lane_i, then the tail follows.
    c = 1 << max(6, (int(math.isqrt(n)) - 1).bit_length())
    lanes = n // c
    buf = np.frombuffer(data, dtype=np.uint8, count=lanes * c).reshape(lanes, c).T.astype(np.uint32)
    table = _crc_table()
    reg = np.zeros(lanes, dtype=np.uint32)
    reg[0] = state
    for j in range(c):
        reg = table[(reg ^ buf[j]) & 0xFF] ^ (reg >> 8)
    t0, t1, t2, t3 = (t.tolist() for t in _zero_shift_tables(c))
    regs = reg.tolist()
    state = regs[0]
    for r in regs[1:]:
        state = t0[state & 0xFF] ^ t1[(state >> 8) & 0xFF] ^ t2[(state >> 16) & 0xFF] ^ t3[state >> 24] ^ r
    return _crc_update(state, data[lanes * c:]) if lanes * c < n else state


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C (Castagnoli) of ``data``: ``crc32c(b"123456789") == 0xE3069283``."""
    return _crc_update(0xFFFFFFFF, memoryview(data).cast("B")) ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """The TFRecord checksum: the CRC-32C rotated right by 15 bits plus 0xA282EAD8 (mod 2^32)."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def iter_tfrecord(path: str | os.PathLike, *, hasher: Any = None) -> Iterator[bytes]:
    """The records of a TFRecord file, both checksums verified.

    A record is ``uint64 length | uint32 masked CRC-32C of the 8 length bytes | data[length] | uint32
    masked CRC-32C of data``, little endian. A truncated record or a checksum mismatch raises
    :class:`DatasetIntegrityError` naming the file and the record index. ``hasher`` (a hashlib
    object), if given, is updated with every byte read.
    """
    path = Path(path)
    with open(path, "rb") as f:
        index = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if hasher is not None:
                hasher.update(header)
            if len(header) < 12:
                raise DatasetIntegrityError(f"{path}: record {index}: truncated header ({len(header)} of 12 "
                                            f"bytes); the file is incomplete.")
            (length,), (length_crc,) = struct.unpack("<Q", header[:8]), struct.unpack("<I", header[8:])
            if masked_crc32c(header[:8]) != length_crc:
                raise DatasetIntegrityError(f"{path}: record {index}: the CRC-32C of the length field does not "
                                            f"match; the file is corrupted (not a TFRecord file, or damaged).")
            body = f.read(length + 4)
            if hasher is not None:
                hasher.update(body)
            if len(body) < length + 4:
                raise DatasetIntegrityError(f"{path}: record {index}: truncated (expected {length + 4} bytes after "
                                            f"the header, found {len(body)}); the file is incomplete.")
            data = body[:length]
            (data_crc,) = struct.unpack("<I", body[length:])
            if masked_crc32c(data) != data_crc:
                raise DatasetIntegrityError(f"{path}: record {index}: the CRC-32C of the data does not match; the "
                                            f"record is corrupted.")
            yield data
            index += 1


def _read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf: memoryview) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message; LEN values as memoryviews, fixed32
    and fixed64 as raw bytes, varints as int."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            size, pos = _read_varint(buf, pos)
            if pos + size > end:
                raise ValueError("length-delimited field runs past the end of its message")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = bytes(buf[pos:pos + 4]), pos + 4
        elif wire == 1:
            value, pos = bytes(buf[pos:pos + 8]), pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire} (field {field})")
        if pos > end:
            raise ValueError("field runs past the end of its message")
        yield field, wire, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed_varints(buf: memoryview) -> list[int]:
    arr = np.frombuffer(buf, dtype=np.uint8)
    if not (arr & 0x80).any():  # every value fits one byte (valid flags): no decoding loop
        return arr.astype(np.int64).tolist()
    out, pos = [], 0
    while pos < len(buf):
        v, pos = _read_varint(buf, pos)
        out.append(_signed64(v))
    return out


def _parse_feature(buf: memoryview) -> np.ndarray | list[bytes]:
    result: np.ndarray | list[bytes] = []
    for field, wire, value in _fields(buf):
        if wire != 2 or field not in (1, 2, 3):
            continue  # unknown field: skipped, as protobuf does
        if field == 1:  # BytesList { repeated bytes value = 1; }
            result = [bytes(v) for f, w, v in _fields(value) if f == 1 and w == 2]
        elif field == 2:  # FloatList { repeated float value = 1 [packed = true]; }
            parts = []
            for f, w, v in _fields(value):
                if f == 1 and w == 2:
                    if len(v) % 4:
                        raise ValueError("packed float list whose length is not a multiple of 4")
                    parts.append(np.frombuffer(v, dtype="<f4"))
                elif f == 1 and w == 5:
                    parts.append(np.frombuffer(v, dtype="<f4"))
            result = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        else:  # Int64List { repeated int64 value = 1 [packed = true]; }
            values: list[int] = []
            for f, w, v in _fields(value):
                if f == 1 and w == 2:
                    values.extend(_packed_varints(v))
                elif f == 1 and w == 0:
                    values.append(_signed64(v))
            result = np.asarray(values, dtype=np.int64)
    return result


def parse_example(data: bytes | memoryview, keys: Any = None) -> dict[str, np.ndarray | list[bytes]]:
    """The features of a serialized ``tf.train.Example``, read with the protobuf wire format.

    ``Example { Features features = 1; }``, ``Features { map<string, Feature> feature = 1; }`` (each
    map entry a message ``{ string key = 1; Feature value = 2; }``), ``Feature { oneof { BytesList
    bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }``, each list a repeated
    field 1, packed or not.

    Parameters
    ----------
    data : bytes
    keys : iterable of str, optional
        Only these features are decoded (the others are skipped without parsing); default all.

    Returns
    -------
    dict
        Feature name to float32 array (float_list), int64 array (int64_list) or list of bytes
        (bytes_list).
    """
    wanted = None if keys is None else set(keys)
    out: dict[str, np.ndarray | list[bytes]] = {}
    for field, wire, features in _fields(memoryview(data)):
        if field != 1 or wire != 2:
            continue
        for f, w, entry in _fields(features):
            if f != 1 or w != 2:
                continue
            key, value = None, None
            for ef, ew, ev in _fields(entry):
                if ef == 1 and ew == 2:
                    key = bytes(ev).decode("utf-8")
                elif ef == 2 and ew == 2:
                    value = ev
            if key is None or (wanted is not None and key not in wanted):
                continue
            out[key] = _parse_feature(value) if value is not None else []
    return out


# ---- Waymo Open Motion ---------------------------------------------------------------------------
WAYMO_AXES = ("x", "y", "z")
WAYMO_STEPS = {"past": 10, "current": 1}          # future: 80 in the published files (13 needed here)
WAYMO_KEYS = tuple(f"state/{part}/{k}" for part in ("past", "current", "future") for k in WAYMO_AXES + ("valid",))
WAYMO_RAW_STEPS = 24     # 10 past + current + 13 future, every 2nd kept
WAYMO_MIN_DZ = 0.05      # keep tracks with |z(p5) - z(p0)| > 0.05 ...
WAYMO_MAX_DXY = 5.0      # ... and |x(p5) - x(p0)| < 5 and |y(p5) - y(p0)| < 5


def waymo_tracks(features: dict[str, Any], where: str = "example") -> tuple[np.ndarray, np.ndarray]:
    """The 12-point tracks kept from one scenario's features, and their agent indices.

    Per agent, past (10 steps), current (1) and future (>= 13) states are joined and the first 24
    steps taken; an agent is kept if all 24 are valid and, with ``p_t`` the every-2nd-step points
    (12), ``|z(p_5) - z(p_0)| > 0.05``, ``|x(p_5) - x(p_0)| < 5`` and ``|y(p_5) - y(p_0)| < 5``.

    Returns
    -------
    points : ndarray, float64, shape (K, 12, 3)
    agents : ndarray, int64, shape (K,)
    """
    missing = [k for k in WAYMO_KEYS if k not in features]
    if missing:
        raise DatasetIntegrityError(f"{where}: missing feature(s) {', '.join(missing)}: not a Waymo Open Motion "
                                    f"tf.Example (expected {', '.join(WAYMO_KEYS)}).")
    wrong = [k for k in WAYMO_KEYS if not isinstance(features[k], np.ndarray)]
    if wrong:
        raise DatasetIntegrityError(f"{where}: feature(s) {', '.join(wrong)} hold bytes, not numbers.")
    n_agents = len(features["state/current/x"])
    if n_agents == 0:
        return np.zeros((0, N_POINTS, 3)), np.zeros(0, np.int64)
    parts_xyz, parts_valid = [], []
    for part in ("past", "current", "future"):
        arrays = []
        for k in WAYMO_AXES + ("valid",):
            a = features[f"state/{part}/{k}"]
            if a.size % n_agents:
                raise DatasetIntegrityError(f"{where}: state/{part}/{k} has {a.size} values, not a multiple of the "
                                            f"{n_agents} agents of state/current/x.")
            arrays.append(a.reshape(n_agents, -1))
        steps = {a.shape[1] for a in arrays}
        expected = WAYMO_STEPS.get(part)
        bad_future = part == "future" and min(steps) < WAYMO_RAW_STEPS - 11
        if len(steps) != 1 or (expected is not None and steps != {expected}) or bad_future:
            need = f"{expected}" if expected is not None else "at least 13"
            raise DatasetIntegrityError(f"{where}: state/{part}/* must hold {need} steps per agent for all of x, y, "
                                        f"z and valid; got {sorted(steps)}.")
        parts_xyz.append(np.stack([a.astype(np.float64) for a in arrays[:3]], axis=-1))
        parts_valid.append(arrays[3] > 0)
    xyz = np.concatenate(parts_xyz, axis=1)[:, :WAYMO_RAW_STEPS]
    valid = np.concatenate(parts_valid, axis=1)[:, :WAYMO_RAW_STEPS].all(axis=1)
    points = xyz[:, ::2]
    d = points[:, 5] - points[:, 0]
    keep = (valid & (np.abs(d[:, 2]) > WAYMO_MIN_DZ) & (np.abs(d[:, 0]) < WAYMO_MAX_DXY)
            & (np.abs(d[:, 1]) < WAYMO_MAX_DXY))
    agents = np.flatnonzero(keep).astype(np.int64)
    return points[agents], agents


class WaymoMotion(RegressionTask):
    """Agent tracks of Waymo Open Motion v1.1 (tf.Example TFRecord files), read without TensorFlow.

    Reads the published ``tf_example`` files (Waymo Open Motion Dataset v1.1,
    ``uncompressed/tf_example/{training,validation,testing}/*.tfrecord-*``). Each record is one
    scenario, a ``tf.train.Example``; the features read are (A agents, 128 in the published files,
    the count taken from ``state/current/x``):

    - ``state/past/x``, ``state/past/y``, ``state/past/z`` (float, A x 10), ``state/past/valid``
      (int64, A x 10)
    - ``state/current/x``, ``state/current/y``, ``state/current/z`` (float, A x 1),
      ``state/current/valid`` (int64, A x 1)
    - ``state/future/x``, ``state/future/y``, ``state/future/z`` (float, A x 80),
      ``state/future/valid`` (int64, A x 80)

    each flattened row-major (agent-major). Tracks follow the reference filtering
    (:func:`waymo_tracks`): the first 24 steps (10 past, current, 13 future), every 2nd step (12
    points), all 24 valid, ``|dz(p_0, p_5)| > 0.05``, ``|dx|, |dy| < 5``. They are centred as in
    :class:`SyntheticMotion` (the past mean by default) and divided by ``std`` per axis (the
    reference's "symm_aware" setting, 1.05 on all axes). Both CRCs of every record are verified.

    Files are split by file: sorted by path, the first ``n - 2m`` train, the next ``m`` validate, the
    last ``m`` test, ``m = max(1, round(n / 6))`` (4/6, 1/6, 1/6); at least 3 files are needed.

    Parameters
    ----------
    root : path, optional
        Data root; the files are every ``*.tfrecord*`` file under ``<root>/waymo-motion/`` (searched
        recursively). Default ``$BENCHMARK_DATA`` or ``~/.cache/benchmark/data``.
    files : list of paths, optional
        The TFRecord files to read instead of searching ``root``.
    centre : {'past', 'all'}, default='past'
        ``'all'`` reproduces the reference's centring by the mean of all 12 points (the future leaks
        into the inputs; off by default).
    std : float or 3 floats, default=1.05
        Per-axis divisor applied after centring (``scale`` attribute, shape (3,)).
    progress : bool, default=True
        A progress bar over files.
    download, verify
        Accepted for the registry; the files are never downloaded (Waymo's terms of use), and every
        record's checksums are always verified.

    Attributes
    ----------
    files : list of Path
    sources : ndarray, int64, shape (N, 3)
        File index, record index and agent index of each track.
    offset : ndarray, float64, shape (N, 3)
        The subtracted mean of each track, in metres.
    """

    name = "waymo-motion"
    folder_name = "waymo-motion"
    description = ("Waymo Open Motion v1.1 agent tracks (tf.Example TFRecords, on request from waymo.com/open): "
                   "6 future points from 6 past points")
    rep_in = "6*Vector"
    rep_out = "6*Vector"
    symmetry = "O(3)"

    def __init__(self, root: str | os.PathLike | None = None, files: Any = None, *, centre: str = "past",
                 std: Any = 1.05, progress: bool = True, download: bool = False, verify: bool = False):
        _check_choice(centre, "centre", CENTRES)
        scale = np.broadcast_to(np.asarray(std, dtype=np.float64), (3,)).copy() \
            if np.ndim(std) in (0, 1) and np.size(std) in (1, 3) else None
        if scale is None or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError(f"std must be a positive number or 3 positive numbers (one per axis); got {std!r}.")
        self.centre, self.scale = centre, scale
        self.files = self._find_files(root, files)
        if len(self.files) < 3:
            raise ValueError(f"{self.name}: the splits are by file (4/6 train, 1/6 val, 1/6 test), so at least 3 "
                             f"TFRecord files are needed; got {len(self.files)}.")
        points, sources, digests = [], [], []
        iterator = self.files
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(self.files, desc=self.name, unit="file")
        for fi, path in enumerate(iterator):
            hasher = hashlib.sha256()
            for ri, record in enumerate(iter_tfrecord(path, hasher=hasher)):
                where = f"{path}: record {ri}"
                try:
                    features = parse_example(record, WAYMO_KEYS)
                except ValueError as exc:
                    raise DatasetIntegrityError(f"{where}: not a valid tf.Example protobuf ({exc}).") from None
                pts, agents = waymo_tracks(features, where)
                points.append(pts)
                sources.append(np.stack([np.full_like(agents, fi), np.full_like(agents, ri), agents], axis=1))
            digests.append({"file": path.name, "size": path.stat().st_size, "sha256": hasher.hexdigest()})
        points_all = np.concatenate(points) if points else np.zeros((0, N_POINTS, 3))
        self.sources = np.concatenate(sources) if sources else np.zeros((0, 3), np.int64)
        x, y, self.offset = _track_arrays(points_all, centre, scale)
        m = max(1, round(len(self.files) / 6))
        file_split = np.zeros(len(self.files), dtype=np.int64)  # 0 train, 1 val, 2 test
        file_split[len(self.files) - 2 * m:len(self.files) - m] = 1
        file_split[len(self.files) - m:] = 2
        self.file_splits = {s: [self.files[i] for i in np.flatnonzero(file_split == k)] for k, s in enumerate(SPLITS)}
        track_split = file_split[self.sources[:, 0]]
        splits = {s: np.flatnonzero(track_split == k).astype(np.int64) for k, s in enumerate(SPLITS)}
        self._options = {"centre": centre, "std": scale.tolist(), "files": digests}
        self._finish(x, y, splits)

    @classmethod
    def _find_files(cls, root: Any, files: Any) -> list[Path]:
        folder = resolve_root(root) / cls.folder_name
        how = (f"Waymo Open Motion v1.1 cannot be downloaded automatically: register at https://waymo.com/open, "
               f"accept its terms of use, download the tf_example TFRecord files of the motion dataset v1.1 "
               f"(uncompressed/tf_example/training/training_tfexample.tfrecord-*-of-01000 ...) and put them under "
               f"{folder}/ (any sub-folders), or pass files=[...].")
        if files is not None:
            paths = [Path(p).expanduser() for p in ([files] if isinstance(files, (str, os.PathLike)) else files)]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise DatasetNotFoundError(f"{cls.name}: file(s) not found: {', '.join(missing)}. {how}")
            return sorted(paths, key=str)
        found = []
        if folder.is_dir():
            found = sorted((p for p in folder.rglob("*.tfrecord*") if p.is_file()),
                           key=lambda p: str(p.relative_to(folder)))
        if not found:
            raise DatasetNotFoundError(f"{cls.name}: no *.tfrecord* files under {folder}. {how}")
        return found

    @classmethod
    def verify_layout(cls, root: str | os.PathLike | None = None, *, progress: bool = True) -> dict[str, int]:
        """Read every record (checksums verified); returns the number of kept tracks per split."""
        ds = cls(root, progress=progress)
        return {s: len(ds.splits[s]) for s in SPLITS}
