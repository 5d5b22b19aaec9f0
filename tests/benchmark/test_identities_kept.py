"""The suite contract changed no identity and no number: a store the earlier code wrote is read as it is.

``tests/data/store_written_before_the_suite_contract.sqlite`` is the store of the smoke profile written by the
code before the suite contract (``…json`` beside it says with which packages and CPU), and
``identities_before_the_suite_contract.json`` holds every job id, model config hash, record id and run folder
that code planned for smoke and quick (2 and 5 seeds, and fp32).
"""

import json
import shutil
from pathlib import Path

import numba
import numpy as np
import pytest
import sklearn
import torch

import leaderboard
from benchmark.runner import run_jobs
from benchmark.sinks import StoreSink
from benchmark.suites import get_suite

DATA = Path(__file__).resolve().parent.parent / "data"
OLD_STORE = DATA / "store_written_before_the_suite_contract.sqlite"
SUITE = get_suite("disentanglement")


def _plan(key: str):
    profile, *options = key.split("-")
    kw = dict(o.split("=") for o in options)
    if "seeds" in kw:
        kw["seeds"] = int(kw["seeds"])
    return SUITE.plan(profile, **kw)


@pytest.mark.parametrize("key", ["smoke", "quick", "quick-seeds=5", "quick-precision=fp32"])
def test_plans_keep_every_identity_the_earlier_code_planned(key):
    old = json.loads((DATA / "identities_before_the_suite_contract.json").read_text())[key]
    jobs = _plan(key)
    models = [j for j in jobs if j.model not in SUITE.reference_models]  # the calibration rows are new jobs
    new = [{"label": j.label, "job_id": j.job_id, "model_config_hash": j.model_config_hash,
            "record_ids": j.record_ids(), "run_dir": str(j.run_dir("OUT"))} for j in models]
    assert new == old
    references = {(j.dataset, j.model, j.seed) for j in jobs} - {(j.dataset, j.model, j.seed) for j in models}
    expected = {(d, m, s) for d, _, _ in references for m in SUITE.reference_models
                for s in range(max(j.seed for j in jobs) + 1)} if key != "smoke" else set()
    assert references == expected


def test_a_store_written_by_the_earlier_code_is_read_and_its_finished_run_does_no_work(tmp_path):
    db = tmp_path / "store.sqlite"
    shutil.copy(OLD_STORE, db)
    jobs = SUITE.plan("smoke")
    with leaderboard.Store(db) as store:
        assert {r.record_id for r in store.records()} == {i for j in jobs for i in j.record_ids()}
    assert all(StoreSink(db).stored(j) for j in jobs)
    outcomes = run_jobs(jobs, out=tmp_path / "out", db=db, device="cpu", progress=False)
    assert [o.status for o in outcomes] == ["skipped"] * len(jobs)
    assert not (tmp_path / "out" / "runs").exists()  # nothing was trained


def _same_machine_kind() -> bool:
    side = json.loads(OLD_STORE.with_suffix(".json").read_text())
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return (side["avx512f"] == (" avx512f" in flags) and side["torch"] == torch.__version__
            and side["numpy"] == np.__version__ and side["numba"] == numba.__version__
            and side["scikit-learn"] == sklearn.__version__)


def test_smoke_gives_the_earlier_code_s_values_to_the_last_digit(tmp_path):
    """Determinism holds per CPU kind and library build: exact where they are the fixture's, else close."""
    db = tmp_path / "new.sqlite"
    outcomes = run_jobs(SUITE.plan("smoke"), out=tmp_path, db=db, device="cpu", progress=False)
    assert [o.status for o in outcomes] == ["ok", "ok"]
    with leaderboard.Store(db) as new, leaderboard.Store(OLD_STORE, readonly=True) as old:
        now = {r.record_id: r.value for r in new.records()}
        before = {r.record_id: r.value for r in old.records()}
    assert now.keys() == before.keys()
    if _same_machine_kind():
        assert now == before
    else:  # another CPU kind or library build: other rounding, the same computation
        for rid in now:
            assert now[rid] == pytest.approx(before[rid], abs=0.1), rid
