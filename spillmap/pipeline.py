"""Thin glue running the flow end to end (used by ``spillmap demo``)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from spillmap._files import atomic_path, prepare_folder
from spillmap._json import dumps
from spillmap._tables import write_csv
from spillmap.errors import IslandWarning
from spillmap.policy import quiet_pilot_years
from spillmap.synthetic import SYNTHETIC_NOTE

__all__ = ["run_demo", "ring_table"]


def ring_table(distances, band_km: float, max_km: float):  # noqa: ANN001, ANN201
    """One row per distance ring (0–band, band–2·band, …] with its link counts and islands."""
    from spillmap.weights import build_ring, summarize_weights

    rows = []
    for inner in np.arange(0.0, max_km, band_km):
        outer = min(inner + band_km, max_km)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IslandWarning)
            graph = build_ring(distances, float(inner), float(outer), islands="keep")
        s = summarize_weights(graph, distances)
        rows.append(
            {
                "inner_km": float(inner),
                "outer_km": float(outer),
                "n_links": s.n_links,
                "mean_nbrs": round(s.mean_neighbours, 4),
                "min_nbrs": s.min_neighbours,
                "max_nbrs": s.max_neighbours,
                "n_islands": len(s.islands),
                "islands": "; ".join(s.islands),
            }
        )
    return pd.DataFrame(rows)


def run_demo(out: str | os.PathLike[str], *, band_km: float = 50.0, max_km: float = 600.0) -> list[Path]:
    """Shipped layer → projection → distances → weights → summaries in ``out``.

    Writes ``layer.gpkg`` (projected units with their first treated year),
    ``weights_inverse.npz`` and ``.gwt`` (row-standardised inverse distance),
    ``weights_summary.json`` and ``rings.csv`` (``spillmap.run`` adds ``pilots_unmatched.csv``).
    Every file is written atomically.
    """
    from spillmap import gis
    from spillmap import weights as sw

    folder = prepare_folder(out)

    layer = gis.read_china_layer()
    projected = gis.to_projected(layer)
    pilots = quiet_pilot_years(layer)  # the run writes pilots_unmatched.csv and warns naming it
    dist = gis.pairwise_distances(layer, gis.CHINA_ID, name_col=gis.CHINA_NAME)
    graph = sw.row_standardize(sw.build_inverse_distance(dist))
    summary = sw.summarize_weights(graph, dist, description="inverse distance (km^-1), row-standardised")
    rings = ring_table(dist, band_km, max_km)

    projected = projected.assign(first_year=pilots.years.to_numpy())
    written = [
        gis.write_styled_geopackage(folder / "layer.gpkg", {"units": projected}, label="SYNTHETIC DATA",
                                    description=SYNTHETIC_NOTE),  # the demo's treatment layer, part of a synthetic run
        sw.write_weights(graph, folder / "weights_inverse.npz"),
        sw.write_weights(graph, folder / "weights_inverse.gwt"),
    ]
    report = {
        "layer": {
            "units": len(layer),
            "crs": projected.crs.to_wkt(),  # where centroids and distances are computed
            "output_crs": _crs_name(gis.for_output(projected).crs),  # what the written layers are in
            "treated_by_year": {
                str(int(y)): int(c) for y, c in pilots.years.value_counts().sort_index().items()
            },
        },
        "weights": summary.to_dict(),
        "rings": rings.drop(columns="islands").to_dict(orient="records"),
    }
    report["synthetic"] = {"note": SYNTHETIC_NOTE}
    written.append(_write_text(folder / "weights_summary.json", dumps(report)))
    written.append(write_csv(rings, folder / "rings.csv", note=SYNTHETIC_NOTE))
    return written


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _crs_name(crs) -> str:  # noqa: ANN001 - pyproj CRS
    """``AUTHORITY:CODE`` when the CRS has one, else its WKT."""
    authority = crs.to_authority()
    return ":".join(authority) if authority else crs.to_wkt()
