"""Stationary distributions and the stationary (Aiyagari) equilibrium.

The stationary distribution under a savings policy solves ``mu = Aᵀ mu`` with ``A`` the model's
lottery kernel, computed exactly by a sparse direct solve (float64). The stationary equilibrium
is the net interest rate at which households' wealth equals the capital the firm demands,

    K_s(r) = Σ_s mu_r(s) a(s)  =  K_d(r) = L (α Z / (r + δ))^(1/(1-α)),

found by Brent's method on ``r ∈ (−δ, 1/β − 1)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg

from hank_mfg.core.checks import check_in_range
from hank_mfg.core.kernel import GenericKernel
from hank_mfg.core.rollout import constant_policy
from hank_mfg.models.household import Household, HouseholdEconomy
from hank_mfg.solvers.egm import (
    EGMPolicy,
    policy_value_stationary,
    savings_share,
    stationary_egm,
    stationary_kernel,
)
from hank_mfg.solvers.solution import Solution

Array = jax.Array

__all__ = [
    "StationaryEquilibrium",
    "aggregate_labour",
    "capital_supply",
    "euler_errors",
    "solve_stationary",
    "stationary_distribution",
    "stationary_equilibrium",
    "stationary_solution",
]


@partial(jax.jit, static_argnames=("max_iter",))
def _iterate_distribution(
    kernel: Any, policy: Array, mu0: Array, tol: float, max_iter: int
) -> tuple[Array, Array, Array]:
    def cond(state):
        _, it, change = state
        return (change > tol) & (it < max_iter)

    def body(state):
        mu, it, _ = state
        new = kernel.forward(mu, policy)
        return new, it + 1, jnp.max(jnp.abs(new - mu))

    return jax.lax.while_loop(cond, body, (mu0, jnp.asarray(0), jnp.asarray(jnp.inf)))


@jax.jit
def _flat_transitions(kernel: Any, policy: Array) -> tuple[Array, Array]:
    if isinstance(kernel, GenericKernel):
        return kernel._flat(policy)
    if kernel.shares is None:
        generic = kernel.to_generic(policy)
        return generic._flat(jnp.zeros(generic.n_states, dtype=jnp.int32))
    return kernel.to_generic()._flat(policy)


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
            uniform) until the sup-norm change is below ``tol`` (fast with a warm start);
            ``"direct"``: a sparse LU solve with one equation replaced by ``Σ mu = 1``.
    """
    if method == "iterate":
        n = kernel.n_states
        start = jnp.full(n, 1.0 / n) if mu0 is None else jnp.asarray(mu0)
        mu, _, change = _iterate_distribution(kernel, policy, start, tol, max_iter)
        if not float(change) <= tol:
            raise RuntimeError(
                f"the distribution did not converge in {max_iter} iterations (change {change:.3g})"
            )
        mu = np.asarray(mu, dtype=np.float64)
    elif method == "direct":
        idx, w = _flat_transitions(kernel, policy)
        idx, w = np.asarray(idx), np.asarray(w, dtype=np.float64)
        n = idx.shape[0]
        # (Aᵀ − I) mu = 0, with the first equation replaced by Σ mu = 1
        cols = np.repeat(np.arange(n), idx.shape[1])
        rows, vals = idx.ravel(), w.ravel()
        keep = rows != 0
        rows = np.concatenate([rows[keep], np.arange(1, n), np.zeros(n, dtype=rows.dtype)])
        cols = np.concatenate([cols[keep], np.arange(1, n), np.arange(n)])
        vals = np.concatenate([vals[keep], -np.ones(n - 1), np.ones(n)])
        M = scipy.sparse.csc_matrix((vals, (rows, cols)), shape=(n, n))
        rhs = np.zeros(n)
        rhs[0] = 1.0
        mu = scipy.sparse.linalg.spsolve(M, rhs, permc_spec="MMD_AT_PLUS_A")
    else:
        raise ValueError(f"method must be 'iterate' or 'direct', got {method!r}")
    mu = np.clip(mu, 0.0, None)
    return mu / mu.sum()


def aggregate_labour(economy: HouseholdEconomy) -> float:
    """Aggregate efficiency units ``L`` in a stationary state (or the fixed labour supply)."""
    if economy.labour_supply is not None:
        return float(economy.labour_supply)
    from hank_mfg.calibration.income import stationary_distribution as markov_stationary

    if economy.household.Pi_is_aggregate:
        raise ValueError("a stationary equilibrium needs an income process without aggregate risk")
    pi = markov_stationary(np.asarray(economy.household.Pi))
    return float(pi @ economy.household.labour)


def capital_supply(
    household: Household, r: float, w: float, warm: tuple[Any, Any] | None = None
) -> tuple[float, EGMPolicy, np.ndarray, dict[str, Any]]:
    """Households' stationary wealth at prices ``(r, w)``: ``K_s``, the policy, ``mu``, info.

    ``warm = (consumption, mu)`` warm-starts EGM and the distribution (e.g. the solution at a
    nearby rate).
    """
    c0, mu0 = (None, None) if warm is None else warm
    policy, iterations, change = stationary_egm(household, r, w, consumption0=c0)
    kernel = stationary_kernel(household, r, w)
    share = savings_share(household, policy.savings, r, w)
    mu = stationary_distribution(kernel, share, mu0=mu0)
    wealth = np.repeat(household.wealth_grid, household.n_income)
    info = {"egm_iterations": int(iterations), "egm_change": float(change)}
    return float(mu @ wealth), policy, mu, info


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

    @property
    def saving_rate(self) -> float:
        """Saving rate ``δ K / Y`` (gross investment over output in a steady state)."""
        return self.delta * self.K / self.Y


def stationary_equilibrium(
    economy: HouseholdEconomy,
    *,
    r_bounds: tuple[float, float] | None = None,
    xtol: float = 1e-13,
    with_value: bool = True,
) -> StationaryEquilibrium:
    """Solve the stationary equilibrium of an economy without aggregate risk.

    Args:
        economy: a :class:`HouseholdEconomy` with a continuous savings share (Aiyagari-type).
        r_bounds: bracket for the net rate within ``(−δ, 1/β − 1)``; default: searched
            downwards from just below ``1/β − 1``.
        xtol: Brent's tolerance on ``r``.
        with_value: also compute the value function (for terminal values and evaluation).

    Raises:
        ValueError: if the bracket does not contain a root (e.g. a grid too small).
    """
    start = time.perf_counter()
    hh, firm = economy.household, economy.firm
    L = aggregate_labour(economy)
    r_max = 1.0 / hh.beta - 1.0  # households' wealth diverges as r approaches it
    if r_bounds is not None:
        lo, hi = r_bounds
        check_in_range("r_bounds[0]", lo, -firm.delta, r_max, low_open=True, high_open=True)
        check_in_range("r_bounds[1]", hi, lo, r_max, low_open=True, high_open=True)
    cache: dict[float, tuple] = {}
    warm: list[Any] = [None]

    def excess(r: float) -> float:
        w = float(firm.wage_at(r))
        K_s, policy, mu, info = capital_supply(hh, r, w, warm[0])
        warm[0] = (policy.consumption, mu)
        cache[r] = (w, K_s, policy, mu, info)
        return K_s - float(firm.capital_demand(r, L))

    if r_bounds is None:
        lo, hi, f_lo, f_hi = _bracket(excess, -firm.delta, r_max)
    else:
        f_lo, f_hi = excess(lo), excess(hi)
    if not (f_lo < 0 < f_hi):
        raise ValueError(
            f"no equilibrium interest rate in r_bounds ({lo:.4g}, {hi:.4g}): excess capital "
            f"{f_lo:.4g} and {f_hi:.4g}; widen the bounds or raise the grid's maximum wealth"
        )
    r, res = scipy.optimize.brentq(
        excess, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, full_output=True
    )
    if r not in cache:
        excess(r)
    w, K_s, policy, mu, info = cache[r]
    K_d = float(firm.capital_demand(r, L))
    savings = np.asarray(policy.savings)
    share = np.asarray(savings_share(hh, policy.savings, r, w))
    value = (
        np.asarray(policy_value_stationary(hh, policy.savings, r, w))
        if with_value
        else np.full(hh.n_states, np.nan)
    )
    eq = StationaryEquilibrium(
        r=float(r),
        w=w,
        K=K_s,
        L=L,
        Y=float(firm.output(K_s, L)),
        savings=savings,
        consumption=np.asarray(policy.consumption),
        share=share,
        distribution=mu,
        value=value,
        marginal_value=np.asarray(policy.marginal_value).ravel(),
        residual=K_s - K_d,
        iterations=int(res.iterations),
        seconds=time.perf_counter() - start,
        egm_iterations=info["egm_iterations"],
        delta=firm.delta,
    )
    return eq


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


def euler_errors(economy: HouseholdEconomy, eq: StationaryEquilibrium) -> dict[str, float]:
    """log10 Euler-equation errors of the stationary policy, off the grid's constraint.

    Error at ``(a, e)``: ``|1 − u'^{-1}(β (1 + r) E[u'(c(a', e'))]) / c(a, e)|`` with ``c(a', ·)``
    linearly interpolated at the chosen ``a'``; constrained points (``a' = a_min``) excluded.
    Returns the mass-weighted mean and the maximum over unconstrained points.
    """
    hh = economy.household
    a = hh.wealth_grid
    c, s = eq.consumption, eq.savings
    crra, beta, r = hh.crra, hh.beta, eq.r
    c_next = np.stack(
        [np.interp(s[:, e], a, c[:, e2]) for e in range(hh.n_income) for e2 in range(hh.n_income)]
    ).reshape(hh.n_income, hh.n_income, -1)
    # expected marginal utility next period for each (a, e)
    emu = np.einsum("ef,efa->ae", np.asarray(hh.Pi), c_next ** (-crra))
    c_implied = (beta * (1 + r) * emu) ** (-1.0 / crra)
    err = np.abs(1.0 - c_implied / c)
    free = s > a[0] + 1e-10 * max(1.0, abs(a[0]))
    weights = eq.distribution.reshape(c.shape)[free]
    log_err = np.log10(np.maximum(err[free], 1e-17))
    return {
        "mean_log10": float((weights * log_err).sum() / max(weights.sum(), 1e-300)),
        "max_log10": float(log_err.max()) if log_err.size else float("-inf"),
    }


def stationary_solution(
    economy: HouseholdEconomy,
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
    game = HouseholdEconomy(
        economy.household,
        economy.firm,
        tfp=economy.tfp,
        horizon=economy.horizon if horizon is None else horizon,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
        initial_distributions=eq.distribution,
        observation=economy.observation,
        labour_supply=economy.labour_supply,
        name=economy.name,
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


def solve_stationary(economy: HouseholdEconomy, **kwargs: Any) -> Solution:
    """Stationary equilibrium and its evaluation in one call (see :func:`stationary_solution`)."""
    return stationary_solution(economy, stationary_equilibrium(economy), **kwargs)
