"""Fixed-effects spatial panel ML: design and demeaning, prepared weights and log-determinants,
concentrated likelihood, information matrix, robust variances, result objects, effects, LM tests, the spreg engine."""

from spillmap.models.panel._effects import EffectsResult
from spillmap.models.panel._fe import FixedEffects
from spillmap.models.panel._lm import panel_lm_tests
from spillmap.models.panel._ml import Model
from spillmap.models.panel._panel import (
    PanelData, PanelFormula, panel_arrays, panel_from_formula, parse_formula, parse_panel_formula,
)
from spillmap.models.panel._results import SpatialPanelResult, Summary, TestResult
from spillmap.models.panel._vce import VCE
from spillmap.models.panel._weights import PreparedWeights, prepare_weights
from spillmap.models.panel.api import fit_spatial_panel

__all__ = [
    "fit_spatial_panel", "prepare_weights", "PreparedWeights", "panel_lm_tests", "SpatialPanelResult",
    "EffectsResult", "Summary", "TestResult", "PanelData", "panel_arrays", "parse_formula", "FixedEffects", "Model",
    "VCE", "PanelFormula", "parse_panel_formula", "panel_from_formula",
]
