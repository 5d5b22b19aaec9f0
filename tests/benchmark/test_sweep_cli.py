"""Sweeps from the command line: the smoke profile on a Dask LocalCluster and through submitit's local executor
(stopped halfway and resumed) store the same records as a local run and end with the same table and verdicts;
the Slurm dry run shows the sbatch script; bad options are refused before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import leaderboard
from benchmark.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ["run", "--profile", "smoke", "--device", "cpu", "--no-progress"]


def _records(db: Path) -> dict[str, tuple]:
    with leaderboard.Store(db) as store:
        return {r.record_id: (r.status, r.value) for r in store.records(suite="disentanglement", profile="smoke")}


def _report(text: str) -> str:
    """The table and the verdicts a run prints (without timings and paths)."""
    start = text.index("Leaderboard of this run")
    return "\n".join(line for line in text[start:].splitlines()
                     if not line.startswith(("All metrics", "Claims of", "Figures", "Plots")))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The reference: the smoke sweep in the local pool, two 1-thread workers (as the cluster workers have)."""
    out = tmp_path_factory.mktemp("local")
    proc = subprocess.run([sys.executable, "-m", "benchmark", *SMOKE, "--seeds", "2", "--jobs", "2", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _records(out / "leaderboard.sqlite"), _report(proc.stdout)


def test_a_dask_sweep_stores_what_a_local_run_stores(local_run, tmp_path, capsys):
    records, report = local_run
    assert main([*SMOKE, "--seeds", "2", "--out", str(tmp_path), "--executor", "dask", "--dask-workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "dask: LocalCluster of 2 workers x 1 thread" in out
    assert _records(tmp_path / "leaderboard.sqlite") == records  # same ids, statuses and values, once each
    assert _report(out) == report
    files = list((tmp_path / "sweeps" / "disentanglement-smoke" / "records").glob("*.jsonl.imported"))
    assert len(files) == 4  # one file per job, every one imported
    assert main([*SMOKE, "--seeds", "2", "--out", str(tmp_path), "--executor", "dask"]) == 0
    assert "0 trained, 4 already stored, 0 failed" in capsys.readouterr().out  # nothing is submitted again


def test_a_slurm_sweep_stopped_halfway_resumes_to_the_same_records(local_run, tmp_path):
    records, report = local_run
    cmd = [sys.executable, "-m", "benchmark", *SMOKE, "--seeds", "2", "--out", str(tmp_path), "--executor", "slurm",
           "--slurm-local", "--array-parallelism", "1"]
    sweep = tmp_path / "sweeps" / "disentanglement-smoke"
    driver = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((sweep / "records").glob("*.jsonl*")) and time.monotonic() < deadline:
        assert driver.poll() is None, "the sweep ended before it was stopped"
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)  # the driver dies; the job it had submitted runs on
    driver.wait()
    handles = json.loads((sweep / "handles.json").read_text())
    assert 1 <= len(handles) < 4  # stopped halfway: not every job was submitted

    proc = subprocess.run([*cmd, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert _records(tmp_path / "leaderboard.sqlite") == records
    assert _report(proc.stdout) == report
    handles = json.loads((sweep / "handles.json").read_text())
    assert len(handles) == 4 and all(h["attempt"] == 1 for h in handles.values())  # nothing ran twice
    assert list((sweep / "logs").rglob("*_log.out"))  # submitit's log of every job, in the sweep folder


def test_the_dry_run_prints_the_sbatch_script_and_submits_nothing(tmp_path, capsys):
    # --device cuda: the jobs' device, checked on the nodes, not on this driver (which has no GPU)
    assert main([*SMOKE, "--device", "cuda", "--seeds", "3", "--out", str(tmp_path), "--executor", "slurm", "--dry-run",
                 "--partition", "gpu", "--gpus-per-job", "1", "--time", "1:30:00", "--array-parallelism", "4",
                 "--slurm-extra", "account=proj", "qos=high"]) == 0
    out = capsys.readouterr().out
    assert "dry run: 6 of 6 jobs would be submitted (0 stored)" in out
    for line in ("#SBATCH --array=0-5%4", "#SBATCH --partition=gpu", "#SBATCH --time=90", "#SBATCH --account=proj",
                 "#SBATCH --qos=high", "#SBATCH --gpus-per-node=1", "#SBATCH --signal=USR2@90"):
        assert line in out, line
    assert not (tmp_path / "leaderboard.sqlite").exists() or not _records(tmp_path / "leaderboard.sqlite")
    assert not list(tmp_path.glob("sweeps/*/handles.json"))


@pytest.mark.parametrize("args, message", [
    (["--executor", "slurm", "--time", "soon"], "--time: expected minutes"),
    (["--executor", "slurm", "--slurm-extra", "account"], "--slurm-extra: expected KEY=VALUE"),
    (["--executor", "slurm", "--array-parallelism", "0"], "--array-parallelism must be >= 1"),
    (["--executor", "dask", "--dry-run"], "--dry-run shows the sbatch script of --executor slurm"),
    (["--dry-run"], "add --executor slurm"),
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], "tcp://127.0.0.1:9"),
])
def test_bad_sweep_options_are_refused(tmp_path, capsys, args, message):
    assert main([*SMOKE, "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    db = tmp_path / "leaderboard.sqlite"
    assert not db.exists() or not _records(db)  # refused before any job ran
