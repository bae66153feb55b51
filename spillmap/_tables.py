"""Reading user tables (panels) by file suffix: CSV, Parquet, Stata .dta."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from spillmap.errors import PanelShapeError

__all__ = ["read_table", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".dta")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a panel from CSV (UTF-8), Parquet or Stata ``.dta``, chosen by suffix."""
    source = Path(path)
    if not source.is_file():
        raise PanelShapeError(f"Panel file '{source}' does not exist; check the path.")
    suffix = source.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(source, encoding="utf-8-sig")
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(source)
        if suffix == ".dta":
            return pd.read_stata(source)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise PanelShapeError(f"Could not read the panel '{source}': {err}") from None
    raise PanelShapeError(
        f"Cannot tell the format of '{source}'; use one of {', '.join(TABLE_SUFFIXES)}."
    )
