"""Bad layers, CRSs and weights files through every command that takes them (issue 12, points 1 and 5).

Each case of ``tests/data/bad_inputs/layers/`` (README.md there says what is wrong with each) runs
through ``weights``, ``sweep``, ``zonal`` and ``run`` (layers) or ``fit`` and ``sdid`` (weights files)
with :func:`bad_inputs.run_bad`: exit 1, one ``error:`` line naming the file and the fix *of that
command* (``--layer-name`` / ``--layer-id`` / ``[layer] crs`` …), no traceback, nothing new in
``--out``, input bytes unchanged. A layer crossing the antimeridian is not an error: its distances
must equal those of the same grid away from 180°.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from bad_inputs import BAD_INPUTS, run_bad

from spillmap.cli import app

CASES = BAD_INPUTS / "layers"
PANEL = CASES / "panel.csv"
WEIGHTS = CASES / "weights"
LAYER_COMMANDS = ("weights", "sweep", "zonal", "run")
WEIGHTS_COMMANDS = ("fit", "sdid")


def fix(command: str, key: str, value: str | None = None) -> str:
    """How ``command`` names a layer option in its messages (``--crs EPSG:4326``, ``[layer] crs = "…"``)."""
    if command == "run":
        name = f"[layer] {key}"
        return name if value is None else f'{name} = "{value}"'
    name = {"layer": "--layer-name", "id": "--layer-id" if command == "sweep" else "--id"}.get(key, f"--{key}")
    return name if value is None else f"{name} {value}"


@pytest.fixture(scope="module")
def raster(tmp_path_factory) -> Path:
    """A 1-band GeoTIFF over the grid (lon 109…114, lat 29…34) for ``zonal``."""
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path_factory.mktemp("raster") / "ntl_2015.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=50, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(109.0, 34.0, 0.1, 0.1)) as dst:
        dst.write(np.ones((1, 50, 50), dtype="float32"))
    return path


def _out(tmp_path: Path) -> Path:
    """An existing --out folder holding a previous result, which must come through untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("an earlier run\n", encoding="utf-8")
    return out


def layer_args(command: str, layer: Path, options: dict[str, str], id_col: str, tmp_path: Path, out: Path,
               raster: Path) -> list[str]:
    flags = [a for key, value in options.items() for a in (f"--{'layer-name' if key == 'layer' else key}", value)]
    if command == "weights":
        return ["weights", "--layer", layer, "--id", id_col, *flags, "--out", out / "w.gal"]
    if command == "sweep":
        return ["sweep", PANEL, "--y", "y", "--id", "uid", "--time", "year", "--treated-col", "did", "--layer", layer,
                "--layer-id", id_col, *flags, "--workers", "0", "--effects", "50", "--out", out]
    if command == "zonal":
        return ["zonal", "--layer", layer, "--id", id_col, "--raster", raster, *flags, "--out", out / "z.csv"]
    keys = "".join(f'{k} = "{v}"\n' for k, v in options.items())
    config = tmp_path / "run.toml"
    config.write_text(
        f'[layer]\npath = "{layer.as_posix()}"\nid = "{id_col}"\n{keys}\n'
        f'[panel]\npath = "{PANEL.as_posix()}"\nid = "uid"\ntime = "year"\noutcome = "y"\ntreated = "did"\n\n'
        "[models]\nplacebo = 0\neffects_draws = 50\n\n[output]\nworkers = 0\n",
        encoding="utf-8",
    )
    return ["run", config, "--out", out]


def _shp(name: str) -> Path:
    return CASES / name / "units.shp"


#: (case id, layer file, options, id column, fragments the error must hold: str or command → str)
LAYER_CASES = [
    # encodings
    ("cpg-utf8-but-gbk", _shp("cpg_says_utf8_dbf_gbk"), {}, "uid",
     ["units.shp", "not UTF-8", ".cpg declares 'UTF-8'", "GB18030", lambda c: fix(c, "encoding", "gb18030")]),
    ("encoding-klingon", _shp("gbk_no_cpg"), {"encoding": "klingon"}, "uid",
     ["units.shp", "unknown encoding 'klingon'", lambda c: fix(c, "encoding"), "gb18030"]),
    ("encoding-utf8-on-gbk", _shp("gbk_no_cpg"), {"encoding": "utf-8"}, "uid",
     ["units.shp", "not UTF-8", lambda c: fix(c, "encoding", "gb18030")]),
    # CRS
    ("no-prj", _shp("utm_no_prj"), {}, "uid",
     ["units.shp", "no coordinate reference system", ".prj", lambda c: fix(c, "crs", "EPSG:4326")]),
    ("no-prj-given-degrees", _shp("utm_no_prj"), {"crs": "EPSG:4326"}, "uid",
     ["units.shp", "not degrees", "look like metres", lambda c: fix(c, "crs", "EPSG:32650")]),
    ("crs-nonsense", _shp("utm_no_prj"), {"crs": "nonsense"}, "uid",
     ["not a CRS pyproj understands", lambda c: fix(c, "crs"), "EPSG:4326"]),
    ("crs-conflicts", CASES / "two_layers.gpkg", {"layer": "cities", "crs": "EPSG:3857"}, "uid",
     ["two_layers.gpkg", "declares EPSG:4326", lambda c: "drop " + fix(c, "crs")]),
    ("degrees-labelled-metres", _shp("degrees_labelled_metres"), {}, "uid",
     ["units.shp", "UTM zone 49N", "look like longitude/latitude", "EPSG:4326", "Assigned Coordinate Reference"]),
    ("metres-labelled-degrees", _shp("metres_labelled_degrees"), {}, "uid",
     ["units.shp", "not degrees", "look like metres", "Assigned Coordinate Reference"]),
    ("huge-coordinates", CASES / "huge_coordinates.geojson", {}, "uid",
     ["huge_coordinates.geojson", "far beyond the Earth", "millimetres"]),
    ("lat-lon-swapped", CASES / "lat_lon_swapped.geojson", {}, "uid",
     ["lat_lon_swapped.geojson", "look swapped", "Swap X and Y"]),
    ("garbage-prj", _shp("garbage_prj"), {}, "uid",
     ["units.shp", "missing or unreadable", lambda c: fix(c, "crs", "EPSG:4326")]),
    # files
    ("no-dbf", _shp("no_dbf"), {}, "uid", ["units.shp", "'units.dbf' is not beside it", "copy them all together"]),
    ("no-shx", _shp("no_shx"), {}, "uid", ["units.shp", "'units.shx' is not beside it", "GeoPackage"]),
    ("zero-bytes-shp", CASES / "zero_bytes.shp", {}, "uid", ["zero_bytes.shp", "empty (0 bytes)", "export the layer"]),
    ("zero-bytes-gpkg", CASES / "zero_bytes.gpkg", {}, "uid", ["zero_bytes.gpkg", "empty (0 bytes)"]),
    ("zero-bytes-geojson", CASES / "zero_bytes.geojson", {}, "uid", ["zero_bytes.geojson", "empty (0 bytes)"]),
    ("truncated-geojson", CASES / "truncated.geojson", {}, "uid",
     ["truncated.geojson", "not a vector layer", "Unterminated", "export it again"]),
    ("csv-named-gpkg", CASES / "not_a_layer.gpkg", {}, "uid",
     ["not_a_layer.gpkg", "not a vector layer", "GeoPackage"]),
    ("missing-file", CASES / "no_such_layer.gpkg", {}, "uid", ["no_such_layer.gpkg", "does not exist"]),
    ("two-layers-unnamed", CASES / "two_layers.gpkg", {}, "uid",
     ["two_layers.gpkg", "2 layers (cities, provinces)", lambda c: fix(c, "layer", "cities")]),
    ("layer-name-typo", CASES / "two_layers.gpkg", {"layer": "citys"}, "uid",
     ["two_layers.gpkg", "no layer 'citys'", "did you mean 'cities'", lambda c: fix(c, "layer")]),
    ("no-features", CASES / "no_features.gpkg", {}, "uid", ["no_features.gpkg", "no features (0 rows)"]),
    ("null-geometry", CASES / "null_geometry.geojson", {}, "uid", ["null_geometry.geojson", "'g11'", "no or an empty geometry"]),
    ("empty-geometry", CASES / "empty_geometry.geojson", {}, "uid", ["empty_geometry.geojson", "'g02'", "empty geometry"]),
    ("collapsed-geometry", CASES / "collapsed_geometry.geojson", {}, "uid",
     ["collapsed_geometry.geojson", "'g10'", "enclose no area"]),
    ("nan-coordinates", CASES / "nan_coordinates.geojson", {}, "uid",
     ["nan_coordinates.geojson", "cannot build", "export it again"]),
    ("points-not-polygons", CASES / "points_not_polygons.geojson", {}, "uid",
     ["points_not_polygons.geojson", "expected Polygon/MultiPolygon", "found Point",
      lambda c: "--points" if c == "weights" else "centroids"]),
    ("duplicate-ids", CASES / "duplicate_ids.geojson", {}, "uid",
     ["duplicate_ids.geojson", "'g00' on rows 1, 6", "Dissolve"]),
    ("missing-ids", CASES / "missing_ids.geojson", {}, "uid",
     ["missing_ids.geojson", "empty on 2 row(s)", "rows 2, 8"]),
    ("id-column-absent", CASES / "null_geometry.geojson", {}, "code",
     ["null_geometry.geojson", "no column 'code'", "uid, name, value", lambda c: "with " + fix(c, "id")]),
    ("id-column-typo", CASES / "null_geometry.geojson", {}, "UID",
     ["no column 'UID'", "did you mean 'uid'", lambda c: "with " + fix(c, "id")]),
]


@pytest.mark.parametrize("command", LAYER_COMMANDS)
@pytest.mark.parametrize(("layer", "options", "id_col", "expect"),
                         [pytest.param(*case[1:], id=case[0]) for case in LAYER_CASES])
def test_bad_layer(command, layer, options, id_col, expect, tmp_path, raster):
    if command == "run" and options.get("encoding") == "klingon":
        pass  # the config takes any text: the codec is checked where the layer is read
    out = _out(tmp_path)
    fragments = [f(command) if callable(f) else f for f in expect]
    inputs = [layer.parent if layer.suffix == ".shp" else layer] if layer.exists() else []
    message = run_bad(layer_args(command, layer, options, id_col, tmp_path, out, raster), expect=fragments,
                      out=out, inputs=[*inputs, PANEL])
    # no command advises an option it does not have
    other = {"weights": ["[layer]", "--layer-id"], "zonal": ["[layer]", "--layer-id", "--points"],
             "sweep": ["[layer]", "--points", "with --id"], "run": ["--"]}[command]
    for wrong in other:
        assert wrong not in message, f"{command} advises {wrong!r}: {message}"
    assert "(CLI:" not in message and "=..." not in message


#: (case id, weights file, fragments)
WEIGHTS_CASES = [
    ("zero-bytes-gal", "zero_bytes.gal", ["zero_bytes.gal", "empty (0 bytes)", "write the weights again"]),
    ("zero-bytes-gwt", "zero_bytes.gwt", ["zero_bytes.gwt", "empty (0 bytes)"]),
    ("zero-bytes-csv", "zero_bytes.csv", ["zero_bytes.csv", "empty (0 bytes)"]),
    ("zero-bytes-npz", "zero_bytes.npz", ["zero_bytes.npz", "empty (0 bytes)"]),
    ("negative-gwt", "negative.gwt", ["negative.gwt", "line 2", "'g00' → 'g01'", "negative (-0.5)", "≥ 0"]),
    ("infinite-gwt", "infinite.gwt", ["infinite.gwt", "line 14", "'g11' → 'g12' is inf", "finite"]),
    ("nan-gwt", "nan_weight.gwt", ["nan_weight.gwt", "line 11", "is nan"]),
    ("text-weight-gwt", "text_weight.gwt", ["text_weight.gwt", "line 11", "'near', not a number"]),
    ("two-fields-gwt", "two_columns.gwt", ["two_columns.gwt", "line 2", "3 fields"]),
    ("self-loop-gwt", "self_loop.gwt", ["self_loop.gwt", "'g11' is its own neighbour", "zero diagonal"]),
    ("negative-csv", "negative.csv", ["negative.csv", "data row 1", "negative (-1)"]),
    ("infinite-csv", "infinite.csv", ["infinite.csv", "data row 5", "is inf"]),
    ("diagonal-csv", "diagonal.csv", ["diagonal.csv", "'g20' is its own neighbour"]),
    ("not-square-csv", "not_square.csv", ["not_square.csv", "square matrix", "9 rows under 8 header columns"]),
    ("text-cell-csv", "text_cell.csv", ["text_cell.csv", "data row 3, column 'g11' holds '1,5'"]),
    ("empty-cell-csv", "empty_cell.csv", ["empty_cell.csv", "empty cell at data row 4, column 'g01'", "write 0"]),
    ("semicolon-csv", "semicolons.csv", ["semicolons.csv", "semicolons", "comma-separated"]),
    ("duplicate-header-csv", "duplicate_header.csv", ["duplicate_header.csv", "repeats id 'g00'"]),
    ("extra-id-gal", "extra_id.gal", ["extra_id.gal", "not in the panel: 'x99'", "Rebuild the weights"]),
    ("missing-unit-gal", "missing_unit.gal", ["missing_unit.gal", "panel have no row: 'g22'"]),
    ("count-mismatch-gal", "count_mismatch.gal", ["count_mismatch.gal", "line 3", "announces 5", "2 are listed"]),
    ("truncated-gal", "truncated.gal", ["truncated.gal", "ends after line 6", "cut short"]),
    ("bad-header-gal", "bad_header.gal", ["bad_header.gal", "line 1", "GeoDa .gal header"]),
    ("unknown-neighbour-gal", "unknown_neighbour.gal", ["unknown_neighbour.gal", "'zz9'", "no neighbour list"]),
    ("not-a-zip-npz", "not_spillmap.npz", ["not_spillmap.npz", "not a .npz archive"]),
    ("unknown-suffix", "weights.txt", ["weights.txt", "Cannot tell the format", ".gal, .gwt, .npz, .csv"]),
    ("missing-file", "no_such.gal", ["no_such.gal", "does not exist"]),
    ("folder", ".", ["is a folder"]),
]


def weights_args(command: str, path: Path, out: Path) -> list[str]:
    if command == "fit":
        return ["fit", PANEL, "--weights", path, "--formula", "y ~ x", "--id", "uid", "--time", "year",
                "--effects", "0", "--out", out]
    return ["sdid", PANEL, "--weights", path, "--y", "y", "--id", "uid", "--time", "year", "--treated-col", "did",
            "--effects", "50", "--no-event-study", "--workers", "0", "--out", out]


@pytest.mark.parametrize("command", WEIGHTS_COMMANDS)
@pytest.mark.parametrize(("name", "expect"), [pytest.param(*case[1:], id=case[0]) for case in WEIGHTS_CASES])
def test_bad_weights_file(command, name, expect, tmp_path):
    path = WEIGHTS / name if name != "." else WEIGHTS
    out = _out(tmp_path)
    inputs = [path, PANEL] if path.exists() else [PANEL]
    run_bad(weights_args(command, path, out), expect=expect, out=out, inputs=inputs)


def test_good_weights_files_fit():
    """The valid companions of the cases are read alike (.gal and the square .csv)."""
    runner = CliRunner()
    fits = [runner.invoke(app, [str(a) for a in weights_args("fit", WEIGHTS / n, Path("unused"))[:-2]] + ["--json"])
            for n in ("good.gal", "good.csv")]
    assert [r.exit_code for r in fits] == [0, 0], [r.output for r in fits]
    assert json.loads(fits[0].stdout)["coefficients"] == json.loads(fits[1].stdout)["coefficients"]


def _summary(*args: str) -> dict:
    result = CliRunner().invoke(app, ["weights", *args, "--id", "uid", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("distance", ["geodesic", "planar"])
def test_antimeridian_layer_is_projected_around_it(distance, tmp_path):
    """Cells 178.5°E…178.5°W: distances as for the same grid away from 180° (no 'data must be finite')."""
    from conftest import grid_layer

    crossing = _summary("--layer", str(CASES / "antimeridian.geojson"), "--distance", distance)
    away = tmp_path / "away.geojson"
    grid_layer(3, lon0=100.5).to_file(away, driver="GeoJSON")
    reference = _summary("--layer", str(away), "--distance", distance)
    for key in ("n_links", "min_neighbours", "max_neighbours"):
        assert crossing[key] == reference[key]
    # centroids are taken in each layer's own metric projection (UTM away from 180°, azimuthal across it)
    tol = 1e-4 if distance == "geodesic" else 2e-3
    assert crossing["min_km"] == pytest.approx(reference["min_km"], rel=tol)
    assert crossing["max_km"] == pytest.approx(reference["max_km"], rel=tol)
    assert _summary("--layer", str(CASES / "antimeridian.geojson"), "--kind", "queen")["n_links"] == 40


def test_suggested_crs_centres_on_the_antimeridian():
    import geopandas as gpd
    from spillmap.gis._project import longitude_range

    from spillmap import gis

    layer = gpd.read_file(CASES / "antimeridian.geojson")
    assert longitude_range(layer) == pytest.approx((178.5, 181.5))
    crs = gis.suggest_metric_crs(layer)
    lon_0 = {p.name: p.value for p in crs.coordinate_operation.params}["Longitude of natural origin"]
    assert abs(abs(lon_0) - 180.0) < 1e-9
    projected = gis.to_projected(layer)
    assert np.isfinite(projected.total_bounds).all()
    assert projected.total_bounds[2] - projected.total_bounds[0] < 400_000  # 3 cells, not the globe


def test_gbk_attributes_without_cpg_are_read():
    from spillmap import gis

    layer = gis.read_layer(_shp("gbk_no_cpg"), "uid")
    assert layer["name"].tolist()[:2] == ["格00", "格01"]


def test_library_messages_name_keyword_arguments():
    from spillmap import gis
    from spillmap.errors import CRSError, LayerReadError

    with pytest.raises(LayerReadError, match=r"e.g. layer='cities'"):
        gis.read_layer(CASES / "two_layers.gpkg", "uid")
    with pytest.raises(CRSError, match=r"crs='EPSG:4326'"):
        gis.read_layer(_shp("utm_no_prj"), "uid")
