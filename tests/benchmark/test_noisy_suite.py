"""The noisy-label suite end to end: the smoke profile from the command line, its records, claims and figures;
the plan's metrics per method; the paper profile's refusals and its "not run" verdicts without data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import leaderboard
from benchmark.cli import main
from benchmark.suites import get_suite
from benchmark.suites.noisy_labels.suite import metric_names

SUITE = get_suite("noisy-labels")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("noisy-smoke")
    code = main(["run", "--suite", "noisy-labels", "--profile", "smoke", "--out", str(out), "--jobs", "2",
                 "--device", "cpu", "--no-progress"])
    with leaderboard.Store(out / "leaderboard.sqlite") as store:
        records = store.records(suite="noisy-labels", profile="smoke")
    return out, code, records


def test_smoke_run_stores_every_planned_record(smoke, capsys):
    out, code, records = smoke
    assert code == 0
    jobs = SUITE.plan("smoke")
    assert len(jobs) == 7 and {j.model for j in jobs} == set(SUITE.models)
    assert sorted(r.record_id for r in records) == sorted(i for j in jobs for i in j.record_ids())
    assert all(r.status == "ok" and np.isfinite(r.value) for r in records)
    by = {(r.model, r.metric): r for r in records}
    assert ("elr", "mislabel_auc") in by and ("coteaching", "mislabel_auc") not in by
    assert ("nested_coteaching", "selection_precision") in by and ("nested", "best_width") in by
    for r in records:
        assert r.metric_params == {"selection": "clean_val"}
        if r.metric in ("test_acc", "test_acc_last"):
            assert 0 <= r.value <= 100
    test_acc = by[("ce", "test_acc")]
    curve = test_acc.components["test_acc"]
    assert len(curve) == 2 and test_acc.value == curve[test_acc.components["selected_epoch"] - 1]
    assert by[("ce", "accuracy_drop")].value == pytest.approx(max(curve) - by[("ce", "test_acc_last")].value)
    run_dirs = list((out / "runs" / "smoke").glob("twin-smoke/*/seed0-*/plots/curves.png"))
    assert len(run_dirs) == 7
    assert (out / "plots" / "noisy-labels" / "smoke" / "twin-smoke.png").is_file()


def test_a_second_run_trains_nothing(smoke, capsys):
    out, _, _ = smoke
    assert main(["run", "--suite", "noisy-labels", "--profile", "smoke", "--out", str(out), "--jobs", "1",
                 "--device", "cpu", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "0 trained, 7 already stored, 0 failed" in printed
    assert "ce accuracy_drop above 0" in printed and "coteaching test_acc better than ce test_acc_last" in printed
    assert "Figures of this run:" in printed


def test_smoke_claims_are_not_shown_with_one_seed(smoke):
    _, _, records = smoke
    verdicts = leaderboard.check_claims(records, SUITE.claims("smoke"), reps=200)
    assert [v.status for v in verdicts] == ["not shown"] * 5
    assert "at least 2 needed" in verdicts[0].datasets[0].reason


def test_planned_metrics_follow_the_method_and_what_is_known_of_the_noise():
    assert metric_names("ce", True) == ("test_acc", "test_acc_last", "accuracy_drop", "memorised", "feature_hoyer",
                                        "participation_ratio")
    assert "selection_precision" in metric_names("coteaching", True)
    assert "mislabel_auc" in metric_names("elr_plus", True) and "mislabel_auc" not in metric_names("elr_plus", False)
    assert metric_names("nested", False)[-1] == "best_width" and "memorised" not in metric_names("nested", False)
    quick = SUITE.plan("quick")
    assert len(quick) == 28 and {j.dataset for j in quick} == {"twin-sym-40", "twin-asym-40"}
    assert len({j.job_id for j in quick}) == 28
    assert {j.dataset_hash for j in quick if j.dataset == "twin-sym-40"} != \
        {j.dataset_hash for j in quick if j.dataset == "twin-asym-40"}


def test_paper_recipes_need_imagenet_weights_and_say_how_to_get_them(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"resnet18=PATH.*torchvision.models.resnet18\(weights='IMAGENET1K_V1'\)"):
        SUITE.plan("paper", datasets=("clothing1m",), models=("nested",))
    with pytest.raises(ValueError, match="name the backbone of each file"):
        SUITE.plan("paper", datasets=("clothing1m",), weights=[str(tmp_path / "w.pth")])
    with pytest.raises(ValueError, match="no such file"):
        SUITE.plan("paper", datasets=("clothing1m",), models=("nested",), weights=[str(tmp_path / "w.pth")])
    assert main(["run", "--suite", "noisy-labels", "--profile", "paper", "--datasets", "clothing1m",
                 "--models", "nested", "--out", str(tmp_path / "o")]) == 2
    assert "pass --weights resnet18=PATH" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing is created before the arguments are valid


def test_a_torchvision_state_dict_is_loaded_into_the_paper_backbone(tmp_path):
    import torchvision

    from benchmark.suites.noisy_labels.profiles import PROFILES
    from benchmark.suites.noisy_labels.training import build_network

    torch.manual_seed(0)
    reference = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    recipe = PROFILES["paper"].recipe_for("clothing1m", "nested")
    net = build_network(recipe, 14, "nested", weights=str(path))
    assert torch.equal(net.backbone.conv1.weight, reference.conv1.weight)
    assert net.classifier.bias is None and net.classifier.out_features == 14
    net.train()  # the recipe freezes batch norm: it stays in eval mode
    assert not any(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_paper_claims_are_not_run_without_the_data():
    verdicts = leaderboard.check_claims([], SUITE.claims("paper"), reps=200)
    assert len(verdicts) == 8 and {v.status for v in verdicts} == {"not run"}
    described = [v.describe() for v in verdicts]
    assert "nested_coteaching test_acc within [74.7, 75.1]" in described
    assert "elr test_acc within [90.16, 92.16]" in described


def test_unknown_settings_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"its settings: twin-sym-40, twin-asym-40"):
        SUITE.plan("quick", datasets=("cifar11",))


def test_show_compare_and_the_html_page_work_for_the_suite(smoke, capsys):
    out, _, _ = smoke
    db = str(out / "leaderboard.sqlite")
    assert main(["leaderboard", "show", "--db", db, "--suite", "noisy-labels", "--metric", "test_acc"]) == 0
    shown = capsys.readouterr().out
    assert "nested_coteaching" in shown and "twin-smoke" in shown
    assert main(["leaderboard", "compare", "elr", "ce", "--db", db, "--suite", "noisy-labels",
                 "--metric", "test_acc"]) == 0
    assert "elr" in capsys.readouterr().out
    page = out / "page.html"
    assert main(["leaderboard", "html", "--db", db, "--out", str(page)]) == 0
    html = page.read_text()
    assert "noisy-labels" in html and "accuracy_drop above 0" in html  # its section, with its value claim


def test_a_setting_whose_files_are_missing_is_refused_before_any_job(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_DATA", str(tmp_path))
    with pytest.raises(ValueError, match=r"cifar10-sym-40: .*cifar"):
        SUITE.plan("paper", datasets=("cifar10-sym-40",), models=("elr",))
