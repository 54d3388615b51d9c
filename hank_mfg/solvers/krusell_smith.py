"""The Krusell–Smith (1998) algorithm: households forecast capital with a log-linear law of motion.

The aggregate state of the Krusell–Smith economy is the whole wealth distribution ``mu``;
households are assumed to track only aggregate capital ``K = Σ mu·a`` and TFP ``z`` (good,
bad), and to forecast next period's capital by

    log K' = b0(z) + b1(z) log K.

Given this law of motion the algorithm

1. solves the household problem on ``(a, e, K, z)`` by the endogenous-grid method: for each node
   ``K_i`` of a capital grid and each ``z``, prices are the firm's marginal products at
   ``(K_i, L(z), Z(z))`` with ``L(z) = ℓ (1 − u_z)`` the efficiency units the employed supply,
   and the Euler equation

       u'(c(a, e, K, z)) = β Σ_{z', e'} Pi_z[z, z'] Pi(e' | e, z, z') V_a(a', e', K', z'),
       V_a(a, e, K, z) = (1 + r(K, z)) u'(c(a, e, K, z)),

   is inverted on the grid of savings ``a'`` with ``V_a(·, K', z')`` interpolated linearly
   between capital nodes at the forecast ``K' = exp(b0(z) + b1(z) log K)``; the borrowing
   constraint is exact (:func:`hank_mfg.solvers.egm.egm_step`);
2. simulates the economy along a long seeded path of ``z`` *without* sampling households: each
   period the savings policy is interpolated linearly in ``K_t``, turned into the model's
   savings share, and the distribution moves by the game's lottery kernel (Young's method),
   employment by ``Pi(e' | e, z_t, z_{t+1})``;
3. regresses ``log K_{t+1}`` on ``log K_t`` separately for ``z_t = good`` and ``z_t = bad``
   (after a burn-in) and moves the coefficients part of the way towards the estimates
   (damping), until the estimates reproduce the coefficients the households used.

Accuracy is reported by R² per aggregate state and by Den Haan's (2010) dynamic forecast error:
``K`` forecast by the law of motion alone from the first date after burn-in along the same
``z`` path (never reset to the simulated ``K``) against the simulated ``K``.

Units: ``K``, ``a`` and consumption in units of the good; periods are quarters for the
Krusell–Smith calibration; Den Haan errors in percent of the simulated ``K``.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.core.evaluation import evaluate
from hank_mfg.core.rollout import Policy, memoryless
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.household_block import HouseholdBlock, HouseholdPolicy
from hank_mfg.models.production import MarkovProcess
from hank_mfg.solvers.egm import consume_everything, flow_utility, household_inputs
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.stationary import capital_demand, rate_floor, stationary_state

Array = jax.Array

__all__ = [
    "KrusellSmithConfig",
    "KrusellSmithPolicyParams",
    "aggregate_labour_by_state",
    "aggregate_state_from_observation",
    "capital_weights",
    "den_haan_errors",
    "fit_law_of_motion",
    "krusell_smith_policy",
    "next_capital",
    "representative_agent_capital",
    "simulate_capital",
    "solve_household",
    "solve_krusell_smith",
]


# --- the aggregate side -----------------------------------------------------------------------


def next_capital(coefficients: Any, K: Any) -> Any:
    """Forecast ``K' = exp(b0(z) + b1(z) log K)`` for every ``z``.

    Args:
        coefficients: ``[n_z, 2]``, rows ``(b0(z), b1(z))``.
        K: capital, any shape ``S``.

    Returns:
        ``[n_z, *S]`` forecast capital (units of the good).
    """
    b = jnp.asarray(coefficients)
    K = jnp.asarray(K)
    expand = (slice(None),) + (None,) * K.ndim
    return jnp.exp(b[expand + (0,)] + b[expand + (1,)] * jnp.log(K)[None])


def capital_weights(capital_grid: Array, K: Array) -> tuple[Array, Array]:
    """Linear interpolation in capital: lower node ``j`` and weight ``θ`` on node ``j + 1``.

    ``f(K) ≈ (1 − θ) f(K_j) + θ f(K_{j+1})``; outside the grid the end intervals are
    extrapolated linearly (``θ < 0`` or ``θ > 1``). Shapes follow ``K``.
    """
    n = capital_grid.shape[0]
    j = jnp.clip(jnp.searchsorted(capital_grid, K, side="right") - 1, 0, n - 2)
    theta = (K - capital_grid[j]) / (capital_grid[j + 1] - capital_grid[j])
    return j, theta


def _weight_matrix(capital_grid: Array, K: Array) -> Array:
    """Interpolation weights as a matrix ``[*K.shape, n_K]`` (two non-zeros per row)."""
    n = capital_grid.shape[0]
    j, theta = capital_weights(capital_grid, K)
    return (1.0 - theta)[..., None] * jax.nn.one_hot(j, n, dtype=K.dtype) + theta[
        ..., None
    ] * jax.nn.one_hot(j + 1, n, dtype=K.dtype)


def aggregate_labour_by_state(economy: BlockEconomy) -> np.ndarray:
    """Aggregate efficiency units ``L(z) = Σ_e p_z(e) ℓ(e)`` in each aggregate state ``[n_z]``.

    ``p_z`` is the employment distribution the economy's initial distribution implies in state
    ``z``: the initial one in ``z_0``, moved by ``Pi(e' | e, z_0, z)`` otherwise. The
    Krusell–Smith algorithm needs ``L`` to be a function of ``z`` alone (unemployment moves
    exactly from ``u_z`` to ``u_z'``); this is checked.

    Raises:
        ValueError: if the economy has no aggregate income transition, or employment in some
            state depends on more than ``z``.
    """
    hh = economy.household
    if economy.income_transition_by_z is None or not isinstance(economy.tfp, MarkovProcess):
        raise ValueError(
            "economy must have a Markov TFP process and an income transition Pi(e'|e,z,z') "
            "(e.g. hank_mfg.models.krusell_smith)"
        )
    Pi = np.asarray(economy.income_transition_by_z)
    z0 = int(economy.tfp.initial_index)
    mu0 = np.asarray(economy.initial_distributions, dtype=np.float64)
    p0 = mu0.reshape(mu0.shape[0], hh.n_wealth, hh.n_income).sum(axis=1)
    if np.max(np.abs(p0 - p0[0])) > 1e-10:
        raise ValueError("initial_distributions must share one employment distribution")
    p = np.stack([p0[0] @ Pi[z0, z] for z in range(Pi.shape[0])])
    p[z0] = p0[0]
    moved = np.einsum("ze,zyef->zyf", p, Pi)
    if np.max(np.abs(moved - p[None, :, :])) > 1e-10:
        raise ValueError(
            "aggregate labour must be a function of z alone: Pi(e'|e,z,z') must move the "
            "employment distribution of z to that of z' for every (z, z') (e.g. start from "
            "the unemployment rate of the initial TFP state)"
        )
    return p @ hh.productivity


def representative_agent_capital(economy: BlockEconomy) -> float:
    """Steady-state capital of the representative-agent economy at average ``Z`` and ``L``.

    The capital at which the firm's rate is ``1/β − 1`` at ``Z̄``, ``L̄``, the means under the
    stationary distribution of ``Pi_z`` (``K = L̄ (α A Z̄ / (1/β − 1 + δ))^{1/(1−α)}`` for
    Cobb–Douglas; units of the good): the centre of the default capital grid (heterogeneous
    households save somewhat more, precautionarily).
    """
    Pi_z = np.asarray(economy.tfp.Pi, dtype=np.float64)
    vals, vecs = np.linalg.eig(Pi_z.T)
    q = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    q = q / q.sum()
    Z = float(q @ np.asarray(economy.tfp.levels))
    L = float(q @ aggregate_labour_by_state(economy))
    beta = economy.parameters[economy.household.discount]
    return capital_demand(economy, 1.0 / beta - 1.0, L, Z)


def _joint_transition(Pi_z: Array, Pi_e: Array) -> Array:
    """``P[z][e, (z', e')] = Pi_z[z, z'] Pi(e' | e, z, z')``, ``[n_z, n_e, n_z · n_e]``."""
    n_z, n_e = Pi_z.shape[0], Pi_e.shape[-1]
    joint = Pi_z[:, :, None, None] * Pi_e  # [z, z', e, e']
    return joint.transpose(0, 2, 1, 3).reshape(n_z, n_e, n_z * n_e)


# --- the household on (a, e, K, z) ------------------------------------------------------------


def _node_values(
    block: HouseholdBlock, values: dict[str, Array], shape: tuple[int, ...]
) -> dict[str, Array]:
    """The household's traced inputs broadcast to one value per ``(z, K)`` node."""
    return {k: jnp.broadcast_to(v, shape) for k, v in values.items()}


@partial(jax.jit, static_argnames=("block", "max_iter", "fixed"))
def _solve_household(
    block: HouseholdBlock,
    values: dict[str, Array],
    joint: Array,
    weights: Array,
    marginal0: Array,
    tol: float,
    max_iter: int,
    fixed: tuple[tuple[str, float], ...] = (),
) -> tuple[HouseholdPolicy, Array, Array]:
    n_z, n_K = weights.shape[:2]
    n_a, n_e = block.n_wealth, block.n_income
    nodes = _node_values(block, values, (n_z, n_K))

    def one(marginal_next: Array, Pi: Array, vals: dict[str, Array]) -> HouseholdPolicy:
        return block.egm_step(marginal_next, {**vals, **dict(fixed)}, Pi=Pi)

    # the EGM step per (z, K): the sum over (z', e') is one income transition onto n_z · n_e
    step = jax.vmap(jax.vmap(one, in_axes=(0, None, 0)), in_axes=(0, 0, 0))

    def update(marginal: Array) -> HouseholdPolicy:
        # V_a at the forecast K'(K_i, z), next TFP state z' and income e': [z, i, a', (z', e')]
        nxt = jnp.einsum("zij,yjae->ziaye", weights, marginal)
        return step(nxt.reshape(n_z, n_K, n_a, n_z * n_e), joint, nodes)

    def cond(state):
        _, it, change = state
        return (change > tol) & (it < max_iter)

    def body(state):
        policy, it, _ = state
        new = update(policy.marginal_value)
        return new, it + 1, jnp.max(jnp.abs(new.savings - policy.savings))

    start = update(marginal0)
    return jax.lax.while_loop(cond, body, (start, jnp.asarray(1), jnp.asarray(jnp.inf)))


def _node_inputs(
    economy: BlockEconomy, capital_grid: Array, labour: Array, z_levels: Array
) -> dict[str, Any]:
    """The household's inputs (prices …) at each node ``(z, K_i)`` of the capital grid, as
    the blocks pricing the household give them: ``[n_z, n_K]`` arrays or constants."""
    state = stationary_state(
        economy,
        capital_grid[None, :],
        labour[:, None],
        z_levels[:, None] * jnp.ones_like(capital_grid[None, :]),
    )
    return economy.evaluate_prices(state)


def solve_household(
    economy: BlockEconomy,
    capital_grid: Any,
    coefficients: Any,
    *,
    tol: float = 1e-9,
    max_iter: int = 50_000,
    marginal0: Any = None,
) -> tuple[HouseholdPolicy, int, float]:
    """Household savings on ``(z, K, a, e)`` given the law of motion, by EGM.

    Args:
        economy: a Krusell–Smith economy (Markov TFP, ``Pi(e' | e, z, z')``).
        capital_grid: increasing capital nodes ``[n_K]`` (units of the good).
        coefficients: law of motion ``[n_z, 2]``, rows ``(b0(z), b1(z))``.
        tol: sup-norm change in savings ``a'`` (units of the good) at which to stop.
        max_iter: iteration cap.
        marginal0: warm start ``V_a`` ``[n_z, n_K, n_wealth, n_income]`` (default: the
            marginal value of consuming all cash on hand).

    Returns:
        The policy (``savings``, ``consumption``, ``hours``, ``marginal_value``, each
        ``[n_z, n_K, n_wealth, n_income]``), the number of EGM steps and the last change.
    """
    hh = economy.household
    K_grid = jnp.asarray(capital_grid, dtype=jnp.float64)
    z_levels = jnp.asarray(economy.tfp.levels, dtype=jnp.float64)
    labour = jnp.asarray(aggregate_labour_by_state(economy))
    traced, fixed = household_inputs(hh, _node_inputs(economy, K_grid, labour, z_levels))
    joint = _joint_transition(
        jnp.asarray(economy.tfp.Pi), jnp.asarray(economy.income_transition_by_z)
    )
    weights = _weight_matrix(K_grid, next_capital(jnp.asarray(coefficients), K_grid))
    shape = (z_levels.shape[0], K_grid.shape[0])
    if marginal0 is None:
        start = jax.vmap(jax.vmap(lambda v: consume_everything(hh, {**v, **dict(fixed)})))
        marginal0 = start(_node_values(hh, traced, shape)).marginal_value
    policy, it, change = _solve_household(
        hh, traced, joint, weights, jnp.asarray(marginal0), tol, max_iter, fixed=fixed
    )
    return policy, int(it), float(change)


@partial(jax.jit, static_argnames=("block", "max_iter", "fixed"))
def _policy_value(
    block: HouseholdBlock,
    values: dict[str, Array],
    joint: Array,
    weights: Array,
    policy: HouseholdPolicy,
    tol: float,
    max_iter: int,
    fixed: tuple[tuple[str, float], ...] = (),
) -> Array:
    """``V = u(c) + β E[V(a', e', K', z')]`` on ``(z, K, a, e)`` for a policy."""
    n_z, n_K = weights.shape[:2]
    n_a, n_e = block.n_wealth, block.n_income
    nodes = _node_values(block, values, (n_z, n_K))
    constant = dict(fixed)
    flow = jax.vmap(jax.vmap(lambda p, v: flow_utility(block, p, {**v, **constant})))(
        policy, nodes
    ).reshape(n_z, n_K, n_a, n_e)
    shares = jax.vmap(jax.vmap(block.savings_share))(policy.savings)
    kernel = block.kernel(jnp.eye(n_e, dtype=flow.dtype))
    beta = {**nodes, **constant}[block.discount]

    def gather(v_next: Array, x: Array) -> Array:
        # E over (z', e') is already in v_next [a', e]; the lottery gathers it at a'(a, e)
        return kernel.expect(v_next.ravel(), x).reshape(n_a, n_e)

    def update(v: Array) -> Array:
        nxt = jnp.einsum("zij,yjae->ziaye", weights, v).reshape(n_z, n_K, n_a, n_z * n_e)
        expected = jnp.einsum("ziaf,zef->ziae", nxt, joint)
        return flow + beta[..., None, None] * jax.vmap(jax.vmap(gather))(expected, shares)

    def cond(state):
        v, it, change = state
        return (change > tol * jnp.maximum(1.0, jnp.max(jnp.abs(v)))) & (it < max_iter)

    def body(state):
        v, it, _ = state
        new = update(v)
        return new, it + 1, jnp.max(jnp.abs(new - v))

    v0 = flow / (1.0 - beta[..., None, None])
    v, _, _ = jax.lax.while_loop(cond, body, (v0, jnp.asarray(0), jnp.asarray(jnp.inf)))
    return v


# --- the policy as the core rolls it out ------------------------------------------------------


@struct.dataclass
class KrusellSmithPolicyParams:
    """Parameters of the Krusell–Smith savings policy for the core's rollout.

    Attributes:
        capital_grid: capital nodes ``[n_K]`` (units of the good).
        savings: next-period wealth ``a'(a, e; K_i, z)``, ``[n_z, n_K, n_wealth, n_income]``.
        z_levels: TFP level of each aggregate state ``[n_z]``.
        labour: aggregate efficiency units ``L(z)`` ``[n_z]``.
        economy: the economy (static): its household block and the blocks pricing it.
        rate_shift: ``c`` with ``log(r + c)`` near linear in ``log K`` (static; minus the
            rate's floor, ``δ`` for Cobb–Douglas), for recovering capital from ``r``.
        observation: names of the game's shared observation (static); either ``r`` and ``w``
            (capital and ``z`` are recovered from the factor prices) or ``K`` and ``Z``.
    """

    capital_grid: Array
    savings: Array
    z_levels: Array
    labour: Array
    economy: BlockEconomy = struct.field(pytree_node=False)
    rate_shift: float = struct.field(pytree_node=False, default=0.0)
    observation: tuple[str, ...] = struct.field(pytree_node=False, default=("r", "w"))


def _check_observation(observation: tuple[str, ...]) -> None:
    if not ({"r", "w"} <= set(observation) or {"K", "Z"} <= set(observation)):
        raise ValueError(
            "observation must contain ('r', 'w') or ('K', 'Z') for the Krusell–Smith policy "
            f"to recover aggregate capital and the TFP state, got {observation!r}"
        )


def _state_index(z_levels: Array, Z: Array) -> Array:
    return jnp.argmin(jnp.abs(z_levels - Z)).astype(jnp.int32)


#: Newton steps inverting the rate for capital (in ``log K`` on ``log(r + c)``, which is
#: linear for a Cobb–Douglas firm: one step is exact there).
_INVERSION_STEPS = 8


def _values_at(params: KrusellSmithPolicyParams, K: Array, z: Array) -> dict[str, Array]:
    economy = params.economy
    state = stationary_state(economy, K, params.labour[z], params.z_levels[z])
    return economy.evaluate_prices(state)


def _capital_at_rate(params: KrusellSmithPolicyParams, r: Array, z: Array) -> Array:
    """Capital at which the blocks give the rate ``r`` in TFP state ``z``: Newton in ``log K``
    on ``log(r(K) + c) = log(r + c)`` with ``c`` minus the rate's floor (``δ``)."""
    c = params.rate_shift
    name = params.economy.household.asset_return

    def log_rate(log_k: Array) -> Array:
        return jnp.log(_values_at(params, jnp.exp(log_k), z)[name] + c)

    def newton(_: int, log_k: Array) -> Array:
        f, slope = jax.value_and_grad(log_rate)(log_k)
        return log_k - (f - jnp.log(r + c)) / slope

    start = jnp.log(jnp.mean(params.capital_grid)).astype(r.dtype)
    return jnp.exp(jax.lax.fori_loop(0, _INVERSION_STEPS, newton, start))


def aggregate_state_from_observation(
    params: KrusellSmithPolicyParams, obs: Array
) -> tuple[Array, Array, dict[str, Array]]:
    """``(K, z, values)`` from the shared observation: capital, the TFP state and the
    household's inputs there (prices …).

    From prices: in each TFP state the capital that gives the observed ``r`` (the firm's
    rate inverted), and the state whose wage is then the observed ``w`` (or the state of an
    observed ``Z``); from ``(K, Z)``: the nearest TFP state. The observed values replace
    the blocks' own (they agree to rounding).
    """
    names = params.observation
    get = {name: obs[i] for i, name in enumerate(names)}
    if "r" in get and "w" in get:
        n_z = params.z_levels.shape[0]
        K_z = jax.vmap(lambda z: _capital_at_rate(params, get["r"], z))(jnp.arange(n_z))
        if "Z" in get:
            z = _state_index(params.z_levels, get["Z"])
        else:
            w_z = jax.vmap(lambda k, z: _values_at(params, k, z)["w"])(K_z, jnp.arange(n_z))
            z = jnp.argmin(jnp.abs(w_z - get["w"])).astype(jnp.int32)
        K = get["K"] if "K" in get else K_z[z]
    else:
        z = _state_index(params.z_levels, get["Z"])
        K = get["K"]
    values = _values_at(params, K, z)
    values.update({k: v for k, v in get.items() if k in values})
    return K, z, values


def _shares_at(
    params: KrusellSmithPolicyParams, K: Array, z: Array, values: dict[str, Array]
) -> Array:
    """Savings shares ``[n_states]`` at ``(K, z)``: the policy interpolated linearly in ``K``."""
    j, theta = capital_weights(params.capital_grid, K)
    savings = (1.0 - theta) * params.savings[z, j] + theta * params.savings[z, j + 1]
    economy = params.economy
    m = economy.household.cash_on_hand(jnp.ones_like(savings), values)
    return economy.share_given_cash(m, savings)


def _policy_table(params: KrusellSmithPolicyParams, obs: Array) -> Array:
    K, z, values = aggregate_state_from_observation(params, obs)
    return _shares_at(params, K, z, values)


#: The Krusell–Smith savings policy: a continuous savings share per state from the shared
#: observation (memoryless; ``params`` is a :class:`KrusellSmithPolicyParams`).
krusell_smith_policy: Policy = memoryless(_policy_table)


# --- simulation, regression, accuracy ---------------------------------------------------------


@partial(jax.jit, static_argnames=("economy",))
def _simulate(
    economy: BlockEconomy, params: KrusellSmithPolicyParams, mu0: Array, z_path: Array
) -> tuple[Array, Array, Array, Array]:
    good = z_path[0]

    def period(state, inputs):
        mu, last_good = state
        z, z_next, t = inputs
        agg = economy.make_agg(mu, z, t)
        K = agg.aux[economy.wealth]
        x = _shares_at(params, K, z, {**economy.parameters, **agg.aux})
        kernel = economy.lottery_kernel(agg, z_next)
        last_good = jnp.where(z == good, mu, last_good)
        return (kernel.forward(mu, x), last_good), (K, kernel.mass_above_grid(mu, x))

    n = z_path.shape[0] - 1
    inputs = (z_path[:-1], z_path[1:], jnp.arange(n, dtype=jnp.int32))
    (mu_T, last_good), (K, above) = jax.lax.scan(period, (mu0, mu0), inputs)
    K_T = economy.make_agg(mu_T, z_path[-1], n).aux[economy.wealth]
    return jnp.concatenate([K, K_T[None]]), above, mu_T, last_good


def simulate_capital(
    economy: BlockEconomy,
    params: KrusellSmithPolicyParams,
    mu0: Any,
    z_path: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Non-stochastic simulation of the distribution along a path of TFP states.

    Each period ``t``: ``K_t = Σ mu_t·a``; savings ``a'(a, e; K_t, z_t)`` interpolated linearly
    in ``K``; ``mu_{t+1} = Aᵀ mu_t`` with the economy's lottery kernel for ``z_t → z_{t+1}``.

    Args:
        economy: the Krusell–Smith economy; params: the policy.
        mu0: distribution at date 0 ``[n_states]``, its unemployment that of ``z_path[0]``.
        z_path: TFP state indices ``[T + 1]``.

    Returns:
        ``K[T + 1]`` (units of the good) and a dict with ``mass_above_grid`` ``[T]``,
        ``final_distribution`` (date ``T``) and ``last_distribution_in_initial_state`` (the
        distribution at the last date whose TFP state equals ``z_path[0]``).
    """
    K, above, mu_T, last = _simulate(
        economy, params, jnp.asarray(mu0), jnp.asarray(z_path, dtype=jnp.int32)
    )
    info = {
        "mass_above_grid": np.asarray(above),
        "final_distribution": np.asarray(mu_T),
        "last_distribution_in_initial_state": np.asarray(last),
    }
    return np.asarray(K), info


def fit_law_of_motion(
    K: Any, z_path: Any, burn_in: int, n_z: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``log K_{t+1}`` on ``(1, log K_t)`` per TFP state ``z_t``, dates ``t >= burn_in``.

    Returns:
        Coefficients ``[n_z, 2]`` (rows ``(b0(z), b1(z))``) and R² ``[n_z]``.

    Raises:
        ValueError: if some state has fewer than 3 observations.
    """
    logK = np.log(np.asarray(K, dtype=np.float64))
    z = np.asarray(z_path)
    x, y, zt = logK[burn_in:-1], logK[burn_in + 1 :], z[burn_in : logK.size - 1]
    coefficients, r2 = np.empty((n_z, 2)), np.empty(n_z)
    for s in range(n_z):
        sel = zt == s
        if sel.sum() < 3:
            raise ValueError(
                f"TFP state {s} occurs {sel.sum()} times after burn_in: simulate longer"
            )
        X = np.column_stack([np.ones(sel.sum()), x[sel]])
        beta, *_ = np.linalg.lstsq(X, y[sel], rcond=None)
        resid = y[sel] - X @ beta
        coefficients[s] = beta
        r2[s] = 1.0 - resid @ resid / np.sum((y[sel] - y[sel].mean()) ** 2)
    return coefficients, r2


def den_haan_errors(
    K: Any, z_path: Any, coefficients: Any, burn_in: int
) -> tuple[float, float, np.ndarray]:
    """Den Haan (2010) accuracy: the law of motion's dynamic forecast against simulated ``K``.

    ``K̃_{burn_in} = K_{burn_in}``, ``K̃_{t+1} = exp(b0(z_t) + b1(z_t) log K̃_t)`` (never reset
    to the simulated capital). Returns the maximum and mean of ``100 |K̃_t / K_t − 1|`` over
    ``t > burn_in`` (percent) and the forecast path ``K̃`` from ``burn_in`` on.
    """
    K = np.asarray(K, dtype=np.float64)
    z = np.asarray(z_path)
    b = np.asarray(coefficients, dtype=np.float64)
    forecast = np.empty(K.size - burn_in)
    forecast[0] = np.log(K[burn_in])
    for i, t in enumerate(range(burn_in, K.size - 1)):
        forecast[i + 1] = b[z[t], 0] + b[z[t], 1] * forecast[i]
    forecast = np.exp(forecast)
    err = 100.0 * np.abs(forecast[1:] / K[burn_in + 1 :] - 1.0)
    return float(err.max()), float(err.mean()), forecast


def _tfp_path(Pi_z: np.ndarray, n: int, z0: int, seed: int) -> np.ndarray:
    """A seeded path of TFP state indices ``[n]`` starting at ``z0``."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(Pi_z, axis=1)
    u = rng.random(n)
    z = np.empty(n, dtype=np.int32)
    z[0] = z0
    for t in range(1, n):
        z[t] = min(int(np.searchsorted(cum[z[t - 1]], u[t], side="right")), Pi_z.shape[0] - 1)
    return z


# --- the algorithm ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KrusellSmithConfig:
    """Settings of the Krusell–Smith algorithm, checked when built.

    Attributes:
        n_capital: number of capital nodes, >= 2.
        capital_bounds: ``(K_low, K_high)`` of the capital grid (units of the good); default
            ``(0.8 K_RA, 1.2 K_RA)`` around the representative-agent steady state
            (:func:`representative_agent_capital`).
        initial_coefficients: law of motion to start from ``[n_z, 2]``; default
            ``b1 = 0.95``, ``b0 = 0.05 log K_RA`` in every state.
        n_periods: simulated periods ``T`` (the path has ``T + 1`` dates), burn_in: dates
            discarded before the regression, seed: seed of the TFP path (starts in the
            economy's initial TFP state).
        damping: weight on the new estimates, ``b ← (1 − damping) b + damping b̂``, in (0, 1].
        tol: stop when ``max |b̂ − b| < tol``.
        max_iter: cap on outer iterations.
        egm_tol: sup-norm change in savings (units of the good) ending each household solve.
        refresh_tol: while ``max |b̂ − b| >= refresh_tol`` the simulation restarts from the
            last simulated distribution in the initial TFP state (an approximation of the
            ergodic one); below it the initial distribution is frozen so that the fixed point
            is that of one deterministic map.
        evaluation_samples: common-noise paths for the core's exploitability (0: skip).
        evaluation_seed: key of the evaluation.
    """

    n_capital: int = 7
    capital_bounds: tuple[float, float] | None = None
    initial_coefficients: Any = None
    n_periods: int = 3000
    burn_in: int = 500
    seed: int = 0
    damping: float = 0.3
    tol: float = 1e-6
    max_iter: int = 200
    egm_tol: float = 1e-9
    refresh_tol: float = 1e-3
    evaluation_samples: int = 1
    evaluation_seed: int = 0

    def __post_init__(self) -> None:
        n = self.n_capital
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"n_capital must be an integer >= 2, got {n!r}")
        if not 0.0 < self.damping <= 1.0:
            raise ValueError(f"damping must lie in (0, 1], got {self.damping!r}")
        burn_in, n_periods = self.burn_in, self.n_periods
        if not (isinstance(burn_in, int) and isinstance(n_periods, int) and 0 <= burn_in):
            raise ValueError("n_periods and burn_in must be integers, burn_in >= 0")
        if n_periods < burn_in + 20:
            raise ValueError(f"n_periods must be >= burn_in + 20, got {n_periods} and {burn_in}")
        if not self.tol > 0 or not self.egm_tol > 0:
            raise ValueError("tol and egm_tol must be > 0")
        if self.capital_bounds is not None:
            lo, hi = self.capital_bounds
            if not 0.0 < lo < hi:
                raise ValueError(f"capital_bounds must satisfy 0 < K_low < K_high, got {(lo, hi)}")

    def settings(self, economy: BlockEconomy, capital_grid: np.ndarray) -> dict[str, Any]:
        """The settings as results files record them."""
        return {
            "method": "Krusell-Smith: EGM on (a, e, K, z), lottery simulation, OLS per z",
            "n_capital": self.n_capital,
            "capital_bounds": [float(capital_grid[0]), float(capital_grid[-1])],
            "n_periods": self.n_periods,
            "burn_in": self.burn_in,
            "seed": self.seed,
            "damping": self.damping,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "egm_tol": self.egm_tol,
            "refresh_tol": self.refresh_tol,
            "evaluation_samples": self.evaluation_samples,
            "evaluation_seed": self.evaluation_seed,
            "evaluation_horizon": economy.horizon,
            "observation": list(economy.observation),
        }


@dataclass
class _Setup:
    """What the iterations share: the aggregate states, the capital grid, the TFP path."""

    labour: np.ndarray
    z_levels: np.ndarray
    Pi_z: np.ndarray
    K_ra: float
    capital_grid: np.ndarray
    coefficients: np.ndarray
    z_path: np.ndarray


@dataclass
class _Iterations:
    """Where the outer iterations ended."""

    coefficients: np.ndarray
    estimate: np.ndarray
    r2: np.ndarray
    K: np.ndarray
    info: dict[str, Any]
    policy: HouseholdPolicy
    params: KrusellSmithPolicyParams
    history: dict[str, list]
    converged: bool
    iterations: int


def _check_economy(economy: BlockEconomy) -> None:
    _check_observation(economy.observation)
    if economy.shares is not None:
        raise ValueError("economy must have a continuous savings share (shares=None)")


def _setup(economy: BlockEconomy, config: KrusellSmithConfig) -> _Setup:
    """The capital grid around the representative agent's capital, the initial law of
    motion and the seeded TFP path."""
    labour = aggregate_labour_by_state(economy)  # checks the economy is of the KS kind
    tfp = economy.tfp
    z_levels = np.asarray(tfp.levels, dtype=np.float64)
    n_z = z_levels.size
    Pi_z = np.asarray(tfp.Pi, dtype=np.float64)
    K_ra = representative_agent_capital(economy)
    lo, hi = (0.8 * K_ra, 1.2 * K_ra) if config.capital_bounds is None else config.capital_bounds
    if config.initial_coefficients is None:
        b = np.tile([0.05 * np.log(K_ra), 0.95], (n_z, 1))
    else:
        b = np.asarray(config.initial_coefficients, dtype=np.float64)
        if b.shape != (n_z, 2) or not np.all(np.isfinite(b)):
            raise ValueError(f"initial_coefficients must be a finite array of shape ({n_z}, 2)")
    z_path = _tfp_path(Pi_z, config.n_periods + 1, int(tfp.initial_index), config.seed)
    return _Setup(
        labour=labour,
        z_levels=z_levels,
        Pi_z=Pi_z,
        K_ra=K_ra,
        capital_grid=np.linspace(lo, hi, config.n_capital),
        coefficients=b,
        z_path=z_path,
    )


def _iterate(
    economy: BlockEconomy,
    config: KrusellSmithConfig,
    setup: _Setup,
    start: float,
    verbose: bool,
) -> _Iterations:
    """Steps 1–3 of the algorithm until the estimated law of motion is the one used."""
    b, K_grid, z_path = setup.coefficients, setup.capital_grid, setup.z_path
    n_z, burn_in = setup.z_levels.size, config.burn_in
    mu0 = np.asarray(economy.initial_distributions[0], dtype=np.float64)
    marginal = None
    history: dict[str, list] = {
        "iteration": [],
        "coefficient_change": [],
        "seconds": [],
        "egm_iterations": [],
    }
    converged, frozen, it = False, False, 0
    for it in range(1, config.max_iter + 1):
        policy, egm_it, _ = solve_household(
            economy, K_grid, b, tol=config.egm_tol, marginal0=marginal
        )
        marginal = policy.marginal_value
        params = KrusellSmithPolicyParams(
            capital_grid=jnp.asarray(K_grid),
            savings=policy.savings,
            z_levels=jnp.asarray(setup.z_levels),
            labour=jnp.asarray(setup.labour),
            economy=economy,
            rate_shift=-rate_floor(economy, 1.0),
            observation=economy.observation,
        )
        K, info = simulate_capital(economy, params, mu0, z_path)
        estimate, r2 = fit_law_of_motion(K, z_path, burn_in, n_z)
        change = float(np.max(np.abs(estimate - b)))
        history["iteration"].append(it)
        history["coefficient_change"].append(change)
        history["seconds"].append(time.perf_counter() - start)
        history["egm_iterations"].append(egm_it)
        if verbose:
            print(
                f"KS iteration {it:3d}: change {change:.3e}, b = {estimate.ravel().round(6)}, "
                f"R2 = {r2.round(8)}, mean K = {K[burn_in:].mean():.4f}, EGM steps {egm_it}",
                file=sys.stderr,
            )
        if change < config.tol:
            converged = True
            break
        if not frozen and change >= config.refresh_tol:
            mu0 = info["last_distribution_in_initial_state"]
        else:
            frozen = True
        b = (1.0 - config.damping) * b + config.damping * estimate
    if not converged:
        warnings.warn(
            f"Krusell–Smith algorithm did not converge in {config.max_iter} iterations "
            f"(last coefficient change {history['coefficient_change'][-1]:.3g})",
            RuntimeWarning,
            stacklevel=3,
        )
    return _Iterations(b, estimate, r2, K, info, policy, params, history, converged, it)


def _warn_about_grids(K_sim: np.ndarray, K_grid: np.ndarray, info: dict[str, Any]) -> float:
    """Warn when simulated capital left the capital grid or wealth the wealth grid; returns
    the share of periods outside the capital grid."""
    outside = float(np.mean((K_sim < K_grid[0]) | (K_sim > K_grid[-1])))
    if outside > 0:
        warnings.warn(
            f"simulated capital left the capital grid [{K_grid[0]:.4g}, {K_grid[-1]:.4g}] in "
            f"{100 * outside:.2f}% of periods (extrapolated); widen capital_bounds",
            RuntimeWarning,
            stacklevel=3,
        )
    above = float(np.max(info["mass_above_grid"]))
    if above > 1e-6:
        warnings.warn(
            f"up to {above:.3g} of the population saved above the top of the wealth grid",
            RuntimeWarning,
            stacklevel=3,
        )
    return outside


def _evaluation_game(
    economy: BlockEconomy, setup: _Setup, done: _Iterations, K_mean: float
) -> tuple[BlockEconomy, Array]:
    """The economy restarted from the simulated distribution, with terminal values of the
    policy at mean capital; and the policy's value on ``(z, K, a, e)``."""
    hh = economy.household
    K_grid = jnp.asarray(setup.capital_grid)
    inputs = _node_inputs(economy, K_grid, jnp.asarray(setup.labour), jnp.asarray(setup.z_levels))
    traced, fixed = household_inputs(hh, inputs)
    joint = _joint_transition(jnp.asarray(setup.Pi_z), jnp.asarray(economy.income_transition_by_z))
    weights = _weight_matrix(K_grid, next_capital(jnp.asarray(done.coefficients), K_grid))
    policy = done.policy
    value = _policy_value(hh, traced, joint, weights, policy, 1e-12, 100_000, fixed=fixed)
    q = np.linalg.matrix_power(setup.Pi_z, economy.horizon)[int(economy.tfp.initial_index)]
    w_K = np.asarray(_weight_matrix(K_grid, jnp.asarray(K_mean)))
    terminal = np.einsum("z,j,zjae->ae", q, w_K, np.asarray(value)).ravel()
    terminal_marginal = np.einsum("z,j,zjae->ae", q, w_K, np.asarray(policy.marginal_value))
    game = economy.with_settings(
        terminal=terminal,
        terminal_marginal=terminal_marginal.ravel(),
        initial_distributions=done.info["last_distribution_in_initial_state"],
    )
    return game, value


def solve_krusell_smith(
    economy: BlockEconomy,
    config: KrusellSmithConfig | None = None,
    *,
    verbose: bool = False,
    **settings: Any,
) -> Solution:
    """The Krusell–Smith algorithm: EGM households, lottery simulation, log-linear regression.

    Args:
        economy: a Krusell–Smith economy (:func:`hank_mfg.models.krusell_smith`) with a
            continuous savings share; its horizon and observation are those of the
            evaluation game.
        config: the algorithm's settings (:class:`KrusellSmithConfig`; default its defaults).
        verbose: print one line per iteration to stderr.
        **settings: fields of :class:`KrusellSmithConfig` replacing those of ``config``.

    Returns:
        A :class:`Solution` with solver ``"krusell-smith"``. Its game is the economy restarted
        from the simulated distribution (last date in the initial TFP state) with terminal
        values ``Σ_z q_z V(a, e, K̄, z)`` of the Krusell–Smith policy at mean capital ``K̄``
        (``q`` the distribution of ``z_T``), so that the finite horizon stands in for the
        infinite one; its policy is :data:`krusell_smith_policy`, driven by the shared
        observation only.

    Raises:
        ValueError: for an economy that is not of the Krusell–Smith kind, a discrete choice
            set, or settings out of range.
    """
    start = time.perf_counter()
    config = KrusellSmithConfig() if config is None else config
    config = dataclasses.replace(config, **settings) if settings else config
    _check_economy(economy)
    setup = _setup(economy, config)
    done = _iterate(economy, config, setup, start, verbose)
    b, K, z_path = done.coefficients, done.K, setup.z_path
    dh_max, dh_mean, forecast = den_haan_errors(K, z_path, b, config.burn_in)
    seconds = time.perf_counter() - start
    K_sim = K[config.burn_in :]
    outside = _warn_about_grids(K_sim, setup.capital_grid, done.info)
    K_mean = float(K_sim.mean())
    game, value = _evaluation_game(economy, setup, done, K_mean)
    evaluation, evaluation_seconds = None, 0.0
    if config.evaluation_samples > 0:
        t0 = time.perf_counter()
        key = jax.random.PRNGKey(config.evaluation_seed)
        evaluation = evaluate(
            game, krusell_smith_policy, done.params, key, config.evaluation_samples
        )
        evaluation_seconds = time.perf_counter() - t0
    policy = done.policy
    results = {
        "coefficients": b,
        "coefficients_estimated": done.estimate,
        "r2": done.r2,
        "den_haan_max_percent": dh_max,
        "den_haan_mean_percent": dh_mean,
        "converged": done.converged,
        "iterations": done.iterations,
        "coefficient_change": done.history["coefficient_change"][-1],
        "capital_grid": setup.capital_grid,
        "savings": np.asarray(policy.savings),
        "consumption": np.asarray(policy.consumption),
        "marginal_value": np.asarray(policy.marginal_value),
        "value": np.asarray(value),
        "labour": setup.labour,
        "K_representative_agent": setup.K_ra,
        "K": K,
        "K_forecast": forecast,
        "z": z_path,
        "K_mean": K_mean,
        "K_std_log": float(np.std(np.log(K_sim))),
        "periods_outside_capital_grid": outside,
        "mass_above_grid": float(np.max(done.info["mass_above_grid"])),
        "seconds": seconds,
        "evaluation_seconds": evaluation_seconds,
    }
    return Solution(
        game=game,
        solver="krusell-smith",
        policy=krusell_smith_policy,
        params=done.params,
        settings=config.settings(economy, setup.capital_grid),
        evaluation=evaluation,
        results=results,
        history={k: np.asarray(v) for k, v in done.history.items()},
        seconds=seconds,
        seed=config.seed,
    )
