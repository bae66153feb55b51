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
