"""Builders of spatial weights (libpysal.graph.Graph) aligned to a layer's ids."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.graph import Graph

from spillmap.errors import IslandError, IslandWarning, WeightsError
from spillmap.gis import DistanceMethod, PairwiseDistances, pairwise_distances
from spillmap.gis._distance import unit_labels
from spillmap.gis._validate import format_ids, validate_layer

__all__ = [
    "IslandPolicy",
    "RingWeight",
    "Similarity",
    "build_inverse_distance",
    "build_ring",
    "build_knn",
    "build_contiguity",
    "build_economic_geographic",
    "row_standardize",
    "graph_from_pairs",
    "sorted_graph",
]

IslandPolicy = Literal["error", "keep", "drop"]
RingWeight = Literal["inverse", "binary"]
Similarity = Literal["inverse_difference", "ratio"]

_POLICIES = ("error", "keep", "drop")


def _distances(
    data: PairwiseDistances | gpd.GeoDataFrame,
    id_col: str | None,
    method: DistanceMethod,
    need_km: float | None,
    name_col: str | None,
) -> PairwiseDistances:
    if isinstance(data, PairwiseDistances):
        if data.max_km is not None and (need_km is None or need_km > data.max_km):
            raise WeightsError(
                f"These distances keep only pairs within {data.max_km:g} km but the weights "
                f"need {'all pairs' if need_km is None else f'pairs up to {need_km:g} km'}; "
                "recompute them with a larger max_km."
            )
        return data
    if id_col is None:
        raise WeightsError("Pass id_col=... (the unit id column) when building weights from a layer.")
    return pairwise_distances(data, id_col, method=method, max_km=need_km, name_col=name_col)


def graph_from_pairs(
    ids: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    weight: np.ndarray,
    *,
    symmetric: bool = True,
    islands: IslandPolicy = "error",
    labels: np.ndarray | None = None,
    what: str = "these weights",
) -> Graph:
    """Graph over ``ids`` (in that order) from pair positions and weights.

    With ``symmetric`` each pair ``(i, j)`` is entered both ways. Units with
    no neighbour are handled by ``islands``: ``"error"`` raises
    :class:`IslandError`, ``"keep"`` keeps them as zero rows and ``"drop"``
    removes them (both with an :class:`IslandWarning` naming them).
    """
    if islands not in _POLICIES:
        raise WeightsError(f"islands must be one of {', '.join(_POLICIES)}, not {islands!r}.")
    if symmetric:
        i, j, weight = np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([weight, weight])
    n = len(ids)
    has_neighbour = np.zeros(n, dtype=bool)
    has_neighbour[i] = True
    isolated = np.flatnonzero(~has_neighbour)
    if len(isolated):
        named = (labels if labels is not None else unit_labels(ids))[isolated].tolist()
        message = (
            f"{len(isolated)} of {n} units have no neighbour under {what}: "
            f"{format_ids(named)}."
        )
        if islands == "error":
            raise IslandError(
                message + " Widen the band or cutoff, or pass islands='keep' (zero rows) "
                "or islands='drop' (remove those units) (CLI: --islands)."
            )
        warnings.warn(
            message + (" They are kept as zero rows." if islands == "keep" else " They are dropped."),
            IslandWarning,
            stacklevel=3,
        )
    order = np.lexsort((j, i))
    focal, neighbor, w = i[order], j[order], weight[order]
    if len(isolated) and islands == "keep":
        focal = np.concatenate([focal, isolated])
        neighbor = np.concatenate([neighbor, isolated])
        w = np.concatenate([w, np.zeros(len(isolated))])
        order = np.lexsort((neighbor, focal))
        focal, neighbor, w = focal[order], neighbor[order], w[order]
    if len(isolated) and islands == "drop":
        kept = np.flatnonzero(has_neighbour)
        remap = np.full(n, -1)
        remap[kept] = np.arange(len(kept))
        ids, focal, neighbor = ids[kept], remap[focal], remap[neighbor]
    return sorted_graph(ids, focal, neighbor, w)


def sorted_graph(
    ids: np.ndarray, focal: np.ndarray, neighbor: np.ndarray, weight: np.ndarray, transformation: str = "O"
) -> Graph:
    """Graph from positions into ``ids``, already sorted by (focal, neighbor) position.

    The MultiIndex is built from ``ids`` as levels and the positions as
    codes, which is the canonical order libpysal requires when it is told
    the adjacency is sorted (ids that never occur as a neighbour keep their
    place).
    """
    levels = pd.Index(ids)
    index = pd.MultiIndex(levels=[levels, levels], codes=[focal, neighbor], names=["focal", "neighbor"])
    adjacency = pd.Series(np.asarray(weight, dtype=float), index=index, name="weight")
    return Graph(adjacency, transformation=transformation, is_sorted=True)


def build_inverse_distance(
    data: PairwiseDistances | gpd.GeoDataFrame,
    *,
    id_col: str | None = None,
    alpha: float = 1.0,
    cutoff_km: float | None = None,
    islands: IslandPolicy = "error",
    method: DistanceMethod = "geodesic",
    name_col: str | None = None,
) -> Graph:
    """Inverse-distance weights ``d_ij ** -alpha`` (d in kilometres).

    Parameters
    ----------
    data
        Distances from :func:`spillmap.gis.pairwise_distances`, or a layer
        (then ``id_col`` is required and distances are computed with
        ``method``).
    alpha
        Distance-decay exponent (1: inverse distance, 2: gravity).
    cutoff_km
        Units farther apart than this many kilometres are not neighbours.
    islands
        What to do with units left without neighbours: ``"error"``,
        ``"keep"`` (zero rows) or ``"drop"``.
    """
    if not alpha > 0:
        raise WeightsError(f"alpha must be positive, not {alpha!r}.")
    dist = _distances(data, id_col, method, cutoff_km, name_col)
    keep = np.ones(len(dist.km), dtype=bool) if cutoff_km is None else dist.km <= cutoff_km
    _require_positive(dist, keep)
    what = "inverse distance" + (f" within {cutoff_km:g} km" if cutoff_km is not None else "")
    return graph_from_pairs(
        dist.ids, dist.i[keep], dist.j[keep], dist.km[keep] ** -alpha,
        islands=islands, labels=dist.labels, what=what,
    )


def build_ring(
    data: PairwiseDistances | gpd.GeoDataFrame,
    inner_km: float,
    outer_km: float,
    *,
    id_col: str | None = None,
    weight: RingWeight = "inverse",
    alpha: float = 1.0,
    islands: IslandPolicy = "error",
    method: DistanceMethod = "geodesic",
    name_col: str | None = None,
) -> Graph:
    """Distance-ring weights: neighbours ``inner_km < d <= outer_km`` kilometres apart.

    Inside the ring the weight is ``d ** -alpha`` (``weight="inverse"``) or 1
    (``weight="binary"``). ``inner_km=0`` gives a distance band. Rings
    often leave islands (e.g. 150–300 km around remote units); ``islands``
    says what to do with them.
    """
    if not (0 <= inner_km < outer_km):
        raise WeightsError(
            f"A ring needs 0 <= inner_km < outer_km; got inner_km={inner_km!r}, outer_km={outer_km!r}."
        )
    if weight not in ("inverse", "binary"):
        raise WeightsError(f"weight must be 'inverse' or 'binary', not {weight!r}.")
    dist = _distances(data, id_col, method, outer_km, name_col)
    keep = (dist.km > inner_km) & (dist.km <= outer_km)
    if weight == "inverse":
        _require_positive(dist, keep)
        values = dist.km[keep] ** -alpha
    else:
        values = np.ones(int(keep.sum()))
    return graph_from_pairs(
        dist.ids, dist.i[keep], dist.j[keep], values,
        islands=islands, labels=dist.labels, what=f"the {inner_km:g}–{outer_km:g} km ring",
    )


def build_knn(
    data: PairwiseDistances | gpd.GeoDataFrame,
    k: int,
    *,
    id_col: str | None = None,
    method: DistanceMethod = "geodesic",
    name_col: str | None = None,
) -> Graph:
    """The ``k`` nearest units of each unit (binary, not symmetric); ties by layer order."""
    dist = _distances(data, id_col, method, None if not isinstance(data, PairwiseDistances) else data.max_km, name_col)
    if not (isinstance(k, (int, np.integer)) and 1 <= k < dist.n):
        raise WeightsError(f"k must be an integer from 1 to {dist.n - 1} (units − 1), not {k!r}.")
    focal = np.concatenate([dist.i, dist.j])
    neighbor = np.concatenate([dist.j, dist.i])
    km = np.concatenate([dist.km, dist.km])
    order = np.lexsort((neighbor, km, focal))
    focal, neighbor = focal[order], neighbor[order]
    starts = np.searchsorted(focal, np.arange(dist.n))
    rank = np.arange(len(focal)) - starts[focal]
    counts = np.bincount(focal, minlength=dist.n)
    short = np.flatnonzero(counts < k)
    if len(short):
        raise WeightsError(
            f"{len(short)} units have fewer than {k} other units within {dist.max_km:g} km: "
            f"{format_ids([dist.labels[s] for s in short])}; recompute distances with a larger max_km."
        )
    take = rank < k
    return graph_from_pairs(
        dist.ids, focal[take], neighbor[take], np.ones(int(take.sum())),
        symmetric=False, islands="error", labels=dist.labels, what=f"{k} nearest neighbours",
    )


def build_contiguity(
    layer: gpd.GeoDataFrame,
    id_col: str,
    *,
    rook: bool = False,
    islands: IslandPolicy = "error",
    name_col: str | None = None,
) -> Graph:
    """Queen (shared vertex) or rook (shared edge) contiguity of polygon units.

    Built with :meth:`libpysal.graph.Graph.build_contiguity`; binary weights.
    Island units (e.g. offshore ones) follow ``islands``.
    """
    checked = validate_layer(layer, id_col)
    geoms = checked.set_index(id_col).geometry
    g = Graph.build_contiguity(geoms, rook=rook, strict=False)
    ids = checked[id_col].to_numpy()
    position = pd.Index(ids)
    adj = g.adjacency
    adj = adj[adj > 0]
    i = position.get_indexer(adj.index.get_level_values("focal"))
    j = position.get_indexer(adj.index.get_level_values("neighbor"))
    labels = unit_labels(ids, checked[name_col].astype(str).to_numpy() if name_col else None)
    return graph_from_pairs(
        ids, i, j, adj.to_numpy(), symmetric=False, islands=islands, labels=labels,
        what="rook contiguity" if rook else "queen contiguity",
    )


def build_economic_geographic(
    data: PairwiseDistances | gpd.GeoDataFrame,
    values: Mapping[object, float] | pd.Series,
    *,
    id_col: str | None = None,
    alpha: float = 1.0,
    cutoff_km: float | None = None,
    similarity: Similarity = "inverse_difference",
    islands: IslandPolicy = "error",
    method: DistanceMethod = "geodesic",
    name_col: str | None = None,
) -> Graph:
    """Economic-geographic weights: ``d_ij ** -alpha`` × similarity of ``values``.

    ``values`` maps each unit id to a number, typically a sample-period mean
    of per-capita GDP. ``similarity="inverse_difference"`` uses
    ``1 / |x_i − x_j|`` (the usual economic-distance matrix; equal values are
    an error), ``"ratio"`` uses ``min(x_i, x_j) / max(x_i, x_j)`` for
    positive values (1 when equal).
    """
    dist = _distances(data, id_col, method, cutoff_km, name_col)
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    x = series.reindex(pd.Index(dist.ids))
    if x.isna().any():
        raise WeightsError(
            f"values are missing for {int(x.isna().sum())} unit(s): "
            f"{format_ids(pd.Index(dist.ids)[x.isna().to_numpy()].tolist())}."
        )
    x = x.to_numpy(dtype=float)
    keep = np.ones(len(dist.km), dtype=bool) if cutoff_km is None else dist.km <= cutoff_km
    _require_positive(dist, keep)
    xi, xj = x[dist.i[keep]], x[dist.j[keep]]
    if similarity == "inverse_difference":
        diff = np.abs(xi - xj)
        if (diff == 0).any():
            k = int(np.flatnonzero(diff == 0)[0])
            raise WeightsError(
                "similarity='inverse_difference' is infinite for units with equal values, e.g. "
                f"{dist.labels[dist.i[keep][k]]} and {dist.labels[dist.j[keep][k]]}; use similarity='ratio'."
            )
        sim = 1.0 / diff
    elif similarity == "ratio":
        if (x <= 0).any():
            raise WeightsError("similarity='ratio' needs positive values.")
        sim = np.minimum(xi, xj) / np.maximum(xi, xj)
    else:
        raise WeightsError(f"similarity must be 'inverse_difference' or 'ratio', not {similarity!r}.")
    return graph_from_pairs(
        dist.ids, dist.i[keep], dist.j[keep], dist.km[keep] ** -alpha * sim,
        islands=islands, labels=dist.labels, what="economic-geographic weights",
    )


def row_standardize(graph: Graph) -> Graph:
    """Row-standardised copy: each row sums to 1, zero rows (kept islands) stay 0."""
    return graph.transform("r")


def _require_positive(dist: PairwiseDistances, keep: np.ndarray) -> None:
    zero = keep & (dist.km <= 0)
    if zero.any():
        k = int(np.flatnonzero(zero)[0])
        raise WeightsError(
            f"{int(zero.sum())} pair(s) of units share the same point (0 km apart), e.g. "
            f"{dist.labels[dist.i[k]]} and {dist.labels[dist.j[k]]}; inverse distance is "
            "undefined. Fix duplicated geometries or use weight='binary'."
        )
