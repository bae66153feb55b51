"""Running a probe script in a real QGIS (Debian's python3-qgis under /usr/bin/python3), shared by the QGIS tests.

python3-qgis works only with the system interpreter, so QGIS runs in a
subprocess (``QT_QPA_PLATFORM=offscreen``) that prints one JSON report line
starting with :data:`REPORT_MARK`. Without QGIS the tests skip, except under
``CI=true``, where they fail: CI installs QGIS with :data:`APT_COMMAND`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

QGIS_PYTHON = "/usr/bin/python3"
APT_COMMAND = "apt-get install -y --no-install-recommends python3-qgis qgis-providers"
REPORT_MARK = "SPILLMAP-QGIS-REPORT "
#: QGIS's startup takes ~3 s; generous for a loaded CI machine.
TIMEOUT_S = 300


def qgis_env_or_skip(runtime: Path) -> dict[str, str]:
    """Environment for the QGIS subprocess (``runtime`` becomes XDG_RUNTIME_DIR); skips without QGIS (fails under CI)."""
    runtime.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime))
    reason = None
    if not Path(QGIS_PYTHON).exists():
        reason = f"{QGIS_PYTHON} does not exist"
    else:
        check = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], check=False, env=env, capture_output=True,
                               text=True, timeout=TIMEOUT_S)
        if check.returncode != 0:
            last = (check.stderr.strip().splitlines() or ["no message"])[-1]
            reason = f"{QGIS_PYTHON} cannot import qgis.core ({last})"
    if reason is not None:
        message = f"QGIS is not installed: {reason}. Install it with `{APT_COMMAND}`."
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message + " CI must install it before running the tests.")
        pytest.skip(message)
    return env


#: Put before every probe script: ``render_png(layer, path)`` draws one layer, white background, to a PNG.
PRELUDE = r'''
def render_png(layer, path, size=(480, 360)):
    """Render ``layer`` alone over its extent in its CRS to the PNG ``path``; True when saved."""
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor("white"))
    render = QgsMapRendererSequentialJob(settings)
    render.start()
    render.waitForFinished()
    return render.renderedImage().save(path, "PNG")
'''


def run_probe(script: str, job: dict[str, Any], folder: Path, env: dict[str, str], *,
              name: str = "probe") -> dict[str, Any]:
    """Run ``script`` in QGIS's Python with ``job`` (JSON, its path in ``sys.argv[1]``); return its report.

    The script prints ``job["mark"] + json.dumps(report)``; ``mark`` is added to ``job`` here.
    A failed run or a missing report fails the test with the tail of QGIS's output.
    """
    path, job_path = folder / f"{name}.py", folder / f"{name}.json"
    head, sep, body = script.partition("\nimport ")  # after the probe's docstring/first lines, before its imports
    path.write_text(head + PRELUDE + sep + body if sep else PRELUDE + script, encoding="utf-8")
    job_path.write_text(json.dumps({**job, "mark": REPORT_MARK}), encoding="utf-8")
    run = subprocess.run([QGIS_PYTHON, str(path), str(job_path)], check=False, env=env, capture_output=True,
                         text=True, timeout=TIMEOUT_S)
    lines = [line for line in run.stdout.splitlines() if line.startswith(REPORT_MARK)]
    if run.returncode != 0 or not lines:
        pytest.fail(f"QGIS probe {name} failed (exit {run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}")
    return json.loads(lines[-1][len(REPORT_MARK):])
