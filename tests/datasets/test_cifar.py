"""CIFAR-10 and CIFAR-100 adapters on tiny archives written here in the exact published binary layout."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from datasets import DatasetIntegrityError, DatasetNotFoundError, load
from datasets._resources import Resource
from datasets.cifar import CIFAR10, CIFAR100, CIFAR10_CLASSES, CIFAR100_SUPERCLASSES
from datasets.noise import CIFAR10_ASYMMETRIC, add_label_noise

TRAIN_PER_BATCH, TEST = 4, 3


def _records(rng, n, label_columns):
    """n records: the label bytes (one column per label kind), then the red, green and blue 32 x 32 planes."""
    labels = np.stack([rng.integers(0, k, n) for k in label_columns], axis=1).astype(np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    rows = np.concatenate([labels, images.reshape(n, -1)], axis=1)
    return rows.tobytes(), labels, images


def _archive(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _tiny(cls, path: Path, counts: dict[str, int]):
    """The adapter with the archive's own pins and the tiny split sizes (class data only, as a variant would)."""
    data = path.read_bytes()
    resource = Resource(filename=cls.resource.filename, size_bytes=len(data), md5=hashlib.md5(data).hexdigest())
    return type(f"Tiny{cls.__name__}", (cls,), {"resource": resource, "expected_counts": counts})


@pytest.fixture
def cifar10(tmp_path):
    rng = np.random.default_rng(0)
    members, labels, images = {}, [], []
    for i in range(1, 6):
        data, lab, img = _records(rng, TRAIN_PER_BATCH, [10])
        members[f"cifar-10-batches-bin/data_batch_{i}.bin"] = data
        labels.append(lab[:, 0])
        images.append(img)
    data, test_labels, test_images = _records(rng, TEST, [10])
    members["cifar-10-batches-bin/test_batch.bin"] = data
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join(CIFAR10_CLASSES).encode()
    path = tmp_path / "cifar10" / CIFAR10.resource.filename
    path.parent.mkdir()
    _archive(path, members)
    cls = _tiny(CIFAR10, path, {"train": 5 * TRAIN_PER_BATCH, "test": TEST})
    return cls, tmp_path, (np.concatenate(labels), np.concatenate(images)), (test_labels[:, 0], test_images)


def test_published_pins():
    assert CIFAR10.resource.size_bytes == 170_052_171 and CIFAR10.resource.md5 == "c32a1d4ab5d03f1284b67883e8d87530"
    assert CIFAR100.resource.size_bytes == 168_513_733 and CIFAR100.resource.md5 == "03b5dce01913d631647c71ecec9e9cb8"
    assert CIFAR10.resource.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)
    assert CIFAR100.resource.urls == ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",)
    assert len(CIFAR100.classes) == 100 and len(CIFAR100_SUPERCLASSES) == 20 and len(CIFAR10.classes) == 10


def test_reads_the_binary_layout(cifar10):
    cls, root, (labels, images), (test_labels, test_images) = cifar10
    train = cls(root, "train", progress=False)
    assert len(train) == 20 and train.num_classes == 10 and train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.labels, labels)
    np.testing.assert_array_equal(train.clean_labels, labels)
    np.testing.assert_array_equal(train.images_at(np.arange(20), dtype=np.uint8), images)  # planes R, G, B
    np.testing.assert_allclose(train.images_at([3])[0], images[3] / 255.0, rtol=1e-6)
    test = cls(root, "test", progress=False)
    np.testing.assert_array_equal(test.labels, test_labels)
    np.testing.assert_array_equal(test.images_at(np.arange(TEST), dtype=np.uint8), test_images)
    assert train.content_hash != test.content_hash
    assert len(list((root / "cifar10").glob("cifar10_train_*.npy"))) == 2  # images and labels, decoded once


def test_second_load_reads_the_caches_and_pickles_without_the_images(cifar10, monkeypatch):
    cls, root, (labels, images), _ = cifar10
    first = cls(root, progress=False)
    monkeypatch.setattr(cls, "_records", lambda self: (_ for _ in ()).throw(AssertionError("decoded again")))
    again = cls(root, progress=False)
    np.testing.assert_array_equal(again.images_at([5], dtype=np.uint8), images[[5]])
    assert again.content_hash == first.content_hash
    state = again.__getstate__()  # what pickling ships to DataLoader workers: not the memory map
    assert "_images" not in state and len(pickle.dumps(state)) < images.nbytes
    revived = cls.__new__(cls)
    revived.__setstate__(state)
    np.testing.assert_array_equal(revived.images_at([5], dtype=np.uint8), images[[5]])


def test_a_changed_archive_is_refused(cifar10):
    cls, root, _, _ = cifar10
    path = root / "cifar10" / CIFAR10.resource.filename
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetIntegrityError, match="md5"):
        cls(root, progress=False)


def test_wrong_record_counts_and_layouts_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "cifar10" / CIFAR10.resource.filename
    path.parent.mkdir()
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": _records(rng, 2, [10])[0] for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = _records(rng, 2, [10])[0][:-5]  # a truncated record
    _archive(path, members)
    with pytest.raises(DatasetIntegrityError, match="holds 10 records, expected 20"):
        _tiny(CIFAR10, path, {"train": 20, "test": 2})(tmp_path, progress=False)
    with pytest.raises(DatasetIntegrityError, match="holds 10 records, expected 8"):
        _tiny(CIFAR10, path, {"train": 8, "test": 2})(tmp_path, progress=False)
    assert not list(path.parent.glob("*.npy"))  # refused before any cache was written
    with pytest.raises(DatasetIntegrityError, match="not a whole number of 3073-byte records"):
        _tiny(CIFAR10, path, {"train": 10, "test": 2})(tmp_path, "test", progress=False)
    del members["cifar-10-batches-bin/data_batch_3.bin"]
    _archive(path, members)
    with pytest.raises(DatasetIntegrityError, match="has no member cifar-10-batches-bin/data_batch_3.bin"):
        _tiny(CIFAR10, path, {"train": 8, "test": 2})(tmp_path, progress=False)


def test_cifar100_fine_and_coarse_labels(tmp_path):
    rng = np.random.default_rng(2)
    train, labels, _ = _records(rng, 6, [20, 100])  # the coarse byte first, then the fine one
    test, _, _ = _records(rng, 2, [20, 100])
    path = tmp_path / "cifar100" / CIFAR100.resource.filename
    path.parent.mkdir()
    _archive(path, {"cifar-100-binary/train.bin": train, "cifar-100-binary/test.bin": test})
    cls = _tiny(CIFAR100, path, {"train": 6, "test": 2})
    fine, coarse = cls(tmp_path, progress=False), cls(tmp_path, labels="coarse", progress=False)
    np.testing.assert_array_equal(fine.labels, labels[:, 1])
    np.testing.assert_array_equal(coarse.labels, labels[:, 0])
    assert fine.num_classes == 100 and coarse.num_classes == 20 and coarse.classes == CIFAR100_SUPERCLASSES
    assert fine.content_hash != coarse.content_hash
    with pytest.raises(ValueError, match="labels must be one of 'fine', 'coarse'; got 'class'"):
        cls(tmp_path, labels="class", progress=False)


def test_missing_archive_names_the_path_and_noise_applies(cifar10, tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load("cifar10", root=tmp_path / "empty")
    assert str(tmp_path / "empty" / "cifar10" / "cifar-10-binary.tar.gz") in str(info.value)
    cls, root, (labels, _), _ = cifar10
    noisy = add_label_noise(cls(root, progress=False), "asymmetric", 0.5, rng=0, mapping=CIFAR10_ASYMMETRIC)
    np.testing.assert_array_equal(noisy.clean_labels, labels)
    changed = noisy.labels != labels
    np.testing.assert_array_equal(changed, noisy.flipped)
    assert all(CIFAR10_ASYMMETRIC[c] == n for c, n in zip(labels[changed], noisy.labels[changed]))


def test_download_from_a_mirror_verifies_the_archive(cifar10, http_server, tmp_path):
    cls, root, (labels, _), _ = cifar10
    base, served = http_server
    (root / "cifar10" / CIFAR10.resource.filename).rename(served / CIFAR10.resource.filename)
    ds = cls(tmp_path / "fresh", download=True, base_url=base, progress=False)
    assert (tmp_path / "fresh" / "cifar10" / CIFAR10.resource.filename).is_file()
    np.testing.assert_array_equal(ds.labels, labels)
