"""Weights builders.

Cases: ring weights (inner, outer] against brute-force numpy on a dense
distance matrix from independent pyproj.Geod calls, inverse and binary,
alpha 1 and 2; inverse distance with and without cutoff; islands under each
policy (error names id and name and the fix; keep gives zero rows that stay
zero when row-standardised; drop removes exactly those units); kNN with k
neighbours and no ties; queen/rook contiguity on a 3×3 grid (symmetric,
centre has 8/4 neighbours) and an offshore island; economic-geographic
weights against brute force, missing values, equal values; distances kept
only to max_km refuse a wider ring; hypothesis invariants: rows of a
row-standardised graph sum to 1 or 0, permuting the input rows permutes
the graph, ids survive every builder, contiguity is symmetric.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from spillmap import gis
from spillmap import weights as sw
from spillmap.errors import IslandError, IslandWarning, WeightsError

RTOL_CLOSED = 1e-10


def _random_points(n: int, seed: int, span: float = 8.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"uid": [f"c{k:03d}" for k in range(n)], "name": [f"市{k}" for k in range(n)]},
        geometry=gpd.points_from_xy(rng.uniform(110, 110 + span, n), rng.uniform(28, 28 + span, n)),
        crs="EPSG:4326",
    )


def _brute_km(points: gpd.GeoDataFrame) -> np.ndarray:
    geod = Geod(ellps="WGS84")
    lon, lat = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    n = len(points)
    out = np.zeros((n, n))
    for a in range(n):
        for b in range(a + 1, n):
            out[a, b] = out[b, a] = geod.inv(lon[a], lat[a], lon[b], lat[b])[2] / 1000.0
    return out


@pytest.fixture(scope="module")
def pts():
    return _random_points(60, seed=11)


@pytest.fixture(scope="module")
def brute(pts):
    return _brute_km(pts)


@pytest.mark.parametrize("inner,outer", [(0, 150), (150, 300), (300, 450)])
@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_ring_against_brute_force(pts, brute, inner, outer, alpha):
    dist = gis.pairwise_distances(pts, "uid")
    with pytest.warns(IslandWarning) if _has_islands(brute, inner, outer) else _no_warning():
        graph = sw.build_ring(dist, inner, outer, alpha=alpha, islands="keep")
    mask = (brute > inner) & (brute <= outer)
    expected = np.where(mask, np.where(mask, brute, 1.0) ** -alpha, 0.0)
    np.testing.assert_allclose(graph.sparse.toarray(), expected, rtol=RTOL_CLOSED)
    assert list(graph.unique_ids) == pts["uid"].tolist()
    binary = sw.build_ring(dist, inner, outer, weight="binary", islands="keep") if not _has_islands(brute, inner, outer) else None
    if binary is not None:
        np.testing.assert_array_equal(binary.sparse.toarray(), mask.astype(float))


def _has_islands(brute, inner, outer):
    mask = (brute > inner) & (brute <= outer)
    return bool((mask.sum(axis=1) == 0).any())


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", IslandWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_ring_from_layer_equals_ring_from_distances(pts):
    from_layer = sw.build_ring(pts, 0, 400, id_col="uid")
    from_dist = sw.build_ring(gis.pairwise_distances(pts, "uid"), 0, 400)
    assert from_layer.equals(from_dist)


def test_inverse_distance_with_and_without_cutoff(pts, brute):
    full = sw.build_inverse_distance(pts, id_col="uid")
    off = ~np.eye(len(pts), dtype=bool)
    np.testing.assert_allclose(full.sparse.toarray(), np.where(off, np.where(off, brute, 1) ** -1.0, 0), rtol=RTOL_CLOSED)
    cut = sw.build_inverse_distance(pts, id_col="uid", cutoff_km=500, alpha=2)
    mask = off & (brute <= 500)
    np.testing.assert_allclose(cut.sparse.toarray(), np.where(mask, np.where(mask, brute, 1) ** -2.0, 0), rtol=RTOL_CLOSED)


@pytest.fixture(scope="module")
def with_island(pts):
    import pandas as pd

    remote = gpd.GeoDataFrame({"uid": ["x999"], "name": ["远岛"]}, geometry=gpd.points_from_xy([140.0], [45.0]), crs=4326)
    return gpd.GeoDataFrame(pd.concat([pts, remote], ignore_index=True), crs=4326)


def test_island_error_names_units_and_fix(with_island):
    dist = gis.pairwise_distances(with_island, "uid", name_col="name")
    with pytest.raises(IslandError, match=r"1 of 61 units have no neighbour under the 0–800 km ring: 'x999 远岛'.*islands='keep'.*islands='drop'"):
        sw.build_ring(dist, 0, 800)


def test_island_keep_zero_rows_and_row_standardisation(with_island):
    dist = gis.pairwise_distances(with_island, "uid", name_col="name")
    with pytest.warns(IslandWarning, match=r"'x999 远岛'\. They are kept as zero rows"):
        graph = sw.build_ring(dist, 0, 800, islands="keep")
    assert list(graph.unique_ids) == with_island["uid"].tolist()
    rows = sw.row_standardize(graph).sparse.toarray().sum(axis=1)
    np.testing.assert_allclose(rows[:-1], 1.0, rtol=RTOL_CLOSED)
    assert rows[-1] == 0.0
    assert sw.summarize_weights(graph, dist).islands == ("x999 远岛",)


def test_island_drop_removes_exactly_them(with_island):
    dist = gis.pairwise_distances(with_island, "uid", name_col="name")
    with pytest.warns(IslandWarning, match="They are dropped"):
        graph = sw.build_ring(dist, 0, 800, islands="drop")
    assert list(graph.unique_ids) == with_island["uid"].tolist()[:-1]


def test_bad_island_policy(pts):
    with pytest.raises(ValueError, match="islands must be one of error, keep, drop"):
        sw.build_ring(pts, 0, 800, id_col="uid", islands="ignore")


def test_ring_arguments(pts):
    with pytest.raises(WeightsError, match="0 <= inner_km < outer_km"):
        sw.build_ring(pts, 300, 150, id_col="uid")
    with pytest.raises(WeightsError, match="Pass id_col"):
        sw.build_ring(pts, 0, 150)
    short = gis.pairwise_distances(pts, "uid", max_km=200)
    with pytest.raises(WeightsError, match="only pairs within 200 km but the weights need pairs up to 300 km"):
        sw.build_ring(short, 150, 300)


def test_knn(pts, brute):
    graph = sw.build_knn(pts, 4, id_col="uid")
    dense = graph.sparse.toarray()
    assert (dense.sum(axis=1) == 4).all()
    for a in range(len(pts)):
        order = np.argsort(np.where(np.arange(len(pts)) == a, np.inf, brute[a]), kind="stable")
        assert set(np.flatnonzero(dense[a])) == set(order[:4])
    with pytest.raises(WeightsError, match="k must be an integer from 1 to 59"):
        sw.build_knn(pts, 60, id_col="uid")


def test_contiguity_grid(grid):
    queen = sw.build_contiguity(grid, "uid")
    rook = sw.build_contiguity(grid, "uid", rook=True)
    assert queen.cardinalities["g11"] == 8 and rook.cardinalities["g11"] == 4
    assert queen.cardinalities["g00"] == 3 and rook.cardinalities["g00"] == 2
    for g in (queen, rook):
        dense = g.sparse.toarray()
        np.testing.assert_array_equal(dense, dense.T)
        assert list(g.unique_ids) == grid["uid"].tolist()


def test_contiguity_offshore_island(make_grid):
    import pandas as pd

    grid = make_grid()
    island = gpd.GeoDataFrame({"uid": ["isl"], "name": ["海岛"]}, geometry=[shapely.box(120, 20, 121, 21)], crs=4326)
    layer = gpd.GeoDataFrame(pd.concat([grid, island], ignore_index=True), crs=4326)
    with pytest.raises(IslandError, match="no neighbour under queen contiguity: 'isl 海岛'"):
        sw.build_contiguity(layer, "uid", name_col="name")
    with pytest.warns(IslandWarning):
        g = sw.build_contiguity(layer, "uid", islands="keep")
    assert g.sparse.toarray()[-1].sum() == 0


def test_economic_geographic(pts, brute):
    rng = np.random.default_rng(5)
    gdp = dict(zip(pts["uid"], rng.uniform(1, 10, len(pts))))
    x = np.array([gdp[u] for u in pts["uid"]])
    off = ~np.eye(len(pts), dtype=bool)
    inv = np.where(off, 1.0 / np.where(off, brute, 1.0), 0.0)
    g = sw.build_economic_geographic(pts, gdp, id_col="uid")
    diff = np.abs(x[:, None] - x[None, :])
    np.testing.assert_allclose(g.sparse.toarray(), np.where(off, inv / np.where(off, diff, 1.0), 0.0), rtol=RTOL_CLOSED)
    r = sw.build_economic_geographic(pts, gdp, id_col="uid", similarity="ratio")
    ratio = np.minimum(x[:, None], x[None, :]) / np.maximum(x[:, None], x[None, :])
    np.testing.assert_allclose(r.sparse.toarray(), inv * ratio, rtol=RTOL_CLOSED)
    missing = dict(list(gdp.items())[1:])
    with pytest.raises(WeightsError, match=r"values are missing for 1 unit\(s\): 'c000'"):
        sw.build_economic_geographic(pts, missing, id_col="uid")
    equal = {**gdp, "c001": gdp["c000"]}
    with pytest.raises(WeightsError, match="infinite for units with equal values, e.g. c000 and c001"):
        sw.build_economic_geographic(pts, equal, id_col="uid")


def test_zero_distance_pairs_are_refused():
    pts = gpd.GeoDataFrame({"uid": ["a", "b", "c"]}, geometry=gpd.points_from_xy([110, 110, 111], [30, 30, 30]), crs=4326)
    with pytest.raises(WeightsError, match=r"share the same point \(0 km apart\), e.g. a and b"):
        sw.build_inverse_distance(pts, id_col="uid")


# ---------------------------------------------------------------- invariants

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(5, 40), seed=st.integers(0, 10_000), inner=st.floats(0, 300), width=st.floats(20, 600))
def test_row_standardised_rows_sum_to_one_or_zero(n, seed, inner, width):
    pts = _random_points(n, seed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)
        graph = sw.build_ring(pts, inner, inner + width, id_col="uid", islands="keep")
    sums = sw.row_standardize(graph).sparse.toarray().sum(axis=1)
    assert np.all(np.isclose(sums, 1.0) | (sums == 0.0))
    assert list(graph.unique_ids) == pts["uid"].tolist()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(4, 30), seed=st.integers(0, 10_000), k=st.integers(1, 3))
def test_permuting_rows_permutes_the_graph(n, seed, k):
    pts = _random_points(n, seed)
    perm = np.random.default_rng(seed).permutation(n)
    shuffled = pts.iloc[perm]
    for build in (
        lambda d: sw.build_inverse_distance(d, id_col="uid"),
        lambda d: sw.build_knn(d, k, id_col="uid"),
        lambda d: sw.build_ring(d, 0, 2000, id_col="uid", weight="binary", islands="keep"),
    ):
        a, b = build(pts), build(shuffled)
        assert list(b.unique_ids) == shuffled["uid"].tolist()
        np.testing.assert_allclose(b.sparse.toarray(), a.sparse.toarray()[np.ix_(perm, perm)], rtol=RTOL_CLOSED)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(2, 5), rook=st.booleans(), seed=st.integers(0, 1000))
def test_contiguity_symmetric_and_ids_survive(rows, cols, rook, seed):
    cells = [shapely.box(c, r, c + 1, r + 1) for r in range(rows) for c in range(cols)]
    ids = [f"id{k}" for k in np.random.default_rng(seed).permutation(rows * cols)]
    layer = gpd.GeoDataFrame({"uid": ids}, geometry=cells, crs="EPSG:32650")
    g = sw.build_contiguity(layer, "uid", rook=rook)
    dense = g.sparse.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert list(g.unique_ids) == ids
