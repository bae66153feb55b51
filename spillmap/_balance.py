"""Balance an unbalanced panel for the spatial models: drop units, drop periods, or interpolate gaps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spillmap.errors import PanelShapeError, SpillmapError

__all__ = ["BALANCE_MODES", "balance_panel"]

#: The ways :func:`balance_panel` balances a panel.
BALANCE_MODES = ("drop-units", "drop-periods", "interpolate")
#: Columns of the report frame.
REPORT_COLUMNS = ["unit", "year", "action", "column"]


def balance_panel(frame: pd.DataFrame, id_col: str, time_col: str, how: str,
                  columns: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(balanced_frame, report_frame)``; ``frame`` itself is never modified.

    ``how``: ``"drop-units"`` keeps the units observed in every period; ``"drop-periods"`` keeps the
    periods in which every unit is observed (at least two must remain); ``"interpolate"`` fills the
    gaps inside each unit's observed span linearly in time for ``columns`` (other columns that are
    constant within the unit take that value, the rest stay empty), and drops the units missing a
    first or last period (edges are not extrapolated). The report lists one row per (unit, year)
    dropped (``action`` "dropped", empty ``column``) and one per filled cell (``action`` "filled").
    """
    if how not in BALANCE_MODES:
        raise SpillmapError(f"Unknown balance {how!r}; choose one of {', '.join(BALANCE_MODES)}.")
    data = frame.copy()
    periods = sorted(pd.unique(data[time_col]))
    counts = data.groupby(id_col, sort=False)[time_col].nunique()
    dropped_rows = pd.Series(False, index=data.index)
    filled: list[pd.DataFrame] = []
    report: list[tuple[object, object, str, str]] = []
    if how == "drop-units":
        dropped_rows = data[id_col].isin(counts.index[counts < len(periods)])
    elif how == "drop-periods":
        per_period = data.groupby(time_col)[id_col].nunique()
        keep = per_period.index[per_period == len(counts)]
        if len(keep) < 2:
            raise PanelShapeError(
                f"Balancing by dropping periods leaves {len(keep)} period(s) in which all {len(counts)} units are "
                f"observed ({', '.join(str(_plain(p)) for p in keep) or 'none'}); the models need at least 2. "
                "Use drop-units or interpolate instead."
            )
        dropped_rows = ~data[time_col].isin(keep)
    else:
        columns = [c for c in dict.fromkeys(columns) if c in data.columns and c not in (id_col, time_col)]
        others = [c for c in data.columns if c not in (id_col, time_col, *columns)]
        edge_units = []
        for unit, rows in data.groupby(id_col, sort=False):
            if len(rows) == len(periods):
                continue
            seen = np.sort(rows[time_col].to_numpy())
            missing = [p for p in periods if p not in set(seen)]
            if missing[0] < seen[0] or missing[-1] > seen[-1]:
                edge_units.append(unit)
                continue
            new = pd.DataFrame({id_col: [unit] * len(missing), time_col: missing})
            ordered = rows.sort_values(time_col)
            x = ordered[time_col].to_numpy(dtype=float)
            for col in columns:
                y = pd.to_numeric(ordered[col], errors="coerce").to_numpy(dtype=float)
                ok = ~np.isnan(y)
                new[col] = np.interp(np.asarray(missing, dtype=float), x[ok], y[ok]) if ok.any() else np.nan
                report += [(unit, p, "filled", col) for p in missing]
            for col in others:
                values = rows[col].dropna().unique()
                if len(values) == 1 and rows[col].notna().all():
                    new[col] = values[0]
            filled.append(new)
        dropped_rows = data[id_col].isin(edge_units)
    report += [(u, t, "dropped", "") for u, t in zip(data.loc[dropped_rows, id_col], data.loc[dropped_rows, time_col])]
    kept = data.loc[~dropped_rows]
    if filled:
        order = {u: i for i, u in enumerate(pd.unique(data[id_col]))}
        kept = pd.concat([kept, *filled], ignore_index=True)
        kept = kept.sort_values([time_col], kind="stable")
        kept = kept.iloc[np.argsort(kept[id_col].map(order).to_numpy(), kind="stable")]
        for col in data.columns:  # integer columns became float through the new rows' gaps; restore when whole
            if pd.api.types.is_integer_dtype(data[col].dtype) and kept[col].notna().all():
                kept[col] = kept[col].astype(data[col].dtype)
    kept = kept.reset_index(drop=True)
    if kept[id_col].nunique() < 2 or kept[time_col].nunique() < 2:
        raise PanelShapeError(
            f"Balancing by {how} leaves {kept[id_col].nunique()} unit(s) in {kept[time_col].nunique()} period(s); "
            "the models need several units in several periods. Try another way to balance, or fill the panel's gaps."
        )
    table = pd.DataFrame(report, columns=REPORT_COLUMNS)
    if len(table):
        table["_o"] = table["unit"].map({u: i for i, u in enumerate(pd.unique(data[id_col]))})
        table = table.sort_values(["_o", "year", "action", "column"], kind="stable").drop(columns="_o")
    return kept, table.reset_index(drop=True)


def _plain(value: object) -> object:
    return int(value) if isinstance(value, (int, float, np.number)) and float(value).is_integer() else value


def summary(report: pd.DataFrame, how: str, option: str) -> str:
    """One line: what balancing did, for the command's output."""
    dropped = report[report["action"] == "dropped"]
    filled = report[report["action"] == "filled"]
    parts = []
    if len(filled):
        rows = filled[["unit", "year"]].drop_duplicates()
        parts.append(f"filled {len(rows)} (unit, year) row(s) of {rows['unit'].nunique()} unit(s)")
    if len(dropped) and how == "drop-periods":
        years = ", ".join(str(_plain(y)) for y in sorted(dropped["year"].unique()))
        parts.append(f"dropped year(s) {years} ({len(dropped)} row(s))")
    elif len(dropped):
        parts.append(f"dropped {dropped['unit'].nunique()} unit(s) ({len(dropped)} row(s))")
    done = "; ".join(parts) or "the panel was already balanced, nothing changed"
    return f"Balanced the panel for the spatial models ({option} {how}): {done}; see balance.csv."
