"""Models of the disentanglement suite: QLAE, QL-InfoWGAN-GP and their baselines and ablations.

Build one with :func:`model_from_config` from a :class:`ModelConfig` (use :func:`reference_config` for the
reference hyperparameters of a model on a dataset). See ``docs/models.md``.
"""

from __future__ import annotations

from .ae import AE, BioAE
from .base import DisentanglementModel
from benchmark.suites.disentanglement.config import (
    GAN_MODELS,
    MODEL_NAMES,
    MODELS,
    QUANTIZED_MODELS,
    ModelSpec,
    REFERENCE_BATCH_SIZE,
    REFERENCE_HPARAMS,
    ModelConfig,
    reference_config,
    replace_strict,
)
from .gan import InfoWGANGP, QLInfoWGANGP
from .nets import ARCHITECTURES, NetConfig
from .optim import clip_gradients_, make_optimizers
from .qlae import QLAE, QuantizedLatent
from .vae import BetaTCVAE, BetaVAE

__all__ = [
    "GAN_MODELS", "MODELS", "ModelSpec", "QUANTIZED_MODELS", "AE", "ARCHITECTURES", "BetaTCVAE", "BetaVAE", "BioAE", "DisentanglementModel", "InfoWGANGP", "MODEL_NAMES",
    "MODEL_REGISTRY", "ModelConfig", "NetConfig", "QLAE", "QLInfoWGANGP", "QuantizedLatent", "REFERENCE_BATCH_SIZE",
    "REFERENCE_HPARAMS", "clip_gradients_", "make_optimizers", "model_from_config", "reference_config", "replace_strict",
]

# name -> class, from the one list of models (config.MODELS)
MODEL_REGISTRY: dict[str, type[DisentanglementModel]] = {name: globals()[spec.class_name] for name, spec in MODELS.items()}


def model_from_config(cfg: ModelConfig, *, image_shape: tuple[int, int, int], n_factors: int,
                      dataset_size: int | None = None) -> DisentanglementModel:
    """Build the model named ``cfg.name``.

    Parameters
    ----------
    cfg : ModelConfig
    image_shape : tuple of int
        (C, H, W) of the training images (H == W, divisible by 16).
    n_factors : int
        Number of ground-truth factors K; the latent size is ``cfg.latent_size(K)`` (2K by default).
    dataset_size : int, optional
        Number of training images; required by 'beta_tcvae' (minibatch-weighted sampling).
    """
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"cfg must be a ModelConfig; got {type(cfg).__name__}.")
    if not isinstance(n_factors, int) or n_factors < 1:
        raise ValueError(f"n_factors must be an integer >= 1; got {n_factors!r}.")
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W); got {tuple(image_shape)!r}.")
    cls = MODEL_REGISTRY[cfg.name]
    if cls is BetaTCVAE:
        if dataset_size is None:
            raise ValueError("dataset_size is required for 'beta_tcvae' (minibatch-weighted sampling uses N); got None.")
        return cls(cfg, tuple(image_shape), n_factors, dataset_size)
    return cls(cfg, tuple(image_shape), n_factors)
