"""`spillmap fit` from files.

Cases: a CSV panel with a square-CSV weights matrix reproduces the Python
fit; Parquet and Stata .dta panels give the same numbers; .npz/.gal weights;
--json carries coefficients, standard errors, rho, sigma2, log-likelihood
and effects with intervals; --out writes CSV/Markdown/LaTeX tables; a
panel without the id column, weights whose ids do not match, and an
unknown panel format each give one clear message and exit 1.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.models import fit_spatial_panel
from spillmap.weights import write_weights

from ..conftest import DATA


@pytest.fixture(scope="module")
def files(tmp_path_factory, cigar):
    folder = tmp_path_factory.mktemp("fit")
    matrix = pd.read_csv(DATA / "usa46_binary.csv")
    matrix.columns = [str(s) for s in np.sort(cigar["state"].unique())]
    matrix.to_csv(folder / "w.csv", index=False)
    cigar.to_csv(folder / "panel.csv", index=False)
    cigar.to_parquet(folder / "panel.parquet")
    cigar.to_stata(folder / "panel.dta", write_index=False)
    return folder


#: Half a unit in the 10th significant digit, the precision spillmap writes JSON with.
RTOL_JSON = 5e-10
ARGS = ["--formula", "logc ~ logp + logy", "--id", "state", "--time", "year"]


def _json(files, panel="panel.csv", weights="w.csv", *extra):
    result = CliRunner().invoke(app, ["fit", str(files / panel), "--weights", str(files / weights), *ARGS, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_matches_python(files, cigar, cigar_graph):
    payload = _json(files, "panel.csv", "w.csv", "--effects", "300", "--seed", "5", "--no-lee-yu")
    res = fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph, model="sdm", lee_yu=False)
    # JSON numbers carry 10 significant digits (spillmap._json): equal to 5e-10 relative
    assert payload["rho"] == pytest.approx(res.rho, rel=RTOL_JSON)
    assert payload["coefficients"]["W·logy"] == pytest.approx(res.params["W·logy"], rel=RTOL_JSON)
    assert payload["std_errors"]["rho"] == pytest.approx(res.se()["rho"], rel=RTOL_JSON)
    assert payload["loglik"] == pytest.approx(res.loglik) and payload["sigma2"] == pytest.approx(res.sigma2)
    eff = res.effects(300, seed=5)
    block = payload["effects"]["logp"]["indirect"]
    assert block["estimate"] == pytest.approx(eff.estimate("logp", "indirect"))
    assert (block["ci_low"], block["ci_high"]) == pytest.approx(eff.interval("logp", "indirect"))
    assert payload["effects_draws"] == 300 and payload["seed"] == 5


@pytest.mark.parametrize("panel", ["panel.parquet", "panel.dta"])
def test_other_panel_formats(files, panel):
    base = _json(files, "panel.csv", "w.csv", "--effects", "0")
    other = _json(files, panel, "w.csv", "--effects", "0")
    assert other["coefficients"] == pytest.approx(base["coefficients"], abs=1e-10)
    assert other["effects"] is None


@pytest.mark.parametrize("suffix", [".npz", ".gal"])
def test_other_weights_formats(files, cigar_graph, suffix):
    write_weights(cigar_graph, files / f"w{suffix}")
    base = _json(files, "panel.csv", "w.csv", "--effects", "0", "--model", "sar", "--fe", "unit")
    other = _json(files, "panel.csv", f"w{suffix}", "--effects", "0", "--model", "sar", "--fe", "unit")
    assert other["rho"] == pytest.approx(base["rho"], abs=1e-12)


def test_out_writes_tables(files, tmp_path):
    result = CliRunner().invoke(app, ["fit", str(files / "panel.csv"), "--weights", str(files / "w.csv"), *ARGS,
                                      "--effects", "100", "--seed", "1", "--out", str(tmp_path / "tables")])
    assert result.exit_code == 0, result.output
    assert "Spatial Durbin (SDM) model" in result.output and "indirect" in result.output
    names = sorted(p.name for p in (tmp_path / "tables").iterdir() if p.name != ".spillmap-result")
    assert names == sorted(f"{a}{b}" for a in ("coefficients", "effects") for b in (".csv", ".md", ".tex"))


def test_errors(files, tmp_path):
    runner = CliRunner()
    bad_id = runner.invoke(app, ["fit", str(files / "panel.csv"), "--weights", str(files / "w.csv"),
                                 "--formula", "logc ~ logp", "--id", "fips", "--time", "year"])
    assert bad_id.exit_code == 1 and "has no column 'fips' (named by --id); its columns are: 'state', 'year'" in bad_id.output
    other = pd.read_csv(files / "w.csv")
    other.columns = [f"s{c}" for c in other.columns]
    other.to_csv(tmp_path / "other.csv", index=False)
    mismatch = runner.invoke(app, ["fit", str(files / "panel.csv"), "--weights", str(tmp_path / "other.csv"), *ARGS])
    assert mismatch.exit_code == 1 and "does not match the ids of the panel (46 unit(s) of the panel have no row" in mismatch.output
    (tmp_path / "panel.xlsx").write_text("")
    fmt = runner.invoke(app, ["fit", str(tmp_path / "panel.xlsx"), "--weights", str(files / "w.csv"), *ARGS])
    assert fmt.exit_code == 1 and "is a spreadsheet; save it as CSV" in fmt.output
    assert "Traceback" not in mismatch.output + fmt.output + bad_id.output


def test_vce_option(files):
    """--vce picks the covariance: cluster-robust standard errors differ from the information matrix's."""
    oim = _json(files, "panel.csv", "w.csv", "--effects", "0")
    cluster = _json(files, "panel.csv", "w.csv", "--effects", "0", "--vce", "cluster")
    assert oim["vce"] == "oim" and cluster["vce"] == "cluster"
    assert cluster["coefficients"] == oim["coefficients"]
    assert cluster["std_errors"]["rho"] != pytest.approx(oim["std_errors"]["rho"], rel=1e-3)


def test_formula_terms_and_fe_after_bar(files, cigar, cigar_graph):
    """A formulaic formula on the command line: transform, interaction, fixed effects after '|'."""
    result = CliRunner().invoke(app, ["fit", str(files / "panel.csv"), "--weights", str(files / "w.csv"),
                                      "--formula", "logc ~ logp + np.exp(logy) + logp:logy | state", "--id", "state",
                                      "--time", "year", "--json", "--effects", "0"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    res = fit_spatial_panel(cigar.assign(ey=np.exp(cigar["logy"]), py=cigar["logp"] * cigar["logy"]),
                            "logc ~ logp + ey + py", id_col="state", time_col="year", weights=cigar_graph,
                            model="sdm", fe="unit")
    assert payload["loglik"] == pytest.approx(res.loglik, rel=RTOL_JSON)
    assert payload["coefficients"]["np.exp(logy)"] == pytest.approx(res.params["ey"], rel=RTOL_JSON)
    assert payload["coefficients"]["W·logp:logy"] == pytest.approx(res.params["W·py"], rel=RTOL_JSON)


def test_formula_fe_conflict_is_one_message(files):
    result = CliRunner().invoke(app, ["fit", str(files / "panel.csv"), "--weights", str(files / "w.csv"),
                                      "--formula", "logc ~ logp | state", "--fe", "twoways", "--id", "state",
                                      "--time", "year"])
    assert result.exit_code == 1
    assert result.output.count("error:") == 1 and "fe='twoways'" in result.output, result.output
