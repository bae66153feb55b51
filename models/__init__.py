"""Fixed-effects spatial panel estimators (spillmap.models).

:func:`fit_spatial_panel` fits SAR, SEM, SDM, SDEM and SLX models with unit,
time or two-way fixed effects by concentrated maximum likelihood, with the
Lee–Yu (2010) transformation (default for two-way effects), analytic
standard errors, and direct/indirect/total effects with simulated or
delta-method inference. :func:`prepare_weights` decomposes a weights matrix
once so that sweeps and placebo runs refit cheaply.
"""

from ._bacon import BaconResult, bacon_decomposition
from ._crossover import Crossover, crossover
from ._did import DIDResult, EstimatorComparison, EventStudyResult, compare_estimators, event_study, fit_did
from ._effects import EffectsResult
from ._fe import FixedEffects
from ._index import EntropyIndexResult, entropy_index
from ._lm import panel_lm_tests
from ._mechanism import (
    DifferenceTest,
    HeterogeneityResult,
    baseline_groups,
    MediationResult,
    ModerationResult,
    heterogeneity,
    mediation,
    moderation,
)
from ._ml import Model
from ._panel import PanelData, panel_arrays, parse_formula
from ._placebo import PlaceboResult, placebo_test
from ._sdid import SDMDiDResult, SpatialEventStudyResult, fit_sdm_did, spatial_event_study
from ._sweep import Band, SweepResult, distance_bands, distance_sweep
from ._treatment import TreatmentPanel, TreatmentReport, assign_treatment
from ._unit_effects import UnitEffectsResult, UnitEffectsSummary, unit_effects
from ._results import SpatialPanelResult, Summary, TestResult
from ._weights import PreparedWeights, prepare_weights
from .api import fit_spatial_panel

__all__ = [
    "fit_spatial_panel",
    "assign_treatment",
    "TreatmentPanel",
    "TreatmentReport",
    "fit_did",
    "DIDResult",
    "event_study",
    "EventStudyResult",
    "compare_estimators",
    "EstimatorComparison",
    "placebo_test",
    "PlaceboResult",
    "fit_sdm_did",
    "SDMDiDResult",
    "spatial_event_study",
    "SpatialEventStudyResult",
    "bacon_decomposition",
    "BaconResult",
    "heterogeneity",
    "baseline_groups",
    "HeterogeneityResult",
    "DifferenceTest",
    "mediation",
    "MediationResult",
    "moderation",
    "ModerationResult",
    "entropy_index",
    "distance_sweep",
    "distance_bands",
    "Band",
    "SweepResult",
    "crossover",
    "Crossover",
    "EntropyIndexResult",
    "prepare_weights",
    "panel_lm_tests",
    "PreparedWeights",
    "SpatialPanelResult",
    "EffectsResult",
    "unit_effects",
    "UnitEffectsResult",
    "UnitEffectsSummary",
    "Summary",
    "TestResult",
    "PanelData",
    "panel_arrays",
    "parse_formula",
    "FixedEffects",
    "Model",
]
