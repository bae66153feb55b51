"""The run's report: a static HTML page and ``manifest.json`` (the PNG maps are drawn by :mod:`spillmap.maps`)."""

from __future__ import annotations

import hashlib
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from spillmap._files import atomic_path

__all__ = ["write_report", "write_manifest"]
_PACKAGES = ("spillmap", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "libpysal",
             "spreg", "pyfixest", "rasterio", "matplotlib", "dask", "distributed")


def write_report(stage: Path, written: list[Path], headline: dict, config, *,  # noqa: ANN001
                 now: datetime | None = None) -> Path:
    """``report.html``: the study's sections with generated sentences, esttab-style tables, figures and maps.

    Parameters
    ----------
    stage
        The run's staging folder; the tables, summaries and PNGs are read from it.
    written
        Files written so far (linked from the page; their PNGs are shown).
    headline
        The run's headline dict (``synthetic``, ``treatment``, ``panel``, ``weights``, ``map_year``).
    config
        The :class:`~spillmap.config.RunConfig`, shown as a table with the values set by this run marked.
    now
        The run date (default: now); printed in UTC, the one part of the page that changes between runs.

    Returns
    -------
    Path
        ``stage / "report.html"``.
    """
    import jinja2

    from spillmap._pubtable import NUMBER_RULE
    from spillmap._report_sections import build_sections, config_table, summary_sentences

    rel = [p.relative_to(stage).as_posix() for p in written if Path(p).is_file()]
    sections = build_sections(stage, rel, headline)
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    html = env.from_string(_TEMPLATE).render(
        version=_version("spillmap") or "unknown", date=when.strftime("%Y-%m-%d %H:%M UTC"),
        source=config.source.name if config.source else None, synthetic=headline.get("synthetic"),
        summary=summary_sentences(sections), sections=sections, files=rel, config=config_table(config),
        number_rule=NUMBER_RULE,
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
        from spillmap._json import dumps

        tmp.write_text(dumps(manifest), encoding="utf-8")
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
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spillmap report{% if synthetic %} (SYNTHETIC DATA){% endif %}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1080px;margin:1.5em auto 4em;padding:0 1.2em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
section{scroll-margin-top:1em}
.meta{color:#555;margin-top:0}
.synthetic{background:#fff3cd;border:2px solid #d39e00;border-left-width:8px;padding:.7em 1em;margin:1em 0}
.synthetic strong{color:#8a5a00;font-size:1.1em}
.summary{background:#f3f6fa;border:1px solid #d5deea;padding:.2em 1.2em .4em;margin-top:1em}.summary h2{margin-top:.4em}
.summary li{margin:.3em 0}
nav ol{columns:2;margin:.3em 0}
figure.exhibit{margin:1.6em 0}
.exhibit-title{font-weight:600;margin:0 0 .3em}.exhibit-title .label{color:#1f4e79}
.caption{margin:.2em 0 .6em}
img{max-width:min(100%,780px);border:1px solid #e5e5e5}figure.wide img{max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.92em;margin:.3em 0}
th,td{padding:.15em .9em}
table.esttab{border-top:2px solid #222;border-bottom:2px solid #222}
table.esttab thead th{border-bottom:1px solid #222;text-align:center}
table.esttab td{text-align:center}
table.esttab tbody th{text-align:left;font-weight:normal}
table.esttab tr.se td{color:#555;padding-bottom:.45em}
table.esttab tr.se+tr.stat th,table.esttab tr.se+tr.stat td{border-top:1px solid #222}
table.plain{border-top:2px solid #222;border-bottom:2px solid #222}
table.plain thead th{border-bottom:1px solid #222;text-align:right}
table.plain thead th:first-child,table.plain tbody th{text-align:left;font-weight:normal}
table.plain td{text-align:right}
table.plain tr.stat th,table.plain tr.stat td{border-top:1px solid #222}
.note{font-size:.85em;color:#555;margin:.1em 0}
.config{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.4em 1.4em;align-items:start}
.config table{width:100%;font-size:.85em}.config caption{text-align:left;font-weight:600;padding:.2em 0}
.config th{text-align:left;font-weight:normal;color:#444;width:45%}.config td{word-break:break-all}
.config tr{border-bottom:1px solid #eee}.config tr.set td,.config tr.set th{background:#fff3cd;font-weight:600}
.files{columns:3;font-size:.88em;padding-left:1.2em}
</style></head><body>
{% macro render(t) %}
<table class="{{ 'esttab' if t.rows and t.rows[0].kind == 'coef' else 'plain' }}">
<thead><tr><th>{{ t.stub }}</th>{% for h in t.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in t.rows %}
<tr class="{{ r.kind }}"><th scope="row">{{ r.label }}</th>
{%- if r.cells|length == 1 and t.header|length > 1 %}<td colspan="{{ t.header|length }}">{{ r.cells[0] }}</td>
{%- else %}{% for c in r.cells %}<td>{{ c }}</td>{% endfor %}{% endif %}</tr>
{% endfor %}
</tbody></table>
{% for n in t.notes %}<p class="note">{{ n }}</p>
{% endfor %}
{% endmacro %}
<header>
<h1>spillmap report</h1>
<p class="meta">spillmap {{ version }} · run {{ date }} · configuration: {{ source or "built in (no config file)" }} ·
<a href="manifest.json">manifest.json</a> (package versions, seeds, input and output hashes)</p>
</header>
{% if synthetic %}
<div class="synthetic" role="note"><strong>SYNTHETIC DATA</strong> —
{{ synthetic.note|replace("SYNTHETIC DATA:", "")|trim }}<br>
True effects: direct {{ synthetic.effect }}; spillover {{ synthetic.near }} per {{ "%g"|format(synthetic.ring_km) ~ " km " if synthetic.ring_km }}ring
within {{ "%g"|format(synthetic.near_km) }} km; siphon {{ synthetic.far }} per ring within
{{ "%g"|format(synthetic.near_km) }}–{{ "%g"|format(synthetic.far_km) }} km; zero beyond.</div>
{% endif %}
{% if summary %}
<section id="summary" class="summary"><h2>Key results</h2>
<ul>{% for s in summary %}<li>{{ s }}</li>{% endfor %}</ul></section>
{% endif %}
<nav><h2>Contents</h2><ol>
{% for s in sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>
{% endfor %}<li><a href="#files">Files</a></li><li><a href="#configuration">Configuration</a></li></ol>
<p class="note">{{ number_rule }}</p></nav>
{% for s in sections %}
<section id="{{ s.id }}"><h2>{{ loop.index }}. {{ s.title }}</h2>
{% for t in s.intro %}<p>{{ t }}</p>
{% endfor %}
{% for e in s.exhibits %}
<figure class="exhibit {{ e.kind }}{{ ' wide' if e.wide }}" id="{{ e.kind }}-{{ e.number }}">
<p class="exhibit-title"><span class="label">{{ e.label }}.</span> {{ e.title }}</p>
<p class="caption">{{ e.sentences|join(" ") }}</p>
{% if e.table %}{{ render(e.table) }}{% else %}<a href="{{ e.src }}"><img src="{{ e.src }}" alt="{{ e.label }}: {{ e.title }}"></a>
<p class="note">File: <a href="{{ e.src }}">{{ e.src }}</a></p>{% endif %}
</figure>
{% endfor %}
</section>
{% endfor %}
<section id="files"><h2>Files</h2>
<p>Every file this run wrote; <a href="manifest.json">manifest.json</a> lists their SHA-256 hashes.</p>
<ul class="files">{% for f in files %}<li><a href="{{ f }}">{{ f }}</a></li>{% endfor %}<li><a href="manifest.json">manifest.json</a></li></ul>
</section>
<section id="configuration"><h2>Configuration</h2>
<p>Every key of the run configuration{% if source %} ({{ source }}){% endif %}; highlighted values are set by this run
(they differ from the defaults), “–” is unset.</p>
<div class="config">
{% for section, rows in config %}
<table><caption>[{{ section }}]</caption>
{% for key, value, changed in rows %}<tr{% if changed %} class="set"{% endif %}><th>{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}</table>
{% endfor %}
</div></section>
</body></html>
"""
