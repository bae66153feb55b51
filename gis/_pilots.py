"""Pilot (treatment) tables: read them and join them to a layer's units.

The shipped table is the Broadband China ("宽带中国") demonstration-city list,
2014–2016 (``shapefiles/broadband_china_pilots.csv``; sources and caveats in
``shapefiles/README.md``).  Each row is one announced entry; the column
``prefecture_units_zh`` lists the prefecture-level unit(s) it maps to,
``;``-separated.  A unit's first treated year is the earliest batch of any
entry that maps to it.
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import (
    MissingColumnError,
    PilotMatchWarning,
    PilotTableError,
    PilotTableReadError,
)

from ._shipped import shipped_path
from ._validate import MAX_LISTED as _MAX_LISTED
from ._validate import validate_ids

__all__ = [
    "PILOTS_FILE",
    "PilotJoin",
    "PilotMatchWarning",
    "pilot_years",
    "read_pilots",
]

#: File name of the shipped Broadband China pilot table in ``spillmap.shapefiles``.
PILOTS_FILE = "broadband_china_pilots.csv"

_UNIT_COL = "prefecture_units_zh"
_YEAR_COL = "batch_year"
_ENTRY_COL = "entry_zh"
_SPLIT = re.compile(r"[;；]")

# Suffixes tried, longest first, by the tolerant name match.
_SUFFIXES = ("特别行政区", "自治州", "自治县", "地区", "林区", "盟", "市", "县", "省")
# Ethnic groups named in prefecture-level autonomous units (自治州, 自治县),
# dropped with the suffix so that e.g. 延边 matches 延边朝鲜族自治州.
_ETHNIC = (
    "柯尔克孜", "哈萨克", "朝鲜", "土家", "布依", "哈尼", "景颇", "傈僳", "蒙古",
    "苗", "藏", "羌", "彝", "侗", "壮", "傣", "白", "回", "黎",
)
_ETHNIC_TAIL = re.compile("(?:" + "|".join(_ETHNIC) + ")族?$")


@dataclass(frozen=True, eq=False)
class PilotJoin:
    """Result of :func:`pilot_years`.

    Attributes
    ----------
    years : pandas.Series
        First treated year per unit, indexed by the layer's ids in layer
        order, named ``"first_year"``, dtype ``Int64``; ``<NA>`` for units
        never treated.
    unmatched : pandas.DataFrame
        Pilot-table rows (or row/unit pairs) that map to no unit, with the
        table's own columns plus ``pilot_row`` (1-based data row),
        ``unmatched_unit`` (the unit text that failed, empty when none was
        listed) and ``reason``.
    sources : pandas.DataFrame
        One row per (unit id, pilot row) match: the id (named as the layer's
        id column), ``name`` (the layer's name, ``""`` if it has none),
        ``entry``, ``year``, ``pilot_row`` and ``matched_by`` (``"exact"``,
        ``"normalised"`` or ``"id"``).
    id_col : str
        Name of the layer's id column.
    """

    years: pd.Series
    unmatched: pd.DataFrame
    sources: pd.DataFrame
    id_col: str = "code"

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: id, ``first_year`` and ``n_entries``.

        Returns
        -------
        pandas.DataFrame
            Columns ``<id_col>``, ``first_year`` (Int64) and ``n_entries``
            (number of pilot rows that map to the unit, 0 when untreated), in
            layer order.
        """
        ids = self.years.index
        counts = self.sources.groupby(self.id_col, sort=False)["pilot_row"].nunique()
        n = counts.reindex(ids).fillna(0).astype("int64").to_numpy()
        return pd.DataFrame(
            {
                self.id_col: ids.to_numpy(),
                "first_year": self.years.to_numpy(),
                "n_entries": n,
            }
        ).astype({"first_year": "Int64"})


def read_pilots(
    path: str | os.PathLike[str] | None = None,
    *,
    unit_col: str = _UNIT_COL,
    year_col: str = _YEAR_COL,
) -> pd.DataFrame:
    """Read a pilot (treatment) table from CSV.

    Parameters
    ----------
    path : str or os.PathLike, optional
        CSV file, UTF-8 with or without a byte-order mark.  ``None`` reads the
        shipped Broadband China table (117 entries, 2014–2016).
    unit_col, year_col : str
        Columns that must be present: the unit(s) each entry maps to and the
        entry's year.

    Returns
    -------
    pandas.DataFrame
        Every column of the file as text (empty cells as ``""``), except
        ``year_col`` as ``int64``.

    Raises
    ------
    PilotTableError
        The file is missing, not UTF-8, empty, not a CSV, or a year is
        missing or not an integer (the message names the data rows).
    MissingColumnError
        ``unit_col`` or ``year_col`` is absent (the message names the file).
    """
    if path is None:
        return _read_csv(shipped_path(PILOTS_FILE), unit_col, year_col)
    return _read_csv(Path(os.fspath(path)), unit_col, year_col)


def pilot_years(
    layer: pd.DataFrame,
    *,
    id_col: str = "code",
    name_col: str = "name",
    pilots: pd.DataFrame | str | os.PathLike[str] | None = None,
    unit_col: str = _UNIT_COL,
    year_col: str = _YEAR_COL,
    match: Literal["name", "id"] = "name",
    entry_col: str = _ENTRY_COL,
) -> PilotJoin:
    """First treated year of each unit of ``layer`` from a pilot table.

    Parameters
    ----------
    layer : pandas.DataFrame
        Units (a GeoDataFrame or any frame) with unique ids in ``id_col``.
    id_col, name_col : str
        The layer's id column and, for ``match="name"``, its name column.
    pilots : pandas.DataFrame or path, optional
        The pilot table, or a CSV path (see :func:`read_pilots`); ``None``
        uses the shipped Broadband China table.
    unit_col : str
        Column listing, per entry, the unit names (or ids with
        ``match="id"``) it maps to, ``;``-separated; empty when none.
    year_col : str
        Column with the entry's (integer) year.
    match : {"name", "id"}
        ``"name"``: match ``unit_col`` to ``name_col``, exactly first
        (ignoring whitespace and full-width forms), then ignoring the
        administrative suffix (市, 地区, 盟, 自治州 with its ethnic names,
        自治县, 林区, 县, 省, 特别行政区), never ambiguously: a name that
        hits several units is reported in ``unmatched`` as
        ``"ambiguous: <ids>"``.  ``"id"``: match to ``id_col`` (compared
        as text).
    entry_col : str
        Column naming the entry, shown in ``sources`` and warnings; when
        absent the ``unit_col`` text is shown instead.

    Returns
    -------
    PilotJoin
        ``years`` (first treated year per unit, ``<NA>`` if never),
        ``unmatched`` and ``sources``.

    Raises
    ------
    MissingColumnError
        A named column is absent from the layer or the pilot table.
    DuplicateIdError, MissingIdError
        The layer's ids repeat or are empty.
    PilotTableError
        A year is missing or not an integer, or ``match`` is unknown.

    Warns
    -----
    PilotMatchWarning
        Some entries (or units listed in them) match no unit of the layer.
    """
    if match not in ("name", "id"):
        raise PilotTableError(f"match must be 'name' or 'id', got {match!r}.")
    ids = _layer_ids(layer, id_col)
    if match == "name" and name_col not in layer.columns:
        raise MissingColumnError(
            f"Layer has no name column '{name_col}' (columns: {_cols(layer)}); "
            "pass name_col=..., or match='id' to match unit ids."
        )

    if pilots is None or isinstance(pilots, (str, os.PathLike)):
        table = read_pilots(pilots, unit_col=unit_col, year_col=year_col)
    elif isinstance(pilots, pd.DataFrame):
        _require(pilots, (unit_col, year_col), "pilot table (DataFrame)")
        table = pilots.copy()
        table[year_col] = _parse_years(pilots[year_col], year_col, "pilot table (DataFrame)")
    else:
        raise PilotTableError(
            f"pilots must be a DataFrame, a CSV path or None, got {type(pilots).__name__}."
        )
    table = table.reset_index(drop=True)

    names = layer[name_col] if name_col in layer.columns else None
    if match == "name":
        lookup: _NameLookup | _IdLookup = _NameLookup(ids, layer[name_col])
    else:
        lookup = _IdLookup(ids, names)

    has_entry = entry_col in table.columns
    matches: list[dict] = []
    misses: list[tuple[int, str, str]] = []
    unit_values = table[unit_col].tolist()
    entry_values = table[entry_col].tolist() if has_entry else unit_values
    year_values = table[year_col].tolist()
    for pos, (raw_units, entry, year) in enumerate(
        zip(unit_values, entry_values, year_values)
    ):
        tokens = _split_units(raw_units)
        year = int(year)
        if not tokens:
            misses.append((pos, "", f"no unit listed in '{unit_col}'"))
            continue
        seen: set = set()
        for token in tokens:
            unit_id, how, reason = lookup(token)
            if unit_id is None:
                misses.append((pos, token, reason))
                continue
            if unit_id in seen:
                continue
            seen.add(unit_id)
            matches.append(
                {
                    id_col: unit_id,
                    "name": lookup.name_of(unit_id),
                    "entry": "" if _isna(entry) else str(entry),
                    "year": year,
                    "pilot_row": pos + 1,
                    "matched_by": how,
                }
            )

    sources = _sources_frame(matches, ids, id_col)
    first = sources.groupby(id_col, sort=False)["year"].min() if len(sources) else None
    years = pd.Series(
        pd.array(
            first.reindex(ids).to_numpy() if first is not None else [pd.NA] * len(ids),
            dtype="Int64",
        ),
        index=pd.Index(ids, name=id_col),
        name="first_year",
    )

    unmatched = _unmatched_frame(table, misses)
    if len(unmatched):
        listed = [
            f"row {pos + 1} "
            f"{(table.at[pos, entry_col] if has_entry else table.at[pos, unit_col])!s}"
            + (f" [{token}]" if token else "")
            + f" ({reason})"
            for pos, token, reason in misses[:_MAX_LISTED]
        ]
        more = f" and {len(misses) - _MAX_LISTED} more" if len(misses) > _MAX_LISTED else ""
        warnings.warn(
            f"{len(misses)} pilot-table entr{'y matches' if len(misses) == 1 else 'ies match'} "
            f"no unit of the layer and {'is' if len(misses) == 1 else 'are'} left out: "
            f"{'; '.join(listed)}{more}. "
            "See PilotJoin.unmatched.",
            PilotMatchWarning,
            stacklevel=2,
        )
    return PilotJoin(years=years, unmatched=unmatched, sources=sources, id_col=id_col)


# --------------------------------------------------------------------------
# reading and validation


def _read_csv(path: Path, unit_col: str, year_col: str) -> pd.DataFrame:
    source = f"pilot table '{path}'"
    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise PilotTableError(f"{source} is a spreadsheet; save it as CSV (UTF-8) and pass that.")
    if not path.is_file():
        raise PilotTableReadError(f"{source} does not exist or is not a file.")
    try:
        table = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
    except UnicodeDecodeError as err:
        raise PilotTableError(
            f"{source} is not UTF-8 ({err.reason} at byte {err.start}); "
            "re-save it as CSV UTF-8."
        ) from err
    except pd.errors.EmptyDataError as err:
        raise PilotTableError(f"{source} is empty.") from err
    except pd.errors.ParserError as err:
        raise PilotTableError(f"{source} is not a readable CSV: {err}") from err
    table.columns = [str(c).strip() for c in table.columns]
    _require(table, (unit_col, year_col), source)
    table[year_col] = _parse_years(table[year_col], year_col, source)
    return table


def _require(table: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise MissingColumnError(
            f"{source} has no column {names} (columns: {_cols(table)}); "
            "pass unit_col=... / year_col=... to name yours."
        )


def _parse_years(values: pd.Series, column: str, source: str) -> pd.Series:
    """Integer years, or PilotTableError naming the bad 1-based data rows."""
    out = np.zeros(len(values), dtype="int64")
    bad: list[tuple[int, object]] = []
    for pos, value in enumerate(values.tolist()):
        year = _as_int(value)
        if year is None:
            bad.append((pos + 1, value))
        else:
            out[pos] = year
    if bad:
        rows = ", ".join(str(r) for r, _ in bad[:_MAX_LISTED])
        shown = ", ".join(
            f"row {r}: {'missing' if _isna(v) or str(v).strip() == '' else repr(v)}"
            for r, v in bad[:_MAX_LISTED]
        )
        more = f" (and {len(bad) - _MAX_LISTED} more)" if len(bad) > _MAX_LISTED else ""
        raise PilotTableError(
            f"{source}, column '{column}': missing or non-integer year in data "
            f"row{'s' if len(bad) > 1 else ''} {rows}{more} (1-based, header not "
            f"counted) — {shown}. Give each entry an integer year such as 2014."
        )
    return pd.Series(out, index=values.index, name=values.name)


def _as_int(value: object) -> int | None:
    if isinstance(value, (bool, np.bool_)) or _isna(value):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):
        return int(float(text))
    return None


def _isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cols(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns)


def _layer_ids(layer: pd.DataFrame, id_col: str) -> list:
    if not isinstance(layer, pd.DataFrame):
        raise PilotTableError(f"layer must be a (Geo)DataFrame, got {type(layer).__name__}.")
    validate_ids(layer, id_col, where="the layer")
    return layer[id_col].tolist()


def _split_units(value: object) -> list[str]:
    if _isna(value):
        return []
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return [t.strip() for t in _SPLIT.split(str(value)) if t.strip()]


# --------------------------------------------------------------------------
# matching


def _key(text: object) -> str:
    """Exact key: NFKC form with whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


def _normalise(text: object) -> str:
    """Tolerant key: exact key without its administrative suffix."""
    name = _key(text)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            if suffix in ("自治州", "自治县"):
                while True:
                    shorter = _ETHNIC_TAIL.sub("", base)
                    if shorter == base or not shorter:
                        break
                    base = shorter
            return base
    return name


class _NameLookup:
    """Unit lookup by name: exact first, then normalised, never ambiguous."""

    def __init__(self, ids: list, names: pd.Series) -> None:
        self.names: dict = {}
        self.exact: dict[str, list] = {}
        self.loose: dict[str, list] = {}
        for unit_id, name in zip(ids, names.tolist()):
            if _isna(name) or not str(name).strip():
                continue
            self.names[unit_id] = str(name)
            self.exact.setdefault(_key(name), []).append(unit_id)
            self.loose.setdefault(_normalise(name), []).append(unit_id)

    def name_of(self, unit_id: object) -> str:
        return self.names.get(unit_id, "")

    def __call__(self, token: str) -> tuple[object | None, str, str]:
        hits = self.exact.get(_key(token), [])
        how = "exact"
        if not hits:
            hits = self.loose.get(_normalise(token), [])
            how = "normalised"
        if len(hits) == 1:
            return hits[0], how, ""
        if len(hits) > 1:
            return None, how, "ambiguous: " + ", ".join(str(h) for h in hits)
        return None, how, f"name not in layer: {token}"


class _IdLookup:
    """Unit lookup by id, comparing ids as text."""

    def __init__(self, ids: list, names: pd.Series | None = None) -> None:
        self.ids: dict[str, object] = {}
        for unit_id in ids:
            self.ids[self._text(unit_id)] = unit_id
        self.names: dict = {}
        if names is not None:
            for unit_id, name in zip(ids, names.tolist()):
                if not _isna(name):
                    self.names[unit_id] = str(name)

    @staticmethod
    def _text(value: object) -> str:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        return _key(value)

    def name_of(self, unit_id: object) -> str:
        return self.names.get(unit_id, "")

    def __call__(self, token: str) -> tuple[object | None, str, str]:
        unit_id = self.ids.get(self._text(token))
        if unit_id is None and re.fullmatch(r"[+-]?\d+\.0*", token.strip()):
            unit_id = self.ids.get(str(int(float(token))))
        if unit_id is None:
            return None, "id", f"id not in layer: {token}"
        return unit_id, "id", ""


def _sources_frame(matches: list[dict], ids: list, id_col: str) -> pd.DataFrame:
    columns = [id_col, "name", "entry", "year", "pilot_row", "matched_by"]
    if not matches:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return frame.astype({"year": "int64", "pilot_row": "int64"})
    frame = pd.DataFrame(matches, columns=columns)
    order = {unit_id: i for i, unit_id in enumerate(ids)}
    frame["_order"] = frame[id_col].map(order)
    frame = frame.sort_values(["_order", "year", "pilot_row"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def _unmatched_frame(table: pd.DataFrame, misses: list[tuple[int, str, str]]) -> pd.DataFrame:
    extra = {"pilot_row": "int64", "unmatched_unit": object, "reason": object}
    if not misses:
        frame = table.iloc[0:0].copy()
        for col, dtype in extra.items():
            frame[col] = pd.Series([], dtype=dtype)
        return frame.reset_index(drop=True)
    positions = [pos for pos, _, _ in misses]
    frame = table.iloc[positions].copy().reset_index(drop=True)
    frame["pilot_row"] = np.array(positions, dtype="int64") + 1
    frame["unmatched_unit"] = [token for _, token, _ in misses]
    frame["reason"] = [reason for _, _, reason in misses]
    return frame
