"""Result records: one result of one metric for one (trained model, dataset, protocol, seed).

A :class:`Record` has an *identity* (what was measured) and a *payload* (what came out, and how).
Only the identity is hashed: ``record_id = sha256(canonical JSON of identity)``, so the same
measurement always has the same id, whoever runs it and whenever (the pattern of content-addressed
result records; see ``docs/leaderboard.md``).

Canonical JSON: ``json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)`` encoded as UTF-8.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Record",
    "RecordError",
    "IDENTITY_FIELDS",
    "PAYLOAD_FIELDS",
    "STATUSES",
    "PROVENANCES",
    "canonical_json",
    "compute_record_id",
]

#: Fields hashed into ``record_id``, in documentation order.
IDENTITY_FIELDS: tuple[str, ...] = (
    "suite",
    "protocol_version",
    "profile",
    "dataset",
    "dataset_hash",
    "model",
    "model_config_hash",
    "train_seed",
    "metric",
    "metric_version",
    "metric_params",
    "eval_seed",
)
#: Fields that ride along with the identity and are not hashed.
PAYLOAD_FIELDS: tuple[str, ...] = (
    "value",
    "components",
    "status",
    "error",
    "environment",
    "timing",
    "provenance",
    "created_at",
)
STATUSES: tuple[str, ...] = ("ok", "failed", "invalid")
PROVENANCES: tuple[str, ...] = ("measured", "submitted-latents", "submitted-encoder", "reference")

_STR_IDENTITY = ("suite", "protocol_version", "profile", "dataset", "dataset_hash", "model", "model_config_hash",
                 "metric", "metric_version")
_INT_IDENTITY = ("train_seed", "eval_seed")


class RecordError(ValueError):
    """A record (or a line of a JSON Lines file) is malformed; the message names the field and the fix."""


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 characters kept, NaN/inf refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_record_id(identity: Mapping[str, Any]) -> str:
    """``sha256`` hex digest (64 characters) of the canonical JSON of ``identity``."""
    return hashlib.sha256(canonical_json(dict(identity)).encode("utf-8")).hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _jsonable(obj: Any, where: str) -> Any:
    """Convert ``obj`` (numpy arrays/scalars, tuples, mappings) into plain JSON data; refuse NaN/inf."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        f = float(obj)
        if not math.isfinite(f):
            raise RecordError(f"{where} must be finite; got {f!r}. Store an undefined entry as None (JSON null) "
                              f"and say why in the metric's documentation.")
        return f
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise RecordError(f"{where} must have string keys; got key {k!r} of type {type(k).__name__}.")
            out[k] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if hasattr(obj, "tolist") and not isinstance(obj, (bytes, bytearray)):  # numpy array or scalar, duck-typed
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise RecordError(f"{where} must be JSON data (numbers, strings, lists, dicts, None); "
                      f"got {type(obj).__name__}.")


@dataclasses.dataclass(frozen=True)
class Record:
    """One result of one metric for one (trained model, dataset, protocol, seed).

    Parameters
    ----------
    suite, protocol_version, profile : str
        Benchmark suite name (``"disentanglement"``), its protocol version and the profile
        (``smoke``/``quick``/``paper``). Records of different protocol versions are never mixed.
    dataset, dataset_hash : str
        Dataset name (``"dsprites-procedural"``) and its content hash.
    model, model_config_hash : str
        Model (method) name and the hash of its resolved configuration.
    train_seed : int
        Seed of the training run (seeds are the unit of uncertainty in :func:`leaderboard.summarize`).
    metric, metric_version : str
        Metric name and version. ``metric_params`` (dict, JSON data) holds the resolved options.
    eval_seed : int
        Seed of the evaluation (sample draw, estimator randomness).
    value : float or None
        The scalar result; required (finite) when ``status == "ok"``.
    components : dict
        JSON data: per-factor scores, matrices as nested lists, ... numpy values are converted.
    status : {"ok", "failed", "invalid"}
        ``failed``: the job raised (``error`` holds the summary); ``invalid``: the result was
        rejected (e.g. a submission that failed validation).
    error : str or None
        Error summary, required when ``status != "ok"``.
    environment, timing : dict
        Package versions, git commit, hardware; durations in seconds and timestamps.
    provenance : {"measured", "submitted-latents", "submitted-encoder", "reference"}
        Who computed the representation: the suite itself, a submitter's latents/encoder
        (metrics are always recomputed by the suite), or a calibration row the suite computes
        (what noise or an untrained model scores), shown marked as a reference.
    created_at : str
        ISO 8601 UTC timestamp; set to now when omitted.
    """

    suite: str
    protocol_version: str
    profile: str
    dataset: str
    dataset_hash: str
    model: str
    model_config_hash: str
    train_seed: int
    metric: str
    metric_version: str
    metric_params: dict = dataclasses.field(default_factory=dict)
    eval_seed: int = 0
    value: float | None = None
    components: dict = dataclasses.field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    environment: dict = dataclasses.field(default_factory=dict)
    timing: dict = dataclasses.field(default_factory=dict)
    provenance: str = "measured"
    created_at: str = ""

    def __post_init__(self) -> None:
        set_ = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731  (frozen dataclass)
        for name in _STR_IDENTITY:
            v = getattr(self, name)
            if not isinstance(v, str) or not v.strip():
                raise RecordError(f"Record.{name} must be a non-empty string; got {v!r}.")
        for name in _INT_IDENTITY:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise RecordError(f"Record.{name} must be an integer; got {v!r} of type {type(v).__name__}.")
            if not -2**63 <= int(v) < 2**63:  # SQLite's INTEGER is 64-bit
                raise RecordError(f"Record.{name} must lie in [-2**63, 2**63); got {int(v)}.")
            set_(name, int(v))
        for name in ("metric_params", "components", "environment", "timing"):
            v = getattr(self, name)
            if v is None:
                v = {}
            if not isinstance(v, Mapping):
                raise RecordError(f"Record.{name} must be a dict; got {type(v).__name__}.")
            set_(name, _jsonable(v, f"Record.{name}"))
        if self.status not in STATUSES:
            raise RecordError(f"Record.status must be one of {', '.join(map(repr, STATUSES))}; got {self.status!r}.")
        if self.provenance not in PROVENANCES:
            raise RecordError(f"Record.provenance must be one of {', '.join(map(repr, PROVENANCES))}; "
                              f"got {self.provenance!r}.")
        v = self.value
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise RecordError(f"Record.value must be a float or None; got {v!r} of type {type(v).__name__}.")
            v = float(v)
            if not math.isfinite(v):
                raise RecordError(f"Record.value must be finite; got {v!r} for metric {self.metric!r} of model "
                                  f"{self.model!r}. Store a failed computation with status='failed' and value=None.")
            set_("value", v)
        if self.status == "ok" and self.value is None:
            raise RecordError(f"Record.value is required when status is 'ok' (metric {self.metric!r}, model "
                              f"{self.model!r}); got None. Use status='failed' with an error message instead.")
        if self.status != "ok" and not (isinstance(self.error, str) and self.error.strip()):
            raise RecordError(f"Record.error must summarise what went wrong when status is {self.status!r}; "
                              f"got {self.error!r}.")
        if self.error is not None and not isinstance(self.error, str):
            raise RecordError(f"Record.error must be a string or None; got {type(self.error).__name__}.")
        if not self.created_at:
            set_("created_at", _now())
        elif not isinstance(self.created_at, str):
            raise RecordError(f"Record.created_at must be an ISO 8601 string; got {self.created_at!r}.")

    # -- identity ----------------------------------------------------------------------------
    @property
    def identity(self) -> dict[str, Any]:
        """The hashed fields as a dict (see :data:`IDENTITY_FIELDS`)."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    @property
    def record_id(self) -> str:
        """``sha256`` hex digest of the canonical JSON of :attr:`identity`."""
        return compute_record_id(self.identity)

    def __hash__(self) -> int:  # dict fields make the generated hash unusable; equal records share an id
        return hash(self.record_id)

    # -- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"record_id", "identity": {...}, <payload fields>}``; JSON data only."""
        out: dict[str, Any] = {"record_id": self.record_id, "identity": self.identity}
        for name in PAYLOAD_FIELDS:
            out[name] = getattr(self, name)
        return out

    def to_json(self) -> str:
        """Canonical JSON of :meth:`to_dict` (one line, as written to JSON Lines files)."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Record":
        """Inverse of :meth:`to_dict`; also accepts a flat dict of all fields.

        A ``record_id`` present in ``data`` must equal the hash of the identity (a mismatch means the
        record was edited or corrupted) and raises :class:`RecordError`.
        """
        if not isinstance(data, Mapping):
            raise RecordError(f"a record must be a JSON object; got {type(data).__name__}.")
        flat: dict[str, Any] = {}
        ident = data.get("identity")
        if ident is not None:
            if not isinstance(ident, Mapping):
                raise RecordError(f"record 'identity' must be an object; got {type(ident).__name__}.")
            flat.update(ident)
        for k, v in data.items():
            if k not in ("identity", "record_id"):
                flat[k] = v
        known = set(IDENTITY_FIELDS) | set(PAYLOAD_FIELDS)
        unknown = sorted(set(flat) - known)
        if unknown:
            raise RecordError(f"record has unknown field(s) {unknown}; expected only {sorted(known)}.")
        missing = [f for f in IDENTITY_FIELDS if f not in flat and f not in ("metric_params", "eval_seed")]
        if missing:
            raise RecordError(f"record is missing identity field(s) {missing}.")
        rec = cls(**flat)
        claimed = data.get("record_id")
        if claimed is not None and claimed != rec.record_id:
            raise RecordError(f"record_id {claimed!r} does not match the hash of its identity ({rec.record_id}); "
                              f"the record was edited or corrupted. Re-export it from the store that measured it.")
        return rec

    @classmethod
    def from_json(cls, text: str) -> "Record":
        """Parse one JSON object (one line of a JSON Lines file)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"record is not valid JSON: {exc}.") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "Record":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)
