"""Publication tables (spillmap._paper, spillmap._study_tables): the form papers print, in four formats.

Cases: a two-column baseline table writes Markdown, LaTeX, Word and HTML whose cells agree (estimate
with stars, standard error in parentheses, FE rows "Yes", N); the same estimates give the same bytes in
every format (fixed HTML id, fixed zip dates); the synthetic note leads the caption of each; a DID
result keeps its pyfixest fit, which pyfixest's own ``etable`` takes; the
DID chain writes the study's tables (baseline with and without controls, event study by estimator,
robustness by estimator incl. PSM-DID, heterogeneity, mechanism, moderation) under ``tables/``, and
``paper_formats=()`` writes none.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from spillmap._paper import PAPER_FORMATS, PaperTable, column
from spillmap._study_tables import baseline_table
from spillmap.models import assign_treatment, fit_did

from .models.did_data import staggered_panel

NOTE = "SYNTHETIC DATA: simulated."


@pytest.fixture(scope="module")
def panel():
    frame, first = staggered_panel(n=120, seed=3)
    data = assign_treatment(frame, first_year=first, id_col="unit", time_col="year").data
    data["region"] = np.where(data["unit"] < "u060", "east", "west")
    return data


@pytest.fixture(scope="module")
def fits(panel):
    kw = dict(id_col="unit", time_col="year")
    return [fit_did(panel, "y", **kw), fit_did(panel, "y", controls=["x1", "x2"], **kw)]


def _stars(p: float) -> str:
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _docx_text(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


def test_four_formats_agree_on_every_cell(fits, tmp_path):
    table = baseline_table(fits, unit="unit")
    written = table.write(tmp_path, note=NOTE)
    assert [p.suffix for p in written] == [f".{f}" for f in PAPER_FORMATS]
    md, tex = (tmp_path / "baseline.md").read_text(), (tmp_path / "baseline.tex").read_text()
    html, docx = (tmp_path / "baseline.html").read_text(), _docx_text(tmp_path / "baseline.docx")
    for fit in fits:
        est, se, p = fit.estimate, fit.se, fit.p_value
        cell, paren = f"{est:.3f}{_stars(p)}", f"({se:.3f})"
        for text in (md, tex, html, docx):
            assert cell in text and paren in text
        assert f"{fit.n_obs:,}" in md
    assert "| Unit fixed effects | Yes | Yes |" in md and "| Period fixed effects | Yes | Yes |" in md
    assert "| x1 |  | " in md  # a control only in column (2): the first column's cell is empty
    assert md.rstrip().endswith(f"Table: {NOTE} Baseline DID: effect of the policy")
    assert "\\caption{SYNTHETIC DATA" in tex and "SYNTHETIC DATA" in docx and "<title>SYNTHETIC DATA" in html


def test_same_estimates_same_bytes(fits, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        baseline_table(fits, unit="unit").write(folder, note=NOTE)
    for fmt in PAPER_FORMATS:
        assert (a / f"baseline.{fmt}").read_bytes() == (b / f"baseline.{fmt}").read_bytes(), fmt


def test_latex_escapes_caption_but_word_keeps_it(tmp_path):
    t = PaperTable("t", "Effect on gdp_pc & jobs (100%)",
                   (column(pd.DataFrame({"estimate": [1.0], "se": [0.5], "p_value": [0.04]}, index=["did"]), "y"),))
    t.write(tmp_path, formats=("tex", "docx"))
    assert r"gdp\_pc \& jobs (100\%)" in (tmp_path / "t.tex").read_text()
    assert "gdp_pc &amp; jobs (100%)" in _docx_text(tmp_path / "t.docx")


def test_did_result_keeps_its_pyfixest_fit_for_etable(fits):
    import pyfixest as pf

    text = pf.etable([f.fit for f in fits], type="df").to_string()
    for f in fits:
        assert f"{f.estimate:.3f}" in text and f"({f.se:.3f})" in text


def test_did_chain_writes_the_study_tables(panel, tmp_path):
    from spillmap.policy import run_did

    inputs = _policy_inputs(panel)
    out = tmp_path / "did"
    run_did(inputs, out, placebo_draws=0, groups=["region"], mediators=["x2"], moderator="x2", boot=20,
            psm=["x1"], seed=1)
    names = sorted(p.name for p in (out / "tables").iterdir())
    stems = {"baseline", "event_study", "robustness", "heterogeneity_region", "mechanism_x2", "moderation_x2"}
    assert names == sorted(f"{s}.{f}" for s in stems for f in PAPER_FORMATS)
    robust = (out / "tables" / "robustness.md").read_text()
    for head in ("TWFE", "did2s (Gardner)", "Sun–Abraham", "PSM-DID"):
        assert head in robust
    base = (out / "tables" / "baseline.md").read_text()
    assert base.count("Yes") == 4  # two specifications × unit and period FE


def test_no_formats_no_tables(panel, tmp_path):
    from spillmap.policy import run_did

    out = tmp_path / "did"
    run_did(_policy_inputs(panel), out, placebo_draws=0, robust=False, paper_formats=())
    assert not (out / "tables").exists()


def _policy_inputs(panel):
    from spillmap.policy import PolicyInputs

    return PolicyInputs(data=panel, y="y", id_col="unit", time_col="year", controls=("x1",), synthetic=None,
                        report={})
