"""The sweep's caches are verified: a changed, foreign or damaged file is reported and recomputed, never used.

Cases, each on the China panel with 4 rings of 100 km and the result compared with a run without cache:
a band file with one number changed (name kept); a band file whose draws were scaled and whose checksum
was recomputed (caught by the row/draws check); a band file renamed to another band; a truncated band
file; an eigenvalue file scaled by 1.01 (checksum) and scaled with its checksum recomputed (caught by the
traces tr W, tr W²); a truncated eigenvalue file. Each gives one CacheWarning naming the file, the result
equals the fresh run, the file is replaced (the next run reads it without a warning), and no file is ever
unpickled (``allow_pickle=False`` everywhere: an object array in a cache file is reported, not loaded).
The CLI prints the warning as one ``warning:`` line naming the file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.errors import CacheWarning
from spillmap.models import distance_bands, distance_sweep

from .models.sweep_data import china_setup, siphon_panel

KW = dict(id_col="code", time_col="year", controls=["x1", "x2"], bands=distance_bands(100, 400), draws=200,
          method="separate", workers=0)


@pytest.fixture(scope="module")
def panel():
    return siphon_panel(seed=11)


@pytest.fixture(scope="module")
def fresh(panel):
    """The sweep without any cache, per seed."""
    dist, _ = china_setup()
    return {seed: distance_sweep(panel, "y", dist, seed=seed, **KW).table for seed in (2, 3)}


def _sweep(panel, folder: Path, seed: int = 2, *, new_process: bool = False):
    """(result, CacheWarning messages) of a sweep cached in ``folder``."""
    if new_process:  # the eigenvalues can then only come from the cache folder
        from spillmap.models.panel._weights import _PREPARED

        _PREPARED.clear()
    dist, _ = china_setup()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = distance_sweep(panel, "y", dist, seed=seed, cache_dir=folder, **KW)
    return result, [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]


def _rewrite(path: Path, **changes) -> None:
    with np.load(path, allow_pickle=False) as z:
        items = {k: z[k] for k in z.files}
    items.update(changes)
    with open(path, "wb") as fh:
        np.savez(fh, **items)


def _checksum(meta: str, *arrays: np.ndarray) -> str:
    """What a forger who read the source would write (sha256 of metadata text and arrays)."""
    from spillmap.models.spatial_did._sweep import _digest

    return _digest(meta, *arrays)


@pytest.fixture
def cached(panel, tmp_path):
    """A cache folder filled by one sweep (seed 2), and its band files by label."""
    result, notes = _sweep(panel, tmp_path)
    assert result.cached_bands == 0 and not notes
    bands = {p.name.split("_")[2]: p for p in tmp_path.glob("band_*.npz")}
    assert sorted(bands) == ["0-100", "100-200", "200-300", "300-400"]
    assert len(list(tmp_path.glob("eig_*.npz"))) == 4 and not list(tmp_path.glob("*.npy"))
    return tmp_path, bands


def _check_recovered(panel, folder: Path, fresh_table: pd.DataFrame, damaged: Path, *, seed: int = 2,
                     cached_bands: int, reason: str, new_process: bool = False) -> None:
    result, notes = _sweep(panel, folder, seed, new_process=new_process)
    assert len(notes) == 1, notes
    assert f"'{damaged}'" in notes[0] and reason in notes[0] and "\n" not in notes[0], notes[0]
    assert result.cached_bands == cached_bands
    pd.testing.assert_frame_equal(result.table, fresh_table, rtol=1e-10)
    again, notes = _sweep(panel, folder, seed, new_process=new_process)  # the file was replaced
    assert not notes and again.cached_bands == 4
    pd.testing.assert_frame_equal(again.table, fresh_table, rtol=1e-10)


def test_forged_band_number(panel, fresh, cached):
    folder, bands = cached
    path = bands["200-300"]
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    meta["row"]["indirect_estimate"] = -meta["row"]["indirect_estimate"]  # a siphon where there is none
    _rewrite(path, meta=np.array(json.dumps(meta)))
    _check_recovered(panel, folder, fresh[2], path, cached_bands=3, reason="checksum mismatch")


def test_forged_band_draws_with_recomputed_checksum(panel, fresh, cached):
    folder, bands = cached
    path = bands["100-200"]
    with np.load(path, allow_pickle=False) as z:
        meta, draws, nb = str(z["meta"]), z["draws"] * 0.5, z["neighbours"]
    _rewrite(path, draws=draws, sha256=np.array(_checksum(meta, draws, nb)))  # intervals half as wide
    _check_recovered(panel, folder, fresh[2], path, cached_bands=3, reason="do not match its draws")


def test_band_file_renamed_to_another_band(panel, fresh, cached):
    folder, bands = cached
    target = bands["300-400"]
    target.unlink()
    bands["200-300"].rename(target)  # 200-300's file under 300-400's name; 200-300 itself is missing
    _check_recovered(panel, folder, fresh[2], target, cached_bands=2, reason="holds band")


def test_truncated_band_file(panel, fresh, cached):
    folder, bands = cached
    path = bands["0-100"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _check_recovered(panel, folder, fresh[2], path, cached_bands=3, reason="cannot be read")


def test_object_array_is_not_unpickled(panel, fresh, cached):
    folder, bands = cached
    path = bands["0-100"]
    with np.load(path, allow_pickle=False) as z:
        items = {k: z[k] for k in z.files}
    items["draws"] = np.array([object()] * 3, dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, **items)
    _check_recovered(panel, folder, fresh[2], path, cached_bands=3, reason="cannot be read")


@pytest.mark.parametrize("forge", ["scaled", "scaled_with_checksum", "truncated"])
def test_eigenvalue_file(panel, fresh, cached, forge):
    folder, _ = cached
    path = sorted(folder.glob("eig_*.npz"))[1]
    if forge == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[:200])
        reason = "cannot be read"
    else:
        with np.load(path, allow_pickle=False) as z:
            meta, values = str(z["meta"]), z["values"] * 1.01
        sha = _checksum(meta, values) if forge == "scaled_with_checksum" else None
        _rewrite(path, values=values, **({"sha256": np.array(sha)} if sha else {}))
        reason = "do not fit the weights" if sha else "checksum mismatch"
    # another seed is another sweep (no band file applies), but the same bands' eigenvalues
    _check_recovered(panel, folder, fresh[3], path, seed=3, cached_bands=0, reason=reason, new_process=True)


def test_cli_reports_the_forged_file(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--out", str(out), "--band", "100", "--max", "300", "--effects", "100", "--workers", "0",
            "--method", "separate", "--json"]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    path = next((out / ".sweep-cache").glob("band_ring_100-200_*.npz"))
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    meta["row"]["indirect_estimate"] += 1.0
    _rewrite(path, meta=np.array(json.dumps(meta)))
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    lines = [line for line in second.output.splitlines() if line.startswith("warning:") and "cache" in line]
    assert len(lines) == 1 and str(path) in " ".join(second.output.split()) and "checksum" in lines[0], second.output
    assert json.loads(second.stdout)["cached_bands"] == 2
    assert json.loads(second.stdout)["bands"] == json.loads(first.stdout)["bands"]
