"""The toy games on the core interface: rollouts, evaluation, exploitability, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hank_mfg.core import (
    Policy,
    best_response,
    constant_policy,
    evaluate,
    exploitability,
    policy_actions,
    policy_value,
    rollout,
)
from hank_mfg.models import BeachBar, LinearQuadratic

GAMES = {
    "lq": LinearQuadratic(),
    "lq_common": LinearQuadratic(common_noise=True),
    "beach": BeachBar(),
    "beach_common": BeachBar(common_noise=True),
}
KEY = jax.random.PRNGKey(0)
#: common-noise paths of the evaluations and rollouts below: one number, so that the programs
#: compiled for a game (rollout, values, best response) serve every test of that game
N_PATHS = 8


@pytest.mark.parametrize("name", list(GAMES))
def test_uniform_policy_is_exploitable(name):
    game = GAMES[name]
    ev = evaluate(game, constant_policy, game.uniform_policy(), KEY, N_PATHS)
    expl = float(ev.exploitability.value)
    print(f"{name}: exploitability of the uniform policy = {expl:.6f}")
    assert expl > 1.0
    assert np.all(np.asarray(ev.exploitability.per_sample) > 0)
    np.testing.assert_allclose(np.asarray(ev.path.mu.sum(-1)), 1.0, atol=1e-12)
    assert float(ev.path.mu.min()) >= 0.0


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), which=st.sampled_from(["lq_common", "beach_common"]))
def test_exploitability_is_non_negative_for_random_policies(seed, which):
    game = GAMES[which]
    rng = np.random.default_rng(seed)
    table = jnp.asarray(rng.dirichlet(np.ones(game.n_actions) * 0.3, size=game.n_states))
    ev = evaluate(game, constant_policy, table, jax.random.PRNGKey(seed % 1000), N_PATHS)
    assert float(ev.exploitability.value) >= -1e-9
    assert np.all(np.asarray(ev.exploitability.per_sample) >= -1e-9)
    by_state = np.asarray(ev.exploitability.by_state)
    assert np.all(by_state >= -1e-9)


@pytest.mark.parametrize("name", ["lq_common", "beach_common"])
def test_best_response_on_its_own_path_has_the_best_response_value(name):
    game = GAMES[name]
    path = rollout(game, constant_policy, game.uniform_policy(), KEY, N_PATHS)
    br = best_response(game, path)
    value = policy_value(game, path, actions=br.actions)
    np.testing.assert_allclose(np.asarray(value), np.asarray(br.value), rtol=0, atol=1e-9)
    assert abs(float(exploitability(game, path, actions=br.actions).value)) < 1e-9


def test_beach_bar_nobody_enters_the_bar():
    game = BeachBar(common_noise=True)
    rng = np.random.default_rng(1)
    table = jnp.asarray(rng.dirichlet(np.ones(game.n_actions), size=game.n_states))
    path = rollout(game, constant_policy, table, KEY, 16)
    bar = np.asarray(path.agg.z["bar"][:, 0])
    mu = np.asarray(path.mu)
    assert np.all((bar >= 25) & (bar <= 75))
    assert np.all(mu[np.arange(16), :, bar] == 0.0)
    is_open = np.asarray(path.agg.z["open"])
    assert np.all(is_open[:, : game.horizon // 2] == 1)
    assert 0 < (is_open[:, -1] == 0).sum() < 16  # closes on some paths, not all
    assert np.all(is_open[:, game.horizon // 2 :] == is_open[:, -1:])


def test_linear_quadratic_common_noise_moves_the_crowd():
    game = GAMES["lq_common"]
    path = rollout(game, constant_policy, game.uniform_policy(), KEY, N_PATHS)
    z = np.asarray(path.agg.z[:, 0])
    assert set(np.unique(z)) == {-1, 1}
    mean_T = np.asarray(path.obs[:, -1, 0])
    # ε = -10 z early and +10 z late, net drift +z·σρ·10·(9 - 8) per agent before clipping
    assert np.all(mean_T[z == 1] > 49.0) and np.all(mean_T[z == -1] < 49.0)


def _ema_policy(game):
    """A recurrent policy: memory = moving average of the observed mean, the same for all."""

    def init(params):
        return jnp.zeros(())

    def apply(params, carry, obs):
        carry = 0.5 * carry + 0.5 * obs[0]
        toward = jnp.sign(carry - jnp.arange(game.n_states))  # -1, 0, +1
        idx = (toward + game.n_actions // 2).astype(jnp.int32)
        table = jax.nn.one_hot(idx, game.n_actions) * params + (1 - params) / game.n_actions
        return carry, table

    return Policy(init=init, apply=apply)


def test_recurrent_rollout_matches_a_manual_loop():
    game = GAMES["lq_common"]
    policy = _ema_policy(game)
    params = jnp.asarray(0.8)
    path = rollout(game, policy, params, KEY, 3)
    keys = jax.random.split(KEY, 3)
    for b in range(3):
        key_reset, key_path = jax.random.split(keys[b])
        agg = game.reset(key_reset)
        carry = policy.init(params)
        for t, key_t in enumerate(jax.random.split(key_path, game.horizon)):
            carry, table = policy.apply(params, carry, game.observe(agg))
            np.testing.assert_allclose(
                np.asarray(path.actions[b, t]), np.asarray(table), atol=1e-14
            )
            agg = game.step(key_t, agg, table)
            np.testing.assert_allclose(
                np.asarray(path.mu[b, t + 1]), np.asarray(agg.mu), atol=1e-13
            )
    tables = jax.vmap(lambda o: policy_actions(policy, params, o))(path.obs)
    np.testing.assert_allclose(np.asarray(tables), np.asarray(path.actions), atol=1e-14)


def test_several_initial_distributions_are_drawn():
    n = 99
    left = np.zeros(n)
    left[:10] = 0.1
    right = np.zeros(n)
    right[-10:] = 0.1
    game = LinearQuadratic(initial_distributions=np.stack([left, right]))
    path = rollout(game, constant_policy, game.uniform_policy(), KEY, 16)
    means = np.asarray(path.obs[:, 0, 0])
    assert set(np.round(means, 6)) == {4.5, 93.5}


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: LinearQuadratic(horizon=0), "horizon must be a positive integer"),
        (lambda: LinearQuadratic(horizon=2.5), "horizon must be a positive integer"),
        (lambda: LinearQuadratic(discount=0.0), r"discount must lie in \(0, 1\]"),
        (lambda: LinearQuadratic(discount=1.2), r"discount must lie in \(0, 1\]"),
        (lambda: LinearQuadratic(discount=float("nan")), "discount must be a finite number"),
        (lambda: LinearQuadratic(n_states=1), "n_states must be an integer >= 2"),
        (lambda: LinearQuadratic(rho=1.5), r"rho must lie in \[0, 1\]"),
        (lambda: LinearQuadratic(sigma=-1.0), "sigma must be finite and >= 0"),
        (lambda: LinearQuadratic(kappa=float("inf")), "kappa must be a finite number"),
        (lambda: LinearQuadratic(actions=[0.5, 1.0]), "actions must be"),
        (lambda: LinearQuadratic(initial_distributions=np.ones(99)), "must sum to one"),
        (lambda: LinearQuadratic(initial_distributions=np.ones(5) / 5), r"shape \(99,\)"),
        (
            lambda: LinearQuadratic(initial_distributions=np.r_[-0.5, 1.5, np.zeros(97)]),
            "non-negative",
        ),
        (lambda: BeachBar(noise_prob=(0.5, 0.5, 0.5, 0.0, 0.0)), "sum to one"),
        (lambda: BeachBar(noise_prob=(0.5, 0.5)), "one probability per atom"),
        (lambda: BeachBar(close_prob=2.0), r"close_prob must lie in \[0, 1\]"),
        (lambda: BeachBar(horizon=-3), "horizon"),
        (lambda: BeachBar(n_states=3), "n_states must be an integer >= 5"),
    ],
)
def test_bad_game_settings_raise(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()
