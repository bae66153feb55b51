"""Policy evaluation without spatial terms: treatment assignment, TWFE DID and event studies, robust
staggered estimators, Goodman-Bacon decomposition, placebo tests, heterogeneity, mediation, moderation,
and the entropy-weight index."""

from spillmap.models.did._bacon import BaconResult, bacon_decomposition
from spillmap.models.did._cs import CSResult, UnbalancedPanelWarning, callaway_santanna
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

__all__ = [
    "assign_treatment", "TreatmentPanel", "TreatmentReport", "fit_did", "DIDResult", "event_study",
    "EventStudyResult", "compare_estimators", "EstimatorComparison", "placebo_test", "PlaceboResult",
    "bacon_decomposition", "BaconResult", "heterogeneity", "baseline_groups", "HeterogeneityResult",
    "DifferenceTest", "mediation", "MediationResult", "moderation", "ModerationResult", "entropy_index",
    "EntropyIndexResult", "psm_did", "PSMDIDResult", "callaway_santanna", "CSResult", "UnbalancedPanelWarning",
    "AlwaysTreatedWarning",
]
