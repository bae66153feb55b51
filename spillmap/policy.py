"""Glue for ``spillmap did`` and ``spillmap sdid``: inputs, the chain of checks, written outputs.

Library code only: it returns what it wrote and a headline dict; the CLI
prints. Every file is written atomically.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spillmap._files import atomic_path, final_paths, staged_output
from spillmap._json import dumps
from spillmap._study_tables import (
    _slug,  # file-name part of a column name, one rule for every table
)
from spillmap._tables import CSV_FLOAT, write_csv, write_table
from spillmap.errors import (
    MissingColumnError,
    MissingIdError,
    PanelShapeError,
    PilotTableError,
    SpillmapError,
    SpillmapWarning,
)

if TYPE_CHECKING:
    from spillmap._sample import SampleSpec

__all__ = ["CSV_FLOAT", "PolicyInputs", "add_entropy_index", "balance_inputs", "load_policy_inputs", "run_did",
           "run_sdid", "write_balance_report", "write_table", "write_unmatched_pilots"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PolicyInputs:
    """A treated panel ready for the DID chain, with where it came from."""

    data: pd.DataFrame = field(repr=False)
    y: str
    id_col: str
    time_col: str
    controls: tuple[str, ...]
    synthetic: dict | None
    report: dict
    layer: object = field(default=None, repr=False)
    name_col: str | None = None
    #: Pilot-table entries that matched no unit (``PilotJoin.unmatched``), or None without a pilot table.
    unmatched_pilots: pd.DataFrame | None = field(default=None, repr=False)
    #: How the spatial models' panel was balanced (``--balance``), or None when it was not.
    balance: str | None = None
    #: What balancing dropped or filled (:func:`spillmap._balance.balance_panel`), written as ``balance.csv``.
    balance_report: pd.DataFrame | None = field(default=None, repr=False)
    #: What the alternative sample removed (:mod:`spillmap._sample`), written as ``sample.csv``; None without one.
    sample_report: pd.DataFrame | None = field(default=None, repr=False)
    #: The one line saying how many units and years the sample removed (None without a sample).
    sample_summary: str | None = None
    #: Control column → printed name, for controls given as formula terms (``np.log(gdp)``, ``C(region)``).
    labels: dict = field(default_factory=dict)


def load_policy_inputs(
    panel: str | os.PathLike[str] | pd.DataFrame | None,
    *,
    y: str | None,
    id_col: str | None,
    time_col: str | None,
    controls: Sequence[str] = (),
    pilots: str | os.PathLike[str] | None = None,
    treated_col: str | None = None,
    first_year_col: str | None = None,
    seed: int = 0,
    names: Mapping[str, str] | None = None,
    balanced: bool = False,
    sample: SampleSpec | None = None,
    pilots_id: str | None = None,
    pilots_year: str | None = None,
) -> PolicyInputs:
    """Read a user's panel (or build the labelled synthetic demo panel) and assign treatment.

    With no ``panel``, the shipped China layer and Broadband China pilot
    table drive a synthetic panel with known effects (see
    :mod:`spillmap.synthetic`). A user's panel takes treatment from
    ``treated_col`` (0/1), ``first_year_col``, or a pilot table (default:
    the shipped one) joined to the shipped layer, whose ``code`` ids the
    panel's ``id_col`` must then hold.

    Everything is checked before any model runs, each problem one error naming the file, column,
    rows (counted from 1 below the header) or unit ids and the fix: text in numeric columns,
    empty or infinite values, duplicate (unit, period) rows, a single unit or period, first treated
    years outside the panel, no or every unit treated, a pilot table matching nothing, and with
    ``balanced`` (the spatial commands) an unbalanced panel. ``names`` maps ``y``, ``id``, ``time``,
    ``controls``, ``treated``, ``first_year`` and ``pilots`` to how the user set them (default: the
    command-line flags; ``spillmap run`` passes its config keys, :data:`CONFIG_NAMES`). ``sample`` (a user's
    panel only) excludes units, rows by a column condition, years outside a window and treatment batches
    right after the panel is read (:mod:`spillmap._sample`). A pilot table keyed by unit id (a column named
    like ``id_col`` or ``pilots_id``, and ``first_year``/``year`` or ``pilots_year``) is joined to the panel's
    ids directly (:mod:`spillmap._pilot_ids`), its match report in ``report["pilots_match"]``.
    """
    from spillmap import gis
    from spillmap._tables import read_table
    from spillmap.gis._validate import format_ids
    from spillmap.models import assign_treatment
    from spillmap.models.did._treatment import TreatmentWarning

    layer = gis.read_china_layer()
    if panel is None:
        from spillmap.synthetic import DEMO_DGP, synthetic_panel

        years = quiet_pilot_years(layer, pilots)
        dist = gis.pairwise_distances(layer, gis.CHINA_ID, name_col=gis.CHINA_NAME)
        frame = synthetic_panel(dist, years.years, seed=seed, **DEMO_DGP).drop(columns="did")
        attrs = dict(frame.attrs)
        groups = layer.set_index(gis.CHINA_ID)[["province", "region", "kind"]]
        frame = frame.join(groups, on=gis.CHINA_ID)  # unit-level groups for heterogeneity checks
        frame.attrs.update(attrs)
        y, id_col, time_col, controls = "y", gis.CHINA_ID, "year", ("x1", "x2")
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, first_year=years.years,
                                   layer_ids=layer[gis.CHINA_ID])
        return PolicyInputs(treated.data, y, id_col, time_col, tuple(controls),
                            synthetic=dict(frame.attrs.get("synthetic", {})), report=treated.report.to_dict(),
                            layer=layer, name_col=gis.CHINA_NAME, unmatched_pilots=years.unmatched)
    names = {**CLI_NAMES, **(names or {})}
    if not (y and id_col and time_col):
        raise SpillmapError(f"With a panel file, name {names['y']}, {names['id']} and {names['time']}.")
    if treated_col and first_year_col:
        raise SpillmapError(f"Give one treatment source, not both: {names['treated']} = '{treated_col}' "
                            f"or {names['first_year']} = '{first_year_col}'.")
    if isinstance(panel, pd.DataFrame):
        frame, source = panel.copy(), "the panel"
    else:
        frame, source = read_table(panel, text_columns=(id_col,)), f"'{panel}'"
    from spillmap._terms import expand_terms, split_controls

    bare, terms = split_controls(controls, frame.columns, y=y, id_col=id_col, time_col=time_col)
    picked = {id_col: names["id"], time_col: names["time"], y: names["y"],
              **{c: names["controls"] for c in bare},
              **{v: names["controls"] for used in terms.values() for v in used},
              **({treated_col: names["treated"]} if treated_col else {}),
              **({first_year_col: names["first_year"]} if first_year_col else {})}
    for col, key in picked.items():
        if col not in frame.columns:
            raise MissingColumnError(_no_column(source, col, key, frame.columns))
    original, sample_report = frame, None
    if sample:
        from spillmap._sample import apply_sample

        frame, sample_report = apply_sample(frame, sample, id_col=id_col, time_col=time_col, source=source)
    frame = check_panel(frame, source, y=y, id_col=id_col, time_col=time_col, controls=tuple(bare),
                        treatment=[c for c in (treated_col, first_year_col) if c], names=picked,
                        balanced=balanced, balance_fix=names.get("balance_fix", CLI_NAMES["balance_fix"]))
    frame, term_columns, labels = expand_terms(frame, list(terms), source=source, key=names["controls"],
                                               id_col=id_col, time_col=time_col)
    controls = [*bare, *term_columns]
    unmatched, pilots_match = None, None
    if treated_col:
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, treated_col=treated_col)
        how = f"column '{treated_col}' ({names['treated']})"
    elif first_year_col:
        fy = frame.groupby(id_col)[first_year_col].first()
        treated = assign_treatment(frame.drop(columns=first_year_col), id_col=id_col, time_col=time_col, first_year=fy)
        how = f"column '{first_year_col}' ({names['first_year']})"
    elif pilots and (keyed := _keyed_pilots(pilots, frame, id_col, pilots_id, pilots_year, names)) is not None:
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, first_year=keyed.years)
        unmatched, how = keyed.unmatched, f"'{pilots}' ({names['pilots']}, by unit id)"
        pilots_match = keyed.report
    else:
        if pilots_id or pilots_year:
            raise PilotTableError(f"{names.get('pilots_id', '--pilots-id')} / {names.get('pilots_year', '--pilots-year')}"
                                  f" name the columns of your own pilot table; give it with {names['pilots']}.")
        what = f"'{pilots}'" if pilots else "the shipped Broadband China pilot table"
        try:
            years = quiet_pilot_years(layer, pilots)
        except MissingColumnError:
            raise PilotTableError(_pilot_columns_message(what, pilots, layer, names)) from None
        unmatched = years.unmatched
        if not years.years.notna().any():
            raise PilotTableError(
                f"No entry of {what} matches a unit of the shipped China layer by name (column "
                f"'prefecture_units_zh' against the layer's names, e.g. '北京市'), so no unit is treated. "
                f"List the units' Chinese names there, or give the treatment in the panel: "
                f"{names['treated']} (0/1 column) or {names['first_year']} (first treated year column)."
            )
        codes = set(layer[gis.CHINA_ID].astype(str))
        units = pd.unique(frame[id_col].astype(str))
        if not any(u in codes for u in units):
            raise MissingIdError(
                f"None of the {len(units)} units of {source} (column '{id_col}', e.g. {format_ids(units[:3])}) is a "
                f"code of the shipped China layer (e.g. '110000' for 北京市), so the pilot table, joined through "
                f"that layer, treats none of them. Use the layer's 6-digit codes in '{id_col}', or give the "
                f"treatment in the panel: {names['treated']} (0/1 column) or {names['first_year']}."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TreatmentWarning)  # the warning below says it once
            treated = assign_treatment(frame, id_col=id_col, time_col=time_col, first_year=years.years,
                                       layer_ids=layer[gis.CHINA_ID])
        missing = treated.report.not_in_layer
        if missing:
            warnings.warn(f"{len(missing)} of {len(units)} units of {source} are not codes of the shipped China "
                          f"layer and count as never treated: {format_ids(missing)}.", TreatmentWarning, stacklevel=2)
        how = what
    data, report, summary_line = treated.data, treated.report.to_dict(), None
    if pilots_match is not None:
        report["pilots_match"] = pilots_match
    if sample:
        from spillmap._sample import drop_batches, summary

        if sample.drop_batch:
            data, dropped = drop_batches(data, sample.drop_batch, id_col=id_col, key=sample.keys["drop_batch"])
            sample_report = pd.concat([sample_report, dropped], ignore_index=True)
            report["treated_by_year"] = {k: v for k, v in report["treated_by_year"].items()
                                         if int(k) not in sample.drop_batch}
        summary_line = summary(sample_report, original, id_col, time_col, data)
    _check_treatment(data, source, id_col=id_col, time_col=time_col, how=how)
    return PolicyInputs(data, y, id_col, time_col, tuple(controls), synthetic=None,
                        report=report, layer=layer, name_col=gis.CHINA_NAME,
                        unmatched_pilots=unmatched, sample_report=sample_report, sample_summary=summary_line,
                        labels=labels)


def _keyed_pilots(pilots, frame: pd.DataFrame, id_col: str, pilots_id: str | None, pilots_year: str | None,
                  names: Mapping[str, str]):  # noqa: ANN001, ANN202 - KeyedPilots | None
    """The pilot table joined by unit id when it is keyed so (see :mod:`spillmap._pilot_ids`), else None."""
    from spillmap._pilot_ids import keyed_columns, pilot_years_by_id, read_pilot_table

    what = f"the pilot table '{pilots}'"
    try:
        table = read_pilot_table(pilots)
    except SpillmapError:
        if pilots_id or pilots_year:
            raise
        return None  # the shipped name-keyed reader says what is wrong
    cols = keyed_columns(table, id_col, pilots_id=pilots_id, pilots_year=pilots_year, names=names, what=what)
    if cols is None:
        return None
    table = read_pilot_table(pilots, id_cols=(cols[0],))
    return pilot_years_by_id(table, pd.unique(frame[id_col]), id_col=cols[0], year_col=cols[1], what=what,
                             names=names)


def _pilot_columns_message(what: str, pilots: object, layer: pd.DataFrame, names: Mapping[str, str]) -> str:
    """A pilot table without the shipped table's columns: say which it has, what is expected, and the fix."""
    from spillmap import gis

    try:
        table = pd.read_csv(pilots, dtype=str, encoding="utf-8-sig", nrows=200)
    except (ValueError, OSError, UnicodeDecodeError):
        table = pd.DataFrame()
    codes = set(layer[gis.CHINA_ID].astype(str))
    keyed = [c for c in table.columns if table[c].dropna().astype(str).str.strip().isin(codes).mean() > 0.5]
    found = ", ".join(map(str, table.columns)) or "none readable"
    by_code = (f" It lists units by code (column '{keyed[0]}'): to join it by unit id, set "
               f"{names.get('pilots_id', '--pilots-id')} {keyed[0]} and {names.get('pilots_year', '--pilots-year')} "
               f"to its first-year column (or merge its years into the panel and pass that column with "
               f"{names['first_year']})." if keyed else " Add those columns (see the shipped table).")
    return (f"The pilot table {what} needs the columns 'batch_year' (first treated year) and "
            f"'prefecture_units_zh' (the units' Chinese names, ';'-separated); it has: {found}.{by_code}")


#: How each input of :func:`load_policy_inputs` is set on the command line ...
CLI_NAMES = {"y": "--y", "id": "--id", "time": "--time", "controls": "--controls", "treated": "--treated-col",
             "first_year": "--first-year-col", "pilots": "--pilots", "pilots_id": "--pilots-id",
             "pilots_year": "--pilots-year",
             "balance_fix": "pass --balance drop-units, drop-periods or interpolate; spillmap did accepts an "
                            "unbalanced panel"}
#: ... and in a ``spillmap run`` configuration.
CONFIG_NAMES = {"y": "[panel] outcome", "id": "[panel] id", "time": "[panel] time", "controls": "[panel] controls",
                "treated": "[panel] treated", "first_year": "[panel] first_year", "pilots": "[panel] pilots",
                "pilots_id": "[panel] pilots_id", "pilots_year": "[panel] pilots_year",
                "balance_fix": "set [models] balance = \"drop-units\", \"drop-periods\" or \"interpolate\"; "
                               "or run only the DID chain: [models] sdid = false and [sweep] enabled = false"}


def _no_column(source: str, col: str, key: str, columns: Sequence[object]) -> str:
    import difflib

    present = [str(c) for c in columns]
    close = difflib.get_close_matches(col, present, n=1, cutoff=0.6)
    close = close or [c for c in present if c.strip().lower() == col.strip().lower()]
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    shown = ", ".join(repr(c) for c in present[:20]) + (", …" if len(present) > 20 else "")
    return (f"{source} has no column '{col}' (named by {key}){hint}; its columns are: {shown}. "
            f"Set {key} to one of them.")


def _rows(mask: pd.Series | np.ndarray, frame: pd.DataFrame, id_col: str, time_col: str, limit: int = 5) -> str:
    """``row 4 (unit '110000', 2015), …`` for the rows under ``mask``: 1-based data rows below the header."""
    picked = frame[np.asarray(mask, dtype=bool)]
    parts = []
    for idx, row in picked.head(limit).iterrows():
        unit = row[id_col] if id_col in picked else None
        when = row[time_col] if time_col in picked else None
        what = ", ".join(x for x in (f"unit {str(unit)!r}" if unit is not None and not pd.isna(unit) else "",
                                     f"{_plain(when)}" if when is not None and not pd.isna(when) else "") if x)
        parts.append(f"row {int(idx) + 1}" + (f" ({what})" if what else ""))
    more = len(picked) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _plain(value: object) -> object:
    return int(value) if isinstance(value, (int, float, np.number)) and float(value).is_integer() else value


def check_panel(frame: pd.DataFrame, source: str, *, y: str, id_col: str, time_col: str, controls: Sequence[str] = (),
                treatment: Sequence[str] = (), names: Mapping[str, str] | None = None, balanced: bool = False,
                balance_fix: str = "spillmap did accepts an unbalanced panel") -> pd.DataFrame:
    """The panel's shape and values, checked before any model; the frame with numeric columns as numbers.

    ``names`` maps a column to the option or config key that chose it (for messages); ``balance_fix`` is the
    advice closing the unbalanced-panel message.
    """
    names = {c: "" for c in (y, id_col, time_col, *controls, *treatment)} | dict(names or {})
    names = {c: (k or "the panel's column") for c, k in names.items()}
    from spillmap._tables import numeric_columns

    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.copy()
    frame = numeric_columns(frame, [time_col, y, *controls, *treatment], source, names)
    ids = frame[id_col]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise PanelShapeError(f"Column '{id_col}' ({names[id_col]}) of {source} is empty on "
                              f"{_rows(empty, frame, id_col, time_col)}; fill in the unit ids or drop those rows.")
    times = frame[time_col]
    if times.isna().any():
        raise PanelShapeError(f"Column '{time_col}' ({names[time_col]}) of {source} is empty on "
                              f"{_rows(times.isna(), frame, id_col, time_col)}; fill in the periods or drop those rows.")
    if not np.all(np.mod(times, 1) == 0):
        bad = np.mod(times, 1) != 0
        raise PanelShapeError(f"Column '{time_col}' ({names[time_col]}) of {source} must hold whole periods (years); "
                              f"{_rows(bad, frame, id_col, time_col)} hold fractions such as {times[bad].iloc[0]!r}. "
                              "Give the year as a whole number.")
    dup = frame.duplicated([id_col, time_col], keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        raise PanelShapeError(
            f"{source} has {int(frame.duplicated([id_col, time_col]).sum())} duplicate (unit, period) row(s): "
            f"{_rows(dup, frame, id_col, time_col, limit=6)}; a panel has one row per unit '{id_col}' and "
            f"period '{time_col}' (e.g. unit {str(first[id_col])!r} has {int(dup[frame[id_col] == first[id_col]].sum())} "
            f"rows for {_plain(first[time_col])}). Drop or aggregate the repeated rows."
        )
    n_units, periods = ids.nunique(), sorted(pd.unique(times))
    if n_units < 2 or len(periods) < 2:
        what = (f"one unit ({str(ids.iloc[0])!r})" if n_units < 2 else f"one period ({_plain(periods[0])})")
        raise PanelShapeError(
            f"{source} holds {what}: {n_units} unit(s) in '{id_col}' and {len(periods)} period(s) in "
            f"'{time_col}'. A DID with unit and period fixed effects needs several units observed in several "
            f"periods; pass the whole panel (check {names[id_col]} and {names[time_col]} name the right columns)."
        )
    for col in dict.fromkeys((y, *controls)):
        values = frame[col]
        if values.isna().any():
            raise PanelShapeError(
                f"Column '{col}' ({names[col]}) of {source} is empty on {int(values.isna().sum())} row(s): "
                f"{_rows(values.isna(), frame, id_col, time_col)}. Fill those cells, or drop the rows"
                + (" (then drop the unit's other years too: the spatial models need a balanced panel)." if balanced
                   else ".")
            )
        infinite = ~np.isfinite(values.to_numpy(dtype=float))
        if infinite.any():
            raise PanelShapeError(
                f"Column '{col}' ({names[col]}) of {source} holds infinite values on {int(infinite.sum())} row(s): "
                f"{_rows(infinite, frame, id_col, time_col)} (a division by zero or log of 0 upstream?). "
                "Replace them with finite numbers or drop those rows."
            )
    constant = [c for c in dict.fromkeys(controls) if (frame.groupby(id_col)[c].nunique(dropna=False) <= 1).all()]
    if constant:
        warnings.warn(
            f"Control(s) {', '.join(repr(c) for c in constant)} ({names[constant[0]]}) do not vary over time within "
            "any unit: the unit fixed effects absorb them and the models drop them. Leave them out of "
            f"{names[constant[0]]}, or use them for heterogeneity (did --group) instead.",
            SpillmapWarning, stacklevel=3,
        )
    if balanced:
        counts = frame.groupby(id_col)[time_col].nunique()
        short = counts[counts < len(periods)]
        if len(short):
            short = short.sort_values(kind="stable")  # worst offenders first
            seen = frame.groupby(id_col)[time_col].agg(set)
            gaps = {u: [p for p in periods if p not in seen[u]] for u in short.index}
            shown = _first_five((f"{str(u)!r} ({n} of {len(periods)}) lacks {_years(gaps[u])}"
                                 for u, n in short.items()), sep="; ", more="; and more")
            per_year = pd.Series([p for u in short.index for p in gaps[u]]).value_counts(sort=False)
            per_year = per_year.sort_index().sort_values(ascending=False, kind="stable")
            years = _first_five(f"{_plain(p)} ({n} unit{'s' if n > 1 else ''})" for p, n in per_year.items())
            raise PanelShapeError(
                f"{source} is unbalanced: {len(counts) - len(short)} of {len(counts)} units have all {len(periods)} "
                f"periods {_plain(periods[0])}–{_plain(periods[-1])}, {len(short)} have fewer, "
                f"{int(per_year.sum())} (unit, year) rows missing in all. Units missing most: {shown}. "
                f"Years missing most: {years}. The spatial models need every unit in every period: "
                f"drop those units or fill their missing years ({balance_fix})."
            )
    return frame


def _years(years: Sequence[object], limit: int = 4) -> str:
    """``2013, 2014, 2016 …`` for a unit's missing years."""
    return ", ".join(str(_plain(y)) for y in years[:limit]) + (" …" if len(years) > limit else "")


def _first_five(items: Iterable[str], sep: str = ", ", more: str = " and more") -> str:
    """The first five items joined by ``sep``, with ``more`` when there are more."""
    items = list(items)
    return sep.join(items[:5]) + (more if len(items) > 5 else "")


def _check_treatment(data: pd.DataFrame, source: str, *, id_col: str, time_col: str, how: str) -> None:
    """No or every unit treated: one error, before any model runs. (Units treated from the panel's first
    period are dropped, with a warning, by :func:`~spillmap.models.assign_treatment`.)"""
    periods = sorted(pd.unique(data[time_col]))
    first, last = _plain(periods[0]), _plain(periods[-1])
    per_unit = data.groupby(id_col, sort=False)["first_year"].first()
    treated = per_unit.dropna().astype(int)
    within = treated[treated <= periods[-1]]
    if within.empty:
        after = f"; {len(treated)} have first treated years after the panel's last period {last} " \
                f"(e.g. {int(treated.iloc[0])})" if len(treated) else ""
        raise PanelShapeError(
            f"No unit of {source} is treated within its periods {first}–{last} (by {how}){after}. "
            "Check the treatment column or years, and that the units' ids match."
        )
    if per_unit.notna().all() and within.nunique() == 1 and len(within) == len(per_unit):
        raise PanelShapeError(
            f"Every unit of {source} ({len(per_unit)}) is first treated in {int(within.iloc[0])} (by {how}): no "
            "unit is left untreated to compare with. The DID needs never-treated or later-treated units; "
            "add them to the panel."
        )


def quiet_pilot_years(layer, pilots: str | os.PathLike[str] | None = None):  # noqa: ANN001, ANN201 - PilotJoin
    """The pilot join on the shipped layer without its warning: the run writes ``pilots_unmatched.csv``
    (:func:`write_unmatched_pilots`) and warns naming that file instead."""
    from spillmap import gis
    from spillmap.errors import PilotMatchWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PilotMatchWarning)
        return gis.pilot_years(layer, id_col=gis.CHINA_ID, name_col=gis.CHINA_NAME, pilots=pilots)


#: File listing what balancing the panel dropped or filled.
BALANCE_FILE = "balance.csv"


def balance_inputs(inputs: PolicyInputs, how: str | None, *, option: str = "--balance") -> PolicyInputs:
    """The inputs on a balanced panel for the spatial models (``inputs`` itself unchanged); as is when ``how``
    is None. Filled rows take their treatment from the unit's first treated year; ``option`` names the setting."""
    from dataclasses import replace

    from spillmap._balance import BALANCE_MODES, balance_panel
    from spillmap.models.did._treatment import DID, EVENT_TIME, EVER_TREATED, FIRST_YEAR

    if not how:
        return inputs
    if how not in BALANCE_MODES:
        raise SpillmapError(f"{option} {how!r}: choose one of {', '.join(BALANCE_MODES)}.")
    data, report = balance_panel(inputs.data, inputs.id_col, inputs.time_col, how, [inputs.y, *inputs.controls])
    if FIRST_YEAR in data:
        fy = inputs.data.groupby(inputs.id_col, sort=False)[FIRST_YEAR].first()
        data[FIRST_YEAR] = data[inputs.id_col].map(fy).astype("Int64")
        data[DID] = (data[inputs.time_col] >= data[FIRST_YEAR]).fillna(False).astype(int)
        data[EVENT_TIME] = (data[inputs.time_col] - data[FIRST_YEAR]).astype("Int64")
        data[EVER_TREATED] = data[FIRST_YEAR].notna().astype(int)
        _check_treatment(data, "the balanced panel", id_col=inputs.id_col, time_col=inputs.time_col,
                         how=f"the first treated years, after {option} {how}")
        per_unit = data.groupby(inputs.id_col, sort=False)[FIRST_YEAR].first()
        counts = per_unit.dropna().astype(int).value_counts().sort_index()
        treatment = {**inputs.report, "treated_by_year": {str(k): int(v) for k, v in counts.items()},
                     "never_treated": int(per_unit.isna().sum())}
    else:
        treatment = inputs.report
    return replace(inputs, data=data, report=treatment, balance=how, balance_report=report)


def balance_headline(inputs: PolicyInputs) -> dict | None:
    """Counts of what balancing did, for the summary JSON; None without balancing."""
    table = inputs.balance_report
    if table is None:
        return None
    dropped, filled = table[table["action"] == "dropped"], table[table["action"] == "filled"]
    return {"how": inputs.balance, "dropped_rows": len(dropped), "dropped_units": int(dropped["unit"].nunique()),
            "filled_rows": len(filled[["unit", "year"]].drop_duplicates()), "filled_cells": len(filled),
            "file": BALANCE_FILE}


def write_balance_report(inputs: PolicyInputs, stage: Path) -> list[Path]:
    """Write ``balance.csv`` (unit, year, action, column) into ``stage``; [] without balancing."""
    if inputs.balance_report is None:
        return []
    note = inputs.synthetic.get("note") if inputs.synthetic else None
    return [write_csv(inputs.balance_report, stage / BALANCE_FILE, note=note)]


#: File listing what an alternative sample removed.
SAMPLE_FILE = "sample.csv"


def write_sample_report(inputs: PolicyInputs, stage: Path) -> list[Path]:
    """Write ``sample.csv`` (unit, year, reason) into ``stage``; [] without an alternative sample."""
    if inputs.sample_report is None:
        return []
    return [write_csv(inputs.sample_report, stage / SAMPLE_FILE)]


#: File listing the pilot-table entries that matched no unit.
UNMATCHED_PILOTS = "pilots_unmatched.csv"


def write_unmatched_pilots(inputs: PolicyInputs, stage: Path, final: Path) -> list[Path]:
    """Write ``pilots_unmatched.csv`` into ``stage`` and warn naming where it will be (``final``); [] if none."""
    from spillmap.errors import PilotMatchWarning

    table = inputs.unmatched_pilots
    if table is None or not len(table):
        return []
    target = write_csv(table, stage / UNMATCHED_PILOTS, note=inputs.synthetic.get("note") if inputs.synthetic else None)
    n = len(table)
    text_cols = [c for c in table.columns
                 if not pd.api.types.is_numeric_dtype(table[c]) and c not in ("unmatched_unit", "reason")]
    names = ", ".join(
        f"row {row['pilot_row']} {row['unmatched_unit'] or (row[text_cols[0]] if text_cols else '')}".strip()
        for _, row in table.head(5).fillna("").iterrows()
    )
    warnings.warn(
        f"{n} pilot-table entr{'y matches' if n == 1 else 'ies match'} no unit of the layer and "
        f"{'is' if n == 1 else 'are'} left out ({names}{', …' if n > 5 else ''}); "
        f"see {Path(final) / UNMATCHED_PILOTS} for the rows and reasons.",
        PilotMatchWarning, stacklevel=2,
    )
    return [target]


def add_entropy_index(
    panel: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    positive: Sequence[str] = (),
    negative: Sequence[str] = (),
    name: str = "index",
    by: str | None = None,
    id_col: str | None = None,
    weights_out: str | os.PathLike[str] | None = None,
):  # noqa: ANN201 - (EntropyIndexResult, files) or (result, frame)
    """Add an entropy-weight composite index (column ``name``) to a panel; write it when ``out`` is given.

    Returns ``(result, written files)`` with ``out``, else ``(result, the panel with the index)``.
    """
    from spillmap._tables import read_table
    from spillmap.models import entropy_index

    if isinstance(panel, pd.DataFrame):
        frame, source = panel.copy(), "the panel"
    else:
        frame, source = read_table(panel, text_columns=(id_col,) if id_col else ()), f"'{panel}'"
    from spillmap._tables import numeric_columns

    for col in (*positive, *negative, *([by] if by else []), *([id_col] if id_col else [])):
        if col not in frame.columns:
            key = "--id" if col == id_col else "--by" if col == by else "--positive/--negative"
            raise MissingColumnError(_no_column(source, col, key, frame.columns))
    frame = numeric_columns(frame, [*positive, *negative], source)
    for col in (*positive, *negative):
        infinite = np.isinf(frame[col].to_numpy(dtype=float))
        if infinite.any():
            raise PanelShapeError(
                f"Column '{col}' of {source} holds infinite values on "
                f"{_rows(infinite, frame, id_col or col, by or col)}; replace them with finite numbers or drop those rows.")
    if name in frame.columns:
        raise SpillmapError(f"The panel already has a column '{name}'; choose another name for the index.")
    result = entropy_index(frame, positive=positive, negative=negative, by=by, id_col=id_col)
    frame[name] = result.scores
    if out is None:
        return result, frame
    target = Path(out)
    if target.suffix.lower() not in (".csv", ".parquet"):
        raise SpillmapError(f"Write the panel as .csv or .parquet, not '{target.suffix}' ({target}).")
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".csv":
            tmp.write_text(frame.to_csv(index=False, float_format=CSV_FLOAT), encoding="utf-8")
        else:
            frame.to_parquet(tmp, index=False)
    written = [target]
    if weights_out is not None:
        with atomic_path(weights_out) as tmp:
            tmp.write_text(result.weights.to_csv(index=False, float_format=CSV_FLOAT), encoding="utf-8")
        written.append(Path(weights_out))
    return result, written


def _write_json(obj: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(obj), encoding="utf-8")
    return path


def run_did(
    inputs: PolicyInputs,
    out: str | os.PathLike[str],
    *,
    leads: int = 4,
    lags: int = 4,
    ref_period: int = -1,
    placebo_draws: int = 500,
    placebo_mode: str = "random",
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    robust: bool = True,
    groups: Sequence[str] = (),
    mediators: Sequence[str] = (),
    moderator: str | None = None,
    moderate: str | None = None,
    boot: int = 500,
    progress: Progress | None = None,
    pilots_file: bool = True,
    ref_key: str = "--ref-period",
    psm: Sequence[str] = (),
    psm_method: str = "nearest",
    psm_caliper: float = 0.05,
    psm_pooled: bool = True,
    paper_formats: Sequence[str] | None = None,
    cs_control_group: str = "never",
) -> tuple[list[Path], dict]:
    """The DID chain: TWFE baseline, event study, Goodman-Bacon decomposition, robust estimators,
    placebo, and on request heterogeneity (``groups``), mediation (``mediators``), moderation
    (``moderator``, interacted with ``moderate`` or with the DID dummy) and PSM-DID on the covariates
    ``psm`` (``psm_method`` nearest|kernel, ``psm_caliper`` in propensity-score units, ``psm_pooled`` False to match by treatment year). Returns the files written
    and a headline dict. ``pilots_file`` writes ``pilots_unmatched.csv`` when pilot entries matched no unit.
    ``ref_period`` is the event studies' reference period (relative time, −1 … −(leads − 1)); ``ref_key``
    names how the user set it, for the message when it is out of range. ``paper_formats`` (default: all of
    md, tex, docx, html; empty: none) are the formats of the publication tables written to ``tables/``.
    With ``robust``, Callaway–Sant'Anna's group-time ATTs (``cs_control_group`` never|notyet; not-yet-treated
    units when no unit is never treated) join the robust estimators."""
    from spillmap import _study_tables as st
    from spillmap._paper import PAPER_FORMATS
    from spillmap.models import (
        bacon_decomposition,
        compare_estimators,
        event_study,
        fit_did,
        heterogeneity,
        mediation,
        moderation,
        placebo_test,
        psm_did,
    )
    from spillmap.models._dask import check_scheduler
    from spillmap.models._plots import save_figure

    check_ref_period(ref_period, leads, ref_key)
    if placebo_draws > 0:
        check_scheduler(scheduler)  # before any model: a wrong address or no workers is one error in seconds
    with staged_output(out) as folder:
        note = inputs.synthetic.get("note") if inputs.synthetic else None
        kw = dict(id_col=inputs.id_col, time_col=inputs.time_col, controls=inputs.controls)
        data, y = inputs.data, inputs.y
        data, groups = _split_groups(data, groups, inputs)
        for col in (*groups, *mediators, *(c for c in (moderator, moderate) if c)):
            if col not in data.columns:
                raise MissingColumnError(
                    f"The panel has no column '{col}'; its columns are: {', '.join(map(str, data.columns))}."
                )
        written: list[Path] = []
        base = fit_did(data, y, **kw)
        written += write_table(base.to_frame(), folder / "did_baseline", note=note)
        unit = inputs.id_col
        specs = [fit_did(data, y, **{**kw, "controls": ()}), base] if inputs.controls else [base]
        paper = [st.baseline_table(specs, unit=unit)]
        headline: dict = {"synthetic": inputs.synthetic, "treatment": inputs.report, "baseline": base.to_dict()}

        es = event_study(data, y, leads=leads, lags=lags, ref=ref_period, **kw)
        written += write_table(es.to_frame(), folder / "event_study", note=note)
        written += save_figure(es.plot(), folder / "event_study", synthetic=bool(note))
        headline["event_study"] = {"pretrend": es.pretrend, "estimates": es.table["estimate"].to_dict()}
        studies = [es]
        if ref_period != -1:  # the default run's summary stays as it was
            headline["event_study"]["ref_period"] = ref_period
        if robust:
            comparison = compare_estimators(data, y, leads=leads, lags=lags, ref=ref_period, **kw)
            cs = _callaway_santanna(data, y, inputs, cs_control_group)
            simple = cs.aggregate("simple").iloc[0]
            att = comparison.att.copy()
            att.loc["callaway_santanna"] = [simple["estimate"], simple["se"], simple["estimate"] / simple["se"],
                                            simple["p_value"], simple["ci_low"], simple["ci_high"]]
            written += write_table(att.reset_index(), folder / "robust_att", note=note)
            written += save_figure(comparison.plot(), folder / "event_study_robust", synthetic=bool(note))
            headline["robust_att"] = att[["estimate", "se", "p_value"]].to_dict(orient="index")
            studies = list(comparison.event_studies)
            written += write_table(cs.to_frame(), folder / "cs_attgt", note=note)
            written += write_table(pd.concat([cs.aggregate(k) for k in ("simple", "group", "dynamic", "calendar")],
                                             ignore_index=True), folder / "cs_aggregate", note=note)
            written += save_figure(cs.plot(), folder / "cs_dynamic", synthetic=bool(note))
            headline["callaway_santanna"] = cs.to_dict()
            bacon = _bacon(data, y, inputs, bacon_decomposition)
            if bacon is not None:
                written += write_table(bacon.summary(), folder / "bacon_summary", note=note)
                written += write_table(bacon.table, folder / "bacon_comparisons", note=note)
                headline["bacon"] = {"twfe": bacon.twfe,
                                     "by_kind": bacon.summary().to_dict(orient="records"),
                                     "note": "TWFE without controls, balanced panel (Goodman-Bacon 2021)"}
        for group in groups:
            het = heterogeneity(data, y, group_col=group, **kw)
            written += write_table(het.to_frame(), folder / f"heterogeneity_{_slug(group)}", note=note)
            paper.append(st.heterogeneity_table(het, y=y, unit=unit))
            headline.setdefault("heterogeneity", {})[group] = {
                "difference_test": {"statistic": het.test.statistic, "df": het.test.df, "p_value": het.test.p_value},
                "table": het.to_frame().to_dict(orient="records"),
            }
        for m in mediators:
            med_kw = {**kw, "controls": tuple(c for c in inputs.controls if c != m)}  # a mediator is no control
            med = mediation(data, y, m, boot=boot, seed=seed,
                            progress=(lambda done, m=m: progress(f"bootstrap {m}", done, boot)) if progress else None,
                            **med_kw)
            written += write_table(med.to_frame(), folder / f"mediation_{_slug(m)}", note=note)
            paper.append(st.mediation_table(med, unit=unit))
            headline.setdefault("mediation", {})[m] = {
                "a": med.a, "b": med.b, "total": med.total, "direct": med.direct, "indirect": med.indirect,
                "proportion": med.proportion, "table": med.to_frame().to_dict(orient="records"),
            }
        if moderator:
            mod_kw = {**kw, "controls": tuple(c for c in inputs.controls if c not in (moderator, moderate))}
            mod = moderation(data, y, moderator, by=moderate, treatment=None if moderate else "did", **mod_kw)
            written += write_table(mod.to_frame(), folder / f"moderation_{_slug(moderator)}", note=note)
            paper.append(st.moderation_table(mod, unit=unit, n_obs=base.n_obs))
            headline["moderation"] = {"term": mod.interaction_term, "interaction": mod.interaction,
                                      "table": mod.to_frame().to_dict(orient="records")}
        if psm:
            matched = psm_did(data, y, covariates=psm, method=psm_method, caliper=psm_caliper,
                             pooled=psm_pooled, **kw)
            written += write_table(matched.tidy(), folder / "psm_did", note=note)
            written += write_table(matched.balance, folder / "psm_balance", note=note)
            headline["psm_did"] = matched.to_dict()
        paper[1:1] = [st.event_study_table(studies, unit=unit, n_obs=base.n_obs),
                      st.robustness_table(base, comparison if robust else None, psm=matched if psm else None,
                                          cs=cs if robust else None, unit=unit)]
        if placebo_draws > 0:
            placebo = placebo_test(
                data, y, draws=placebo_draws, seed=seed, mode=placebo_mode, workers=workers, scheduler=scheduler,
                progress=(lambda done: progress("placebo", done, placebo_draws)) if progress else None, **kw,
            )
            written += _write_placebo(placebo, folder / "placebo", note)
            headline["placebo"] = placebo.to_dict()
        if pilots_file:
            written += write_unmatched_pilots(inputs, folder, Path(out))
            written += write_sample_report(inputs, folder)
        formats = PAPER_FORMATS if paper_formats is None else tuple(paper_formats)
        if formats:
            paper = [replace(t, labels={**inputs.labels, **t.labels}) for t in paper]  # term controls' names
            written += st.write_paper_tables(paper, folder / "tables", note=note, formats=formats)
        written.append(_write_json(headline, folder / "did_summary.json"))
    final = final_paths(written, folder, out)
    return final, headline



def _callaway_santanna(data: pd.DataFrame, y: str, inputs: PolicyInputs, control_group: str):  # noqa: ANN202
    """Callaway–Sant'Anna on the DID chain's panel; not-yet-treated controls when no unit is never treated."""
    from spillmap.models.did import callaway_santanna
    from spillmap.models.did._treatment import FIRST_YEAR

    first = data.groupby(inputs.id_col)[FIRST_YEAR].first()
    last = data[inputs.time_col].max()
    if control_group == "never" and not (first.isna() | (first > last)).any():
        warnings.warn("Callaway–Sant'Anna: no unit is never treated, so units not yet treated are the controls "
                      "(control_group 'notyet').", SpillmapWarning, stacklevel=3)
        control_group = "notyet"
    return callaway_santanna(data, y, id_col=inputs.id_col, time_col=inputs.time_col,
                             controls=inputs.controls, control_group=control_group)


def check_ref_period(ref: object, leads: int, key: str = "--ref-period", leads_key: str | None = None) -> int:
    """The event study's reference period: a whole pre-treatment period −1 … −(leads − 1), else one error naming ``key``."""
    leads_key = leads_key or ("[models] leads" if key.startswith("[") else "--leads")
    if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)) or not -leads < ref < 0:
        window = f"−1 … −{leads - 1}" if leads >= 2 else "none: raise the leads to 2 or more"
        raise SpillmapError(
            f"{key} = {ref!r} is not a reference period of the event study: it must be a pre-treatment period "
            f"relative to the first treated year, a negative whole number inside the window of {leads_key} = "
            f"{leads} ({window}; −{leads} bins all earlier periods). Use e.g. {key} = -1 (the default)."
        )
    return int(ref)


def map_year(inputs: PolicyInputs, year: int | None = None, *, key: str = "--map-year") -> int:
    """The period whose treated units drive per-city maps ("treated by <year>").

    ``year`` if the panel has it; by default the last treatment year, the
    latest first-treated year among treated units (the first panel period
    from it on), so that every treated unit counts; the last period when no
    unit is treated within the panel.
    """
    periods = sorted(pd.unique(inputs.data[inputs.time_col]))
    if year is None:
        starts = pd.to_numeric(inputs.data["first_year"], errors="coerce").dropna()
        starts = starts[starts <= periods[-1]]
        return int(periods[-1]) if starts.empty else int(next(p for p in periods if p >= starts.max()))
    if year not in periods:
        raise SpillmapError(
            f"{key} = {year} is not a period of the panel (its periods are {_plain(periods[0])}–{_plain(periods[-1])}); "
            f"set {key} to one of them, or leave it out for the last treatment year.")
    return int(year)


def treated_in(inputs: PolicyInputs, year: int, order: Sequence[str]) -> pd.Series:
    """0/1 treatment of each unit (ids as text, in ``order``) in ``year``; units without a row count 0."""
    rows = inputs.data[inputs.data[inputs.time_col] == year]
    d = rows.set_index(rows[inputs.id_col].astype(str))["did"]
    return d.reindex(pd.Index(order, dtype=object)).fillna(0).astype(float)


def _split_groups(data: pd.DataFrame, groups: Sequence[str], inputs: PolicyInputs) -> tuple[pd.DataFrame, list[str]]:
    """``col:median`` (or ``:tercile``, ``:quartile``) → a unit group column split on pre-policy means."""
    from spillmap.models import baseline_groups

    names = []
    for spec in groups:
        column, _, split = spec.partition(":")
        if split:
            first = pd.to_numeric(data["first_year"], errors="coerce").min() if "first_year" in data else None
            labels = baseline_groups(data, column, id_col=inputs.id_col, time_col=inputs.time_col, split=split,
                                     before=None if pd.isna(first) else first)
            data = data.assign(**{labels.name: labels})
            column = str(labels.name)
        names.append(column)
    return data, names


def _write_placebo(placebo, base: Path, note: str | None = None) -> list[Path]:  # noqa: ANN001 - PlaceboResult
    """Placebo draws as ``base.csv`` and their distribution plot as ``base.png/.svg``."""
    from spillmap.models._plots import save_figure

    csv = write_csv(placebo.to_frame(), base.with_suffix(".csv"), note=note)
    return [csv, *save_figure(placebo.plot(), base, synthetic=bool(note))]


def _bacon(data: pd.DataFrame, y: str, inputs: PolicyInputs, decompose: Callable) -> object | None:
    """Goodman-Bacon decomposition when the panel is balanced (it needs one); else None with a warning."""
    from spillmap.errors import SpillmapWarning

    counts = data.groupby(inputs.id_col)[inputs.time_col].count()
    if counts.nunique() != 1 or data[inputs.time_col].nunique() != counts.iloc[0]:
        warnings.warn("The Goodman-Bacon decomposition needs a balanced panel; skipped.", SpillmapWarning,
                      stacklevel=3)
        return None
    return decompose(data, y, id_col=inputs.id_col, time_col=inputs.time_col, first_year_col="first_year")


def run_sdid(
    inputs: PolicyInputs,
    out: str | os.PathLike[str],
    *,
    weights: object | None = None,
    cutoff_km: float | None = None,
    draws: int = 1000,
    seed: int = 0,
    event_study: bool = True,
    leads: int = 4,
    lags: int = 4,
    placebo_draws: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    pilots_file: bool = True,
    vce: str = "oim",
    model: str = "sdm",
    fe: str = "twoways",
    paper_formats: Sequence[str] | None = None,
) -> tuple[list[Path], dict, object]:
    """Spatial Durbin DID with effects, optional spatial event study and SDM placebo.

    ``model`` (sdm, sar, sdem, slx) and ``fe`` (unit, time, twoways) choose the spatial DID fitted, and the
    spatial event study's model; the SDM placebo takes ``fe`` and is refused for a model other than sdm.

    Returns the files written, a headline dict and the :class:`SDMDiDResult`
    (for per-city effects on the map). ``pilots_file`` as in :func:`run_did`; it also writes
    ``balance.csv`` when the inputs were balanced (:func:`balance_inputs`). ``paper_formats`` as in
    :func:`run_did`: the publication table ``tables/sdid`` (coefficients, ρ, direct/indirect/total effects).
    """
    from spillmap import _study_tables as st
    from spillmap import gis
    from spillmap import weights as sw
    from spillmap._paper import PAPER_FORMATS
    from spillmap.models import fit_sdm_did, placebo_test, spatial_event_study
    from spillmap.models._dask import check_scheduler
    from spillmap.models._plots import save_figure

    if placebo_draws > 0:
        if model != "sdm":
            raise SpillmapError(
                f"The SDM-DID placebo (--placebo {placebo_draws}) refits the spatial Durbin model on re-assigned "
                f"treatment, not --model {model}; run the placebo with --model sdm, or set --placebo 0.")
        check_scheduler(scheduler)  # before any model: a wrong address or no workers is one error in seconds
    with staged_output(out) as folder:
        note = inputs.synthetic.get("note") if inputs.synthetic else None
        if weights is None:
            units = pd.unique(inputs.data[inputs.id_col])
            layer = inputs.layer
            subset = layer[layer[gis.CHINA_ID].astype(str).isin(set(map(str, units)))]
            if len(subset) != len(units):
                raise SpillmapError(
                    "The panel's units are not all in the shipped layer; pass a weights file (--weights) built for them."
                )
            dist = gis.pairwise_distances(subset, gis.CHINA_ID, name_col=gis.CHINA_NAME, max_km=cutoff_km)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                weights = sw.build_inverse_distance(dist, cutoff_km=cutoff_km, islands="keep")
        kw = dict(id_col=inputs.id_col, time_col=inputs.time_col, controls=inputs.controls)
        res = fit_sdm_did(inputs.data, inputs.y, weights=weights, draws=draws, seed=seed, vce=vce, model=model,
                          fe=fe, **kw)
        written = write_table(res.fit.tidy().reset_index(), folder / "sdm_did_coefficients", note=note)
        written += write_table(res.effects.to_frame().reset_index(), folder / "sdm_did_effects", note=note)
        headline: dict = {"synthetic": inputs.synthetic, "treatment": inputs.report, "sdm_did": res.to_dict()}
        if event_study:
            ses = spatial_event_study(inputs.data, inputs.y, weights=weights, leads=leads, lags=lags,
                                      draws=draws, seed=seed, model=model, fe=fe, **kw)
            written += write_table(ses.to_frame(), folder / "spatial_event_study", note=note)
            written += save_figure(ses.plot(), folder / "spatial_event_study", synthetic=bool(note))
            headline["spatial_event_study"] = ses.table.to_dict(orient="index")
        if placebo_draws > 0:
            placebo = placebo_test(
                inputs.data, inputs.y, draws=placebo_draws, seed=seed, model="sdm", weights=weights, fe=fe,
                workers=workers,
                scheduler=scheduler,
                progress=(lambda done: progress("placebo", done, placebo_draws)) if progress else None, **kw,
            )
            written += _write_placebo(placebo, folder / "sdm_placebo", note)
            headline["placebo"] = placebo.to_dict()
        if inputs.balance_report is not None:
            headline["balance"] = balance_headline(inputs)
        if pilots_file:
            written += write_unmatched_pilots(inputs, folder, Path(out))
            written += write_balance_report(inputs, folder)
            written += write_sample_report(inputs, folder)
        formats = PAPER_FORMATS if paper_formats is None else tuple(paper_formats)
        if formats:
            heads = {"sdm": "SDM-DID", "sar": "SAR-DID", "sdem": "SDEM-DID", "slx": "SLX-DID"}
            table = st.effects_table("sdid", "Spatial DID: effects of the policy",
                                     {heads.get(model, model): st.sdid_column(res)})
            table = replace(table, labels={**inputs.labels, **table.labels})
            written += st.write_paper_tables([table], folder / "tables", note=note, formats=formats)
        written.append(_write_json(headline, folder / "sdid_summary.json"))
    final = final_paths(written, folder, out)
    return final, headline, res
