"""How a caller names read_layer's arguments, for the fixes that error messages give."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LIBRARY_OPTIONS", "option_fix"]


#: How read_layer's arguments are named in the fixes its messages give. A command passes its own names
#: (``"--layer-name"``, ``"[layer] crs"``) or ``None`` for an argument it does not have.
LIBRARY_OPTIONS: dict[str, str | None] = {
    "layer": "layer", "id": "id_col", "encoding": "encoding", "crs": "crs", "points": "points",
}


def option_fix(options: Mapping[str, str | None] | None, key: str, value: str | None = None) -> str | None:
    """How the caller sets ``key`` (to ``value``): ``--crs EPSG:4326``, ``[layer] crs = "EPSG:4326"``, ``crs='EPSG:4326'``.

    ``None`` when the caller has no such option.
    """
    names = {**LIBRARY_OPTIONS, **(options or {})}
    name = names.get(key)
    if name is None:
        return None
    if value is None:
        return name
    if name.startswith("--"):
        return f"{name} {value}"
    if name.startswith("["):
        return f'{name} = "{value}"'
    return f"{name}={value!r}"
