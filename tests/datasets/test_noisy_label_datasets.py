"""Clothing1M and ANIMAL-10N on tiny folders in the published layouts (real JPEG files)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import datasets
from datasets import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError, load
from datasets.animal10n import Animal10N
from datasets.clothing1m import CLOTHING1M_CLASSES, Clothing1M


def _jpeg(path, size, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size[1], size[0]), colour).save(path, quality=95)


# ---- Clothing1M --------------------------------------------------------------------------------
NOISY = {"images/0/00/a.jpg": 3, "images/0/01/b.jpg": 0, "images/1/10/c.jpg": 13, "images/2/20/d.jpg": 5,
         "images/9/99/e.jpg": 7}
CLEAN = {"images/0/00/a.jpg": 4, "images/3/30/f.jpg": 1, "images/4/40/g.jpg": 2, "images/5/50/h.jpg": 11,
         "images/6/60/i.jpg": 9}
SPLIT_KEYS = {"noisy_train": ["images/0/00/a.jpg", "images/0/01/b.jpg", "images/1/10/c.jpg", "images/2/20/d.jpg",
                              "images/9/99/e.jpg"],
              "clean_train": ["images/0/00/a.jpg", "images/3/30/f.jpg"],
              "clean_val": ["images/4/40/g.jpg"],
              "clean_test": ["images/5/50/h.jpg", "images/6/60/i.jpg"]}


@pytest.fixture
def clothing_root(tmp_path):
    folder = tmp_path / "clothing1m"
    folder.mkdir()
    (folder / "category_names_eng.txt").write_text("\n".join(CLOTHING1M_CLASSES) + "\n")
    (folder / "category_names_chn.txt").write_text("\n".join(f"类{i}" for i in range(14)) + "\n", encoding="utf-8")
    (folder / "noisy_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in NOISY.items()))
    (folder / "clean_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in CLEAN.items()))
    for split, keys in SPLIT_KEYS.items():
        (folder / f"{split}_key_list.txt").write_text("\n".join(keys) + "\n")
    for i, key in enumerate(sorted(set(NOISY) | set(CLEAN))):
        _jpeg(folder / key, (12 + i, 9 + i), (20 * i, 100, 200))
    return tmp_path


def test_clothing1m_splits_and_labels(clothing_root):
    noisy = load("clothing1m", root=clothing_root)
    assert noisy.split == "noisy_train" and noisy.num_classes == 14 and len(noisy) == 5
    assert noisy.labels.tolist() == [3, 0, 13, 5, 7]
    assert noisy.clean_labels.tolist() == [4, -1, -1, -1, -1]  # clean label known for the overlap only
    test = Clothing1M(clothing_root, "clean_test")
    assert test.labels.tolist() == [11, 9] and test.keys == SPLIT_KEYS["clean_test"]
    img, label = test[1]
    assert img.dtype == np.float32 and img.shape[0] == 3 and label == 9
    assert abs(float(img[2].mean()) - 200 / 255) < 0.03  # decoded colour (JPEG is lossy)
    with pytest.raises(ValueError, match=r"different sizes .* pass image_size=\(H, W\)"):
        test.images_at([0, 1])
    resized = Clothing1M(clothing_root, "clean_test", image_size=(16, 16)).images_at([0, 1], np.uint8)
    assert resized.shape == (2, 3, 16, 16)
    assert len(noisy.content_hash) == 64 and noisy.content_hash != test.content_hash
    assert Clothing1M.verify_layout(clothing_root, progress=False) == {"noisy_train": 5, "clean_train": 2,
                                                                        "clean_val": 1, "clean_test": 2}
    with pytest.raises(ValueError, match=r"split must be one of 'noisy_train', 'clean_train', 'clean_val', "
                                         r"'clean_test'; got 'train'"):
        Clothing1M(clothing_root, "train")


def test_clothing1m_errors(clothing_root):
    folder = clothing_root / "clothing1m"
    (folder / "images/5/50/h.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    test = Clothing1M(clothing_root, "clean_test")
    with pytest.raises(DatasetIntegrityError, match=r"cannot decode image .*images/5/50/h.jpg"):
        test[0]
    (folder / "images/6/60/i.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"image .*images/6/60/i.jpg \(listed in clean_test_key_list.txt\) "
                                                   r"not found"):
        Clothing1M.verify_layout(clothing_root, progress=False)
    (folder / "clean_val_key_list.txt").write_text("images/7/70/unknown.jpg\n")
    with pytest.raises(DatasetIntegrityError, match=r"1 keys of .*clean_val_key_list.txt have no label in "
                                                    r".*clean_label_kv.txt \(first: 'images/7/70/unknown.jpg'\)"):
        Clothing1M(clothing_root, "clean_val")
    (folder / "clean_val_key_list.txt").write_text("\n")
    with pytest.raises(DatasetIntegrityError, match=r"clean_val_key_list.txt lists no images; the file is truncated"):
        Clothing1M.verify_layout(clothing_root, progress=False)
    (folder / "noisy_label_kv.txt").write_text("images/0/00/a.jpg 14\n")
    with pytest.raises(DatasetIntegrityError, match=r"noisy_label_kv.txt line 1 has label 14; expected 0..13"):
        Clothing1M(clothing_root)
    (folder / "clean_test_key_list.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"annotation file .*clean_test_key_list.txt not found. Clothing1M is "
                                                   r"distributed on request only"):
        Clothing1M(clothing_root, "clean_test")


def test_clothing1m_download_explains_request(tmp_path):
    with pytest.raises(DatasetDownloadError, match=r"clothing1m: not downloadable automatically. Clothing1M is "
                                                   r"distributed on request only"):
        Clothing1M(tmp_path, download=True)


def _drew_a_bar(stderr: str) -> bool:
    return "it/s" in stderr or "%|" in stderr


def test_clothing1m_progress_bars_follow_the_python_api(clothing_root, capfd):
    # The CLI had --no-progress; load(verify=True) had no way to pass it on and always drew the bars.
    ds = load("clothing1m", root=clothing_root, verify=True, progress=False)
    assert len(ds) == 5
    assert "layout verifies" in datasets.verify("clothing1m", root=clothing_root, progress=False)
    Clothing1M(clothing_root, "clean_val", verify=True, progress=False)
    err = capfd.readouterr().err
    assert not _drew_a_bar(err), err
    load("clothing1m", root=clothing_root, verify=True, progress=True)
    err = capfd.readouterr().err
    assert "clothing1m: checking noisy_train images" in err and _drew_a_bar(err)
    datasets.verify("clothing1m", root=clothing_root, progress=True)
    assert _drew_a_bar(capfd.readouterr().err)


def test_animal10n_progress_bars_follow_the_python_api(animal_root, capfd, monkeypatch):
    monkeypatch.setattr(Animal10N, "expected_counts", TinyAnimal10N.expected_counts)
    load("animal10n", root=animal_root, split="test", verify=True, progress=False)
    datasets.verify("animal10n", root=animal_root, progress=False)
    err = capfd.readouterr().err
    assert not _drew_a_bar(err), err
    load("animal10n", root=animal_root, split="test", verify=True, progress=True)
    err = capfd.readouterr().err
    assert "animal10n: decoding test" in err and _drew_a_bar(err)


# ---- ANIMAL-10N --------------------------------------------------------------------------------
class TinyAnimal10N(Animal10N):
    expected_counts = {"train": 12, "test": 4}


@pytest.fixture
def animal_root(tmp_path):
    folder = tmp_path / "animal10n"
    for i in range(12):
        _jpeg(folder / "training" / f"{i % 10}_{1000 + i}.jpg", (64, 64), (10 * i, 50, 90))
    for i in range(4):
        _jpeg(folder / "testing" / f"{(3 * i) % 10}_{i}.jpg", (64, 64), (200, 10 * i, 0))
    return tmp_path


def test_animal10n_reads_folders(animal_root):
    train = TinyAnimal10N(animal_root, "train", verify=True, progress=False)
    assert len(train) == 12 and train.num_classes == 10
    names = [p.name for p in train.files]
    assert names == sorted(names)
    assert train.labels.tolist() == [int(n.split("_")[0]) for n in names]
    batch = train.images_at([0, 5, 11], np.uint8)
    assert batch.shape == (3, 3, 64, 64) and batch.dtype == np.uint8
    test = TinyAnimal10N(animal_root, "test")
    assert sorted(test.labels.tolist()) == [0, 3, 6, 9]
    assert TinyAnimal10N.verify_layout(animal_root, progress=False) == {"train": 12, "test": 4}
    view = train.torch_dataset()
    x, y, i = view[2]
    assert tuple(x.shape) == (3, 64, 64) and int(y) == train.labels[2] and int(i) == 2


def test_animal10n_errors(animal_root, tmp_path):
    with pytest.raises(DatasetIntegrityError, match=r"testing holds 4 images, expected 5000"):
        Animal10N(animal_root, "test")
    folder = animal_root / "animal10n" / "testing"
    _jpeg(folder / "cat_7.jpg", (64, 64), (0, 0, 0))
    with pytest.raises(DatasetIntegrityError, match=r"file .*cat_7.jpg is not named <label>_<id>.jpg"):
        TinyAnimal10N(animal_root, "test")
    (folder / "cat_7.jpg").unlink()
    (folder / "3_1.jpg").write_bytes((folder / "3_1.jpg").read_bytes()[:40])  # truncated JPEG
    with pytest.raises(DatasetIntegrityError, match=r"cannot decode image .*3_1.jpg"):
        TinyAnimal10N(animal_root, "test", verify=True, progress=False)
    with pytest.raises(DatasetNotFoundError, match=r"animal10n: folder .*animal10n/training not found. ANIMAL-10N is "
                                                   r"distributed on request"):
        load("animal10n", root=tmp_path / "empty")


def test_image_size_is_validated_and_animal10n_resizes_or_refuses_odd_images(clothing_root, animal_root):
    for bad in (0, -5, (0, 16), 32.0, (224,), "224", True):
        with pytest.raises(ValueError, match=r"image_size must be a positive int or an \(H, W\) pair of positive ints"):
            Clothing1M(clothing_root, "clean_test", image_size=bad)
    assert Clothing1M(clothing_root, "clean_test", image_size=np.int64(16)).images_at([0], np.uint8).shape == (1, 3, 16, 16)
    resized = TinyAnimal10N(animal_root, "train", image_size=32)
    assert resized.image_shape == (3, 32, 32) and resized.images_at([0, 3], np.uint8).shape == (2, 3, 32, 32)
    odd = animal_root / "animal10n" / "training" / "2_1002.jpg"
    _jpeg(odd, (80, 80), (1, 2, 3))  # not the published 64 x 64
    ds = TinyAnimal10N(animal_root, "train")
    i = [p.name for p in ds.files].index("2_1002.jpg")
    with pytest.raises(DatasetIntegrityError, match=r"image .*2_1002.jpg has shape \(3, 80, 80\) \(C, H, W\), expected "
                                                    r"\(3, 64, 64\).*pass image_size=\(H, W\)"):
        ds.images_at([i])
    assert TinyAnimal10N(animal_root, "train", image_size=64).images_at([i], np.uint8).shape == (1, 3, 64, 64)


def test_undecodable_annotation_files_are_named(clothing_root):
    folder = clothing_root / "clothing1m"
    (folder / "clean_test_key_list.txt").write_bytes(b"images/5/50/h.jpg\n\xff\xff\x80\n")
    with pytest.raises(DatasetIntegrityError, match=r"clothing1m: annotation file .*clean_test_key_list.txt is neither "
                                                    r"UTF-8 nor GB18030 text"):
        Clothing1M(clothing_root, "clean_test")
    (folder / "clean_label_kv.txt").write_text("images/5/50/h.jpg 1\u00b2\n", encoding="utf-8")
    with pytest.raises(DatasetIntegrityError, match=r"clean_label_kv.txt line 1 is 'images/5/50/h.jpg 1²'; expected "
                                                    r"'<image key> <label>'"):
        Clothing1M(clothing_root, "clean_val")



def test_draft_decodes_jpegs_at_a_reduced_scale_only(tmp_path):
    from datasets._images import decode_image

    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)).resize((320, 320), Image.BICUBIC)
    smooth.save(tmp_path / "a.jpg", quality=95)
    smooth.save(tmp_path / "a.png")
    full = decode_image(tmp_path / "a.jpg", "t", (40, 40))
    drafted = decode_image(tmp_path / "a.jpg", "t", (40, 40), draft=True)
    assert drafted.shape == full.shape == (3, 40, 40)
    assert not np.array_equal(drafted, full)  # decoded at 1/8 scale (40 x 40), not in full and resized
    assert np.abs(drafted.astype(int) - full.astype(int)).mean() < 4  # the same picture
    with Image.open(tmp_path / "a.jpg") as im:
        im.draft("RGB", (40, 40))
        assert im.size == (40, 40)  # Pillow's smallest DCT scale still at least 40 x 40
    np.testing.assert_array_equal(decode_image(tmp_path / "a.png", "t", (40, 40), draft=True),
                                  decode_image(tmp_path / "a.png", "t", (40, 40)))  # not a JPEG: full decode
    np.testing.assert_array_equal(decode_image(tmp_path / "a.jpg", "t", None, draft=True),
                                  decode_image(tmp_path / "a.jpg", "t"))  # no size: nothing to reduce to
