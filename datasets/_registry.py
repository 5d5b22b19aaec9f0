"""Dataset names -> adapters; ``load``, ``available``, ``download`` and ``verify`` by name."""

from __future__ import annotations

import os
import re
from typing import Any

from datasets._errors import DatasetDownloadError

__all__ = ["load", "available", "download", "verify", "dataset_class", "split_resolution", "view_name", "family", "NAMES",
           "PROCEDURAL", "ON_REQUEST"]


def _classes() -> dict[str, type]:
    # imported here so that `import datasets` stays light (no numba compilation, no h5py import)
    from datasets.animal10n import Animal10N
    from datasets.cifar import CIFAR10, CIFAR100
    from datasets.clothing1m import Clothing1M
    from datasets.dsprites import DSprites
    from datasets.mpi3d import MPI3DComplex, MPI3DReal, MPI3DRealistic, MPI3DToy
    from datasets.noisy_twin import Shapes3DHueNoisy
    from datasets.procedural import ProceduralDSprites, ProceduralMPI3D, ProceduralShapes3D
    from datasets.shapes3d import Shapes3D
    from datasets.symmetry_tasks import CosineSimilarity, ModifiedInertia, SE3Distance, SyntheticMotion, WaymoMotion

    return {c.name: c for c in (DSprites, Shapes3D, MPI3DToy, MPI3DRealistic, MPI3DReal, MPI3DComplex,
                                ProceduralDSprites, ProceduralShapes3D, ProceduralMPI3D, Clothing1M, Animal10N,
                                Shapes3DHueNoisy, CIFAR10, CIFAR100, ModifiedInertia, CosineSimilarity, SE3Distance,
                                SyntheticMotion, WaymoMotion)}


NAMES = ("dsprites", "shapes3d", "mpi3d-toy", "mpi3d-realistic", "mpi3d-real", "mpi3d-complex",
         "dsprites-procedural", "shapes3d-procedural", "mpi3d-procedural", "clothing1m", "animal10n",
         "shapes3d-hue-noisy", "cifar10", "cifar100", "inertia", "cossim", "se3dist", "motion-synthetic",
         "waymo-motion")
PROCEDURAL = ("dsprites-procedural", "shapes3d-procedural", "mpi3d-procedural", "shapes3d-hue-noisy", "inertia",
              "cossim", "se3dist", "motion-synthetic")
ON_REQUEST = ("clothing1m", "animal10n", "waymo-motion")


_RESOLUTION = re.compile(r"(.+)-(\d+)px")


def view_name(base: str, size: int) -> str:
    """The name of the ``size`` x ``size`` view of dataset ``base``: ``<base>-<size>px`` (read back by
    :func:`split_resolution`)."""
    return f"{base}-{int(size)}px"


def split_resolution(name: str) -> tuple[str, int | None]:
    """``(base, size)`` of a ``<base>-<size>px`` view's name; ``(name, None)`` for any other name.

    >>> split_resolution("shapes3d-procedural-32px")
    ('shapes3d-procedural', 32)
    """
    match = _RESOLUTION.fullmatch(name)
    if match and match.group(1) in NAMES:
        return match.group(1), int(match.group(2))
    return name, None


def family(name: str) -> str:
    """The published dataset a name stands for: its views and procedural twin map to it, every MPI3D variant to
    ``mpi3d`` (``shapes3d-procedural-32px`` -> ``shapes3d``, ``mpi3d-complex`` -> ``mpi3d``)."""
    base = split_resolution(name)[0].removesuffix("-procedural")
    return "mpi3d" if base.startswith("mpi3d-") else base


def dataset_class(name: str) -> type:
    """The adapter class of ``name``; unknown names raise ValueError listing the valid ones."""
    classes = _classes()
    if name not in classes:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(NAMES)} (a factor dataset's name with "
                         f"-<size>px, e.g. shapes3d-procedural-32px, is a block-averaged view of it).")
    return classes[name]


def available() -> dict[str, str]:
    """Dataset names (in a fixed order) with a one-line description each."""
    classes = _classes()
    return {name: classes[name].description for name in NAMES}


def load(name: str, *, root: str | os.PathLike | None = None, download: bool = False, verify: bool = False,
         **options: Any):
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :func:`available`, optionally with a ``-<size>px`` suffix for a block-averaged
        lower-resolution view of a factor dataset (``"shapes3d-procedural-32px"``).
    root : path, optional
        Data root; default ``$BENCHMARK_DATA`` or ``~/.cache/benchmark/data``. Ignored by the
        procedural twins.
    download : bool, default=False
        Download missing files (where they are publicly downloadable).
    verify : bool, default=False
        Re-check the full checksum (real files) or decode every image (ANIMAL-10N, Clothing1M layout).
    **options
        Adapter options: ``base_url`` (published files); ``progress`` (progress bars of downloads,
        checksums and verification: every adapter that reads data files, clothing1m and animal10n
        included); ``in_memory`` (shapes3d); ``split``, ``image_size`` (clothing1m, animal10n); ``split``,
        ``labels`` (cifar10, cifar100: ``"fine"`` or ``"coarse"``);
        ``batch_size`` (procedural); ``n_train``, ``noise``, ``noise_rate``, ``seed``...
        (shapes3d-hue-noisy); ``n``, ``epsilon``, ``seed``... (inertia, cossim, se3dist, motion-synthetic:
        see :mod:`datasets.symmetry_tasks`); ``files``, ``centre``, ``std`` (waymo-motion).

    Returns
    -------
    FactorDataset, LabelledDataset or RegressionTask
    """
    base_name, size = split_resolution(name)
    if size is not None:  # "<name>-<size>px": a block-averaged view of <name>
        from datasets._base import FactorDataset
        from datasets.downsampled import Downsampled

        base = load(base_name, root=root, download=download, verify=verify, **options)
        if not isinstance(base, FactorDataset):
            raise ValueError(f"{name!r}: only ground-truth-factor datasets have lower-resolution views; "
                             f"{base_name!r} has class labels.")
        return Downsampled(base, size)
    cls = dataset_class(name)
    if name in PROCEDURAL[:3]:
        return cls(**options)
    return cls(root=root, download=download, verify=verify, **options)


def download(name: str, *, root: str | os.PathLike | None = None, base_url: str | None = None,
             progress: bool = True) -> str:
    """Download (if needed) and verify ``name``; returns a one-line summary."""
    cls = dataset_class(name)
    if name in PROCEDURAL:
        return f"{name} is procedural (rendered on demand); nothing to download."
    if name in ON_REQUEST:
        try:
            ds = cls.verify_layout(root, progress=progress)
        except FileNotFoundError as exc:
            raise DatasetDownloadError(str(exc)) from None
        return f"{name} is already present and its layout verifies: {ds}."
    ds = cls(root=root, download=True, base_url=base_url, progress=progress)
    return f"{name}: {ds.path} present and verified (sha256 {ds.content_hash})."


def verify(name: str, *, root: str | os.PathLike | None = None, progress: bool = True) -> str:
    """Full verification of ``name`` (checksums, format, layout); returns a one-line summary."""
    cls = dataset_class(name)
    if name in PROCEDURAL:
        ds = load(name)
        return f"{name} is procedural; content hash {ds.content_hash} (renderer version and parameters)."
    if name in ON_REQUEST:
        return f"{name}: layout verifies; images per split {cls.verify_layout(root, progress=progress)}."
    ds = cls(root=root, verify=True, progress=progress)
    return f"{name}: {ds.path} verified: {len(ds):,} images, sha256 {ds.content_hash}."
