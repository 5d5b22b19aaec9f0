"""dSprites, Shapes3D and MPI3D adapters on tiny files in the exact published formats."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import DatasetIntegrityError, DatasetNotFoundError, load
from datasets.dsprites import DSprites
from datasets.mpi3d import MPI3DComplex, MPI3DReal, MPI3DRealistic, MPI3DToy
from datasets.shapes3d import Shapes3D



# ---- published constants -----------------------------------------------------------------------
def test_published_pins():
    assert DSprites.factor_sizes == (3, 6, 40, 32, 32) and DSprites.resource.md5 == "7da33b31b13a06f4b04a70402ce90c2e"
    assert Shapes3D.factor_sizes == (10, 10, 10, 8, 4, 15)
    assert Shapes3D.resource.size_bytes == 267_573_662
    assert Shapes3D.resource.sha256.startswith("0a0f6ed98baf")
    for cls in (MPI3DToy, MPI3DRealistic, MPI3DReal):
        assert int(np.prod(cls.factor_sizes)) == 1_036_800 and cls.resource.md5
    assert int(np.prod(MPI3DComplex.factor_sizes)) == 460_800
    assert MPI3DToy.resource.urls[0] == "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_toy.npz"


@pytest.mark.parametrize("name", ["dsprites", "shapes3d", "mpi3d-toy", "mpi3d-realistic", "mpi3d-real", "mpi3d-complex"])
def test_not_found_names_expected_path(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as info:
        load(name, root=tmp_path)
    cls = type(None)
    from datasets._registry import dataset_class

    cls = dataset_class(name)
    assert str(tmp_path / cls.folder_name / cls.resource.filename) in str(info.value)


# ---- dSprites ----------------------------------------------------------------------------------
def test_dsprites_reads_published_format(dsprites_file, fx):
    path, imgs = dsprites_file
    ds = fx.tiny_dsprites_class(path)(path.parent.parent, progress=False)
    n = int(np.prod(fx.TINY_DSPRITES_SIZES))
    assert len(ds) == n and ds.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    img, classes = ds[17]
    assert img.shape == (1, 64, 64) and img.dtype == np.float32 and set(np.unique(img)) <= {0.0, 1.0}
    assert classes.dtype == np.int64 and classes.tolist() == fx.row_major_classes(fx.TINY_DSPRITES_SIZES)[17].tolist()
    np.testing.assert_array_equal(img[0], imgs[17].astype(np.float32))
    chosen = np.array([0, 5, 23, n - 1])
    u8 = ds.images_at(chosen, dtype=np.uint8)
    assert u8.dtype == np.uint8 and u8.shape == (4, 1, 64, 64)
    np.testing.assert_array_equal(u8[:, 0], imgs[chosen] * 255)
    np.testing.assert_array_equal(ds.factors_to_index(ds.index_to_factors(np.arange(n))), np.arange(n))
    assert ds.content_hash == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    cache = list(path.parent.glob("dsprites_imgs_packbits_*.npy"))
    assert len(cache) == 1 and np.load(cache[0]).shape == (n, 64, 8)


def test_dsprites_second_load_uses_marker_and_cache(dsprites_file, monkeypatch, fx):
    path, _ = dsprites_file
    cls = fx.tiny_dsprites_class(path)
    cls(path.parent.parent, progress=False)
    import datasets._resources as resources

    monkeypatch.setattr(resources, "hash_file", lambda *a, **k: pytest.fail("re-hashed a verified file"))
    ds = cls(path.parent.parent, progress=False)
    assert ds.images_at([3]).shape == (1, 1, 64, 64)


def test_dsprites_bad_checksum(dsprites_file, fx):
    path, _ = dsprites_file
    cls = fx.tiny_dsprites_class(path)
    fx.write_dsprites_npz(path, imgs_scale=1, classes_override=None, metadata_sizes=(1, 3, 2, 2, 2, 3))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetIntegrityError, match=r"dsprites: checksum mismatch for .*expected md5"):
        cls(path.parent.parent, progress=False)


def test_dsprites_truncated(dsprites_file, fx):
    path, _ = dsprites_file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    cls = fx.tiny_dsprites_class(path)  # checksum of the truncated bytes: only the format check can catch it
    with pytest.raises(DatasetIntegrityError, match=r"is not a readable .npz \(zip\) file .*corrupted or truncated"):
        cls(path.parent.parent, progress=False)


def test_dsprites_wrong_metadata_sizes(tmp_path, fx):
    path = tmp_path / "dsprites" / DSprites.resource.filename
    fx.write_dsprites_npz(path, metadata_sizes=(1, 3, 2, 2, 3, 2))
    with pytest.raises(DatasetIntegrityError, match=r"metadata\['latents_sizes'\] .* is \(1, 3, 2, 2, 3, 2\), expected "
                                                    r"\(1, 3, 2, 2, 2, 3\)"):
        fx.tiny_dsprites_class(path)(tmp_path, progress=False)


def test_dsprites_wrong_order_of_latents(tmp_path, fx):
    classes = np.concatenate([np.zeros((72, 1), np.int64), fx.row_major_classes(fx.TINY_DSPRITES_SIZES)], axis=1)
    classes[[3, 4]] = classes[[4, 3]]
    path = tmp_path / "dsprites" / DSprites.resource.filename
    fx.write_dsprites_npz(path, classes_override=classes)
    with pytest.raises(DatasetIntegrityError, match=r"'latents_classes' row 3 .* expected \[0, 0, 0, 0, 1, 0\]"):
        fx.tiny_dsprites_class(path)(tmp_path, progress=False)


def test_dsprites_non_binary_images(tmp_path, fx):
    path = tmp_path / "dsprites" / DSprites.resource.filename
    fx.write_dsprites_npz(path, imgs_scale=255)
    with pytest.raises(DatasetIntegrityError, match=r"holds values above 1"):
        fx.tiny_dsprites_class(path)(tmp_path, progress=False)
    assert list(path.parent.glob("*.npy")) == [] and list(path.parent.glob(".*")) == []  # no partial cache left


def test_dsprites_wrong_image_count(tmp_path, fx):
    path = tmp_path / "dsprites" / DSprites.resource.filename
    fx.write_dsprites_npz(path, sizes=(3, 2, 2, 2, 2))
    cls = fx.tiny_dsprites_class(path, sizes=fx.TINY_DSPRITES_SIZES)
    with pytest.raises(DatasetIntegrityError, match=r"the shape of 'imgs' .* is \(48, 64, 64\), expected \(72, 64, 64\)"):
        cls(tmp_path, progress=False)


# ---- Shapes3D ----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [True, False])
def test_shapes3d_reads_h5_lazily(tmp_path, fx, chunked):
    path = tmp_path / "shapes3d" / "3dshapes.h5"
    images = fx.write_shapes3d_h5(path, chunked=chunked)
    ds = fx.tiny_shapes3d_class(path)(tmp_path, progress=False)
    n = len(images)
    assert len(ds) == n
    idx = np.array([40, 2, 2, 17, n - 1])  # unsorted, repeated: h5py needs sorted unique indices
    got = ds.images_at(idx, dtype=np.uint8)
    assert got.shape == (5, 3, 64, 64) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, images[idx].transpose(0, 3, 1, 2))
    for rows in ([0, n - 1], [9, 8, 7, 6], [1, 2, 3, 30, 31, 44, 45, 46, 47, 13, 13]):  # sparse, dense, mixed
        rows = np.array(rows)
        np.testing.assert_array_equal(ds.images_at(rows, dtype=np.uint8), images[rows].transpose(0, 3, 1, 2))
    img, classes = ds[7]
    np.testing.assert_allclose(img, images[7].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert classes.tolist() == fx.row_major_classes(fx.TINY_SHAPES3D_SIZES)[7].tolist()
    mem = fx.tiny_shapes3d_class(path)(tmp_path, progress=False, in_memory=True)
    np.testing.assert_array_equal(mem.images_at(idx, dtype=np.uint8), got)


def test_shapes3d_labels_must_follow_index_order(tmp_path, fx):
    path = tmp_path / "shapes3d" / "3dshapes.h5"
    fx.write_shapes3d_h5(path, shuffle_labels=True)
    with pytest.raises(DatasetIntegrityError, match=r"the 'floor_hue' labels \(column 0\) .* do not follow the row-major"):
        fx.tiny_shapes3d_class(path)(tmp_path, progress=False)


def test_shapes3d_corrupted_and_wrong_size(tmp_path, fx):
    path = tmp_path / "shapes3d" / "3dshapes.h5"
    fx.write_shapes3d_h5(path)
    cls = fx.tiny_shapes3d_class(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetIntegrityError, match=r"has [\d,]+ bytes, expected [\d,]+ \(truncated\)"):
        cls(tmp_path, progress=False)
    path.write_bytes(b"\0" * cls.resource.size_bytes)
    with pytest.raises(DatasetIntegrityError, match=r"shapes3d: checksum mismatch"):
        cls(tmp_path, progress=False)


def test_shapes3d_chunk_corrupted_after_verification_is_an_integrity_error(tmp_path, fx):
    # Reads are lazy: a gzip chunk damaged after the file verified (bit rot keeps size and mtime, so the
    # marker is still trusted) used to surface as h5py's bare OSError "filter returned failure during read".
    import os
    import re

    import h5py

    path = tmp_path / "shapes3d" / "3dshapes.h5"
    images = fx.write_shapes3d_h5(path)  # gzip chunks of 4 rows
    cls = fx.tiny_shapes3d_class(path)
    ds = cls(tmp_path, progress=False)  # verified: the marker is written
    with h5py.File(path, "r") as f:
        chunk = f["images"].id.get_chunk_info(2)  # rows 8..11
    st = path.stat()
    with open(path, "r+b") as fh:  # in place: same size, so the cheap size check on load still passes
        fh.seek(chunk.byte_offset + chunk.size // 2)
        fh.write(b"\xde\xad\xbe\xef" * 8)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    np.testing.assert_array_equal(ds.images_at([0, 1], np.uint8), images[[0, 1]].transpose(0, 3, 1, 2))  # intact chunk
    fresh = cls(tmp_path, progress=False)  # a new handle: no chunk cache can hide the damage
    pattern = (rf"shapes3d: reading 'images' rows .* from {re.escape(str(path))} failed \(.*\); the file is corrupted"
               rf".*Fix: run `python -m benchmark data verify shapes3d --root {re.escape(str(tmp_path))}`")
    reads = [lambda: ds.images_at([9]),  # dense path, the handle opened before the damage
             lambda: fresh.images_at([1, 9, 40]),  # sparse path: one slice per touched chunk
             lambda: fresh[10],
             lambda: fresh.images_for_factors(fresh.index_to_factors(np.array([8, 11])))]
    for read in reads:
        with pytest.raises(DatasetIntegrityError, match=pattern):
            read()
    with pytest.raises(DatasetIntegrityError, match=r"shapes3d: reading 'images' from .* failed"):
        cls(tmp_path, progress=False, in_memory=True)
    with pytest.raises(DatasetIntegrityError, match=r"shapes3d: checksum mismatch"):  # what the advised fix finds
        cls(tmp_path, progress=False, verify=True)


# ---- MPI3D -------------------------------------------------------------------------------------
@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_memory_maps(tmp_path, compressed, fx):
    n = int(np.prod(fx.TINY_MPI3D_SIZES))
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    images = fx.write_mpi3d_npz(path, n, compressed=compressed)
    ds = fx.tiny_mpi3d_class(path)(tmp_path, progress=False)
    assert isinstance(ds._images, np.memmap)
    if compressed:  # converted once to a .npy beside the npz
        assert len(list(path.parent.glob("mpi3d_toy.images.*.npy"))) == 1
    else:  # mapped in place inside the npz
        assert str(ds._images.filename) == str(path.resolve())
        assert not list(path.parent.glob("*.npy"))
    idx = np.array([5, 0, n - 1, 11])
    np.testing.assert_array_equal(ds.images_at(idx, dtype=np.uint8), images[idx].transpose(0, 3, 1, 2))
    assert ds.index_to_factors(n - 1).tolist() == [s - 1 for s in fx.TINY_MPI3D_SIZES]
    assert ds.factor_names[-2:] == ("horizontal_axis", "vertical_axis")


def test_mpi3d_wrong_count_is_refused(tmp_path, fx):
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    fx.write_mpi3d_npz(path, 20)
    cls = fx.tiny_mpi3d_class(path)  # expects 24 images
    with pytest.raises(DatasetIntegrityError, match=r"mpi3d-toy: the number of images in .*mpi3d_toy.npz is 20, expected 24"):
        cls(tmp_path, progress=False)


def test_mpi3d_truncated_stored_member(tmp_path, fx):
    n = int(np.prod(fx.TINY_MPI3D_SIZES))
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    fx.write_mpi3d_npz(path, n)
    raw = path.read_bytes()
    # keep a valid zip directory but cut the data: rebuild a zip whose member header claims more rows
    import io
    import zipfile

    buf = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(np.zeros((n + 5, 64, 64, 3), np.uint8))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        body = io.BytesIO()
        np.lib.format.write_array_header_1_0(body, header)
        body.write(np.zeros((n, 64, 64, 3), np.uint8).tobytes())
        zf.writestr("images.npy", body.getvalue())
    path.write_bytes(buf.getvalue())
    assert raw != path.read_bytes()
    cls = type("T", (fx.tiny_mpi3d_class(path),), {"factor_sizes": (29,) + (1,) * 6})
    with pytest.raises(DatasetIntegrityError, match=r"is truncated: the array 'images' of shape \(29, 64, 64, 3\) needs"):
        cls(tmp_path, progress=False)


def test_mpi3d_missing_key(tmp_path, fx):
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, imgs=np.zeros((24, 64, 64, 3), np.uint8))
    with pytest.raises(DatasetIntegrityError, match=r"has no array 'images' \(found keys \['imgs'\]\)"):
        fx.tiny_mpi3d_class(path)(tmp_path, progress=False)


# ---- pickling (DataLoader workers started with "spawn") ----------------------------------------
def test_pickled_adapters_reopen_their_files(tmp_path, monkeypatch, fx):
    import pickle

    from datasets._resources import Resource


    d_path = tmp_path / "dsprites" / DSprites.resource.filename
    fx.write_dsprites_npz(d_path)
    monkeypatch.setattr(DSprites, "factor_sizes", fx.TINY_DSPRITES_SIZES)
    monkeypatch.setattr(DSprites, "resource", Resource(d_path.name, (), md5=fx.md5_of(d_path)))
    s_path = tmp_path / "shapes3d" / "3dshapes.h5"
    fx.write_shapes3d_h5(s_path)
    monkeypatch.setattr(Shapes3D, "factor_sizes", fx.TINY_SHAPES3D_SIZES)
    monkeypatch.setattr(Shapes3D, "resource", Resource("3dshapes.h5", (), size_bytes=s_path.stat().st_size,
                                                       sha256=fx.sha256_of(s_path)))
    m_path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    fx.write_mpi3d_npz(m_path, int(np.prod(fx.TINY_MPI3D_SIZES)))
    monkeypatch.setattr(MPI3DToy, "factor_sizes", fx.TINY_MPI3D_SIZES)
    monkeypatch.setattr(MPI3DToy, "resource", Resource("mpi3d_toy.npz", (), md5=fx.md5_of(m_path)))
    for name in ("dsprites", "shapes3d", "mpi3d-toy"):
        ds = load(name, root=tmp_path, progress=False)
        ds.images_at([1])
        blob = pickle.dumps(ds)
        assert len(blob) < 20_000, (name, len(blob))  # no image data travels
        copy = pickle.loads(blob)
        np.testing.assert_array_equal(copy.images_at([0, 3, 7], np.uint8), ds.images_at([0, 3, 7], np.uint8))
        assert copy.content_hash == ds.content_hash


def test_conversion_refused_without_disk_space(tmp_path, monkeypatch, fx):
    import shutil
    from collections import namedtuple

    n = int(np.prod(fx.TINY_MPI3D_SIZES))
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    fx.write_mpi3d_npz(path, n, compressed=True)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9, 1000))
    with pytest.raises(OSError, match=r"mpi3d-toy: the one-time .npy conversion needs 0.0 GiB free in .*mpi3d, only "
                                      r"0.0 GiB are free"):
        fx.tiny_mpi3d_class(path)(tmp_path, progress=False)
    assert not list(path.parent.glob("*.npy"))


def test_mpi3d_complex_is_manual_only(tmp_path):
    from datasets import DatasetDownloadError

    with pytest.raises(DatasetNotFoundError, match=r"mpi3d-complex: data file .*real3d_complicated_shapes_ordered.npz "
                                                   r"not found \(expected no published checksum\). Fix: mpi3d-complex "
                                                   r"is distributed through Google Drive only"):
        load("mpi3d-complex", root=tmp_path)
    with pytest.raises(DatasetDownloadError, match=r"not downloadable automatically. mpi3d-complex is distributed "
                                                   r"through Google Drive only: open https://drive.google.com/"):
        load("mpi3d-complex", root=tmp_path, download=True)


# ---- derived caches and corrupted streams ------------------------------------------------------
def test_a_damaged_image_cache_is_rebuilt(tmp_path, dsprites_file, fx):
    # dSprites' bit-packed cache and MPI3D's .npy conversion are derived data: a truncated copy (an
    # interrupted sync of the data folder) or one of another shape used to crash in numpy or be read as is
    path, _ = dsprites_file
    cls = fx.tiny_dsprites_class(path)
    first = cls(path.parent.parent, progress=False).images_at(np.arange(7), dtype=np.uint8)
    cache = next(path.parent.glob("dsprites_imgs_packbits_*.npy"))
    cache.write_bytes(cache.read_bytes()[:200])  # truncated
    np.testing.assert_array_equal(cls(path.parent.parent, progress=False).images_at(np.arange(7), dtype=np.uint8), first)

    n = int(np.prod(fx.TINY_MPI3D_SIZES))
    mpath = tmp_path / "m" / "mpi3d" / "mpi3d_toy.npz"
    images = fx.write_mpi3d_npz(mpath, n, compressed=True)
    mcls = fx.tiny_mpi3d_class(mpath)
    mcls(mpath.parent.parent, progress=False)
    mcache = next(mpath.parent.glob("mpi3d_toy.images.*.npy"))
    np.save(mcache, np.zeros((5, 64, 64, 3), np.float32))  # another shape and dtype
    ds = mcls(mpath.parent.parent, progress=False)
    np.testing.assert_array_equal(ds.images_at([n - 1], dtype=np.uint8), images[[n - 1]].transpose(0, 3, 1, 2))
    # a cache that cannot be replaced (here: a directory in its place) is named, with the fix
    mcache.unlink()
    mcache.mkdir()
    with pytest.raises(DatasetIntegrityError, match=r"mpi3d-toy: the \.npy image cache .*mpi3d_toy\.images\..*\.npy is "
                                                    r"not usable \(it cannot be read: .*\)\. It is derived from .* delete it"):
        mcls(mpath.parent.parent, progress=False)


def test_a_corrupted_deflate_stream_is_an_integrity_error(tmp_path, fx):
    # zlib's own error escaped from the header read of a compressed npz (no checksum pinned: mpi3d-complex)
    n = int(np.prod(fx.TINY_MPI3D_SIZES))
    path = tmp_path / "mpi3d" / "mpi3d_toy.npz"
    images = np.zeros((n, 64, 64, 3), np.uint8)  # compressible
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, images=images)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(raw[26:28], "little"), int.from_bytes(raw[28:30], "little")
    start = 30 + name_len + extra_len  # the member's deflate stream (one member: local header at 0)
    for i in range(start + 2, start + 22):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetIntegrityError, match=r"mpi3d-toy: the array 'images' in .* has a corrupted header"):
        fx.tiny_mpi3d_class(path)(tmp_path, progress=False)
