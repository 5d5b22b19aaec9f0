"""MPI3D (Gondal et al., NeurIPS 2019; https://github.com/rr-learning/disentanglement_dataset).

Each variant is one ``.npz`` with the key ``images``, uint8 (N, 64, 64, 3), in row-major factor
order (vertical_axis fastest):

=============== =================================================== =========== ==================
variant         file                                                 images      factor sizes
=============== =================================================== =========== ==================
mpi3d-toy       mpi3d_toy.npz                                       1,036,800   6,6,2,3,3,40,40
mpi3d-realistic mpi3d_realistic.npz                                 1,036,800   6,6,2,3,3,40,40
mpi3d-real      mpi3d_real.npz                                      1,036,800   6,6,2,3,3,40,40
mpi3d-complex   real3d_complicated_shapes_ordered.npz               460,800     4,4,2,3,3,40,40
=============== =================================================== =========== ==================

Each variant is pinned by its image count and MD5 (the only checksum published, from the
"Final_Dataset" release). A file with another count is refused: disentanglement_lib's 460,800-image
"toy" file, read with the 1,036,800-image factor grid, silently indexes the wrong images. No MD5 is
published for mpi3d-complex (Google Drive only): its count is checked and its SHA-256 recorded.

The 12.7 GB array is never read whole: an uncompressed npz (``np.savez``, as published) is
memory-mapped in place; a compressed one is converted once, streaming, to
``<name>.images.npy`` beside it and memory-mapped from there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets._npz import iter_member_rows, member_header, memmap_member
from datasets._real import FileFactorDataset
from datasets._resources import Resource

__all__ = ["MPI3D", "MPI3DToy", "MPI3DRealistic", "MPI3DReal", "MPI3DComplex"]

_HF = "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/"
_GCS = "https://storage.googleapis.com/mpi3d_disentanglement_dataset/data/"
_FACTORS = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
            "horizontal_axis", "vertical_axis")


class MPI3D(FileFactorDataset):
    """Base of the MPI3D variants; a variant overrides class data only."""

    folder_name = "mpi3d"
    factor_names = _FACTORS
    factor_sizes = (6, 6, 2, 3, 3, 40, 40)
    image_shape = (3, 64, 64)
    adapter_version = "1"
    _transient = ("_images",)

    @property
    def expected_count(self) -> int:
        """Number of images the pinned release has (= product of the factor sizes)."""
        return len(self)

    def _open(self, path: Path) -> None:
        shape, dtype, _ = member_header(path, "images", self.name)
        if shape[:1] != (self.expected_count,):
            self._expect("the number of images", shape[0] if shape else None, self.expected_count)
        self._expect("the shape of 'images'", shape, (self.expected_count, 64, 64, 3))
        self._expect("the dtype of 'images'", str(dtype), "uint8")
        images = memmap_member(path, "images", self.name)
        if images is None:
            cache = path.with_name(path.stem + f".images.{self.content_hash[:16]}.npy")
            images = self._open_npy_cache(cache, tuple(shape), lambda: self._convert(path, cache, shape),
                                          what="the .npy image cache")
        self._images = images

    def _convert(self, path: Path, cache: Path, shape: tuple[int, ...]) -> None:
        self._write_npy_cache(cache, shape, iter_member_rows(path, "images", self.name, rows=4096),
                              what="the one-time .npy conversion", desc="converting to .npy")

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self._images[indices].transpose(0, 3, 1, 2))


class MPI3DToy(MPI3D):
    name = "mpi3d-toy"
    description = "MPI3D toy (Gondal et al. 2019): 1,036,800 64x64 RGB renders; colour 6, shape 6, size 2, camera 3, background 3, axes 40x40"
    resource = Resource("mpi3d_toy.npz", (_HF + "mpi3d_toy.npz", _GCS + "mpi3d_toy.npz"),
                        md5="55889cb7c7dfc655d6e0277beee88868")


class MPI3DRealistic(MPI3D):
    name = "mpi3d-realistic"
    description = "MPI3D realistic (Gondal et al. 2019): 1,036,800 64x64 RGB realistic renders, same factors as mpi3d-toy"
    resource = Resource("mpi3d_realistic.npz", (_HF + "mpi3d_realistic.npz", _GCS + "mpi3d_realistic.npz"),
                        md5="59a6225b88b635365f70c91b3e52f70f")


class MPI3DReal(MPI3D):
    name = "mpi3d-real"
    description = "MPI3D real (Gondal et al. 2019): 1,036,800 64x64 RGB camera images of the robot platform"
    resource = Resource("mpi3d_real.npz", (_HF + "mpi3d_real.npz",), md5="0f33f609918fb5c97996692f91129802",
                        manual="The 2024 storage.googleapis.com copy of real.npz was corrupted; use the Hugging Face file.")


class MPI3DComplex(MPI3D):
    name = "mpi3d-complex"
    description = "MPI3D complex (real images of 4 complex shapes): 460,800 64x64 RGB; colour 4, shape 4, size 2, camera 3, background 3, axes 40x40"
    factor_sizes = (4, 4, 2, 3, 3, 40, 40)
    resource = Resource(
        "real3d_complicated_shapes_ordered.npz", (),
        manual=("mpi3d-complex is distributed through Google Drive only: open "
                "https://drive.google.com/file/d/1Tp8eTdHxgUMtsZv5uAoYAbJR1BOa_OQm/view (linked from "
                "https://github.com/rr-learning/disentanglement_dataset) in a browser;"),
    )
