"""Training of the equivariance suite's models on the shared engine, with PER's regulariser and lambda tuning.

Loss (Kim et al., ICML 2023, ``train_softemlp_checkpoint.py``):

.. math::

    L = \\frac1N \\sum_n \\lVert f(x_n) - y_n \\rVert^2_{\\text{mean}} + \\sum_j \\lambda_j R_j
        + wd \\sum_l \\tfrac12 (\\lVert W_l \\rVert^2 + \\lVert b_l \\rVert^2) + gated\\_wd \\lVert w_g \\rVert^2

for PER; the other models have the MSE and the weight decay only (RPP: ``wd`` on its equivariant path and
``rpp_wd`` on its unconstrained one, the residual pathway's prior). Adam with a cosine learning rate to 0.

:class:`LambdaTuner` is the reference's one-shot rule (``AdjustEquiv``): during the ``window`` epochs up to ``t_adj``
it evaluates the regulariser values m_j after every epoch; after ``warmup`` of them it keeps a running minimum (the
whole vector is replaced whenever a component decreases); at epoch ``t_adj`` it sets
:math:`\\lambda_j \\leftarrow \\lambda_j / (m_j / \\min_{i: \\lambda_i \\neq 0} m_i)^p` and holds them fixed. A group the
data violate (large m_j) ends with a small lambda: the final ratios are the "discovered approximation levels".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.suites.equivariance.config import MODELS, TrainSettings
from benchmark.suites.equivariance.models import MLP, EquivariantNet, regularisers
from benchmark.suites.equivariance.reps import projector
from benchmark.training import EpochPlan

__all__ = ["LambdaTuner", "TrainSettings", "EquivarianceTask", "MODELS"]

class LambdaTuner:
    """The reference's one-shot lambda rule (see the module doc); state saved with the run."""

    def __init__(self, lambdas, *, t_adj: int, power: float, window: int = 100, warmup: int = 50):
        self.lambdas = [float(v) for v in lambdas]
        self.t_adj, self.power, self.window, self.warmup = int(t_adj), float(power), int(window), int(warmup)
        self.calls = 0
        self.minimum: list[float] | None = None
        self.done = False
        self.trajectory: list[list[float]] = []  # lambdas after every epoch

    def observe(self, epoch: int, values) -> None:
        """After epoch ``epoch`` (1-based) with regulariser values ``values`` (one per group)."""
        values = [float(v) for v in values]
        if not self.done and self.t_adj - self.window < epoch <= self.t_adj:
            self.calls += 1
            if self.calls > self.warmup and (self.minimum is None or any(v < m for v, m in zip(values,
                                                                                            self.minimum))):
                self.minimum = values
            if epoch == self.t_adj:
                m = self.minimum if self.minimum is not None else values  # a window shorter than the warm-up
                active = [m_j for m_j, lam in zip(m, self.lambdas) if lam != 0]
                floor = min(active) if active else 1.0
                self.lambdas = [lam / (m_j / floor) ** self.power if lam != 0 and m_j > 0 else lam
                                for lam, m_j in zip(self.lambdas, m)]
                self.done = True
        self.trajectory.append(list(self.lambdas))

    def state_dict(self) -> dict[str, Any]:
        return {"lambdas": torch.tensor(self.lambdas, dtype=torch.float64), "calls": self.calls,
                "minimum": torch.tensor(self.minimum if self.minimum is not None else [], dtype=torch.float64),
                "done": self.done, "trajectory": torch.tensor(self.trajectory, dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lambdas = [float(v) for v in state["lambdas"]]
        self.calls, self.done = int(state["calls"]), bool(state["done"])
        self.minimum = [float(v) for v in state["minimum"]] or None
        self.trajectory = [list(map(float, row)) for row in state["trajectory"]]


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # val, test, ood


class EquivarianceTask:
    """One model on one setting, for the engine: MSE (+ PER's terms), Adam with cosine lr, lambda tuning."""

    divergence_hint = "lower the learning rate"

    def __init__(self, model: str, settings: TrainSettings, data: Data, *, groups: list, lambda_init, correct: int,
                 rep_in, rep_out, seed: int, label: str):
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}.")
        self.model_name, self.s, self.data, self.groups = model, settings, data, groups
        self.rep_in, self.rep_out, self.correct, self.seed = rep_in, rep_out, correct, int(seed)
        self.label = label
        self.plan = EpochPlan(int(data.x_train.shape[0]), min(settings.batch_size, int(data.x_train.shape[0])))
        self.tuner = LambdaTuner(lambda_init, t_adj=settings.t_adj, power=settings.power, window=settings.window,
                                 warmup=settings.warmup)

    @property
    def steps(self) -> int:
        return self.plan.steps(self.s.epochs)

    def data_identity(self) -> dict[str, Any]:
        return {"n_train": int(self.data.x_train.shape[0]), "label": self.label}

    def build_model(self) -> nn.Module:
        mode, which = MODELS[self.model_name]
        if mode == "mlp":
            return MLP(self.rep_in.size(self.groups[0].d), self.rep_out.size(self.groups[0].d), ch=self.s.ch)
        group = self.groups[0] if which == "largest" else self.groups[self.correct]
        net = EquivariantNet(group, self.rep_in, self.rep_out, ch=self.s.ch, mode=mode)
        if mode == "per" and self.s.per_init == "halfsoft":  # halfway into the largest group's subspace
            with torch.no_grad():
                for layer in net.linear_layers():
                    p = projector(group, layer.rep_in, layer.rep_out)
                    layer.weight.copy_(0.5 * p.project_weight(layer.weight) + 0.5 * layer.weight)
                    layer.bias.copy_(0.5 * p.project_bias(layer.bias) + 0.5 * layer.bias)
        elif self.s.per_init not in ("plain", "halfsoft"):
            raise ValueError(f"per_init must be 'plain' or 'halfsoft'; got {self.s.per_init!r}.")
        return net

    def make_optimizers(self, model: nn.Module, device: torch.device) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.Adam(model.parameters(), lr=self.s.lr)}

    def task_state(self) -> dict[str, Any]:
        return {"tuner": self.tuner.state_dict()}

    def load_task_state(self, state: dict[str, Any]) -> None:
        self.tuner.load_state_dict(state["tuner"])

    def _lr(self, step: int) -> float:
        progress = step / max(self.steps, 1)
        return self.s.min_lr + (self.s.lr - self.s.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    def _penalty(self, model: nn.Module) -> torch.Tensor:
        s = self.s
        if isinstance(model, MLP):
            return 0.5 * s.wd * sum(p.pow(2).sum() for p in model.parameters())
        total = 0.0
        for layer in model.linear_layers():
            total = total + 0.5 * s.wd * (layer.weight.pow(2).sum() + layer.bias.pow(2).sum())
            if layer.mode == "rpp":
                total = total + 0.5 * s.rpp_wd * (layer.weight_free.pow(2).sum() + layer.bias_free.pow(2).sum())
        if model.mode == "per":
            total = total + s.gated_wd * sum(g.w_gate.pow(2).sum() for g in model.gates)
        return total

    def step(self, state, step: int) -> dict[str, torch.Tensor]:
        for group in state.optimizers["model"].param_groups:
            group["lr"] = self._lr(step)
        index = torch.from_numpy(self.plan.batch_indices(step, self.seed))
        x, y = self.data.x_train[index].to(state.device), self.data.y_train[index].to(state.device)
        model = state.model
        mse = F.mse_loss(model(x), y)
        loss = mse + self._penalty(model)
        per = isinstance(model, EquivariantNet) and model.mode == "per"
        if per:
            reg = regularisers(model, self.groups)
            loss = loss + (torch.tensor(self.tuner.lambdas, device=reg.device, dtype=reg.dtype) * reg).sum()
        opt = state.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if self.plan.is_epoch_end(step):
            values = regularisers(model, self.groups).detach().cpu().numpy() if per else np.zeros(len(self.groups))
            self.tuner.observe(self.plan.epoch(step) + 1, values)
        return {"mse": mse.detach(), "loss": loss.detach()}
