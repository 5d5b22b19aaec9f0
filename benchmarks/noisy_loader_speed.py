"""Images per second of Clothing1M loading, on a Clothing1M-layout tree of JPEGs this script writes.

Writes ``--images`` photos (``--photo-size`` pixels a side, JPEG quality 90, smooth random content) in the published
layout (annotation files, ``images/x/yy/*.jpg``) under ``--root`` (a temporary folder by default), then measures in
one run, at the recipes' decoding size ``--size`` (256: Resize 256 before the 224 crop):

* decoding one image at a time: full decode then resize, against ``draft`` (Pillow's reduced DCT scale) then resize,
  and their ratio;
* the noisy-label suite's ``make_loader`` at 0 and ``--workers`` decoding processes (``draft`` on): images/s over
  ``--epochs`` passes (the first includes starting the workers).

It prints the CPU (model and vector instruction sets). Run: ``python benchmarks/noisy_loader_speed.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def write_layout(root: Path, n_images: int, photo_size: int, seed: int = 0) -> Path:
    """A Clothing1M tree under ``root/clothing1m`` with ``n_images`` JPEGs, all in every split; returns ``root``."""
    from PIL import Image

    from datasets.clothing1m import CLOTHING1M_CLASSES

    folder = root / "clothing1m"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    keys = [f"images/{i % 10}/{i % 100:02d}/{i}.jpg" for i in range(n_images)]
    labels = rng.integers(0, len(CLOTHING1M_CLASSES), n_images)
    coarse = rng.integers(0, 256, (n_images, 8, 8, 3)).astype(np.uint8)  # upsampled: smooth, photo-like content
    for key, block in zip(keys, coarse):
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(block).resize((photo_size, photo_size), Image.BICUBIC).save(folder / key, quality=90)
    (folder / "category_names_eng.txt").write_text("\n".join(CLOTHING1M_CLASSES) + "\n")
    (folder / "category_names_chn.txt").write_text("\n".join(CLOTHING1M_CLASSES) + "\n")
    kv = "".join(f"{k} {int(v)}\n" for k, v in zip(keys, labels))
    (folder / "noisy_label_kv.txt").write_text(kv)
    (folder / "clean_label_kv.txt").write_text(kv)
    for split in ("noisy_train", "clean_train", "clean_val", "clean_test"):
        (folder / f"{split}_key_list.txt").write_text("\n".join(keys) + "\n")
    return root


def images_per_second(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    import torch

    import datasets
    from benchmark.environment import cpu_info
    from benchmark.suites.noisy_labels.data import make_loader
    from datasets._images import decode_image

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=600)
    p.add_argument("--photo-size", type=int, default=800)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--root", type=Path, default=None)
    args = p.parse_args()
    cpu = cpu_info()
    print(f"CPU: {cpu['model']}; {', '.join(cpu['isa'])}; torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_layout(args.root or Path(tmp), args.images, args.photo_size)
        size = (args.size, args.size)
        ds = datasets.load("clothing1m", root=root, split="noisy_train", image_size=size, progress=False)
        paths = [ds.image_path(i) for i in range(len(ds))]
        print(f"{len(ds)} JPEGs of {args.photo_size} x {args.photo_size}, decoded to {args.size} x {args.size}")
        full = images_per_second(lambda: [decode_image(q, "clothing1m", size) for q in paths], len(paths))
        draft = images_per_second(lambda: [decode_image(q, "clothing1m", size, draft=True) for q in paths], len(paths))
        print(f"one process, one image at a time: full decode {full:8.1f} img/s, draft {draft:8.1f} img/s, "
              f"ratio {draft / full:.2f}x")
        for workers in sorted({0, args.workers}):
            loader = make_loader(ds, args.batch_size, shuffle=True, seed=0, workers=workers)
            for epoch in range(args.epochs):
                rate = images_per_second(lambda: [None for _ in loader], len(ds))
                print(f"make_loader, {workers} workers, epoch {epoch + 1}: {rate:8.1f} img/s")
            del loader


if __name__ == "__main__":
    main()
