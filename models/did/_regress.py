"""Two-way fixed-effects regressions shared by heterogeneity, mediation and moderation.

Every regression is a two-way fixed-effects (unit + period) OLS fitted with
pyfixest, with cluster-robust (CRV1) standard errors clustered by unit unless
``cluster=`` names another column. This module prepares the panel (:func:`_prepare`),
fits one regression (:func:`_fit`) and shapes its rows; the three analyses live in
``_heterogeneity``, ``_mediation`` and ``_moderation``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import CollinearityError, EstimationError, MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids
from spillmap.models._format import TableExport

__all__: list[str] = []  # helpers for _heterogeneity, _mediation, _moderation


#: Convergence tolerance handed to pyfixest's fixed-effects demeaning (its
#: default, 1e-6, leaves unbalanced-panel coefficients accurate to ~1e-7 only).
FIXEF_TOL = 1e-10
#: Confidence level of every interval reported here.
LEVEL = 0.95
#: Column names of every tidy table (``stat`` is renamed to ``t`` or ``z``).
_TIDY = ["term", "estimate", "se", "stat", "p_value", "ci_low", "ci_high"]
#: pyfixest/pandas messages that are noise for callers (we raise on collinearity ourselves).
_QUIET = (r"(?s).*inplace keyword", r"(?s).*dropped due to multicollinearity")


class _TableExport(TableExport):
    """Result tables of the mechanism analyses: missing cells print empty in LaTeX."""

    _LATEX_NA = ""


@dataclass(frozen=True, eq=False)
class _Work:
    """A validated copy of the used columns under formula-safe names."""

    frame: pd.DataFrame  # columns: fe_unit, fe_time, cl, and v0.. for the variables
    names: dict[str, str]  # user column -> internal name
    n_clusters: int

    def labels(self, internal: Sequence[str]) -> list[str]:
        back = {v: k for k, v in self.names.items()}
        return [back.get(str(i), str(i)) for i in internal]


def _prepare(
    data: pd.DataFrame,
    *,
    id_col: str,
    time_col: str,
    cluster: str | None,
    numeric: Sequence[str],
    binary: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> _Work:
    """Check the panel and copy the used columns (numeric first, then ``extra``) under safe names."""
    if not isinstance(data, pd.DataFrame):
        raise PanelShapeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    cluster = id_col if cluster is None else cluster
    roles = [id_col, time_col, *numeric, *extra]
    repeated = sorted({str(c) for c in roles if roles.count(c) > 1})
    if repeated:
        raise PanelShapeError(
            f"Column(s) {format_ids(repeated)} are given in more than one role (id, period, outcome, "
            "treatment, mediator/moderator, controls, group); name each column once."
        )
    wanted = list(dict.fromkeys([*roles, cluster]))
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"The panel has no column {format_ids(missing)}; its columns are: "
            f"{', '.join(map(str, data.columns))}. Check the spelling or add the column."
        )
    bad = [c for c in dict.fromkeys(numeric) if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise PanelShapeError(
            f"Column(s) {format_ids(bad)} are not numeric; convert them (e.g. pandas.to_numeric) "
            "or dummy-code categories."
        )
    for key in dict.fromkeys([id_col, time_col, cluster, *extra]):
        empty = data[key].isna().to_numpy()
        if empty.any():
            rows = (np.flatnonzero(empty) + 1).tolist()
            raise PanelShapeError(
                f"Column '{key}' is empty on rows {format_ids(rows)} (1-based); fill or drop those rows."
            )
    values = data[list(dict.fromkeys(numeric))].astype(float)
    nan = values.isna().to_numpy() | ~np.isfinite(values.to_numpy())
    if nan.any():
        per_col = {c: int(n) for c, n in zip(values.columns, nan.sum(axis=0)) if n}
        first = data.loc[nan.any(axis=1), [id_col, time_col]].head(5)
        examples = ", ".join(f"({u}, {t})" for u, t in first.itertuples(index=False))
        raise PanelShapeError(
            "The panel has missing or infinite values: "
            + ", ".join(f"'{c}' {n} row(s)" for c, n in per_col.items())
            + f"; e.g. at (unit, period) {examples}. Drop or impute those rows first, so that every "
            "regression uses the same sample."
        )
    for col in dict.fromkeys(binary):
        off = ~np.isin(values[col].to_numpy(), (0.0, 1.0))
        if off.any():
            first = data.loc[off, [id_col, time_col, col]].head(5)
            examples = ", ".join(f"({u}, {t}): {v}" for u, t, v in first.itertuples(index=False))
            raise PanelShapeError(
                f"Treatment column '{col}' must hold 0/1 (treated unit × post period); {int(off.sum())} "
                f"row(s) hold other values, e.g. {examples}."
            )
    pairs = data.duplicated([id_col, time_col], keep=False).to_numpy()
    if pairs.any():
        shown = list(dict.fromkeys(
            f"({u}, {t})" for u, t in data.loc[pairs, [id_col, time_col]].itertuples(index=False)
        ))
        raise PanelShapeError(
            f"{len(shown)} (unit, period) pair(s) appear on more than one row, e.g. {', '.join(shown[:5])}; "
            f"keep one row per '{id_col}' and '{time_col}'."
        )
    if data[time_col].nunique() < 2:
        raise PanelShapeError(
            f"Column '{time_col}' holds a single period; two-way fixed-effects DID needs at least two."
        )
    names = {c: f"v{k}" for k, c in enumerate(dict.fromkeys([*numeric, *extra]))}
    frame = pd.DataFrame({"fe_unit": data[id_col].to_numpy(), "fe_time": data[time_col].to_numpy()})
    frame["cl"] = data[cluster].to_numpy()
    for col in dict.fromkeys(numeric):
        frame[names[col]] = values[col].to_numpy()
    for col in dict.fromkeys(extra):
        frame[names[col]] = data[col].to_numpy()
    return _Work(frame=frame, names=names, n_clusters=int(frame["cl"].nunique()))


def _check_controls(controls: Sequence[str] | str) -> list[str]:
    if isinstance(controls, str):
        return [controls]
    return list(controls)


@dataclass(frozen=True, eq=False)
class _Fit:
    terms: list[str]  # user labels
    beta: np.ndarray
    vcov: np.ndarray
    tidy: pd.DataFrame  # columns of _TIDY with stat = t (pyfixest inference)
    n_obs: int
    n_clusters: int
    df_t: float


def _fit(work: _Work, frame: pd.DataFrame, lhs: str, rhs: Sequence[str], where: str) -> _Fit:
    """pyfixest OLS ``lhs ~ rhs | unit + period`` clustered by ``cl``; raise on dropped regressors."""
    import pyfixest as pf

    fml = f"{lhs} ~ {' + '.join(rhs)} | fe_unit + fe_time"
    with warnings.catch_warnings():
        for pattern in _QUIET:
            warnings.filterwarnings("ignore", message=pattern)
        try:
            fit = pf.feols(fml, data=frame, vcov={"CRV1": "cl"}, **_demeaner_options(pf))
        except Exception as err:  # pyfixest raises bare ValueError/others
            labels = work.labels([lhs, *rhs])
            raise EstimationError(
                f"{where}: the regression of '{labels[0]}' on {format_ids(labels[1:])} with unit and "
                f"period fixed effects could not be estimated ({str(err).strip()})."
            ) from err
    names = [str(n) for n in fit._coefnames]
    dropped = [r for r in rhs if r not in names]
    if dropped:
        raise CollinearityError(
            f"{where}: {format_ids(work.labels(dropped))} is constant within units/periods or collinear "
            "with the other regressors after removing unit and period fixed effects; drop it (a "
            "time-invariant control is absorbed by the unit effects) or check the treatment coding."
        )
    order = [names.index(r) for r in rhs]
    beta = np.asarray(fit._beta_hat, dtype=float)[order]
    vcov = np.asarray(fit._vcov, dtype=float)[np.ix_(order, order)]
    tidy = fit.tidy(alpha=1 - LEVEL).iloc[order]
    table = pd.DataFrame({
        "term": work.labels(rhs),
        "estimate": beta,
        "se": np.sqrt(np.diag(vcov)),
        "stat": tidy.iloc[:, 2].to_numpy(dtype=float),
        "p_value": tidy.iloc[:, 3].to_numpy(dtype=float),
        "ci_low": tidy.iloc[:, 4].to_numpy(dtype=float),
        "ci_high": tidy.iloc[:, 5].to_numpy(dtype=float),
    })
    return _Fit(
        terms=work.labels(rhs), beta=beta, vcov=vcov, tidy=table, n_obs=int(fit._N),
        n_clusters=int(frame["cl"].nunique()), df_t=float(fit._df_t),
    )


def _demeaner_options(pf: object) -> dict[str, object]:
    """``demeaner=MapDemeaner(fixef_tol=...)`` (newer pyfixest), else the older ``fixef_tol=``."""
    demeaner = getattr(pf, "MapDemeaner", None)
    if demeaner is not None:
        return {"demeaner": demeaner(fixef_tol=FIXEF_TOL)}
    return {"fixef_tol": FIXEF_TOL}


def _normal_row(term: str, est: float, se: float) -> dict[str, float | str]:
    z = est / se if se > 0 else math.nan
    q = stats.norm.ppf(0.5 + LEVEL / 2)
    return {
        "term": term, "estimate": est, "se": se, "stat": z,
        "p_value": 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else math.nan,
        "ci_low": est - q * se, "ci_high": est + q * se,
    }
