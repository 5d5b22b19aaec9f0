"""Model configuration: one frozen dataclass for every model, and the reference hyperparameters per dataset.

Values follow the reference code of Hsu et al., *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378 (``kylehkhsu/latent_quantization``, ``configs/model_partial/*.yaml`` and
``configs/params/<model>/<dataset>.yaml``) (see ``docs/models.md``).
Entries marked [inferred] have no file of their own in the reference and are derived as stated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MODELS",
    "ModelSpec",
    "GAN_MODELS",
    "QUANTIZED_MODELS",
    "MODEL_NAMES",
    "ModelConfig",
    "REFERENCE_HPARAMS",
    "REFERENCE_BATCH_SIZE",
    "reference_config",
    "replace_strict",
]



@dataclass(frozen=True)
class ModelSpec:
    """One model of the suite: its class (in ``benchmark.suites.disentanglement.models``) and what it is."""

    name: str
    class_name: str
    quantized: bool = False  # encode() returns codebook values: scored as discrete latents
    gan: bool = False  # trained as a GAN (critic and generator phases; the reference's GAN batch size)


# The one list of the suite's models, in the order `list` shows them.
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("ae", "AE"),
    ModelSpec("beta_vae", "BetaVAE"),
    ModelSpec("beta_tcvae", "BetaTCVAE"),
    ModelSpec("bio_ae", "BioAE"),
    ModelSpec("qlae", "QLAE", quantized=True),
    ModelSpec("qlae_global_codebook", "QLAE", quantized=True),  # ablation: one codebook for all latents
    ModelSpec("qlae_no_weight_decay", "QLAE", quantized=True),  # ablation: no weight decay
    ModelSpec("infowgan_gp", "InfoWGANGP", gan=True),
    ModelSpec("ql_infowgan_gp", "QLInfoWGANGP", quantized=True, gan=True),
)}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
GAN_MODELS: tuple[str, ...] = tuple(n for n, m in MODELS.items() if m.gan)
QUANTIZED_MODELS: tuple[str, ...] = tuple(n for n, m in MODELS.items() if m.quantized)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model and its optimizer. Defaults: QLAE on Shapes3D, reference architecture.

    Use :func:`reference_config` for the reference values of another model or dataset, and
    :func:`replace_strict` to override fields (unknown names and type changes are errors).
    """

    name: str = "qlae"  # one of MODEL_NAMES
    architecture: str = "reference"  # 'reference' (12 blocks, 64x64) or 'small' (4 blocks, for CPUs)
    n_latents: int | None = None  # latent dimensions L; None: 2 x number of factors
    # optimizer (AdamW + element-wise clip on weights; Adam on biases and codebooks)
    lr: float = 1e-3  # learning rate, constant
    betas: tuple[float, float] = (0.9, 0.999)  # Adam moments
    weight_decay: float = 0.1  # decoupled L2 on weights, norm scales and the decoder input map
    grad_clip: float = 1.0  # element-wise gradient clip to [-grad_clip, grad_clip] on decayed params; 0: off
    # quantized latent (qlae*, ql_infowgan_gp)
    n_values: int = 10  # codebook values per latent dimension, initialised linspace(-0.5, 0.5)
    global_codebook: bool = False  # one codebook shared by all dimensions (ablation)
    quantization_weight: float = 0.01  # weight of mean (sg(x) - q)^2, moves the codebook
    commitment_weight: float = 0.01  # weight of mean (x - sg(q))^2, moves the encoder
    # beta-VAE / beta-TCVAE
    beta: float = 1.0  # beta-VAE: KL weight; beta-TCVAE: total-correlation weight
    tc_mi_weight: float = 1.0  # beta-TCVAE alpha (index-code mutual information)
    tc_dimkl_weight: float = 1.0  # beta-TCVAE gamma (dimension-wise KL)
    # BioAE
    nonnegativity_weight: float = 1.0  # weight of mean relu(-z)
    activity_weight: float = 0.01  # weight of mean z^2
    # InfoWGAN-GP / QL-InfoWGAN-GP
    gradient_penalty_weight: float = 10.0  # weight of (||grad_x D(x~)||_2 - 1)^2
    latent_weight: float = 200.0  # weight of mean (z_hat(G(z)) - z)^2
    critic_steps_per_generator_step: int = 5  # generator updated when step % this == 0

    def __post_init__(self) -> None:
        if self.name not in MODEL_NAMES:
            raise ValueError(f"model name must be one of {', '.join(map(repr, MODEL_NAMES))}; got {self.name!r}.")
        if self.architecture not in ("reference", "small"):
            raise ValueError(f"architecture must be one of 'reference', 'small'; got {self.architecture!r}.")
        if self.n_latents is not None and (not isinstance(self.n_latents, int) or self.n_latents < 1):
            raise ValueError(f"n_latents must be None or an integer >= 1; got {self.n_latents!r}.")
        if not isinstance(self.n_values, int) or self.n_values < 2:
            raise ValueError(f"n_values must be an integer >= 2; got {self.n_values!r}.")
        if not isinstance(self.critic_steps_per_generator_step, int) or self.critic_steps_per_generator_step < 1:
            raise ValueError(
                f"critic_steps_per_generator_step must be an integer >= 1; got {self.critic_steps_per_generator_step!r}."
            )
        for field in ("lr", "weight_decay", "grad_clip", "quantization_weight", "commitment_weight", "beta",
                      "tc_mi_weight", "tc_dimkl_weight", "nonnegativity_weight", "activity_weight",
                      "gradient_penalty_weight", "latent_weight"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
                raise ValueError(f"{field} must be a finite number >= 0; got {value!r}.")
        if self.name == "qlae_global_codebook" and not self.global_codebook:
            raise ValueError(
                "model 'qlae_global_codebook' needs global_codebook=True; got False. "
                "Use reference_config('qlae_global_codebook', dataset) or pass global_codebook=True."
            )
        if self.name == "qlae_no_weight_decay" and self.weight_decay != 0:
            raise ValueError(
                f"model 'qlae_no_weight_decay' needs weight_decay=0.0; got {self.weight_decay!r}. "
                "Use reference_config('qlae_no_weight_decay', dataset) or pass weight_decay=0.0."
            )
        if self.lr == 0:
            raise ValueError("lr must be > 0; got 0.")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {self.betas!r}.")

    def latent_size(self, n_factors: int) -> int:
        """L: ``n_latents`` if set, else 2 x ``n_factors`` (the reference's ``twice_sources``)."""
        return self.n_latents if self.n_latents is not None else 2 * n_factors

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Reference hyperparameters that differ from the ModelConfig defaults, per (model, dataset).
# Sources (kylehkhsu/latent_quantization @ 9a420a3): configs/model_partial/<model>.yaml for the model defaults,
# configs/params/<model>/<dataset>.yaml for the per-dataset values, configs/train_gan.yaml for the GAN optimizer.
_GAN_OPTIM = {"lr": 2e-4, "betas": (0.0, 0.9)}  # configs/train_gan.yaml: optim.learning_rate, beta1, beta2
REFERENCE_HPARAMS: dict[str, dict[str, dict[str, Any]]] = {
    # params/quantized_ae/{shapes3d,mpi3d}.yaml: l2 0.1, 0.001 on MPI3D, quantization and commitment 0.01. dSprites has
    # only the older params/quantized_ae/fixed/quantized_ae_dsprites.yaml: its l2 0.1 is taken, its quantization and
    # commitment 0.001 are not (the newer files use 0.01 on every dataset).
    "qlae": {
        "shapes3d": {"weight_decay": 0.1},
        "mpi3d": {"weight_decay": 0.001},
        "dsprites": {"weight_decay": 0.1},
    },
    "qlae_global_codebook": {  # model_partial/global_quantized_ae.yaml; weight decay as QLAE [inferred]
        "shapes3d": {"weight_decay": 0.1, "global_codebook": True},
        "mpi3d": {"weight_decay": 0.001, "global_codebook": True},
        "dsprites": {"weight_decay": 0.1, "global_codebook": True},
    },
    "qlae_no_weight_decay": {  # ablation "w/o weight decay": l2 0 [inferred]
        "shapes3d": {"weight_decay": 0.0},
        "mpi3d": {"weight_decay": 0.0},
        "dsprites": {"weight_decay": 0.0},
    },
    "ae": {  # params/ae/ae_{shapes3d,mpi3d}.yaml: l2 0.001; dsprites as those [inferred]
        "shapes3d": {"weight_decay": 0.001},
        "mpi3d": {"weight_decay": 0.001},
        "dsprites": {"weight_decay": 0.001},
    },
    "beta_vae": {  # model_partial/vae.yaml (no l2 key: 0); params/vae/vae_<dataset>.yaml: kl 3 / 0.1; dsprites as shapes3d [inferred]
        "shapes3d": {"weight_decay": 0.0, "beta": 3.0},
        "mpi3d": {"weight_decay": 0.0, "beta": 0.1},
        "dsprites": {"weight_decay": 0.0, "beta": 3.0},
    },
    "beta_tcvae": {  # model_partial/tcvae.yaml (alpha = gamma = 1, no l2); params/tcvae/*.yaml: TC 3 / 0.3; dsprites [inferred]
        "shapes3d": {"weight_decay": 0.0, "beta": 3.0},
        "mpi3d": {"weight_decay": 0.0, "beta": 0.3},
        "dsprites": {"weight_decay": 0.0, "beta": 3.0},
    },
    "bio_ae": {  # model_partial/bio_ae.yaml: l2 1e-4, nonnegative 1; params/bio_ae/{shapes3d,mpi3d}.yaml: activity 1e-2
        "shapes3d": {"weight_decay": 1e-4, "activity_weight": 0.01},
        "mpi3d": {"weight_decay": 1e-4, "activity_weight": 0.01},
        "dsprites": {"weight_decay": 1e-4, "activity_weight": 0.01},
    },
    "infowgan_gp": {  # model_partial/info_gan.yaml: gradient 10, latent 200, l2 1e-4
        "shapes3d": {"weight_decay": 1e-4, **_GAN_OPTIM},
        "mpi3d": {"weight_decay": 1e-4, **_GAN_OPTIM},
        "dsprites": {"weight_decay": 1e-4, **_GAN_OPTIM},
    },
    "ql_infowgan_gp": {  # params/quantized_info_gan/{shapes3d,mpi3d}.yaml: l2 1e-3, latent 200, quant/commit 1e-2
        "shapes3d": {"weight_decay": 1e-3, **_GAN_OPTIM},
        "mpi3d": {"weight_decay": 1e-3, **_GAN_OPTIM},
        "dsprites": {"weight_decay": 1e-3, **_GAN_OPTIM},
    },
}
# configs/train_ae.yaml: batch 128; configs/train_gan.yaml: data.batch_size 64. Steps: 2e5 for all (params files).
REFERENCE_BATCH_SIZE: dict[str, int] = {name: (64 if name in GAN_MODELS else 128) for name in MODEL_NAMES}
assert set(REFERENCE_HPARAMS) == set(MODELS), "every model of MODELS has reference hyperparameters"
REFERENCE_STEPS = 200_000


def _hyperparameter_key(dataset: str) -> str:
    """The REFERENCE_HPARAMS key of a dataset: its published family (procedural twins and ``-<size>px`` views use
    their real dataset's values; every MPI3D variant those of MPI3D)."""
    import datasets

    return datasets.family(dataset).replace("-", "_")


def reference_config(name: str, dataset: str = "shapes3d", **overrides: Any) -> ModelConfig:
    """The reference :class:`ModelConfig` of model ``name`` on ``dataset``, then ``overrides`` (strict).

    ``dataset`` is 'shapes3d', 'mpi3d' or 'dsprites', or any name of theirs (procedural twins, MPI3D variants and
    ``-<size>px`` views map to them, see ``datasets.family``).
    """
    if name not in REFERENCE_HPARAMS:
        raise ValueError(f"model name must be one of {', '.join(map(repr, MODEL_NAMES))}; got {name!r}.")
    table = REFERENCE_HPARAMS[name]
    key = _hyperparameter_key(dataset)
    if key not in table:
        raise ValueError(
            f"dataset must be one of {', '.join(map(repr, table))} (optionally with '-procedural'); got {dataset!r}."
        )
    return replace_strict(ModelConfig(name=name, **table[key]), **overrides)


def replace_strict(cfg: Any, **overrides: Any) -> Any:
    """``dataclasses.replace`` that rejects unknown fields and type changes (ints may become floats).

    Raises
    ------
    ValueError
        For a name that is not a field, listing the valid ones.
    TypeError
        For a value whose type differs from the default's.
    """
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    for key, value in overrides.items():
        if key not in fields:
            raise ValueError(
                f"unknown {type(cfg).__name__} field {key!r}; valid fields: {', '.join(sorted(fields))}."
            )
        current = getattr(cfg, key)
        if current is None or value is None:
            continue
        if isinstance(current, bool) != isinstance(value, bool):
            raise TypeError(f"{type(cfg).__name__}.{key} must be {type(current).__name__}; got {value!r}.")
        if isinstance(current, float) and isinstance(value, int):
            overrides[key] = float(value)
        elif isinstance(current, tuple) and isinstance(value, list):
            overrides[key] = tuple(value)
        elif not isinstance(value, type(current)):
            raise TypeError(f"{type(cfg).__name__}.{key} must be {type(current).__name__}; got {value!r}.")
    return dataclasses.replace(cfg, **overrides)
