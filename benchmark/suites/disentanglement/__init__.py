"""The disentanglement suite: QLAE and QL-InfoWGAN-GP against their baselines on ground-truth-factor datasets.

Hsu, Dorrell, Whittington, Wu, Finn, *Disentanglement via Latent Quantization*, NeurIPS 2023,
arXiv:2305.18378. Everything of the suite's own lives in this folder:

* ``profiles`` -- the profiles (smoke, quick, claim, paper) and the paper's claims;
* ``models/`` -- QLAE, QL-InfoWGAN-GP, AE, beta-VAE, beta-TCVAE, BioAE, InfoWGAN-GP and the ablations;
* ``training`` -- the engine's task: batches of factor combinations, one optimizer step per model phase;
* ``inference`` -- encode, decode, reconstruct, traverse as numpy;
* ``evaluation`` -- the metric panel (InfoMEC, MIG, DCI, SAP, modularity/explicitness, PSNR);
* ``plots`` -- traversals, reconstructions, NMI heatmaps;
* ``suite`` -- :class:`DisentanglementSuite`, the suite contract (plan, compute, claims, submissions).

Heavy parts (torch, the metric kernels) are imported when a job runs, not with this package.
"""

from benchmark.suites.disentanglement.profiles import DEFAULT_PROFILE, PROFILES, PROTOCOL_VERSION, Profile
from benchmark.suites.disentanglement.suite import EVAL_SEED, DisentanglementSuite

SUITE = DisentanglementSuite()

__all__ = ["SUITE", "DisentanglementSuite", "Profile", "PROFILES", "DEFAULT_PROFILE", "PROTOCOL_VERSION",
           "EVAL_SEED"]
