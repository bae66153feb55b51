"""Fixed-effects spatial panel ML: design and demeaning, prepared weights and log-determinants,
concentrated likelihood, information matrix, robust variances, result objects, effects, LM tests, the spreg engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spillmap._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports a name's module on first use
    from spillmap.models.panel._effects import EffectsResult
    from spillmap.models.panel._fe import FixedEffects
    from spillmap.models.panel._lm import panel_lm_tests
    from spillmap.models.panel._ml import Model
    from spillmap.models.panel._panel import (
        PanelData,
        PanelFormula,
        panel_arrays,
        panel_from_formula,
        parse_formula,
        parse_panel_formula,
    )
    from spillmap.models.panel._results import SpatialPanelResult, Summary, TestResult
    from spillmap.models.panel._vce import VCE
    from spillmap.models.panel._weights import PreparedWeights, prepare_weights
    from spillmap.models.panel.api import fit_spatial_panel

_LAZY = {  # public name -> module that defines it; imported on first use (PEP 562)
    "EffectsResult": "spillmap.models.panel._effects",
    "FixedEffects": "spillmap.models.panel._fe",
    "panel_lm_tests": "spillmap.models.panel._lm",
    "Model": "spillmap.models.panel._ml",
    "PanelData": "spillmap.models.panel._panel",
    "PanelFormula": "spillmap.models.panel._panel",
    "panel_arrays": "spillmap.models.panel._panel",
    "panel_from_formula": "spillmap.models.panel._panel",
    "parse_formula": "spillmap.models.panel._panel",
    "parse_panel_formula": "spillmap.models.panel._panel",
    "SpatialPanelResult": "spillmap.models.panel._results",
    "Summary": "spillmap.models.panel._results",
    "TestResult": "spillmap.models.panel._results",
    "VCE": "spillmap.models.panel._vce",
    "PreparedWeights": "spillmap.models.panel._weights",
    "prepare_weights": "spillmap.models.panel._weights",
    "fit_spatial_panel": "spillmap.models.panel.api",
}

__all__ = [
    "fit_spatial_panel", "prepare_weights", "PreparedWeights", "panel_lm_tests", "SpatialPanelResult",
    "EffectsResult", "Summary", "TestResult", "PanelData", "panel_arrays", "parse_formula", "FixedEffects", "Model",
    "VCE", "PanelFormula", "parse_panel_formula", "panel_from_formula",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
