"""The noisy-label methods' losses and selection rules (benchmark/suites/noisy_labels/losses.py)."""

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F

from benchmark.suites.noisy_labels.losses import (ELRTargets, coteaching_step_losses, forget_rate_schedule,
                                                  nested_k_probabilities, nested_truncate, sample_nested_k,
                                                  small_loss_indices)


def test_nested_mask_keeps_exactly_the_first_k_units():
    z = torch.randn(5, 8, requires_grad=True)
    out = nested_truncate(z, 3)
    assert torch.equal(out[:, :3], z[:, :3]) and torch.all(out[:, 3:] == 0)  # kept as they are: no rescaling
    out.sum().backward()
    assert torch.equal(z.grad, torch.tensor([1.0] * 3 + [0.0] * 5).expand(5, 8))
    assert torch.equal(nested_truncate(z, 8), z)
    with pytest.raises(ValueError, match=r"k must be in 1..8"):
        nested_truncate(z, 0)


def test_k_follows_the_squared_exponential_law():
    # p(k) ~ exp(-(k / eta)^2) for k = 1..D, not the geometric law: a chi-square test on 20,000 seeded draws
    dim, eta = 40, 10.0
    p = nested_k_probabilities(dim, eta).numpy()
    k = np.arange(1, dim + 1)
    np.testing.assert_allclose(p, np.exp(-(k / eta) ** 2) / np.exp(-(k / eta) ** 2).sum(), rtol=1e-12)
    g = torch.Generator().manual_seed(0)
    draws = np.array([sample_nested_k(dim, eta, g) for _ in range(20_000)])
    assert draws.min() >= 1 and draws.max() <= dim
    counts = np.bincount(draws - 1, minlength=dim)
    expected = 20_000 * p
    keep = expected >= 5  # the chi-square approximation needs 5 expected per cell: pool the thin tail
    observed = np.r_[counts[keep], counts[~keep].sum()]
    expected = np.r_[expected[keep], expected[~keep].sum()]
    assert scipy.stats.chisquare(observed, expected).pvalue > 0.01
    # the test has the power to tell: a geometric law (Rippel et al.'s) is rejected on the same draws
    q = 20_000 * 0.9**k / (0.9**k).sum()
    assert scipy.stats.chisquare(observed, np.r_[q[keep], q[~keep].sum()]).pvalue < 1e-6


def test_coteaching_keeps_the_smallest_losses_and_exchanges_them():
    g = torch.Generator().manual_seed(1)
    logits_1, logits_2 = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g)
    labels = torch.randint(0, 4, (10,), generator=g)
    keep = small_loss_indices(F.cross_entropy(logits_1, labels, reduction="none"), 0.35)
    assert keep.numel() == int((1 - 0.35) * 10) == 6
    per = F.cross_entropy(logits_1, labels, reduction="none")
    assert set(keep.tolist()) == set(np.argsort(per.numpy())[:6].tolist())
    assert torch.all(per[keep].max() <= per[np.setdiff1d(np.arange(10), keep.numpy())])
    loss_1, loss_2, keep_1, keep_2 = coteaching_step_losses(logits_1, logits_2, labels, 0.35)
    per_2 = F.cross_entropy(logits_2, labels, reduction="none")
    assert loss_1.item() == pytest.approx(per[keep_2].mean().item())  # network 1 learns from network 2's picks
    assert loss_2.item() == pytest.approx(per_2[keep_1].mean().item())
    assert small_loss_indices(torch.tensor([1.0, 0.5, 0.5, 2.0]), 0.5).tolist() == [1, 2]  # ties: lower index


def test_forget_rate_schedule_of_han_et_al():
    np.testing.assert_allclose(forget_rate_schedule(6, 0.2, 3), [0.0, 0.1, 0.2, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(forget_rate_schedule(3, 0.3, 0), [0.3, 0.3, 0.3])  # the fine-tuning stage
    np.testing.assert_allclose(forget_rate_schedule(2, 0.2, 5), [0.0, 0.05])
    with pytest.raises(ValueError, match=r"forget_rate must be in \[0, 1\)"):
        forget_rate_schedule(3, 1.0, 0)


def test_elr_target_update_and_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 2])
    index = torch.tensor([3, 1])
    elr = ELRTargets(5, 3, beta=0.7, lam=3.0)
    elr.targets[3] = torch.tensor([0.2, 0.3, 0.5])  # seen before; example 1 is new (zeros)
    loss = elr.loss(logits, labels, index)
    # by hand: softmax, clamp (no entry is below 1e-4 here), normalise, t <- 0.7 t + 0.3 p_hat
    p0 = np.exp([2.0, 0.0, -1.0]) / np.exp([2.0, 0.0, -1.0]).sum()
    p1 = np.full(3, 1 / 3)
    t3 = 0.7 * np.array([0.2, 0.3, 0.5]) + 0.3 * p0
    t1 = 0.3 * p1
    np.testing.assert_allclose(elr.targets[3].numpy(), t3, rtol=1e-6)
    np.testing.assert_allclose(elr.targets[1].numpy(), t1, rtol=1e-6)
    assert torch.all(elr.targets[[0, 2, 4]] == 0)
    ce = (-np.log(p0[0]) - np.log(p1[2])) / 2
    reg = (np.log(1 - t3 @ p0) + np.log(1 - t1 @ p1)) / 2
    assert loss.item() == pytest.approx(ce + 3.0 * reg, rel=1e-6)
    loss.backward()  # the gradient goes through p, not through the targets
    assert elr.targets.grad is None and logits.grad is not None


def test_elr_clamps_the_probabilities():
    logits = torch.tensor([[30.0, 0.0, 0.0]])  # softmax ~ (1, 1e-13, 1e-13)
    elr = ELRTargets(1, 3, beta=0.0, lam=1.0)
    elr.loss(logits, torch.tensor([0]), torch.tensor([0]))
    clamped = np.array([1 - 1e-4, 1e-4, 1e-4])
    np.testing.assert_allclose(elr.targets[0].numpy(), clamped / clamped.sum(), rtol=1e-5)
    assert elr.flagged(torch.tensor([1])).tolist() == [True]  # argmax t = 0, label 1: flagged as mislabelled
