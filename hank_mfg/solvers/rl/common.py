"""What the model-free solvers share: sampled experience, chunked training, the yardstick.

The RL solvers see the model only through the sample-based update
(:mod:`hank_mfg.core.sample`): N agents, next states drawn from the model's transitions, the
empirical distribution for prices and the shared observation. Their policies are mean-field
policies (a table for every state, given the shared observation history), so the core
evaluates them exactly, with the same exploitability as every other solver.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hank_mfg.core.game import Discrete, MeanFieldGame
from hank_mfg.core.rollout import Policy
from hank_mfg.core.sample import SampledPath, sample_rollout
from hank_mfg.solvers.policies import (
    N_CLOCK,
    clock_features,
    observation_scale,
    observation_size,
)
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.spg import TrainingDiverged, training_loop

Array = jax.Array

__all__ = [
    "TrainingDiverged",
    "check_discrete",
    "clock_input",
    "collect",
    "sampled_observation_scale",
]


def check_discrete(game: MeanFieldGame, solver: str) -> None:
    """Raise ``ValueError`` unless the game has a discrete action set."""
    if not isinstance(game.action_space, Discrete):
        raise ValueError(
            f"{solver} needs a discrete action set; {game.name} has a continuous choice "
            "(build household models with shares=[...] for discrete savings shares)"
        )


def clock_input(obs_norm: Array, t: Array, horizon: int) -> Array:
    """The shared input of value networks: normalised observation and clock features."""
    return jnp.concatenate([obs_norm, clock_features(t, horizon, obs_norm.dtype)])


def n_shared_inputs(game: MeanFieldGame) -> int:
    """Length of :func:`clock_input` for ``game``."""
    return observation_size(game) + N_CLOCK


def sampled_observation_scale(
    game: MeanFieldGame, policy: Policy, params: Any, key: Array, n_agents: int
) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale of the shared observation along a sampled path (no exact update)."""
    return observation_scale(sample_rollout(game, policy, params, key, n_agents).obs)


def collect(
    game: MeanFieldGame, policy: Policy, params: Any, keys: Array, n_agents: int
) -> dict[str, Array]:
    """Roll out ``n_agents`` agents on each of ``len(keys)`` common-noise paths.

    Returns arrays with leading axis ``B = len(keys)``: ``states [B, T+1, N]``, ``actions``,
    ``rewards``, ``log_prob [B, T, N]``, ``obs [B, T+1, n_obs]``, ``terminal [B, N]`` (the
    terminal value of each agent's last state).
    """

    def one(key: Array) -> dict[str, Array]:
        path: SampledPath = sample_rollout(game, policy, params, key, n_agents)
        agg_T = jax.tree_util.tree_map(lambda x: x[-1], path.agg)
        terminal = game.terminal_value(agg_T)[path.states[-1]]
        return {
            "states": path.states,
            "actions": path.actions,
            "rewards": path.rewards,
            "log_prob": path.log_prob,
            "obs": path.obs,
            "terminal": terminal,
        }

    return jax.vmap(one)(keys)


def reward_scale(
    game: MeanFieldGame, policy: Policy, params: Any, key: Array, n_samples: int
) -> float:
    """One constant that scales rewards to unit spread: 1 / sd of the sampled discounted
    returns of 256 agents per path under the initial policy (fixed for the whole run)."""
    first = collect(game, policy, params, jax.random.split(key, n_samples), 256)
    gamma, horizon = float(game.discount), game.horizon
    returns = np.einsum(
        "btn,t->bn", np.asarray(first["rewards"]), gamma ** np.arange(horizon)
    ) + gamma**horizon * np.asarray(first["terminal"])
    return float(1.0 / max(np.std(returns), 1e-3 * max(np.abs(returns).mean(), 1e-8)))


def gradient_steps(
    loss_fn: Callable[..., Array],
    optimizer: optax.GradientTransformation,
    state: tuple[Any, Any],
    n: int,
    *args: Any,
) -> tuple[tuple[Any, Any], Array]:
    """``n`` full-batch optimiser steps on ``loss_fn(params, *args)``; the last loss."""

    def step(carry: Any, _: Any) -> tuple[Any, Array]:
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, *args)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    state, losses = jax.lax.scan(step, state, None, length=n)
    return state, losses[-1]


def run_solver(
    game: MeanFieldGame,
    config: Any,
    *,
    name: str,
    policy: Policy,
    state: Any,
    params_of: Callable[[Any], Any],
    iteration: Callable[[Any, Array], tuple[Any, Array]],
    extra_settings: dict[str, Any],
    key: Array,
    callback: Callable[[Any], Any] | None,
) -> Solution:
    """Jit chunks of ``iteration`` (``lax.scan``) and run them in the solvers' shared
    :func:`~hank_mfg.solvers.spg.training_loop` (no checkpoints)."""

    @partial(jax.jit, static_argnames=("n",))
    def run_chunk(state: Any, key_chunk: Array, n: int) -> tuple[Any, Array]:
        return jax.lax.scan(iteration, state, jax.random.split(key_chunk, n))

    settings = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()
    }
    # the evaluation paths of SPG / RSPG run with the same seed, so that every solver is
    # scored on the same common-noise paths
    eval_key = jax.random.split(jax.random.PRNGKey(config.seed), 4)[3]
    return training_loop(
        game,
        name=name,
        policy=policy,
        state=state,
        params_of=params_of,
        finite_of=lambda s: s,
        run_chunk=lambda s, done, n: run_chunk(s, jax.random.fold_in(key, done), n),
        done=0,
        iterations=config.iterations,
        eval_every=config.eval_every,
        eval_samples=config.eval_samples,
        eval_key=eval_key,
        settings={**settings, **extra_settings},
        seed=config.seed,
        callback=callback,
    )
