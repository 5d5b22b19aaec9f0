"""Submissions: the .npz is validated without unpickling; records are checked and stored all or nothing."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard import RecordError, Store
from leaderboard.submission import SubmissionError, ingest_submission, load_submitted_latents

H = "sha256:" + "5a" * 32


def _npz(path, latents, sample_hash=H, **extra):
    np.savez(path, latents=latents, sample_hash=np.array(sample_hash), **extra)
    return path


def test_valid_file_is_loaded(tmp_path):
    lat = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    sub = load_submitted_latents(_npz(tmp_path / "s.npz", lat), n_samples=50, expected_sample_hash=H)
    assert sub.latents.dtype == np.float64 and sub.latents.shape == (50, 6)
    np.testing.assert_array_equal(sub.latents, lat.astype(np.float64))
    assert sub.sample_hash == H and len(sub.file_sha256) == 64


@pytest.mark.parametrize("make, msg", [
    (lambda p: _npz(p, np.zeros((49, 6))), r"'latents' must have 50 rows .*got shape \(49, 6\)"),
    (lambda p: _npz(p, np.zeros(50)), r"'latents' must be 2D with shape \(n_samples, n_latents\); got shape \(50,\)"),
    (lambda p: _npz(p, np.where(np.arange(300).reshape(50, 6) == 67, np.nan, 0.0)),
     r"contains NaN or infinity \(first at row 11, column 1\)"),
    (lambda p: _npz(p, np.zeros((50, 6)), sample_hash="sha256:other"),
     r"sample_hash 'sha256:other' does not match this dataset's evaluation sample"),
    (lambda p: _npz(p, np.array([["a"] * 6] * 50)), r"'latents' must hold real numbers; got dtype <U1"),
    (lambda p: (np.savez(p, latents=np.zeros((50, 6))), p)[1], r"lacks the array\(s\) \['sample_hash'\]"),
    (lambda p: (p.write_text("not a zip"), p)[1], r"is not an .npz archive"),
    (lambda p: p, r"does not exist"),
])
def test_bad_files_are_refused(tmp_path, make, msg):
    path = make(tmp_path / "s.npz")
    with pytest.raises(SubmissionError, match=msg):
        load_submitted_latents(path, n_samples=50, expected_sample_hash=H)


def test_pickled_object_array_is_never_loaded(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    obj = np.empty(1, dtype=object)
    obj[0] = Evil()
    path = tmp_path / "evil.npz"
    np.savez(path, latents=obj, sample_hash=np.array(H))
    with pytest.raises(SubmissionError, match="contains a pickled object array, which is never loaded"):
        load_submitted_latents(path, n_samples=1, expected_sample_hash=H)
    assert not marker.exists()


def test_ingest_stores_all_records_of_one_submission(tmp_path, rec):
    recs = [rec(model="my-method", metric=m, provenance="submitted-latents", value=0.4) for m in ("mig", "dci", "sap")]
    with Store(tmp_path / "lb.sqlite") as s:
        res = ingest_submission(s, recs, sample_hash=H, expected_sample_hash=H, file_sha256="f" * 64)
        assert res.inserted == 3
        got = s.records(provenance="submitted-latents")
        assert len(got) == 3 and all(r.environment["eval_sample_hash"] == H for r in got)
        assert all(r.environment["submission_sha256"] == "f" * 64 for r in got)
        assert ingest_submission(s, recs, sample_hash=H, expected_sample_hash=H).skipped == 3


@pytest.mark.parametrize("mutate, msg", [
    (lambda recs: [r.replace(provenance="measured") for r in recs], r"has provenance 'measured'; expected one of"),
    (lambda recs: recs[:1] + [recs[1].replace(dataset="other")], r"records differ in \['dataset'\]"),
    (lambda recs: [], "produced no records"),
])
def test_ingest_refuses_bad_submissions_and_stores_nothing(tmp_path, rec, mutate, msg):
    recs = [rec(model="my-method", metric=m, provenance="submitted-latents") for m in ("mig", "dci")]
    with Store(tmp_path / "lb.sqlite") as s:
        with pytest.raises(SubmissionError, match=msg):
            ingest_submission(s, mutate(recs), sample_hash=H, expected_sample_hash=H)
        with pytest.raises(SubmissionError, match="does not match the evaluation sample"):
            ingest_submission(s, recs, sample_hash="sha256:x", expected_sample_hash=H)
        assert s.count() == 0


def test_a_submission_never_shadows_a_measured_result(tmp_path, rec):
    with Store(tmp_path / "lb.sqlite") as s:
        s.write_job([rec(model="qlae", metric="dci")])
        sub = [rec(model="qlae", metric=m, provenance="submitted-latents") for m in ("mig", "dci")]
        with pytest.raises(SubmissionError, match="the name 'qlae' is already on the leaderboard for 'dsprites-procedural' with provenance 'measured'; choose another method name"):
            ingest_submission(s, sub, sample_hash=H, expected_sample_hash=H)
        assert s.count() == 1


def test_other_latents_under_a_stored_identity_are_refused_not_skipped(tmp_path, rec):
    # the CLI printed the new scores while the store kept the old ones
    recs = [rec(model="my-method", metric=m, provenance="submitted-latents", value=0.4) for m in ("mig", "dci")]
    with Store(tmp_path / "lb.sqlite") as s:
        ingest_submission(s, recs, sample_hash=H, expected_sample_hash=H, file_sha256="a" * 64)
        other = [r.replace(value=0.9) for r in recs]
        with pytest.raises(SubmissionError, match=r"'my-method' seed 0 on 'dsprites-procedural' is already stored from "
                                                  r"another submission .*its mig is 0.4, this one's 0.9"):
            ingest_submission(s, other, sample_hash=H, expected_sample_hash=H, file_sha256="b" * 64)
        with pytest.raises(SubmissionError, match="already stored from another submission"):  # same scores, other file
            ingest_submission(s, recs, sample_hash=H, expected_sample_hash=H, file_sha256="b" * 64)
        assert [r.value for r in s.records()] == [0.4, 0.4]
        # a measured model's name is refused whatever the configuration hash of the submission
        s.write_job([rec(model="qlae", metric="dci")])
        sub = [rec(model="qlae", metric="mig", provenance="submitted-latents", model_config_hash="c" * 64)]
        with pytest.raises(SubmissionError, match=r"the name 'qlae' is already on the leaderboard"):
            ingest_submission(s, sub, sample_hash=H, expected_sample_hash=H)
    with pytest.raises(RecordError, match=r"Record.train_seed must lie in \[-2\*\*63, 2\*\*63\); got 1180591620717411303424"):
        rec(train_seed=2**70)
