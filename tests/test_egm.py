"""The endogenous-grid method: stationary fixed point, finite horizon, best responses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import aiyagari_1994
from hank_mfg.core import constant_policy, evaluate, rollout
from hank_mfg.models import aiyagari
from hank_mfg.solvers.egm import (
    finite_horizon_egm,
    policy_value_stationary,
    stationary_egm,
)

R, W = 0.03, 1.2


def _values(economy, r=R, w=W):
    return {**economy.parameters, "r": r, "w": w}


@pytest.fixture(scope="module")
def economy():
    return aiyagari(aiyagari_1994(rho=0.6, sigma=0.2, crra=2.0, n_wealth=80), horizon=12)


@pytest.fixture(scope="module")
def stationary(economy):
    policy, iterations, change = stationary_egm(economy.household, _values(economy))
    assert float(change) <= 1e-12
    return policy


def test_stationary_policy_satisfies_the_budget_and_the_constraint(economy, stationary):
    hh = economy.household
    m = np.asarray(hh.cash_on_hand(jnp.ones((hh.n_wealth, hh.n_income)), _values(economy)))
    s, c = np.asarray(stationary.savings), np.asarray(stationary.consumption)
    np.testing.assert_allclose(s + c, m, rtol=1e-13)
    a_min = hh.wealth_grid[0]
    assert np.all(s >= a_min) and np.all(c > 0)
    # the poorest, lowest-income household is constrained; savings increase with wealth
    assert s[0, 0] == a_min
    assert np.all(np.diff(s, axis=0) >= -1e-12)


def test_finite_horizon_at_stationary_prices_reproduces_the_stationary_policy(economy, stationary):
    hh = economy.household
    T = 6
    v_stat = policy_value_stationary(hh, _values(economy), stationary)
    policies, values = finite_horizon_egm(
        hh,
        economy.parameters,
        {"r": jnp.full(T, R), "w": jnp.full(T, W)},
        terminal_marginal=stationary.marginal_value,
        terminal_value=v_stat.reshape(stationary.savings.shape),
    )
    for t in range(T):
        np.testing.assert_allclose(
            np.asarray(policies.savings[t]), np.asarray(stationary.savings), atol=1e-10
        )
    np.testing.assert_allclose(np.asarray(values[0]), np.asarray(v_stat), rtol=1e-9)


def test_last_period_without_future_consumes_everything(economy):
    hh = economy.household
    paths = {"r": jnp.full(3, R), "w": jnp.full(3, W)}
    policies, _ = finite_horizon_egm(hh, economy.parameters, paths)
    a_min = hh.wealth_grid[0]
    np.testing.assert_allclose(np.asarray(policies.savings[-1]), a_min)
    m = np.asarray(hh.cash_on_hand(jnp.ones((hh.n_wealth, hh.n_income)), _values(economy)))
    np.testing.assert_allclose(np.asarray(policies.consumption[-1]), m - a_min, rtol=1e-12)
    # with a future, saving rises
    assert float(policies.savings[0].mean()) > float(policies.savings[-1].mean())


def test_euler_equation_holds_between_periods(economy):
    hh = economy.household
    r = jnp.linspace(0.02, 0.035, 5)
    w = jnp.linspace(1.1, 1.3, 5)
    policies, _ = finite_horizon_egm(hh, economy.parameters, {"r": r, "w": w})
    crra, beta = 1.0 / economy.parameters["eis"], economy.parameters["beta"]
    t = 1
    a = hh.wealth_grid
    s, c = np.asarray(policies.savings[t]), np.asarray(policies.consumption[t])
    c_next = np.asarray(policies.consumption[t + 1])
    free = s > a[0] + 1e-8
    for e in range(hh.n_income):
        emu = sum(
            hh.Pi[e, e2] * np.interp(s[:, e], a, c_next[:, e2]) ** (-crra)
            for e2 in range(hh.n_income)
        )
        lhs = c[:, e] ** (-crra)
        rhs = beta * (1 + float(r[t + 1])) * emu
        inside = free[:, e] & (s[:, e] < a[-1])
        np.testing.assert_allclose(lhs[inside], rhs[inside], rtol=1e-3)


def test_best_response_beats_or_matches_other_policies(economy):
    key = jax.random.PRNGKey(0)
    for share in (0.1, 0.5, 0.9):
        ev = evaluate(economy, constant_policy, jnp.full(economy.n_states, share), key, 1)
        assert float(ev.exploitability.value) > 0.0
        assert np.all(np.asarray(ev.exploitability.by_state) > -1e-8)
    # the EGM best response evaluated on its own path has the best-response value
    path = rollout(economy, constant_policy, jnp.full(economy.n_states, 0.5), key, 1)
    from hank_mfg.core import best_response, exploitability

    br = best_response(economy, path)
    assert br.actions.shape == (1, economy.horizon, economy.n_states)
    assert abs(float(exploitability(economy, path, br.actions).value)) < 1e-10


def test_marginal_utility_is_crra(economy):
    c = jnp.asarray([0.5, 1.0, 2.0])
    mu = economy.household.marginal_utility(c, jnp.ones_like(c), economy.parameters)
    np.testing.assert_allclose(np.asarray(mu), np.asarray(c) ** -2.0, rtol=1e-15)
