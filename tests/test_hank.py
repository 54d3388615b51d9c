"""The one-asset HANK economy: steady state, monetary and demand shocks, channels, the ZLB."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.hank import HANK_SSJ, hank
from hank_mfg.solvers.sequence import ar1_shock, linearize, transition
from hank_mfg.solvers.steady_state import steady_state

T = 80


@pytest.fixture(scope="module")
def economy():
    spec = hank(n_income=3, n_wealth=60, zero_lower_bound=True)
    ss = steady_state(*spec.steady)
    linear = linearize(spec.model, ss, spec.unknowns, spec.targets, spec.shocks, T)
    return spec, ss, linear


def test_steady_state_is_ssj_calibration(economy):
    spec, ss, linear = economy
    v = linear.values
    assert v["NE"] == pytest.approx(1.0, abs=1e-8) and v["asset_mkt"] == pytest.approx(0, abs=1e-8)
    assert (
        v["B"] == HANK_SSJ["B"]
        and v["mu"] == HANK_SSJ["mu"]
        and v["r"] == pytest.approx(0.005, abs=1e-15)
    )
    assert v["w"] == pytest.approx(1 / HANK_SSJ["mu"])  # the Phillips curve at pi = 0
    assert v["i"] == pytest.approx(v["rstar"]) and abs(v["goods_mkt"]) < 1e-8
    assert abs(v["nkpc_res"]) < 1e-15 and abs(v["labor_mkt"]) < 1e-8


def test_monetary_easing_linear_and_nonlinear(economy):
    spec, ss, linear = economy
    shock = {"rstar": ar1_shock(-0.0025, 0.61, T)}
    irf = linear.irf(shock)
    assert irf["Y"][0] > 0 and irf["pi"][0] > 0 and irf["C"][0] > 0 and irf["r"][0] < 0
    eps = 1e-3
    up, down = (
        transition(
            spec.model,
            ss,
            spec.unknowns,
            spec.targets,
            {"rstar": s * eps * shock["rstar"]},
            T=T,
            linear=linear,
        )
        for s in (1.0, -1.0)
    )
    for name in ("Y", "pi", "r", "C"):
        central = (up.deviation(name) - down.deviation(name)) / (2 * eps)
        assert np.max(np.abs(central - irf[name])) < 1e-6 * np.max(np.abs(irf[name])), name


def test_consumption_channels_sum_to_the_total(economy):
    spec, ss, linear = economy
    shock = {"rstar": ar1_shock(-0.0025, 0.61, T)}
    channels = linear.channels(shock, "C")
    total = linear.response(shock)["C"]
    assert set(channels) >= {"r", "w", "Div", "Tax"}
    np.testing.assert_allclose(
        sum(channels.values()), total, rtol=0, atol=1e-10 * np.abs(total).max()
    )
    # the direct effect of the lower real rate raises consumption on impact
    assert channels["r"][0] > 0
    with pytest.raises(ValueError, match="not a household output"):
        linear.channels(shock, "Y")


def test_zero_lower_bound_binds_and_deepens_the_recession(economy):
    spec, ss, linear = economy
    demand = {"beta": ar1_shock(0.006, 0.85, T)}  # households want to save: demand falls
    bound = transition(
        spec.model, ss, spec.unknowns, spec.targets, demand, T=T, linear=linear, update_blocks=True
    )
    assert bound.residuals[-1] <= 1e-9
    assert np.all(bound["i"] >= -1e-12)
    at_zero = int(np.sum(bound["i"] <= 1e-10))
    assert at_zero >= 2
    # the same economy and steady state without the bound (the floor is a value of the model)
    free = dataclasses.replace(ss, values={**ss.values, "i_floor": -np.inf})
    unbounded = transition(spec.model, free, spec.unknowns, spec.targets, demand, T=T)
    assert unbounded["i"][0] < 0  # the unconstrained rule would go below zero
    assert bound.deviation("Y")[0] < unbounded.deviation("Y")[0] < 0
