"""A fit never modifies the caller's weights, and a repeated Graph is a cache hit (issue: performance).

Cases: a libpysal Graph with an island (libpysal stores islands as explicit zero self-loops) and
unsorted column indices keeps its sparse arrays, its adjacency and its fingerprint byte for byte after
``prepare_weights`` and a fit; preparing the same Graph again returns the same object (no second
decomposition); a legacy ``W`` is left alone too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from libpysal.graph import Graph

from spillmap.models import fit_spatial_panel
from spillmap.models.panel._weights import _fingerprint, prepare_weights


def _graph_with_island() -> Graph:
    rng = np.random.default_rng(0)
    n = 30
    dense = (rng.random((n, n)) < 0.15).astype(float)
    dense = np.maximum(dense, dense.T)
    np.fill_diagonal(dense, 0)
    dense[0, :] = dense[:, 0] = 0  # unit 0 is an island
    return Graph.from_sparse(sp.csr_array(dense), ids=[f"u{i:02d}" for i in range(n)])


def _snapshot(graph: Graph) -> tuple:
    s = graph.sparse
    return (s.indptr.copy(), s.indices.copy(), s.data.copy(), graph.adjacency.copy())


def test_prepare_and_fit_leave_the_graph_alone():
    graph = _graph_with_island()
    before = _snapshot(graph)
    fp = _fingerprint(np.asarray(graph.unique_ids), sp.csr_array(graph.sparse, copy=True))
    prepared = prepare_weights(graph)
    rng = np.random.default_rng(1)
    ids = list(graph.unique_ids)
    frame = pd.DataFrame([(u, t) for t in range(6) for u in ids], columns=["id", "t"])
    frame["x"] = rng.normal(size=len(frame))
    frame["y"] = frame["x"] + rng.normal(size=len(frame))
    fit_spatial_panel(frame, "y ~ x", id_col="id", time_col="t", weights=graph, model="sar", fe="unit")
    after = _snapshot(graph)
    for a, b in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(before[3].to_frame(), after[3].to_frame())
    assert _fingerprint(np.asarray(graph.unique_ids), sp.csr_array(graph.sparse, copy=True)) == fp
    assert prepare_weights(graph) is prepared  # the same Graph again: a cache hit, no second decomposition
