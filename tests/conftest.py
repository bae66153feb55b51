"""Shared fixtures: a 3×3 grid of one-degree cells in central China, with string ids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

def grid_layer(n: int = 3, *, lon0: float = 110.0, lat0: float = 30.0, crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    """n×n one-degree cells; ids 'g00'..; names 格0..; row-major from the south-west."""
    cells, ids, names = [], [], []
    for r in range(n):
        for c in range(n):
            cells.append(shapely.box(lon0 + c, lat0 + r, lon0 + c + 1, lat0 + r + 1))
            ids.append(f"g{r}{c}")
            names.append(f"格{r}{c}")
    return gpd.GeoDataFrame({"uid": ids, "name": names, "value": np.arange(1.0, n * n + 1)}, geometry=cells, crs=crs)


@pytest.fixture(scope="session")
def make_grid():
    """The :func:`grid_layer` factory, for tests that need other sizes or CRSs."""
    return grid_layer


@pytest.fixture(scope="session")
def grid() -> gpd.GeoDataFrame:
    return grid_layer()


@pytest.fixture(scope="session")
def city_points() -> gpd.GeoDataFrame:
    """Five city seats (lon/lat, WGS84) with admin codes as string ids."""
    return gpd.GeoDataFrame(
        {
            "code": ["110000", "310000", "320500", "440100", "510100"],
            "name": ["北京市", "上海市", "苏州市", "广州市", "成都市"],
        },
        geometry=gpd.points_from_xy(
            [116.4074, 121.4737, 120.5853, 113.2644, 104.0665],
            [39.9042, 31.2304, 31.2989, 23.1291, 30.5728],
        ),
        crs="EPSG:4326",
    )
