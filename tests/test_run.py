"""`spillmap run config.toml` and the configuration it reads.

Cases: the configuration names an unknown key or section (with a did-you-mean),
a wrong type, a bad choice, a layer without its id — each one clear error;
relative paths resolve against the config file. A small synthetic run writes
the styled GeoPackage (effects, weights summary, one layer per sweep band,
each with its default style in layer_styles), Shapefile, GeoJSON, GeoTIFF,
choropleths, report.html linking them and manifest.json (versions, config,
seed, input hashes); the per-city effects average to the SDM-DID's direct
effect; the maps are of the cities treated by the last treatment year (2016),
every stored style and its QML say SYNTHETIC and name what the value is and
its unit, the effects layer stores one style per effect (received first, as
default) with the "not significant" rule, the weights summary (every city
links to every other) one rule "366", and the band styles share classes set by
the bands in the crossover search; the same seed gives the same tables byte for byte. A user's layer
and panel run too. Bad input (wrong id field, panel units not in the layer,
unknown config key, an output folder that cannot be created) gives one
message, exit 1, and leaves nothing in the output folder.
"""

from __future__ import annotations

import json
import sqlite3
import warnings

import pyogrio
import pytest
from typer.testing import CliRunner

from spillmap import gis
from spillmap.cli import app
from spillmap.config import ConfigError, load_config

from .synthetic_label import label_report

from .models.sweep_data import siphon_panel

SMALL = """
[models]
placebo = 20
effects_draws = 200
bootstrap = 40
robust = false

[sweep]
max_km = 300.0

[output]
seed = 3
workers = 0
"""


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models]\nplacebos = 3\n", "unknown key 'placebos' in [models] (did you mean 'placebo'?)"),
        ("[model]\nplacebo = 3\n", "unknown section [model] (did you mean '[models]'?)".replace("'[models]'", "'models'")),
        ("[models]\nplacebo = 'many'\n", "[models] placebo must be a whole number, not 'many'"),
        ("[sweep]\nmode = 'disc'\n", "[sweep] mode = 'disc'; choose one of ring, cumulative"),
        ("[layer]\npath = 'x.gpkg'\n", "[layer] path is given but not its id column"),
        ("[output]\nformats = ['pdf']\n", "[output] formats has ['pdf']"),
        ("[models\n", "is not valid TOML"),
        ("[weights]\nkind = 'ring'\n", "[weights] kind = 'ring' needs cutoff_km"),
        ("[index]\nname = 'cp'\n", "[index] name = 'cp' needs positive and/or negative indicators"),
    ],
)
def test_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path / "c.toml", text))
    assert message in str(err.value) and "c.toml" in str(err.value)


def test_config_paths_resolve_against_file(tmp_path):
    (tmp_path / "sub").mkdir()
    cfg = load_config(_write(tmp_path / "sub" / "c.toml",
                             "[panel]\npath = 'p.csv'\nid = 'code'\ntime = 'year'\noutcome = 'y'\n"))
    assert cfg["panel"]["path"] == str((tmp_path / "sub" / "p.csv").resolve())
    assert cfg["models"]["placebo"] == 500 and not cfg.synthetic


def test_run_synthetic_outputs(synthetic_run):
    _, out, headline = synthetic_run  # conftest.SMALL_RUN, run once per session (tests/test_report.py reads it too)
    assert headline["synthetic"]["note"].startswith("SYNTHETIC DATA")
    assert headline["sweep"]["kind"] == "crossing"
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"report.html", "manifest.json", "spillmap.gpkg", "effects.geojson", "effects_recv.tif",
            "shapefile/effects.shp", "shapefile/effects.cpg", "shapefile/effects_fields.csv",
            "maps/effects_recv.png", "maps/sweep_bands_recv.png", "did/did_baseline.csv",
            "sdid/sdm_did_effects.csv", "sweep/sweep.csv", "sweep/sweep.png"} <= files
    assert not any(".spillmap-staging" in f for f in files)
    layers = [name for name, _ in pyogrio.list_layers(out / "spillmap.gpkg")]
    assert {"effects", "weights_summary", "sweep_0050_0100", "sweep_0250_0300"} <= set(layers)
    with sqlite3.connect(out / "spillmap.gpkg") as con:
        rows = con.execute("select f_table_name, styleName, useAsDefault, description, styleQML "
                           "from layer_styles order by id").fetchall()
    defaults = {name: qml for name, _, default, _, qml in rows if default}
    assert set(defaults) == {"effects", "weights_summary", *(n for n in layers if n.startswith("sweep_"))}
    assert len(rows) == len(defaults) + 2  # own and emitted effects: further styles of 'effects'
    assert all(name.startswith("SYNTHETIC ") and desc.startswith("SYNTHETIC DATA — ") and "SYNTHETIC DATA — " in qml
               for _, name, _, desc, qml in rows)
    assert headline["map_year"] == 2016  # the last pilot batch, not the panel's last year
    title = "SYNTHETIC DATA — spillover received from cities treated by 2016, change in y"
    effects_rows = [(name, default, desc) for table, name, default, desc, _ in rows if table == "effects"]
    assert effects_rows[0] == ("SYNTHETIC recv (main W)", 1, title)
    assert f'label="{title}"' in defaults["effects"] and "not significant (95 % interval includes 0)" in defaults["effects"]
    assert defaults["weights_summary"].count("<rule ") == 2 and 'label="366"' in defaults["weights_summary"]
    _check_band_styles(out, defaults)
    effects = pyogrio.read_dataframe(out / "spillmap.gpkg", layer="effects")
    assert len(effects) == 367 and {"own", "recv", "emit", "own_lo", "recv_hi", "first_yr"} <= set(effects.columns)
    direct = headline["sdid"]["direct"]["estimate"]
    assert effects["own"].mean() == pytest.approx(direct, rel=1e-6)  # mean of S_ii is the direct effect
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in report and 'href="spillmap.gpkg"' in report and 'src="maps/effects_recv.png"' in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"]["output.seed"] == 3 and manifest["packages"]["numpy"]
    assert manifest["config"]["models"]["placebo"] == 20 and len(manifest["inputs"]["layer (shipped)"]["sha256"]) == 64
    assert manifest["outputs"]["did/did_baseline.csv"]


def _check_band_styles(out, defaults) -> None:
    """Every band's QML has the same rules, set by the bands in the crossover search."""
    import pandas as pd

    from spillmap.maps import effect_style
    from spillmap.sweep import band_key
    from spillmap.models import Band

    table = pd.read_csv(out / "sweep" / "sweep.csv")
    keys = {band_key(Band(*map(float, b.split("-")))): bool(u) for b, u in zip(table["band"], table["in_crossover"])}
    assert not keys["sweep_0000_0050"] and sum(keys.values()) >= 3  # a sparse first band, left out of the search
    bands = {k: pyogrio.read_dataframe(out / "spillmap.gpkg", layer=k) for k in keys}
    searched = pd.concat([bands[k] for k, used in keys.items() if used])
    expected = effect_style(searched, "recv", year=2016, outcome="y", synthetic=True, classes=7, name="x",
                            cover=pd.concat(bands.values()))
    for key in keys:
        rules = defaults[key].split("<symbols>")[0]
        assert all(f'label="{label}"' in rules for label, _ in expected.legend()), key
        assert rules.count("<rule ") == len(expected.legend()) + 1


def test_same_seed_same_tables(runner, tmp_path):
    config = _write(tmp_path / "c.toml", SMALL.replace("max_km = 300.0", "max_km = 200.0")
                    + "formats = ['gpkg']\n")
    for name in ("a", "b"):
        result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / name), "--json"])
        assert result.exit_code == 0, result.output
    tables = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                    if p.suffix in (".csv", ".md", ".tex", ".json") and p.name != "manifest.json")
    assert len(tables) > 20
    for rel in tables:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = gis.read_china_layer()
    east = layer[layer["region"] == "east"][["code", "name", "geometry"]].rename(columns={"code": "city"})
    east.to_file(folder / "east.gpkg", layer="cities", driver="GPKG")
    panel = siphon_panel(seed=4).rename(columns={"code": "city"})
    panel = panel[panel["city"].isin(set(east["city"]))]
    panel[["city", "year", "y", "x1", "x2", "did"]].to_csv(folder / "panel.csv", index=False)
    return folder


USER = """
[layer]
path = "east.gpkg"
layer = "cities"
id = "{layer_id}"
name = "name"

[panel]
path = "{panel}"
id = "city"
time = "year"
outcome = "y"
controls = ["x1", "x2"]
treated = "did"

[models]
did = false
effects_draws = 100
event_study = false

[sweep]
band_km = 100.0
max_km = 300.0

[output]
workers = 0
formats = ["gpkg"]
"""


def test_run_user_layer_and_panel(runner, user_files):
    config = _write(user_files / "ok.toml", USER.format(layer_id="city", panel="panel.csv"))
    out = user_files / "ok_out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout)
    assert headline["synthetic"] is None and "did" not in headline
    effects = pyogrio.read_dataframe(out / "spillmap.gpkg", layer="effects")
    assert len(effects) == 117 and "SYNTHETIC" not in (out / "report.html").read_text(encoding="utf-8")
    with sqlite3.connect(out / "spillmap.gpkg") as con:
        stored = con.execute("select styleName || description || styleQML from layer_styles").fetchall()
    assert stored and not any("SYNTHETIC" in text for (text,) in stored)
    labelled = [name for name, has in label_report(out).items() if has]
    assert not labelled, f"real-data outputs labelled SYNTHETIC: {labelled}"


@pytest.mark.parametrize(
    ("layer_id", "panel", "extra", "message"),
    [
        ("adcode", "panel.csv", "", "adcode"),
        ("city", "missing.csv", "", "missing.csv"),
        ("city", "panel.csv", "[output]\nsed = 1\n", "unknown key 'sed' in [output] (did you mean 'seed'?)"),
    ],
)
def test_run_bad_input_leaves_nothing(runner, user_files, layer_id, panel, extra, message):
    text = USER.format(layer_id=layer_id, panel=panel)
    if extra:
        text = text.replace("[output]\n", extra.split("\n", 1)[0] + "\n" + extra.split("\n", 1)[1], 1)
    config = _write(user_files / "bad.toml", text)
    out = user_files / f"bad_out_{layer_id}_{panel}_{bool(extra)}"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert message in result.output and result.output.count("error:") == 1
    assert not out.exists() or not any(out.iterdir())


def test_run_panel_units_not_in_layer(runner, user_files):
    import pandas as pd

    panel = pd.read_csv(user_files / "panel.csv")
    panel.loc[panel["city"] == panel["city"].iloc[0], "city"] = 999999
    panel.to_csv(user_files / "stray.csv", index=False)
    config = _write(user_files / "stray.toml", USER.format(layer_id="city", panel="stray.csv"))
    out = user_files / "stray_out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 1 and "1 of 117 panel units are not in" in result.output and "999999" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_run_unwritable_output(runner, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["run", str(_write(tmp_path / "c.toml", SMALL)), "--out", str(blocker / "out")])
    assert result.exit_code == 1 and "Cannot create the output folder" in result.output and str(blocker) in result.output


def test_run_with_raster_covariates(runner, user_files):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    rasters = user_files / "rasters"
    rasters.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for year in range(2010, 2022):  # coarse night-light stand-ins over eastern China, 0.5° pixels
        values = rng.gamma(2.0, 1.0, (80, 50)).astype("float32")
        with rasterio.open(rasters / f"ntl_{year}.tif", "w", driver="GTiff", width=50, height=80, count=1,
                           dtype="float32", crs="EPSG:4326", transform=from_origin(100.0, 55.0, 0.5, 0.5)) as dst:
            dst.write(values, 1)
    text = USER.format(layer_id="city", panel="panel.csv").replace(
        'controls = ["x1", "x2"]', 'controls = ["x1", "x2", "r_mean"]'
    ).replace("[output]\n", '[rasters]\npattern = "rasters/ntl_{year}.tif"\nall_touched = true\n\n[output]\n', 1)
    config = _write(user_files / "rasters.toml", text)
    out = user_files / "rasters_out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    coefs = (out / "sdid" / "sdm_did_coefficients.csv").read_text()
    assert "r_mean" in coefs and "W·r_mean" in coefs


def test_run_builds_the_outcome_as_an_entropy_index(runner, user_files):
    text = USER.format(layer_id="city", panel="panel.csv").replace('outcome = "y"', 'outcome = "cp"').replace(
        "[models]\n", '[index]\nname = "cp"\npositive = ["y", "x1"]\nby = "year"\n\n[models]\n', 1
    ).replace('controls = ["x1", "x2"]', 'controls = ["x2"]').replace("max_km = 300.0", "max_km = 200.0")
    config = _write(user_files / "index.toml", text)
    out = user_files / "index_out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    coefs = (out / "sdid" / "sdm_did_coefficients.csv").read_text()
    assert "did" in coefs
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["index"]["positive"] == ["y", "x1"]


def test_readme_config_example_uses_known_keys():
    """Every key of the README's `spillmap run` example exists in the config schema (a README promise)."""
    import tomllib
    from pathlib import Path

    from spillmap.config import SCHEMA

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```toml")[1:]
    assert len(blocks) >= 2  # the full example and the study on a user's panel
    for block in blocks:
        example = tomllib.loads(block[:block.index("```")])
        unknown = [(section, key) for section, keys in example.items() for key in keys
                   if key not in SCHEMA.get(section, {})]
        assert example and not unknown, unknown
