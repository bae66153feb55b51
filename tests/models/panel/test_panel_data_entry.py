"""fit_spatial_panel on a PanelData: reshape once, refit many times.

Cases: the PanelData fit equals the DataFrame fit (same arrays, same
arithmetic: estimates, standard errors and log-likelihood to rounding) on the
Cigar SDM two-way panel; a PanelData whose units are in another order than the
weights' is put in the weights' order (same estimates); the caller's arrays are
not modified; wrong units, formula/y/x or cluster= with a PanelData, and a
DataFrame without id_col/time_col each give one message.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spillmap.errors import EstimationError, PanelShapeError
from spillmap.models import fit_spatial_panel, panel_arrays, prepare_weights

#: Same arrays, same operations in the same order: equal up to a few ulps (BLAS may reorder sums).
RTOL = 1e-12


@pytest.fixture(scope="module")
def cigar_panel(cigar, cigar_graph):
    w = prepare_weights(cigar_graph)
    return w, panel_arrays(cigar, id_col="state", time_col="year", y="logc", x=["logp", "logy"], ids=w.ids)


def test_panel_data_fit_equals_the_dataframe_fit(cigar, cigar_graph, cigar_panel):
    w, panel = cigar_panel
    ref = fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph)
    res = fit_spatial_panel(panel, weights=w, id_col="state", time_col="year")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-10)
    assert res.loglik == pytest.approx(ref.loglik, rel=RTOL)
    assert list(res.params.index) == list(ref.params.index)


def test_units_in_another_order_are_put_in_the_weights_order(cigar_panel):
    w, panel = cigar_panel
    flip = np.arange(panel.n)[::-1]
    shuffled = dataclasses.replace(panel, y=panel.y[:, flip].copy(), x=panel.x[:, flip, :].copy(), ids=panel.ids[flip])
    before = (shuffled.y.copy(), shuffled.x.copy(), shuffled.ids.copy())
    ref = fit_spatial_panel(panel, weights=w)
    res = fit_spatial_panel(shuffled, weights=w)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    np.testing.assert_array_equal(shuffled.y, before[0])
    np.testing.assert_array_equal(shuffled.x, before[1])
    np.testing.assert_array_equal(shuffled.ids, before[2])


def test_wrong_units_and_arguments_are_one_message(cigar, cigar_panel):
    w, panel = cigar_panel
    short = dataclasses.replace(panel, y=panel.y[:, 1:], x=panel.x[:, 1:, :], ids=panel.ids[1:])
    with pytest.raises(PanelShapeError, match=r"in the weights only: .*panel_arrays\(\.\.\., ids=prepare_weights"):
        fit_spatial_panel(short, weights=w)
    with pytest.raises(EstimationError, match="PanelData carries its outcome"):
        fit_spatial_panel(panel, "logc ~ logp", weights=w)
    with pytest.raises(EstimationError, match="pass the DataFrame"):
        fit_spatial_panel(panel, weights=w, vce="cluster", cluster="region")
    with pytest.raises(EstimationError, match="id_col= and time_col="):
        fit_spatial_panel(cigar, "logc ~ logp", weights=w)
