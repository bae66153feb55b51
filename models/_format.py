"""Result tables as text (Markdown pipe tables), shared by every result object."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["frame_to_markdown", "TableExport"]


def frame_to_markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """Plain pipe table (no optional dependency on ``tabulate``)."""
    def cell(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


class TableExport:
    """``to_markdown`` and ``to_latex`` of a result's :meth:`to_frame`, for every result object.

    ``_LATEX_NA`` is what a missing value prints as in LaTeX (pandas' ``NaN`` unless a class says otherwise).
    """

    _LATEX_NA = "NaN"

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - defined by each result
        raise NotImplementedError

    def to_markdown(self, digits: int = 4) -> str:
        """Plain pipe table of :meth:`to_frame` (no ``tabulate`` needed)."""
        return frame_to_markdown(self.to_frame(), digits)

    def to_latex(self, digits: int = 4) -> str:
        """LaTeX tabular of :meth:`to_frame` (``DataFrame.to_latex``)."""
        return self.to_frame().to_latex(index=False, float_format=f"%.{digits}f", na_rep=self._LATEX_NA)
