"""Plots and the HTML page (static checks; the browser test is in test_leaderboard_browser.py)."""

from __future__ import annotations

import base64
import html as _html
import re
import subprocess
import sys

import pytest

import leaderboard as lb
from leaderboard.html import render_html, write_html
from leaderboard.plots import figure_png, find_info_metrics, info_plane_figure, safe_filename, write_plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_write_plots_makes_every_figure_with_safe_names(tmp_path, synth, rec):
    hostile = "../../escape/me"
    recs = synth() + [rec(model="m", metric=hostile, value=0.2, train_seed=i) for i in range(2)]
    out = tmp_path / "plots"
    paths = write_plots(recs, out, reps=100)
    names = sorted(p.name for p in paths)
    # 4 metrics x (interval + profile) + the InfoM/InfoC plane
    assert len(paths) == 9 and all(p.parent == out for p in paths)
    assert all(re.fullmatch(r"[a-z-]+-[A-Za-z0-9-]+-[0-9a-f]{8}\.png", n) for n in names)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["plots"]
    assert all(p.read_bytes().startswith(PNG) for p in paths)
    assert safe_filename("intervals", hostile) == f"intervals-escape-me-{__import__('hashlib').sha256(hostile.encode()).hexdigest()[:8]}.png"


def test_info_plane_metric_names():
    assert find_info_metrics({"InfoM", "InfoC", "mig"}) == ("InfoM", "InfoC")
    assert find_info_metrics({"infomec.infom", "infomec/infoc"}) == ("infomec.infom", "infomec/infoc")
    assert find_info_metrics({"mig", "dci"}) == (None, None)


def test_info_plane_places_methods_at_their_iqm(synth):
    agg = lb.aggregate_across_datasets(synth(), reps=100)
    fig = info_plane_figure(agg)
    ax = fig.axes[0]
    points = {}
    for container in ax.containers:  # one ErrorbarContainer per method
        x, y = container.lines[0].get_xdata(), container.lines[0].get_ydata()
        points[container.get_label()] = (float(x[0]), float(y[0]))
    a = agg.set_index(["metric", "model"])
    for model in ("qlae", "ae"):
        assert points[model] == pytest.approx((a.loc[("infom", model), "iqm"], a.loc[("infoc", model), "iqm"]))
    assert info_plane_figure(agg[agg["metric"] == "mig"]) is None


def test_html_is_self_contained_escaped_and_complete(tmp_path, synth, rec):
    evil = '<script>alert("x")</script>'
    recs = synth() + [rec(model=evil, dataset="shapes3d-procedural", dataset_hash="sha256:" + "cd" * 32, metric="mig",
                          metric_params={}, train_seed=i, value=0.1, provenance="submitted-latents") for i in range(2)]
    recs.append(rec(protocol_version="2027.1", value=0.3))
    page = write_html(tmp_path / "lb.html", recs, reps=200, plot_reps=100).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert evil not in page and _html.escape(evil, quote=True) in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert "default-src 'none'" in page
    # one section per protocol version, never mixed
    assert page.count('<section class="version"') == 2
    assert "protocol 2026.1" in page and "protocol 2027.1" in page
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) >= 7 and all(base64.b64decode(i).startswith(PNG) for i in imgs)
    # every record has its provenance on demand
    assert page.count("<details>") == len(recs)
    for r in recs[:5]:
        assert r.record_id in page
    assert "submitted latents" in page  # badge next to a submitted method
    assert page.count('<table class="sortable') == 6  # 3 tables x 2 protocol versions


def test_empty_page():
    page = render_html([])
    assert "No records yet." in page and "</html>" in page


def test_leaderboard_never_imports_torch_or_benchmark():
    code = ("import sys, leaderboard, leaderboard.html, leaderboard.plots, leaderboard.submission, "
            "leaderboard.summary, leaderboard.bootstrap\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'benchmark'))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_global_numpy_random_calls_in_the_package():
    import pathlib

    root = pathlib.Path(lb.__file__).parent
    offenders = [f"{p.name}:{i}" for p in root.glob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"np\.random\.(seed|rand|randn|randint|choice|normal|uniform|shuffle|permutation)\(",
                              line)]
    assert offenders == []


def test_html_shows_claims_only_in_sections_with_verdicts(synth, rec):
    recs = synth() + [rec(protocol_version="2027.1", value=0.3, train_seed=i) for i in range(2)]
    key = ("disentanglement", "2026.1", "smoke")
    src = 'Hsu et al. 2023 <i>abstract</i>'
    claims = [lb.Claim("qlae", "beta-vae", "mig", ("dsprites-procedural", "shapes3d-procedural"), src),
              lb.Claim("ae", "qlae", "infom", ("dsprites-procedural",)),
              lb.Claim("beta-vae", "beta-tcvae", "infoc", ("dsprites-procedural",)),
              lb.Claim("qlae", "nobody", "mig", ("dsprites-procedural",))]
    verdicts = lb.check_claims([r for r in recs if r.protocol_version == "2026.1"], claims, reps=300)
    statuses = [v.status for v in verdicts]
    assert statuses[0] == "holds" and statuses[1] == "contradicted" and statuses[3] == "not run"
    page = render_html(recs, reps=100, figures=False, verdicts={key: verdicts})
    sections = page.split('<section class="version"')[1:]
    assert len(sections) == 2 and "protocol 2026.1" in sections[0] and "protocol 2027.1" in sections[1]
    first, second = sections
    assert first.count("<h3>Claims</h3>") == 1 and "Claims" not in second and "claim-" not in second
    # right after the heading, before the ranking
    assert first.index("</h2>") < first.index("<h3>Claims</h3>") < first.index("Ranking across datasets")
    table = first[first.index('<table class="claims"'):first.index("</table>", first.index('<table class="claims"'))]
    assert table.count("<tr>") == 1 + len(claims)
    for v in verdicts:
        assert f'<span class="badge claim-{v.status.replace(" ", "-")}">{v.status}</span>' in table
        assert _html.escape(v.describe()) in table
    assert _html.escape(src) in table and src not in table  # the source is text, escaped
    d = verdicts[0].datasets[0]
    assert f"dsprites-procedural: P(A better) {d.p_improve:.2f} [{d.ci_low:.2f}, {d.ci_high:.2f}], seeds 5 vs 5" in table
    assert "baseline nobody has no successful records" in table
    assert page.count('<table class="sortable') == 6  # the other tables are unchanged
    assert render_html(recs, reps=100, figures=False).count("<h3>Claims</h3>") == 0
    with pytest.raises(ValueError, match=r"verdicts key \('disentanglement', 'smoke', '2026.1'\) matches no section"):
        render_html(recs, reps=10, figures=False, verdicts={("disentanglement", "smoke", "2026.1"): verdicts})
    with pytest.raises(TypeError, match=r"verdicts\[.*\] must be a list of leaderboard.Verdict"):
        render_html(recs, reps=10, figures=False, verdicts={key: verdicts[0]})


def _small_range_records(rec) -> list:
    """MIG-like scores in [0.02, 0.12]: 3 models x 2 datasets x 5 seeds."""
    values = {"a": [0.02, 0.03, 0.04, 0.05, 0.04], "b": [0.05, 0.06, 0.07, 0.08, 0.07],
              "c": [0.09, 0.10, 0.11, 0.12, 0.10]}
    return [rec(value=v + 0.002 * (d == "d2"), model=m, model_config_hash=f"cfg-{m}", dataset=d,
                dataset_hash="sha256:" + h * 32, metric="mig", metric_params={}, train_seed=i)
            for m, vs in values.items() for d, h in (("d1", "ab"), ("d2", "cd")) for i, v in enumerate(vs)]


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_profile_figure_spans_the_scores_and_keeps_the_legend_off_the_curves(rec):
    from leaderboard.plots import profile_figure
    from leaderboard.summary import run_scores

    # the thresholds ran over a fixed 0-1 axis: scores of 0.02-0.12 used its left 15 %, the legend on top of them
    runs = run_scores(_small_range_records(rec))
    fig = profile_figure(runs, "mig", reps=50)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert 0.0 <= lo <= 0.02 and 0.12 <= hi <= 0.2, (lo, hi)
    for line in ax.get_lines():  # every curve falls from all runs to none across the axis
        assert line.get_ydata()[0] == 1.0 and line.get_ydata()[-1] == 0.0, line.get_label()
    renderer = _drawn(fig)
    legend = ax.get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == ["a", "b", "c"]
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert figure_png(fig).startswith(PNG)
    # all runs equal: a small band around the value, not a zero-width axis
    flat = run_scores([rec(value=0.3, train_seed=i, metric_params={}) for i in range(3)])
    lo, hi = profile_figure(flat, "mig", reps=20).axes[0].get_xlim()
    assert lo < 0.3 < hi and hi - lo <= 0.2


def test_interval_figure_spans_the_intervals_and_lists_by_iqm(rec, overlap):
    from leaderboard.plots import interval_figure

    agg = lb.aggregate_across_datasets(_small_range_records(rec), reps=200)
    fig = interval_figure(agg, "mig")
    lo, hi = fig.axes[0].get_xlim()
    assert 0.0 <= lo <= 0.04 and 0.1 <= hi <= 0.2, (lo, hi)
    # the overlap case: best IQM at the top, whatever the shared rank; labels carry both rank readings
    fig = interval_figure(lb.aggregate_across_datasets(overlap(), reps=1000), "mig")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()][::-1]  # top first
    assert [t.split()[0] for t in labels] == ["top", "ae", "beta_vae"]
    assert labels[2] == "beta_vae  (ranks 1–3, shared #1)"


def test_html_ranking_table_lists_by_iqm_led_by_the_rank_interval(overlap):
    page = render_html(overlap(), reps=1000, figures=False)
    table = re.search(r'<table class="sortable" id="agg-v0">(.*?)</table>', page).group(1)
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert heads == ["metric", "rank interval", "model", "IQM", "95% CI", "tied with", "shared rank", "datasets",
                     "runs"]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("</thead>")[1])
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert [re.sub("<.*", "", c[2]) for c in cells] == ["top", "ae", "beta_vae"]
    assert cells[2][1] == "1–3" and cells[2][6] == "1" and cells[1][6] == "2"
    assert "Rows are sorted by IQM, best first, and lead with the rank interval" in page
