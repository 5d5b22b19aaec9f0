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
from leaderboard.plots import find_info_metrics, info_plane_figure, safe_filename, write_plots

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
