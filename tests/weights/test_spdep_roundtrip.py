"""R's spdep reads spillmap's .gal/.gwt (skipped without Rscript + spdep).

Cases: the 3×3 grid and the shipped layer's first 30 units; GAL (queen,
islands kept) read by ``read.gal(file, override.id=TRUE)`` and GWT (row-
standardised kNN) by ``read.gwt2nb(file, region.id=<the file's own ids>)``
give spillmap's neighbours and weights, and spdep parses the GeoDa header's
layer and id field. spdep's defaults take ids 1..n: with real ids no header
lets ``read.gal(file)`` / ``read.gwt2nb(file)`` run bare (spdep's design).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from spillmap import gis
from spillmap import weights as sw

RSCRIPT = shutil.which("Rscript")
pytestmark = pytest.mark.skipif(RSCRIPT is None, reason="Rscript not installed")

R_CODE = r"""
suppressMessages(library(spdep))
args <- commandArgs(trailingOnly = TRUE)
dump <- function(nb, w, tag) {
  ids <- attr(nb, "region.id")
  g <- attr(nb, "GeoDa")
  cat("H", tag, g$shpfile, g$ind, "\n", sep = "\t")
  for (i in seq_along(nb)) for (k in seq_along(nb[[i]])) if (nb[[i]][k] > 0)
    cat(tag, ids[i], ids[nb[[i]][k]], if (is.null(w)) 1 else format(w[[i]][k], digits = 15), "\n", sep = "\t")
}
gal <- read.gal(args[1], override.id = TRUE)
dump(gal, NULL, "gal")
own <- unique(read.table(args[2], skip = 1, colClasses = "character")[[1]])
gwt <- suppressWarnings(read.gwt2nb(args[2], region.id = own))
dump(gwt, attr(gwt, "GeoDa")$dist, "gwt")
"""


@pytest.fixture(scope="module")
def spdep_ok():
    if RSCRIPT is None:
        pytest.skip("Rscript not installed")
    probe = subprocess.run([RSCRIPT, "-e", "quit(status = !requireNamespace('spdep', quietly = TRUE))"],
                           check=False, capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("R package spdep not installed (Debian: apt-get install r-cran-spdep)")


def _pairs(graph):
    adj = graph.adjacency
    return {
        (str(a), str(b)): w for (a, b), w in adj.items() if a != b
    }


def _r_read(gal, gwt):
    out = subprocess.run([RSCRIPT, "-e", R_CODE, str(gal), str(gwt)], check=False, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    got = {"gal": {}, "gwt": {}}
    headers = {}
    for line in out.stdout.splitlines():
        fields = line.rstrip("\t").split("\t")
        if fields[0] == "H":
            headers[fields[1]] = (fields[2], fields[3])
        else:
            got[fields[0]][(fields[1], fields[2])] = float(fields[3])
    return got, headers


@pytest.mark.parametrize("case", ["grid", "shipped30"])
def test_spdep_reads_gal_and_gwt(case, grid, tmp_path, spdep_ok):
    if case == "grid":
        frame, id_col, layer = grid, "uid", "grid"
    else:
        frame, id_col, layer = gis.read_china_layer().head(30).reset_index(drop=True), gis.CHINA_ID, "china_prefectures"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands of a 30-unit cut
        queen = sw.build_contiguity(frame, id_col, islands="keep")
    knn = sw.build_knn(gis.pairwise_distances(frame, id_col), 3).transform("r")
    gal = sw.write_weights(queen, tmp_path / "w.gal", layer_name=layer, id_field=id_col)
    gwt = sw.write_weights(knn, tmp_path / "w.gwt", layer_name=layer, id_field=id_col)
    got, headers = _r_read(gal, gwt)
    assert headers == {"gal": (layer, id_col), "gwt": (layer, id_col)}
    assert set(got["gal"]) == set(_pairs(queen))
    want = _pairs(knn)
    assert set(got["gwt"]) == set(want)
    np.testing.assert_allclose([got["gwt"][k] for k in want], list(want.values()), atol=1e-7)
