"""A synthetic panel on the shipped China layer with a known siphon radius (150 km), for sweep tests.

Treatment: the Broadband China batch sizes (2014/2015/2016) re-assigned to
random units (seeded), so that which units are treated is not spatially
clustered; outcome from :data:`spillmap.synthetic.DEMO_DGP` (direct effect
1.0, +0.3 per 50 km ring to 150 km, −0.3 per ring from 150 to 300 km).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from spillmap import gis
from spillmap.models import assign_treatment
from spillmap.synthetic import DEMO_DGP, synthetic_panel


@functools.lru_cache(maxsize=1)
def china_setup(max_km: float = 600.0):
    """(distances up to ``max_km``, real first treated years) on the shipped layer; computed once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = gis.read_china_layer()
        years = gis.pilot_years(layer, id_col=gis.CHINA_ID, name_col=gis.CHINA_NAME).years
    dist = gis.pairwise_distances(layer, gis.CHINA_ID, name_col=gis.CHINA_NAME, max_km=max_km)
    return dist, years


def siphon_panel(seed: int, *, randomize: bool = True, **dgp: float) -> pd.DataFrame:
    """Treated panel (columns code, year, y, x1, x2, did, first_year, …) with the demo's known effects."""
    dist, years = china_setup()
    rng = np.random.default_rng(seed)
    fy = years.copy()
    if randomize:
        fy = pd.Series(rng.permutation(fy.to_numpy()), index=fy.index)
    frame = synthetic_panel(dist, fy, seed=rng, **{**DEMO_DGP, **dgp}).drop(columns="did")
    return assign_treatment(frame, id_col="code", time_col="year", first_year=fy).data
