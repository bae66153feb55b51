"""Command-line interface: ``spillmap``.

With :mod:`spillmap._cli_common` (reporting, console, progress, shared
options) and the command modules it registers (:mod:`spillmap._zonal_cli`),
the only code that prints. Heavy libraries (geopandas, libpysal, spreg) are
imported inside the commands so ``spillmap --help`` answers at once.
"""

from __future__ import annotations

import math
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from spillmap._cli_common import (
    AlphaOpt,
    BandOpt,
    ControlsOpt,
    CrsOpt,
    CsControl,
    EncodingOpt,
    FirstYearOpt,
    HeadlineJsonOpt,
    IdOpt,
    LayerNameOpt,
    LayerOpt,
    MaxOpt,
    Method,
    MethodOpt,
    Vce,
    VceOpt,
    NameOpt,
    OutOpt,
    PanelArg,
    PilotsOpt,
    PlaceboOpt,
    SchedulerOpt,
    TABLES_DEFAULT,
    TablesOpt,
    TimeOpt,
    TreatedOpt,
    WorkersOpt,
    YOpt,
    _console,
    _dumps,
    _escape,
    _flush_pending,
    _progress,
    paper_formats,
    _reported,
    _split,
    id_option,
    json_option,
    out_option,
    time_option,
)
from spillmap._zonal_cli import zonal

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Spatial difference-in-differences on real map layers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class WeightsKind(str, Enum):
    inverse = "inverse"
    ring = "ring"
    knn = "knn"
    queen = "queen"
    rook = "rook"
    economic = "economic"
    nested = "nested"


#: Kinds whose values come from a panel column's pre-period mean per unit.
_ECONOMIC = ("economic", "nested")


class Islands(str, Enum):
    error = "error"
    keep = "keep"
    drop = "drop"


class WeightsFormat(str, Enum):
    gal = "gal"
    gwt = "gwt"
    npz = "npz"
    stata = "stata"


def _load_layer(layer, id_col, layer_name, encoding, crs, name_col):  # noqa: ANN001, ANN202
    from spillmap import gis

    if layer is None:
        return gis.read_china_layer(), gis.CHINA_ID, name_col or gis.CHINA_NAME
    if id_col is None:
        from spillmap.errors import MissingColumnError

        raise MissingColumnError(f"Name the unit id column of '{layer}' with --id.")
    frame = gis.read_layer(layer, id_col, layer=layer_name, encoding=encoding, crs=crs, options=WEIGHTS_OPTIONS)
    return frame, id_col, name_col


#: How ``weights`` and ``sweep`` name read_layer's arguments in the fixes of layer messages.
WEIGHTS_OPTIONS = {"layer": "--layer-name", "id": "--id", "encoding": "--encoding", "crs": "--crs", "points": "--points"}
SWEEP_OPTIONS = {"layer": "--layer-name", "id": "--layer-id", "encoding": "--encoding", "crs": "--crs", "points": None}

# ---- weights choices shared by `weights` and `sdid` (one help text each)
KindOpt = Annotated[Optional[WeightsKind], typer.Option(
    help="Weights type (default inverse). economic: 1/|x_i - x_j| of each unit's pre-period mean of "
         "--econ-column; nested: that times km^-alpha, pairs within --cutoff.")]
RingOpt = Annotated[Optional[tuple[float, float]], typer.Option(
    help="Distance ring INNER OUTER in km, (INNER, OUTER]; implies --kind ring.")]
BinaryOpt = Annotated[bool, typer.Option("--binary", help="Ring weights 1 instead of inverse distance.")]
KOpt = Annotated[int, typer.Option(help="Neighbours for --kind knn.")]
EconColumnOpt = Annotated[Optional[str], typer.Option(
    "--econ-column", help="Panel column whose pre-period mean per unit sets the economic distance "
                          "(--kind economic or nested).")]
LayerIdOpt = Annotated[Optional[str], typer.Option(help="Id column of --layer (default: --id).")]


def _check_distances(cutoff: float | None, ring: tuple[float, float] | None) -> None:
    """--cutoff > 0 km; --ring INNER OUTER with 0 ≤ INNER < OUTER (km)."""
    from spillmap.errors import WeightsError

    if cutoff is not None and not (math.isfinite(cutoff) and cutoff > 0):
        raise WeightsError(f"--cutoff must be a positive distance in km, not {cutoff:g}; e.g. --cutoff 300.")
    if ring is not None and not (math.isfinite(ring[0]) and math.isfinite(ring[1]) and 0 <= ring[0] < ring[1]):
        raise WeightsError(f"--ring takes INNER OUTER km with 0 ≤ INNER < OUTER, not {ring[0]:g} {ring[1]:g}; "
                           "e.g. --ring 150 300.")


@app.command()
def weights(
    layer: LayerOpt = None,
    id_col: IdOpt = None,
    name_col: NameOpt = None,
    layer_name: LayerNameOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    points: Annotated[
        Optional[Path],
        typer.Option(help="Point layer of city seats joined to the units by id (instead of centroids)."),
    ] = None,
    points_id: Annotated[Optional[str], typer.Option(help="Id column of --points (default: --id).")] = None,
    kind: KindOpt = None,
    ring: RingOpt = None,
    cutoff: Annotated[Optional[float], typer.Option(help="Cutoff in km for inverse distance and --kind nested.")] = None,
    alpha: AlphaOpt = 1.0,
    binary: BinaryOpt = False,
    k: KOpt = 5,
    econ_panel: Annotated[Optional[Path], typer.Option(
        "--econ-panel", help="Long panel (CSV, Parquet, Stata .dta) holding --econ-column for --kind economic or "
                             "nested, keyed by --id and --time.")] = None,
    econ_column: EconColumnOpt = None,
    time_col: TimeOpt = None,
    pre_until: Annotated[Optional[int], typer.Option(
        "--pre-until", help="Economic distance from the periods before this year (default: the first year of "
                            "--pilots, the shipped Broadband China list if not given).")] = None,
    pilots: PilotsOpt = None,
    method: MethodOpt = Method.geodesic,
    islands: Annotated[Islands, typer.Option(help="Units without neighbours: error, keep (zero rows), drop.")] = Islands.keep,
    out: Annotated[Optional[Path], out_option(
        "Write the weights: .gal/.gwt (GeoDa, header names the layer and --id), .npz, or .spmat.txt "
        "(Stata spmatrix import).")] = None,
    out_format: Annotated[Optional[WeightsFormat], typer.Option(
        "--format", help="Format of --out when its suffix does not tell (stata: spmatrix import text).")] = None,
    as_json: Annotated[bool, json_option("Print the summary as JSON.")] = False,
) -> None:
    """Build spatial weights for a layer and print n, neighbours, distances and islands."""
    with _reported():
        from spillmap import weights as sw

        from spillmap.errors import IslandWarning

        # the summary names the islands; no need to warn about them as well
        warnings.simplefilter("ignore", IslandWarning)
        chosen = _checked_kind(kind, ring, cutoff, econ_column, econ_panel=econ_panel, panel_given=True)
        if econ_panel is None and (time_col or pre_until is not None or pilots is not None):
            from spillmap.errors import WeightsError

            raise WeightsError("--time, --pre-until and --pilots choose the economic distance's periods; give them "
                               "with --kind economic or nested and --econ-panel FILE --econ-column COL.")
        frame, id_col, name_col = _load_layer(layer, id_col, layer_name, encoding, crs, name_col)
        means = None
        if chosen.value in _ECONOMIC:
            means = _economic_means(econ_panel, econ_column, id_col, time_col, pre_until, pilots)
        graph, dist, description = _layer_weights(
            frame, id_col, name_col, kind=chosen, ring=ring, cutoff=cutoff, alpha=alpha, binary=binary, k=k,
            method=method, islands=islands, points=points, points_id=points_id, means=means, column=econ_column,
            source=f"'{econ_panel}'")
        summary = sw.summarize_weights(graph, dist, description=description)
        if out is not None:
            sw.write_weights(
                graph, out, layer_name=_geoda_layer_name(layer, layer_name), id_field=id_col,
                format=out_format.value if out_format is not None else None,
            )
        if as_json:
            typer.echo(_dumps(summary.to_dict()))
        else:
            _print_summary(summary, out)


def _checked_kind(kind: WeightsKind | None, ring: tuple[float, float] | None, cutoff: float | None,
                  column: str | None, *, econ_panel: Path | None = None, panel_given: bool) -> WeightsKind:
    """The weights kind --kind/--ring ask for, with the options it needs and none it ignores (one message)."""
    from spillmap.errors import WeightsError

    _check_distances(cutoff, ring)
    if ring is not None and kind not in (None, WeightsKind.ring):
        raise WeightsError(f"--ring makes ring weights; drop --kind {kind.value} or --ring.")
    chosen = WeightsKind.ring if ring is not None else (kind or WeightsKind.inverse)
    if chosen is WeightsKind.ring and ring is None:
        raise WeightsError("--kind ring needs --ring INNER OUTER (km), e.g. --ring 150 300.")
    if chosen.value in _ECONOMIC:
        need = "--econ-column COL" if panel_given is False else "--econ-panel FILE and --econ-column COL"
        if column is None or (panel_given and econ_panel is None):
            raise WeightsError(f"--kind {chosen.value} needs {need}: the panel column whose pre-period mean per "
                               "unit sets the economic distance, e.g. --econ-column gdp.")
        if chosen is WeightsKind.economic and cutoff is not None:
            raise WeightsError("--kind economic links every pair of units; --cutoff is for --kind nested "
                               "(economic times inverse distance within the cutoff) or inverse.")
    elif column is not None or econ_panel is not None:
        given = "--econ-column" if column is not None else "--econ-panel"
        raise WeightsError(f"{given} is for --kind economic or nested, not --kind {chosen.value}; drop it or "
                           "choose one of those kinds.")
    return chosen


def _economic_means(panel: Path, column: str, id_col: str, time_col: str | None, pre_until: int | None,
                    pilots: Path | None):  # noqa: ANN202 - pandas.Series
    """Each unit's mean of ``column`` in ``panel`` before --pre-until (default: the pilots' first year)."""
    from spillmap._tables import read_table
    from spillmap.errors import MissingColumnError, PilotTableError, SpillmapError
    from spillmap.policy import _no_column
    from spillmap.run import pre_period_means

    data = read_table(panel, text_columns=(id_col,))
    time_col = time_col or "year"
    for col, key in ((id_col, "--id"), (time_col, "--time"), (column, "--econ-column")):
        if col not in data.columns:
            raise MissingColumnError(_no_column(f"'{panel}'", col, key, data.columns))
    before = pre_until
    if before is None:
        from spillmap import gis

        try:
            before = int(gis.read_pilots(pilots)["batch_year"].min())
        except (PilotTableError, MissingColumnError) as err:
            raise SpillmapError(f"{err} Or give the economic distance's last year with --pre-until YEAR.") from None
    return pre_period_means(data, column, id_col=id_col, time_col=time_col, before=before,
                            at=f"--econ-column {column}", source=f"'{panel}'")


def _layer_weights(frame, id_col: str, name_col: str | None, *, kind: WeightsKind,  # noqa: ANN001, ANN202
                   ring: tuple[float, float] | None, cutoff: float | None, alpha: float, binary: bool, k: int,
                   method: Method, islands: Islands, points: Path | None = None, points_id: str | None = None,
                   means=None, column: str | None = None, source: str = "the panel"):  # noqa: ANN001
    """(graph, distances or None, description) of ``kind`` on the layer ``frame``: the one builder of
    ``spillmap weights`` and ``spillmap sdid`` (``means``: pre-period means by text id for economic/nested)."""
    from spillmap import gis
    from spillmap import weights as sw

    if kind in (WeightsKind.queen, WeightsKind.rook):
        graph = sw.build_contiguity(frame, id_col, rook=kind is WeightsKind.rook, islands=islands.value,
                                    name_col=name_col)
        return graph, None, f"{kind.value} contiguity"  # contiguity measures no distance
    located = frame
    if points is not None:
        import pyogrio

        seats = pyogrio.read_dataframe(points)
        located = gis.representative_points(frame, id_col, points=seats, points_id_col=points_id)
        if name_col:
            located[name_col] = frame[name_col].to_numpy()
    reach = {WeightsKind.ring: ring[1] if ring else None, WeightsKind.knn: None, WeightsKind.economic: None}
    dist = gis.pairwise_distances(located, id_col, method=method.value, max_km=reach.get(kind, cutoff),
                                  name_col=name_col)
    if kind is WeightsKind.ring:
        graph = sw.build_ring(dist, ring[0], ring[1], weight="binary" if binary else "inverse",
                              alpha=alpha, islands=islands.value)
        description = f"{ring[0]:g}–{ring[1]:g} km ring ({'binary' if binary else f'km^-{alpha:g}'})"
    elif kind is WeightsKind.knn:
        graph = sw.build_knn(dist, k)
        description = f"{k} nearest neighbours"
    elif kind.value in _ECONOMIC:
        from spillmap.run import economic_weights

        graph, description = economic_weights(sw, dist, means, kind=kind.value, column=column, alpha=alpha,
                                              cutoff_km=cutoff, islands=islands.value, at=f"--kind {kind.value}",
                                              source=source)
    else:
        graph = sw.build_inverse_distance(dist, alpha=alpha, cutoff_km=cutoff, islands=islands.value)
        description = f"inverse distance km^-{alpha:g}" + (f" within {cutoff:g} km" if cutoff else "")
    return graph, dist, description + f", {method.value} distances"


def _geoda_layer_name(layer: Path | None, layer_name: str | None) -> str:
    """The layer a GeoDa .gal/.gwt header names: --layer-name, the layer's file stem, or the shipped layer."""
    if layer_name:
        return layer_name
    return Path(layer).stem if layer is not None else "china_prefectures"


def _print_summary(summary, out: Path | None) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=_escape(summary.description), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("units", str(summary.n))
    table.add_row("links", str(summary.n_links))
    table.add_row(
        "neighbours",
        f"mean {summary.mean_neighbours:.2f}, min {summary.min_neighbours}, max {summary.max_neighbours}",
    )
    if summary.min_km is not None:
        table.add_row("link distance", f"{summary.min_km:.1f} – {summary.max_km:.1f} km")
    table.add_row("symmetric", "yes" if summary.symmetric else "no")
    table.add_row("islands", _escape(str(len(summary.islands)) + (": " + ", ".join(map(str, summary.islands))
                                                                   if summary.islands else "")))
    if out is not None:
        table.add_row("written", _escape(str(out)))
    _console().print(table)


class ModelKind(str, Enum):
    sar = "sar"
    sem = "sem"
    sdm = "sdm"
    sdem = "sdem"
    slx = "slx"


class FixedEffectsKind(str, Enum):
    unit = "unit"
    time = "time"
    twoways = "twoways"


@app.command()
def fit(
    panel: Annotated[Path, typer.Argument(help="Long panel: CSV, Parquet or Stata .dta.")],
    weights_file: Annotated[
        Path, typer.Option("--weights", "-w", help="Weights: .gal, .gwt, .npz, or a square CSV with ids as header.")
    ],
    formula: Annotated[str, typer.Option(
        help="'y ~ x1 + np.log(x2) + C(region) + x1:x3 | id + year' (formulaic terms; fixed effects after '|' "
             "or via --fe).")],
    id_col: Annotated[str, id_option("Unit id column (must match the weights' ids).")],
    time_col: Annotated[str, time_option()],
    model: Annotated[ModelKind, typer.Option(help="sar, sem, sdm, sdem or slx.")] = ModelKind.sdm,
    fe: Annotated[Optional[FixedEffectsKind], typer.Option(
        help="unit, time or twoways fixed effects (default: the formula's '| …' part, else twoways).")] = None,
    lee_yu: Annotated[
        Optional[bool],
        typer.Option("--lee-yu/--no-lee-yu", help="Lee–Yu transformation (default: on for twoways)."),
    ] = None,
    bias_correction: Annotated[
        bool, typer.Option("--bias-correction", help="Lee–Yu bias-correction formula instead (SAR/SDM, twoways).")
    ] = False,
    durbin: Annotated[str, typer.Option(help="Regressors with W·x: 'all' or comma-separated names.")] = "all",
    effects: Annotated[int, typer.Option(help="Simulation draws for direct/indirect/total effects (0: none).")] = 1000,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the effect draws.")] = None,
    engine: Annotated[str, typer.Option(help="native, or spreg (unit effects only).")] = "native",
    vce: VceOpt = Vce.oim,
    no_standardize: Annotated[
        bool, typer.Option("--no-standardize", help="Use the weights as given instead of row-standardising.")
    ] = False,
    out: Annotated[
        Optional[Path], out_option("Folder for coefficient and effects tables (CSV, Markdown, LaTeX).")
    ] = None,
    as_json: Annotated[bool, json_option("Print the fit as one JSON object.")] = False,
) -> None:
    """Fit a fixed-effects spatial panel model (SAR/SEM/SDM/SDEM/SLX) from files."""
    with _reported():
        from spillmap._tables import read_table
        from spillmap.models import fit_spatial_panel
        from spillmap.weights import read_weights

        data = _checked_fit_panel(read_table(panel, text_columns=(id_col,)), panel, formula, id_col, time_col)
        graph = read_weights(weights_file, ids=list(dict.fromkeys(data[id_col].tolist())), ids_from="the panel")
        result = fit_spatial_panel(
            data, formula, id_col=id_col, time_col=time_col, weights=graph,
            model=model.value, fe=None if fe is None else fe.value, lee_yu=lee_yu, bias_correction=bias_correction,
            durbin="all" if durbin == "all" else [d.strip() for d in durbin.split(",") if d.strip()],
            engine=engine, row_standardize=not no_standardize, vce=vce.value,  # type: ignore[arg-type]
        )
        eff = result.effects(effects, seed=seed) if effects > 0 else None
        if out is not None:
            _write_fit_tables(result, eff, out)
        if as_json:
            payload = result.to_dict()
            payload["effects"] = None if eff is None else _effects_dict(eff)
            payload["effects_draws"] = effects if eff is not None else 0
            payload["seed"] = seed
            typer.echo(_dumps(payload))
        else:
            console = _console()
            console.print(str(result.summary()), markup=False)
            if eff is not None:
                console.print(f"Effects ({effects} simulation draws{'' if seed is None else f', seed {seed}'}):")
                console.print(eff.table.round(6).to_string(), markup=False)


def _checked_fit_panel(data, panel: Path, formula: str, id_col: str, time_col: str):  # noqa: ANN001, ANN202
    """The panel's columns named by --id, --time and the formula, checked as the DID commands check theirs.

    The formula is read by formulaic (``np.log(y) ~ x1 + C(region) + x1:x2 | id + year``); a formula of bare
    names has its columns checked here as the DID commands check theirs, any other leaves the values to the
    model, which names the term."""
    from spillmap.errors import MissingColumnError
    from spillmap.models.panel import parse_panel_formula
    from spillmap.policy import _no_column, check_panel

    spec = parse_panel_formula(formula, id_col=id_col, time_col=time_col)
    cols = spec.columns_in(data.columns)
    names = {id_col: "--id", time_col: "--time", **{c: "--formula" for c in cols}}
    for col, key in names.items():
        if col not in data.columns:
            raise MissingColumnError(_no_column(f"'{panel}'", col, key, data.columns))
    if not spec.reads_bare(data.columns):  # the outcome and the panel's shape here, the terms in the model
        return check_panel(data, f"'{panel}'", y=cols[0], id_col=id_col, time_col=time_col, controls=(),
                           names=names, balanced=True, balance_fix="spillmap did accepts an unbalanced panel")
    y, xs = spec.bare
    plain = [x for x in xs if x in data.columns and x != y]
    return check_panel(data, f"'{panel}'", y=y, id_col=id_col, time_col=time_col, controls=plain, names=names,
                       balanced=True, balance_fix="spillmap did accepts an unbalanced panel")


def _effects_dict(eff) -> dict:  # noqa: ANN001
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (variable, kind), row in eff.table.iterrows():
        out.setdefault(str(variable), {})[str(kind)] = {k: float(v) for k, v in row.items()}
    return out


def _write_fit_tables(result, eff, folder: Path) -> None:  # noqa: ANN001
    """Coefficient (and effects) tables into ``folder``, published whole like every result folder."""
    from spillmap._files import atomic_path, staged_output

    tables = {"coefficients": result.tidy().reset_index()}
    if eff is not None:
        tables["effects"] = eff.table.reset_index()
    with staged_output(folder) as stage:
        for name, frame in tables.items():
            for suffix, text in (
                (".csv", frame.to_csv(index=False)),
                (".md", _markdown(frame)),
                (".tex", frame.to_latex(index=False, float_format="%.6f")),
            ):
                with atomic_path(stage / f"{name}{suffix}") as tmp:
                    tmp.write_text(text, encoding="utf-8")


def _markdown(frame) -> str:  # noqa: ANN001
    from spillmap.models._format import frame_to_markdown

    return frame_to_markdown(frame, 6)


ExcludeUnitsOpt = Annotated[Optional[str], typer.Option(
    "--exclude-units", help="Alternative sample: drop these units, ID,ID,... or @file.txt (one id a line).")]
ExcludeIfOpt = Annotated[Optional[list[str]], typer.Option(
    "--exclude-if", help="Alternative sample: drop units where \"COLUMN OP VALUE\" holds (== != < <= > >=, or "
                         "\"COLUMN in a|b\"); repeatable.")]
YearsOpt = Annotated[Optional[str], typer.Option("--years", help="Alternative sample: keep the years FIRST-LAST, e.g. 2011-2019.")]
PilotsIdOpt = Annotated[Optional[str], typer.Option(
    "--pilots-id", help="Id column of a --pilots table keyed by unit id (default: a column named like --id).")]
PilotsYearOpt = Annotated[Optional[str], typer.Option(
    "--pilots-year", help="First-treated-year column of a --pilots table keyed by unit id "
                          "(default: first_year, year or batch_year).")]
DropBatchOpt = Annotated[Optional[list[int]], typer.Option(
    "--drop-batch", help="Alternative sample: drop the units first treated in this year (repeatable).")]


def _inputs(panel, y, id_col, time_col, controls, pilots, treated_col, first_year_col, seed, *,  # noqa: ANN001, ANN202
            balanced=False, sample=None, as_json=False, pilots_keys=(None, None)):
    from spillmap.policy import load_policy_inputs

    inputs = load_policy_inputs(
        panel, y=y, id_col=id_col, time_col=time_col,
        controls=[c.strip() for c in controls.split(",") if c.strip()] if controls else (),
        pilots=pilots, treated_col=treated_col, first_year_col=first_year_col, seed=seed, balanced=balanced,
        sample=_sample(panel, *sample) if sample else None, pilots_id=pilots_keys[0], pilots_year=pilots_keys[1],
    )
    if inputs.sample_summary and not as_json:
        _console().print(_escape(inputs.sample_summary))
    return inputs


def _sample(panel, exclude_units, exclude_if, years, drop_batch):  # noqa: ANN001, ANN202
    """The alternative sample of --exclude-units/--exclude-if/--years/--drop-batch (None without any)."""
    from spillmap._sample import from_options
    from spillmap.errors import SpillmapError

    spec = from_options(exclude_units, exclude_if, years, drop_batch)
    if spec is not None and panel is None:
        raise SpillmapError("--exclude-units, --exclude-if, --years and --drop-batch select from your panel; "
                            "give a panel file.")
    return spec


def _report_written(title: str, written, headline: dict, as_json: bool, out: Path) -> None:  # noqa: ANN001
    if as_json:
        typer.echo(_dumps(headline))
        return
    console = _closing_console(headline)
    console.print(f"[bold green]{title}[/] wrote {len(written)} files:")
    for path in written:
        console.print(f"  {_escape(str(path))}")
    _flush_pending()
    console.print(f"[bold green]{title}[/] outputs in {_escape(str(out))}/")


def _closing_console(headline: dict) -> Console:
    """The console for a command's closing lines, after the SYNTHETIC note of a run on the demo panel."""
    console = _console()
    if headline.get("synthetic"):
        console.print(f"[bold yellow]{_escape(headline['synthetic']['note'])}[/]")
    return console


def _check_scheduler(scheduler: str | None) -> None:
    """A --scheduler is checked before anything else runs: one error within seconds if unreachable or without workers."""
    if scheduler:
        from spillmap.models._dask import check_scheduler

        check_scheduler(scheduler)


@app.command()
def did(
    panel: PanelArg = None, y: YOpt = None, id_col: IdOpt = None, time_col: TimeOpt = None,
    controls: ControlsOpt = None, pilots: PilotsOpt = None, treated_col: TreatedOpt = None,
    first_year_col: FirstYearOpt = None,
    leads: Annotated[int, typer.Option(help="Event-study leads (earlier ones binned).")] = 4,
    lags: Annotated[int, typer.Option(help="Event-study lags (later ones binned).")] = 4,
    ref_period: Annotated[int, typer.Option(
        "--ref-period", help="Event-study reference period, relative to the first treated year: -1 … -(leads-1); "
                             "its coefficient is 0 by construction (write --ref-period=-2).")] = -1,
    placebo: PlaceboOpt = 500,
    placebo_mode: Annotated[str, typer.Option(help="random (re-assign units, keep batch sizes) or timing.")] = "random",
    robust: Annotated[bool, typer.Option("--robust/--no-robust", help="did2s and Sun & Abraham beside TWFE.")] = True,
    group: Annotated[Optional[list[str]], typer.Option(
        help="Heterogeneity by a unit-level column, or COL:median|tercile|quartile to split units on their "
             "pre-policy mean of a numeric column (repeatable).")] = None,
    mediator: Annotated[Optional[list[str]], typer.Option(
        help="Mechanism: mediation test through this column, Sobel and bootstrap (repeatable).")] = None,
    moderator: Annotated[Optional[str], typer.Option(
        help="Moderation: interact this column with --moderate (or with DID when --moderate is not given).")] = None,
    moderate: Annotated[Optional[str], typer.Option(help="Focal variable whose effect --moderator moderates.")] = None,
    boot: Annotated[int, typer.Option(help="Cluster-bootstrap draws for the mediation interval.")] = 500,
    seed: Annotated[int, typer.Option(
        help="Seed of the placebo draws, the mediation bootstrap and the synthetic demo panel.")] = 0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    exclude_units: ExcludeUnitsOpt = None, exclude_if: ExcludeIfOpt = None, years: YearsOpt = None,
    drop_batch: DropBatchOpt = None, pilots_id: PilotsIdOpt = None, pilots_year: PilotsYearOpt = None,
    psm: Annotated[Optional[str], typer.Option(
        help="PSM-DID robustness check on these comma-separated covariates (their pre-treatment means per unit "
             "enter a logit); writes psm_did and psm_balance.")] = None,
    psm_method: Annotated[str, typer.Option(help="PSM matching: nearest (with replacement) or kernel (Epanechnikov).")
                          ] = "nearest",
    psm_caliper: Annotated[float, typer.Option(
        help="PSM caliper (kernel bandwidth) in propensity-score units.")] = 0.05,
    psm_pooled: Annotated[bool, typer.Option(
        "--psm-pooled/--psm-by-year", help="One matching for all units, or one per treatment year.")] = True,
    cs_control_group: Annotated[CsControl, typer.Option(
        help="Callaway–Sant'Anna controls: never (never-treated units) or notyet (also units not yet treated).")
    ] = CsControl.never,
    tables: TablesOpt = TABLES_DEFAULT,
    out: OutOpt = Path("out/did"),
    as_json: HeadlineJsonOpt = False,
) -> None:
    """Staggered DID: TWFE baseline, event study, Bacon decomposition, robust estimators, placebo;
    heterogeneity, mechanism, moderation and PSM-DID on request."""
    with _reported():
        _check_scheduler(scheduler)
        from spillmap.policy import check_ref_period, run_did

        check_ref_period(ref_period, leads)  # before the panel is read: one error in a moment
        psm_covs = _psm_options(psm, psm_method, psm_caliper)
        formats = paper_formats(tables)
        inputs = _inputs(panel, y, id_col, time_col, controls, pilots, treated_col, first_year_col, seed,
                         sample=(exclude_units, exclude_if, years, drop_batch),
                         pilots_keys=(pilots_id, pilots_year), as_json=as_json)
        with _progress(not as_json) as progress:
            written, headline = run_did(
                inputs, out, leads=leads, lags=lags, ref_period=ref_period, placebo_draws=placebo,
                placebo_mode=placebo_mode, seed=seed, workers=workers, scheduler=scheduler, robust=robust,
                groups=group or (),
                mediators=mediator or (), moderator=moderator, moderate=moderate, boot=boot, progress=progress,
                psm=psm_covs, psm_method=psm_method, psm_caliper=psm_caliper, psm_pooled=psm_pooled,
                paper_formats=formats, cs_control_group=cs_control_group.value,
            )
        if not as_json:
            b = headline["baseline"]
            _console().print(
                f"TWFE DID on {_escape(str(b['y']))}: {b['estimate']:.4f} (se {b['se']:.4f}, p {b['p_value']:.3g}); "
                f"pre-trend p = {headline['event_study']['pretrend']['p_value']:.3g}"
                + (f"; placebo p = {headline['placebo']['p_value']:.3g}" if "placebo" in headline else "")
            )
        _report_written("spillmap did", written, headline, as_json, out)


def _psm_options(psm: str | None, method: str, caliper: float) -> tuple[str, ...]:
    """--psm covariates as a tuple; a wrong --psm-method or --psm-caliper is one error before the panel is read."""
    from spillmap.errors import SpillmapError

    covs = tuple(c.strip() for c in (psm or "").split(",") if c.strip())
    if psm is not None and not covs:
        raise SpillmapError("--psm needs one or more comma-separated covariate columns, e.g. --psm x1,x2.")
    if method not in ("nearest", "kernel"):
        raise SpillmapError(f"--psm-method must be nearest or kernel, not {method!r}.")
    if not caliper > 0:
        raise SpillmapError(f"--psm-caliper must be a positive propensity-score difference, not {caliper:g}.")
    return covs


class SdidModel(str, Enum):
    sdm = "sdm"
    sar = "sar"
    sdem = "sdem"
    slx = "slx"


@app.command()
def sdid(
    panel: PanelArg = None, y: YOpt = None, id_col: IdOpt = None, time_col: TimeOpt = None,
    controls: ControlsOpt = None, pilots: PilotsOpt = None, treated_col: TreatedOpt = None,
    first_year_col: FirstYearOpt = None,
    weights_file: Annotated[
        Optional[Path], typer.Option("--weights", "-w", help=(
            "Weights file; default: built on --layer (the shipped layer if not given) as --kind says."))
    ] = None,
    layer: LayerOpt = None,
    layer_id: LayerIdOpt = None,
    layer_name: LayerNameOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    kind: KindOpt = None,
    ring: RingOpt = None,
    cutoff: Annotated[Optional[float], typer.Option(
        help="Cutoff (km) of the inverse-distance (default) or nested weights built on the layer.")] = None,
    alpha: AlphaOpt = 1.0,
    binary: BinaryOpt = False,
    k: KOpt = 5,
    econ_column: EconColumnOpt = None,
    method: MethodOpt = Method.geodesic,
    effects: Annotated[int, typer.Option(help="Simulation draws for the effects.")] = 1000,
    event_study: Annotated[bool, typer.Option("--event-study/--no-event-study", help="Spatial event study.")] = True,
    placebo: Annotated[int, typer.Option(help="SDM-DID placebo draws (0: none).")] = 0,
    model: Annotated[SdidModel, typer.Option(
        help="Spatial DID: sdm (spatial Durbin), sar (spillover through rho only), sdem or slx.")] = SdidModel.sdm,
    fe: Annotated[FixedEffectsKind, typer.Option(help="unit, time or twoways fixed effects.")] = FixedEffectsKind.twoways,
    vce: VceOpt = Vce.oim,
    balance: BalanceOpt = None,
    exclude_units: ExcludeUnitsOpt = None, exclude_if: ExcludeIfOpt = None, years: YearsOpt = None,
    drop_batch: DropBatchOpt = None, pilots_id: PilotsIdOpt = None, pilots_year: PilotsYearOpt = None,
    seed: Annotated[int, typer.Option(
        help="Seed of the effect simulations, the placebo draws and the synthetic demo panel.")] = 0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    tables: TablesOpt = TABLES_DEFAULT,
    out: OutOpt = Path("out/sdid"),
    as_json: HeadlineJsonOpt = False,
) -> None:
    """Spatial Durbin DID: direct, indirect (spillover) and total effects of the policy."""
    with _reported():
        _check_scheduler(scheduler)
        from spillmap.policy import run_sdid

        if weights_file is not None:
            given = [opt for opt, value in (("--layer", layer), ("--kind", kind), ("--ring", ring),
                                            ("--cutoff", cutoff), ("--econ-column", econ_column)) if value is not None]
            if given:
                from spillmap.errors import WeightsError

                raise WeightsError(f"--weights {weights_file} gives the weights; {', '.join(given)} would build "
                                   "others on a layer. Drop one of them.")
        else:
            chosen = _checked_kind(kind, ring, cutoff, econ_column, panel_given=False)
        inputs = _spatial_inputs(panel, y, id_col, time_col, controls, pilots, treated_col, first_year_col, seed,
                                 balance=balance, sample=(exclude_units, exclude_if, years, drop_batch),
                                 pilots_keys=(pilots_id, pilots_year), as_json=as_json)
        if weights_file is not None:
            from spillmap.weights import read_weights

            graph = read_weights(weights_file, ids=list(dict.fromkeys(inputs.data[inputs.id_col].tolist())),
                                 ids_from="the panel")
        else:
            graph = _panel_weights(inputs, layer, layer_id, layer_name, encoding, crs, kind=chosen, ring=ring,
                                   cutoff=cutoff, alpha=alpha, binary=binary, k=k, method=method,
                                   column=econ_column)
        with _progress(not as_json) as progress:
            written, headline, _ = run_sdid(
                inputs, out, weights=graph, cutoff_km=cutoff, draws=effects, seed=seed, event_study=event_study,
                placebo_draws=placebo, workers=workers, scheduler=scheduler, progress=progress, vce=vce.value,
                model=model.value, fe=fe.value, paper_formats=paper_formats(tables),
            )
        if not as_json:
            eff = headline["sdm_did"]["did_effects"]
            _console().print(
                "SDM-DID effects of the policy: "
                + "; ".join(f"{k} {v['estimate']:.4f} [{v['ci_low']:.4f}, {v['ci_high']:.4f}]" for k, v in eff.items())
            )
        _report_written("spillmap sdid", written, headline, as_json, out)


def _panel_weights(inputs, layer: Path | None, layer_id: str | None, layer_name: str | None,  # noqa: ANN001, ANN202
                   encoding: str | None, crs: str | None, *, kind: WeightsKind, column: str | None, **options):
    """The weights ``sdid`` builds on the panel's units of --layer (default: the shipped layer), as ``weights``
    builds them; economic distance from the panel's means before the first treated year."""
    from spillmap import gis
    from spillmap.errors import IslandWarning
    from spillmap.sweep import checked_panel_layer

    if layer is None:
        frame = inputs.layer if inputs.layer is not None else gis.read_china_layer()
        layer_id, name_col = gis.CHINA_ID, gis.CHINA_NAME
    else:
        layer_id = layer_id or inputs.id_col
        frame = gis.read_layer(layer, layer_id, layer=layer_name, encoding=encoding, crs=crs, options=SWEEP_OPTIONS)
        name_col = None
    subset = checked_panel_layer(inputs, frame, layer_id)
    means = None
    if kind.value in _ECONOMIC:
        from spillmap.run import pre_treatment_means

        means = pre_treatment_means(inputs, column, f"--econ-column {column}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IslandWarning)  # islands stay zero rows, as in the run config
        graph, _, _ = _layer_weights(subset, layer_id, name_col, kind=kind, islands=Islands.keep, means=means,
                                     column=column, **options)
    return graph


class Balance(str, Enum):
    drop_units = "drop-units"
    drop_periods = "drop-periods"
    interpolate = "interpolate"


BalanceOpt = Annotated[Optional[Balance], typer.Option(
    help="Balance an unbalanced panel for the spatial models: drop-units (keep units seen every period), "
         "drop-periods (keep periods with every unit) or interpolate (fill inner gaps linearly; units missing "
         "an edge year are dropped). Writes balance.csv. Default: refuse an unbalanced panel.")]


def _spatial_inputs(*args, balance, sample, pilots_keys, as_json: bool):  # noqa: ANN001, ANN002, ANN202
    """:func:`_inputs` for the spatial commands: a balanced panel is required unless --balance makes one
    (with one summary line)."""
    inputs = _inputs(*args, balanced=balance is None, sample=sample, pilots_keys=pilots_keys, as_json=as_json)
    if balance is None:
        return inputs
    from spillmap._balance import summary
    from spillmap.policy import balance_inputs

    inputs = balance_inputs(inputs, balance.value)
    if not as_json:
        _console().print(_escape(summary(inputs.balance_report, balance.value, "--balance")))
    return inputs


class SweepMode(str, Enum):
    ring = "ring"
    cumulative = "cumulative"


class BandWeight(str, Enum):
    inverse = "inverse"
    binary = "binary"


class SweepMethod(str, Enum):
    exposure = "exposure"
    kernel = "kernel"
    sdm = "sdm"
    separate = "separate"


class JointVce(str, Enum):
    cluster = "cluster"
    conley = "conley"


@app.command()
def sweep(
    panel: PanelArg = None, y: YOpt = None, id_col: IdOpt = None, time_col: TimeOpt = None,
    controls: ControlsOpt = None, pilots: PilotsOpt = None, treated_col: TreatedOpt = None,
    first_year_col: FirstYearOpt = None,
    layer: LayerOpt = None,
    layer_id: LayerIdOpt = None,
    layer_name: LayerNameOpt = None,
    encoding: EncodingOpt = None,
    crs: CrsOpt = None,
    band: BandOpt = 50.0,
    max_km: MaxOpt = 600.0,
    min_km: Annotated[float, typer.Option("--min", help="Inner edge of the first band, km.")] = 0.0,
    mode: Annotated[SweepMode, typer.Option(help="ring: (d-band, d]; cumulative: (0, d].")] = SweepMode.ring,
    weight: Annotated[BandWeight, typer.Option(help="Weights inside a band: inverse distance or binary.")] = BandWeight.inverse,
    alpha: AlphaOpt = 1.0,
    method: MethodOpt = Method.geodesic,
    estimator: Annotated[Optional[SweepMethod], typer.Option("--method", help=(
        "exposure: every band in one DID, each band net of the others (default for rings); kernel: the same "
        "with triangular kernels of distance, crossing interpolated inside bands; sdm: every band in one "
        "spatial Durbin model (rhoWy plus each band's W_k D); separate: the study's "
        "SDM-DID refitted band by band (intervals too narrow, see README)"))] = None,
    vce: Annotated[JointVce, typer.Option(help="Variance of the exposure DID: cluster (by unit) or conley.")] = JointVce.cluster,
    conley_km: Annotated[Optional[float], typer.Option(
        help="Bartlett cutoff of the Conley spatial HAC, km (with --vce conley).")] = None,
    effects: Annotated[int, typer.Option(help="Simulation draws for the effects and the crossover interval.")] = 1000,
    min_linked: Annotated[float, typer.Option(
        help="Share of units that must have a neighbour in a band for it to enter the crossover search.")] = 0.5,
    balance: BalanceOpt = None,
    exclude_units: ExcludeUnitsOpt = None, exclude_if: ExcludeIfOpt = None, years: YearsOpt = None,
    drop_batch: DropBatchOpt = None, pilots_id: PilotsIdOpt = None, pilots_year: PilotsYearOpt = None,
    seed: Annotated[int, typer.Option(
        help="Seed of the effect simulations (crossover interval) and the synthetic demo panel.")] = 0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cache: Annotated[Optional[Path], typer.Option(
        help="Folder for finished bands (resume); default OUT/.sweep-cache.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the band cache.")] = False,
    layers: Annotated[bool, typer.Option("--layers", help="Also write sweep_bands.gpkg: per-band per-city effects, styled for QGIS.")] = False,
    map_year: Annotated[Optional[int], typer.Option(help="Cities treated by this year for --layers (default: the last treatment year).")] = None,
    tables: TablesOpt = TABLES_DEFAULT,
    out: OutOpt = Path("out/sweep"),
    as_json: Annotated[bool, json_option("Print per-band effects and the crossover as JSON.")] = False,
) -> None:
    """Siphon radius: spillover by distance band, all bands in one DID; where does it turn negative?"""
    with _reported():
        _check_scheduler(scheduler)
        from spillmap.policy import map_year as check_map_year
        from spillmap.sweep import run_sweep

        inputs = _spatial_inputs(panel, y, id_col, time_col, controls, pilots, treated_col, first_year_col, seed,
                                 balance=balance, sample=(exclude_units, exclude_if, years, drop_batch),
                                 pilots_keys=(pilots_id, pilots_year), as_json=as_json)
        if map_year is not None:
            check_map_year(inputs, map_year)  # before any model runs
        frame = None
        if layer is not None:
            from spillmap import gis

            layer_id = layer_id or id_col
            if layer_id is None:
                raise typer.BadParameter("Name the id column of --layer with --layer-id (or --id).")
            frame = gis.read_layer(layer, layer_id, layer=layer_name, encoding=encoding, crs=crs,
                                   options=SWEEP_OPTIONS)
        with _progress(not as_json) as progress:
            written, headline, result = run_sweep(
                inputs, out, layer=frame, layer_id=layer_id, method=method.value, step_km=band, max_km=max_km,
                min_km=min_km, mode=mode.value, weight=weight.value, alpha=alpha, draws=effects, seed=seed,
                min_linked_share=min_linked, workers=workers, scheduler=scheduler,
                cache_dir=None if no_cache else (cache if cache is not None else "default"), layers=layers,
                map_year=map_year, progress=progress, estimator=estimator.value if estimator else None,
                vce=vce.value, cutoff_km=conley_km, paper_formats=paper_formats(tables),
            )
        if not as_json:
            console = _console()
            table = result.to_frame()
            from rich.table import Table

            view = Table(title=f"Indirect effect of DID by {result.mode} band ({result.weight} weights)")
            for col in ("band km", "nbrs", "islands", "rho", "indirect", "95% interval", ""):
                view.add_column(col, justify="right", no_wrap=True)
            for r in table.itertuples():
                if r.error:
                    view.add_row(r.band, f"{r.mean_neighbours:.1f}", str(r.islands), "", "", "", f"[red]{_escape(str(r.error))}[/]")
                    continue
                lo, hi = r.indirect_ci95_low, r.indirect_ci95_high
                mark = "[red]siphon[/]" if hi < 0 else ("[green]spillover[/]" if lo > 0 else "")
                view.add_row(r.band, f"{r.mean_neighbours:.1f}", str(r.islands), f"{r.rho:.3f}",
                             f"{r.indirect_estimate:.3f}", f"{lo:.3f} … {hi:.3f}",
                             mark if r.in_crossover else "[dim]sparse[/]")
            console.print(view)
            console.print(f"[bold]{_escape(result.crossover.statement)}[/]")
            if result.cached_bands:
                console.print(f"{result.cached_bands} of {len(result.bands)} bands read from the cache.")
        _report_written("spillmap sweep", written, headline, as_json, out)


@app.command()
def demo(
    out: OutOpt = Path("out"),
    band_km: BandOpt = 50.0,
    max_km: MaxOpt = 600.0,
    placebo: PlaceboOpt = 500,
    seed: Annotated[int, typer.Option(
        help="Seed of every random step: the synthetic panel, placebo draws and effect simulations.")] = 0,
) -> None:
    """The main job on the shipped China layer and pilot table with a SYNTHETIC panel of known effects:
    weights, DID chain, spatial Durbin DID, siphon-radius sweep, styled GeoPackage, maps and report."""
    with _reported():
        from spillmap.config import default_config
        from spillmap.pipeline import run_demo

        config = default_config()
        config["models"]["placebo"] = placebo
        # the study's whole chain on the synthetic panel: heterogeneity by region, mechanism and moderation
        # through the controls (the synthetic outcome has none: the tables show what "no effect" looks like)
        config["models"]["groups"] = ["region"]
        config["models"]["mediators"] = ["x1"]
        config["models"]["moderator"] = "x2"
        config["output"]["seed"] = seed
        config["sweep"]["band_km"], config["sweep"]["max_km"] = band_km, max_km
        _run(config, out, extras=lambda stage: run_demo(stage, band_km=band_km, max_km=max_km), title="spillmap demo",
             write_inputs=True)  # panel.csv and pilots.csv: go on from the demo with one's own commands


@app.command()
def run(
    config_file: Annotated[Path, typer.Argument(help="TOML configuration (see `spillmap.config`).", metavar="CONFIG")],
    out: OutOpt = Path("out"),
    as_json: Annotated[bool, json_option("Print the headline as JSON.")] = False,
) -> None:
    """Run the whole analysis a config file describes: DID chain, SDM-DID, sweep, map layers, report."""
    with _reported():
        from spillmap.config import load_config
        from spillmap.models._dask import scheduler_named

        config = load_config(config_file)
        # messages name the config key, not an option `run` does not have
        with scheduler_named("remove `scheduler` from [output] in the config to run on this machine"):
            scheduler = config["output"]["scheduler"]
            if scheduler:
                from spillmap.models._dask import check_scheduler

                check_scheduler(scheduler, source=f"scheduler in [output] of '{config_file}'")
            _run(config, out, title="spillmap run", as_json=as_json)


def _run(config, out: Path, *, extras=None, title: str, as_json: bool = False,  # noqa: ANN001
         write_inputs: bool = False) -> None:
    from spillmap.run import run_analysis

    console = _console(stderr=True)
    with _progress(not as_json) as progress:
        written, headline = run_analysis(
            config, out, progress=progress, extras=extras, write_inputs=write_inputs,
            step=None if as_json else (lambda msg: console.print(f"[dim]· {_escape(msg)}[/]")),
        )
    if as_json:
        typer.echo(_dumps(headline))
        return
    main = _closing_console(headline)
    if "sdid" in headline:
        main.print("SDM-DID effects of the policy: " + "; ".join(
            f"{k} {v['estimate']:.4f} [{v['ci_low']:.4f}, {v['ci_high']:.4f}]" for k, v in headline["sdid"].items()))
    if "sweep" in headline:
        main.print(f"[bold]{_escape(headline['sweep']['statement'])}[/]")
    gpkg = any(Path(p).name == "spillmap.gpkg" for p in written)
    _flush_pending()
    shown = _escape(str(out))
    main.print(f"[bold green]{title}[/] wrote {len(written)} files to {shown}/ — open {shown}/report.html"
               + (f" and {shown}/spillmap.gpkg (QGIS)" if gpkg else ""))


@app.command()
def version() -> None:
    """Print the spillmap version."""
    from spillmap import __version__

    typer.echo(__version__)


@app.command("qgis-plugin")
def qgis_plugin(
    out: Annotated[Path, out_option()] = Path("."),
) -> None:
    """Write the QGIS Processing plugin (spillmap_processing.zip) that runs this spillmap from QGIS."""
    with _reported():
        from spillmap.qgis_plugin import write_plugin_zip

        path = write_plugin_zip(out)
        typer.echo(str(path))
        typer.echo("Install it in QGIS: Plugins ▸ Manage and Install Plugins ▸ Install from ZIP; the algorithms are "
                   "in the Processing Toolbox under spillmap.")


@app.command()
def index(
    panel: Annotated[Path, typer.Argument(help="Panel file (CSV, Parquet or Stata .dta).")],
    positive: Annotated[Optional[str], typer.Option(help="Comma-separated indicators where more is better.")] = None,
    negative: Annotated[Optional[str], typer.Option(help="Comma-separated indicators where less is better.")] = None,
    name: Annotated[str, typer.Option("--column", help="Name of the index column to add.")] = "index",
    by: Annotated[Optional[str], typer.Option(help="Weights per group (e.g. year) instead of pooled.")] = None,
    id_col: IdOpt = None,
    out: Annotated[Path, out_option("Panel with the index added (.csv or .parquet).")] = Path("panel_index.csv"),
    weights_out: Annotated[Optional[Path], typer.Option(help="Write the entropy weights table (.csv).")] = None,
    as_json: Annotated[bool, json_option("Print the weights as JSON.")] = False,
) -> None:
    """Composite index by the entropy-weight method (e.g. a common-prosperity index) added to a panel."""
    with _reported():
        from spillmap.policy import add_entropy_index

        result, written = add_entropy_index(
            panel, out, positive=_split(positive), negative=_split(negative), name=name, by=by, id_col=id_col,
            weights_out=weights_out,
        )
        if as_json:
            typer.echo(_dumps(result.weights.to_dict(orient="records")))
            return
        console = _console()
        console.print(result.weights.to_string(index=False), markup=False)
        console.print(f"[bold green]spillmap index[/] wrote {_escape(', '.join(map(str, written)))}")


app.command()(zonal)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
