"""``--ref-period`` / ``[models] ref_period``, the Sun–Abraham row of ``robust_att``, and the demo's inputs.

Cases: ``spillmap did --ref-period=-2`` and a run config with ``ref_period = -2`` write event studies with a
zero coefficient at −2 (the row marked ``reference``) and an estimated one at −1; 0, positive and
out-of-window values are one error naming the option or key, before any output; ``robust_att`` has a
``sun_abraham`` row; ``spillmap demo`` writes ``panel.csv`` and ``pilots.csv`` labelled SYNTHETIC, and
``spillmap did`` runs on them, reproducing the demo's baseline.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.config import ConfigError, load_config

from .models.did_data import staggered_panel
from .synthetic_label import label_report


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    frame, first = staggered_panel(n=80, seed=5, growth=0.2)
    path = tmp_path_factory.mktemp("ref") / "panel.csv"
    frame.assign(fy=frame["unit"].map(first)).to_csv(path, index=False)
    return path


ARGS = ["--y", "y", "--id", "unit", "--time", "year", "--controls", "x1,x2", "--first-year-col", "fy",
        "--placebo", "0", "--json"]


def test_did_ref_period_minus_two(runner, panel_csv, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["did", str(panel_csv), *ARGS, "--ref-period=-2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    es = pd.read_csv(out / "event_study.csv").set_index("event_time")
    assert es.loc[-2, ["estimate", "se"]].tolist() == [0.0, 0.0] and es.loc[-2, "reference"] == 1
    assert es.loc[-1, "estimate"] != 0 and es.loc[-1, "se"] > 0 and es["reference"].sum() == 1
    headline = json.loads(result.stdout)
    assert headline["event_study"]["ref_period"] == -2
    assert headline["event_study"]["estimates"]["-2"] == 0.0
    robust = pd.read_csv(out / "robust_att.csv").set_index("estimator")
    assert list(robust.index) == ["twfe", "did2s", "sun_abraham", "callaway_santanna"]
    assert robust.loc["sun_abraham", "se"] > 0
    assert set(headline["robust_att"]) == {"twfe", "did2s", "sun_abraham", "callaway_santanna"}
    # the default reference is −1, as before
    again = runner.invoke(app, ["did", str(panel_csv), *ARGS, "--no-robust", "--out", str(tmp_path / "d")])
    assert again.exit_code == 0, again.output
    es = pd.read_csv(tmp_path / "d" / "event_study.csv").set_index("event_time")
    assert es.loc[-1, "estimate"] == 0.0 and es.loc[-1, "reference"] == 1 and es.loc[-2, "estimate"] != 0


@pytest.mark.parametrize("value", ["0", "2", "-4", "-9"])
def test_did_bad_ref_period(runner, panel_csv, tmp_path, value):
    out = tmp_path / "o"
    result = runner.invoke(app, ["did", str(panel_csv), *ARGS, f"--ref-period={value}", "--out", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"--ref-period = {value} is not a reference period" in text and "--leads = 4 (−1 … −3" in text
    assert text.count("Error") <= 1 and not out.exists()


@pytest.mark.parametrize(("setting", "message"), [
    ("ref_period = 0", "[models] ref_period = 0; it must be a pre-treatment period"),
    ("ref_period = 3", "[models] ref_period = 3; it must be a pre-treatment period"),
    ("ref_period = -4", "[models] ref_period = -4 is outside the event-study window of [models] leads = 4"),
    ("leads = 6\nref_period = -6", "[models] ref_period = -6 is outside the event-study window of [models] leads = 6"),
    ("ref_period = -1.5", "[models] ref_period must be a whole number"),
])
def test_config_bad_ref_period(tmp_path, setting, message):
    path = tmp_path / "c.toml"
    path.write_text(f"[models]\n{setting}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)


def test_config_ref_period(runner, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[models]\nref_period = -2\nleads = 5\nsdid = false\nplacebo = 0\nrobust = false\n\n"
                      "[sweep]\nenabled = false\n\n[output]\nformats = []\nworkers = 0\n", encoding="utf-8")
    assert load_config(config)["models"]["ref_period"] == -2
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    es = pd.read_csv(out / "did" / "event_study.csv").set_index("event_time")
    assert es.loc[-2, "estimate"] == 0.0 and es.loc[-2, "reference"] == 1
    assert es.loc[-1, "estimate"] != 0 and es.loc[-1, "se"] > 0 and es.index.min() == -5


def test_demo_writes_its_panel_and_pilots(runner, tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--placebo", "0", "--band", "100", "--max", "200"])
    assert result.exit_code == 0, result.output
    report = label_report(out)
    assert report["panel.csv"] and report["pilots.csv"]
    assert not [name for name, labelled in report.items() if not labelled]
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert "panel.csv" in manifest and "pilots.csv" in manifest
    panel = pd.read_csv(out / "panel.csv", dtype={"code": str})
    assert {"code", "year", "y", "x1", "x2", "first_year"} <= set(panel.columns)
    assert not {"did", "event_time", "treated"} & set(panel.columns)
    demo_baseline = json.loads((out / "did" / "did_summary.json").read_text())["baseline"]

    common = ["--y", "y", "--id", "code", "--time", "year", "--controls", "x1,x2", "--placebo", "0",
              "--no-robust", "--json"]
    by_year = runner.invoke(app, ["did", str(out / "panel.csv"), "--first-year-col", "first_year", *common,
                                  "--out", str(tmp_path / "a")])
    assert by_year.exit_code == 0, by_year.output
    by_pilots = runner.invoke(app, ["did", str(out / "panel.csv"), "--pilots", str(out / "pilots.csv"), *common,
                                    "--out", str(tmp_path / "b")])
    assert by_pilots.exit_code == 0, by_pilots.output
    for run in (by_year, by_pilots):
        baseline = json.loads(run.stdout)["baseline"]
        assert baseline["estimate"] == pytest.approx(demo_baseline["estimate"], rel=1e-7)
        assert baseline["se"] == pytest.approx(demo_baseline["se"], rel=1e-6)
