"""Glue for ``spillmap sweep``: distances on the layer, the band sweep, its table, plot and summary.

Library code only: returns what it wrote and a headline dict; the CLI prints.
Results are staged and moved into the output folder only when the sweep
succeeded; the band cache lives outside the staging area so that an
interrupted sweep resumes from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from spillmap._files import atomic_path, final_paths, prepare_folder, staged_output
from spillmap.errors import SpillmapError
from spillmap.policy import PolicyInputs, Progress, _write_json, write_table

__all__ = ["run_sweep", "sweep_distances"]


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
    from spillmap.gis._validate import format_ids

    if layer is None:
        layer, layer_id, name_col = inputs.layer, gis.CHINA_ID, inputs.name_col
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
    subset = layer[codes.isin(set(units))].copy()
    subset[layer_id] = subset[layer_id].astype(str)
    return gis.pairwise_distances(subset, layer_id, method=method, max_km=max_km, name_col=name_col)


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
    progress: Progress | None = None,
) -> tuple[list[Path], dict, object]:
    """Sweep the SDM-DID over distance bands; write ``sweep.csv/.parquet/.md/.tex``, ``sweep.png/.svg``
    and ``sweep_summary.json``. Returns (files, headline, :class:`SweepResult`).

    ``cache_dir="default"`` keeps finished bands in ``<out>/.sweep-cache`` (a
    rerun with the same data and options reads them); ``None`` disables it.
    """
    from spillmap.models import distance_bands, distance_sweep
    from spillmap.models._plots import save_figure

    bands = distance_bands(step_km, max_km, mode=mode, min_km=min_km)
    folder = prepare_folder(out)
    if cache_dir == "default":
        cache_dir = folder / ".sweep-cache"
    dist = sweep_distances(inputs, max_km, layer=layer, layer_id=layer_id, name_col=name_col, method=method)
    data = inputs.data.assign(**{inputs.id_col: inputs.data[inputs.id_col].astype(str)})
    result = distance_sweep(
        data, inputs.y, dist, id_col=inputs.id_col, time_col=inputs.time_col, controls=inputs.controls,
        bands=bands, weight=weight, alpha=alpha, draws=draws, seed=seed, min_linked_share=min_linked_share,
        workers=workers, scheduler=scheduler, cache_dir=cache_dir,
        progress=(lambda done, total: progress("bands", done, total)) if progress else None,
    )
    note = inputs.synthetic.get("note") if inputs.synthetic else None
    headline = {"synthetic": inputs.synthetic, "treatment": inputs.report, **result.to_dict(),
                "cached_bands": result.cached_bands, "distance_method": method, "alpha": alpha}
    with staged_output(folder) as stage:
        table = result.to_frame()
        written = write_table(result._compact(), stage / "sweep", note=note)
        csv = stage / "sweep.csv"  # the full table replaces the compact CSV
        with atomic_path(csv) as tmp:
            tmp.write_text(table.to_csv(index=False), encoding="utf-8")
        parquet = stage / "sweep.parquet"
        with atomic_path(parquet) as tmp:
            table.to_parquet(tmp, index=False)
        written.append(parquet)
        title = f"Spillover and siphon by distance ({result.mode} bands, {result.weight} weights)" + (
            "\nSYNTHETIC DATA (known effects: spillover to 150 km, siphon 150–300 km)" if note else "")
        written += save_figure(result.plot(title=title), stage / "sweep")
        written.append(_write_json(headline, stage / "sweep_summary.json"))
    return final_paths(written, stage, folder), headline, result
