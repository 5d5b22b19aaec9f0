"""Jobs: one (suite, profile, dataset, model, seed) to compute, keyed by identity.

A :class:`Job` is generic: the fields every suite shares, plus an opaque ``config`` that the suite owns (its
training and evaluation settings, JSON data). Its identity hash ``job_id`` covers the shared fields and the
config; the records it will produce are planned up front (:class:`PlannedMetric`: metric, version, params),
so that their ids are known before any work and a finished job is skipped. Every record identity is built
here, by :meth:`Job.identity` (the fields of ``leaderboard.IDENTITY_FIELDS``), and nowhere else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import leaderboard

__all__ = ["Job", "PlannedMetric", "JobOutcome", "config_hash", "CPU_THREADS"]

CPU_THREADS = 1  # torch threads of a job on the CPU, whatever the pool size: the numbers must not depend on --jobs

_SHARED_FIELDS = ("suite", "protocol_version", "profile", "dataset", "dataset_hash", "model", "seed")


def config_hash(obj: Any) -> str:
    """sha256 hex digest of ``obj`` as canonical JSON (sorted keys, no spaces): the hash of a job and a config."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedMetric:
    """A record a job will write: the metric's name, version and the parameters it is computed with."""

    metric: str
    version: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """Identity of one unit of work of a suite: train (or not) and evaluate one model on one dataset with one seed.

    ``config`` is the suite's own (JSON data, e.g. training and evaluation settings) and is part of the
    identity; its keys must not repeat the shared fields. ``model_config_hash`` names what defines the model
    (the suite's choice; records carry it), ``metrics`` are the records the job writes, ``eval_seed`` seeds their
    evaluation, and ``provenance`` is who computed the representation its records score (``measured``, or
    ``reference`` for a suite's calibration rows; see ``leaderboard.PROVENANCES``). ``run_options`` say how the
    job runs, not what it computes (a checkpoint cadence): outside the identity and equality.
    """

    suite: str
    protocol_version: str
    profile: str
    dataset: str
    dataset_hash: str
    model: str
    seed: int
    config: dict
    model_config_hash: str
    metrics: tuple[PlannedMetric, ...]
    eval_seed: int = 0
    provenance: str = "measured"
    run_options: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        clash = sorted(set(self.config) & set(_SHARED_FIELDS))
        if clash:
            raise ValueError(f"Job.config must not repeat the job's own fields; got {clash}.")
        names = [m.metric for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"Job.metrics must name each metric once; got {names}.")

    @property
    def job_id(self) -> str:
        """sha256 of the shared fields and the config (canonical JSON)."""
        return config_hash({**{k: getattr(self, k) for k in _SHARED_FIELDS}, **self.config})

    def __hash__(self) -> int:  # the generated one would hash the dicts
        return hash(self.job_id)

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.model}/seed{self.seed}"

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.metric for m in self.metrics)

    def planned(self, metric: str) -> PlannedMetric:
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise ValueError(f"metric must be one of this job's {', '.join(self.metric_names)}; got {metric!r}.")

    def identity(self, metric: str) -> dict[str, Any]:
        """The identity block of this job's record for ``metric`` (the fields of ``leaderboard.IDENTITY_FIELDS``)."""
        m = self.planned(metric)
        return {
            "suite": self.suite, "protocol_version": self.protocol_version, "profile": self.profile,
            "dataset": self.dataset, "dataset_hash": self.dataset_hash, "model": self.model,
            "model_config_hash": self.model_config_hash, "train_seed": self.seed, "metric": m.metric,
            "metric_version": m.version, "metric_params": m.params, "eval_seed": self.eval_seed,
        }

    def record_ids(self) -> list[str]:
        return [leaderboard.compute_record_id(self.identity(m)) for m in self.metric_names]

    def record(self, metric: str, *, params: dict | None = None, **payload: Any) -> leaderboard.Record:
        """The record of ``metric`` with this job's identity and provenance, and ``payload`` (value, components,
        status, ...).

        ``params``, when given, are the parameters the metric was actually computed with: they must equal the
        planned ones (a ValueError otherwise: the record would not be found again by its planned id)."""
        identity = self.identity(metric)
        if params is not None and params != identity["metric_params"]:
            raise ValueError(f"{metric} was computed with {params}, but the job planned {identity['metric_params']}; "
                             f"plan the job with the parameters its metric uses.")
        return leaderboard.Record(**identity, **{"provenance": self.provenance, **payload})

    def failed_records(self, error: str, detail: str, *, environment: dict | None = None,
                       timing: dict | None = None) -> list[leaderboard.Record]:
        """One ``failed`` record per planned metric, carrying the error and its traceback."""
        return [self.record(m, value=None, components={"traceback": detail}, status="failed", error=error,
                            environment=environment or {}, timing=timing or {})
                for m in self.metric_names]

    def run_dir(self, out: Path) -> Path:
        return Path(out) / "runs" / self.profile / self.dataset / self.model / f"seed{self.seed}-{self.job_id[:10]}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["job_id"] = self.job_id
        return d


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    status: str  # 'ok', 'failed' or 'skipped' (records already stored)
    seconds: float
    error: str | None = None
    run_dir: str | None = None
