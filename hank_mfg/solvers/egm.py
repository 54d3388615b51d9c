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

import weakref
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from hank_mfg.core.evaluation import BestResponse, policy_value, register_best_response
from hank_mfg.core.kernel import LotteryKernel
from hank_mfg.core.rollout import MeanFieldPath
from hank_mfg.models.household import C_FLOOR, Household, HouseholdEconomy, crra_utility

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


@struct.dataclass
class EGMPolicy:
    """A household policy on the grid, ``[n_wealth, n_income]`` each.

    Attributes:
        savings: next-period wealth ``a'`` (units of the good).
        consumption: ``c = m − a'``.
        marginal_value: ``V'(a, e) = (1 + r) u'(c)``.
    """

    savings: Array
    consumption: Array
    marginal_value: Array


def _is_small_integer(crra: Any) -> bool:
    """True for a concrete integral ``σ`` in [1, 8], whose powers are a few multiplications."""
    return isinstance(crra, int | float) and float(crra).is_integer() and 1 <= crra <= 8


def marginal_utility(c: Array, crra: float) -> Array:
    """``u'(c) = c^(−σ)`` (``c`` floored as in the utility)."""
    c = jnp.maximum(c, C_FLOOR)
    if _is_small_integer(crra):  # repeated multiplication: much faster than pow on CPU
        return jax.lax.integer_pow(c, -int(crra))
    return c ** (-crra)


def inverse_marginal_utility(x: Array, crra: float) -> Array:
    """``c = x^(−1/σ)``, the consumption whose marginal utility is ``x`` (``inf`` at ``x = 0``)."""
    if isinstance(crra, int | float) and crra == 1.0:
        return 1.0 / x
    return x ** (-1.0 / crra)


def _interp_extrapolate(x: Array, xp: Array, fp: Array) -> Array:
    """Linear interpolation of ``fp(xp)`` at ``x``, extrapolating linearly at both ends."""
    i = jnp.clip(jnp.searchsorted(xp, x, side="right") - 1, 0, xp.shape[0] - 2)
    slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    return fp[i] + slope * (x - xp[i])


@struct.dataclass
class _Primitives:
    """The household's primitives as a pytree: arrays traced, ``crra`` static.

    Jitted solvers take this instead of the (static, identity-hashed) :class:`Household`, so
    that households differing only in numbers (``beta``, grids, income) share one compilation.
    """

    wealth_grid: Array
    income: Array
    Pi: Array
    beta: Array
    c_min: Array
    crra: float = struct.field(pytree_node=False)

    @classmethod
    def of(cls, household: Household, dtype: Any = None) -> _Primitives:
        dtype = jnp.result_type(float) if dtype is None else dtype
        return cls(
            wealth_grid=jnp.asarray(household.wealth_grid, dtype=dtype),
            income=jnp.asarray(household.income, dtype=dtype),
            Pi=jnp.asarray(household.Pi, dtype=dtype),
            beta=jnp.asarray(household.beta, dtype=dtype),
            c_min=jnp.asarray(household.c_min, dtype=dtype),
            crra=float(household.crra),
        )

    def cash_on_hand(self, r: Array, w: Array) -> Array:
        """``m = (1 + r) a + w y(e)``, ``[n_wealth, n_income]``."""
        return (1.0 + r) * self.wealth_grid[:, None] + w * self.income[None, :]


_PRIMITIVES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _primitives(household: Household) -> _Primitives:
    """:meth:`_Primitives.of` in the default float dtype, built once per household (solvers
    call it at every interest rate they try)."""
    dtype = jnp.result_type(float)
    cached = _PRIMITIVES.get(household)
    if cached is None or cached.wealth_grid.dtype != dtype:
        with jax.ensure_compile_time_eval():  # concrete arrays, even when called under a trace
            cached = _Primitives.of(household, dtype)
        _PRIMITIVES[household] = cached
    return cached


def _egm_step(
    prim: _Primitives, marginal_next: Array, Pi: Array, r: Array, w: Array, m: Array
) -> EGMPolicy:
    """:func:`egm_step` on primitives, given cash on hand ``m`` ``[n_wealth, n_income]``."""
    a = prim.wealth_grid.astype(marginal_next.dtype)
    a_min = a[0]
    expected = prim.beta * marginal_next @ Pi.T  # [a', e]
    c_endo = inverse_marginal_utility(jnp.where(expected > 0, expected, 0.0), prim.crra)
    m_endo = c_endo + a[:, None]
    a_next = jax.vmap(_interp_extrapolate, in_axes=(1, 1, None), out_axes=1)(m, m_endo, a)
    # the constraint binds below the cash on hand at which a' = a_min is optimal; with no
    # value of saving (V' = 0) it binds everywhere
    binds = (m <= m_endo[0][None, :]) | ~jnp.isfinite(m_endo[0][None, :])
    a_next = jnp.where(binds, a_min, a_next)
    a_next = jnp.clip(a_next, a_min, m - prim.c_min)
    c = m - a_next
    return EGMPolicy(
        savings=a_next,
        consumption=c,
        marginal_value=(1.0 + r) * marginal_utility(c, prim.crra),
    )


def egm_step(
    household: Household, marginal_next: Array, Pi: Array, r: Array, w: Array
) -> EGMPolicy:
    """One backward EGM step at prices ``(r, w)`` given ``V'_{t+1}`` ``[n_wealth, n_income]``.

    ``Pi[e, e']`` is this period's income transition.
    """
    prim = _Primitives.of(household, marginal_next.dtype)
    return _egm_step(prim, marginal_next, Pi, r, w, prim.cash_on_hand(r, w))


def _share(prim: _Primitives, savings: Array, m: Array) -> Array:
    low, high = prim.wealth_grid[0], m - prim.c_min
    span = jnp.where(high > low, high - low, 1.0)
    return jnp.clip((savings - low) / span, 0.0, 1.0).ravel()


def savings_share(household: Household, savings: Array, r: Array, w: Array) -> Array:
    """The savings share ``x ∈ [0, 1]`` giving ``savings``: the model's action, ``[n_states]``."""
    low, high = household.savings_bounds(household.cash_on_hand(r, w))
    span = jnp.where(high > low, high - low, 1.0)
    return jnp.clip((savings - low) / span, 0.0, 1.0).ravel()


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


def _terminal_marginal(game: HouseholdEconomy, agg_T: Any) -> Array:
    """``V'_T(a, e)`` implied by the game's terminal condition, ``[n_wealth, n_income]``."""
    hh = game.household
    shape = (hh.n_wealth, hh.n_income)
    if game.terminal == "values":
        if game.terminal_marginal is not None:
            return game.terminal_marginal.reshape(shape).astype(agg_T.mu.dtype)
        v = game.terminal_value(agg_T).reshape(shape)
        a = jnp.asarray(hh.wealth_grid, dtype=v.dtype)
        return jnp.gradient(v, a, axis=0)
    return jnp.zeros(shape, dtype=agg_T.mu.dtype)


def backward_egm(game: HouseholdEconomy, agg: Any) -> Array:
    """Best-response savings shares along one mean-field path, ``[horizon, n_states]``.

    ``agg`` holds the path's dates ``0…T`` (prices, TFP states); the household knows the path
    (the clairvoyant best response of :mod:`hank_mfg.core.evaluation`).
    """
    hh = game.household
    agg_now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
    z_next = jax.tree_util.tree_map(lambda x: x[1:], agg.z)
    agg_T = jax.tree_util.tree_map(lambda x: x[-1], agg)
    is_last = jnp.arange(game.horizon) == game.horizon - 1

    def period(marginal_next, inputs):
        agg_t, z_n, last = inputs
        r, w = agg_t.aux["r"], agg_t.aux["w"]
        Pi = game.income_transition(agg_t.z, z_n).astype(marginal_next.dtype)
        policy = egm_step(hh, marginal_next, Pi, r, w)
        share = savings_share(hh, policy.savings, r, w)
        if game.terminal == "consume_wealth":  # the last period consumes all cash on hand
            m = hh.cash_on_hand(r, w)
            all_in = (1.0 + r) * marginal_utility(m, hh.crra)
            marginal = jnp.where(last, all_in, policy.marginal_value)
        else:
            marginal = policy.marginal_value
        return marginal, share

    _, shares = jax.lax.scan(
        period, _terminal_marginal(game, agg_T), (agg_now, z_next, is_last), reverse=True
    )
    return shares


@partial(jax.jit, static_argnames=("game",))
def _household_best_response(game: HouseholdEconomy, path: MeanFieldPath) -> BestResponse:
    shares = jax.vmap(backward_egm, in_axes=(None, 0))(game, path.agg)
    value = policy_value(game, path, shares)
    return BestResponse(value=value, actions=shares)


def household_best_response(game: HouseholdEconomy, path: MeanFieldPath) -> BestResponse | None:
    """Exact best response of a household with a continuous savings share, by backward EGM.

    Its value is that of the EGM policy under the model's own kernel (linear interpolation in
    wealth), so it is comparable with every other policy's value. Discrete-choice economies
    return ``None`` (evaluation then maximises over their actions).
    """
    if game.shares is not None:
        return None
    return _household_best_response(game, path)


register_best_response(HouseholdEconomy, household_best_response)
