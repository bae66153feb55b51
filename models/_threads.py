"""BLAS thread limits that are safe to enter from several threads, fit the cores the process may use, and
always restore the caller's setting.

threadpoolctl's limits are process-wide. Two Dask threads that each enter
and leave ``threadpool_limits(1)`` interleave: the second saves the first's
limit as "original" and restores it last, leaving the process at one thread
after the sweep. Here the first entry sets the limit, later (nested or
concurrent) entries only count, and the last exit restores what the process
had before. Holding one BLAS thread also makes results independent of how
many threads or workers run: OpenBLAS may split a reduction differently with
two threads, and a likelihood maximised on a flat top turns a last-bit
difference into a visible one.

Above :data:`SINGLE_THREAD_MAX_N` units BLAS may use several threads, but
never more than the cores this process may run on (``os.sched_getaffinity``)
divided among the threads of the Dask worker running the fit, so that worker
threads × BLAS threads never exceed the cores; a lower limit the caller set
(``OPENBLAS_NUM_THREADS``, threadpoolctl) is kept. On a shared machine it is
also no more than the cores other processes leave idle (sampled from
``/proc/stat`` for 30 ms before a large fit, Linux only): OpenBLAS threads
spin while they wait, so two threads on two cores with another busy process
made a 2,875-unit fit 1.6× slower than one thread (``benchmarks/bench_threads.py``).

Finding the libraries: numpy's and scipy's wheels ship their own OpenBLAS
(``numpy.libs/``, ``scipy.libs/``); when those are the loaded ones they are
opened directly (``RTLD_NOLOAD``: only a library already loaded, < 0.1 ms).
Anything else (conda's shared OpenBLAS or MKL, Windows) falls back to
threadpoolctl's scan of every loaded library (~3 ms, ~20 ms with its import
in a new process), redone only when numpy or scipy's linear algebra is newly
imported, not whenever any module is.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import sys
import threading
from collections.abc import Callable, Iterator

__all__ = ["SINGLE_THREAD_MAX_N", "available_cores", "blas_threads", "idle_cores", "one_blas_thread",
           "task_blas_limit"]

#: Up to this many units one BLAS thread is faster: numpy and scipy ship separate OpenBLAS
#: libraries whose idle threads spin and fight for the cores between small calls.
SINGLE_THREAD_MAX_N = 1500

#: Modules whose import loads a BLAS the models call: numpy's (numpy itself) and scipy's (its LAPACK wrappers).
_BLAS_MODULES = ("numpy", "scipy.linalg._flapack")
#: OpenBLAS symbol affixes, as threadpoolctl's OpenBLASController tries them (scipy-openblas wheels use
#: ``scipy_openblas_set_num_threads64_``).
_PREFIXES = ("scipy_", "")
_SUFFIXES = ("64_", "", "_64")

_lock = threading.Lock()
_depth = 0
_restore: Callable[[], None] | None = None


#: Seconds of /proc/stat sampled before a large fit to count the cores other processes leave idle.
IDLE_WINDOW_S = 0.03


def idle_cores(window: float = IDLE_WINDOW_S) -> float | None:
    """Cores other processes left idle over ``window`` seconds (this process's own time counts as idle;
    None where /proc/stat is not readable)."""
    import time

    def sample() -> tuple[float, float]:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat", encoding="ascii") as f:  # this process's own time counts as idle:
            own = f.read().rsplit(")", 1)[1].split()  # OpenBLAS threads spin a while after each call
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0) + float(own[11]) + float(own[12])
        return idle, sum(fields[:8])

    try:
        idle0, total0 = sample()
        time.sleep(window)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return min(1.0, (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class _OpenBLAS:
    """One loaded OpenBLAS, driven through its own get/set functions."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype, put.restype = ctypes.c_int, None
                    put.argtypes = [ctypes.c_int]
                    self.get, self.set = get, put
                    return
        raise OSError("no openblas_get_num_threads symbol")


def _shipped_openblas(package: str) -> list[_OpenBLAS] | None:
    """The OpenBLAS bundled in ``package``'s wheel, if it is the one loaded; None when it cannot be found."""
    spec = sys.modules.get(package)
    root = os.path.dirname(os.path.dirname(getattr(spec, "__file__", "") or ""))
    if not root or not hasattr(os, "RTLD_NOLOAD"):
        return None
    found = []
    for path in glob.glob(os.path.join(root, f"{package}.libs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LOCAL)
            found.append(_OpenBLAS(lib))
        except OSError:  # not loaded (RTLD_NOLOAD) or not an OpenBLAS we can drive
            continue
    return found or None


@functools.lru_cache(maxsize=4)
def _libraries(loaded: tuple[bool, ...]) -> tuple[list[_OpenBLAS], object | None]:
    """The BLAS libraries to limit, for the set of :data:`_BLAS_MODULES` imported (``loaded``).

    Returns ``(direct, controller)``: OpenBLAS libraries opened directly, and a
    threadpoolctl controller when some loaded BLAS could not be found that way.
    """
    direct: list[_OpenBLAS] = []
    for package, is_loaded in zip(("numpy", "scipy"), loaded):
        if not is_loaded:
            continue
        libs = _shipped_openblas(package)
        if libs is None:  # not a wheel's bundled OpenBLAS (conda, MKL, Windows): ask threadpoolctl
            from threadpoolctl import ThreadpoolController

            return [], ThreadpoolController()
        direct.extend(libs)
    return direct, None


def _set_limit(threads: int) -> Callable[[], None]:
    """Limit every loaded BLAS to ``threads`` or fewer (a lower limit the caller set is kept).

    Returns the function that restores the previous limits.
    """
    direct, controller = _libraries(tuple(m in sys.modules for m in _BLAS_MODULES))
    if controller is not None:
        blas = controller.select(user_api="blas")
        limits = {lib.prefix: min(threads, lib.num_threads) for lib in blas.lib_controllers}
        return blas.limit(limits=limits).restore_original_limits
    before = [(lib, lib.get()) for lib in direct]
    for lib, n in before:
        lib.set(min(threads, n))

    def restore() -> None:
        for lib, n in before:
            lib.set(n)

    return restore


@contextlib.contextmanager
def _hold(threads: int) -> Iterator[None]:
    """BLAS at ``threads`` for the body; the first (outermost or earliest) entry sets it, the last exit restores."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = _set_limit(threads)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore is not None:
                _restore()
                _restore = None


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """Hold BLAS at one thread for the body; re-entrant and thread-safe; restores the caller's limit."""
    return _hold(1)


def task_blas_limit() -> int:
    """BLAS threads a large fit may use here: the available cores shared among the Dask worker's threads.

    Outside a Dask worker that is :func:`available_cores`; inside one with
    ``nthreads`` threads, ``available_cores() // nthreads`` (at least 1), so
    the worker's tasks together never ask for more threads than there are cores.
    """
    cores = available_cores()
    if "distributed" not in sys.modules:  # no worker can be running in this process
        return cores
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not inside a worker's task
        return cores
    state = getattr(worker, "state", worker)
    nthreads = int(getattr(state, "nthreads", None) or getattr(worker, "nthreads", 1) or 1)
    return max(1, cores // nthreads)


def blas_threads(n: int) -> contextlib.AbstractContextManager[None]:
    """One BLAS thread up to :data:`SINGLE_THREAD_MAX_N` units; above, :func:`task_blas_limit` threads, and
    no more than the cores other processes leave idle (:func:`idle_cores`, at least one)."""
    if n > SINGLE_THREAD_MAX_N:
        limit = task_blas_limit()
        if limit > 1:
            idle = idle_cores()
            if idle is not None:
                limit = max(1, min(limit, int(idle + 0.5)))
        return _hold(limit)
    return one_blas_thread()
