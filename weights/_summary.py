"""A readable summary of a weights graph: neighbours, distances, islands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from libpysal.graph import Graph

from spillmap.gis import PairwiseDistances

__all__ = ["WeightsSummary", "summarize_weights"]


@dataclass(frozen=True)
class WeightsSummary:
    """Counts and ranges describing a weights graph.

    Distances are in kilometres and present only when the summary was made
    with the distances the graph was built from.
    """

    n: int
    n_links: int
    mean_neighbours: float
    min_neighbours: int
    max_neighbours: int
    islands: tuple[str, ...]
    min_km: float | None
    max_km: float | None
    symmetric: bool
    transformation: str
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return {
            "description": self.description,
            "n": self.n,
            "n_links": self.n_links,
            "mean_neighbours": self.mean_neighbours,
            "min_neighbours": self.min_neighbours,
            "max_neighbours": self.max_neighbours,
            "n_islands": len(self.islands),
            "islands": list(self.islands),
            "min_km": self.min_km,
            "max_km": self.max_km,
            "symmetric": self.symmetric,
            "transformation": self.transformation,
        }

    def __str__(self) -> str:
        lines = [self.description] if self.description else []
        lines += [
            f"units            {self.n}",
            f"links            {self.n_links}",
            f"neighbours       mean {self.mean_neighbours:.2f}, min {self.min_neighbours}, max {self.max_neighbours}",
        ]
        if self.min_km is not None:
            lines.append(f"link distance    {self.min_km:.1f} – {self.max_km:.1f} km")
        lines.append(f"symmetric        {'yes' if self.symmetric else 'no'}")
        lines.append(f"islands          {len(self.islands)}" + (": " + ", ".join(self.islands) if self.islands else ""))
        return "\n".join(lines)


def summarize_weights(
    graph: Graph, distances: PairwiseDistances | None = None, *, description: str = ""
) -> WeightsSummary:
    """Summarise ``graph``; give the ``distances`` it was built from for the km range."""
    adj = graph.adjacency
    linked = adj[adj.index.get_level_values("focal") != adj.index.get_level_values("neighbor")]
    linked = linked[linked != 0]
    ids = pd.Index(graph.unique_ids)
    counts = (
        pd.Series(1, index=linked.index.get_level_values("focal")).groupby(level=0).size().reindex(ids, fill_value=0)
    )
    isolated = ids[counts.to_numpy() == 0]
    names = {} if distances is None else dict(zip(map(str, distances.ids), distances.labels))
    island_labels = tuple(names.get(str(i), str(i)) for i in isolated)
    min_km = max_km = None
    if distances is not None and len(linked):
        km = _link_km(linked, distances)
        min_km, max_km = float(np.nanmin(km)), float(np.nanmax(km))
    sparse = graph.sparse
    symmetric = bool((abs(sparse - sparse.T) > 1e-12).nnz == 0)
    return WeightsSummary(
        n=len(ids),
        n_links=len(linked),
        mean_neighbours=float(counts.mean()),
        min_neighbours=int(counts.min()),
        max_neighbours=int(counts.max()),
        islands=island_labels,
        min_km=min_km,
        max_km=max_km,
        symmetric=symmetric,
        transformation=str(graph.transformation),
        description=description,
    )


def _link_km(linked: pd.Series, distances: PairwiseDistances) -> np.ndarray:
    position = pd.Index(distances.ids)
    a = position.get_indexer(linked.index.get_level_values("focal"))
    b = position.get_indexer(linked.index.get_level_values("neighbor"))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = pd.Index(distances.i * distances.n + distances.j)
    found = key.get_indexer(lo * distances.n + hi)
    return np.where(found >= 0, distances.km[found], np.nan)
