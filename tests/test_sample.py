"""The sample-based update converges to the exact pushforward like 1/sqrt(N)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import aiyagari_1994
from hank_mfg.core import constant_policy, rollout_keys
from hank_mfg.core.sample import empirical_distribution, sample_agents, sample_rollout
from hank_mfg.models import LinearQuadratic, aiyagari


@functools.cache
def _lq():
    game = LinearQuadratic(common_noise=True, horizon=6)
    return game, game.uniform_policy()


@functools.cache
def _aiyagari():
    cal = aiyagari_1994(rho=0.9, sigma=0.2, crra=3.0, n_wealth=30, n_income=3, wealth_max=40.0)
    game = aiyagari(cal, horizon=6)
    return game, jnp.full(game.n_states, 0.4)


# compiled once per game and agent count (called eagerly, each call would compile its scans
# anew)
_exact = jax.jit(rollout_keys, static_argnums=(0, 1))
_sampled = jax.jit(sample_rollout, static_argnums=(0, 1, 4))


def _mean_l1_error(game, table, n_agents, seeds):
    errors = []
    for seed in seeds:
        key = jax.random.PRNGKey(seed)
        exact = _exact(game, constant_policy, table, key[None])
        sampled = _sampled(game, constant_policy, table, key, n_agents)
        assert np.array_equal(
            np.asarray(jax.tree_util.tree_leaves(exact.agg.z)[0][0]),
            np.asarray(jax.tree_util.tree_leaves(sampled.agg.z)[0]),
        ), "the sampled path and the exact one share their common noise"
        mu_exact = np.asarray(exact.agg.mu[0])
        mu_sampled = np.asarray(sampled.agg.mu)
        np.testing.assert_allclose(mu_sampled.sum(axis=-1), 1.0, atol=1e-12)
        errors.append(np.abs(mu_sampled - mu_exact).sum(axis=-1).mean())
    return float(np.mean(errors))


@pytest.mark.parametrize("build", [_lq, _aiyagari], ids=["linear_quadratic", "aiyagari"])
def test_sampled_distribution_converges_like_one_over_sqrt_n(build):
    game, table = build()
    seeds = range(4)
    small = _mean_l1_error(game, table, 100, seeds)
    large = _mean_l1_error(game, table, 10_000, seeds)
    # 100 times more agents: the error falls by about sqrt(100) = 10
    assert 10 / 2.5 < small / large < 10 * 2.5, (small, large)
    assert large < 0.1


def test_sampled_rewards_average_to_the_exact_reward():
    game, table = _lq()
    key = jax.random.PRNGKey(3)
    sampled = _sampled(game, constant_policy, table, key, 50_000)
    exact = _exact(game, constant_policy, table, key[None])
    agg0 = jax.tree_util.tree_map(lambda x: x[0, 0], exact.agg)
    agg1 = jax.tree_util.tree_map(lambda x: x[0, 1], exact.agg)
    expected = float(jnp.sum(agg0.mu * game.policy_reward(agg0, agg1, table)))
    assert abs(float(sampled.rewards[0].mean()) - expected) < 0.05 * abs(expected) + 0.05


def test_empirical_distribution_and_bad_agent_count():
    mu = empirical_distribution(jnp.asarray([0, 2, 2, 3]), 5)
    np.testing.assert_allclose(mu, [0.25, 0.0, 0.5, 0.25, 0.0])
    game, _ = _lq()
    with pytest.raises(ValueError, match="n_agents"):
        sample_agents(game, jax.random.PRNGKey(0), 0)
