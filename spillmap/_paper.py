"""Publication tables: the study's estimates in the form papers print.

One column per specification, coefficients with significance stars and the
standard error in parentheses below, fixed-effect rows ("Yes"/"No"), then N,
R² or log-likelihood, and notes under the table — written as Markdown, LaTeX,
Word (``.docx``) and HTML. The layout and the LaTeX / Word / HTML rendering
are maketables' (the table library pyfixest's ``etable`` uses); spillmap
supplies each column through maketables' plug-in format (:class:`Column`),
so spatial and DID estimates sit in one table, and adds what maketables does
not have: a Markdown rendering (pipe table, the standard error on its own
row), byte-identical files for the same estimates (a fixed HTML id, fixed zip
dates in the ``.docx``) and the synthetic-data label in every format.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from spillmap._files import atomic_path
from spillmap._pubtable import STAR_NOTE
from spillmap.config import TABLE_FORMATS

__all__ = ["PAPER_FORMATS", "Column", "PaperTable", "column"]

#: Every format a publication table is written in, by default (``[output] tables``' choices).
PAPER_FORMATS = TABLE_FORMATS
#: Bottom rows maketables knows, with the labels papers print.
STAT_LABELS = {"N": "Observations", "n_units": "Units", "n_clusters": "Clusters", "r2_within": "Within R²",
               "ll": "Log-likelihood", "n_draws": "Draws", "n_matched": "Matched controls"}
FE_LABELS = {"unit": "Unit fixed effects", "period": "Period fixed effects"}
#: A docx is a zip; its members carry this date so that the same table gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Column:
    """One column of a publication table, in maketables' plug-in format.

    ``coefs`` is indexed by term with columns ``b``, ``se``, ``t``, ``p``; ``fixef`` names the fixed
    effects as ``"unit+period"`` (see :data:`FE_LABELS`); ``stats`` are the bottom rows (keys of
    :data:`STAT_LABELS`).
    """

    coefs: pd.DataFrame
    depvar: str
    fixef: str = ""
    stats: Mapping[str, object] = field(default_factory=dict)

    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:  # noqa: PLW3201 - maketables' plug-in name
        return self.coefs.copy()

    def __maketables_stat__(self, key: str) -> object:  # noqa: PLW3201
        value = self.stats.get(key)
        return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else value

    @property
    def __maketables_depvar__(self) -> str:  # noqa: PLW3201
        return self.depvar

    @property
    def __maketables_fixef_string__(self) -> str | None:  # noqa: PLW3201
        return self.fixef or None


def column(table: pd.DataFrame, depvar: str, *, terms: Sequence[str] | None = None, fixef: str = "unit+period",
           stats: Mapping[str, object] | None = None, rename: Mapping[str, str] | None = None) -> Column:
    """A :class:`Column` from a tidy table indexed by term (``estimate``, ``se``, ``p_value``; ``t`` optional).

    ``terms`` keeps and orders rows (default: all); ``rename`` relabels terms (e.g. event times).
    """
    frame = table if terms is None else table.loc[[t for t in terms if t in table.index]]
    est, se = frame["estimate"].astype(float), frame["se"].astype(float)
    t = frame["t"].astype(float) if "t" in frame else est / se.where(se > 0)
    coefs = pd.DataFrame({"b": est.to_numpy(), "se": se.to_numpy(), "t": t.to_numpy(),
                          "p": frame["p_value"].astype(float).to_numpy()},
                         index=pd.Index([str((rename or {}).get(i, i)) for i in frame.index], name="Coefficient"))
    return Column(coefs=coefs, depvar=depvar, fixef=fixef, stats=dict(stats or {}))


def _etable_class():  # noqa: ANN202 - a maketables subclass, made on first use (maketables imports great_tables)
    import maketables

    class _PaperETable(maketables.ETable):
        DEFAULT_FE_MARKER = ("Yes", "No")  # noqa: RUF012 - maketables' class default

    return _PaperETable


@dataclass(frozen=True)
class PaperTable:
    """A table in the form papers print: specification columns, stars, SEs in parentheses, FE rows, N."""

    name: str
    title: str
    columns: tuple[Column, ...]
    heads: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""
    stats: tuple[str, ...] = ("N",)

    def caption(self, note: str | None = None) -> str:
        """The title, led by the synthetic-data note when there is one."""
        return f"{note} {self.title}" if note else self.title

    @property
    def full_notes(self) -> str:
        """The table's notes, then how standard errors and stars read."""
        return " ".join(p for p in (self.notes, "Standard errors in parentheses.", f"{STAR_NOTE}.") if p)

    def etable(self, note: str | None = None, *, latex: bool = False):  # noqa: ANN201 - maketables.ETable
        """The maketables ``ETable`` of this table (``.make("docx")``, ``.make("html")``, notebook display);
        ``latex=True`` escapes the caption and notes for ``.make("tex")`` (maketables passes them as written)."""
        heads = list(self.heads) if self.heads else None
        text = _latex_safe if latex else str
        return _etable_class()(
            list(self.columns), model_heads=heads, labels=dict(self.labels), felabels=FE_LABELS, feorder=["unit", "period"],
            model_stats=[s for s in self.stats if any(c.__maketables_stat__(s) is not None for c in self.columns)],
            model_stats_labels=STAT_LABELS, notes=text(self.full_notes), caption=text(self.caption(note)),
            signif_code=[0.01, 0.05, 0.1], coef_fmt="b:.3f* \n (se:.3f)",
        )

    def to_markdown(self, note: str | None = None, *, table=None) -> str:  # noqa: ANN001 - maketables.ETable
        """Pipe table: one header row, each estimate's standard error on the row below, notes and caption
        (``table``: this table's :meth:`etable`, when the caller has it already)."""
        frame = (table if table is not None else self.etable(note)).df
        names = [f"({i + 1})" for i in range(frame.shape[1])]
        lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        if self.heads:
            lines.append("| | " + " | ".join(self.heads) + " |")
        lines.append("| | " + " | ".join(_depvars(frame)) + " |")
        for (_, label), row in frame.iterrows():
            parts = [str(v).split("\n") for v in row]
            depth = max(len(p) for p in parts)
            for k in range(depth):
                cells = [p[k].strip() if k < len(p) else "" for p in parts]
                lines.append(f"| {_md(str(label)) if k == 0 else ''} | " + " | ".join(_md(c) for c in cells) + " |")
        return "\n".join([*lines, "", self.full_notes, "", f"Table: {self.caption(note)}", ""])

    def write(self, folder: Path, *, note: str | None = None, formats: Sequence[str] = PAPER_FORMATS) -> list[Path]:
        """Write ``<folder>/<name>.<format>`` for each format, atomically; returns the paths."""
        table = self.etable(note)
        written = []
        for fmt in formats:
            target = Path(folder) / f"{self.name}.{fmt}"
            with atomic_path(target) as tmp:
                if fmt == "md":
                    tmp.write_text(self.to_markdown(note, table=table), encoding="utf-8")
                elif fmt == "tex":
                    tmp.write_text(self.etable(note, latex=True).make("tex"), encoding="utf-8")
                elif fmt == "docx":
                    tmp.write_bytes(_docx_bytes(table.make("docx")))
                elif fmt == "html":
                    tmp.write_text(_html_page(table.make("html"), self.name, self.caption(note)), encoding="utf-8")
                else:
                    raise ValueError(f"unknown table format {fmt!r}; choose from {', '.join(PAPER_FORMATS)}")
            written.append(target)
        return written


def _depvars(frame: pd.DataFrame) -> list[str]:
    cols = frame.columns
    return [str(c[0]) if isinstance(c, tuple) else str(c) for c in cols]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _latex_safe(text: str) -> str:
    """maketables passes captions and notes to LaTeX as written: escape what LaTeX reads as commands."""
    specials = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_"}
    return re.sub(r"[&%$#_]", lambda m: specials[m.group()], text)


def _docx_bytes(document) -> bytes:  # noqa: ANN001 - python-docx Document
    """The document's bytes with fixed core-property and zip dates: the same table gives the same file."""
    from datetime import datetime, timezone

    fixed = datetime(2000, 1, 1, tzinfo=timezone.utc)
    props = document.core_properties
    props.created = props.modified = fixed
    props.last_printed = fixed
    props.revision = 1
    raw = io.BytesIO()
    document.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


def _html_page(fragment: str, name: str, title: str) -> str:
    """A standalone page around great-tables' fragment, its random element id replaced by the table's name."""
    found = re.search(r'<div id="([a-z]{10})"', fragment)
    if found:
        fragment = fragment.replace(found.group(1), "spillmap-" + re.sub(r"[^A-Za-z0-9_-]", "-", name))
    from html import escape

    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n</head>\n<body>\n{fragment}\n</body>\n</html>\n")
