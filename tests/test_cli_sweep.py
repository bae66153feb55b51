"""`spillmap sweep`.

Cases: on the synthetic demo panel the command prints the crossover with its
intervals, writes the table (CSV, Parquet, Markdown, LaTeX), the plot (PNG,
SVG) and the JSON summary, labels the data synthetic, and a rerun reads every
band from the cache; --json prints per-band effects and the crossover; a
user's panel on a user's layer works; panel units missing from the layer
give one clear message and nothing is written.
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from spillmap import gis
from spillmap.cli import app

from .models.sweep_data import siphon_panel


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_sweep_demo_and_resume(runner, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--out", str(out), "--max", "400", "--effects", "300", "--workers", "0", "--method", "separate"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "turns negative (siphon) at the band edge" in result.stdout and "95% interval" in result.stdout
    assert "SYNTHETIC DATA" in result.stdout
    names = {p.name for p in out.iterdir()}
    assert {"sweep.csv", "sweep.parquet", "sweep.md", "sweep.tex", "sweep.png", "sweep.svg",
            "sweep_summary.json"} <= names
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table["band"]) == [f"{a}-{a + 50}" for a in range(0, 400, 50)]
    pd.testing.assert_frame_equal(pd.read_csv(out / "sweep.csv")[["band", "rho"]], table[["band", "rho"]],
                                  check_exact=False, rtol=1e-12)
    again = runner.invoke(app, [*args, "--json", "--layers"])  # bands from the cache are refitted for the layers
    assert again.exit_code == 0, again.output
    headline = json.loads(again.stdout)
    assert headline["cached_bands"] == 8 and headline["synthetic"]["ring_km"] == 50
    cross = headline["crossover"]
    assert cross["kind"] == "crossing" and 100 < cross["radius_km"] < 250
    assert set(cross["intervals"]) == {"0.9", "0.95"} and cross["statement"].startswith("The indirect")
    import sqlite3

    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(out / "sweep_bands.gpkg") if name.startswith("sweep_")]
    assert layers == [f"sweep_{a:04d}_{a + 50:04d}" for a in range(0, 400, 50)]
    near = pyogrio.read_dataframe(out / "sweep_bands.gpkg", layer="sweep_0100_0150")
    far = pyogrio.read_dataframe(out / "sweep_bands.gpkg", layer="sweep_0200_0250")
    assert near["recv"].mean() > 0 > far["recv"].mean() and {"own", "emit", "nbrs"} <= set(near.columns)
    with sqlite3.connect(out / "sweep_bands.gpkg") as con:
        assert con.execute("select count(*) from layer_styles where useAsDefault = 1").fetchone()[0] == len(layers)
    band = headline["bands"][3]
    assert band["band"] == "150-200" and set(band["indirect"]) >= {"estimate", "ci95_low", "ci95_high"}


def test_sweep_user_panel_and_layer(runner, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = gis.read_china_layer()
    east = layer[layer["region"] == "east"][["code", "name", "geometry"]].rename(columns={"code": "city"})
    east.to_file(tmp_path / "east.gpkg", layer="cities", driver="GPKG")
    panel = siphon_panel(seed=4).rename(columns={"code": "city"})
    panel = panel[panel["city"].isin(set(east["city"]))]
    panel[["city", "year", "y", "x1", "x2", "did"]].to_csv(tmp_path / "panel.csv", index=False)
    base = ["sweep", str(tmp_path / "panel.csv"), "--y", "y", "--id", "city", "--time", "year", "--controls", "x1,x2",
            "--treated-col", "did", "--layer", str(tmp_path / "east.gpkg"), "--layer-name", "cities",
            "--band", "100", "--max", "400", "--effects", "100", "--workers", "0", "--no-cache", "--json"]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "o"), "--mode", "cumulative"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    assert headline["synthetic"] is None and headline["mode"] == "cumulative"
    assert [b["band"] for b in headline["bands"]] == ["0-100", "0-200", "0-300", "0-400"]
    assert not (tmp_path / "o" / ".sweep-cache").exists()

    bad = panel.copy()
    bad.loc[bad["city"] == bad["city"].iloc[0], "city"] = "999999"
    bad[["city", "year", "y", "x1", "x2", "did"]].to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "bad_out"
    result = runner.invoke(app, [base[0], str(tmp_path / "bad.csv"), *base[2:], "--out", str(out)])
    assert result.exit_code == 1
    assert "1 panel unit(s) are not in the layer's 'city' column: '999999'" in result.output
    assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))


@pytest.mark.filterwarnings("ignore::spillmap.errors.WeightsAssumptionWarning")  # 三沙市 is an island of W
def test_sweep_sdm_method_json_and_layers(runner, tmp_path):
    """--method sdm answers with the documented keys and writes the band layers through the multiplier."""
    out = tmp_path / "sdm"
    result = runner.invoke(app, ["sweep", "--out", str(out), "--method", "sdm", "--max", "300", "--effects", "100",
                                 "--workers", "0", "--json", "--layers", "--vce", "cluster"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    assert headline["method"] == "sdm" and headline["vce"] == "cluster" and headline["cutoff_km"] is None
    assert {"estimate", "ci95_low", "ci95_high"} <= set(headline["bands"][1]["indirect"])
    assert {"radius_km", "intervals"} <= set(headline["crossover"])
    near = pyogrio.read_dataframe(out / "sweep_bands.gpkg", layer="sweep_0050_0100")
    assert {"own", "recv", "recv_lo", "recv_hi", "emit"} <= set(near.columns)
