"""Profiles and claims of the latent-semantics suite (Householder projector: Song, Zhang, Sebe, Wang, ICCV 2023).

* ``smoke``: seconds; a tiny StyleGAN2 trained for a few iterations on the 32 px Shapes3D twin: the plumbing.
* ``quick`` (default): a small StyleGAN2 (W 64-d, 2 mapping layers, 64-32 channels, StyleGAN2-ADA's settings for small
  images) trained on the 32 px Shapes3D
  twin, fine-tuned with projectors for 5% of its iterations; factor probe, 2 seeds; about 15 minutes on 2 CPU
  cores (docs/latent-semantics.md has the measured time).
* ``paper``: 64 px, the StyleGAN2 of the reference (W 512-d, 8 mapping layers, 512 channels, batch 32) on real
  Shapes3D, MPI3D and dSprites (when their files are present) and their twins, fine-tuned for 1% of the
  iterations; for a GPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from benchmark.suites.base import Profile as BaseProfile
from benchmark.suites.latent_semantics.config import METHODS, EvalSettings, GanSettings, ProbeSettings

__all__ = ["NAME", "PROTOCOL_VERSION", "PROFILES", "DEFAULT_PROFILE", "Profile", "claims", "OPTIONAL_DATASETS",
           "FD_MARGIN"]

NAME = "latent-semantics"
PROTOCOL_VERSION = "1.0"
OPTIONAL_DATASETS = ("shapes3d", "mpi3d-toy", "dsprites")  # files a user supplies: skipped with a note if absent
FD_MARGIN = 1.25  # the fidelity claim: Fréchet distance after fine-tuning <= FD_MARGIN x the pretrained one


@dataclass(frozen=True)
class Profile(BaseProfile):
    gan32: GanSettings = GanSettings()
    gan64: GanSettings = GanSettings(size=64, channels=((4, 64), (8, 64), (16, 64), (32, 32), (64, 32)))
    probe: ProbeSettings = ProbeSettings()
    evaluation: EvalSettings = EvalSettings()

    def gan_for(self, size: int) -> GanSettings:
        if size not in (32, 64):
            raise ValueError(f"the latent-semantics suite trains 32 or 64 px generators; the dataset is {size} px. "
                             f"Use a 32 or 64 px dataset (e.g. shapes3d-procedural-32px).")
        return self.gan32 if size == 32 else self.gan64


# quick: StyleGAN2-ADA's "auto" settings for small images (Karras et al., NeurIPS 2020): R1 gamma = 0.0002 res^2 / batch,
# lr 0.0025, 2 mapping layers, EMA half-life batch * 10 / 32 thousand images ramped up over the first 5% of the
# images seen; the reference's gamma = 10 (for 256 px and up) held the discriminator back at 32 px
_QUICK_GAN = GanSettings(size=32, style_dim=64, n_mlp=2, channels=((4, 64), (8, 64), (16, 64), (32, 32)),
                         batch=16, iterations=1800, lr=0.0025, r1=0.0002 * 32 ** 2 / 16, ema_kimg=16 * 10 / 32,
                         ema_rampup=0.05, checkpoint_every=300, finetune_fraction=0.05)
_PAPER_CHANNELS = tuple((2 ** i, 512) for i in range(2, 7))
_PAPER_GAN = GanSettings(size=64, style_dim=512, n_mlp=8, channels=_PAPER_CHANNELS, batch=32, iterations=200_000,
                         checkpoint_every=5000, finetune_fraction=0.01)

PROFILES = {
    "smoke": Profile(
        name="smoke", description="seconds on a CPU: a tiny StyleGAN2, a few iterations, the plumbing only",
        datasets=("shapes3d-procedural-32px",), models=METHODS, seeds=1,
        gan32=GanSettings(size=32, style_dim=16, n_mlp=2, channels=((4, 16), (8, 16), (16, 16), (32, 16)), batch=4,
                          iterations=8, checkpoint_every=4, finetune_fraction=0.25, k=10, ema_rampup=0.05),
        probe=ProbeSettings(steps=30, batch_size=32, width=8, n_heldout=200),
        evaluation=EvalSettings(n_latents=3, n_alpha=3, n_mean_latent=64, n_fid=40, n_real=60, n_ppl=20, batch=64)),
    "quick": Profile(
        name="quick", description="about 15 minutes on 2 CPU cores: a small 32 px StyleGAN2 on the Shapes3D twin, "
                                  "Householder against SeFa and random directions, 2 seeds",
        datasets=("shapes3d-procedural-32px",), models=METHODS, seeds=2, gan32=_QUICK_GAN,
        probe=ProbeSettings(steps=1500, batch_size=64, width=32, n_heldout=2000),
        evaluation=EvalSettings(n_latents=32, n_alpha=7, n_fid=2000, n_real=5000, n_ppl=500)),
    "paper": Profile(
        name="paper", description="for a GPU: the reference's StyleGAN2 at 64 px, 200k iterations, fine-tuned for "
                                  "1%; real Shapes3D, MPI3D and dSprites (when present) and their twins, 3 seeds",
        datasets=("shapes3d", "mpi3d-toy", "dsprites", "shapes3d-procedural", "mpi3d-procedural",
                  "dsprites-procedural"), models=METHODS, seeds=3, gan64=_PAPER_GAN,
        probe=ProbeSettings(steps=10_000, batch_size=128, width=32, n_heldout=5000),
        evaluation=EvalSettings(n_latents=100, n_alpha=7, n_fid=10_000, n_real=50_000, n_ppl=5000)),
}
DEFAULT_PROFILE = "quick"
SOURCE = "Song et al. 2023 (ICCV), Householder projector"


def claims(profile: str) -> list:
    """The claims ``profile`` checks (docs/latent-semantics.md)."""
    from leaderboard import Claim, ValueClaim

    p = PROFILES[profile]
    datasets = tuple(d for d in p.datasets if d not in OPTIONAL_DATASETS)
    return [
        Claim("householder", "sefa", "modularity", datasets,
              source=SOURCE + ": its directions are more disentangled than SeFa's on the same checkpoint "
                              "(here: each moves fewer ground-truth factors)"),
        Claim("householder", "sefa", "pipl", datasets,
              source=SOURCE + ": smoother edits than SeFa's (lower PIPL)"),
        ValueClaim("householder", "fd_ratio", datasets, high=FD_MARGIN,
                   source=SOURCE + f": fine-tuning for 1-5% of the steps keeps fidelity (here: Fréchet distance "
                                   f"in probe space at most {FD_MARGIN}x the pretrained generator's)"),
        Claim("sefa", "random", "modularity", datasets,
              source="Shen & Zhou 2021 (CVPR), SeFa: its directions are semantic (the control against random "
                     "orthonormal directions)"),
    ]


def replace(profile: str, **changes) -> Profile:
    """A copy of profile ``profile`` with fields changed (for scripts and tests)."""
    return dataclasses.replace(PROFILES[profile], **changes)
