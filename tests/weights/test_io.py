"""Weights files.

Cases: .npz round trip is exact (string ids that look like numbers, an
island kept as a zero row, transformation); .gwt keeps weights to GeoDa's 7
decimals; .gal keeps the neighbour structure; ids= reorders a file to the
layer's (shuffled) order and restores the id type; ids missing on either
side are listed; a square CSV matrix with a header of ids (with or without a
repeated id column); malformed files name the file; unknown suffixes; a
failed write leaves no file.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spillmap import weights as sw
from spillmap.errors import IslandWarning, WeightsFileError

ATOL_GWT = 1e-7  # GeoDa .gwt keeps 7 decimals


@pytest.fixture(scope="module")
def ring_with_island():
    ids = np.array(["110000", "120000", "130000", "140000", "150000"], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)
        return sw.graph_from_pairs(
            ids, np.array([0, 0, 1]), np.array([1, 2, 3]), np.array([1 / 123.456, 1 / 333.3, 1 / 77.7]), islands="keep"
        )


def test_npz_round_trip_is_exact(ring_with_island, tmp_path):
    for graph in (ring_with_island, sw.row_standardize(ring_with_island)):
        path = sw.write_weights(graph, tmp_path / "w.npz")
        back = sw.read_weights(path)
        assert back.equals(graph)
        assert back.transformation == graph.transformation
        assert list(back.unique_ids) == ["110000", "120000", "130000", "140000", "150000"]
        assert back.isolates.tolist() == ["150000"]


def test_gwt_and_gal(ring_with_island, tmp_path):
    ids = list(ring_with_island.unique_ids)
    gwt = sw.read_weights(sw.write_weights(ring_with_island, tmp_path / "w.gwt"), ids=ids)
    np.testing.assert_allclose(gwt.sparse.toarray(), ring_with_island.sparse.toarray(), atol=ATOL_GWT)
    gal = sw.read_weights(sw.write_weights(ring_with_island, tmp_path / "w.gal"), ids=ids)
    np.testing.assert_array_equal(gal.sparse.toarray(), ring_with_island.sparse.toarray() > 0)
    assert list(gal.unique_ids) == ids  # strings again, not ints


def test_ids_reorder_to_layer(ring_with_island, tmp_path):
    path = sw.write_weights(ring_with_island, tmp_path / "w.npz")
    order = ["130000", "150000", "110000", "140000", "120000"]
    back = sw.read_weights(path, ids=order)
    assert list(back.unique_ids) == order
    pos = [list(ring_with_island.unique_ids).index(u) for u in order]
    np.testing.assert_array_equal(back.sparse.toarray(), ring_with_island.sparse.toarray()[np.ix_(pos, pos)])
    numeric = sw.read_weights(path, ids=[int(u) for u in order])
    assert list(numeric.unique_ids) == [int(u) for u in order]


def test_ids_mismatch_is_listed(ring_with_island, tmp_path):
    path = sw.write_weights(ring_with_island, tmp_path / "w.npz")
    with pytest.raises(WeightsFileError, match=r"w.npz' does not match the ids of the layer \(1 unit\(s\) of the layer have no row: '999999'; 1 id\(s\) are not in the layer: '150000'\)"):
        sw.read_weights(path, ids=["110000", "120000", "130000", "140000", "999999"])


def test_square_csv(tmp_path):
    matrix = np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=float)
    path = tmp_path / "w.csv"
    path.write_text("a,b,c\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in matrix) + "\n")
    g = sw.read_weights(path)
    assert list(g.unique_ids) == ["a", "b", "c"]
    np.testing.assert_array_equal(g.sparse.toarray(), matrix)
    labelled = tmp_path / "w2.csv"
    labelled.write_text("id,a,b,c\n" + "\n".join(f"{u}," + ",".join(f"{v:g}" for v in row) for u, row in zip("abc", matrix)) + "\n")
    np.testing.assert_array_equal(sw.read_weights(labelled).sparse.toarray(), matrix)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n0,1\n")
    with pytest.raises(WeightsFileError, match=r"bad.csv' must hold a square matrix"):
        sw.read_weights(bad)
    text = tmp_path / "text.csv"
    text.write_text("a,b\n0,x\n1,0\n")
    with pytest.raises(WeightsFileError, match=r"text.csv' has non-numeric cells"):
        sw.read_weights(text)
    junk = tmp_path / "junk.npz"
    np.savez(junk, something=np.arange(3))
    with pytest.raises(WeightsFileError, match=r"junk.npz' is not a spillmap weights .npz"):
        sw.read_weights(junk)
    gal = tmp_path / "broken.gal"
    gal.write_text("3\na 1\n")
    with pytest.raises(WeightsFileError, match=r"broken.gal' ends after line 2: unit 'a' announces 1 neighbour"):
        sw.read_weights(gal)
    with pytest.raises(WeightsFileError, match=r"Cannot tell the format of .*w.mat"):
        (tmp_path / "w.mat").write_text("")
        sw.read_weights(tmp_path / "w.mat")
    with pytest.raises(WeightsFileError, match=r"missing.gal' does not exist"):
        sw.read_weights(tmp_path / "missing.gal")


def test_failed_write_leaves_nothing(ring_with_island, tmp_path, monkeypatch):
    from spillmap.weights import _io

    def broken(graph, path):
        open(path, "wb").write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(_io, "_write_npz", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        sw.write_weights(ring_with_island, tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WeightsFileError, match="use a .gal, .gwt or .npz suffix"):
        sw.write_weights(ring_with_island, tmp_path / "w.txt")
