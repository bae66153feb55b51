"""Heterogeneity of a staggered DID effect across groups of units.

:func:`heterogeneity` runs the DID separately in each group of a unit-level
grouping column, fits the pooled model with treatment × group interactions, and
tests whether the effects differ (z-test for two groups, Wald χ² for more).
:func:`baseline_groups` makes such a column from units' pre-policy means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids
from spillmap.models.did._regress import _check_controls, _fit, _prepare, _TableExport

__all__ = ["heterogeneity", "HeterogeneityResult", "DifferenceTest", "baseline_groups"]
DifferenceKind = Literal["z", "wald"]


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
