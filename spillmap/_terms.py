"""Controls written as formula terms (``np.log(gdp)``, ``C(region)``, ``x1:x2``, ``I(x**2)``) for the DID chain.

Every model of the chain (pyfixest fits, the placebo's demeaning kernel, PSM, mediation) reads plain
numeric columns, so a term is evaluated once, by formulaic, when the panel is read: its design columns
are added to a copy of the panel under column-safe names, and the tables print the formulaic names
(``np.log(gdp)``, ``C(region)[T.west]``) through the returned labels. Bare column names pass through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spillmap.errors import PanelShapeError

__all__ = ["split_controls", "expand_terms"]


def split_controls(controls: Sequence[str], columns: Sequence[object], *, y: str, id_col: str,
                   time_col: str) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Bare column names, and each formula term with the data columns it reads."""
    from spillmap.models.panel import parse_panel_formula

    have = set(map(str, columns))
    bare, terms = [], {}
    for c in controls:
        if c in have:
            bare.append(c)
            continue
        spec = parse_panel_formula(f"{y} ~ {c}", id_col=id_col, time_col=time_col)
        if spec.reads_bare(columns):  # a plain name that is not a column: the caller's missing-column message
            bare.append(c)
            continue
        terms[c] = tuple(v for v in spec.columns_in(columns) if v != y)
    return bare, terms


def _safe(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "term"
    if base[0].isdigit():
        base = "t_" + base
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def expand_terms(frame: pd.DataFrame, terms: Sequence[str], *, source: str, key: str,
                 id_col: str, time_col: str) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """A copy of ``frame`` with each term's design columns added; their names and printed labels.

    Categorical terms drop their first level (the model has fixed effects, no intercept). A term that
    cannot be evaluated, or gives missing or infinite values (log of 0), is one :class:`PanelShapeError`
    naming the term, ``key`` (how the user set the controls) and the first rows.
    """
    import formulaic

    if not terms:
        return frame, [], {}
    data = frame.reset_index(drop=True)
    out = frame.copy()
    taken = set(map(str, frame.columns))
    names, labels = [], {}
    for term in terms:
        try:
            with np.errstate(all="ignore"):  # log of 0 and the like: reported below with the rows
                design = formulaic.model_matrix(f"1 + {term}", data, na_action="ignore")
        except Exception as err:  # noqa: BLE001 - formulaic raises many types; one message for each
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise PanelShapeError(f"Cannot evaluate the control term '{term}' ({key}) on {source}: {reason}. "
                                  "Write columns as they are named, transforms as np.log(x), categoricals as C(x).") from None
        design = pd.DataFrame(np.asarray(design, dtype=float), columns=list(design.columns))
        design = design.drop(columns=[c for c in design.columns if c == "Intercept"])
        bad = ~np.isfinite(design.to_numpy()).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)[:5]
            # the file's row below the header, as read_table keeps it (index + 1)
            where = ", ".join(f"row {_row(frame.index[r])} ({data[id_col].iloc[r]}, {data[time_col].iloc[r]})"
                              for r in rows)
            n = int(bad.sum())
            raise PanelShapeError(
                f"The control term '{term}' ({key}) is missing or infinite in {n} row{'s' if n > 1 else ''} of {source}, "
                f"e.g. {where}; transform differently (np.log1p for zeros) or drop those rows.")
        for col in design.columns:
            name = _safe(str(col), taken)
            out[name] = design[col].to_numpy()
            names.append(name)
            labels[name] = str(col)
    return out, names, labels


def _row(label: object) -> object:
    return label + 1 if isinstance(label, (int, np.integer)) else label
