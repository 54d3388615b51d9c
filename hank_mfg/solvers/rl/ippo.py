"""Independent PPO (IPPO) and recurrent IPPO (RIPPO) on the sample-based mean-field update.

Every agent runs the same (shared-parameter) PPO policy and treats the others as part of the
environment (independent learners). The environment is the model's sample-based update
(:mod:`hank_mfg.core.sample`): N agents per common-noise path, next states drawn from the
model's transitions, prices and observations from the empirical distribution.

* Actor: the policy network of :mod:`hank_mfg.solvers.policies` — a table of action
  probabilities for every state given the shared observation: memoryless for IPPO, a GRU over
  the shared observation history (with the period) for RIPPO, so the learned policy is a
  mean-field policy the core evaluates exactly.
* Critic: a state-value table ``V_t(s)`` from the state features, the observation and the
  period (:class:`~hank_mfg.solvers.policies.StateTable`).
* Update (Schulman et al. 2017): generalised advantage estimation (GAE, λ) along each agent's
  path, the terminal value of its last state as the final reward; clipped surrogate
  objective, value loss and an entropy bonus; ``epochs`` full-batch Adam steps on the same
  experience. Rewards are scaled by one constant fixed at the start (the spread of the initial
  policy's sampled returns) so that one learning rate suits every model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax

from hank_mfg.core.checks import check_bool, check_settings
from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import policy_actions
from hank_mfg.solvers.policies import StateTable, normalise_observation, policy_network
from hank_mfg.solvers.rl.common import (
    check_discrete,
    clock_input,
    collect,
    gradient_steps,
    n_shared_inputs,
    reward_scale,
    run_solver,
    sampled_observation_scale,
)
from hank_mfg.solvers.solution import Solution

Array = jax.Array

__all__ = ["PPOConfig", "ippo", "rippo"]


@dataclass(frozen=True)
class PPOConfig:
    """Settings of IPPO / RIPPO; the defaults work on the built-in discrete-action games.

    Attributes:
        iterations: PPO updates (each: fresh experience, ``epochs`` gradient steps), >= 1.
        n_agents: simulated agents per common-noise path (>= 1).
        n_samples: common-noise paths per update (>= 1).
        epochs: gradient steps per batch of experience (>= 1).
        learning_rate: Adam step size (> 0), annealed (cosine) to ``final_lr_fraction`` of it.
        clip: PPO ratio clipping ε in (0, 1).
        gae_lambda: GAE λ in [0, 1].
        entropy_coef, value_coef: weights of the entropy bonus and the value loss (>= 0).
        max_grad_norm: global-norm gradient clipping (> 0).
        hidden, embedding, rank: actor network (see :func:`policy_network`); the critic uses
            ``hidden``.
        recurrent: GRU over the shared observations (RIPPO) or memoryless (IPPO).
        eval_every, eval_samples: iterations between exact evaluations, and their paths.
        seed: random seed.
    """

    iterations: int = 200
    n_agents: int = 1024
    n_samples: int = 4
    epochs: int = 4
    learning_rate: float = 3e-3
    final_lr_fraction: float = 0.1
    clip: float = 0.2
    gae_lambda: float = 0.95
    entropy_coef: float = 0.003
    value_coef: float = 0.5
    max_grad_norm: float = 1.0
    hidden: tuple[int, ...] = (64, 64)
    embedding: int = 32
    rank: int | None = 32
    recurrent: bool = False
    eval_every: int = 20
    eval_samples: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        check_settings(
            self,
            ("iterations", "n_agents", "n_samples", "epochs", "eval_every", "eval_samples"),
            (
                ("learning_rate", self.learning_rate > 0, "be > 0"),
                ("final_lr_fraction", 0 < self.final_lr_fraction <= 1, "lie in (0, 1]"),
                ("clip", 0 < self.clip < 1, "lie in (0, 1)"),
                ("gae_lambda", 0 <= self.gae_lambda <= 1, "lie in [0, 1]"),
                ("entropy_coef", self.entropy_coef >= 0, "be >= 0"),
                ("value_coef", self.value_coef >= 0, "be >= 0"),
                ("max_grad_norm", self.max_grad_norm > 0, "be > 0"),
            ),
        )
        check_bool("recurrent", self.recurrent)


def gae(rewards: Array, values: Array, terminal: Array, gamma: float, lam: float) -> Array:
    """Generalised advantage estimates ``[T, N]`` of one path.

    ``rewards``, ``values``: ``[T, N]``; ``terminal``: ``[N]``, the value after the last period
    (the game's terminal value, exact).
    """
    next_values = jnp.concatenate([values[1:], terminal[None]], axis=0)
    deltas = rewards + gamma * next_values - values

    def back(adv_next: Array, delta: Array) -> tuple[Array, Array]:
        adv = delta + gamma * lam * adv_next
        return adv, adv

    _, adv = jax.lax.scan(back, jnp.zeros_like(terminal), deltas, reverse=True)
    return adv


def _train(game: MeanFieldGame, config: PPOConfig, name: str, callback: Any = None) -> Solution:
    check_discrete(game, name)
    key = jax.random.PRNGKey(config.seed)
    k_init, k_norm, k_critic, k_scale, k_loop = jax.random.split(key, 5)
    net = policy_network(
        game,
        hidden=config.hidden,
        embedding=config.embedding,
        recurrent=config.recurrent,
        rank=config.rank,
    )
    policy = net.policy
    actor = net.init(k_init)
    loc, scale = sampled_observation_scale(game, policy, actor, k_norm, config.n_agents)
    actor = net.init(k_init, loc, scale)
    features = game.state_features()
    critic_net = StateTable(hidden=config.hidden, n_out=1)
    critic = critic_net.init(k_critic, features, jnp.zeros(n_shared_inputs(game), features.dtype))
    horizon, gamma = game.horizon, float(game.discount)

    scale_rewards = reward_scale(game, policy, actor, k_scale, config.n_samples)

    def critic_values(params: Any, obs: Array) -> Array:
        """``V_t(s)`` for ``t = 0…T-1`` on one path, ``[T, S]`` (scaled reward units)."""
        norm = jax.vmap(partial(normalise_observation, params["actor"]))(obs[:-1])
        shared = jax.vmap(partial(clock_input, horizon=horizon))(norm, jnp.arange(horizon))
        return jax.vmap(lambda x: critic_net.apply(params["critic"], features, x)[:, 0])(shared)

    schedule = optax.cosine_decay_schedule(
        config.learning_rate,
        config.iterations * config.epochs,
        alpha=config.final_lr_fraction,
    )
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(schedule))
    params = {"actor": actor, "critic": critic}
    periods = jnp.arange(horizon)[:, None]

    def loss_fn(params: Any, exp: dict[str, Array], adv: Array, ret: Array) -> Array:
        def one(path: dict[str, Array], adv_b: Array, ret_b: Array) -> tuple[Array, ...]:
            tables = policy_actions(policy, params["actor"], path["obs"])  # [T, S, A]
            states = path["states"][:-1]
            probs = tables[periods, states]  # [T, N, A]
            log_probs = jnp.log(jnp.maximum(probs, 1e-30))
            new = jnp.take_along_axis(log_probs, path["actions"][..., None], axis=-1)[..., 0]
            ratio = jnp.exp(new - path["log_prob"])
            clipped = jnp.clip(ratio, 1.0 - config.clip, 1.0 + config.clip)
            surrogate = jnp.minimum(ratio * adv_b, clipped * adv_b).mean()
            entropy = -(probs * log_probs).sum(-1).mean()
            values = critic_values(params, path["obs"])[periods, states]
            value_loss = jnp.mean((values - ret_b) ** 2)
            return surrogate, entropy, value_loss

        surrogate, entropy, value_loss = jax.vmap(one)(exp, adv, ret)
        return (
            -surrogate.mean()
            - config.entropy_coef * entropy.mean()
            + config.value_coef * value_loss.mean()
        )

    def iteration(carry: Any, key_it: Array) -> tuple[Any, Array]:
        params, opt_state = carry
        keys = jax.random.split(key_it, config.n_samples)
        exp = collect(game, policy, params["actor"], keys, config.n_agents)
        exp = jax.lax.stop_gradient(exp)
        rewards = exp["rewards"] * scale_rewards
        terminal = exp["terminal"] * scale_rewards
        values = jax.vmap(lambda obs, states: critic_values(params, obs)[periods, states[:-1]])(
            exp["obs"], exp["states"]
        )
        adv = jax.vmap(partial(gae, gamma=gamma, lam=config.gae_lambda))(rewards, values, terminal)
        ret = adv + values
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        adv, ret = jax.lax.stop_gradient(adv), jax.lax.stop_gradient(ret)

        return gradient_steps(loss_fn, optimizer, (params, opt_state), config.epochs, exp, adv, ret)

    return run_solver(
        game,
        config,
        name=name,
        policy=policy,
        state=(params, optimizer.init(params)),
        params_of=lambda state: state[0]["actor"],
        iteration=iteration,
        extra_settings={"reward_scale": scale_rewards},
        key=k_loop,
        callback=callback,
    )


def ippo(game: MeanFieldGame, config: PPOConfig | None = None, *, callback: Any = None) -> Solution:
    """Independent PPO with a shared memoryless policy π(a | s, o_t)."""
    config = PPOConfig() if config is None else config
    return _train(game, dataclasses.replace(config, recurrent=False), "ippo", callback)


def rippo(
    game: MeanFieldGame, config: PPOConfig | None = None, *, callback: Any = None
) -> Solution:
    """Recurrent IPPO: the policy's GRU runs over the shared observation history."""
    config = PPOConfig() if config is None else config
    return _train(game, dataclasses.replace(config, recurrent=True), "rippo", callback)
