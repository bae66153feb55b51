"""Distance-band sweep of the spatial Durbin DID: where does spillover turn into siphon?

For each band (a ring (d − Δ, d] or a disc (0, d] kilometres) the weights are
rebuilt from the same pairwise distances, decomposed once, and the SDM-DID
(two-way effects, Lee–Yu) is refitted; the direct, indirect and total effects
of the DID dummy come with simulation draws, from which the crossover radius
(:mod:`._crossover`) gets its interval.

Bands are independent tasks: they run in parallel on Dask (threads of a
LocalCluster, or an existing scheduler) and each finished band is written to
an optional cache folder, so an interrupted sweep resumes where it stopped and
a repeated one costs nothing. Each band's simulation draws use their own
random stream derived from ``seed`` and the band's bounds, so results do not
depend on the number of workers, the order in which bands finish, or which
other bands are swept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import SpillmapError

from spillmap.models.spatial_did._crossover import Crossover, crossover
from spillmap.models.did._treatment import DID

__all__ = ["Band", "BandFit", "SweepResult", "distance_bands", "distance_sweep"]

SweepMode = Literal["ring", "cumulative"]
SweepMethod = Literal["exposure", "kernel", "sdm", "separate"]
BandWeight = Literal["inverse", "binary"]
_EFFECTS = ("direct", "indirect", "total")
_CACHE_FORMAT = 2  # 2: every cached file carries its inputs' fingerprint and a sha256 checksum


@dataclass(frozen=True, order=True)
class Band:
    """One distance band: neighbours ``inner_km < d <= outer_km`` kilometres apart."""

    inner_km: float
    outer_km: float
    mode: SweepMode = "ring"

    @property
    def label(self) -> str:
        """``"50-100"`` (kilometres)."""
        return f"{self.inner_km:g}-{self.outer_km:g}"

    @property
    def position_km(self) -> float:
        """Where the band sits on the distance axis: a ring's midpoint, a disc's radius (km)."""
        return (self.inner_km + self.outer_km) / 2 if self.mode == "ring" else self.outer_km


def distance_bands(
    step_km: float = 50.0,
    max_km: float = 600.0,
    *,
    mode: SweepMode = "ring",
    min_km: float = 0.0,
) -> tuple[Band, ...]:
    """Bands of ``step_km`` kilometres from ``min_km`` to ``max_km``.

    ``mode="ring"`` gives (0, 50], (50, 100], …; ``"cumulative"`` gives
    (0, 50], (0, 100], … (each disc contains the previous ones).
    """
    if mode not in ("ring", "cumulative"):
        raise SpillmapError(f"mode must be 'ring' or 'cumulative', not {mode!r}.")
    if not (step_km > 0 and max_km > min_km >= 0):
        raise SpillmapError(
            f"Bands need step_km > 0 and max_km > min_km >= 0 (kilometres); got step {step_km:g}, "
            f"min {min_km:g}, max {max_km:g}."
        )
    edges = np.arange(min_km + step_km, max_km + step_km * 1e-9, step_km)
    if not len(edges):
        raise SpillmapError(f"No band of {step_km:g} km fits between {min_km:g} and {max_km:g} km.")
    if mode == "ring":
        return tuple(Band(float(e - step_km), float(e), "ring") for e in edges)
    return tuple(Band(float(min_km), float(e), "cumulative") for e in edges)


@dataclass(frozen=True)
class BandFit:
    """What one band's fit keeps: its table row, effect draws and per-unit neighbour counts."""

    band: Band
    row: dict
    draws: np.ndarray = field(repr=False)  # (draws, 3): direct, indirect, total of the DID dummy
    neighbours: np.ndarray = field(repr=False)  # per unit, in the distances' id order
    error: str | None = None
    cached: bool = False
    notes: tuple[str, ...] = ()  # cache problems met while fitting (reported by the caller, which may be remote)


@dataclass(frozen=True)
class SweepResult:
    """The SDM-DID re-estimated band by band, with the crossover radius.

    Attributes
    ----------
    table
        One row per band: ``band``, ``inner_km``, ``outer_km``, ``position_km``,
        ``mean_km`` (link-weighted mean distance of the band's lag, km), links, mean/min/max neighbours, ``islands`` (count) and
        ``island_ids``, ``rho``/``rho_se``, ``beta_did``/``beta_se`` (own
        coefficient), ``theta_did``/``theta_se`` (W·DID), and for each of
        direct, indirect, total: estimate, se and 90 %/95 % simulation
        intervals; ``loglik``; ``error`` when a band could not be fitted.
    crossover
        :class:`Crossover` of the indirect effect.
    bands
        The bands in distance order.
    ids
        Unit ids (rows of ``neighbours``).
    neighbours
        Band label → neighbours per unit (for per-band map layers).
    fits
        Band label → :class:`SDMDiDResult` for bands fitted in this call
        (bands read from the cache carry no fit object).
    """

    table: pd.DataFrame
    crossover: Crossover
    bands: tuple[Band, ...]
    mode: str
    weight: str
    draws: int
    seed: int
    ids: np.ndarray = field(repr=False)
    neighbours: dict[str, np.ndarray] = field(repr=False)
    effect_draws: dict[str, np.ndarray] = field(repr=False)
    fits: dict[str, object] = field(repr=False, default_factory=dict)
    cached_bands: int = 0
    method: str = "separate"
    joint: object | None = field(repr=False, default=None)  # ExposureFit of method="exposure"
    matrices: dict[str, object] = field(repr=False, default_factory=dict)  # band label → exposure weights

    def to_frame(self) -> pd.DataFrame:
        """The per-band table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        """Per-band effects and the crossover, JSON-ready."""
        cols = ["band", "inner_km", "outer_km", "position_km", "mean_neighbours", "islands", "rho", "theta_did"]
        rows = []
        for rec in self.table.to_dict(orient="records"):
            item = {c: _plain(rec.get(c)) for c in cols}
            for eff in _EFFECTS:
                item[eff] = {k: _plain(rec.get(f"{eff}_{k}")) for k in
                             ("estimate", "se", "ci90_low", "ci90_high", "ci95_low", "ci95_high")}
            if rec.get("error"):
                item["error"] = rec["error"]
            rows.append(item)
        out = {"mode": self.mode, "weight": self.weight, "draws": self.draws, "seed": self.seed,
               "method": self.method, "bands": rows, "crossover": self.crossover.to_dict()}
        if self.joint is not None:
            out["vce"] = self.joint.vce
            out["cutoff_km"] = self.joint.cutoff_km
        return out

    def to_markdown(self, digits: int = 4) -> str:
        from spillmap.models._format import frame_to_markdown

        return frame_to_markdown(self._compact(), digits)

    def to_latex(self, digits: int = 4) -> str:
        return self._compact().to_latex(index=False, float_format=f"%.{digits}f")

    def _compact(self) -> pd.DataFrame:
        cols = ["band", "mean_neighbours", "islands", "rho", "theta_did", "direct_estimate", "indirect_estimate",
                "indirect_se", "indirect_ci95_low", "indirect_ci95_high", "total_estimate"]
        return self.table[cols]

    def plot(self, ax=None, *, level: float = 0.95, title: str | None = None):  # noqa: ANN001, ANN201
        """Indirect effect of DID against distance with its interval, zero line and crossover marked."""
        from spillmap.models._plots import plot_sweep

        return plot_sweep(self, ax=ax, level=level, title=title)


def distance_sweep(
    data: pd.DataFrame,
    y: str,
    distances: object,
    *,
    id_col: str,
    time_col: str,
    treatment: str = DID,
    controls: Sequence[str] = (),
    bands: Sequence[Band] | None = None,
    step_km: float = 50.0,
    max_km: float = 600.0,
    mode: SweepMode = "ring",
    weight: BandWeight = "inverse",
    alpha: float = 1.0,
    fe: str = "twoways",
    lee_yu: bool | None = None,
    draws: int = 1000,
    seed: int = 0,
    levels: Sequence[float] = (0.90, 0.95),
    min_linked_share: float = 0.5,
    workers: int | None = None,
    scheduler: str | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    method: SweepMethod | None = None,
    vce: str = "cluster",
    cutoff_km: float | None = None,
) -> SweepResult:
    """Estimate the spillover of the policy by distance band and locate the siphon radius.

    ``method="exposure"`` (default for rings) fits every band at once: a two-way
    fixed-effects DID with one exposure term per band (:mod:`._joint`), so each
    band's effect is net of the others, with cluster-by-unit (``vce="cluster"``)
    or Conley spatial-HAC (``vce="conley"``, ``cutoff_km``) variance.
    ``method="separate"`` (default for discs) re-fits the spatial Durbin DID
    on each band alone, as the Broadband China study did: each band's spatial
    lag then leaves the other bands' spillovers in the error, which persist
    over time, so its intervals are too narrow and neighbouring bands bleed
    into each other. For rings the crossover is located by band edges
    (:func:`crossover` with ``edges_km``).

    Parameters
    ----------
    data
        Long balanced panel with the 0/1 ``treatment`` column (e.g. from
        :func:`assign_treatment`); not modified.
    distances
        :class:`spillmap.gis.PairwiseDistances` of the panel's units
        (kilometres; computed once, with ``max_km`` at least the last band).
    bands
        Explicit bands; by default :func:`distance_bands` (``step_km``,
        ``max_km``, ``mode``).
    weight
        Weight inside a band: ``"inverse"`` (d^−alpha) or ``"binary"``; rows
        are standardised, islands (units with no neighbour in the band) kept
        as zero rows and counted.
    draws, seed
        Simulation draws of the effects per band and the seed they derive from.
    levels
        Interval levels for the effects and the crossover.
    min_linked_share
        A band enters the crossover search only if at least this share of
        units has a neighbour in it (e.g. prefecture seats are rarely within
        50 km of each other: such a band's indirect effect is an average
        over mostly empty rows and its sign is noise). Every band stays in
        the table, with ``in_crossover`` saying which were used.
    workers, scheduler
        Dask threads of a LocalCluster (default 2; 0 runs in this process),
        or the address of a running scheduler.
    cache_dir
        Folder for finished bands; a rerun with the same data and options
        reads them instead of refitting (resume). Each file carries a checksum
        and the fingerprint of its inputs and is checked when read; one that
        fails is reported (:class:`~spillmap.errors.CacheWarning`) and refitted.
    progress
        Called as ``progress(done, total)`` while bands finish.
    """
    band_list = tuple(sorted(bands)) if bands is not None else distance_bands(step_km, max_km, mode=mode)
    if not band_list:
        raise SpillmapError("No distance bands to sweep.")
    if draws < 2:
        raise SpillmapError("draws must be at least 2: the intervals come from the simulation draws.")
    mode_used = band_list[0].mode
    method = method or ("exposure" if mode_used == "ring" else "separate")
    if method not in ("exposure", "kernel", "sdm", "separate"):
        raise SpillmapError(f"method must be 'exposure', 'kernel', 'sdm' or 'separate', not {method!r}.")
    if method in ("exposure", "kernel", "sdm") and mode_used != "ring":
        raise SpillmapError(f"method='{method}' needs ring bands (each unit's neighbours in one band only); "
                            "cumulative discs overlap: use method='separate' (or ring bands).")
    if mode_used == "cumulative":
        from spillmap.errors import SpillmapWarning

        warnings.warn("Cumulative bands: a disc's effect adds the spillover of the near rings and the siphon of "
                      "the far ones, so its sign says where they balance, not where the siphon starts; ring "
                      "bands locate the crossover.", SpillmapWarning, stacklevel=2)
    dist_max = getattr(distances, "max_km", None)
    if dist_max is not None and dist_max < band_list[-1].outer_km:
        raise SpillmapError(
            f"The distances were kept only up to {dist_max:g} km but the last band reaches "
            f"{band_list[-1].outer_km:g} km; compute them with max_km >= {band_list[-1].outer_km:g}."
        )
    missing = [c for c in (id_col, time_col, y, treatment, *controls) if c not in data.columns]
    if missing:
        from spillmap.errors import MissingColumnError

        raise MissingColumnError(
            f"The panel has no column(s) {', '.join(map(repr, missing))}; its columns are: "
            f"{', '.join(map(str, data.columns))}."
        )
    _check_panel(data, y, distances, id_col=id_col, time_col=time_col, treatment=treatment, controls=controls)
    if method in ("exposure", "kernel", "sdm"):
        ordered, joint, matrices = _exposure_bands(
            data, y, distances, band_list, id_col=id_col, time_col=time_col, treatment=treatment,
            controls=tuple(controls), weight=weight, alpha=alpha, vce=vce, cutoff_km=cutoff_km, draws=draws,
            seed=seed, levels=tuple(levels), kernel=method == "kernel", spatial=method == "sdm")
        if progress:
            progress(len(band_list), len(band_list))
        return _result(ordered, band_list, distances, levels, min_linked_share, weight=weight, draws=draws,
                       seed=seed, method=method, joint=joint, matrices=matrices)
    ctx = _Context(
        data=data, y=y, distances=distances, id_col=id_col, time_col=time_col, treatment=treatment,
        controls=tuple(controls), weight=weight, alpha=alpha, fe=fe,
        lee_yu=(fe == "twoways") if lee_yu is None else lee_yu, draws=draws, seed=seed, levels=tuple(levels),
    )
    # absolute: the folder is sent to Dask workers, which may run in another working directory
    cache = _Cache(Path(cache_dir).resolve(), ctx) if cache_dir is not None else None
    if cache is not None:
        import dataclasses

        ctx = dataclasses.replace(ctx, eig_dir=cache.folder)
    fits: dict[Band, BandFit] = {}
    todo = []
    for band in band_list:
        hit = cache.load(band) if cache else None
        if hit is not None:
            fits[band] = hit
        else:
            todo.append(band)
    if progress:
        progress(len(fits), len(band_list))
    objects: dict[str, object] = {}

    def finished(result: tuple[BandFit, object]) -> None:
        fit, obj = result
        for note in fit.notes:
            warnings.warn(note, CacheWarning, stacklevel=2)
        fits[fit.band] = fit
        if obj is not None:
            objects[fit.band.label] = obj
        if cache:
            cache.save(fit)
        if progress:
            progress(len(fits), len(band_list))

    from spillmap.errors import CacheWarning, ClusterLostError, IslandWarning, WeightsAssumptionWarning

    # Set once here, not per band: warning filters are process-wide, and per-thread catch_warnings on
    # Dask threads would race (one band restoring the filters while another still runs).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)
        warnings.simplefilter("ignore", WeightsAssumptionWarning)  # islands are counted in the table
        try:
            _run_bands(ctx, todo, finished, workers=workers, scheduler=scheduler)
        except ClusterLostError as err:
            raise _resume_error(err, fits, band_list, cache, todo) from None
    ordered = [fits[b] for b in band_list]
    return _result(ordered, band_list, distances, levels, min_linked_share, weight=weight, draws=draws, seed=seed,
                   method=method, fits=objects)


def _result(ordered: list[BandFit], band_list: tuple[Band, ...], distances, levels: Sequence[float],  # noqa: ANN001
            min_linked_share: float, *, weight: str, draws: int, seed: int, method: str,
            fits: dict | None = None, joint: object | None = None, matrices: dict | None = None) -> SweepResult:
    """The sweep's table and crossover from the bands' rows and draws."""
    levels = tuple(levels)
    table = pd.DataFrame([f.row for f in ordered]).reindex(columns=_columns(levels))
    effect_draws = {f.band.label: f.draws for f in ordered}
    linked = 1.0 - table["islands"].to_numpy(float) / len(distances.ids)
    use = (linked >= min_linked_share) & table["error"].isna().to_numpy()
    table["linked_share"] = linked
    table["in_crossover"] = use
    if not use.any():
        raise SpillmapError(
            f"No band could enter the crossover search: every band failed or left more than "
            f"{1 - min_linked_share:.0%} of the units without a neighbour. Use wider bands or a lower "
            f"min_linked_share; the band errors are: "
            + "; ".join(f"{r.band}: {r.error}" for r in table.itertuples() if r.error)
        )
    x = np.array([b.position_km for b in band_list])[use]
    est = table["indirect_estimate"].to_numpy(dtype=float)[use]
    n_draws = max((len(f.draws) for f in ordered), default=0)
    curve = np.column_stack([f.draws[:, 1] for f, u in zip(ordered, use) if u]) if n_draws else np.empty((0, 0))
    bounds = {lev: (table[f"indirect_ci{round(lev * 100)}_low"].to_numpy(float)[use],
                    table[f"indirect_ci{round(lev * 100)}_high"].to_numpy(float)[use]) for lev in levels}
    labels = [b.label for b, u in zip(band_list, use) if u]
    ring = band_list[0].mode == "ring" and method != "kernel"
    edges = [(b.inner_km, b.outer_km) for b, u in zip(band_list, use) if u] if ring else None
    cross = crossover(x, est, curve, labels=labels, intervals=bounds, levels=levels, edges_km=edges,
                      evidence=method == "kernel")
    return SweepResult(
        table=table, crossover=cross, bands=band_list, mode=band_list[0].mode, weight=weight, draws=draws,
        seed=seed, ids=np.asarray(distances.ids), neighbours={f.band.label: f.neighbours for f in ordered},
        effect_draws=effect_draws, fits=fits or {}, cached_bands=sum(f.cached for f in ordered), method=method,
        joint=joint, matrices=matrices or {},
    )


def _check_panel(data: pd.DataFrame, y: str, distances, *, id_col: str, time_col: str, treatment: str,  # noqa: ANN001
                 controls: Sequence[str]) -> None:
    """Panel-level problems, once and before any band is fitted (balance, values, treatment variation)."""
    from spillmap.models.panel._panel import panel_arrays

    panel = panel_arrays(data, id_col=id_col, time_col=time_col, y=y, x=[treatment, *controls],
                         ids=list(distances.ids))
    d = panel.x[:, :, 0]
    if not np.all(np.isin(d, (0.0, 1.0))):
        raise SpillmapError(f"The treatment column '{treatment}' must be 0/1.")
    ever = d.max(axis=0) > 0
    if not ever.any():
        raise SpillmapError(f"No unit is ever treated ('{treatment}' is 0 everywhere): there is no policy effect "
                            "to sweep. Check the pilot table or the treatment column.")
    if d.min() == 1.0:
        raise SpillmapError(f"Every unit is treated in every period ('{treatment}' is 1 everywhere): no "
                            "comparison is left. Check the pilot table or the treatment column.")
    if np.all(d == d[:, :1]):
        raise SpillmapError(f"'{treatment}' switches on for every unit in the same period: its effect cannot be "
                            "told apart from the period effects.")


def _exposure_bands(data: pd.DataFrame, y: str, distances, band_list: tuple[Band, ...], *, id_col: str,  # noqa: ANN001
                    time_col: str, treatment: str, controls: tuple[str, ...], weight: str, alpha: float, vce: str,
                    cutoff_km: float | None, draws: int, seed: int, levels: tuple[float, ...],
                    kernel: bool = False, spatial: bool = False):  # noqa: ANN202
    """Every band's row and draws from one exposure DID (bands without links are failed rows).

    ``kernel=True``: each band's exposure is a triangular kernel of distance centred on the band's
    midpoint with a half-width of one band (linear B-splines), so the spillover is piecewise linear in
    distance between the knots. ``spatial=True``: the spatial Durbin counterpart (one ρWy with inverse
    distance W plus every band's W_k·D; effects through the multiplier, intervals from draws).
    """
    from scipy import stats

    from spillmap.models.spatial_did._joint import band_matrix, fit_exposure_did, kernel_matrix

    described, matrices = [], {}
    for band in band_list:
        row, neighbours, keep = _describe_band(distances, band, weight, alpha)
        described.append((band, row, neighbours))
        if keep.any():
            width = band.outer_km - band.inner_km
            matrices[band.label] = (kernel_matrix(distances, band.position_km, width)[0] if kernel else
                                    band_matrix(distances, band.inner_km, band.outer_km, weight=weight, alpha=alpha)[0])
    if not matrices:
        raise SpillmapError("No two units lie within any band: use wider bands or a larger max_km.")
    labels = list(matrices)
    if spatial:
        return _spatial_bands(data, y, distances, described, matrices, id_col=id_col, time_col=time_col,
                              treatment=treatment, controls=controls, vce=vce, draws=draws, seed=seed, levels=levels)
    fit = fit_exposure_did(data, y, distances, [matrices[k] for k in labels], id_col=id_col, time_col=time_col,
                           treatment=treatment, controls=controls, vce=vce, cutoff_km=cutoff_km)
    sample = fit.draws(draws, np.random.default_rng([int(seed), 20210]))  # one stream for the joint fit
    params, cov = fit.params, fit.vcov
    out: list[BandFit] = []
    for band, row, neighbours in described:
        if band.label not in matrices:
            out.append(_failed(band, row, neighbours,
                               f"no two units lie {band.inner_km:g}–{band.outer_km:g} km apart"))
            continue
        term = f"E{labels.index(band.label)}"
        point = {"direct": params[treatment], "indirect": params[term], "total": params[treatment] + params[term]}
        var = {"direct": cov.loc[treatment, treatment], "indirect": cov.loc[term, term],
               "total": cov.loc[treatment, treatment] + cov.loc[term, term] + 2 * cov.loc[treatment, term]}
        row = {**row, "rho": np.nan, "rho_se": np.nan, "beta_did": float(params[treatment]),
               "beta_se": float(np.sqrt(var["direct"])), "theta_did": float(params[term]),
               "theta_se": float(np.sqrt(var["indirect"]))}
        for e in _EFFECTS:
            se = float(np.sqrt(var[e]))
            row[f"{e}_estimate"], row[f"{e}_se"] = float(point[e]), se
            for level in levels:
                z = float(stats.norm.ppf(0.5 + level / 2))
                row[f"{e}_ci{round(level * 100)}_low"] = float(point[e] - z * se)
                row[f"{e}_ci{round(level * 100)}_high"] = float(point[e] + z * se)
        row.update({"loglik": np.nan, "rejected_draws": 0, "error": None})
        d3 = np.column_stack([sample[treatment], sample[term], sample[treatment] + sample[term]])
        out.append(BandFit(band=band, row=row, draws=d3, neighbours=neighbours))
    return out, fit, matrices


# ------------------------------------------------------------------ one band


@dataclass(frozen=True, eq=False)
class _Context:
    data: pd.DataFrame
    y: str
    distances: object
    id_col: str
    time_col: str
    treatment: str
    controls: tuple[str, ...]
    weight: str
    alpha: float
    fe: str
    lee_yu: bool
    draws: int
    seed: int
    levels: tuple[float, ...]
    eig_dir: Path | None = None  # where band eigenvalues are kept between sweeps (not part of the key)

    @property
    def key(self) -> str:
        """Fingerprint of everything a band's result depends on (data, distances, options, version)."""
        from spillmap import __version__

        h = hashlib.sha256()
        cols = [self.id_col, self.time_col, self.y, self.treatment, *self.controls]
        frame = self.data[cols].sort_values([self.id_col, self.time_col])
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        d = self.distances
        for arr in (np.asarray(d.ids).astype(str), d.i, d.j, d.km):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(json.dumps([cols, self.weight, self.alpha, self.fe, self.lee_yu, self.draws, self.seed,
                             list(self.levels), __version__, _CACHE_FORMAT]).encode())
        return h.hexdigest()


def _band_seed(seed: int, band: Band) -> np.random.Generator:
    """A random stream of its own per band: same result whatever else is swept or how it is scheduled."""
    return np.random.default_rng([int(seed), round(band.inner_km * 1000), round(band.outer_km * 1000),
                                  0 if band.mode == "ring" else 1])


def _fit_band(ctx: _Context, band: Band) -> tuple[BandFit, object]:
    """One band's SDM-DID, at one BLAS thread whatever the band's size or the scheduler.

    Every band (its eigenvalues included) is computed with the same single BLAS
    thread, so a band's numbers do not depend on the worker count, on which
    bands ran beside it or on whether its eigenvalues came from the cache.
    """
    from spillmap.models._threads import one_blas_thread

    with one_blas_thread():
        return _fit_band_body(ctx, band)


def _fit_band_body(ctx: _Context, band: Band) -> tuple[BandFit, object]:
    from spillmap.weights import build_ring

    from spillmap.models.spatial_did._sdid import fit_sdm_did
    from spillmap.models.panel._weights import prepare_weights

    d = ctx.distances
    row, neighbours, keep = _describe_band(d, band, ctx.weight, ctx.alpha)
    empty = np.full((0, 3), np.nan)
    note = None
    if not keep.any():
        return _failed(band, row, neighbours, f"no two units lie {band.inner_km:g}–{band.outer_km:g} km apart"), None
    try:  # island warnings are silenced by the caller (islands are counted in the table)
        graph = build_ring(d, band.inner_km, band.outer_km, weight=ctx.weight, alpha=ctx.alpha, islands="keep")
        w = prepare_weights(graph)
        note = _cached_eigenvalues(w, ctx.eig_dir)
        res = fit_sdm_did(
            ctx.data, ctx.y, id_col=ctx.id_col, time_col=ctx.time_col, weights=w, treatment=ctx.treatment,
            controls=ctx.controls, fe=ctx.fe, lee_yu=ctx.lee_yu, draws=ctx.draws, seed=_band_seed(ctx.seed, band),
        )
    except SpillmapError as err:
        return _failed(band, row, neighbours, str(err), notes=(note,) if note else ()), None
    fit, eff = res.fit, res.effects
    t = ctx.treatment
    row.update({
        "rho": float(fit.rho), "rho_se": float(fit.se()["rho"]),
        "beta_did": float(fit.params[t]), "beta_se": float(fit.se()[t]),
        "theta_did": float(fit.params[f"W·{t}"]), "theta_se": float(fit.se()[f"W·{t}"]),
    })
    cols = [list(eff.table.index).index((t, e)) for e in _EFFECTS]
    samples = eff.samples[:, cols] if eff.samples is not None else empty
    row.update(_draw_columns([eff.estimate(t, e) for e in _EFFECTS], samples, ctx.levels))
    row.update({"loglik": float(fit.loglik), "rejected_draws": int(eff.rejected_draws), "error": None})
    return BandFit(band=band, row=row, draws=np.asarray(samples, dtype=float), neighbours=neighbours,
                   notes=(note,) if note else ()), res


def _cached_eigenvalues(w, folder: Path | None) -> str | None:  # noqa: ANN001 - PreparedWeights
    """Read W's eigenvalues from ``folder`` (keyed by W's fingerprint) or compute and keep them there.

    A sweep with another outcome, seed or number of draws reuses the O(N³)
    decomposition of every band it has seen. The file (``eig_<fingerprint>.npz``)
    holds the values, W's full fingerprint and a sha256 of both; on reading, the
    fingerprint, the checksum and two traces (Σω = tr W, Σω² = tr W², O(links))
    are checked. A file failing a check is not used: the eigenvalues are
    recomputed, the file replaced, and the problem returned as one line for the
    caller to report (this may run on a remote worker). A worker that cannot
    write the folder (not shared with it) computes without the cache.
    """
    if folder is None or w.logdet_method != "eigen":
        return None
    path = folder / f"eig_{w.fingerprint[:32]}.npz"
    note = None
    if "eigenvalues" not in w.__dict__ and path.exists():
        values, problem = _read_eigenvalues(path, w)
        if values is not None:
            w.__dict__["eigenvalues"] = values  # cached_property slot
            return None
        note = (f"Eigenvalue cache file '{path}' failed its check ({problem}); the eigenvalues were recomputed "
                "and the file replaced.")
    values = w.eigenvalues  # computed now, or earlier in this process
    if note is not None or not path.exists():
        from spillmap._files import atomic_path

        meta = json.dumps({"format": _CACHE_FORMAT, "kind": "eigenvalues", "weights": w.fingerprint, "n": int(w.n)})
        with contextlib.suppress(OSError), atomic_path(path) as tmp:
            np.savez(tmp, meta=np.array(meta), values=values, sha256=np.array(_digest(meta, values)))
    return note


def _read_eigenvalues(path: Path, w) -> tuple[np.ndarray | None, str]:  # noqa: ANN001 - PreparedWeights
    """The cached eigenvalues of ``w`` in ``path`` if every check passes, else None and what failed."""
    loaded = _load_cached(path, "eigenvalues", "values")
    if isinstance(loaded, str):
        return None, loaded
    meta_text, meta, stored, (values,) = loaded
    if meta.get("weights") != w.fingerprint:
        return None, "it was made for other weights"
    if values.shape != (w.n,) or not np.all(np.isfinite(values)):
        return None, f"it holds {values.size} values (finite: {bool(np.all(np.isfinite(values)))}) for {w.n} units"
    if _digest(meta_text, values) != stored:
        return None, "checksum mismatch: the file was changed after it was written"
    import scipy.sparse as sp

    m = sp.csr_array(w.matrix)
    traces = (float(m.diagonal().sum()), float(m.multiply(m.T).sum()))
    sums = (complex(values.sum()), complex((values ** 2).sum()))
    for name, got, want in (("Σω", sums[0], traces[0]), ("Σω²", sums[1], traces[1])):
        if abs(got - want) > 1e-8 * max(1.0, abs(want)) + 1e-10 * w.n:
            return None, f"the values do not fit the weights: {name} = {got.real:.10g}, the weights give {want:.10g}"
    return values, ""


def _load_cached(path: Path, kind: str, *arrays: str) -> tuple[str, dict, str, list[np.ndarray]] | str:
    """(metadata text, metadata, stored sha256, arrays) of a cache file of ``kind``, or what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta_text, stored = str(z["meta"]), str(z["sha256"])
            values = [np.array(z[name]) for name in arrays]
        meta = json.loads(meta_text)
    except Exception as err:  # noqa: BLE001 - a damaged file fails in many ways (zip, zlib, npy header, JSON)
        return _unreadable(err)
    if not isinstance(meta, dict) or meta.get("kind") != kind or meta.get("format") != _CACHE_FORMAT:
        return f"not {'an eigenvalue' if kind == 'eigenvalues' else 'a band'} file of this spillmap version"
    return meta_text, meta, stored, values


def _digest(meta: str, *arrays: np.ndarray) -> str:
    """sha256 of a cached file's metadata text and arrays (dtype, shape and bytes)."""
    h = hashlib.sha256(meta.encode())
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f"|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _unreadable(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"it cannot be read ({text[:120]}); truncated or not written by spillmap"


def _spatial_bands(data, y, distances, described, matrices, *, id_col, time_col, treatment, controls, vce,  # noqa: ANN001, ANN202
                   draws, seed, levels):
    """Rows and draws of the joint spatial Durbin exposure model (method='sdm')."""
    from spillmap.models.spatial_did._joint import fit_spatial_exposure_did

    labels = list(matrices)
    if vce == "conley":
        raise SpillmapError("method='sdm' takes vce = oim, robust, cluster or dk (Conley is for the exposure DID).")
    fit = fit_spatial_exposure_did(data, y, distances, [matrices[k] for k in labels], id_col=id_col,
                                   time_col=time_col, treatment=treatment, controls=controls, vce=vce)
    sims = fit.effect_draws(draws, np.random.default_rng([int(seed), 20211]))
    params, se = fit.fit.params, fit.fit.se()
    out: list[BandFit] = []
    for band, row, neighbours in described:
        if band.label not in matrices:
            out.append(_failed(band, row, neighbours, f"no two units lie {band.inner_km:g}–{band.outer_km:g} km apart"))
            continue
        term = f"E{labels.index(band.label)}"
        point, draw = fit.point(term), sims[term]
        row = {**row, "rho": float(params["rho"]), "rho_se": float(se["rho"]), "beta_did": float(params[treatment]),
               "beta_se": float(se[treatment]), "theta_did": float(params[term]), "theta_se": float(se[term])}
        row.update(_draw_columns(point, draw, levels))
        row.update({"loglik": float(fit.fit.loglik), "rejected_draws": 0, "error": None})
        out.append(BandFit(band=band, row=row, draws=draw, neighbours=neighbours))
    return out, fit, matrices


def _draw_columns(point: Sequence[float], draws: np.ndarray, levels: Sequence[float]) -> dict[str, float]:
    """Direct/indirect/total estimate, se and percentile intervals of a band from its (draws, 3) effect draws."""
    out: dict[str, float] = {}
    for k, e in enumerate(_EFFECTS):
        out[f"{e}_estimate"], out[f"{e}_se"] = float(point[k]), float(np.std(draws[:, k], ddof=1))
        for level in levels:
            tail = (1 - level) / 2 * 100
            lo, hi = np.percentile(draws[:, k], [tail, 100 - tail])
            out[f"{e}_ci{round(level * 100)}_low"], out[f"{e}_ci{round(level * 100)}_high"] = float(lo), float(hi)
    return out


def _describe_band(d, band: Band, weight: str, alpha: float) -> tuple[dict, np.ndarray, np.ndarray]:  # noqa: ANN001
    """A band's table row before any fit (links, neighbours, islands), neighbours per unit, its pair mask."""
    ids = np.asarray(d.ids)
    keep = (d.km > band.inner_km) & (d.km <= band.outer_km)
    neighbours = np.bincount(d.i[keep], minlength=len(ids)) + np.bincount(d.j[keep], minlength=len(ids))
    isolated = np.flatnonzero(neighbours == 0)
    labels = np.asarray(d.labels)
    row: dict = {
        "band": band.label, "inner_km": band.inner_km, "outer_km": band.outer_km, "position_km": band.position_km,
        "mean_km": _weighted_distance(d, keep, weight, alpha), "links": int(keep.sum()),
        "mean_neighbours": float(neighbours.mean()), "min_neighbours": int(neighbours.min()),
        "max_neighbours": int(neighbours.max()), "islands": len(isolated),
        "island_ids": "; ".join(map(str, labels[isolated][:50]))
        + (f"; … {len(isolated) - 50} more" if len(isolated) > 50 else ""),
    }
    return row, neighbours, keep


def _columns(levels: Sequence[float]) -> list[str]:
    cols = ["band", "inner_km", "outer_km", "position_km", "mean_km", "links", "mean_neighbours", "min_neighbours",
            "max_neighbours", "islands", "island_ids", "rho", "rho_se", "beta_did", "beta_se", "theta_did",
            "theta_se"]
    for e in _EFFECTS:
        cols += [f"{e}_estimate", f"{e}_se"]
        for level in levels:
            cols += [f"{e}_ci{round(level * 100)}_low", f"{e}_ci{round(level * 100)}_high"]
    return cols + ["loglik", "rejected_draws", "error"]


def _weighted_distance(d, keep: np.ndarray, weight: str, alpha: float) -> float:  # noqa: ANN001
    """Distance (km) the band's spatial lag averages over: mean over linked units of Σ_j w_ij d_ij (row-standardised)."""
    if not keep.any():
        return float("nan")
    km = d.km[keep]
    w = km ** -alpha if weight == "inverse" else np.ones_like(km)
    i = np.concatenate([d.i[keep], d.j[keep]])  # each pair counts for both of its units
    w2, km2 = np.concatenate([w, w]), np.concatenate([km, km])
    n = len(d.ids)
    rows = np.bincount(i, weights=w2, minlength=n)
    lagged = np.bincount(i, weights=w2 * km2, minlength=n)
    linked = rows > 0
    return float(np.mean(lagged[linked] / rows[linked]))


def _failed(band: Band, row: dict, neighbours: np.ndarray, reason: str, notes: tuple[str, ...] = ()) -> BandFit:
    row = dict(row)
    row["error"] = reason
    return BandFit(band=band, row=row, draws=np.full((0, 3), np.nan), neighbours=neighbours, error=reason,
                   notes=notes)


def _run_bands(ctx: _Context, bands: list[Band], finished: Callable, *, workers: int | None,
               scheduler: str | None) -> None:
    if not bands:
        return
    if workers == 0 or (len(bands) == 1 and scheduler is None):
        for band in bands:
            finished(_fit_band(ctx, band))
        return
    from spillmap.models._dask import RETRIES, completed, dask_client
    from spillmap.models._threads import one_blas_thread

    # In-process threads: the limit is set here, in the caller's thread (OpenBLAS may ignore a limit set
    # from a worker thread once the caller has set and restored one); the bands' own entries only count.
    hold = one_blas_thread() if scheduler is None else contextlib.nullcontext()
    with hold, dask_client(scheduler, workers) as client:
        shared = client.scatter(ctx, broadcast=True)
        # the widest bands (most links) first, so the slowest tasks do not finish last
        order = sorted(bands, key=lambda b: -(b.outer_km - b.inner_km) * b.outer_km)
        futures = [client.submit(_fit_band, shared, band, pure=False, retries=RETRIES) for band in order]
        for _, result in completed(client, futures):
            finished(result)


def _resume_error(err, fits: dict, band_list: tuple[Band, ...], cache, todo: list[Band]) -> SpillmapError:  # noqa: ANN001
    """The cluster was lost: say how many bands are kept, where, and how to resume."""
    from spillmap.errors import ClusterLostError
    from spillmap.models._dask import _WITHOUT

    where = getattr(err, "where", "") or ""
    start = f"start workers (`dask worker {where}`) and " if where.startswith(("tcp://", "tls://")) else ""
    new = sum(1 for b in todo if b in fits)
    if cache is None:
        kept = (f"{len(fits)} of {len(band_list)} bands were finished but not kept (the band cache is off): "
                f"{start}run again with the cache on (without --no-cache) to keep finished bands")
    else:
        kept = (f"{len(fits)} of {len(band_list)} bands are finished and kept in the sweep cache '{cache.folder}' "
                f"({new} from this run): {start}run the same command again to resume from them")
    return ClusterLostError(f"{getattr(err, 'reason', str(err))}; {kept}, or {_WITHOUT.get()}.")


# ------------------------------------------------------------------- cache


class _Cache:
    """One ``.npz`` per finished band, named by band and the sweep's fingerprint; written atomically.

    Each file holds the band's table row (JSON text), its effect draws and
    neighbour counts, and a sha256 of all three; the row names the sweep's
    fingerprint (``_Context.key``: data, distances, options, version) and the
    band. On reading, the fingerprint, the band, the checksum, the neighbour
    counts (against the distances) and the row's se and intervals (against
    the draws) are checked; a file failing a check is reported as one
    :class:`~spillmap.errors.CacheWarning` line naming it and the band is
    refitted (and the file replaced), never used. Nothing is unpickled.
    """

    def __init__(self, folder: Path, ctx: _Context) -> None:
        self.folder, self.key, self.ctx = folder, ctx.key, ctx
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SpillmapError(f"Cannot create the sweep cache folder '{folder}': {err.strerror}; choose another "
                                "with --cache, or --no-cache.") from None

    def path(self, band: Band) -> Path:
        return self.folder / f"band_{band.mode}_{band.label}_{self.key[:20]}.npz"

    def load(self, band: Band) -> BandFit | None:
        """The band's cached fit if its file passes every check; None (reported unless absent) otherwise."""
        path = self.path(band)
        if not path.exists():
            return None
        fit, problem = self._read(band, path)
        if fit is None:
            from spillmap.errors import CacheWarning

            warnings.warn(f"Sweep cache file '{path}' failed its check ({problem}); the band is refitted and the "
                          "file replaced.", CacheWarning, stacklevel=3)
        return fit

    def _read(self, band: Band, path: Path) -> tuple[BandFit | None, str]:
        loaded = _load_cached(path, "band", "draws", "neighbours")
        if isinstance(loaded, str):
            return None, loaded
        meta_text, meta, stored, (draws, neighbours) = loaded
        if meta.get("key") != self.key:
            return None, "it was made for other data, distances or options"
        if meta.get("band") != [band.inner_km, band.outer_km, band.mode]:
            return None, f"it holds band {meta.get('band')}, not {band.label} km ({band.mode})"
        if _digest(meta_text, draws, neighbours) != stored:
            return None, "checksum mismatch: the file was changed after it was written"
        row = meta.get("row")
        if not isinstance(row, dict) or draws.ndim != 2 or draws.shape[1] != 3:
            return None, "its row or draws have the wrong shape"
        fresh, counts, _ = _describe_band(self.ctx.distances, band, self.ctx.weight, self.ctx.alpha)
        if not np.array_equal(neighbours, counts) or any(_plain(v) != row.get(k) for k, v in fresh.items()):
            return None, "its neighbour counts do not match the distances"
        points = [row.get(f"{e}_estimate") for e in _EFFECTS]
        if row.get("error") is None and len(draws) >= 2 and all(isinstance(v, float) for v in points):
            again = _draw_columns(points, draws, self.ctx.levels)
            if any(_plain(v) != row.get(k) for k, v in again.items()):
                return None, "its standard errors or intervals do not match its draws"
        return BandFit(band=band, row=row, draws=draws, neighbours=neighbours, error=row.get("error"),
                       cached=True), ""

    def save(self, fit: BandFit) -> None:
        from spillmap._files import atomic_path

        band = fit.band
        meta = json.dumps({"format": _CACHE_FORMAT, "kind": "band", "key": self.key,
                           "band": [band.inner_km, band.outer_km, band.mode],
                           "row": {k: _plain(v) for k, v in fit.row.items()}})
        draws, neighbours = np.ascontiguousarray(fit.draws, dtype=float), np.ascontiguousarray(fit.neighbours)
        with atomic_path(self.path(band)) as tmp:
            np.savez(tmp, meta=np.array(meta), draws=draws, neighbours=neighbours,
                     sha256=np.array(_digest(meta, draws, neighbours)))


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

