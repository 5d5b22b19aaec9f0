"""`python -m benchmark leaderboard ...` end to end on a temporary store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.cli import main
from leaderboard import Store


@pytest.fixture
def db(tmp_path, synth):
    path = tmp_path / "lb.sqlite"
    with Store(path) as s:
        s.write_job(synth())
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_prints_both_tables(capsys, db):
    code, out, _ = run(capsys, "leaderboard", "show", "--db", db, "--reps", "200", "--metric", "mig")
    assert code == 0
    assert out.startswith("suite disentanglement · protocol 2026.1 · profile smoke")
    assert "IQM" in out and "rank interval" in out and "3 (<5)" in out and "seed 0" in out
    assert "infom" not in out
    code, out, _ = run(capsys, "leaderboard", "show", "--db", db, "--reps", "50", "--format", "json",
                       "--dataset", "dsprites-procedural")
    rows = json.loads(out)["rows"]
    assert code == 0 and len(rows) == 4 * 3 and {r["dataset"] for r in rows} == {"dsprites-procedural"}


def test_release_reproduces_the_table_after_later_writes(capsys, db, rec):
    man = db + ".manifest.json"
    code, out, _ = run(capsys, "leaderboard", "release", "paper-v1", "--db", db, "--manifest", man)
    assert code == 0 and f"show it with `python -m benchmark leaderboard show --db {db} --release paper-v1`" in out
    manifest = json.loads(open(man, encoding="utf-8").read())
    with Store(db) as s:
        assert manifest["record_ids"] == sorted(r.record_id for r in s.records())
    assert manifest["n_records"] == 108 and manifest["protocols"] == ["disentanglement 2026.1 smoke"]
    assert manifest["aggregation_version"] == "2" and manifest["schema_version"] == 2
    import hashlib
    assert manifest["record_ids_sha256"] == hashlib.sha256("\n".join(manifest["record_ids"]).encode()).hexdigest()
    _, frozen, _ = run(capsys, "leaderboard", "show", "--db", db, "--release", "paper-v1", "--reps", "100")
    with Store(db) as s:
        recs = s.records(model="qlae", metric="mig")
        s.write_job([r.replace(value=0.0) for r in recs], replace=True)
    _, later, _ = run(capsys, "leaderboard", "show", "--db", db, "--release", "paper-v1", "--reps", "100")
    _, live, _ = run(capsys, "leaderboard", "show", "--db", db, "--reps", "100")
    assert later == frozen
    assert live != frozen.replace(" · release paper-v1", "")
    code, _, err = run(capsys, "leaderboard", "release", "paper-v1", "--db", db)
    assert code == 2 and "exists already and releases are immutable" in err


def test_compare_export_import_html(capsys, db, tmp_path):
    code, out, _ = run(capsys, "leaderboard", "compare", "qlae", "ae", "--db", db, "--reps", "100",
                       "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("metric,dataset,model_a,model_b,n_a,n_b,p_improve")
    assert len(out.splitlines()) == 1 + 3 * 3
    code, out, _ = run(capsys, "leaderboard", "export", str(tmp_path / "x.jsonl"), "--db", db, "--model", "qlae")
    assert code == 0 and out.strip() == f"wrote 30 records to {tmp_path / 'x.jsonl'}"
    new = str(tmp_path / "new.sqlite")
    assert run(capsys, "leaderboard", "import", str(tmp_path / "x.jsonl"), "--db", new)[1].strip().endswith(
        "30 new, 0 replaced, 0 already stored")
    assert run(capsys, "leaderboard", "import", str(tmp_path / "x.jsonl"), "--db", new)[1].strip().endswith(
        "0 new, 0 replaced, 30 already stored")
    code, out, _ = run(capsys, "leaderboard", "html", "--db", db, "--out", str(tmp_path / "page.html"),
                       "--reps", "100")
    assert code == 0 and (tmp_path / "page.html").read_text().count("<details>") == 3 * 30 + 18


def test_user_errors_are_one_line_with_exit_status_2(capsys, db, tmp_path, rec):
    code, _, err = run(capsys, "leaderboard", "show", "--db", str(tmp_path / "missing.sqlite"))
    assert code == 2 and err.startswith("error: no leaderboard store at") and "--db PATH" in err
    assert not (tmp_path / "missing.sqlite").exists()
    code, _, err = run(capsys, "leaderboard", "compare", "qlae", "nobody", "--db", db)
    assert code == 2 and "model_b 'nobody' has no successful records" in err
    with Store(db) as s:
        s.write_job([rec(protocol_version="2027.1")])
    code, _, err = run(capsys, "leaderboard", "show", "--db", db)
    assert code == 2 and "a leaderboard table is always for one of them" in err
    code, out, _ = run(capsys, "leaderboard", "show", "--db", db, "--protocol", "2027.1", "--reps", "10")
    assert code == 0 and "protocol 2027.1" in out
    code, _, err = run(capsys, "leaderboard", "show", "--db", db, "--format", "csv", "--view", "both")
    assert code == 2 and "--view both cannot be written as csv" in err
    (tmp_path / "text.sqlite").write_text("hello")
    code, _, err = run(capsys, "leaderboard", "show", "--db", str(tmp_path / "text.sqlite"))
    assert code == 2 and "is not an SQLite database" in err


def test_module_entry_point(db):
    out = subprocess.run([sys.executable, "-m", "benchmark", "leaderboard", "show", "--db", db, "--reps", "20",
                          "--view", "aggregate", "--format", "markdown"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "| metric | rank | model | IQM | 95% CI | rank interval |" in out.stdout


def test_unwritable_output_paths_are_one_line_errors(capsys, db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder must go
    code, _, err = run(capsys, "leaderboard", "plots", "--db", db, "--out", str(blocker / "plots"))
    assert code == 2 and err.startswith(f"error: cannot create the folder '{blocker / 'plots'}' (--out)")
    assert "Pass --out a folder you can write to" in err
    code, _, err = run(capsys, "leaderboard", "html", "--db", db, "--out", str(blocker / "sub" / "page.html"))
    assert code == 2 and f"cannot create the folder '{blocker / 'sub'}' (--out)" in err
    code, _, err = run(capsys, "leaderboard", "release", "v1", "--db", db, "--manifest", str(blocker / "m.json"))
    assert code == 2 and f"cannot create the folder '{blocker}' (--manifest)" in err
    with Store(db) as s:  # checked before freezing: the release can be made once the path is fixed
        assert s.releases() == []
    assert run(capsys, "leaderboard", "release", "v1", "--db", db, "--manifest", str(tmp_path / "m.json"))[0] == 0


def test_outputs_that_would_overwrite_the_store_or_are_folders_are_refused(capsys, db, tmp_path):
    before = open(db, "rb").read()
    for argv in (("export", "--db", db, db), ("html", "--db", db, "--out", db),
                 ("release", "v1", "--db", db, "--manifest", db + "-wal")):
        code, _, err = run(capsys, "leaderboard", *argv)
        assert code == 2 and "is the leaderboard store itself (--db); writing there would destroy it" in err, err
    assert open(db, "rb").read() == before  # the store survived, with no release
    (tmp_path / "folder").mkdir()
    code, _, err = run(capsys, "leaderboard", "release", "v1", "--db", db, "--manifest", str(tmp_path / "folder"))
    assert code == 2 and f"--manifest '{tmp_path / 'folder'}' is a folder; pass the path of a file" in err
    with Store(db) as s:
        assert s.releases() == []  # checked before freezing: the name is not used up


def test_a_damaged_store_is_a_one_line_error(capsys, db, tmp_path):
    raw = bytearray(open(db, "rb").read())
    raw[100:] = bytes(len(raw) - 100)  # valid SQLite header, garbage pages
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(bytes(raw))
    code, _, err = run(capsys, "leaderboard", "show", "--db", str(bad))
    assert code == 2 and err.startswith(f"error: --db '{bad}': SQLite refused the leaderboard store") and \
        "restore it from a release export" in err, err


def test_import_of_a_missing_file_creates_no_store(capsys, tmp_path):
    db = tmp_path / "new" / "lb.sqlite"
    code, _, err = run(capsys, "leaderboard", "import", "--db", str(db), str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl' does not exist (or is not a file)" in err and not (tmp_path / "new").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n\xff\xfe\n")
    code, _, err = run(capsys, "leaderboard", "import", "--db", str(tmp_path / "lb.sqlite"), str(bad))
    assert code == 2 and "bad.jsonl' line 2: not UTF-8 text" in err


def test_a_filter_value_that_matches_nothing_lists_the_stored_values(capsys, db):
    code, out, _ = run(capsys, "leaderboard", "show", "--db", db, "--metric", "migg", "--dataset", "shapes3d-procedural")
    assert code == 0 and out.startswith("no records match these filters.")
    assert "--metric 'migg': not in the store; stored values: 'infoc', 'infom', 'mig'" in out
    assert "--dataset" not in out  # that value exists
