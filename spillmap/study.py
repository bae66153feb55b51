"""The whole study from Python or a notebook: a configuration in, a :class:`StudyResult` out.

:func:`run_study` runs what ``spillmap run CONFIG`` runs (:func:`spillmap.run.run_analysis`) into a
temporary folder and hands back every table as a pandas DataFrame, every figure, every map layer as a
GeoDataFrame and the headline dict; :meth:`StudyResult.save` writes exactly the folder the CLI writes::

    from spillmap import run_study

    res = run_study("study.toml")                 # or a dict: {"models": {"placebo": 100}}
    res.baseline                                  # TWFE DID table
    res.crossover["statement"]                    # where the spillover turns into a siphon
    res.effects.plot(column="recv")               # per-city effects on the map
    res.save("out")                               # the same files as `spillmap run study.toml --out out`

With no configuration the demo's setting is used: the shipped China prefecture layer and pilot table
with a SYNTHETIC panel of known effects (simulated outcome, not observed data).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay out of `import spillmap`
    import geopandas as gpd
    import pandas as pd

    from spillmap.config import RunConfig

__all__ = ["Study", "StudyResult", "run_study"]

#: Attribute → table file (without ``.csv``) in the result folder.
TABLES = {
    "baseline": "did/did_baseline",
    "event_study": "did/event_study",
    "robust_att": "did/robust_att",
    "placebo": "did/placebo",
    "bacon": "did/bacon_summary",
    "sdid_effects": "sdid/sdm_did_effects",
    "sdid_coefficients": "sdid/sdm_did_coefficients",
    "spatial_event_study": "sdid/spatial_event_study",
    "sweep": "sweep/sweep",
}
_CACHE = ".sweep-cache"


@dataclass
class Study:
    """A checked run configuration plus optional in-memory inputs; :meth:`run` runs it.

    ``config``: a TOML file, a dict shaped like one (``{"models": {"placebo": 100}}``), a checked
    :class:`~spillmap.config.RunConfig`, or ``None`` for the demo's synthetic setting. ``data`` (a panel
    DataFrame) and ``layer`` (a GeoDataFrame) stand in for ``[panel] path`` and ``[layer] path``; the
    config still names their columns (``[panel] id/time/outcome``, ``[layer] id``).
    """

    config: Any = None
    data: pd.DataFrame | None = None
    layer: gpd.GeoDataFrame | None = None

    def run(self, *, out: str | os.PathLike[str] | None = None, verbose: bool = False,
            write_inputs: bool = False) -> StudyResult:
        """Run the study; ``out`` keeps the result in that folder (else a temporary one)."""
        from spillmap.run import run_analysis

        tmp = tempfile.TemporaryDirectory(prefix="spillmap-study-")
        try:
            config = self._checked(Path(tmp.name) / "inputs")
            folder = Path(out) if out is not None else Path(tmp.name) / "out"
            say: Callable[[str], None] | None = (lambda msg: print(f"· {msg}", flush=True)) if verbose else None
            written, headline = run_analysis(config, folder, step=say, write_inputs=write_inputs)
        except BaseException:
            tmp.cleanup()
            raise
        if out is not None:
            tmp.cleanup()
            tmp = None
        return StudyResult(folder=folder, summary=headline, files=[Path(p) for p in written], config=config, _tmp=tmp)

    def _checked(self, inputs: Path) -> RunConfig:
        """The configuration checked as ``spillmap run`` checks it, with ``data``/``layer`` written to ``inputs``."""
        from spillmap.config import RunConfig, _check, default_config, load_config

        cfg = self.config
        if isinstance(cfg, (str, os.PathLike)):
            cfg = load_config(cfg)
        if self.data is None and self.layer is None:
            if cfg is None:
                return default_config()
            return cfg if isinstance(cfg, RunConfig) else _check(_plain(cfg), None)
        raw = cfg.to_dict() if isinstance(cfg, RunConfig) else _plain(cfg or {})
        inputs.mkdir(parents=True, exist_ok=True)
        if self.data is not None:
            panel = inputs / "panel.parquet"
            self.data.to_parquet(panel, index=False)
            raw.setdefault("panel", {})["path"] = str(panel)
        if self.layer is not None:
            layer = inputs / "layer.gpkg"
            self.layer.to_file(layer, layer="layer", driver="GPKG")
            raw.setdefault("layer", {}).update(path=str(layer), layer="layer")
        return _check(raw, None)


def run_study(
    config: str | os.PathLike[str] | Mapping[str, Any] | RunConfig | None = None,
    *,
    data: pd.DataFrame | None = None,
    layer: gpd.GeoDataFrame | None = None,
    out: str | os.PathLike[str] | None = None,
    verbose: bool = False,
    write_inputs: bool = False,
) -> StudyResult:
    """Run the whole study a configuration describes and return its :class:`StudyResult`.

    Same steps, checks and files as ``spillmap run`` (see :mod:`spillmap.config` for the keys);
    ``verbose`` prints each step, ``write_inputs`` also writes the panel and pilot table used (as the demo).
    """
    return Study(config, data=data, layer=layer).run(out=out, verbose=verbose, write_inputs=write_inputs)


@dataclass
class StudyResult:
    """What one run wrote, read back: tables (DataFrames), figures (PNG paths), layers (GeoDataFrames).

    Named tables are ``None`` when the run did not make them (e.g. ``sdid_effects`` with
    ``[models] sdid = false``); :attr:`tables` has every CSV by its path without ``.csv``.
    """

    folder: Path
    summary: dict
    files: list[Path]
    config: Any = None
    _tmp: Any = field(default=None, repr=False)  # keeps a temporary result folder alive

    # ----------------------------------------------------------- tables
    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every CSV table of the run, keyed by its path in the folder without ``.csv`` (``"did/did_baseline"``)."""
        import pandas as pd

        return {_key(p, self.folder): pd.read_csv(p) for p in self._files(".csv")}

    def table(self, name: str) -> pd.DataFrame | None:
        """A table by attribute name (see :data:`TABLES`) or file key; ``None`` when the run made none."""
        return self.tables.get(TABLES.get(name, name))

    baseline = property(lambda self: self.table("baseline"), doc="TWFE DID estimates (did/did_baseline.csv).")
    event_study = property(lambda self: self.table("event_study"), doc="Event-study coefficients.")
    robust_att = property(lambda self: self.table("robust_att"), doc="ATT by robust estimator (did2s, …).")
    placebo = property(lambda self: self.table("placebo"), doc="Placebo draws of the DID estimate.")
    bacon = property(lambda self: self.table("bacon"), doc="Goodman-Bacon decomposition summary.")
    sdid_effects = property(lambda self: self.table("sdid_effects"), doc="SDM-DID direct/indirect/total effects.")
    sdid_coefficients = property(lambda self: self.table("sdid_coefficients"), doc="SDM-DID coefficients.")
    spatial_event_study = property(lambda self: self.table("spatial_event_study"), doc="Spatial event study.")
    sweep = property(lambda self: self.table("sweep"), doc="Siphon-radius sweep: one row per distance band.")

    @property
    def crossover(self) -> dict | None:
        """Where the indirect effect turns from spillover to siphon (its ``statement`` says it in words)."""
        return self.summary.get("sweep")

    @property
    def synthetic(self) -> bool:
        """True when the outcome is the demo's SYNTHETIC panel (simulated, not observed)."""
        return bool(self.summary.get("synthetic"))

    # ---------------------------------------------------------- figures
    @property
    def figures(self) -> dict[str, Path]:
        """Every PNG figure and map, keyed by its path without ``.png`` (``"did/event_study"``, ``"maps/effects_recv"``)."""
        return {_key(p, self.folder): p for p in self._files(".png")}

    def image(self, name: str) -> Any:  # IPython.display.Image
        """A figure for a notebook cell to show (``IPython.display.Image``)."""
        from IPython.display import Image

        return Image(filename=str(self.figures[name]))

    # ----------------------------------------------------------- layers
    @cached_property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The GeoPackage's layers (``effects``, ``weights_summary``, sweep bands …) as GeoDataFrames."""
        import geopandas as gpd
        import pyogrio

        gpkg = self.folder / "spillmap.gpkg"
        if gpkg.is_file():
            names = [str(n) for n, _geom in pyogrio.list_layers(gpkg) if n != "layer_styles"]
            return {n: gpd.read_file(gpkg, layer=n) for n in names}
        geojson = self.folder / "effects.geojson"
        return {"effects": gpd.read_file(geojson)} if geojson.is_file() else {}

    @property
    def effects(self) -> gpd.GeoDataFrame | None:
        """Per-city SDM-DID effects (own, received, emitted) on the geometries."""
        return self.layers.get("effects")

    # ------------------------------------------------------------- save
    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write the run's files into ``folder`` as ``spillmap run --out folder`` would; return them.

        ``folder`` is replaced whole, with the CLI's checks (new, empty, or an earlier spillmap result).
        """
        from spillmap._files import MARKER, final_paths, staged_output

        target = Path(folder)
        if target.exists() and self.folder.exists() and target.resolve() == self.folder.resolve():
            return list(self.files)
        written: list[Path] = []
        with staged_output(target) as stage:
            for src in sorted(self.folder.rglob("*")):
                rel = src.relative_to(self.folder)
                if not src.is_file() or rel.parts[0] == _CACHE or rel.as_posix() == MARKER:
                    continue
                dest = stage / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                written.append(dest)
        return final_paths(written, stage, target)

    def _files(self, suffix: str) -> list[Path]:
        return sorted(p for p in self.folder.rglob(f"*{suffix}") if _CACHE not in p.relative_to(self.folder).parts)

    def __repr__(self) -> str:
        label = " SYNTHETIC" if self.synthetic else ""
        return f"<StudyResult{label}: {len(self.files)} files in {self.folder}>"


def _key(path: Path, folder: Path) -> str:
    return path.relative_to(folder).with_suffix("").as_posix()


def _plain(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh two-level dict (so the caller's dict is not changed)."""
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in cfg.items()}
