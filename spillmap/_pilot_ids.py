"""Pilot tables keyed by unit id: one row per treated unit, its id (as in the panel) and its first treated year.

The shipped Broadband China table lists units by Chinese name and is joined through the shipped layer
(:func:`spillmap.gis.pilot_years`); a table of one's own usually lists codes. :func:`keyed_columns`
detects such a table (a column named like the panel's id and one named ``first_year`` or ``year``, or
the columns named by ``--pilots-id``/``--pilots-year``), and :func:`pilot_years_by_id` joins it to the
panel's ids with a match report. The caller's frames are never modified.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from spillmap.errors import MissingColumnError, PilotTableError, PilotTableReadError

__all__ = ["YEAR_NAMES", "KeyedPilots", "keyed_columns", "pilot_years_by_id", "read_pilot_table"]

#: Column names taken as the first treated year when ``--pilots-year`` is not given.
YEAR_NAMES = ("first_year", "year", "batch_year")


@dataclass(frozen=True)
class KeyedPilots:
    """A pilot table joined to the panel by id."""

    #: panel unit id → first treated year (only the units the table names).
    years: pd.Series
    #: Table rows naming no unit of the panel: ``pilot_row``, ``unmatched_unit``, ``reason``.
    unmatched: pd.DataFrame
    #: ``matched``, ``table_rows``, ``not_in_panel`` and ``panel_not_in_table`` counts.
    report: dict


def read_pilot_table(path: str | os.PathLike[str], id_cols: Iterable[str] = ()) -> pd.DataFrame:
    """The pilot table (CSV, Parquet or Stata), ``id_cols`` as text so ids keep their leading zeros."""
    from spillmap._tables import read_table

    if not os.path.isfile(path):
        raise PilotTableReadError(f"Pilot table '{path}' not found.")
    return read_table(path, text_columns=tuple(id_cols), what="pilot table")


def keyed_columns(table: pd.DataFrame, panel_id: str, *, pilots_id: str | None = None,
                  pilots_year: str | None = None, names: Mapping[str, str] | None = None,
                  what: str = "the pilot table") -> tuple[str, str] | None:
    """``(id column, year column)`` when ``table`` is keyed by unit id, else None (the shipped name-keyed form).

    Explicit ``pilots_id``/``pilots_year`` must exist (one error naming them); otherwise a column named like
    the panel's id and one of :data:`YEAR_NAMES` are detected.
    """
    names = {"pilots_id": "--pilots-id", "pilots_year": "--pilots-year", **(names or {})}
    columns = [str(c) for c in table.columns]
    if pilots_id or pilots_year:
        id_col = pilots_id or panel_id
        year_col = pilots_year or next((c for c in YEAR_NAMES if c in columns), None)
        missing = [f"'{c}' ({k})" for c, k in ((id_col, names["pilots_id"] if pilots_id else "the panel's id"),
                                                (year_col, names["pilots_year"])) if c and c not in columns]
        if not year_col:
            missing.append(f"for the first treated year ({names['pilots_year']}, or one named "
                           f"{' / '.join(YEAR_NAMES)})")
        if missing:
            raise MissingColumnError(f"{what} has no column {', '.join(missing)}; its columns are: "
                                     f"{', '.join(repr(c) for c in columns)}. Set {names['pilots_id']} and "
                                     f"{names['pilots_year']} to its id and first-year columns.")
        return id_col, year_col  # type: ignore[return-value]
    year_col = next((c for c in YEAR_NAMES if c in columns), None)
    if panel_id in columns and year_col and "prefecture_units_zh" not in columns:
        return panel_id, year_col
    return None


def pilot_years_by_id(table: pd.DataFrame, panel_ids: Iterable[object], *, id_col: str, year_col: str,
                      what: str = "the pilot table", names: Mapping[str, str] | None = None) -> KeyedPilots:
    """Join ``table`` (``id_col``, ``year_col``) to ``panel_ids``; one error when it matches no unit."""
    names = {"pilots_id": "--pilots-id", "treated": "--treated-col", "first_year": "--first-year-col",
             **(names or {})}
    ids = table[id_col].astype(str).str.strip()
    years = pd.to_numeric(table[year_col], errors="coerce")
    bad = years.isna() & ids.ne("") | (years.notna() & (years % 1 != 0))
    if bad.any():
        rows = ", ".join(str(i + 1) for i in list(table.index[bad])[:5])
        raise PilotTableError(f"{what}: column '{year_col}' must hold whole years; rows {rows} do not.")
    panel = {str(u).strip(): u for u in panel_ids}
    hit = ids.isin(panel)
    if not hit.any():
        raise PilotTableError(
            f"No unit of {what} (column '{id_col}', e.g. {', '.join(repr(i) for i in ids.head(3))}) is a unit of "
            f"the panel (e.g. {', '.join(repr(u) for u in list(panel)[:3])}), so no unit is treated. Use the "
            f"panel's ids there, set {names['pilots_id']} to the table's id column, or give the treatment in the "
            f"panel: {names['treated']} (0/1 column) or {names['first_year']} (first treated year column).")
    first = years[hit].groupby(ids[hit].map(panel)).min().astype(int)
    unmatched = pd.DataFrame({"pilot_row": [int(i) + 1 for i in table.index[~hit]],
                              "unmatched_unit": list(ids[~hit]),
                              "reason": "id not in the panel"})
    report = {"matched": int(first.size), "table_rows": len(table), "not_in_panel": int((~hit).sum()),
              "panel_not_in_table": int(len(panel) - first.size)}
    return KeyedPilots(first, unmatched, report)
