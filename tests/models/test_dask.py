"""Dask clusters that spillmap starts bind no fixed port and leave BLAS threads as they found them.

Cases: the in-process cluster's HTTP server listens on loopback at a port
the OS chose (not Dask's default 8787, which clashes with any other
cluster); the ``distributed`` logger level is restored; a threaded run of
bands at one BLAS thread leaves the caller's BLAS limit unchanged, also when
threads enter and leave the limit out of order.
"""

from __future__ import annotations

import logging
import threading

from threadpoolctl import threadpool_info

from spillmap.models._dask import dask_client
from spillmap.models._threads import one_blas_thread


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_cluster_binds_no_fixed_port():
    import distributed  # noqa: F401 - configures its logger on import

    level = logging.getLogger("distributed").level
    with dask_client(None, 2) as client:
        port = client.scheduler_info()["services"]["dashboard"]
        assert client.submit(sum, [1, 2]).result() == 3
    assert port != 8787 and port > 0
    assert logging.getLogger("distributed").level == level


def test_blas_limit_restored_after_interleaved_threads():
    """The caller holds the limit (as the sweep does around its Dask threads); threads leave out of order."""
    before = _blas_threads()
    entered, release = threading.Barrier(2), threading.Event()
    seen = []

    def body(first: bool) -> None:
        with one_blas_thread():
            entered.wait()
            seen.append(set(_blas_threads()))
            if first:  # leave first although the other thread is still inside
                return
            release.wait(5)

    with one_blas_thread():
        a = threading.Thread(target=body, args=(True,))
        b = threading.Thread(target=body, args=(False,))
        a.start(), b.start()
        a.join()
        assert set(_blas_threads()) == {1}  # b (and the caller) still inside
        release.set()
        b.join()
        assert set(_blas_threads()) == {1}
    assert seen == [{1}, {1}]
    assert _blas_threads() == before
