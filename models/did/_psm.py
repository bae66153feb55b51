"""PSM-DID: propensity-score matching on pre-treatment covariates, then TWFE DID on the matched sample.

The propensity score is an unpenalised logistic regression (scikit-learn) of
"ever treated" on each unit's mean of the covariates over its pre-treatment
periods. Treated units are matched to never-treated units either by nearest
neighbour with replacement within a caliper, or with Epanechnikov kernel
weights whose bandwidth is the caliper. The caliper is in propensity-score
units (an absolute difference in probability, default 0.05). The DID is the
baseline TWFE (unit and period fixed effects, errors clustered by unit,
pyfixest) on every period of the matched units, weighted by how often a
control is used (nearest) or by its summed kernel weight (kernel); treated
units weigh 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids
from spillmap.models._format import TableExport
from spillmap.models.did._did import _pf, _tidy
from spillmap.models.did._treatment import FIRST_YEAR

__all__ = ["PSMDIDResult", "psm_did"]

Method = Literal["nearest", "kernel"]
#: Name of the DID term in the matched-sample regression.
_TERM = "did"


@dataclass(frozen=True)
class PSMDIDResult(TableExport):
    """PSM-DID estimate, its matching and covariate balance.

    ``table`` is the matched-sample TWFE (estimate, se, t, p_value, ci_low, ci_high per term);
    ``balance`` has one row per covariate: treated and control means and the standardised mean
    difference before and after matching (pooled pre-matching sd in both); ``scores`` has one row
    per unit: propensity score, treated (0/1), matching weight (0 = unused), cohort.
    """

    table: pd.DataFrame
    balance: pd.DataFrame
    scores: pd.DataFrame = field(repr=False)
    y: str
    method: str
    caliper: float
    pooled: bool
    n_treated: int
    n_matched: int
    n_controls: int
    n_obs: int

    @property
    def att(self) -> float:
        return float(self.table.loc[_TERM, "estimate"])

    @property
    def se(self) -> float:
        return float(self.table.loc[_TERM, "se"])

    @property
    def p_value(self) -> float:
        return float(self.table.loc[_TERM, "p_value"])

    def tidy(self) -> pd.DataFrame:
        """One row: the DID term on the matched sample, with the matching counts."""
        row = self.table.loc[[_TERM]].reset_index()
        for key in ("method", "caliper", "pooled", "n_treated", "n_matched", "n_controls", "n_obs"):
            row[key] = getattr(self, key)
        return row

    def to_frame(self) -> pd.DataFrame:
        return self.tidy()

    def to_dict(self) -> dict[str, object]:
        row = self.table.loc[_TERM]
        return {
            "y": self.y, "method": self.method, "caliper": self.caliper, "pooled": self.pooled,
            "att": self.att, "se": self.se, "p_value": self.p_value,
            "ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"]),
            "n_treated": self.n_treated, "n_matched": self.n_matched, "n_controls": self.n_controls,
            "n_obs": self.n_obs,
            "max_abs_smd_before": float(self.balance["smd_before"].abs().max()),
            "max_abs_smd_after": float(self.balance["smd_after"].abs().max()),
        }


def psm_did(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    covariates: Sequence[str],
    first_year_col: str = FIRST_YEAR,
    method: Method = "nearest",
    caliper: float = 0.05,
    pooled: bool = True,
    controls: Sequence[str] = (),
) -> PSMDIDResult:
    """PSM-DID: match treated to never-treated units on a propensity score, then TWFE DID.

    Parameters
    ----------
    data
        Long panel; ``first_year_col`` holds each unit's first treated period (missing: never treated),
        as added by :func:`assign_treatment`. The input is not modified.
    covariates
        Numeric columns whose pre-treatment means per unit enter the logit. A treated unit's pre-period
        is every period before its first treated year; a never-treated unit's, every period before the
        latest first treated year (``pooled``) or before the cohort's year (``pooled=False``).
    method
        ``"nearest"``: each treated unit takes its closest control with replacement if the scores differ
        by at most ``caliper``; ``"kernel"``: Epanechnikov weights of all controls within ``caliper``
        (the bandwidth), normalised to 1 per treated unit.
    caliper
        Largest propensity-score difference (probability units, > 0). Treated units without a control
        inside it are left out of the DID.
    pooled
        One logit and one matching over all treated units (True), or one per treatment year (cohort)
        against the never-treated (False, "year by year"); a control's weights add up over cohorts.
    controls
        Time-varying controls of the DID regression.

    Raises
    ------
    MissingColumnError, PanelShapeError, EstimationError
        Absent or non-numeric columns, no never-treated or no treated units with a pre-period, or a
        caliper inside which no treated unit finds a control (the closest pair's distance is given).
    """
    if method not in ("nearest", "kernel"):
        raise PanelShapeError(f"PSM-DID method must be 'nearest' or 'kernel', not {method!r}.")
    if not (isinstance(caliper, (int, float)) and np.isfinite(caliper) and caliper > 0):
        raise PanelShapeError(f"PSM-DID caliper must be a positive propensity-score difference, not {caliper!r}.")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise PanelShapeError("PSM-DID needs at least one covariate for the propensity score.")
    _check_columns(data, [y, id_col, time_col, first_year_col, *covariates, *controls], [y, *covariates, *controls])
    units = _unit_frame(data, id_col, time_col, first_year_col)
    cohorts = [None] if pooled else sorted(units["cohort"].dropna().unique())
    parts = [_match_cohort(data, units, covariates, id_col, time_col, g, method, float(caliper)) for g in cohorts]
    scores = pd.concat([p[0] for p in parts])
    weights = pd.concat([p[1] for p in parts]).groupby(level=0).sum()
    gaps = [p[2] for p in parts]
    if weights.empty:
        closest = min(gaps)
        raise EstimationError(
            f"PSM-DID: no treated unit has a never-treated control within the caliper {caliper:g} "
            f"(propensity-score difference); the closest pair differs by {closest:.4g}. Raise the caliper "
            f"(e.g. --psm-caliper {max(closest * 1.5, closest + 1e-3):.3g}) or use other covariates."
        )
    treated_ids = set(units.index[units["treated"] == 1])
    matched_ids = [u for u in weights.index if u in treated_ids]
    control_ids = [u for u in weights.index if u not in treated_ids]
    balance = _balance(scores, covariates)
    table, n_obs = _weighted_twfe(data, y, weights, id_col, time_col, first_year_col, controls)
    return PSMDIDResult(
        table=table, balance=balance, scores=scores.reset_index(), y=y, method=method, caliper=float(caliper),
        pooled=bool(pooled), n_treated=int(units.loc[units["treated"] == 1, "eligible"].sum()),
        n_matched=len(matched_ids), n_controls=len(control_ids), n_obs=n_obs,
    )


def _check_columns(data: pd.DataFrame, columns: Sequence[str], numeric: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise PanelShapeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"The panel has no column {format_ids(missing)}; its columns are: {', '.join(map(str, data.columns))}."
        )
    bad = [c for c in dict.fromkeys(numeric) if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise PanelShapeError(f"PSM-DID: column(s) {format_ids(bad)} are not numeric.")
    empty = [c for c in dict.fromkeys(numeric) if data[c].isna().any()]
    if empty:
        raise PanelShapeError(f"PSM-DID: column(s) {format_ids(empty)} have missing values; drop or fill those rows.")


def _unit_frame(data: pd.DataFrame, id_col: str, time_col: str, first_year_col: str) -> pd.DataFrame:
    """One row per unit: cohort (first treated year, NaN if never), treated 0/1."""
    first = pd.to_numeric(data[first_year_col], errors="coerce")
    per_unit = first.groupby(data[id_col], sort=True)
    if (per_unit.nunique() > 1).any():
        bad = per_unit.nunique()[lambda s: s > 1].index.tolist()
        raise PanelShapeError(f"'{first_year_col}' varies within unit(s) {format_ids(bad)}; it must be one year per unit.")
    units = pd.DataFrame({"cohort": per_unit.first()})
    units["treated"] = units["cohort"].notna().astype(int)
    start = data.groupby(id_col, sort=True)[time_col].min()
    units["eligible"] = ((units["treated"] == 0) | (units["cohort"] > start)).astype(int)  # has a pre-period
    if not units["treated"].any() or units["treated"].all():
        raise EstimationError("PSM-DID needs both treated and never-treated units; the panel has "
                              f"{int(units['treated'].sum())} treated of {len(units)}.")
    return units


def _pre_means(data: pd.DataFrame, covariates: list[str], id_col: str, time_col: str,
               ids: pd.Index, before: pd.Series) -> pd.DataFrame:
    """Mean of each covariate per unit over its periods before ``before`` (a year per unit)."""
    rows = data[data[id_col].isin(ids)]
    keep = rows[time_col].to_numpy() < rows[id_col].map(before).to_numpy(dtype=float)
    return rows[keep].groupby(id_col, sort=True)[covariates].mean().astype(float)


def _score(x: pd.DataFrame, treated: pd.Series) -> np.ndarray:
    """Propensity scores from an unpenalised logit on standardised covariates (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    values = x.to_numpy(dtype=float)
    sd = values.std(axis=0)
    z = (values - values.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence under (quasi-)separation: scores near 0/1 say it all
        model = LogisticRegression(C=np.inf, max_iter=1000).fit(z, treated.to_numpy())
    return model.predict_proba(z)[:, 1]


def _match_cohort(data: pd.DataFrame, units: pd.DataFrame, covariates: list[str], id_col: str, time_col: str,
                  cohort: float | None, method: str, caliper: float) -> tuple[pd.DataFrame, pd.Series, float]:
    """Scores and weights (unit → weight) of one logit and matching; the closest treated-control distance."""
    pool = units[units["eligible"] == 1]
    if cohort is not None:
        pool = pool[(pool["cohort"] == cohort) | (pool["treated"] == 0)]
    last = pool["cohort"].max() if cohort is None else cohort
    before = pool["cohort"].fillna(last)
    x = _pre_means(data, covariates, id_col, time_col, pool.index, before)
    if x.empty or pool.loc[x.index, "treated"].nunique() < 2:  # units without pre-period rows drop out
        raise EstimationError(
            "PSM-DID: too few units with pre-treatment periods to fit the propensity score"
            + (f" for the units first treated in {cohort:g}" if cohort is not None else "")
            + "; treated units need periods before their first treated year."
        )
    treated = pool.loc[x.index, "treated"]
    ps = pd.Series(_score(x, treated), index=x.index)
    t_ps, c_ps = ps[treated == 1], ps[treated == 0]
    dist = np.abs(t_ps.to_numpy()[:, None] - c_ps.to_numpy()[None, :])
    if method == "nearest":
        nearest = dist.argmin(axis=1)
        ok = dist[np.arange(len(t_ps)), nearest] <= caliper
        w = np.zeros_like(dist)
        w[np.flatnonzero(ok), nearest[ok]] = 1.0
    else:
        u = dist / caliper
        w = np.where(u < 1, 0.75 * (1 - u**2), 0.0)
        sums = w.sum(axis=1, keepdims=True)
        w = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    matched = w.sum(axis=1) > 0
    weights = pd.concat([
        pd.Series(1.0, index=t_ps.index[matched]),
        pd.Series(w.sum(axis=0), index=c_ps.index)[lambda s: s > 0],
    ])
    scores = x.assign(pscore=ps, treated=treated, weight=0.0, cohort=pool.loc[x.index, "cohort"])
    scores.loc[weights.index, "weight"] = weights
    scores.index.name = id_col
    return scores, weights, float(dist.min())


def _smd(x: pd.DataFrame, treated: pd.Series, weight: pd.Series | None, sd: pd.Series) -> tuple:
    t, c = x[treated == 1], x[treated == 0]
    if weight is None:
        mt, mc = t.mean(), c.mean()
    else:
        wt, wc = weight[treated == 1], weight[treated == 0]
        mt = t.mul(wt, axis=0).sum() / wt.sum() if wt.sum() > 0 else t.mean() * np.nan
        mc = c.mul(wc, axis=0).sum() / wc.sum() if wc.sum() > 0 else c.mean() * np.nan
    return mt, mc, (mt - mc) / sd


def _balance(scores: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Standardised mean differences before / after matching, on the pre-treatment means (pooled sd before)."""
    x, treated = scores[covariates], scores["treated"]
    sd = np.sqrt((x[treated == 1].var() + x[treated == 0].var()) / 2).replace(0.0, np.nan)
    mt0, mc0, smd0 = _smd(x, treated, None, sd)
    mt1, mc1, smd1 = _smd(x, treated, scores["weight"], sd)
    return pd.DataFrame({
        "covariate": covariates, "mean_treated_before": mt0.to_numpy(), "mean_control_before": mc0.to_numpy(),
        "smd_before": smd0.to_numpy(), "mean_treated_after": mt1.to_numpy(), "mean_control_after": mc1.to_numpy(),
        "smd_after": smd1.to_numpy(),
    })


def _weighted_twfe(data: pd.DataFrame, y: str, weights: pd.Series, id_col: str, time_col: str,
                   first_year_col: str, controls: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Baseline TWFE (``y ~ did + controls | unit + period``, CRV1 by unit) on the matched units, weighted."""
    rows = data[data[id_col].isin(weights.index)]
    frame = pd.DataFrame({
        "fe_unit": rows[id_col].to_numpy(), "fe_time": rows[time_col].to_numpy(),
        "yv": rows[y].to_numpy(dtype=float),
        _TERM: (rows[time_col] >= pd.to_numeric(rows[first_year_col], errors="coerce")).fillna(False).astype(int).to_numpy(),
        "w": rows[id_col].map(weights).to_numpy(dtype=float),
    })
    names = {c: f"c{k}" for k, c in enumerate(controls)}
    for c, n in names.items():
        frame[n] = rows[c].to_numpy(dtype=float)
    if frame[_TERM].nunique() < 2:
        raise EstimationError("PSM-DID: the DID dummy does not vary in the matched sample.")
    rhs = " + ".join([_TERM, *names.values()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _pf().feols(f"yv ~ {rhs} | fe_unit + fe_time", data=frame, weights="w", vcov={"CRV1": "fe_unit"})
    table = _tidy(fit)
    back = {v: k for k, v in names.items()}
    table.index = pd.Index([back.get(i, i) for i in table.index], name="term")
    return table, int(fit._N)
