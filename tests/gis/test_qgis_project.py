"""The QGIS project (``spillmap.qgz``) written beside the GeoPackage.

Pure-Python cases read the project XML: groups ("effects", "weights",
"distance bands" in band order), relative layer paths, which layers are
ticked, the embedded rule-based renderer, labels with a buffer and scale
visibility, the authority code of an EPSG CRS, the layout's items, raster
layers only with a ``.qml`` sidecar, and the same bytes from the same inputs.

One probe opens the ``.qgz`` of a real synthetic ``spillmap run`` (fixture
``synthetic_run``) in a real QGIS 3.22 (see tests/qgis_harness.py): groups,
layer count, every layer valid with its stored style, labels on the effects
layer, only the crossover band ticked, the layout's items, a PDF and a PNG
export (looked at: map, legend, title, SYNTHETIC note, scale bar, north arrow).
"""

from __future__ import annotations

import json
import math
import shutil
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from spillmap import gis
from spillmap.errors import LayerError
from tests.qgis_harness import qgis_env_or_skip, run_probe


def _xml(qgz) -> ET.Element:
    with zipfile.ZipFile(qgz) as zf:
        (name,) = zf.namelist()
        assert name.endswith(".qgs")
        return ET.fromstring(zf.read(name))


@pytest.fixture(scope="module")
def small(tmp_path_factory, make_grid):
    """A styled GeoPackage with effects, weights and two bands (given out of band order)."""
    folder = tmp_path_factory.mktemp("qgz")
    grid = make_grid()
    eff = grid.assign(recv=np.linspace(-1, 1, len(grid)), recv_lo=np.linspace(-1.5, 0.5, len(grid)),
                      recv_hi=np.linspace(-0.5, 1.5, len(grid)))
    layers = {"effects": eff, "weights_summary": grid.assign(nbrs=np.arange(len(grid), dtype=float)),
              "sweep_0050_0100": eff, "sweep_0000_0050": eff}
    style = gis.graduated_style("recv", eff, title="spillover received, change in y",
                                significance=("recv_lo", "recv_hi"))
    styles = {"effects": (style,), "sweep_0050_0100": style, "sweep_0000_0050": style,
              "weights_summary": gis.graduated_style("nbrs", layers["weights_summary"]["nbrs"], scheme="sequential")}
    gpkg = gis.write_styled_geopackage(folder / "m.gpkg", layers, styles)
    kwargs = {"visible": {"effects", "sweep_0050_0100"}, "labels": {"effects": "name"}, "title": "T", "note": "made up"}
    qgz = gis.write_qgis_project(folder / "m.qgz", gpkg, list(layers), styles, **kwargs)
    return folder, gpkg, layers, styles, kwargs, qgz


def test_groups_paths_and_visibility(small):
    *_, qgz = small
    root = _xml(qgz)
    groups = {g.get("name"): [(n.get("name"), n.get("source"), n.get("checked")) for n in g.findall("layer-tree-layer")]
              for g in root.find("layer-tree-group").findall("layer-tree-group")}
    assert list(groups) == ["effects", "weights", "distance bands"]
    assert groups["effects"] == [("effects", "./m.gpkg|layername=effects", "Qt::Checked")]
    assert groups["weights"] == [("weights_summary", "./m.gpkg|layername=weights_summary", "Qt::Unchecked")]
    assert [(n, c) for n, _, c in groups["distance bands"]] == [("sweep_0000_0050", "Qt::Unchecked"),
                                                                 ("sweep_0050_0100", "Qt::Checked")]
    sources = [m.findtext("datasource") for m in root.iter("maplayer")]
    assert all(s.startswith("./m.gpkg|layername=") for s in sources) and len(sources) == 4
    assert root.find("properties/Paths/Absolute").text == "false"


def test_renderer_labels_and_crs(small):
    *_, styles, _, qgz = small
    layers = {m.findtext("layername"): m for m in _xml(qgz).iter("maplayer")}
    rules = layers["effects"].find("renderer-v2/rules/rule")
    assert rules.get("label") == "spillover received, change in y"
    assert [r.get("label") for r in rules] == [label for label, _ in styles["effects"][0].legend()]
    assert layers["effects"].get("labelsEnabled") == "1" and layers["weights_summary"].get("labelsEnabled") == "0"
    settings = layers["effects"].find("labeling/settings")
    assert settings.find("text-style").get("fieldName") == "name"
    assert settings.find("text-style/text-buffer").get("bufferDraw") == "1"
    rendering = settings.find("rendering")
    assert rendering.get("scaleVisibility") == "1" and float(rendering.get("scaleMax")) == gis_label_scale()
    assert {m.findtext("srs/spatialrefsys/authid") for m in layers.values()} == {"EPSG:4326"}


def gis_label_scale() -> float:
    from spillmap.gis._qgis_project import LABEL_SCALE

    return float(LABEL_SCALE)


def test_layout_items(small):
    *_, qgz = small
    (layout,) = _xml(qgz).iter("Layout")
    items = {i.get("id"): i for i in layout.iter("LayoutItem")}
    assert {"page", "title", "synthetic note", "map", "north arrow", "scale bar", "legend"} <= set(items)
    assert items["title"].get("labelText") == "T"
    assert items["synthetic note"].get("labelText") == "SYNTHETIC DATA — made up"
    assert items["page"].get("size") == "297,210,mm"  # A4 landscape
    assert items["scale bar"].get("unitType") == "km"
    assert items["north arrow"].get("file") == ":/images/north_arrows/layout_default_north_arrow.svg"
    assert items["legend"].get("map_uuid") == items["map"].get("uuid") == items["scale bar"].get("mapUuid")
    assert [n.get("name") for n in items["legend"].iter("layer-tree-layer")] == ["effects"]


def test_same_inputs_same_bytes_and_a_moved_folder(small, tmp_path):
    _, gpkg, layers, styles, kwargs, qgz = small
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    shutil.copy(gpkg, copy / "m.gpkg")
    again = gis.write_qgis_project(copy / "m.qgz", copy / "m.gpkg", list(layers), styles, **kwargs)
    assert again.read_bytes() == qgz.read_bytes()
    with zipfile.ZipFile(again) as zf:
        assert zf.infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


def test_raster_needs_a_qml_sidecar(small, tmp_path):
    folder, gpkg, layers, styles, *_ = small
    tif = folder / "effects_recv.tif"
    gis.write_geotiff(layers["effects"], "recv", tif, resolution=20000.0)
    without = gis.write_qgis_project(tmp_path / "a.qgz", gpkg, list(layers), styles, rasters=[tif])
    assert [m.get("type") for m in _xml(without).iter("maplayer")].count("raster") == 0
    gis.write_geotiff(layers["effects"], "recv", tif, resolution=20000.0, style=styles["effects"][0])  # + .qml
    root = _xml(gis.write_qgis_project(folder / "b.qgz", gpkg, list(layers), styles, rasters=[tif]))
    (raster,) = [m for m in root.iter("maplayer") if m.get("type") == "raster"]
    assert raster.findtext("datasource") == "./effects_recv.tif"
    renderer = raster.find("pipe/rasterrenderer")
    assert renderer.get("type") == "paletted" and renderer.get("band") == "2"
    node = next(n for n in root.iter("layer-tree-layer") if n.get("name") == "effects_recv")
    assert node.get("checked") == "Qt::Unchecked"


def test_bad_input_is_one_clear_error(small, tmp_path):
    _, gpkg, layers, styles, *_ = small
    with pytest.raises(LayerError, match="not in"):
        gis.write_qgis_project(tmp_path / "x.qgz", gpkg, ["nope"], styles)
    with pytest.raises(LayerError, match=".qgz"):
        gis.write_qgis_project(tmp_path / "x.qgs", gpkg, list(layers), styles)
    with pytest.raises(LayerError, match="Label field"):
        gis.write_qgis_project(tmp_path / "x.qgz", gpkg, list(layers), styles, labels={"effects": "nope"})


# ------------------------------------------------------------ real QGIS

PROBE = r'''
import json, os, sys

from qgis.core import (Qgis, QgsApplication, QgsLayerTreeGroup, QgsLayoutExporter, QgsLayoutItemLabel,
                       QgsLayoutItemLegend, QgsLayoutItemMap, QgsLayoutItemPicture, QgsLayoutItemScaleBar,
                       QgsProject, QgsRuleBasedRenderer)

job = json.load(open(sys.argv[1], encoding="utf-8"))
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
report = {"qgis": Qgis.QGIS_VERSION, "read": project.read(job["qgz"]), "crs": project.crs().isValid()}
root = project.layerTreeRoot()
report["groups"] = {g.name(): [[n.name(), n.itemVisibilityChecked()] for n in g.findLayers()]
                    for g in root.children() if isinstance(g, QgsLayerTreeGroup)}
layers = {}
for layer in project.mapLayers().values():
    info = {"valid": layer.isValid(), "source": layer.source(), "crs_valid": layer.crs().isValid()}
    if layer.type() == 0:  # vector
        renderer = layer.renderer()
        info.update(features=layer.featureCount(), renderer=renderer.type(), labels=layer.labelsEnabled())
        if isinstance(renderer, QgsRuleBasedRenderer):
            (group,) = renderer.rootRule().children()
            info["title"] = group.label()
            info["rules"] = [[r.label(), r.symbol().color().name()] for r in group.children()]
        if layer.labelsEnabled():
            s = layer.labeling().settings()
            fmt = s.format()  # keep the format alive: buffer() returns a reference into it (a chained call read freed memory)
            info["label"] = [s.fieldName, s.scaleVisibility, s.minimumScale, fmt.buffer().enabled()]
    else:  # the GeoTIFF: its class band through the embedded palette
        renderer = layer.renderer()
        info.update(renderer=renderer.type(), band=renderer.band() if renderer.type() == "paletted" else None,
                    palette=[[c.label, c.color.name()] for c in renderer.classes()] if renderer.type() == "paletted" else [])
    layers[layer.name()] = info
report["layers"] = layers
layout = project.layoutManager().layoutByName(job["layout"])
report["layout"] = layout is not None
if layout is not None:
    items = layout.items()
    (the_map,) = [i for i in items if isinstance(i, QgsLayoutItemMap)]
    report["items"] = {
        "legends": [[bool(i.linkedMap()), [n.name() for n in i.model().rootGroup().findLayers()]]
                    for i in items if isinstance(i, QgsLayoutItemLegend)],
        "scalebars": [i.unitLabel() for i in items if isinstance(i, QgsLayoutItemScaleBar)],
        "pictures": [[i.picturePath(), i.isMissingImage()] for i in items if isinstance(i, QgsLayoutItemPicture)],
        "labels": [i.text() for i in items if isinstance(i, QgsLayoutItemLabel)],
        "map_layers": [l.name() for l in the_map.layers()],
        "map_box": [the_map.pos().x(), the_map.pos().y(), the_map.rect().width(), the_map.rect().height()],
        "page": [layout.pageCollection().page(0).pageSize().width(), layout.pageCollection().page(0).pageSize().height()],
    }
    exporter = QgsLayoutExporter(layout)
    report["pdf"] = exporter.exportToPdf(job["pdf"], QgsLayoutExporter.PdfExportSettings())
    image = QgsLayoutExporter.ImageExportSettings()
    image.dpi = job["dpi"]
    report["png"] = exporter.exportToImage(job["png"], image)
    band = [layer for layer in project.mapLayersByName(job["band"])]  # the crossover band on the same map
    the_map.setLayers(band)
    report["band_png"] = exporter.exportToImage(job["band_png"], image)
print(job["mark"] + json.dumps(report), flush=True)
os._exit(0)  # QGIS teardown (exitQgis) can crash after the work is done
'''


@pytest.fixture(scope="module")
def opened(synthetic_run, tmp_path_factory):
    """The run's spillmap.qgz opened in QGIS, its layout exported to PDF and PNG (100 dpi)."""
    _, out, _ = synthetic_run
    folder = tmp_path_factory.mktemp("qgz_probe")
    env = qgis_env_or_skip(tmp_path_factory.mktemp("xdg"))
    moved = folder / "moved"  # the folder moved elsewhere: relative paths still resolve
    moved.mkdir()
    for name in ("spillmap.qgz", "spillmap.gpkg", "effects_recv.tif", "effects_recv.qml"):
        shutil.copy(out / name, moved / name)
    crossover = json.loads((out / "sweep" / "sweep_summary.json").read_text(encoding="utf-8"))["crossover"]
    bands = sorted(n for n, _ in __import__("pyogrio").list_layers(out / "spillmap.gpkg") if n.startswith("sweep_"))
    radius = crossover["radius_km"]
    band = next((b for b in bands if int(b[6:10]) <= radius < int(b[11:15])), bands[0])  # where the siphon begins
    job = {"qgz": str(moved / "spillmap.qgz"), "layout": "spillmap", "pdf": str(folder / "layout.pdf"),
           "png": str(folder / "layout.png"), "band_png": str(folder / "band.png"), "dpi": 100, "band": band}
    report = run_probe(PROBE, job, folder, env, name="qgz_probe")
    return report, job, out, bands


def test_qgis_opens_the_project(opened):
    report, job, _, bands = opened
    assert report["read"] and report["crs"]
    assert list(report["groups"]) == ["effects", "weights", "distance bands"]
    assert [n for n, _ in report["groups"]["distance bands"]] == bands  # in band order
    assert [n for n, on in report["groups"]["distance bands"] if on] == [job["band"]]  # only the crossover band
    assert report["groups"]["effects"] == [["effects", True], ["effects_recv", False]]  # the GeoTIFF, unticked
    assert len(report["layers"]) == 3 + len(bands)
    raster = report["layers"].pop("effects_recv")
    assert raster["valid"] and raster["crs_valid"] and raster["source"].endswith("/effects_recv.tif")
    assert raster["renderer"] == "paletted" and raster["band"] == 2
    assert raster["palette"] and set(map(tuple, raster["palette"])) <= set(map(tuple, report["layers"]["effects"]["rules"]))
    for name, info in report["layers"].items():
        assert info["valid"] and info["crs_valid"] and info["features"] > 0, name
        assert info["source"].startswith(job["qgz"].rsplit("/", 1)[0] + "/spillmap.gpkg|layername="), name
        assert info["renderer"] == "RuleRenderer" and info["title"], name
    effects = report["layers"]["effects"]
    assert effects["title"].endswith("change in y") and effects["rules"]
    assert effects["label"][:2] == ["name", True] and effects["label"][3], effects["label"]
    assert effects["label"][2] == pytest.approx(gis_label_scale())  # QGIS: labels hidden beyond 1:4,000,000
    band = report["layers"][job["band"]]
    assert any(c.startswith(("#2", "#4")) for _, c in band["rules"])  # blues: siphon classes


def test_the_layout_exports(opened):
    report, job, *_ = opened
    items = report["items"]
    assert report["layout"] and report["pdf"] == 0 and report["png"] == 0
    assert items["legends"] == [[True, ["effects"]]] and items["map_layers"] == ["effects"]
    assert items["scalebars"] == ["km"]
    assert items["pictures"] == [[":/images/north_arrows/layout_default_north_arrow.svg", False]]
    assert any(t.startswith("spillmap: ") for t in items["labels"])
    assert any(t.startswith("SYNTHETIC DATA") for t in items["labels"])
    assert items["page"] == [297.0, 210.0]
    with open(job["pdf"], "rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000


def _map_pixels(path, box) -> np.ndarray:
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    px = 100 / 25.4  # pixels per mm at 100 dpi
    x, y, w, h = (math.ceil(v * px) for v in box)
    return image[y + 2:y + h - 2, x + 2:x + w - 2].reshape(-1, 3)


def test_the_png_is_not_blank_and_coloured(opened):
    report, job, *_ = opened
    pixels = _map_pixels(job["png"], report["items"]["map_box"])
    drawn = (pixels < 250).any(axis=1)
    assert drawn.mean() > 0.2  # the cities fill a good part of the map frame
    styled = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for _, c in report["layers"]["effects"]["rules"]}
    found = {tuple(p) for p in pixels}
    assert styled & found  # the stored classes' colours are drawn
    band = _map_pixels(job["band_png"], report["items"]["map_box"])
    blue = (band[:, 2] - band[:, 0] > 60).mean()
    red = (band[:, 0] - band[:, 2] > 60).mean()
    assert report["band_png"] == 0 and (blue > 0.001 or red > 0.001)
