"""Settings (a dataset with its label noise) and recipes (how each method trains on it).

A *setting* is what a record's ``dataset`` names: the training set with its noise, the clean validation set that
selects the model, and the clean test set (``twin-sym-40``: the offline twin at 32 px with 40% symmetric noise;
``cifar10-sym-40``: CIFAR-10 with ELR's symmetric convention at 40%; ``clothing1m``: its own noisy labels).

A :class:`Recipe` holds every hyperparameter of one method on one setting. The ``paper`` profile uses the authors'
recipes (Chen et al. 2022, Nested-Co-teaching scripts; Liu et al. 2020, ELR configs), as written in
``docs/noisy-labels.md``; the offline profiles share one recipe across methods so that they differ by method only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Setting", "Recipe", "SETTINGS", "METHODS", "BACKBONES", "TWO_NETWORK", "NESTED", "NORMALIZATION",
           "setting"]

METHODS = ("ce", "dropout", "nested", "coteaching", "nested_coteaching", "elr", "elr_plus")
BACKBONES = ("small_cnn", "resnet18", "resnet50", "vgg19_bn", "cifar_resnet18", "cifar_resnet34")  # backbones.py
TWO_NETWORK = ("coteaching", "nested_coteaching", "elr_plus")  # predictions: the mean of both networks' logits
NESTED = ("nested", "nested_coteaching")  # read out at the best width K on validation
# per-channel (mean, std) of the recipes' input normalisation
NORMALIZATION = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision's pretrained weights (Nested)
    "clothing1m": ((0.6959, 0.6537, 0.6371), (0.3113, 0.3192, 0.3214)),  # ELR+'s Clothing1M loader
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),  # ELR's CIFAR-10 loader
    "cifar100": ((0.507, 0.487, 0.441), (0.267, 0.256, 0.276)),  # ELR's CIFAR-100 loader
}


@dataclass(frozen=True)
class Setting:
    """A noisy training set with its clean validation and test sets.

    ``dataset`` is the registry name; ``options`` are its loader options for every split; ``noise`` is
    ``(kind, rate, convention)`` of synthetic noise added to the training labels (None: the dataset's own), and
    ``val``: 'clean' (a clean split of its own), 'holdout' (10% of the training set, evenly spaced, labels kept
    clean: Nested's CIFAR convention), 'noisy_holdout' (the same with the labels as given, where no true labels
    are known) or 'test' (ANIMAL-10N as the authors select: on the test set).
    """

    name: str
    dataset: str
    num_classes: int
    options: tuple[tuple[str, object], ...] = ()
    noise: tuple[str, float, str] | None = None
    val: str = "clean"
    description: str = ""
    splits: tuple[str, str, str] = ("train", "val", "test")  # the dataset's names of its train/val/test splits
    stream: bool = False  # decode training and evaluation images batch by batch (Clothing1M's million JPEGs)


def _cifar(n: int, kind: str, rate: int) -> Setting:
    convention = "all"  # ELR's convention: ceil(rN) samples relabelled over all classes
    return Setting(f"cifar{n}-{kind}-{rate}", f"cifar{n}", n, noise=(kind, rate / 100, convention), val="holdout",
                   description=f"CIFAR-{n}, {rate}% {'symmetric' if kind == 'sym' else 'asymmetric'} noise (ELR's "
                               f"convention), 10% held out clean for selection")


SETTINGS: dict[str, Setting] = {
    s.name: s for s in (
        Setting("twin-sym-40", "shapes3d-hue-noisy", 10,
                options=(("image_size", 32), ("n_train", 2000), ("n_test", 1000), ("n_val", 500),
                         ("noise", "symmetric"), ("noise_rate", 0.4), ("convention", "other")),
                description="offline twin: 32 px scenes labelled by object hue, 40% symmetric noise (to another "
                            "class), clean validation and test"),
        Setting("twin-asym-40", "shapes3d-hue-noisy", 10,
                options=(("image_size", 32), ("n_train", 2000), ("n_test", 1000), ("n_val", 500),
                         ("noise", "asymmetric"), ("noise_rate", 0.4)),
                description="offline twin: 32 px, 40% asymmetric noise (even hue c -> c + 1)"),
        Setting("twin-smoke", "shapes3d-hue-noisy", 10,
                options=(("image_size", 32), ("n_train", 256), ("n_test", 128), ("n_val", 64),
                         ("noise", "symmetric"), ("noise_rate", 0.4), ("convention", "other")),
                description="a few hundred twin images: the plumbing only"),
        Setting("clothing1m", "clothing1m", 14, options=(("image_size", 256),),
                splits=("noisy_train", "clean_val", "clean_test"), stream=True,
                description="Clothing1M at 256 px (crops of 224): noisy_train, selection on clean_val, clean_test"),
        Setting("animal10n", "animal10n", 10, val="noisy_holdout",
                description="ANIMAL-10N (64 px): selection on 10% of the training set held out with its labels "
                            "(ANIMAL-10N has no clean validation set)"),
        Setting("animal10n-test-selected", "animal10n", 10, val="test",
                description="ANIMAL-10N (64 px) with the authors' selection on the test set (their published "
                            "numbers)"),
        *(_cifar(10, "sym", r) for r in (20, 40, 60, 80)),
        _cifar(10, "asym", 40),
        *(_cifar(100, "sym", r) for r in (20, 40, 60, 80)),
        _cifar(100, "asym", 40),
    )
}


def setting(name: str) -> Setting:
    """The setting called ``name``; a ValueError lists them."""
    if name not in SETTINGS:
        raise ValueError(f"unknown noisy-label setting {name!r}; valid: {', '.join(SETTINGS)}.")
    return SETTINGS[name]


@dataclass(frozen=True)
class Recipe:
    """Every hyperparameter of one method on one setting (JSON-serialisable: part of a job's identity)."""

    backbone: str = "small_cnn"
    width: int = 16  # small_cnn only: channels of its first block (features: 4 x width)
    epochs: int = 12
    batch_size: int = 64
    optimizer: str = "sgd"  # 'sgd' (with momentum) or 'adam' (Han et al.'s co-teaching code)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: tuple[int, ...] = ()  # epochs at which the lr is multiplied by gamma
    gamma: float = 0.1
    warmup_steps: int = 0  # linear warm-up of the lr over the first steps (Nested's warmUpIter)
    cosine_restart: int = 0  # > 0: CosineAnnealingWarmRestarts(T_0 epochs, eta_min) instead of milestones
    eta_min: float = 1e-3
    augment: str = "none"  # 'none', 'crop_flip' (pad 4, random crop, horizontal flip), 'flip'
    crop: int = 0  # > 0: train on random crops of this size (with the flip), evaluate on the centre crop
    normalize: str = "none"  # per-channel mean/std of NORMALIZATION ('imagenet', 'clothing1m', 'cifar10', ...)
    balanced_subset: bool = False  # train on a class-balanced random subset, drawn with the stage's seed
    subset_per_class: int = 0  # its examples per class (at most the class's count); 0: the smallest class count
    workers: int = 0  # decoding processes of streamed settings (a run option in effect: not in the numbers)
    freeze_bn: bool = False
    pretrained: bool = False  # needs --weights (ImageNet); the Clothing1M recipes
    epoch_size: int | None = None  # batches per epoch, when an epoch is a fixed number of batches
    # dropout / nested
    dropout: float = 0.3
    eta: float = 100.0
    vgg_alternate: bool = False  # VGG: one of the two nested masks per step, the other full
    # co-teaching (Han et al. 2018)
    forget_rate: float = 0.4
    n_gradual: int = 10
    exponent: float = 1.0
    # nested + co-teaching, stage 2
    finetune_epochs: int = 4
    finetune_lr: float = 0.005
    finetune_forget_rate: float = 0.3
    finetune_milestones: tuple[int, ...] = ()
    finetune_gamma: float = 0.1
    finetune_freeze_bn: bool = False
    # ELR (and ELR+)
    elr_beta: float = 0.7
    elr_lambda: float = 3.0
    ema_alpha: float = 0.997
    ema_ramp_steps: int = 0
    mixup_alpha: float = 1.0
    coef_step: int = 0
    label_correction: bool = False

    def replace(self, **changes) -> "Recipe":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})
