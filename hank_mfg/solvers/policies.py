"""Policy networks (flax) for structural policy gradients.

A policy maps the shared observation history and each individual state to an action:

* the *aggregate embedding* depends on the shared observations only — memoryless (an MLP of
  ``o_t``, SPG) or recurrent (a GRU over ``o_0 … o_t``, reset at the episode start, RSPG) — and
  is computed once per period for the whole population;
* the *head* maps (individual state features, embedding) to action probabilities (discrete
  actions) or a savings share in (0, 1) (continuous choice). Its first layer is split into a
  state part, computed once per call for all states, and an embedding part, computed once per
  period, so no per-state work is spent on what every agent shares.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.game import Box, MeanFieldGame
from hank_mfg.core.rollout import Policy

Array = jax.Array

__all__ = ["AggregateEncoder", "PolicyHead", "PolicyNetwork", "policy_network"]


class AggregateEncoder(nn.Module):
    """Embedding of the shared observation: an MLP of ``o_t`` or a GRU over ``o_0…o_t``."""

    size: int
    recurrent: bool

    @nn.compact
    def __call__(self, carry: Array, obs: Array) -> tuple[Array, Array]:
        x = nn.tanh(nn.Dense(self.size, name="input")(obs))
        if self.recurrent:
            carry, x = nn.GRUCell(features=self.size, name="gru")(carry, x)
        return carry, x


class PolicyHead(nn.Module):
    """Per-state head: features ``[n_states, d]`` and embedding ``[e]`` to actions."""

    hidden: Sequence[int]
    n_out: int
    continuous: bool

    @nn.compact
    def __call__(self, features: Array, embedding: Array) -> Array:
        h = nn.Dense(self.hidden[0], name="state")(features) + nn.Dense(
            self.hidden[0], use_bias=False, name="aggregate"
        )(embedding)
        h = nn.relu(h)
        for i, width in enumerate(self.hidden[1:]):
            h = nn.relu(nn.Dense(width, name=f"hidden_{i}")(h))
        out = nn.Dense(self.n_out, name="out", kernel_init=nn.initializers.zeros)(h)
        if self.continuous:
            return jax.nn.sigmoid(out[:, 0])
        return jax.nn.softmax(out, axis=-1)


@dataclass(frozen=True, eq=False)
class PolicyNetwork:
    """A policy network bound to a game: ``policy`` (for the core) and ``init(key)``.

    Attributes:
        policy: the :class:`~hank_mfg.core.rollout.Policy` (``init``/``apply`` over params).
        encoder, head: the flax modules.
        n_obs: length of the shared observation.
    """

    game: MeanFieldGame
    encoder: AggregateEncoder
    head: PolicyHead
    n_obs: int
    policy: Policy

    def init(self, key: Array, obs_loc: Any = None, obs_scale: Any = None) -> dict[str, Any]:
        """Initial parameters ``{"encoder", "head", "obs": {"loc", "scale"}}``.

        ``obs_loc``, ``obs_scale``: observation normalisation (default 0 and 1).
        """
        k_enc, k_head = jax.random.split(key)
        features = self.game.state_features()
        carry = jnp.zeros(self.encoder.size, dtype=features.dtype)
        enc = self.encoder.init(k_enc, carry, jnp.zeros(self.n_obs, dtype=features.dtype))
        head = self.head.init(k_head, features, carry)
        loc = jnp.zeros(self.n_obs) if obs_loc is None else jnp.asarray(obs_loc)
        scale = jnp.ones(self.n_obs) if obs_scale is None else jnp.asarray(obs_scale)
        obs = {"loc": loc.astype(features.dtype), "scale": scale.astype(features.dtype)}
        return {"encoder": enc, "head": head, "obs": obs}


@functools.lru_cache(maxsize=64)
def policy_network(
    game: MeanFieldGame,
    *,
    hidden: Sequence[int] = (64, 64),
    embedding: int = 32,
    recurrent: bool = False,
) -> PolicyNetwork:
    """Build the policy network of a game (discrete probabilities or a continuous share).

    The observation normalisation ``(o − loc) / scale`` lives in the parameters
    (``params["obs"]``, held fixed by a stop-gradient), so one network (and its compiled
    functions) serves every run on the same game. Networks are cached per game and settings.

    Args:
        hidden: widths of the head's hidden layers (>= 1 layer, each >= 1).
        embedding: width of the aggregate embedding (and GRU state), >= 1.
        recurrent: GRU over the observation history (RSPG) instead of a memoryless MLP (SPG).
    """
    hidden = tuple(int(h) for h in hidden)
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must be a non-empty sequence of widths >= 1, got {hidden!r}")
    if int(embedding) < 1:
        raise ValueError(f"embedding must be >= 1, got {embedding!r}")
    continuous = isinstance(game.action_space, Box)
    n_out = 1 if continuous else game.n_actions
    encoder = AggregateEncoder(size=int(embedding), recurrent=bool(recurrent))
    head = PolicyHead(hidden=hidden, n_out=n_out, continuous=continuous)
    n_obs = int(np.shape(game.observe(game.reset(jax.random.PRNGKey(0))))[0])
    features = game.state_features()

    def init_carry(params: Any) -> Array:
        return jnp.zeros(encoder.size, dtype=features.dtype)

    def apply(params: Any, carry: Array, obs: Array) -> tuple[Array, Array]:
        norm = jax.lax.stop_gradient(params["obs"])
        o = ((obs - norm["loc"]) / norm["scale"]).astype(features.dtype)
        carry, emb = encoder.apply(params["encoder"], carry, o)
        return carry, head.apply(params["head"], features, emb)

    policy = Policy(init=init_carry, apply=apply)
    return PolicyNetwork(game, encoder, head, n_obs, policy)
