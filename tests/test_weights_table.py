"""`spillmap run` with several weights matrices: `[weights] matrices` and `main`, and the `sdid_by_weights` table.

Cases: on the shipped layer and the synthetic panel (no DID chain, no sweep, few draws) a geographic, an
economic-distance and a nested matrix each get one SDM-DID column (direct, indirect, total with SE in parentheses
and stars, rho, N, log-likelihood) in CSV, Markdown and LaTeX, the main one's effects are the run's headline; a
`[[weights.matrices]]` array of tables reads the same; a weights file is one more kind; the single-kind config
still works; mistakes name the `[weights]` key.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.config import ConfigError, load_config

BASE = """
[models]
did = false
placebo = 0
effects_draws = 50
event_study = false

[sweep]
enabled = false

[output]
workers = 0
formats = ["gpkg"]
"""

MATRICES = """
[weights]
matrices = [{name = "geo", kind = "inverse", cutoff_km = 300}, {name = "econ", kind = "economic", column = "x1"},
            {name = "nested", kind = "nested", column = "x1", cutoff_km = 600}]
main = "econ"
"""


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_run_writes_one_column_per_matrix(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(_write(tmp_path / "c.toml", MATRICES + BASE)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for suffix in (".csv", ".md", ".tex"):
        assert (out / f"sdid_by_weights{suffix}").is_file()
    table = pd.read_csv(out / "sdid_by_weights.csv", keep_default_na=False)
    assert ["geo", "econ", "nested"] == [c for c in table.columns if c not in ("Unnamed: 0", "SYNTHETIC")]
    labels = list(table.iloc[:, 0])
    assert labels[:9] == ["Direct", "", "Indirect", "", "Total", "", "ρ", "N", "Log-likelihood"]
    assert table.loc[1, "geo"].startswith("(") and table.loc[0, "geo"].endswith("***")  # the demo's direct effect
    assert table.loc[7, "nested"] == "4,026"
    summary = json.loads((out / "sdid" / "sdid_summary.json").read_text())
    assert summary["sdm_did"]["did_effects"]["direct"]["estimate"] == pytest.approx(
        float(table.loc[0, "econ"].rstrip("*")), abs=1e-3)  # main = "econ" is the run's SDM-DID
    assert "econ" in (out / "sdid_by_weights.tex").read_text()


def test_array_of_tables_and_file_kind(tmp_path):
    text = """
[weights]
main = "file"

[[weights.matrices]]
name = "geo"
cutoff_km = 300

[[weights.matrices]]
name = "file"
path = "w.gal"
"""
    cfg = load_config(_write(tmp_path / "sub" / "c.toml", text + BASE))
    geo, file = cfg["weights"]["matrices"]
    assert geo["kind"] == "inverse" and geo["cutoff_km"] == 300
    assert file["kind"] == "file" and file["path"] == str((tmp_path / "sub" / "w.gal").resolve())
    assert cfg["weights"]["main"] == "file"


def test_single_kind_config_unchanged(tmp_path):
    cfg = load_config(_write(tmp_path / "c.toml", "[weights]\nkind = 'knn'\nk = 4\n"))
    assert cfg["weights"]["kind"] == "knn" and cfg["weights"]["matrices"] == [] and cfg["weights"]["main"] is None


@pytest.mark.parametrize(("weights", "message"), [
    ("matrices = [{name = 'a', kind = 'economic'}]", "[weights] matrices[0] (name = 'a') kind = 'economic' needs column"),
    ("matrices = [{name = 'a', kind = 'gravity'}]", "[weights] matrices[0] (name = 'a') kind = 'gravity'; choose one of"),
    ("matrices = [{nme = 'a'}]", "unknown key 'nme' in [weights] matrices[0] (did you mean 'name'?)"),
    ("matrices = [{kind = 'inverse'}]", "[weights] matrices[0] needs a name"),
    ("matrices = [{name = 'a'}, {name = 'a', kind = 'knn'}]", "the name is used twice in [weights] matrices"),
    ("matrices = [{name = 'a', kind = 'file'}]", "kind = 'file' needs path"),
    ("matrices = [{name = 'a', kind = 'ring'}]", "kind = 'ring' needs cutoff_km"),
    ("matrices = [{name = 'a', cutoff_km = -1}]", "[weights] matrices[0] cutoff_km = -1; it must be"),
    ("matrices = [{name = 'a'}]\nmain = 'b'", "[weights] main = 'b' is not a name in [weights] matrices (a)"),
    ("main = 'b'", "[weights] main = 'b' names a matrix, but [weights] matrices lists none"),
    ("matrices = ['geo']", "[weights] matrices[0] must be a table"),
])
def test_matrix_config_errors(tmp_path, weights, message):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path / "c.toml", f"[weights]\n{weights}\n"))
    assert message in str(err.value)


def test_economic_column_not_in_panel(tmp_path):
    text = "[weights]\nmatrices = [{name = 'econ', kind = 'economic', column = 'gdp'}]\n" + BASE
    result = CliRunner().invoke(app, ["run", str(_write(tmp_path / "c.toml", text)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "[weights] matrices[0] (name = 'econ') column = 'gdp' is not a panel column" in result.output
