"""Packaging.

Cases: environment.yml names the same runtime dependencies as pyproject.toml;
the rooms are importable only as spillmap.gis/.weights/.models (no bare
`gis`, `weights`, `models` module, checked from outside the repository);
`import spillmap.cli` does not import geopandas, libpysal or spreg (so
`spillmap --help` stays fast); the shipped data are installed with the package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"matplotlib-base": "matplotlib", "dask-core": "dask"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["test"]}
    conda = set()
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        # conda packages ("  - name"), and pip-only ones under "  - pip:" ("      - name"; not "-e .")
        item = re.match(r"^  - ([A-Za-z0-9_.-]+)", line) or re.match(r"^      - ([A-Za-z][A-Za-z0-9_.-]*)", line)
        if in_deps and item:
            conda.add(CONDA_NAMES.get(item.group(1).lower(), item.group(1).lower()))
    assert wanted <= conda, f"environment.yml lacks {sorted(wanted - conda)}"
    assert conda - wanted <= {"python", "pip"}, f"environment.yml has extra {sorted(conda - wanted - {'python', 'pip'})}"


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("bare", ["gis", "weights", "models"])
def test_no_bare_top_level_modules(bare, tmp_path):
    result = _run(f"import importlib.util, sys; sys.exit(importlib.util.find_spec({bare!r}) is not None)", tmp_path)
    assert result.returncode == 0, f"a bare '{bare}' module is importable"
    result = _run(f"import spillmap.{bare}", tmp_path)
    assert result.returncode == 0, result.stderr


def test_cli_import_is_light(tmp_path):
    code = "import sys, spillmap.cli; print(sorted(m for m in ('geopandas', 'libpysal', 'spreg', 'pyproj', 'matplotlib') if m in sys.modules))"
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_shipped_data_installed(tmp_path):
    code = "from spillmap.gis import shipped_path; print(shipped_path('china_prefectures.gpkg').stat().st_size, shipped_path('broadband_china_pilots.csv').exists())"
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    size, csv = result.stdout.split()
    assert int(size) > 100_000 and csv == "True"
