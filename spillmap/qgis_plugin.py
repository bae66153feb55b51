"""The QGIS Processing plugin zip (``spillmap qgis-plugin``): the plugin source shipped in
``spillmap/qgis_plugin_src/spillmap_processing`` plus the version and the ``spillmap`` command that wrote it."""

from __future__ import annotations

import os
import sysconfig
import zipfile
from pathlib import Path

from spillmap._files import atomic_path
from spillmap.errors import OutputFolderError, SpillmapError

__all__ = ["PLUGIN", "ZIP_NAME", "plugin_source", "spillmap_command", "write_plugin_zip"]

PLUGIN = "spillmap_processing"
ZIP_NAME = f"{PLUGIN}.zip"
#: Fixed entry date: the same spillmap version and command give the same bytes.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
RECORDED = "spillmap_command.txt"


def plugin_source() -> Path:
    """The folder of the plugin's source inside the installed package."""
    return Path(__file__).resolve().parent / "qgis_plugin_src" / PLUGIN


def spillmap_command() -> str:
    """Absolute path of the ``spillmap`` executable of this environment (its scripts folder)."""
    name = "spillmap.exe" if os.name == "nt" else "spillmap"
    return str(Path(sysconfig.get_path("scripts")) / name)


def _entries(version: str, command: str) -> dict[str, bytes]:
    source = plugin_source()
    entries = {}
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        data = path.read_bytes()
        if path.name == "metadata.txt":
            data = data.decode("utf-8").replace("{version}", version).encode("utf-8")
        entries[f"{PLUGIN}/{path.relative_to(source).as_posix()}"] = data
    entries[f"{PLUGIN}/{RECORDED}"] = (command + "\n").encode("utf-8")
    return dict(sorted(entries.items()))


def write_plugin_zip(out: str | os.PathLike[str], *, version: str | None = None, command: str | None = None) -> Path:
    """Write ``OUT/spillmap_processing.zip``, the plugin as QGIS's "Install from ZIP" takes it.

    Parameters
    ----------
    out
        Folder (created if missing) for the zip.
    version
        Plugin version (default: spillmap's).
    command
        ``spillmap`` command recorded for the plugin (default: this environment's, :func:`spillmap_command`).

    Returns
    -------
    pathlib.Path
        The zip; its bytes depend only on the version, the command and the plugin source.
    """
    from spillmap import __version__

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise SpillmapError(f"--out {folder} is a file, not a folder; give a folder for {ZIP_NAME}.")
    target = folder / ZIP_NAME
    entries = _entries(version or __version__, command or spillmap_command())
    try:
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for d in sorted({name.rsplit("/", 1)[0] + "/" for name in entries}):
                info = zipfile.ZipInfo(d, ZIP_DATE)
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            for name, data in entries.items():
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                zf.writestr(info, data)
    except OutputFolderError:
        raise  # atomic_path's own words: the folder, what happened, the fix
    except OSError as exc:
        raise SpillmapError(f"cannot write {ZIP_NAME} in '{folder}': {exc.strerror or exc}; choose a folder you can "
                            "write to (--out).") from None
    return target
