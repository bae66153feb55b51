"""Bad output folders through every command that writes: one ``error:`` line, ``--out`` and inputs untouched.

Conditions (issue 12): ``--out`` is a file (folder outputs) or a folder (file outputs); a file stands where
a parent folder should be; the folder holds files spillmap did not write (folder outputs: it would be
replaced whole); no permission; a read-only file system; a full disk (at the start, and for ``did`` in the
middle of writing). Tests run as root, so the last three are simulated inside the runner: ``os.access``
answers "no" for the test's folder, or creating the output's temporary file / staging folder raises
``EROFS`` / ``ENOSPC``. A missing parent folder is no error: it is created (and removed again when the run
fails). Judged by :func:`tests.bad_inputs.run_bad`.
"""

from __future__ import annotations

import errno
import os
import tempfile
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap import _files
from spillmap.cli import app

from .bad_inputs import run_bad

FOLDER_COMMANDS = ("fit", "did", "sdid", "sweep", "run", "demo")
FILE_COMMANDS = ("weights", "index", "zonal")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Small input files for the commands that need them (fit, weights, index, zonal, run)."""
    import geopandas as gpd
    import rasterio
    import shapely
    from rasterio.transform import from_origin

    folder = tmp_path_factory.mktemp("out_inputs")
    rng = np.random.default_rng(0)
    units = [f"u{i}" for i in range(6)]
    panel = pd.DataFrame([(u, t) for u in units for t in range(2010, 2016)], columns=["unit", "year"])
    panel["x"] = rng.normal(size=len(panel))
    panel["y"] = panel["x"] + rng.normal(size=len(panel))
    panel["a"], panel["b"] = rng.uniform(1, 2, len(panel)), rng.uniform(1, 2, len(panel))
    panel.to_csv(folder / "panel.csv", index=False)
    ring = np.zeros((6, 6))
    for i in range(6):
        ring[i, (i + 1) % 6] = ring[i, (i - 1) % 6] = 1
    pd.DataFrame(ring, columns=units).to_csv(folder / "w.csv", index=False)
    boxes = [shapely.box(500_000 + 20 * i, 3_000_000, 500_015 + 20 * i, 3_000_015) for i in range(3)]
    gpd.GeoDataFrame({"uid": ["a", "b", "c"]}, geometry=boxes, crs="EPSG:32650").to_file(folder / "units.gpkg")
    with rasterio.open(folder / "ntl_2015.tif", "w", driver="GTiff", width=8, height=4, count=1, dtype="float64",
                       crs="EPSG:32650", transform=from_origin(500_000, 3_000_020, 10, 10)) as dst:
        dst.write(np.arange(32, dtype=float).reshape(4, 8), 1)
    (folder / "run.toml").write_text("[models]\nplacebo = 0\n", encoding="utf-8")
    return folder


def _args(command: str, out: Path, files: Path) -> list[str]:
    """The cheapest valid call of ``command`` writing to ``out``."""
    return {
        "fit": ["fit", str(files / "panel.csv"), "--weights", str(files / "w.csv"), "--formula", "y ~ x",
                "--id", "unit", "--time", "year", "--model", "sar", "--effects", "0"],
        "did": ["did", "--placebo", "0", "--no-robust"],
        "sdid": ["sdid", "--effects", "50", "--no-event-study"],
        "sweep": ["sweep", "--max", "100", "--effects", "50", "--workers", "0", "--no-cache"],
        "run": ["run", str(files / "run.toml")],
        "demo": ["demo", "--placebo", "0"],
        "weights": ["weights", "--layer", str(files / "units.gpkg"), "--id", "uid", "--kind", "knn", "--k", "1"],
        "index": ["index", str(files / "panel.csv"), "--positive", "a", "--negative", "b", "--id", "unit"],
        "zonal": ["zonal", "--layer", str(files / "units.gpkg"), "--id", "uid", "--raster",
                  str(files / "ntl_2015.tif")],
    }[command] + ["--out", str(out)]


def _file_name(command: str) -> str:
    return {"weights": "w.npz", "index": "panel_index.csv", "zonal": "zonal.csv"}[command]


def _deny_writes(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """``os.access`` says "not writable" for ``root`` and below (as for a folder of another user)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        where = Path(os.path.abspath(path))
        if mode & os.W_OK and (where == root or root in where.parents):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def _fail_creating(monkeypatch: pytest.MonkeyPatch, code: int, *, folders: bool = True) -> None:
    """Creating an output's temporary file (and, with ``folders``, a staging folder) fails with ``code``."""
    def fail(*args, dir=None, **kwargs):
        raise OSError(code, os.strerror(code), str(Path(dir or ".") / "tmp"))

    monkeypatch.setattr(_files, "tempfile", types.SimpleNamespace(
        mkstemp=fail, mkdtemp=fail if folders else tempfile.mkdtemp))


# ------------------------------------------------------------------------ commands writing a folder


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_out_is_a_file(command, inputs, tmp_path):
    out = tmp_path / "results"
    out.write_text("my results, not a folder")
    run_bad(_args(command, out, inputs), expect=[f"'{out}' is a file, not a folder", "--out"], out=out,
            inputs=[inputs])


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_file_where_the_parent_should_be(command, inputs, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "out"
    run_bad(_args(command, out, inputs), expect=["Cannot create the output folder", f"'{blocker}' is a file",
                                                   "--out"], out=out, inputs=[inputs, blocker])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_out_holds_files_spillmap_did_not_write(command, inputs, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_bytes(b"my work")
    (out / "figures").mkdir()
    (out / "figures" / "map.png").write_bytes(b"png")
    run_bad(_args(command, out, inputs), expect=[f"'{out}' holds 2 item(s) spillmap did not write",
                                                   "chapter1.docx", "figures/", "--out"], out=out, inputs=[inputs])


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_no_permission(command, inputs, tmp_path, monkeypatch):
    out = tmp_path / "shared" / "out"
    out.parent.mkdir()
    _deny_writes(monkeypatch, tmp_path / "shared")
    run_bad(_args(command, out, inputs), expect=["permission denied", str(out), "--out"], out=out, inputs=[inputs])


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, "read-only file system"),
                                              (errno.ENOSPC, "is full (no space left on device)")],
                         ids=["read-only", "disk-full"])
def test_read_only_or_full_disk(command, code, words, inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _fail_creating(monkeypatch, code)
    run_bad(_args(command, out, inputs), expect=[words, str(out), "--out"], out=out, inputs=[inputs])


def test_disk_full_while_writing_leaves_the_earlier_result(inputs, tmp_path, monkeypatch):
    """The staging folder is made, the models run, the first table cannot be written: nothing changes."""
    out = tmp_path / "did"
    first = CliRunner().invoke(app, _args("did", out, inputs))
    assert first.exit_code == 0, first.output
    _fail_creating(monkeypatch, errno.ENOSPC, folders=False)
    run_bad(_args("did", out, inputs), expect=[f"The disk holding '{out}' is full", "--out"], out=out,
            inputs=[inputs])


def test_current_folder(inputs, tmp_path, monkeypatch):
    here = tmp_path / "project"
    here.mkdir()
    monkeypatch.chdir(here)
    run_bad([*_args("did", Path("."), inputs)], expect=["'.' is the current folder", "--out out"], out=here,
            inputs=[inputs])


def test_missing_parents_are_created(inputs, tmp_path):
    out = tmp_path / "not" / "yet" / "there"
    result = CliRunner().invoke(app, _args("fit", out, inputs))
    assert result.exit_code == 0, result.output
    assert {"coefficients.csv", "coefficients.tex", ".spillmap-result"} <= {p.name for p in out.iterdir()}


# ------------------------------------------------------------------------ commands writing a file


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_out_is_a_folder(command, inputs, tmp_path):
    out = tmp_path / _file_name(command)
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    run_bad(_args(command, out, inputs), expect=[f"'{out}' is a folder, not a file", "--out"], out=out,
            inputs=[inputs])


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_file_output_behind_a_file(command, inputs, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file")
    out = blocker / _file_name(command)
    # every command creates a missing folder, but not through a file
    expect = [f"'{blocker}' is a file", "--out"]
    run_bad(_args(command, out, inputs), expect=expect, out=out, inputs=[inputs, blocker])


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_file_output_no_permission(command, inputs, tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    out = folder / _file_name(command)
    _deny_writes(monkeypatch, folder)
    run_bad(_args(command, out, inputs), expect=["permission denied", str(folder), "--out"], out=out,
            inputs=[inputs])
    assert not list(folder.iterdir())


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, "read-only file system"),
                                              (errno.ENOSPC, "is full (no space left on device)")],
                         ids=["read-only", "disk-full"])
def test_file_output_read_only_or_full_disk(command, code, words, inputs, tmp_path, monkeypatch):
    out = tmp_path / "outputs" / _file_name(command)
    out.parent.mkdir()
    out.write_bytes(b"an earlier output")
    _fail_creating(monkeypatch, code)
    run_bad(_args(command, out, inputs), expect=[words, str(out.parent), "--out"], out=out, inputs=[inputs])
    assert [p.name for p in out.parent.iterdir()] == [out.name]


@pytest.mark.parametrize("command", ("weights", "index"))
def test_file_output_missing_folder_created(command, inputs, tmp_path):
    out = tmp_path / "new" / "folder" / _file_name(command)
    result = CliRunner().invoke(app, _args(command, out, inputs))
    assert result.exit_code == 0, result.output
    assert out.is_file()
