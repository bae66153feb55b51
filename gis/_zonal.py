"""Raster covariates: per-unit zonal statistics of a GeoTIFF series, as a long panel.

Each raster (one per period, e.g. yearly night lights) is read only over the
window covering the layer. By default a pixel belongs to the unit containing
its centre: the units are burnt into that window once per distinct pixel
grid with :func:`rasterio.features.rasterize` and valid pixels are summed per
unit with :func:`numpy.bincount`, with no Python loop over units or pixels.
With ``all_touched=True`` a pixel belongs to *every* unit it touches (a
border pixel counts for both neighbours, so small units beside large ones
keep their pixels): each unit is masked over its own bounding box once per
grid, giving a sparse units × pixels incidence matrix that the blocks of
pixels are multiplied with.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.features
import rasterio.transform
import rasterio.windows
import shapely
from rasterio.windows import Window

from spillmap.errors import (
    CRSError,
    LayerError,
    LayerReadError,
    MissingColumnError,
    PanelShapeError,
    SpillmapWarning,
)

from ._validate import format_ids, validate_ids

__all__ = [
    "zonal_stats",
    "merge_zonal",
    "rasters_from_pattern",
    "year_from_name",
    "ZonalStat",
    "ZONAL_STATS",
    "PERIOD_COL",
]

logger = logging.getLogger(__name__)

ZonalStat = Literal["mean", "sum", "count"]
#: Every statistic :func:`zonal_stats` computes, in its default order.
ZONAL_STATS: tuple[ZonalStat, ...] = get_args(ZonalStat)
#: Name of the period column of the zonal panel.
PERIOD_COL = "period"
#: Longest column name spillmap writes (ESRI Shapefile truncates longer ones).
MAX_COLUMN_CHARS = 10
#: Pixels read per block: bounds the memory for values to ~32 MB (float64).
BLOCK_PIXELS = 1 << 22

Progress = Callable[[str, int, int], None]
RasterPath = str | os.PathLike[str]

_YEAR = re.compile(r"(?<!\d)(?:18|19|20|21)\d\d(?!\d)")


def year_from_name(path: RasterPath) -> int:
    """The 4-digit year (1800–2199) in a file's name, e.g. 2015 for ``ntl_2015.tif``.

    Raises
    ------
    LayerReadError
        The name holds no year, or more than one different year.
    """
    name = Path(path).name
    years = sorted({int(y) for y in _YEAR.findall(name)})
    if len(years) == 1:
        return years[0]
    found = "no 4-digit year" if not years else f"several years ({', '.join(map(str, years))})"
    raise LayerReadError(
        f"Cannot tell the period of raster '{path}': its name holds {found}. Rename it "
        "(e.g. 'ntl_2015.tif') or pass rasters as a mapping {period: path} "
        "(CLI: --raster 2015=PATH)."
    )


def rasters_from_pattern(pattern: RasterPath) -> dict[int, Path]:
    """Rasters matching ``pattern``, keyed by year and sorted.

    Parameters
    ----------
    pattern
        A path with ``{year}`` standing for the 4-digit year, e.g.
        ``"data/ntl_{year}.tif"``, or a glob such as ``"data/ntl_*.tif"``
        whose file names each hold one year. Both may use the glob
        wildcards ``*``, ``?`` and ``[...]`` elsewhere.

    Returns
    -------
    dict of int to pathlib.Path

    Raises
    ------
    LayerReadError
        No file matches, a name holds no year, or two files share a year.

    Examples
    --------
    >>> rasters_from_pattern("data/ntl_{year}.tif")  # doctest: +SKIP
    {2013: PosixPath('data/ntl_2013.tif'), 2014: PosixPath('data/ntl_2014.tif')}
    """
    text = os.path.expanduser(os.fspath(pattern))
    if "{year}" in text:
        parts = text.split("{year}")
        matches = glob.glob("[0-9][0-9][0-9][0-9]".join(parts))
        pieces = [_glob_regex(parts[0])]
        for i, part in enumerate(parts[1:]):  # a second {year} must repeat the first
            pieces += [r"(?P<year>\d{4})" if i == 0 else r"(?P=year)", _glob_regex(part)]
        regex = re.compile("".join(pieces))
        found = [(int(m["year"]), path) for path in matches if (m := regex.fullmatch(path))]
    else:
        found = [(year_from_name(path), path) for path in glob.glob(text)]
    if not found:
        folder = os.path.dirname(text) or "."
        raise LayerReadError(
            f"No raster matches '{pattern}' (looked in '{folder}'). Check the folder and the "
            "file names; write the year as {year}, e.g. 'data/ntl_{year}.tif'."
        )
    by_year: dict[int, list[str]] = {}
    for year, path in found:
        by_year.setdefault(year, []).append(path)
    _refuse_shared_periods(by_year, f"pattern '{pattern}'")
    return {year: Path(paths[0]) for year, paths in sorted(by_year.items())}


def zonal_stats(
    layer: gpd.GeoDataFrame,
    rasters: Mapping[Any, RasterPath] | Sequence[RasterPath],
    *,
    id_col: str,
    stats: Sequence[ZonalStat] = ZONAL_STATS,
    band: int = 1,
    all_touched: bool = False,
    prefix: str = "",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Per-unit statistics of each raster of a series, as a long panel.

    Parameters
    ----------
    layer
        Polygon layer with a CRS; reprojected to each raster's CRS.
    rasters
        ``{period: path}``, or paths whose file names hold a 4-digit year
        (``ntl_2015.tif``), which becomes the period. See
        :func:`rasters_from_pattern`.
    id_col
        Column holding one unique id per unit.
    stats
        Any of ``"mean"`` (of the valid pixels), ``"sum"`` (of the valid
        pixels, in raster units) and ``"count"`` (valid pixels, i.e. not
        nodata nor masked nor NaN, assigned to the unit).
    band
        Band to read, 1-based.
    all_touched
        Assign every pixel a unit touches instead of only those whose centre
        lies inside it. Overlapping units get each pixel once (the later row).
    prefix
        Prepended to the statistic names (``"ntl_"`` gives ``ntl_mean``); the
        names stay within 10 characters.
    progress
        Called as ``progress("zonal statistics", done, total)`` after each
        raster.

    Returns
    -------
    pandas.DataFrame
        One row per unit and period (periods sorted, units in layer order):
        ``id_col``, ``period``, then the statistics. Units without valid
        pixels get count 0 and NaN mean and sum; they are reported in a
        :class:`~spillmap.errors.SpillmapWarning` and in
        ``attrs["empty_units"]`` (``{period: [ids]}``).

    Raises
    ------
    CRSError
        The layer or a raster has no CRS.
    LayerReadError
        A raster is missing or unreadable, or its name holds no year.
    LayerError
        ``band`` is out of range, the layer does not overlap a raster, or
        ``stats``/``prefix`` are not usable.
    MissingColumnError, MissingIdError, DuplicateIdError
        From the id checks of ``id_col``.

    Examples
    --------
    >>> panel = zonal_stats(layer, {2015: "ntl_2015.tif"}, id_col="code", prefix="ntl_")  # doctest: +SKIP
    """
    chosen = _check_stats(stats, prefix, id_col)
    if layer.crs is None:
        raise CRSError(
            "The layer has no coordinate reference system, so it cannot be placed on the rasters; "
            "set one with layer.set_crs(...) or read_layer(crs=...) (CLI: --crs)."
        )
    validate_ids(layer, id_col)
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)):
        raise LayerError(f"band must be a 1-based band number, got {band!r}.")
    series = _periods(rasters)
    ids = layer[id_col].reset_index(drop=True)
    labeller = _Labeller(layer, all_touched)
    frames, empty, sources = [], {}, {}
    for done, (period, path) in enumerate(series, 1):
        counts, sums = _aggregate(path, int(band), labeller)
        frames.append(_period_frame(ids, id_col, period, counts, sums, chosen, prefix))
        if (counts == 0).any():
            empty[period] = ids[counts == 0].tolist()
        sources[period] = os.fspath(path)
        if progress is not None:
            progress("zonal statistics", done, len(series))
    result = pd.concat(frames, ignore_index=True)
    result.attrs["empty_units"] = empty
    result.attrs["rasters"] = sources
    if empty:
        warnings.warn(_empty_message(empty), SpillmapWarning, stacklevel=2)
    return result


def merge_zonal(panel: pd.DataFrame, zonal: pd.DataFrame, id_col: str, time_col: str) -> pd.DataFrame:
    """Join zonal statistics onto a panel by unit id and period.

    Parameters
    ----------
    panel
        Long panel with ``id_col`` and ``time_col``; its rows, order and index
        are kept.
    zonal
        Output of :func:`zonal_stats` (columns ``id_col``, ``period``, stats).
    id_col
        Unit id column of both frames. Numeric panel ids (as read from CSV)
        match text layer ids holding the same number.
    time_col
        Period column of the panel, matched to the ``period`` of ``zonal``.

    Returns
    -------
    pandas.DataFrame
        The panel with the statistic columns added. Rows without raster
        values (no raster for the period, id absent from the layer, or no
        valid pixel) get NaN; they are reported in a
        :class:`~spillmap.errors.SpillmapWarning` and counted in
        ``attrs["rows_without_raster"]``.

    Raises
    ------
    MissingColumnError
        A key column is absent.
    PanelShapeError
        The panel already has a statistic column, or the keys cannot be
        compared (e.g. dates against years).
    """
    keys = ((panel, (id_col, time_col), "The panel"), (zonal, (id_col, PERIOD_COL), "The zonal table"))
    for frame, columns, where in keys:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"{where} has no column {format_ids(missing)}; its columns are: "
                f"{', '.join(map(str, frame.columns))}. Name the right id (CLI: --id) and period (--time) columns."
            )
    values = [c for c in zonal.columns if c not in (id_col, PERIOD_COL)]
    clash = [c for c in values if c in panel.columns]
    if clash:
        raise PanelShapeError(
            f"The panel already has column(s) {format_ids(clash)}; give the raster statistics a "
            "prefix (prefix='ntl_', CLI: --prefix ntl_) so they do not overwrite it."
        )
    right = zonal.rename(columns={PERIOD_COL: time_col})
    right[id_col] = _aligned(right[id_col], panel[id_col], f"ids ('{id_col}')")
    right[time_col] = _aligned(right[time_col], panel[time_col], f"periods ('{time_col}')")
    flag = "__spillmap_has_raster__"
    right[flag] = _has_values(right[values])
    try:
        merged = panel.reset_index(drop=True).merge(right, on=[id_col, time_col], how="left", validate="many_to_one")
    except pd.errors.MergeError:
        repeated = right.loc[right.duplicated([id_col, time_col], keep=False), [id_col, time_col]]
        pairs = [f"{u!r} {t}" for u, t in repeated.drop_duplicates().itertuples(index=False)]
        raise PanelShapeError(
            f"The zonal table holds several rows for the same id and period ({', '.join(pairs[:12])}); "
            "this happens when layer ids differ only as text ('010' and '10') and the panel's ids are "
            "numbers. Make the layer's ids match the panel's exactly."
        ) from None
    has_values = merged.pop(flag).eq(True).to_numpy()
    merged.index = panel.index
    merged.attrs = {**panel.attrs, "rows_without_raster": int((~has_values).sum())}
    if not has_values.all():
        warnings.warn(
            _unmatched_message(panel, right, id_col, time_col, ~has_values), SpillmapWarning, stacklevel=2
        )
    return merged


# --------------------------------------------------------------------- rasters


class _Labeller:
    """Unit labels (1-based row numbers, 0 = no unit) over a raster's layer window.

    Reprojected geometries are kept per CRS and the labels of the last pixel
    grid are reused, so a series on one grid is rasterized once.
    """

    def __init__(self, layer: gpd.GeoDataFrame, all_touched: bool) -> None:
        self.layer = layer
        self.all_touched = all_touched
        self.n = len(layer)
        self.dtype = "uint16" if self.n < np.iinfo(np.uint16).max else "uint32"
        self._geoms: dict[str, np.ndarray] = {}
        self._grid: tuple | None = None
        self._labels: tuple[Window, np.ndarray] | None = None

    def labels(self, src: rasterio.io.DatasetReader, path: RasterPath) -> tuple[Window, np.ndarray]:
        wkt = src.crs.to_wkt()
        grid = (wkt, tuple(src.transform), src.width, src.height)
        if grid == self._grid and self._labels is not None:
            return self._labels
        geoms, bounds, usable, window = self._units_window(src, wkt, path)
        shape = (int(window.height), int(window.width))
        shapes = [(geoms[i], i + 1) for i in np.flatnonzero(usable)]
        labels = rasterio.features.rasterize(
            shapes, out_shape=shape, transform=src.window_transform(window), fill=0,
            all_touched=self.all_touched, dtype=self.dtype,
        )
        logger.debug("rasterized %d units into a %d×%d window of '%s'", len(shapes), *shape, path)
        self._grid, self._labels = grid, (window, labels)
        return window, labels

    def incidence(self, src: rasterio.io.DatasetReader, path: RasterPath):  # noqa: ANN201
        """(window, units × pixels sparse 0/1 matrix): every pixel each unit touches, unit by unit.

        Unlike one label raster, a pixel on a shared border belongs to every
        unit it touches, so small units next to large ones keep their pixels.
        """
        import scipy.sparse as sp

        wkt = src.crs.to_wkt()
        grid = (wkt, tuple(src.transform), src.width, src.height, "touched")
        if grid == self._grid and self._labels is not None:
            return self._labels
        geoms, bounds, usable, window = self._units_window(src, wkt, path)
        height, width = int(window.height), int(window.width)
        base = src.window_transform(window)
        rows_idx, cols_idx = [], []
        for i in np.flatnonzero(usable):
            sub = rasterio.windows.from_bounds(*bounds[i], transform=base)
            r0 = max(0, int(np.floor(sub.row_off)) - 1)
            c0 = max(0, int(np.floor(sub.col_off)) - 1)
            r1 = min(height, int(np.ceil(sub.row_off + sub.height)) + 1)
            c1 = min(width, int(np.ceil(sub.col_off + sub.width)) + 1)
            if r1 <= r0 or c1 <= c0:
                continue
            inside = rasterio.features.geometry_mask(
                [geoms[i]], out_shape=(r1 - r0, c1 - c0),
                transform=rasterio.windows.transform(Window(c0, r0, c1 - c0, r1 - r0), base),
                all_touched=True, invert=True,
            )
            rr, cc = np.nonzero(inside)
            rows_idx.append(np.full(len(rr), i))
            cols_idx.append((rr + r0) * width + (cc + c0))
        r = np.concatenate(rows_idx) if rows_idx else np.zeros(0, dtype=int)
        c = np.concatenate(cols_idx) if cols_idx else np.zeros(0, dtype=int)
        matrix = sp.csc_array((np.ones(len(r)), (r, c)), shape=(self.n, height * width))
        self._grid, self._labels = grid, (window, matrix)
        return window, matrix

    def _units_window(self, src: rasterio.io.DatasetReader, wkt: str, path: RasterPath) -> tuple:
        """Geometries in the raster's CRS, their bounds, which are usable, and the window covering them."""
        geoms = self._geoms_in(wkt, path)
        bounds = shapely.bounds(geoms)
        usable = np.isfinite(bounds).all(axis=1)
        window = _layer_window(bounds[usable], src) if usable.any() else None
        if window is None:
            raise LayerError(_no_overlap_message(path, src, bounds[usable]))
        return geoms, bounds, usable, window

    def _geoms_in(self, wkt: str, path: RasterPath) -> np.ndarray:
        if wkt not in self._geoms:
            target = pyproj.CRS.from_wkt(wkt)
            if target.equals(self.layer.crs, ignore_axis_order=True):
                geoms = self.layer.geometry
            else:
                try:
                    geoms = self.layer.geometry.to_crs(target)
                except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError) as err:
                    raise CRSError(
                        f"Cannot reproject the layer ({self.layer.crs.to_string()}) to the CRS of raster "
                        f"'{path}' ({target.to_string()}): {err}"
                    ) from err
            geoms = geoms.to_numpy()
            geoms[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = None
            self._geoms[wkt] = geoms
        return self._geoms[wkt]


def _aggregate(path: RasterPath, band: int, labeller: _Labeller) -> tuple[np.ndarray, np.ndarray]:
    """Valid-pixel counts and sums per unit (layer order) of one raster band."""
    n = labeller.n
    counts = np.zeros(n + 1, dtype=np.int64)
    sums = np.zeros(n + 1, dtype=np.float64)
    with _open_raster(path) as src:
        if not 1 <= band <= src.count:
            raise LayerError(
                f"Raster '{path}' has {src.count} band(s); band {band} is out of range. "
                f"Choose a band from 1 to {src.count} (CLI: --band)."
            )
        if src.crs is None:
            raise CRSError(
                f"Raster '{path}' has no coordinate reference system"
                + (" (it is georeferenced by ground control points)" if src.gcps[0] else "")
                + ". Assign or warp one first, e.g. `gdal_edit.py -a_srs EPSG:4326 FILE` "
                "or `gdalwarp -t_srs EPSG:4326 IN OUT`."
            )
        if labeller.all_touched:
            return _aggregate_touched(src, band, labeller, path)
        window, labels = labeller.labels(src, path)
        rows = max(1, BLOCK_PIXELS // labels.shape[1])
        for start in range(0, labels.shape[0], rows):
            lab = labels[start : start + rows]
            if not lab.any():
                continue
            block = Window(window.col_off, window.row_off + start, window.width, lab.shape[0])
            data = src.read(band, window=block, masked=True)
            values = np.ma.getdata(data)
            keep = (lab > 0) & ~np.ma.getmaskarray(data)
            if values.dtype.kind in "fc":
                keep &= np.isfinite(values)
            which = lab[keep]
            counts += np.bincount(which, minlength=n + 1)
            sums += np.bincount(which, weights=values[keep].astype(np.float64), minlength=n + 1)
    return counts[1:], sums[1:]


def _aggregate_touched(src, band: int, labeller: _Labeller, path: RasterPath) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """As :func:`_aggregate` for ``all_touched``: a pixel touching several units counts for each of them."""
    window, incidence = labeller.incidence(src, path)
    width = int(window.width)
    counts = np.zeros(labeller.n, dtype=np.float64)
    sums = np.zeros(labeller.n, dtype=np.float64)
    rows = max(1, BLOCK_PIXELS // width)
    for start in range(0, int(window.height), rows):
        height = min(rows, int(window.height) - start)
        part = incidence[:, start * width:(start + height) * width]
        if part.nnz == 0:
            continue
        block = Window(window.col_off, window.row_off + start, window.width, height)
        data = src.read(band, window=block, masked=True)
        values = np.ma.getdata(data).astype(np.float64).ravel()
        keep = ~np.ma.getmaskarray(data).ravel() & np.isfinite(values)
        counts += part @ keep.astype(np.float64)
        sums += part @ np.where(keep, values, 0.0)
    return counts.astype(np.int64), sums


def _open_raster(path: RasterPath) -> rasterio.io.DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        local = "://" not in os.fspath(path) and not os.fspath(path).startswith("/vsi")
        if local and not Path(path).exists():
            raise LayerReadError(f"Raster file '{path}' does not exist; check the path.") from None
        raise LayerReadError(f"Raster '{path}' is not a file GDAL can open: {err}") from None


def _layer_window(bounds: np.ndarray, src: rasterio.io.DatasetReader) -> Window | None:
    """Whole-pixel window covering ``bounds`` (rows xmin, ymin, xmax, ymax) plus one pixel, clipped."""
    left, bottom = bounds[:, 0].min(), bounds[:, 1].min()
    right, top = bounds[:, 2].max(), bounds[:, 3].max()
    transform = src.transform
    if transform.is_rectilinear and transform.a != 0 and transform.e != 0:
        # from_bounds wants the edges in the raster's own orientation (south-up rasters have e > 0)
        x0, x1 = (left, right) if transform.a > 0 else (right, left)
        y0, y1 = (bottom, top) if transform.e < 0 else (top, bottom)
        window = rasterio.windows.from_bounds(x0, y0, x1, y1, transform=transform)
        col0, row0 = window.col_off, window.row_off
        col1, row1 = col0 + window.width, row0 + window.height
    else:  # rotated grid: the envelope of the corners' pixel positions
        rows, cols = rasterio.transform.rowcol(
            transform, [left, right, right, left], [top, top, bottom, bottom], op=float
        )
        col0, col1, row0, row1 = min(cols), max(cols), min(rows), max(rows)
    col0, row0 = max(0, math.floor(col0) - 1), max(0, math.floor(row0) - 1)
    col1, row1 = min(src.width, math.ceil(col1) + 1), min(src.height, math.ceil(row1) + 1)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _no_overlap_message(path: RasterPath, src: rasterio.io.DatasetReader, bounds: np.ndarray) -> str:
    crs = src.crs.to_string()
    if not len(bounds):
        return f"No unit of the layer can be placed in the CRS of raster '{path}' ({crs})."
    layer = tuple(float(v) for v in (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()))
    return (
        f"The layer does not overlap raster '{path}': in the raster's CRS ({crs}) the layer spans "
        f"{_fmt_bounds(layer)} but the raster covers {_fmt_bounds(tuple(src.bounds))}. Check that the "
        "raster covers the study area and that both files declare the right CRS."
    )


def _fmt_bounds(bounds: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


# --------------------------------------------------------------------- inputs


def _periods(rasters: Mapping[Any, RasterPath] | Sequence[RasterPath]) -> list[tuple[Any, RasterPath]]:
    if isinstance(rasters, Mapping):
        pairs = list(rasters.items())
    elif isinstance(rasters, (str, os.PathLike)):
        pairs = [(year_from_name(rasters), rasters)]
    else:
        pairs = [(year_from_name(path), path) for path in rasters]
        by_year: dict[int, list[RasterPath]] = {}
        for year, path in pairs:
            by_year.setdefault(year, []).append(path)
        _refuse_shared_periods(by_year, "the rasters given")
    if not pairs:
        raise LayerReadError("No rasters were given; pass {period: path} or a list of files such as 'ntl_2015.tif'.")
    try:
        return sorted(pairs, key=lambda pair: pair[0])
    except TypeError:  # periods of mixed types keep the given order
        return pairs


def _glob_regex(text: str) -> str:
    """Regular expression for a glob fragment: ``*``, ``?`` and ``[...]`` stay within one folder."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "*":
            out.append(r"[^/\\]*")
        elif char == "?":
            out.append(r"[^/\\]")
        elif char == "[":
            j = i + 1
            if j < len(text) and text[j] == "!":
                j += 1
            if j < len(text) and text[j] == "]":
                j += 1
            j = text.find("]", j)
            if j < 0:
                out.append(re.escape(char))
            else:
                inner = text[i + 1 : j].replace("\\", "\\\\")
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                elif inner.startswith("^"):  # literal in a glob, negation in a regex
                    inner = "\\" + inner
                out.append("[" + inner + "]")
                i = j
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _refuse_shared_periods(by_year: Mapping[int, Sequence[RasterPath]], where: str) -> None:
    shared = {year: paths for year, paths in by_year.items() if len(paths) > 1}
    if shared:
        listed = "; ".join(f"{year}: {', '.join(repr(os.fspath(p)) for p in paths)}" for year, paths in shared.items())
        raise LayerReadError(
            f"Several rasters of {where} share a year ({listed}). Keep one file per year, "
            "or pass rasters as a mapping {period: path}."
        )


def _check_stats(stats: Sequence[str], prefix: str, id_col: str) -> list[str]:
    if isinstance(stats, str):
        stats = [stats]
    chosen = list(dict.fromkeys(stats))
    unknown = [s for s in chosen if s not in ZONAL_STATS]
    if unknown or not chosen:
        raise LayerError(
            f"Unknown zonal statistic(s) {format_ids(unknown) if unknown else '(none given)'}; "
            f"choose from {', '.join(ZONAL_STATS)}."
        )
    names = [prefix + s for s in chosen]
    long = [name for name in names if len(name) > MAX_COLUMN_CHARS]
    if long:
        raise LayerError(
            f"prefix {prefix!r} makes column name(s) {format_ids(long)} longer than "
            f"{MAX_COLUMN_CHARS} characters, which Shapefiles truncate; use a prefix of at most "
            f"{MAX_COLUMN_CHARS - max(map(len, chosen))} characters (e.g. 'ntl_')."
        )
    if id_col in (*names, PERIOD_COL):
        raise LayerError(
            f"The id column '{id_col}' would clash with the output column '{id_col}'; "
            "rename it or choose another prefix."
        )
    return chosen


# --------------------------------------------------------------------- outputs


def _period_frame(
    ids: pd.Series, id_col: str, period: Any, counts: np.ndarray, sums: np.ndarray,
    chosen: Sequence[str], prefix: str,
) -> pd.DataFrame:
    valid = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, sums / np.where(valid, counts, 1), np.nan)
    columns = {"mean": mean, "sum": np.where(valid, sums, np.nan), "count": counts}
    frame = pd.DataFrame({id_col: ids, PERIOD_COL: [period] * len(ids)})
    for stat in chosen:
        frame[prefix + stat] = columns[stat]
    return frame


def _empty_message(empty: Mapping[Any, Sequence[Any]]) -> str:
    by_unit: dict[Any, list[Any]] = {}
    for period, ids in empty.items():
        for uid in ids:
            by_unit.setdefault(uid, []).append(period)
    listed = [f"{uid!r} ({', '.join(map(str, periods))})" for uid, periods in by_unit.items()]
    shown = ", ".join(listed[:12]) + (f" and {len(listed) - 12} more" if len(listed) > 12 else "")
    return (
        f"{len(by_unit)} unit(s) have no valid pixel in some rasters, so their count is 0 and mean "
        f"and sum are NaN: {shown}. They lie outside the raster, cover only nodata, or are smaller "
        "than a pixel (all_touched=True, CLI --all-touched, counts every pixel a unit touches)."
    )


def _has_values(values: pd.DataFrame) -> pd.Series:
    """Rows whose statistics all hold data: floats not NaN, counts above 0."""
    ok = pd.Series(True, index=values.index)
    for _, column in values.items():
        if pd.api.types.is_integer_dtype(column):
            ok &= column > 0
        else:
            ok &= column.notna()
    return ok


def _kind(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_numeric_dtype(column):
        return "number"
    if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
        return "text"
    return str(column.dtype)


def _aligned(key: pd.Series, target: pd.Series, what: str) -> pd.Series:
    """``key`` converted so it compares with ``target`` (numbers vs text ids, as CSV readers differ)."""
    have, want = _kind(key), _kind(target)
    if have == want:
        return key
    if want == "number":
        converted = pd.to_numeric(key, errors="coerce")
        if (converted.notna() == key.notna()).all():
            return converted
    elif want == "text":
        return key.map(lambda v: v if pd.isna(v) else str(v.item() if isinstance(v, np.generic) else v))
    raise PanelShapeError(
        f"Cannot match the {what} of the panel ({target.dtype}) with those of the rasters "
        f"({key.dtype}), e.g. {target.iloc[0]!r} vs {key.iloc[0]!r}. Convert the panel column to "
        "the same kind (e.g. years as integers)."
    )


def _unmatched_message(
    panel: pd.DataFrame, right: pd.DataFrame, id_col: str, time_col: str, missing: np.ndarray
) -> str:
    rows = panel.loc[missing, [id_col, time_col]]
    no_period = ~rows[time_col].isin(set(right[time_col].tolist()))
    no_id = ~no_period & ~rows[id_col].isin(set(right[id_col].tolist()))
    no_pixel = ~no_period & ~no_id
    parts = []
    if no_period.any():
        periods = list(dict.fromkeys(rows.loc[no_period, time_col].tolist()))
        parts.append(f"{int(no_period.sum())} in period(s) without a raster: {format_ids(periods)}")
    if no_id.any():
        ids = list(dict.fromkeys(rows.loc[no_id, id_col].tolist()))
        parts.append(f"{int(no_id.sum())} of id(s) absent from the layer: {format_ids(ids)}")
    if no_pixel.any():
        pairs = [f"{u!r} {t}" for u, t in rows.loc[no_pixel, [id_col, time_col]].itertuples(index=False)]
        shown = ", ".join(pairs[:12]) + (f" and {len(pairs) - 12} more" if len(pairs) > 12 else "")
        parts.append(f"{int(no_pixel.sum())} of units without valid pixels: {shown}")
    return (
        f"{int(missing.sum())} of {len(panel)} panel row(s) get no raster values (NaN): "
        + "; ".join(parts)
        + ". Add rasters for the missing periods, or check the ids and the rasters' coverage."
    )
