"""Stationary distributions and the stationary (Aiyagari) equilibrium.

The stationary distribution under a savings policy solves ``mu = Aᵀ mu`` with ``A`` the model's
lottery kernel, computed exactly by a sparse direct solve (float64). The stationary equilibrium
is the net interest rate at which households' wealth equals the capital the firm demands,

    K_s(r) = Σ_s mu_r(s) a(s)  =  K_d(r)   (the K at which the firm's block gives r;
                                            L (α Z / (r + δ))^(1/(1-α)) for Cobb–Douglas),

found by Brent's method on ``r ∈ (−δ, 1/β − 1)``; the household's other inputs (the wage …)
are the model's blocks evaluated at ``K_d(r)``. Each trial rate starts EGM from the policies
of the solved rates nearest to it (linear in ``r``) and is solved only as precisely as the sign
of ``K_s − K_d`` there needs (see ``LOOSE_EGM_TOL``); the equilibrium rate itself to ``EGM_TOL``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from hank_mfg.core.checks import check_in_range
from hank_mfg.core.kernel import Kernel, LotteryKernel
from hank_mfg.core.rollout import constant_policy
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.household_block import HouseholdBlock, HouseholdPolicy
from hank_mfg.solvers.egm import (
    _stationary_egm,
    consume_everything,
    household_inputs,
    policy_value_stationary,
)
from hank_mfg.solvers.solution import Solution

Array = jax.Array

#: EGM's stopping rule in stationary solves: sup-norm change of savings ``a'`` (units of the
#: good), and its iteration cap.
EGM_TOL = 1e-12
EGM_MAX_ITER = 20_000
#: While searching for the equilibrium rate, households at a new rate are first solved to a
#: looser stopping rule (``LOOSE_EGM_TOL``, or tighter next to rates already close to
#: clearing the market) and refined, from where they stopped, until the error in ``K_s`` that
#: the rule may cause — at most about ``500 · K_s · tol`` in the calibrations tried, bounded
#: here with a margin of 100 by ``EGM_ERROR_SCALE · K_s · tol`` — is below ``|K_s − K_d|``: every
#: sign Brent's method sees is right, far-off rates cost fewer iterations, and the rate it
#: returns is always solved to ``EGM_TOL``.
LOOSE_EGM_TOL = 1e-6
EGM_ERROR_SCALE = 5e4
#: The equilibrium warns when more than this share of households holds the top wealth point.
#: QuantEcon's lecture grid (its model: wealth capped at 20) puts 1.5% there; a grid whose
#: maximum is too small for the economy, e.g. the Aiyagari household on [0, 100] without
#: depreciation, several percent, with ``r`` off by several basis points.
TOP_MASS_WARNING = 0.02

__all__ = [
    "StationaryEquilibrium",
    "aggregate_labour",
    "capital_supply",
    "euler_errors",
    "direct_stationary",
    "forward_iteration",
    "loose_tolerance",
    "refined_tolerance",
    "solve_stationary",
    "stationary_distribution",
    "stationary_equilibrium",
    "stationary_solution",
    "capital_demand",
    "check_natural_limit",
    "prices_at_rate",
    "rate_floor",
    "stationary_kernel",
    "stationary_policy",
    "stationary_state",
]


#: Forward iteration checks convergence once every this many updates (as the Sequence-Space
#: Jacobian toolkit does): the check costs about as much as an update.
CHECK_EVERY = 10


def loose_tolerance(nearest: float | None, floor: float, loosest: float | None = None) -> float:
    """EGM tolerance of the first solve at a new trial of a root search (see
    :data:`LOOSE_EGM_TOL`): ``loosest`` (default ``LOOSE_EGM_TOL``), tighter next to trials
    already close to the target; ``nearest`` is the smallest distance to the target of the
    trials solved so far, per unit of tolerance (``|f| / (EGM_ERROR_SCALE · size)``; ``None``
    before any), ``floor`` the precise solves' tolerance."""
    loosest = LOOSE_EGM_TOL if loosest is None else loosest
    if nearest is None:
        return loosest
    return min(loosest, max(floor, 0.01 * nearest))


def refined_tolerance(distance: float, solved_to: float, floor: float) -> float | None:
    """The tolerance to solve a trial again to, from where it stopped, or ``None`` when
    ``solved_to`` already bounds the error below the trial's ``distance`` to the target (per
    unit of tolerance, as for :func:`loose_tolerance`; at least ``floor``)."""
    needed = max(floor, distance)
    return None if solved_to <= needed else max(floor, 0.1 * needed)


@partial(jax.jit, static_argnames=("max_iter", "check_every"))
def forward_iteration(
    kernel: Kernel,
    policy: Array,
    mu0: Array,
    tol: float,
    max_iter: int,
    check_every: int = CHECK_EVERY,
) -> tuple[Array, Array, Array]:
    """Iterate ``mu ← Aᵀ mu`` from ``mu0`` under a fixed ``policy``.

    Updates run in blocks of ``check_every``; after each block the sup-norm change of its last
    update is compared with ``tol``. Stops when that change is ``<= tol`` or ``max_iter``
    updates (rounded up to whole blocks) are done; ``tol < 0`` runs exactly that many. The
    kernel's :meth:`~hank_mfg.core.kernel.Kernel.forward_operator` prepares what the policy
    fixes once (a lottery kernel: the policy's lottery).

    Returns:
        ``(mu, updates, change)``: the last distribution ``[n_states]``, the number of updates
        done, and the sup-norm change of the last one.
    """
    if check_every < 1 or max_iter < 1:
        raise ValueError(f"check_every and max_iter must be >= 1, got {check_every} and {max_iter}")
    update = kernel.forward_operator(policy)

    def cond(state: tuple[Array, Array, Array]) -> Array:
        _, done, change = state
        return (change > tol) & (done < max_iter)

    def body(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        mu, done, _ = state
        before = jax.lax.fori_loop(0, check_every - 1, lambda _, m: update(m), mu)
        after = update(before)
        return after, done + check_every, jnp.max(jnp.abs(after - before))

    start = (mu0, jnp.asarray(0), jnp.asarray(jnp.inf, dtype=mu0.dtype))
    return jax.lax.while_loop(cond, body, start)


@jax.jit
def _flat_transitions(kernel: Kernel, policy: Array) -> tuple[Array, Array]:
    return kernel.transitions(policy)


class _NotUnique(ValueError):
    """The chain has several recurrent classes."""


def _recurrent_classes(n: int, source: np.ndarray, target: np.ndarray) -> int:
    """Number of closed communicating classes of a chain on ``n`` states with the transitions
    ``source → target`` (those of positive probability)."""
    counts = np.bincount(source, minlength=n)
    graph = scipy.sparse.csr_matrix(
        (np.ones(target.size, dtype=np.int8), target, np.concatenate([[0], np.cumsum(counts)])),
        shape=(n, n),
    )
    n_classes, label = scipy.sparse.csgraph.connected_components(
        graph, directed=True, connection="strong"
    )
    leaving = label[source] != label[target]
    is_open = np.zeros(n_classes, dtype=bool)
    is_open[label[source[leaving]]] = True
    return int(n_classes - is_open.sum())


def direct_stationary(
    idx: np.ndarray, weights: np.ndarray, reuse: dict[str, Any] | None = None
) -> np.ndarray:
    """Exact ``mu = Aᵀ mu``, ``Σ mu = 1`` from flat transitions ``[n_states, k]`` (index, prob).

    ``reuse`` (a dict the caller keeps across calls, e.g. along a root-finder's trials) holds
    the last sparse LU factorisation: the next chain is solved by iterative refinement with it
    (``mu ← mu + LU⁻¹ (b − M mu)``, to a residual at rounding level), refactorising only when
    the chains are too far apart for it to converge quickly.
    """
    n, k = idx.shape
    positive = weights > 0
    source = np.repeat(np.arange(n), positive.sum(axis=1))
    return _solve_stationary(n, source, idx[positive], weights[positive], reuse)


#: Iterative-refinement steps tried with a previous factorisation before refactorising.
_REFINE_STEPS = 8


def _solve_stationary(
    n: int,
    source: np.ndarray,
    target: np.ndarray,
    prob: np.ndarray,
    reuse: dict[str, Any] | None = None,
) -> np.ndarray:
    """Exact stationary distribution of the chain on ``n`` states with transitions
    ``source → target`` of probability ``prob > 0`` (``source`` sorted).

    Sparse LU of ``I − Aᵀ`` with the last balance equation (redundant: the equations sum to
    zero) replaced by ``Σ mu = 1``. The matrix is column diagonally dominant, so it is
    factorised without row pivoting (``diag_pivot_thresh=0``), which keeps the dense
    normalisation row from filling in the factors; and in the states' own order (households
    move to nearby wealth, so the factors stay sparse; fill-reducing orderings are thrown off
    by the dense row). With ``reuse`` see :func:`direct_stationary`.

    Raises:
        ValueError: if the chain has several recurrent classes.
    """
    n_closed = _recurrent_classes(n, source, target)
    if n_closed != 1:
        raise _NotUnique(
            f"the chain has {n_closed} recurrent classes: its stationary distribution is not "
            "unique; use method='iterate' from an initial distribution mu0"
        )
    # (I − Aᵀ)[s', s] = 1{s = s'} − A[s, s'], row n − 1 replaced by ones (duplicates add up)
    keep = target != n - 1
    rows = np.concatenate([target[keep], np.arange(n - 1), np.full(n, n - 1)])
    cols = np.concatenate([source[keep], np.arange(n - 1), np.arange(n)])
    vals = np.concatenate([-prob[keep], np.ones(n - 1), np.ones(n)])
    M = scipy.sparse.csc_matrix((vals, (rows, cols)), shape=(n, n))
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    previous = None if reuse is None else reuse.get("lu")
    if previous is not None and previous.shape == (n, n):
        mu = previous.solve(rhs)
        size = np.inf
        for _ in range(_REFINE_STEPS):
            residual = rhs - M @ mu
            last, size = size, np.max(np.abs(residual))
            # at rounding level (mu sums to 1): as close as the direct solve comes
            if size <= 16 * np.finfo(float).eps:
                return mu
            if size > 0.1 * last:  # converging too slowly: the chains are too far apart
                break
            mu = mu + previous.solve(residual)
    lu = scipy.sparse.linalg.splu(M, permc_spec="NATURAL", diag_pivot_thresh=0.0)
    if reuse is not None:
        reuse["lu"] = lu
    return lu.solve(rhs)


def stationary_distribution(
    kernel: Any,
    policy: Array,
    *,
    method: str = "iterate",
    mu0: Any = None,
    tol: float = 1e-14,
    max_iter: int = 1_000_000,
) -> np.ndarray:
    """The distribution ``mu = Aᵀ mu`` (mass 1, >= 0) under ``policy``, ``[n_states]``.

    Args:
        kernel: a generic or lottery kernel; policy: its policy table.
        method: ``"iterate"``: forward iteration ``mu ← Aᵀ mu`` from ``mu0`` (default
            uniform) until the sup-norm change of one update is below ``tol``, checked
            every :data:`CHECK_EVERY` updates (:func:`forward_iteration`; fast with a warm
            start);
            ``"direct"``: a sparse LU solve of ``(I − Aᵀ) mu = 0`` with one balance equation
            replaced by ``Σ mu = 1`` (exact; needs a single recurrent class).

    Raises:
        ValueError: for ``"direct"``, if the chain has several recurrent classes (the
            stationary distribution is not unique; ``"iterate"`` picks the one ``mu0`` leads to).
    """
    if method == "iterate":
        n = kernel.n_states
        start = jnp.full(n, 1.0 / n) if mu0 is None else jnp.asarray(mu0)
        mu, _, change = forward_iteration(kernel, policy, start, tol, max_iter)
        if not float(change) <= tol:
            raise RuntimeError(
                f"the distribution did not converge in {max_iter} iterations (change {change:.3g})"
            )
        mu = np.asarray(mu, dtype=np.float64)
    elif method == "direct":
        idx, w = _flat_transitions(kernel, policy)
        mu = direct_stationary(np.asarray(idx), np.asarray(w, dtype=np.float64))
    else:
        raise ValueError(f"method must be 'iterate' or 'direct', got {method!r}")
    mu = np.clip(mu, 0.0, None)
    return mu / mu.sum()


def aggregate_labour(economy: BlockEconomy) -> float:
    """Aggregate effective labour ``L = Σ μ e`` in a stationary state (or the fixed labour
    the parameters give)."""
    if economy.labour in economy.parameters:
        return float(economy.parameters[economy.labour])
    from hank_mfg.calibration.income import stationary_distribution as markov_stationary

    if economy.income_transition_by_z is not None:
        raise ValueError("a stationary equilibrium needs an income process without aggregate risk")
    block = economy.household
    return float(markov_stationary(np.asarray(block.Pi)) @ block.productivity)


def stationary_state(economy: BlockEconomy, K: Any, L: Any, Z: Any = 1.0) -> dict[str, Any]:
    """The aggregates the game reads from μ and z — capital ``K``, labour ``L`` (unless the
    parameters fix it) and the shock's level ``Z`` — by their names in the economy."""
    state = {economy.wealth: K, economy.shock: Z}
    if economy.labour not in economy.parameters:
        state[economy.labour] = L
    return state


@partial(jax.jit, static_argnums=0)
def _rate(economy: BlockEconomy, log_capital: Array, labour: Array, Z: Array) -> Array:
    """The rate the blocks pricing the household give at capital ``exp(log_capital)``."""
    state = stationary_state(economy, jnp.exp(log_capital), labour, Z)
    return economy.evaluate_prices(state)[economy.household.asset_return]


def capital_demand(economy: BlockEconomy, r: float, L: float, Z: float = 1.0) -> float:
    """Capital at which the blocks pricing the household give the net rate ``r`` (the
    firm's demand at ``r`` and TFP ``Z``): the root in ``log K`` of the decreasing ``r(K)``,
    by Brent's method to rounding."""

    def excess_rate(log_k: float) -> float:
        return float(_rate(economy, jnp.asarray(log_k), jnp.asarray(L), jnp.asarray(Z))) - r

    lo = hi = float(np.log(L))
    while excess_rate(hi) > 0:
        hi += 2.0
        if hi > 200:
            raise ValueError(f"{economy.name}: no capital stock gives the rate r={r:.6g}")
    while excess_rate(lo) < 0:
        lo -= 2.0
        if lo < -200:
            raise ValueError(f"{economy.name}: no capital stock gives the rate r={r:.6g}")
    if lo == hi:
        return float(np.exp(lo))
    return float(np.exp(scipy.optimize.brentq(excess_rate, lo, hi, xtol=1e-15, rtol=1e-15)))


def rate_floor(economy: BlockEconomy, L: float) -> float:
    """The net rate as capital grows without bound (``−δ`` for a Cobb–Douglas firm): the
    lowest rate a stationary equilibrium may have."""
    return float(_rate(economy, jnp.asarray(np.log(L) + 60.0), jnp.asarray(L), jnp.asarray(1.0)))


@dataclass
class _Prices:
    """What the blocks make of the rate ``r`` at the stationary state: the capital demanded
    and every value the household reads (its wage …)."""

    r: float
    K: float
    values: dict[str, float]


def prices_at_rate(economy: BlockEconomy, r: float, L: float) -> _Prices:
    """The stationary state's capital demand and values at the net rate ``r``."""
    K = capital_demand(economy, r, L)
    state = stationary_state(economy, K, L)
    values = {k: float(np.asarray(v)) for k, v in economy.evaluate_prices(state).items()}
    values[economy.household.asset_return] = r  # exactly the rate tried
    return _Prices(r=r, K=K, values=values)


def stationary_kernel(economy: BlockEconomy, values: Any) -> LotteryKernel:
    """The game's lottery kernel at constant ``values`` (the household's inputs), for its
    continuous savings share (:attr:`StationaryEquilibrium.share`)."""
    block = economy.household
    m = block.cash_on_hand(jnp.ones((block.n_wealth, block.n_income)), values)
    low, high = economy.bounds_given_cash(m)
    return LotteryKernel(
        wealth_grid=jnp.asarray(block.wealth_grid, dtype=low.dtype),
        low=low,
        high=high,
        Pi=jnp.asarray(block.Pi, dtype=low.dtype),
    )


def check_natural_limit(block: HouseholdBlock, values: Any) -> None:
    """Raise ``ValueError`` if some state cannot afford the borrowing limit at these values:
    the borrowing limit lies below the natural one (repaying it would take all income
    forever)."""
    m = np.asarray(block.cash_on_hand(jnp.ones((block.n_wealth, block.n_income)), values))
    a_min = float(block.wealth_grid[0])
    if np.any(m <= a_min):
        prices = ", ".join(
            f"{k}={float(values[k]):.4g}"
            for k in block.inputs
            if k in values and k != block.discount
        )
        raise ValueError(
            f"borrowing_limit {a_min:g} is below the natural borrowing limit at {prices}: "
            "some households could not repay it; raise it"
        )


@partial(jax.jit, static_argnames=("block", "max_iter", "fixed"))
def stationary_policy(
    block: HouseholdBlock,
    values: dict[str, Array],
    tol: Array,
    start: HouseholdPolicy,
    max_iter: int,
    fixed: tuple[tuple[str, float], ...] = (),
) -> tuple[HouseholdPolicy, Array, Array, Array, Array, Array]:
    """The household's stationary EGM policy from ``start`` at constant ``values`` (traced;
    ``fixed`` compiled in), the EGM iterations and last change, its savings share on the
    block's kernel and that kernel's flat transitions, in one call."""
    policy, iterations, change = _stationary_egm(
        block, values, tol, start, max_iter=max_iter, fixed=fixed
    )
    share = block.savings_share(policy.savings)
    idx, weights = _flat_transitions(block.kernel(), share)
    return policy, iterations, change, share, idx, weights


@dataclass
class _Supply:
    """Households' stationary response at one rate (internal record of the rate search)."""

    r: float
    w: float
    K: float
    values: dict[str, float]
    policy: HouseholdPolicy
    share: Array
    mu: np.ndarray
    consumption: np.ndarray
    tol: float
    iterations: int
    change: float


def _start(block: HouseholdBlock, values: dict[str, Any], consumption0: Any) -> HouseholdPolicy:
    """An EGM start: consume ``consumption0`` (default: all cash above the borrowing limit)."""
    if consumption0 is None:
        return consume_everything(block, values)
    n = jnp.ones((block.n_wealth, block.n_income))
    c = jnp.asarray(consumption0, dtype=jnp.result_type(float))
    m = block.cash_on_hand(n, values)
    R = 1.0 + values[block.asset_return]
    return HouseholdPolicy(m - c, c, n, R * block.marginal_utility(c, n, values))


def _supply(block: HouseholdBlock, values: dict[str, float], warm: Any, tol: float) -> _Supply:
    c0, mu0 = (None, None) if warm is None else warm
    traced, fixed = household_inputs(block, values)
    start = _start(block, {**traced, **dict(fixed)}, c0)
    policy, iterations, change, share, idx, weights = stationary_policy(
        block, traced, jnp.asarray(tol), start, max_iter=EGM_MAX_ITER, fixed=fixed
    )
    idx, weights = np.asarray(idx), np.asarray(weights, dtype=np.float64)
    try:
        mu = direct_stationary(idx, weights)
    except _NotUnique:  # several recurrent classes: the one the warm start leads to
        mu = stationary_distribution(block.kernel(), share, mu0=mu0)
    mu = np.clip(mu, 0.0, None)
    mu = mu / mu.sum()
    K = float(mu.reshape(block.n_wealth, block.n_income).sum(axis=1) @ block.wealth_grid)
    return _Supply(
        r=float(values[block.asset_return]),
        w=float(values.get("w", np.nan)),
        K=K,
        values=values,
        policy=policy,
        share=share,
        mu=mu,
        consumption=np.asarray(policy.consumption),
        tol=tol,
        iterations=int(iterations),
        change=float(change),
    )


def capital_supply(
    block: HouseholdBlock, values: Any, warm: tuple[Any, Any] | None = None
) -> tuple[float, HouseholdPolicy, np.ndarray, dict[str, Any]]:
    """Households' stationary wealth at constant ``values`` (the household's inputs: ``r``,
    ``w`` …): ``K_s``, the policy, ``mu``, info.

    The policy is EGM's fixed point (savings change below 1e-12); ``mu`` is the exact
    stationary distribution (sparse LU; forward iteration from ``mu0`` if it is not unique).
    ``warm = (consumption, mu)`` warm-starts EGM (and that iteration), e.g. the solution at a
    nearby rate.
    """
    pt = _supply(block, dict(values), warm, EGM_TOL)
    info = {"egm_iterations": pt.iterations, "egm_change": pt.change}
    return pt.K, pt.policy, pt.mu, info


@dataclass
class StationaryEquilibrium:
    """A stationary equilibrium on the model's grid (model units, per period).

    Attributes:
        r, w: net interest rate and wage; K, L, Y: capital, labour, output.
        savings, consumption: policies ``[n_wealth, n_income]``; share: ``[n_states]``.
        distribution: ``[n_states]``; value: ``[n_states]`` (``V = u(c) + β A V``).
        marginal_value: ``(1 + r) u'(c)``, ``[n_states]``.
        residual: ``K_s − K_d`` at ``r``; iterations: Brent iterations; seconds: wall time.
        egm_iterations: EGM iterations at the solution; delta: depreciation rate.
        values: every value of the model at the equilibrium (parameters, prices …).
    """

    r: float
    w: float
    K: float
    L: float
    Y: float
    savings: np.ndarray
    consumption: np.ndarray
    share: np.ndarray
    distribution: np.ndarray
    value: np.ndarray
    marginal_value: np.ndarray
    residual: float
    iterations: int
    seconds: float
    egm_iterations: int
    delta: float
    values: dict[str, float]

    @property
    def saving_rate(self) -> float:
        """Saving rate ``δ K / Y`` (gross investment over output in a steady state)."""
        return self.delta * self.K / self.Y


def stationary_equilibrium(
    economy: BlockEconomy,
    *,
    r_bounds: tuple[float, float] | None = None,
    xtol: float = 1e-13,
    with_value: bool = True,
) -> StationaryEquilibrium:
    """Solve the stationary equilibrium of an economy without aggregate risk.

    The net rate ``r`` at which households' wealth ``K_s(r) = Σ μ_r a`` equals the capital
    ``K_d(r)`` the blocks pricing the household demand at ``r`` (TFP 1); the household's
    other inputs (the wage …) are the blocks' values at ``K_d(r)``.

    Args:
        economy: a :class:`~hank_mfg.models.block_economy.BlockEconomy` with exogenous hours
            and an income process without aggregate risk (Aiyagari-type).
        r_bounds: bracket for the net rate within ``(r_floor, 1/β − 1)`` (``r_floor = −δ``
            for a Cobb–Douglas firm); default: searched downwards from just below ``1/β − 1``.
        xtol: Brent's tolerance on ``r``.
        with_value: also compute the value function (for terminal values and evaluation).

    Only rates at which every household can repay the borrowing limit are searched (the
    borrowing limit above the natural one, see :func:`check_natural_limit`).

    Raises:
        ValueError: if the bracket does not contain a root (e.g. a grid too small), or the
            market clears only at rates where the borrowing limit lies below the natural one.

    Warns:
        RuntimeWarning: more than ``TOP_MASS_WARNING`` of households hold the top wealth point.
    """
    start = time.perf_counter()
    hh = economy.household
    L = aggregate_labour(economy)
    r_min = rate_floor(economy, L)
    r_max = 1.0 / economy.parameters[hh.discount] - 1.0  # households' wealth diverges near it
    if r_bounds is not None:
        lo, hi = r_bounds
        check_in_range("r_bounds[0]", lo, r_min, r_max, low_open=True, high_open=True)
        check_in_range("r_bounds[1]", hi, lo, r_max, low_open=True, high_open=True)
    cache: dict[float, _Supply] = {}
    prices: dict[float, _Prices] = {}

    def price(r: float) -> _Prices:
        if r not in prices:
            prices[r] = prices_at_rate(economy, r, L)
        return prices[r]

    def solve(r: float, tol: float, warm: Any) -> _Supply:
        values = price(r).values
        check_natural_limit(hh, values)  # a rate beyond the natural limit has no solution
        cache[r] = _supply(hh, values, warm, tol)
        return cache[r]

    def excess(r: float, *, tol: float | None = None) -> float:
        """``K_s − K_d`` at ``r``, households solved only as precisely as its sign needs."""
        pt = cache.get(r)
        K_d = price(r).K
        if pt is None:
            # first solve as precisely as the closest rates solved so far needed
            if tol is None:
                scale = EGM_ERROR_SCALE * K_d
                near = min((abs(p.K - price(x).K) / scale for x, p in cache.items()), default=None)
                guess = loose_tolerance(near, EGM_TOL)
            else:
                guess = tol
            pt = solve(r, guess, _warm_start(cache, r))
        while True:
            f = pt.K - K_d
            distance = abs(f) / (EGM_ERROR_SCALE * max(abs(pt.K), K_d)) if tol is None else tol
            finer = refined_tolerance(distance, pt.tol, EGM_TOL)
            if finer is None:
                return f
            pt = solve(r, finer, (pt.consumption, pt.mu))

    def within(r: float) -> bool:
        """Whether every household can afford the borrowing limit at ``r``."""
        try:
            check_natural_limit(hh, price(r).values)
        except ValueError:
            return False
        return True

    # search only rates at which every household can repay the borrowing limit
    a_min = float(hh.wealth_grid[0])
    r_top = r_max if r_bounds is None else hi
    limited = not within(r_top)
    if limited:
        r_low = r_min + 1e-6 if r_bounds is None else lo
        if not within(r_low):
            check_natural_limit(hh, price(r_low).values)  # raises, naming both
        r_top = _natural_limit_rate(within, r_low, r_top)
    if r_bounds is None:
        lo, hi, f_lo, f_hi = _bracket(excess, r_min, r_top)
    else:
        hi = r_top
        f_lo, f_hi = excess(lo), excess(hi)
    if limited and f_hi <= 0:
        raise ValueError(
            f"no equilibrium interest rate at which borrowing_limit {a_min:g} lies "
            f"above the natural borrowing limit: excess capital is still {f_hi:.4g} at "
            f"r={hi:.6g}, and above r={r_top:.6g} some households could not repay "
            f"borrowing_limit {a_min:g} (their consumption would be 0); raise the "
            "borrowing limit"
        )
    if not (f_lo < 0 < f_hi):
        raise ValueError(
            f"no equilibrium interest rate in r_bounds ({lo:.4g}, {hi:.4g}): excess capital "
            f"{f_lo:.4g} and {f_hi:.4g}; widen the bounds or raise the grid's maximum wealth"
        )
    r, res = scipy.optimize.brentq(
        excess, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, full_output=True
    )
    if not _root_is_consistent(cache, excess, r, xtol):  # a loose solve misled Brent: redo
        cache.clear()
        r, res = scipy.optimize.brentq(
            partial(excess, tol=EGM_TOL),
            lo,
            hi,
            xtol=xtol,
            rtol=4 * np.finfo(float).eps,
            full_output=True,
        )
        excess(r, tol=EGM_TOL)
    pt = cache[r]
    K_s, policy, values = pt.K, pt.policy, pt.values
    check_natural_limit(hh, values)
    K_d = price(r).K
    _warn_if_wealth_piles_at_the_top(economy, pt.mu, r)
    value = (
        np.asarray(policy_value_stationary(hh, values, policy))
        if with_value
        else np.full(hh.n_wealth * hh.n_income, np.nan)
    )
    cash = hh.cash_on_hand(jnp.ones_like(policy.savings), values)
    # output at the capital households hold
    Y = float(
        np.asarray(economy.evaluate_prices(stationary_state(economy, K_s, L)).get("Y", np.nan))
    )
    eq = StationaryEquilibrium(
        r=float(r),
        w=pt.w,
        K=K_s,
        L=L,
        Y=Y,
        savings=np.asarray(policy.savings),
        consumption=pt.consumption,
        share=np.asarray(economy.share_given_cash(cash, policy.savings)),  # the game's action
        distribution=pt.mu,
        value=value,
        marginal_value=np.asarray(policy.marginal_value).ravel(),
        residual=K_s - K_d,
        iterations=int(res.iterations),
        seconds=time.perf_counter() - start,
        egm_iterations=pt.iterations,
        delta=float(economy.parameters.get("delta", np.nan)),
        values=values,
    )
    return eq


def _natural_limit_rate(within: Any, inside: float, outside: float) -> float:
    """The rate next to the natural-limit boundary between ``inside`` (where the borrowing
    limit holds) and ``outside`` (where it does not), on the inside; by bisection."""
    while abs(outside - inside) > 1e-12 * max(1.0, abs(inside)):
        middle = 0.5 * (inside + outside)
        if within(middle):
            inside = middle
        else:
            outside = middle
    return inside


def _warn_if_wealth_piles_at_the_top(economy: BlockEconomy, mu: np.ndarray, r: float) -> None:
    """Warn when the equilibrium puts more than ``TOP_MASS_WARNING`` of households on the
    grid's top wealth point: the grid then caps their saving and moves ``r``."""
    hh = economy.household
    top = float(mu.reshape(hh.n_wealth, hh.n_income)[-1].sum())
    if top > TOP_MASS_WARNING:
        warnings.warn(
            f"{economy.name}: at the equilibrium r={r:.6g}, {top:.3g} of households hold the "
            f"top wealth point of the grid ({float(hh.wealth_grid[-1]):g}); the grid caps "
            "their saving and moves the equilibrium: raise the grid's maximum wealth",
            RuntimeWarning,
            stacklevel=3,
        )


def _warm_start(cache: dict[float, _Supply], r: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Warm start at ``r`` from solved rates: consumption interpolated in ``r`` through the
    three nearest (a quadratic; its error is of third order in their distance, so that Brent's
    late, close evaluations start almost at their fixed point), and the nearest rate's
    distribution."""
    if not cache:
        return None
    near: list[float] = []
    for x in sorted(cache, key=lambda x: abs(x - r)):  # distinct nodes keep weights moderate
        if len(near) < 3 and all(abs(x - y) > 1e-10 for y in near):
            near.append(x)
    first = cache[near[0]]
    if len(near) == 1:
        return first.consumption, first.mu
    c = 0.0  # Lagrange form
    for i, xi in enumerate(near):
        weight = 1.0
        for j, xj in enumerate(near):
            if j != i:
                weight *= (r - xj) / (xi - xj)
        c = c + weight * cache[xi].consumption
    lowest = np.min([cache[x].consumption for x in near], axis=0)
    # keep consumption positive where a far extrapolation would not
    return np.maximum(c, 0.5 * lowest), first.mu


def _root_is_consistent(cache: dict[float, _Supply], excess: Any, r: float, xtol: float) -> bool:
    """Whether ``|K_s − K_d|`` at Brent's root is as small as Brent's tolerance on ``r`` allows
    (the slope of the excess from a solved rate next to it, plus the noise of a precise
    solve); else some loosely solved rate had the wrong sign and misled the search."""
    f_r = excess(r, tol=EGM_TOL)
    others = [x for x in cache if abs(x - r) >= 1e-7] or [x for x in cache if x != r]
    if not others:
        return True
    near = min(others, key=lambda x: abs(x - r))
    slope = abs(excess(near) - f_r) / abs(near - r)
    allowed = 10.0 * slope * (2.0 * xtol + 4.0 * np.finfo(float).eps * abs(r))
    return abs(f_r) <= allowed + 1e-9 * cache[r].K


def _bracket(excess: Any, r_min: float, r_max: float) -> tuple[float, float, float, float]:
    """A bracket ``lo < r* < hi`` of the excess-capital function, found near ``r_max`` first.

    Evaluations close to ``r_max`` are the expensive ones (households' patience makes EGM and
    the distribution converge slowly), so the upper end approaches it only as far as needed.
    """
    gap = 0.1 * (r_max - r_min)
    hi = r_max - min(1e-3, gap)
    f_hi = excess(hi)
    while f_hi <= 0 and r_max - hi > 1e-7:
        hi = r_max - 0.25 * (r_max - hi)
        f_hi = excess(hi)
    step = min(5e-3, gap)
    lo = hi - step
    f_lo = excess(lo)
    while f_lo >= 0 and lo > r_min + 1e-9:
        hi, f_hi = lo, f_lo
        step *= 2.0
        lo = max(hi - step, r_min + 1e-6)
        f_lo = excess(lo)
    return lo, hi, f_lo, f_hi


def euler_errors(economy: BlockEconomy, eq: StationaryEquilibrium) -> dict[str, float]:
    """log10 Euler-equation errors of the stationary policy, off the grid's constraint.

    Error at ``(a, e)``: ``|1 − u'^{-1}(β (1 + r) E[u'(c(a', e'))]) / c(a, e)|`` with ``c(a', ·)``
    linearly interpolated at the chosen ``a'``; constrained points (``a' = a_min``) excluded.
    Returns the mass-weighted mean and the maximum over unconstrained points. Needs CRRA
    preferences (for others: :func:`hank_mfg.solvers.steady_state.euler_errors`).
    """
    hh = economy.household
    if hh.preferences.family != "crra":
        raise ValueError(
            f"euler_errors of a stationary equilibrium needs CRRA preferences, not "
            f"{hh.preferences.utility.__name__}; use hank_mfg.solvers.steady_state.euler_errors"
        )
    a = hh.wealth_grid
    c, s = eq.consumption, eq.savings
    eis, beta, r = eq.values["eis"], eq.values[hh.discount], eq.r
    c_next = np.stack(
        [np.interp(s[:, e], a, c[:, e2]) for e in range(hh.n_income) for e2 in range(hh.n_income)]
    ).reshape(hh.n_income, hh.n_income, -1)
    # expected marginal utility next period for each (a, e)
    emu = np.einsum("ef,efa->ae", np.asarray(hh.Pi), c_next ** (-1.0 / eis))
    c_implied = (beta * (1 + r) * emu) ** (-eis)
    err = np.abs(1.0 - c_implied / c)
    free = s > a[0] + 1e-10 * max(1.0, abs(a[0]))
    weights = eq.distribution.reshape(c.shape)[free]
    log_err = np.log10(np.maximum(err[free], 1e-17))
    return {
        "mean_log10": float((weights * log_err).sum() / max(weights.sum(), 1e-300)),
        "max_log10": float(log_err.max()) if log_err.size else float("-inf"),
    }


def stationary_solution(
    economy: BlockEconomy,
    eq: StationaryEquilibrium | None = None,
    *,
    horizon: int | None = None,
    n_samples: int = 1,
) -> Solution:
    """The stationary equilibrium as a :class:`Solution`, evaluated from its own distribution.

    The evaluation game starts at the stationary distribution with the stationary value (and
    its marginal) as terminal value, so that a finite horizon stands in for the infinite one;
    its exploitability is that of the classical policy, by the same yardstick as any solver.
    """
    from hank_mfg.core.evaluation import evaluate

    eq = stationary_equilibrium(economy) if eq is None else eq
    game = economy.with_settings(
        horizon=economy.horizon if horizon is None else horizon,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
        initial_distributions=eq.distribution,
    )
    share = jnp.asarray(eq.share)
    start = time.perf_counter()
    evaluation = evaluate(game, constant_policy, share, jax.random.PRNGKey(0), n_samples)
    return Solution(
        game=game,
        solver="egm",
        policy=constant_policy,
        params=share,
        settings={"method": "stationary equilibrium, Brent on r, EGM households"},
        evaluation=evaluation,
        results={
            "r": eq.r,
            "w": eq.w,
            "K": eq.K,
            "L": eq.L,
            "Y": eq.Y,
            "residual": eq.residual,
            "iterations": eq.iterations,
            "savings": eq.savings,
            "consumption": eq.consumption,
            "distribution": eq.distribution,
            "value": eq.value,
            "evaluation_seconds": time.perf_counter() - start,
        },
        seconds=eq.seconds,
    )


def solve_stationary(economy: BlockEconomy, **kwargs: Any) -> Solution:
    """Stationary equilibrium and its evaluation in one call (see :func:`stationary_solution`)."""
    return stationary_solution(economy, stationary_equilibrium(economy), **kwargs)
