"""``spillmap run config.toml`` and ``spillmap demo``: the whole analysis in one staged output folder.

Order: inputs (layer, panel, treatment) → weights and their summaries → DID
chain → spatial Durbin DID → siphon-radius sweep → per-city effects on the
geometries (main W and every sweep band) → styled GeoPackage, Shapefile,
GeoJSON, GeoTIFF → choropleths → ``report.html`` → ``manifest.json``.

Everything is written into a staging folder beside the output folder, which
becomes the output folder in one atomic step only when the whole run
succeeded (:func:`spillmap._files.staged_output`), so a failed or killed run
leaves the output folder as it was (the sweep's band cache in
``<out>/.sweep-cache``, kept for resuming, is the one exception).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from spillmap._files import final_paths, staged_output
from spillmap.config import RunConfig
from spillmap.errors import SpillmapError

__all__ = ["run_analysis"]

#: How the run configuration names read_layer's arguments in the fixes of layer messages.
CONFIG_LAYER_OPTIONS = {"layer": "[layer] layer", "id": "[layer] id", "encoding": "[layer] encoding",
                        "crs": "[layer] crs", "points": None}

Progress = Callable[[str, int, int], None]
_EFFECT_COLS = ("own", "recv", "emit")


def run_analysis(
    config: RunConfig,
    out: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    step: Callable[[str], None] | None = None,
    extras: Callable[[Path], list[Path]] | None = None,
    write_inputs: bool = False,
) -> tuple[list[Path], dict]:
    """Run every step the configuration asks for; return the files written and a headline dict.

    ``extras(stage)`` may write more files into the staging folder (the demo's
    weights files); ``step(message)`` hears which step starts. ``write_inputs`` (the demo)
    also writes the panel and pilot table the run used (:func:`write_run_inputs`).
    """
    from spillmap import gis
    from spillmap import weights as sw
    from spillmap.policy import (
        balance_headline,
        balance_inputs,
        map_year,
        run_did,
        run_sdid,
        treated_in,
        write_balance_report,
        write_sample_report,
        write_unmatched_pilots,
    )
    from spillmap.sweep import panel_layer, run_sweep

    say = step or (lambda _msg: None)
    folder = Path(out)  # staged_output checks it, stages beside it and publishes the run into it whole
    seed = config["output"]["seed"]
    workers, scheduler = config["output"]["workers"], config["output"]["scheduler"]
    paper_formats = tuple(config["output"]["tables"])
    say("reading the layer and the panel")
    layer, layer_id, name_col, inputs = _inputs(config)
    if inputs.sample_summary:
        say(inputs.sample_summary)
    map_year(inputs, config["output"]["map_year"], key="[output] map_year")  # checked before any model runs
    headline: dict = {"synthetic": inputs.synthetic, "treatment": inputs.report, "panel": _panel_facts(inputs)}
    # the spatial steps (weights, SDM-DID, sweep, maps) on the panel balanced by [models] balance; the DID chain
    # keeps the panel as given
    spatial = inputs
    if config["models"]["balance"] and (config["models"]["sdid"] or config["sweep"]["enabled"]):
        from spillmap._balance import summary

        spatial = balance_inputs(inputs, config["models"]["balance"], option="[models] balance")
        headline["balance"] = balance_headline(spatial)
        say(summary(spatial.balance_report, config["models"]["balance"], "[models] balance"))
    written: list[Path] = []
    with staged_output(folder) as stage:
        if extras is not None:
            written += extras(stage)
        if write_inputs:
            written += write_run_inputs(inputs, stage, pilots=config["panel"]["pilots"])
        written += write_unmatched_pilots(inputs, stage, folder)
        written += write_balance_report(spatial, stage)
        written += write_sample_report(inputs, stage)
        say("building the weights")
        subset = panel_layer(spatial, layer, layer_id)
        order = pd.Index(subset[layer_id])
        wcfg = config["weights"]
        reach = [wcfg["cutoff_km"], config["sweep"]["max_km"] if config["sweep"]["enabled"] else None]
        need = None if wcfg["kind"] == "knn" or reach[0] is None else max(r for r in reach if r is not None)
        if wcfg["matrices"]:
            need = _matrices_reach(wcfg["matrices"], reach[1])
        dist = gis.pairwise_distances(subset, layer_id, name_col=name_col, max_km=need)
        if wcfg["matrices"]:
            graphs = _weights_matrices(sw, dist, wcfg["matrices"], spatial, order)
            graph, description = graphs[wcfg["main"]]
        else:
            graph, description = _main_weights(sw, dist, wcfg)
        summary = sw.summarize_weights(graph, dist, description=description)
        written += [sw.write_weights(graph, stage / "weights_main.npz"), sw.write_weights(graph, stage / "weights_main.gwt")]
        headline["weights"] = summary.to_dict()

        models = config["models"]
        if models["did"]:
            say("DID chain: TWFE, event study, Bacon, robust estimators, placebo")
            files, did_head = run_did(
                inputs, stage / "did", leads=models["leads"], lags=models["lags"], ref_period=models["ref_period"],
                ref_key="[models] ref_period", placebo_draws=models["placebo"],
                placebo_mode=models["placebo_mode"], seed=seed, workers=workers, scheduler=scheduler,
                robust=models["robust"], groups=models["groups"], mediators=models["mediators"],
                moderator=models["moderator"] or None, moderate=models["moderate"] or None,
                boot=models["bootstrap"], progress=progress, pilots_file=False,
                psm=tuple(models["psm"]), psm_method=models["psm_method"], psm_caliper=models["psm_caliper"],
                psm_pooled=models["psm_pooled"], paper_formats=paper_formats,
                cs_control_group=models["cs_control_group"],
            )
            written += files
            headline["did"] = {k: did_head[k] for k in ("baseline", "event_study", "placebo", "bacon", "psm_did")
                               if k in did_head}
        sdid_fit = None
        if models["sdid"]:
            say("spatial Durbin DID")
            files, sd_head, sdid_fit = run_sdid(
                spatial, stage / "sdid", weights=graph, draws=models["effects_draws"], seed=seed,
                event_study=models["event_study"], leads=models["leads"], lags=models["lags"], progress=progress,
                pilots_file=False, vce=models["vce"], model=models["sdid_model"], fe=models["sdid_fe"],
                paper_formats=paper_formats,
            )
            written += files
            headline["sdid"] = sd_head["sdm_did"]["did_effects"]
            if wcfg["matrices"]:
                say("SDM-DID under each weights matrix")
                files, headline["sdid_by_weights"] = _sdid_by_weights(
                    spatial, graphs, wcfg["main"], sdid_fit, stage / "sdid_by_weights", draws=models["effects_draws"],
                    seed=seed, vce=models["vce"], model=models["sdid_model"], fe=models["sdid_fe"],
                    tables=stage / "sdid" / "tables", formats=paper_formats)
                written += files
        sweep_result = None
        scfg = config["sweep"]
        if scfg["enabled"]:
            say("siphon-radius sweep")
            files, sw_head, sweep_result = run_sweep(
                spatial, stage / "sweep", layer=subset, layer_id=layer_id, name_col=name_col, distances=dist,
                step_km=scfg["band_km"], max_km=scfg["max_km"], min_km=scfg["min_km"], mode=scfg["mode"],
                weight=scfg["weight"], alpha=scfg["alpha"], draws=models["effects_draws"], seed=seed,
                min_linked_share=scfg["min_linked_share"], workers=workers, scheduler=scheduler,
                cache_dir=(folder / ".sweep-cache") if scfg["cache"] else None, progress=progress,
                estimator=scfg["method"] or None, vce=scfg["vce"], cutoff_km=scfg["conley_km"],
                pilots_file=False, paper_formats=paper_formats,
            )
            written += files
            headline["sweep"] = sw_head["crossover"]

        say("per-city effects and map layers")
        year = map_year(inputs, config["output"]["map_year"], key="[output] map_year")
        treated = treated_in(spatial, year, order)
        projected = gis.to_projected(subset.set_index(layer_id).loc[order].reset_index())
        layers, styles, maps = _map_layers(
            projected, layer_id, name_col, graph, dist, sdid_fit, sweep_result, spatial, treated, year, config, seed,
        )
        written += _export(layers, styles, stage, config, note=inputs.synthetic.get("note") if inputs.synthetic else None,
                           sweep_result=sweep_result, name_col=name_col)
        say("maps and report")
        from spillmap.maps import choropleths
        from spillmap.report import write_manifest, write_report
        from spillmap.sweep import band_in_crossover

        written += choropleths(
            maps, styles, stage / "maps", synthetic=bool(inputs.synthetic), year=year, china=not config["layer"]["path"],
            in_crossover=band_in_crossover(sweep_result) if sweep_result is not None else None,
            crossover=sweep_result.crossover if sweep_result is not None else None,
        )
        headline["map_year"] = year
        written.append(write_report(stage, written, headline, config))
        written.append(write_manifest(stage, written, config, inputs))
    return final_paths(written, stage, folder), headline


# ---------------------------------------------------------------- inputs

#: Columns the DID chain adds to a panel (re-derived from ``first_year`` when the panel is read again).
_DERIVED = ("did", "event_time", "treated")


def write_run_inputs(inputs, folder: Path, *, pilots: str | None = None) -> list[Path]:  # noqa: ANN001 - PolicyInputs
    """Write ``panel.csv`` (the panel with its ``first_year`` column) and ``pilots.csv`` (the pilot table) into ``folder``.

    Labelled SYNTHETIC when the panel is (the demo's): a last ``SYNTHETIC`` column, which the commands reading
    them again leave alone. Go on from the demo with e.g. ``spillmap did panel.csv --y y --id code --time year
    --controls x1,x2 --first-year-col first_year`` (or ``--pilots pilots.csv`` for the treatment).
    """
    from spillmap import gis
    from spillmap._tables import write_csv

    note = inputs.synthetic.get("note") if inputs.synthetic else None
    panel = inputs.data.drop(columns=[c for c in _DERIVED if c in inputs.data.columns])
    written = [write_csv(panel, folder / "panel.csv", note=note)]
    written.append(write_csv(gis.read_pilots(pilots), folder / "pilots.csv", note=note))
    return written



def _inputs(config: RunConfig):  # noqa: ANN202
    from spillmap import gis
    from spillmap._sample import from_config
    from spillmap.policy import CONFIG_NAMES, load_policy_inputs

    lcfg, pcfg = config["layer"], config["panel"]
    if lcfg["path"]:
        layer = gis.read_layer(lcfg["path"], lcfg["id"], layer=lcfg["layer"], encoding=lcfg["encoding"],
                               crs=lcfg["crs"], options=CONFIG_LAYER_OPTIONS)
        layer_id, name_col = lcfg["id"], lcfg["name"]
    else:
        layer, layer_id, name_col = gis.read_china_layer(), gis.CHINA_ID, gis.CHINA_NAME
    panel = pcfg["path"]
    rcfg, icfg = config["rasters"], config["index"]
    if icfg["name"]:
        from spillmap.policy import add_entropy_index

        _, panel = add_entropy_index(panel, positive=icfg["positive"], negative=icfg["negative"],
                                     name=icfg["name"], by=icfg["by"], id_col=pcfg["id"])
    if rcfg["pattern"]:
        from spillmap._tables import read_table

        frame = panel if isinstance(panel, pd.DataFrame) else read_table(panel)
        for col in (pcfg["id"], pcfg["time"]):
            if col not in frame.columns:
                raise SpillmapError(f"'{panel}' has no column '{col}'; its columns are: {', '.join(map(str, frame.columns))}.")
        zonal = gis.zonal_stats(layer, gis.rasters_from_pattern(rcfg["pattern"]), id_col=layer_id,
                                stats=rcfg["stats"], band=rcfg["band"], all_touched=rcfg["all_touched"],
                                prefix=rcfg["prefix"])
        zonal = zonal.rename(columns={layer_id: pcfg["id"]}) if layer_id != pcfg["id"] else zonal
        panel = gis.merge_zonal(frame, zonal, pcfg["id"], pcfg["time"])
    inputs = load_policy_inputs(
        panel, y=pcfg["outcome"], id_col=pcfg["id"], time_col=pcfg["time"], controls=pcfg["controls"],
        pilots=pcfg["pilots"], treated_col=pcfg["treated"], first_year_col=pcfg["first_year"],
        seed=config["output"]["seed"], names=CONFIG_NAMES,
        balanced=(config["models"]["sdid"] or config["sweep"]["enabled"]) and not config["models"]["balance"],
        sample=from_config(config["sample"]) if pcfg["path"] else None,
        pilots_id=pcfg["pilots_id"], pilots_year=pcfg["pilots_year"],
    )
    units = set(pd.unique(inputs.data[inputs.id_col].astype(str)))
    codes = set(layer[layer_id].astype(str))
    missing = sorted(units - codes)
    if missing:
        from spillmap.gis._validate import format_ids

        where = lcfg["path"] or "the shipped China layer"
        raise SpillmapError(
            f"{len(missing)} of {len(units)} panel units are not in {where} (id column '{layer_id}'): "
            f"{format_ids(missing)}. Check [panel] id and [layer] id: they must hold the same codes."
        )
    return layer, layer_id, name_col, inputs


def _panel_facts(inputs) -> dict:  # noqa: ANN001 - PolicyInputs
    """The panel at a glance for the report: outcome, controls, units, periods and their span."""
    data = inputs.data
    periods = sorted(pd.unique(data[inputs.time_col]))
    plain = [p.item() if hasattr(p, "item") else p for p in (periods[0], periods[-1])]
    return {"outcome": inputs.y, "controls": [inputs.labels.get(c, c) for c in inputs.controls],  # terms as written
            "time": inputs.time_col,
            "units": int(data[inputs.id_col].nunique()), "periods": len(periods), "rows": len(data),
            "first": plain[0], "last": plain[1]}


def _main_weights(sw, dist, wcfg):  # noqa: ANN001, ANN202
    from spillmap.errors import IslandWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)  # the summary names the islands
        if wcfg["kind"] == "knn":
            return sw.build_knn(dist, wcfg["k"]), f"{wcfg['k']} nearest neighbours"
        if wcfg["kind"] == "ring":  # the config check guarantees cutoff_km
            graph = sw.build_ring(dist, wcfg["inner_km"], wcfg["cutoff_km"], alpha=wcfg["alpha"], islands="keep")
            return graph, f"{wcfg['inner_km']:g}–{wcfg['cutoff_km']:g} km ring, km^-{wcfg['alpha']:g}"
        graph = sw.build_inverse_distance(dist, alpha=wcfg["alpha"], cutoff_km=wcfg["cutoff_km"], islands="keep")
        cut = f" within {wcfg['cutoff_km']:g} km" if wcfg["cutoff_km"] else ""
        return graph, f"inverse distance km^-{wcfg['alpha']:g}{cut}, row-standardised"


# ------------------------------------------------- several weights matrices


def _matrices_reach(matrices: list[dict], sweep_km: float | None) -> float | None:
    """How far the pairwise distances must reach for ``[weights] matrices`` (None: every pair)."""
    if any(m["kind"] in ("knn", "economic") or (m["kind"] in ("inverse", "nested") and m["cutoff_km"] is None)
           for m in matrices):
        return None
    reach = [r for r in [*(m["cutoff_km"] for m in matrices if m["kind"] != "file"), sweep_km] if r is not None]
    return max(reach) if reach else None


def pre_period_means(data: pd.DataFrame, column: str, *, id_col: str, time_col: str, before: float | None,
                     at: str, source: str = "the panel") -> pd.Series:
    """Each unit's mean of ``column`` over the periods before ``before`` (every period when none precede it or
    ``before`` is None), by text id: the values of the economic-distance weights.

    ``at`` names the setting that chose the column in messages (``--column gdp``,
    ``[weights] matrices[1] (name = 'econ') column = 'gdp'``); ``source`` the table.
    """
    if column not in data.columns:
        raise SpillmapError(f"{at} is not a panel column; the panel's columns are: "
                            f"{', '.join(map(str, data.columns))}.")
    time = pd.to_numeric(data[time_col], errors="coerce")
    pre = data[time < before] if before is not None and pd.notna(before) else data.iloc[:0]
    pre = pre if len(pre) else data
    values = pd.to_numeric(pre[column], errors="coerce").groupby(pre[id_col].astype(str)).mean()
    if values.isna().any():
        raise SpillmapError(f"{at} has no number before the policy for {int(values.isna().sum())} unit(s) of "
                            f"{source}, e.g. {values.index[values.isna()][0]}.")
    return values


def pre_treatment_means(inputs, column: str, at: str) -> pd.Series:  # noqa: ANN001 - PolicyInputs
    """Each unit's mean of ``column`` before the first treated year (every year when none precede it), by text id."""
    data = inputs.data
    start = data["first_year"].min() if "first_year" in data.columns else None
    return pre_period_means(data, column, id_col=inputs.id_col, time_col=inputs.time_col, before=start, at=at)


def economic_weights(sw, dist, means: pd.Series, *, kind: str, column: str, alpha: float = 1.0,  # noqa: ANN001, ANN201
                     cutoff_km: float | None = None, islands: str = "keep", at: str,
                     source: str = "the panel"):
    """Economic (``kind="economic"``: 1/|x_i − x_j|) or nested economic-geographic (``"nested"``:
    km^-alpha × 1/|x_i − x_j|, pairs within ``cutoff_km``) weights of ``means`` (by text id) on the units of
    ``dist``; returns (graph, description). Shared by ``spillmap weights``/``sdid`` and ``[weights] matrices``."""
    from spillmap.gis._validate import format_ids

    ids = [str(u) for u in dist.ids]
    missing = [u for u in ids if u not in means.index]
    if missing:
        raise SpillmapError(f"{at}: {len(missing)} of {len(ids)} unit(s) of the layer are not in {source}, so "
                            f"the economic distance has no value for them: {format_ids(missing)}. Give a panel "
                            "holding every unit of the layer (same id codes).")
    values = pd.Series(means.reindex(ids).to_numpy(), index=dist.ids)
    alpha = 0.0 if kind == "economic" else alpha
    try:
        graph = sw.build_economic_geographic(dist, values, alpha=alpha, islands=islands,
                                             cutoff_km=cutoff_km if kind == "nested" else None)
    except SpillmapError as err:
        raise SpillmapError(f"{at}: {err}") from None
    what = (f"economic distance 1/abs(x_i - x_j) of the pre-treatment mean of {column}"
            if kind == "economic" else
            f"nested economic-geographic, km^-{alpha:g} × 1/abs(x_i - x_j) of the pre-treatment mean of {column}"
            + (f" within {cutoff_km:g} km" if cutoff_km else ""))
    return graph, what


def _weights_matrices(sw, dist, matrices: list[dict], inputs, order: pd.Index) -> dict:  # noqa: ANN001
    """``[weights] matrices`` built on the panel's units: name → (graph, description)."""
    from spillmap.errors import IslandWarning

    out = {}
    for i, m in enumerate(matrices):
        at = f"[weights] matrices[{i}] (name = {m['name']!r})"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IslandWarning)
            if m["kind"] == "file":
                graph = sw.read_weights(m["path"], ids=list(order), ids_from="the panel")
                out[m["name"]] = graph, f"read from {Path(m['path']).name}"
            elif m["kind"] in ("economic", "nested"):
                means = pre_treatment_means(inputs, m["column"], f"{at} column = {m['column']!r}")
                graph, what = economic_weights(sw, dist, means, kind=m["kind"], column=m["column"],
                                               alpha=m["alpha"], cutoff_km=m["cutoff_km"], at=at)
                out[m["name"]] = graph, what + ", row-standardised"
            else:
                out[m["name"]] = _main_weights(sw, dist, m)
    return out


def _sdid_by_weights(inputs, graphs: dict, main: str, main_fit, base: Path, *, draws: int, seed: int,  # noqa: ANN001
                     vce: str, model: str = "sdm", fe: str = "twoways", tables: Path | None = None,
                     formats: tuple[str, ...] = ()) -> tuple[list[Path], dict]:
    """The SDM-DID once per weights matrix: a table with one column per matrix (direct, indirect, total with SE
    in parentheses and stars, ρ, N, log-likelihood), as papers print it; the main matrix's fit is reused.
    ``model``/``fe`` (``[models] sdid_model``/``sdid_fe``) as the main fit's. With ``formats``, the same
    comparison as a publication table ``sdid_by_weights`` in ``tables``."""
    from spillmap import _study_tables as st
    from spillmap._pubtable import STAR_NOTE, fmt_count, fmt_num, stars
    from spillmap._tables import write_table
    from spillmap.models import fit_sdm_did

    rows: dict[str, list[str]] = {}
    head: dict = {}
    columns: dict = {}
    for name, (graph, description) in graphs.items():
        res = main_fit if name == main and main_fit is not None else fit_sdm_did(
            inputs.data, inputs.y, weights=graph, draws=draws, seed=seed, vce=vce, id_col=inputs.id_col,
            time_col=inputs.time_col, controls=inputs.controls, model=model, fe=fe)
        eff = res.did_effects
        columns[name] = st.sdid_column(res)
        cells = []
        for kind in ("direct", "indirect", "total"):
            est, se, p = (float(eff.loc[kind, c]) for c in ("estimate", "se", "p_value"))
            cells += [fmt_num(est) + stars(p), f"({fmt_num(se)})"]
        fit = res.fit.to_dict()
        cells += [fmt_num(fit.get("rho")), fmt_count(fit["n_obs"]), fmt_num(fit["loglik"]), description]
        rows[name] = cells
        head[name] = {"description": description, "rho": fit.get("rho"), "n_obs": fit["n_obs"],
                      "loglik": fit["loglik"], **{k: float(eff.loc[k, "estimate"]) for k in eff.index}}
    labels = ["Direct", "", "Indirect", "", "Total", "", "ρ", "N", "Log-likelihood", "W"]
    table = pd.DataFrame({"": labels, **rows})
    note = inputs.synthetic.get("note") if inputs.synthetic else None
    table = pd.concat([table, pd.DataFrame([{"": f"Note: {STAR_NOTE}; SE in parentheses."}])], ignore_index=True)
    written = write_table(table.fillna(""), base, note=note)
    if formats and tables is not None:
        matrices = "; ".join(f"{name}: {description}" for name, (_, description) in graphs.items())
        paper = st.effects_table("sdid_by_weights", "Spatial DID under each weights matrix", columns,
                                 notes=f"Weights matrices — {matrices}.")
        written += st.write_paper_tables([replace(paper, labels={**inputs.labels, **paper.labels})], tables,
                                         note=note, formats=formats)
    return written, head


# ------------------------------------------------------------ map layers


def _map_layers(projected, layer_id, name_col, graph, dist, sdid_fit, sweep_result, inputs, treated, year, config, seed):  # noqa: ANN001, ANN202, PLR0913
    """Layers, their QGIS styles (one per effect column for ``effects``, ``map_column``'s first) and the
    frames drawn as PNG maps; titles name the cities treated by ``year`` and the outcome's unit."""
    from spillmap._json import round_frame
    from spillmap.gis import graduated_style
    from spillmap.maps import effect_style, style_name, synthetic_title
    from spillmap.models import unit_effects

    classes = config["output"]["classes"]
    column = config["output"]["map_column"]
    base_cols = [layer_id] + ([name_col] if name_col and name_col in projected else [])
    base = projected[[*base_cols, "geometry"]].copy()
    fy = inputs.data.groupby(inputs.data[inputs.id_col].astype(str))["first_year"].first()
    base["first_yr"] = fy.reindex(base[layer_id]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    base["treated"] = treated.to_numpy()
    layers: dict = {}
    styles: dict = {}
    maps: dict = {}

    card = graph.cardinalities.reindex(base[layer_id], fill_value=0).to_numpy()
    wsum = base[[*base_cols, "geometry"]].copy()
    wsum["nbrs"] = card
    wsum["island"] = (card == 0).astype(int)
    layers["weights_summary"] = wsum
    synthetic = bool(inputs.synthetic)
    styles["weights_summary"] = graduated_style(
        "nbrs", card.astype(float), scheme="sequential", classes=min(classes, 7),
        name=style_name("neighbours", synthetic),
        title=synthetic_title("neighbours in the main weights, number of cities", synthetic))
    draws = min(config["models"]["effects_draws"], 1000)
    if sdid_fit is not None:
        ue = unit_effects(sdid_fit.fit, "did", treated=treated, draws=draws, seed=seed)
        frame = round_frame(ue.to_frame(layer_id).drop(columns=["treated"], errors="ignore"))  # as the tables
        eff = base.merge(frame, on=layer_id, how="left")
        layers["effects"] = eff
        styles["effects"] = tuple(
            effect_style(eff, c, year=year, outcome=inputs.y, synthetic=synthetic, classes=classes,
                         name=f"{c} (main W)")
            for c in (column, *(c for c in _EFFECT_COLS if c != column)))
        maps["effects"] = eff
    if sweep_result is not None:
        from spillmap.sweep import band_layers

        blayers, bstyles = band_layers(sweep_result, base, layer_id, inputs, dist, treated, column=column,
                                       classes=classes, draws=min(draws, 500), seed=seed,
                                       alpha=config["sweep"]["alpha"], year=year)
        layers.update(blayers)
        styles.update(bstyles)
        maps.update(blayers)
    return layers, styles, maps


def _export(layers: dict, styles: dict, stage: Path, config: RunConfig, note: str | None = None,
            sweep_result=None, name_col: str | None = None) -> list[Path]:
    """Write the map layers; ``note`` (synthetic runs) labels every layer SYNTHETIC DATA in QGIS.

    With the GeoPackage, ``spillmap.qgz`` (QGIS project) shows it: only the effects layer and the
    distance band holding the crossover radius of ``sweep_result`` ticked visible, ``name_col`` as labels.
    """
    from spillmap import gis

    label = {"label": "SYNTHETIC DATA", "description": note} if note else {}
    formats = config["output"]["formats"]
    written = []
    if "gpkg" in formats:
        written.append(gis.write_styled_geopackage(stage / "spillmap.gpkg", layers, styles, **label))
    main = layers.get("effects")
    # the effects layer's styles: the first is its default (the Shapefile's .qml, the project's title)
    main_styles = styles.get("effects") or ()
    main_styles = (main_styles,) if isinstance(main_styles, gis.LayerStyle) else tuple(main_styles)
    if main is not None:
        if "shp" in formats:
            shp = stage / "shapefile" / "effects.shp"
            shp.parent.mkdir(exist_ok=True)
            gis.write_shapefile(main, shp, style=main_styles[0] if main_styles else None, **label)
            written += sorted(shp.parent.iterdir())
        if "geojson" in formats:
            written.append(gis.write_geojson(main, stage / "effects.geojson", **label))
            written += [p for p in [stage / "effects.qmd"] if p.exists()]
        if "tif" in formats:
            column = config["output"]["map_column"]
            tif = stage / f"effects_{column}.tif"
            written.append(gis.write_geotiff(main, column, tif,
                                             resolution=config["output"]["geotiff_resolution_m"],
                                             nodata=config["output"]["geotiff_nodata"],
                                             crs=config["output"]["geotiff_crs"], **label,
                                             style=next((s for s in main_styles if s.column == column), None)))
            written += [p for p in [tif.with_suffix(".qmd"), tif.with_suffix(".qml")] if p.exists()]
    if "gpkg" in formats:  # the QGIS project over the GeoPackage (and the GeoTIFF, when it has a .qml sidecar)
        from spillmap.sweep import crossover_band

        band = crossover_band(sweep_result, layers) if sweep_result is not None else None
        tifs = [stage / f"effects_{config['output']['map_column']}.tif"] if "tif" in formats and main is not None else []
        written.append(gis.write_qgis_project(
            stage / "spillmap.qgz", stage / "spillmap.gpkg", list(layers), styles,
            visible={n for n in ("effects", band) if n is not None and n in layers},
            labels={n: name_col for n in ("effects",) if n in layers and name_col and name_col in layers[n]},
            title=f"spillmap: {main_styles[0].legend_title}" if main_styles else "spillmap",
            note=note, rasters=[p for p in tifs if p.exists()]))
    return written
