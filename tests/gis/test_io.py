"""read_layer / write_layer.

Cases: GBK Shapefiles as Chinese QGIS/ArcGIS installs write them (.cpg 'GBK',
'ANSI 936', 'System', no .cpg at all) and the encoding= override; UTF-8
Shapefile; GeoPackage with a named layer, several layers without a name, a
missing layer; GeoJSON; no CRS (error, then crs= fills it; a conflicting crs=
is refused); missing id column, empty ids, duplicate ids, empty geometries,
point layers (each error names the file and the ids/rows); invalid
geometries repaired and reported by id (repair=False refuses); inputs are
never modified; GeoPackages written as version 1.2, atomically.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pyogrio
import pytest
import shapely

from spillmap import gis
from spillmap.errors import (
    CRSError,
    DuplicateIdError,
    GeometryError,
    GeometryRepairWarning,
    LayerError,
    LayerReadError,
    MissingColumnError,
    MissingIdError,
)

NAMES = ["北京市", "苏州市", "延边朝鲜族自治州", "乌鲁木齐市", "齐齐哈尔市", "喀什地区", "锡林郭勒盟", "昆山市", "阿拉尔市"]


def _chinese_grid(make_grid):
    frame = make_grid().copy()
    frame["name"] = NAMES
    return frame


def _write_gbk_shapefile(frame, path: Path, cpg: str | None) -> Path:
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    cpg_path = path.with_suffix(".cpg")
    if cpg is None:
        cpg_path.unlink()
    else:
        cpg_path.write_text(cpg)
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("cpg", ["GBK", "ANSI 936", "936", "System", None])
def test_gbk_shapefile_round_trip(make_grid, tmp_path, cpg):
    frame = _chinese_grid(make_grid)
    path = _write_gbk_shapefile(frame, tmp_path / "cities.shp", cpg)
    before = _digest(tmp_path)
    back = gis.read_layer(path, "uid")
    assert back["name"].tolist() == NAMES
    assert back["uid"].tolist() == frame["uid"].tolist()
    assert _digest(tmp_path) == before, "reading must not modify the input files"


def test_encoding_override_beats_a_wrong_cpg(make_grid, tmp_path):
    frame = _chinese_grid(make_grid)
    path = _write_gbk_shapefile(frame, tmp_path / "cities.shp", "UTF-8")  # lies
    assert gis.read_layer(path, "uid", encoding="gb18030")["name"].tolist() == NAMES


def test_utf8_shapefile_without_cpg_is_sniffed(make_grid, tmp_path):
    frame = _chinese_grid(make_grid)
    path = tmp_path / "utf8.shp"
    pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    path.with_suffix(".cpg").unlink()
    assert gis.read_layer(path, "uid")["name"].tolist() == NAMES


def test_geopackage_named_layer_and_layer_errors(make_grid, tmp_path):
    frame = _chinese_grid(make_grid)
    path = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(frame, path, layer="cities")
    pyogrio.write_dataframe(frame.iloc[:3], path, layer="other")
    assert len(gis.read_layer(path, "uid", layer="cities")) == 9
    with pytest.raises(LayerReadError, match=r"holds 2 layers \(cities, other\).*layer="):
        gis.read_layer(path, "uid")
    with pytest.raises(LayerReadError, match=r"no layer 'towns'; its layers are: cities, other"):
        gis.read_layer(path, "uid", layer="towns")


def test_geojson(make_grid, tmp_path):
    path = tmp_path / "grid.geojson"
    pyogrio.write_dataframe(_chinese_grid(make_grid), path, driver="GeoJSON")
    assert gis.read_layer(path, "uid")["name"].tolist() == NAMES


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(LayerReadError, match="nowhere.shp' does not exist"):
        gis.read_layer(tmp_path / "nowhere.shp", "uid")


def test_no_crs_error_then_crs_fills_in(make_grid, tmp_path):
    path = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(make_grid(crs=None), path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(CRSError, match=r"nocrs.shp' has no coordinate reference system.*crs='EPSG:4326'"):
        gis.read_layer(path, "uid")
    assert gis.read_layer(path, "uid", crs="EPSG:4326").crs.to_epsg() == 4326


def test_crs_never_overrides_a_declared_one(make_grid, tmp_path):
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(make_grid(), path)
    with pytest.raises(CRSError, match=r"declares EPSG:4326 but crs='EPSG:4490'.*to_projected"):
        gis.read_layer(path, "uid", crs="EPSG:4490")


def test_missing_id_column_lists_columns(make_grid, tmp_path):
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(make_grid(), path)
    with pytest.raises(MissingColumnError, match=r"grid.gpkg' has no column 'adcode'; its columns are: uid, name, value"):
        gis.read_layer(path, "adcode")


def test_empty_ids_name_rows(make_grid, tmp_path):
    frame = make_grid().copy()
    frame.loc[[2, 5], "uid"] = None
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(MissingIdError, match=r"'uid' is empty on 2 row\(s\) \(rows 3, 6, 1-based"):
        gis.read_layer(path, "uid")


def test_duplicate_ids_are_listed_with_rows(make_grid, tmp_path):
    frame = make_grid().copy()
    frame.loc[4, "uid"] = "g00"
    frame.loc[8, "uid"] = "g01"
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(DuplicateIdError, match=r"2 id\(s\) repeat: 'g00' on rows 1, 5; 'g01' on rows 2, 9.*Dissolve"):
        gis.read_layer(path, "uid")


def test_empty_geometries_are_named(make_grid):
    frame = make_grid().copy()
    frame.loc[3, "geometry"] = shapely.Polygon()
    frame.loc[7, "geometry"] = None
    with pytest.raises(GeometryError, match=r"2 unit\(s\) have no or an empty geometry: 'g10', 'g21'"):
        gis.validate_layer(frame, "uid")


def test_point_layer_is_refused(city_points, tmp_path):
    path = tmp_path / "seats.gpkg"
    pyogrio.write_dataframe(city_points, path)
    with pytest.raises(GeometryError, match=r"expected Polygon/MultiPolygon boundaries but found Point.*points="):
        gis.read_layer(path, "code")


def test_invalid_geometry_repaired_and_reported(make_grid, tmp_path):
    frame = make_grid().copy()
    bowtie = shapely.Polygon([(110, 30), (111, 31), (111, 30), (110, 31), (110, 30)])
    frame.loc[0, "geometry"] = bowtie
    path = tmp_path / "bad.gpkg"
    pyogrio.write_dataframe(frame, path)
    before = _digest(tmp_path)
    with pytest.warns(GeometryRepairWarning, match=r"repaired 1 invalid geometry with shapely.make_valid: 'g00'"):
        fixed = gis.read_layer(path, "uid")
    assert fixed.is_valid.all()
    assert fixed.attrs["repaired_ids"] == ["g00"]
    # make_valid splits the bow-tie into its two triangles of 0.25 square degrees
    assert fixed.geometry.iloc[0].geom_type == "MultiPolygon"
    assert fixed.geometry.iloc[0].area == pytest.approx(0.5, rel=1e-12)
    assert _digest(tmp_path) == before
    with pytest.raises(GeometryError, match="invalid geometries for 'g00'"):
        gis.read_layer(path, "uid", repair=False)


def test_errors_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        gis.read_layer(tmp_path / "x.gpkg", "uid")
    assert issubclass(LayerReadError, LayerError)


def test_write_layer_gpkg_version_1_2(make_grid, tmp_path):
    path = gis.write_layer(make_grid(), tmp_path / "out.gpkg", layer="units")
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
    assert gis.read_layer(path, "uid", layer="units")["uid"].tolist() == make_grid()["uid"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["out.gpkg"]


def test_write_layer_adds_a_layer_to_an_existing_geopackage(make_grid, tmp_path):
    path = gis.write_layer(make_grid(), tmp_path / "out.gpkg", layer="units")
    gis.write_layer(make_grid().iloc[:2], path, layer="two", append=True)
    assert sorted(gis.list_layers(path)) == ["two", "units"]


def test_failed_write_leaves_nothing(make_grid, tmp_path, monkeypatch):
    def broken(frame, path, **kwargs):
        Path(path).write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        gis.write_layer(make_grid(), tmp_path / "out.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_shapefile_written_utf8_with_cpg(make_grid, tmp_path):
    frame = _chinese_grid(make_grid)
    path = gis.write_layer(frame, tmp_path / "cities.shp")
    assert path.with_suffix(".cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}
    assert gis.read_layer(path, "uid")["name"].tolist() == NAMES
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
