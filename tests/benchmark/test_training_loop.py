"""The training loop: determinism, checkpoints, exact resume, refusal of foreign checkpoints."""

import json

import numpy as np
import pytest
import torch
from models_toy_data import BarDataset, single_torch_thread  # noqa: F401 (autouse fixture)

from benchmark.suites.disentanglement.models import reference_config
from benchmark.suites.disentanglement.inference import encode
from benchmark.suites.disentanglement.training import TrainConfig, train
from benchmark.training import CHECKPOINT_NAME, CheckpointMismatchError, resolve_device, resolve_precision


def _cfg(name="qlae", steps=6, **model_overrides):
    return TrainConfig(model=reference_config(name, architecture="small", **model_overrides), steps=steps, batch_size=4,
                       seed=3, checkpoint_every=3, log_every=1, progress=False)


class InterruptedBars(BarDataset):
    """Raises KeyboardInterrupt when asked for its ``after``-th training batch (a job killed mid-run)."""

    def __init__(self, after):
        super().__init__()
        self.calls, self.after = 0, after

    def images_for_factors(self, classes, dtype=np.float32):
        if len(classes) > 1:  # the loop's one-image shape probe does not count
            self.calls += 1
            if self.calls == self.after:
                raise KeyboardInterrupt
        return super().images_for_factors(classes, dtype)


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("name", ["qlae", "beta_vae", "ql_infowgan_gp"])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, name):
    cfg = _cfg(name)
    straight = train(cfg, BarDataset(), run_dir=tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, InterruptedBars(after=5), run_dir=tmp_path / "b")  # dies in step 5, after the step-3 checkpoint
    assert torch.load(tmp_path / "b" / CHECKPOINT_NAME, weights_only=True)["step"] == 3
    resumed = train(cfg, InterruptedBars(after=10**9), run_dir=tmp_path / "b")  # same dataset, rerun
    assert resumed.start_step == 3 and resumed.steps == 6
    _assert_same_state(straight.model, resumed.model)  # bit for bit
    assert straight.final_losses == resumed.final_losses
    sa = torch.load(tmp_path / "a" / CHECKPOINT_NAME, weights_only=True)
    sb = torch.load(tmp_path / "b" / CHECKPOINT_NAME, weights_only=True)
    for phase in sa["optimizers"]:
        for idx, state in sa["optimizers"][phase]["state"].items():
            for key, value in state.items():
                assert torch.equal(value, sb["optimizers"][phase]["state"][idx][key])
    assert sa["rng"]["data"] == sb["rng"]["data"] and torch.equal(sa["rng"]["noise"], sb["rng"]["noise"])


def test_a_run_checkpointed_on_another_device_resumes_with_a_derived_noise_stream(tmp_path):
    """``device`` may change on resume, but a CUDA generator's state (Philox: 16 bytes) does not fit a CPU one."""
    cfg = _cfg("beta_vae")  # draws model noise every step
    first = train(TrainConfig(**{**cfg.__dict__, "steps": 3}), BarDataset(), run_dir=tmp_path / "a")
    ckpt = torch.load(tmp_path / "a" / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["rng"]["noise_device"] == "cpu"
    ckpt["rng"]["noise"], ckpt["rng"]["noise_device"] = torch.zeros(16, dtype=torch.uint8), "cuda"  # as CUDA saves it
    runs = []
    for folder in ("b", "c"):
        (tmp_path / folder).mkdir()
        torch.save(ckpt, tmp_path / folder / CHECKPOINT_NAME)
        with pytest.warns(UserWarning, match=r"saved on cuda and this run resumes on cpu: the noise stream restarts "
                                             r"from a seed derived from \(seed 3, step 3\)"):
            runs.append(train(cfg, BarDataset(), run_dir=tmp_path / folder))
    assert runs[0].start_step == 3 and runs[0].steps == 6
    _assert_same_state(runs[0].model, runs[1].model)  # deterministic
    assert first.start_step == 0
    # a checkpoint of an older version (no noise_device) whose state fits is restored as before
    del ckpt["rng"]["noise_device"]
    ckpt["rng"]["noise"] = torch.load(tmp_path / "a" / CHECKPOINT_NAME, weights_only=True)["rng"]["noise"]
    (tmp_path / "d").mkdir()
    torch.save(ckpt, tmp_path / "d" / CHECKPOINT_NAME)
    straight = train(cfg, BarDataset(), run_dir=tmp_path / "e")
    _assert_same_state(straight.model, train(cfg, BarDataset(), run_dir=tmp_path / "d").model)


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = train(_cfg(steps=3), BarDataset())
    b = train(_cfg(steps=3), BarDataset())
    _assert_same_state(a.model, b.model)
    c = train(TrainConfig(**{**_cfg(steps=3).__dict__, "seed": 4}), BarDataset())
    assert not torch.equal(a.model.encoder.head.weight, c.model.encoder.head.weight)


def test_checkpoint_contents(tmp_path):
    cfg = _cfg(steps=3)
    result = train(cfg, BarDataset(), run_dir=tmp_path)
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["step"] == 3
    assert ckpt["config"] == cfg.to_dict()
    assert TrainConfig.from_dict(ckpt["config"]) == cfg
    assert set(ckpt["versions"]) == {"python", "torch", "numpy", "benchmark"}
    assert ckpt["dataset"] == {"type": "BarDataset", "name": "bars-test", "factor_sizes": [4, 3, 2], "len": 24}
    assert set(ckpt["rng"]) >= {"data", "noise", "torch", "python"}
    assert set(ckpt["optimizers"]) == {"model"}
    assert ckpt["model"].keys() == result.model.state_dict().keys()
    assert not any(k.startswith("_orig_mod.") for k in ckpt["model"])
    record = json.loads((tmp_path / "train_result.json").read_text())
    assert record["steps"] == 3 and record["final_losses"] == result.final_losses and record["device"] == "cpu"
    assert set(result.final_losses) == {"loss", "bce", "quantization", "commitment"}
    assert result.steps_per_second > 0 and result.precision == "fp32"


def test_rerun_of_finished_run_does_no_work(tmp_path):
    first = train(_cfg(steps=3), InterruptedBars(after=10**9), run_dir=tmp_path)
    again = train(_cfg(steps=3), InterruptedBars(after=1), run_dir=tmp_path)  # would raise if it drew a batch
    assert again.start_step == 3 and again.train_seconds == 0.0 and again.final_losses == first.final_losses
    _assert_same_state(first.model, again.model)


def test_extending_a_run_continues_from_its_checkpoint(tmp_path):
    train(_cfg(steps=3), BarDataset(), run_dir=tmp_path)
    longer = train(_cfg(steps=6), BarDataset(), run_dir=tmp_path)
    straight = train(_cfg(steps=6), BarDataset(), run_dir=tmp_path / "straight")
    assert longer.start_step == 3
    _assert_same_state(longer.model, straight.model)


def test_checkpoint_of_another_config_or_dataset_is_refused(tmp_path):
    train(_cfg(steps=3), BarDataset(), run_dir=tmp_path)
    other = TrainConfig(**{**_cfg(steps=3).__dict__, "model": reference_config("qlae_no_weight_decay", architecture="small")})
    with pytest.raises(CheckpointMismatchError, match=r"checkpoint .*checkpoint.pt was written by a different "
                       r"configuration \(model.name: 'qlae' in the checkpoint, 'qlae_no_weight_decay' now; "
                       r"model.weight_decay: 0.1 in the checkpoint, 0.0 now\)\. Use another run folder"):
        train(other, BarDataset(), run_dir=tmp_path)
    with pytest.raises(CheckpointMismatchError, match="batch_size: 4 in the checkpoint, 8 now"):
        train(TrainConfig(**{**_cfg(steps=3).__dict__, "batch_size": 8}), BarDataset(), run_dir=tmp_path)

    class OtherBars(BarDataset):
        factor_sizes = (4, 3, 2)

    with pytest.raises(CheckpointMismatchError, match="dataset type: 'BarDataset' in the checkpoint, 'OtherBars' now"):
        train(_cfg(steps=3), OtherBars(), run_dir=tmp_path)


def test_progress_bar_shows_loss_and_steps_per_second(capsys):
    cfg = TrainConfig(**{**_cfg(steps=2).__dict__, "progress": True, "device": "cpu", "precision": "fp32"})
    train(cfg, BarDataset())
    err = capsys.readouterr().err
    assert "train qlae" in err and "loss=" in err and "steps_s=" in err


def test_device_and_precision_resolution_and_config_errors():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else resolve_device("auto").type)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    with pytest.raises(ValueError, match="precision 'bf16' needs a CUDA device; got device 'cpu'"):
        resolve_precision("bf16", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' was requested but torch sees no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device must be one of 'auto', 'cpu', 'cuda', 'mps'; got 'gpu'"):
        TrainConfig(device="gpu")
    with pytest.raises(ValueError, match="steps must be an integer >= 1; got 0"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'fp32', 'bf16', 'fp16'; got 'half'"):
        TrainConfig(precision="half")
    with pytest.raises(TypeError, match="cfg must be a TrainConfig; got dict"):
        train({}, BarDataset())


def test_non_finite_loss_stops_the_run_with_the_step():
    class NaNBars(BarDataset):
        def images_for_factors(self, classes, dtype=np.float32):
            return np.full((len(classes), 1, 32, 32), np.nan, dtype=dtype)

    with pytest.raises(FloatingPointError, match=r"training diverged at step 1: a loss is not finite \(\{'loss': nan"):
        train(_cfg(steps=2), NaNBars())


def test_periodic_evaluation_survives_resume(tmp_path):
    calls = []

    def evaluate(model):
        calls.append(model.training)
        return {"mean_code": encode(model, BarDataset().images_for_factors(np.array([[0, 0, 0], [3, 2, 1]]))).mean()}

    cfg = TrainConfig(**{**_cfg(steps=6).__dict__, "eval_every": 2})
    straight = train(cfg, BarDataset(), evaluate=evaluate)
    assert [e["step"] for e in straight.evaluations] == [2, 4, 6] and calls == [False] * 3
    with pytest.raises(KeyboardInterrupt):
        train(cfg, InterruptedBars(after=6), run_dir=tmp_path, evaluate=evaluate)
    resumed = train(cfg, InterruptedBars(after=10**9), run_dir=tmp_path, evaluate=evaluate)
    assert resumed.evaluations == straight.evaluations  # steps 2 (from the checkpoint), 4 and 6


def test_channels_last_flag_changes_layout_not_results():
    a = train(TrainConfig(**{**_cfg(steps=2).__dict__, "channels_last": True}), BarDataset())
    b = train(TrainConfig(**{**_cfg(steps=2).__dict__, "channels_last": False}), BarDataset())
    assert a.model.encoder.convs[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert not b.model.encoder.convs[3].weight.is_contiguous(memory_format=torch.channels_last)
    for k, v in a.final_losses.items():
        assert v == pytest.approx(b.final_losses[k], rel=1e-4, abs=1e-6)


def test_channels_last_default_is_cuda_only():
    result = train(_cfg(steps=1), BarDataset())
    assert not result.model.encoder.convs[3].weight.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="channels_last must be None, True or False; got 'yes'"):
        TrainConfig(channels_last="yes")


def test_cpu_threads_is_applied_during_training_and_restored():
    seen = []

    class ThreadBars(BarDataset):
        def images_for_factors(self, classes, dtype=np.float32):
            seen.append(torch.get_num_threads())
            return super().images_for_factors(classes, dtype)

    before = torch.get_num_threads()
    train(TrainConfig(**{**_cfg(steps=1).__dict__, "cpu_threads": 2}), ThreadBars())
    assert seen and set(seen) == {2} and torch.get_num_threads() == before


def test_on_progress_reports_every_log_every_steps_and_the_last_one():
    import dataclasses

    calls = []
    cfg = dataclasses.replace(_cfg(steps=7), log_every=3)
    train(cfg, BarDataset(), on_progress=lambda done, total, rate: calls.append((done, total, rate > 0)))
    assert calls == [(3, 7, True), (6, 7, True), (7, 7, True)]


def test_damaged_checkpoints_shortened_runs_and_file_run_dirs_are_refused_clearly(tmp_path):
    train(_cfg(steps=6), BarDataset(), run_dir=tmp_path / "a")
    with pytest.raises(CheckpointMismatchError, match=r"checkpoint .*checkpoint.pt is at step 6, past steps=3; a run "
                                                      r"is never shortened"):
        train(_cfg(steps=3), BarDataset(), run_dir=tmp_path / "a")
    for content in (b"", b"not a checkpoint", None):
        run_dir = tmp_path / f"damaged{len(content) if content is not None else 'dict'}"
        run_dir.mkdir()
        if content is None:
            torch.save({"weights": 1}, run_dir / CHECKPOINT_NAME)  # some other torch file
        else:
            (run_dir / CHECKPOINT_NAME).write_bytes(content)
        with pytest.raises(CheckpointMismatchError, match=r"checkpoint .*checkpoint.pt (cannot be read|is not a "
                                                          r"checkpoint of this training loop).*Delete it"):
            train(_cfg(steps=3), BarDataset(), run_dir=run_dir)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"run_dir .*file is a file; pass a folder"):  # before any step
        train(_cfg(steps=3), BarDataset(), run_dir=tmp_path / "file")


def test_a_diverged_model_is_never_checkpointed(tmp_path):
    class LateNaNBars(BarDataset):  # finite for two batches, then NaN
        calls = 0

        def images_for_factors(self, classes, dtype=np.float32):
            if len(classes) > 1:
                LateNaNBars.calls += 1
                if LateNaNBars.calls > 2:
                    return np.full((len(classes), 1, 32, 32), np.nan, dtype=dtype)
            return super().images_for_factors(classes, dtype)

    cfg = TrainConfig(**{**_cfg(steps=6).__dict__, "log_every": 100, "checkpoint_every": 3})
    with pytest.raises(FloatingPointError, match="training diverged at step 3"):
        train(cfg, LateNaNBars(), run_dir=tmp_path)
    assert not (tmp_path / CHECKPOINT_NAME).exists()
