"""The noisy-label suite's trainers on tiny data: schedules, augmentation, the co-teaching and fine-tuning steps,
ELR's state under resume, and the per-epoch evaluation against brute force."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.suites.noisy_labels.evaluation import (EpochEvaluator, accuracy_by_width, logits, mislabel_auc,
                                                      network_outputs)
from benchmark.suites.noisy_labels.profiles import PROFILES
from benchmark.suites.noisy_labels.recipes import SETTINGS
from benchmark.suites.noisy_labels.run import run_method
from benchmark.suites.noisy_labels.splits import holdout_indices, load_splits, read_images
from benchmark.suites.noisy_labels.training import NoisyLabelTask, Stage, augment, lr_at
from benchmark.training import EngineConfig, EpochPlan, StepState, train

RECIPE = PROFILES["smoke"].recipe


@pytest.fixture(scope="module")
def data():
    return load_splits(SETTINGS["twin-smoke"])


def test_smoke_setting_splits(data):
    assert data.train_images.shape == (256, 3, 32, 32) and data.train_images.dtype == torch.uint8
    assert data.val_images.shape[0] == 64 and data.test_images.shape[0] == 128
    assert data.flipped.float().mean() == pytest.approx(0.4, abs=0.02)
    assert torch.equal(data.train_labels != data.clean_labels, data.flipped)
    assert data.selection == "clean_val" and len(data.train_hash) == 64


def test_holdout_is_evenly_spaced_tenth():
    held = holdout_indices(50_000)
    assert held.size == 5000 and held[0] == 0 and held[-1] == 49_999 and np.all(np.diff(held) >= 9)


def test_learning_rate_schedules():
    plan = EpochPlan(100, 10)  # 10 steps per epoch
    assert lr_at(0, plan, lr=0.1, milestones=(2, 4), gamma=0.1) == pytest.approx(0.1)
    assert lr_at(25, plan, lr=0.1, milestones=(2, 4), gamma=0.1) == pytest.approx(0.01)
    assert lr_at(45, plan, lr=0.1, milestones=(2, 4), gamma=0.1) == pytest.approx(0.001)
    assert lr_at(4, plan, lr=0.1, warmup_steps=10) == pytest.approx(0.05)  # (4 + 1) / 10 of the way
    assert lr_at(0, plan, lr=0.1, cosine_restart=4, eta_min=0.0) == pytest.approx(0.1)
    assert lr_at(20, plan, lr=0.1, cosine_restart=4, eta_min=0.0) == pytest.approx(0.05)  # half-way, epoch 2 of 4
    assert lr_at(40, plan, lr=0.1, cosine_restart=4, eta_min=0.0) == pytest.approx(0.1)  # restarted


def test_augment_crop_flip_is_seeded_and_keeps_content():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    a = augment(x, "crop_flip", np.random.default_rng(0))
    b = augment(x, "crop_flip", np.random.default_rng(0))
    assert torch.equal(a, b) and a.shape == x.shape
    assert torch.equal(augment(x, "none", np.random.default_rng(0)), x)
    flipped = augment(x, "flip", np.random.default_rng(1))
    for i in range(2):  # each image is itself or its mirror image
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))


def _state(model, task, seed=0):
    return StepState(model, task.make_optimizers(model, torch.device("cpu")), np.random.default_rng(seed),
                     torch.Generator().manual_seed(seed), torch.device("cpu"), torch.contiguous_format,
                     lambda: torch.autocast("cpu", enabled=False), torch.amp.GradScaler("cuda", enabled=False))


def test_coteaching_step_trains_each_network_on_the_others_small_loss_selection(data):
    task = NoisyLabelTask("coteaching", RECIPE.replace(forget_rate=0.5, n_gradual=0), data, seed=0)
    torch.manual_seed(0)
    model = task.build_model()
    state = _state(model, task)
    index = torch.from_numpy(task.plan.batch_indices(0, 0))
    x = data.train_images[index].float() / 255
    y = data.train_labels[index]
    with torch.no_grad():
        per1 = F.cross_entropy(model["net1"](x), y, reduction="none")
        per2 = F.cross_entropy(model["net2"](x), y, reduction="none")
    keep1 = torch.argsort(per1, stable=True)[:int(0.5 * len(y))]
    keep2 = torch.argsort(per2, stable=True)[:int(0.5 * len(y))]
    out = task.step(state, 0)
    # net 1's loss is its cross-entropy on net 2's selection, before the update
    assert float(out["loss1"]) == pytest.approx(float(per1[keep2].mean()), rel=1e-5)
    assert float(out["loss2"]) == pytest.approx(float(per2[keep1].mean()), rel=1e-5)
    assert float(out["forget_rate"]) == 0.5
    clean = ~data.flipped[index]
    assert task.selected[0] == 2 * len(keep1)
    assert task.selected[1] == float(clean[keep1].sum() + clean[keep2].sum())


def test_finetune_step_selects_each_half_at_the_networks_width(data):
    recipe = RECIPE.replace(finetune_forget_rate=0.25)
    task = NoisyLabelTask("nested_coteaching", recipe, data, seed=0, stage=Stage("finetune", widths=(3, 7)))
    torch.manual_seed(1)
    model = task.build_model()
    state = _state(model, task)
    index = torch.from_numpy(task.plan.batch_indices(0, 0))
    x, y = data.train_images[index].float() / 255, data.train_labels[index]
    half = len(y) // 2
    model.eval()
    with torch.no_grad():
        per1 = F.cross_entropy(model["net1"](x[:half], width=3), y[:half], reduction="none")
        per2 = F.cross_entropy(model["net2"](x[half:], width=7), y[half:], reduction="none")
    model.train()
    n_keep = int(0.75 * half)
    keep1, keep2 = torch.argsort(per1, stable=True)[:n_keep], torch.argsort(per2, stable=True)[:n_keep]
    task.step(state, 0)
    clean = ~data.flipped[index]
    assert task.selected[0] == 2 * n_keep
    assert task.selected[1] == float(clean[:half][keep1].sum() + clean[half:][keep2].sum())


def test_elr_targets_are_task_state_and_resume_is_exact(data, tmp_path):
    recipe = RECIPE.replace(epochs=2)

    def run(steps, run_dir):
        task = NoisyLabelTask("elr", recipe, data, seed=3)
        cfg = EngineConfig(steps=steps, seed=3, checkpoint_every=task.plan.steps_per_epoch,
                           eval_every=task.plan.steps_per_epoch, progress=False, log_every=1)
        result = train(cfg, task, run_dir=run_dir, evaluate=EpochEvaluator(task, "cpu"), select=("val_acc", "max"))
        return task, result

    full_task, full = run(16, tmp_path / "full")
    assert full_task.elr.targets.abs().sum() > 0
    run(8, tmp_path / "cut")
    resumed_task, resumed = run(16, tmp_path / "cut")
    assert resumed.start_step == 8
    assert torch.equal(resumed_task.elr.targets, full_task.elr.targets)
    assert resumed.evaluations == full.evaluations


def test_run_method_nested_coteaching_trains_three_stages_and_reads_out_at_best_width(data, tmp_path):
    outcome = run_method("nested_coteaching", RECIPE, data, tmp_path, seed=0, device="cpu", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finetune", "stage1-net1", "stage1-net2"]
    assert set(outcome.curves) == {"stage1-net1", "stage1-net2", "finetune"}
    assert 1 <= outcome.values["best_width"] <= 16  # smoke: width 4 -> 16 features
    by_width = outcome.components["best_width"]["val_acc_by_width"]
    assert outcome.values["best_width"] == int(np.argmax(np.asarray(by_width) - 1e-3 * np.arange(16))) + 1
    assert 0 <= outcome.values["selection_precision"] <= 1
    assert outcome.values["accuracy_drop"] >= 0


def test_epoch_evaluator_matches_brute_force(data):
    task = NoisyLabelTask("coteaching", RECIPE, data, seed=0)
    torch.manual_seed(2)
    model = task.build_model().eval()
    scores = EpochEvaluator(task, "cpu")(model)
    with torch.no_grad():
        def predict(images):
            x = images.float() / 255
            return ((model["net1"](x) + model["net2"](x)) / 2).argmax(1)
        test_acc = float((predict(data.test_images) == data.test_labels).double().mean() * 100)
        flipped = data.flipped
        memorised = float((predict(data.train_images[flipped]) == data.train_labels[flipped]).double().mean())
    assert scores["test_acc"] == pytest.approx(test_acc, abs=1e-9)
    assert scores["memorised"] == pytest.approx(memorised, abs=1e-9)
    assert "selection_precision" not in scores  # nothing selected yet


def test_accuracy_by_width_of_two_networks_is_the_mean_logits_read_out(data):
    torch.manual_seed(0)
    feats = [torch.randn(30, 6), torch.randn(30, 6)]
    weights = [torch.randn(4, 6), torch.randn(4, 6)]
    labels = torch.randint(0, 4, (30,))
    outputs = [(f, w, None) for f, w in zip(feats, weights)]
    by_width = accuracy_by_width(outputs, labels)
    for k in range(1, 7):
        z = sum(f[:, :k] @ w[:, :k].T for f, w in zip(feats, weights)) / 2
        assert by_width[k - 1] == pytest.approx(float((z.argmax(1) == labels).double().mean()))
        assert torch.allclose(logits(outputs, k), z)


def test_mislabel_auc_is_balanced_accuracy_of_the_flag():
    flipped = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    flagged = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1], bool)
    assert mislabel_auc(flagged, flipped) == pytest.approx((3 / 4 + 5 / 6) / 2)
    from sklearn.metrics import roc_auc_score

    assert mislabel_auc(flagged, flipped) == pytest.approx(roc_auc_score(flipped, flagged))
    with pytest.raises(ValueError, match="flipped and clean examples both"):
        mislabel_auc(flagged, np.zeros(10, bool))


def test_elr_plus_step_updates_both_targets_from_the_other_teacher(data):
    task = NoisyLabelTask("elr_plus", RECIPE.replace(mixup_alpha=0.0), data, seed=0)  # no mixing: exact targets
    torch.manual_seed(0)
    model = task.build_model()
    state = _state(model, task)
    index = torch.from_numpy(task.plan.batch_indices(0, 0))
    x = data.train_images[index].float() / 255
    with torch.no_grad():
        p2 = torch.softmax(model["teacher2"](x), 1)  # teacher 2 in train mode, as in the step
    task.step(state, 0)
    beta = RECIPE.elr_beta
    assert torch.allclose(task.elr_plus[0].targets[index], (1 - beta) * p2, atol=1e-5)
    assert task.elr_plus[1].targets[index].sum() > 0
    untouched = torch.ones(data.n_train, dtype=torch.bool)
    untouched[index] = False
    assert task.elr_plus[0].targets[untouched].abs().sum() == 0


def test_network_outputs_shapes(data):
    task = NoisyLabelTask("nested", RECIPE, data, seed=0)
    model = task.build_model().eval()
    (feats, weight, bias), = network_outputs(model, data.val_images, torch.device("cpu"))
    assert feats.shape == (64, 16) and weight.shape == (10, 16) and bias is None  # nested: bias-free


def test_a_streamed_setting_trains_on_the_same_batches_as_in_memory(tmp_path, benchmark_script):
    """Clothing1M-layout JPEGs decoded batch by batch (0 or 2 workers) give the numbers of the same images held
    in memory; a class-balanced subset, random crops and normalisation included."""
    root = benchmark_script("noisy_loader_speed").write_layout(tmp_path, n_images=60, photo_size=40)
    setting = dataclasses.replace(SETTINGS["clothing1m"], options=(("image_size", 36),))
    recipe = RECIPE.replace(epochs=2, batch_size=8, crop=32, augment="flip", normalize="imagenet",
                            balanced_subset=True, subset_per_class=3)
    streamed = load_splits(setting, root=root)
    assert streamed.streamed
    in_memory = dataclasses.replace(
        streamed, train_images=read_images(streamed.train_images, torch.arange(60)),
        val_images=read_images(streamed.val_images, torch.arange(60)),
        test_images=read_images(streamed.test_images, torch.arange(60)))
    values = []
    for data, workers, name in ((streamed, 0, "s0"), (streamed, 2, "s2"), (in_memory, 0, "m")):
        out = run_method("ce", recipe.replace(workers=workers), data, tmp_path / name, seed=0, device="cpu",
                         progress=False)
        values.append(out.values)
    assert values[0] == values[1] == values[2]
    task = NoisyLabelTask("ce", recipe, streamed, seed=0)
    counts = np.bincount(streamed.train_labels[task.train_index].numpy(), minlength=14)
    full = np.bincount(streamed.train_labels.numpy(), minlength=14)
    np.testing.assert_array_equal(counts, np.minimum(full, 3))  # 3 per class, or all a smaller class has


@pytest.mark.parametrize("val, selection", [("holdout", "clean_holdout"), ("noisy_holdout", "noisy_holdout")])
def test_held_out_selection_sets_keep_clean_or_given_labels(val, selection):
    setting = dataclasses.replace(SETTINGS["twin-smoke"], val=val)
    full = load_splits(SETTINGS["twin-smoke"])
    data = load_splits(setting)
    held = holdout_indices(256)
    assert data.selection == selection and data.n_train == 256 - held.size and data.val_labels.numel() == held.size
    expected = full.clean_labels[held] if val == "holdout" else full.train_labels[held]
    assert torch.equal(data.val_labels, expected) and torch.equal(data.val_images, full.train_images[held])
    keep = np.setdiff1d(np.arange(256), held)
    assert torch.equal(data.train_labels, full.train_labels[keep]) and torch.equal(data.flipped, full.flipped[keep])


def test_nested_vgg_alternates_between_its_two_masks(data):
    """On VGG-19-BN the nested step truncates the hidden layer on even steps and the features on odd ones."""
    recipe = RECIPE.replace(backbone="vgg19_bn", vgg_alternate=True, eta=100.0)
    task = NoisyLabelTask("nested", recipe, data, seed=0)
    torch.manual_seed(0)
    net = task.build_model()
    state = _state(net, task)
    even, odd = task._nested_kwargs(net, state, 0), task._nested_kwargs(net, state, 1)
    assert set(even) == {"hidden_width"} and 1 <= even["hidden_width"] <= 4096
    assert set(odd) == {"width"} and 1 <= odd["width"] <= 4096
    assert net.classifier.bias is None and net.classifier.in_features == 4096
    x = data.train_images[:2].float() / 255
    net.eval()
    with torch.no_grad():  # the hidden mask changes the features; the full hidden layer equals no mask
        assert not torch.equal(net.features(x, hidden_width=3), net.features(x))
        assert torch.equal(net.features(x, hidden_width=4096), net.features(x))
