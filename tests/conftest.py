"""Shared fixtures: a 3×3 grid of one-degree cells in central China, with string ids."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

#: A small synthetic ``spillmap run`` with every step on, heterogeneity, mediation and moderation included.
SMALL_RUN = """
[models]
placebo = 20
effects_draws = 200
bootstrap = 40
groups = ["region"]
mediators = ["x1"]
moderator = "x2"

[sweep]
max_km = 300.0

[output]
seed = 3
workers = 0
"""


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


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory):
    """:data:`SMALL_RUN` run once per session: (config file, output folder, headline from ``--json``)."""
    from typer.testing import CliRunner

    from spillmap.cli import app

    folder = tmp_path_factory.mktemp("synthetic_run")
    config = folder / "c.toml"
    config.write_text(SMALL_RUN, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(folder / "out"), "--json"])
    assert result.exit_code == 0, result.output
    return config, folder / "out", json.loads(result.stdout)
