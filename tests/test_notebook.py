"""The notebook API (:mod:`spillmap.study`) and the tutorial notebook.

``run_study`` on a tiny synthetic config gives every table, figure and layer as attributes, and its
``.save(folder)`` writes the same files, byte for byte for the tables, as ``spillmap run`` with that
config; ``data=`` and ``layer=`` stand in for the config's paths; ``import spillmap`` stays light. The
tutorial notebook ``examples/tutorial.ipynb`` runs through nbclient with no cell erroring.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TINY = """
[models]
placebo = 5
effects_draws = 50
bootstrap = 0
robust = false
leads = 2
lags = 2

[sweep]
band_km = 100.0
max_km = 200.0

[output]
seed = 5
workers = 0
"""
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The TINY config run by the CLI and by ``run_study``: (config file, CLI folder, StudyResult)."""
    from typer.testing import CliRunner

    from spillmap import run_study
    from spillmap.cli import app

    folder = tmp_path_factory.mktemp("study")
    config = folder / "tiny.toml"
    config.write_text(TINY, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(folder / "cli")])
    assert result.exit_code == 0, result.output
    with pytest.warns(UserWarning):  # the shipped pilot table's one unmatched entry, as the CLI says
        res = run_study(config)
    return config, folder / "cli", res


def test_attributes(tiny):
    import geopandas as gpd
    import pandas as pd

    _, _, res = tiny
    assert res.synthetic and "SYNTHETIC" in repr(res)
    for name in ("baseline", "event_study", "placebo", "sdid_effects", "sdid_coefficients", "sweep"):
        table = getattr(res, name)
        assert isinstance(table, pd.DataFrame) and len(table), name
    assert res.robust_att is None  # robust = false: no table, no error
    assert "did" in set(res.baseline["term"])
    assert len(res.placebo) == 5
    assert res.crossover is res.summary["sweep"] and "statement" in res.crossover
    assert {"did/event_study", "maps/effects_recv"} <= set(res.figures)
    assert all(p.is_file() for p in res.figures.values())
    assert isinstance(res.effects, gpd.GeoDataFrame) and {"own", "recv", "emit"} <= set(res.effects.columns)
    assert "weights_summary" in res.layers and any(k.startswith("sweep_") for k in res.layers)
    assert res.summary["did"]["baseline"] and res.summary["sdid"]


def test_save_writes_what_the_cli_writes(tiny, tmp_path):
    _, cli, res = tiny
    saved = res.save(tmp_path / "nb")

    def listing(folder: Path) -> set[str]:
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}

    assert listing(tmp_path / "nb") == listing(cli)
    assert {p.relative_to(tmp_path / "nb").as_posix() for p in saved} | {".spillmap-result"} == listing(cli)
    for rel in listing(cli):
        if rel.endswith((".csv", ".md", ".tex")):  # same seed, same tables byte for byte
            assert (tmp_path / "nb" / rel).read_bytes() == (cli / rel).read_bytes(), rel
    res.save(tmp_path / "nb")  # an earlier result is replaced, as by the CLI


def test_data_and_layer_stand_in_for_paths(tmp_path, make_grid):
    import pandas as pd

    from spillmap.study import Study

    grid = make_grid() if callable(make_grid) else make_grid
    panel = pd.DataFrame({"uid": ["g00", "g01"] * 2, "year": [2000, 2000, 2001, 2001], "y": [1.0, 2, 3, 4],
                          "fy": [2001, 0, 2001, 0]})
    study = Study({"panel": {"id": "uid", "time": "year", "outcome": "y", "first_year": "fy"},
                   "layer": {"id": "uid"}}, data=panel, layer=grid)
    config = study._checked(tmp_path)
    assert pd.read_parquet(config["panel"]["path"]).equals(panel)
    assert config["layer"]["path"] == str(tmp_path / "layer.gpkg") and config["layer"]["layer"] == "layer"


def test_import_stays_light():
    code = ("import sys, spillmap; assert callable(spillmap.run_study); "
            "print(sorted(m for m in ('pandas', 'geopandas', 'matplotlib', 'spillmap.run') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tutorial_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    notebook = nbformat.read(ROOT / "examples" / "tutorial.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    assert (tmp_path / "tutorial-out" / "report.html").is_file()
    assert any("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))
