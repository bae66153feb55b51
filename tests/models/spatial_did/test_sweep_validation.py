"""Slow validation of the siphon-radius sweep (``pytest -m slow``; about 2 minutes).

Seven data-generating families on the shipped layer (tests/models/sweep_data.FAMILIES), the Broadband
China batch sizes re-assigned to random units, 100 replications each, the default method (all bands in one
exposure DID, 50 km rings to 600 km, binary weights as the process uses). Targets (issue 11): the 95 %
crossover interval holds the true radius in >= 90 % where one exists; "no crossover" in >= 90 % where none
does; per-band 95 % coverage >= 90 %; zero-effect bands flagged at 95 % in <= 7 %.

Measured (benchmarks/bench_sweep.py prints the full table): the interval holds the radius in 100 % (edge at
150 km) and 100 % (asymmetric), "no crossover" in 95 % (spillover without siphon) — and only 89 % with a
gradual decay, 73 % with the boundary inside a band and 79 % with AR(1) errors: there the siphon is real but
too weak in 50 km bands to pass the simultaneous bound, and the sweep says "no crossover shown" rather than a
wrong radius. Those rows are marked xfail (strict): the issue stays open until they pass.
"""

from __future__ import annotations

import pytest

from ..sweep_data import FAMILIES, validate

#: Shortfalls measured on 100 replications (holds 73 %, 79 %, 89 %): expected to fail until the method has more power.
SHORT = {"inside band, 175 km", "AR(1) errors 0.5", "gradual decay, 175 km"}


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason="too little power in 50 km bands", strict=True)) if n in SHORT
    else n for n in FAMILIES])
def test_siphon_radius_targets(name):
    r = validate(name, 100)
    assert r["band_coverage"] >= 0.90
    assert r["zero_flagged"] <= 0.07
    assert r.get("holds", r.get("says_none")) >= 0.90
