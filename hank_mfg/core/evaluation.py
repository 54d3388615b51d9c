"""Exact evaluation of policies on a mean-field path: value, best response, exploitability.

Given the population's path (``mu_t``, ``z_t`` for sampled common-noise paths), the value of
following a policy is the backward recursion ``v_t = r_π,t + γ A_π,t v_{t+1}`` from the terminal
value; the best response replaces the policy by the maximising action in every state and period
(backward induction over the same path). Exploitability is the mass-weighted gain of the best
response,

    exploitability = E_samples[ Σ_s mu_0(s) (V_BR,0(s) − V_π,0(s)) ] ≥ 0,

zero exactly at a mean-field Nash equilibrium without common noise. With common noise the best
response is computed per sampled path, i.e. it knows that path's future; exploitability is then
a regret against a clairvoyant deviator (as in the RSPG paper), still zero only if no deviation
gains on any path.

Games with a continuous choice get an exact best response registered for their type with
:func:`register_best_response` (households: the endogenous-grid method, registered by
:mod:`hank_mfg.solvers.egm`); evaluation then uses it automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.core.game import AggState, MeanFieldGame
from hank_mfg.core.kernel import with_cache
from hank_mfg.core.rollout import MeanFieldPath, Policy, rollout, scan_periods

Array = jax.Array

__all__ = [
    "BestResponse",
    "Evaluation",
    "Exploitability",
    "best_response",
    "evaluate",
    "exploitability",
    "policy_value",
    "register_best_response",
    "structural_gradient",
]


@struct.dataclass
class BestResponse:
    """Best response to a mean-field path.

    Attributes:
        value: ``[n_samples, horizon + 1, n_states]``, the best-responding agent's value.
        actions: ``[n_samples, horizon, n_states]``, its action per state and period.
    """

    value: Array
    actions: Array


@struct.dataclass
class Exploitability:
    """Exploitability of a policy and its parts (units of the game's reward).

    Attributes:
        value: scalar, mean over samples of ``Σ_s mu_0(s) (V_BR,0(s) − V_π,0(s))``.
        by_state: ``[n_states]``, mean over samples of ``V_BR,0(s) − V_π,0(s)``.
        per_sample: ``[n_samples]``, the gain on each common-noise path.
        policy_return: ``[n_samples]``, ``Σ_s mu_0(s) V_π,0(s)``.
        best_response_return: ``[n_samples]``, ``Σ_s mu_0(s) V_BR,0(s)``.
    """

    value: Array
    by_state: Array
    per_sample: Array
    policy_return: Array
    best_response_return: Array


@struct.dataclass
class Evaluation:
    """A policy's mean-field path with its value, best response and exploitability."""

    path: MeanFieldPath
    value: Array
    best_response: BestResponse
    exploitability: Exploitability


def _periods(agg: AggState) -> tuple[AggState, AggState]:
    """Split a single path's dates 0…T into (date t, date t+1) pairs for t = 0…T-1."""
    now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
    nxt = jax.tree_util.tree_map(lambda x: x[1:], agg)
    return now, nxt


def _last(agg: AggState) -> AggState:
    return jax.tree_util.tree_map(lambda x: x[-1], agg)


def _single_policy_value(
    game: MeanFieldGame, agg: AggState, actions: Array, remat_chunk: int | None = None
) -> Array:
    now, nxt = _periods(agg)
    v_T = game.terminal_value(_last(agg))

    def period(v_next, inputs):
        agg_t, agg_n, table, active = inputs
        kernel = game.kernel(agg_t, agg_n.z)
        v = game.policy_reward(agg_t, agg_n, table) + game.discount * kernel.expect(v_next, table)
        v = jnp.where(active, v, v_next)
        return v, v

    T = game.horizon
    if remat_chunk is None or remat_chunk >= T:
        inputs = (now, nxt, actions, jnp.ones(T, dtype=bool))
        _, vs = jax.lax.scan(period, v_T, inputs, reverse=True)
        return jnp.concatenate([vs, v_T[None]], axis=0)
    # Rematerialised: blocks of ``remat_chunk`` periods; only the value at block boundaries is
    # kept for the backward pass, each block's internals are recomputed (memory ~ T/c + c).
    n_blocks = -(-T // remat_chunk)
    pad = n_blocks * remat_chunk - T

    def blocked(x):
        x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)], axis=0) if pad else x
        return x.reshape((n_blocks, remat_chunk) + x.shape[1:])

    inputs = jax.tree_util.tree_map(blocked, (now, nxt, actions))
    active = (jnp.arange(n_blocks * remat_chunk) < T).reshape(n_blocks, remat_chunk)

    @jax.checkpoint
    def block(v_next, block_inputs):
        return jax.lax.scan(period, v_next, block_inputs, reverse=True)

    _, vs = jax.lax.scan(block, v_T, (*inputs, active), reverse=True)
    vs = vs.reshape((n_blocks * remat_chunk,) + vs.shape[2:])[:T]
    return jnp.concatenate([vs, v_T[None]], axis=0)


def _single_best_response(game: MeanFieldGame, agg: AggState) -> tuple[Array, Array]:
    now, nxt = _periods(agg)
    v_T = game.terminal_value(_last(agg))

    def period(v_next, inputs):
        agg_t, agg_n = inputs
        kernel = game.kernel(agg_t, agg_n.z)
        q = game.reward(agg_t, agg_n) + game.discount * kernel.action_values(v_next)
        return jnp.max(q, axis=1), (jnp.max(q, axis=1), jnp.argmax(q, axis=1).astype(jnp.int32))

    _, (vs, acts) = jax.lax.scan(period, v_T, (now, nxt), reverse=True)
    return jnp.concatenate([vs, v_T[None]], axis=0), acts


@partial(jax.jit, static_argnames=("game", "remat_chunk"))
def policy_value(
    game: MeanFieldGame,
    path: MeanFieldPath,
    actions: Array | None = None,
    remat_chunk: int | None = None,
) -> Array:
    """Exact value ``V_π,t(s)`` of following ``actions`` (default: the path's own policy).

    Returns ``[n_samples, horizon + 1, n_states]``, in units of the game's reward.
    ``remat_chunk`` rematerialises the recursion in blocks of that many periods when it is
    differentiated (``jax.checkpoint``): the same values, less memory for the gradient.
    """
    actions = path.actions if actions is None else actions
    return jax.vmap(_single_policy_value, in_axes=(None, 0, 0, None))(
        game, path.agg, actions, remat_chunk
    )


#: Exact best responses for kinds of games (e.g. households solved by the endogenous-grid
#: method), registered by the modules that implement them; see :func:`register_best_response`.
_BEST_RESPONSES: dict[type, Callable[[Any, MeanFieldPath], BestResponse | None]] = {}


def register_best_response(
    game_type: type, solver: Callable[[Any, MeanFieldPath], BestResponse | None]
) -> None:
    """Use ``solver(game, path)`` as the best response for games of ``game_type``.

    The solver may return ``None`` to fall back to backward induction over discrete actions.
    """
    _BEST_RESPONSES[game_type] = solver


def best_response(game: MeanFieldGame, path: MeanFieldPath) -> BestResponse:
    """Best response to the population's path, per sample.

    A registered exact solver for the game's type is used when there is one (households with a
    continuous savings choice: backward EGM); otherwise backward induction over the actions.
    """
    for kind in type(game).__mro__:
        solver = _BEST_RESPONSES.get(kind)
        if solver is not None:
            br = solver(game, path)
            if br is not None:
                return br
            break
    return _discrete_best_response(game, path)


@partial(jax.jit, static_argnames=("game",))
def _discrete_best_response(game: MeanFieldGame, path: MeanFieldPath) -> BestResponse:
    value, actions = jax.vmap(_single_best_response, in_axes=(None, 0))(game, path.agg)
    return BestResponse(value=value, actions=actions)


def exploitability_from_values(mu0: Array, value: Array, br_value: Array) -> Exploitability:
    """Exploitability from initial distributions ``[B, S]`` and values at date 0 ``[B, S]``."""
    policy_return = jnp.sum(mu0 * value, axis=-1)
    br_return = jnp.sum(mu0 * br_value, axis=-1)
    per_sample = br_return - policy_return
    return Exploitability(
        value=jnp.mean(per_sample),
        by_state=jnp.mean(br_value - value, axis=0),
        per_sample=per_sample,
        policy_return=policy_return,
        best_response_return=br_return,
    )


def exploitability(
    game: MeanFieldGame, path: MeanFieldPath, actions: Array | None = None
) -> Exploitability:
    """Exploitability of ``actions`` (default: the path's policy) against the path."""
    value = policy_value(game, path, actions)
    br = best_response(game, path)
    return exploitability_from_values(path.agg.mu[:, 0], value[:, 0], br.value[:, 0])


def evaluate(
    game: MeanFieldGame, policy: Policy, params: Any, key: Array, n_samples: int = 1
) -> Evaluation:
    """Roll out ``policy`` for ``n_samples`` common-noise paths and evaluate it exactly."""
    path = rollout(game, policy, params, key, n_samples)
    if hasattr(game, "check_path"):  # e.g. households warn when wealth leaves the grid
        game.check_path(path)
    value = policy_value(game, path)
    br = best_response(game, path)
    expl = exploitability_from_values(path.agg.mu[:, 0], value[:, 0], br.value[:, 0])
    return Evaluation(path=path, value=value, best_response=br, exploitability=expl)


# --- the structural policy gradient ----------------------------------------------------------


def _block_value_and_cotangent(
    game: MeanFieldGame,
    aggs: AggState,
    agg_end: AggState,
    tables: Array,
    v_end: Array,
    caches: Any = (),
) -> tuple[Array, Array]:
    """Backward recursion over one block of a path, with the gradient weight of each table.

    For periods ``t`` of the block (dates ``aggs``, then ``agg_end``), ``v_t = q_t(π_t)`` with
    ``q_t(π) = r_π,t + γ A_π,t v_{t+1}``, and the cotangent of the table ``π_t`` is
    ``∂/∂π_t Σ_s γ^t mu_t(s) q_t(π_t)(s)``: the stand-in agent follows the population's
    policy from ``mu_0``, so its state distribution at ``t`` is the population's ``mu_t``, and
    this is ``∂/∂π_t Σ_s mu_0(s) V_0(s)`` (the policy-gradient identity, exact).
    ``caches``: the periods' kernel caches from the rollout (see :func:`~hank_mfg.core.
    kernel.kernel_cache`), or ``()``. Returns ``(v at the block's first date [n_states],
    cotangents like tables)``.
    """
    nxt = jax.tree_util.tree_map(lambda xs, x: jnp.concatenate([xs[1:], x[None]], 0), aggs, agg_end)

    def period(v_next, inputs):
        agg_t, agg_n, table, cache = inputs
        kernel = with_cache(game.kernel(agg_t, agg_n.z), cache)

        def q(tab: Array) -> Array:
            return game.policy_reward(agg_t, agg_n, tab) + game.discount * kernel.expect(
                v_next, tab
            )

        v, pull = jax.vjp(q, table)
        weight = agg_t.mu * jnp.asarray(game.discount, dtype=v.dtype) ** agg_t.t
        (ct,) = pull(weight.astype(v.dtype))
        return v, ct

    return jax.lax.scan(period, v_end, (aggs, nxt, tables, caches), reverse=True)


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


def _cotangent(primal: Any, stored: Any) -> Any:
    """Cotangent for ``primal`` from ``stored`` (integer leaves get float0 zeros)."""
    return jax.tree_util.tree_map(
        lambda p, c: c if _is_float(p) else np.zeros(np.shape(p), dtype=jax.dtypes.float0),
        primal,
        stored,
    )


def _storable(primal: Any, ct: Any) -> Any:
    """A cotangent that a ``lax.scan`` can carry (float0 leaves become scalar zeros)."""
    return jax.tree_util.tree_map(
        lambda p, c: c if _is_float(p) else jnp.zeros((), dtype=jnp.float32), primal, ct
    )


def structural_gradient(
    game: MeanFieldGame,
    policy: Policy,
    params: Any,
    keys: Array,
    remat_chunk: int | None = None,
) -> tuple[Array, Any]:
    """Exact expected return of ``policy`` and its gradient in ``params``, for given paths.

    ``J(θ) = mean_b Σ_s mu_0^b(s) V_π,0^b(s)`` over the common-noise paths of ``keys``
    (``keys[n_samples]``; path ``b`` is the one ``rollout_keys`` draws from ``keys[b]``), the
    population's mean-field path being taken as given (as in a Nash equilibrium). Returns
    ``(J, ∂J/∂θ)``; ``J`` in units of the game's reward.

    The gradient is the structural policy gradient without differentiating through the value
    recursion: one rollout (the policy differentiated, the population under
    ``stop_gradient``), one backward recursion ``v_t = r_π,t + γ A_π,t v_{t+1}`` that also
    gives each period's table cotangent ``γ^t mu_t ∂q_t/∂π_t`` (the stand-in agent's state
    distribution is the population's ``mu_t``), and one pull-back through the policy. This
    equals ``jax.grad`` of ``Σ mu_0 V_0`` through the recursion, at a fraction of its time and
    memory.

    ``remat_chunk``: periods per block. With it, the forward pass keeps only the state at block
    boundaries (aggregate state and policy memory); the backward pass re-runs each block
    before its recursion, so memory grows like ``T / remat_chunk + remat_chunk`` instead of
    ``T`` (the price: one more rollout). Not jitted itself: call it under ``jit``.
    """
    T = game.horizon
    n_samples = keys.shape[0]
    chunk = T if remat_chunk is None else max(1, min(int(remat_chunk), T))
    split = jax.vmap(jax.random.split)(keys)
    agg0 = jax.vmap(game.reset)(split[:, 0])
    period_keys = jax.vmap(lambda k: jax.random.split(k, T))(split[:, 1])
    carry0, init_pull = jax.vjp(policy.init, params)

    def run(carry_axes: Any, keep_kernels: bool = False) -> Callable[..., Any]:
        single = partial(
            scan_periods, game, policy, hold_population=True, keep_kernels=keep_kernels
        )
        return jax.vmap(single, in_axes=(None, 0, carry_axes, 0))

    def backward_block(
        agg: AggState, carry: Any, carry_axes: Any, keys_b: Array, v_end: Array | None, c_ct: Any
    ) -> tuple[Array, Any, Any]:
        def block(p: Any, c: Any) -> tuple[tuple[Any, Array], tuple[Any, ...]]:
            (agg_end, c_end), (aggs, _, tables, caches) = run(carry_axes, True)(p, agg, c, keys_b)
            return (c_end, tables), (aggs, agg_end, caches)

        (c_end, tables), pull, (aggs, agg_end, caches) = jax.vjp(block, params, carry, has_aux=True)
        if v_end is None:
            v_end = jax.vmap(game.terminal_value)(agg_end)
        v_start, table_ct = jax.vmap(partial(_block_value_and_cotangent, game))(
            aggs, agg_end, tables, v_end, caches
        )
        if c_ct is None:
            c_ct = jax.tree_util.tree_map(jnp.zeros_like, c_end)
        p_ct, carry_ct = pull((_cotangent(c_end, c_ct), table_ct / n_samples))
        return v_start, p_ct, carry_ct

    def total(p_ct: Any, carry0_ct: Any) -> Any:
        (init_ct,) = init_pull(carry0_ct)
        return jax.tree_util.tree_map(jnp.add, p_ct, init_ct)

    def ret(v0: Array) -> Array:
        return jnp.mean(jnp.sum(agg0.mu * v0, axis=-1))

    if chunk == T:
        v0, p_ct, carry0_ct = backward_block(agg0, carry0, None, period_keys, None, None)
        return ret(v0), total(p_ct, carry0_ct)

    first = T % chunk or chunk
    n_rest = (T - first) // chunk
    keys_first = period_keys[:, :first]
    keys_rest = period_keys[:, first:].reshape((n_samples, n_rest, chunk) + keys.shape[1:])
    keys_rest = jnp.swapaxes(keys_rest, 0, 1)

    # forward: keep the aggregate state and the policy's memory at each block's start
    (agg1, carry1), _ = run(None)(params, agg0, carry0, keys_first)

    def forward(state: Any, keys_b: Array) -> tuple[Any, Any]:
        (agg_end, c_end), _ = run(0)(params, *state, keys_b)
        return (agg_end, c_end), state

    (agg_T, carry_T), (block_aggs, block_carries) = jax.lax.scan(forward, (agg1, carry1), keys_rest)

    # backward: re-run each block, recursion, pull back through the policy
    def backward(state: Any, xs: Any) -> tuple[Any, None]:
        v_next, c_ct, acc = state
        agg_b, carry_b, keys_b = xs
        c_ct = _cotangent(carry_b, c_ct)
        v, p_ct, carry_ct = backward_block(agg_b, carry_b, 0, keys_b, v_next, c_ct)
        acc = jax.tree_util.tree_map(jnp.add, acc, p_ct)
        return (v, _storable(carry_b, carry_ct), acc), None

    v_T = jax.vmap(game.terminal_value)(agg_T)
    zero_ct = _storable(carry_T, jax.tree_util.tree_map(jnp.zeros_like, carry_T))
    zero_params = jax.tree_util.tree_map(jnp.zeros_like, params)
    (v1, c_ct1, acc), _ = jax.lax.scan(
        backward,
        (v_T, zero_ct, zero_params),
        (block_aggs, block_carries, keys_rest),
        reverse=True,
    )
    v0, p_ct, carry0_ct = backward_block(
        agg0, carry0, None, keys_first, v1, _cotangent(carry1, c_ct1)
    )
    return ret(v0), total(jax.tree_util.tree_map(jnp.add, acc, p_ct), carry0_ct)
