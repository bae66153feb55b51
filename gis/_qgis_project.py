"""A QGIS 3 project (``.qgz``) over a styled GeoPackage: grouped layers, labels and a print layout.

QGIS's own Python is not available beside spillmap, so the project is
written as QGIS 3.22 project XML (a ``.qgs`` document inside a ``.qgz``
zip) with :mod:`xml.etree`; QGIS fills defaults for every element left out.
What the project holds:

* every layer of the GeoPackage by a **relative** path
  (``./spillmap.gpkg|layername=effects``), so the folder can be moved;
* each layer's renderer embedded from spillmap's own :class:`LayerStyle`
  (the ``<renderer-v2>`` of :meth:`LayerStyle.to_qml`), so the project shows
  the classes the GeoPackage stores as its default style;
* each layer's CRS (and the project's) read from the GeoPackage: the
  authority code when the CRS has one, else its WKT;
* layer groups (by default "effects", "weights", "distance bands" in band
  order, "other layers"), which layers are ticked visible, and name labels
  with a white buffer shown only at scales larger than 1:``label_scale``;
* GeoTIFFs with a ``.qml`` sidecar, as hidden raster layers using the
  sidecar's ``<pipe>`` (renderer);
* a print layout (A4 landscape) with the map (extent: ``map_layer``), a
  legend of the map's layer, title, scale bar in km, north arrow and, for
  synthetic data, a "SYNTHETIC DATA" note.

The bytes depend only on the inputs: layer ids and layout item ids derive
from the names, the zip entry carries a fixed date.
"""

from __future__ import annotations

import math
import os
import textwrap
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from spillmap._files import atomic_path
from spillmap.errors import LayerError

from ._styles import QGIS_VERSION, GeometryKind, LayerStyle, qgis_document

__all__ = ["LABEL_SCALE", "LAYOUT_NAME", "default_groups", "write_qgis_project"]

#: Labels are drawn at scales larger than 1:LABEL_SCALE (zoomed in further than a province).
LABEL_SCALE = 4_000_000
#: Name of the print layout (Project ▸ Layouts).
LAYOUT_NAME = "spillmap"
#: QGIS's default north arrow (bundled with QGIS).
NORTH_ARROW = ":/images/north_arrows/layout_default_north_arrow.svg"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_UUIDS = uuid.UUID("5d1c6a8e-2f34-4c0e-9a51-7e1f0b6c2d90")  # namespace of the layout items' ids
#: Layout item types (QgsLayoutItemRegistry).
_PAGE, _MAP, _PICTURE, _LABEL, _LEGEND, _SCALEBAR = 65638, 65639, 65640, 65641, 65642, 65646
#: A4 landscape, mm.
_PAGE_W, _PAGE_H = 297.0, 210.0
_MAP_BOX = (10.0, 30.0, 190.0, 170.0)  # x, y, width, height (mm)
_GEOMETRY = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line", "MultiLineString": "line",
             "Point": "point", "MultiPoint": "point"}
#: Legend lines are wrapped at this many characters (7 pt text in the 82 mm beside the map).
_LEGEND_WRAP = 52
_QGIS_GEOMETRY = {"polygon": "Polygon", "line": "Line", "point": "Point"}


def default_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """spillmap's layer groups: "effects", "weights", "distance bands" (``sweep_*`` in band order), "other layers".

    Band layers are named ``sweep_IIII_OOOO`` (inner and outer km, zero-padded), so sorting the
    names sorts the bands by distance. Empty groups are left out.
    """
    groups: dict[str, list[str]] = {"effects": [], "weights": [], "distance bands": [], "other layers": []}
    for name in names:
        key = ("effects" if name == "effects" else "weights" if name.startswith("weights")
               else "distance bands" if name.startswith("sweep_") else "other layers")
        groups[key].append(name)
    groups["distance bands"].sort()
    return {k: v for k, v in groups.items() if v}


def write_qgis_project(
    path: str | os.PathLike[str],
    gpkg: str | os.PathLike[str],
    layers: Sequence[str],
    styles: Mapping[str, LayerStyle | Sequence[LayerStyle]] | None = None,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    visible: Collection[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "spillmap",
    note: str | None = None,
    rasters: Sequence[str | os.PathLike[str]] = (),
    map_layer: str | None = None,
    label_scale: float = LABEL_SCALE,
) -> Path:
    """Write a QGIS 3 project (``.qgz``) showing the layers of a styled GeoPackage.

    Parameters
    ----------
    path
        Target ``.qgz``, in the GeoPackage's folder or above it (layers are
        referenced relative to it).
    gpkg
        The GeoPackage, e.g. written by :func:`write_styled_geopackage`.
    layers
        Its layers to show, e.g. ``["effects", "weights_summary", "sweep_0000_0050"]``.
    styles
        Layer name to its style (a sequence: the first, the GeoPackage's
        default); embedded as the layer's renderer. Unstyled layers get QGIS's default.
    groups
        Group name to its layers, top to bottom (default :func:`default_groups`);
        layers in no group are added to "other layers".
    visible
        Layers ticked visible (default: all); a group shows ticked if any of its layers is.
    labels
        Layer name to the field labelled on the map (e.g. ``{"effects": "name"}``):
        8 pt text with a white 0.8 mm buffer, drawn only at scales larger than 1:``label_scale``.
    title
        Project title and the layout's title.
    note
        For synthetic data: the layout carries "SYNTHETIC DATA — <note>".
    rasters
        GeoTIFFs to add as hidden raster layers (group "effects"); one without a
        ``.qml`` sidecar beside it is skipped.
    map_layer
        The layer the layout's map shows and its legend lists; its extent sets the
        map's (default: the first visible layer).
    label_scale
        Scale denominator from which labels are shown (e.g. 4,000,000 for 1:4,000,000).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    LayerError
        ``path`` is not a ``.qgz``, a layer is not in the GeoPackage, a group, style,
        label or ``map_layer`` names a layer not in ``layers``, or a label field is not
        in its layer.
    """
    import pyogrio

    target, source = Path(path), Path(gpkg)
    if target.suffix.lower() != ".qgz":
        raise LayerError(f"write_qgis_project writes .qgz files; '{target}' has another suffix.")
    present = {name for name, _ in pyogrio.list_layers(source)}
    missing = [n for n in layers if n not in present]
    if missing:
        raise LayerError(f"Layers {missing} are not in '{source}' (it holds {sorted(present)}).")
    groups = {k: list(v) for k, v in (default_groups(layers) if groups is None else groups).items()}
    styles, labels = dict(styles or {}), dict(labels or {})
    named = [n for names in groups.values() for n in names] + list(styles) + list(labels) + [map_layer or layers[0]]
    strays = sorted({n for n in named if n not in layers})
    if strays:
        raise LayerError(f"Groups, styles, labels or map_layer name layers not in layers=: {strays}.")
    ungrouped = [n for n in layers if not any(n in g for g in groups.values())]
    if ungrouped:
        groups.setdefault("other layers", []).extend(ungrouped)
    shown = set(layers if visible is None else visible)
    map_layer = map_layer or next((n for n in layers if n in shown), layers[0])

    infos = {name: pyogrio.read_info(source, layer=name, force_total_bounds=True) for name in layers}
    for name, field in labels.items():
        if field not in list(infos[name]["fields"]):
            raise LayerError(f"Label field '{field}' is not in layer '{name}' (fields: {list(infos[name]['fields'])}).")
    relative = "./" + Path(os.path.relpath(source.resolve(), target.parent.resolve())).as_posix()
    entries = [_vector_entry(name, relative, infos[name], styles.get(name), labels.get(name), label_scale)
               for name in layers]
    for tif in rasters:
        entry = _raster_entry(Path(tif), target.parent)
        if entry is not None:
            groups.setdefault("effects", []).append(entry.name)
            entries.append(entry)
    root = _project(entries, groups, shown, title=title, note=note, map_layer=map_layer)
    text = qgis_document(root)
    info = zipfile.ZipInfo(target.stem + ".qgs", date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, text.encode("utf-8"))
    return target


# ------------------------------------------------------------------ layers


class _Entry:
    """One project layer: its ``<maplayer>``, tree attributes and extent (layer CRS units)."""

    def __init__(self, name: str, element: ET.Element, source: str, provider: str, crs: object,
                 extent: tuple[float, float, float, float]) -> None:
        self.name, self.element, self.source, self.provider = name, element, source, provider
        self.crs, self.extent = crs, extent
        self.id = _layer_id(name)
        self.title = ""  # the style's title (legend)


def _layer_id(name: str) -> str:
    return f"{name}_spillmap"


def _vector_entry(name: str, relative: str, info: dict, style: LayerStyle | Sequence[LayerStyle] | None,
                  label: str | None, label_scale: float) -> _Entry:
    import pyproj

    kind: GeometryKind | None = _GEOMETRY.get(str(info.get("geometry_type")))
    crs = pyproj.CRS.from_user_input(info["crs"]) if info.get("crs") else None
    attrs = {"type": "vector", "geometry": _QGIS_GEOMETRY.get(kind or "", "Unknown"),
             "wkbType": str(info.get("geometry_type") or "Unknown"), "labelsEnabled": "1" if label else "0",
             "hasScaleBasedVisibilityFlag": "0", "minScale": "0", "maxScale": "0", "readOnly": "0"}
    layer = ET.Element("maplayer", attrs)
    bounds = tuple(float(b) for b in info["total_bounds"])
    source = f"{relative}|layername={name}"
    _common(layer, name, source, "ogr", crs, bounds)
    ET.SubElement(layer, "provider", encoding="UTF-8").text = "ogr"
    first = style if style is None or isinstance(style, LayerStyle) else style[0]
    if first is not None:
        qml = ET.fromstring(first.to_qml(kind or "polygon"))
        for tag in ("renderer-v2", "labeling"):
            layer.extend(qml.findall(tag))
    if label:
        layer.append(_labeling(label, label_scale))
    ET.SubElement(layer, "blendMode").text = "0"
    ET.SubElement(layer, "featureBlendMode").text = "0"
    ET.SubElement(layer, "layerOpacity").text = "1"
    entry = _Entry(name, layer, source, "ogr", crs, bounds)
    if first is not None:
        entry.title = first.legend_title
    return entry


def _raster_entry(tif: Path, folder: Path) -> _Entry | None:
    """A hidden raster layer from ``tif`` with its ``.qml`` sidecar's pipe; None without a sidecar."""
    qml_path = tif.with_suffix(".qml")
    if not tif.exists() or not qml_path.exists():
        return None
    import pyproj
    import rasterio

    pipe = ET.parse(qml_path).getroot().find("pipe")
    if pipe is None:
        return None
    with rasterio.open(tif) as src:
        crs = pyproj.CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
        bounds = tuple(float(b) for b in src.bounds)
    name = tif.stem
    source = "./" + Path(os.path.relpath(tif.resolve(), folder.resolve())).as_posix()
    layer = ET.Element("maplayer", {"type": "raster", "hasScaleBasedVisibilityFlag": "0", "minScale": "1e+08",
                                    "maxScale": "0"})
    _common(layer, name, source, "gdal", crs, bounds)
    ET.SubElement(layer, "provider").text = "gdal"
    layer.append(pipe)
    ET.SubElement(layer, "blendMode").text = "0"
    return _Entry(name, layer, source, "gdal", crs, bounds)


def _common(layer: ET.Element, name: str, source: str, provider: str, crs: object,
            bounds: tuple[float, ...]) -> None:
    extent = ET.SubElement(layer, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), bounds):
        ET.SubElement(extent, tag).text = repr(value)
    ET.SubElement(layer, "id").text = _layer_id(name)
    ET.SubElement(layer, "datasource").text = source
    ET.SubElement(layer, "layername").text = name
    if crs is not None:
        ET.SubElement(layer, "srs").append(_spatialrefsys(crs))


def _spatialrefsys(crs: object) -> ET.Element:
    """QGIS's ``<spatialrefsys>``: the authority's definition and code when the CRS has one, else its WKT."""
    import pyproj

    crs = pyproj.CRS.from_user_input(crs)
    authority = crs.to_authority()
    if authority is not None:
        crs = pyproj.CRS.from_authority(*authority)
    ref = ET.Element("spatialrefsys")
    ET.SubElement(ref, "wkt").text = crs.to_wkt()
    ET.SubElement(ref, "srsid").text = "0"
    ET.SubElement(ref, "srid").text = authority[1] if authority and authority[0] == "EPSG" else "0"
    ET.SubElement(ref, "authid").text = ":".join(authority) if authority else ""
    ET.SubElement(ref, "description").text = crs.name
    ET.SubElement(ref, "geographicflag").text = "true" if crs.is_geographic else "false"
    return ref


def _labeling(field: str, scale: float) -> ET.Element:
    """Simple labels of ``field``: 8 pt, white buffer, shown at scales larger than 1:``scale``."""
    labeling = ET.Element("labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    text = ET.SubElement(settings, "text-style", {
        "fieldName": field, "isExpression": "0", "fontSize": "8", "fontSizeUnit": "Point",
        "textColor": "20,20,20,255", "textOpacity": "1", "fontWeight": "50", "multilineHeight": "1"})
    ET.SubElement(text, "text-buffer", {
        "bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM", "bufferColor": "255,255,255,255",
        "bufferOpacity": "0.85", "bufferNoFill": "1", "bufferJoinStyle": "128", "bufferBlendMode": "0"})
    ET.SubElement(settings, "placement", {"placement": "1", "centroidInside": "1", "centroidWhole": "0"})
    # QGIS's own (legacy-named) attributes: scaleMax holds the most zoomed-out scale labels are drawn at
    ET.SubElement(settings, "rendering", {
        "drawLabels": "1", "scaleVisibility": "1", "scaleMin": "0", "scaleMax": f"{scale:g}", "obstacle": "1",
        "displayAll": "0", "upsidedownLabels": "0", "labelPerPart": "0", "minFeatureSize": "0"})
    return labeling


# ----------------------------------------------------------------- project


def _project(entries: list[_Entry], groups: Mapping[str, Sequence[str]], shown: set[str], *, title: str,
             note: str | None, map_layer: str) -> ET.Element:
    by_name = {e.name: e for e in entries}
    main = by_name[map_layer]
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": title})
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    if main.crs is not None:
        ET.SubElement(root, "projectCrs").append(_spatialrefsys(main.crs))
    tree = ET.SubElement(root, "layer-tree-group")
    order = []
    for group, names in groups.items():
        members = [by_name[n] for n in names if n in by_name]
        if not members:
            continue
        node = ET.SubElement(tree, "layer-tree-group", {
            "name": group, "expanded": "1",
            "checked": "Qt::Checked" if any(e.name in shown for e in members) else "Qt::Unchecked"})
        for e in members:
            ET.SubElement(node, "layer-tree-layer", _tree_layer(e, e.name in shown))
            order.append(e)
    layer_order = ET.SubElement(root, "layerorder")
    projectlayers = ET.SubElement(root, "projectlayers")
    for e in order:
        ET.SubElement(layer_order, "layer", id=e.id)
        projectlayers.append(e.element)
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(properties, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    extent = _map_extent(main.extent, _MAP_BOX[2] / _MAP_BOX[3])
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas")  # the view QGIS opens with
    ET.SubElement(canvas, "units").text = "meters" if main.crs is None or not _geographic(main.crs) else "degrees"
    box = ET.SubElement(canvas, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent):
        ET.SubElement(box, tag).text = repr(value)
    ET.SubElement(canvas, "rotation").text = "0"
    if main.crs is not None:
        ET.SubElement(ET.SubElement(canvas, "destinationsrs"), "spatialrefsys").extend(list(_spatialrefsys(main.crs)))
    layouts = ET.SubElement(root, "Layouts")
    layouts.append(_layout(main, extent, title=title, note=note))
    return root


def _geographic(crs: object) -> bool:
    import pyproj

    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def _tree_layer(e: _Entry, checked: bool) -> dict[str, str]:
    return {"id": e.id, "name": e.name, "source": e.source, "providerKey": e.provider,
            "checked": "Qt::Checked" if checked else "Qt::Unchecked", "expanded": "1" if checked else "0"}


def _map_extent(bounds: tuple[float, ...], aspect: float, margin: float = 0.03) -> tuple[float, ...]:
    """``bounds`` padded by ``margin`` and widened to the map frame's ``aspect`` (width / height)."""
    xmin, ymin, xmax, ymax = bounds
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    w, h = (xmax - xmin) * (1 + 2 * margin), (ymax - ymin) * (1 + 2 * margin)
    w, h = max(w, h * aspect, 1e-9), max(h, w / aspect, 1e-9)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


# ------------------------------------------------------------------ layout


def _uuid(name: str) -> str:
    return "{" + str(uuid.uuid5(_UUIDS, name)) + "}"


def _item(kind: int, name: str, x: float, y: float, w: float, h: float, z: int, **attrs: str) -> ET.Element:
    item = ET.Element("LayoutItem", {
        "type": str(kind), "id": name, "uuid": _uuid(name), "templateUuid": _uuid(name), "zValue": str(z),
        "position": f"{x:g},{y:g},mm", "positionOnPage": f"{x:g},{y:g},mm", "size": f"{w:g},{h:g},mm",
        "referencePoint": "0", "frame": "false", "background": "false", "visibility": "1", "opacity": "1",
        "itemRotation": "0", "blendMode": "0", "excludeFromExports": "0", "positionLock": "false",
        "outlineWidthM": "0.3,mm", **attrs})
    return item


def _font(family_size_weight: tuple[str, float, int]) -> str:
    """Qt's font description: family, point size, pixel size, style hint, weight (50 normal, 75 bold)."""
    family, size, weight = family_size_weight
    return f"{family},{size:g},-1,5,{weight},0,0,0,0,0"


def _rgb(element: ET.Element, tag: str, r: int, g: int, b: int) -> None:
    ET.SubElement(element, tag, red=str(r), green=str(g), blue=str(b), alpha="255")


def _label(name: str, text: str, x: float, y: float, w: float, h: float, font: tuple[str, float, int],
           color: tuple[int, int, int] = (0, 0, 0), halign: int = 1) -> ET.Element:
    item = _item(_LABEL, name, x, y, w, h, 3, labelText=text, htmlState="0", marginX="0", marginY="0",
                 halign=str(halign), valign="32")
    ET.SubElement(item, "LabelFont", description=_font(font), style="")
    _rgb(item, "FontColor", *color)
    return item


def _nice(value: float) -> float:
    """The largest of 1, 2, 2.5, 5 × 10^k not above ``value``."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return max(m * power for m in (1, 2, 2.5, 5) if m * power <= value)


def _layout(main: _Entry, extent: tuple[float, ...], *, title: str, note: str | None) -> ET.Element:
    """An A4 landscape layout: title, optional SYNTHETIC note, framed map, north arrow, scale bar, legend."""
    layout = ET.Element("Layout", name=LAYOUT_NAME, units="mm", printResolution="300", worldFileMap="")
    pages = ET.SubElement(layout, "PageCollection")
    page = _item(_PAGE, "page", 0, 0, _PAGE_W, _PAGE_H, 0, background="true")
    _rgb(page, "BackgroundColor", 255, 255, 255)
    pages.append(page)
    sans = "Sans Serif"
    layout.append(_label("title", title, 10, 7, 277, 11, (sans, 15, 75)))
    if note:
        text = note if note.upper().startswith("SYNTHETIC DATA") else f"SYNTHETIC DATA — {note}"
        layout.append(_label("synthetic note", text, 10, 19, 277, 9, (sans, 8, 75),
                             color=(178, 24, 43)))
    x, y, w, h = _MAP_BOX
    geographic = main.crs is not None and _geographic(main.crs)
    item = _item(_MAP, "map", x, y, w, h, 1, frame="true", background="true", keepLayerSet="true",
                 drawCanvasItems="true", mapRotation="0", followPreset="false", followPresetName="", mapFlags="0",
                 labelMargin="0,mm", isTemporal="0")
    _rgb(item, "FrameColor", 60, 60, 60)
    _rgb(item, "BackgroundColor", 255, 255, 255)
    ET.SubElement(item, "Extent", {k: repr(v) for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent)})
    layer_set = ET.SubElement(item, "LayerSet")
    ET.SubElement(layer_set, "Layer", source=main.source, name=main.name, provider=main.provider).text = main.id
    ET.SubElement(item, "AtlasMap", atlasDriven="0", scalingMode="2", margin="0.1")
    layout.append(item)
    map_uuid = _uuid("map")
    layout.append(_item(_PICTURE, "north arrow", x + w - 14, y + 4, 10, 15, 5, file=NORTH_ARROW, mode="0",
                        mapUuid=map_uuid, northMode="0", northOffset="0", resizeMode="0", anchorPoint="0",
                        pictureRotation="0", svgFillColor="0,0,0,255", svgBorderColor="0,0,0,255",
                        svgBorderWidth="0.2"))
    # scale bar: two segments of a round number of km, about a sixth of the map's width together
    width_km = (extent[2] - extent[0]) / 1000.0 if not geographic else (extent[2] - extent[0]) * 111.32
    segment = _nice(width_km / 12)
    bar = _item(_SCALEBAR, "scale bar", x + 4, y + h - 14, 50, 10, 4, background="true", style="Single Box",
                mapUuid=map_uuid, unitType="km", unitLabel="km", numSegments="2", numSegmentsLeft="0",
                numSubdivisions="1", numUnitsPerSegment=f"{segment:g}", numMapUnitsPerScaleBarUnit="1",
                segmentSizeMode="0", height="2", labelBarSpace="2", boxContentSpace="1.5", alignment="0",
                outlineWidth="0.3")
    _rgb(bar, "BackgroundColor", 255, 255, 255)
    ET.SubElement(bar, "text-style", {"fontSize": "8", "fontSizeUnit": "Point", "textColor": "0,0,0,255",
                                      "textOpacity": "1"})
    layout.append(bar)
    legend = _item(_LEGEND, "legend", x + w + 5, y, _PAGE_W - (x + w + 5) - 10, 60, 2, title="Legend",
                   map_uuid=map_uuid, resizeToContents="1", columnCount="1", symbolWidth="6",
                   symbolHeight="3.5", boxSpace="2", columnSpace="2", lineSpacing="1", titleAlignment="1",
                   splitLayer="0", equalColumnWidth="0", legendFilterByAtlas="0", fontColor="#000000",
                   wrapChar="", rasterBorder="1", rasterBorderColor="0,0,0,255", rasterBorderWidth="0")
    styles = ET.SubElement(legend, "styles")
    for name, size, weight, top in (("title", 11, 75, "0"), ("group", 9, 75, "2"), ("subgroup", 8, 75, "2"),
                                    ("symbol", 7, 50, "1.2"), ("symbolLabel", 7, 50, "1.2")):
        style = ET.SubElement(styles, "style", name=name, marginTop=top, indent="0", alignment="1",
                              **({"marginLeft": "2"} if name == "symbolLabel" else {}))
        ET.SubElement(style, "styleFont", description=_font((sans, size, weight)), style="")
    tree = ET.SubElement(legend, "layer-tree-group")
    node = ET.SubElement(tree, "layer-tree-layer", _tree_layer(main, True))
    custom = {"legend/title-style": "hidden"}  # the style's title (its parent rule) names the layer
    if main.title:
        custom["legend/label-0"] = "\n".join(textwrap.wrap(main.title, _LEGEND_WRAP))
    options = ET.SubElement(ET.SubElement(node, "customproperties"), "Option", type="Map")
    for key, value in custom.items():
        ET.SubElement(options, "Option", name=key, value=value, type="QString")
    layout.append(legend)
    return layout
