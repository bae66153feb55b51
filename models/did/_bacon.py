"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

With staggered adoption, the TWFE coefficient β in
y_it = α_i + γ_t + β D_it + e_it is a weighted average of every 2×2
difference-in-differences between timing groups. Comparisons that use
already-treated units as controls ("later vs earlier") subtract the change in
the earlier group's effect and are biased when effects change over time.

Reference: Goodman-Bacon, A. (2021). Difference-in-differences with variation
in treatment timing. Journal of Econometrics 225(2), 254–277 (Theorem 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids

__all__ = ["BaconKind", "BaconResult", "bacon_decomposition"]

BaconKind = Literal["treated_vs_never", "earlier_vs_later", "later_vs_earlier", "treated_vs_always"]
_KINDS: tuple[BaconKind, ...] = ("treated_vs_never", "earlier_vs_later", "later_vs_earlier", "treated_vs_always")
NEVER = "never"
ALWAYS = "always"


@dataclass(frozen=True)
class BaconResult:
    """The 2×2 comparisons behind a TWFE DiD estimate.

    Attributes
    ----------
    table
        One row per 2×2 comparison with positive weight: ``treated_group`` and
        ``control_group`` (a timing group is labelled by its first treated
        period, a value of ``time_col``; ``"never"`` and ``"always"`` label the
        never- and always-treated), ``kind`` (one of ``treated_vs_never``,
        ``earlier_vs_later``, ``later_vs_earlier``, ``treated_vs_always``),
        ``estimate`` (the 2×2 DiD, in units of y) and ``weight`` (sums to 1).
    twfe
        The TWFE coefficient on D (units of y), from two-way demeaned OLS;
        equals ``(table.weight * table.estimate).sum()``.
    groups
        One row per treatment group: ``group`` label, ``n_units``, ``share``
        (n_k, share of units) and ``treated`` (D̄_k, share of periods treated).
    n_units, n_periods
        Panel dimensions.
    """

    table: pd.DataFrame
    twfe: float
    groups: pd.DataFrame
    n_units: int
    n_periods: int

    def summary(self) -> pd.DataFrame:
        """Per kind of comparison: total ``weight`` and weight-averaged ``estimate`` (units of y).

        Kinds without any comparison are left out. ``(weight * estimate).sum()``
        over the rows equals :attr:`twfe`.
        """
        rows = []
        for kind in _KINDS:
            part = self.table[self.table["kind"] == kind]
            if len(part):
                total = float(part["weight"].sum())
                rows.append(
                    {
                        "kind": kind,
                        "weight": total,
                        "estimate": float((part["weight"] * part["estimate"]).sum() / total),
                        "n_pairs": len(part),
                    }
                )
        return pd.DataFrame(rows, columns=["kind", "weight", "estimate", "n_pairs"])

    def to_frame(self) -> pd.DataFrame:
        """The comparison table (a copy)."""
        return self.table.copy()


def bacon_decomposition(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    first_year_col: str,
) -> BaconResult:
    """Decompose the TWFE DiD coefficient into weighted 2×2 DiD comparisons.

    The regression is y_it = α_i + γ_t + β D_it + e_it with
    D_it = 1{t ≥ first treated period of i}, no controls, on a balanced panel.
    Units are grouped by their first treated period within the sample. Each
    pair of groups contributes 2×2 DiDs of group means; each weight is the
    squared share of observations in the 2×2 sub-sample times the variance of
    D in it after two-way demeaning, divided by that variance in the full
    panel (Goodman-Bacon 2021, Theorem 1).

    Parameters
    ----------
    data : pandas.DataFrame
        Long balanced panel, one row per (unit, period); not modified.
    y : str
        Outcome column (numeric, no missing values).
    id_col : str
        Unit id column.
    time_col : str
        Period column (numeric and ordered, e.g. the year; gaps are allowed).
    first_year_col : str
        Each unit's first treated period, in the units of ``time_col``; empty
        (NaN or <NA>) for never-treated units; constant within a unit. A unit
        whose first year is at or before the first period of the panel is
        always treated; one whose first year is after the last period is
        never treated in the sample.

    Returns
    -------
    BaconResult
        The 2×2 table, the TWFE coefficient and the group sizes.

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Non-numeric or missing y, time or id values; repeated (unit, period)
        rows or an unbalanced panel (units named); a first year that varies
        within a unit (units named); fewer than 2 periods; or no treatment
        variation left after unit and period effects (everyone never treated,
        always treated or treated at the same period).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillmap.models.did._bacon import bacon_decomposition
    >>> df = pd.DataFrame({"id": [1] * 3 + [2] * 3, "t": [1, 2, 3] * 2,
    ...                    "y": [0.0, 2.0, 2.0, 0.0, 0.0, 0.0],
    ...                    "first": [2.0] * 3 + [float("nan")] * 3})
    >>> res = bacon_decomposition(df, "y", id_col="id", time_col="t", first_year_col="first")
    >>> float(res.twfe)
    2.0
    """
    columns = list(dict.fromkeys([id_col, time_col, y, first_year_col]))
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"The panel has no column {format_ids(missing)}; its columns are: "
            f"{', '.join(map(str, data.columns))}. Name existing columns."
        )
    for col, what in ((y, "outcome"), (time_col, "period"), (first_year_col, "first-year")):
        if not pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col]):
            raise PanelShapeError(
                f"The {what} column {col!r} is not numeric (dtype {data[col].dtype}); convert it with pd.to_numeric."
            )
    ids = data[id_col]
    times = data[time_col].to_numpy(dtype=float, na_value=np.nan)
    outcome = data[y].to_numpy(dtype=float, na_value=np.nan)
    first = data[first_year_col].to_numpy(dtype=float, na_value=np.nan)
    for col, values in ((id_col, ids.isna().to_numpy()), (time_col, ~np.isfinite(times)), (y, ~np.isfinite(outcome))):
        if values.any():
            rows = np.flatnonzero(values)
            raise PanelShapeError(
                f"Column {col!r} has {len(rows)} missing or infinite value(s) at row(s) "
                f"{format_ids(list(data.index[rows]))}; fill or drop those rows."
            )
    if np.isinf(first).any():
        rows = np.flatnonzero(np.isinf(first))
        raise PanelShapeError(
            f"Column {first_year_col!r} is infinite at row(s) {format_ids(list(data.index[rows]))}; "
            "use NaN for never-treated units."
        )

    unit_codes, unit_ids = pd.factorize(ids, sort=True)
    time_codes, periods = pd.factorize(times, sort=True)
    n, t = len(unit_ids), len(periods)

    counts = np.zeros((n, t), dtype=int)
    np.add.at(counts, (unit_codes, time_codes), 1)
    repeated = np.flatnonzero((counts > 1).any(axis=1))
    if len(repeated):
        raise PanelShapeError(
            f"{len(repeated)} unit(s) have more than one row for a period: {format_ids(list(unit_ids[repeated]))}; "
            f"keep one row per ({id_col}, {time_col})."
        )
    incomplete = np.flatnonzero((counts == 0).any(axis=1))
    if len(incomplete):
        raise PanelShapeError(
            f"The panel is unbalanced: {len(incomplete)} unit(s) lack some of the {t} periods: "
            f"{format_ids(list(unit_ids[incomplete]))}; the decomposition needs a balanced panel "
            "(drop those units or the incomplete periods)."
        )
    if t < 2:
        raise PanelShapeError(f"The panel has {t} period(s) in {time_col!r}; a DiD needs at least 2.")

    first_by_unit = pd.DataFrame({"u": unit_codes, "f": first}).groupby("u")["f"]
    varying = np.flatnonzero(first_by_unit.nunique(dropna=False).to_numpy() > 1)
    if len(varying):
        raise PanelShapeError(
            f"{first_year_col!r} varies within {len(varying)} unit(s): {format_ids(list(unit_ids[varying]))}; "
            "it must hold each unit's single first treated period (empty for never treated) on all its rows."
        )
    first_unit = first_by_unit.first().to_numpy()  # NaN stays NaN only if all rows are NaN

    y_mat = np.empty((n, t))
    y_mat[unit_codes, time_codes] = outcome
    # Index of each unit's first treated period within the sample; t means never treated in the sample.
    start = np.where(np.isnan(first_unit), t, np.searchsorted(periods, first_unit, side="left"))
    d_mat = (np.arange(t)[None, :] >= start[:, None]).astype(float)

    d_tilde = d_mat - d_mat.mean(axis=1, keepdims=True) - d_mat.mean(axis=0, keepdims=True) + d_mat.mean()
    var_d = float((d_tilde**2).mean())
    if var_d <= 1e-12:
        raise PanelShapeError(
            "There is no treatment variation left after unit and period effects: every unit is never "
            "treated, always treated, or treated from the same period, so the TWFE coefficient is not "
            f"identified. Check {first_year_col!r}; the design needs units treated at different times "
            "or a never-treated comparison group."
        )
    twfe = float((d_tilde * y_mat).sum() / (d_tilde**2).sum())

    # Treatment groups by start index: 0 = always treated, t = never treated, otherwise a timing group.
    starts, sizes = np.unique(start, return_counts=True)
    share = dict(zip(starts.tolist(), (sizes / n).tolist()))
    timing = [s for s in starts.tolist() if 0 < s < t]
    treated_share = {s: (t - s) / t for s in starts.tolist()}

    def label(s: int) -> object:
        if s == 0:
            return ALWAYS
        if s == t:
            return NEVER
        value = periods[s]
        return int(value) if float(value).is_integer() else float(value)

    group_mean = {s: y_mat[start == s].mean(axis=0) for s in starts.tolist()}

    def dd(treated: int, control: int, lo: int, mid: int, hi: int) -> float:
        """2×2 DiD: periods [mid, hi) vs [lo, mid), treated minus control group means."""
        gt, gc = group_mean[treated], group_mean[control]
        return float((gt[mid:hi].mean() - gt[lo:mid].mean()) - (gc[mid:hi].mean() - gc[lo:mid].mean()))

    rows: list[dict[str, object]] = []
    for k in timing:
        nk, dk = share[k], treated_share[k]
        for control, kind in ((t, "treated_vs_never"), (0, "treated_vs_always")):
            if control in share:
                nc = share[control]
                rel = nk / (nk + nc)
                weight = (nk + nc) ** 2 * rel * (1 - rel) * dk * (1 - dk) / var_d
                rows.append(_row(label(k), label(control), kind, dd(k, control, 0, k, t), weight))
        for l in timing:
            if l <= k:
                continue
            # k is treated earlier (smaller start index, larger D̄_k) than l.
            nl, dl = share[l], treated_share[l]
            rel = nk / (nk + nl)
            w_early = ((nk + nl) * (1 - dl)) ** 2 * rel * (1 - rel) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
            w_late = ((nk + nl) * dk) ** 2 * rel * (1 - rel) * (dl / dk) * (dk - dl) / dk
            rows.append(_row(label(k), label(l), "earlier_vs_later", dd(k, l, 0, k, l), w_early / var_d))
            rows.append(_row(label(l), label(k), "later_vs_earlier", dd(l, k, k, l, t), w_late / var_d))

    table = pd.DataFrame(rows, columns=["treated_group", "control_group", "kind", "estimate", "weight"])
    order = {kind: i for i, kind in enumerate(_KINDS)}
    table = (
        table.assign(_order=table["kind"].map(order))
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    groups = pd.DataFrame(
        {
            "group": [label(s) for s in starts.tolist()],
            "n_units": sizes,
            "share": sizes / n,
            "treated": [treated_share[s] for s in starts.tolist()],
        }
    )
    return BaconResult(table=table, twfe=twfe, groups=groups, n_units=n, n_periods=t)


def _row(treated: object, control: object, kind: BaconKind, estimate: float, weight: float) -> dict[str, object]:
    return {"treated_group": treated, "control_group": control, "kind": kind, "estimate": estimate, "weight": weight}
