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

A game with a continuous choice states its exact best response in
:meth:`~hank_mfg.core.game.MeanFieldGame.exact_best_response` (households: the endogenous-grid
method along the path); evaluation then uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.core.checks import NonFiniteError
from hank_mfg.core.game import AggState, MeanFieldGame
from hank_mfg.core.kernel import with_cache
from hank_mfg.core.rollout import MeanFieldPath, Policy, period, rollout

Array = jax.Array

__all__ = [
    "BestResponse",
    "Evaluation",
    "Exploitability",
    "best_response",
    "evaluate",
    "exploitability",
    "policy_value",
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
        consumption_equivalent: scalar, percent of consumption: mean over samples of
            ``Σ_s mu_0(s) λ(s)``, with ``λ(s)`` the permanent share of consumption an agent in
            state ``s`` would give up rather than deviate
            (:meth:`~hank_mfg.core.game.MeanFieldGame.consumption_equivalent`). NaN (and so
            the two below) when the game has no consumption good.
        consumption_equivalent_by_state: ``[n_states]``, mean over samples of ``λ(s)``.
        consumption_equivalent_per_sample: ``[n_samples]``, ``Σ_s mu_0(s) λ(s)`` per path.
    """

    value: Array
    by_state: Array
    per_sample: Array
    policy_return: Array
    best_response_return: Array
    consumption_equivalent: Array
    consumption_equivalent_by_state: Array
    consumption_equivalent_per_sample: Array


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


def best_response(game: MeanFieldGame, path: MeanFieldPath) -> BestResponse:
    """Best response to the population's path, per sample.

    The game's own exact best response when it states one (households with a continuous
    savings choice: backward EGM); otherwise backward induction over the actions.
    """
    own = game.exact_best_response(path)
    return _discrete_best_response(game, path) if own is None else own


@partial(jax.jit, static_argnames=("game",))
def _discrete_best_response(game: MeanFieldGame, path: MeanFieldPath) -> BestResponse:
    value, actions = jax.vmap(_single_best_response, in_axes=(None, 0))(game, path.agg)
    return BestResponse(value=value, actions=actions)


def exploitability_from_values(
    mu0: Array, value: Array, br_value: Array, consumption_equivalent: Array | None = None
) -> Exploitability:
    """Exploitability from initial distributions ``[B, S]`` and values at date 0 ``[B, S]``.

    ``consumption_equivalent``: the game's ``λ(s)`` ``[B, S]`` in percent, or ``None`` (the
    consumption-equivalent fields are then NaN).
    """
    policy_return = jnp.sum(mu0 * value, axis=-1)
    br_return = jnp.sum(mu0 * br_value, axis=-1)
    per_sample = br_return - policy_return
    lam = (
        jnp.full_like(value, jnp.nan) if consumption_equivalent is None else consumption_equivalent
    )
    lam_per_sample = jnp.sum(mu0 * lam, axis=-1)
    return Exploitability(
        value=jnp.mean(per_sample),
        by_state=jnp.mean(br_value - value, axis=0),
        per_sample=per_sample,
        policy_return=policy_return,
        best_response_return=br_return,
        consumption_equivalent=jnp.mean(lam_per_sample),
        consumption_equivalent_by_state=jnp.mean(lam, axis=0),
        consumption_equivalent_per_sample=lam_per_sample,
    )


def _from_values(game: MeanFieldGame, mu0: Array, value: Array, br_value: Array) -> Exploitability:
    """:func:`exploitability_from_values` with the game's consumption equivalent."""
    lam = game.consumption_equivalent(value, br_value)
    return exploitability_from_values(mu0, value, br_value, lam)


def exploitability(
    game: MeanFieldGame, path: MeanFieldPath, actions: Array | None = None
) -> Exploitability:
    """Exploitability of ``actions`` (default: the path's policy) against the path."""
    value = policy_value(game, path, actions)
    br = best_response(game, path)
    return _from_values(game, path.agg.mu[:, 0], value[:, 0], br.value[:, 0])


def _named_leaves(prefix: str, tree: Any) -> list[tuple[str, Any]]:
    """The leaves of ``tree`` with readable names: a dict's keys in their own order (an
    aggregate ``aux["K"]`` is ``K``), else ``prefix[…]``."""
    if isinstance(tree, dict):
        return [
            (f"{key}{name[len(prefix) :]}", leaf)
            for key, value in tree.items()
            for name, leaf in _named_leaves(prefix, value)
        ]
    return [
        (prefix + jax.tree_util.keystr(kp), x)
        for kp, x in jax.tree_util.tree_leaves_with_path(tree)
    ]


@jax.jit
def _all_finite(arrays: list[Array]) -> Array:
    """``[len(arrays)]`` booleans: whether each array is free of NaN and inf (one program)."""
    return jnp.stack([jnp.all(jnp.isfinite(x)) for x in arrays])


def _raise_if_not_finite(path: MeanFieldPath, values: dict[str, Array] | None = None) -> None:
    """Raise :class:`~hank_mfg.core.checks.NonFiniteError` if the path's distribution ``mu``,
    its aggregates, common noise or policy tables, or one of ``values`` (arrays
    ``[n_samples, horizon + 1, …]`` computed backwards from the horizon), hold NaN or inf.

    One ``isfinite`` reduction per array; only on failure is the place located. The message
    names the variable, the path (sample) and the date where it first went wrong in the order
    of computation — the earliest such date along the path, the latest for values — with the
    aggregates at that date.
    """
    aggregates = _named_leaves("aux", path.agg.aux)
    forward = [("mu", path.agg.mu), *_named_leaves("z", path.agg.z), *aggregates]
    forward.append(("policy", path.actions))
    named = [(n, x, False) for n, x in forward] + [(n, x, True) for n, x in (values or {}).items()]
    named = [(n, x, backward) for n, x, backward in named if _is_float(x) and jnp.ndim(x) >= 2]
    if not named:
        return
    finite = np.asarray(_all_finite([x for _, x, _ in named]))
    if finite.all():
        return
    failures = []  # the earliest in the order of computation wins
    for order, ((name, x, backward), ok) in enumerate(zip(named, finite, strict=True)):
        if ok:
            continue
        flat = np.asarray(x).reshape(x.shape[0], x.shape[1], -1)
        bad = ~np.isfinite(flat)
        dates = np.flatnonzero(bad.any(axis=(0, 2)))
        date = int(dates[-1] if backward else dates[0])
        sample = int(np.flatnonzero(bad[:, date].any(axis=1))[0])
        first = float(flat[sample, date][bad[sample, date]][0])
        rank = (backward, -date if backward else date, order)
        failures.append((rank, name, sample, date, first, backward))
    _, name, sample, date, first, backward = min(failures, key=lambda f: f[0])
    at_date = ", ".join(
        f"{n}={float(np.asarray(x)[sample, date]):.4g}"
        for n, x in aggregates
        if jnp.ndim(x) == 2 and _is_float(x) and date < x.shape[1]
    )
    where = " (values are computed backwards from the horizon)" if backward else ""
    raise NonFiniteError(
        f"{name} is {first} on path {sample} at date {date}{where}"
        + (f"; aggregates at that date: {at_date}" if at_date else "")
    )


def evaluate(
    game: MeanFieldGame, policy: Policy, params: Any, key: Array, n_samples: int = 1
) -> Evaluation:
    """Roll out ``policy`` for ``n_samples`` common-noise paths and evaluate it exactly.

    Raises:
        NonFiniteError: a distribution, aggregate, policy table or value is NaN or infinite
            (naming it, the path and the date).
    """
    path = rollout(game, policy, params, key, n_samples)
    _raise_if_not_finite(path)
    game.check_path(path)  # e.g. households warn when wealth leaves the grid
    value = policy_value(game, path)
    br = best_response(game, path)
    _raise_if_not_finite(path, {"value": value, "best_response.value": br.value})
    expl = _from_values(game, path.agg.mu[:, 0], value[:, 0], br.value[:, 0])
    return Evaluation(path=path, value=value, best_response=br, exploitability=expl)


# --- the structural policy gradient ----------------------------------------------------------


def _period_value_and_cotangent(
    game: MeanFieldGame, agg: AggState, next_agg: AggState, table: Array, v_next: Array, cache: Any
) -> tuple[Array, Array]:
    """One period of the value recursion, with the gradient weight of the period's table.

    ``v_t = q_t(π_t)`` with ``q_t(π) = r_π,t + γ A_π,t v_{t+1}``; the table's cotangent is
    ``∂/∂π_t Σ_s γ^t mu_t(s) q_t(π_t)(s)``. The stand-in agent follows the population's policy
    from ``mu_0``, so its state distribution at ``t`` is the population's ``mu_t``, and this is
    ``∂/∂π_t Σ_s mu_0(s) V_0(s)`` (the policy-gradient identity; exact). ``cache``: the
    period's kernel cache from the rollout, or ``()``. Returns ``(v_t, cotangent)``.
    """
    kernel = with_cache(game.kernel(agg, next_agg.z), cache)

    def q(tab: Array) -> Array:
        return game.policy_reward(agg, next_agg, tab) + game.discount * kernel.expect(v_next, tab)

    v, pull = jax.vjp(q, table)
    weight = agg.mu * jnp.asarray(game.discount, dtype=v.dtype) ** agg.t
    (ct,) = pull(weight.astype(v.dtype))
    return v, ct


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
    """A cotangent that ``lax.scan`` can carry (integer leaves become scalar zeros)."""
    return jax.tree_util.tree_map(
        lambda p, c: c if _is_float(p) else jnp.zeros((), dtype=jnp.float32), primal, ct
    )


def _add(a: Any, b: Any) -> Any:
    return jax.tree_util.tree_map(jnp.add, a, b)


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

    The result equals ``jax.grad`` of ``Σ mu_0 V_0`` through the value recursion, without
    differentiating (or storing the residuals of) the recursion: one rollout over all samples
    that keeps each period's aggregate state, policy memory and kernel cache; then one backward
    pass that, period by period, re-evaluates the policy under ``jax.vjp``, steps the value
    recursion ``v_t = r_π,t + γ A_π,t v_{t+1}``, takes the table's cotangent
    ``γ^t mu_t ∂q_t/∂π_t`` (the stand-in agent's state distribution is the population's
    ``mu_t``) and pulls it back into the parameters and the memory of the period before.

    ``remat_chunk``: periods per block. The rollout then keeps only the state at block
    boundaries; the backward pass re-runs each block before stepping back through it, so memory
    grows like ``T / remat_chunk + remat_chunk`` instead of ``T`` (for one more rollout).
    Not jitted itself: call it under ``jit``.
    """
    T = game.horizon
    n_samples = keys.shape[0]
    chunk = T if remat_chunk is None else max(1, min(int(remat_chunk), T))
    split = jax.vmap(jax.random.split)(keys)
    agg0 = jax.vmap(game.reset)(split[:, 0])
    # period keys as rollout_keys draws them, time-major: [T, n_samples]
    period_keys = jnp.swapaxes(jax.vmap(lambda k: jax.random.split(k, T))(split[:, 1]), 0, 1)
    ready, prepare_pull = jax.vjp(policy.prepared, params)
    carry_init, init_pull = jax.vjp(policy.init, params)
    carry0 = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (n_samples, *jnp.shape(x))), carry_init
    )
    apply = jax.vmap(policy.apply, in_axes=(None, 0, 0))
    observe = jax.vmap(game.observe)
    value_and_cotangent = jax.vmap(partial(_period_value_and_cotangent, game))

    def forward(keep: bool) -> Callable[..., Any]:
        one = partial(period, game, policy, ready, keep_kernel=keep)

        def step(state: Any, key_t: Array) -> tuple[Any, Any]:
            agg, carry = state
            next_agg, next_carry, _, _, cache = jax.vmap(one)(agg, carry, key_t)
            return (next_agg, next_carry), ((agg, carry, cache) if keep else None)

        return step

    def backward(state: Any, stored: Any) -> tuple[Any, None]:
        v_next, next_agg, carry_ct, ready_ct = state
        agg, carry, cache = stored
        obs = observe(agg)
        (next_carry, table), pull = jax.vjp(lambda r, c: apply(r, c, obs), ready, carry)
        v, table_ct = value_and_cotangent(agg, next_agg, table, v_next, cache)
        r_ct, c_ct = pull((_cotangent(next_carry, carry_ct), table_ct / n_samples))
        return (v, agg, _storable(carry, c_ct), _add(ready_ct, r_ct)), None

    def block(agg: AggState, carry: Any, keys_b: Array, state: Any) -> Any:
        """Roll a block forward keeping its periods, then step back through it."""
        _, stored = jax.lax.scan(forward(True), (agg, carry), keys_b)
        return jax.lax.scan(backward, state, stored, reverse=True)[0]

    def start(agg_T: AggState, carry_T: Any) -> Any:
        v_T = jax.vmap(game.terminal_value)(agg_T)
        zero_ct = _storable(carry_T, jax.tree_util.tree_map(jnp.zeros_like, carry_T))
        return v_T, agg_T, zero_ct, jax.tree_util.tree_map(jnp.zeros_like, ready)

    if chunk == T:
        (agg_T, carry_T), stored = jax.lax.scan(forward(True), (agg0, carry0), period_keys)
        state = jax.lax.scan(backward, start(agg_T, carry_T), stored, reverse=True)[0]
    else:
        first = T % chunk or chunk
        n_rest = (T - first) // chunk
        keys_first = period_keys[:first]
        keys_rest = period_keys[first:].reshape((n_rest, chunk, *period_keys.shape[1:]))
        # forward: keep only each block's starting aggregate state and policy memory
        edge, _ = jax.lax.scan(forward(False), (agg0, carry0), keys_first)

        def forward_block(state: Any, keys_b: Array) -> tuple[Any, Any]:
            return jax.lax.scan(forward(False), state, keys_b)[0], state

        (agg_T, carry_T), (block_aggs, block_carries) = jax.lax.scan(forward_block, edge, keys_rest)

        def backward_block(state: Any, xs: Any) -> tuple[Any, None]:
            return block(*xs, state), None

        state = jax.lax.scan(
            backward_block,
            start(agg_T, carry_T),
            (block_aggs, block_carries, keys_rest),
            reverse=True,
        )[0]
        state = block(agg0, carry0, keys_first, state)

    v0, _, carry0_ct, ready_ct = state
    # the memory started equal on every path: its cotangent is the sum over paths
    carry0_ct = jax.tree_util.tree_map(
        lambda p, c: jnp.sum(c, axis=0) if _is_float(p) else c, carry_init, carry0_ct
    )
    (grads,) = prepare_pull(ready_ct)
    (init_grads,) = init_pull(_cotangent(carry_init, carry0_ct))
    return jnp.mean(jnp.sum(agg0.mu * v0, axis=-1)), _add(grads, init_grads)
