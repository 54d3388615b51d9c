"""Policy networks (flax) for structural policy gradients.

A policy maps the shared observation history and each individual state to an action:

* the *aggregate embedding* depends on the shared observations only — memoryless (an MLP of
  ``o_t``, SPG) or recurrent (a GRU over ``o_0 … o_t``, reset at the episode start, RSPG) — and
  is computed once per period for the whole population;
* the *head* maps (individual state features, embedding) to action probabilities (discrete
  actions) or a savings share in (0, 1) (continuous choice). Two heads:

  - :class:`FactorisedHead` (the default of the solvers): ``logits[s, a] = Σ_k φ_k(s) W_ka(e)``
    with a state basis ``φ`` (an MLP of the state features, ``rank`` outputs) computed once per
    path (:attr:`~hank_mfg.core.rollout.Policy.prepare`), mixed by a matrix ``W(e)`` affine in
    the embedding. Per period and state it costs ``rank × n_actions`` multiply-adds, however
    deep the state network.
  - :class:`PolicyHead`: a per-state MLP of (features, embedding) whose first layer is split
    into a state part and an embedding part; per period and state it costs the MLP's hidden
    layers (``Σ width_i × width_{i+1}`` multiply-adds).
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

__all__ = [
    "AggregateEncoder",
    "FactorisedHead",
    "N_CLOCK",
    "PolicyHead",
    "PolicyNetwork",
    "StateTable",
    "clock_features",
    "normalise_observation",
    "observation_scale",
    "observation_size",
    "policy_network",
]


#: Number of clock features (see :func:`clock_features`).
N_CLOCK = 8


def clock_features(t: Array, horizon: int, dtype: Any = jnp.float32) -> Array:
    """Features of the period ``t`` of a ``horizon``-period game, ``[N_CLOCK]`` in [-1, 1].

    ``t / T``, ``cos(π j t / T)`` for ``j = 1…4`` (position in the episode) and
    ``exp(-k / c)`` for ``c = 1, 4, 16`` with ``k = T - 1 - t`` periods left (the end).
    """
    t = jnp.asarray(t, dtype=dtype)
    tau = t / horizon
    left = jnp.maximum(horizon - 1 - t, 0.0)
    waves = [jnp.cos(jnp.pi * j * tau) for j in range(1, 5)]
    ends = [jnp.exp(-left / c) for c in (1.0, 4.0, 16.0)]
    return jnp.stack([tau, *waves, *ends]).astype(dtype)


def observation_size(game: MeanFieldGame) -> int:
    """Length of the game's shared observation."""
    return int(np.shape(game.observe(game.reset(jax.random.PRNGKey(0))))[0])


def observation_scale(obs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale of shared observations ``[..., n_obs]`` (for ``params["obs"]``).

    ``scale = sqrt(sd² + (0.1·|loc|)²)`` (positive even for observations that do not move).
    """
    obs = np.asarray(obs, dtype=np.float64)
    obs = obs.reshape(-1, obs.shape[-1])
    loc = obs.mean(axis=0)
    scale = np.sqrt(obs.std(axis=0) ** 2 + (0.1 * np.abs(loc)) ** 2) + 1e-8
    return loc, scale


def normalise_observation(params: Any, obs: Array) -> Array:
    """``obs`` standardised by ``params["obs"]`` (location, scale; not trained)."""
    norm = jax.lax.stop_gradient(params["obs"])
    return (obs - norm["loc"]) / norm["scale"]


class AggregateEncoder(nn.Module):
    """Embedding of the shared observation: an MLP of ``o_t`` or a GRU over ``o_0…o_t``.

    Its input is the normalised observation, followed by clock features when the network has
    a clock (see :func:`policy_network`).
    """

    size: int
    recurrent: bool

    @nn.compact
    def __call__(self, carry: Array, obs: Array) -> tuple[Array, Array]:
        x = nn.tanh(nn.Dense(self.size, name="input")(obs))
        if self.recurrent:
            carry, x = nn.GRUCell(features=self.size, name="gru")(carry, x)
        return carry, x


def _state_mlp(features: Array, embedding: Array, hidden: Sequence[int], n_out: int) -> Array:
    """``[n_states, n_out]`` outputs of an MLP of (state features, a shared embedding).

    Call inside a compact module: the first layer is split into a per-state part and an
    embedding part computed once; the output layer starts at zero.
    """
    h = nn.Dense(hidden[0], name="state")(features) + nn.Dense(
        hidden[0], use_bias=False, name="aggregate"
    )(embedding)
    h = nn.relu(h)
    for i, width in enumerate(hidden[1:]):
        h = nn.relu(nn.Dense(width, name=f"hidden_{i}")(h))
    return nn.Dense(n_out, name="out", kernel_init=nn.initializers.zeros)(h)


class StateTable(nn.Module):
    """Raw per-state outputs ``[n_states, n_out]`` (values, Q-values) from state features and
    a shared input vector (normalised observation, clock)."""

    hidden: Sequence[int]
    n_out: int

    @nn.compact
    def __call__(self, features: Array, shared: Array) -> Array:
        return _state_mlp(features, shared, self.hidden, self.n_out)


class PolicyHead(nn.Module):
    """Per-state head: features ``[n_states, d]`` and embedding ``[e]`` to actions."""

    hidden: Sequence[int]
    n_out: int
    continuous: bool

    @nn.compact
    def __call__(self, features: Array, embedding: Array) -> Array:
        out = _state_mlp(features, embedding, self.hidden, self.n_out)
        if self.continuous:
            return jax.nn.sigmoid(out[:, 0])
        return jax.nn.softmax(out, axis=-1)


class FactorisedHead(nn.Module):
    """Head ``logits[s, a] = Σ_k φ_k(s) W_ka(e)``: a state basis mixed by the embedding.

    ``φ = basis(features)`` (``[n_states, rank]``, an MLP with ``hidden`` ReLU layers) depends
    on the parameters only; ``W(e)`` (``[rank, n_out]``) is affine in the embedding ``e`` and
    starts at zero, so the initial policy is uniform (share ½ when continuous).
    """

    hidden: Sequence[int]
    rank: int
    n_out: int
    continuous: bool

    def setup(self) -> None:
        self.state_layers = [nn.Dense(width) for width in self.hidden]
        self.basis_layer = nn.Dense(self.rank)
        self.mixing = nn.Dense(
            self.rank * self.n_out,
            kernel_init=nn.initializers.zeros,
            bias_init=nn.initializers.zeros,
        )

    def basis(self, features: Array) -> Array:
        """State basis ``φ [n_states, rank]`` from features ``[n_states, d]``."""
        h = features
        for layer in self.state_layers:
            h = nn.relu(layer(h))
        return self.basis_layer(h)

    def table(self, basis: Array, embedding: Array) -> Array:
        """Action table from the basis ``[n_states, rank]`` and the embedding ``[e]``."""
        mixing = self.mixing(embedding).reshape(self.rank, self.n_out)
        out = basis @ mixing.astype(basis.dtype)
        if self.continuous:
            return jax.nn.sigmoid(out[:, 0])
        return jax.nn.softmax(out, axis=-1)

    def __call__(self, features: Array, embedding: Array) -> Array:
        return self.table(self.basis(features), embedding)


@dataclass(frozen=True, eq=False)
class PolicyNetwork:
    """A policy network bound to a game: ``policy`` (for the core) and ``init(key)``.

    Attributes:
        policy: the :class:`~hank_mfg.core.rollout.Policy` (``init``/``apply`` over params).
        encoder, head: the flax modules (head: :class:`FactorisedHead` or :class:`PolicyHead`).
        n_obs: length of the shared observation.
        clock: whether the encoder also sees the period (its memory counts periods).
    """

    game: MeanFieldGame
    encoder: AggregateEncoder
    head: FactorisedHead | PolicyHead
    n_obs: int
    policy: Policy
    clock: bool = False

    def init(self, key: Array, obs_loc: Any = None, obs_scale: Any = None) -> dict[str, Any]:
        """Initial parameters ``{"encoder", "head", "obs": {"loc", "scale"}}``.

        ``obs_loc``, ``obs_scale``: observation normalisation (default 0 and 1).
        """
        k_enc, k_head = jax.random.split(key)
        features = self.game.state_features()
        carry = jnp.zeros(self.encoder.size, dtype=features.dtype)
        n_in = self.n_obs + (N_CLOCK if self.clock else 0)
        # jitted: eagerly, flax's initialisers compile one small program per layer and shape
        enc = jax.jit(self.encoder.init)(k_enc, carry, jnp.zeros(n_in, dtype=features.dtype))
        head = jax.jit(self.head.init)(k_head, features, carry)
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
    rank: int | None = None,
    clock: bool | None = None,
) -> PolicyNetwork:
    """Build the policy network of a game (discrete probabilities or a continuous share).

    The observation normalisation ``(o − loc) / scale`` lives in the parameters
    (``params["obs"]``, held fixed by a stop-gradient), so one network (and its compiled
    functions) serves every run on the same game. Networks are cached per game and settings.

    Args:
        hidden: widths of the hidden layers (>= 1 layer, each >= 1): of the state network of a
            factorised head, or of the per-state MLP head.
        embedding: width of the aggregate embedding (and GRU state), >= 1.
        recurrent: GRU over the observation history (RSPG) instead of a memoryless MLP (SPG).
        rank: width of the state basis of a :class:`FactorisedHead` (>= 1); ``None``: the
            per-state MLP :class:`PolicyHead`.
        clock: the encoder also sees the period ``t`` (:func:`clock_features`; its memory
            then holds ``(GRU state, t)``). The period is a function of the shared observation
            history (its length), so a recurrent policy may use it; a memoryless one may not.
            ``None``: as ``recurrent``.
    """
    hidden = tuple(int(h) for h in hidden)
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must be a non-empty sequence of widths >= 1, got {hidden!r}")
    if int(embedding) < 1:
        raise ValueError(f"embedding must be >= 1, got {embedding!r}")
    if rank is not None and (isinstance(rank, bool) or int(rank) < 1):
        raise ValueError(f"rank must be None or an integer >= 1, got {rank!r}")
    clock = bool(recurrent) if clock is None else bool(clock)
    if clock and not recurrent:
        raise ValueError("clock=True needs recurrent=True: a memoryless policy cannot count")
    continuous = isinstance(game.action_space, Box)
    n_out = 1 if continuous else game.n_actions
    encoder = AggregateEncoder(size=int(embedding), recurrent=bool(recurrent))
    n_obs = observation_size(game)
    features = game.state_features()
    horizon = int(game.horizon)

    def init_carry(params: Any) -> Any:
        h = jnp.zeros(encoder.size, dtype=features.dtype)
        return (h, jnp.zeros((), dtype=jnp.int32)) if clock else h

    def embed(params: Any, carry: Any, obs: Array) -> tuple[Any, Array]:
        o = normalise_observation(params, obs).astype(features.dtype)
        if not clock:
            return encoder.apply(params["encoder"], carry, o)
        h, t = carry
        o = jnp.concatenate([o, clock_features(t, horizon, features.dtype)])
        h, emb = encoder.apply(params["encoder"], h, o)
        return (h, t + 1), emb

    if rank is None:
        head: FactorisedHead | PolicyHead = PolicyHead(
            hidden=hidden, n_out=n_out, continuous=continuous
        )

        def apply(params: Any, carry: Any, obs: Array) -> tuple[Any, Array]:
            carry, emb = embed(params, carry, obs)
            return carry, head.apply(params["head"], features, emb)

        policy = Policy(init=init_carry, apply=apply)
    else:
        head = FactorisedHead(hidden=hidden, rank=int(rank), n_out=n_out, continuous=continuous)

        def prepare(params: Any) -> Any:
            basis = head.apply(params["head"], features, method=FactorisedHead.basis)
            return {**params, "basis": basis}

        def apply_factorised(params: Any, carry: Any, obs: Array) -> tuple[Any, Array]:
            basis = params["basis"] if "basis" in params else prepare(params)["basis"]
            carry, emb = embed(params, carry, obs)
            return carry, head.apply(params["head"], basis, emb, method=FactorisedHead.table)

        policy = Policy(init=init_carry, apply=apply_factorised, prepare=prepare)
    return PolicyNetwork(game, encoder, head, n_obs, policy, clock)
