"""The run's report: choropleths (mapclassify classes), a static HTML page, and ``manifest.json``."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from spillmap._files import atomic_path

__all__ = ["choropleths", "write_report", "write_manifest"]

_LABELS = {"own": "own effect S_ii", "recv": "spillover received from treated cities",
           "emit": "spillover emitted to all other cities"}
_PACKAGES = ("spillmap", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "libpysal",
             "spreg", "pyfixest", "rasterio", "matplotlib", "mapclassify", "dask", "distributed")


def choropleths(maps: dict, folder: Path, *, config, synthetic: bool, year: int, crossover=None) -> list[Path]:  # noqa: ANN001
    """PNG maps of own/received/emitted effects (main W) and received spillover by sweep band."""
    from matplotlib.figure import Figure

    from spillmap.models._plots import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    classes = config["output"]["classes"]
    written: list[Path] = []
    tag = "SYNTHETIC DATA — " if synthetic else ""
    main = maps.get("effects")
    if main is not None:
        for column in ("own", "recv", "emit"):
            fig = Figure(figsize=(7.5, 6.0), layout="constrained")
            ax = fig.subplots()
            _choropleth(ax, main, column, classes)
            ax.set_title(f"{tag}{_LABELS[column]}\n(main weights; treated cities of {year})", fontsize="medium")
            written += save_figure(fig, folder / f"effects_{column}", formats=("png",))
    bands = [k for k in maps if k.startswith("sweep_")]
    if bands:
        cols = 4
        rows = int(np.ceil(len(bands) / cols))
        fig = Figure(figsize=(3.2 * cols, 2.9 * rows + 0.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        values = np.concatenate([maps[k]["recv"].to_numpy(float) for k in bands])
        bound = float(np.nanmax(np.abs(values))) or 1.0
        for ax, key in zip(axes, bands):
            frame = maps[key]
            frame.plot(column="recv", ax=ax, cmap="RdBu_r", vmin=-bound, vmax=bound, linewidth=0.05,
                       edgecolor="0.6", missing_kwds={"color": "0.9"})
            lo, hi = key[6:].split("_")
            ax.set_title(f"{int(lo)}–{int(hi)} km", fontsize="small")
            ax.set_axis_off()
        for ax in axes[len(bands):]:
            ax.set_axis_off()
        note = f"; crossover ≈ {crossover.radius_km:.0f} km" if crossover is not None and np.isfinite(
            crossover.radius_km) else ""
        fig.suptitle(f"{tag}Spillover received by distance band (red: spillover, blue: siphon){note}",
                     fontsize="medium")
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        fig.colorbar(ScalarMappable(Normalize(-bound, bound), "RdBu_r"), ax=list(axes), shrink=0.6,
                     label="spillover received")
        written += save_figure(fig, folder / "sweep_bands_recv", formats=("png",))
    return written


def _choropleth(ax, frame, column: str, classes: int) -> None:  # noqa: ANN001
    """Classes by mapclassify: natural breaks for signed effects split at zero, quantiles otherwise."""
    import mapclassify
    from matplotlib.patches import Patch

    values = frame[column].to_numpy(float)
    ok = np.isfinite(values)
    neg, pos = values[ok & (values < 0)], values[ok & (values > 0)]
    half = max(1, classes // 2)
    breaks: list[float] = []
    if len(neg) >= 2:
        breaks += list(-mapclassify.FisherJenks(-neg, k=min(half, len(np.unique(neg)))).bins[::-1][1:]) + [0.0]
    elif len(neg):
        breaks += [0.0]
    if len(pos) >= 2:
        breaks += list(mapclassify.FisherJenks(pos, k=min(half, len(np.unique(pos)))).bins)
    elif len(pos):
        breaks += [float(pos.max())]
    breaks = sorted(set(breaks))
    if not breaks or breaks[-1] < np.nanmax(values):
        breaks.append(float(np.nanmax(values)))
    lower = float(np.nanmin(values))
    edges = [lower, *breaks]
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"]
    bound = max(abs(edges[0]), abs(edges[-1])) or 1.0
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    colors = [cmap(0.5 + 0.5 * c / bound) for c in centres]
    index = np.searchsorted(breaks, values, side="left")
    facecolors = [colors[min(i, len(colors) - 1)] if np.isfinite(v) else (0.9, 0.9, 0.9, 1) for i, v in
                  zip(index, values)]
    frame.plot(ax=ax, color=facecolors, linewidth=0.05, edgecolor="0.6")
    handles = [Patch(facecolor=c, edgecolor="0.6", label=f"{a:.3g} to {b:.3g}") for c, a, b in
               zip(colors, edges[:-1], edges[1:])]
    ax.legend(handles=handles, loc="lower left", fontsize="x-small", frameon=False, title=column,
              title_fontsize="small")
    ax.set_axis_off()


def write_report(stage: Path, written: list[Path], headline: dict, config) -> Path:  # noqa: ANN001
    """A static HTML page linking every output, with the headline numbers, plots and maps."""
    import jinja2

    rel = [p.relative_to(stage).as_posix() for p in written if Path(p).is_file()]
    images = [r for r in rel if r.endswith(".png")]
    import pandas as pd

    tables = {}
    sweep_cols = ["band", "mean_neighbours", "islands", "rho", "indirect_estimate", "indirect_ci95_low",
                  "indirect_ci95_high", "in_crossover"]
    for name, cols in (("did/did_baseline.csv", None), ("sdid/sdm_did_effects.csv", None),
                       ("sweep/sweep.csv", sweep_cols)):
        path = stage / name
        if path.exists():
            frame = pd.read_csv(path)
            frame = frame[[c for c in cols if c in frame]] if cols else frame
            tables[name] = frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)
    env = jinja2.Environment(autoescape=True)  # absent sections (e.g. no DID chain) render as nothing
    html = env.from_string(_TEMPLATE).render(
        headline=headline, images=images, files=rel, tables=tables, synthetic=headline.get("synthetic"),
        config=json.dumps(config.to_dict(), ensure_ascii=False, indent=2),
    )
    target = stage / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target


def write_manifest(stage: Path, written: list[Path], config, inputs) -> Path:  # noqa: ANN001
    """``manifest.json``: package versions, the resolved config, seeds, input and output hashes."""
    inputs_used = {}
    for section, key in (("layer", "path"), ("panel", "path"), ("panel", "pilots")):
        value = config[section][key]
        if value:
            inputs_used[f"{section}.{key}"] = {"path": str(value), "sha256": _sha256(Path(value))}
    if not config["layer"]["path"]:
        from spillmap import gis

        shipped = gis.shipped_path(gis.CHINA_LAYER[0])
        inputs_used["layer (shipped)"] = {"path": shipped.name, "sha256": _sha256(shipped)}
    if not config["panel"]["pilots"]:
        from spillmap import gis

        pilots = gis.shipped_path(gis.PILOTS_FILE)
        inputs_used["pilots (shipped)"] = {"path": pilots.name, "sha256": _sha256(pilots)}
    outputs = {p.relative_to(stage).as_posix(): _sha256(p) for p in written if Path(p).is_file()}
    manifest = {
        "spillmap": _version("spillmap"),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "config": config.to_dict(),
        "config_file": str(config.source) if config.source else None,
        "seeds": {"output.seed": config["output"]["seed"],
                  "note": "placebo draws, effect simulations, sweep bands and the synthetic panel derive from it"},
        "synthetic": inputs.synthetic,
        "inputs": inputs_used,
        "outputs": outputs,
    }
    target = stage / "manifest.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spillmap report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.synthetic{background:#fff3cd;border:1px solid #e0c36b;padding:.6em 1em;font-weight:600}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}figure{margin:1em 0}code,pre{background:#f6f6f6}
.headline{font-size:1.1em}
</style></head><body>
<h1>spillmap report</h1>
{% if synthetic %}<p class="synthetic">{{ synthetic.note }} True effects: direct {{ synthetic.effect }};
spillover {{ synthetic.near }} per {{ synthetic.ring_km or "" }} km ring within {{ synthetic.near_km }} km;
siphon {{ synthetic.far }} per ring within {{ synthetic.near_km }}–{{ synthetic.far_km }} km; zero beyond.</p>{% endif %}
<h2>Headline</h2>
<ul class="headline">
{% if headline.did %}<li>TWFE DID: {{ "%.4f"|format(headline.did.baseline.estimate) }}
 (se {{ "%.4f"|format(headline.did.baseline.se) }}){% if headline.did.placebo %}; placebo p = {{ "%.3f"|format(headline.did.placebo.p_value) }}{% endif %}</li>{% endif %}
{% if headline.sdid %}<li>Spatial Durbin DID:
{% for kind, v in headline.sdid.items() %}{{ kind }} {{ "%.4f"|format(v.estimate) }} [{{ "%.4f"|format(v.ci_low) }}, {{ "%.4f"|format(v.ci_high) }}]{% if not loop.last %}; {% endif %}{% endfor %}</li>{% endif %}
{% if headline.sweep %}<li>Siphon radius: {{ headline.sweep.statement }}</li>{% endif %}
<li>Maps show the cities treated in {{ headline.map_year }}.</li>
</ul>
{% for name, table in tables.items() %}<h3>{{ name }}</h3>{{ table|safe }}{% endfor %}
<h2>Figures and maps</h2>
{% for img in images %}<figure><img src="{{ img }}" alt="{{ img }}"><figcaption><a href="{{ img }}">{{ img }}</a></figcaption></figure>{% endfor %}
<h2>Files</h2>
{% if "spillmap.gpkg" in files %}<p>Open <a href="spillmap.gpkg">spillmap.gpkg</a> in QGIS: each layer opens with its stored graduated style
(red: spillover, blue: siphon, grey: about zero).</p>{% endif %}
<ul>{% for f in files %}<li><a href="{{ f }}">{{ f }}</a></li>{% endfor %}</ul>
<h2>Configuration</h2><pre>{{ config }}</pre>
</body></html>
"""
