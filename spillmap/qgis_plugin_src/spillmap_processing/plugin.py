"""The plugin object QGIS loads: registers the spillmap Processing provider."""

from qgis.core import QgsApplication


class SpillmapPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):
        if self.provider is None:
            from .provider import SpillmapProvider

            self.provider = SpillmapProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
