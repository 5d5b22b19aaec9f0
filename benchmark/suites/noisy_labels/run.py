"""One job of the noisy-label suite: train a method's stages on the engine and turn their evaluations into values.

Every stage trains in its own folder of the job's run folder (``main``; or ``stage1-net1``, ``stage1-net2`` and
``finetune`` for Nested + Co-teaching), is checkpointed after every epoch and resumes from there; the engine keeps
the model of the best epoch on the selection set (``best.pt``). The job's values are read from the last stage's
per-epoch evaluations and from its selected model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.suites.noisy_labels.evaluation import EpochEvaluator, accuracy_by_width, mislabel_auc, representation
from benchmark.suites.noisy_labels.recipes import Recipe
from benchmark.suites.noisy_labels.splits import Splits
from benchmark.suites.noisy_labels.training import NoisyLabelTask, Stage, engine_config
from benchmark.training import load_best, resolve_device, train

__all__ = ["run_method", "MethodOutcome", "STAGE1_SEED_OFFSET"]

STAGE1_SEED_OFFSET = 10_000  # Nested + Co-teaching's second stage-1 network trains with seed + this
_CURVES = ("val_acc", "test_acc", "memorised", "fit_clean", "selection_precision", "best_k")


@dataclass
class MethodOutcome:
    values: dict[str, float]
    components: dict[str, dict] = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    curves: dict[str, dict[str, list]] = field(default_factory=dict)  # stage -> name -> per-epoch values


def _curves(evaluations: list[dict]) -> dict[str, list]:
    out = {"step": [int(e["step"]) for e in evaluations]}
    for name in _CURVES:
        if any(name in e for e in evaluations):
            out[name] = [e.get(name) for e in evaluations]
    return out


def run_method(method: str, recipe: Recipe, data: Splits, run_dir: Path, *, seed: int, device: str = "auto",
               progress: bool = True, on_progress: Callable[[int, int, float], None] | None = None,
               precision: str = "auto", cpu_threads: int = 0, weights: str | None = None) -> MethodOutcome:
    """Train ``method`` (all its stages) in ``run_dir`` and compute its values (see the module docstring)."""
    run_dir = Path(run_dir)
    if method == "nested_coteaching":
        stages = [(Stage("stage1-net1"), seed), (Stage("stage1-net2"), seed + STAGE1_SEED_OFFSET)]
    else:
        stages = [(Stage("main"), seed)]
    tasks = [NoisyLabelTask(method, recipe, data, seed=s, stage=st, weights=weights) for st, s in stages]
    finetune = NoisyLabelTask(method, recipe, data, seed=seed, stage=Stage("finetune"), weights=weights) \
        if method == "nested_coteaching" else None
    steps = [t.plan.steps(t.epochs) for t in tasks] + ([finetune.plan.steps(finetune.epochs)] if finetune else [])
    total, offset = sum(steps), 0

    def stage_progress(done: int, _total: int, rate: float) -> None:
        if on_progress is not None:
            on_progress(offset + done, total, rate)

    results, timing = [], {"train_seconds": 0.0}
    for task in tasks + ([finetune] if finetune else []):
        if task is finetune:  # stage 2 starts from each stage-1 network's selected model and its best width
            inits, widths = [], []
            for r, t in zip(results, tasks):
                net = t.build_model()
                info = load_best(run_dir / t.stage.name, net)
                inits.append(net.state_dict())
                widths.append(int(_at(r.evaluations, info["step"])["best_k"]))
            task.stage = Stage("finetune", init=tuple(inits), widths=tuple(widths))
            task.widths = list(widths)
        cfg = engine_config(recipe, task, seed=task.seed, device=device, progress=progress,
                            cpu_threads=cpu_threads, precision=precision)
        result = train(cfg, task, run_dir=run_dir / task.stage.name, on_progress=stage_progress,
                       evaluate=EpochEvaluator(task, resolve_device(device)), select=("val_acc", "max"))
        results.append(result)
        offset += cfg.steps
        timing["train_seconds"] += result.train_seconds
        timing.update(device=result.device, precision=result.precision)
    last_task, last = (finetune or tasks[0]), results[-1]
    outcome = _values(method, last_task, last, run_dir / last_task.stage.name, device)
    outcome.timing = timing
    outcome.curves = {task.stage.name: _curves(r.evaluations)
                      for task, r in zip(tasks + ([finetune] if finetune else []), results)}
    return outcome


def _at(evaluations: list[dict], step: int) -> dict:
    return next(e for e in evaluations if int(e["step"]) == int(step))


def _values(method: str, task: NoisyLabelTask, result, stage_dir: Path, device: str) -> MethodOutcome:
    evaluations = result.evaluations
    selected, last = _at(evaluations, result.best_step), evaluations[-1]
    test = [e["test_acc"] for e in evaluations]
    epoch_of = {int(e["step"]): i + 1 for i, e in enumerate(evaluations)}
    values = {"test_acc": selected["test_acc"], "test_acc_last": last["test_acc"],
              "accuracy_drop": max(test) - last["test_acc"]}
    curve = {"epochs": list(range(1, len(evaluations) + 1)), "test_acc": test,
             "val_acc": [e["val_acc"] for e in evaluations]}
    components = {"test_acc": {**curve, "selected_epoch": epoch_of[int(result.best_step)]},
                  "test_acc_last": {"epochs": len(evaluations)},
                  "accuracy_drop": {"best_epoch": int(np.argmax(test)) + 1, "best_test_acc": max(test)}}
    if "memorised" in last:
        values["memorised"] = last["memorised"]
        components["memorised"] = {"per_epoch": [e["memorised"] for e in evaluations],
                                   "fit_clean_per_epoch": [e["fit_clean"] for e in evaluations]}
    if "selection_precision" in last:
        values["selection_precision"] = last["selection_precision"]
        components["selection_precision"] = {"per_epoch": [e.get("selection_precision") for e in evaluations]}
    data = task.data
    if data.flipped is not None and (task.elr is not None or task.elr_plus):
        targets = task.elr.targets if task.elr is not None else sum(t.targets for t in task.elr_plus) / 2
        flagged = (targets.cpu().argmax(dim=1) != data.train_labels).numpy()
        values["mislabel_auc"] = mislabel_auc(flagged, data.flipped.numpy())
        components["mislabel_auc"] = {"flagged": int(flagged.sum()), "flipped": int(data.flipped.sum())}
    # the selected model's penultimate features on the test set
    model = task.build_model()
    load_best(stage_dir, model)
    model.to(resolve_device(device)).eval()
    width = int(selected["best_k"]) if "best_k" in selected else None
    evaluator = EpochEvaluator(task, resolve_device(device))
    outputs = evaluator.outputs(model, data.test_images)
    rep = representation(outputs, width)
    values["feature_hoyer"], values["participation_ratio"] = rep["feature_hoyer"], rep["participation_ratio"]
    components["feature_hoyer"] = components["participation_ratio"] = {"feature_dim": rep["feature_dim"],
                                                                      "split": "test"}
    if width is not None:
        values["best_width"] = float(width)
        val_outputs = evaluator.outputs(model, data.val_images)
        components["best_width"] = {
            "val_acc_by_width": (accuracy_by_width(val_outputs, data.val_labels) * 100).tolist(),
            "test_acc_by_width": (accuracy_by_width(outputs, data.test_labels) * 100).tolist()}
    return MethodOutcome(values, components)

