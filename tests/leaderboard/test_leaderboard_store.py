"""Store: jobs, dedup/replace, filters, versioned tables, releases, JSON Lines, schema versions, hostile names."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3

import pytest

from leaderboard import RecordError, SchemaVersionError, Store, StoreError, VersionMixError
from leaderboard.store import _SCHEMA_V1, SCHEMA_VERSION

HOSTILE = [
    "Robert'); DROP TABLE records;--",
    "x\" OR \"1\"=\"1",
    "../../etc/passwd",
    "..\\..\\windows\\system32",
    "/tmp/evil",
    "名前 ünïcödé 🧪 ∑",
    "<script>alert(1)</script>",
    "x\" onmouseover=\"alert(1)",
    "a|b|c",
    "line\nbreak",
]


def test_write_job_inserts_then_skips_the_same_measurement(tmp_path, rec):
    with Store(tmp_path / "lb.sqlite") as s:
        recs = [rec(train_seed=i, value=i / 10) for i in range(3)]
        r1 = s.write_job(recs)
        r2 = s.write_job([rec(train_seed=0, value=0.99)])
        assert (r1.inserted, r1.skipped) == (3, 0)
        assert (r2.inserted, r2.replaced, r2.skipped) == (0, 0, 1)
        assert s.count() == 3
        assert s.records(train_seed=0)[0].value == 0.0  # not replaced unless asked
        r3 = s.write_job([rec(train_seed=0, value=0.99)], replace=True)
        assert (r3.inserted, r3.replaced) == (0, 1)
        assert s.records(train_seed=0)[0].value == 0.99
        assert s.has(recs[1].record_id) and not s.has("0" * 64)
        assert s.verify() == []


def test_write_job_is_all_or_nothing(tmp_path, rec, monkeypatch):
    with Store(tmp_path / "lb.sqlite") as s:
        s.write_job([rec(train_seed=100)])
        bad = [rec(train_seed=1).to_dict(), {**rec(train_seed=2).to_dict(), "value": "high"}]
        with pytest.raises(RecordError, match=r"write_job: record 1: Record.value must be a float or None"):
            s.write_job(bad)
        calls = {"n": 0}
        orig = Store._write_one

        def failing(self, r, job_id, replace):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk vanished")
            return orig(self, r, job_id, replace)

        monkeypatch.setattr(Store, "_write_one", failing)
        with pytest.raises(OSError, match="disk vanished"):
            s.write_job([rec(train_seed=i) for i in range(5)])
        monkeypatch.undo()
        assert s.count() == 1
        assert s.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1


def test_duplicate_ids_with_different_payloads_in_one_job(tmp_path, rec):
    with Store(tmp_path / "lb.sqlite") as s:
        with pytest.raises(StoreError, match="appears twice in one job with different payloads"):
            s.write_job([rec(value=0.1), rec(value=0.2)])
        with pytest.raises(StoreError, match="takes a list of records; got a single Record"):
            s.write_job(rec())


def test_filters_and_versioned_tables(tmp_path, rec):
    with Store(tmp_path / "lb.sqlite") as s:
        s.write_job([rec(train_seed=i, metric=m) for i in range(2) for m in ("mig", "dci")])
        s.write_job([rec(protocol_version="2027.1")])
        assert s.count(metric="mig") == 3
        assert s.count(metric=["mig", "dci"], protocol_version="2026.1") == 4
        assert {r.metric for r in s.records(protocol_version="2026.1", train_seed=1)} == {"mig", "dci"}
        with pytest.raises(VersionMixError, match=r"2 \(suite, protocol version, profile\) combinations .*"
                                                  r"protocol='2026.1'.*protocol='2027.1'"):
            s.table()
        with pytest.raises(VersionMixError, match=r"2 \(suite, protocol version, profile\) combinations"):
            s.protocol_records()
        assert [r.record_id for r in s.protocol_records(protocol_version="2026.1")] == \
            [r.record_id for r in s.records(protocol_version="2026.1")]
        df = s.table(protocol_version="2026.1")
        assert len(df) == 4 and set(df["protocol_version"]) == {"2026.1"}
        assert df["metric_params"].iloc[0] == '{"n_bins":20}'
        with pytest.raises(StoreError, match="unknown record filter 'colour'"):
            s.records(colour="red")
        with pytest.raises(StoreError, match="status filter must be among"):
            s.records(status="great")


def test_release_is_immutable_and_reproduces_exactly(tmp_path, rec):
    with Store(tmp_path / "lb.sqlite") as s:
        s.write_job([rec(train_seed=i, value=0.1 * i) for i in range(4)])
        info = s.release("v1.0")
        assert info["n_records"] == 4
        frozen = [r.to_dict() for r in s.release_records("v1.0")]
        s.write_job([rec(train_seed=0, value=0.77)], replace=True)
        s.write_job([rec(train_seed=9)])
        assert [r.to_dict() for r in s.release_records("v1.0")] == frozen
        assert s.table(release="v1.0")["value"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])
        assert s.count() == 5
        with pytest.raises(StoreError, match="release 'v1.0' exists already and releases are immutable"):
            s.release("v1.0")
        with pytest.raises(StoreError, match=r"no release named 'v9' .* releases: \['v1.0'\]"):
            s.release_records("v9")
        with pytest.raises(StoreError, match="would be empty"):
            s.release("v2", metric="nothing")
        for sql in ("UPDATE release_records SET body = '{}'", "DELETE FROM release_records",
                    "DELETE FROM releases", "UPDATE releases SET n_records = 0"):
            with pytest.raises(sqlite3.IntegrityError, match="releases are immutable"):
                s.conn.execute(sql)
        assert s.release("v1.1", train_seed=[0, 9])["n_records"] == 2
        assert [r["name"] for r in s.releases()] == ["v1.0", "v1.1"]


def test_jsonl_round_trip_is_idempotent_and_stable(tmp_path, rec):
    a = tmp_path / "a.sqlite"
    with Store(a) as s:
        s.write_job([rec(train_seed=i, components={"pf": [0.1, i]}) for i in range(5)])
        assert s.export_jsonl(tmp_path / "x.jsonl") == 5
        s.export_jsonl(tmp_path / "y.jsonl")
        original = {r.record_id: r for r in s.records()}
    assert (tmp_path / "x.jsonl").read_bytes() == (tmp_path / "y.jsonl").read_bytes()
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert [json.loads(x)["record_id"] for x in lines] == sorted(original)
    with Store(tmp_path / "b.sqlite") as s:
        first = s.import_jsonl(tmp_path / "x.jsonl")
        second = s.import_jsonl(tmp_path / "x.jsonl")
        assert (first.inserted, second.inserted, second.skipped) == (5, 0, 5)
        assert {r.record_id: r for r in s.records()} == original


def test_import_refuses_a_corrupted_line_and_stores_nothing(tmp_path, rec):
    with Store(tmp_path / "a.sqlite") as s:
        s.write_job([rec(train_seed=i) for i in range(3)])
        s.export_jsonl(tmp_path / "x.jsonl")
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    d = json.loads(lines[2])
    d["identity"]["model"] = "better-model"
    lines[2] = json.dumps(d)
    (tmp_path / "x.jsonl").write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "b.sqlite") as s:
        with pytest.raises(RecordError, match=r"x.jsonl' line 3: record_id .* does not match"):
            s.import_jsonl(tmp_path / "x.jsonl")
        assert s.count() == 0
        with pytest.raises(StoreError, match="import file .* does not exist"):
            s.import_jsonl(tmp_path / "missing.jsonl")


def test_not_a_store(tmp_path):
    p = tmp_path / "notes.sqlite"
    p.write_text("hello, I am a text file")
    with pytest.raises(StoreError, match="is not an SQLite database"):
        Store(p)
    with pytest.raises(StoreError, match="is a folder; expected an SQLite file"):
        Store(tmp_path)
    q = tmp_path / "other.sqlite"
    c = sqlite3.connect(q)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    before = hashlib.sha256(q.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match=r"not a leaderboard store .*tables \['t'\]"):
        Store(q)
    assert hashlib.sha256(q.read_bytes()).hexdigest() == before  # not even switched to WAL


def test_newer_schema_is_refused_and_the_file_left_alone(tmp_path):
    p = tmp_path / "future.sqlite"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE records (record_id TEXT PRIMARY KEY, fancy BLOB)")
    c.execute("PRAGMA user_version = 99")
    c.commit()
    c.close()
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(SchemaVersionError, match=rf"schema version 99, written by a newer version of the benchmark "
                                                 rf"suite; this version reads schema versions 1 to {SCHEMA_VERSION}\. "
                                                 rf"Upgrade the suite"):
        Store(p)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["future.sqlite"]


def _write_v1(path, records, source="measured"):
    c = sqlite3.connect(path)
    for stmt in _SCHEMA_V1.split(";\n"):
        if stmt.strip():
            c.execute(stmt)
    for r in records:
        d = r.to_dict()
        payload = {k: d[k] for k in ("value", "components", "status", "error", "environment", "timing")}
        payload["source"] = source
        c.execute("INSERT INTO records VALUES (?, ?, ?, ?)",
                  (r.record_id, json.dumps(d["identity"]), json.dumps(payload), r.created_at))
    c.commit()
    c.close()


def test_version_1_store_is_migrated_after_a_backup(tmp_path, rec):
    p = tmp_path / "old.sqlite"
    old = [rec(train_seed=i, value=0.1 * i, components={"pf": [i]}) for i in range(3)]
    _write_v1(p, old, source="submitted")
    with Store(p) as s:
        assert s.backup_path is not None and s.backup_path.exists()
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        got = s.records()
        assert [r.record_id for r in got] == [r.record_id for r in old]
        assert [r.value for r in got] == [r.value for r in old]
        assert {r.provenance for r in got} == {"submitted-latents"}
        assert s.verify() == []
        s.write_job([rec(train_seed=7)])
        s.release("after-migration")
        backup = s.backup_path
    b = sqlite3.connect(backup)
    assert b.execute("PRAGMA user_version").fetchone()[0] == 1
    rows = b.execute("SELECT record_id, payload FROM records ORDER BY record_id").fetchall()
    assert [r[0] for r in rows] == sorted(r.record_id for r in old)
    assert all(json.loads(r[1])["source"] == "submitted" for r in rows)
    b.close()
    with Store(p) as s:  # already current: no second backup
        assert s.backup_path is None and s.count() == 4
    assert len(list(tmp_path.glob("old.sqlite.schema-v1.*.backup"))) == 1


def test_failed_migration_rolls_back(tmp_path, rec):
    p = tmp_path / "old.sqlite"
    _write_v1(p, [rec()], source="rumour")
    for _ in range(3):  # every open fails the same way and leaves no backup copy behind (one piled up per open)
        with pytest.raises(StoreError, match="unknown source 'rumour'.*The store file is unchanged"):
            Store(p)
    assert list(tmp_path.glob("old.sqlite.schema-v1.*.backup")) == []
    c = sqlite3.connect(p)
    assert c.execute("PRAGMA user_version").fetchone()[0] == 1
    assert c.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 1
    c.close()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_stored_verbatim_and_never_executed(tmp_path, rec, name):
    db = tmp_path / "lb.sqlite"
    with Store(db) as s:
        r = rec(model=name, dataset=name, metric=name, suite=name, metric_params={name: name})
        s.write_job([r])
        s.write_job([rec()])
        got = s.records(model=name)
        assert len(got) == 1 and got[0] == r
        assert got[0].model == name and got[0].metric_params == {name: name}
        assert s.count() == 2  # the records table survived
        assert s.table(suite=name)["model"].tolist() == [name]
        s.release(name, model=name)
        assert s.release_records(name) == [r]
        s.export_jsonl(tmp_path / "out.jsonl", model=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lb.sqlite", "lb.sqlite-shm", "lb.sqlite-wal", "out.jsonl"] \
        or sorted(p.name for p in tmp_path.iterdir()) == ["lb.sqlite", "out.jsonl"]
    with Store(tmp_path / "b.sqlite") as s:
        s.import_jsonl(tmp_path / "out.jsonl")
        assert s.records()[0].model == name


@contextlib.contextmanager
def _read_only_folder(folder):
    """Make ``folder`` unwritable for this process: chmod for a normal user; root ignores modes, so chattr +i."""
    import os
    import subprocess

    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = lambda: folder.chmod(0o755)  # noqa: E731
    else:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a folder read-only for root here: {done.stderr.strip()}")
        undo = lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)  # noqa: E731
    try:
        assert not os.access(folder, os.W_OK)
        yield folder
    finally:
        undo()


def test_a_store_in_a_read_only_folder_is_read_and_refuses_writes(tmp_path, rec, capsys):
    from benchmark.cli import main

    folder = tmp_path / "published"
    folder.mkdir()
    path = folder / "lb.sqlite"
    stored = [rec(train_seed=i, value=0.1 * i) for i in range(3)]
    with Store(path) as s:
        s.write_job(stored)
        s.release("v1")
    assert sorted(p.name for p in folder.iterdir()) == ["lb.sqlite"]  # WAL files are gone after a clean close
    before = path.read_bytes()
    with _read_only_folder(folder):
        with Store(path) as s:  # SQLite alone cannot open it: WAL mode wants to create lb.sqlite-shm here
            assert s.readonly
            assert sorted(r.record_id for r in s.records()) == sorted(r.record_id for r in stored)
            assert len(s.release_records("v1")) == 3 and s.verify() == []
            with pytest.raises(StoreError, match=r"cannot write records: the store .*lb.sqlite' is open read-only"):
                s.write_job([rec(train_seed=9)])
            with pytest.raises(StoreError, match=r"cannot freeze release 'v2': .* is open read-only"):
                s.release("v2")
        assert main(["leaderboard", "show", "--db", str(path)]) == 0
        assert "mig" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_readonly_store_in_a_writable_folder(tmp_path, rec):
    path = tmp_path / "lb.sqlite"
    with pytest.raises(StoreError, match=r"no leaderboard store at .*lb.sqlite' to open read-only"):
        Store(path, readonly=True)
    assert not path.exists()
    with Store(path) as s:
        s.write_job([rec()])
    with Store(path, readonly=True) as s:
        assert s.count() == 1
        with pytest.raises(StoreError, match="is open read-only"):
            s.write_job([rec(train_seed=1)])
    with Store(path) as s:
        assert not s.readonly and s.count() == 1
    _write_v1(tmp_path / "old.sqlite", [rec()], source="measured")
    with pytest.raises(StoreError, match=r"has schema version 1, which needs migrating to 2; copy it to a folder"):
        Store(tmp_path / "old.sqlite", readonly=True)
