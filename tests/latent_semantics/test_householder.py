"""The Householder projector (Song et al., ICCV 2023): orthogonal Householder products, the blocked WY form,
exact reflections for a target, the modulation's SVD initialisation, and the SeFa / random baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.suites.latent_semantics.householder import (
    HouseholderModulation,
    householder_product,
    householder_product_blocked,
    random_directions,
    reflections_to,
    sefa_directions,
)

F64 = torch.float64


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _random_orthogonal(d, seed):
    Q, R = torch.linalg.qr(_randn(d, d, seed=seed))
    return Q * torch.sign(torch.diagonal(R))


def _with_det(T, sign):
    if torch.linalg.det(T).item() * sign < 0:
        T = T.clone()
        T[:, -1] = -T[:, -1]
    return T


def _max_abs(x):
    return x.abs().max().item() if x.numel() else 0.0


@pytest.mark.parametrize("d,m", [(1, 1), (5, 3), (8, 8), (33, 20), (64, 63)])
def test_householder_product_is_orthogonal_with_det_sign(d, m):
    M = _randn(d, m, seed=d + m)
    Q = householder_product(M)
    assert Q.shape == (d, d)
    assert _max_abs(Q.T @ Q - torch.eye(d, dtype=F64)) < 1e-10
    assert torch.linalg.det(Q).item() == pytest.approx((-1.0) ** m, abs=1e-10)


def test_householder_product_matches_explicit_reflections_and_zero_column_is_identity():
    M = _randn(6, 4, seed=1)
    expected = torch.eye(6, dtype=F64)
    for i in range(4):
        v = M[:, i]
        expected = expected @ (torch.eye(6, dtype=F64) - 2 * torch.outer(v, v) / (v @ v))
    assert _max_abs(householder_product(M) - expected) < 1e-12
    M0 = M.clone()
    M0[:, 2] = 0.0  # H(0) = I
    expected0 = householder_product(M[:, [0, 1, 3]])
    assert _max_abs(householder_product(M0) - expected0) < 1e-12
    assert _max_abs(householder_product_blocked(M0, block=3) - expected0) < 1e-12
    # finite gradients at a zero column
    M0.requires_grad_(True)
    householder_product_blocked(M0, block=2).sum().backward()
    assert torch.isfinite(M0.grad).all()


@pytest.mark.parametrize("d,m,block", [(8, 7, 16), (16, 15, 4), (64, 50, 16), (64, 63, 5), (512, 511, 16),
                                       (512, 300, 48)])
def test_blocked_equals_naive(d, m, block):
    M = _randn(d, m, seed=d * m)
    assert _max_abs(householder_product_blocked(M, block=block) - householder_product(M)) < 1e-10


@pytest.mark.parametrize("d", [1, 2, 7, 16, 64])
def test_reflections_to_reproduces_target(d):
    T = _with_det(_random_orthogonal(d, seed=d), (-1.0) ** d)
    M = reflections_to(T)
    assert M.shape == (d, d)
    assert _max_abs(householder_product(M) - T) < 1e-10
    assert _max_abs(householder_product_blocked(M) - T) < 1e-10
    assert torch.allclose(torch.linalg.vector_norm(M, dim=0), torch.ones(d, dtype=F64))  # all genuine reflections


@pytest.mark.parametrize("d", [3, 4, 6])
def test_reflections_to_handles_columns_already_in_place(d):
    T = torch.eye(d, dtype=F64)
    if d % 2:
        T[-1, -1] = -1.0  # det (-1)^d
    assert _max_abs(householder_product(reflections_to(T)) - T) < 1e-12
    P = torch.eye(d, dtype=F64)
    P[:, [1, 2]] = P[:, [2, 1]]  # a permutation, e_0 already in place
    P = _with_det(P, (-1.0) ** d)
    assert _max_abs(householder_product(reflections_to(P)) - P) < 1e-12


@pytest.mark.parametrize("d", [1, 4, 9])
def test_reflections_to_refuses_wrong_parity(d):
    T = _with_det(_random_orthogonal(d, seed=d), -((-1.0) ** d))
    with pytest.raises(ValueError, match="det"):
        reflections_to(T)
    with pytest.raises(ValueError, match="orthogonal"):
        reflections_to(2.0 * torch.eye(d, dtype=F64))


def _projector(B):
    return B @ B.T


@pytest.mark.parametrize("out_dim,in_dim", [(32, 64), (64, 32), (10, 24), (24, 10)])
def test_init_from_weight_matches_top_k_singular_subspaces(out_dim, in_dim):
    k = 10
    torch.manual_seed(0)
    mod = HouseholderModulation(in_dim, out_dim, k=k).double()
    W0 = _randn(out_dim, in_dim, seed=out_dim + 7 * in_dim)
    b0 = _randn(out_dim, seed=3)
    mod.init_from_weight(W0, b0)
    U0, _, Vh0 = torch.linalg.svd(W0)
    A = mod.weight().detach()
    Ua, sa, Vha = torch.linalg.svd(A)
    assert _max_abs(sa[:k] - 1.0) < 1e-10 and _max_abs(sa[k:]) < 1e-10  # Sigma discarded: unit singular values
    assert _max_abs(_projector(Vha[:k].T) - _projector(Vh0[:k].T)) < 1e-8
    assert _max_abs(_projector(Ua[:, :k]) - _projector(U0[:, :k])) < 1e-8
    assert _max_abs(A - U0[:, :k] @ Vh0[:k]) < 1e-8  # the singular pairs keep their signs
    D = mod.directions().detach()
    proj_norm = torch.linalg.vector_norm(D @ Vh0[:k].T, dim=1)
    assert _max_abs(proj_norm - 1.0) < 1e-8
    assert _max_abs(torch.minimum((D - Vh0[:k]).abs().amax(1), (D + Vh0[:k]).abs().amax(1))) < 1e-8
    w = _randn(5, in_dim, seed=11)
    assert _max_abs(mod(w).detach() - (w @ A.T + b0)) < 1e-12


def test_init_from_weight_square_k_equals_dim():
    k = 6
    W0 = _randn(k, k, seed=5)
    mod = HouseholderModulation(k, k, k=k).double()
    U0, _, Vh0 = torch.linalg.svd(W0)
    if torch.linalg.det(U0 @ Vh0) > 0:
        mod.init_from_weight(W0)
        assert _max_abs(mod.weight().detach() - U0 @ Vh0) < 1e-10
    W0 = W0.clone()
    W0[0] = -W0[0]  # flips the det of the polar factor
    U0, _, Vh0 = torch.linalg.svd(W0)
    if torch.linalg.det(U0 @ Vh0) < 0:
        with pytest.raises(ValueError, match="det"):
            mod.init_from_weight(W0)
    else:
        mod.init_from_weight(W0)
        assert _max_abs(mod.weight().detach() - U0 @ Vh0) < 1e-10


def test_weight_is_rank_k_with_unit_singular_values_and_orthonormal_directions():
    torch.manual_seed(1)
    mod = HouseholderModulation(24, 40, k=7).double()
    s = torch.linalg.svdvals(mod.weight().detach())
    assert _max_abs(s[:7] - 1.0) < 1e-10 and _max_abs(s[7:]) < 1e-10
    D = mod.directions().detach()
    assert D.shape == (7, 24)
    assert _max_abs(D @ D.T - torch.eye(7, dtype=F64)) < 1e-10
    assert _max_abs(mod.bias.detach() - 1.0) == 0.0
    naive = HouseholderModulation(24, 40, k=7, blocked=False).double()
    naive.load_state_dict(mod.state_dict())
    assert _max_abs(naive.weight().detach() - mod.weight().detach()) < 1e-12


def test_gradients_reach_U_p_and_V_p_in_float32():
    torch.manual_seed(2)
    mod = HouseholderModulation(32, 48, k=10)
    assert mod.U_p.dtype == torch.float32 and mod.S.dtype == torch.float32
    assert not any(name == "S" for name, _ in mod.named_parameters())
    w = torch.randn(16, 32)
    target = torch.randn(16, 48)
    loss = ((mod(w) - target) ** 2).mean()
    loss.backward()
    for p in (mod.U_p, mod.V_p, mod.bias):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    opt = torch.optim.SGD(mod.parameters(), lr=0.1)
    opt.step()
    D = mod.directions().detach()
    assert _max_abs(D @ D.T - torch.eye(10)) < 1e-5
    W0 = torch.randn(48, 32)
    mod.init_from_weight(W0)
    assert mod.U_p.dtype == torch.float32
    _, _, Vh0 = torch.linalg.svd(W0.double())
    P = Vh0[:10].T @ Vh0[:10]
    D = mod.directions().detach().double()
    assert _max_abs(D.T @ D - P) < 1e-4


def test_sefa_directions_match_numpy_eigh():
    W = _randn(48, 32, seed=9)
    D = sefa_directions(W, k=5)
    assert D.shape == (5, 32) and D.dtype == F64
    Wn = W.numpy()
    vals, vecs = np.linalg.eigh(Wn.T @ Wn)
    top = vecs[:, np.argsort(vals)[::-1][:5]].T
    for row, ref in zip(D.numpy(), top):
        assert min(np.abs(row - ref).max(), np.abs(row + ref).max()) < 1e-10
        assert row[np.abs(row).argmax()] > 0
    assert _max_abs(D @ D.T - torch.eye(5, dtype=F64)) < 1e-10
    assert sefa_directions(W.float(), k=3).dtype == torch.float32


def test_random_directions_deterministic_and_orthonormal():
    a = random_directions(64, 10, seed=4)
    b = random_directions(64, 10, seed=4)
    c = random_directions(64, 10, seed=5)
    assert a.shape == (10, 64)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert _max_abs(a @ a.T - torch.eye(10, dtype=F64)) < 1e-12
    idx = a.abs().argmax(dim=1)
    assert (a[torch.arange(10), idx] > 0).all()
    assert random_directions(8, 3, seed=0, dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError):
        random_directions(4, 5, seed=0)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        HouseholderModulation(8, 6, k=7)
    mod = HouseholderModulation(8, 6, k=3)
    with pytest.raises(ValueError):
        mod.init_from_weight(torch.randn(8, 6))
    with pytest.raises(ValueError):
        householder_product_blocked(torch.randn(4, 2), block=0)
