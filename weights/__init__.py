"""Spatial weights aligned to a layer's ids, as :class:`libpysal.graph.Graph`.

Builders take the distances from :func:`spillmap.gis.pairwise_distances`
(computed once, reused for every ring of a sweep) or a layer:

- :func:`build_inverse_distance`: ``d ** -alpha``, optional cutoff (km);
- :func:`build_ring`: neighbours in ``(inner_km, outer_km]``, inverse-distance
  or binary values;
- :func:`build_knn`, :func:`build_contiguity` (queen/rook),
  :func:`build_economic_geographic`.

Units left without neighbours (islands) follow an explicit policy:
``islands="error" | "keep" | "drop"``.
"""

from ._build import (
    IslandPolicy,
    RingWeight,
    Similarity,
    build_contiguity,
    build_economic_geographic,
    build_inverse_distance,
    build_knn,
    build_ring,
    graph_from_pairs,
    row_standardize,
)
from ._io import STATA_SUFFIX, WEIGHTS_SUFFIXES, align_ids, read_weights, write_weights
from ._summary import WeightsSummary, summarize_weights

__all__ = [
    "STATA_SUFFIX",
    "WEIGHTS_SUFFIXES",
    "IslandPolicy",
    "RingWeight",
    "Similarity",
    "WeightsSummary",
    "align_ids",
    "build_contiguity",
    "build_economic_geographic",
    "build_inverse_distance",
    "build_knn",
    "build_ring",
    "graph_from_pairs",
    "read_weights",
    "row_standardize",
    "summarize_weights",
    "write_weights",
]
