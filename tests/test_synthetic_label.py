"""SYNTHETIC on every output of a synthetic run, in a form each format keeps.

Cases: after a small synthetic ``spillmap run`` every table (CSV/Parquet
column, Markdown and LaTeX caption), JSON (``synthetic``), figure and map
(title, and PNG/SVG metadata), GIS layer (GeoPackage title/description and
style names, Shapefile and GeoTIFF ``.qmd`` and tags, GeoJSON description)
and the report carries it; the stated exceptions are weights files and
Shapefile parts. A real-data run carries it nowhere (tests/test_run.py).
"""

from __future__ import annotations

from .synthetic_label import label_report


def test_every_output_of_a_synthetic_run_is_labelled(synthetic_run):
    _, out, _ = synthetic_run
    report = label_report(out)
    assert len(report) > 40
    missing = [name for name, labelled in report.items() if not labelled]
    assert not missing, f"outputs of a synthetic run without the SYNTHETIC label: {missing}"
    kinds = {name.rsplit(".", 1)[1] for name in report}
    assert {"csv", "parquet", "md", "tex", "json", "png", "svg", "gpkg", "shp", "geojson", "tif", "html"} <= kinds
