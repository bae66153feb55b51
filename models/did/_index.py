"""Entropy-weight composite index (the "common prosperity" index of regional economics).

Each indicator is min–max normalised, shifted away from zero, and weighted by
its information content: the more unequal its distribution across rows, the
lower its Shannon entropy and the larger its weight.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids

__all__ = ["Direction", "EntropyIndexResult", "entropy_index"]

Direction = Literal["positive", "negative"]

_WEIGHT_COLUMNS = ("indicator", "direction", "entropy", "divergence", "weight")
_SCORE_NAME = "index"


@dataclass(frozen=True)
class EntropyIndexResult:
    """Entropy weights and composite scores.

    Attributes
    ----------
    weights
        One row per indicator (per group and indicator when ``by`` is set):
        the group column (if any), ``indicator``, ``direction``
        (``"positive"``/``"negative"``), ``entropy`` e_j in [0, 1],
        ``divergence`` d_j = 1 − e_j and ``weight`` w_j (summing to 1 per group).
    scores
        Composite index per input row, aligned to the input index, named
        ``"index"``; values lie in [shift, 1 + shift] (unitless).
    normalised
        The shifted min–max normalised indicators x'_ij, aligned to the input
        index, one column per indicator (unitless).
    id_col, by
        The id and group column names passed in (``None`` when not given).
    ids, groups
        The id and group values per input row (``None`` when not given).
    """

    weights: pd.DataFrame
    scores: pd.Series
    normalised: pd.DataFrame
    id_col: str | None
    by: str | None
    ids: pd.Series | None
    groups: pd.Series | None

    def to_frame(self) -> pd.DataFrame:
        """Tidy scores: the id and group columns (when given) and ``index``, on the input index."""
        columns: dict[str, pd.Series] = {}
        if self.id_col is not None and self.ids is not None:
            columns[self.id_col] = self.ids
        if self.by is not None and self.groups is not None:
            columns[self.by] = self.groups
        columns[_SCORE_NAME] = self.scores
        return pd.DataFrame(columns, index=self.scores.index)


def entropy_index(
    data: pd.DataFrame,
    *,
    positive: Sequence[str] = (),
    negative: Sequence[str] = (),
    by: str | None = None,
    id_col: str | None = None,
    shift: float = 1e-4,
) -> EntropyIndexResult:
    """Build a composite index with entropy weights.

    Each indicator j is min–max normalised over the rows of its group,
    ``(x − min)/(max − min)`` for positive and ``(max − x)/(max − min)`` for
    negative indicators, and ``shift`` is added, giving x'_ij. With
    p_ij = x'_ij / Σ_i x'_ij and n rows, the entropy is
    e_j = −(1/ln n) Σ_i p_ij ln p_ij, the divergence d_j = 1 − e_j, the weight
    w_j = d_j / Σ_j d_j and the score of row i is Σ_j w_j x'_ij.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (unit, or unit-period for panels); not modified.
    positive : sequence of str
        Indicator columns where larger is better (any units; only ranks and
        ratios of ranges matter, so results are invariant to positive affine
        rescaling such as yuan vs 10 000 yuan).
    negative : sequence of str
        Indicator columns where smaller is better (e.g. an unemployment rate).
    by : str, optional
        Group column (e.g. the year). When given, normalisation and weights are
        computed separately within each group, so each group has its own
        weights and scores are comparable only within a group. When ``None``
        all rows are pooled (the usual choice for panels: one set of weights,
        scores comparable across years).
    id_col : str, optional
        Unit id column; used to name rows in error messages and carried into
        :meth:`EntropyIndexResult.to_frame`.
    shift : float
        Added to every normalised value (unitless, ≥ 0) so that ln p is never
        ln 0. Min–max scaling maps each indicator's worst row to exactly 0, so
        ``shift = 0`` is accepted only when no normalised value is 0, which in
        practice means it raises.

    Returns
    -------
    EntropyIndexResult
        ``weights`` per indicator (and group), ``scores`` per row, ``normalised`` values.

    Raises
    ------
    MissingColumnError
        An indicator, ``by`` or ``id_col`` column is absent.
    PanelShapeError
        No indicators; an indicator listed twice or as both positive and
        negative; a non-numeric indicator; missing or infinite values (column
        and rows named); an indicator constant within a group (it carries no
        information: drop it); a group with fewer than 2 rows; a negative or
        non-finite ``shift``, or ``shift = 0`` with normalised zeros.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillmap.models.did._index import entropy_index
    >>> df = pd.DataFrame({"gdp": [1.0, 2.0, 4.0], "unemp": [5.0, 3.0, 4.0]})
    >>> res = entropy_index(df, positive=["gdp"], negative=["unemp"])
    >>> round(float(res.weights["weight"].sum()), 12)
    1.0
    """
    positive = _as_names(positive, "positive")
    negative = _as_names(negative, "negative")
    indicators = [*positive, *negative]
    if not indicators:
        raise PanelShapeError(
            "entropy_index got no indicators; name the columns with positive=[...] "
            "(larger is better) and/or negative=[...] (smaller is better)."
        )
    both = [c for c in positive if c in negative]
    if both:
        raise PanelShapeError(
            f"Indicator(s) {format_ids(both)} are listed in both positive and negative; "
            "keep each indicator in exactly one list."
        )
    repeated = sorted({c for c in indicators if indicators.count(c) > 1}, key=indicators.index)
    if repeated:
        raise PanelShapeError(
            f"Indicator(s) {format_ids(repeated)} are listed more than once; list each indicator once."
        )
    if by is not None and by in indicators:
        raise PanelShapeError(f"The group column by={by!r} is also listed as an indicator; use another column.")
    if by is not None and by in _WEIGHT_COLUMNS:
        raise PanelShapeError(
            f"The group column by={by!r} clashes with a column of the weights table "
            f"({', '.join(_WEIGHT_COLUMNS)}); rename it before calling entropy_index."
        )
    if not (isinstance(shift, numbers.Real) and not isinstance(shift, bool) and math.isfinite(shift) and shift >= 0):
        raise PanelShapeError(
            f"shift must be a finite number ≥ 0 (it keeps ln p away from ln 0); got {shift!r}. Use e.g. shift=1e-4."
        )

    needed = [*indicators, *([by] if by is not None else []), *([id_col] if id_col is not None else [])]
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"The data has no column {format_ids(missing)}; its columns are: "
            f"{', '.join(map(str, data.columns))}. Name existing columns."
        )

    ids = data[id_col].copy() if id_col is not None else None
    groups = data[by].copy() if by is not None else None
    labels = _row_labels(data, ids, groups)

    values = np.empty((len(data), len(indicators)), dtype=float)
    for j, col in enumerate(indicators):
        values[:, j] = _numeric_column(data[col], col, labels)
    if groups is not None:
        missing_group = groups.isna().to_numpy()
        if missing_group.any():
            raise PanelShapeError(
                f"The group column {by!r} is empty on {int(missing_group.sum())} row(s): "
                f"{format_ids([labels[i] for i in np.flatnonzero(missing_group)])}; fill or drop those rows."
            )

    directions: list[Direction] = ["positive"] * len(positive) + ["negative"] * len(negative)
    is_negative = np.array([d == "negative" for d in directions])

    if groups is None:
        group_rows: list[tuple[Hashable | None, np.ndarray]] = [(None, np.arange(len(data)))]
    else:
        codes, uniques = pd.factorize(groups, sort=True)
        group_rows = [(uniques[g], np.flatnonzero(codes == g)) for g in range(len(uniques))]

    normalised = np.empty_like(values)
    scores = np.empty(len(data))
    tables = []
    for group, rows in group_rows:
        where = "the data" if group is None else f"group {by}={_plain(group)!r}"
        if len(rows) < 2:
            raise PanelShapeError(
                f"{where} has {len(rows)} row(s); entropy weights need at least 2 rows per group "
                f"(k = 1/ln n). Drop the group or pool the groups (by=None; on the command line leave out --by)."
            )
        sub = values[rows]
        lo, hi = sub.min(axis=0), sub.max(axis=0)
        constant = [indicators[j] for j in np.flatnonzero(hi == lo)]
        if constant:
            raise PanelShapeError(
                f"Indicator(s) {format_ids(constant)} are constant in {where} (max == min), so they carry "
                "no information and cannot be min–max normalised; drop them from positive/negative."
            )
        span = hi - lo
        z = np.where(is_negative, (hi - sub) / span, (sub - lo) / span) + shift
        if shift == 0:
            zero_cols = np.flatnonzero((z == 0).any(axis=0))
            if len(zero_cols):
                where_zero = "; ".join(
                    f"{indicators[j]!r} at row(s) {format_ids([labels[rows[i]] for i in np.flatnonzero(z[:, j] == 0)])}"
                    for j in zero_cols
                )
                raise PanelShapeError(
                    f"With shift=0, normalised values are 0 in {where} ({where_zero}), and ln 0 is undefined; "
                    "min–max scaling always maps an indicator's worst row to 0, so use a positive shift, e.g. 1e-4."
                )
        p = z / z.sum(axis=0)
        entropy = -(p * np.log(p)).sum(axis=0) / math.log(len(rows))
        divergence = 1.0 - entropy
        weight = divergence / divergence.sum()
        normalised[rows] = z
        scores[rows] = z @ weight
        table = pd.DataFrame(
            {
                "indicator": indicators,
                "direction": directions,
                "entropy": entropy,
                "divergence": divergence,
                "weight": weight,
            }
        )
        if by is not None:
            table.insert(0, by, [group] * len(indicators))
        tables.append(table)

    weights = pd.concat(tables, ignore_index=True)
    return EntropyIndexResult(
        weights=weights,
        scores=pd.Series(scores, index=data.index.copy(), name=_SCORE_NAME),
        normalised=pd.DataFrame(normalised, index=data.index.copy(), columns=indicators),
        id_col=id_col,
        by=by,
        ids=ids,
        groups=groups,
    )


def _as_names(names: Sequence[str], argument: str) -> list[str]:
    if isinstance(names, str):
        raise PanelShapeError(
            f"{argument} must be a list of column names, got the string {names!r}; write {argument}=[{names!r}]."
        )
    return list(names)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _row_labels(data: pd.DataFrame, ids: pd.Series | None, groups: pd.Series | None) -> list[object]:
    """How rows are named in messages: id (and group) values when given, else index labels."""
    if ids is not None and groups is not None:
        return [(_plain(i), _plain(g)) for i, g in zip(ids, groups)]
    if ids is not None:
        return [_plain(i) for i in ids]
    if groups is not None:
        return [(_plain(i), _plain(g)) for i, g in zip(data.index, groups)]
    return [_plain(i) for i in data.index]


def _numeric_column(column: pd.Series, name: str, labels: list[object]) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise PanelShapeError(
            f"Indicator {name!r} is not numeric (dtype {column.dtype}); convert it with pd.to_numeric first."
        )
    values = column.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = [labels[i] for i in np.flatnonzero(bad)]
        raise PanelShapeError(
            f"Indicator {name!r} has {len(rows)} missing or infinite value(s) at row(s) {format_ids(rows)}; "
            "fill or drop those rows before building the index."
        )
    return values
