"""Choosing and applying a metric projection suited to a layer's extent."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import (
    AlbersEqualAreaConversion,
    LambertAzimuthalEqualAreaConversion,
)

from spillmap.errors import CRSError

__all__ = ["suggest_metric_crs", "to_projected", "is_metric"]

#: Widest longitude span (degrees) for which a single UTM zone is chosen.
UTM_MAX_SPAN_DEG = 6.0


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
    return ProjectedCRS(conversion=conversion, geodetic_crs=geographic, name="spillmap equal-area")


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
        except Exception as err:  # pyproj raises its own CRSError subclass
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
