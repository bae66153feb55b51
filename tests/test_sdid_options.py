"""`spillmap sdid --model/--fe/--vce`: the spatial DID, its fixed effects and standard errors chosen like `fit`.

Cases (synthetic demo panel, few draws, no event study): each option reaches the fit and is echoed in the
headline; sar has no W·did coefficient but still an indirect effect through rho; a model sdid does not fit
(sem: no spillover of DID) is refused by the option parser.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spillmap.cli import app


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def _sdid(runner, tmp_path, *extra):
    result = runner.invoke(app, ["sdid", "--out", str(tmp_path / "o"), "--effects", "50", "--cutoff", "150",
                                 "--no-event-study", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["sdm_did"]


@pytest.mark.parametrize("model", ["sar", "slx"])
def test_sdid_model(runner, tmp_path, model):
    head = _sdid(runner, tmp_path, "--model", model)
    assert head["model"] == model
    assert set(head["did_effects"]) == {"direct", "indirect", "total"}
    assert ("W·did" in head["coefficients"]) == (model != "sar")


def test_sdid_model_sem_refused(runner, tmp_path):
    result = runner.invoke(app, ["sdid", "--out", str(tmp_path / "o"), "--model", "sem"])
    assert result.exit_code == 2 and "sem" in result.output


def test_sdid_fe(runner, tmp_path):
    assert _sdid(runner, tmp_path, "--fe", "unit")["fe"] == "unit"


def test_sdid_vce(runner, tmp_path):
    assert _sdid(runner, tmp_path, "--vce", "robust")["vce"] == "robust"
