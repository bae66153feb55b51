"""The QGIS Processing plugin (``spillmap qgis-plugin``), installed and run in a real QGIS.

Cases: the zip holds one top-level folder ``spillmap_processing/`` with the
plugin files, the version in metadata.txt and the absolute path of this
environment's ``spillmap``, fixed dates and sorted entries, and the same
bytes when written twice; a file or an unwritable folder as ``--out`` is one
``error:`` line and exit 1; the plugin source imports neither spillmap nor
its dependencies. In QGIS (Debian's python3-qgis, one probe): the zip
extracted into a throwaway profile's ``python/plugins`` (what "Install from
ZIP" does) is read by QGIS's plugin manager with its metadata, loads with
``qgis.utils``, and the Processing registry lists the provider ``spillmap``
with its four algorithms in the group "spillmap"; every algorithm runs
through ``processing.run`` on the shipped prefecture layer and a small
synthetic panel (a CSV table layer), with the command from
``SPILLMAP_COMMAND`` (weights: inverse distance, a ring with islands dropped,
a ring with islands refused — spillmap's ``error:`` line is the message —,
queen contiguity); the layers it loads on completion have the expected
features, fields and a rule-based renderer (the sweep's band layers and the
per-city effects with the style stored in their GeoPackage); the sweep gives
its PNG plot and HTML table; progress comes from the command's progress
bars; cancelling kills the command; the setting "spillmap command" wins over
the environment variable, the path recorded in the zip is used when neither
is set, and when nothing runs one message names what was tried and how to
fix it. A per-city effects layer is rendered to PNG and shows colours.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import spillmap
from spillmap.cli import app
from spillmap.qgis_plugin import (
    PLUGIN,
    plugin_source,
    spillmap_command,
    write_plugin_zip,
)
from tests.qgis_harness import qgis_env_or_skip, run_probe

ALGORITHMS = ["spillmap:effects", "spillmap:sdid", "spillmap:sweep", "spillmap:weights"]


def test_zip_layout(tmp_path):
    result = CliRunner().invoke(app, ["qgis-plugin", "--out", str(tmp_path / "z")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "z" / "spillmap_processing.zip"
    lines = result.output.strip().splitlines()
    assert lines[0] == str(path) and "Install from ZIP" in lines[1]
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {n.split("/")[0] for n in names} == {PLUGIN}
        assert {"spillmap_processing/__init__.py", "spillmap_processing/metadata.txt",
                "spillmap_processing/provider.py", "spillmap_processing/algorithms.py",
                "spillmap_processing/runner.py", "spillmap_processing/icon.svg",
                "spillmap_processing/spillmap_command.txt"} <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert {i.date_time for i in zf.infolist()} == {(2020, 1, 1, 0, 0, 0)}
        meta = zf.read("spillmap_processing/metadata.txt").decode()
        recorded = zf.read("spillmap_processing/spillmap_command.txt").decode().strip()
    assert f"version={spillmap.__version__}" in meta and "{version}" not in meta
    assert "qgisMinimumVersion=3.22" in meta and "hasProcessingProvider=yes" in meta
    assert recorded == spillmap_command() and Path(recorded).is_absolute()
    assert Path(recorded).parent == Path(sys.executable).parent  # this environment's bin folder


def test_zip_is_deterministic(tmp_path):
    a = write_plugin_zip(tmp_path / "a").read_bytes()
    b = write_plugin_zip(tmp_path / "b").read_bytes()
    assert a == b
    assert write_plugin_zip(tmp_path / "c", command="/other/bin/spillmap").read_bytes() != a


def test_bad_out(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = CliRunner().invoke(app, ["qgis-plugin", "--out", str(afile)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: every folder is writable")
        result = CliRunner().invoke(app, ["qgis-plugin", "--out", str(locked / "sub")])
        assert result.exit_code == 1 and result.output.startswith("error:"), result.output
        assert len(result.output.strip().splitlines()) == 1
    finally:
        locked.chmod(0o700)


def test_plugin_imports_only_qgis():
    """QGIS's Python has none of spillmap's dependencies: the plugin imports the standard library and QGIS."""
    allowed = {"json", "os", "tempfile", "queue", "re", "shlex", "subprocess", "threading", "qgis", "processing"}
    for path in plugin_source().glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, (path.name, roots)


PROBE = r'''
import json, os, shutil, sys, time, zipfile

job = json.load(open(sys.argv[1], encoding="utf-8"))
from qgis.core import (QgsApplication, QgsMapRendererSequentialJob, QgsMapSettings, QgsProcessingContext,
                       QgsProcessingException, QgsMapLayer, QgsProcessingFeedback, QgsProcessingUtils,
                       QgsProject,
                       QgsRuleBasedRenderer, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

app = QgsApplication([], False, job["profile"])
app.initQgis()
plugins_dir = os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "plugins")
os.makedirs(plugins_dir, exist_ok=True)
with zipfile.ZipFile(job["zip"]) as zf:  # what Plugins > Install from ZIP does
    zf.extractall(plugins_dir)
sys.path[:0] = [plugins_dir, "/usr/share/qgis/python/plugins"]
import qgis.utils
from processing.core.Processing import Processing
from processing.core.ProcessingConfig import ProcessingConfig
import processing

Processing.initialize()
report = {"plugins_dir": plugins_dir.startswith(job["profile"])}
qgis.utils.plugin_paths = [plugins_dir]
qgis.utils.updateAvailablePlugins()
report["metadata"] = {k: qgis.utils.pluginMetadata("spillmap_processing", k)
                      for k in ("name", "version", "qgisMinimumVersion", "hasProcessingProvider")}
report["loaded"] = qgis.utils.loadPlugin("spillmap_processing") and qgis.utils.startPlugin("spillmap_processing")
registry = QgsApplication.processingRegistry()
provider = registry.providerById("spillmap")
report["provider"] = provider is not None and provider.name()
report["algorithms"] = sorted(a.id() for a in provider.algorithms()) if provider else []
report["groups"] = sorted({(a.group(), a.groupId()) for a in provider.algorithms()}) if provider else []

from spillmap_processing import runner


class Feedback(QgsProcessingFeedback):
    def __init__(self, cancel_on=None):
        super().__init__()
        self.progress, self.infos, self.texts, self.cancel_on = [], [], [], cancel_on
        self.progressChanged.connect(self.progress.append)

    def setProgressText(self, text):
        self.texts.append(text)
        super().setProgressText(text)

    def pushInfo(self, text):
        self.infos.append(text)
        if self.cancel_on and text.startswith(self.cancel_on):
            self.cancel()
        super().pushInfo(text)


def run(alg, params):
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = Feedback()
    start = time.time()
    try:
        result = processing.run(alg, params, context=context, feedback=feedback)
    except QgsProcessingException as exc:
        return {"error": str(exc), "seconds": time.time() - start}
    loaded = []
    # processing.run hands the output layers over in its results (taken out of the context's layer store)
    given = {}
    for value in result.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, QgsMapLayer):
                given[item.id()] = item
    for layer_id, details in context.layersToLoadOnCompletion().items():
        layer = given.get(layer_id) or QgsProcessingUtils.mapLayerFromString(layer_id, context)
        info = {"name": details.name, "valid": layer.isValid(), "fields": [f.name() for f in layer.fields()],
                "features": layer.featureCount(), "renderer": layer.renderer().type() if hasattr(layer, "renderer") and layer.renderer() else None}
        if isinstance(layer.renderer() if hasattr(layer, "renderer") else None, QgsRuleBasedRenderer):
            rules = layer.renderer().rootRule().children()[0].children()
            info["rules"] = [r.label() for r in rules]
            info["colors"] = [r.symbol().color().name() for r in rules]
        loaded.append(info)
        if details.name == job["render"]:
            render(layer)
    def plain(v):
        if isinstance(v, QgsMapLayer):
            return v.id()
        if isinstance(v, list):
            return [plain(i) for i in v]
        return v if isinstance(v, (str, int, float, type(None))) else str(v)

    out = {k: plain(v) for k, v in result.items()}
    return {"result": out, "loaded": sorted(loaded, key=lambda i: i["name"]), "seconds": time.time() - start,
            "progress_max": max(feedback.progress or [0]), "progress_steps": len(set(feedback.progress)),
            "infos": feedback.infos[:3], "progress_texts": sorted(set(feedback.texts))}


def render(layer):
    report["png_saved"] = render_png(layer, job["png"])


layer = job["layer"]
panel = QgsVectorLayer(job["panel_uri"], "panel", "delimitedtext")
report["panel_valid"] = panel.isValid()
QgsProject.instance().addMapLayer(panel)
panel_params = {"PANEL": panel.id(), "ID": "code", "TIME": "year", "OUTCOME": "y", "CONTROLS": ["x1"],
                "FIRST_YEAR": "first_year", "INPUT": layer, "LAYER_ID": "code", "EFFECTS": 50, "SEED": 1}
out = job["out"]
os.environ["SPILLMAP_COMMAND"] = job["spillmap"]
runs = report["runs"] = {}
runs["weights"] = run("spillmap:weights", {"INPUT": layer, "LAYER_ID": "code", "NAME_FIELD": "name", "KIND": 0,
                                           "CUTOFF": 100, "ISLANDS": 0, "OUTPUT_FOLDER": out + "/weights"})
runs["ring"] = run("spillmap:weights", {"INPUT": layer, "LAYER_ID": "code", "KIND": 1, "RING_INNER": 100,
                                        "RING_OUTER": 200, "ISLANDS": 1, "OUTPUT_FOLDER": out + "/ring"})
runs["refused"] = run("spillmap:weights", {"INPUT": layer, "LAYER_ID": "code", "KIND": 1, "RING_INNER": 0,
                                           "RING_OUTER": 50, "ISLANDS": 2, "OUTPUT_FOLDER": out + "/refused"})
runs["sdid"] = run("spillmap:sdid", {**panel_params, "KIND": 0, "CUTOFF": 300, "OUTPUT_FOLDER": out + "/sdid"})
runs["sweep"] = run("spillmap:sweep", {**panel_params, "BAND": 100, "MAX": 300, "OUTPUT_FOLDER": out + "/sweep"})
runs["effects"] = run("spillmap:effects", {**panel_params, "NAME_FIELD": "name", "CUTOFF": 300, "MAP_COLUMN": 0,
                                           "OUTPUT_FOLDER": out + "/effects"})

# cancel: the command is killed as soon as it has started
context = QgsProcessingContext()
context.setProject(QgsProject.instance())
feedback = Feedback(cancel_on="spillmap ")
start = time.time()
try:
    processing.run("spillmap:sweep", {**panel_params, "BAND": 100, "MAX": 300, "OUTPUT_FOLDER": out + "/cancel"},
                   context=context, feedback=feedback)
    report["cancel"] = "not cancelled"
except QgsProcessingException as exc:
    report["cancel"] = str(exc)
report["cancel_seconds"] = time.time() - start

weights_params = {"INPUT": layer, "LAYER_ID": "code", "KIND": 3, "ISLANDS": 0}
recorded = os.path.join(plugins_dir, "spillmap_processing", "spillmap_command.txt")
os.environ["PATH"] = "/usr/bin:/bin"  # no spillmap on PATH
# the setting wins over the environment variable
os.environ["SPILLMAP_COMMAND"] = "/nonexistent/env/spillmap"
ProcessingConfig.setSettingValue("SPILLMAP_COMMAND", job["python"] + " -m spillmap.cli")  # a command with arguments
runs["setting"] = run("spillmap:weights", {**weights_params, "OUTPUT_FOLDER": out + "/setting"})
# neither set: the command recorded in the zip
ProcessingConfig.setSettingValue("SPILLMAP_COMMAND", "")
del os.environ["SPILLMAP_COMMAND"]
runs["recorded"] = run("spillmap:weights", {**weights_params, "OUTPUT_FOLDER": out + "/recorded"})
# nothing runs: one message
os.environ["SPILLMAP_COMMAND"] = "/nonexistent/env/spillmap"
ProcessingConfig.setSettingValue("SPILLMAP_COMMAND", "/nonexistent/setting/spillmap")
shutil.move(recorded, recorded + ".bak")
with open(recorded, "w") as f:
    f.write("/nonexistent/recorded/spillmap\n")
runs["missing"] = run("spillmap:weights", {**weights_params, "OUTPUT_FOLDER": out + "/missing"})
report["tried"] = [c for c in runner.candidates()]
print(job["mark"] + json.dumps(report), flush=True)
os._exit(0)  # QGIS teardown (exitQgis) can crash after the work is done
'''


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory) -> Path:
    """A small balanced synthetic panel on the shipped layer's units, with each unit's first treated year."""
    import warnings

    from spillmap import gis
    from spillmap.synthetic import synthetic_panel

    layer = gis.read_china_layer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = gis.pilot_years(layer).years
    dist = gis.pairwise_distances(layer, "code", max_km=400)
    panel = synthetic_panel(dist, first, years=range(2011, 2018), controls=1, seed=2)
    panel["first_year"] = panel["code"].map(first).astype("Int64")
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    panel.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory, panel_csv) -> dict:
    env = qgis_env_or_skip(tmp_path_factory.mktemp("xdg"))
    folder = tmp_path_factory.mktemp("qgis_plugin")
    command = shutil.which("spillmap")
    assert command, "the spillmap command of this environment"
    made = subprocess.run([command, "qgis-plugin", "--out", str(folder)], capture_output=True, text=True, check=True)
    zip_path = made.stdout.splitlines()[0]
    from spillmap import gis

    layer = f"{gis.shipped_path('china_prefectures.gpkg')}|layername=prefectures"
    uri = f"file://{panel_csv}?type=csv&delimiter=,&detectTypes=yes&geomType=none"
    return run_probe(PROBE, {"profile": str(folder / "profile"), "zip": zip_path, "layer": layer, "panel_uri": uri,
                             "out": str(folder / "out"), "spillmap": command, "python": sys.executable, "png": str(folder / "effects.png"),
                             "render": "per-city effects"}, folder, env)


def _loaded(run: dict) -> dict[str, dict]:
    return {info["name"]: info for info in run["loaded"]}


def test_installed_from_zip_and_registered(report):
    assert report["plugins_dir"] and report["loaded"] is True
    assert report["metadata"] == {"name": "spillmap", "version": spillmap.__version__, "qgisMinimumVersion": "3.22",
                                  "hasProcessingProvider": "yes"}
    assert report["provider"] == "spillmap"
    assert report["algorithms"] == ALGORITHMS
    assert report["groups"] == [["spillmap", "spillmap"]]


def test_weights_algorithm(report):
    run = report["runs"]["weights"]
    assert "error" not in run, run
    summary = _loaded(run)["weights summary"]
    assert summary["valid"] and summary["features"] == 370
    assert summary["fields"] == ["fid", "code", "name", "nbrs", "island"]
    assert summary["renderer"] == "RuleRenderer" and summary["rules"][0] == "0 (island)"
    assert summary["colors"][0] == "#fd8d3c"  # islands in orange
    assert Path(run["result"]["WEIGHTS"]).read_text().startswith("0 370 units code")
    assert run["result"]["ISLANDS_COUNT"] > 0 and "100 km" in run["result"]["DESCRIPTION"]
    ring = report["runs"]["ring"]
    assert "error" not in ring and "100–200 km ring" in ring["result"]["DESCRIPTION"]
    dropped = int(Path(ring["result"]["WEIGHTS"]).read_text().split()[1])
    assert dropped < 370 and ring["result"]["ISLANDS_COUNT"] == 0  # islands dropped from the weights
    refused = report["runs"]["refused"]["error"]  # spillmap's one error line is the algorithm's message
    assert refused.startswith("error:") and "no neighbour under the 0–50 km ring" in refused
    assert report["runs"]["recorded"]["result"]["DESCRIPTION"].startswith("queen contiguity")


def test_sdid_algorithm(report):
    run = report["runs"]["sdid"]
    assert "error" not in run, run
    table = _loaded(run)["SDM-DID effects"]
    assert table["valid"] and table["features"] == 6  # direct, indirect, total of did and of the control x1
    assert table["fields"][:3] == ["variable", "effect", "estimate"]
    assert isinstance(run["result"]["INDIRECT"], float)
    assert run["result"]["REPORT"].endswith(".html") and Path(run["result"]["REPORT"]).is_file()


def test_sweep_algorithm_loads_styled_bands(report):
    run = report["runs"]["sweep"]
    assert "error" not in run, run
    bands = _loaded(run)
    assert sorted(bands) == ["sweep_0000_0100", "sweep_0100_0200", "sweep_0200_0300"]
    for info in bands.values():
        assert info["valid"] and info["features"] > 300 and "code" in info["fields"]
        assert info["renderer"] == "RuleRenderer" and len(info["rules"]) >= 2
    assert len(run["result"]["BANDS"]) == 3
    png = Path(run["result"]["PLOT"])
    assert png.suffix == ".png" and Image.open(png).size[0] > 200
    assert Path(run["result"]["REPORT"]).read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert "km" in run["result"]["CROSSOVER"]
    assert run["progress_max"] >= 90 and "bands 3/3" in run["progress_texts"]  # from the command's progress bar


def test_effects_algorithm_and_render(report, tmp_path_factory):
    run = report["runs"]["effects"]
    assert "error" not in run, run
    layers = _loaded(run)
    effects = layers["per-city effects"]
    assert effects["valid"] and effects["features"] > 300
    assert {"code", "name", "own", "recv", "emit"} <= set(effects["fields"])
    assert effects["renderer"] == "RuleRenderer" and len(effects["rules"]) >= 3
    assert layers["weights summary"]["renderer"] == "RuleRenderer"
    assert Path(run["result"]["REPORT"]).name == "report.html"
    assert report["png_saved"]
    png = next(Path(p) for p in tmp_path_factory.getbasetemp().glob("qgis_plugin*/effects.png"))
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 10, "the map is blank"
    r, b = pixels[:, 0], pixels[:, 2]
    assert ((r - b) > 60).sum() + ((b - r) > 60).sum() > 500, "no diverging colours drawn"


def test_cancel_kills_the_command(report):
    assert report["cancel"] == "spillmap was cancelled."
    assert report["cancel_seconds"] < 10


def test_command_resolution(report):
    for name in ("setting", "recorded"):
        assert "error" not in report["runs"][name], report["runs"][name]
    commands = {name: next(i for i in report["runs"][name]["infos"] if i.startswith("spillmap "))
                for name in ("setting", "recorded")}
    assert commands["setting"].split(": ", 1)[1].startswith(f"{sys.executable} -m spillmap.cli weights")
    assert commands["recorded"].split(": ", 1)[1].startswith(spillmap_command() + " weights")
    missing = report["runs"]["missing"]["error"]
    assert missing.startswith("spillmap command not found: tried '/nonexistent/setting/spillmap'")
    order = [missing.index(p) for p in ("/nonexistent/setting", "/nonexistent/env", "/nonexistent/recorded",
                                        "'spillmap' (spillmap on PATH)")]
    assert order == sorted(order)
    assert "Processing ▸ Options ▸ Providers ▸ spillmap ▸ spillmap command" in missing
    assert "pip install ." in missing and "spillmap qgis-plugin" in missing and "SPILLMAP_COMMAND" in missing
