"""The equivariance suite end to end: the smoke profile from the command line, its records, figures and claims."""

from __future__ import annotations

import numpy as np
import pytest

import leaderboard
from benchmark.cli import main
from benchmark.suites import get_suite
from benchmark.suites.equivariance.suite import build_group, parse_rep

SUITE = get_suite("equivariance")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("equivariance-smoke")
    code = main(["run", "--suite", "equivariance", "--profile", "smoke", "--out", str(out), "--jobs", "2",
                 "--device", "cpu", "--no-progress"])
    with leaderboard.Store(out / "leaderboard.sqlite") as store:
        records = store.records(suite="equivariance", profile="smoke")
    return out, code, records


def test_smoke_run_stores_every_planned_record_with_the_right_equivariance(smoke):
    out, code, records = smoke
    assert code == 0
    jobs = SUITE.plan("smoke")
    assert sorted(r.record_id for r in records) == sorted(i for j in jobs for i in j.record_ids())
    assert all(r.status == "ok" and np.isfinite(r.value) for r in records)
    by = {(r.model, r.metric): r.value for r in records}
    # EMLP is equivariant to the group it is built for (float32), the MLP to none
    assert by[("emlp", "equiv_error:O(3)")] < 1e-5
    assert by[("emlp_correct", "equiv_error:O(2)@(0,1)")] < 1e-5 < by[("emlp_correct", "equiv_error:O(3)")]
    assert by[("mlp", "equiv_error:O(2)@(0,1)")] > 1e-3
    assert ("per", "lambda_contrast") in by and ("mlp", "lambda_contrast") not in by
    assert by[("per", "lambda:O(3)")] == 0.0  # the largest group's lambda stays 0, as the reference's default
    trajectory = next(r for r in records if r.metric == "lambda_contrast").components
    assert len(trajectory["lambdas"]) == 6 and trajectory["groups"][0] == "O(3)"
    assert (out / "plots" / "equivariance" / "smoke" / "inertia-smoke.png").is_file()


def test_a_second_run_trains_nothing(smoke, capsys):
    out, _, _ = smoke
    assert main(["run", "--suite", "equivariance", "--profile", "smoke", "--out", str(out), "--jobs", "1",
                 "--device", "cpu", "--no-progress"]) == 0
    assert "0 trained, 5 already stored, 0 failed" in capsys.readouterr().out


def test_the_quick_and_paper_claims():
    quick = [c.describe() for c in SUITE.claims("quick")]
    assert quick == ["per better than rpp on test_mse (lower is better)",
                     "rpp better than emlp on test_mse (lower is better)",
                     "per lambda_contrast above 10"]
    paper = SUITE.claims("paper")
    assert len(paper) == 7 and {c.datasets for c in paper[3:]} == {("inertia-0",)}
    verdicts = leaderboard.check_claims([], paper, reps=100)
    assert {v.status for v in verdicts} == {"not run"}


def test_representations_and_groups_by_name():
    rep = parse_rep("5*Scalar+5*Vector")
    assert rep.size(3) == 20 and parse_rep("T(2)").size(3) == 9 and parse_rep("3*Vector").size(3) == 9
    assert build_group("O(2)@(1,2)").name == "O(2)@(1,2)" and build_group("SO(3)+Scaling(3)").d == 3
    with pytest.raises(ValueError, match="unknown group 'U\\(1\\)'"):
        build_group("U(1)")
    with pytest.raises(ValueError, match="cannot read the representation"):
        parse_rep("5*Spinor")
    with pytest.raises(ValueError, match="its settings: inertia-0.3"):
        SUITE.plan("quick", datasets=("inertia-7",))


def test_waymo_is_skipped_when_absent_and_refused_when_asked_for(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCHMARK_DATA", str(tmp_path))
    jobs = SUITE.plan("paper", models=("mlp",), seeds=1)
    assert "waymo-motion" not in {j.dataset for j in jobs} and "motion-synthetic" in {j.dataset for j in jobs}
    assert "note: waymo-motion is skipped, its files are absent" in capsys.readouterr().out
    with pytest.raises(ValueError, match="waymo-motion: .*waymo.com/open"):
        SUITE.plan("paper", datasets=("waymo-motion",), models=("mlp",))


def test_motion_jobs_record_the_average_displacement_error(tmp_path):
    from benchmark.runner import run_jobs

    jobs = SUITE.plan("smoke", datasets=("motion-synthetic",), models=("mlp",))
    assert "ade" in jobs[0].metric_names
    outcomes = run_jobs(jobs, out=tmp_path, db=tmp_path / "lb.sqlite", device="cpu", progress=False)
    assert [o.status for o in outcomes] == ["ok"]
    with leaderboard.Store(tmp_path / "lb.sqlite") as store:
        values = {r.metric: r.value for r in store.records(suite="equivariance")}
    # the ADE is a mean distance between 3-D points: positive, and at most the root of 3 x the per-coordinate MSE
    assert 0 < values["ade"] <= np.sqrt(3 * values["test_mse"]) + 1e-6


def test_show_and_the_html_page_work_for_the_suite(smoke, capsys):
    out, _, _ = smoke
    db = str(out / "leaderboard.sqlite")
    assert main(["leaderboard", "show", "--db", db, "--suite", "equivariance", "--metric", "test_mse"]) == 0
    assert "inertia-smoke" in capsys.readouterr().out
    page = out / "page.html"
    assert main(["leaderboard", "html", "--db", db, "--out", str(page)]) == 0
    assert "equivariance" in page.read_text()
