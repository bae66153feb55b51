"""The spillmap Processing provider (id ``spillmap``) and its "spillmap command" setting."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .runner import SETTING, SETTING_LABEL

HERE = os.path.dirname(__file__)


class SpillmapProvider(QgsProcessingProvider):
    def load(self):
        from processing.core.ProcessingConfig import ProcessingConfig, Setting

        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(self.name(), SETTING, SETTING_LABEL, ""))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        from processing.core.ProcessingConfig import ProcessingConfig

        ProcessingConfig.removeSetting(SETTING)

    def loadAlgorithms(self):
        from .algorithms import ALGORITHMS

        for cls in ALGORITHMS:
            self.addAlgorithm(cls())

    def id(self):
        return "spillmap"

    def name(self):
        return "spillmap"

    def longName(self):
        return "spillmap: spatial difference-in-differences"

    def icon(self):
        return QIcon(os.path.join(HERE, "icon.svg"))
