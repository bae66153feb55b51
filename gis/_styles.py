"""QGIS layer styles: colour classes and a "not significant" rule, written as QML (and SLD).

A :class:`LayerStyle` is a list of value classes, each with a fill colour,
and optionally a pair of interval columns: a unit whose interval includes
zero is drawn grey as "not significant" whatever its value.
:func:`graduated_style` computes the classes from a column's values:

* ``scheme="diverging"`` for signed effects: negative values (siphon) in
  blues, positive values (spillover) in reds, and one neutral light-grey
  class around zero. Breaks are **symmetric**: they are computed on the
  absolute values and mirrored, so one colour depth means one effect size
  on both sides of zero (the outermost bounds are the lowest and highest
  values, and a side no value reaches has no classes).
* ``scheme="sequential"`` for non-signed columns (neighbour counts, km),
  light to dark purple.

A column whose values are all equal (to :data:`CONSTANT_RTOL`) gets one
class labelled with that value. Colours are ColorBrewer's RdBu, Purples and
Greys (Cynthia Brewer, colorbrewer2.org; the same hex codes as matplotlib's
``RdBu``, ``Purples`` and ``Greys``). A value belongs to the first class
whose closed interval ``[lower, upper]`` holds it, so a value exactly on a
break falls in the lower class.

The QML is QGIS's rule-based renderer: one parent rule labelled with the
style's title (what the value is, and its unit), holding one rule per class
(filter on the value, and on the interval columns being away from zero)
and the "not significant" rule, so QGIS's legend reads like the PNG maps
drawn from the same style (:meth:`LayerStyle.classify`, :meth:`LayerStyle.legend`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from spillmap.errors import LayerError

__all__ = [
    "CONSTANT_RTOL",
    "NEUTRAL_COLOR",
    "NOT_SIGNIFICANT",
    "NOT_SIGNIFICANT_COLOR",
    "NO_DATA",
    "UNCLASSED",
    "ClassMethod",
    "ColorScheme",
    "GeometryKind",
    "LayerStyle",
    "StyleClass",
    "graduated_style",
]

ColorScheme = Literal["diverging", "sequential"]
ClassMethod = Literal["quantiles", "equal_interval"]
GeometryKind = Literal["polygon", "line", "point"]

#: ColorBrewer RdBu, per side from light (near zero) to dark (largest |value|).
_REDS = ("#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
_BLUES = ("#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")
#: Fill of the class around zero (RdBu's centre, a very light grey).
NEUTRAL_COLOR = "#f7f7f7"
#: Fill of units whose interval includes zero (ColorBrewer Greys, 4th of 9 shades).
NOT_SIGNIFICANT_COLOR = "#bdbdbd"
#: Values whose spread is at most this share of their largest |value| are one value: one class.
CONSTANT_RTOL = 1e-12
#: Codes :meth:`LayerStyle.classify` gives beside class indices (0, 1, ...): value or interval
#: missing; interval includes zero; a value outside every class (the style was built from other values).
NO_DATA, NOT_SIGNIFICANT, UNCLASSED = -1, -2, -3
#: Which of the five RdBu shades a side with n classes uses (ColorBrewer's 7- and 9-class picks).
_SIDE_PICKS = {1: (2,), 2: (1, 3), 3: (0, 2, 3), 4: (0, 1, 2, 3), 5: (0, 1, 2, 3, 4)}
#: ColorBrewer Purples (9 classes), light to dark.
_PURPLES = ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d")
_OUTLINE = "#969696"
_QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
#: The QGIS version spillmap's QGIS XML (styles, layer metadata, projects) is written for.
QGIS_VERSION = "3.22.16-Białowieża"


def qgis_document(root: ET.Element) -> str:
    """``root`` as a QGIS XML document (QML style, ``.qmd`` metadata, ``.qgs`` project): doctype line, then the XML."""
    return _QML_DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"
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
class _Rule:
    """One QGIS rule: ``bounds`` on the style's column, and whether the interval must exclude zero
    (``True``), include it (``False``, the "not significant" rule) or is not looked at (``None``)."""

    label: str
    color: str
    bounds: tuple[tuple[str, float], ...]
    significant: bool | None


@dataclass(frozen=True)
class LayerStyle:
    """A QGIS colour style for one numeric column, with an optional "not significant" rule.

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
        Free text stored beside the style (default: ``title``).
    title
        What the value is and its unit, e.g. "spillover received from cities treated by
        2016, change in y"; the legend's title in QGIS (parent rule) and in PNG maps.
    significance
        Names of the lower and upper interval columns, e.g. ``("recv_lo", "recv_hi")``:
        units whose interval includes zero are drawn "not significant" in grey, the
        classes colour the others. ``None``: every unit is coloured by its value.
    level
        Coverage of that interval (for the legend label only).
    """

    column: str
    classes: tuple[StyleClass, ...]
    scheme: ColorScheme = "diverging"
    method: ClassMethod = "quantiles"
    name: str = "spillmap"
    description: str = ""
    title: str = ""
    significance: tuple[str, str] | None = None
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.significance is not None and (
            len(self.significance) != 2 or not all(isinstance(c, str) for c in self.significance)
        ):
            raise LayerError(
                f"significance= names the lower and upper interval columns, e.g. ('recv_lo', 'recv_hi'); "
                f"got {self.significance!r}."
            )
        if not self.classes and self.significance is None:
            raise LayerError(f"The style for column '{self.column}' has no classes.")
        bounds = [b for c in self.classes for b in (c.lower, c.upper)]
        if any(b > a for a, b in zip(bounds[1:], bounds)) or not np.all(np.isfinite(bounds)):
            raise LayerError(
                f"The classes of the style for column '{self.column}' must be finite and "
                f"ascending without overlap; got {[(c.lower, c.upper) for c in self.classes]}."
            )
        if len(self.name) > 30:
            raise LayerError(f"Style name {self.name!r} is longer than the 30 characters QGIS stores.")

    @property
    def legend_title(self) -> str:
        """The legend's title: ``title``, or the column name without one."""
        return self.title or self.column

    @property
    def not_significant_label(self) -> str:
        """Legend label of units whose interval includes zero."""
        return f"not significant ({self.level * 100:g} % interval includes 0)"

    def class_index(self, values: ArrayLike) -> np.ndarray:
        """Class of each value (0-based) under QGIS's rule; -1 for missing or unclassed values."""
        v = np.asarray(pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce"), dtype=float)
        index = np.full(v.shape, -1, dtype=int)
        for i in reversed(range(len(self.classes))):  # the first matching class wins
            c = self.classes[i]
            index[(v >= c.lower) & (v <= c.upper)] = i
        return index

    def classify(self, frame: pd.DataFrame) -> np.ndarray:
        """What QGIS draws for each row of ``frame``: its class index (0-based), or a code.

        Codes: :data:`NOT_SIGNIFICANT` (the interval includes zero),
        :data:`NO_DATA` (value or interval missing: QGIS draws nothing),
        :data:`UNCLASSED` (a value outside every class). PNG maps colour rows from this.
        """
        value = _numbers(self.column, frame[self.column])
        codes = self.class_index(value)
        codes[np.isfinite(value) & (codes < 0)] = UNCLASSED
        if self.significance is not None:
            lo, hi = (_numbers(c, frame[c]) for c in self.significance)
            codes[(lo <= 0) & (hi >= 0)] = NOT_SIGNIFICANT
            codes[np.isnan(lo) | np.isnan(hi)] = NO_DATA
        codes[np.isnan(value)] = NO_DATA
        return codes

    def legend(self) -> list[tuple[str, str]]:
        """``(label, colour)`` of each legend entry, in QGIS's order: the classes, then "not significant"."""
        return [(rule.label, rule.color) for rule in self._rules()]

    def _rules(self) -> list[_Rule]:
        rules, previous = [], None
        tested = None if self.significance is None else True
        for c in self.classes:  # ">" on a shared break: the value belongs to the lower class
            low = ">" if previous is not None and c.lower == previous else ">="
            rules.append(_Rule(c.label, c.color, ((low, c.lower), ("<=", c.upper)), tested))
            previous = c.upper
        if self.significance is not None:
            rules.append(_Rule(self.not_significant_label, NOT_SIGNIFICANT_COLOR, (), False))
        return rules

    def _expression(self, rule: _Rule) -> str:
        """The rule's QGIS filter expression."""
        value = _quoted(self.column)
        parts = [f"{value} {op} {float(bound)!r}" for op, bound in rule.bounds]
        if rule.significant is not None:
            lo, hi = (_quoted(c) for c in self.significance or ())
            parts += [f"({lo} > 0 OR {hi} < 0)"] if rule.significant else [
                f"{value} IS NOT NULL", f"{lo} <= 0", f"{hi} >= 0"]
        return " AND ".join(parts)

    def to_qml(self, geometry: GeometryKind = "polygon") -> str:
        """The style as a QGIS QML document (rule-based renderer), as QGIS 3.22 saves it.

        One parent rule labelled :attr:`legend_title` holds a rule per class
        and, with ``significance``, the "not significant" rule; the filters
        are exclusive, so each unit is drawn once.
        """
        if geometry not in _SYMBOL:
            raise LayerError(f"Unknown geometry={geometry!r}; use 'polygon', 'line' or 'point'.")
        root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
        renderer = ET.SubElement(root, "renderer-v2", {
            "type": "RuleRenderer", "symbollevels": "0", "forceraster": "0", "enableorderby": "0",
            "referencescale": "-1",
        })
        group = ET.SubElement(ET.SubElement(renderer, "rules", key="{spillmap-root}"), "rule",
                              key="{spillmap-title}", label=self.legend_title)
        symbols = ET.SubElement(renderer, "symbols")
        for i, rule in enumerate(self._rules()):
            ET.SubElement(group, "rule", {"key": f"{{spillmap-{i}}}", "label": rule.label,
                                          "filter": self._expression(rule), "symbol": str(i)})
            symbols.append(_qml_symbol(str(i), rule.color, geometry))
        for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
            ET.SubElement(root, tag).text = text
        ET.SubElement(root, "layerGeometryType").text = str(("point", "line", "polygon").index(geometry))
        return qgis_document(root)

    def renamed(self, names: Mapping[str, str]) -> LayerStyle:
        """The same style on renamed columns (e.g. a Shapefile's 10-byte field names); others keep theirs."""
        significance = None if self.significance is None else tuple(names.get(c, c) for c in self.significance)
        return replace(self, column=names.get(self.column, self.column), significance=significance)

    def raster_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Palette value of each row for a styled raster's class band (float; NaN: draw nothing).

        Class ``i`` is ``i + 1`` and "not significant" is ``0`` (:meth:`classify`'s
        decision, so the raster shows exactly what the vector layer shows);
        missing and unclassed values are NaN, drawn as nothing in QGIS too.
        """
        codes = self.classify(frame).astype(float)
        out = np.full(len(codes), np.nan)
        out[codes >= 0] = codes[codes >= 0] + 1.0
        out[codes == NOT_SIGNIFICANT] = 0.0
        return out

    def to_raster_qml(self, band: int = 2) -> str:
        """The style as a QGIS QML of a raster's class band (:meth:`raster_codes`): a paletted renderer.

        One palette entry per class with the vector style's colour and label,
        and the "not significant" grey for ``0`` when the style has intervals:
        the raster draws what the vector layer draws, with the same legend.
        Nodata pixels are transparent.
        """
        root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
        pipe = ET.SubElement(root, "pipe")
        renderer = ET.SubElement(pipe, "rasterrenderer", {
            "type": "paletted", "band": str(band), "opacity": "1", "alphaBand": "-1", "nodataColor": ""})
        origin = ET.SubElement(renderer, "minMaxOrigin")
        for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated"),
                          ("cumulativeCutLower", "0.02"), ("cumulativeCutUpper", "0.98"), ("stdDevFactor", "2")):
            ET.SubElement(origin, tag).text = text
        palette = ET.SubElement(renderer, "colorPalette")
        if self.significance is not None:
            ET.SubElement(palette, "paletteEntry", value="0", color=NOT_SIGNIFICANT_COLOR, alpha="255",
                          label=self.not_significant_label)
        for i, c in enumerate(self.classes):
            ET.SubElement(palette, "paletteEntry", value=str(i + 1), color=c.color, alpha="255", label=c.label)
        ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
        ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0",
                      colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
        ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
        ET.SubElement(root, "blendMode").text = "0"
        return qgis_document(root)

    def to_sld(self, layer: str, geometry: GeometryKind = "polygon") -> str:
        """The style as OGC SLD 1.1 (the QML's rules, same filters), for tools other than QGIS."""
        ET.register_namespace("", _SLD)
        ET.register_namespace("se", _SE)
        ET.register_namespace("ogc", _OGC)
        root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
        named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
        ET.SubElement(named, f"{{{_SE}}}Name").text = layer
        user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
        ET.SubElement(user, f"{{{_SE}}}Name").text = self.name
        ET.SubElement(ET.SubElement(user, f"{{{_SE}}}Description"), f"{{{_SE}}}Title").text = self.legend_title
        fts = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
        for rule in self._rules():
            element = ET.SubElement(fts, f"{{{_SE}}}Rule")
            ET.SubElement(element, f"{{{_SE}}}Name").text = rule.label
            element.append(self._sld_filter(rule))
            element.append(_sld_symbolizer(rule.color, geometry))
        return ET.tostring(root, encoding="unicode", xml_declaration=True)

    def _sld_filter(self, rule: _Rule) -> ET.Element:
        """The rule's filter as OGC Filter 1.1 (``And`` of comparisons)."""
        def compare(parent: ET.Element, op: str, column: str, value: float) -> None:
            element = ET.SubElement(parent, f"{{{_OGC}}}{_SLD_OPS[op]}")
            ET.SubElement(element, f"{{{_OGC}}}PropertyName").text = column
            ET.SubElement(element, f"{{{_OGC}}}Literal").text = repr(float(value))

        element = ET.Element(f"{{{_OGC}}}Filter")
        both = ET.SubElement(element, f"{{{_OGC}}}And")
        for op, bound in rule.bounds:
            compare(both, op, self.column, bound)
        lo, hi = self.significance or ("", "")
        if rule.significant:
            either = ET.SubElement(both, f"{{{_OGC}}}Or")
            compare(either, ">", lo, 0.0)
            compare(either, "<", hi, 0.0)
        elif rule.significant is False:
            null = ET.SubElement(ET.SubElement(both, f"{{{_OGC}}}Not"), f"{{{_OGC}}}PropertyIsNull")
            ET.SubElement(null, f"{{{_OGC}}}PropertyName").text = self.column
            compare(both, "<=", lo, 0.0)
            compare(both, ">=", hi, 0.0)
        return element


def graduated_style(
    column: str,
    values: ArrayLike | pd.DataFrame,
    *,
    classes: int = 7,
    scheme: ColorScheme = "diverging",
    method: ClassMethod = "quantiles",
    neutral: float | None = None,
    name: str = "spillmap",
    title: str = "",
    significance: tuple[str, str] | None = None,
    level: float = 0.95,
    cover: ArrayLike | pd.DataFrame | None = None,
) -> LayerStyle:
    """Colour classes for ``column``, from its values.

    Parameters
    ----------
    column
        Attribute to colour (e.g. ``"indirect"``).
    values
        The column's values (NaN ignored), or a frame holding ``column``
        (and the ``significance`` columns); the classes span the values of
        the units they colour.
    classes
        Number of classes: odd, 3–11 for ``"diverging"`` (one neutral class
        and ``(classes - 1) / 2`` per sign), 2–9 for ``"sequential"``. Tied
        values can merge classes, so the style may hold fewer; values all
        equal (to :data:`CONSTANT_RTOL`) give one class labelled with the value,
        classes beyond the values (one side of a diverging style) are left out,
        and the outermost bounds are the lowest and highest values.
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
    title
        What the value is and its unit; the legend's title (see :class:`LayerStyle`).
    significance
        Lower and upper interval columns of ``values`` (a frame): units
        whose interval includes zero are drawn "not significant", and the
        classes come from the other units only (none when every interval
        includes zero).
    level
        Coverage of that interval, for the legend label.
    cover
        Values (or a frame, like ``values``) the classes must also reach,
        e.g. those of other layers sharing the classes: the outermost
        classes are stretched to them, the breaks stay those of ``values``
        (which take them from ``cover`` when they hold no value to class).

    Returns
    -------
    LayerStyle

    Raises
    ------
    LayerError
        The values are not numeric or all missing, ``significance`` is given
        without a frame holding its columns, ``classes`` is out of range for
        the scheme, ``neutral`` is negative or not below ``max|value|``, or
        ``scheme``/``method`` is unknown.

    Examples
    --------
    >>> from spillmap import gis
    >>> gis.graduated_style("nbrs", [366, 366, 366], scheme="sequential").legend()
    [('366', '#9e9ac8')]
    """
    v = _class_values(column, values, significance)
    extra = np.empty(0) if cover is None else _class_values(column, cover, significance)
    if method not in ("quantiles", "equal_interval"):
        raise LayerError(f"Unknown classification method={method!r}; use 'quantiles' or 'equal_interval'.")
    if scheme not in ("diverging", "sequential"):
        raise LayerError(f"Unknown scheme={scheme!r}; use 'diverging' or 'sequential'.")
    if scheme == "sequential" and neutral is not None:
        raise LayerError("neutral= applies only to scheme='diverging'.")
    _check_count(scheme, classes)
    v = v if v.size else extra
    if v.size == 0:
        rows: list[_Row] = []
    elif _is_constant(v):
        rows = [_single(v, scheme)]
    elif scheme == "diverging":
        rows = _diverging(column, v, classes, method, neutral)
    else:
        rows = _sequential(v, classes, method)
    if rows and extra.size:  # stretch the outermost classes to reach every value of ``cover``
        rows[0] = (min(rows[0][0], float(extra.min())), *rows[0][1:])
        rows[-1] = (rows[-1][0], max(rows[-1][1], float(extra.max())), *rows[-1][2:])
    if rows:  # classes no value reaches inside (e.g. blues when every value is positive) are left out,
        low, high = float(np.min(np.r_[v, extra])), float(np.max(np.r_[v, extra]))
        rows = [row for row in rows if row[1] > low and row[0] < high] or rows
        rows[0] = (low, *rows[0][1:])  # and the outermost bounds are the lowest and highest values
        rows[-1] = (rows[-1][0], high, *rows[-1][2:])
    styled = tuple(StyleClass(float(lo) + 0.0, float(hi) + 0.0, color, label)
                   for (lo, hi, color, _), label in zip(rows, _labels(rows)))
    return LayerStyle(column, styled, scheme, method, name, title=title, significance=significance, level=level)


def _numbers(column: str, series: ArrayLike) -> np.ndarray:
    """``series`` as floats (missing → NaN); LayerError unless numeric."""
    series = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series).ravel())
    if not pd.api.types.is_numeric_dtype(series):
        raise LayerError(
            f"Column '{column}' holds {series.dtype} values, not numbers; a colour style "
            "needs a numeric column (convert it with pandas.to_numeric)."
        )
    return series.to_numpy(dtype=float, na_value=np.nan)


def _class_values(column: str, values: ArrayLike | pd.DataFrame, significance: tuple[str, str] | None) -> np.ndarray:
    """The finite values the classes are made from: with ``significance``, of units whose interval excludes 0."""
    frame = values if isinstance(values, pd.DataFrame) else None
    if significance is not None and (frame is None or not {column, *significance} <= set(frame.columns)):
        raise LayerError(
            f"significance={significance!r} needs values= as a frame holding '{column}' and those "
            f"interval columns, e.g. graduated_style('{column}', frame, significance={significance!r})."
        )
    v = _numbers(column, values if frame is None else frame[column])
    if not np.isfinite(v).any():
        raise LayerError(f"Column '{column}' has no finite values to classify.")
    keep = np.isfinite(v)
    if significance is not None:
        lo, hi = (_numbers(c, frame[c]) for c in significance)
        keep &= (lo > 0) | (hi < 0)
    return v[keep]


def _check_count(scheme: ColorScheme, k: int) -> None:
    if scheme == "diverging" and (k % 2 == 0 or not 3 <= k <= 11):
        raise LayerError(f"A diverging style needs an odd number of classes from 3 to 11; got classes={k}.")
    if scheme == "sequential" and not 2 <= k <= 9:
        raise LayerError(f"A sequential style needs 2 to 9 classes; got classes={k}.")


_Row = tuple[float, float, str, str]  # lower, upper, colour, note added to the label


def _is_constant(v: np.ndarray) -> bool:
    return float(np.ptp(v)) <= CONSTANT_RTOL * float(np.max(np.abs(v)))


def _single(v: np.ndarray, scheme: ColorScheme) -> _Row:
    """One class holding every value; coloured by sign (diverging) or mid purple."""
    middle = float(np.median(v))
    if scheme == "sequential":
        color = _PURPLES[4]
    else:
        color = NEUTRAL_COLOR if middle == 0.0 else (_REDS if middle > 0 else _BLUES)[2]
    return (float(v.min()), float(v.max()), color, "")


def _diverging(column: str, v: np.ndarray, k: int, method: ClassMethod, neutral: float | None) -> list[_Row]:
    top = float(np.max(np.abs(v)))
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
    rows = [(-side[j], -side[j - 1], _BLUES[picks[j - 1]], "") for j in range(len(side) - 1, 0, -1)]
    rows.append((-z, z, NEUTRAL_COLOR, " (about 0)"))
    rows += [(side[j - 1], side[j], _REDS[picks[j - 1]], "") for j in range(1, len(side))]
    return rows


def _sequential(v: np.ndarray, k: int, method: ClassMethod) -> list[_Row]:
    lo, hi = float(v.min()), float(v.max())
    if method == "equal_interval":
        breaks = np.linspace(lo, hi, k + 1)
    else:
        breaks = np.unique(np.quantile(v, np.linspace(0.0, 1.0, k + 1), method="inverted_cdf"))
    n = len(breaks) - 1
    picks = [4] if n == 1 else np.rint(np.linspace(0 if n == 9 else 1, 8, n)).astype(int)
    return [(breaks[i], breaks[i + 1], _PURPLES[p], "") for i, p in enumerate(picks)]


def _labels(rows: list[_Row]) -> list[str]:
    """``lower – upper`` per class, with the fewest significant digits (4 to 15) that keep distinct
    breaks apart; a class whose bounds print alike is labelled with its one value."""
    breaks = sorted({b for lo, hi, _, _ in rows for b in (lo, hi)})
    apart = [b for i, b in enumerate(breaks) if i == 0 or abs(b - breaks[i - 1]) > CONSTANT_RTOL * max(abs(b), 1e-300)]
    digits = next((d for d in range(4, 16) if len({_number(b, d) for b in apart}) == len(apart)), 15)
    labels = []
    for lo, hi, _, note in rows:
        low, high = _number(lo, digits), _number(hi, digits)
        labels.append((low if low == high else f"{low} – {high}") + note)
    return labels


def _number(value: float, digits: int) -> str:
    return f"{float(value) + 0.0:.{digits}g}"


def _quoted(column: str) -> str:
    """A field name in a QGIS expression."""
    return '"' + column.replace('"', '""') + '"'


#: OGC Filter element per comparison operator.
_SLD_OPS = {">=": "PropertyIsGreaterThanOrEqualTo", ">": "PropertyIsGreaterThan",
            "<=": "PropertyIsLessThanOrEqualTo", "<": "PropertyIsLessThan"}


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
