"""Dataset adapters of the disentanglement benchmark suite.

Ground-truth-factor datasets (:class:`FactorDataset`): the published dSprites, Shapes3D and MPI3D
files, read exactly as distributed and pinned by checksum and image count, and their offline
procedural twins (``*-procedural``). Noisy-label datasets (:class:`LabelledDataset`): Clothing1M,
ANIMAL-10N, and the offline twin ``shapes3d-hue-noisy``; :mod:`datasets.noise` adds seeded
synthetic label noise to any of them.

>>> import datasets
>>> ds = datasets.load("dsprites-procedural")
>>> ds.factor_sizes
(3, 6, 40, 32, 32)
"""

__benchmark_suite__ = True  # marker checked by `python -m benchmark` against name clashes

from datasets._base import EvaluationSample, FactorDataset, LabelledDataset
from datasets._errors import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError
from datasets._registry import (
    ON_REQUEST,
    PROCEDURAL,
    available,
    dataset_class,
    download,
    family,
    load,
    split_resolution,
    verify,
    view_name,
)
from datasets._resources import Resource, default_root, resolve_root

__all__ = [
    "load",
    "available",
    "download",
    "verify",
    "default_root",
    "resolve_root",
    "dataset_class",
    "split_resolution",
    "view_name",
    "family",
    "PROCEDURAL",
    "ON_REQUEST",
    "FactorDataset",
    "LabelledDataset",
    "EvaluationSample",
    "Resource",
    "DatasetNotFoundError",
    "DatasetIntegrityError",
    "DatasetDownloadError",
]
