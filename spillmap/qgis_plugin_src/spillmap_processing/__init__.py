"""spillmap Processing provider: spatial difference-in-differences from QGIS's Processing toolbox.

QGIS's Python has none of spillmap's dependencies, so nothing here imports
spillmap: every algorithm runs the ``spillmap`` command of an environment
where spillmap is installed (see ``runner.py`` for how it is found).
"""


def classFactory(iface):
    """QGIS's plugin entry point."""
    from .plugin import SpillmapPlugin

    return SpillmapPlugin(iface)
