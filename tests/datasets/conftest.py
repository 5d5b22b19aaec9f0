"""Fixtures: tiny data files in each exact published format, written into tmp_path, and a local HTTP server.

The adapters pin the published factor grids (737,280 dSprites images ...). Tests inject a tiny
grid the way a variant would: a subclass that overrides class data only (``factor_sizes`` and a
``resource`` whose checksums are computed here from the fixture file).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import types
from pathlib import Path

import h5py
import numpy as np
import pytest

from datasets._resources import Resource
from datasets.dsprites import DSprites
from datasets.mpi3d import MPI3DToy
from datasets.procedural import ProceduralDSprites
from datasets.shapes3d import Shapes3D

TINY_DSPRITES_SIZES = (3, 2, 2, 2, 3)      # shape, scale, orientation, posX, posY
TINY_SHAPES3D_SIZES = (2, 2, 2, 2, 2, 3)
TINY_MPI3D_SIZES = (2, 2, 1, 1, 1, 2, 3)


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row_major_classes(sizes) -> np.ndarray:
    n = int(np.prod(sizes))
    return np.stack(np.unravel_index(np.arange(n), sizes), axis=1).astype(np.int64)


# ---- dSprites ----------------------------------------------------------------------------------
def write_dsprites_npz(path: Path, sizes=TINY_DSPRITES_SIZES, *, metadata_sizes=None, classes_override=None,
                       imgs_scale: int = 1) -> np.ndarray:
    """The published layout: imgs (N,64,64) uint8 {0,1}, latents_* (N,6), py2-style pickled metadata dict."""
    classes5 = row_major_classes(sizes)
    imgs = ProceduralDSprites().images_for_factors(classes5, dtype=np.uint8)[:, 0] // 255 * imgs_scale
    classes6 = np.concatenate([np.zeros((len(classes5), 1), np.int64), classes5], axis=1)
    if classes_override is not None:
        classes6 = classes_override
    values = classes6.astype(np.float64) / 10.0
    metadata = {
        "date": "April 2017", "description": "tiny fixture in the dSprites format", "version": 1,
        "latents_names": ("color", "shape", "scale", "orientation", "posX", "posY"),
        "latents_sizes": np.array(metadata_sizes or (1,) + tuple(sizes)),
        "author": "fixture", "title": "dSprites dataset",
        "latents_possible_values": {"color": np.array([1.0])},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, imgs=imgs, latents_classes=classes6, latents_values=values,
                        metadata=np.array(metadata, dtype=object))
    return imgs


def tiny_dsprites_class(path: Path, sizes=TINY_DSPRITES_SIZES):
    res = Resource(DSprites.resource.filename, ("http://unused.invalid/x",), md5=md5_of(path))
    return type("TinyDSprites", (DSprites,), {"factor_sizes": sizes, "resource": res})


@pytest.fixture
def dsprites_file(tmp_path):
    path = tmp_path / "dsprites" / DSprites.resource.filename
    imgs = write_dsprites_npz(path)
    return path, imgs


# ---- Shapes3D ----------------------------------------------------------------------------------
def write_shapes3d_h5(path: Path, sizes=TINY_SHAPES3D_SIZES, *, shuffle_labels: bool = False,
                      chunked: bool = True) -> np.ndarray:
    """The published layout: images (N,64,64,3) uint8, labels (N,6) float64, chunked + gzip."""
    classes = row_major_classes(sizes)
    n = len(classes)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
    # label values that are NOT evenly spaced floats (as in the release): classes must come from the index
    value_tables = [np.sort(rng.uniform(0.0, 1.5, size=s)) for s in sizes]
    labels = np.stack([value_tables[k][classes[:, k]] for k in range(len(sizes))], axis=1)
    if shuffle_labels:
        labels = labels[rng.permutation(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        if chunked:
            f.create_dataset("images", data=images, chunks=(4, 64, 64, 3), compression="gzip")
        else:
            f.create_dataset("images", data=images)
        f.create_dataset("labels", data=labels)
    return images


def tiny_shapes3d_class(path: Path, sizes=TINY_SHAPES3D_SIZES):
    res = Resource(Shapes3D.resource.filename, ("http://unused.invalid/x",), size_bytes=path.stat().st_size,
                   sha256=sha256_of(path), md5=md5_of(path))
    return type("TinyShapes3D", (Shapes3D,), {"factor_sizes": sizes, "resource": res})


# ---- MPI3D -------------------------------------------------------------------------------------
def write_mpi3d_npz(path: Path, n: int, *, compressed: bool = False) -> np.ndarray:
    images = np.random.default_rng(1).integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, images=images)
    return images


def tiny_mpi3d_class(path: Path, sizes=TINY_MPI3D_SIZES):
    res = Resource(MPI3DToy.resource.filename, ("http://unused.invalid/x",), md5=md5_of(path))
    return type("TinyMPI3DToy", (MPI3DToy,), {"factor_sizes": sizes, "resource": res})


@pytest.fixture
def fx():
    """The fixture writers and tiny grids above, as one namespace (tests never import conftest)."""
    return types.SimpleNamespace(
        TINY_DSPRITES_SIZES=TINY_DSPRITES_SIZES, TINY_SHAPES3D_SIZES=TINY_SHAPES3D_SIZES,
        TINY_MPI3D_SIZES=TINY_MPI3D_SIZES, md5_of=md5_of, sha256_of=sha256_of, row_major_classes=row_major_classes,
        write_dsprites_npz=write_dsprites_npz, tiny_dsprites_class=tiny_dsprites_class,
        write_shapes3d_h5=write_shapes3d_h5, tiny_shapes3d_class=tiny_shapes3d_class,
        write_mpi3d_npz=write_mpi3d_npz, tiny_mpi3d_class=tiny_mpi3d_class)


# ---- local HTTP server -------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_server(tmp_path):
    """Serve tmp_path/'served' on 127.0.0.1 (a thread); yields (base_url, served_dir)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
