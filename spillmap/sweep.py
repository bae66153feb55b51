"""Glue for ``spillmap sweep``: distances on the layer, the band sweep, its table, plot and summary.

Library code only: returns what it wrote and a headline dict; the CLI prints.
Results are staged beside the output folder and become it in one atomic step
only when the sweep succeeded; the band cache (``<out>/.sweep-cache``) is
written during the run outside the staging area, so that an interrupted sweep
resumes from it, and is carried into each new result.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from spillmap._files import final_paths, staged_output
from spillmap._json import round_frame
from spillmap._tables import write_parquet, write_table
from spillmap.errors import SpillmapError
from spillmap.policy import (
    PolicyInputs,
    Progress,
    _write_json,
    balance_headline,
    write_balance_report,
    write_sample_report,
    write_unmatched_pilots,
)

__all__ = ["band_in_crossover", "band_key", "band_layers", "checked_panel_layer", "panel_layer", "run_sweep",
           "sweep_distances"]


def sweep_distances(
    inputs: PolicyInputs,
    max_km: float,
    *,
    layer: object | None = None,
    layer_id: str | None = None,
    name_col: str | None = None,
    method: str = "geodesic",
):  # noqa: ANN201 - spillmap.gis.PairwiseDistances
    """Pairwise distances (km, up to ``max_km``) between the panel's units on ``layer`` (default: shipped)."""
    from spillmap import gis

    if layer is None:
        layer, layer_id, name_col = inputs.layer, gis.CHINA_ID, inputs.name_col
    subset = checked_panel_layer(inputs, layer, layer_id)
    return gis.pairwise_distances(subset, layer_id, method=method, max_km=max_km, name_col=name_col)


def checked_panel_layer(inputs: PolicyInputs, layer, layer_id: str | None):  # noqa: ANN001, ANN201 - GeoDataFrame
    """:func:`panel_layer`, after checking that every panel unit is in the layer (one message listing those
    that are not); shared by ``spillmap sweep`` and ``spillmap sdid --layer``."""
    from spillmap.gis._validate import format_ids

    if layer_id is None:
        raise SpillmapError("Name the id column of --layer with --layer-id.")
    units = pd.unique(inputs.data[inputs.id_col].astype(str))
    codes = layer[layer_id].astype(str)
    missing = sorted(set(units) - set(codes))
    if missing:
        raise SpillmapError(
            f"{len(missing)} panel unit(s) are not in the layer's '{layer_id}' column: {format_ids(missing)}. "
            "Check --id / --layer-id, or pass the layer the panel was built on (--layer)."
        )
    return panel_layer(inputs, layer, layer_id)


def panel_layer(inputs: PolicyInputs, layer, layer_id: str):  # noqa: ANN001, ANN201 - GeoDataFrame
    """The layer's rows for the panel's units, ids as text (the form the weights and the panel share)."""
    units = set(pd.unique(inputs.data[inputs.id_col].astype(str)))
    subset = layer[layer[layer_id].astype(str).isin(units)].copy()
    subset[layer_id] = subset[layer_id].astype(str)
    return subset


def run_sweep(
    inputs: PolicyInputs,
    out: str | os.PathLike[str],
    *,
    layer: object | None = None,
    layer_id: str | None = None,
    name_col: str | None = None,
    method: str = "geodesic",
    step_km: float = 50.0,
    max_km: float = 600.0,
    min_km: float = 0.0,
    mode: str = "ring",
    weight: str = "inverse",
    alpha: float = 1.0,
    draws: int = 1000,
    seed: int = 0,
    min_linked_share: float = 0.5,
    workers: int | None = None,
    scheduler: str | None = None,
    cache_dir: str | os.PathLike[str] | None = "default",
    distances: object | None = None,
    layers: bool = False,
    map_year: int | None = None,
    progress: Progress | None = None,
    pilots_file: bool = True,
    estimator: str | None = None,
    vce: str = "cluster",
    cutoff_km: float | None = None,
    paper_formats: Sequence[str] | None = None,
) -> tuple[list[Path], dict, object]:
    """Sweep the SDM-DID over distance bands; write ``sweep.csv/.parquet/.md/.tex``, ``sweep.png/.svg``
    and ``sweep_summary.json``. Returns (files, headline, :class:`SweepResult`).

    ``cache_dir="default"`` keeps finished bands in ``<out>/.sweep-cache`` (a
    rerun with the same data and options reads them); ``None`` disables it.
    ``distances`` (kilometres, reaching ``max_km``) skips measuring the layer again.
    ``estimator`` is the sweep's method (``"exposure"``, every band in one DID; ``"separate"``, the
    SDM-DID band by band; default by ``mode``), ``vce``/``cutoff_km`` the exposure DID's variance.
    ``layers=True`` also writes ``sweep_bands.gpkg``: one styled layer per band
    with per-city effects (cities treated by ``map_year``, default the last
    treatment year) and neighbours in the band, for QGIS. ``paper_formats`` (default md, tex, docx, html;
    empty: none): the publication table ``tables/distance_bands``.
    """
    from spillmap import _study_tables as st
    from spillmap._paper import PAPER_FORMATS
    from spillmap.models import distance_bands, distance_sweep
    from spillmap.models._dask import check_scheduler
    from spillmap.models._plots import save_figure

    bands = distance_bands(step_km, max_km, mode=mode, min_km=min_km)
    check_scheduler(scheduler)  # before any model: a wrong address or no workers is one error in seconds
    folder = Path(out)
    if cache_dir == "default":
        cache_dir = folder / ".sweep-cache"
    # the whole sweep runs inside: --out is checked first, and a failure removes what the run created
    with staged_output(folder) as stage:
        dist = distances if distances is not None else sweep_distances(
            inputs, max_km, layer=layer, layer_id=layer_id, name_col=name_col, method=method)
        data = inputs.data.assign(**{inputs.id_col: inputs.data[inputs.id_col].astype(str)})
        result = distance_sweep(
            data, inputs.y, dist, id_col=inputs.id_col, time_col=inputs.time_col, controls=inputs.controls,
            bands=bands, weight=weight, alpha=alpha, draws=draws, seed=seed, min_linked_share=min_linked_share,
            workers=workers, scheduler=scheduler, cache_dir=cache_dir,
            progress=(lambda done, total: progress("bands", done, total)) if progress else None,
            method=estimator, vce=vce, cutoff_km=cutoff_km,
        )
        note = inputs.synthetic.get("note") if inputs.synthetic else None
        headline = {"synthetic": inputs.synthetic, "treatment": inputs.report, **result.to_dict(),
                    "distance_method": method, "alpha": alpha}
        table = result.to_frame()
        written = write_table(result._compact(), stage / "sweep", note=note, csv=table)  # CSV: every column
        written.append(write_parquet(round_frame(table), stage / "sweep.parquet", note=note))
        title = f"Spillover and siphon by distance ({result.mode} bands, {result.weight} weights)"
        if note:
            truth = inputs.synthetic
            title += (f"\nSYNTHETIC DATA (known effects: spillover to {truth['near_km']:g} km, "
                      f"siphon {truth['near_km']:g}–{truth['far_km']:g} km)")
        written += save_figure(result.plot(title=title), stage / "sweep", synthetic=bool(note))
        if inputs.balance_report is not None:
            headline["balance"] = balance_headline(inputs)
        if pilots_file:
            written += write_unmatched_pilots(inputs, stage, folder)
            written += write_balance_report(inputs, stage)
            written += write_sample_report(inputs, stage)
        formats = PAPER_FORMATS if paper_formats is None else tuple(paper_formats)
        if formats:
            written += st.write_paper_tables([st.bands_table(result)], stage / "tables", note=note, formats=formats)
        written.append(_write_json(headline, stage / "sweep_summary.json"))
        if layers:
            written.append(_write_band_layers(result, inputs, dist, layer, layer_id, name_col, stage, map_year,
                                              draws=min(draws, 500), seed=seed, alpha=alpha))
    headline["cached_bands"] = result.cached_bands  # printed, not written: the files do not depend on it
    return final_paths(written, stage, folder), headline, result


def band_layers(
    result,  # noqa: ANN001 - SweepResult
    base,  # noqa: ANN001 - GeoDataFrame: id column, geometry (and any columns to carry)
    layer_id: str,
    inputs: PolicyInputs,
    distances,  # noqa: ANN001 - PairwiseDistances the sweep used (or wider)
    treated: pd.Series,
    *,
    column: str = "recv",
    classes: int = 7,
    draws: int = 500,
    seed: int = 0,
    alpha: float = 1.0,
    year: int | None = None,
) -> tuple[dict, dict]:
    """Per-band map layers: per-city own/received/emitted effects of DID and neighbours in the band.

    Layers are named by :func:`band_key` (``sweep_IIII_OOOO``, inner and
    outer km). All share one diverging style on ``column`` so that the
    bands' maps compare: its breaks come from the bands in the crossover
    search (``in_crossover``; a sparse band, e.g. 0–50 km between
    prefecture seats, does not set the scale), its outer classes stretch to
    every band's values, and units whose interval includes zero are "not
    significant". Titles name the cities treated by ``year`` (default
    :func:`spillmap.policy.map_year`). Bands read from the sweep cache are
    refitted (cheap) for their multipliers; failed bands are left out.
    """
    import warnings

    from spillmap.models import fit_sdm_did, unit_effects
    from spillmap.weights import build_ring

    data = inputs.data.assign(**{inputs.id_col: inputs.data[inputs.id_col].astype(str)})
    table = result.table.set_index("band")
    layers: dict = {}
    for band in result.bands:
        if isinstance(table.loc[band.label, "error"], str):
            continue
        if result.joint is not None:  # every band from the one exposure DID
            frame = _exposure_frame(result, band, treated, layer_id)
        else:
            fit = result.fits.get(band.label)
            if fit is None:  # read from the cache
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w = build_ring(distances, band.inner_km, band.outer_km, weight=result.weight, alpha=alpha,
                                   islands="keep")
                    fit = fit_sdm_did(data, inputs.y, id_col=inputs.id_col, time_col=inputs.time_col, weights=w,
                                      controls=inputs.controls, draws=10, seed=seed)
            ue = unit_effects(fit.fit, "did", treated=treated, draws=draws, seed=seed)
            frame = round_frame(ue.to_frame(layer_id).drop(columns=["treated"], errors="ignore"))
        nb = pd.Series(result.neighbours[band.label], index=pd.Index(result.ids).astype(str))
        lay = base.merge(frame, on=layer_id, how="left")
        lay["nbrs"] = nb.reindex(lay[layer_id].astype(str)).to_numpy()
        layers[band_key(band)] = lay
    return layers, _band_styles(layers, band_in_crossover(result), inputs, column=column, classes=classes,
                                year=year)


def band_key(band) -> str:  # noqa: ANN001 - Band
    """Layer name of a sweep band: ``sweep_IIII_OOOO`` (inner and outer km, 4 digits)."""
    return f"sweep_{int(band.inner_km):04d}_{int(band.outer_km):04d}"


def crossover_band(result, layers: dict) -> str | None:  # noqa: ANN001 - SweepResult
    """Layer name of the band where the siphon begins: ``inner ≤ radius < outer`` km (the last band for a
    radius on the outermost edge); the first band layer when there is no crossover radius."""
    keys = [(band_key(b), b) for b in result.bands if band_key(b) in layers]
    if not keys:
        return None
    radius = result.crossover.radius_km
    if radius is None or not math.isfinite(radius):
        return keys[0][0]
    inside = [k for k, b in keys if b.inner_km <= radius < b.outer_km]
    if inside:
        return inside[0]
    return keys[-1][0] if radius == keys[-1][1].outer_km else keys[0][0]


def band_in_crossover(result) -> dict[str, bool]:  # noqa: ANN001 - SweepResult
    """Band layer name (:func:`band_key`) to whether the band entered the crossover search."""
    used = result.table.set_index("band")["in_crossover"]
    return {band_key(band): bool(used[band.label]) for band in result.bands}


def _band_styles(layers: dict, used: dict[str, bool], inputs: PolicyInputs, *, column: str, classes: int,
                 year: int | None) -> dict:
    """One set of classes for every band layer, set by the bands in the crossover search."""
    from spillmap.maps import band_label, effect_style
    from spillmap.policy import map_year

    if not layers:
        return {}
    year = map_year(inputs) if year is None else year
    every = pd.concat(list(layers.values()), ignore_index=True)
    searched = [lay for k, lay in layers.items() if used.get(k)]
    source = pd.concat(searched, ignore_index=True) if searched else every
    return {k: effect_style(source, column, year=year, outcome=inputs.y, synthetic=bool(inputs.synthetic),
                            classes=classes, name=f"{column} {k[6:]}", cover=every,
                            description=f"{band_label(k)} band; classes shared by all bands, set by "
                                        f"the {len(searched)} bands in the crossover search")
            for k in layers}


def _exposure_frame(result, band, treated: pd.Series, layer_id: str) -> pd.DataFrame:  # noqa: ANN001
    """Per-city effects of one band of the exposure DID, keyed by ``layer_id`` (ids as text)."""
    import numpy as np

    ids = pd.Index(result.ids).astype(str)
    term = f"E{list(result.matrices).index(band.label)}"
    d = treated.reindex(ids).fillna(0).to_numpy(dtype=float)
    # closed form for the exposure DID; through the multiplier, with draws, for the spatial Durbin one
    frame = result.joint.unit_effects(term, result.matrices[band.label], d, ids, draws=200,
                                      rng=np.random.default_rng([int(result.seed), 20212]))
    return round_frame(frame.rename(columns={"id": layer_id}))


def _write_band_layers(result, inputs, dist, layer, layer_id, name_col, stage, map_year, *, draws, seed, alpha):  # noqa: ANN001, ANN202
    from spillmap import gis

    if layer is None:
        layer, layer_id, name_col = inputs.layer, gis.CHINA_ID, inputs.name_col
    base = panel_layer(inputs, layer, layer_id)
    keep = [layer_id] + ([name_col] if name_col and name_col in base else []) + ["geometry"]
    base = gis.to_projected(base[keep])
    from spillmap.policy import map_year as _year
    from spillmap.policy import treated_in

    year = _year(inputs, map_year)
    treated = treated_in(inputs, year, base[layer_id].tolist())
    lays, styles = band_layers(result, base, layer_id, inputs, dist, treated, draws=draws, seed=seed, alpha=alpha,
                               year=year)
    label = {"label": "SYNTHETIC DATA", "description": inputs.synthetic["note"]} if inputs.synthetic else {}
    return gis.write_styled_geopackage(stage / "sweep_bands.gpkg", lays, styles, **label)
