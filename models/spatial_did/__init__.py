"""The spatial Durbin DID and what is built on it: direct/indirect/total effects of the policy, the
spatial event study, the distance-band (siphon-radius) sweep with its crossover, per-city effects."""

from spillmap.models.spatial_did._crossover import Crossover, crossover
from spillmap.models.spatial_did._sdid import (
    SDMDiDResult,
    SpatialEventStudyResult,
    fit_sdm_did,
    spatial_event_study,
)
from spillmap.models.spatial_did._sweep import (
    Band,
    SweepResult,
    distance_bands,
    distance_sweep,
)
from spillmap.models.spatial_did._unit_effects import (
    UnitEffectsResult,
    UnitEffectsSummary,
    unit_effects,
)

__all__ = [
    "fit_sdm_did", "SDMDiDResult", "spatial_event_study", "SpatialEventStudyResult", "distance_sweep",
    "distance_bands", "Band", "SweepResult", "crossover", "Crossover", "unit_effects", "UnitEffectsResult",
    "UnitEffectsSummary",
]
