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
    assert "| metric | rank interval | model | IQM | 95% CI | tied with | shared rank |" in out.stdout


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


def test_a_filter_value_that_is_not_stored_is_an_error_listing_the_stored_values(capsys, db):
    # it printed "no records match these filters." and exited 0
    code, out, err = run(capsys, "leaderboard", "show", "--db", db, "--metric", "migg", "--dataset",
                         "shapes3d-procedural")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--metric 'migg': not in the store; stored values: 'infoc', 'infom', 'mig'" in err
    assert "correct the spelling or drop the value" in err
    assert "--dataset" not in err  # that value exists
    code, _, err = run(capsys, "leaderboard", "show", "--db", db, "--profile", "quik")
    assert code == 2 and "--profile 'quik': not in the store; stored values: 'smoke'" in err


def test_one_misspelt_value_among_stored_ones_is_refused(capsys, db):
    # "mig" alone matches: "migg" must not be dropped silently
    code, out, err = run(capsys, "leaderboard", "show", "--db", db, "--metric", "mig", "--metric", "migg",
                         "--reps", "10")
    assert code == 2 and out == "" and "--metric 'migg': not in the store" in err and "'mig':" not in err


def test_stored_values_whose_combination_matches_nothing_are_an_error(capsys, db, rec):
    with Store(db) as s:
        s.write_job([rec(model="solo", model_config_hash="cfg-solo", dataset="solo-data")])
    code, out, err = run(capsys, "leaderboard", "show", "--db", db, "--model", "solo", "--dataset",
                         "shapes3d-procedural")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert ("every value named is stored, but no record has the combination --dataset 'shapes3d-procedural' "
            "--model 'solo'") in err
    assert "not in the store" not in err
    # one value of a list that matches is enough: the selection is not empty
    code, out, _ = run(capsys, "leaderboard", "show", "--db", db, "--model", "solo", "ae", "--dataset", "solo-data",
                       "shapes3d-procedural", "--reps", "10", "--view", "aggregate")
    assert code == 0 and "solo" in out and "ae" in out


@pytest.mark.parametrize("action", [("compare", "qlae", "ae"), ("export", "{tmp}/x.jsonl"),
                                    ("html", "--out", "{tmp}/page.html"), ("plots", "--out", "{tmp}/plots")])
def test_every_filtering_action_refuses_a_filter_that_matches_nothing(capsys, db, rec, tmp_path, action):
    argv = [a.format(tmp=tmp_path) for a in action] + ([] if action[0] == "export" else ["--reps", "10"])
    with Store(db) as s:
        s.write_job([rec(model="solo", model_config_hash="cfg-solo", dataset="solo-data")])
    code, out, err = run(capsys, "leaderboard", *argv, "--db", db, "--profile", "quik")
    assert code == 2 and out == "" and "--profile 'quik': not in the store; stored values: 'smoke'" in err
    code, out, err = run(capsys, "leaderboard", *argv, "--db", db, "--dataset", "solo-data", "--metric", "infom")
    assert code == 2 and out == "", out
    assert "no record has the combination --metric 'infom' --dataset 'solo-data'" in err
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "page.html").exists()
    assert not (tmp_path / "plots").exists() or not any((tmp_path / "plots").iterdir())


def test_a_combination_missing_from_the_release_names_the_release(capsys, db, rec):
    assert run(capsys, "leaderboard", "release", "v1", "--db", db)[0] == 0
    with Store(db) as s:  # stored after the release: in the store, not in v1
        s.write_job([rec(model="late", model_config_hash="cfg-late")])
    code, _, err = run(capsys, "leaderboard", "show", "--db", db, "--release", "v1", "--model", "late")
    assert code == 2 and "no record of release 'v1' has the combination --model 'late'" in err


@pytest.mark.parametrize("option, values, column", [("--metric", ("infom", "infoc"), "metric"),
                                                     ("--dataset", ("dsprites-procedural", "shapes3d-procedural"),
                                                      "dataset"),
                                                     ("--model", ("qlae", "ae"), "model")])
def test_filters_take_several_values_after_one_flag_or_the_flag_repeated(capsys, db, option, values, column):
    # "--metric infom infoc" failed with "unrecognized arguments: infoc"
    base = ["leaderboard", "show", "--db", db, "--reps", "10", "--format", "json"]
    code, one_flag, err = run(capsys, *base, option, *values)
    assert code == 0, err
    code, repeated, err = run(capsys, *base, *[x for v in values for x in (option, v)])
    assert code == 0, err
    assert one_flag == repeated
    assert {r[column] for r in json.loads(one_flag)["rows"]} == set(values)


def test_compare_takes_several_metrics_after_one_flag_from_the_shell(db):
    outs = []
    for metric_args in (["--metric", "infom", "infoc"], ["--metric", "infom", "--metric", "infoc"]):
        out = subprocess.run([sys.executable, "-m", "benchmark", "leaderboard", "compare", "qlae", "ae", "--db", db,
                              "--reps", "20", "--format", "csv", *metric_args], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1]
    assert {line.split(",")[0] for line in outs[0].splitlines()[1:]} == {"infom", "infoc"}
