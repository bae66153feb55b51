"""A run is published whole or not at all (issue 12, point 2).

In-process: :func:`spillmap._files.staged_output` publishes a staged folder in one step (swap, or the
rename fallback), carries the sweep cache, refuses folders holding files spillmap did not write, leaves
``--out`` as it was after a failure, and repairs what killed runs left.

Fault tests: a real ``spillmap did`` / ``spillmap sweep`` in a subprocess is SIGKILLed at points of the
publishing sequence (``_files._step`` replaced inside the subprocess) and once at a moment during the
models; ``--out`` must then be the complete earlier result or the complete new one, never a mix, and the
next run cleans up (with a warning) and publishes.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spillmap import _files
from spillmap._files import CACHE, MARKER, staged_output
from spillmap.cli import app
from spillmap.errors import OutputFolderError, OutputRepairWarning


def _write(stage: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _publish(out: Path, files: dict[str, str]) -> None:
    with staged_output(out) as stage:
        _write(stage, files)


def _tree(folder: Path) -> dict[str, bytes] | None:
    """Relative path → bytes of every file under ``folder``; None when it does not exist."""
    if not folder.exists():
        return None
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(".spillmap-*"))


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _entry(out: Path, kind: str, pid: int, token: str = "abcd1234") -> Path:
    """A staging (or set-aside) folder beside ``out`` as run ``pid`` names it."""
    return out.parent / f".spillmap-{kind}-{out.name[:60]}-{_files._digest(out.name)}-{pid}-{token}"


# ------------------------------------------------------------------------------------------ in-process


def test_new_folder_published_whole_with_its_marker(tmp_path):
    out = tmp_path / "missing" / "parent" / "out"
    _publish(out, {"a.csv": "1", "sub/b.csv": "2"})
    tree = _tree(out)
    assert set(tree) == {"a.csv", "sub/b.csv", MARKER}
    assert b'"sub/b.csv"' in tree[MARKER] and not _leftovers(out)


@pytest.mark.parametrize("exchange", [True, False], ids=["swap", "rename-fallback"])
def test_rerun_replaces_the_result_whole_and_carries_the_cache(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(_files, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _publish(out, {"old.csv": "old", "sub/x.csv": "old"})
    _write(out / CACHE, {"band_1.npz": "fit"})
    _publish(out, {"new.csv": "new"})
    assert set(_tree(out)) == {"new.csv", MARKER, f"{CACHE}/band_1.npz"}
    assert not _leftovers(out)


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, {"x": "a"})
    _write(b, {"y": "b"})
    if not _files._exchange(a, b):
        pytest.skip("no atomic folder swap on this system")
    assert (a / "y").exists() and (b / "x").exists() and not (a / "x").exists()


def test_failure_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1"})
    before = _tree(out)
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        _write(stage, {"b.csv": "2"})
        raise RuntimeError("a model failed")
    assert _tree(out) == before and not _leftovers(out)

    fresh = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(RuntimeError), staged_output(fresh):
        (fresh / CACHE).mkdir(parents=True)  # the sweep creates its cache before any band finished
        raise RuntimeError("no band could be fitted")
    assert not (tmp_path / "new").exists()  # neither --out nor the parents it needed stay behind

    with pytest.raises(RuntimeError), staged_output(fresh):
        _write(fresh / CACHE, {"band_1.npz": "fit"})
        raise RuntimeError("killed after one band")
    assert set(_tree(fresh)) == {f"{CACHE}/band_1.npz"}  # finished bands stay for resuming


def test_refuses_a_folder_holding_other_files(tmp_path):
    out = tmp_path / "mine"
    _write(out, {"notes.txt": "my notes", "data/raw.csv": "1"})
    before = _tree(out)
    with pytest.raises(OutputFolderError, match=r"holds 2 item\(s\) spillmap did not write \(data/, notes.txt\)"):
        _publish(out, {"a.csv": "1"})
    assert _tree(out) == before and not _leftovers(out)

    result = tmp_path / "result"
    _publish(result, {"a.csv": "1"})
    _write(result, {"added by hand.txt": "keep me"})
    with pytest.raises(OutputFolderError, match=r"added by hand.txt.*--out"):
        _publish(result, {"b.csv": "2"})
    assert (result / "added by hand.txt").exists() and (result / "a.csv").exists()


def test_results_nest_as_the_readme_commands_do(tmp_path):
    """`spillmap demo --out out/` then `spillmap sweep` (default out/sweep) then the demo again: a sub-folder of
    a result is spillmap's, a result inside a result is spillmap's; a file added by hand still blocks both."""
    out = tmp_path / "out"
    _publish(out, {"report.html": "1", "sweep/sweep.csv": "2", "did/did.csv": "3"})
    _publish(out / "sweep", {"sweep.csv": "4", "pilots_unmatched.csv": "5"})  # replaces the demo's sweep/
    assert set(_tree(out / "sweep")) == {"sweep.csv", "pilots_unmatched.csv", MARKER}
    _publish(out, {"report.html": "6", "sweep/sweep.csv": "7"})  # the demo again, over the nested result
    assert set(_tree(out)) == {"report.html", "sweep/sweep.csv", MARKER}
    _write(out, {"sweep/mine.txt": "keep me"})
    with pytest.raises(OutputFolderError, match=r"sweep/mine.txt"):
        _publish(out, {"report.html": "8"})
    with pytest.raises(OutputFolderError, match=r"mine.txt"):
        _publish(out / "sweep", {"sweep.csv": "9"})
    assert (out / "sweep" / "mine.txt").read_text() == "keep me"


def test_refuses_the_current_folder_a_file_and_a_file_in_the_way(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(OutputFolderError, match=r"'\.' is the current folder .* --out out"):
        _publish(Path("."), {"a.csv": "1"})
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OutputFolderError, match="is a file, not a folder; choose a folder with --out"):
        _publish(blocker, {"a.csv": "1"})
    with pytest.raises(OutputFolderError, match=r"Cannot create the output folder .*file.txt' is a file"):
        _publish(blocker / "sub" / "out", {"a.csv": "1"})
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "here"]


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "is full (no space left on device)"),
    (errno.EROFS, "read-only file system"),
    (errno.EACCES, "permission denied"),
])
def test_disk_conditions_named(tmp_path, code, words):
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1"})
    before = _tree(out)
    with pytest.raises(OutputFolderError) as caught, staged_output(out) as stage:
        raise OSError(code, os.strerror(code), str(stage / "b.csv"))
    message = str(caught.value)
    assert words in message and f"'{out}'" in message and "--out" in message and ".spillmap-staging" not in message
    assert _tree(out) == before and not _leftovers(out)


def test_dead_runs_leftovers_removed_with_a_warning(tmp_path):
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1"})
    dead, alive = _entry(out, "staging", _dead_pid()), _entry(out, "staging", os.getppid())
    for folder in (dead, alive):
        _write(folder, {"half.csv": "x" * 2000})
    legacy = out / ".spillmap-staging-k3j_9x2a"  # spillmap before this change staged inside --out
    _write(legacy, {"half.csv": "x"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _publish(out, {"b.csv": "2"})
    notes = [str(w.message) for w in caught if issubclass(w.category, OutputRepairWarning)]
    assert len(notes) == 2 and all("removed" in n for n in notes) and any("(2 kB)" in n for n in notes)
    assert not dead.exists() and not legacy.exists() and alive.exists()  # a live run's staging is not touched
    assert set(_tree(out)) == {"b.csv", MARKER}


@pytest.mark.parametrize("complete", [True, False], ids=["finish-new", "restore-old"])
def test_interrupted_rename_fallback_repaired(tmp_path, complete):
    """Killed between 'earlier result aside' and 'new result in place': finish when the new one is whole."""
    out = tmp_path / "out"
    _publish(out, {"old.csv": "old"})
    pid = _dead_pid()
    aside, staging = _entry(out, "old", pid), _entry(out, "staging", pid)
    out.rename(aside)
    _write(staging, {"new.csv": "new", **({MARKER: '{"spillmap": "result", "files": ["new.csv"]}'} if complete else {})})
    notes = _files._repair(out)
    assert set(_tree(out)) == ({"new.csv", MARKER} if complete else {"old.csv", MARKER})
    assert ("finished publishing" if complete else "restored the earlier result") in notes[0]
    assert not _leftovers(out)


# ------------------------------------------------------------------------------------------ fault tests

DRIVER = """
import os, sys, time
from spillmap import _files
from spillmap.cli import app

if os.environ.get("STOP_NO_EXCHANGE"):
    _files._exchange = lambda a, b: False

def _step(name):
    if name == os.environ["STOP_AT"]:
        open(os.environ["STOP_FLAG"], "w").close()
        time.sleep(600)

_files._step = _step
sys.argv = ["spillmap", *sys.argv[1:]]
app()
"""
OLD = ["did", "--placebo", "0", "--no-robust", "--leads", "2", "--lags", "2", "--mediator", "x1", "--boot", "20"]
NEW = ["did", "--placebo", "0", "--no-robust", "--leads", "3", "--lags", "3"]


def _spawn(tmp: Path, args: list[str], out: Path, stop_at: str = "never", *, exchange: bool = True):
    driver = tmp / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "STOP_AT": stop_at, "STOP_FLAG": str(tmp / f"stopped-{stop_at}")}
    if not exchange:
        env["STOP_NO_EXCHANGE"] = "1"
    return subprocess.Popen([sys.executable, str(driver), *args, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _complete(tmp: Path, args: list[str], out: Path) -> dict[str, bytes]:
    proc = _spawn(tmp, args, out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return _tree(out)


def _kill_at(tmp: Path, args: list[str], out: Path, stop_at: str, *, exchange: bool = True,
             after: float | None = None) -> None:
    """Start a run into ``out`` and SIGKILL it when it reaches ``stop_at`` (or ``after`` seconds)."""
    proc = _spawn(tmp, args, out, stop_at, exchange=exchange)
    flag, deadline = tmp / f"stopped-{stop_at}", time.monotonic() + (after or 300)
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it was stopped:\n{proc.stderr.read()[-2000:]}"
    assert after is not None or flag.exists(), f"the run never reached '{stop_at}'"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()


@pytest.fixture(scope="module")
def did_results(tmp_path_factory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A folder holding the earlier result (OLD) and the trees of OLD and NEW, each run whole."""
    tmp = tmp_path_factory.mktemp("publish")
    old = _complete(tmp, OLD, tmp / "old")
    new = _complete(tmp, NEW, tmp / "new")
    assert set(old) != set(new)  # a mix would show
    return tmp / "old", old, new


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize(("stop_at", "exchange"), [
    ("staging", True), ("written", True), ("marked", True), ("swapped", True),
    ("aside", False), ("swapped", False), ("during the models", True),
])
def test_killed_did_leaves_old_or_new_whole(tmp_path, did_results, stop_at, exchange):
    template, old, new = did_results
    out = tmp_path / "out"
    shutil.copytree(template, out)
    if stop_at == "during the models":
        _kill_at(tmp_path, NEW, out, "never", after=3.0)
    else:
        _kill_at(tmp_path, NEW, out, stop_at, exchange=exchange)
    now = _tree(out)
    if stop_at == "aside":  # between the two renames of the fallback: no --out until the next run repairs
        assert now is None and len(_leftovers(out)) == 2
    else:
        assert now == old or now == new, f"--out mixes runs after a kill at '{stop_at}': {sorted(now or {})}"
        assert now == (new if stop_at == "swapped" else old)

    left = _leftovers(out)
    assert left or stop_at == "during the models"  # killed that early, a run may not have staged yet
    result = CliRunner().invoke(app, [*NEW, "--out", str(out)])  # the next run cleans up and publishes
    assert result.exit_code == 0, result.output
    if left:
        assert "warning:" in result.output
        assert ("finished publishing" if stop_at == "aside" else "removed") in result.output
    assert _tree(out) == new and not _leftovers(out)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_sweep_keeps_the_result_and_the_cache(tmp_path):
    """Killed after the band cache moved into the staging folder: the next run puts it back and resumes."""
    args = ["sweep", "--max", "150", "--effects", "50", "--workers", "0", "--method", "separate"]
    out = tmp_path / "sweep"
    first = _complete(tmp_path, args, out)
    bands = sorted(p.name for p in (out / CACHE).glob("band_*.npz"))
    assert len(bands) == 3
    _kill_at(tmp_path, args, out, "carried")
    assert _tree(out) == {k: v for k, v in first.items() if not k.startswith(CACHE)}  # the earlier result, whole
    assert len(_leftovers(out)) == 1  # the killed run's staging folder, holding the cache
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "removed" in result.output
    assert "3 of 3 bands read from the cache" in result.output and not _leftovers(out)
    assert sorted(p.name for p in (out / CACHE).glob("band_*.npz")) == bands
    assert {k: v for k, v in _tree(out).items() if not k.startswith(CACHE)} == \
        {k: v for k, v in first.items() if not k.startswith(CACHE)}
