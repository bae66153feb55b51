"""spillmap: spatial difference-in-differences on real map layers.

The flow runs one way: boundary layers (:mod:`spillmap.gis`) → spatial
weights (:mod:`spillmap.weights`) → spatial panel and DID models
(:mod:`spillmap.models`) → effects written back onto the layers.

From Python or a notebook, :func:`spillmap.run_study` runs the whole study a
configuration describes and returns every table, figure and layer
(:mod:`spillmap.study`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spillmap")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["Study", "StudyResult", "__version__", "run_study"]

_LAZY = {"run_study", "Study", "StudyResult"}  # spillmap.study: imported on first use, so `import spillmap` stays light


def __getattr__(name: str) -> object:  # PEP 562: lazy attributes
    if name in _LAZY:
        # by name, not an import statement: the package's front door re-exports the glue's API without
        # making every room's `from spillmap import …` depend on it (tests/test_layout.py)
        from importlib import import_module

        return getattr(import_module("spillmap.study"), name)
    raise AttributeError(f"module 'spillmap' has no attribute {name!r}")
