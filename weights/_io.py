"""Reading and writing weights: GeoDa ``.gal``/``.gwt``, compact ``.npz``, square ``.csv``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from libpysal.graph import Graph
from spillmap.gis._validate import describe_groups, format_ids

from spillmap._files import atomic_path
from spillmap.errors import WeightsFileError

from ._build import sorted_graph

__all__ = ["STATA_SUFFIX", "WEIGHTS_SUFFIXES", "read_weights", "write_weights"]

WEIGHTS_SUFFIXES = (".gal", ".gwt", ".npz", ".csv")
_NPZ_FORMAT = "spillmap-weights-1"


def write_weights(
    graph: Graph,
    path: str | os.PathLike[str],
    *,
    layer_name: str | None = None,
    id_field: str | None = None,
    format: str | None = None,
) -> Path:
    """Write ``graph`` atomically; the format follows the suffix (or ``format``).

    ``.npz`` is lossless (ids, weights in float64, transformation);
    ``.gwt`` (GeoDa) keeps 7 decimals; ``.gal`` (GeoDa) keeps only who
    neighbours whom, not the weights. Both GeoDa files start with GeoDa's
    header ``0 n layer id-field`` naming the layer (e.g. the file stem of
    the shapefile) and its id column, so GeoDa links the ids to the layer's
    field. ``.spmat.txt`` (or ``format="stata"``) is the text format of
    Stata's ``spmatrix export`` / ``spmatrix import``: ``n`` on the first
    line, then one line per unit, its id followed by its row of the n×n
    matrix (17 significant digits); Stata needs integer ids.

    Parameters
    ----------
    graph
        The weights.
    path
        Output file; ``.gal``, ``.gwt``, ``.npz`` or ``.spmat.txt``.
    layer_name, id_field
        The layer and its id column named in the GeoDa header (spaces
        become ``_``; default ``unknown``, as R's spdep writes).
    format
        ``"gal" | "gwt" | "npz" | "stata"`` to override the suffix.
    """
    target = Path(path)
    fmt = (format or "").lower().lstrip(".") or _format_of(target)
    if fmt not in _WRITE_FORMATS:
        raise WeightsFileError(
            f"Cannot write weights to '{target}': use a .gal, .gwt or .npz suffix, or .spmat.txt for Stata"
            + (f", or a format among {', '.join(_WRITE_FORMATS)} (not {format!r})." if format else ".")
        )
    if fmt == "stata":
        _check_stata_ids(graph, target)
    with atomic_path(target) as tmp:
        if fmt == "gal":
            _write_gal(graph, tmp, _header_token(layer_name), _header_token(id_field))
        elif fmt == "gwt":
            _write_gwt(graph, tmp, _header_token(layer_name), _header_token(id_field))
        elif fmt == "stata":
            _write_stata(graph, tmp)
        else:
            _write_npz(graph, tmp)
    return target


_WRITE_FORMATS = ("gal", "gwt", "npz", "stata")
STATA_SUFFIX = ".spmat.txt"


def _format_of(path: Path) -> str:
    if path.name.lower().endswith(STATA_SUFFIX):
        return "stata"
    return path.suffix.lower().lstrip(".")


def _header_token(text: str | None) -> str:
    """One whitespace-free token for the GeoDa header (spdep splits it on single spaces)."""
    token = "_".join(str(text).split()) if text is not None else ""
    return token or "unknown"


def _id_token(unit: object) -> str:
    return str(unit).replace(" ", "_")


def _write_gal(graph: Graph, path: Path, layer: str, id_field: str) -> None:
    adj = graph.adjacency
    focal = adj.index.get_level_values("focal")
    neighbor = adj.index.get_level_values("neighbor")
    real = focal != neighbor  # an island is a zero self-loop in libpysal: an empty GAL list
    listed: dict[object, list[str]] = {unit: [] for unit in graph.unique_ids}
    for a, b in zip(focal[real], neighbor[real]):
        listed[a].append(_id_token(b))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"0 {graph.n} {layer} {id_field}\n")
        fh.writelines(f"{_id_token(unit)} {len(neighbours)}\n{' '.join(neighbours)}\n" for unit, neighbours in listed.items())


def _write_gwt(graph: Graph, path: Path, layer: str, id_field: str) -> None:
    adj = graph.adjacency
    focal = adj.index.get_level_values("focal")
    neighbor = adj.index.get_level_values("neighbor")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"0 {graph.n} {layer} {id_field}\n")
        # an island stays 'id id 0' (libpysal's adjacency), which read_weights reads back as an island
        fh.writelines(
            f"{_id_token(a)} {_id_token(b)} {w:.7f}\n" for a, b, w in zip(focal, neighbor, adj.to_numpy(dtype=float))
        )


def _check_stata_ids(graph: Graph, path: Path) -> None:
    bad = [unit for unit in graph.unique_ids if not str(unit).lstrip("-").isdigit()]
    if bad:
        raise WeightsFileError(
            f"Cannot write '{path}' for Stata: spmatrix needs integer unit ids, but {format_ids(bad)} "
            "are not; use a numeric id column (--id) or write .gal/.gwt/.npz instead."
        )
    texts = pd.Index([str(int(str(unit))) for unit in graph.unique_ids])
    if texts.has_duplicates:
        raise WeightsFileError(
            f"Cannot write '{path}' for Stata: ids {format_ids(texts[texts.duplicated()].unique().tolist())} "
            "coincide as numbers (leading zeros); Stata would read them as one unit."
        )


def _write_stata(graph: Graph, path: Path) -> None:
    matrix = graph.sparse.toarray()
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"{graph.n}\n")
        fh.writelines(f"{int(str(unit))} " + " ".join(f"{v:.17g}" for v in row) + "\n" for unit, row in zip(graph.unique_ids, matrix))


def read_weights(
    path: str | os.PathLike[str], ids: Sequence[object] | None = None, *, ids_from: str = "the layer"
) -> Graph:
    """Read weights from ``.gal``, ``.gwt``, ``.npz`` or a square ``.csv`` matrix.

    A ``.csv`` holds an n×n matrix whose header row gives the unit ids in
    row order (an optional first column repeating them is allowed). Ids are
    read as text (``"020100"`` keeps its zero).

    Parameters
    ----------
    path
        The weights file.
    ids
        Unit ids the weights must cover (e.g. the layer's id column): the
        result is reordered to them and takes their type (``"110000"`` and
        ``110000`` match). Ids missing on either side are an error.
    ids_from
        What ``ids`` come from, for messages (``"the layer"``, ``"the panel"``).

    Raises
    ------
    WeightsFileError
        The file is missing, empty or malformed (the message names the line,
        row or cell), a weight is negative, infinite or missing, a unit is
        its own neighbour, or the ids do not match ``ids``.
    """
    source = Path(path)
    if not source.exists():
        raise WeightsFileError(f"Weights file '{source}' does not exist; check the path.")
    if source.is_dir():
        raise WeightsFileError(f"Weights file '{source}' is a folder; give the weights file inside it.")
    suffix = source.suffix.lower()
    if suffix not in WEIGHTS_SUFFIXES:
        raise WeightsFileError(
            f"Cannot tell the format of '{source}'; use one of {', '.join(WEIGHTS_SUFFIXES)} "
            "(rename the file if it is one of them)."
        )
    if source.stat().st_size == 0:
        raise WeightsFileError(
            f"Weights file '{source}' is empty (0 bytes): the export or copy did not finish; "
            "write the weights again (e.g. spillmap weights --out w.gal)."
        )
    try:
        if suffix == ".gal":
            graph = _read_gal(source)
        elif suffix == ".gwt":
            graph = _read_gwt(source)
        elif suffix == ".npz":
            graph = _read_npz(source)
        else:
            graph = _read_csv(source)
    except WeightsFileError:
        raise
    except UnicodeDecodeError as err:
        raise WeightsFileError(
            f"'{source}' is not a text {suffix} file (byte 0x{err.object[err.start]:02x} at offset {err.start} "
            "is not UTF-8); save the weights as UTF-8 text."
        ) from None
    except Exception as err:  # noqa: BLE001 - numpy/zipfile/pandas raise many kinds on a damaged file
        raise WeightsFileError(
            f"'{source}' is not a valid {suffix} weights file ({type(err).__name__}: {err}); "
            "write the weights again (e.g. spillmap weights --out w.gal)."
        ) from None
    _check_values(graph, source)
    return graph if ids is None else align_ids(graph, ids, where=f"'{source}'", ids_from=ids_from)


def align_ids(
    graph: Graph, ids: Sequence[object], *, where: str = "the weights", ids_from: str = "the layer"
) -> Graph:
    """Reorder ``graph`` to ``ids`` (matched by their text form) and give it their type."""
    wanted = pd.Index(list(ids))
    have = pd.Index(graph.unique_ids)
    wanted_text = pd.Index(wanted.map(str))
    have_text = pd.Index(have.map(str))
    missing = wanted[~wanted_text.isin(have_text)].tolist()
    extra = have[~have_text.isin(wanted_text)].tolist()
    if missing or extra:
        groups = describe_groups([
            (missing, f"unit(s) of {ids_from} have no row"),
            (extra, f"id(s) are not in {ids_from}"),
        ])
        raise WeightsFileError(
            f"{where} does not match the ids of {ids_from} ({groups}). "
            f"Rebuild the weights for {ids_from} or pass the matching id column."
        )
    to_wanted = dict(zip(have_text, range(len(have))))
    order = np.array([to_wanted[t] for t in wanted_text])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    adj = graph.adjacency
    focal = rank[have.get_indexer(adj.index.get_level_values("focal"))]
    neighbor = rank[have.get_indexer(adj.index.get_level_values("neighbor"))]
    sort = np.lexsort((neighbor, focal))
    return sorted_graph(
        wanted.to_numpy(), focal[sort], neighbor[sort], adj.to_numpy()[sort], graph.transformation
    )


def _write_npz(graph: Graph, path: Path) -> None:
    ids = pd.Index(graph.unique_ids)
    adj = graph.adjacency
    numeric = pd.api.types.is_integer_dtype(ids)
    with open(path, "wb") as fh:
        np.savez_compressed(
            fh,
            format=np.array(_NPZ_FORMAT),
            ids=ids.to_numpy(dtype=np.int64) if numeric else ids.map(str).to_numpy(dtype=str),
            focal=ids.get_indexer(adj.index.get_level_values("focal")).astype(np.int32),
            neighbor=ids.get_indexer(adj.index.get_level_values("neighbor")).astype(np.int32),
            weight=adj.to_numpy(dtype=np.float64),
            transformation=np.array(graph.transformation),
        )


def _read_npz(path: Path) -> Graph:
    import zipfile

    if not zipfile.is_zipfile(path):
        raise WeightsFileError(
            f"'{path}' is not a .npz archive (damaged, or another format renamed); write the weights again "
            "with spillmap weights --out w.npz, or use .gal/.gwt/.csv."
        )
    with np.load(path, allow_pickle=False) as data:
        if "format" not in data or str(data["format"]) != _NPZ_FORMAT:
            raise WeightsFileError(f"'{path}' is not a spillmap weights .npz (written by write_weights).")
        raw = data["ids"]
        ids = raw.astype(object) if raw.dtype.kind == "U" else raw
        return sorted_graph(ids, data["focal"], data["neighbor"], data["weight"], str(data["transformation"]))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def _header_count(line: str, path: Path, fmt: str) -> int | None:
    """Units in a GeoDa header: ``n`` or ``0 n shapefile id`` (None: no header count)."""
    tokens = line.split()
    count = tokens[0] if len(tokens) == 1 else tokens[1] if len(tokens) == 4 and tokens[0] == "0" else None
    if count is None or not count.isdigit():
        raise WeightsFileError(
            f"'{path}' line 1 should be the GeoDa {fmt} header ('n' or '0 n layer id-column') but reads "
            f"{line.strip()[:60]!r}; export the weights from GeoDa or spillmap weights --out."
        )
    return int(count)


def _read_gal(path: Path) -> Graph:
    lines = _lines(path)
    n = _header_count(lines[0] if lines else "", path, ".gal")
    ids: list[str] = []
    focal: list[str] = []
    neighbor: list[str] = []
    where: dict[str, int] = {}
    k = 1
    while k < len(lines):
        line = lines[k].split()
        if not line:
            k += 1
            continue
        if len(line) != 2 or not line[1].isdigit():
            raise WeightsFileError(
                f"'{path}' line {k + 1} should be 'unit-id number-of-neighbours' but reads {lines[k].strip()[:60]!r}."
            )
        unit, count = line[0], int(line[1])
        if unit in where:
            raise WeightsFileError(
                f"'{path}': unit {unit!r} has two neighbour lists (lines {where[unit]} and {k + 1}); keep one."
            )
        where[unit] = k + 1
        listed = lines[k + 1].split() if k + 1 < len(lines) else None
        if listed is None and count:
            raise WeightsFileError(
                f"'{path}' ends after line {k + 1}: unit {unit!r} announces {count} neighbour(s) but the line "
                "listing them is missing (the file is cut short); write the weights again."
            )
        if listed is not None and len(listed) != count:
            raise WeightsFileError(
                f"'{path}' line {k + 2}: unit {unit!r} announces {count} neighbour(s) on line {k + 1} but "
                f"{len(listed)} are listed; fix the count or the list."
            )
        ids.append(unit)
        focal += [unit] * count
        neighbor += listed or []
        k += 2
    if n is not None and n != len(ids):
        raise WeightsFileError(
            f"'{path}' header announces {n} units but {len(ids)} neighbour lists follow (the file is cut short "
            "or was edited); write the weights again."
        )
    unknown = sorted(set(neighbor) - set(ids))
    if unknown:
        raise WeightsFileError(
            f"'{path}' lists neighbour(s) {format_ids(unknown)} that have no neighbour list of their own; "
            "every unit needs its own 'id count' line (islands: 'id 0' and an empty line)."
        )
    return _graph(ids, focal, neighbor, np.ones(len(focal)))


def _read_gwt(path: Path) -> Graph:
    lines = _lines(path)
    _header_count(lines[0] if lines else "", path, ".gwt")
    focal: list[str] = []
    neighbor: list[str] = []
    weight: list[float] = []
    seen: dict[tuple[str, str], int] = {}
    for k, raw in enumerate(lines[1:], start=2):
        tokens = raw.split()
        if not tokens:
            continue
        if len(tokens) != 3:
            raise WeightsFileError(
                f"'{path}' line {k} should be 'unit-id neighbour-id weight' (3 fields) but has {len(tokens)}: "
                f"{raw.strip()[:60]!r}."
            )
        try:
            value = float(tokens[2])
        except ValueError:
            raise WeightsFileError(
                f"'{path}' line {k}: the weight of {tokens[0]!r} → {tokens[1]!r} is {tokens[2]!r}, not a number "
                "(write it with a decimal point, e.g. 0.25)."
            ) from None
        pair = (tokens[0], tokens[1])
        if pair in seen:
            raise WeightsFileError(f"'{path}': the pair {pair[0]!r} → {pair[1]!r} appears twice (lines {seen[pair]} "
                                   f"and {k}); keep one.")
        seen[pair] = k
        _check_weight(value, pair, f"'{path}' line {k}")
        focal.append(tokens[0])
        neighbor.append(tokens[1])
        weight.append(value)
    ids = list(dict.fromkeys(focal + neighbor))
    if not ids:
        raise WeightsFileError(f"'{path}' holds a header but no 'unit neighbour weight' lines.")
    return _graph(ids, focal, neighbor, np.asarray(weight))


def _check_weight(value: float, pair: tuple[object, object], where: str) -> None:
    a, b = pair
    if not np.isfinite(value):
        raise WeightsFileError(
            f"{where}: the weight of {a!r} → {b!r} is {value}; weights must be finite numbers "
            "(an inverse distance of two units at the same place? give them distinct points or drop the pair)."
        )
    if value < 0:
        raise WeightsFileError(
            f"{where}: the weight of {a!r} → {b!r} is negative ({value:g}); spatial weights must be ≥ 0."
        )
    if a == b and value != 0:
        raise WeightsFileError(
            f"{where}: unit {a!r} is its own neighbour (weight {value:g}); spatial weights need a zero "
            "diagonal, remove that entry."
        )


def _check_values(graph: Graph, path: Path) -> None:
    """Finite, non-negative weights and no unit its own neighbour, whatever the format."""
    adj = graph.adjacency
    values = adj.to_numpy(dtype=float)
    focal = adj.index.get_level_values("focal")
    neighbor = adj.index.get_level_values("neighbor")
    bad = ~np.isfinite(values) | (values < 0) | ((focal == neighbor) & (values != 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        _check_weight(float(values[k]), (focal[k], neighbor[k]), f"'{path}'")


def _graph(ids: list[str], focal: list[str], neighbor: list[str], weight: np.ndarray) -> Graph:
    index = pd.Index(ids)
    f = index.get_indexer(focal)
    nb = index.get_indexer(neighbor)
    # an island is 'id id 0' in GeoDa's .gwt, as in libpysal's adjacency; a .gal island has no entry yet
    islands = np.setdiff1d(np.arange(len(ids)), f)
    f = np.concatenate([f, islands])
    nb = np.concatenate([nb, islands])
    weight = np.concatenate([np.asarray(weight, dtype=float), np.zeros(len(islands))])
    order = np.lexsort((nb, f))
    return sorted_graph(np.asarray(ids, dtype=object), f[order], nb[order], weight[order])


def _read_csv(path: Path) -> Graph:
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    if first.count(",") == 0 and (first.count(";") or first.count("\t")):
        sep = "semicolons" if first.count(";") else "tabs"
        raise WeightsFileError(
            f"'{path}' separates its cells with {sep}, not commas; save it as comma-separated CSV "
            "(Excel: 'CSV UTF-8 (Comma delimited)')."
        )
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    header = [str(c) for c in frame.columns]
    if frame.shape[1] == frame.shape[0] + 1 and frame.iloc[:, 0].tolist() == header[1:]:
        frame = frame.iloc[:, 1:]
        header = header[1:]
    renamed = [h for h in header if h.rsplit(".", 1)[0] in header and h not in _raw_header(first)]
    if renamed:
        raise WeightsFileError(
            f"'{path}' repeats id {renamed[0].rsplit('.', 1)[0]!r} in its header row; each unit needs one column."
        )
    n = len(header)
    if frame.shape != (n, n):
        raise WeightsFileError(
            f"'{path}' must hold a square matrix with the unit ids as header; found "
            f"{frame.shape[0]} rows under {n} header columns."
        )
    matrix = np.empty((n, n))
    for r in range(n):
        for c in range(n):
            cell = frame.iat[r, c].strip()
            if cell == "":
                raise WeightsFileError(
                    f"'{path}' has an empty cell at data row {r + 1}, column '{header[c]}'; write 0 for no link."
                )
            try:
                matrix[r, c] = float(cell)
            except ValueError:
                raise WeightsFileError(
                    f"'{path}' has non-numeric cells: data row {r + 1}, column '{header[c]}' holds {cell!r}; "
                    "every cell must be a weight (a decimal point, no thousands separator)."
                ) from None
            if cell and not np.isfinite(matrix[r, c]) or matrix[r, c] < 0 or (r == c and matrix[r, c] != 0):
                _check_weight(matrix[r, c], (header[r], header[c]), f"'{path}' data row {r + 1}")
    from scipy import sparse

    return Graph.from_sparse(sparse.csr_array(matrix), ids=header)


def _raw_header(line: str) -> list[str]:
    import csv

    return next(csv.reader([line])) if line else []
