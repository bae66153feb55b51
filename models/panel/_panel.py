"""Balanced long panels turned into (T, N) and (T, N, K) arrays aligned to the weights."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from spillmap.gis._ids import describe_groups, format_ids
from spillmap.models.panel._fe import FixedEffects, demean

from spillmap.errors import (
    EstimationError,
    MissingColumnError,
    PanelShapeError,
    SpillmapWarning,
)

__all__ = [
    "PanelData", "PanelFormula", "panel_arrays", "panel_from_formula", "panel_labels", "parse_formula",
    "parse_panel_formula",
]

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


#: Relative size of a singular value below which regressors count as collinear.
COLLINEAR_TOL = 1e-10

_FES = ("unit", "time", "twoways")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|[⧛⧚]")
_Y, _X = "\x00y", "\x00x{}"


@dataclass(frozen=True)
class PanelFormula:
    """A panel formula read without data: outcome, regressors, the columns they read, fixed effects.

    Attributes
    ----------
    formula
        The text as given.
    main
        The ``lhs ~ rhs`` part (before any ``|``).
    fe
        Fixed effects named after ``|``: ``"unit"``, ``"time"`` or ``"twoways"``; None without ``|``.
    y_columns, x_columns
        Data columns read by the outcome and by the regressors, in order of first use
        (formulaic's reading; see :meth:`columns_in` for a given frame).
    bare
        ``(y, [x1, x2])`` when the main part reads as ``y ~ x1 + x2`` with bare
        names (names with dots or dashes included, as :func:`parse_formula` reads
        them), else None.
    """

    formula: str
    main: str
    fe: FixedEffects | None
    y_columns: tuple[str, ...]
    x_columns: tuple[str, ...]
    bare: tuple[str, tuple[str, ...]] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column the formula reads (outcome first), without the id and time columns."""
        return tuple(dict.fromkeys((*self.y_columns, *self.x_columns)))

    def reads_bare(self, available: Sequence[object]) -> bool:
        """Whether, on a frame with columns ``available``, the formula is read as bare names.

        It is when the main part is ``y ~ x1 + x2`` and each name is a column
        or a plain identifier (so ``gdp.pc`` is a column when the frame has one,
        ``np.log(x)`` is a transform).
        """
        if self.bare is None:
            return False
        cols = set(available)
        return all(c in cols or _IDENT.fullmatch(c) for c in (self.bare[0], *self.bare[1]))

    def columns_in(self, available: Sequence[object]) -> tuple[str, ...]:
        """The data columns the formula reads from a frame with columns ``available`` (outcome first)."""
        if self.reads_bare(available):
            return tuple(dict.fromkeys((self.bare[0], *self.bare[1])))
        if not self.y_columns and self.bare is not None:  # unreadable by formulaic: raise its message
            _formulaic(self.main, self.formula, "id", "time")
        return self.columns


def parse_panel_formula(formula: str, *, id_col: str, time_col: str) -> PanelFormula:
    """Read ``"np.log(y) ~ x1 + C(region) + x1:x3 | id + year"`` without data.

    The part after ``~`` takes formulaic's syntax: transforms (``np.log(x)``,
    ``np.sqrt(x)``, ``I(x**2)``, ``scale(x)``, ``center(x)``), categoricals
    ``C(x)`` (string columns are categorical too), interactions ``a:b`` and
    ``a*b``, names quoted in backticks, and ``- 1``/``0 +`` (ignored:
    fixed-effects models have no intercept). After ``|`` come the fixed
    effects: ``id_col`` (unit), ``time_col`` (time) or both (two-way).

    Parameters
    ----------
    formula
        The formula.
    id_col, time_col
        The unit and period columns, the only names allowed after ``|``.

    Returns
    -------
    PanelFormula

    Raises
    ------
    PanelShapeError
        The formula cannot be read, or ``|`` names anything but ``id_col``/``time_col``.
    """
    if not isinstance(formula, str):
        raise PanelShapeError(_unreadable(formula, "", id_col, time_col))
    parts = _split_bars(formula)
    if len(parts) > 2:
        raise PanelShapeError(
            f"The formula {formula!r} has {len(parts) - 1} '|' parts; write one, for the fixed effects "
            f"('| {id_col}', '| {time_col}' or '| {id_col} + {time_col}'). Instrumental variables are not supported."
        )
    main = parts[0].strip()
    fe = _fe_part(formula, parts[1], id_col, time_col) if len(parts) == 2 else None
    legacy = re.fullmatch(rf"\s*({_NAME})\s*~\s*({_NAME}(?:\s*\+\s*{_NAME})*)\s*", main)
    bare = None
    if legacy:
        bare = (legacy.group(1), tuple(name.strip() for name in legacy.group(2).split("+")))
        if all(_IDENT.fullmatch(c) for c in (bare[0], *bare[1])):
            return PanelFormula(formula, main, fe, (bare[0],), tuple(dict.fromkeys(bare[1])), bare)
    lhs, sep, rhs = main.partition("~")
    if not sep or not lhs.strip() or not rhs.strip() or re.search(r"\+\s*(\+|$)|~\s*\+", main):
        raise PanelShapeError(_unreadable(formula, "", id_col, time_col))
    try:
        parsed = _formulaic(main, formula, id_col, time_col)
    except PanelShapeError:
        if bare is None:
            raise
        return PanelFormula(formula, main, fe, (), (), bare)  # maybe odd column names: decided with the data
    if len(list(parsed.lhs)) != 1:
        raise PanelShapeError(_unreadable(formula, f": the left of '~' must be one outcome, not {len(list(parsed.lhs))} terms", id_col, time_col))
    if not [t for t in parsed.rhs if t.degree > 0]:
        raise PanelShapeError(_unreadable(formula, ": it has no regressors", id_col, time_col))

    def ordered(part) -> tuple[str, ...]:
        names = set(part.required_variables) | {n for term in part for f in term.factors for n in _factor_names(f)}
        first = {v: re.search(rf"(?<![\w.]){re.escape(v)}(?!\w)", main) for v in names}
        return tuple(sorted(names, key=lambda v: (first[v].start() if first[v] else len(main), v)))

    return PanelFormula(formula, main, fe, ordered(parsed.lhs), ordered(parsed.rhs), bare)


def _factor_names(factor) -> set[str]:
    """Data names a factor reads, including arguments of stateful transforms (``scale(x)``), which
    formulaic's ``required_variables`` leaves out."""
    import ast

    expr = str(getattr(factor, "expr", factor))
    if str(getattr(getattr(factor, "eval_method", None), "value", "")) == "lookup":
        return {expr}
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return set()
    skip = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    skip |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in skip}


def panel_from_formula(
    data: pd.DataFrame,
    formula: str | PanelFormula,
    *,
    id_col: str,
    time_col: str,
    ids: Sequence[object],
    fe: FixedEffects | None = None,
    where: str = "the panel",
) -> tuple[PanelData, FixedEffects]:
    """Build the design of ``formula`` once and reshape it like :func:`panel_arrays`.

    Design columns are named as formulaic names them (``np.log(x2)``,
    ``C(region)[T.b]``, ``x1:x3``); the intercept is dropped and categoricals
    lose their reference level. A categorical term absorbed by the fixed
    effects (e.g. a time-invariant ``C(region)`` under unit effects) is dropped
    with a warning naming it. ``data`` is not modified.

    Returns
    -------
    tuple[PanelData, FixedEffects]
        The panel and the fixed effects to use (from ``|``, else ``fe``, else ``"twoways"``).

    Raises
    ------
    MissingColumnError
        The formula, ``id_col`` or ``time_col`` names an absent column.
    PanelShapeError
        An unreadable formula, a bad ``|`` term, missing values in the data
        or created by a transform (term and rows named), or a bad panel shape.
    EstimationError
        ``fe`` disagrees with the formula's ``|`` part.
    """
    spec = formula if isinstance(formula, PanelFormula) else parse_panel_formula(formula, id_col=id_col, time_col=time_col)
    fe_used = resolve_fe(spec, fe)
    if spec.reads_bare(data.columns):
        y, x = parse_formula(spec.main)
        return panel_arrays(data, id_col=id_col, time_col=time_col, y=y, x=x, ids=ids, where=where), fe_used
    frame, y_name, x_names, categorical = _design(data, spec, id_col, time_col, where)
    panel = panel_arrays(
        frame, id_col=id_col, time_col=time_col, y=_Y, x=[_X.format(k) for k in range(len(x_names))], ids=ids, where=where
    )
    panel = replace(panel, y_name=y_name, x_names=tuple(x_names))
    return _drop_absorbed(panel, categorical, fe_used, where), fe_used


def resolve_fe(spec: PanelFormula, fe: FixedEffects | None) -> FixedEffects:
    """The fixed effects of a fit: the formula's ``|`` part, else ``fe``, else ``"twoways"``.

    Raises
    ------
    EstimationError
        ``fe`` is not a known option, or it disagrees with the formula's ``|`` part.
    """
    if fe is not None and fe not in _FES:
        raise EstimationError(f"fe must be one of {', '.join(_FES)}, not {fe!r}.")
    if spec.fe is None:
        return fe or "twoways"
    if fe is not None and fe != spec.fe:
        written = spec.formula[spec.formula.index("|"):].strip()
        raise EstimationError(
            f"The formula asks for {spec.fe} fixed effects ('{written}') but fe={fe!r} (--fe {fe} on the command "
            "line); give the fixed effects once, after '|' in the formula or with fe= / --fe."
        )
    return spec.fe


def _unreadable(formula: object, detail: str, id_col: str, time_col: str) -> str:
    return (
        f"Cannot read the formula {formula!r}{detail}; write it as 'y ~ x1 + x2' (column names joined by +; "
        f"transforms such as np.log(x), I(x**2), C(group), a:b and a*b are allowed), with fixed effects "
        f"after '|' ('| {id_col} + {time_col}') or via fe=."
    )


def _split_bars(formula: str) -> list[str]:
    """Split on the '|' outside parentheses and backticks."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(formula):
        if ch == "`":
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        elif not quoted and depth == 0 and ch == "|":
            parts.append(formula[start:i])
            start = i + 1
    return [*parts, formula[start:]]


def _fe_part(formula: str, part: str, id_col: str, time_col: str) -> FixedEffects:
    allowed = f"'| {id_col}' (unit), '| {time_col}' (time) or '| {id_col} + {time_col}' (two-way)"
    terms = [t.strip().strip("`").strip() for t in part.split("+")]
    bad = [t for t in terms if t not in (id_col, time_col)]
    if bad or not terms:
        shown = format_ids(bad) if any(bad) else "nothing"
        raise PanelShapeError(
            f"The fixed effects after '|' in {formula!r} name {shown}; allowed are {allowed}, "
            f"the id and time columns (id_col={id_col!r}, time_col={time_col!r}). Put other categories on the "
            "right of '~' as C(name)."
        )
    return "twoways" if {id_col, time_col} <= set(terms) and id_col != time_col else ("unit" if id_col in terms else "time")


def _formulaic(main: str, formula: str, id_col: str, time_col: str):
    from formulaic import Formula
    from formulaic.errors import FormulaicError

    try:
        return Formula(main)
    except FormulaicError as err:
        detail = _ANSI.sub("", str(err)).splitlines()[0].strip()
        raise PanelShapeError(_unreadable(formula, f" ({detail})", id_col, time_col)) from None


def _design(data: pd.DataFrame, spec: PanelFormula, id_col: str, time_col: str, where: str):
    """The long design frame (placeholder column names), y and x names, and categorical terms' positions."""
    from formulaic import Formula, model_matrix
    from formulaic.errors import FormulaicError
    from formulaic.formula import SimpleFormula

    needed = list(dict.fromkeys((id_col, time_col, *spec.columns_in(data.columns))))
    missing = [c for c in needed if c not in data.columns]
    if missing:
        called = [c for c in missing if re.search(rf"(?<![\w.]){re.escape(c)}\s*\(", spec.main)]
        hint = f" ({format_ids(called)} used as a function: write np.{called[0]}(...) for numpy's)" if called else ""
        raise MissingColumnError(
            f"{where} has no column {format_ids(missing)}{hint}; its columns are: {', '.join(map(str, data.columns))}."
        )
    frame = data.reset_index(drop=True)  # a new frame; formulaic reads it, nothing writes to it
    _check_missing(frame, id_col, time_col, list(needed[2:]), where)
    parsed = _formulaic(spec.main, spec.formula, id_col, time_col)
    intercept = next(iter(Formula("1")))
    rhs = SimpleFormula([intercept, *[t for t in parsed.rhs if t.degree > 0]])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ymat = model_matrix(parsed.lhs, frame, na_action="ignore")
            xmat = model_matrix(rhs, frame, na_action="ignore", ensure_full_rank=True)
    except FormulaicError as err:
        detail = _ANSI.sub("", str(err)).strip()
        raise PanelShapeError(f"{where}: the formula {spec.formula!r} cannot be evaluated: {detail}") from None
    if ymat.shape[1] != 1:
        raise PanelShapeError(
            f"{where}: the outcome {ymat.model_spec.formula!s} gives {ymat.shape[1]} columns "
            f"({', '.join(ymat.columns)}); the outcome must be one numeric column."
        )
    y_name = str(ymat.columns[0])
    kinds = {str(k): v[0] for k, v in xmat.model_spec.encoder_state.items()}
    x_names: list[str] = []
    columns: list[np.ndarray] = []
    categorical: list[tuple[str, list[int]]] = []
    checks = [(y_name, ymat.to_numpy(dtype=float))]
    for term, idx in xmat.model_spec.term_indices.items():
        if term.degree == 0:
            continue
        values = xmat.iloc[:, list(idx)].to_numpy(dtype=float)
        checks.append((str(term), values))
        if all(str(getattr(kinds.get(str(f)), "value", "")) == "categorical" for f in term.factors):
            categorical.append((str(term), list(range(len(x_names), len(x_names) + len(idx)))))
        x_names += [str(c) for c in xmat.columns[list(idx)]]
        columns += list(values.T)
    for name, values in checks:
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            cells = ", ".join(f"({u}, {t})" for u, t in frame.loc[rows[:5], [id_col, time_col]].itertuples(index=False))
            raise PanelShapeError(
                f"{where}: the term '{name}' of the formula is missing or infinite on {len(rows)} row(s), e.g. rows "
                f"{format_ids((rows[:5] + 1).tolist())} (1-based), at (unit, period) {cells}, although its inputs "
                "are present (e.g. the log or square root of zero or negative values). Change the transform "
                "(e.g. np.log1p) or drop those units (the panel must stay balanced)."
            )
    design = pd.DataFrame({_Y: checks[0][1][:, 0], **{_X.format(k): col for k, col in enumerate(columns)}})
    design.insert(0, time_col, frame[time_col].to_numpy())
    if id_col != time_col:
        design.insert(0, id_col, frame[id_col].to_numpy())
    return design, y_name, x_names, categorical


def _drop_absorbed(panel: PanelData, categorical: list[tuple[str, list[int]]], fe: FixedEffects, where: str) -> PanelData:
    """Drop, with a warning, categorical terms whose dummies the fixed effects absorb entirely."""

    drop: list[int] = []
    for name, idx in categorical:
        z = demean(panel.x[:, :, idx], fe).reshape(panel.t * panel.n, -1)
        ref = max(float(np.max(np.abs(panel.x[:, :, idx]), initial=0.0)), 1.0)
        if np.all(np.sqrt(np.sum(z * z, axis=0)) <= COLLINEAR_TOL * ref * np.sqrt(len(z))):
            within = {"unit": "each unit", "time": "each period", "twoways": "each unit or each period"}[fe]
            warnings.warn(
                f"{where}: the term '{name}' ({len(idx)} dummy column(s)) is constant within {within} and absorbed "
                f"by the {fe} fixed effects; it was dropped. Remove it from the formula, or interact it with a "
                f"varying regressor (e.g. x:{name}).",
                SpillmapWarning,
                stacklevel=4,
            )
            drop += idx
    if not drop:
        return panel
    keep = [k for k in range(len(panel.x_names)) if k not in set(drop)]
    if not keep:
        raise PanelShapeError(f"{where}: every regressor of the formula is absorbed by the {fe} fixed effects.")
    return replace(panel, x=panel.x[:, :, keep], x_names=tuple(panel.x_names[k] for k in keep))


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
    # fast path: plain arrays, checked with numpy; the pandas checks below only run to word an error
    _check_numeric(data, [y, *x], where)
    units, times = data[id_col], data[time_col]
    values = np.empty((len(data), 1 + len(x)))
    for j, c in enumerate((y, *x)):
        values[:, j] = data[c].to_numpy(dtype=float, na_value=np.nan)
    time_values = times.to_numpy()
    if not np.isfinite(values).all() or units.isna().any() or pd.isna(time_values).any():
        _check_missing(data[list(dict.fromkeys(columns))], id_col, time_col, [y, *x], where)
    frame = data

    unit_pos = _positions(units, ids)
    periods = np.sort(pd.unique(time_values))
    time_pos = np.searchsorted(periods, time_values)
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
    y_arr[time_pos, unit_pos] = values[:, 0]
    x_arr = np.empty((t, n, len(x)))
    x_arr[time_pos, unit_pos, :] = values[:, 1:]
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
            "(e.g. pandas.to_numeric), or write C(name) in the formula for category dummies."
        )


def _check_missing(frame: pd.DataFrame, id_col: str, time_col: str, columns: Sequence[str], where: str) -> None:
    for key in (id_col, time_col):
        if frame[key].isna().any():
            rows = (np.flatnonzero(frame[key].isna().to_numpy()) + 1).tolist()
            raise PanelShapeError(f"{where}: column '{key}' is empty on rows {format_ids(rows)} (1-based).")
    values = frame[list(dict.fromkeys(columns))]
    nan = values.isna()
    for c in values.columns:
        if pd.api.types.is_numeric_dtype(values[c]) and not pd.api.types.is_bool_dtype(values[c]):
            nan[c] = nan[c] | ~np.isfinite(values[c].to_numpy(dtype=float, na_value=np.nan))
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
