"""Mechanism analysis for staggered DID panels: heterogeneity, mediation, moderation.

Every regression is a two-way fixed-effects (unit + period) OLS fitted with
pyfixest, with cluster-robust (CRV1) standard errors clustered by unit unless
``cluster=`` names another column.

- :func:`heterogeneity` runs the DID separately in each group of a
  unit-level grouping column, fits the pooled model with treatment × group
  interactions, and tests whether the effects differ (z-test for two groups,
  Wald χ² for more).
- :func:`mediation` runs the three-step mechanism test (total effect c,
  treatment → mediator a, outcome on treatment and mediator: direct c' and b)
  and infers the indirect effect a·b by the Sobel test and by a cluster
  bootstrap.
- :func:`moderation` fits y ~ focal + moderator + focal × moderator and reports
  the interaction and the focal variable's marginal effects at the
  moderator's mean − 1 sd, mean and mean + 1 sd (delta method).

The bootstrap re-estimates the two mediation regressions in each draw by
exact least squares (within-unit demeaning, then the period dummies partialled
out), not by pyfixest; :func:`_twoway_ols` is that path, tested against
pyfixest on the original sample.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import (
    CollinearityError,
    EstimationError,
    MissingColumnError,
    PanelShapeError,
    SpillmapWarning,
)
from spillmap.gis._validate import format_ids

from ._results import frame_to_markdown

__all__ = [
    "heterogeneity",
    "mediation",
    "moderation",
    "HeterogeneityResult",
    "MediationResult",
    "ModerationResult",
    "DifferenceTest",
    "baseline_groups",
]

#: Convergence tolerance handed to pyfixest's fixed-effects demeaning (its
#: default, 1e-6, leaves unbalanced-panel coefficients accurate to ~1e-7 only).
FIXEF_TOL = 1e-10
#: Confidence level of every interval reported here.
LEVEL = 0.95
#: Column names of every tidy table (``stat`` is renamed to ``t`` or ``z``).
_TIDY = ["term", "estimate", "se", "stat", "p_value", "ci_low", "ci_high"]
#: pyfixest/pandas messages that are noise for callers (we raise on collinearity ourselves).
_QUIET = (r"(?s).*inplace keyword", r"(?s).*dropped due to multicollinearity")

DifferenceKind = Literal["z", "wald"]
MarginAt = Literal["mean-1sd", "mean", "mean+1sd"]
_AT: tuple[MarginAt, ...] = ("mean-1sd", "mean", "mean+1sd")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DifferenceTest:
    """Test that the treatment effect is the same in every group.

    ``kind="z"`` (two groups): ``statistic`` is the interaction coefficient
    over its clustered standard error, ``df`` is 1 and ``p_value`` is
    two-sided normal. ``kind="wald"`` (three or more groups): ``statistic`` is
    β'V⁻¹β over the ``df`` interaction terms with the clustered V, and
    ``p_value`` is from χ²(df).
    """

    kind: DifferenceKind
    statistic: float
    df: int
    p_value: float

    def __str__(self) -> str:
        if self.kind == "z":
            return f"Difference test: z = {self.statistic:.4f}, p = {self.p_value:.4g}"
        return f"Difference test: Wald chi2({self.df}) = {self.statistic:.4f}, p = {self.p_value:.4g}"


class _TableExport:
    """``to_markdown`` and ``to_latex`` over ``to_frame``."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_markdown(self, digits: int = 4) -> str:
        """Plain pipe table of :meth:`to_frame` (no ``tabulate`` needed)."""
        return frame_to_markdown(self.to_frame(), digits)

    def to_latex(self, digits: int = 4) -> str:
        """LaTeX tabular of :meth:`to_frame` (``DataFrame.to_latex``)."""
        return self.to_frame().to_latex(index=False, float_format=f"%.{digits}f", na_rep="")


@dataclass(frozen=True, eq=False)
class HeterogeneityResult(_TableExport):
    """Split-sample and pooled-interaction DID by group, with a difference test.

    Attributes
    ----------
    split
        One row per group: ``group``, ``estimate``, ``se``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high`` (t with G − 1 df, as pyfixest), ``n_units``,
        ``n_treated`` (units ever treated) and ``n_obs``.
    interaction
        Tidy table of the pooled model: the treatment (effect in the reference
        group), one ``"<treatment>:<group_col>[<g>]"`` term per other group
        (difference from the reference) and the controls.
    vcov
        Clustered covariance of the pooled model, labelled by term.
    test
        :class:`DifferenceTest` that all interaction terms are zero.
    """

    treatment: str
    group_col: str
    reference: object
    groups: tuple[object, ...]
    split: pd.DataFrame
    interaction: pd.DataFrame
    vcov: pd.DataFrame
    test: DifferenceTest
    n_obs: int
    n_clusters: int

    def to_frame(self) -> pd.DataFrame:
        """Both models stacked: ``model`` is ``"split"`` (terms ``<treatment>[<group_col>=<g>]``) or ``"interact"``."""
        split = self.split.assign(
            term=[f"{self.treatment}[{self.group_col}={g}]" for g in self.split["group"]]
        )
        cols = ["term", "estimate", "se", "t", "p_value", "ci_low", "ci_high"]
        frame = pd.concat(
            [split[cols].assign(model="split"), self.interaction[cols].assign(model="interact")],
            ignore_index=True,
        )
        return frame[["model", *cols]]


@dataclass(frozen=True, eq=False)
class MediationResult(_TableExport):
    """Three-step mediation (Baron–Kenny) with Sobel and cluster-bootstrap inference.

    Attributes
    ----------
    table
        Rows ``total`` (c), ``a`` (treatment → mediator), ``b`` (mediator →
        outcome given treatment), ``direct`` (c'), ``indirect`` (a·b, Sobel
        se and normal interval), ``indirect_bt`` (a·b, bootstrap se and
        percentile interval; absent when ``boot=0``) and ``proportion``
        (a·b / c, bootstrap percentile interval). Inference is large-sample
        normal (column ``z``); the steps' own t(G − 1) tables are in ``steps``.
    steps
        pyfixest-style tidy tables of the three regressions, keyed
        ``"total"``, ``"mediator"`` and ``"outcome"``.
    indirect_draws
        The a·b of each bootstrap draw (NaN where a draw could not be
        estimated), shape (boot,).
    """

    treatment: str
    mediator: str
    outcome: str
    table: pd.DataFrame
    steps: dict[str, pd.DataFrame]
    sobel_se: float
    sobel_z: float
    sobel_p: float
    boot: int
    boot_failed: int
    boot_ci: tuple[float, float]
    n_obs: int
    n_clusters: int
    indirect_draws: np.ndarray = field(repr=False)

    def _value(self, term: str) -> float:
        return float(self.table.loc[self.table["term"] == term, "estimate"].iloc[0])

    @property
    def a(self) -> float:
        """Effect of the treatment on the mediator."""
        return self._value("a")

    @property
    def b(self) -> float:
        """Effect of the mediator on the outcome, holding the treatment fixed."""
        return self._value("b")

    @property
    def total(self) -> float:
        """Total effect c (outcome on treatment)."""
        return self._value("total")

    @property
    def direct(self) -> float:
        """Direct effect c' (outcome on treatment and mediator)."""
        return self._value("direct")

    @property
    def indirect(self) -> float:
        """Indirect effect a·b (equals c − c' exactly in OLS on one sample)."""
        return self._value("indirect")

    @property
    def proportion(self) -> float:
        """Share of the total effect that is mediated, a·b / c."""
        return self._value("proportion")

    def to_frame(self) -> pd.DataFrame:
        """The mediation table (a copy)."""
        return self.table.copy()


@dataclass(frozen=True, eq=False)
class ModerationResult(_TableExport):
    """Interaction (moderation) model with marginal effects of the focal variable.

    Attributes
    ----------
    coefficients
        Tidy table (t with G − 1 df, as pyfixest) of the focal variable, the
        moderator, their product (term ``"<moderator>:<by>"`` or
        ``"<treatment>:<moderator>"``) and the controls. With ``centered``, the
        main effects are effects at the other variable's sample mean.
    marginal
        One row per point ``at`` (``mean-1sd``, ``mean``, ``mean+1sd``) with
        the moderator ``value`` (original units) and the focal variable's
        marginal effect, delta-method clustered ``se``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high``.
    """

    outcome: str
    focal: str
    moderator: str
    focal_is_treatment: bool
    centered: bool
    moderator_mean: float
    moderator_sd: float
    coefficients: pd.DataFrame
    marginal: pd.DataFrame
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int

    @property
    def interaction_term(self) -> str:
        """Label of the product term in ``coefficients``."""
        if self.focal_is_treatment:
            return f"{self.focal}:{self.moderator}"
        return f"{self.moderator}:{self.focal}"

    @property
    def interaction(self) -> float:
        """Coefficient of the product term."""
        row = self.coefficients["term"] == self.interaction_term
        return float(self.coefficients.loc[row, "estimate"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """Coefficients, then marginal effects as terms ``d(<focal>)@<moderator>=<at>``."""
        me = self.marginal.assign(term=[f"d({self.focal})@{self.moderator}={a}" for a in self.marginal["at"]])
        cols = ["term", "estimate", "se", "t", "p_value", "ci_low", "ci_high"]
        return pd.concat([self.coefficients[cols], me[cols]], ignore_index=True)


# --------------------------------------------------------------------------- input checks


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


# --------------------------------------------------------------------------- pyfixest


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


# --------------------------------------------------------------------------- heterogeneity


def heterogeneity(
    data: pd.DataFrame,
    y: str,
    *,
    treatment: str = "did",
    controls: Sequence[str] = (),
    group_col: str,
    id_col: str,
    time_col: str,
    cluster: str | None = None,
    reference: object | None = None,
) -> HeterogeneityResult:
    """Treatment-effect heterogeneity across groups of units.

    Fits (a) the DID ``y ~ treatment + controls | unit + period`` separately
    in each group, (b) the pooled model ``y ~ treatment + treatment:C(group) +
    controls | unit + period`` whose interaction terms are each group's
    difference from ``reference``, and (c) a test that those differences are
    all zero. The split samples let controls and period effects differ by
    group; the pooled model does not, so the split difference need not equal
    the interaction coefficient.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (need not be balanced).
    y
        Outcome column.
    treatment
        0/1 column: treated unit × post period.
    controls
        Time-varying control columns.
    group_col
        Grouping column (string or numeric), constant within each unit.
    id_col, time_col
        Unit and period columns (the two fixed effects).
    cluster
        Column to cluster standard errors by; ``None`` clusters by ``id_col``.
    reference
        Reference group of the pooled model; ``None`` takes the first group
        in sorted order.

    Returns
    -------
    HeterogeneityResult

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Non-numeric, missing or non-0/1 values, repeated (unit, period) rows,
        a group that varies within a unit (names the units), fewer than two
        groups, a group with fewer than two units or no treated unit (names the
        group), or an unknown ``reference``.
    CollinearityError
        The treatment or a control is absorbed by the fixed effects (in the
        pooled model or in a named group).
    EstimationError
        pyfixest cannot fit a model, or the interaction covariance is singular.
    """
    controls = _check_controls(controls)
    work = _prepare(
        data, id_col=id_col, time_col=time_col, cluster=cluster,
        numeric=[y, treatment, *controls], binary=[treatment], extra=[group_col],
    )
    frame, nm = work.frame, work.names
    gcol, dcol = nm[group_col], nm[treatment]
    per_unit = frame.groupby("fe_unit", sort=False)[gcol].nunique()
    varying = per_unit.index[per_unit.to_numpy() > 1].tolist()
    if varying:
        raise PanelShapeError(
            f"Group column '{group_col}' changes over time within {len(varying)} unit(s) "
            f"({format_ids(varying)}); heterogeneity by group needs one group per unit. Use the "
            "unit's group in a base year, or a moderation model for a time-varying factor."
        )
    groups = _sorted_levels(frame[gcol])
    if len(groups) < 2:
        raise PanelShapeError(
            f"Group column '{group_col}' has a single value ({format_ids(groups)}); heterogeneity "
            "needs at least two groups."
        )
    if reference is None:
        reference = groups[0]
    if not any(_same(reference, g) for g in groups):
        raise PanelShapeError(
            f"reference={reference!r} is not a value of '{group_col}'; its values are {format_ids(groups)}."
        )
    reference = next(g for g in groups if _same(reference, g))

    ever = frame.groupby("fe_unit", sort=False)[dcol].max()
    unit_group = frame.groupby("fe_unit", sort=False)[gcol].first()
    rows = []
    y_in, rhs = nm[y], [dcol, *(nm[c] for c in controls)]
    for g in groups:
        in_group = unit_group.to_numpy() == g
        n_units = int(in_group.sum())
        n_treated = int((ever.to_numpy()[in_group] > 0).sum())
        if n_units < 2:
            raise PanelShapeError(
                f"Group {g!r} of '{group_col}' has {n_units} unit; a split-sample DID with clustered "
                "standard errors needs at least two. Merge it into another group."
            )
        if n_treated == 0:
            raise PanelShapeError(
                f"Group {g!r} of '{group_col}' has no treated unit ('{treatment}' is 0 on all of its "
                f"{n_units} units), so its treatment effect is not identified. Drop or merge the group."
            )
        sub = frame.loc[frame[gcol].to_numpy() == g]
        fit = _fit(work, sub, y_in, rhs, f"Group {g!r} of '{group_col}'")
        row = fit.tidy.iloc[0]
        rows.append({
            "group": g, "estimate": row["estimate"], "se": row["se"], "t": row["stat"],
            "p_value": row["p_value"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "n_units": n_units, "n_treated": n_treated, "n_obs": fit.n_obs,
        })
    split = pd.DataFrame(rows)

    others = [g for g in groups if not _same(g, reference)]
    pooled = frame.copy()
    inter = [f"i{k}" for k in range(len(others))]
    for name, g in zip(inter, others):
        pooled[name] = pooled[dcol].to_numpy() * (pooled[gcol].to_numpy() == g)
    fit = _fit(work, pooled, y_in, [dcol, *inter, *(nm[c] for c in controls)], "The pooled interaction model")
    labels = [treatment, *(f"{treatment}:{group_col}[{g}]" for g in others), *controls]
    interaction = fit.tidy.assign(term=labels).rename(columns={"stat": "t"})
    k = len(others)
    b_int, v_int = fit.beta[1:1 + k], fit.vcov[1:1 + k, 1:1 + k]
    if k == 1:
        z = float(b_int[0] / math.sqrt(v_int[0, 0]))
        test = DifferenceTest("z", z, 1, float(2 * stats.norm.sf(abs(z))))
    else:
        try:
            wald = float(b_int @ np.linalg.solve(v_int, b_int))
        except np.linalg.LinAlgError as err:
            raise EstimationError(
                f"The clustered covariance of the {k} interaction terms is singular (too few clusters "
                f"per group?); the joint Wald test of '{group_col}' cannot be formed."
            ) from err
        test = DifferenceTest("wald", wald, k, float(stats.chi2.sf(wald, k)))
    return HeterogeneityResult(
        treatment=treatment, group_col=group_col, reference=reference, groups=tuple(groups),
        split=split, interaction=interaction,
        vcov=pd.DataFrame(fit.vcov, index=labels, columns=labels), test=test,
        n_obs=fit.n_obs, n_clusters=fit.n_clusters,
    )


def _sorted_levels(values: pd.Series) -> list[object]:
    levels = list(pd.unique(values))
    try:
        return sorted(levels)
    except TypeError:  # mixed types: order by text
        return sorted(levels, key=str)


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- mediation


def mediation(
    data: pd.DataFrame,
    y: str,
    mediator: str,
    *,
    treatment: str = "did",
    controls: Sequence[str] = (),
    id_col: str,
    time_col: str,
    cluster: str | None = None,
    boot: int = 500,
    seed: int | np.random.Generator | None = None,
    progress: Callable[[int], None] | None = None,
) -> MediationResult:
    """Three-step mechanism (mediation) test with Sobel and cluster-bootstrap inference.

    Fits (i) ``y ~ treatment + controls`` (total effect c), (ii) ``mediator ~
    treatment + controls`` (a) and (iii) ``y ~ treatment + mediator +
    controls`` (direct effect c' and b), each with unit and period fixed
    effects. The indirect effect a·b gets the Sobel standard error
    sqrt(b²·se_a² + a²·se_b²) from the clustered SEs, and a cluster bootstrap:
    ``boot`` times, clusters (units unless ``cluster`` is given) are drawn
    with replacement, each drawn copy of a unit counts as a distinct unit,
    and (ii) and (iii) are re-estimated; the interval is the percentile
    interval of the draws. The proportion mediated is a·b / c.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (need not be balanced).
    y
        Outcome column.
    mediator
        Mediator (mechanism) column.
    treatment
        0/1 column: treated unit × post period.
    controls
        Time-varying control columns.
    id_col, time_col
        Unit and period columns (the two fixed effects).
    cluster
        Column to cluster standard errors and resample by; ``None`` uses ``id_col``.
    boot
        Number of bootstrap draws; 0 skips the bootstrap.
    seed
        Seed or generator of the bootstrap draws.
    progress
        Called after each finished draw with the number of draws done so far.

    Returns
    -------
    MediationResult

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Bad values (non-numeric, missing, non-0/1 treatment), repeated
        (unit, period) rows, a negative ``boot``, or no treated unit.
    CollinearityError
        The treatment, mediator or a control is absorbed by the fixed effects.
    EstimationError
        pyfixest cannot fit a step, or every bootstrap draw failed.

    Warns
    -----
    SpillmapWarning
        Some bootstrap draws could not be estimated (e.g. no treated unit was
        drawn); they are left out of the interval.
    """
    if isinstance(boot, bool) or not isinstance(boot, (int, np.integer)) or boot < 0:
        raise PanelShapeError(f"boot must be a non-negative integer number of draws, not {boot!r}; 0 skips the bootstrap.")
    boot = int(boot)
    controls = _check_controls(controls)
    work = _prepare(
        data, id_col=id_col, time_col=time_col, cluster=cluster,
        numeric=[y, mediator, treatment, *controls], binary=[treatment],
    )
    frame, nm = work.frame, work.names
    if not (frame[nm[treatment]].to_numpy() > 0).any():
        raise PanelShapeError(
            f"Treatment column '{treatment}' is 0 on every row; there is no treated unit, so no effect to mediate."
        )
    yc, mc, dc, cc = nm[y], nm[mediator], nm[treatment], [nm[c] for c in controls]
    # Step 3 first: a mediator absorbed by the fixed effects fails there as a regressor,
    # before step 2 would regress a constant on the treatment.
    fit_b = _fit(work, frame, yc, [dc, mc, *cc], "Step 3 (outcome on treatment and mediator)")
    fit_c = _fit(work, frame, yc, [dc, *cc], "Step 1 (total effect)")
    fit_a = _fit(work, frame, mc, [dc, *cc], "Step 2 (treatment on mediator)")
    c, se_c = fit_c.beta[0], math.sqrt(fit_c.vcov[0, 0])
    a, se_a = fit_a.beta[0], math.sqrt(fit_a.vcov[0, 0])
    cp, se_cp = fit_b.beta[0], math.sqrt(fit_b.vcov[0, 0])
    b, se_b = fit_b.beta[1], math.sqrt(fit_b.vcov[1, 1])
    ab = a * b
    sobel_se = math.sqrt(b * b * se_a * se_a + a * a * se_b * se_b)
    indirect_row = _normal_row("indirect", ab, sobel_se)

    draws = np.full((boot, 2), np.nan)  # a·b and c' per draw
    if boot:
        rng = np.random.default_rng(seed)
        draws = _bootstrap(frame, yc, mc, dc, cc, boot, rng, progress)
    ok = np.isfinite(draws).all(axis=1)
    failed = int(boot - ok.sum())
    if boot and failed == boot:
        raise EstimationError(
            f"All {boot} bootstrap draws failed (the treatment or mediator was constant after removing the "
            "fixed effects in every resample); check that enough units are treated."
        )
    if failed:
        warnings.warn(
            f"{failed} of {boot} bootstrap draws could not be estimated (no variation in '{treatment}' or "
            f"'{mediator}' among the drawn units) and were left out of the interval.",
            SpillmapWarning, stacklevel=2,
        )
    tail = (1 - LEVEL) / 2 * 100
    rows = [
        _normal_row("total", c, se_c),
        _normal_row("a", a, se_a),
        _normal_row("b", b, se_b),
        _normal_row("direct", cp, se_cp),
        indirect_row,
    ]
    boot_ci = (math.nan, math.nan)
    prop_ci = (math.nan, math.nan)
    if boot:
        good = draws[ok]
        boot_ci = tuple(float(v) for v in np.percentile(good[:, 0], [tail, 100 - tail]))
        with np.errstate(divide="ignore", invalid="ignore"):
            props = good[:, 0] / (good[:, 0] + good[:, 1])  # c = c' + a·b exactly in OLS
        props = props[np.isfinite(props)]
        if props.size:
            prop_ci = tuple(float(v) for v in np.percentile(props, [tail, 100 - tail]))
        sd = float(np.std(good[:, 0], ddof=1)) if len(good) > 1 else math.nan
        row = _normal_row("indirect_bt", ab, sd)
        row["ci_low"], row["ci_high"] = boot_ci
        rows.append(row)
    prop = ab / c if c != 0 else math.nan
    rows.append({
        "term": "proportion", "estimate": prop, "se": math.nan, "stat": math.nan,
        "p_value": math.nan, "ci_low": prop_ci[0], "ci_high": prop_ci[1],
    })
    table = pd.DataFrame(rows, columns=_TIDY).rename(columns={"stat": "z"})
    steps = {
        "total": fit_c.tidy.rename(columns={"stat": "t"}),
        "mediator": fit_a.tidy.rename(columns={"stat": "t"}),
        "outcome": fit_b.tidy.rename(columns={"stat": "t"}),
    }
    return MediationResult(
        treatment=treatment, mediator=mediator, outcome=y, table=table, steps=steps,
        sobel_se=sobel_se, sobel_z=float(indirect_row["stat"]), sobel_p=float(indirect_row["p_value"]),
        boot=boot, boot_failed=failed, boot_ci=boot_ci, n_obs=fit_b.n_obs, n_clusters=fit_b.n_clusters,
        indirect_draws=draws[:, 0].copy(),
    )


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.intp), len(uniques)


def _twoway_ols(
    lhs: np.ndarray, rhs: np.ndarray, unit: np.ndarray, time: np.ndarray, n_units: int, n_times: int
) -> np.ndarray | None:
    """Exact OLS slopes of ``lhs`` on ``rhs`` with unit and period fixed effects.

    Demeans every column within units, then partials the (unit-demeaned)
    period dummies out by least squares (Frisch–Waugh–Lovell), so it is exact
    for unbalanced panels too. ``rhs`` is (n, k); returns the k slopes, or
    ``None`` when they are not identified (rank-deficient regressors).
    """
    block = np.column_stack([lhs, rhs])
    dummies = np.zeros((len(lhs), n_times))
    dummies[np.arange(len(lhs)), time] = 1.0
    full = np.column_stack([block, dummies[:, 1:]])
    counts = np.bincount(unit, minlength=n_units).astype(float)
    means = np.empty((n_units, full.shape[1]))
    for j in range(full.shape[1]):
        means[:, j] = np.bincount(unit, weights=full[:, j], minlength=n_units)
    means /= np.maximum(counts, 1.0)[:, None]
    full = full - means[unit]
    inner, dum = full[:, : block.shape[1]], full[:, block.shape[1]:]
    if dum.shape[1]:
        coef = np.linalg.lstsq(dum, inner, rcond=None)[0]
        inner = inner - dum @ coef
    slopes, _, rank, _ = np.linalg.lstsq(inner[:, 1:], inner[:, 0], rcond=None)
    if rank < rhs.shape[1]:
        return None
    return slopes


def _bootstrap(
    frame: pd.DataFrame,
    yc: str,
    mc: str,
    dc: str,
    cc: Sequence[str],
    boot: int,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    """(boot, 2) array of a·b and c' from cluster resamples (NaN rows for failed draws)."""
    cl, n_cl = _codes(frame["cl"])
    unit, n_units = _codes(frame["fe_unit"])
    time, n_times = _codes(frame["fe_time"])
    y = frame[yc].to_numpy(dtype=float)
    m = frame[mc].to_numpy(dtype=float)
    x_a = frame[[dc, *cc]].to_numpy(dtype=float)
    x_b = frame[[dc, mc, *cc]].to_numpy(dtype=float)
    order = np.argsort(cl, kind="stable")
    sizes = np.bincount(cl, minlength=n_cl)
    starts = np.cumsum(sizes) - sizes
    out = np.full((boot, 2), np.nan)
    for r in range(boot):
        picks = rng.integers(0, n_cl, size=n_cl)
        lengths = sizes[picks]
        offsets = np.cumsum(lengths) - lengths
        pos = np.arange(lengths.sum()) - np.repeat(offsets, lengths) + np.repeat(starts[picks], lengths)
        rows = order[pos]
        copy = np.repeat(np.arange(n_cl), lengths)
        new_unit, n_new = _codes(copy.astype(np.int64) * n_units + unit[rows])
        fit_a = _twoway_ols(m[rows], x_a[rows], new_unit, time[rows], n_new, n_times)
        fit_b = _twoway_ols(y[rows], x_b[rows], new_unit, time[rows], n_new, n_times)
        if fit_a is not None and fit_b is not None:
            out[r] = (fit_a[0] * fit_b[1], fit_b[0])
        if progress is not None:
            progress(r + 1)
    return out


# --------------------------------------------------------------------------- moderation


def moderation(
    data: pd.DataFrame,
    y: str,
    moderator: str,
    *,
    by: str | None = None,
    treatment: str | None = None,
    controls: Sequence[str] = (),
    id_col: str,
    time_col: str,
    cluster: str | None = None,
    center: bool = True,
) -> ModerationResult:
    """Moderation (interaction) model with marginal effects of the focal variable.

    Fits ``y ~ by + moderator + moderator:by + controls | unit + period``
    (e.g. virtual agglomeration ``by`` moderated by factor misallocation), or,
    when ``treatment`` is given instead of ``by``, ``y ~ treatment + moderator
    + treatment:moderator + controls``. Reports the interaction and the focal
    variable's marginal effect ∂y/∂focal = β_focal + β_int·(m − shift) at the
    moderator's mean − 1 sd, mean and mean + 1 sd (sample mean and sd, ddof=1,
    over the estimation rows), with delta-method clustered SEs.

    With ``center=True`` the moderator and a continuous ``by`` are
    mean-centred before forming the product (a 0/1 treatment is never
    centred), so the main effects are effects at the other variable's mean;
    the interaction and the marginal effects are the same either way.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (need not be balanced).
    y
        Outcome column.
    moderator
        Moderating variable column.
    by
        Continuous focal variable; give exactly one of ``by`` and ``treatment``.
    treatment
        0/1 treatment column as the focal variable.
    controls
        Time-varying control columns.
    id_col, time_col
        Unit and period columns (the two fixed effects).
    cluster
        Column to cluster standard errors by; ``None`` clusters by ``id_col``.
    center
        Mean-centre the interacted variables before forming the product.

    Returns
    -------
    ModerationResult

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Neither or both of ``by`` and ``treatment``; bad values, repeated
        (unit, period) rows, or a constant moderator.
    CollinearityError
        A regressor is absorbed by the fixed effects.
    EstimationError
        pyfixest cannot fit the model.
    """
    if (by is None) == (treatment is None):
        raise PanelShapeError(
            "Give exactly one focal variable: by='<continuous column>' or treatment='<0/1 column>' "
            f"(got by={by!r}, treatment={treatment!r})."
        )
    if not isinstance(center, (bool, np.bool_)):
        raise PanelShapeError(f"center must be True or False, not {center!r}.")
    focal = by if by is not None else treatment
    assert focal is not None
    controls = _check_controls(controls)
    work = _prepare(
        data, id_col=id_col, time_col=time_col, cluster=cluster,
        numeric=[y, focal, moderator, *controls], binary=[treatment] if treatment is not None else [],
    )
    frame, nm = work.frame.copy(), work.names
    m = frame[nm[moderator]].to_numpy()
    f = frame[nm[focal]].to_numpy()
    m_mean, m_sd = float(m.mean()), float(m.std(ddof=1))
    if not m_sd > 0:
        raise PanelShapeError(f"Moderator '{moderator}' is constant ({m_mean:g}); it cannot moderate anything.")
    m_shift = m_mean if center else 0.0
    f_shift = float(f.mean()) if (center and treatment is None) else 0.0
    frame[nm[moderator]] = m - m_shift
    frame[nm[focal]] = f - f_shift
    frame["mf"] = (m - m_shift) * (f - f_shift)
    rhs = [nm[focal], nm[moderator], "mf", *(nm[c] for c in controls)]
    fit = _fit(work, frame, nm[y], rhs, "The moderation model")
    inter = f"{treatment}:{moderator}" if treatment is not None else f"{moderator}:{by}"
    labels = [focal, moderator, inter, *controls]
    coefficients = fit.tidy.assign(term=labels).rename(columns={"stat": "t"})
    q = stats.t.ppf(0.5 + LEVEL / 2, fit.df_t)
    rows = []
    for at, value in zip(_AT, (m_mean - m_sd, m_mean, m_mean + m_sd)):
        grad = np.zeros(len(rhs))
        grad[0], grad[2] = 1.0, value - m_shift
        est = float(grad @ fit.beta)
        se = float(math.sqrt(grad @ fit.vcov @ grad))
        t = est / se
        rows.append({
            "at": at, "value": value, "estimate": est, "se": se, "t": t,
            "p_value": float(2 * stats.t.sf(abs(t), fit.df_t)),
            "ci_low": est - q * se, "ci_high": est + q * se,
        })
    return ModerationResult(
        outcome=y, focal=focal, moderator=moderator, focal_is_treatment=treatment is not None,
        centered=bool(center), moderator_mean=m_mean, moderator_sd=m_sd,
        coefficients=coefficients, marginal=pd.DataFrame(rows),
        vcov=pd.DataFrame(fit.vcov, index=labels, columns=labels),
        n_obs=fit.n_obs, n_clusters=fit.n_clusters,
    )


_SPLITS = {"median": ("below", "above"), "tercile": ("low", "middle", "high"),
           "quartile": ("q1", "q2", "q3", "q4")}


def baseline_groups(
    data: pd.DataFrame,
    column: str,
    *,
    id_col: str,
    time_col: str,
    split: str = "median",
    before: object | None = None,
) -> pd.Series:
    """Unit groups from a numeric, possibly time-varying column, for :func:`heterogeneity`.

    Each unit's value is its mean of ``column`` over the periods before
    ``before`` (e.g. the first pilot year, so the split is not an outcome of
    the policy; all periods when ``before`` is None or no period precedes
    it); units are then split at the median (``"below"``/``"above"``), at
    terciles (``"low"``/``"middle"``/``"high"``) or at quartiles
    (``"q1"``…``"q4"``) of those values across units. Returns one label per
    row of ``data`` (aligned to its index), e.g. to store as a new column.
    """
    if column not in data.columns:
        raise MissingColumnError(
            f"The panel has no column '{column}'; its columns are: {', '.join(map(str, data.columns))}."
        )
    if split not in _SPLITS:
        raise PanelShapeError(f"split must be one of {', '.join(_SPLITS)}, not {split!r}.")
    values = pd.to_numeric(data[column], errors="coerce")
    if values.isna().all():
        raise PanelShapeError(f"Column '{column}' has no numeric values to split units by.")
    rows = data[time_col] < before if before is not None else pd.Series(True, index=data.index)
    if not rows.any():
        rows = pd.Series(True, index=data.index)
    unit_mean = values[rows].groupby(data.loc[rows, id_col]).mean()
    labels = _SPLITS[split]
    if unit_mean.notna().sum() < len(labels):
        raise PanelShapeError(f"Too few units with values of '{column}' to split them by {split}.")
    group = pd.qcut(unit_mean.rank(method="first"), len(labels), labels=labels).astype(object)
    return data[id_col].map(group).rename(f"{column}_{split}")
