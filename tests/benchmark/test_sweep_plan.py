"""``python -m benchmark sweep-plan``: job counts, steps, hours at a rate, rate sources, Slurm arrays, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import datasets as data_module
import leaderboard
from benchmark.cli import main
from benchmark.commands.sweep_plan import MEASURED_OVERHEADS, array_layout
from benchmark.suites import get_suite

SUITE = get_suite("disentanglement")
PAPER = SUITE.profile("paper")
PAPER_OVERHEAD_MIN = next(o.minutes for o in MEASURED_OVERHEADS if (o.suite, o.profile) == ("disentanglement", "paper"))


@pytest.fixture(autouse=True)
def _no_default_store(tmp_path, monkeypatch):
    """Run from an empty folder: a results/leaderboard.sqlite of the checkout must not feed the rates."""
    monkeypatch.chdir(tmp_path)


def sweep(capsys, *argv) -> dict:
    assert main(["sweep-plan", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def error(capsys, *argv) -> str:
    assert main(["sweep-plan", *argv]) == 2
    return capsys.readouterr().err


def paper_plan_without_data(monkeypatch, **kw):
    """``SUITE.plan('paper', ...)`` with a stand-in for each dataset whose files are absent (this test's own)."""
    real = data_module.load

    class Absent:
        content_hash = "absent"

        def __len__(self):
            return 10**9

    def load(name, *a, **k):
        try:
            return real(name, *a, **k)
        except data_module.DatasetNotFoundError:
            return Absent()

    with monkeypatch.context() as m:
        m.setattr(data_module, "load", load)
        return SUITE.plan("paper", **kw)


# ------------------------------------------------------------------------------------------------ job counts
def test_paper_50_seeds_counts_the_planned_jobs(capsys, monkeypatch):
    plan = sweep(capsys, "--profile", "paper", "--seeds", "50")
    jobs = paper_plan_without_data(monkeypatch, seeds=50)
    n_models = len(PAPER.models) + len(SUITE.reference_models)  # 9 trained models + noise and untrained
    assert plan["jobs"]["total"] == len(jobs) == len(PAPER.datasets) * n_models * 50 == 1650
    assert plan["jobs"]["rectangular"] and plan["jobs"]["seeds"] == 50
    assert plan["jobs"]["per_dataset"] == {d: n_models * 50 for d in PAPER.datasets}
    assert plan["jobs"]["per_model"] == {m: 150 for m in (*PAPER.models, *SUITE.reference_models)}
    assert plan["jobs"]["reference_models"] == list(SUITE.reference_models)
    steps = {r["model"]: r["steps_per_job"] for r in plan["models"]}
    assert steps == {**{m: PAPER.steps for m in PAPER.models}, "noise": 0, "untrained": 0}
    assert plan["totals"]["steps"] == len(PAPER.datasets) * len(PAPER.models) * 50 * 200_000


def test_quick_counts_match_the_suite_plan_and_need_no_stand_in(capsys):
    plan = sweep(capsys, "--profile", "quick", "--seeds", "3", "--models", "qlae", "ae")
    assert plan["jobs"]["total"] == len(SUITE.plan("quick", models=("qlae", "ae"), seeds=3)) == 2 * 2 * 3
    assert plan["jobs"]["models"] == ["qlae", "ae"]  # named models: no reference rows
    assert not any("data files" in n for n in plan["notes"])
    assert {r["steps_per_job"] for r in plan["models"]} == {SUITE.profile("quick").steps}


def test_a_suite_whose_configs_hold_epochs_says_it_has_no_step_count(capsys):
    plan = sweep(capsys, "--suite", "equivariance", "--profile", "smoke", "--steps-per-second", "5")
    assert plan["models"] and all(r["steps_per_job"] is None and "no step count" in r["steps_note"]
                                  and "epochs" in r["steps_note"] and r["hours"] is None for r in plan["models"])
    assert plan["totals"]["hours"] is None and not plan["totals"]["complete"]


def test_gan_iterations_are_the_steps_and_json_stays_one_object(capsys):
    """latent-semantics: steps are the GAN's iterations; what its plan prints (skipped datasets) is not on stdout."""
    plan = sweep(capsys, "--suite", "latent-semantics", "--profile", "smoke", "--steps-per-second", "4",
                 "--overhead-minutes", "0")
    gan = get_suite("latent-semantics").plan("smoke")[0].config["gan"]["iterations"]
    assert all(r["steps_per_job"] == gan and r["steps_note"].startswith("GAN iterations") for r in plan["models"])
    assert plan["totals"]["hours"] == pytest.approx(plan["jobs"]["total"] * gan / 4 / 3600)


# ------------------------------------------------------------------------------------------------ Slurm arrays
def test_array_layout_arithmetic():
    arrays = array_layout(1350, 32, 1001)
    assert [(a["first_job"], a["last_job"], a["tasks"]) for a in arrays] == [(0, 1000, 1001), (1001, 1349, 349)]
    assert [a["sbatch"] for a in arrays] == ["#SBATCH --array=0-1000%32", "#SBATCH --array=0-348%32"]
    assert [a["tasks"] for a in array_layout(1001, 8, 1001)] == [1001]
    assert [a["tasks"] for a in array_layout(1002, 8, 1001)] == [1001, 1]
    assert array_layout(5, 2, 1001)[0]["sbatch"] == "#SBATCH --array=0-4%2"


def test_cli_arrays_and_wall_clock(capsys):
    plan = sweep(capsys, "--profile", "paper", "--seeds", "50", "--max-array-size", "400", "--array-parallelism",
                 "10", "--steps-per-second", "20", "--overhead-minutes", "0")
    arrays = plan["slurm"]["arrays"]
    assert [a["tasks"] for a in arrays] == [400, 400, 400, 400, 50]
    assert arrays[-1]["sbatch"] == "#SBATCH --array=0-49%10" and arrays[-1]["first_job"] == 1600
    wall = plan["slurm"]["wall_clock"]
    assert wall["waves"] == 165  # ceil(1650 / 10)
    per_job = 200_000 / 20 / 3600
    assert wall["waves_hours"] == pytest.approx(165 * per_job)
    assert wall["even_hours"] == pytest.approx(plan["totals"]["hours"] / 10)


# ------------------------------------------------------------------------------------------------ hours
def test_hours_are_jobs_times_steps_over_rate_plus_the_overhead(capsys):
    plan = sweep(capsys, "--profile", "paper", "--seeds", "50", "--models", "qlae", "infowgan_gp",
                 "--steps-per-second", "qlae=25", "infowgan_gp=40")
    rows = {r["model"]: r for r in plan["models"]}
    overhead_h = PAPER_OVERHEAD_MIN / 60
    for model, rate in (("qlae", 25.0), ("infowgan_gp", 40.0)):
        r = rows[model]
        assert r["steps_per_second"] == rate and r["rate_source"] == "--steps-per-second"
        assert r["jobs"] == 150
        assert r["hours"] == pytest.approx(150 * 200_000 / rate / 3600 + 150 * overhead_h)
        assert r["hours_per_job"] == pytest.approx(200_000 / rate / 3600 + overhead_h)
    assert plan["totals"]["complete"]
    assert plan["totals"]["hours"] == pytest.approx(rows["qlae"]["hours"] + rows["infowgan_gp"]["hours"])
    assert plan["overhead"]["minutes_per_job"] == 3.7 and "paper_run.py" in plan["overhead"]["source"]
    assert plan["unit"] == "GPU-hours"


def test_a_bare_rate_applies_to_the_models_without_their_own(capsys):
    plan = sweep(capsys, "--profile", "quick", "--models", "qlae", "ae", "--steps-per-second", "qlae=10", "50",
                 "--overhead-minutes", "6")
    rows = {r["model"]: r for r in plan["models"]}
    assert rows["qlae"]["steps_per_second"] == 10 and rows["ae"]["steps_per_second"] == 50
    assert rows["ae"]["hours"] == pytest.approx(4 * (4000 / 50 / 3600 + 0.1))
    assert plan["overhead"] == {"minutes_per_job": 6.0, "source": "--overhead-minutes"}


def test_gpu_without_a_rate_says_so_and_estimates_only_what_has_one(capsys):
    plan = sweep(capsys, "--profile", "paper", "--seeds", "2")
    trained = [r for r in plan["models"] if r["model"] in PAPER.models]
    assert all(r["steps_per_second"] is None and r["hours"] is None for r in trained)
    assert all(r["rate_source"].startswith("no measured GPU rate: pass --steps-per-second or run "
                                           "benchmarks/paper_run.py on a GPU") for r in trained)
    assert plan["totals"]["models_without_estimate"] == list(PAPER.models)
    assert plan["totals"]["jobs_estimated"] == 3 * 2 * 2  # the reference rows: overhead only
    assert plan["slurm"]["wall_clock"]["waves_hours"] is None
    assert main(["sweep-plan", "--profile", "paper", "--seeds", "2"]) == 0
    text = capsys.readouterr().out
    assert "no measured GPU rate: pass --steps-per-second or run benchmarks/paper_run.py on a GPU" in text
    assert "#SBATCH --array=0-65%32" in text  # 66 jobs


def test_cpu_falls_back_to_the_measured_table_with_its_source(capsys):
    plan = sweep(capsys, "--profile", "paper", "--seeds", "1", "--device", "cpu", "--models", "qlae")
    (row,) = plan["models"]
    assert row["steps_per_second"] == 0.1
    assert "benchmarks/paper_run.py" in row["rate_source"] and "development machine" in row["rate_source"]
    assert plan["unit"] == "CPU core-hours"
    assert row["hours"] == pytest.approx(3 * (200_000 / 0.1 / 3600 + PAPER_OVERHEAD_MIN / 60))


# ------------------------------------------------------------------------------------------------ the store
def _write_store(path, rates_by_device):
    """One stored quick qlae job per (device, rate), every planned metric, as the suite writes them."""
    n = sum(len(v) for v in rates_by_device.values())
    jobs = SUITE.plan("quick", models=("qlae",), datasets=("dsprites-procedural-32px",), seeds=n)
    it = iter(jobs)
    with leaderboard.Store(path) as store:
        for device, rates in rates_by_device.items():
            for rate in rates:
                job = next(it)
                env = {"gpu": "NVIDIA H100 80GB HBM3" if device == "cuda" else None, "cpu": {"model": "Test CPU"}}
                store.write_job([job.record(m, value=0.5, environment=env,
                                            timing={"steps_per_second": rate, "device": device})
                                 for m in job.metric_names])
        # a failed job, and an ok job of another profile: neither may count
        (bad,) = SUITE.plan("quick", models=("qlae",), datasets=("dsprites-procedural-32px",), seeds=n + 1)[-1:]
        store.write_job(bad.failed_records("RuntimeError: boom", "trace",
                                           environment={"gpu": "NVIDIA H100 80GB HBM3"}))
        (other,) = SUITE.plan("claim", models=("qlae",), datasets=("dsprites-procedural-32px",), seeds=1)
        store.write_job([other.record(m, value=0.5, timing={"steps_per_second": 1000.0, "device": "cuda"})
                         for m in other.metric_names])


def test_rate_from_the_store_is_the_median_of_the_same_profile_model_and_device(capsys, tmp_path):
    db = tmp_path / "store.sqlite"
    _write_store(db, {"cuda": [10.0, 20.0, 90.0], "cpu": [3.0]})
    plan = sweep(capsys, "--profile", "quick", "--models", "qlae", "ae", "--db", str(db), "--seeds", "2",
                 "--overhead-minutes", "0")
    rows = {r["model"]: r for r in plan["models"]}
    assert rows["qlae"]["steps_per_second"] == 20.0  # median over 3 GPU jobs; not the CPU job, failed or claim
    assert "median of 3" in rows["qlae"]["rate_source"] and "NVIDIA H100" in rows["qlae"]["rate_source"]
    assert rows["qlae"]["hours"] == pytest.approx(4 * 4000 / 20 / 3600)
    assert rows["ae"]["steps_per_second"] is None  # nothing stored for ae on a GPU, no GPU figure measured
    cpu = {r["model"]: r for r in sweep(capsys, "--profile", "quick", "--models", "qlae", "ae", "--db", str(db),
                                        "--device", "cpu")["models"]}
    assert cpu["qlae"]["steps_per_second"] == 3.0 and "median of 1" in cpu["qlae"]["rate_source"]
    assert cpu["ae"]["steps_per_second"] == 50.3 and "quick_step_speed.py" in cpu["ae"]["rate_source"]
    given = sweep(capsys, "--profile", "quick", "--models", "qlae", "--db", str(db), "--steps-per-second", "qlae=7")
    assert given["models"][0]["steps_per_second"] == 7.0  # the user's rate comes first


def test_the_default_store_is_read_when_it_exists(capsys, tmp_path):
    _write_store(tmp_path / "results" / "leaderboard.sqlite", {"cuda": [12.0]})  # cwd is tmp_path
    (row,) = sweep(capsys, "--profile", "quick", "--models", "qlae")["models"]
    assert row["steps_per_second"] == 12.0 and "results/leaderboard.sqlite" in row["rate_source"]


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(("argv", "message"), [
    (("--suite", "nope"), "suite must be one of 'disentanglement'"),
    (("--profile", "huge"), "profile must be one of 'smoke', 'quick', 'claim', 'paper'"),
    (("--models", "qlae", "vqvae"), "models must be among"),
    (("--seeds", "0"), "--seeds must be a positive integer; got 0"),
    (("--array-parallelism", "0"), "--array-parallelism must be a positive integer; got 0"),
    (("--max-array-size", "-3"), "--max-array-size must be a positive integer; got -3"),
    (("--overhead-minutes", "-1"), "--overhead-minutes must be a number >= 0"),
    (("--steps-per-second", "qlae:25"), "'qlae:25' is not a number; expected MODEL=RATE"),
    (("--steps-per-second", "qlae=fast"), "'fast' is not a number"),
    (("--steps-per-second", "=3"), "expected MODEL=RATE"),
    (("--steps-per-second", "qlae=0"), "the rate must be a positive number"),
    (("--steps-per-second", "qlae=-2"), "the rate must be a positive number"),
    (("--steps-per-second", "qlae=nan"), "the rate must be a positive number"),
    (("--steps-per-second", "bio_ae=3"), "'bio_ae' is not among the planned models (qlae, ae, beta_vae"),
    (("--steps-per-second", "qlae=3", "qlae=4"), "gives 'qlae' twice"),
    (("--db", "missing.sqlite"), "no such store file"),
])
def test_usage_errors(capsys, argv, message):
    err = error(capsys, "--profile", "quick", *argv) if "--profile" not in argv else error(capsys, *argv)
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_importing_the_command_loads_no_torch():
    code = "import sys, benchmark.cli, benchmark.commands.sweep_plan; sys.exit('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_text_output_names_every_rate_source(capsys):
    assert main(["sweep-plan", "--profile", "paper", "--seeds", "50", "--steps-per-second", "qlae=25",
                 "--models", "qlae", "noise"]) == 0
    text = capsys.readouterr().out
    assert "Jobs: 300 = 3 datasets x 2 models (1 trained + 1 reference rows: noise) x 50 seeds" in text
    assert "[1] --steps-per-second" in text and "no training: the per-job overhead only" in text
    assert "Per-job overhead: 3.7 min" in text
    assert f"{math.ceil(300 / 32)} wave(s) x longest job" in text and "#SBATCH --array=0-299%32" in text
