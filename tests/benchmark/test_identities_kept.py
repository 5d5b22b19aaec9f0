"""Identities are pinned, and a store written under an earlier protocol is read and kept.

``tests/data/identities_protocol_1.3.json`` holds every job id, model config hash, record id and run folder the
disentanglement suite plans for smoke and quick (2 and 5 seeds, and fp32) at protocol 1.3: a change that moves any
of them without a protocol bump fails here. Write it anew after a deliberate bump with
``python -c "from tests.benchmark.test_identities_kept import write_identities; write_identities()"``.

``tests/data/store_written_before_the_suite_contract.sqlite`` is a smoke store written at protocol 1.2 (``…json``
beside it says with which packages and CPU). Protocol 1.3 changed DCI's estimator and SAP's solver, so its jobs
are not the current ones: the store is read, a run adds the new records beside the old, and the metrics whose
computation did not change give the old values (InfoE up to the rounding of its probe's sums).
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
IDENTITIES = DATA / "identities_protocol_1.3.json"
SUITE = get_suite("disentanglement")
PLANS = ["smoke", "quick", "quick-seeds=5", "quick-precision=fp32"]
UNCHANGED_SINCE_1_2 = {"infom", "infoe", "infoc", "mig", "modularity", "explicitness", "psnr"}
# InfoE's probes are fitted by metrics._logistic since: the same optimiser and iterates, other rounding of the sums
ROUNDING_SINCE_1_2 = {"infoe": 1e-6}


def _plan(key: str):
    profile, *options = key.split("-")
    kw = dict(o.split("=") for o in options)
    if "seeds" in kw:
        kw["seeds"] = int(kw["seeds"])
    return SUITE.plan(profile, **kw)


def _identities(key: str) -> list[dict]:
    return [{"label": j.label, "job_id": j.job_id, "model_config_hash": j.model_config_hash,
             "record_ids": j.record_ids(), "run_dir": str(j.run_dir("OUT"))} for j in _plan(key)]


def write_identities() -> None:
    IDENTITIES.write_text(json.dumps({key: _identities(key) for key in PLANS}, indent=1) + "\n")


@pytest.mark.parametrize("key", PLANS)
def test_plans_keep_every_identity_of_the_protocol(key):
    assert SUITE.protocol_version == "1.3"  # a bump: write the fixture anew (see the module doc)
    assert _identities(key) == json.loads(IDENTITIES.read_text())[key]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The old store, copied, with a smoke run of the current protocol added to it."""
    tmp = tmp_path_factory.mktemp("smoke")
    db = tmp / "store.sqlite"
    shutil.copy(OLD_STORE, db)
    with leaderboard.Store(db) as store:
        before = {r.record_id: r for r in store.records()}
    jobs = SUITE.plan("smoke")
    assert not any(StoreSink(db).stored(j) for j in jobs)  # another protocol: nothing to skip
    outcomes = run_jobs(jobs, out=tmp / "out", db=db, device="cpu", progress=False)
    with leaderboard.Store(db) as store:
        after = {r.record_id: r for r in store.records()}
    return jobs, outcomes, before, after


def test_a_store_of_an_earlier_protocol_is_read_and_kept(smoke_run):
    jobs, outcomes, before, after = smoke_run
    assert before and all(r.protocol_version == "1.2" for r in before.values())
    assert [o.status for o in outcomes] == ["ok"] * len(jobs)
    new_ids = {i for j in jobs for i in j.record_ids()}
    assert not new_ids & before.keys()
    assert after.keys() == before.keys() | new_ids  # added beside the old records, none replaced
    assert all(after[i].value == before[i].value for i in before)


def _same_machine_kind() -> bool:
    side = json.loads(OLD_STORE.with_suffix(".json").read_text())
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return (side["avx512f"] == (" avx512f" in flags) and side["torch"] == torch.__version__
            and side["numpy"] == np.__version__ and side["numba"] == numba.__version__
            and side["scikit-learn"] == sklearn.__version__)


def test_smoke_gives_the_earlier_protocol_s_values_where_the_computation_is_the_same(smoke_run):
    """Determinism holds per CPU kind and library build: exact where they are the fixture's, else close."""
    _, _, before, after = smoke_run

    def values(records, version):
        return {(r.dataset, r.model, r.train_seed, r.metric): r.value for r in records.values()
                if r.protocol_version == version and r.metric in UNCHANGED_SINCE_1_2}

    old, now = values(before, "1.2"), values(after, "1.3")
    assert now.keys() == old.keys() and len(now) == 2 * len(UNCHANGED_SINCE_1_2)
    for key in now:
        if not _same_machine_kind():  # another CPU kind or library build: other rounding, the same computation
            assert now[key] == pytest.approx(old[key], abs=0.1), key
        elif key[3] in ROUNDING_SINCE_1_2:
            assert now[key] == pytest.approx(old[key], abs=ROUNDING_SINCE_1_2[key[3]]), key
        else:
            assert now[key] == old[key], key
