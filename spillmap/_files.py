"""Atomic file writing shared by every module that writes outputs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file keeps the target's suffix so format drivers that look
    at the extension (GDAL, numpy) behave.  If the body raises, the temporary
    file is removed and ``path`` is left untouched: a failed run never leaves a
    half-written output.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Output folder '{directory}' does not exist; create it first or choose another path."
        )
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix, dir=directory
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL refuse to overwrite an existing file
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, *directory.glob(f"{tmp.name}-*")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def prepare_folder(out: str | os.PathLike[str]) -> Path:
    """Create ``out`` if needed and check it is writable; a clear error names the folder otherwise."""
    from spillmap.errors import SpillmapError

    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpillmapError(f"Cannot create the output folder '{folder}': {err.strerror}; choose another with --out.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SpillmapError(f"The output folder '{folder}' is not writable; choose another with --out.")
    return folder


@contextlib.contextmanager
def staged_output(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder inside ``out``; move its files into ``out`` only if the body succeeds.

    A run that fails part-way leaves ``out`` as it was: the staging folder
    (``.spillmap-staging-*``) is removed, nothing is half-written. Files are
    moved with :func:`os.replace` (same file system, so each move is atomic),
    keeping sub-folders. Paths under the staging folder are mapped to their
    final place with :func:`final_paths`.
    """
    import shutil

    folder = prepare_folder(out)
    staging = Path(tempfile.mkdtemp(prefix=".spillmap-staging-", dir=folder))
    try:
        yield staging
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                target = folder / path.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def final_paths(paths: list[Path], staging: Path, out: str | os.PathLike[str]) -> list[Path]:
    """Where files written under ``staging`` end up in ``out`` after :func:`staged_output`."""
    return [Path(out) / Path(p).relative_to(staging) for p in paths]
