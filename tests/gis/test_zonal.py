"""zonal_stats / merge_zonal / rasters_from_pattern / run_zonal and the `zonal` command.

Cases: two 8×8 GeoTIFFs (EPSG:32650, 10 m pixels, value = 8·row + col;
2015 with a nodata pixel, 2016 float with a NaN pixel and a masked pixel)
and four square units with string ids: 'a' and 'b' inside, 'c' outside the
raster, 'd' smaller than a pixel. mean/sum/count equal a hand count of the
pixel centres inside each square, with the layer in the raster's CRS and in
a geographic CRS (EPSG:4326, reprojected), with all_touched off and on (which
changes 'a' and 'd'); shuffled rows give the same values per id; the outside
and sub-pixel units get count 0 and NaN mean/sum and are named in a warning;
periods come from mapping keys, from years in file names, and from
`rasters_from_pattern` ({year} and glob); errors name the file: missing
raster, raster without CRS, no year in a name, shared year, band out of
range, layer outside the raster, layer without CRS, unknown statistic, too
long prefix; merge_zonal keeps the panel's rows and index, matches numeric
panel ids to text layer ids and reports rows without values; the CLI (a
local typer app) writes CSV and Parquet, merges into a panel, prints JSON
and exits 1 with the file named on errors.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import typer
from rasterio.transform import from_origin
from typer.testing import CliRunner

from spillmap._zonal_cli import run_zonal, zonal
from spillmap.errors import CRSError, LayerError, LayerReadError, PanelShapeError, SpillmapWarning
from spillmap.gis._zonal import merge_zonal, rasters_from_pattern, year_from_name, zonal_stats

#: Sums of at most 16 float32 pixel values accumulated in float64: exact up to rounding.
RTOL_CLOSED = 1e-12

CRS_UTM = "EPSG:32650"
X0, Y0, PIXEL, N = 500_000.0, 3_000_080.0, 10.0, 8
NODATA_2015 = (5, 5)  # (row, col), inside 'b'
NAN_2016 = (1, 2)  # inside 'a'
MASKED_2016 = (6, 4)  # inside 'b'

UNITS = {
    "a": (500_008, 3_000_048, 500_032, 3_000_072),  # centres of rows 1–2, cols 1–2; touches rows/cols 0–3
    "b": (500_041, 3_000_001, 500_079, 3_000_039),  # rows 4–7, cols 4–7 either way
    "c": (600_000, 3_000_000, 600_050, 3_000_050),  # outside the raster
    "d": (500_001, 3_000_001, 500_004, 3_000_004),  # inside pixel (7, 0) but not over its centre
}


def _values() -> np.ndarray:
    return np.arange(N * N, dtype=np.float64).reshape(N, N)


def _write_tif(path, values, *, nodata=None, crs=CRS_UTM, mask=None, bands=1):
    with rasterio.open(
        path, "w", driver="GTiff", width=N, height=N, count=bands, dtype=values.dtype.name,
        crs=crs, transform=from_origin(X0, Y0, PIXEL, PIXEL), nodata=nodata,
    ) as dst:
        for b in range(1, bands + 1):
            dst.write(values, b)
        if mask is not None:
            dst.write_mask(np.where(mask, 255, 0).astype("uint8"))
    return path


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """{year: path} and, per year, the pixel values and validity used by the hand count."""
    folder = tmp_path_factory.mktemp("rasters")
    v15 = _values().astype("int16")
    v15[NODATA_2015] = -9999
    valid15 = np.ones((N, N), bool)
    valid15[NODATA_2015] = False
    v16 = (_values() * 2 + 0.5).astype("float32")
    v16[NAN_2016] = np.nan
    keep16 = np.ones((N, N), bool)
    keep16[MASKED_2016] = False
    valid16 = keep16.copy()
    valid16[NAN_2016] = False
    paths = {
        2015: _write_tif(folder / "ntl_2015.tif", v15, nodata=-9999),
        2016: _write_tif(folder / "ntl_2016.tif", v16, mask=keep16),
    }
    truth = {2015: (v15.astype(np.float64), valid15), 2016: (v16.astype(np.float64), valid16)}
    return paths, truth


def _layer(crs: str = CRS_UTM) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"uid": list(UNITS), "name": ["甲", "乙", "丙", "丁"]},
        geometry=[shapely.box(*b) for b in UNITS.values()], crs=CRS_UTM,
    )
    return frame.to_crs(crs)


def _spillmap_message(caught) -> str:
    """The one SpillmapWarning among those recorded (rasterio adds affine deprecation warnings)."""
    (message,) = [str(w.message) for w in caught if issubclass(w.category, SpillmapWarning)]
    return message


def _hand(uid: str, values: np.ndarray, valid: np.ndarray, all_touched: bool) -> tuple[float, float, int]:
    """Mean, sum and count over the pixels whose centre lies inside (or that touch) the unit's square."""
    xmin, ymin, xmax, ymax = UNITS[uid]
    picked = []
    for r in range(N):
        for c in range(N):
            left, top = X0 + c * PIXEL, Y0 - r * PIXEL
            if all_touched:
                hit = left < xmax and left + PIXEL > xmin and top - PIXEL < ymax and top > ymin
            else:
                cx, cy = left + PIXEL / 2, top - PIXEL / 2
                hit = xmin < cx < xmax and ymin < cy < ymax
            if hit and valid[r, c]:
                picked.append(values[r, c])
    total = float(np.sum(picked)) if picked else np.nan
    return (total / len(picked) if picked else np.nan), total, len(picked)


@pytest.mark.parametrize("crs", [CRS_UTM, "EPSG:4326"])
@pytest.mark.parametrize("all_touched", [False, True])
def test_matches_hand_count(series, crs, all_touched):
    paths, truth = series
    with pytest.warns(SpillmapWarning, match="'c' \\(2015, 2016\\)"):
        out = zonal_stats(_layer(crs), paths, id_col="uid", all_touched=all_touched)
    assert list(out.columns) == ["uid", "period", "mean", "sum", "count"]
    assert out["period"].tolist() == [2015] * 4 + [2016] * 4
    assert out["uid"].tolist() == list(UNITS) * 2
    for row in out.itertuples(index=False):
        mean, total, count = _hand(row.uid, *truth[row.period], all_touched)
        assert row.count == count, (row.uid, row.period)
        np.testing.assert_allclose([row.mean, row.sum], [mean, total], rtol=RTOL_CLOSED, equal_nan=True)


def test_all_touched_and_empty_units(series):
    paths, _ = series
    with pytest.warns(SpillmapWarning) as caught:
        centre = zonal_stats(_layer(), paths, id_col="uid").set_index(["uid", "period"])
    message = _spillmap_message(caught)
    assert "2 unit(s) have no valid pixel" in message and "'c' (2015, 2016), 'd' (2015, 2016)" in message
    assert "all_touched=True" in message
    with pytest.warns(SpillmapWarning, match="1 unit\\(s\\)"):
        touched = zonal_stats(_layer(), paths, id_col="uid", all_touched=True).set_index(["uid", "period"])
    assert centre.loc[("a", 2015), "count"] == 4 and touched.loc[("a", 2015), "count"] == 16
    assert centre.loc[("d", 2015), "count"] == 0 and touched.loc[("d", 2015), "count"] == 1
    assert touched.loc[("d", 2015), "mean"] == 56.0  # pixel (7, 0)
    assert centre.loc[("b", 2015), "count"] == touched.loc[("b", 2015), "count"] == 15  # one nodata pixel
    outside = centre.loc[("c", 2016)]
    assert outside["count"] == 0 and np.isnan(outside["mean"]) and np.isnan(outside["sum"])


def test_shuffled_rows_and_stats(series):
    paths, _ = series
    with pytest.warns(SpillmapWarning):
        base = zonal_stats(_layer(), paths, id_col="uid")
        shuffled = zonal_stats(_layer().iloc[[2, 0, 3, 1]], paths, id_col="uid")
    assert shuffled["uid"].tolist()[:4] == ["c", "a", "d", "b"]
    key = ["uid", "period"]
    pd.testing.assert_frame_equal(
        base.sort_values(key).reset_index(drop=True), shuffled.sort_values(key).reset_index(drop=True)
    )
    with pytest.warns(SpillmapWarning):
        some = zonal_stats(_layer(), {"y15": paths[2015]}, id_col="uid", stats=("mean",), prefix="ntl_")
    assert list(some.columns) == ["uid", "period", "ntl_mean"] and set(some["period"]) == {"y15"}
    assert some.attrs["empty_units"] == {"y15": ["c", "d"]}


def test_periods_from_names_and_patterns(series, tmp_path):
    paths, _ = series
    folder = paths[2015].parent
    with pytest.warns(SpillmapWarning):
        out = zonal_stats(_layer(), [paths[2016], paths[2015]], id_col="uid")
    assert out["period"].unique().tolist() == [2015, 2016]
    assert rasters_from_pattern(folder / "ntl_{year}.tif") == paths
    assert rasters_from_pattern(str(folder / "*_{year}.t?f")) == paths
    assert rasters_from_pattern(str(folder / "ntl_*.tif")) == paths
    assert year_from_name("VNL_v21_npp_2019_global_500m.tif") == 2019
    with pytest.raises(LayerReadError, match="No raster matches '.*ntl_\\{year\\}.tif'"):
        rasters_from_pattern(tmp_path / "ntl_{year}.tif")
    unnamed = _write_tif(tmp_path / "lights.tif", _values())
    with pytest.raises(LayerReadError, match="lights.tif'.*no 4-digit year"):
        zonal_stats(_layer(), [unnamed], id_col="uid")
    with pytest.raises(LayerReadError, match="several years \\(2015, 2020\\)"):
        year_from_name("ntl_2015_v2020.tif")
    (tmp_path / "sub").mkdir()
    twin = _write_tif(tmp_path / "sub" / "ntl_2015.tif", _values())
    with pytest.raises(LayerReadError, match="share a year"):
        zonal_stats(_layer(), [paths[2015], twin], id_col="uid")


def test_errors_name_the_file(series, tmp_path):
    paths, _ = series
    layer = _layer()
    with pytest.raises(LayerReadError, match="'.*none_2015.tif' does not exist"):
        zonal_stats(layer, [tmp_path / "none_2015.tif"], id_col="uid")
    bogus = tmp_path / "text_2015.tif"
    bogus.write_text("not a raster")
    with pytest.raises(LayerReadError, match="text_2015.tif' is not a file GDAL can open"):
        zonal_stats(layer, [bogus], id_col="uid")
    no_crs = _write_tif(tmp_path / "nocrs_2015.tif", _values(), crs=None)
    with pytest.raises(CRSError, match="nocrs_2015.tif' has no coordinate reference system"):
        zonal_stats(layer, [no_crs], id_col="uid")
    with pytest.raises(LayerError, match="ntl_2015.tif' has 1 band\\(s\\); band 2 is out of range"):
        zonal_stats(layer, paths, id_col="uid", band=2)
    with pytest.raises(LayerError, match="does not overlap raster '.*ntl_2015.tif'.*spans \\(600000"):
        zonal_stats(layer[layer["uid"] == "c"], paths, id_col="uid")
    with pytest.raises(CRSError, match="The layer has no coordinate reference system"):
        zonal_stats(layer.set_crs(None, allow_override=True), paths, id_col="uid")
    with pytest.raises(LayerError, match="Unknown zonal statistic\\(s\\) 'median'; choose from mean, sum, count"):
        zonal_stats(layer, paths, id_col="uid", stats=("mean", "median"))
    with pytest.raises(LayerError, match="'lights_count'.* longer than 10"):
        zonal_stats(layer, paths, id_col="uid", prefix="lights_")
    with pytest.raises(LayerError, match="has no column 'code'"):
        zonal_stats(layer, paths, id_col="code")


def test_second_band(series, tmp_path):
    two = _write_tif(tmp_path / "two_2015.tif", _values().astype("float32"), bands=2)
    with pytest.warns(SpillmapWarning):
        out = zonal_stats(_layer(), [two], id_col="uid", band=2, stats=("sum",))
    assert out.set_index("uid").loc["a", "sum"] == 9 + 10 + 17 + 18


def test_merge_keeps_panel_rows(series):
    paths, _ = series
    with pytest.warns(SpillmapWarning):
        values = zonal_stats(_layer().assign(uid=[11, 12, 13, 14]), paths, id_col="uid", prefix="ntl_")
    values["uid"] = values["uid"].astype(str)  # text ids in the layer, numbers in the panel
    panel = pd.DataFrame({"uid": [11, 12, 11, 12, 11, 99], "year": [2014, 2015, 2015, 2016, 2016, 2016],
                          "y": np.arange(6.0)}, index=list("pqrstu"))
    with pytest.warns(SpillmapWarning) as caught:
        merged = merge_zonal(panel, values, "uid", "year")
    message = _spillmap_message(caught)
    assert message.startswith("2 of 6 panel row(s) get no raster values")
    assert "1 in period(s) without a raster: 2014" in message and "1 of id(s) absent from the layer: 99" in message
    assert merged.index.tolist() == list("pqrstu") and merged["y"].tolist() == panel["y"].tolist()
    assert merged.attrs["rows_without_raster"] == 2
    expected = values.assign(uid=values["uid"].astype(int)).set_index(["uid", "period"])["ntl_mean"]
    assert merged.loc["r", "ntl_mean"] == expected[(11, 2015)]
    assert merged.loc["t", "ntl_count"] == 3  # 'a' in 2016: four pixel centres, one NaN
    assert np.isnan(merged.loc["p", "ntl_mean"]) and np.isnan(merged.loc["u", "ntl_mean"])
    with pytest.raises(PanelShapeError, match="already has column\\(s\\) 'ntl_mean'"):
        merge_zonal(merged, values, "uid", "year")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command is called by name as in `spillmap zonal`
    app.command()(zonal)
    return app


def test_cli_writes_and_merges(series, tmp_path):
    paths, _ = series
    layer = _layer().assign(code=["110000", "120000", "130000", "140000"])
    layer.to_file(tmp_path / "units.gpkg")
    runner, app = CliRunner(), _app()
    base = ["zonal", "--layer", str(tmp_path / "units.gpkg"), "--id", "code"]
    out = tmp_path / "ntl.csv"
    result = runner.invoke(app, [*base, "--pattern", str(paths[2015].parent / "ntl_{year}.tif"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote zonal statistics: 8 rows, 2 raster(s) (2015, 2016)" in result.output
    assert "warning:" in result.output and "'130000' (2015, 2016)" in result.output
    written = pd.read_csv(out, dtype={"code": str})
    assert written.shape == (8, 5) and written.loc[0, "code"] == "110000"
    assert written.loc[0, "mean"] == pytest.approx(_hand("a", *series[1][2015], False)[0], rel=RTOL_CLOSED)

    panel = tmp_path / "panel.csv"
    pd.DataFrame({"code": [110000, 120000] * 2, "year": [2015, 2015, 2016, 2016], "gdp": [1.0, 2, 3, 4]}).to_csv(
        panel, index=False
    )
    merged_out = tmp_path / "merged.parquet"
    result = runner.invoke(app, [
        *base, "--raster", str(paths[2015]), "--raster", f"2016={paths[2016]}", "--panel", str(panel),
        "--time", "year", "--stats", "mean,count", "--prefix", "ntl_", "--all-touched", "--out", str(merged_out),
        "--json",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 4 and summary["periods"] == [2015, 2016] and summary["rows_without_raster"] == 0
    merged = pd.read_parquet(merged_out)
    assert list(merged.columns) == ["code", "year", "gdp", "ntl_mean", "ntl_count"]
    assert merged["ntl_count"].tolist() == [16, 15, 15, 15]  # nodata in 'b' 2015; NaN in 'a', mask in 'b' 2016


def test_cli_errors_name_the_file(series, tmp_path):
    paths, _ = series
    _layer().to_file(tmp_path / "units.gpkg")
    runner, app = CliRunner(), _app()
    base = ["zonal", "--layer", str(tmp_path / "units.gpkg"), "--id", "uid", "--out", str(tmp_path / "z.csv")]
    result = runner.invoke(app, [*base, "--raster", str(tmp_path / "gone_2015.tif")])
    assert result.exit_code == 1 and "gone_2015.tif' does not exist" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, [*base, "--raster", str(paths[2015]), "--panel", str(tmp_path / "p.csv")])
    assert result.exit_code == 1 and "--time" in result.output
    result = runner.invoke(app, [*base])
    assert result.exit_code == 2 and "--pattern" in result.output
    result = runner.invoke(app, [*base[:-1], str(tmp_path / "z.xlsx"), "--raster", str(paths[2015])])
    assert result.exit_code == 1 and "z.xlsx" in result.output
    assert not (tmp_path / "z.csv").exists()


def test_run_zonal_returns_what_it_wrote(series, tmp_path):
    paths, _ = series
    _layer().to_file(tmp_path / "units.gpkg")
    with pytest.warns(SpillmapWarning, match="'c'"):
        written, table = run_zonal(tmp_path / "units.gpkg", paths, id_col="uid", out_path=tmp_path / "z.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(written), table)


def test_all_touched_counts_shared_border_pixels_for_both_units(tmp_path):
    """A pixel crossed by the border of two units counts for both with all_touched (hand count)."""
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin
    from shapely.geometry import box

    from spillmap.gis._zonal import zonal_stats

    values = np.tile(np.arange(10, dtype="float32"), (10, 1))  # value = column index, 10 m pixels
    path = tmp_path / "cols_2020.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:32650", transform=from_origin(500000, 1000, 10, 10)) as dst:
        dst.write(values, 1)
    layer = gpd.GeoDataFrame({"uid": ["left", "right"]},
                             geometry=[box(500000, 900, 500043, 1000), box(500043, 900, 500100, 1000)],
                             crs="EPSG:32650")
    centre = zonal_stats(layer, [path], id_col="uid").set_index("uid")
    assert centre.loc["left", "count"] == 40 and centre.loc["left", "sum"] == 10 * (0 + 1 + 2 + 3)
    assert centre.loc["right", "count"] == 60 and centre.loc["right", "sum"] == 10 * sum(range(4, 10))
    touched = zonal_stats(layer, [path], id_col="uid", all_touched=True).set_index("uid")
    assert touched.loc["left", "count"] == 50 and touched.loc["left", "sum"] == 10 * sum(range(0, 5))
    assert touched.loc["right", "count"] == 60 and touched.loc["right", "sum"] == 10 * sum(range(4, 10))
