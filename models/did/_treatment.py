"""Staggered treatment: DID dummy, event time and never-treated controls per unit-period."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spillmap.errors import MissingColumnError, PanelShapeError, SpillmapWarning
from spillmap.gis._ids import format_ids

__all__ = ["TreatmentPanel", "TreatmentReport", "assign_treatment", "TreatmentWarning", "AlwaysTreatedWarning"]

#: Columns added by :func:`assign_treatment`.
DID, FIRST_YEAR, EVENT_TIME, EVER_TREATED = "did", "first_year", "event_time", "treated"


class TreatmentWarning(SpillmapWarning):
    """Treated units without panel rows, or panel units missing from the layer."""


class AlwaysTreatedWarning(SpillmapWarning):
    """Units treated from the panel's first period (no pre-treatment period) were dropped."""


@dataclass(frozen=True)
class TreatmentReport:
    """What did not line up between the treatment source, the panel and the layer.

    Attributes
    ----------
    treated_without_rows
        Units with a first treated year but no rows in the panel.
    not_in_layer
        Panel units that are not in the layer's ids (when ids were given).
    treated_by_year
        Number of panel units by first treated year.
    never_treated
        Number of panel units never treated.
    treated_from_first_year
        Units first treated in the panel's first period or earlier: no period shows them untreated, so
        their rows were dropped (as csdid and R's ``did`` drop them).
    """

    treated_without_rows: tuple[object, ...]
    not_in_layer: tuple[object, ...]
    treated_by_year: dict[int, int]
    never_treated: int
    treated_from_first_year: tuple[object, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "treated_without_rows": [str(u) for u in self.treated_without_rows],
            "not_in_layer": [str(u) for u in self.not_in_layer],
            "treated_by_year": {str(k): v for k, v in self.treated_by_year.items()},
            "never_treated": self.never_treated,
            "treated_from_first_year": [str(u) for u in self.treated_from_first_year],
        }


@dataclass(frozen=True)
class TreatmentPanel:
    """A panel with treatment columns added (a copy; the input is unchanged).

    ``data`` gains ``did`` (0/1: treated unit in or after its first treated
    period), ``first_year`` (first treated period, <NA> if never treated),
    ``event_time`` (period − first_year, <NA> if never treated) and
    ``treated`` (0/1: ever treated).
    """

    data: pd.DataFrame = field(repr=False)
    id_col: str
    time_col: str
    report: TreatmentReport


def assign_treatment(
    panel: pd.DataFrame,
    *,
    id_col: str,
    time_col: str,
    first_year: Mapping[object, object] | pd.Series | None = None,
    treated_col: str | None = None,
    layer_ids: Sequence[object] | None = None,
) -> TreatmentPanel:
    """Add the DID dummy, event time and treatment group to a long panel.

    Units first treated in the panel's first period or earlier have no pre-treatment period: their
    rows are dropped with one :class:`AlwaysTreatedWarning` and listed in
    ``report.treated_from_first_year``.

    Parameters
    ----------
    panel
        One row per unit and period; ``time_col`` holds integer periods
        (years).
    first_year
        Unit id → first treated period (missing or <NA>: never treated),
        e.g. ``spillmap.gis.pilot_years(layer).years`` for the shipped
        Broadband China table. Ids match by value or by text.
    treated_col
        Instead of ``first_year``: a 0/1 column that switches on once and
        stays on (an absorbing treatment).
    layer_ids
        The layer's unit ids, to report panel units missing from the layer.

    Raises
    ------
    MissingColumnError, PanelShapeError
        Absent columns, non-integer periods, both or neither source given,
        or a 0/1 column that is not absorbing (the units are named).
    """
    for col in (id_col, time_col) + ((treated_col,) if treated_col else ()):
        if col not in panel.columns:
            raise MissingColumnError(
                f"The panel has no column '{col}'; its columns are: {', '.join(map(str, panel.columns))}."
            )
    if (first_year is None) == (treated_col is None):
        raise PanelShapeError("Give exactly one treatment source: first_year= (pilot years) or treated_col= (0/1).")
    times = panel[time_col]
    if not pd.api.types.is_integer_dtype(times) and not (
        pd.api.types.is_numeric_dtype(times) and np.all(np.mod(times.dropna(), 1) == 0)
    ):
        raise PanelShapeError(
            f"Column '{time_col}' must hold integer periods (years) for event time; found {times.dtype}."
        )
    data = panel.copy()
    units = data[id_col]
    if treated_col is not None:
        starts, without_rows = _first_years_from_dummy(data, id_col, time_col, treated_col), ()
    else:
        series = pd.Series(first_year) if not isinstance(first_year, pd.Series) else first_year
        series = series.dropna()
        text_map = {str(k): v for k, v in series.items()}
        starts = units.map(lambda u: text_map.get(str(u), np.nan))
        present = set(map(str, units.unique()))
        without_rows = tuple(k for k in series.index if str(k) not in present)
    starts = pd.to_numeric(starts, errors="coerce")
    data[FIRST_YEAR] = starts.round().astype("Int64")
    data[DID] = ((data[time_col] >= data[FIRST_YEAR]).fillna(False)).astype(int)
    data[EVENT_TIME] = (data[time_col] - data[FIRST_YEAR]).astype("Int64")
    data[EVER_TREATED] = data[FIRST_YEAR].notna().astype(int)
    data, always = _drop_always_treated(data, id_col, time_col)

    not_in_layer: tuple[object, ...] = ()
    if layer_ids is not None:
        known = set(map(str, layer_ids))
        not_in_layer = tuple(u for u in units.unique() if str(u) not in known)
    per_unit = data.groupby(id_col, sort=False)[FIRST_YEAR].first()
    counts = per_unit.dropna().astype(int).value_counts().sort_index()
    report = TreatmentReport(
        treated_without_rows=without_rows,
        not_in_layer=not_in_layer,
        treated_by_year={int(k): int(v) for k, v in counts.items()},
        never_treated=int(per_unit.isna().sum()),
        treated_from_first_year=always,
    )
    if without_rows:
        warnings.warn(
            f"{len(without_rows)} treated unit(s) have no rows in the panel: {format_ids(without_rows)}.",
            TreatmentWarning,
            stacklevel=2,
        )
    if not_in_layer:
        warnings.warn(
            f"{len(not_in_layer)} panel unit(s) are not in the layer: {format_ids(not_in_layer)}.",
            TreatmentWarning,
            stacklevel=2,
        )
    return TreatmentPanel(data=data, id_col=id_col, time_col=time_col, report=report)


def _drop_always_treated(data: pd.DataFrame, id_col: str, time_col: str) -> tuple[pd.DataFrame, tuple[object, ...]]:
    """Drop units first treated at or before the panel's first period, with one warning naming them."""
    if data.empty:
        return data, ()
    first = data[time_col].min()
    early = (data[FIRST_YEAR] <= first).fillna(False).to_numpy(bool)
    if not early.any():
        return data, ()
    units = tuple(u.item() if isinstance(u, np.generic) else u for u in pd.unique(data.loc[early, id_col]))
    warnings.warn(
        f"{len(units)} unit(s) treated from the first year {_plain(first)}: no pre-treatment period; dropped, "
        f"as csdid/R did do: {format_ids(list(units), limit=5)}.",
        AlwaysTreatedWarning,
        stacklevel=3,
    )
    return data.loc[~early].reset_index(drop=True), units


def _plain(value: object) -> object:
    return int(value) if isinstance(value, (float, np.floating)) and float(value).is_integer() else value


def _first_years_from_dummy(data: pd.DataFrame, id_col: str, time_col: str, col: str) -> pd.Series:
    values = data[col]
    if not values.isin([0, 1]).all():
        bad = (np.flatnonzero(~values.isin([0, 1]).to_numpy()) + 1).tolist()
        raise PanelShapeError(f"Column '{col}' must be 0/1; rows {format_ids(bad)} (1-based) are not.")
    ordered = data.sort_values([id_col, time_col])
    switched_off = ordered.groupby(id_col, sort=False)[col].diff().fillna(0) < 0
    if switched_off.any():
        units = ordered.loc[switched_off, id_col].unique().tolist()
        raise PanelShapeError(
            f"Column '{col}' switches from 1 back to 0 for {format_ids(units)}; staggered DID needs a "
            "treatment that stays on. Give first treated years instead (first_year=)."
        )
    first = ordered[ordered[col] == 1].groupby(id_col, sort=False)[time_col].min()
    return data[id_col].map(first)
