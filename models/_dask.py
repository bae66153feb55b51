"""One way to reach Dask: a quiet in-process LocalCluster on loopback, or a running scheduler.

No fixed port is ever bound: Dask's scheduler starts an HTTP server even
without the dashboard, on port 8787 unless told otherwise, which clashes
with any other cluster on the machine ("Port 8787 is already in use").
Here it listens on a free loopback port (``127.0.0.1:0``).

A scheduler given by address is checked before any work is sent
(:func:`check_scheduler`: reachable within :data:`CONNECT_TIMEOUT_S`, with at
least one worker), tasks are submitted with :data:`RETRIES` retries, and
:func:`completed` hands back results as they finish while watching the
cluster: when it has had no worker for :data:`LOST_AFTER_S` seconds, or the
scheduler went away, it raises :class:`~spillmap.errors.ClusterLostError`
instead of waiting for ever.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterable, Iterator

from spillmap.errors import ClusterLostError, SchedulerError

__all__ = ["dask_client", "check_scheduler", "cluster_threads", "completed", "scheduler_named", "local_threads",
           "LOOPBACK_ANY_PORT", "LOCAL_THREADS", "RETRIES"]

#: HTTP address of the in-process scheduler: loopback only, any free port.
LOOPBACK_ANY_PORT = "127.0.0.1:0"
#: Seconds to reach a scheduler given by address (Dask's default is 30).
CONNECT_TIMEOUT_S = 5.0
#: Seconds a reachable scheduler is given to show its first worker.
WORKER_WAIT_S = 2.0
#: Seconds without any worker during a run before the cluster counts as lost.
LOST_AFTER_S = 10.0
#: Threads of the in-process cluster when none are asked for (capped at the available cores).
LOCAL_THREADS = 2
#: Retries of a task whose worker failed (``client.submit(..., retries=RETRIES)``).
RETRIES = 2
#: How a run can do without the scheduler; ``run`` words it for its config file (:func:`scheduler_named`).
_WITHOUT = contextvars.ContextVar("without_scheduler", default="leave out --scheduler to run on this machine")


@contextlib.contextmanager
def scheduler_named(without: str) -> Iterator[None]:
    """Messages inside say ``without`` (e.g. "remove `scheduler` from [output] …") to run without the scheduler."""
    token = _WITHOUT.set(without)
    try:
        yield
    finally:
        _WITHOUT.reset(token)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The ``distributed`` logger held at ERROR (the scheduler logs every connection at INFO), then restored."""
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield
    finally:
        quiet.setLevel(level)


def _connect(scheduler: str, *, source: str | None = None):  # noqa: ANN202 - distributed.Client
    """A client on ``scheduler`` with at least one worker, or a :class:`SchedulerError` naming the address.

    ``source`` says where the address came from (e.g. a config key), for the message.
    """
    from distributed import Client

    named = f"'{scheduler}'" + (f" ({source})" if source else "")
    fix = (f"check the address (tcp://HOST:PORT, as printed by `dask scheduler`) and that the scheduler runs, or "
           f"{_WITHOUT.get()}")
    refused = _refused(scheduler)
    if refused:  # Dask would retry a refused connection until its timeout
        raise SchedulerError(f"Cannot reach the Dask scheduler at {named}: {refused}; {fix}.")
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as err:
        reason = str(err) or type(err).__name__
        if "Timed out" in reason or isinstance(err, (TimeoutError, ConnectionError)):
            reason = f"no answer within {CONNECT_TIMEOUT_S:g} s"
        raise SchedulerError(f"Cannot reach the Dask scheduler at {named}: {reason}; {fix}.") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (OSError, TimeoutError):
        client.close()
        raise SchedulerError(
            f"The Dask scheduler at {named} has no workers (none joined within {WORKER_WAIT_S:g} s); "
            f"start one with `dask worker {scheduler}`, or {_WITHOUT.get()}."
        ) from None
    return client


def _refused(scheduler: str) -> str | None:
    """For a tcp:// address, why a plain TCP connection fails at once (refused, unknown host), else None."""
    import socket

    if not isinstance(scheduler, str) or ("://" in scheduler and not scheduler.startswith("tcp://")):
        return None
    try:
        from distributed.comm import get_address_host_port

        host, port = get_address_host_port(scheduler)
    except (ValueError, TypeError) as err:
        return str(err) or "not an address"
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except ConnectionRefusedError:
        return f"connection refused (nothing listens on port {port} of {host})"
    except socket.gaierror:
        return f"unknown host '{host}'"
    except OSError:
        return None  # a timeout or a route problem: Dask's own attempt says more
    return None


def check_scheduler(scheduler: str | None, *, source: str | None = None) -> int:
    """Check that ``scheduler`` is reachable and has workers; returns its number of worker threads (0 if None).

    Meant for the start of a command, before any model runs: a wrong address
    is reported within :data:`CONNECT_TIMEOUT_S` seconds as one
    :class:`SchedulerError`, not after the work that would have used it.
    """
    if not scheduler:
        return 0
    with _quiet():
        client = _connect(scheduler, source=source)
        try:
            return cluster_threads(client)
        finally:
            client.close()


def cluster_threads(client) -> int:  # noqa: ANN001 - distributed.Client
    """Worker threads the cluster has now (at least 1)."""
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # older distributed: no n_workers argument
        workers = client.scheduler_info()["workers"]
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def local_threads(threads: int | None) -> int:
    """Threads of the in-process cluster: ``threads`` (default :data:`LOCAL_THREADS`), at most the available cores.

    More threads than cores only queue behind each other (each holds at least
    one BLAS thread); the cap is logged at DEBUG.
    """
    from spillmap.models._threads import available_cores

    cores = available_cores()
    wanted = LOCAL_THREADS if threads is None else max(1, int(threads))
    if wanted > cores:
        logging.getLogger(__name__).debug("in-process Dask cluster: %d threads asked, %d cores available; using %d",
                                          wanted, cores, cores)
    return min(wanted, cores)


@contextlib.contextmanager
def dask_client(scheduler: str | None, threads: int | None) -> Iterator[object]:
    """A ``distributed.Client`` on ``scheduler``, or on an in-process cluster of ``threads`` threads.

    The in-process cluster is one worker of threads in this process (no
    process start-up, no copies of the data), with ``threads`` (default 2)
    capped at the cores this process may use (:func:`local_threads`): its
    tasks share the process's BLAS, and :mod:`spillmap.models._threads` gives
    each task ``cores // threads`` BLAS threads, so tasks × BLAS threads never
    exceed the cores. A scheduler given by address must answer within
    :data:`CONNECT_TIMEOUT_S` seconds and have a worker (else
    :class:`SchedulerError`). The ``distributed`` logger is held at ERROR
    while the client lives and restored afterwards.
    """
    from distributed import Client, LocalCluster

    cluster = None
    with _quiet():
        try:
            if scheduler is None:
                cluster = LocalCluster(n_workers=1, threads_per_worker=local_threads(threads), processes=False,
                                       dashboard_address=LOOPBACK_ANY_PORT, silence_logs=logging.ERROR)
                client = Client(cluster)
            else:
                client = _connect(scheduler)
            client.spillmap_address = scheduler or "the in-process cluster"  # for messages
            try:
                yield client
            finally:
                with contextlib.suppress(Exception):  # a scheduler that is gone cannot say goodbye
                    client.close()
        finally:
            if cluster is not None:
                cluster.close()


def _worker_count(client) -> int | None:  # noqa: ANN001
    """Workers the scheduler knows now; None when the scheduler cannot be asked."""
    if getattr(client, "status", "running") not in ("running", "connecting"):
        return None
    try:
        return len(client.scheduler_info(n_workers=-1)["workers"])
    except Exception:  # noqa: BLE001 - a scheduler that went away fails in many ways
        return None


def completed(client, futures: Iterable, *, poll_s: float = 0.5) -> Iterator[tuple[object, object]]:  # noqa: ANN001
    """``(future, result)`` as futures finish, while the cluster lives.

    A worker lost mid-task is replaced by the scheduler (the task runs again
    elsewhere, up to ``RETRIES`` times when it raised). When the cluster has
    had no worker for :data:`LOST_AFTER_S` seconds, a task killed too many
    workers, or the scheduler went away, :class:`ClusterLostError` says so;
    the caller adds what was kept and how to resume.
    """
    from concurrent.futures import CancelledError

    from distributed import wait
    from distributed.scheduler import KilledWorker

    where = getattr(client, "spillmap_address", None) or "the scheduler"
    pending = set(futures)
    alone_since: float | None = None
    while pending:
        try:
            done, pending = wait(pending, timeout=poll_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except CancelledError:  # the scheduler dropped the work (e.g. its workers left with the shared data)
            raise _cancelled(client, where) from None
        for future in done:
            try:
                result = future.result()
            except KilledWorker:
                raise _lost(f"A task lost its worker at {where} too many times in a row (do the workers run out "
                            "of memory?)", where) from None
            except (CancelledError, OSError) as err:
                if isinstance(err, OSError) and not _is_comm_error(err):
                    raise
                raise _cancelled(client, where) from None
            yield future, result
        if done:
            alone_since = None
            continue
        count = _worker_count(client)
        if count is None:
            raise _lost(f"The connection to the Dask scheduler at {where} was lost", where)
        if count:
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since >= LOST_AFTER_S:
            raise _lost(f"Every worker of the Dask scheduler at {where} left (none for {LOST_AFTER_S:g} s)", where)


def _cancelled(client, where: str) -> ClusterLostError:  # noqa: ANN001
    """Why the scheduler cancelled the work: no worker left, no scheduler left, or shared data lost."""
    count = _worker_count(client)
    if count is None:
        return _lost(f"The connection to the Dask scheduler at {where} was lost", where)
    if count == 0:
        return _lost(f"Every worker of the Dask scheduler at {where} left", where)
    return _lost(f"The Dask scheduler at {where} dropped the work (workers that held its shared data left)",
                 where)


def _lost(reason: str, where: str) -> ClusterLostError:
    """The error of a lost cluster; ``.reason`` lets a caller add what was kept and how to resume."""
    start = f"start workers (`dask worker {where}`) and " if where.startswith(("tcp://", "tls://")) else ""
    err = ClusterLostError(f"{reason}; {start}run the command again, or {_WITHOUT.get()}.")
    err.reason = reason
    err.where = where
    return err


def _is_comm_error(err: OSError) -> bool:
    from distributed.comm.core import CommClosedError

    return isinstance(err, (CommClosedError, ConnectionError))
