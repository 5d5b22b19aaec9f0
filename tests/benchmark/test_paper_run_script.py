"""benchmarks/paper_run.py: the projection of a whole job from a shortened run of the suite's own job code."""

import re
import sys

import pytest

from benchmark.suites.disentanglement.evaluation import FAMILIES


@pytest.fixture(scope="module")
def paper_run(benchmark_script):
    return benchmark_script("paper_run")


def test_smoke_job_is_timed_and_projected(paper_run, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["paper_run.py", "--profile", "smoke", "--dataset", "dsprites-procedural-32px",
                                      "--steps", "20", "--device", "cpu"])
    paper_run.main()
    out = capsys.readouterr().out
    assert "smoke job, shortened: dsprites-procedural-32px/qlae, 20 of 20 steps at batch 16" in out
    assert "device cpu, precision fp32" in out
    for family in (*FAMILIES, "psnr"):  # every family once, with its own time
        assert len(re.findall(rf"^  {family} +\d+\.\d s$", out, flags=re.M)) == 1, (family, out)
    projected = re.search(r"projected smoke job \(20 steps, 2 checkpoints\): ([\d.]+) min = ([\d.]+) min training "
                          r"\+ ([\d.]+) min set-up and evaluation", out)
    assert projected, out
    total, training, outside = map(float, projected.groups())
    assert total == pytest.approx(training + outside, abs=0.11)
    steady = float(re.search(r", ([\d.]+) steps/s over the second half", out).group(1))
    assert steady > 0
    infom = float(re.search(r"infom ([\d.]+)", out).group(1))
    assert 0.0 <= infom <= 1.0


def test_projection_adds_the_full_run_to_the_time_outside_the_loop(paper_run):
    m = paper_run.measure(profile="smoke", dataset="dsprites-procedural-32px", model="ae", steps=20, device="cpu")
    assert (m["full_steps"], m["full_checkpoints"], m["precision"]) == (20, 2, "fp32")
    assert m["projected_training_seconds"] == pytest.approx(20 / m["steady_steps_per_second"] + 2 * m["checkpoint_seconds"])
    assert m["projected_seconds"] == pytest.approx(m["projected_training_seconds"] + m["outside_loop_seconds"])
    assert 0 < sum(m["family_seconds"].values()) < m["outside_loop_seconds"]
    assert m["job"].model == "ae" and "infom" in m["scores"]


def test_bad_arguments_are_refused(paper_run, monkeypatch):
    with pytest.raises(ValueError, match="steps must be at least 20"):
        paper_run.measure(profile="smoke", dataset="dsprites-procedural-32px", steps=5)
    monkeypatch.setattr(sys, "argv", ["paper_run.py", "--profile", "fast"])
    with pytest.raises(SystemExit, match="--profile must be one of smoke, quick, claim, paper; got 'fast'"):
        paper_run.main()
    monkeypatch.setattr(sys, "argv", ["paper_run.py", "--profile", "smoke", "--model", "vae"])
    with pytest.raises(SystemExit, match=r"^error: models must be among ae, .*; got vae\.$"):
        paper_run.main()
