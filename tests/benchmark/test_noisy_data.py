"""The noisy-label suite's loader (benchmark/suites/noisy_labels/data.py) on a tree benchmarks/noisy_loader_speed.py
writes, which the Clothing1M adapter reads."""

import numpy as np
import pytest
import torch

import datasets
from benchmark.suites.noisy_labels.data import make_loader


@pytest.fixture(scope="module")
def clothing(benchmark_script, tmp_path_factory):
    script = benchmark_script("noisy_loader_speed")
    root = script.write_layout(tmp_path_factory.mktemp("clothing"), n_images=20, photo_size=64, seed=1)
    return datasets.load("clothing1m", root=root, split="noisy_train", image_size=16, progress=False)


def test_the_script_writes_a_layout_the_adapter_reads(clothing):
    assert len(clothing) == 20 and clothing.num_classes == 14 and clothing.draft
    assert datasets.load("clothing1m", root=clothing.root, split="clean_test").labels.tolist() == \
        clothing.labels.tolist()
    assert clothing.images_at([0, 19], np.uint8).shape == (2, 3, 16, 16)


def test_loader_order_depends_on_the_seed_only(clothing):
    def order(workers, seed):
        return torch.cat([index for _, _, index in make_loader(clothing, 6, shuffle=True, seed=seed,
                                                                 workers=workers)]).tolist()

    in_process = order(0, 3)
    assert sorted(in_process) == list(range(20)) and in_process != list(range(20))
    assert order(1, 3) == in_process  # a worker process reads the same order
    assert order(0, 4) != in_process
    images, labels, index = next(iter(make_loader(clothing, 5, shuffle=False)))
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.float32
    assert labels.tolist() == clothing.labels[:5].tolist() and index.tolist() == list(range(5))


def test_loader_settings_and_errors(clothing):
    loader = make_loader(clothing, 4, shuffle=False, workers=1)
    assert loader.persistent_workers and loader.num_workers == 1 and not loader.pin_memory
    assert make_loader(clothing, 4, shuffle=False, device="cuda").pin_memory  # page-locked copies for a GPU
    with pytest.raises(ValueError, match="need batch_size >= 1 and workers >= 0; got 0 and 0"):
        make_loader(clothing, 0, shuffle=False)
