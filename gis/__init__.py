"""Vector layers: read, validate, project, representative points, distances in km.

``spillmap.gis`` is the first step of the flow: it turns a boundary layer
(Shapefile, GeoPackage or GeoJSON as exported from QGIS) into validated,
projected geometries, one point per unit and pairwise distances in
kilometres, which :mod:`spillmap.weights` turns into spatial weights.
"""

from ._distance import DistanceMethod, PairwiseDistances, pairwise_distances
from ._export import GpkgVersion, write_geojson, write_geotiff, write_shapefile, write_styled_geopackage
from ._io import list_layers, read_layer, write_layer
from ._pilots import PILOTS_FILE, PilotJoin, pilot_years, read_pilots
from ._points import PointMethod, representative_points
from ._project import is_metric, suggest_metric_crs, to_projected
from ._shipped import CHINA_ID, CHINA_LAYER, CHINA_NAME, CHINA_REGIONS, read_china_layer, shipped_path
from ._styles import (
    NO_DATA,
    NOT_SIGNIFICANT,
    NOT_SIGNIFICANT_COLOR,
    ClassMethod,
    ColorScheme,
    LayerStyle,
    StyleClass,
    graduated_style,
)
from ._validate import validate_ids, validate_layer
from ._zonal import ZONAL_STATS, merge_zonal, rasters_from_pattern, zonal_stats

__all__ = [
    "read_layer",
    "write_layer",
    "write_styled_geopackage",
    "write_shapefile",
    "write_geojson",
    "write_geotiff",
    "GpkgVersion",
    "graduated_style",
    "LayerStyle",
    "StyleClass",
    "NO_DATA",
    "NOT_SIGNIFICANT",
    "NOT_SIGNIFICANT_COLOR",
    "ColorScheme",
    "ClassMethod",
    "list_layers",
    "validate_layer",
    "validate_ids",
    "read_pilots",
    "pilot_years",
    "PilotJoin",
    "PILOTS_FILE",
    "suggest_metric_crs",
    "to_projected",
    "is_metric",
    "representative_points",
    "pairwise_distances",
    "PairwiseDistances",
    "DistanceMethod",
    "PointMethod",
    "read_china_layer",
    "shipped_path",
    "CHINA_ID",
    "CHINA_REGIONS",
    "CHINA_LAYER",
    "CHINA_NAME",
    "zonal_stats",
    "merge_zonal",
    "rasters_from_pattern",
    "ZONAL_STATS",
]
