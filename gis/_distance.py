"""Pairwise distances between units in kilometres, geodesic or planar."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from spillmap.errors import WeightsError

from ._points import PointMethod, representative_points
from ._project import is_metric, to_lonlat, to_projected
from ._validate import require_columns, validate_layer

__all__ = ["PairwiseDistances", "pairwise_distances", "unit_labels", "DistanceMethod"]

DistanceMethod = Literal["geodesic", "planar"]

#: Mean Earth radius (km), used only to pre-select candidate pairs on a sphere.
_SPHERE_KM = 6371.0088
#: Relative slack between great-circle and ellipsoidal distances (< 0.6 % on Earth).
_SPHERE_SLACK = 0.01


@dataclass(frozen=True, eq=False)
class PairwiseDistances:
    """Distances (km) between unit pairs, each unordered pair once (``i < j``).

    Computed once and reused by every weights builder, so a distance-band
    sweep measures the layer a single time.

    Attributes
    ----------
    ids
        Unit ids in layer order; ``i`` and ``j`` index into it.
    i, j
        Positions of the two units of each pair, ``i < j``.
    km
        Distance of each pair in kilometres.
    method
        ``"geodesic"`` (on the layer's ellipsoid, pyproj.Geod) or ``"planar"``
        (Euclidean in a metric projection).
    max_km
        Pairs farther apart than this were not kept (``None``: all pairs).
    names
        Display names per unit (for messages), or ``None``.
    """

    ids: np.ndarray
    i: np.ndarray
    j: np.ndarray
    km: np.ndarray
    method: DistanceMethod
    max_km: float | None = None
    names: np.ndarray | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.ids)

    @cached_property
    def labels(self) -> np.ndarray:
        """``"id name"`` (or ``"id"``) of every unit, for messages."""
        return unit_labels(self.ids, self.names)

    @cached_property
    def nearest_km(self) -> np.ndarray:
        """Distance (km) from each unit to its nearest other unit (inf if none kept)."""
        out = np.full(self.n, np.inf)
        np.minimum.at(out, self.i, self.km)
        np.minimum.at(out, self.j, self.km)
        return out

    def to_dense(self) -> np.ndarray:
        """n×n matrix of distances (km): 0 on the diagonal, inf for pairs not kept."""
        dense = np.full((self.n, self.n), np.inf)
        np.fill_diagonal(dense, 0.0)
        dense[self.i, self.j] = self.km
        dense[self.j, self.i] = self.km
        return dense


def unit_labels(ids: np.ndarray, names: np.ndarray | None = None) -> np.ndarray:
    """``"id name"`` strings for messages (just the id when there are no names)."""
    if names is None:
        return np.asarray([str(u) for u in ids], dtype=object)
    return np.asarray([f"{u} {n}" for u, n in zip(ids, names)], dtype=object)


def pairwise_distances(
    data: gpd.GeoDataFrame,
    id_col: str,
    *,
    method: DistanceMethod = "geodesic",
    max_km: float | None = None,
    name_col: str | None = None,
    points: PointMethod = "centroid",
) -> PairwiseDistances:
    """Distances in kilometres between every pair of units.

    Parameters
    ----------
    data
        A polygon layer (its representative points are used, see ``points``)
        or a point layer, with a unique ``id_col``.
    id_col
        Unit id column.
    method
        ``"geodesic"``: on the ellipsoid of the layer's datum with
        :class:`pyproj.Geod`; ``"planar"``: straight-line distance in a metric
        projection (the layer's own if it has one, else the suggested one).
    max_km
        Keep only pairs at most this many kilometres apart (saves time and
        memory for large layers); ``None`` keeps all pairs.
    name_col
        Column of display names used in messages (islands, errors).
    points
        Representative point of a polygon: ``"centroid"`` or
        ``"point_on_surface"``. For city seats, pass a point layer as ``data``
        (see :func:`representative_points` to join seats to a layer by id).
    """
    if method not in ("geodesic", "planar"):
        raise WeightsError(f"method must be 'geodesic' or 'planar', not {method!r}.")
    if max_km is not None and not max_km > 0:
        raise WeightsError(f"max_km must be a positive number of kilometres, not {max_km!r}.")
    require_columns(data, [id_col] + ([name_col] if name_col else []), "the layer")
    if set(data.geom_type.dropna()) <= {"Point"}:
        pts = data
    else:
        pts = representative_points(validate_layer(data, id_col), id_col, method=points)

    if method == "geodesic":
        lon, lat, geographic = to_lonlat(pts)
        i, j = _candidate_pairs_sphere(lon, lat, max_km)
        _, _, metres = geographic.get_geod().inv(lon[i], lat[i], lon[j], lat[j])
        km = np.asarray(metres) / 1000.0
    else:
        metric = pts if is_metric(pts.crs) else to_projected(pts)
        to_km = metric.crs.axis_info[0].unit_conversion_factor / 1000.0
        xy = np.column_stack([metric.geometry.x, metric.geometry.y]) * to_km
        i, j = _candidate_pairs_plane(xy, max_km)
        km = np.hypot(*(xy[i] - xy[j]).T)
    if max_km is not None:
        keep = km <= max_km
        i, j, km = i[keep], j[keep], km[keep]
    names = data[name_col].astype(str).to_numpy() if name_col else None
    return PairwiseDistances(
        ids=data[id_col].to_numpy(),
        i=i.astype(np.int64),
        j=j.astype(np.int64),
        km=km,
        method=method,
        max_km=max_km,
        names=names,
    )


def _candidate_pairs_plane(xy: np.ndarray, max_km: float | None) -> tuple[np.ndarray, np.ndarray]:
    if max_km is None:
        return np.triu_indices(len(xy), 1)
    pairs = cKDTree(xy).query_pairs(max_km, output_type="ndarray")
    pairs.sort(axis=1)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order, 0], pairs[order, 1]


def _candidate_pairs_sphere(
    lon: np.ndarray, lat: np.ndarray, max_km: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs, or those within ``max_km`` (plus slack) on a sphere via a 3-D k-d tree."""
    if max_km is None:
        return np.triu_indices(len(lon), 1)
    lam, phi = np.radians(lon), np.radians(lat)
    unit = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    arc = min(max_km * (1 + _SPHERE_SLACK) + 1.0, np.pi * _SPHERE_KM) / _SPHERE_KM
    return _candidate_pairs_plane(unit, 2.0 * np.sin(arc / 2.0))
