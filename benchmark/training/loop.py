"""The training engine: ``train(cfg, task, run_dir=...) -> TrainResult``, readable top to bottom.

The engine knows no model family and no kind of data. A suite hands it a :class:`TrainingTask` (build the
model, make its optimizers, run one training step: sample a batch, forward, backward, optimizer steps) and an
:class:`EngineConfig` (or a subclass with the suite's own fields); the engine owns everything around the step:

Order: device and precision -> seeds -> ``task.build_model()`` -> ``task.make_optimizers()`` -> resume from
``run_dir/checkpoint.pt`` if present -> loop (``task.step(state, step)``; divergence guard and progress every
``log_every`` steps; optional evaluation every ``eval_every`` steps and at the end; checkpoint every
``checkpoint_every`` steps and at the end) -> result.

Beyond one model and one loss, the engine carries what noisy-label and semi-supervised methods need:

* several networks: ``build_model()`` returns one module holding them (an ``nn.ModuleDict`` of two networks and
  their mean teachers, say), with one optimizer per network in ``make_optimizers``;
* per-example state (ELR's target estimates, a selection's running counts): a task that defines
  ``task_state() -> dict`` and ``load_task_state(dict)`` has that dict saved in every checkpoint and restored on
  resume, so resumption stays exact;
* epochs: :class:`benchmark.training.epochs.EpochPlan` maps steps to epochs and batches (``eval_every`` set to the
  steps of an epoch evaluates after every epoch);
* model selection: ``train(..., select=("val_acc", "max"))`` keeps the model of the best evaluation so far in
  ``run_dir/best.pt`` (:func:`load_best`), as trainers that select on a clean validation set do; ``patience=n``
  stops the run once the best evaluation is ``n`` steps old (early stopping; a stopped run stays stopped on resume).

Exactness of resume: a checkpoint holds the unwrapped ``state_dict``, every optimizer state, the step, the
config, and the states of all random streams (numpy batch sampler, torch noise generator, torch and Python
global RNGs), so an interrupted run resumed from its last checkpoint produces the same numbers as an
uninterrupted run with the same seed (bit for bit on CPU; tested).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import random
import time
import warnings
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from tqdm.auto import tqdm

from benchmark.training.config import RESUME_FREE_FIELDS, EngineConfig

__all__ = ["train", "TrainResult", "TrainingTask", "StepState", "resolve_device", "resolve_precision",
           "CHECKPOINT_NAME", "BEST_NAME", "CheckpointMismatchError", "load_checkpoint", "save_checkpoint", "torch_threads",
           "load_best"]

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"
RESULT_NAME = "train_result.json"


class CheckpointMismatchError(ValueError):
    """The checkpoint in the run folder was written by another configuration or dataset, is damaged, or is past
    the requested number of steps."""


@dataclasses.dataclass
class TrainResult:
    """What a training run produced.

    ``final_losses`` are the named loss parts of the last step (floats); ``train_seconds`` and
    ``steps_per_second`` cover the steps run by this call only (0 when the run was already complete).
    """

    model: torch.nn.Module
    config: EngineConfig
    final_losses: dict[str, float]
    steps: int  # steps completed in total
    start_step: int  # step the call started from (> 0 when resumed)
    train_seconds: float
    steps_per_second: float
    device: str
    precision: str
    run_dir: Path | None
    evaluations: list[dict[str, float]] = dataclasses.field(default_factory=list)  # {"step": s, **evaluate(model)}
    best_step: int | None = None  # with ``select``: the step of the best evaluation (its model is in best.pt)
    best_score: float | None = None
    stopped_early: bool = False  # with ``patience``: the run stopped before ``config.steps``

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        d["config"] = self.config.to_dict()
        d["run_dir"] = None if self.run_dir is None else str(self.run_dir)
        return d


# --------------------------------------------------------------------------------------------------
# small pure helpers
@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA if available, then MPS, then CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch sees no CUDA GPU; use device='auto' or 'cpu'.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was requested but MPS is not available; use device='auto' or 'cpu'.")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' -> 'bf16' on CUDA (fp16 if the GPU lacks bf16), 'fp32' elsewhere. Autocast runs on CUDA only."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if name in ("bf16", "fp16") and device.type != "cuda":
        raise ValueError(f"precision {name!r} needs a CUDA device; got device {device.type!r}. Use precision='fp32'.")
    return name


@dataclasses.dataclass
class StepState:
    """What :meth:`TrainingTask.step` works with: the model, its optimizers and the engine's random streams.

    ``data_rng`` (numpy) draws batches and ``noise`` (torch, on ``device``) draws model noise; both are saved in
    every checkpoint. ``autocast()`` is the precision's context (a no-op in fp32) and ``scaler`` the fp16
    GradScaler (disabled otherwise); ``memory_format`` is the layout batches should take.
    """

    model: torch.nn.Module
    optimizers: dict[str, torch.optim.Optimizer]
    data_rng: np.random.Generator
    noise: torch.Generator
    device: torch.device
    memory_format: torch.memory_format
    autocast: Callable[[], Any]
    scaler: torch.amp.GradScaler


@runtime_checkable
class TrainingTask(Protocol):
    """What a suite gives the engine: one model to train and how one step of it runs.

    ``label`` names the run in the progress bar; ``data_identity()`` is what a checkpoint records of the data
    (a resumed run must see the same); ``build_model()`` is called right after seeding (initialisation draws
    from torch's global generator); ``make_optimizers(model, device)`` after the model is on its device;
    ``step(state, step)`` runs training step ``step`` (0-based) and returns its named loss parts (tensors,
    detached). ``divergence_hint`` ends the error raised when a loss is not finite.

    Optionally, ``task_state() -> dict`` and ``load_task_state(dict)``: state of the task itself (per-example
    targets, running counts; tensors, arrays and plain values) saved in every checkpoint and restored on resume.
    """

    label: str
    divergence_hint: str

    def data_identity(self) -> dict[str, Any]: ...

    def build_model(self) -> torch.nn.Module: ...

    def make_optimizers(self, model: torch.nn.Module, device: torch.device) -> dict[str, torch.optim.Optimizer]: ...

    def step(self, state: StepState, step: int) -> dict[str, torch.Tensor]: ...


def _rng_states(data_rng: np.random.Generator, noise: torch.Generator) -> dict[str, Any]:
    states = {
        "data": data_rng.bit_generator.state,
        "noise": noise.get_state(),
        "noise_device": noise.device.type,  # its state's format is the device's (CPU: mt19937, CUDA: Philox)
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["torch_cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any], data_rng: np.random.Generator, noise: torch.Generator, *,
                    seed: int, step: int) -> None:
    """Restore the random streams of a checkpoint.

    ``device`` may change on resume (CUDA -> CPU and back), but a generator's state only fits a generator of
    its own device type. Then the model-noise stream restarts from a seed derived from (seed, step), so the
    run goes on deterministically; it is not the stream an uninterrupted run on one device would have drawn.
    """
    data_rng.bit_generator.state = states["data"]
    saved = states["noise"]
    saved_device = states.get("noise_device")  # absent in checkpoints of suite versions before it was stored
    if saved_device == noise.device.type or (saved_device is None and saved.numel() == noise.get_state().numel()):
        noise.set_state(saved)
    else:
        noise.manual_seed(int(np.random.SeedSequence([seed, step, 1]).generate_state(1)[0]))
        warnings.warn(f"the checkpoint's model-noise generator was saved on {saved_device or 'another device'} and this "
                      f"run resumes on {noise.device.type}: the noise stream restarts from a seed derived from (seed "
                      f"{seed}, step {step}); the results differ from an uninterrupted run on one device.", stacklevel=2)
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    if "torch_cuda" in states and torch.cuda.is_available() and len(states["torch_cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["torch_cuda"])


def _versions() -> dict[str, str]:
    import benchmark

    return {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": np.__version__,
            "benchmark": benchmark.__version__}


def _plain(value: Any) -> Any:
    """JSON-like view of a config value: tuples as lists, so a checkpoint's lists compare equal to them."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _differences(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: a in the checkpoint, b now`` for every differing entry, nested keys dotted (``model.lr``)."""
    diffs = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += _differences(a, b, f"{prefix}{key}.")
        elif _plain(a) != _plain(b):
            diffs.append(f"{prefix}{key}: {a!r} in the checkpoint, {b!r} now")
    return diffs


def _check_compatible(path: Path, ckpt: dict[str, Any], cfg: EngineConfig, data: dict[str, Any]) -> None:
    """Refuse a checkpoint written by another configuration or dataset, naming the first differences."""
    saved = {k: v for k, v in dict(ckpt["config"]).items() if k not in RESUME_FREE_FIELDS}
    now = {k: v for k, v in cfg.to_dict().items() if k not in RESUME_FREE_FIELDS}
    diffs = _differences(saved, now)
    data_saved = ckpt["dataset"]
    for key in data:
        if data_saved.get(key) != data[key]:
            diffs.append(f"dataset {key}: {data_saved.get(key)!r} in the checkpoint, {data[key]!r} now")
    if diffs:
        raise CheckpointMismatchError(
            f"checkpoint {path} was written by a different configuration ({'; '.join(diffs[:5])}). "
            f"Use another run folder, or delete the checkpoint to start this run from scratch."
        )


_CHECKPOINT_KEYS = ("model", "optimizers", "step", "config", "dataset", "rng", "final_losses")
_SELECT_MODES = ("max", "min")


def _check_select(select) -> tuple[str, str] | None:
    if select is None:
        return None
    if (not isinstance(select, (tuple, list)) or len(select) != 2 or not isinstance(select[0], str)
            or select[1] not in _SELECT_MODES):
        raise ValueError(f"select must be (evaluation name, 'max' or 'min'), e.g. ('val_acc', 'max'); got {select!r}.")
    return select[0], select[1]


def _best_of(evaluations: list[dict[str, float]], select: tuple[str, str] | None) -> tuple[int | None, float | None]:
    """(step, score) of the first best evaluation under ``select``; (None, None) without one."""
    if select is None:
        return None, None
    name, mode = select
    best_step, best = None, None
    for e in evaluations:
        if name not in e:
            raise KeyError(f"select names {name!r}, which evaluate() does not return (it returns "
                           f"{sorted(k for k in e if k != 'step')}).")
        score = float(e[name])
        if np.isfinite(score) and (best is None or (score > best if mode == "max" else score < best)):
            best_step, best = int(e["step"]), score
    return best_step, best


def load_best(run_dir: str | Path, model: torch.nn.Module) -> dict[str, Any]:
    """Load the model that ``train(..., select=...)`` kept in ``run_dir/best.pt`` into ``model``; returns
    ``{"step", "score", "select"}``. A missing or damaged file is a CheckpointMismatchError."""
    path = Path(run_dir) / BEST_NAME
    if not path.exists():
        raise CheckpointMismatchError(f"{path} does not exist: train with select=(name, 'max'|'min') and an "
                                      f"evaluate function to keep the best model.")
    try:
        best = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(best["model"])
    except Exception as exc:
        raise CheckpointMismatchError(f"{path} cannot be loaded into this model ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0][:160] if str(exc) else ''}). Delete the run folder's "
                                      f"checkpoints to train again.") from None
    return {"step": int(best["step"]), "score": float(best["score"]), "select": list(best["select"])}


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at ``path``; a damaged one (empty, truncated, another file) is a CheckpointMismatchError."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises EOFError, RuntimeError, UnpicklingError... for damaged files
        first = (str(exc).strip().splitlines() or [""])[0][:160]  # torch's own advice (weights_only=False) is unsafe
        raise CheckpointMismatchError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {first}); it is damaged (an interrupted "
            f"copy?). Delete it to train this run from scratch.") from None
    missing = [k for k in _CHECKPOINT_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointMismatchError(f"checkpoint {path} is not a checkpoint of this training loop (it lacks "
                                      f"{missing}). Delete it to train this run from scratch.")
    return ckpt


def save_checkpoint(path: Path, **contents: Any) -> None:
    """Write a checkpoint atomically (a temporary file renamed over ``path``)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # per process: two trainers never share a half-written file
    torch.save(contents, tmp)
    os.replace(tmp, path)  # atomic: an interruption never leaves a half-written checkpoint


# --------------------------------------------------------------------------------------------------
def train(cfg: EngineConfig, task: TrainingTask, *, run_dir: str | Path | None = None,
          evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
          on_progress: Callable[[int, int, float], None] | None = None,
          select: tuple[str, str] | None = None, patience: int | None = None) -> TrainResult:
    """Train ``task``'s model for ``cfg.steps`` steps; resume from ``run_dir`` if it holds a checkpoint.

    Parameters
    ----------
    cfg : EngineConfig
        Or a suite's subclass of it: all of ``cfg.to_dict()`` is saved in the checkpoints and must match on resume
        (except :data:`RESUME_FREE_FIELDS`).
    task : TrainingTask
        Builds the model and its optimizers and runs one step (see :class:`TrainingTask`).
    run_dir : path, optional
        Folder for ``checkpoint.pt`` (every ``cfg.checkpoint_every`` steps and at the end) and
        ``train_result.json``. Without it nothing is written and nothing is resumed.
    evaluate : callable, optional
        ``evaluate(model) -> {name: float}``, run under ``torch.no_grad()`` in eval mode every
        ``cfg.eval_every`` steps (if > 0) and after the last step; results (with their step) are kept in the
        checkpoint and returned in ``TrainResult.evaluations``.
    on_progress : callable, optional
        ``on_progress(steps_done, steps_total, steps_per_second)``, called every ``cfg.log_every`` steps and
        after the last one (for progress shown by another process, e.g. the suite's worker pool).
    select : (name, 'max' or 'min'), optional
        Keep the model of the best evaluation so far (by ``evaluate``'s ``name``; the first best wins ties) in
        ``run_dir/best.pt``; :func:`load_best` loads it. Needs ``evaluate`` and ``run_dir``.
    patience : int, optional
        With ``select``: stop after the evaluation at which the best one is at least ``patience`` steps old (no
        evaluation scores finite yet: no stop). The checkpoint records the stop, so a resumed run stays stopped.

    Returns
    -------
    TrainResult
        The trained model (in train mode, on the device) with final losses and timing. If the checkpoint in
        ``run_dir`` already reached ``cfg.steps``, the model is loaded and no step is run.

    Raises
    ------
    CheckpointMismatchError
        When ``run_dir`` holds a checkpoint of another configuration or dataset.
    FloatingPointError
        When a loss is not finite at a logging step (the model is never checkpointed then).
    """
    if not isinstance(cfg, EngineConfig):
        raise TypeError(f"cfg must be an EngineConfig; got {type(cfg).__name__}.")
    threads_before = torch.get_num_threads()
    if cfg.cpu_threads:
        torch.set_num_threads(cfg.cpu_threads)
    try:
        if patience is not None and (select is None or isinstance(patience, bool) or not isinstance(patience, int)
                                     or patience < 1):
            raise ValueError(f"patience must be an integer >= 1 (steps), with select; got {patience!r}"
                             f"{' and no select' if select is None else ''}.")
        return _train(cfg, task, run_dir=run_dir, evaluate=evaluate, on_progress=on_progress,
                      select=_check_select(select), patience=patience)
    finally:
        torch.set_num_threads(threads_before)


def _train(cfg: EngineConfig, task: TrainingTask, *, run_dir, evaluate, on_progress=None, select=None,
           patience=None) -> TrainResult:
    """The body of :func:`train` (which sets and restores the CPU thread count around it)."""
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    run_dir = None if run_dir is None else Path(run_dir)
    ckpt_path = None if run_dir is None else run_dir / CHECKPOINT_NAME
    if select is not None and (evaluate is None or run_dir is None):
        raise ValueError("select keeps the best evaluated model in the run folder: pass evaluate and run_dir too.")
    has_task_state = callable(getattr(task, "task_state", None)) and callable(getattr(task, "load_task_state", None))

    # seeds: model init (torch global), batches (numpy Generator), model noise (torch Generator)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    data_rng = np.random.default_rng([cfg.seed, 0])
    noise = torch.Generator(device=device).manual_seed(cfg.seed)

    # model and optimizers
    model = task.build_model()
    # channels-last helps cuDNN tensor cores; on CPU it gains ~10% at batch 128 and is slower on tiny inputs
    use_channels_last = cfg.channels_last if cfg.channels_last is not None else device.type == "cuda"
    memory_format = torch.channels_last if use_channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format).train()
    optimizers = task.make_optimizers(model, device)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext

    step_state = StepState(model, optimizers, data_rng, noise, device, memory_format, autocast, scaler)
    data = task.data_identity()

    # resume
    start_step, final_losses, evaluations, stopped = 0, {}, [], False
    latest: dict[str, torch.Tensor] = {}  # newest value of every loss part (GAN generator parts are not every step)
    if run_dir is not None and run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"run_dir {run_dir} is a file; pass a folder for the checkpoints.")
    if ckpt_path is not None and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        _check_compatible(ckpt_path, ckpt, cfg, data)
        if int(ckpt["step"]) > cfg.steps:
            raise CheckpointMismatchError(
                f"checkpoint {ckpt_path} is at step {int(ckpt['step'])}, past steps={cfg.steps}; a run is never "
                f"shortened. Use steps >= {int(ckpt['step'])} or another run folder.")
        model.load_state_dict(ckpt["model"])
        for phase, state in ckpt["optimizers"].items():
            optimizers[phase].load_state_dict(state)
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        start_step, final_losses = int(ckpt["step"]), dict(ckpt["final_losses"])
        _set_rng_states(ckpt["rng"], data_rng, noise, seed=cfg.seed, step=start_step)
        latest = {k: torch.tensor(v) for k, v in final_losses.items()}
        evaluations = list(ckpt.get("evaluations", []))
        stopped = bool(ckpt.get("stopped", False))
        if has_task_state:
            if "task" not in ckpt:
                raise CheckpointMismatchError(f"checkpoint {ckpt_path} holds no task state, which this task keeps "
                                              f"(per-example state). Delete it to train this run from scratch.")
            task.load_task_state(ckpt["task"])
    best_step, best_score = _best_of(evaluations, select)

    def save(step_done: int) -> None:
        if ckpt_path is None:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(
            ckpt_path, model=model.state_dict(), optimizers={k: o.state_dict() for k, o in optimizers.items()},
            scaler=scaler.state_dict() if scaler.is_enabled() else None, step=step_done, config=cfg.to_dict(),
            dataset=data, rng=_rng_states(data_rng, noise),
            final_losses={k: float(v) for k, v in latest.items()}, evaluations=evaluations,
            versions=_versions(), stopped=stopped, **({"task": task.task_state()} if has_task_state else {}),
        )

    def save_best(step_done: int, score: float) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(run_dir / BEST_NAME, model=model.state_dict(), step=step_done, score=score,
                        select=list(select))

    # the loop
    bar = tqdm(total=cfg.steps, initial=min(start_step, cfg.steps), disable=not cfg.progress,
               desc=f"train {task.label}", unit="step", dynamic_ncols=True)
    t0 = time.perf_counter()
    last = start_step
    for step in range(start_step, cfg.steps if not stopped else start_step):
        latest.update(task.step(step_state, step))
        done = last = step + 1
        checkpoint_now = (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.steps
        if done % cfg.log_every == 0 or checkpoint_now:  # never checkpoint a diverged model
            final_losses = {k: float(v) for k, v in latest.items()}  # empty while fp16 skips every step
            if not all(np.isfinite(v) for v in final_losses.values()):
                raise FloatingPointError(
                    f"training diverged at step {done}: a loss is not finite ({final_losses}); "
                    f"{task.divergence_hint}."
                )
            if scaler.is_enabled() and float(scaler.get_scale()) < 1.0:  # fp16 skipped step after step since 2**16
                raise FloatingPointError(
                    f"training diverged at step {done}: under fp16 the gradients overflow even at loss scale "
                    f"{float(scaler.get_scale()):g} (every such step is skipped); {task.divergence_hint}, or "
                    f"train with precision='bf16' or 'fp32'."
                )
            rate = (done - start_step) / max(time.perf_counter() - t0, 1e-9)
            first = next(iter(final_losses.values()), float("nan"))
            bar.set_postfix(loss=f"{first:.4f}", steps_s=f"{rate:.2f}")
            if on_progress is not None:
                on_progress(done, cfg.steps, rate)
        bar.update(1)
        if evaluate is not None and ((cfg.eval_every and done % cfg.eval_every == 0) or done == cfg.steps):
            model.eval()
            with torch.no_grad():
                scores = evaluate(model)
            model.train()
            evaluations.append({"step": done, **{k: float(v) for k, v in scores.items()}})
            step_now, score_now = _best_of(evaluations, select)
            if step_now is not None and step_now == done:  # this evaluation is the new best: keep its model
                best_step, best_score = step_now, score_now
                save_best(done, score_now)
            if patience and best_step is not None and done - best_step >= patience and done < cfg.steps:
                stopped = True  # early stopping: saved now, so that a resumed run stays stopped
                save(done)
                break
        if checkpoint_now:
            save(done)
    bar.close()
    seconds = time.perf_counter() - t0

    steps_run = max(last - start_step, 0)
    result = TrainResult(
        model=model, config=cfg, final_losses=final_losses, steps=last if stopped else max(cfg.steps, start_step),
        start_step=start_step, stopped_early=stopped,
        train_seconds=seconds if steps_run else 0.0, steps_per_second=steps_run / seconds if steps_run else 0.0,
        device=str(device), precision=precision, run_dir=run_dir, evaluations=evaluations,
        best_step=best_step, best_score=best_score,
    )
    if run_dir is not None:
        (run_dir / RESULT_NAME).write_text(json.dumps(result.to_dict(), indent=2))
    return result
