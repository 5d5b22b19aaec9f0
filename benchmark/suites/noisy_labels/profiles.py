"""Profiles and claims of the noisy-label suite.

* ``smoke``: seconds; a few hundred twin images, every method for two epochs: the plumbing only.
* ``quick`` (default): the offline twin at 32 px with 40% symmetric and 40% asymmetric noise, every method with
  the small CNN and one shared recipe, 2 seeds; about 15 minutes on 2 CPU cores.
* ``paper``: the authors' recipes: Nested + Co-teaching on Clothing1M (ResNet-18, ImageNet weights, frozen batch
  norm, clean_val selection) and ANIMAL-10N (VGG-19-BN from scratch, 64 px; selection on a held-out tenth of
  the training set, and on the test set as the authors in the setting ``animal10n-test-selected``);
  ELR on CIFAR-10 and CIFAR-100 (ResNet-34, CIFAR form) at 20-80% symmetric and 40% asymmetric noise; ELR+ on
  Clothing1M (ResNet-50); 3 seeds. It expects a GPU and the published files.

Claims: ``quick`` checks the papers' qualitative claims at its budget; ``paper`` checks the published numbers within
their stated spread (:class:`leaderboard.ValueClaim`), "not run" where the data are absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.suites.base import Profile as BaseProfile
from benchmark.suites.noisy_labels.recipes import METHODS, Recipe

__all__ = ["NAME", "PROTOCOL_VERSION", "PROFILES", "DEFAULT_PROFILE", "Profile", "claims"]

NAME = "noisy-labels"
PROTOCOL_VERSION = "1.0"  # bump when anything that changes a profile's numbers changes


@dataclass(frozen=True)
class Profile(BaseProfile):
    """A profile: its settings (``datasets``), methods, seeds, and the recipe of each (setting, method)."""

    recipe: Recipe = Recipe()  # the recipe of every (setting, method) not in ``recipes``
    recipes: tuple[tuple[tuple[str, str], Recipe], ...] = ()  # per (setting, method): the authors' recipes
    only_listed: bool = False  # plan only the (setting, method) pairs of ``recipes``

    def recipe_for(self, setting: str, method: str) -> Recipe | None:
        """The recipe of ``method`` on ``setting``; None if the profile has none (not planned)."""
        for key, recipe in self.recipes:
            if key == (setting, method):
                return recipe
        return None if self.only_listed else self.recipe

    def summary(self) -> str:
        return f"{super().summary()}; backbone: {self.recipe.backbone if not self.only_listed else 'per recipe'}"


# The offline recipe: Adam at 1e-3 without weight decay (Han et al.'s co-teaching code) shows early learning and
# then memorisation within 16 epochs on the twin (CE's test accuracy peaks near epoch 9, then falls while the
# flipped labels are fitted); SGD at 0.05 with weight decay did not memorise within 20 epochs.
QUICK_RECIPE = Recipe(backbone="small_cnn", width=16, epochs=16, batch_size=64, optimizer="adam", lr=1e-3,
                      weight_decay=0.0, forget_rate=0.4, n_gradual=5, dropout=0.3, eta=16.0, finetune_epochs=4,
                      finetune_lr=1e-4, finetune_forget_rate=0.3, elr_beta=0.7, elr_lambda=3.0, ema_alpha=0.99)

# --- the authors' recipes (docs/noisy-labels.md, "Recipes") -------------------------------------------------------
_CLOTHING_NESTED = Recipe(
    backbone="resnet18", pretrained=True, freeze_bn=True, epochs=30, batch_size=448, lr=0.02, weight_decay=5e-4,
    warmup_steps=6000, milestones=(5,), gamma=0.1, eta=100.0, dropout=0.3, augment="flip", crop=224,
    normalize="imagenet", balanced_subset=True, workers=8,
    finetune_epochs=30, finetune_lr=0.002, finetune_milestones=(5,), finetune_gamma=0.1, finetune_forget_rate=0.3,
    finetune_freeze_bn=True)
_CLOTHING_ELR_PLUS = Recipe(
    backbone="resnet50", pretrained=True, epochs=15, batch_size=64, epoch_size=3000, lr=0.002, weight_decay=1e-3,
    milestones=(7,), gamma=0.1, augment="flip", crop=224, normalize="clothing1m", balanced_subset=True,
    subset_per_class=192_000 // 14, workers=8,
    elr_beta=0.7, elr_lambda=3.0, ema_alpha=0.9999, ema_ramp_steps=0,
    mixup_alpha=1.0, coef_step=0)
_ANIMAL_NESTED = Recipe(
    backbone="vgg19_bn", epochs=100, batch_size=128, lr=0.1, weight_decay=5e-4, warmup_steps=6000,
    milestones=(50, 75), gamma=0.2, eta=100.0, vgg_alternate=True, dropout=0.1, augment="none",
    finetune_epochs=30, finetune_lr=0.004, finetune_milestones=(5,), finetune_gamma=0.2, finetune_forget_rate=0.2,
    finetune_freeze_bn=True)


def _elr_cifar(n: int, kind: str) -> Recipe:
    base = Recipe(backbone="cifar_resnet34", batch_size=128, lr=0.02, momentum=0.9, weight_decay=1e-3,
                  augment="crop_flip", normalize=f"cifar{n}", gamma=0.01)
    if n == 10 and kind == "sym":
        return base.replace(epochs=120, milestones=(40, 80), elr_beta=0.7, elr_lambda=3.0)
    if n == 10:
        return base.replace(epochs=120, milestones=(40, 80), elr_beta=0.9, elr_lambda=1.0)
    return base.replace(epochs=150, milestones=(80, 120), elr_beta=0.9, elr_lambda=7.0)


_CIFAR = [f"cifar{n}-{k}-{r}" for n in (10, 100) for k, rs in (("sym", (20, 40, 60, 80)), ("asym", (40,)))
          for r in rs]
_PAPER_RECIPES = (
    *((("clothing1m", m), _CLOTHING_NESTED) for m in ("dropout", "nested", "nested_coteaching")),
    (("clothing1m", "elr_plus"), _CLOTHING_ELR_PLUS),
    *(((a, m), _ANIMAL_NESTED) for a in ("animal10n", "animal10n-test-selected")
      for m in ("ce", "dropout", "nested", "nested_coteaching")),
    *(((s, "elr"), _elr_cifar(int(s.split("-")[0][5:]), s.split("-")[1])) for s in _CIFAR),
)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", description="seconds on a CPU: every method on a few hundred twin images; the plumbing only",
        datasets=("twin-smoke",), models=METHODS, seeds=1,
        recipe=QUICK_RECIPE.replace(width=4, epochs=2, batch_size=32, finetune_epochs=1, n_gradual=1, eta=4.0)),
    "quick": Profile(
        name="quick", description="about 15 minutes on 2 CPU cores, offline: every method on the 32 px twin at 40% "
                                  "symmetric and asymmetric noise, small CNN, 2 seeds",
        datasets=("twin-sym-40", "twin-asym-40"), models=METHODS, seeds=2, recipe=QUICK_RECIPE,
        # co-teaching forgets the setting's noise rate, known as Han et al. assume: asymmetric noise at 40% of the
        # even classes flips 20% of all labels
        recipes=tuple((("twin-asym-40", m), QUICK_RECIPE.replace(forget_rate=0.2, finetune_forget_rate=0.2))
                      for m in METHODS)),
    "paper": Profile(
        name="paper", description="the authors' recipes on Clothing1M, ANIMAL-10N and CIFAR (ELR); a GPU and the "
                                  "published files",
        datasets=("clothing1m", "animal10n", "animal10n-test-selected", *_CIFAR), models=METHODS, seeds=3,
        recipes=_PAPER_RECIPES,
        only_listed=True),
}
DEFAULT_PROFILE = "quick"

NESTED_SOURCE = "Chen et al. 2022 (TNNLS), Nested + Co-teaching"
ELR_SOURCE = "Liu et al. 2020 (NeurIPS), ELR"


def claims(profile: str) -> list:
    """The claims ``profile`` checks (see the module docstring)."""
    from leaderboard import Claim, ValueClaim

    p = PROFILES[profile]
    if profile == "paper":
        published = [("nested_coteaching", "clothing1m", 74.9, 0.2, NESTED_SOURCE),
                     ("nested_coteaching", "animal10n-test-selected", 84.1, 0.1, NESTED_SOURCE),
                     ("elr_plus", "clothing1m", 74.81, 0.0, ELR_SOURCE + "+ (Table 3)"),
                     ("ce", "animal10n-test-selected", 79.4, 0.1,
                      "Song et al. 2019 (SELFIE), as quoted by " + NESTED_SOURCE)]
        published += [("elr", f"cifar10-sym-{r}", v, 0.0, ELR_SOURCE + " (Table 1)")
                      for r, v in ((20, 91.16), (40, 89.15), (60, 86.12), (80, 73.86))]
        # a published figure without a spread is checked within 1 point
        return [ValueClaim(model, "test_acc", (setting,), low=round(value - (spread or 1.0), 6),
                           high=round(value + (spread or 1.0), 6), source=source)
                for model, setting, value, spread, source in published]
    twin = p.datasets
    source_cot = "Han et al. 2018 (Co-teaching); " + NESTED_SOURCE + "; " + ELR_SOURCE
    out = [ValueClaim("ce", "accuracy_drop", twin, low=0.0,
                      source=ELR_SOURCE + ", Fig. 1: CE memorises the noisy labels after early learning")]
    out += [Claim(m, "ce", "test_acc", twin, source=source_cot, baseline_metric="test_acc_last")
            for m in ("coteaching", "elr", "nested_coteaching")]
    out.append(Claim("nested_coteaching", "nested", "test_acc", twin, source=NESTED_SOURCE + ", Tables II-III"))
    return out
