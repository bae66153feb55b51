"""Alternative samples: drop units by id or by a column condition, keep a year window, drop a treatment batch.

Used by ``spillmap did``/``sdid``/``sweep`` (``--exclude-units``, ``--exclude-if``, ``--years``,
``--drop-batch``) and ``spillmap run`` (``[sample]``). Conditions are parsed here, never evaluated as
Python. No function modifies the caller's frame; each returns a new frame and a report of what it removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spillmap.errors import MissingColumnError, MissingIdError, SpillmapError

__all__ = [
    "CLI_KEYS",
    "CONFIG_KEYS",
    "REPORT_COLUMNS",
    "Condition",
    "SampleSpec",
    "apply_sample",
    "drop_batches",
    "from_config",
    "from_options",
    "parse_condition",
    "parse_units",
    "parse_years",
    "summary",
]

#: Columns of the report written as ``sample.csv``.
REPORT_COLUMNS = ["unit", "year", "reason"]
#: How each sample setting is named on the command line ...
CLI_KEYS = {"exclude_units": "--exclude-units", "exclude_if": "--exclude-if", "years": "--years",
            "drop_batch": "--drop-batch"}
#: ... and in a ``spillmap run`` configuration.
CONFIG_KEYS = {k: f"[sample] {k}" for k in CLI_KEYS}
_OPS = ("==", "!=", "<=", ">=", "<", ">")
_CONDITION = re.compile(r"^\s*(?P<col>.+?)\s*(?P<op>==|!=|<=|>=|<|>|\s+in\s+)\s*(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class Condition:
    """``column op value``: rows where it holds are excluded (``in`` takes ``|``-separated values)."""

    column: str
    op: str
    values: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SampleSpec:
    """An alternative sample; empty fields change nothing."""

    exclude_units: tuple[str, ...] = ()
    exclude_if: tuple[Condition, ...] = ()
    years: tuple[int, int] | None = None
    drop_batch: tuple[int, ...] = ()
    #: setting → how the user set it (``--years`` or ``[sample] years``), for messages.
    keys: Mapping[str, str] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.keys is None:
            object.__setattr__(self, "keys", dict(CLI_KEYS))

    def __bool__(self) -> bool:
        return bool(self.exclude_units or self.exclude_if or self.years or self.drop_batch)


def parse_condition(text: str, key: str = "--exclude-if") -> Condition:
    """Parse ``"COLUMN OP VALUE"`` (ops ``== != < <= > >=``, or ``in a|b``); a clear error otherwise."""
    match = _CONDITION.match(str(text))
    if not match or not match["col"] or not match["value"]:
        raise SpillmapError(f"{key} {text!r} is not a condition: write \"COLUMN OP VALUE\" with OP one of "
                            f"{', '.join(_OPS)} or in (e.g. \"capital == 1\", \"province in 北京市|上海市\").")
    op = match["op"].strip()
    raw = match["value"]
    values = tuple(v.strip().strip("'\"") for v in raw.split("|")) if op == "in" else (raw.strip().strip("'\""),)
    if any(v == "" for v in values):
        raise SpillmapError(f"{key} {text!r} has an empty value; write e.g. \"capital == 1\".")
    return Condition(match["col"].strip().strip("'\"`"), op, values, str(text).strip())


def parse_units(text: str, key: str = "--exclude-units") -> tuple[str, ...]:
    """``ID,ID,...`` or ``@file.txt`` (ids one a line or comma-separated; ``#`` starts a comment)."""
    text = str(text).strip()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise SpillmapError(f"{key}: cannot read the id list '{path}' ({err.__class__.__name__}); "
                                "give a UTF-8 text file with one id a line.") from None
        text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    ids = tuple(dict.fromkeys(p.strip() for p in re.split(r"[,\n]", text) if p.strip()))
    if not ids:
        raise SpillmapError(f"{key} names no unit; give ids separated by commas or @file.txt.")
    return ids


def parse_years(value: str | Sequence[object], key: str = "--years") -> tuple[int, int]:
    """``"2011-2019"`` or ``[2011, 2019]`` → ``(2011, 2019)``, first not after last."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(-?\d+)\s*(?:-|:|–|\.\.)\s*(-?\d+)\s*", value)
        parts: list[object] = [int(match[1]), int(match[2])] if match else []
    else:
        parts = list(value)
    if len(parts) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        raise SpillmapError(f"{key} = {value!r} is not a year window; write it as FIRST-LAST, e.g. 2011-2019"
                            + (" ([2011, 2019] in the config)" if key.startswith("[") else "") + ".")
    first, last = int(parts[0]), int(parts[1])  # type: ignore[call-overload]
    if first > last:
        raise SpillmapError(f"{key} = {value!r}: the first year {first} is after the last {last}.")
    return first, last


def _matches(column: pd.Series, cond: Condition, key: str = "--exclude-if") -> pd.Series:
    """Rows where ``cond`` holds; numbers compared as numbers when the column and values are numeric."""
    numeric = pd.to_numeric(column, errors="coerce")
    values_num = pd.to_numeric(pd.Series(cond.values), errors="coerce")
    as_numbers = bool(values_num.notna().all()) and bool(numeric.notna().sum() >= column.notna().sum())
    left = numeric if as_numbers else column.astype(str).str.strip()
    vals = list(values_num) if as_numbers else list(cond.values)
    if cond.op == "in":
        return left.isin(vals)
    if cond.op in ("==", "!="):
        hit = left == vals[0]
        return ~hit & column.notna() if cond.op == "!=" else hit
    if not as_numbers:
        raise SpillmapError(f"{key} {cond.text!r}: '{cond.column}' or {cond.values[0]!r} is not numeric, "
                            f"so {cond.op} cannot compare them; use == or in.")
    return {"<": left < vals[0], "<=": left <= vals[0], ">": left > vals[0], ">=": left >= vals[0]}[cond.op]


def apply_sample(frame: pd.DataFrame, spec: SampleSpec, *, id_col: str, time_col: str,
                 source: str = "the panel") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the unit, condition and year-window exclusions; ``(new frame, report)`` with the report's
    :data:`REPORT_COLUMNS` (``year`` empty when a whole unit went). ``frame`` is left as it was.

    Unknown unit ids or columns are one error naming them all.
    """
    keys = spec.keys
    report: list[tuple[object, object, str]] = []
    ids = frame[id_col].astype(str).str.strip()
    drop = pd.Series(False, index=frame.index)
    if spec.exclude_units:
        known = set(ids)
        unknown = [u for u in spec.exclude_units if u not in known]
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                                  else "")
            raise MissingIdError(f"{keys['exclude_units']} names {len(unknown)} unit(s) not in {source} (column "
                                 f"'{id_col}'): {shown}. Use ids of that column.")
        hit = ids.isin(spec.exclude_units)
        report += [(u, None, f"{keys['exclude_units']}") for u in pd.unique(ids[hit])]
        drop |= hit
    if spec.exclude_if:
        missing = [c.column for c in spec.exclude_if if c.column not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"{keys['exclude_if']} names column(s) not in {source}: {', '.join(repr(c) for c in missing)}; "
                f"its columns are: {', '.join(repr(str(c)) for c in frame.columns[:20])}.")
        for cond in spec.exclude_if:
            hit = _matches(frame[cond.column], cond, keys["exclude_if"]) & ~drop
            units = pd.unique(ids[hit])
            # a unit whose condition holds in any row goes whole (a balanced panel stays balanced)
            whole = ids.isin(units) & ~drop
            report += [(u, None, f"{keys['exclude_if']} {cond.text}") for u in units]
            drop |= whole
    if spec.years is not None:
        first, last = spec.years
        when = pd.to_numeric(frame[time_col], errors="coerce")
        out = ~when.between(first, last) & ~drop
        if not (when.between(first, last) & ~drop).any():
            raise SpillmapError(f"{keys['years']} = {first}–{last} keeps no row of {source} (its periods run "
                                f"{_plain(when.min())}–{_plain(when.max())}).")
        report += [(None, _plain(t), f"{keys['years']} {first}-{last}") for t in sorted(pd.unique(when[out]))]
        drop |= out
    kept = frame.loc[~drop].reset_index(drop=True)
    if kept.empty:
        raise SpillmapError(f"The sample ({', '.join(k for k in keys.values())}) removes every row of {source}.")
    return kept, pd.DataFrame(report, columns=REPORT_COLUMNS)


def drop_batches(data: pd.DataFrame, batches: Sequence[int], *, id_col: str, first_year_col: str = "first_year",
                 key: str = "--drop-batch") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the units first treated in any of ``batches``; ``(new frame, report)``. An unknown batch is an error."""
    per_unit = data.groupby(id_col, sort=False)[first_year_col].first()
    present = sorted({int(v) for v in per_unit.dropna()})
    unknown = [b for b in batches if b not in present]
    if unknown:
        raise SpillmapError(f"{key} {', '.join(map(str, unknown))}: no unit is first treated in "
                            f"{'that year' if len(unknown) == 1 else 'those years'}; the batches are: "
                            f"{', '.join(map(str, present)) or 'none'}.")
    gone = per_unit.index[per_unit.isin(list(batches))]
    report = pd.DataFrame([(u, None, f"{key} {int(per_unit[u])}") for u in gone], columns=REPORT_COLUMNS)
    return data.loc[~data[id_col].isin(gone)].reset_index(drop=True), report


def summary(report: pd.DataFrame | None, before: pd.DataFrame, id_col: str, time_col: str, after: pd.DataFrame) -> str:
    """One line: how many units and years the sample removed, and what is left."""
    units = before[id_col].nunique() - after[id_col].nunique()
    years = before[time_col].nunique() - after[time_col].nunique()
    return (f"Sample: removed {units} unit(s) and {years} year(s); {after[id_col].nunique()} units, "
            f"{after[time_col].nunique()} years, {len(after)} rows left (sample.csv lists them).")


def from_options(exclude_units: str | None = None, exclude_if: Sequence[str] | None = None,
                 years: str | None = None, drop_batch: Sequence[int] | None = None) -> SampleSpec | None:
    """The sample the command-line options ask for (None without any)."""
    spec = SampleSpec(
        exclude_units=parse_units(exclude_units) if exclude_units else (),
        exclude_if=tuple(parse_condition(c) for c in exclude_if or ()),
        years=parse_years(years) if years else None,
        drop_batch=tuple(int(b) for b in drop_batch or ()),
    )
    return spec or None


def from_config(section: Mapping[str, object]) -> SampleSpec | None:
    """The sample of a checked ``[sample]`` config section (None when it is empty)."""
    units = tuple(str(u).strip() for u in section.get("exclude_units") or ())  # type: ignore[union-attr]
    conds = tuple(parse_condition(c, CONFIG_KEYS["exclude_if"]) for c in section.get("exclude_if") or ())  # type: ignore[union-attr]
    years = section.get("years")
    spec = SampleSpec(exclude_units=units, exclude_if=conds,
                      years=parse_years(years, CONFIG_KEYS["years"]) if years else None,  # type: ignore[arg-type]
                      drop_batch=tuple(section.get("drop_batch") or ()),  # type: ignore[arg-type]
                      keys=CONFIG_KEYS)
    return spec or None


def _plain(value: object) -> object:
    try:
        return int(value) if float(value).is_integer() else value  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
