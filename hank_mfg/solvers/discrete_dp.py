"""The stationary equilibrium by QuantEcon's ``DiscreteDP``: an independent cross-check of EGM.

This is the method of QuantEcon's lecture "The Aiyagari Model": next-period wealth is chosen
*on the wealth grid*, so the household problem is a finite Markov decision problem with states
``s = (a, e)`` (flattened wealth-major, ``s = i_a · n_income + i_e``, as everywhere in
hank_mfg) and actions ``a' ∈ wealth_grid``:

    V(a, e) = max_{a'}  u(m(a, e) − a') + β Σ_e' Pi[e, e'] V(a', e'),

with cash on hand ``m`` from the household block's budget (``(1 + r) a + w e`` for Aiyagari)
and infeasible choices (consumption ``c <= 0``) excluded, i.e. ``u = −inf``.
It is given to :class:`quantecon.markov.DiscreteDP` in the state-action-pair form
``DiscreteDP(R, Q, β, s_indices, a_indices)`` with a sparse ``Q`` (``n_income`` non-zeros per
pair), which keeps only the feasible pairs and scales to fine grids where the lecture's dense
``Q[n, m, n]`` would not fit in memory. The controlled chain's stationary distribution is solved
exactly (a sparse LU solve of ``μ = Qᵀ_σ μ``, ``Σ μ = 1``; or QuantEcon's
``MarkovChain.stationary_distributions``), and the equilibrium rate by Brent's method on

    K_s(r) = Σ_s μ_r(s) a(s)  =  K_d(r)   (L (α Z / (r + δ))^(1/(1-α)) for Cobb–Douglas).

Nothing here uses the endogenous-grid method or the lottery kernel: with
:func:`hank_mfg.solvers.stationary.stationary_equilibrium` it shares only the economy's
primitives (the household block's grid, income process, budget and utility; the firm's prices
at a rate), the search for a bracket of ``r`` and the
sparse solve for a chain's stationary distribution (which the tests check against QuantEcon's
``MarkovChain``). Because the choice set is discrete,
``K_s(r)`` is a step function of ``r``: Brent's method converges to the step that crosses
``K_d`` and the reported residual ``K_s − K_d`` is of the order of that step (it shrinks with
the grid spacing), not of ``xtol``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
import quantecon as qe
import scipy.optimize
import scipy.sparse

from hank_mfg.core.checks import check_in_range
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.solvers.stationary import (
    _bracket,
    _solve_stationary,
    aggregate_labour,
    prices_at_rate,
    rate_floor,
    stationary_state,
)

__all__ = [
    "DiscreteDPEquilibrium",
    "discrete_dp_equilibrium",
    "household_ddp",
]

METHODS = ("policy_iteration", "value_iteration", "modified_policy_iteration")
DISTRIBUTIONS = ("direct", "markov_chain")


def household_ddp(economy: BlockEconomy, values: Mapping[str, Any]) -> qe.markov.DiscreteDP:
    """The household's problem at constant ``values`` (its inputs: ``r``, ``w`` …) as a
    state-action-pair ``DiscreteDP``.

    States ``s = i_a · n_income + i_e``; action ``j`` is the next wealth ``wealth_grid[j]``.
    Only feasible pairs (``c > 0``) are kept, sorted by state then action,
    ``R[pair] = u(c)`` and ``Q[pair, j · n_income + e'] = Pi[e, e']`` (sparse CSR).

    Raises:
        ValueError: if some state has no feasible choice (borrowing limit below the natural
            one at these prices).
    """
    hh = economy.household
    if economy.income_transition_by_z is not None or hh.hours:
        raise ValueError(
            "a discrete-choice stationary equilibrium needs exogenous hours and an income "
            "process without aggregate risk"
        )
    a = np.asarray(hh.wealth_grid, dtype=np.float64)
    n_a, n_e = hh.n_wealth, hh.n_income
    m = np.asarray(hh.cash_on_hand(jnp.ones((n_a, n_e)), values), dtype=np.float64)
    c = m.reshape(-1, 1) - a[None, :]  # [n_states, n_a]: consumption for each a'
    feasible = c > 0.0
    if not feasible.any(axis=1).all():
        prices = ", ".join(f"{k}={float(values[k]):.4g}" for k in ("r", "w") if k in values)
        raise ValueError(
            f"borrowing_limit {a[0]:g} is below the natural borrowing limit at {prices}: "
            "some households cannot afford any point of the wealth grid"
        )
    s_indices, a_indices = np.nonzero(feasible)  # row-major: sorted by state, then action
    c_pairs = jnp.asarray(c[s_indices, a_indices])
    R = np.asarray(hh.utility(c_pairs, jnp.ones_like(c_pairs), values), dtype=np.float64)
    n_pairs = s_indices.size
    Pi = np.asarray(hh.Pi, dtype=np.float64)
    e_indices = s_indices % n_e
    cols = (a_indices[:, None] * n_e + np.arange(n_e)[None, :]).ravel()
    Q = scipy.sparse.csr_matrix(
        (Pi[e_indices].ravel(), cols, np.arange(0, n_pairs * n_e + 1, n_e)),
        shape=(n_pairs, n_a * n_e),
    )
    return qe.markov.DiscreteDP(R, Q, float(values[hh.discount]), s_indices, a_indices)


def _stationary_of_chain(P: Any, distribution: str) -> np.ndarray:
    """Stationary distribution ``μ = Pᵀ μ``, ``Σ μ = 1``, of a (sparse) transition matrix."""
    if distribution == "markov_chain":
        dists = qe.MarkovChain(P).stationary_distributions
        if dists.shape[0] != 1:
            raise ValueError(
                f"the controlled chain has {dists.shape[0]} recurrent classes: its stationary "
                "distribution is not unique"
            )
        mu = dists[0]
    else:
        P = scipy.sparse.coo_matrix(P)
        positive = P.data > 0
        order = np.argsort(P.row[positive], kind="stable")
        source, target = P.row[positive][order], P.col[positive][order]
        mu = _solve_stationary(P.shape[0], source, target, P.data[positive][order])
    mu = np.clip(np.asarray(mu, dtype=np.float64), 0.0, None)
    return mu / mu.sum()


@dataclass
class DiscreteDPEquilibrium:
    """A stationary equilibrium with next-period wealth on the grid (model units, per period).

    Attributes:
        r, w: net interest rate and wage; K, L, Y: capital, labour, output.
        savings: next wealth ``a'`` ``[n_wealth, n_income]`` (grid points);
            savings_index: their grid indices; consumption: ``c = m − a'``.
        value: ``[n_states]`` optimal value; distribution: ``[n_states]`` stationary ``μ``.
        residual: ``K_s − K_d`` at ``r`` (of the order of the step of ``K_s(r)``, see module).
        iterations: Brent iterations; dp_iterations: DP iterations at the solution.
        seconds: wall time; method: the ``DiscreteDP`` solution method.
        values: every value of the model at the equilibrium (parameters, prices …).
    """

    r: float
    w: float
    K: float
    L: float
    Y: float
    savings: np.ndarray
    savings_index: np.ndarray
    consumption: np.ndarray
    value: np.ndarray
    distribution: np.ndarray
    residual: float
    iterations: int
    dp_iterations: int
    seconds: float
    method: str
    values: dict[str, float]


def discrete_dp_equilibrium(
    economy: BlockEconomy,
    *,
    r_bounds: tuple[float, float] | None = None,
    xtol: float = 1e-10,
    method: str = "policy_iteration",
    distribution: str = "direct",
) -> DiscreteDPEquilibrium:
    """Stationary equilibrium with the savings choice restricted to the wealth grid.

    Args:
        economy: a :class:`~hank_mfg.models.block_economy.BlockEconomy` without aggregate
            risk (its household block and the blocks pricing it are used; its action space
            is not).
        r_bounds: bracket for the net rate within ``(−δ, 1/β − 1)``; default: searched
            downwards from just below ``1/β − 1``.
        xtol: Brent's tolerance on ``r``.
        method: ``DiscreteDP.solve`` method: ``"policy_iteration"`` (exact, default),
            ``"value_iteration"`` or ``"modified_policy_iteration"`` (ε-optimal).
        distribution: ``"direct"`` (sparse LU solve) or ``"markov_chain"`` (QuantEcon's
            ``MarkovChain.stationary_distributions``; dense, small grids only).

    Raises:
        ValueError: for an unknown method, bounds outside ``(−δ, 1/β − 1)``, or a bracket
            without a sign change of ``K_s − K_d``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    start = time.perf_counter()
    hh = economy.household
    L = aggregate_labour(economy)
    r_min = rate_floor(economy, L)
    r_max = 1.0 / economy.parameters[hh.discount] - 1.0
    if r_bounds is not None:
        lo, hi = r_bounds
        check_in_range("r_bounds[0]", lo, r_min, r_max, low_open=True, high_open=True)
        check_in_range("r_bounds[1]", hi, lo, r_max, low_open=True, high_open=True)
    wealth = np.repeat(np.asarray(hh.wealth_grid, dtype=np.float64), hh.n_income)
    cache: dict[float, tuple] = {}
    v_warm: list[Any] = [None]

    def excess(r: float) -> float:
        if r not in cache:
            prices = prices_at_rate(economy, r, L)
            ddp = household_ddp(economy, prices.values)
            res = ddp.solve(method=method, v_init=v_warm[0])
            v_warm[0] = res.v
            mu = _stationary_of_chain(res.mc.P, distribution)
            cache[r] = (prices, float(mu @ wealth), res, mu)
        return cache[r][1] - cache[r][0].K

    if r_bounds is None:
        lo, hi, f_lo, f_hi = _bracket(excess, r_min, r_max)
    else:
        f_lo, f_hi = excess(lo), excess(hi)
    if not (f_lo < 0 < f_hi):
        raise ValueError(
            f"no equilibrium interest rate in r_bounds ({lo:.4g}, {hi:.4g}): excess capital "
            f"{f_lo:.4g} and {f_hi:.4g}; widen the bounds or raise the grid's maximum wealth"
        )
    r, info = scipy.optimize.brentq(
        excess, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, full_output=True
    )
    excess(r)
    prices, K_s, res, mu = cache[r]
    shape = (hh.n_wealth, hh.n_income)
    index = np.asarray(res.sigma, dtype=np.int64).reshape(shape)
    savings = np.asarray(hh.wealth_grid)[index]
    m = np.asarray(hh.cash_on_hand(jnp.ones(shape), prices.values), dtype=np.float64)
    state = stationary_state(economy, K_s, L)
    return DiscreteDPEquilibrium(
        r=float(r),
        w=float(prices.values.get("w", np.nan)),
        K=K_s,
        L=L,
        Y=float(np.asarray(economy.evaluate_prices(state).get("Y", np.nan))),
        savings=savings,
        savings_index=index,
        consumption=m - savings,
        value=np.asarray(res.v, dtype=np.float64),
        distribution=mu,
        residual=K_s - prices.K,
        iterations=int(info.iterations),
        dp_iterations=int(res.num_iter),
        seconds=time.perf_counter() - start,
        method=method,
        values=prices.values,
    )
