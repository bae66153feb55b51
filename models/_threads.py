"""BLAS thread limits that are safe to enter from several threads and always restore the caller's setting.

threadpoolctl's limits are process-wide. Two Dask threads that each enter
and leave ``threadpool_limits(1)`` interleave: the second saves the first's
limit as "original" and restores it last, leaving the process at one thread
after the sweep. Here the first entry sets the limit, later (nested or
concurrent) entries only count, and the last exit restores what the process
had before. Holding one BLAS thread also makes results independent of how
many threads or workers run: OpenBLAS may split a reduction differently with
two threads, and a likelihood maximised on a flat top turns a last-bit
difference into a visible one.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Iterator

__all__ = ["SINGLE_THREAD_MAX_N", "blas_threads", "one_blas_thread"]

#: Up to this many units one BLAS thread is faster: numpy and scipy ship separate OpenBLAS
#: libraries whose idle threads spin and fight for the cores between small calls.
SINGLE_THREAD_MAX_N = 1500

_lock = threading.Lock()
_depth = 0
_limiter = None


def _controller():  # noqa: ANN202 - threadpoolctl.ThreadpoolController
    """A threadpoolctl controller that knows every BLAS loaded so far.

    Scanning the loaded libraries costs ~1.5 ms, so the scan is kept until a
    module is imported (a controller made before scipy loads its own OpenBLAS
    would not limit it).
    """
    return _scan(len(sys.modules))


@functools.lru_cache(maxsize=1)
def _scan(_modules: int):  # noqa: ANN202
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold BLAS at one thread for the body; re-entrant and thread-safe; restores the caller's limit."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _limiter = _controller().limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def blas_threads(n: int) -> contextlib.AbstractContextManager[None]:
    """One BLAS thread for problems of up to :data:`SINGLE_THREAD_MAX_N` units; else leave BLAS as it is."""
    if n > SINGLE_THREAD_MAX_N:
        return contextlib.nullcontext()
    return one_blas_thread()
