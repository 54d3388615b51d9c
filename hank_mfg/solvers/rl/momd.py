"""Deep Munchausen Online Mirror Descent (D-MOMD; Laurière et al., 2022) on sampled agents.

Online mirror descent for mean-field games alternates (1) the mean field of the current policy
and (2) a policy evaluation, the new policy being the softmax of the *sum* of all past
Q-functions. The Munchausen trick replaces that sum by one Q-network trained on a modified
target, so that ``π_k = softmax(q_k / τ)``:

    y = r + α τ max(ln π_{k-1}(a | s), l_0)
          + γ Σ_{a'} π_{k-1}(a' | s') [q_{k-1}(s', a') − τ ln π_{k-1}(a' | s')]

(at the last period the continuation is the game's terminal value of ``s'``). Here each
iteration draws experience from the sample-based update (:mod:`hank_mfg.core.sample`: N agents
per common-noise path, the empirical distribution for prices and observations) under
``π_{k-1}``, computes the targets with the frozen ``q_{k-1}``, and fits ``q_k`` (initialised
at ``q_{k-1}``) by ``inner_steps`` Adam steps on the squared error. The Q-network is a
:class:`~hank_mfg.solvers.policies.StateTable` of (state features; normalised observation,
period): Q-values of every action for every state, so ``π_k`` is a mean-field policy (its
memory counts periods) that the core evaluates exactly. Rewards are scaled by one constant
fixed at the start, as for PPO.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax

from hank_mfg.core.checks import check_settings
from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import Policy
from hank_mfg.solvers.policies import StateTable, normalise_observation
from hank_mfg.solvers.rl.common import (
    check_discrete,
    clock_input,
    collect,
    gradient_steps,
    n_shared_inputs,
    observation_size,
    reward_scale,
    run_solver,
    sampled_observation_scale,
)
from hank_mfg.solvers.solution import Solution

Array = jax.Array

__all__ = ["MOMDConfig", "momd"]


@dataclass(frozen=True)
class MOMDConfig:
    """Settings of Deep Munchausen OMD; the defaults work on the built-in discrete games.

    Attributes:
        iterations: mirror-descent iterations (fresh experience, then ``inner_steps`` fits).
        n_agents, n_samples: simulated agents per path, common-noise paths per iteration.
        inner_steps: Adam steps fitting ``q_k`` per iteration (>= 1).
        learning_rate: Adam step size (> 0).
        tau: softmax temperature τ (> 0, scaled reward units).
        alpha: Munchausen weight α in [0, 1]; log_clip: the clip ``l_0`` (< 0).
        max_grad_norm: global-norm gradient clipping (> 0).
        hidden: widths of the Q-network.
        eval_every, eval_samples, seed: as for the other solvers.
    """

    iterations: int = 100
    n_agents: int = 1024
    n_samples: int = 4
    inner_steps: int = 20
    learning_rate: float = 3e-3
    tau: float = 0.05
    alpha: float = 0.9
    log_clip: float = -1.0
    max_grad_norm: float = 1.0
    hidden: tuple[int, ...] = (64, 64)
    eval_every: int = 10
    eval_samples: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        check_settings(
            self,
            ("iterations", "n_agents", "n_samples", "inner_steps", "eval_every", "eval_samples"),
            (
                ("learning_rate", self.learning_rate > 0, "be > 0"),
                ("tau", self.tau > 0, "be > 0"),
                ("alpha", 0 <= self.alpha <= 1, "lie in [0, 1]"),
                ("log_clip", self.log_clip < 0, "be < 0"),
                ("max_grad_norm", self.max_grad_norm > 0, "be > 0"),
            ),
        )


def momd(
    game: MeanFieldGame, config: MOMDConfig | None = None, *, callback: Any = None
) -> Solution:
    """Deep Munchausen OMD: the policy ``softmax(q(s, o_t, t) / τ)``."""
    config = MOMDConfig() if config is None else config
    check_discrete(game, "momd")
    key = jax.random.PRNGKey(config.seed)
    k_init, k_norm, k_scale, k_loop = jax.random.split(key, 4)
    features = game.state_features()
    horizon, gamma, tau = game.horizon, float(game.discount), float(config.tau)
    q_net = StateTable(hidden=config.hidden, n_out=game.n_actions)

    def q_table(params: Any, obs: Array, t: Array) -> Array:
        """``q(s, a)`` for every state at period ``t``, ``[S, A]`` (scaled reward units)."""
        shared = clock_input(normalise_observation(params, obs), t, horizon)
        return q_net.apply(params["q"], features, shared.astype(features.dtype))

    def apply(params: Any, t: Array, obs: Array) -> tuple[Array, Array]:
        return t + 1, jax.nn.softmax(q_table(params, obs, t) / tau, axis=-1)

    policy = Policy(init=lambda params: jnp.zeros((), jnp.int32), apply=apply)
    n_obs = observation_size(game)
    params = {
        "q": q_net.init(k_init, features, jnp.zeros(n_shared_inputs(game), features.dtype)),
        "obs": {"loc": jnp.zeros(n_obs), "scale": jnp.ones(n_obs)},
    }
    loc, scale = sampled_observation_scale(game, policy, params, k_norm, config.n_agents)
    params["obs"] = {"loc": jnp.asarray(loc), "scale": jnp.asarray(scale)}

    scale_rewards = reward_scale(game, policy, params, k_scale, config.n_samples)

    optimizer = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )
    periods = jnp.arange(horizon)

    def targets(prev: Any, path: dict[str, Array]) -> Array:
        """Munchausen targets ``[T, N]`` of one path under the frozen ``q_{k-1}``."""
        q_prev = jax.vmap(partial(q_table, prev))(path["obs"][:-1], periods)  # [T, S, A]
        log_pi = jax.nn.log_softmax(q_prev / tau, axis=-1)
        states, actions = path["states"][:-1], path["actions"]
        taken = jnp.take_along_axis(log_pi[periods[:, None], states], actions[..., None], -1)
        bonus = config.alpha * tau * jnp.maximum(taken[..., 0], config.log_clip)
        soft_value = jnp.sum(jnp.exp(log_pi) * (q_prev - tau * log_pi), axis=-1)  # [T, S]
        next_states = path["states"][1:]
        cont = soft_value[jnp.minimum(periods + 1, horizon - 1)[:, None], next_states]
        cont = cont.at[-1].set(path["terminal"] * scale_rewards)
        return path["rewards"] * scale_rewards + bonus + gamma * cont

    def loss_fn(params: Any, exp: dict[str, Array], y: Array) -> Array:
        def one(path: dict[str, Array], y_b: Array) -> Array:
            q = jax.vmap(partial(q_table, params))(path["obs"][:-1], periods)
            taken = q[periods[:, None], path["states"][:-1], path["actions"]]
            return jnp.mean((taken - y_b) ** 2)

        return jnp.mean(jax.vmap(one)(exp, y))

    def iteration(carry: Any, key_it: Array) -> tuple[Any, Array]:
        params, opt_state = carry
        keys = jax.random.split(key_it, config.n_samples)
        exp = jax.lax.stop_gradient(collect(game, policy, params, keys, config.n_agents))
        y = jax.lax.stop_gradient(jax.vmap(partial(targets, params))(exp))

        return gradient_steps(loss_fn, optimizer, (params, opt_state), config.inner_steps, exp, y)

    return run_solver(
        game,
        config,
        name="momd",
        policy=policy,
        state=(params, optimizer.init(params)),
        params_of=lambda state: state[0],
        iteration=iteration,
        extra_settings={"reward_scale": scale_rewards},
        key=k_loop,
        callback=callback,
    )
