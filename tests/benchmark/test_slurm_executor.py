"""SlurmExecutor on submitit's local backend: records, handles.json, parallelism, resubmission of dead jobs,
preemption (requeue and resume), re-attach to a sweep whose driver died, and the sbatch file of a job array."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
from pathlib import Path

import cloudpickle
import pytest

from benchmark.executors import slurm
from benchmark.executors.slurm import SlurmExecutor
from benchmark.jobs import JobOutcome
from benchmark.sinks import JsonlSink
from benchmark.suites import get_suite

# the fake job functions below travel to submitit's worker processes by value (this module is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

STEPS = 8  # steps of a preemptible fake job
STEP_SECONDS = 0.25


@pytest.fixture(scope="module")
def jobs():
    """Four real jobs of the disentanglement suite's smoke profile (two models, two seeds)."""
    planned = get_suite("disentanglement").plan("smoke", seeds=2)
    assert len(planned) == 4
    return planned


def fake_run(job, *, sink, root, behaviour, progress=True, on_progress=None):
    """Stands in for runner.run_job: writes an ok record of every planned metric through ``sink``; what else it
    does is ``behaviour[job.job_id]``: 'ok', 'sleep:<s>', 'die_once', 'die', 'steps' (checkpointed progress)."""
    root = Path(root)
    tag = job.job_id[:12]
    kind = behaviour.get(job.job_id, "ok")
    start = time.time()
    with open(root / f"{tag}.starts", "a") as f:
        f.write(f"{os.getpid()} {start}\n")
    if kind == "die_once":
        marker = root / f"{tag}.died"
        if not marker.exists():
            marker.touch()
            os._exit(1)
    elif kind == "die":
        os._exit(1)
    elif kind.startswith("sleep:"):
        time.sleep(float(kind.split(":")[1]))
    elif kind == "steps":  # a training loop that checkpoints its step and resumes from it
        ckpt = root / f"{tag}.progress"
        done = int(ckpt.read_text()) if ckpt.exists() else 0
        with open(root / f"{tag}.resumed_at", "a") as f:
            f.write(f"{done}\n")
        for step in range(done, STEPS):
            time.sleep(STEP_SECONDS)
            tmp = ckpt.with_suffix(".tmp")
            tmp.write_text(str(step + 1))
            os.replace(tmp, ckpt)
    sink.write(job, [job.record(m, value=0.5, status="ok") for m in job.metric_names])
    end = time.time()
    with open(root / f"{tag}.spans", "a") as f:
        f.write(f"{start} {end}\n")
    return JobOutcome(job, "ok", end - start)


def make_fn(tmp_path, behaviour=None):
    root = tmp_path / "marks"
    root.mkdir(exist_ok=True)
    sink = JsonlSink(tmp_path / "records")
    return functools.partial(fake_run, sink=sink, root=str(root), behaviour=dict(behaviour or {})), sink, root


def handles(folder):
    return json.loads((Path(folder) / "handles.json").read_text())


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_jobs_finish_ok_with_their_records_and_handles_one_at_a_time(tmp_path, jobs):
    fn, sink, root = make_fn(tmp_path)
    folder = tmp_path / "sweep"
    states = []
    warmed = []
    ex = SlurmExecutor(folder, local=True, array_parallelism=1, poll_seconds=0.2)
    outcomes = list(ex.map(fn, jobs, warm_up=lambda: warmed.append(1),
                           on_state=lambda running, queued: states.append((running, queued))))

    assert warmed == [1]
    assert sorted(o.job.job_id for o in outcomes) == sorted(j.job_id for j in jobs)
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]
    for job in jobs:  # every record reached the sink folder, one file per job
        assert sink.stored(job)
        assert len(list((tmp_path / "records").glob(f"{job.job_id}-*.jsonl"))) == 1
    recorded = handles(folder)
    assert set(recorded) == {j.job_id for j in jobs}
    for job in jobs:
        entry = recorded[job.job_id]
        assert entry["label"] == job.label and entry["backend"] == "local" and entry["attempt"] == 1
        assert Path(entry["folder"]).parent == folder / "logs"
    assert len({e["submitit_id"] for e in recorded.values()}) == len(jobs)
    # array_parallelism=1: never two jobs at once, by the jobs' own clocks and by what on_state was told
    spans = sorted(tuple(map(float, lines(root / f"{j.job_id[:12]}.spans")[0].split())) for j in jobs)
    assert all(prev_end <= start for (_, prev_end), (start, _) in zip(spans, spans[1:])), spans
    assert states and max(r for r, _ in states) == 1
    assert states[0] == (1, 3) and all(r + q <= len(jobs) for r, q in states)
    assert not list((folder / "logs").glob("%j*"))  # no unexpanded folder left beside the jobs' own


def test_each_job_gets_its_share_of_the_cores(tmp_path):
    cores = os.cpu_count() or 1
    assert SlurmExecutor(tmp_path, local=True, array_parallelism=2)._threads() == max(1, cores // 2)
    assert SlurmExecutor(tmp_path, local=True, array_parallelism=64)._threads() == 1
    assert SlurmExecutor(tmp_path, cpus_per_job=6)._threads() == 6  # Slurm: the CPUs the job asked for
    assert SlurmExecutor(tmp_path)._threads() is None  # else torch's own default (the allocation's cores)


def test_dead_job_is_resubmitted_and_one_dying_every_time_fails_naming_its_log(tmp_path, jobs):
    once, always = jobs[0], jobs[1]
    fn, sink, root = make_fn(tmp_path, {once.job_id: "die_once", always.job_id: "die"})
    folder = tmp_path / "sweep"
    ex = SlurmExecutor(folder, local=True, array_parallelism=2, max_attempts=2, poll_seconds=0.2)
    outcomes = {o.job.job_id: o for o in ex.map(fn, [once, always])}

    assert outcomes[once.job_id].status == "ok"
    assert sink.stored(once)
    assert handles(folder)[once.job_id]["attempt"] == 2
    assert len(lines(root / f"{once.job_id[:12]}.starts")) == 2

    failed = outcomes[always.job_id]
    assert failed.status == "failed" and not sink.stored(always)
    assert len(lines(root / f"{always.job_id[:12]}.starts")) == 2  # max_attempts submissions, no more
    assert handles(folder)[always.job_id]["attempt"] == 2
    assert "2 attempt" in failed.error
    log = re.search(r"log: (\S+)", failed.error).group(1)
    assert Path(log).exists() and Path(log).is_relative_to(folder / "logs")
    assert log.endswith(".err")


def _progress(root, job):
    path = root / f"{job.job_id[:12]}.progress"
    return int(path.read_text()) if path.exists() else 0


def test_preempted_job_requeues_and_resumes_from_its_checkpoint(tmp_path, jobs):
    job = jobs[0]
    fn, sink, root = make_fn(tmp_path, {job.job_id: "steps"})
    folder = tmp_path / "sweep"
    ex = SlurmExecutor(folder, local=True, poll_seconds=0.2)
    preempted = []

    def on_state(running, queued):  # preempt it (USR2 to its task, as Slurm does) once it made some progress
        if not preempted and _progress(root, job) >= 2:
            ex.preempt(job.job_id)
            preempted.append(_progress(root, job))

    [outcome] = list(ex.map(fn, [job], on_state=on_state))

    assert preempted, "the job finished before it could be preempted"
    assert outcome.status == "ok", outcome.error
    assert sink.stored(job)
    resumed = [int(x) for x in lines(root / f"{job.job_id[:12]}.resumed_at")]
    assert len(resumed) == 2 and resumed[0] == 0 and resumed[1] >= preempted[0] >= 2, resumed
    entry = handles(folder)[job.job_id]
    assert entry["attempt"] == 1  # requeued by submitit under the same id, not resubmitted as a dead job
    log = (Path(entry["folder"]) / f"{entry['submitit_id']}_0_log.err").read_text()
    assert "Caught signal SIGUSR2" in log and "this job is preempted" in log  # submitit's handler, in the task


def test_job_whose_controller_is_interrupted_resumes_in_a_new_attempt(tmp_path, jobs):
    """submitit's LocalJob._interrupt() sends USR2 to the local controller, which dies of it: its task dies
    with it, and the job is submitted again and resumes from its checkpoint; it is not reported failed."""
    job = jobs[1]
    fn, sink, root = make_fn(tmp_path, {job.job_id: "steps"})
    folder = tmp_path / "sweep"
    ex = SlurmExecutor(folder, local=True, poll_seconds=0.2)
    interrupted = []

    def on_state(running, queued):
        if not interrupted and _progress(root, job) >= 2:
            first_id = handles(folder)[job.job_id]["submitit_id"]
            ex.live[job.job_id]._interrupt()
            interrupted.append(first_id)

    [outcome] = list(ex.map(fn, [job], on_state=on_state))

    assert interrupted and outcome.status == "ok", outcome.error
    entry = handles(folder)[job.job_id]
    assert entry["attempt"] == 2 and entry["submitit_id"] != interrupted[0]
    resumed = [int(x) for x in lines(root / f"{job.job_id[:12]}.resumed_at")]
    assert len(resumed) == 2 and resumed[0] == 0 and resumed[1] >= 2, resumed
    assert _progress(root, job) == STEPS
    # the interrupted attempt's task died with its controller: one run finished, one record file
    assert len(lines(root / f"{job.job_id[:12]}.spans")) == 1
    assert len(list((tmp_path / "records").glob(f"{job.job_id}-*.jsonl"))) == 1


def test_resume_attaches_to_running_jobs_instead_of_submitting_them_again(tmp_path, jobs, monkeypatch):
    jobs = jobs[:3]
    fast, slow = jobs[0], jobs[1:]
    fn, sink, root = make_fn(tmp_path, {j.job_id: "sleep:5" for j in slow})
    folder = tmp_path / "sweep"
    gen = SlurmExecutor(folder, local=True, poll_seconds=0.2).map(fn, jobs)
    first = next(gen)
    gen.close()  # the driver "dies": its jobs go on running
    assert first.job == fast and first.status == "ok"
    ids_before = {j.job_id: handles(folder)[j.job_id]["submitit_id"] for j in slow}

    with pytest.raises(ValueError, match=r"2 of these 3 jobs .*pass --resume to attach to them, or cancel them"):
        next(SlurmExecutor(folder, local=True).map(fn, jobs))

    # a new driver process knows the jobs only from handles.json (no process objects): forget ours
    monkeypatch.setattr(slurm, "_LOCAL_PROCESSES", {})
    outcomes = list(SlurmExecutor(folder, local=True, resume=True, poll_seconds=0.2).map(fn, jobs))
    assert sorted(o.job.job_id for o in outcomes) == sorted(j.job_id for j in jobs)
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]
    for job in slow:  # attached: started once, under the same submitit id
        assert len(lines(root / f"{job.job_id[:12]}.starts")) == 1
        assert handles(folder)[job.job_id]["submitit_id"] == ids_before[job.job_id]
        assert sink.stored(job)
    assert len(lines(root / f"{fast.job_id[:12]}.starts")) == 2  # finished handle: submitted again


def test_sbatch_script_of_a_job_array(tmp_path):
    ex = SlurmExecutor(tmp_path / "sweep", partition="gpu-a100", gpus_per_job=1, time_min=90, array_parallelism=4,
                       cpus_per_job=8, mem_gb=32, slurm_extra={"account": "proj", "qos": "high"})
    script = ex.sbatch_script(12)
    sbatch = set(re.findall(r"^#SBATCH .*$", script, flags=re.M))
    logs = tmp_path / "sweep" / "logs"
    assert {"#SBATCH --array=0-11%4", "#SBATCH --partition=gpu-a100", "#SBATCH --gpus-per-node=1",
            "#SBATCH --time=90", "#SBATCH --account=proj", "#SBATCH --qos=high", "#SBATCH --cpus-per-task=8",
            "#SBATCH --mem=32GB", "#SBATCH --signal=USR2@90",
            f"#SBATCH --output={logs}/%A_%a/%A_%a_0_log.out",
            f"#SBATCH --error={logs}/%A_%a/%A_%a_0_log.err"} <= sbatch
    assert "-m submitit.core._submit" in script
    assert "#SBATCH --array=0-2%3" in ex.sbatch_script(3).splitlines()  # never more at once than jobs
    assert "gpu-a100" in ex.describe() and "--account=proj" in ex.describe()


def test_without_slurm_map_says_so_and_submits_nothing(tmp_path, jobs, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fn, _, _ = make_fn(tmp_path)
    warmed = []
    ex = SlurmExecutor(tmp_path / "sweep", partition="gpu")
    with pytest.raises(ValueError, match=r"no Slurm here.*dry-run.*local"):
        next(ex.map(fn, jobs, warm_up=lambda: warmed.append(1)))
    assert not warmed and not (tmp_path / "sweep" / "handles.json").exists()


@pytest.mark.parametrize("kwargs", [dict(array_parallelism=0), dict(max_attempts=0), dict(time_min=0),
                                    dict(gpus_per_job=-1), dict(slurm_extra={"--account": "x"}),
                                    dict(poll_seconds=0)])
def test_bad_settings_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        SlurmExecutor(tmp_path, **kwargs)


# A stand-in for Slurm on this machine: sbatch runs every array task of the submitted file at once in the
# background (with the SLURM_* variables submitit reads), srun runs its command with the --output/--error files,
# sacct reports the states the tasks left in a state folder.
_FAKE_SBATCH = '''
import os, re, subprocess, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM_STATE"])
counter = state / "counter"
jid = int(counter.read_text()) + 1
counter.write_text(str(jid))
script = Path(sys.argv[1]).read_text()
(state / f"{jid}.sh").write_text(script)
m = re.search(r"^#SBATCH --array=0-(\\d+)%(\\d+)$", script, re.M)
for i in (range(int(m.group(1)) + 1) if m else [None]):
    key = str(jid) if i is None else f"{jid}_{i}"
    env = dict(os.environ, SLURM_JOB_ID=str(jid), SLURM_NTASKS="1", SLURM_PROCID="0", SLURM_LOCALID="0",
               SLURM_NODEID="0", SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="node1")
    if i is not None:
        env.update(SLURM_ARRAY_JOB_ID=str(jid), SLURM_ARRAY_TASK_ID=str(i))
    (state / key).write_text("RUNNING")
    subprocess.Popen(["bash", "-c", 'if bash "$0"; then echo COMPLETED > "$1"; else echo FAILED > "$1"; fi',
                      str(state / f"{jid}.sh"), str(state / key)], env=env, start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"Submitted batch job {jid}")
'''
_FAKE_SRUN = '''
import os, subprocess, sys
from pathlib import Path
args, files = sys.argv[1:], {}
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if opt in ("--output", "--error"):
        files[opt] = args.pop(0)
def path(p):
    env = os.environ
    p = p.replace("%A", env.get("SLURM_ARRAY_JOB_ID", "")).replace("%a", env.get("SLURM_ARRAY_TASK_ID", ""))
    p = Path(p.replace("%j", os.environ["SLURM_JOB_ID"]).replace("%t", "0"))
    p.parent.mkdir(parents=True, exist_ok=True)
    return open(p, "a")
sys.exit(subprocess.call(args, stdout=path(files["--output"]), stderr=path(files["--error"])))
'''
_FAKE_SACCT = '''
import os, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM_STATE"])
ids = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "-j"]
print("JobID|State|NodeList")
for f in sorted(state.iterdir()):
    if any(f.name == j or f.name.startswith(j + "_") for j in ids) and not f.name.endswith(".sh"):
        print(f"{f.name}|{f.read_text().strip()}|node1")
'''


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    bin_dir, state = tmp_path / "bin", tmp_path / "slurm-state"
    bin_dir.mkdir()
    state.mkdir()
    # job ids unique within one pytest process: submitit's sacct watcher caches the states of finished ids
    (state / "counter").write_text(str(int(time.time() * 1000) % 10**9))
    for name, code in [("sbatch", _FAKE_SBATCH), ("srun", _FAKE_SRUN), ("sacct", _FAKE_SACCT)]:
        (bin_dir / name).write_text(f"#!{sys.executable}\n{code}")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_STATE", str(state))
    return state


def test_slurm_backend_submits_one_array_and_resubmits_a_dead_task(tmp_path, jobs, fake_slurm):
    jobs = jobs[:3]
    fn, sink, root = make_fn(tmp_path, {jobs[1].job_id: "die_once"})
    folder = tmp_path / "sweep"
    states = []
    ex = SlurmExecutor(folder, partition="gpu", time_min=30, poll_seconds=0.2, slurm_extra={"account": "proj"})
    outcomes = list(ex.map(fn, jobs, on_state=lambda r, q: states.append((r, q))))

    assert sorted(o.job.job_id for o in outcomes) == sorted(j.job_id for j in jobs)
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]
    assert all(sink.stored(j) for j in jobs)
    scripts = sorted(fake_slurm.glob("*.sh"))
    assert len(scripts) == 2  # the array, then the dead task alone
    first = scripts[0].read_text()
    assert "#SBATCH --array=0-2%3" in first and "#SBATCH --partition=gpu" in first
    assert "#SBATCH --account=proj" in first and "#SBATCH --time=30" in first
    recorded = handles(folder)
    array_id = scripts[0].stem
    assert {recorded[j.job_id]["submitit_id"] for j in (jobs[0], jobs[2])} <= {f"{array_id}_{i}" for i in range(3)}
    assert recorded[jobs[1].job_id]["submitit_id"] == scripts[1].stem and recorded[jobs[1].job_id]["attempt"] == 2
    assert all(e["backend"] == "slurm" for e in recorded.values())
    assert (folder / "logs" / f"{array_id}_0" / f"{array_id}_0_0_log.out").exists()  # logs/%A_%a
    assert states and all(r + q <= 3 for r, q in states)


class _DriverDied(Exception):
    pass


def _die(running, queued):
    raise _DriverDied


def test_slurm_backend_reattaches_to_running_array_tasks(tmp_path, jobs, fake_slurm):
    jobs = jobs[:2]
    fn, sink, root = make_fn(tmp_path, {j.job_id: "sleep:3" for j in jobs})
    folder = tmp_path / "sweep"
    with pytest.raises(_DriverDied):  # the driver dies right after submitting the array
        list(SlurmExecutor(folder, poll_seconds=0.2).map(fn, jobs, on_state=_die))
    ids = sorted(handles(folder)[j.job_id]["submitit_id"] for j in jobs)

    with pytest.raises(ValueError, match=rf"2 of these 2 jobs .*--resume.*\(scancel {ids[0]} {ids[1]}\)"):
        next(SlurmExecutor(folder).map(fn, jobs))

    outcomes = list(SlurmExecutor(folder, resume=True, poll_seconds=0.2).map(fn, jobs))
    assert all(o.status == "ok" for o in outcomes) and len(outcomes) == 2
    assert len(list(fake_slurm.glob("*.sh"))) == 1  # nothing submitted again
    assert all(len(lines(root / f"{j.job_id[:12]}.starts")) == 1 for j in jobs)
    assert sorted(handles(folder)[j.job_id]["submitit_id"] for j in jobs) == ids


def test_a_sweep_larger_than_the_max_array_size_is_split_into_arrays(tmp_path, jobs, fake_slurm):
    jobs = jobs[:3]
    fn, sink, root = make_fn(tmp_path, {})
    ex = SlurmExecutor(tmp_path / "sweep", poll_seconds=0.2, max_array_size=2, array_parallelism=8)
    outcomes = list(ex.map(fn, jobs))
    assert sorted(o.status for o in outcomes) == ["ok"] * 3
    scripts = [p.read_text() for p in sorted(fake_slurm.glob("*.sh"))]
    assert len(scripts) == 2  # an array of 2 tasks, then the third job alone
    assert "#SBATCH --array=0-1%2" in scripts[0] and "--array" not in scripts[1]
    assert "#SBATCH --array=0-1%2" in ex.sbatch_script(3)  # the dry run shows the first array
