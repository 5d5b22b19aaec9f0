"""What the noisy-label suite measures, per epoch and per job.

Per epoch (:class:`EpochEvaluator`, the engine's ``evaluate``): accuracy on the selection set and on the clean
test set, in percent; for nested methods at the width K that is best on the selection set (the authors' rule,
:func:`models.best_width`); *memorisation*, the fraction of training examples whose label the noise flipped that
the network predicts as their noisy label (Liu et al. 2020, Fig. 1; Arpit et al. 2017); co-teaching's *label
precision*, the fraction of the samples selected for the updates during the epoch whose label is clean (Han et al.
2018, Fig. 4).

Per job (:func:`final_metrics`): test accuracy at the selected epoch and at the last one and their gap to the best
epoch, memorisation at the end, ELR's mislabel detection (the AUC of the flag ``argmax t_i != y_i`` against the true
flips: with a binary score it is the mean of the true- and false-positive-free rates), and the representation of
the penultimate features on the test set: ``metrics.sparsity``'s Hoyer sparsity and participation ratio, and for
nested models the accuracy at every width K (Chen et al. 2022's compression view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmark.suites.noisy_labels.models import FeatureClassifier, accuracy_per_width, best_width
from benchmark.suites.noisy_labels.recipes import NESTED
from benchmark.suites.noisy_labels.splits import read_images
from benchmark.suites.noisy_labels.training import NoisyLabelTask, to_input

__all__ = ["EpochEvaluator", "network_outputs", "accuracy_by_width", "mislabel_auc", "representation"]

EVAL_BATCH = 500


def _networks(model: nn.Module) -> list[FeatureClassifier]:
    """The networks whose logits are averaged for a prediction (the students of ELR+)."""
    if isinstance(model, nn.ModuleDict):
        return [model["net1"], model["net2"]]
    return [model]


def _batches(images, prepare, device: torch.device, workers: int):
    """The evaluation batches of ``images`` (a uint8 tensor, or a dataset decoded by ``workers`` processes), as
    network inputs."""
    if isinstance(images, torch.Tensor):
        for s in range(0, images.shape[0], EVAL_BATCH):
            yield prepare(images[s:s + EVAL_BATCH], device)
        return
    loader = torch.utils.data.DataLoader(images.torch_dataset(dtype=np.uint8), batch_size=EVAL_BATCH,
                                         num_workers=workers, pin_memory=device.type == "cuda")
    for batch, _, _ in loader:
        yield prepare(batch, device)


@torch.no_grad()
def network_outputs(model: nn.Module, images, device: torch.device, prepare=None, workers: int = 0) -> list[tuple]:
    """Per network: (features (n, D) float32 on the CPU, classifier weight (C, D), bias (C,) or None).

    ``images``: uint8 tensor or dataset; ``prepare(images_u8, device)`` makes the input (default: [0, 1] floats)."""
    prepare = prepare or to_input
    nets = _networks(model)
    feats: list[list[torch.Tensor]] = [[] for _ in nets]
    for x in _batches(images, prepare, torch.device(device), workers):  # each batch decoded once for all networks
        for i, net in enumerate(nets):
            feats[i].append(net.features(x).float().cpu())
    out = []
    for net, f in zip(nets, feats):
        bias = None if net.classifier.bias is None else net.classifier.bias.detach().float().cpu()
        out.append((torch.cat(f), net.classifier.weight.detach().float().cpu(), bias))
    return out


def logits(outputs: list[tuple], width: int | None = None) -> torch.Tensor:
    """The mean over networks of the logits read out from the first ``width`` features (all: None)."""
    total = 0
    for feats, weight, bias in outputs:
        k = feats.shape[1] if width is None else width
        z = feats[:, :k] @ weight[:, :k].T
        total = total + (z if bias is None else z + bias)
    return total / len(outputs)


def accuracy_by_width(outputs: list[tuple], labels: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Accuracy (fraction) of the mean logits read out at every width k = 1..D: (D,) float64
    (:func:`models.accuracy_per_width` on every network's features and classifier)."""
    return accuracy_per_width([f for f, _, _ in outputs], [w for _, w, _ in outputs], labels, chunk=chunk)


def _accuracy(z: torch.Tensor, labels: torch.Tensor) -> float:
    return float((z.argmax(dim=1) == labels).double().mean() * 100.0)


@dataclass
class Readout:
    """How a model predicts: at width ``k`` (nested) or with all features."""

    width: int | None
    val_by_width: torch.Tensor | None = None  # (D,) selection-set accuracy per width, nested only


def readout(model: nn.Module, method: str, val_outputs: list[tuple], val_labels: torch.Tensor) -> Readout:
    """The nested methods' best width K on the selection set (ties to the smaller K); all features otherwise."""
    if method not in NESTED:
        return Readout(None)
    by_width = accuracy_by_width(val_outputs, val_labels)
    return Readout(best_width(by_width), by_width)


class EpochEvaluator:
    """The engine's ``evaluate`` for one task: the per-epoch records (see the module docstring). For the stage 2
    of nested + co-teaching it also sets each network's current best width, which its selection uses."""

    def __init__(self, task: NoisyLabelTask, device: torch.device | str, *, memorisation_sample: int = 5000):
        self.task, self.device = task, torch.device(device)
        data = task.data
        self.flipped_index = None
        if data.flipped is not None and bool(data.flipped.any()):
            index = torch.nonzero(data.flipped).flatten()
            if index.numel() > memorisation_sample:  # evenly spaced: the same examples every epoch
                index = index[torch.linspace(0, index.numel() - 1, memorisation_sample).long()]
            self.flipped_index = index

    def outputs(self, model: nn.Module, images) -> list[tuple]:
        return network_outputs(model, images, self.device, self.task.prepare, self.task.recipe.workers)

    def __call__(self, model: nn.Module) -> dict[str, float]:
        task, data = self.task, self.task.data
        val = self.outputs(model, data.val_images)
        rd = readout(model, task.method, val, data.val_labels)
        test = self.outputs(model, data.test_images)
        scores = {"val_acc": _accuracy(logits(val, rd.width), data.val_labels),
                  "test_acc": _accuracy(logits(test, rd.width), data.test_labels)}
        if rd.width is not None:
            scores["best_k"] = float(rd.width)
        if task.finetune:  # each network's own best width, for the next epoch's selection
            task.widths = [best_width(accuracy_by_width([o], data.val_labels)) for o in val]
        if self.flipped_index is not None:
            train = self.outputs(model, read_images(data.train_images, self.flipped_index))
            pred = logits(train, rd.width).argmax(dim=1)
            scores["memorised"] = float((pred == data.train_labels[self.flipped_index]).double().mean())
            scores["fit_clean"] = float((pred == data.clean_labels[self.flipped_index]).double().mean())
        if task.selected[0] > 0:  # the selections of this epoch
            scores["selection_precision"] = float(task.selected[1] / task.selected[0])
            task.selected.zero_()
        return scores


def mislabel_auc(flagged: np.ndarray, flipped: np.ndarray) -> float:
    """ROC AUC of a binary flag against the true flips (ties count one half): (TPR + TNR) / 2."""
    flagged, flipped = np.asarray(flagged, bool), np.asarray(flipped, bool)
    if flipped.all() or not flipped.any():
        raise ValueError("mislabel detection needs flipped and clean examples both.")
    tpr = flagged[flipped].mean()
    tnr = (~flagged[~flipped]).mean()
    return float((tpr + tnr) / 2)


def representation(outputs: list[tuple], width: int | None) -> dict[str, float]:
    """Hoyer sparsity and participation ratio (``metrics.sparsity``) of the features the prediction reads: the
    first network's, truncated at ``width`` for nested models."""
    import metrics

    feats = outputs[0][0]
    if width is not None:
        feats = feats[:, :width]
    result = metrics.sparsity(feats.numpy().astype(np.float64))
    return {"feature_hoyer": float(result.hoyer), "participation_ratio": float(result.participation_ratio),
            "feature_dim": int(feats.shape[1])}
