"""``report.html`` and its formatting helpers.

Cases: numbers follow one rule (3 decimals, never ``-0.000``, tiny values in
significant digits, missing as a dash), p-values print as ``p < 0.001``
below 0.001 and never as ``0``; stars at 0.1/0.05/0.01 with their exact
boundaries; the esttab-style table puts the (se) under the starred
coefficient, leaves a blank for a term a column lacks and spans one-value
footer rows; generated sentences for a negative, an insignificant and a
significant effect, pre-trend and placebo; the configuration table marks
values that differ from the defaults. The report of the session's small
synthetic run (``conftest.synthetic_run``: heterogeneity, mediation and
moderation on) has every section heading in the study's order, the baseline
sentence with its estimate and interval, stars and parentheses in the
baseline table, no bare ``0``/``0.0000`` p-value, the version, run date and
manifest link, the configuration as a table (no ``<pre>`` dump), the
SYNTHETIC banner at the top, and the same bytes when rendered again (the
run date aside). A run without the DID chain, SDM-DID or sweep (a bare
staging folder, real data) has no banner, no empty sections, and escapes
names from the data.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from datetime import datetime, timezone

import pytest

import spillmap
from spillmap._pubtable import Coef, fmt_ci, fmt_count, fmt_num, fmt_p, fmt_share, p_phrase, regression_table, stars
from spillmap._report_sections import (
    _effect_sentence,
    _placebo_sentence,
    _pretrend_sentence,
    config_table,
)
from spillmap.config import default_config, load_config
from spillmap.report import write_report

#: Section headings of a run with every step on, in the study's order.
HEADINGS = ("Data and treatment", "Baseline DID", "Event study", "Robustness and placebo", "Heterogeneity",
            "Mechanism (mediation)", "Moderation", "SDM-DID effects (direct, indirect, total)",
            "Distance bands and siphon radius", "Maps", "Files", "Configuration")
NOW = datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)


# ------------------------------------------------------------------ formatting helpers


@pytest.mark.parametrize(("value", "text"), [
    (1.0879, "1.088"), (-0.50108, "-0.501"), (0.0, "0.000"), (-0.0001, "-0.0001"), (-0.00004, "-4e-05"),
    (1.23e-5, "1.23e-05"), (12345.6789, "12345.679"), (math.nan, "–"), (None, "–"), (-0.0004999, "-0.0005"),
])
def test_fmt_num(value, text):
    assert fmt_num(value) == text


def test_fmt_num_never_negative_zero():
    assert fmt_num(-0.0) == "0.000" and fmt_num(-0.0, 1) == "0.0"


@pytest.mark.parametrize(("p", "text", "phrase"), [
    (0.0, "< 0.001", "p < 0.001"), (0.00099, "< 0.001", "p < 0.001"), (0.001, "0.001", "p = 0.001"),
    (0.41234, "0.412", "p = 0.412"), (1.0, "1.000", "p = 1.000"), (math.nan, "–", "p = –"),
])
def test_p_values(p, text, phrase):
    assert fmt_p(p) == text and p_phrase(p) == phrase


@pytest.mark.parametrize(("p", "mark"), [
    (0.0, "***"), (0.0099, "***"), (0.01, "**"), (0.0499, "**"), (0.05, "*"), (0.0999, "*"), (0.1, ""),
    (0.7, ""), (math.nan, ""), (None, ""),
])
def test_stars(p, mark):
    assert stars(p) == mark


def test_other_formats():
    assert fmt_ci(0.9561, 1.2197) == "0.956 to 1.220"
    assert fmt_count(4404) == "4,404" and fmt_count(None) == "–"
    assert fmt_share(0.94304) == "94.3 %" and fmt_share(-0.01) == "-1.0 %"


def test_regression_table():
    table = regression_table(
        [("y", {"did": Coef(1.0879, 0.0670, 0.0)}), ("y", {"did": Coef(0.2, 0.15, 0.2), "x": Coef(-0.5, 0.1, 0.03)})],
        labels={"did": "DID"}, stats=[("N", ["4,404", "4,404"]), ("City FE", "Yes")], notes=("Controls: x1.",),
    )
    assert table.header == ("(1) y", "(2) y")
    rows = [(r.label, r.cells, r.kind) for r in table.rows]
    assert rows == [
        ("DID", ("1.088***", "0.200"), "coef"), ("", ("(0.067)", "(0.150)"), "se"),
        ("x", ("", "-0.500**"), "coef"), ("", ("", "(0.100)"), "se"),
        ("N", ("4,404", "4,404"), "stat"), ("City FE", ("Yes",), "stat"),
    ]
    assert table.notes == ("Standard errors in parentheses. * p<0.1, ** p<0.05, *** p<0.01.", "Controls: x1.")


def test_regression_table_without_se():
    table = regression_table({"A": {"b": Coef(0.5)}})
    assert [r.cells for r in table.rows] == [("0.500",), ("",)]


# ------------------------------------------------------------------ sentences


def test_effect_sentences():
    row = {"estimate": 1.0879, "ci_low": 0.9562, "ci_high": 1.2197, "p_value": 0.0}
    assert _effect_sentence("The policy", "y", row, "in treated cities") == (
        "The policy raised y by 1.088 (95 % CI 0.956 to 1.220, p < 0.001) in treated cities")
    neg = {"estimate": -0.2, "ci_low": -0.5, "ci_high": 0.1, "p_value": 0.41}
    assert _effect_sentence("The policy", "y", neg, "in treated cities") == (
        "The policy lowered y by 0.200 (estimate -0.200, 95 % CI -0.500 to 0.100, p = 0.410) in treated cities, "
        "not statistically different from zero at the 5 % level")


def test_pretrend_and_placebo_sentences():
    assert _pretrend_sentence({"chi2": 1.35, "df": 3, "p_value": 0.41}) == (
        "No pre-trend: joint test of the 3 leads, p = 0.410 (Wald χ²(3) = 1.350).")
    assert _pretrend_sentence({"chi2": 12.0, "df": 3, "p_value": 0.0004}).startswith("Pre-trend: joint test")
    assert _pretrend_sentence({"df": 0, "p_value": None}) == "No leads were estimated, so there is no pre-trend test."
    placebo = {"draws": 50, "mode": "random", "p_value": 1 / 51, "placebo_mean": -0.0134, "placebo_sd": 0.0758,
               "real_estimate": 1.0879}
    text = _placebo_sentence(placebo)
    assert "none is as large as the real estimate (empirical p = 0.020, the smallest possible with 50 draws)" in text
    assert "average -0.013 (sd 0.076) against the real 1.088" in text
    assert "3 of 50 are as large" in _placebo_sentence({**placebo, "p_value": 4 / 51})


def test_config_table_marks_changed_values():
    config = default_config()
    config["models"]["placebo"] = 50
    rows = dict(config_table(config))
    assert ("placebo", "50", True) in rows["models"] and ("did", "true", False) in rows["models"]
    assert ("path", "–", False) in rows["panel"] and ("formats", "gpkg, shp, geojson, tif", False) in rows["output"]


# ------------------------------------------------------------------ the report of a run


@pytest.fixture(scope="module")
def report(synthetic_run):
    _, out, _ = synthetic_run
    return (out / "report.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The page's text: tags dropped, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _table_after(page: str, marker: str) -> list[list[str]]:
    """Rows (cell texts) of the first table after ``marker``."""
    start = page.index(marker)
    body = page[page.index("<table", start):page.index("</table>", start)]
    return [[html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def test_report_sections_in_order(report):
    headings = [re.sub(r"^\d+\. ", "", h) for h in re.findall(r"<h2>(.*?)</h2>", report)]
    assert headings[:2] == ["Key results", "Contents"]
    assert tuple(headings[2:]) == HEADINGS


def test_report_baseline_sentence_and_table(report, synthetic_run):
    _, out, _ = synthetic_run
    base = json.loads((out / "did" / "did_summary.json").read_text())["baseline"]
    text = _text(report)
    assert (f"The policy raised y by {base['estimate']:.3f} (95 % CI {base['ci_low']:.3f} to {base['ci_high']:.3f}, "
            "p < 0.001) in treated cities") in text
    rows = _table_after(report, 'id="baseline"')
    assert rows[0] == ["", "(1) TWFE"]
    assert rows[1] == ["DID (treated × post)", f"{base['estimate']:.3f}***"]
    assert rows[2] == ["", f"({base['se']:.3f})"]
    footer = dict(r for r in rows[3:] if len(r) == 2)
    assert footer["N"] == f"{base['n_obs']:,}" and footer["R² (within)"] == f"{base['r2_within']:.3f}"
    assert footer["City FE"] == footer["Year FE"] == footer["Controls"] == "Yes"
    assert "* p<0.1, ** p<0.05, *** p<0.01" in text


def test_report_p_values_one_format(report):
    text = _text(report)
    assert "p < 0.001" in text
    assert "0.0000" not in text and "p = 0.000" not in text and "p = 0 " not in text
    results = report[:report.index('id="files"')]  # the configuration below may hold a 0
    assert not re.search(r"<td>-?0</td>", results)  # no p-value (or estimate) printed as a bare 0


def test_report_header_and_configuration(report):
    assert f"spillmap {spillmap.__version__} · run " in report and " UTC · configuration: c.toml" in report
    assert '<a href="manifest.json">manifest.json</a>' in report
    assert "<pre" not in report and "{&#34;layer&#34;" not in report and '"layer": {' not in report
    assert "<caption>[models]</caption>" in report
    assert '<tr class="set"><th>placebo</th><td>20</td></tr>' in report
    assert "<tr><th>robust</th><td>true</td></tr>" in report


def test_report_mechanisms_when_run(report):
    text = _text(report)
    assert "Table 5. Heterogeneity: effect of the policy by region" in text
    assert re.search(r"By region, the effect is [-\d.]+ in central, [-\d.]+ in east, [-\d.]+ in west", text)
    assert "Mechanism: does x1 carry the effect?" in text and "the indirect effect a·b is" in text
    assert "Moderation: the effect of DID by x2" in text and "DID × x2" in text


def test_report_figures_have_captions(report, synthetic_run):
    _, out, _ = synthetic_run
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert {"maps/effects_own.png", "maps/effects_recv.png", "maps/effects_emit.png",
            "maps/sweep_bands_recv.png"} <= set(pngs)
    figures = {re.search(r'src="([^"]+)"', block).group(1): block for block in
               re.findall(r'<figure class="exhibit figure[^"]*" id="figure-\d+">(.*?)</figure>', report, re.DOTALL)}
    assert sorted(figures) == pngs
    for block in figures.values():
        title = re.search(r'<p class="exhibit-title"><span class="label">Figure \d+\.</span> (.+?)</p>', block)
        caption = re.search(r'<p class="caption">(.+?)</p>', block, re.DOTALL)
        assert title and caption and len(caption.group(1)) > 40
    maps = report[report.index('id="maps"'):report.index('id="files"')]
    assert all(f'src="maps/{name}.png"' in maps for name in ("effects_own", "effects_recv", "effects_emit",
                                                             "sweep_bands_recv"))
    assert report.count('<p class="caption">') == report.count('<p class="exhibit-title">')


def test_report_synthetic_banner_on_top(report, synthetic_run):
    _, out, _ = synthetic_run
    crossover = json.loads((out / "sweep" / "sweep_summary.json").read_text())["crossover"]
    assert report.index('class="synthetic"') < report.index("<h2>")
    assert "SYNTHETIC DATA" in report[:report.index("<h2>")]
    assert html.escape(crossover["statement"], quote=False) in report


def test_report_same_bytes_but_the_date(synthetic_run, tmp_path):
    config, out, headline = synthetic_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    outputs = json.loads((out / "manifest.json").read_text())["outputs"]
    written = [copy / name for name in outputs if name != "report.html"]
    again = write_report(copy, written, headline, load_config(config), now=NOW).read_bytes()
    assert write_report(copy, written, headline, load_config(config), now=NOW).read_bytes() == again
    original = re.sub(r"run \d{4}-\d\d-\d\d \d\d:\d\d UTC", "run 2024-05-06 07:08 UTC",
                      (out / "report.html").read_text(encoding="utf-8"))
    assert again.decode("utf-8") == original


def test_report_without_steps_and_real_data(tmp_path):
    headline = {"synthetic": None, "treatment": {"treated_by_year": {"2015": 3}, "never_treated": 6},
                "panel": {"outcome": "<gdp>", "controls": [], "time": "year", "units": 9, "periods": 5, "rows": 45,
                          "first": 2012, "last": 2016}}
    page = write_report(tmp_path, [], headline, default_config(), now=NOW).read_text(encoding="utf-8")
    headings = [re.sub(r"^\d+\. ", "", h) for h in re.findall(r"<h2>(.*?)</h2>", page)]
    assert headings == ["Contents", "Data and treatment", "Files", "Configuration"]
    assert "SYNTHETIC" not in page and "run 2024-05-06 07:08 UTC" in page
    assert "the outcome is &lt;gdp&gt;" in page and "<gdp>" not in page
    assert "3 cities are treated, in 1 batch: 3 in 2015; 6 cities are never treated" in _text(page)


def test_sweep_caption_names_the_method_that_ran(report):
    """The default sweep fits every band at once; the caption must not describe the per-band refit."""
    text = _text(report)
    assert "Every distance band estimated at once" in text and "one distance band at a time" not in text
    assert "at the band edge of" in text or "No crossover shown" in text


def test_robust_estimators_compared_within_the_larger_standard_error(tmp_path):
    """An imprecise robust estimate (Sun–Abraham, SE 0.135) 0.073 from TWFE (SE 0.067) is not flagged; a
    precise one as far away is."""
    import pandas as pd

    from spillmap._report_sections import _Outputs, _robust_section, _Study

    (tmp_path / "did").mkdir()
    pd.DataFrame({
        "estimator": ["twfe", "sun_abraham", "did2s"], "estimate": [1.088, 1.015, 0.988], "se": [0.067, 0.135, 0.03],
        "ci_low": [0.96, 0.75, 0.93], "ci_high": [1.22, 1.28, 1.05], "p_value": [0.0, 0.0, 0.0],
    }).to_csv(tmp_path / "did" / "robust_att.csv", index=False)
    out = _Outputs(tmp_path, frozenset({"did/robust_att.csv"}))
    section = _robust_section({}, {}, out, _Study("y", (), "Year", None))
    sun, did2s = section.sentences[:2]
    assert "Sun" in sun and "within one standard error (the larger of the two)" in sun
    assert "did2s" in did2s and "more than one standard error" in did2s
