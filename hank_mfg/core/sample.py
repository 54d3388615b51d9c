"""Sample-based mean-field updates: N simulated agents instead of the exact pushforward.

The model is the same object the exact solvers use: each period, ``game.kernel(agg, z')``
gives the transitions and each agent draws its next state from them
(:meth:`~hank_mfg.core.kernel.GenericKernel.sample`,
:meth:`~hank_mfg.core.kernel.LotteryKernel.sample`) — the transitions are used as a black box
that returns a next state, never as a matrix. The empirical distribution of the agents on the
grid stands in for ``mu``: prices, rewards and the shared observation are computed from it by
``game.make_agg``. As ``N`` grows the sampled path converges to the exact one at rate
``1/√N`` (see ``tests/test_sample.py``).

This is the environment of the model-free baselines (IPPO, recurrent IPPO, M-OMD), where
each agent's reward is a sample of the model's per-state reward.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from hank_mfg.core.game import AggState, MeanFieldGame
from hank_mfg.core.rollout import Policy

Array = jax.Array

__all__ = [
    "SampledPath",
    "empirical_distribution",
    "sample_agents",
    "sample_rollout",
    "sample_step",
]


@struct.dataclass
class SampledPath:
    """One simulated path of ``N`` agents.

    Attributes:
        agg: aggregate states built from the empirical distribution, dates ``0…T``
            (``mu`` ``[T + 1, n_states]``).
        states: agents' states, int32 ``[T + 1, N]``.
        actions: agents' actions ``[T, N]`` (indices, or savings shares for a continuous
            choice).
        rewards: agents' rewards ``[T, N]`` (model units), terminal value excluded.
        log_prob: log-probability of each agent's action under the period's table ``[T, N]``
            (0 for a deterministic table: indices or a continuous share).
        obs: shared observations ``[T + 1, n_obs]``.
    """

    agg: AggState
    states: Array
    actions: Array
    rewards: Array
    log_prob: Array
    obs: Array


def empirical_distribution(states: Array, n_states: int, dtype: Any = None) -> Array:
    """Share of agents in each state, ``[n_states]`` (sums to one)."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    counts = jnp.zeros(n_states, dtype=dtype).at[states].add(1.0)
    return counts / states.shape[0]


def sample_agents(
    game: MeanFieldGame, key: Array, n_agents: int, agg: AggState | None = None
) -> tuple[AggState, Array]:
    """Draw ``n_agents`` initial states from the initial distribution (``agg``, default
    ``game.reset``). Returns ``(agg_0, states_0)``, ``agg_0`` built from the agents' empirical
    distribution."""
    if isinstance(n_agents, bool) or not isinstance(n_agents, int) or n_agents < 1:
        raise ValueError(f"n_agents must be an integer >= 1, got {n_agents!r}")
    agg = game.reset(jax.random.fold_in(key, 0)) if agg is None else agg
    states = jax.random.categorical(key, jnp.log(agg.mu), shape=(n_agents,)).astype(jnp.int32)
    mu = empirical_distribution(states, game.n_states, agg.mu.dtype)
    return game.make_agg(mu, agg.z, agg.t), states


def sample_step(
    game: MeanFieldGame, key: Array, agg: AggState, states: Array, table: Array
) -> tuple[AggState, Array, Array, Array]:
    """One period for the agents under a policy table: actions, ``z'``, next states, aggregates.

    ``table``: action probabilities ``[S, A]``, action indices ``[S]`` or a continuous savings
    share ``[S]``. ``z'`` is drawn exactly as :meth:`MeanFieldGame.step` draws it from the same
    key, so a sampled path and the exact one share their common noise. Returns ``(next_agg,
    next_states, actions, rewards)``; ``rewards[N]`` is the model's reward of each agent's
    state and action given the period's aggregates (model units).
    """
    if table.ndim == 2:
        actions = jax.random.categorical(jax.random.fold_in(key, 2), jnp.log(table[states]))
        actions = actions.astype(jnp.int32)
    else:
        actions = table[states]
    z_next = game.next_noise(key, agg)
    kernel = game.kernel(agg, z_next)
    next_states = kernel.sample(jax.random.fold_in(key, 1), states, actions)
    mu_next = empirical_distribution(next_states, game.n_states, agg.mu.dtype)
    next_agg = game.make_agg(mu_next, z_next, agg.t + 1)
    if jnp.issubdtype(actions.dtype, jnp.integer):
        rewards = game.reward(agg, next_agg)[states, actions]
    else:
        rewards = game.policy_reward(agg, next_agg, table)[states]
    return next_agg, next_states, actions, rewards


def sample_rollout(
    game: MeanFieldGame, policy: Policy, params: Any, key: Array, n_agents: int
) -> SampledPath:
    """Simulate ``n_agents`` agents over the horizon under a mean-field policy.

    The policy sees the shared observation of the empirical aggregates (its memory is shared
    by all agents, as in the exact rollout). Period ``t`` uses the key
    ``split(split(key)[1], T)[t]`` for the common noise, as :func:`~hank_mfg.core.rollout.
    rollout` does for one path, so the two share their TFP path.
    """
    key_reset, key_path = jax.random.split(key)
    agg0, states0 = sample_agents(
        game, jax.random.fold_in(key_reset, 7), n_agents, game.reset(key_reset)
    )
    ready = policy.prepared(params)

    def period(carry: Any, key_t: Array) -> tuple[Any, Any]:
        agg, states, memory = carry
        obs = game.observe(agg)
        memory, table = policy.apply(ready, memory, obs)
        next_agg, next_states, actions, rewards = sample_step(game, key_t, agg, states, table)
        if table.ndim == 2:
            log_prob = jnp.log(jnp.maximum(table[states, actions], 1e-30))
        else:
            log_prob = jnp.zeros(states.shape, dtype=rewards.dtype)
        return (next_agg, next_states, memory), (agg, states, actions, rewards, log_prob, obs)

    keys = jax.random.split(key_path, game.horizon)
    (agg_T, states_T, _), (aggs, states, actions, rewards, log_prob, obs) = jax.lax.scan(
        period, (agg0, states0, policy.init(params)), keys
    )

    def append(xs: Any, x: Any) -> Any:
        return jnp.concatenate([xs, x[None]], 0)

    return SampledPath(
        agg=jax.tree_util.tree_map(append, aggs, agg_T),
        states=append(states, states_T),
        actions=actions,
        rewards=rewards,
        log_prob=log_prob,
        obs=append(obs, game.observe(agg_T)),
    )
