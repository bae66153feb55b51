"""`spillmap did` and `spillmap sdid`.

Cases: on the synthetic demo panel (shipped layer and pilot table) both
commands write their tables (CSV, Markdown, LaTeX), plots (PNG, SVG) and a
summary, label the data synthetic, and --json prints the headline estimates
(baseline, pre-trend, placebo p; SDM-DID direct/indirect/total with
intervals); a user's CSV panel with a 0/1 treatment column and a Stata
panel with first treated years work too; a panel missing the outcome column
gives one clear message.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app

from .models.did_data import staggered_panel


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_did_demo(runner, tmp_path):
    out = tmp_path / "did"
    result = runner.invoke(app, ["did", "--out", str(out), "--placebo", "60", "--workers", "0", "--json"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    assert headline["synthetic"]["note"].startswith("SYNTHETIC DATA")
    assert abs(headline["baseline"]["estimate"] - headline["synthetic"]["effect"]) < 4 * headline["baseline"]["se"]
    assert headline["placebo"]["draws"] == 60 and headline["placebo"]["p_value"] == pytest.approx(1 / 61)
    assert headline["event_study"]["pretrend"]["p_value"] > 0.01
    names = {p.name for p in out.iterdir()}
    for stem in ("did_baseline", "event_study", "robust_att"):
        assert {f"{stem}.csv", f"{stem}.md", f"{stem}.tex"} <= names
    assert {"event_study.png", "event_study.svg", "placebo.png", "placebo.svg", "event_study_robust.svg"} <= names
    assert "\nTable: SYNTHETIC DATA" in (out / "did_baseline.md").read_text()
    assert "\\caption{SYNTHETIC DATA" in (out / "did_baseline.tex").read_text()
    assert (pd.read_csv(out / "did_baseline.csv")["SYNTHETIC"] == "simulated outcome, not observed").all()


def test_sdid_demo(runner, tmp_path):
    out = tmp_path / "sdid"
    result = runner.invoke(app, ["sdid", "--out", str(out), "--effects", "300", "--cutoff", "150", "--json"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    eff = headline["sdm_did"]["did_effects"]
    assert set(eff) == {"direct", "indirect", "total"}
    assert eff["direct"]["ci_low"] < headline["synthetic"]["effect"] < eff["direct"]["ci_high"]
    assert eff["indirect"]["ci_low"] > 0  # the demo spills over positively within 150 km
    names = {p.name for p in out.iterdir()}
    assert {"sdm_did_effects.csv", "sdm_did_effects.tex", "spatial_event_study.png", "sdid_summary.json"} <= names


def test_did_on_user_csv_and_stata(runner, tmp_path):
    frame, first = staggered_panel(n=80, seed=7)
    frame["d"] = ((frame["year"] >= frame["unit"].map(first)).fillna(False)).astype(int)
    frame.to_csv(tmp_path / "panel.csv", index=False)
    args = ["--y", "y", "--id", "unit", "--time", "year", "--controls", "x1,x2", "--placebo", "30", "--workers", "0",
            "--no-robust", "--json"]
    csv = runner.invoke(app, ["did", str(tmp_path / "panel.csv"), "--treated-col", "d", "--out", str(tmp_path / "a"), *args])
    assert csv.exit_code == 0, csv.output
    frame.assign(fy=frame["unit"].map(first)).drop(columns="d").to_stata(tmp_path / "panel.dta", write_index=False)
    dta = runner.invoke(app, ["did", str(tmp_path / "panel.dta"), "--first-year-col", "fy", "--out", str(tmp_path / "b"), *args])
    assert dta.exit_code == 0, dta.output
    a, b = json.loads(csv.stdout), json.loads(dta.stdout)
    assert a["baseline"]["estimate"] == pytest.approx(b["baseline"]["estimate"], rel=1e-10)
    assert abs(a["baseline"]["estimate"] - 1.0) < 3 * a["baseline"]["se"]
    assert "robust_att" not in a and np.isfinite(a["placebo"]["p_value"])


def test_did_bad_column(runner, tmp_path):
    frame, _ = staggered_panel(n=20, seed=1)
    frame.to_csv(tmp_path / "panel.csv", index=False)
    result = runner.invoke(app, ["did", str(tmp_path / "panel.csv"), "--y", "gdp", "--id", "unit", "--time", "year",
                                 "--treated-col", "d", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "has no column 'gdp' (named by --y)" in result.output
    assert "its columns are: 'unit', 'year', 'y', 'x1', 'x2'" in result.output
    assert not (tmp_path / "o").exists()


def test_did_mechanism_options_and_bacon(runner, tmp_path):
    frame, first = staggered_panel(n=90, seed=11)
    frame["grp"] = frame["unit"].map(lambda u: "a" if int(str(u).strip("u") or 0) % 2 else "b")
    frame.to_csv(tmp_path / "panel.csv", index=False)
    out = tmp_path / "o"
    frame.assign(fy=frame["unit"].map(first)).to_csv(tmp_path / "panel.csv", index=False)
    result = runner.invoke(app, [
        "did", str(tmp_path / "panel.csv"), "--y", "y", "--id", "unit", "--time", "year", "--controls", "x1,x2",
        "--first-year-col", "fy", "--placebo", "0", "--group", "grp", "--group", "x2:tercile", "--mediator", "x1",
        "--moderator", "x2",
        "--boot", "40", "--out", str(out), "--json",
    ])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    bacon = headline["bacon"]
    assert sum(row["weight"] for row in bacon["by_kind"]) == pytest.approx(1.0)
    assert sum(row["weight"] * row["estimate"] for row in bacon["by_kind"]) == pytest.approx(bacon["twfe"])
    assert headline["heterogeneity"]["grp"]["difference_test"]["df"] == 1
    assert headline["heterogeneity"]["x2_tercile"]["difference_test"]["df"] == 2  # three groups
    med = headline["mediation"]["x1"]
    assert med["total"] == pytest.approx(med["direct"] + med["indirect"], rel=1e-8)
    assert headline["moderation"]["term"] == "did:x2"
    names = {p.name for p in out.iterdir()}
    assert {"bacon_summary.csv", "bacon_comparisons.tex", "heterogeneity_grp.md", "mediation_x1.csv",
            "moderation_x2.tex"} <= names


def test_did_failure_leaves_output_folder_untouched(runner, tmp_path):
    frame, first = staggered_panel(n=40, seed=3)
    frame["grp"] = np.where(frame["unit"].map(first).isna(), "never", "pilot")  # one group has no treated unit
    frame.assign(fy=frame["unit"].map(first)).to_csv(tmp_path / "panel.csv", index=False)
    out = tmp_path / "o"
    from spillmap._files import staged_output

    with staged_output(out) as earlier:  # an earlier result (spillmap refuses folders holding other files)
        (earlier / "keep.txt").write_text("earlier run")
    result = runner.invoke(app, ["did", str(tmp_path / "panel.csv"), "--y", "y", "--id", "unit", "--time", "year",
                                 "--first-year-col", "fy", "--placebo", "0", "--no-robust", "--group", "grp",
                                 "--out", str(out)])
    assert result.exit_code == 1 and "'grp'" in result.output and "no treated unit" in result.output
    assert sorted(p.name for p in out.iterdir()) == [".spillmap-result", "keep.txt"]  # nothing half-written
    assert not list(tmp_path.glob(".spillmap-*"))  # staging removed


def test_index_command_adds_entropy_index(runner, tmp_path):
    import pandas as pd

    from spillmap.models import entropy_index

    frame = pd.DataFrame({"code": list("aabbcc"), "year": [1, 2] * 3, "income": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
                          "gini": [0.5, 0.4, 0.45, 0.3, 0.35, 0.2]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    out = tmp_path / "with_index.csv"
    result = runner.invoke(app, ["index", str(tmp_path / "p.csv"), "--positive", "income", "--negative", "gini",
                                 "--column", "cp", "--id", "code", "--out", str(out), "--weights-out",
                                 str(tmp_path / "w.csv"), "--json"])
    assert result.exit_code == 0, result.output
    weights = json.loads(result.stdout)
    expected = entropy_index(frame, positive=["income"], negative=["gini"], id_col="code")
    assert [w["weight"] for w in weights] == pytest.approx(expected.weights["weight"].tolist())
    written = pd.read_csv(out)
    assert written["cp"].to_numpy() == pytest.approx(expected.scores.to_numpy(), rel=1e-9)
    assert list(written.columns[:4]) == ["code", "year", "income", "gini"] and (tmp_path / "w.csv").exists()
    again = runner.invoke(app, ["index", str(out), "--positive", "income", "--column", "cp", "--out", str(out)])
    assert again.exit_code == 1 and "already has a column 'cp'" in again.output
