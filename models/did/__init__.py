"""Policy evaluation without spatial terms: treatment assignment, TWFE DID and event studies, robust
staggered estimators, Goodman-Bacon decomposition, placebo tests, heterogeneity, mediation, moderation,
and the entropy-weight index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spillmap._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time ``__getattr__`` imports a name's module on first use
    from spillmap.models.did._bacon import BaconResult, bacon_decomposition
    from spillmap.models.did._cs import (
        CSResult,
        UnbalancedPanelWarning,
        callaway_santanna,
    )
    from spillmap.models.did._did import (
        DIDResult,
        EstimatorComparison,
        EventStudyResult,
        compare_estimators,
        event_study,
        fit_did,
    )
    from spillmap.models.did._heterogeneity import (
        DifferenceTest,
        HeterogeneityResult,
        baseline_groups,
        heterogeneity,
    )
    from spillmap.models.did._index import EntropyIndexResult, entropy_index
    from spillmap.models.did._mediation import MediationResult, mediation
    from spillmap.models.did._moderation import ModerationResult, moderation
    from spillmap.models.did._placebo import PlaceboResult, placebo_test
    from spillmap.models.did._psm import PSMDIDResult, psm_did
    from spillmap.models.did._treatment import (
        AlwaysTreatedWarning,
        TreatmentPanel,
        TreatmentReport,
        assign_treatment,
    )

_LAZY = {  # public name -> module that defines it; imported on first use (PEP 562)
    "BaconResult": "spillmap.models.did._bacon",
    "bacon_decomposition": "spillmap.models.did._bacon",
    "CSResult": "spillmap.models.did._cs",
    "UnbalancedPanelWarning": "spillmap.models.did._cs",
    "callaway_santanna": "spillmap.models.did._cs",
    "DIDResult": "spillmap.models.did._did",
    "EstimatorComparison": "spillmap.models.did._did",
    "EventStudyResult": "spillmap.models.did._did",
    "compare_estimators": "spillmap.models.did._did",
    "event_study": "spillmap.models.did._did",
    "fit_did": "spillmap.models.did._did",
    "DifferenceTest": "spillmap.models.did._heterogeneity",
    "HeterogeneityResult": "spillmap.models.did._heterogeneity",
    "baseline_groups": "spillmap.models.did._heterogeneity",
    "heterogeneity": "spillmap.models.did._heterogeneity",
    "EntropyIndexResult": "spillmap.models.did._index",
    "entropy_index": "spillmap.models.did._index",
    "MediationResult": "spillmap.models.did._mediation",
    "mediation": "spillmap.models.did._mediation",
    "ModerationResult": "spillmap.models.did._moderation",
    "moderation": "spillmap.models.did._moderation",
    "PlaceboResult": "spillmap.models.did._placebo",
    "placebo_test": "spillmap.models.did._placebo",
    "PSMDIDResult": "spillmap.models.did._psm",
    "psm_did": "spillmap.models.did._psm",
    "AlwaysTreatedWarning": "spillmap.models.did._treatment",
    "TreatmentPanel": "spillmap.models.did._treatment",
    "TreatmentReport": "spillmap.models.did._treatment",
    "assign_treatment": "spillmap.models.did._treatment",
}

__all__ = [
    "assign_treatment", "TreatmentPanel", "TreatmentReport", "fit_did", "DIDResult", "event_study",
    "EventStudyResult", "compare_estimators", "EstimatorComparison", "placebo_test", "PlaceboResult",
    "bacon_decomposition", "BaconResult", "heterogeneity", "baseline_groups", "HeterogeneityResult",
    "DifferenceTest", "mediation", "MediationResult", "moderation", "ModerationResult", "entropy_index",
    "EntropyIndexResult", "psm_did", "PSMDIDResult", "callaway_santanna", "CSResult", "UnbalancedPanelWarning",
    "AlwaysTreatedWarning",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
