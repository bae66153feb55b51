"""`spillmap did --psm`: PSM-DID tables and summary line; option errors before the panel is read.

Cases: a user CSV panel with --psm x1,x2 writes psm_did and psm_balance as
CSV/Markdown/LaTeX and a psm_did entry in did_summary.json (kernel and by
treatment year as well); a wrong --psm-method or --psm-caliper and a caliper
that matches nothing are one message each, exit code 1, no output folder. The run config
takes [models] psm, psm_method, psm_caliper, psm_pooled and rejects a wrong method or caliper.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spillmap.cli import app

from .models.did_data import staggered_panel

BASE = ["--y", "y", "--id", "unit", "--time", "year", "--first-year-col", "fy", "--placebo", "0", "--no-robust"]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture()
def csv(tmp_path):
    frame, first = staggered_panel(n=120, seed=5)
    path = tmp_path / "panel.csv"
    frame.assign(fy=frame["unit"].map(first)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("extra", [[], ["--psm-method", "kernel", "--psm-by-year", "--psm-caliper", "0.1"]])
def test_did_psm_writes_tables_and_summary(runner, csv, tmp_path, extra):
    out = tmp_path / "o"
    result = runner.invoke(app, ["did", str(csv), *BASE, "--psm", "x1, x2", *extra, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    psm = json.loads(result.stdout)["psm_did"]
    assert psm["method"] == ("kernel" if extra else "nearest") and psm["pooled"] is (not extra)
    assert psm["n_matched"] > 0 and psm["se"] > 0
    names = {p.name for p in out.iterdir()}
    for stem in ("psm_did", "psm_balance"):
        assert {f"{stem}.csv", f"{stem}.md", f"{stem}.tex"} <= names
    assert json.loads((out / "did_summary.json").read_text())["psm_did"]["att"] == pytest.approx(psm["att"])


@pytest.mark.parametrize(("args", "message"), [
    (["--psm", "x1", "--psm-method", "radius"], "--psm-method must be nearest or kernel"),
    (["--psm", "x1", "--psm-caliper", "0"], "--psm-caliper must be a positive"),
    (["--psm", " , "], "--psm needs one or more"),
    (["--psm", "x1,x2", "--psm-caliper", "1e-12"], "no treated unit has a never-treated control within the caliper"),
])
def test_did_psm_errors(runner, csv, tmp_path, args, message):
    out = tmp_path / "o"
    result = runner.invoke(app, ["did", str(csv), *BASE, *args, "--out", str(out)])
    assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and not out.exists()


def test_config_psm_keys(tmp_path):
    from spillmap.config import ConfigError, load_config

    path = tmp_path / "run.toml"
    path.write_text('[models]\npsm = ["x1", "x2"]\npsm_method = "kernel"\npsm_caliper = 0.1\npsm_pooled = false\n')
    models = load_config(path)["models"]
    assert (models["psm"], models["psm_method"], models["psm_caliper"], models["psm_pooled"]) == (
        ["x1", "x2"], "kernel", 0.1, False)
    for bad, word in (('psm_method = "radius"', "psm_method"), ("psm_caliper = 0", "psm_caliper")):
        path.write_text(f"[models]\n{bad}\n")
        with pytest.raises(ConfigError, match=word):
            load_config(path)
