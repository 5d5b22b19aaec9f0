"""Tensor representations of a matrix group and the subspace of equivariant linear maps between them.

After Finzi, Welling and Wilson, "A Practical Method for Constructing Equivariant Multilayer Perceptrons for
Arbitrary Matrix Groups", ICML 2021 (arXiv:2104.09459), as used by PER (Kim et al., "Regularizing Towards Soft
Equivariance Under Mixed Symmetries", ICML 2023).

Representations
---------------
The base representation is the vector representation V of a :class:`~.groups.Group` acting on R^d,
:math:`\\rho_V(g) = g`, with Lie algebra action :math:`d\\rho_V(A) = A`. Its dual is
:math:`\\rho_{V^*}(g) = (g^{-1})^\\top`, :math:`d\\rho_{V^*}(A) = -A^\\top` (needed for groups that are not orthogonal,
e.g. scalings and SE(3); for orthogonal groups V* = V). A :class:`TensorType` ``(p, q)`` is
:math:`V^{\\otimes p} \\otimes V^{*\\otimes q}` with rank p + q <= 2 (covariant factors first), so

.. math:: \\rho_{(p,q)}(g) = g^{\\otimes p} \\otimes g^{-\\top \\otimes q}, \\qquad
          d\\rho_{(p,q)}(A) = \\sum_{k} I \\otimes \\dots \\otimes F_k \\otimes \\dots \\otimes I

with :math:`F_k = A` on the covariant and :math:`-A^\\top` on the dual factors (for V (x) V:
:math:`A \\otimes I + I \\otimes A`). A :class:`Rep` is an ordered direct sum of tensor types with multiplicities;
its :math:`\\rho` and :math:`d\\rho` are block diagonal.

Equivariant maps
----------------
A linear map W: rep_in -> rep_out (shape (size_out, size_in)) is equivariant iff for every Lie algebra generator A
and every discrete generator h of the group

.. math:: d\\rho_{out}(A) W - W d\\rho_{in}(A) = 0, \\qquad \\rho_{out}(h) W \\rho_{in}(h^{-1}) - W = 0,

i.e., on the row-major vectorisation vec(W) = ``W.reshape(-1)`` (for which :math:`vec(AWB) = (A \\otimes B^\\top)
vec(W)`),

.. math:: (d\\rho_{out}(A) \\otimes I - I \\otimes d\\rho_{in}(A)^\\top)\\, vec(W) = 0, \\qquad
          (\\rho_{out}(h) \\otimes \\rho_{in}(h^{-1})^\\top - I)\\, vec(W) = 0

(Finzi et al. 2021, section 4: the equivariant maps are the fixed points of :math:`\\rho_{out} \\otimes
\\rho_{in}^*`). The solution space is the nullspace of the stacked constraints, found by an SVD in float64.

Because both :math:`\\rho` are block diagonal, the constraints decouple over the blocks of W between one copy of a
type of rep_out and one copy of a type of rep_in, and a block's solution space depends only on
(group, type_out, type_in): :func:`block_basis` solves that small problem (at most 81 unknowns) once and caches it;
:class:`LinearProjector` applies the orthogonal projector :math:`P = Q Q^\\top` to all blocks of a weight matrix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import block_diag
from torch import nn

from benchmark.suites.equivariance.groups import Group

__all__ = ["MAX_RANK", "TensorType", "Rep", "Scalar", "Vector", "T", "uniform_rep", "block_basis",
           "LinearProjector", "projector", "equivariant_basis", "clear_caches"]

MAX_RANK = 3  # EMLP's hidden layers use ranks up to 3 at width 128 (r d^r <= ch)
"""The highest tensor rank a :class:`Rep` may hold (the layers need scalars, vectors and rank-2 tensors)."""

NULLSPACE_RTOL = 1e-7
"""Singular values below ``NULLSPACE_RTOL * max(s_max, 1)`` of the (normalised) constraint matrix count as zero."""

_DENSE_MAX_ENTRIES = 8192  # dense (n, n) matrices over vec(W) are built only for n up to this


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@dataclass(frozen=True)
class TensorType:
    """The tensor type :math:`V^{\\otimes p} \\otimes V^{*\\otimes q}`, rank ``p + q <= MAX_RANK``.

    ``TensorType(0, 0)`` is the scalar, ``(1, 0)`` the vector V, ``(0, 1)`` its dual V*, ``(2, 0)`` V (x) V and
    ``(1, 1)`` V (x) V* (linear maps V -> V).
    """

    p: int = 0
    q: int = 0

    def __post_init__(self):
        if not (_is_int(self.p) and _is_int(self.q)) or self.p < 0 or self.q < 0:
            raise ValueError(f"a tensor type needs non-negative integer (p, q); got ({self.p!r}, {self.q!r})")
        if self.p + self.q > MAX_RANK:
            raise ValueError(f"tensor rank {self.p + self.q} (p={self.p}, q={self.q}) exceeds the supported "
                             f"maximum rank {MAX_RANK}")

    @property
    def rank(self) -> int:
        return self.p + self.q

    @property
    def dual(self) -> "TensorType":
        return TensorType(self.q, self.p)

    def size(self, d: int) -> int:
        return d ** self.rank

    def rho(self, g: np.ndarray, g_inv: np.ndarray | None = None) -> np.ndarray:
        """:math:`g^{\\otimes p} \\otimes (g^{-1})^{\\top \\otimes q}`, shape (d^r, d^r)."""
        out = np.ones((1, 1))
        for _ in range(self.p):
            out = np.kron(out, g)
        if self.q:
            g_inv_t = (np.linalg.inv(g) if g_inv is None else g_inv).T
            for _ in range(self.q):
                out = np.kron(out, g_inv_t)
        return out

    def drho(self, A: np.ndarray) -> np.ndarray:
        """:math:`\\sum_k I \\otimes \\dots \\otimes F_k \\otimes \\dots \\otimes I`, F_k = A (covariant) or -A^T."""
        d = A.shape[0]
        factors = [A] * self.p + [-A.T] * self.q
        out = np.zeros((self.size(d), self.size(d)))
        for k, f in enumerate(factors):
            term = np.ones((1, 1))
            for j in range(self.rank):
                term = np.kron(term, f if j == k else np.eye(d))
            out += term
        return out

    def __str__(self) -> str:
        if self.rank == 0:
            return "Scalar"
        return "⊗".join(["V"] * self.p + ["V*"] * self.q)

    @property
    def key(self) -> str:
        return f"T({self.p},{self.q})"


def _as_type(t) -> TensorType:
    if isinstance(t, TensorType):
        return t
    try:
        p, q = t
    except (TypeError, ValueError):
        raise ValueError(f"expected a TensorType or a (p, q) pair; got {t!r}") from None
    return TensorType(p, q)


def _check_matrix(m, what: str) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{what} must be a square (d, d) matrix; got shape {m.shape}")
    return m


class Rep:
    """An ordered direct sum of tensor types with multiplicities, e.g. ``2*Scalar + Vector + T(2)``.

    Parameters
    ----------
    parts : sequence of (int, TensorType)
        ``(multiplicity, type)`` pairs, in order. Adjacent parts of the same type are merged; multiplicities must
        be positive and ranks at most :data:`MAX_RANK`.

    Notes
    -----
    Algebra: ``rep1 + rep2`` is the direct sum (parts concatenated), ``n * rep`` repeats the parts' multiplicities,
    ``rep1 * rep2`` the tensor product (distributed over the parts; :math:`(p_1,q_1) \\otimes (p_2,q_2) =
    (p_1+p_2, q_1+q_2)` with covariant factors reordered first, an isomorphic rep; a product of rank above
    :data:`MAX_RANK` raises ValueError) and ``rep.T`` the dual.
    """

    def __init__(self, parts):
        merged: list[tuple[int, TensorType]] = []
        for part in parts:
            try:
                mult, t = part
            except (TypeError, ValueError):
                raise ValueError(f"a Rep part is a (multiplicity, type) pair; got {part!r}") from None
            if not _is_int(mult) or mult < 1:
                raise ValueError(f"multiplicities must be positive integers; got {mult!r}")
            t = _as_type(t)
            if merged and merged[-1][1] == t:
                merged[-1] = (merged[-1][0] + int(mult), t)
            else:
                merged.append((int(mult), t))
        if not merged:
            raise ValueError("a Rep needs at least one part")
        self.parts: tuple[tuple[int, TensorType], ...] = tuple(merged)
        self.key: str = "+".join(f"{m}*{t.key}" for m, t in self.parts)

    # -- structure -------------------------------------------------------------------------------------------------
    def size(self, d: int) -> int:
        """The dimension of the representation space when the group acts on R^d."""
        return sum(m * t.size(d) for m, t in self.parts)

    @property
    def max_rank(self) -> int:
        return max(t.rank for _, t in self.parts)

    def copies(self, d: int) -> list[tuple[int, TensorType]]:
        """``(offset, type)`` of every copy of every part, in order."""
        out, offset = [], 0
        for m, t in self.parts:
            for _ in range(m):
                out.append((offset, t))
                offset += t.size(d)
        return out

    def rho(self, g: np.ndarray) -> np.ndarray:
        """The block-diagonal group action :math:`\\rho(g)`, shape (size, size), for g of shape (d, d)."""
        g = _check_matrix(g, "g")
        g_inv = np.linalg.inv(g) if any(t.q for _, t in self.parts) else None
        return block_diag(*[t.rho(g, g_inv) for m, t in self.parts for _ in range(m)])

    def drho(self, A: np.ndarray) -> np.ndarray:
        """The block-diagonal Lie algebra action :math:`d\\rho(A)`, shape (size, size), for A of shape (d, d)."""
        A = _check_matrix(A, "A")
        return block_diag(*[t.drho(A) for m, t in self.parts for _ in range(m)])

    # -- algebra ---------------------------------------------------------------------------------------------------
    @property
    def T(self) -> "Rep":
        """The dual representation (each type (p, q) becomes (q, p))."""
        return Rep([(m, t.dual) for m, t in self.parts])

    def __add__(self, other):
        if not isinstance(other, Rep):
            return NotImplemented
        return Rep(self.parts + other.parts)

    def __radd__(self, other):
        if _is_int(other) and other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    def __mul__(self, other):
        if _is_int(other):
            if other < 1:
                raise ValueError(f"a Rep can only be repeated a positive number of times; got {other}")
            return Rep([(m * int(other), t) for m, t in self.parts])
        if isinstance(other, Rep):
            parts = []
            for m1, t1 in self.parts:
                for m2, t2 in other.parts:
                    rank = t1.rank + t2.rank
                    if rank > MAX_RANK:
                        raise ValueError(f"the tensor product {t1} ⊗ {t2} has rank {rank}; Rep supports ranks up "
                                         f"to {MAX_RANK}")
                    parts.append((m1 * m2, TensorType(t1.p + t2.p, t1.q + t2.q)))
            return Rep(parts)
        return NotImplemented

    def __rmul__(self, other):
        if _is_int(other):
            return self.__mul__(other)
        return NotImplemented

    def __eq__(self, other) -> bool:
        if not isinstance(other, Rep):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(("Rep", self.key))

    def __repr__(self) -> str:
        return "+".join(str(t) if m == 1 else f"{m}*{t}" for m, t in self.parts)


def T(p: int, q: int = 0) -> Rep:
    """The rep of one tensor type :math:`V^{\\otimes p} \\otimes V^{*\\otimes q}` (``T(2)`` is V (x) V)."""
    return Rep([(1, TensorType(p, q))])


Scalar = T(0)
Vector = T(1)


def uniform_rep(ch: int, max_rank: int = 2, d: int = 3) -> Rep:
    """About ``ch`` dimensions split evenly over the ranks 0..max_rank.

    Rank r gets :math:`n_r = \\max(1, \\mathrm{round}(ch / ((max\\_rank + 1) d^r)))` copies of
    :math:`V^{\\otimes r}` (e.g. ch=128, d=3: 43 scalars, 14 vectors, 5 rank-2 tensors, 130 dimensions).
    """
    if not _is_int(ch) or ch < 1:
        raise ValueError(f"ch must be a positive integer; got {ch!r}")
    if not _is_int(max_rank) or not 0 <= max_rank <= MAX_RANK:
        raise ValueError(f"max_rank must be an integer in [0, {MAX_RANK}]; got {max_rank!r}")
    if not _is_int(d) or d < 1:
        raise ValueError(f"d must be a positive integer; got {d!r}")
    return Rep([(max(1, round(ch / ((max_rank + 1) * d ** r))), TensorType(r, 0)) for r in range(max_rank + 1)])


# -- solving --------------------------------------------------------------------------------------------------------
def _check_group_rep(group, rep_in, rep_out):
    if not isinstance(group, Group):
        raise ValueError(f"expected a Group; got {type(group).__name__}")
    for rep, what in ((rep_in, "rep_in"), (rep_out, "rep_out")):
        if not isinstance(rep, Rep):
            raise ValueError(f"{what} must be a Rep; got {type(rep).__name__}")


def _constraint_matrix(group: Group, rep_in: Rep, rep_out: Rep) -> np.ndarray:
    """The stacked constraints on row-major vec(W), each generator's block scaled to operator norm <= ~1.

    Lie generator A: :math:`d\\rho_{out}(A) \\otimes I - I \\otimes d\\rho_{in}(A)^\\top`;
    discrete generator h: :math:`\\rho_{out}(h) \\otimes \\rho_{in}(h^{-1})^\\top - I`.
    The scaling (by the sum of the two terms' spectral norms) makes the nullspace tolerance independent of the
    generators' scale.
    """
    n_in, n_out = rep_in.size(group.d), rep_out.size(group.d)
    eye_in, eye_out = np.eye(n_in), np.eye(n_out)
    blocks = []
    for A in group.lie_algebra:
        d_out, d_in = rep_out.drho(A), rep_in.drho(A)
        scale = np.linalg.norm(d_out, 2) + np.linalg.norm(d_in, 2)
        if scale > 0:
            blocks.append((np.kron(d_out, eye_in) - np.kron(eye_out, d_in.T)) / scale)
    for h in group.discrete_generators:
        r_out, r_in_inv = rep_out.rho(h), rep_in.rho(np.linalg.inv(h))
        scale = np.linalg.norm(r_out, 2) * np.linalg.norm(r_in_inv, 2) + 1.0
        blocks.append((np.kron(r_out, r_in_inv.T) - np.eye(n_out * n_in)) / scale)
    if not blocks:
        return np.zeros((0, n_out * n_in))
    return np.concatenate(blocks, axis=0)


def _nullspace(C: np.ndarray) -> np.ndarray:
    """Orthonormal basis (n, r) of the nullspace of C (m, n), by an SVD in float64."""
    m, n = C.shape
    if m == 0:
        return np.eye(n)
    _, s, vh = np.linalg.svd(C, full_matrices=m < n)  # vh is (n, n) either way
    tol = NULLSPACE_RTOL * max(float(s.max()) if s.size else 0.0, 1.0)
    rank = int(np.sum(s > tol))
    return np.ascontiguousarray(vh[rank:].T)


def _solve(group: Group, rep_in: Rep, rep_out: Rep) -> np.ndarray:
    Q = _nullspace(_constraint_matrix(group, rep_in, rep_out))
    Q.setflags(write=False)
    return Q


@functools.lru_cache(maxsize=None)
def _block_basis_cached(group: Group, type_out: TensorType, type_in: TensorType) -> np.ndarray:
    # keyed by (group, type_out, type_in); a Group hashes and compares by its name
    return _solve(group, Rep([(1, type_in)]), Rep([(1, type_out)]))


def block_basis(group: Group, type_out, type_in) -> np.ndarray:
    """Orthonormal basis Q, shape (s_out * s_in, r), of the equivariant maps from one type to another.

    Parameters
    ----------
    group : Group
    type_out, type_in : TensorType or (p, q)
        The block's output and input tensor types; s = d^rank.

    Returns
    -------
    numpy.ndarray
        Read-only float64 array whose columns span the nullspace of the constraints (module docstring) on the
        row-major vec of an (s_out, s_in) block. Cached per (group.name, type_out, type_in);
        ``block_basis.cache_info()`` reports the cache.
    """
    if not isinstance(group, Group):
        raise ValueError(f"expected a Group; got {type(group).__name__}")
    return _block_basis_cached(group, _as_type(type_out), _as_type(type_in))


block_basis.cache_info = _block_basis_cached.cache_info
block_basis.cache_clear = _block_basis_cached.cache_clear


class _Plan:
    """Blockwise projection plan for maps rep_in -> rep_out: per (type_out, type_in) pair, the flat row-major
    indices of all its blocks (n_blocks, s_out * s_in) and the block projector P = Q Q^T; plus the inverse of the
    permutation that concatenates all pairs' blocks."""

    def __init__(self, group: Group, rep_in: Rep, rep_out: Rep):
        d = group.d
        self.n_in, self.n_out = rep_in.size(d), rep_out.size(d)
        out_by_type: dict[TensorType, list[int]] = {}
        in_by_type: dict[TensorType, list[int]] = {}
        for off, t in rep_out.copies(d):
            out_by_type.setdefault(t, []).append(off)
        for off, t in rep_in.copies(d):
            in_by_type.setdefault(t, []).append(off)
        self.pairs: list[tuple[TensorType, TensorType, np.ndarray, np.ndarray, int]] = []
        for t_out, offs_out in out_by_type.items():
            for t_in, offs_in in in_by_type.items():
                s_out, s_in = t_out.size(d), t_in.size(d)
                rows = np.asarray(offs_out)[:, None, None, None] + np.arange(s_out)[None, None, :, None]
                cols = np.asarray(offs_in)[None, :, None, None] + np.arange(s_in)[None, None, None, :]
                idx = (rows * self.n_in + cols).reshape(len(offs_out) * len(offs_in), s_out * s_in)
                Q = block_basis(group, t_out, t_in)
                self.pairs.append((t_out, t_in, idx.astype(np.int64), Q @ Q.T, Q.shape[1]))
        perm = np.concatenate([idx.ravel() for _, _, idx, _, _ in self.pairs])
        n = self.n_out * self.n_in
        if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
            raise RuntimeError("internal error: the blocks do not tile the weight matrix")
        self.inverse = np.empty(n, dtype=np.int64)
        self.inverse[perm] = np.arange(n)
        self.basis_dim = sum(idx.shape[0] * r for _, _, idx, _, r in self.pairs)

    def dense(self) -> np.ndarray:
        n = self.n_out * self.n_in
        if n > _DENSE_MAX_ENTRIES:
            raise ValueError(f"the dense projector over {n} weights is too large (limit {_DENSE_MAX_ENTRIES})")
        out = np.zeros((n, n))
        for _, _, idx, P, _ in self.pairs:
            out[idx[:, :, None], idx[:, None, :]] = P[None]
        return out


class LinearProjector(nn.Module):
    """Orthogonal projection of weight matrices (and biases) onto the equivariant maps rep_in -> rep_out.

    The weight space is the direct sum of the blocks between each copy of a type of rep_out and each copy of a
    type of rep_in; the projector is :math:`P = Q Q^\\top` with Q = :func:`block_basis` of the block's type pair,
    applied to every block's row-major vec (so P is symmetric and idempotent, and its image is the nullspace of the
    constraints of the module docstring, Finzi et al. 2021, arXiv:2104.09459). A bias is a map Scalar -> rep_out.

    Index tensors and block projectors are (non-persistent) buffers, so ``.to(device)`` moves them; a call with a
    tensor on another device or of another dtype also works (the small buffers are converted on the fly). The
    projection is vectorised: per type pair one gather of all its blocks, one matmul with that pair's P, and one
    final gather that puts every entry back.

    Parameters
    ----------
    group : Group
    rep_in, rep_out : Rep

    Attributes
    ----------
    basis_dim : int
        Dimension of the equivariant weight space.
    bias_basis_dim : int
        Dimension of the equivariant bias space (invariant vectors of rep_out).
    """

    def __init__(self, group: Group, rep_in: Rep, rep_out: Rep):
        super().__init__()
        _check_group_rep(group, rep_in, rep_out)
        self.group, self.rep_in, self.rep_out = group, rep_in, rep_out
        self.size_in, self.size_out = rep_in.size(group.d), rep_out.size(group.d)
        self._weight_plan = _Plan(group, rep_in, rep_out)
        self._bias_plan = _Plan(group, Scalar, rep_out)
        self.basis_dim: int = self._weight_plan.basis_dim
        self.bias_basis_dim: int = self._bias_plan.basis_dim
        self._layout = {"w": self._register(self._weight_plan, "w"), "b": self._register(self._bias_plan, "b")}

    def _register(self, plan: _Plan, prefix: str) -> list[tuple[str, str | None, int, int]]:
        layout = []
        for k, (_, _, idx, P, r) in enumerate(plan.pairs):
            idx_name = f"_{prefix}_idx{k}"
            self.register_buffer(idx_name, torch.from_numpy(idx.copy()), persistent=False)
            p_name = None
            if r > 0:
                p_name = f"_{prefix}_P{k}"
                self.register_buffer(p_name, torch.from_numpy(np.array(P)), persistent=False)
            layout.append((idx_name, p_name, idx.shape[0], idx.shape[1]))
        self.register_buffer(f"_{prefix}_inverse", torch.from_numpy(plan.inverse.copy()), persistent=False)
        return layout

    def _project(self, prefix: str, W: torch.Tensor) -> torch.Tensor:
        batch = W.shape[:-2]
        flat = W.reshape(*batch, W.shape[-2] * W.shape[-1])
        pieces = []
        for idx_name, p_name, n_blocks, s in self._layout[prefix]:
            if p_name is None:
                pieces.append(flat.new_zeros(*batch, n_blocks * s))
                continue
            idx = getattr(self, idx_name).to(flat.device)
            P = getattr(self, p_name).to(device=flat.device, dtype=flat.dtype)
            pieces.append((flat[..., idx] @ P).reshape(*batch, n_blocks * s))  # P is symmetric
        inverse = getattr(self, f"_{prefix}_inverse").to(flat.device)
        return torch.cat(pieces, dim=-1)[..., inverse].reshape(W.shape)

    def project_weight(self, W: torch.Tensor) -> torch.Tensor:
        """P applied to W of shape (..., size_out, size_in); differentiable, same shape, device and dtype."""
        if not torch.is_tensor(W) or W.dim() < 2 or tuple(W.shape[-2:]) != (self.size_out, self.size_in):
            raise ValueError(f"expected a weight tensor of shape (..., {self.size_out}, {self.size_in}); got "
                             f"{tuple(W.shape) if torch.is_tensor(W) else type(W).__name__}")
        return self._project("w", W)

    def project_bias(self, b: torch.Tensor) -> torch.Tensor:
        """Projection of a bias of shape (..., size_out) onto the invariant vectors of rep_out (maps Scalar -> out)."""
        if not torch.is_tensor(b) or b.dim() < 1 or b.shape[-1] != self.size_out:
            raise ValueError(f"expected a bias tensor of shape (..., {self.size_out}); got "
                             f"{tuple(b.shape) if torch.is_tensor(b) else type(b).__name__}")
        return self._project("b", b.unsqueeze(-1)).squeeze(-1)

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        return self.project_weight(W)

    def dense_matrix(self) -> np.ndarray:
        """The full (n, n) projector on row-major vec(W), n = size_out * size_in (small reps and tests only)."""
        return self._weight_plan.dense()

    def dense_bias_matrix(self) -> np.ndarray:
        """The (size_out, size_out) projector onto the invariant vectors of rep_out."""
        return self._bias_plan.dense()

    def extra_repr(self) -> str:
        return (f"group={self.group.name}, rep_in={self.rep_in!r}, rep_out={self.rep_out!r}, "
                f"basis_dim={self.basis_dim}")


@functools.lru_cache(maxsize=None)
def _projector_cached(group: Group, rep_in: Rep, rep_out: Rep) -> LinearProjector:
    # keyed by (group.name, rep_in.key, rep_out.key) through Group/Rep equality
    return LinearProjector(group, rep_in, rep_out)


def projector(group: Group, rep_in: Rep, rep_out: Rep) -> LinearProjector:
    """The (shared, cached) :class:`LinearProjector` for maps rep_in -> rep_out under ``group``.

    Cached per (group.name, rep_in.key, rep_out.key): a second call returns the same object. Since it is shared,
    moving it with ``.to(device)`` moves it for every user; calls with tensors on any device still work.
    """
    _check_group_rep(group, rep_in, rep_out)
    return _projector_cached(group, rep_in, rep_out)


projector.cache_info = _projector_cached.cache_info
projector.cache_clear = _projector_cached.cache_clear


@functools.lru_cache(maxsize=None)
def _equivariant_basis_cached(group: Group, rep_in: Rep, rep_out: Rep) -> np.ndarray:
    return _solve(group, rep_in, rep_out)


def equivariant_basis(group: Group, rep_in: Rep, rep_out: Rep) -> np.ndarray:
    """Orthonormal basis (n, r), n = size_out * size_in, of the equivariant maps rep_in -> rep_out on row-major
    vec(W), solved directly on the whole map (not blockwise): the nullspace of

    .. math:: (d\\rho_{out}(A) \\otimes I - I \\otimes d\\rho_{in}(A)^\\top), \\quad
              (\\rho_{out}(h) \\otimes \\rho_{in}(h^{-1})^\\top - I)

    stacked over the group's generators (Finzi et al. 2021, arXiv:2104.09459). For small reps and tests; cached.
    """
    _check_group_rep(group, rep_in, rep_out)
    n = rep_in.size(group.d) * rep_out.size(group.d)
    if n > _DENSE_MAX_ENTRIES:
        raise ValueError(f"the dense solve over {n} weights is too large (limit {_DENSE_MAX_ENTRIES}); "
                         "use projector() for large reps")
    return _equivariant_basis_cached(group, rep_in, rep_out)


def clear_caches() -> None:
    """Empty the block-basis, projector and dense-basis caches."""
    _block_basis_cached.cache_clear()
    _projector_cached.cache_clear()
    _equivariant_basis_cached.cache_clear()
