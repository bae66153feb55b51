"""PNG maps drawn from the QGIS styles: per-city effects and received spillover by distance band.

Every map colours its units with :meth:`spillmap.gis.LayerStyle.classify`
of the very style stored for QGIS in ``spillmap.gpkg``: the same classes,
colours, "not significant" grey (95 % interval includes zero), legend
title and labels (:meth:`~spillmap.gis.LayerStyle.legend`).

China layout: maps of the shipped China layer (a run without ``[layer]
path``) follow the convention for published maps of China. The South China
Sea islands (三沙市, 460300, and everything south of
:data:`INSET_SOUTH_OF_DEG`) are drawn in an inset in the lower right rather
than stretching the main map, and the shipped units without data (Hong
Kong, Macau and Taiwan, which are not in the sample, and any unit the panel
lacks) are drawn as hatched outlines marked "no data". A user's layer gets
a plain map of its own units.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from spillmap.gis import LayerStyle
    from spillmap.models.spatial_did._crossover import Crossover

__all__ = [
    "choropleths", "effect_style", "effect_title", "synthetic_title", "style_name", "band_label", "facecolors",
    "china_layout", "ChinaLayout", "SYNTHETIC_TAG", "SANSHA_CODE", "INSET_SOUTH_OF_DEG", "INSET_WINDOW_DEG",
    "INSET_WIDTH", "NO_DATA_COLOR",
]

#: Start of every title, legend and QGIS style of a run on synthetic data.
SYNTHETIC_TAG = "SYNTHETIC DATA — "
#: 三沙市 in the shipped layer: the South China Sea islands.
SANSHA_CODE = "460300"
#: Latitude (degrees north) south of which the shipped layer is drawn only in the inset.
INSET_SOUTH_OF_DEG = 18.0
#: The inset's window (west, south, east, north; degrees): the South China Sea with Hainan.
INSET_WINDOW_DEG = (106.0, 3.0, 122.5, 23.0)
#: Caption of the inset on the per-city maps.
INSET_LABEL = "South China Sea Islands"
#: Width of the inset, as a share of the main window's width.
INSET_WIDTH = 0.18
#: Fill of units without data (with an outline and light hatching).
NO_DATA_COLOR = "#ffffff"
NO_DATA_LABEL = "no data"
_EDGE = "#969696"
_HATCH = "////"
#: What each per-city quantity is (``{year}``: cities treated by it); the unit is added from the outcome.
_WHAT = {
    "own": "own effect of each city's treatment on itself",
    "recv": "spillover received from cities treated by {year}",
    "emit": "spillover emitted to all other cities (sum)",
}
#: PNG headings of the per-city maps.
_HEADS = {"own": "Own effect", "recv": "Spillover received", "emit": "Spillover emitted"}
_LEGEND_WIDTH = 34  # characters per legend-title line


def effect_title(column: str, *, year: int, outcome: str, synthetic: bool = False) -> str:
    """Legend title of a per-city effect: what it is and its unit.

    Parameters
    ----------
    column
        ``"own"``, ``"recv"`` or ``"emit"``.
    year
        Cities treated by this year drive the received spillover.
    outcome
        The outcome's column name: effects are changes in it.
    synthetic
        Start with :data:`SYNTHETIC_TAG`.

    Examples
    --------
    >>> effect_title("recv", year=2016, outcome="y")
    'spillover received from cities treated by 2016, change in y'
    """
    return synthetic_title(f"{_WHAT[column].format(year=year)}, change in {outcome}", synthetic)


def synthetic_title(text: str, synthetic: bool) -> str:
    """``text``, after :data:`SYNTHETIC_TAG` for synthetic runs."""
    return SYNTHETIC_TAG + text if synthetic else text


def band_label(key: str) -> str:
    """A band layer's distances: ``sweep_0050_0100`` → ``50–100 km``."""
    inner, outer = key[6:].split("_")
    return f"{int(inner)}–{int(outer)} km"


def style_name(name: str, synthetic: bool) -> str:
    """QGIS style name (``styleName``, at most 30 characters), ``SYNTHETIC`` first for synthetic runs."""
    return f"SYNTHETIC {name}" if synthetic else name


def effect_style(
    frame: pd.DataFrame,
    column: str,
    *,
    year: int,
    outcome: str,
    synthetic: bool,
    classes: int,
    name: str,
    cover: pd.DataFrame | None = None,
    description: str = "",
) -> LayerStyle:
    """Diverging style of a per-city effect: units whose ``<column>_lo``–``<column>_hi`` interval
    includes zero are "not significant", the classes come from the others.

    ``frame`` holds the columns of :meth:`UnitEffectsResult.to_frame`; ``cover``
    (e.g. every sweep band) stretches the outer classes; ``name`` gets
    ``SYNTHETIC`` first for synthetic runs; ``description`` is stored after the title.
    """
    from spillmap.gis import graduated_style

    style = graduated_style(
        column, frame, classes=classes, significance=(f"{column}_lo", f"{column}_hi"), cover=cover,
        title=effect_title(column, year=year, outcome=outcome, synthetic=synthetic),
        name=style_name(name, synthetic),
    )
    return replace(style, description=f"{style.title}; {description}") if description else style


Bounds = tuple[float, float, float, float]  # minx, miny, maxx, maxy


@dataclass(frozen=True)
class ChinaLayout:
    """Where a China map looks (projected bounds) and the units it draws without data.

    Attributes
    ----------
    main
        The main map's window.
    inset
        The South China Sea window shown in the inset.
    inset_box
        Where the inset sits on the main map: its lower-right corner, below every unit above it.
    no_data
        Shipped units absent from the mapped layer.
    """

    main: Bounds
    inset: Bounds
    inset_box: Bounds
    no_data: gpd.GeoDataFrame


def china_layout(frame: gpd.GeoDataFrame) -> ChinaLayout:
    """Main window, South China Sea inset and no-data units for a map of the shipped China layer.

    ``frame`` holds units of the shipped layer (id column ``code``) in a
    projected CRS. The main window covers every shipped unit but 三沙市,
    north of :data:`INSET_SOUTH_OF_DEG`; the inset shows
    :data:`INSET_WINDOW_DEG` in the main window's lower-right corner,
    :data:`INSET_WIDTH` of its width wide, and the window reaches further
    south when the inset would otherwise cover land (Taiwan). Shipped units
    absent from ``frame`` (Hong Kong, Macau and Taiwan at least) are
    returned, projected, to draw as "no data".
    """
    import geopandas as gpd
    import shapely

    from spillmap import gis

    shipped = gis.read_china_layer(sample_only=False)
    absent = shipped[~shipped[gis.CHINA_ID].isin(frame[gis.CHINA_ID].astype(str))]
    north = shipped[shipped[gis.CHINA_ID] != SANSHA_CODE].geometry.clip_by_rect(-180.0, INSET_SOUTH_OF_DEG,
                                                                                  180.0, 90.0)
    north = north[~north.is_empty].to_crs(frame.crs)
    window = shapely.segmentize(shapely.box(*INSET_WINDOW_DEG), 0.25)
    inset = gpd.GeoSeries([window], crs=shipped.crs).to_crs(frame.crs).total_bounds
    x0, y0, x1, y1 = north.total_bounds
    width = INSET_WIDTH * (x1 - x0)
    height = width * (inset[3] - inset[1]) / (inset[2] - inset[0])
    strip = north.clip_by_rect(x1 - width, y0, x1, y1)
    floor = strip[~strip.is_empty].total_bounds[1] if (~strip.is_empty).any() else y1
    bottom = min(y0, floor - 0.03 * (y1 - y0) - height)  # a margin of 3 % of the window's height
    return ChinaLayout(
        main=(x0, bottom, x1, y1),
        inset=tuple(inset),
        inset_box=(x1 - width, bottom, width, height),
        no_data=absent[[gis.CHINA_ID, "geometry"]].to_crs(frame.crs).reset_index(drop=True),
    )


def facecolors(style: LayerStyle, frame: pd.DataFrame) -> np.ndarray:
    """Fill colour (``#rrggbb``) of each row as QGIS draws it under ``style``.

    Class colours for classed units, the "not significant" grey, and
    :data:`NO_DATA_COLOR` where QGIS draws nothing (value or interval missing).
    """
    from spillmap.gis._styles import NOT_SIGNIFICANT, NOT_SIGNIFICANT_COLOR

    codes = style.classify(frame)
    palette = np.array([c.color for c in style.classes] + [NOT_SIGNIFICANT_COLOR, NO_DATA_COLOR], dtype=object)
    n = len(style.classes)
    return palette[np.where(codes >= 0, codes, np.where(codes == NOT_SIGNIFICANT, n, n + 1))]


def choropleths(
    maps: Mapping[str, gpd.GeoDataFrame],
    styles: Mapping[str, LayerStyle | Sequence[LayerStyle]],
    folder: Path,
    *,
    synthetic: bool,
    year: int,
    china: bool = False,
    in_crossover: Mapping[str, bool] | None = None,
    crossover: Crossover | None = None,
) -> list[Path]:
    """PNG maps from the stored styles: ``effects_<column>.png`` per style of the ``effects`` layer
    and ``sweep_bands_<column>.png`` with every ``sweep_*`` layer on one shared set of classes.

    Parameters
    ----------
    maps
        Layer name to projected frame (``effects``, ``sweep_IIII_OOOO``).
    styles
        Layer name to its style(s), as given to :func:`spillmap.gis.write_styled_geopackage`.
    folder
        Where the PNGs go (created if missing).
    synthetic
        Titles start with :data:`SYNTHETIC_TAG`.
    year
        Cities treated by this year drive the maps (for the titles).
    china
        The layers are the shipped China layer: South China Sea inset, no-data outlines.
    in_crossover
        Band layer name to whether the band entered the crossover search.
    crossover
        The sweep's crossover, for the band figure's title.
    """
    from spillmap.models._plots import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    first = next(iter(maps.values()), None)
    layout = china_layout(first) if china and first is not None else None
    written: list[Path] = []
    main = maps.get("effects")
    if main is not None:
        for style in _stack(styles["effects"]):
            fig = _figure(8.6, 6.0)
            ax = fig.subplots()
            shown = _draw(ax, main, style, layout, inset_label=True)
            ax.set_title(synthetic_title(_heading(style.column, main, year), synthetic), fontsize="medium")
            _legend(fig, style, shown)
            written += save_figure(fig, folder / f"effects_{style.column}", formats=("png",), synthetic=synthetic)
    bands = [k for k in maps if k.startswith("sweep_") and k in styles]
    if bands:
        written += _band_figure(maps, styles, bands, folder, synthetic=synthetic, year=year, layout=layout,
                                in_crossover=in_crossover or {}, crossover=crossover)
    return written


def _heading(column: str, frame: pd.DataFrame, year: int) -> str:
    """Map heading: the quantity, the weights and the cities (treated by ``year`` for received spillover;
    own and emitted effects do not depend on which cities are treated)."""
    cities = f"{len(frame)} cities"
    if column == "recv":
        treated = f"{int(np.nansum(frame['treated']))} of " if "treated" in frame else ""
        cities = f"{treated}{cities} treated by {year}" if treated else f"{cities}, treated by {year}"
    return f"{_HEADS.get(column, column)}, main weights\n({cities})"


def _stack(given: LayerStyle | Sequence[LayerStyle]) -> tuple[LayerStyle, ...]:
    from spillmap.gis import LayerStyle

    return (given,) if isinstance(given, LayerStyle) else tuple(given)


def _figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def _band_figure(
    maps: Mapping[str, gpd.GeoDataFrame],
    styles: Mapping[str, LayerStyle | Sequence[LayerStyle]],
    bands: list[str],
    folder: Path,
    *,
    synthetic: bool,
    year: int,
    layout: ChinaLayout | None,
    in_crossover: Mapping[str, bool],
    crossover: Crossover | None,
) -> list[Path]:
    """All band maps on one figure: one shared legend; sparse bands (outside the crossover search) marked."""
    from spillmap.models._plots import save_figure

    cols = 4
    rows = int(np.ceil(len(bands) / cols))
    fig = _figure(3.2 * cols + 3.0, 2.9 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    shown = False
    for ax, key in zip(axes, bands):
        style = _stack(styles[key])[0]
        shown |= _draw(ax, maps[key], style, layout)
        used = in_crossover.get(key, True)
        ax.set_title(band_label(key) + ("" if used else " (sparse: not in crossover search)"),
                     fontsize="small", color="black" if used else "0.45")
    for ax in axes[len(bands):]:
        ax.set_axis_off()
    note = f"; crossover ≈ {crossover.radius_km:.0f} km" if crossover is not None and np.isfinite(
        crossover.radius_km) else ""
    n_used = sum(in_crossover.get(k, True) for k in bands)
    fig.suptitle(synthetic_title(f"Spillover received by distance band (cities treated by {year}){note}\n"
                                 f"One colour scale for all bands, set by the {n_used} bands in the crossover "
                                 "search", synthetic), fontsize="medium")
    style = _stack(styles[bands[0]])[0]
    _legend(fig, style, shown)
    return save_figure(fig, folder / f"sweep_bands_{style.column}", formats=("png",), synthetic=synthetic)


def _draw(ax: Axes, frame: gpd.GeoDataFrame, style: LayerStyle, layout: ChinaLayout | None, *,
          inset_label: bool = False) -> bool:
    """Draw ``frame`` under ``style`` on ``ax`` (and its inset for China); True if some unit has no data."""
    import shapely

    from spillmap.gis import CHINA_ID

    shapes, colors = frame.geometry.reset_index(drop=True), facecolors(style, frame)
    ax.set_axis_off()
    if layout is None:
        _paint(ax, shapes, colors)
        return bool((colors == NO_DATA_COLOR).any())
    shapes = pd.concat([shapes, layout.no_data.geometry], ignore_index=True)  # the shipped units without data
    colors = np.r_[colors, [NO_DATA_COLOR] * len(layout.no_data)]
    north = np.r_[frame[CHINA_ID].astype(str), layout.no_data[CHINA_ID]] != SANSHA_CODE  # 三沙市: inset only
    _paint(ax, shapes[north], colors[north])
    ax.set(xlim=layout.main[0::2], ylim=layout.main[1::2])
    inset = ax.inset_axes(layout.inset_box, transform=ax.transData)
    near = shapes.intersects(shapely.box(*layout.inset)).to_numpy()
    _paint(inset, shapes[near], colors[near])
    inset.set(xlim=layout.inset[0::2], ylim=layout.inset[1::2], xticks=[], yticks=[], xlabel="", ylabel="")
    if inset_label:
        inset.text(0.04, 0.03, INSET_LABEL, transform=inset.transAxes, fontsize=5, color="0.3")
    for spine in inset.spines.values():
        spine.set(linewidth=0.6, edgecolor="0.3")
    return True


def _paint(ax: Axes, shapes: gpd.GeoSeries, colors: np.ndarray) -> None:
    """Fill ``shapes`` with ``colors``; those without data as hatched outlines."""
    blank = colors == NO_DATA_COLOR
    if (~blank).any():
        shapes[~blank].plot(ax=ax, color=list(colors[~blank]), edgecolor=_EDGE, linewidth=0.15)
    if blank.any():
        shapes[blank].plot(ax=ax, facecolor=NO_DATA_COLOR, edgecolor=_EDGE, hatch=_HATCH, linewidth=0.3)
    ax.set_aspect("equal")


def _legend(fig: Figure, style: LayerStyle, no_data: bool) -> None:
    """The style's legend (title, class labels, "not significant") outside the map, right."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=color, edgecolor=_EDGE, label=label) for label, color in style.legend()]
    if no_data:
        handles.append(Patch(facecolor=NO_DATA_COLOR, edgecolor=_EDGE, hatch=_HATCH, label=NO_DATA_LABEL))
    fig.legend(handles=handles, loc="outside right center", fontsize="x-small", frameon=False,
               title="\n".join(textwrap.wrap(style.legend_title, _LEGEND_WIDTH)), title_fontsize="small",
               alignment="left")
