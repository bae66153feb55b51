"""Reading user tables (panels) and writing result tables, labelled when the data are synthetic.

Reading chooses the format by suffix: CSV, Parquet, Stata ``.dta``.

Writing: every number at 10 significant digits (:data:`CSV_FLOAT`), every
file atomically. A table from a synthetic run carries the label in a form
that survives parsing or compiling it:

* CSV and Parquet: a last column ``SYNTHETIC`` whose every cell reads
  :data:`SYNTHETIC_CELL` (Parquet also stores the note in its schema
  metadata, key ``spillmap.synthetic``);
* Markdown: a ``Table: <note>`` caption line under the table (pandoc's caption syntax);
* LaTeX: a ``table`` float with ``\\caption{<note>}``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from spillmap._files import atomic_path
from spillmap._json import SIGNIFICANT_DIGITS
from spillmap.errors import PanelShapeError

__all__ = ["read_table", "TABLE_SUFFIXES", "CSV_FLOAT", "SYNTHETIC_COLUMN", "SYNTHETIC_CELL", "write_table",
           "write_csv", "write_parquet", "labelled", "SIGNIFICANT_DIGITS"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".dta")
#: Written tables carry 10 significant digits: far beyond any estimate's precision, and the same bytes
#: from run to run even where threads round the 16th digit differently.
CSV_FLOAT = f"%.{SIGNIFICANT_DIGITS}g"
#: Last column of every CSV/Parquet table of a synthetic run.
SYNTHETIC_COLUMN = "SYNTHETIC"
#: What each of its cells says.
SYNTHETIC_CELL = "simulated outcome, not observed"


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


def labelled(frame: pd.DataFrame, note: str | None) -> pd.DataFrame:
    """``frame`` with the ``SYNTHETIC`` column appended when ``note`` is given (a copy; ``frame`` is not changed)."""
    if not note:
        return frame
    return frame.assign(**{SYNTHETIC_COLUMN: SYNTHETIC_CELL})


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, note: str | None = None) -> Path:
    """Write ``frame`` as UTF-8 CSV with 10 significant digits, labelled when ``note`` is given."""
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(labelled(frame, note).to_csv(index=False, float_format=CSV_FLOAT), encoding="utf-8")
    return target


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike[str], *, note: str | None = None) -> Path:
    """Write ``frame`` as Parquet, labelled (column and schema metadata) when ``note`` is given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(path)
    table = pa.Table.from_pandas(labelled(frame, note), preserve_index=False)
    if note:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"spillmap.synthetic": note.encode()})
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    return target


def write_table(
    frame: pd.DataFrame, base: Path, *, note: str | None = None, digits: int = 6, csv: pd.DataFrame | None = None,
) -> list[Path]:
    """Write ``frame`` as CSV, Markdown and LaTeX beside ``base`` (suffix replaced), atomically.

    ``csv`` puts a fuller table (e.g. every column) in the CSV than in the printed formats;
    ``note`` (the synthetic-data note) labels every file as the module docstring says.
    """
    from spillmap.models._format import frame_to_markdown

    md = frame_to_markdown(frame, digits) + "\n"
    caption = {"caption": _latex_escape(note), "position": "htbp"} if note else {}
    tex = frame.to_latex(index=False, float_format=f"%.{digits}f", **caption)
    if note:
        md += f"\nTable: {note}\n"
    out = [write_csv(frame if csv is None else csv, base.with_suffix(".csv"), note=note)]
    for suffix, text in ((".md", md), (".tex", tex)):
        target = base.with_suffix(suffix)
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        out.append(target)
    return out


def _latex_escape(text: str) -> str:
    specials = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return re.sub(r"[\\&%$#_{}~^]", lambda m: specials[m.group()], text)
