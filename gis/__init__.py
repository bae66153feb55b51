"""Vector layers: read, validate, project, representative points, distances in km.

``spillmap.gis`` is the first step of the flow: it turns a boundary layer
(Shapefile, GeoPackage or GeoJSON as exported from QGIS) into validated,
projected geometries, one point per unit and pairwise distances in
kilometres, which :mod:`spillmap.weights` turns into spatial weights.
"""

from ._distance import DistanceMethod, PairwiseDistances, pairwise_distances
from ._io import list_layers, read_layer, write_layer
from ._pilots import PILOTS_FILE, PilotJoin, pilot_years, read_pilots
from ._points import PointMethod, representative_points
from ._project import is_metric, suggest_metric_crs, to_projected
from ._shipped import CHINA_ID, CHINA_LAYER, CHINA_NAME, CHINA_REGIONS, read_china_layer, shipped_path
from ._validate import validate_ids, validate_layer

__all__ = [
    "read_layer",
    "write_layer",
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
]
