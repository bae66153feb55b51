"""Two-way fixed-effects DID, event studies and heterogeneity-robust estimators (pyfixest engine).

Every regression has unit and period fixed effects and standard errors
clustered by unit (CRV1, pyfixest's small-sample corrections). Robust
staggered estimators come from pyfixest as well: Gardner's two-stage
``did2s`` and the saturated (Sun & Abraham) event study.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError

from spillmap.models._format import TableExport
from spillmap.models.did._treatment import DID, EVENT_TIME, FIRST_YEAR

__all__ = [
    "DIDResult",
    "EventStudyResult",
    "fit_did",
    "event_study",
    "Estimator",
    "compare_estimators",
    "EstimatorComparison",
]

Estimator = Literal["twfe", "did2s", "saturated"]
_TIDY = {"Estimate": "estimate", "Std. Error": "se", "t value": "t", "Pr(>|t|)": "p_value", "2.5%": "ci_low", "97.5%": "ci_high"}


def _pf():
    import pyfixest as pf

    return pf


def _tidy(fit) -> pd.DataFrame:  # noqa: ANN001 - pyfixest Feols
    table = fit.tidy().rename(columns=_TIDY)[list(_TIDY.values())].astype(float)
    table.index = pd.Index([str(i) for i in table.index], name="term")
    return table


def _check(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"The panel has no column(s) {', '.join(map(repr, missing))}; its columns are: "
            f"{', '.join(map(str, data.columns))}."
        )
    values = data[list(dict.fromkeys(columns))]
    bad = [c for c in values.columns if values[c].isna().any()]
    if bad:
        raise PanelShapeError(f"Columns {', '.join(map(repr, bad))} have missing values; drop or fill those rows.")


@dataclass(frozen=True)
class DIDResult(TableExport):
    """A two-way fixed-effects DID regression.

    ``table`` has one row per coefficient: estimate, se (clustered by
    unit), t, p_value, ci_low, ci_high (95 %).
    """

    table: pd.DataFrame
    treatment: str
    y: str
    n_obs: int
    n_units: int
    n_periods: int
    r2_within: float
    estimator: str = "twfe"
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    #: The pyfixest ``Feols`` fit itself, for ``pf.etable([res.fit])`` or ``maketables.ETable``.
    fit: object | None = field(default=None, repr=False, compare=False)

    @property
    def estimate(self) -> float:
        """The treatment coefficient (ATT under TWFE assumptions)."""
        return float(self.table.loc[self.treatment, "estimate"])

    @property
    def se(self) -> float:
        return float(self.table.loc[self.treatment, "se"])

    @property
    def t(self) -> float:
        return float(self.table.loc[self.treatment, "t"])

    @property
    def p_value(self) -> float:
        return float(self.table.loc[self.treatment, "p_value"])

    # statsmodels' names, for users who reach for them (one entry per coefficient of ``table``)
    @property
    def params(self) -> pd.Series:
        return self.table["estimate"].copy()

    @property
    def bse(self) -> pd.Series:
        return self.table["se"].copy()

    @property
    def tvalues(self) -> pd.Series:
        return self.table["t"].copy()

    @property
    def pvalues(self) -> pd.Series:
        return self.table["p_value"].copy()

    @property
    def nobs(self) -> int:
        return self.n_obs

    def cov_params(self) -> pd.DataFrame | None:
        """Cluster-robust covariance of the coefficients (None when the fit did not keep it)."""
        return None if self.vcov is None else self.vcov.copy()

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """(1 − alpha) intervals with the table's own reference: t with G − 1 df for clustered SEs
        (G = units), as pyfixest's CRV1; columns 0 and 1 as in statsmodels."""
        from scipy import stats

        crit = stats.t.ppf(1 - alpha / 2, self.n_units - 1)
        est, se = self.table["estimate"], self.table["se"]
        return pd.DataFrame({0: est - crit * se, 1: est + crit * se})

    def to_frame(self) -> pd.DataFrame:
        return self.table.reset_index()

    def to_dict(self) -> dict[str, object]:
        return {
            "estimator": self.estimator,
            "y": self.y,
            "treatment": self.treatment,
            "estimate": self.estimate,
            "se": self.se,
            "t": self.t,
            "p_value": self.p_value,
            "ci_low": float(self.table.loc[self.treatment, "ci_low"]),
            "ci_high": float(self.table.loc[self.treatment, "ci_high"]),
            "n_obs": self.n_obs,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "r2_within": self.r2_within,
        }


def fit_did(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    treatment: str = DID,
    controls: Sequence[str] = (),
    cluster: str | None = None,
) -> DIDResult:
    """Baseline TWFE DID: ``y ~ treatment + controls | unit + period``, errors clustered by unit.

    Parameters
    ----------
    data
        Long panel with the treatment dummy (see :func:`assign_treatment`).
    y, treatment, controls
        Column names.
    cluster
        Cluster column (default: ``id_col``).
    """
    _check(data, [y, treatment, id_col, time_col, *controls])
    if data[treatment].nunique() < 2:
        raise EstimationError(f"'{treatment}' does not vary; there is no treatment to estimate.")
    rhs = " + ".join([treatment, *controls])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _pf().feols(f"{y} ~ {rhs} | {id_col} + {time_col}", data=data, vcov={"CRV1": cluster or id_col})
    table = _tidy(fit)
    return DIDResult(
        table=table,
        treatment=treatment,
        y=y,
        n_obs=int(fit._N),
        n_units=int(data[id_col].nunique()),
        n_periods=int(data[time_col].nunique()),
        r2_within=float(getattr(fit, "_r2_within", np.nan)),
        vcov=pd.DataFrame(np.asarray(fit._vcov), index=table.index, columns=table.index),
        fit=fit,
    )


# --------------------------------------------------------------- event study

def _event_name(k: int) -> str:
    return f"et_m{-k}" if k < 0 else f"et_p{k}"


def event_dummies(
    data: pd.DataFrame, *, leads: int, lags: int, ref: int = -1, event_col: str = EVENT_TIME
) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
    """Event-time dummies with binned end points (≤ −leads and ≥ lags), reference ``ref`` left out."""
    et = data[event_col]
    out = data.copy()
    names, times = [], {}
    for k in range(-leads, lags + 1):
        if k == ref:
            continue
        if k == -leads:
            hit = et <= k
        elif k == lags:
            hit = et >= k
        else:
            hit = et == k
        name = _event_name(k)
        out[name] = hit.fillna(False).astype(int)
        if out[name].sum() == 0:
            out = out.drop(columns=name)
            continue
        names.append(name)
        times[name] = k
    return out, names, times


@dataclass(frozen=True)
class EventStudyResult(TableExport):
    """Event-study coefficients around treatment, reference period included as 0.

    ``table`` is indexed by event time with estimate, se, p_value, ci_low, ci_high (p NaN at the reference);
    the end points bin all earlier / later periods. ``pretrend`` is the joint
    Wald test that all lead coefficients are zero (χ² and F with G − 1
    denominator degrees of freedom, clustered covariance).
    """

    table: pd.DataFrame
    estimator: str
    ref: int
    pretrend: dict[str, float]
    y: str
    #: Saturated (Sun & Abraham) only: the post-period average of the interaction-weighted coefficients
    #: (event times 0 … lags), with estimate, se, t, p_value, ci_low, ci_high (normal, as pyfixest's).
    att: dict[str, float] | None = None

    def to_frame(self) -> pd.DataFrame:
        """The table with event time as a column and ``reference`` = 1 on the reference period (0 by construction)."""
        frame = self.table.reset_index()
        frame["reference"] = (frame["event_time"] == self.ref).astype(int)
        return frame

    def plot(self, ax=None, **kwargs):  # noqa: ANN001, ANN201 - matplotlib types
        """Coefficients with 95 % intervals against event time (matplotlib Figure)."""
        from spillmap.models._plots import plot_event_study

        return plot_event_study([self], ax=ax, **kwargs)


def _wald(names: list[str], table: pd.DataFrame, vcov: np.ndarray, all_names: list[str], clusters: int) -> dict[str, float]:
    if not names:
        return {"chi2": float("nan"), "df": 0, "p_value": float("nan"), "F": float("nan"), "p_value_F": float("nan")}
    idx = [all_names.index(n) for n in names]
    b = table.loc[names, "estimate"].to_numpy()
    v = vcov[np.ix_(idx, idx)]
    chi2 = float(b @ np.linalg.solve(v, b))
    q = len(names)
    f = chi2 / q
    return {
        "chi2": chi2,
        "df": q,
        "p_value": float(stats.chi2.sf(chi2, q)),
        "F": f,
        "p_value_F": float(stats.f.sf(f, q, max(clusters - 1, 1))),
    }


def event_study(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    controls: Sequence[str] = (),
    leads: int = 4,
    lags: int = 4,
    ref: int = -1,
    estimator: Estimator = "twfe",
    cluster: str | None = None,
) -> EventStudyResult:
    """Leads and lags of treatment with unit and period fixed effects.

    Parameters
    ----------
    data
        Panel from :func:`assign_treatment` (needs ``event_time`` and ``did``).
    leads, lags
        Event times −leads … lags; the end points bin all earlier and later
        periods. Period ``ref`` (default −1) is the reference.
    estimator
        ``"twfe"`` (dynamic TWFE), ``"did2s"`` (Gardner's two-stage,
        robust to heterogeneous staggered effects) or ``"saturated"``
        (Sun & Abraham's cohort-interacted event study, aggregated by
        period with cohort-share weights).
    """
    _check(data, [y, id_col, time_col, DID, *controls])
    if EVENT_TIME not in data.columns:
        raise MissingColumnError(f"The panel has no '{EVENT_TIME}' column; add treatment with assign_treatment().")
    if estimator not in ("twfe", "did2s", "saturated"):
        raise EstimationError(f"estimator must be 'twfe', 'did2s' or 'saturated', not {estimator!r}.")
    if not (leads >= 2 and lags >= 1 and -leads < ref < 0):
        raise EstimationError(f"Need leads ≥ 2, lags ≥ 1 and −leads < ref < 0 (leads {leads}, lags {lags}, ref {ref}).")
    clusters = int(data[cluster or id_col].nunique())
    pf = _pf()
    if estimator == "saturated":
        return _saturated(data, y, id_col, time_col, controls, leads, lags, ref, clusters)
    frame, names, times = event_dummies(data, leads=leads, lags=lags, ref=ref)
    rhs = " + ".join(names + list(controls))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if estimator == "twfe":
            fit = pf.feols(f"{y} ~ {rhs} | {id_col} + {time_col}", data=frame, vcov={"CRV1": cluster or id_col})
        else:
            first = _did2s_first_stage(controls, id_col, time_col)
            fit = pf.did2s(frame, yname=y, first_stage=first, second_stage=f"~ {' + '.join(names)}",
                           treatment=DID, cluster=cluster or id_col)
    tidy = _tidy(fit)
    all_names = list(tidy.index)
    vcov = np.asarray(fit._vcov)
    table = tidy.loc[names, ["estimate", "se", "p_value", "ci_low", "ci_high"]].copy()
    table.index = pd.Index([times[n] for n in names], name="event_time")
    table.loc[ref] = [0.0, 0.0, np.nan, 0.0, 0.0]
    table = table.sort_index()
    lead_names = [n for n in names if times[n] < 0]
    return EventStudyResult(table=table, estimator=estimator, ref=ref,
                            pretrend=_wald(lead_names, tidy, vcov, all_names, clusters), y=y)


def _saturated(data, y, id_col, time_col, controls, leads, lags, ref, clusters) -> EventStudyResult:
    pf = _pf()
    frame = data.copy()
    frame["_cohort"] = frame[FIRST_YEAR].fillna(0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(frame, yname=y, idname=id_col, tname=time_col, gname="_cohort",
                             xfml=" + ".join(controls) if controls else None, estimator="saturated")
    combos = _iw_weights(fit, ref)
    beta, vcov = np.asarray(fit._beta_hat, dtype=float), np.asarray(fit._vcov, dtype=float)
    rows = {e: _lincomb(r, beta, vcov) for e, r in combos.items() if -leads <= e <= lags}
    binned = pd.DataFrame.from_dict(rows, orient="index")[["estimate", "se", "p_value", "ci_low", "ci_high"]]
    binned.index = pd.Index(binned.index.astype(int), name="event_time")
    binned.loc[ref] = [0.0, 0.0, np.nan, 0.0, 0.0]
    binned = binned.sort_index()
    post = [r for e, r in combos.items() if 0 <= e <= lags]
    att = _lincomb(np.mean(post, axis=0), beta, vcov) if post else None
    # pyfixest gives the cohort × period coefficients' covariance but no joint pre-trend test for
    # this estimator; none is reported
    nan = float("nan")
    pretrend = {"chi2": nan, "df": 0, "p_value": nan, "F": nan, "p_value_F": nan}
    return EventStudyResult(table=binned, estimator="saturated", ref=ref, pretrend=pretrend, y=y, att=att)


def _iw_weights(fit, ref: int) -> dict[int, np.ndarray]:  # noqa: ANN001 - pyfixest Feols of the saturated study
    """Event time → weights on the saturated fit's coefficients giving Sun & Abraham's interaction-weighted
    estimate there, relative to event time ``ref``.

    pyfixest's saturated study leaves out event time −1 of each cohort; relative to ``ref`` a cohort's
    coefficient at ``e`` is ``b(g, e) − b(g, ref)`` (an exact re-parametrisation of the saturated model),
    weighted by the cohort's share of the cells at ``e`` (pyfixest's ``compute_period_weights``, the
    weights of its ``aggregate()``). Cohorts never observed at ``ref`` are left out and the shares of the
    others re-normalised; with ``ref = −1`` this is pyfixest's ``aggregate()``.
    """
    from pyfixest.did.saturated_twfe import compute_period_weights

    where: dict[tuple[int, int], int] = {}
    for i, name in enumerate(map(str, fit._coefnames)):
        hit = re.match(r"^.+::(-?[0-9.]+):.+::(-?[0-9]+)$", name)
        if hit:
            where[(int(hit[2]), int(float(hit[1])))] = i  # (cohort, event time)
    shares = compute_period_weights(fit._data, cohort=fit._gname, period="rel_time", treatment="is_treated")
    share = {(int(g), int(e)): float(w) for g, e, w in shares.itertuples(index=False, name=None)
             if np.isfinite(e)}  # never-treated units have event time inf
    cohorts = sorted({g for g, _ in where})
    usable = [g for g in cohorts if ref == -1 or (g, ref) in where]
    periods = sorted({e for _, e in where} | {-1})
    out = {}
    for e in periods:
        if e == ref:
            continue
        w = np.array([share.get((g, e), 0.0) if (g, e) in where or e == -1 else 0.0 for g in usable])
        if w.sum() <= 0:
            continue
        w = w / w.sum()
        r = np.zeros(len(fit._coefnames))
        for g, wg in zip(usable, w):
            if (g, e) in where:
                r[where[(g, e)]] += wg
            if ref != -1:
                r[where[(g, ref)]] -= wg
        out[e] = r
    return out


def _lincomb(r: np.ndarray, beta: np.ndarray, vcov: np.ndarray) -> dict[str, float]:
    """``r·β`` with its standard error, normal t, p and 95 % interval (as pyfixest's ``aggregate``)."""
    est = float(r @ beta)
    se = float(np.sqrt(r @ vcov @ r))
    t = est / se if se > 0 else float("nan")
    z = float(stats.norm.ppf(0.975))
    return {"estimate": est, "se": se, "t": t, "p_value": float(2 * stats.norm.sf(abs(t))),
            "ci_low": est - z * se, "ci_high": est + z * se}


# ------------------------------------------------------ robust comparison

@dataclass(frozen=True)
class EstimatorComparison(TableExport):
    """TWFE against heterogeneity-robust estimators: one ATT table, one set of event studies."""

    att: pd.DataFrame
    event_studies: tuple[EventStudyResult, ...]

    def to_frame(self) -> pd.DataFrame:
        return self.att.reset_index()

    def plot(self, ax=None, **kwargs):  # noqa: ANN001, ANN201
        from spillmap.models._plots import plot_event_study

        return plot_event_study(list(self.event_studies), ax=ax, **kwargs)


def _did2s_first_stage(controls: Sequence[str], id_col: str, time_col: str) -> str:
    """Gardner's first stage with the period effects as dummies and only the unit effect absorbed.

    The same model as ``| id + time``, but with one absorbed effect: pyfixest orders several
    absorbed effects through a hash-seeded ``set`` and recovers them with ``lsqr`` (atol 1e-6), so
    did2s estimates moved in the 10th digit with ``PYTHONHASHSEED``. With one absorbed effect the
    order is fixed and the recovery exact, so the same data give the same bytes in every process.
    """
    terms = [*controls, f"C({time_col})"]
    return f"~ {' + '.join(terms)} | {id_col}"


def compare_estimators(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    controls: Sequence[str] = (),
    leads: int = 4,
    lags: int = 4,
    cluster: str | None = None,
    ref: int = -1,
) -> EstimatorComparison:
    """TWFE, did2s (Gardner) and Sun & Abraham ATT side by side; TWFE, did2s and saturated event studies.

    The Sun & Abraham row (``sun_abraham``) is the average of the saturated study's interaction-weighted
    coefficients over event times 0 … ``lags`` (each relative to ``ref``), its standard error from the
    cohort × period coefficients' clustered covariance; t, p and interval are normal, as pyfixest's.
    """
    pf = _pf()
    rows = {}
    twfe = fit_did(data, y, id_col=id_col, time_col=time_col, controls=controls, cluster=cluster)
    rows["twfe"] = twfe.table.loc[DID]
    first = _did2s_first_stage(controls, id_col, time_col)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gardner = pf.did2s(data, yname=y, first_stage=first, second_stage=f"~ {DID}", treatment=DID,
                           cluster=cluster or id_col)
    rows["did2s"] = _tidy(gardner).loc[DID]
    studies = tuple(
        event_study(data, y, id_col=id_col, time_col=time_col, controls=controls, leads=leads, lags=lags,
                    estimator=e, cluster=cluster, ref=ref)
        for e in ("twfe", "did2s", "saturated")
    )
    if studies[2].att is not None:
        rows["sun_abraham"] = pd.Series(studies[2].att)
    att = pd.DataFrame(rows).T[["estimate", "se", "t", "p_value", "ci_low", "ci_high"]].astype(float)
    att.index.name = "estimator"
    return EstimatorComparison(att=att, event_studies=studies)

