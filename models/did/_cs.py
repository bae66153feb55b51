"""Callaway & Sant'Anna (2021) group-time ATTs and their aggregations, through ``csdid``.

``csdid`` (d2cml-ai, MIT) is a port of R's ``did``; on the package's ``mpdta`` example it gives the R
vignette's ATT(g,t), the simple / group / dynamic / calendar aggregations and the doubly robust
simple ATT with ``lpop`` to the printed 4 decimals, and the analytic standard errors to < 1 %
(``tests/models/did/test_callaway_santanna.py``). ``differences`` 0.3.0 matched as well but is
GPL-3.0 (spillmap is BSD-3-Clause) and uses pandas' deprecated ``inplace=`` throughout.

What this wrapper fixes: no multiplier bootstrap (analytic influence-function standard errors,
pointwise normal intervals: the same data give the same bytes), csdid's own printing is
swallowed, ids and column names are recoded so any id type and column name work, and an
unbalanced panel is cut to its balanced sub-panel with one warning naming the units dropped (R's
``did`` does the same unless ``allow_unbalanced_panel``). Estimation is doubly robust
(``est_method="dr"``); without controls it is the unconditional 2×2 ATT(g,t) of group means.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError, SpillmapWarning
from spillmap.gis._ids import format_ids
from spillmap.models._format import TableExport
from spillmap.models.did._treatment import FIRST_YEAR, AlwaysTreatedWarning, TreatmentPanel

__all__ = ["CSResult", "callaway_santanna", "ControlGroup", "BasePeriod", "Aggregation", "UnbalancedPanelWarning"]

ControlGroup = Literal["never", "notyet"]
BasePeriod = Literal["varying", "universal"]
Aggregation = Literal["simple", "group", "dynamic", "calendar"]
AGGREGATIONS: tuple[str, ...] = ("simple", "group", "dynamic", "calendar")
#: Name of each aggregation's per-row key (the ``term`` values are these numbers as text).
_KEY = {"simple": None, "group": "group", "dynamic": "event_time", "calendar": "time"}
_CSDID_CONTROL = {"never": "nevertreated", "notyet": "notyettreated"}


class UnbalancedPanelWarning(SpillmapWarning):
    """Units not observed in every period were dropped to keep a balanced panel."""


@dataclass(frozen=True)
class CSResult(TableExport):
    """Callaway & Sant'Anna group-time ATTs and their four aggregations.

    ``att_gt`` has one row per cohort (``group``, first treated period) and period (``time``):
    estimate, se (analytic, influence function), ci_low, ci_high (pointwise normal, 1 − alpha),
    p_value, event_time (time − group). ``aggregations`` maps ``"simple"``, ``"group"``,
    ``"dynamic"``, ``"calendar"`` to tidy frames (see :meth:`aggregate`).
    """

    att_gt: pd.DataFrame
    aggregations: Mapping[str, pd.DataFrame] = field(repr=False)
    y: str
    controls: tuple[str, ...]
    control_group: str
    base_period: str
    anticipation: int
    alpha: float
    n_units: int
    n_groups: int
    n_periods: int
    n_obs: int
    dropped_unbalanced: tuple[object, ...] = ()
    dropped_always_treated: tuple[object, ...] = ()

    def aggregate(self, kind: Aggregation = "simple") -> pd.DataFrame:
        """One aggregation as a tidy frame: the ``overall`` row, then one row per group, event time or period.

        Columns: kind, term (``"overall"`` or the group / event time / period as text), value (that
        number, <NA> on the overall row), estimate, se, ci_low, ci_high, p_value. ``"dynamic"``'s
        overall row averages event times ≥ 0; its rows include the pre-periods (placebo ATTs).
        """
        if kind not in AGGREGATIONS:
            raise EstimationError(f"kind must be one of {', '.join(map(repr, AGGREGATIONS))}, not {kind!r}.")
        return self.aggregations[kind].copy()

    @property
    def overall(self) -> dict[str, float]:
        """The four overall ATTs: simple, group, dynamic (event times ≥ 0), calendar."""
        return {k: float(self.aggregations[k]["estimate"].iloc[0]) for k in AGGREGATIONS}

    def _overall_table(self) -> pd.DataFrame:
        rows = pd.concat([self.aggregations[k].iloc[[0]] for k in AGGREGATIONS])
        return rows.set_index("kind")[["estimate", "se", "ci_low", "ci_high", "p_value"]]

    # statsmodels' names, one entry per overall aggregation
    @property
    def params(self) -> pd.Series:
        return self._overall_table()["estimate"]

    @property
    def bse(self) -> pd.Series:
        return self._overall_table()["se"]

    @property
    def pvalues(self) -> pd.Series:
        return self._overall_table()["p_value"]

    @property
    def nobs(self) -> int:
        return self.n_obs

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """(1 − alpha) normal intervals of the overall aggregations; columns 0 and 1 as in statsmodels."""
        crit = stats.norm.ppf(1 - (self.alpha if alpha is None else alpha) / 2)
        table = self._overall_table()
        return pd.DataFrame({0: table["estimate"] - crit * table["se"], 1: table["estimate"] + crit * table["se"]})

    def to_frame(self) -> pd.DataFrame:
        """The group-time ATTs, one row per (group, time)."""
        return self.att_gt.copy()

    def to_dict(self) -> dict[str, object]:
        simple = self.aggregations["simple"].iloc[0]
        return {
            "estimator": "callaway_santanna",
            "y": self.y,
            "controls": list(self.controls),
            "control_group": self.control_group,
            "base_period": self.base_period,
            "anticipation": self.anticipation,
            "estimate": float(simple["estimate"]),
            "se": float(simple["se"]),
            "p_value": float(simple["p_value"]),
            "ci_low": float(simple["ci_low"]),
            "ci_high": float(simple["ci_high"]),
            "overall": {k: {c: float(v) for c, v in row.items()}
                        for k, row in self._overall_table().iterrows()},
            "n_units": self.n_units,
            "n_groups": self.n_groups,
            "n_periods": self.n_periods,
            "n_obs": self.n_obs,
            "dropped_unbalanced": [str(u) for u in self.dropped_unbalanced],
            "dropped_always_treated": [str(u) for u in self.dropped_always_treated],
        }

    def plot(self, ax=None, title: str | None = None):  # noqa: ANN001, ANN201 - matplotlib types
        """The dynamic aggregation (event-time ATTs with pointwise intervals), a matplotlib Figure.

        With a varying base period every pre-period estimate is a short difference (no period is 0 by
        construction), so the TWFE event-study helper's reference marker does not apply; this draws the
        same style without it.
        """
        from spillmap.models._plots import _COLORS, _figure

        fig, ax = _figure(ax)
        rows = self.aggregations["dynamic"].iloc[1:]
        e = rows["value"].astype(float).to_numpy()
        est = rows["estimate"].to_numpy(float)
        pre = e < 0
        for mask, color, label in ((pre, "0.45", "pre-treatment (placebo)"), (~pre, _COLORS[0], "ATT by event time")):
            if mask.any():
                ax.errorbar(e[mask], est[mask], yerr=[est[mask] - rows["ci_low"].to_numpy(float)[mask],
                                                      rows["ci_high"].to_numpy(float)[mask] - est[mask]],
                            fmt="o", color=color, capsize=3, markersize=4, label=label)
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.axvline(-0.5 - self.anticipation, color="0.6", linewidth=0.8, linestyle="--")
        ax.set_xlabel("years relative to treatment")
        ax.set_ylabel(f"effect on {self.y}")
        ax.legend(frameon=False)
        level = round((1 - self.alpha) * 100)
        ax.set_title(title or f"Callaway & Sant'Anna, dynamic aggregation\n({level} % pointwise intervals, "
                              f"{self.base_period} base period)", fontsize="medium")
        return fig


def callaway_santanna(
    data: pd.DataFrame | TreatmentPanel,
    y: str,
    *,
    id_col: str,
    time_col: str,
    first_year_col: str | None = None,
    controls: Sequence[str] = (),
    control_group: ControlGroup = "never",
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    alpha: float = 0.05,
) -> CSResult:
    """Callaway & Sant'Anna ATT(g,t) with simple, group, dynamic and calendar aggregations.

    Parameters
    ----------
    data
        Long panel, one row per unit and period, or the :class:`TreatmentPanel` of
        :func:`assign_treatment`. Not modified.
    y, controls
        Outcome and covariate columns (covariates enter the doubly robust 2×2 at the base period,
        as R's ``xformla``).
    first_year_col
        Each unit's first treated period (constant within the unit; missing or 0: never treated; after
        the last period: never treated within the panel). Default: ``first_year`` of
        :func:`assign_treatment`.
    control_group
        ``"never"``: never-treated units; ``"notyet"``: never- and not-yet-treated units.
    anticipation
        Periods before ``first_year`` in which units may already react (integer ≥ 0).
    base_period
        ``"varying"``: each pre-period against the one before; ``"universal"``: every period against
        ``first_year − 1 − anticipation``.
    alpha
        1 − confidence level of the pointwise intervals.

    Returns
    -------
    CSResult

    Raises
    ------
    MissingColumnError, PanelShapeError
        Absent columns, missing values, repeated (unit, period) rows, a first year varying within a
        unit, non-integer periods.
    EstimationError
        An invalid option, no treated cohort, or no comparison units (e.g. no never-treated unit
        with ``control_group="never"``).

    Warns
    -----
    UnbalancedPanelWarning
        Units missing some period are dropped (the balanced sub-panel is used), named in the warning.
    AlwaysTreatedWarning
        Units treated from the first period (no pre-treatment period) are dropped.
    """
    if isinstance(data, TreatmentPanel):
        data = data.data
    first_year_col = first_year_col or FIRST_YEAR
    controls = tuple(controls)
    if control_group not in _CSDID_CONTROL:
        raise EstimationError(f"control_group must be 'never' or 'notyet', not {control_group!r}.")
    if base_period not in ("varying", "universal"):
        raise EstimationError(f"base_period must be 'varying' or 'universal', not {base_period!r}.")
    if not (isinstance(anticipation, (int, np.integer)) and anticipation >= 0):
        raise EstimationError(f"anticipation must be a whole number of periods ≥ 0, not {anticipation!r}.")
    if not 0 < alpha < 1:
        raise EstimationError(f"alpha must lie strictly between 0 and 1, not {alpha!r}.")
    frame, dropped_unbalanced, dropped_always = _prepare(data, y, id_col, time_col, first_year_col, controls)
    periods = np.sort(frame["_t"].unique())
    cohorts = sorted(int(g) for g in frame.loc[frame["_g"] > 0, "_g"].unique())
    if not cohorts:
        raise EstimationError(
            f"No unit is first treated within the periods {periods[0]}–{periods[-1]} (column "
            f"'{first_year_col}'); there is no ATT(g,t) to estimate."
        )
    never = int(frame.loc[frame["_g"] == 0, "_id"].nunique())
    if control_group == "never" and never == 0:
        raise EstimationError(
            "No never-treated unit is left to compare with (control_group='never'); every unit is "
            f"first treated in {', '.join(map(str, cohorts))}. Use control_group='notyet' to compare "
            "with units not yet treated."
        )
    if control_group == "notyet" and never == 0 and len(cohorts) == 1:
        raise EstimationError(
            f"Every unit is first treated in {cohorts[0]}: no never- or not-yet-treated unit is left to compare with."
        )
    fit = _fit_csdid(frame, controls, control_group, anticipation, base_period, alpha)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    res = fit.results
    att_gt = _tidy(pd.DataFrame({
        "group": np.asarray(res["group"], dtype=int),
        "time": np.asarray(res["year"], dtype=int),
        "estimate": np.asarray(res["att"], dtype=float),
        "se": np.asarray(res["se"], dtype=float),
    }), crit)
    att_gt["event_time"] = att_gt["time"] - att_gt["group"]
    aggregations = {kind: _aggregate(fit, kind, alpha, crit) for kind in AGGREGATIONS}
    return CSResult(
        att_gt=att_gt,
        aggregations=aggregations,
        y=y,
        controls=controls,
        control_group=control_group,
        base_period=base_period,
        anticipation=int(anticipation),
        alpha=float(alpha),
        n_units=int(frame["_id"].nunique()),
        n_groups=len(cohorts),
        n_periods=len(periods),
        n_obs=len(frame),
        dropped_unbalanced=dropped_unbalanced,
        dropped_always_treated=dropped_always,
    )


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _prepare(
    data: pd.DataFrame, y: str, id_col: str, time_col: str, first_year_col: str, controls: tuple[str, ...]
) -> tuple[pd.DataFrame, tuple[object, ...], tuple[object, ...]]:
    """A new frame with csdid-safe names (_id, _t, _y, _g, _x0 …), balanced, always-treated units dropped."""
    needed = list(dict.fromkeys([id_col, time_col, y, first_year_col, *controls]))
    missing = [c for c in needed if c not in data.columns]
    if missing:
        hint = " (add treatment with assign_treatment(), or name the column with first_year_col=)" \
            if first_year_col in missing else ""
        raise MissingColumnError(
            f"The panel has no column(s) {', '.join(map(repr, missing))}{hint}; its columns are: "
            f"{', '.join(map(str, data.columns))}."
        )
    values = [id_col, time_col, y, *controls]
    bad = [c for c in dict.fromkeys(values) if data[c].isna().any()]
    if bad:
        raise PanelShapeError(f"Columns {', '.join(map(repr, bad))} have missing values; drop or fill those rows.")
    times = pd.to_numeric(data[time_col], errors="coerce")
    if times.isna().any() or not np.all(np.mod(times, 1) == 0):
        raise PanelShapeError(f"Column '{time_col}' must hold integer periods (years); found {data[time_col].dtype}.")
    first = pd.to_numeric(data[first_year_col], errors="coerce")
    if (first.isna() & data[first_year_col].notna()).any() or not np.all(np.mod(first.dropna(), 1) == 0):
        raise PanelShapeError(f"Column '{first_year_col}' must hold whole first treated periods or be empty.")
    frame = pd.DataFrame({
        "_unit": data[id_col].to_numpy(),
        "_id": pd.factorize(data[id_col])[0] + 1,
        "_t": times.astype(np.int64).to_numpy(),
        "_y": pd.to_numeric(data[y]).to_numpy(float),
        "_g": first.fillna(0).astype(np.int64).to_numpy(),
    })
    for k, c in enumerate(controls):
        frame[f"_x{k}"] = pd.to_numeric(data[c]).to_numpy(float)
    if frame.duplicated(["_id", "_t"]).any():
        dup = frame.loc[frame.duplicated(["_id", "_t"], keep=False), "_unit"].unique().tolist()
        raise PanelShapeError(f"Units {format_ids(dup)} have repeated periods in '{time_col}'; keep one row per unit and period.")
    varies = frame.groupby("_id")["_g"].nunique() > 1
    if varies.any():
        units = frame.loc[frame["_id"].isin(varies.index[varies]), "_unit"].unique().tolist()
        raise PanelShapeError(f"Column '{first_year_col}' varies within units {format_ids(units)}; give one first year per unit.")
    last = frame["_t"].max()
    frame.loc[frame["_g"] > last, "_g"] = 0  # treated after the panel: never treated within it (as R's did)
    n_periods = frame["_t"].nunique()
    counts = frame.groupby("_id", sort=False)["_t"].nunique()
    short = counts.index[counts < n_periods]
    dropped_unbalanced: tuple[object, ...] = ()
    if len(short):
        dropped_unbalanced = tuple(_plain(u) for u in frame.loc[frame["_id"].isin(short), "_unit"].unique())
        warnings.warn(
            f"Callaway-Sant'Anna uses the balanced sub-panel: {len(dropped_unbalanced)} of {len(counts)} unit(s) "
            f"not observed in all {n_periods} periods were dropped: {format_ids(list(dropped_unbalanced), limit=5)}.",
            UnbalancedPanelWarning,
            stacklevel=3,
        )
        frame = frame.loc[~frame["_id"].isin(short)]
    first_period = frame["_t"].min()
    always = (frame["_g"] > 0) & (frame["_g"] <= first_period)
    dropped_always: tuple[object, ...] = ()
    if always.any():
        dropped_always = tuple(_plain(u) for u in frame.loc[always, "_unit"].unique())
        warnings.warn(
            f"{len(dropped_always)} unit(s) treated from the first year {first_period}: no pre-treatment period; "
            f"dropped, as csdid/R did do: {format_ids(list(dropped_always), limit=5)}.",
            AlwaysTreatedWarning,
            stacklevel=3,
        )
        frame = frame.loc[~always]
    if frame.empty:
        raise PanelShapeError("No unit is observed in every period; Callaway-Sant'Anna needs a balanced sub-panel.")
    return frame.sort_values(["_id", "_t"]).reset_index(drop=True), dropped_unbalanced, dropped_always


def _fit_csdid(frame: pd.DataFrame, controls: tuple[str, ...], control_group: str, anticipation: int,
               base_period: str, alpha: float):  # noqa: ANN202 - csdid ATTgt
    """csdid's ATTgt fitted without bootstrap (analytic SEs); its printed summaries are swallowed."""
    try:
        from csdid.att_gt import ATTgt
    except ImportError as err:
        raise ImportError(f"callaway_santanna needs the package 'csdid' (pip install csdid): {err}") from err
    rhs = " + ".join(f"_x{k}" for k in range(len(controls))) or "1"
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return ATTgt(yname="_y", tname="_t", idname="_id", gname="_g", data=frame.drop(columns="_unit"),
                         control_group=_CSDID_CONTROL[control_group], xformla=f"_y ~ {rhs}",
                         anticipation=int(anticipation), alp=alpha, cband=False).fit(
                est_method="dr", base_period=base_period, bstrap=False)
        except (ValueError, np.linalg.LinAlgError) as err:
            raise EstimationError(f"Callaway-Sant'Anna (csdid) could not estimate ATT(g,t): {err}") from err


def _aggregate(fit, kind: str, alpha: float, crit: float) -> pd.DataFrame:  # noqa: ANN001 - csdid ATTgt
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            fit.aggte(typec=kind, bstrap=False, cband=False, alp=alpha)
        except ValueError as err:
            raise EstimationError(f"Callaway-Sant'Anna {kind} aggregation failed: {err}") from err
    agg = fit.atte
    overall = pd.DataFrame({"kind": [kind], "term": ["overall"], "value": pd.array([pd.NA], dtype="Int64"),
                            "estimate": [float(agg["overall_att"])], "se": [float(agg["overall_se"])]})
    if _KEY[kind] is None:
        frame = overall
    else:
        values = np.asarray(agg["egt"], dtype=int)
        rows = pd.DataFrame({"kind": kind, "term": [str(v) for v in values],
                             "value": pd.array(values, dtype="Int64"),
                             "estimate": np.asarray(agg["att_egt"], dtype=float),
                             "se": np.asarray(agg["se_egt"], dtype=float)})
        frame = pd.concat([overall, rows], ignore_index=True)
    return _tidy(frame, crit)


def _tidy(frame: pd.DataFrame, crit: float) -> pd.DataFrame:
    est, se = frame["estimate"], frame["se"]
    frame["ci_low"] = est - crit * se
    frame["ci_high"] = est + crit * se
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["p_value"] = 2 * stats.norm.sf(np.abs(est / se))
    return frame.reset_index(drop=True)
