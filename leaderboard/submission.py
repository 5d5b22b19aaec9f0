"""Validated ingestion of submissions: latents on the fixed evaluation sample, metrics recomputed here.

The flow of ``python -m benchmark submit`` (wired in ``benchmark``):

1. :func:`load_submitted_latents` reads the submitter's ``.npz`` with ``allow_pickle=False`` and
   checks its shape, dtype, finiteness and the evaluation-sample hash;
2. the suite computes every metric itself on those latents;
3. :func:`ingest_submission` checks the resulting records and stores them in one transaction.

Anything wrong raises :class:`SubmissionError` naming the file or record, and nothing is stored.

Submission file format (``.npz``): ``latents`` float array of shape ``(n_samples, n_latents)``
(the representation of every input of the evaluation sample, in the sample's order) and
``sample_hash``, a 0-d string array copied from the file written by
``python -m benchmark eval-sample NAME --out FILE.npz``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .records import Record
from .store import JobResult, Store

__all__ = ["SubmissionError", "SubmittedLatents", "load_submitted_latents", "ingest_submission",
           "SUBMITTED_PROVENANCES"]

SUBMITTED_PROVENANCES = ("submitted-latents", "submitted-encoder")


class SubmissionError(ValueError):
    """A submission was refused; the message names the file or record and what to fix. Nothing is stored."""


@dataclasses.dataclass(frozen=True)
class SubmittedLatents:
    """A validated submission file: ``latents`` (N, L) float64, its ``sample_hash`` and file hash."""

    latents: np.ndarray
    sample_hash: str
    file_sha256: str
    path: str


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_latent_array(latents: np.ndarray, what: str, *, n_samples: int, max_latents: int = 4096) -> np.ndarray:
    """``latents`` as float64 (n_samples, n_latents) after the checks every submission passes, or SubmissionError.

    Real numbers only (not bool, complex, strings or objects), 2D with ``n_samples`` rows and 1 to
    ``max_latents`` columns (a guard against a transposed array), finite. ``what`` names the array.
    """
    if latents.dtype.kind not in "fiu":
        raise SubmissionError(f"{what} must hold real numbers; got dtype {latents.dtype}.")
    if latents.ndim != 2:
        raise SubmissionError(f"{what} must be 2D with shape (n_samples, n_latents); got shape {latents.shape}.")
    if latents.shape[0] != n_samples:
        raise SubmissionError(f"{what} must have {n_samples} rows (one per input of the evaluation sample); got "
                              f"shape {latents.shape}.")
    if not 1 <= latents.shape[1] <= max_latents:
        raise SubmissionError(f"{what} must have between 1 and {max_latents} columns; got shape {latents.shape}.")
    lat = latents.astype(np.float64)
    bad = np.argwhere(~np.isfinite(lat))
    if bad.size:
        raise SubmissionError(f"{what} contains NaN or infinity (first at row {int(bad[0, 0])}, "
                              f"column {int(bad[0, 1])}).")
    return lat


def load_submitted_latents(path: str | os.PathLike[str], *, n_samples: int, expected_sample_hash: str,
                           max_latents: int = 4096) -> SubmittedLatents:
    """Read and validate a submission ``.npz`` (never unpickles anything).

    Parameters
    ----------
    path : path of the ``.npz`` file.
    n_samples : int
        Rows of the dataset's evaluation sample; ``latents`` must have exactly this many rows.
    expected_sample_hash : str
        Hash of the dataset's evaluation sample; the file's ``sample_hash`` must equal it.
    max_latents : int, default 4096
        Upper bound on the latent width (guards against a transposed array).

    Raises
    ------
    SubmissionError
        Missing file, not an ``.npz``, a pickled/object array, missing keys, wrong shape or dtype,
        NaN/infinity, or a sample-hash mismatch.
    """
    p = Path(path)
    where = f"submission file {str(p)!r}"
    if not p.is_file():
        raise SubmissionError(f"{where} does not exist (or is not a file); expected an .npz with 'latents' "
                              f"and 'sample_hash'.")
    if not zipfile.is_zipfile(p):
        raise SubmissionError(f"{where} is not an .npz archive; write it with numpy.savez(path, latents=..., "
                              f"sample_hash=...).")
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = sorted({"latents", "sample_hash"} - keys)
            if missing:
                raise SubmissionError(f"{where} lacks the array(s) {missing}; found {sorted(keys)}. Expected "
                                      f"'latents' (n_samples, n_latents) and 'sample_hash' from "
                                      f"`python -m benchmark eval-sample`.")
            latents = npz["latents"]
            sample_hash = npz["sample_hash"]
            if not isinstance(latents, np.ndarray) or not isinstance(sample_hash, np.ndarray):
                raise SubmissionError(f"{where}: 'latents' and 'sample_hash' must be .npy arrays inside the .npz; "
                                      f"write the file with numpy.savez(path, latents=..., sample_hash=...).")
    except SubmissionError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise SubmissionError(f"{where} contains a pickled object array, which is never loaded "
                                  f"(allow_pickle=False); save plain numeric arrays and a string sample_hash.") from None
        raise SubmissionError(f"{where} cannot be read as .npz: {exc}.") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise SubmissionError(f"{where} cannot be read as .npz: {exc}.") from None
    if sample_hash.dtype.kind not in "US" or sample_hash.ndim != 0:
        raise SubmissionError(f"{where}: 'sample_hash' must be a 0-d string array; got dtype {sample_hash.dtype} "
                              f"and shape {sample_hash.shape}.")
    try:
        found_hash = str(sample_hash.item() if sample_hash.dtype.kind == "U" else sample_hash.item().decode("utf-8"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{where}: 'sample_hash' is not text; copy it unchanged from the file written by "
                              f"`python -m benchmark eval-sample`.") from None
    if found_hash != expected_sample_hash:
        raise SubmissionError(f"{where}: sample_hash {found_hash!r} does not match this dataset's evaluation sample "
                              f"{expected_sample_hash!r}; encode the sample written by `python -m benchmark "
                              f"eval-sample` for this dataset and protocol.")
    lat = check_latent_array(latents, f"{where}: 'latents'", n_samples=n_samples, max_latents=max_latents)
    return SubmittedLatents(lat, found_hash, _file_sha256(p), str(p))


def ingest_submission(store: Store, records: Iterable[Record], *, sample_hash: str,
                      expected_sample_hash: str, file_sha256: str | None = None) -> JobResult:
    """Check the records computed from one submission and store them in one transaction.

    Requirements: at least one record; every record has provenance ``submitted-latents`` or
    ``submitted-encoder``; all share one (suite, protocol_version, profile, dataset, dataset_hash,
    model, model_config_hash, train_seed); ``sample_hash == expected_sample_hash``; no record's
    model name is already stored for the dataset with another provenance (a submission never shadows a
    measured result, nor the reverse: choose another ``--name``); a record already stored under the same
    identity must come from the same submission (same values and file). Each record's ``environment`` gains
    ``eval_sample_hash`` (and ``submission_sha256`` when given).

    Returns
    -------
    JobResult
        A resubmission of the same latents skips the existing records.
    """
    recs = list(records)
    if not recs:
        raise SubmissionError("the submission produced no records; nothing is stored.")
    for i, r in enumerate(recs):
        if not isinstance(r, Record):
            raise SubmissionError(f"submission record {i} must be a leaderboard.Record; got {type(r).__name__}.")
        if r.provenance not in SUBMITTED_PROVENANCES:
            raise SubmissionError(f"submission record {i} (metric {r.metric!r}) has provenance {r.provenance!r}; "
                                  f"expected one of {SUBMITTED_PROVENANCES}.")
    if sample_hash != expected_sample_hash:
        raise SubmissionError(f"sample_hash {sample_hash!r} does not match the evaluation sample "
                              f"{expected_sample_hash!r}; nothing is stored.")
    keys = ("suite", "protocol_version", "profile", "dataset", "dataset_hash", "model", "model_config_hash",
            "train_seed")
    first = recs[0]
    for r in recs[1:]:
        diff = [k for k in keys if getattr(r, k) != getattr(first, k)]
        if diff:
            raise SubmissionError(f"one submission covers one model on one dataset; records differ in {diff} "
                                  f"({getattr(first, diff[0])!r} vs {getattr(r, diff[0])!r}).")
    stamped = []
    for r in recs:
        env = dict(r.environment, eval_sample_hash=sample_hash)
        if file_sha256:
            env["submission_sha256"] = file_sha256
        stamped.append(r.replace(environment=env))
    # One name means one method: a name already stored with another provenance (a measured model, or
    # latents where an encoder was submitted) is refused, whatever its configuration hash.
    for old in store.records(suite=first.suite, protocol_version=first.protocol_version, profile=first.profile,
                             dataset=first.dataset, model=first.model):
        if old.provenance != first.provenance:
            raise SubmissionError(f"the name {first.model!r} is already on the leaderboard for {first.dataset!r} with "
                                  f"provenance {old.provenance!r}; choose another method name with --name.")
    # A resubmission of the same latents changes nothing; different latents under a stored identity
    # would be skipped silently while their scores were printed, so they are refused.
    for r in stamped:
        for old in store.records(record_id=r.record_id):
            old_sha, new_sha = old.environment.get("submission_sha256"), r.environment.get("submission_sha256")
            if old.value != r.value or old.status != r.status or (old_sha and new_sha and old_sha != new_sha):
                raise SubmissionError(f"{r.model!r} seed {r.train_seed} on {r.dataset!r} is already stored from another "
                                      f"submission (another file, or other values: its {r.metric} is {old.value!r}, "
                                      f"this one's {r.value!r}); nothing is stored. Submit it under another --seed "
                                      f"or --name.")
    return store.write_job(stamped)
