"""Synthetic label noise: conventions, exact counts, transition matrices, masks, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.noise import (CIFAR10_ASYMMETRIC, add_label_noise, apply_transition, asymmetric_noise,
                            cifar100_asymmetric_mapping, pair_flip_noise, symmetric_noise)
from datasets.noisy_twin import Shapes3DHueNoisy

C = 10
LABELS = np.repeat(np.arange(C), 1000)  # 1,000 per class


def test_symmetric_other_exact_counts_and_matrix():
    noise = symmetric_noise(LABELS, 0.4, num_classes=C, convention="other", rng=0)
    assert noise.flip_rate == pytest.approx(0.4, abs=1e-12)  # exactly 400 per class
    for k in range(C):
        assert noise.flipped[LABELS == k].sum() == 400
    assert not np.any(noise.noisy_labels[noise.flipped] == noise.clean_labels[noise.flipped])
    np.testing.assert_array_equal(noise.flipped, noise.noisy_labels != LABELS)
    t = noise.transition
    np.testing.assert_allclose(np.diag(t), 0.6)
    np.testing.assert_allclose(t[0, 1:], 0.4 / 9)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    # targets spread over the other classes
    np.testing.assert_allclose(noise.empirical_transition(), t, atol=0.03)


def test_symmetric_all_convention_keeps_some_labels():
    noise = symmetric_noise(LABELS, 0.4, num_classes=C, convention="all", rng=0)
    # round(0.4 N) samples relabelled uniformly over all C classes: flip rate r (C-1)/C = 0.36
    assert noise.flip_rate == pytest.approx(0.36, abs=0.015)
    np.testing.assert_allclose(np.diag(noise.transition), 0.6 + 0.04)
    np.testing.assert_allclose(noise.transition[0, 1], 0.04)
    np.testing.assert_allclose(noise.empirical_transition(), noise.transition, atol=0.03)
    assert noise.convention == "all" and noise.identity()["convention"] == "all"


def test_seeded_and_seed_sensitive():
    a = symmetric_noise(LABELS, 0.3, rng=5)
    b = symmetric_noise(LABELS, 0.3, rng=np.random.default_rng(5))
    c = symmetric_noise(LABELS, 0.3, rng=6)
    np.testing.assert_array_equal(a.noisy_labels, b.noisy_labels)
    assert not np.array_equal(a.noisy_labels, c.noisy_labels)


def test_asymmetric_cifar10_mapping():
    noise = asymmetric_noise(LABELS, 0.4, CIFAR10_ASYMMETRIC, num_classes=C, rng=0)
    for src, dst in CIFAR10_ASYMMETRIC.items():
        moved = noise.noisy_labels[LABELS == src]
        assert (moved == dst).sum() == 400 and ((moved != src) & (moved != dst)).sum() == 0
        assert noise.transition[src, src] == pytest.approx(0.6) and noise.transition[src, dst] == pytest.approx(0.4)
    for k in (0, 1, 6, 7, 8):
        assert not noise.flipped[LABELS == k].any() and noise.transition[k, k] == 1.0
    assert noise.flip_rate == pytest.approx(0.2)  # r/2 overall, as published


def test_cifar100_mapping_blocks_of_five():
    m = cifar100_asymmetric_mapping()
    assert m[0] == 1 and m[4] == 0 and m[5] == 6 and m[99] == 95 and len(m) == 100


def test_pair_flip():
    noise = pair_flip_noise(LABELS, 0.45, num_classes=C, rng=0)
    assert noise.kind == "pair"
    flipped_to = noise.noisy_labels[noise.flipped]
    np.testing.assert_array_equal(flipped_to, (noise.clean_labels[noise.flipped] + 1) % C)
    assert noise.flip_rate == pytest.approx(0.45)
    expected = 0.55 * np.eye(C) + 0.45 * np.roll(np.eye(C), 1, axis=1)
    np.testing.assert_allclose(noise.transition, expected)


def test_transition_method_rate_is_close_to_requested():
    noise = pair_flip_noise(np.repeat(np.arange(C), 5000), 0.3, num_classes=C, method="transition", rng=1)
    assert noise.method == "transition"
    assert abs(noise.flip_rate - 0.3) < 0.01  # 50,000 Bernoulli(0.3): sd 0.002
    np.testing.assert_allclose(noise.empirical_transition(), noise.transition, atol=0.02)


def test_apply_transition_matches_rows():
    t = np.array([[0.2, 0.8], [1.0, 0.0]])
    out = apply_transition(np.array([0] * 20000 + [1] * 10), t, rng=0)
    assert (out[-10:] == 0).all()
    assert abs(out[:20000].mean() - 0.8) < 0.01
    with pytest.raises(ValueError, match=r"transition must have non-negative rows that sum to 1; got row sums \[1.0, 0.5\]"):
        apply_transition([0], np.array([[0.5, 0.5], [0.25, 0.25]]), rng=0)


def test_noise_argument_errors():
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\]; got 1.5"):
        symmetric_noise(LABELS, 1.5)
    with pytest.raises(ValueError, match=r"convention must be one of 'other', 'all'; got 'both'"):
        symmetric_noise(LABELS, 0.2, convention="both")
    with pytest.raises(ValueError, match=r"labels must be 1D with shape \(n_samples,\); got shape \(2, 2\)"):
        symmetric_noise(np.zeros((2, 2), int), 0.2)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for num_classes=3; got 3"):
        symmetric_noise([0, 3], 0.2, num_classes=3)
    with pytest.raises(TypeError, match=r"labels must hold integer class labels; got dtype float64"):
        symmetric_noise([0.5, 1.0], 0.2)
    with pytest.raises(ValueError, match=r"mapping entries must be classes in \[0, 9\]; got 3 -> 12"):
        asymmetric_noise(LABELS, 0.2, {3: 12}, num_classes=10)
    with pytest.raises(TypeError, match=r"mapping entries must be integer classes .*; got 2.5 -> 0"):
        asymmetric_noise(LABELS, 0.2, {2.5: 0}, num_classes=10)  # was read as class 2
    with pytest.raises(ValueError, match=r"method must be one of 'exact', 'transition'; got 'random'"):
        pair_flip_noise(LABELS, 0.2, method="random")


def test_noisy_twin_and_wrapper():
    train = Shapes3DHueNoisy("train", n_train=2000, n_test=300, noise_rate=0.2, seed=3)
    test = Shapes3DHueNoisy("test", n_train=2000, n_test=300, noise_rate=0.2, seed=3)
    assert len(train) == 2000 and len(test) == 300 and train.num_classes == 10
    assert not set(train.indices) & set(test.indices)  # disjoint scenes
    np.testing.assert_array_equal(train.clean_labels, train.factors[:, 2])  # object hue
    assert np.array_equal(test.labels, test.clean_labels) and not test.flipped.any()
    # neighbouring hues, exact per-class rate
    np.testing.assert_array_equal(train.labels[train.flipped], (train.clean_labels[train.flipped] + 1) % 10)
    assert abs(train.flipped.mean() - 0.2) < 0.01
    img, label = train[4]
    assert img.shape == (3, 64, 64) and label == train.labels[4]
    np.testing.assert_array_equal(train.images_at([4], np.uint8)[0],
                                  train.scenes.images_for_factors(train.factors[4:5], np.uint8)[0])
    again = Shapes3DHueNoisy("train", n_train=2000, n_test=300, noise_rate=0.2, seed=3)
    assert again.content_hash == train.content_hash
    assert Shapes3DHueNoisy("train", n_train=2000, n_test=300, noise_rate=0.3, seed=3).content_hash != train.content_hash
    wrapped = add_label_noise(test, "symmetric", 0.5, rng=0, convention="all")
    assert wrapped.transition.shape == (10, 10) and wrapped.name == "shapes3d-hue-noisy+symmetric-noise"
    np.testing.assert_array_equal(wrapped.clean_labels, test.labels)
    np.testing.assert_array_equal(wrapped.images_at([0, 1], np.uint8), test.images_at([0, 1], np.uint8))
    with pytest.raises(ValueError, match=r"asymmetric noise needs mapping"):
        add_label_noise(test, "asymmetric", 0.5)
    with pytest.raises(ValueError, match=r"kind must be one of 'symmetric', 'asymmetric', 'pair'; got 'flip'"):
        add_label_noise(test, "flip", 0.5)


def test_noise_on_an_already_noisy_dataset_keeps_its_true_labels():
    noisy = Shapes3DHueNoisy("train", n_train=300, n_test=50, noise_rate=0.2, seed=3)
    assert noisy.flipped.any()
    same = add_label_noise(noisy, "symmetric", 0.0, rng=0)  # no extra noise: nothing may change
    np.testing.assert_array_equal(same.clean_labels, noisy.clean_labels)
    np.testing.assert_array_equal(same.flipped, noisy.flipped)
    more = add_label_noise(noisy, "symmetric", 0.3, rng=0)
    np.testing.assert_array_equal(more.clean_labels, noisy.clean_labels)
    np.testing.assert_array_equal(more.flipped, more.labels != noisy.clean_labels)
    with pytest.raises(ValueError, match=r"n_train must be an integer >= 1 and <= 479999; got 480000"):
        Shapes3DHueNoisy("train", n_train=480_000)


def test_twin_validation_split_is_clean_disjoint_and_leaves_train_and_test_unchanged():
    kw = dict(n_train=500, n_test=100, noise_rate=0.4, noise="symmetric", seed=5)
    train, test = Shapes3DHueNoisy("train", **kw), Shapes3DHueNoisy("test", **kw)
    val = Shapes3DHueNoisy("val", n_val=80, **kw)
    assert len(val) == 80 and not val.flipped.any() and np.array_equal(val.labels, val.clean_labels)
    assert not set(val.indices) & (set(train.indices) | set(test.indices))
    np.testing.assert_array_equal(val.clean_labels, val.factors[:, 2])
    # the draw of train and test does not depend on the validation split's existence or size
    assert Shapes3DHueNoisy("train", n_val=5, **kw).content_hash == train.content_hash
    assert Shapes3DHueNoisy("val", n_val=81, **kw).content_hash != val.content_hash
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'val', 'test'; got 'valid'"):
        Shapes3DHueNoisy("valid")


def test_twin_at_32_pixels_is_the_block_mean_of_the_64_pixel_rendering():
    kw = dict(n_train=50, n_test=10, seed=1)
    full, small = Shapes3DHueNoisy("train", **kw), Shapes3DHueNoisy("train", image_size=32, **kw)
    big = full.images_at([0, 7], np.uint8).astype(np.int64)
    expected = (big[:, :, 0::2, 0::2] + big[:, :, 1::2, 0::2] + big[:, :, 0::2, 1::2] + big[:, :, 1::2, 1::2] + 2) // 4
    np.testing.assert_array_equal(small.images_at([0, 7], np.uint8), expected)
    assert small.image_shape == (3, 32, 32) and small[0][0].shape == (3, 32, 32)
    assert small.content_hash != full.content_hash and np.array_equal(small.labels, full.labels)
    with pytest.raises(ValueError, match="image_size must be one of 64, 32, 16, 8"):
        Shapes3DHueNoisy("train", image_size=48, **kw)
