"""The latent-semantics suite: unsupervised discovery of interpretable latent directions in generators (the
Householder projector of Song, Zhang, Sebe, Wang, ICCV 2023, arXiv:2307.08012, against SeFa and random directions),
judged by what each direction changes in the generated images as read by a factor probe
(``python -m benchmark run --suite latent-semantics``).

* ``stylegan2`` -- a compact StyleGAN2 (32 and 64 px), its losses, and rosinality checkpoints;
* ``householder`` -- the projector A = Q(U) S Q(V), its exact initialisation, SeFa and random directions;
* ``gan`` -- pre-training and Householder fine-tuning as engine tasks;
* ``probe`` -- the factor probe, cached per dataset;
* ``evaluation`` -- directions, traversals, fidelity, PPL and PIPL; ``workflow`` -- one job end to end;
* ``config``, ``profiles``, ``suite``, ``plots`` -- settings, profiles and claims, the Suite object, the figures.
"""

from benchmark.suites.latent_semantics.suite import LatentSemanticsSuite

SUITE = LatentSemanticsSuite()
