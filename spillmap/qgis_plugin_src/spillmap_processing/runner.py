"""Finding and running the ``spillmap`` command (no spillmap import: QGIS's Python lacks its dependencies).

The command is, in this order, the first of these that runs (``spillmap version`` exits 0):

1. the provider's setting Processing ▸ Options ▸ Providers ▸ spillmap ▸ "spillmap command";
2. the environment variable ``SPILLMAP_COMMAND``;
3. the absolute path recorded in ``spillmap_command.txt`` by ``spillmap qgis-plugin`` (the
   environment that wrote this plugin);
4. ``spillmap`` on PATH.

A command may carry arguments (e.g. ``conda run -n spillmap spillmap``).
"""

import os
import queue
import re
import shlex
import subprocess
import threading

from qgis.core import QgsProcessingException

SETTING = "SPILLMAP_COMMAND"
SETTING_LABEL = "spillmap command"
ENV_VAR = "SPILLMAP_COMMAND"
HERE = os.path.dirname(__file__)
RECORDED = os.path.join(HERE, "spillmap_command.txt")
#: QGIS's own Python and data paths must not leak into another environment's Python.
DROPPED_ENV = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PROJ_LIB", "PROJ_DATA", "GDAL_DATA",
               "GDAL_DRIVER_PATH", "QT_PLUGIN_PATH", "VIRTUAL_ENV")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STEP = re.compile(r"^(?P<name>\S.*?)\s.*?\b(?P<done>\d+)/(?P<total>\d+)\b")
_WORKING = {}


def _setting():
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        return (ProcessingConfig.getSetting(SETTING) or "").strip()
    except Exception:  # noqa: BLE001 - no Processing settings (a bare script)
        return ""


def _recorded():
    try:
        with open(RECORDED, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def candidates():
    """``(where it came from, command string)`` in the order they are tried (unset ones left out)."""
    found = [("the setting Processing ▸ Options ▸ Providers ▸ spillmap ▸ " + SETTING_LABEL, _setting()),
             ("the environment variable " + ENV_VAR, os.environ.get(ENV_VAR, "").strip()),
             ("the path recorded when the plugin was written", _recorded()),
             ("spillmap on PATH", "spillmap")]
    return [(source, value) for source, value in found if value]


def child_env():
    """QGIS's environment without its Python/PROJ/GDAL paths; progress bars forced on for ``rich``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.pop("NO_COLOR", None)
    env.update(FORCE_COLOR="1", COLUMNS="120", PYTHONIOENCODING="utf-8")
    return env


def _split(command):
    if os.path.isfile(command):
        return [command]  # a path with spaces (Windows: C:\Program Files\...)
    return shlex.split(command, posix=os.name != "nt")


def _flags():
    return {"creationflags": 0x08000000} if os.name == "nt" else {}  # CREATE_NO_WINDOW under OSGeo4W


def _runs(argv):
    try:
        done = subprocess.run([*argv, "version"], capture_output=True, text=True, timeout=120, env=child_env(),
                              check=False, **_flags())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def find_command():
    """``(argv, version)`` of the first command that runs; one QgsProcessingException naming what was tried."""
    tried = []
    for source, command in candidates():
        argv = _split(command)
        key = tuple(argv)
        if key not in _WORKING:
            version = _runs(argv)
            if version is None:
                tried.append(f"{command!r} ({source})")
                continue
            _WORKING[key] = version
        return argv, _WORKING[key]
    raise QgsProcessingException(
        "spillmap command not found: tried " + "; ".join(tried) + ". None of them runs `spillmap version`. "
        "Install spillmap in an environment of its own (from its repository: pip install . in a virtualenv, or "
        "conda env create -f environment.yml), run `spillmap qgis-plugin` there and install that zip, or set Processing ▸ Options ▸ Providers ▸ spillmap ▸ " + SETTING_LABEL + " to the "
        "full path of its spillmap executable (or set the environment variable " + ENV_VAR + ").")


def run(args, feedback, *, start=5.0, end=90.0):
    """Run ``spillmap ARGS``; progress (start…end %) from its progress bars, messages to ``feedback``.

    Returns the command's stdout. Cancelling kills the process; a failure raises QgsProcessingException
    with spillmap's ``error:`` line.
    """
    argv, version = find_command()
    command = [*argv, *args]
    feedback.pushInfo(f"spillmap {version}: " + " ".join(shlex.quote(a) for a in command))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), **_flags())
    lines = queue.Queue()

    def pump(stream, kind):
        buf = b""
        while True:
            chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            for part in parts:
                lines.put((kind, part))
        if buf:
            lines.put((kind, buf))
        lines.put((kind, None))

    threads = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    out, errors, open_streams, last = [], [], 2, None
    while open_streams:
        if feedback.isCanceled():
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            raise QgsProcessingException("spillmap was cancelled.")
        try:
            kind, raw = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if raw is None:
            open_streams -= 1
            continue
        text = ANSI.sub("", raw.decode("utf-8", "replace")).strip()
        if kind == "out":
            out.append(raw.decode("utf-8", "replace"))
            continue
        if not text:
            continue
        step = STEP.match(text)
        if step and "━" in text:
            done, total = int(step["done"]), int(step["total"])
            if total:
                feedback.setProgress(start + (end - start) * min(done, total) / total)
            if text != last:
                feedback.setProgressText(f"{step['name']} {done}/{total}")
            last = text
            continue
        if text.startswith("error:"):
            errors.append(text)
            feedback.reportError(text)
        elif text.startswith("warning:"):
            feedback.pushWarning(text)
        else:
            feedback.pushInfo(text)
    code = proc.wait()
    for t in threads:
        t.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()
    if code != 0:
        raise QgsProcessingException(errors[-1] if errors else f"spillmap {args[0]} failed (exit {code}).")
    feedback.setProgress(end)
    return "\n".join(out)
