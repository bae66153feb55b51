"""Regenerate the bad layer and weights files of this folder: ``python make_cases.py`` (see README.md)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[3]))  # the repository, for tests.conftest

from tests.conftest import grid_layer as grid  # noqa: E402


def shp(frame: gpd.GeoDataFrame, name: str, *, encoding: str = "UTF-8", cpg: str | None = None,
        drop: tuple[str, ...] = ()) -> Path:
    """Write ``name/units.shp``; ``cpg`` replaces the .cpg text (None: none), ``drop`` removes sidecars."""
    folder = HERE / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = folder / "units.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    (folder / "units.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "units.cpg").write_text(cpg, encoding="ascii")
    for suffix in drop:
        (folder / f"units{suffix}").unlink()
    return path


def main() -> None:
    g = grid()
    utm = g.to_crs("EPSG:32649")
    # encodings
    shp(g, "cpg_says_utf8_dbf_gbk", encoding="GBK", cpg="UTF-8")
    shp(g, "gbk_no_cpg", encoding="GBK")
    # CRS
    shp(utm, "utm_no_prj", drop=(".prj",))
    shp(g.set_crs("EPSG:32649", allow_override=True), "degrees_labelled_metres")
    shp(utm.set_crs("EPSG:4326", allow_override=True), "metres_labelled_degrees")
    huge = utm.copy()
    huge.geometry = huge.geometry.affine_transform([1000, 0, 0, 1000, 0, 0])  # millimetres as metres
    huge.to_file(HERE / "huge_coordinates.geojson", driver="GeoJSON")
    swapped = g.copy()
    swapped.geometry = shapely.transform(swapped.geometry.array, lambda xy: xy[:, ::-1])
    swapped.to_file(HERE / "lat_lon_swapped.geojson", driver="GeoJSON")
    shp(g, "garbage_prj")
    (HERE / "garbage_prj" / "units.prj").write_text("this is not a projection", encoding="ascii")
    antimeridian = grid(3, lon0=178.5)  # cells 178.5..181.5: crosses 180°
    wrapped = antimeridian.copy()
    wrapped.geometry = [
        shapely.MultiPolygon([shapely.box(x0, y0, 180, y1), shapely.box(-180, y0, x1 - 360, y1)]) if x0 < 180 < x1
        else shapely.box(x0 - 360, y0, x1 - 360, y1) if x0 >= 180 else shapely.box(x0, y0, x1, y1)
        for x0, y0, x1, y1 in antimeridian.geometry.bounds.to_numpy()
    ]
    wrapped.to_file(HERE / "antimeridian.geojson", driver="GeoJSON")
    # files
    shp(g, "no_dbf", drop=(".dbf",))
    shp(g, "no_shx", drop=(".shx",))
    (HERE / "zero_bytes.shp").write_bytes(b"")
    (HERE / "zero_bytes.gpkg").write_bytes(b"")
    (HERE / "zero_bytes.geojson").write_bytes(b"")
    text = g.to_json()
    (HERE / "truncated.geojson").write_text(text[: len(text) // 2], encoding="utf-8")
    (HERE / "not_a_layer.gpkg").write_text("uid,value\ng00,1\n", encoding="utf-8")
    two = HERE / "two_layers.gpkg"
    two.unlink(missing_ok=True)
    g.to_file(two, layer="cities", driver="GPKG")
    g.iloc[:4].to_file(two, layer="provinces", driver="GPKG")
    g.iloc[:0].to_file(HERE / "no_features.gpkg", layer="units", driver="GPKG")
    nulls = g.copy()
    nulls.loc[4, "geometry"] = None
    nulls.to_file(HERE / "null_geometry.geojson", driver="GeoJSON")
    empty = g.copy()
    empty.loc[2, "geometry"] = shapely.Polygon()
    empty.to_file(HERE / "empty_geometry.geojson", driver="GeoJSON")
    collapsed = g.copy()
    collapsed.loc[3, "geometry"] = shapely.Polygon([(111, 31), (112, 31), (113, 31), (111, 31)])  # no area
    collapsed.to_file(HERE / "collapsed_geometry.geojson", driver="GeoJSON")
    points = g.copy()
    points.geometry = shapely.points(g.geometry.bounds[["minx", "miny"]].to_numpy() + 0.5)
    points.to_file(HERE / "points_not_polygons.geojson", driver="GeoJSON")
    dup = g.copy()
    dup.loc[5, "uid"] = "g00"
    dup.to_file(HERE / "duplicate_ids.geojson", driver="GeoJSON")
    blank = g.copy()
    blank.loc[[1, 7], "uid"] = None
    blank.to_file(HERE / "missing_ids.geojson", driver="GeoJSON")
    nan_xy = HERE / "nan_coordinates.geojson"
    nan_xy.write_text(g.to_json().replace("[111.0, 31.0]", "[NaN, 31.0]"), encoding="utf-8")
    # the valid panel the layer and weights cases are run with (grid ids, 6 years, 3 units treated from 2014)
    years = range(2010, 2016)
    rng = np.random.default_rng(1)
    rows = [{"uid": u, "year": t, "y": float(rng.normal()), "x": float(rng.normal()),
             "did": int(u in ("g00", "g11", "g22") and t >= 2013)} for u in g["uid"] for t in years]
    pd.DataFrame(rows).to_csv(HERE / "panel.csv", index=False)
    weights()


def weights() -> None:
    ids = [f"g{r}{c}" for r in range(3) for c in range(3)]
    rook = {u: [v for v in ids if abs(int(u[1]) - int(v[1])) + abs(int(u[2]) - int(v[2])) == 1] for u in ids}

    def gal(nbrs, header=None):
        lines = [header or f"0 {len(nbrs)} units uid"]
        for u, vs in nbrs.items():
            lines += [f"{u} {len(vs)}", " ".join(vs)]
        return "\n".join(lines) + "\n"

    def gwt(triples, header=None):
        return "\n".join([header or f"0 {len(ids)} units uid"] + [f"{a} {b} {w}" for a, b, w in triples]) + "\n"

    pairs = [(u, v, 1.0) for u in ids for v in rook[u]]
    w = HERE / "weights"
    shutil.rmtree(w, ignore_errors=True)
    w.mkdir()
    (w / "good.gal").write_text(gal(rook))
    for suffix in (".gal", ".gwt", ".csv", ".npz"):
        (w / f"zero_bytes{suffix}").write_bytes(b"")
    (w / "negative.gwt").write_text(gwt([(a, b, -0.5 if (a, b) == ("g00", "g01") else wt) for a, b, wt in pairs]))
    (w / "infinite.gwt").write_text(gwt([(a, b, "inf" if (a, b) == ("g11", "g12") else wt) for a, b, wt in pairs]))
    (w / "nan_weight.gwt").write_text(gwt([(a, b, "nan" if (a, b) == ("g10", "g20") else wt) for a, b, wt in pairs]))
    (w / "text_weight.gwt").write_text(gwt([(a, b, "near" if (a, b) == ("g10", "g20") else wt) for a, b, wt in pairs]))
    (w / "two_columns.gwt").write_text(gwt([(a, b, "") for a, b, _ in pairs]))
    (w / "self_loop.gwt").write_text(gwt(pairs + [("g11", "g11", 1.0)]))
    extra = dict(rook, x99=["g00"])
    (w / "extra_id.gal").write_text(gal(extra))
    fewer = {u: [v for v in vs if v != "g22"] for u, vs in rook.items() if u != "g22"}
    (w / "missing_unit.gal").write_text(gal(fewer))
    text = gal(rook).splitlines()
    text[1] = "g00 5"  # says 5 neighbours, lists 2
    (w / "count_mismatch.gal").write_text("\n".join(text) + "\n")
    (w / "truncated.gal").write_text("\n".join(gal(rook).splitlines()[:6]) + "\n")
    (w / "bad_header.gal").write_text(gal(rook, header="units uid nine"))
    (w / "unknown_neighbour.gal").write_text(gal(dict(rook, g00=["g01", "zz9"])))
    m = pd.DataFrame(0.0, index=ids, columns=ids)
    for a, b, wt in pairs:
        m.loc[a, b] = wt
    m.to_csv(w / "good.csv", index=False)
    m.iloc[:, :8].to_csv(w / "not_square.csv", index=False)
    bad = m.astype(object)
    bad.iloc[2, 4] = "1,5"
    bad.to_csv(w / "text_cell.csv", index=False)
    bad = m.copy()
    bad.iloc[3, 1] = np.nan
    bad.to_csv(w / "empty_cell.csv", index=False)
    bad = m.copy()
    bad.iloc[0, 1] = -1.0
    bad.to_csv(w / "negative.csv", index=False)
    bad = m.copy()
    bad.iloc[4, 5] = np.inf
    bad.to_csv(w / "infinite.csv", index=False)
    (w / "semicolons.csv").write_text(m.to_csv(index=False, sep=";"))
    dup = m.copy()
    dup.columns = ids[:-1] + ["g00"]
    dup.to_csv(w / "duplicate_header.csv", index=False)
    bad = m.copy()
    bad.iloc[6, 6] = 1.0
    bad.to_csv(w / "diagonal.csv", index=False)
    (w / "not_spillmap.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (w / "weights.txt").write_text(gal(rook))


if __name__ == "__main__":
    main()
