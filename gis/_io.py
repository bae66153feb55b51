"""Reading and writing vector layers (Shapefile, GeoPackage, GeoJSON)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyproj import CRS

from spillmap._files import atomic_path
from spillmap.errors import CRSError, LayerReadError

from ._encoding import shapefile_encoding
from ._validate import validate_layer

__all__ = ["read_layer", "write_layer", "list_layers"]

_DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file (one for Shapefile and GeoJSON)."""
    source = _existing(path)
    try:
        return [str(name) for name in pyogrio.list_layers(source)[:, 0]]
    except pyogrio.errors.DataSourceError as err:
        raise LayerReadError(f"'{source}' is not a vector file GDAL can open: {err}") from None


def read_layer(
    path: str | os.PathLike[str],
    id_col: str,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    repair: bool = True,
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

    Returns
    -------
    geopandas.GeoDataFrame
        Rows in file order, with the file's CRS. ``attrs["source"]`` holds
        the path and layer, ``attrs["repaired_ids"]`` the repaired units.

    Raises
    ------
    LayerReadError
        The file or layer does not exist or cannot be read.
    CRSError
        The file has no CRS and ``crs`` was not given, or they conflict.
    MissingColumnError, MissingIdError, DuplicateIdError, GeometryError
        From :func:`validate_layer`.
    """
    source = _existing(path)
    layers = list_layers(source)
    if layer is None and len(layers) > 1:
        raise LayerReadError(
            f"'{source}' holds {len(layers)} layers ({', '.join(layers)}); "
            "name one with layer=... (CLI: --layer)."
        )
    if layer is not None and layer not in layers:
        raise LayerReadError(
            f"'{source}' has no layer '{layer}'; its layers are: {', '.join(layers)}."
        )
    kwargs: dict[str, Any] = {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    elif source.suffix.lower() == ".shp":
        detected, _how = shapefile_encoding(source)
        if detected is not None:
            kwargs["encoding"] = detected
    try:
        frame = pyogrio.read_dataframe(source, layer=layer, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise LayerReadError(f"Could not read '{source}': {err}") from None
    except LookupError as err:
        raise LayerReadError(f"Unknown encoding {encoding!r} for '{source}': {err}") from None

    where = f"'{source}'" + (f" layer '{layer}'" if layer else "")
    frame = _with_crs(frame, crs, where)
    frame = validate_layer(frame, id_col, repair=repair, where=where)
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


def _with_crs(frame: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        if crs is None:
            raise CRSError(
                f"{where} has no coordinate reference system (a Shapefile without "
                "its .prj?). Pass crs='EPSG:4326' (CLI: --crs) if the coordinates "
                "are longitude/latitude, or the CRS they were drawn in."
            )
        return frame.set_crs(CRS.from_user_input(crs))
    if crs is not None and not CRS.from_user_input(crs).equals(frame.crs, ignore_axis_order=True):
        raise CRSError(
            f"{where} declares {frame.crs.to_string()} but crs={crs!r} was given; "
            "crs= only fills in a missing CRS. To change projection use "
            "spillmap.gis.to_projected(frame, crs=...)."
        )
    return frame
