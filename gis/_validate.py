"""Checks every boundary layer passes before weights are built from it."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spillmap.errors import (
    DuplicateIdError,
    GeometryError,
    GeometryRepairWarning,
    MissingColumnError,
    MissingIdError,
)

from ._ids import (  # re-exported: the helpers live in the light _ids
    MAX_LISTED,
    _plain,
    describe_groups,
    format_ids,
)
from ._options import LIBRARY_OPTIONS, option_fix

__all__ = ["validate_layer", "validate_ids", "require_columns", "format_ids", "describe_groups"]

_POLYGONAL = {"Polygon", "MultiPolygon"}


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str, *, fix: str = "(CLI: --id)") -> None:
    """Raise :class:`MissingColumnError` naming the absent columns and those present.

    ``fix`` says how to name another column (``"with --layer-id"``, ``"with [layer] id"``).
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
        same_case = [str(c) for c in present if str(c).lower() == str(missing[0]).lower()]
        close = same_case or difflib.get_close_matches(str(missing[0]), list(map(str, present)), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise MissingColumnError(
            f"{where} has no column {format_ids(missing)}{hint}; its columns are: "
            f"{', '.join(map(str, present)) or 'none'}. Name the right one {fix}."
        )


def validate_ids(frame: pd.DataFrame, id_col: str, *, where: str = "the layer", fix: str = "(CLI: --id)") -> None:
    """Check that ``id_col`` exists and holds one unique, non-empty id per row.

    Raises
    ------
    MissingColumnError, MissingIdError, DuplicateIdError
        Naming the column, the empty rows (1-based) or the repeated ids and
        their rows.
    """
    require_columns(frame, [id_col], where, fix=fix)
    ids = frame[id_col]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        rows = (np.flatnonzero(blank.to_numpy()) + 1).tolist()
        raise MissingIdError(
            f"{where}: column '{id_col}' is empty on {len(rows)} row(s) "
            f"(rows {format_ids(rows)}, 1-based in file order). Fill in the ids "
            "or choose another id column."
        )
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        groups = duplicated.groupby(duplicated, sort=False).groups
        listed = "; ".join(
            f"{_plain(key)!r} on rows {', '.join(str(r + 1) for r in np.flatnonzero(ids.to_numpy() == key))}"
            for key in list(groups)[:MAX_LISTED]
        )
        more = f" and {len(groups) - MAX_LISTED} more" if len(groups) > MAX_LISTED else ""
        raise DuplicateIdError(
            f"{where}: column '{id_col}' must be unique but {len(groups)} id(s) repeat: "
            f"{listed}{more}. Dissolve the parts (e.g. QGIS 'Dissolve' by "
            f"'{id_col}') or choose a unique id column."
        )


def validate_layer(
    frame: gpd.GeoDataFrame,
    id_col: str,
    *,
    repair: bool = True,
    where: str = "the layer",
    options: Mapping[str, str | None] | None = None,
) -> gpd.GeoDataFrame:
    """Check ids and polygon geometries; return a copy with invalid ones repaired.

    Raises
    ------
    MissingColumnError
        ``id_col`` is not a column.
    MissingIdError
        Some rows have no id (rows are listed, 1-based in file order).
    DuplicateIdError
        Some ids occur more than once (ids and their rows are listed).
    GeometryError
        Missing or empty geometries, or non-polygon geometries (listed by id).
    """

    id_fix = f"with {option_fix(options, 'id')}" if options else "(CLI: --id)"
    validate_ids(frame, id_col, where=where, fix=id_fix)
    ids = frame[id_col]

    geoms = frame.geometry.array
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise GeometryError(
            f"{where}: {int(missing.sum())} unit(s) have no or an empty geometry: "
            f"{format_ids(ids[missing].tolist())}. Remove them or fix their boundaries."
        )
    seats = option_fix(options, "points")
    seats = f"{seats}=" if seats == LIBRARY_OPTIONS["points"] else seats
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, [3, 6])
    if not polygonal.all():
        found = sorted(set(frame.geometry[~polygonal].geom_type))
        raise GeometryError(
            f"{where}: expected Polygon/MultiPolygon boundaries but found "
            f"{', '.join(found)} for {format_ids(ids[~polygonal].tolist())}. "
            "Use a boundary (polygon) layer"
            + (f"; city seats belong in {seats}." if seats
               else " (spillmap measures distances between the units' centroids).")
        )

    out = frame.copy()
    invalid = ~shapely.is_valid(geoms)
    out.attrs["repaired_ids"] = []
    if invalid.any():
        bad_ids = ids[invalid].tolist()
        if not repair:
            raise GeometryError(
                f"{where}: invalid geometries for {format_ids(bad_ids)} "
                f"({shapely.is_valid_reason(geoms[invalid])[0]}); pass repair=True."
            )
        fixed = _polygonal(shapely.make_valid(geoms[invalid]))
        if shapely.is_empty(fixed).any():
            lost = np.asarray(bad_ids, dtype=object)[shapely.is_empty(fixed)].tolist()
            raise GeometryError(
                f"{where}: the geometries of {format_ids(lost)} enclose no area (collapsed to a line or a "
                "point) and cannot be repaired; remove those features or redraw their boundaries."
            )
        out.loc[invalid, out.geometry.name] = fixed
        out.attrs["repaired_ids"] = [_plain(i) for i in bad_ids]
        warnings.warn(
            f"{where}: repaired {len(bad_ids)} invalid geometr{'y' if len(bad_ids) == 1 else 'ies'} "
            f"with shapely.make_valid: {format_ids(bad_ids)}.",
            GeometryRepairWarning,
            stacklevel=3,
        )
    return out


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of repaired geometries as (Multi)Polygons."""
    result = np.empty(len(geoms), dtype=object)
    for k, geom in enumerate(geoms):
        parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
        flat = [q for p in parts for q in shapely.get_parts(p)]
        result[k] = (
            flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat) if flat else shapely.Polygon()
        )
    return result
