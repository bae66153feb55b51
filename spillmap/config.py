"""The ``spillmap run`` configuration: a TOML file, checked key by key before anything runs.

Every section and key is listed in :data:`SCHEMA` with its type and default;
an unknown key, a wrong type or a missing required key is one clear error
naming the key (and, for a typo, the keys that exist). Relative paths are
resolved against the config file's folder.

Example (every key optional except where noted)::

    [layer]                       # default: the shipped China prefecture layer
    path = "cities.gpkg"
    id = "code"                   # required with path
    name = "name"
    layer = "cities"              # layer inside a GeoPackage
    encoding = "gb18030"          # Shapefile .dbf codec
    crs = "EPSG:4326"             # only if the layer has none

    [panel]                       # default: a synthetic panel with known effects
    path = "panel.csv"            # CSV, Parquet or Stata .dta
    id = "code"
    time = "year"
    outcome = "cp"
    controls = ["gdp", "pop"]
    treated = "did"               # or first_year = "fy", or pilots = "pilots.csv"
    pilots_id = "code"            # a pilot table keyed by unit id: its id column (default: one named like id)
    pilots_year = "first_year"    # ... and its first-year column (default: first_year, year or batch_year)

    [weights]
    kind = "inverse"              # inverse | ring | knn
    cutoff_km = 300.0
    alpha = 1.0
    # or several matrices, one SDM-DID column each in sdid_by_weights (kind: inverse | ring | knn |
    # economic | nested | file; economic/nested: 1/|x_i - x_j| of a panel column's pre-treatment mean):
    # matrices = [{name = "geo", kind = "inverse", cutoff_km = 600}, {name = "econ", kind = "economic",
    #             column = "gdp"}, {name = "nested", kind = "nested", column = "gdp"}, {name = "file", path = "w.gal"}]
    # main = "geo"                # the one used for maps, the sweep's report and weights_main (default: the first)

    [models]
    did = true
    sdid = true
    placebo = 500
    leads = 4
    lags = 4
    ref_period = -1               # event-study reference period: -1 … -(leads - 1)
    robust = true
    effects_draws = 1000
    sdid_model = "sdm"            # spatial DID of sdid, its event study and sdid_by_weights: sdm | sar | sdem | slx
    sdid_fe = "twoways"           # ... and its fixed effects: unit | time | twoways
    groups = ["region"]
    mediators = []
    moderator = ""
    moderate = ""
    balance = ""                  # spatial steps on an unbalanced panel: drop-units | drop-periods | interpolate
    psm = []                      # PSM-DID covariates, e.g. ["x1", "x2"] (psm_method = "nearest" | "kernel",
                                  # psm_caliper = 0.05 in propensity-score units, psm_pooled = false: by treatment year)

    [sweep]
    enabled = true
    band_km = 50.0
    max_km = 600.0
    mode = "ring"
    weight = "inverse"
    method = "exposure"           # every band in one DID (default for rings) | separate (the study's per-band refit)
    vce = "cluster"               # cluster (by unit) | conley (with conley_km)

    [sample]                      # optional: an alternative sample of your panel (sample.csv lists what went)
    exclude_units = ["110000"]    # unit ids
    exclude_if = ["capital == 1"] # COLUMN OP VALUE: == != < <= > >=, or "province in a|b"
    years = [2011, 2019]          # keep this window
    drop_batch = [2016]           # drop units first treated in these years

    [index]                       # optional: an entropy-weight composite index built into the panel
    name = "cp"                   # e.g. the outcome: set [panel] outcome = "cp"
    positive = ["income", "gdp_pc"]
    negative = ["gini"]
    by = "year"                   # weights per year (default: pooled)

    [rasters]                     # optional: zonal statistics of a GeoTIFF series merged into the panel
    pattern = "ntl_{year}.tif"    # columns r_mean, … usable as controls
    prefix = "r_"
    stats = ["mean"]

    [output]
    seed = 0
    workers = 2
    map_column = "recv"
    geotiff_resolution_m = 10000.0
    formats = ["gpkg", "shp", "geojson", "tif"]
    tables = ["md", "tex", "docx", "html"]   # publication tables; [] for none
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spillmap.errors import SpillmapError

__all__ = ["ConfigError", "RunConfig", "SCHEMA", "load_config", "default_config"]


class ConfigError(SpillmapError):
    """The run configuration has an unknown key, a wrong type or a missing value."""


_NUM = (int, float)
#: section → key → (accepted types, default). ``None`` default: optional, unset.
#: Formats of the publication tables (spillmap._paper, --tables).
TABLE_FORMATS = ("md", "tex", "docx", "html")
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "layer": {
        "path": ((str,), None), "id": ((str,), None), "name": ((str,), None), "layer": ((str,), None),
        "encoding": ((str,), None), "crs": ((str,), None),
    },
    "panel": {
        "path": ((str,), None), "id": ((str,), None), "time": ((str,), None), "outcome": ((str,), None),
        "controls": ((list,), []), "treated": ((str,), None), "first_year": ((str,), None),
        "pilots": ((str,), None), "pilots_id": ((str,), None), "pilots_year": ((str,), None),
    },
    "weights": {
        "kind": ((str,), "inverse"), "cutoff_km": (_NUM, None), "alpha": (_NUM, 1.0), "k": ((int,), 5),
        "inner_km": (_NUM, 0.0), "matrices": ((list,), []), "main": ((str,), None),
    },
    "models": {
        "did": ((bool,), True), "sdid": ((bool,), True), "placebo": ((int,), 500), "placebo_mode": ((str,), "random"),
        "leads": ((int,), 4), "lags": ((int,), 4), "ref_period": ((int,), -1), "robust": ((bool,), True),
        "effects_draws": ((int,), 1000),
        "groups": ((list,), []), "mediators": ((list,), []), "moderator": ((str,), ""), "moderate": ((str,), ""),
        "bootstrap": ((int,), 500), "event_study": ((bool,), True), "vce": ((str,), "oim"),
        "sdid_model": ((str,), "sdm"), "sdid_fe": ((str,), "twoways"),
        "balance": ((str,), ""),
        "psm": ((list,), []), "psm_method": ((str,), "nearest"), "psm_caliper": (_NUM, 0.05),
        "psm_pooled": ((bool,), True), "cs_control_group": ((str,), "never"),
    },
    "sweep": {
        "enabled": ((bool,), True), "band_km": (_NUM, 50.0), "max_km": (_NUM, 600.0), "min_km": (_NUM, 0.0),
        "mode": ((str,), "ring"), "weight": ((str,), "inverse"), "alpha": (_NUM, 1.0),
        "min_linked_share": (_NUM, 0.5), "cache": ((bool,), True), "method": ((str,), ""),
        "vce": ((str,), "cluster"), "conley_km": (_NUM, None),
    },
    "sample": {
        "exclude_units": ((list,), []), "exclude_if": ((list,), []), "years": ((list,), None),
        "drop_batch": ((list,), []),
    },
    "index": {
        "name": ((str,), None), "positive": ((list,), []), "negative": ((list,), []), "by": ((str,), None),
    },
    "rasters": {
        "pattern": ((str,), None), "prefix": ((str,), "r_"), "stats": ((list,), ["mean"]),
        "all_touched": ((bool,), False), "band": ((int,), 1),
    },
    "output": {
        "seed": ((int,), 0), "workers": ((int,), None), "scheduler": ((str,), None), "map_column": ((str,), "recv"),
        "map_year": ((int,), None), "geotiff_resolution_m": (_NUM, 10000.0), "geotiff_nodata": (_NUM, -9999.0),
        "geotiff_crs": ((str,), None),
        "formats": ((list,), ["gpkg", "shp", "geojson", "tif"]), "classes": ((int,), 7),
        "tables": ((list,), list(TABLE_FORMATS)),
    },
}
_CHOICES = {
    ("weights", "kind"): ("inverse", "ring", "knn"),
    ("sweep", "mode"): ("ring", "cumulative"),
    ("sweep", "weight"): ("inverse", "binary"),
    ("sweep", "method"): ("", "exposure", "kernel", "sdm", "separate"),
    ("sweep", "vce"): ("cluster", "conley"),
    ("models", "vce"): ("oim", "robust", "cluster", "dk"),
    ("models", "sdid_model"): ("sdm", "sar", "sdem", "slx"),
    ("models", "sdid_fe"): ("unit", "time", "twoways"),
    ("models", "placebo_mode"): ("random", "timing"),
    ("models", "balance"): ("", "drop-units", "drop-periods", "interpolate"),
    ("models", "psm_method"): ("nearest", "kernel"),
    ("models", "cs_control_group"): ("never", "notyet"),
    ("output", "map_column"): ("own", "recv", "emit"),
}
#: (section, key) → (test of a given value, what it must be): numbers outside these are rejected up front.
_RANGES: dict[tuple[str, str], tuple[Any, str]] = {
    ("weights", "cutoff_km"): (lambda v: v > 0, "a distance above 0 km"),
    ("weights", "alpha"): (lambda v: v >= 0, "0 or more (weight = km ** -alpha)"),
    ("weights", "k"): (lambda v: v >= 1, "1 or more neighbours"),
    ("weights", "inner_km"): (lambda v: v >= 0, "0 km or more"),
    ("models", "placebo"): (lambda v: v >= 0, "0 (no placebo) or more draws"),
    ("models", "leads"): (lambda v: v >= 0, "0 or more periods"),
    ("models", "lags"): (lambda v: v >= 0, "0 or more periods"),
    ("models", "ref_period"): (lambda v: v < 0, ("a pre-treatment period relative to the first treated year: "
                                                 "-1 (the default) or earlier, inside the window of [models] leads")),
    ("models", "effects_draws"): (lambda v: v >= 1, "1 or more draws"),
    ("models", "bootstrap"): (lambda v: v >= 0, "0 or more draws"),
    ("models", "psm_caliper"): (lambda v: v > 0, "a propensity-score difference above 0"),
    ("sweep", "band_km"): (lambda v: v > 0, "a band width above 0 km"),
    ("sweep", "max_km"): (lambda v: v > 0, "a distance above 0 km"),
    ("sweep", "min_km"): (lambda v: v >= 0, "0 km or more"),
    ("sweep", "alpha"): (lambda v: v >= 0, "0 or more"),
    ("sweep", "min_linked_share"): (lambda v: 0 <= v <= 1, "a share between 0 and 1"),
    ("sweep", "conley_km"): (lambda v: v > 0, "a distance above 0 km"),
    ("rasters", "band"): (lambda v: v >= 1, "a raster band number from 1"),
    ("output", "seed"): (lambda v: v >= 0, "0 or more"),
    ("output", "workers"): (lambda v: v >= 0, "0 (run in this process) or more threads"),
    ("output", "geotiff_resolution_m"): (lambda v: v > 0, "a cell size above 0 m"),
    ("output", "classes"): (lambda v: 2 <= v <= 20, "between 2 and 20 classes"),
}
_FORMATS = ("gpkg", "shp", "geojson", "tif")
#: section → its keys that list whole numbers (years), checked in :func:`_check_sample`.
_INT_LISTS = {"sample": ("years", "drop_batch")}
_KIND = {(int,): "a whole number", _NUM: "a number", (str,): "text in quotes", (bool,): "true or false",
         (list,): "a list, e.g. [\"a\", \"b\"]"}
_PATHS = {("layer", "path"), ("panel", "path"), ("panel", "pilots"), ("rasters", "pattern")}


@dataclass(frozen=True)
class RunConfig:
    """A checked configuration: ``sections[section][key]`` with defaults filled in."""

    sections: dict[str, dict[str, Any]]
    source: Path | None = None

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.sections[section]

    @property
    def synthetic(self) -> bool:
        """True when no panel is given: the demo's synthetic panel is used."""
        return self.sections["panel"]["path"] is None

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s: dict(v) for s, v in self.sections.items()}


def default_config() -> RunConfig:
    """The demo's configuration: shipped layer and pilots, synthetic panel, everything on."""
    return _check({}, None)


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and check a TOML run configuration (see the module docstring for the keys)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"Config file '{file}' not found.")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"'{file}' is not valid TOML: {err}.") from None
    return _check(raw, file)


def _check(raw: dict[str, Any], source: Path | None) -> RunConfig:
    where = f"'{source}'" if source else "the configuration"
    for section in raw:
        if section not in SCHEMA:
            raise ConfigError(f"{where}: unknown section [{section}]{_suggest(section, SCHEMA)}; "
                              f"the sections are: {', '.join(f'[{s}]' for s in SCHEMA)}.")
        if not isinstance(raw[section], dict):
            raise ConfigError(f"{where}: '{section}' must be a [{section}] table.")
    out: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        for key in given:
            if key not in keys:
                raise ConfigError(f"{where}: unknown key '{key}' in [{section}]{_suggest(key, keys)}; "
                                  f"the keys of [{section}] are: {', '.join(keys)}.")
        values = {}
        for key, (types, default) in keys.items():
            value = given.get(key, default)
            if value is not None and key in given:
                ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
                if not ok:
                    kind = _KIND.get(types, types[0].__name__)
                    raise ConfigError(f"{where}: [{section}] {key} must be {kind}, not {value!r}.")
                choices = _CHOICES.get((section, key))
                if choices and value not in choices:
                    raise ConfigError(f"{where}: [{section}] {key} = {value!r}; choose one of {', '.join(choices)}.")
                limit = _RANGES.get((section, key))
                if limit and (not math.isfinite(value) or not limit[0](value)):
                    raise ConfigError(f"{where}: [{section}] {key} = {value!r}; it must be {limit[1]}.")
                if isinstance(value, list) and key not in ("formats", "matrices", *_INT_LISTS.get(section, ())) and not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{where}: [{section}] {key} must list names in quotes, e.g. "
                                      f"[\"a\", \"b\"]; found {value!r}.")
                if (section, key) in _PATHS and source is not None:
                    value = str((source.parent / value).resolve()) if not Path(value).is_absolute() else value
            values[key] = list(value) if isinstance(value, list) else value
        out[section] = values
    bad = [f for f in out["output"]["formats"] if f not in _FORMATS]
    if bad:
        raise ConfigError(f"{where}: [output] formats has {bad}; choose among {', '.join(_FORMATS)}.")
    bad = [f for f in out["output"]["tables"] if f not in TABLE_FORMATS]
    if bad:
        raise ConfigError(f"{where}: [output] tables has {bad}; choose among {', '.join(TABLE_FORMATS)} "
                          "(or [] for no publication tables).")
    if out["layer"]["path"] and not out["layer"]["id"]:
        raise ConfigError(f"{where}: [layer] path is given but not its id column: set [layer] id.")
    panel = out["panel"]
    if panel["path"]:
        missing = [k for k in ("id", "time", "outcome") if not panel[k]]
        if missing:
            raise ConfigError(f"{where}: [panel] path is given; set [panel] {', '.join(missing)} as well.")
        if out["layer"]["path"] and not (panel["treated"] or panel["first_year"]):
            raise ConfigError(f"{where}: with your own layer, name the treatment in [panel]: treated (0/1 column) "
                              "or first_year (first treated year column).")
    if (panel["pilots_id"] or panel["pilots_year"]) and not panel["pilots"]:
        raise ConfigError(f"{where}: [panel] pilots_id / pilots_year name the columns of a pilot table keyed by "
                          "unit id; set [panel] pilots to that table.")
    if panel["treated"] and panel["first_year"]:
        raise ConfigError(f"{where}: [panel] sets both treated and first_year; keep one of them.")
    if (panel["treated"] or panel["first_year"]) and panel["pilots"]:
        which = "treated" if panel["treated"] else "first_year"
        raise ConfigError(f"{where}: [panel] sets both {which} and pilots; keep one treatment source.")
    models = out["models"]
    if "ref_period" in raw.get("models", {}) and models["ref_period"] <= -models["leads"]:
        low = f"-1 … -{models['leads'] - 1}" if models["leads"] >= 2 else "none: raise leads to 2 or more"
        raise ConfigError(f"{where}: [models] ref_period = {models['ref_period']!r} is outside the event-study "
                          f"window of [models] leads = {models['leads']!r} ({low}; -{models['leads']} bins all "
                          "earlier periods); raise leads or choose a later reference period.")
    sweep = out["sweep"]
    if sweep["enabled"] and sweep["max_km"] <= sweep["min_km"]:
        raise ConfigError(f"{where}: [sweep] max_km = {sweep['max_km']!r} must be beyond min_km = "
                          f"{sweep['min_km']!r}.")
    if sweep["enabled"] and sweep["band_km"] > sweep["max_km"] - sweep["min_km"]:
        raise ConfigError(f"{where}: [sweep] band_km = {sweep['band_km']!r} is wider than the swept distance "
                          f"(min_km {sweep['min_km']!r} to max_km {sweep['max_km']!r}); lower band_km or raise max_km.")
    if out["weights"]["kind"] == "ring" and out["weights"]["cutoff_km"] is not None \
            and out["weights"]["inner_km"] >= out["weights"]["cutoff_km"]:
        raise ConfigError(f"{where}: [weights] inner_km = {out['weights']['inner_km']!r} must be below cutoff_km = "
                          f"{out['weights']['cutoff_km']!r}.")
    if out["weights"]["kind"] == "ring" and out["weights"]["cutoff_km"] is None:
        raise ConfigError(f"{where}: [weights] kind = 'ring' needs cutoff_km (the ring's outer edge, km) "
                          "and optionally inner_km.")
    _check_sample(out["sample"], where, panel_given=bool(panel["path"]), given="sample" in raw)
    _check_matrices(out["weights"], where, source)
    index = out["index"]
    if index["name"] and not (index["positive"] or index["negative"]):
        raise ConfigError(f"{where}: [index] name = {index['name']!r} needs positive and/or negative indicators.")
    if index["name"] and not panel["path"]:
        raise ConfigError(f"{where}: [index] builds an outcome from your panel's indicators; set [panel] path.")
    if out["rasters"]["pattern"] and not panel["path"]:
        raise ConfigError(f"{where}: [rasters] adds covariates to your panel; set [panel] path as well.")
    return RunConfig(out, source)


def _check_sample(sample: dict[str, Any], where: str, *, panel_given: bool, given: bool) -> None:
    """``[sample]``: whole-number years, a valid year window, parseable conditions, and a panel to apply them to."""
    for key in ("years", "drop_batch"):
        value = sample[key]
        if value is not None and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{where}: [sample] {key} must list whole years, e.g. [2011, 2019]; found {value!r}.")
    if sample["years"] is not None and (len(sample["years"]) != 2 or sample["years"][0] > sample["years"][1]):
        raise ConfigError(f"{where}: [sample] years = {sample['years']!r}; it must be [first, last], e.g. "
                          "[2011, 2019], first not after last.")
    from spillmap._sample import parse_condition

    for text in sample["exclude_if"]:
        try:
            parse_condition(text, key="[sample] exclude_if")
        except SpillmapError as err:
            raise ConfigError(f"{where}: {err}") from None
    if given and not panel_given and any(sample[k] for k in sample):
        raise ConfigError(f"{where}: [sample] selects from your panel; set [panel] path as well.")


def _suggest(name: str, options: dict) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


#: Keys of one ``[weights] matrices`` entry and their defaults (``kind`` defaults to file with a path, else inverse).
MATRIX_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "name": ((str,), None), "kind": ((str,), None), "path": ((str,), None), "cutoff_km": (_NUM, None),
    "alpha": (_NUM, 1.0), "k": ((int,), 5), "inner_km": (_NUM, 0.0), "column": ((str,), None),
}
MATRIX_KINDS = ("inverse", "ring", "knn", "economic", "nested", "file")


def _check_matrices(wcfg: dict[str, Any], where: str, source: Path | None) -> None:
    """``[weights] matrices``: each a table with a unique name, a known kind and that kind's keys; ``main`` one of
    the names (default: the first). Entries are filled with their defaults in place."""
    entries = wcfg["matrices"]
    if not entries:
        if wcfg["main"] is not None:
            raise ConfigError(f"{where}: [weights] main = {wcfg['main']!r} names a matrix, but [weights] matrices "
                              "lists none.")
        return
    checked: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        at = f"[weights] matrices[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {at} must be a table such as {{name = \"geo\", kind = \"inverse\"}}, "
                              f"not {entry!r}.")
        for key in entry:
            if key not in MATRIX_KEYS:
                raise ConfigError(f"{where}: unknown key '{key}' in {at}{_suggest(key, MATRIX_KEYS)}; its keys are: "
                                  f"{', '.join(MATRIX_KEYS)}.")
        m = {key: entry.get(key, default) for key, (_, default) in MATRIX_KEYS.items()}
        for key, (types, _) in MATRIX_KEYS.items():
            value = entry.get(key)
            if value is None:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ConfigError(f"{where}: {at} {key} must be {_KIND.get(types, types[0].__name__)}, not {value!r}.")
            limit = _RANGES.get(("weights", key))
            if limit and (not math.isfinite(value) or not limit[0](value)):
                raise ConfigError(f"{where}: {at} {key} = {value!r}; it must be {limit[1]}.")
        if not m["name"]:
            raise ConfigError(f"{where}: {at} needs a name (the column of sdid_by_weights), e.g. name = \"geo\".")
        at = f"{at} (name = {m['name']!r})"
        if m["name"] in [c["name"] for c in checked]:
            raise ConfigError(f"{where}: {at}: the name is used twice in [weights] matrices; give each its own.")
        m["kind"] = m["kind"] or ("file" if m["path"] else "inverse")
        if m["kind"] not in MATRIX_KINDS:
            raise ConfigError(f"{where}: {at} kind = {m['kind']!r}; choose one of {', '.join(MATRIX_KINDS)}.")
        if (m["kind"] == "file") != bool(m["path"]):
            raise ConfigError(f"{where}: {at}: " + ("kind = 'file' needs path (a .gal, .gwt, .npz or CSV weights file)."
                                                    if m["kind"] == "file" else
                                                    f"path is for kind = 'file', not kind = {m['kind']!r}; drop one."))
        if m["kind"] in ("economic", "nested") and not m["column"]:
            raise ConfigError(f"{where}: {at} kind = {m['kind']!r} needs column (the panel column whose "
                              "pre-treatment mean sets the economic distance), e.g. column = \"gdp\".")
        if m["kind"] == "ring" and (m["cutoff_km"] is None or m["inner_km"] >= m["cutoff_km"]):
            raise ConfigError(f"{where}: {at} kind = 'ring' needs cutoff_km (the outer edge, km) above inner_km.")
        if m["path"] and source is not None and not Path(m["path"]).is_absolute():
            m["path"] = str((source.parent / m["path"]).resolve())
        checked.append(m)
    names = [m["name"] for m in checked]
    if wcfg["main"] is None:
        wcfg["main"] = names[0]
    elif wcfg["main"] not in names:
        raise ConfigError(f"{where}: [weights] main = {wcfg['main']!r} is not a name in [weights] matrices "
                          f"({', '.join(names)}).")
    wcfg["matrices"] = checked
