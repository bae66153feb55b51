"""`--model/--fe` reach every fit of `spillmap sdid` and `[models] sdid_model/sdid_fe` every fit of `spillmap run`.

Cases (a 6×6 grid layer and a small synthetic panel, few draws):

* the spatial event study fits the chosen model and fixed effects (sar: indirect effects through rho alone);
* sdid --model sar --fe unit passes both to the main fit and the spatial event study;
* the SDM placebo takes --fe, and a placebo with another --model is one message naming --model sdm, nothing written;
* run config: sdid_model/sdid_fe reach the main fit and every column of sdid_by_weights; a value outside the choices
  is one message naming the key.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import spillmap.models
from spillmap.cli import app
from spillmap.config import ConfigError, load_config

from .bad_inputs import run_bad
from .test_cli_weights_kinds import grid_files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return grid_files(tmp_path_factory.mktemp("sdid_model"))


def _recording(monkeypatch, name):
    """Wrap ``spillmap.models.<name>`` to record the keywords of each call (the commands import it lazily)."""
    calls = []
    real = getattr(spillmap.models, name)

    def wrapper(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(spillmap.models, name, wrapper)
    return calls


def _base(files):
    layer, panel = files
    return ["sdid", str(panel), "--y", "y", "--id", "uid", "--time", "year", "--first-year-col", "first_year",
            "--effects", "20", "--layer", str(layer), "--cutoff", "300"]


def test_event_study_model_and_fe(files):
    from spillmap import gis
    from spillmap import weights as sw
    from spillmap.models import spatial_event_study
    from spillmap.policy import load_policy_inputs

    layer, panel = files
    data = load_policy_inputs(panel, y="y", id_col="uid", time_col="year", first_year_col="first_year").data
    graph = sw.build_inverse_distance(gis.pairwise_distances(gis.read_layer(layer, "uid"), "uid"), cutoff_km=300)
    res = spatial_event_study(data, "y", id_col="uid", time_col="year", weights=graph, leads=2, lags=2, draws=20,
                              seed=0, model="sar", fe="unit")
    assert (res.fit.model, res.fit.fe, res.estimator) == ("sar", "unit", "sar")
    assert not any(str(name).startswith("W·") for name in res.fit.tidy().index)
    assert res.table.loc[0, "indirect_estimate"] != 0  # through rho


def test_sdid_model_fe_reach_the_event_study(monkeypatch, files, tmp_path):
    study = _recording(monkeypatch, "spatial_event_study")
    result = CliRunner().invoke(app, [*_base(files), "--model", "sar", "--fe", "unit", "--out", str(tmp_path / "o"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    head = json.loads(result.stdout)
    assert (head["sdm_did"]["model"], head["sdm_did"]["fe"]) == ("sar", "unit")
    assert [(c["model"], c["fe"]) for c in study] == [("sar", "unit")]
    assert "spatial_event_study" in head


def test_placebo_fe_and_model(monkeypatch, files, tmp_path):
    placebo = _recording(monkeypatch, "placebo_test")
    result = CliRunner().invoke(app, [*_base(files), "--no-event-study", "--fe", "unit", "--placebo", "3",
                                      "--workers", "0", "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    assert [(c["model"], c["fe"]) for c in placebo] == [("sdm", "unit")]
    out = tmp_path / "slx"
    run_bad([*_base(files), "--model", "slx", "--placebo", "3", "--out", out],
            expect=["placebo", "not --model slx", "--model sdm", "--placebo 0"], out=out)


CONFIG = """
[layer]
path = "{layer}"
id = "uid"

[panel]
path = "{panel}"
id = "uid"
time = "year"
outcome = "y"
first_year = "first_year"

[weights]
matrices = [{{name = "geo", kind = "inverse", cutoff_km = 300}}, {{name = "econ", kind = "economic", column = "x1"}}]

[models]
did = false
event_study = false
effects_draws = 20
{models}

[sweep]
enabled = false

[output]
workers = 0
formats = ["gpkg"]
"""


def test_run_config_sdid_model_and_fe(monkeypatch, files, tmp_path):
    layer, panel = files
    fits = _recording(monkeypatch, "fit_sdm_did")
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.format(layer=layer, panel=panel, models='sdid_model = "sar"\nsdid_fe = "unit"'),
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert [(c["model"], c["fe"]) for c in fits] == [("sar", "unit")] * 2  # main (geo) fit, then econ
    summary = json.loads((tmp_path / "out" / "sdid" / "sdid_summary.json").read_text(encoding="utf-8"))
    assert (summary["sdm_did"]["model"], summary["sdm_did"]["fe"]) == ("sar", "unit")


@pytest.mark.parametrize(("line", "expect"), [
    ('sdid_model = "sem"', "[models] sdid_model = 'sem'; choose one of sdm, sar, sdem, slx"),
    ('sdid_fe = "both"', "[models] sdid_fe = 'both'; choose one of unit, time, twoways"),
])
def test_run_config_bad_sdid_model(files, tmp_path, line, expect):
    layer, panel = files
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.format(layer=layer, panel=panel, models=line), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[models\] sdid_"):
        load_config(config)
    out = tmp_path / "out"
    run_bad(["run", config, "--out", out], expect=expect, out=out, inputs=[config])
