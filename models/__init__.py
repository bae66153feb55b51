"""Estimators (spillmap.models), one sub-package per concern; every public name is re-exported here.

- ``panel/``: fixed-effects spatial panel ML (SAR, SEM, SDM, SDEM, SLX), effects, LM tests;
- ``did/``: policy evaluation without spatial terms (treatment, TWFE, event studies, robust
  estimators, Bacon, placebo, heterogeneity, mediation, moderation, entropy index);
- ``spatial_did/``: spatial Durbin DID, distance-band sweep and crossover, per-city effects.

:func:`fit_spatial_panel` fits SAR, SEM, SDM, SDEM and SLX models with unit,
time or two-way fixed effects by concentrated maximum likelihood, with the
Lee–Yu (2010) transformation (default for two-way effects), analytic
standard errors, and direct/indirect/total effects with simulated or
delta-method inference. :func:`prepare_weights` decomposes a weights matrix
once so that sweeps and placebo runs refit cheaply.

Names are imported on first use (PEP 562): ``import spillmap.models`` loads
no estimator, and ``from spillmap.models import fit_spatial_panel`` loads the
panel sub-package only (not the DID estimators, pyfixest or csdid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spillmap._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports on first use
    from spillmap.models.did import (
        BaconResult,
        DIDResult,
        DifferenceTest,
        EntropyIndexResult,
        EstimatorComparison,
        EventStudyResult,
        HeterogeneityResult,
        MediationResult,
        ModerationResult,
        PlaceboResult,
        PSMDIDResult,
        TreatmentPanel,
        TreatmentReport,
        assign_treatment,
        bacon_decomposition,
        baseline_groups,
        compare_estimators,
        entropy_index,
        event_study,
        fit_did,
        heterogeneity,
        mediation,
        moderation,
        placebo_test,
        psm_did,
    )
    from spillmap.models.panel import (
        EffectsResult,
        FixedEffects,
        Model,
        PanelData,
        PreparedWeights,
        SpatialPanelResult,
        Summary,
        TestResult,
        fit_spatial_panel,
        panel_arrays,
        panel_lm_tests,
        parse_formula,
        prepare_weights,
    )
    from spillmap.models.spatial_did import (
        Band,
        Crossover,
        SDMDiDResult,
        SpatialEventStudyResult,
        SweepResult,
        UnitEffectsResult,
        UnitEffectsSummary,
        crossover,
        distance_bands,
        distance_sweep,
        fit_sdm_did,
        spatial_event_study,
        unit_effects,
    )

_LAZY = {  # public name -> sub-package that exports it; imported on first use (PEP 562)
    "BaconResult": "spillmap.models.did",
    "DIDResult": "spillmap.models.did",
    "DifferenceTest": "spillmap.models.did",
    "EntropyIndexResult": "spillmap.models.did",
    "EstimatorComparison": "spillmap.models.did",
    "EventStudyResult": "spillmap.models.did",
    "HeterogeneityResult": "spillmap.models.did",
    "MediationResult": "spillmap.models.did",
    "ModerationResult": "spillmap.models.did",
    "PlaceboResult": "spillmap.models.did",
    "PSMDIDResult": "spillmap.models.did",
    "TreatmentPanel": "spillmap.models.did",
    "TreatmentReport": "spillmap.models.did",
    "assign_treatment": "spillmap.models.did",
    "bacon_decomposition": "spillmap.models.did",
    "baseline_groups": "spillmap.models.did",
    "compare_estimators": "spillmap.models.did",
    "entropy_index": "spillmap.models.did",
    "event_study": "spillmap.models.did",
    "fit_did": "spillmap.models.did",
    "heterogeneity": "spillmap.models.did",
    "mediation": "spillmap.models.did",
    "moderation": "spillmap.models.did",
    "placebo_test": "spillmap.models.did",
    "psm_did": "spillmap.models.did",
    "EffectsResult": "spillmap.models.panel",
    "FixedEffects": "spillmap.models.panel",
    "Model": "spillmap.models.panel",
    "PanelData": "spillmap.models.panel",
    "PreparedWeights": "spillmap.models.panel",
    "SpatialPanelResult": "spillmap.models.panel",
    "Summary": "spillmap.models.panel",
    "TestResult": "spillmap.models.panel",
    "fit_spatial_panel": "spillmap.models.panel",
    "panel_arrays": "spillmap.models.panel",
    "panel_lm_tests": "spillmap.models.panel",
    "parse_formula": "spillmap.models.panel",
    "prepare_weights": "spillmap.models.panel",
    "Band": "spillmap.models.spatial_did",
    "Crossover": "spillmap.models.spatial_did",
    "SDMDiDResult": "spillmap.models.spatial_did",
    "SpatialEventStudyResult": "spillmap.models.spatial_did",
    "SweepResult": "spillmap.models.spatial_did",
    "UnitEffectsResult": "spillmap.models.spatial_did",
    "UnitEffectsSummary": "spillmap.models.spatial_did",
    "crossover": "spillmap.models.spatial_did",
    "distance_bands": "spillmap.models.spatial_did",
    "distance_sweep": "spillmap.models.spatial_did",
    "fit_sdm_did": "spillmap.models.spatial_did",
    "spatial_event_study": "spillmap.models.spatial_did",
    "unit_effects": "spillmap.models.spatial_did",
}

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
    "psm_did",
    "PSMDIDResult",
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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
