"""Lazy public names for a package (PEP 562): a name's module is imported when the name is first used.

``spillmap.gis`` and the model packages export many names from modules that pull in geopandas,
pandas or scipy.stats; importing them on first use keeps ``import spillmap.models`` light.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module

__all__ = ["lazy_exports"]


def lazy_exports(package: str, modules: Mapping[str, str],
                 exported: Sequence[str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``modules`` maps each name to its module (absolute, or
    relative to the package with a leading dot); a name, once imported, is stored in the package."""

    def __getattr__(name: str) -> object:  # noqa: N807 - the module-level hook's name
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # the next access skips __getattr__
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(exported))

    return __getattr__, __dir__
