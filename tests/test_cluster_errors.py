"""Dask clusters never surprise: a scheduler is checked at start, paths are absolute, lost workers are survived.

Cases: an unreachable ``--scheduler`` (a loopback port found free, then closed) is one ``error:`` line
naming the address within seconds for ``did``, ``sdid`` and ``sweep`` (before the panel is read or any
model runs; ``run_did`` too, before its DID chain); a scheduler without workers is one line saying to
start one; ``run`` names the config key, not an option it does not have; ``sweep --scheduler`` with a
relative ``--out`` works with a worker process running in another directory (the cache lands in
``--out``); a worker lost mid-run is replaced (every task still returns its own result); every worker
lost is one error saying how many bands are kept in the cache and how to resume, and resuming gives the
result of an uninterrupted run; placebo chunks follow the cluster's thread count and the result does
not depend on them. Clusters are in-process (``LocalCluster``) on loopback ports chosen by the OS.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.errors import ClusterLostError, SchedulerError
from spillmap.models import distance_bands, distance_sweep

from .bad_inputs import run_bad
from .models.sweep_data import china_setup, siphon_panel

SWEEP = ["--band", "100", "--max", "300", "--effects", "100", "--method", "separate"]


def _cluster(workers: int, threads: int = 1):
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=threads, processes=False, protocol="tcp",
                        host="127.0.0.1", scheduler_port=0, dashboard_address="127.0.0.1:0",
                        silence_logs=logging.ERROR)


def _close_workers(cluster) -> None:  # noqa: ANN001
    for name in list(cluster.workers):
        cluster.sync(cluster.workers[name].close)


@pytest.fixture
def free_address() -> str:
    """A loopback address nothing listens on: a port the OS gave, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


@pytest.mark.parametrize("command", [["did", "--placebo", "20"], ["sdid", "--placebo", "5"], ["sweep", *SWEEP]])
def test_unreachable_scheduler(command, free_address, tmp_path):
    out = tmp_path / "out"
    start = time.monotonic()
    message = run_bad([*command, "--scheduler", free_address, "--out", out],
                      expect=[f"'{free_address}'", "connection refused", "leave out --scheduler"], out=out)
    assert time.monotonic() - start < 5, "the scheduler is checked first, within seconds"
    assert "Cannot reach the Dask scheduler" in message


def test_scheduler_without_workers(tmp_path):
    out = tmp_path / "out"
    with _cluster(0) as cluster:
        address = cluster.scheduler_address
        start = time.monotonic()
        run_bad(["sweep", *SWEEP, "--scheduler", address, "--out", out],
                expect=[f"'{address}' has no workers", f"dask worker {address}", "leave out --scheduler"], out=out)
        assert time.monotonic() - start < 8


def test_run_names_the_config_key(free_address, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[models]\nplacebo = 20\n\n[output]\nscheduler = "{free_address}"\n', encoding="utf-8")
    out = tmp_path / "out"
    run_bad(["run", config, "--out", out], expect=[free_address, f"scheduler in [output] of '{config}'",
                                                   "remove `scheduler` from [output]"], out=out, inputs=[config])


def test_run_did_checks_before_its_chain(free_address, tmp_path, monkeypatch):
    import spillmap.models
    from spillmap.policy import load_policy_inputs, run_did

    inputs = load_policy_inputs(None, y=None, id_col=None, time_col=None, seed=0)

    def no_model(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a model ran before the scheduler was checked")

    monkeypatch.setattr(spillmap.models, "fit_did", no_model)
    with pytest.raises(SchedulerError, match="connection refused"):
        run_did(inputs, tmp_path / "out", placebo_draws=10, scheduler=free_address)


def test_relative_out_with_a_worker_elsewhere(tmp_path, monkeypatch):
    """The worker process runs in another folder: the sweep's cache path it receives must be absolute."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    with _cluster(0) as cluster:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address, "--nthreads", "1",
             "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
            cwd=elsewhere, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            monkeypatch.chdir(here)
            result = CliRunner().invoke(app, ["sweep", *SWEEP, "--scheduler", cluster.scheduler_address,
                                              "--out", "rel", "--json"])
        finally:
            worker.terminate()
            worker.wait(10)
    assert result.exit_code == 0, result.output
    cache = here / "rel" / ".sweep-cache"
    assert len(list(cache.glob("band_*.npz"))) == 3
    assert len(list(cache.glob("eig_*.npz"))) == 3  # written by the worker, in --out, not in its own folder
    assert not list(elsewhere.rglob("*.npz"))


def test_a_lost_worker_is_replaced():
    from spillmap.models._dask import RETRIES, completed, dask_client

    def slow(i: int) -> int:
        time.sleep(0.3)
        return i * i

    with _cluster(2) as cluster, dask_client(cluster.scheduler_address, None) as client:
        futures = [client.submit(slow, i, pure=False, retries=RETRIES) for i in range(8)]
        got = {}
        for future, result in completed(client, futures):
            if not got:  # one worker goes away with its running task
                cluster.sync(cluster.workers[next(iter(cluster.workers))].close)
            got[futures.index(future)] = result
    assert got == {i: i * i for i in range(8)}


def test_no_worker_left_is_not_waited_for_ever(monkeypatch):
    import spillmap.models._dask as dask_module
    from spillmap.models._dask import completed, dask_client

    monkeypatch.setattr(dask_module, "LOST_AFTER_S", 1.0)
    with _cluster(1) as cluster, dask_client(cluster.scheduler_address, None) as client:
        futures = [client.submit(time.sleep, 0.2, pure=False) for _ in range(6)]
        start = time.monotonic()
        with pytest.raises(ClusterLostError, match=r"none for 1 s\); start workers \(`dask worker tcp://"):
            for _ in completed(client, futures):
                _close_workers(cluster)
        assert time.monotonic() - start < 8


def test_all_workers_lost_says_what_is_kept(tmp_path, monkeypatch):
    import spillmap.models._dask as dask_module

    monkeypatch.setattr(dask_module, "LOST_AFTER_S", 1.0)
    panel, (dist, _) = siphon_panel(seed=11), china_setup()
    kw = dict(id_col="code", time_col="year", controls=["x1", "x2"], bands=distance_bands(100, 400), draws=100,
              seed=1, method="separate")
    cache = tmp_path / "cache"
    with _cluster(1) as cluster:
        def kill_after_first(done: int, total: int) -> None:
            if done == 1:
                _close_workers(cluster)

        start = time.monotonic()
        with pytest.raises(ClusterLostError) as lost:
            distance_sweep(panel, "y", dist, scheduler=cluster.scheduler_address, cache_dir=cache,
                           progress=kill_after_first, **kw)
        assert time.monotonic() - start < 15
    message = str(lost.value)
    assert "\n" not in message and "Every worker of the Dask scheduler" in message
    kept = len(list(cache.glob("band_*.npz")))
    assert kept >= 1 and f"{kept} of 4 bands are finished and kept in the sweep cache '{cache}'" in message
    assert "run the same command again to resume" in message and "leave out --scheduler" in message
    resumed = distance_sweep(panel, "y", dist, workers=0, cache_dir=cache, **kw)
    assert resumed.cached_bands == kept
    fresh = distance_sweep(panel, "y", dist, workers=0, **kw)
    pd.testing.assert_frame_equal(resumed.table, fresh.table, rtol=1e-10)


def test_cli_all_workers_lost_is_one_message(tmp_path, monkeypatch):
    import spillmap.models._dask as dask_module

    real = dask_module.completed
    monkeypatch.setattr(dask_module, "LOST_AFTER_S", 1.0)
    out, cache = tmp_path / "out", tmp_path / "cache"
    with _cluster(1) as cluster:
        def completed_then_lost(client, futures, **kw):  # noqa: ANN001, ANN003, ANN202
            for k, item in enumerate(real(client, futures, **kw)):
                yield item
                if k == 0:
                    _close_workers(cluster)

        monkeypatch.setattr(dask_module, "completed", completed_then_lost)
        message = run_bad(["sweep", *SWEEP, "--scheduler", cluster.scheduler_address, "--cache", cache, "--out", out],
                          expect=["Every worker of the Dask scheduler", "bands are finished and kept in the sweep "
                                  f"cache '{cache}'", "run the same command again to resume"], out=out)
    assert message.count("bands are finished") == 1


def test_placebo_chunks_follow_the_cluster(monkeypatch):
    from spillmap.models import placebo_test
    from spillmap.models.did import _placebo

    seen = []
    chunks = _placebo._chunks
    monkeypatch.setattr(_placebo, "_chunks", lambda a, size, threads: seen.append(threads) or chunks(a, size, threads))
    panel = siphon_panel(seed=3)
    kw = dict(id_col="code", time_col="year", draws=64, seed=4)
    with _cluster(2, threads=2) as cluster:
        on_cluster = placebo_test(panel, "y", scheduler=cluster.scheduler_address, **kw)
    here = placebo_test(panel, "y", workers=0, **kw)
    assert seen == [4, 2]  # 2 workers × 2 threads; then the in-process default
    assert len(chunks(np.zeros((64, 3)), None, 4)) == 16  # about four chunks per thread
    np.testing.assert_array_equal(on_cluster.estimates, here.estimates)
