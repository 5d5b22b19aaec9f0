"""The disentanglement suite: QLAE and QL-InfoWGAN-GP against their baselines (Hsu et al. 2023).

Hsu, Dorrell, Whittington, Wu, Finn, *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378. Each job trains one model on one dataset with one seed, encodes the dataset's
fixed evaluation sample and scores it with InfoMEC (InfoM, InfoE, InfoC), MIG, DCI, SAP,
modularity/explicitness and reconstruction PSNR.

Profiles (part of every record's identity):

* ``smoke``: seconds; what the tests run end to end.
* ``quick`` (default): offline procedural twins at 32 x 32 pixels (``<name>-32px``, block-averaged
  from 64 x 64), small networks, a few seeds; minutes on 2 CPU cores. It shows QLAE's InfoM above
  AE's and beta-VAE's on both twins; its InfoC is above AE's over the two twins together, not above
  beta-VAE's (README, "Status of quick", and docs/models.md: measured with 5 seeds).
* ``paper``: the reference protocol: real Shapes3D, MPI3D and dSprites, the reference 12-block
  architecture, 200 000 steps at batch 128 (the GANs at 64, as the reference's ``train_gan.yaml``),
  7 seeds, 10 000 evaluation images, the QLAE ablations included; expects a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.evaluation import EvalSettings

NAME = "disentanglement"
PROTOCOL_VERSION = "1.2"  # bump when anything that changes the numbers of a profile changes

QUANTIZED_MODELS = ("qlae", "qlae_global_codebook", "qlae_no_weight_decay", "ql_infowgan_gp")
ALL_MODELS = ("qlae", "ae", "beta_vae", "beta_tcvae", "bio_ae", "infowgan_gp", "ql_infowgan_gp",
              "qlae_global_codebook", "qlae_no_weight_decay")


@dataclass(frozen=True)
class Profile:
    """Everything a profile fixes: data, models, seeds, training length and evaluation size."""

    name: str
    description: str
    datasets: tuple[str, ...]
    models: tuple[str, ...]
    seeds: int  # training seeds 0..seeds-1
    steps: int  # optimizer steps per run (GANs: critic steps)
    batch_size: int  # images per step
    architecture: str  # 'small' or 'reference'
    eval_samples: int  # size of the fixed evaluation sample
    eval: EvalSettings
    checkpoint_every: int  # steps between checkpoints
    gan_batch_size: int | None = None  # images per step of the GANs (None: batch_size); 'paper': the reference's 64
    overrides: tuple[tuple[str, object], ...] = ()  # ModelConfig fields changed for this profile (documented)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="seconds on a CPU: 2 models x 1 dataset x 1 seed, a few steps; checks the plumbing only",
        datasets=("dsprites-procedural-32px",),
        models=("qlae", "ae"),
        seeds=1,
        steps=20,
        batch_size=16,
        architecture="small",
        eval_samples=300,
        eval=EvalSettings(dci_estimator="random_forest"),
        checkpoint_every=10,
    ),
    "quick": Profile(
        name="quick",
        description="minutes on 2 CPU cores, offline: QLAE vs AE and beta-VAE on the procedural twins at 32 px",
        datasets=("dsprites-procedural-32px", "shapes3d-procedural-32px"),
        models=("qlae", "ae", "beta_vae"),
        seeds=2,
        steps=4000,
        batch_size=32,
        architecture="small",
        eval_samples=10_000,
        eval=EvalSettings(dci_estimator="random_forest", dci_samples=2000),
        checkpoint_every=1000,
    ),
    "paper": Profile(
        name="paper",
        description="the reference protocol on a GPU: real data, reference architecture, 200k steps, 7 seeds",
        datasets=("shapes3d", "mpi3d-complex", "dsprites"),
        models=("qlae", "ae", "beta_vae", "beta_tcvae", "bio_ae", "infowgan_gp", "ql_infowgan_gp",
                "qlae_no_weight_decay", "qlae_global_codebook"),  # the paper's ablations too
        seeds=7,
        steps=200_000,
        batch_size=128,
        architecture="reference",
        eval_samples=10_000,
        eval=EvalSettings(dci_estimator="gbt"),
        checkpoint_every=5_000,
        gan_batch_size=64,
    ),
}
DEFAULT_PROFILE = "quick"


def is_quantized(model: str) -> bool:
    """Quantised models are scored with discrete latents (InfoMEC's discrete mode)."""
    return model in QUANTIZED_MODELS
