"""Whether each output file carries the SYNTHETIC label, in the form its format keeps (see README).

Shared by the synthetic-run test (every file labelled) and the real-data run
test (none labelled). Files that carry no label by design are listed in
:data:`UNLABELLED_BY_DESIGN`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pandas as pd

MARK = "SYNTHETIC"
#: Weights files are read by other tools (GeoDa, R, numpy) whose formats hold no free text; the Shapefile's
#: field-name map is a lookup table; .cpg/.prj/.shx/.dbf are parts of the Shapefile, labelled by its .qmd.
UNLABELLED_BY_DESIGN = (".gwt", ".gal", ".npz", ".cpg", ".prj", ".shx", ".dbf")
UNLABELLED_NAMES = ("effects_fields.csv", ".spillmap-result")  # the list of files a run wrote


def _gpkg(path: Path) -> bool:
    with contextlib.closing(sqlite3.connect(path)) as db:
        contents = db.execute("SELECT identifier, description FROM gpkg_contents WHERE data_type = 'features'"
                              ).fetchall()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        styles = db.execute("SELECT styleName, description FROM layer_styles").fetchall() \
            if "layer_styles" in tables else []
    return bool(contents) and all(MARK in (i or "") and MARK in (d or "") for i, d in contents) and all(
        MARK in name and MARK in (desc or "") for name, desc in styles)


def _image(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as im:
        return MARK in str(im.info.get("Description", ""))


def _tif(path: Path) -> bool:
    import rasterio

    with rasterio.open(path) as src:
        return MARK in src.tags().get("TIFFTAG_IMAGEDESCRIPTION", "")


def _csv(path: Path) -> bool:
    frame = pd.read_csv(path)
    return "SYNTHETIC" in frame.columns and frame["SYNTHETIC"].eq("simulated outcome, not observed").all()


def _parquet(path: Path) -> bool:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return "SYNTHETIC" in table.column_names and b"spillmap.synthetic" in (table.schema.metadata or {})


def _docx(path: Path) -> bool:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return "SYNTHETIC DATA" in z.read("word/document.xml").decode("utf-8")


def _qgz(path: Path) -> bool:
    import zipfile

    with zipfile.ZipFile(path) as z:  # the project's layout note and title, and the embedded styles' titles
        return all("SYNTHETIC DATA" in z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".qgs"))


def _text(path: Path, needle: str) -> bool:
    return needle in path.read_text(encoding="utf-8")


CHECKS = {
    ".csv": _csv,
    ".parquet": _parquet,
    ".md": lambda p: _text(p, "\nTable: SYNTHETIC DATA"),
    ".tex": lambda p: _text(p, "\\caption{SYNTHETIC DATA"),
    ".json": lambda p: bool(json.loads(p.read_text(encoding="utf-8")).get("synthetic")),
    ".geojson": lambda p: MARK in json.loads(p.read_text(encoding="utf-8")).get("description", ""),
    ".qmd": lambda p: _text(p, "<title>") and MARK in p.read_text(encoding="utf-8").split("<title>")[1],
    ".shp": lambda p: p.with_suffix(".qmd").exists() and MARK in p.with_suffix(".qmd").read_text(encoding="utf-8"),
    # a .qml is the style of the file beside it, whose .qmd (layer metadata) carries the label
    ".qml": lambda p: p.with_suffix(".qmd").exists() and MARK in p.with_suffix(".qmd").read_text(encoding="utf-8"),
    ".qgz": _qgz,
    ".svg": lambda p: _text(p, MARK),
    ".png": _image,
    ".tif": _tif,
    ".gpkg": _gpkg,
    ".html": lambda p: _text(p, "SYNTHETIC DATA"),
    ".docx": _docx,
}


def label_report(folder: Path) -> dict[str, bool]:
    """Every output file under ``folder`` (caches left out) → whether it carries the label."""
    report = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".sweep-cache" in path.parts:
            continue
        if path.suffix in UNLABELLED_BY_DESIGN or path.name in UNLABELLED_NAMES:
            continue
        check = CHECKS.get(path.suffix)
        assert check is not None, f"no label check for {path.name}: add one (or a stated exception)"
        report[path.relative_to(folder).as_posix()] = bool(check(path))
    return report
