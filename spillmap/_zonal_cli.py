"""``spillmap zonal``: raster covariates per unit (e.g. night lights) as a panel file.

:func:`run_zonal` is the library glue (read, compute, merge, write; no
printing). :func:`zonal` is the typer command; ``cli.py`` imports it and
registers it with ``app.command()(zonal)``. The command's shared machinery and
options come from :mod:`spillmap._cli_common`, never from ``cli.py``. Heavy
imports happen inside the functions so ``spillmap --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from spillmap._cli_common import (
    CrsOpt,
    EncodingOpt,
    LayerNameOpt,
    _console,
    _dumps,
    _progress,
    _reported,
    _split,
    id_option,
    json_option,
    layer_option,
    out_option,
    time_option,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["run_zonal", "zonal", "OUTPUT_SUFFIXES"]

#: How ``zonal`` names read_layer's arguments in the fixes of layer messages.
ZONAL_OPTIONS = {"layer": "--layer-name", "id": "--id", "encoding": "--encoding", "crs": "--crs", "points": None}

#: Output formats of :func:`run_zonal`, chosen by the suffix of ``out_path``.
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


def run_zonal(
    layer_path: str | os.PathLike[str],
    rasters: Mapping[Any, str | os.PathLike[str]] | Sequence[str | os.PathLike[str]],
    *,
    id_col: str,
    layer_name: str | None = None,
    panel: str | os.PathLike[str] | None = None,
    time_col: str | None = None,
    out_path: str | os.PathLike[str],
    stats: Sequence[str] = ("mean", "sum", "count"),
    all_touched: bool = False,
    encoding: str | None = None,
    crs: str | None = None,
    band: int = 1,
    prefix: str = "",
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Zonal statistics of a raster series over a layer, optionally merged into a panel, written to a file.

    Parameters
    ----------
    layer_path
        Boundary layer (.shp/.gpkg/.geojson), read with :func:`spillmap.gis.read_layer`.
    rasters
        ``{period: path}`` or paths whose names hold a year (see :func:`spillmap.gis._zonal.zonal_stats`).
    id_col
        Unit id column of the layer (and of the panel).
    layer_name
        Layer inside a GeoPackage.
    panel
        Long panel (CSV, Parquet, Stata .dta) to add the statistics to; its rows are kept.
    time_col
        Period column of ``panel``; required with ``panel``.
    out_path
        Output file, ``.csv`` (UTF-8) or ``.parquet``; written atomically.
    stats, all_touched, band, prefix, progress
        As in :func:`spillmap.gis._zonal.zonal_stats`.
    encoding
        Shapefile ``.dbf`` codec, e.g. ``"gb18030"``.
    crs
        CRS for a layer file that declares none, e.g. ``"EPSG:4326"``.

    Returns
    -------
    tuple of pathlib.Path and pandas.DataFrame
        The written file and the table written (the zonal panel, or the panel with the statistics added).

    Raises
    ------
    SpillmapError
        The output suffix or folder is unusable, ``time_col`` is missing with
        ``panel``, or any error of reading, computing or merging (each names
        the file).
    """
    from spillmap._files import atomic_path
    from spillmap._tables import read_table
    from spillmap.errors import MissingColumnError, SpillmapError
    from spillmap.gis import read_layer
    from spillmap.gis._zonal import merge_zonal, zonal_stats

    target = Path(out_path)
    suffix = target.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise SpillmapError(
            f"Cannot tell the output format of '{target}' from its suffix; use one of {', '.join(OUTPUT_SUFFIXES)}."
        )
    table = None
    if panel is not None:
        if time_col is None:
            raise MissingColumnError(
                f"Adding raster values to the panel '{panel}' needs its period column; "
                "name it with time_col=... (CLI: --time)."
            )
        table = read_table(panel)
        missing = [c for c in (id_col, time_col) if c not in table.columns]
        if missing:
            raise MissingColumnError(
                f"Panel '{panel}' has no column {', '.join(repr(c) for c in missing)}; its columns are: "
                f"{', '.join(map(str, table.columns))}. Name the unit id (--id) and period (--time) columns."
            )
    layer = read_layer(layer_path, id_col, layer=layer_name, encoding=encoding, crs=crs, options=ZONAL_OPTIONS)
    result = zonal_stats(
        layer, rasters, id_col=id_col, stats=stats, band=band,  # type: ignore[arg-type]
        all_touched=all_touched, prefix=prefix, progress=progress,
    )
    if table is not None:
        result = merge_zonal(table, result, id_col, time_col)  # type: ignore[arg-type]
    with atomic_path(target) as tmp:
        if suffix == ".csv":
            result.to_csv(tmp, index=False, encoding="utf-8")
        else:
            result.to_parquet(tmp, index=False)
    return target, result


def _raster_args(raster: Sequence[str] | None, pattern: str | None) -> dict[Any, Path]:
    """``--raster PATH`` / ``--raster PERIOD=PATH`` (repeatable) or ``--pattern`` as {period: path}."""
    from spillmap.gis._zonal import rasters_from_pattern, year_from_name

    if bool(raster) == (pattern is not None):
        raise typer.BadParameter("give the rasters with --raster (repeatable) or with --pattern, not both.")
    if pattern is not None:
        return dict(rasters_from_pattern(pattern))
    chosen: dict[Any, Path] = {}
    for value in raster or ():
        period, sep, path = value.partition("=")
        if sep and period.strip() and not os.path.exists(value) and not any(c in period for c in "/\\"):
            key: Any = int(period) if period.strip().isdigit() else period.strip()
        else:
            key, path = year_from_name(value), value
        if key in chosen:
            raise typer.BadParameter(f"two rasters for period {key}: '{chosen[key]}' and '{path}'.")
        chosen[key] = Path(path)
    return chosen


def zonal(
    layer: Annotated[Path, layer_option("Boundary layer (.shp/.gpkg/.geojson).")],
    id_col: Annotated[str, id_option("Unit id column of the layer (and of --panel).")],
    out: Annotated[Path, out_option("Output table: .csv or .parquet.")],
    raster: Annotated[
        Optional[list[str]],
        typer.Option(
            "--raster", metavar="[YEAR=]PATH",
            help="GeoTIFF whose name holds the year (ntl_2015.tif), or YEAR=PATH; repeatable.",
        ),
    ] = None,
    pattern: Annotated[
        Optional[str],
        typer.Option("--pattern", help="Rasters as 'data/ntl_{year}.tif' or a glob 'data/ntl_*.tif'."),
    ] = None,
    layer_name: LayerNameOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    panel: Annotated[
        Optional[Path], typer.Option("--panel", help="Long panel (CSV, Parquet, Stata .dta) to add the values to.")
    ] = None,
    time_col: Annotated[Optional[str], time_option("Period (year) column of --panel.")] = None,
    stats: Annotated[str, typer.Option("--stats", help="Comma-separated: mean, sum, count.")] = "mean,sum,count",
    all_touched: Annotated[
        bool, typer.Option("--all-touched", help="Count every pixel a unit touches, not only pixel centres inside.")
    ] = False,
    band: Annotated[int, typer.Option("--raster-band", help="Raster band to read, 1-based.")] = 1,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Prefix of the value columns, e.g. ntl_ (names ≤ 10 chars).")
    ] = "",
    as_json: Annotated[bool, json_option("Print a summary as JSON.")] = False,
) -> None:
    """Per-unit raster statistics (e.g. night-light mean, sum, pixel count) for each year, as a panel."""
    with _reported():
        rasters = _raster_args(raster, pattern)
        with _progress(not as_json) as progress:
            written, table = run_zonal(
                layer, rasters, id_col=id_col, layer_name=layer_name, panel=panel, time_col=time_col,
                out_path=out, stats=_split(stats), all_touched=all_touched,
                encoding=encoding, crs=crs, band=band, prefix=prefix, progress=progress,
            )
        summary = {
            "out": str(written),
            "rows": len(table),
            "periods": [_plain(p) for p in rasters],
            "rasters": {str(_plain(p)): str(path) for p, path in rasters.items()},
            "merged_into": None if panel is None else str(panel),
            "rows_without_raster": table.attrs.get("rows_without_raster"),
        }
        if as_json:
            typer.echo(_dumps(summary))
        else:
            what = f"panel '{panel}' with raster values" if panel is not None else "zonal statistics"
            _console().print(
                f"[bold green]spillmap zonal[/] wrote {what}: {len(table)} rows, "
                f"{len(rasters)} raster(s) ({', '.join(map(str, rasters))}) to {written}"
            )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
