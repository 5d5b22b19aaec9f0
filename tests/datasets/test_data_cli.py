"""`python -m benchmark data ...` and `eval-sample`, against a local HTTP server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from datasets._resources import Resource
from datasets.dsprites import DSprites


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served_dsprites(http_server, monkeypatch, tmp_path, fx):
    """A tiny dSprites file on the local server; DSprites pinned to it (class data only)."""
    base, served = http_server
    src = tmp_path / "src" / DSprites.resource.filename
    imgs = fx.write_dsprites_npz(src)
    (served / src.name).write_bytes(src.read_bytes())
    monkeypatch.setattr(DSprites, "factor_sizes", fx.TINY_DSPRITES_SIZES)
    monkeypatch.setattr(DSprites, "resource", Resource(src.name, ("http://127.0.0.1:9/unreachable",), md5=fx.md5_of(src)))
    return base, served, imgs


def test_download_verify_and_eval_sample(served_dsprites, tmp_path, capsys):
    base, served, imgs = served_dsprites
    root = tmp_path / "data"
    assert main(["data", "download", "dsprites", "--root", str(root), "--base-url", base, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "dsprites:" in out and "present and verified" in out
    target = root / "dsprites" / DSprites.resource.filename
    assert target.read_bytes() == (served / target.name).read_bytes()

    assert main(["data", "verify", "dsprites", "--root", str(root), "--no-progress"]) == 0
    assert "verified: 72 images" in capsys.readouterr().out

    assert main(["data", "list", "--root", str(root)]) == 0
    listing = capsys.readouterr().out
    assert any(line.split()[:2] == ["dsprites", "present"] for line in listing.splitlines())
    assert any(line.split()[:2] == ["mpi3d-toy", "missing"] for line in listing.splitlines())

    out_file = tmp_path / "sample.npz"
    assert main(["eval-sample", "dsprites", "--root", str(root), "--out", str(out_file), "--n", "30", "--seed", "4"]) == 0
    saved = np.load(out_file, allow_pickle=False)
    from datasets import load

    ds = load("dsprites", root=root)
    sample = ds.evaluation_sample(30, 4)
    np.testing.assert_array_equal(saved["indices"], sample.indices)
    np.testing.assert_array_equal(saved["factors"], sample.factors)
    assert saved["images"].dtype == np.uint8 and saved["images"].shape == (30, 1, 64, 64)
    np.testing.assert_array_equal(saved["images"][:, 0], imgs[sample.indices] * 255)
    assert str(saved["sample_hash"]) == sample.sample_hash and str(saved["dataset"]) == "dsprites"
    assert str(saved["content_hash"]) == ds.content_hash


def test_verify_detects_corruption(served_dsprites, tmp_path, capsys):
    base, _, _ = served_dsprites
    root = tmp_path / "data"
    assert main(["data", "download", "dsprites", "--root", str(root), "--base-url", base, "--no-progress"]) == 0
    target = root / "dsprites" / DSprites.resource.filename
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(["data", "verify", "dsprites", "--root", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dsprites: checksum mismatch for") and "expected md5" in err
    assert len(err.splitlines()) == 1


def test_download_errors_exit_2(served_dsprites, tmp_path, capsys):
    base, served, _ = served_dsprites
    name = DSprites.resource.filename
    raw = bytearray((served / name).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (served / name).write_bytes(bytes(raw))
    assert main(["data", "download", "dsprites", "--root", str(tmp_path / "d"), "--base-url", base, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{base}/{name}" in err and "checksum mismatch" in err
    (served / name).unlink()
    assert main(["data", "download", "dsprites", "--root", str(tmp_path / "d"), "--base-url", base, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "HTTP 404" in err and "by hand" in err
    assert main(["data", "download", "animal10n", "--root", str(tmp_path / "d")]) == 2
    assert "distributed on request" in capsys.readouterr().err
    assert main(["data", "download", "dsprites-procedural"]) == 0
    assert "nothing to download" in capsys.readouterr().out


def test_eval_sample_errors(tmp_path, capsys):
    assert main(["eval-sample", "nope", "--out", str(tmp_path / "s.npz")]) == 2
    assert "unknown dataset 'nope'; valid names:" in capsys.readouterr().err
    assert main(["eval-sample", "dsprites-procedural", "--out", str(tmp_path / "s.txt")]) == 2
    assert "--out must name a .npz file" in capsys.readouterr().err
    assert main(["eval-sample", "dsprites-procedural", "--out", str(tmp_path / "s.npz"), "--n", "0"]) == 2
    assert "n must be an integer >= 1" in capsys.readouterr().err
    assert main(["eval-sample", "shapes3d-hue-noisy", "--out", str(tmp_path / "s.npz")]) == 2
    assert "not ground-truth factors" in capsys.readouterr().err
    assert main(["eval-sample", "dsprites", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "s.npz")]) == 2
    assert "dsprites: data file" in capsys.readouterr().err


def test_module_entry_point_subprocess(tmp_path):
    out = tmp_path / "twin.npz"
    proc = subprocess.run([sys.executable, "-m", "benchmark", "eval-sample", "shapes3d-procedural", "--out", str(out),
                           "--n", "8", "--seed", "1"], capture_output=True, text=True, cwd=REPO,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    saved = np.load(out, allow_pickle=False)
    assert saved["images"].shape == (8, 3, 64, 64) and len(str(saved["sample_hash"])) == 64


def test_grid_command_writes_png(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "grid.png"
    assert main(["data", "grid", "dsprites-procedural", "--out", str(out), "--seed", "2"]) == 0
    im = np.asarray(Image.open(out))
    assert im.shape == (2 * (8 * 66 + 2), 2 * (8 * 66 + 2), 3) and im.max() == 255
    trav = tmp_path / "trav.png"
    assert main(["data", "grid", "shapes3d-procedural", "--traversal", "--out", str(trav)]) == 0
    assert np.asarray(Image.open(trav)).shape[0] == 2 * (6 * 66 + 2)  # one row per factor
    assert main(["data", "grid", "shapes3d-procedural", "--out", str(tmp_path / "x.jpg")]) == 2
    assert "--out must name a .png file" in capsys.readouterr().err


def test_output_files_go_to_a_folder_that_is_created_or_refused_up_front(tmp_path, capsys):
    # a missing folder is created (as `run --out` does); a file standing where the folder must go is refused
    # in one line before any image is rendered
    assert main(["eval-sample", "dsprites-procedural", "--out", str(tmp_path / "new" / "s.npz"), "--n", "5"]) == 0
    assert (tmp_path / "new" / "s.npz").is_file()
    assert main(["data", "grid", "dsprites-procedural", "--out", str(tmp_path / "new2" / "g.png")]) == 0
    assert (tmp_path / "new2" / "g.png").is_file()
    capsys.readouterr()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["eval-sample", "dsprites-procedural", "--out", str(blocker / "s.npz")]) == 2
    assert f"cannot create the folder '{blocker}' (--out)" in capsys.readouterr().err
    assert main(["data", "grid", "dsprites-procedural", "--out", str(blocker / "g.png")]) == 2
    assert f"cannot create the folder '{blocker}' (--out)" in capsys.readouterr().err
