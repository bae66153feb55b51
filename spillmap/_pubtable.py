"""Number formatting and esttab-style regression tables for the HTML report.

One rule for every number the report shows: estimates, standard errors and
interval bounds with 3 decimals (3 significant digits when a non-zero value
is below 0.0005 in magnitude, so that it never prints as ``0.000``);
p-values with 3 decimals and ``< 0.001`` below that; counts with thousands
separators; shares as percent with one decimal. Missing values print as
``–``. Tables are plain data (:class:`Table`); the report's template renders
them with autoescaping.

A later issue replaces the regression tables with pyfixest's ``etable``;
this module stays small on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = [
    "DID_LABEL", "NUMBER_RULE", "STAR_NOTE", "Coef", "Row", "Table", "fmt_ci", "fmt_count", "fmt_num", "fmt_p", "fmt_share",
    "p_phrase", "regression_table", "stars",
]

#: Decimals of estimates, standard errors and interval bounds.
DIGITS = 3
#: Thresholds of the significance stars, strictest first.
STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))
STAR_NOTE = "* p<0.1, ** p<0.05, *** p<0.01"
#: Row label of the DID dummy in every table (report and publication tables).
DID_LABEL = "DID (treated × post)"
#: The rule, stated once in the report.
NUMBER_RULE = ("Estimates, standard errors and interval bounds are shown with 3 decimals, p-values with 3 decimals "
               "and as “p < 0.001” below that, counts in full, shares as percent.")
MISSING = "–"
RowKind = Literal["coef", "se", "stat", "plain", "group"]


class Coef(NamedTuple):
    """One coefficient of a regression column: estimate, standard error, p-value (NaN when unknown)."""

    estimate: float
    se: float = math.nan
    p_value: float = math.nan


@dataclass(frozen=True)
class Row:
    """One table row: a label and its cells; one cell in a wider table spans every column."""

    label: str
    cells: tuple[str, ...]
    kind: RowKind = "plain"


@dataclass(frozen=True)
class Table:
    """A rendered-ready table: column headings, rows of text cells, notes printed under it."""

    header: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    stub: str = ""


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_num(value: float | None, digits: int = DIGITS) -> str:
    """``1.088``; ``1.23e-05`` for tiny non-zero values; ``–`` when missing; never ``-0.000``."""
    if _missing(value):
        return MISSING
    value = float(value)
    if value != 0 and abs(value) < 0.5 * 10.0**-digits:
        return f"{value:.{digits}g}"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_p(p: float | None) -> str:
    """A p-value: ``0.412``, ``< 0.001`` below 0.001, ``–`` when missing."""
    if _missing(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p: float | None) -> str:
    """A p-value in a sentence: ``p = 0.412`` or ``p < 0.001``."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_ci(low: float | None, high: float | None) -> str:
    """An interval in words: ``0.956 to 1.220``."""
    return f"{fmt_num(low)} to {fmt_num(high)}"


def fmt_count(n: float | None) -> str:
    """A count with thousands separators: ``4,404``."""
    return MISSING if _missing(n) else f"{int(n):,}"


def fmt_share(x: float | None) -> str:
    """A share as percent with one decimal: ``94.3 %``."""
    return MISSING if _missing(x) else f"{100 * x:.1f} %"


def stars(p: float | None) -> str:
    """Significance stars: ``***`` p < 0.01, ``**`` p < 0.05, ``*`` p < 0.1, else empty."""
    if _missing(p):
        return ""
    return next((mark for level, mark in STARS if p < level), "")


def regression_table(
    columns: Mapping[str, Mapping[str, Coef]] | Sequence[tuple[str, Mapping[str, Coef]]],
    *,
    labels: Mapping[str, str] | None = None,
    stats: Sequence[tuple[str, str | Sequence[str]]] = (),
    notes: Sequence[str] = (),
    se_label: str = "Standard errors",
) -> Table:
    """An esttab-style table: per term a coefficient row with stars and a row with the (se) under it.

    Parameters
    ----------
    columns
        Column heading → term → :class:`Coef` (or ``(heading, terms)`` pairs,
        when two columns share a heading). Terms keep their first appearance
        order; a term a column lacks is a blank cell.
    labels
        Term → row label (default: the term).
    stats
        Footer rows (label, one text per column, or one text spanning all),
        e.g. ``("N", ["4,404"])`` or ``("City FE", "Yes")``.
    notes
        Lines printed under the table, after the standard-error and star notes.
    se_label
        What the parentheses hold, for the first note.

    Returns
    -------
    Table
        Headings ``(1) name``, ``(2) name``, …; rows of kinds ``coef``, ``se`` and ``stat``.
    """
    labels = labels or {}
    pairs = list(columns.items()) if isinstance(columns, Mapping) else list(columns)
    heads = tuple(f"({k}) {name}" for k, (name, _) in enumerate(pairs, start=1))
    terms = list(dict.fromkeys(term for _, col in pairs for term in col))
    rows: list[Row] = []
    for term in terms:
        cells = [col.get(term) for _, col in pairs]
        rows.append(Row(labels.get(term, term), tuple(
            "" if c is None else fmt_num(c.estimate) + stars(c.p_value) for c in cells), "coef"))
        rows.append(Row("", tuple("" if c is None or _missing(c.se) else f"({fmt_num(c.se)})" for c in cells), "se"))
    for label, values in stats:
        rows.append(Row(label, (values,) if isinstance(values, str) else tuple(values), "stat"))
    return Table(heads, tuple(rows), (f"{se_label} in parentheses. {STAR_NOTE}.", *notes))
