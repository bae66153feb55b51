"""Map export: styled GeoPackage, graduated styles, Shapefile, GeoJSON, GeoTIFF.

Cases: a GeoPackage with several layers round-trips through pyogrio (layer
order, counts, field types, values, Chinese text, version 1.2); the shipped
prefecture layer; ``layer_styles`` has QGIS's columns, one default row per
styled layer (none for unstyled layers; several styles of a layer: the first
is the default) and is registered as an attribute table; the QML parses,
uses a rule-based renderer whose parent rule carries the style's title and
whose exclusive filters give each unit the class :meth:`LayerStyle.classify`
gives it, keeps zero in a light-grey class, blues below zero and reds above,
and picks the symbol type from the geometry (fill, line, marker); units
whose interval includes zero fall in the grey "not significant" rule (QML,
SLD and classify alike), the classes come from the other units (none when
every interval includes zero); a constant (or nearly constant) column gets
one class labelled with its value; labels keep close breaks apart; cover=
stretches the outer classes only; diverging breaks are symmetric
(quantiles and equal intervals, the neutral= width, ties, an all-zero
column), classes beyond the values are left out and the outer bounds are
the extreme values; sequential breaks are observed values from light to
dark; every value falls in a class. Errors name the layer or column: missing and
non-numeric columns, empty layers, invalid, reserved and case-clashing layer
names, styles for absent layers, styles built from other values, mixed
geometries, bad classes. Shapefile field names are cut to 10 UTF-8 bytes and
made unique ignoring case, with the mapping in ``<stem>_fields.csv`` and a
UTF-8 ``.cpg``; GeoJSON is RFC 7946 in EPSG:4326; GeoTIFF pixels match a
hand computation of which pixel centres fall in two squares and a triangle.
A failed write leaves no file and no temporary files, and an older file
untouched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely

from spillmap import gis
from spillmap.errors import CRSError, GeometryError, LayerError, MissingColumnError
from spillmap.gis import _export

#: Same float written and read back by GDAL (REAL columns are IEEE doubles).
RTOL_EXACT = 0.0
#: GeoJSON under RFC 7946 keeps 7 decimals of a degree (about 1 cm).
ATOL_DEGREES = 1e-7
UTM50N = "EPSG:32650"
QGIS_COLUMNS = [
    "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
    "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
]


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _is_neutral(hex_color: str) -> bool:
    r, g, b = _rgb(hex_color)
    return r == g == b and r >= 230


def _effects(make_grid) -> gpd.GeoDataFrame:
    """3×3 grid with signed effects -4..4 (one exact zero), a count, a flag and Chinese names."""
    frame = make_grid().copy()
    frame["indirect"] = np.arange(-4.0, 5.0)
    frame["n_neigh"] = np.array([3, 5, 3, 5, 8, 5, 3, 5, 3], dtype="int64")
    frame["treated"] = frame["n_neigh"] > 4
    return frame


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def effects(make_grid) -> gpd.GeoDataFrame:
    return _effects(make_grid)


@pytest.fixture
def styled_gpkg(effects, tmp_path) -> Path:
    sweep = effects[["uid", "geometry"]].assign(indirect=effects["indirect"] / 2)
    layers = {
        "effects": effects,
        "weights_summary": effects[["uid", "n_neigh", "geometry"]],
        "sweep_band_050_100": sweep,
        "unstyled": effects[["uid", "geometry"]],
    }
    styles = {
        "effects": gis.graduated_style("indirect", effects["indirect"]),
        "weights_summary": gis.graduated_style("n_neigh", effects["n_neigh"], scheme="sequential", classes=3),
        "sweep_band_050_100": gis.graduated_style("indirect", sweep["indirect"], method="equal_interval"),
    }
    return gis.write_styled_geopackage(tmp_path / "map.gpkg", layers, styles)


# --- GeoPackage round trip -------------------------------------------------------------------


def test_geopackage_layers_round_trip(styled_gpkg, effects):
    listed = pyogrio.list_layers(styled_gpkg)
    assert listed[:, 0].tolist() == ["effects", "weights_summary", "sweep_band_050_100", "unstyled", "layer_styles"]
    assert listed[-1, 1] is None  # an attribute table, not a spatial layer
    info = pyogrio.read_info(styled_gpkg, layer="effects")
    assert info["features"] == len(effects)
    types = dict(zip(info["fields"], zip(info["ogr_types"], info["ogr_subtypes"])))
    assert types == {
        "uid": ("OFTString", "OFSTNone"),
        "name": ("OFTString", "OFSTNone"),
        "value": ("OFTReal", "OFSTNone"),
        "indirect": ("OFTReal", "OFSTNone"),
        "n_neigh": ("OFTInteger64", "OFSTNone"),
        "treated": ("OFTInteger", "OFSTBoolean"),
    }
    back = pyogrio.read_dataframe(styled_gpkg, layer="effects")
    assert back["name"].tolist() == effects["name"].tolist()
    np.testing.assert_allclose(back["indirect"], effects["indirect"], rtol=RTOL_EXACT)
    assert back["treated"].tolist() == effects["treated"].tolist()
    assert back.crs.equals(effects.crs)
    assert shapely.equals(back.geometry.values, effects.geometry.values).all()
    for name in ("weights_summary", "sweep_band_050_100", "unstyled"):
        assert pyogrio.read_info(styled_gpkg, layer=name)["features"] == len(effects)


def test_geopackage_is_version_1_2(styled_gpkg):
    with sqlite3.connect(styled_gpkg) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200


def test_shipped_layer_round_trip(tmp_path):
    china = gis.read_china_layer()
    east = china.representative_point().x.to_numpy() - 110.0
    effects = china[["code", "name", "province", "geometry"]].assign(indirect=east)
    path = gis.write_styled_geopackage(
        tmp_path / "china.gpkg", {"effects": effects}, {"effects": gis.graduated_style("indirect", east)}
    )
    back = gis.read_layer(path, "code", layer="effects")
    assert len(back) == len(china)
    assert back["name"].tolist() == china["name"].tolist()
    np.testing.assert_allclose(back["indirect"], east, rtol=RTOL_EXACT)


# --- layer_styles ----------------------------------------------------------------------------


def _style_rows(path: Path) -> dict[str, dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {row["f_table_name"]: dict(row) for row in db.execute("SELECT * FROM layer_styles")}


def test_layer_styles_table_matches_qgis(styled_gpkg):
    with sqlite3.connect(styled_gpkg) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(layer_styles)")]
        contents = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchall()
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert columns == QGIS_COLUMNS
    assert contents == [("attributes",)]
    rows = _style_rows(styled_gpkg)
    assert sorted(rows) == ["effects", "sweep_band_050_100", "weights_summary"]  # none for 'unstyled'
    for name, row in rows.items():
        assert row["useAsDefault"] == 1
        assert row["f_table_catalog"] == "" and row["f_table_schema"] == ""  # QGIS matches on ''
        assert row["f_geometry_column"] == geometry_columns[name]
        assert row["styleName"] == "spillmap"
        assert row["update_time"].endswith("Z")
        ET.fromstring(row["styleSLD"].split("?>", 1)[1])  # the SLD parses too


def _renderer(qml: str) -> ET.Element:
    root = ET.fromstring(qml)
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None
    return renderer


def _qml_rules(renderer: ET.Element) -> tuple[str, list[dict]]:
    """The parent rule's label and its rules: label, filter, colour."""
    symbols = {s.get("name"): s for s in renderer.iter("symbol")}
    (group,) = renderer.findall("rules/rule")
    rules = []
    for rule in group.findall("rule"):
        color = symbols[rule.get("symbol")].find("layer/Option/Option[@name='color']").get("value")
        r, g, b, _alpha = (int(x) for x in color.split(","))
        rules.append({"label": rule.get("label"), "filter": rule.get("filter"), "color": f"#{r:02x}{g:02x}{b:02x}"})
    return group.get("label"), rules


_COMPARISON = re.compile(r'"(\w+)" (>=|<=|>|<) (\S+?)(?=\)| |$)')


def _qml_match(expression: str, row: dict) -> bool:
    """Evaluate one of our QML filters on a row as QGIS does (a comparison with NULL is false)."""
    def compare(m: re.Match) -> str:
        value = row[m.group(1)]
        if value is None or np.isnan(value):
            return "False"
        return str({">=": value >= float(m.group(3)), "<=": value <= float(m.group(3)),
                    ">": value > float(m.group(3)), "<": value < float(m.group(3))}[m.group(2)])

    text = re.sub(r'"(\w+)" IS NOT NULL', lambda m: str(not np.isnan(row[m.group(1)])), expression)
    text = _COMPARISON.sub(compare, text).replace(" AND ", " and ").replace(" OR ", " or ")
    assert set(re.sub(r"True|False|and|or|[() ]", "", text)) == set(), text
    return bool(eval(text))  # noqa: S307 - only True/False/and/or/parentheses are left


def _qml_classes(renderer: ET.Element) -> list[tuple[float, float, str]]:
    bounds = re.compile(r'^"\w+" >=? (\S+) AND "\w+" <= (\S+)')
    return [(float(m.group(1)), float(m.group(2)), rule["color"])
            for rule in _qml_rules(renderer)[1] if (m := bounds.match(rule["filter"]))]


def test_stored_qml_is_diverging_graduated(styled_gpkg, effects):
    renderer = _renderer(_style_rows(styled_gpkg)["effects"]["styleQML"])
    assert renderer.get("type") == "RuleRenderer"
    title, rules = _qml_rules(renderer)
    assert title == "indirect"  # no title given: the column
    assert {s.get("type") for s in renderer.iter("symbol")} == {"fill"}
    values = effects[["indirect"]].to_dict("records")
    matched = [[i for i, rule in enumerate(rules) if _qml_match(rule["filter"], row)] for row in values]
    style = gis.graduated_style("indirect", effects["indirect"])
    assert matched == [[i] for i in style.classify(effects)]  # each unit in exactly the class classify gives
    classes = _qml_classes(renderer)
    assert len(classes) == 7
    zero = [c for c in classes if c[0] <= 0.0 <= c[1]]
    assert len(zero) == 1 and _is_neutral(zero[0][2])
    for lower, upper, color in classes:
        r, _g, b = _rgb(color)
        if upper < 0:
            assert b > r, f"class {lower}..{upper} should be blue, is {color}"
        elif lower > 0:
            assert r > b, f"class {lower}..{upper} should be red, is {color}"
    assert classes[0][0] == -4.0 and classes[-1][1] == 4.0  # every value drawn


def test_stored_qml_sequential(styled_gpkg):
    renderer = _renderer(_style_rows(styled_gpkg)["weights_summary"]["styleQML"])
    assert all(rule["filter"].startswith('"n_neigh" ') for rule in _qml_rules(renderer)[1])
    classes = _qml_classes(renderer)
    assert [(lo, hi) for lo, hi, _ in classes] == [(3.0, 5.0), (5.0, 8.0)]  # 3 quantile classes, tied
    lightness = [sum(_rgb(c)) for _, _, c in classes]
    assert lightness == sorted(lightness, reverse=True)  # light to dark


@pytest.mark.parametrize(
    ("geometry", "symbol", "layer_class"),
    [("point", "marker", "SimpleMarker"), ("line", "line", "SimpleLine"), ("polygon", "fill", "SimpleFill")],
)
def test_qml_symbol_follows_geometry(geometry, symbol, layer_class):
    style = gis.graduated_style("x", [-1.0, 0.0, 2.0])
    renderer = _renderer(style.to_qml(geometry))
    assert {s.get("type") for s in renderer.iter("symbol")} == {symbol}
    assert {layer.get("class") for layer in renderer.iter("layer")} == {layer_class}


def test_point_layer_gets_marker_style(tmp_path, city_points):
    points = city_points.assign(effect=[-1.0, 0.5, 2.0, -0.2, 0.0])
    path = gis.write_styled_geopackage(
        tmp_path / "p.gpkg", {"cities": points}, {"cities": gis.graduated_style("effect", points["effect"])}
    )
    renderer = _renderer(_style_rows(path)["cities"]["styleQML"])
    assert {s.get("type") for s in renderer.iter("symbol")} == {"marker"}


# --- class breaks ----------------------------------------------------------------------------


def test_diverging_quantiles_are_symmetric_and_cover_values():
    values = np.random.default_rng(7).normal(0.3, 1.0, 500)
    style = gis.graduated_style("indirect", values)
    bounds = np.array([(c.lower, c.upper) for c in style.classes])
    inner = bounds[:, 1][:-1]
    np.testing.assert_allclose(inner, -inner[::-1], rtol=RTOL_EXACT)  # the breaks mirror each other
    assert (bounds[0, 0], bounds[-1, 1]) == (values.min(), values.max())  # outer bounds: the extreme values
    assert bounds[3, 1] == pytest.approx(np.abs(values).max() / 7)  # default neutral half-width
    index = style.class_index(values)
    assert (index >= 0).all()
    outside = np.abs(values) > bounds[3, 1]
    per_band = np.bincount(np.minimum(index[outside], 6 - index[outside]), minlength=3)[:3]
    assert per_band.min() >= outside.sum() / 3 - 2  # |value| quantiles: equal thirds, up to ties


def test_diverging_equal_interval_and_neutral():
    values = np.array([-5.0, -0.1, 0.0, 0.3, 7.0])
    style = gis.graduated_style("x", values, method="equal_interval")
    widths = [c.upper - c.lower for c in style.classes]
    np.testing.assert_allclose(widths, 2 * 7.0 / 7)
    narrow = gis.graduated_style("x", values, classes=5, neutral=0.05, method="equal_interval")
    middle = narrow.classes[2]
    assert (middle.lower, middle.upper) == (-0.05, 0.05) and _is_neutral(middle.color)
    assert narrow.class_index(values).tolist() == [0, 1, 2, 3, 4]


def test_diverging_edge_cases():
    zero = gis.graduated_style("x", [0.0, 0.0, np.nan])
    assert [(c.lower, c.upper) for c in zero.classes] == [(0.0, 0.0)]
    tied = gis.graduated_style("x", [-1.0, 1.0, 1.0, 1.0, 1.0])
    assert len(tied.classes) == 3  # ties merge the quantile classes of each side
    assert tied.class_index([-1.0, 1.0]).tolist() == [0, 2]


def test_sequential_breaks_are_observed_values():
    values = np.array([1, 2, 2, 3, 4, 4, 4, 6, 9, 12])
    style = gis.graduated_style("n_neigh", values, scheme="sequential", classes=4)
    assert [(c.lower, c.upper) for c in style.classes] == [(1, 2), (2, 4), (4, 6), (6, 12)]
    assert (style.class_index(values) >= 0).all()


def _intervals() -> pd.DataFrame:
    """Effects with intervals: rows 1, 3 and 5 include zero; row 6 has no interval."""
    return pd.DataFrame({
        "recv": [-2.0, -1.0, 0.5, 0.05, 1.5, 3.0, 2.0, 4.0],
        "recv_lo": [-3.0, -2.0, 0.1, -0.5, 1.0, -1.0, np.nan, 3.0],
        "recv_hi": [-1.0, 0.5, 1.0, 0.6, 2.0, 5.0, np.nan, 5.0],
    })


def test_not_significant_rule_in_qml_sld_and_classify():
    frame = _intervals()
    style = gis.graduated_style("recv", frame, classes=5, significance=("recv_lo", "recv_hi"),
                                title="spillover received, change in y")
    codes = style.classify(frame)
    assert codes.tolist()[1:6:2] == [gis.NOT_SIGNIFICANT] * 3
    assert codes[6] == gis.NO_DATA and codes[[0, 2, 4, 7]].tolist() == [0, 1, 2, 3]
    # the classes span the significant values only: -2 .. 4, not the insignificant -1 .. 3
    assert (style.classes[0].lower, style.classes[-1].upper) == (-2.0, 4.0)
    title, rules = _qml_rules(_renderer(style.to_qml()))
    assert title == "spillover received, change in y"
    assert [(r["label"], r["color"]) for r in rules] == style.legend()
    assert rules[-1]["label"] == "not significant (95 % interval includes 0)"
    assert rules[-1]["color"] == gis.NOT_SIGNIFICANT_COLOR
    for row, code in zip(frame.to_dict("records"), codes):
        hits = [i for i, rule in enumerate(rules) if _qml_match(rule["filter"], row)]
        expected = [] if code == gis.NO_DATA else [len(rules) - 1] if code == gis.NOT_SIGNIFICANT else [code]
        assert hits == expected, (row, hits)
    sld = style.to_sld("effects")
    assert "not significant (95 % interval includes 0)" in sld and "recv_lo" in sld
    assert "spillover received, change in y" in sld


def test_no_significant_unit_leaves_only_the_grey_rule(effects, tmp_path):
    frame = effects.assign(recv=effects["indirect"], recv_lo=-9.0, recv_hi=9.0)
    style = gis.graduated_style("recv", frame, significance=("recv_lo", "recv_hi"))
    assert style.classes == () and style.legend() == [(style.not_significant_label, gis.NOT_SIGNIFICANT_COLOR)]
    assert (style.classify(frame) == gis.NOT_SIGNIFICANT).all()
    path = gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": frame}, {"effects": style})
    _, rules = _qml_rules(_renderer(_style_rows(path)["effects"]["styleQML"]))
    assert [r["label"] for r in rules] == [style.not_significant_label]


@pytest.mark.parametrize(
    ("values", "scheme", "label", "color"),
    [
        ([366.0] * 5, "sequential", "366", "#9e9ac8"),
        ([1.0, 1.0 + 1e-13, 1.0 - 1e-13], "sequential", "1", "#9e9ac8"),
        ([0.5] * 3, "diverging", "0.5", "#d6604d"),
        ([-2.0] * 3, "diverging", "-2", "#4393c3"),
        ([0.0, 0.0, np.nan], "diverging", "0", "#f7f7f7"),
    ],
)
def test_constant_column_gets_one_labelled_class(values, scheme, label, color):
    style = gis.graduated_style("nbrs", values, scheme=scheme, classes=3 if scheme == "diverging" else 7)
    assert style.legend() == [(label, color)]
    assert (style.class_index(values)[np.isfinite(values)] == 0).all()
    _, rules = _qml_rules(_renderer(style.to_qml()))
    assert [r["label"] for r in rules] == [label]


def test_labels_keep_close_breaks_apart():
    style = gis.graduated_style("own", np.linspace(1.0783, 1.0800, 367))
    labels = [c.label for c in style.classes]
    assert len(set(labels)) == len(labels) == 3  # only the red side: every value is positive
    assert labels[0].startswith("1.0783 – ") and labels[-1].endswith(" – 1.08")
    assert all(len({b for b in label.split(" – ")}) == 2 for label in labels)


def test_cover_stretches_only_the_outer_classes():
    searched = np.linspace(-1.0, 1.0, 41)
    alone = gis.graduated_style("recv", searched)
    wide = gis.graduated_style("recv", searched, cover=np.r_[searched, 3.5, -0.2])
    assert [c.upper for c in wide.classes[:-1]] == [c.upper for c in alone.classes[:-1]]
    assert (wide.classes[0].lower, wide.classes[-1].upper) == (-1.0, 3.5)
    assert wide.classes[-1].label.endswith(" – 3.5")


def test_several_styles_per_layer(effects, tmp_path):
    first = gis.graduated_style("indirect", effects["indirect"], name="indirect")
    second = gis.graduated_style("n_neigh", effects["n_neigh"], scheme="sequential", name="neighbours",
                                 title="neighbours, number of cities")
    path = gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, {"effects": (first, second)})
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT styleName, useAsDefault, description FROM layer_styles ORDER BY id").fetchall()
    assert rows == [("indirect", 1, "diverging quantiles classes of indirect"),
                    ("neighbours", 0, "neighbours, number of cities")]
    with pytest.raises(LayerError, match="distinct names"):
        gis.write_styled_geopackage(tmp_path / "n.gpkg", {"effects": effects}, {"effects": (first, first)})


def test_significance_errors(effects, tmp_path):
    with pytest.raises(LayerError, match="needs values= as a frame holding 'recv'"):
        gis.graduated_style("recv", [1.0, 2.0], significance=("recv_lo", "recv_hi"))
    style = gis.graduated_style("recv", _intervals(), significance=("recv_lo", "recv_hi"))
    with pytest.raises(MissingColumnError, match="Column 'recv_lo' is not in layer 'effects'"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects.assign(recv=1.0)},
                                    {"effects": style})
    grey = gis.graduated_style("recv", _intervals().assign(recv_lo=-9.0, recv_hi=9.0), significance=("recv_lo", "recv_hi"))
    with pytest.raises(LayerError, match=r"5 value.* of 'recv' .* outside the style's classes \(none\)"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects.assign(recv=1.0, recv_lo=0.5,
                                                                                    recv_hi=2.0).iloc[:5]},
                                    {"effects": grey})
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": 6}, "odd number of classes"),
        ({"classes": 13}, "odd number of classes"),
        ({"scheme": "sequential", "classes": 10}, "2 to 9 classes"),
        ({"neutral": 5.0}, "below the largest"),
        ({"neutral": -1.0}, "at least 0"),
        ({"scheme": "rainbow"}, "scheme='rainbow'"),
        ({"method": "jenks"}, "method='jenks'"),
        ({"scheme": "sequential", "neutral": 0.1}, "only to scheme='diverging'"),
    ],
)
def test_style_argument_errors(kwargs, message):
    with pytest.raises(LayerError, match=message):
        gis.graduated_style("x", [-1.0, 0.0, 2.0], **kwargs)


def test_style_value_errors():
    with pytest.raises(LayerError, match="'name' holds .* not numbers"):
        gis.graduated_style("name", ["a", "b"])
    with pytest.raises(LayerError, match="'x' has no finite values"):
        gis.graduated_style("x", [np.nan, np.inf])


# --- GeoPackage errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "1band", "sweep band", "a-b", "x" * 64, "gpkg_effects", "RTREE_x", "layer_styles"]
)
def test_invalid_layer_names(effects, tmp_path, name):
    with pytest.raises(LayerError, match="Layer name") as err:
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {name: effects})
    assert repr(name)[1:-1] in str(err.value)
    assert _files(tmp_path) == []


def test_layer_names_clashing_in_case(effects, tmp_path):
    with pytest.raises(LayerError, match="'Effects' and 'effects' .* differ only in case"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"Effects": effects, "effects": effects})


def test_style_for_absent_layer(effects, tmp_path):
    style = gis.graduated_style("indirect", effects["indirect"])
    with pytest.raises(LayerError, match="'sweep', which is not among the layers"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, {"sweep": style})


def test_style_column_errors(effects, tmp_path):
    style = gis.graduated_style("total", [-1.0, 1.0])
    with pytest.raises(MissingColumnError, match="Column 'total' is not in layer 'effects'"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, {"effects": style})
    text = style.__class__("name", style.classes)
    with pytest.raises(LayerError, match="Column 'name' of layer 'effects' holds .* not numbers"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, {"effects": text})
    narrow = gis.graduated_style("indirect", [-1.0, 1.0])
    with pytest.raises(LayerError, match="6 value.* of 'indirect' in layer 'effects' fall outside"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, {"effects": narrow})
    assert _files(tmp_path) == []


def test_empty_and_non_geo_layers(effects, tmp_path):
    with pytest.raises(LayerError, match="Layer 'sweep' has no rows"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects, "sweep": effects.iloc[:0]})
    with pytest.raises(LayerError, match="Layer 'table' is a DataFrame, not a GeoDataFrame"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"table": effects.drop(columns="geometry")})
    with pytest.raises(LayerError, match="No layers given"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {})
    with pytest.raises(LayerError, match=r"\.gpkg"):
        gis.write_styled_geopackage(tmp_path / "m.shp", {"effects": effects})
    with pytest.raises(LayerError, match="version='2.0'"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects}, version="2.0")


def test_styled_layer_with_mixed_geometries(effects, tmp_path):
    mixed = effects.copy()
    mixed.loc[0, "geometry"] = shapely.Point(110.5, 30.5)
    with pytest.raises(GeometryError, match="Layer 'effects' holds point, polygon geometries"):
        gis.write_styled_geopackage(
            tmp_path / "m.gpkg", {"effects": mixed}, {"effects": gis.graduated_style("indirect", mixed["indirect"])}
        )


def test_failed_geopackage_leaves_nothing(effects, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(_export, "_insert_styles", broken)
    styles = {"effects": gis.graduated_style("indirect", effects["indirect"])}
    with pytest.raises(RuntimeError, match="disk full"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects, "more": effects}, styles)
    assert _files(tmp_path) == []
    monkeypatch.undo()
    old = gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": effects})
    before = _digest(old)
    monkeypatch.setattr(_export, "_insert_styles", broken)
    with pytest.raises(RuntimeError):
        gis.write_styled_geopackage(old, {"effects": effects}, styles)
    assert _files(tmp_path) == ["m.gpkg"] and _digest(old) == before


def test_gdal_failure_names_layer(effects, tmp_path):
    bad = effects.assign(Value=effects["value"])  # SQLite column names ignore case
    with pytest.raises(LayerError, match="GDAL could not write layer 'bad' of .*'Value'"):
        gis.write_styled_geopackage(tmp_path / "m.gpkg", {"good": effects, "bad": bad})
    assert _files(tmp_path) == []


# --- Shapefile -------------------------------------------------------------------------------


def test_shapefile_fields_cut_to_ten_bytes(effects, tmp_path):
    frame = effects[["uid", "geometry"]].assign(
        indirect_effect=1.0, indirect_effect_se=0.5, Indirect_E=2.0, 名称很长的字段="甲", value=3.0
    )
    path = tmp_path / "effects.shp"
    mapping = gis.write_shapefile(frame, path)
    assert mapping == {
        "uid": "uid",
        "indirect_effect": "indirect_1",
        "indirect_effect_se": "indirect_2",
        "Indirect_E": "Indirect_E",
        "名称很长的字段": "名称很",
        "value": "value",
    }
    assert all(len(short.encode("utf-8")) <= 10 for short in mapping.values())
    assert path.with_suffix(".cpg").read_text() == "UTF-8"
    back = gis.read_layer(path, "uid")
    assert [c for c in back.columns if c != "geometry"] == list(mapping.values())
    assert back["名称很"].tolist() == ["甲"] * len(frame)
    with open(tmp_path / "effects_fields.csv", encoding="utf-8", newline="") as table:
        assert list(csv.reader(table)) == [["field", "shapefile_field"], *map(list, mapping.items())]
    assert _files(tmp_path) == sorted(
        ["effects.shp", "effects.shx", "effects.dbf", "effects.prj", "effects.cpg", "effects_fields.csv"]
    )


def test_shapefile_replaces_stale_sidecars(effects, tmp_path):
    path = tmp_path / "grid.shp"
    gis.write_shapefile(effects, path)
    path.with_suffix(".qix").write_bytes(b"old spatial index")
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gis.write_shapefile(effects.set_crs(None, allow_override=True), path)
    assert not path.with_suffix(".qix").exists() and not path.with_suffix(".prj").exists()


def test_failed_shapefile_leaves_nothing(effects, tmp_path, monkeypatch):
    real = pyogrio.write_dataframe

    def write_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise pyogrio.errors.DataLayerError("simulated failure")

    monkeypatch.setattr(_export.pyogrio, "write_dataframe", write_then_fail)
    with pytest.raises(LayerError, match="simulated failure"):
        gis.write_shapefile(effects, tmp_path / "grid.shp")
    with pytest.raises(LayerError, match="simulated failure"):
        gis.write_geojson(effects, tmp_path / "grid.geojson")
    assert _files(tmp_path) == []


# --- GeoJSON ---------------------------------------------------------------------------------


def test_geojson_is_rfc7946_lonlat(effects, tmp_path):
    projected = effects.to_crs(UTM50N)
    path = gis.write_geojson(projected, tmp_path / "effects.geojson")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in document  # RFC 7946 drops the member: always WGS 84
    assert document["features"][0]["properties"]["name"] == "格00"
    ring = np.array(document["features"][0]["geometry"]["coordinates"][0])
    np.testing.assert_allclose(ring.min(axis=0), [110.0, 30.0], atol=ATOL_DEGREES)
    back = pyogrio.read_dataframe(path)
    assert back.crs.equals("EPSG:4326")
    np.testing.assert_allclose(back.total_bounds, effects.total_bounds, atol=ATOL_DEGREES)


def test_geojson_needs_crs(effects, tmp_path):
    with pytest.raises(CRSError, match="has no CRS"):
        gis.write_geojson(effects.set_crs(None, allow_override=True), tmp_path / "x.geojson")
    assert _files(tmp_path) == []


# --- GeoTIFF ---------------------------------------------------------------------------------


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two 1 km squares and a right triangle with legs of 900 m, in UTM metres; one NaN unit."""
    return gpd.GeoDataFrame(
        {"uid": ["a", "b", "c", "d"], "effect": [1.5, -2.25, 7.0, np.nan]},
        geometry=[
            shapely.box(0, 0, 1000, 1000),
            shapely.box(1000, 0, 2000, 1000),
            shapely.Polygon([(2000, 0), (2900, 0), (2000, 900)]),
            shapely.box(0, 0, 500, 500),  # inside 'a', but NaN: leaves 'a' as drawn
        ],
        crs=UTM50N,
    )


def _expected_raster(nodata: float) -> np.ndarray:
    """By hand: 250 m pixels from (0, 1000); centre of row r, col c = (125 + 250c, 875 - 250r)."""
    expected = np.full((4, 12), nodata, dtype="float32")
    expected[:, 0:4] = 1.5  # square a: x centres 125..875
    expected[:, 4:8] = -2.25  # square b: x centres 1125..1875
    for r in range(4):
        for c in range(8, 12):
            x, y = 125 + 250 * c, 875 - 250 * r
            if x + y < 2900:  # below the triangle's hypotenuse x + y = 2900 (no centre lies on it)
                expected[r, c] = 7.0
    return expected


def test_geotiff_pixels_match_hand_computation(squares, tmp_path):
    path = gis.write_geotiff(squares, "effect", tmp_path / "effect.tif", resolution=250)
    with rasterio.open(path) as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 32650
        assert tuple(src.transform)[:6] == (250.0, 0.0, 0.0, 0.0, -250.0, 1000.0)
        assert src.dtypes == ("float32",) and src.nodata == -9999.0
        assert src.compression.name.lower() == "deflate"
        assert src.descriptions == ("effect",)
    np.testing.assert_array_equal(band, _expected_raster(-9999.0))
    assert (band == 7.0).sum() == 6  # centres (2125,125) (2375,125) (2625,125) (2125,375) (2375,375) (2125,625)


def test_geotiff_all_touched_and_reprojection(squares, tmp_path):
    touched = gis.write_geotiff(squares, "effect", tmp_path / "t.tif", resolution=250, all_touched=True)
    with rasterio.open(touched) as src:
        assert (src.read(1) == 7.0).sum() > 6
    lonlat = gis.write_geotiff(squares.to_crs(4326), "effect", tmp_path / "r.tif", resolution=250, crs=UTM50N)
    with rasterio.open(lonlat) as src:
        assert src.crs.to_epsg() == 32650
        assert set(np.unique(src.read(1))) <= {-9999.0, 1.5, -2.25, 7.0}


def test_geotiff_errors(squares, tmp_path):
    with pytest.raises(MissingColumnError, match="Column 'total' is not in the layer"):
        gis.write_geotiff(squares, "total", tmp_path / "x.tif", resolution=250)
    with pytest.raises(LayerError, match="Column 'uid' of the layer holds .* not numbers"):
        gis.write_geotiff(squares, "uid", tmp_path / "x.tif", resolution=250)
    with pytest.raises(LayerError, match="resolution must be a positive"):
        gis.write_geotiff(squares, "effect", tmp_path / "x.tif", resolution=0)
    with pytest.raises(LayerError, match="nodata value -2.25"):
        gis.write_geotiff(squares, "effect", tmp_path / "x.tif", resolution=250, nodata=-2.25)
    with pytest.raises(LayerError, match="too large .* resolution is in metre"):
        gis.write_geotiff(squares, "effect", tmp_path / "x.tif", resolution=0.01)
    with pytest.raises(CRSError, match="has no CRS"):
        gis.write_geotiff(squares.set_crs(None, allow_override=True), "effect", tmp_path / "x.tif", resolution=250)
    with pytest.raises(LayerError, match="has no rows"):
        gis.write_geotiff(squares.iloc[:0], "effect", tmp_path / "x.tif", resolution=250)
    assert _files(tmp_path) == []


# --- QGIS sidecar styles and registered CRS --------------------------------------------------


def test_shapefile_qml_uses_short_field_names(effects, tmp_path):
    """The ``.qml`` beside the Shapefile: the GeoPackage style's rules, colours and title, on the .dbf's names."""
    frame = effects[["uid", "geometry"]].assign(indirect_effect=effects["indirect"],
                                                indirect_effect_lo=effects["indirect"] - 1.5,
                                                indirect_effect_hi=effects["indirect"] + 1.5)
    style = gis.graduated_style("indirect_effect", frame, significance=("indirect_effect_lo", "indirect_effect_hi"),
                                title="spillover, change in y")
    path = tmp_path / "effects.shp"
    mapping = gis.write_shapefile(frame, path, style=style)
    qml = path.with_suffix(".qml").read_text(encoding="utf-8")
    title, rules = _qml_rules(_renderer(qml))
    assert title == style.legend_title
    assert [(r["label"], r["color"]) for r in rules] == style.legend()
    named = {n for r in rules for n in re.findall(r'"([^"]+)"', r["filter"])}
    assert named == {mapping[c] for c in ("indirect_effect", "indirect_effect_lo", "indirect_effect_hi")}
    assert all(len(n) <= 10 for n in named)
    assert qml == style.renamed(mapping).to_qml("polygon")
    short = frame.rename(columns=mapping)
    codes = style.classify(frame)
    for i, rule in enumerate(rules):  # the short-name filters pick the units classify() puts in each rule
        picked = [j for j, row in enumerate(short.drop(columns="geometry").to_dict("records"))
                  if _qml_match(rule["filter"], row)]
        code = gis.NOT_SIGNIFICANT if rule["label"] == style.not_significant_label else i
        assert picked == np.flatnonzero(codes == code).tolist(), rule["label"]
    gis.write_shapefile(frame, path)  # unstyled again: the stale .qml goes
    assert not path.with_suffix(".qml").exists()


def test_shapefile_style_errors(effects, tmp_path):
    with pytest.raises(MissingColumnError, match="Column 'total' is not in the layer"):
        gis.write_shapefile(effects, tmp_path / "e.shp", style=gis.graduated_style("total", [1.0, 2.0]))
    assert _files(tmp_path) == []


def test_styled_geotiff_has_a_class_band_coloured_like_the_vector_layer(squares, tmp_path):
    """Band 1 the values, band 2 each unit's class as the vector style draws it; the .qml palettes band 2."""
    style = gis.graduated_style("effect", squares["effect"])
    path = gis.write_geotiff(squares, "effect", tmp_path / "effect.tif", resolution=250, style=style)
    root = ET.fromstring(path.with_suffix(".qml").read_text(encoding="utf-8").split("\n", 1)[1])
    renderer = root.find("pipe/rasterrenderer")
    assert renderer.get("type") == "paletted" and renderer.get("band") == "2"
    assert renderer.get("nodataColor") == ""  # nodata drawn transparent
    entries = renderer.findall("colorPalette/paletteEntry")
    assert [(e.get("value"), e.get("label"), e.get("color")) for e in entries] == [
        (str(i + 1), c.label, c.color) for i, c in enumerate(style.classes)]
    with rasterio.open(path) as src:
        assert src.count == 2 and src.descriptions[0] == "effect"
        values, classes = src.read(1), src.read(2)
    burned = values != -9999.0
    np.testing.assert_array_equal(burned, classes != -9999.0)
    expected = style.class_index(values[burned]) + 1  # each pixel's class from its own value
    np.testing.assert_array_equal(classes[burned], expected)
    gis.write_geotiff(squares, "effect", path, resolution=250)  # unstyled again: one band, the stale .qml goes
    assert not path.with_suffix(".qml").exists()
    with rasterio.open(path) as src:
        assert src.count == 1
    # every unit "not significant": band 2 is all 0, drawn in the vector layer's grey with its label
    grey = gis.graduated_style("effect", squares.assign(lo=-9.0, hi=9.0), significance=("lo", "hi"))
    assert grey.classes == ()
    gis.write_geotiff(squares.assign(lo=-9.0, hi=9.0), "effect", path, resolution=250, style=grey)
    entries = ET.fromstring(path.with_suffix(".qml").read_text(encoding="utf-8").split("\n", 1)[1]).findall(
        "pipe/rasterrenderer/colorPalette/paletteEntry")
    assert [(e.get("value"), e.get("color"), e.get("label")) for e in entries] == [
        ("0", "#bdbdbd", grey.not_significant_label)]
    with rasterio.open(path) as src:
        classes = src.read(2)
    assert set(np.unique(classes[classes != -9999.0])) == {0.0}
    with pytest.raises(LayerError, match="style classes column 'other', not 'effect'"):
        gis.write_geotiff(squares, "effect", tmp_path / "x.tif", resolution=250,
                          style=gis.graduated_style("other", [1.0, 2.0]))
    assert not (tmp_path / "x.tif").exists()


def test_outputs_of_custom_crs_layer_get_the_registered_code(tmp_path):
    """Layers in spillmap's custom equal-area CRS are written in ESRI:102025 (China); GeoJSON stays EPSG:4326."""
    china = gis.read_china_layer()[["code", "geometry"]].assign(v=1.0)
    projected = gis.to_projected(china)
    assert projected.crs.to_authority() is None  # the CRS distances and centroids are computed in
    gpkg = gis.write_styled_geopackage(tmp_path / "m.gpkg", {"effects": projected})
    gis.write_shapefile(projected, tmp_path / "m.shp")
    tif = gis.write_geotiff(projected, "v", tmp_path / "m.tif", resolution=50_000)
    geojson = gis.write_geojson(projected, tmp_path / "m.geojson")
    with sqlite3.connect(gpkg) as db:
        srs = db.execute("SELECT s.organization, s.organization_coordsys_id FROM gpkg_spatial_ref_sys s "
                         "JOIN gpkg_contents c ON c.srs_id = s.srs_id WHERE c.table_name = 'effects'").fetchone()
    assert srs == ("ESRI", 102025)
    assert gis.read_layer(tmp_path / "m.shp", "code").crs.to_authority() == ("ESRI", "102025")
    with rasterio.open(tif) as src:
        assert src.crs.to_authority() == ("ESRI", "102025")
    assert pyogrio.read_info(geojson)["crs"] == "EPSG:4326"
    back = gpd.read_file(gpkg).to_crs(china.crs)
    np.testing.assert_allclose(shapely.get_coordinates(back.geometry.array),
                               shapely.get_coordinates(china.geometry.array), atol=1e-9)
