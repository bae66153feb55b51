"""Balanced long panels turned into (T, N) and (T, N, K) arrays aligned to the weights."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.gis._validate import describe_groups, format_ids

__all__ = ["PanelData", "panel_arrays", "panel_labels", "parse_formula"]

_NAME = r"[^\s~+]+"


def parse_formula(formula: str) -> tuple[str, list[str]]:
    """Split ``"y ~ x1 + x2"`` into ``("y", ["x1", "x2"])``.

    Fixed effects are not written in the formula (use ``fe=``); column names
    may hold any characters but whitespace, ``~`` and ``+``.
    """
    match = re.fullmatch(rf"\s*({_NAME})\s*~\s*({_NAME}(?:\s*\+\s*{_NAME})*)\s*", formula or "")
    if not match:
        raise PanelShapeError(
            f"Cannot read the formula {formula!r}; write it as 'y ~ x1 + x2' "
            "(column names joined by +, fixed effects via fe=)."
        )
    regressors = [name.strip() for name in match.group(2).split("+")]
    duplicated = sorted({r for r in regressors if regressors.count(r) > 1})
    if duplicated:
        raise PanelShapeError(f"The formula names {format_ids(duplicated)} more than once.")
    return match.group(1), regressors


@dataclass(frozen=True, eq=False)
class PanelData:
    """A balanced panel as arrays; units in the weights' order, periods ascending.

    Attributes
    ----------
    y
        Outcome, shape (T, N).
    x
        Regressors, shape (T, N, K).
    y_name, x_names
        Column names.
    ids, periods
        Unit ids (N,) and periods (T,).
    """

    y: np.ndarray
    x: np.ndarray
    y_name: str
    x_names: tuple[str, ...]
    ids: np.ndarray
    periods: np.ndarray

    @property
    def n(self) -> int:
        return self.y.shape[1]

    @property
    def t(self) -> int:
        return self.y.shape[0]


def panel_arrays(
    data: pd.DataFrame,
    *,
    id_col: str,
    time_col: str,
    y: str,
    x: Sequence[str],
    ids: Sequence[object],
    where: str = "the panel",
) -> PanelData:
    """Validate a long panel and reshape it to arrays in the order of ``ids``.

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Non-numeric or missing values, repeated (unit, period) rows, an
        unbalanced panel, or units that do not match the weights' ids (each
        message names the columns, units or periods).
    """
    columns = [id_col, time_col, y, *x]
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"{where} has no column {format_ids(missing)}; its columns are: "
            f"{', '.join(map(str, data.columns))}."
        )
    frame = data[list(dict.fromkeys(columns))]
    _check_numeric(frame, [y, *x], where)
    _check_missing(frame, id_col, time_col, [y, *x], where)

    unit_pos = _positions(frame[id_col], ids)
    periods = np.sort(frame[time_col].unique())
    time_pos = np.searchsorted(periods, frame[time_col].to_numpy())
    t, n = len(periods), len(ids)

    unknown = unit_pos < 0
    present = np.bincount(unit_pos[~unknown], minlength=n) > 0
    if unknown.any() or not present.all():
        extra = sorted({str(u) for u in frame[id_col].to_numpy()[unknown]})
        absent = [str(i) for i in np.asarray(ids, dtype=object)[~present]]
        groups = describe_groups([
            (extra, "unit(s) of the panel have no row in the weights"),
            (absent, "unit(s) of the weights have no rows in the panel"),
        ])
        raise PanelShapeError(
            f"{where} and the weights do not cover the same units ({groups}). "
            "Subset the weights to the panel's units (or the panel to the layer's) and rebuild."
        )

    cell = unit_pos * t + time_pos
    counts = np.bincount(cell, minlength=n * t)
    if (counts > 1).any():
        rows = np.flatnonzero(counts[cell] > 1)
        pairs = list(dict.fromkeys(
            f"({u}, {p})" for u, p in zip(frame[id_col].to_numpy()[rows], frame[time_col].to_numpy()[rows])
        ))
        raise PanelShapeError(
            f"{where} has {len(pairs)} (unit, period) pair(s) on more than one row, e.g. "
            f"{', '.join(pairs[:5])}; keep one row per unit and period."
        )
    if (counts == 0).any():
        short = np.flatnonzero((counts.reshape(n, t) == 0).any(axis=1))
        raise PanelShapeError(
            f"{where} is unbalanced: {len(short)} unit(s) lack some of the {t} periods "
            f"(e.g. {format_ids([str(i) for i in np.asarray(ids, dtype=object)[short]])}). Spatial panel "
            "models need every unit in every period; drop or fill those units."
        )
    if t < 2:
        raise PanelShapeError(f"{where} has a single period; fixed-effects panel models need at least two.")

    y_arr = np.empty((t, n))
    y_arr[time_pos, unit_pos] = frame[y].to_numpy(dtype=float)
    x_arr = np.empty((t, n, len(x)))
    x_arr[time_pos, unit_pos, :] = frame[list(x)].to_numpy(dtype=float)
    return PanelData(
        y=y_arr, x=x_arr, y_name=y, x_names=tuple(x), ids=np.asarray(ids), periods=periods
    )


def panel_labels(
    data: pd.DataFrame,
    *,
    id_col: str,
    time_col: str,
    column: str,
    ids: Sequence[object],
    periods: np.ndarray,
    where: str = "the panel",
) -> tuple[np.ndarray, int]:
    """Integer codes (T, N) of the labels in ``column``, aligned like :func:`panel_arrays`.

    Labels are coded 0..G−1 in sorted order; any hashable values work.

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Missing labels, or rows that are not exactly the panel's (unit, period) cells.
    """
    missing = [c for c in dict.fromkeys((id_col, time_col, column)) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"{where} has no column {format_ids(missing)}; its columns are: {', '.join(map(str, data.columns))}."
        )
    labels = data[column]
    if labels.isna().any():
        rows = (np.flatnonzero(labels.isna().to_numpy()) + 1).tolist()
        raise PanelShapeError(
            f"{where}: cluster column '{column}' is empty on rows {format_ids(rows)} (1-based); "
            "give every row a cluster."
        )
    t, n = len(periods), len(ids)
    unit_pos = _positions(data[id_col], ids)
    time_pos = pd.Index(periods).get_indexer(data[time_col].to_numpy())
    cell = np.where((unit_pos >= 0) & (time_pos >= 0), unit_pos * t + time_pos, -1)
    counts = np.bincount(cell[cell >= 0], minlength=n * t)
    if (cell < 0).any() or len(cell) != n * t or (counts != 1).any():
        raise PanelShapeError(
            f"{where} is not the fitted panel: cluster labels need exactly one row per fitted unit and "
            f"period ({n} × {t}), but it has {len(cell)} rows, {int((cell < 0).sum())} of them outside "
            "the fitted units or periods. Pass the DataFrame that was fitted."
        )
    codes, uniques = pd.factorize(labels, sort=True)
    out = np.empty((t, n), dtype=np.int64)
    out[time_pos, unit_pos] = codes
    return out, len(uniques)


def _positions(units: pd.Series, ids: Sequence[object]) -> np.ndarray:
    """Position of each row's unit in ``ids`` (−1 if absent); ids match by value, else by text."""
    index = pd.Index(list(ids))
    pos = index.get_indexer(units.to_numpy())
    if (pos < 0).any():
        text = pd.Index([str(i) for i in ids])
        pos = text.get_indexer(units.map(str).to_numpy())
    return pos


def _check_numeric(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    bad = [c for c in dict.fromkeys(columns) if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise PanelShapeError(
            f"{where}: column(s) {format_ids(bad)} are not numeric; convert them "
            "(e.g. pandas.to_numeric) or dummy-code categories."
        )


def _check_missing(frame: pd.DataFrame, id_col: str, time_col: str, columns: Sequence[str], where: str) -> None:
    for key in (id_col, time_col):
        if frame[key].isna().any():
            rows = (np.flatnonzero(frame[key].isna().to_numpy()) + 1).tolist()
            raise PanelShapeError(f"{where}: column '{key}' is empty on rows {format_ids(rows)} (1-based).")
    values = frame[list(dict.fromkeys(columns))]
    nan = values.isna() | ~np.isfinite(values.to_numpy(dtype=float))
    if nan.to_numpy().any():
        per_col = nan.sum()
        per_col = per_col[per_col > 0]
        first = frame.loc[nan.any(axis=1), [id_col, time_col]].head(5)
        examples = ", ".join(f"({u}, {t})" for u, t in first.itertuples(index=False))
        raise PanelShapeError(
            f"{where} has missing or infinite values: "
            + ", ".join(f"'{c}' {n} row(s)" for c, n in per_col.items())
            + f"; e.g. at (unit, period) {examples}. Impute or drop those units "
            "(the panel must stay balanced)."
        )
