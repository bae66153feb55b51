"""Map export: a styled GeoPackage for QGIS, Shapefile, GeoJSON and GeoTIFF.

Every writer is atomic: the output is built beside the target under a
temporary name and renamed into place only when complete, so a failed
export leaves no file (and no temporary files) behind.

QGIS reads a layer's default style from the GeoPackage's ``layer_styles``
table, the table QGIS itself creates when a style is saved "in the
database": a row per style with the layer (``f_table_name``), its geometry
column, the QML document and ``useAsDefault = 1``.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import os
import re
import shutil
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from spillmap._files import atomic_path
from spillmap.errors import CRSError, GeometryError, LayerError, MissingColumnError

from ._project import for_output
from ._styles import QGIS_VERSION, UNCLASSED, GeometryKind, LayerStyle, qgis_document

__all__ = [
    "write_styled_geopackage",
    "write_shapefile",
    "write_geojson",
    "write_geotiff",
    "GpkgVersion",
    "STYLES_TABLE",
]

GpkgVersion = Literal["1.0", "1.1", "1.2", "1.3", "1.4"]
_GPKG_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4")

#: Table QGIS reads layer styles from (QGIS's own name and schema).
STYLES_TABLE = "layer_styles"
#: DDL of the table as QGIS 3.22 creates it through GDAL (columns, types and default).
_STYLES_DDL = (
    'CREATE TABLE "layer_styles" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), '
    '"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)
_LAYER_NAME = re.compile(r"[^\W\d]\w{0,62}")
_RESERVED_PREFIXES = ("gpkg_", "rtree_", "sqlite_")
#: Largest GeoTIFF written (pixels); 1e8 float32 pixels are 400 MB before compression.
_MAX_PIXELS = 100_000_000
_DBF_NAME_BYTES = 10
_STALE_SIDECARS = (".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".qml")


def write_styled_geopackage(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    styles: Mapping[str, LayerStyle | Sequence[LayerStyle]] | None = None,
    *,
    version: GpkgVersion = "1.2",
    label: str | None = None,
    description: str | None = None,
) -> Path:
    """Write several layers to one GeoPackage, with QGIS default styles.

    Parameters
    ----------
    path
        Target ``.gpkg``; replaced as a whole if it exists.
    layers
        Layer name to frame, in the order QGIS lists them (e.g.
        ``{"effects": ..., "weights_summary": ..., "sweep_band_050_100": ...}``).
        Names use letters, digits and ``_``, start with a letter, and are at
        most 63 characters.
    styles
        Layer name to :class:`LayerStyle`; each becomes that layer's default
        style in ``layer_styles`` (``useAsDefault = 1``), which QGIS applies
        when it opens the layer. Layers without a style get QGIS's default.
        A sequence of styles (distinct names) stores them all: the first is
        the default, QGIS lists the others under Style > Load Style.
    version
        GeoPackage version. 1.2 because QGIS 3.22 only partly reads 1.4,
        which current GDAL writes by default.
    label, description
        Shown by QGIS as each layer's title (``<layer> — <label>``, e.g.
        ``effects — SYNTHETIC DATA``) and abstract: ``gpkg_contents``
        ``identifier`` and ``description``.

    Layers in :func:`suggest_metric_crs`'s custom equal-area CRS (no
    authority code) are written in :func:`registered_metric_crs` (e.g.
    ESRI:102025 for China), so QGIS shows an EPSG/ESRI code; see :func:`for_output`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    LayerError
        No layers, an invalid or reserved layer name, two names equal but
        for case, a style for an absent layer, an empty layer, a style on a
        non-numeric column or one whose classes miss some of its values, or
        two styles of one layer with the same name.
    MissingColumnError
        A style names a column its layer lacks.
    GeometryError
        A styled layer mixes points, lines and polygons.

    Examples
    --------
    >>> from spillmap import gis
    >>> china = gis.read_china_layer()
    >>> effects = china.assign(indirect=china.representative_point().x - 110.0)
    >>> style = gis.graduated_style("indirect", effects["indirect"])
    >>> gis.write_styled_geopackage("map.gpkg", {"effects": effects}, {"effects": style})  # doctest: +SKIP
    PosixPath('map.gpkg')
    """
    target = _target(path, (".gpkg",), "write_styled_geopackage")
    if version not in _GPKG_VERSIONS:
        raise LayerError(f"Unknown GeoPackage version={version!r}; use one of {', '.join(_GPKG_VERSIONS)}.")
    styles = {name: _style_list(given, f"layer '{name}'") for name, given in (styles or {}).items()}
    _check_names(layers, styles, target)
    kinds: dict[str, GeometryKind] = {}
    for name, frame in layers.items():
        _check_frame(frame, f"layer '{name}'")
    for name, stack in styles.items():
        kinds[name] = _geometry_kind(layers[name], f"layer '{name}'")
        for style in stack:
            _check_styled(layers[name], style, f"layer '{name}'")
    with atomic_path(target) as tmp:
        for i, (name, frame) in enumerate(layers.items()):
            frame = for_output(frame)
            options = {"dataset_options": {"VERSION": version}} if i == 0 else {}
            _write(frame, tmp, f"layer '{name}' of '{target}'", layer=name, driver="GPKG", **options)
        if styles:
            _insert_styles(tmp, {name: (stack, kinds[name]) for name, stack in styles.items()})
        if label or description:
            _describe_layers(tmp, list(layers), label, description)
    return target


def write_shapefile(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, label: str | None = None,
                    description: str | None = None, style: LayerStyle | None = None) -> dict[str, str]:
    """Write an ESRI Shapefile in UTF-8, with field names cut to the 10 bytes ``.dbf`` allows.

    Names that fit are kept; longer ones are truncated (at a character
    boundary, counting UTF-8 bytes) and made unique, ignoring case, with a
    ``_1``, ``_2``, ... suffix. The mapping is returned and written beside
    the file as ``<stem>_fields.csv`` (columns ``field``, ``shapefile_field``;
    UTF-8), so the long names can be restored after reading. A ``.cpg``
    holding ``UTF-8`` tells QGIS and ArcGIS the encoding.

    All files (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg`` and the CSV)
    are written to a temporary folder beside the target and then moved into
    place, ``.shp`` last; stale ``.prj``/``.cpg``/``.qmd``/index files of an
    older Shapefile with the same name are removed. ``label``/``description``
    go into a ``.qmd`` sidecar, QGIS's layer metadata (title
    ``<stem> — <label>`` and abstract). ``style`` goes into a ``<stem>.qml``
    sidecar, the default style QGIS applies when it opens the file: the
    same rules, colours and labels as in a GeoPackage, on the ``.dbf``'s
    field names (:meth:`LayerStyle.renamed`). A layer in
    :func:`suggest_metric_crs`'s custom CRS is written in
    :func:`registered_metric_crs`, whose ``.prj`` QGIS resolves to its
    EPSG/ESRI code.

    Returns
    -------
    dict
        Every attribute column's name to its name in the ``.dbf``.

    Raises
    ------
    LayerError
        Not a GeoDataFrame, no rows, a path not ending in ``.shp``, GDAL
        cannot write the data (e.g. mixed geometry types), a style on a
        non-numeric column or one whose classes miss some of its values.
    MissingColumnError
        The style names a column the layer lacks.
    GeometryError
        A styled layer mixes points, lines and polygons.
    """
    target = _target(path, (".shp",), "write_shapefile")
    _check_frame(gdf, "the layer")
    if style is not None:
        _check_styled(gdf, style, "the layer")
        kind = _geometry_kind(gdf, "the layer")
    geometry = gdf.geometry.name
    fields = _short_names([c for c in gdf.columns if c != geometry], reserved=geometry)
    frame = for_output(gdf.rename(columns=fields))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=target.parent))
    try:
        shp = staging / target.name
        _write(frame, shp, f"'{target}'", driver="ESRI Shapefile", encoding="UTF-8")
        shp.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
        if label or description:
            _write_qmd(shp.with_suffix(".qmd"), target.stem, label, description)
        if style is not None:
            shp.with_suffix(".qml").write_text(style.renamed(fields).to_qml(kind), encoding="utf-8")
        with open(staging / f"{target.stem}_fields.csv", "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["field", "shapefile_field"])
            writer.writerows(fields.items())
        written = sorted(staging.iterdir(), key=lambda p: p == shp)  # .shp last
        for suffix in _STALE_SIDECARS:
            old = target.with_suffix(suffix)
            if not (staging / old.name).exists():
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        for file in written:
            os.replace(file, target.parent / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return fields


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, label: str | None = None,
                  description: str | None = None) -> Path:
    """Write RFC 7946 GeoJSON: longitude/latitude on WGS 84 (EPSG:4326), 7 decimals.

    The layer is reprojected from its CRS; GDAL's ``RFC7946=YES`` also winds
    polygons counter-clockwise and splits geometries on the antimeridian.
    The layer's name is the file's stem; ``label``/``description`` go into
    its ``description`` member and a ``.qmd`` sidecar (QGIS's layer metadata).

    Raises
    ------
    CRSError
        The layer has no CRS, so it cannot be reprojected.
    LayerError
        Not a GeoDataFrame, no rows, or a path not ending in ``.geojson``/``.json``.
    """
    target = _target(path, (".geojson", ".json"), "write_geojson")
    _check_frame(gdf, "the layer")
    if gdf.crs is None:
        raise CRSError(
            f"Cannot write '{target}': the layer has no CRS, and GeoJSON must be in "
            "longitude/latitude (EPSG:4326). Set it first with gdf.set_crs(...)."
        )
    frame = gdf.to_crs(4326)
    with atomic_path(target) as tmp:
        # the layer name is the file's stem (GDAL would store the temporary file's name)
        options = {"RFC7946": "YES", **({"DESCRIPTION": _title(None, label, description)} if label or description else {})}
        _write(frame, tmp, f"'{target}'", driver="GeoJSON", layer=target.stem, layer_options=options)
    _sidecar_qmd(target, label, description)
    return target


def write_geotiff(
    gdf: gpd.GeoDataFrame,
    column: str,
    path: str | os.PathLike[str],
    *,
    resolution: float,
    crs: Any = None,
    nodata: float = -9999.0,
    all_touched: bool = False,
    label: str | None = None,
    description: str | None = None,
    style: LayerStyle | None = None,
) -> Path:
    """Rasterise a numeric column to a float32 GeoTIFF (deflate-compressed; a class band with ``style``).

    The grid is aligned to multiples of ``resolution`` (origin at
    ``floor(minx / resolution)``, ``ceil(maxy / resolution)``), so rasters of
    different layers at one resolution line up, and covers the layer's
    bounds. A pixel takes the value of the geometry covering its centre
    (``all_touched=True``: of any geometry it touches; where geometries
    overlap, the later row wins). Pixels outside every geometry and units
    with a missing value are ``nodata``.

    Parameters
    ----------
    gdf
        Layer with a CRS.
    column
        Numeric column to burn.
    path
        Target ``.tif``/``.tiff``.
    resolution
        Pixel size in the units of the output CRS: metres for a projected
        CRS (e.g. ``5000`` for 5 km), degrees for longitude/latitude.
    crs
        Output CRS (anything :mod:`pyproj` accepts); the layer's own by default
        (:func:`registered_metric_crs` for :func:`suggest_metric_crs`'s custom
        one, as the vector writers do).
    nodata
        Value of empty pixels; must not occur in ``column``.
    all_touched
        Burn every pixel a geometry touches, not only those whose centre it covers.
    label, description
        Stored as the TIFF's ``ImageDescription`` and in a ``.qmd`` sidecar (QGIS's layer metadata).
    style
        The vector layer's style of ``column``: a second band holds each
        unit's class as that style draws it (:meth:`LayerStyle.raster_codes`:
        1…k, 0 "not significant" when the style has intervals), and a
        ``<stem>.qml`` sidecar, which QGIS applies on open, colours that band
        with the style's colours and legend labels (paletted, nodata
        transparent): the raster shows what the vector map shows. Band 1
        keeps the values. Without a style: one band, and a stale ``.qml`` is removed.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    MissingColumnError
        ``column`` is absent.
    LayerError
        Non-numeric column, no rows, ``resolution`` not positive, ``nodata``
        found in the column, a raster beyond 100 million pixels, or a
        ``style`` of another column.
    CRSError
        Neither the layer nor ``crs`` gives a CRS.
    """
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import Affine

    target = _target(path, (".tif", ".tiff"), "write_geotiff")
    _check_frame(gdf, "the layer")
    values = _numeric_column(gdf, column, "the layer")
    if style is not None and style.column != column:
        raise LayerError(f"The style classes column '{style.column}', not '{column}'; pass the style of '{column}'.")
    if style is not None:
        _check_styled(gdf, style, "the layer")
    raster_qml = None if style is None else style.to_raster_qml(band=2)
    try:
        res = float(resolution)
    except (TypeError, ValueError):
        res = math.nan
    if not (math.isfinite(res) and res > 0):
        raise LayerError(f"resolution must be a positive number of CRS units (e.g. metres); got {resolution!r}.")
    if gdf.crs is None:
        raise CRSError(f"Cannot write '{target}': the layer has no CRS. Set it first with gdf.set_crs(...).")
    frame = for_output(gdf) if crs is None else gdf.to_crs(crs)
    if np.any(values == nodata):
        raise LayerError(f"Column '{column}' holds the nodata value {nodata}; pass another nodata=.")
    keep = np.isfinite(values) & ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    minx, miny, maxx, maxy = frame.geometry.total_bounds
    x0, y0 = math.floor(minx / res) * res, math.ceil(maxy / res) * res
    width = max(1, math.ceil((maxx - x0) / res))
    height = max(1, math.ceil((y0 - miny) / res))
    if width * height > _MAX_PIXELS:
        unit = frame.crs.axis_info[0].unit_name if frame.crs.axis_info else "CRS units"
        raise LayerError(
            f"A {width}×{height} raster at resolution={resolution} {unit} is too large for '{target}'; "
            f"resolution is in {unit} of {frame.crs.to_string()}: choose a coarser one."
        )
    transform = Affine(res, 0.0, x0, 0.0, -res, y0)
    def burn(burned: np.ndarray) -> np.ndarray:
        ok = keep & np.isfinite(burned)
        shapes = list(zip(frame.geometry[ok], burned[ok].astype("float32")))
        if not shapes:
            return np.full((height, width), nodata, dtype="float32")
        return rasterize(shapes, out_shape=(height, width), transform=transform, fill=nodata,
                         all_touched=all_touched, dtype="float32")

    bands = [burn(values)]
    if style is not None:  # band 2: the style's classes, as the vector layer draws them
        bands.append(burn(style.raster_codes(gdf)))
    profile = {"driver": "GTiff", "width": width, "height": height, "count": len(bands), "dtype": "float32",
               "crs": frame.crs.to_wkt(), "transform": transform, "nodata": nodata,
               "compress": "deflate", "predictor": 3}
    with atomic_path(target) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            for i, band in enumerate(bands, start=1):
                dst.write(band, i)
            dst.set_band_description(1, column)
            if style is not None:
                dst.set_band_description(2, f"{column} class (QGIS style: {target.with_suffix('.qml').name})")
            if label or description:
                dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=_title(None, label, description))
    _sidecar_qmd(target, label, description)
    qml = target.with_suffix(".qml")
    if raster_qml is None:
        with contextlib.suppress(FileNotFoundError):
            qml.unlink()
    else:
        with atomic_path(qml) as tmp:
            tmp.write_text(raster_qml, encoding="utf-8")
    return target


def _title(name: str | None, label: str | None, description: str | None) -> str:
    """``name — label`` (what QGIS lists as the layer's title), or the description when no name is given."""
    if name is None:
        return " — ".join(t for t in (label, description) if t)
    return f"{name} — {label}" if label else name


def _describe_layers(gpkg: Path, names: list[str], label: str | None, description: str | None) -> None:
    """Set each layer's ``gpkg_contents`` identifier (QGIS: title) and description (QGIS: abstract)."""
    with contextlib.closing(sqlite3.connect(gpkg)) as db, db:
        for name in names:
            db.execute("UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                       (_title(name, label, None), description or "", name))


def _write_qmd(path: Path, name: str, label: str | None, description: str | None) -> None:
    """A QGIS layer-metadata sidecar (``.qmd``, read as the layer's default metadata): title and abstract."""
    root = ET.Element("qgis", version=QGIS_VERSION)
    for tag, text in (("identifier", name), ("parentidentifier", ""), ("language", ""), ("type", "dataset"),
                      ("title", _title(name, label, None)), ("abstract", description or "")):
        ET.SubElement(root, tag).text = text
    for tag in ("links", "keywords", "fees", "encoding", "crs", "extent"):
        ET.SubElement(root, tag)
    path.write_text(qgis_document(root), encoding="utf-8")


def _sidecar_qmd(target: Path, label: str | None, description: str | None) -> None:
    """Write ``target``'s ``.qmd`` atomically when labelled, else remove a stale one."""
    qmd = target.with_suffix(".qmd")
    if not (label or description):
        with contextlib.suppress(FileNotFoundError):
            qmd.unlink()
        return
    with atomic_path(qmd) as tmp:
        _write_qmd(tmp, target.stem, label, description)


def _target(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> Path:
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise LayerError(f"{what} writes {' or '.join(suffixes)} files; '{target}' has another suffix.")
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"Output folder '{target.parent}' does not exist; create it first or choose another path."
        )
    return target


def _check_names(layers: Mapping[str, Any], styles: Mapping[str, Any], target: Path) -> None:
    if not layers:
        raise LayerError(f"No layers given for '{target}'; pass at least one, e.g. {{'effects': frame}}.")
    seen: dict[str, str] = {}
    for name in layers:
        if not isinstance(name, str) or not _LAYER_NAME.fullmatch(name):
            raise LayerError(
                f"Layer name {name!r} for '{target}' is not usable: use letters, digits and '_', "
                "starting with a letter, at most 63 characters (e.g. 'sweep_band_050_100')."
            )
        folded = name.casefold()
        if folded == STYLES_TABLE or folded.startswith(_RESERVED_PREFIXES):
            raise LayerError(
                f"Layer name '{name}' for '{target}' is reserved by GeoPackage or QGIS "
                f"('gpkg_*', 'rtree_*', 'sqlite_*', '{STYLES_TABLE}'); choose another."
            )
        if folded in seen:
            raise LayerError(
                f"Layer names '{seen[folded]}' and '{name}' for '{target}' differ only in case, "
                "which GeoPackage treats as the same table; rename one."
            )
        seen[folded] = name
    extra = [name for name in styles if name not in layers]
    if extra:
        raise LayerError(
            f"Styles were given for {', '.join(map(repr, extra))}, which {'is' if len(extra) == 1 else 'are'} "
            f"not among the layers ({', '.join(layers)}); check the names."
        )


def _check_frame(frame: Any, where: str) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerError(f"{where.capitalize()} is a {type(frame).__name__}, not a GeoDataFrame.")
    try:
        frame.geometry
    except AttributeError:
        raise LayerError(f"{where.capitalize()} has no active geometry column; set one with set_geometry().") from None
    if len(frame) == 0:
        raise LayerError(f"{where.capitalize()} has no rows; an empty layer is not written.")


def _numeric_column(frame: gpd.GeoDataFrame, column: str, where: str) -> np.ndarray:
    if column not in frame.columns:
        raise MissingColumnError(
            f"Column '{column}' is not in {where}; its columns are: "
            f"{', '.join(map(str, frame.columns.drop(frame.geometry.name)))}."
        )
    series = frame[column]
    if not pd.api.types.is_numeric_dtype(series):
        raise LayerError(
            f"Column '{column}' of {where} holds {series.dtype} values, not numbers; "
            "convert it with pandas.to_numeric or choose a numeric column."
        )
    return series.to_numpy(dtype=float, na_value=np.nan)


def _style_list(given: LayerStyle | Sequence[LayerStyle], where: str) -> tuple[LayerStyle, ...]:
    stack = (given,) if isinstance(given, LayerStyle) else tuple(given)
    names = [style.name for style in stack]
    if not stack or len(set(names)) < len(names):
        raise LayerError(f"The styles for {where} need distinct names, at least one; got {names}.")
    return stack


def _check_styled(frame: gpd.GeoDataFrame, style: LayerStyle, where: str) -> None:
    for column in (style.column, *(style.significance or ())):
        _numeric_column(frame, column, where)
    outside = style.classify(frame) == UNCLASSED
    if outside.any():
        span = f"[{style.classes[0].lower:.6g}, {style.classes[-1].upper:.6g}]" if style.classes else "(none)"
        raise LayerError(
            f"{outside.sum()} value(s) of '{style.column}' in {where} fall outside the style's "
            f"classes {span}, so QGIS would not draw them; build the style from "
            f"this column's values: graduated_style('{style.column}', frame['{style.column}'])."
        )


def _geometry_kind(frame: gpd.GeoDataFrame, where: str) -> GeometryKind:
    kinds = {
        {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line",
         "MultiLineString": "line", "Point": "point", "MultiPoint": "point"}.get(t, t)
        for t in frame.geom_type.dropna().unique()
    }
    if len(kinds) != 1 or not kinds <= {"polygon", "line", "point"}:
        raise GeometryError(
            f"{where.capitalize()} holds {', '.join(sorted(kinds)) or 'no'} geometries; a styled "
            "layer needs one kind (polygons, lines or points) so QGIS can draw it with one symbol."
        )
    return kinds.pop()  # type: ignore[return-value]


def _write(frame: gpd.GeoDataFrame, path: Path, where: str, **options: Any) -> None:
    log = logging.getLogger("pyogrio")
    level = log.level
    log.setLevel(max(level, logging.WARNING))  # not one "Created N records" line per layer
    try:
        pyogrio.write_dataframe(frame, path, **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, NotImplementedError,
            ValueError, TypeError) as err:
        raise LayerError(f"GDAL could not write {where}: {err}") from err
    finally:
        log.setLevel(level)


def _insert_styles(gpkg: Path, styles: Mapping[str, tuple[tuple[LayerStyle, ...], GeometryKind]]) -> None:
    """Create QGIS's ``layer_styles`` table in ``gpkg`` and add each layer's styles, the first as default."""
    with contextlib.closing(sqlite3.connect(gpkg)) as db, db:
        db.execute(_STYLES_DDL)
        db.execute(  # registered as an attribute table, as GDAL does for QGIS
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "VALUES (?, 'attributes', ?, '', 0)",
            (STYLES_TABLE, STYLES_TABLE),
        )
        columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        for name, (stack, kind) in styles.items():
            for i, style in enumerate(stack):
                db.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner) "
                    "VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, '')",
                    (name, columns[name], style.name, style.to_qml(kind), style.to_sld(name, kind), int(i == 0),
                     style.description or style.title or f"{style.scheme} {style.method} classes of {style.column}"),
                )


def _short_names(columns: list[Any], reserved: str) -> dict[str, str]:
    """Field name to a unique (ignoring case) name of at most 10 UTF-8 bytes, never ``reserved``."""
    names = [str(c) for c in columns]
    out: dict[str, str] = {}
    taken: set[str] = {reserved.casefold()}
    fits = [n for n in names if len(n.encode("utf-8")) <= _DBF_NAME_BYTES]
    for name in fits + [n for n in names if n not in fits]:  # names that fit keep priority
        short, n = _clip(name, _DBF_NAME_BYTES), 0
        while not short or short.casefold() in taken:
            n += 1
            suffix = f"_{n}"
            short = _clip(name, _DBF_NAME_BYTES - len(suffix)) + suffix
        taken.add(short.casefold())
        out[name] = short
    return {name: out[name] for name in names}


def _clip(name: str, limit: int) -> str:
    return name.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
