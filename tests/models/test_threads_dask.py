"""BLAS threads fit the cores: per fit, per Dask task, and cheaply.

Cases: with a 2-thread Dask worker (in-process cluster, and a cluster given
by address), a large fit's BLAS threads inside a task × the worker's threads
≤ the cores the process may use (threadpoolctl's view from inside the task);
small fits hold one thread; the in-process cluster never has more threads
than cores; the limit reaches every BLAS threadpoolctl finds (numpy's and
scipy's OpenBLAS) and is restored; entering the limit does not rescan the
loaded libraries when an unrelated module is imported, and costs well under
a millisecond once warm; a fresh process fits without importing threadpoolctl
when numpy and scipy ship their own OpenBLAS (else threadpoolctl's controller
limits and restores); a lower limit the caller set is kept.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import pytest
import scipy.linalg  # noqa: F401 - loads scipy's OpenBLAS, as every fit does
from spillmap.models import _threads
from spillmap.models._dask import dask_client, local_threads
from spillmap.models._threads import (
    SINGLE_THREAD_MAX_N,
    available_cores,
    blas_threads,
    one_blas_thread,
)
from threadpoolctl import threadpool_info

#: Warm enter + exit of the limit, seconds: two C calls per library; 1 ms leaves room for a busy CI machine.
WARM_ENTER_EXIT_S = 1e-3


def _blas() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _inside_task(n: int) -> list[int]:
    with blas_threads(n):
        return _blas()


@pytest.mark.parametrize("n", [SINGLE_THREAD_MAX_N + 1, 50])
def test_task_blas_threads_times_workers_fit_the_cores(n):
    workers = 2
    with dask_client(None, workers) as client:
        nthreads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        seen = client.submit(_inside_task, n, pure=False).result()
    assert nthreads == min(workers, available_cores())
    assert seen and max(seen) * nthreads <= available_cores(), (seen, nthreads)
    if n <= SINGLE_THREAD_MAX_N:
        assert set(seen) == {1}


def test_cluster_by_address_tasks_fit_the_cores():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0") as cluster, \
            dask_client(cluster.scheduler_address, None) as client:
        seen = client.submit(_inside_task, SINGLE_THREAD_MAX_N + 1, pure=False).result()
    assert max(seen) * 2 <= available_cores(), seen


def test_in_process_cluster_threads_capped_at_cores():
    cores = available_cores()
    assert local_threads(cores + 3) == cores
    assert local_threads(None) == min(2, cores)
    assert local_threads(1) == 1


def test_limit_reaches_every_blas_and_restores():
    before = _blas()
    with one_blas_thread():
        assert set(_blas()) == {1}
    assert _blas() == before
    with blas_threads(SINGLE_THREAD_MAX_N + 1):
        assert max(_blas()) <= available_cores()
    assert _blas() == before


def test_no_rescan_on_unrelated_imports():
    with one_blas_thread():
        pass
    misses = _threads._libraries.cache_info().misses
    import json  # noqa: F401 - grows sys.modules, loads no BLAS
    import xml.dom.minidom  # noqa: F401

    start = time.perf_counter()
    for _ in range(100):
        with one_blas_thread():
            pass
    per = (time.perf_counter() - start) / 100
    assert _threads._libraries.cache_info().misses == misses
    assert per < WARM_ENTER_EXIT_S, per


def test_fresh_process_needs_no_library_scan():
    code = (
        "import sys, numpy, scipy.linalg\n"
        "from spillmap.models import _threads\n"
        "with _threads.one_blas_thread(): pass\n"
        "direct, controller = _threads._libraries(tuple(m in sys.modules for m in _threads._BLAS_MODULES))\n"
        "print(len(direct), controller is None, 'threadpoolctl' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    count, direct_only, imported = out.stdout.split()
    if direct_only != "True":
        pytest.skip("numpy/scipy do not ship their own OpenBLAS here: threadpoolctl's scan is the fallback")
    assert int(count) == len(_blas()) and imported == "False"


def test_lower_limit_of_the_caller_is_kept():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        with blas_threads(SINGLE_THREAD_MAX_N + 1):
            assert set(_blas()) == {1}
        assert set(_blas()) == {1}


def test_threadpoolctl_fallback_limits_and_restores(monkeypatch):
    """Where the BLAS is not a wheel's own OpenBLAS (conda, MKL), threadpoolctl's controller does the work."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    monkeypatch.setattr(_threads, "_libraries", lambda loaded: ([], controller))
    before = _blas()
    with one_blas_thread():
        assert set(_blas()) == {1}
    with blas_threads(SINGLE_THREAD_MAX_N + 1):
        assert max(_blas()) <= available_cores()
    assert _blas() == before


def test_large_fits_take_only_the_cores_others_leave_idle(monkeypatch):
    """Above 1,500 units BLAS threads are at most the idle cores (at least one); unknown idleness: the cap."""
    from spillmap.models import _threads

    seen = []
    monkeypatch.setattr(_threads, "_hold", lambda n: seen.append(n) or contextlib.nullcontext())
    monkeypatch.setattr(_threads, "task_blas_limit", lambda: 4)
    for idle, expected in ((0.2, 1), (1.4, 1), (2.6, 3), (7.0, 4), (None, 4)):
        monkeypatch.setattr(_threads, "idle_cores", lambda window=0.0, v=idle: v)
        with _threads.blas_threads(_threads.SINGLE_THREAD_MAX_N + 1):
            pass
        assert seen[-1] == expected, (idle, seen[-1])


def test_idle_cores_counts_this_process_as_idle():
    from spillmap.models._threads import idle_cores

    value = idle_cores(0.02)
    if value is None:  # no /proc/stat (not Linux)
        return
    assert 0.0 <= value <= (os.cpu_count() or 1)
