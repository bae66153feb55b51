"""The spillmap command line (typer CliRunner).

Cases: `weights --ring 150 300` on the shipped layer names its islands by
code and name; `--json` gives the same summary as JSON; knn/queen/inverse
kinds; `--out` writes a weights file that reads back; a missing layer file,
a missing --id, a wrong id column and a bad island policy each give one
clear message naming the thing and exit non-zero; `demo --out` writes the
layer, weights and summaries, and an unwritable --out leaves nothing.
"""

from __future__ import annotations

import json

import pyogrio
import pytest
from pyproj import CRS
from typer.testing import CliRunner

from spillmap.cli import app


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_ring_names_islands(runner):
    result = runner.invoke(app, ["weights", "--ring", "150", "300"])
    assert result.exit_code == 0, result.output
    assert "150–300 km ring" in result.output
    summary = json.loads(runner.invoke(app, ["weights", "--ring", "150", "300", "--json"]).output)
    assert summary["n_islands"] == len(summary["islands"]) > 0
    for label in summary["islands"]:
        code, name = label.split(" ", 1)
        assert len(code) == 6 and code.isdigit() and name
        assert code in result.output
    assert 150 < summary["min_km"] <= summary["max_km"] <= 300


@pytest.mark.parametrize("args", [["--kind", "knn", "--k", "4"], ["--kind", "queen"], ["--cutoff", "400"]])
def test_other_kinds(runner, args):
    result = runner.invoke(app, ["weights", *args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n"] > 300
    if args[1] == "knn":
        assert summary["min_neighbours"] == summary["max_neighbours"] == 4


def test_city_seats_replace_centroids(runner, tmp_path, make_grid):
    from spillmap import gis

    layer = make_grid()
    path = tmp_path / "grid.gpkg"
    layer.to_file(path)
    seats = gis.representative_points(layer, "uid").rename(columns={"uid": "seat"})
    seats["geometry"] = seats.geometry.translate(0.4, 0.4)  # seats in the north-east of each cell
    seats.to_file(tmp_path / "seats.gpkg")
    args = ["weights", "--layer", str(path), "--id", "uid", "--kind", "knn", "--k", "1", "--json"]
    base = json.loads(runner.invoke(app, args).output)
    moved = runner.invoke(app, [*args, "--points", str(tmp_path / "seats.gpkg"), "--points-id", "seat"])
    assert moved.exit_code == 0, moved.output
    # the seats are the centroids shifted equally, so nearest-neighbour distances change only slightly
    assert json.loads(moved.output)["min_km"] != base["min_km"]
    missing = seats.iloc[:5]
    missing.to_file(tmp_path / "few.gpkg")
    bad = runner.invoke(app, [*args, "--points", str(tmp_path / "few.gpkg"), "--points-id", "seat"])
    assert bad.exit_code == 1 and "no point for 4 unit(s) of the layer" in bad.output


def test_out_writes_weights(runner, tmp_path):
    from spillmap.weights import read_weights

    out = tmp_path / "ring.npz"
    result = runner.invoke(app, ["weights", "--ring", "0", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_weights(out).n > 300


def test_bad_inputs_give_one_clear_message(runner, tmp_path, grid):
    result = runner.invoke(app, ["weights", "--layer", str(tmp_path / "none.gpkg"), "--id", "uid"])
    assert result.exit_code == 1 and "none.gpkg' does not exist" in result.output
    layer = tmp_path / "grid.gpkg"
    grid.to_file(layer)
    result = runner.invoke(app, ["weights", "--layer", str(layer)])
    assert result.exit_code == 1 and "--id" in result.output
    result = runner.invoke(app, ["weights", "--layer", str(layer), "--id", "adcode"])
    assert result.exit_code == 1 and "has no column 'adcode'; its columns are: uid, name, value" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["weights", "--islands", "ignore"])
    assert result.exit_code == 2 and "ignore" in result.output


def test_islands_error_policy(runner, tmp_path, grid):
    layer = tmp_path / "grid.gpkg"
    grid.to_file(layer)
    result = runner.invoke(app, ["weights", "--layer", str(layer), "--id", "uid", "--name", "name",
                                 "--ring", "0", "50", "--islands", "error"])
    assert result.exit_code == 1
    assert "9 of 9 units have no neighbour under the 0–50 km ring: 'g00 格00'" in result.output


def test_demo_writes_outputs(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["demo", "--out", str(out), "--placebo", "50"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"layer.gpkg", "weights_inverse.npz", "weights_inverse.gwt", "weights_summary.json", "rings.csv",
            "pilots_unmatched.csv", "report.html", "spillmap.gpkg", "manifest.json", "did", "sdid", "sweep",
            "maps"} <= names
    assert "open" in result.stdout and "report.html" in result.stdout
    # the study's shape on the synthetic data: spillover near, siphon farther out
    import pyogrio

    recv = {band: pyogrio.read_dataframe(out / "spillmap.gpkg", layer=f"sweep_{band}")["recv"].mean()
            for band in ("0050_0100", "0100_0150", "0150_0200", "0200_0250", "0250_0300")}
    assert recv["0050_0100"] > 0 and recv["0100_0150"] > 0
    assert recv["0150_0200"] < 0 and recv["0200_0250"] < 0 and recv["0250_0300"] < 0
    summary = json.loads((out / "sweep" / "sweep_summary.json").read_text())
    assert summary["crossover"]["kind"] == "crossing" and 100 < summary["crossover"]["radius_km"] < 200
    assert "SYNTHETIC DATA" in (out / "report.html").read_text(encoding="utf-8")
    report = json.loads((out / "weights_summary.json").read_text())
    assert report["weights"]["n_islands"] == 0
    assert report["layer"]["output_crs"] == "ESRI:102025"  # the written layers' CRS (computations: "crs")
    assert CRS.from_user_input(pyogrio.read_info(out / "layer.gpkg")["crs"]).to_authority() == ("ESRI", "102025")
    assert sum(report["layer"]["treated_by_year"].values()) > 100
    assert len(report["rings"]) == 12


def test_demo_unusable_out(runner, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    result = runner.invoke(app, ["demo", "--out", str(blocker / "out")])
    assert result.exit_code == 1 and "Cannot create the output folder" in result.output
    assert "report.txt" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(runner, monkeypatch):
    """The last resort: an exception spillmap does not expect is one error line (exit 1), no traceback;
    SPILLMAP_DEBUG=1 lets it through."""
    from spillmap import gis

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(gis, "pairwise_distances", broken)
    result = runner.invoke(app, ["weights", "--cutoff", "300"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "error: unexpected ZeroDivisionError: boom" in " ".join(result.output.split())
    assert "Traceback" not in result.output and "SPILLMAP_DEBUG=1" in " ".join(result.output.split())
    monkeypatch.setenv("SPILLMAP_DEBUG", "1")
    assert isinstance(runner.invoke(app, ["weights", "--cutoff", "300"]).exception, ZeroDivisionError)


@pytest.mark.parametrize("args, words", [
    (["--cutoff", "-5"], "--cutoff must be a positive distance in km, not -5"),
    (["--ring", "300", "150"], "--ring takes INNER OUTER km with 0 ≤ INNER < OUTER, not 300 150"),
    (["--kind", "ring"], "--kind ring needs --ring INNER OUTER (km)"),
])
def test_weights_distance_options_checked(runner, args, words, tmp_path):
    from tests.bad_inputs import run_bad

    run_bad(["weights", *args], expect=words, runner=runner)
