"""Exploitability as a consumption equivalent: the closed form against the value recursion."""

import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import LogAR1TFP, aiyagari_1994
from hank_mfg.cli import main
from hank_mfg.core import constant_policy, evaluate
from hank_mfg.models import LinearQuadratic, aiyagari
from hank_mfg.solvers.solution import Solution

KEY = jax.random.PRNGKey(7)
SHARES = np.linspace(0.0, 1.0, 6)


def _economy(crra, terminal):
    cal = aiyagari_1994(crra=crra, n_income=2, n_wealth=8, wealth_max=30.0)
    c_bar = None
    if terminal == "stationary":
        # the value of consuming c̄(s) forever: homogeneous in consumption like a stationary value
        c_bar = 0.5 + jnp.arange(16.0) / 16.0
        u_bar = np.log(c_bar) if crra == 1.0 else c_bar ** (1.0 - crra) / (1.0 - crra)
        terminal = np.asarray(u_bar) / (1.0 - cal.household.beta)
    game = aiyagari(cal, tfp=LogAR1TFP(0.9, 0.05), horizon=3, shares=SHARES, terminal=terminal)
    return game, c_bar


@partial(jax.jit, static_argnums=0)
def _scaled_best_response_value(game, agg, actions, c_bar, scale):
    """Value of the best response's ``actions`` on one path with consumption times ``scale``
    in every period (and in the terminal consumption stream ``c_bar``), by the recursion."""

    def u(c):
        return game.household.utility(c, jnp.ones_like(c), game.parameters)

    v = jnp.zeros(game.n_states) if c_bar is None else u(scale * c_bar) / (1.0 - game.discount)
    for t in reversed(range(game.horizon)):
        now = jax.tree_util.tree_map(lambda x, t=t: x[t], agg)
        z_next = jax.tree_util.tree_map(lambda x, t=t: x[t + 1], agg.z)
        if game.terminal == "consume_wealth" and t == game.horizon - 1:
            flow = u(scale * game.cash_on_hand(now)).ravel()
        else:
            c = game.consumption(now)  # [n_states, n_choices]
            flow = jnp.take_along_axis(u(scale * c), actions[t][:, None], axis=1)[:, 0]
        v = flow + game.discount * game.kernel(now, z_next).expect(v, actions[t])
    return v


@functools.lru_cache
def _evaluated(crra, terminal):
    """The economy, its terminal consumption stream and an evaluation of "save 20%"."""
    game, c_bar = _economy(crra, terminal)
    policy = jnp.zeros((game.n_states, game.n_actions)).at[:, 1].set(1.0)
    return game, c_bar, policy, evaluate(game, constant_policy, policy, KEY, n_samples=2)


@pytest.mark.parametrize(
    ("crra", "terminal"), [(1.0, "consume_wealth"), (1.0, "stationary"), (2.0, "stationary")]
)
def test_consumption_equivalent_makes_the_scaled_best_response_worth_the_policy(crra, terminal):
    game, c_bar, _, ev = _evaluated(crra, terminal)
    expl = ev.exploitability
    lam = np.asarray(game.consumption_equivalent(ev.value[:, 0], ev.best_response.value[:, 0]))
    assert float(expl.value) > 0 and np.all(lam > -1e-9) and lam.max() > 1e-3
    scaled_value = jax.vmap(_scaled_best_response_value, in_axes=(None, None, None, None, 0))
    for b in range(2):
        agg = jax.tree_util.tree_map(lambda x, b=b: x[b], ev.path.agg)
        actions = ev.best_response.actions[b]
        # row i: every state's value at the scale of state i; its own entry must be V_π(i)
        scaled = scaled_value(game, agg, actions, c_bar, jnp.asarray(1.0 - lam[b] / 100.0))
        np.testing.assert_allclose(np.diag(scaled), ev.value[b, 0], rtol=1e-9)
    mu0 = np.asarray(ev.path.agg.mu[:, 0])
    per_sample = np.sum(mu0 * lam, axis=1)
    np.testing.assert_allclose(expl.consumption_equivalent_per_sample, per_sample, rtol=1e-12)
    np.testing.assert_allclose(expl.consumption_equivalent, per_sample.mean(), rtol=1e-12)
    np.testing.assert_allclose(expl.consumption_equivalent_by_state, lam.mean(axis=0), rtol=1e-12)


@functools.lru_cache
def _linear_quadratic():
    game = LinearQuadratic(n_states=9, horizon=3)
    return game, evaluate(game, constant_policy, game.uniform_policy(), KEY, n_samples=2)


def test_games_without_consumption_report_nan():
    game, ev = _linear_quadratic()
    assert game.consumption_equivalent(ev.value[:, 0], ev.best_response.value[:, 0]) is None
    expl = ev.exploitability
    assert np.isnan(float(expl.consumption_equivalent))
    assert np.shape(expl.consumption_equivalent_by_state) == (game.n_states,)
    assert np.all(np.isnan(expl.consumption_equivalent_per_sample))
    assert np.isfinite(float(expl.value))


def test_datasets_and_the_cli_report_the_consumption_equivalent(tmp_path, capsys):
    game, _, policy, ev = _evaluated(1.0, "stationary")
    solution = Solution(game, "test", constant_policy, policy, evaluation=ev)
    ds = solution.to_xarray()
    lam = ds["exploitability_consumption"]
    assert lam.attrs["units"] == "percent of consumption"
    assert "give up rather than deviate" in lam.attrs["long_name"]
    np.testing.assert_allclose(float(lam), float(ev.exploitability.consumption_equivalent))
    assert ds["exploitability_consumption_per_sample"].dims == ("sample",)
    assert ds["exploitability_consumption_by_state"].dims == ("wealth", "income")
    solution.to_netcdf(tmp_path / "s.nc")
    assert main(["evaluate", str(tmp_path / "s.nc")]) == 0
    assert f"{float(lam):.4g}% of consumption" in capsys.readouterr().out
    # a game without a consumption good writes no such variable
    lq, ev_lq = _linear_quadratic()
    ds_lq = Solution(lq, "test", constant_policy, lq.uniform_policy(), evaluation=ev_lq).to_xarray()
    assert "exploitability_consumption" not in ds_lq and "exploitability" in ds_lq
