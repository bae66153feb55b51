"""Choosing and applying a metric projection suited to a layer's extent."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import geopandas as gpd
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import (
    AlbersEqualAreaConversion,
    LambertAzimuthalEqualAreaConversion,
)

from spillmap.errors import CRSError

__all__ = ["for_output", "is_metric", "registered_metric_crs", "suggest_metric_crs", "to_projected"]

#: Widest longitude span (degrees) for which a single UTM zone is chosen.
UTM_MAX_SPAN_DEG = 6.0
#: Share of a layer's area that must lie inside a registered CRS's area of use for it to fit.
AREA_OF_USE_SHARE = 0.99
#: Projection methods of the registered CRSs :func:`registered_metric_crs` chooses from.
_EQUAL_AREA_METHODS = ("Albers Equal Area", "Lambert Azimuthal Equal Area")
#: Name of the custom CRSs :func:`suggest_metric_crs` builds (no authority code).
_CUSTOM_NAME = "spillmap equal-area"


def is_metric(crs: CRS | None) -> bool:
    """True when ``crs`` is projected with linear units in metres (or a multiple)."""
    if crs is None or not crs.is_projected:
        return False
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else None
    return factor is not None and factor > 0


def suggest_metric_crs(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> CRS:
    """A metric CRS suited to the layer's extent.

    A UTM zone when the layer spans at most 6° of longitude; otherwise an
    Albers equal-area conic centred on the layer with standard parallels at
    1/6 and 5/6 of its latitude range (a Lambert azimuthal equal-area
    projection when the layer straddles the equator widely), on the layer's
    own datum.

    Raises
    ------
    CRSError
        The layer has no CRS.
    """
    if frame.crs is None:
        raise CRSError("The layer has no CRS; set one before projecting (read_layer(crs=...)).")
    geographic = frame.crs.geodetic_crs or CRS.from_epsg(4326)
    lonlat = frame.to_crs(geographic)
    lon0, lat0, lon1, lat1 = lonlat.total_bounds
    west, east = longitude_range(lonlat)
    if east - west < lon1 - lon0 - 1e-9:
        # the layer crosses the antimeridian (or uses 0…360° longitudes): an azimuthal equal-area
        # projection centred on the layer keeps both sides together, with distances right
        lon_c = (west + east) / 2
        lon_c = (lon_c + 180.0) % 360.0 - 180.0
        conversion = LambertAzimuthalEqualAreaConversion(
            latitude_natural_origin=(lat0 + lat1) / 2, longitude_natural_origin=lon_c
        )
        return ProjectedCRS(conversion=conversion, geodetic_crs=geographic, name="spillmap equal-area (antimeridian)")
    if lon1 - lon0 <= UTM_MAX_SPAN_DEG and -80 <= lat0 and lat1 <= 84:
        utm = frame.estimate_utm_crs()
        if utm is not None:
            return utm
    lon_c, lat_c = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    if lat0 < -10 and lat1 > 10:
        conversion = LambertAzimuthalEqualAreaConversion(
            latitude_natural_origin=lat_c, longitude_natural_origin=lon_c
        )
    else:
        span = lat1 - lat0
        conversion = AlbersEqualAreaConversion(
            latitude_first_parallel=lat0 + span / 6,
            latitude_second_parallel=lat1 - span / 6,
            latitude_false_origin=lat_c,
            longitude_false_origin=lon_c,
        )
    return ProjectedCRS(conversion=conversion, geodetic_crs=geographic, name=_CUSTOM_NAME)


def registered_metric_crs(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> CRS:
    """A metric CRS with an EPSG or ESRI code suited to the layer's extent, for writing outputs.

    The UTM zone :func:`suggest_metric_crs` picks for a narrow layer (an EPSG
    code already); otherwise the registered (EPSG or ESRI, not deprecated)
    Albers or Lambert azimuthal equal-area CRS in metres whose area of use
    holds at least 99 % of the layer's area (:data:`AREA_OF_USE_SHARE`),
    the smallest such area of use (global, hemisphere-wide and polar ones
    are left out), e.g. ESRI:102025 "Asia_North_Albers_Equal_Area_Conic"
    for China's cities (among equal areas of use, one on the layer's own
    datum, else the latest code). When none fits (or the layer crosses the
    antimeridian) it is :func:`suggest_metric_crs`'s custom equal-area CRS,
    which has no authority code.

    Distances and centroids are computed in :func:`suggest_metric_crs`'s
    CRS; this one only places the written coordinates (see :func:`for_output`).

    Raises
    ------
    CRSError
        The layer has no CRS.
    """
    suggested = suggest_metric_crs(frame)
    if suggested.name != _CUSTOM_NAME:  # a UTM zone, or the antimeridian case
        return suggested
    import shapely

    lonlat = frame.to_crs(suggested.geodetic_crs or CRS.from_epsg(4326)).geometry.array
    lonlat = lonlat[~(shapely.is_missing(lonlat) | shapely.is_empty(lonlat))]
    total = _weighted_area(lonlat)  # 0 for points and lines: then the area of use must hold their bounds
    x0, y0, x1, y1 = shapely.total_bounds(lonlat)
    fits: list[CRS] = []  # registered CRSs of the smallest fitting area of use
    fits_size = math.inf
    for size, west, south, east, north, auth, code in _equal_area_candidates():
        if size > fits_size:
            break
        boxes = [(west, south, east, north)] if west < east else [(west, south, 180.0, north), (-180.0, south, east, north)]
        if not any(w < x1 and e > x0 and s < y1 and n > y0 for w, s, e, n in boxes):
            continue
        if total > 0:
            fit = sum(_weighted_area(shapely.clip_by_rect(lonlat, *box)) for box in boxes) >= AREA_OF_USE_SHARE * total
        else:
            fit = any(w <= x0 and x1 <= e and s <= y0 and y1 <= n for w, s, e, n in boxes)
        crs = CRS.from_authority(auth, code) if fit else None
        if crs is not None and crs.axis_info and all(a.unit_name == "metre" for a in crs.axis_info):
            fits, fits_size = [*fits, crs], size
    if not fits:
        return suggested
    # equal areas of use (one projection on several datums): the layer's datum, else the latest code
    return next((crs for crs in fits if _same_datum(crs, frame.crs)), fits[-1])


def _same_datum(a: CRS, b: CRS) -> bool:
    """Whether two CRSs share a datum (ignoring names: by ellipsoid and datum kind)."""
    da, db = a.datum, b.datum
    if da is None or db is None:
        return False
    return da.name.replace("ensemble", "").strip() == db.name.replace("ensemble", "").strip() or da == db


def for_output(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in :func:`registered_metric_crs` when its CRS is :func:`suggest_metric_crs`'s custom one.

    Writers call this so that QGIS resolves every output's CRS to one
    EPSG/ESRI code; other CRSs (the user's, UTM, longitude/latitude) and
    layers without a registered fit are returned as they are.
    """
    crs = frame.crs
    if crs is None or crs.name != _CUSTOM_NAME:
        return frame
    # a run writes a dozen layers of the same units: choose once per CRS, extent and row count (~0.2 s each)
    key = (crs.to_wkt(), tuple(frame.total_bounds.round(3)), len(frame))
    target = _OUTPUT_CRS.get(key)
    if target is None:
        target = _OUTPUT_CRS[key] = registered_metric_crs(frame)
        while len(_OUTPUT_CRS) > 16:
            _OUTPUT_CRS.pop(next(iter(_OUTPUT_CRS)))
    return frame if target.name == _CUSTOM_NAME else frame.to_crs(target)


_OUTPUT_CRS: dict[tuple[str, tuple[float, ...], int], CRS] = {}


@lru_cache(maxsize=1)
def _equal_area_candidates() -> tuple[tuple[float, float, float, float, float, str, str], ...]:
    """``(size, west, south, east, north, authority, code)`` of registered equal-area projected CRSs, smallest area first.

    One query of pyproj's database (~0.3 s), cached.
    """
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    rows = []
    for info in query_crs_info(pj_types=PJType.PROJECTED_CRS):
        aou = info.area_of_use
        if info.auth_name not in ("EPSG", "ESRI") or info.deprecated or aou is None:
            continue
        if info.projection_method_name not in _EQUAL_AREA_METHODS:
            continue
        west, south, east, north = aou.bounds
        span = (east - west) % 360.0 or 360.0
        if span >= 180.0 or north >= 89.5 or south <= -89.5:  # global, hemisphere-wide or polar
            continue
        size = math.radians(span) * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
        rows.append((round(size, 12), west, south, east, north, info.auth_name, info.code))
    return tuple(sorted(rows, key=lambda r: (r[0], r[5], int(r[6]) if r[6].isdigit() else 0, r[6])))


def _weighted_area(geoms: Any) -> float:
    """Area of longitude/latitude geometries in square degrees scaled by cos(latitude): proportional to m²."""
    import numpy as np
    import shapely

    geoms = geoms[~shapely.is_empty(geoms)]
    area = shapely.area(geoms)
    lat = shapely.get_y(shapely.centroid(geoms))
    return float(np.nansum(area * np.cos(np.radians(lat))))


def longitude_range(lonlat: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[float, float]:
    """``(west, east)`` of the shortest longitude interval holding every vertex, on the circle.

    ``east`` may exceed 180 when the interval crosses the antimeridian (e.g. ``(178.5, 181.5)``).
    """
    import numpy as np
    import shapely

    lon = np.unique(np.mod(shapely.get_coordinates(lonlat.geometry.array)[:, 0] + 180.0, 360.0) - 180.0)
    if len(lon) < 2:
        return (float(lon[0]), float(lon[0])) if len(lon) else (0.0, 0.0)
    gaps = np.diff(np.append(lon, lon[0] + 360.0))
    k = int(np.argmax(gaps))  # the widest empty arc lies after lon[k]; the layer is the rest
    west = lon[(k + 1) % len(lon)]
    east = lon[k] + (360.0 if k + 1 < len(lon) else 0.0)
    return float(west), float(east)


def to_projected(frame: gpd.GeoDataFrame, crs: Any = None) -> gpd.GeoDataFrame:
    """Return a copy in a metric CRS: ``crs`` if given, else the suggested one.

    A layer already in a metric projected CRS is returned unchanged (a copy)
    when ``crs`` is not given.

    Raises
    ------
    CRSError
        The layer has no CRS, or ``crs`` is not a projected metric CRS.
    """
    if frame.crs is None:
        raise CRSError("The layer has no CRS; set one before projecting (read_layer(crs=...)).")
    if crs is None:
        if is_metric(frame.crs):
            return frame.copy()
        target = suggest_metric_crs(frame)
    else:
        try:
            target = CRS.from_user_input(crs)
        except Exception as err:  # noqa: BLE001 - pyproj raises its own CRSError subclass
            raise CRSError(f"crs={crs!r} is not a CRS pyproj understands: {err}") from None
        if not is_metric(target):
            raise CRSError(
                f"crs={crs!r} ({target.name}) is not a projected CRS in metres; "
                "distances and areas need one (e.g. an Albers or UTM EPSG code)."
            )
    return frame.to_crs(target)


def to_lonlat(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[Any, Any, CRS]:
    """Longitude and latitude (degrees) of point geometries on the layer's own datum."""
    geographic = frame.crs.geodetic_crs or CRS.from_epsg(4326)
    transformer = Transformer.from_crs(frame.crs, geographic, always_xy=True)
    lon, lat = transformer.transform(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    return lon, lat, geographic
