"""A reform between two steady states: the transition, the household along it, welfare."""

from __future__ import annotations

import numpy as np
import pytest

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.sequence_models import fiscal_transfers, sequence_model
from hank_mfg.solvers.distributional import (
    consumption_equivalent,
    group_means,
    group_responses,
    household_path,
    mpc,
)
from hank_mfg.solvers.sequence import reform_steady_state, transition
from hank_mfg.solvers.steady_state import steady_state

T = 150


@pytest.fixture(scope="module")
def reform():
    """A more generous transfer financed by a higher labour tax (tau 0.25 -> 0.3)."""
    spec = fiscal_transfers(n_income=3, n_wealth=50, wealth_max=100.0)
    old = steady_state(*spec.steady)
    bracket = {k: (lo * old[k], hi * old[k]) for k, (lo, hi) in spec.reform_unknowns.items()}
    new = reform_steady_state(spec.model, old, {"tau": 0.3}, bracket, spec.targets)
    path = transition(spec.model, new, spec.unknowns, spec.targets, T=T, initial=old)
    return spec, old, new, path


def test_reform_moves_between_two_steady_states(reform):
    spec, old, new, path = reform
    assert new["tau"] == 0.3 and new["beta"] == old["beta"] and new["Z"] == old["Z"]
    assert new["transfers"] > old["transfers"]
    assert new["K"] < old["K"]  # more insurance, less precautionary saving
    assert path.residuals[-1] <= 1e-9
    assert abs(path["K"][-1] - new["K"]) < 1e-3 * abs(old["K"] - new["K"])
    # date 0: the capital installed before the announcement is the old steady state's
    alpha, delta = old["alpha"], old["delta"]
    r0 = alpha * old["Z"] * (old["K"] / old["L"]) ** (alpha - 1) - delta
    assert path["r"][0] == pytest.approx(r0, rel=1e-12)
    ds = path.to_xarray()
    assert ds.attrs["initial_K"] == pytest.approx(old["K"])
    assert ds["K"].attrs["deviation"] == "absolute"


def test_household_path_reproduces_the_transitions_aggregates(reform):
    spec, old, new, path = reform
    hh = household_path(spec.model, path, new, old)
    np.testing.assert_allclose(hh.aggregate("savings"), path["A"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(hh.aggregate("consumption"), path["C"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(hh.mu.sum(axis=(1, 2)), 1.0, atol=1e-12)
    assert hh.mu.min() >= 0.0
    np.testing.assert_allclose(hh.mu[0], old.household.mu, atol=0)
    groups = group_means(hh, "wealth")
    assert groups["bottom 10%"][0] < groups["middle 80%"][0] < groups["top 10%"][0]
    # the group means average back to the mean (10% + 80% + 10%): wealth at date t is what
    # was saved at t - 1 (the old steady state's assets at date 0)
    weighted = 0.1 * groups["bottom 10%"] + 0.8 * groups["middle 80%"] + 0.1 * groups["top 10%"]
    mean_wealth = np.r_[old["A"], hh.aggregate("savings")[:-1]]
    np.testing.assert_allclose(weighted, mean_wealth, rtol=1e-10)
    by_income = group_means(hh, "consumption", by="income")
    assert list(by_income) == ["income 0", "income 1", "income 2"]
    assert by_income["income 0"][0] < by_income["income 2"][0]
    m = mpc(hh.consumption, hh.wealth_grid, hh.r)
    assert m.shape == hh.consumption.shape
    assert 0 < m[0, 0, 0] <= 1.0 + 1e-9  # the poorest, constrained, consume most of a windfall
    assert m[0, -10, 1] < m[0, 0, 0]
    ds = hh.to_xarray()
    assert ds["mu"].dims == ("time", "wealth", "income")


def test_welfare_of_the_reform_and_of_no_reform(reform):
    spec, old, new, path = reform
    hh = household_path(spec.model, path, new, old)
    welfare = consumption_equivalent(spec.model, old, hh)
    by_group = welfare["by_group"]
    # insurance helps the poor most
    assert by_group["bottom 10%"] > by_group["middle 80%"] > by_group["top 10%"]
    assert welfare["by_state"].shape == (50, 3)
    assert np.isfinite(welfare["utilitarian"])
    # no reform: the transition from the steady state to itself is worth nothing
    still = transition(spec.model, old, spec.unknowns, spec.targets, T=T)
    assert still.iterations == 0
    none = consumption_equivalent(spec.model, old, household_path(spec.model, still, old))
    assert np.max(np.abs(none["by_state"])) < 1e-6


def test_bad_reforms_are_named(reform):
    spec, old, new, path = reform
    with pytest.raises(ValueError, match="reform: 'transfers' is not an input of model"):
        reform_steady_state(spec.model, old, {"transfers": 0.2}, {"K": (1.0, 5.0)}, ["asset_mkt"])
    with pytest.raises(ValueError, match="reform: the new value of 'tau' is not finite"):
        reform_steady_state(spec.model, old, {"tau": np.nan}, {"K": (1.0, 5.0)}, ["asset_mkt"])
    with pytest.raises(ValueError, match="unknown sequence-space model 'hank2'"):
        sequence_model("hank2")


def test_group_responses_dataset(reform):
    spec, old, new, path = reform
    hh = household_path(spec.model, path, new, old)
    ds = group_responses(hh, old)
    assert ds["consumption"].dims == ("group", "time")
    assert ds["consumption"].attrs["deviation"] == "percent"
    assert ds["wealth"].attrs["deviation"] == "absolute"
    assert np.all(np.isfinite(ds["wealth"].values)) and np.all(np.isfinite(ds["consumption"]))
    # date 0: the distribution is the old one, so wealth has not moved yet
    np.testing.assert_allclose(ds["wealth"].isel(time=0), 0.0, atol=1e-12)
    # the poorest consume more at once: the transfer is higher
    assert float(ds["consumption"].sel(group="bottom 10%").isel(time=0)) > 0
