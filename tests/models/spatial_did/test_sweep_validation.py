"""Slow validation of the siphon-radius sweep (``pytest -m slow``; about 2 minutes).

Eight data-generating families on the shipped layer (tests/models/sweep_data.FAMILIES), the Broadband
China batch sizes re-assigned to random units, 100 replications each, the default method (all bands in one
exposure DID, 50 km rings to 600 km, binary weights as the process uses). Targets (issue 11): the 95 %
crossover interval holds the true radius in >= 90 % where one exists; "no crossover" in >= 90 % where none
does; per-band 95 % coverage >= 90 %; zero-effect bands flagged at 95 % in <= 7 %.

The interval is the shown crossing's, or without a shown siphon the open interval (X, +inf) "a siphon, if
any, begins beyond X km" (see spillmap.models.spatial_did._crossover). Measured (benchmarks/bench_sweep.py
prints the full table, random and clustered pilots): holds 99–100 % in every family with a radius; "no
crossover" 95–96 %; per-band coverage 91.0–95.5 % (92.4–92.8 % with spatially correlated errors); zero bands
flagged 4.8–6.5 %. The power to *show* the
siphon is reported beside it: 100 % (edge, asymmetric), 91 % (gradual decay), 74 % (inside a band), 79 %
(AR(1) errors); the floor below guards it against regressions (it is not a target of the issue).
"""

from __future__ import annotations

import pytest

from ..sweep_data import FAMILIES, validate

#: Regression floor for the share of samples showing a siphon where one exists (measured 74–100 %).
POWER_FLOOR = 0.65


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_siphon_radius_targets(name):
    r = validate(name, 100)
    assert r["band_coverage"] >= 0.90
    assert r["zero_flagged"] <= 0.07
    assert r.get("holds", r.get("says_none")) >= 0.90
    if "holds" in r:
        assert r["shown"] >= POWER_FLOOR
