"""Sequence-space Jacobians of household blocks: the fake-news algorithm against autodiff of
the whole T-period map, against finite differences of the nonlinear map, the aggregate budget
constraint, the asymptotic Toeplitz structure, a household with hours, and bad arguments."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hank_mfg.models.block_models import krusell_smith_steady_state, one_asset_hank
from hank_mfg.solvers.jacobian import _occupied, household_jacobian, household_path
from hank_mfg.solvers.steady_state import steady_state

T = 30
KS_INPUTS = ("r", "w", "beta")
KS_OUTPUTS = ("A", "C")
EPS = 1e-6  # central finite differences


@pytest.fixture(scope="module")
def ks():
    """A small Krusell–Smith household (40 wealth points × 3 income states) at β = 0.98."""
    spec = krusell_smith_steady_state(n_income=3, n_wealth=40, wealth_max=50.0)
    ss = steady_state(spec.model, {**spec.calibration, "beta": 0.98}, {}, [])
    return spec.model.household, ss


@pytest.fixture(scope="module")
def ks_jacobians(ks):
    block, ss = ks
    return {
        method: household_jacobian(block, ss.values, ss, KS_INPUTS, KS_OUTPUTS, T, method)
        for method in ("fake_news", "autodiff")
    }


@pytest.fixture(scope="module")
def hank():
    """The one-asset HANK household with hours (40 × 3) at β = 0.982, vphi = 0.8."""
    spec = one_asset_hank(n_income=3, n_wealth=40)
    ss = steady_state(spec.model, {**spec.calibration, "beta": 0.982, "vphi": 0.8}, {}, [])
    return spec.model.household, ss


def _finite_difference(block, ss, names, outputs, direction, eps=EPS):
    """Central difference of the nonlinear output paths along ``direction`` (name -> [T])."""
    shocks = {k: np.zeros(T) for k in names}

    def path(sign):
        paths = {k: shocks[k] + sign * eps * direction.get(k, 0.0) for k in names}
        return household_path(block, ss.values, ss, paths, outputs)

    up, down = path(1.0), path(-1.0)
    return {o: (up[o] - down[o]) / (2 * eps) for o in outputs}


def _scale(J):
    return max(float(np.max(np.abs(J[o][i]))) for o in J for i in J[o])


# --- the two methods -----------------------------------------------------------------------------


def test_shapes_and_types(ks_jacobians):
    J = ks_jacobians["fake_news"]
    assert set(J) == set(KS_OUTPUTS)
    for o in KS_OUTPUTS:
        assert set(J[o]) == set(KS_INPUTS)
        for i in KS_INPUTS:
            assert J[o][i].shape == (T, T) and J[o][i].dtype == np.float64
            assert np.all(np.isfinite(J[o][i]))


def test_fake_news_equals_autodiff(ks_jacobians):
    fake, auto = ks_jacobians["fake_news"], ks_jacobians["autodiff"]
    worst = max(np.max(np.abs(fake[o][i] - auto[o][i])) for o in KS_OUTPUTS for i in KS_INPUTS)
    assert worst <= 1e-9, worst
    assert _scale(fake) > 0.1  # the Jacobians are not trivially zero


@pytest.mark.parametrize("name", KS_INPUTS)
def test_columns_equal_finite_differences(ks, ks_jacobians, name):
    block, ss = ks
    J = ks_jacobians["fake_news"]
    for s in (0, 1, 12, T - 1):
        unit = np.zeros(T)
        unit[s] = 1.0
        fd = _finite_difference(block, ss, KS_INPUTS, KS_OUTPUTS, {name: unit})
        for o in KS_OUTPUTS:
            scale = np.max(np.abs(J[o][name]))
            assert np.max(np.abs(fd[o] - J[o][name][:, s])) <= 1e-6 * scale, (o, name, s)


@settings(max_examples=8, deadline=None)
@given(
    name=st.sampled_from(KS_INPUTS),
    weights=st.lists(st.floats(-1.0, 1.0), min_size=T, max_size=T),
)
def test_any_shock_path_is_linear_in_the_jacobian(ks, ks_jacobians, name, weights):
    """For a shock path dX, J dX is the derivative of the nonlinear output paths along dX."""
    block, ss = ks
    direction = np.asarray(weights)
    if not np.any(direction):
        direction[0] = 1.0
    J = ks_jacobians["fake_news"]
    fd = _finite_difference(block, ss, KS_INPUTS, KS_OUTPUTS, {name: direction})
    for o in KS_OUTPUTS:
        predicted = J[o][name] @ direction
        scale = np.max(np.abs(J[o][name])) * np.sum(np.abs(direction))
        assert np.max(np.abs(fd[o] - predicted)) <= 1e-6 * scale


def test_aggregate_budget_constraint(ks, ks_jacobians):
    """``C_t + A_t = (1 + r_t) A_{t−1} + w_t Σ μ e`` (the lottery keeps mean wealth, the income
    distribution stays stationary): linearised, ``J_C + J_A = (1 + r) L J_A + (A, 1, 0) I``."""
    block, ss = ks
    R, A = 1.0 + ss["r"], ss["A"]
    mean_e = float(np.sum(ss.household.mu * block.productivity[None, :]))
    for method, J in ks_jacobians.items():
        for name, impact in (("r", A), ("w", mean_e), ("beta", 0.0)):
            lagged = np.vstack([np.zeros((1, T)), J["A"][name][:-1]])
            residual = J["C"][name] + J["A"][name] - R * lagged - impact * np.eye(T)
            assert np.max(np.abs(residual)) <= 1e-11, (method, name)


def test_asymptotically_toeplitz(ks):
    """Far from date 0 the Jacobian depends on t − s only: ``J[t, s] ≈ J[t−1, s−1]``."""
    block, ss = ks
    horizon = 80
    J = household_jacobian(block, ss.values, ss, ("r",), ("A",), horizon)["A"]["r"]
    step = np.abs(J[1:, 1:] - J[:-1, :-1]) / np.max(np.abs(J))
    head, tail = np.max(step[:10, :10]), np.max(step[-10:, -10:])
    assert tail <= 1e-3 and tail <= 0.05 * head, (head, tail)


def test_unoccupied_top_of_the_grid(ks):
    """Where the distribution has no mass the fake news leaves states out of its products;
    the result is the same as autodiff's over every state."""
    block, ss = ks
    mu = np.where(ss.household.mu < 1e-14, 0.0, ss.household.mu)
    steady = dataclasses.replace(ss.household, mu=mu / mu.sum())
    assert _occupied(block, steady.mu) < block.n_wealth * block.n_income
    fake, auto = (
        household_jacobian(block, ss.values, steady, KS_INPUTS, KS_OUTPUTS, T, method)
        for method in ("fake_news", "autodiff")
    )
    worst = max(np.max(np.abs(fake[o][i] - auto[o][i])) for o in KS_OUTPUTS for i in KS_INPUTS)
    assert worst <= 1e-9, worst


def test_steady_state_is_a_fixed_point_of_the_path(ks):
    block, ss = ks
    zero = np.zeros(T)
    path = household_path(block, ss.values, ss, {"r": zero}, ("A", "C"))
    for o in ("A", "C"):
        assert np.max(np.abs(path[o] - ss[o])) <= 1e-10


# --- a household with hours ----------------------------------------------------------------------


def test_household_with_hours(hank):
    block, ss = hank
    names, outputs = ("r", "w", "Tax"), ("A", "C", "N", "NE")
    fake = household_jacobian(block, ss.values, ss, names, outputs, T, "fake_news")
    auto = household_jacobian(block, ss.values, ss, names, outputs, T, "autodiff")
    worst = max(np.max(np.abs(fake[o][i] - auto[o][i])) for o in outputs for i in names)
    assert worst <= 1e-9, worst
    # hours respond: a higher wage raises effective hours on impact
    assert fake["NE"]["w"][0, 0] > 0.0
    for name, s in (("w", 0), ("r", 7), ("Tax", T - 1)):
        unit = np.zeros(T)
        unit[s] = 1.0
        fd = _finite_difference(block, ss, names, outputs, {name: unit})
        for o in outputs:
            scale = np.max(np.abs(fake[o][name]))
            assert np.max(np.abs(fd[o] - fake[o][name][:, s])) <= 1e-6 * scale, (o, name, s)


def test_household_with_intratemporal_hours_rule():
    # the chords' Newton steps are differentiated like the rest of the step
    spec = one_asset_hank(n_income=3, n_wealth=40, hours_rule="intratemporal")
    ss = steady_state(spec.model, {**spec.calibration, "beta": 0.982, "vphi": 0.8}, {}, [])
    block, names, outputs = spec.model.household, ("w",), ("A", "NE")
    fake = household_jacobian(block, ss.values, ss, names, outputs, 20, "fake_news")
    auto = household_jacobian(block, ss.values, ss, names, outputs, 20, "autodiff")
    assert max(np.max(np.abs(fake[o]["w"] - auto[o]["w"])) for o in outputs) <= 1e-9
    assert fake["NE"]["w"][0, 0] > 0.0


# --- bad arguments -------------------------------------------------------------------------------


def test_unknown_input_is_named(ks):
    block, ss = ks
    with pytest.raises(ValueError, match="'interest'"):
        household_jacobian(block, ss.values, ss, ("interest",), ("A",), T)
    with pytest.raises(ValueError, match="'Y'"):
        household_jacobian(block, ss.values, ss, ("r",), ("Y",), T)
    with pytest.raises(ValueError, match="'wages'"):
        household_path(block, ss.values, ss, {"wages": np.zeros(T)})


@pytest.mark.parametrize("horizon", [1, 0, -3, 2.5])
def test_short_horizon_raises(ks, horizon):
    block, ss = ks
    with pytest.raises(ValueError, match="T"):
        household_jacobian(block, ss.values, ss, ("r",), ("A",), horizon)


def test_bad_method_and_missing_value(ks):
    block, ss = ks
    with pytest.raises(ValueError, match="method"):
        household_jacobian(block, ss.values, ss, ("r",), ("A",), T, method="finite")
    values = {k: v for k, v in ss.values.items() if k != "w"}
    with pytest.raises(ValueError, match="'w'"):
        household_jacobian(block, values, ss, ("r",), ("A",), T)


def test_steady_state_from_other_values_raises(ks):
    block, ss = ks
    with pytest.raises(ValueError, match="steady"):
        household_jacobian(block, {**ss.values, "beta": 0.97}, ss, ("r",), ("A",), T)
    uniform = np.full_like(ss.household.mu, 1.0 / ss.household.mu.size)
    with pytest.raises(ValueError, match="stationary"):
        household_jacobian(block, ss.values, dataclasses.replace(ss.household, mu=uniform))
    policy = jax.tree_util.tree_map(lambda x: x[:30], ss.household.policy)
    small = dataclasses.replace(ss.household, policy=policy, mu=ss.household.mu[:30])
    with pytest.raises(ValueError, match="grid"):
        household_jacobian(block, ss.values, small, ("r",), ("A",), T)
