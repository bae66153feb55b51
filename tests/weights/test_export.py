"""GeoDa headers and the Stata export.

Cases: .gal/.gwt start with GeoDa's '0 n layer id-field' header (spaces in
names become '_', default 'unknown') and read back, as do old one-number
headers; the Stata file is spmatrix export's text format (n, then id and the
matrix row), exact to float64, chosen by '.spmat.txt' or format='stata';
non-integer ids are refused for Stata; `spillmap weights --out` names the
layer and the --id column.
"""

from __future__ import annotations

import numpy as np
import pytest

from spillmap import weights as sw
from spillmap.errors import WeightsFileError


@pytest.fixture(scope="module")
def grid_w(grid):
    return sw.build_contiguity(grid, "uid")


def test_geoda_headers_name_layer_and_id(grid_w, tmp_path):
    gal = sw.write_weights(grid_w, tmp_path / "w.gal", layer_name="my grid", id_field="uid")
    gwt = sw.write_weights(grid_w.transform("r"), tmp_path / "w.gwt", layer_name="grid", id_field="uid")
    assert gal.read_text().splitlines()[0] == "0 9 my_grid uid"
    assert gwt.read_text().splitlines()[0] == "0 9 grid uid"
    assert sw.write_weights(grid_w, tmp_path / "d.gal").read_text().splitlines()[0] == "0 9 unknown unknown"
    back = sw.read_weights(gal)
    assert list(back.unique_ids) == list(grid_w.unique_ids)
    np.testing.assert_array_equal(back.sparse.toarray(), grid_w.sparse.toarray() > 0)
    np.testing.assert_allclose(sw.read_weights(gwt).sparse.toarray(), grid_w.transform("r").sparse.toarray(), atol=1e-7)


def test_old_one_number_headers_still_read(grid_w, tmp_path):
    for suffix in (".gal", ".gwt"):
        path = sw.write_weights(grid_w, tmp_path / f"w{suffix}")
        lines = path.read_text().splitlines()
        path.write_text("\n".join(["9", *lines[1:]]) + "\n")
        np.testing.assert_array_equal(sw.read_weights(path).sparse.toarray() > 0, grid_w.sparse.toarray() > 0)


def test_gal_island_is_an_empty_list(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = sw.graph_from_pairs(np.array(["1", "2", "3"], dtype=object), np.array([0]), np.array([1]),
                                    np.array([1.0]), islands="keep")
    text = sw.write_weights(graph, tmp_path / "w.gal").read_text().splitlines()
    assert text[5:7] == ["3 0", ""]
    back = sw.read_weights(tmp_path / "w.gal")
    assert list(back.unique_ids) == ["1", "2", "3"] and back.sparse.toarray()[2].sum() == 0


def _read_stata(path):
    lines = path.read_text().splitlines()
    n = int(lines[0])
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == n and all(len(r) == n + 1 for r in rows)
    return [int(r[0]) for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def test_stata_spmatrix_text(grid, tmp_path):
    frame = grid.copy()
    frame["code"] = [str(110000 + 100 * k) for k in range(len(frame))]
    graph = sw.build_contiguity(frame, "code").transform("r")
    ids, matrix = _read_stata(sw.write_weights(graph, tmp_path / "w.spmat.txt"))
    assert ids == [110000 + 100 * k for k in range(9)]
    np.testing.assert_array_equal(matrix, graph.sparse.toarray())  # 17 digits: exact
    ids2, matrix2 = _read_stata(sw.write_weights(graph, tmp_path / "w.txt", format="stata"))
    assert ids2 == ids
    np.testing.assert_array_equal(matrix2, matrix)


def test_stata_needs_integer_ids(grid_w, tmp_path):
    with pytest.raises(WeightsFileError, match="spmatrix needs integer unit ids.*'g00'"):
        sw.write_weights(grid_w, tmp_path / "w.spmat.txt")
    assert not (tmp_path / "w.spmat.txt").exists()
    with pytest.raises(WeightsFileError, match="format among"):
        sw.write_weights(grid_w, tmp_path / "w.txt", format="shp")


def test_cli_out_names_layer_and_id(grid, tmp_path):
    from typer.testing import CliRunner

    from spillmap.cli import app

    layer = tmp_path / "my grid.gpkg"
    grid.to_file(layer, driver="GPKG")
    out = tmp_path / "w.gal"
    result = CliRunner().invoke(app, ["weights", "--layer", str(layer), "--id", "uid", "--kind", "queen",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "0 9 my_grid uid"
    result = CliRunner().invoke(app, ["weights", "--kind", "knn", "--k", "3", "--out", str(tmp_path / "w"),
                                      "--format", "stata"])
    assert result.exit_code == 0, result.output
    ids, matrix = _read_stata(tmp_path / "w")
    assert len(ids) == matrix.shape[0] > 300 and (matrix > 0).sum(axis=1).min() == 3
