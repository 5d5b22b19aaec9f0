"""The engine's support for epoch-based, multi-network methods with per-example state and model selection:
EpochPlan, task_state/load_task_state in checkpoints, and select= (best.pt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.training import (BEST_NAME, CheckpointMismatchError, EngineConfig, EpochPlan, load_best,
                                load_checkpoint, train)


# ---------------------------------------------------------------------------------------------- EpochPlan
def test_every_example_once_per_epoch_and_orders_differ_between_epochs_and_seeds():
    plan = EpochPlan(n_examples=10, batch_size=3)  # drop_last: 3 batches of 3, one example left out per epoch
    assert plan.steps_per_epoch == 3 and plan.steps(4) == 12
    epoch0 = np.concatenate([plan.batch_indices(s, seed=0) for s in range(3)])
    assert len(set(epoch0.tolist())) == 9 and np.array_equal(epoch0, plan.order(0, 0)[:9])
    assert not np.array_equal(plan.order(0, 0), plan.order(1, 0))
    assert not np.array_equal(plan.order(0, 0), plan.order(0, 1))
    assert np.array_equal(plan.batch_indices(4, seed=0), np.random.default_rng([0, 2, 1]).permutation(10)[3:6])
    assert [plan.epoch(s) for s in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    assert [plan.is_epoch_end(s) for s in range(6)] == [False, False, True, False, False, True]


def test_last_partial_batch_and_epoch_size_cap():
    plan = EpochPlan(n_examples=10, batch_size=3, drop_last=False)
    assert plan.steps_per_epoch == 4 and plan.batch_indices(3, seed=0).shape == (1,)
    assert EpochPlan(n_examples=100, batch_size=10, epoch_size=4).steps_per_epoch == 4


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_examples=0, batch_size=1), "n_examples must be an integer >= 1"),
    (dict(n_examples=5, batch_size=8), "exceeds the 5 examples"),
    (dict(n_examples=5, batch_size=2, epoch_size=0), "epoch_size must be None or an integer >= 1"),
])
def test_epoch_plan_refuses_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EpochPlan(**kwargs)


# ---------------------------------------------------------------------------- a two-network task with state
class TwoNetTask:
    """Two linear regressors on 40 examples; each example keeps an EMA of net a's predictions (task state) that
    feeds net b's loss, so resumption is exact only if the state is saved and restored."""

    label = "two-net"
    divergence_hint = "lower the learning rate"

    def __init__(self, seed: int = 0):
        g = np.random.default_rng(123)
        self.x = torch.tensor(g.normal(size=(40, 3)), dtype=torch.float32)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.tensor(g.normal(size=40), dtype=torch.float32)
        self.plan = EpochPlan(40, 8)
        self.seed = seed
        self.ema = torch.zeros(40)

    def data_identity(self):
        return {"name": "toy", "n": 40}

    def build_model(self):
        return nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 1)})

    def make_optimizers(self, model, device):
        return {k: torch.optim.SGD(model[k].parameters(), lr=0.05) for k in ("a", "b")}

    def step(self, state, step):
        idx = torch.as_tensor(self.plan.batch_indices(step, self.seed))
        x, y = self.x[idx], self.y[idx]
        pred_a = state.model["a"](x).squeeze(1)
        self.ema[idx] = 0.7 * self.ema[idx] + 0.3 * pred_a.detach()
        loss_a = ((pred_a - y) ** 2).mean()
        loss_b = ((state.model["b"](x).squeeze(1) - 0.5 * (y + self.ema[idx])) ** 2).mean()
        for name, loss in (("a", loss_a), ("b", loss_b)):
            state.optimizers[name].zero_grad()
            loss.backward()
            state.optimizers[name].step()
        return {"loss_a": loss_a.detach(), "loss_b": loss_b.detach()}

    def task_state(self):
        return {"ema": self.ema.clone()}

    def load_task_state(self, state):
        self.ema = state["ema"].clone()


def _evaluate(task):
    def evaluate(model):
        err = ((model["b"](task.x).squeeze(1) - task.y) ** 2).mean()
        # net a's first weight climbs from 0.28 to 0.88 over 40 steps: the gap to 0.6 is smallest at step 15
        return {"mse": float(err), "gap": abs(float(model["a"].weight[0, 0]) - 0.6)}
    return evaluate


def _cfg(steps, **kw):
    return EngineConfig(steps=steps, checkpoint_every=5, eval_every=5, log_every=5, progress=False, **kw)


def test_task_state_is_checkpointed_and_resume_is_exact(tmp_path):
    full_task = TwoNetTask()
    full = train(_cfg(20), full_task, run_dir=tmp_path / "full", evaluate=_evaluate(full_task))
    first = TwoNetTask()
    train(_cfg(10), first, run_dir=tmp_path / "cut", evaluate=_evaluate(first))  # "interrupted" after step 10
    assert torch.equal(load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["task"]["ema"], first.ema)
    resumed_task = TwoNetTask()  # a fresh process: the state comes from the checkpoint only
    resumed = train(_cfg(20), resumed_task, run_dir=tmp_path / "cut", evaluate=_evaluate(resumed_task))
    assert resumed.start_step == 10
    assert torch.equal(resumed_task.ema, full_task.ema)
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k])
    assert resumed.evaluations == full.evaluations


def test_a_checkpoint_without_the_task_state_is_refused(tmp_path):
    task = TwoNetTask()
    train(_cfg(5), task, run_dir=tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    del ckpt["task"]
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointMismatchError, match="holds no task state"):
        train(_cfg(10), TwoNetTask(), run_dir=tmp_path)


def test_select_keeps_the_best_evaluated_model_and_survives_resume(tmp_path):
    task = TwoNetTask()
    result = train(_cfg(40), task, run_dir=tmp_path / "run", evaluate=_evaluate(task), select=("gap", "min"))
    scores = [e["gap"] for e in result.evaluations]
    best = int(np.argmin(scores))
    assert result.best_step == result.evaluations[best]["step"] == 15 and result.best_score == scores[best]
    model = task.build_model()
    info = load_best(tmp_path / "run", model)
    assert info["step"] == 15 and info["score"] == pytest.approx(scores[best])
    with torch.no_grad():
        assert abs(float(model["a"].weight[0, 0]) - 0.6) == pytest.approx(scores[best], rel=1e-6)
    # interrupted halfway and resumed: the same best step and the same kept weights
    t1 = TwoNetTask()
    train(_cfg(20), t1, run_dir=tmp_path / "cut", evaluate=_evaluate(t1), select=("gap", "min"))
    t2 = TwoNetTask()
    resumed = train(_cfg(40), t2, run_dir=tmp_path / "cut", evaluate=_evaluate(t2), select=("gap", "min"))
    assert (resumed.best_step, resumed.best_score) == (result.best_step, result.best_score)
    kept = torch.load(tmp_path / "cut" / BEST_NAME, weights_only=True)["model"]
    for k, v in torch.load(tmp_path / "run" / BEST_NAME, weights_only=True)["model"].items():
        assert torch.equal(v, kept[k])


def test_select_errors_are_clear(tmp_path):
    task = TwoNetTask()
    with pytest.raises(ValueError, match="select must be"):
        train(_cfg(5), task, run_dir=tmp_path, evaluate=_evaluate(task), select=("mse", "best"))
    with pytest.raises(ValueError, match="pass evaluate and run_dir"):
        train(_cfg(5), task, select=("mse", "max"))
    with pytest.raises(KeyError, match="which evaluate\\(\\) does not return"):
        train(_cfg(5), TwoNetTask(), run_dir=tmp_path / "b", evaluate=_evaluate(task), select=("acc", "max"))
    with pytest.raises(CheckpointMismatchError, match="does not exist"):
        load_best(tmp_path / "nowhere", task.build_model())


def test_patience_stops_the_run_and_a_resumed_run_stays_stopped(tmp_path):
    task = TwoNetTask()  # the gap to 0.6 is smallest at step 15 (evaluations every 5 steps)
    result = train(_cfg(40), task, run_dir=tmp_path, evaluate=_evaluate(task), select=("gap", "min"), patience=10)
    assert result.stopped_early and result.steps == 25 and result.best_step == 15
    assert [e["step"] for e in result.evaluations] == [5, 10, 15, 20, 25]
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 25
    again = TwoNetTask()
    resumed = train(_cfg(40), again, run_dir=tmp_path, evaluate=_evaluate(again), select=("gap", "min"), patience=10)
    assert resumed.stopped_early and resumed.steps == 25 and resumed.start_step == 25 and resumed.train_seconds == 0
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        train(_cfg(5), TwoNetTask(), run_dir=tmp_path / "p", evaluate=_evaluate(task), patience=3)
