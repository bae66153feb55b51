"""Reading and writing weights: GeoDa ``.gal``/``.gwt``, compact ``.npz``, square ``.csv``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from libpysal.graph import Graph, read_gal, read_gwt

from spillmap._files import atomic_path
from spillmap.errors import WeightsFileError
from spillmap.gis._validate import describe_groups

from ._build import sorted_graph

__all__ = ["read_weights", "write_weights", "WEIGHTS_SUFFIXES"]

WEIGHTS_SUFFIXES = (".gal", ".gwt", ".npz", ".csv")
_NPZ_FORMAT = "spillmap-weights-1"


def write_weights(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` atomically; the format follows the suffix.

    ``.npz`` is lossless (ids, weights in float64, transformation);
    ``.gwt`` (GeoDa) keeps 7 decimals; ``.gal`` (GeoDa) keeps only who
    neighbours whom, not the weights.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".gal", ".gwt", ".npz"):
        raise WeightsFileError(f"Cannot write weights to '{target}': use a .gal, .gwt or .npz suffix.")
    with atomic_path(target) as tmp:
        if suffix == ".gal":
            graph.to_gal(tmp)
        elif suffix == ".gwt":
            graph.to_gwt(tmp)
        else:
            _write_npz(graph, tmp)
    return target


def read_weights(
    path: str | os.PathLike[str], ids: Sequence[object] | None = None, *, ids_from: str = "the layer"
) -> Graph:
    """Read weights from ``.gal``, ``.gwt``, ``.npz`` or a square ``.csv`` matrix.

    A ``.csv`` holds an n×n matrix whose header row gives the unit ids in
    row order (an optional first column repeating them is allowed).

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
    """
    source = Path(path)
    if not source.exists():
        raise WeightsFileError(f"Weights file '{source}' does not exist; check the path.")
    suffix = source.suffix.lower()
    try:
        if suffix == ".gal":
            graph = read_gal(source)
        elif suffix == ".gwt":
            graph = read_gwt(source)
        elif suffix == ".npz":
            graph = _read_npz(source)
        elif suffix == ".csv":
            graph = _read_csv(source)
        else:
            raise WeightsFileError(
                f"Cannot tell the format of '{source}'; use one of {', '.join(WEIGHTS_SUFFIXES)}."
            )
    except WeightsFileError:
        raise
    except (ValueError, KeyError, IndexError, OSError) as err:
        raise WeightsFileError(f"'{source}' is not a valid {suffix} weights file: {err}") from None
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
    with np.load(path, allow_pickle=False) as data:
        if "format" not in data or str(data["format"]) != _NPZ_FORMAT:
            raise WeightsFileError(f"'{path}' is not a spillmap weights .npz (written by write_weights).")
        raw = data["ids"]
        ids = raw.astype(object) if raw.dtype.kind == "U" else raw
        return sorted_graph(ids, data["focal"], data["neighbor"], data["weight"], str(data["transformation"]))


def _read_csv(path: Path) -> Graph:
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    header = [str(c) for c in frame.columns]
    if frame.shape[1] == frame.shape[0] + 1 and frame.iloc[:, 0].tolist() == header[1:]:
        frame = frame.iloc[:, 1:]
        header = header[1:]
    n = len(header)
    if frame.shape != (n, n):
        raise WeightsFileError(
            f"'{path}' must hold a square matrix with the unit ids as header; found "
            f"{frame.shape[0]} rows under {n} header columns."
        )
    try:
        matrix = frame.to_numpy(dtype=float)
    except ValueError:
        raise WeightsFileError(f"'{path}' has non-numeric cells; every cell must be a weight.") from None
    if np.isnan(matrix).any():
        r, c = np.argwhere(np.isnan(matrix))[0]
        raise WeightsFileError(f"'{path}' has an empty cell at data row {r + 1}, column '{header[c]}'.")
    from scipy import sparse

    return Graph.from_sparse(sparse.csr_array(matrix), ids=header)
