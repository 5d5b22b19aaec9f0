"""The latent-semantics suite end to end: the smoke profile from the command line, its records, shared
artifacts, figures, claims and leaderboard pages; planning errors; the shared folder and its lock."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

import leaderboard
from benchmark.cli import main
from benchmark.shared import exclusive, shared_dir
from benchmark.suites import get_suite

SUITE = get_suite("latent-semantics")
DATASET = "shapes3d-procedural-32px"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("latent-smoke")
    code = main(["run", "--suite", "latent-semantics", "--profile", "smoke", "--out", str(out), "--jobs", "2",
                 "--device", "cpu", "--no-progress"])
    with leaderboard.Store(out / "leaderboard.sqlite") as store:
        records = store.records(suite="latent-semantics", profile="smoke")
    return out, code, records


def test_smoke_run_stores_every_planned_record(smoke):
    out, code, records = smoke
    assert code == 0
    jobs = SUITE.plan("smoke")
    assert sorted(r.record_id for r in records) == sorted(i for j in jobs for i in j.record_ids())
    assert all(r.status == "ok" and np.isfinite(r.value) for r in records)
    by = {(r.model, r.metric): r for r in records}
    for model in ("householder", "sefa", "random"):
        for metric in ("modularity", "compactness", "controlled_fraction", "probe_accuracy"):
            assert 0.0 <= by[(model, metric)].value <= 1.0
        assert by[(model, "fd_probe")].value > 0 and by[(model, "pipl")].value >= 0
    # SeFa and random directions edit the same pretrained generator: its fidelity and PPL are one number
    assert by[("sefa", "fd_probe")].value == by[("random", "fd_probe")].value
    assert by[("sefa", "ppl_w")].value == by[("random", "ppl_w")].value
    ratio = by[("householder", "fd_ratio")]
    assert ratio.components["fd_pretrained"] == pytest.approx(by[("sefa", "fd_probe")].value)
    assert ratio.value == pytest.approx(by[("householder", "fd_probe")].value / ratio.components["fd_pretrained"])
    assert ("sefa", "fd_ratio") not in by
    nmi = np.asarray(by[("sefa", "modularity")].components["nmi"])
    assert nmi.shape == (30, 6)  # 3 projector layers x k = 10 directions, 6 Shapes3D factors
    assert by[("sefa", "modularity")].components["factors"][0] == "floor_hue"
    # one pretrained generator per seed and one probe, in the run's shared folder
    shared = out / "runs" / "_shared"
    assert len(list(shared.glob("latent-semantics-gan-*/checkpoint.pt"))) == 1
    assert len(list((shared / "latent-semantics-probes").glob("probe-*.pt"))) == 1
    figures = out / "plots" / "latent-semantics" / "smoke"
    assert (figures / f"{DATASET}-nmi.png").is_file() and (figures / f"{DATASET}-scores.png").is_file()
    for fig in by[("householder", "modularity")].components["figures"]:
        assert fig.endswith(("traversals.png", "nmi.png"))
    assert len(list(out.glob("runs/smoke/*/householder/*/finetune/checkpoint.pt"))) == 1


def test_a_second_run_trains_nothing(smoke, capsys):
    out, _, _ = smoke
    assert main(["run", "--suite", "latent-semantics", "--profile", "smoke", "--out", str(out), "--jobs", "1",
                 "--device", "cpu", "--no-progress"]) == 0
    assert "0 trained, 3 already stored, 0 failed" in capsys.readouterr().out


def test_show_and_the_html_page_work_for_the_suite(smoke, capsys):
    out, _, _ = smoke
    db = str(out / "leaderboard.sqlite")
    assert main(["leaderboard", "show", "--db", db, "--suite", "latent-semantics", "--metric", "modularity"]) == 0
    assert DATASET in capsys.readouterr().out
    page = out / "page.html"
    assert main(["leaderboard", "html", "--db", db, "--out", str(page)]) == 0
    assert "latent-semantics" in page.read_text()


def test_plan_and_its_errors(capsys):
    jobs = SUITE.plan("quick")
    assert len(jobs) == 3 * 2 and {j.dataset for j in jobs} == {DATASET}
    house = next(j for j in jobs if j.model == "householder")
    assert "fd_ratio" in house.metric_names and "fd_ratio" not in next(j for j in jobs if j.model == "sefa").metric_names
    assert house.config["gan"]["size"] == 32
    with pytest.raises(ValueError, match="no ground-truth factors"):
        SUITE.plan("smoke", datasets=("inertia",))
    with pytest.raises(ValueError, match="unknown dataset|must be one of"):
        SUITE.plan("smoke", datasets=("no-such-data",))
    with pytest.raises(ValueError, match="32 or 64 px"):
        SUITE.plan("smoke", datasets=("shapes3d-procedural-16px",))
    with pytest.raises(ValueError, match="models must be among"):
        SUITE.plan("smoke", models=("ganspace",))
    # the paper profile's real datasets are skipped with a note when their files are absent
    paper = SUITE.plan("paper", seeds=1)
    assert {j.dataset for j in paper} >= {"shapes3d-procedural", "mpi3d-procedural", "dsprites-procedural"}
    assert paper[0].config["gan"]["style_dim"] == 512


def test_the_claims():
    described = [c.describe() for c in SUITE.claims("quick")]
    assert described == ["householder better than sefa on modularity (higher is better)",
                         "householder better than sefa on pipl (lower is better)",
                         "householder fd_ratio below 1.25",
                         "sefa better than random on modularity (higher is better)"]
    assert all(c.datasets == (DATASET,) for c in SUITE.claims("quick"))
    paper = SUITE.claims("paper")
    assert "shapes3d" not in paper[0].datasets and "shapes3d-procedural" in paper[0].datasets


def test_shared_dir_sits_beside_the_profiles(tmp_path):
    run_dir = tmp_path / "runs" / "quick" / DATASET / "sefa" / "seed0-abc"
    assert shared_dir(run_dir, "x") == tmp_path / "runs" / "_shared" / "x"
    assert (tmp_path / "runs" / "_shared" / "x").is_dir()
    with pytest.raises(ValueError, match="run folder"):
        shared_dir(tmp_path / "elsewhere", "x")
    with pytest.raises(ValueError, match="one folder name"):
        shared_dir(run_dir, "a/b")


def _hold(path, log, tag):
    with exclusive(path):
        with open(log, "a") as f:
            f.write(f"{tag}+\n")
        time.sleep(0.3)
        with open(log, "a") as f:
            f.write(f"{tag}-\n")


def test_exclusive_serialises_processes(tmp_path):
    log = tmp_path / "log.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(tmp_path / "artifact", log, t)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    lines = log.read_text().split()
    assert sorted(lines) == ["a+", "a-", "b+", "b-"]
    assert lines[0][0] == lines[1][0] and lines[2][0] == lines[3][0]  # never interleaved


def test_weights_are_named_and_must_exist(tmp_path):
    from benchmark.suites.latent_semantics.suite import weight_files

    f = tmp_path / "inception.pth"
    f.write_bytes(b"x")
    assert weight_files([f"inception={f}"]) == {"inception": str(f.resolve())}
    with pytest.raises(ValueError, match="inception=PATH"):
        weight_files([str(f)])  # a bare path: which network is it?
    with pytest.raises(ValueError, match="no such file"):
        weight_files([f"inception={tmp_path / 'absent.pth'}"])
    with pytest.raises(ValueError, match="needs both vgg16=PATH"):
        weight_files([f"lpips={f}"])
    jobs = SUITE.plan("smoke", weights=[f"inception={f}"])
    assert all("fid" in j.metric_names and "pipl_lpips" not in j.metric_names for j in jobs)
    assert jobs[0].run_options == {"weights": {"inception": str(f.resolve())}}
    assert all("fid" not in j.metric_names for j in SUITE.plan("smoke"))  # without weights: no FID record
