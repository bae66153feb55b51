"""Reading and writing vector layers (Shapefile, GeoPackage, GeoJSON)."""

from __future__ import annotations

import codecs
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import shapely.errors
from pyproj import CRS

from spillmap._files import atomic_path
from spillmap.errors import CRSError, LayerReadError

from ._encoding import shapefile_encoding
from ._options import LIBRARY_OPTIONS, option_fix
from ._validate import format_ids, validate_layer

__all__ = ["read_layer", "write_layer", "list_layers", "check_coordinates", "option_fix", "LIBRARY_OPTIONS"]

_DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file (one for Shapefile and GeoJSON)."""
    source = _existing(path)
    _not_empty(source)
    try:
        return [str(name) for name in pyogrio.list_layers(source)[:, 0]]
    except pyogrio.errors.DataSourceError as err:
        raise LayerReadError(_unreadable(source, err)) from None


def read_layer(
    path: str | os.PathLike[str],
    id_col: str,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    repair: bool = True,
    options: Mapping[str, str | None] | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate a polygon boundary layer.

    Parameters
    ----------
    path
        Shapefile (``.shp`` with its sidecars), GeoPackage or GeoJSON.
    id_col
        Column holding one unique, non-empty id per unit (e.g. an admin code).
    layer
        Layer name inside a GeoPackage; needed when the file holds several.
    encoding
        Codec of a Shapefile's ``.dbf`` (e.g. ``"gb18030"``), overriding the
        ``.cpg`` file and spillmap's detection.
    crs
        CRS for a file that declares none (e.g. ``"EPSG:4326"`` for a
        Shapefile without ``.prj``). It never overrides a declared CRS.
    repair
        Repair invalid geometries with :func:`shapely.make_valid` (reported
        by id in a :class:`~spillmap.errors.GeometryRepairWarning`).
    options
        How the caller names ``layer``, ``id``, ``encoding``, ``crs`` and
        ``points`` in the fixes the messages give (see
        :data:`LIBRARY_OPTIONS`); ``None`` for one it does not offer.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows in file order, with the file's CRS. ``attrs["source"]`` holds
        the path and layer, ``attrs["repaired_ids"]`` the repaired units.

    Raises
    ------
    LayerReadError
        The file or layer does not exist, is empty or cannot be read (a
        Shapefile missing its ``.shx``/``.dbf``, attributes not in the
        declared encoding, no features).
    CRSError
        The file has no CRS and ``crs`` was not given, they conflict, or the
        coordinates do not fit the CRS (metres labelled as degrees and the
        reverse, swapped axes, coordinates beyond the Earth).
    MissingColumnError, MissingIdError, DuplicateIdError, GeometryError
        From :func:`validate_layer`.
    """
    source = _existing(path)
    _not_empty(source)
    if source.suffix.lower() == ".shp":
        _shapefile_parts(source)
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise LayerReadError(
                f"Unknown encoding {encoding!r} for '{source}' ({option_fix(options, 'encoding')}): Python knows "
                "no such codec; use e.g. utf-8, gb18030 (Chinese Windows), cp1252 or latin-1."
            ) from None
    layers = list_layers(source)
    if layer is None and len(layers) > 1:
        how = option_fix(options, "layer", layers[0])
        raise LayerReadError(
            f"'{source}' holds {len(layers)} layers ({', '.join(layers)}); name the one with the units"
            + (f", e.g. {how}." if how else "; save that layer to a file of its own (QGIS: Export → Save Features As).")
        )
    if layer is not None and layer not in layers:
        close = difflib.get_close_matches(layer, layers, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise LayerReadError(
            f"'{source}' has no layer '{layer}'; its layers are: {', '.join(layers)}.{hint} "
            f"Fix {option_fix(options, 'layer')}."
        )
    kwargs: dict[str, Any] = {}
    how = f"{option_fix(options, 'encoding', encoding)}" if encoding else ""
    if encoding is not None:
        kwargs["encoding"] = encoding
    elif source.suffix.lower() == ".shp":
        detected, how = shapefile_encoding(source)
        if detected is not None:
            kwargs["encoding"] = detected
    try:
        frame = pyogrio.read_dataframe(source, layer=layer, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise LayerReadError(_unreadable(source, err)) from None
    except LookupError as err:
        raise LayerReadError(f"Unknown encoding {encoding!r} for '{source}': {err}") from None
    except UnicodeDecodeError as err:
        raise LayerReadError(_undecodable(source, err, how, options)) from None
    except shapely.errors.GEOSException as err:
        raise LayerReadError(
            f"'{source}' holds geometries GEOS cannot build ({err}); missing or non-numeric coordinates? "
            "Check the layer in QGIS (Vector → Geometry Tools → Check Validity) and export it again."
        ) from None

    where = f"'{source}'" + (f" layer '{layer}'" if layer else "")
    if len(frame) == 0:
        raise LayerReadError(
            f"{where} has no features (0 rows); export the layer with its units (in QGIS uncheck "
            "'Save only selected features'), or pick the right layer."
        )
    frame = _with_crs(frame, crs, where, options)
    frame = validate_layer(frame, id_col, repair=repair, where=where, options=options)
    check_coordinates(frame, where, options=options, given=crs is not None)
    frame.attrs["source"] = {"path": str(source), "layer": layer}
    return frame


def write_layer(
    frame: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    gpkg_version: str = "1.2",
    append: bool = False,
) -> Path:
    """Write a layer atomically; GeoPackages as version 1.2 by default.

    QGIS 3.22 only partly supports GeoPackage 1.4, which current GDAL writes
    by default. With ``append=True`` the layer is added to an existing
    GeoPackage (the whole file is still replaced atomically).
    """
    target = Path(path)
    driver = _DRIVERS.get(target.suffix.lower())
    if driver is None:
        raise LayerReadError(
            f"Cannot tell the format of '{target}' from its suffix; "
            f"use one of {', '.join(sorted(_DRIVERS))}."
        )
    options: dict[str, Any] = {}
    if driver == "GPKG":
        options["dataset_options"] = {"VERSION": gpkg_version}
    if driver == "ESRI Shapefile":
        options["encoding"] = "UTF-8"
    with atomic_path(target) as tmp:
        if append and target.exists():
            import shutil

            shutil.copyfile(target, tmp)
            options.pop("dataset_options", None)
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver=driver, append=False, **options)
        else:
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver=driver, **options)
        if driver == "ESRI Shapefile":
            _move_sidecars(tmp, target)
    return target


def _move_sidecars(tmp: Path, target: Path) -> None:
    for sidecar in tmp.parent.glob(tmp.stem + ".*"):
        if sidecar.suffix.lower() != ".shp":
            os.replace(sidecar, target.with_suffix(sidecar.suffix))


def _existing(path: str | os.PathLike[str]) -> Path:
    source = Path(path)
    if not source.exists():
        raise LayerReadError(f"Layer file '{source}' does not exist; check the path.")
    return source


def _not_empty(source: Path) -> None:
    if source.is_file() and source.stat().st_size == 0:
        raise LayerReadError(
            f"Layer file '{source}' is empty (0 bytes): the export or copy did not finish; export the layer again."
        )


def _shapefile_parts(source: Path) -> None:
    """A Shapefile is .shp + .shx + .dbf: name the missing part rather than GDAL's symptom."""
    for suffix, what in ((".shx", "index file"), (".dbf", "attribute table (the ids)")):
        if not any(source.with_suffix(s).exists() for s in (suffix, suffix.upper())):
            raise LayerReadError(
                f"Shapefile '{source}' has no {what}: '{source.with_suffix(suffix).name}' is not beside it; "
                "a Shapefile is several files (.shp, .shx, .dbf, .prj, .cpg): copy them all together, or "
                "export the layer again as one GeoPackage (.gpkg)."
            )


def _unreadable(source: Path, err: Exception) -> str:
    detail = str(err).split("; It might help")[0].replace(f"'{source}' ", "").strip()
    return (
        f"'{source}' is not a vector layer GDAL can open ({detail}); give a Shapefile (.shp), GeoPackage "
        "(.gpkg) or GeoJSON file, or export it again if it was cut short."
    )


def _undecodable(source: Path, err: UnicodeDecodeError, how: str, options: Mapping[str, str | None] | None) -> str:
    from ._encoding import _sniff

    dbf = source.with_suffix(".dbf")
    sample = dbf.read_bytes()[: 1 << 20] if dbf.exists() else b""
    guess, _ = _sniff(sample[32:]) if sample else (None, "")
    guess = guess or "utf-8"
    if guess == err.encoding:
        guess = "gb18030" if err.encoding != "gb18030" else "latin-1"
    fix = option_fix(options, "encoding", guess)
    cpg = source.with_suffix(".cpg")
    told = how or f"{err.encoding} was assumed"
    return (
        f"The attributes of '{source}' are not {err.encoding.upper()} ({told}): byte "
        f"0x{err.object[err.start]:02x} cannot be decoded; they look like {guess.upper()}. "
        + (f"Pass {fix}" if fix else f"Write '{guess}' into '{cpg.name}'")
        + (f" or correct '{cpg.name}'." if cpg.exists() and fix else ".")
    )


def _with_crs(
    frame: gpd.GeoDataFrame, crs: Any, where: str, options: Mapping[str, str | None] | None = None
) -> gpd.GeoDataFrame:
    fix = option_fix(options, "crs", "EPSG:4326")
    if frame.crs is None:
        if crs is None:
            prj = where.split("'")[1] if where.startswith("'") else ""
            told = (" (its .prj is missing or unreadable)" if prj.lower().endswith(".shp") else "")
            return_fix = (
                f"Give it with {fix} if the coordinates are longitude/latitude, or the CRS they were drawn in"
                if fix else
                "Set it in QGIS (Layer Properties → Source → Assigned Coordinate Reference System) and export "
                "the layer again as a GeoPackage"
            )
            raise CRSError(f"{where} has no coordinate reference system{told}. {return_fix}.")
        return frame.set_crs(_parse_crs(crs, options))
    if crs is not None and not _parse_crs(crs, options).equals(frame.crs, ignore_axis_order=True):
        name = option_fix(options, "crs")
        if name == LIBRARY_OPTIONS["crs"]:
            raise CRSError(
                f"{where} declares {frame.crs.to_string()} but crs={crs!r} was given; crs= only fills in a "
                "missing CRS. To change projection use spillmap.gis.to_projected(frame, crs=...)."
            )
        raise CRSError(
            f"{where} declares {frame.crs.to_string()} but {name} {crs!r} was given; it only fills in a "
            f"missing CRS. Drop {name} (spillmap projects the layer itself), or fix the file's CRS in QGIS."
        )
    return frame


def _parse_crs(crs: Any, options: Mapping[str, str | None] | None) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as err:  # noqa: BLE001 - pyproj's CRSError
        raise CRSError(
            f"{option_fix(options, 'crs')} {crs!r} is not a CRS pyproj understands ({str(err).split(':')[0]}); "
            "give an EPSG code such as EPSG:4326 (longitude/latitude) or EPSG:32650 (UTM zone 50N)."
        ) from None


#: Largest plausible projected coordinate, metres: beyond Gauss–Krüger eastings with a zone prefix.
MAX_PROJECTED_M = 1.0e8
#: A projected layer narrower than this (metres) whose numbers look like degrees holds degrees.
DEGREES_AS_METRES_SPAN_M = 1000.0


def check_coordinates(
    frame: gpd.GeoDataFrame, where: str, *, options: Mapping[str, str | None] | None = None, given: bool = False
) -> None:
    """Coordinates must be finite and fit the CRS: degrees within range, metres on Earth.

    ``given``: the CRS came from the caller (``crs=``) rather than the file, so the fix is to change
    that argument rather than the file.
    """
    xy = shapely.get_coordinates(frame.geometry.array)
    if not len(xy):
        return
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        counts = shapely.get_num_coordinates(frame.geometry.array)
        owner = np.repeat(np.arange(len(frame)), counts)
        rows = (np.unique(owner[bad]) + 1).tolist()
        raise CRSError(
            f"{where}: {int(bad.sum())} coordinate(s) are not finite numbers (NaN or infinity), in feature(s) "
            f"on row(s) {format_ids(rows)} (1-based, file order); fix or remove them and export the layer again."
        )
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    span = f"x {x0:.6g} … {x1:.6g}, y {y0:.6g} … {y1:.6g}"
    crs = frame.crs
    wkt_name = f"{crs.to_string()} ({crs.name})"
    if given:
        change = f"change {option_fix(options, 'crs')}"
    else:
        change = (
            "correct the layer's CRS in QGIS (Layer Properties → Source → Assigned Coordinate Reference "
            "System) and export it again"
        )
    if crs.is_geographic:
        if max(abs(x0), abs(x1)) <= 360 and max(abs(y0), abs(y1)) <= 90:
            return
        if max(abs(x0), abs(x1)) <= 90 and max(abs(y0), abs(y1)) <= 360:
            raise CRSError(
                f"{where} declares {wkt_name}, longitude/latitude in degrees, but its coordinates span "
                f"{span}: latitudes beyond ±90°, so x and y look swapped (latitude first). Swap them "
                "(QGIS: Processing → 'Swap X and Y coordinates') and export the layer again."
            )
        metres = (
            f"give the projected CRS they were drawn in (e.g. {option_fix(options, 'crs', 'EPSG:32650')} "
            "for UTM zone 50N)" if given else change + " to the projected CRS they were drawn in"
        )
        raise CRSError(
            f"{where} declares {wkt_name}, longitude/latitude in degrees, but its coordinates span {span}: "
            f"not degrees (longitude must lie within ±180°, latitude within ±90°); they look like metres of a "
            f"projected CRS. {metres[0].upper() + metres[1:]}."
        )
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    reach = max(abs(x0), abs(x1), abs(y0), abs(y1)) * factor
    if reach > MAX_PROJECTED_M:
        raise CRSError(
            f"{where} declares {wkt_name} but its coordinates span {span}: up to {reach / 1000:,.0f} km from "
            f"the origin, far beyond the Earth ({MAX_PROJECTED_M / 1000:,.0f} km at most). They are in another "
            f"unit (millimetres or centimetres?) or another CRS; {change}, or rescale them."
        )
    width = max(x1 - x0, y1 - y0) * factor
    if width < DEGREES_AS_METRES_SPAN_M and max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
        fix = option_fix(options, "crs", "EPSG:4326") if given else None
        raise CRSError(
            f"{where} declares {wkt_name}, a projected CRS in metres, but its coordinates span {span}: a layer "
            f"only {width:.3g} m across at numbers that look like longitude/latitude in degrees. "
            + (f"Use {fix} instead." if fix else f"Set its CRS to EPSG:4326: {change}.")
        )
    try:
        from pyproj import Transformer

        lonlat = crs.geodetic_crs or CRS.from_epsg(4326)

        tx, ty = Transformer.from_crs(crs, lonlat, always_xy=True).transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        finite = np.isfinite(tx).all() and np.isfinite(ty).all()
    except Exception:  # noqa: BLE001 - an unusable CRS is reported below
        finite = False
    if not finite:
        raise CRSError(
            f"{where}: its coordinates ({span}) lie outside the area where {wkt_name} is defined; they were "
            f"drawn in another CRS: {change}."
        )
