"""The suite contract, end to end, on a tiny numpy suite: plan, run, store, skip, fail, sinks, claims, CLI.

``LinearSuite`` below is the smallest complete suite; copy it to start a new one (see
``benchmark/suites/base.py`` for the contract it implements).
"""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import benchmark.suites
import leaderboard
from benchmark.jobs import Job, PlannedMetric, config_hash
from benchmark.runner import check_claims, run_jobs, run_records
from benchmark.sinks import JsonlSink, StoreSink, import_results
from benchmark.suites import Profile, Suite, get_suite
from leaderboard import Claim


# --- the example suite -------------------------------------------------------------------------------------
class LinearSuite(Suite):
    """Fit y = 2x + 1 + noise by least squares ("ols") or predict 0 ("zero"); score test MSE and R^2."""

    name, protocol_version, default_profile = "linear-regression", "1", "smoke"
    profiles = {"smoke": Profile("smoke", "least squares on generated lines", ("line-200",), ("ols", "zero"), seeds=3)}
    models = ("ols", "zero")
    headline_metrics = {"mse": "lower", "r2": "higher"}

    def plan(self, profile, *, datasets=(), models=(), seeds=None, precision="auto"):
        names, model_names, n_seeds = self.select(self.profile(profile), datasets=datasets, models=models, seeds=seeds)
        data = {"n": 200, "noise": 0.1}
        return [Job(suite=self.name, protocol_version=self.protocol_version, profile=profile, dataset=name,
                    dataset_hash=config_hash(data), model=m, seed=s, config=data,
                    model_config_hash=config_hash({"model": m}),
                    metrics=(PlannedMetric("mse", "1"), PlannedMetric("r2", "1")))
                for name in names for m in model_names for s in range(n_seeds)]

    def compute(self, job, run_dir, *, device="auto", progress=True, on_progress=None):
        rng = np.random.default_rng(job.seed)
        x = rng.uniform(-1.0, 1.0, job.config["n"])
        y = 2.0 * x + 1.0 + job.config["noise"] * rng.normal(size=x.size)
        train, test = slice(0, 150), slice(150, None)
        coef = np.polyfit(x[train], y[train], 1) if job.model == "ols" else np.zeros(2)  # (slope, intercept)
        pred = np.polyval(coef, x[test])
        mse = float(np.mean((y[test] - pred) ** 2))
        r2 = 1.0 - mse / float(np.var(y[test]))
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "fit.json").write_text(json.dumps({"coef": coef.tolist()}))
        return [job.record("mse", value=mse), job.record("r2", value=r2)]

    def claims(self, profile):
        self.profile(profile)
        return [Claim("ols", "zero", "mse", ("line-200",), source="least squares beats a constant"),
                Claim("ols", "zero", "r2", ("line-200",))]


# --- broken suites: what the runner does with them -------------------------------------------------------
class RaisingSuite(LinearSuite):
    name = "linear-regression-raises"

    def compute(self, job, run_dir, *, device="auto", progress=True, on_progress=None):
        raise RuntimeError("boom")


class MissingRecordSuite(LinearSuite):
    name = "linear-regression-missing-record"

    def compute(self, job, run_dir, *, device="auto", progress=True, on_progress=None):
        return super().compute(job, run_dir)[:1]  # mse only: r2 was planned too


class DirectionSuite(LinearSuite):
    name = "linear-regression-directions"
    headline_metrics = {"contract_test_steps": "lower"}  # higher by name; registration must turn it round


@pytest.fixture(scope="module", autouse=True)
def registered():
    """Register the suites of this module (the registry is process-wide), and forget them afterwards."""
    from benchmark.suites import _LOADED
    from leaderboard.directions import _REGISTRY

    metrics = (*LinearSuite.headline_metrics, *DirectionSuite.headline_metrics)
    before = {m: _REGISTRY[m] for m in metrics if m in _REGISTRY}
    suites = [LinearSuite(), RaisingSuite(), MissingRecordSuite()]
    for suite in suites:
        benchmark.suites.register(suite)
    yield
    for name in (*[s.name for s in suites], DirectionSuite.name):
        _LOADED.pop(name, None)
    for m in metrics:
        _REGISTRY.pop(m, None)
    _REGISTRY.update(before)


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("linear")
    jobs = get_suite("linear-regression").plan("smoke")
    outcomes = run_jobs(jobs, out=out, db=out / "lb.sqlite", progress=False, n_workers=1)
    return out, jobs, outcomes


# --- plan, run, store, skip --------------------------------------------------------------------------------
def test_plan_covers_every_model_and_seed_with_distinct_ids():
    jobs = get_suite("linear-regression").plan("smoke")
    assert sorted((j.model, j.seed) for j in jobs) == [(m, s) for m in ("ols", "zero") for s in range(3)]
    assert len({j.job_id for j in jobs}) == 6
    assert len({i for j in jobs for i in j.record_ids()}) == 12
    assert [j.model for j in get_suite("linear-regression").plan("smoke", models=("zero",), seeds=1)] == ["zero"]
    with pytest.raises(ValueError, match=r"profile must be one of 'smoke'; got 'paper'"):
        get_suite("linear-regression").plan("paper")
    with pytest.raises(ValueError, match=r"models must be among ols, zero; got lasso"):
        get_suite("linear-regression").plan("smoke", models=("lasso",))


def test_run_stores_the_planned_records_of_every_job(linear_run):
    out, jobs, outcomes = linear_run
    assert len(outcomes) == 6 and [o.status for o in outcomes] == ["ok"] * 6
    assert {o.job for o in outcomes} == set(jobs)
    records = run_records(jobs, out / "lb.sqlite")
    assert len(records) == 12
    assert {r.record_id for r in records} == {i for j in jobs for i in j.record_ids()}
    assert all(r.status == "ok" and r.provenance == "measured" and r.error is None for r in records)
    value = {(r.model, r.train_seed, r.metric): r.value for r in records}
    for s in range(3):  # noise 0.1: the fit's test MSE is about 0.01; a constant 0 misses by about 1 + 4/3
        assert value["ols", s, "mse"] < 0.02 and value["ols", s, "r2"] > 0.95
        assert value["zero", s, "mse"] > 1.0 and value["zero", s, "r2"] < 0.0
    for o in outcomes:  # the suite's own file and the runner's summary sit in the job's folder
        assert json.loads((o.job.run_dir(out) / "job.json").read_text())["status"] == "ok"
        slope, intercept = json.loads((o.job.run_dir(out) / "fit.json").read_text())["coef"]
        if o.job.model == "ols":
            assert slope == pytest.approx(2.0, abs=0.1) and intercept == pytest.approx(1.0, abs=0.1)


def test_rerunning_the_same_jobs_skips_them(linear_run):
    out, jobs, _ = linear_run
    with leaderboard.Store(out / "lb.sqlite") as store:
        before = store.count()
    again = run_jobs(jobs, out=out, db=out / "lb.sqlite", progress=False, n_workers=1)
    assert [o.status for o in again] == ["skipped"] * 6
    with leaderboard.Store(out / "lb.sqlite") as store:
        assert store.count() == before == 12


# --- claims ---------------------------------------------------------------------------------------------
def test_claims_hold_in_each_metrics_direction(linear_run):
    out, jobs, _ = linear_run
    verdicts = check_claims("linear-regression", "smoke", run_records(jobs, out / "lb.sqlite"))
    assert [(v.claim.metric, v.status, v.direction) for v in verdicts] == [("mse", "holds", "lower"),
                                                                            ("r2", "holds", "higher")]
    mse = verdicts[0].datasets[0]
    # ols's MSE is lower than zero's on every seed: "better" must mean lower here, so P(A better) is 1, not 0
    assert mse.n_a == mse.n_b == 3 and mse.p_improve == pytest.approx(1.0) and mse.ci_low > 0.5
    assert mse.iqm_diff < 0  # raw IQM(A) - IQM(B), not signed by direction
    text = leaderboard.format_verdicts(verdicts)
    assert [line.split()[0] for line in text.splitlines() if line and not line[0].isspace()][:2] == ["holds"] * 2
    assert "ols better than zero on mse (lower is better)  (least squares beats a constant)" in text


# --- failures are stored, not dropped ---------------------------------------------------------------------
def test_a_job_that_raises_is_stored_as_failed_records_of_every_metric(tmp_path):
    jobs = get_suite("linear-regression-raises").plan("smoke", seeds=1)
    outcomes = run_jobs(jobs, out=tmp_path, db=tmp_path / "lb.sqlite", progress=False)
    assert [(o.status, o.error) for o in outcomes] == [("failed", "RuntimeError: boom")] * 2
    records = run_records(jobs, tmp_path / "lb.sqlite")
    assert sorted((r.model, r.metric) for r in records) == [(m, k) for m in ("ols", "zero") for k in ("mse", "r2")]
    assert {r.record_id for r in records} == {i for j in jobs for i in j.record_ids()}
    for r in records:
        assert (r.status, r.error, r.value) == ("failed", "RuntimeError: boom", None)
        assert "RuntimeError: boom" in r.components["traceback"]
    # a failed job is run again (its failure may have been transient), never skipped
    again = run_jobs(jobs, out=tmp_path, db=tmp_path / "lb.sqlite", progress=False)
    assert [o.status for o in again] == ["failed"] * 2


def test_a_job_returning_the_wrong_records_is_stored_as_failed(tmp_path):
    jobs = get_suite("linear-regression-missing-record").plan("smoke", models=("ols",), seeds=1)
    [outcome] = run_jobs(jobs, out=tmp_path, db=tmp_path / "lb.sqlite", progress=False)
    assert outcome.status == "failed"
    assert outcome.error.startswith("RuntimeError: suite 'linear-regression-missing-record' returned 1 records")
    assert "not the 2 it planned (mse, r2)" in outcome.error
    records = run_records(jobs, tmp_path / "lb.sqlite")
    assert sorted(r.metric for r in records) == ["mse", "r2"]  # the one returned is not kept alone
    assert all(r.status == "failed" and r.error == outcome.error and r.value is None for r in records)


# --- record sinks ----------------------------------------------------------------------------------------
def test_jsonl_sink_then_import_fills_a_store_once(tmp_path):
    jobs = get_suite("linear-regression").plan("smoke")
    folder, db = tmp_path / "jsonl", tmp_path / "lb.sqlite"
    sink = JsonlSink(folder)
    assert not any(sink.stored(j) for j in jobs)
    outcomes = run_jobs(jobs, out=tmp_path / "out", sink=sink, progress=False)
    assert [o.status for o in outcomes] == ["ok"] * 6
    assert not db.exists()  # the sink wrote no store
    files = sorted(folder.glob("*.jsonl"))
    assert sorted(p.name.split("-")[0] for p in files) == sorted(j.job_id for j in jobs)  # one file per job
    assert all(sink.stored(j) for j in jobs)
    assert [o.status for o in run_jobs(jobs, out=tmp_path / "out", sink=sink, progress=False)] == ["skipped"] * 6

    result = import_results(folder, db)
    assert (result.n_records, result.inserted, result.replaced) == (12, 12, 0)
    assert not list(folder.glob("*.jsonl"))
    assert sorted(p.name for p in folder.glob("*.jsonl.imported")) == sorted(p.name + ".imported" for p in files)
    records = run_records(jobs, db)
    assert {r.record_id for r in records} == {i for j in jobs for i in j.record_ids()}
    assert all(r.status == "ok" for r in records) and all(StoreSink(db).stored(j) for j in jobs)
    again = import_results(folder, db)
    assert (again.n_records, again.inserted) == (0, 0)
    with leaderboard.Store(db) as store:
        assert store.count() == 12


@pytest.mark.parametrize("where", ["both", "neither"])
def test_run_jobs_wants_exactly_one_of_db_and_sink(tmp_path, where):
    jobs = get_suite("linear-regression").plan("smoke", seeds=1)
    kw = dict(db=tmp_path / "lb.sqlite", sink=JsonlSink(tmp_path / "jsonl")) if where == "both" else {}
    with pytest.raises(ValueError, match=r"give either db \(the store\) or sink, not both or neither"):
        run_jobs(jobs, out=tmp_path, progress=False, **kw)
    assert not (tmp_path / "lb.sqlite").exists() and not (tmp_path / "jsonl").exists()


# --- Job identity and records ----------------------------------------------------------------------------
def _job(**kw):
    return get_suite("linear-regression").plan("smoke", models=("ols",), seeds=1)[0] if not kw else \
        dataclasses.replace(_job(), **kw)


def test_job_config_must_not_repeat_shared_fields():
    with pytest.raises(ValueError, match=r"Job.config must not repeat the job's own fields; got \['seed'\]"):
        _job(config={"n": 200, "seed": 1})


def test_job_records_only_its_planned_metrics_and_params():
    job = _job()
    with pytest.raises(ValueError, match=r"metric must be one of this job's mse, r2; got 'nope'"):
        job.record("nope", value=1.0)
    with pytest.raises(ValueError, match=r"mse was computed with \{'x': 1\}, but the job planned \{\}"):
        job.record("mse", params={"x": 1}, value=1.0)
    r = job.record("mse", params={}, value=1.0)
    assert r.record_id == job.record_ids()[0] and (r.train_seed, r.model) == (job.seed, "ols")
    assert r.provenance == "measured"


def test_a_job_s_provenance_marks_its_records_failed_ones_too():
    reference = _job(provenance="reference")
    assert reference.job_id == _job().job_id  # who computed it is not what is computed
    assert reference.record("mse", value=1.0).provenance == "reference"
    assert {r.provenance for r in reference.failed_records("RuntimeError: boom", "trace")} == {"reference"}


def test_job_id_follows_config_not_run_options():
    job = _job()
    changed = _job(config={"n": 200, "noise": 0.2})
    assert changed.job_id != job.job_id and changed != job
    assert set(changed.record_ids()) == set(job.record_ids())  # records are keyed by model/dataset hashes
    rerun = _job(run_options={"checkpoint_every": 10})
    assert rerun.job_id == job.job_id and rerun == job and hash(rerun) == hash(job)
    assert rerun.record_ids() == job.record_ids()


def test_get_suite_lists_the_known_suites():
    with pytest.raises(ValueError, match=r"suite must be one of 'disentanglement', .*'linear-regression'.*; got 'nope'"):
        get_suite("nope")


# --- registry --------------------------------------------------------------------------------------------
def test_register_wants_a_suite_and_registers_its_directions():
    with pytest.raises(TypeError, match=r"suite must be a benchmark.suites.Suite; got object"):
        benchmark.suites.register(object())
    assert leaderboard.direction_of("mse") == "lower" and leaderboard.direction_of("r2") == "higher"
    assert leaderboard.direction_of("contract_test_steps") == "higher"  # by its name, before registration
    benchmark.suites.register(DirectionSuite())
    assert leaderboard.direction_of("contract_test_steps") == "lower"
    assert get_suite("linear-regression-directions").headline_metrics == {"contract_test_steps": "lower"}


# --- the disentanglement suite through the CLI, on fake records (no training) -------------------------------
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _fake_disentanglement_records():
    protocol = get_suite("disentanglement").protocol_version
    rng = np.random.default_rng(0)
    mean = {"qlae": 0.8, "ae": 0.4, "beta_vae": 0.5, "noise": 0.3}
    return [leaderboard.Record(suite="disentanglement", protocol_version=protocol, profile="quick", dataset=dataset,
                               dataset_hash=f"hash-{dataset}", model=model, model_config_hash=f"cfg-{model}",
                               train_seed=seed, metric=metric, metric_version="1", metric_params={}, eval_seed=0,
                               value=mean[model] + 0.02 * rng.standard_normal())
            for dataset in ("dsprites-procedural-32px", "shapes3d-procedural-32px") for model in mean
            for seed in range(3) for metric in ("infom", "infoe")]


def test_claims_command_reads_a_store(tmp_path):
    db = tmp_path / "lb.sqlite"
    with leaderboard.Store(db) as store:
        store.write_job(_fake_disentanglement_records())
    r = _cli("claims", "--suite", "disentanglement", "--profile", "quick", "--db", str(db), "--reps", "500",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "profile quick · 48 records" in r.stdout
    claim_lines = [line for line in r.stdout.splitlines()
                   if line.split()[:1] in (["holds"], ["not"], ["contradicted"])]  # unindented: one per claim
    assert [line.split()[0] for line in claim_lines] == ["holds"] * 6, r.stdout
    assert {" ".join(line.split()[1:7]) for line in claim_lines} == {
        f"qlae better than {b} on {m}" for b in ("ae", "beta_vae", "noise") for m in ("infom", "infoe")}
    dataset_lines = [line for line in r.stdout.splitlines() if line.startswith("    ")]
    assert len(dataset_lines) == 12 and all(line.split()[1] == "holds" for line in dataset_lines)


def test_claims_command_without_a_store_is_a_usage_error(tmp_path):
    r = _cli("claims", "--db", "missing.sqlite", cwd=tmp_path)
    assert r.returncode == 2
    assert "no leaderboard store at 'missing.sqlite'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "missing.sqlite").exists()


def test_list_profiles_shows_each_profiles_budget(tmp_path):
    r = _cli("list", "profiles", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "profile claim:" in r.stdout and "steps: 12000" in r.stdout
    assert "suite disentanglement (protocol " in r.stdout


# --- warm-up: what the jobs share is prepared once, before them ----------------------------------------------
class WarmSuite(LinearSuite):
    name = "linear-regression-warm"
    calls: list = []

    def warm_up(self, jobs):
        self.calls.append(("warm_up", len(jobs)))

    def compute(self, job, run_dir, **kw):
        self.calls.append(("compute", job.seed))
        return super().compute(job, run_dir, **kw)


def test_the_suite_warms_up_once_before_its_jobs_and_not_when_all_are_stored(tmp_path):
    import os

    from benchmark.executors.local import LocalExecutor, worker_threads

    from benchmark.suites import _LOADED

    suite = WarmSuite()
    benchmark.suites.register(suite)
    try:
        jobs = suite.plan("smoke", models=("ols",))
        run_jobs(jobs, out=tmp_path, db=tmp_path / "db.sqlite", progress=False)
        assert WarmSuite.calls == [("warm_up", 3), ("compute", 0), ("compute", 1), ("compute", 2)]
        WarmSuite.calls.clear()
        run_jobs(jobs, out=tmp_path, db=tmp_path / "db.sqlite", progress=False)  # all stored: nothing to prepare
        assert WarmSuite.calls == []
    finally:
        _LOADED.pop(suite.name, None)
    # in a pool, the warm-up runs with the threads each worker will have; in this process, with its own
    assert LocalExecutor(2).job_threads(5) == worker_threads(2) == max(1, (os.cpu_count() or 1) // 2)
    assert LocalExecutor(2).job_threads(1) is None and LocalExecutor(1).job_threads(5) is None
