"""The noisy-label suite: CE, Dropout, Nested Dropout, Co-teaching, Nested + Co-teaching, ELR and ELR+ on
Clothing1M, ANIMAL-10N, CIFAR and the offline noisy twin (``python -m benchmark run --suite noisy-labels``).

* ``recipes`` -- settings (a dataset with its noise and its selection set) and every method's hyperparameters;
* ``profiles`` -- smoke, quick (offline, the default) and paper (the authors' recipes), and the claims;
* ``losses`` -- the methods' losses and selection rules as plain torch functions (nested dropout, co-teaching's
  small-loss exchange, ELR's targets, ELR+'s mixup and mean teachers);
* ``backbones``, ``models`` -- torchvision's ResNet and VGG-19-BN trunks and the offline small CNN; the classifier
  with dropout or nested truncation, and the read-out at every width;
* ``splits``, ``data`` -- a setting's tensors (train with its noise, selection, test); the JPEG ``DataLoader``;
* ``training``, ``run`` -- the methods' steps as one engine task; a job's stages and values;
* ``evaluation``, ``plots`` -- the per-epoch evaluation and the job's records; the curves;
* ``suite`` -- the :class:`~benchmark.suites.base.Suite` object.
"""

from benchmark.suites.noisy_labels.suite import NoisyLabelSuite

SUITE = NoisyLabelSuite()
