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

import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from spillmap._files import atomic_path
from spillmap._json import SIGNIFICANT_DIGITS
from spillmap.errors import PanelShapeError, SpillmapWarning

__all__ = ["read_table", "numeric_columns", "TABLE_SUFFIXES", "CSV_FLOAT", "SYNTHETIC_COLUMN", "SYNTHETIC_CELL", "write_table",
           "write_csv", "write_parquet", "labelled", "SIGNIFICANT_DIGITS"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".dta")
#: Written tables carry 10 significant digits: far beyond any estimate's precision, and the same bytes
#: from run to run even where threads round the 16th digit differently.
CSV_FLOAT = f"%.{SIGNIFICANT_DIGITS}g"
#: Last column of every CSV/Parquet table of a synthetic run.
SYNTHETIC_COLUMN = "SYNTHETIC"
#: What each of its cells says.
SYNTHETIC_CELL = "simulated outcome, not observed"


def read_table(path: str | os.PathLike[str], *, text_columns: Sequence[str] = (),
               what: str = "panel") -> pd.DataFrame:
    """Read a table from CSV, Parquet or Stata ``.dta``, chosen by suffix.

    ``text_columns`` (id columns) are read as text always, so ids like ``"020100"`` keep their leading
    zeros; a Parquet or Stata file storing them as numbers has them turned into text (``110000``, not
    ``110000.0``), with a warning when their digit counts differ (zeros may have been lost on export).
    A CSV is read as UTF-8, or as GB18030 when it is not UTF-8 but decodes so (Excel on Chinese
    Windows), with a warning; ``;`` or tab separators are recognised; rows with every cell empty (Excel's
    trailing rows) are dropped, the others keep their index so ``index + 1`` is the row a spreadsheet
    user counts below the header. Stata value labels are not applied: columns keep the stored numbers.
    Every problem is a :class:`PanelShapeError` naming the file (``what`` says what it is, e.g. "panel").
    """
    source = Path(path)
    if not source.is_file():
        raise PanelShapeError(f"The {what} file '{source}' does not exist; check the path.")
    suffix = source.suffix.lower()
    if suffix in _SPREADSHEETS:
        raise PanelShapeError(
            f"The {what} '{source}' is a spreadsheet; save it as CSV (Excel: File → Save As → "
            "'CSV UTF-8 (Comma delimited)') and pass the .csv file."
        )
    if suffix not in TABLE_SUFFIXES:
        raise PanelShapeError(
            f"Cannot tell the format of the {what} '{source}' from its suffix '{source.suffix}'; "
            f"save it as one of {', '.join(TABLE_SUFFIXES)}."
        )
    try:
        if suffix == ".csv":
            frame = _read_csv(source, text_columns, what)
        elif suffix == ".dta":
            frame = pd.read_stata(source, convert_categoricals=False)
        else:
            frame = pd.read_parquet(source)
    except PanelShapeError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, ImportError) as err:
        raise PanelShapeError(
            f"Could not read the {what} '{source}' as {_FORMAT_NAMES[suffix]}: {err}. "
            f"Open it in the program that wrote it and save it again as {_FORMAT_NAMES[suffix]}."
        ) from None
    if len(frame.columns) == 0:
        raise PanelShapeError(f"The {what} '{source}' is empty: no header and no rows; export the data again.")
    if len(frame) == 0:
        cols = ", ".join(map(str, frame.columns[:8])) + (", …" if len(frame.columns) > 8 else "")
        raise PanelShapeError(
            f"The {what} '{source}' has a header ({cols}) but no data rows; export the data again "
            "with its rows (in Excel, check the sheet saved is the one holding the data)."
        )
    for col in text_columns:
        if col in frame.columns:
            frame[col] = _as_text(frame[col], col, source, suffix)
    return frame


_SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")
_FORMAT_NAMES = {".csv": "CSV (UTF-8)", ".parquet": "Parquet", ".pq": "Parquet", ".dta": "Stata .dta"}


def _read_csv(source: Path, text_columns: Sequence[str], what: str) -> pd.DataFrame:
    raw = source.read_bytes()
    if not raw.strip():
        raise PanelShapeError(f"The {what} '{source}' is empty (0 rows, no header); export the data again.")
    text = _decode(raw, source, what)
    first = text.split("\n", 1)[0]
    sep = ","
    if "," not in first:
        sep = next((s for s in (";", "\t") if s in first), ",")
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype={c: str for c in text_columns}, skipinitialspace=True)
    frame = frame.dropna(how="all")
    frame.attrs["source"] = str(source)
    return frame


def _decode(raw: bytes, source: Path, what: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        position = err.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        line = raw[:position].count(b"\n") + 1
        raise PanelShapeError(
            f"The {what} '{source}' is not UTF-8 text (byte 0x{raw[position]:02x} on line {line} of the file); "
            "save it as 'CSV UTF-8' (Excel: File → Save As) and pass that file."
        ) from None
    warnings.warn(
        f"The {what} '{source}' is not UTF-8; read it as GB18030 (Chinese Windows). Save it as 'CSV UTF-8' "
        "to be sure every name reads right.", SpillmapWarning, stacklevel=4,
    )
    return text


def _as_text(values: pd.Series, col: str, source: Path, suffix: str) -> pd.Series:
    """Ids as text: numbers stored as such become their digits (110000, not 110000.0)."""
    if not pd.api.types.is_numeric_dtype(values):
        return values.astype("string").str.strip().astype(object).where(values.notna(), None)
    finite = values.dropna()
    whole = bool(len(finite)) and bool((finite % 1 == 0).all())
    text = values.map(lambda v: None if pd.isna(v) else (str(int(v)) if whole else str(v)))
    lengths = text.dropna().str.len()
    # codes (4+ digits) of different lengths: leading zeros were probably lost (020100 → 20100); small
    # serial numbers such as state ids 1..51 are left alone
    if (suffix != ".csv" and whole and len(lengths) and lengths.nunique() > 1 and lengths.max() >= 4
            and (finite >= 0).all()):
        warnings.warn(
            f"'{source}' stores the ids in column '{col}' as numbers ({lengths.min()} to {lengths.max()} digits, "
            f"e.g. {text.dropna().iloc[0]}); they are compared as text, so ids written elsewhere with leading "
            "zeros (e.g. '0" + str(text.dropna().iloc[0]) + "') will not match. Store them as text in that "
            "file (Stata: tostring, format(%0Nf))",
            SpillmapWarning, stacklevel=3,
        )
    return text.astype(object)


def numeric_columns(frame: pd.DataFrame, columns: Sequence[str], source: str, names: Mapping[str, str] | None = None,
                    ) -> pd.DataFrame:
    """``frame`` with ``columns`` as numbers; text in any of them is one error naming the column and rows.

    Rows are counted as a spreadsheet user counts them: 1 is the first data row below the header
    (the frame's index + 1, as :func:`read_table` leaves it). ``names`` maps a column to how the user
    chose it (``"--y"``, ``"[panel] outcome"``) for the message.
    """
    out = frame
    for col in dict.fromkeys(columns):
        if col not in frame.columns or pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            continue
        values = frame[col]
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna() & (values.astype(str).str.strip() != "")
        if bad.any():
            rows = [int(i) + 1 for i in frame.index[bad.to_numpy()][:5]]
            cells = [str(v) for v in values[bad].head(5)]
            shown = ", ".join(f"row {r} ({c!r})" for r, c in zip(rows, cells))
            more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
            chosen = f" ({names[col]})" if names and col in names else ""
            raise PanelShapeError(
                f"Column '{col}'{chosen} of {source} must hold numbers but has text in {int(bad.sum())} "
                f"row(s): {shown}{more} (rows counted from 1 below the header). {_numeric_fix(cells)}"
            )
        if out is frame:
            out = frame.copy()
        out[col] = numbers
    return out


def _numeric_fix(cells: Sequence[str]) -> str:
    if any(re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", c.strip()) for c in cells):
        return ("Remove the thousands separators (Excel: Format Cells → Number, untick 'Use 1000 Separator') "
                "and save again.")
    if any(re.fullmatch(r"-?\d+,\d+", c.strip()) for c in cells):
        return "Write decimals with a point ('1.5', not '1,5') and save again."
    return "Replace those cells with numbers (or leave them empty and drop the rows) and save again."


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
