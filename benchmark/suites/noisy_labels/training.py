"""The noisy-label methods as one training task of the shared engine, and the run of a job's stages.

:class:`NoisyLabelTask` implements the engine's ``TrainingTask`` for every method; the engine owns seeds, resume,
checkpoints and the per-epoch evaluation, this module the methods' steps:

* ``ce``: cross-entropy; ``dropout``: ``F.dropout(p)`` on the penultimate features; ``nested``: one truncation k
  per batch, ``p(k) ~ exp(-(k/eta)^2)``, bias-free classifier (on VGG, one of two masks per step, alternating);
* ``coteaching``: two networks, each trained on the other's ``int((1 - tau(e)) B)`` smallest-loss samples, tau
  rising linearly to ``forget_rate`` over ``n_gradual`` epochs (Han et al. 2018);
* ``nested_coteaching``: stage 1 trains two nested networks (their own seeds); stage 2 fine-tunes both at a low lr
  by co-teaching with a constant forget rate: each batch is split in halves, each network selects the small-loss
  samples of its half in eval mode at its current best width K, and trains on the other's selection with a freshly
  drawn nested k (Chen et al. 2022, ``co_teaching_resnet``);
* ``elr``: the target estimates t_i (task state), updated before the loss, and ``lambda log(1 - <p, t>)``;
* ``elr_plus``: two networks with mean teachers; each network's targets come from the other's teacher on the
  unmixed batch; mixup; the ramped ELR term (Liu et al. 2020, ``ELR_plus``).

Predictions of two-network methods are the mean of both networks' logits; nested methods read out at the width K
that is best on the selection set (ties to the smaller K).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.suites.noisy_labels import losses
from benchmark.suites.noisy_labels.models import FeatureClassifier
from benchmark.suites.noisy_labels.recipes import NESTED, NORMALIZATION, TWO_NETWORK, Recipe
from benchmark.suites.noisy_labels.splits import Splits, balanced_subset, read_images
from benchmark.training import EngineConfig, EpochPlan

__all__ = ["NoisyLabelTask", "build_network", "lr_at", "augment", "to_input"]


def build_network(recipe: Recipe, num_classes: int, method: str, *, weights: str | None = None) -> FeatureClassifier:
    """The recipe's backbone with the method's classifier (bias-free for the nested methods)."""
    from benchmark.suites.noisy_labels.backbones import build_trunk

    trunk = build_trunk(recipe.backbone, width=recipe.width, freeze_bn=recipe.freeze_bn,
                        dropout=recipe.dropout if recipe.backbone == "vgg19_bn" and method == "dropout" else 0.0,
                        weights=weights)
    return FeatureClassifier(trunk, trunk.feature_dim, num_classes, bias=method not in NESTED)


def lr_at(step: int, plan: EpochPlan, *, lr: float, milestones=(), gamma: float = 0.1, warmup_steps: int = 0,
          cosine_restart: int = 0, eta_min: float = 0.0) -> float:
    """The learning rate of engine step ``step``: linear warm-up over ``warmup_steps``, then steps of ``gamma`` at
    the ``milestones`` epochs, or cosine annealing with warm restarts every ``cosine_restart`` epochs (stepped per
    epoch, as the ELR configs' scheduler)."""
    epoch = plan.epoch(step)
    if cosine_restart:
        phase = (epoch % cosine_restart) / cosine_restart
        value = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * phase)) / 2
    else:
        value = lr * gamma ** sum(epoch >= m for m in milestones)
    if warmup_steps and step < warmup_steps:
        value *= (step + 1) / warmup_steps
    return value


def to_input(images_u8: torch.Tensor, device: torch.device, memory_format=torch.contiguous_format) -> torch.Tensor:
    """uint8 images -> float in [0, 1] on ``device``."""
    return (images_u8.to(device, non_blocking=True).float() / 255.0).contiguous(memory_format=memory_format)


def crop(x: torch.Tensor, size: int, rng: np.random.Generator | None) -> torch.Tensor:
    """Crops of ``size`` x ``size``: at random offsets drawn from ``rng`` (training), or the centre (``rng`` None)."""
    n, _, h, w = x.shape
    if size <= 0 or (h, w) == (size, size):
        return x
    if size > min(h, w):
        raise ValueError(f"crop {size} is larger than the images ({h} x {w}); decode them larger.")
    if rng is None:
        top, left = (h - size) // 2, (w - size) // 2
        return x[:, :, top:top + size, left:left + size]
    dy, dx = rng.integers(0, h - size + 1, size=n), rng.integers(0, w - size + 1, size=n)
    return torch.stack([x[i, :, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(n)])


def augment(x: torch.Tensor, kind: str, rng: np.random.Generator) -> torch.Tensor:
    """``'crop_flip'``: zero-pad 4, random crop back to size, horizontal flip with probability 1/2 (the CIFAR
    recipes); ``'flip'``: the flip only; ``'none'``. Drawn from the engine's ``data_rng``."""
    if kind == "none":
        return x
    n, _, h, w = x.shape
    if kind == "crop_flip":
        padded = F.pad(x, (4, 4, 4, 4))
        dy, dx = rng.integers(0, 9, size=n), rng.integers(0, 9, size=n)
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.from_numpy(rng.random(n) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


@dataclass
class Stage:
    """What a task trains: ``main`` (every method's only stage, or nested + co-teaching's stage 1 nets) or
    ``finetune`` (nested + co-teaching's stage 2)."""

    name: str = "main"
    init: tuple[dict, ...] = ()  # state dicts of the networks to start from (stage 2)
    widths: tuple[int, ...] = ()  # the networks' best widths K at the start of stage 2


class NoisyLabelTask:
    """One method's training on a setting, for the engine (see the module docstring).

    The model is one network (a :class:`FeatureClassifier`) or an ``nn.ModuleDict`` of ``net1``, ``net2`` (and
    ``teacher1``, ``teacher2`` for ELR+). Task state (saved in checkpoints): ELR's targets, the selections'
    running counts, and the current best widths of stage 2.
    """

    divergence_hint = "lower the recipe's lr"

    def __init__(self, method: str, recipe: Recipe, data: Splits, *, seed: int, stage: Stage | None = None,
                 weights: str | None = None):
        self.method, self.recipe, self.data, self.seed = method, recipe, data, int(seed)
        self.stage = stage or Stage()
        self.weights = weights
        self.finetune = self.stage.name == "finetune"
        self.two_networks = method in TWO_NETWORK and not (method == "nested_coteaching" and not self.finetune)
        # the examples this stage trains on: all, or a class-balanced subset drawn with its seed (Clothing1M)
        self.train_index = (torch.from_numpy(balanced_subset(data.train_labels.numpy(), data.num_classes,
                                                             recipe.subset_per_class, seed))
                            if recipe.balanced_subset else None)
        n_examples = data.n_train if self.train_index is None else int(self.train_index.numel())
        self.plan = EpochPlan(n_examples, recipe.batch_size, drop_last=True, epoch_size=recipe.epoch_size)
        self._stream, self._stream_step = None, -1  # streamed settings: the loader and the step it yields next
        self.label = f"{method}{'/finetune' if self.finetune else ''} {data.name}"
        n, c = data.n_train, data.num_classes
        self.elr = self.elr_plus = None
        if method == "elr":
            self.elr = losses.ELRTargets(n, c, beta=recipe.elr_beta, lam=recipe.elr_lambda)
        if method == "elr_plus":
            self.elr_plus = [losses.ELRPlusTargets(n, c, beta=recipe.elr_beta, lam=recipe.elr_lambda,
                                                   coef_step=recipe.coef_step,
                                                   label_correction=recipe.label_correction) for _ in range(2)]
        self.selected = torch.zeros(2, dtype=torch.float64)  # co-teaching: [selected, of which clean label]
        self.widths = list(self.stage.widths)  # stage 2: each network's current best K

    # ---------------------------------------------------------------------------------------- engine protocol
    @property
    def epochs(self) -> int:
        return self.recipe.finetune_epochs if self.finetune else self.recipe.epochs

    def data_identity(self) -> dict[str, Any]:
        return {"setting": self.data.name, "train_hash": self.data.train_hash, "stage": self.stage.name}

    def build_model(self) -> nn.Module:
        recipe = self.recipe.replace(freeze_bn=self.recipe.finetune_freeze_bn) if self.finetune else self.recipe
        make = lambda: build_network(recipe, self.data.num_classes, self.method, weights=self.weights)  # noqa: E731
        if not self.two_networks:
            return make()
        nets = {"net1": make(), "net2": make()}
        if self.method == "elr_plus":
            for i in (1, 2):
                teacher = make()
                teacher.load_state_dict(nets[f"net{i}"].state_dict())
                for p in teacher.parameters():
                    p.requires_grad_(False)
                nets[f"teacher{i}"] = teacher
        model = nn.ModuleDict(nets)
        for name, state in zip(("net1", "net2"), self.stage.init):
            model[name].load_state_dict(state)
        return model

    def make_optimizers(self, model: nn.Module, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        r = self.recipe
        nets = {"net": model} if not self.two_networks else {k: model[k] for k in ("net1", "net2")}
        if self.elr is not None:
            self.elr.targets = self.elr.targets.to(device)
        for t in self.elr_plus or ():
            t.targets = t.targets.to(device)
        def make(module: nn.Module) -> torch.optim.Optimizer:
            params = [p for p in module.parameters() if p.requires_grad]
            if r.optimizer == "adam":
                return torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
            return torch.optim.SGD(params, lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)

        return {k: make(m) for k, m in nets.items()}

    def task_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"selected": self.selected.clone(), "widths": torch.tensor(self.widths or [0])}
        if self.elr is not None:
            state["elr_targets"] = self.elr.targets.detach().cpu().clone()
        for i, t in enumerate(self.elr_plus or ()):
            state[f"elr_plus_targets{i}"] = t.targets.detach().cpu().clone()
        return state

    def load_task_state(self, state: dict[str, Any]) -> None:
        self.selected = state["selected"].clone()
        self.widths = [int(w) for w in state["widths"]] if self.widths else []
        if self.elr is not None:
            self.elr.targets = state["elr_targets"].to(self.elr.targets.device).clone()
        for i, t in enumerate(self.elr_plus or ()):
            t.targets = state[f"elr_plus_targets{i}"].to(t.targets.device).clone()

    # ---------------------------------------------------------------------------------------------- steps
    def _lr(self, step: int) -> float:
        r = self.recipe
        if self.finetune:
            return lr_at(step, self.plan, lr=r.finetune_lr, milestones=r.finetune_milestones, gamma=r.finetune_gamma)
        return lr_at(step, self.plan, lr=r.lr, milestones=r.milestones, gamma=r.gamma, warmup_steps=r.warmup_steps,
                     cosine_restart=r.cosine_restart, eta_min=r.eta_min)

    def prepare(self, images_u8: torch.Tensor, device: torch.device, memory_format=torch.contiguous_format, *,
                rng: np.random.Generator | None = None) -> torch.Tensor:
        """uint8 images -> the network's input: floats in [0, 1], cropped (at random with ``rng``, else centred),
        augmented (with ``rng``), normalised per channel as the recipe says."""
        x = to_input(images_u8, device)
        x = crop(x, self.recipe.crop, rng)
        if rng is not None:
            x = augment(x, self.recipe.augment, rng)
        if self.recipe.normalize != "none":
            mean, std = (torch.tensor(v, device=x.device).view(1, -1, 1, 1)
                         for v in NORMALIZATION[self.recipe.normalize])
            x = (x - mean) / std
        return x.contiguous(memory_format=memory_format)

    def _images(self, state, step: int, index: torch.Tensor) -> torch.Tensor:
        """The uint8 images of step ``step``'s batch (``index``: dataset indices)."""
        if not self.data.streamed:
            return read_images(self.data.train_images, index)
        if self._stream is None or step != self._stream_step:  # first step of this process, or a jump: (re)start
            from benchmark.suites.noisy_labels.data import step_loader

            loader = step_loader(self.data.train_images, self.plan, self.seed, step, self.plan.steps(self.epochs),
                                 index_map=None if self.train_index is None else self.train_index.numpy(),
                                 workers=self.recipe.workers, device=state.device)
            self._stream = iter(loader)
        images, _, got = next(self._stream)
        self._stream_step = step + 1
        if not torch.equal(got, index):
            raise RuntimeError(f"the streamed batch of step {step} is not the planned one; this is a bug.")
        return images

    def _batch(self, state, step: int):
        index = torch.from_numpy(self.plan.batch_indices(step, self.seed))
        if self.train_index is not None:
            index = self.train_index[index]
        x = self.prepare(self._images(state, step, index), state.device, state.memory_format, rng=state.data_rng)
        return x, self.data.train_labels[index].to(state.device), index

    def _nested_k(self, dim: int, state) -> int:
        return losses.sample_nested_k(dim, self.recipe.eta, state.noise)

    def _nested_kwargs(self, net: FeatureClassifier, state, step: int) -> dict:
        """The truncation of one nested training step: k on the features, or on VGG's hidden layer every other
        step (the authors' ``--alter-train``)."""
        hidden = getattr(net.backbone, "hidden_dim", None)
        if self.recipe.vgg_alternate and hidden and step % 2 == 0:
            return {"hidden_width": self._nested_k(hidden, state)}
        return {"width": self._nested_k(net.classifier.in_features, state)}

    def step(self, state, step: int) -> dict[str, torch.Tensor]:
        lr = self._lr(step)
        for opt in state.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        x, y, index = self._batch(state, step)
        with state.autocast():
            if self.finetune:
                return self._step_finetune(state, x, y, index, step)
            if self.method == "coteaching":
                return self._step_coteaching(state, x, y, index, step)
            if self.method == "elr_plus":
                return self._step_elr_plus(state, x, y, index, step)
            return self._step_single(state, x, y, index, step)

    def _update(self, state, name: str, loss: torch.Tensor) -> None:
        opt = state.optimizers[name]
        opt.zero_grad(set_to_none=True)
        state.scaler.scale(loss).backward()
        state.scaler.step(opt)
        state.scaler.update()

    def _step_single(self, state, x, y, index, step):  # ce, dropout, nested (and stage 1 of nested_coteaching)
        net = state.model
        if self.method in NESTED:
            logits = net(x, **self._nested_kwargs(net, state, step))
        elif self.method == "dropout" and getattr(net.backbone, "hidden_dim", None) is None:
            logits = net(x, dropout=self.recipe.dropout)
        else:  # ce, elr; VGG's dropout baseline has its dropout inside the trunk
            logits = net(x)
        if self.method == "elr":
            loss = self.elr.loss(logits.float(), y, index.to(y.device))
        else:
            loss = F.cross_entropy(logits.float(), y)
        self._update(state, "net", loss)
        return {"loss": loss.detach()}

    def _count_selection(self, index: torch.Tensor) -> None:
        if self.data.flipped is not None:
            clean = ~self.data.flipped[index.cpu()]
            self.selected += torch.tensor([float(clean.numel()), float(clean.sum())], dtype=torch.float64)

    def _step_coteaching(self, state, x, y, index, step):
        r = self.recipe
        rate = float(losses.forget_rate_schedule(self.epochs, r.forget_rate, r.n_gradual, r.exponent)[
            self.plan.epoch(step)])
        logits1, logits2 = state.model["net1"](x), state.model["net2"](x)
        loss1, loss2, keep1, keep2 = losses.coteaching_step_losses(logits1.float(), logits2.float(), y, rate)
        self._count_selection(index[keep1.cpu()])
        self._count_selection(index[keep2.cpu()])
        self._update(state, "net1", loss1)
        self._update(state, "net2", loss2)
        return {"loss1": loss1.detach(), "loss2": loss2.detach(), "forget_rate": torch.tensor(rate)}

    def _step_finetune(self, state, x, y, index, step):
        """Nested + co-teaching, stage 2 (see the module docstring)."""
        rate = self.recipe.finetune_forget_rate
        half = x.shape[0] // 2
        halves = [(x[:half], y[:half], index[:half]), (x[half:2 * half], y[half:2 * half], index[half:2 * half])]
        keep = []
        for i, (xi, yi, _) in enumerate(halves):  # selection in eval mode at the network's current best K
            net = state.model[f"net{i + 1}"]
            net.eval()
            with torch.no_grad():
                per = F.cross_entropy(net(xi, width=self.widths[i]).float(), yi, reduction="none")
            net.train()
            keep.append(losses.small_loss_indices(per, rate))
        dim = state.model["net1"].classifier.in_features
        kwargs = {"width": self._nested_k(dim, state)}  # one fresh k for both networks
        out = {}
        for i, other in ((0, 1), (1, 0)):  # each network trains on the other's selection
            xs, ys, idx = halves[other]
            sel = keep[other]
            self._count_selection(idx[sel.cpu()])
            logits = state.model[f"net{i + 1}"](xs[sel], **kwargs)
            loss = F.cross_entropy(logits.float(), ys[sel])
            self._update(state, f"net{i + 1}", loss)
            out[f"loss{i + 1}"] = loss.detach()
        return out

    def _step_elr_plus(self, state, x, y, index, step):
        r = self.recipe
        onehot = F.one_hot(y, self.data.num_classes).float()
        x_mix, y_mix, lam, perm = losses.mixup(x, onehot, r.mixup_alpha, state.data_rng, state.noise)
        out = {}
        for i, other in ((1, 2), (2, 1)):
            targets = self.elr_plus[i - 1]
            with torch.no_grad():
                teacher_logits = state.model[f"teacher{other}"](x)
            targets.update(teacher_logits.float(), index.to(x.device), perm.to(x.device), lam)
            logits = state.model[f"net{i}"](x_mix)
            loss = targets.loss(logits.float(), y_mix, step)
            self._update(state, f"net{i}", loss)
            losses.ema_update(state.model[f"net{i}"], state.model[f"teacher{i}"], step, r.ema_alpha, r.ema_ramp_steps)
            out[f"loss{i}"] = loss.detach()
        return out


def engine_config(recipe: Recipe, task: NoisyLabelTask, *, seed: int, device: str, progress: bool,
                  cpu_threads: int, precision: str) -> EngineConfig:
    """The engine's config of one stage: whole epochs, evaluated and checkpointed after each."""
    steps_per_epoch = task.plan.steps_per_epoch
    return EngineConfig(steps=task.plan.steps(task.epochs), seed=seed, device=device, precision=precision,
                        cpu_threads=cpu_threads, checkpoint_every=steps_per_epoch, eval_every=steps_per_epoch,
                        log_every=min(50, steps_per_epoch), progress=progress)


def stage_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / name
