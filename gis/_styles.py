"""QGIS layer styles: graduated colour classes written as QML (and SLD).

A :class:`LayerStyle` is a list of value classes, each with a fill colour.
:func:`graduated_style` computes the classes from a column's values:

* ``scheme="diverging"`` for signed effects: negative values (siphon) in
  blues, positive values (spillover) in reds, and one neutral light-grey
  class around zero. Breaks are **symmetric**: they are computed on the
  absolute values and mirrored, so one colour depth means one effect size
  on both sides of zero.
* ``scheme="sequential"`` for non-signed columns (neighbour counts, km),
  light to dark purple.

Colours are ColorBrewer's RdBu and Purples (Cynthia Brewer, colorbrewer2.org;
the same hex codes as matplotlib's ``RdBu`` and ``Purples``). Classes follow
QGIS's graduated renderer: a value belongs to the first class whose closed
interval ``[lower, upper]`` holds it, so a value exactly on a break falls in
the lower class.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from spillmap.errors import LayerError

__all__ = [
    "LayerStyle",
    "StyleClass",
    "graduated_style",
    "ColorScheme",
    "ClassMethod",
    "GeometryKind",
    "NEUTRAL_COLOR",
]

ColorScheme = Literal["diverging", "sequential"]
ClassMethod = Literal["quantiles", "equal_interval"]
GeometryKind = Literal["polygon", "line", "point"]

#: ColorBrewer RdBu, per side from light (near zero) to dark (largest |value|).
_REDS = ("#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
_BLUES = ("#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")
#: Fill of the class around zero (RdBu's centre, a very light grey).
NEUTRAL_COLOR = "#f7f7f7"
#: Which of the five RdBu shades a side with n classes uses (ColorBrewer's 7- and 9-class picks).
_SIDE_PICKS = {1: (2,), 2: (1, 3), 3: (0, 2, 3), 4: (0, 1, 2, 3), 5: (0, 1, 2, 3, 4)}
#: ColorBrewer Purples (9 classes), light to dark.
_PURPLES = ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d")
_OUTLINE = "#969696"
_QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"


@dataclass(frozen=True)
class StyleClass:
    """One value class: ``lower <= value <= upper`` is filled with ``color`` (``#rrggbb``)."""

    lower: float
    upper: float
    color: str
    label: str


@dataclass(frozen=True)
class LayerStyle:
    """A QGIS graduated-colour style for one numeric column.

    Attributes
    ----------
    column
        Attribute the classes apply to.
    classes
        Value classes in ascending order.
    scheme, method
        How the classes were made (see :func:`graduated_style`).
    name
        Style name QGIS lists (``styleName`` in ``layer_styles``; at most 30 characters).
    description
        Free text stored beside the style.
    """

    column: str
    classes: tuple[StyleClass, ...]
    scheme: ColorScheme = "diverging"
    method: ClassMethod = "quantiles"
    name: str = "spillmap"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.classes:
            raise LayerError(f"The style for column '{self.column}' has no classes.")
        bounds = [b for c in self.classes for b in (c.lower, c.upper)]
        if any(b > a for a, b in zip(bounds[1:], bounds)) or not np.all(np.isfinite(bounds)):
            raise LayerError(
                f"The classes of the style for column '{self.column}' must be finite and "
                f"ascending without overlap; got {[(c.lower, c.upper) for c in self.classes]}."
            )
        if len(self.name) > 30:
            raise LayerError(f"Style name {self.name!r} is longer than the 30 characters QGIS stores.")

    def class_index(self, values: ArrayLike) -> np.ndarray:
        """Class of each value (0-based) under QGIS's rule; -1 for missing or unclassed values."""
        v = np.asarray(pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce"), dtype=float)
        index = np.full(v.shape, -1, dtype=int)
        for i in reversed(range(len(self.classes))):  # the first matching class wins
            c = self.classes[i]
            index[(v >= c.lower) & (v <= c.upper)] = i
        return index

    def to_qml(self, geometry: GeometryKind = "polygon") -> str:
        """The style as a QGIS QML document (graduatedSymbol renderer), as QGIS 3.22 saves it."""
        if geometry not in _SYMBOL:
            raise LayerError(f"Unknown geometry={geometry!r}; use 'polygon', 'line' or 'point'.")
        root = ET.Element("qgis", version="3.22.16-Białowieża", styleCategories="Symbology")
        renderer = ET.SubElement(root, "renderer-v2", {
            "type": "graduatedSymbol", "attr": self.column, "graduatedMethod": "GraduatedColor",
            "symbollevels": "0", "forceraster": "0", "enableorderby": "0", "referencescale": "-1",
        })
        ranges = ET.SubElement(renderer, "ranges")
        symbols = ET.SubElement(renderer, "symbols")
        for i, c in enumerate(self.classes):
            ET.SubElement(ranges, "range", {
                "lower": repr(float(c.lower)), "upper": repr(float(c.upper)),
                "symbol": str(i), "label": c.label, "render": "true",
            })
            symbols.append(_qml_symbol(str(i), c.color, geometry))
        method = ET.SubElement(renderer, "classificationMethod", id="Custom")
        symmetric = "1" if self.scheme == "diverging" else "0"
        ET.SubElement(method, "symmetricMode", enabled=symmetric, astride=symmetric, symmetrypoint="0")
        ET.SubElement(method, "labelFormat", format="%1 – %2", labelprecision="4", trimtrailingzeroes="1")
        ET.SubElement(renderer, "rotation")
        ET.SubElement(renderer, "sizescale")
        for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
            ET.SubElement(root, tag).text = text
        ET.SubElement(root, "layerGeometryType").text = str(("point", "line", "polygon").index(geometry))
        return _QML_DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"

    def to_sld(self, layer: str, geometry: GeometryKind = "polygon") -> str:
        """The style as OGC SLD 1.1 (one rule per class), for tools other than QGIS."""
        ET.register_namespace("", _SLD)
        ET.register_namespace("se", _SE)
        ET.register_namespace("ogc", _OGC)
        root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
        named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
        ET.SubElement(named, f"{{{_SE}}}Name").text = layer
        user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
        ET.SubElement(user, f"{{{_SE}}}Name").text = self.name
        fts = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
        for i, c in enumerate(self.classes):
            rule = ET.SubElement(fts, f"{{{_SE}}}Rule")
            ET.SubElement(rule, f"{{{_SE}}}Name").text = c.label
            both = ET.SubElement(ET.SubElement(rule, f"{{{_OGC}}}Filter"), f"{{{_OGC}}}And")
            low = "PropertyIsGreaterThanOrEqualTo" if i == 0 else "PropertyIsGreaterThan"
            for op, value in ((low, c.lower), ("PropertyIsLessThanOrEqualTo", c.upper)):
                cmp = ET.SubElement(both, f"{{{_OGC}}}{op}")
                ET.SubElement(cmp, f"{{{_OGC}}}PropertyName").text = self.column
                ET.SubElement(cmp, f"{{{_OGC}}}Literal").text = repr(float(value))
            rule.append(_sld_symbolizer(c.color, geometry))
        return ET.tostring(root, encoding="unicode", xml_declaration=True)


def graduated_style(
    column: str,
    values: ArrayLike,
    *,
    classes: int = 7,
    scheme: ColorScheme = "diverging",
    method: ClassMethod = "quantiles",
    neutral: float | None = None,
    name: str = "spillmap",
) -> LayerStyle:
    """Graduated colour classes for ``column``, from its values.

    Parameters
    ----------
    column
        Attribute to colour (e.g. ``"indirect"``).
    values
        The column's values (NaN ignored); the classes span their range.
    classes
        Number of classes: odd, 3–11 for ``"diverging"`` (one neutral class
        and ``(classes - 1) / 2`` per sign), 2–9 for ``"sequential"``. Tied
        values can merge classes, so the style may hold fewer.
    scheme
        ``"diverging"``: blues below zero, reds above, light grey around
        zero; ``"sequential"``: light to dark purple from min to max.
    method
        ``"quantiles"``: breaks are observed values splitting the units
        evenly (for ``"diverging"``, quantiles of ``|value|`` outside the
        neutral class, mirrored); ``"equal_interval"``: classes of equal
        width (for ``"diverging"``, ``classes`` equal steps over
        ``[-max|value|, max|value|]``).
    neutral
        Half-width of the neutral class ``[-neutral, neutral]``, in the
        column's units (``"diverging"`` only). By default
        ``max|value| / classes``, the width of one equal-interval class.
    name
        Style name shown in QGIS (at most 30 characters).

    Returns
    -------
    LayerStyle

    Raises
    ------
    LayerError
        The values are not numeric or all missing, ``classes`` is out of
        range for the scheme, ``neutral`` is negative or not below
        ``max|value|``, or ``scheme``/``method`` is unknown.
    """
    v = _finite(column, values)
    if method not in ("quantiles", "equal_interval"):
        raise LayerError(f"Unknown classification method={method!r}; use 'quantiles' or 'equal_interval'.")
    if scheme == "diverging":
        rows = _diverging(column, v, classes, method, neutral)
    elif scheme == "sequential":
        if neutral is not None:
            raise LayerError("neutral= applies only to scheme='diverging'.")
        rows = _sequential(column, v, classes, method)
    else:
        raise LayerError(f"Unknown scheme={scheme!r}; use 'diverging' or 'sequential'.")
    styled = tuple(StyleClass(float(lo) + 0.0, float(hi) + 0.0, color, label) for lo, hi, color, label in rows)
    return LayerStyle(column, styled, scheme, method, name)


def _finite(column: str, values: ArrayLike) -> np.ndarray:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if not pd.api.types.is_numeric_dtype(series):
        raise LayerError(
            f"Column '{column}' holds {series.dtype} values, not numbers; a graduated style "
            "needs a numeric column (convert it with pandas.to_numeric)."
        )
    v = series.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise LayerError(f"Column '{column}' has no finite values to classify.")
    return v


_Row = tuple[float, float, str, str]  # lower, upper, colour, label


def _diverging(column: str, v: np.ndarray, k: int, method: ClassMethod, neutral: float | None) -> list[_Row]:
    if k % 2 == 0 or not 3 <= k <= 11:
        raise LayerError(f"A diverging style needs an odd number of classes from 3 to 11; got classes={k}.")
    top = float(np.max(np.abs(v)))
    if top == 0.0:
        return [(0.0, 0.0, NEUTRAL_COLOR, "0")]
    z = top / k if neutral is None else float(neutral)
    if not 0.0 <= z < top:
        raise LayerError(
            f"neutral={neutral!r} must be at least 0 and below the largest |{column}| ({top:.6g}); "
            "otherwise every unit falls in the neutral class."
        )
    m = (k - 1) // 2
    if method == "equal_interval":
        side = np.linspace(z, top, m + 1)
    else:
        outer = np.abs(v)[np.abs(v) > z]
        side = np.unique(np.r_[z, np.quantile(outer, np.arange(1, m + 1) / m, method="inverted_cdf")])
    side[-1] = top
    picks = _SIDE_PICKS[len(side) - 1]
    rows = [(-side[j], -side[j - 1], _BLUES[picks[j - 1]], _label(-side[j], -side[j - 1]))
            for j in range(len(side) - 1, 0, -1)]
    rows.append((-z, z, NEUTRAL_COLOR, f"{_label(-z, z)} (about 0)"))
    rows += [(side[j - 1], side[j], _REDS[picks[j - 1]], _label(side[j - 1], side[j]))
             for j in range(1, len(side))]
    return rows


def _sequential(column: str, v: np.ndarray, k: int, method: ClassMethod) -> list[_Row]:
    if not 2 <= k <= 9:
        raise LayerError(f"A sequential style needs 2 to 9 classes; got classes={k}.")
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        breaks = np.array([lo, hi])
    elif method == "equal_interval":
        breaks = np.linspace(lo, hi, k + 1)
    else:
        breaks = np.unique(np.quantile(v, np.linspace(0.0, 1.0, k + 1), method="inverted_cdf"))
        if len(breaks) == 1:
            breaks = np.array([lo, hi])
    n = len(breaks) - 1
    picks = [4] if n == 1 else np.rint(np.linspace(0 if n == 9 else 1, 8, n)).astype(int)
    return [(breaks[i], breaks[i + 1], _PURPLES[p], _label(breaks[i], breaks[i + 1])) for i, p in enumerate(picks)]


def _label(lower: float, upper: float) -> str:
    return f"{float(lower) + 0.0:.4g} – {float(upper) + 0.0:.4g}"


def _rgba(color: str) -> str:
    h = color.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


#: QGIS symbol type and symbol-layer class per geometry kind.
_SYMBOL: dict[str, tuple[str, str]] = {
    "polygon": ("fill", "SimpleFill"),
    "line": ("line", "SimpleLine"),
    "point": ("marker", "SimpleMarker"),
}


def _symbol_props(color: str, geometry: GeometryKind) -> dict[str, str]:
    if geometry == "polygon":
        return {"color": _rgba(color), "style": "solid", "outline_color": _rgba(_OUTLINE),
                "outline_style": "solid", "outline_width": "0.1", "outline_width_unit": "MM",
                "joinstyle": "bevel"}
    if geometry == "line":
        return {"line_color": _rgba(color), "line_style": "solid", "line_width": "0.6",
                "line_width_unit": "MM", "capstyle": "square", "joinstyle": "bevel"}
    return {"name": "circle", "color": _rgba(color), "outline_color": _rgba(_OUTLINE),
            "outline_style": "solid", "outline_width": "0.2", "outline_width_unit": "MM",
            "size": "2.4", "size_unit": "MM"}


def _qml_symbol(name: str, color: str, geometry: GeometryKind) -> ET.Element:
    symbol_type, layer_class = _SYMBOL[geometry]
    symbol = ET.Element("symbol", {"type": symbol_type, "name": name, "alpha": "1",
                                   "clip_to_extent": "1", "force_rhr": "0"})
    layer = ET.SubElement(symbol, "layer", {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"})
    props = _symbol_props(color, geometry)
    options = ET.SubElement(layer, "Option", type="Map")  # read by QGIS >= 3.16
    for key, value in props.items():
        ET.SubElement(options, "Option", name=key, type="QString", value=value)
    for key, value in props.items():  # read by older QGIS
        ET.SubElement(layer, "prop", k=key, v=value)
    return symbol


def _sld_symbolizer(color: str, geometry: GeometryKind) -> ET.Element:
    def param(parent: ET.Element, name: str, value: str) -> None:
        ET.SubElement(parent, f"{{{_SE}}}SvgParameter", name=name).text = value

    if geometry == "line":
        sym = ET.Element(f"{{{_SE}}}LineSymbolizer")
        stroke = ET.SubElement(sym, f"{{{_SE}}}Stroke")
        param(stroke, "stroke", color)
        param(stroke, "stroke-width", "2")
        return sym
    if geometry == "point":
        sym = ET.Element(f"{{{_SE}}}PointSymbolizer")
        mark = ET.SubElement(ET.SubElement(sym, f"{{{_SE}}}Graphic"), f"{{{_SE}}}Mark")
        ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = "circle"
        param(ET.SubElement(mark, f"{{{_SE}}}Fill"), "fill", color)
        return sym
    sym = ET.Element(f"{{{_SE}}}PolygonSymbolizer")
    param(ET.SubElement(sym, f"{{{_SE}}}Fill"), "fill", color)
    stroke = ET.SubElement(sym, f"{{{_SE}}}Stroke")
    param(stroke, "stroke", _OUTLINE)
    param(stroke, "stroke-width", "0.5")
    return sym
