"""Placebo tests: random re-assignment of treatment, run in parallel on Dask.

All placebo assignments are drawn up front from one seeded generator in the
calling process and cut into chunks; workers only compute. The results are
therefore identical for a given seed whatever the number of workers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import EstimationError, PanelShapeError

from spillmap.models.did._treatment import FIRST_YEAR

__all__ = ["PlaceboResult", "placebo_test", "PlaceboMode", "placebo_assignments"]

PlaceboMode = Literal["random", "timing"]
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class PlaceboResult:
    """Placebo estimates against the real one.

    ``p_value`` is the two-sided empirical p-value (1 + #{|β_placebo| ≥
    |β_real|}) / (draws + 1); ``p_value_t`` the same for t-values.
    """

    estimates: np.ndarray = field(repr=False)
    ses: np.ndarray = field(repr=False)
    t_values: np.ndarray = field(repr=False)
    real_estimate: float
    real_se: float
    real_t: float
    mode: str
    model: str
    draws: int
    seed: int | None

    @property
    def p_value(self) -> float:
        return _empirical_p(self.estimates, self.real_estimate)

    @property
    def p_value_t(self) -> float:
        return _empirical_p(self.t_values, self.real_t)

    def to_frame(self) -> pd.DataFrame:
        """One row per placebo draw: draw, estimate, se, t."""
        return pd.DataFrame(
            {"draw": np.arange(self.draws), "estimate": self.estimates, "se": self.ses, "t": self.t_values}
        )

    def to_dict(self) -> dict[str, object]:
        finite = self.estimates[np.isfinite(self.estimates)]
        return {
            "model": self.model,
            "mode": self.mode,
            "draws": self.draws,
            "seed": self.seed,
            "real_estimate": self.real_estimate,
            "real_t": self.real_t,
            "p_value": self.p_value,
            "p_value_t": self.p_value_t,
            "placebo_mean": float(finite.mean()) if finite.size else None,
            "placebo_sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
        }

    def plot(self, ax=None):  # noqa: ANN001, ANN201
        from spillmap.models._plots import plot_placebo

        return plot_placebo(self, ax=ax)


def _empirical_p(values: np.ndarray, real: float) -> float:
    finite = values[np.isfinite(values)]
    return float((1 + np.sum(np.abs(finite) >= abs(real))) / (len(finite) + 1))


def placebo_assignments(
    first_year: np.ndarray, periods: np.ndarray, draws: int, mode: PlaceboMode, rng: np.random.Generator
) -> np.ndarray:
    """Placebo first treated periods, shape (draws, N); NaN means never treated.

    ``"random"`` permutes the units' first years, keeping how many units start
    in each batch year (and how many are never treated). ``"timing"`` keeps
    the treated units and draws each a fake first year uniformly from the
    panel's periods after the first.
    """
    fy = np.asarray(first_year, dtype=float)
    if mode == "random":
        return np.stack([rng.permutation(fy) for _ in range(draws)])
    if mode == "timing":
        out = np.full((draws, len(fy)), np.nan)
        treated = np.isfinite(fy)
        out[:, treated] = rng.choice(np.asarray(periods[1:], dtype=float), size=(draws, int(treated.sum())))
        return out
    raise EstimationError(f"mode must be 'random' or 'timing', not {mode!r}.")


def placebo_test(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    controls: Sequence[str] = (),
    draws: int = 500,
    seed: int | np.random.Generator | None = None,
    mode: PlaceboMode = "random",
    model: Literal["twfe", "sdm"] = "twfe",
    weights: object = None,
    fe: str = "twoways",
    lee_yu: bool | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> PlaceboResult:
    """Re-assign treatment ``draws`` times and compare the placebo estimates with the real one.

    Parameters
    ----------
    data
        Panel from :func:`assign_treatment` (needs ``first_year``).
    model
        ``"twfe"``: the baseline DID (unit and period effects, clustered by
        unit; a vectorised kernel equal to pyfixest). ``"sdm"``: the spatial
        Durbin DID with ``weights`` (the DID coefficient is compared).
    scheduler
        Address of a running Dask scheduler; by default a LocalCluster with
        ``workers`` processes (default 2) is started and closed.
    workers
        ``0`` runs in this process without Dask.
    progress
        Called with the number of draws finished after each chunk.
    """
    if draws < 1:
        raise EstimationError("draws must be at least 1.")
    if FIRST_YEAR not in data.columns:
        raise PanelShapeError(f"The panel has no '{FIRST_YEAR}' column; add treatment with assign_treatment().")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    task = _make_task(data, y, id_col, time_col, controls, model, weights, fe, lee_yu)
    real = task(task.real_first_year[None, :])
    assignments = placebo_assignments(task.real_first_year, task.periods, draws, mode, rng)
    results = _run(task, assignments, chunk_size, scheduler=scheduler, workers=workers, progress=progress)
    beta = np.concatenate([r[0] for r in results])
    se = np.concatenate([r[1] for r in results])
    tval = np.concatenate([r[2] for r in results])
    return PlaceboResult(
        estimates=beta, ses=se, t_values=tval, real_estimate=float(real[0][0]), real_se=float(real[1][0]),
        real_t=float(real[2][0]), mode=mode, model=model, draws=draws,
        seed=seed if isinstance(seed, (int, np.integer)) else None,
    )


def _chunks(assignments: np.ndarray, chunk_size: int | None, threads: int) -> list[np.ndarray]:
    """About four chunks per worker thread (at most 50 draws each), so the cluster stays busy to the end.

    The draws are fixed before chunking: the chunk size changes the schedule, never the result.
    """
    draws = len(assignments)
    size = chunk_size or max(1, min(50, draws // (4 * max(threads, 1)) or 1))
    return [assignments[i:i + size] for i in range(0, draws, size)]


def _run(task, assignments, chunk_size, *, scheduler, workers, progress):  # noqa: ANN001, ANN202
    if workers == 0:
        chunks = _chunks(assignments, chunk_size, 2)
        out, done = [], 0
        for chunk in chunks:
            out.append(task(chunk))
            done += len(chunk)
            if progress:
                progress(done)
        return out
    from spillmap.errors import ClusterLostError
    from spillmap.models._dask import _WITHOUT, RETRIES, cluster_threads, completed, dask_client
    from spillmap.models._threads import one_blas_thread

    # in-process threads share the caller's BLAS: one thread each, set from this thread (see _threads)
    hold = one_blas_thread() if scheduler is None else contextlib.nullcontext()
    with hold, dask_client(scheduler, workers) as client:
        # chunks follow the cluster's size: its worker threads now (a scheduler's), or the in-process threads
        chunks = _chunks(assignments, chunk_size, cluster_threads(client))
        shared = client.scatter(task, broadcast=True)
        futures = [client.submit(_apply, shared, chunk, pure=False, retries=RETRIES) for chunk in chunks]
        index = {f.key: k for k, f in enumerate(futures)}
        out: list = [None] * len(futures)
        done = 0
        try:
            for future, result in completed(client, futures):
                k = index[future.key]
                out[k] = result
                done += len(chunks[k])
                if progress:
                    progress(done)
        except ClusterLostError as err:
            raise ClusterLostError(
                f"{err.reason}; {done} of {len(assignments)} placebo draws were finished, but placebo draws "
                f"are not cached: run the command again once the cluster has workers, or {_WITHOUT.get()}."
            ) from None
        return out


def _apply(task, chunk):  # noqa: ANN001, ANN202
    return task(chunk)


def _make_task(data, y, id_col, time_col, controls, model, weights, fe, lee_yu):  # noqa: ANN001, ANN202
    if model == "twfe":
        from spillmap.models.did._twfe_kernel import TwfeKernel

        kernel = TwfeKernel.from_frame(data, y, id_col=id_col, time_col=time_col, controls=controls)
        return _TwfeTask(kernel, _unit_first_years(data, id_col, kernel.ids), kernel.periods)
    if model == "sdm":
        if weights is None:
            raise EstimationError("model='sdm' needs weights=.")
        from spillmap.models.spatial_did._sdid import SdmDidTask

        return SdmDidTask.build(data, y, id_col=id_col, time_col=time_col, controls=controls,
                                weights=weights, fe=fe, lee_yu=lee_yu,
                                first_year=lambda ids: _unit_first_years(data, id_col, ids))
    raise EstimationError(f"model must be 'twfe' or 'sdm', not {model!r}.")


def _unit_first_years(data: pd.DataFrame, id_col: str, ids: np.ndarray) -> np.ndarray:
    per_unit = data.groupby(id_col, sort=False)[FIRST_YEAR].first()
    per_unit.index = per_unit.index.map(str)
    return per_unit.reindex([str(i) for i in ids]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True, eq=False)
class _TwfeTask:
    kernel: object
    real_first_year: np.ndarray
    periods: np.ndarray

    def __call__(self, first_years: np.ndarray):  # noqa: ANN204
        return self.kernel.fit(self.kernel.dummies(first_years))
