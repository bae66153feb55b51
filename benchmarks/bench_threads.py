"""Benchmark: BLAS threads on a shared machine, run by hand.

    python benchmarks/bench_threads.py [--n 2875] [--repeat 3]

An N-unit two-way SDM (6-nearest-neighbour W of random points, T=10): a first fit and two refits on a
new W, timed (median of ``--repeat``) with spillmap's thread policy (BLAS threads = the cores the process
may use, divided among the Dask worker's threads, at most the cores other processes leave idle; one thread up
to 1,500 units) and with BLAS held at one
thread, each twice: on an idle machine and with a busy-loop process on every other core ("under load").
It prints the BLAS threads each run used and whether threads × workers stayed within the available cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
import warnings

from bench_large import FORMULA, KW, knn_graph, simulate


def _busy(stop) -> None:  # noqa: ANN001
    while not stop.is_set():
        pass


def _fits(graph, data, one_thread: bool) -> tuple[float, int]:  # noqa: ANN001
    from spillmap.models import fit_spatial_panel, prepare_weights
    from spillmap.models._threads import SINGLE_THREAD_MAX_N, idle_cores, one_blas_thread, task_blas_limit
    from spillmap.models.panel._weights import _PREPARED

    _PREPARED.clear()
    idle = idle_cores()  # what the policy sees before the fit (it samples again inside)
    threads = 1 if one_thread or graph.n_nodes <= SINGLE_THREAD_MAX_N else \
        max(1, min(task_blas_limit(), int((idle or task_blas_limit()) + 0.5)))
    start = time.perf_counter()
    hold = one_blas_thread() if one_thread else warnings.catch_warnings()
    with hold:
        w = prepare_weights(graph)
        for _ in range(3):
            fit_spatial_panel(data, FORMULA, weights=w, **KW)
    return time.perf_counter() - start, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2875)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cores = len(os.sched_getaffinity(0))
    graph = knn_graph(args.n, seed=1)
    data = simulate(graph, 10, seed=2)
    print(f"N={args.n:,} T=10 two-way SDM, first fit + 2 refits on a new W; {cores} cores available; "
          f"median of {args.repeat}")
    for load in (False, True):
        stop, hogs = mp.Event(), []
        if load:
            hogs = [mp.Process(target=_busy, args=(stop,)) for _ in range(max(1, cores - 1))]
            for h in hogs:
                h.start()
        try:
            for one in (False, True):
                runs = [_fits(graph, data, one) for _ in range(args.repeat)]
                med = statistics.median(r[0] for r in runs)
                used = runs[-1][1]
                policy = "one BLAS thread" if one else "spillmap's policy"
                print(f"  {'under load' if load else 'idle':10s} {policy:18s}: {med:6.2f} s, BLAS threads inside "
                      f"the fit {used} (within {cores} cores: {'yes' if used <= cores else 'NO'})")
        finally:
            stop.set()
            for h in hogs:
                h.join()


if __name__ == "__main__":
    main()
