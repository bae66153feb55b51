"""Vector layers: read, validate, project, representative points, distances in km.

``spillmap.gis`` is the first step of the flow: it turns a boundary layer
(Shapefile, GeoPackage or GeoJSON as exported from QGIS) into validated,
projected geometries, one point per unit and pairwise distances in
kilometres, which :mod:`spillmap.weights` turns into spatial weights.

Names are imported on first use (PEP 562): ``import spillmap.gis`` and the
light helpers the models use (:mod:`spillmap.gis._ids`) do not load
geopandas, pyogrio or rasterio; ``from spillmap.gis import read_layer``
loads what ``read_layer`` needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spillmap._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports on first use
    from ._distance import DistanceMethod, PairwiseDistances, pairwise_distances
    from ._export import (
        GpkgVersion,
        write_geojson,
        write_geotiff,
        write_shapefile,
        write_styled_geopackage,
    )
    from ._io import list_layers, read_layer, write_layer
    from ._pilots import PILOTS_FILE, PilotJoin, pilot_years, read_pilots
    from ._points import PointMethod, representative_points
    from ._project import for_output, is_metric, registered_metric_crs, suggest_metric_crs, to_projected
    from ._qgis_project import write_qgis_project
    from ._shipped import (
        CHINA_ID,
        CHINA_LAYER,
        CHINA_NAME,
        CHINA_REGIONS,
        read_china_layer,
        shipped_path,
    )
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

_LAZY = {  # public name -> private module that defines it; imported on first use (PEP 562)
    "DistanceMethod": "._distance",
    "PairwiseDistances": "._distance",
    "pairwise_distances": "._distance",
    "GpkgVersion": "._export",
    "write_geojson": "._export",
    "write_geotiff": "._export",
    "write_shapefile": "._export",
    "write_styled_geopackage": "._export",
    "list_layers": "._io",
    "read_layer": "._io",
    "write_layer": "._io",
    "PILOTS_FILE": "._pilots",
    "PilotJoin": "._pilots",
    "pilot_years": "._pilots",
    "read_pilots": "._pilots",
    "PointMethod": "._points",
    "representative_points": "._points",
    "is_metric": "._project",
    "suggest_metric_crs": "._project",
    "registered_metric_crs": "._project",
    "for_output": "._project",
    "to_projected": "._project",
    "write_qgis_project": "._qgis_project",
    "CHINA_ID": "._shipped",
    "CHINA_LAYER": "._shipped",
    "CHINA_NAME": "._shipped",
    "CHINA_REGIONS": "._shipped",
    "read_china_layer": "._shipped",
    "shipped_path": "._shipped",
    "NO_DATA": "._styles",
    "NOT_SIGNIFICANT": "._styles",
    "NOT_SIGNIFICANT_COLOR": "._styles",
    "ClassMethod": "._styles",
    "ColorScheme": "._styles",
    "LayerStyle": "._styles",
    "StyleClass": "._styles",
    "graduated_style": "._styles",
    "validate_ids": "._validate",
    "validate_layer": "._validate",
    "ZONAL_STATS": "._zonal",
    "merge_zonal": "._zonal",
    "rasters_from_pattern": "._zonal",
    "zonal_stats": "._zonal",
}

__all__ = [
    "read_layer",
    "write_layer",
    "write_styled_geopackage",
    "write_shapefile",
    "write_geojson",
    "write_geotiff",
    "write_qgis_project",
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
    "registered_metric_crs",
    "for_output",
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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
