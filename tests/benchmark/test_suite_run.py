"""End-to-end tests of the disentanglement suite: smoke profile, idempotent jobs, failures, submit."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import datasets
import leaderboard
import metrics
from benchmark.jobs import config_hash
from benchmark.runner import run_job, run_jobs
from benchmark.sinks import StoreSink
from benchmark.suites import get_suite
from benchmark.suites.disentanglement.evaluation import ALL_METRICS

SUITE = get_suite("disentanglement")
ALL_MODELS = SUITE.models


def plan_jobs(suite, profile, **kw):
    assert suite == "disentanglement"
    return SUITE.plan(profile, **kw)


def is_stored(job, db):
    return StoreSink(db).stored(job)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    jobs = plan_jobs("disentanglement", "smoke")
    outcomes = run_jobs(jobs, out=out, db=out / "leaderboard.sqlite", device="cpu", progress=False)
    return out, jobs, outcomes


def test_smoke_profile_stores_every_metric_of_every_job(smoke_run):
    out, jobs, outcomes = smoke_run
    assert [o.status for o in outcomes] == ["ok"] * len(jobs)
    with leaderboard.Store(out / "leaderboard.sqlite") as store:
        records = store.records(suite="disentanglement", profile="smoke")
    assert len(records) == len(jobs) * len(ALL_METRICS)
    assert {r.metric for r in records} == set(ALL_METRICS)
    assert all(r.status == "ok" and np.isfinite(r.value) and r.provenance == "measured" for r in records)
    qlae = next(r for r in records if r.model == "qlae" and r.metric == "infom")
    assert qlae.components["discrete_latents"] is True  # quantised latents scored as codes
    ae = next(r for r in records if r.model == "ae" and r.metric == "infom")
    assert ae.components["discrete_latents"] is False
    # the terms behind InfoM and InfoC are stored with them (per factor, per latent) and average to them
    infoc = next(r for r in records if r.model == "qlae" and r.metric == "infoc")
    n_factors, n_latents = np.shape(infoc.components["nmi"])
    assert len(infoc.components["infoc_per_factor"]) == n_factors and len(infoc.components["infom_per_latent"]) == n_latents
    varying = np.array(datasets.load(infoc.dataset).factor_sizes) > 1  # constant factors are left out of InfoC
    assert infoc.value == pytest.approx(np.mean(np.asarray(infoc.components["infoc_per_factor"])[varying]), abs=1e-12)
    assert ae.metric_params == qlae.metric_params  # one protocol: both models share a leaderboard row
    assert qlae.environment["packages"]["torch"] and "git_commit" in qlae.environment and "train_seconds" in qlae.timing
    assert qlae.environment["cpu"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_plots_are_written_per_job(smoke_run):
    out, jobs, outcomes = smoke_run
    for o in outcomes:
        for name in ("traversals.png", "nmi.png", "reconstructions.png"):
            path = o.job.run_dir(out) / "plots" / name
            assert path.stat().st_size > 1000, path
        assert json.loads((o.job.run_dir(out) / "job.json").read_text())["status"] == "ok"


def test_rerunning_a_finished_suite_does_no_work(smoke_run):
    out, jobs, _ = smoke_run
    again = run_jobs(jobs, out=out, db=out / "leaderboard.sqlite", device="cpu", progress=False)
    assert [o.status for o in again] == ["skipped"] * len(jobs)
    r = _cli("run", "--profile", "smoke", "--out", str(out), "--no-progress", cwd=out)
    assert r.returncode == 0 and f"0 trained, {len(jobs)} already stored" in r.stdout
    # where it says the plots are is where they are
    assert f"{out / 'runs' / 'smoke'}/<dataset>/<model>/seed<seed>-<job id>/plots/" in r.stdout
    assert {p.parent.name[:6] for p in out.glob("runs/smoke/*/*/seed*-*/plots")} == {"seed0-"}


def test_job_identity_is_stable_and_depends_on_what_matters():
    a = plan_jobs("disentanglement", "smoke")
    b = plan_jobs("disentanglement", "smoke")
    assert [j.job_id for j in a] == [j.job_id for j in b]
    assert len({j.job_id for j in a}) == len(a)
    assert len({j.model_config_hash for j in a}) == len({j.model for j in a})  # seeds share a model config
    longer = {**a[0].config["train_config"], "steps": 999}
    more_steps = dataclasses.replace(a[0], config={**a[0].config, "train_config": longer},
                                     model_config_hash=config_hash(longer))
    assert more_steps.job_id != a[0].job_id and more_steps.record_ids()[0] != a[0].record_ids()[0]
    # what cannot change the numbers is not part of the identity
    for field in ("checkpoint_every", "eval_every", "cpu_threads", "device", "progress", "log_every", "seed"):
        assert field not in a[0].config["train_config"]
    assert a[0].config["train_config"]["steps"] == 20 and "batch_size" in a[0].config["train_config"]
    # a precision other than auto changes the numbers: other jobs, other records; auto keeps the identity
    assert a[0].config["train_config"]["precision"] == "auto"
    fp32 = plan_jobs("disentanglement", "smoke", precision="fp32")
    assert [j.config["train_config"]["precision"] for j in fp32] == ["fp32"] * len(a)
    assert not {j.job_id for j in fp32} & {j.job_id for j in a}
    assert not set(fp32[0].record_ids()) & set(a[0].record_ids())
    with pytest.raises(ValueError, match="precision must be one of"):
        plan_jobs("disentanglement", "smoke", precision="fp8")


def test_a_failing_job_is_recorded_and_the_others_go_on(tmp_path):
    good, = plan_jobs("disentanglement", "smoke", models=("ae",))
    train_config = good.config["train_config"]
    broken_model = {**train_config["model"], "lr": -1.0}  # refused by the model config at run time
    bad = dataclasses.replace(good, model="qlae", config={**good.config, "discrete_latents": True, "train_config":
                                                          {**train_config, "model": {**broken_model, "name": "qlae"}}})
    outcomes = run_jobs([bad, good], out=tmp_path, db=tmp_path / "db.sqlite", device="cpu", progress=False)
    assert [o.status for o in outcomes] == ["failed", "ok"]
    assert "lr must be a finite number >= 0" in outcomes[0].error
    with leaderboard.Store(tmp_path / "db.sqlite") as store:
        failed = store.records(model="qlae")
        assert len(failed) == len(ALL_METRICS)
        assert all(r.status == "failed" and r.value is None and "lr must be" in r.error for r in failed)
        assert all(r.status == "ok" for r in store.records(model="ae"))


def test_interrupted_suite_resumes_with_the_missing_jobs_only(tmp_path):
    db = tmp_path / "db.sqlite"
    first = run_jobs(plan_jobs("disentanglement", "smoke", models=("ae",)), out=tmp_path, db=db, device="cpu",
                     progress=False)
    assert [o.status for o in first] == ["ok"]
    both = run_jobs(plan_jobs("disentanglement", "smoke"), out=tmp_path, db=db, device="cpu", progress=False)
    assert sorted((o.job.model, o.status) for o in both) == [("ae", "skipped"), ("qlae", "ok")]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_submit_recomputes_metrics_and_refuses_bad_files(tmp_path, smoke_run):
    r = _cli("eval-sample", "dsprites-procedural-32px", "--profile", "smoke", "--out", "sample.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    sample = np.load(tmp_path / "sample.npz")
    factors = sample["factors"]
    latents = factors + 0.1 * np.random.default_rng(0).normal(size=factors.shape)
    np.savez(tmp_path / "good.npz", latents=latents, sample_hash=sample["sample_hash"])
    np.savez(tmp_path / "nan.npz", latents=np.where(np.arange(len(factors))[:, None] == 4, np.nan, factors * 1.0),
             sample_hash=sample["sample_hash"])
    np.savez(tmp_path / "hash.npz", latents=factors * 1.0, sample_hash=np.array("0" * 64))
    np.savez(tmp_path / "pickled.npz", latents=np.array([object()] * len(factors), dtype=object),
             sample_hash=sample["sample_hash"])
    base = ["submit", "--profile", "smoke", "--dataset", "dsprites-procedural-32px", "--db", "db.sqlite", "--name"]
    for name, expected in [("nan.npz", "contains NaN or infinity (first at row 4"),
                           ("hash.npz", "does not match this dataset's evaluation sample"),
                           ("pickled.npz", "pickled object array")]:
        r = _cli(*base, "Bad'; DROP TABLE records;--", "--latents", name, cwd=tmp_path)
        assert r.returncode == 2 and expected in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "db.sqlite").exists() or leaderboard.Store(tmp_path / "db.sqlite").count() == 0
    r = _cli(*base, "Oracle", "--latents", "good.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with leaderboard.Store(tmp_path / "db.sqlite") as store:
        records = store.records(model="Oracle")
    assert len(records) == len(ALL_METRICS) - 1  # no decoder: no PSNR
    assert {r.provenance for r in records} == {"submitted-latents"}
    infom = next(r for r in records if r.metric == "infom")
    assert infom.value == pytest.approx(metrics.infomec(factors, latents, discrete_latents=False).infom, abs=1e-12)
    assert infom.environment["eval_sample_hash"] == str(sample["sample_hash"])


def test_list_names_profiles_models_and_metrics(tmp_path):
    r = _cli("list", cwd=tmp_path)
    assert r.returncode == 0
    for expected in ("profile quick [default]", "qlae (quantised latents)", "dsprites-procedural", "infom (version",
                     "<name>-<size>px        a block-averaged size x size view"):
        assert expected in r.stdout


def test_unknown_profile_is_a_one_line_error(tmp_path):
    r = _cli("run", "--profile", "huge", "--out", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "profile must be one of 'smoke', 'quick', 'claim', 'paper'; got 'huge'" in r.stderr
    assert "Traceback" not in r.stderr


def test_jobs_option_is_validated(tmp_path):
    r = _cli("run", "--profile", "smoke", "--jobs", "0", "--out", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "--jobs must be 'auto' or an integer >= 1; got '0'" in r.stderr
    assert "Traceback" not in r.stderr


def test_another_precision_is_stored_as_other_jobs_and_the_table_shows_this_run_only(tmp_path, smoke_run):
    out, jobs, _ = smoke_run
    db = tmp_path / "lb.sqlite"
    with leaderboard.Store(out / "leaderboard.sqlite") as src, leaderboard.Store(db) as dst:
        dst.write_job([r for r in src.records() if r.model == "ae"], job_id="copied")  # the stored auto run of ae
    r = _cli("run", "--profile", "smoke", "--models", "ae", "--precision", "fp32", "--out", str(tmp_path), "--db",
             str(db), "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and "1 trained, 0 already stored" in r.stdout, r.stderr
    table = r.stdout.split("Leaderboard of this run")[1].split("Claims of")[0]
    assert "ae #" not in table and "1 (<5)" in table  # only the fp32 job: no second config, one seed
    with leaderboard.Store(db) as store:
        assert len({rec.model_config_hash for rec in store.records(model="ae")}) == 2


def test_the_end_of_run_table_does_not_bind_every_record_id_at_once(smoke_run, monkeypatch, capsys):
    """SQLite before 3.32 binds at most 999 variables: a large run's record ids must not go into one IN list."""
    import sqlite3

    from benchmark.cli import main

    out, jobs, _ = smoke_run
    per_job = len(jobs[0].record_ids())
    connect = sqlite3.connect

    def small_limit(*args, **kwargs):  # room for one job's ids (is_stored), not for the whole run's
        conn = connect(*args, **kwargs)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, per_job + 4)
        return conn

    monkeypatch.setattr(sqlite3, "connect", small_limit)
    assert main(["run", "--profile", "smoke", "--out", str(out), "--no-progress"]) == 0
    table = capsys.readouterr().out.split("Leaderboard of this run")[1].split("Claims of")[0]
    assert table.count("infom") == len(jobs)


def test_autocast_precision_off_cuda_is_refused_before_any_work(tmp_path):
    r = _cli("run", "--profile", "smoke", "--precision", "bf16", "--device", "cpu", "--out", str(tmp_path / "o"),
             cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "precision 'bf16' needs a CUDA device; got device 'cpu'. Use precision='fp32'." in r.stderr
    assert not (tmp_path / "o").exists()
    if not torch.cuda.is_available():  # a missing device too, whatever the pool size (not one failure per job)
        r = _cli("run", "--profile", "smoke", "--device", "cuda", "--jobs", "2", "--out", str(tmp_path / "o"),
                 cwd=tmp_path)
        assert r.returncode == 2 and "device 'cuda' was requested but torch sees no CUDA GPU" in r.stderr, r.stderr
        assert not (tmp_path / "o").exists()
    r = _cli("run", "--profile", "smoke", "--precision", "fp8", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert r.returncode == 2 and "invalid choice: 'fp8'" in r.stderr


def test_unwritable_output_folders_are_one_line_errors(tmp_path):
    # a file where a folder must go: mkdir fails for root too
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli("run", "--profile", "smoke", "--out", str(blocker / "results"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"cannot create the folder '{blocker / 'results'}' (--out)" in r.stderr and "Pass --out a folder" in r.stderr
    r = _cli("run", "--profile", "smoke", "--out", str(tmp_path / "ok"), "--db", str(blocker / "db.sqlite"), cwd=tmp_path)
    assert r.returncode == 2 and f"cannot create the folder '{blocker}' (--db)" in r.stderr
    assert not (tmp_path / "ok" / "runs").exists()  # nothing was trained
    r = _cli("run", "--profile", "fast", "--out", str(tmp_path / "typo"), cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "typo").exists()  # bad arguments create no folder


def test_auto_workers_is_one_per_core_on_the_cpu_and_never_more_than_the_jobs():
    import os

    from benchmark.executors.local import auto_workers

    assert auto_workers(100, "cpu") == (os.cpu_count() or 1)
    assert auto_workers(1, "cpu") == 1


def test_pool_skips_stored_jobs_without_starting_workers(smoke_run, monkeypatch):
    import benchmark.executors.local as local
    import benchmark.runner as runner

    out, jobs, _ = smoke_run

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started for jobs that are all stored")

    monkeypatch.setattr(local, "ProcessPoolExecutor", no_pool)
    again = runner.run_jobs(jobs, out=out, db=out / "leaderboard.sqlite", device="cpu", n_workers=2, progress=False)
    assert [o.status for o in again] == ["skipped"] * len(jobs)


def test_pool_runs_jobs_in_worker_processes_and_stores_their_records(tmp_path, smoke_run):
    jobs = plan_jobs("disentanglement", "smoke")
    outcomes = run_jobs(jobs, out=tmp_path, db=tmp_path / "db.sqlite", device="cpu", n_workers=2, progress=False)
    assert sorted(o.status for o in outcomes) == ["ok"] * len(jobs)
    with leaderboard.Store(tmp_path / "db.sqlite") as store:
        pooled = {r.record_id: r.value for r in store.records()}
    assert len(pooled) == len(jobs) * len(ALL_METRICS)
    # the same numbers as the in-process run of the smoke_run fixture: a job's values never depend on --jobs
    # (every job trains and encodes with the same torch thread count; they once differed in the 4th digit)
    with leaderboard.Store(smoke_run[0] / "leaderboard.sqlite") as store:
        sequential = {r.record_id: r.value for r in store.records()}
    assert pooled == sequential


def test_paper_plans_every_dataset_with_the_reference_batches():
    from benchmark.suites.disentanglement.models import reference_config

    # every MPI3D variant takes MPI3D's reference values (weight decay 0.001), not an error
    assert reference_config("qlae", "mpi3d-complex-64px").weight_decay == 0.001
    assert reference_config("qlae", "mpi3d-toy").weight_decay == 0.001
    jobs = plan_jobs("disentanglement", "paper", datasets=("shapes3d-procedural",),
                     models=("qlae", "ql_infowgan_gp", "qlae"), seeds=1)
    assert [j.model for j in jobs] == ["qlae", "ql_infowgan_gp"]  # a name given twice is one job
    assert {j.model: j.config["train_config"]["batch_size"] for j in jobs} == {"qlae": 128, "ql_infowgan_gp": 64}
    assert all(j.run_options["checkpoint_every"] == 5000 for j in jobs)
    every = plan_jobs("disentanglement", "paper", datasets=("shapes3d-procedural",), seeds=1)
    assert {j.model for j in every} == set(ALL_MODELS) | set(SUITE.reference_models)  # ablations and references
    assert {j.model: j.config["train_config"]["model"]["weight_decay"] for j in every if j.model.startswith("qlae")} == {
        "qlae": 0.1, "qlae_no_weight_decay": 0.0, "qlae_global_codebook": 0.1}


def test_jobs_checkpoint_at_the_profile_cadence_and_failed_jobs_are_retried(tmp_path, monkeypatch):
    import benchmark.suites.disentanglement.training as training

    job = plan_jobs("disentanglement", "smoke", models=("ae",))[0]
    seen = []
    real_train = training.train
    monkeypatch.setattr(training, "train", lambda cfg, *a, **k: seen.append(cfg) or real_train(cfg, *a, **k))
    db = tmp_path / "db.sqlite"
    assert run_job(job, out=tmp_path, sink=StoreSink(db), device="cpu", progress=False).status == "ok"
    assert seen[0].checkpoint_every == 10 and seen[0].cpu_threads == 1  # the profile's cadence, not 5000
    # a job stored as failed is not "done": the rerun trains it again and replaces its records
    with leaderboard.Store(db) as store:
        ok = store.records()
        store.write_job([r.replace(value=None, status="failed", error="OSError: disk full") for r in ok],
                        replace=True)
    assert not is_stored(job, db)
    assert run_job(job, out=tmp_path, sink=StoreSink(db), device="cpu", progress=False).status == "ok"
    assert is_stored(job, db)


def test_submit_refuses_bad_encoders_datasets_and_stores_before_any_work(tmp_path):
    (tmp_path / "encs.py").write_text(
        "import numpy as np\n"
        "def raises(x):\n    raise RuntimeError('model weights not found')\n"
        "def complexout(x):\n    return np.ones((len(x), 2)) * (1 + 1j)\n"
        "def flat(x):\n    return np.ones(len(x))\n"
        "def nan(x):\n    return np.full((len(x), 2), np.nan)\n"
        "def widening(x, calls=[]):\n    calls.append(1)\n    return np.zeros((len(x), 1 + len(calls)))\n"
        "notcallable = 3\n")
    (tmp_path / "badimport.py").write_text("raise RuntimeError('boom at import')\n")
    base = ["submit", "--profile", "smoke", "--dataset", "dsprites-procedural-32px", "--name", "M", "--db", "db.sqlite"]
    for spec, expected in [("encs:raises", "--encoder 'encs:raises' raised RuntimeError: model weights not found"),
                           ("encs:complexout", "the output of encoder 'encs:complexout' for images 0 to 255 must hold "
                                               "real numbers; got dtype complex128"),
                           ("encs:flat", "the output of encoder 'encs:flat' for images 0 to 255 must be 2D with shape "
                                         "(n_samples, n_latents); got shape (256,)"),
                           ("encs:nan", "contains NaN or infinity (first at row 0, column 0)"),
                           ("encs:widening", "the output of encoder 'encs:widening' for images 256 to 299 has 3 "
                                             "latents, but 2 for images 0 to 255; the encoder must give every image "
                                             "the same number of latents"),
                           ("encs:notcallable", "--encoder 'encs:notcallable' is a int, not a function"),
                           ("badimport:f", "cannot be imported: RuntimeError: boom at import")]:
        r = _cli(*base, "--encoder", spec, cwd=tmp_path)
        assert r.returncode == 2 and expected in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = _cli(*base[:4], "shapes3d-hue-noisy", *base[5:], "--encoder", "encs:raises", cwd=tmp_path)
    assert r.returncode == 2 and "has class labels, not ground-truth factors" in r.stderr, r.stderr
    (tmp_path / "notsql.sqlite").write_text("not a database")
    r = _cli(*base[:-1], "notsql.sqlite", "--encoder", "encs:raises", cwd=tmp_path)  # refused before encoding
    assert r.returncode == 2 and "--db 'notsql.sqlite'" in r.stderr and "raised" not in r.stderr, r.stderr
    r = _cli(*base, "--seed", str(2**70), "--encoder", "encs:raises", cwd=tmp_path)
    assert r.returncode == 2 and "--seed must be an integer in [0, 2**63)" in r.stderr
    r = _cli("run", "--profile", "smoke", "--out", "o", "--db", "notsql.sqlite", cwd=tmp_path)
    assert r.returncode == 2 and "--db 'notsql.sqlite'" in r.stderr and not (tmp_path / "o" / "runs").exists()


ORPHAN_SCRIPT = """
import multiprocessing as mp, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from benchmark.executors import local as runner

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    manager = runner._start_manager(ctx)
    pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=runner._worker_init, initargs=(1,))
    worker = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 120)  # a job still running when the run dies
    print(worker, manager._process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_workers_and_the_progress_manager_exit_when_the_run_is_killed(tmp_path):
    import time

    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN_SCRIPT)
    log = tmp_path / "orphan.log"  # a file, not a pipe: orphans holding a pipe would keep run() waiting
    with open(log, "w") as out:
        done = subprocess.run([sys.executable, str(script)], stdout=out, stderr=subprocess.STDOUT, timeout=120)
    assert done.returncode == -9, log.read_text()
    helpers = [int(p) for p in log.read_text().split()]
    assert len(helpers) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in helpers), "helper processes outlived the killed run"


def test_plots_show_images_from_across_the_evaluation_sample():
    from benchmark.suites.disentanglement.plots import plotted_images

    sample = datasets.load("dsprites-procedural-32px").evaluation_sample(4000, seed=0)
    shown = plotted_images(4000)
    assert len(set(shown.tolist())) == 500 and np.array_equal(shown, plotted_images(4000))
    shapes_reconstructed = set(sample.factors[shown[:8], 0].tolist())
    scales_for_ranges = set(sample.factors[shown, 1].tolist())
    assert len(shapes_reconstructed) >= 2 and len(scales_for_ranges) == 6  # the first 500 rows: one shape, one scale


def test_reference_rows_score_noise_and_an_untrained_encoder_deterministically(tmp_path):
    jobs = plan_jobs("disentanglement", "smoke", models=("noise", "untrained"))
    assert [j.model for j in jobs] == ["noise", "untrained"] and "psnr" not in jobs[0].metric_names
    assert not {j.model for j in plan_jobs("disentanglement", "smoke")} & set(SUITE.reference_models)  # plumbing only
    quick = plan_jobs("disentanglement", "quick")
    assert {(j.dataset, j.model) for j in quick if j.model in SUITE.reference_models} == {
        (d, m) for d in SUITE.profile("quick").datasets for m in SUITE.reference_models}
    values = []
    for attempt in ("a", "b"):
        outcomes = run_jobs(jobs, out=tmp_path / attempt, db=tmp_path / attempt / "db.sqlite", device="cpu",
                            progress=False)
        assert [o.status for o in outcomes] == ["ok", "ok"]
        with leaderboard.Store(tmp_path / attempt / "db.sqlite") as store:
            values.append({(r.model, r.metric): r for r in store.records()})
    assert {k: r.value for k, r in values[0].items()} == {k: r.value for k, r in values[1].items()}
    noise = values[0]
    assert {r.provenance for r in noise.values()} == {"reference"}  # marked as calibration rows
    n_factors = len(datasets.load("dsprites-procedural-32px").factor_sizes)
    assert np.shape(noise["noise", "infom"].components["nmi"]) == (n_factors, 2 * n_factors)  # the models' width
    # no information: (InfoE fits and scores its probe on the same 300 images, so noise gains a little there)
    assert noise["noise", "infoe"].value < 0.2 and noise["noise", "mig"].value < 0.05
    assert noise["untrained", "infoe"].value > noise["noise", "infoe"].value  # an untrained encoder keeps some


def test_quick_claims_the_paper_s_comparisons_and_above_noise():
    described = {(c.model, c.baseline, c.metric) for c in SUITE.claims("quick")}
    assert described == {("qlae", b, m) for b in ("ae", "beta_vae", "noise") for m in ("infom", "infoe")}
    assert all(c.datasets == SUITE.profile("quick").datasets for c in SUITE.claims("quick"))
    assert {c.baseline for c in SUITE.claims("smoke")} == {"ae"}  # smoke plans no reference rows


def test_help_and_list_import_neither_torch_nor_the_statistics(tmp_path):
    """`--help` and `list` answer at once: the heavy packages load when a run needs them."""
    for argv in (["list"], ["--help"]):
        probe = (f"import sys\nfrom benchmark.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
                 "heavy = sorted(m for m in ('torch', 'pandas', 'matplotlib', 'sklearn', 'scipy.stats') "
                 "if m in sys.modules)\nprint('HEAVY', heavy)\n")
        r = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "HEAVY []" in r.stdout, r.stdout[-300:]


def test_a_reference_row_has_one_config_on_every_dataset():
    """Tables tell a model by (name, config hash): one hash per row across datasets keeps one 'noise' row."""
    jobs = plan_jobs("disentanglement", "quick")
    for reference in SUITE.reference_models:
        assert len({j.model_config_hash for j in jobs if j.model == reference}) == 1
    assert len({j.model_config_hash for j in jobs if j.model == "qlae"}) == 1
