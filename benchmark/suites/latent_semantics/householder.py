"""Householder projector for unsupervised latent-semantics discovery.

Song, Zhang, Sebe, Wang, *Householder Projector for Unsupervised Latent Semantics Discovery*,
ICCV 2023, arXiv:2307.08012.

A Householder reflection of a vector :math:`v \\neq 0` is

.. math::  H(v) = I - 2\\, v v^\\top / \\lVert v \\rVert^2 ,

symmetric, orthogonal, an involution, with determinant :math:`-1`. For
:math:`M = [m_1, \\dots, m_m] \\in \\mathbb{R}^{d \\times m}` the Householder product is

.. math::  Q(M) = H(m_1) H(m_2) \\cdots H(m_m) ,

an orthogonal :math:`d \\times d` matrix with :math:`\\det Q(M) = (-1)^m`. Convention used
throughout this module: a **zero column is the identity**, :math:`H(0) = I` (it then does not
count towards the determinant). Both :func:`householder_product` and
:func:`householder_product_blocked` implement that convention.

The projector replaces StyleGAN's style modulation :math:`s = A w + b` by

.. math::  A = Q(U_p)\\, S\\, Q(V_p), \\qquad S_{ii} = 1 \\ (i < k), \\ 0 \\text{ elsewhere},

so that :math:`A` has rank :math:`k` with unit singular values: :math:`A` is the product of the
first :math:`k` columns of :math:`Q(U_p)` and the first :math:`k` rows of :math:`Q(V_p)`, and
those rows are the discovered latent directions. :func:`sefa_directions` (Shen & Zhou, *Closed-Form
Factorization of Latent Semantics in GANs*, CVPR 2021) and :func:`random_directions` are the
baselines.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "HouseholderModulation",
    "householder_product",
    "householder_product_blocked",
    "random_directions",
    "reflections_to",
    "sefa_directions",
]


def _check_matrix(M: torch.Tensor) -> None:
    if M.dim() != 2:
        raise ValueError(f"expected a matrix (d x m), got shape {tuple(M.shape)}")


def _reflection_coefficients(M: torch.Tensor) -> torch.Tensor:
    """``2 / |m_i|^2`` for every column, and ``0`` for a zero column (``H(0) = I``).

    Written with a safe denominator so that gradients stay finite at a zero column.
    """
    nrm2 = (M * M).sum(dim=0)
    nonzero = nrm2 > 0
    safe = torch.where(nonzero, nrm2, torch.ones_like(nrm2))
    return torch.where(nonzero, 2.0 / safe, torch.zeros_like(nrm2))


def householder_product(M: torch.Tensor) -> torch.Tensor:
    """Householder product :math:`Q(M) = H(m_1) H(m_2) \\cdots H(m_m)`, applied one reflection at a time.

    Starting from :math:`Q_0 = I`, each step right-multiplies by a reflection,

    .. math::  Q_i = Q_{i-1} H(m_i) = Q_{i-1} - \\frac{2}{\\lVert m_i \\rVert^2} (Q_{i-1} m_i)\\, m_i^\\top ,

    which costs :math:`O(d^2)` per reflection, :math:`O(d^2 m)` in all. A zero column is taken
    as the identity. Differentiable in ``M``.

    Parameters
    ----------
    M : torch.Tensor
        ``(d, m)`` matrix whose columns are the (unnormalised) reflection vectors.

    Returns
    -------
    torch.Tensor
        ``(d, d)`` orthogonal matrix :math:`Q(M)`, same dtype and device as ``M``.
    """
    _check_matrix(M)
    d, m = M.shape
    coef = _reflection_coefficients(M)
    Q = torch.eye(d, dtype=M.dtype, device=M.device)
    for i in range(m):
        v = M[:, i]
        Q = Q - coef[i] * torch.outer(Q @ v, v)
    return Q


def householder_product_blocked(M: torch.Tensor, block: int = 16) -> torch.Tensor:
    """Householder product :math:`Q(M)` via the compact WY representation of each block of reflections.

    With unit vectors :math:`u_j = m_j / \\lVert m_j \\rVert` (:math:`u_j = 0` for a zero column,
    i.e. :math:`H = I`), the product of a block of reflections is kept as
    :math:`Q_\\text{block} = I - W Y^\\top`. Starting from :math:`W = 2 u_1, Y = u_1`,
    right-multiplying by :math:`H(u) = I - 2 u u^\\top` gives

    .. math::  (I - W Y^\\top)(I - 2 u u^\\top) = I - [W,\\ w]\\,[Y,\\ u]^\\top, \\qquad
               w = 2\\,(u - W (Y^\\top u)) .

    The blocks are then multiplied in order, :math:`Q \\leftarrow Q - (Q W) Y^\\top`, so the
    result equals :func:`householder_product` up to rounding, with matrix-matrix rather than
    matrix-vector work. Differentiable in ``M``.

    Parameters
    ----------
    M : torch.Tensor
        ``(d, m)`` matrix of reflection vectors.
    block : int, default 16
        Number of reflections per WY block (need not divide ``m``).

    Returns
    -------
    torch.Tensor
        ``(d, d)`` orthogonal matrix :math:`Q(M)`.
    """
    _check_matrix(M)
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    d, m = M.shape
    # unit vectors, zero for a zero column: u = m * sqrt(coef / 2)
    U = M * torch.sqrt(_reflection_coefficients(M) / 2.0)
    Q = torch.eye(d, dtype=M.dtype, device=M.device)
    for start in range(0, m, block):
        Yb = U[:, start:start + block]
        W = 2.0 * Yb[:, :1]
        for j in range(1, Yb.shape[1]):
            u = Yb[:, j]
            w = 2.0 * (u - W @ (Yb[:, :j].T @ u))
            W = torch.cat([W, w[:, None]], dim=1)
        Q = Q - (Q @ W) @ Yb.T
    return Q


def reflections_to(target: torch.Tensor) -> torch.Tensor:
    """Reflection vectors ``M`` (``d x d``, unit columns) with :math:`Q(M) = T` for an orthogonal ``T``.

    Since every :math:`H` is a symmetric involution, :math:`Q(M) = T` is equivalent to
    :math:`H(m_d) \\cdots H(m_1)\\, T = I`. Step :math:`i` acts on
    :math:`C = H(m_{i-1}) \\cdots H(m_1) T = \\operatorname{diag}(I_{i-1}, C')` and picks a
    reflection that maps the current :math:`i`-th column :math:`x` (zero in its first
    :math:`i-1` entries) to :math:`e_i`: :math:`v = x - e_i`, whose :math:`i`-th entry is computed
    without cancellation (Parlett's form, :math:`\\lVert x \\rVert = 1` up to rounding)

    .. math::  v_i = x_i - \\lVert x \\rVert = -\\frac{\\lVert x_{i+1:} \\rVert^2}{x_i + \\lVert x \\rVert}
               \\quad (x_i > 0), \\qquad v_i = x_i - \\lVert x \\rVert \\quad (x_i \\le 0).

    ``v`` is zero in entries ``< i``, so the reflection keeps :math:`e_1, \\dots, e_{i-1}`. If
    :math:`x = e_i` already (before the last step), :math:`v = e_{i+1}` is used instead: a
    non-trivial reflection that fixes :math:`e_1, \\dots, e_i`. Every step is thus a genuine
    reflection, so after :math:`d-1` steps :math:`C = \\operatorname{diag}(I_{d-1}, c)` with
    :math:`c = (-1)^{d-1} \\det T`; the last reflection :math:`H(e_d)` closes it exactly when
    :math:`c = -1`.

    **Parity.** A product of :math:`d` genuine reflections has determinant :math:`(-1)^d`, so only
    targets with :math:`\\det T = (-1)^d` are reachable; any other raises ``ValueError``. (Callers
    such as :meth:`HouseholderModulation.init_from_weight` flip the sign of a column of ``T`` that
    does not matter to them before solving.)

    Parameters
    ----------
    target : torch.Tensor
        ``(d, d)`` orthogonal matrix (computed in float64 whatever its dtype).

    Returns
    -------
    torch.Tensor
        ``(d, d)`` matrix of unit-norm reflection vectors, in ``target``'s dtype, such that
        ``householder_product(M)`` equals ``target`` to rounding.

    Raises
    ------
    ValueError
        If ``target`` is not square, not orthogonal, or has :math:`\\det T \\neq (-1)^d`.
    """
    if target.dim() != 2 or target.shape[0] != target.shape[1]:
        raise ValueError(f"target must be a square matrix, got shape {tuple(target.shape)}")
    T = target.detach().to(torch.float64)
    d = T.shape[0]
    eye = torch.eye(d, dtype=torch.float64, device=T.device)
    err = (T.T @ T - eye).abs().max().item() if d else 0.0
    if err > 1e-6:
        raise ValueError(f"target is not orthogonal (max |T^T T - I| = {err:.3g})")
    if d == 0:
        return target.new_zeros((0, 0))
    det = torch.linalg.det(T).item()
    wanted = (-1.0) ** d
    if det * wanted <= 0:
        raise ValueError(
            f"target has det {det:+.0f} but a product of d = {d} Householder reflections has det "
            f"(-1)^d = {wanted:+.0f}; flip the sign of one column of the target (one that does not "
            "matter to you) to change its parity"
        )
    C = T.clone()
    M = torch.zeros_like(T)
    for i in range(d):
        x = C[i:, i]
        rest = x[1:]
        rest2 = (rest * rest).sum()
        xn = torch.sqrt(x[0] * x[0] + rest2)
        v = torch.zeros(d, dtype=torch.float64, device=T.device)
        if i < d - 1 and rest2.item() == 0.0 and x[0].item() > 0:
            v[i + 1] = 1.0  # x == e_i: a genuine reflection fixing e_1..e_i
        else:
            if x[0].item() > 0:
                head = -rest2 / (x[0] + xn)
            else:
                head = x[0] - xn
            v[i] = head
            v[i + 1:] = rest
            v = v / torch.linalg.vector_norm(v)
        M[:, i] = v
        C = C - 2.0 * torch.outer(v, v @ C)
    return M.to(target.dtype)


def _sign_fix_rows(D: torch.Tensor) -> torch.Tensor:
    """Flip each row so that its largest-magnitude entry is positive."""
    if D.numel() == 0:
        return D
    idx = D.abs().argmax(dim=1, keepdim=True)
    sign = torch.sign(torch.gather(D, 1, idx))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return D * sign


def _fix_parity(Q: torch.Tensor, k: int) -> tuple[torch.Tensor, bool]:
    """Flip the last column of ``Q`` if needed so that ``det Q = (-1)^d``; only allowed outside the top ``k``.

    Returns the (possibly) flipped copy and whether the parity still needs fixing because no
    column outside the top ``k`` exists.
    """
    d = Q.shape[0]
    if torch.linalg.det(Q).item() * (-1.0) ** d > 0:
        return Q, False
    if d > k:
        Q = Q.clone()
        Q[:, -1] = -Q[:, -1]
        return Q, False
    return Q, True


class HouseholderModulation(nn.Module):
    """Householder projector: a drop-in for a linear style modulation ``in_dim -> out_dim``.

    .. math::  s = A w + b, \\qquad A = Q(U_p)\\, S\\, Q(V_p),

    with trainable :math:`U_p \\in \\mathbb{R}^{out \\times out}`, :math:`V_p \\in \\mathbb{R}^{in
    \\times in}` (see :func:`householder_product`) and a fixed buffer :math:`S \\in \\mathbb{R}^{out
    \\times in}`, :math:`S_{ii} = 1` for :math:`i < k` and 0 elsewhere. :math:`A` has rank
    :math:`k` and unit singular values; the first :math:`k` rows of :math:`Q(V_p)` are the
    discovered latent directions. The bias is kept (initialised to ``bias_init``, 1 as in
    StyleGAN's modulation) and no equalised-learning-rate scale is applied to :math:`A`
    (Song et al., ICCV 2023, arXiv:2307.08012).

    Parameters
    ----------
    in_dim, out_dim : int
        Latent (``w``) and style dimensions.
    k : int, default 10
        Number of directions (rank of ``A``); ``k <= min(in_dim, out_dim)``.
    bias_init : float, default 1.0
        Initial value of every bias entry.
    init_std : float, default 0.05
        Standard deviation of the Gaussian initialisation of ``U_p`` and ``V_p``.
    blocked : bool, default True
        Use :func:`householder_product_blocked` (else :func:`householder_product`).
    """

    def __init__(self, in_dim: int, out_dim: int, k: int = 10, bias_init: float = 1.0,
                 init_std: float = 0.05, blocked: bool = True):
        super().__init__()
        if not 1 <= k <= min(in_dim, out_dim):
            raise ValueError(f"k must satisfy 1 <= k <= min(in_dim, out_dim) = {min(in_dim, out_dim)}, got {k}")
        self.in_dim, self.out_dim, self.k, self.blocked = in_dim, out_dim, k, blocked
        self.U_p = nn.Parameter(torch.randn(out_dim, out_dim) * init_std)
        self.V_p = nn.Parameter(torch.randn(in_dim, in_dim) * init_std)
        S = torch.zeros(out_dim, in_dim)
        S[torch.arange(k), torch.arange(k)] = 1.0
        self.register_buffer("S", S)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, k={self.k}, blocked={self.blocked}"

    def _q(self, M: torch.Tensor) -> torch.Tensor:
        return householder_product_blocked(M) if self.blocked else householder_product(M)

    def weight(self) -> torch.Tensor:
        """The modulation matrix :math:`A = Q(U_p) S Q(V_p)`, shape ``(out_dim, in_dim)``."""
        return self._q(self.U_p) @ self.S @ self._q(self.V_p)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """Styles :math:`s = w A^\\top + b` for latents ``w`` of shape ``(..., in_dim)``."""
        return w @ self.weight().T + self.bias

    def directions(self) -> torch.Tensor:
        """The discovered directions: the first ``k`` rows of :math:`Q(V_p)`, shape ``(k, in_dim)``, orthonormal."""
        return self._q(self.V_p)[: self.k]

    @torch.no_grad()
    def init_from_weight(self, W0: torch.Tensor, b0: torch.Tensor | None = None) -> None:
        """Initialise the projector from a pretrained modulation weight ``W0`` (``out_dim x in_dim``).

        With the full SVD :math:`W_0 = U_0 \\operatorname{diag}(s) V_0^\\top` (float64), ``U_p`` and
        ``V_p`` are set by :func:`reflections_to` so that :math:`Q(U_p) = U_0'` and
        :math:`Q(V_p) = V_0'^\\top` (the rows of :math:`Q(V_p)` are the right singular vectors).
        :math:`U_0'`, :math:`V_0'` equal :math:`U_0`, :math:`V_0` except that, when
        :math:`\\det \\neq (-1)^{\\text{dim}}`, the sign of the last singular vector (outside the
        top ``k``, so :math:`A` is unchanged) is flipped. If a side has no vector outside the
        top ``k`` (``k`` equals its dimension), the ``k``-th left and right singular vectors are
        flipped together (which also leaves :math:`A` unchanged) and the other side is fixed by
        its last vector; if neither side has room a ``ValueError`` is raised.

        The top-``k`` left/right singular subspaces of :math:`A` then equal those of
        :math:`W_0`, but :math:`A = U_{0,k} V_{0,k}^\\top` has unit singular values: as in the
        reference implementation, :math:`\\Sigma` is discarded.

        Parameters
        ----------
        W0 : torch.Tensor
            ``(out_dim, in_dim)`` pretrained weight.
        b0 : torch.Tensor, optional
            ``(out_dim,)`` pretrained bias, copied into ``bias`` when given.
        """
        if tuple(W0.shape) != (self.out_dim, self.in_dim):
            raise ValueError(f"W0 must have shape {(self.out_dim, self.in_dim)}, got {tuple(W0.shape)}")
        U0, _, Vh0 = torch.linalg.svd(W0.detach().to(torch.float64), full_matrices=True)
        k = self.k
        U0, u_stuck = _fix_parity(U0, k)
        Vt, _ = _fix_parity(Vh0.T, k)  # columns of V0
        if u_stuck:
            # out_dim == k: flip the k-th singular pair together, then re-fix the V side
            U0 = U0.clone()
            U0[:, k - 1] = -U0[:, k - 1]
            Vt = Vt.clone()
            Vt[:, k - 1] = -Vt[:, k - 1]
            Vt, v_stuck = _fix_parity(Vt, k)
            if v_stuck:
                raise ValueError("W0 cannot be represented: in_dim == out_dim == k and the polar factor of W0 "
                                 "has det -1, while Q(U_p) Q(V_p) always has det +1")
        else:
            Vt, v_stuck = _fix_parity(Vt, k)
            if v_stuck:
                # in_dim == k: flip the k-th pair, then fix U on its last column (out_dim > k here)
                Vt = Vt.clone()
                Vt[:, k - 1] = -Vt[:, k - 1]
                U0 = U0.clone()
                U0[:, k - 1] = -U0[:, k - 1]
                U0, u_stuck = _fix_parity(U0, k)
                if u_stuck:  # pragma: no cover - out_dim > k was established above
                    raise ValueError("W0 cannot be represented with this k")
        self.U_p.copy_(reflections_to(U0).to(self.U_p))
        self.V_p.copy_(reflections_to(Vt.T.contiguous()).to(self.V_p))
        if b0 is not None:
            self.bias.copy_(b0.detach().reshape(self.out_dim).to(self.bias))


def sefa_directions(W: torch.Tensor, k: int = 10) -> torch.Tensor:
    """SeFa directions: the top-``k`` eigenvectors of :math:`W^\\top W`.

    Shen & Zhou, *Closed-Form Factorization of Latent Semantics in GANs*, CVPR 2021: the
    directions :math:`n` maximising :math:`\\lVert W n \\rVert^2` subject to
    :math:`\\lVert n \\rVert = 1` are the eigenvectors of :math:`W^\\top W` with the largest
    eigenvalues (computed in float64 with ``eigh``).

    Parameters
    ----------
    W : torch.Tensor
        ``(out_dim, in_dim)`` modulation weight.
    k : int, default 10
        Number of directions, ``k <= in_dim``.

    Returns
    -------
    torch.Tensor
        ``(k, in_dim)`` unit rows in decreasing eigenvalue order, each signed so that its
        largest-magnitude entry is positive; ``W``'s dtype.
    """
    _check_matrix(W)
    if not 1 <= k <= W.shape[1]:
        raise ValueError(f"k must satisfy 1 <= k <= in_dim = {W.shape[1]}, got {k}")
    W64 = W.detach().to(torch.float64)
    _, vecs = torch.linalg.eigh(W64.T @ W64)  # ascending eigenvalues
    D = vecs[:, -k:].flip(dims=[1]).T
    return _sign_fix_rows(D).to(W.dtype)


def random_directions(in_dim: int, k: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``k`` random orthonormal directions: the rows of the Q factor of a seeded Gaussian matrix.

    Parameters
    ----------
    in_dim : int
        Latent dimension.
    k : int
        Number of directions, ``k <= in_dim``.
    seed : int
        Seed of the private generator (the global RNG is untouched).
    dtype : torch.dtype, default float64
        Output dtype.

    Returns
    -------
    torch.Tensor
        ``(k, in_dim)`` orthonormal rows, each signed so that its largest-magnitude entry is
        positive; identical for identical arguments.
    """
    if not 1 <= k <= in_dim:
        raise ValueError(f"k must satisfy 1 <= k <= in_dim = {in_dim}, got {k}")
    gen = torch.Generator().manual_seed(int(seed))
    G = torch.randn(in_dim, k, generator=gen, dtype=torch.float64)
    Q, _ = torch.linalg.qr(G)
    return _sign_fix_rows(Q.T.contiguous()).to(dtype)
