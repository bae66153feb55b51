"""One representative point per unit: centroid, point on surface, or a user's points."""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from spillmap.errors import DuplicateIdError, GeometryError, MissingIdError

from ._project import is_metric, to_projected
from ._validate import format_ids, require_columns

__all__ = ["representative_points", "PointMethod"]

PointMethod = Literal["centroid", "point_on_surface"]


def representative_points(
    layer: gpd.GeoDataFrame,
    id_col: str,
    *,
    method: PointMethod = "centroid",
    points: gpd.GeoDataFrame | None = None,
    points_id_col: str | None = None,
) -> gpd.GeoDataFrame:
    """One point per unit, in the layer's order and CRS.

    Parameters
    ----------
    layer
        Polygon layer with a unique ``id_col``.
    id_col
        Unit id column.
    method
        ``"centroid"``: the centroid computed in a metric projection (so it
        is not distorted by degrees); ``"point_on_surface"``: a point
        guaranteed inside the unit. Ignored when ``points`` is given.
    points
        A point layer (e.g. city seats) joined to the units by id; it must
        hold exactly one point for every unit of ``layer``.
    points_id_col
        Id column of ``points``; defaults to ``id_col``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id_col`` and ``geometry`` (Points), index as ``layer``.

    Raises
    ------
    MissingIdError, DuplicateIdError, GeometryError
        A user point layer misses units, repeats ids or holds non-points.
    """
    if points is not None:
        return _join_points(layer, id_col, points, points_id_col or id_col)
    if method not in ("centroid", "point_on_surface"):
        raise GeometryError(f"method must be 'centroid' or 'point_on_surface', not {method!r}.")
    metric = layer if is_metric(layer.crs) else to_projected(layer)
    geoms = metric.geometry.array
    pts = shapely.centroid(geoms) if method == "centroid" else shapely.point_on_surface(geoms)
    out = gpd.GeoDataFrame(
        {id_col: layer[id_col].to_numpy()}, geometry=np.asarray(pts), crs=metric.crs, index=layer.index
    )
    return out.to_crs(layer.crs) if metric is not layer else out


def _join_points(
    layer: gpd.GeoDataFrame, id_col: str, points: gpd.GeoDataFrame, points_id_col: str
) -> gpd.GeoDataFrame:
    where = "the point layer"
    require_columns(points, [points_id_col], where)
    kinds = set(points.geom_type.dropna())
    if kinds - {"Point"}:
        raise GeometryError(
            f"{where} must hold Point geometries (one seat per unit) but has {', '.join(sorted(kinds))}."
        )
    if points.crs is None:
        raise GeometryError(f"{where} has no CRS; set one (e.g. points.set_crs('EPSG:4326')).")
    pid = points[points_id_col].astype(str)
    dup = pid[pid.duplicated()].unique().tolist()
    if dup:
        raise DuplicateIdError(f"{where}: ids {format_ids(dup)} occur more than once in '{points_id_col}'.")
    lid = layer[id_col].astype(str)
    absent = lid[~lid.isin(pid)].tolist()
    if absent:
        raise MissingIdError(
            f"{where} has no point for {len(absent)} unit(s) of the layer: {format_ids(absent)}. "
            f"Add them, or check that '{points_id_col}' holds the same ids as '{id_col}'."
        )
    joined = points.to_crs(layer.crs).set_index(pid).loc[lid]
    return gpd.GeoDataFrame(
        {id_col: layer[id_col].to_numpy()},
        geometry=joined.geometry.to_numpy(),
        crs=layer.crs,
        index=layer.index,
    )
