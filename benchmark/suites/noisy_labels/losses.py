"""The noisy-label methods' losses and selection rules, as plain torch functions and one small state class.

Each follows the authors' code as the research notes record it (docs cite the papers):

* Nested dropout (Chen, Hu, Shen, Ai, Suykens, "Compressing Features for Learning with Noisy Labels", TNNLS 2022;
  code yingyichen-cyy/Nested-Co-teaching): one truncation index k per mini-batch, drawn with
  :math:`p(k) \\propto \\exp(-(k / \\eta)^2)`, k = 1..D (no 1/2 in the exponent, centred at 0; not Rippel et al.'s
  geometric law); the penultimate features keep their first k units, the rest are zeroed, without rescaling.
* Co-teaching (Han et al., "Co-teaching: Robust Training of Deep Neural Networks with Extremely Noisy Labels",
  NeurIPS 2018): each network keeps the ``int((1 - tau) B)`` samples of smallest cross-entropy, and each is
  trained on the other's; the forget rate tau rises linearly from 0 over the first ``n_gradual`` epochs.
* ELR (Liu, Niles-Weed, Razavian, Fernandez-Granda, "Early-Learning Regularization Prevents Memorization of Noisy
  Labels", NeurIPS 2020): a target :math:`t_i` per training example, updated before the loss each time the
  example is seen, :math:`t_i \\leftarrow \\beta t_i + (1 - \\beta)\\hat p_i` with :math:`\\hat p_i` the normalised,
  clamped, detached softmax; the loss is
  :math:`\\frac{1}{B}\\sum_i \\mathrm{CE}(z_i, y_i) + \\lambda \\frac{1}{B}\\sum_i \\log(1 - \\langle p_i, t_i\\rangle)`
  with the gradient through the clamped :math:`p_i` only.
* ELR+ (the same paper; code ``ELR_plus/``): two networks, each with a mean-teacher copy (:func:`ema_update`); the
  targets of network 1 come from network 2's teacher on the unmixed batch, and are mixed like the inputs
  (:func:`mixup`: :math:`\\lambda \\sim \\mathrm{Beta}(\\alpha, \\alpha)`, :math:`\\lambda \\leftarrow \\max(\\lambda,
  1 - \\lambda)`); the loss is the soft cross-entropy on the mixed one-hot labels plus
  ``sigmoid_rampup(step, coef_step) * lambda * mean log(1 - <p, q>)`` (:class:`ELRPlusTargets`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["nested_k_probabilities", "sample_nested_k", "nested_truncate", "forget_rate_schedule",
           "small_loss_indices", "coteaching_step_losses", "ELRTargets", "ELR_CLAMP", "sigmoid_rampup", "mixup",
           "ELRPlusTargets", "ema_update"]

ELR_CLAMP = 1e-4  # ELR clamps the softmax to [1e-4, 1 - 1e-4]


def nested_k_probabilities(dim: int, eta: float) -> torch.Tensor:
    """p(k) for k = 1..dim (index k - 1), proportional to ``exp(-(k / eta)^2)``, in float64."""
    if dim < 1 or not eta > 0:
        raise ValueError(f"nested dropout needs dim >= 1 and eta > 0; got dim={dim}, eta={eta}.")
    k = torch.arange(1, dim + 1, dtype=torch.float64)
    return torch.softmax(-((k / eta) ** 2), dim=0)


def sample_nested_k(dim: int, eta: float, generator: torch.Generator) -> int:
    """One truncation index k in 1..dim, drawn from :func:`nested_k_probabilities` with ``generator``."""
    return int(torch.multinomial(nested_k_probabilities(dim, eta), 1, generator=generator)) + 1


def nested_truncate(features: torch.Tensor, k: int) -> torch.Tensor:
    """The features with their first ``k`` units (last dimension) kept and the rest zeroed, no rescaling; the
    gradient reaches only the kept units."""
    dim = features.shape[-1]
    if not 1 <= k <= dim:
        raise ValueError(f"k must be in 1..{dim} (the number of features); got {k}.")
    mask = torch.zeros(dim, dtype=features.dtype, device=features.device)
    mask[:k] = 1
    return features * mask


def forget_rate_schedule(n_epochs: int, forget_rate: float, n_gradual: int, exponent: float = 1.0) -> np.ndarray:
    """Co-teaching's forget rate per epoch: ``linspace(0, forget_rate ** exponent, n_gradual)`` over the first
    ``n_gradual`` epochs, ``forget_rate`` afterwards (Han et al.'s code; ``n_gradual=0`` is a constant rate, the
    Nested + Co-teaching fine-tuning stage)."""
    if not 0.0 <= forget_rate < 1.0:
        raise ValueError(f"forget_rate must be in [0, 1); got {forget_rate}.")
    if n_gradual < 0 or n_epochs < 1:
        raise ValueError(f"need n_epochs >= 1 and n_gradual >= 0; got {n_epochs}, {n_gradual}.")
    rates = np.full(n_epochs, float(forget_rate))
    n = min(n_gradual, n_epochs)
    rates[:n] = np.linspace(0.0, forget_rate**exponent, n_gradual)[:n]
    return rates


def small_loss_indices(losses: torch.Tensor, forget_rate: float) -> torch.Tensor:
    """Indices of the ``int((1 - forget_rate) * B)`` smallest per-sample losses, smallest first (ties: lower index)."""
    if losses.ndim != 1:
        raise ValueError(f"losses must be one per sample, shape (B,); got {tuple(losses.shape)}.")
    n_keep = int((1.0 - forget_rate) * losses.shape[0])
    return torch.argsort(losses.detach(), stable=True)[:n_keep]


def coteaching_step_losses(logits_1: torch.Tensor, logits_2: torch.Tensor, labels: torch.Tensor,
                           forget_rate: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Co-teaching's exchange on one batch: (loss of network 1 on network 2's small-loss samples, loss of network
    2 on network 1's, network 1's selection, network 2's selection). The losses are means over the selections."""
    per_1 = F.cross_entropy(logits_1, labels, reduction="none")
    per_2 = F.cross_entropy(logits_2, labels, reduction="none")
    keep_1, keep_2 = small_loss_indices(per_1, forget_rate), small_loss_indices(per_2, forget_rate)
    return per_1[keep_2].mean(), per_2[keep_1].mean(), keep_1, keep_2


class ELRTargets:
    """ELR's per-example targets (N, C), zero at the start, and its loss (see the module doc)."""

    def __init__(self, n_examples: int, n_classes: int, *, beta: float, lam: float,
                 device: torch.device | str = "cpu") -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {beta}.")
        self.beta, self.lam = float(beta), float(lam)
        self.targets = torch.zeros(n_examples, n_classes, device=device)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Update the targets of the examples ``index`` from ``logits``, then return CE + lambda * ELR term."""
        p = torch.softmax(logits, dim=1).clamp(ELR_CLAMP, 1.0 - ELR_CLAMP)
        p_seen = p.detach()
        self.targets[index] = self.beta * self.targets[index] + (1.0 - self.beta) * (
            p_seen / p_seen.sum(dim=1, keepdim=True))
        regulariser = torch.log(1.0 - (self.targets[index] * p).sum(dim=1)).mean()
        return F.cross_entropy(logits, labels) + self.lam * regulariser

    def flagged(self, labels: torch.Tensor) -> torch.Tensor:
        """Examples whose target's argmax differs from their (noisy) label: ELR's mislabel detection."""
        return self.targets.argmax(dim=1) != labels.to(self.targets.device)



def sigmoid_rampup(step: float, length: float) -> float:
    """``exp(-5 (1 - t)^2)`` with ``t = clip(step / length, 0, 1)`` (Laine & Aila's ramp, as ELR+ uses it); 1 when
    ``length == 0`` (no ramp)."""
    if length == 0:
        return 1.0
    phase = 1.0 - float(np.clip(step, 0.0, length)) / length
    return float(np.exp(-5.0 * phase * phase))


def mixup(x: torch.Tensor, targets: torch.Tensor, alpha: float, rng: np.random.Generator,
          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor]:
    """ELR+'s mixup: ``lam = max(l, 1 - l)``, ``l ~ Beta(alpha, alpha)`` (drawn from ``rng``), a permutation of the
    batch (from ``generator``); returns (mixed inputs, mixed soft targets, lam, permutation). ``alpha <= 0``: no
    mixing (lam 1, the identity permutation)."""
    n = x.shape[0]
    if alpha <= 0:
        return x, targets, 1.0, torch.arange(n)
    lam = float(rng.beta(alpha, alpha))
    lam = max(lam, 1.0 - lam)
    perm = torch.randperm(n, generator=generator, device=generator.device)
    return lam * x + (1.0 - lam) * x[perm], lam * targets + (1.0 - lam) * targets[perm], lam, perm


class ELRPlusTargets:
    """One network's ELR+ targets (N, C) and loss. :meth:`update` takes the *other* network's teacher logits on the
    unmixed batch; :meth:`loss` the network's logits on the mixed batch and the mixed one-hot labels."""

    def __init__(self, n_examples: int, n_classes: int, *, beta: float, lam: float, coef_step: int = 0,
                 label_correction: bool = False, device: torch.device | str = "cpu") -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {beta}.")
        self.beta, self.lam, self.coef_step = float(beta), float(lam), int(coef_step)
        self.label_correction = label_correction  # the CIFAR-100 recipe: labels reweighted by the targets
        self.targets = torch.zeros(n_examples, n_classes, device=device)
        self.q: torch.Tensor | None = None  # the mixed targets of the current batch

    def update(self, teacher_logits: torch.Tensor, index: torch.Tensor, perm: torch.Tensor, mix_lam: float) -> None:
        """``t_i <- beta t_i + (1 - beta) softmax(teacher)_i`` (not clamped), then
        ``q = lam t_i + (1 - lam) t_perm(i)``."""
        p = torch.softmax(teacher_logits.detach(), dim=1)
        self.targets[index] = self.beta * self.targets[index] + (1.0 - self.beta) * p / p.sum(dim=1, keepdim=True)
        t = self.targets[index]
        self.q = mix_lam * t + (1.0 - mix_lam) * t[perm]

    def loss(self, logits: torch.Tensor, mixed_labels: torch.Tensor, step: int) -> torch.Tensor:
        """Soft cross-entropy on ``mixed_labels`` plus the ramped ELR term on the clamped softmax."""
        if self.q is None:
            raise RuntimeError("ELRPlusTargets.loss before update(): the batch's targets are not known yet.")
        labels = mixed_labels
        if self.label_correction:
            labels = labels * self.q
            labels = labels / labels.sum(dim=1, keepdim=True)
        p = torch.softmax(logits, dim=1).clamp(ELR_CLAMP, 1.0 - ELR_CLAMP)
        ce = torch.mean(-torch.sum(labels * F.log_softmax(logits, dim=1), dim=-1))
        regulariser = torch.log(1.0 - (self.q * p).sum(dim=1)).mean()
        return ce + sigmoid_rampup(step, self.coef_step) * self.lam * regulariser


@torch.no_grad()
def ema_update(model: torch.nn.Module, teacher: torch.nn.Module, step: int, alpha: float, ramp_steps: int = 0) -> float:
    """The mean teacher's parameters ``<- a teacher + (1 - a) model``; returns ``a``. With ``ramp_steps > 0``,
    ``a = sigmoid_rampup(step + 1, ramp_steps) * alpha`` (ELR+'s CIFAR recipe), else ``a = min(1 - 1 / (step + 1),
    alpha)`` (the true average first). Buffers (batch-norm statistics) are the teacher's own."""
    a = sigmoid_rampup(step + 1, ramp_steps) * alpha if ramp_steps > 0 else min(1.0 - 1.0 / (step + 1), alpha)
    for t, m in zip(teacher.parameters(), model.parameters()):
        t.mul_(a).add_(m, alpha=1.0 - a)
    return a
