"""The spatial Durbin DID and what is built on it: direct/indirect/total effects of the policy, the
spatial event study, the distance-band (siphon-radius) sweep with its crossover, per-city effects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spillmap._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports a name's module on first use
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

_LAZY = {  # public name -> module that defines it; imported on first use (PEP 562)
    "Crossover": "spillmap.models.spatial_did._crossover",
    "crossover": "spillmap.models.spatial_did._crossover",
    "SDMDiDResult": "spillmap.models.spatial_did._sdid",
    "SpatialEventStudyResult": "spillmap.models.spatial_did._sdid",
    "fit_sdm_did": "spillmap.models.spatial_did._sdid",
    "spatial_event_study": "spillmap.models.spatial_did._sdid",
    "Band": "spillmap.models.spatial_did._sweep",
    "SweepResult": "spillmap.models.spatial_did._sweep",
    "distance_bands": "spillmap.models.spatial_did._sweep",
    "distance_sweep": "spillmap.models.spatial_did._sweep",
    "UnitEffectsResult": "spillmap.models.spatial_did._unit_effects",
    "UnitEffectsSummary": "spillmap.models.spatial_did._unit_effects",
    "unit_effects": "spillmap.models.spatial_did._unit_effects",
}

__all__ = [
    "fit_sdm_did", "SDMDiDResult", "spatial_event_study", "SpatialEventStudyResult", "distance_sweep",
    "distance_bands", "Band", "SweepResult", "crossover", "Crossover", "unit_effects", "UnitEffectsResult",
    "UnitEffectsSummary",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
