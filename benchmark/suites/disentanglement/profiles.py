"""Profiles and claims of the disentanglement suite (Hsu et al. 2023).

Hsu, Dorrell, Whittington, Wu, Finn, *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378. Each job trains one model on one dataset with one seed, encodes the dataset's
fixed evaluation sample and scores it with InfoMEC (InfoM, InfoE, InfoC), MIG, DCI, SAP,
modularity/explicitness and reconstruction PSNR.

Profiles (part of every record's identity):

* ``smoke``: seconds; what the tests run end to end.
* ``quick`` (default): offline procedural twins at 32 x 32 pixels (``<name>-32px``, block-averaged
  from 64 x 64), small networks, a few seeds; minutes on 2 CPU cores. It shows QLAE's InfoM above
  AE's and beta-VAE's on both twins; its InfoC is above AE's over the two twins together, not above
  beta-VAE's (docs/models.md, "Five seeds of the quick protocol").
* ``claim``: ``quick`` with three times the training (12 000 steps) and 5 seeds, about 80 minutes on 2 CPU
  cores: the budget at which the paper's claims (InfoM and InfoE of QLAE above AE's and beta-VAE's) were
  measured with P(QLAE better) 0.88-1.00 on both twins (docs/models.md, "Three times the training, five seeds";
  docs/architecture.md, "Claims").
* ``paper``: the reference protocol: real Shapes3D, MPI3D and dSprites, the reference 12-block
  architecture, 200 000 steps at batch 128 (the GANs at 64, as the reference's ``train_gan.yaml``),
  7 seeds, 10 000 evaluation images, the QLAE ablations included; expects a GPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from benchmark.suites.base import Profile as BaseProfile
from benchmark.suites.disentanglement.evaluation import EvalSettings

NAME = "disentanglement"
PROTOCOL_VERSION = "1.3"  # bump when anything that changes the numbers of a profile changes
# 1.3: DCI by the gradient-boosted trees of metrics._gbt on the whole evaluation sample in every profile, SAP by
# its exact solver, InfoE's and explicitness' regressions by metrics._logistic (metric versions dci 1.1, sap 1.1,
# infomec 1.2, modularity_explicitness 1.1)


@dataclass(frozen=True)
class Profile(BaseProfile):
    """Everything a profile fixes: data, models, seeds, training length and evaluation size."""

    steps: int  # optimizer steps per run (GANs: critic steps)
    batch_size: int  # images per step
    architecture: str  # 'small' or 'reference'
    eval_samples: int  # size of the fixed evaluation sample
    eval: EvalSettings
    checkpoint_every: int  # steps between checkpoints
    gan_batch_size: int | None = None  # images per step of the GANs (None: batch_size); 'paper': the reference's 64
    overrides: tuple[tuple[str, object], ...] = ()  # ModelConfig fields changed for this profile (documented)
    references: bool = True  # plan the calibration rows too: 'noise' and 'untrained' (REFERENCE_MODELS)

    def summary(self) -> str:
        return (f"{super().summary()}; steps: {self.steps}; batch: {self.batch_size}; "
                f"architecture: {self.architecture}")


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
        eval=EvalSettings(),
        checkpoint_every=10,
        references=False,  # the plumbing only
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
        eval=EvalSettings(),
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
        eval=EvalSettings(),
        checkpoint_every=5_000,
        gan_batch_size=64,
    ),
}
# quick with three times the training and five seeds (docs/models.md, "Three times the training, five seeds")
PROFILES["claim"] = dataclasses.replace(
    PROFILES["quick"], name="claim", seeds=5, steps=12_000,
    description="about 80 minutes on 2 CPU cores, offline: quick with 3x the training and 5 seeds, the budget at which "
                "the paper's InfoM and InfoE claims were measured on both twins")
PROFILES = {name: PROFILES[name] for name in ("smoke", "quick", "claim", "paper")}  # the order `list` shows
DEFAULT_PROFILE = "quick"


# What the paper claims (Hsu et al. 2023, abstract and section 6: QLAE's representations are more modular and
# explicit than those of its baselines: InfoM and InfoE). InfoC is greyed out in the authors' tables and is not
# a claim. Each profile checks them on its own datasets against the baselines it trains.
# Modular and explicit representations score above seeded Gaussian noise of the same width, too: the paper's
# claim implies it, and InfoM alone does not (a ratio of information, it is high on noise: docs/metrics-infomec.md).
PAPER_CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("qlae", "ae", "infom"),
    ("qlae", "beta_vae", "infom"),
    ("qlae", "noise", "infom"),
    ("qlae", "ae", "infoe"),
    ("qlae", "beta_vae", "infoe"),
    ("qlae", "noise", "infoe"),
)
# Calibration rows of every table (profiles with references=True): what a representation without information
# scores. 'noise': seeded N(0, 1) latents of the models' width; 'untrained': the AE's encoder at initialisation.
REFERENCE_MODELS = ("noise", "untrained")
CLAIM_SOURCE = "Hsu et al. 2023 (arXiv:2305.18378), abstract: modularity and explicitness"


def claims(profile: str) -> list:
    """The paper's claims that ``profile`` can check (``leaderboard.Claim``): those whose two models it trains, on
    all its datasets."""
    from leaderboard import Claim

    p = PROFILES[profile]
    planned = set(p.models) | (set(REFERENCE_MODELS) if p.references else set())
    return [Claim(model=a, baseline=b, metric=metric, datasets=p.datasets, source=CLAIM_SOURCE)
            for a, b, metric in PAPER_CLAIMS if a in planned and b in planned]
