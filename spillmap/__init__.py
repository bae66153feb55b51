"""spillmap: spatial difference-in-differences on real map layers.

The flow runs one way: boundary layers (:mod:`spillmap.gis`) → spatial
weights (:mod:`spillmap.weights`) → spatial panel and DID models
(:mod:`spillmap.models`) → effects written back onto the layers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spillmap")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
