"""Mean-field paths: the population's distribution over time for sampled common-noise paths.

One loop serves every policy. A :class:`Policy` maps the history of *shared* observations
``o_0, …, o_t`` to an action table for all individual states at once; its memory (``carry``) is
driven by the shared observations only, so it is the same for every agent and the analytic
mean-field update stays exact (the tractability assumption of recurrent structural policy
gradient). A memoryless policy is the special case with an empty carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from hank_mfg.core.game import AggState, MeanFieldGame
from hank_mfg.core.kernel import kernel_cache, with_cache

Array = jax.Array
Params = Any
Carry = Any

__all__ = [
    "MeanFieldPath",
    "Policy",
    "constant_policy",
    "memoryless",
    "policy_actions",
    "rollout",
    "period",
    "rollout_keys",
    "time_varying_policy",
]


@dataclass(frozen=True)
class Policy:
    """A mean-field policy with memory over the shared observations.

    Attributes:
        init: ``params -> carry``, the memory at the start of an episode.
        apply: ``(params, carry, obs) -> (carry, table)``: the action table for every state
            (probabilities ``[n_states, n_actions]``, indices or real actions ``[n_states]``).
        prepare: optional ``params -> params``, work that depends on the parameters only
            (e.g. a per-state basis of a policy network), done once per path instead of once
            per period; ``apply`` then receives its result. ``apply`` must give the same
            tables from unprepared ``params``.
    """

    init: Callable[[Params], Carry]
    apply: Callable[[Params, Carry, Array], tuple[Carry, Array]]
    prepare: Callable[[Params], Params] | None = None

    def prepared(self, params: Params) -> Params:
        """``prepare(params)`` when the policy has a preparation step, else ``params``."""
        return params if self.prepare is None else self.prepare(params)


def memoryless(fn: Callable[[Params, Array], Array]) -> Policy:
    """Wrap ``fn(params, obs) -> table`` as a policy without memory (π(a | s, o_t))."""
    return Policy(init=lambda params: (), apply=lambda params, carry, obs: ((), fn(params, obs)))


def _constant(params: Array, obs: Array) -> Array:
    return params


#: The same table in every period; ``params`` is the table itself.
constant_policy: Policy = memoryless(_constant)


def _tv_init(params: Array) -> Array:
    return jnp.zeros((), dtype=jnp.int32)


def _tv_apply(params: Array, t: Array, obs: Array) -> tuple[Array, Array]:
    return t + 1, params[t]


#: A table per period (``params[t]``, shape ``[horizon, …]``); its memory counts periods, which
#: is a function of the shared observation history. Best responses are policies of this kind.
time_varying_policy: Policy = Policy(init=_tv_init, apply=_tv_apply)


@struct.dataclass
class MeanFieldPath:
    """The mean field along sampled common-noise paths.

    Leading axes are ``[n_samples, horizon + 1]`` for ``agg`` and ``obs`` (dates 0…T) and
    ``[n_samples, horizon]`` for ``actions`` (the population's policy tables, periods 0…T-1).
    """

    agg: AggState
    obs: Array
    actions: Array

    @property
    def n_samples(self) -> int:
        return self.obs.shape[0]

    @property
    def mu(self) -> Array:
        return self.agg.mu


def period(
    game: MeanFieldGame,
    policy: Policy,
    params: Params,
    agg: AggState,
    carry: Carry,
    key: Array,
    *,
    keep_kernel: bool = False,
) -> tuple[AggState, Carry, Array, Array, Any]:
    """One period of one path: observe, act, move the population.

    ``params`` as :meth:`Policy.prepared` gives them. Returns ``(next_agg, next_carry, obs,
    table, cache)``; with ``keep_kernel``, ``cache`` is the period's
    :func:`~hank_mfg.core.kernel.kernel_cache` (else ``()``), so that a later pass over the
    same period (the value recursion) need not recompute it.
    """
    obs = game.observe(agg)
    carry, table = policy.apply(params, carry, obs)
    if not keep_kernel:
        return game.step(key, agg, table), carry, obs, table, ()
    kernel = game.kernel(agg, game.next_noise(key, agg))
    cache = kernel_cache(kernel)
    return game.step(key, agg, table, with_cache(kernel, cache)), carry, obs, table, cache


def _single_rollout(
    game: MeanFieldGame, policy: Policy, params: Params, key: Array
) -> tuple[AggState, Array, Array]:
    key_reset, key_path = jax.random.split(key)
    agg0 = game.reset(key_reset)
    ready = policy.prepared(params)

    def step(state, key_t):
        agg, carry = state
        next_agg, carry, obs, table, _ = period(game, policy, ready, agg, carry, key_t)
        return (next_agg, carry), (agg, obs, table)

    keys = jax.random.split(key_path, game.horizon)
    (agg_T, _), (aggs, obs, tables) = jax.lax.scan(step, (agg0, policy.init(params)), keys)
    append = partial(jax.tree_util.tree_map, lambda xs, x: jnp.concatenate([xs, x[None]], 0))
    return append(aggs, agg_T), append(obs, game.observe(agg_T)), tables


def rollout_keys(game: MeanFieldGame, policy: Policy, params: Params, keys: Array) -> MeanFieldPath:
    """Roll the mean field forward for one common-noise path per key (``keys[n_samples]``).

    ``lax.scan`` over periods, ``vmap`` over samples; not jitted itself, so it composes with
    the caller's ``jit`` and sharding of ``keys`` over devices.
    """
    aggs, obs, tables = jax.vmap(_single_rollout, in_axes=(None, None, None, 0))(
        game, policy, params, keys
    )
    return MeanFieldPath(agg=aggs, obs=obs, actions=tables)


@partial(jax.jit, static_argnames=("game", "policy", "n_samples"))
def rollout(
    game: MeanFieldGame, policy: Policy, params: Params, key: Array, n_samples: int = 1
) -> MeanFieldPath:
    """Roll the mean field forward over the horizon for ``n_samples`` common-noise paths.

    ``lax.scan`` over periods, ``vmap`` over samples; sample ``b`` uses ``split(key)[b]``.
    """
    return rollout_keys(game, policy, params, jax.random.split(key, n_samples))


def policy_actions(policy: Policy, params: Params, obs: Array) -> Array:
    """Recompute a policy's tables from one path's observations ``obs[horizon + 1, …]``.

    Returns the tables of periods ``0…T-1``. Differentiable in ``params``: this is how the
    structural policy gradient sees the policy while the mean-field path is held fixed.
    """

    ready = policy.prepared(params)

    def period(carry, o):
        carry, table = policy.apply(ready, carry, o)
        return carry, table

    _, tables = jax.lax.scan(period, policy.init(params), obs[:-1])
    return tables
