"""One way to reach Dask: a quiet in-process LocalCluster on loopback, or a running scheduler.

No fixed port is ever bound: Dask's scheduler starts an HTTP server even
without the dashboard, on port 8787 unless told otherwise, which clashes
with any other cluster on the machine ("Port 8787 is already in use").
Here it listens on a free loopback port (``127.0.0.1:0``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["dask_client", "LOOPBACK_ANY_PORT"]

#: HTTP address of the in-process scheduler: loopback only, any free port.
LOOPBACK_ANY_PORT = "127.0.0.1:0"


@contextlib.contextmanager
def dask_client(scheduler: str | None, threads: int | None) -> Iterator[object]:
    """A ``distributed.Client`` on ``scheduler``, or on an in-process cluster of ``threads`` threads (default 2).

    The ``distributed`` logger is held at ERROR while the client lives (the
    scheduler logs every connection at INFO) and restored afterwards.
    """
    from distributed import Client, LocalCluster

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=1, threads_per_worker=threads or 2, processes=False,
                                   dashboard_address=LOOPBACK_ANY_PORT, silence_logs=logging.ERROR)
        client = Client(scheduler or cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        quiet.setLevel(level)
