"""The endogenous-grid method (Carroll 2006) on a household block.

The household block (:class:`~hank_mfg.models.household_block.HouseholdBlock`) owns one EGM
step: given next period's marginal value of wealth ``V'_{t+1}(a', e')`` on the grid, the Euler
equation ``u'(c) = β Σ_e' Pi[e, e'] V'_{t+1}(a', e')`` gives consumption on the grid of
savings, the budget read backwards the wealth at which that saving is optimal, and linear
interpolation the policy on the wealth grid (the borrowing limit binding below the first
endogenous point); the envelope condition gives ``V'_t = (1 + r_t) u'(c_t)``. This module
iterates it: to a stationary fixed point at constant values, and backwards along a path.

``values`` are the household's inputs by name (discount factor, return, wage, the
preferences' and the budget's parameters). Everything is float64-ready JAX (enable
``jax_enable_x64`` for classical work); value functions are the exact values of the policy
under the block's lottery kernel, ``V = u(c) + β A_x V``, the yardstick every solver is
measured with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from hank_mfg.models.household_block import HouseholdBlock, HouseholdPolicy

Array = jax.Array

__all__ = [
    "C_FLOOR",
    "consume_everything",
    "finite_horizon_egm",
    "flow_utility",
    "household_inputs",
    "initial_policy",
    "policy_value_stationary",
    "stationary_egm",
]

#: Consumption below this is valued as if it were this (keeps utilities finite).
C_FLOOR = 1e-10

#: Stationary EGM tests its convergence every this many steps (as SSJ does): the steps between
#: carry the marginal value alone, which costs less than forming the whole policy each time.
CHECK_EVERY = 10


def household_inputs(
    block: HouseholdBlock, values: Mapping[str, Any], static: Sequence[str] | None = None
) -> tuple[dict[str, Array], tuple[tuple[str, float], ...]]:
    """The household's inputs from ``values``: traced arrays, and the ``static`` ones (default
    the preferences' parameters, so that e.g. ``eis = 1`` compiles to a division) as floats.

    Raises:
        ValueError: naming an input ``values`` does not provide.
    """
    block.check_inputs(values)
    static = block.preferences.params if static is None else tuple(static)
    dtype = jnp.result_type(float)
    traced = {k: jnp.asarray(values[k], dtype=dtype) for k in block.inputs if k not in static}
    fixed = tuple((k, float(values[k])) for k in block.inputs if k in static)
    return traced, fixed


def consume_everything(block: HouseholdBlock, values: Mapping[str, Any]) -> HouseholdPolicy:
    """The policy that saves the borrowing limit and consumes the rest of cash on hand: the
    start of stationary iterations."""
    n = jnp.ones((block.n_wealth, block.n_income))
    m = block.cash_on_hand(n, values)
    savings = jnp.full_like(m, block.wealth_grid[0])
    c = m - savings
    R = 1.0 + values[block.asset_return]
    return HouseholdPolicy(savings, c, n, R * block.marginal_utility(c, n, values))


@partial(jax.jit, static_argnames=("block", "fixed"))
def initial_policy(
    block: HouseholdBlock, values: dict[str, Array], fixed: tuple[tuple[str, float], ...] = ()
) -> HouseholdPolicy:
    """The block's :meth:`~HouseholdBlock.initial_policy` at ``values`` (traced; ``fixed``
    compiled in), compiled once per block: with hours it holds a Newton solve per state,
    which run op by op would cost more than many EGM steps."""
    return block.initial_policy({**values, **dict(fixed)})


def stationary_egm(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    tol: float = 1e-12,
    max_iter: int = 20_000,
    start: HouseholdPolicy | None = None,
) -> tuple[HouseholdPolicy, Array, Array]:
    """Iterate the block's EGM step at constant ``values`` to a fixed point of savings (the
    change of two successive steps tested every :data:`CHECK_EVERY` steps).

    ``start`` warm-starts the iteration (e.g. the solution at a nearby rate); default:
    :func:`consume_everything`. Returns the policy, the number of iterations and the last
    sup-norm change in ``a'`` (units of the good). Needs ``r < 1/β − 1`` for a bounded solution.
    """
    traced, fixed = household_inputs(block, values)
    if start is None:
        start = consume_everything(block, {**traced, **dict(fixed)})
    start = jax.tree_util.tree_map(jnp.asarray, start)
    return _stationary_egm(block, traced, jnp.asarray(tol), start, max_iter=max_iter, fixed=fixed)


@partial(jax.jit, static_argnames=("block", "max_iter", "fixed"))
def _stationary_egm(
    block: HouseholdBlock,
    values: dict[str, Array],
    tol: Array,
    start: HouseholdPolicy,
    max_iter: int,
    fixed: tuple[tuple[str, float], ...] = (),
) -> tuple[HouseholdPolicy, Array, Array]:
    values = {**values, **dict(fixed)}

    def cond(state: tuple[HouseholdPolicy, Array, Array]) -> Array:
        _, it, change = state
        return (change > tol) & (it < max_iter)

    def body(state: tuple[HouseholdPolicy, Array, Array]) -> tuple[HouseholdPolicy, Array, Array]:
        policy, it, _ = state
        # steps that carry the marginal value alone (the policy's other arrays are neither
        # kept nor formed), then two whole ones whose savings give the change
        marginal = jax.lax.fori_loop(
            0,
            CHECK_EVERY - 2,
            lambda _, v: block.egm_step(v, values).marginal_value,
            policy.marginal_value,
        )
        before = block.egm_step(marginal, values)
        new = block.egm_step(before.marginal_value, values)
        return new, it + CHECK_EVERY, jnp.max(jnp.abs(new.savings - before.savings))

    return jax.lax.while_loop(cond, body, (start, jnp.asarray(0), jnp.asarray(jnp.inf)))


def flow_utility(
    block: HouseholdBlock, policy: HouseholdPolicy, values: Mapping[str, Any]
) -> Array:
    """Period utility of a policy, ``[n_states]`` (consumption floored at ``C_FLOOR``)."""
    c = jnp.maximum(policy.consumption, C_FLOOR)
    return block.utility(c, policy.hours, values).ravel()


def policy_value_stationary(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    policy: HouseholdPolicy,
    tol: float = 1e-11,
    max_iter: int = 200_000,
) -> Array:
    """Value ``V = u(c) + β A_x V`` of a stationary policy, ``[n_states]``.

    Iterated to a sup-norm change below ``tol`` times ``max(1, |V|)``.
    """
    traced, fixed = household_inputs(block, values)
    policy = jax.tree_util.tree_map(jnp.asarray, policy)
    return _policy_value_stationary(
        block, traced, policy, jnp.asarray(tol), max_iter=max_iter, fixed=fixed
    )


@partial(jax.jit, static_argnames=("block", "max_iter", "fixed"))
def _policy_value_stationary(
    block: HouseholdBlock,
    values: dict[str, Array],
    policy: HouseholdPolicy,
    tol: Array,
    max_iter: int,
    fixed: tuple[tuple[str, float], ...] = (),
) -> Array:
    values = {**values, **dict(fixed)}
    kernel = block.kernel()
    x = block.savings_share(policy.savings)
    flow = flow_utility(block, policy, values)
    beta = values[block.discount]
    v0 = flow / (1.0 - beta)

    def cond(state: tuple[Array, Array, Array]) -> Array:
        v, it, change = state
        return (change > tol * jnp.maximum(1.0, jnp.max(jnp.abs(v)))) & (it < max_iter)

    def body(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        v, it, _ = state
        new = flow + beta * kernel.expect(v, x)
        return new, it + 1, jnp.max(jnp.abs(new - v))

    v, _, _ = jax.lax.while_loop(cond, body, (v0, jnp.asarray(0), jnp.asarray(jnp.inf)))
    return v


def finite_horizon_egm(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    paths: Mapping[str, Any],
    Pi: Array | None = None,
    terminal_marginal: Array | None = None,
    terminal_value: Array | None = None,
) -> tuple[HouseholdPolicy, Array]:
    """Backward EGM along a path of inputs, with the policies' exact values.

    Args:
        block: the household block.
        values: the household's inputs that stay constant.
        paths: inputs that move, each ``[T]`` (e.g. ``{"r": r, "w": w}``; per period).
        Pi: income transition per period ``[T, n_income, n_income]`` (``Pi[t]`` moves income
            from ``t`` to ``t + 1``); default the block's ``Pi``.
        terminal_marginal: ``V'_T`` on the grid ``[n_wealth, n_income]`` (default 0: nothing
            is worth saving after the horizon, so the last period saves ``a_min``).
        terminal_value: ``V_T`` ``[n_wealth, n_income]`` (default 0).

    Returns:
        The policies stacked over ``t = 0…T-1`` (``[T, n_wealth, n_income]`` each) and the
        values ``V_t = u(c_t) + β E[V_{t+1}]`` under the block's lottery, ``[T + 1, n_states]``.
    """
    if not paths:
        raise ValueError("paths must give at least one input path, e.g. {'r': r, 'w': w}")
    paths = {k: jnp.asarray(v, dtype=jnp.result_type(float)) for k, v in paths.items()}
    lengths = {k: v.shape for k, v in paths.items()}
    T = next(iter(paths.values())).shape[0]
    if any(s != (T,) for s in lengths.values()):
        raise ValueError(f"paths must all have shape (T,), got {lengths}")
    traced, fixed = household_inputs(block, {**values, **{k: 0.0 for k in paths}})
    traced = {k: v for k, v in traced.items() if k not in paths}
    fixed = tuple((k, v) for k, v in fixed if k not in paths)
    shape = (block.n_wealth, block.n_income)
    Pi = jnp.broadcast_to(jnp.asarray(block.Pi if Pi is None else Pi), (T, *shape[1:] * 2))
    marginal_T = jnp.zeros(shape) if terminal_marginal is None else jnp.asarray(terminal_marginal)
    value_T = jnp.zeros(shape) if terminal_value is None else jnp.asarray(terminal_value)
    return _finite_horizon_egm(block, traced, paths, Pi, marginal_T, value_T, fixed=fixed)


@partial(jax.jit, static_argnames=("block", "fixed"))
def _finite_horizon_egm(
    block: HouseholdBlock,
    values: dict[str, Array],
    paths: dict[str, Array],
    Pi: Array,
    marginal_T: Array,
    value_T: Array,
    fixed: tuple[tuple[str, float], ...] = (),
) -> tuple[HouseholdPolicy, Array]:
    constant = {**values, **dict(fixed)}

    def period(carry: tuple[Array, Array], inputs: Any) -> tuple[tuple[Array, Array], Any]:
        marginal_next, v_next = carry
        now, Pi_t = inputs
        vals = {**constant, **now}
        policy = block.egm_step(marginal_next, vals, Pi=Pi_t)
        kernel = block.kernel(Pi_t)
        v = flow_utility(block, policy, vals) + vals[block.discount] * kernel.expect(
            v_next, block.savings_share(policy.savings)
        )
        return (policy.marginal_value, v), (policy, v)

    _, (policies, values_t) = jax.lax.scan(
        period, (marginal_T, value_T.ravel()), (paths, Pi), reverse=True
    )
    return policies, jnp.concatenate([values_t, value_T.ravel()[None]], axis=0)
