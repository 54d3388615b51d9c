"""The endogenous-grid method (Carroll 2006) for the household of :mod:`hank_mfg.models.household`.

Notation: wealth grid ``a`` (first point the borrowing limit ``a_min``), income states ``e``
with income ``y(e)`` in units of the wage, cash on hand ``m = (1 + r) a + w y(e)``. Given next
period's marginal value of wealth ``V'_{t+1}(a', e')`` on the grid, the Euler equation

    u'(c) = β Σ_e' Pi[e, e'] V'_{t+1}(a', e')

gives consumption on the grid of *savings* ``a'``; the endogenous cash on hand ``c + a'`` is
then inverted (linear interpolation, linear extrapolation above the top) to the savings policy
on the grid of ``m``. Where ``m`` is below the endogenous cash of ``a' = a_min``, the borrowing
constraint binds and ``a' = a_min`` exactly. The envelope condition gives this period's marginal
value, ``V'_t = (1 + r_t) u'(c_t)``.

Everything is float64-ready JAX (enable ``jax_enable_x64`` for classical work); value functions
are the exact values of the policy under the model's lottery kernel,
``V = u(c) + β A_x V``, i.e. the same yardstick every solver is measured with.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from hank_mfg.core.kernel import LotteryKernel
from hank_mfg.models.household import (
    EGMPolicy,
    Household,
    _egm_step,
    _Primitives,
    _primitives,
    _share,
    backward_egm,
    crra_utility,
    egm_step,
    household_best_response,
    marginal_utility,
    savings_share,
)

Array = jax.Array

__all__ = [
    "EGMPolicy",
    "backward_egm",
    "egm_step",
    "finite_horizon_egm",
    "household_best_response",
    "policy_value_stationary",
    "savings_share",
    "stationary_egm",
]


def stationary_egm(
    household: Household,
    r: Array,
    w: Array,
    tol: float = 1e-12,
    max_iter: int = 20_000,
    consumption0: Array | None = None,
) -> tuple[EGMPolicy, Array, Array]:
    """Iterate EGM at constant prices to a fixed point of the savings policy.

    ``consumption0`` (``[n_wealth, n_income]``) warm-starts the iteration (e.g. the solution at
    a nearby rate); default: consume all cash on hand. Returns the policy, the number of
    iterations and the last sup-norm change in ``a'`` (units of the good). Needs
    ``r < 1/β − 1`` for a bounded solution.
    """
    prim = _primitives(household)
    c0 = None if consumption0 is None else jnp.asarray(consumption0, dtype=prim.wealth_grid.dtype)
    return _stationary_egm(prim, r, w, tol, c0, max_iter=max_iter)


@partial(jax.jit, static_argnames=("max_iter",))
def _stationary_egm(
    prim: _Primitives, r: Array, w: Array, tol: Array, consumption0: Array | None, max_iter: int
) -> tuple[EGMPolicy, Array, Array]:
    m = prim.cash_on_hand(r, w)
    c0 = m - prim.wealth_grid[0] if consumption0 is None else consumption0
    start = EGMPolicy(
        savings=m - c0,
        consumption=c0,
        marginal_value=(1.0 + r) * marginal_utility(c0, prim.crra),
    )

    def cond(state):
        _, it, change = state
        return (change > tol) & (it < max_iter)

    def body(state):
        policy, it, _ = state
        new = _egm_step(prim, policy.marginal_value, prim.Pi, r, w, m)
        return new, it + 1, jnp.max(jnp.abs(new.savings - policy.savings))

    return jax.lax.while_loop(cond, body, (start, jnp.asarray(0), jnp.asarray(jnp.inf)))


def stationary_kernel(household: Household, r: Array, w: Array) -> LotteryKernel:
    """The lottery kernel of a continuous savings share at constant prices."""
    low, high = household.savings_bounds(household.cash_on_hand(r, w))
    return LotteryKernel(
        wealth_grid=jnp.asarray(household.wealth_grid, dtype=low.dtype),
        low=low,
        high=high,
        Pi=jnp.asarray(household.Pi, dtype=low.dtype),
    )


def policy_value_stationary(
    household: Household,
    savings: Array,
    r: Array,
    w: Array,
    tol: float = 1e-11,
    max_iter: int = 200_000,
) -> Array:
    """Value ``V = u(c) + β A_x V`` of a stationary savings policy, ``[n_states]``.

    Iterated to a sup-norm change below ``tol`` times ``max(1, |V|)``.
    """
    prim = _primitives(household)
    savings = jnp.asarray(savings, dtype=prim.wealth_grid.dtype)
    return _policy_value_stationary(prim, savings, r, w, tol, max_iter=max_iter)


@partial(jax.jit, static_argnames=("max_iter",))
def _policy_value_stationary(
    prim: _Primitives, savings: Array, r: Array, w: Array, tol: Array, max_iter: int
) -> Array:
    m = prim.cash_on_hand(r, w)
    kernel = LotteryKernel(
        wealth_grid=prim.wealth_grid,
        low=jnp.full_like(m, prim.wealth_grid[0]),
        high=m - prim.c_min,
        Pi=prim.Pi,
    )
    x = _share(prim, savings, m)
    flow = crra_utility(m - savings, prim.crra).ravel()
    v0 = flow / (1.0 - prim.beta)

    def cond(state):
        v, it, change = state
        return (change > tol * jnp.maximum(1.0, jnp.max(jnp.abs(v)))) & (it < max_iter)

    def body(state):
        v, it, _ = state
        new = flow + prim.beta * kernel.expect(v, x)
        return new, it + 1, jnp.max(jnp.abs(new - v))

    v, _, _ = jax.lax.while_loop(cond, body, (v0, jnp.asarray(0), jnp.asarray(jnp.inf)))
    return v


@partial(jax.jit, static_argnames=("household",))
def finite_horizon_egm(
    household: Household,
    r: Array,
    w: Array,
    Pi: Array | None = None,
    terminal_marginal: Array | None = None,
    terminal_value: Array | None = None,
) -> tuple[EGMPolicy, Array]:
    """Backward EGM along a price path, with the policies' exact values.

    Args:
        household: the household block.
        r, w: net interest rate and wage per period, ``[T]``.
        Pi: income transition per period ``[T, n_income, n_income]`` (``Pi[t]`` moves income
            from ``t`` to ``t + 1``); default the household's fixed ``Pi``.
        terminal_marginal: ``V'_T`` on the grid ``[n_wealth, n_income]`` (default 0: nothing
            is worth saving after the horizon, so the last period saves ``a_min``).
        terminal_value: ``V_T`` ``[n_wealth, n_income]`` (default 0).

    Returns:
        The policies stacked over ``t = 0…T-1`` (``[T, n_wealth, n_income]`` each) and the
        values ``V_t = u(c_t) + β E[V_{t+1}]`` under the model's lottery, ``[T + 1, n_states]``.
    """
    r, w = jnp.asarray(r), jnp.asarray(w)
    T = r.shape[0]
    shape = (household.n_wealth, household.n_income)
    Pi = jnp.broadcast_to(jnp.asarray(household.Pi if Pi is None else Pi), (T, *shape[1:] * 2))
    marginal_T = jnp.zeros(shape) if terminal_marginal is None else terminal_marginal
    value_T = jnp.zeros(shape) if terminal_value is None else terminal_value

    def period(carry, inputs):
        marginal_next, v_next = carry
        r_t, w_t, Pi_t = inputs
        policy = egm_step(household, marginal_next, Pi_t, r_t, w_t)
        low, high = household.savings_bounds(household.cash_on_hand(r_t, w_t))
        kernel = LotteryKernel(jnp.asarray(household.wealth_grid), low, high, Pi_t)
        share = savings_share(household, policy.savings, r_t, w_t)
        v = household.utility(policy.consumption).ravel() + household.beta * kernel.expect(
            v_next, share
        )
        return (policy.marginal_value, v), (policy, v)

    _, (policies, values) = jax.lax.scan(
        period, (marginal_T, value_T.ravel()), (r, w, Pi), reverse=True
    )
    return policies, jnp.concatenate([values, value_T.ravel()[None]], axis=0)
