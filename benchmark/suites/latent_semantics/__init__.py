"""The latent-semantics suite: unsupervised discovery of interpretable latent directions in generators (the
Householder projector of Song, Zhang, Sebe, Wang, ICCV 2023, arXiv:2307.08012, against SeFa and random directions),
judged by what each direction changes in the generated images as read by a factor probe."""
