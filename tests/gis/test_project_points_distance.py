"""Projection, representative points and distances in km.

Cases: a country-wide extent gets an equal-area conic in metres on the
layer's own datum (the CRS centroids and planar distances are computed in),
a narrow one a UTM zone; for outputs, China's cities get the registered
ESRI:102025 (also on CGCS2000), a narrow layer its UTM EPSG code, and a
layer no registered equal-area CRS fits (the South Pacific) the custom one,
without a warning, and ``for_output`` moves only the custom CRS; a named geographic CRS is
refused; a metric layer is kept; centroid vs point-on-surface on a C-shaped
unit; a user point layer joined by id (shuffled rows, missing ids, duplicate
ids, non-points); geodesic distances against an independent pyproj.Geod
computation pair by pair; max_km keeps exactly the pairs within it (k-d tree
pre-selection misses none); planar distances against Euclidean ones in a UTM
CRS; shuffled rows keep distances attached to ids.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod
from spillmap.gis._project import for_output, registered_metric_crs

from spillmap import gis
from spillmap.errors import CRSError, DuplicateIdError, GeometryError, MissingIdError

RTOL_CLOSED = 1e-10


def test_wide_extent_gets_equal_area_conic_on_layer_datum():
    layer = gpd.GeoDataFrame(geometry=[shapely.box(73, 18, 135, 53)], crs="EPSG:4490")
    crs = gis.suggest_metric_crs(layer)
    assert crs.is_projected and gis.is_metric(crs)
    assert crs.coordinate_operation.method_name == "Albers Equal Area"
    assert crs.geodetic_crs.equals(CRS.from_epsg(4490))


def test_narrow_extent_gets_utm(make_grid):
    layer = make_grid(1, lon0=116.0, lat0=39.0)
    assert gis.suggest_metric_crs(layer).to_epsg() == 32650


def test_china_gets_registered_equal_area_for_outputs():
    china = gis.read_china_layer()
    crs = registered_metric_crs(china)
    assert crs.to_authority() == ("ESRI", "102025") and crs.name == "Asia_North_Albers_Equal_Area_Conic"
    assert gis.is_metric(crs) and crs.coordinate_operation.method_name == "Albers Equal Area"
    cgcs = gpd.GeoDataFrame(geometry=[shapely.box(73, 18, 135, 53)], crs="EPSG:4490")
    assert registered_metric_crs(cgcs).to_authority() == ("ESRI", "102025")
    assert gis.suggest_metric_crs(china).to_authority() is None  # computations keep the custom CRS
    moved = for_output(gis.to_projected(china))
    assert moved.crs.to_authority() == ("ESRI", "102025")
    np.testing.assert_allclose(shapely.get_coordinates(moved.to_crs(china.crs).geometry.array),
                               shapely.get_coordinates(china.geometry.array), atol=1e-9)


def test_narrow_layer_keeps_utm_for_outputs(make_grid):
    layer = make_grid(1, lon0=116.0, lat0=39.0)
    assert registered_metric_crs(layer).to_authority() == ("EPSG", "32650")
    utm = layer.to_crs(32650)
    assert for_output(utm) is utm and for_output(layer) is layer  # only the custom CRS is moved


def test_no_registered_fit_falls_back_to_custom_quietly():
    pacific = gpd.GeoDataFrame(geometry=[shapely.box(-150, -40, -110, -10)], crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        crs = registered_metric_crs(pacific)
        projected = gis.to_projected(pacific)
        assert for_output(projected) is projected
    assert crs.to_authority() is None and crs.equals(gis.suggest_metric_crs(pacific))
    assert crs.coordinate_operation.method_name == "Albers Equal Area"


def test_to_projected_refuses_geographic_target(make_grid):
    with pytest.raises(CRSError, match=r"crs='EPSG:4326' .* is not a projected CRS in metres"):
        gis.to_projected(make_grid(), crs="EPSG:4326")


def test_to_projected_keeps_metric_layer(make_grid):
    utm = make_grid().to_crs(32649)
    assert gis.to_projected(utm).crs.equals(utm.crs)
    assert gis.to_projected(make_grid(), crs=32649).crs.to_epsg() == 32649


def test_centroid_and_point_on_surface():
    c_shape = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (3, 2), (3, 3), (0, 3)])
    layer = gpd.GeoDataFrame({"uid": ["c"]}, geometry=[c_shape], crs="EPSG:32650")
    centroid = gis.representative_points(layer, "uid").geometry.iloc[0]
    inside = gis.representative_points(layer, "uid", method="point_on_surface").geometry.iloc[0]
    assert centroid.equals_exact(c_shape.centroid, 1e-9)
    assert c_shape.contains(inside)


def test_centroid_of_geographic_layer_is_computed_projected(make_grid):
    layer = make_grid()
    pts = gis.representative_points(layer, "uid")
    assert pts.crs.equals(layer.crs)
    expected = layer.to_crs(gis.suggest_metric_crs(layer)).centroid.to_crs(layer.crs)
    np.testing.assert_allclose(pts.geometry.x, expected.x, rtol=RTOL_CLOSED)
    np.testing.assert_allclose(pts.geometry.y, expected.y, rtol=RTOL_CLOSED)


def test_user_points_joined_by_id(make_grid):
    layer = make_grid()
    seats = gis.representative_points(layer, "uid", method="point_on_surface").sample(frac=1, random_state=3)
    seats = seats.rename(columns={"uid": "seat_of"})
    joined = gis.representative_points(layer, "uid", points=seats, points_id_col="seat_of")
    assert joined["uid"].tolist() == layer["uid"].tolist()
    for poly, pt in zip(layer.geometry, joined.geometry):
        assert poly.contains(pt)


def test_user_points_errors(make_grid, city_points):
    layer = make_grid()
    seats = gis.representative_points(layer, "uid")
    with pytest.raises(MissingIdError, match=r"no point for 2 unit\(s\) of the layer: 'g21', 'g22'"):
        gis.representative_points(layer, "uid", points=seats.iloc[:7])
    with pytest.raises(DuplicateIdError, match=r"ids 'g00' occur more than once"):
        gis.representative_points(layer, "uid", points=seats.assign(uid=["g00", "g00"] + seats["uid"].tolist()[2:]))
    with pytest.raises(GeometryError, match="must hold Point geometries"):
        gis.representative_points(layer, "uid", points=layer)


def test_geodesic_against_independent_geod(city_points):
    dist = gis.pairwise_distances(city_points, "code")
    geod = Geod(ellps="WGS84")
    lon, lat = city_points.geometry.x.to_numpy(), city_points.geometry.y.to_numpy()
    dense = dist.to_dense()
    for a in range(len(city_points)):
        for b in range(len(city_points)):
            _, _, metres = geod.inv(lon[a], lat[a], lon[b], lat[b])
            assert dense[a, b] == pytest.approx(metres / 1000.0, rel=RTOL_CLOSED, abs=1e-9)
    # Beijing–Shanghai is about 1,067 km along the ellipsoid
    assert 1060 < dense[0, 1] < 1075


def test_max_km_keeps_exactly_the_pairs_within(make_grid):
    rng = np.random.default_rng(7)
    pts = gpd.GeoDataFrame(
        {"uid": [f"p{k}" for k in range(300)]},
        geometry=gpd.points_from_xy(rng.uniform(75, 130, 300), rng.uniform(20, 50, 300)),
        crs="EPSG:4326",
    )
    full = gis.pairwise_distances(pts, "uid")
    for max_km in (50.0, 333.0, 1200.0):
        part = gis.pairwise_distances(pts, "uid", max_km=max_km)
        keep = full.km <= max_km
        assert set(zip(part.i, part.j)) == set(zip(full.i[keep], full.j[keep]))
        np.testing.assert_allclose(np.sort(part.km), np.sort(full.km[keep]), rtol=RTOL_CLOSED)


def test_planar_is_euclidean_in_the_metric_crs(city_points):
    utm = city_points.to_crs(32650)
    dist = gis.pairwise_distances(utm, "code", method="planar")
    xy = np.column_stack([utm.geometry.x, utm.geometry.y]) / 1000.0
    brute = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
    np.testing.assert_allclose(dist.to_dense(), brute, rtol=RTOL_CLOSED, atol=1e-9)


def test_shuffled_rows_keep_distances_with_ids(city_points):
    base = gis.pairwise_distances(city_points, "code")
    shuffled = city_points.iloc[[3, 0, 4, 2, 1]]
    other = gis.pairwise_distances(shuffled, "code")
    order = [list(base.ids).index(u) for u in other.ids]
    np.testing.assert_allclose(other.to_dense(), base.to_dense()[np.ix_(order, order)], rtol=RTOL_CLOSED)


def test_polygon_layer_uses_centroids_and_names(make_grid):
    layer = make_grid()
    dist = gis.pairwise_distances(layer, "uid", name_col="name")
    assert dist.labels[0] == "g00 格00"
    assert len(dist.km) == 36
    # neighbouring one-degree cells at 30.5°N are about 96 km apart east-west
    assert 90 < dist.nearest_km.min() < 100


def test_bad_arguments():
    layer = gpd.GeoDataFrame({"uid": ["a", "b"]}, geometry=gpd.points_from_xy([0, 1], [0, 0]), crs=4326)
    with pytest.raises(ValueError, match="method must be 'geodesic' or 'planar'"):
        gis.pairwise_distances(layer, "uid", method="haversine")
    with pytest.raises(ValueError, match="max_km must be a positive number of kilometres"):
        gis.pairwise_distances(layer, "uid", max_km=0)
