"""Atomic writing of outputs: one file (:func:`atomic_path`) or a whole result folder (:func:`staged_output`).

How a result folder is published
--------------------------------
A run writes everything into a staging folder *beside* ``--out`` (same parent,
so the same file system): ``.spillmap-staging-<name>-<hash>-<pid>-<random>``.
When the body succeeded, the marker :data:`MARKER` (the list of files the run
wrote) is written last, the sweep's band cache is carried over from the earlier
result, and the staging folder becomes ``--out`` in one atomic step:

* ``--out`` does not exist: :func:`os.rename`;
* it exists: the two folders are swapped (``renameat2(RENAME_EXCHANGE)`` on
  Linux, ``renamex_np(RENAME_SWAP)`` on macOS) and the earlier result, now under
  the staging name, is removed;
* where no swap exists (another system, a file system without it): the earlier
  result is renamed aside (``.spillmap-old-…``), the new one renamed into place,
  the old one removed. A run killed between the two renames leaves no ``--out``;
  the next run finishes the publishing (new result complete: it has its marker)
  or restores the earlier result.

So at every moment ``--out`` is the earlier result or the new one, whole. What
runs killed earlier left beside ``--out`` (their process is gone) is removed or
repaired by the next run for the same ``--out``, with a warning
(:class:`~spillmap.errors.OutputRepairWarning`).

Whose folder it is
------------------
Publishing replaces ``--out`` whole, so spillmap publishes only into a folder
that is new, empty, or an earlier spillmap result holding nothing but the files
its marker lists (and ``.sweep-cache``). A folder holding anything else (your
own files; results of earlier spillmap versions, which had no marker) is refused with
one message; nothing in it is touched. So are the current folder (``--out .``),
a folder holding it, and a mount point, which cannot be swapped.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spillmap.errors import OutputFolderError, OutputRepairWarning

#: Written last into every published result: the files spillmap wrote there (relative, POSIX).
MARKER = ".spillmap-result"
#: The sweep's band cache inside a result: kept across runs, never listed, never foreign.
CACHE = ".sweep-cache"
_STAGING, _OLD = "staging", "old"
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_DENIED = (errno.EACCES, errno.EPERM)
_DISK = (*_FULL, errno.EROFS, *_DENIED)


# ---------------------------------------------------------------- one file


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file keeps the target's suffix so format drivers that look
    at the extension (GDAL, numpy) behave.  If the body raises, the temporary
    file is removed and ``path`` is left untouched: a failed run never leaves a
    half-written output. A missing folder is created (and removed again on
    failure); a full or read-only disk, no permission, or a folder in the way
    raise :class:`~spillmap.errors.OutputFolderError` naming the folder.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputFolderError(
            f"The output '{target}' is a folder, not a file; name a file with --out (e.g. '{target / target.name}')."
        )
    created = make_parents(directory, target, file=True)
    tmp: Path | None = None
    try:
        check_writable(directory)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=directory)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # writers such as GDAL refuse to overwrite an existing file
        yield tmp
        os.replace(tmp, target)
    except OSError as err:
        _remove_created(created)
        if not _under(err, Path(os.path.abspath(directory))):
            raise
        raise disk_error(err, directory, target) from None
    except BaseException:
        _remove_created(created)
        raise
    finally:
        if tmp is not None:
            for leftover in (tmp, *directory.glob(f"{tmp.name}-*")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


def prepare_folder(out: str | os.PathLike[str]) -> Path:
    """Create ``out`` if needed and check it is writable; a clear error names the folder otherwise."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"The output folder '{folder}' is a file, not a folder; choose a folder with --out.")
    make_parents(folder)
    check_writable(folder)
    return folder


def make_parents(folder: Path, shown: Path | None = None, *, file: bool = False) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest last.

    ``shown``: the output as the user named it (``file``: a file to be written in ``folder``), for the
    message when a file stands in the way.
    """
    shown = shown if shown is not None else folder
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    created: list[Path] = []
    for path in missing:
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                _remove_created(created)
                raise _blocked(shown, path, file) from None
        except OSError as err:
            _remove_created(created)
            if err.errno == errno.ENOTDIR:
                raise _blocked(shown, _file_in_way(path), file) from None
            raise disk_error(err, path.parent, shown, verb="create a folder") from None
        else:
            created.append(path)
    if not folder.is_dir():
        raise _blocked(shown, _file_in_way(folder), file)
    return created


def _file_in_way(folder: Path) -> Path:
    """The file at or above ``folder`` that keeps it from being a folder."""
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)


def check_writable(folder: Path) -> None:
    """Raise :class:`OutputFolderError` when spillmap may not create files in ``folder``."""
    if os.access(folder, os.W_OK | os.X_OK):
        return
    code = errno.EROFS if _read_only(folder) else errno.EACCES
    raise disk_error(OSError(code, os.strerror(code), str(folder)), folder, folder)


def disk_error(err: OSError, folder: Path, out: Path, *, verb: str = "write") -> OSError:
    """``err`` as one :class:`OutputFolderError` naming ``folder``, what happened and the fix; ``err`` itself
    when it is not a disk condition (full, read-only, no permission)."""
    if err.errno not in _DISK:
        return err  # not a disk condition, or already worded (a file in the way, foreign files)
    where = f"'{folder}'" if Path(folder) == Path(out) else f"'{folder}' (for '{out}')"
    if err.errno in _FULL:
        text = (f"The disk holding {where} is full (no space left on device); nothing was written. "
                "Free some space, or choose a folder on another disk with --out.")
    elif err.errno == errno.EROFS or _read_only(folder):
        text = (f"Cannot {verb} in {where}: it is on a read-only file system. "
                "Choose a folder on a writable disk with --out.")
    else:
        text = f"Cannot {verb} in {where}: permission denied. Choose a folder you can write to with --out."
    error = OutputFolderError(text)
    error.errno, error.filename = err.errno, str(folder)
    return error


def _blocked(shown: Path, blocker: Path, file: bool = False) -> OutputFolderError:
    """A file stands where a folder of the output ``shown`` should be."""
    what = f"the folder for '{shown}'" if file else f"the output folder '{shown}'"
    return OutputFolderError(
        f"Cannot create {what}: '{blocker}' is a file, not a folder; "
        "choose another place with --out (or move the file)."
    )


def _read_only(folder: Path) -> bool:
    """Whether the nearest existing folder at or above ``folder`` is on a read-only file system."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    try:
        return existing is not None and bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _remove_created(created: list[Path]) -> None:
    """Remove the folders :func:`make_parents` created, deepest first, if they are still empty."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()


# ---------------------------------------------------------------- a result folder


@dataclass(frozen=True)
class _Entry:
    """A folder a run (``pid``) keeps beside a result while publishing: ``staging`` or ``old``."""

    path: Path
    kind: str
    digest: str
    pid: int
    token: str


def _step(name: str) -> None:
    """A point of the publishing sequence: ``staging`` (made), ``written`` (the body returned), ``marked``,
    ``carried`` (the band cache moved into the staging folder), ``aside`` (fallback: the earlier result
    renamed aside), ``swapped`` (the new result in place, the earlier one not yet removed).

    Does nothing; the fault tests (tests/test_publish.py) replace it to stop a real run right there.
    """


@contextlib.contextmanager
def staged_output(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder beside ``out``; make it ``out`` in one atomic step if the body succeeds.

    A run that fails part-way leaves ``out`` as it was (a folder it created is
    removed again; the sweep cache ``.sweep-cache`` inside ``out`` is kept for
    resuming). Before the run, what killed runs left beside ``out`` is cleaned
    up or repaired, and ``out`` is checked: not a file, writable, and new, empty
    or an earlier spillmap result (see the module docstring). Paths under the
    staging folder map to their final place with :func:`final_paths`.
    """
    target = Path(os.path.abspath(out))
    target = target.resolve() if target.is_symlink() else target
    nested = target.parent.name.startswith(f".spillmap-{_STAGING}-")  # a part of an outer run (run → did/)
    shown = Path(out)
    created = make_parents(target.parent, shown)
    try:
        for note in _repair(target):
            warnings.warn(note, OutputRepairWarning, stacklevel=3)
        _check_target(target, shown)
        check_writable(target.parent)
        existed, had_cache = target.exists(), (target / CACHE).exists()
        staging = _new_staging(target)
    except OSError as err:
        _remove_created(created)
        raise disk_error(err, target.parent, shown) from None
    except BaseException:
        _remove_created(created)
        raise
    try:
        _step("staging")
        yield staging
        _step("written")
        _check_target(target, shown)  # the folder may have changed during the run
        if not nested:
            _write_marker(staging)
        _step("marked")
        _publish(staging, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # what cannot be undone now, the next run repairs
            _discard(staging, target, existed=existed, had_cache=had_cache, created=created)
        if isinstance(exc, OSError) and _under(exc, staging, target):
            raise disk_error(exc, shown, shown) from None
        raise


def final_paths(paths: list[Path], staging: Path, out: str | os.PathLike[str]) -> list[Path]:
    """Where files written under ``staging`` end up in ``out`` after :func:`staged_output`."""
    return [Path(out) / Path(p).relative_to(staging) for p in paths]


def _check_target(target: Path, shown: Path) -> None:
    """Refuse an ``out`` spillmap cannot replace whole: a file, the current folder, a mount point, a folder
    holding files spillmap did not write."""
    if target.exists() and not target.is_dir():
        raise OutputFolderError(f"The output folder '{shown}' is a file, not a folder; choose a folder with --out.")
    if not target.exists():
        return
    try:
        here = Path.cwd().resolve()
    except OSError:  # the current folder was removed
        here = None
    if here is not None and (here == target.resolve() or target.resolve() in here.parents):
        raise OutputFolderError(
            f"The output folder '{shown}' is the current folder or holds it; spillmap publishes a result by "
            f"replacing its folder whole, which it cannot do there. Choose a new sub-folder, e.g. --out "
            f"{Path(shown) / 'out'}."
        )
    if os.path.ismount(target):
        raise OutputFolderError(
            f"The output folder '{shown}' is a mount point, which spillmap cannot replace whole; "
            f"choose a sub-folder, e.g. --out {Path(shown) / 'out'}."
        )
    foreign = _foreign(target)
    if foreign:
        shown_names = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputFolderError(
            f"The output folder '{shown}' holds {len(foreign)} item(s) spillmap did not write ({shown_names}); "
            "spillmap replaces its output folder whole, so it writes only into a new or empty folder or its own "
            f"earlier result. Choose another folder with --out (e.g. {Path(shown) / 'out'}), or move those "
            "files out."
        )


def _foreign(target: Path) -> list[str]:
    """Top-most paths under ``target`` that are neither listed in its marker nor spillmap's own."""
    listed = _listed(target)
    folders = {parent.as_posix() for rel in listed for parent in Path(rel).parents if str(parent) != "."}
    foreign: list[str] = []
    for root, dirs, files in os.walk(target):
        base = Path(root).relative_to(target)
        for name in sorted(dirs):
            rel = (base / name).as_posix()
            if rel == CACHE or (_legacy_staging(name) and base == Path(".")):
                dirs.remove(name)
            elif _marker_files(Path(root) / name) is not None and not (Path(root) / name).is_symlink():
                # a later spillmap result inside this one (`spillmap sweep` into the demo's out/sweep)
                foreign += [f"{rel}/{item}" for item in _foreign(Path(root) / name)]
                dirs.remove(name)
            elif rel not in folders or (Path(root) / name).is_symlink():
                foreign.append(rel + "/")
                dirs.remove(name)
        foreign += sorted(rel for rel in ((base / n).as_posix() for n in files) if rel != MARKER and rel not in listed)
    return foreign


def _listed(folder: Path) -> set[str]:
    """The files spillmap wrote under ``folder``, relative to it: its own marker's list, or — for a sub-folder
    of an earlier result (``spillmap sweep`` into the demo's ``out/sweep``) — the nearest enclosing marker's
    files under it. Empty without a readable marker."""
    resolved = folder.resolve()
    for depth, base in enumerate((resolved, *resolved.parents)):
        files = _marker_files(base)
        if files is None:
            continue
        if depth == 0:
            return files
        prefix = resolved.relative_to(base).as_posix() + "/"
        return {f[len(prefix):] for f in files if f.startswith(prefix)}
    return set()


def _marker_files(folder: Path) -> set[str] | None:
    """The files listed by ``folder``'s own marker, or None without a readable one."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return {str(f) for f in data["files"]} if data.get("spillmap") == "result" else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_marker(staging: Path) -> None:
    """Write the marker: every file under ``staging`` (the cache left out); same files, same bytes."""
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                   if (p.is_file() or p.is_symlink()) and CACHE not in p.relative_to(staging).parts)
    text = json.dumps({"spillmap": "result", "note": "files this spillmap run wrote; spillmap replaces this "
                       "folder whole on the next run into it", "files": files}, indent=1, ensure_ascii=False)
    with atomic_path(staging / MARKER) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def _publish(staging: Path, target: Path) -> None:
    """Make the complete ``staging`` folder ``target`` in one atomic step (see the module docstring)."""
    if (target / CACHE).is_dir() and not (staging / CACHE).exists():
        os.rename(target / CACHE, staging / CACHE)  # the band cache goes on with the result
        _step("carried")
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        _step("swapped")
        shutil.rmtree(staging, ignore_errors=True)  # now the earlier result
    else:
        aside = _aside(staging)
        os.rename(target, aside)
        _step("aside")
        os.rename(staging, target)  # if it fails, _discard puts the earlier result back
        _step("swapped")
        shutil.rmtree(aside, ignore_errors=True)
    _sync(target.parent)


def _aside(staging: Path) -> Path:
    """Where the fallback of :func:`_publish` sets the earlier result aside while ``staging`` moves in."""
    return staging.with_name(staging.name.replace(f"-{_STAGING}-", f"-{_OLD}-", 1))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step; False where the system or file system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        swap = libc.renameat2
        swap.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        rc = swap(-100, os.fsencode(a), -100, os.fsencode(b), 2)  # AT_FDCWD, RENAME_EXCHANGE
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        swap = libc.renamex_np
        swap.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        rc = swap(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
    else:
        return False
    if rc == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _discard(staging: Path, target: Path, *, existed: bool, had_cache: bool, created: list[Path]) -> None:
    """After a failure: remove the staging folder, and what the run created in ``target`` if it holds nothing
    (an empty cache, an empty folder); a cache with finished bands stays for resuming. Stopped between
    the two renames of the fallback, the earlier result goes back in place."""
    if _aside(staging).is_dir() and not target.exists():
        os.rename(_aside(staging), target)
    if (staging / CACHE).is_dir() and target.is_dir() and not (target / CACHE).exists():
        os.rename(staging / CACHE, target / CACHE)
    shutil.rmtree(staging, ignore_errors=True)
    if not had_cache:
        with contextlib.suppress(OSError):
            (target / CACHE).rmdir()
    if not existed:
        with contextlib.suppress(OSError):
            target.rmdir()
    _remove_created(created)


def _new_staging(target: Path) -> Path:
    """Create this run's staging folder beside ``target``."""
    prefix = f".spillmap-{_STAGING}-{target.name[:60]}-{_digest(target.name)}-{os.getpid()}-"
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    except OSError as err:
        raise disk_error(err, target.parent, target, verb="create a folder") from None


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _entries(target: Path) -> list[_Entry]:
    """The staging and set-aside folders beside ``target`` (any run's), oldest name first."""
    found = []
    for kind in (_STAGING, _OLD):
        for path in sorted(target.parent.glob(f".spillmap-{kind}-*")):
            parts = path.name[len(f".spillmap-{kind}-"):].rsplit("-", 3)
            if len(parts) == 4 and parts[1] == _digest(target.name) and parts[2].isdigit() and path.is_dir():
                found.append(_Entry(path, kind, parts[1], int(parts[2]), parts[3]))
    return found


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (on systems where that cannot be told safely: assume it does)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _legacy_staging(name: str) -> bool:
    """A staging folder earlier spillmap versions made *inside* ``--out`` (``.spillmap-staging-XXXXXXXX``)."""
    return name.startswith(f".spillmap-{_STAGING}-") and "-" not in name[len(f".spillmap-{_STAGING}-"):]


def _repair(target: Path) -> list[str]:
    """Finish or undo what runs that ended without finishing left beside (or, older versions, inside)
    ``target``; one note per thing done. Never leaves a mix: ``target`` ends as the earlier or the new result."""
    notes: list[str] = []
    dead = [e for e in _entries(target) if not _alive(e.pid)]
    if not target.exists():
        for aside in (e for e in dead if e.kind == _OLD):
            new = next((e for e in dead if e.kind == _STAGING and e.token == aside.token), None)
            if new is not None and (new.path / MARKER).is_file():
                os.rename(new.path, target)
                notes.append(f"finished publishing '{target}': a run (process {aside.pid}) was stopped between "
                             "setting the earlier result aside and putting its complete result in place")
            else:
                os.rename(aside.path, target)
                notes.append(f"restored the earlier result in '{target}': a run (process {aside.pid}) was "
                             "stopped while replacing it")
            break
    for entry in dead:
        if not entry.path.exists():
            continue
        if entry.kind == _STAGING and target.is_dir() and (entry.path / CACHE).is_dir() \
                and not (target / CACHE).exists():
            os.rename(entry.path / CACHE, target / CACHE)  # stopped after carrying the band cache over
        size = _size(entry.path)
        shutil.rmtree(entry.path, ignore_errors=True)
        notes.append(f"removed '{entry.path}' ({size}), left by a spillmap run (process {entry.pid}) that ended "
                     "without finishing")
    if target.is_dir():
        for path in sorted(target.glob(f".spillmap-{_STAGING}-*")):
            if path.is_dir() and _legacy_staging(path.name):
                size = _size(path)
                shutil.rmtree(path, ignore_errors=True)
                notes.append(f"removed '{path}' ({size}), the staging folder of an earlier spillmap run that "
                             "ended without finishing")
    return notes


def _size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return f"{total / 1e6:.1f} MB" if total >= 1e5 else f"{total / 1e3:.0f} kB"


def _under(err: OSError, *folders: Path) -> bool:
    """Whether ``err`` is about a path under one of ``folders`` (or names no path)."""
    if err.filename is None:
        return True
    path = Path(os.path.abspath(os.fsdecode(err.filename)))
    return any(path == f or f in path.parents for f in folders)


def _sync(folder: Path) -> None:
    """Flush ``folder``'s entries (the renames) to disk where the system allows it."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
