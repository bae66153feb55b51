"""The package's layout: no import circle, and data moves one way through the rooms.

Cases: the import graph of every module in the package (module-level and
lazy imports inside functions alike, read from the source) has no cycle;
a module imports only from rooms to its left in the flow
base (errors, atomic files, JSON, lazy exports) → gis → weights → models (shared helpers →
panel → did → spatial_did) → the spillmap glue (run, policy, sweep, maps,
report, cli), with one stated exception; ``models/`` keeps a handful of
files at its top level; the public names of ``spillmap.models`` stay those
the README documents.
"""

from __future__ import annotations

import ast
from pathlib import Path

import spillmap.models

REPO = Path(__file__).resolve().parents[1]
#: Folder → package it is installed as (pyproject.toml package-dir).
ROOMS = {"spillmap": "spillmap", "gis": "spillmap.gis", "weights": "spillmap.weights", "models": "spillmap.models",
         "shapefiles": "spillmap.shapefiles"}
#: Position in the flow; a module may import from its own position or lower ones.
BASE = ("spillmap.errors", "spillmap._files", "spillmap._json", "spillmap._lazy", "spillmap")
ORDER = [
    (BASE, 0),
    (("spillmap.shapefiles",), 0),
    (("spillmap.gis",), 1),
    (("spillmap.weights",), 2),
    (("spillmap.models._threads", "spillmap.models._dask", "spillmap.models._plots", "spillmap.models._format"), 3),
    (("spillmap.models.panel",), 4),
    (("spillmap.models.did",), 5),
    (("spillmap.models.spatial_did",), 6),
    (("spillmap.models",), 7),  # the package's re-exports
    (("spillmap.",), 8),  # the glue: config, policy, sweep, run, maps, report, cli, …
]
#: Imports that go against the flow on purpose, with the reason.
ALLOWED_BACKWARD = {
    ("spillmap.models.did._placebo", "spillmap.models.spatial_did._sdid"):
        "placebo_test(model='sdm') builds the SDM-DID placebo task, lazily, so one call covers both models",
}


def _modules() -> dict[str, Path]:
    mods = {}
    for folder, package in ROOMS.items():
        for path in (REPO / folder).rglob("*.py"):
            if "qgis_plugin_src" in path.parts:
                continue  # the QGIS plugin's source: package data run by QGIS's Python, not a spillmap module
            parts = [p for p in path.relative_to(REPO / folder).with_suffix("").parts if p != "__init__"]
            mods[".".join([package, *parts])] = path
    return mods


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parent = base.split(".")[: len(base.split(".")) - (node.level - 1)]
                    module = ".".join(parent + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [module] + [f"{module}.{a.name}" for a in node.names]
            else:
                continue
            edges[name] |= {t for t in targets if t in mods and t != name}
    return edges


def _position(module: str) -> int:
    """First place in ORDER whose name is ``module``, or a package that holds it (``x.`` matches any child)."""
    for prefixes, rank in ORDER:
        for p in prefixes:
            if module == p or (p.endswith(".") and module.startswith(p)):
                return rank
            if p not in BASE and module.startswith(p + "."):
                return rank
    raise AssertionError(f"{module} has no place in the flow: add it to ORDER")


def test_no_import_circle():
    edges = _edges(_modules())
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges[u]):
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import circles: " + "; ".join(" → ".join(c) for c in cycles)


def test_positions():
    assert _position("spillmap.errors") == 0 and _position("spillmap.gis._io") == 1
    assert _position("spillmap.models.panel._ml") == 4 and _position("spillmap.models.spatial_did._sweep") == 6
    assert _position("spillmap.cli") == 8 and _position("spillmap.models") == 7


def test_imports_follow_the_flow():
    edges = _edges(_modules())
    backward = sorted(
        (a, b) for a, targets in edges.items() for b in targets
        if b != "spillmap" and _position(b) > _position(a) and (a, b) not in ALLOWED_BACKWARD
    )
    assert not backward, f"imports against the flow (module → what it imports): {backward}"


def test_models_top_level_is_small():
    top = sorted(p.name for p in (REPO / "models").glob("*.py"))
    assert top == ["__init__.py", "_dask.py", "_format.py", "_plots.py", "_threads.py"], top
    rooms = sorted(p.name for p in (REPO / "models").iterdir() if (p / "__init__.py").exists())
    assert rooms == ["did", "panel", "spatial_did"]
    for room in rooms:
        doc = ast.get_docstring(ast.parse((REPO / "models" / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.split(".")[0]) < 300, room  # says what lives there


def test_public_models_api_unchanged():
    assert sorted(spillmap.models.__all__) == sorted([
        "fit_spatial_panel", "assign_treatment", "TreatmentPanel", "TreatmentReport", "fit_did", "DIDResult",
        "event_study", "EventStudyResult", "compare_estimators", "EstimatorComparison", "placebo_test",
        "PlaceboResult", "fit_sdm_did", "SDMDiDResult", "spatial_event_study", "SpatialEventStudyResult",
        "bacon_decomposition", "BaconResult", "heterogeneity", "baseline_groups", "HeterogeneityResult",
        "DifferenceTest", "mediation", "MediationResult", "moderation", "ModerationResult", "entropy_index",
        "distance_sweep", "distance_bands", "Band", "SweepResult", "crossover", "Crossover", "EntropyIndexResult",
        "psm_did", "PSMDIDResult",
        "prepare_weights", "panel_lm_tests", "PreparedWeights", "SpatialPanelResult", "EffectsResult",
        "unit_effects", "UnitEffectsResult", "UnitEffectsSummary", "Summary", "TestResult", "PanelData",
        "panel_arrays", "parse_formula", "FixedEffects", "Model",
    ])
    assert all(hasattr(spillmap.models, name) for name in spillmap.models.__all__)
