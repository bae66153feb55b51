"""Glue for ``spillmap did`` and ``spillmap sdid``: inputs, the chain of checks, written outputs.

Library code only: it returns what it wrote and a headline dict; the CLI
prints. Every file is written atomically.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from spillmap._files import atomic_path
from spillmap.errors import MissingColumnError, SpillmapError

__all__ = ["PolicyInputs", "load_policy_inputs", "run_did", "run_sdid", "write_table"]

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


def load_policy_inputs(
    panel: str | os.PathLike[str] | None,
    *,
    y: str | None,
    id_col: str | None,
    time_col: str | None,
    controls: Sequence[str] = (),
    pilots: str | os.PathLike[str] | None = None,
    treated_col: str | None = None,
    first_year_col: str | None = None,
    seed: int = 0,
) -> PolicyInputs:
    """Read a user's panel (or build the labelled synthetic demo panel) and assign treatment.

    With no ``panel``, the shipped China layer and Broadband China pilot
    table drive a synthetic panel with known effects (see
    :mod:`spillmap.synthetic`). A user's panel takes treatment from
    ``treated_col`` (0/1), ``first_year_col``, or a pilot table (default:
    the shipped one) joined to the shipped layer, whose ``code`` ids the
    panel's ``id_col`` must then hold.
    """
    from spillmap import gis
    from spillmap._tables import read_table
    from spillmap.models import assign_treatment

    layer = gis.read_china_layer()
    if panel is None:
        from spillmap.synthetic import synthetic_panel

        years = gis.pilot_years(layer, id_col=gis.CHINA_ID, name_col=gis.CHINA_NAME, pilots=pilots)
        dist = gis.pairwise_distances(layer, gis.CHINA_ID, name_col=gis.CHINA_NAME)
        frame = synthetic_panel(dist, years.years, seed=seed).drop(columns="did")
        y, id_col, time_col, controls = "y", gis.CHINA_ID, "year", ("x1", "x2")
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, first_year=years.years,
                                   layer_ids=layer[gis.CHINA_ID])
        return PolicyInputs(treated.data, y, id_col, time_col, tuple(controls),
                            synthetic=dict(frame.attrs.get("synthetic", {})), report=treated.report.to_dict(),
                            layer=layer, name_col=gis.CHINA_NAME)
    if not (y and id_col and time_col):
        raise SpillmapError("With a panel file, name --y, --id and --time.")
    frame = read_table(panel)
    for col in (id_col, time_col, y, *controls):
        if col not in frame.columns:
            raise MissingColumnError(
                f"'{panel}' has no column '{col}'; its columns are: {', '.join(map(str, frame.columns))}."
            )
    if treated_col:
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, treated_col=treated_col)
    elif first_year_col:
        fy = frame.groupby(id_col)[first_year_col].first()
        treated = assign_treatment(frame.drop(columns=first_year_col), id_col=id_col, time_col=time_col, first_year=fy)
    else:
        years = gis.pilot_years(layer, id_col=gis.CHINA_ID, name_col=gis.CHINA_NAME, pilots=pilots)
        treated = assign_treatment(frame, id_col=id_col, time_col=time_col, first_year=years.years,
                                   layer_ids=layer[gis.CHINA_ID])
    return PolicyInputs(treated.data, y, id_col, time_col, tuple(controls), synthetic=None,
                        report=treated.report.to_dict(), layer=layer, name_col=gis.CHINA_NAME)


def write_table(frame: pd.DataFrame, base: Path, *, note: str | None = None, digits: int = 6) -> list[Path]:
    """Write ``frame`` as CSV, Markdown and LaTeX beside ``base`` (suffix replaced), atomically."""
    from spillmap.models._results import frame_to_markdown

    out = []
    md = frame_to_markdown(frame, digits)
    tex = frame.to_latex(index=False, float_format=f"%.{digits}f")
    if note:
        md = f"_{note}_\n\n{md}"
        tex = f"% {note}\n{tex}"
    for suffix, text in ((".csv", frame.to_csv(index=False)), (".md", md + "\n"), (".tex", tex)):
        target = base.with_suffix(suffix)
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        out.append(target)
    return out


def _write_json(obj: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")
    return path


def _json_default(value):  # noqa: ANN001, ANN202
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _prepare_out(out: str | os.PathLike[str]) -> Path:
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpillmapError(f"Cannot create the output folder '{folder}': {err.strerror}.") from None
    if not os.access(folder, os.W_OK):
        raise SpillmapError(f"The output folder '{folder}' is not writable; choose another with --out.")
    return folder


def run_did(
    inputs: PolicyInputs,
    out: str | os.PathLike[str],
    *,
    leads: int = 4,
    lags: int = 4,
    placebo_draws: int = 500,
    placebo_mode: str = "random",
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    robust: bool = True,
    progress: Progress | None = None,
) -> tuple[list[Path], dict]:
    """Baseline TWFE DID, event study, robust comparison and placebo; tables, plots and a headline."""
    from spillmap.models import compare_estimators, event_study, fit_did, placebo_test
    from spillmap.models._plots import save_figure

    folder = _prepare_out(out)
    note = inputs.synthetic.get("note") if inputs.synthetic else None
    kw = dict(id_col=inputs.id_col, time_col=inputs.time_col, controls=inputs.controls)
    data, y = inputs.data, inputs.y
    written: list[Path] = []
    base = fit_did(data, y, **kw)
    written += write_table(base.to_frame(), folder / "did_baseline", note=note)
    headline: dict = {"synthetic": inputs.synthetic, "treatment": inputs.report, "baseline": base.to_dict()}

    es = event_study(data, y, leads=leads, lags=lags, **kw)
    written += write_table(es.to_frame(), folder / "event_study", note=note)
    written += save_figure(es.plot(), folder / "event_study")
    headline["event_study"] = {"pretrend": es.pretrend, "estimates": es.table["estimate"].to_dict()}
    if robust:
        comparison = compare_estimators(data, y, leads=leads, lags=lags, **kw)
        written += write_table(comparison.to_frame(), folder / "robust_att", note=note)
        written += save_figure(comparison.plot(), folder / "event_study_robust")
        headline["robust_att"] = comparison.att[["estimate", "se", "p_value"]].to_dict(orient="index")
    if placebo_draws > 0:
        placebo = placebo_test(
            data, y, draws=placebo_draws, seed=seed, mode=placebo_mode, workers=workers, scheduler=scheduler,
            progress=(lambda done: progress("placebo", done, placebo_draws)) if progress else None, **kw,
        )
        placebo_csv = folder / "placebo.csv"
        with atomic_path(placebo_csv) as tmp:
            tmp.write_text(placebo.to_frame().to_csv(index=False), encoding="utf-8")
        written.append(placebo_csv)
        written += save_figure(placebo.plot(), folder / "placebo")
        headline["placebo"] = placebo.to_dict()
    written.append(_write_json(headline, folder / "did_summary.json"))
    return written, headline


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
) -> tuple[list[Path], dict]:
    """Spatial Durbin DID with effects, optional spatial event study and SDM placebo."""
    from spillmap import gis
    from spillmap import weights as sw
    from spillmap.models import fit_sdm_did, placebo_test, spatial_event_study
    from spillmap.models._plots import save_figure

    folder = _prepare_out(out)
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
    res = fit_sdm_did(inputs.data, inputs.y, weights=weights, draws=draws, seed=seed, **kw)
    written = write_table(res.fit.tidy().reset_index(), folder / "sdm_did_coefficients", note=note)
    written += write_table(res.effects.to_frame().reset_index(), folder / "sdm_did_effects", note=note)
    headline: dict = {"synthetic": inputs.synthetic, "treatment": inputs.report, "sdm_did": res.to_dict()}
    if event_study:
        ses = spatial_event_study(inputs.data, inputs.y, weights=weights, leads=leads, lags=lags,
                                  draws=draws, seed=seed, **kw)
        written += write_table(ses.to_frame(), folder / "spatial_event_study", note=note)
        written += save_figure(ses.plot(), folder / "spatial_event_study")
        headline["spatial_event_study"] = ses.table.to_dict(orient="index")
    if placebo_draws > 0:
        placebo = placebo_test(
            inputs.data, inputs.y, draws=placebo_draws, seed=seed, model="sdm", weights=weights, workers=workers,
            scheduler=scheduler,
            progress=(lambda done: progress("placebo", done, placebo_draws)) if progress else None, **kw,
        )
        csv = folder / "sdm_placebo.csv"
        with atomic_path(csv) as tmp:
            tmp.write_text(placebo.to_frame().to_csv(index=False), encoding="utf-8")
        written.append(csv)
        written += save_figure(placebo.plot(), folder / "sdm_placebo")
        headline["placebo"] = placebo.to_dict()
    written.append(_write_json(headline, folder / "sdid_summary.json"))
    return written, headline
