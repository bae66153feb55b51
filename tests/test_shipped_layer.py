"""The shipped China prefecture layer ``shapefiles/china_prefectures.gpkg``.

Cases covered
- the file is shipped, smaller than 5 MB, and readable with geopandas as the
  layer ``prefectures``;
- about 370 rows; exactly the columns code, name, province, kind, in_sample
  (plus geometry) with text / integer types;
- codes are 6-digit strings, unique, none missing, rows sorted by code;
- CRS is EPSG:4326 and coordinates lie within China's extent;
- every geometry is a valid, non-empty MultiPolygon;
- ``kind`` takes only the documented values; the four municipalities are
  present with their province-level codes and own names as province;
- Hong Kong, Macau and Taiwan have ``in_sample == 0``, every other unit 1;
- province-administered county-level cities (仙桃, 潜江, 天门, 济源, ...) are
  present;
- queen contiguity of the shipped (simplified) geometries equals the pairs
  recorded from the unsimplified source in
  ``tests/data/china_queen_unsimplified.csv``, and that file is well formed
  (symmetric, sorted, no self-pairs, only known codes);
- the build script's guards (imported without cnmaps) fail loudly on lost or
  gained neighbour pairs and on empty or invalid geometries.
"""

from __future__ import annotations

import importlib.util
from importlib.resources import as_file, files
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.graph import Graph

DATA = Path(__file__).parent / "data"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_china_layer.py"
PAIRS = DATA / "china_queen_unsimplified.csv"
KINDS = {
    "municipality",
    "prefecture",
    "autonomous_prefecture",
    "region",
    "league",
    "county_level_city",
    "sar",
    "taiwan",
}


@pytest.fixture(scope="module")
def path() -> Path:
    resource = files("spillmap.shapefiles") / "china_prefectures.gpkg"
    with as_file(resource) as p:
        assert Path(p).is_file()
        return Path(p)


@pytest.fixture(scope="module")
def layer(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer="prefectures")


def test_file_size(path: Path) -> None:
    assert path.stat().st_size < 5 * 1024 * 1024


def test_row_count(layer: gpd.GeoDataFrame) -> None:
    assert 360 <= len(layer) <= 380


def test_columns_and_types(layer: gpd.GeoDataFrame) -> None:
    assert list(layer.columns) == ["code", "name", "province", "kind", "in_sample", "geometry"]
    for col in ("code", "name", "province", "kind"):
        assert pd.api.types.is_string_dtype(layer[col]), col
        assert layer[col].map(lambda v: isinstance(v, str) and v != "").all(), col
    assert pd.api.types.is_integer_dtype(layer["in_sample"])
    assert set(layer["in_sample"].unique()) == {0, 1}
    assert all(len(c) <= 10 for c in layer.columns)


def test_codes(layer: gpd.GeoDataFrame) -> None:
    codes = layer["code"]
    assert codes.notna().all()
    assert codes.str.fullmatch(r"\d{6}").all()
    assert codes.is_unique
    assert codes.is_monotonic_increasing


def test_crs_and_extent(layer: gpd.GeoDataFrame) -> None:
    assert layer.crs is not None and layer.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = layer.total_bounds
    assert 73 < minx and maxx < 136 and 3 < miny and maxy < 54


def test_geometries_valid(layer: gpd.GeoDataFrame) -> None:
    geoms = np.asarray(layer.geometry.values, dtype=object)
    assert not shapely.is_missing(geoms).any()
    assert not shapely.is_empty(geoms).any()
    invalid = layer.loc[~shapely.is_valid(geoms), "code"].tolist()
    assert invalid == []
    assert set(layer.geom_type) == {"MultiPolygon"}


def test_kinds(layer: gpd.GeoDataFrame) -> None:
    assert set(layer["kind"]) <= KINDS
    counts = layer["kind"].value_counts()
    assert counts["municipality"] == 4
    assert counts["sar"] == 2
    assert counts["taiwan"] == 1
    assert counts["league"] == 3
    assert counts["region"] == 7
    assert counts["autonomous_prefecture"] == 30
    by_name = layer.set_index("name")
    assert by_name.at["延边朝鲜族自治州", "kind"] == "autonomous_prefecture"
    assert by_name.at["苏州市", "kind"] == "prefecture"
    assert by_name.at["苏州市", "province"] == "江苏省"
    assert by_name.at["锡林郭勒盟", "kind"] == "league"
    assert by_name.at["阿克苏地区", "kind"] == "region"


def test_municipalities(layer: gpd.GeoDataFrame) -> None:
    munis = layer[layer["kind"] == "municipality"].set_index("code")
    assert munis["name"].to_dict() == {
        "110000": "北京市",
        "120000": "天津市",
        "310000": "上海市",
        "500000": "重庆市",
    }
    assert (munis["province"] == munis["name"]).all()


def test_county_level_cities(layer: gpd.GeoDataFrame) -> None:
    clc = layer[layer["kind"] == "county_level_city"]
    assert {"仙桃市", "潜江市", "天门市", "济源市", "石河子市", "琼海市"} <= set(clc["name"])
    assert clc["code"].str[2:4].eq("90").all()


def test_in_sample(layer: gpd.GeoDataFrame) -> None:
    out = layer.loc[layer["in_sample"] == 0]
    assert sorted(out["name"]) == sorted(["香港特别行政区", "澳门特别行政区", "台湾省"])
    assert set(out["kind"]) == {"sar", "taiwan"}
    assert (layer.loc[~layer["kind"].isin(["sar", "taiwan"]), "in_sample"] == 1).all()


@pytest.fixture(scope="module")
def reference_pairs() -> pd.DataFrame:
    return pd.read_csv(PAIRS, dtype=str)


def test_reference_pairs_well_formed(
    reference_pairs: pd.DataFrame, layer: gpd.GeoDataFrame
) -> None:
    ref = reference_pairs
    assert list(ref.columns) == ["focal", "neighbor"]
    assert len(ref) > 0 and len(ref) % 2 == 0
    assert (ref["focal"] != ref["neighbor"]).all()
    assert not ref.duplicated().any()
    pairs = set(zip(ref["focal"], ref["neighbor"]))
    assert pairs == {(b, a) for a, b in pairs}
    assert ref.equals(ref.sort_values(["focal", "neighbor"]).reset_index(drop=True))
    assert set(ref["focal"]) <= set(layer["code"])


def test_queen_contiguity_matches_unsimplified(
    reference_pairs: pd.DataFrame, layer: gpd.GeoDataFrame
) -> None:
    geoms = gpd.GeoSeries(layer.geometry.values, index=pd.Index(layer["code"], name="code"))
    graph = Graph.build_contiguity(geoms, rook=False)
    adj = graph.adjacency.reset_index()
    adj.columns = ["focal", "neighbor", "weight"]
    adj = adj[(adj["focal"] != adj["neighbor"]) & (adj["weight"] != 0)]
    shipped = set(zip(adj["focal"].astype(str), adj["neighbor"].astype(str)))
    reference = set(zip(reference_pairs["focal"], reference_pairs["neighbor"]))
    assert shipped - reference == set(), "pairs gained by simplification"
    assert reference - shipped == set(), "pairs lost by simplification"


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location("build_china_layer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # cnmaps is imported only when loading data
    return module


def test_build_guard_contiguity(build_script) -> None:
    before = pd.DataFrame({"focal": ["a", "b"], "neighbor": ["b", "a"]})
    build_script.compare_pairs(before, before.copy())
    with pytest.raises(build_script.BuildError, match="lost 2 pairs"):
        build_script.compare_pairs(before, before.iloc[0:0])


def test_build_guard_geometries(build_script) -> None:
    square = shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])
    bowtie = shapely.MultiPolygon(
        [shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])]
    )
    ok = gpd.GeoDataFrame({"code": ["1"]}, geometry=[square])
    build_script.check_geometries(ok, "test")
    bad = gpd.GeoDataFrame(
        {"code": ["1", "2", "3"]},
        geometry=[square, bowtie, shapely.MultiPolygon()],
    )
    with pytest.raises(build_script.BuildError, match=r"2: Self-intersection(.|\n)*3: empty"):
        build_script.check_geometries(bad, "test")
    repaired = build_script.to_multipolygon(shapely.make_valid(bowtie))
    assert repaired.geom_type == "MultiPolygon" and repaired.is_valid
