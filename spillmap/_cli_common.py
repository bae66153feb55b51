"""What the ``spillmap`` commands share: error/warning reporting, console, progress bars and option declarations.

Imports neither :mod:`spillmap.cli` nor a command's module, so both can
import it; rich and the rest of spillmap are imported inside the functions,
so ``spillmap --help`` stays fast. An option several commands take is
declared here once: an ``*Opt`` alias where they all describe it alike, a
``*_option(help)`` factory where a command words its help itself.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.models import OptionInfo

if TYPE_CHECKING:
    from rich.console import Console

#: Reports the progress of a long step: ``update(name, done, total)``.
ProgressUpdate = Callable[[str, int, int], None]


def _console(stderr: bool = False) -> Console:
    """A rich console that leaves text as it is (no highlighting, no hard wrapping)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    """Messages may hold [brackets] (config sections, lists): not rich markup."""
    from rich.markup import escape

    return escape(text)


def _dumps(obj: object) -> str:
    """JSON for --json: numbers at 10 significant digits like the written files."""
    from spillmap._json import dumps

    return dumps(obj)


def _split(text: str | None) -> list[str]:
    """A comma-separated option as its non-empty, stripped items."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


#: The running command's caught warnings, so the last line printed can come after them.
_PENDING: list[list[warnings.WarningMessage]] = []


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Show spillmap warnings in yellow; turn spillmap errors into one red line and exit 1."""
    from spillmap.errors import SpillmapError, SpillmapWarning

    err = _console(stderr=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpillmapWarning)
        _PENDING[:] = [caught]
        try:
            yield
        except SpillmapError as exc:
            _flush(caught, err)
            err.print(f"[bold red]error:[/] {_escape(str(exc))}", markup=True)
            raise typer.Exit(code=1) from None
        except PermissionError as exc:
            _flush(caught, err)
            err.print(f"[bold red]error:[/] cannot write '{_escape(str(exc.filename))}': permission denied; "
                      "choose a folder you can write to (--out).", markup=True)
            raise typer.Exit(code=1) from None
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
            if os.environ.get("SPILLMAP_DEBUG") or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise  # usage errors and exits are typer's to show
            _flush(caught, err)
            err.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {_escape(str(exc))} — an input "
                      "spillmap does not check yet, or a bug. Run again with SPILLMAP_DEBUG=1 to see where, and "
                      "please report it with the command.", markup=True)
            raise typer.Exit(code=1) from None
        _flush(caught, err)


def _flush_pending() -> None:
    """Print the warnings caught so far (before the closing line that points to the outputs)."""
    if _PENDING:
        _flush(_PENDING[0], _console(stderr=True))


def _flush(caught: list[warnings.WarningMessage], err: Console) -> None:
    """Print each distinct spillmap warning once, in yellow, and forget them."""
    from spillmap.errors import SpillmapWarning

    seen = set()
    for w in caught:
        if issubclass(w.category, SpillmapWarning) and str(w.message) not in seen:
            seen.add(str(w.message))
            err.print(f"[yellow]warning:[/] {_escape(str(w.message))}", markup=True)
    caught.clear()


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[ProgressUpdate | None]:
    """Progress bars on stderr, one per step name; yields ``None`` when ``enabled`` is false."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console(stderr=True), transient=True) as progress:
        def update(name: str, done: int, total: int) -> None:
            if name not in bars:
                bars[name] = progress.add_task(name, total=total)
            progress.update(bars[name], completed=done)

        yield update


# ---- options a command may word itself (the default, if any, is the shared help)
_LAYER_HELP = "Boundary layer (.shp/.gpkg/.geojson); default: the shipped China prefectures."
_ID_HELP = "Unit id column (default 'code' for the shipped layer)."


def layer_option(help: str = _LAYER_HELP) -> OptionInfo:  # noqa: A002 - typer's name
    """``--layer``: a boundary layer file."""
    return typer.Option("--layer", help=help)


def id_option(help: str = _ID_HELP) -> OptionInfo:  # noqa: A002
    """``--id``: the unit id column."""
    return typer.Option("--id", help=help)


def time_option(help: str = "Period (year) column.") -> OptionInfo:  # noqa: A002
    """``--time``: the period column of a panel."""
    return typer.Option("--time", help=help)


def out_option(help: str = "Output folder (created if missing).") -> OptionInfo:  # noqa: A002
    """``--out``: where the command writes."""
    return typer.Option("--out", help=help)


def json_option(help: str) -> OptionInfo:  # noqa: A002
    """``--json``: print the result as JSON instead of tables; ``help`` says what is printed."""
    return typer.Option("--json", help=help)


# ---- layer options
LayerOpt = Annotated[Optional[Path], layer_option()]
IdOpt = Annotated[Optional[str], id_option()]
NameOpt = Annotated[Optional[str], typer.Option("--name", help="Column of unit names used in messages.")]
LayerNameOpt = Annotated[Optional[str], typer.Option("--layer-name", help="Layer inside a GeoPackage.")]
EncodingOpt = Annotated[Optional[str], typer.Option("--encoding", help="Shapefile .dbf codec, e.g. gb18030.")]
CrsOpt = Annotated[Optional[str], typer.Option(
    "--crs", help="CRS for a layer file that declares none, e.g. EPSG:4326.")]

# ---- panel columns and treatment (did, sdid, sweep)
PanelArg = Annotated[Optional[Path], typer.Argument(
    help="Long panel (CSV, Parquet, Stata .dta); omit for the synthetic demo panel on the shipped layer.")]
YOpt = Annotated[Optional[str], typer.Option("--y", help="Outcome column.")]
TimeOpt = Annotated[Optional[str], time_option()]
ControlsOpt = Annotated[Optional[str], typer.Option(help="Control columns, comma-separated.")]
PilotsOpt = Annotated[Optional[Path], typer.Option(
    help="Pilot table (CSV as shipped) instead of the Broadband China list.")]
TreatedOpt = Annotated[Optional[str], typer.Option(help="0/1 treatment column instead of a pilot table.")]
FirstYearOpt = Annotated[Optional[str], typer.Option(help="Column with each unit's first treated year.")]


# ---- distances, bands and draws (weights, sweep, demo, did)
class Method(str, Enum):
    geodesic = "geodesic"
    planar = "planar"


MethodOpt = Annotated[Method, typer.Option("--distance", help="Distance: geodesic (ellipsoid) or planar.")]
AlphaOpt = Annotated[float, typer.Option(help="Distance-decay exponent: weight = km ** -alpha.")]
BandOpt = Annotated[float, typer.Option("--band", help="Band width of the siphon-radius sweep, km.")]
MaxOpt = Annotated[float, typer.Option("--max", help="Outer edge of the last band, km.")]
PlaceboOpt = Annotated[int, typer.Option(help="Placebo draws (0: none).")]

# ---- output and execution
OutOpt = Annotated[Path, out_option()]
HeadlineJsonOpt = Annotated[bool, json_option("Print the headline estimates as JSON.")]
TablesOpt = Annotated[str, typer.Option(
    "--tables", help="Publication tables in tables/ (columns = specifications, stars, SE in parentheses): "
                     "comma-separated md, tex, docx, html; 'none' for none.")]
TABLES_DEFAULT = "md,tex,docx,html"  # every format of spillmap.config.TABLE_FORMATS


class CsControl(str, Enum):
    never = "never"
    notyet = "notyet"


def paper_formats(text: str) -> tuple[str, ...]:
    """``--tables`` as a tuple of formats; one error naming a wrong one."""
    from spillmap.config import TABLE_FORMATS
    from spillmap.errors import SpillmapError

    wanted = [t.strip().lower().lstrip(".") for t in text.split(",") if t.strip()]
    if wanted in (["none"], []):
        return ()
    bad = [t for t in wanted if t not in TABLE_FORMATS]
    if bad:
        raise SpillmapError(f"--tables {text!r}: {', '.join(bad)} is not a table format; give a comma-separated "
                            f"list of {', '.join(TABLE_FORMATS)}, or 'none'.")
    return tuple(dict.fromkeys(wanted))
WorkersOpt = Annotated[Optional[int], typer.Option(
    help="Dask threads of an in-process cluster (default 2; 0: run in this process).")]
SchedulerOpt = Annotated[Optional[str], typer.Option(help="Address of a running Dask scheduler.")]


class Vce(str, Enum):
    oim = "oim"
    robust = "robust"
    cluster = "cluster"
    dk = "dk"


VceOpt = Annotated[Vce, typer.Option(
    help="Standard errors: oim (information matrix), robust (sandwich), cluster (by unit), dk (Driscoll-Kraay).")]
