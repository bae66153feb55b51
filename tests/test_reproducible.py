"""Same seed, same bytes: a reduced synthetic run done twice in different ways gives identical outputs.

Cases: run A in one process (``workers = 0``, ``PYTHONHASHSEED=1``, one
OpenBLAS thread); run B with two Dask threads, ``PYTHONHASHSEED=2``, the
default BLAS threads, and a sweep that resumes from the band cache of an
earlier, shorter run in the same folder (as after an interruption). The
sweep runs band by band (``method = "separate"``): the threaded, cached path
where contexts can differ; the default exposure DID is one in-process fit. Every
output file is compared byte for byte, with these stated exceptions:

* ``report.html`` and ``manifest.json`` carry the run date (and the manifest
  the report's hash);
* ``spillmap.gpkg`` and ``layer``-type GeoPackages store file timestamps, so
  their content is compared instead: every layer's attributes and geometry,
  ``gpkg_contents`` (without ``last_change``) and ``layer_styles`` (without
  ``update_time``);
* a Shapefile ``.dbf`` stores the write date in header bytes 1–3, which are
  left out;
* ``.sweep-cache/`` is the resume cache, not an output.

Afterwards the process-wide BLAS limit is where it was (checked in
tests/models/test_dask.py and test_sweep.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

CONFIG = """
[models]
{models}
placebo = 20
effects_draws = 200
bootstrap = 50
groups = ["region"]
mediators = ["x1"]

[sweep]
band_km = 100.0
max_km = {max_km}
method = "separate"

[output]
seed = 3
workers = {workers}
"""
#: Compared by content, not bytes (see the module docstring).
BY_CONTENT = {".gpkg", ".dbf"}
NOT_COMPARED = {"report.html", "manifest.json"}


def _run(folder: Path, out: Path, *, workers: int, max_km: float, env: dict[str, str], models: str = "") -> None:
    cfg = folder / f"run_{workers}_{int(max_km)}.toml"
    cfg.write_text(CONFIG.format(workers=workers, max_km=max_km, models=models), encoding="utf-8")
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "OPENBLAS_NUM_THREADS")}
    full_env.update(env)
    done = subprocess.run([sys.executable, "-m", "spillmap.cli", "run", str(cfg), "--out", str(out)],
                          env=full_env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("reproducible")
    a, b = folder / "A", folder / "B"
    _run(folder, a, workers=0, max_km=400.0, env={"PYTHONHASHSEED": "1", "OPENBLAS_NUM_THREADS": "1"})
    # B: first a shorter sweep without the models (as if interrupted after two bands) …
    _run(folder, b, workers=2, max_km=200.0, env={"PYTHONHASHSEED": "7"}, models="did = false\nsdid = false")
    cached = {p.name: p.stat().st_mtime_ns for p in (b / ".sweep-cache").glob("band_*.npz")}
    # … then the full run in the same folder, which reads those two bands from the cache
    _run(folder, b, workers=2, max_km=400.0, env={"PYTHONHASHSEED": "2"})
    return a, b, cached


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and ".sweep-cache" not in p.parts)


def _gpkg_content(path: Path) -> dict[str, object]:
    content: dict[str, object] = {}
    for name, _ in pyogrio.list_layers(path):
        if name == "layer_styles":
            continue
        frame = pyogrio.read_dataframe(path, layer=name)
        content[name] = frame.to_wkb() if hasattr(frame, "to_wkb") else frame
    with contextlib.closing(sqlite3.connect(path)) as db:
        content["gpkg_contents"] = db.execute(
            "SELECT table_name, data_type, identifier, description, srs_id FROM gpkg_contents ORDER BY table_name"
        ).fetchall()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "layer_styles" in tables:
            content["layer_styles"] = db.execute(
                "SELECT f_table_name, styleName, styleQML, styleSLD, useAsDefault, description FROM layer_styles "
                "ORDER BY f_table_name, styleName"
            ).fetchall()
    return content


def _same(a: Path, b: Path) -> bool:
    if a.suffix == ".gpkg":
        ca, cb = _gpkg_content(a), _gpkg_content(b)
        if ca.keys() != cb.keys():
            return False
        for key in ca:
            if isinstance(ca[key], pd.DataFrame):
                try:
                    pd.testing.assert_frame_equal(ca[key], cb[key], check_exact=True)
                except AssertionError:
                    return False
            elif ca[key] != cb[key]:
                return False
        return True
    da, db = a.read_bytes(), b.read_bytes()
    if a.suffix == ".dbf":  # header bytes 1–3: date of last update
        return da[:1] + da[4:] == db[:1] + db[4:]
    return da == db


def test_same_seed_same_bytes(two_runs):
    a, b, _ = two_runs
    files = _files(a)
    assert files == _files(b)
    assert {"did/robust_att.csv", "sweep/sweep.csv", "sweep/sweep.parquet", "sweep/sweep_summary.json",
            "sweep/sweep.svg", "effects.geojson", "spillmap.gpkg", "spillmap.qgz", "shapefile/effects.dbf"} <= set(files)
    different = [f for f in files if Path(f).name not in NOT_COMPARED and not _same(a / f, b / f)]
    assert not different, f"outputs differ between the two runs: {different}"


def test_the_resumed_run_read_the_cache(two_runs):
    _, b, cached = two_runs
    assert len(cached) == 2  # 0–100 and 100–200 km from the short run …
    after = {p.name: p.stat().st_mtime_ns for p in (b / ".sweep-cache").glob("band_*.npz")}
    assert len(after) == 4 and all(after[name] == mtime for name, mtime in cached.items())  # … read, not refitted
