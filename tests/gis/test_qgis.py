"""Exports opened in a real QGIS (Debian's python3-qgis, run by /usr/bin/python3).

Cases: every layer of a styled GeoPackage opens valid with its feature
count, field names and types; styled layers come up with a rule-based
renderer read from ``layer_styles`` (the stored row is QGIS's default
style): the parent rule carries the style's title, the rules the stored
labels and colours, and QGIS's own evaluation of each rule's filter picks
exactly the features :meth:`LayerStyle.classify` (which the PNG maps use)
puts in that class or in "not significant"; a constant column opens as one
rule labelled with its value; an unstyled layer opens with QGIS's
single-symbol default; the shipped prefecture map renders to a PNG holding
blue (siphon), red (spillover) and "not significant" grey pixels (units
whose interval includes zero); QGIS can add its own style to the
``layer_styles`` table spillmap created; the Shapefile opens as UTF-8 with
the short field names; the GeoTIFF opens with its CRS and the burned values
at pixel centres.

python3-qgis works only with the system interpreter, so QGIS runs in a
subprocess (``QT_QPA_PLATFORM=offscreen``) that prints one JSON report. The
tests skip when /usr/bin/python3 cannot import ``qgis.core``, except under
``CI=true``, where they fail: CI installs QGIS with
``apt-get install -y --no-install-recommends python3-qgis qgis-providers``.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pyogrio
import pytest
from PIL import Image

from spillmap import gis
from tests.qgis_harness import qgis_env_or_skip, run_probe

#: A pixel is "blue" or "red" when that channel beats the other by this much (0-255).
HUE_MARGIN = 60

PROBE = r'''
import json, os, sys

from qgis.core import (Qgis, QgsApplication, QgsFeatureRequest, QgsMapRendererSequentialJob, QgsMapSettings,
                       QgsPointXY, QgsProviderRegistry, QgsRasterLayer, QgsRuleBasedRenderer, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

job = json.load(open(sys.argv[1], encoding="utf-8"))
app = QgsApplication([], False)
app.initQgis()
ogr = QgsProviderRegistry.instance().providerMetadata("ogr")
report = {"qgis": Qgis.QGIS_VERSION, "layers": {}}
opened = {}
for name in job["layers"]:
    uri = job["gpkg"] + "|layername=" + name
    layer = QgsVectorLayer(uri, name, "ogr")
    info = {"valid": layer.isValid()}
    if layer.isValid():
        renderer = layer.renderer()
        n, ids, names, _descriptions, _error = layer.listStylesInDatabase()
        default_qml = ogr.loadStyle(uri, "")
        info.update(
            features=layer.featureCount(),
            fields=[[f.name(), f.typeName()] for f in layer.fields()],
            renderer=renderer.type(),
            styles_in_db=n,
            style_names=names[:n],
            default_is_stored=bool(default_qml) and any(
                default_qml == layer.getStyleFromDatabase(i)[0] for i in ids[:n]),
        )
        if isinstance(renderer, QgsRuleBasedRenderer):
            (group,) = renderer.rootRule().children()
            info["title"] = group.label()
            info["rules"] = [
                {"label": r.label(), "color": r.symbol().color().name(), "filter": r.filterExpression(),
                 "fids": sorted(f.id() for f in layer.getFeatures(
                     QgsFeatureRequest().setFilterExpression(r.filterExpression())))}
                for r in group.children()]
        opened[name] = layer
    report["layers"][name] = info

report["png_saved"] = render_png(opened[job["render"]], job["png"])

report["add_style_error"] = opened[job["add_style"]].saveStyleToDatabase("qgis_added", "saved by QGIS", False, "")

shp = QgsVectorLayer(job["shapefile"], "shp", "ogr")
first = next(shp.getFeatures())
report["shapefile"] = {"valid": shp.isValid(), "encoding": shp.dataProvider().encoding(),
                       "fields": [f.name() for f in shp.fields()],
                       "first": {f.name(): str(first[f.name()]) for f in shp.fields()}}

tif = QgsRasterLayer(job["geotiff"], "tif", "gdal")
report["geotiff"] = {"valid": tif.isValid(), "crs": tif.crs().authid(), "size": [tif.width(), tif.height()],
                     "samples": [tif.dataProvider().sample(QgsPointXY(x, y), 1)[0] for x, y in job["samples"]]}
print(job["mark"] + json.dumps(report), flush=True)
os._exit(0)  # QGIS teardown (exitQgis) can crash after the work is done
'''


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the QGIS subprocess; skips (fails under CI=true) without QGIS."""
    return qgis_env_or_skip(tmp_path_factory.mktemp("xdg"))


@pytest.fixture(scope="module")
def exports(tmp_path_factory, make_grid) -> dict:
    """A styled GeoPackage, a Shapefile and a GeoTIFF, as spillmap writes them."""
    folder = tmp_path_factory.mktemp("qgis")
    grid = make_grid().copy()
    grid["indirect"] = np.arange(-4.0, 5.0)
    grid["n_neigh"] = np.array([3, 5, 3, 5, 8, 5, 3, 5, 3], dtype="int64")
    china = gis.read_china_layer()
    east = china.representative_point().x.to_numpy() - 110.0  # siphon in the west, spillover in the east
    # units within 5 degrees of 110°E have an interval including zero: "not significant"
    china_effects = china[["code", "name", "geometry"]].assign(indirect=east, ind_lo=east - 5.0, ind_hi=east + 5.0)
    layers = {
        "effects": grid,
        "weights_summary": grid[["uid", "n_neigh", "geometry"]].assign(nbrs=8),
        "china_effects": china_effects,
        "unstyled": grid[["uid", "geometry"]],
    }
    styles = {
        "effects": gis.graduated_style("indirect", grid["indirect"]),
        "weights_summary": gis.graduated_style("nbrs", [8.0] * 9, scheme="sequential"),
        "china_effects": gis.graduated_style("indirect", china_effects, significance=("ind_lo", "ind_hi"),
                                             title="spillover received, change in y"),
    }
    gpkg = gis.write_styled_geopackage(folder / "spillmap.gpkg", layers, styles)
    shp = folder / "effects.shp"
    mapping = gis.write_shapefile(grid.assign(indirect_effect=grid["indirect"]), shp)
    metric = grid.to_crs("EPSG:32649")
    tif = gis.write_geotiff(metric, "indirect", folder / "indirect.tif", resolution=5000)
    centroid = metric.geometry.iloc[0].centroid
    return {"folder": folder, "gpkg": gpkg, "layers": layers, "styles": styles, "shapefile": shp,
            "mapping": mapping, "geotiff": tif, "samples": [[centroid.x, centroid.y]], "grid": grid}


@pytest.fixture(scope="module")
def report(qgis_env, exports) -> dict:
    folder = exports["folder"]
    return run_probe(PROBE, {
        "gpkg": str(exports["gpkg"]), "layers": list(exports["layers"]), "render": "china_effects",
        "png": str(folder / "china.png"), "add_style": "unstyled", "shapefile": str(exports["shapefile"]),
        "geotiff": str(exports["geotiff"]), "samples": exports["samples"]}, folder, qgis_env)


def test_layers_open_with_fields(report, exports):
    assert report["qgis"].startswith("3.")
    for name, frame in exports["layers"].items():
        info = report["layers"][name]
        assert info["valid"], name
        assert info["features"] == len(frame)
        assert [f for f, _ in info["fields"]] == ["fid", *[c for c in frame.columns if c != "geometry"]]
    types = dict(report["layers"]["effects"]["fields"])
    assert types == {"fid": "Integer64", "uid": "String", "name": "String", "value": "Real",
                     "indirect": "Real", "n_neigh": "Integer64"}


def test_stored_style_is_default_and_rule_based(report, exports):
    for name, style in exports["styles"].items():
        info = report["layers"][name]
        assert info["renderer"] == "RuleRenderer", name
        assert info["styles_in_db"] == 1 and info["style_names"] == ["spillmap"]
        assert info["default_is_stored"]
        assert info["title"] == style.legend_title
        assert [(r["label"], r["color"]) for r in info["rules"]] == style.legend()
    plain = report["layers"]["unstyled"]
    assert plain["renderer"] == "singleSymbol" and plain["styles_in_db"] == 0


def test_qgis_puts_each_feature_where_the_png_does(report, exports):
    """QGIS's own filter evaluation against LayerStyle.classify (what the PNG maps colour by)."""
    for name, style in exports["styles"].items():
        codes = style.classify(exports["layers"][name])
        rules = report["layers"][name]["rules"]
        for i, rule in enumerate(rules):
            code = gis.NOT_SIGNIFICANT if rule["label"] == style.not_significant_label else i
            assert rule["fids"] == [fid + 1 for fid in np.flatnonzero(codes == code)], (name, rule["label"])
    grey = report["layers"]["china_effects"]["rules"][-1]
    assert grey["color"] == gis.NOT_SIGNIFICANT_COLOR and len(grey["fids"]) > 50
    assert [r["label"] for r in report["layers"]["weights_summary"]["rules"]] == ["8"]  # one value, one rule
    assert report["layers"]["weights_summary"]["rules"][0]["fids"] == list(range(1, 10))


def test_diverging_colours_in_qgis(report, exports):
    rules = report["layers"]["effects"]["rules"]
    classes = exports["styles"]["effects"].classes
    zero = [rule["color"] for rule, c in zip(rules, classes) if c.lower <= 0 <= c.upper]
    assert zero == ["#f7f7f7"]
    for rule, c in zip(rules, classes):
        r, b = int(rule["color"][1:3], 16), int(rule["color"][5:7], 16)
        assert (b > r) if c.upper < 0 else (r > b) if c.lower > 0 else True


def test_rendered_map_shows_siphon_spillover_and_not_significant(report, exports):
    png = exports["folder"] / "china.png"
    assert report["png_saved"] and png.is_file()
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 10, "the map is blank"
    r, b = pixels[:, 0], pixels[:, 2]
    assert ((b - r) > HUE_MARGIN).sum() > 500, "no blue (siphon) units drawn"
    assert ((r - b) > HUE_MARGIN).sum() > 500, "no red (spillover) units drawn"
    grey = np.array([int(gis.NOT_SIGNIFICANT_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels - grey).max(axis=1) <= 2).sum() > 500, "no grey (not significant) units drawn"


def test_qgis_can_add_to_our_styles_table(report, exports):
    assert report["add_style_error"] == ""
    with sqlite3.connect(exports["gpkg"]) as db:
        rows = db.execute("SELECT f_table_name, styleName, useAsDefault FROM layer_styles ORDER BY id").fetchall()
    assert rows[-1] == ("unstyled", "qgis_added", 0)
    assert pyogrio.read_info(exports["gpkg"], layer="layer_styles")["features"] == 4


def test_shapefile_opens_as_utf8(report, exports):
    shp = report["shapefile"]
    assert shp["valid"] and shp["encoding"] == "UTF-8"
    assert shp["fields"] == list(exports["mapping"].values())
    assert exports["mapping"]["indirect_effect"] == "indirect_e"
    assert shp["first"]["name"] == "格00"


def test_geotiff_opens_with_values(report):
    tif = report["geotiff"]
    assert tif["valid"] and tif["crs"] == "EPSG:32649"
    assert tif["samples"] == [-4.0]  # the south-west cell's centre, burned with its effect


LABEL_PROBE = r'''
import json, os, sys

from qgis.core import (QgsApplication, QgsFeatureRequest, QgsMapRendererSequentialJob, QgsMapSettings,
                       QgsRasterLayer, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

job = json.load(open(sys.argv[1], encoding="utf-8"))
app = QgsApplication([], False)
app.initQgis()
out = {}
gpkg = QgsVectorLayer(job["gpkg"] + "|layername=effects", "effects", "ogr")
out["gpkg"] = [gpkg.isValid(), gpkg.metadata().title(), gpkg.metadata().abstract()]
shp = QgsVectorLayer(job["shp"], "effects", "ogr")
_, loaded = shp.loadDefaultMetadata()  # what QGIS does with a file layer's .qmd
out["shp"] = [shp.isValid() and loaded, shp.metadata().title(), shp.metadata().abstract()]
geojson = QgsVectorLayer(job["geojson"], "effects", "ogr")
out["geojson"] = [geojson.isValid(), geojson.metadata().abstract()]
tif = QgsRasterLayer(job["tif"], "tif", "gdal")
out["tif"] = [tif.isValid(), "SYNTHETIC DATA" in tif.htmlMetadata()]
# the .qml sidecars QGIS applies on open, and one CRS authority id across the outputs
out["authid"] = {"gpkg": gpkg.crs().authid(), "shp": shp.crs().authid(), "tif": tif.crs().authid(),
                 "geojson": geojson.crs().authid()}
out["shp_renderer"] = shp.renderer().type()
if out["shp_renderer"] == "RuleRenderer":
    (group,) = shp.renderer().rootRule().children()
    out["shp_title"] = group.label()
    out["shp_rules"] = [[r.label(), r.symbol().color().name(), sorted(
        str(f["code"]) for f in shp.getFeatures(QgsFeatureRequest().setFilterExpression(r.filterExpression())))]
        for r in group.children()]
out["tif_renderer"] = tif.renderer().type()
palette = {c.value: [c.label, c.color.name()] for c in tif.renderer().classes()} if out["tif_renderer"] == "paletted" else {}
out["tif_items"] = list(palette.values())
# the class QGIS draws at each unit's interior point (band 2 through the palette), by unit code
out["tif_unit_labels"] = {}
for feature in shp.getFeatures():
    value, ok = tif.dataProvider().sample(feature.geometry().pointOnSurface().asPoint(), 2)
    if ok and value in palette:
        out["tif_unit_labels"][str(feature["code"])] = palette[value][0]
for key, layer in (("shp_png", shp), ("tif_png", tif)):
    out[key] = render_png(layer, job[key])
print(job["mark"] + json.dumps(out), flush=True)
os._exit(0)
'''


def test_synthetic_label_as_qgis_shows_it(qgis_env, synthetic_run, tmp_path):
    """A synthetic run's layers: QGIS lists them with a SYNTHETIC title or abstract (Layer Properties ▸ Information)."""
    _, out, _ = synthetic_run
    seen = run_probe(LABEL_PROBE, {"gpkg": str(out / "spillmap.gpkg"), "shp": str(out / "shapefile" / "effects.shp"),
                                   "geojson": str(out / "effects.geojson"), "tif": str(out / "effects_recv.tif"),
                                   "shp_png": str(tmp_path / "shp.png"), "tif_png": str(tmp_path / "tif.png")},
                     tmp_path, qgis_env)
    assert seen["gpkg"][:2] == [True, "effects — SYNTHETIC DATA"] and seen["gpkg"][2].startswith("SYNTHETIC DATA")
    assert seen["shp"][:2] == [True, "effects — SYNTHETIC DATA"] and seen["shp"][2].startswith("SYNTHETIC DATA")
    assert seen["geojson"][0] and "SYNTHETIC DATA" in seen["geojson"][1]
    assert seen["tif"] == [True, True]
    _check_sidecar_styles_and_crs(seen, out, tmp_path)


def _check_sidecar_styles_and_crs(seen: dict, out, folder) -> None:
    """The run's Shapefile and GeoTIFF open styled from their .qml; gpkg, shp and tif share one CRS authority id."""
    ids = seen["authid"]
    assert ids["gpkg"] == ids["shp"] == ids["tif"] and ids["gpkg"].split(":")[0] in ("EPSG", "ESRI"), ids
    assert ids["geojson"] == "EPSG:4326"  # RFC 7946
    with sqlite3.connect(out / "spillmap.gpkg") as db:
        qml = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'effects' AND useAsDefault").fetchone()[0]
    effects = pyogrio.read_dataframe(out / "spillmap.gpkg", layer="effects")
    style = _stored_style(qml)
    assert seen["shp_renderer"] == "RuleRenderer" and seen["shp_title"] == style["title"]
    assert [r[:2] for r in seen["shp_rules"]] == style["legend"]
    for label, _, codes in seen["shp_rules"]:  # QGIS's evaluation on the short names = the GeoPackage's rule
        expected = sorted(effects.loc[[_matches(style["filters"][label], row) for row in
                                       effects.drop(columns="geometry").to_dict("records")], "code"].astype(str))
        assert codes == expected, label
    # the GeoTIFF draws what the vector layer draws: its palette is the legend, and each unit's pixels carry
    # the rule QGIS put the unit in (units too small to hold a pixel centre at their interior point aside)
    assert seen["tif_renderer"] == "paletted" and sorted(seen["tif_items"]) == sorted(style["legend"])
    rule_of = {code: label for label, _, codes in seen["shp_rules"] for code in codes}
    assert len(seen["tif_unit_labels"]) > 0.5 * len(effects)
    assert all(rule_of.get(code) == label for code, label in seen["tif_unit_labels"].items())
    for key in ("shp_png", "tif_png"):
        assert seen[key]
        pixels = np.asarray(Image.open(folder / f"{key[:3]}.png").convert("RGB")).reshape(-1, 3)
        drawn = pixels[(pixels != 255).any(axis=1)]
        assert len(drawn) > 0.05 * len(pixels), f"{key} is blank"
        legend_rgb = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for _, c in style["legend"]}
        assert {tuple(p) for p in np.unique(drawn, axis=0)} & legend_rgb, f"{key} shows none of the legend's colours"


def _stored_style(qml: str) -> dict:
    import xml.etree.ElementTree as ET

    group = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2/rules/rule")
    symbols = {s.get("name"): s for s in ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2/symbols")}
    legend, filters = [], {}
    for rule in group:
        rgba = symbols[rule.get("symbol")].find("layer/prop[@k='color']").get("v").split(",")
        legend.append([rule.get("label"), "#" + "".join(f"{int(c):02x}" for c in rgba[:3])])
        filters[rule.get("label")] = rule.get("filter")
    return {"title": group.get("label"), "legend": legend, "filters": filters}


def _matches(expression: str, row: dict) -> bool:
    from tests.gis.test_export import _qml_match

    return _qml_match(expression, row)
