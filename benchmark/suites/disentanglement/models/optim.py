"""Optimizers of the reference: clipped AdamW on weights, plain Adam on biases and codebooks.

Reference ``disentangle/models/ae.py::AE.construct_optimizer`` (``optax.multi_transform``):
"regularized" parameters (conv/linear kernels, GroupNorm scales, the decoder's ``input_map``) go through
``optax.clip(1.0)`` (element-wise clip of the gradient to [-1, 1]) and ``optax.adamw(lr, weight_decay=l2)``;
"unregularized" ones (every ``bias``, everything under ``latent``) through ``optax.adam(lr)``.

Here both groups live in one ``torch.optim.AdamW``: the unregularized group has ``weight_decay=0``, which
makes AdamW's update exactly Adam's; torch's decoupled decay p <- p (1 - lr wd) equals optax's
p <- p - lr (adam + wd p). Each group carries a ``clip`` entry read by :func:`clip_gradients_`.
"""

from __future__ import annotations

import torch

from .base import DisentanglementModel, is_regularized

__all__ = ["make_optimizers", "clip_gradients_", "split_parameters"]


def split_parameters(named_parameters) -> tuple[list[tuple[str, torch.nn.Parameter]], list[tuple[str, torch.nn.Parameter]]]:
    """(regularized, unregularized) lists of (name, parameter); see :func:`benchmark.suites.disentanglement.models.base.is_regularized`."""
    regularized, unregularized = [], []
    for name, p in named_parameters:
        (regularized if is_regularized(name) else unregularized).append((name, p))
    return regularized, unregularized


def make_optimizers(model: DisentanglementModel, *, fused: bool = False) -> dict[str, torch.optim.AdamW]:
    """One AdamW per training phase of ``model`` with the two parameter groups of the reference.

    Group 0 "regularized": ``weight_decay = cfg.weight_decay``, ``clip = cfg.grad_clip``.
    Group 1 "unregularized": ``weight_decay = 0`` (plain Adam), ``clip = 0`` (none).
    Both use ``cfg.lr``, ``cfg.betas`` and eps 1e-8. Groups carry ``names`` for inspection.
    """
    cfg = model.cfg
    optimizers = {}
    for phase in model.all_phases:
        regularized, unregularized = split_parameters(model.phase_parameters(phase))
        groups = [
            {"params": [p for _, p in regularized], "names": [n for n, _ in regularized],
             "weight_decay": cfg.weight_decay, "clip": cfg.grad_clip, "group": "regularized"},
            {"params": [p for _, p in unregularized], "names": [n for n, _ in unregularized],
             "weight_decay": 0.0, "clip": 0.0, "group": "unregularized"},
        ]
        optimizers[phase] = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=1e-8, **({"fused": True} if fused else {}))
    return optimizers


@torch.no_grad()
def clip_gradients_(optimizer: torch.optim.Optimizer) -> None:
    """Clip every gradient element of groups with ``clip > 0`` to [-clip, clip], in place (``optax.clip``)."""
    for group in optimizer.param_groups:
        clip = group.get("clip", 0.0)
        if clip > 0:
            grads = [p.grad for p in group["params"] if p.grad is not None]
            if grads:
                torch._foreach_clamp_min_(grads, -clip)
                torch._foreach_clamp_max_(grads, clip)
