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


def test_sigmoid_rampup():
    from benchmark.suites.noisy_labels.losses import sigmoid_rampup

    assert sigmoid_rampup(5, 0) == 1.0
    assert sigmoid_rampup(0, 100) == pytest.approx(np.exp(-5.0))
    assert sigmoid_rampup(50, 100) == pytest.approx(np.exp(-5.0 * 0.25))
    assert sigmoid_rampup(100, 100) == sigmoid_rampup(1e6, 100) == 1.0


def test_mixup_keeps_the_larger_share():
    from benchmark.suites.noisy_labels.losses import mixup

    x = torch.arange(12.0).reshape(4, 3)
    y = torch.eye(4)
    mx, my, lam, perm = mixup(x, y, 1.0, np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert 0.5 <= lam <= 1.0 and sorted(perm.tolist()) == [0, 1, 2, 3]
    torch.testing.assert_close(mx, lam * x + (1 - lam) * x[perm])
    torch.testing.assert_close(my.sum(dim=1), torch.ones(4))
    again = mixup(x, y, 1.0, np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert again[2] == lam and torch.equal(again[3], perm)
    assert mixup(x, y, 0.0, np.random.default_rng(0), torch.Generator())[2] == 1.0


def test_elr_plus_targets_and_loss_by_hand():
    from benchmark.suites.noisy_labels.losses import ELRPlusTargets

    targets = ELRPlusTargets(4, 3, beta=0.7, lam=3.0, coef_step=100)
    targets.targets[2] = torch.tensor([0.5, 0.25, 0.25])
    teacher = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    index, perm, mix = torch.tensor([2, 0]), torch.tensor([1, 0]), 0.8
    with pytest.raises(RuntimeError, match="before update"):
        targets.loss(teacher, torch.eye(3)[:2], 0)
    targets.update(teacher, index, perm, mix)
    p = np.exp(teacher.numpy()) / np.exp(teacher.numpy()).sum(axis=1, keepdims=True)
    t2 = 0.7 * np.array([0.5, 0.25, 0.25]) + 0.3 * p[0]
    t0 = 0.3 * p[1]
    np.testing.assert_allclose(targets.targets[[2, 0]].numpy(), [t2, t0], rtol=1e-6)
    q = 0.8 * np.array([t2, t0]) + 0.2 * np.array([t0, t2])
    np.testing.assert_allclose(targets.q.numpy(), q, rtol=1e-6)
    logits = torch.tensor([[0.5, -0.5, 0.0], [0.0, 0.0, 1.0]])
    labels = torch.tensor([[0.8, 0.2, 0.0], [0.2, 0.8, 0.0]])  # mixed one-hot labels
    s = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    ce = np.mean(-(labels.numpy() * np.log(s)).sum(axis=1))
    reg = np.mean(np.log(1 - (q * s).sum(axis=1)))
    assert targets.loss(logits, labels, 50).item() == pytest.approx(ce + np.exp(-1.25) * 3.0 * reg, rel=1e-6)
    corrected = ELRPlusTargets(4, 3, beta=0.7, lam=0.0, label_correction=True)  # CIFAR-100's labels * q
    corrected.update(teacher, index, perm, mix)  # fresh targets: t = 0.3 p for both examples
    qc = 0.8 * 0.3 * p + 0.2 * 0.3 * p[[1, 0]]
    fixed = labels.numpy() * qc / (labels.numpy() * qc).sum(axis=1, keepdims=True)
    assert corrected.loss(logits, labels, 0).item() == pytest.approx(np.mean(-(fixed * np.log(s)).sum(axis=1)), rel=1e-6)


def test_ema_update_of_the_mean_teacher():
    from benchmark.suites.noisy_labels.losses import ema_update

    model, teacher = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        for m, t in zip(model.parameters(), teacher.parameters()):
            m.fill_(1.0)
            t.fill_(0.0)
    assert ema_update(model, teacher, step=0, alpha=0.9999) == 0.0  # the true average first: a copy
    assert torch.all(teacher.weight == 1.0)
    with torch.no_grad():
        model.weight.fill_(3.0)
    a = ema_update(model, teacher, step=3, alpha=0.5)  # min(1 - 1/4, 0.5)
    assert a == 0.5 and torch.allclose(teacher.weight, torch.full((1, 2), 2.0))
    a = ema_update(model, teacher, step=19, alpha=0.997, ramp_steps=40)  # ramped: exp(-5 (1 - 20/40)^2) * 0.997
    assert a == pytest.approx(np.exp(-1.25) * 0.997)
