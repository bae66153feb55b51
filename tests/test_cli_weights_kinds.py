"""`spillmap weights --kind economic|nested` and `spillmap sdid --layer/--kind/...`: the weights of the run config's
`[weights] matrices` built from the command line, by one helper for both commands.

Cases (a 6×6 grid layer with string ids and a small synthetic panel on it, written as files; the shipped layer where
the default matters):

* weights --kind economic: every pair linked, symmetric, the same matrix as the run config's economic kind (one
  shared builder); --kind nested with --cutoff keeps only pairs within the cutoff; --pre-until chooses the periods
  (its values change the weights), default the pilots' first year;
* bad inputs, one message each and nothing written: a missing panel file, a missing column (named by its option),
  units of the layer absent from the panel (listed), --kind economic without --econ-panel/--econ-column,
  --econ-column with another kind, --cutoff with --kind economic;
* sdid on a user's layer (--layer/--layer-id) equals sdid with the same weights written by `weights` (--weights);
  sdid --kind economic/knn reach the fit; --weights with --kind is refused; panel units missing from --layer are
  listed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app

from .bad_inputs import run_bad
from .conftest import grid_layer

N = 6
YEARS = range(2010, 2018)


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return grid_files(tmp_path_factory.mktemp("kinds"))


def grid_files(folder):
    """(layer.gpkg with id 'uid', panel.csv keyed by uid/year with y, x1 and first_year) written into ``folder``."""
    layer = grid_layer(N)
    layer.to_file(folder / "layer.gpkg")
    rng = np.random.default_rng(7)
    ids = layer["uid"].tolist()
    first = {u: (2014 if k % 4 == 0 else 2015 if k % 4 == 1 else np.nan) for k, u in enumerate(ids)}
    level = dict(zip(ids, rng.normal(10, 2, len(ids))))
    rows = []
    for u in ids:
        for t in YEARS:
            treated = float(t >= first[u]) if np.isfinite(first[u]) else 0.0
            x1 = level[u] + 0.1 * (t - 2010) + rng.normal(0, 0.05)
            rows.append({"uid": u, "year": t, "x1": x1, "y": 0.5 * x1 + treated + rng.normal(0, 0.3),
                         "first_year": first[u]})
    panel = pd.DataFrame(rows)
    panel.to_csv(folder / "panel.csv", index=False)
    return folder / "layer.gpkg", folder / "panel.csv"


def _weights(runner, layer, *extra):
    result = runner.invoke(app, ["weights", "--layer", str(layer), "--id", "uid", "--json", *map(str, extra)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_economic_links_every_pair_as_the_config(runner, files, tmp_path):
    layer, panel = files
    out = tmp_path / "econ.npz"
    head = _weights(runner, layer, "--kind", "economic", "--econ-panel", panel, "--econ-column", "x1",
                    "--pre-until", 2014, "--out", out)
    assert head["n"] == N * N and head["n_islands"] == 0 and head["symmetric"]
    assert head["mean_neighbours"] == N * N - 1
    assert head["description"].startswith("economic distance 1/abs(x_i - x_j) of the pre-treatment mean of x1")
    # the run config's builder on the same means gives the same matrix
    from spillmap import gis
    from spillmap import weights as sw
    from spillmap.run import economic_weights, pre_period_means

    data = pd.read_csv(panel, dtype={"uid": str})
    means = pre_period_means(data, "x1", id_col="uid", time_col="year", before=2014, at="x1")
    dist = gis.pairwise_distances(gis.read_layer(layer, "uid"), "uid")
    graph, _ = economic_weights(sw, dist, means, kind="economic", column="x1", at="test")
    written = sw.read_weights(out)
    assert np.allclose(written.sparse.toarray(), graph.sparse.toarray(), rtol=1e-12)


def test_nested_cutoff_and_pre_until(runner, files):
    layer, panel = files
    args = ("--kind", "nested", "--econ-panel", panel, "--econ-column", "x1", "--cutoff", 250)
    head = _weights(runner, layer, *args)
    assert head["max_km"] <= 250 and head["mean_neighbours"] < N * N - 1
    assert "within 250 km" in head["description"]
    # default periods: before the shipped pilots' first year (2014), the same as --pre-until 2014
    assert _weights(runner, layer, *args, "--pre-until", 2014) == head


@pytest.mark.parametrize(("extra", "expect"), [
    (("--kind", "economic", "--econ-panel", "{tmp}/none.csv", "--econ-column", "x1"), ["none.csv", "does not exist"]),
    (("--kind", "economic", "--econ-panel", "{panel}", "--econ-column", "gdp"), ["no column 'gdp'", "--econ-column"]),
    (("--kind", "economic", "--econ-panel", "{panel}", "--econ-column", "x1", "--time", "yr"),
     ["no column 'yr'", "--time", "did you mean 'year'"]),
    (("--kind", "economic", "--econ-panel", "{short}", "--econ-column", "x1"),
     ["1 of 36 unit(s) of the layer are not in", "'g00'"]),
    (("--kind", "economic", "--econ-column", "x1"), ["--kind economic needs --econ-panel FILE"]),
    (("--kind", "inverse", "--econ-column", "x1"), ["--econ-column is for --kind economic or nested"]),
    (("--kind", "economic", "--econ-panel", "{panel}", "--econ-column", "x1", "--cutoff", "100"),
     ["--kind economic links every pair", "--kind nested"]),
])
def test_weights_bad_inputs(files, tmp_path, extra, expect):
    layer, panel = files
    short = tmp_path / "short.csv"
    pd.read_csv(panel, dtype={"uid": str}).query("uid != 'g00'").to_csv(short, index=False)
    args = [a.format(tmp=tmp_path, panel=panel, short=short) for a in extra]
    out = tmp_path / "w.gal"
    run_bad(["weights", "--layer", layer, "--id", "uid", *args, "--out", out], expect=expect, out=out,
            inputs=[panel, layer])


def _sdid(runner, panel, out, *extra):
    result = runner.invoke(app, ["sdid", str(panel), "--y", "y", "--id", "uid", "--time", "year", "--first-year-col",
                                 "first_year", "--effects", "30", "--no-event-study", "--out", str(out), "--json",
                                 *map(str, extra)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["sdm_did"]


def test_sdid_on_a_user_layer_equals_the_weights_file(runner, files, tmp_path):
    layer, panel = files
    gal = tmp_path / "w.npz"  # full precision (.gwt text rounds the weights)
    _weights(runner, layer, "--kind", "nested", "--econ-panel", panel, "--econ-column", "x1", "--cutoff", 300,
             "--pre-until", 2014, "--out", gal)
    built = _sdid(runner, panel, tmp_path / "a", "--layer", layer, "--kind", "nested", "--econ-column", "x1",
                  "--cutoff", 300)
    read = _sdid(runner, panel, tmp_path / "b", "--weights", gal)
    for kind in ("direct", "indirect", "total"):
        assert built["did_effects"][kind]["estimate"] == pytest.approx(read["did_effects"][kind]["estimate"],
                                                                       rel=1e-6)
    knn = _sdid(runner, panel, tmp_path / "c", "--layer", layer, "--kind", "knn", "--k", 4)
    assert knn["did_effects"]["indirect"]["estimate"] != built["did_effects"]["indirect"]["estimate"]


def test_sdid_weights_bad_inputs(files, tmp_path):
    layer, panel = files
    base = ["sdid", panel, "--y", "y", "--id", "uid", "--time", "year", "--first-year-col", "first_year",
            "--effects", "20", "--no-event-study"]
    out = tmp_path / "o"
    run_bad([*base, "--weights", tmp_path / "w.gal", "--kind", "knn", "--out", out],
            expect=["gives the weights", "--kind"], out=out)
    run_bad([*base, "--layer", layer, "--kind", "economic", "--out", out],
            expect=["--kind economic needs --econ-column COL"], out=out)
    small = tmp_path / "small.gpkg"
    grid_layer(N).query("uid != 'g55'").to_file(small)
    run_bad([*base, "--layer", small, "--out", out], expect=["1 panel unit(s) are not in the layer's 'uid' column",
                                                             "'g55'"], out=out, inputs=[small, panel])
