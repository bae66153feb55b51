"""The data shipped with spillmap (see shapefiles/README.md)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

import geopandas as gpd

from ._io import read_layer

__all__ = ["shipped_path", "read_china_layer", "CHINA_LAYER", "CHINA_ID", "CHINA_NAME"]

#: File, layer, id and name columns of the shipped prefecture layer.
CHINA_LAYER = ("china_prefectures.gpkg", "prefectures")
CHINA_ID = "code"
CHINA_NAME = "name"


def shipped_path(filename: str) -> Path:
    """Path of a file shipped in ``spillmap.shapefiles`` (e.g. ``"china_prefectures.gpkg"``)."""
    resource = files("spillmap.shapefiles") / filename
    with as_file(resource) as path:  # installed packages are plain folders
        if not Path(path).exists():
            raise FileNotFoundError(f"spillmap ships no file '{filename}'; reinstall spillmap.")
        return Path(path)


def read_china_layer(*, sample_only: bool = True) -> gpd.GeoDataFrame:
    """China's prefecture-level units (EPSG:4326), id column ``code``, names in ``name``.

    With ``sample_only`` (default) Hong Kong, Macau and Taiwan, flagged
    ``in_sample == 0``, are left out, as in the Broadband China studies.
    A ``region`` column (``east`` | ``central`` | ``west``, the National
    Bureau of Statistics grouping of provinces used for regional
    heterogeneity) is added from ``province``; it is empty outside the
    31 mainland provinces.
    """
    filename, layer = CHINA_LAYER
    frame = read_layer(shipped_path(filename), CHINA_ID, layer=layer)
    if sample_only:
        frame = frame[frame["in_sample"] == 1].reset_index(drop=True)
    frame["region"] = frame["province"].map(CHINA_REGIONS)
    return frame


#: NBS east/central/west grouping of the 31 mainland provinces.
CHINA_REGIONS: dict[str, str] = {
    **dict.fromkeys(
        ["北京市", "天津市", "河北省", "辽宁省", "上海市", "江苏省", "浙江省", "福建省", "山东省", "广东省", "海南省"],
        "east",
    ),
    **dict.fromkeys(["山西省", "吉林省", "黑龙江省", "安徽省", "江西省", "河南省", "湖北省", "湖南省"], "central"),
    **dict.fromkeys(
        ["内蒙古自治区", "广西壮族自治区", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省",
         "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区"],
        "west",
    ),
}
